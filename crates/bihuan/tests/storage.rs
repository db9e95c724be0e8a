//! Compact storage on SQLite: a database written by an older version (states and events as JSON
//! text) reads the same, `storage compact` rewrites it in place into the same appeals and
//! histories, and a bulk load that stops before its end leaves its rollups to be rebuilt.

use std::path::Path;
use std::sync::Arc;

use bihuan::demo;
use bihuan_domain::lifecycle::{Appeal, EventRecord};
use bihuan_domain::time::local;
use bihuan_domain::AppealId;
use bihuan_store::sqlite::{maintain, SqliteStore};
use bihuan_store::{AppealRef, Store};

async fn county(path: &Path, appeals: usize, seed: u64) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path).unwrap());
    let county = demo::county();
    demo::install(&store, &county, "x").await.unwrap();
    let now = local(2026, 11, 20, 10, 0, 0).unwrap();
    let n = demo::generate(&store, &county, appeals, now, seed)
        .await
        .unwrap();
    assert_eq!(n, appeals);
    store
}

/// Every appeal and its history, as the store reads them.
async fn everything(store: &dyn Store, n: u64) -> Vec<(Appeal, Vec<EventRecord>)> {
    let mut out = Vec::new();
    for id in 1..=n {
        let a = store.appeal(AppealRef::Id(AppealId(id))).await.unwrap();
        let h = store.history(AppealId(id)).await.unwrap();
        out.push((a, h));
    }
    out
}

/// Opens the file when the store's threads have let it go.
async fn raw(path: &Path) -> rusqlite::Connection {
    for _ in 0..50 {
        let conn = rusqlite::Connection::open(path).unwrap();
        if conn.execute_batch("BEGIN IMMEDIATE; COMMIT;").is_ok() {
            return conn;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the database stayed locked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_database_reads_the_same_and_compacts_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let store = county(&path, 300, 4).await;
    let before = everything(store.as_ref(), 300).await;
    let events: usize = before.iter().map(|(_, h)| h.len()).sum();
    drop(store);

    // Written as the versions before compact storage wrote it: JSON text.
    let conn = raw(&path).await;
    let trigger: String = conn
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'events_append_only_update'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch("BEGIN; DROP TRIGGER events_append_only_update;")
        .unwrap();
    for (a, h) in &before {
        conn.execute(
            "UPDATE appeals SET state = ? WHERE id = ?",
            rusqlite::params![serde_json::to_string(a).unwrap(), a.id.0 as i64],
        )
        .unwrap();
        for r in h {
            conn.execute(
                "UPDATE events SET body = ? WHERE appeal_id = ? AND version = ?",
                rusqlite::params![
                    serde_json::to_string(r).unwrap(),
                    r.appeal.0 as i64,
                    r.version as i64
                ],
            )
            .unwrap();
        }
    }
    conn.execute_batch(&format!("{trigger}; COMMIT;")).unwrap();
    drop(conn);

    let old = SqliteStore::open(&path).unwrap();
    let report = old.storage_report().await.unwrap();
    assert_eq!((report.appeals, report.events), (300, events as u64));
    assert_eq!(
        (report.text_appeals, report.text_events),
        (300, events as u64)
    );
    assert_eq!(everything(&old, 300).await, before, "text reads the same");
    drop(old);

    let p = path.clone();
    let summary = tokio::task::spawn_blocking(move || maintain::compact(&p, &|_, _| {}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((summary.appeals, summary.events), (300, events as u64));
    assert!(
        summary.bytes_after * 2 < summary.bytes_before,
        "{} → {} bytes",
        summary.bytes_before,
        summary.bytes_after
    );

    let compacted = SqliteStore::open(&path).unwrap();
    let report = compacted.storage_report().await.unwrap();
    assert_eq!((report.text_appeals, report.text_events), (0, 0));
    assert_eq!(report.file_bytes, summary.bytes_after);
    assert_eq!(
        everything(&compacted, 300).await,
        before,
        "frames read the same"
    );
    drop(compacted);
    // The history is append-only again.
    let conn = raw(&path).await;
    let err = conn
        .execute("UPDATE events SET type = 'x' WHERE id = 1", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    // A second run has nothing left to do.
    let summary = maintain::compact(&path, &|_, _| {}).unwrap();
    assert_eq!((summary.appeals, summary.events), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_load_that_stops_before_its_end_is_rebuilt_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let whole = county(&dir.path().join("whole.db"), 400, 6).await;
    let expected = whole.rollup_dump().await.unwrap();
    assert!(!expected.rows.is_empty());
    let mut histories = Vec::new();
    for id in 1..=400 {
        histories.push((whole.history(AppealId(id)).await.unwrap(), None));
    }

    let path = dir.path().join("cut.db");
    {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        demo::install(&store, &demo::county(), "x").await.unwrap();
        store.begin_bulk().await.unwrap();
        let rest = histories.split_off(150);
        store.import_histories(histories).await.unwrap();
        store.import_histories(rest).await.unwrap();
        // The load's sums are still in memory: the rollups leave its appeals out.
        assert!(store.rollup_dump().await.unwrap().rows.is_empty());
        // The process stops here, before `finish_bulk`.
    }
    let conn = raw(&path).await;
    let marker: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'rollups_built'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(marker, "bulk load");
    drop(conn);
    let reopened: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    assert_eq!(reopened.rollup_dump().await.unwrap(), expected);
}
