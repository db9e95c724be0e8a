//! The statutory public holidays of a year whose State Council notice is not yet published, on
//! their predicted dates: what the calendar uses, marked 预计, for deadlines that run past the
//! last loaded notice (see `Calendar::is_provisional`).
//!
//! 全国年节及纪念日放假办法 (as revised in 2024, in force from 2025), Art 2: 元旦 one day (1 January);
//! 春节 four days (农历除夕 and 正月初一 to 初三); 清明节 one day (the 清明 solar term); 劳动节 two days
//! (1–2 May); 端午节 one day (农历五月初五); 中秋节 one day (农历八月十五); 国庆节 three days (1–3
//! October). The notice of each year then adds bridging days and make-up working days (调休); those
//! cannot be predicted, so a provisional year has none: rest days are weekends and these holidays.
//!
//! Lunar dates come from the month lengths of each lunar year (the table below: the usual
//! encoding of the published Chinese calendar, one word per lunar year from 2007), counted from
//! the lunar new year of 2007 (2007-02-18). The shipped notices for 2007–2026 check the table
//! and the arithmetic: every festival computed here is a rest day in them (tests).

use chrono::{Duration, NaiveDate};

/// The first lunar year of [`LUNAR_YEARS`] and its new year's day (正月初一).
const FIRST_LUNAR_YEAR: i32 = 2007;
const FIRST_NEW_YEAR: (i32, u32, u32) = (2007, 2, 18);

/// One word per lunar year from 2007 to 2049. Bits 15..4: the lengths of months 1 to 12 (bit 15
/// is month 1; set means 30 days, clear 29); bits 3..0: the leap month that follows that month (0:
/// none); bit 16: the leap month has 30 days.
const LUNAR_YEARS: [u32; 43] = [
    0x025d0, 0x092d0, 0x0cab5, // 2007–2009
    0x0a950, 0x0b4a0, 0x0baa4, 0x0ad50, 0x055d9, // 2010–2014
    0x04ba0, 0x0a5b0, 0x15176, 0x052b0, 0x0a930, // 2015–2019
    0x07954, 0x06aa0, 0x0ad50, 0x05b52, 0x04b60, // 2020–2024
    0x0a6e6, 0x0a4e0, 0x0d260, 0x0ea65, 0x0d530, // 2025–2029
    0x05aa0, 0x076a3, 0x096d0, 0x04bd7, 0x04ad0, // 2030–2034
    0x0a4d0, 0x1d0b6, 0x0d250, 0x0d520, 0x0dd45, // 2035–2039
    0x0b5a0, 0x056d0, 0x055b2, 0x049b0, 0x0a577, // 2040–2044
    0x0a4b0, 0x0aa50, 0x1b255, 0x06d20, 0x0ada0, // 2045–2049
];

/// The last year whose holidays can be predicted (its lunar year is in the table).
pub const LAST_PREDICTABLE_YEAR: i32 = FIRST_LUNAR_YEAR + LUNAR_YEARS.len() as i32 - 1;

/// The months of a lunar year in order, `(month, leap, days)`.
fn lunar_months(word: u32) -> Vec<(u32, bool, i64)> {
    let leap = word & 0xf;
    let mut out = Vec::with_capacity(13);
    for m in 1..=12u32 {
        let long = word & (0x10000 >> m) != 0;
        out.push((m, false, if long { 30 } else { 29 }));
        if m == leap {
            out.push((m, true, if word & 0x10000 != 0 { 30 } else { 29 }));
        }
    }
    out
}

/// The solar date of lunar `month`/`day` (not the leap month) of lunar year `year`, when the
/// table covers it.
pub fn lunar_to_solar(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    if !(FIRST_LUNAR_YEAR..=LAST_PREDICTABLE_YEAR).contains(&year) || !(1..=30).contains(&day) {
        return None;
    }
    let (y, m, d) = FIRST_NEW_YEAR;
    let mut date = NaiveDate::from_ymd_opt(y, m, d)?;
    for word in &LUNAR_YEARS[..(year - FIRST_LUNAR_YEAR) as usize] {
        let days: i64 = lunar_months(*word).iter().map(|(_, _, n)| n).sum();
        date += Duration::days(days);
    }
    for (m, leap, n) in lunar_months(LUNAR_YEARS[(year - FIRST_LUNAR_YEAR) as usize]) {
        if m == month && !leap {
            if i64::from(day) > n {
                return None;
            }
            return Some(date + Duration::days(i64::from(day) - 1));
        }
        date += Duration::days(n);
    }
    None
}

/// The day of the 清明 solar term in April (4 or 5 in this century): the usual formula for the
/// 21st century, `⌊Y·0.2422 + 4.81⌋ − ⌊Y/4⌋` with `Y` the last two digits of the year.
pub fn qingming(year: i32) -> Option<NaiveDate> {
    if !(2001..=2099).contains(&year) {
        return None;
    }
    let y = f64::from(year % 100);
    let day = (y * 0.2422 + 4.81).floor() as i32 - (year % 100) / 4;
    NaiveDate::from_ymd_opt(year, 4, day as u32)
}

/// The statutory holidays of `year` on their predicted dates, with their names; empty for a
/// year the table does not cover.
pub fn predicted(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let mut out = Vec::new();
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d);
    let (Some(new_year), Some(dragon), Some(moon), Some(qm)) = (
        lunar_to_solar(year, 1, 1),
        lunar_to_solar(year, 5, 5),
        lunar_to_solar(year, 8, 15),
        qingming(year),
    ) else {
        return out;
    };
    out.extend(ymd(1, 1).map(|d| (d, "元旦")));
    for i in -1..=2 {
        out.push((new_year + Duration::days(i), "春节"));
    }
    out.push((qm, "清明节"));
    out.extend(
        [ymd(5, 1), ymd(5, 2)]
            .into_iter()
            .flatten()
            .map(|d| (d, "劳动节")),
    );
    out.push((dragon, "端午节"));
    out.push((moon, "中秋节"));
    out.extend(
        [ymd(10, 1), ymd(10, 2), ymd(10, 3)]
            .into_iter()
            .flatten()
            .map(|d| (d, "国庆节")),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn lunar_new_years_and_festivals() {
        // 春节 of each year, as published.
        for (y, s) in [
            (2007, "2007-02-18"),
            (2008, "2008-02-07"),
            (2020, "2020-01-25"),
            (2025, "2025-01-29"),
            (2026, "2026-02-17"),
            (2027, "2027-02-06"),
            (2028, "2028-01-26"),
            (2031, "2031-01-23"),
            (2032, "2032-02-11"),
            (2033, "2033-01-31"),
        ] {
            assert_eq!(lunar_to_solar(y, 1, 1), Some(d(s)), "{y}");
        }
        // A year with a leap month before the festival (2025 has 闰六月): 中秋 is 2025-10-06.
        assert_eq!(lunar_to_solar(2025, 8, 15), Some(d("2025-10-06")));
        assert_eq!(lunar_to_solar(2025, 5, 5), Some(d("2025-05-31")));
        assert_eq!(lunar_to_solar(2006, 1, 1), None);
        assert_eq!(lunar_to_solar(2050, 1, 1), None);
        assert_eq!(lunar_to_solar(2027, 1, 31), None);
        assert_eq!(qingming(2025), Some(d("2025-04-04")));
        assert_eq!(qingming(2026), Some(d("2026-04-05")));
    }

    /// Every festival predicted for 2007–2026 is a rest day in that year's official notice: the
    /// table, the lunar arithmetic and the solar-term formula agree with twenty published years.
    #[test]
    fn predictions_are_rest_days_in_the_shipped_notices() {
        let cal = crate::Calendar::official();
        let mut checked = 0;
        for year in 2008..=2026 {
            for (date, name) in predicted(year) {
                // Before the 2024 revision (years up to 2024) 除夕 and 2 May were not statutory
                // holidays (the 2008 revision made 清明, 端午 and 中秋 holidays, so 2007 is left
                // out): check only the days those years' rules had.
                let eve = date == lunar_to_solar(year, 1, 1).unwrap() - Duration::days(1);
                let may_2 = name == "劳动节" && date.day() == 2;
                if year < 2025 && (eve || may_2) {
                    continue;
                }
                assert!(
                    !cal.is_workday(date).unwrap(),
                    "{name} {date} is a working day in the {year} notice"
                );
                checked += 1;
            }
        }
        assert!(checked > 200, "{checked}");
    }
}
