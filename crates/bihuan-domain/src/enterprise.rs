//! 楼格格 + e见帮办: business buildings under their grids, the enterprise registry keyed by the
//! 统一社会信用代码, service teams assigned to buildings, service visits with what was offered
//! and the demands found, enterprise demands carried through the appeal loop, policies matched
//! to enterprises by rules with effective dates, and financing support recorded.
//!
//! Five aggregates: [`Building`], [`Enterprise`] (its premises history, its 挂点 cadre, its
//! demands, policy applications and financing), [`ServiceTeam`], [`ServiceVisit`] and
//! [`EnterprisePolicy`]. The demands themselves are appeals (channel 企业服务): an enterprise
//! keeps only the link, so the loop, its clocks and its rollups are the appeals' own.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::aggregate::{require_role, required_text as text, Aggregate};
use crate::appeal::{labelled_enum, Phone};
use crate::error::DomainError;
use crate::household::Location;
use crate::lifecycle::{Actor, Context, Role};
use crate::org::UnitId;
use crate::time::{local_date, Instant};

/// Who keeps the registry, the buildings and the teams: the centre, township or subdistrict
/// staff, grid members, administrators.
pub const KEEPERS: &[Role] = &[
    Role::Dispatcher,
    Role::Handler,
    Role::UnitLeader,
    Role::GridMember,
    Role::Admin,
    Role::System,
];

/// Who sets up teams and policies: the centre and administrators, and a township's leader.
pub const ORGANISERS: &[Role] = &[
    Role::Dispatcher,
    Role::UnitLeader,
    Role::Admin,
    Role::System,
];

// ---------------------------------------------------------------------------------------------
// 统一社会信用代码 (GB 32100-2015)

/// The characters a credit code is written in (no I, O, S, V, Z).
const CODE_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A 统一社会信用代码: 18 characters, the last a check character over the first 17
/// (weights 3^i mod 31, GB 32100-2015).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

impl CreditCode {
    pub fn parse(s: &str) -> Result<CreditCode, String> {
        let s: String = s.trim().to_uppercase();
        let n = s.chars().count();
        if n != 18 {
            return Err(format!("统一社会信用代码须为18位，这里是 {n} 位"));
        }
        let mut sum = 0u32;
        let mut values = Vec::with_capacity(18);
        for (i, c) in s.chars().enumerate() {
            let Some(v) = CODE_CHARS.find(c) else {
                return Err(format!(
                    "第 {} 位「{c}」不是信用代码可用的字符（数字和除 I、O、S、V、Z 外的大写字母）",
                    i + 1
                ));
            };
            values.push(v as u32);
        }
        let mut w = 1u32;
        for v in &values[..17] {
            sum += v * w;
            w = w * 3 % 31;
        }
        let check = (31 - sum % 31) % 31;
        if values[17] != check {
            return Err("统一社会信用代码的校验位不对，请核对营业执照".into());
        }
        Ok(CreditCode(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CreditCode {
    type Error = String;
    fn try_from(s: String) -> Result<CreditCode, String> {
        CreditCode::parse(&s)
    }
}

impl From<CreditCode> for String {
    fn from(c: CreditCode) -> String {
        c.0
    }
}

impl std::fmt::Display for CreditCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The check character of the first 17 characters (to build codes in the demo and tests).
pub fn check_char(first17: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut w = 1u32;
    for c in first17.chars().take(17) {
        sum += CODE_CHARS.find(c)? as u32 * w;
        w = w * 3 % 31;
    }
    CODE_CHARS.chars().nth(((31 - sum % 31) % 31) as usize)
}

// ---------------------------------------------------------------------------------------------
// Shared labels

labelled_enum! {
    /// 企业规模 (the statistical size classes).
    Size {
        Micro => "micro", "微型";
        Small => "small", "小型";
        Medium => "medium", "中型";
        Large => "large", "大型";
    }
}

labelled_enum! {
    /// What an enterprise asks for (e见帮办).
    DemandKind {
        Financing => "financing", "融资";
        Labour => "labour", "用工";
        Premises => "premises", "场地";
        Legal => "legal", "法律";
        Policy => "policy", "政策";
        Approval => "approval", "审批";
        /// 机关、事业单位和大型企业拖欠中小企业款项 (保障中小企业款项支付条例 Art 25).
        Payment => "payment", "拖欠账款";
        Other => "other", "其他";
    }
}

/// The services a team may record as offered when none are configured (types are data: the
/// server passes the configured list to every visit).
pub const DEFAULT_SERVICES: &[&str] = &[
    "政策宣讲",
    "创业辅导",
    "法律咨询",
    "纠纷调解",
    "人才服务",
    "融资对接",
    "审批代办",
];

// ---------------------------------------------------------------------------------------------
// Buildings

/// A business building (商务楼宇) in a grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Building {
    pub name: String,
    pub address: String,
    #[serde(flatten)]
    pub at: Location,
    pub floors: u32,
    /// Its units (房号), e.g. 1201.
    #[serde(default)]
    pub units: Vec<String>,
    pub removed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildingCommand {
    Register {
        name: String,
        address: String,
        at: Location,
        floors: u32,
        units: Vec<String>,
    },
    Update {
        name: String,
        address: String,
        floors: u32,
        units: Vec<String>,
    },
    Remove {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BuildingEvent {
    Registered {
        building: Building,
    },
    Updated {
        name: String,
        address: String,
        floors: u32,
        units: Vec<String>,
    },
    Removed {
        reason: String,
    },
}

fn building_facts(
    name: &str,
    address: &str,
    floors: u32,
    units: &[String],
) -> Result<(String, String, u32, Vec<String>), DomainError> {
    let name = text("building.name", name, 60, "楼宇名称")?;
    let address = text("address", address, 200, "地址")?;
    if !(1..=200).contains(&floors) {
        return Err(DomainError::invalid("floors", "楼层数须为 1 至 200"));
    }
    let mut out: Vec<String> = Vec::new();
    for u in units {
        let u = u.trim();
        if u.is_empty() || u.chars().count() > 20 {
            return Err(DomainError::invalid(
                "building.units",
                "房号不能为空，最多20个字",
            ));
        }
        if !out.iter().any(|x| x == u) {
            out.push(u.to_string());
        }
    }
    if out.len() > 2000 {
        return Err(DomainError::invalid(
            "building.units",
            "一栋楼最多登记2000个房号",
        ));
    }
    Ok((name, address, floors, out))
}

impl Aggregate for Building {
    const KIND: &'static str = "building";
    type Command = BuildingCommand;
    type Event = BuildingEvent;

    fn decide(
        state: Option<&Self>,
        command: &BuildingCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<BuildingEvent>, DomainError> {
        use BuildingCommand as C;
        require_role(actor, KEEPERS, "building")?;
        match (state, command) {
            (
                None,
                C::Register {
                    name,
                    address,
                    at,
                    floors,
                    units,
                },
            ) => {
                let (name, address, floors, units) = building_facts(name, address, *floors, units)?;
                Ok(vec![BuildingEvent::Registered {
                    building: Building {
                        name,
                        address,
                        at: *at,
                        floors,
                        units,
                        removed: None,
                    },
                }])
            }
            (None, _) => Err(DomainError::invalid("building", "没有这栋楼宇")),
            (Some(_), C::Register { .. }) => {
                Err(DomainError::invalid("building", "这栋楼宇已经登记"))
            }
            (Some(b), _) if b.removed.is_some() => Err(DomainError::invalid(
                "building",
                "这栋楼宇已移除，不能再修改",
            )),
            (
                Some(b),
                C::Update {
                    name,
                    address,
                    floors,
                    units,
                },
            ) => {
                let (name, address, floors, units) = building_facts(name, address, *floors, units)?;
                if (&name, &address, floors, &units) == (&b.name, &b.address, b.floors, &b.units) {
                    return Ok(vec![]);
                }
                Ok(vec![BuildingEvent::Updated {
                    name,
                    address,
                    floors,
                    units,
                }])
            }
            (Some(_), C::Remove { reason }) => Ok(vec![BuildingEvent::Removed {
                reason: text("reason", reason, 200, "原因")?,
            }]),
        }
    }

    fn apply(state: Option<Self>, event: &BuildingEvent, _at: Instant) -> Self {
        match (state, event) {
            (_, BuildingEvent::Registered { building }) => building.clone(),
            (
                Some(mut b),
                BuildingEvent::Updated {
                    name,
                    address,
                    floors,
                    units,
                },
            ) => {
                b.name = name.clone();
                b.address = address.clone();
                b.floors = *floors;
                b.units = units.clone();
                b
            }
            (Some(mut b), BuildingEvent::Removed { reason }) => {
                b.removed = Some(reason.clone());
                b
            }
            (None, _) => Building {
                name: String::new(),
                address: String::new(),
                at: Location {
                    grid: UnitId(0),
                    village: None,
                    township: UnitId(0),
                },
                floors: 0,
                units: vec![],
                removed: Some(String::new()),
            },
        }
    }

    fn event_name(event: &BuildingEvent) -> &'static str {
        match event {
            BuildingEvent::Registered { .. } => "registered",
            BuildingEvent::Updated { .. } => "updated",
            BuildingEvent::Removed { .. } => "removed",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        if self.removed.is_some() {
            return vec![("removed", self.at.township.0.to_string())];
        }
        vec![
            ("township", self.at.township.0.to_string()),
            ("grid", self.at.grid.0.to_string()),
            ("name", self.name.clone()),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// Enterprises

/// Where an enterprise is: a unit of a building, or a place in a village.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "in", rename_all = "snake_case")]
pub enum Premises {
    Building {
        building: u64,
        #[serde(flatten)]
        at: Location,
        /// 房号
        #[serde(default)]
        unit: String,
    },
    Village {
        #[serde(flatten)]
        at: Location,
        address: String,
    },
}

impl Premises {
    pub fn at(&self) -> Location {
        match self {
            Premises::Building { at, .. } | Premises::Village { at, .. } => *at,
        }
    }
    pub fn building(&self) -> Option<u64> {
        match self {
            Premises::Building { building, .. } => Some(*building),
            Premises::Village { .. } => None,
        }
    }
}

/// A stay at some premises: kept when the enterprise moves out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stay {
    pub premises: Premises,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = Option<String>, format = Date)]
    pub until: Option<NaiveDate>,
    #[serde(default)]
    pub reason: String,
}

/// What is recorded of an enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnterpriseFacts {
    pub name: String,
    /// 行业（国民经济行业分类的门类或大类名称）
    pub industry: String,
    pub size: Size,
    /// 成立日期
    #[schema(value_type = String, format = Date)]
    pub founded: NaiveDate,
    /// 联系人
    pub contact: String,
    #[schema(value_type = Option<String>)]
    pub phone: Option<Phone>,
}

impl EnterpriseFacts {
    fn checked(mut self, today: NaiveDate) -> Result<EnterpriseFacts, DomainError> {
        self.name = text("enterprise.name", &self.name, 100, "企业名称")?;
        self.industry = text("industry", &self.industry, 40, "行业")?;
        self.contact = text("contact", &self.contact, 40, "联系人")?;
        if self.founded > today || self.founded.year() < 1949 {
            return Err(DomainError::invalid(
                "founded",
                "成立日期须在1949年至今天之间",
            ));
        }
        Ok(self)
    }
}

/// The cadre an enterprise is paired with (一对一挂点帮扶).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Liaison {
    #[schema(value_type = u32)]
    pub user: crate::UserId,
    pub name: String,
    #[schema(value_type = String, format = Date)]
    pub since: NaiveDate,
}

/// A demand of the enterprise, carried as an appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DemandLink {
    pub kind: DemandKind,
    /// The appeal's number.
    pub appeal: String,
    pub appeal_id: u64,
    /// The team that found it (on a visit), if any.
    #[serde(default)]
    pub team: Option<u64>,
    #[serde(default)]
    pub visit: Option<u64>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
}

/// An application for a policy's benefit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PolicyApplication)]
pub struct Application {
    pub policy: u64,
    pub policy_name: String,
    #[schema(value_type = String, format = Date)]
    pub applied_on: NaiveDate,
    /// None: pending; Some(true) granted; Some(false) refused.
    pub granted: Option<bool>,
    /// 兑现金额（元）
    #[serde(default)]
    pub amount: u64,
    #[serde(default)]
    pub note: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub decided_on: Option<NaiveDate>,
}

/// A bank matchmaking (融资对接).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Financing {
    pub bank: String,
    /// 申请金额（元）
    pub asked: u64,
    /// 获批金额（元）, once decided (0: not granted).
    pub granted: Option<u64>,
    #[schema(value_type = String, format = Date)]
    pub asked_on: NaiveDate,
    #[schema(value_type = Option<String>, format = Date)]
    pub decided_on: Option<NaiveDate>,
    /// The team that brought it about, if any.
    #[serde(default)]
    pub team: Option<u64>,
    #[serde(default)]
    pub note: String,
}

/// An enterprise of the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Enterprise {
    #[schema(value_type = String)]
    pub code: CreditCode,
    #[serde(flatten)]
    pub facts: EnterpriseFacts,
    /// Where it is now (None: moved out of the county's registry).
    pub premises: Option<Premises>,
    /// Every stay, the current one last (kept after a move).
    pub stays: Vec<Stay>,
    pub liaison: Option<Liaison>,
    #[serde(default)]
    pub demands: Vec<DemandLink>,
    #[serde(default)]
    pub applications: Vec<Application>,
    #[serde(default)]
    pub financing: Vec<Financing>,
    /// The employer accounts that speak for it (就业之家: they post its jobs).
    #[serde(default)]
    #[schema(value_type = Vec<u32>)]
    pub accounts: Vec<crate::UserId>,
}

impl Enterprise {
    /// Whole months since it was founded, at `on`.
    pub fn age_months(&self, on: NaiveDate) -> u32 {
        Enterprise::months_between(self.facts.founded, on)
    }

    /// Whole months from `f` to `on` (0 when `on` is earlier).
    pub fn months_between(f: NaiveDate, on: NaiveDate) -> u32 {
        let months = (on.year() - f.year()) * 12 + on.month() as i32
            - f.month() as i32
            - i32::from(on.day() < f.day());
        months.max(0) as u32
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnterpriseCommand {
    Register {
        code: CreditCode,
        facts: EnterpriseFacts,
        premises: Option<Premises>,
        since: NaiveDate,
    },
    Update(EnterpriseFacts),
    /// Moves in (from elsewhere or from other premises of the county).
    MoveIn {
        premises: Premises,
        on: NaiveDate,
        reason: String,
    },
    MoveOut {
        on: NaiveDate,
        reason: String,
    },
    Liaise(Liaison),
    Demand(DemandLink),
    Apply {
        policy: u64,
        policy_name: String,
        on: NaiveDate,
    },
    Decide {
        application: usize,
        granted: bool,
        amount: u64,
        note: String,
        on: NaiveDate,
    },
    Finance {
        bank: String,
        asked: u64,
        on: NaiveDate,
        team: Option<u64>,
        note: String,
    },
    Financed {
        financing: usize,
        granted: u64,
        on: NaiveDate,
    },
    /// An employer account speaks for it.
    Account {
        user: crate::UserId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EnterpriseEvent {
    Registered {
        code: CreditCode,
        facts: EnterpriseFacts,
        premises: Option<Premises>,
        since: NaiveDate,
    },
    Updated {
        facts: EnterpriseFacts,
    },
    MovedIn {
        premises: Premises,
        on: NaiveDate,
        reason: String,
    },
    MovedOut {
        on: NaiveDate,
        reason: String,
    },
    Liaised {
        liaison: Liaison,
    },
    Demanded {
        demand: DemandLink,
    },
    Applied {
        application: Application,
    },
    Decided {
        application: usize,
        granted: bool,
        amount: u64,
        note: String,
        on: NaiveDate,
    },
    Financing {
        financing: Financing,
    },
    Financed {
        financing: usize,
        granted: u64,
        on: NaiveDate,
    },
    Account {
        user: crate::UserId,
    },
}

/// The most a single figure may be (元): beyond it a typo is more likely than a loan.
const MAX_AMOUNT: u64 = 10_000_000_000;

impl Aggregate for Enterprise {
    const KIND: &'static str = "enterprise";
    /// 2: the employer accounts (`account`).
    const INDEX_VERSION: u32 = 2;
    type Command = EnterpriseCommand;
    type Event = EnterpriseEvent;

    fn decide(
        state: Option<&Self>,
        command: &EnterpriseCommand,
        actor: &Actor,
        at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<EnterpriseEvent>, DomainError> {
        use EnterpriseCommand as C;
        use EnterpriseEvent as E;
        let today = local_date(at);
        let not_future = |d: NaiveDate, what: &str| {
            if d > today {
                Err(DomainError::invalid("date", format!("{what}不能晚于今天")))
            } else {
                Ok(())
            }
        };
        if !matches!(command, C::Demand(_)) {
            require_role(actor, KEEPERS, "enterprise")?;
        }
        match (state, command) {
            (
                None,
                C::Register {
                    code,
                    facts,
                    premises,
                    since,
                },
            ) => {
                not_future(*since, "入驻日期")?;
                Ok(vec![E::Registered {
                    code: code.clone(),
                    facts: facts.clone().checked(today)?,
                    premises: premises.clone(),
                    since: *since,
                }])
            }
            (None, _) => Err(DomainError::invalid("enterprise", "没有这家企业")),
            (Some(_), C::Register { .. }) => Err(DomainError::invalid(
                "enterprise",
                "这家企业已经登记（同一信用代码）",
            )),
            (Some(e), C::Update(facts)) => {
                let facts = facts.clone().checked(today)?;
                if facts == e.facts {
                    return Ok(vec![]);
                }
                Ok(vec![E::Updated { facts }])
            }
            (
                Some(e),
                C::MoveIn {
                    premises,
                    on,
                    reason,
                },
            ) => {
                not_future(*on, "迁入日期")?;
                if e.premises.as_ref() == Some(premises) {
                    return Err(DomainError::invalid("premises", "企业已在这里"));
                }
                if e.stays.last().is_some_and(|s| *on < s.from) {
                    return Err(DomainError::invalid(
                        "date",
                        "迁入日期不能早于上一次入驻的日期",
                    ));
                }
                Ok(vec![E::MovedIn {
                    premises: premises.clone(),
                    on: *on,
                    reason: reason.trim().chars().take(200).collect(),
                }])
            }
            (Some(e), C::MoveOut { on, reason }) => {
                not_future(*on, "迁出日期")?;
                if e.premises.is_none() {
                    return Err(DomainError::invalid("premises", "企业已经迁出"));
                }
                if e.stays.last().is_some_and(|s| *on < s.from) {
                    return Err(DomainError::invalid("date", "迁出日期不能早于入驻日期"));
                }
                Ok(vec![E::MovedOut {
                    on: *on,
                    reason: text("reason", reason, 200, "迁出原因")?,
                }])
            }
            (Some(e), C::Liaise(l)) => {
                if e.liaison.as_ref().map(|x| x.user) == Some(l.user) {
                    return Ok(vec![]);
                }
                Ok(vec![E::Liaised { liaison: l.clone() }])
            }
            (Some(e), C::Demand(d)) => {
                if e.demands.iter().any(|x| x.appeal_id == d.appeal_id) {
                    return Ok(vec![]);
                }
                Ok(vec![E::Demanded { demand: d.clone() }])
            }
            (
                Some(e),
                C::Apply {
                    policy,
                    policy_name,
                    on,
                },
            ) => {
                not_future(*on, "申请日期")?;
                if e.applications
                    .iter()
                    .any(|a| a.policy == *policy && a.granted != Some(false))
                {
                    return Err(DomainError::invalid(
                        "application",
                        "这项政策已经申请过（未被驳回）",
                    ));
                }
                Ok(vec![E::Applied {
                    application: Application {
                        policy: *policy,
                        policy_name: policy_name.clone(),
                        applied_on: *on,
                        granted: None,
                        amount: 0,
                        note: String::new(),
                        decided_on: None,
                    },
                }])
            }
            (
                Some(e),
                C::Decide {
                    application,
                    granted,
                    amount,
                    note,
                    on,
                },
            ) => {
                let Some(a) = e.applications.get(*application) else {
                    return Err(DomainError::invalid("application", "没有这项申请"));
                };
                if a.granted.is_some() {
                    return Err(DomainError::invalid("application", "这项申请已有结果"));
                }
                not_future(*on, "兑现日期")?;
                if *on < a.applied_on || *amount > MAX_AMOUNT || (!granted && *amount > 0) {
                    return Err(DomainError::invalid(
                        "application",
                        "结果日期不能早于申请日期；未获批的金额须为 0",
                    ));
                }
                Ok(vec![E::Decided {
                    application: *application,
                    granted: *granted,
                    amount: *amount,
                    note: note.trim().chars().take(200).collect(),
                    on: *on,
                }])
            }
            (
                Some(_),
                C::Finance {
                    bank,
                    asked,
                    on,
                    team,
                    note,
                },
            ) => {
                not_future(*on, "对接日期")?;
                if *asked == 0 || *asked > MAX_AMOUNT {
                    return Err(DomainError::invalid(
                        "asked",
                        "申请金额须大于 0（单位：元）",
                    ));
                }
                Ok(vec![E::Financing {
                    financing: Financing {
                        bank: text("bank", bank, 60, "银行")?,
                        asked: *asked,
                        granted: None,
                        asked_on: *on,
                        decided_on: None,
                        team: *team,
                        note: note.trim().chars().take(200).collect(),
                    },
                }])
            }
            (
                Some(e),
                C::Financed {
                    financing,
                    granted,
                    on,
                },
            ) => {
                let Some(f) = e.financing.get(*financing) else {
                    return Err(DomainError::invalid("financing", "没有这笔融资对接"));
                };
                if f.granted.is_some() {
                    return Err(DomainError::invalid("financing", "这笔融资已有结果"));
                }
                not_future(*on, "放款日期")?;
                if *on < f.asked_on {
                    return Err(DomainError::invalid(
                        "financing",
                        "放款日期不能早于对接日期",
                    ));
                }
                if *granted > f.asked.saturating_mul(2) {
                    return Err(DomainError::invalid(
                        "financing",
                        "获批金额超过申请金额的两倍，请核对（单位：元）",
                    ));
                }
                Ok(vec![E::Financed {
                    financing: *financing,
                    granted: *granted,
                    on: *on,
                }])
            }
            (Some(e), C::Account { user }) => {
                if e.accounts.contains(user) {
                    return Ok(vec![]);
                }
                Ok(vec![E::Account { user: *user }])
            }
        }
    }

    fn apply(state: Option<Self>, event: &EnterpriseEvent, _at: Instant) -> Self {
        use EnterpriseEvent as E;
        let Some(mut e) = state else {
            return match event {
                E::Registered {
                    code,
                    facts,
                    premises,
                    since,
                } => Enterprise {
                    code: code.clone(),
                    facts: facts.clone(),
                    premises: premises.clone(),
                    stays: premises
                        .iter()
                        .map(|p| Stay {
                            premises: p.clone(),
                            from: *since,
                            until: None,
                            reason: String::new(),
                        })
                        .collect(),
                    liaison: None,
                    demands: vec![],
                    applications: vec![],
                    financing: vec![],
                    accounts: vec![],
                },
                // Only a registration creates one (`decide` refuses anything else first).
                _ => Enterprise {
                    code: CreditCode(String::new()),
                    facts: EnterpriseFacts {
                        name: String::new(),
                        industry: String::new(),
                        size: Size::Micro,
                        founded: NaiveDate::MIN,
                        contact: String::new(),
                        phone: None,
                    },
                    premises: None,
                    stays: vec![],
                    liaison: None,
                    demands: vec![],
                    applications: vec![],
                    financing: vec![],
                    accounts: vec![],
                },
            };
        };
        match event {
            E::Registered { .. } => {}
            E::Updated { facts } => e.facts = facts.clone(),
            E::MovedIn {
                premises,
                on,
                reason,
            } => {
                if let Some(last) = e.stays.last_mut() {
                    if last.until.is_none() {
                        last.until = Some(*on);
                    }
                }
                e.stays.push(Stay {
                    premises: premises.clone(),
                    from: *on,
                    until: None,
                    reason: reason.clone(),
                });
                e.premises = Some(premises.clone());
            }
            E::MovedOut { on, reason } => {
                if let Some(last) = e.stays.last_mut() {
                    last.until = Some(*on);
                    last.reason = reason.clone();
                }
                e.premises = None;
            }
            E::Liaised { liaison } => e.liaison = Some(liaison.clone()),
            E::Demanded { demand } => e.demands.push(demand.clone()),
            E::Applied { application } => e.applications.push(application.clone()),
            E::Decided {
                application,
                granted,
                amount,
                note,
                on,
            } => {
                if let Some(a) = e.applications.get_mut(*application) {
                    a.granted = Some(*granted);
                    a.amount = *amount;
                    a.note = note.clone();
                    a.decided_on = Some(*on);
                }
            }
            E::Financing { financing } => e.financing.push(financing.clone()),
            E::Account { user } => e.accounts.push(*user),
            E::Financed {
                financing,
                granted,
                on,
            } => {
                if let Some(f) = e.financing.get_mut(*financing) {
                    f.granted = Some(*granted);
                    f.decided_on = Some(*on);
                }
            }
        }
        e
    }

    fn event_name(event: &EnterpriseEvent) -> &'static str {
        use EnterpriseEvent as E;
        match event {
            E::Registered { .. } => "registered",
            E::Updated { .. } => "updated",
            E::MovedIn { .. } => "moved_in",
            E::MovedOut { .. } => "moved_out",
            E::Liaised { .. } => "liaised",
            E::Demanded { .. } => "demanded",
            E::Applied { .. } => "applied",
            E::Decided { .. } => "decided",
            E::Financing { .. } => "financing",
            E::Financed { .. } => "financed",
            E::Account { .. } => "account",
        }
    }

    /// Found by its code, its township and building while in the county, its 挂点 cadre.
    fn index(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("code", self.code.0.clone())];
        match &self.premises {
            Some(p) => {
                v.push(("township", p.at().township.0.to_string()));
                if let Some(b) = p.building() {
                    v.push(("building", b.to_string()));
                }
            }
            None => v.push(("moved_out", "1".into())),
        }
        if let Some(l) = &self.liaison {
            v.push(("liaison", l.user.0.to_string()));
        }
        v.extend(self.accounts.iter().map(|u| ("account", u.0.to_string())));
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Service teams

/// A member of a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    #[schema(value_type = u32)]
    pub user: crate::UserId,
    pub name: String,
    /// 中心人员、干部、网格员 …, as the team calls them.
    pub duty: String,
}

/// A 楼格格 service team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceTeam {
    pub name: String,
    /// The township or subdistrict it works for.
    #[schema(value_type = u32)]
    pub unit: UnitId,
    pub members: Vec<Member>,
    /// The buildings it serves.
    pub buildings: Vec<u64>,
    pub dissolved: Option<String>,
}

impl ServiceTeam {
    pub fn has_member(&self, user: crate::UserId) -> bool {
        self.members.iter().any(|m| m.user == user)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamCommand {
    Create {
        name: String,
        unit: UnitId,
        members: Vec<Member>,
        buildings: Vec<u64>,
    },
    Members(Vec<Member>),
    Buildings(Vec<u64>),
    Dissolve {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TeamEvent {
    Created { team: ServiceTeam },
    Members { members: Vec<Member> },
    Buildings { buildings: Vec<u64> },
    Dissolved { reason: String },
}

fn members(list: &[Member]) -> Result<Vec<Member>, DomainError> {
    if list.is_empty() || list.len() > 50 {
        return Err(DomainError::invalid(
            "team.members",
            "服务队须有 1 至 50 名队员",
        ));
    }
    let mut out: Vec<Member> = Vec::new();
    for m in list {
        if out.iter().any(|x| x.user == m.user) {
            continue;
        }
        out.push(Member {
            user: m.user,
            name: m.name.trim().to_string(),
            duty: text("team.members", &m.duty, 20, "队员身份")?,
        });
    }
    Ok(out)
}

fn buildings(list: &[u64]) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    for b in list {
        if !out.contains(b) {
            out.push(*b);
        }
    }
    out
}

impl Aggregate for ServiceTeam {
    const KIND: &'static str = "service_team";
    type Command = TeamCommand;
    type Event = TeamEvent;

    fn decide(
        state: Option<&Self>,
        command: &TeamCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<TeamEvent>, DomainError> {
        use TeamCommand as C;
        require_role(actor, ORGANISERS, "service_team")?;
        match (state, command) {
            (
                None,
                C::Create {
                    name,
                    unit,
                    members: m,
                    buildings: b,
                },
            ) => Ok(vec![TeamEvent::Created {
                team: ServiceTeam {
                    name: text("team.name", name, 60, "服务队名称")?,
                    unit: *unit,
                    members: members(m)?,
                    buildings: buildings(b),
                    dissolved: None,
                },
            }]),
            (None, _) => Err(DomainError::invalid("service_team", "没有这支服务队")),
            (Some(_), C::Create { .. }) => {
                Err(DomainError::invalid("service_team", "服务队已经设立"))
            }
            (Some(t), _) if t.dissolved.is_some() => Err(DomainError::invalid(
                "service_team",
                "服务队已撤销，不能再修改",
            )),
            (Some(t), C::Members(m)) => {
                let m = members(m)?;
                if m == t.members {
                    return Ok(vec![]);
                }
                Ok(vec![TeamEvent::Members { members: m }])
            }
            (Some(t), C::Buildings(b)) => {
                let b = buildings(b);
                if b == t.buildings {
                    return Ok(vec![]);
                }
                Ok(vec![TeamEvent::Buildings { buildings: b }])
            }
            (Some(_), C::Dissolve { reason }) => Ok(vec![TeamEvent::Dissolved {
                reason: text("reason", reason, 200, "撤销原因")?,
            }]),
        }
    }

    fn apply(state: Option<Self>, event: &TeamEvent, _at: Instant) -> Self {
        let empty = || ServiceTeam {
            name: String::new(),
            unit: UnitId(0),
            members: vec![],
            buildings: vec![],
            dissolved: Some(String::new()),
        };
        match (state, event) {
            (_, TeamEvent::Created { team }) => team.clone(),
            (Some(mut t), TeamEvent::Members { members }) => {
                t.members = members.clone();
                t
            }
            (Some(mut t), TeamEvent::Buildings { buildings }) => {
                t.buildings = buildings.clone();
                t
            }
            (Some(mut t), TeamEvent::Dissolved { reason }) => {
                t.dissolved = Some(reason.clone());
                t
            }
            (None, _) => empty(),
        }
    }

    fn event_name(event: &TeamEvent) -> &'static str {
        match event {
            TeamEvent::Created { .. } => "created",
            TeamEvent::Members { .. } => "members",
            TeamEvent::Buildings { .. } => "buildings",
            TeamEvent::Dissolved { .. } => "dissolved",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        if self.dissolved.is_some() {
            return vec![("dissolved", self.unit.0.to_string())];
        }
        let mut v = vec![("unit", self.unit.0.to_string())];
        v.extend(
            self.members
                .iter()
                .map(|m| ("member", m.user.0.to_string())),
        );
        v.extend(self.buildings.iter().map(|b| ("building", b.to_string())));
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Service visits

/// A demand found on a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FoundDemand {
    pub enterprise: u64,
    pub kind: DemandKind,
    pub text: String,
    /// The appeal it became.
    #[serde(default)]
    pub appeal: Option<String>,
}

/// What a visit did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Done {
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    pub by: String,
    /// The services offered (types from the configured list).
    pub offered: Vec<String>,
    #[serde(default)]
    pub note: String,
}

/// A planned or recorded visit of a team (进楼宇企问需求、送服务).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceVisit {
    pub team: u64,
    pub building: Option<u64>,
    pub enterprises: Vec<u64>,
    #[schema(value_type = String, format = Date)]
    pub planned_on: NaiveDate,
    pub done: Option<Done>,
    #[serde(default)]
    pub demands: Vec<FoundDemand>,
    pub cancelled: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitCommand {
    Plan {
        team: u64,
        building: Option<u64>,
        enterprises: Vec<u64>,
        on: NaiveDate,
    },
    Record {
        offered: Vec<String>,
        note: String,
        demands: Vec<FoundDemand>,
        /// The service types configured (types are data).
        services: Vec<String>,
    },
    Raised {
        demand: usize,
        appeal: String,
    },
    Cancel {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitEvent {
    Planned {
        visit: ServiceVisit,
    },
    Recorded {
        done: Done,
        demands: Vec<FoundDemand>,
    },
    Raised {
        demand: usize,
        appeal: String,
    },
    Cancelled {
        reason: String,
    },
}

impl Aggregate for ServiceVisit {
    const KIND: &'static str = "service_visit";
    type Command = VisitCommand;
    type Event = VisitEvent;

    fn decide(
        state: Option<&Self>,
        command: &VisitCommand,
        actor: &Actor,
        at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<VisitEvent>, DomainError> {
        use VisitCommand as C;
        require_role(actor, KEEPERS, "service_visit")?;
        match (state, command) {
            (
                None,
                C::Plan {
                    team,
                    building,
                    enterprises,
                    on,
                },
            ) => {
                if building.is_none() && enterprises.is_empty() {
                    return Err(DomainError::invalid(
                        "service_visit",
                        "请选择走访的楼宇或企业",
                    ));
                }
                let mut list: Vec<u64> = Vec::new();
                for e in enterprises {
                    if !list.contains(e) {
                        list.push(*e);
                    }
                }
                Ok(vec![VisitEvent::Planned {
                    visit: ServiceVisit {
                        team: *team,
                        building: *building,
                        enterprises: list,
                        planned_on: *on,
                        done: None,
                        demands: vec![],
                        cancelled: None,
                    },
                }])
            }
            (None, _) => Err(DomainError::invalid("service_visit", "没有这次走访")),
            (Some(_), C::Plan { .. }) => Err(DomainError::invalid("service_visit", "走访已经安排")),
            (Some(v), _) if v.cancelled.is_some() => {
                Err(DomainError::invalid("service_visit", "这次走访已取消"))
            }
            (
                Some(v),
                C::Record {
                    offered,
                    note,
                    demands,
                    services,
                },
            ) => {
                if v.done.is_some() {
                    return Err(DomainError::invalid("service_visit", "这次走访已经记录"));
                }
                if let Some(o) = offered.iter().find(|o| !services.contains(o)) {
                    return Err(DomainError::invalid(
                        "offered",
                        format!("服务类型「{o}」不在清单中，可选：{}", services.join("、")),
                    ));
                }
                if offered.is_empty() && demands.is_empty() {
                    return Err(DomainError::invalid(
                        "offered",
                        "请记录提供了哪些服务，或收集到的需求",
                    ));
                }
                let mut found = Vec::with_capacity(demands.len());
                for d in demands {
                    if !v.enterprises.contains(&d.enterprise) {
                        return Err(DomainError::invalid("demands", "需求须属于这次走访的企业"));
                    }
                    found.push(FoundDemand {
                        enterprise: d.enterprise,
                        kind: d.kind,
                        text: text("demands", &d.text, 500, "需求内容")?,
                        appeal: None,
                    });
                }
                let mut offered_once: Vec<String> = Vec::new();
                for o in offered {
                    if !offered_once.contains(o) {
                        offered_once.push(o.clone());
                    }
                }
                Ok(vec![VisitEvent::Recorded {
                    done: Done {
                        at,
                        by: actor.name.clone(),
                        offered: offered_once,
                        note: note.trim().chars().take(1000).collect(),
                    },
                    demands: found,
                }])
            }
            (Some(v), C::Raised { demand, appeal }) => match v.demands.get(*demand) {
                None => Err(DomainError::invalid("demands", "没有这条需求")),
                Some(d) if d.appeal.is_some() => Ok(vec![]),
                Some(_) => Ok(vec![VisitEvent::Raised {
                    demand: *demand,
                    appeal: appeal.clone(),
                }]),
            },
            (Some(v), C::Cancel { reason }) => {
                if v.done.is_some() {
                    return Err(DomainError::invalid(
                        "service_visit",
                        "已记录的走访不能取消",
                    ));
                }
                Ok(vec![VisitEvent::Cancelled {
                    reason: text("reason", reason, 200, "取消原因")?,
                }])
            }
        }
    }

    fn apply(state: Option<Self>, event: &VisitEvent, _at: Instant) -> Self {
        match (state, event) {
            (_, VisitEvent::Planned { visit }) => visit.clone(),
            (Some(mut v), VisitEvent::Recorded { done, demands }) => {
                v.done = Some(done.clone());
                v.demands = demands.clone();
                v
            }
            (Some(mut v), VisitEvent::Raised { demand, appeal }) => {
                if let Some(d) = v.demands.get_mut(*demand) {
                    d.appeal = Some(appeal.clone());
                }
                v
            }
            (Some(mut v), VisitEvent::Cancelled { reason }) => {
                v.cancelled = Some(reason.clone());
                v
            }
            (None, _) => ServiceVisit {
                team: 0,
                building: None,
                enterprises: vec![],
                planned_on: NaiveDate::MIN,
                done: None,
                demands: vec![],
                cancelled: Some(String::new()),
            },
        }
    }

    fn event_name(event: &VisitEvent) -> &'static str {
        match event {
            VisitEvent::Planned { .. } => "planned",
            VisitEvent::Recorded { .. } => "recorded",
            VisitEvent::Raised { .. } => "raised",
            VisitEvent::Cancelled { .. } => "cancelled",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("team", self.team.to_string())];
        if let Some(b) = self.building {
            v.push(("building", b.to_string()));
        }
        v.extend(
            self.enterprises
                .iter()
                .map(|e| ("enterprise", e.to_string())),
        );
        v
    }
}

// ---------------------------------------------------------------------------------------------
// 惠企政策直达: policies as rules with effective dates

/// Who qualifies: every list that is not empty must contain the enterprise's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Eligibility {
    /// 行业（空：不限）
    #[serde(default)]
    pub industries: Vec<String>,
    #[serde(default)]
    pub sizes: Vec<Size>,
    /// 所在乡镇（空：全县）
    #[serde(default)]
    #[schema(value_type = Vec<u32>)]
    pub townships: Vec<UnitId>,
    /// 成立至少几个月
    #[serde(default)]
    pub min_age_months: Option<u32>,
    /// 成立至多几个月（如初创企业政策）
    #[serde(default)]
    pub max_age_months: Option<u32>,
}

/// A policy for enterprises (惠企政策).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnterprisePolicy {
    pub name: String,
    /// 政策依据（文件名称及文号）
    pub source: String,
    /// 支持内容
    pub benefit: String,
    /// 如何申请
    #[serde(default)]
    pub how_to_apply: String,
    pub rule: Eligibility,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = Option<String>, format = Date)]
    pub until: Option<NaiveDate>,
    pub withdrawn: Option<String>,
}

/// Why an enterprise qualifies or not, rule by rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Match {
    pub eligible: bool,
    /// Each condition with whether it is met, in words.
    pub reasons: Vec<(bool, String)>,
}

/// What the matching reads of an enterprise (also what a visitor to the public finder types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub industry: String,
    pub size: Size,
    pub township: Option<UnitId>,
    pub age_months: u32,
}

impl EnterprisePolicy {
    /// In force on `on`.
    pub fn in_force(&self, on: NaiveDate) -> bool {
        self.withdrawn.is_none() && self.from <= on && self.until.is_none_or(|u| on <= u)
    }

    /// Whether `p` qualifies on `on`, with the reasons (`township_name` names townships).
    pub fn matches(
        &self,
        p: &Profile,
        on: NaiveDate,
        township_name: impl Fn(UnitId) -> String,
    ) -> Match {
        let r = &self.rule;
        let mut reasons = Vec::new();
        let force = self.in_force(on);
        reasons.push((
            force,
            match (self.until, force) {
                (_, true) => format!("政策在有效期内（{} 起）", self.from),
                (Some(u), false) if on > u => format!("政策已于 {u} 到期"),
                _ if self.withdrawn.is_some() => "政策已停止执行".to_string(),
                _ => format!("政策自 {} 起施行", self.from),
            },
        ));
        if !r.industries.is_empty() {
            let ok = r.industries.iter().any(|i| i == &p.industry);
            reasons.push((
                ok,
                format!(
                    "行业须为{}（企业：{}）",
                    r.industries.join("、"),
                    p.industry
                ),
            ));
        }
        if !r.sizes.is_empty() {
            let ok = r.sizes.contains(&p.size);
            let names: Vec<&str> = r.sizes.iter().map(|s| s.label()).collect();
            reasons.push((
                ok,
                format!("规模须为{}（企业：{}）", names.join("、"), p.size.label()),
            ));
        }
        if !r.townships.is_empty() {
            let ok = p.township.is_some_and(|t| r.townships.contains(&t));
            let names: Vec<String> = r.townships.iter().map(|t| township_name(*t)).collect();
            reasons.push((
                ok,
                format!(
                    "须位于{}（企业：{}）",
                    names.join("、"),
                    p.township.map_or("未知".to_string(), &township_name)
                ),
            ));
        }
        if let Some(min) = r.min_age_months {
            reasons.push((
                p.age_months >= min,
                format!("成立须满 {min} 个月（企业：{} 个月）", p.age_months),
            ));
        }
        if let Some(max) = r.max_age_months {
            reasons.push((
                p.age_months <= max,
                format!("成立不超过 {max} 个月（企业：{} 个月）", p.age_months),
            ));
        }
        Match {
            eligible: reasons.iter().all(|(ok, _)| *ok),
            reasons,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyCommand {
    Publish(Box<EnterprisePolicy>),
    Revise(Box<EnterprisePolicy>),
    Withdraw { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PolicyEvent {
    Published { policy: Box<EnterprisePolicy> },
    Revised { policy: Box<EnterprisePolicy> },
    Withdrawn { reason: String },
}

fn checked_policy(p: &EnterprisePolicy) -> Result<EnterprisePolicy, DomainError> {
    let mut p = p.clone();
    p.name = text("policy.name", &p.name, 100, "政策名称")?;
    p.source = text("source", &p.source, 200, "政策依据")?;
    p.benefit = text("benefit", &p.benefit, 1000, "支持内容")?;
    p.how_to_apply = p.how_to_apply.trim().chars().take(1000).collect();
    if p.until.is_some_and(|u| u < p.from) {
        return Err(DomainError::invalid("until", "截止日期不能早于施行日期"));
    }
    if let (Some(a), Some(b)) = (p.rule.min_age_months, p.rule.max_age_months) {
        if a > b {
            return Err(DomainError::invalid("rule", "成立月数的下限不能大于上限"));
        }
    }
    p.rule.industries = p
        .rule
        .industries
        .iter()
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .collect();
    p.withdrawn = None;
    Ok(p)
}

impl Aggregate for EnterprisePolicy {
    const KIND: &'static str = "enterprise_policy";
    type Command = PolicyCommand;
    type Event = PolicyEvent;

    fn decide(
        state: Option<&Self>,
        command: &PolicyCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<PolicyEvent>, DomainError> {
        require_role(actor, ORGANISERS, "enterprise_policy")?;
        match (state, command) {
            (None, PolicyCommand::Publish(p)) => Ok(vec![PolicyEvent::Published {
                policy: Box::new(checked_policy(p)?),
            }]),
            (None, _) => Err(DomainError::invalid("enterprise_policy", "没有这项政策")),
            (Some(_), PolicyCommand::Publish(_)) => {
                Err(DomainError::invalid("enterprise_policy", "政策已经发布"))
            }
            (Some(p), _) if p.withdrawn.is_some() => Err(DomainError::invalid(
                "enterprise_policy",
                "政策已停止执行，不能再修改",
            )),
            (Some(old), PolicyCommand::Revise(p)) => {
                let p = checked_policy(p)?;
                if &p == old {
                    return Ok(vec![]);
                }
                Ok(vec![PolicyEvent::Revised {
                    policy: Box::new(p),
                }])
            }
            (Some(_), PolicyCommand::Withdraw { reason }) => Ok(vec![PolicyEvent::Withdrawn {
                reason: text("reason", reason, 200, "停止执行的原因")?,
            }]),
        }
    }

    fn apply(state: Option<Self>, event: &PolicyEvent, _at: Instant) -> Self {
        match (state, event) {
            (_, PolicyEvent::Published { policy } | PolicyEvent::Revised { policy }) => {
                (**policy).clone()
            }
            (Some(mut p), PolicyEvent::Withdrawn { reason }) => {
                p.withdrawn = Some(reason.clone());
                p
            }
            (None, PolicyEvent::Withdrawn { reason }) => EnterprisePolicy {
                name: String::new(),
                source: String::new(),
                benefit: String::new(),
                how_to_apply: String::new(),
                rule: Eligibility::default(),
                from: NaiveDate::MIN,
                until: None,
                withdrawn: Some(reason.clone()),
            },
        }
    }

    fn event_name(event: &PolicyEvent) -> &'static str {
        match event {
            PolicyEvent::Published { .. } => "published",
            PolicyEvent::Revised { .. } => "revised",
            PolicyEvent::Withdrawn { .. } => "withdrawn",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

/// Where an enterprise demand stands, read from its appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DemandState {
    /// Still in the loop.
    Open,
    /// Closed with the enterprise satisfied (满意 or 基本满意 at the return visit).
    Solved,
    /// Closed, but the enterprise was not satisfied or was not reached.
    ClosedUnsatisfied,
}

impl DemandState {
    /// "Solved" means closed with the enterprise satisfied: a closed appeal whose return visit
    /// rated it 满意 or 基本满意. Closed unrated or 不满意 is not solved.
    pub fn of(appeal: &crate::Appeal) -> DemandState {
        use crate::lifecycle::Rating;
        if appeal.status != crate::Status::Closed {
            return DemandState::Open;
        }
        match appeal.visit.as_ref().and_then(|v| v.rating) {
            Some(Rating::Satisfied | Rating::Basic) => DemandState::Solved,
            _ => DemandState::ClosedUnsatisfied,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            DemandState::Open => "办理中",
            DemandState::Solved => "已解决（企业满意）",
            DemandState::ClosedUnsatisfied => "已办结（企业不满意或未回访）",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::run;
    use crate::UserId;

    fn who(role: Role) -> Actor {
        Actor {
            user: UserId(7),
            name: "张三".into(),
            role,
            unit: UnitId(20),
            unit_kind: crate::org::UnitKind::Township,
        }
    }

    #[test]
    fn credit_codes_are_checked_by_their_check_character() {
        // Published codes on business licences.
        for ok in [
            "91350100M000100Y43",
            "91110000802100433B",
            "91440300708461136T",
        ] {
            assert!(CreditCode::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            CreditCode::parse(" 91350100m000100y43 ").unwrap().as_str(),
            "91350100M000100Y43",
            "trimmed and upper-cased"
        );
        // One character changed: the check fails.
        assert!(CreditCode::parse("91350100M000100Y44")
            .unwrap_err()
            .contains("校验位"));
        assert!(CreditCode::parse("91350100M000100Y4")
            .unwrap_err()
            .contains("18位"));
        // I, O, S, V, Z are never used.
        assert!(CreditCode::parse("91350100M0001O0Y43")
            .unwrap_err()
            .contains("第 14 位"));
        assert_eq!(check_char("91350100M000100Y4"), Some('3'));
    }

    fn facts() -> EnterpriseFacts {
        EnterpriseFacts {
            name: "云溪智造科技有限公司".into(),
            industry: "制造业".into(),
            size: Size::Small,
            founded: NaiveDate::from_ymd_opt(2024, 3, 15).unwrap(),
            contact: "李经理".into(),
            phone: Some(Phone::parse("13800001111").unwrap()),
        }
    }

    fn at(grid: u32) -> Location {
        Location {
            grid: UnitId(grid),
            village: Some(UnitId(21)),
            township: UnitId(20),
        }
    }

    #[test]
    fn an_enterprise_keeps_every_stay_when_it_moves() {
        let now = crate::time::local(2026, 11, 2, 10, 0, 0).unwrap();
        let keeper = who(Role::GridMember);
        let first = Premises::Building {
            building: 1,
            at: at(22),
            unit: "1201".into(),
        };
        let e = run::<Enterprise>(
            None,
            EnterpriseCommand::Register {
                code: CreditCode::parse("91350100M000100Y43").unwrap(),
                facts: facts(),
                premises: Some(first.clone()),
                since: NaiveDate::from_ymd_opt(2024, 4, 1).unwrap(),
            },
            &keeper,
            now,
        )
        .unwrap();
        assert_eq!(
            e.age_months(NaiveDate::from_ymd_opt(2026, 3, 14).unwrap()),
            23
        );
        assert_eq!(
            e.age_months(NaiveDate::from_ymd_opt(2026, 3, 15).unwrap()),
            24
        );
        let second = Premises::Building {
            building: 2,
            at: at(22),
            unit: "0305".into(),
        };
        let moved = run(
            Some(&e),
            EnterpriseCommand::MoveIn {
                premises: second.clone(),
                on: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
                reason: "扩大经营".into(),
            },
            &keeper,
            now,
        )
        .unwrap();
        assert_eq!(moved.stays.len(), 2);
        assert_eq!(moved.stays[0].until, NaiveDate::from_ymd_opt(2026, 6, 1));
        assert_eq!(moved.premises, Some(second));
        let gone = run(
            Some(&moved),
            EnterpriseCommand::MoveOut {
                on: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
                reason: "迁往市区".into(),
            },
            &keeper,
            now,
        )
        .unwrap();
        assert_eq!(gone.premises, None);
        assert_eq!(gone.stays.len(), 2, "history kept");
        assert!(gone.index().contains(&("moved_out", "1".into())));
        // Not in the future, and a leader does not keep the registry.
        assert!(run(
            Some(&gone),
            EnterpriseCommand::MoveIn {
                premises: first,
                on: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                reason: String::new(),
            },
            &keeper,
            now,
        )
        .is_err());
        assert!(run(
            Some(&gone),
            EnterpriseCommand::Update(facts()),
            &who(Role::Leader),
            now
        )
        .is_err());
    }

    #[test]
    fn financing_is_asked_then_granted_once() {
        let now = crate::time::local(2026, 11, 2, 10, 0, 0).unwrap();
        let keeper = who(Role::Handler);
        let e = run::<Enterprise>(
            None,
            EnterpriseCommand::Register {
                code: CreditCode::parse("91110000802100433B").unwrap(),
                facts: facts(),
                premises: None,
                since: NaiveDate::from_ymd_opt(2024, 4, 1).unwrap(),
            },
            &keeper,
            now,
        )
        .unwrap();
        let asked = run(
            Some(&e),
            EnterpriseCommand::Finance {
                bank: "县农商银行".into(),
                asked: 500_000,
                on: NaiveDate::from_ymd_opt(2026, 10, 8).unwrap(),
                team: Some(3),
                note: String::new(),
            },
            &keeper,
            now,
        )
        .unwrap();
        let granted = run(
            Some(&asked),
            EnterpriseCommand::Financed {
                financing: 0,
                granted: 400_000,
                on: NaiveDate::from_ymd_opt(2026, 10, 20).unwrap(),
            },
            &keeper,
            now,
        )
        .unwrap();
        assert_eq!(granted.financing[0].granted, Some(400_000));
        assert!(
            run(
                Some(&granted),
                EnterpriseCommand::Financed {
                    financing: 0,
                    granted: 1,
                    on: NaiveDate::from_ymd_opt(2026, 10, 21).unwrap(),
                },
                &keeper,
                now,
            )
            .is_err(),
            "decided once"
        );
    }

    fn policy() -> EnterprisePolicy {
        EnterprisePolicy {
            name: "小微企业首贷贴息".into(),
            source: "云溪县促进中小企业发展若干措施（云政发〔2026〕3号）".into(),
            benefit: "首笔贷款按贷款市场报价利率的50%贴息，最高5万元".into(),
            how_to_apply: "向县中小企业服务中心提交申请".into(),
            rule: Eligibility {
                industries: vec!["制造业".into(), "信息技术服务业".into()],
                sizes: vec![Size::Micro, Size::Small],
                townships: vec![UnitId(20)],
                min_age_months: Some(6),
                max_age_months: Some(60),
            },
            from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            until: NaiveDate::from_ymd_opt(2026, 12, 31),
            withdrawn: None,
        }
    }

    #[test]
    fn policies_match_by_rule_and_effective_dates() {
        let p = policy();
        let name = |u: UnitId| format!("乡镇{}", u.0);
        let fits = Profile {
            industry: "制造业".into(),
            size: Size::Small,
            township: Some(UnitId(20)),
            age_months: 30,
        };
        let on = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let m = p.matches(&fits, on, name);
        assert!(m.eligible, "{m:?}");
        assert_eq!(m.reasons.len(), 6);
        // Before it takes effect and after it ends: not in force.
        assert!(
            !p.matches(&fits, NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(), name)
                .eligible
        );
        let after = p.matches(&fits, NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), name);
        assert!(!after.eligible);
        assert!(after.reasons[0].1.contains("到期"), "{after:?}");
        // On the last day it still applies.
        assert!(
            p.matches(&fits, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(), name)
                .eligible
        );
        // Each rule on its own.
        let too_big = Profile {
            size: Size::Medium,
            ..fits.clone()
        };
        let m = p.matches(&too_big, on, name);
        assert!(!m.eligible);
        assert_eq!(m.reasons.iter().filter(|r| !r.0).count(), 1);
        assert!(m.reasons.iter().any(|r| !r.0 && r.1.contains("中型")));
        assert!(
            !p.matches(
                &Profile {
                    industry: "批发和零售业".into(),
                    ..fits.clone()
                },
                on,
                name
            )
            .eligible
        );
        assert!(
            !p.matches(
                &Profile {
                    township: Some(UnitId(30)),
                    ..fits.clone()
                },
                on,
                name
            )
            .eligible
        );
        assert!(
            !p.matches(
                &Profile {
                    township: None,
                    ..fits.clone()
                },
                on,
                name
            )
            .eligible
        );
        assert!(
            !p.matches(
                &Profile {
                    age_months: 5,
                    ..fits.clone()
                },
                on,
                name
            )
            .eligible
        );
        assert!(
            p.matches(
                &Profile {
                    age_months: 6,
                    ..fits.clone()
                },
                on,
                name
            )
            .eligible
        );
        assert!(
            !p.matches(
                &Profile {
                    age_months: 61,
                    ..fits.clone()
                },
                on,
                name
            )
            .eligible
        );
        // An open rule lets everyone in while in force; a withdrawn policy no one.
        let open = EnterprisePolicy {
            rule: Eligibility::default(),
            ..p.clone()
        };
        assert!(
            open.matches(
                &Profile {
                    size: Size::Large,
                    township: None,
                    ..fits.clone()
                },
                on,
                name
            )
            .eligible
        );
        let withdrawn = EnterprisePolicy {
            withdrawn: Some("已整合".into()),
            ..p.clone()
        };
        assert!(!withdrawn.matches(&fits, on, name).eligible);
    }

    #[test]
    fn a_policy_is_checked_when_published() {
        let now = crate::time::local(2026, 11, 2, 10, 0, 0).unwrap();
        let mut bad = policy();
        bad.until = NaiveDate::from_ymd_opt(2025, 1, 1);
        assert!(run::<EnterprisePolicy>(
            None,
            PolicyCommand::Publish(Box::new(bad)),
            &who(Role::Dispatcher),
            now
        )
        .is_err());
        assert!(
            run::<EnterprisePolicy>(
                None,
                PolicyCommand::Publish(Box::new(policy())),
                &who(Role::GridMember),
                now
            )
            .is_err(),
            "grid members do not set policy"
        );
        assert!(run::<EnterprisePolicy>(
            None,
            PolicyCommand::Publish(Box::new(policy())),
            &who(Role::Dispatcher),
            now
        )
        .is_ok());
    }

    #[test]
    fn a_visit_records_only_configured_services_and_its_own_enterprises_demands() {
        let now = crate::time::local(2026, 11, 2, 10, 0, 0).unwrap();
        let keeper = who(Role::GridMember);
        let v = run::<ServiceVisit>(
            None,
            VisitCommand::Plan {
                team: 1,
                building: Some(4),
                enterprises: vec![10, 11, 10],
                on: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            },
            &keeper,
            now,
        )
        .unwrap();
        assert_eq!(v.enterprises, vec![10, 11]);
        let services: Vec<String> = DEFAULT_SERVICES.iter().map(|s| s.to_string()).collect();
        let record = |offered: &[&str], enterprise: u64| VisitCommand::Record {
            offered: offered.iter().map(|s| s.to_string()).collect(),
            note: String::new(),
            demands: vec![FoundDemand {
                enterprise,
                kind: DemandKind::Labour,
                text: "急需招聘焊工10名".into(),
                appeal: None,
            }],
            services: services.clone(),
        };
        assert!(run(Some(&v), record(&["上门送温暖"], 10), &keeper, now).is_err());
        assert!(run(Some(&v), record(&["政策宣讲"], 99), &keeper, now).is_err());
        let done = run(
            Some(&v),
            record(&["政策宣讲", "人才服务"], 10),
            &keeper,
            now,
        )
        .unwrap();
        assert_eq!(done.done.as_ref().unwrap().offered.len(), 2);
        let raised = run(
            Some(&done),
            VisitCommand::Raised {
                demand: 0,
                appeal: "2026-11-000001".into(),
            },
            &keeper,
            now,
        )
        .unwrap();
        assert_eq!(raised.demands[0].appeal.as_deref(), Some("2026-11-000001"));
        assert!(
            run(Some(&raised), record(&["政策宣讲"], 10), &keeper, now).is_err(),
            "recorded once"
        );
    }
}
