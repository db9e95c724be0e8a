//! The access and audit log: one port ([`AuditStore`]), one table in each backend.

use async_trait::async_trait;
use bihuan_domain::appeal::UserId;
use bihuan_domain::time::Instant;
use serde::Serialize;

use crate::Result;

/// One line of the audit log. `target` and `detail` never hold personal data: an appeal number,
/// a login, a setting's name, a count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub at: Instant,
    pub user: Option<UserId>,
    /// The login that acted (or tried to: a failed login's name as typed, cut to 100 characters).
    pub login: String,
    /// `login`, `login_failed`, `login_throttled`, `view_personal`, `export`, `admin_change`.
    pub action: String,
    pub target: String,
    /// The client's address, where known.
    pub address: String,
    pub detail: String,
}

/// Which lines to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub login: Option<String>,
    /// At or after.
    pub from: Option<Instant>,
    /// Before.
    pub to: Option<Instant>,
    /// Only lines with a smaller id (the next page).
    pub before: Option<u64>,
    pub limit: u32,
}

/// The largest page of the audit log.
pub const MAX_AUDIT_PAGE: u32 = 1_000;

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends a line.
    async fn put_audit(&self, entry: AuditEntry) -> Result<()>;
    /// Lines matching `q`, newest first, each with its id.
    async fn audit(&self, q: AuditQuery) -> Result<Vec<(u64, AuditEntry)>>;
}
