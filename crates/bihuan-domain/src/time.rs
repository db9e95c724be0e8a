//! Instants and China Standard Time.
//!
//! Every instant in bihuan is a UTC timestamp ([`Instant`]). Working days, end-of-day deadlines and
//! assessment periods are counted on the civil dates of China Standard Time (UTC+8, no daylight
//! saving), which is the time every county in the country keeps. The domain never reads a clock:
//! callers pass "now" in.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// A point in time. Stored and compared in UTC.
pub type Instant = DateTime<Utc>;

/// China Standard Time, UTC+8.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The civil date in China of an instant.
pub fn local_date(t: Instant) -> NaiveDate {
    t.with_timezone(&cst()).date_naive()
}

/// 00:00:00 China time on `d`, as an instant.
pub fn start_of_day(d: NaiveDate) -> Instant {
    cst()
        .from_local_datetime(&d.and_time(NaiveTime::MIN))
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

/// The last second of `d` in China time (23:59:59). A deadline "by the end of a day" is this
/// instant: work done at 23:59:59 is on time, work done at 00:00:00 the next day is late.
pub fn end_of_day(d: NaiveDate) -> Instant {
    start_of_day(d) + Duration::days(1) - Duration::seconds(1)
}

/// Formats an instant as China local time, `2026-11-27 15:04:05`.
pub fn format_local(t: Instant) -> String {
    t.with_timezone(&cst())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Builds an instant from China local wall-clock parts; `None` when the parts are not a valid time.
pub fn local(y: i32, m: u32, d: u32, hh: u32, mm: u32, ss: u32) -> Option<Instant> {
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    let time = NaiveTime::from_hms_opt(hh, mm, ss)?;
    cst()
        .from_local_datetime(&date.and_time(time))
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_date_crosses_midnight_at_16_utc() {
        let before = Utc.with_ymd_and_hms(2026, 11, 27, 15, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 11, 27, 16, 0, 0).unwrap();
        assert_eq!(
            local_date(before),
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
        );
        assert_eq!(
            local_date(after),
            NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
        );
    }

    #[test]
    fn end_of_day_is_last_second_in_china() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert_eq!(format_local(end_of_day(d)), "2026-11-27 23:59:59");
        assert_eq!(format_local(start_of_day(d)), "2026-11-27 00:00:00");
        assert_eq!(
            local(2026, 11, 27, 8, 30, 0).map(format_local).unwrap(),
            "2026-11-27 08:30:00"
        );
        assert!(local(2026, 2, 30, 0, 0, 0).is_none());
    }
}
