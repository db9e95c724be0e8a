//! 双提升 surveys: phone surveys with an approval (统计法 2024 Arts 14, 16, 17, 28), a versioned
//! questionnaire whose questions feed the headline indicators (公众安全感, 政策知晓, 干部好评), a
//! stratified sample drawn reproducibly from a seed, cases with every call attempt's AAPOR
//! disposition, and the results: AAPOR outcome rates (RR1–RR6, COOP1–4, REF1–3, CON1–3 with the
//! estimate of e), and each indicator's rate with its 95 % interval — Wilson unweighted,
//! post-stratified to the frame with a design-based interval.
//!
//! Two aggregates: a [`Survey`] (`survey`) and each sampled [`Case`] (`survey_case`), so that
//! thousands of callers' and machines' attempts never contend for one record.

use chrono::{Duration, NaiveDate, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};

use crate::aggregate::{require_role, required_text as text, Aggregate};
use crate::appeal::Phone;
use crate::error::DomainError;
use crate::lifecycle::{Actor, Context, Role};
use crate::time::{cst, local_date, Instant};

/// Who sets up and runs surveys: the centre, supervision and administrators.
pub const CENTRE_ROLES: &[Role] = &[Role::Dispatcher, Role::Supervisor, Role::Admin];
/// Who calls: the return-visit staff (回访员) and the centre; an AI platform calls as the system.
pub const CALLER_ROLES: &[Role] = &[
    Role::ReturnVisitor,
    Role::Dispatcher,
    Role::Supervisor,
    Role::Admin,
    Role::System,
];

// ---------------------------------------------------------------------------------------------
// Methods: AAPOR dispositions and rates, intervals

/// An AAPOR disposition (Standard Definitions, telephone surveys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// 1.1 完成访问
    Complete,
    /// 1.2 部分完成
    Partial,
    /// 2.11 拒访
    Refusal,
    /// 2.12 中途挂断
    BreakOff,
    /// 2.21 受访者不在 / 无法接听
    RespondentUnavailable,
    /// 2.22 语音信箱
    AnsweringMachine,
    /// 2.3 其他（语言不通、身体原因等）
    Other,
    /// 3.12 占线
    Busy,
    /// 3.13 无人接听
    NoAnswer,
    /// 3.2 其他未知资格
    UnknownOther,
    /// 4.2 传真、数据线
    FaxData,
    /// 4.3 空号、停机
    NonWorking,
    /// 4.7 无符合条件的受访者（非本地常住等）
    NoEligibleRespondent,
}

/// The outcome groups of AAPOR's formulas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Group {
    I,
    P,
    R,
    NC,
    O,
    UH,
    UO,
    NE,
}

impl Disposition {
    pub const ALL: [Disposition; 13] = [
        Disposition::Complete,
        Disposition::Partial,
        Disposition::Refusal,
        Disposition::BreakOff,
        Disposition::RespondentUnavailable,
        Disposition::AnsweringMachine,
        Disposition::Other,
        Disposition::Busy,
        Disposition::NoAnswer,
        Disposition::UnknownOther,
        Disposition::FaxData,
        Disposition::NonWorking,
        Disposition::NoEligibleRespondent,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Disposition::Complete => "1.1",
            Disposition::Partial => "1.2",
            Disposition::Refusal => "2.11",
            Disposition::BreakOff => "2.12",
            Disposition::RespondentUnavailable => "2.21",
            Disposition::AnsweringMachine => "2.22",
            Disposition::Other => "2.3",
            Disposition::Busy => "3.12",
            Disposition::NoAnswer => "3.13",
            Disposition::UnknownOther => "3.2",
            Disposition::FaxData => "4.2",
            Disposition::NonWorking => "4.3",
            Disposition::NoEligibleRespondent => "4.7",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Disposition::Complete => "完成访问",
            Disposition::Partial => "部分完成",
            Disposition::Refusal => "拒访",
            Disposition::BreakOff => "中途挂断",
            Disposition::RespondentUnavailable => "受访者不在",
            Disposition::AnsweringMachine => "语音信箱",
            Disposition::Other => "其他原因未访",
            Disposition::Busy => "占线",
            Disposition::NoAnswer => "无人接听",
            Disposition::UnknownOther => "其他未知",
            Disposition::FaxData => "传真或数据线",
            Disposition::NonWorking => "空号停机",
            Disposition::NoEligibleRespondent => "非调查对象",
        }
    }
    pub fn parse(s: &str) -> Option<Disposition> {
        let json = format!("\"{s}\"");
        serde_json::from_str(&json)
            .ok()
            .or_else(|| Disposition::ALL.into_iter().find(|d| d.code() == s))
    }
    pub fn group(self) -> Group {
        match self {
            Disposition::Complete => Group::I,
            Disposition::Partial => Group::P,
            Disposition::Refusal | Disposition::BreakOff => Group::R,
            Disposition::RespondentUnavailable | Disposition::AnsweringMachine => Group::NC,
            Disposition::Other => Group::O,
            Disposition::Busy | Disposition::NoAnswer => Group::UH,
            Disposition::UnknownOther => Group::UO,
            Disposition::FaxData | Disposition::NonWorking | Disposition::NoEligibleRespondent => {
                Group::NE
            }
        }
    }
    /// Final at once: no more calls (a complete, a refusal, a number that is not eligible).
    pub fn closes(self) -> bool {
        matches!(self.group(), Group::I | Group::R | Group::NE) || self == Disposition::Partial
    }
    /// The wait before the next call after this outcome.
    pub fn retry_after(self) -> Duration {
        match self {
            Disposition::Busy => Duration::minutes(20),
            Disposition::NoAnswer => Duration::hours(3),
            Disposition::AnsweringMachine => Duration::hours(4),
            Disposition::RespondentUnavailable => Duration::hours(24),
            _ => Duration::hours(2),
        }
    }
    /// Which outcome a case keeps when its attempts differ: the most informative (AAPOR's
    /// usual precedence: an interview, then a refusal, then ineligibility, then contact).
    fn rank(self) -> u8 {
        match self.group() {
            Group::I => 8,
            Group::P => 7,
            Group::R => 6,
            Group::NE => 5,
            Group::O => 4,
            Group::NC => 3,
            Group::UO => 2,
            Group::UH => 1,
        }
    }
}

/// Counts of final dispositions by group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Outcomes {
    pub i: u64,
    pub p: u64,
    pub r: u64,
    pub nc: u64,
    pub o: u64,
    pub uh: u64,
    pub uo: u64,
    pub ne: u64,
}

/// The AAPOR outcome rates, with the estimate of e (the share of unknown-eligibility cases
/// taken as eligible) used by RR3, RR4, REF2 and CON2.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AaporRates {
    pub e: f64,
    pub rr1: Option<f64>,
    pub rr2: Option<f64>,
    pub rr3: Option<f64>,
    pub rr4: Option<f64>,
    pub rr5: Option<f64>,
    pub rr6: Option<f64>,
    pub coop1: Option<f64>,
    pub coop2: Option<f64>,
    pub coop3: Option<f64>,
    pub coop4: Option<f64>,
    pub ref1: Option<f64>,
    pub ref2: Option<f64>,
    pub ref3: Option<f64>,
    pub con1: Option<f64>,
    pub con2: Option<f64>,
    pub con3: Option<f64>,
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

impl Outcomes {
    pub fn add(&mut self, g: Group) {
        match g {
            Group::I => self.i += 1,
            Group::P => self.p += 1,
            Group::R => self.r += 1,
            Group::NC => self.nc += 1,
            Group::O => self.o += 1,
            Group::UH => self.uh += 1,
            Group::UO => self.uo += 1,
            Group::NE => self.ne += 1,
        }
    }
    pub fn total(&self) -> u64 {
        self.i + self.p + self.r + self.nc + self.o + self.uh + self.uo + self.ne
    }
    /// e by the proportional method: the eligible share of the cases whose eligibility is
    /// known, `(I+P+R+NC+O) / (I+P+R+NC+O+NE)` (1 when nothing is known).
    pub fn e_proportional(&self) -> f64 {
        let eligible = (self.i + self.p + self.r + self.nc + self.o) as f64;
        ratio(eligible, eligible + self.ne as f64).unwrap_or(1.0)
    }
    /// The rates of AAPOR's Standard Definitions with `e`.
    pub fn rates(&self, e: f64) -> AaporRates {
        let (i, p, r, nc, o, uh, uo) = (
            self.i as f64,
            self.p as f64,
            self.r as f64,
            self.nc as f64,
            self.o as f64,
            self.uh as f64,
            self.uo as f64,
        );
        let known = (i + p) + (r + nc + o);
        let all = known + (uh + uo);
        let est = known + e * (uh + uo);
        AaporRates {
            e,
            rr1: ratio(i, all),
            rr2: ratio(i + p, all),
            rr3: ratio(i, est),
            rr4: ratio(i + p, est),
            rr5: ratio(i, known),
            rr6: ratio(i + p, known),
            coop1: ratio(i, (i + p) + r + o),
            coop2: ratio(i + p, (i + p) + r + o),
            coop3: ratio(i, (i + p) + r),
            coop4: ratio(i + p, (i + p) + r),
            ref1: ratio(r, all),
            ref2: ratio(r, est),
            ref3: ratio(r, known),
            con1: ratio((i + p) + r + o, (i + p) + r + o + nc + (uh + uo)),
            con2: ratio((i + p) + r + o, (i + p) + r + o + nc + e * (uh + uo)),
            con3: ratio((i + p) + r + o, (i + p) + r + o + nc),
        }
    }
}

/// A proportion with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// The completes it rests on.
    pub n: u64,
}

const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval of `k` of `n` at 95 %.
pub fn wilson(k: u64, n: u64) -> Option<Estimate> {
    if n == 0 || k > n {
        return None;
    }
    let (k, nf) = (k as f64, n as f64);
    let p = k / nf;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = Z95 * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    Some(Estimate {
        value: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
        n,
    })
}

/// A stratum's part of a post-stratified estimate: its share of the frame and its sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StratumCount {
    /// The stratum's size in the frame.
    pub frame: u64,
    /// Completes answering the question, and how many of them favourably.
    pub n: u64,
    pub yes: u64,
}

/// The post-stratified proportion `Σ W_h p_h` (W_h the stratum's frame share) with its
/// design-based 95 % interval from `Var = Σ W_h² p_h (1 − p_h) / (n_h − 1)`. Strata without a
/// complete are left out and the others' shares renormalised (said as `covered`).
pub fn post_stratified(strata: &[StratumCount]) -> Option<(Estimate, f64)> {
    let total: u64 = strata.iter().map(|s| s.frame).sum();
    let covered: u64 = strata.iter().filter(|s| s.n > 0).map(|s| s.frame).sum();
    if covered == 0 {
        return None;
    }
    let mut p = 0.0;
    let mut var = 0.0;
    let mut n = 0;
    for s in strata.iter().filter(|s| s.n > 0) {
        let w = s.frame as f64 / covered as f64;
        let ph = s.yes as f64 / s.n as f64;
        p += w * ph;
        if s.n > 1 {
            var += w * w * ph * (1.0 - ph) / (s.n - 1) as f64;
        }
        n += s.n;
    }
    let half = Z95 * var.sqrt();
    Some((
        Estimate {
            value: p,
            low: (p - half).max(0.0),
            high: (p + half).min(1.0),
            n,
        },
        covered as f64 / total.max(1) as f64,
    ))
}

/// A reproducible random number stream (SplitMix64): the same seed draws the same sample.
#[derive(Debug, Clone)]
pub struct Draw(u64);

impl Draw {
    pub fn new(seed: u64) -> Draw {
        Draw(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// `k` of `0..n` without repetition, in the order drawn (a partial Fisher–Yates shuffle).
    pub fn choose(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..n).collect();
        let k = k.min(n);
        for i in 0..k {
            let j = i + (self.next_u64() % (n - i) as u64) as usize;
            idx.swap(i, j);
        }
        idx.truncate(k);
        idx
    }
}

// ---------------------------------------------------------------------------------------------
// The survey

/// What a question's answers measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SurveyIndicator)]
pub enum Indicator {
    /// 公众安全感满意率
    Safety,
    /// 政策知晓率
    PolicyAwareness,
    /// 干部好评率
    CadreApproval,
    /// 对诉求办理的满意度
    ServiceSatisfaction,
}

impl Indicator {
    pub const ALL: [Indicator; 4] = [
        Indicator::Safety,
        Indicator::PolicyAwareness,
        Indicator::CadreApproval,
        Indicator::ServiceSatisfaction,
    ];
    pub fn label(self) -> &'static str {
        match self {
            Indicator::Safety => "公众安全感满意率",
            Indicator::PolicyAwareness => "政策知晓率",
            Indicator::CadreApproval => "干部好评率",
            Indicator::ServiceSatisfaction => "诉求办理满意度",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Indicator::Safety => "safety",
            Indicator::PolicyAwareness => "policy_awareness",
            Indicator::CadreApproval => "cadre_approval",
            Indicator::ServiceSatisfaction => "service_satisfaction",
        }
    }
}

/// The survey's approval (统计法 Art 17): read out at the opening of every call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Approval {
    /// 表号
    pub table_no: String,
    /// 制定机关
    pub issuer: String,
    /// 批准机关及文号
    pub approval_no: String,
    /// 有效期至
    #[schema(value_type = String, format = Date)]
    pub valid_until: NaiveDate,
}

/// A question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Question {
    /// 题号，如 Q1
    pub code: String,
    pub text: String,
    /// single（单选）、multiple（多选）、scale（量表 1–5）、open（开放）
    pub kind: QuestionKind,
    #[serde(default)]
    pub options: Vec<String>,
    /// The indicator its answers feed, if any (one question per indicator).
    #[serde(default)]
    pub indicator: Option<Indicator>,
    /// The answers that count as favourable for the indicator (e.g. 很安全, 比较安全).
    #[serde(default)]
    pub favourable: Vec<String>,
    /// Skip logic: when the answer is `answer`, go on at question `to` (or end with `end`).
    #[serde(default)]
    pub skip: Option<Skip>,
    /// The answers that, when the respondent consents, open an appeal (channel 满意度测评)
    /// through the normal loop, e.g. 不满意 or 很不安全.
    #[serde(default)]
    pub raises: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Single,
    Multiple,
    Scale,
    Open,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Skip {
    pub answer: String,
    pub to: String,
}

/// A questionnaire version with its call opening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Questionnaire {
    pub version: u32,
    /// 开场白 (the approval's fields are read out after it).
    pub opening: String,
    pub questions: Vec<Question>,
}

impl Questionnaire {
    fn checked(mut self, version: u32) -> Result<Questionnaire, DomainError> {
        self.version = version;
        self.opening = text("opening", &self.opening, 1000, "开场白")?;
        if self.questions.is_empty() || self.questions.len() > 60 {
            return Err(DomainError::invalid("questions", "问卷须有 1 至 60 道题"));
        }
        let mut seen_ind = Vec::new();
        for (i, q) in self.questions.iter().enumerate() {
            let code = q.code.trim();
            if code.is_empty() || self.questions[..i].iter().any(|x| x.code.trim() == code) {
                return Err(DomainError::invalid(
                    "questions",
                    format!("第 {} 题的题号为空或重复", i + 1),
                ));
            }
            text("questions", &q.text, 300, "题目")?;
            let choice = matches!(q.kind, QuestionKind::Single | QuestionKind::Multiple);
            if choice && q.options.len() < 2 {
                return Err(DomainError::invalid(
                    "questions",
                    format!("{code} 须至少有两个选项"),
                ));
            }
            if let Some(ind) = q.indicator {
                if seen_ind.contains(&ind) {
                    return Err(DomainError::invalid(
                        "questions",
                        format!("「{}」只能由一道题计算", ind.label()),
                    ));
                }
                seen_ind.push(ind);
                if q.favourable.is_empty() {
                    return Err(DomainError::invalid(
                        "questions",
                        format!("{code} 计入「{}」，请指定哪些回答算作肯定", ind.label()),
                    ));
                }
            }
            if let Some(f) = q
                .favourable
                .iter()
                .chain(&q.raises)
                .find(|f| choice && !q.options.contains(f))
            {
                return Err(DomainError::invalid(
                    "questions",
                    format!("{code} 没有选项「{f}」"),
                ));
            }
            if let Some(s) = &q.skip {
                if s.to != "end" && !self.questions[i + 1..].iter().any(|x| x.code == s.to) {
                    return Err(DomainError::invalid(
                        "questions",
                        format!("{code} 的跳转目标「{}」须是后面的题号或 end", s.to),
                    ));
                }
            }
        }
        Ok(self)
    }

    /// The question that asks for `indicator`.
    pub fn question_for(&self, indicator: Indicator) -> Option<&Question> {
        self.questions
            .iter()
            .find(|q| q.indicator == Some(indicator))
    }

    /// The questions a respondent is asked, given the answers so far (skip logic).
    pub fn path<'a>(&'a self, answers: &[Answer]) -> Vec<&'a Question> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.questions.len() {
            let q = &self.questions[i];
            out.push(q);
            let jumped = q.skip.as_ref().and_then(|s| {
                answers
                    .iter()
                    .find(|a| a.question == q.code && a.value == s.answer)
                    .map(|_| s.to.clone())
            });
            match jumped {
                Some(to) if to == "end" => break,
                Some(to) => {
                    i = self
                        .questions
                        .iter()
                        .position(|x| x.code == to)
                        .unwrap_or(self.questions.len());
                }
                None => i += 1,
            }
        }
        out
    }
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Answer {
    pub question: String,
    pub value: String,
}

/// A stratum of the frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stratum {
    pub code: String,
    pub name: String,
    /// Its size in the frame (set when the sample is drawn).
    #[serde(default)]
    pub frame: u64,
    /// Cases drawn.
    #[serde(default)]
    pub drawn: u64,
    /// The completes aimed at: once reached, the stratum's numbers are called no more.
    #[serde(default)]
    pub quota: u64,
    /// The township the stratum is (frames drawn from the registry or the appeals are
    /// stratified by township; an appeal raised from one of its cases lies there).
    #[serde(default)]
    #[schema(value_type = Option<u32>)]
    pub township: Option<crate::org::UnitId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SurveyStatus {
    /// 筹备
    Draft,
    /// 访问中
    Fielding,
    /// 已结束
    Closed,
}

impl SurveyStatus {
    pub fn label(self) -> &'static str {
        match self {
            SurveyStatus::Draft => "筹备中",
            SurveyStatus::Fielding => "访问中",
            SurveyStatus::Closed => "已结束",
        }
    }
}

/// The calling rules: windows (China time), the most attempts per case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallRules {
    /// Windows as "09:00-12:00".
    pub windows: Vec<String>,
    pub max_attempts: u32,
}

impl Default for CallRules {
    fn default() -> CallRules {
        CallRules {
            windows: vec!["09:00-12:00".into(), "14:00-20:30".into()],
            max_attempts: 6,
        }
    }
}

impl CallRules {
    fn parsed(&self) -> Result<Vec<(NaiveTime, NaiveTime)>, DomainError> {
        self.windows
            .iter()
            .map(|w| {
                let (a, b) = w.split_once('-').ok_or_else(|| {
                    DomainError::invalid("call_rules", format!("时段「{w}」须写成 09:00-12:00"))
                })?;
                let t = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M");
                match (t(a), t(b)) {
                    (Ok(a), Ok(b)) if a < b => Ok((a, b)),
                    _ => Err(DomainError::invalid(
                        "call_rules",
                        format!("时段「{w}」须写成 09:00-12:00，且开始早于结束"),
                    )),
                }
            })
            .collect()
    }

    /// The first moment at or after `t` inside a calling window.
    pub fn next_window(&self, t: Instant) -> Instant {
        let windows = self.parsed().unwrap_or_default();
        if windows.is_empty() {
            return t;
        }
        let local = t.with_timezone(&cst());
        for day in 0..3 {
            let date = local.date_naive() + Duration::days(day);
            for (a, b) in &windows {
                let start = date.and_time(*a);
                let end = date.and_time(*b);
                let now = local.naive_local();
                if now < end {
                    let at = if now > start { now } else { start };
                    if let Some(x) = at.and_local_timezone(cst()).single() {
                        return x
                            .with_timezone(&chrono::Utc)
                            .with_nanosecond(0)
                            .unwrap_or(t);
                    }
                }
            }
        }
        t
    }
}

/// A survey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Survey {
    pub name: String,
    /// 调查单位（第三方测评机构）
    pub conducted_by: String,
    pub approval: Approval,
    /// Every version; the last is used (fixed once fielding began).
    pub questionnaires: Vec<Questionnaire>,
    pub strata: Vec<Stratum>,
    pub rules: CallRules,
    /// The completes aimed at.
    pub target: u64,
    /// The seed the sample was drawn with.
    pub seed: Option<u64>,
    pub status: SurveyStatus,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub fielded_at: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Instant>,
}

impl Survey {
    pub fn questionnaire(&self) -> &Questionnaire {
        self.questionnaires
            .last()
            .expect("a survey has a questionnaire")
    }
    /// The opening a caller reads: the script and the approval's fields (统计法 Art 17).
    pub fn opening(&self) -> String {
        format!(
            "{} 本调查表号：{}，制定机关：{}，批准机关及文号：{}，有效期至{}。您的回答依法保密，仅用于统计。",
            self.questionnaire().opening,
            self.approval.table_no,
            self.approval.issuer,
            self.approval.approval_no,
            self.approval.valid_until
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SurveyCommand {
    Create {
        name: String,
        conducted_by: String,
        approval: Approval,
        questionnaire: Questionnaire,
        strata: Vec<Stratum>,
        rules: CallRules,
        target: u64,
    },
    Revise(Questionnaire),
    /// The sample drawn: each stratum's frame size, drawn cases and quota (the use case drew
    /// the cases with `seed`).
    Drawn {
        seed: u64,
        strata: Vec<Stratum>,
    },
    Field,
    Close,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SurveyEvent {
    Created { survey: Box<Survey> },
    Revised { questionnaire: Questionnaire },
    Drawn { seed: u64, strata: Vec<Stratum> },
    Fielded,
    Closed,
}

impl Aggregate for Survey {
    const KIND: &'static str = "survey";
    type Command = SurveyCommand;
    type Event = SurveyEvent;

    fn decide(
        state: Option<&Self>,
        command: &SurveyCommand,
        actor: &Actor,
        at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<SurveyEvent>, DomainError> {
        require_role(actor, CENTRE_ROLES, "run surveys")?;
        match (state, command) {
            (
                None,
                SurveyCommand::Create {
                    name,
                    conducted_by,
                    approval,
                    questionnaire,
                    strata,
                    rules,
                    target,
                },
            ) => {
                let approval = Approval {
                    table_no: text("approval", &approval.table_no, 40, "表号")?,
                    issuer: text("approval", &approval.issuer, 60, "制定机关")?,
                    approval_no: text("approval", &approval.approval_no, 80, "批准文号")?,
                    valid_until: approval.valid_until,
                };
                if approval.valid_until < local_date(at) {
                    return Err(DomainError::invalid(
                        "approval",
                        "调查表已过有效期：统计调查须在批准的有效期内进行（统计法第十七条）",
                    ));
                }
                rules.parsed()?;
                if rules.max_attempts == 0 || rules.max_attempts > 20 {
                    return Err(DomainError::invalid(
                        "call_rules",
                        "每个号码最多拨打 1 至 20 次",
                    ));
                }
                if strata.is_empty() || strata.len() > 200 {
                    return Err(DomainError::invalid("strata", "请设 1 至 200 个层"));
                }
                for (i, s) in strata.iter().enumerate() {
                    if s.code.trim().is_empty() || strata[..i].iter().any(|x| x.code == s.code) {
                        return Err(DomainError::invalid("strata", "层的代码为空或重复"));
                    }
                }
                if *target == 0 {
                    return Err(DomainError::invalid("target", "请填写目标完成数"));
                }
                Ok(vec![SurveyEvent::Created {
                    survey: Box::new(Survey {
                        name: text("survey.name", name, 60, "调查名称")?,
                        conducted_by: text("conducted_by", conducted_by, 60, "调查单位")?,
                        approval,
                        questionnaires: vec![questionnaire.clone().checked(1)?],
                        strata: strata.clone(),
                        rules: rules.clone(),
                        target: *target,
                        seed: None,
                        status: SurveyStatus::Draft,
                        fielded_at: None,
                        closed_at: None,
                    }),
                }])
            }
            (None, _) => Err(DomainError::invalid("survey", "没有这项调查")),
            (Some(_), SurveyCommand::Create { .. }) => {
                Err(DomainError::invalid("survey", "调查已经建立"))
            }
            (Some(s), SurveyCommand::Revise(q)) => {
                if s.status != SurveyStatus::Draft {
                    return Err(DomainError::invalid(
                        "questions",
                        "访问开始后问卷不能再改（否则前后回答不可比）",
                    ));
                }
                let v = s.questionnaire().version + 1;
                Ok(vec![SurveyEvent::Revised {
                    questionnaire: q.clone().checked(v)?,
                }])
            }
            (Some(s), SurveyCommand::Drawn { seed, strata }) => {
                if s.status != SurveyStatus::Draft || s.seed.is_some() {
                    return Err(DomainError::invalid("survey", "样本已经抽取"));
                }
                Ok(vec![SurveyEvent::Drawn {
                    seed: *seed,
                    strata: strata.clone(),
                }])
            }
            (Some(s), SurveyCommand::Field) => {
                if s.status != SurveyStatus::Draft {
                    return Err(DomainError::invalid("survey", "调查已开始或已结束"));
                }
                if s.seed.is_none() {
                    return Err(DomainError::invalid("survey", "请先导入抽样框并抽取样本"));
                }
                Ok(vec![SurveyEvent::Fielded])
            }
            (Some(s), SurveyCommand::Close) => {
                if s.status != SurveyStatus::Fielding {
                    return Err(DomainError::invalid("survey", "只有访问中的调查可以结束"));
                }
                Ok(vec![SurveyEvent::Closed])
            }
        }
    }

    fn apply(state: Option<Self>, event: &SurveyEvent, at: Instant) -> Self {
        let mut s = match (state, event) {
            (_, SurveyEvent::Created { survey }) => return (**survey).clone(),
            (Some(s), _) => s,
            (None, e) => panic!("a survey starts created, not {e:?}"),
        };
        match event {
            SurveyEvent::Created { .. } => {}
            SurveyEvent::Revised { questionnaire } => s.questionnaires.push(questionnaire.clone()),
            SurveyEvent::Drawn { seed, strata } => {
                s.seed = Some(*seed);
                s.strata = strata.clone();
            }
            SurveyEvent::Fielded => {
                s.status = SurveyStatus::Fielding;
                s.fielded_at = Some(at);
            }
            SurveyEvent::Closed => {
                s.status = SurveyStatus::Closed;
                s.closed_at = Some(at);
            }
        }
        s
    }

    fn event_name(event: &SurveyEvent) -> &'static str {
        match event {
            SurveyEvent::Created { .. } => "created",
            SurveyEvent::Revised { .. } => "revised",
            SurveyEvent::Drawn { .. } => "drawn",
            SurveyEvent::Fielded => "fielded",
            SurveyEvent::Closed => "closed",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![(
            "status",
            match self.status {
                SurveyStatus::Draft => "draft",
                SurveyStatus::Fielding => "fielding",
                SurveyStatus::Closed => "closed",
            }
            .to_string(),
        )]
    }
}

// ---------------------------------------------------------------------------------------------
// A case

/// One call attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    pub disposition: Disposition,
    /// Who called: a caller's name, or the AI platform.
    pub by: String,
    #[serde(default)]
    pub note: String,
    /// A callback the respondent asked for.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub callback: Option<Instant>,
    /// The external platform's result id (applied once).
    #[serde(default)]
    pub result_id: Option<String>,
}

/// A sampled number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Case {
    pub survey: u64,
    pub stratum: String,
    #[schema(value_type = String)]
    pub phone: Phone,
    pub attempts: Vec<Attempt>,
    #[serde(default)]
    pub answers: Vec<Answer>,
    /// The respondent agreed to be called back about a 不满意 answer (it becomes an appeal).
    #[serde(default)]
    pub consent: bool,
    /// The appeal a 不满意 answer with consent became.
    #[serde(default)]
    pub appeal: Option<String>,
    /// The caller it is given to now, and until when (a caller sees only their current case).
    #[serde(default)]
    pub held: Option<Hold>,
}

/// A case given to one caller for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hold {
    #[schema(value_type = u32)]
    pub by: crate::UserId,
    #[schema(value_type = String, format = DateTime)]
    pub until: Instant,
}

/// How long a case stays with the caller it was given to.
pub const HOLD_MINUTES: i64 = 15;

impl Case {
    /// The final disposition: the most informative of the attempts (none: not called yet).
    pub fn final_disposition(&self) -> Option<Disposition> {
        self.attempts
            .iter()
            .map(|a| a.disposition)
            .max_by_key(|d| d.rank())
    }
    /// No more calls: closed by an outcome, or the attempts used up.
    pub fn finished(&self, rules: &CallRules) -> bool {
        self.attempts.iter().any(|a| a.disposition.closes())
            || self.attempts.len() as u32 >= rules.max_attempts
    }
    /// The answers that become an appeal: the respondent consented, was interviewed (complete
    /// or partial), gave an answer the questionnaire marks as raising one, and none was raised.
    pub fn to_raise<'a>(&'a self, q: &'a Questionnaire) -> Vec<(&'a Question, &'a Answer)> {
        let interviewed = self
            .attempts
            .iter()
            .any(|a| matches!(a.disposition, Disposition::Complete | Disposition::Partial));
        if !self.consent || !interviewed || self.appeal.is_some() {
            return Vec::new();
        }
        self.answers
            .iter()
            .filter_map(|a| {
                let question = q.questions.iter().find(|x| x.code == a.question)?;
                question.raises.contains(&a.value).then_some((question, a))
            })
            .collect()
    }

    /// Held by someone other than `user` at `at`.
    pub fn held_by_other(&self, user: crate::UserId, at: Instant) -> bool {
        self.held.is_some_and(|h| h.by != user && h.until > at)
    }

    /// When it may be called next (`None`: finished).
    pub fn next_call(&self, rules: &CallRules) -> Option<Instant> {
        if self.finished(rules) {
            return None;
        }
        let Some(last) = self.attempts.last() else {
            return Some(Instant::default());
        };
        let at = last
            .callback
            .unwrap_or_else(|| last.at + last.disposition.retry_after());
        Some(rules.next_window(at))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CaseCommand {
    Draw {
        survey: u64,
        stratum: String,
        phone: Phone,
    },
    /// A call's outcome, with the answers of an interview (complete or partial).
    Call {
        attempt: Attempt,
        answers: Vec<Answer>,
        consent: bool,
        questionnaire: Questionnaire,
        rules: CallRules,
    },
    /// The appeal a 不满意 answer became.
    Raised { appeal: String },
    /// Given to the acting caller for [`HOLD_MINUTES`].
    Hold,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CaseEvent {
    Drawn {
        survey: u64,
        stratum: String,
        phone: Phone,
    },
    Called {
        attempt: Attempt,
        answers: Vec<Answer>,
        consent: bool,
    },
    Raised {
        appeal: String,
    },
    Held {
        hold: Hold,
    },
}

fn checked_answers(q: &Questionnaire, answers: &[Answer]) -> Result<(), DomainError> {
    for a in answers {
        let Some(question) = q.questions.iter().find(|x| x.code == a.question) else {
            return Err(DomainError::invalid(
                "answers",
                format!("问卷中没有题号 {}", a.question),
            ));
        };
        let ok = match question.kind {
            QuestionKind::Single => question.options.contains(&a.value),
            QuestionKind::Multiple => a
                .value
                .split(['、', ','])
                .all(|v| question.options.iter().any(|o| o == v.trim())),
            QuestionKind::Scale => a.value.parse::<u8>().is_ok_and(|v| (1..=5).contains(&v)),
            QuestionKind::Open => a.value.chars().count() <= 1000,
        };
        if !ok {
            return Err(DomainError::invalid(
                "answers",
                format!("{} 的回答「{}」不是可选的答案", a.question, a.value),
            ));
        }
    }
    Ok(())
}

impl Aggregate for Case {
    const KIND: &'static str = "survey_case";
    type Command = CaseCommand;
    type Event = CaseEvent;

    fn decide(
        state: Option<&Self>,
        command: &CaseCommand,
        actor: &Actor,
        at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let taken = |c: &Case| actor.role != Role::System && c.held_by_other(actor.user, at);
        match (state, command) {
            (
                None,
                CaseCommand::Draw {
                    survey,
                    stratum,
                    phone,
                },
            ) => {
                require_role(actor, CENTRE_ROLES, "draw samples")?;
                Ok(vec![CaseEvent::Drawn {
                    survey: *survey,
                    stratum: stratum.clone(),
                    phone: phone.clone(),
                }])
            }
            (None, _) => Err(DomainError::invalid("survey_case", "没有这个样本")),
            (Some(_), CaseCommand::Draw { .. }) => {
                Err(DomainError::invalid("survey_case", "样本已经抽取"))
            }
            (
                Some(c),
                CaseCommand::Call {
                    attempt,
                    answers,
                    consent,
                    questionnaire,
                    rules,
                },
            ) => {
                require_role(actor, CALLER_ROLES, "call survey cases")?;
                if let Some(id) = &attempt.result_id {
                    if c.attempts
                        .iter()
                        .any(|a| a.result_id.as_deref() == Some(id))
                    {
                        return Ok(vec![]);
                    }
                }
                if taken(c) {
                    return Err(DomainError::invalid(
                        "survey_case",
                        "这个号码正由其他访员拨打，请取下一个号码",
                    ));
                }
                if c.finished(rules) {
                    return Err(DomainError::invalid(
                        "survey_case",
                        "这个号码已经结束访问（已完成、拒访、无效或达到拨打上限）",
                    ));
                }
                let interview = matches!(
                    attempt.disposition,
                    Disposition::Complete | Disposition::Partial
                );
                if !interview && !answers.is_empty() {
                    return Err(DomainError::invalid(
                        "answers",
                        "只有完成或部分完成的访问记录回答",
                    ));
                }
                if attempt.disposition == Disposition::Complete {
                    let path = questionnaire.path(answers);
                    // Every closed question on the path; an open one may be left blank.
                    if let Some(q) = path.iter().find(|q| {
                        q.kind != QuestionKind::Open
                            && !answers.iter().any(|a| a.question == q.code)
                    }) {
                        return Err(DomainError::invalid(
                            "answers",
                            format!(
                                "完成访问须回答 {}：{}（未答完请记为部分完成）",
                                q.code, q.text
                            ),
                        ));
                    }
                }
                checked_answers(questionnaire, answers)?;
                Ok(vec![CaseEvent::Called {
                    attempt: attempt.clone(),
                    answers: answers.clone(),
                    consent: *consent,
                }])
            }
            (Some(c), CaseCommand::Hold) => {
                require_role(actor, CALLER_ROLES, "call survey cases")?;
                if taken(c) {
                    return Err(DomainError::invalid(
                        "survey_case",
                        "这个号码正由其他访员拨打，请取下一个号码",
                    ));
                }
                Ok(vec![CaseEvent::Held {
                    hold: Hold {
                        by: actor.user,
                        until: at + Duration::minutes(HOLD_MINUTES),
                    },
                }])
            }
            (Some(c), CaseCommand::Raised { appeal }) => {
                if c.appeal.is_some() {
                    return Ok(vec![]);
                }
                Ok(vec![CaseEvent::Raised {
                    appeal: appeal.clone(),
                }])
            }
        }
    }

    fn apply(state: Option<Self>, event: &CaseEvent, _at: Instant) -> Self {
        match (state, event) {
            (
                _,
                CaseEvent::Drawn {
                    survey,
                    stratum,
                    phone,
                },
            ) => Case {
                survey: *survey,
                stratum: stratum.clone(),
                phone: phone.clone(),
                attempts: Vec::new(),
                answers: Vec::new(),
                consent: false,
                appeal: None,
                held: None,
            },
            (
                Some(mut c),
                CaseEvent::Called {
                    attempt,
                    answers,
                    consent,
                },
            ) => {
                c.attempts.push(attempt.clone());
                c.held = None;
                if !answers.is_empty() {
                    c.answers = answers.clone();
                    c.consent = *consent;
                }
                c
            }
            (Some(mut c), CaseEvent::Raised { appeal }) => {
                c.appeal = Some(appeal.clone());
                c
            }
            (Some(mut c), CaseEvent::Held { hold }) => {
                c.held = Some(*hold);
                c
            }
            (None, e) => panic!("a case starts drawn, not {e:?}"),
        }
    }

    fn event_name(event: &CaseEvent) -> &'static str {
        match event {
            CaseEvent::Drawn { .. } => "drawn",
            CaseEvent::Called { .. } => "called",
            CaseEvent::Raised { .. } => "raised",
            CaseEvent::Held { .. } => "held",
        }
    }

    /// Found by survey, and by `{survey}|open` or `{survey}|done` (what a caller is given).
    /// Version 2: the completes by stratum (quotas are counted from them).
    const INDEX_VERSION: u32 = 2;

    fn index(&self) -> Vec<(&'static str, String)> {
        let done = self.final_disposition().is_some_and(|d| d.closes());
        let mut out = vec![
            ("survey", self.survey.to_string()),
            (
                "queue",
                format!("{}|{}", self.survey, if done { "done" } else { "open" }),
            ),
        ];
        if self.final_disposition() == Some(Disposition::Complete) {
            out.push(("complete", format!("{}|{}", self.survey, self.stratum)));
        }
        out
    }
}

/// One indicator's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IndicatorResult {
    pub indicator: Indicator,
    pub label: String,
    pub question: String,
    /// Unweighted, with the Wilson interval.
    pub unweighted: Option<Estimate>,
    /// Post-stratified to the frame, with the design-based interval.
    pub weighted: Option<Estimate>,
    /// The frame share of the strata with completes (1: every stratum reached).
    pub covered: f64,
    pub favourable: u64,
    pub answered: u64,
    /// Each stratum's own figure (unweighted, Wilson), with its share of the frame.
    #[serde(default)]
    pub strata: Vec<StratumResult>,
}

/// One stratum's figure for an indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StratumResult {
    pub code: String,
    pub name: String,
    /// The stratum's share of the frame.
    pub share: f64,
    pub estimate: Option<Estimate>,
    /// Completes that answered the question, and of them the favourable.
    #[serde(default)]
    pub answered: u64,
    #[serde(default)]
    pub favourable: u64,
}

/// The results of a survey's cases.
pub fn indicator_results(survey: &Survey, cases: &[&Case]) -> Vec<IndicatorResult> {
    let q = survey.questionnaire();
    let completes: Vec<&&Case> = cases
        .iter()
        .filter(|c| c.final_disposition() == Some(Disposition::Complete))
        .collect();
    Indicator::ALL
        .into_iter()
        .filter_map(|ind| {
            let question = q.question_for(ind)?;
            let mut strata: Vec<StratumCount> = survey
                .strata
                .iter()
                .map(|s| StratumCount {
                    frame: s.frame,
                    n: 0,
                    yes: 0,
                })
                .collect();
            let (mut n, mut yes) = (0u64, 0u64);
            for c in &completes {
                let Some(a) = c.answers.iter().find(|a| a.question == question.code) else {
                    continue;
                };
                let fav = question.favourable.iter().any(|f| f == &a.value);
                n += 1;
                yes += u64::from(fav);
                if let Some(i) = survey.strata.iter().position(|s| s.code == c.stratum) {
                    strata[i].n += 1;
                    strata[i].yes += u64::from(fav);
                }
            }
            let weighted = post_stratified(&strata);
            let total: u64 = strata.iter().map(|s| s.frame).sum();
            let by_stratum = survey
                .strata
                .iter()
                .zip(&strata)
                .map(|(s, n)| StratumResult {
                    code: s.code.clone(),
                    name: s.name.clone(),
                    share: n.frame as f64 / total.max(1) as f64,
                    estimate: wilson(n.yes, n.n),
                    answered: n.n,
                    favourable: n.yes,
                })
                .collect();
            Some(IndicatorResult {
                indicator: ind,
                label: ind.label().to_string(),
                question: question.code.clone(),
                unweighted: wilson(yes, n),
                weighted: weighted.map(|w| w.0),
                covered: weighted.map_or(0.0, |w| w.1),
                favourable: yes,
                answered: n,
                strata: by_stratum,
            })
        })
        .collect()
}

/// The final outcomes of a survey's cases (cases never called count as UH: 3.11 not attempted).
pub fn outcomes(cases: &[&Case]) -> Outcomes {
    let mut o = Outcomes::default();
    for c in cases {
        o.add(c.final_disposition().map_or(Group::UH, Disposition::group));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 5e-5)
    }

    #[test]
    fn the_seeds_figure_has_its_wilson_interval() {
        // 99.59 % of 1,232 is 1,227; its Wilson interval is 99.05–99.83 %.
        let e = wilson(1227, 1232).unwrap();
        assert_eq!(format!("{:.2}", e.value * 100.0), "99.59");
        assert_eq!(format!("{:.2}", e.low * 100.0), "99.05");
        assert_eq!(format!("{:.2}", e.high * 100.0), "99.83");
        // A textbook case: 81 of 263 → 0.2553–0.3662.
        let t = wilson(81, 263).unwrap();
        assert!(
            (t.low - 0.2553).abs() < 1e-4 && (t.high - 0.3662).abs() < 1e-4,
            "{t:?}"
        );
        assert!(wilson(1, 0).is_none());
    }

    #[test]
    fn aapor_rates_by_their_formulas() {
        // I=400, P=50, R=150, NC=100, O=20, UH=200, UO=30, NE=50.
        let o = Outcomes {
            i: 400,
            p: 50,
            r: 150,
            nc: 100,
            o: 20,
            uh: 200,
            uo: 30,
            ne: 50,
        };
        let e = o.e_proportional();
        assert!((e - 720.0 / 770.0).abs() < 1e-12);
        let r = o.rates(e);
        let est = 720.0 + e * 230.0;
        assert!(close(r.rr1, 400.0 / 950.0));
        assert!(close(r.rr2, 450.0 / 950.0));
        assert!(close(r.rr3, 400.0 / est));
        assert!(close(r.rr4, 450.0 / est));
        assert!(close(r.rr5, 400.0 / 720.0));
        assert!(close(r.rr6, 450.0 / 720.0));
        assert!(close(r.coop1, 400.0 / 620.0));
        assert!(close(r.coop2, 450.0 / 620.0));
        assert!(close(r.coop3, 400.0 / 600.0));
        assert!(close(r.coop4, 450.0 / 600.0));
        assert!(close(r.ref1, 150.0 / 950.0));
        assert!(close(r.ref2, 150.0 / est));
        assert!(close(r.ref3, 150.0 / 720.0));
        assert!(close(r.con1, 620.0 / 950.0));
        assert!(close(r.con2, 620.0 / (720.0 + e * 230.0)));
        assert!(close(r.con3, 620.0 / 720.0));
    }

    #[test]
    fn post_stratification_weights_to_the_frame() {
        // Town A: 60 % of the frame, 90 of 100 favourable; town B: 40 %, 40 of 50.
        let strata = [
            StratumCount {
                frame: 6000,
                n: 100,
                yes: 90,
            },
            StratumCount {
                frame: 4000,
                n: 50,
                yes: 40,
            },
        ];
        let (e, covered) = post_stratified(&strata).unwrap();
        assert!((e.value - (0.6 * 0.9 + 0.4 * 0.8)).abs() < 1e-12);
        let var: f64 = 0.36 * 0.09 / 99.0 + 0.16 * 0.16 / 49.0;
        assert!((e.high - e.value - 1.959_964 * var.sqrt()).abs() < 1e-6);
        assert_eq!(covered, 1.0);
        // Unweighted it would be 130 / 150 = 0.8667, not 0.86.
        assert!((wilson(130, 150).unwrap().value - 0.8667).abs() < 1e-4);
    }

    #[test]
    fn the_same_seed_draws_the_same_sample() {
        let a = Draw::new(2026).choose(10_000, 50);
        let b = Draw::new(2026).choose(10_000, 50);
        let c = Draw::new(2027).choose(10_000, 50);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut s = a.clone();
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), 50, "no number twice");
    }

    #[test]
    fn a_case_keeps_its_most_informative_outcome_and_retries_in_windows() {
        let rules = CallRules::default();
        let at = crate::time::local(2026, 11, 2, 11, 50, 0).unwrap();
        let mut c = Case {
            survey: 1,
            stratum: "a".into(),
            phone: Phone::parse("13800001111").unwrap(),
            attempts: vec![],
            answers: vec![],
            consent: false,
            appeal: None,
            held: None,
        };
        let call = |d, at| Attempt {
            at,
            disposition: d,
            by: "AI".into(),
            note: String::new(),
            callback: None,
            result_id: None,
        };
        c.attempts.push(call(Disposition::NoAnswer, at));
        // Three hours on is 14:50, inside the afternoon window.
        assert_eq!(
            c.next_call(&rules),
            crate::time::local(2026, 11, 2, 14, 50, 0)
        );
        c.attempts
            .push(call(Disposition::AnsweringMachine, at + Duration::hours(9)));
        // 20:50 + 4 h is past the evening window: the next morning at nine.
        assert_eq!(
            c.next_call(&rules),
            crate::time::local(2026, 11, 3, 9, 0, 0)
        );
        assert_eq!(c.final_disposition(), Some(Disposition::AnsweringMachine));
        c.attempts
            .push(call(Disposition::Refusal, at + Duration::days(1)));
        assert_eq!(c.final_disposition(), Some(Disposition::Refusal));
        assert_eq!(c.next_call(&rules), None);
    }

    #[test]
    fn skip_logic_shapes_what_a_complete_must_answer() {
        let q = Questionnaire {
            version: 0,
            opening: "您好".into(),
            questions: vec![
                Question {
                    code: "Q1".into(),
                    text: "您是否在本县居住满半年？".into(),
                    kind: QuestionKind::Single,
                    options: vec!["是".into(), "否".into()],
                    indicator: None,
                    favourable: vec![],
                    skip: Some(Skip {
                        answer: "否".into(),
                        to: "end".into(),
                    }),
                    raises: vec![],
                },
                Question {
                    code: "Q2".into(),
                    text: "您觉得本地治安怎么样？".into(),
                    kind: QuestionKind::Single,
                    options: vec!["很安全".into(), "比较安全".into(), "不太安全".into()],
                    indicator: Some(Indicator::Safety),
                    favourable: vec!["很安全".into(), "比较安全".into()],
                    skip: None,
                    raises: vec!["不太安全".into()],
                },
            ],
        }
        .checked(1)
        .unwrap();
        let no = [Answer {
            question: "Q1".into(),
            value: "否".into(),
        }];
        assert_eq!(q.path(&no).len(), 1);
        let yes = [Answer {
            question: "Q1".into(),
            value: "是".into(),
        }];
        assert_eq!(q.path(&yes).len(), 2);

        // 不太安全 raises an appeal only with consent, after an interview, and once.
        let attempt = |d| Attempt {
            at: Instant::default(),
            disposition: d,
            by: "AI".into(),
            note: String::new(),
            callback: None,
            result_id: None,
        };
        let mut c = Case {
            survey: 1,
            stratum: "a".into(),
            phone: Phone::parse("13800001111").unwrap(),
            attempts: vec![attempt(Disposition::Complete)],
            answers: vec![
                yes[0].clone(),
                Answer {
                    question: "Q2".into(),
                    value: "不太安全".into(),
                },
            ],
            consent: false,
            appeal: None,
            held: None,
        };
        assert!(c.to_raise(&q).is_empty(), "no consent, no appeal");
        c.consent = true;
        let raised = c.to_raise(&q);
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0].0.code, "Q2");
        c.attempts = vec![attempt(Disposition::Refusal)];
        assert!(c.to_raise(&q).is_empty(), "not interviewed");
        c.attempts = vec![attempt(Disposition::Partial)];
        assert_eq!(c.to_raise(&q).len(), 1, "a partial interview counts");
        c.appeal = Some("YX202611000001".into());
        assert!(c.to_raise(&q).is_empty(), "raised once");
        c.appeal = None;
        c.answers[1].value = "比较安全".into();
        assert!(
            c.to_raise(&q).is_empty(),
            "a favourable answer raises nothing"
        );
    }
}
