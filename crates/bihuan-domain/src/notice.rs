//! Notifications (通知): what the loop tells people as it moves — the citizen that the appeal was
//! registered, replied to and visited; units that an appeal was dispatched to them, that they
//! are asked to assist or report in, that they are supervised, that a deadline is near.
//!
//! [`notices_for`] derives them from an appeal's new events, purely; each carries a key unique
//! to what it tells whom, so deriving twice (a server restart, two servers) queues it once. A
//! [`Notice`] is an [`Aggregate`] in the generic tables: queued, then delivered — to a unit's
//! list in the console at once, to a citizen's phone by a sender that may fail, be retried with
//! a growing wait, and give up after [`MAX_ATTEMPTS`].

use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::appeal::{AppealId, AppealNumber, Phone};
use crate::error::DomainError;
use crate::lifecycle::{Actor, Appeal, Context, Event, EventRecord, Role};
use crate::org::UnitId;
use crate::time::{format_local, Instant};

/// Sends to a phone tried at most this many times.
pub const MAX_ATTEMPTS: u32 = 6;

/// The wait before the next try after `attempts` failed ones: 1, 5, 15, 60, 180 minutes.
pub fn retry_wait(attempts: u32) -> chrono::Duration {
    let mins = [1, 5, 15, 60, 180];
    chrono::Duration::minutes(mins[(attempts.saturating_sub(1) as usize).min(mins.len() - 1)])
}

/// Who a notice is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Recipient {
    /// A unit: shown in the console to its people.
    Unit { unit: UnitId },
    /// A citizen, by text message.
    Phone { phone: Phone },
}

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// To the citizen: the appeal was registered (with its number; from the portal, the query
    /// code is shown on the page, never sent in a stored message).
    Registered,
    /// To the citizen: the unit replied.
    Replied,
    /// To the citizen: the return visit was recorded.
    Visited,
    /// To the lead unit.
    Dispatched,
    /// To an assisting unit.
    AssistAsked,
    /// To a unit a whistle called.
    Whistled,
    /// To the units a supervision concerns.
    Supervised,
    /// To the lead unit: a deadline is near.
    DueSoon,
}

impl NoticeKind {
    pub fn label(self) -> &'static str {
        match self {
            NoticeKind::Registered => "受理告知",
            NoticeKind::Replied => "答复告知",
            NoticeKind::Visited => "回访告知",
            NoticeKind::Dispatched => "新交办",
            NoticeKind::AssistAsked => "协办请求",
            NoticeKind::Whistled => "吹哨报到",
            NoticeKind::Supervised => "督办",
            NoticeKind::DueSoon => "临期提醒",
        }
    }
}

/// Where a notice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Waiting for (another) try.
    Pending,
    /// Delivered: shown to the unit, or accepted by the sender.
    Sent,
    /// Every try failed.
    Failed,
}

impl Delivery {
    pub fn label(self) -> &'static str {
        match self {
            Delivery::Pending => "待发送",
            Delivery::Sent => "已送达",
            Delivery::Failed => "发送失败",
        }
    }
}

/// A notice the domain derived, before it is queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub appeal: AppealId,
    pub number: AppealNumber,
    pub to: Recipient,
    pub kind: NoticeKind,
    pub text: String,
    /// Unique to what this tells whom: queued once.
    pub key: String,
    /// When the step it tells of happened.
    pub event_at: Instant,
}

/// One notice and its delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub appeal: AppealId,
    pub number: AppealNumber,
    pub to: Recipient,
    pub kind: NoticeKind,
    pub text: String,
    pub key: String,
    pub status: Delivery,
    pub attempts: u32,
    /// When the step it tells of happened (the queueing may come later).
    #[serde(default)]
    pub event_at: Option<Instant>,
    pub queued_at: Instant,
    pub next_try: Option<Instant>,
    pub sent_at: Option<Instant>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeCommand {
    Queue(Draft),
    /// The outcome of one try to send.
    Attempted {
        ok: bool,
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NoticeEvent {
    Queued {
        appeal: AppealId,
        number: AppealNumber,
        to: Recipient,
        kind: NoticeKind,
        text: String,
        key: String,
        /// A unit's notice is delivered when queued.
        delivered: bool,
        #[serde(default)]
        event_at: Option<Instant>,
    },
    Sent,
    SendFailed {
        error: String,
        /// `None`: given up.
        next_try: Option<Instant>,
    },
}

impl Aggregate for Notice {
    const KIND: &'static str = "notice";
    type Command = NoticeCommand;
    type Event = NoticeEvent;

    fn decide(
        state: Option<&Self>,
        command: &NoticeCommand,
        actor: &Actor,
        at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<NoticeEvent>, DomainError> {
        crate::aggregate::require_role(actor, &[Role::System], "notify")?;
        match (state, command) {
            (None, NoticeCommand::Queue(d)) => Ok(vec![NoticeEvent::Queued {
                appeal: d.appeal,
                number: d.number,
                to: d.to.clone(),
                kind: d.kind,
                text: d.text.clone(),
                key: d.key.clone(),
                delivered: matches!(d.to, Recipient::Unit { .. }),
                event_at: Some(d.event_at),
            }]),
            (Some(n), NoticeCommand::Attempted { ok, error }) => {
                if n.status != Delivery::Pending {
                    return Err(DomainError::invalid("status", "该通知已送达或已放弃发送"));
                }
                if *ok {
                    return Ok(vec![NoticeEvent::Sent]);
                }
                let attempts = n.attempts + 1;
                let mut error: String = error.chars().take(500).collect();
                if error.is_empty() {
                    error = "发送失败".into();
                }
                Ok(vec![NoticeEvent::SendFailed {
                    error,
                    next_try: (attempts < MAX_ATTEMPTS).then(|| at + retry_wait(attempts)),
                }])
            }
            (Some(_), NoticeCommand::Queue(_)) => {
                Err(DomainError::invalid("key", "该通知已排队，不再重复"))
            }
            (None, NoticeCommand::Attempted { .. }) => {
                Err(DomainError::invalid("notice", "没有这条通知"))
            }
        }
    }

    fn apply(state: Option<Self>, event: &NoticeEvent, at: Instant) -> Self {
        match (state, event) {
            (
                _,
                NoticeEvent::Queued {
                    appeal,
                    number,
                    to,
                    kind,
                    text,
                    key,
                    delivered,
                    event_at,
                },
            ) => Notice {
                appeal: *appeal,
                number: *number,
                to: to.clone(),
                kind: *kind,
                text: text.clone(),
                key: key.clone(),
                status: if *delivered {
                    Delivery::Sent
                } else {
                    Delivery::Pending
                },
                attempts: 0,
                event_at: *event_at,
                queued_at: at,
                next_try: (!delivered).then_some(at),
                sent_at: delivered.then_some(at),
                last_error: None,
            },
            (Some(mut n), NoticeEvent::Sent) => {
                n.attempts += 1;
                n.status = Delivery::Sent;
                n.sent_at = Some(at);
                n.next_try = None;
                n
            }
            (Some(mut n), NoticeEvent::SendFailed { error, next_try }) => {
                n.attempts += 1;
                n.last_error = Some(error.clone());
                n.next_try = *next_try;
                if next_try.is_none() {
                    n.status = Delivery::Failed;
                }
                n
            }
            (None, _) => unreachable!("a notice's first event queues it"),
        }
    }

    fn event_name(event: &NoticeEvent) -> &'static str {
        match event {
            NoticeEvent::Queued { .. } => "queued",
            NoticeEvent::Sent => "sent",
            NoticeEvent::SendFailed { .. } => "send_failed",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("key", self.key.clone()),
            ("appeal", self.appeal.0.to_string()),
        ];
        match &self.to {
            Recipient::Unit { unit } => out.push(("unit", unit.0.to_string())),
            Recipient::Phone { .. } => out.push(("channel", "sms".into())),
        }
        if self.status == Delivery::Pending {
            out.push(("pending", "1".into()));
        }
        out
    }
}

/// What the new `records` of `appeal` (already applied to it) tell whom. `unit_name` names a
/// unit for a citizen's message.
pub fn notices_for(
    appeal: &Appeal,
    records: &[EventRecord],
    unit_name: impl Fn(UnitId) -> String,
) -> Vec<Draft> {
    let mut out = Vec::new();
    let n = appeal.number;
    let title: String = crate::appeal::mask_free_text(&appeal.title)
        .chars()
        .take(30)
        .collect();
    let phone = appeal.citizen.phone.clone().filter(Phone::is_valid);
    let mut push =
        |to: Recipient, kind: NoticeKind, text: String, version: u64, who: String, at: Instant| {
            out.push(Draft {
                appeal: appeal.id,
                number: n,
                to,
                kind,
                text,
                key: format!("{}:{version}:{who}", appeal.id.0),
                event_at: at,
            });
        };
    for r in records {
        let v = r.version;
        let at = r.at;
        match &r.event {
            Event::Registered { .. } => {
                if let Some(p) = &phone {
                    push(
                        Recipient::Phone { phone: p.clone() },
                        NoticeKind::Registered,
                        format!("【12345】您反映的诉求已受理，编号 {n}，我们将按时限交办并答复。"),
                        v,
                        "citizen".into(),
                        at,
                    );
                }
            }
            Event::Dispatched {
                lead,
                assisting,
                sign_due,
                assist_due,
                ..
            } => {
                push(
                    Recipient::Unit { unit: *lead },
                    NoticeKind::Dispatched,
                    format!(
                        "新交办工单 {n}「{title}」，请于 {} 前签收。",
                        format_local(*sign_due)
                    ),
                    v,
                    format!("u{}", lead.0),
                    at,
                );
                for u in assisting {
                    push(
                        Recipient::Unit { unit: *u },
                        NoticeKind::AssistAsked,
                        match assist_due {
                            Some(d) => format!(
                                "工单 {n}「{title}」请本单位协办，请于 {} 前提交协办意见。",
                                format_local(*d)
                            ),
                            None => format!("工单 {n}「{title}」请本单位协办。"),
                        },
                        v,
                        format!("u{}", u.0),
                        at,
                    );
                }
            }
            Event::Whistled {
                units, report_by, ..
            } => {
                for u in units {
                    push(
                        Recipient::Unit { unit: *u },
                        NoticeKind::Whistled,
                        format!(
                            "{}就工单 {n}「{title}」吹哨，请于 {} 前报到。",
                            unit_name(r.actor.unit),
                            format_local(*report_by)
                        ),
                        v,
                        format!("u{}", u.0),
                        at,
                    );
                }
            }
            Event::Supervised {
                reason,
                note,
                deadline,
            } => {
                // The lead, and for an overdue side deadline the unit that owes it.
                let mut units: Vec<UnitId> = appeal.lead.into_iter().collect();
                if let Some(d) = deadline {
                    for (_, u, _, due) in appeal.side_deadlines() {
                        if due == *d && !units.contains(&u) {
                            units.push(u);
                        }
                    }
                    for t in appeal.assists.iter().filter(|t| t.due == *d) {
                        if !units.contains(&t.unit) {
                            units.push(t.unit);
                        }
                    }
                }
                for u in units {
                    push(
                        Recipient::Unit { unit: u },
                        NoticeKind::Supervised,
                        format!(
                            "工单 {n}「{title}」被{}{}",
                            reason.label(),
                            if note.is_empty() {
                                "，请抓紧办理。".to_string()
                            } else {
                                format!("：{note}")
                            }
                        ),
                        v,
                        format!("u{}", u.0),
                        at,
                    );
                }
            }
            Event::Replied { .. } | Event::AnsweredAtIntake { .. } => {
                if let Some(p) = &phone {
                    let by = appeal
                        .lead
                        .map(&unit_name)
                        .unwrap_or_else(|| "12345 热线".into());
                    push(
                        Recipient::Phone { phone: p.clone() },
                        NoticeKind::Replied,
                        format!("【12345】您的诉求 {n} 已由{by}答复，近期将回访听取您的意见。"),
                        v,
                        "citizen".into(),
                        at,
                    );
                }
            }
            Event::Visited { visit } => {
                if let (Some(p), true) = (&phone, visit.contacted) {
                    push(
                        Recipient::Phone { phone: p.clone() },
                        NoticeKind::Visited,
                        format!("【12345】感谢您对诉求 {n} 办理情况的评价，如仍有问题请再次来电。"),
                        v,
                        "citizen".into(),
                        at,
                    );
                }
            }
            _ => {}
        }
    }
    out
}

/// The due-soon reminder of the lead's next deadline, once per deadline.
pub fn due_soon_notice(appeal: &Appeal, now: Instant) -> Option<Draft> {
    let lead = appeal.lead?;
    let (what, _, due) = appeal.deadline_for(lead)?;
    let soon = appeal.due_soon_at()?;
    if now < soon || now > due {
        return None;
    }
    let what_zh = match what {
        "sign" => "签收",
        "first_contact" => "首次联系",
        "reply" => "答复",
        _ => "办理",
    };
    Some(Draft {
        appeal: appeal.id,
        number: appeal.number,
        to: Recipient::Unit { unit: lead },
        kind: NoticeKind::DueSoon,
        text: format!(
            "工单 {}「{}」{}期限将于 {} 到期，请抓紧办理。",
            appeal.number,
            crate::appeal::mask_free_text(&appeal.title)
                .chars()
                .take(30)
                .collect::<String>(),
            what_zh,
            format_local(due)
        ),
        key: format!("{}:due:{}", appeal.id.0, due.timestamp()),
        event_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::ctx;

    fn actor() -> Actor {
        Actor {
            user: crate::UserId(0),
            name: "系统".into(),
            role: Role::System,
            unit: UnitId(1),
            unit_kind: crate::org::UnitKind::County,
        }
    }

    #[test]
    fn a_send_is_retried_with_growing_waits_then_given_up() {
        let at = crate::time::local(2026, 11, 2, 9, 0, 0).unwrap();
        let draft = Draft {
            appeal: AppealId(1),
            number: AppealNumber::new(2026, 11, 1).unwrap(),
            to: Recipient::Phone {
                phone: Phone::parse("13912345678").unwrap(),
            },
            kind: NoticeKind::Registered,
            text: "已受理".into(),
            key: "1:1:citizen".into(),
            event_at: at,
        };
        let ev = Notice::decide(None, &NoticeCommand::Queue(draft), &actor(), at, ctx()).unwrap();
        let mut n = Notice::apply(None, &ev[0], at);
        assert_eq!((n.status, n.next_try), (Delivery::Pending, Some(at)));
        let fail = NoticeCommand::Attempted {
            ok: false,
            error: "网关超时".into(),
        };
        let mut waits = Vec::new();
        for _ in 0..MAX_ATTEMPTS {
            let ev = Notice::decide(Some(&n), &fail, &actor(), at, ctx()).unwrap();
            n = Notice::apply(Some(n), &ev[0], at);
            waits.push(n.next_try.map(|t| (t - at).num_minutes()));
        }
        assert_eq!(
            waits,
            [Some(1), Some(5), Some(15), Some(60), Some(180), None]
        );
        assert_eq!(n.status, Delivery::Failed);
        assert!(Notice::decide(Some(&n), &fail, &actor(), at, ctx()).is_err());
    }
}

/// How far the notifier has read the change feed (one per store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedCursor {
    pub high: u64,
    /// Where the notifier started on this store: events before it are history, never notified.
    #[serde(default)]
    pub since: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedCursorCommand {
    Advance(u64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeedCursorEvent {
    Advanced { high: u64 },
}

impl Aggregate for FeedCursor {
    const KIND: &'static str = "notice_feed";
    type Command = FeedCursorCommand;
    type Event = FeedCursorEvent;

    fn decide(
        state: Option<&Self>,
        command: &FeedCursorCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<FeedCursorEvent>, DomainError> {
        crate::aggregate::require_role(actor, &[Role::System], "advance_feed")?;
        let FeedCursorCommand::Advance(high) = command;
        if state.is_some_and(|s| *high < s.high) {
            return Err(DomainError::invalid("high", "读取位置不能后退"));
        }
        Ok(vec![FeedCursorEvent::Advanced { high: *high }])
    }

    fn apply(state: Option<Self>, event: &FeedCursorEvent, _at: Instant) -> Self {
        let FeedCursorEvent::Advanced { high } = event;
        FeedCursor {
            high: *high,
            since: state.map_or(*high, |s| s.since),
        }
    }

    fn event_name(_event: &FeedCursorEvent) -> &'static str {
        "advanced"
    }
}
