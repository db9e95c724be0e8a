//! Deadline policies as data: a table of limits per regime, kind and urgency.
//!
//! Each row holds every limit an appeal runs against (dispatch, signing, first contact, reply,
//! longest extension, window for returning a misrouted order, report-in after a whistle, the
//! reply after a redo) and the share of a limit after which it shows as due soon. Rows are matched
//! most-specific first: kind and urgency, then urgency alone, then kind alone, then the regime's
//! base row — urgency outranks kind because an emergency is counted in hours whatever its kind.
//! An appeal keeps a copy of the row it was registered under, so an administrator's later edit
//! never moves the deadlines of work already under way.

use crate::code::ErrorCode;
use std::fmt;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::appeal::{Kind, Regime, Urgency};
use crate::calendar::{Calendar, CalendarError};
use crate::time::{end_of_day, local_date, Instant};

/// One time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// N working days, the start day not counted; due at the end of the N-th working day.
    WorkingDays(u32),
    /// N calendar days counted as the Civil Code says; due at the end of the last day.
    CalendarDays(u32),
    /// N hours around the clock, for urgent matters.
    Hours(u32),
}

impl Limit {
    /// The longest limit of each unit that bihuan accepts: about a year, far beyond any
    /// statutory period (信访 60 days + 30, a joint approval 45 + 15 working days) and far
    /// inside what the date arithmetic can represent. Limits are checked against these at the
    /// edge (policy tables, extension requests), so no typed number can overflow a deadline.
    pub const MAX_WORKING_DAYS: u32 = 250;
    pub const MAX_CALENDAR_DAYS: u32 = 366;
    pub const MAX_HOURS: u32 = 8_784;
    /// The accepted range, as a person reads it.
    pub const RANGE_ZH: &'static str = "工作日不超过250个，自然日不超过366日，小时不超过8784小时";

    /// Whether the limit is within the accepted maximum of its unit (zero included).
    pub fn in_range(self) -> bool {
        match self {
            Limit::WorkingDays(n) => n <= Self::MAX_WORKING_DAYS,
            Limit::CalendarDays(n) => n <= Self::MAX_CALENDAR_DAYS,
            Limit::Hours(n) => n <= Self::MAX_HOURS,
        }
    }

    /// The instant a period of this length that starts at `start` runs out. Checked
    /// throughout: a period that would run past the representable dates is an error.
    pub fn due_from(self, cal: &Calendar, start: Instant) -> Result<Instant, CalendarError> {
        Ok(match self {
            Limit::WorkingDays(n) => end_of_day(cal.add_working_days(local_date(start), n)?),
            Limit::CalendarDays(n) => end_of_day(cal.calendar_days_period(local_date(start), n)?),
            Limit::Hours(n) => start
                .checked_add_signed(Duration::hours(i64::from(n)))
                .ok_or(CalendarError::OutOfRange)?,
        })
    }

    fn is_zero(self) -> bool {
        matches!(
            self,
            Limit::WorkingDays(0) | Limit::CalendarDays(0) | Limit::Hours(0)
        )
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::WorkingDays(n) => write!(f, "{n}个工作日"),
            Limit::CalendarDays(n) => write!(f, "{n}日"),
            Limit::Hours(n) => write!(f, "{n}小时"),
        }
    }
}

fn default_assist() -> Limit {
    Limit::WorkingDays(3)
}

/// When the reply clock starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplyClock {
    /// From dispatch to the lead unit (12345 practice).
    Dispatch,
    /// From the unit's acceptance, i.e. signing (信访工作条例 Art 34: "自受理之日起").
    Sign,
}

/// One row of the policy table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadlinePolicy {
    pub regime: Regime,
    /// `None`: any kind.
    pub kind: Option<Kind>,
    /// `None`: any urgency.
    pub urgency: Option<Urgency>,
    /// From registration to dispatch by the centre.
    pub dispatch: Limit,
    /// From dispatch to signing by the lead unit.
    pub sign: Limit,
    /// From dispatch to the first contact with the citizen (for petitions: the acceptance notice).
    pub first_contact: Limit,
    /// To the reply; counted from `reply_from`.
    pub reply: Limit,
    pub reply_from: ReplyClock,
    /// The longest total extension, counted from the original reply deadline.
    pub max_extension: Limit,
    /// From dispatch, the window in which the lead unit may return a misrouted order.
    pub return_window: Limit,
    /// From a whistle to the called units' report-in.
    pub report_in: Limit,
    /// From dispatch to the assisting units' opinions (协办意见), which the lead unit reads
    /// before replying. Rows written before it existed read as 3 working days.
    #[serde(default = "default_assist")]
    pub assist: Limit,
    /// From a redo to the new reply (for petitions: the review, 复查).
    pub redo_reply: Limit,
    /// Percent of a limit's time after which it shows as due soon (yellow); 1–99.
    pub due_soon_percent: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy table has no base row (any kind, any urgency) for {0:?}")]
    MissingBase(Regime),
    #[error("two rows have the same regime, kind and urgency: {0}")]
    Duplicate(String),
    #[error("kind {kind:?} belongs to {expected:?}, not {regime:?}")]
    KindOutsideRegime {
        kind: Kind,
        regime: Regime,
        expected: Regime,
    },
    #[error("due_soon_percent must be between 1 and 99, not {0}")]
    BadShare(u8),
    #[error("limit {0} must not be zero")]
    ZeroLimit(&'static str),
    #[error("limit {field} is {limit}, beyond the accepted maximum")]
    LimitOutOfRange { field: &'static str, limit: Limit },
}

impl PolicyError {
    pub fn error_code(&self) -> ErrorCode {
        match self {
            PolicyError::MissingBase(_) => ErrorCode::PolicyMissingBase,
            PolicyError::Duplicate(_) => ErrorCode::PolicyDuplicate,
            PolicyError::KindOutsideRegime { .. } => ErrorCode::PolicyKindOutsideRegime,
            PolicyError::BadShare(_) => ErrorCode::PolicyBadShare,
            PolicyError::ZeroLimit(_) => ErrorCode::PolicyZeroLimit,
            PolicyError::LimitOutOfRange { .. } => ErrorCode::LimitOutOfRange,
        }
    }

    /// The code as the API writes it.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// What an administrator reads: what is wrong and what to do.
    pub fn message_zh(&self) -> String {
        match self {
            PolicyError::MissingBase(r) => format!(
                "期限规则缺少「{}」的基础行（kind 与 urgency 均为空），请补上",
                r.label()
            ),
            PolicyError::Duplicate(k) => format!("期限规则中有两行的类别相同（{k}），请合并"),
            PolicyError::KindOutsideRegime { kind, regime, .. } => format!(
                "诉求类型「{}」不属于「{}」，请改正该行",
                kind.label(),
                regime.label()
            ),
            PolicyError::BadShare(n) => {
                format!("即将到期提示比例须在1至99之间，当前为 {n}")
            }
            PolicyError::ZeroLimit(f) => format!("时限 {f} 不能为0"),
            PolicyError::LimitOutOfRange { field, limit } => format!(
                "时限 {field} 为{limit}，超出允许范围（{}），请改小",
                Limit::RANGE_ZH
            ),
        }
    }
}

impl DeadlinePolicy {
    /// Every limit of the row with its field name.
    pub fn limits(&self) -> [(&'static str, Limit); 9] {
        [
            ("dispatch", self.dispatch),
            ("sign", self.sign),
            ("first_contact", self.first_contact),
            ("reply", self.reply),
            ("max_extension", self.max_extension),
            ("return_window", self.return_window),
            ("report_in", self.report_in),
            ("assist", self.assist),
            ("redo_reply", self.redo_reply),
        ]
    }
}

/// The validated table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyTable {
    rows: Vec<DeadlinePolicy>,
}

impl PolicyTable {
    pub fn new(rows: Vec<DeadlinePolicy>) -> Result<PolicyTable, PolicyError> {
        for r in &rows {
            if let Some(k) = r.kind {
                if k.regime() != r.regime {
                    return Err(PolicyError::KindOutsideRegime {
                        kind: k,
                        regime: r.regime,
                        expected: k.regime(),
                    });
                }
            }
            if !(1..=99).contains(&r.due_soon_percent) {
                return Err(PolicyError::BadShare(r.due_soon_percent));
            }
            for (field, limit) in r.limits() {
                if !limit.in_range() {
                    return Err(PolicyError::LimitOutOfRange { field, limit });
                }
            }
            for (name, l) in [
                ("sign", r.sign),
                ("reply", r.reply),
                ("redo_reply", r.redo_reply),
                ("report_in", r.report_in),
                ("assist", r.assist),
                ("first_contact", r.first_contact),
            ] {
                if l.is_zero() {
                    return Err(PolicyError::ZeroLimit(name));
                }
            }
        }
        for (i, a) in rows.iter().enumerate() {
            if rows[i + 1..]
                .iter()
                .any(|b| (a.regime, a.kind, a.urgency) == (b.regime, b.kind, b.urgency))
            {
                return Err(PolicyError::Duplicate(format!(
                    "{:?}/{:?}/{:?}",
                    a.regime, a.kind, a.urgency
                )));
            }
        }
        for regime in Regime::ALL {
            if !rows
                .iter()
                .any(|r| r.regime == *regime && r.kind.is_none() && r.urgency.is_none())
            {
                return Err(PolicyError::MissingBase(*regime));
            }
        }
        Ok(PolicyTable { rows })
    }

    pub fn rows(&self) -> &[DeadlinePolicy] {
        &self.rows
    }

    /// The most specific row for an appeal.
    pub fn lookup(&self, regime: Regime, kind: Kind, urgency: Urgency) -> &DeadlinePolicy {
        let find = |k: Option<Kind>, u: Option<Urgency>| {
            self.rows
                .iter()
                .find(|r| r.regime == regime && r.kind == k && r.urgency == u)
        };
        find(Some(kind), Some(urgency))
            .or_else(|| find(None, Some(urgency)))
            .or_else(|| find(Some(kind), None))
            .or_else(|| find(None, None))
            .expect("validated: every regime has a base row")
    }

    /// The defaults, from the brief's sources (see `docs/deadlines.md`):
    ///
    /// * hotline, ordinary: dispatch within 1 working day, sign within 1, first contact within 1,
    ///   reply within 5 working days from dispatch, extensions up to 10 more working days in
    ///   total (Shandong), a misrouted order returned within 2 working days, report-in within 1
    ///   working day after a whistle, assisting opinions within 3 working days of dispatch (so
    ///   the lead has two days to use them), 5 working days again after a redo;
    /// * hotline, urgent (紧急): in hours — dispatch 2 h (Beijing: water, power, gas, heating),
    ///   sign 2 h, contact 4 h, reply 24 h, extension up to 2 working days, return 2 h,
    ///   report-in 2 h, assisting opinions 12 h, redo 24 h;
    /// * hotline, critical (特急): dispatch 1 h (Beijing: threats to life or property), sign 1 h,
    ///   contact 1 h, reply 12 h, extension up to 1 working day, return 1 h, report-in 1 h,
    ///   assisting opinions 6 h, redo 12 h;
    /// * petition (信访工作条例 2022): assigned within 15 days (Art 22), signed within 3 working
    ///   days, acceptance notice within 15 days (Art 23), objection within 5 working days (Art 23),
    ///   handled within 60 days of acceptance (Art 34), extension at most 30 days (Art 34),
    ///   report-in within 2 working days, assisting opinions within 10 working days, review
    ///   answered within 30 days (Art 35);
    /// * a complaint about an overdue payment to a small enterprise (保障中小企业款项支付条例
    ///   2025, Art 25): forwarded within 10 working days, answered within 30 days of that,
    ///   extended by at most 60 days.
    ///
    /// Due soon after 80% of a limit's time everywhere.
    pub fn defaults() -> PolicyTable {
        use Limit::{CalendarDays as D, Hours as H, WorkingDays as W};
        let hotline = DeadlinePolicy {
            regime: Regime::Hotline,
            kind: None,
            urgency: None,
            dispatch: W(1),
            sign: W(1),
            first_contact: W(1),
            reply: W(5),
            reply_from: ReplyClock::Dispatch,
            max_extension: W(10),
            return_window: W(2),
            report_in: W(1),
            assist: W(3),
            redo_reply: W(5),
            due_soon_percent: 80,
        };
        let urgent = DeadlinePolicy {
            urgency: Some(Urgency::Urgent),
            dispatch: H(2),
            sign: H(2),
            first_contact: H(4),
            reply: H(24),
            max_extension: W(2),
            return_window: H(2),
            report_in: H(2),
            assist: H(12),
            redo_reply: H(24),
            ..hotline.clone()
        };
        let critical = DeadlinePolicy {
            urgency: Some(Urgency::Critical),
            dispatch: H(1),
            sign: H(1),
            first_contact: H(1),
            reply: H(12),
            max_extension: W(1),
            return_window: H(1),
            report_in: H(1),
            assist: H(6),
            redo_reply: H(12),
            ..hotline.clone()
        };
        let petition = DeadlinePolicy {
            regime: Regime::Petition,
            kind: None,
            urgency: None,
            dispatch: D(15),
            sign: W(3),
            first_contact: D(15),
            reply: D(60),
            reply_from: ReplyClock::Sign,
            max_extension: D(30),
            return_window: W(5),
            report_in: W(2),
            assist: W(10),
            redo_reply: D(30),
            due_soon_percent: 80,
        };
        // 保障中小企业款项支付条例 (2025) Art 25: a complaint about an overdue payment is
        // forwarded to the body responsible within 10 working days and answered within 30 days
        // (extended by at most 60 more, 90 in all).
        let payment = DeadlinePolicy {
            kind: Some(Kind::PaymentComplaint),
            dispatch: W(10),
            reply: D(30),
            max_extension: D(60),
            redo_reply: D(30),
            ..hotline.clone()
        };
        PolicyTable::new(vec![hotline, urgent, critical, payment, petition])
            .expect("defaults are valid")
    }
}

/// The colour of a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    /// Running, less than the due-soon share used (green).
    Running,
    /// Running, past the due-soon share (yellow).
    DueSoon,
    /// Not done and past due (red).
    Overdue,
    /// Done in time.
    Met,
    /// Done, but late.
    MetLate,
}

impl DeadlineState {
    /// Where a deadline that started at `start` and runs out at `due` stands at `now`, given
    /// whether (and when) the work was done.
    pub fn at(
        start: Instant,
        due: Instant,
        done: Option<Instant>,
        now: Instant,
        due_soon_percent: u8,
    ) -> DeadlineState {
        if let Some(t) = done {
            return if t <= due {
                DeadlineState::Met
            } else {
                DeadlineState::MetLate
            };
        }
        if now > due {
            return DeadlineState::Overdue;
        }
        let total = (due - start).num_seconds().max(1);
        let used = (now - start).num_seconds();
        if used * 100 >= total * i64::from(due_soon_percent) {
            DeadlineState::DueSoon
        } else {
            DeadlineState::Running
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DeadlineState::Running => "正常",
            DeadlineState::DueSoon => "临期",
            DeadlineState::Overdue => "超期",
            DeadlineState::Met => "按期完成",
            DeadlineState::MetLate => "超期完成",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{format_local, local};

    #[test]
    fn lookup_prefers_the_most_specific_row() {
        let mut rows = PolicyTable::defaults().rows().to_vec();
        let mut consult = rows[0].clone();
        consult.kind = Some(Kind::Consultation);
        consult.reply = Limit::WorkingDays(2);
        rows.push(consult);
        let t = PolicyTable::new(rows).unwrap();
        assert_eq!(
            t.lookup(Regime::Hotline, Kind::Consultation, Urgency::Normal)
                .reply,
            Limit::WorkingDays(2)
        );
        // Urgency outranks kind.
        assert_eq!(
            t.lookup(Regime::Hotline, Kind::Consultation, Urgency::Urgent)
                .reply,
            Limit::Hours(24)
        );
        assert_eq!(
            t.lookup(Regime::Hotline, Kind::Complaint, Urgency::Normal)
                .reply,
            Limit::WorkingDays(5)
        );
        assert_eq!(
            t.lookup(Regime::Petition, Kind::PetitionClaim, Urgency::Critical)
                .reply,
            Limit::CalendarDays(60)
        );
    }

    #[test]
    fn extreme_limits_are_errors_never_panics_or_wrapped_dates() {
        let cal = Calendar::official();
        let t = crate::time::local(2026, 11, 2, 9, 0, 0).unwrap();
        for l in [
            Limit::Hours(u32::MAX),
            Limit::CalendarDays(i32::MAX as u32),
            Limit::CalendarDays(u32::MAX),
            Limit::WorkingDays(u32::MAX),
            Limit::WorkingDays(u32::MAX - 5),
        ] {
            assert!(!l.in_range(), "{l:?}");
            match l.due_from(&cal, t) {
                Err(_) => {}
                Ok(due) => panic!("{l:?} gave {due}, earlier than the start or wrapped"),
            }
        }
        // The largest accepted limits compute (or ask for the next year), never overflow.
        for l in [
            Limit::Hours(Limit::MAX_HOURS),
            Limit::CalendarDays(Limit::MAX_CALENDAR_DAYS),
            Limit::WorkingDays(Limit::MAX_WORKING_DAYS),
        ] {
            assert!(l.in_range());
            match l.due_from(&cal, t) {
                Ok(due) => assert!(due > t),
                Err(e) => assert_eq!(e.code(), "calendar_year_not_loaded"),
            }
        }
    }

    #[test]
    fn limits_beyond_the_range_are_refused_in_a_table() {
        let base = PolicyTable::defaults().rows().to_vec();
        for (i, l) in [
            Limit::Hours(Limit::MAX_HOURS + 1),
            Limit::WorkingDays(u32::MAX),
            Limit::CalendarDays(Limit::MAX_CALENDAR_DAYS + 1),
        ]
        .into_iter()
        .enumerate()
        {
            let mut rows = base.clone();
            match i {
                0 => rows[0].reply = l,
                1 => rows[0].max_extension = l,
                _ => rows[0].dispatch = l,
            }
            let e = PolicyTable::new(rows).unwrap_err();
            assert_eq!(e.code(), "limit_out_of_range");
            assert!(
                e.message_zh().contains("超出允许范围"),
                "{}",
                e.message_zh()
            );
        }
    }

    #[test]
    fn invalid_tables_are_refused() {
        let base = PolicyTable::defaults().rows().to_vec();
        let mut rows = base.clone();
        rows.push(rows[0].clone());
        assert_eq!(
            PolicyTable::new(rows).unwrap_err().code(),
            "policy_duplicate"
        );
        let rows: Vec<_> = base
            .iter()
            .filter(|r| r.regime == Regime::Hotline)
            .cloned()
            .collect();
        assert_eq!(
            PolicyTable::new(rows).unwrap_err().code(),
            "policy_missing_base"
        );
        let mut rows = base.clone();
        rows[0].due_soon_percent = 100;
        assert_eq!(
            PolicyTable::new(rows).unwrap_err().code(),
            "policy_bad_share"
        );
        let mut rows = base.clone();
        rows[0].reply = Limit::Hours(0);
        assert_eq!(
            PolicyTable::new(rows).unwrap_err().code(),
            "policy_zero_limit"
        );
        let mut rows = base;
        rows[0].kind = Some(Kind::PetitionClaim);
        assert_eq!(
            PolicyTable::new(rows).unwrap_err().code(),
            "policy_kind_outside_regime"
        );
    }

    #[test]
    fn limits_compute_due_instants() {
        let cal = Calendar::official();
        // Friday 2026-11-27 15:00: five working days later is Friday 2026-12-04, end of day.
        let t = local(2026, 11, 27, 15, 0, 0).unwrap();
        let due = Limit::WorkingDays(5).due_from(&cal, t).unwrap();
        assert_eq!(format_local(due), "2026-12-04 23:59:59");
        assert_eq!(
            format_local(Limit::Hours(2).due_from(&cal, t).unwrap()),
            "2026-11-27 17:00:00"
        );
        // 15 days from Nov 27 is Dec 12, a Saturday: the period ends Monday Dec 14.
        assert_eq!(
            format_local(Limit::CalendarDays(15).due_from(&cal, t).unwrap()),
            "2026-12-14 23:59:59"
        );
        assert_eq!(Limit::WorkingDays(5).to_string(), "5个工作日");
        let json = serde_json::to_string(&Limit::WorkingDays(5)).unwrap();
        assert_eq!(json, r#"{"working_days":5}"#);
    }

    #[test]
    fn deadline_colours() {
        let start = local(2026, 11, 2, 0, 0, 0).unwrap();
        let due = local(2026, 11, 12, 0, 0, 0).unwrap();
        let at = |d| local(2026, 11, d, 0, 0, 0).unwrap();
        assert_eq!(
            DeadlineState::at(start, due, None, at(5), 80),
            DeadlineState::Running
        );
        assert_eq!(
            DeadlineState::at(start, due, None, at(10), 80),
            DeadlineState::DueSoon
        );
        assert_eq!(
            DeadlineState::at(start, due, None, at(12), 80),
            DeadlineState::DueSoon
        );
        assert_eq!(
            DeadlineState::at(start, due, None, at(13), 80),
            DeadlineState::Overdue
        );
        assert_eq!(
            DeadlineState::at(start, due, Some(at(12)), at(20), 80),
            DeadlineState::Met
        );
        assert_eq!(
            DeadlineState::at(start, due, Some(at(13)), at(20), 80),
            DeadlineState::MetLate
        );
        // A lower share turns yellow earlier.
        assert_eq!(
            DeadlineState::at(start, due, None, at(5), 30),
            DeadlineState::DueSoon
        );
    }
}
