//! 战役化推进 and 四比 in the demo county: the year's 三大会战 (问题清仓, 民生实事, 纠纷排查) and
//! 十大攻坚战 with checklist items in every state — computed from the county's appeals and
//! household visits, advanced by confirmed milestones (some with a scanned acceptance report),
//! self-reported and confirmed, one sent back, one waiting, one overdue, one withdrawn, one
//! with its deadline moved — and the 四比 schemes with a published quarterly 红灰台, a published
//! half-year 两奖一杯, a published monthly 调研提示 and the running quarter and year, all through
//! the console's use cases on a moving clock. Dates are relative to today, so the demo reads
//! the same whenever it is generated.

use std::sync::Arc;

use bihuan_domain::campaign::{
    dispute_words, week_start, CampaignKind, Due, Measure, NewBattle, NewItem, NewMilestone,
};
use bihuan_domain::evaluation::{Award, Cadence, FormulaDraft, Indicator, Term};
use bihuan_domain::org::UnitId;
use bihuan_domain::time::{local_date, Instant};
use bihuan_server::campaigns as uc;
use bihuan_server::evaluations as ev;
use bihuan_store::Store;
use chrono::{Datelike, Duration, NaiveDate};

use super::approvals::{at, demo_pdf, dept, login_of};

/// What [`campaigns`] made.
pub struct CampaignsMade {
    pub campaigns: usize,
    pub items: usize,
    pub reports: usize,
    pub published: usize,
    pub evaluations: usize,
}

/// Who owns an item: a department by its full name, or the township at a place of the list.
#[derive(Clone, Copy)]
enum Owner {
    Dept(&'static str),
    Town(usize),
}

/// What happens to an item after it is added.
#[derive(Clone)]
enum Step {
    /// A value reported on a day; confirmed the next working morning, sent back, or waiting.
    Value(NaiveDate, f64, Option<bool>),
    /// Milestone `n` (from 1) reported done on a day (with a scan if `file`).
    Mile(u32, NaiveDate, Option<bool>, bool),
    Revise(NaiveDate, NaiveDate, &'static str),
    Withdraw(NaiveDate, &'static str),
}

struct Plan {
    battle: u32,
    title: &'static str,
    owner: Owner,
    leader: &'static str,
    due: Due,
    measure: Measure,
    unit: &'static str,
    baseline: f64,
    target: f64,
    milestones: Vec<(&'static str, NaiveDate)>,
    steps: Vec<Step>,
}

#[allow(clippy::too_many_arguments)]
fn plan(
    battle: u32,
    title: &'static str,
    owner: Owner,
    leader: &'static str,
    due: Due,
    measure: Measure,
    unit: &'static str,
    (baseline, target): (f64, f64),
    milestones: Vec<(&'static str, NaiveDate)>,
    steps: Vec<Step>,
) -> Plan {
    Plan {
        battle,
        title,
        owner,
        leader,
        due,
        measure,
        unit,
        baseline,
        target,
        milestones,
        steps,
    }
}

fn battles(list: &[(&str, &str, &str)]) -> Vec<NewBattle> {
    list.iter()
        .map(|(name, leader, goal)| NewBattle {
            name: (*name).into(),
            leader: (*leader).into(),
            goal: (*goal).into(),
        })
        .collect()
}

pub async fn campaigns(
    store: &Arc<dyn Store>,
    townships: &[UnitId],
    now: Instant,
) -> anyhow::Result<CampaignsMade> {
    let catalog = store.catalog();
    let users = store.users().await?;
    let caller = |login: &str| super::caller_in(&users, &catalog, login);
    let centre = caller("dispatch1")?;
    let leader = caller("leader1")?;
    let today = local_date(now);
    let t = |k: i64| today + Duration::days(k);
    // The campaigns run to the end of this year (or three months on, late in December).
    let year_end = NaiveDate::from_ymd_opt(today.year(), 12, 31).expect("a date");
    let ends = if year_end >= t(14) { year_end } else { t(90) };
    let s1 = week_start(t(-277));
    // 十大攻坚战 run from the first Monday of the year (or, early in a year, of the last).
    let jan = NaiveDate::from_ymd_opt(today.year(), 1, 1).expect("a date");
    let s2 = if (today - jan).num_days() >= 200 {
        week_start(jan + Duration::days(6))
    } else {
        week_start(t(-333))
    };
    let (app, clock) = super::demo_app(store, at(s2, 9)).await?;
    let state = app.state();
    let fail = |e: bihuan_server::error::ApiError| anyhow::anyhow!("{}", e.message);
    let mut made = CampaignsMade {
        campaigns: 0,
        items: 0,
        reports: 0,
        published: 0,
        evaluations: 0,
    };
    let town = |i: usize| townships.get(i).copied().unwrap_or(UnitId(200));
    let owner_unit = |o: Owner| match o {
        Owner::Dept(n) => dept(n),
        Owner::Town(i) => town(i),
    };
    let owner_login = |o: Owner| match o {
        Owner::Dept(n) => login_of(n),
        Owner::Town(i) => format!("town{:02}", i + 1),
    };
    let backlog = Measure::Backlog;
    let disputes = || Measure::Disputes {
        words: dispute_words(),
    };
    let s = |base: NaiveDate, k: i64| base + Duration::days(k);

    // 三大会战
    let huizhan = vec![
        plan(
            1,
            "住建领域超期工单清仓",
            Owner::Dept("县住房和城乡建设局"),
            "副县长 陈建华",
            Due::Date(s(s1, 120)),
            backlog.clone(),
            "",
            (0.0, 100.0),
            vec![],
            vec![],
        ),
        plan(
            1,
            "城管领域超期工单清仓",
            Owner::Dept("县城市管理局"),
            "副县长 陈建华",
            Due::Date(s(s1, 120)),
            backlog.clone(),
            "",
            (0.0, 100.0),
            vec![],
            vec![],
        ),
        plan(
            1,
            "劳动保障超期工单清仓",
            Owner::Dept("县人力资源和社会保障局"),
            "副县长 周立新",
            Due::Date(s(s1, 180)),
            backlog.clone(),
            "",
            (0.0, 100.0),
            vec![],
            vec![],
        ),
        plan(
            1,
            "交通领域超期工单清仓",
            Owner::Dept("县交通运输局"),
            "副县长 周立新",
            Due::Date(t(20)),
            backlog.clone(),
            "",
            (0.0, 100.0),
            vec![],
            vec![],
        ),
        plan(
            1,
            "云溪镇超期工单清仓",
            Owner::Town(0),
            "县委常委 王海军",
            Due::Date(t(20)),
            backlog.clone(),
            "",
            (0.0, 100.0),
            vec![],
            vec![],
        ),
        plan(
            1,
            "东岭镇超期工单清仓",
            Owner::Town(1),
            "县委常委 王海军",
            Due::WorkingDays(60),
            backlog.clone(),
            "",
            (0.0, 95.0),
            vec![],
            vec![],
        ),
        plan(
            2,
            "城南农贸市场提升改造",
            Owner::Dept("县商务局"),
            "副县长 陈建华",
            Due::Date(t(10).min(ends)),
            Measure::Milestones,
            "",
            (0.0, 0.0),
            vec![
                ("完成设计方案", s(s1, 40)),
                ("主体施工完成", s(s1, 150)),
                ("竣工验收", t(8).min(ends)),
            ],
            vec![
                Step::Mile(1, s(s1, 38), Some(true), true),
                Step::Mile(2, s(s1, 160), Some(true), false),
            ],
        ),
        plan(
            2,
            "新建口袋公园",
            Owner::Dept("县城市管理局"),
            "副县长 陈建华",
            Due::Date(t(25).min(ends)),
            Measure::Reported,
            "个",
            (0.0, 10.0),
            vec![],
            vec![
                Step::Value(s(s1, 90), 3.0, Some(true)),
                Step::Value(s(s1, 200), 7.0, Some(true)),
                Step::Value(t(-3), 9.0, None),
            ],
        ),
        plan(
            2,
            "老旧小区加装电梯",
            Owner::Dept("县住房和城乡建设局"),
            "副县长 陈建华",
            Due::Date(t(-20)),
            Measure::Reported,
            "部",
            (0.0, 20.0),
            vec![],
            vec![
                Step::Value(s(s1, 100), 8.0, Some(true)),
                Step::Value(s(s1, 220), 14.0, Some(true)),
            ],
        ),
        plan(
            2,
            "农村饮水安全巩固提升",
            Owner::Dept("县自来水公司"),
            "副县长 周立新",
            Due::Date(s(s1, 240)),
            Measure::Milestones,
            "",
            (0.0, 0.0),
            vec![
                ("水源地保护", s(s1, 60)),
                ("管网改造", s(s1, 170)),
                ("通水验收", s(s1, 230)),
            ],
            vec![
                Step::Mile(1, s(s1, 58), Some(true), false),
                Step::Mile(2, s(s1, 168), Some(true), false),
                Step::Mile(3, s(s1, 226), Some(true), true),
            ],
        ),
        plan(
            2,
            "乡镇卫生院标准化建设",
            Owner::Dept("县卫生健康委员会"),
            "副县长 周立新",
            Due::Date(ends),
            Measure::Milestones,
            "",
            (0.0, 0.0),
            vec![("完成选址与设计", t(10).min(ends)), ("主体完工", ends)],
            vec![],
        ),
        plan(
            2,
            "城区新增公共停车位",
            Owner::Dept("县公安局"),
            "副县长 周立新",
            Due::Date(s(s1, 200)),
            Measure::Reported,
            "个",
            (0.0, 500.0),
            vec![],
            vec![Step::Withdraw(
                s(s1, 150),
                "并入十大攻坚战之交通畅通攻坚战统一推进",
            )],
        ),
        plan(
            2,
            "新增义务教育学位",
            Owner::Dept("县教育体育局"),
            "副县长 李春梅",
            Due::Date(s(s1, 180)),
            Measure::Reported,
            "个",
            (0.0, 1200.0),
            vec![],
            vec![
                Step::Value(s(s1, 150), 1000.0, Some(false)),
                Step::Value(s(s1, 170), 1200.0, Some(true)),
            ],
        ),
        plan(
            3,
            "云溪镇矛盾纠纷排查化解",
            Owner::Town(0),
            "县委政法委书记 林国栋",
            Due::Date(ends),
            disputes(),
            "",
            (0.0, 95.0),
            vec![],
            vec![],
        ),
        plan(
            3,
            "东岭镇矛盾纠纷排查化解",
            Owner::Town(1),
            "县委政法委书记 林国栋",
            Due::Date(ends),
            disputes(),
            "",
            (0.0, 95.0),
            vec![],
            vec![],
        ),
        plan(
            3,
            "西坪乡矛盾纠纷排查化解",
            Owner::Town(2),
            "县委政法委书记 林国栋",
            Due::Date(t(-5)),
            disputes(),
            "",
            (0.0, 95.0),
            vec![],
            vec![],
        ),
        plan(
            3,
            "南塘镇矛盾纠纷排查化解",
            Owner::Town(3),
            "县委政法委书记 林国栋",
            Due::Date(ends),
            disputes(),
            "",
            (0.0, 90.0),
            vec![],
            vec![],
        ),
    ];
    run(
        &state,
        &clock,
        &mut made,
        uc::NewCampaign {
            name: format!("{}年三大会战", s1.year()),
            kind: CampaignKind::Battle,
            starts: s1,
            ends,
            lead: "县委副书记 罗志远".into(),
            note:
                "问题清仓、民生实事、纠纷排查：以清单落责、以数据说话，能由平台计算的不再要求填报。"
                    .into(),
            battles: battles(&[
                (
                    "问题清仓",
                    "县委副书记 罗志远",
                    "活动开始时已超期的诉求工单全部办结",
                ),
                (
                    "民生实事",
                    "副县长 陈建华",
                    "年度民生实事按节点完成并通过验收",
                ),
                (
                    "纠纷排查",
                    "县委政法委书记 林国栋",
                    "入户走访发现的矛盾纠纷化解率不低于95%",
                ),
            ]),
        },
        huizhan,
        &centre,
        &leader,
        &caller,
        &owner_unit,
        &owner_login,
        now,
    )
    .await?;

    // 十大攻坚战
    let gongjian = vec![
        plan(
            1,
            "企业开办压缩至1个工作日",
            Owner::Dept("县行政审批局"),
            "常务副县长 陈建华",
            Due::Date(s(s2, 90)),
            Measure::Reported,
            "个工作日",
            (3.0, 1.0),
            vec![],
            vec![Step::Value(s(s2, 60), 1.0, Some(true))],
        ),
        plan(
            1,
            "惠企政策免申即享兑现率",
            Owner::Dept("县工业和信息化局"),
            "常务副县长 陈建华",
            Due::Date(t(20).min(ends)),
            Measure::Reported,
            "%",
            (40.0, 100.0),
            vec![],
            vec![
                Step::Value(s(s2, 150), 70.0, Some(true)),
                Step::Value(t(-10), 85.0, None),
            ],
        ),
        plan(
            2,
            "重点项目开工",
            Owner::Dept("县发展和改革委员会"),
            "常务副县长 陈建华",
            Due::Date(t(-4)),
            Measure::Reported,
            "个",
            (0.0, 30.0),
            vec![],
            vec![
                Step::Value(s(s2, 150), 22.0, Some(true)),
                Step::Value(s(s2, 280), 27.0, Some(true)),
            ],
        ),
        plan(
            2,
            "香精香料产业园基础设施",
            Owner::Dept("县工业和信息化局"),
            "常务副县长 陈建华",
            Due::Date(t(20).min(ends)),
            Measure::Milestones,
            "",
            (0.0, 0.0),
            vec![
                ("完成征地", s(s2, 60)),
                ("道路管网建成", s(s2, 200)),
                ("标准厂房交付", t(20).min(ends)),
            ],
            vec![
                Step::Mile(1, s(s2, 55), Some(true), false),
                Step::Mile(2, s(s2, 210), Some(true), true),
            ],
        ),
        plan(
            3,
            "高标准农田建设",
            Owner::Dept("县农业农村局"),
            "副县长 周立新",
            Due::Date(s(s2, 280)),
            Measure::Reported,
            "万亩",
            (0.0, 2.5),
            vec![],
            vec![
                Step::Value(s(s2, 180), 1.2, Some(true)),
                Step::Value(s(s2, 250), 2.6, Some(true)),
            ],
        ),
        plan(
            3,
            "农村生活垃圾分类覆盖率",
            Owner::Dept("县乡村振兴局"),
            "副县长 周立新",
            Due::Date(ends),
            Measure::Reported,
            "%",
            (60.0, 95.0),
            vec![],
            vec![Step::Value(s(s2, 260), 88.0, Some(true))],
        ),
        plan(
            4,
            "城区背街小巷整治",
            Owner::Dept("县城市管理局"),
            "副县长 陈建华",
            Due::Date(s(s2, 300)),
            Measure::Milestones,
            "",
            (0.0, 0.0),
            vec![
                ("摸底建档", s(s2, 45)),
                ("一期30条完工", s(s2, 180)),
                ("二期40条完工", s(s2, 290)),
            ],
            vec![
                Step::Mile(1, s(s2, 40), Some(true), false),
                Step::Mile(2, s(s2, 185), Some(true), false),
            ],
        ),
        plan(
            4,
            "城管领域投诉清仓",
            Owner::Dept("县城市管理局"),
            "副县长 陈建华",
            Due::Date(t(15).min(ends)),
            backlog.clone(),
            "",
            (0.0, 100.0),
            vec![],
            vec![],
        ),
        plan(
            5,
            "安全生产隐患诉求清仓",
            Owner::Dept("县应急管理局"),
            "副县长 周立新",
            Due::Date(t(15).min(ends)),
            backlog.clone(),
            "",
            (0.0, 100.0),
            vec![],
            vec![],
        ),
        plan(
            5,
            "打通消防生命通道",
            Owner::Dept("县消防救援大队"),
            "副县长 周立新",
            Due::Date(s(s2, 240)),
            Measure::Reported,
            "处",
            (0.0, 120.0),
            vec![],
            vec![
                Step::Value(s(s2, 120), 60.0, Some(true)),
                Step::Value(s(s2, 230), 120.0, Some(true)),
            ],
        ),
        plan(
            6,
            "信访积案化解",
            Owner::Dept("县信访局"),
            "县委副书记 罗志远",
            Due::Date(t(-10)),
            backlog.clone(),
            "",
            (0.0, 100.0),
            vec![],
            vec![],
        ),
        plan(
            6,
            "重复信访治理",
            Owner::Dept("县信访局"),
            "县委副书记 罗志远",
            Due::Date(ends),
            Measure::Reported,
            "%",
            (0.0, 90.0),
            vec![],
            vec![],
        ),
        plan(
            7,
            "义务教育优质均衡创建",
            Owner::Dept("县教育体育局"),
            "副县长 李春梅",
            Due::Date(ends),
            Measure::Milestones,
            "",
            (0.0, 0.0),
            vec![
                ("自评达标", s(s2, 150)),
                ("市级督导评估", t(-15)),
                ("省级认定", ends),
            ],
            vec![Step::Mile(1, s(s2, 148), Some(true), true)],
        ),
        plan(
            8,
            "县域医共体建设",
            Owner::Dept("县卫生健康委员会"),
            "副县长 李春梅",
            Due::Date(ends),
            Measure::Reported,
            "%",
            (0.0, 100.0),
            vec![],
            vec![Step::Value(s(s2, 200), 60.0, Some(true))],
        ),
        plan(
            8,
            "医保基金监管专项",
            Owner::Dept("县医疗保障局"),
            "副县长 李春梅",
            Due::Date(t(30).min(ends)),
            Measure::Reported,
            "家",
            (0.0, 150.0),
            vec![],
            vec![],
        ),
        plan(
            9,
            "县乡公路提质改造",
            Owner::Dept("县交通运输局"),
            "副县长 周立新",
            Due::Date(s(s2, 240)),
            Measure::Reported,
            "公里",
            (0.0, 120.0),
            vec![],
            vec![
                Step::Value(s(s2, 150), 70.0, Some(true)),
                Step::Revise(s(s2, 230), ends, "汛期停工两个月，经县政府常务会议同意延期"),
                Step::Value(s(s2, 300), 105.0, Some(true)),
            ],
        ),
        plan(
            9,
            "城区新增公共停车位",
            Owner::Dept("县公安局"),
            "副县长 周立新",
            Due::Date(ends),
            Measure::Reported,
            "个",
            (0.0, 500.0),
            vec![],
            vec![Step::Value(s(s2, 290), 320.0, Some(true))],
        ),
        plan(
            10,
            "空气质量优良天数比例",
            Owner::Dept("县生态环境局"),
            "副县长 周立新",
            Due::Date(ends),
            Measure::Reported,
            "%",
            (85.0, 92.0),
            vec![],
            vec![Step::Value(s(s2, 270), 90.5, Some(true))],
        ),
        plan(
            10,
            "中小河流清淤整治",
            Owner::Dept("县水利局"),
            "副县长 周立新",
            Due::Date(s(s2, 250)),
            Measure::Milestones,
            "",
            (0.0, 0.0),
            vec![("汛前清淤", s(s2, 120)), ("堤岸加固", s(s2, 240))],
            vec![Step::Mile(1, s(s2, 118), Some(true), false)],
        ),
    ];
    run(
        &state,
        &clock,
        &mut made,
        uc::NewCampaign {
            name: format!("{}年十大攻坚战", s2.year()),
            kind: CampaignKind::Assault,
            starts: s2,
            ends,
            lead: "县委书记 郑国华".into(),
            note: "全年重点工作以攻坚战推进，周调度、月通报、季晾晒。".into(),
            battles: battles(&[
                ("营商环境优化攻坚战", "常务副县长 陈建华", ""),
                ("项目建设攻坚战", "常务副县长 陈建华", ""),
                ("乡村振兴攻坚战", "副县长 周立新", ""),
                ("城乡环境整治攻坚战", "副县长 陈建华", ""),
                ("安全生产攻坚战", "副县长 周立新", ""),
                ("信访积案化解攻坚战", "县委副书记 罗志远", ""),
                ("教育质量提升攻坚战", "副县长 李春梅", ""),
                ("医疗服务提升攻坚战", "副县长 李春梅", ""),
                ("交通畅通攻坚战", "副县长 周立新", ""),
                ("生态环境保护攻坚战", "副县长 周立新", ""),
            ]),
        },
        gongjian,
        &centre,
        &leader,
        &caller,
        &owner_unit,
        &owner_login,
        now,
    )
    .await?;

    // 四比: four schemes; the last complete quarter, half-year and month published.
    let term = |indicator, weight, min_volume| Term {
        indicator,
        weight,
        min_volume,
    };
    let quarterly = FormulaDraft {
        terms: vec![
            term(Indicator::OnTimeCompletion, 30.0, 10),
            term(Indicator::Satisfaction, 30.0, 10),
            term(Indicator::ClosedLoop, 20.0, 10),
            term(Indicator::CampaignProgress, 20.0, 1),
        ],
        min_share: 0.5,
        red: 3,
        grey: 3,
        awards: vec![],
        note: "季度「红灰台」：红榜通报表扬，灰榜单位在县委常委会上作表态发言。".into(),
    };
    let half = FormulaDraft {
        terms: vec![
            term(Indicator::OnTimeCompletion, 25.0, 20),
            term(Indicator::Satisfaction, 25.0, 20),
            term(Indicator::OneShot, 15.0, 10),
            term(Indicator::CampaignProgress, 20.0, 1),
            term(Indicator::VisitCoverage, 15.0, 20),
        ],
        min_share: 0.5,
        red: 5,
        grey: 3,
        awards: vec![
            Award {
                name: "为民服务奖".into(),
                places: 3,
                by: None,
            },
            Award {
                name: "攻坚克难奖".into(),
                places: 3,
                by: Some(Indicator::CampaignProgress),
            },
            Award {
                name: "流动红旗杯".into(),
                places: 1,
                by: None,
            },
        ],
        note: "半年「两奖一杯」：为民服务奖、攻坚克难奖和流动红旗杯。".into(),
    };
    let monthly = FormulaDraft {
        terms: vec![
            term(Indicator::OnTimeCompletion, 50.0, 10),
            term(Indicator::TimelyAcceptance, 50.0, 10),
        ],
        min_share: 0.5,
        red: 0,
        grey: 5,
        awards: vec![],
        note: "月度调研提示：灰榜单位由督查室上门调研、提示整改。".into(),
    };
    let yearly = FormulaDraft {
        terms: vec![
            term(Indicator::OnTimeCompletion, 20.0, 50),
            term(Indicator::Satisfaction, 25.0, 50),
            term(Indicator::ClosedLoop, 15.0, 50),
            term(Indicator::CampaignProgress, 25.0, 1),
            term(Indicator::VisitCoverage, 15.0, 20),
            term(Indicator::PetitionOnTime, 10.0, 3),
            term(Indicator::PublicSafety, 10.0, 20),
        ],
        min_share: 0.6,
        red: 5,
        grey: 3,
        awards: vec![Award {
            name: "标杆奖".into(),
            places: 5,
            by: None,
        }],
        note: String::new(),
    };
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).expect("a date");
    clock.set(at(year_start.max(s2), 10) - Duration::days(2));
    let mut schemes = Vec::new();
    for (name, cadence, f) in [
        ("季度「红灰台」", Cadence::Quarterly, quarterly.clone()),
        ("半年「两奖一杯」", Cadence::HalfYear, half),
        ("月度调研提示", Cadence::Monthly, monthly),
        ("全年「标杆奖」", Cadence::Yearly, yearly),
    ] {
        let s = ev::create_scheme(
            &state,
            &centre,
            ev::NewScheme {
                name: name.into(),
                cadence,
                formula: f,
            },
        )
        .await
        .map_err(fail)?;
        schemes.push(s.id);
    }
    // The periods: the last complete quarter, half-year and month (published a few days after
    // they ended), the current quarter and year (running).
    let first_of = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).expect("a date");
    let back_months = |d: NaiveDate, n: u32| -> NaiveDate {
        let total = d.year() * 12 + d.month0() as i32 - n as i32;
        first_of(total.div_euclid(12), total.rem_euclid(12) as u32 + 1)
    };
    let quarter_now = first_of(today.year(), (today.month0() / 3) * 3 + 1);
    let half_now = first_of(today.year(), if today.month() > 6 { 7 } else { 1 });
    let month_now = first_of(today.year(), today.month());
    let publish_at = |next_first: NaiveDate| at(next_first, 10) + Duration::days(8);
    let mut steps: Vec<(Instant, u64, NaiveDate, bool)> = vec![
        (
            at(back_months(quarter_now, 3), 9),
            schemes[0],
            back_months(quarter_now, 3),
            true,
        ),
        (
            at(back_months(half_now, 6), 9),
            schemes[1],
            back_months(half_now, 6),
            true,
        ),
        (
            at(back_months(month_now, 1), 9),
            schemes[2],
            back_months(month_now, 1),
            true,
        ),
        (at(quarter_now, 9), schemes[0], quarter_now, false),
        (
            at(first_of(today.year(), 1), 9),
            schemes[3],
            first_of(today.year(), 1),
            false,
        ),
    ];
    steps.sort_by_key(|s| s.0);
    let mut opened = Vec::new();
    for (open_at, scheme, first, publish) in steps {
        clock.set(open_at);
        let e = ev::open(&state, &centre, ev::OpenEvaluation { scheme, first })
            .await
            .map_err(fail)?;
        made.evaluations += 1;
        opened.push((e.id, e.last, publish));
    }
    opened.sort_by_key(|o| o.1);
    for (id, last, publish) in opened {
        if !publish {
            continue;
        }
        // Each evaluation is its own history: published a few days after its period.
        clock.set(publish_at(last + Duration::days(1)).min(now));
        ev::publish(
            &state,
            &centre,
            id,
            "经县委、县政府同意，现将本期评比结果公开晾晒。".into(),
        )
        .await
        .map_err(fail)?;
        made.published += 1;
    }
    // The quarterly formula's second version, after the last quarter was published: the
    // published result keeps the version it was made by.
    let mut v2 = quarterly;
    v2.terms.push(term(Indicator::TimelyAcceptance, 10.0, 10));
    v2.note = "自本季度起增加及时签收率。".into();
    clock.set(now);
    ev::revise(&state, &centre, schemes[0], v2)
        .await
        .map_err(fail)?;
    Ok(made)
}

/// Sets up one campaign and plays its items' stories in time order.
#[allow(clippy::too_many_arguments)]
async fn run(
    state: &bihuan_server::AppState,
    clock: &bihuan_server::ManualClock,
    made: &mut CampaignsMade,
    new: uc::NewCampaign,
    plans: Vec<Plan>,
    centre: &bihuan_server::auth::Caller,
    leader: &bihuan_server::auth::Caller,
    caller: &dyn Fn(&str) -> anyhow::Result<bihuan_server::auth::Caller>,
    owner_unit: &dyn Fn(Owner) -> UnitId,
    owner_login: &dyn Fn(Owner) -> String,
    now: Instant,
) -> anyhow::Result<()> {
    let fail = |e: bihuan_server::error::ApiError| anyhow::anyhow!("{}", e.message);
    let starts = new.starts;
    // Each campaign is its own history: its clock starts again at its start.
    clock.set(at(starts, 9));
    let v = uc::create(state, centre, new).await.map_err(fail)?;
    made.campaigns += 1;
    let items: Vec<NewItem> = plans
        .iter()
        .map(|p| NewItem {
            battle: p.battle,
            title: p.title.into(),
            owner: owner_unit(p.owner),
            owner_name: String::new(),
            leader: p.leader.into(),
            due: p.due,
            measure: p.measure.clone(),
            unit: p.unit.into(),
            baseline: p.baseline,
            target: p.target,
            milestones: p
                .milestones
                .iter()
                .map(|(title, due)| NewMilestone {
                    title: (*title).into(),
                    due: *due,
                })
                .collect(),
        })
        .collect();
    clock.set(at(starts, 15));
    let v = uc::add_items(state, centre, v.id, items)
        .await
        .map_err(fail)?;
    made.items += v.items.len();
    // Every step of every item, in time order (one campaign's history runs forward).
    enum Act {
        Report(u32, Option<u32>, Option<f64>, bool),
        Review(u32, u32, bool),
        Revise(u32, NaiveDate, &'static str),
        Withdraw(u32, &'static str),
    }
    let mut acts: Vec<(Instant, usize, Owner, Act)> = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        let no = v.items[i].item.no;
        let mut reports = 0u32;
        for step in &p.steps {
            let (day, milestone, value, review, file) = match step {
                Step::Value(day, value, review) => (*day, None, Some(*value), *review, false),
                Step::Mile(m, day, review, file) => (*day, Some(*m), None, *review, *file),
                Step::Revise(day, due, reason) => {
                    acts.push((
                        at(*day, 11),
                        acts.len(),
                        p.owner,
                        Act::Revise(no, *due, reason),
                    ));
                    continue;
                }
                Step::Withdraw(day, reason) => {
                    acts.push((at(*day, 11), acts.len(), p.owner, Act::Withdraw(no, reason)));
                    continue;
                }
            };
            reports += 1;
            acts.push((
                at(day, 16),
                acts.len(),
                p.owner,
                Act::Report(no, milestone, value, file),
            ));
            if let Some(ok) = review {
                let next = at(day + Duration::days(1), 10);
                acts.push((next, acts.len(), p.owner, Act::Review(no, reports, ok)));
            }
        }
    }
    acts.sort_by_key(|a| (a.0, a.1));
    // Nothing after today (a step planned for later simply has not happened yet).
    acts.retain(|a| a.0 <= now);
    for (when, _, owner, act) in acts {
        clock.set(when);
        match act {
            Act::Report(no, milestone, value, file) => {
                let who = caller(&owner_login(owner))?;
                let files = if file {
                    vec![uc::ReportFile {
                        name: "验收报告.pdf".into(),
                        data: demo_pdf("Acceptance report (demo)"),
                    }]
                } else {
                    vec![]
                };
                let note = match (milestone, value) {
                    (Some(_), _) => "节点已完成，附验收材料".to_string(),
                    (_, Some(x)) => format!("截至目前完成 {}", uc::num(x)),
                    _ => String::new(),
                };
                uc::report(
                    state,
                    &who,
                    v.id,
                    no,
                    uc::ReportBody {
                        milestone,
                        value,
                        note,
                    },
                    files,
                )
                .await
                .map_err(fail)?;
                made.reports += 1;
            }
            Act::Review(no, report, confirmed) => {
                uc::review(
                    state,
                    leader,
                    v.id,
                    no,
                    report,
                    uc::ReviewBody {
                        confirmed,
                        note: if confirmed {
                            String::new()
                        } else {
                            "请附竣工验收备案材料后再报".into()
                        },
                    },
                )
                .await
                .map_err(fail)?;
            }
            Act::Revise(no, due, reason) => {
                uc::revise(
                    state,
                    centre,
                    v.id,
                    no,
                    uc::ReviseBody {
                        due: Some(due),
                        target: None,
                        leader: None,
                        reason: reason.into(),
                    },
                )
                .await
                .map_err(fail)?;
            }
            Act::Withdraw(no, reason) => {
                uc::withdraw(state, centre, v.id, no, reason.into())
                    .await
                    .map_err(fail)?;
            }
        }
    }
    Ok(())
}
