//! [`AggregateStore`] on PostgreSQL: rows in, rows out; the decision comes from
//! [`crate::aggregates`].

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::types::Json;

use super::{boxed, from_secs, PgStore};
use crate::aggregates::{AggregateStore, Decide, StoredAggregate, StoredEvent};
use crate::query::secs;
use crate::{Result, StoreError};

fn stored(id: i64, version: i64, state: Json<serde_json::Value>) -> StoredAggregate {
    StoredAggregate {
        id: id as u64,
        version: version as u64,
        json: state.0.to_string(),
    }
}

async fn row(
    c: &impl GenericClient,
    kind: &str,
    id: u64,
    lock: bool,
) -> Result<Option<StoredAggregate>> {
    let sql = if lock {
        "SELECT id, version, state FROM aggregates WHERE kind = $1 AND id = $2 FOR UPDATE"
    } else {
        "SELECT id, version, state FROM aggregates WHERE kind = $1 AND id = $2"
    };
    let st = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&st, &[&kind, &(id as i64)])
        .await?
        .map(|r| stored(r.get(0), r.get(1), r.get(2))))
}

/// Writes a decided aggregate in `tx`: its row (allocating an id for a creation), its events
/// and its index rows.
async fn write_decided(
    tx: &deadpool_postgres::Transaction<'_>,
    kind: &'static str,
    id: Option<u64>,
    mut decided: crate::aggregates::Decided,
) -> Result<StoredAggregate> {
    let files = std::mem::take(&mut decided.files);
    let id = match id {
        Some(id) => id,
        None => {
            let st = tx
                .prepare_cached(
                    "INSERT INTO aggregate_ids (kind, last) VALUES ($1, 1)
                         ON CONFLICT (kind) DO UPDATE SET last = aggregate_ids.last + 1
                         RETURNING last",
                )
                .await?;
            tx.query_one(&st, &[&kind]).await?.get::<_, i64>(0) as u64
        }
    };
    let (created, updated) = (secs(decided.created_at), secs(decided.updated_at));
    let (out, events, index) = decided.with_id(id)?;
    let state: serde_json::Value = serde_json::from_str(&out.json)?;
    let st = tx
        .prepare_cached(
            "INSERT INTO aggregates (kind, id, version, created_at, updated_at, state)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (kind, id) DO UPDATE SET version = EXCLUDED.version,
                     updated_at = EXCLUDED.updated_at, state = EXCLUDED.state",
        )
        .await?;
    tx.execute(
        &st,
        &[
            &kind,
            &(id as i64),
            &(out.version as i64),
            &created,
            &updated,
            &Json(&state),
        ],
    )
    .await?;
    let st = tx
        .prepare_cached(
            "INSERT INTO aggregate_events (kind, aggregate, version, at, actor_user, type, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    for e in &events {
        let body: serde_json::Value = serde_json::from_str(&e.json)?;
        tx.execute(
            &st,
            &[
                &kind,
                &(id as i64),
                &(e.version as i64),
                &secs(e.at),
                &(e.actor_user as i64),
                &e.name,
                &Json(&body),
            ],
        )
        .await?;
    }
    replace_rows(tx, kind, id, &index).await?;
    if !files.is_empty() {
        let st = tx
            .prepare_cached(
                "INSERT INTO aggregate_files (kind, aggregate, sha256, mime, size, data, uploaded_by, at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            )
            .await?;
        for f in &files {
            tx.execute(
                &st,
                &[
                    &kind,
                    &(id as i64),
                    &f.sha256,
                    &f.mime,
                    &(f.data.len() as i64),
                    &f.data,
                    &(f.uploaded_by as i64),
                    &secs(f.at),
                ],
            )
            .await?;
        }
    }
    Ok(out)
}

/// Replaces aggregate `id`'s index rows with `index`.
async fn replace_rows(
    tx: &deadpool_postgres::Transaction<'_>,
    kind: &str,
    id: u64,
    index: &[(&'static str, String)],
) -> Result<()> {
    tx.execute(
        "DELETE FROM aggregate_index WHERE kind = $1 AND aggregate = $2",
        &[&kind, &(id as i64)],
    )
    .await?;
    let st = tx
        .prepare_cached(
            "INSERT INTO aggregate_index (kind, key, value, aggregate)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .await?;
    for (k, v) in index {
        tx.execute(&st, &[&kind, k, v, &(id as i64)]).await?;
    }
    Ok(())
}

#[async_trait]
impl AggregateStore for PgStore {
    async fn aggregate(&self, kind: &'static str, id: u64) -> Result<Option<StoredAggregate>> {
        let client = self.pool.get().await?;
        row(&client, kind, id, false).await
    }

    async fn aggregate_history(&self, kind: &'static str, id: u64) -> Result<Vec<StoredEvent>> {
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached(
                "SELECT version, at, actor_user, type, body FROM aggregate_events
                 WHERE kind = $1 AND aggregate = $2 ORDER BY version",
            )
            .await?;
        Ok(client
            .query(&st, &[&kind, &(id as i64)])
            .await?
            .into_iter()
            .map(|r| StoredEvent {
                version: r.get::<_, i64>(0) as u64,
                at: super::from_secs(r.get(1)),
                actor_user: r.get::<_, i64>(2) as u32,
                name: r.get(3),
                json: r.get::<_, Json<serde_json::Value>>(4).0.to_string(),
            })
            .collect())
    }

    async fn write_aggregate(
        &self,
        kind: &'static str,
        id: Option<u64>,
        decide: Decide,
    ) -> Result<StoredAggregate> {
        self.in_tx(move |tx| {
            boxed(async move {
                let current = match id {
                    Some(id) => Some(
                        row(tx, kind, id, true)
                            .await?
                            .ok_or_else(|| StoreError::not_found(format!("{kind} {id}")))?,
                    ),
                    None => None,
                };
                let decided = decide(current.as_ref())?;
                write_decided(tx, kind, id, decided).await
            })
        })
        .await
    }

    /// One transaction for them all: every decision first (a refusal writes nothing), then
    /// the rows, committed together (a launch's batch of 500 tasks is one commit, not 500).
    async fn create_aggregates(
        &self,
        kind: &'static str,
        decides: Vec<Decide>,
    ) -> Result<Vec<StoredAggregate>> {
        self.in_tx(move |tx| {
            boxed(async move {
                let decided: Vec<crate::aggregates::Decided> = decides
                    .into_iter()
                    .map(|d| d(None))
                    .collect::<Result<_>>()?;
                let mut out = Vec::with_capacity(decided.len());
                for d in decided {
                    out.push(write_decided(tx, kind, None, d).await?);
                }
                Ok(out)
            })
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
        let client = self.pool.get().await?;
        let limit = limit.min(crate::aggregates::MAX_PAGE) as i64;
        let rows = if key.is_empty() {
            let st = client
                .prepare_cached(
                    "SELECT id, version, state FROM aggregates WHERE kind = $1 AND id > $2
                     ORDER BY id LIMIT $3",
                )
                .await?;
            client.query(&st, &[&kind, &(after as i64), &limit]).await?
        } else {
            let st = client
                .prepare_cached(
                    "SELECT a.id, a.version, a.state FROM aggregate_index i
                     JOIN aggregates a ON a.kind = i.kind AND a.id = i.aggregate
                     WHERE i.kind = $1 AND i.key = $2 AND i.value = $3 AND i.aggregate > $4
                     ORDER BY i.aggregate LIMIT $5",
                )
                .await?;
            client
                .query(&st, &[&kind, &key, &value, &(after as i64), &limit])
                .await?
        };
        Ok(rows
            .into_iter()
            .map(|r| stored(r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    async fn count_aggregates(&self, kind: &'static str, key: &str, value: &str) -> Result<u64> {
        let client = self.pool.get().await?;
        let n: i64 = if key.is_empty() {
            client
                .query_one("SELECT COUNT(*) FROM aggregates WHERE kind = $1", &[&kind])
                .await?
                .get(0)
        } else {
            client
                .query_one(
                    "SELECT COUNT(*) FROM aggregate_index WHERE kind = $1 AND key = $2 AND value = $3",
                    &[&kind, &key, &value],
                )
                .await?
                .get(0)
        };
        Ok(n as u64)
    }

    async fn aggregates_by_ids(
        &self,
        kind: &'static str,
        ids: &[u64],
    ) -> Result<Vec<StoredAggregate>> {
        let client = self.pool.get().await?;
        let ids: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        let rows = client
            .query(
                "SELECT id, version, state FROM aggregates WHERE kind = $1 AND id = ANY($2)",
                &[&kind, &ids],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| stored(r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    async fn tally_aggregates(
        &self,
        kind: &'static str,
        key: &str,
        prefix: &str,
    ) -> Result<Vec<(String, u64)>> {
        let client = self.pool.get().await?;
        // `starts_with`, not a range: the column's collation need not sort by code point.
        let rows = client
            .query(
                "SELECT value, COUNT(*) FROM aggregate_index
                 WHERE kind = $1 AND key = $2 AND starts_with(value, $3)
                 GROUP BY value",
                &[&kind, &key, &prefix],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    async fn index_version(&self, kind: &'static str) -> Result<Option<u32>> {
        let client = self.pool.get().await?;
        let v: Option<String> = client
            .query_opt(
                "SELECT value FROM meta WHERE key = $1",
                &[&crate::aggregates::index_version_key(kind)],
            )
            .await?
            .map(|r| r.get(0));
        Ok(v.and_then(|v| v.parse().ok()))
    }

    async fn replace_index(
        &self,
        kind: &'static str,
        rows: Vec<crate::aggregates::IndexRows>,
        built: Option<u32>,
    ) -> Result<()> {
        self.in_tx(move |tx| {
            boxed(async move {
                for (id, version, index) in &rows {
                    // Locked, so a write that comes meanwhile waits and then writes its own.
                    if row(tx, kind, *id, true).await?.map(|r| r.version) != Some(*version) {
                        continue;
                    }
                    replace_rows(tx, kind, *id, index).await?;
                }
                if let Some(v) = built {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ($1, $2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        &[&crate::aggregates::index_version_key(kind), &v.to_string()],
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn aggregate_file(
        &self,
        kind: &'static str,
        id: u64,
        sha256: &str,
    ) -> Result<Option<(crate::aggregates::StoredFile, Vec<u8>)>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT mime, size, uploaded_by, at, data FROM aggregate_files
                 WHERE kind = $1 AND aggregate = $2 AND sha256 = $3",
                &[&kind, &(id as i64), &sha256],
            )
            .await?;
        Ok(row.map(|r| {
            (
                crate::aggregates::StoredFile {
                    sha256: sha256.to_string(),
                    mime: r.get(0),
                    size: r.get::<_, i64>(1) as u64,
                    uploaded_by: r.get::<_, i64>(2) as u32,
                    at: from_secs(r.get(3)),
                },
                r.get(4),
            )
        }))
    }
}
