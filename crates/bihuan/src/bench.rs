//! `bihuan bench`: durable registrations per second through HTTP, with many concurrent clients,
//! beside the rate of inserting the same rows into SQLite directly (one row per transaction, and
//! batched), measured in the same run on the same disk.

use std::sync::Arc;
use std::time::{Duration, Instant as Clock};

use anyhow::Context as _;
use bihuan_domain::category::{Category, CategoryId};
use bihuan_domain::lifecycle::Role;
use bihuan_domain::org::{Unit, UnitId, UnitKind};
use bihuan_server::{auth, Application, Config};
use bihuan_store::sqlite::SqliteStore;
use bihuan_store::{CredentialKind, NewUser, Store};
use serde_json::json;

/// The same rows inserted straight into PostgreSQL, one row per transaction, from as many
/// connections as there are clients (at most 32): the database's own ceiling.
pub struct PgFigures {
    pub direct_rps: f64,
    pub connections: usize,
}

pub struct Figures {
    /// Set when the HTTP run went to PostgreSQL.
    pub postgres: Option<PgFigures>,
    pub http_rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub direct_single_rps: f64,
    pub direct_batched_rps: f64,
    pub requests: usize,
    pub clients: usize,
}

fn body(i: usize) -> serde_json::Value {
    json!({
        "channel": "hotline",
        "kind": "complaint",
        "category": 3,
        "title": "路灯不亮",
        "content": format!("东门路{i}号附近路灯连续一周不亮,夜间行人不便,请尽快修复。"),
        "place": {"address": format!("城关镇东门路{i}号"), "township": 20},
        "citizen": {"name": "李四", "phone": format!("139{:08}", i % 100_000_000)}
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs the benchmark in a temporary folder; with `postgres` (a server's address), the HTTP run
/// goes to a new database on that server, dropped afterwards.
pub async fn run(
    requests: usize,
    clients: usize,
    postgres: Option<String>,
) -> anyhow::Result<Figures> {
    let dir = std::env::temp_dir().join(format!("bihuan-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run_in(&dir, requests, clients, postgres).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn pg_direct(url: &str, rows: &[String], connections: usize) -> anyhow::Result<f64> {
    let (setup, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    setup
        .batch_execute(
            "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, number TEXT UNIQUE, state JSONB NOT NULL)",
        )
        .await?;
    let rows = Arc::new(rows.to_vec());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Clock::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (url, rows, next) = (url.to_string(), rows.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            let st = c
                .prepare("INSERT INTO t (number, state) VALUES ($1, ($2::TEXT)::JSONB)")
                .await?;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= rows.len() {
                    break;
                }
                c.execute(&st, &[&format!("p{i}"), &rows[i]]).await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(rows.len() as f64 / started.elapsed().as_secs_f64())
}

async fn run_in(
    dir: &std::path::Path,
    requests: usize,
    clients: usize,
    postgres: Option<String>,
) -> anyhow::Result<Figures> {
    let scratch = match &postgres {
        Some(server) => Some(
            bihuan_store::testing::scratch_database_on(server)
                .await
                .with_context(|| format!("no PostgreSQL server at {server}"))?,
        ),
        None => None,
    };
    let store: Arc<dyn Store> = match &scratch {
        Some(db) => Arc::new(
            bihuan_store::postgres::PgStore::connect(&db.url)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        ),
        None => Arc::new(SqliteStore::open(dir.join("bench.db"))?),
    };
    let u = |id, name: &str, kind, parent: Option<u32>| Unit {
        id: UnitId(id),
        name: name.into(),
        kind,
        parent: parent.map(UnitId),
        aliases: vec![],
    };
    store
        .put_units(vec![
            u(1, "测试县", UnitKind::County, None),
            u(20, "城关镇", UnitKind::Township, Some(1)),
        ])
        .await?;
    let c = |id, name: &str, parent: Option<u32>| Category {
        id: CategoryId(id),
        name: name.into(),
        parent: parent.map(CategoryId),
    };
    store
        .put_categories(vec![
            c(1, "城乡建设", None),
            c(2, "市政设施", Some(1)),
            c(3, "路灯", Some(2)),
        ])
        .await?;
    let user = store
        .create_user(NewUser {
            login: "bench".into(),
            name: "压测".into(),
            role: Role::Operator,
            unit: UnitId(1),
            password_hash: "x".into(),
        })
        .await?;
    let (token, hash) = auth::new_token();
    store
        .put_credential(
            hash,
            user.id,
            CredentialKind::ApiToken,
            None,
            "bench".into(),
        )
        .await?;
    let config = Config {
        listen: "127.0.0.1:0".into(),
        scan_interval_secs: 0,
        ..Config::default()
    };
    let app = Application::build(config, store).await?;
    let base = format!("http://127.0.0.1:{}/api/v1/appeals", app.port());
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    // Warm up connections and caches.
    for i in 0..200 {
        let r = client
            .post(&base)
            .bearer_auth(&token)
            .json(&body(i))
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "warm-up request failed: {}",
            r.status()
        );
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Clock::now();
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (client, base, token, next) =
            (client.clone(), base.clone(), token.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let t = Clock::now();
                let r = client
                    .post(&base)
                    .bearer_auth(&token)
                    .json(&body(1000 + i))
                    .send()
                    .await?;
                let status = r.status();
                let _ = r.bytes().await?;
                anyhow::ensure!(status.as_u16() == 201, "registration failed: {status}");
                lat.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut lat = Vec::with_capacity(requests);
    for w in workers {
        lat.extend(w.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort();

    // The anchor: the same rows straight into SQLite with the same durability settings.
    let rows: Vec<String> = (0..requests).map(|i| body(1000 + i).to_string()).collect();
    let conn = rusqlite::Connection::open(dir.join("direct.db"))?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, number TEXT UNIQUE, state TEXT NOT NULL)",
    )?;
    let single_n = requests.min(2_000);
    let t = Clock::now();
    for (i, row) in rows.iter().take(single_n).enumerate() {
        conn.execute(
            "INSERT INTO t (number, state) VALUES (?, ?)",
            rusqlite::params![format!("s{i}"), row],
        )?;
    }
    let direct_single_rps = single_n as f64 / t.elapsed().as_secs_f64();
    let t = Clock::now();
    conn.execute_batch("BEGIN")?;
    {
        let mut stmt = conn.prepare("INSERT INTO t (number, state) VALUES (?, ?)")?;
        for (i, row) in rows.iter().enumerate() {
            stmt.execute(rusqlite::params![format!("b{i}"), row])?;
        }
    }
    conn.execute_batch("COMMIT")?;
    let direct_batched_rps = requests as f64 / t.elapsed().as_secs_f64();
    let pg = match &scratch {
        Some(db) => {
            let connections = clients.min(32);
            Some(PgFigures {
                direct_rps: pg_direct(&db.url, &rows, connections).await?,
                connections,
            })
        }
        None => None,
    };

    Ok::<Figures, anyhow::Error>(Figures {
        postgres: pg,
        http_rps: requests as f64 / elapsed,
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
        direct_single_rps,
        direct_batched_rps,
        requests,
        clients,
    })
    .context("benchmark")
}
