//! Open311 GeoReport v2 (with FixMyStreet's request updates): the applications allowed to post
//! requests (`open311_client`, each with an API key kept only as its digest), the requests each
//! one posted (`open311_submission`, found by the token the client was given), and how the
//! loop's states read in the protocol's words.
//!
//! The protocol's own surface (routes, XML and JSON) is the server's; what is decided here is
//! pure: who may register or revoke a key, and which status an appeal shows.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::aggregate::{require_role, required_text, Aggregate};
use crate::appeal::{AppealId, AppealNumber, Channel};
use crate::error::DomainError;
use crate::lifecycle::{Actor, Appeal, Context, Event, ReplyResult, Role, Status};
use crate::time::Instant;

/// The digest kept for an API key: SHA-256 over a fixed prefix and the key, hex.
pub fn key_digest(key: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"bihuan-open311-api-key:");
    h.update(key.trim().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A registered application (a city app, a FixMyStreet instance, a WeChat mini-program).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Open311Client {
    pub name: String,
    /// Who runs it (an organisation and a way to reach it).
    pub contact: String,
    /// The channel its requests are registered under (移动端 or 网站).
    pub channel: Channel,
    /// The key's digest (never shown: views leave it out).
    pub key_digest: String,
    /// The key's last four characters, to tell keys apart in lists.
    pub key_hint: String,
    pub registered_at: Instant,
    pub registered_by: String,
    pub revoked_at: Option<Instant>,
    pub revoked_reason: Option<String>,
}

impl Open311Client {
    pub fn active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCommand {
    Register {
        name: String,
        contact: String,
        channel: Channel,
        key_digest: String,
        key_hint: String,
    },
    Revoke {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientEvent {
    Registered {
        name: String,
        contact: String,
        channel: Channel,
        key_digest: String,
        key_hint: String,
        by: String,
    },
    Revoked {
        reason: String,
        by: String,
    },
}

impl Aggregate for Open311Client {
    const KIND: &'static str = "open311_client";
    type Command = ClientCommand;
    type Event = ClientEvent;

    fn decide(
        state: Option<&Self>,
        command: &ClientCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<ClientEvent>, DomainError> {
        require_role(actor, &[Role::Admin], "manage_open311_clients")?;
        match (state, command) {
            (
                None,
                ClientCommand::Register {
                    name,
                    contact,
                    channel,
                    key_digest,
                    key_hint,
                },
            ) => {
                let name = required_text("name", name, 60, "应用名称")?;
                let contact = required_text("contact", contact, 200, "联系人和联系方式")?;
                if !matches!(channel, Channel::App | Channel::Web) {
                    return Err(DomainError::invalid(
                        "channel",
                        "开放接口的诉求只能登记为「移动端」(app) 或「网站」(web) 渠道",
                    ));
                }
                if key_digest.len() != 64 {
                    return Err(DomainError::invalid("api_key", "密钥摘要格式不对"));
                }
                Ok(vec![ClientEvent::Registered {
                    name,
                    contact,
                    channel: *channel,
                    key_digest: key_digest.clone(),
                    key_hint: key_hint.clone(),
                    by: actor.name.clone(),
                }])
            }
            (Some(_), ClientCommand::Register { .. }) => {
                Err(DomainError::invalid("name", "这个应用已登记"))
            }
            (None, ClientCommand::Revoke { .. }) => {
                Err(DomainError::invalid("client", "没有这个应用"))
            }
            (Some(c), ClientCommand::Revoke { reason }) => {
                if !c.active() {
                    return Err(DomainError::invalid(
                        "client",
                        "这个应用的密钥已停用；如需恢复，请登记新的密钥",
                    ));
                }
                let reason = required_text("reason", reason, 200, "停用原因")?;
                Ok(vec![ClientEvent::Revoked {
                    reason,
                    by: actor.name.clone(),
                }])
            }
        }
    }

    fn apply(state: Option<Self>, event: &ClientEvent, at: Instant) -> Self {
        match (state, event) {
            (
                _,
                ClientEvent::Registered {
                    name,
                    contact,
                    channel,
                    key_digest,
                    key_hint,
                    by,
                },
            ) => Open311Client {
                name: name.clone(),
                contact: contact.clone(),
                channel: *channel,
                key_digest: key_digest.clone(),
                key_hint: key_hint.clone(),
                registered_at: at,
                registered_by: by.clone(),
                revoked_at: None,
                revoked_reason: None,
            },
            (Some(mut c), ClientEvent::Revoked { reason, .. }) => {
                c.revoked_at = Some(at);
                c.revoked_reason = Some(reason.clone());
                c
            }
            // A revocation is never the first event (decide refuses it).
            (None, ClientEvent::Revoked { reason, by }) => Open311Client {
                name: String::new(),
                contact: String::new(),
                channel: Channel::App,
                key_digest: String::new(),
                key_hint: String::new(),
                registered_at: at,
                registered_by: by.clone(),
                revoked_at: Some(at),
                revoked_reason: Some(reason.clone()),
            },
        }
    }

    fn event_name(event: &ClientEvent) -> &'static str {
        match event {
            ClientEvent::Registered { .. } => "registered",
            ClientEvent::Revoked { .. } => "revoked",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![("key", self.key_digest.clone())]
    }
}

/// A request a client posted: the appeal it became and the token the client was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open311Submission {
    pub client: u64,
    pub appeal: AppealId,
    pub number: AppealNumber,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmissionCommand {
    Record {
        client: u64,
        appeal: AppealId,
        number: AppealNumber,
        token: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SubmissionEvent {
    Recorded {
        client: u64,
        appeal: AppealId,
        number: AppealNumber,
        token: String,
    },
}

impl Aggregate for Open311Submission {
    const KIND: &'static str = "open311_submission";
    type Command = SubmissionCommand;
    type Event = SubmissionEvent;

    fn decide(
        state: Option<&Self>,
        command: &SubmissionCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<SubmissionEvent>, DomainError> {
        require_role(actor, &[Role::System], "record_open311_request")?;
        let SubmissionCommand::Record {
            client,
            appeal,
            number,
            token,
        } = command;
        if state.is_some() {
            return Err(DomainError::invalid("token", "这个请求已记录"));
        }
        if token.is_empty() || token.len() > 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DomainError::invalid("token", "令牌格式不对"));
        }
        Ok(vec![SubmissionEvent::Recorded {
            client: *client,
            appeal: *appeal,
            number: *number,
            token: token.clone(),
        }])
    }

    fn apply(_state: Option<Self>, event: &SubmissionEvent, _at: Instant) -> Self {
        let SubmissionEvent::Recorded {
            client,
            appeal,
            number,
            token,
        } = event;
        Open311Submission {
            client: *client,
            appeal: *appeal,
            number: *number,
            token: token.clone(),
        }
    }

    fn event_name(_event: &SubmissionEvent) -> &'static str {
        "recorded"
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![
            ("token", self.token.clone()),
            ("appeal", self.appeal.0.to_string()),
            ("client", self.client.to_string()),
        ]
    }
}

/// GeoReport's two states: closed once the loop is closed (or the appeal merged into another).
pub fn status(a: &Appeal) -> &'static str {
    if a.status.is_terminal() {
        "closed"
    } else {
        "open"
    }
}

/// FixMyStreet's extended status of an appeal (lower case, as mySociety's adapter writes it).
pub fn extended_status(a: &Appeal) -> &'static str {
    let replied = || match a.reply.as_ref().map(|r| r.result) {
        Some(ReplyResult::Resolved) | None => "fixed",
        Some(ReplyResult::PartlyResolved) => "action_scheduled",
        Some(ReplyResult::Unresolvable) => "no_further_action",
    };
    match a.status {
        Status::PendingDispatch | Status::Returned => "open",
        Status::Dispatched => "investigating",
        Status::InProgress => "in_progress",
        Status::Replied | Status::Visited => replied(),
        Status::Closed if a.answered_at_intake => "closed",
        Status::Closed => match replied() {
            "fixed" => "fixed",
            _ => "closed",
        },
        Status::Merged => "duplicate",
    }
}

/// The status an update shows after `event` (`None`: the event is not shown to the public).
pub fn update_status(event: &Event) -> Option<&'static str> {
    Some(match event {
        Event::Registered { .. } => "open",
        Event::Dispatched { .. } | Event::ReturnAccepted { .. } => "investigating",
        Event::Signed { .. } | Event::Contacted { .. } | Event::ExtensionApproved { .. } => {
            "in_progress"
        }
        Event::RedoOrdered { .. } => "in_progress",
        Event::Replied { reply, .. } => match reply.result {
            ReplyResult::Resolved => "fixed",
            ReplyResult::PartlyResolved => "action_scheduled",
            ReplyResult::Unresolvable => "no_further_action",
        },
        Event::AnsweredAtIntake { .. } | Event::Closed { .. } => "closed",
        Event::MergedInto { .. } => "duplicate",
        _ => return None,
    })
}

/// What a client's update status asks for: FixMyStreet posts `OPEN` when a citizen says the
/// problem is still there and `CLOSED` when fixed; the extended values are accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CitizenSays {
    StillOpen,
    Fixed,
}

pub const UPDATE_STATUSES: &[&str] = &[
    "open",
    "closed",
    "fixed",
    "reopen",
    "in_progress",
    "investigating",
    "action_scheduled",
    "no_further_action",
];

pub fn citizen_says(status: &str) -> Option<CitizenSays> {
    match status.trim().to_ascii_lowercase().as_str() {
        "open" | "reopen" | "in_progress" | "investigating" | "action_scheduled" => {
            Some(CitizenSays::StillOpen)
        }
        "closed" | "fixed" | "no_further_action" => Some(CitizenSays::Fixed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::run;
    use crate::org::{UnitId, UnitKind};

    fn admin() -> Actor {
        Actor {
            user: crate::appeal::UserId(1),
            name: "管理员".into(),
            role: Role::Admin,
            unit: UnitId(1),
            unit_kind: UnitKind::County,
        }
    }

    #[test]
    fn a_key_is_kept_as_its_digest_and_revoked_once() {
        let at: Instant = "2026-12-01T02:00:00Z".parse().unwrap();
        let d = key_digest("k-123");
        assert_eq!(d.len(), 64);
        assert_ne!(d, key_digest("k-124"));
        assert_eq!(d, key_digest(" k-123 "), "typed with spaces, the same key");
        let register = ClientCommand::Register {
            name: "城市通".into(),
            contact: "县大数据中心 0571-1234567".into(),
            channel: Channel::App,
            key_digest: d.clone(),
            key_hint: "-123".into(),
        };
        let mut dispatcher = admin();
        dispatcher.role = Role::Dispatcher;
        assert!(run::<Open311Client>(None, register.clone(), &dispatcher, at).is_err());
        let c: Open311Client = run(None, register.clone(), &admin(), at).unwrap();
        assert!(c.active());
        assert_eq!(c.index(), vec![("key", d)]);
        let mut hotline = register.clone();
        if let ClientCommand::Register { channel, .. } = &mut hotline {
            *channel = Channel::Hotline;
        }
        assert!(run::<Open311Client>(None, hotline, &admin(), at).is_err());
        let revoke = ClientCommand::Revoke {
            reason: "密钥泄露".into(),
        };
        let c = run(Some(&c), revoke.clone(), &admin(), at).unwrap();
        assert!(!c.active());
        assert!(run(Some(&c), revoke, &admin(), at).is_err(), "once");
    }

    #[test]
    fn a_citizens_word_is_read_in_either_case() {
        assert_eq!(citizen_says("OPEN"), Some(CitizenSays::StillOpen));
        assert_eq!(citizen_says("closed"), Some(CitizenSays::Fixed));
        assert_eq!(citizen_says("Fixed"), Some(CitizenSays::Fixed));
        assert_eq!(citizen_says("maybe"), None);
    }
}
