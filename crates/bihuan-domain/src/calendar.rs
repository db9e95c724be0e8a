//! The official working-day calendar of the People's Republic of China.
//!
//! Monday to Friday are working days and Saturday and Sunday rest days, except where a State
//! Council notice says otherwise: a public holiday makes a weekday a rest day, and a make-up
//! working day (调休) makes a weekend day a working day. The notices for 2007–2026 ship with the
//! crate (`data/holidays/`, from the NateScarlet/holiday-cn project, MIT licence; see
//! `data/holidays/ATTRIBUTION.md`).
//!
//! Deadlines never wait for a notice: the [`PROVISIONAL_YEARS`] years after the newest loaded
//! notice are *provisional* — weekends and the statutory holidays on their predicted dates
//! ([`crate::holidays`]), no make-up days — and every answer that touches them can be told apart
//! with [`Calendar::is_provisional`] (shown as 预计). A year before the first loaded one, or a gap
//! between loaded years, is still an error: there the notice exists and must be loaded.
//!
//! Each file is keyed by the year of its notice, and a notice may list days of the year before
//! (for example the 2007 notice moves 2006-12-30 and 2006-12-31). Days are applied from whatever
//! file lists them, but a date counts as known only when the file of its own year is loaded.
//! Consequently, late-December days of the newest loaded year follow the weekday rule until the
//! next year's notice is loaded; loading it corrects them.
//!
//! Internally the calendar keeps one flag per day over the span of loaded years and a running
//! count of working days, so counting working days between two dates is O(1) and adding N
//! working days is a binary search.

use crate::code::ErrorCode;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Deserialize;

use crate::time::{local_date, start_of_day, Instant};

/// What went wrong with a calendar question or a calendar file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The date's year has no official notice loaded.
    #[error("calendar year {0} is not loaded")]
    YearNotLoaded(i32),
    /// A holiday file could not be read.
    #[error("invalid holiday file: {0}")]
    BadFile(String),
    /// A period so long that its end is beyond any date bihuan handles.
    #[error("the period runs past the last date bihuan handles")]
    OutOfRange,
}

impl CalendarError {
    /// A stable, machine-readable code.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            CalendarError::YearNotLoaded(_) => ErrorCode::CalendarYearNotLoaded,
            CalendarError::BadFile(_) => ErrorCode::CalendarBadFile,
            CalendarError::OutOfRange => ErrorCode::DateOutOfRange,
        }
    }

    /// The code as the API writes it.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }
}

/// One day that the official notice moves: a holiday, or a make-up working day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpecialDay {
    pub date: NaiveDate,
    /// The festival this arrangement belongs to, e.g. `春节`.
    pub name: String,
    /// `true`: a rest day (holiday); `false`: a working day (调休 make-up day).
    pub off: bool,
}

/// One year's notice as loaded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct YearNotice {
    pub year: i32,
    /// Addresses of the State Council notices the year was built from.
    pub papers: Vec<String>,
    pub days: Vec<SpecialDay>,
}

#[derive(Deserialize)]
struct RawFile {
    year: i32,
    #[serde(default)]
    papers: Vec<String>,
    days: Vec<RawDay>,
}

#[derive(Deserialize)]
struct RawDay {
    name: String,
    date: String,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

impl YearNotice {
    /// Parses one year in the holiday-cn JSON format:
    /// `{"year": 2026, "papers": [...], "days": [{"name", "date", "isOffDay"}]}`.
    pub fn from_json(json: &str) -> Result<YearNotice, CalendarError> {
        let raw: RawFile =
            serde_json::from_str(json).map_err(|e| CalendarError::BadFile(e.to_string()))?;
        if !(1949..=9999).contains(&raw.year) {
            return Err(CalendarError::BadFile(format!(
                "year {} is out of range",
                raw.year
            )));
        }
        let mut seen = BTreeSet::new();
        let mut days = Vec::with_capacity(raw.days.len());
        for d in raw.days {
            let date = NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").map_err(|_| {
                CalendarError::BadFile(format!("date {:?} is not YYYY-MM-DD", d.date))
            })?;
            // A notice arranges its own year and, at most, the turn of the year around it.
            if (date.year() - raw.year).abs() > 1 {
                return Err(CalendarError::BadFile(format!(
                    "date {} is too far from the notice year {}",
                    d.date, raw.year
                )));
            }
            if !seen.insert(date) {
                return Err(CalendarError::BadFile(format!(
                    "date {} is listed twice",
                    d.date
                )));
            }
            days.push(SpecialDay {
                date,
                name: d.name,
                off: d.is_off_day,
            });
        }
        days.sort_by_key(|d| d.date);
        Ok(YearNotice {
            year: raw.year,
            papers: raw.papers,
            days,
        })
    }
}

/// How many years after the newest loaded notice the calendar answers provisionally (enough for
/// the longest accepted limit, about a year, started late in the year after).
pub const PROVISIONAL_YEARS: i32 = 2;

/// The working-day calendar: loaded notices and the day flags derived from them.
#[derive(Debug, Clone)]
pub struct Calendar {
    notices: BTreeMap<i32, YearNotice>,
    /// Jan 1 of the first loaded year; index 0 of `workday` and `cum`.
    base: NaiveDate,
    workday: Vec<bool>,
    /// `cum[i]`: working days in `[base, base + i]`.
    cum: Vec<u32>,
}

macro_rules! official_years {
    ($($y:literal),* $(,)?) => {
        &[$(($y, include_str!(concat!("../data/holidays/", stringify!($y), ".json")))),*]
    };
}

/// The notices that ship with bihuan.
const OFFICIAL: &[(i32, &str)] = official_years!(
    2007, 2008, 2009, 2010, 2011, 2012, 2013, 2014, 2015, 2016, 2017, 2018, 2019, 2020, 2021, 2022,
    2023, 2024, 2025, 2026
);

impl Default for Calendar {
    fn default() -> Self {
        Calendar::empty()
    }
}

impl Calendar {
    /// A calendar with no year loaded: every question is an error until a year is loaded.
    pub fn empty() -> Calendar {
        Calendar {
            notices: BTreeMap::new(),
            base: NaiveDate::MIN,
            workday: Vec::new(),
            cum: Vec::new(),
        }
    }

    /// The official calendar for 2007–2026 as shipped.
    pub fn official() -> Calendar {
        let mut cal = Calendar::empty();
        for (year, json) in OFFICIAL {
            let notice = YearNotice::from_json(json).expect("shipped holiday files are valid");
            debug_assert_eq!(notice.year, *year);
            cal.notices.insert(notice.year, notice);
        }
        cal.rebuild();
        cal
    }

    /// Loads (or replaces) one year from a file in the holiday-cn JSON format; returns its year.
    pub fn load_json(&mut self, json: &str) -> Result<i32, CalendarError> {
        let notice = YearNotice::from_json(json)?;
        Ok(self.load(notice))
    }

    /// Loads (or replaces) one year's notice; returns its year.
    pub fn load(&mut self, notice: YearNotice) -> i32 {
        let year = notice.year;
        self.notices.insert(year, notice);
        self.rebuild();
        year
    }

    /// The years whose notices are loaded, in order.
    pub fn loaded_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.notices.keys().copied()
    }

    /// One loaded notice.
    pub fn notice(&self, year: i32) -> Option<&YearNotice> {
        self.notices.get(&year)
    }

    fn rebuild(&mut self) {
        let (Some(&first), Some(&last)) = (self.notices.keys().next(), self.notices.keys().last())
        else {
            *self = Calendar::empty();
            return;
        };
        let base = NaiveDate::from_ymd_opt(first, 1, 1).expect("valid year");
        let end = NaiveDate::from_ymd_opt(last + PROVISIONAL_YEARS, 12, 31).expect("valid year");
        let len = (end - base).num_days() as usize + 1;
        let mut workday: Vec<bool> = (0..len)
            .map(|i| {
                let d = base + Duration::days(i as i64);
                !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
            })
            .collect();
        // The provisional years: their statutory holidays on the predicted dates. Applied before
        // the notices, so that a loaded notice listing a day of the next year still wins.
        for year in last + 1..=last + PROVISIONAL_YEARS {
            for (day, _) in crate::holidays::predicted(year) {
                workday[(day - base).num_days() as usize] = false;
            }
        }
        // Apply notices in year order so that a later notice wins over an earlier one that
        // happens to list the same turn-of-year day.
        for notice in self.notices.values() {
            for day in &notice.days {
                if day.date >= base && day.date <= end {
                    workday[(day.date - base).num_days() as usize] = !day.off;
                }
            }
        }
        let mut cum = Vec::with_capacity(len);
        let mut n = 0u32;
        for &w in &workday {
            n += u32::from(w);
            cum.push(n);
        }
        self.base = base;
        self.workday = workday;
        self.cum = cum;
    }

    fn ensure_year(&self, year: i32) -> Result<(), CalendarError> {
        let newest = self.notices.keys().last().copied();
        let provisional =
            newest.is_some_and(|last| year > last && year <= last + PROVISIONAL_YEARS);
        if self.notices.contains_key(&year) || provisional {
            Ok(())
        } else {
            Err(CalendarError::YearNotLoaded(year))
        }
    }

    /// Whether answers about `d` are provisional: its year's notice is not loaded, so its rest
    /// days are weekends and the predicted statutory holidays (预计). Re-check after loading.
    pub fn is_provisional(&self, d: NaiveDate) -> bool {
        !self.notices.contains_key(&d.year())
    }

    /// Whether an instant falls on a provisional day (see [`Calendar::is_provisional`]).
    pub fn is_provisional_at(&self, t: Instant) -> bool {
        self.is_provisional(local_date(t))
    }

    /// Every year from `a`'s to `b`'s must be loaded.
    fn ensure_span(&self, a: NaiveDate, b: NaiveDate) -> Result<(), CalendarError> {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        for y in lo.year()..=hi.year() {
            self.ensure_year(y)?;
        }
        Ok(())
    }

    fn index(&self, d: NaiveDate) -> Result<usize, CalendarError> {
        self.ensure_year(d.year())?;
        Ok((d - self.base).num_days() as usize)
    }

    /// Whether `d` is a working day.
    pub fn is_workday(&self, d: NaiveDate) -> Result<bool, CalendarError> {
        Ok(self.workday[self.index(d)?])
    }

    /// The notice entry for `d`, if the notice moves that day.
    pub fn special_day(&self, d: NaiveDate) -> Result<Option<&SpecialDay>, CalendarError> {
        self.ensure_year(d.year())?;
        // The same date may sit in its own year's file or the next year's.
        Ok([d.year(), d.year() + 1, d.year() - 1]
            .iter()
            .filter_map(|y| self.notices.get(y))
            .flat_map(|n| n.days.iter())
            .find(|s| s.date == d))
    }

    /// The date `n` working days after `d`; `d` itself is not counted (so adding 1 to a Friday
    /// gives the next Monday in an ordinary week). Adding 0 returns `d` unchanged.
    pub fn add_working_days(&self, d: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let i = self.index(d)?;
        if n == 0 {
            return Ok(d);
        }
        // Saturating: a count past every loaded day simply runs off the end of the calendar.
        let target = self.cum[i].saturating_add(n);
        // The first index whose running count reaches the target is the N-th working day.
        let j = self.cum.partition_point(|&c| c < target);
        if j >= self.cum.len() {
            let last = self.notices.keys().last().copied().unwrap_or(d.year());
            return Err(CalendarError::YearNotLoaded(last + PROVISIONAL_YEARS + 1));
        }
        let result = self.base + Duration::days(j as i64);
        self.ensure_span(d, result)?;
        Ok(result)
    }

    /// The number of working days in `(from, to]`: the first date is not counted, the last is.
    /// Negative when `to` is before `from`. `count(d, add(d, n)) == n`.
    pub fn working_days_after(&self, from: NaiveDate, to: NaiveDate) -> Result<i64, CalendarError> {
        self.ensure_span(from, to)?;
        let a = self.index(from)?;
        let b = self.index(to)?;
        Ok(i64::from(self.cum[b]) - i64::from(self.cum[a]))
    }

    /// The first working day on or after `d`.
    pub fn workday_on_or_after(&self, d: NaiveDate) -> Result<NaiveDate, CalendarError> {
        if self.is_workday(d)? {
            Ok(d)
        } else {
            self.add_working_days(d, 1)
        }
    }

    /// A period of `days` calendar days counted as the Civil Code counts it (民法典 Arts 201 and
    /// 203): the day the period starts is not counted, and a period whose last day is a rest day
    /// ends on the next working day. Returns the last day of the period.
    pub fn calendar_days_period(
        &self,
        d: NaiveDate,
        days: u32,
    ) -> Result<NaiveDate, CalendarError> {
        self.ensure_year(d.year())?;
        let last = d
            .checked_add_signed(Duration::days(i64::from(days)))
            .ok_or(CalendarError::OutOfRange)?;
        let end = self.workday_on_or_after(last)?;
        self.ensure_span(d, end)?;
        Ok(end)
    }

    /// Working time between two instants, in working days: each working day in China time
    /// contributes the share of its 24 hours that lies inside `[a, b)`. Rest days contribute
    /// nothing. Zero when `b <= a`. Used for average handling times.
    pub fn working_time_between(&self, a: Instant, b: Instant) -> Result<f64, CalendarError> {
        if b <= a {
            return Ok(0.0);
        }
        let (da, db) = (local_date(a), local_date(b));
        self.ensure_span(da, db)?;
        let (ia, ib) = (self.index(da)?, self.index(db)?);
        let day_secs = 86_400.0;
        if ia == ib {
            let w = if self.workday[ia] { 1.0 } else { 0.0 };
            return Ok(w * (b - a).num_seconds() as f64 / day_secs);
        }
        let first = if self.workday[ia] {
            (start_of_day(da) + Duration::days(1) - a).num_seconds() as f64 / day_secs
        } else {
            0.0
        };
        let last = if self.workday[ib] {
            (b - start_of_day(db)).num_seconds() as f64 / day_secs
        } else {
            0.0
        };
        // Whole working days strictly between the two dates.
        let middle = f64::from(self.cum[ib - 1] - self.cum[ia]);
        Ok(first + middle + last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn spring_festival_2026_and_its_make_up_days() {
        let cal = Calendar::official();
        // 2026-02-14 is a Saturday made a working day for the Spring Festival.
        assert!(cal.is_workday(d("2026-02-14")).unwrap());
        assert!(!cal.is_workday(d("2026-02-16")).unwrap());
        assert!(cal.is_workday(d("2026-11-27")).unwrap());
        assert!(!cal.is_workday(d("2026-11-28")).unwrap());
        assert_eq!(
            cal.special_day(d("2026-02-14")).unwrap().unwrap().name,
            "春节"
        );
    }

    #[test]
    fn national_day_2026_pushes_fifteen_working_days() {
        let cal = Calendar::official();
        // 2026-10-01..07 are the National Day holiday; Sept 20 and Oct 10 are make-up days.
        let r = cal.add_working_days(d("2026-09-28"), 15).unwrap();
        assert_eq!(r, d("2026-10-23"));
        assert_eq!(cal.working_days_after(d("2026-09-28"), r).unwrap(), 15);
    }

    #[test]
    fn the_years_after_the_newest_notice_are_provisional() {
        let cal = Calendar::official();
        // 2027 and 2028 answer, provisionally: weekends and the predicted statutory holidays.
        assert!(cal.is_provisional(d("2027-01-04")) && !cal.is_provisional(d("2026-12-31")));
        assert!(cal.is_workday(d("2027-01-04")).unwrap());
        assert!(!cal.is_workday(d("2027-01-01")).unwrap(), "元旦");
        // 春节 2027: 除夕 02-05 to 初三 02-08, all rest days; 02-09 (a Tuesday) works.
        for day in [
            "2027-02-05",
            "2027-02-08",
            "2027-10-01",
            "2027-10-03",
            "2028-01-26",
        ] {
            assert!(!cal.is_workday(d(day)).unwrap(), "{day}");
        }
        assert!(cal.is_workday(d("2027-02-09")).unwrap());
        assert_eq!(
            cal.add_working_days(d("2026-12-30"), 5).unwrap(),
            d("2027-01-07")
        );
        // Beyond the provisional years, and before the first notice, still an error.
        let e = cal.is_workday(d("2029-01-04")).unwrap_err();
        assert_eq!(e.to_string(), "calendar year 2029 is not loaded");
        assert_eq!(e.code(), "calendar_year_not_loaded");
        assert!(cal.is_workday(d("2006-12-31")).is_err());
        assert_eq!(
            cal.add_working_days(d("2028-12-20"), 30).unwrap_err(),
            CalendarError::YearNotLoaded(2029)
        );
        assert!(Calendar::empty().is_workday(d("2026-01-05")).is_err());
        // Loading 2027's notice makes 2027 known and 2029 provisional.
        let mut cal = cal;
        cal.load_json(
            r#"{"year": 2027, "papers": ["test"], "days": [
            {"name": "元旦", "date": "2027-01-01", "isOffDay": true}]}"#,
        )
        .unwrap();
        assert!(!cal.is_provisional(d("2027-02-09")) && cal.is_provisional(d("2029-01-04")));
        // The test notice has no 春节 days: the notice, not the prediction, decides 2027 now.
        assert!(cal.is_workday(d("2027-02-08")).unwrap());
        assert!(cal.is_workday(d("2029-01-04")).unwrap());
    }

    #[test]
    fn loading_a_new_year_extends_the_calendar() {
        let mut cal = Calendar::official();
        let json = r#"{"year": 2027, "papers": ["test"], "days": [
            {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
            {"name": "元旦", "date": "2027-01-02", "isOffDay": false}
        ]}"#;
        assert_eq!(cal.load_json(json).unwrap(), 2027);
        assert!(!cal.is_workday(d("2027-01-01")).unwrap());
        assert!(cal.is_workday(d("2027-01-02")).unwrap()); // a Saturday made a working day
        assert!(cal.is_workday(d("2027-01-04")).unwrap());
        assert_eq!(
            cal.add_working_days(d("2026-12-31"), 1).unwrap(),
            d("2027-01-02")
        );
    }

    #[test]
    fn a_gap_year_is_an_error_even_inside_the_span() {
        let mut cal = Calendar::empty();
        cal.load_json(r#"{"year": 2024, "days": []}"#).unwrap();
        cal.load_json(r#"{"year": 2026, "days": []}"#).unwrap();
        assert_eq!(
            cal.is_workday(d("2025-03-03")),
            Err(CalendarError::YearNotLoaded(2025))
        );
        assert_eq!(
            cal.add_working_days(d("2024-12-30"), 5),
            Err(CalendarError::YearNotLoaded(2025))
        );
        assert_eq!(
            cal.working_days_after(d("2024-12-30"), d("2026-01-05")),
            Err(CalendarError::YearNotLoaded(2025))
        );
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let mut cal = Calendar::official();
        for bad in [
            "not json",
            r#"{"year": 2027}"#,
            r#"{"year": 2027, "days": [{"name": "x", "date": "2027-13-01", "isOffDay": true}]}"#,
            r#"{"year": 2027, "days": [{"name": "x", "date": "2030-01-01", "isOffDay": true}]}"#,
            r#"{"year": 2027, "days": [{"name": "x", "date": "2027-01-01", "isOffDay": true},
                                        {"name": "x", "date": "2027-01-01", "isOffDay": false}]}"#,
        ] {
            let e = cal.load_json(bad).unwrap_err();
            assert_eq!(e.code(), "calendar_bad_file", "{bad}");
        }
        assert!(
            cal.is_provisional(d("2027-01-04")) && cal.loaded_years().last() == Some(2026),
            "nothing was loaded"
        );
    }

    #[test]
    fn civil_code_periods() {
        let cal = Calendar::official();
        // 15 days from 2026-09-20: the last day is Oct 5, inside the National Day holiday, so
        // the period ends on the next working day, Oct 8 (Oct 8 is a Thursday after the 1–7 break).
        let end = cal.calendar_days_period(d("2026-09-20"), 15).unwrap();
        assert!(cal.is_workday(end).unwrap());
        assert_eq!(end, d("2026-10-08"));
        // 60 days from 2026-03-02 end on May 1 (Labour Day holiday, May 1–5) → May 6.
        assert_eq!(
            cal.calendar_days_period(d("2026-03-02"), 60).unwrap(),
            d("2026-05-06")
        );
        // An ordinary weekday end stays as it is.
        assert_eq!(
            cal.calendar_days_period(d("2026-11-02"), 3).unwrap(),
            d("2026-11-05")
        );
        // Ending on a Saturday moves to Monday.
        assert_eq!(
            cal.calendar_days_period(d("2026-11-02"), 5).unwrap(),
            d("2026-11-09")
        );
    }

    #[test]
    fn working_time_between_instants() {
        use crate::time::local;
        let cal = Calendar::official();
        // Friday 12:00 to Monday 12:00: half of Friday and half of Monday.
        let a = local(2026, 11, 27, 12, 0, 0).unwrap();
        let b = local(2026, 11, 30, 12, 0, 0).unwrap();
        assert!((cal.working_time_between(a, b).unwrap() - 1.0).abs() < 1e-9);
        // Same day, six hours.
        let c = local(2026, 11, 27, 18, 0, 0).unwrap();
        assert!((cal.working_time_between(a, c).unwrap() - 0.25).abs() < 1e-9);
        // Saturday only: nothing.
        let s1 = local(2026, 11, 28, 8, 0, 0).unwrap();
        let s2 = local(2026, 11, 28, 20, 0, 0).unwrap();
        assert_eq!(cal.working_time_between(s1, s2).unwrap(), 0.0);
        assert_eq!(cal.working_time_between(b, a).unwrap(), 0.0);
        // Monday 00:00 to the next Monday 00:00 is five working days.
        let m1 = local(2026, 11, 23, 0, 0, 0).unwrap();
        let m2 = local(2026, 11, 30, 0, 0, 0).unwrap();
        assert!((cal.working_time_between(m1, m2).unwrap() - 5.0).abs() < 1e-9);
    }
}
