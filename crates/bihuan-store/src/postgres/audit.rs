//! [`AuditStore`] on PostgreSQL.

use async_trait::async_trait;
use bihuan_domain::appeal::UserId;

use super::{from_secs, PgStore};
use crate::audit::{AuditEntry, AuditQuery, AuditStore, MAX_AUDIT_PAGE};
use crate::query::secs;
use crate::Result;

#[async_trait]
impl AuditStore for PgStore {
    async fn put_audit(&self, e: AuditEntry) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO audit_log (at, user_id, login, action, target, address, detail)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &secs(e.at),
                    &e.user.map(|u| u.0 as i64),
                    &e.login,
                    &e.action,
                    &e.target,
                    &e.address,
                    &e.detail,
                ],
            )
            .await?;
        Ok(())
    }

    async fn audit(&self, q: AuditQuery) -> Result<Vec<(u64, AuditEntry)>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, at, user_id, login, action, target, address, detail FROM audit_log
                 WHERE ($1::TEXT IS NULL OR action = $1) AND ($2::TEXT IS NULL OR login = $2)
                   AND ($3::BIGINT IS NULL OR at >= $3) AND ($4::BIGINT IS NULL OR at < $4)
                   AND ($5::BIGINT IS NULL OR id < $5)
                 ORDER BY id DESC LIMIT $6",
                &[
                    &q.action,
                    &q.login,
                    &q.from.map(secs),
                    &q.to.map(secs),
                    &q.before.map(|b| b as i64),
                    &(q.limit.min(MAX_AUDIT_PAGE) as i64),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<_, i64>(0) as u64,
                    AuditEntry {
                        at: from_secs(r.get(1)),
                        user: r.get::<_, Option<i64>>(2).map(|u| UserId(u as u32)),
                        login: r.get(3),
                        action: r.get(4),
                        target: r.get(5),
                        address: r.get(6),
                        detail: r.get(7),
                    },
                )
            })
            .collect())
    }
}
