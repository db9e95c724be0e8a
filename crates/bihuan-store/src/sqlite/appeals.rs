//! SQLite: Appeals: registration, actions (a merge included), reads, lists and counts, imports, and the change feed. The port is [`crate::AppealStore`]; the
//! other backend has a file of the same name.

use super::*;
use rusqlite::types::Value;

#[async_trait]
impl AppealStore for SqliteStore {
    async fn register(
        &self,
        new: NewAppeal,
        actor: Actor,
        at: Instant,
        idempotency_key: Option<String>,
    ) -> Result<Registered> {
        let catalog = self.catalog.clone();
        self.write_in_batch(
            move |conn, batch| {
                if let Some(key) = &idempotency_key {
                    let existing: Option<Value> = conn
                        .prepare_cached("SELECT state FROM appeals WHERE idempotency_key = ?")?
                        .query_row([key], |r| r.get(0))
                        .optional()?;
                    if let Some(stored) = existing {
                        return Ok(Registered {
                            appeal: codec::state_of((&stored).into())?,
                            created: false,
                        });
                    }
                }
                let cat = catalog.read().map_err(internal)?.clone();
                crate::check_new_appeal(&cat, &new)?;
                // Decided before a number is taken: a refused registration leaves no gap.
                let prepared = Appeal::prepare_registration(new, &actor, at, cat.ctx())?;
                let id: i64 = conn
                    .prepare_cached("SELECT COALESCE(MAX(id), 0) + 1 FROM appeals")?
                    .query_row([], |r| r.get(0))?;
                let number = next_number(conn, batch, at)?;
                let (appeal, record) = prepared.complete(AppealId(id as u64), number);
                save_appeal(conn, &appeal, idempotency_key.as_deref())?;
                insert_events(conn, &[record])?;
                let mut delta = crate::rollups::Delta::default();
                rollups_after_write(conn, &cat.calendar, None, &appeal, &mut delta)?;
                batch.defer_rollups(delta);
                Ok(Registered {
                    appeal,
                    created: true,
                })
            },
            |_| {},
        )
        .await
    }

    async fn act(
        &self,
        appeal: AppealRef,
        command: Command,
        actor: Actor,
        at: Instant,
        expected_version: Option<u64>,
    ) -> Result<Appeal> {
        let catalog = self.catalog.clone();
        self.write_in_batch(
            move |conn, batch| {
                let cat = catalog.read().map_err(internal)?.clone();
                let current = read_appeal(conn, &appeal)?;
                crate::check_named_units(&cat, &command)?;
                if let Command::Merge { into } = &command {
                    // The master is read here, inside the transaction, not trusted from the client.
                    let master = read_appeal(conn, &AppealRef::Id(into.id))?;
                    let master_ref = MasterRef {
                        id: master.id,
                        number: master.number,
                        status: master.status,
                    };
                    let cmd = Command::Merge { into: master_ref };
                    let (next, records) =
                        current.handle(&cmd, &actor, at, expected_version, cat.ctx())?;
                    let link = Command::LinkDuplicate {
                        duplicate: current.id,
                        number: current.number,
                    };
                    let at_master = at.max(master.last_at);
                    let (master_next, master_records) =
                        master.handle(&link, &actor, at_master, None, cat.ctx())?;
                    save_appeal(conn, &next, None)?;
                    insert_events(conn, &records)?;
                    save_appeal(conn, &master_next, None)?;
                    insert_events(conn, &master_records)?;
                    let mut delta = crate::rollups::Delta::default();
                    rollups_after_write(conn, &cat.calendar, Some(&current), &next, &mut delta)?;
                    rollups_after_write(
                        conn,
                        &cat.calendar,
                        Some(&master),
                        &master_next,
                        &mut delta,
                    )?;
                    batch.defer_rollups(delta);
                    return Ok(next);
                }
                let (next, records) =
                    current.handle(&command, &actor, at, expected_version, cat.ctx())?;
                save_appeal(conn, &next, None)?;
                insert_events(conn, &records)?;
                let mut delta = crate::rollups::Delta::default();
                rollups_after_write(conn, &cat.calendar, Some(&current), &next, &mut delta)?;
                batch.defer_rollups(delta);
                Ok(next)
            },
            |_| {},
        )
        .await
    }

    async fn request_review(
        &self,
        appeal: AppealId,
        request: ReviewRequest,
        reviewer: UnitId,
        actor: Actor,
        at: Instant,
        expected_version: Option<u64>,
    ) -> Result<ReviewOpened> {
        let catalog = self.catalog.clone();
        self.write_in_batch(
            move |conn, batch| {
                let cat = catalog.read().map_err(internal)?.clone();
                crate::decide::check_reviewer(&cat, reviewer)?;
                let current = read_appeal(conn, &AppealRef::Id(appeal))?;
                let prepared = current.prepare_review(
                    &request,
                    reviewer,
                    &actor,
                    at,
                    expected_version,
                    cat.ctx(),
                )?;
                let id: i64 = conn
                    .prepare_cached("SELECT COALESCE(MAX(id), 0) + 1 FROM appeals")?
                    .query_row([], |r| r.get(0))?;
                let number = next_number(conn, batch, at)?;
                let w = prepared.complete(AppealId(id as u64), number);
                let mut delta = crate::rollups::Delta::default();
                save_appeal(conn, &w.original.0, None)?;
                insert_events(conn, &w.original.1)?;
                rollups_after_write(
                    conn,
                    &cat.calendar,
                    Some(&current),
                    &w.original.0,
                    &mut delta,
                )?;
                save_appeal(conn, &w.review.0, None)?;
                insert_events(conn, &w.review.1)?;
                rollups_after_write(conn, &cat.calendar, None, &w.review.0, &mut delta)?;
                batch.defer_rollups(delta);
                Ok(ReviewOpened {
                    reviewed: w.original.0,
                    review: w.review.0,
                })
            },
            |_| {},
        )
        .await
    }

    async fn appeal(&self, appeal: AppealRef) -> Result<Appeal> {
        self.read(move |conn| read_appeal(conn, &appeal)).await
    }

    async fn history(&self, appeal: AppealId) -> Result<Vec<EventRecord>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT body FROM events WHERE appeal_id = ? ORDER BY version")?;
            let rows = stmt
                .query_map([appeal.0 as i64], |r| r.get::<_, Value>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if rows.is_empty() {
                return Err(StoreError::not_found(format!("appeal {}", appeal.0)));
            }
            rows.iter().map(|b| codec::event_of(b.into())).collect()
        })
        .await
    }

    async fn list(&self, filter: AppealFilter, cursor: Option<String>, limit: u32) -> Result<Page> {
        let catalog = self.catalog();
        let limit = limit.clamp(1, 500);
        self.read(move |conn| list_query(conn, &catalog, &filter, cursor.as_deref(), limit))
            .await
    }

    async fn count(&self, filter: AppealFilter) -> Result<u64> {
        let catalog = self.catalog();
        self.read(move |conn| count_query(conn, &catalog, &filter))
            .await
    }

    async fn count_facts(&self, filter: AppealFilter) -> Result<Option<u64>> {
        let catalog = self.catalog();
        self.read(move |conn| {
            let Some((sql, args)) = crate::query::fact_count_sql(&catalog, &filter, super::IDS_SQL)
            else {
                return Ok(None);
            };
            let n: i64 = conn
                .prepare_cached(&sql)?
                .query_row(params_from_iter(super::sqlite_args(args)), |r| r.get(0))?;
            Ok(Some(n as u64))
        })
        .await
    }

    async fn count_by_status(&self) -> Result<Vec<(Status, u64)>> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT status, COUNT(*) FROM appeals GROUP BY status")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(s, n)| Ok((parse_code(&s)?, n as u64)))
                .collect()
        })
        .await
    }

    async fn overdue_ids(&self, now: Instant, limit: u32) -> Result<Vec<AppealId>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM appeals WHERE unsupervised_due < ? ORDER BY unsupervised_due LIMIT ?",
            )?;
            let rows = stmt
                .query_map(params![secs(now), limit as i64], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows.into_iter().map(|i| AppealId(i as u64)).collect())
        })
        .await
    }

    async fn existing_keys(&self, keys: Vec<String>) -> Result<std::collections::HashSet<String>> {
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT 1 FROM appeals WHERE idempotency_key = ?")?;
            let mut found = std::collections::HashSet::new();
            for k in keys {
                if stmt.exists(params![k])? {
                    found.insert(k);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn import_histories(
        &self,
        histories: Vec<(Vec<EventRecord>, Option<String>)>,
    ) -> Result<u64> {
        // Every history is checked (replayed) and encoded before it reaches the writer, on
        // another thread: the writer only writes.
        let prepared = tokio::task::spawn_blocking(move || {
            histories
                .into_iter()
                .map(|(history, key)| {
                    let appeal = Appeal::from_history(&history)
                        .map_err(|e| StoreError::invalid(ErrorCode::BadHistory, e))?;
                    Ok(Prepared {
                        state: codec::state_blob(&appeal)?,
                        bodies: history
                            .iter()
                            .map(codec::event_blob)
                            .collect::<Result<_>>()?,
                        appeal,
                        history,
                        key,
                    })
                })
                .collect::<Result<Vec<_>>>()
        })
        .await
        .map_err(internal)??;
        let catalog = self.catalog.clone();
        let (bulk_in_job, bulk_after) = (self.bulk.clone(), self.bulk.clone());
        let (n, kept) = self
            .write_in_batch(
                move |conn, batch| {
                    let cal = catalog.read().map_err(internal)?.calendar.clone();
                    let mut delta = crate::rollups::Delta::default();
                    for p in &prepared {
                        save_encoded_appeal(conn, &p.appeal, &p.state, p.key.as_deref())?;
                        insert_encoded_events(conn, &p.history, &p.bodies)?;
                        rollups_after_write(conn, &cal, None, &p.appeal, &mut delta)?;
                    }
                    let n = prepared.len() as u64;
                    if bulk_in_job.lock().map_err(internal)?.is_some() {
                        // A bulk load: its sums join the load's once this commits (below).
                        Ok((n, Mutex::new(Some(delta))))
                    } else {
                        batch.defer_rollups(delta);
                        Ok((n, Mutex::new(None)))
                    }
                },
                // On the writer thread, right after the commit, so a caller that stops waiting
                // cannot lose them.
                move |(_, kept)| {
                    if let (Ok(mut bulk), Ok(mut kept)) = (bulk_after.lock(), kept.lock()) {
                        if let (Some(b), Some(d)) = (bulk.as_mut(), kept.take()) {
                            b.merge(d);
                        }
                    }
                },
            )
            .await?;
        // The load ended before this batch committed: its sums are written now.
        let left = kept.into_inner().map_err(internal)?;
        if let Some(delta) = left {
            self.write(move |conn| flush_rollups(conn, delta)).await?;
        }
        Ok(n)
    }

    async fn begin_bulk(&self) -> Result<()> {
        // Stale until the load's sums are written: a process that stops first leaves the next
        // open to rebuild them.
        self.write(|conn| mark_rollups(conn, BULK_LOAD)).await?;
        let mut bulk = self.bulk.lock().map_err(internal)?;
        if bulk.is_none() {
            *bulk = Some(Default::default());
        }
        Ok(())
    }

    async fn finish_bulk(&self) -> Result<()> {
        let Some(delta) = self.bulk.lock().map_err(internal)?.take() else {
            return Ok(());
        };
        self.write(move |conn| {
            flush_rollups(conn, delta)?;
            mark_rollups(conn, bihuan_domain::rollup::FACTS_VERSION)
        })
        .await
    }

    async fn allocate_numbers(&self, year: i32, month: u32, count: u32) -> Result<Vec<u32>> {
        self.write_in_batch(
            move |conn, batch| reserve_numbers(conn, batch, year, month, count),
            |_| {},
        )
        .await
    }

    async fn next_appeal_id(&self) -> Result<AppealId> {
        self.read(|conn| {
            let id: i64 = conn
                .prepare_cached("SELECT COALESCE(MAX(id), 0) + 1 FROM appeals")?
                .query_row([], |r| r.get(0))?;
            Ok(AppealId(id as u64))
        })
        .await
    }

    async fn changes_since(&self, after: u64, limit: u32) -> Result<Vec<crate::Change>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, appeal_id, version FROM events WHERE id > ? ORDER BY id LIMIT ?",
            )?;
            let rows = stmt
                .query_map(params![after as i64, limit as i64], |r| {
                    Ok(crate::Change {
                        event: r.get::<_, i64>(0)? as u64,
                        appeal: AppealId(r.get::<_, i64>(1)? as u64),
                        version: r.get::<_, i64>(2)? as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}

/// A history checked and encoded for the writer (`import_histories`).
struct Prepared {
    appeal: Appeal,
    state: Vec<u8>,
    history: Vec<EventRecord>,
    bodies: Vec<Vec<u8>>,
    key: Option<String>,
}
