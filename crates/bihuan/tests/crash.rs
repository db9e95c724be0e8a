//! Crash test, on SQLite and on PostgreSQL: clients register appeals and comment on them while the
//! server is killed with SIGKILL at random moments and restarted. Afterwards every acknowledged
//! registration and action is present with its history, and retries (same idempotency key)
//! created nothing twice.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_bihuan");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(db: &str, port: u16) -> Child {
    Command::new(BIN)
        .args([
            "serve",
            "--db",
            db,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("BIHUAN_NOW", "2026-11-02T09:00:00+08:00")
        .env("BIHUAN_SCAN_INTERVAL_SECS", "0")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bihuan serve starts")
}

async fn wait_up(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up");
}

#[derive(Default)]
struct Acked {
    /// idempotency key → appeal number
    registered: BTreeMap<String, String>,
    /// appeal numbers whose comment was acknowledged
    commented: BTreeSet<String>,
}

async fn client_loop(
    id: usize,
    base: String,
    token: String,
    acked: Arc<Mutex<Acked>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut seq = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        seq += 1;
        let key = format!("c{id}-{seq}");
        let body = json!({"channel": "hotline", "kind": "help", "title": format!("crash {key}"), "content": "崩溃测试"});
        // Retry the same key until it is acknowledged: at-least-once, never twice.
        let number = loop {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            let r = client
                .post(format!("{base}/api/v1/appeals"))
                .bearer_auth(&token)
                .header("idempotency-key", &key)
                .json(&body)
                .send()
                .await;
            match r {
                Ok(r) if r.status().is_success() => {
                    let v: Value = r.json().await.unwrap_or(Value::Null);
                    if let Some(n) = v["number"].as_str() {
                        break n.to_string();
                    }
                }
                Ok(r) => assert!(
                    r.status().is_server_error() || r.status().as_u16() == 503,
                    "unexpected {}",
                    r.status()
                ),
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        acked
            .lock()
            .unwrap()
            .registered
            .insert(key.clone(), number.clone());
        let r = client
            .post(format!("{base}/api/v1/appeals/{number}/actions"))
            .bearer_auth(&token)
            .json(&json!({"action": "comment", "text": format!("comment {key}"), "version": 1}))
            .send()
            .await;
        if let Ok(r) = r {
            if r.status().is_success() {
                acked.lock().unwrap().commented.insert(number);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_work_survives_sigkill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db").display().to_string();
    crash_run(&db).await;
}

/// On PostgreSQL the database server stays up; the bihuan server dies with transactions in
/// flight, which PostgreSQL rolls back, and clients retry with their idempotency keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_work_survives_sigkill_on_postgres() {
    let Some(db) = bihuan_store::testing::scratch_database().await else {
        eprintln!("PostgreSQL skipped");
        return;
    };
    crash_run(&db.url).await;
}

async fn crash_run(db: &str) {
    let out = Command::new(BIN)
        .args([
            "init",
            "--db",
            db,
            "--county",
            "测试县",
            "--password",
            "admin12345",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let mut server = start(db, port);
    wait_up(&http, &base).await;
    let r = http
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"login": "admin", "password": "admin12345"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let t: Value = http
        .post(format!("{base}/api/v1/tokens"))
        .json(&json!({"user": 1, "name": "crash test"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = t["token"].as_str().unwrap().to_string();

    let acked = Arc::new(Mutex::new(Acked::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|i| {
            tokio::spawn(client_loop(
                i,
                base.clone(),
                token.clone(),
                acked.clone(),
                stop.clone(),
            ))
        })
        .collect();
    // Kill the server at pseudo-random moments and bring it back.
    let mut kills = 0;
    for wait in [350u64, 720, 180, 530, 260, 610] {
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        kills += 1;
        server = start(db, port);
        wait_up(&http, &base).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in clients {
        c.await.expect("a client failed");
    }
    server.kill().unwrap();
    server.wait().unwrap();
    server = start(db, port);
    wait_up(&http, &base).await;

    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(
        acked.registered.len() > 50,
        "too little work to judge: {}",
        acked.registered.len()
    );
    // Every appeal in the store, by title.
    let mut titles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}/api/v1/appeals?limit=500&cursor={c}"),
            None => format!("{base}/api/v1/appeals?limit=500"),
        };
        let page: Value = http
            .get(url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for a in page["items"].as_array().unwrap() {
            titles
                .entry(a["title"].as_str().unwrap().to_string())
                .or_default()
                .push(a["number"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    // Nothing twice: each key's title appears once.
    for (title, numbers) in &titles {
        assert_eq!(numbers.len(), 1, "{title} stored {} times", numbers.len());
    }
    // Every acknowledged registration is there, under the number the client was given.
    for (key, number) in &acked.registered {
        assert_eq!(
            titles.get(&format!("crash {key}")),
            Some(&vec![number.clone()]),
            "acknowledged {key} lost"
        );
    }
    // Every acknowledged comment is in its appeal's history.
    for number in &acked.commented {
        let a: Value = http
            .get(format!("{base}/api/v1/appeals/{number}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let types: Vec<&str> = a["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["registered", "commented"], "{number}");
    }
    eprintln!(
        "crash test: {kills} SIGKILLs, {} acknowledged registrations, {} acknowledged comments, {} appeals stored",
        acked.registered.len(),
        acked.commented.len(),
        titles.len()
    );
    server.kill().unwrap();
    let _ = server.wait();
}
