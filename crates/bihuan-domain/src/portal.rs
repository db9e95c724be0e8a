//! The citizen portal's query codes (一平台集成汇聚, the web channel; 信访工作条例 Art 21): a citizen
//! who submits an appeal on the public page gets its number and a query code, and later looks up
//! its progress and rates the reply with the two. The code itself is never stored, only its
//! digest, so a copy of the database does not reveal it.
//!
//! A ticket is an [`Aggregate`] kept in the generic tables, found by the appeal's number.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::aggregate::Aggregate;
use crate::appeal::{AppealId, AppealNumber};
use crate::error::DomainError;
use crate::lifecycle::{Actor, Context, Role};
use crate::time::Instant;

/// How many digits a query code has.
pub const CODE_DIGITS: usize = 8;

/// The digest kept for a code: SHA-256 over the number and the code, hex.
pub fn code_digest(number: AppealNumber, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"bihuan-portal-query-code:");
    h.update(number.to_string().as_bytes());
    h.update(b":");
    h.update(code.trim().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two secrets' digests are equal, compared in constant time (no early exit that a
/// timing could reveal).
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether `code` is the code of `ticket` (compared in constant time).
pub fn code_matches(ticket: &PortalTicket, code: &str) -> bool {
    same_secret(&code_digest(ticket.number, code), &ticket.code_digest)
}

/// Whether a typed code has the form of one (so a mistyped one gets a clear message).
pub fn code_well_formed(code: &str) -> bool {
    let c = code.trim();
    c.len() == CODE_DIGITS && c.bytes().all(|b| b.is_ascii_digit())
}

/// The query code of one appeal submitted on the portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalTicket {
    pub appeal: AppealId,
    pub number: AppealNumber,
    pub code_digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortalCommand {
    /// Issued once, when the appeal is registered from the portal.
    Issue {
        appeal: AppealId,
        number: AppealNumber,
        code_digest: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PortalEvent {
    Issued {
        appeal: AppealId,
        number: AppealNumber,
        code_digest: String,
    },
}

impl Aggregate for PortalTicket {
    const KIND: &'static str = "portal_ticket";
    type Command = PortalCommand;
    type Event = PortalEvent;

    fn decide(
        state: Option<&Self>,
        command: &PortalCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<PortalEvent>, DomainError> {
        crate::aggregate::require_role(actor, &[Role::System], "issue_query_code")?;
        match (state, command) {
            (
                None,
                PortalCommand::Issue {
                    appeal,
                    number,
                    code_digest,
                },
            ) => {
                if code_digest.len() != 64 {
                    return Err(DomainError::invalid("code_digest", "查询码摘要格式不对"));
                }
                Ok(vec![PortalEvent::Issued {
                    appeal: *appeal,
                    number: *number,
                    code_digest: code_digest.clone(),
                }])
            }
            (Some(_), PortalCommand::Issue { .. }) => Err(DomainError::invalid(
                "code",
                "这件诉求已有查询码，不能重复生成",
            )),
        }
    }

    fn apply(_state: Option<Self>, event: &PortalEvent, _at: Instant) -> Self {
        match event {
            PortalEvent::Issued {
                appeal,
                number,
                code_digest,
            } => PortalTicket {
                appeal: *appeal,
                number: *number,
                code_digest: code_digest.clone(),
            },
        }
    }

    fn event_name(event: &PortalEvent) -> &'static str {
        match event {
            PortalEvent::Issued { .. } => "issued",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![("number", self.number.to_string())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_only_its_own_number() {
        let n = AppealNumber::new(2026, 12, 7).unwrap();
        let other = AppealNumber::new(2026, 12, 8).unwrap();
        let t = PortalTicket {
            appeal: AppealId(7),
            number: n,
            code_digest: code_digest(n, "12345678"),
        };
        assert!(code_matches(&t, "12345678"));
        assert!(code_matches(&t, " 12345678 "));
        assert!(!code_matches(&t, "12345679"));
        assert_ne!(code_digest(n, "12345678"), code_digest(other, "12345678"));
        assert!(code_well_formed("00000000"));
        assert!(!code_well_formed("1234567") && !code_well_formed("1234567a"));
    }
}
