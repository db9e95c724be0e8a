//! [`AuditStore`] on SQLite.

use async_trait::async_trait;
use bihuan_domain::appeal::UserId;
use rusqlite::params;

use super::{from_secs, SqliteStore};
use crate::audit::{AuditEntry, AuditQuery, AuditStore, MAX_AUDIT_PAGE};
use crate::query::secs;
use crate::Result;

#[async_trait]
impl AuditStore for SqliteStore {
    async fn put_audit(&self, e: AuditEntry) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO audit_log (at, user_id, login, action, target, address, detail)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )?
            .execute(params![
                secs(e.at),
                e.user.map(|u| u.0 as i64),
                e.login,
                e.action,
                e.target,
                e.address,
                e.detail
            ])?;
            Ok(())
        })
        .await
    }

    async fn audit(&self, q: AuditQuery) -> Result<Vec<(u64, AuditEntry)>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, at, user_id, login, action, target, address, detail FROM audit_log
                 WHERE (?1 IS NULL OR action = ?1) AND (?2 IS NULL OR login = ?2)
                   AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4)
                   AND (?5 IS NULL OR id < ?5)
                 ORDER BY id DESC LIMIT ?6",
            )?;
            let rows = stmt.query_map(
                params![
                    q.action,
                    q.login,
                    q.from.map(secs),
                    q.to.map(secs),
                    q.before.map(|b| b as i64),
                    q.limit.min(MAX_AUDIT_PAGE) as i64
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        AuditEntry {
                            at: from_secs(r.get(1)?),
                            user: r.get::<_, Option<i64>>(2)?.map(|u| UserId(u as u32)),
                            login: r.get(3)?,
                            action: r.get(4)?,
                            target: r.get(5)?,
                            address: r.get(6)?,
                            detail: r.get(7)?,
                        },
                    ))
                },
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }
}
