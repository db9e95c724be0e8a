//! The embedded SQLite store.
//!
//! * **One writer thread** owns the only read-write connection. Requests queue jobs; the writer
//!   takes every job waiting, runs them all in one transaction, commits once and only then
//!   answers them all (group commit): a burst of N requests costs one disk flush. A job refuses
//!   (a domain refusal, a validation error) before it writes or reserves anything, so a refusal
//!   needs no rollback and takes no appeal number: numbers stay consecutive. A storage failure
//!   or a panic rolls the whole batch back, and every job in it fails unacknowledged (see
//!   `writer_loop`).
//! * **Durability**: WAL with `synchronous=FULL`, so a commit is flushed to disk before any
//!   request is answered; an acknowledged write survives SIGKILL and power loss. (`NORMAL` would
//!   be faster but can lose the last commits on power loss.) Group commit pays for it.
//! * **Readers** use a small pool of read-only connections, which WAL lets run beside the
//!   writer.

use bihuan_domain::ErrorCode;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};

use async_trait::async_trait;
use bihuan_domain::appeal::{AppealId, AppealNumber, UserId};
use bihuan_domain::calendar::YearNotice;
use bihuan_domain::category::{Category, CategoryId, CategoryTree};
use bihuan_domain::lifecycle::{
    Actor, Appeal, Command, EventRecord, MasterRef, NewAppeal, ReviewRequest, Status,
};
use bihuan_domain::org::{Org, Unit, UnitId};
use bihuan_domain::time::{local_date, Instant};
use bihuan_domain::{Calendar, PolicyTable};
use chrono::{DateTime, Datelike, Utc};
use rusqlite::{params, params_from_iter, Connection, OpenFlags, OptionalExtension};

use crate::query::{code, filter_clauses, secs, where_sql, Arg};
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
pub(crate) mod codec;
pub mod maintain;
mod ops;
mod reference;
mod rollups;
mod smart;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/001_init.sql"),
    include_str!("../../migrations/sqlite/002_attachments.sql"),
    include_str!("../../migrations/sqlite/003_entered_rates.sql"),
    include_str!("../../migrations/sqlite/004_rollups.sql"),
    include_str!("../../migrations/sqlite/005_smart.sql"),
    include_str!("../../migrations/sqlite/006_one_citizen_index.sql"),
    include_str!("../../migrations/sqlite/007_one_due_index.sql"),
    include_str!("../../migrations/sqlite/008_partial_unit_indexes.sql"),
    include_str!("../../migrations/sqlite/009_aggregates.sql"),
    include_str!("../../migrations/sqlite/010_audit.sql"),
    include_str!("../../migrations/sqlite/011_appeal_facts.sql"),
    include_str!("../../migrations/sqlite/012_deadline_columns.sql"),
    include_str!("../../migrations/sqlite/013_aggregate_files.sql"),
    include_str!("../../migrations/sqlite/014_due_first_index.sql"),
];

/// The writer connection's page cache, in KiB.
const WRITER_CACHE_KIB: i64 = 256 * 1024;

/// Largest number of jobs committed together.
const MAX_BATCH: usize = 512;

type Finish = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&Connection, &mut Batch) -> (JobOutcome, Finish) + Send>;

/// What the writer's current batch has gathered for its commit, handed to each job: rows every
/// registration touches (a rollup cell, the month's last appeal number) are written once per
/// batch, just before its commit, not once per job.
#[derive(Default)]
struct Batch {
    /// The rollup changes of the batch's jobs.
    rollups: crate::rollups::Delta,
    /// Each month's last appeal number reserved in the batch, not yet written.
    numbers: Vec<(String, i64)>,
}

impl Batch {
    /// Adds a job's rollup changes.
    fn defer_rollups(&mut self, delta: crate::rollups::Delta) {
        self.rollups.merge(delta);
    }
}

/// What the writer thread reports about itself: whether it still runs, and how many jobs
/// panicked (each failed alone with its batch, and the writer went on).
#[derive(Default)]
struct WriterHealth {
    stopped: AtomicBool,
    panics: AtomicU64,
}

/// Marks the writer stopped when its thread ends for any reason, a panic included. `closed`:
/// it ended because the store was dropped (every sender gone), the normal end of a process.
struct StoppedOnDrop(Arc<WriterHealth>, bool);

impl Drop for StoppedOnDrop {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        if self.1 {
            tracing::debug!("the SQLite writer thread ended with its store");
        } else {
            tracing::error!(
                "the SQLite writer thread has stopped; writes will fail until a restart"
            );
        }
    }
}

/// How a write job ended (see `writer_loop`).
enum JobOutcome {
    /// Wrote what it meant to; answered after the commit.
    Done,
    /// Refused before writing anything; answered with its error.
    Refused,
    /// A storage error, possibly after a partial write: the batch must be rolled back.
    Failed,
}

pub struct SqliteStore {
    path: PathBuf,
    jobs: Mutex<mpsc::Sender<Job>>,
    depth: Arc<AtomicUsize>,
    writer: Arc<WriterHealth>,
    readers: Arc<Mutex<Vec<Connection>>>,
    catalog: Arc<RwLock<Arc<Catalog>>>,
    /// The rollup sums of a bulk load, written at its end (`Store::begin_bulk`): `Some` while one
    /// runs. Holds only what committed.
    bulk: Arc<Mutex<Option<crate::rollups::Delta>>>,
    /// Dropped with the store, which tells the checkpointer to stop.
    _checkpointer: mpsc::Sender<()>,
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        internal(e)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        internal(e)
    }
}

fn parse_code<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(internal)
}

fn from_secs(s: i64) -> Instant {
    DateTime::<Utc>::from_timestamp(s, 0).unwrap_or_default()
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let target = MIGRATIONS.len() as i64;
    if current > target {
        return Err(internal(format!(
            "the database is at schema version {current}, newer than this program ({target}); \
             use a newer bihuan"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Fills the deadline columns (migration 012) of the appeals written before them, once.
fn fill_deadline_columns(conn: &mut Connection) -> Result<()> {
    let done: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'deadline_columns'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if done.is_some() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    let n = refill_deadline_columns(&tx)?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('deadline_columns', '1')",
        [],
    )?;
    tx.commit()?;
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
pub(super) fn refill_deadline_columns(conn: &Connection) -> Result<u64> {
    let mut n = 0u64;
    let mut read = conn.prepare("SELECT state FROM appeals WHERE next_due IS NOT NULL")?;
    let mut write = conn.prepare(
        "UPDATE appeals SET dispatch_due = ?, sign_due = ?, contact_due = ?, reply_due = ?
         WHERE id = ?",
    )?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let a = codec::state_of(r.get_ref(0)?)?;
        let d = crate::Deadline::columns_of(&a);
        write.execute(params![d[0], d[1], d[2], d[3], a.id.0 as i64])?;
        n += 1;
    }
    Ok(n)
}

fn load_catalog(conn: &Connection) -> Result<Catalog> {
    let mut stmt = conn.prepare("SELECT id, name, kind, parent, aliases FROM units ORDER BY id")?;
    let units = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut list = Vec::new();
    for (id, name, kind, parent, aliases) in units {
        list.push(Unit {
            id: UnitId(id as u32),
            name,
            kind: parse_code(&kind)?,
            parent: parent.map(|p| UnitId(p as u32)),
            aliases: serde_json::from_str(&aliases)?,
        });
    }
    let org = if list.is_empty() {
        Org::default()
    } else {
        Org::new(list).map_err(internal)?
    };
    let mut stmt = conn.prepare("SELECT id, name, parent FROM categories ORDER BY id")?;
    let cats = stmt
        .query_map([], |r| {
            Ok(Category {
                id: CategoryId(r.get::<_, i64>(0)? as u32),
                name: r.get(1)?,
                parent: r.get::<_, Option<i64>>(2)?.map(|p| CategoryId(p as u32)),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let categories = CategoryTree::new(cats).map_err(internal)?;
    let policies: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'policies'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let policies = match policies {
        Some(json) => serde_json::from_str(&json)?,
        None => PolicyTable::defaults(),
    };
    let weights: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'score_weights'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let weights = match weights {
        Some(json) => serde_json::from_str(&json)?,
        None => bihuan_domain::metrics::ScoreWeights::default(),
    };
    let rules: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'dispatch_rules'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let rules = match rules {
        Some(json) => serde_json::from_str(&json)?,
        None => Vec::new(),
    };
    let mut calendar = Calendar::official();
    let mut stmt = conn.prepare("SELECT json FROM calendar_years ORDER BY year")?;
    for json in stmt.query_map([], |r| r.get::<_, String>(0))? {
        calendar.load_json(&json?).map_err(internal)?;
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

fn model_info(r: &rusqlite::Row<'_>) -> rusqlite::Result<crate::ModelInfo> {
    let meta: String = r.get(3)?;
    Ok(crate::ModelInfo {
        version: r.get::<_, i64>(0)? as u64,
        kind: r.get(1)?,
        created_at: from_secs(r.get(2)?),
        meta: serde_json::from_str(&meta).unwrap_or(serde_json::Value::Null),
        bytes: r.get::<_, i64>(4)? as u64,
    })
}

fn read_appeal(conn: &Connection, r: &AppealRef) -> Result<Appeal> {
    let row: Option<rusqlite::types::Value> = match r {
        AppealRef::Id(id) => conn
            .prepare_cached("SELECT state FROM appeals WHERE id = ?")?
            .query_row([id.0 as i64], |r| r.get(0))
            .optional()?,
        AppealRef::Number(n) => conn
            .prepare_cached("SELECT state FROM appeals WHERE number = ?")?
            .query_row([n.to_string()], |r| r.get(0))
            .optional()?,
    };
    let stored = row.ok_or_else(|| StoreError::not_found(r.to_string()))?;
    codec::state_of((&stored).into())
}

/// Writes the current state row and the involvement index.
fn save_appeal(conn: &Connection, a: &Appeal, idempotency_key: Option<&str>) -> Result<()> {
    save_encoded_appeal(conn, a, &codec::state_blob(a)?, idempotency_key)
}

/// `save_appeal` with the state already encoded (`codec::state_blob`), e.g. beside the writer.
fn save_encoded_appeal(
    conn: &Connection,
    a: &Appeal,
    state: &[u8],
    idempotency_key: Option<&str>,
) -> Result<()> {
    let next = a.next_deadline();
    let due = crate::Deadline::columns_of(a);
    conn.prepare_cached(
        "INSERT INTO appeals (id, number, version, status, regime, kind, channel, urgency,
             category, township, lead, owner, registered_at, registered_by, citizen_key,
             next_due, due_soon_at, idempotency_key, updated_at, state, unsupervised_due,
             dispatch_due, sign_due, contact_due, reply_due)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
             ?22, ?23, ?24, ?25)
         ON CONFLICT(id) DO UPDATE SET version = excluded.version, status = excluded.status,
             category = excluded.category, township = excluded.township, lead = excluded.lead,
             owner = excluded.owner, next_due = excluded.next_due,
             due_soon_at = excluded.due_soon_at, updated_at = excluded.updated_at,
             state = excluded.state, unsupervised_due = excluded.unsupervised_due,
             dispatch_due = excluded.dispatch_due, sign_due = excluded.sign_due,
             contact_due = excluded.contact_due, reply_due = excluded.reply_due",
    )?
    .execute(params![
            a.id.0 as i64,
            a.number.to_string(),
            a.version as i64,
            code(&a.status),
            code(&a.regime),
            code(&a.kind),
            code(&a.channel),
            code(&a.urgency),
            a.category.map(|c| c.0 as i64),
            a.place.township.map(|u| u.0 as i64),
            a.lead.map(|u| u.0 as i64),
            a.owner.as_ref().map(|o| o.user.0 as i64),
            secs(a.registered_at),
            a.registered_by.0 as i64,
            a.citizen.identity_key().map(|k| crate::citizen_key(&k)),
            next.map(|(_, due)| secs(due)),
            a.due_soon_at().map(secs),
            idempotency_key,
            secs(a.last_at),
            state,
            a.next_unsupervised_deadline().map(secs),
            due[0],
            due[1],
            due[2],
            due[3],
    ])?;
    let mut stmt = conn
        .prepare_cached("INSERT OR IGNORE INTO appeal_units (unit_id, appeal_id) VALUES (?, ?)")?;
    for u in crate::access_rows(a) {
        stmt.execute(params![u, a.id.0 as i64])?;
    }
    Ok(())
}

fn insert_events(conn: &Connection, records: &[EventRecord]) -> Result<()> {
    let bodies = records
        .iter()
        .map(codec::event_blob)
        .collect::<Result<Vec<_>>>()?;
    insert_encoded_events(conn, records, &bodies)
}

/// `insert_events` with each body already encoded (`codec::event_blob`).
fn insert_encoded_events(
    conn: &Connection,
    records: &[EventRecord],
    bodies: &[Vec<u8>],
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO events (appeal_id, version, at, actor_user, type, body) VALUES (?, ?, ?, ?, ?, ?)",
    )?;
    for (r, body) in records.iter().zip(bodies) {
        stmt.execute(params![
            r.appeal.0 as i64,
            r.version as i64,
            secs(r.at),
            r.actor.user.0 as i64,
            r.event.name(),
            body,
        ])?;
    }
    Ok(())
}

fn next_number(conn: &Connection, batch: &mut Batch, at: Instant) -> Result<AppealNumber> {
    let d = local_date(at);
    let seqs = reserve_numbers(conn, batch, d.year(), d.month(), 1)?;
    AppealNumber::new(d.year() as u16, d.month() as u8, seqs[0])
        .ok_or_else(|| StoreError::invalid(ErrorCode::NumberExhausted, "本月工单编号已用尽"))
}

fn reserve_numbers(
    conn: &Connection,
    batch: &mut Batch,
    year: i32,
    month: u32,
    count: u32,
) -> Result<Vec<u32>> {
    let ym = format!("{year:04}-{month:02}");
    if count == 0 || count > 999_999 {
        return Err(StoreError::invalid(
            ErrorCode::NumberExhausted,
            "每月最多999999个工单编号",
        ));
    }
    // The month's last number is read once per batch and then counted in memory; the batch
    // writes it back once, before its commit (`flush_numbers`). Safe because the writer holds
    // the database's write lock for the whole batch, and every reservation goes through here.
    // One upsert per registration was a tenth of a registration's time on the writer.
    let cached = batch
        .numbers
        .iter()
        .find(|(k, _)| *k == ym)
        .map(|(_, last)| *last);
    let before = match cached {
        Some(last) => last,
        None => conn
            .prepare_cached("SELECT last FROM number_seq WHERE ym = ?")?
            .query_row([&ym], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0),
    };
    let last = before + count as i64;
    // Refused before anything is counted: a refused job leaves nothing behind.
    if last > 999_999 {
        return Err(StoreError::invalid(
            ErrorCode::NumberExhausted,
            "本月工单编号已用尽（每月最多999999件）",
        ));
    }
    match batch.numbers.iter_mut().find(|(k, _)| *k == ym) {
        Some(e) => e.1 = last,
        None => batch.numbers.push((ym, last)),
    }
    Ok(((before + 1)..=last).map(|n| n as u32).collect())
}

/// Writes back the last numbers the batch reserved (see `reserve_numbers`).
fn flush_numbers(conn: &Connection, reserved: Vec<(String, i64)>) -> Result<()> {
    for (ym, last) in reserved {
        conn.prepare_cached(
            "INSERT INTO number_seq (ym, last) VALUES (?1, ?2)
             ON CONFLICT(ym) DO UPDATE SET last = excluded.last",
        )?
        .execute(params![ym, last])?;
    }
    Ok(())
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(User, String)> {
    Ok((
        User {
            id: UserId(r.get::<_, i64>(0)? as u32),
            login: r.get(1)?,
            name: r.get(2)?,
            role: bihuan_domain::Role::Admin, // replaced below from the role text
            unit: UnitId(r.get::<_, i64>(4)? as u32),
            active: r.get::<_, i64>(5)? != 0,
            password_hash: r.get(6)?,
        },
        r.get::<_, String>(3)?,
    ))
}

fn attachment_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<crate::Attachment> {
    Ok(crate::Attachment {
        id: r.get::<_, i64>(0)? as u64,
        appeal: AppealId(r.get::<_, i64>(1)? as u64),
        name: r.get(2)?,
        mime: r.get(3)?,
        size: r.get::<_, i64>(4)? as u64,
        sha256: r.get(5)?,
        uploaded_by: UserId(r.get::<_, i64>(6)? as u32),
        at: from_secs(r.get(7)?),
    })
}

const USER_COLS: &str = "id, login, name, role, unit, active, password_hash";

fn finish_user((mut u, role): (User, String)) -> Result<User> {
    u.role = parse_code(&role)?;
    Ok(u)
}

fn user_by(conn: &Connection, clause: &str, p: impl rusqlite::Params) -> Result<Option<User>> {
    conn.query_row(
        &format!("SELECT {USER_COLS} FROM users WHERE {clause}"),
        p,
        user_from_row,
    )
    .optional()?
    .map(finish_user)
    .transpose()
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, runs migrations and starts the writer.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                internal(format!("cannot create the folder {}: {e}", dir.display()))
            })?;
        }
        let mut conn = Connection::open(&path)
            .map_err(|e| internal(format!("cannot open {}: {e}", path.display())))?;
        configure(&conn)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(internal(format!("cannot switch {} to WAL", path.display())));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        // The writer's page cache (SQLite's default is 2 MiB): every write touches about a dozen
        // index pages, several at places a hash picks (the caller's key), and past a few hundred
        // thousand appeals the default cache missed on most of them — each miss a system call
        // and a copy from the OS (a third of the writer's time in a 10-million-appeal load).
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        // The checkpointer thread copies the log into the database (see `checkpointer`); the
        // writer does so itself only as a backstop when the log grows past 64 MiB, and the log
        // file is cut back to that size when it starts over.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP_PAGES)?;
        conn.pragma_update(None, "journal_size_limit", WAL_BACKSTOP_PAGES * 4096)?;
        migrate(&mut conn)?;
        fill_deadline_columns(&mut conn)?;
        let loaded = load_catalog(&conn)?;
        let built: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'rollups_built'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if built.as_deref() != Some(bihuan_domain::rollup::FACTS_VERSION) {
            // A database from before rollups, or whose rollups an older version of the facts
            // built: build them once.
            let started = std::time::Instant::now();
            let tx = conn.transaction()?;
            let n = rebuild_rollups_sql(&tx, &mut Batch::default(), &loaded.calendar)?;
            tx.commit()?;
            if n > 0 {
                tracing::info!(
                    appeals = n,
                    seconds = started.elapsed().as_secs_f64(),
                    "built the metric rollups of an older database (once)"
                );
            }
        }
        let catalog = Arc::new(RwLock::new(Arc::new(loaded)));

        let (tx, rx) = mpsc::channel::<Job>();
        let depth = Arc::new(AtomicUsize::new(0));
        let writer_depth = depth.clone();
        let writer = Arc::new(WriterHealth::default());
        let writer_health = writer.clone();
        std::thread::Builder::new()
            .name("bihuan-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx, writer_depth, writer_health))
            .map_err(internal)?;
        let checkpoint_conn = Connection::open(&path)
            .map_err(|e| internal(format!("cannot open {}: {e}", path.display())))?;
        configure(&checkpoint_conn)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("bihuan-sqlite-checkpoint".into())
            .spawn(move || checkpointer(checkpoint_conn, stopped))
            .map_err(internal)?;
        Ok(SqliteStore {
            path,
            jobs: Mutex::new(tx),
            depth,
            writer,
            readers: Arc::new(Mutex::new(Vec::new())),
            catalog,
            bulk: Arc::new(Mutex::new(None)),
            _checkpointer: stop,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues a write job that panics, as a bug would (for the tests that the writer survives
    /// one). Answers with the error its caller would see.
    #[doc(hidden)]
    pub async fn write_panicking_job(&self) -> Result<()> {
        self.write(|_conn| -> Result<()> { panic!("a deliberate panic in a write job") })
            .await
    }

    /// Queues a write job and waits until it is committed (or failed).
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.write_in_batch(move |conn, _| f(conn), |_| {}).await
    }

    /// Like `write`, with `after` run on the value once the commit has succeeded, in commit
    /// order (used to swap the in-memory catalog).
    async fn write_then<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
        after: impl FnOnce(&T) + Send + 'static,
    ) -> Result<T> {
        self.write_in_batch(move |conn, _| f(conn), after).await
    }

    /// The general write job: `f` also gets the batch it runs in, to leave rollup changes and
    /// reserved numbers for the batch's commit (`Batch`).
    async fn write_in_batch<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &mut Batch) -> Result<T> + Send + 'static,
        after: impl FnOnce(&T) + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |conn, batch| match f(conn, batch) {
            Ok(v) => (
                JobOutcome::Done,
                Box::new(move |commit| {
                    let out = commit.map(|()| {
                        after(&v);
                        v
                    });
                    let _ = tx.send(out.map_err(StoreError::Internal));
                }),
            ),
            Err(e) => (
                if matches!(e, StoreError::Internal(_)) {
                    JobOutcome::Failed
                } else {
                    JobOutcome::Refused
                },
                Box::new(move |_| {
                    let _ = tx.send(Err(e));
                }),
            ),
        });
        self.depth.fetch_add(1, Ordering::Relaxed);
        let sent = self.jobs.lock().map_err(internal)?.send(job);
        if sent.is_err() {
            self.depth.fetch_sub(1, Ordering::Relaxed);
            return Err(internal("the database writer has stopped"));
        }
        rx.await.map_err(|_| {
            internal("the database writer dropped this job (its batch failed); retry")
        })?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let pool = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match pool.lock().map_err(internal)?.pop() {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    configure(&c)?;
                    c
                }
            };
            let out = f(&conn);
            if let Ok(mut p) = pool.lock() {
                if p.len() < 16 {
                    p.push(conn);
                }
            }
            out
        })
        .await
        .map_err(internal)?
    }

    /// Stores one catalog setting as JSON under a `meta` key and applies it to the catalog, in
    /// one write; the new catalog replaces the old after the commit.
    async fn put_catalog_meta(
        &self,
        key: &'static str,
        json: String,
        apply: impl FnOnce(&mut Catalog) + Send + 'static,
    ) -> Result<()> {
        let catalog = self.catalog.clone();
        let swap = self.catalog_swapper();
        self.write_then(
            move |conn| {
                let mut cat = catalog.read().map_err(internal)?.as_ref().clone();
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [key, json.as_str()],
                )?;
                apply(&mut cat);
                Ok(cat)
            },
            swap,
        )
        .await
        .map(|_| ())
    }

    /// Replaces the catalog after a committed change of reference data.
    fn catalog_swapper(&self) -> impl FnOnce(&Catalog) + Send + 'static {
        let slot = self.catalog.clone();
        move |c: &Catalog| {
            if let Ok(mut w) = slot.write() {
                *w = Arc::new(c.clone());
            }
        }
    }
}

/// The writer. Jobs follow one rule: a job that refuses (a domain refusal, a validation error)
/// does so before it writes anything, so refusals need no rollback; only a storage failure can
/// come after a write, and then the whole batch is rolled back and every job in it fails (none
/// was acknowledged yet; clients retry, and idempotency keys make retries safe). Not using a
/// savepoint per job matters: savepoints copy every page a job touches into a sub-journal, which
/// cost a third of the writer's time.
///
/// A job that panics (a bug: every input is meant to be refused before it gets here) is caught:
/// it may have written part of its change, so its batch is rolled back like a storage failure,
/// its caller gets an internal error, the batch's other callers get the usual "retry" failure
/// (none was acknowledged, so nothing acknowledged is lost), and the writer takes the next batch.
fn writer_loop(
    conn: Connection,
    rx: mpsc::Receiver<Job>,
    depth: Arc<AtomicUsize>,
    health: Arc<WriterHealth>,
) {
    let mut stopped = StoppedOnDrop(health.clone(), false);
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        depth.fetch_sub(batch.len(), Ordering::Relaxed);
        let mut context = Batch::default();
        let mut finishers = Vec::with_capacity(batch.len());
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            for job in batch {
                // Cannot start a transaction: fail every job. A job's refusals come before its
                // writes, and its writes fail without a transaction, so nothing is kept.
                if let Some((_, finish)) = run_job(job, &conn, &mut context, &health) {
                    finish(Err(format!("cannot begin a transaction: {e}")));
                }
            }
            continue;
        }
        let mut failed: Option<String> = None;
        for job in batch {
            if failed.is_some() {
                // The batch is lost already; later jobs are not run. Dropping a job drops its
                // reply channel, which its caller reports as a storage failure.
                drop(job);
                continue;
            }
            match run_job(job, &conn, &mut context, &health) {
                Some((outcome, finish)) => {
                    if let JobOutcome::Failed = outcome {
                        failed = Some("a storage failure rolled back this batch; retry".into());
                    }
                    finishers.push(finish);
                }
                None => failed = Some("another write in this batch failed; retry".into()),
            }
        }
        // The batch's rollup changes, summed over all its jobs: rows that every registration
        // touches are written once per batch, not once per job.
        let Batch { rollups, numbers } = context;
        if failed.is_none() {
            if let Err(e) = flush_rollups(&conn, rollups) {
                failed = Some(format!(
                    "storage failure while writing rollups ({e}); retry"
                ));
            }
        }
        if failed.is_none() {
            if let Err(e) = flush_numbers(&conn, numbers) {
                failed = Some(format!(
                    "storage failure while writing appeal numbers ({e}); retry"
                ));
            }
        }
        let commit = match failed {
            Some(reason) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(reason)
            }
            None => conn.execute_batch("COMMIT").map_err(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                format!("commit failed: {e}")
            }),
        };
        for finish in finishers {
            finish(commit.clone());
        }
    }
    // Every sender is gone: the store was dropped.
    stopped.1 = true;
}

/// Runs one job, catching a panic: `None` when it panicked (counted and logged; its reply
/// channel went with it, so its caller hears that the writer dropped the job).
fn run_job(
    job: Job,
    conn: &Connection,
    batch: &mut Batch,
    health: &WriterHealth,
) -> Option<(JobOutcome, Finish)> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(conn, batch))) {
        Ok(done) => Some(done),
        Err(panic) => {
            health.panics.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                panic = panic_text(&panic),
                "a write job panicked; its batch is rolled back and the writer goes on"
            );
            None
        }
    }
}

/// The message of a caught panic, for the log.
fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    }
}

/// How often the checkpointer looks at the write-ahead log.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// Pages (4 KiB) in the write-ahead log at which the writer checkpoints after a commit itself.
const WAL_BACKSTOP_PAGES: i64 = 16_384;

/// Copies committed pages from the write-ahead log into the database file, on its own thread
/// and connection, so that the writer rarely stops to do it: with SQLite's automatic
/// checkpoints every 1,000 pages, the commit that crossed them copied the pages and synced the
/// database file while every client in its batch, and the next, waited. Checkpoints here are
/// PASSIVE: they never wait for the writer or for readers (a long backup only holds back how
/// far they get). The log starts over when the writer begins a batch and finds it all copied;
/// should this thread fall behind a steady stream of writes, the writer's own checkpoint at
/// `WAL_BACKSTOP_PAGES` (also PASSIVE) finishes the copy so that the log can start over.
/// Durability does not depend on any of this: a commit is durable once its log frames are
/// synced (synchronous = FULL).
fn checkpointer(conn: Connection, stop: mpsc::Receiver<()>) {
    loop {
        let stopping = !matches!(
            stop.recv_timeout(CHECKPOINT_EVERY),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "write-ahead log checkpoint failed");
        }
        if stopping {
            break;
        }
    }
}

/// One bound JSON array of ids as a set.
const IDS_SQL: &str = "SELECT value FROM json_each(?)";

fn sqlite_args(args: Vec<Arg>) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value as V;
    args.into_iter()
        .map(|a| match a {
            Arg::Int(i) => V::Integer(i),
            Arg::Text(t) => V::Text(t),
            Arg::Ids(ids) => V::Text(serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())),
        })
        .collect()
}

fn count_query(conn: &Connection, catalog: &Catalog, f: &AppealFilter) -> Result<u64> {
    let (sql, args) = crate::query::count_sql(catalog, f, IDS_SQL);
    let args = sqlite_args(args);
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(args), |r| r.get(0))?;
    Ok(n as u64)
}

fn list_query(
    conn: &Connection,
    catalog: &Catalog,
    f: &AppealFilter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page> {
    let (mut clauses, mut args) = filter_clauses(catalog, f, IDS_SQL);
    let (key, order) = crate::query::order_clause(f.sort, cursor, &mut clauses, &mut args)?;
    let args = sqlite_args(args);
    let where_ = where_sql(&clauses);
    let sql = format!(
        "SELECT id, {key}, state FROM appeals {where_} {order} LIMIT {}",
        limit + 1
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, rusqlite::types::Value>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let more = rows.len() > limit as usize;
    let mut items = Vec::with_capacity(rows.len().min(limit as usize));
    let mut last = None;
    for (id, key, stored) in rows.into_iter().take(limit as usize) {
        items.push(codec::state_of((&stored).into())?);
        last = Some((id, key));
    }
    let next_cursor = match (more, last) {
        (true, Some((id, key))) => Some(crate::query::cursor_after(f.sort, id, key)),
        _ => None,
    };
    Ok(Page { items, next_cursor })
}

// ---- Rollups (see `crate::rollups`) ----

/// Whether someone else raised `a`'s matter again in its window (ignoring `exclude`).
fn raised_again_sql(conn: &Connection, a: &Appeal, exclude: [u64; 2]) -> Result<bool> {
    let Some(probe) = crate::rollups::RepeatProbe::of(a) else {
        return Ok(false);
    };
    let (after, before) = probe.interior();
    let inside: Option<i64> = conn
        .prepare_cached(
            "SELECT 1 FROM appeals WHERE citizen_key = ? AND category = ? AND registered_at > ?
             AND registered_at < ? AND id NOT IN (?, ?) LIMIT 1",
        )?
        .query_row(
            params![
                probe.key,
                probe.category,
                after,
                before,
                exclude[0] as i64,
                exclude[1] as i64
            ],
            |r| r.get(0),
        )
        .optional()?;
    if inside.is_some() {
        return Ok(true);
    }
    let [first, last] = probe.edges();
    let mut stmt = conn.prepare_cached(
        "SELECT state FROM appeals
         WHERE citizen_key = ? AND category = ? AND registered_at IN (?, ?) AND id NOT IN (?, ?)",
    )?;
    let edge: Vec<rusqlite::types::Value> = stmt
        .query_map(
            params![
                probe.key,
                probe.category,
                first,
                last,
                exclude[0] as i64,
                exclude[1] as i64
            ],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    for stored in edge {
        if probe.hits(codec::state_of((&stored).into())?.registered_at) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// After `after` (previously `before`) was written: moves its facts in `delta`, replaces its
/// pending rows, and moves the one-shot facts of the same person's other appeals whose "raised
/// again" answer this write changed.
fn rollups_after_write(
    conn: &Connection,
    cal: &Calendar,
    before: Option<&Appeal>,
    after: &Appeal,
    delta: &mut crate::rollups::Delta,
) -> Result<()> {
    use bihuan_domain::rollup::{facts, Dims};
    let x = after.id.0;
    let mut old_facts = None;
    if let Some(b) = before {
        let rep = raised_again_sql(conn, b, [x, x])?;
        let fs = facts(b, rep, cal);
        delta.apply(&fs, &Dims::of(b), -1);
        old_facts = Some(fs);
        conn.prepare_cached("DELETE FROM rollup_pending WHERE appeal_id = ?")?
            .execute([x as i64])?;
    }
    let rep = raised_again_sql(conn, after, [x, x])?;
    let new_facts = facts(after, rep, cal);
    delta.apply(&new_facts, &Dims::of(after), 1);
    insert_pending(conn, &crate::rollups::pending_rows(after, &new_facts))?;
    write_fact_rows(
        conn,
        &crate::rollups::fact_changes(x, old_facts.as_deref(), &new_facts),
    )?;

    for key in crate::rollups::affected_keys(before, after) {
        let states: Vec<rusqlite::types::Value> = conn
            .prepare_cached(
                "SELECT state FROM appeals WHERE citizen_key = ? AND category = ? AND id != ?",
            )?
            .query_map(params![key.0, key.1, x as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for stored in states {
            let other = codec::state_of((&stored).into())?;
            if crate::rollups::repeat_window(&other).is_none() {
                continue;
            }
            let rest = raised_again_sql(conn, &other, [other.id.0, x])?;
            if let Some(ch) = crate::rollups::move_one_shot(delta, &other, rest, before, after, cal)
            {
                write_fact_rows(conn, &ch)?;
            }
        }
    }
    Ok(())
}

/// Brings an appeal's `appeal_facts` rows up to date.
fn write_fact_rows(conn: &Connection, ch: &crate::rollups::FactChanges) -> Result<()> {
    let a = ch.appeal as i64;
    if !ch.delete.is_empty() {
        let mut stmt = conn.prepare_cached(
            "DELETE FROM appeal_facts WHERE metric = ? AND day = ? AND unit = ? AND appeal_id = ?",
        )?;
        for (m, day, unit) in &ch.delete {
            stmt.execute(params![m.code(), day, unit, a])?;
        }
    }
    if !ch.upsert.is_empty() {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO appeal_facts (metric, day, unit, appeal_id, num, den, pending, due)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (metric, day, unit, appeal_id) DO UPDATE SET
               num = excluded.num, den = excluded.den, pending = excluded.pending,
               due = excluded.due",
        )?;
        for ((m, day, unit), r) in &ch.upsert {
            stmt.execute(params![
                m.code(),
                day,
                unit,
                a,
                r.num,
                r.den,
                r.pending,
                r.due
            ])?;
        }
    }
    Ok(())
}

fn insert_pending(conn: &Connection, rows: &[crate::rollups::PendingRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO rollup_pending (appeal_id, metric, day, due, unit, township, category, channel, kind)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?;
    for r in rows {
        stmt.execute(params![
            r.appeal as i64,
            r.metric.code(),
            r.day,
            r.due,
            r.keys[0],
            r.keys[1],
            r.keys[2],
            r.keys[3],
            r.keys[4]
        ])?;
    }
    Ok(())
}

fn flush_rollups(conn: &Connection, delta: crate::rollups::Delta) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO rollups (dim, g, bucket, metric, key, num, den, sum) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (dim, g, bucket, metric, key) DO UPDATE SET
             num = num + excluded.num, den = den + excluded.den, sum = sum + excluded.sum",
    )?;
    for ((dim, g, bucket, metric, key), (n, d, s)) in delta.changes() {
        stmt.execute(params![dim.code(), g, bucket, metric.code(), key, n, d, s])?;
    }
    Ok(())
}

/// Recomputes every rollup from the appeals, in the caller's transaction.
fn rebuild_rollups_sql(conn: &Connection, batch: &mut Batch, cal: &Calendar) -> Result<u64> {
    use bihuan_domain::rollup::{facts, Dims};
    // Changes of earlier jobs in this batch are in the appeals read below already.
    batch.rollups = Default::default();
    conn.execute("DELETE FROM rollups", [])?;
    conn.execute("DELETE FROM rollup_pending", [])?;
    conn.execute("DELETE FROM appeal_facts", [])?;
    let mut times = crate::rollups::RaisedTimes::default();
    {
        // Exact instants (the column holds whole seconds; see `RepeatProbe`).
        let mut stmt = conn.prepare(
            "SELECT citizen_key, category, state FROM appeals
             WHERE citizen_key IS NOT NULL AND category IS NOT NULL",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let at = codec::state_of(r.get_ref(2)?)?.registered_at;
            times.entry((r.get(0)?, r.get(1)?)).or_default().push(at);
        }
    }
    let mut delta = crate::rollups::Delta::default();
    let mut n = 0u64;
    let mut stmt = conn.prepare("SELECT state FROM appeals ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let a = codec::state_of(r.get_ref(0)?)?;
        let fs = facts(&a, crate::rollups::raised_again_in(&times, &a), cal);
        delta.apply(&fs, &Dims::of(&a), 1);
        insert_pending(conn, &crate::rollups::pending_rows(&a, &fs))?;
        write_fact_rows(conn, &crate::rollups::fact_changes(a.id.0, None, &fs))?;
        n += 1;
    }
    flush_rollups(conn, delta)?;
    mark_rollups(conn, bihuan_domain::rollup::FACTS_VERSION)?;
    Ok(n)
}

/// What the rollups were built by (`meta.rollups_built`): the facts version when they are
/// current, `BULK_LOAD` while a bulk load keeps its sums in memory. Anything but the current
/// facts version makes the next open rebuild them.
fn mark_rollups(conn: &Connection, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('rollups_built', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [value],
    )?;
    Ok(())
}

/// `meta.rollups_built` during a bulk load (see `mark_rollups`).
const BULK_LOAD: &str = "bulk load";

fn rollup_query_sql(
    conn: &Connection,
    q: &crate::rollups::RollupQuery,
) -> Result<std::collections::HashMap<String, bihuan_domain::rollup::Sums>> {
    use bihuan_domain::rollup::{Metric, Sums};
    let mut out: std::collections::HashMap<String, Sums> = Default::default();
    let dim = q.dim;
    for (g, lo, hi) in crate::rollups::segments(&q.period) {
        let mut stmt = conn.prepare_cached(
            "SELECT key, metric, SUM(num), SUM(den), SUM(sum) FROM rollups
             WHERE dim = ? AND g = ? AND bucket BETWEEN ? AND ? GROUP BY key, metric",
        )?;
        let mut rows = stmt.query(params![dim.code(), g, lo, hi])?;
        while let Some(r) = rows.next()? {
            let Some(m) = Metric::parse(&r.get::<_, String>(1)?) else {
                continue;
            };
            out.entry(r.get(0)?)
                .or_default()
                .add(m, r.get(2)?, r.get(3)?, r.get(4)?);
        }
    }
    let (lo, hi) = crate::rollups::day_range(&q.period);
    let col = ["unit", "township", "category", "channel", "kind"][dim as usize];
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {col}, metric, COUNT(*) FROM rollup_pending
         WHERE day BETWEEN ? AND ? AND due < ? GROUP BY {col}, metric"
    ))?;
    let mut rows = stmt.query(params![lo, hi, secs(q.now)])?;
    while let Some(r) = rows.next()? {
        let Some(m) = Metric::parse(&r.get::<_, String>(1)?) else {
            continue;
        };
        out.entry(r.get(0)?).or_default().add(m, 0, r.get(2)?, 0);
    }
    if q.period.end <= q.now {
        // A period that is over: the overdue count at its end, a running sum of the intervals.
        let mut stmt = conn.prepare_cached(
            "SELECT key, metric, SUM(den) FROM rollups
             WHERE dim = ? AND g = ? AND bucket BETWEEN ? AND ?
               AND metric IN ('overdue_from', 'overdue_until') GROUP BY key, metric",
        )?;
        let mut summed = Vec::new();
        for (g, lo, hi) in crate::rollups::before_end(&q.period) {
            let mut rows = stmt.query(params![dim.code(), g, lo, hi])?;
            while let Some(r) = rows.next()? {
                summed.push((r.get(0)?, r.get(1)?, r.get(2)?));
            }
        }
        crate::rollups::overdue_at_end(&mut out, summed);
        return Ok(out);
    }
    let col = dim.appeal_column();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {col}, COUNT(*) FROM appeals INDEXED BY appeals_overdue WHERE next_due < ? GROUP BY {col}"
    ))?;
    let mut rows = stmt.query([secs(q.now)])?;
    while let Some(r) = rows.next()? {
        let key = match r.get_ref(0)? {
            rusqlite::types::ValueRef::Null => String::new(),
            rusqlite::types::ValueRef::Integer(i) => i.to_string(),
            rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            _ => String::new(),
        };
        out.entry(key).or_default().overdue += r.get::<_, i64>(1)? as u64;
    }
    Ok(out)
}

fn rollup_dump_sql(conn: &Connection) -> Result<crate::RollupDump> {
    let mut stmt = conn.prepare(
        "SELECT dim, g, bucket, metric, key, num, den, sum FROM rollups
         WHERE num != 0 OR den != 0 OR sum != 0 ORDER BY dim, g, bucket, metric, key",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut stmt = conn.prepare(
        "SELECT appeal_id, metric, day, due, unit, township, category, channel, kind FROM rollup_pending",
    )?;
    let mut pending = Vec::new();
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        let metric = bihuan_domain::rollup::Metric::parse(&r.get::<_, String>(1)?)
            .ok_or_else(|| internal("unknown metric in rollup_pending"))?;
        pending.push(crate::rollups::PendingRow {
            appeal: r.get::<_, i64>(0)? as u64,
            metric,
            day: r.get(2)?,
            due: r.get(3)?,
            keys: [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
        });
    }
    pending.sort();
    let facts = conn
        .prepare(
            "SELECT metric, day, unit, appeal_id, num, den, pending, due FROM appeal_facts
             ORDER BY metric, day, unit, appeal_id",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(crate::RollupDump {
        rows,
        pending,
        facts,
    })
}

/// Refuses a restore into a store that already holds a county.
fn check_empty(n: i64) -> Result<()> {
    if n > 0 {
        return Err(StoreError::conflict(
            ErrorCode::NotEmpty,
            "只能恢复到新建的空数据库：这个数据库里已有单位、用户或工单",
        ));
    }
    Ok(())
}

fn backup_sqlite(conn: &Connection, path: &Path) -> Result<crate::backup::BackupSummary> {
    use crate::backup::{order_by, Col, Writer, TABLES};
    use rusqlite::types::ValueRef;
    use serde_json::Value;
    let mut w = Writer::create(path, "sqlite")?;
    for t in TABLES {
        w.begin(t)?;
        let cols: Vec<&str> = t.cols.iter().map(|(c, _)| *c).collect();
        let sql = format!(
            "SELECT {} FROM {} {} ORDER BY {}",
            cols.join(", "),
            t.name,
            crate::backup::row_filter(t),
            order_by(t)
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(t.cols.len());
            for (i, (name, col)) in t.cols.iter().enumerate() {
                values.push(match (r.get_ref(i)?, col) {
                    // Compact storage: the archive holds the JSON it stands for.
                    (ValueRef::Blob(b), Col::Json) => {
                        let shape = codec::Shape::of(t.name, name).ok_or_else(|| {
                            internal(format!("a blob in the JSON column {}.{name}", t.name))
                        })?;
                        crate::backup::json_value(&String::from_utf8_lossy(&codec::decode(
                            shape, b,
                        )?))?
                    }
                    (ValueRef::Null, _) => Value::Null,
                    (ValueRef::Integer(n), _) => Value::from(n),
                    (ValueRef::Real(f), _) => Value::from(f),
                    (ValueRef::Text(b), Col::Json) => {
                        crate::backup::json_value(&String::from_utf8_lossy(b))?
                    }
                    (ValueRef::Text(b), _) => {
                        Value::String(String::from_utf8_lossy(b).into_owned())
                    }
                    (ValueRef::Blob(b), Col::Bytes) => Value::String(hex::encode(b)),
                    (ValueRef::Blob(b), _) => {
                        Value::String(String::from_utf8_lossy(b).into_owned())
                    }
                });
            }
            w.row(values)?;
        }
        w.end()?;
    }
    w.finish()
}

fn restore_sqlite(conn: &Connection, path: &Path) -> Result<crate::backup::BackupSummary> {
    use crate::backup::{as_bytes, as_float, as_int, as_json_text, as_text, Col, Item, Reader};
    use rusqlite::types::Value as V;
    let mut reader = Reader::open(path)?;
    // An empty database may still hold its own settings and bookkeeping; the archive's win.
    conn.execute("DELETE FROM meta", [])?;
    // The insert of the table being read: its statement, name and columns.
    type Insert<'c> = (
        rusqlite::CachedStatement<'c>,
        &'static str,
        &'static [(&'static str, Col)],
    );
    let mut stmt: Option<Insert<'_>> = None;
    while let Some(item) = reader.next_item()? {
        match item {
            Item::Begin(t) => {
                let cols: Vec<&str> = t.cols.iter().map(|(c, _)| *c).collect();
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    t.name,
                    cols.join(", "),
                    vec!["?"; cols.len()].join(", ")
                );
                stmt = Some((conn.prepare_cached(&sql)?, t.name, t.cols));
            }
            Item::Row(values) => {
                let (st, table, cols) = stmt
                    .as_mut()
                    .ok_or_else(|| internal("a row outside a table"))?;
                let mut args = Vec::with_capacity(values.len());
                for (v, (name, col)) in values.iter().zip(cols.iter()) {
                    args.push(match col {
                        Col::Int => as_int(v)?.map(V::Integer).unwrap_or(V::Null),
                        Col::Text => as_text(v)?.map(V::Text).unwrap_or(V::Null),
                        Col::Json => match (as_json_text(v)?, codec::Shape::of(table, name)) {
                            (Some(json), Some(shape)) => {
                                V::Blob(codec::encode(shape, json.as_bytes())?)
                            }
                            (json, _) => json.map(V::Text).unwrap_or(V::Null),
                        },
                        Col::Float => as_float(v)?.map(V::Real).unwrap_or(V::Null),
                        Col::Bytes => as_bytes(v)?.map(V::Blob).unwrap_or(V::Null),
                    });
                }
                st.execute(params_from_iter(args))?;
            }
            Item::End => stmt = None,
        }
    }
    Ok(reader.summary())
}

impl SqliteStore {
    /// The instant a stored second count stands for (used by tests and tools).
    pub fn instant(secs: i64) -> Instant {
        from_secs(secs)
    }
}
