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

/// The first date bihuan accepts from outside (query parameters, periods, imports).
pub const FIRST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};
/// The last date bihuan accepts from outside. Far beyond any deadline, and far inside what the
/// date arithmetic can represent, so nothing a user types can overflow it.
pub const LAST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2199, 12, 31) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// Whether `d` lies in the accepted range [`FIRST_DATE`, `LAST_DATE`].
pub fn date_in_range(d: NaiveDate) -> bool {
    (FIRST_DATE..=LAST_DATE).contains(&d)
}

/// Why a date typed by someone was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("not a date in YYYY-MM-DD form")]
    Format,
    #[error("outside the accepted range 1970-01-01 to 2199-12-31")]
    OutOfRange,
}

impl DateError {
    /// What a person reads, in Chinese.
    pub fn message_zh(&self) -> &'static str {
        match self {
            DateError::Format => "须为 YYYY-MM-DD 格式的日期",
            DateError::OutOfRange => "须在 1970-01-01 至 2199-12-31 之间",
        }
    }
}

/// Parses a `YYYY-MM-DD` date and checks it against the accepted range.
pub fn parse_date(s: &str) -> Result<NaiveDate, DateError> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| DateError::Format)?;
    if date_in_range(d) {
        Ok(d)
    } else {
        Err(DateError::OutOfRange)
    }
}

/// 00:00:00 China time on `d`, as an instant. Total: dates at the very ends of chrono's range
/// saturate instead of panicking (callers bound dates with [`date_in_range`] first).
pub fn start_of_day(d: NaiveDate) -> Instant {
    let local = d.and_time(NaiveTime::MIN);
    let utc = local
        .checked_sub_signed(Duration::hours(8))
        .unwrap_or(local);
    DateTime::<Utc>::from_naive_utc_and_offset(utc, Utc)
}

/// The last second of `d` in China time (23:59:59). A deadline "by the end of a day" is this
/// instant: work done at 23:59:59 is on time, work done at 00:00:00 the next day is late.
pub fn end_of_day(d: NaiveDate) -> Instant {
    let start = start_of_day(d);
    start
        .checked_add_signed(Duration::seconds(86_399))
        .unwrap_or(start)
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
    fn dates_outside_the_range_are_refused_not_panicked_on() {
        assert_eq!(parse_date("-262143-01-01"), Err(DateError::OutOfRange));
        assert_eq!(parse_date("+262142-12-31"), Err(DateError::OutOfRange));
        assert_eq!(parse_date("1969-12-31"), Err(DateError::OutOfRange));
        assert_eq!(parse_date("2200-01-01"), Err(DateError::OutOfRange));
        assert_eq!(parse_date("2026-13-01"), Err(DateError::Format));
        assert_eq!(
            parse_date(" 2026-12-01 "),
            Ok(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
        );
        // The extremes of chrono's range do not panic either.
        let _ = start_of_day(NaiveDate::MIN);
        let _ = end_of_day(NaiveDate::MAX);
    }

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
