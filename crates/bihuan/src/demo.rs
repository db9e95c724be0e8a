//! The demo county: 云溪县, a fictional county with 15 townships, 30 departments, villages and
//! grids, a three-level category tree, about sixty accounts across all roles, and a year of
//! appeals produced by driving the real domain commands — arrivals by hour and weekday, dispatch
//! and signing delays, returns, extensions, whistles, replies (some late), return visits with
//! ratings, redos, and work still open or overdue at the end — so every list and rate means
//! something.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use bihuan_domain::appeal::{Citizen, Commitment, Phone, Place};
use bihuan_domain::category::{Category, CategoryId, CategoryTree};
use bihuan_domain::lifecycle::{
    Actor, Appeal, Command, EventRecord, NewAppeal, PetitionOutcome, Rating, RedoCause, Reply,
    ReplyResult, ReturnVisit, Role,
};
use bihuan_domain::org::{Unit, UnitId, UnitKind};
use bihuan_domain::policy::Limit;
use bihuan_domain::time::{cst, local_date, Instant};
use bihuan_domain::{AppealId, AppealNumber, Channel, Kind, Urgency};
use bihuan_store::{AppealRef, NewUser, Store};
use chrono::{Datelike, Duration, TimeZone, Timelike};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod approvals;
mod campaigns;
mod enterprises;
mod jobs;
mod open311;
mod surveys;

/// A server of the demo county on a clock of its own, for generating records through the use
/// cases (nothing listens; no background work).
async fn demo_app(
    store: &Arc<dyn Store>,
    start: Instant,
) -> anyhow::Result<(bihuan_server::Application, Arc<bihuan_server::ManualClock>)> {
    let clock = Arc::new(bihuan_server::ManualClock::new(start));
    let config = bihuan_server::config::Config {
        listen: "127.0.0.1:0".into(),
        scan_interval_secs: 0,
        notify_interval_secs: 0,
        ..Default::default()
    };
    let app =
        bihuan_server::Application::build_with_clock(config, store.clone(), clock.clone()).await?;
    Ok((app, clock))
}

/// The demo account `login` as a caller of the use cases.
fn caller_in(
    users: &[bihuan_store::User],
    catalog: &bihuan_store::Catalog,
    login: &str,
) -> anyhow::Result<bihuan_server::auth::Caller> {
    let u = users
        .iter()
        .find(|u| u.login == login)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no account {login}"))?;
    let unit_kind = catalog
        .org
        .get(u.unit)
        .ok_or_else(|| anyhow::anyhow!("no unit"))?
        .kind;
    Ok(bihuan_server::auth::Caller {
        actor: catalog.actor(&u),
        user: u,
        unit_kind,
    })
}
pub use approvals::{approvals, ApprovalsMade};
pub use campaigns::{campaigns, CampaignsMade};
pub use enterprises::{enterprises, EnterprisesMade};
pub use jobs::{jobs, JobsMade};
pub use open311::{open311, Open311Made, DEMO_KEY as DEMO_OPEN311_KEY};
pub use surveys::{surveys, SurveysMade};

pub const DEMO_PASSWORD: &str = "bihuan2026";

const TOWNSHIPS: [&str; 15] = [
    "云溪镇",
    "东岭镇",
    "西坪乡",
    "南塘镇",
    "北山乡",
    "石桥镇",
    "白沙镇",
    "枫林乡",
    "桃源镇",
    "梅岭乡",
    "青湖镇",
    "金滩镇",
    "龙泉乡",
    "凤凰街道",
    "文昌街道",
];

const VILLAGE_NAMES: [&str; 24] = [
    "东门", "西街", "南岸", "北坪", "上塘", "下洲", "新田", "老屋", "杨柳", "竹山", "荷塘", "松林",
    "长岭", "高桥", "石门", "水口", "湖滨", "花园", "红星", "团结", "和平", "光明", "丰收", "建设",
];

/// Departments with short names (aliases) and the top-level categories they usually take.
const DEPARTMENTS: [(&str, &str, &[&str]); 30] = [
    ("县住房和城乡建设局", "县住建局", &["城乡建设"]),
    ("县交通运输局", "县交通局", &["交通运输"]),
    ("县水利局", "水利局", &["农村农业"]),
    ("县人力资源和社会保障局", "县人社局", &["劳动和社会保障"]),
    ("县教育体育局", "县教体局", &["教育文体"]),
    ("县卫生健康委员会", "县卫健委", &["卫生健康"]),
    ("县市场监督管理局", "县市场监管局", &["市场监管"]),
    ("县生态环境局", "生态环境局", &["环境保护"]),
    ("县自然资源局", "自然资源局", &["城乡建设"]),
    ("县农业农村局", "县农业农村局", &["农村农业"]),
    ("县公安局", "公安局", &["公共安全"]),
    ("县民政局", "民政局", &["民政服务"]),
    ("县财政局", "财政局", &["劳动和社会保障"]),
    ("县城市管理局", "县城管局", &["城乡建设", "环境保护"]),
    ("县应急管理局", "应急局", &["公共安全"]),
    ("国网云溪县供电公司", "供电公司", &["公用事业"]),
    ("县自来水公司", "自来水公司", &["公用事业"]),
    ("县医疗保障局", "县医保局", &["卫生健康"]),
    ("县税务局", "税务局", &["商贸旅游"]),
    ("县商务局", "商务局", &["商贸旅游"]),
    (
        "县文化广电新闻出版旅游局",
        "县文广新旅局",
        &["教育文体", "商贸旅游"],
    ),
    ("县司法局", "司法局", &["政务服务"]),
    ("县信访局", "信访局", &["政务服务"]),
    ("县退役军人事务局", "退役军人局", &["民政服务"]),
    ("县林业局", "林业局", &["农村农业"]),
    ("县发展和改革委员会", "县发改委", &["政务服务"]),
    ("县工业和信息化局", "县工信局", &["商贸旅游"]),
    ("县行政审批局", "审批局", &["政务服务"]),
    ("县消防救援大队", "消防大队", &["公共安全"]),
    ("县乡村振兴局", "乡村振兴局", &["农村农业"]),
];

/// Our own category tree: top level → second level → third level, with a phrase used to write
/// appeal texts.
/// A second-level category with its third-level names.
type Second = (&'static str, &'static [&'static str]);

const CATEGORIES: &[(&str, &[Second])] = &[
    (
        "城乡建设",
        &[
            ("市政设施", &["路灯", "道路破损", "井盖缺失", "排水不畅"]),
            ("住房保障", &["公租房", "棚户区改造", "物业管理"]),
            ("违章建筑", &["私搭乱建", "占道经营"]),
        ],
    ),
    (
        "交通运输",
        &[
            ("公共交通", &["公交线路", "公交站台", "出租车服务"]),
            ("道路管理", &["农村公路", "交通标志", "超限运输"]),
        ],
    ),
    (
        "环境保护",
        &[
            (
                "污染防治",
                &["噪音扰民", "油烟污染", "水体污染", "垃圾焚烧"],
            ),
            ("市容环卫", &["垃圾清运", "公厕管理"]),
        ],
    ),
    (
        "劳动和社会保障",
        &[
            ("劳动关系", &["拖欠工资", "劳动合同", "工伤认定"]),
            ("社会保险", &["养老保险", "失业保险", "社保卡"]),
            ("就业创业", &["就业服务", "创业补贴"]),
        ],
    ),
    (
        "教育文体",
        &[
            ("基础教育", &["入学招生", "校车安全", "教育收费"]),
            ("文体设施", &["健身器材", "文化活动"]),
        ],
    ),
    (
        "卫生健康",
        &[
            ("医疗服务", &["看病就医", "医疗纠纷"]),
            ("医疗保障", &["医保报销", "医保缴费"]),
            ("公共卫生", &["疫苗接种", "病媒防治"]),
        ],
    ),
    (
        "市场监管",
        &[
            ("消费维权", &["商品质量", "预付卡退费", "价格欺诈"]),
            ("食品药品", &["食品安全", "药品质量"]),
        ],
    ),
    (
        "农村农业",
        &[
            ("农田水利", &["灌溉渠道", "山塘水库"]),
            ("农业生产", &["农资质量", "耕地保护", "惠农补贴"]),
            ("林业", &["林地纠纷", "森林防火"]),
        ],
    ),
    (
        "公共安全",
        &[
            ("治安管理", &["治安隐患", "电信诈骗"]),
            ("安全生产", &["燃气安全", "消防隐患"]),
        ],
    ),
    (
        "民政服务",
        &[
            ("社会救助", &["低保", "特困供养", "临时救助"]),
            ("养老服务", &["养老机构", "高龄补贴"]),
            ("优抚安置", &["退役军人待遇"]),
        ],
    ),
    (
        "公用事业",
        &[
            ("供水", &["停水", "水质", "水费"]),
            ("供电", &["停电", "电压不稳", "线路安全"]),
        ],
    ),
    (
        "商贸旅游",
        &[
            ("营商环境", &["企业诉求", "涉企收费", "融资难"]),
            ("旅游服务", &["景区管理", "旅游投诉"]),
            ("税务", &["办税服务", "发票"]),
        ],
    ),
    (
        "政务服务",
        &[
            ("办事服务", &["办事效率", "证照办理", "一件事办理"]),
            ("政策咨询", &["政策解读"]),
            ("干部作风", &["工作作风"]),
        ],
    ),
];

pub(crate) const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "罗", "曾",
];
pub(crate) const GIVEN: [&str; 16] = [
    "建华", "秀英", "志强", "丽萍", "国平", "海燕", "文明", "春梅", "伟", "芳", "明", "红", "小军",
    "玉兰", "德胜", "桂香",
];

/// The demo county's units, categories, users and their logins.
pub struct County {
    pub units: Vec<Unit>,
    pub categories: Vec<Category>,
    /// (category id, phrase, departments that usually take it)
    pub leaves: Vec<(CategoryId, String, Vec<UnitId>)>,
    pub townships: Vec<UnitId>,
    pub villages: BTreeMap<UnitId, Vec<UnitId>>,
    pub grids: BTreeMap<UnitId, Vec<UnitId>>,
    pub departments: Vec<UnitId>,
    /// login, name, role, unit
    pub accounts: Vec<(String, String, Role, UnitId)>,
    /// The dispatch catalogue: each top category to its first department, and a few keywords.
    pub rules: Vec<bihuan_domain::catalogue::Rule>,
}

pub fn county() -> County {
    let root = UnitId(1);
    let mut units = vec![Unit {
        id: root,
        name: "云溪县".into(),
        kind: UnitKind::County,
        parent: None,
        aliases: vec!["云溪".into()],
    }];
    let mut departments = Vec::new();
    let mut dept_by_top: BTreeMap<&str, Vec<UnitId>> = BTreeMap::new();
    for (i, (name, alias, tops)) in DEPARTMENTS.iter().enumerate() {
        let id = UnitId(100 + i as u32);
        units.push(Unit {
            id,
            name: (*name).into(),
            kind: UnitKind::Department,
            parent: Some(root),
            aliases: if alias != name {
                vec![(*alias).into()]
            } else {
                vec![]
            },
        });
        departments.push(id);
        for t in *tops {
            dept_by_top.entry(t).or_default().push(id);
        }
    }
    let mut townships = Vec::new();
    let mut villages = BTreeMap::new();
    let mut grids = BTreeMap::new();
    let mut next = 1000u32;
    for (i, t) in TOWNSHIPS.iter().enumerate() {
        let tid = UnitId(200 + i as u32);
        let short = t
            .trim_end_matches("街道")
            .trim_end_matches('镇')
            .trim_end_matches('乡');
        units.push(Unit {
            id: tid,
            name: (*t).into(),
            kind: UnitKind::Township,
            parent: Some(root),
            aliases: vec![short.to_string()],
        });
        townships.push(tid);
        let n_villages = 4 + (i % 4);
        let mut vs = Vec::new();
        for v in 0..n_villages {
            let vid = UnitId(next);
            next += 1;
            let base = VILLAGE_NAMES[(i * 5 + v * 3) % VILLAGE_NAMES.len()];
            let suffix = if t.ends_with("街道") || i == 0 {
                "社区"
            } else {
                "村"
            };
            units.push(Unit {
                id: vid,
                name: format!("{base}{suffix}"),
                kind: UnitKind::Village,
                parent: Some(tid),
                aliases: vec![],
            });
            vs.push(vid);
            let mut gs = Vec::new();
            for g in 1..=(2 + v % 2) {
                let gid = UnitId(next);
                next += 1;
                units.push(Unit {
                    id: gid,
                    name: format!("{base}{suffix}第{g}网格"),
                    kind: UnitKind::Grid,
                    parent: Some(vid),
                    aliases: vec![],
                });
                gs.push(gid);
            }
            grids.insert(vid, gs);
        }
        villages.insert(tid, vs);
    }

    let mut categories = Vec::new();
    let mut leaves = Vec::new();
    let mut rules: Vec<bihuan_domain::catalogue::Rule> = Vec::new();
    let mut cid = 1u32;
    for (top, seconds) in CATEGORIES {
        let top_id = CategoryId(cid);
        cid += 1;
        categories.push(Category {
            id: top_id,
            name: (*top).into(),
            parent: None,
        });
        let depts = dept_by_top.get(top).cloned().unwrap_or_default();
        if let Some(first) = depts.first() {
            rules.push(bihuan_domain::catalogue::Rule {
                id: rules.len() as u32 + 1,
                unit: *first,
                category: Some(top_id),
                keywords: vec![],
                note: format!("{top}类诉求默认由该部门主办"),
            });
        }
        for (second, thirds) in *seconds {
            let sid = CategoryId(cid);
            cid += 1;
            categories.push(Category {
                id: sid,
                name: (*second).into(),
                parent: Some(top_id),
            });
            for third in *thirds {
                let lid = CategoryId(cid);
                cid += 1;
                categories.push(Category {
                    id: lid,
                    name: (*third).into(),
                    parent: Some(sid),
                });
                leaves.push((lid, (*third).to_string(), depts.clone()));
            }
        }
    }

    let mut accounts = vec![
        (
            "admin".to_string(),
            "系统管理员".to_string(),
            Role::Admin,
            root,
        ),
        (
            "operator1".into(),
            "受理员 周晓梅".into(),
            Role::Operator,
            root,
        ),
        (
            "operator2".into(),
            "受理员 刘佳".into(),
            Role::Operator,
            root,
        ),
        (
            "dispatch1".into(),
            "派单员 陈立新".into(),
            Role::Dispatcher,
            root,
        ),
        (
            "dispatch2".into(),
            "派单员 黄婷".into(),
            Role::Dispatcher,
            root,
        ),
        (
            "visit1".into(),
            "回访员 吴秀兰".into(),
            Role::ReturnVisitor,
            root,
        ),
        (
            "visit2".into(),
            "回访员 郭敏".into(),
            Role::ReturnVisitor,
            root,
        ),
        (
            "supervisor1".into(),
            "督办员 何正平".into(),
            Role::Supervisor,
            root,
        ),
        ("leader1".into(), "县领导 罗志远".into(), Role::Leader, root),
    ];
    for (i, d) in departments.iter().enumerate() {
        let short = DEPARTMENTS[i].1;
        accounts.push((
            format!("dept{:02}", i + 1),
            format!("{short}承办人"),
            Role::Handler,
            *d,
        ));
    }
    for (i, t) in townships.iter().enumerate() {
        accounts.push((
            format!("town{:02}", i + 1),
            format!("{}承办人", TOWNSHIPS[i]),
            Role::Handler,
            *t,
        ));
    }
    accounts.push((
        "dept01-lead".into(),
        "县住建局负责人".into(),
        Role::UnitLeader,
        departments[0],
    ));
    accounts.push((
        "town01-lead".into(),
        "云溪镇负责人".into(),
        Role::UnitLeader,
        townships[0],
    ));
    let g1 = grids[&villages[&townships[0]][0]][0];
    let g2 = grids[&villages[&townships[1]][0]][0];
    accounts.push(("grid1".into(), "网格员 曾小红".into(), Role::GridMember, g1));
    accounts.push((
        "employer1".into(),
        "云溪精密机械有限公司 人事部".into(),
        Role::Employer,
        root,
    ));
    accounts.push(("grid2".into(), "网格员 林德胜".into(), Role::GridMember, g2));

    County {
        units,
        categories,
        leaves,
        rules,
        townships,
        villages,
        grids,
        departments,
        accounts,
    }
}

/// Installs the county in an empty store: units, categories and accounts.
pub async fn install(
    store: &Arc<dyn Store>,
    c: &County,
    password_hash: &str,
) -> anyhow::Result<()> {
    store
        .put_units(c.units.clone())
        .await
        .context("loading the demo units")?;
    store
        .put_categories(c.categories.clone())
        .await
        .context("loading the demo categories")?;
    CategoryTree::new(c.categories.clone()).context("the demo category tree")?;
    store
        .put_dispatch_rules(c.rules.clone())
        .await
        .context("loading the demo dispatch catalogue")?;
    for (login, name, role, unit) in &c.accounts {
        store
            .create_user(NewUser {
                login: login.clone(),
                name: name.clone(),
                role: *role,
                unit: *unit,
                password_hash: password_hash.to_string(),
            })
            .await
            .with_context(|| format!("creating the demo account {login}"))?;
    }
    Ok(())
}

/// Users as the generator acts through them.
struct Cast {
    operators: Vec<Actor>,
    dispatchers: Vec<Actor>,
    visitors: Vec<Actor>,
    grid: Vec<Actor>,
    supervisor: Actor,
    handler_of: BTreeMap<UnitId, Actor>,
}

fn actor_of(
    store_users: &[bihuan_store::User],
    catalog: &bihuan_store::Catalog,
    login: &str,
) -> Option<Actor> {
    store_users
        .iter()
        .find(|u| u.login == login)
        .map(|u| catalog.actor(u))
}

fn random_phone(rng: &mut StdRng) -> String {
    let prefixes = [
        "138", "139", "135", "136", "150", "151", "158", "182", "187", "189", "199",
    ];
    format!(
        "{}{:08}",
        prefixes[rng.gen_range(0..prefixes.len())],
        rng.gen_range(0..100_000_000u32)
    )
}

/// A time `hours` of working time after `t`, skipping nights (20:00–08:00) roughly: delays of
/// people who work office hours.
/// Who raised the matter, as the appeal's text says it for its channel: a caller on the
/// hotline, a visitor at the office, a household a grid member called on …
fn who_raised(channel: Channel) -> &'static str {
    match channel {
        Channel::Hotline => "来电人",
        Channel::Web | Channel::App => "网民",
        Channel::HouseholdVisit => "走访对象",
        Channel::Letter => "来信人",
        Channel::InPerson => "来访人",
        Channel::GridReport => "网格员",
        Channel::EnterpriseService => "企业",
        Channel::Survey => "受访者",
        Channel::Other => "群众",
    }
}

fn later(t: Instant, hours: f64) -> Instant {
    let mut out = t + Duration::seconds((hours * 3600.0) as i64);
    let local = out.with_timezone(&cst());
    if local.hour() >= 20 {
        out += Duration::hours(12);
    } else if local.hour() < 8 {
        out += Duration::hours(8 - i64::from(local.hour()));
    }
    if matches!(
        local_date(out).weekday(),
        chrono::Weekday::Sat | chrono::Weekday::Sun
    ) && hours > 4.0
    {
        out += Duration::days(if local_date(out).weekday() == chrono::Weekday::Sat {
            2
        } else {
            1
        });
    }
    out
}

/// One appeal's story, stopped at `now`.
struct Story<'a> {
    appeal: Appeal,
    records: Vec<EventRecord>,
    ctx: bihuan_domain::Context<'a>,
    now: Instant,
    stopped: bool,
}

impl Story<'_> {
    /// Tries a step that may fairly be refused (a return after its window): a refusal leaves
    /// the story going.
    fn attempt(&mut self, cmd: Command, actor: &Actor, at: Instant) -> bool {
        if self.stopped || at.max(self.appeal.last_at) > self.now {
            return false;
        }
        match self
            .appeal
            .handle(&cmd, actor, at.max(self.appeal.last_at), None, self.ctx)
        {
            Ok((next, recs)) => {
                self.appeal = next;
                self.records.extend(recs);
                true
            }
            Err(_) => false,
        }
    }

    /// A petition's newest notice reaches the petitioner some days later (by post or in
    /// person); the unit records the date. Nothing for a hotline appeal.
    /// Recorded at `at` (the story's next step, so no later step moves), dated a few days
    /// after `issued` but never after `at`.
    fn receipt(&mut self, actor: &Actor, issued: Instant, at: Instant) {
        let Some(doc) = self
            .appeal
            .documents
            .iter()
            .rev()
            .find(|d| d.received_on.is_none())
            .map(|d| d.version)
        else {
            return;
        };
        // One to four days by post, varied by appeal (no draw from the story's random stream,
        // so the rest of the demo stays as it was).
        let hours = 24.0 + (self.appeal.id.0 % 72) as f64;
        let got = later(issued, hours).min(at);
        self.step(
            Command::RecordReceipt {
                document: doc,
                received_on: bihuan_domain::time::local_date(got),
            },
            actor,
            at,
        );
    }

    /// Runs a step at `at` unless the story has reached the present; a refused step ends it.
    fn step(&mut self, cmd: Command, actor: &Actor, at: Instant) -> bool {
        if self.stopped {
            return false;
        }
        let at = at.max(self.appeal.last_at);
        if at > self.now {
            self.stopped = true;
            return false;
        }
        match self.appeal.handle(&cmd, actor, at, None, self.ctx) {
            Ok((next, recs)) => {
                self.appeal = next;
                self.records.extend(recs);
                true
            }
            Err(e) => {
                if std::env::var_os("BIHUAN_DEMO_DEBUG").is_some() {
                    eprintln!("{} {}: {e}", self.appeal.number, cmd.name());
                }
                // A deadline that would run into an unloaded year, or another refusal: the
                // appeal stays where it is, as it would in real work.
                self.stopped = true;
                false
            }
        }
    }
}

/// Generates `count` appeals arriving over the year before `now` and writes them. Returns how
/// many were written.
pub async fn generate(
    store: &Arc<dyn Store>,
    c: &County,
    count: usize,
    now: Instant,
    seed: u64,
) -> anyhow::Result<usize> {
    let users = store.users().await?;
    let catalog = store.catalog();
    let get = |login: &str| {
        actor_of(&users, &catalog, login)
            .with_context(|| format!("demo account {login} is missing"))
    };
    let cast = Cast {
        operators: vec![get("operator1")?, get("operator2")?],
        dispatchers: vec![get("dispatch1")?, get("dispatch2")?],
        visitors: vec![get("visit1")?, get("visit2")?],
        grid: vec![get("grid1")?, get("grid2")?],
        supervisor: get("supervisor1")?,
        handler_of: users
            .iter()
            .filter(|u| u.role == Role::Handler)
            .map(|u| (u.unit, catalog.actor(u)))
            .collect(),
    };
    let ctx = catalog.ctx();
    let mut rng = StdRng::seed_from_u64(seed);

    // Arrival instants over the past year: more on weekdays and in office hours.
    let start = now - Duration::days(365);
    let mut arrivals: Vec<Instant> = (0..count)
        .map(|_| loop {
            let t = start + Duration::seconds(rng.gen_range(0..365 * 86_400));
            let local = t.with_timezone(&cst());
            let weekend = matches!(local.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
            let h = local.hour();
            let p = if (8..12).contains(&h) || (14..18).contains(&h) {
                1.0
            } else if (7..22).contains(&h) {
                0.45
            } else {
                0.06
            } * if weekend { 0.5 } else { 1.0 };
            if rng.gen_bool(p) {
                break t;
            }
        })
        .collect();
    arrivals.sort();

    // Numbers per month, allocated in arrival order.
    let mut per_month: BTreeMap<(i32, u32), u32> = BTreeMap::new();
    for t in &arrivals {
        let d = local_date(*t);
        *per_month.entry((d.year(), d.month())).or_default() += 1;
    }
    let mut numbers: BTreeMap<(i32, u32), std::vec::IntoIter<u32>> = BTreeMap::new();
    for ((y, m), n) in &per_month {
        numbers.insert(
            (*y, *m),
            store.allocate_numbers(*y, *m, *n).await?.into_iter(),
        );
    }
    let first_id = store.next_appeal_id().await?.0;

    // A bulk load: the rollup sums are written once at the end. Each batch is written while
    // the next is made (the store checks and encodes it on another thread, and its writer
    // thread writes it).
    store.begin_bulk().await?;
    let mut written = 0usize;
    let mut writing = std::collections::VecDeque::new();
    let mut batch = Vec::with_capacity(GENERATE_BATCH);
    for (i, at) in arrivals.iter().enumerate() {
        let d = local_date(*at);
        let seq = numbers
            .get_mut(&(d.year(), d.month()))
            .and_then(Iterator::next)
            .context("numbers ran out")?;
        let number =
            AppealNumber::new(d.year() as u16, d.month() as u8, seq).context("appeal number")?;
        if let Some(h) = one_appeal(
            &mut rng,
            c,
            &cast,
            ctx,
            AppealId(first_id + i as u64),
            number,
            *at,
            now,
        ) {
            batch.push((h, None));
        }
        if batch.len() == GENERATE_BATCH || i + 1 == arrivals.len() {
            // Two in flight: one being checked and encoded while the other is written.
            if writing.len() == 2 {
                written += writing.pop_front().expect("two").await?? as usize;
            }
            let (s, b) = (store.clone(), std::mem::take(&mut batch));
            writing.push_back(tokio::spawn(async move { s.import_histories(b).await }));
        }
    }
    for w in writing {
        written += w.await?? as usize;
    }
    store.finish_bulk().await?;
    Ok(written)
}

/// Appeals written together by `generate`.
const GENERATE_BATCH: usize = 5_000;

#[allow(clippy::too_many_arguments)]
fn one_appeal(
    rng: &mut StdRng,
    c: &County,
    cast: &Cast,
    ctx: bihuan_domain::Context<'_>,
    id: AppealId,
    number: AppealNumber,
    at: Instant,
    now: Instant,
) -> Option<Vec<EventRecord>> {
    let pick = |rng: &mut StdRng, weights: &[u32]| -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = rng.gen_range(0..total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    };
    let channels = [
        (Channel::Hotline, 55),
        (Channel::Web, 12),
        (Channel::App, 8),
        (Channel::HouseholdVisit, 8),
        (Channel::GridReport, 8),
        (Channel::Letter, 2),
        (Channel::InPerson, 3),
        (Channel::EnterpriseService, 3),
        (Channel::Other, 1),
    ];
    let channel = channels[pick(rng, &channels.map(|x| x.1))].0;
    let petition = matches!(channel, Channel::Letter | Channel::InPerson) || rng.gen_bool(0.01);
    let kind = if petition {
        [
            Kind::PetitionOpinion,
            Kind::PetitionAccusation,
            Kind::PetitionClaim,
        ][pick(rng, &[2, 2, 6])]
    } else {
        let kinds = [
            (Kind::Consultation, 25),
            (Kind::Help, 25),
            (Kind::Complaint, 30),
            (Kind::Report, 8),
            (Kind::Suggestion, 8),
            (Kind::Praise, 2),
        ];
        kinds[pick(rng, &kinds.map(|x| x.1))].0
    };
    let urgency = [Urgency::Critical, Urgency::Urgent, Urgency::Normal][pick(rng, &[2, 8, 90])];
    let (cat, phrase, depts) = &c.leaves[rng.gen_range(0..c.leaves.len())];
    let township = c.townships[rng.gen_range(0..c.townships.len())];
    let village = c.villages[&township][rng.gen_range(0..c.villages[&township].len())];
    let grid = c.grids[&village][rng.gen_range(0..c.grids[&village].len())];
    let tname = &c.units.iter().find(|u| u.id == township)?.name;
    let vname = &c.units.iter().find(|u| u.id == village)?.name;
    let road = [
        "人民路",
        "解放路",
        "建设路",
        "滨江路",
        "文化路",
        "新华街",
        "兴业大道",
    ][rng.gen_range(0..7)];
    let address = format!("{tname}{vname}{road}{}号", rng.gen_range(1..300));
    let opener = match kind {
        Kind::Consultation => format!("咨询{phrase}相关政策和办理流程"),
        Kind::Praise => format!("表扬有关单位在{phrase}问题上处理及时"),
        Kind::Suggestion => format!("建议改进{phrase}方面的工作"),
        _ => format!("反映{address}附近{phrase}问题"),
    };
    let detail = [
        "已持续一段时间，影响周边群众正常生活",
        "多次向村（社区）反映未得到解决",
        "希望相关部门尽快核实处理并给予答复",
        "涉及多户居民，群众意见较大",
        "情况较为紧急，请尽快安排人员到现场",
    ][rng.gen_range(0..5)];
    let citizen_name = format!(
        "{}{}",
        SURNAMES[rng.gen_range(0..SURNAMES.len())],
        GIVEN[rng.gen_range(0..GIVEN.len())]
    );
    // One in eight petitions brought in person about a matter of many households is a group
    // visit (集体访) with its representatives (Art 20), chosen from the appeal's id (no draw
    // from the random stream, so the rest of the demo stays as it was).
    let group = (kind.regime() == bihuan_domain::Regime::Petition
        && channel == Channel::InPerson
        && id.0.is_multiple_of(8))
    .then(|| {
        let n = 2 + (id.0 % 4) as usize;
        bihuan_domain::lifecycle::GroupVisit {
            people: 6 + (id.0 % 37) as u32,
            representatives: (0..n)
                .map(|k| {
                    let x = id.0 as usize / 8 + k * 7;
                    format!(
                        "{}{}",
                        SURNAMES[x % SURNAMES.len()],
                        GIVEN[(x / 3) % GIVEN.len()]
                    )
                })
                .collect(),
        }
    });
    let new = NewAppeal {
        // Accusations in the demo are against village (community) cadres: the village never
        // receives them (villages do not handle appeals, and the domain would refuse it anyway).
        accused_units: if kind == Kind::PetitionAccusation {
            vec![village]
        } else {
            vec![]
        },
        accused_persons: vec![],
        group,
        // Some letters reach the county forwarded from above (上级转送): most from the city, a
        // few from the province or the State Bureau (越级), chosen from the id as above.
        forwarded_from: (kind.regime() == bihuan_domain::Regime::Petition
            && channel == Channel::Letter
            && id.0 % 5 == 1)
            .then_some(match id.0 % 7 {
                0 | 1 => bihuan_domain::lifecycle::ForwardedFrom::Province,
                2 => bihuan_domain::lifecycle::ForwardedFrom::National,
                _ => bihuan_domain::lifecycle::ForwardedFrom::City,
            }),
        // One petition in twelve was accepted before by a higher level or another body
        // (重复信访, Art 19); the demo's own repeats linked to a case here come later
        // ([`petitions`]).
        repeat_of: (kind.regime() == bihuan_domain::Regime::Petition && id.0 % 12 == 7).then(
            || bihuan_domain::lifecycle::RepeatOf {
                earlier: None,
                elsewhere: Some(
                    ["市信访局", "市人民政府信访接待中心", "省信访局"][(id.0 / 12 % 3) as usize]
                        .into(),
                ),
            },
        ),
        channel,
        kind,
        urgency,
        category: Some(*cat),
        title: format!("{phrase}问题"),
        content: format!("{}{opener}，{detail}。", who_raised(channel)),
        place: Place {
            address,
            township: Some(township),
            village: Some(village),
            grid: Some(grid),
            coordinates: Some((
                115.0 + rng.gen_range(0.0..0.6),
                27.0 + rng.gen_range(0.0..0.5),
            )),
        },
        citizen: Citizen {
            name: Some(citizen_name),
            phone: Phone::parse(&random_phone(rng)).ok(),
            organisation: (channel == Channel::EnterpriseService)
                .then(|| "云溪县某某实业有限公司".to_string()),
        },
    };
    let registrar = match channel {
        Channel::GridReport | Channel::HouseholdVisit => {
            &cast.grid[rng.gen_range(0..cast.grid.len())]
        }
        _ => &cast.operators[rng.gen_range(0..cast.operators.len())],
    };
    let (appeal, first) = Appeal::register(id, number, new, registrar, at, ctx).ok()?;
    let mut s = Story {
        appeal,
        records: vec![first],
        ctx,
        now,
        stopped: false,
    };
    let dispatcher = cast.dispatchers[rng.gen_range(0..cast.dispatchers.len())].clone();
    let visitor = cast.visitors[rng.gen_range(0..cast.visitors.len())].clone();
    let fast = urgency != Urgency::Normal;
    let mut t = at;

    // Consultations are often answered on the spot.
    if kind == Kind::Consultation && registrar.role == Role::Operator && rng.gen_bool(0.6) {
        t = later(t, rng.gen_range(0.02..0.2));
        s.step(
            Command::AnswerAtIntake {
                answer: format!(
                    "已向{}解答{phrase}相关政策，并告知办理地点和所需材料。",
                    who_raised(channel)
                ),
            },
            registrar,
            t,
        );
        visit_and_close(&mut s, rng, &visitor, &dispatcher, &mut t);
        return Some(s.records);
    }

    // Dispatch: usually within hours; a few linger.
    t = later(
        t,
        if fast {
            rng.gen_range(0.1..0.8)
        } else if rng.gen_bool(0.04) {
            rng.gen_range(10.0..40.0)
        } else {
            rng.gen_range(0.2..6.0)
        },
    );
    let township_matter = depts.is_empty() || rng.gen_bool(0.45);
    let mut lead = if township_matter {
        township
    } else {
        depts[rng.gen_range(0..depts.len())]
    };
    // A few orders go to the wrong unit first.
    let misrouted = rng.gen_bool(0.06);
    let first_lead = if misrouted {
        c.departments[rng.gen_range(0..c.departments.len())]
    } else {
        lead
    };
    if first_lead == lead && misrouted {
        lead = township;
    }
    let assisting = if rng.gen_bool(0.12) {
        vec![c.departments[rng.gen_range(0..c.departments.len())]]
            .into_iter()
            .filter(|u| *u != first_lead)
            .collect()
    } else {
        vec![]
    };
    if !s.step(
        Command::Dispatch {
            lead: first_lead,
            assisting: assisting.clone(),
            note: "请按期办理并答复群众".into(),
        },
        &dispatcher,
        t,
    ) {
        return Some(s.records);
    }
    let mut handler = cast.handler_of.get(&first_lead)?.clone();
    if misrouted {
        t = later(
            t,
            if fast {
                rng.gen_range(0.1..0.8)
            } else {
                rng.gen_range(0.5..10.0)
            },
        );
        let returned = s.attempt(
            Command::Return {
                reason: "经核实，该事项不属于本单位职责范围，建议转属地乡镇或主管部门办理".into(),
            },
            &handler,
            t,
        );
        t = later(t, rng.gen_range(0.3..4.0));
        if !returned {
            // Too late to return: the unit handles it.
        } else if rng.gen_bool(0.8) && first_lead != lead {
            s.step(
                Command::DecideReturn {
                    accept: true,
                    note: "同意退回，已改派".into(),
                    redispatch: Some((
                        lead,
                        assisting.iter().copied().filter(|u| *u != lead).collect(),
                    )),
                },
                &dispatcher,
                t,
            );
            handler = cast.handler_of.get(&lead)?.clone();
        } else {
            s.step(
                Command::DecideReturn {
                    accept: false,
                    note: "该事项属本单位职责，请继续办理".into(),
                    redispatch: None,
                },
                &dispatcher,
                t,
            );
        }
    }
    let lead_now = s.appeal.lead?;
    // Signing: mostly prompt, sometimes late.
    t = later(
        t,
        if fast {
            rng.gen_range(0.05..1.5)
        } else if rng.gen_bool(0.08) {
            rng.gen_range(20.0..60.0)
        } else {
            rng.gen_range(0.1..6.0)
        },
    );
    let signed = s.appeal.status == bihuan_domain::Status::Dispatched
        && s.step(Command::Sign { owner: None }, &handler, t);
    let signed_at = t;
    t = later(t, rng.gen_range(0.2..8.0));
    if signed {
        s.receipt(&handler, signed_at, t);
    }
    s.step(
        Command::Contact {
            note: "已电话联系群众，了解详细情况".into(),
        },
        &handler,
        t,
    );
    if rng.gen_bool(0.3) {
        let by = local_date(t) + Duration::days(rng.gen_range(2..7));
        s.step(
            Command::Commit {
                commitment: Commitment {
                    what: format!("{}前处理完毕并答复", by.format("%m月%d日")),
                    by,
                    citizen_part: Some("配合现场核实".into()),
                },
            },
            &handler,
            t,
        );
    }
    // Assisting units send their opinions to the lead: mostly in time, some late, a few never.
    let asked: Vec<UnitId> = s.appeal.current_assists().map(|t| t.unit).collect();
    let mut opinion_at = t;
    for u in asked {
        let Some(h) = cast.handler_of.get(&u) else {
            continue;
        };
        if rng.gen_bool(0.08) {
            continue;
        }
        let hours = if fast {
            rng.gen_range(0.5..8.0)
        } else if rng.gen_bool(0.12) {
            rng.gen_range(30.0..90.0)
        } else {
            rng.gen_range(1.0..20.0)
        };
        let at = later(t, hours);
        s.step(
            Command::AssistOpinion {
                opinion: format!(
                    "经本单位核查，{phrase}问题涉及本单位职责的部分已安排专人跟进，建议主办单位会同属地现场处置，本单位全力配合。"
                ),
            },
            h,
            at,
        );
        opinion_at = opinion_at.max(at.min(now));
    }
    t = opinion_at;
    // A township sometimes blows the whistle to the departments it needs.
    let kind_of = |u: UnitId| c.units.iter().find(|x| x.id == u).map(|x| x.kind);
    if kind_of(lead_now) == Some(UnitKind::Township) && !depts.is_empty() && rng.gen_bool(0.12) {
        let called: Vec<UnitId> = depts.iter().take(2).copied().collect();
        t = later(t, rng.gen_range(0.5..4.0));
        if s.step(
            Command::Whistle {
                units: called.clone(),
                matter: format!("{phrase}问题需部门到场协同处置"),
            },
            &handler,
            t,
        ) {
            let no = s.appeal.whistles.len() as u32;
            let mut rt = t;
            for u in called {
                if let Some(h) = cast.handler_of.get(&u) {
                    let slow = if rng.gen_bool(0.15) { 30.0 } else { 6.0 };
                    rt = later(rt, rng.gen_range(0.3..slow));
                    s.step(
                        Command::ReportIn {
                            whistle: no,
                            note: "已派员到场".into(),
                        },
                        h,
                        rt,
                    );
                }
            }
            t = t.max(rt.min(now));
        }
    }
    // Some units ask for more time.
    if rng.gen_bool(0.05) {
        t = later(t, rng.gen_range(2.0..20.0));
        let limit = if petition {
            Limit::CalendarDays(rng.gen_range(10..30))
        } else if fast {
            Limit::Hours(rng.gen_range(4..24))
        } else {
            Limit::WorkingDays(rng.gen_range(2..8))
        };
        if s.attempt(
            Command::RequestExtension {
                limit,
                reason: "需协调多个部门，现场处置需要时间".into(),
            },
            &handler,
            t,
        ) {
            t = later(t, rng.gen_range(0.5..8.0));
            let approve = rng.gen_bool(0.85);
            s.step(
                Command::DecideExtension {
                    approve,
                    note: if approve {
                        String::new()
                    } else {
                        "理由不充分，请按原期限办理".into()
                    },
                },
                &dispatcher,
                t,
            );
        }
    }
    // A small share never gets a reply: the overdue backlog supervisors chase.
    if rng.gen_bool(0.006) {
        if now - at > Duration::days(10) {
            s.step(
                Command::Supervise {
                    reason: bihuan_domain::lifecycle::SuperviseReason::LeaderOrder,
                    note: "请尽快办理，逾期将通报".into(),
                },
                &cast.supervisor,
                later(t, 72.0),
            );
        }
        return Some(s.records);
    }
    // The reply: a median of about 2–3 working days, some late.
    let reply_hours = if fast {
        rng.gen_range(1.0..10.0)
    } else if rng.gen_bool(0.07) {
        rng.gen_range(60.0..200.0)
    } else {
        rng.gen_range(3.0..90.0)
    };
    let mut rounds = 0;
    loop {
        rounds += 1;
        t = later(t, reply_hours / f64::from(rounds));
        let result = [
            ReplyResult::Resolved,
            ReplyResult::PartlyResolved,
            ReplyResult::Unresolvable,
        ][pick(rng, &[85, 10, 5])];
        let reply = Reply {
            result,
            reason: (result != ReplyResult::Resolved).then(|| "受客观条件限制，已向群众解释说明并提出后续安排".to_string()),
            text: format!("经核实，{who}反映的{phrase}问题情况属实。我单位已安排工作人员现场处理，{}。已将处理情况告知{who}。", if result == ReplyResult::Resolved { "问题已解决" } else { "已部分解决，剩余问题已纳入计划" }, who = who_raised(channel)),
            petition_outcome: petition.then_some([PetitionOutcome::Support, PetitionOutcome::Explain, PetitionOutcome::NotSupported][pick(rng, &[5, 4, 1])]),
            attachments: vec![],
        };
        if !s.step(Command::Reply(reply), &handler, t) {
            return Some(s.records);
        }
        let replied_at = t;
        // Return visit and rating.
        t = later(t, rng.gen_range(2.0..30.0));
        s.receipt(&handler, replied_at, t);
        let contacted = rng.gen_bool(0.92);
        let rating = if !contacted {
            None
        } else {
            Some([Rating::Satisfied, Rating::Basic, Rating::Unsatisfied][pick(rng, &[78, 14, 8])])
        };
        let visit = ReturnVisit {
            contacted,
            resolved: rating
                .map(|r| r != Rating::Unsatisfied && result != ReplyResult::Unresolvable),
            rating,
            comment: match rating {
                Some(Rating::Unsatisfied) => "群众表示问题未解决".into(),
                Some(_) => "群众认可处理结果".into(),
                None => "三次拨打电话无人接听".into(),
            },
        };
        if !s.step(Command::ReturnVisit(visit), &visitor, t) {
            return Some(s.records);
        }
        if rating == Some(Rating::Unsatisfied) && rounds < 3 && rng.gen_bool(0.7) {
            t = later(t, rng.gen_range(0.2..3.0));
            if !s.step(
                Command::Redo {
                    cause: RedoCause::Unsatisfied,
                    reason: "群众不满意，请重新办理".into(),
                },
                &visitor,
                t,
            ) {
                return Some(s.records);
            }
            continue;
        }
        t = later(t, rng.gen_range(0.1..4.0));
        let note = if rating == Some(Rating::Unsatisfied) {
            "已尽力解释，群众诉求超出政策范围"
        } else {
            ""
        };
        s.step(Command::Close { note: note.into() }, &dispatcher, t);
        break;
    }
    Some(s.records)
}

fn visit_and_close(
    s: &mut Story<'_>,
    rng: &mut StdRng,
    visitor: &Actor,
    dispatcher: &Actor,
    t: &mut Instant,
) {
    *t = later(*t, rng.gen_range(4.0..30.0));
    let contacted = rng.gen_bool(0.9);
    let rating = contacted.then(|| {
        if rng.gen_bool(0.9) {
            Rating::Satisfied
        } else {
            Rating::Basic
        }
    });
    s.step(
        Command::ReturnVisit(ReturnVisit {
            contacted,
            resolved: rating.map(|_| true),
            rating,
            comment: String::new(),
        }),
        visitor,
        *t,
    );
    *t = later(*t, rng.gen_range(0.1..2.0));
    s.step(
        Command::Close {
            note: String::new(),
        },
        dispatcher,
        *t,
    );
}

/// Today's instant for the demo: the real clock, whole seconds.
pub fn now() -> Instant {
    let n = chrono::Utc::now();
    chrono::Utc
        .timestamp_opt(n.timestamp(), 0)
        .single()
        .unwrap_or(n)
}

/// The dispatch centre's and a leader's saved list filters (我的筛选), so the demo's list shows
/// them: saved through the same aggregate as the console's form.
pub async fn save_filters(store: &Arc<dyn Store>, now: Instant) -> anyhow::Result<()> {
    use bihuan_domain::saved_filter::{SavedFilter, SavedFilterCommand};
    let users = store.users().await?;
    let catalog = store.catalog();
    let township = catalog
        .org
        .units()
        .find(|u| u.kind == bihuan_domain::org::UnitKind::Township)
        .map(|u| (u.id.0, u.name.clone()));
    let mut wanted: Vec<(&str, String, String)> = vec![
        (
            "dispatch1",
            "待交办".into(),
            "status=pending_dispatch&sort=due:dispatch".into(),
        ),
        (
            "dispatch1",
            "超期未办结".into(),
            "overdue=true&sort=due".into(),
        ),
        (
            "leader1",
            "本月投诉".into(),
            "kind=complaint&sort=newest".into(),
        ),
    ];
    if let Some((id, name)) = township {
        wanted.push((
            "dispatch1",
            format!("{name}临期"),
            format!("township={id}&due_soon=true&sort=due"),
        ));
    }
    for (login, name, query) in wanted {
        let Some(actor) = actor_of(&users, &catalog, login) else {
            continue;
        };
        bihuan_store::aggregates::execute::<SavedFilter>(
            store.as_ref(),
            None,
            SavedFilterCommand::Save { name, query },
            actor,
            now,
            Some(0),
        )
        .await?;
    }
    Ok(())
}

/// The regulation's later steps on some of the demo's petitions, written through the store as
/// the console writes them: 复查 of opinions the petitioners did not accept (by 县信访局 for the
/// county government, or by the competent county department for a township's opinion), 复核 of
/// some 复查 by 县信访局 with one hearing, a later petition on the same matter after a final
/// 复核 (offered 不再受理), repeat petitions linked to the case accepted before (重复信访), and
/// petitions not accepted (不予受理告知书). Returns how many review cases it opened, how many
/// petitions it declined and how many repeats it linked.
pub async fn petitions(
    store: &Arc<dyn Store>,
    now: Instant,
) -> anyhow::Result<(usize, usize, usize)> {
    use bihuan_domain::lifecycle::{DeclineGround, DocumentKind, ReviewRequest, Status};
    use bihuan_store::AppealFilter;
    let users = store.users().await?;
    let catalog = store.catalog();
    let org = &catalog.org;
    let Some(office) = org.units().find(|u| u.name == "县信访局").map(|u| u.id) else {
        return Ok((0, 0, 0));
    };
    let handler = |unit: UnitId| {
        users
            .iter()
            .find(|u| u.unit == unit && matches!(u.role, Role::Handler | Role::UnitLeader))
            .map(|u| catalog.actor(u))
    };
    let Some(centre) = actor_of(&users, &catalog, "dispatch1") else {
        return Ok((0, 0, 0));
    };
    let departments: Vec<UnitId> = org
        .units()
        .filter(|u| u.kind == bihuan_domain::org::UnitKind::Department && u.id != office)
        .map(|u| u.id)
        .collect();
    let mut closed = Vec::new();
    let mut cursor = None;
    loop {
        let filter = AppealFilter {
            regime: Some(bihuan_domain::Regime::Petition),
            status: vec![Status::Closed],
            ..Default::default()
        };
        let page = store.list(filter, cursor, 500).await?;
        closed.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    // Opinions received and not supported (or only explained), oldest first: the petitioners
    // who would ask for a review.
    closed.retain(|a| {
        a.declined.is_none()
            && a.review.is_none()
            && a.reply.as_ref().and_then(|r| r.petition_outcome) != Some(PetitionOutcome::Support)
            && a.documents
                .iter()
                .any(|d| d.kind == DocumentKind::Opinion && d.received_on.is_some())
    });
    closed.sort_by_key(|a| a.registered_at);
    let step = closed.len().max(1) / 18;
    // The petitioners who write again on the same matter (重复信访): others than those asking
    // for a review, taken between them.
    let again: Vec<Appeal> = closed
        .iter()
        .skip(step.max(2) / 2)
        .step_by(step.max(1))
        .take(14)
        .cloned()
        .collect();
    let chosen: Vec<Appeal> = closed.into_iter().step_by(step.max(1)).take(18).collect();
    let reply = |outcome| {
        Command::Reply(Reply {
            result: ReplyResult::PartlyResolved,
            reason: Some("原处理意见认定事实清楚、适用政策正确".into()),
            text: "经复查（复核），原处理意见认定事实清楚，适用政策正确，处理适当；对信访人提出的新情况已责成原办理单位一并答复。".into(),
            petition_outcome: Some(outcome),
            attachments: vec![],
        })
    };
    let day = |t: Instant, days: i64| t + Duration::days(days);
    let mut opened = 0;
    let mut finals = Vec::new();
    // Runs one stage: the request, signing, the opinion and its receipt, then closing. Returns
    // the review case as it stands at `now`.
    #[allow(clippy::too_many_arguments)]
    async fn stage(
        store: &Arc<dyn Store>,
        reviewed: &Appeal,
        reviewer: UnitId,
        request: &str,
        at: Instant,
        now: Instant,
        actors: (&Actor, &Actor),
        reply: Command,
        hearing: bool,
    ) -> anyhow::Result<Option<Appeal>> {
        let (centre, handler) = actors;
        let day = |t: Instant, days: i64| t + Duration::days(days);
        if at > now {
            return Ok(None);
        }
        let req = ReviewRequest {
            request: request.into(),
            requested_on: local_date(at),
            reviewer: Some(reviewer),
        };
        let Ok(opened) = store
            .request_review(reviewed.id, req, reviewer, centre.clone(), at, None)
            .await
        else {
            return Ok(None);
        };
        let mut a = opened.review;
        let id = a.id;
        let mut t = day(at, 1);
        let go = |cmd: Command, who: &Actor, when: Instant| {
            let store = store.clone();
            let who = who.clone();
            async move {
                if when > now {
                    return None;
                }
                store
                    .act(AppealRef::Id(id), cmd, who, when, None)
                    .await
                    .ok()
            }
        };
        if let Some(n) = go(Command::Sign { owner: None }, handler, t).await {
            a = n;
        } else {
            return Ok(Some(a));
        }
        if hearing {
            t = day(t, 6);
            match go(
                Command::StartHearing {
                    reason: "信访人对事实认定有异议，邀请人大代表、律师和群众代表参加公开听证"
                        .into(),
                },
                handler,
                t,
            )
            .await
            {
                Some(n) => a = n,
                None => return Ok(Some(a)),
            }
            t = day(t, 2);
            match go(
                Command::EndHearing {
                    note: "听证会认为原复查意见事实清楚，形成听证报告".into(),
                },
                handler,
                t + Duration::hours(6),
            )
            .await
            {
                Some(n) => a = n,
                None => return Ok(Some(a)),
            }
        }
        t = day(t, 10);
        match go(reply, handler, t).await {
            Some(n) => a = n,
            None => return Ok(Some(a)),
        }
        let doc = a.documents.last().map(|d| d.version);
        t = day(t, 3);
        if let Some(doc) = doc {
            if let Some(n) = go(
                Command::RecordReceipt {
                    document: doc,
                    received_on: local_date(t),
                },
                handler,
                t,
            )
            .await
            {
                a = n;
            }
        }
        if let Some(n) = go(
            Command::Close {
                note: "意见书已送达信访人".into(),
            },
            centre,
            day(t, 1),
        )
        .await
        {
            a = n;
        }
        Ok(Some(a))
    }
    for (i, a) in chosen.iter().enumerate() {
        let Some(lead) = a.lead else { continue };
        let Some(got) = a
            .documents
            .iter()
            .rev()
            .find(|d| d.kind == DocumentKind::Opinion)
            .and_then(|d| d.received_on)
        else {
            continue;
        };
        let township = org
            .get(lead)
            .is_some_and(|u| u.kind == bihuan_domain::org::UnitKind::Township);
        // A township's opinion is rechecked by a county department, a department's by 县信访局.
        let reviewer = if township {
            departments[i % departments.len().max(1)]
        } else {
            office
        };
        let (Some(rh), Some(oh)) = (handler(reviewer), handler(office)) else {
            continue;
        };
        let at = bihuan_domain::time::start_of_day(got) + Duration::days(5) + Duration::hours(10);
        let at = at.max(a.last_at + Duration::hours(2));
        let Some(recheck) = stage(
            store,
            a,
            reviewer,
            "对处理意见不服：认为原办理单位未核实其提供的新材料，请求复查。",
            at,
            now,
            (&centre, &rh),
            reply(PetitionOutcome::NotSupported),
            false,
        )
        .await?
        else {
            continue;
        };
        opened += 1;
        // Half of a township's 复查 go on to 复核 at 县信访局, one with a hearing.
        if township && i % 2 == 0 {
            let Some(got) = recheck
                .documents
                .iter()
                .find(|d| d.kind == DocumentKind::RecheckOpinion)
                .and_then(|d| d.received_on)
            else {
                continue;
            };
            let at =
                bihuan_domain::time::start_of_day(got) + Duration::days(6) + Duration::hours(9);
            let at = at.max(recheck.last_at + Duration::hours(2));
            if let Some(rr) = stage(
                store,
                &recheck,
                office,
                "对复查意见仍不服，请求复核。",
                at,
                now,
                (&centre, &oh),
                reply(PetitionOutcome::NotSupported),
                finals.is_empty(),
            )
            .await?
            {
                opened += 1;
                if rr
                    .documents
                    .iter()
                    .any(|d| d.kind == DocumentKind::RereviewOpinion)
                {
                    finals.push((a.clone(), rr));
                }
            }
        }
    }
    // After a final 复核: the petitioner writes again on the same matter; one is declined as
    // 不再受理, the other waits at the township with the offer on its page.
    let mut declined = 0;
    for (k, (original, rr)) in finals.iter().take(2).enumerate() {
        let at = later(day(now, -2 + k as i64), 0.5).min(now);
        if at <= rr.last_at {
            continue;
        }
        let new = NewAppeal {
            channel: Channel::Letter,
            kind: original.kind,
            urgency: original.urgency,
            category: original.category,
            title: original.title.clone(),
            content: format!(
                "{}（信访人再次来信，事实和理由与前次相同）",
                original.content
            ),
            place: original.place.clone(),
            citizen: original.citizen.clone(),
            accused_units: original.accused_units.clone(),
            accused_persons: vec![],
            group: None,
            forwarded_from: None,
            repeat_of: None,
        };
        // Linked to the matter accepted before, as the registration use case links it.
        let Ok(new) = bihuan_server::app::link_repeat(store.as_ref(), new, at).await else {
            continue;
        };
        let Ok(r) = store.register(new, centre.clone(), at, None).await else {
            continue;
        };
        let Some(lead) = original.lead else { continue };
        let Ok(d) = store
            .act(
                AppealRef::Id(r.appeal.id),
                Command::Dispatch {
                    lead,
                    assisting: vec![],
                    note: "前次同一事项已复核终结，请审查是否受理".into(),
                },
                centre.clone(),
                at + Duration::hours(1),
                None,
            )
            .await
        else {
            continue;
        };
        if k == 0 {
            if let Some(h) = handler(lead) {
                let ok = store
                    .act(
                        AppealRef::Id(d.id),
                        Command::Decline {
                            ground: DeclineGround::FinalAfterReview,
                            reason: "信访人以同一事实和理由再次提出信访请求，该事项已经复核终结".into(),
                            route: "该事项已复核终结，本机关不再受理；信访人可依法通过其他法定途径主张权利".into(),
                            prior: Some(rr.number),
                        },
                        h,
                        (at + Duration::hours(3)).min(now),
                        None,
                    )
                    .await
                    .is_ok();
                declined += usize::from(ok);
            }
        }
    }
    // 重复信访 (Art 19): petitioners not satisfied with an opinion write or come again on the
    // same matter two to six weeks after the close; each is linked to the case accepted before
    // (the registration use case's rule) and goes to the same unit, which signs for it.
    let mut repeats = 0;
    for (k, original) in again.iter().enumerate() {
        let (Some(closed), Some(lead)) = (original.closed_at, original.lead) else {
            continue;
        };
        let at = later(day(closed, 14 + 3 * k as i64), 0.4);
        if at >= now {
            continue;
        }
        let new = NewAppeal {
            channel: if k % 3 == 0 {
                Channel::InPerson
            } else {
                Channel::Letter
            },
            kind: original.kind,
            urgency: original.urgency,
            category: original.category,
            title: format!("再次反映：{}", original.title)
                .chars()
                .take(200)
                .collect(),
            content: format!(
                "信访人称前次答复后问题仍未解决，再次反映：{}",
                original.content
            ),
            place: original.place.clone(),
            citizen: original.citizen.clone(),
            accused_units: original.accused_units.clone(),
            accused_persons: vec![],
            group: None,
            forwarded_from: None,
            repeat_of: None,
        };
        let Ok(new) = bihuan_server::app::link_repeat(store.as_ref(), new, at).await else {
            continue;
        };
        let Ok(r) = store.register(new, centre.clone(), at, None).await else {
            continue;
        };
        repeats += usize::from(r.appeal.is_repeat());
        let t = at + Duration::hours(2);
        if t >= now {
            continue;
        }
        let Ok(d) = store
            .act(
                AppealRef::Id(r.appeal.id),
                Command::Dispatch {
                    lead,
                    assisting: vec![],
                    note: "同一信访人就同一事项再次信访，请结合前次办理情况处理".into(),
                },
                centre.clone(),
                t,
                None,
            )
            .await
        else {
            continue;
        };
        let t = later(day(t, 1), 0.3);
        let Some(h) = handler(lead) else { continue };
        // Signed the next working day; the older ones answered (解释说明: the earlier
        // decision stands, with what was checked again), received and closed.
        let id = d.id;
        let step = |cmd: Command, who: Actor, when: Instant| {
            let store = store.clone();
            async move {
                if when >= now {
                    return None;
                }
                store
                    .act(AppealRef::Id(id), cmd, who, when, None)
                    .await
                    .ok()
            }
        };
        if step(Command::Sign { owner: None }, h.clone(), t)
            .await
            .is_none()
        {
            continue;
        }
        let t = later(day(t, 1), 2.0);
        if step(
            Command::Contact {
                note: "电话联系信访人，听取再次反映的情况".into(),
            },
            h.clone(),
            t,
        )
        .await
        .is_none()
        {
            continue;
        }
        // 调解贯穿信访全过程 (the seed): half the repeated claims end in an agreement (Art 33),
        // then an opinion that supports it; the others are explained again.
        let mediated = original.kind == Kind::PetitionClaim && k % 2 == 0;
        let mut t = later(day(t, 9 + (k % 4) as i64), 1.0);
        if mediated {
            let who = original
                .citizen
                .name
                .clone()
                .unwrap_or_else(|| "信访人".into());
            let agreement = if k % 4 == 0 {
                bihuan_domain::lifecycle::AgreementKind::Mediation
            } else {
                bihuan_domain::lifecycle::AgreementKind::Settlement
            };
            if step(
                Command::RecordAgreement {
                    agreement,
                    parties: format!("信访人{who}；被反映单位（相关企业）"),
                    terms: [
                        "被反映单位于本月底前一次性支付所欠款项，信访人不再就此事项提出其他请求。",
                        "双方同意按原约定标准结算，差额分两期支付，第一期于十日内支付，村（社区）监督履行。",
                    ][k / 2 % 2]
                        .into(),
                },
                h.clone(),
                t,
            )
            .await
            .is_none()
            {
                continue;
            }
            t = later(day(t, 3), 1.0);
        }
        let reply = if mediated {
            Reply {
                result: ReplyResult::Resolved,
                reason: None,
                text: "经调解，双方达成协议并已签署协议书，信访人的合理诉求已按协议解决。".into(),
                petition_outcome: Some(PetitionOutcome::Support),
                attachments: vec![],
            }
        } else {
            Reply {
                result: ReplyResult::Unresolvable,
                reason: Some("前次处理意见认定事实清楚、适用政策正确".into()),
                text: "经再次核实，前次答复所依据的事实和政策未发生变化，已向信访人当面解释说明，并告知复查途径。".into(),
                petition_outcome: Some(PetitionOutcome::Explain),
                attachments: vec![],
            }
        };
        let Some(replied) = step(Command::Reply(reply), h.clone(), t).await else {
            continue;
        };
        let t = day(t, 3);
        if let Some(doc) = replied.documents.last().map(|x| x.version) {
            let _ = step(
                Command::RecordReceipt {
                    document: doc,
                    received_on: local_date(t),
                },
                h.clone(),
                t,
            )
            .await;
        }
        let _ = step(
            Command::Close {
                note: "意见书已送达信访人".into(),
            },
            centre.clone(),
            day(t, 1),
        )
        .await;
    }
    // Petitions outside the remit, declined with where to go (Arts 23, 31): letters of the
    // last fortnight, each decided on by the unit it was sent to the next working day.
    let outside: [(&str, &str, DeclineGround, &str, &str); 4] = [
        (
            "拖欠工资请求责令支付",
            "信访人反映在某建筑工地务工，包工头拖欠工资三个月共计两万余元，请求政府责令支付。",
            DeclineGround::StatutoryRoute,
            "该请求系劳动报酬争议，依法应当通过劳动争议仲裁解决",
            "请持劳动合同、考勤记录等材料向县劳动人事争议仲裁委员会申请仲裁；对仲裁裁决不服的，可以向人民法院提起诉讼。",
        ),
        (
            "对民事判决不服请求改判",
            "信访人对县人民法院关于相邻通行纠纷的民事判决不服，请求政府出面改判。",
            DeclineGround::StatutoryRoute,
            "该请求系对人民法院生效裁判不服，属于诉讼途径解决的事项",
            "请依照《中华人民共和国民事诉讼法》向作出判决的人民法院或其上一级人民法院申请再审。",
        ),
        (
            "邻县企业排污请求查处",
            "信访人反映邻县某化工企业向界河排污，请求本县查处。",
            DeclineGround::NotOurRemit,
            "被反映企业位于邻县，其环境监管不属于本机关法定职权范围",
            "请向该企业所在地县级人民政府或其生态环境主管部门提出。",
        ),
        (
            "交通事故赔偿请求政府垫付",
            "信访人反映交通事故对方拒不赔偿，请求政府先行垫付医疗费。",
            DeclineGround::AlreadyHandled,
            "该事故已由公安交通管理部门作出责任认定，赔偿争议正由人民法院审理",
            "请通过正在进行的诉讼程序主张赔偿；符合条件的，可向县法律援助中心申请法律援助。",
        ),
    ];
    let leads: Vec<UnitId> = departments.iter().copied().take(4).collect();
    for (k, (title, content, ground, reason, route)) in outside.iter().enumerate() {
        let Some(lead) = leads.get(k % leads.len().max(1)).copied() else {
            break;
        };
        let Some(h) = handler(lead) else { continue };
        let at = later(day(now, -14 + 3 * k as i64), 1.0).min(now);
        let new = NewAppeal {
            channel: Channel::Letter,
            kind: Kind::PetitionClaim,
            urgency: Urgency::Normal,
            category: None,
            title: (*title).into(),
            content: (*content).into(),
            place: Place::default(),
            citizen: Citizen {
                name: Some(["王建国", "刘桂英", "陈志强", "赵秀兰"][k].into()),
                phone: Phone::parse(&format!("1390735{:04}", 2_100 + k)).ok(),
                organisation: None,
            },
            accused_units: vec![],
            accused_persons: vec![],
            group: None,
            forwarded_from: None,
            repeat_of: None,
        };
        let Ok(r) = store.register(new, centre.clone(), at, None).await else {
            continue;
        };
        let dispatched = store
            .act(
                AppealRef::Id(r.appeal.id),
                Command::Dispatch {
                    lead,
                    assisting: vec![],
                    note: "请审查是否属于受理范围".into(),
                },
                centre.clone(),
                later(at, 2.0).min(now),
                None,
            )
            .await;
        let Ok(d) = dispatched else { continue };
        let ok = store
            .act(
                AppealRef::Id(d.id),
                Command::Decline {
                    ground: *ground,
                    reason: (*reason).into(),
                    route: (*route).into(),
                    prior: None,
                },
                h,
                later(d.last_at, 20.0).min(now),
                None,
            )
            .await
            .is_ok();
        declined += usize::from(ok);
    }
    Ok((opened, declined, repeats))
}

/// 领导接访 and 包案 (信访工作条例 Art 18) in the demo county: the county leader's reception
/// days on the days some in-person petitions came (each received there and the day closed
/// with its summary), one day announced for next week, and three open petitions the leader
/// took personally with what was done on them. Written through the aggregate store as the
/// console writes them. Returns (reception days, cases).
pub async fn leaders(store: &Arc<dyn Store>, now: Instant) -> anyhow::Result<(usize, usize)> {
    use bihuan_domain::leaders::{LeaderCase, LeaderCaseCommand, Reception, ReceptionCommand};
    use bihuan_domain::lifecycle::Status;
    use bihuan_store::{aggregates, AppealFilter};
    let users = store.users().await?;
    let catalog = store.catalog();
    let (Some(leader), Some(centre)) = (
        actor_of(&users, &catalog, "leader1"),
        actor_of(&users, &catalog, "dispatch1"),
    ) else {
        return Ok((0, 0));
    };
    // The generated year's petitions (not last year's archive), the newest first.
    let petitions = store
        .list(
            AppealFilter {
                regime: Some(bihuan_domain::Regime::Petition),
                from: Some(now - Duration::days(120)),
                ..Default::default()
            },
            None,
            500,
        )
        .await?
        .items;
    let in_person: Vec<&Appeal> = petitions
        .iter()
        .filter(|a| a.channel == Channel::InPerson && a.review.is_none())
        .filter(|a| a.registered_at < now - Duration::days(7))
        .collect();
    let mut days = 0;
    let places = ["县信访局接待大厅", "城关镇综治中心", "县人民来访接待中心"];
    let topics = [
        "征地拆迁、农村土地承包",
        "农民工工资、劳动保障",
        "住房保障、物业管理",
    ];
    let mut received: Vec<(u64, Appeal)> = Vec::new();
    for (k, a) in in_person.iter().step_by(9).take(3).enumerate() {
        let on = local_date(a.registered_at);
        let scheduled = aggregates::execute::<Reception>(
            store.as_ref(),
            None,
            ReceptionCommand::Schedule {
                leader: leader.user,
                leader_name: "罗志远".into(),
                post: "县委副书记".into(),
                on,
                place: places[k % 3].into(),
                topics: topics[k % 3].into(),
            },
            centre.clone(),
            a.registered_at - Duration::days(5),
            Some(0),
        )
        .await?;
        let id = scheduled.id;
        let mut version = scheduled.version;
        let mut count = 0;
        let mut last = a.registered_at;
        for b in in_person
            .iter()
            .filter(|b| local_date(b.registered_at) == on)
            .take(4)
        {
            let v = aggregates::execute::<Reception>(
                store.as_ref(),
                Some(id),
                ReceptionCommand::Receive {
                    appeal: b.id,
                    number: b.number,
                },
                centre.clone(),
                last.max(b.registered_at) + Duration::minutes(30),
                Some(version),
            )
            .await?;
            version = v.version;
            count += 1;
            last = last.max(b.registered_at) + Duration::minutes(30);
            received.push((id, (*b).clone()));
        }
        aggregates::execute::<Reception>(
            store.as_ref(),
            Some(id),
            ReceptionCommand::Close {
                summary: format!("接待来访群众{count}批，当场交办{count}件，对重点事项包案化解"),
            },
            leader.clone(),
            (bihuan_domain::time::end_of_day(on) - Duration::hours(6))
                .max(last + Duration::hours(1)),
            Some(version),
        )
        .await?;
        days += 1;
    }
    let next = local_date(now) + Duration::days(7);
    aggregates::execute::<Reception>(
        store.as_ref(),
        None,
        ReceptionCommand::Schedule {
            leader: leader.user,
            leader_name: "罗志远".into(),
            post: "县委副书记".into(),
            on: next,
            place: "县信访局接待大厅".into(),
            topics: "年底农民工工资支付、冬季供暖".into(),
        },
        centre.clone(),
        now - Duration::hours(2),
        Some(0),
    )
    .await?;
    days += 1;
    // 包案: open petitions, those received at a reception day first.
    let open = |a: &Appeal| {
        !a.status.is_terminal() && a.status != Status::PendingDispatch && a.review.is_none()
    };
    let mut chosen: Vec<(Option<u64>, Appeal)> = received
        .into_iter()
        .filter(|(_, a)| open(a))
        .map(|(r, a)| (Some(r), a))
        .take(2)
        .collect();
    for a in petitions.iter().filter(|a| open(a)) {
        if chosen.len() >= 3 {
            break;
        }
        if !chosen.iter().any(|(_, c)| c.id == a.id) {
            chosen.push((None, a.clone()));
        }
    }
    let mut cases = 0;
    for (k, (reception, a)) in chosen.iter().enumerate() {
        let at = (a.last_at + Duration::hours(3)).min(now);
        let taken = aggregates::execute::<LeaderCase>(
            store.as_ref(),
            None,
            LeaderCaseCommand::Take {
                appeal: a.id,
                number: a.number,
                plan: [
                    "约见信访人当面听取诉求，协调承办单位十个工作日内拿出解决方案",
                    "召集相关部门现场办公，明确责任分工和化解时限",
                    "每周听取一次办理进展，办结后回访信访人",
                ][k % 3]
                    .into(),
                reception: *reception,
            },
            leader.clone(),
            at,
            Some(0),
        )
        .await?;
        if at + Duration::hours(20) < now {
            aggregates::execute::<LeaderCase>(
                store.as_ref(),
                Some(taken.id),
                LeaderCaseCommand::Note {
                    text: "批示：请承办单位加快核实，三日内报送办理进展".into(),
                },
                leader.clone(),
                at + Duration::hours(20),
                Some(taken.version),
            )
            .await?;
        }
        cases += 1;
    }
    Ok((days, cases))
}

/// The seed's half-year change (今年上半年全县信访总量同比下降49.5%) in the demo county: the
/// petitions of the year before the generated one (1 January to the day the generated year
/// begins), as the 信访 archive the county brought with it — as many in the first half as
/// make this year's first half 49.5 % lower, and the rest of that year at the same daily rate.
/// Each is registered, assigned, accepted, answered with its 意见书 and closed, so last year's
/// rates and the annual report have real cases. Only petitions: the hotline's history starts
/// with the generated year. Returns (petitions, of which in the first half).
pub async fn last_years_petitions(
    store: &Arc<dyn Store>,
    c: &County,
    now: Instant,
) -> anyhow::Result<(usize, usize)> {
    use bihuan_domain::metrics::Period;
    use bihuan_domain::time::start_of_day;
    let this = local_date(now).year();
    let (Some(h1), Some(h1_before)) = (Period::half(this, 1), Period::half(this - 1, 1)) else {
        return Ok((0, 0));
    };
    let generated_from = now - Duration::days(365);
    if now < h1.end || generated_from > h1.start {
        // This year's first half is not over, or the generated year does not cover it.
        return Ok((0, 0));
    }
    // This year's first petitions in the first half, as the dashboard counts them (件次,
    // review cases included).
    let mut this_h1 = 0usize;
    let mut cursor = None;
    loop {
        let page = store
            .list(
                bihuan_store::AppealFilter {
                    regime: Some(bihuan_domain::Regime::Petition),
                    ..Default::default()
                },
                cursor,
                500,
            )
            .await?;
        this_h1 += page
            .items
            .iter()
            .filter(|a| h1.contains(a.registered_at))
            .count();
        match page.next_cursor {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    if this_h1 == 0 {
        return Ok((0, 0));
    }
    // −49.5 %: this year's is 50.5 % of last year's.
    let first_half = (this_h1 as f64 / 0.505).round() as usize;
    let span_h1 = (h1_before.end - h1_before.start).num_seconds();
    let rest_end = generated_from.min(h1.start);
    let span_rest = (rest_end - h1_before.end).num_seconds().max(0);
    let rest = (first_half as f64 * span_rest as f64 / span_h1 as f64).round() as usize;
    let users = store.users().await?;
    let catalog = store.catalog();
    let (Some(centre), Some(operator)) = (
        actor_of(&users, &catalog, "dispatch1"),
        actor_of(&users, &catalog, "operator1"),
    ) else {
        return Ok((0, 0));
    };
    let handler = |unit: UnitId| {
        users
            .iter()
            .find(|u| u.unit == unit && u.role == Role::Handler)
            .map(|u| catalog.actor(u))
    };
    let kinds = [
        Kind::PetitionClaim,
        Kind::PetitionOpinion,
        Kind::PetitionClaim,
        Kind::PetitionAccusation,
    ];
    let outcomes = [
        PetitionOutcome::Support,
        PetitionOutcome::Explain,
        PetitionOutcome::Support,
        PetitionOutcome::NotSupported,
    ];
    let mut made = 0;
    let total = first_half + rest;
    for i in 0..total {
        // Spread evenly over each span, on working hours.
        let (from, span, j, n) = if i < first_half {
            (h1_before.start, span_h1, i, first_half)
        } else {
            (h1_before.end, span_rest, i - first_half, rest)
        };
        let t = from + Duration::seconds(span * j as i64 / n.max(1) as i64);
        let at = start_of_day(local_date(t)) + Duration::hours(9 + (i % 8) as i64);
        let (cat, phrase, depts) = &c.leaves[(i * 7) % c.leaves.len()];
        let township = c.townships[i % c.townships.len()];
        let lead = if i % 3 == 0 {
            depts.first().copied().unwrap_or(township)
        } else {
            township
        };
        let tname = c
            .units
            .iter()
            .find(|u| u.id == township)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        let kind = kinds[i % kinds.len()];
        let new = NewAppeal {
            channel: if i % 2 == 0 {
                Channel::Letter
            } else {
                Channel::InPerson
            },
            kind,
            urgency: Urgency::Normal,
            category: Some(*cat),
            title: format!("反映{phrase}问题"),
            content: format!("信访人反映{tname}{phrase}问题，请求有关部门依法处理。"),
            place: Place {
                address: tname.clone(),
                township: Some(township),
                ..Place::default()
            },
            citizen: Citizen {
                name: Some(format!(
                    "{}{}",
                    SURNAMES[(i / 3) % SURNAMES.len()],
                    GIVEN[(i / 7) % GIVEN.len()]
                )),
                phone: Phone::parse(&format!("139{:08}", 10_000_000 + i)).ok(),
                ..Citizen::default()
            },
            accused_units: vec![],
            accused_persons: vec![],
            group: None,
            forwarded_from: None,
            repeat_of: None,
        };
        let Ok(r) = store.register(new, operator.clone(), at, None).await else {
            continue;
        };
        made += 1;
        let Some(h) = handler(lead) else { continue };
        let id = r.appeal.id;
        let steps = [
            (
                Command::Dispatch {
                    lead,
                    assisting: vec![],
                    note: String::new(),
                },
                centre.clone(),
                at + Duration::hours(3),
            ),
            (Command::Sign { owner: None }, h.clone(), at + Duration::days(1)),
            (
                Command::Reply(Reply {
                    result: if outcomes[i % outcomes.len()] == PetitionOutcome::Support {
                        ReplyResult::Resolved
                    } else {
                        ReplyResult::Unresolvable
                    },
                    reason: Some("依据相关政策规定".into()),
                    text: format!("经调查核实，已就信访人反映的{phrase}问题依法作出处理，并向信访人当面说明。"),
                    petition_outcome: Some(outcomes[i % outcomes.len()]),
                    attachments: vec![],
                }),
                h.clone(),
                at + Duration::days(14 + (i % 20) as i64),
            ),
            (
                Command::Close {
                    note: "意见书已送达信访人".into(),
                },
                centre.clone(),
                at + Duration::days(18 + (i % 20) as i64),
            ),
        ];
        for (cmd, who, when) in steps {
            if store
                .act(AppealRef::Id(id), cmd, who, when, None)
                .await
                .is_err()
            {
                break;
            }
        }
    }
    Ok((made, first_half.min(made)))
}

/// 入户听诉's registry in the demo county: the two demo grid members' grids fully registered
/// (80 households each), every other grid a sample of six, with tags as a county records them
/// (独居老人, 低保户, 退役军人, 企业主). Written through the aggregate store as an import
/// writes them. Returns how many households it registered.
pub async fn households(store: &Arc<dyn Store>, c: &County, at: Instant) -> anyhow::Result<usize> {
    use bihuan_domain::household::{Household, HouseholdCommand, HouseholdFacts};
    use bihuan_store::aggregates;
    let users = store.users().await?;
    let catalog = store.catalog();
    let Some(keeper) = actor_of(&users, &catalog, "dispatch1") else {
        return Ok(0);
    };
    let full: Vec<UnitId> = ["grid1", "grid2"]
        .iter()
        .filter_map(|l| users.iter().find(|u| u.login == *l).map(|u| u.unit))
        .collect();
    let grids: Vec<UnitId> = c.grids.values().flatten().copied().collect();
    let mut made = 0;
    for (gi, grid) in grids.iter().enumerate() {
        let Ok(loc) = bihuan_server::households::locate(&catalog, grid.0) else {
            continue;
        };
        let place = catalog
            .org
            .get(loc.village.unwrap_or(loc.township))
            .map(|u| u.name.clone())
            .unwrap_or_default();
        let n = if full.contains(grid) { 80 } else { 6 };
        for i in 0..n {
            let k = gi * 100 + i;
            let mut tags = Vec::new();
            for (every, tag) in [
                (11, "独居老人"),
                (17, "低保户"),
                (23, "退役军人"),
                (29, "企业主"),
            ] {
                if k % every == 3 {
                    tags.push(tag.to_string());
                }
            }
            let facts = HouseholdFacts {
                address: format!("{place}{}组{}号", 1 + i / 20, 1 + i % 20),
                head: format!(
                    "{}{}",
                    SURNAMES[(k * 7 + 3) % SURNAMES.len()],
                    GIVEN[(k * 5 + 1) % GIVEN.len()]
                ),
                phone: Phone::parse(&format!("137{:08}", 20_000_000 + k)).ok(),
                members: if tags.iter().any(|t| t == "独居老人") {
                    1
                } else {
                    2 + (k % 4) as u32
                },
                tags,
            };
            aggregates::execute::<Household>(
                store.as_ref(),
                None,
                HouseholdCommand::Register { at: loc, facts },
                keeper.clone(),
                at,
                Some(0),
            )
            .await?;
            made += 1;
        }
    }
    Ok(made)
}

/// What [`visits`] made: the campaign's frozen households, the visits, the appeals raised and
/// how many of those closed.
pub struct VisitsMade {
    pub frozen: u64,
    pub visits: usize,
    pub appeals: usize,
    pub closed: usize,
}

/// 入户听诉 at the door in the demo county, through the same use cases as the console: cadres
/// assigned (the grid members their grids, a housing-bureau cadre a dozen households by name,
/// each township's staff the rest of its grids, the last township's grids left unassigned), a
/// campaign launched a month ago with a task per household, a few households registered since
/// (counted apart), visits over the weeks since with the needs found — answered on the spot or
/// raised as 入户走访 appeals, most of which have since closed the loop.
pub async fn visits(
    store: &Arc<dyn Store>,
    c: &County,
    now: Instant,
) -> anyhow::Result<VisitsMade> {
    use bihuan_domain::household::Household;
    use bihuan_domain::visits::{Cadence, CampaignPlan, VisitRule, VisitTask};
    use bihuan_server::visits as uc;
    let catalog = store.catalog();
    let cal = &catalog.calendar;
    let users = store.users().await?;
    let caller = |login: &str| -> Option<bihuan_server::auth::Caller> {
        let u = users.iter().find(|u| u.login == login)?.clone();
        let unit_kind = catalog.org.get(u.unit)?.kind;
        Some(bihuan_server::auth::Caller {
            actor: catalog.actor(&u),
            user: u,
            unit_kind,
        })
    };
    let (Some(centre), Some(grid1)) = (caller("dispatch1"), caller("grid1")) else {
        return Ok(VisitsMade {
            frozen: 0,
            visits: 0,
            appeals: 0,
            closed: 0,
        });
    };
    let start_day = cal.workday_on_or_after(local_date(now) - Duration::days(30))?;
    let start = cst()
        .from_local_datetime(&start_day.and_hms_opt(9, 0, 0).expect("9:00"))
        .single()
        .expect("CST has no gaps")
        .with_timezone(&chrono::Utc);
    let (app, clock) = demo_app(store, start).await?;
    let state = app.state();
    let s = store.as_ref();
    let fail = |e: bihuan_server::error::ApiError| anyhow::anyhow!("{}", e.message);

    // 三包.
    let mut carried = std::collections::HashSet::new();
    for login in ["grid1", "grid2"] {
        let Some(u) = users.iter().find(|u| u.login == login) else {
            continue;
        };
        carried.insert(u.unit);
        let b = uc::AssignBody {
            cadre: u.id.0,
            party_member: true,
            grids: vec![u.unit.0],
            households: vec![],
        };
        uc::assign(&state, &centre, b).await.map_err(fail)?;
    }
    let g1 = grid1.user.unit;
    let in_g1 =
        bihuan_store::aggregates::find::<Household>(s, "grid", &g1.0.to_string(), 0, 12).await?;
    if let Some(u) = users.iter().find(|u| u.login == "dept01") {
        let b = uc::AssignBody {
            cadre: u.id.0,
            party_member: true,
            grids: vec![],
            households: in_g1.iter().map(|h| h.id).collect(),
        };
        uc::assign(&state, &centre, b).await.map_err(fail)?;
    }
    let last = c.townships.len().saturating_sub(1);
    for (i, t) in c.townships.iter().enumerate().take(last) {
        let Some(u) = users
            .iter()
            .find(|u| u.login == format!("town{:02}", i + 1))
        else {
            continue;
        };
        let grids: Vec<u32> = c
            .villages
            .get(t)
            .into_iter()
            .flatten()
            .flat_map(|v| c.grids.get(v).into_iter().flatten())
            .filter(|g| !carried.contains(*g))
            .map(|g| g.0)
            .take(bihuan_domain::visits::ASSIGN_GRIDS_MAX)
            .collect();
        let b = uc::AssignBody {
            cadre: u.id.0,
            party_member: i % 2 == 0,
            grids,
            households: vec![],
        };
        uc::assign(&state, &centre, b).await.map_err(fail)?;
    }

    // The campaign, launched at its start.
    let plan = CampaignPlan {
        name: format!("{}年冬季入户听诉", start_day.year()),
        starts: start_day,
        ends: start_day + Duration::days(75),
        townships: vec![],
        grids: vec![],
        rules: vec![
            VisitRule {
                tag: None,
                cadence: Cadence::Once,
                within: 30,
            },
            VisitRule {
                tag: Some("独居老人".into()),
                cadence: Cadence::Monthly,
                within: 0,
            },
        ],
        topics: uc::DEFAULT_TOPICS.iter().map(|t| t.to_string()).collect(),
    };
    let camp = uc::plan(&state, &centre, plan).await.map_err(fail)?;
    let camp = uc::launch(&state, &centre, camp.id).await.map_err(fail)?;

    // A few households registered ten days in (new builds): visited too, counted apart.
    clock.set(start + Duration::days(10));
    for i in 0..6 {
        let req: bihuan_server::households::NewHousehold = serde_json::from_value(
            serde_json::json!({
                "grid": g1.0,
                "address": format!("新建安置小区{}栋{}号", 1 + i / 3, 101 + i % 3),
                "head": format!("{}{}", SURNAMES[(i * 5 + 2) % SURNAMES.len()], GIVEN[(i * 3 + 4) % GIVEN.len()]),
                "phone": format!("137{:08}", 30_000_000 + i),
                "members": 3,
                "tags": []
            }),
        )?;
        bihuan_server::households::register(&state, &grid1, req)
            .await
            .map_err(fail)?;
    }

    // The visits: each carried household met on a day of the month so far (most of them; a
    // township further out fewer), some first found not at home, a few declining.
    const NEEDS: [(&str, &str, &str); 10] = [
        ("村口路灯不亮，晚上出行不便", "appeal", "timed"),
        (
            "想了解城乡居民医保怎么续缴",
            "on_spot",
            "已告知可在手机上或到村便民服务点续缴",
        ),
        ("房屋漏雨，希望申请危房改造", "appeal", "coordinated"),
        ("家门口排水沟堵塞，下雨就积水", "appeal", "immediate"),
        ("老人行动不便，希望帮助办理高龄补贴", "appeal", "tracked"),
        (
            "询问孩子入学需要准备哪些材料",
            "on_spot",
            "已告知需户口簿、居住证明等材料及报名时间",
        ),
        ("与邻居因宅基地界址有矛盾", "appeal", "coordinated"),
        ("自来水水压低，用水高峰时常停水", "appeal", "timed"),
        (
            "咨询城乡居民养老保险缴费档次",
            "on_spot",
            "已讲解各缴费档次及政府补贴标准",
        ),
        ("希望在组里增设垃圾收集点", "appeal", "revisit"),
    ];
    let elapsed = cal
        .working_days_after(start_day, local_date(now) - Duration::days(1))?
        .max(1) as u64;
    let tasks =
        bihuan_store::aggregates::find_all::<VisitTask>(s, "campaign", &camp.id.to_string(), 0)
            .await?;
    let town_index = |t: UnitId| c.townships.iter().position(|x| *x == t).unwrap_or(0) as u64;
    // (when, household, cadre, outcome, need)
    let mut plan: Vec<(Instant, u64, u32, &str, Option<usize>)> = Vec::new();
    for t in &tasks {
        let Some(cadre) = t.state.cadre else { continue };
        let k = t.state.household;
        let h = k.wrapping_mul(2_654_435_761) % 100;
        if h >= 92 - 6 * town_index(t.state.at.township).min(6) {
            continue; // not yet visited
        }
        let day = cal.add_working_days(start_day, 1 + (k * 13 % elapsed) as u32)?;
        let at = cst()
            .from_local_datetime(
                &day.and_hms_opt(9 + (k % 8) as u32, (k * 7 % 60) as u32, 0)
                    .expect("time"),
            )
            .single()
            .expect("CST")
            .with_timezone(&chrono::Utc);
        if at >= now || at <= t.created_at + Duration::days(2) {
            continue;
        }
        if k % 7 == 0 {
            plan.push((at - Duration::days(2), k, cadre.0, "not_home", None));
        }
        let outcome = if k % 53 == 0 { "refused" } else { "met" };
        let need = (outcome == "met" && k % 6 == 1).then_some((k / 6) as usize % NEEDS.len());
        plan.push((at, k, cadre.0, outcome, need));
    }
    plan.sort_by_key(|p| (p.0, p.1));
    let mut made = VisitsMade {
        frozen: camp.campaign.frozen,
        visits: 0,
        appeals: 0,
        closed: 0,
    };
    let mut raised = Vec::new();
    for (i, (at, household, cadre, outcome, need)) in plan.into_iter().enumerate() {
        if at < start {
            continue;
        }
        let Some(u) = users.iter().find(|u| u.id.0 == cadre) else {
            continue;
        };
        let Some(who) = caller(&u.login) else {
            continue;
        };
        clock.set(at);
        let needs: Vec<uc::NeedInput> = need
            .map(|n| {
                let (text, handling, x) = NEEDS[n];
                let (answer, class) = if handling == "on_spot" {
                    (x, "")
                } else {
                    ("", x)
                };
                uc::NeedInput {
                    text: text.into(),
                    handling: handling.into(),
                    answer: answer.into(),
                    class: class.into(),
                }
            })
            .into_iter()
            .collect();
        let input: uc::VisitInput = uc::VisitInput {
            household,
            campaign: Some(camp.id),
            visited_at: None,
            outcome: serde_json::from_value(serde_json::Value::String(outcome.into()))?,
            heard: uc::DEFAULT_TOPICS
                .iter()
                .take(1 + i % 4)
                .map(|t| t.to_string())
                .collect(),
            note: match outcome {
                "not_home" => "家中无人，已留联系卡".into(),
                "refused" => "住户表示近期无诉求，不愿多谈".into(),
                _ => String::new(),
            },
            needs,
            return_visits: vec![],
            draft: format!("demo-{household}-{i}"),
        };
        let v = uc::record(&state, &who, input).await.map_err(fail)?;
        made.visits += 1;
        for n in &v.visit.needs {
            if let Some(a) = &n.appeal {
                raised.push((a.id, at, v.visit.at.township));
            }
        }
    }
    made.appeals = raised.len();

    // Most raised appeals have run the loop since: the township handles them (属地).
    let centre_actor = centre.actor.clone();
    let visitor = users
        .iter()
        .find(|u| u.role == Role::ReturnVisitor)
        .map(|u| catalog.actor(u));
    for (n, (id, at, township)) in raised.into_iter().enumerate() {
        if n % 5 == 4 {
            continue; // still being handled
        }
        let i = c.townships.iter().position(|t| *t == township).unwrap_or(0);
        let (Some(handler), Some(visitor)) =
            (caller(&format!("town{:02}", i + 1)), visitor.clone())
        else {
            continue;
        };
        let h = handler.actor.clone();
        let steps = [
            (
                Command::Dispatch {
                    lead: township,
                    assisting: vec![],
                    note: "入户走访收集，请属地办理".into(),
                },
                centre_actor.clone(),
                at + Duration::minutes(30),
            ),
            (
                Command::Sign { owner: None },
                h.clone(),
                at + Duration::minutes(50),
            ),
            (
                Command::Contact {
                    note: "已与住户当面沟通".into(),
                },
                h.clone(),
                at + Duration::hours(2),
            ),
            (
                Command::Reply(Reply {
                    result: ReplyResult::Resolved,
                    reason: None,
                    text: "已现场处理完毕，住户认可。".into(),
                    petition_outcome: None,
                    attachments: vec![],
                }),
                h.clone(),
                at + Duration::hours(9),
            ),
            (
                Command::ReturnVisit(ReturnVisit {
                    contacted: true,
                    resolved: Some(true),
                    rating: Some(Rating::Satisfied),
                    comment: String::new(),
                }),
                visitor,
                at + Duration::hours(20),
            ),
            (
                Command::Close {
                    note: String::new(),
                },
                centre_actor.clone(),
                at + Duration::hours(21),
            ),
        ];
        let mut closed = true;
        for (cmd, who, when) in steps {
            if when >= now
                || store
                    .act(AppealRef::Id(AppealId(id)), cmd, who, when, None)
                    .await
                    .is_err()
            {
                closed = false;
                break;
            }
        }
        made.closed += usize::from(closed);
    }
    drop(app);
    Ok(made)
}
