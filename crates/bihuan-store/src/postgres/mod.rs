//! The PostgreSQL store, for a city or a province: several `bihuan serve` processes on one
//! database.
//!
//! * **Writes** run in their own transaction on a pooled connection. An action locks the
//!   appeal's row (`SELECT … FOR UPDATE`), lets the domain decide on the state it read, and
//!   writes the events and the new state before committing; two servers acting on one appeal
//!   are serialised by the row lock, and the version check turns the loser into a 409. Commits
//!   of concurrent transactions share WAL flushes (PostgreSQL's own group commit), so the
//!   writer needs no queue of its own. `synchronous_commit` is left on: an acknowledged write is
//!   on disk.
//! * **Numbers**: appeal ids from the sequence `appeal_ids`, and each month's numbers from a
//!   sequence of its own, so that registrations never wait for each other's commit. A
//!   transaction that fails after taking a number leaves a gap; a number is never given twice.
//! * **Reference data** (units, categories, policies, calendar, weights) is cached in memory by
//!   every server. A change bumps `meta.catalog_version`; each server checks it every second
//!   and reloads, so an administrator's change reaches all servers within a second or two.

use bihuan_domain::ErrorCode;
use std::collections::HashSet;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use bihuan_domain::appeal::{AppealId, AppealNumber, UserId};
use bihuan_domain::calendar::YearNotice;
use bihuan_domain::category::{Category, CategoryId, CategoryTree};
use bihuan_domain::lifecycle::{
    Actor, Appeal, Command, EventRecord, NewAppeal, ReviewRequest, Status,
};
use bihuan_domain::org::{Org, Unit, UnitId};
use bihuan_domain::time::{local_date, Instant};
use bihuan_domain::{Calendar, PolicyTable};
use chrono::{DateTime, Datelike, Utc};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{NoTls, Row};

use crate::query::{code, filter_clauses, numbered, secs, where_sql, Arg};
use crate::{
    AccountStore, AppealStore, AttachmentStore, OpsStore, ReferenceStore, RollupStore, SmartStore,
};
use crate::{
    AppealFilter, AppealRef, Catalog, CredentialKind, NewUser, Page, Registered, Result,
    ReviewOpened, StoreError, User, UserUpdate,
};

mod accounts;
mod aggregates;
mod appeals;
mod attachments;
mod audit;
mod ops;
mod reference;
mod rollups;
mod smart;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/001_init.sql"),
    include_str!("../../migrations/postgres/002_rollups.sql"),
    include_str!("../../migrations/postgres/003_smart.sql"),
    include_str!("../../migrations/postgres/004_one_citizen_index.sql"),
    include_str!("../../migrations/postgres/005_one_due_index.sql"),
    include_str!("../../migrations/postgres/006_partial_unit_indexes.sql"),
    include_str!("../../migrations/postgres/007_aggregates.sql"),
    include_str!("../../migrations/postgres/008_audit.sql"),
    include_str!("../../migrations/postgres/009_appeal_facts.sql"),
    include_str!("../../migrations/postgres/010_deadline_columns.sql"),
    include_str!("../../migrations/postgres/011_aggregate_files.sql"),
    include_str!("../../migrations/postgres/012_due_first_index.sql"),
];

/// The advisory lock taken while migrating, so that servers starting together migrate once.
const MIGRATION_LOCK: i64 = 0x6269_6875_616e_0001;
/// The advisory lock of rollup compaction, so that one server at a time folds the changes.
const COMPACT_LOCK: i64 = 0x6269_6875_616e_0002;

pub struct PgStore {
    pool: Pool,
    catalog: Arc<RwLock<Arc<Catalog>>>,
    /// The `catalog_version` the cached catalog was loaded at.
    catalog_version: Arc<AtomicI64>,
    /// `meta.revocations` as last read (see `Store::revocations`).
    revocations: Arc<AtomicI64>,
    /// Months whose number sequence is known to exist.
    months: Mutex<HashSet<String>>,
    /// Writes in flight (for operations metrics).
    in_flight: AtomicUsize,
    /// A description of the database without the password (for logs).
    target: String,
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            Some(c)
                if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                StoreError::conflict(ErrorCode::Retry, "与另一操作同时提交，请重试")
            }
            Some(c) if *c == SqlState::UNIQUE_VIOLATION => StoreError::conflict(
                ErrorCode::Duplicate,
                format!(
                    "与已保存的数据重复（同一编号、登录名或幂等键已存在），请核对后换用新的值再提交（{}）",
                    e.as_db_error()
                        .and_then(|d| d.constraint())
                        .unwrap_or("unique")
                ),
            ),
            _ => match e.as_db_error() {
                Some(db) => internal(format!("{}: {}", db.code().code(), db.message())),
                None => internal(e),
            },
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        internal(format!("no database connection: {e}"))
    }
}

fn parse_code<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(internal)
}

fn from_secs(s: i64) -> Instant {
    DateTime::<Utc>::from_timestamp(s, 0).unwrap_or_default()
}

/// One bound array of ids as a set.
const IDS_SQL: &str = "SELECT unnest(?::bigint[])";

fn pg_args(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| match a {
            Arg::Int(i) => i as &(dyn ToSql + Sync),
            Arg::Text(t) => t as &(dyn ToSql + Sync),
            Arg::Ids(ids) => ids as &(dyn ToSql + Sync),
        })
        .collect()
}

async fn migrate(client: &mut deadpool_postgres::Object) -> Result<()> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let out = async {
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS bihuan_schema (version BIGINT NOT NULL)")
            .await?;
        let current: Option<i64> = client
            .query_opt("SELECT MAX(version) FROM bihuan_schema", &[])
            .await?
            .and_then(|r| r.get(0));
        let current = current.unwrap_or(0);
        let target = MIGRATIONS.len() as i64;
        if current > target {
            return Err(internal(format!(
                "the database is at schema version {current}, newer than this program ({target}); \
                 use a newer bihuan"
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = client.transaction().await?;
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO bihuan_schema (version) VALUES ($1)",
                &[&((i + 1) as i64)],
            )
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }
    .await;
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    out
}

/// Counters in `meta` that tell the other servers something changed.
const CATALOG_VERSION: &str = "catalog_version";
const REVOCATIONS: &str = "revocations";

async fn meta_counter(c: &impl GenericClient, key: &str) -> Result<i64> {
    let v: Option<String> = c
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
        .await?
        .map(|r| r.get(0));
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

async fn bump_meta_counter(c: &impl GenericClient, key: &str) -> Result<()> {
    c.execute(
        "INSERT INTO meta (key, value) VALUES ($1, '1')
         ON CONFLICT (key) DO UPDATE SET value = (meta.value::BIGINT + 1)::TEXT",
        &[&key],
    )
    .await?;
    Ok(())
}

async fn load_catalog(c: &impl GenericClient) -> Result<Catalog> {
    let mut list = Vec::new();
    for r in c
        .query(
            "SELECT id, name, kind, parent, aliases FROM units ORDER BY id",
            &[],
        )
        .await?
    {
        list.push(Unit {
            id: UnitId(r.get::<_, i64>(0) as u32),
            name: r.get(1),
            kind: parse_code(r.get::<_, &str>(2))?,
            parent: r.get::<_, Option<i64>>(3).map(|p| UnitId(p as u32)),
            aliases: serde_json::from_str(r.get::<_, &str>(4)).map_err(internal)?,
        });
    }
    let org = if list.is_empty() {
        Org::default()
    } else {
        Org::new(list).map_err(internal)?
    };
    let cats = c
        .query("SELECT id, name, parent FROM categories ORDER BY id", &[])
        .await?
        .into_iter()
        .map(|r| Category {
            id: CategoryId(r.get::<_, i64>(0) as u32),
            name: r.get(1),
            parent: r.get::<_, Option<i64>>(2).map(|p| CategoryId(p as u32)),
        })
        .collect();
    let categories = CategoryTree::new(cats).map_err(internal)?;
    let meta = |key: &'static str| async move {
        Ok::<_, StoreError>(
            c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
                .await?
                .map(|r| r.get::<_, String>(0)),
        )
    };
    let policies = match meta("policies").await? {
        Some(json) => serde_json::from_str(&json).map_err(internal)?,
        None => PolicyTable::defaults(),
    };
    let weights = match meta("score_weights").await? {
        Some(json) => serde_json::from_str(&json).map_err(internal)?,
        None => bihuan_domain::metrics::ScoreWeights::default(),
    };
    let rules = match meta("dispatch_rules").await? {
        Some(json) => serde_json::from_str(&json).map_err(internal)?,
        None => Vec::new(),
    };
    let mut calendar = Calendar::official();
    for r in c
        .query("SELECT json FROM calendar_years ORDER BY year", &[])
        .await?
    {
        calendar.load_json(r.get::<_, &str>(0)).map_err(internal)?;
    }
    Ok(Catalog {
        org,
        categories,
        policies,
        calendar,
        weights,
        rules,
    })
}

/// Reads an appeal; `lock` takes its row lock until the transaction ends.
async fn read_appeal(c: &impl GenericClient, r: &AppealRef, lock: bool) -> Result<Appeal> {
    let suffix = if lock { " FOR UPDATE" } else { "" };
    let row = match r {
        AppealRef::Id(id) => {
            let st = c
                .prepare_cached(&format!("SELECT state FROM appeals WHERE id = $1{suffix}"))
                .await?;
            c.query_opt(&st, &[&(id.0 as i64)]).await?
        }
        AppealRef::Number(n) => {
            let st = c
                .prepare_cached(&format!(
                    "SELECT state FROM appeals WHERE number = $1{suffix}"
                ))
                .await?;
            c.query_opt(&st, &[&n.to_string()]).await?
        }
    };
    let row = row.ok_or_else(|| StoreError::not_found(r.to_string()))?;
    Ok(row.get::<_, Json<Appeal>>(0).0)
}

/// Fills the deadline columns (migration 010) of the appeals written before them, once (a
/// second server starting at the same time fills them again, to the same values).
async fn fill_deadline_columns(client: &mut deadpool_postgres::Object) -> Result<()> {
    let done = client
        .query_opt("SELECT value FROM meta WHERE key = 'deadline_columns'", &[])
        .await?;
    if done.is_some() {
        return Ok(());
    }
    let tx = client.transaction().await?;
    let n = refill_deadline_columns(&tx).await?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('deadline_columns', '1') ON CONFLICT (key) DO NOTHING",
        &[],
    )
    .await?;
    tx.commit().await?;
    if n > 0 {
        tracing::info!(
            appeals = n,
            "filled the deadline columns of an older database (once)"
        );
    }
    Ok(())
}

/// Writes every appeal's deadline columns from its state (derived data, like the rollups: an
/// archive does not carry them). Only appeals with a running deadline (`next_due`) have any.
pub(super) async fn refill_deadline_columns(c: &impl GenericClient) -> Result<u64> {
    let rows = c
        .query("SELECT state FROM appeals WHERE next_due IS NOT NULL", &[])
        .await?;
    let write = c
        .prepare(
            "UPDATE appeals SET dispatch_due = $1, sign_due = $2, contact_due = $3, reply_due = $4
             WHERE id = $5",
        )
        .await?;
    for r in &rows {
        let a = r.get::<_, Json<Appeal>>(0).0;
        let d = crate::Deadline::columns_of(&a);
        c.execute(&write, &[&d[0], &d[1], &d[2], &d[3], &(a.id.0 as i64)])
            .await?;
    }
    Ok(rows.len() as u64)
}

async fn save_appeal(
    c: &impl GenericClient,
    a: &Appeal,
    idempotency_key: Option<&str>,
) -> Result<()> {
    let next = a.next_deadline();
    let due = crate::Deadline::columns_of(a);
    let st = c
        .prepare_cached(
            "INSERT INTO appeals (id, number, version, status, regime, kind, channel, urgency,
                 category, township, lead, owner, registered_at, registered_by, citizen_key,
                 next_due, due_soon_at, idempotency_key, updated_at, state, unsupervised_due,
                 dispatch_due, sign_due, contact_due, reply_due)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, ($20::TEXT)::JSONB, $21,
                 $22, $23, $24, $25)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, status = excluded.status,
                 category = excluded.category, township = excluded.township, lead = excluded.lead,
                 owner = excluded.owner, next_due = excluded.next_due,
                 due_soon_at = excluded.due_soon_at, updated_at = excluded.updated_at,
                 state = excluded.state, unsupervised_due = excluded.unsupervised_due,
                 dispatch_due = excluded.dispatch_due, sign_due = excluded.sign_due,
                 contact_due = excluded.contact_due, reply_due = excluded.reply_due",
        )
        .await?;
    c.execute(
        &st,
        &[
            &(a.id.0 as i64),
            &a.number.to_string(),
            &(a.version as i64),
            &code(&a.status),
            &code(&a.regime),
            &code(&a.kind),
            &code(&a.channel),
            &code(&a.urgency),
            &a.category.map(|c| c.0 as i64),
            &a.place.township.map(|u| u.0 as i64),
            &a.lead.map(|u| u.0 as i64),
            &a.owner.as_ref().map(|o| o.user.0 as i64),
            &secs(a.registered_at),
            &(a.registered_by.0 as i64),
            &a.citizen.identity_key().map(|k| crate::citizen_key(&k)),
            &next.map(|(_, due)| secs(due)),
            &a.due_soon_at().map(secs),
            &idempotency_key,
            &secs(a.last_at),
            &a.to_stored_json()?,
            &a.next_unsupervised_deadline().map(secs),
            &due[0],
            &due[1],
            &due[2],
            &due[3],
        ],
    )
    .await?;
    let units: Vec<i64> = crate::access_rows(a);
    if !units.is_empty() {
        let st = c
            .prepare_cached(
                "INSERT INTO appeal_units (unit_id, appeal_id)
                 SELECT u, $2 FROM UNNEST($1::BIGINT[]) AS u ON CONFLICT DO NOTHING",
            )
            .await?;
        c.execute(&st, &[&units, &(a.id.0 as i64)]).await?;
    }
    Ok(())
}

async fn insert_events(c: &impl GenericClient, records: &[EventRecord]) -> Result<()> {
    let st = c
        .prepare_cached(
            "INSERT INTO events (appeal_id, version, at, actor_user, type, body)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    for r in records {
        c.execute(
            &st,
            &[
                &(r.appeal.0 as i64),
                &(r.version as i64),
                &secs(r.at),
                &(r.actor.user.0 as i64),
                &r.event.name(),
                &Json(r),
            ],
        )
        .await?;
    }
    Ok(())
}

fn month_sequence(year: i32, month: u32) -> String {
    format!("appeal_no_{year:04}{month:02}")
}

fn user_from_row(r: &Row) -> Result<User> {
    Ok(User {
        id: UserId(r.get::<_, i64>(0) as u32),
        login: r.get(1),
        name: r.get(2),
        role: parse_code(r.get::<_, &str>(3))?,
        unit: UnitId(r.get::<_, i64>(4) as u32),
        active: r.get::<_, i64>(5) != 0,
        password_hash: r.get(6),
    })
}

const USER_COLS: &str = "id, login, name, role, unit, active, password_hash";

async fn user_by(
    c: &impl GenericClient,
    clause: &str,
    p: &(dyn ToSql + Sync),
) -> Result<Option<User>> {
    c.query_opt(
        &format!("SELECT {USER_COLS} FROM users WHERE {clause}"),
        &[p],
    )
    .await?
    .map(|r| user_from_row(&r))
    .transpose()
}

fn attachment_from_row(r: &Row) -> crate::Attachment {
    crate::Attachment {
        id: r.get::<_, i64>(0) as u64,
        appeal: AppealId(r.get::<_, i64>(1) as u64),
        name: r.get(2),
        mime: r.get(3),
        size: r.get::<_, i64>(4) as u64,
        sha256: r.get(5),
        uploaded_by: UserId(r.get::<_, i64>(6) as u32),
        at: from_secs(r.get(7)),
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`), runs migrations, loads the catalog
    /// and starts the task that keeps the catalog current.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let config = tokio_postgres::Config::from_str(url).map_err(|e| {
            StoreError::invalid(ErrorCode::BadDatabaseUrl, format!("数据库地址无效： {e}"))
        })?;
        let target = format!(
            "postgres {:?} db {:?}",
            config.get_hosts(),
            config.get_dbname().unwrap_or("")
        );
        let mgr = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr).max_size(32).build().map_err(internal)?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| internal(format!("cannot connect to {target}: {e}")))?;
        migrate(&mut client).await?;
        fill_deadline_columns(&mut client).await?;
        let version = meta_counter(&client, CATALOG_VERSION).await?;
        let catalog = load_catalog(&client).await?;
        let built = client
            .query_opt("SELECT value FROM meta WHERE key = 'rollups_built'", &[])
            .await?;
        let built: Option<String> = built.map(|r| r.get(0));
        if built.as_deref() != Some(bihuan_domain::rollup::FACTS_VERSION) {
            // A database from before rollups, or whose rollups an older version of the facts
            // built: build them once (another server starting at the
            // same time waits on the lock, then finds them built or builds them again).
            let started = std::time::Instant::now();
            let tx = client.transaction().await?;
            let n = rebuild_rollups_pg(&tx, &catalog.calendar).await?;
            tx.commit().await?;
            if n > 0 {
                tracing::info!(
                    appeals = n,
                    seconds = started.elapsed().as_secs_f64(),
                    "built the metric rollups of an older database (once)"
                );
            }
        }
        drop(client);
        let store = PgStore {
            pool,
            catalog: Arc::new(RwLock::new(Arc::new(catalog))),
            catalog_version: Arc::new(AtomicI64::new(version)),
            revocations: Arc::new(AtomicI64::new(0)),
            months: Mutex::new(HashSet::new()),
            in_flight: AtomicUsize::new(0),
            target,
        };
        store.spawn_catalog_watch();
        Ok(store)
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    /// Reloads the catalog if another server changed it. Returns whether it reloaded.
    pub async fn refresh_catalog(&self) -> Result<bool> {
        watch_step(
            &self.pool,
            &self.catalog,
            &self.catalog_version,
            &self.revocations,
        )
        .await
    }

    fn spawn_catalog_watch(&self) {
        let pool = self.pool.clone();
        let catalog = Arc::downgrade(&self.catalog);
        let version = self.catalog_version.clone();
        let revocations = self.revocations.clone();
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // The store is gone: stop.
                let Some(catalog) = catalog.upgrade() else {
                    break;
                };
                if let Err(e) = watch_step(&pool, &catalog, &version, &revocations).await {
                    tracing::warn!(error = %e, "catalog and revocation check failed");
                }
                if let Err(e) = compact_if_free(&pool).await {
                    tracing::warn!(error = %e, "rollup compaction failed");
                }
            }
        });
    }

    fn set_catalog(&self, c: Catalog, version: i64) {
        install_catalog(&self.catalog, &self.catalog_version, c, version);
    }

    /// Makes sure the sequence for a month's numbers exists (outside any transaction: creating
    /// it twice at once on two servers is harmless).
    async fn ensure_month(&self, year: i32, month: u32) -> Result<String> {
        let name = month_sequence(year, month);
        if self.months.lock().map_err(internal)?.contains(&name) {
            return Ok(name);
        }
        let client = self.pool.get().await?;
        let sql = format!("CREATE SEQUENCE IF NOT EXISTS {name} MAXVALUE 999999");
        if let Err(e) = client.batch_execute(&sql).await {
            // Two servers creating the same sequence at once: one wins, the other sees a
            // duplicate; either way the sequence exists now.
            let dup = e.code() == Some(&SqlState::DUPLICATE_TABLE)
                || e.code() == Some(&SqlState::UNIQUE_VIOLATION);
            if !dup {
                return Err(e.into());
            }
        }
        self.months.lock().map_err(internal)?.insert(name.clone());
        Ok(name)
    }

    async fn take_numbers(c: &impl GenericClient, seq: &str, count: u32) -> Result<Vec<u32>> {
        let rows = c
            .query(
                &format!("SELECT nextval('{seq}') FROM generate_series(1, $1::BIGINT)"),
                &[&(count as i64)],
            )
            .await;
        match rows {
            Ok(rows) => Ok(rows.iter().map(|r| r.get::<_, i64>(0) as u32).collect()),
            Err(e) if e.code() == Some(&SqlState::SEQUENCE_GENERATOR_LIMIT_EXCEEDED) => {
                Err(StoreError::invalid(
                    ErrorCode::NumberExhausted,
                    "本月工单编号已用尽（每月最多999999件）",
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Runs `f` in a transaction and commits it; a refusal rolls back.
    async fn in_tx<T, F>(&self, f: F) -> Result<T>
    where
        F: for<'a> FnOnce(
            &'a deadpool_postgres::Transaction<'a>,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T>> + Send + 'a>,
        >,
    {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let out = async {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            let v = f(&tx).await?;
            tx.commit().await?;
            Ok(v)
        }
        .await;
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        out
    }

    /// Stores one catalog setting as JSON under a `meta` key and applies it to the catalog.
    async fn put_catalog_meta(
        &self,
        key: &'static str,
        json: String,
        apply: impl FnOnce(&mut Catalog) + Send + 'static,
    ) -> Result<()> {
        self.change_catalog(move |tx, mut cat| {
            boxed(async move {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&key, &json],
                )
                .await?;
                apply(&mut cat);
                Ok(cat)
            })
        })
        .await
    }

    /// Changes reference data: `f` gets the current catalog, writes its change and returns the
    /// new catalog, which replaces the cached one after the commit.
    async fn change_catalog<F>(&self, f: F) -> Result<()>
    where
        F: for<'a> FnOnce(
            &'a deadpool_postgres::Transaction<'a>,
            Catalog,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Catalog>> + Send + 'a>,
        >,
    {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // One catalog change at a time across all servers, starting from what is stored.
        tx.execute("LOCK TABLE meta IN SHARE ROW EXCLUSIVE MODE", &[])
            .await?;
        let current = load_catalog(&tx).await?;
        let next = f(&tx, current).await?;
        bump_meta_counter(&tx, CATALOG_VERSION).await?;
        let version = meta_counter(&tx, CATALOG_VERSION).await?;
        tx.commit().await?;
        self.set_catalog(next, version);
        Ok(())
    }
}

/// One look at the shared counters: records the revocation count, and reloads the catalog
/// (with its version, from one snapshot) when another server changed it. Returns whether it
/// reloaded.
async fn watch_step(
    pool: &Pool,
    catalog: &RwLock<Arc<Catalog>>,
    version: &AtomicI64,
    revocations: &AtomicI64,
) -> Result<bool> {
    let mut client = pool.get().await?;
    let mut stored = 0;
    for r in client
        .query(
            "SELECT key, value FROM meta WHERE key IN ($1, $2)",
            &[&CATALOG_VERSION, &REVOCATIONS],
        )
        .await?
    {
        let n: i64 = r.get::<_, &str>(1).parse().unwrap_or(0);
        if r.get::<_, &str>(0) == REVOCATIONS {
            revocations.store(n, Ordering::SeqCst);
        } else {
            stored = n;
        }
    }
    if stored == version.load(Ordering::SeqCst) {
        return Ok(false);
    }
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let stored = meta_counter(&tx, CATALOG_VERSION).await?;
    let fresh = load_catalog(&tx).await?;
    tx.commit().await?;
    Ok(install_catalog(catalog, version, fresh, stored))
}

/// Puts a catalog loaded at `loaded` in place of the cached one unless the cached one is as new
/// or newer: a watch that read the catalog just before this server changed it must not bring
/// back the older one. The version is compared and set under the catalog's lock. Returns whether
/// it replaced the cached catalog.
fn install_catalog(
    catalog: &RwLock<Arc<Catalog>>,
    version: &AtomicI64,
    fresh: Catalog,
    loaded: i64,
) -> bool {
    let Ok(mut w) = catalog.write() else {
        return false;
    };
    if loaded <= version.load(Ordering::SeqCst) {
        return false;
    }
    *w = Arc::new(fresh);
    version.store(loaded, Ordering::SeqCst);
    true
}

fn boxed<'a, T>(
    f: impl std::future::Future<Output = Result<T>> + Send + 'a,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'a>> {
    Box::pin(f)
}

// ---- Rollups (see `crate::rollups`; the same steps as the SQLite store) ----

async fn raised_again_pg(c: &impl GenericClient, a: &Appeal, exclude: [u64; 2]) -> Result<bool> {
    let Some(probe) = crate::rollups::RepeatProbe::of(a) else {
        return Ok(false);
    };
    let (after, before) = probe.interior();
    let (x0, x1) = (exclude[0] as i64, exclude[1] as i64);
    let st = c
        .prepare_cached(
            "SELECT 1 FROM appeals WHERE citizen_key = $1 AND category = $2 AND registered_at > $3
             AND registered_at < $4 AND id <> $5 AND id <> $6 LIMIT 1",
        )
        .await?;
    let row = c
        .query_opt(
            &st,
            &[&probe.key, &probe.category, &after, &before, &x0, &x1],
        )
        .await?;
    if row.is_some() {
        return Ok(true);
    }
    // The window's first and last second, compared exactly (see `RepeatProbe`).
    let [first, last] = probe.edges();
    let st = c
        .prepare_cached(
            "SELECT state->>'registered_at' FROM appeals WHERE citizen_key = $1 AND category = $2
             AND registered_at IN ($3, $4) AND id <> $5 AND id <> $6",
        )
        .await?;
    for r in c
        .query(&st, &[&probe.key, &probe.category, &first, &last, &x0, &x1])
        .await?
    {
        let t: String = r.get(0);
        if probe.hits(crate::rollups::parse_stored_instant(&t)?) {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn insert_pending_pg(
    c: &impl GenericClient,
    rows: &[crate::rollups::PendingRow],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let st = c
        .prepare_cached(
            "INSERT INTO rollup_pending (appeal_id, metric, day, due, unit, township, category, channel, kind)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await?;
    for r in rows {
        c.execute(
            &st,
            &[
                &(r.appeal as i64),
                &r.metric.code(),
                &r.day,
                &r.due,
                &r.keys[0],
                &r.keys[1],
                &r.keys[2],
                &r.keys[3],
                &r.keys[4],
            ],
        )
        .await?;
    }
    Ok(())
}

async fn rollups_after_write_pg(
    c: &impl GenericClient,
    cal: &Calendar,
    before: Option<&Appeal>,
    after: &Appeal,
    delta: &mut crate::rollups::Delta,
) -> Result<()> {
    use bihuan_domain::rollup::{facts, Dims};
    let x = after.id.0;
    let mut old_facts = None;
    if let Some(b) = before {
        let rep = raised_again_pg(c, b, [x, x]).await?;
        let fs = facts(b, rep, cal);
        delta.apply(&fs, &Dims::of(b), -1);
        old_facts = Some(fs);
        let st = c
            .prepare_cached("DELETE FROM rollup_pending WHERE appeal_id = $1")
            .await?;
        c.execute(&st, &[&(x as i64)]).await?;
    }
    let rep = raised_again_pg(c, after, [x, x]).await?;
    let new_facts = facts(after, rep, cal);
    delta.apply(&new_facts, &Dims::of(after), 1);
    insert_pending_pg(c, &crate::rollups::pending_rows(after, &new_facts)).await?;
    write_fact_rows_pg(
        c,
        &[crate::rollups::fact_changes(
            x,
            old_facts.as_deref(),
            &new_facts,
        )],
    )
    .await?;

    let keys = crate::rollups::affected_keys(before, after);
    if keys.is_empty() {
        return Ok(());
    }
    let st = c
        .prepare_cached(
            "SELECT state FROM appeals WHERE citizen_key = $1 AND category = $2 AND id <> $3",
        )
        .await?;
    for key in keys {
        for r in c.query(&st, &[&key.0, &key.1, &(x as i64)]).await? {
            let other = r.get::<_, Json<Appeal>>(0).0;
            if crate::rollups::repeat_window(&other).is_none() {
                continue;
            }
            let rest = raised_again_pg(c, &other, [other.id.0, x]).await?;
            if let Some(ch) = crate::rollups::move_one_shot(delta, &other, rest, before, after, cal)
            {
                write_fact_rows_pg(c, &[ch]).await?;
            }
        }
    }
    Ok(())
}

/// Brings appeals' `appeal_facts` rows up to date (one statement for the deletes, one for the
/// writes, whatever their number).
async fn write_fact_rows_pg(
    c: &impl GenericClient,
    changes: &[crate::rollups::FactChanges],
) -> Result<()> {
    let (mut dm, mut dd, mut du, mut da) = (vec![], vec![], vec![], vec![]);
    #[allow(clippy::type_complexity)]
    let (mut um, mut ud, mut uu, mut ua, mut un, mut ue, mut up, mut uq): (
        Vec<&str>,
        Vec<i64>,
        Vec<i64>,
        Vec<i64>,
        Vec<i64>,
        Vec<i64>,
        Vec<i64>,
        Vec<Option<i64>>,
    ) = Default::default();
    for ch in changes {
        let a = ch.appeal as i64;
        for (m, day, unit) in &ch.delete {
            dm.push(m.code());
            dd.push(*day);
            du.push(*unit);
            da.push(a);
        }
        for ((m, day, unit), r) in &ch.upsert {
            um.push(m.code());
            ud.push(*day);
            uu.push(*unit);
            ua.push(a);
            un.push(r.num);
            ue.push(r.den);
            up.push(r.pending);
            uq.push(r.due);
        }
    }
    if !dm.is_empty() {
        let st = c
            .prepare_cached(
                "DELETE FROM appeal_facts f USING UNNEST($1::TEXT[], $2::BIGINT[], $3::BIGINT[],
                                                         $4::BIGINT[]) AS x(metric, day, unit, appeal_id)
                 WHERE f.metric = x.metric AND f.day = x.day AND f.unit = x.unit
                   AND f.appeal_id = x.appeal_id",
            )
            .await?;
        c.execute(&st, &[&dm, &dd, &du, &da]).await?;
    }
    for start in (0..um.len()).step_by(5_000) {
        let end = (start + 5_000).min(um.len());
        let st = c
            .prepare_cached(
                "INSERT INTO appeal_facts (metric, day, unit, appeal_id, num, den, pending, due)
                 SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[],
                                      $5::BIGINT[], $6::BIGINT[], $7::BIGINT[], $8::BIGINT[])
                 ON CONFLICT (metric, day, unit, appeal_id) DO UPDATE SET
                   num = excluded.num, den = excluded.den, pending = excluded.pending,
                   due = excluded.due",
            )
            .await?;
        c.execute(
            &st,
            &[
                &&um[start..end],
                &&ud[start..end],
                &&uu[start..end],
                &&ua[start..end],
                &&un[start..end],
                &&ue[start..end],
                &&up[start..end],
                &&uq[start..end],
            ],
        )
        .await?;
    }
    Ok(())
}

async fn flush_rollups_pg(c: &impl GenericClient, delta: crate::rollups::Delta) -> Result<()> {
    let changes: Vec<_> = delta.changes().collect();
    if changes.is_empty() {
        return Ok(());
    }
    // Appended, not upserted: no writer waits for another's rollup rows (see the migration).
    let st = c
        .prepare_cached(
            "INSERT INTO rollup_deltas (dim, g, bucket, metric, key, num, den, sum)
             SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[],
                                  $6::BIGINT[], $7::BIGINT[], $8::BIGINT[])",
        )
        .await?;
    for chunk in changes.chunks(5_000) {
        #[allow(clippy::type_complexity)]
        let mut cols: (
            Vec<&str>,
            Vec<i64>,
            Vec<i64>,
            Vec<&str>,
            Vec<&str>,
            Vec<i64>,
            Vec<i64>,
            Vec<i64>,
        ) = Default::default();
        for ((dim, g, bucket, metric, key), (n, d, s)) in chunk {
            cols.0.push(dim.code());
            cols.1.push(*g);
            cols.2.push(*bucket);
            cols.3.push(metric.code());
            cols.4.push(key);
            cols.5.push(*n);
            cols.6.push(*d);
            cols.7.push(*s);
        }
        c.execute(
            &st,
            &[
                &cols.0, &cols.1, &cols.2, &cols.3, &cols.4, &cols.5, &cols.6, &cols.7,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Folds the appended changes into `rollups` (one server at a time; rows in a fixed order).
async fn compact_rollups_pg(c: &impl GenericClient) -> Result<()> {
    c.batch_execute(
        "WITH moved AS (DELETE FROM rollup_deltas RETURNING dim, g, bucket, metric, key, num, den, sum),
              summed AS (SELECT dim, g, bucket, metric, key, SUM(num) AS num, SUM(den) AS den,
                                SUM(sum) AS sum FROM moved GROUP BY dim, g, bucket, metric, key)
         INSERT INTO rollups AS r (dim, g, bucket, metric, key, num, den, sum)
         SELECT dim, g, bucket, metric, key, num::BIGINT, den::BIGINT, sum::BIGINT FROM summed
         ORDER BY dim, g, bucket, metric, key
         ON CONFLICT (dim, g, bucket, metric, key) DO UPDATE SET
             num = r.num + excluded.num, den = r.den + excluded.den, sum = r.sum + excluded.sum",
    )
    .await?;
    Ok(())
}

/// The compaction step of the background task: skipped when another server is at it.
async fn compact_if_free(pool: &Pool) -> Result<()> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let free: bool = tx
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&COMPACT_LOCK])
        .await?
        .get(0);
    if free {
        compact_rollups_pg(&tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn rebuild_rollups_pg(
    tx: &deadpool_postgres::Transaction<'_>,
    cal: &Calendar,
) -> Result<u64> {
    use bihuan_domain::rollup::{facts, Dims};
    // One rebuild at a time, and no write in between.
    tx.batch_execute(
        "LOCK TABLE rollups, rollup_deltas, rollup_pending, appeal_facts IN EXCLUSIVE MODE;
         DELETE FROM rollups; DELETE FROM rollup_deltas; DELETE FROM rollup_pending;
         DELETE FROM appeal_facts",
    )
    .await?;
    let mut times = crate::rollups::RaisedTimes::default();
    for r in tx
        .query(
            "SELECT citizen_key, category, state->>'registered_at' FROM appeals
             WHERE citizen_key IS NOT NULL AND category IS NOT NULL",
            &[],
        )
        .await?
    {
        let at = crate::rollups::parse_stored_instant(r.get::<_, &str>(2))?;
        times.entry((r.get(0), r.get(1))).or_default().push(at);
    }
    let mut delta = crate::rollups::Delta::default();
    let mut n = 0u64;
    let st = tx.prepare("SELECT state FROM appeals ORDER BY id").await?;
    let portal = tx.bind(&st, &[]).await?;
    loop {
        let rows = tx.query_portal(&portal, 2_000).await?;
        if rows.is_empty() {
            break;
        }
        let mut pending = Vec::new();
        let mut rows_of = Vec::new();
        for r in rows {
            let a = r.get::<_, Json<Appeal>>(0).0;
            let fs = facts(&a, crate::rollups::raised_again_in(&times, &a), cal);
            delta.apply(&fs, &Dims::of(&a), 1);
            pending.extend(crate::rollups::pending_rows(&a, &fs));
            rows_of.push(crate::rollups::fact_changes(a.id.0, None, &fs));
            n += 1;
        }
        insert_pending_pg(tx, &pending).await?;
        write_fact_rows_pg(tx, &rows_of).await?;
    }
    flush_rollups_pg(tx, delta).await?;
    compact_rollups_pg(tx).await?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('rollups_built', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&bihuan_domain::rollup::FACTS_VERSION],
    )
    .await?;
    Ok(n)
}

async fn rollup_query_pg(
    c: &impl GenericClient,
    q: &crate::rollups::RollupQuery,
) -> Result<std::collections::HashMap<String, bihuan_domain::rollup::Sums>> {
    use bihuan_domain::rollup::{Metric, Sums};
    let mut out: std::collections::HashMap<String, Sums> = Default::default();
    let dim = q.dim;
    let st = c
        .prepare_cached(
            "SELECT key, metric, SUM(num)::BIGINT, SUM(den)::BIGINT, SUM(sum)::BIGINT FROM (
                 SELECT key, metric, num, den, sum FROM rollups
                 WHERE dim = $1 AND g = $2 AND bucket BETWEEN $3 AND $4
                 UNION ALL
                 SELECT key, metric, num, den, sum FROM rollup_deltas
                 WHERE dim = $1 AND g = $2 AND bucket BETWEEN $3 AND $4) x
             GROUP BY key, metric",
        )
        .await?;
    for (g, lo, hi) in crate::rollups::segments(&q.period) {
        for r in c.query(&st, &[&dim.code(), &g, &lo, &hi]).await? {
            let Some(m) = Metric::parse(r.get::<_, &str>(1)) else {
                continue;
            };
            out.entry(r.get(0))
                .or_default()
                .add(m, r.get(2), r.get(3), r.get(4));
        }
    }
    let (lo, hi) = crate::rollups::day_range(&q.period);
    let col = ["unit", "township", "category", "channel", "kind"][dim as usize];
    let st = c
        .prepare_cached(&format!(
            "SELECT {col}, metric, COUNT(*) FROM rollup_pending
             WHERE day BETWEEN $1 AND $2 AND due < $3 GROUP BY {col}, metric"
        ))
        .await?;
    for r in c.query(&st, &[&lo, &hi, &secs(q.now)]).await? {
        let Some(m) = Metric::parse(r.get::<_, &str>(1)) else {
            continue;
        };
        out.entry(r.get(0)).or_default().add(m, 0, r.get(2), 0);
    }
    if q.period.end <= q.now {
        // A period that is over: the overdue count at its end, a running sum of the intervals.
        let st = c
            .prepare_cached(
                "SELECT key, metric, SUM(den)::BIGINT FROM (
                     SELECT key, metric, den FROM rollups
                     WHERE dim = $1 AND g = $2 AND bucket BETWEEN $3 AND $4
                       AND metric IN ('overdue_from', 'overdue_until')
                     UNION ALL
                     SELECT key, metric, den FROM rollup_deltas
                     WHERE dim = $1 AND g = $2 AND bucket BETWEEN $3 AND $4
                       AND metric IN ('overdue_from', 'overdue_until')) x
                 GROUP BY key, metric",
            )
            .await?;
        let mut summed = Vec::new();
        for (g, lo, hi) in crate::rollups::before_end(&q.period) {
            for r in c.query(&st, &[&dim.code(), &g, &lo, &hi]).await? {
                summed.push((r.get(0), r.get(1), r.get(2)));
            }
        }
        crate::rollups::overdue_at_end(&mut out, summed);
        return Ok(out);
    }
    let col = dim.appeal_column();
    let st = c
        .prepare_cached(&format!(
            "SELECT {col}::TEXT, COUNT(*) FROM appeals WHERE next_due < $1 GROUP BY {col}"
        ))
        .await?;
    for r in c.query(&st, &[&secs(q.now)]).await? {
        let key: Option<String> = r.get(0);
        out.entry(key.unwrap_or_default()).or_default().overdue += r.get::<_, i64>(1) as u64;
    }
    Ok(out)
}

async fn rollup_dump_pg(c: &impl GenericClient) -> Result<crate::RollupDump> {
    let rows = c
        .query(
            "SELECT dim, g, bucket, metric, key, num, den, sum FROM (
                 SELECT dim, g, bucket, metric, key, SUM(num)::BIGINT AS num, SUM(den)::BIGINT AS den,
                        SUM(sum)::BIGINT AS sum
                 FROM (SELECT * FROM rollups UNION ALL SELECT * FROM rollup_deltas) u
                 GROUP BY dim, g, bucket, metric, key) x
             WHERE num <> 0 OR den <> 0 OR sum <> 0 ORDER BY dim, g, bucket, metric, key",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
            )
        })
        .collect();
    let mut pending = Vec::new();
    for r in c
        .query(
            "SELECT appeal_id, metric, day, due, unit, township, category, channel, kind FROM rollup_pending",
            &[],
        )
        .await?
    {
        let metric = bihuan_domain::rollup::Metric::parse(r.get::<_, &str>(1))
            .ok_or_else(|| internal("unknown metric in rollup_pending"))?;
        pending.push(crate::rollups::PendingRow {
            appeal: r.get::<_, i64>(0) as u64,
            metric,
            day: r.get(2),
            due: r.get(3),
            keys: [r.get(4), r.get(5), r.get(6), r.get(7), r.get(8)],
        });
    }
    pending.sort();
    let facts = c
        .query(
            "SELECT metric, day, unit, appeal_id, num, den, pending, due FROM appeal_facts
             ORDER BY metric COLLATE \"C\", day, unit, appeal_id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
            )
        })
        .collect();
    Ok(crate::RollupDump {
        rows,
        pending,
        facts,
    })
}

async fn backup_pg(
    tx: &deadpool_postgres::Transaction<'_>,
    path: &std::path::Path,
) -> Result<crate::backup::BackupSummary> {
    use crate::backup::{order_by, ym_of_sequence, Col, Writer, TABLES};
    use serde_json::Value;
    let mut w = Writer::create(path, "postgres")?;
    for t in TABLES {
        w.begin(t)?;
        if t.name == "number_seq" {
            // Each month's numbers are a sequence here.
            let rows = tx
                .query(
                    "SELECT sequencename::TEXT, last_value FROM pg_sequences
                     WHERE schemaname = current_schema() AND sequencename LIKE 'appeal\\_no\\_%'
                       AND last_value IS NOT NULL
                     ORDER BY sequencename",
                    &[],
                )
                .await?;
            for r in rows {
                if let Some(ym) = ym_of_sequence(r.get::<_, &str>(0)) {
                    w.row(vec![Value::from(ym), Value::from(r.get::<_, i64>(1))])?;
                }
            }
            w.end()?;
            continue;
        }
        let cols: Vec<String> = t
            .cols
            .iter()
            .map(|(c, k)| match k {
                Col::Json => format!("{c}::TEXT"),
                _ => c.to_string(),
            })
            .collect();
        let filter = crate::backup::row_filter(t);
        let sql = format!(
            "SELECT {} FROM {} {filter} ORDER BY {}",
            cols.join(", "),
            t.name,
            order_by(t)
        );
        let st = tx.prepare(&sql).await?;
        let portal = tx.bind(&st, &[]).await?;
        loop {
            let rows = tx.query_portal(&portal, 5_000).await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let mut values = Vec::with_capacity(t.cols.len());
                for (i, (_, k)) in t.cols.iter().enumerate() {
                    values.push(match k {
                        Col::Int => r
                            .get::<_, Option<i64>>(i)
                            .map(Value::from)
                            .unwrap_or(Value::Null),
                        Col::Text => r
                            .get::<_, Option<String>>(i)
                            .map(Value::from)
                            .unwrap_or(Value::Null),
                        Col::Json => match r.get::<_, Option<&str>>(i) {
                            Some(text) => crate::backup::json_value(text)?,
                            None => Value::Null,
                        },
                        Col::Float => r
                            .get::<_, Option<f64>>(i)
                            .map(Value::from)
                            .unwrap_or(Value::Null),
                        Col::Bytes => r
                            .get::<_, Option<Vec<u8>>>(i)
                            .map(|b| Value::from(hex::encode(b)))
                            .unwrap_or(Value::Null),
                    });
                }
                w.row(values)?;
            }
        }
        w.end()?;
    }
    w.finish()
}

/// Inserts `n` rows whose values lie one after another in `args`.
async fn insert_rows(
    tx: &deadpool_postgres::Transaction<'_>,
    t: &crate::backup::Table,
    args: &[Box<dyn ToSql + Sync + Send>],
    n: usize,
) -> Result<()> {
    use crate::backup::Col;
    if n == 0 {
        return Ok(());
    }
    let width = t.cols.len();
    let cols: Vec<&str> = t.cols.iter().map(|(c, _)| *c).collect();
    let rows: Vec<String> = (0..n)
        .map(|r| {
            let one: Vec<String> = t
                .cols
                .iter()
                .enumerate()
                .map(|(i, (_, k))| {
                    let p = r * width + i + 1;
                    match k {
                        Col::Json => format!("(${p}::TEXT)::JSONB"),
                        _ => format!("${p}"),
                    }
                })
                .collect();
            format!("({})", one.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        t.name,
        cols.join(", "),
        rows.join(", ")
    );
    let refs: Vec<&(dyn ToSql + Sync)> = args
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect();
    tx.execute(&sql, &refs).await?;
    Ok(())
}

async fn restore_pg(
    tx: &deadpool_postgres::Transaction<'_>,
    path: &std::path::Path,
) -> Result<crate::backup::BackupSummary> {
    use crate::backup::{as_bytes, as_float, as_int, as_json_text, as_text, Col, Item, Reader};
    type P = Box<dyn ToSql + Sync + Send>;
    let mut reader = Reader::open(path)?;
    // An empty database may still hold its own settings and bookkeeping; the archive's win.
    tx.execute("DELETE FROM meta", &[]).await?;
    // Rows go in many at a time: one multi-row INSERT per chunk (at most 60,000 parameters).
    let mut current: Option<&'static crate::backup::Table> = None;
    let mut buffer: Vec<P> = Vec::new();
    let mut rows_in_buffer = 0usize;
    while let Some(item) = reader.next_item()? {
        match item {
            Item::Begin(t) => {
                current = (t.name != "number_seq").then_some(t);
                buffer.clear();
                rows_in_buffer = 0;
            }
            Item::Row(values) => match current {
                None => {
                    // A number_seq row: the month's sequence, set to where it was.
                    let ym = as_text(&values[0])?.unwrap_or_default();
                    let last = as_int(&values[1])?.unwrap_or(0);
                    let (y, m) = ym
                        .split_once('-')
                        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
                        .ok_or_else(|| {
                            StoreError::invalid(
                                ErrorCode::BadBackup,
                                format!("备份中的月份 {ym} 无效"),
                            )
                        })?;
                    let seq = month_sequence(y, m);
                    tx.batch_execute(&format!(
                        "CREATE SEQUENCE IF NOT EXISTS {seq} MAXVALUE 999999"
                    ))
                    .await?;
                    if last > 0 {
                        tx.execute(&format!("SELECT setval('{seq}', $1)"), &[&last])
                            .await?;
                    }
                }
                Some(t) => {
                    for (v, (_, k)) in values.iter().zip(t.cols.iter()) {
                        buffer.push(match k {
                            Col::Int => Box::new(as_int(v)?),
                            Col::Text => Box::new(as_text(v)?),
                            Col::Json => Box::new(as_json_text(v)?),
                            Col::Float => Box::new(as_float(v)?),
                            Col::Bytes => Box::new(as_bytes(v)?),
                        });
                    }
                    rows_in_buffer += 1;
                    let limit = (60_000 / t.cols.len()).min(2_000);
                    if rows_in_buffer >= limit
                        || matches!(t.name, "attachments" | "aggregate_files")
                    {
                        insert_rows(tx, t, &buffer, rows_in_buffer).await?;
                        buffer.clear();
                        rows_in_buffer = 0;
                    }
                }
            },
            Item::End => {
                if let Some(t) = current.take() {
                    insert_rows(tx, t, &buffer, rows_in_buffer).await?;
                }
                buffer.clear();
                rows_in_buffer = 0;
            }
        }
    }
    // Identities continue after the restored rows.
    for (table, seq) in [
        ("users", "pg_get_serial_sequence('users', 'id')"),
        ("events", "pg_get_serial_sequence('events', 'id')"),
        ("attachments", "pg_get_serial_sequence('attachments', 'id')"),
        (
            "entered_rates",
            "pg_get_serial_sequence('entered_rates', 'id')",
        ),
        ("appeals", "'appeal_ids'"),
        (
            "aggregate_events",
            "pg_get_serial_sequence('aggregate_events', 'id')",
        ),
        ("audit_log", "pg_get_serial_sequence('audit_log', 'id')"),
    ] {
        tx.execute(
            &format!("SELECT setval({seq}, (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"),
            &[],
        )
        .await?;
    }
    Ok(reader.summary())
}

fn pg_model_info(r: &tokio_postgres::Row) -> crate::ModelInfo {
    crate::ModelInfo {
        version: r.get::<_, i64>(0) as u64,
        kind: r.get(1),
        created_at: from_secs(r.get(2)),
        meta: serde_json::from_str(r.get(3)).unwrap_or(serde_json::Value::Null),
        bytes: r.get::<_, i64>(4) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog_with(categories: usize) -> Catalog {
        Catalog {
            org: Org::new(vec![Unit {
                id: UnitId(1),
                name: "测试县".into(),
                kind: bihuan_domain::org::UnitKind::County,
                parent: None,
                aliases: vec![],
            }])
            .unwrap(),
            categories: CategoryTree::new(
                (1..=categories as u32)
                    .map(|i| Category {
                        id: CategoryId(i),
                        name: format!("分类{i}"),
                        parent: None,
                    })
                    .collect(),
            )
            .unwrap(),
            policies: PolicyTable::defaults(),
            calendar: Calendar::empty(),
            weights: Default::default(),
            rules: vec![],
        }
    }

    /// The race CI once lost: the watch loads version 1 while this server commits version 2
    /// and installs it; the watch's older catalog must not replace the newer one.
    #[test]
    fn an_older_catalog_never_replaces_a_newer_one() {
        let cached = RwLock::new(Arc::new(catalog_with(0)));
        let version = AtomicI64::new(0);
        assert!(install_catalog(&cached, &version, catalog_with(4), 2));
        assert!(!install_catalog(&cached, &version, catalog_with(1), 1));
        assert!(!install_catalog(&cached, &version, catalog_with(1), 2));
        assert_eq!(version.load(Ordering::SeqCst), 2);
        assert_eq!(cached.read().unwrap().categories.iter().count(), 4);
        assert!(install_catalog(&cached, &version, catalog_with(5), 3));
        assert_eq!(cached.read().unwrap().categories.iter().count(), 5);
    }
}
