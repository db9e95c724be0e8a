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
    /// CPU time of this whole process (server, its background work and the load generator)
    /// per registration during the HTTP run, in microseconds, and the part of it spent on the
    /// store's writer thread. Less noisy than a rate on a shared machine.
    pub cpu_us: Option<f64>,
    pub writer_cpu_us: Option<f64>,
    /// Bytes this process caused to be written to disk per registration during the HTTP run
    /// (log, checkpoints, search index); `None` on PostgreSQL, whose own processes write.
    pub disk_bytes: Option<f64>,
}

/// Bytes this process has caused to be written to storage so far (Linux `/proc/self/io`).
fn disk_written() -> Option<f64> {
    std::fs::read_to_string("/proc/self/io")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
}

/// CPU seconds used so far by this process, and by its threads whose name starts with
/// `thread` (Linux `/proc`; `None` elsewhere).
fn cpu_seconds(thread: &str) -> Option<(f64, f64)> {
    // utime and stime are fields 14 and 15, after the name in parentheses, in clock ticks
    // (100 per second on Linux).
    fn ticks(stat: &str) -> Option<(String, f64)> {
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let name = stat[open + 1..close].to_string();
        let mut rest = stat[close + 2..].split(' ');
        let utime: f64 = rest.nth(11)?.parse().ok()?;
        let stime: f64 = rest.next()?.parse().ok()?;
        Some((name, (utime + stime) / 100.0))
    }
    let (_, total) = ticks(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    let mut part = 0.0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        if let Some((name, secs)) = std::fs::read_to_string(task.path().join("stat"))
            .ok()
            .and_then(|s| ticks(&s))
        {
            if name.starts_with(thread) {
                part += secs;
            }
        }
    }
    Some((total, part))
}

/// What the bench's appeals are about: a title and what the caller says, some twenty common
/// matters of a county hotline.
const MATTERS: &[(&str, &str)] = &[
    ("路灯不亮", "附近路灯不亮，夜间行人看不清路"),
    ("下水道堵塞", "下水道堵塞，污水漫到路面上，气味很大"),
    ("夜间施工噪音", "工地晚上十点以后还在施工，噪音很大影响休息"),
    ("垃圾清运不及时", "垃圾桶满了没人清运，招来很多苍蝇"),
    ("占道经营", "有商贩在人行道上摆摊，行人只能走机动车道"),
    ("停水无通知", "小区突然停水，事先没有任何通知"),
    ("路面坑洼", "路面有好几个大坑，下雨后积水，电动车容易摔倒"),
    ("违章停车堵路", "车辆长期停在消防通道上，大车进不来"),
    ("餐馆油烟扰民", "楼下饭店油烟直排，家里窗户都不敢开"),
    ("电梯经常故障", "小区电梯一个月坏了三次，老人上下楼很困难"),
    ("拖欠工资", "在工地干了四个月，老板一直拖欠工资不给"),
    ("井盖缺失", "路边井盖不见了，晚上很危险"),
    ("公交站台损坏", "公交站的雨棚被风刮坏了，一直没人修"),
    ("施工扬尘", "工地没有洒水覆盖，扬尘很大"),
    ("广场舞噪音", "广场舞音响开得太大，一直跳到晚上十点"),
    ("学校门口拥堵", "上学放学时间学校门口车辆乱停，交通拥堵"),
    ("流浪犬扰民", "附近有几只流浪狗，经常追咬路人"),
    ("燃气管道漏气", "楼道里闻到燃气味，怀疑管道漏气"),
    ("绿化带杂草丛生", "绿化带里杂草比人还高，没人修剪"),
    ("物业乱收费", "物业公司今年停车费涨了一倍，没有公示"),
];
const STREETS: &[&str] = &[
    "东门路",
    "人民路",
    "建设路",
    "解放街",
    "新华路",
    "城北大道",
    "学府路",
    "滨河路",
    "工业园路",
    "幸福街",
    "文化路",
    "光明巷",
    "南关街",
    "西湖路",
    "团结路",
    "朝阳路",
];
const SINCE: &[&str] = &["已经三天了", "持续一周了", "从上个月开始", "今天早上发现"];
const ASK: &[&str] = &[
    "请尽快处理。",
    "希望有关部门尽快解决。",
    "请派人来看看。",
    "请给个答复。",
];

/// The `i`-th appeal's title, content and address: matters, streets and wording vary as a
/// hotline's do (the same matter on the same street now and then, as real near-duplicates are).
fn text(i: usize) -> (&'static str, String, String) {
    let (title, what) = MATTERS[i % MATTERS.len()];
    let street = STREETS[(i / MATTERS.len()) % STREETS.len()];
    let n = 1 + (i * 7919) % 300;
    let content = format!(
        "{street}{n}号{what},{}{}",
        SINCE[(i / 7) % SINCE.len()],
        ASK[(i / 11) % ASK.len()]
    );
    (title, content, format!("城关镇{street}{n}号"))
}

/// The `i`-th registration, each from a different caller. One category for all: the bench's
/// catalogue has only one leaf.
fn body(i: usize) -> serde_json::Value {
    let (title, content, address) = text(i);
    json!({
        "channel": "hotline",
        "kind": "complaint",
        "category": 3,
        "title": title,
        "content": content,
        "place": {"address": address, "township": 20},
        "citizen": {"name": "李四", "phone": format!("139{:08}", i % 100_000_000)}
    })
}

/// Trains a unit model (one class per matter, as if each went to its own department) and a
/// category model (three classes) on 4,000 of the bench's texts and stores both, as a county's
/// nightly training does. What a classification costs is mostly cutting the text into terms, which
/// does not depend on what the model learned.
async fn put_models(store: &Arc<dyn Store>) -> anyhow::Result<()> {
    use bihuan_smart::classify::{train, Options};
    let cat = store.catalog();
    let (unit, category) = tokio::task::spawn_blocking(move || {
        let tok = bihuan_smart::text::Tokenizer::new(bihuan_smart::text::county_words(
            &cat.org,
            &cat.categories,
        ));
        let texts: Vec<(usize, String)> = (0..4_000)
            .map(|i| {
                let (title, content, _) = text(i);
                (i % MATTERS.len(), format!("{title}\n{content}"))
            })
            .collect();
        let units: Vec<(String, &str)> = texts
            .iter()
            .map(|(m, t)| ((100 + m).to_string(), t.as_str()))
            .collect();
        let categories: Vec<(String, &str)> = texts
            .iter()
            .map(|(m, t)| ((1 + m % 3).to_string(), t.as_str()))
            .collect();
        let opts = Options {
            max_passes: 40,
            ..Options::default()
        };
        Ok::<_, anyhow::Error>((
            train(&tok, &units, &opts)?,
            train(&tok, &categories, &opts)?,
        ))
    })
    .await??;
    for (kind, m) in [("unit", unit), ("category", category)] {
        store
            .put_model(bihuan_store::NewModel {
                kind: kind.into(),
                created_at: chrono::Utc::now(),
                meta: json!({"texts": 4_000, "classes": m.classes.len(), "bench": true}),
                body: m.to_bytes(),
            })
            .await?;
    }
    Ok(())
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
    with_models: bool,
) -> anyhow::Result<Figures> {
    let dir = std::env::temp_dir().join(format!("bihuan-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run_in(&dir, requests, clients, postgres, with_models).await;
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
    with_models: bool,
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
    if with_models {
        put_models(&store).await?;
    }
    // The server as deployed, background indexing included (it competes for the cores).
    let (base, token) = start_server(store, user.id, 1).await?;
    let base = format!("{base}/api/v1/appeals");

    // The load comes from this same machine, so the clients must cost as little as possible:
    // each keeps one HTTP/1.1 connection and sends requests written out before the clock
    // starts (no general-purpose client: its per-request work would be taken from the server's
    // two cores).
    let addr = base
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let request = |i: usize| http_post(&addr, "/api/v1/appeals", &token, &body(i).to_string());
    // Warm up the server's caches (and check that a request is accepted).
    {
        let mut conn = Conn::open(&addr).await?;
        for i in 0..200 {
            let status = conn.send(&request(i)).await?;
            anyhow::ensure!(status == 201, "warm-up request failed: HTTP {status}");
        }
    }
    let prepared: Arc<Vec<Vec<u8>>> = Arc::new((0..requests).map(|i| request(1000 + i)).collect());
    let mut conns = Vec::with_capacity(clients);
    for _ in 0..clients {
        conns.push(Conn::open(&addr).await?);
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let cpu_before = cpu_seconds("bihuan-sqlite-w");
    let disk_before = disk_written();
    let started = Clock::now();
    let mut workers = Vec::new();
    for mut conn in conns {
        let (prepared, next) = (prepared.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let t = Clock::now();
                let status = conn.send(&prepared[i]).await?;
                anyhow::ensure!(status == 201, "registration failed: HTTP {status}");
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
    let cpu = cpu_before
        .zip(cpu_seconds("bihuan-sqlite-w"))
        .map(|(a, b)| {
            (
                (b.0 - a.0) * 1e6 / requests as f64,
                (b.1 - a.1) * 1e6 / requests as f64,
            )
        });
    let disk_bytes = disk_before
        .zip(disk_written())
        .map(|(a, b)| (b - a) / requests as f64);
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
        cpu_us: cpu.map(|c| c.0),
        // PostgreSQL's writers are its own processes, not a thread of this one.
        writer_cpu_us: cpu.map(|c| c.1).filter(|_| postgres.is_none()),
        disk_bytes: disk_bytes.filter(|_| postgres.is_none()),
    })
    .context("benchmark")
}

/// One POST written out as HTTP/1.1 bytes (keep-alive, JSON body, bearer token).
fn http_post(host: &str, path: &str, token: &str, json: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
        json.len()
    )
    .into_bytes()
}

/// A benchmark client's one keep-alive connection: sends a prepared request and reads the
/// whole response (status line, headers, a body of `Content-Length` bytes).
struct Conn {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: &str) -> anyhow::Result<Conn> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Sends `request` and returns the response's status code.
    async fn send(&mut self, request: &[u8]) -> anyhow::Result<u16> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stream.write_all(request).await?;
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(head_end) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..head_end])
                    .context("response head is not UTF-8")?;
                let status: u16 = head
                    .get(9..12)
                    .and_then(|s| s.parse().ok())
                    .with_context(|| format!("not an HTTP status line: {head:.40}"))?;
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .context("response without Content-Length")?;
                let total = head_end + 4 + length;
                while self.buf.len() < total {
                    let n = self.stream.read(&mut chunk).await?;
                    anyhow::ensure!(n > 0, "server closed the connection mid-response");
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                return Ok(status);
            }
            let n = self.stream.read(&mut chunk).await?;
            anyhow::ensure!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// (month, unit) → (on-time num, den, satisfied, basic, visits).
type Cells = std::collections::BTreeMap<(u32, String), (i64, i64, i64, i64, i64)>;

/// `bihuan bench-metrics`: the metrics API's latency on this database, the year of monthly
/// on-time completion and satisfaction per unit from the rollups, the same figures from DuckDB
/// over an export (same run), and optionally a full rollup rebuild.
pub async fn metrics(
    store: Arc<dyn Store>,
    requests: usize,
    python: &str,
    rebuild: bool,
) -> anyhow::Result<String> {
    use bihuan_domain::metrics::Period;
    use bihuan_domain::rollup::Metric;
    use bihuan_store::rollups::{Dim, RollupQuery};
    use chrono::Datelike;
    use std::collections::BTreeMap;
    use std::fmt::Write as _;

    let mut out = String::new();
    let appeals = store.count(bihuan_store::AppealFilter::default()).await?;
    let now = chrono::Utc::now();
    let today = bihuan_domain::time::local_date(now);
    let (year, month) = (today.year(), today.month());
    writeln!(out, "database: {appeals} appeals")?;

    // 1. The metrics API over HTTP, as the dashboard calls it.
    let leader = store
        .users()
        .await?
        .into_iter()
        .find(|u| matches!(u.role, Role::Leader | Role::Admin))
        .context("no leader or admin account to read the metrics with")?;
    // No background indexing here: on a large database it would rebuild the in-memory search
    // index while the metrics are timed.
    let (base, token) = start_server(store.clone(), leader.id, 0).await?;
    let client = reqwest::Client::new();
    let queries = [
        format!("period=month:{year}-{month:02}&by=unit"),
        format!("period=month:{year}-{month:02}&by=township"),
        format!("period=assess:{year}-{month:02}&by=category"),
        format!("period=quarter:{year}-{}&by=channel", (month - 1) / 3 + 1),
        format!("period=year:{year}&by=unit"),
    ];
    for q in &queries {
        let r = client
            .get(format!("{base}/api/v1/metrics?{q}"))
            .bearer_auth(&token)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "metrics API: {}", r.status());
    }
    let mut lat = Vec::with_capacity(requests);
    for i in 0..requests {
        let q = &queries[i % queries.len()];
        let t = Clock::now();
        let r = client
            .get(format!("{base}/api/v1/metrics?{q}"))
            .bearer_auth(&token)
            .send()
            .await?;
        let _ = r.bytes().await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    writeln!(
        out,
        "metrics API (/api/v1/metrics: headline, previous period, year earlier, breakdown, ranking), {requests} requests over {} kinds of query:\n  p50 {:.1} ms   p95 {:.1} ms   max {:.1} ms",
        queries.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.95),
        percentile(&lat, 1.0)
    )?;

    // 1b. Appeal lists (filters and sorts, page 1 and page 100) and one appeal, over HTTP as the
    // console reads them, beside a request with nothing behind it (`/readyz`) as the anchor.
    lists(&mut out, &store, &client, &base, &token, requests).await?;

    // 2. A year of monthly figures per unit from the rollups.
    let t = Clock::now();
    let mut ours: Cells = BTreeMap::new();
    for m in 1..=12 {
        let Some(period) = Period::month(year, m) else {
            continue;
        };
        let sums = store
            .rollup(RollupQuery {
                period,
                dim: Dim::Unit,
                now,
            })
            .await?;
        for (unit, s) in sums {
            let (on, od, _) = s.get(Metric::Otc);
            let v = s.visits();
            ours.insert(
                (m, unit),
                (on, od, v.satisfied as i64, v.basic as i64, v.visited as i64),
            );
        }
    }
    let rollup_s = t.elapsed().as_secs_f64();
    writeln!(
        out,
        "a year of monthly 按期办结率 and 满意率 per unit ({year}) from the rollups: {:.1} ms",
        rollup_s * 1000.0
    )?;

    // 3. The export DuckDB reads.
    let dir = std::env::temp_dir().join(format!("bihuan-bench-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let t = Clock::now();
    {
        use std::io::Write as _;
        let mut rounds = std::io::BufWriter::new(std::fs::File::create(dir.join("rounds.csv"))?);
        let mut visits = std::io::BufWriter::new(std::fs::File::create(dir.join("visits.csv"))?);
        writeln!(rounds, "appeal,unit,due,replied_at")?;
        writeln!(visits, "appeal,lead,visited_at,rating")?;
        let mut cursor = None;
        loop {
            let page = store
                .list(bihuan_store::AppealFilter::default(), cursor, 500)
                .await?;
            for a in &page.items {
                if a.status == bihuan_domain::Status::Merged {
                    continue;
                }
                for r in &a.reply_rounds {
                    writeln!(
                        rounds,
                        "{},{},{},{}",
                        a.id.0,
                        r.unit.0,
                        r.due.timestamp(),
                        r.replied_at
                            .map(|t| t.timestamp().to_string())
                            .unwrap_or_default()
                    )?;
                }
                if let (Some(v), Some(at)) = (&a.visit, a.visited_at) {
                    let rating = match v.rating {
                        Some(bihuan_domain::lifecycle::Rating::Satisfied) => "satisfied",
                        Some(bihuan_domain::lifecycle::Rating::Basic) => "basic",
                        Some(bihuan_domain::lifecycle::Rating::Unsatisfied) => "unsatisfied",
                        None => "",
                    };
                    writeln!(
                        visits,
                        "{},{},{},{rating}",
                        a.id.0,
                        a.lead.map(|u| u.0.to_string()).unwrap_or_default(),
                        at.timestamp()
                    )?;
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        rounds.flush()?;
        visits.flush()?;
    }
    writeln!(
        out,
        "export for DuckDB (reply rounds and visits as CSV): {:.1} s",
        t.elapsed().as_secs_f64()
    )?;

    // 4. DuckDB on the export, same run.
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/duckdb_metrics.py");
    let run = std::process::Command::new(python)
        .arg(&script)
        .arg(&dir)
        .arg(year.to_string())
        .arg(now.timestamp().to_string())
        .output();
    match run {
        Ok(o) if o.status.success() => {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout)?;
            let load = v["load_s"].as_f64().unwrap_or(0.0);
            let query = v["query_s"].as_f64().unwrap_or(0.0);
            // Do the two agree, cell by cell?
            let mut theirs: Cells = BTreeMap::new();
            for r in v["otc"].as_array().into_iter().flatten() {
                let e = theirs
                    .entry((r[0].as_u64().unwrap_or(0) as u32, r[1].to_string()))
                    .or_default();
                e.0 = r[2].as_i64().unwrap_or(0);
                e.1 = r[3].as_i64().unwrap_or(0);
            }
            for r in v["sat"].as_array().into_iter().flatten() {
                let unit = r[1].as_i64().unwrap_or(-1);
                if unit < 0 {
                    continue;
                }
                let e = theirs
                    .entry((r[0].as_u64().unwrap_or(0) as u32, unit.to_string()))
                    .or_default();
                e.2 = r[2].as_i64().unwrap_or(0);
                e.3 = r[3].as_i64().unwrap_or(0);
                e.4 = r[4].as_i64().unwrap_or(0);
            }
            // Units only (appeals answered at intake have no unit), and cells with something in.
            let ours_nz: BTreeMap<_, _> = ours
                .into_iter()
                .filter(|(k, v)| !k.1.is_empty() && *v != (0, 0, 0, 0, 0))
                .collect();
            theirs.retain(|_, v| *v != (0, 0, 0, 0, 0));
            let agree = ours_nz
                .iter()
                .filter(|(k, v)| theirs.get(k) == Some(v))
                .count();
            for (k, v) in ours_nz
                .iter()
                .filter(|(k, v)| theirs.get(k) != Some(v))
                .take(5)
            {
                writeln!(
                    out,
                    "  differs: month {} unit {}: rollups {v:?}, DuckDB {:?}",
                    k.0,
                    k.1,
                    theirs.get(k)
                )?;
            }
            writeln!(
                out,
                "DuckDB {} on the export, same run: load {:.2} s, query {:.1} ms\n\
                 ratio DuckDB query / rollups: {:.1}x; cells (month × unit) that agree: {agree} of {} (DuckDB has {})",
                v["duckdb"].as_str().unwrap_or("?"),
                load,
                query * 1000.0,
                query / rollup_s.max(1e-9),
                ours_nz.len(),
                theirs.len()
            )?;
        }
        Ok(o) => writeln!(
            out,
            "DuckDB skipped: {} failed ({}); `pip install duckdb` or pass --python",
            python,
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )?,
        Err(e) => writeln!(out, "DuckDB skipped: cannot run {python}: {e}")?,
    }
    let _ = std::fs::remove_dir_all(&dir);

    // 5. A full rebuild.
    if rebuild {
        let t = Clock::now();
        let n = store.rebuild_rollups().await?;
        writeln!(
            out,
            "rollup rebuild from {n} appeals: {:.1} s",
            t.elapsed().as_secs_f64()
        )?;
    }
    Ok(out)
}

/// Times `GET url` `n` times (each answer read whole; anything but 200 fails the bench).
async fn timed(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    n: usize,
) -> anyhow::Result<(Vec<Duration>, serde_json::Value)> {
    let mut lat = Vec::with_capacity(n);
    let mut last = serde_json::Value::Null;
    for _ in 0..n {
        let t = Clock::now();
        let r = client.get(url).bearer_auth(token).send().await?;
        anyhow::ensure!(r.status().is_success(), "{url}: {}", r.status());
        let body = r.bytes().await?;
        lat.push(t.elapsed());
        last = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    }
    Ok((lat, last))
}

/// The list and detail part of `bench-metrics`.
async fn lists(
    out: &mut String,
    store: &Arc<dyn Store>,
    client: &reqwest::Client,
    base: &str,
    token: &str,
    requests: usize,
) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let catalog = store.catalog();
    let township = catalog
        .org
        .units()
        .find(|u| u.kind == UnitKind::Township)
        .map(|u| u.id.0)
        .context("no township")?;
    let unit = catalog
        .org
        .units()
        .find(|u| u.kind == UnitKind::Department)
        .map(|u| u.id.0)
        .context("no department")?;
    let category = catalog
        .categories
        .iter()
        .find(|c| c.parent.is_none())
        .map(|c| c.id.0)
        .context("no category")?;
    let queries = [
        String::new(),
        "status=pending_dispatch".into(),
        "status=closed".into(),
        "overdue=true".into(),
        format!("township={township}"),
        format!("unit={unit}&sort=due"),
        format!("category={category}"),
        "channel=web".into(),
        "sort=due".into(),
        "sort=due:reply".into(),
        format!("township={township}&status=closed&sort=newest"),
    ];
    let reps = (requests / queries.len()).max(3);
    let (mut anchor, _) = timed(client, &format!("{base}/readyz"), token, reps * 2).await?;
    anchor.sort();
    let mut first = Vec::new();
    let mut hundredth = Vec::new();
    let mut worst: (f64, &str) = (0.0, "");
    let mut short = Vec::new();
    let mut slow = Vec::new();
    for q in &queries {
        let url = format!("{base}/api/v1/appeals?limit=20&{q}");
        let (mut lat, page) = timed(client, &url, token, reps).await?;
        lat.sort();
        let p95 = percentile(&lat, 0.95);
        if p95 > 50.0 {
            slow.push(format!("\"{q}\" page 1 p95 {p95:.1} ms"));
        }
        first.extend(lat);
        // Walk to page 100 (the walk untimed), then time that page.
        let mut page = page;
        let mut n = 1;
        while n < 100 {
            let Some(c) = page["next_cursor"].as_str() else {
                break;
            };
            let next = format!("{url}&cursor={c}");
            page = timed(client, &next, token, 1).await?.1;
            n += 1;
            if n == 100 {
                let (mut lat, _) = timed(client, &next, token, reps).await?;
                lat.sort();
                let p95 = percentile(&lat, 0.95);
                if p95 > worst.0 {
                    worst = (p95, q.as_str());
                }
                if p95 > 50.0 {
                    slow.push(format!("\"{q}\" page 100 p95 {p95:.1} ms"));
                }
                hundredth.extend(lat);
            }
        }
        if n < 100 {
            short.push(format!("{q} ({n} pages)"));
        }
    }
    first.sort();
    hundredth.sort();
    writeln!(
        out,
        "anchor GET /readyz: p50 {:.1} ms   p95 {:.1} ms",
        percentile(&anchor, 0.5),
        percentile(&anchor, 0.95)
    )?;
    writeln!(
        out,
        "appeal list (/api/v1/appeals, 20 a page), {} filters and sorts × {reps}: page 1 p50 {:.1} ms   p95 {:.1} ms; page 100 p50 {:.1} ms   p95 {:.1} ms (slowest: \"{}\" p95 {:.1} ms){}",
        queries.len(),
        percentile(&first, 0.5),
        percentile(&first, 0.95),
        percentile(&hundredth, 0.5),
        percentile(&hundredth, 0.95),
        worst.1,
        worst.0,
        if short.is_empty() {
            String::new()
        } else {
            format!("; fewer than 100 pages: {}", short.join(", "))
        }
    )?;
    if !slow.is_empty() {
        writeln!(out, "  over 50 ms: {}", slow.join("; "))?;
    }
    // One appeal (its state, history, files and the actions open to the caller), spread over
    // the whole file.
    let total = store
        .count(bihuan_store::AppealFilter::default())
        .await?
        .max(1);
    let mut one = Vec::new();
    for i in 0..requests as u64 {
        let id = 1 + (i * 7_919_993) % total;
        let Ok(a) = store
            .appeal(bihuan_store::AppealRef::Id(bihuan_domain::AppealId(id)))
            .await
        else {
            continue;
        };
        let (lat, _) = timed(
            client,
            &format!("{base}/api/v1/appeals/{}", a.number),
            token,
            1,
        )
        .await?;
        one.extend(lat);
    }
    one.sort();
    writeln!(
        out,
        "one appeal (/api/v1/appeals/{{number}}: state, history, files, actions), {} appeals across the file: p50 {:.1} ms   p95 {:.1} ms",
        one.len(),
        percentile(&one, 0.5),
        percentile(&one, 0.95)
    )?;
    Ok(())
}

/// `bihuan search bench`: full-text search and the duplicate check on an existing database,
/// beside the plain appeal list (newest 50, no search) measured in the same run as the anchor.
pub async fn search(
    store: Arc<dyn Store>,
    config: Config,
    queries: usize,
) -> anyhow::Result<String> {
    use bihuan_server::smart::Smart;
    use bihuan_store::AppealFilter;
    use rand::{Rng, SeedableRng};
    use std::fmt::Write as _;

    let mut out = String::new();
    let smart = Smart::open(&store, &config).await?;
    let now = chrono::Utc::now();
    let t = Clock::now();
    if smart.search.documents() == 0 {
        let n = smart.rebuild(&store).await?;
        writeln!(
            out,
            "search index built: {n} appeals in {:.1} s",
            t.elapsed().as_secs_f64()
        )?;
    } else {
        let n = smart.catch_up(&store, now).await?;
        writeln!(
            out,
            "search index current ({} documents; {n} appeals caught up)",
            smart.search.documents()
        )?;
    }
    // The duplicate window at "now" of the data: the newest appeal's registration.
    let newest = store.list(AppealFilter::default(), None, 1).await?;
    let data_now = newest.items.first().map(|a| a.registered_at).unwrap_or(now);
    let t = Clock::now();
    let n = smart.fill_duplicates(&store, data_now).await?;
    writeln!(
        out,
        "duplicate index: {n} open appeals of the last 30 days, filled in {:.1} s",
        t.elapsed().as_secs_f64()
    )?;

    // Queries drawn from the appeals: two words of one appeal's text.
    let mut sample = Vec::new();
    let mut cursor = None;
    while sample.len() < 3000 {
        let page = store.list(AppealFilter::default(), cursor, 500).await?;
        sample.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    if sample.is_empty() {
        anyhow::bail!("the database has no appeals; generate some first (bihuan generate)");
    }
    let tok = smart.router().tokenizer.clone();
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let mut qs = Vec::new();
    for _ in 0..queries {
        let a = &sample[rng.gen_range(0..sample.len())];
        let text = bihuan_smart::text::normalise(&format!("{} {}", a.title, a.content));
        let words: Vec<&str> = tok
            .words(&text)
            .into_iter()
            .filter(|w| w.chars().count() >= 2)
            .collect();
        if words.is_empty() {
            continue;
        }
        let k = rng.gen_range(1..=2.min(words.len()));
        let q: Vec<&str> = (0..k)
            .map(|_| words[rng.gen_range(0..words.len())])
            .collect();
        qs.push(q.join(" "));
    }
    let pct = |mut v: Vec<f64>| -> (f64, f64) {
        v.sort_by(|a, b| a.total_cmp(b));
        let at = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
        (at(0.5), at(0.95))
    };
    let (mut anchor, mut index_only, mut listed, mut matches) = (vec![], vec![], vec![], vec![]);
    for q in &qs {
        let t = Clock::now();
        store.list(AppealFilter::default(), None, 50).await?;
        anchor.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Clock::now();
        let hits = smart.search(q).map_err(|e| anyhow::anyhow!(e.message))?;
        index_only.push(t.elapsed().as_secs_f64() * 1e3);
        matches.push(hits.total as f64);
        let filter = AppealFilter {
            ids: Some(
                hits.ids
                    .iter()
                    .map(|i| bihuan_domain::AppealId(*i))
                    .collect(),
            ),
            ..Default::default()
        };
        store.list(filter, None, 50).await?;
        listed.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (a50, a95) = pct(anchor);
    let (i50, i95) = pct(index_only);
    let (l50, l95) = pct(listed);
    let (m50, m95) = pct(matches);
    writeln!(
        out,
        "{} queries of 1–2 words drawn from the appeals (matches p50 {m50:.0}, p95 {m95:.0}):",
        qs.len()
    )?;
    writeln!(
        out,
        "  search, index only        p50 {i50:.2} ms  p95 {i95:.2} ms"
    )?;
    writeln!(
        out,
        "  search + first list page  p50 {l50:.2} ms  p95 {l95:.2} ms"
    )?;
    writeln!(
        out,
        "  anchor: list page, no search  p50 {a50:.2} ms  p95 {a95:.2} ms (same run)"
    )?;

    // The duplicate check at intake: an appeal's text slightly changed, against the index.
    let mut dup = vec![];
    let mut found = 0usize;
    for i in 0..queries {
        let a = &sample[i % sample.len()];
        let content = format!("{}。再次反映", a.content);
        let t = Clock::now();
        let facts = bihuan_smart::dedup::Facts {
            content: &content,
            at: data_now.timestamp(),
            ..bihuan_server::smart::facts_of(a, None)
        };
        let m = smart.similar(&facts, data_now, None);
        dup.push(t.elapsed().as_secs_f64() * 1e3);
        found += usize::from(!m.is_empty());
    }
    let (d50, d95) = pct(dup);
    writeln!(
        out,
        "duplicate check at intake ({queries} checks, {found} found a match): p50 {d50:.3} ms  p95 {d95:.3} ms"
    )?;
    Ok(out)
}

/// Starts a server on a free port (no deadline scanner; background indexing every
/// `index_interval_secs`, 0 for none) and returns its address and an API token for `user`.
async fn start_server(
    store: Arc<dyn Store>,
    user: bihuan_domain::UserId,
    index_interval_secs: u64,
) -> anyhow::Result<(String, String)> {
    let (token, hash) = auth::new_token();
    store
        .put_credential(hash, user, CredentialKind::ApiToken, None, "bench".into())
        .await?;
    let config = Config {
        listen: "127.0.0.1:0".into(),
        scan_interval_secs: 0,
        notify_interval_secs: 0,
        index_interval_secs,
        ..Config::default()
    };
    let app = Application::build(config, store).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    Ok((base, token))
}

/// A head of household's name for the benches: a surname and two given names run together
/// (3–5 characters), 5,120 different ones, so each is about 40 households of 200,000.
fn bench_head(i: usize) -> String {
    use crate::demo::{GIVEN, SURNAMES};
    format!(
        "{}{}{}",
        SURNAMES[i % SURNAMES.len()],
        GIVEN[(i / SURNAMES.len()) % GIVEN.len()],
        GIVEN[(i / SURNAMES.len() / GIVEN.len() + 5) % GIVEN.len()]
    )
}

/// 入户听诉 at county scale, in a temporary SQLite database (`bihuan bench-visits`):
/// `households` households in the demo county's grids, cadres carrying about 250 each, a
/// campaign launched over all of them (tasks written by the use case, timed), `visits` visits
/// (written in bulk as the aggregate store writes them, with the tasks of the households met
/// updated through their own command), then the p50/p95 of a cadre's task list, of the
/// registry's search and of the coverage tables beside an anchor (one household read) in the
/// same run.
pub async fn visits(households: usize, visits: usize, samples: usize) -> anyhow::Result<String> {
    use bihuan_domain::household::{Household, HouseholdCommand, HouseholdFacts};
    use bihuan_domain::visits::{
        Cadence, CampaignPlan, Outcome, VisitCommand, VisitRecord, VisitRule, VisitTask,
        VisitTaskCommand,
    };
    use bihuan_server::visits as uc;
    use bihuan_store::aggregates;
    let dir = std::env::temp_dir().join(format!("bihuan-bench-visits-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.join("visits.db"))?);
    bihuan_server::ensure_indexes(store.as_ref()).await?;
    let county = crate::demo::county();
    crate::demo::install(&store, &county, "bench-no-login").await?;
    let catalog = store.catalog();
    let now = bihuan_domain::time::local(2026, 12, 1, 9, 0, 0).expect("a time");
    let clock = Arc::new(bihuan_server::ManualClock::new(now));
    let config = Config {
        listen: "127.0.0.1:0".into(),
        scan_interval_secs: 0,
        notify_interval_secs: 0,
        ..Config::default()
    };
    let app = Application::build_with_clock(config, store.clone(), clock.clone()).await?;
    let state = app.state();
    let users = store.users().await?;
    let caller_of = |u: &bihuan_store::User| -> anyhow::Result<auth::Caller> {
        let kind = catalog.org.get(u.unit).context("unit")?.kind;
        Ok(auth::Caller {
            actor: catalog.actor(u),
            user: u.clone(),
            unit_kind: kind,
        })
    };
    let centre = caller_of(
        users
            .iter()
            .find(|u| u.login == "dispatch1")
            .context("dispatch1")?,
    )?;
    let grids: Vec<UnitId> = county.grids.values().flatten().copied().collect();
    let mut out = String::new();

    // The registry.
    let started = Clock::now();
    let mut batch = Vec::new();
    for i in 0..households {
        let g = grids[i % grids.len()];
        let at = bihuan_server::households::locate(&catalog, g.0)?;
        let tags = if i % 11 == 3 {
            vec!["独居老人".to_string()]
        } else {
            vec![]
        };
        batch.push(HouseholdCommand::Register {
            at,
            facts: HouseholdFacts {
                address: format!("测试路{}号{}室", i / 100, i % 100),
                head: bench_head(i),
                phone: bihuan_domain::Phone::parse(&format!("137{:08}", i)).ok(),
                members: 1 + (i % 5) as u32,
                tags,
            },
        });
        if batch.len() == 500 || i + 1 == households {
            aggregates::create_many::<Household>(
                store.as_ref(),
                std::mem::take(&mut batch),
                centre.actor.clone(),
                now,
            )
            .await?;
        }
    }
    out.push_str(&format!(
        "households: {households} in {:.1} s ({:.0}/s)\n",
        started.elapsed().as_secs_f64(),
        households as f64 / started.elapsed().as_secs_f64()
    ));

    // Cadres: one per ~250 households of a grid, carrying them by name.
    let mut by_grid: std::collections::BTreeMap<UnitId, Vec<u64>> = Default::default();
    let mut after = 0;
    loop {
        let page = aggregates::find::<Household>(store.as_ref(), "", "", after, 500).await?;
        let last = page.len() < 500;
        for h in &page {
            after = h.id;
            by_grid.entry(h.state.at.grid).or_default().push(h.id);
        }
        if last {
            break;
        }
    }
    let mut cadres = Vec::new();
    for (g, hs) in &by_grid {
        for (k, chunk) in hs.chunks(250).enumerate() {
            let u = store
                .create_user(NewUser {
                    login: format!("cadre-{}-{k}", g.0),
                    name: format!("干部{}-{k}", g.0),
                    role: Role::GridMember,
                    unit: *g,
                    password_hash: "bench-no-login".into(),
                })
                .await?;
            let b = uc::AssignBody {
                cadre: u.id.0,
                party_member: true,
                grids: vec![],
                households: chunk.to_vec(),
            };
            uc::assign(&state, &centre, b)
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            cadres.push(u);
        }
    }
    out.push_str(&format!(
        "cadres: {} (about 250 households each)\n",
        cadres.len()
    ));

    // The campaign, launched by the use case.
    let plan = CampaignPlan {
        name: "基准测试入户听诉".into(),
        starts: bihuan_domain::time::local_date(now),
        ends: bihuan_domain::time::local_date(now) + chrono::Duration::days(60),
        townships: vec![],
        grids: vec![],
        rules: vec![
            VisitRule {
                tag: None,
                cadence: Cadence::Once,
                within: 30,
            },
            VisitRule {
                tag: Some("独居老人".into()),
                cadence: Cadence::Monthly,
                within: 0,
            },
        ],
        topics: uc::DEFAULT_TOPICS.iter().map(|t| t.to_string()).collect(),
    };
    let camp = uc::plan(&state, &centre, plan)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let started = Clock::now();
    let camp = uc::launch(&state, &centre, camp.id)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let secs = started.elapsed().as_secs_f64();
    out.push_str(&format!(
        "launch: {} tasks in {secs:.1} s ({:.0} tasks/s)\n",
        camp.campaign.frozen,
        camp.campaign.frozen as f64 / secs
    ));

    // The visits: written in bulk; 60% of the households met, their tasks updated.
    let tasks: Vec<(u64, VisitTask)> =
        aggregates::find_all::<VisitTask>(store.as_ref(), "campaign", &camp.id.to_string(), 0)
            .await?
            .into_iter()
            .map(|t| (t.id, t.state))
            .collect();
    let started = Clock::now();
    let names: std::collections::HashMap<u32, String> = users
        .iter()
        .chain(&cadres)
        .map(|u| (u.id.0, u.name.clone()))
        .collect();
    let mut batch = Vec::new();
    let mut met = Vec::new();
    for v in 0..visits {
        let (task_id, t) = &tasks[(v * 7919) % tasks.len()];
        let outcome = if v % 5 < 3 {
            Outcome::Met
        } else {
            Outcome::NotHome
        };
        let cadre = t.cadre.unwrap_or(centre.user.id);
        if outcome == Outcome::Met && !t.met {
            met.push((*task_id, v));
        }
        batch.push(VisitCommand::Record {
            record: Box::new(VisitRecord {
                household: t.household,
                at: t.at,
                campaign: Some(camp.id),
                task: Some(*task_id),
                cadre,
                cadre_name: names.get(&cadre.0).cloned().unwrap_or_default(),
                visited_at: now - chrono::Duration::minutes((v % 20_000) as i64),
                outcome,
                heard: vec!["听民声".into()],
                note: String::new(),
                needs: vec![],
                return_visits: vec![],
                draft: format!("bench-{v}"),
            }),
            topics: uc::DEFAULT_TOPICS.iter().map(|t| t.to_string()).collect(),
            classes: uc::classes().into_iter().map(|c| c.code).collect(),
        });
        if batch.len() == 500 || v + 1 == visits {
            aggregates::create_many::<bihuan_domain::visits::Visit>(
                store.as_ref(),
                std::mem::take(&mut batch),
                centre.actor.clone(),
                now,
            )
            .await?;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    out.push_str(&format!(
        "visits: {visits} in {secs:.1} s ({:.0}/s)\n",
        visits as f64 / secs
    ));
    met.sort();
    met.dedup_by_key(|m| m.0);
    let started = Clock::now();
    for (task, v) in &met {
        aggregates::execute::<VisitTask>(
            store.as_ref(),
            Some(*task),
            VisitTaskCommand::Record {
                visit: *v as u64 + 1,
                outcome: Outcome::Met,
            },
            centre.actor.clone(),
            now,
            None,
        )
        .await?;
    }
    out.push_str(&format!(
        "tasks met: {} updated in {:.1} s\n",
        met.len(),
        started.elapsed().as_secs_f64()
    ));

    // The reads, beside an anchor in the same run.
    let time = |xs: &mut Vec<Duration>| {
        xs.sort();
        (percentile(xs, 0.5), percentile(xs, 0.95))
    };
    let mut anchor = Vec::new();
    for i in 0..samples {
        let id = 1 + (i * 7919 % households) as u64;
        let s = Clock::now();
        aggregates::load::<Household>(store.as_ref(), id).await?;
        anchor.push(s.elapsed());
    }
    let mut list = Vec::new();
    let mut sizes = Vec::new();
    for i in 0..samples {
        let u = &cadres[i * 31 % cadres.len()];
        let who = caller_of(u)?;
        let s = Clock::now();
        let t = uc::tasks(
            &state,
            &who,
            &uc::TaskQuery {
                all: true,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
        list.push(s.elapsed());
        sizes.push(t.len());
    }
    let leader = caller_of(
        users
            .iter()
            .find(|u| u.login == "leader1")
            .context("leader1")?,
    )?;
    let mut tables = Vec::new();
    for (name, level) in [
        ("township", uc::Level::Township),
        ("grid", uc::Level::Grid),
        ("cadre", uc::Level::Cadre),
    ] {
        let mut xs = Vec::new();
        let mut rows = 0;
        let mut total = None;
        for _ in 0..samples {
            let s = Clock::now();
            let t = uc::coverage(&state, &leader, camp.id, level)
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            xs.push(s.elapsed());
            rows = t.rows.len();
            total = Some(t.total);
        }
        tables.push((name, time(&mut xs), rows, total));
    }
    // The registry searched county-wide (the centre's reach), by a head's name and by an
    // address's tail, first page.
    let mut search = Vec::new();
    let mut found = Vec::new();
    for i in 0..samples {
        let k = i * 7919 % households;
        let q = if i % 2 == 0 {
            bench_head(k)
        } else {
            format!("{}号{}室", k / 100, k % 100)
        };
        let s = Clock::now();
        let page = bihuan_server::households::list(
            &state,
            &centre,
            &bihuan_server::households::HouseholdQuery {
                q: Some(q),
                limit: Some(50),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
        search.push(s.elapsed());
        found.push(page.items.len());
    }
    found.sort();
    let (s50, s95) = time(&mut search);
    let (a50, a95) = time(&mut anchor);
    let (l50, l95) = time(&mut list);
    sizes.sort();
    out.push_str(&format!(
        "anchor (one household read): p50 {a50:.2} ms, p95 {a95:.2} ms ({samples} samples)\n\
         a cadre's task list ({}–{} tasks, all rounds): p50 {l50:.1} ms, p95 {l95:.1} ms (p95 {:.0}× the anchor's)\n",
        sizes.first().unwrap_or(&0),
        sizes.last().unwrap_or(&0),
        l95 / a95.max(1e-6)
    ));
    out.push_str(&format!(
        "registry search, county-wide, a head's name or an address's tail ({}–{} found, first page of 50): p50 {s50:.1} ms, p95 {s95:.1} ms (p95 {:.0}× the anchor's)\n",
        found.first().unwrap_or(&0),
        found.last().unwrap_or(&0),
        s95 / a95.max(1e-6)
    ));
    for (name, (p50, p95), rows, total) in tables {
        out.push_str(&format!(
            "coverage by {name} ({rows} rows): p50 {p50:.1} ms, p95 {p95:.1} ms{}\n",
            total
                .map(|t| format!(
                    " — county: {} of {} met, rate {:.1}%",
                    t.coverage.visited,
                    t.coverage.households,
                    t.rate.unwrap_or(0.0)
                ))
                .unwrap_or_default()
        ));
    }
    drop(app);
    drop(state);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}
