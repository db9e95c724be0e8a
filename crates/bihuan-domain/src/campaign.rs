//! 战役化推进、清单化落责: a campaign (the year's 三大会战, 十大攻坚战, a 专项行动) made of battles,
//! each battle a checklist of items with an owner unit, a responsible leader, a deadline, a
//! baseline, a target and an actual value, and milestones.
//!
//! An item's actual value comes from evidence wherever the platform has it (整治形式主义为基层减负
//! 若干规定: a unit reports only what the platform cannot compute, and a photo is never the
//! criterion):
//! - [`Measure::Backlog`] (问题清仓): the share of the owner unit's appeals that were overdue when
//!   the campaign began and have been closed since; the use case counts them from the appeals.
//! - [`Measure::Disputes`] (纠纷排查): the share of the needs found at household visits in the
//!   owner township, on a topic, that were resolved (answered at the door, or the appeal they
//!   became closed).
//! - [`Measure::Milestones`] (民生实事): the milestones reported done by the owner, with files if
//!   it has them, and confirmed by a leader.
//! - [`Measure::Reported`]: a value the owner reports; it counts once a leader confirms it, and is
//!   shown as self-reported.
//!
//! The computed measures come in as a [`Tally`] (how many there are to do, and when each was
//! done), so every figure — the actual value, the status, the completion date, the burn-down —
//! is a function of the stored state, the tally and an instant.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::aggregate::{require_role, required_text as text, Aggregate};
use crate::error::DomainError;
use crate::lifecycle::{Actor, Context, Role};
use crate::org::UnitId;
use crate::time::{end_of_day, local_date, Instant};

/// The most battles a campaign has.
pub const BATTLES_MAX: usize = 30;
/// The most items a campaign has.
pub const ITEMS_MAX: usize = 2_000;
/// The most milestones an item has.
pub const MILESTONES_MAX: usize = 30;
/// The most reports an item keeps.
pub const REPORTS_MAX: usize = 500;
/// The most files a report carries.
pub const FILES_MAX: usize = 10;

/// Who configures campaigns: the centre (派单员), supervision and administrators.
pub const CENTRE_ROLES: &[Role] = &[Role::Dispatcher, Role::Supervisor, Role::Admin];
/// Who reports an item's progress: the owner unit's staff and leader.
pub const OWNER_ROLES: &[Role] = &[Role::Handler, Role::UnitLeader];
/// Who confirms what the owners report: the county's leaders.
pub const CONFIRM_ROLES: &[Role] = &[Role::Leader];

/// What kind of campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    /// 会战
    Battle,
    /// 攻坚战
    Assault,
    /// 专项行动
    Special,
}

impl CampaignKind {
    pub const ALL: [CampaignKind; 3] = [
        CampaignKind::Battle,
        CampaignKind::Assault,
        CampaignKind::Special,
    ];
    pub fn label(self) -> &'static str {
        match self {
            CampaignKind::Battle => "会战",
            CampaignKind::Assault => "攻坚战",
            CampaignKind::Special => "专项行动",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            CampaignKind::Battle => "battle",
            CampaignKind::Assault => "assault",
            CampaignKind::Special => "special",
        }
    }
    pub fn parse(s: &str) -> Option<CampaignKind> {
        CampaignKind::ALL
            .into_iter()
            .find(|k| k.code() == s || k.label() == s)
    }
}

/// How an item's actual value is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Measure {
    /// 单位自报, counted once a leader confirms it.
    Reported,
    /// 节点推进: the milestones confirmed done; the target is their number.
    Milestones,
    /// 问题清仓: the percentage of the owner unit's appeals overdue when the campaign began that
    /// have been closed since.
    Backlog,
    /// 纠纷排查: the percentage of the needs found at household visits in the owner township
    /// since the campaign began whose text names a dispute (any of `words`, by default 矛盾 and
    /// 纠纷) that were resolved: answered at the door, or the appeal they became closed.
    Disputes {
        #[serde(default = "dispute_words")]
        words: Vec<String>,
    },
}

/// The words a need names a dispute by, unless an item says otherwise.
pub fn dispute_words() -> Vec<String> {
    vec!["矛盾".into(), "纠纷".into()]
}

impl Measure {
    pub fn label(&self) -> &'static str {
        match self {
            Measure::Reported => "单位自报",
            Measure::Milestones => "节点推进",
            Measure::Backlog => "平台计算·问题清仓",
            Measure::Disputes { .. } => "平台计算·纠纷化解",
        }
    }
    pub fn code(&self) -> &'static str {
        match self {
            Measure::Reported => "reported",
            Measure::Milestones => "milestones",
            Measure::Backlog => "backlog",
            Measure::Disputes { .. } => "disputes",
        }
    }
    /// Computed from platform data (no report needed).
    pub fn computed(&self) -> bool {
        matches!(self, Measure::Backlog | Measure::Disputes { .. })
    }
}

/// A computed measure's evidence: how many there are to do, and when each that is done was
/// done (the use case counts them from the appeals or the visits).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tally {
    pub of: u64,
    #[schema(value_type = Vec<String>)]
    pub done: Vec<Instant>,
}

impl Tally {
    pub fn done_by(&self, t: Instant) -> u64 {
        self.done.iter().filter(|d| **d <= t).count() as u64
    }
}

/// A battle (一场会战 / 攻坚战) of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Battle {
    pub no: u32,
    pub name: String,
    /// 牵头领导
    pub leader: String,
    /// 目标
    #[serde(default)]
    pub goal: String,
}

/// A milestone (节点) of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Milestone {
    pub no: u32,
    pub title: String,
    #[schema(value_type = String, format = Date)]
    pub due: NaiveDate,
}

/// A file a report carries, kept with the event by its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evidence {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

/// A leader's decision on a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Review {
    pub confirmed: bool,
    pub by: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    #[serde(default)]
    pub note: String,
}

/// What an owner reports: a value, or a milestone done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub no: u32,
    pub milestone: Option<u32>,
    pub value: Option<f64>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub files: Vec<Evidence>,
    pub by: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    pub review: Option<Review>,
}

impl Report {
    /// Confirmed by a leader at or before `t`.
    fn confirmed_by(&self, t: Instant) -> bool {
        self.review
            .as_ref()
            .is_some_and(|r| r.confirmed && r.at <= t)
    }
}

/// Why and when an item was withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Withdrawn {
    pub reason: String,
    pub by: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
}

/// A change to an item's deadline, target or leader, with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Revision {
    pub reason: String,
    pub by: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    /// What it was before, in words (e.g. 完成时限 2026-06-30 → 2026-09-30).
    pub change: String,
}

/// A checklist item (清单事项).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Item {
    pub no: u32,
    pub battle: u32,
    pub title: String,
    #[schema(value_type = u32)]
    pub owner: UnitId,
    pub owner_name: String,
    /// 责任领导
    pub leader: String,
    #[schema(value_type = String, format = Date)]
    pub due: NaiveDate,
    /// The deadline as given, in working days from the campaign's start, when it was.
    #[serde(default)]
    pub due_working_days: Option<u32>,
    pub measure: Measure,
    /// 计量单位 (件, 个, %, 公里 …)
    pub unit: String,
    pub baseline: f64,
    pub target: f64,
    #[serde(default)]
    pub milestones: Vec<Milestone>,
    #[serde(default)]
    pub reports: Vec<Report>,
    #[serde(default)]
    pub revisions: Vec<Revision>,
    #[serde(default)]
    pub withdrawn: Option<Withdrawn>,
}

/// Where an item stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// 未启动: nothing done yet, deadline not passed.
    NotStarted,
    /// 推进中
    Active,
    /// 已完成: the target reached (confirmed or computed).
    Done,
    /// 已逾期: the deadline passed, the target not reached.
    Overdue,
    /// 已撤销
    Withdrawn,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 5] = [
        ItemStatus::NotStarted,
        ItemStatus::Active,
        ItemStatus::Done,
        ItemStatus::Overdue,
        ItemStatus::Withdrawn,
    ];
    pub fn label(self) -> &'static str {
        match self {
            ItemStatus::NotStarted => "未启动",
            ItemStatus::Active => "推进中",
            ItemStatus::Done => "已完成",
            ItemStatus::Overdue => "已逾期",
            ItemStatus::Withdrawn => "已撤销",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            ItemStatus::NotStarted => "not_started",
            ItemStatus::Active => "active",
            ItemStatus::Done => "done",
            ItemStatus::Overdue => "overdue",
            ItemStatus::Withdrawn => "withdrawn",
        }
    }
    pub fn parse(s: &str) -> Option<ItemStatus> {
        ItemStatus::ALL.into_iter().find(|k| k.code() == s)
    }
}

impl Item {
    /// The target the progress runs to: the number of milestones for [`Measure::Milestones`].
    pub fn goal(&self) -> f64 {
        match self.measure {
            Measure::Milestones => self.milestones.len() as f64,
            _ => self.target,
        }
    }

    /// The baseline the progress runs from (0 for milestones).
    pub fn start(&self) -> f64 {
        match self.measure {
            Measure::Milestones => 0.0,
            _ => self.baseline,
        }
    }

    /// The milestone is confirmed done at or before `t`.
    pub fn milestone_done(&self, no: u32, t: Instant) -> Option<Instant> {
        self.reports
            .iter()
            .filter(|r| r.milestone == Some(no) && r.confirmed_by(t))
            .filter_map(|r| r.review.as_ref().map(|v| v.at))
            .min()
    }

    /// The actual value at `t`: the latest confirmed report, the confirmed milestones, or the
    /// tally's share done (in %). `None`: nothing known yet.
    pub fn actual_at(&self, t: Instant, tally: Option<&Tally>) -> Option<f64> {
        match &self.measure {
            Measure::Reported => self
                .reports
                .iter()
                .filter(|r| r.value.is_some() && r.confirmed_by(t))
                .max_by_key(|r| r.review.as_ref().map(|v| (v.at, r.no)))
                .and_then(|r| r.value),
            Measure::Milestones => Some(
                self.milestones
                    .iter()
                    .filter(|m| self.milestone_done(m.no, t).is_some())
                    .count() as f64,
            ),
            Measure::Backlog | Measure::Disputes { .. } => {
                let tally = tally?;
                if tally.of == 0 {
                    return Some(100.0);
                }
                Some(tally.done_by(t) as f64 * 100.0 / tally.of as f64)
            }
        }
    }

    /// How far from the baseline to the target an actual value is, 0 to 1 (a target below the
    /// baseline counts down).
    pub fn progress_of(&self, actual: Option<f64>) -> f64 {
        let Some(a) = actual else { return 0.0 };
        let (b, g) = (self.start(), self.goal());
        if (g - b).abs() < f64::EPSILON {
            return if (g >= b && a >= g) || (g < b && a <= g) {
                1.0
            } else {
                0.0
            };
        }
        ((a - b) / (g - b)).clamp(0.0, 1.0)
    }

    /// When the target was first reached, if it has been by `now`: the earliest review or done
    /// time at which the progress is whole.
    pub fn completed_at(&self, now: Instant, tally: Option<&Tally>) -> Option<Instant> {
        let mut times: Vec<Instant> = match &self.measure {
            Measure::Backlog | Measure::Disputes { .. } => {
                let tally = tally?;
                if tally.of == 0 {
                    return None;
                }
                tally.done.clone()
            }
            _ => self
                .reports
                .iter()
                .filter_map(|r| r.review.as_ref().filter(|v| v.confirmed).map(|v| v.at))
                .collect(),
        };
        times.retain(|t| *t <= now);
        times.sort();
        times
            .into_iter()
            .find(|t| self.progress_of(self.actual_at(*t, tally)) >= 1.0)
    }

    /// The item's status at `now`. A computed item with nothing to do (no overdue appeals at
    /// the start, no disputes found) is done from the start.
    pub fn status(&self, now: Instant, tally: Option<&Tally>) -> ItemStatus {
        if self.withdrawn.as_ref().is_some_and(|w| w.at <= now) {
            return ItemStatus::Withdrawn;
        }
        let actual = self.actual_at(now, tally);
        let done = self.progress_of(actual) >= 1.0;
        if done {
            return ItemStatus::Done;
        }
        if local_date(now) > self.due {
            return ItemStatus::Overdue;
        }
        let started = self.progress_of(actual) > 0.0 || !self.reports.is_empty();
        if started {
            ItemStatus::Active
        } else {
            ItemStatus::NotStarted
        }
    }

    /// Reports waiting for a leader.
    pub fn pending(&self) -> impl Iterator<Item = &Report> {
        self.reports.iter().filter(|r| r.review.is_none())
    }

    /// Milestones past their date and not confirmed done at `now`.
    pub fn late_milestones(&self, now: Instant) -> impl Iterator<Item = &Milestone> {
        let today = local_date(now);
        self.milestones
            .iter()
            .filter(move |m| m.due < today && self.milestone_done(m.no, now).is_none())
    }
}

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CampaignStage)]
pub enum CampaignStatus {
    /// 推进中
    Running,
    /// 已收官
    Concluded,
}

impl CampaignStatus {
    pub fn label(self) -> &'static str {
        match self {
            CampaignStatus::Running => "推进中",
            CampaignStatus::Concluded => "已收官",
        }
    }
}

/// A campaign with its battles and checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = CampaignChecklist)]
pub struct Campaign {
    pub name: String,
    pub kind: CampaignKind,
    #[schema(value_type = String, format = Date)]
    pub starts: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub ends: NaiveDate,
    /// 总指挥 / 牵头领导
    pub lead: String,
    #[serde(default)]
    pub note: String,
    pub battles: Vec<Battle>,
    pub items: Vec<Item>,
    pub status: CampaignStatus,
    #[serde(default)]
    pub summary: Option<String>,
}

/// A new battle.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
pub struct NewBattle {
    /// 战役名称
    pub name: String,
    /// 牵头领导
    pub leader: String,
    /// 目标
    #[serde(default)]
    pub goal: String,
}

/// When a new item is due: a date, or working days from the campaign's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Due {
    #[schema(value_type = String, format = Date)]
    Date(NaiveDate),
    WorkingDays(u32),
}

/// A new milestone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
pub struct NewMilestone {
    pub title: String,
    #[schema(value_type = String, format = Date)]
    pub due: NaiveDate,
}

/// A new checklist item as the centre (or a spreadsheet row) gives it. The owner's name comes
/// from the organisation (the use case fills it in).
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct NewItem {
    /// 所属战役（编号）
    pub battle: u32,
    /// 事项名称
    pub title: String,
    /// 责任单位（编号）
    #[schema(value_type = u32)]
    pub owner: UnitId,
    #[serde(default, skip_deserializing)]
    #[schema(ignore)]
    pub owner_name: String,
    /// 责任领导
    pub leader: String,
    /// 完成时限
    pub due: Due,
    pub measure: Measure,
    /// 计量单位
    #[serde(default)]
    pub unit: String,
    /// 基数
    #[serde(default)]
    pub baseline: f64,
    /// 目标值（平台计算的事项为百分比，如 100）
    #[serde(default)]
    pub target: f64,
    #[serde(default)]
    pub milestones: Vec<NewMilestone>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CampaignCommand {
    Create {
        name: String,
        kind: CampaignKind,
        starts: NaiveDate,
        ends: NaiveDate,
        lead: String,
        note: String,
        battles: Vec<NewBattle>,
    },
    AddBattle(NewBattle),
    /// Items added together: all or none (the use case reports each bad row first).
    AddItems(Vec<NewItem>),
    /// The owner reports a value or a milestone done.
    Report {
        item: u32,
        milestone: Option<u32>,
        value: Option<f64>,
        note: String,
        files: Vec<Evidence>,
    },
    /// A leader confirms or sends back a report.
    Review {
        item: u32,
        report: u32,
        confirmed: bool,
        note: String,
    },
    /// The centre moves a deadline, a target or the responsible leader, with a reason.
    Revise {
        item: u32,
        due: Option<NaiveDate>,
        target: Option<f64>,
        leader: Option<String>,
        reason: String,
    },
    Withdraw {
        item: u32,
        reason: String,
    },
    Conclude {
        summary: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CampaignEvent {
    Created {
        name: String,
        kind: CampaignKind,
        starts: NaiveDate,
        ends: NaiveDate,
        lead: String,
        note: String,
        battles: Vec<Battle>,
    },
    BattleAdded {
        battle: Battle,
    },
    ItemsAdded {
        items: Vec<Item>,
    },
    Reported {
        item: u32,
        report: Report,
    },
    Reviewed {
        item: u32,
        report: u32,
        review: Review,
    },
    Revised {
        item: u32,
        due: Option<NaiveDate>,
        target: Option<f64>,
        leader: Option<String>,
        revision: Revision,
    },
    Withdrawn {
        item: u32,
        withdrawn: Withdrawn,
    },
    Concluded {
        summary: String,
    },
}

fn battle(no: u32, b: &NewBattle) -> Result<Battle, DomainError> {
    Ok(Battle {
        no,
        name: text("battles", &b.name, 40, "战役名称")?,
        leader: text("battles", &b.leader, 40, "战役的牵头领导")?,
        goal: optional("battles", &b.goal, 500, "战役目标")?,
    })
}

fn optional(field: &'static str, s: &str, max: usize, what: &str) -> Result<String, DomainError> {
    if s.trim().is_empty() {
        Ok(String::new())
    } else {
        text(field, s, max, what)
    }
}

fn finite(field: &'static str, v: f64, what: &str) -> Result<f64, DomainError> {
    if v.is_finite() && v.abs() <= 1e12 {
        Ok(v)
    } else {
        Err(DomainError::invalid(
            field,
            format!("{what}须为有效数字（绝对值不超过一万亿）"),
        ))
    }
}

impl NewItem {
    /// The item this row makes in `campaign` as its `no`-th, or why not.
    pub fn checked(
        &self,
        campaign: &Campaign,
        no: u32,
        ctx: Context<'_>,
    ) -> Result<Item, DomainError> {
        if !campaign.battles.iter().any(|b| b.no == self.battle) {
            return Err(DomainError::invalid(
                "battle",
                format!(
                    "没有编号为 {} 的战役（本活动有：{}）",
                    self.battle,
                    campaign
                        .battles
                        .iter()
                        .map(|b| format!("{} {}", b.no, b.name))
                        .collect::<Vec<_>>()
                        .join("、")
                ),
            ));
        }
        let title = text("item.title", &self.title, 200, "事项名称")?;
        if self.owner_name.trim().is_empty() {
            return Err(DomainError::invalid("item.owner", "请选择责任单位"));
        }
        let leader = text("item.leader", &self.leader, 40, "责任领导")?;
        let (due, due_working_days) = match self.due {
            Due::Date(d) => (d, None),
            Due::WorkingDays(0) => {
                return Err(DomainError::invalid("due", "工作日时限须至少为 1 个工作日"))
            }
            Due::WorkingDays(n) => (
                ctx.calendar
                    .add_working_days(campaign.starts, n)
                    .map_err(|e| DomainError::invalid("due", e.to_string()))?,
                Some(n),
            ),
        };
        if due < campaign.starts || due > campaign.ends {
            return Err(DomainError::invalid(
                "due",
                format!(
                    "完成时限 {due} 须在活动期内（{} 至 {}）",
                    campaign.starts, campaign.ends
                ),
            ));
        }
        let mut unit = optional("unit", &self.unit, 10, "计量单位")?;
        let baseline = finite("baseline", self.baseline, "基数")?;
        let mut target = finite("target", self.target, "目标值")?;
        match &self.measure {
            Measure::Reported => {
                if (target - baseline).abs() < f64::EPSILON {
                    return Err(DomainError::invalid(
                        "target",
                        "自报事项的目标值须与基数不同（否则无从衡量进度）",
                    ));
                }
            }
            Measure::Milestones => {
                if self.milestones.is_empty() {
                    return Err(DomainError::invalid(
                        "milestones",
                        "节点推进的事项须至少有一个节点",
                    ));
                }
                target = self.milestones.len() as f64;
                unit = "个节点".into();
            }
            Measure::Backlog | Measure::Disputes { .. } => {
                if !(0.0..=100.0).contains(&target) || target == 0.0 {
                    return Err(DomainError::invalid(
                        "target",
                        "平台计算的事项以百分比为目标，须大于 0、不超过 100",
                    ));
                }
                unit = "%".into();
            }
        }
        let measure = match &self.measure {
            Measure::Disputes { words } => {
                let mut out: Vec<String> = Vec::new();
                for w in words {
                    let w = text("measure", w, 10, "纠纷关键词")?;
                    if !out.contains(&w) {
                        out.push(w);
                    }
                }
                if out.len() > 10 {
                    return Err(DomainError::invalid("measure", "纠纷关键词最多 10 个"));
                }
                Measure::Disputes {
                    words: if out.is_empty() { dispute_words() } else { out },
                }
            }
            m => m.clone(),
        };
        if self.milestones.len() > MILESTONES_MAX {
            return Err(DomainError::invalid(
                "milestones",
                format!("一个事项最多 {MILESTONES_MAX} 个节点"),
            ));
        }
        let mut milestones = Vec::new();
        for (i, m) in self.milestones.iter().enumerate() {
            let title = text("milestones", &m.title, 100, "节点名称")?;
            if m.due < campaign.starts || m.due > due {
                return Err(DomainError::invalid(
                    "milestones",
                    format!(
                        "节点「{title}」的日期 {} 须在活动开始（{}）与事项时限（{due}）之间",
                        m.due, campaign.starts
                    ),
                ));
            }
            milestones.push(Milestone {
                no: i as u32 + 1,
                title,
                due: m.due,
            });
        }
        milestones.sort_by_key(|m| m.due);
        Ok(Item {
            no,
            battle: self.battle,
            title,
            owner: self.owner,
            owner_name: self.owner_name.clone(),
            leader,
            due,
            due_working_days,
            measure,
            unit,
            baseline: if self.measure.computed() {
                0.0
            } else {
                baseline
            },
            target,
            milestones,
            reports: Vec::new(),
            revisions: Vec::new(),
            withdrawn: None,
        })
    }
}

impl Campaign {
    pub fn item(&self, no: u32) -> Option<&Item> {
        self.items.iter().find(|i| i.no == no)
    }

    fn item_mut(&mut self, no: u32) -> Option<&mut Item> {
        self.items.iter_mut().find(|i| i.no == no)
    }

    pub fn battle(&self, no: u32) -> Option<&Battle> {
        self.battles.iter().find(|b| b.no == no)
    }

    fn next_item_no(&self) -> u32 {
        self.items.iter().map(|i| i.no).max().unwrap_or(0) + 1
    }

    fn open_item(&self, no: u32) -> Result<&Item, DomainError> {
        let Some(item) = self.item(no) else {
            return Err(DomainError::invalid(
                "item",
                format!("没有编号为 {no} 的事项"),
            ));
        };
        if item.withdrawn.is_some() {
            return Err(DomainError::invalid("item", "该事项已撤销"));
        }
        Ok(item)
    }

    fn running(&self) -> Result<(), DomainError> {
        if self.status == CampaignStatus::Concluded {
            return Err(DomainError::invalid("checklist", "活动已收官，不能再修改"));
        }
        Ok(())
    }

    /// The end of a campaign's last day, or `now` if sooner: what a closing figure is read at.
    pub fn as_of(&self, now: Instant) -> Instant {
        now.min(end_of_day(self.ends))
    }

    /// The number of items not yet done (and not withdrawn) at the end of each week from the
    /// start to `now` (or the end), beside the ideal straight line to zero at the end.
    pub fn burn_down(&self, now: Instant, tallies: &BTreeMap<u32, Tally>) -> Vec<BurnPoint> {
        let live: Vec<&Item> = self
            .items
            .iter()
            .filter(|i| i.withdrawn.is_none())
            .collect();
        let total = live.len() as f64;
        let span = (self.ends - self.starts).num_days().max(1) as f64;
        let mut out = Vec::new();
        let mut day = self.starts;
        let last = self.ends.min(local_date(now));
        loop {
            let at = end_of_day(day).min(now);
            let open = live
                .iter()
                .filter(|i| i.status(at, tallies.get(&i.no)) != ItemStatus::Done)
                .count() as u64;
            let elapsed = (day - self.starts).num_days() as f64;
            out.push(BurnPoint {
                day,
                open,
                ideal: (total * (1.0 - elapsed / span)).max(0.0),
            });
            if day >= last {
                break;
            }
            day = (day + Duration::days(7)).min(last);
        }
        out
    }
}

/// One point of a burn-down.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BurnPoint {
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    pub open: u64,
    pub ideal: f64,
}

/// The Monday of `d`'s week.
pub fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

fn owner_of(actor: &Actor, item: &Item) -> Result<(), DomainError> {
    require_role(actor, OWNER_ROLES, "report campaign items")?;
    if actor.unit != item.owner {
        return Err(DomainError::invalid(
            "item",
            format!("该事项由「{}」负责，只有责任单位可以填报", item.owner_name),
        ));
    }
    Ok(())
}

impl Aggregate for Campaign {
    const KIND: &'static str = "campaign";
    type Command = CampaignCommand;
    type Event = CampaignEvent;

    fn decide(
        state: Option<&Self>,
        command: &CampaignCommand,
        actor: &Actor,
        at: Instant,
        ctx: Context<'_>,
    ) -> Result<Vec<CampaignEvent>, DomainError> {
        let Some(c) = state else {
            let CampaignCommand::Create {
                name,
                kind,
                starts,
                ends,
                lead,
                note,
                battles,
            } = command
            else {
                return Err(DomainError::invalid("checklist", "没有这个活动"));
            };
            require_role(actor, CENTRE_ROLES, "create campaigns")?;
            let name = text("campaign.name", name, 60, "活动名称")?;
            let lead = text("campaign.lead", lead, 40, "牵头领导")?;
            let note = optional("note", note, 2000, "说明")?;
            if ends < starts {
                return Err(DomainError::invalid("ends", "结束日期不能早于开始日期"));
            }
            if (*ends - *starts).num_days() > 3 * 366 {
                return Err(DomainError::invalid("ends", "一个活动最长三年"));
            }
            if battles.is_empty() || battles.len() > BATTLES_MAX {
                return Err(DomainError::invalid(
                    "battles",
                    format!("请设 1 至 {BATTLES_MAX} 场战役"),
                ));
            }
            let mut out = Vec::new();
            for (i, b) in battles.iter().enumerate() {
                let b = battle(i as u32 + 1, b)?;
                if out.iter().any(|x: &Battle| x.name == b.name) {
                    return Err(DomainError::invalid(
                        "battles",
                        format!("战役「{}」重复", b.name),
                    ));
                }
                out.push(b);
            }
            return Ok(vec![CampaignEvent::Created {
                name,
                kind: *kind,
                starts: *starts,
                ends: *ends,
                lead,
                note,
                battles: out,
            }]);
        };
        match command {
            CampaignCommand::Create { .. } => {
                Err(DomainError::invalid("checklist", "活动已经建立"))
            }
            CampaignCommand::AddBattle(b) => {
                require_role(actor, CENTRE_ROLES, "configure campaigns")?;
                c.running()?;
                if c.battles.len() >= BATTLES_MAX {
                    return Err(DomainError::invalid(
                        "battles",
                        format!("一个活动最多 {BATTLES_MAX} 场战役"),
                    ));
                }
                let b = battle(c.battles.len() as u32 + 1, b)?;
                if c.battles.iter().any(|x| x.name == b.name) {
                    return Err(DomainError::invalid(
                        "battles",
                        format!("战役「{}」已经有了", b.name),
                    ));
                }
                Ok(vec![CampaignEvent::BattleAdded { battle: b }])
            }
            CampaignCommand::AddItems(items) => {
                require_role(actor, CENTRE_ROLES, "configure campaigns")?;
                c.running()?;
                if items.is_empty() {
                    return Err(DomainError::invalid("items", "没有要添加的事项"));
                }
                if c.items.len() + items.len() > ITEMS_MAX {
                    return Err(DomainError::invalid(
                        "items",
                        format!("一个活动最多 {ITEMS_MAX} 个事项"),
                    ));
                }
                let first = c.next_item_no();
                let mut out = Vec::with_capacity(items.len());
                for (i, n) in items.iter().enumerate() {
                    let item = n.checked(c, first + i as u32, ctx).map_err(|e| match e {
                        DomainError::Invalid { field, reason } if items.len() > 1 => {
                            DomainError::invalid(field, format!("第 {} 条：{reason}", i + 1))
                        }
                        e => e,
                    })?;
                    out.push(item);
                }
                Ok(vec![CampaignEvent::ItemsAdded { items: out }])
            }
            CampaignCommand::Report {
                item,
                milestone,
                value,
                note,
                files,
            } => {
                c.running()?;
                let it = c.open_item(*item)?;
                owner_of(actor, it)?;
                if it.reports.len() >= REPORTS_MAX {
                    return Err(DomainError::invalid("item", "该事项的报告已达上限"));
                }
                if files.len() > FILES_MAX {
                    return Err(DomainError::invalid(
                        "files",
                        format!("一次最多附 {FILES_MAX} 个文件"),
                    ));
                }
                let note = optional("note", note, 2000, "情况说明")?;
                match (milestone, value) {
                    (Some(_), Some(_)) => {
                        return Err(DomainError::invalid(
                            "value",
                            "一次报告只报一个节点或一个完成值",
                        ))
                    }
                    (None, None) => {
                        return Err(DomainError::invalid(
                            "value",
                            "请填写完成值，或选择已完成的节点",
                        ))
                    }
                    (Some(m), None) => {
                        let Some(ms) = it.milestones.iter().find(|x| x.no == *m) else {
                            return Err(DomainError::invalid(
                                "milestone",
                                format!("该事项没有编号为 {m} 的节点"),
                            ));
                        };
                        if it.milestone_done(*m, at).is_some() {
                            return Err(DomainError::invalid(
                                "milestone",
                                format!("节点「{}」已确认完成", ms.title),
                            ));
                        }
                        if it.pending().any(|r| r.milestone == Some(*m)) {
                            return Err(DomainError::invalid(
                                "milestone",
                                format!("节点「{}」已报告，正等待领导确认", ms.title),
                            ));
                        }
                    }
                    (None, Some(v)) => {
                        if it.measure != Measure::Reported {
                            return Err(DomainError::invalid(
                                "value",
                                if it.measure.computed() {
                                    "该事项的完成值由平台数据自动计算，无需填报"
                                } else {
                                    "该事项按节点推进：请报告完成的节点"
                                },
                            ));
                        }
                        finite("value", *v, "完成值")?;
                        if it.pending().any(|r| r.value.is_some()) {
                            return Err(DomainError::invalid(
                                "value",
                                "上一次填报的完成值正等待领导确认，确认或退回后再报",
                            ));
                        }
                    }
                }
                Ok(vec![CampaignEvent::Reported {
                    item: *item,
                    report: Report {
                        no: it.reports.len() as u32 + 1,
                        milestone: *milestone,
                        value: *value,
                        note,
                        files: files.clone(),
                        by: actor.name.clone(),
                        at,
                        review: None,
                    },
                }])
            }
            CampaignCommand::Review {
                item,
                report,
                confirmed,
                note,
            } => {
                require_role(actor, CONFIRM_ROLES, "confirm campaign reports")?;
                c.running()?;
                let it = c.open_item(*item)?;
                let Some(r) = it.reports.iter().find(|r| r.no == *report) else {
                    return Err(DomainError::invalid(
                        "report",
                        format!("该事项没有第 {report} 次报告"),
                    ));
                };
                if r.review.is_some() {
                    return Err(DomainError::invalid("report", "这次报告已经审核过了"));
                }
                let note = optional("note", note, 1000, "审核意见")?;
                if !confirmed && note.is_empty() {
                    return Err(DomainError::invalid("note", "退回时请写明原因"));
                }
                Ok(vec![CampaignEvent::Reviewed {
                    item: *item,
                    report: *report,
                    review: Review {
                        confirmed: *confirmed,
                        by: actor.name.clone(),
                        at,
                        note,
                    },
                }])
            }
            CampaignCommand::Revise {
                item,
                due,
                target,
                leader,
                reason,
            } => {
                require_role(actor, CENTRE_ROLES, "configure campaigns")?;
                c.running()?;
                let it = c.open_item(*item)?;
                let reason = text("reason", reason, 500, "调整原因")?;
                let mut change = Vec::new();
                let due = due.filter(|d| *d != it.due);
                if let Some(d) = due {
                    if d < c.starts || d > c.ends {
                        return Err(DomainError::invalid(
                            "due",
                            format!("完成时限须在活动期内（{} 至 {}）", c.starts, c.ends),
                        ));
                    }
                    change.push(format!("完成时限 {} → {d}", it.due));
                }
                let target = target.filter(|t| (*t - it.target).abs() > f64::EPSILON);
                if let Some(t) = target {
                    if it.measure == Measure::Milestones {
                        return Err(DomainError::invalid(
                            "target",
                            "节点推进的事项以节点数为目标，不能另设",
                        ));
                    }
                    finite("target", t, "目标值")?;
                    if it.measure.computed() && !(t > 0.0 && t <= 100.0) {
                        return Err(DomainError::invalid(
                            "target",
                            "平台计算的事项以百分比为目标，须大于 0、不超过 100",
                        ));
                    }
                    change.push(format!("目标值 {} → {t}", it.target));
                }
                let leader = match leader {
                    Some(l) if l.trim() != it.leader => {
                        let l = text("item.leader", l, 40, "责任领导")?;
                        change.push(format!("责任领导 {} → {l}", it.leader));
                        Some(l)
                    }
                    _ => None,
                };
                if change.is_empty() {
                    return Err(DomainError::invalid("item", "没有要调整的内容"));
                }
                Ok(vec![CampaignEvent::Revised {
                    item: *item,
                    due,
                    target,
                    leader,
                    revision: Revision {
                        reason,
                        by: actor.name.clone(),
                        at,
                        change: change.join("；"),
                    },
                }])
            }
            CampaignCommand::Withdraw { item, reason } => {
                require_role(actor, CENTRE_ROLES, "configure campaigns")?;
                c.running()?;
                c.open_item(*item)?;
                Ok(vec![CampaignEvent::Withdrawn {
                    item: *item,
                    withdrawn: Withdrawn {
                        reason: text("reason", reason, 500, "撤销原因")?,
                        by: actor.name.clone(),
                        at,
                    },
                }])
            }
            CampaignCommand::Conclude { summary } => {
                require_role(actor, CENTRE_ROLES, "conclude campaigns")?;
                c.running()?;
                Ok(vec![CampaignEvent::Concluded {
                    summary: text("campaign.summary", summary, 4000, "收官总结")?,
                }])
            }
        }
    }

    fn apply(state: Option<Self>, event: &CampaignEvent, _at: Instant) -> Self {
        let mut c = match (state, event) {
            (
                _,
                CampaignEvent::Created {
                    name,
                    kind,
                    starts,
                    ends,
                    lead,
                    note,
                    battles,
                },
            ) => {
                return Campaign {
                    name: name.clone(),
                    kind: *kind,
                    starts: *starts,
                    ends: *ends,
                    lead: lead.clone(),
                    note: note.clone(),
                    battles: battles.clone(),
                    items: Vec::new(),
                    status: CampaignStatus::Running,
                    summary: None,
                }
            }
            (Some(c), _) => c,
            (None, e) => panic!("a campaign starts created, not {e:?}"),
        };
        match event {
            CampaignEvent::Created { .. } => {}
            CampaignEvent::BattleAdded { battle } => c.battles.push(battle.clone()),
            CampaignEvent::ItemsAdded { items } => c.items.extend(items.iter().cloned()),
            CampaignEvent::Reported { item, report } => {
                if let Some(i) = c.item_mut(*item) {
                    i.reports.push(report.clone());
                }
            }
            CampaignEvent::Reviewed {
                item,
                report,
                review,
            } => {
                if let Some(r) = c
                    .item_mut(*item)
                    .and_then(|i| i.reports.iter_mut().find(|r| r.no == *report))
                {
                    r.review = Some(review.clone());
                }
            }
            CampaignEvent::Revised {
                item,
                due,
                target,
                leader,
                revision,
            } => {
                if let Some(i) = c.item_mut(*item) {
                    if let Some(d) = due {
                        i.due = *d;
                        i.due_working_days = None;
                    }
                    if let Some(t) = target {
                        i.target = *t;
                    }
                    if let Some(l) = leader {
                        i.leader = l.clone();
                    }
                    i.revisions.push(revision.clone());
                }
            }
            CampaignEvent::Withdrawn { item, withdrawn } => {
                if let Some(i) = c.item_mut(*item) {
                    i.withdrawn = Some(withdrawn.clone());
                }
            }
            CampaignEvent::Concluded { summary } => {
                c.status = CampaignStatus::Concluded;
                c.summary = Some(summary.clone());
            }
        }
        c
    }

    fn event_name(event: &CampaignEvent) -> &'static str {
        match event {
            CampaignEvent::Created { .. } => "created",
            CampaignEvent::BattleAdded { .. } => "battle_added",
            CampaignEvent::ItemsAdded { .. } => "items_added",
            CampaignEvent::Reported { .. } => "reported",
            CampaignEvent::Reviewed { .. } => "reviewed",
            CampaignEvent::Revised { .. } => "revised",
            CampaignEvent::Withdrawn { .. } => "withdrawn",
            CampaignEvent::Concluded { .. } => "concluded",
        }
    }

    /// Found by status, kind, and each owner unit (`owner`), so a unit's page lists the
    /// campaigns it has items in.
    fn index(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            (
                "status",
                match self.status {
                    CampaignStatus::Running => "running".to_string(),
                    CampaignStatus::Concluded => "concluded".to_string(),
                },
            ),
            ("kind", self.kind.code().to_string()),
        ];
        let mut owners: Vec<u32> = self.items.iter().map(|i| i.owner.0).collect();
        owners.sort_unstable();
        owners.dedup();
        v.extend(owners.into_iter().map(|o| ("owner", o.to_string())));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::{ctx, run};
    use crate::org::UnitKind;
    use crate::time::start_of_day;
    use crate::UserId;

    fn actor(role: Role, unit: u32) -> Actor {
        Actor {
            user: UserId(7),
            name: "张三".into(),
            role,
            unit: UnitId(unit),
            unit_kind: UnitKind::Department,
        }
    }
    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(y: i32, m: u32, day: u32) -> Instant {
        start_of_day(d(y, m, day)) + Duration::hours(10)
    }
    fn centre() -> Actor {
        actor(Role::Dispatcher, 1)
    }
    fn created() -> Campaign {
        run::<Campaign>(
            None,
            CampaignCommand::Create {
                name: "2026年三大会战".into(),
                kind: CampaignKind::Battle,
                starts: d(2026, 3, 2),
                ends: d(2026, 12, 31),
                lead: "县委副书记 李四".into(),
                note: String::new(),
                battles: vec![
                    NewBattle {
                        name: "问题清仓".into(),
                        leader: "李四".into(),
                        goal: String::new(),
                    },
                    NewBattle {
                        name: "民生实事".into(),
                        leader: "王五".into(),
                        goal: String::new(),
                    },
                ],
            },
            &centre(),
            t(2026, 3, 2),
        )
        .unwrap()
    }
    fn new_item(measure: Measure) -> NewItem {
        NewItem {
            battle: 1,
            title: "清理超期工单".into(),
            owner: UnitId(5),
            owner_name: "县住建局".into(),
            leader: "李四".into(),
            due: Due::Date(d(2026, 6, 30)),
            measure,
            unit: "件".into(),
            baseline: 0.0,
            target: 100.0,
            milestones: vec![],
        }
    }
    fn with(c: &Campaign, items: Vec<NewItem>) -> Campaign {
        run::<Campaign>(
            Some(c),
            CampaignCommand::AddItems(items),
            &centre(),
            t(2026, 3, 3),
        )
        .unwrap()
    }

    #[test]
    fn working_day_deadlines_use_the_official_calendar() {
        let c = created();
        let mut n = new_item(Measure::Backlog);
        // 2026-03-02 is a Monday; 20 working days later (no holiday in March) is 2026-03-30.
        n.due = Due::WorkingDays(20);
        let c = with(&c, vec![n]);
        assert_eq!(c.items[0].due, d(2026, 3, 30));
        assert_eq!(c.items[0].due_working_days, Some(20));
        assert_eq!(c.items[0].unit, "%");
    }

    #[test]
    fn a_computed_item_is_valued_from_its_tally() {
        let c = with(&created(), vec![new_item(Measure::Backlog)]);
        let item = &c.items[0];
        let tally = Tally {
            of: 4,
            done: vec![t(2026, 3, 10), t(2026, 4, 1), t(2026, 4, 20)],
        };
        assert_eq!(item.actual_at(t(2026, 3, 31), Some(&tally)), Some(25.0));
        assert_eq!(item.actual_at(t(2026, 5, 1), Some(&tally)), Some(75.0));
        assert_eq!(item.status(t(2026, 5, 1), Some(&tally)), ItemStatus::Active);
        assert_eq!(
            item.status(t(2026, 7, 1), Some(&tally)),
            ItemStatus::Overdue
        );
        let all = Tally {
            of: 4,
            done: vec![t(2026, 3, 10), t(2026, 4, 1), t(2026, 4, 20), t(2026, 5, 6)],
        };
        assert_eq!(item.status(t(2026, 7, 1), Some(&all)), ItemStatus::Done);
        assert_eq!(
            item.completed_at(t(2026, 7, 1), Some(&all)),
            Some(t(2026, 5, 6))
        );
        // Nothing overdue when it began: done from the start, with no completion date.
        let none = Tally::default();
        assert_eq!(item.status(t(2026, 3, 5), Some(&none)), ItemStatus::Done);
        // No tally read yet: nothing known.
        assert_eq!(item.actual_at(t(2026, 3, 5), None), None);
        // A computed item takes no report.
        let err = run::<Campaign>(
            Some(&c),
            CampaignCommand::Report {
                item: 1,
                milestone: None,
                value: Some(50.0),
                note: String::new(),
                files: vec![],
            },
            &actor(Role::Handler, 5),
            t(2026, 4, 1),
        )
        .unwrap_err();
        assert!(err.to_string().contains("自动计算"), "{err}");
    }

    #[test]
    fn a_self_report_counts_once_a_leader_confirms_it() {
        let mut n = new_item(Measure::Reported);
        n.battle = 2;
        n.title = "新建口袋公园".into();
        n.unit = "个".into();
        n.target = 10.0;
        let c = with(&created(), vec![n]);
        let owner = actor(Role::Handler, 5);
        // Another unit may not report it.
        let err = run::<Campaign>(
            Some(&c),
            CampaignCommand::Report {
                item: 1,
                milestone: None,
                value: Some(4.0),
                note: String::new(),
                files: vec![],
            },
            &actor(Role::Handler, 6),
            t(2026, 4, 1),
        )
        .unwrap_err();
        assert!(err.to_string().contains("责任单位"), "{err}");
        let c = run::<Campaign>(
            Some(&c),
            CampaignCommand::Report {
                item: 1,
                milestone: None,
                value: Some(4.0),
                note: "已建成4个".into(),
                files: vec![],
            },
            &owner,
            t(2026, 4, 1),
        )
        .unwrap();
        let item = c.item(1).unwrap();
        assert_eq!(
            item.actual_at(t(2026, 4, 2), None),
            None,
            "not confirmed yet"
        );
        assert_eq!(item.status(t(2026, 4, 2), None), ItemStatus::Active);
        // The owner may not confirm it.
        assert!(run::<Campaign>(
            Some(&c),
            CampaignCommand::Review {
                item: 1,
                report: 1,
                confirmed: true,
                note: String::new()
            },
            &owner,
            t(2026, 4, 2)
        )
        .is_err());
        let leader = actor(Role::Leader, 1);
        let c = run::<Campaign>(
            Some(&c),
            CampaignCommand::Review {
                item: 1,
                report: 1,
                confirmed: true,
                note: String::new(),
            },
            &leader,
            t(2026, 4, 3),
        )
        .unwrap();
        let item = c.item(1).unwrap();
        assert_eq!(item.actual_at(t(2026, 4, 3), None), Some(4.0));
        assert!((item.progress_of(Some(4.0)) - 0.4).abs() < 1e-9);
        // A report sent back needs a reason, and does not count.
        let c = run::<Campaign>(
            Some(&c),
            CampaignCommand::Report {
                item: 1,
                milestone: None,
                value: Some(10.0),
                note: String::new(),
                files: vec![],
            },
            &owner,
            t(2026, 5, 1),
        )
        .unwrap();
        assert!(run::<Campaign>(
            Some(&c),
            CampaignCommand::Review {
                item: 1,
                report: 2,
                confirmed: false,
                note: String::new()
            },
            &leader,
            t(2026, 5, 2)
        )
        .is_err());
        let c = run::<Campaign>(
            Some(&c),
            CampaignCommand::Review {
                item: 1,
                report: 2,
                confirmed: false,
                note: "第5至10个尚未验收".into(),
            },
            &leader,
            t(2026, 5, 2),
        )
        .unwrap();
        assert_eq!(c.item(1).unwrap().actual_at(t(2026, 5, 3), None), Some(4.0));
    }

    #[test]
    fn milestones_count_when_confirmed_and_late_ones_show() {
        let mut n = new_item(Measure::Milestones);
        n.title = "城南菜市场改造".into();
        n.milestones = vec![
            NewMilestone {
                title: "完成设计".into(),
                due: d(2026, 4, 30),
            },
            NewMilestone {
                title: "完工验收".into(),
                due: d(2026, 6, 30),
            },
        ];
        let c = with(&created(), vec![n]);
        let item = c.item(1).unwrap();
        assert_eq!(item.goal(), 2.0);
        assert_eq!(item.late_milestones(t(2026, 5, 6)).count(), 1);
        let c = run::<Campaign>(
            Some(&c),
            CampaignCommand::Report {
                item: 1,
                milestone: Some(1),
                value: None,
                note: "设计已批复".into(),
                files: vec![Evidence {
                    name: "批复.pdf".into(),
                    sha256: "a".repeat(64),
                    size: 1000,
                }],
            },
            &actor(Role::UnitLeader, 5),
            t(2026, 5, 6),
        )
        .unwrap();
        let c = run::<Campaign>(
            Some(&c),
            CampaignCommand::Review {
                item: 1,
                report: 1,
                confirmed: true,
                note: String::new(),
            },
            &actor(Role::Leader, 1),
            t(2026, 5, 7),
        )
        .unwrap();
        let item = c.item(1).unwrap();
        assert_eq!(item.actual_at(t(2026, 5, 8), None), Some(1.0));
        assert_eq!(item.late_milestones(t(2026, 5, 8)).count(), 0);
        assert_eq!(item.status(t(2026, 5, 8), None), ItemStatus::Active);
    }

    #[test]
    fn bad_rows_are_refused_with_their_position() {
        let c = created();
        let mut late = new_item(Measure::Backlog);
        late.due = Due::Date(d(2027, 3, 1));
        let err = run::<Campaign>(
            Some(&c),
            CampaignCommand::AddItems(vec![new_item(Measure::Backlog), late]),
            &centre(),
            t(2026, 3, 3),
        )
        .unwrap_err();
        assert!(err.to_string().contains("第 2 条"), "{err}");
        let mut nb = new_item(Measure::Backlog);
        nb.battle = 9;
        assert!(nb.checked(&c, 1, ctx()).is_err());
        let mut flat = new_item(Measure::Reported);
        flat.target = 0.0;
        assert!(flat.checked(&c, 1, ctx()).is_err());
        // Only the centre configures.
        assert!(run::<Campaign>(
            Some(&c),
            CampaignCommand::AddItems(vec![new_item(Measure::Backlog)]),
            &actor(Role::Handler, 5),
            t(2026, 3, 3),
        )
        .is_err());
    }

    #[test]
    fn the_burn_down_counts_open_items_each_week() {
        let mut c = created();
        c.ends = d(2026, 3, 30);
        let mut a = new_item(Measure::Backlog);
        a.due = Due::Date(d(2026, 3, 30));
        let b = a.clone();
        let c = with(&c, vec![a, b]);
        let mut tallies = BTreeMap::new();
        tallies.insert(
            1,
            Tally {
                of: 1,
                done: vec![t(2026, 3, 10)],
            },
        );
        tallies.insert(
            2,
            Tally {
                of: 3,
                done: vec![],
            },
        );
        let points = c.burn_down(t(2026, 3, 20), &tallies);
        let open: Vec<u64> = points.iter().map(|p| p.open).collect();
        // 3-02, 3-09 (both open), 3-16 and 3-20 (one done on 3-10).
        assert_eq!(open, vec![2, 2, 1, 1]);
        assert_eq!(points[0].ideal, 2.0);
    }

    #[test]
    fn revisions_keep_what_changed() {
        let c = with(&created(), vec![new_item(Measure::Backlog)]);
        let c = run::<Campaign>(
            Some(&c),
            CampaignCommand::Revise {
                item: 1,
                due: Some(d(2026, 9, 30)),
                target: None,
                leader: None,
                reason: "汛期影响".into(),
            },
            &centre(),
            t(2026, 6, 1),
        )
        .unwrap();
        let item = c.item(1).unwrap();
        assert_eq!(item.due, d(2026, 9, 30));
        assert!(item.revisions[0].change.contains("2026-06-30 → 2026-09-30"));
        assert_eq!(week_start(d(2026, 12, 4)), d(2026, 11, 30));
    }
}
