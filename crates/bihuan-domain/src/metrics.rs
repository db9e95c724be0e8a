//! Metric formulas, as pure functions over appeals (each [`Appeal`] being the fold of its event
//! history, see [`Appeal::from_history`]). `docs/metrics.md` states every formula in words; the
//! doc comment of each function here is the authoritative definition.
//!
//! Conventions shared by all of them:
//! * a [`Period`] is half-open, `[start, end)`, in instants; a thing falls in a period by the
//!   instant named in each formula;
//! * a [`Rate`] keeps its numerator and denominator, so rates can be summed across units and
//!   periods exactly (rollups add counts, never average percentages); an empty denominator has
//!   no value rather than 0 % or 100 %;
//! * merged duplicates are excluded everywhere except volume: their master carries the matter;
//! * `now` is passed in: a deadline that has not yet run out is neither met nor missed.

use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, CalendarError};
use crate::category::CategoryId;
use crate::lifecycle::{Appeal, Rating, Status};
use crate::org::UnitId;
use crate::time::{start_of_day, Instant};

/// A half-open interval of time, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: Instant,
    pub end: Instant,
}

impl Period {
    /// From the start of `first` to the end of `last` (both China dates, inclusive). `None`
    /// when `first` is after `last` or either lies outside the accepted range
    /// ([`crate::time::date_in_range`]), so every period is one date arithmetic can handle.
    pub fn days(first: NaiveDate, last: NaiveDate) -> Option<Period> {
        if first > last || !crate::time::date_in_range(first) || !crate::time::date_in_range(last) {
            return None;
        }
        Some(Period {
            start: start_of_day(first),
            end: start_of_day(last.succ_opt()?),
        })
    }

    /// A calendar month.
    pub fn month(year: i32, month: u32) -> Option<Period> {
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let next = first.checked_add_months(Months::new(1))?;
        Period::days(first, next.pred_opt()?)
    }

    /// Quarter 1–4.
    pub fn quarter(year: i32, quarter: u32) -> Option<Period> {
        if !(1..=4).contains(&quarter) {
            return None;
        }
        let first = NaiveDate::from_ymd_opt(year, (quarter - 1) * 3 + 1, 1)?;
        Period::days(first, first.checked_add_months(Months::new(3))?.pred_opt()?)
    }

    /// Half-year 1 (January–June) or 2 (July–December).
    pub fn half(year: i32, half: u32) -> Option<Period> {
        if !(1..=2).contains(&half) {
            return None;
        }
        let first = NaiveDate::from_ymd_opt(year, (half - 1) * 6 + 1, 1)?;
        Period::days(first, first.checked_add_months(Months::new(6))?.pred_opt()?)
    }

    pub fn year(year: i32) -> Option<Period> {
        Period::days(
            NaiveDate::from_ymd_opt(year, 1, 1)?,
            NaiveDate::from_ymd_opt(year, 12, 31)?,
        )
    }

    /// An assessment month that starts on `start_day` of the previous month and ends the day
    /// before `start_day` of the named month: with `start_day` 19, assessment month 2026-11 runs
    /// from 2026-10-19 to 2026-11-18. `start_day` must be 2–28 (1 is the calendar month).
    pub fn assessment_month(year: i32, month: u32, start_day: u32) -> Option<Period> {
        if start_day == 1 {
            return Period::month(year, month);
        }
        if !(2..=28).contains(&start_day) {
            return None;
        }
        let end_excl = NaiveDate::from_ymd_opt(year, month, start_day)?;
        let first = end_excl.checked_sub_months(Months::new(1))?;
        Period::days(first, end_excl.pred_opt()?)
    }

    pub fn contains(&self, t: Instant) -> bool {
        self.start <= t && t < self.end
    }

    fn contains_opt(&self, t: Option<Instant>) -> bool {
        t.is_some_and(|t| self.contains(t))
    }

    /// The same period one year earlier, for year-on-year change.
    pub fn year_earlier(&self) -> Period {
        let back = |t: Instant| t.checked_sub_months(Months::new(12)).unwrap_or(t);
        Period {
            start: back(self.start),
            end: back(self.end),
        }
    }

    /// The first `days` days of this period (whole China days from its start, at most the whole
    /// period): the span a running period is compared on.
    pub fn first_days(&self, days: i64) -> Period {
        let first = crate::time::local_date(self.start);
        let end = first
            .checked_add_signed(chrono::Duration::days(days.max(1)))
            .map(start_of_day)
            .unwrap_or(self.end)
            .min(self.end);
        Period {
            start: self.start,
            end,
        }
    }

    /// How many China days of this period have begun by `now` (today included); `None` when
    /// the period is not running at `now`.
    pub fn days_begun(&self, now: Instant) -> Option<i64> {
        (self.start <= now && now < self.end).then(|| {
            (crate::time::local_date(now) - crate::time::local_date(self.start)).num_days() + 1
        })
    }

    /// The period of the same length that ends where this one starts, for period-on-period
    /// change. Calendar months shift by a month (so March compares with February, not with the
    /// 31 days before it).
    pub fn previous(&self) -> Period {
        let s = crate::time::local_date(self.start);
        let e = crate::time::local_date(self.end);
        let months = (e.year() - s.year()) * 12 + e.month() as i32 - s.month() as i32;
        if s.day() == e.day() && months > 0 {
            let m = Months::new(months as u32);
            if let (Some(ps), Some(_)) = (s.checked_sub_months(m), e.checked_sub_months(m)) {
                return Period {
                    start: start_of_day(ps),
                    end: self.start,
                };
            }
        }
        Period {
            start: self.start - (self.end - self.start),
            end: self.start,
        }
    }
}

/// A ratio that remembers its parts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub num: u64,
    pub den: u64,
}

impl std::ops::Add for Rate {
    type Output = Rate;
    fn add(self, o: Rate) -> Rate {
        Rate::new(self.num + o.num, self.den + o.den)
    }
}

impl Rate {
    pub fn new(num: u64, den: u64) -> Rate {
        Rate { num, den }
    }

    /// `None` when nothing was counted.
    pub fn value(&self) -> Option<f64> {
        (self.den > 0).then(|| self.num as f64 / self.den as f64)
    }

    fn count(&mut self, hit: bool) {
        self.den += 1;
        self.num += u64::from(hit);
    }
}

/// Which unit a metric is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything.
    All,
    /// Work done by one unit as lead. Metrics over dispatch or reply rounds count the rounds that
    /// unit held (a unit that returned an order is not charged with the next unit's delay);
    /// the others count appeals whose current lead it is.
    Lead(UnitId),
}

impl Scope {
    fn unit(&self, u: Option<UnitId>) -> bool {
        match self {
            Scope::All => true,
            Scope::Lead(x) => u == Some(*x),
        }
    }
}

fn live(a: &Appeal) -> bool {
    a.status != Status::Merged
}

/// 及时受理率 (timely acceptance): dispatches in the period whose lead unit signed within the
/// signing limit, over dispatches in the period whose outcome is known.
///
/// A dispatch counts when it was made in the period. Its outcome is known once the unit signed
/// or the signing deadline passed (`now`). A dispatch the centre took back after the unit's
/// return (an accepted return) is left out: a correct return of a misrouted order is not a
/// failure to accept.
pub fn timely_acceptance<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    period: &Period,
    now: Instant,
) -> Rate {
    let mut r = Rate::default();
    for a in appeals.into_iter().filter(|a| live(a)) {
        for d in &a.dispatch_rounds {
            if !period.contains(d.at) || !scope.unit(Some(d.unit)) {
                continue;
            }
            if d.returned {
                continue;
            }
            match d.signed_at {
                Some(s) => r.count(s <= d.sign_due),
                None if now > d.sign_due => r.count(false),
                None => {}
            }
        }
    }
    r
}

/// 按期办结率 (on-time completion): reply deadlines falling in the period that were met, over
/// reply deadlines falling in the period whose outcome is known.
///
/// Each handling round has a deadline: the first handling and each redo. Approved extensions
/// move it (they count as on time). A round's outcome is known once the unit replied or the
/// deadline passed. Rounds cut short by an accepted return are not counted.
pub fn on_time_completion<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    period: &Period,
    now: Instant,
) -> Rate {
    let mut r = Rate::default();
    for a in appeals.into_iter().filter(|a| live(a)) {
        for round in &a.reply_rounds {
            if !period.contains(round.due) || !scope.unit(Some(round.unit)) {
                continue;
            }
            match round.replied_at {
                Some(t) => r.count(t <= round.due),
                None if now > round.due => r.count(false),
                None => {}
            }
        }
    }
    r
}

/// 闭环率 (closed loop): appeals that first reached a reply in the period and are now closed
/// with a completed return visit (the citizen was reached), over appeals that first reached a
/// reply in the period. Answers given at intake count as replies.
pub fn closed_loop<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    period: &Period,
) -> Rate {
    let mut r = Rate::default();
    for a in appeals
        .into_iter()
        .filter(|a| live(a) && scope.unit(a.lead))
    {
        if period.contains_opt(a.first_replied_at) {
            r.count(
                a.status == Status::Closed
                    && !a.closed_without_visit
                    && a.visit.as_ref().is_some_and(|v| v.contacted),
            );
        }
    }
    r
}

/// 一次性化解率 (first-time one-shot resolution): appeals closed in the period without a redo
/// and without the same person raising the same matter again within `window_days` after the
/// close, over appeals closed in the period.
///
/// "The same person" is the citizen's identity (phone, else name); "the same matter" is the
/// same category. Anonymous or uncategorised appeals cannot be matched and count as not
/// repeated. No official formula exists; this is ours. A close less than `window_days` ago is
/// judged on what is known so far, so the rate of a recent period can still fall.
pub fn one_shot_resolution(
    appeals: &[Appeal],
    scope: Scope,
    period: &Period,
    window_days: u32,
) -> Rate {
    one_shot_resolution_among(
        appeals,
        &RepeatIndex::new(appeals),
        scope,
        period,
        window_days,
    )
}

/// Who raised which matter when: built once over all appeals, then used for any group.
pub struct RepeatIndex {
    raised: HashMap<(String, CategoryId), Vec<Instant>>,
}

impl RepeatIndex {
    pub fn new(all: &[Appeal]) -> RepeatIndex {
        let mut raised: HashMap<(String, CategoryId), Vec<Instant>> = HashMap::new();
        for a in all {
            if let (Some(k), Some(c)) = (a.citizen.identity_key(), a.category) {
                raised.entry((k, c)).or_default().push(a.registered_at);
            }
        }
        for v in raised.values_mut() {
            v.sort_unstable();
        }
        RepeatIndex { raised }
    }

    /// Whether the same person raised the same matter within `window` after `closed`.
    pub fn repeated(&self, a: &Appeal, closed: Instant, window: chrono::Duration) -> bool {
        match (a.citizen.identity_key(), a.category) {
            (Some(k), Some(c)) => self.raised.get(&(k, c)).is_some_and(|times| {
                let i = times.partition_point(|t| *t <= closed);
                times.get(i).is_some_and(|t| *t <= closed + window)
            }),
            _ => false,
        }
    }
}

/// [`one_shot_resolution`] for a group of appeals (a township, a category …), with repeats
/// looked for in an index over all appeals: the same person may raise the matter anywhere.
pub fn one_shot_resolution_among<'a>(
    group: impl IntoIterator<Item = &'a Appeal>,
    index: &RepeatIndex,
    scope: Scope,
    period: &Period,
    window_days: u32,
) -> Rate {
    let window = chrono::Duration::days(i64::from(window_days));
    let mut r = Rate::default();
    for a in group
        .into_iter()
        .filter(|a| live(a) && scope.unit(a.lead) && counts_for_one_shot(a))
    {
        let Some(closed) = a.closed_at.filter(|t| period.contains(*t)) else {
            continue;
        };
        r.count(resolved_once(a, index.repeated(a, closed, window)));
    }
    r
}

/// Whether a closed appeal is counted for one-shot resolution at all: a review case (复查 /
/// 复核) is not a first petition, and a petition not accepted (不予受理) was not resolved.
pub fn counts_for_one_shot(a: &Appeal) -> bool {
    a.review.is_none() && a.declined.is_none()
}

/// Whether a closed appeal was resolved in one go: never redone, no review asked for
/// (信访: 初次信访一次性化解 means no 复查 or 复核), and not raised again by the same person
/// within the window (`repeated`).
pub fn resolved_once(a: &Appeal, repeated: bool) -> bool {
    a.redo_count == 0 && a.reviews.is_empty() && !repeated
}

/// The counts behind Beijing's three rates (北京市接诉即办工作条例 Art 32), over appeals whose
/// current return visit was made in the period (a redo clears the earlier visit, so an appeal is
/// judged on its latest handling).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitCounts {
    pub visited: u64,
    pub contacted: u64,
    pub resolved: u64,
    pub satisfied: u64,
    pub basic: u64,
}

impl std::ops::Add for VisitCounts {
    type Output = VisitCounts;
    fn add(self, o: VisitCounts) -> VisitCounts {
        VisitCounts {
            visited: self.visited + o.visited,
            contacted: self.contacted + o.contacted,
            resolved: self.resolved + o.resolved,
            satisfied: self.satisfied + o.satisfied,
            basic: self.basic + o.basic,
        }
    }
}

impl VisitCounts {
    /// 响应率 = contacted / visited.
    pub fn response(&self) -> Option<f64> {
        Rate::new(self.contacted, self.visited).value()
    }

    /// 解决率 = resolved / visited.
    pub fn resolution(&self) -> Option<f64> {
        Rate::new(self.resolved, self.visited).value()
    }

    /// 满意率 = (satisfied + w × basically satisfied) / visited, `w` = 0.9 by default.
    pub fn satisfaction(&self, basic_weight: f64) -> Option<f64> {
        (self.visited > 0).then(|| {
            (self.satisfied as f64 + basic_weight * self.basic as f64) / self.visited as f64
        })
    }

    /// The composite score, 0–100: `100 × (w_r × 响应率 + w_s × 解决率 + w_m × 满意率)`.
    pub fn composite(&self, w: &ScoreWeights) -> Option<f64> {
        Some(
            100.0
                * (w.response * self.response()?
                    + w.resolution * self.resolution()?
                    + w.satisfaction * self.satisfaction(w.basic_weight)?),
        )
    }
}

/// Weights of the composite score; the defaults are one Beijing district's 10 % + 50 % + 40 %
/// with 基本满意 counted at 0.9.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScoreWeights {
    pub response: f64,
    pub resolution: f64,
    pub satisfaction: f64,
    pub basic_weight: f64,
    /// The weights of the 双考核 score (report-ins, assisting opinions, whistle outcomes).
    #[serde(default)]
    pub coordination: CoordinationWeights,
    /// The share of the 双考核 score in a unit's ranking score, 0–1: the ranking score is
    /// `(1 − share) × composite + share × 双考核`, or the composite alone when a unit has no
    /// 双考核 figures. 0 (the default) ranks by the composite score alone.
    #[serde(default)]
    pub coordination_share: f64,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        ScoreWeights {
            response: 0.1,
            resolution: 0.5,
            satisfaction: 0.4,
            basic_weight: 0.9,
            coordination: CoordinationWeights::default(),
            coordination_share: 0.0,
        }
    }
}

impl ScoreWeights {
    /// Weights must be non-negative and sum to 1; the basic weight lies in [0, 1].
    pub fn validate(&self) -> Result<(), String> {
        let all = [self.response, self.resolution, self.satisfaction];
        if all.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err("权重必须为非负数".into());
        }
        if (all.iter().sum::<f64>() - 1.0).abs() > 1e-6 {
            return Err("响应率、解决率、满意率的权重之和必须为1".into());
        }
        if !(0.0..=1.0).contains(&self.basic_weight) {
            return Err("基本满意的折算系数必须在0到1之间".into());
        }
        let c = &self.coordination;
        let parts = [c.report_in, c.assist, c.whistle];
        if parts.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err("双考核的权重必须为非负数".into());
        }
        if (parts.iter().sum::<f64>() - 1.0).abs() > 1e-6 {
            return Err("报到及时率、协办意见及时率、吹哨解决率的权重之和必须为1".into());
        }
        if !(0.0..=1.0).contains(&self.coordination_share) {
            return Err("双考核在排名得分中的占比必须在0到1之间".into());
        }
        Ok(())
    }

    /// A unit's ranking score from its composite and 双考核 scores (see `coordination_share`).
    pub fn ranking_score(&self, composite: Option<f64>, coordination: Option<f64>) -> Option<f64> {
        let s = self.coordination_share;
        match (composite, coordination) {
            (Some(c), Some(d)) if s > 0.0 => Some((1.0 - s) * c + s * d),
            (c, _) => c,
        }
    }
}

/// Counts the current return visits made in the period (see [`VisitCounts`]).
pub fn visit_counts<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    period: &Period,
) -> VisitCounts {
    let mut c = VisitCounts::default();
    for a in appeals
        .into_iter()
        .filter(|a| live(a) && scope.unit(a.lead))
    {
        let (Some(v), true) = (&a.visit, period.contains_opt(a.visited_at)) else {
            continue;
        };
        c.visited += 1;
        c.contacted += u64::from(v.contacted);
        c.resolved += u64::from(v.resolved == Some(true));
        match v.rating {
            Some(Rating::Satisfied) => c.satisfied += 1,
            Some(Rating::Basic) => c.basic += 1,
            _ => {}
        }
    }
    c
}

/// 退单率 (return rate): appeals first dispatched in the period that were returned at least once
/// by a lead unit, over appeals first dispatched in the period. With a unit scope: dispatches to
/// that unit in the period, and how many of them it returned.
pub fn return_rate<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    period: &Period,
) -> Rate {
    let mut r = Rate::default();
    for a in appeals.into_iter().filter(|a| live(a)) {
        match scope {
            Scope::All => {
                if let Some(first) = a.dispatch_rounds.first() {
                    if period.contains(first.at) {
                        r.count(a.return_count > 0);
                    }
                }
            }
            Scope::Lead(_) => {
                for d in &a.dispatch_rounds {
                    if period.contains(d.at) && scope.unit(Some(d.unit)) {
                        // A refused return still counts as a return the unit made.
                        let returned = d.returned || a.confirmed_units.contains(&d.unit);
                        r.count(returned);
                    }
                }
            }
        }
    }
    r
}

/// 重办率 (redo rate): appeals that first reached a reply in the period and were later ordered
/// to be redone at least once, over appeals that first reached a reply in the period.
pub fn redo_rate<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    period: &Period,
) -> Rate {
    let mut r = Rate::default();
    for a in appeals
        .into_iter()
        .filter(|a| live(a) && scope.unit(a.lead))
    {
        if period.contains_opt(a.first_replied_at) {
            r.count(a.redo_count > 0);
        }
    }
    r
}

/// 报到及时率 (双考核, the called side): report-ins owed to whistles whose report-in deadline
/// falls in the period, made by that deadline, over those whose outcome is known (the unit
/// reported in, or the deadline passed `now`). Scope: the called unit.
pub fn report_in_on_time<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    period: &Period,
    now: Instant,
) -> Rate {
    let mut r = Rate::default();
    for a in appeals.into_iter().filter(|a| live(a)) {
        for w in &a.whistles {
            if !period.contains(w.report_by) {
                continue;
            }
            for t in w.targets.iter().filter(|t| scope.unit(Some(t.unit))) {
                match t.reported_at {
                    Some(at) => r.count(at <= w.report_by),
                    None if now > w.report_by => r.count(false),
                    None => {}
                }
            }
        }
    }
    r
}

/// 吹哨解决率 (双考核, the whistling side): for each unit that blew a whistle on an appeal, the
/// appeal counts once, on the day of its latest reply, when that reply came after the unit's
/// first whistle on it; it is a hit when the matter was resolved — by the return visit's answer
/// when the citizen was reached, else by the reply's result. Scope: the whistling unit.
pub fn whistle_resolution<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    period: &Period,
) -> Rate {
    let mut r = Rate::default();
    for a in appeals.into_iter().filter(|a| live(a)) {
        let Some(replied) = a.replied_at else {
            continue;
        };
        if !period.contains(replied) {
            continue;
        }
        for (unit, first) in first_whistles(a) {
            if scope.unit(Some(unit)) && first < replied {
                r.count(resolved(a));
            }
        }
    }
    r
}

/// Each unit that blew a whistle on the appeal, with the instant of its first whistle.
pub fn first_whistles(a: &Appeal) -> Vec<(UnitId, Instant)> {
    let mut out: Vec<(UnitId, Instant)> = Vec::new();
    for w in &a.whistles {
        if !out.iter().any(|(u, _)| *u == w.by) {
            out.push((w.by, w.at));
        }
    }
    out
}

/// Whether the appeal's matter is resolved: the return visit's answer when the citizen was
/// reached, else the latest reply's result.
pub fn resolved(a: &Appeal) -> bool {
    match a.visit.as_ref().and_then(|v| v.resolved) {
        Some(r) => r,
        None => a
            .reply
            .as_ref()
            .is_some_and(|r| r.result == crate::lifecycle::ReplyResult::Resolved),
    }
}

/// 协办意见及时率: opinions asked of assisting units whose deadline falls in the period, given by
/// it, over those whose outcome is known (given, or the deadline passed `now`). An opinion that
/// lapsed — the dispatch was taken back after a return, or the lead replied before it was due —
/// is not counted. Scope: the assisting unit.
pub fn assist_on_time<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    period: &Period,
    now: Instant,
) -> Rate {
    let mut r = Rate::default();
    for a in appeals.into_iter().filter(|a| live(a)) {
        for t in &a.assists {
            if !period.contains(t.due) || !scope.unit(Some(t.unit)) {
                continue;
            }
            match t.given_at {
                Some(at) => r.count(at <= t.due),
                None if now > t.due => r.count(false),
                None => {}
            }
        }
    }
    r
}

/// The weights of the 双考核 score. A unit's score is the weighted mean of the parts it has
/// figures for (a department that never whistles is judged on its report-ins and opinions),
/// times 100.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CoordinationWeights {
    /// 报到及时率.
    pub report_in: f64,
    /// 协办意见及时率.
    pub assist: f64,
    /// 吹哨解决率.
    pub whistle: f64,
}

impl Default for CoordinationWeights {
    fn default() -> Self {
        CoordinationWeights {
            report_in: 0.4,
            assist: 0.3,
            whistle: 0.3,
        }
    }
}

impl CoordinationWeights {
    /// The score 0–100 from the three rates; `None` when none of them has a value.
    pub fn score(&self, report_in: Rate, assist: Rate, whistle: Rate) -> Option<f64> {
        let mut num = 0.0;
        let mut den = 0.0;
        for (w, r) in [
            (self.report_in, report_in),
            (self.assist, assist),
            (self.whistle, whistle),
        ] {
            if let (Some(v), true) = (r.value(), w > 0.0) {
                num += w * v;
                den += w;
            }
        }
        (den > 0.0).then(|| 100.0 * num / den)
    }
}

/// Overdue count: open appeals with at least one running deadline (dispatch, signing, first
/// contact, reply) past due at `now`.
pub fn overdue_count<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    now: Instant,
) -> u64 {
    appeals
        .into_iter()
        .filter(|a| !a.status.is_terminal() && scope.unit(a.lead))
        .filter(|a| !a.overdue_deadlines(now).is_empty())
        .count() as u64
}

/// When a reply round stopped running: its reply, else the appeal's close (`None`: still
/// running).
pub fn round_end(a: &Appeal, r: &crate::lifecycle::ReplyRound) -> Option<Instant> {
    match (r.replied_at, a.closed_at) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    }
}

/// 期末超期 — the overdue count as it stood at `at` (a past period's end): appeals with a reply
/// deadline before `at` and no reply (nor close) before `at`. Reply deadlines only: they are
/// the ones whose history the appeal keeps (a round taken back when a return was accepted is
/// not counted); the count for now, [`overdue_count`], looks at every running deadline.
pub fn overdue_at<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    at: Instant,
) -> u64 {
    appeals
        .into_iter()
        .filter(|a| live(a))
        .filter(|a| {
            a.reply_rounds.iter().any(|r| {
                scope.unit(Some(r.unit)) && r.due < at && round_end(a, r).is_none_or(|e| e >= at)
            })
        })
        .count() as u64
}

/// Volume: appeals registered in the period (merged duplicates included: each was a call).
pub fn volume<'a>(appeals: impl IntoIterator<Item = &'a Appeal>, period: &Period) -> u64 {
    appeals
        .into_iter()
        .filter(|a| period.contains(a.registered_at))
        .count() as u64
}

/// 重复信访 (信访工作条例 Art 19): first petitions registered in the period that repeat a
/// matter already accepted, here or elsewhere ([`Appeal::is_repeat`]); counted for the lead
/// unit. Merged duplicates and review cases are not new petitions and are left out.
pub fn repeat_petitions<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    period: &Period,
) -> u64 {
    petitions_where(appeals, scope, period, Appeal::is_repeat)
}

/// 越级信访 (Art 19): first petitions registered in the period that were lodged with the
/// province or the State Bureau ([`Appeal::is_over_level`]); counted as
/// [`repeat_petitions`] is.
pub fn over_level_petitions<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    period: &Period,
) -> u64 {
    petitions_where(appeals, scope, period, Appeal::is_over_level)
}

fn petitions_where<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    period: &Period,
    which: fn(&Appeal) -> bool,
) -> u64 {
    appeals
        .into_iter()
        .filter(|a| {
            live(a)
                && a.review.is_none()
                && scope.unit(a.lead)
                && period.contains(a.registered_at)
                && which(a)
        })
        .count() as u64
}

/// Average handling time in working days: for appeals that first reached a reply in the period
/// after being dispatched, the working time (fractional working days, see
/// [`Calendar::working_time_between`]) from the first dispatch to the first reply, averaged.
/// Answers at intake are left out (no unit handled them). `None` when there is none.
pub fn average_handling_days<'a>(
    appeals: impl IntoIterator<Item = &'a Appeal>,
    scope: Scope,
    period: &Period,
    cal: &Calendar,
) -> Result<Option<f64>, CalendarError> {
    let (mut sum, mut n) = (0.0, 0u64);
    for a in appeals
        .into_iter()
        .filter(|a| live(a) && scope.unit(a.lead))
    {
        let (Some(replied), Some(first)) = (a.first_replied_at, a.dispatch_rounds.first()) else {
            continue;
        };
        if period.contains(replied) && !a.answered_at_intake {
            sum += cal.working_time_between(first.at, replied)?;
            n += 1;
        }
    }
    Ok((n > 0).then(|| sum / n as f64))
}

/// Relative change from `previous` to `current`: `(current − previous) / previous`; `None` when
/// the previous figure is zero (a change from nothing has no ratio). −0.495 reads "down 49.5 %".
pub fn change(current: f64, previous: f64) -> Option<f64> {
    (previous != 0.0).then(|| (current - previous) / previous)
}

/// One entry of a ranking: a unit (or township) with its score and whether it is ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankEntry<K> {
    pub key: K,
    /// Appeals the score rests on (return visits in the period).
    pub volume: u64,
    pub score: Option<f64>,
    /// 1 for the best; `None` when the volume is below the minimum (listed, not ranked).
    pub rank: Option<u32>,
}

/// A ranking with its red board (best) and grey board (worst).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking<K> {
    pub entries: Vec<RankEntry<K>>,
    pub red: Vec<K>,
    pub grey: Vec<K>,
    pub min_volume: u64,
}

/// Ranks by score, highest first. Entries whose volume is below `min_volume` (or that have no
/// score) are listed after the ranked ones but get no rank and never appear on a board — a unit
/// with three appeals must not top or bottom a board. Equal scores share a rank (1, 2, 2, 4).
/// The red board is the best `board_size` ranked entries; the grey board the worst `board_size`,
/// never overlapping the red one.
pub fn rank<K: Clone>(
    items: Vec<(K, u64, Option<f64>)>,
    min_volume: u64,
    board_size: usize,
) -> Ranking<K> {
    let (mut ranked, unranked): (Vec<_>, Vec<_>) = items
        .into_iter()
        .partition(|(_, v, s)| *v >= min_volume && s.is_some_and(f64::is_finite));
    ranked.sort_by(|a, b| b.2.partial_cmp(&a.2).unwrap_or(std::cmp::Ordering::Equal));
    let mut entries = Vec::with_capacity(ranked.len() + unranked.len());
    let mut last: Option<(f64, u32)> = None;
    for (i, (k, v, s)) in ranked.iter().enumerate() {
        let score = s.unwrap_or(0.0);
        let r = match last {
            Some((prev, r)) if (prev - score).abs() < 1e-9 => r,
            _ => i as u32 + 1,
        };
        last = Some((score, r));
        entries.push(RankEntry {
            key: k.clone(),
            volume: *v,
            score: *s,
            rank: Some(r),
        });
    }
    let n = ranked.len();
    let red_n = board_size.min(n);
    let grey_n = board_size.min(n - red_n);
    let red = ranked[..red_n].iter().map(|x| x.0.clone()).collect();
    let grey = ranked[n - grey_n..]
        .iter()
        .rev()
        .map(|x| x.0.clone())
        .collect();
    for (k, v, s) in unranked {
        entries.push(RankEntry {
            key: k,
            volume: v,
            score: s,
            rank: None,
        });
    }
    Ranking {
        entries,
        red,
        grey,
        min_volume,
    }
}

#[cfg(test)]
mod rank_tests {
    use super::*;

    #[test]
    fn small_units_are_listed_but_not_ranked() {
        let r = rank(
            vec![
                ("A", 100, Some(90.0)),
                ("B", 3, Some(100.0)),
                ("C", 50, Some(70.0)),
                ("D", 60, Some(70.0)),
                ("E", 80, Some(60.0)),
                ("F", 40, None),
            ],
            10,
            2,
        );
        let order: Vec<_> = r.entries.iter().map(|e| (e.key, e.rank)).collect();
        assert_eq!(
            order,
            [
                ("A", Some(1)),
                ("C", Some(2)),
                ("D", Some(2)),
                ("E", Some(4)),
                ("B", None),
                ("F", None)
            ]
        );
        assert_eq!(r.red, ["A", "C"]);
        assert_eq!(r.grey, ["E", "D"]);
        // With fewer ranked entries than two boards, the boards do not overlap.
        let r = rank(
            vec![
                ("A", 10, Some(1.0)),
                ("B", 10, Some(2.0)),
                ("C", 10, Some(3.0)),
            ],
            5,
            2,
        );
        assert_eq!(r.red, ["C", "B"]);
        assert_eq!(r.grey, ["A"]);
        let r = rank(vec![("A", 1, Some(1.0))], 5, 3);
        assert!(r.red.is_empty() && r.grey.is_empty());
    }
}
