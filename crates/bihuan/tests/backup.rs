//! Backup and restore: an archive restored into a new database (SQLite, and PostgreSQL when
//! there is a server) backs up to the same rows; a backup taken while appeals keep arriving is
//! consistent; a truncated or edited archive, or a database that is not empty, restores nothing.

use std::path::Path;
use std::sync::Arc;

use bihuan::demo;
use bihuan_domain::lifecycle::{Appeal, Command, NewAppeal, Role};
use bihuan_domain::time::local;
use bihuan_store::postgres::PgStore;
use bihuan_store::sqlite::SqliteStore;
use bihuan_store::{
    AppealFilter, AppealRef, EnteredRate, NewAttachment, RateName, Store, StoreError,
};
use serde_json::json;

fn sqlite(dir: &Path, name: &str) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(dir.join(name)).unwrap())
}

/// The archive's data lines: everything but the first line (format, source, time) and the last
/// (checksum over the first line too).
fn data_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(lines.len() > 2);
    lines[1..lines.len() - 1].to_vec()
}

/// Two archives hold the same rows (the first difference shown, not the whole file).
fn assert_same_rows(a: &Path, b: &Path) {
    let (x, y) = (data_lines(a), data_lines(b));
    if let Some(i) = (0..x.len().min(y.len())).find(|&i| x[i] != y[i]) {
        let cut = |s: &str| s.chars().take(400).collect::<String>();
        panic!(
            "{} and {} differ at data line {i}:\n{}\n{}",
            a.display(),
            b.display(),
            cut(&x[i]),
            cut(&y[i])
        );
    }
    assert_eq!(
        x.len(),
        y.len(),
        "{} and {} differ in length",
        a.display(),
        b.display()
    );
}

async fn county_with_appeals(store: &Arc<dyn Store>) {
    demo::install(store, &demo::county(), "not-a-real-hash")
        .await
        .unwrap();
    let now = local(2026, 11, 20, 10, 0, 0).unwrap();
    demo::generate(store, &demo::county(), 800, now, 5)
        .await
        .unwrap();
    let admin = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.role == Role::Admin)
        .unwrap();
    store
        .put_attachment(NewAttachment {
            appeal: bihuan_domain::AppealId(3),
            name: "现场.png".into(),
            data: bihuan_store::testing::TINY_PNG.to_vec(),
            uploaded_by: admin.id,
            at: now,
        })
        .await
        .unwrap();
    store
        .put_entered_rate(EnteredRate {
            period: "month:2026-10".into(),
            name: RateName::PolicyAwareness,
            value: 0.913,
            source: "县统计局10月问卷".into(),
            entered_by: admin.id,
            at: now,
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_database_backs_up_to_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let original = sqlite(d, "original.db");
    county_with_appeals(&original).await;
    let a = d.join("a.bihuan-backup");
    let summary = original.backup(a.clone()).await.unwrap();
    assert_eq!(summary.rows("appeals"), 800);
    assert!(summary.rows("events") > 800);
    assert_eq!(summary.rows("attachments"), 1);
    assert_eq!(summary.rows("entered_rates"), 1);
    assert!(summary.rows("number_seq") >= 1);

    // SQLite → SQLite.
    let copy = sqlite(d, "copy.db");
    let restored = copy.restore(a.clone()).await.unwrap();
    assert_eq!(restored.tables, summary.tables);
    let b = d.join("b.bihuan-backup");
    copy.backup(b.clone()).await.unwrap();
    assert_same_rows(&a, &b);
    // The restored store works as the original did: catalog loaded, appeals readable, the
    // next registration takes the next number.
    assert_eq!(
        copy.catalog().org.units().count(),
        original.catalog().org.units().count()
    );
    let (att, data) = copy.attachment(1).await.unwrap();
    assert_eq!(att.name, "现场.png");
    assert_eq!(data, bihuan_store::testing::TINY_PNG);
    let op = copy
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.role == Role::Operator)
        .unwrap();
    let next = copy
        .register(
            serde_json::from_value::<NewAppeal>(json!({"channel": "web", "kind": "help", "title": "恢复后", "content": "恢复后的第一件"})).unwrap(),
            copy.catalog().actor(&op),
            local(2026, 11, 21, 9, 0, 0).unwrap(),
            None,
        )
        .await
        .unwrap()
        .appeal;
    assert_eq!(next.id.0, 801);
    let taken: Vec<String> = original
        .list(AppealFilter::default(), None, 500)
        .await
        .unwrap()
        .items
        .iter()
        .map(|a| a.number.to_string())
        .collect();
    assert!(
        !taken.contains(&next.number.to_string()),
        "number {} given twice",
        next.number
    );

    // SQLite → PostgreSQL → SQLite, when a server is there.
    let Some(pg_db) = bihuan_store::testing::scratch_database().await else {
        eprintln!("PostgreSQL skipped");
        return;
    };
    let pg: Arc<dyn Store> = Arc::new(PgStore::connect(&pg_db.url).await.unwrap());
    assert_eq!(pg.restore(a.clone()).await.unwrap().tables, summary.tables);
    let c = d.join("c.bihuan-backup");
    pg.backup(c.clone()).await.unwrap();
    // PostgreSQL gives back the same rows.
    assert_same_rows(&a, &c);
    let back = sqlite(d, "back.db");
    back.restore(c).await.unwrap();
    let e = d.join("e.bihuan-backup");
    back.backup(e.clone()).await.unwrap();
    assert_same_rows(&a, &e);
    // On PostgreSQL too, new work continues after the restored ids and numbers.
    let r = pg
        .register(
            serde_json::from_value::<NewAppeal>(json!({"channel": "web", "kind": "help", "title": "恢复后", "content": "恢复后的第一件"})).unwrap(),
            pg.catalog().actor(&op),
            local(2026, 11, 21, 9, 0, 0).unwrap(),
            None,
        )
        .await
        .unwrap()
        .appeal;
    assert_eq!(r.id.0, 801);
    assert!(!taken.contains(&r.number.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_writes_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let store = sqlite(d, "live.db");
    county_with_appeals(&store).await;
    let users = store.users().await.unwrap();
    let op = store
        .catalog()
        .actor(users.iter().find(|u| u.role == Role::Operator).unwrap());
    let sup = store
        .catalog()
        .actor(users.iter().find(|u| u.role == Role::Supervisor).unwrap());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            let at = local(2026, 11, 21, 9, 0, 0).unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let a = store
                    .register(
                        serde_json::from_value::<NewAppeal>(json!({"channel": "web", "kind": "help", "title": format!("写入中 {n}"), "content": "备份期间登记"})).unwrap(),
                        op.clone(),
                        at,
                        None,
                    )
                    .await
                    .unwrap()
                    .appeal;
                store
                    .act(
                        AppealRef::Id(a.id),
                        Command::Comment {
                            text: "备注".into(),
                        },
                        sup.clone(),
                        at,
                        None,
                    )
                    .await
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut archives = Vec::new();
    for i in 0..3 {
        let p = d.join(format!("live-{i}.bihuan-backup"));
        store.backup(p.clone()).await.unwrap();
        archives.push(p);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 0);
    for (i, p) in archives.into_iter().enumerate() {
        let copy = sqlite(d, &format!("live-copy-{i}.db"));
        copy.restore(p).await.unwrap();
        // Every appeal in the copy is exactly its history replayed: no state without its
        // events, no events without their state.
        let mut cursor = None;
        let mut seen = 0;
        loop {
            let page = copy
                .list(AppealFilter::default(), cursor, 500)
                .await
                .unwrap();
            for a in &page.items {
                let h = copy.history(a.id).await.unwrap();
                assert_eq!(&Appeal::from_history(&h).unwrap(), a, "appeal {}", a.number);
                seen += 1;
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert!(seen >= 800);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_archive_or_a_used_database_restores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let original = sqlite(d, "o.db");
    county_with_appeals(&original).await;
    let a = d.join("a.bihuan-backup");
    original.backup(a.clone()).await.unwrap();
    let text = std::fs::read_to_string(&a).unwrap();
    let lines: Vec<&str> = text.lines().collect();

    let truncated = d.join("truncated.bihuan-backup");
    std::fs::write(&truncated, lines[..lines.len() - 40].join("\n")).unwrap();
    let edited = d.join("edited.bihuan-backup");
    let changed = text.replacen("县统计局10月问卷", "县统计局10月问卷(改)", 1);
    assert_ne!(changed, text);
    std::fs::write(&edited, changed).unwrap();
    let garbage = d.join("garbage.bihuan-backup");
    std::fs::write(&garbage, "not a backup\n").unwrap();

    let check = |r: Result<bihuan_store::backup::BackupSummary, StoreError>, code: &str| match r {
        Err(StoreError::Invalid { code: c, .. }) | Err(StoreError::Conflict { code: c, .. }) => {
            assert_eq!(c.as_str(), code)
        }
        other => panic!("expected {code}, got {other:?}"),
    };
    let target = sqlite(d, "t.db");
    check(target.restore(truncated).await, "bad_backup");
    check(target.restore(edited).await, "bad_backup");
    check(target.restore(garbage).await, "bad_backup");
    check(target.restore(d.join("missing")).await, "backup_not_found");
    assert_eq!(target.count(AppealFilter::default()).await.unwrap(), 0);
    assert_eq!(target.catalog().org.units().count(), 0);
    assert!(target.users().await.unwrap().is_empty());
    // After all those refusals it still restores the sound archive.
    target.restore(a.clone()).await.unwrap();
    assert_eq!(target.count(AppealFilter::default()).await.unwrap(), 800);
    // A database that holds a county is never overwritten.
    check(original.restore(a.clone()).await, "not_empty");
    check(target.restore(a).await, "not_empty");
    assert_eq!(target.count(AppealFilter::default()).await.unwrap(), 800);
}

#[test]
fn the_commands_back_up_and_restore() {
    let bin = env!("CARGO_BIN_EXE_bihuan");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let db = d.join("a.db").display().to_string();
    let (ok, out) = run(&[
        "init",
        "--db",
        &db,
        "--county",
        "测试县",
        "--password",
        "admin12345",
    ]);
    assert!(ok, "{out}");
    let archive = d.join("a.bihuan-backup").display().to_string();
    let (ok, out) = run(&["backup", "--db", &db, "--out", &archive]);
    assert!(ok, "{out}");
    assert!(out.contains("users") && out.contains("备份完成"), "{out}");
    // `init` opened the new database and marked its index versions; they are the database's
    // own bookkeeping, not data, so the archive leaves them out (a restore rebuilds the rows).
    let text = std::fs::read_to_string(&archive).unwrap();
    assert!(!text.contains("index_version:"), "{text}");
    // Never over an existing file.
    let (ok, out) = run(&["backup", "--db", &db, "--out", &archive]);
    assert!(!ok && out.contains("already exists"), "{out}");
    let copy = d.join("b.db").display().to_string();
    let (ok, out) = run(&["restore", "--db", &copy, "--from", &archive]);
    assert!(ok, "{out}");
    assert!(out.contains("恢复完成"), "{out}");
    // Not twice into the same database.
    let (ok, out) = run(&["restore", "--db", &copy, "--from", &archive]);
    assert!(!ok && out.contains("数据未作任何改动"), "{out}");
    let (ok, out) = run(&["user", "list", "--db", &copy]);
    assert!(ok && out.contains("admin"), "{out}");
    // The restored database has marked its index versions as rebuilt.
    let restored = rusqlite::Connection::open(&copy).unwrap();
    let marked: i64 = restored
        .query_row(
            "SELECT COUNT(*) FROM meta WHERE key LIKE 'index_version:%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        marked > 0,
        "the restore rebuilt and marked the index versions"
    );
}

/// An archive named `.zst` is a zstd stream of the same lines: a fraction of the size, it
/// restores to the same rows, and cut short it restores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_archive_restores_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let original = sqlite(d, "o.db");
    county_with_appeals(&original).await;
    let plain = d.join("a.bihuan-backup");
    let packed = d.join("a.bihuan-backup.zst");
    original.backup(plain.clone()).await.unwrap();
    original.backup(packed.clone()).await.unwrap();
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert!(
        size(&packed) * 4 < size(&plain),
        "{} against {} bytes",
        size(&packed),
        size(&plain)
    );
    let bytes = std::fs::read(&packed).unwrap();
    let cut = d.join("cut.bihuan-backup.zst");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let target = sqlite(d, "t.db");
    match target.restore(cut).await {
        Err(StoreError::Invalid { code, .. }) => assert_eq!(code.as_str(), "bad_backup"),
        other => panic!("expected bad_backup, got {other:?}"),
    }
    assert_eq!(target.count(AppealFilter::default()).await.unwrap(), 0);
    target.restore(packed).await.unwrap();
    let again = d.join("again.bihuan-backup");
    target.backup(again.clone()).await.unwrap();
    assert_same_rows(&plain, &again);
}
