//! The annual report on petition work (信访工作条例 Art 41: 信访工作年度报告), computed from the
//! petitions themselves: volume and its change on the year before, by kind, channel and month;
//! acceptance (受理 / 不予受理 with the grounds); the seed's three rates; 复查 and 复核 with their
//! outcomes and hearings; repeat petitions (重复信访); and the units and matters that carried the
//! most. Pure: the caller passes every petition registered in the year and the year before.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::lifecycle::{Appeal, DeclineGround, ReviewStage, Status};
use crate::metrics::{self, Period, Rate, Scope};
use crate::org::UnitId;
use crate::time::{local_date, Instant};
use crate::{Channel, Kind, Regime};
use chrono::Datelike;

/// The outcomes of one review stage in the year.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReviewCounts {
    /// Requests received (review cases registered) in the year.
    pub requested: u64,
    /// Opinions given in the year.
    pub decided: u64,
    /// Of those, the earlier opinion upheld (不予支持 / 解释说明 of the request).
    pub upheld: u64,
    /// Of those, the request supported (the earlier opinion changed).
    pub changed: u64,
    /// Answered within the limit (hearing days not counted), of those with a known outcome.
    pub on_time: u64,
    pub hearings: u64,
}

/// One line of a breakdown: the stable code (or id), its Chinese label, the count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CountLine {
    pub key: String,
    pub label: String,
    pub count: u64,
}

fn lines<K: Ord + Copy + Serialize>(
    items: impl Iterator<Item = K>,
    label: impl Fn(K) -> String,
) -> Vec<CountLine> {
    counted(items)
        .into_iter()
        .map(|(k, count)| CountLine {
            key: serde_json::to_value(k)
                .ok()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_default(),
            label: label(k),
            count,
        })
        .collect()
}

/// A petition's lead unit and what it carried.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UnitLine {
    pub unit: UnitId,
    pub volume: u64,
    #[schema(value_type = Object)]
    pub on_time: Rate,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AnnualReport {
    pub year: i32,
    /// First petitions and review requests registered in the year (件次).
    pub volume: u64,
    /// The same span of the year before (1 January to the same day as the report's last day:
    /// the year's end, or today in a year still running).
    pub previous_volume: u64,
    /// Change on that span, as a fraction (−0.495 is −49.5 %); `None` without a base, or when
    /// the records of the year before begin more than a month into it (a partial year would
    /// give a false change).
    pub change: Option<f64>,
    /// The first day of the year before with a petition on record, when that is later than
    /// 31 January: the comparison is left out.
    #[schema(value_type = Option<String>, format = Date)]
    pub previous_from: Option<chrono::NaiveDate>,
    /// 建议意见, 检举控告, 申诉求决 (first petitions only).
    pub by_kind: Vec<CountLine>,
    pub by_channel: Vec<CountLine>,
    /// January to December.
    pub by_month: Vec<u64>,
    /// First petitions accepted (signed for) in the year.
    pub accepted: u64,
    /// First petitions not accepted, by ground.
    pub declined: Vec<CountLine>,
    /// 信访事项及时受理率: decisions on acceptance taken in time.
    #[schema(value_type = Object)]
    pub timely_acceptance: Rate,
    /// 按期办结率: handling deadlines of the year met.
    #[schema(value_type = Object)]
    pub on_time_completion: Rate,
    /// 初次信访一次性化解率: first petitions closed in the year without a redo, a 复查 or 复核,
    /// or the same person raising the same matter again within 90 days.
    #[schema(value_type = Object)]
    pub first_one_shot: Rate,
    pub recheck: ReviewCounts,
    pub rereview: ReviewCounts,
    /// 重复信访: first petitions of the year by a petitioner who had already had a petition on
    /// the same matter (category) accepted in the 365 days before.
    pub repeat_petitions: u64,
    /// First petitions of the year forwarded from a higher level (上级转送), and of those the
    /// 越级信访: lodged with the province or the State Bureau (Art 19).
    pub forwarded: u64,
    pub over_level: u64,
    /// 越级信访 by the unit that handled them, most first.
    pub over_level_units: Vec<CountLine>,
    /// 集体访 (Art 20) among the first petitions of the year, and the people who came.
    pub group_visits: u64,
    pub group_people: u64,
    /// First petitions of the year still open at `now`.
    pub open_at_end: u64,
    /// The lead units with the most petitions of the year, most first (at most ten).
    pub units: Vec<UnitLine>,
    /// The categories with the most petitions of the year, most first (at most ten; `key` is
    /// the category id, `label` empty: the caller names it).
    pub categories: Vec<CountLine>,
}

fn counted<K: Ord + Copy>(items: impl Iterator<Item = K>) -> Vec<(K, u64)> {
    let mut m: BTreeMap<K, u64> = BTreeMap::new();
    for k in items {
        *m.entry(k).or_default() += 1;
    }
    let mut v: Vec<(K, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

fn reviews(all: &[Appeal], stage: ReviewStage, year: &Period) -> ReviewCounts {
    use crate::lifecycle::PetitionOutcome;
    let cases: Vec<&Appeal> = all
        .iter()
        .filter(|a| a.review.as_ref().map(|r| r.stage) == Some(stage))
        .collect();
    let mut c = ReviewCounts {
        requested: cases
            .iter()
            .filter(|a| year.contains(a.registered_at))
            .count() as u64,
        ..ReviewCounts::default()
    };
    for a in &cases {
        c.hearings += a
            .hearings
            .iter()
            .filter(|h| year.contains(h.started_at))
            .count() as u64;
        if let Some(t) = a.first_replied_at.filter(|t| year.contains(*t)) {
            c.decided += 1;
            match a.reply.as_ref().and_then(|r| r.petition_outcome) {
                Some(PetitionOutcome::Support) => c.changed += 1,
                Some(_) => c.upheld += 1,
                None => {}
            }
            if a.reply_rounds.first().is_some_and(|r| t <= r.due) {
                c.on_time += 1;
            }
        }
    }
    c
}

/// The report for `year`, from `petitions` (every petition registered in `year` and the year
/// before; others are ignored), as things stand at `now`. `None` for a year out of range.
pub fn annual(year: i32, petitions: &[Appeal], now: Instant) -> Option<AnnualReport> {
    let period = Period::year(year)?;
    let before = Period::year(year - 1)?;
    let all: Vec<Appeal> = petitions
        .iter()
        .filter(|a| a.regime == Regime::Petition && a.status != Status::Merged)
        .cloned()
        .collect();
    let in_year: Vec<&Appeal> = all
        .iter()
        .filter(|a| period.contains(a.registered_at))
        .collect();
    let first: Vec<&Appeal> = in_year
        .iter()
        .copied()
        .filter(|a| a.review.is_none())
        .collect();
    let volume = in_year.len() as u64;
    // The same span a year earlier: to the same day as this year's last counted day.
    let last = now.min(period.end);
    let last_day = local_date(last - chrono::Duration::seconds(1));
    let same_day = last_day
        .with_year(year - 1)
        .or_else(|| last_day.pred_opt().and_then(|d| d.with_year(year - 1)))
        .unwrap_or(last_day);
    let span_end = crate::time::end_of_day(same_day);
    let previous_volume = all
        .iter()
        .filter(|a| before.contains(a.registered_at) && a.registered_at <= span_end)
        .count() as u64;
    let earliest = all
        .iter()
        .filter(|a| before.contains(a.registered_at))
        .map(|a| local_date(a.registered_at))
        .min();
    let previous_from = earliest.filter(|d| d.ordinal() > 31);
    let mut by_month = vec![0u64; 12];
    for a in &in_year {
        by_month[local_date(a.registered_at).month0() as usize] += 1;
    }
    // 重复信访: linked at registration to the matter accepted before (Art 19).
    let repeat_petitions = first.iter().filter(|a| a.is_repeat()).count() as u64;
    let index = metrics::RepeatIndex::new(&all);
    let mut units: Vec<UnitLine> = counted(first.iter().filter_map(|a| a.lead))
        .into_iter()
        .take(10)
        .map(|(unit, volume)| UnitLine {
            unit,
            volume,
            on_time: metrics::on_time_completion(
                first.iter().copied(),
                Scope::Lead(unit),
                &period,
                now,
            ),
        })
        .collect();
    units.sort_by(|a, b| b.volume.cmp(&a.volume).then(a.unit.cmp(&b.unit)));
    Some(AnnualReport {
        year,
        volume,
        previous_volume,
        change: if previous_from.is_some() {
            None
        } else {
            metrics::change(volume as f64, previous_volume as f64)
        },
        previous_from,
        by_kind: lines(first.iter().map(|a| a.kind), |k: Kind| {
            k.label().to_string()
        }),
        by_channel: lines(first.iter().map(|a| a.channel), |c: Channel| {
            c.label().to_string()
        }),
        by_month,
        accepted: first.iter().filter(|a| a.signed_at.is_some()).count() as u64,
        declined: lines(
            first
                .iter()
                .filter_map(|a| a.declined.as_ref().map(|d| d.ground)),
            |g: DeclineGround| g.label().to_string(),
        ),
        timely_acceptance: metrics::timely_acceptance(all.iter(), Scope::All, &period, now),
        on_time_completion: metrics::on_time_completion(all.iter(), Scope::All, &period, now),
        // Review cases are left out by the formula itself (`counts_for_one_shot`).
        first_one_shot: metrics::one_shot_resolution_among(
            all.iter(),
            &index,
            Scope::All,
            &period,
            crate::rollup::ONE_SHOT_WINDOW_DAYS as u32,
        ),
        recheck: reviews(&all, ReviewStage::Recheck, &period),
        rereview: reviews(&all, ReviewStage::Rereview, &period),
        repeat_petitions,
        forwarded: first.iter().filter(|a| a.forwarded_from.is_some()).count() as u64,
        over_level: first.iter().filter(|a| a.is_over_level()).count() as u64,
        over_level_units: lines(
            first
                .iter()
                .filter(|a| a.is_over_level())
                .filter_map(|a| a.lead),
            |_| String::new(),
        ),
        group_visits: first.iter().filter(|a| a.group.is_some()).count() as u64,
        group_people: first
            .iter()
            .filter_map(|a| a.group.as_ref())
            .map(|g| u64::from(g.people))
            .sum(),
        open_at_end: first.iter().filter(|a| !a.status.is_terminal()).count() as u64,
        units,
        categories: lines(first.iter().filter_map(|a| a.category), |_| String::new())
            .into_iter()
            .take(10)
            .collect(),
    })
}
