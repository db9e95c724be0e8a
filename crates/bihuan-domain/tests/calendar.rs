//! The calendar against the official data, day by day, and its arithmetic under property tests.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bihuan_domain::time::local;
use bihuan_domain::Calendar;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use proptest::prelude::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Reads a folder of holiday-cn files independently of the crate's parser: date → is off.
fn read_exceptions(dir: &std::path::Path) -> BTreeMap<NaiveDate, bool> {
    let mut out = BTreeMap::new();
    for year in 2007..=2026 {
        let text = std::fs::read_to_string(dir.join(format!("{year}.json"))).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        for day in v["days"].as_array().unwrap() {
            let date = d(day["date"].as_str().unwrap());
            out.insert(date, day["isOffDay"].as_bool().unwrap());
        }
    }
    out
}

fn check_every_day(dir: PathBuf) -> usize {
    let exceptions = read_exceptions(&dir);
    let cal = Calendar::official();
    let mut day = d("2007-01-01");
    let mut checked = 0;
    while day <= d("2026-12-31") {
        let expected = match exceptions.get(&day) {
            Some(off) => !off,
            None => !matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
        };
        assert_eq!(cal.is_workday(day).unwrap(), expected, "{day}");
        checked += 1;
        day += Duration::days(1);
    }
    checked
}

#[test]
fn every_day_2007_to_2026_agrees_with_the_shipped_notices() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/holidays");
    assert_eq!(check_every_day(dir), 7305);
}

#[test]
fn every_day_2007_to_2026_agrees_with_the_shared_data_set() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/holidays");
    if !dir.exists() {
        eprintln!(
            "SKIPPED: {} is absent (a fresh clone has no ../shared)",
            dir.display()
        );
        return;
    }
    assert_eq!(check_every_day(dir), 7305);
}

#[test]
fn known_arrangements() {
    let cal = Calendar::official();
    // National Day 2019: Oct 1–7 off; Sunday Sep 29 and Saturday Oct 12 worked.
    for day in 1..=7 {
        assert!(!cal
            .is_workday(NaiveDate::from_ymd_opt(2019, 10, day).unwrap())
            .unwrap());
    }
    assert!(cal.is_workday(d("2019-09-29")).unwrap());
    assert!(cal.is_workday(d("2019-10-12")).unwrap());
    // Spring Festival 2024: Sunday Feb 4 and Saturday Feb 18 worked; Feb 10–17 off.
    assert!(cal.is_workday(d("2024-02-04")).unwrap());
    assert!(cal.is_workday(d("2024-02-18")).unwrap());
    assert!(!cal.is_workday(d("2024-02-16")).unwrap());
    // 2008: May Day one day off with Sunday May 4 worked; the 2007 notice covers Dec 2007's
    // New Year bridge (Dec 29, a Saturday, worked).
    assert!(cal.is_workday(d("2008-05-04")).unwrap());
    assert!(cal.is_workday(d("2007-12-29")).unwrap());
    // An ordinary week.
    assert!(cal.is_workday(d("2026-11-27")).unwrap());
    assert!(!cal.is_workday(d("2026-11-29")).unwrap());
}

/// Parsed once for all property cases.
fn official() -> &'static Calendar {
    static CAL: std::sync::OnceLock<Calendar> = std::sync::OnceLock::new();
    CAL.get_or_init(Calendar::official)
}

fn naive_add(cal: &Calendar, start: NaiveDate, n: u32) -> NaiveDate {
    let mut day = start;
    let mut left = n;
    while left > 0 {
        day += Duration::days(1);
        if cal.is_workday(day).unwrap() {
            left -= 1;
        }
    }
    day
}

fn date_in_range() -> impl Strategy<Value = NaiveDate> {
    // 2007-01-01 … 2026-06-30, so that adding up to 100 working days stays inside 2026.
    (0i64..7120).prop_map(|i| d("2007-01-01") + Duration::days(i))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any limit of any size, from any instant chrono can hold: an answer after the start or an
    /// error, never a panic and never a wrapped, earlier date.
    #[test]
    fn any_limit_from_any_instant_is_a_later_date_or_an_error(
        secs in -8_000_000_000_000i64..8_000_000_000_000i64,
        n in any::<u32>(),
        unit in 0u8..3,
    ) {
        use bihuan_domain::Limit;
        let cal = official();
        let start = chrono::DateTime::<chrono::Utc>::from_timestamp(secs, 0).unwrap();
        let limit = match unit { 0 => Limit::WorkingDays(n), 1 => Limit::CalendarDays(n), _ => Limit::Hours(n) };
        if let Ok(due) = limit.due_from(cal, start) {
            prop_assert!(due >= start, "{:?} from {} gave {}", limit, start, due);
        }
    }

    #[test]
    fn adding_n_working_days_lands_on_a_working_day(start in date_in_range(), n in 1u32..100) {
        let cal = official();
        let r = cal.add_working_days(start, n).unwrap();
        prop_assert!(cal.is_workday(r).unwrap());
        prop_assert!(r > start);
    }

    #[test]
    fn counting_back_gives_n(start in date_in_range(), n in 0u32..100) {
        let cal = official();
        let r = cal.add_working_days(start, n).unwrap();
        prop_assert_eq!(cal.working_days_after(start, r).unwrap(), i64::from(n));
        prop_assert_eq!(cal.working_days_after(r, start).unwrap(), -i64::from(n));
    }

    #[test]
    fn adding_is_monotonic(a in date_in_range(), b in date_in_range(), n in 1u32..60) {
        let cal = official();
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(cal.add_working_days(lo, n).unwrap() <= cal.add_working_days(hi, n).unwrap());
        prop_assert!(cal.add_working_days(lo, n).unwrap() < cal.add_working_days(lo, n + 1).unwrap());
    }

    #[test]
    fn adding_matches_a_day_by_day_walk(start in date_in_range(), n in 0u32..40) {
        let cal = official();
        prop_assert_eq!(cal.add_working_days(start, n).unwrap(), naive_add(cal, start, n));
    }

    #[test]
    fn civil_code_periods_end_on_a_working_day_not_before_the_nominal_end(
        start in date_in_range(), n in 1u32..90
    ) {
        let cal = official();
        let end = cal.calendar_days_period(start, n).unwrap();
        let nominal = start + Duration::days(i64::from(n));
        prop_assert!(cal.is_workday(end).unwrap());
        prop_assert!(end >= nominal);
        // Every day between the nominal end and the actual end is a rest day.
        let mut day = nominal;
        while day < end {
            prop_assert!(!cal.is_workday(day).unwrap());
            day += Duration::days(1);
        }
    }

    #[test]
    fn working_time_is_additive(a in 0i64..600_000, b in 0i64..600_000, c in 0i64..600_000) {
        let cal = official();
        let base = local(2025, 1, 1, 0, 0, 0).unwrap();
        let mut v = [a, b, c];
        v.sort_unstable();
        let [x, y, z] = v.map(|m| base + Duration::minutes(m));
        let whole = cal.working_time_between(x, z).unwrap();
        let parts = cal.working_time_between(x, y).unwrap() + cal.working_time_between(y, z).unwrap();
        prop_assert!((whole - parts).abs() < 1e-9);
        // Never more than the calendar time between them.
        prop_assert!(whole <= (z - x).num_seconds() as f64 / 86_400.0 + 1e-9);
    }
}
