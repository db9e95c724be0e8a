//! 四比, 全过程量化评价: evaluations of the county's units over a period — monthly (调研提示),
//! quarterly (红灰台), half-yearly (两奖一杯), yearly (标杆奖) — each by a versioned formula of
//! weighted indicators with minimum volumes, red and grey boards and awards, and published
//! (公开晾晒) as a frozen snapshot that later data does not change.
//!
//! A scheme ([`Scheme`]) holds every version of its formula; an evaluation ([`Evaluation`]) is one
//! period of a scheme. Until it is published its standings are computed live by [`score`] from
//! the figures the use case gathers ([`Subject`]); publishing stores the standings and the
//! formula they were computed by inside the evaluation's event, so the public board shows what
//! was published, whatever happens to the appeals afterwards.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::aggregate::{require_role, required_text as text, Aggregate};
use crate::error::DomainError;
use crate::lifecycle::{Actor, Context, Role};
use crate::org::UnitId;
use crate::time::{local_date, Instant};

/// Who configures and publishes evaluations: the centre, supervision, administrators.
pub const CENTRE_ROLES: &[Role] = &[Role::Dispatcher, Role::Supervisor, Role::Admin];

/// The most terms a formula has, and awards.
pub const TERMS_MAX: usize = 12;
pub const AWARDS_MAX: usize = 10;

/// 四比: how often a scheme evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = EvaluationCadence)]
pub enum Cadence {
    /// 月度调研提示比
    Monthly,
    /// 季度「红灰台」比
    Quarterly,
    /// 半年「两奖一杯」比
    HalfYear,
    /// 全年「标杆奖」比
    Yearly,
}

impl Cadence {
    pub const ALL: [Cadence; 4] = [
        Cadence::Monthly,
        Cadence::Quarterly,
        Cadence::HalfYear,
        Cadence::Yearly,
    ];
    pub fn label(self) -> &'static str {
        match self {
            Cadence::Monthly => "月度调研提示比",
            Cadence::Quarterly => "季度「红灰台」比",
            Cadence::HalfYear => "半年「两奖一杯」比",
            Cadence::Yearly => "全年「标杆奖」比",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Cadence::Monthly => "monthly",
            Cadence::Quarterly => "quarterly",
            Cadence::HalfYear => "half_year",
            Cadence::Yearly => "yearly",
        }
    }
    pub fn parse(s: &str) -> Option<Cadence> {
        Cadence::ALL.into_iter().find(|c| c.code() == s)
    }

    /// The period of this cadence that `first` begins, as (last day, its name), or why not.
    pub fn period(self, first: NaiveDate) -> Result<(NaiveDate, String), DomainError> {
        let (y, m) = (first.year(), first.month());
        let bad = |what: &str| Err(DomainError::invalid("period", what.to_string()));
        let months = match self {
            Cadence::Monthly => 1,
            Cadence::Quarterly => 3,
            Cadence::HalfYear => 6,
            Cadence::Yearly => 12,
        };
        if first.day() != 1 || (m - 1) % months != 0 {
            return bad(match self {
                Cadence::Monthly => "月度评比从某月1日开始",
                Cadence::Quarterly => "季度评比从1、4、7、10月的1日开始",
                Cadence::HalfYear => "半年评比从1月1日或7月1日开始",
                Cadence::Yearly => "全年评比从1月1日开始",
            });
        }
        let next = if m + months > 12 {
            NaiveDate::from_ymd_opt(y + 1, m + months - 12, 1)
        } else {
            NaiveDate::from_ymd_opt(y, m + months, 1)
        };
        let Some(last) = next.and_then(|n| n.pred_opt()) else {
            return bad("日期超出范围");
        };
        let name = match self {
            Cadence::Monthly => format!("{y}年{m}月"),
            Cadence::Quarterly => {
                format!(
                    "{y}年第{}季度",
                    ["一", "二", "三", "四"][(m as usize - 1) / 3]
                )
            }
            Cadence::HalfYear => format!("{y}年{}", if m == 1 { "上半年" } else { "下半年" }),
            Cadence::Yearly => format!("{y}年度"),
        };
        Ok((last, name))
    }
}

/// What a formula may weigh: whatever the platform measures per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// 按时办结率 (appeals)
    OnTimeCompletion,
    /// 闭环率
    ClosedLoop,
    /// 及时受理率 (签收)
    TimelyAcceptance,
    /// 满意率 (return visits)
    Satisfaction,
    /// 一次性化解率
    OneShot,
    /// 吹哨报到按时率 (双考核)
    ReportIn,
    /// 攻坚事项推进率: the mean progress of the unit's campaign items.
    CampaignProgress,
    /// 入户走访覆盖率 (townships)
    VisitCoverage,
    /// 信访事项按期办结率: the on-time rate of the petitions' reply rounds the unit held.
    PetitionOnTime,
    /// 公众安全感满意率 (townships): the telephone surveys fielded in the period, the
    /// township's stratum.
    PublicSafety,
    /// 干部好评率 (townships), from the same surveys.
    CadreApproval,
}

impl Indicator {
    pub const ALL: [Indicator; 11] = [
        Indicator::OnTimeCompletion,
        Indicator::ClosedLoop,
        Indicator::TimelyAcceptance,
        Indicator::Satisfaction,
        Indicator::OneShot,
        Indicator::ReportIn,
        Indicator::CampaignProgress,
        Indicator::VisitCoverage,
        Indicator::PetitionOnTime,
        Indicator::PublicSafety,
        Indicator::CadreApproval,
    ];
    pub fn label(self) -> &'static str {
        match self {
            Indicator::OnTimeCompletion => "按时办结率",
            Indicator::ClosedLoop => "闭环率",
            Indicator::TimelyAcceptance => "及时签收率",
            Indicator::Satisfaction => "满意率",
            Indicator::OneShot => "一次性化解率",
            Indicator::ReportIn => "吹哨报到按时率",
            Indicator::CampaignProgress => "攻坚事项推进率",
            Indicator::VisitCoverage => "入户走访覆盖率",
            Indicator::PetitionOnTime => "信访事项按期办结率",
            Indicator::PublicSafety => "公众安全感满意率",
            Indicator::CadreApproval => "干部好评率",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Indicator::OnTimeCompletion => "on_time_completion",
            Indicator::ClosedLoop => "closed_loop",
            Indicator::TimelyAcceptance => "timely_acceptance",
            Indicator::Satisfaction => "satisfaction",
            Indicator::OneShot => "one_shot",
            Indicator::ReportIn => "report_in",
            Indicator::CampaignProgress => "campaign_progress",
            Indicator::VisitCoverage => "visit_coverage",
            Indicator::PetitionOnTime => "petition_on_time",
            Indicator::PublicSafety => "public_safety",
            Indicator::CadreApproval => "cadre_approval",
        }
    }
    pub fn parse(s: &str) -> Option<Indicator> {
        Indicator::ALL
            .into_iter()
            .find(|i| i.code() == s || i.label() == s)
    }
    /// What its volume counts (for the minimum).
    pub fn volume_label(self) -> &'static str {
        match self {
            Indicator::OnTimeCompletion
            | Indicator::ClosedLoop
            | Indicator::TimelyAcceptance
            | Indicator::OneShot => "件",
            Indicator::Satisfaction => "件回访",
            Indicator::ReportIn => "次吹哨",
            Indicator::CampaignProgress => "个事项",
            Indicator::VisitCoverage => "户",
            Indicator::PetitionOnTime => "件信访",
            Indicator::PublicSafety | Indicator::CadreApproval => "个受访者",
        }
    }
}

/// One weighted indicator of a formula.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Term {
    pub indicator: Indicator,
    /// 权重 (any positive numbers; shares are their ratio)
    pub weight: f64,
    /// 最低样本量: below it the term is not counted for that unit.
    #[serde(default)]
    pub min_volume: u64,
}

/// An award given by a formula: the first `places` by the score, or by one indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Award {
    pub name: String,
    pub places: u32,
    #[serde(default)]
    pub by: Option<Indicator>,
}

/// A formula as the centre writes it.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct FormulaDraft {
    pub terms: Vec<Term>,
    /// The least share of the weights a unit's counted terms must carry for it to be ranked
    /// (0.5: at least half the formula measured).
    #[serde(default = "default_min_share")]
    pub min_share: f64,
    /// 红榜 places
    pub red: u32,
    /// 灰榜 places
    pub grey: u32,
    #[serde(default)]
    pub awards: Vec<Award>,
    #[serde(default)]
    pub note: String,
}

fn default_min_share() -> f64 {
    0.5
}

/// One version of a scheme's formula.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Formula {
    pub version: u32,
    pub terms: Vec<Term>,
    pub min_share: f64,
    pub red: u32,
    pub grey: u32,
    #[serde(default)]
    pub awards: Vec<Award>,
    #[serde(default)]
    pub note: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
}

impl FormulaDraft {
    fn checked(&self, version: u32, at: Instant) -> Result<Formula, DomainError> {
        if self.terms.is_empty() || self.terms.len() > TERMS_MAX {
            return Err(DomainError::invalid(
                "formula.terms",
                format!("评分公式须有 1 至 {TERMS_MAX} 项指标"),
            ));
        }
        for (i, t) in self.terms.iter().enumerate() {
            if !(t.weight.is_finite() && t.weight > 0.0 && t.weight <= 1000.0) {
                return Err(DomainError::invalid(
                    "formula.terms",
                    format!("「{}」的权重须大于 0、不超过 1000", t.indicator.label()),
                ));
            }
            if self.terms[..i].iter().any(|x| x.indicator == t.indicator) {
                return Err(DomainError::invalid(
                    "formula.terms",
                    format!("指标「{}」重复", t.indicator.label()),
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.min_share) || !self.min_share.is_finite() {
            return Err(DomainError::invalid(
                "min_share",
                "参评所需的权重占比须在 0 至 1 之间",
            ));
        }
        if self.red > 50 || self.grey > 50 {
            return Err(DomainError::invalid("red", "红榜、灰榜各最多 50 个名次"));
        }
        if self.awards.len() > AWARDS_MAX {
            return Err(DomainError::invalid(
                "awards",
                format!("最多设 {AWARDS_MAX} 个奖项"),
            ));
        }
        let mut awards = Vec::new();
        for a in &self.awards {
            let name = text("awards", &a.name, 20, "奖项名称")?;
            if a.places == 0 || a.places > 50 {
                return Err(DomainError::invalid(
                    "awards",
                    format!("「{name}」的名额须为 1 至 50"),
                ));
            }
            if let Some(by) = a.by {
                if !self.terms.iter().any(|t| t.indicator == by) {
                    return Err(DomainError::invalid(
                        "awards",
                        format!("「{name}」按「{}」评出，但公式中没有这项指标", by.label()),
                    ));
                }
            }
            awards.push(Award {
                name,
                places: a.places,
                by: a.by,
            });
        }
        let note = if self.note.trim().is_empty() {
            String::new()
        } else {
            text("note", &self.note, 1000, "说明")?
        };
        Ok(Formula {
            version,
            terms: self.terms.clone(),
            min_share: self.min_share,
            red: self.red,
            grey: self.grey,
            awards,
            note,
            at,
        })
    }
}

impl Formula {
    /// The formula in words, as shown beside every result.
    pub fn describe(&self) -> String {
        let total: f64 = self.terms.iter().map(|t| t.weight).sum();
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|t| {
                let mut s = format!(
                    "{}×{}%",
                    t.indicator.label(),
                    trim(t.weight * 100.0 / total)
                );
                if t.min_volume > 0 {
                    s.push_str(&format!(
                        "（不足 {} {}不计）",
                        t.min_volume,
                        t.indicator.volume_label()
                    ));
                }
                s
            })
            .collect();
        format!(
            "得分 = {}；计入的指标权重合计不足 {}% 的单位不参与排名，缺项按其余指标的权重折算。",
            terms.join(" + "),
            trim(self.min_share * 100.0)
        )
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// One unit's figure for one indicator: a share in 0..=1 (or none) and how many it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Observation {
    pub indicator: Indicator,
    pub value: Option<f64>,
    pub volume: u64,
}

/// A unit evaluated, with its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subject {
    #[schema(value_type = u32)]
    pub unit: UnitId,
    pub name: String,
    pub observations: Vec<Observation>,
}

/// One term of a unit's score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TermScore {
    pub indicator: Indicator,
    pub value: Option<f64>,
    pub volume: u64,
    /// Counted: a value, and at least the term's minimum volume.
    pub counted: bool,
    /// The points it adds to the score (its share of the counted weights × the value × 100).
    pub points: f64,
}

/// 红榜 or 灰榜.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Board {
    Red,
    Grey,
}

impl Board {
    pub fn label(self) -> &'static str {
        match self {
            Board::Red => "红榜",
            Board::Grey => "灰榜",
        }
    }
}

/// A unit's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = EvaluationStanding)]
pub struct Standing {
    #[schema(value_type = u32)]
    pub unit: UnitId,
    pub name: String,
    /// 0–100, two decimals; `None`: not ranked (too little measured).
    pub score: Option<f64>,
    pub rank: Option<u32>,
    pub terms: Vec<TermScore>,
    pub board: Option<Board>,
    #[serde(default)]
    pub awards: Vec<String>,
    /// Why a unit is not ranked.
    #[serde(default)]
    pub note: String,
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The standings of `subjects` by `formula`: ranked by score (equal scores share a rank), the
/// red board the first `red` and the grey board the last `grey` of the ranked (a tie at the
/// edge takes everyone tied; no unit on both), each award to the first `places` by its measure.
pub fn score(formula: &Formula, subjects: &[Subject]) -> Vec<Standing> {
    let total: f64 = formula.terms.iter().map(|t| t.weight).sum();
    let mut out: Vec<Standing> = subjects
        .iter()
        .map(|s| {
            let mut terms: Vec<TermScore> = formula
                .terms
                .iter()
                .map(|t| {
                    let o = s.observations.iter().find(|o| o.indicator == t.indicator);
                    let value = o.and_then(|o| o.value).filter(|v| v.is_finite());
                    let volume = o.map_or(0, |o| o.volume);
                    TermScore {
                        indicator: t.indicator,
                        value,
                        volume,
                        counted: value.is_some() && volume >= t.min_volume.max(1),
                        points: 0.0,
                    }
                })
                .collect();
            let counted: f64 = formula
                .terms
                .iter()
                .zip(&terms)
                .filter(|(_, ts)| ts.counted)
                .map(|(t, _)| t.weight)
                .sum();
            let share = if total > 0.0 { counted / total } else { 0.0 };
            let (score, note) = if counted > 0.0 && share + 1e-9 >= formula.min_share {
                for (t, ts) in formula.terms.iter().zip(terms.iter_mut()) {
                    if ts.counted {
                        ts.points = round2(t.weight / counted * ts.value.unwrap_or(0.0) * 100.0);
                    }
                }
                let sum: f64 = formula
                    .terms
                    .iter()
                    .zip(&terms)
                    .filter(|(_, ts)| ts.counted)
                    .map(|(t, ts)| t.weight * ts.value.unwrap_or(0.0))
                    .sum();
                (Some(round2(sum / counted * 100.0)), String::new())
            } else {
                let missing: Vec<&str> = terms
                    .iter()
                    .filter(|t| !t.counted)
                    .map(|t| t.indicator.label())
                    .collect();
                (
                    None,
                    format!("样本不足，不参与排名（未计入：{}）", missing.join("、")),
                )
            };
            Standing {
                unit: s.unit,
                name: s.name.clone(),
                score,
                rank: None,
                terms,
                board: None,
                awards: Vec::new(),
                note,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.score.unwrap_or(f64::NEG_INFINITY))
            .then_with(|| a.name.cmp(&b.name))
    });
    let ranked = out.iter().filter(|s| s.score.is_some()).count();
    for i in 0..ranked {
        let rank = if i > 0 && out[i].score == out[i - 1].score {
            out[i - 1].rank
        } else {
            Some(i as u32 + 1)
        };
        out[i].rank = rank;
    }
    // Red: the first `red`, and whoever ties the last of them.
    if formula.red > 0 && ranked > 0 {
        let edge = out[(formula.red as usize).min(ranked) - 1].score;
        for s in out[..ranked].iter_mut() {
            if s.score >= edge {
                s.board = Some(Board::Red);
            }
        }
    }
    if formula.grey > 0 && ranked > 0 {
        let from = ranked.saturating_sub(formula.grey as usize);
        let edge = out[from].score;
        for s in out[..ranked].iter_mut() {
            if s.score <= edge && s.board.is_none() {
                s.board = Some(Board::Grey);
            }
        }
    }
    for a in &formula.awards {
        let measure = |s: &Standing| -> Option<f64> {
            match a.by {
                None => s.score,
                Some(ind) => s
                    .score
                    .and(s.terms.iter().find(|t| t.indicator == ind && t.counted))
                    .and_then(|t| t.value),
            }
        };
        let mut vals: Vec<f64> = out.iter().filter_map(measure).collect();
        vals.sort_by(|x, y| y.total_cmp(x));
        let Some(edge) = vals.get((a.places as usize).min(vals.len()).wrapping_sub(1)) else {
            continue;
        };
        let edge = *edge;
        for s in out.iter_mut() {
            if measure(s).is_some_and(|v| v >= edge) {
                s.awards.push(a.name.clone());
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The scheme: a formula and its versions
// ---------------------------------------------------------------------------------------------

/// An evaluation scheme (评比方案) with every version of its formula, the latest last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scheme {
    pub name: String,
    pub cadence: Cadence,
    pub formulas: Vec<Formula>,
}

impl Scheme {
    pub fn current(&self) -> &Formula {
        self.formulas.last().expect("a scheme has a formula")
    }
    pub fn version(&self, v: u32) -> Option<&Formula> {
        self.formulas.iter().find(|f| f.version == v)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SchemeCommand {
    Create {
        name: String,
        cadence: Cadence,
        formula: FormulaDraft,
    },
    /// A new version of the formula (the earlier ones stay, with the results they made).
    Revise { formula: FormulaDraft },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SchemeEvent {
    Created {
        name: String,
        cadence: Cadence,
        formula: Formula,
    },
    Revised {
        formula: Formula,
    },
}

impl Aggregate for Scheme {
    const KIND: &'static str = "evaluation_scheme";
    type Command = SchemeCommand;
    type Event = SchemeEvent;

    fn decide(
        state: Option<&Self>,
        command: &SchemeCommand,
        actor: &Actor,
        at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<SchemeEvent>, DomainError> {
        require_role(actor, CENTRE_ROLES, "configure evaluations")?;
        match (state, command) {
            (
                None,
                SchemeCommand::Create {
                    name,
                    cadence,
                    formula,
                },
            ) => Ok(vec![SchemeEvent::Created {
                name: text("scheme.name", name, 40, "评比方案名称")?,
                cadence: *cadence,
                formula: formula.checked(1, at)?,
            }]),
            (None, _) => Err(DomainError::invalid("scheme", "没有这个评比方案")),
            (Some(_), SchemeCommand::Create { .. }) => {
                Err(DomainError::invalid("scheme", "评比方案已经建立"))
            }
            (Some(s), SchemeCommand::Revise { formula }) => {
                let f = formula.checked(s.current().version + 1, at)?;
                let same = |a: &Formula| {
                    a.terms == f.terms
                        && a.min_share == f.min_share
                        && a.red == f.red
                        && a.grey == f.grey
                        && a.awards == f.awards
                };
                if same(s.current()) {
                    return Err(DomainError::invalid("formula.terms", "公式没有变化"));
                }
                Ok(vec![SchemeEvent::Revised { formula: f }])
            }
        }
    }

    fn apply(state: Option<Self>, event: &SchemeEvent, _at: Instant) -> Self {
        match (state, event) {
            (
                _,
                SchemeEvent::Created {
                    name,
                    cadence,
                    formula,
                },
            ) => Scheme {
                name: name.clone(),
                cadence: *cadence,
                formulas: vec![formula.clone()],
            },
            (Some(mut s), SchemeEvent::Revised { formula }) => {
                s.formulas.push(formula.clone());
                s
            }
            (None, e) => panic!("a scheme starts created, not {e:?}"),
        }
    }

    fn event_name(event: &SchemeEvent) -> &'static str {
        match event {
            SchemeEvent::Created { .. } => "created",
            SchemeEvent::Revised { .. } => "revised",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![("cadence", self.cadence.code().to_string())]
    }
}

// ---------------------------------------------------------------------------------------------
// The evaluation of one period
// ---------------------------------------------------------------------------------------------

/// What was published: the standings and the formula that made them, frozen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Snapshot {
    pub formula: Formula,
    pub formula_text: String,
    pub standings: Vec<Standing>,
    #[schema(value_type = String, format = DateTime)]
    pub published_at: Instant,
    pub published_by: String,
    #[serde(default)]
    pub note: String,
}

/// One period's evaluation of a scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evaluation {
    pub scheme: u64,
    pub scheme_name: String,
    pub cadence: Cadence,
    #[schema(value_type = String, format = Date)]
    pub first: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub last: NaiveDate,
    /// The period's name, e.g. 2026年第三季度.
    pub period: String,
    pub published: Option<Snapshot>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EvaluationCommand {
    Open {
        scheme: u64,
        scheme_name: String,
        cadence: Cadence,
        first: NaiveDate,
    },
    /// Freezes `standings`, computed by the use case with `formula` (the scheme's current
    /// version) at the moment of publishing.
    Publish {
        formula: Formula,
        standings: Vec<Standing>,
        note: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EvaluationEvent {
    Opened {
        scheme: u64,
        scheme_name: String,
        cadence: Cadence,
        first: NaiveDate,
        last: NaiveDate,
        period: String,
    },
    Published {
        snapshot: Snapshot,
    },
}

impl Aggregate for Evaluation {
    const KIND: &'static str = "evaluation";
    type Command = EvaluationCommand;
    type Event = EvaluationEvent;

    fn decide(
        state: Option<&Self>,
        command: &EvaluationCommand,
        actor: &Actor,
        at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<EvaluationEvent>, DomainError> {
        require_role(actor, CENTRE_ROLES, "run evaluations")?;
        match (state, command) {
            (
                None,
                EvaluationCommand::Open {
                    scheme,
                    scheme_name,
                    cadence,
                    first,
                },
            ) => {
                let (last, period) = cadence.period(*first)?;
                if *first > local_date(at) {
                    return Err(DomainError::invalid("period", format!("{period}尚未开始")));
                }
                Ok(vec![EvaluationEvent::Opened {
                    scheme: *scheme,
                    scheme_name: scheme_name.clone(),
                    cadence: *cadence,
                    first: *first,
                    last,
                    period,
                }])
            }
            (None, _) => Err(DomainError::invalid("evaluation", "没有这次评比")),
            (Some(_), EvaluationCommand::Open { .. }) => {
                Err(DomainError::invalid("evaluation", "这次评比已经建立"))
            }
            (
                Some(e),
                EvaluationCommand::Publish {
                    formula,
                    standings,
                    note,
                },
            ) => {
                if e.published.is_some() {
                    return Err(DomainError::invalid(
                        "evaluation",
                        "结果已公开晾晒，不能再改；如需更正，请另行发布说明",
                    ));
                }
                if local_date(at) <= e.last {
                    return Err(DomainError::invalid(
                        "evaluation",
                        format!("{}到 {} 才结束，期满后才能公开晾晒", e.period, e.last),
                    ));
                }
                if standings.is_empty() {
                    return Err(DomainError::invalid("evaluation", "没有可公布的结果"));
                }
                let note = if note.trim().is_empty() {
                    String::new()
                } else {
                    text("note", note, 1000, "发布说明")?
                };
                Ok(vec![EvaluationEvent::Published {
                    snapshot: Snapshot {
                        formula_text: formula.describe(),
                        formula: formula.clone(),
                        standings: standings.clone(),
                        published_at: at,
                        published_by: actor.name.clone(),
                        note,
                    },
                }])
            }
        }
    }

    fn apply(state: Option<Self>, event: &EvaluationEvent, _at: Instant) -> Self {
        match (state, event) {
            (
                _,
                EvaluationEvent::Opened {
                    scheme,
                    scheme_name,
                    cadence,
                    first,
                    last,
                    period,
                },
            ) => Evaluation {
                scheme: *scheme,
                scheme_name: scheme_name.clone(),
                cadence: *cadence,
                first: *first,
                last: *last,
                period: period.clone(),
                published: None,
            },
            (Some(mut e), EvaluationEvent::Published { snapshot }) => {
                e.published = Some(snapshot.clone());
                e
            }
            (None, e) => panic!("an evaluation starts opened, not {e:?}"),
        }
    }

    fn event_name(event: &EvaluationEvent) -> &'static str {
        match event {
            EvaluationEvent::Opened { .. } => "opened",
            EvaluationEvent::Published { .. } => "published",
        }
    }

    /// Found by scheme, by `period` = `{scheme}|{first}` (one evaluation per period), and
    /// by whether it is published.
    fn index(&self) -> Vec<(&'static str, String)> {
        vec![
            ("scheme", self.scheme.to_string()),
            ("period", format!("{}|{}", self.scheme, self.first)),
            (
                "published",
                if self.published.is_some() {
                    "yes"
                } else {
                    "no"
                }
                .to_string(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::run;
    use crate::org::UnitKind;
    use crate::UserId;

    fn formula(red: u32, grey: u32) -> Formula {
        FormulaDraft {
            terms: vec![
                Term {
                    indicator: Indicator::OnTimeCompletion,
                    weight: 40.0,
                    min_volume: 10,
                },
                Term {
                    indicator: Indicator::Satisfaction,
                    weight: 40.0,
                    min_volume: 5,
                },
                Term {
                    indicator: Indicator::CampaignProgress,
                    weight: 20.0,
                    min_volume: 1,
                },
            ],
            min_share: 0.5,
            red,
            grey,
            awards: vec![
                Award {
                    name: "为民服务奖".into(),
                    places: 1,
                    by: None,
                },
                Award {
                    name: "攻坚克难奖".into(),
                    places: 1,
                    by: Some(Indicator::CampaignProgress),
                },
            ],
            note: String::new(),
        }
        .checked(1, Instant::default())
        .unwrap()
    }
    fn subject(unit: u32, name: &str, obs: &[(Indicator, f64, u64)]) -> Subject {
        Subject {
            unit: UnitId(unit),
            name: name.into(),
            observations: obs
                .iter()
                .map(|(i, v, n)| Observation {
                    indicator: *i,
                    value: Some(*v),
                    volume: *n,
                })
                .collect(),
        }
    }
    use Indicator::{CampaignProgress as Cp, OnTimeCompletion as Otc, Satisfaction as Sat};

    #[test]
    fn the_score_is_the_weighted_mean_by_hand() {
        let f = formula(1, 1);
        let s = score(
            &f,
            &[
                subject(1, "甲镇", &[(Otc, 0.9, 100), (Sat, 0.8, 50), (Cp, 0.5, 4)]),
                subject(2, "乙镇", &[(Otc, 1.0, 20), (Sat, 0.95, 10), (Cp, 1.0, 2)]),
                subject(3, "丙局", &[(Otc, 0.7, 30), (Sat, 0.6, 30), (Cp, 0.2, 3)]),
            ],
        );
        // 甲: (40×0.9 + 40×0.8 + 20×0.5)/100 × 100 = 78
        // 乙: (40 + 38 + 20) = 98;  丙: (28 + 24 + 4) = 56
        let by = |n: &str| s.iter().find(|x| x.name == n).unwrap();
        assert_eq!(by("甲镇").score, Some(78.0));
        assert_eq!(by("乙镇").score, Some(98.0));
        assert_eq!(by("丙局").score, Some(56.0));
        assert_eq!(by("乙镇").rank, Some(1));
        assert_eq!(by("丙局").rank, Some(3));
        assert_eq!(by("乙镇").board, Some(Board::Red));
        assert_eq!(by("丙局").board, Some(Board::Grey));
        assert_eq!(by("甲镇").board, None);
        assert_eq!(by("乙镇").awards, vec!["为民服务奖", "攻坚克难奖"]);
        assert_eq!(by("甲镇").terms[0].points, 36.0);
        assert!(f.describe().contains("按时办结率×40%"), "{}", f.describe());
    }

    #[test]
    fn below_the_minimum_volume_a_term_is_not_counted() {
        let f = formula(1, 1);
        let s = score(
            &f,
            &[
                // 9 appeals < 10: 按时办结率 not counted; the other 60 % of the weight is, so
                // the score is (40×0.5 + 20×1.0)/60 × 100 = 66.67.
                subject(1, "甲镇", &[(Otc, 1.0, 9), (Sat, 0.5, 5), (Cp, 1.0, 1)]),
                // Only the campaign (20 %) measured: below half the formula, not ranked.
                subject(2, "乙镇", &[(Otc, 1.0, 3), (Sat, 1.0, 2), (Cp, 1.0, 1)]),
            ],
        );
        let a = s.iter().find(|x| x.name == "甲镇").unwrap();
        assert_eq!(a.score, Some(66.67));
        assert!(!a.terms[0].counted);
        assert_eq!(a.rank, Some(1));
        let b = s.iter().find(|x| x.name == "乙镇").unwrap();
        assert_eq!(b.score, None);
        assert_eq!(b.rank, None);
        assert_eq!(b.board, None);
        assert!(b.note.contains("样本不足"), "{}", b.note);
        assert!(b.awards.is_empty());
    }

    #[test]
    fn ties_share_a_rank_and_a_board() {
        let f = formula(1, 1);
        let same = [(Otc, 0.9, 100), (Sat, 0.9, 50), (Cp, 0.9, 4)];
        let s = score(
            &f,
            &[
                subject(1, "甲", &same),
                subject(2, "乙", &same),
                subject(3, "丙", &[(Otc, 0.5, 100), (Sat, 0.5, 50), (Cp, 0.5, 4)]),
            ],
        );
        assert_eq!(s[0].rank, Some(1));
        assert_eq!(s[1].rank, Some(1));
        assert_eq!(s[2].rank, Some(3));
        assert_eq!(s[0].board, Some(Board::Red));
        assert_eq!(s[1].board, Some(Board::Red));
        assert_eq!(s[2].board, Some(Board::Grey));
    }

    #[test]
    fn periods_follow_the_cadence() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            Cadence::Quarterly.period(d(2026, 7, 1)).unwrap(),
            (d(2026, 9, 30), "2026年第三季度".to_string())
        );
        assert_eq!(
            Cadence::HalfYear.period(d(2026, 1, 1)).unwrap(),
            (d(2026, 6, 30), "2026年上半年".to_string())
        );
        assert_eq!(
            Cadence::Yearly.period(d(2026, 1, 1)).unwrap().0,
            d(2026, 12, 31)
        );
        assert_eq!(
            Cadence::Monthly.period(d(2026, 12, 1)).unwrap().0,
            d(2026, 12, 31)
        );
        assert!(Cadence::Quarterly.period(d(2026, 8, 1)).is_err());
    }

    #[test]
    fn a_published_result_is_frozen_and_formulas_keep_their_versions() {
        let centre = Actor {
            user: UserId(1),
            name: "中心".into(),
            role: Role::Dispatcher,
            unit: UnitId(1),
            unit_kind: UnitKind::County,
        };
        let at = |y, m, d| crate::time::start_of_day(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        let draft = FormulaDraft {
            terms: vec![Term {
                indicator: Otc,
                weight: 1.0,
                min_volume: 0,
            }],
            min_share: 0.5,
            red: 1,
            grey: 1,
            awards: vec![],
            note: String::new(),
        };
        let scheme = run::<Scheme>(
            None,
            SchemeCommand::Create {
                name: "红灰台".into(),
                cadence: Cadence::Quarterly,
                formula: draft.clone(),
            },
            &centre,
            at(2026, 1, 5),
        )
        .unwrap();
        assert!(run::<Scheme>(
            Some(&scheme),
            SchemeCommand::Revise {
                formula: draft.clone()
            },
            &centre,
            at(2026, 1, 6)
        )
        .is_err());
        let mut d2 = draft.clone();
        d2.red = 3;
        let scheme = run::<Scheme>(
            Some(&scheme),
            SchemeCommand::Revise { formula: d2 },
            &centre,
            at(2026, 1, 6),
        )
        .unwrap();
        assert_eq!(scheme.current().version, 2);
        assert_eq!(scheme.version(1).unwrap().red, 1);
        let e = run::<Evaluation>(
            None,
            EvaluationCommand::Open {
                scheme: 1,
                scheme_name: "红灰台".into(),
                cadence: Cadence::Quarterly,
                first: NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
            },
            &centre,
            at(2026, 9, 1),
        )
        .unwrap();
        let f = scheme.current().clone();
        let standings = score(&f, &[subject(1, "甲", &[(Otc, 0.9, 10)])]);
        let publish = EvaluationCommand::Publish {
            formula: f,
            standings,
            note: String::new(),
        };
        // Not before the quarter is over.
        assert!(run::<Evaluation>(Some(&e), publish.clone(), &centre, at(2026, 9, 30)).is_err());
        let e = run::<Evaluation>(Some(&e), publish.clone(), &centre, at(2026, 10, 9)).unwrap();
        assert_eq!(e.published.as_ref().unwrap().standings[0].score, Some(90.0));
        assert!(run::<Evaluation>(Some(&e), publish, &centre, at(2026, 10, 10)).is_err());
    }
}
