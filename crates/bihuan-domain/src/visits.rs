//! 入户听诉's work at the door, after the registry ([`crate::household`]): the cadres' assignments
//! (三包: a cadre carries grids or single households), visit campaigns (which grids and tags,
//! the period, the cadences) with the visit tasks they generate and their frozen denominator,
//! and the visits recorded at the door with what was heard and the needs found (四听, with the
//! topics as data; each need answered on the spot or raised as an appeal in one of the 五办
//! handling classes).
//!
//! Coverage is counted from the tasks' index entries (`cov`): every task says whether its
//! household was registered when the campaign launched (the frozen denominator) and whether
//! the household has been met, under its grid, village, township, cadre and the county, so a
//! coverage table is one grouped count and its drill-down one index read.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::aggregate::{require_role, Aggregate};
use crate::calendar::Calendar;
use crate::error::DomainError;
use crate::household::Location;
use crate::lifecycle::{Actor, Context, Role};
use crate::org::UnitId;
use crate::time::{local_date, Instant};
use crate::{Urgency, UserId};

/// The most households one cadre carries by name (grids carry any number).
pub const ASSIGN_HOUSEHOLDS_MAX: usize = 2_000;
/// The most grids one cadre carries.
pub const ASSIGN_GRIDS_MAX: usize = 50;
/// The most needs one visit records.
pub const NEEDS_MAX: usize = 10;
/// How far back a visit may be dated (a draft kept on a phone offline for days).
pub const BACKDATE_DAYS: i64 = 30;

use crate::aggregate::required_text as text;

/// Who organises the work: the township's staff and leaders, the centre, administrators.
const ORGANISERS: &[Role] = &[
    Role::Handler,
    Role::UnitLeader,
    Role::Dispatcher,
    Role::Admin,
];

// ---------------------------------------------------------------------------------------------
// 三包: a cadre's assignment

/// A cadre's assignment (包户/包片): the grids and the households they visit. One per cadre;
/// replaced whole, with its history kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Assignment {
    #[schema(value_type = u32)]
    pub cadre: UserId,
    pub name: String,
    /// The cadre's own unit.
    #[schema(value_type = u32)]
    pub unit: UnitId,
    /// 党员
    pub party_member: bool,
    /// Grids carried whole (包片).
    #[schema(value_type = Vec<u32>)]
    pub grids: Vec<UnitId>,
    /// Households carried by name (包户), over and above the grids.
    pub households: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentCommand {
    /// Assigns (or re-assigns) the cadre; empty lists release them.
    Set(Assignment),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AssignmentEvent {
    Assigned(Assignment),
}

impl Assignment {
    fn checked(mut self) -> Result<Assignment, DomainError> {
        self.name = text("cadre", &self.name, 30, "干部姓名")?;
        self.grids.sort();
        self.grids.dedup();
        self.households.sort_unstable();
        self.households.dedup();
        if self.grids.len() > ASSIGN_GRIDS_MAX {
            return Err(DomainError::invalid(
                "grids",
                format!("一名干部最多包{ASSIGN_GRIDS_MAX}个网格"),
            ));
        }
        if self.households.len() > ASSIGN_HOUSEHOLDS_MAX {
            return Err(DomainError::invalid(
                "households",
                format!("一名干部最多包{ASSIGN_HOUSEHOLDS_MAX}户（整片的请按网格包）"),
            ));
        }
        Ok(self)
    }
}

impl Aggregate for Assignment {
    const KIND: &'static str = "assignment";
    type Command = AssignmentCommand;
    type Event = AssignmentEvent;

    fn decide(
        state: Option<&Self>,
        command: &AssignmentCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<AssignmentEvent>, DomainError> {
        require_role(actor, ORGANISERS, "assign cadres")?;
        let AssignmentCommand::Set(a) = command;
        let a = a.clone().checked()?;
        match state {
            Some(s) if s.cadre != a.cadre => {
                Err(DomainError::invalid("cadre", "这是另一名干部的包户记录"))
            }
            Some(s) if *s == a => Ok(vec![]),
            _ => Ok(vec![AssignmentEvent::Assigned(a)]),
        }
    }

    fn apply(_state: Option<Self>, event: &AssignmentEvent, _at: Instant) -> Self {
        let AssignmentEvent::Assigned(a) = event;
        a.clone()
    }

    fn event_name(_event: &AssignmentEvent) -> &'static str {
        "assigned"
    }

    /// Found by the cadre, each grid and each household carried.
    fn index(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("cadre", self.cadre.0.to_string())];
        v.extend(self.grids.iter().map(|g| ("grid", g.0.to_string())));
        v.extend(self.households.iter().map(|h| ("household", h.to_string())));
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Visit campaigns

/// How often a rule's households are visited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// Once in the campaign, within `within` working days of its start.
    Once,
    /// Every calendar month of the campaign, by the month's last working day.
    Monthly,
}

impl Cadence {
    pub fn label(self) -> &'static str {
        match self {
            Cadence::Once => "走访一次",
            Cadence::Monthly => "每月一次",
        }
    }
}

/// Which households a cadence applies to: those with `tag`, or every household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VisitRule {
    #[serde(default)]
    pub tag: Option<String>,
    pub cadence: Cadence,
    /// For [`Cadence::Once`]: working days from the start (at most to the end).
    #[serde(default)]
    pub within: u32,
}

/// What a campaign covers and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CampaignPlan {
    pub name: String,
    #[schema(value_type = String, format = Date)]
    pub starts: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub ends: NaiveDate,
    /// Townships covered (empty with empty `grids`: the whole county).
    #[serde(default)]
    #[schema(value_type = Vec<u32>)]
    pub townships: Vec<UnitId>,
    /// Grids covered, besides whole townships.
    #[serde(default)]
    #[schema(value_type = Vec<u32>)]
    pub grids: Vec<UnitId>,
    pub rules: Vec<VisitRule>,
    /// 四听: what is asked about at the door (听民声、听民意 …).
    pub topics: Vec<String>,
}

impl CampaignPlan {
    fn checked(mut self) -> Result<CampaignPlan, DomainError> {
        self.name = text("name", &self.name, 40, "活动名称")?;
        if self.ends < self.starts {
            return Err(DomainError::invalid("ends", "结束日期不能早于开始日期"));
        }
        if (self.ends - self.starts).num_days() > 366 {
            return Err(DomainError::invalid("ends", "一次活动最长一年"));
        }
        self.townships.sort();
        self.townships.dedup();
        self.grids.sort();
        self.grids.dedup();
        if self.townships.len() + self.grids.len() > 500 {
            return Err(DomainError::invalid("grids", "范围最多500个乡镇和网格"));
        }
        if self.rules.is_empty() || self.rules.len() > 10 {
            return Err(DomainError::invalid("rules", "请设1至10条走访频次规则"));
        }
        for r in &mut self.rules {
            if let Some(t) = &r.tag {
                let t = t.trim();
                r.tag = (!t.is_empty()).then(|| t.to_string());
            }
            if r.cadence == Cadence::Once && !(1..=250).contains(&r.within) {
                return Err(DomainError::invalid(
                    "rules",
                    "「走访一次」须写明在开始后几个工作日内完成（1至250）",
                ));
            }
        }
        let mut topics: Vec<String> = Vec::new();
        for t in &self.topics {
            let t = text("topics", t, 12, "听诉主题")?;
            if !topics.contains(&t) {
                topics.push(t);
            }
        }
        if topics.is_empty() || topics.len() > 12 {
            return Err(DomainError::invalid("topics", "请设1至12个听诉主题"));
        }
        self.topics = topics;
        Ok(self)
    }

    /// Whether a household at `at` lies in the campaign's area.
    pub fn covers(&self, at: &Location) -> bool {
        (self.townships.is_empty() && self.grids.is_empty())
            || self.townships.contains(&at.township)
            || self.grids.contains(&at.grid)
    }

    /// The due dates of a household with `tags` (empty: the campaign does not visit it).
    pub fn rounds(&self, tags: &[String], cal: &Calendar) -> Result<Vec<NaiveDate>, DomainError> {
        let mut due = Vec::new();
        for r in &self.rules {
            if r.tag.as_ref().is_some_and(|t| !tags.contains(t)) {
                continue;
            }
            match r.cadence {
                Cadence::Once => {
                    due.push(cal.add_working_days(self.starts, r.within)?.min(self.ends));
                }
                Cadence::Monthly => {
                    let mut first = self.starts.with_day(1).expect("day 1");
                    while first <= self.ends {
                        let next = first
                            .checked_add_months(chrono::Months::new(1))
                            .expect("in range");
                        let mut d = next.pred_opt().expect("in range").min(self.ends);
                        // The month's last working day (within the campaign).
                        while d > self.starts.max(first) && !cal.is_workday(d)? {
                            d = d.pred_opt().expect("in range");
                        }
                        due.push(d);
                        first = next;
                    }
                }
            }
        }
        due.sort();
        due.dedup();
        Ok(due)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// 筹备: the plan may still change.
    Draft,
    /// 生成任务中: tasks are being generated (a launch cut short resumes here).
    Generating,
    /// 进行中
    Running,
    /// 已结束
    Ended,
}

impl CampaignStatus {
    pub fn label(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "筹备中",
            CampaignStatus::Generating => "生成任务中",
            CampaignStatus::Running => "进行中",
            CampaignStatus::Ended => "已结束",
        }
    }
}

/// How far task generation has come: households are taken in id order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Progress {
    /// The last household id taken.
    pub through: u64,
    /// The last task id written.
    pub last_task: u64,
    /// Tasks written so far.
    pub made: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Campaign {
    #[serde(flatten)]
    pub plan: CampaignPlan,
    pub status: CampaignStatus,
    pub progress: Progress,
    /// 应访户数: households registered in the area when the campaign launched.
    pub frozen: u64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub launched_at: Option<Instant>,
    #[serde(default)]
    pub ended_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignCommand {
    Plan(CampaignPlan),
    Revise(CampaignPlan),
    /// A batch of tasks written (the use case writes them, then records how far it came).
    Generated(Progress),
    /// Every household taken: the denominator is frozen at the tasks made.
    Launch,
    End {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CampaignEvent {
    Planned { plan: CampaignPlan },
    Revised { plan: CampaignPlan },
    Generated { progress: Progress },
    Launched { frozen: u64 },
    Ended { reason: String },
}

impl Aggregate for Campaign {
    const KIND: &'static str = "visit_campaign";
    type Command = CampaignCommand;
    type Event = CampaignEvent;

    fn decide(
        state: Option<&Self>,
        command: &CampaignCommand,
        actor: &Actor,
        _at: Instant,
        ctx: Context<'_>,
    ) -> Result<Vec<CampaignEvent>, DomainError> {
        use CampaignCommand as C;
        use CampaignStatus as S;
        require_role(actor, ORGANISERS, "organise visit campaigns")?;
        let status = state.map(|s| s.status);
        let wrong = |what: &str| {
            DomainError::invalid(
                "campaign",
                format!(
                    "活动{}，不能{what}",
                    status.map_or("尚未建立", |s| s.label())
                ),
            )
        };
        match (state, command) {
            (None, C::Plan(p)) | (Some(_), C::Revise(p)) => {
                if state.is_some_and(|s| s.status != S::Draft) {
                    return Err(wrong("修改方案"));
                }
                let plan = p.clone().checked()?;
                // Every due date must be computable on the calendar.
                plan.rounds(&[], ctx.calendar)?;
                Ok(vec![if state.is_none() {
                    CampaignEvent::Planned { plan }
                } else {
                    CampaignEvent::Revised { plan }
                }])
            }
            (Some(s), C::Generated(p)) if matches!(s.status, S::Draft | S::Generating) => {
                if p.through < s.progress.through || p.made < s.progress.made {
                    return Err(DomainError::invalid("campaign", "任务生成进度不能倒退"));
                }
                Ok(vec![CampaignEvent::Generated { progress: *p }])
            }
            (Some(s), C::Launch) if matches!(s.status, S::Draft | S::Generating) => {
                Ok(vec![CampaignEvent::Launched {
                    frozen: s.progress.made,
                }])
            }
            (Some(s), C::End { reason }) if s.status == S::Running => {
                Ok(vec![CampaignEvent::Ended {
                    reason: text("reason", reason, 200, "结束原因")?,
                }])
            }
            (None, _) => Err(wrong("操作")),
            (Some(_), C::Plan(_)) => Err(DomainError::invalid("campaign", "活动已经建立")),
            (Some(_), C::Generated(_)) => Err(wrong("生成任务")),
            (Some(_), C::Launch) => Err(wrong("启动")),
            (Some(_), C::End { .. }) => Err(wrong("结束")),
        }
    }

    fn apply(state: Option<Self>, event: &CampaignEvent, at: Instant) -> Self {
        use CampaignEvent as E;
        match (state, event) {
            (_, E::Planned { plan }) => Campaign {
                plan: plan.clone(),
                status: CampaignStatus::Draft,
                progress: Progress::default(),
                frozen: 0,
                launched_at: None,
                ended_reason: None,
            },
            (Some(mut c), E::Revised { plan }) => {
                c.plan = plan.clone();
                c
            }
            (Some(mut c), E::Generated { progress }) => {
                c.status = CampaignStatus::Generating;
                c.progress = *progress;
                c
            }
            (Some(mut c), E::Launched { frozen }) => {
                c.status = CampaignStatus::Running;
                c.frozen = *frozen;
                c.launched_at = Some(at);
                c
            }
            (Some(mut c), E::Ended { reason }) => {
                c.status = CampaignStatus::Ended;
                c.ended_reason = Some(reason.clone());
                c
            }
            (None, e) => panic!("a campaign starts with its plan, not {e:?}"),
        }
    }

    fn event_name(event: &CampaignEvent) -> &'static str {
        match event {
            CampaignEvent::Planned { .. } => "planned",
            CampaignEvent::Revised { .. } => "revised",
            CampaignEvent::Generated { .. } => "generated",
            CampaignEvent::Launched { .. } => "launched",
            CampaignEvent::Ended { .. } => "ended",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        let status = match self.status {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Generating => "generating",
            CampaignStatus::Running => "running",
            CampaignStatus::Ended => "ended",
        };
        vec![("status", status.to_string())]
    }
}

// ---------------------------------------------------------------------------------------------
// Visit tasks: one per household of a campaign

/// A due date of a task and the visit that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Round {
    #[schema(value_type = String, format = Date)]
    pub due: NaiveDate,
    pub visit: Option<u64>,
}

/// A household's visits owed in a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VisitTask {
    pub campaign: u64,
    pub household: u64,
    #[serde(flatten)]
    pub at: Location,
    #[schema(value_type = Option<u32>)]
    pub cadre: Option<UserId>,
    /// Registered when the campaign launched: counted in the denominator. A household added
    /// later is visited too, and reported apart.
    pub frozen: bool,
    pub rounds: Vec<Round>,
    /// Met at the door at least once (counted as covered).
    pub met: bool,
    /// Declined the visit (the round is done; not covered).
    pub refused: bool,
    /// Visits recorded, whatever the outcome.
    pub attempts: u32,
}

impl VisitTask {
    /// The first round still open.
    pub fn next_due(&self) -> Option<NaiveDate> {
        self.rounds
            .iter()
            .find(|r| r.visit.is_none())
            .map(|r| r.due)
    }

    /// The coverage flag of this task: `f`/`n` (frozen or added later) and `1`/`0` (met or not).
    fn flag(&self) -> &'static str {
        match (self.frozen, self.met) {
            (true, true) => "f1",
            (true, false) => "f0",
            (false, true) => "n1",
            (false, false) => "n0",
        }
    }
}

/// The levels coverage is counted at, with the prefix of their unit in the `cov` index.
pub fn levels(at: &Location, cadre: Option<UserId>) -> Vec<String> {
    let mut v = vec![
        "a".to_string(),
        format!("t{}", at.township.0),
        format!("g{}", at.grid.0),
        format!("c{}", cadre.map_or(0, |c| c.0)),
    ];
    if let Some(vil) = at.village {
        v.push(format!("v{}", vil.0));
    }
    v
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitTaskCommand {
    Generate(Box<VisitTask>),
    /// A visit recorded for this task.
    Record {
        visit: u64,
        outcome: Outcome,
    },
    Reassign {
        cadre: Option<UserId>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitTaskEvent {
    Generated { task: Box<VisitTask> },
    Visited { visit: u64, outcome: Outcome },
    Reassigned { cadre: Option<UserId> },
}

impl Aggregate for VisitTask {
    const KIND: &'static str = "visit_task";
    type Command = VisitTaskCommand;
    type Event = VisitTaskEvent;

    fn decide(
        state: Option<&Self>,
        command: &VisitTaskCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<VisitTaskEvent>, DomainError> {
        use VisitTaskCommand as C;
        match (state, command) {
            (None, C::Generate(t)) => {
                require_role(actor, ORGANISERS, "generate visit tasks")?;
                let mut t = t.clone();
                t.rounds.iter_mut().for_each(|r| r.visit = None);
                t.met = false;
                t.refused = false;
                t.attempts = 0;
                if t.rounds.is_empty() {
                    return Err(DomainError::invalid(
                        "rounds",
                        "走访任务至少要有一个完成时限",
                    ));
                }
                Ok(vec![VisitTaskEvent::Generated { task: t }])
            }
            (None, _) => Err(DomainError::invalid("task", "没有这项走访任务")),
            (Some(_), C::Generate(_)) => Err(DomainError::invalid("task", "任务已经生成")),
            (Some(t), C::Record { visit, outcome }) => {
                if t.rounds.iter().any(|r| r.visit == Some(*visit)) {
                    return Ok(vec![]);
                }
                Ok(vec![VisitTaskEvent::Visited {
                    visit: *visit,
                    outcome: *outcome,
                }])
            }
            (Some(t), C::Reassign { cadre }) => {
                require_role(actor, ORGANISERS, "reassign visit tasks")?;
                if t.cadre == *cadre {
                    return Ok(vec![]);
                }
                Ok(vec![VisitTaskEvent::Reassigned { cadre: *cadre }])
            }
        }
    }

    fn apply(state: Option<Self>, event: &VisitTaskEvent, _at: Instant) -> Self {
        use VisitTaskEvent as E;
        match (state, event) {
            (_, E::Generated { task }) => (**task).clone(),
            (Some(mut t), E::Visited { visit, outcome }) => {
                t.attempts += 1;
                match outcome {
                    Outcome::Met | Outcome::Refused => {
                        if let Some(r) = t.rounds.iter_mut().find(|r| r.visit.is_none()) {
                            r.visit = Some(*visit);
                        }
                        t.met |= *outcome == Outcome::Met;
                        t.refused |= *outcome == Outcome::Refused;
                    }
                    Outcome::NotHome => {}
                }
                t
            }
            (Some(mut t), E::Reassigned { cadre }) => {
                t.cadre = *cadre;
                t
            }
            (None, e) => panic!("a task starts generated, not {e:?}"),
        }
    }

    fn event_name(event: &VisitTaskEvent) -> &'static str {
        match event {
            VisitTaskEvent::Generated { .. } => "generated",
            VisitTaskEvent::Visited { .. } => "visited",
            VisitTaskEvent::Reassigned { .. } => "reassigned",
        }
    }

    /// Found by campaign, household and cadre (`{cadre}`; 0 when nobody carries it), and by
    /// coverage: `cov` = `{campaign}|{level}|{flag}` at every level of [`levels`].
    fn index(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("campaign", self.campaign.to_string()),
            ("household", self.household.to_string()),
            ("cadre", self.cadre.map_or(0, |c| c.0).to_string()),
        ];
        let flag = self.flag();
        for l in levels(&self.at, self.cadre) {
            v.push(("cov", format!("{}|{l}|{flag}", self.campaign)));
        }
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Visits

/// What happened at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 见面
    Met,
    /// 不在家
    NotHome,
    /// 拒访
    Refused,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Met, Outcome::NotHome, Outcome::Refused];
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Met => "见面走访",
            Outcome::NotHome => "不在家",
            Outcome::Refused => "拒绝走访",
        }
    }
}

/// A 五办 handling class: its name and the urgency whose deadlines its appeals run on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HandlingClass {
    pub code: String,
    pub name: String,
    pub urgency: Urgency,
    /// What the class is for.
    pub note: String,
}

impl HandlingClass {
    /// The five of the seed's 五办, each on the deadlines of an urgency of the policy table.
    pub fn defaults() -> Vec<HandlingClass> {
        let c = |code: &str, name: &str, urgency, note: &str| HandlingClass {
            code: code.into(),
            name: name.into(),
            urgency,
            note: note.into(),
        };
        vec![
            c(
                "immediate",
                "马上办",
                Urgency::Critical,
                "简单事项，当天办结（按特急时限）",
            ),
            c(
                "timed",
                "限时办",
                Urgency::Urgent,
                "一般事项，限时办结（按紧急时限）",
            ),
            c(
                "coordinated",
                "协调办",
                Urgency::Normal,
                "涉及多个单位，由中心协调交办",
            ),
            c(
                "tracked",
                "跟踪办",
                Urgency::Normal,
                "一时难以解决，跟踪办理、定期反馈",
            ),
            c(
                "revisit",
                "回访办",
                Urgency::Normal,
                "办结后在下次入户时当面回访",
            ),
        ]
    }
}

/// How a need found at the door is handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "handling", rename_all = "snake_case")]
pub enum Handling {
    /// 当场解答: answered at the door, with the answer.
    OnSpot { answer: String },
    /// 转为诉求: registered as an appeal (channel 入户走访) in a handling class.
    Appeal { class: String },
}

/// An appeal a need became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RaisedAppeal {
    pub id: u64,
    pub number: String,
}

/// A need found at the door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Need {
    pub text: String,
    #[serde(flatten)]
    pub handling: Handling,
    #[serde(default)]
    pub appeal: Option<RaisedAppeal>,
}

/// A return visit (回访) of an appeal this household raised, done at the door: the appeal's
/// own return-visit step, recorded by the use case with the visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DoorReturnVisit {
    pub appeal: RaisedAppeal,
    /// 问题是否解决
    pub resolved: bool,
    pub rating: crate::lifecycle::Rating,
    #[serde(default)]
    pub comment: String,
}

/// What a cadre records of one visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VisitRecord {
    pub household: u64,
    #[serde(flatten)]
    pub at: Location,
    pub campaign: Option<u64>,
    pub task: Option<u64>,
    #[schema(value_type = u32)]
    pub cadre: UserId,
    pub cadre_name: String,
    /// When the visit took place (a draft sent later keeps its own time).
    #[schema(value_type = String, format = DateTime)]
    pub visited_at: Instant,
    pub outcome: Outcome,
    /// The 四听 topics talked about.
    #[serde(default)]
    pub heard: Vec<String>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub needs: Vec<Need>,
    /// Return visits of the household's earlier appeals, done at this visit (回访办).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub return_visits: Vec<DoorReturnVisit>,
    /// The phone's draft id: the same draft sent twice is one visit.
    pub draft: String,
}

pub type Visit = VisitRecord;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitCommand {
    Record {
        record: Box<VisitRecord>,
        /// The topics and handling classes the record may name.
        topics: Vec<String>,
        classes: Vec<String>,
    },
    /// Need `need` became appeal `appeal`.
    Raised { need: usize, appeal: RaisedAppeal },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitEvent {
    Recorded { record: Box<VisitRecord> },
    Raised { need: usize, appeal: RaisedAppeal },
}

impl VisitRecord {
    fn checked(
        mut self,
        at: Instant,
        topics: &[String],
        classes: &[String],
    ) -> Result<VisitRecord, DomainError> {
        if self.visited_at > at + chrono::Duration::minutes(10) {
            return Err(DomainError::invalid(
                "visited_at",
                "走访时间不能晚于现在，请检查手机时间",
            ));
        }
        if self.visited_at < at - chrono::Duration::days(BACKDATE_DAYS) {
            return Err(DomainError::invalid(
                "visited_at",
                format!("只能补录{BACKDATE_DAYS}天内的走访"),
            ));
        }
        self.draft = self.draft.trim().to_string();
        if self.draft.is_empty()
            || self.draft.len() > 64
            || !self
                .draft
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(DomainError::invalid(
                "draft",
                "草稿编号应为1至64位字母、数字或短横线",
            ));
        }
        self.note = self.note.trim().to_string();
        if self.note.chars().count() > 1000 {
            return Err(DomainError::invalid("note", "走访情况最多1000字"));
        }
        self.heard.dedup();
        if let Some(t) = self.heard.iter().find(|t| !topics.contains(t)) {
            return Err(DomainError::invalid(
                "heard",
                format!("「{t}」不是本次活动的听诉主题（{}）", topics.join("、")),
            ));
        }
        if self.outcome != Outcome::Met && !self.needs.is_empty() {
            return Err(DomainError::invalid(
                "needs",
                "未见面的走访不能登记诉求，请在见面后记录",
            ));
        }
        if self.outcome != Outcome::Met && !self.return_visits.is_empty() {
            return Err(DomainError::invalid(
                "return_visits",
                "未见面的走访不能做回访，请在见面后记录",
            ));
        }
        if self.return_visits.len() > NEEDS_MAX {
            return Err(DomainError::invalid(
                "return_visits",
                format!("一次走访最多回访{NEEDS_MAX}件工单"),
            ));
        }
        for r in &mut self.return_visits {
            r.comment = r.comment.trim().to_string();
            if r.comment.chars().count() > 500 {
                return Err(DomainError::invalid("return_visits", "回访意见最多500字"));
            }
        }
        if self.needs.len() > NEEDS_MAX {
            return Err(DomainError::invalid(
                "needs",
                format!("一次走访最多记录{NEEDS_MAX}条诉求"),
            ));
        }
        for n in &mut self.needs {
            n.text = text("needs", &n.text, 500, "诉求内容")?;
            n.appeal = None;
            match &mut n.handling {
                Handling::OnSpot { answer } => *answer = text("answer", answer, 500, "答复内容")?,
                Handling::Appeal { class } => {
                    if !classes.contains(class) {
                        return Err(DomainError::invalid(
                            "class",
                            format!("没有办理类别「{class}」"),
                        ));
                    }
                }
            }
        }
        Ok(self)
    }
}

/// Anyone who goes to the door: every role but the server itself.
fn visitor(actor: &Actor) -> Result<(), DomainError> {
    if actor.role == Role::System {
        return Err(DomainError::RoleForbidden {
            role: actor.role,
            action: "record visits",
        });
    }
    Ok(())
}

impl Aggregate for VisitRecord {
    const KIND: &'static str = "visit";
    type Command = VisitCommand;
    type Event = VisitEvent;
    /// 2: the `township` entry (a campaign's 纠纷排查 reads a township's visits).
    const INDEX_VERSION: u32 = 2;

    fn decide(
        state: Option<&Self>,
        command: &VisitCommand,
        actor: &Actor,
        at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<VisitEvent>, DomainError> {
        match (state, command) {
            (
                None,
                VisitCommand::Record {
                    record,
                    topics,
                    classes,
                },
            ) => {
                visitor(actor)?;
                let record = Box::new((**record).clone().checked(at, topics, classes)?);
                Ok(vec![VisitEvent::Recorded { record }])
            }
            (None, _) => Err(DomainError::invalid("visit", "没有这次走访")),
            (Some(_), VisitCommand::Record { .. }) => {
                Err(DomainError::invalid("visit", "走访已经记录"))
            }
            (Some(v), VisitCommand::Raised { need, appeal }) => match v.needs.get(*need) {
                Some(n) if n.appeal.is_some() => Ok(vec![]),
                Some(Need {
                    handling: Handling::Appeal { .. },
                    ..
                }) => Ok(vec![VisitEvent::Raised {
                    need: *need,
                    appeal: appeal.clone(),
                }]),
                _ => Err(DomainError::invalid("needs", "这条诉求不需转为工单")),
            },
        }
    }

    fn apply(state: Option<Self>, event: &VisitEvent, _at: Instant) -> Self {
        match (state, event) {
            (_, VisitEvent::Recorded { record }) => (**record).clone(),
            (Some(mut v), VisitEvent::Raised { need, appeal }) => {
                if let Some(n) = v.needs.get_mut(*need) {
                    n.appeal = Some(appeal.clone());
                }
                v
            }
            (None, e) => panic!("a visit starts recorded, not {e:?}"),
        }
    }

    fn event_name(event: &VisitEvent) -> &'static str {
        match event {
            VisitEvent::Recorded { .. } => "recorded",
            VisitEvent::Raised { .. } => "raised",
        }
    }

    /// Found by household, cadre, township, campaign, the phone's draft (`{cadre}|{draft}`) and each
    /// appeal raised (`appeal`, and `raised` = `{campaign}|{appeal}` for a campaign's count); needs are counted by `need` = `{campaign}|{level}|{s or a}|{n}` (answered
    /// on the spot or raised, the need's position making each need its own entry).
    fn index(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("household", self.household.to_string()),
            ("cadre", self.cadre.0.to_string()),
            ("draft", format!("{}|{}", self.cadre.0, self.draft)),
            ("day", local_date(self.visited_at).to_string()),
            ("township", self.at.township.0.to_string()),
        ];
        if let Some(c) = self.campaign {
            v.push(("campaign", c.to_string()));
            let levels = levels(&self.at, Some(self.cadre));
            for (i, n) in self.needs.iter().enumerate() {
                let k = match n.handling {
                    Handling::OnSpot { .. } => "s",
                    Handling::Appeal { .. } => "a",
                };
                for l in &levels {
                    v.push(("need", format!("{c}|{l}|{k}|{i}")));
                }
            }
        }
        for a in self.needs.iter().filter_map(|n| n.appeal.as_ref()) {
            v.push(("appeal", a.id.to_string()));
            if let Some(c) = self.campaign {
                v.push(("raised", format!("{c}|{}", a.id)));
            }
        }
        v
    }
}

/// A campaign's coverage of one unit (or cadre): from the tallies of the `cov` index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Coverage {
    /// 应访户数 (the frozen denominator)
    pub households: u64,
    /// 已走访户数 of them (met at the door)
    pub visited: u64,
    /// Added after the launch, and of those met.
    pub added: u64,
    pub added_visited: u64,
    /// Needs found, answered on the spot, raised as appeals.
    pub needs: u64,
    pub answered: u64,
    pub raised: u64,
}

impl Coverage {
    /// 走访覆盖率 in percent (frozen households met / frozen households), if any are owed.
    pub fn rate(&self) -> Option<f64> {
        (self.households > 0).then(|| 100.0 * self.visited as f64 / self.households as f64)
    }

    /// Adds a tally row of the `cov` index (`flag` as in the task's index).
    pub fn add_flag(&mut self, flag: &str, n: u64) {
        match flag {
            "f1" => {
                self.households += n;
                self.visited += n;
            }
            "f0" => self.households += n,
            "n1" => {
                self.added += n;
                self.added_visited += n;
            }
            "n0" => self.added += n,
            _ => {}
        }
    }

    /// Adds a tally row of the `need` index (`s`: answered on the spot, `a`: raised).
    pub fn add_need(&mut self, kind: &str, n: u64) {
        self.needs += n;
        match kind {
            "s" => self.answered += n,
            "a" => self.raised += n,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::{ctx, run};
    use crate::org::UnitKind;

    fn actor(role: Role) -> Actor {
        Actor {
            user: UserId(7),
            name: "李干部".into(),
            role,
            unit: UnitId(20),
            unit_kind: UnitKind::Township,
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn plan() -> CampaignPlan {
        CampaignPlan {
            name: " 2026年入户听诉 ".into(),
            starts: d(2026, 9, 1),
            ends: d(2026, 12, 31),
            townships: vec![UnitId(20)],
            grids: vec![],
            rules: vec![
                VisitRule {
                    tag: None,
                    cadence: Cadence::Once,
                    within: 20,
                },
                VisitRule {
                    tag: Some("独居老人".into()),
                    cadence: Cadence::Monthly,
                    within: 0,
                },
            ],
            topics: vec![
                "听民声".into(),
                "听民意".into(),
                "听民需".into(),
                "听民盼".into(),
            ],
        }
    }

    #[test]
    fn due_dates_follow_the_working_day_calendar() {
        let p = plan().checked().unwrap();
        let cal = ctx().calendar;
        // 20 working days after 1 September 2026 (not counted): Sunday 20 September is worked
        // (调休 for 国庆) and Friday 25 September is off (中秋), so the 20th is Tuesday the 29th.
        assert_eq!(p.rounds(&[], cal).unwrap(), vec![d(2026, 9, 29)]);
        // Monthly: the last working day of each month. 30 September 2026 is a Wednesday
        // (worked), 31 October a Saturday (so Friday the 30th), 30 November a Monday, and
        // 31 December a Thursday.
        let lone = p.rounds(&["独居老人".to_string()], cal).unwrap();
        assert_eq!(
            lone,
            vec![
                d(2026, 9, 29),
                d(2026, 9, 30),
                d(2026, 10, 30),
                d(2026, 11, 30),
                d(2026, 12, 31)
            ]
        );
        for due in &lone {
            assert!(cal.is_workday(*due).unwrap(), "{due} is a working day");
        }
    }

    #[test]
    fn a_campaign_is_planned_generated_launched_with_its_denominator_frozen_and_ended() {
        let at = crate::time::local(2026, 9, 1, 9, 0, 0).unwrap();
        let who = actor(Role::UnitLeader);
        assert!(run::<Campaign>(
            None,
            CampaignCommand::Plan(plan()),
            &actor(Role::GridMember),
            at
        )
        .is_err());
        let mut bad = plan();
        bad.rules[0].within = 0;
        assert!(run::<Campaign>(None, CampaignCommand::Plan(bad), &who, at).is_err());
        let c = run::<Campaign>(None, CampaignCommand::Plan(plan()), &who, at).unwrap();
        assert_eq!(c.plan.name, "2026年入户听诉");
        let p = Progress {
            through: 900,
            last_task: 40,
            made: 40,
        };
        let c = run(Some(&c), CampaignCommand::Generated(p), &who, at).unwrap();
        assert_eq!(c.status, CampaignStatus::Generating);
        let back = Progress { made: 10, ..p };
        assert!(run(Some(&c), CampaignCommand::Generated(back), &who, at).is_err());
        assert!(run(Some(&c), CampaignCommand::Revise(plan()), &who, at).is_err());
        let c = run(Some(&c), CampaignCommand::Launch, &who, at).unwrap();
        assert_eq!((c.status, c.frozen), (CampaignStatus::Running, 40));
        assert!(run(Some(&c), CampaignCommand::Generated(p), &who, at).is_err());
        let end = CampaignCommand::End {
            reason: "活动期满".into(),
        };
        let c = run(Some(&c), end, &who, at).unwrap();
        assert_eq!(c.status, CampaignStatus::Ended);
    }

    fn task(frozen: bool) -> VisitTask {
        VisitTask {
            campaign: 3,
            household: 11,
            at: Location {
                grid: UnitId(22),
                village: Some(UnitId(21)),
                township: UnitId(20),
            },
            cadre: Some(UserId(7)),
            frozen,
            rounds: vec![
                Round {
                    due: d(2026, 9, 29),
                    visit: None,
                },
                Round {
                    due: d(2026, 10, 30),
                    visit: None,
                },
            ],
            met: false,
            refused: false,
            attempts: 0,
        }
    }

    #[test]
    fn a_task_is_covered_only_when_the_household_is_met_and_counts_under_every_level() {
        let at = crate::time::local(2026, 9, 2, 9, 0, 0).unwrap();
        let who = actor(Role::UnitLeader);
        let t = run::<VisitTask>(
            None,
            VisitTaskCommand::Generate(Box::new(task(true))),
            &who,
            at,
        )
        .unwrap();
        assert!(t.index().contains(&("cov", "3|g22|f0".to_string())));
        let rec = |visit, outcome| VisitTaskCommand::Record { visit, outcome };
        let grid = actor(Role::GridMember);
        let t = run(Some(&t), rec(100, Outcome::NotHome), &grid, at).unwrap();
        assert_eq!(
            (t.met, t.attempts, t.next_due()),
            (false, 1, Some(d(2026, 9, 29)))
        );
        let t = run(Some(&t), rec(101, Outcome::Met), &grid, at).unwrap();
        assert!(t.met);
        assert_eq!(t.next_due(), Some(d(2026, 10, 30)));
        // The same visit again changes nothing.
        assert_eq!(run(Some(&t), rec(101, Outcome::Met), &grid, at).unwrap(), t);
        let cov: Vec<_> = t.index().into_iter().filter(|(k, _)| *k == "cov").collect();
        let want: Vec<_> = ["a", "t20", "g22", "c7", "v21"]
            .iter()
            .map(|l| ("cov", format!("3|{l}|f1")))
            .collect();
        assert_eq!(cov, want);
        let mut c = Coverage::default();
        c.add_flag("f1", 3);
        c.add_flag("f0", 1);
        c.add_flag("n1", 2);
        assert_eq!((c.households, c.visited, c.added), (4, 3, 2));
        assert_eq!(c.rate(), Some(75.0));
    }

    fn visit(outcome: Outcome, needs: Vec<Need>, at: Instant) -> VisitCommand {
        VisitCommand::Record {
            record: Box::new(VisitRecord {
                household: 11,
                at: task(true).at,
                campaign: Some(3),
                task: Some(5),
                cadre: UserId(7),
                cadre_name: "李干部".into(),
                visited_at: at,
                outcome,
                heard: vec!["听民声".into()],
                note: String::new(),
                needs,
                return_visits: vec![],
                draft: "d-1".into(),
            }),
            topics: plan().topics,
            classes: HandlingClass::defaults()
                .into_iter()
                .map(|c| c.code)
                .collect(),
        }
    }

    #[test]
    fn a_visit_keeps_its_needs_and_links_the_appeals_they_became() {
        let at = crate::time::local(2026, 9, 2, 9, 0, 0).unwrap();
        let who = actor(Role::GridMember);
        let needs = vec![
            Need {
                text: "路灯坏了".into(),
                handling: Handling::Appeal {
                    class: "timed".into(),
                },
                appeal: None,
            },
            Need {
                text: "医保怎么续".into(),
                handling: Handling::OnSpot {
                    answer: "已告知线上续缴办法".into(),
                },
                appeal: None,
            },
        ];
        // Needs only from a household met; no visit in the future or long past.
        assert!(run::<Visit>(None, visit(Outcome::NotHome, needs.clone(), at), &who, at).is_err());
        let later = at + chrono::Duration::hours(2);
        assert!(run::<Visit>(None, visit(Outcome::Met, vec![], later), &who, at).is_err());
        let long_ago = at - chrono::Duration::days(31);
        assert!(run::<Visit>(None, visit(Outcome::Met, vec![], long_ago), &who, at).is_err());
        let mut bad = needs.clone();
        bad[0].handling = Handling::Appeal {
            class: "whenever".into(),
        };
        assert!(run::<Visit>(None, visit(Outcome::Met, bad, at), &who, at).is_err());
        let v = run::<Visit>(None, visit(Outcome::Met, needs, at), &who, at).unwrap();
        let idx = v.index();
        assert!(idx.contains(&("need", "3|g22|a|0".to_string())));
        assert!(idx.contains(&("need", "3|g22|s|1".to_string())));
        assert!(idx.contains(&("draft", "7|d-1".to_string())));
        let raised = RaisedAppeal {
            id: 900,
            number: "R1".into(),
        };
        let on_spot = VisitCommand::Raised {
            need: 1,
            appeal: raised.clone(),
        };
        assert!(run(Some(&v), on_spot, &who, at).is_err());
        let v = run(
            Some(&v),
            VisitCommand::Raised {
                need: 0,
                appeal: raised,
            },
            &who,
            at,
        )
        .unwrap();
        assert!(v.index().contains(&("appeal", "900".to_string())));
    }

    #[test]
    fn an_assignment_carries_grids_and_households_and_is_found_by_each() {
        let at = crate::time::local(2026, 9, 1, 9, 0, 0).unwrap();
        let a = Assignment {
            cadre: UserId(9),
            name: "张党员".into(),
            unit: UnitId(20),
            party_member: true,
            grids: vec![UnitId(22), UnitId(22)],
            households: vec![5, 3, 5],
        };
        assert!(run::<Assignment>(
            None,
            AssignmentCommand::Set(a.clone()),
            &actor(Role::GridMember),
            at
        )
        .is_err());
        let s = run::<Assignment>(
            None,
            AssignmentCommand::Set(a),
            &actor(Role::UnitLeader),
            at,
        )
        .unwrap();
        assert_eq!(s.households, vec![3, 5]);
        assert_eq!(
            s.index(),
            vec![
                ("cadre", "9".to_string()),
                ("grid", "22".to_string()),
                ("household", "3".to_string()),
                ("household", "5".to_string())
            ]
        );
    }
}
