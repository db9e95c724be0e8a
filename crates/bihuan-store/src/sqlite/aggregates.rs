//! [`AggregateStore`] on SQLite: rows in, rows out; the decision comes from
//! [`crate::aggregates`].

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::{from_secs, SqliteStore};
use crate::aggregates::{AggregateStore, Decide, StoredAggregate, StoredEvent};
use crate::query::secs;
use crate::{Result, StoreError};

fn row(conn: &Connection, kind: &str, id: u64) -> Result<Option<StoredAggregate>> {
    Ok(conn
        .prepare_cached("SELECT version, state FROM aggregates WHERE kind = ? AND id = ?")?
        .query_row(params![kind, id as i64], |r| {
            Ok(StoredAggregate {
                id,
                version: r.get::<_, i64>(0)? as u64,
                json: r.get(1)?,
            })
        })
        .optional()?)
}

#[async_trait]
impl AggregateStore for SqliteStore {
    async fn aggregate(&self, kind: &'static str, id: u64) -> Result<Option<StoredAggregate>> {
        self.read(move |conn| row(conn, kind, id)).await
    }

    async fn aggregate_history(&self, kind: &'static str, id: u64) -> Result<Vec<StoredEvent>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT version, at, actor_user, type, body FROM aggregate_events
                 WHERE kind = ? AND aggregate = ? ORDER BY version",
            )?;
            let rows = stmt.query_map(params![kind, id as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for x in rows {
                let (version, at, user, name, json) = x?;
                out.push(StoredEvent {
                    version: version as u64,
                    at: super::from_secs(at),
                    actor_user: user as u32,
                    name,
                    json,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn write_aggregate(
        &self,
        kind: &'static str,
        id: Option<u64>,
        decide: Decide,
    ) -> Result<StoredAggregate> {
        self.write(move |conn| {
            let current = match id {
                Some(id) => Some(
                    row(conn, kind, id)?
                        .ok_or_else(|| StoreError::not_found(format!("{kind} {id}")))?,
                ),
                None => None,
            };
            // Every refusal happens in here, before anything is written (the writer's rule).
            let decided = decide(current.as_ref())?;
            write_decided(conn, kind, id, decided)
        })
        .await
    }

    /// One write job for them all: every decision first (a refusal writes nothing), then the
    /// rows, committed together.
    async fn create_aggregates(
        &self,
        kind: &'static str,
        decides: Vec<Decide>,
    ) -> Result<Vec<StoredAggregate>> {
        self.write(move |conn| {
            let decided: Vec<crate::aggregates::Decided> = decides
                .into_iter()
                .map(|d| d(None))
                .collect::<Result<_>>()?;
            decided
                .into_iter()
                .map(|d| write_decided(conn, kind, None, d))
                .collect()
        })
        .await
    }

    async fn find_aggregates(
        &self,
        kind: &'static str,
        key: &str,
        value: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StoredAggregate>> {
        let (key, value) = (key.to_string(), value.to_string());
        let limit = limit.min(crate::aggregates::MAX_PAGE) as i64;
        self.read(move |conn| {
            let map = |r: &rusqlite::Row| {
                Ok(StoredAggregate {
                    id: r.get::<_, i64>(0)? as u64,
                    version: r.get::<_, i64>(1)? as u64,
                    json: r.get(2)?,
                })
            };
            let rows: Vec<StoredAggregate> = if key.is_empty() {
                conn.prepare_cached(
                    "SELECT id, version, state FROM aggregates WHERE kind = ? AND id > ?
                     ORDER BY id LIMIT ?",
                )?
                .query_map(params![kind, after as i64, limit], map)?
                .collect::<rusqlite::Result<_>>()?
            } else {
                conn.prepare_cached(
                    "SELECT a.id, a.version, a.state FROM aggregate_index i
                     JOIN aggregates a ON a.kind = i.kind AND a.id = i.aggregate
                     WHERE i.kind = ? AND i.key = ? AND i.value = ? AND i.aggregate > ?
                     ORDER BY i.aggregate LIMIT ?",
                )?
                .query_map(params![kind, key, value, after as i64, limit], map)?
                .collect::<rusqlite::Result<_>>()?
            };
            Ok(rows)
        })
        .await
    }

    async fn count_aggregates(&self, kind: &'static str, key: &str, value: &str) -> Result<u64> {
        let (key, value) = (key.to_string(), value.to_string());
        self.read(move |conn| {
            let n: i64 = if key.is_empty() {
                conn.prepare_cached("SELECT COUNT(*) FROM aggregates WHERE kind = ?")?
                    .query_row([kind], |r| r.get(0))?
            } else {
                conn.prepare_cached(
                    "SELECT COUNT(*) FROM aggregate_index WHERE kind = ? AND key = ? AND value = ?",
                )?
                .query_row(params![kind, key, value], |r| r.get(0))?
            };
            Ok(n as u64)
        })
        .await
    }

    async fn aggregates_by_ids(
        &self,
        kind: &'static str,
        ids: &[u64],
    ) -> Result<Vec<StoredAggregate>> {
        let ids = serde_json::to_string(ids).map_err(|e| StoreError::Internal(e.to_string()))?;
        self.read(move |conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT id, version, state FROM aggregates
                     WHERE kind = ? AND id IN (SELECT value FROM json_each(?))",
                )?
                .query_map(params![kind, ids], |r| {
                    Ok(StoredAggregate {
                        id: r.get::<_, i64>(0)? as u64,
                        version: r.get::<_, i64>(1)? as u64,
                        json: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    async fn tally_aggregates(
        &self,
        kind: &'static str,
        key: &str,
        prefix: &str,
    ) -> Result<Vec<(String, u64)>> {
        let (key, low) = (key.to_string(), prefix.to_string());
        // Every value starting with the prefix sorts below the prefix and the last character.
        let high = format!("{prefix}\u{10FFFF}");
        self.read(move |conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT value, COUNT(*) FROM aggregate_index
                     WHERE kind = ? AND key = ? AND value >= ? AND value < ?
                     GROUP BY value",
                )?
                .query_map(params![kind, key, low, high], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    async fn index_version(&self, kind: &'static str) -> Result<Option<u32>> {
        self.read(move |conn| {
            let v: Option<String> = conn
                .prepare_cached("SELECT value FROM meta WHERE key = ?")?
                .query_row([crate::aggregates::index_version_key(kind)], |r| r.get(0))
                .optional()?;
            Ok(v.and_then(|v| v.parse().ok()))
        })
        .await
    }

    async fn replace_index(
        &self,
        kind: &'static str,
        rows: Vec<crate::aggregates::IndexRows>,
        built: Option<u32>,
    ) -> Result<()> {
        self.write(move |conn| {
            for (id, version, index) in &rows {
                if row(conn, kind, *id)?.map(|r| r.version) != Some(*version) {
                    continue;
                }
                replace_rows(conn, kind, *id, index)?;
            }
            if let Some(v) = built {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![crate::aggregates::index_version_key(kind), v.to_string()],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn aggregate_file(
        &self,
        kind: &'static str,
        id: u64,
        sha256: &str,
    ) -> Result<Option<(crate::aggregates::StoredFile, Vec<u8>)>> {
        let sha = sha256.to_string();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT mime, size, uploaded_by, at, data FROM aggregate_files
                     WHERE kind = ? AND aggregate = ? AND sha256 = ?",
                )?
                .query_row(params![kind, id as i64, sha], |r| {
                    Ok((
                        crate::aggregates::StoredFile {
                            sha256: sha.clone(),
                            mime: r.get(0)?,
                            size: r.get::<_, i64>(1)? as u64,
                            uploaded_by: r.get::<_, i64>(2)? as u32,
                            at: from_secs(r.get(3)?),
                        },
                        r.get::<_, Vec<u8>>(4)?,
                    ))
                })
                .optional()?)
        })
        .await
    }
}

/// Writes a decided aggregate: allocates the id of a new one, then its row, its events and its
/// index entries.
fn write_decided(
    conn: &rusqlite::Connection,
    kind: &'static str,
    id: Option<u64>,
    mut decided: crate::aggregates::Decided,
) -> Result<StoredAggregate> {
    let files = std::mem::take(&mut decided.files);
    let id = match id {
        Some(id) => id,
        None => conn
            .prepare_cached(
                "INSERT INTO aggregate_ids (kind, last) VALUES (?, 1)
                     ON CONFLICT(kind) DO UPDATE SET last = last + 1 RETURNING last",
            )?
            .query_row([kind], |r| r.get::<_, i64>(0))? as u64,
    };
    let (created, updated) = (secs(decided.created_at), secs(decided.updated_at));
    let (stored, events, index) = decided.with_id(id)?;
    conn.prepare_cached(
        "INSERT INTO aggregates (kind, id, version, created_at, updated_at, state)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT(kind, id) DO UPDATE SET version = excluded.version,
                 updated_at = excluded.updated_at, state = excluded.state",
    )?
    .execute(params![
        kind,
        id as i64,
        stored.version as i64,
        created,
        updated,
        stored.json
    ])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO aggregate_events (kind, aggregate, version, at, actor_user, type, body)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?;
    for e in &events {
        insert.execute(params![
            kind,
            id as i64,
            e.version as i64,
            secs(e.at),
            e.actor_user as i64,
            e.name,
            e.json
        ])?;
    }
    replace_rows(conn, kind, id, &index)?;
    let mut put = conn.prepare_cached(
        "INSERT INTO aggregate_files (kind, aggregate, sha256, mime, size, data, uploaded_by, at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )?;
    for f in files {
        put.execute(params![
            kind,
            id as i64,
            f.sha256,
            f.mime,
            f.data.len() as i64,
            f.data,
            f.uploaded_by as i64,
            secs(f.at)
        ])?;
    }
    Ok(stored)
}

/// Replaces aggregate `id`'s index rows with `index`.
fn replace_rows(
    conn: &Connection,
    kind: &str,
    id: u64,
    index: &[(&'static str, String)],
) -> Result<()> {
    conn.prepare_cached("DELETE FROM aggregate_index WHERE kind = ? AND aggregate = ?")?
        .execute(params![kind, id as i64])?;
    let mut add = conn.prepare_cached(
        "INSERT OR IGNORE INTO aggregate_index (kind, key, value, aggregate) VALUES (?, ?, ?, ?)",
    )?;
    for (k, v) in index {
        add.execute(params![kind, k, v, id as i64])?;
    }
    Ok(())
}
