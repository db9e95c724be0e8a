//! Rollups as the stores keep them (shared by both): the facts of
//! [`bihuan_domain::rollup`] summed per day and per month, for each breakdown (unit, township,
//! category, channel, kind), and the pending facts of open appeals beside them.
//!
//! A write subtracts an appeal's old facts and adds its new ones in the same transaction as its
//! events; `Store::rebuild_rollups` recomputes everything from the appeals. Reading a period
//! sums whole months from the month rows and the days at either end from the day rows.

use std::collections::HashMap;

use bihuan_domain::lifecycle::Appeal;
use bihuan_domain::metrics::Period;
use bihuan_domain::rollup::{Dims, Fact, Metric};
use bihuan_domain::time::{local_date, Instant};
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// What a breakdown groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    Unit,
    Township,
    Category,
    Channel,
    Kind,
}

impl Dim {
    pub const ALL: [Dim; 5] = [
        Dim::Unit,
        Dim::Township,
        Dim::Category,
        Dim::Channel,
        Dim::Kind,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Dim::Unit => "unit",
            Dim::Township => "township",
            Dim::Category => "category",
            Dim::Channel => "channel",
            Dim::Kind => "kind",
        }
    }

    /// The `appeals` column holding this dimension (for the overdue count).
    pub(crate) fn appeal_column(self) -> &'static str {
        match self {
            Dim::Unit => "lead",
            Dim::Township => "township",
            Dim::Category => "category",
            Dim::Channel => "channel",
            Dim::Kind => "kind",
        }
    }

    /// Whether a metric is summed under this dimension.
    pub fn takes(self, m: Metric) -> bool {
        match self {
            Dim::Unit => m.by_unit(),
            _ => m.by_other(),
        }
    }

    fn key(self, f: &Fact, d: &Dims) -> String {
        let id = |u: Option<u32>| u.map(|u| u.to_string()).unwrap_or_default();
        match self {
            Dim::Unit => id(f.unit.map(|u| u.0)),
            Dim::Township => id(d.township.map(|u| u.0)),
            Dim::Category => id(d.category.map(|c| c.0)),
            Dim::Channel => d.channel.code().to_string(),
            Dim::Kind => d.kind.code().to_string(),
        }
    }
}

/// Granularity of a rollup row.
pub(crate) const DAY: i64 = 0;
pub(crate) const MONTH: i64 = 1;

pub(crate) fn day_bucket(d: NaiveDate) -> i64 {
    d.year() as i64 * 10_000 + d.month() as i64 * 100 + d.day() as i64
}

pub(crate) fn month_bucket(d: NaiveDate) -> i64 {
    d.year() as i64 * 100 + d.month() as i64
}

/// The key of one rollup row.
pub(crate) type RowKey = (Dim, i64, i64, Metric, String);

/// Changes to rollup rows, summed before they are written (a batch of imports touches each row
/// once).
#[derive(Debug, Default)]
pub(crate) struct Delta {
    pub rows: rustc_hash::FxHashMap<RowKey, (i64, i64, i64)>,
}

impl Delta {
    /// Adds (`sign` 1) or takes away (`sign` −1) an appeal's settled facts.
    pub fn apply(&mut self, facts: &[Fact], dims: &Dims, sign: i64) {
        for f in facts.iter().filter(|f| f.pending_due.is_none()) {
            for dim in Dim::ALL {
                if !dim.takes(f.metric) {
                    continue;
                }
                let key = dim.key(f, dims);
                let month = (dim, MONTH, month_bucket(f.day), f.metric, key.clone());
                let day = (dim, DAY, day_bucket(f.day), f.metric, key);
                for k in [day, month] {
                    let e = self.rows.entry(k).or_default();
                    e.0 += sign * f.num;
                    e.1 += sign * f.den;
                    e.2 += sign * f.sum;
                }
            }
        }
    }

    /// Adds another delta's changes.
    pub fn merge(&mut self, other: Delta) {
        for (k, (n, d, s)) in other.rows {
            let e = self.rows.entry(k).or_default();
            e.0 += n;
            e.1 += d;
            e.2 += s;
        }
    }

    /// The rows that change, in the order of the table's key (so that writing them walks the
    /// table's pages once, in order).
    pub fn changes(self) -> impl Iterator<Item = (RowKey, (i64, i64, i64))> {
        let mut rows: Vec<_> = self
            .rows
            .into_iter()
            .filter(|(_, v)| *v != (0, 0, 0))
            .collect();
        rows.sort_unstable_by(|((d1, g1, b1, m1, k1), _), ((d2, g2, b2, m2, k2), _)| {
            (d1.code(), g1, b1, m1.code(), k1).cmp(&(d2.code(), g2, b2, m2.code(), k2))
        });
        rows.into_iter()
    }
}

/// A pending fact as stored: the appeal, the metric, the day it counts on, the deadline, and
/// every dimension's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PendingRow {
    pub appeal: u64,
    pub metric: Metric,
    pub day: i64,
    pub due: i64,
    /// Keys for unit, township, category, channel, kind.
    pub keys: [String; 5],
}

pub(crate) fn pending_rows(a: &Appeal, facts: &[Fact]) -> Vec<PendingRow> {
    let dims = Dims::of(a);
    facts
        .iter()
        .filter_map(|f| {
            let due = f.pending_due?;
            Some(PendingRow {
                appeal: a.id.0,
                metric: f.metric,
                day: day_bucket(f.day),
                due: due.timestamp(),
                keys: Dim::ALL.map(|d| d.key(f, &dims)),
            })
        })
        .collect()
}

/// An appeal's facts of one metric, day (bucket) and unit (0: none): one `appeal_facts` row.
pub(crate) type FactKey = (Metric, i64, i64);

/// What an `appeal_facts` row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct FactRow {
    pub num: i64,
    pub den: i64,
    /// Facts whose outcome is not known yet: missed once `now` passes `due`.
    pub pending: i64,
    pub due: Option<i64>,
}

/// An appeal's facts as `appeal_facts` rows (handling time is a sum, not a list: left out).
pub(crate) fn fact_rows(facts: &[Fact]) -> std::collections::BTreeMap<FactKey, FactRow> {
    let mut out: std::collections::BTreeMap<FactKey, FactRow> = Default::default();
    for f in facts.iter().filter(|f| f.metric != Metric::Hand) {
        let key = (
            f.metric,
            day_bucket(f.day),
            f.unit.map_or(0, |u| u.0 as i64),
        );
        let row = out.entry(key).or_default();
        match f.pending_due {
            Some(due) => {
                row.pending += 1;
                let due = due.timestamp();
                row.due = Some(row.due.map_or(due, |d| d.min(due)));
            }
            None => {
                row.num += f.num;
                row.den += f.den;
            }
        }
    }
    out
}

/// The writes that turn an appeal's rows for `old` facts into those for `new`: the keys to
/// delete and the rows to write (unchanged rows are left alone).
#[derive(Debug, Default)]
pub(crate) struct FactChanges {
    pub appeal: u64,
    pub delete: Vec<FactKey>,
    pub upsert: Vec<(FactKey, FactRow)>,
}

pub(crate) fn fact_changes(appeal: u64, old: Option<&[Fact]>, new: &[Fact]) -> FactChanges {
    let before = old.map(fact_rows).unwrap_or_default();
    let after = fact_rows(new);
    FactChanges {
        appeal,
        delete: before
            .keys()
            .filter(|k| !after.contains_key(k))
            .copied()
            .collect(),
        upsert: after
            .into_iter()
            .filter(|(k, v)| before.get(k) != Some(v))
            .collect(),
    }
}

/// The bucket ranges that make up a period: whole months from month rows, the rest from day
/// rows. `(granularity, first bucket, last bucket)`.
pub(crate) fn segments(period: &Period) -> Vec<(i64, i64, i64)> {
    let first = local_date(period.start);
    let Some(last) = local_date(period.end).pred_opt() else {
        return vec![];
    };
    let end_of_month = |d: NaiveDate| -> NaiveDate {
        d.with_day(1)
            .and_then(|m| m.checked_add_months(Months::new(1)))
            .and_then(|n| n.pred_opt())
            .unwrap_or(d)
    };
    let mut out = Vec::new();
    let mut d = first;
    while d <= last {
        if d.day() == 1 && end_of_month(d) <= last {
            let mut month_end = end_of_month(d);
            while let Some(next) = month_end.succ_opt() {
                if end_of_month(next) <= last {
                    month_end = end_of_month(next);
                } else {
                    break;
                }
            }
            out.push((MONTH, month_bucket(d), month_bucket(month_end)));
            match month_end.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
            continue;
        }
        let run_end = end_of_month(d).min(last);
        out.push((DAY, day_bucket(d), day_bucket(run_end)));
        match run_end.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    out
}

/// The bucket ranges of everything before a period's end — whole months before its last
/// month, then that month's days — for the overdue count at the end (a running sum).
pub(crate) fn before_end(period: &Period) -> Vec<(i64, i64, i64)> {
    let end = local_date(period.end);
    let month = end.with_day(1).unwrap_or(end);
    let mut out = vec![(MONTH, i64::MIN, month_bucket(month) - 1)];
    if let Some(last) = end.pred_opt().filter(|d| *d >= month) {
        out.push((DAY, day_bucket(month), day_bucket(last)));
    }
    out
}

/// The overdue count at a period's end from the summed `overdue_from` / `overdue_until` facts
/// before it (`(key, metric, sum)` rows from the ranges of [`before_end`]): each key's
/// started intervals minus its ended ones. Both backends call this; only the SQL differs.
pub(crate) fn overdue_at_end(
    out: &mut HashMap<String, bihuan_domain::rollup::Sums>,
    rows: impl IntoIterator<Item = (String, String, i64)>,
) {
    let mut net: HashMap<String, i64> = HashMap::new();
    for (key, metric, n) in rows {
        let sign = if metric == Metric::OverdueFrom.code() {
            1
        } else {
            -1
        };
        *net.entry(key).or_default() += sign * n;
    }
    for (key, n) in net {
        if n > 0 {
            out.entry(key).or_default().overdue = n as u64;
        }
    }
}

/// The first and last day buckets of a period (for pending facts).
pub(crate) fn day_range(period: &Period) -> (i64, i64) {
    let first = local_date(period.start);
    let last = local_date(period.end).pred_opt().unwrap_or(first);
    (day_bucket(first), day_bucket(last))
}

/// A period's figures grouped by one dimension.
#[derive(Debug, Clone, Copy)]
pub struct RollupQuery {
    pub period: Period,
    pub dim: Dim,
    /// Pending deadlines before this count as missed; open appeals past a deadline now are
    /// overdue.
    pub now: Instant,
}

/// Whether an appeal's one-shot fact depends on others: it has an identity and a category.
pub(crate) fn repeat_key(a: &Appeal) -> Option<(String, i64)> {
    Some((
        crate::citizen_key(&a.citizen.identity_key()?),
        a.category?.0 as i64,
    ))
}

/// The window `(closed, closed + 90 days]`, exact, for an appeal that is closed.
pub(crate) fn repeat_window(a: &Appeal) -> Option<(Instant, Instant)> {
    let closed = a.closed_at?;
    let until = closed + chrono::Duration::days(bihuan_domain::rollup::ONE_SHOT_WINDOW_DAYS);
    Some((closed, until))
}

/// The question "was `a` raised again?" as the stores ask it: the stores keep registration
/// times in whole seconds, so a registration in a second strictly inside the window is a hit,
/// and one in the window's first or last second is compared exactly (its instant read from the
/// stored state) — a repeat registered in the same second as the close, after it, counts.
pub(crate) struct RepeatProbe {
    pub key: String,
    pub category: i64,
    lo: Instant,
    hi: Instant,
}

impl RepeatProbe {
    pub fn of(a: &Appeal) -> Option<RepeatProbe> {
        let (key, category) = repeat_key(a)?;
        let (lo, hi) = repeat_window(a)?;
        Some(RepeatProbe {
            key,
            category,
            lo,
            hi,
        })
    }

    /// Seconds strictly inside the window: `(after, before)`, both exclusive.
    pub fn interior(&self) -> (i64, i64) {
        (self.lo.timestamp(), self.hi.timestamp())
    }

    /// The window's first and last second, where instants are compared exactly.
    pub fn edges(&self) -> [i64; 2] {
        [self.lo.timestamp(), self.hi.timestamp()]
    }

    pub fn hits(&self, registered: Instant) -> bool {
        registered > self.lo && registered <= self.hi
    }
}

/// An instant as the stores keep it inside a state's JSON (`registered_at`).
pub(crate) fn parse_stored_instant(s: &str) -> Result<Instant, crate::StoreError> {
    s.parse::<Instant>()
        .map_err(|e| crate::StoreError::Internal(format!("stored instant {s:?}: {e}")))
}

/// The (caller, category) keys whose appeals may have their one-shot answer changed by a write
/// of `after` (previously `before`): none when the caller, the category and the registration
/// time are unchanged.
pub(crate) fn affected_keys(before: Option<&Appeal>, after: &Appeal) -> Vec<(String, i64)> {
    let kb = before.and_then(repeat_key);
    let ka = repeat_key(after);
    if before.is_some_and(|b| kb == ka && b.registered_at == after.registered_at) {
        return vec![];
    }
    let mut keys: Vec<(String, i64)> = kb.into_iter().chain(ka).collect();
    keys.dedup();
    keys
}

/// Whether `other` was raised again before and after the write of `after` (previously
/// `before`), given `rest`: whether any appeal but these two raised it again. `None` when
/// `other` is not closed (it has no one-shot fact).
pub(crate) fn repeat_flags(
    other: &Appeal,
    rest: bool,
    before: Option<&Appeal>,
    after: &Appeal,
) -> Option<(bool, bool)> {
    let (lo, hi) = repeat_window(other)?;
    let key = repeat_key(other);
    let hits = |a: &Appeal| {
        let t = a.registered_at;
        key.is_some() && repeat_key(a) == key && t > lo && t <= hi
    };
    Some((rest || before.is_some_and(hits), rest || hits(after)))
}

/// Moves `other`'s one-shot fact when the write of `after` changed whether it was raised again
/// (see [`repeat_flags`]): its old facts out, its new ones in.
/// Returns the changes to `other`'s own fact rows, if its answer changed.
pub(crate) fn move_one_shot(
    delta: &mut Delta,
    other: &Appeal,
    rest: bool,
    before: Option<&Appeal>,
    after: &Appeal,
    cal: &bihuan_domain::Calendar,
) -> Option<FactChanges> {
    let (was, now) = repeat_flags(other, rest, before, after)?;
    if was == now {
        return None;
    }
    let dims = Dims::of(other);
    let old = bihuan_domain::rollup::facts(other, was, cal);
    let new = bihuan_domain::rollup::facts(other, now, cal);
    delta.apply(&old, &dims, -1);
    delta.apply(&new, &dims, 1);
    Some(fact_changes(other.id.0, Some(&old), &new))
}

/// Who raised which matter when (exact instants), for a rebuild.
pub(crate) type RaisedTimes = HashMap<(String, i64), Vec<Instant>>;

/// Whether `a` was raised again, answered from a rebuild's index.
pub(crate) fn raised_again_in(times: &RaisedTimes, a: &Appeal) -> bool {
    match (repeat_key(a), repeat_window(a)) {
        (Some(k), Some((lo, hi))) => times
            .get(&k)
            .is_some_and(|ts| ts.iter().any(|t| *t > lo && *t <= hi)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: (i32, u32, u32), b: (i32, u32, u32)) -> Period {
        Period::days(
            NaiveDate::from_ymd_opt(a.0, a.1, a.2).unwrap(),
            NaiveDate::from_ymd_opt(b.0, b.1, b.2).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn periods_split_into_whole_months_and_days() {
        assert_eq!(
            segments(&Period::month(2026, 11).unwrap()),
            [(MONTH, 202611, 202611)]
        );
        assert_eq!(
            segments(&Period::year(2026).unwrap()),
            [(MONTH, 202601, 202612)]
        );
        // An assessment month: the 19th to the 18th.
        assert_eq!(
            segments(&Period::assessment_month(2026, 11, 19).unwrap()),
            [(DAY, 20261019, 20261031), (DAY, 20261101, 20261118)]
        );
        assert_eq!(
            segments(&p((2026, 1, 15), (2026, 4, 2))),
            [
                (DAY, 20260115, 20260131),
                (MONTH, 202602, 202603),
                (DAY, 20260401, 20260402)
            ]
        );
        assert_eq!(
            segments(&p((2026, 2, 3), (2026, 2, 3))),
            [(DAY, 20260203, 20260203)]
        );
        // Across a year end.
        assert_eq!(
            segments(&p((2025, 12, 1), (2026, 1, 31))),
            [(MONTH, 202512, 202601)]
        );
    }
}
