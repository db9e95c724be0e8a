//! PostgreSQL: Appeals: registration, actions (a merge included), reads, lists and counts, imports, and the change feed. The port is [`crate::AppealStore`]; the
//! other backend has a file of the same name.

use super::*;

#[async_trait]
impl AppealStore for PgStore {
    async fn register(
        &self,
        new: NewAppeal,
        actor: Actor,
        at: Instant,
        idempotency_key: Option<String>,
    ) -> Result<Registered> {
        let cat = self.catalog();
        crate::check_new_appeal(&cat, &new)?;
        let existing = |key: String| async move {
            let client = self.pool.get().await?;
            let row = client
                .query_opt(
                    "SELECT state FROM appeals WHERE idempotency_key = $1",
                    &[&key],
                )
                .await?;
            Ok::<_, StoreError>(row.map(|r| r.get::<_, Json<Appeal>>(0).0))
        };
        if let Some(key) = &idempotency_key {
            if let Some(appeal) = existing(key.clone()).await? {
                return Ok(Registered {
                    appeal,
                    created: false,
                });
            }
        }
        // Decided before a number is taken: a refused registration leaves no gap. (A sequence
        // value is not given back by a rollback, so a storage failure after `nextval`, or two
        // requests racing with one idempotency key, can still leave one.)
        let prepared = Appeal::prepare_registration(new, &actor, at, cat.ctx())?;
        let d = local_date(at);
        let seq = self.ensure_month(d.year(), d.month()).await?;
        let key = idempotency_key.clone();
        let out = self
            .in_tx(move |tx| {
                boxed(async move {
                    // The id and the month's number in one prepared round trip.
                    let st = tx
                        .prepare_cached(
                            "SELECT nextval('appeal_ids'), nextval(($1::TEXT)::REGCLASS)",
                        )
                        .await?;
                    let row = tx.query_one(&st, &[&seq]).await.map_err(|e| {
                        if e.code() == Some(&SqlState::SEQUENCE_GENERATOR_LIMIT_EXCEEDED) {
                            StoreError::invalid(
                                ErrorCode::NumberExhausted,
                                "本月工单编号已用尽（每月最多999999件）",
                            )
                        } else {
                            e.into()
                        }
                    })?;
                    let id: i64 = row.get(0);
                    let seq_no = row.get::<_, i64>(1) as u32;
                    let number = AppealNumber::new(d.year() as u16, d.month() as u8, seq_no)
                        .ok_or_else(|| {
                            StoreError::invalid(ErrorCode::NumberExhausted, "本月工单编号已用尽")
                        })?;
                    let (appeal, record) = prepared.complete(AppealId(id as u64), number);
                    save_appeal(tx, &appeal, key.as_deref()).await?;
                    insert_events(tx, &[record]).await?;
                    let mut delta = crate::rollups::Delta::default();
                    rollups_after_write_pg(tx, &cat.calendar, None, &appeal, &mut delta).await?;
                    flush_rollups_pg(tx, delta).await?;
                    Ok(appeal)
                })
            })
            .await;
        match out {
            Ok(appeal) => Ok(Registered {
                appeal,
                created: true,
            }),
            // The same key registered at the same moment by another request (or server): the
            // unique index let one through; answer with that one.
            Err(StoreError::Conflict {
                code: ErrorCode::Duplicate,
                message,
            }) if idempotency_key.is_some() => {
                match existing(idempotency_key.unwrap_or_default()).await? {
                    Some(appeal) => Ok(Registered {
                        appeal,
                        created: false,
                    }),
                    None => Err(internal(message)),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn act(
        &self,
        appeal: AppealRef,
        command: Command,
        actor: Actor,
        at: Instant,
        expected_version: Option<u64>,
    ) -> Result<Appeal> {
        let cat = self.catalog();
        crate::check_named_units(&cat, &command)?;
        self.in_tx(move |tx| {
            boxed(async move {
                if let Command::Merge { into } = &command {
                    // Both rows locked in id order, so that two crossing merges cannot deadlock.
                    let this = read_appeal(tx, &appeal, false).await?;
                    let mut ids = [this.id.0 as i64, into.id.0 as i64];
                    ids.sort_unstable();
                    tx.execute(
                        "SELECT 1 FROM appeals WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                        &[&ids.to_vec()],
                    )
                    .await?;
                    let current = read_appeal(tx, &AppealRef::Id(this.id), false).await?;
                    let master = read_appeal(tx, &AppealRef::Id(into.id), false).await?;
                    let crate::decide::Merge {
                        duplicate: (next, records),
                        master: (master_next, master_records),
                    } = crate::decide::decide_merge(
                        &current,
                        &master,
                        &actor,
                        at,
                        expected_version,
                        cat.ctx(),
                    )?;
                    save_appeal(tx, &next, None).await?;
                    insert_events(tx, &records).await?;
                    save_appeal(tx, &master_next, None).await?;
                    insert_events(tx, &master_records).await?;
                    let mut delta = crate::rollups::Delta::default();
                    rollups_after_write_pg(tx, &cat.calendar, Some(&current), &next, &mut delta)
                        .await?;
                    rollups_after_write_pg(
                        tx,
                        &cat.calendar,
                        Some(&master),
                        &master_next,
                        &mut delta,
                    )
                    .await?;
                    flush_rollups_pg(tx, delta).await?;
                    return Ok(next);
                }
                let current = read_appeal(tx, &appeal, true).await?;
                let (next, records) =
                    current.handle(&command, &actor, at, expected_version, cat.ctx())?;
                save_appeal(tx, &next, None).await?;
                insert_events(tx, &records).await?;
                let mut delta = crate::rollups::Delta::default();
                rollups_after_write_pg(tx, &cat.calendar, Some(&current), &next, &mut delta)
                    .await?;
                flush_rollups_pg(tx, delta).await?;
                Ok(next)
            })
        })
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
        let cat = self.catalog();
        crate::decide::check_reviewer(&cat, reviewer)?;
        let d = local_date(at);
        let seq = self.ensure_month(d.year(), d.month()).await?;
        self.in_tx(move |tx| {
            boxed(async move {
                let current = read_appeal(tx, &AppealRef::Id(appeal), true).await?;
                // Decided before a number is taken, as a registration is.
                let prepared = current.prepare_review(
                    &request,
                    reviewer,
                    &actor,
                    at,
                    expected_version,
                    cat.ctx(),
                )?;
                let row = tx
                    .query_one(
                        "SELECT nextval('appeal_ids'), nextval(($1::TEXT)::REGCLASS)",
                        &[&seq],
                    )
                    .await?;
                let id: i64 = row.get(0);
                let number = AppealNumber::new(
                    d.year() as u16,
                    d.month() as u8,
                    row.get::<_, i64>(1) as u32,
                )
                .ok_or_else(|| {
                    StoreError::invalid(ErrorCode::NumberExhausted, "本月工单编号已用尽")
                })?;
                let w = prepared.complete(AppealId(id as u64), number);
                let mut delta = crate::rollups::Delta::default();
                save_appeal(tx, &w.original.0, None).await?;
                insert_events(tx, &w.original.1).await?;
                rollups_after_write_pg(
                    tx,
                    &cat.calendar,
                    Some(&current),
                    &w.original.0,
                    &mut delta,
                )
                .await?;
                save_appeal(tx, &w.review.0, None).await?;
                insert_events(tx, &w.review.1).await?;
                rollups_after_write_pg(tx, &cat.calendar, None, &w.review.0, &mut delta).await?;
                flush_rollups_pg(tx, delta).await?;
                Ok(ReviewOpened {
                    reviewed: w.original.0,
                    review: w.review.0,
                })
            })
        })
        .await
    }

    async fn appeal(&self, appeal: AppealRef) -> Result<Appeal> {
        let client = self.pool.get().await?;
        read_appeal(&client, &appeal, false).await
    }

    async fn history(&self, appeal: AppealId) -> Result<Vec<EventRecord>> {
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached("SELECT body FROM events WHERE appeal_id = $1 ORDER BY version")
            .await?;
        let rows = client.query(&st, &[&(appeal.0 as i64)]).await?;
        if rows.is_empty() {
            return Err(StoreError::not_found(format!("appeal {}", appeal.0)));
        }
        Ok(rows
            .iter()
            .map(|r| r.get::<_, Json<EventRecord>>(0).0)
            .collect())
    }

    async fn list(&self, filter: AppealFilter, cursor: Option<String>, limit: u32) -> Result<Page> {
        let catalog = self.catalog();
        let limit = limit.clamp(1, 500);
        let (mut clauses, mut args) = filter_clauses(&catalog, &filter, IDS_SQL);
        let (key, order) =
            crate::query::order_clause(filter.sort, cursor.as_deref(), &mut clauses, &mut args)?;
        let sql = numbered(&format!(
            "SELECT id, {key}, state FROM appeals {} {order} LIMIT {}",
            where_sql(&clauses),
            limit + 1
        ));
        let client = self.pool.get().await?;
        let rows = client.query(&sql, &pg_args(&args)).await?;
        let more = rows.len() > limit as usize;
        let mut items = Vec::with_capacity(rows.len().min(limit as usize));
        let mut last = None;
        for r in rows.iter().take(limit as usize) {
            items.push(r.get::<_, Json<Appeal>>(2).0);
            last = Some((r.get::<_, i64>(0), r.get::<_, i64>(1)));
        }
        let next_cursor = match (more, last) {
            (true, Some((id, key))) => Some(crate::query::cursor_after(filter.sort, id, key)),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    async fn count(&self, filter: AppealFilter) -> Result<u64> {
        let catalog = self.catalog();
        let (sql, args) = crate::query::count_sql(&catalog, &filter, IDS_SQL);
        let sql = numbered(&sql);
        let client = self.pool.get().await?;
        let n: i64 = client.query_one(&sql, &pg_args(&args)).await?.get(0);
        Ok(n as u64)
    }

    async fn count_facts(&self, filter: AppealFilter) -> Result<Option<u64>> {
        let catalog = self.catalog();
        let Some((sql, args)) = crate::query::fact_count_sql(&catalog, &filter, IDS_SQL) else {
            return Ok(None);
        };
        let client = self.pool.get().await?;
        let n: i64 = client
            .query_one(&numbered(&sql), &pg_args(&args))
            .await?
            .get(0);
        Ok(Some(n as u64))
    }

    async fn count_by_status(&self) -> Result<Vec<(Status, u64)>> {
        let client = self.pool.get().await?;
        client
            .query("SELECT status, COUNT(*) FROM appeals GROUP BY status", &[])
            .await?
            .iter()
            .map(|r| Ok((parse_code(r.get::<_, &str>(0))?, r.get::<_, i64>(1) as u64)))
            .collect()
    }

    async fn overdue_ids(&self, now: Instant, limit: u32) -> Result<Vec<AppealId>> {
        let client = self.pool.get().await?;
        Ok(client
            .query(
                "SELECT id FROM appeals WHERE unsupervised_due < $1 ORDER BY unsupervised_due LIMIT $2",
                &[&secs(now), &(limit as i64)],
            )
            .await?
            .iter()
            .map(|r| AppealId(r.get::<_, i64>(0) as u64))
            .collect())
    }

    async fn existing_keys(&self, keys: Vec<String>) -> Result<std::collections::HashSet<String>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT idempotency_key FROM appeals WHERE idempotency_key = ANY($1)",
                &[&keys],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
    }

    async fn import_histories(
        &self,
        histories: Vec<(Vec<EventRecord>, Option<String>)>,
    ) -> Result<u64> {
        let appeals = histories
            .iter()
            .map(|(h, _)| {
                Appeal::from_history(h).map_err(|e| StoreError::invalid(ErrorCode::BadHistory, e))
            })
            .collect::<Result<Vec<_>>>()?;
        let cal = self.catalog().calendar.clone();
        self.in_tx(move |tx| {
            boxed(async move {
                let mut delta = crate::rollups::Delta::default();
                for (appeal, (h, key)) in appeals.iter().zip(&histories) {
                    save_appeal(tx, appeal, key.as_deref()).await?;
                    insert_events(tx, h).await?;
                    rollups_after_write_pg(tx, &cal, None, appeal, &mut delta).await?;
                }
                flush_rollups_pg(tx, delta).await?;
                // Registrations after this take ids above the imported ones.
                tx.execute(
                    "SELECT setval('appeal_ids', GREATEST((SELECT COALESCE(MAX(id), 1) FROM appeals),
                         (SELECT last_value FROM appeal_ids)))",
                    &[],
                )
                .await?;
                Ok(appeals.len() as u64)
            })
        })
        .await
    }

    async fn allocate_numbers(&self, year: i32, month: u32, count: u32) -> Result<Vec<u32>> {
        if count == 0 || count > 999_999 {
            return Err(StoreError::invalid(
                ErrorCode::NumberExhausted,
                "每月最多999999个工单编号",
            ));
        }
        let seq = self.ensure_month(year, month).await?;
        let client = self.pool.get().await?;
        PgStore::take_numbers(&client, &seq, count).await
    }

    async fn next_appeal_id(&self) -> Result<AppealId> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM appeals),
                     (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM appeal_ids)) + 1",
                &[],
            )
            .await?;
        Ok(AppealId(row.get::<_, i64>(0) as u64))
    }

    async fn changes_since(&self, after: u64, limit: u32) -> Result<Vec<crate::Change>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, appeal_id, version FROM events WHERE id > $1 ORDER BY id LIMIT $2",
                &[&(after as i64), &(limit as i64)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| crate::Change {
                event: r.get::<_, i64>(0) as u64,
                appeal: AppealId(r.get::<_, i64>(1) as u64),
                version: r.get::<_, i64>(2) as u64,
            })
            .collect())
    }
}
