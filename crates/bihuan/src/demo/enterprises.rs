//! 楼格格 in the demo county: 凤凰街道 with 57 business buildings, all of them served by 34
//! teams (a centre staff member, a subdistrict cadre and the building's grid member each),
//! enterprises in the buildings and in the villages, monthly visits over five months with the
//! services offered, demands found on the visits and carried through the loop — most of them
//! solved with the enterprise satisfied (the seed's "已帮助企业解决融资、用工、场地等各类问题83
//! 个"), a few closed unsatisfied and some still open in every state — bank matchmakings (the
//! seed's "促成10余家小微企业与银行融资对接", over ¥4M granted), 挂点 cadres and 惠企 policies.
//! Everything goes through the use cases, on a clock of its own.

use std::sync::Arc;

use bihuan_domain::enterprise::{check_char, DemandKind};
use bihuan_domain::lifecycle::{Rating, Reply, ReplyResult, ReturnVisit, Role};
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::survey::Draw;
use bihuan_domain::time::{local_date, Instant};
use bihuan_domain::Command;
use bihuan_server::enterprises as uc;
use bihuan_store::{NewUser, Store};
use chrono::{Duration, NaiveDate};

use super::approvals::at;

/// What [`enterprises`] made.
pub struct EnterprisesMade {
    pub buildings: usize,
    pub teams: usize,
    pub enterprises: usize,
    pub visits: usize,
    pub demands: u64,
    pub solved: u64,
    pub financed: u64,
    pub financed_amount: u64,
}

const TOWERS: [&str; 19] = [
    "凤凰", "文昌", "金融", "创业", "科创", "国贸", "时代", "财富", "中心", "环球", "汇金", "万达",
    "银座", "锦绣", "东方", "云溪", "新城", "嘉华", "中天",
];
const KINDS: [&str; 3] = ["大厦", "广场", "中心"];
const INDUSTRIES: [(&str, &str); 8] = [
    ("信息传输、软件和信息技术服务业", "科技"),
    ("批发和零售业", "商贸"),
    ("租赁和商务服务业", "商务咨询"),
    ("金融业", "投资"),
    ("科学研究和技术服务业", "检测技术"),
    ("文化、体育和娱乐业", "文化传媒"),
    ("住宿和餐饮业", "餐饮管理"),
    ("制造业", "智能制造"),
];
const WORDS: [&str; 20] = [
    "星辰", "华创", "云帆", "博远", "嘉禾", "瑞丰", "鼎盛", "启航", "汇通", "联众", "睿智", "德信",
    "泰和", "安达", "明辉", "正源", "卓越", "恒基", "晨光", "万象",
];
const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙",
];
const GIVEN: [&str; 12] = [
    "建华", "海燕", "志强", "丽娟", "国平", "晓东", "秀英", "文斌", "春梅", "永红", "子豪", "雅琴",
];

fn demand_text(kind: DemandKind, k: u64) -> &'static str {
    let pick = |list: &[&'static str]| list[(k as usize) % list.len()];
    match kind {
        DemandKind::Financing => pick(&[
            "企业订单增加，需流动资金贷款约50万元，希望对接银行",
            "购置新设备资金缺口80万元，申请融资对接",
            "希望了解创业担保贷款的申请条件并对接银行",
        ]),
        DemandKind::Labour => pick(&[
            "急需招聘软件测试工程师3名",
            "门店扩张需招聘服务员和收银员共8名",
            "希望对接高校开展实习生招聘",
        ]),
        DemandKind::Premises => pick(&[
            "业务扩大需在楼内增租办公场地约200平方米",
            "希望协调楼宇物业降低二次装修押金",
            "寻找带仓储的办公场地约500平方米",
        ]),
        DemandKind::Legal => pick(&[
            "与合作方的合同纠纷需要法律咨询",
            "劳动合同范本和用工风险咨询",
        ]),
        DemandKind::Policy => pick(&[
            "咨询高新技术企业认定和研发费用加计扣除政策",
            "咨询小微企业社保补贴申领流程",
        ]),
        DemandKind::Approval => pick(&[
            "变更经营范围需办理食品经营许可，希望代办指导",
            "申请户外广告设置许可，咨询办理流程",
        ]),
        DemandKind::Payment => "为县内某单位完成的信息化项目尾款12万元逾期未付",
        DemandKind::Other => pick(&["楼宇周边停车位紧张，员工停车难", "希望增设楼宇附近公交站点"]),
    }
}

/// The credit code of the `n`th demo enterprise (valid: its check character computed).
fn code(n: usize) -> String {
    let first = format!("9136{:04}MA{:07}", 1102 + n % 7, 3_100_000 + n * 37);
    let first: String = first.chars().take(17).collect();
    format!("{first}{}", check_char(&first).unwrap_or('0'))
}

#[allow(clippy::too_many_lines)]
pub async fn enterprises(store: &Arc<dyn Store>, now: Instant) -> anyhow::Result<EnterprisesMade> {
    let fail = |e: bihuan_server::error::ApiError| anyhow::anyhow!("{}", e.message);
    let catalog = store.catalog();
    let today = local_date(now);
    let start = today - Duration::days(160);
    let (app, clock) = super::demo_app(store, at(start, 9)).await?;
    let state = app.state();
    let org = &catalog.org;
    let district = org
        .units()
        .find(|u| u.kind == UnitKind::Township && u.name == "凤凰街道")
        .map(|u| u.id)
        .ok_or_else(|| anyhow::anyhow!("the demo has no 凤凰街道"))?;
    let grids: Vec<UnitId> = org
        .units()
        .filter(|u| u.kind == UnitKind::Grid)
        .filter(|g| g.parent.and_then(|v| org.get(v)).and_then(|v| v.parent) == Some(district))
        .map(|u| u.id)
        .collect();
    anyhow::ensure!(!grids.is_empty(), "凤凰街道 has no grids");
    let users = store.users().await?;
    let hash = users
        .iter()
        .find(|u| u.login == "dispatch1")
        .map(|u| u.password_hash.clone())
        .unwrap_or_default();
    let centre = super::caller_in(&users, &catalog, "dispatch1")?;
    let visitor = super::caller_in(&users, &catalog, "visit1")?;
    let handler = super::caller_in(&users, &catalog, "town14")?;
    // The subdistrict's cadres and its grids' members (accounts the teams are made of).
    let mut cadres = Vec::new();
    let mut members_of_grid = std::collections::HashMap::new();
    for i in 0..34 {
        let name = format!(
            "{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i * 5 + 3) % GIVEN.len()]
        );
        let u = store
            .create_user(NewUser {
                login: format!("fh-cadre{:02}", i + 1),
                name: format!("凤凰街道干部 {name}"),
                role: Role::Handler,
                unit: district,
                password_hash: hash.clone(),
            })
            .await?;
        cadres.push(u);
    }
    for (i, g) in grids.iter().enumerate() {
        let name = format!(
            "{}{}",
            SURNAMES[(i * 7 + 2) % SURNAMES.len()],
            GIVEN[(i * 3 + 1) % GIVEN.len()]
        );
        let u = store
            .create_user(NewUser {
                login: format!("fh-grid{:02}", i + 1),
                name: format!("网格员 {name}"),
                role: Role::GridMember,
                unit: *g,
                password_hash: hash.clone(),
            })
            .await?;
        members_of_grid.insert(*g, u);
    }
    let everyone = store.users().await?;
    let centre_staff: Vec<u32> = users
        .iter()
        .filter(|u| u.role == Role::Dispatcher || u.role == Role::Operator)
        .map(|u| u.id.0)
        .collect();

    // 57 buildings over the subdistrict's grids.
    let mut buildings = Vec::new();
    for i in 0..57 {
        let name = format!(
            "{}{}{}",
            TOWERS[i % TOWERS.len()],
            KINDS[(i / TOWERS.len()) % KINDS.len()],
            if i >= TOWERS.len() * KINDS.len() {
                "二期"
            } else {
                ""
            }
        );
        let floors = 8 + (i as u32 * 7) % 25;
        let units: Vec<String> = (1..=floors.min(12))
            .flat_map(|f| (1..=4).map(move |r| format!("{f}{r:02}")))
            .collect();
        let g = grids[i % grids.len()];
        let b = uc::new_building(
            &state,
            &centre,
            uc::NewBuilding {
                name,
                address: format!(
                    "凤凰街道{}路{}号",
                    ["迎宾", "文昌", "凤鸣", "滨江"][i % 4],
                    10 + i * 3
                ),
                grid: g.0,
                floors,
                units,
            },
        )
        .await
        .map_err(fail)?;
        buildings.push((b.id, g, b.building.units.clone()));
    }
    // 34 teams: the buildings shared out, each team three people.
    let mut teams = Vec::new();
    for i in 0..34 {
        let mine: Vec<u64> = buildings
            .iter()
            .enumerate()
            .filter(|(k, _)| k % 34 == i)
            .map(|(_, b)| b.0)
            .collect();
        let grid = buildings[i].1;
        let mut members = vec![
            uc::MemberInput {
                user: centre_staff[i % centre_staff.len()],
                duty: "中心人员".into(),
            },
            uc::MemberInput {
                user: cadres[i].id.0,
                duty: "干部".into(),
            },
        ];
        if let Some(g) = members_of_grid.get(&grid) {
            members.push(uc::MemberInput {
                user: g.id.0,
                duty: "网格员".into(),
            });
        }
        let t = uc::new_team(
            &state,
            &centre,
            uc::TeamBody {
                name: format!("楼格格第{}服务队", i + 1),
                unit: district.0,
                members,
                buildings: mine.clone(),
            },
        )
        .await
        .map_err(fail)?;
        teams.push((t.id, mine, cadres[i].clone()));
    }

    // Enterprises: 4 to 9 per building, and some in the villages.
    let mut draw = Draw::new(20_260_322);
    let mut enterprises: Vec<(u64, u64)> = Vec::new(); // (enterprise, building or 0)
    let mut n = 0usize;
    let sizes = ["微型", "微型", "小型", "小型", "小型", "中型"];
    for (b, _, units) in &buildings {
        let count = 4 + (draw.next_u64() % 6) as usize;
        for k in 0..count {
            let (industry, word) = INDUSTRIES[(n * 3 + k) % INDUSTRIES.len()];
            let founded = today - Duration::days(200 + (draw.next_u64() % 3_000) as i64);
            let req = uc::NewEnterprise {
                code: code(n),
                name: format!("云溪{}{}有限公司", WORDS[n % WORDS.len()], word),
                industry: industry.into(),
                size: sizes[n % sizes.len()].into(),
                founded,
                contact: format!("{}{}", SURNAMES[(n * 5) % 12], GIVEN[(n * 7 + 1) % 12]),
                phone: Some(format!(
                    "1{}{:08}",
                    35 + n % 4,
                    (20_000_000 + n * 7_919) % 100_000_000
                )),
                premises: uc::PremisesInput {
                    building: Some(*b),
                    unit: units.get((k * 5 + n) % units.len().max(1)).cloned(),
                    grid: None,
                    address: None,
                },
                since: Some((founded + Duration::days(30)).max(start - Duration::days(900))),
            };
            clock.set(at(start, 9));
            let e = uc::new_enterprise(&state, &centre, req)
                .await
                .map_err(fail)?;
            enterprises.push((e.id, *b));
            n += 1;
        }
    }
    for k in 0..24 {
        let g = grids[(k * 5) % grids.len()];
        let founded = today - Duration::days(400 + k as i64 * 97);
        let req = uc::NewEnterprise {
            code: code(n),
            name: format!(
                "凤凰{}{}",
                WORDS[(k * 3) % WORDS.len()],
                ["农贸商行", "建材经营部", "食品加工厂", "物流有限公司"][k % 4]
            ),
            industry: [
                "批发和零售业",
                "批发和零售业",
                "制造业",
                "交通运输、仓储和邮政业",
            ][k % 4]
                .into(),
            size: "微型".into(),
            founded,
            contact: format!("{}{}", SURNAMES[(k * 3) % 12], GIVEN[(k * 11) % 12]),
            phone: Some(format!("139{:08}", 30_000_000 + k * 4_111)),
            premises: uc::PremisesInput {
                building: None,
                unit: None,
                grid: Some(g.0),
                address: Some(format!("{}号", 3 + k * 2)),
            },
            since: Some(founded),
        };
        let e = uc::new_enterprise(&state, &centre, req)
            .await
            .map_err(fail)?;
        enterprises.push((e.id, 0));
        n += 1;
    }
    // Policies: in force, expired, and one from next year.
    let year = chrono::Datelike::year(&today);
    let policy = |name: &str,
                  source: &str,
                  benefit: &str,
                  rule: serde_json::Value,
                  from: NaiveDate,
                  until: Option<NaiveDate>|
     -> anyhow::Result<uc::PolicyBody> {
        Ok(serde_json::from_value(serde_json::json!({
            "name": name, "source": source, "benefit": benefit,
            "how_to_apply": "向凤凰街道企业服务中心或所在楼宇的楼格格服务队提出，材料齐全的10个工作日内办结",
            "rule": rule, "from": from, "until": until
        }))?)
    };
    let jan = NaiveDate::from_ymd_opt(year, 1, 1).expect("a date");
    let dec = NaiveDate::from_ymd_opt(year, 12, 31).expect("a date");
    let policies = vec![
        policy(
            "小微企业首贷贴息",
            "云溪县促进中小企业高质量发展若干措施（云政发〔2026〕3号）第五条",
            "首笔银行贷款按贷款市场报价利率的50%给予贴息，每户最高5万元",
            serde_json::json!({"sizes": ["micro", "small"], "min_age_months": 6}),
            jan,
            Some(dec),
        )?,
        policy(
            "楼宇经济入驻租金补助",
            "凤凰街道楼宇经济扶持办法（凤办发〔2026〕7号）",
            "新入驻楼宇的企业前两年按租金的30%补助，每年最高10万元",
            serde_json::json!({"townships": [district.0], "max_age_months": 36}),
            jan,
            None,
        )?,
        policy(
            "高新技术企业认定奖励",
            "云溪县科技创新奖励办法（云政办〔2025〕21号）",
            "首次认定为高新技术企业的奖励20万元",
            serde_json::json!({"industries": ["信息传输、软件和信息技术服务业", "科学研究和技术服务业", "制造业"]}),
            jan - Duration::days(365),
            None,
        )?,
        policy(
            "吸纳就业困难人员社保补贴",
            "就业促进法第五十二条；云溪县就业补助资金管理办法",
            "按实际缴纳的社会保险费给予补贴，期限最长3年",
            serde_json::json!({}),
            jan - Duration::days(200),
            None,
        )?,
        policy(
            "2025年稳岗返还",
            "云人社发〔2025〕8号",
            "按上年度实际缴纳失业保险费的60%返还",
            serde_json::json!({"sizes": ["micro", "small", "medium"]}),
            jan - Duration::days(365),
            Some(jan - Duration::days(1)),
        )?,
        policy(
            "数字化转型改造补助",
            "云溪县数字经济发展三年行动方案",
            "数字化改造投入的20%给予补助，最高50万元",
            serde_json::json!({"industries": ["制造业"], "sizes": ["small", "medium"]}),
            NaiveDate::from_ymd_opt(year + 1, 1, 1).expect("a date"),
            None,
        )?,
    ];
    clock.set(at(start, 9));
    let mut policy_ids = Vec::new();
    for p in policies {
        policy_ids.push(uc::publish(&state, &centre, p).await.map_err(fail)?.id);
    }

    // What happens to the enterprises, in the order it happened (an aggregate's steps are
    // never dated before its last one): 挂点 cadres, monthly visits for five months (the
    // demands found on them become appeals), two moves, bank matchmakings, applications.
    enum Act {
        Liaise(u64, u32),
        Visit { month: i64, ti: usize, bi: usize },
        MoveOut(u64),
        MoveIn(u64, u64),
        Finance(usize),
        Financed(u64, u64),
        Apply(u64),
        Decide(u64),
    }
    let late = |d: NaiveDate| at(d, 16);
    let mut acts: Vec<(Instant, Act)> = Vec::new();
    for (_, mine, cadre) in &teams {
        let Some(first) = mine.first() else { continue };
        for (e, _) in enterprises.iter().filter(|(_, b)| b == first).take(2) {
            acts.push((late(start + Duration::days(3)), Act::Liaise(*e, cadre.id.0)));
        }
    }
    for month in 0..5 {
        for (ti, (_, mine, _)) in teams.iter().enumerate() {
            for bi in 0..mine.len() {
                let day = start + Duration::days(10 + month * 30 + ((ti * 3 + bi * 7) % 20) as i64);
                if day < today {
                    acts.push((at(day, 9), Act::Visit { month, ti, bi }));
                }
            }
        }
    }
    acts.push((
        late(today - Duration::days(40)),
        Act::MoveOut(enterprises[3].0),
    ));
    acts.push((
        late(today - Duration::days(35)),
        Act::MoveIn(enterprises[10].0, buildings[5].0),
    ));
    // Bank matchmaking: fourteen small enterprises, twelve decided, one of them refused.
    let banks = [
        "县农商银行",
        "建设银行云溪支行",
        "邮储银行云溪支行",
        "工商银行云溪支行",
    ];
    let asks = [
        300_000u64, 500_000, 800_000, 200_000, 450_000, 600_000, 350_000,
    ];
    for j in 0..14usize {
        let (e, _) = enterprises[(j * 23 + 4) % enterprises.len()];
        let on = today - Duration::days(120 - j as i64 * 7);
        acts.push((late(on), Act::Finance(j)));
        let decided = on + Duration::days(12);
        if j < 12 && decided <= today {
            let asked = asks[j % asks.len()];
            let granted = if j == 9 {
                0
            } else {
                asked * (8 + (j as u64 % 3)) / 10
            };
            acts.push((late(decided), Act::Financed(e, granted)));
        }
    }
    for (j, (e, _)) in enterprises
        .iter()
        .enumerate()
        .filter(|(j, _)| j % 29 == 2)
        .take(6)
    {
        acts.push((
            late(today - Duration::days(50 - j as i64 % 30)),
            Act::Apply(*e),
        ));
        if j % 2 == 0 {
            acts.push((late(today - Duration::days(10)), Act::Decide(*e)));
        }
    }
    acts.sort_by_key(|(t, _)| *t);
    let services = [
        "政策宣讲",
        "创业辅导",
        "法律咨询",
        "纠纷调解",
        "人才服务",
        "融资对接",
        "审批代办",
    ];
    let kinds = [
        DemandKind::Financing,
        DemandKind::Labour,
        DemandKind::Premises,
        DemandKind::Financing,
        DemandKind::Policy,
        DemandKind::Labour,
        DemandKind::Approval,
        DemandKind::Legal,
        DemandKind::Premises,
        DemandKind::Other,
        DemandKind::Financing,
        DemandKind::Labour,
    ];
    let mut visits = 0usize;
    let mut found: Vec<(String, u64, Instant)> = Vec::new(); // (appeal number, team, when)
    let mut k = 0u64;
    for (t, act) in acts {
        clock.set(t);
        match act {
            Act::Liaise(e, user) => {
                uc::liaise(&state, &centre, e, uc::LiaisonBody { user })
                    .await
                    .map_err(fail)?;
            }
            Act::Visit { month, ti, bi } => {
                let (team, mine, cadre) = &teams[ti];
                let caller = super::caller_in(&everyone, &catalog, &cadre.login)?;
                let day = local_date(t);
                let v = uc::plan(
                    &state,
                    &caller,
                    uc::PlanBody {
                        team: *team,
                        building: Some(mine[bi]),
                        enterprises: vec![],
                        on: day,
                    },
                )
                .await
                .map_err(fail)?;
                clock.set(t + Duration::minutes(30));
                // About one visit in three finds a demand.
                let mut demands = Vec::new();
                if (ti + bi + month as usize).is_multiple_of(3) && !v.visit.enterprises.is_empty() {
                    let e = v.visit.enterprises[(k as usize) % v.visit.enterprises.len()];
                    let kind = kinds[(k as usize) % kinds.len()];
                    demands.push(uc::DemandInput {
                        enterprise: e,
                        kind: kind.code().into(),
                        text: demand_text(kind, k).into(),
                    });
                    k += 1;
                }
                let offered: Vec<String> = (0..2)
                    .map(|j| {
                        services[(ti + bi + j * 3 + month as usize) % services.len()].to_string()
                    })
                    .collect();
                let r = uc::record(
                    &state,
                    &caller,
                    v.id,
                    uc::RecordBody {
                        offered,
                        note: "走访楼内企业，宣讲惠企政策，了解经营情况".into(),
                        demands,
                        cancel: None,
                    },
                )
                .await
                .map_err(fail)?;
                visits += 1;
                for d in &r.visit.demands {
                    if let Some(a) = &d.appeal {
                        found.push((a.clone(), *team, t + Duration::minutes(30)));
                    }
                }
            }
            Act::MoveOut(e) => {
                uc::move_enterprise(
                    &state,
                    &centre,
                    e,
                    uc::MoveBody {
                        direction: "out".into(),
                        premises: uc::PremisesInput::default(),
                        on: local_date(t),
                        reason: "迁往市高新区".into(),
                    },
                )
                .await
                .map_err(fail)?;
            }
            Act::MoveIn(e, b) => {
                uc::move_enterprise(
                    &state,
                    &centre,
                    e,
                    uc::MoveBody {
                        direction: "in".into(),
                        premises: uc::PremisesInput {
                            building: Some(b),
                            unit: None,
                            grid: None,
                            address: None,
                        },
                        on: local_date(t),
                        reason: "扩大经营，换租整层".into(),
                    },
                )
                .await
                .map_err(fail)?;
            }
            Act::Finance(j) => {
                let (e, b) = enterprises[(j * 23 + 4) % enterprises.len()];
                let team = teams
                    .iter()
                    .find(|(_, mine, _)| mine.contains(&b))
                    .map(|t| t.0);
                let body = uc::FinanceBody {
                    bank: banks[j % banks.len()].into(),
                    asked: asks[j % asks.len()],
                    on: Some(local_date(t)),
                    team,
                    note: String::new(),
                };
                uc::finance(&state, &centre, e, body).await.map_err(fail)?;
            }
            Act::Financed(e, granted) => {
                uc::financed(
                    &state,
                    &centre,
                    e,
                    0,
                    uc::FinancedBody {
                        granted,
                        on: Some(local_date(t)),
                    },
                )
                .await
                .map_err(fail)?;
            }
            Act::Apply(e) => {
                uc::apply(
                    &state,
                    &centre,
                    e,
                    uc::ApplyBody {
                        policy: policy_ids[3],
                        on: None,
                    },
                )
                .await
                .map_err(fail)?;
            }
            Act::Decide(e) => {
                uc::decide(
                    &state,
                    &centre,
                    e,
                    0,
                    uc::DecideBody {
                        granted: true,
                        amount: 8_600,
                        note: "按季度拨付".into(),
                        on: None,
                    },
                )
                .await
                .map_err(fail)?;
            }
        }
    }
    // A payment complaint, sent directly this morning.
    clock.set(now - Duration::hours(1));
    let pay = uc::demand(
        &state,
        &centre,
        enterprises[7].0,
        uc::DemandBody {
            kind: "payment".into(),
            text: demand_text(DemandKind::Payment, 0).into(),
        },
    )
    .await
    .map_err(fail)?;
    found.push((pay.appeal, 0, now - Duration::hours(1)));

    // The loop: those older than two weeks closed (a few unsatisfied), the recent ones left at
    // every stage.
    let lead = district;
    let step = |number: &str, cmd: Command, who: &bihuan_server::auth::Caller, t: Instant| {
        let number = number.to_string();
        let who = who.clone();
        let state = state.clone();
        let clock = clock.clone();
        async move {
            clock.set(t);
            let a = state
                .store
                .appeal(bihuan_store::AppealRef::Number(
                    number.parse().map_err(|e: String| anyhow::anyhow!(e))?,
                ))
                .await?;
            bihuan_server::app::act(&state, &who, &number, cmd, a.version)
                .await
                .map_err(|e| anyhow::anyhow!("{number}: {}", e.message))?;
            anyhow::Ok(())
        }
    };
    for (i, (number, _, t)) in found.iter().enumerate() {
        let age = (today - local_date(*t)).num_days();
        let h = |hours: i64| *t + Duration::hours(hours);
        // The newest (the payment complaint) waits for dispatch: it may take ten working days.
        if i + 1 == found.len() && age < 14 {
            continue;
        }
        step(
            number,
            Command::Dispatch {
                lead,
                assisting: vec![],
                note: "请街道企业服务中心办理，并反馈楼格格服务队".into(),
            },
            &centre,
            h(2),
        )
        .await?;
        if age < 3 {
            continue;
        }
        step(number, Command::Sign { owner: None }, &handler, h(20)).await?;
        step(
            number,
            Command::Contact {
                note: "已与企业负责人电话联系，了解需求".into(),
            },
            &handler,
            h(24),
        )
        .await?;
        if age < 8 {
            continue;
        }
        step(
            number,
            Command::Reply(Reply {
                result: ReplyResult::Resolved,
                reason: None,
                text: "已协调相关部门和银行、人力资源机构对接，企业需求已落实。".into(),
                petition_outcome: None,
                attachments: vec![],
            }),
            &handler,
            h(24 * 4),
        )
        .await?;
        if age < 14 {
            continue;
        }
        let unhappy = i % 13 == 5;
        step(
            number,
            Command::ReturnVisit(ReturnVisit {
                contacted: true,
                resolved: Some(!unhappy),
                rating: Some(if unhappy {
                    Rating::Unsatisfied
                } else if i % 4 == 0 {
                    Rating::Basic
                } else {
                    Rating::Satisfied
                }),
                comment: if unhappy {
                    "问题仍未完全解决".into()
                } else {
                    "服务队很用心，问题已解决".into()
                },
            }),
            &visitor,
            h(24 * 6),
        )
        .await?;
        step(
            number,
            Command::Close {
                note: if unhappy {
                    "已向企业说明政策限制，另行跟踪".into()
                } else {
                    String::new()
                },
            },
            &centre,
            h(24 * 6 + 2),
        )
        .await?;
    }

    clock.set(now);
    let f = uc::figures(
        &state,
        &centre,
        &uc::FigureQuery {
            from: Some(start - Duration::days(1)),
            to: Some(today),
        },
    )
    .await
    .map_err(fail)?;
    Ok(EnterprisesMade {
        buildings: buildings.len(),
        teams: teams.len(),
        enterprises: enterprises.len(),
        visits,
        demands: f.total.demands,
        solved: f.total.solved,
        financed: f.total.financed,
        financed_amount: f.total.financed_amount,
    })
}
