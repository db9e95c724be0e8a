//! Upkeep of a SQLite database's storage (`bihuan storage`): where its bytes go, rewriting the
//! rows written before compact storage (see `codec`), and training the dictionaries.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{self, Shape};
use super::{configure, internal, SqliteStore};
use crate::Result;

/// One table or index of the file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ObjectBytes {
    pub name: String,
    /// The table it belongs to (itself for a table).
    pub table: String,
    pub pages: u64,
    /// Bytes of pages it holds, used or not.
    pub bytes: u64,
}

/// Where a database's bytes go (SQLite's `dbstat`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StorageReport {
    pub page_size: u64,
    /// Pages in the file times the page size (free pages included).
    pub file_bytes: u64,
    pub free_pages: u64,
    pub appeals: u64,
    pub events: u64,
    /// Appeals and events still kept as JSON text (written before compact storage).
    pub text_appeals: u64,
    pub text_events: u64,
    /// Largest first.
    pub objects: Vec<ObjectBytes>,
}

impl StorageReport {
    /// Bytes of the file per appeal.
    pub fn per_appeal(&self, bytes: u64) -> f64 {
        bytes as f64 / self.appeals.max(1) as f64
    }
}

/// What `compact` rewrote.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CompactSummary {
    pub appeals: u64,
    pub events: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

fn count(conn: &Connection, sql: &str) -> Result<u64> {
    Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
}

pub(super) fn report(conn: &Connection) -> Result<StorageReport> {
    let page_size = count(conn, "PRAGMA page_size")?;
    let mut stmt = conn.prepare(
        "SELECT d.name, COALESCE(s.tbl_name, d.name), COUNT(*), SUM(d.pgsize)
         FROM dbstat AS d LEFT JOIN sqlite_schema AS s ON s.name = d.name
         GROUP BY d.name ORDER BY SUM(d.pgsize) DESC, d.name",
    )?;
    let objects = stmt
        .query_map([], |r| {
            Ok(ObjectBytes {
                name: r.get(0)?,
                table: r.get(1)?,
                pages: r.get::<_, i64>(2)? as u64,
                bytes: r.get::<_, i64>(3)? as u64,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(StorageReport {
        page_size,
        file_bytes: count(conn, "PRAGMA page_count")? * page_size,
        free_pages: count(conn, "PRAGMA freelist_count")?,
        appeals: count(conn, "SELECT COUNT(*) FROM appeals")?,
        events: count(conn, "SELECT COUNT(*) FROM events")?,
        text_appeals: count(
            conn,
            "SELECT COUNT(*) FROM appeals WHERE typeof(state) = 'text'",
        )?,
        text_events: count(
            conn,
            "SELECT COUNT(*) FROM events WHERE typeof(body) = 'text'",
        )?,
        objects,
    })
}

impl SqliteStore {
    /// Where the database's bytes go, per table and index.
    pub async fn storage_report(&self) -> Result<StorageReport> {
        self.read(report).await
    }
}

/// Rows rewritten per transaction.
const CHUNK: usize = 20_000;

/// Rewrites every appeal state and event still kept as JSON text into compact frames, then
/// gives the space back to the file system (`VACUUM`). The JSON each holds is unchanged (the
/// history reads the same, the archive is the same). Safe beside a running server (each chunk
/// is one write transaction), but best with it stopped: `VACUUM` waits for the readers and
/// needs room for a second copy of the file while it runs. `progress(done, total)`.
pub fn compact(path: &Path, progress: &dyn Fn(u64, u64)) -> Result<CompactSummary> {
    // Opening the store brings the schema up to date first.
    drop(SqliteStore::open(path)?);
    let mut conn = Connection::open(path)
        .map_err(|e| internal(format!("cannot open {}: {e}", path.display())))?;
    configure(&conn)?;
    let before = report(&conn)?;
    let total = before.text_appeals + before.text_events;
    let mut summary = CompactSummary {
        bytes_before: before.file_bytes,
        ..Default::default()
    };
    let mut done = 0u64;
    progress(done, total);
    for (table, column, shape) in [
        ("appeals", "state", Shape::State),
        ("events", "body", Shape::Event),
    ] {
        let mut last = 0i64;
        loop {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // The history is append-only (a trigger refuses every UPDATE); this rewrite keeps
            // each row's JSON as it was, so the trigger is lifted inside this transaction only
            // and put back, as it was written, before the commit.
            let trigger: Option<String> = tx
                .query_row(
                    "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = ?",
                    [format!("{table}_append_only_update")],
                    |r| r.get(0),
                )
                .optional()?;
            if trigger.is_some() {
                tx.execute_batch(&format!("DROP TRIGGER {table}_append_only_update"))?;
            }
            let rows: Vec<(i64, String)> = tx
                .prepare(&format!(
                    "SELECT id, {column} FROM {table}
                     WHERE id > ? AND typeof({column}) = 'text' ORDER BY id LIMIT {CHUNK}"
                ))?
                .query_map([last], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            {
                let mut update =
                    tx.prepare(&format!("UPDATE {table} SET {column} = ? WHERE id = ?"))?;
                for (id, json) in &rows {
                    update.execute(params![codec::encode(shape, json.as_bytes())?, id])?;
                }
            }
            if let Some(sql) = &trigger {
                tx.execute_batch(sql)?;
            }
            tx.commit()?;
            let n = rows.len() as u64;
            match shape {
                Shape::State => summary.appeals += n,
                Shape::Event => summary.events += n,
            }
            done += n;
            progress(done, total);
            match rows.last() {
                Some((id, _)) if rows.len() == CHUNK => last = *id,
                _ => break,
            }
        }
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")?;
    summary.bytes_after = count(&conn, "PRAGMA page_count")? * count(&conn, "PRAGMA page_size")?;
    Ok(summary)
}

/// Trains the dictionaries from the states and events of a database (a generated demo county
/// is what `crates/bihuan-store/dict` was trained on): `samples` of each, spread over the file.
/// Returns (state dictionary, event dictionary).
pub fn train_dictionaries(path: &Path, samples: u64, size: usize) -> Result<(Vec<u8>, Vec<u8>)> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| internal(format!("cannot open {}: {e}", path.display())))?;
    let read = |table: &str, column: &str, shape: Shape| -> Result<Vec<Vec<u8>>> {
        let n = count(&conn, &format!("SELECT COUNT(*) FROM {table}"))?;
        let step = (n / samples.max(1)).max(1) as i64;
        let mut stmt = conn.prepare(&format!(
            "SELECT {column} FROM {table} WHERE id % ? = 0 LIMIT ?"
        ))?;
        let mut rows = stmt.query(params![step, samples as i64])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(codec::json_of(shape, r.get_ref(0)?)?);
        }
        Ok(out)
    };
    let states = read("appeals", "state", Shape::State)?;
    let events = read("events", "body", Shape::Event)?;
    if states.is_empty() || events.is_empty() {
        return Err(internal(
            "the database has no appeals to train on: generate some first",
        ));
    }
    codec::train(&states, &events, size)
}
