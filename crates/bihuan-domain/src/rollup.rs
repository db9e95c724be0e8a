//! Rollups: each appeal's contribution to the metrics, as facts that add up.
//!
//! Every metric formula in [`crate::metrics`] counts things that happen on a day — a dispatch,
//! a reply deadline, a first reply, a close, a return visit, a registration — so each appeal
//! can be turned into [`Fact`]s, each with the China date it counts on, the unit it counts for,
//! and a numerator and denominator. A metric over a period is then the sum of the facts whose
//! day falls in it; the store keeps those sums per day and per month and updates them in the
//! same transaction as the events, by subtracting an appeal's old facts and adding its new ones.
//!
//! Two things are not sums of facts and are handled beside them:
//! * a dispatch not yet signed, or a reply round not yet replied, counts as missed once its
//!   deadline has passed `now` — such facts are *pending* and carry their deadline;
//! * the overdue count is about open appeals now, not about a period; it is counted from the
//!   current state.
//!
//! [`facts`] is checked against the formulas by a property test (the rates summed from facts
//! equal the rates computed from the appeals, for any period, scope and `now`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::appeal::{Channel, Kind};
use crate::calendar::Calendar;
use crate::category::CategoryId;
use crate::lifecycle::{Appeal, Rating, Status};
use crate::org::UnitId;
use crate::time::{local_date, Instant};

/// What a fact counts toward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// 及时受理: a dispatch (unit = its unit); num = signed in time.
    Ta,
    /// 按期办结: a reply round by its deadline's day (unit = the round's unit); num = on time.
    Otc,
    /// 退单率 over everything: an appeal by its first dispatch; num = ever returned.
    RetAll,
    /// 退单率 of a unit: a dispatch to it; num = the unit returned it.
    RetUnit,
    /// 闭环率: an appeal by its first reply (unit = lead); num = closed with a visit that reached
    /// the citizen.
    Cl,
    /// 一次性化解率: an appeal by its close (unit = lead); num = no redo and not raised again.
    Os,
    /// A current return visit (unit = lead); num = contacted.
    Visit,
    /// num = resolved (den: the visit).
    VisitResolved,
    /// num = satisfied.
    VisitSatisfied,
    /// num = basically satisfied.
    VisitBasic,
    /// 重办率: an appeal by its first reply (unit = lead); num = redone.
    Redo,
    /// Volume: an appeal by its registration (no unit).
    Vol,
    /// Volume of a unit: an appeal by its registration, once for each unit involved (lead or
    /// any dispatch).
    VolUnit,
    /// Handling time: an appeal by its first reply (unit = lead); `sum` = working days × 10⁶.
    Hand,
    /// 报到及时率: a report-in a whistle asked for, by its deadline's day (unit = the called
    /// unit); num = reported in time.
    ReportIn,
    /// 协办意见及时率: an opinion asked of an assisting unit, by its deadline's day (unit = the
    /// assisting unit); num = given in time.
    Assist,
    /// 吹哨解决率: an appeal a unit whistled on, by its latest reply after that unit's first
    /// whistle (unit = the whistling unit); num = resolved.
    Whistle,
    /// A reply deadline that ran out before the reply: the day it ran out (unit = the round's
    /// unit). With [`Metric::OverdueUntil`] it gives the overdue count at the end of any past
    /// day: the intervals begun before it less those ended before it.
    OverdueFrom,
    /// The day an overdue reply deadline ended — the late reply or the close.
    OverdueUntil,
    /// 重复信访: a repeat petition by its registration (unit = lead); num = den = 1.
    Repeat,
    /// 越级信访: an over-level petition by its registration (unit = lead); num = den = 1.
    OverLevel,
}

/// The version of [`facts`]: a store whose rollups were built by another version rebuilds them
/// when opened. Raise it whenever `facts` counts something new or differently.
pub const FACTS_VERSION: &str = "5";

impl Metric {
    pub const ALL: [Metric; 21] = [
        Metric::Ta,
        Metric::Otc,
        Metric::RetAll,
        Metric::RetUnit,
        Metric::Cl,
        Metric::Os,
        Metric::Visit,
        Metric::VisitResolved,
        Metric::VisitSatisfied,
        Metric::VisitBasic,
        Metric::Redo,
        Metric::Vol,
        Metric::VolUnit,
        Metric::Hand,
        Metric::ReportIn,
        Metric::Assist,
        Metric::Whistle,
        Metric::OverdueFrom,
        Metric::OverdueUntil,
        Metric::Repeat,
        Metric::OverLevel,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Metric::Ta => "ta",
            Metric::Otc => "otc",
            Metric::RetAll => "ret_all",
            Metric::RetUnit => "ret_unit",
            Metric::Cl => "cl",
            Metric::Os => "os",
            Metric::Visit => "visit",
            Metric::VisitResolved => "visit_resolved",
            Metric::VisitSatisfied => "visit_satisfied",
            Metric::VisitBasic => "visit_basic",
            Metric::Redo => "redo",
            Metric::Vol => "vol",
            Metric::VolUnit => "vol_unit",
            Metric::Hand => "hand",
            Metric::ReportIn => "report_in",
            Metric::Assist => "assist",
            Metric::Whistle => "whistle",
            Metric::OverdueFrom => "overdue_from",
            Metric::OverdueUntil => "overdue_until",
            Metric::Repeat => "repeat",
            Metric::OverLevel => "over_level",
        }
    }

    pub fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.code() == s)
    }

    /// Metrics summed when grouping by unit (the unit's own work) — the others when grouping
    /// by anything else or not at all.
    pub fn by_unit(self) -> bool {
        !matches!(self, Metric::RetAll | Metric::Vol)
    }

    pub fn by_other(self) -> bool {
        !matches!(self, Metric::RetUnit | Metric::VolUnit)
    }
}

/// Scale of [`Fact::sum`] for handling time: micro-days, so sums stay exact integers.
pub const HAND_SCALE: f64 = 1_000_000.0;

/// One contribution of one appeal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Fact {
    pub metric: Metric,
    pub day: NaiveDate,
    pub unit: Option<UnitId>,
    pub num: i64,
    pub den: i64,
    pub sum: i64,
    /// A pending fact (outcome not known yet): missed once `now` passes this deadline.
    pub pending_due: Option<Instant>,
}

/// The dimensions every fact of an appeal shares, for breakdowns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Dims {
    pub township: Option<UnitId>,
    /// The category as stored (a leaf or any level); grouped under its top level when read.
    pub category: Option<CategoryId>,
    pub channel: Channel,
    pub kind: Kind,
}

impl Dims {
    pub fn of(a: &Appeal) -> Dims {
        Dims {
            township: a.place.township,
            category: a.category,
            channel: a.channel,
            kind: a.kind,
        }
    }
}

fn fact(metric: Metric, at: Instant, unit: Option<UnitId>, hit: bool) -> Fact {
    Fact {
        metric,
        day: local_date(at),
        unit,
        num: i64::from(hit),
        den: 1,
        sum: 0,
        pending_due: None,
    }
}

fn pending(metric: Metric, at: Instant, unit: Option<UnitId>, due: Instant) -> Fact {
    Fact {
        metric,
        day: local_date(at),
        unit,
        num: 0,
        den: 0,
        sum: 0,
        pending_due: Some(due),
    }
}

/// Every fact of an appeal. `repeated`: whether the same person raised the same matter again
/// within the one-shot window after this appeal's close (see
/// [`crate::metrics::one_shot_resolution`]); the store answers it from its index.
pub fn facts(a: &Appeal, repeated: bool, cal: &Calendar) -> Vec<Fact> {
    let mut out = Vec::new();
    // Volume counts every call, merged duplicates included.
    out.push(fact(Metric::Vol, a.registered_at, None, true));
    let mut involved: Vec<UnitId> = a
        .lead
        .into_iter()
        .chain(a.dispatch_rounds.iter().map(|d| d.unit))
        .collect();
    involved.sort_unstable();
    involved.dedup();
    for u in involved {
        out.push(fact(Metric::VolUnit, a.registered_at, Some(u), true));
    }
    if a.status == Status::Merged {
        return out;
    }
    // First petitions only: a review case is not a new petition.
    if a.review.is_none() {
        if a.is_repeat() {
            out.push(fact(Metric::Repeat, a.registered_at, a.lead, true));
        }
        if a.is_over_level() {
            out.push(fact(Metric::OverLevel, a.registered_at, a.lead, true));
        }
    }
    for d in &a.dispatch_rounds {
        if !d.returned {
            match d.signed_at {
                Some(s) => out.push(fact(Metric::Ta, d.at, Some(d.unit), s <= d.sign_due)),
                None => out.push(pending(Metric::Ta, d.at, Some(d.unit), d.sign_due)),
            }
        }
        let returned = d.returned || a.confirmed_units.contains(&d.unit);
        out.push(fact(Metric::RetUnit, d.at, Some(d.unit), returned));
    }
    if let Some(first) = a.dispatch_rounds.first() {
        out.push(fact(Metric::RetAll, first.at, None, a.return_count > 0));
    }
    for r in &a.reply_rounds {
        match r.replied_at {
            Some(t) => out.push(fact(Metric::Otc, r.due, Some(r.unit), t <= r.due)),
            None => out.push(pending(Metric::Otc, r.due, Some(r.unit), r.due)),
        }
        // Counted whether or not its deadline has come: a day before it never asks.
        let end = crate::metrics::round_end(a, r);
        if end.is_none_or(|e| e > r.due) {
            out.push(fact(Metric::OverdueFrom, r.due, Some(r.unit), true));
            if let Some(e) = end {
                out.push(fact(Metric::OverdueUntil, e, Some(r.unit), true));
            }
        }
    }
    let lead = a.lead;
    if let Some(replied) = a.first_replied_at {
        let closed_loop = a.status == Status::Closed
            && !a.closed_without_visit
            && a.visit.as_ref().is_some_and(|v| v.contacted);
        out.push(fact(Metric::Cl, replied, lead, closed_loop));
        out.push(fact(Metric::Redo, replied, lead, a.redo_count > 0));
        if let (Some(first), false) = (a.dispatch_rounds.first(), a.answered_at_intake) {
            // A calendar that cannot count the time leaves the fact out, as the formula does.
            if let Ok(days) = cal.working_time_between(first.at, replied) {
                let mut f = fact(Metric::Hand, replied, lead, false);
                f.sum = (days * HAND_SCALE).round() as i64;
                out.push(f);
            }
        }
    }
    if let (Some(closed), true) = (a.closed_at, crate::metrics::counts_for_one_shot(a)) {
        out.push(fact(
            Metric::Os,
            closed,
            lead,
            crate::metrics::resolved_once(a, repeated),
        ));
    }
    for w in &a.whistles {
        for t in &w.targets {
            out.push(match t.reported_at {
                Some(at) => fact(
                    Metric::ReportIn,
                    w.report_by,
                    Some(t.unit),
                    at <= w.report_by,
                ),
                None => pending(Metric::ReportIn, w.report_by, Some(t.unit), w.report_by),
            });
        }
    }
    for t in &a.assists {
        out.push(match t.given_at {
            Some(at) => fact(Metric::Assist, t.due, Some(t.unit), at <= t.due),
            None => pending(Metric::Assist, t.due, Some(t.unit), t.due),
        });
    }
    if let Some(replied) = a.replied_at {
        for (unit, first) in crate::metrics::first_whistles(a) {
            if first < replied {
                out.push(fact(
                    Metric::Whistle,
                    replied,
                    Some(unit),
                    crate::metrics::resolved(a),
                ));
            }
        }
    }
    if let (Some(v), Some(at)) = (&a.visit, a.visited_at) {
        out.push(fact(Metric::Visit, at, lead, v.contacted));
        out.push(fact(
            Metric::VisitResolved,
            at,
            lead,
            v.resolved == Some(true),
        ));
        out.push(fact(
            Metric::VisitSatisfied,
            at,
            lead,
            v.rating == Some(Rating::Satisfied),
        ));
        out.push(fact(
            Metric::VisitBasic,
            at,
            lead,
            v.rating == Some(Rating::Basic),
        ));
    }
    out
}

/// The window of the one-shot rate: a repeat within this many days after a close counts.
pub const ONE_SHOT_WINDOW_DAYS: i64 = 90;

/// Whether `a` was raised again: `later` are the registration instants of the same person's
/// appeals about the same category (any order, `a` itself may be among them).
pub fn raised_again(a: &Appeal, later: impl IntoIterator<Item = Instant>) -> bool {
    let Some(closed) = a.closed_at else {
        return false;
    };
    let until = closed + chrono::Duration::days(ONE_SHOT_WINDOW_DAYS);
    later.into_iter().any(|t| t > closed && t <= until)
}

/// Summed facts of one group for one period: per metric, the numerator, denominator and sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sums {
    pub rows: std::collections::BTreeMap<Metric, (i64, i64, i64)>,
    /// For a period still running: open appeals of the group with a running deadline past due
    /// now (counted from the current state). For a period that is over: appeals whose reply
    /// deadline had run out without a reply at the period's end ([`add_overdue_at`]).
    pub overdue: u64,
}

impl Sums {
    pub fn add(&mut self, m: Metric, num: i64, den: i64, sum: i64) {
        let e = self.rows.entry(m).or_default();
        e.0 += num;
        e.1 += den;
        e.2 += sum;
    }

    pub fn merge(&mut self, o: &Sums) {
        for (m, (n, d, s)) in &o.rows {
            self.add(*m, *n, *d, *s);
        }
        self.overdue += o.overdue;
    }

    pub fn get(&self, m: Metric) -> (i64, i64, i64) {
        self.rows.get(&m).copied().unwrap_or_default()
    }

    /// The rate of a metric.
    pub fn rate(&self, m: Metric) -> crate::metrics::Rate {
        let (n, d, _) = self.get(m);
        crate::metrics::Rate::new(n.max(0) as u64, d.max(0) as u64)
    }

    pub fn count(&self, m: Metric) -> u64 {
        self.get(m).1.max(0) as u64
    }

    pub fn visits(&self) -> crate::metrics::VisitCounts {
        let (contacted, visited, _) = self.get(Metric::Visit);
        crate::metrics::VisitCounts {
            visited: visited.max(0) as u64,
            contacted: contacted.max(0) as u64,
            resolved: self.get(Metric::VisitResolved).0.max(0) as u64,
            satisfied: self.get(Metric::VisitSatisfied).0.max(0) as u64,
            basic: self.get(Metric::VisitBasic).0.max(0) as u64,
        }
    }

    pub fn average_handling_days(&self) -> Option<f64> {
        let (_, n, sum) = self.get(Metric::Hand);
        (n > 0).then(|| sum as f64 / HAND_SCALE / n as f64)
    }
}

/// Adds to `s` the facts whose day lies in `first..=last` and that `keep` accepts; a pending
/// fact counts as missed (denominator only) once `now` is past its deadline.
pub fn add_facts<'a>(
    s: &mut Sums,
    facts: impl IntoIterator<Item = &'a Fact>,
    first: NaiveDate,
    last: NaiveDate,
    now: Instant,
    keep: impl Fn(&Fact) -> bool,
) {
    for f in facts {
        if f.day < first || f.day > last || !keep(f) {
            continue;
        }
        match f.pending_due {
            Some(due) if now > due => s.add(f.metric, 0, 1, 0),
            Some(_) => {}
            None => s.add(f.metric, f.num, f.den, f.sum),
        }
    }
}

/// Sets `s.overdue` to the overdue count at the start of `day` (the end of the day before)
/// from the facts that `keep` accepts: the reply deadlines that ran out before it less those
/// that ended before it (see [`crate::metrics::overdue_at`]).
pub fn add_overdue_at<'a>(
    s: &mut Sums,
    facts: impl IntoIterator<Item = &'a Fact>,
    day: NaiveDate,
    keep: impl Fn(&Fact) -> bool,
) {
    let mut n = s.overdue as i64;
    for f in facts {
        if f.day >= day || !keep(f) {
            continue;
        }
        match f.metric {
            Metric::OverdueFrom => n += f.den,
            Metric::OverdueUntil => n -= f.den,
            _ => {}
        }
    }
    s.overdue = n.max(0) as u64;
}
