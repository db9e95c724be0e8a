//! Operations: `/healthz`, Prometheus metrics at `/metrics`, and the request-counting
//! middleware. Logs and metrics carry routes, codes and counts — never personal data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant as Clock;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::AppState;

/// Up to the slowest requests the server answers: a whole-county export takes ~9 s.
const BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// When the process started (for `process_start_time_seconds` and `/readyz`).
static STARTED: std::sync::OnceLock<(std::time::SystemTime, std::time::Instant)> =
    std::sync::OnceLock::new();

/// Notes the process start; called when the application is built.
pub fn note_start() {
    STARTED.get_or_init(|| (std::time::SystemTime::now(), std::time::Instant::now()));
}

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    n: u64,
}

#[derive(Default)]
pub struct Ops {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    actions: Mutex<BTreeMap<&'static str, u64>>,
    pub scanner_runs: AtomicU64,
    pub scanner_supervised: AtomicU64,
    pub scanner_errors: AtomicU64,
    /// Exports answered (appeal lists and ranking tables), and the appeal rows they carried.
    pub exports: AtomicU64,
    pub export_rows: AtomicU64,
    /// Connections turned away because `max_connections` were open.
    pub connections_refused: AtomicU64,
    /// Connections open now.
    pub connections_open: AtomicU64,
    workers: Mutex<BTreeMap<&'static str, Worker>>,
}

/// A background worker as `/healthz` reports it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Worker {
    pub running: bool,
    /// Times its task panicked (each time it was started again after a pause).
    pub panics: u64,
}

/// How long a worker that panicked stays down before it is started again (so that a worker
/// that panics at once does not spin).
pub const WORKER_RESTART_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs a background worker under supervision: `body` is its whole loop. If the task panics, the
/// panic is logged and counted, `/healthz` reports the worker down, and after
/// [`WORKER_RESTART_AFTER`] it is started again. A worker whose loop returns has finished.
pub fn supervise<F, Fut>(state: &AppState, name: &'static str, body: F)
where
    F: Fn(AppState) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let state = state.clone();
    state.ops.set_worker(name, |w| w.running = true);
    tokio::spawn(async move {
        loop {
            state.ops.set_worker(name, |w| w.running = true);
            let ended = tokio::spawn(body(state.clone())).await;
            state.ops.set_worker(name, |w| w.running = false);
            match ended {
                Err(e) if e.is_panic() => {
                    state.ops.set_worker(name, |w| w.panics += 1);
                    tracing::error!(
                        worker = name,
                        "a background worker panicked; it starts again in {} s",
                        WORKER_RESTART_AFTER.as_secs()
                    );
                    tokio::time::sleep(WORKER_RESTART_AFTER).await;
                }
                _ => {
                    tracing::info!(worker = name, "a background worker finished");
                    // Finished on purpose: not a failure.
                    if let Ok(mut m) = state.ops.workers.lock() {
                        m.remove(name);
                    }
                    break;
                }
            }
        }
    });
}

impl Ops {
    fn set_worker(&self, name: &'static str, f: impl FnOnce(&mut Worker)) {
        if let Ok(mut m) = self.workers.lock() {
            f(m.entry(name).or_default());
        }
    }

    /// The supervised background workers and their state.
    pub fn workers(&self) -> BTreeMap<&'static str, Worker> {
        self.workers.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn count_action(&self, name: &'static str) {
        if let Ok(mut m) = self.actions.lock() {
            *m.entry(name).or_default() += 1;
        }
    }

    fn record(&self, method: &str, route: &str, status: u16, secs: f64) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut m) = self.latency.lock() {
            let h = m
                .entry((method.to_string(), route.to_string()))
                .or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += secs;
            h.n += 1;
        }
    }
}

/// Counts every request by method, matched route (never the raw path) and status.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let start = Clock::now();
    let resp = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    state.ops.record(&method, &route, status, secs);
    // The access log: the route's pattern, never the raw path or query (a query may hold a
    // phone number).
    tracing::info!(target: "bihuan::access", %method, %route, status, ms = secs * 1000.0, "request");
    resp
}

/// 200 when the store takes writes and every background worker runs; 503 otherwise, with what
/// is wrong. Asks the store's writer itself (a dead SQLite writer thread is unhealthy even while
/// reads still work).
pub async fn healthz(State(state): State<AppState>) -> Response {
    let workers = state.ops.workers();
    let down: Vec<&str> = workers
        .iter()
        .filter(|(_, w)| !w.running)
        .map(|(n, _)| *n)
        .collect();
    let store = state.store.health().await;
    let detail = json!({
        "workers": workers,
        "writer_panics": state.store.writer_panics(),
    });
    match (store, down.is_empty()) {
        (Ok(()), true) => {
            let mut v = json!({"status": "ok"});
            v.as_object_mut()
                .into_iter()
                .for_each(|o| o.extend(detail.as_object().cloned().unwrap_or_default()));
            Json(v).into_response()
        }
        (Err(e), _) => {
            tracing::error!(error = %e, "health check failed: the store");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "code": bihuan_domain::ErrorCode::StoreUnavailable,
                    "message": "数据库不可用或写入线程已停止，请查看服务器日志并重启服务",
                    "workers": detail["workers"], "writer_panics": detail["writer_panics"]})),
            )
                .into_response()
        }
        (Ok(()), false) => {
            tracing::error!(workers = ?down, "health check failed: background workers down");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({"status": "unavailable", "code": bihuan_domain::ErrorCode::WorkerDown,
                    "message": format!("后台任务未运行：{}，请查看服务器日志", down.join("、")),
                    "workers": detail["workers"], "writer_panics": detail["writer_panics"]}),
                ),
            )
                .into_response()
        }
    }
}

/// Build information and the process's own figures (from `/proc` on Linux).
fn process_metrics(out: &mut String) {
    out.push_str("# HELP bihuan_build_info The running build.\n# TYPE bihuan_build_info gauge\n");
    let _ = writeln!(
        out,
        "bihuan_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    if let Some((wall, _)) = STARTED.get() {
        let secs = wall
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        out.push_str("# HELP process_start_time_seconds Start time of the process since the epoch.\n# TYPE process_start_time_seconds gauge\n");
        let _ = writeln!(out, "process_start_time_seconds {secs:.3}");
    }
    // /proc/self/stat: utime and stime (fields 14 and 15) in clock ticks (100 per second on
    // Linux), then the resident set in pages (field 24).
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
        let num = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
        if let (Some(u), Some(s)) = (num(11), num(12)) {
            out.push_str("# HELP process_cpu_seconds_total User and system CPU time spent.\n# TYPE process_cpu_seconds_total counter\n");
            let _ = writeln!(out, "process_cpu_seconds_total {:.2}", (u + s) / 100.0);
        }
        if let Some(pages) = num(21) {
            out.push_str("# HELP process_resident_memory_bytes Resident memory size.\n# TYPE process_resident_memory_bytes gauge\n");
            let _ = writeln!(out, "process_resident_memory_bytes {}", pages * 4096.0);
        }
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        out.push_str(
            "# HELP process_open_fds Open file descriptors.\n# TYPE process_open_fds gauge\n",
        );
        let _ = writeln!(out, "process_open_fds {}", fds.count());
    }
}

/// 200 when the server can take traffic: the store answers and takes writes. Says the
/// version and how long it has run. (`/healthz` also reports the background workers.)
pub async fn readyz(State(state): State<AppState>) -> Response {
    let up = STARTED.get().map_or(0, |(_, i)| i.elapsed().as_secs());
    match state.store.health().await {
        Ok(()) => Json(
            json!({"status": "ready", "version": env!("CARGO_PKG_VERSION"), "uptime_secs": up}),
        )
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed: the store");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({"status": "unavailable", "version": env!("CARGO_PKG_VERSION"),
                    "code": bihuan_domain::ErrorCode::StoreUnavailable,
                    "message": "数据库不可用或写入线程已停止，请查看服务器日志并重启服务"}),
                ),
            )
                .into_response()
        }
    }
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

pub async fn metrics(
    State(state): State<AppState>,
    mut parts: axum::http::request::Parts,
) -> Response {
    if !state.config.public_metrics {
        if let Err(e) = crate::auth::require_admin(&mut parts, &state).await {
            return e.into_response();
        }
    }
    let mut out = String::new();
    let ops = &state.ops;
    out.push_str("# HELP bihuan_http_requests_total HTTP requests by method, route and status.\n");
    out.push_str("# TYPE bihuan_http_requests_total counter\n");
    if let Ok(m) = ops.requests.lock() {
        for ((method, route, status), n) in m.iter() {
            let _ = writeln!(
                out,
                "bihuan_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                label(method),
                label(route)
            );
        }
    }
    out.push_str(
        "# HELP bihuan_http_request_duration_seconds Request latency by method and route.\n",
    );
    out.push_str("# TYPE bihuan_http_request_duration_seconds histogram\n");
    if let Ok(m) = ops.latency.lock() {
        for ((method, route), h) in m.iter() {
            let l = format!("method=\"{}\",route=\"{}\"", label(method), label(route));
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "bihuan_http_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "bihuan_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                h.n
            );
            let _ = writeln!(
                out,
                "bihuan_http_request_duration_seconds_sum{{{l}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "bihuan_http_request_duration_seconds_count{{{l}}} {}",
                h.n
            );
        }
    }
    process_metrics(&mut out);
    out.push_str("# HELP bihuan_actions_total Appeal commands accepted, by action.\n");
    out.push_str("# TYPE bihuan_actions_total counter\n");
    if let Ok(m) = ops.actions.lock() {
        for (name, n) in m.iter() {
            let _ = writeln!(out, "bihuan_actions_total{{action=\"{name}\"}} {n}");
        }
    }
    out.push_str("# HELP bihuan_write_queue_depth Write jobs waiting for the store's writer.\n");
    out.push_str("# TYPE bihuan_write_queue_depth gauge\n");
    let _ = writeln!(
        out,
        "bihuan_write_queue_depth {}",
        state.store.queue_depth()
    );
    out.push_str("# HELP bihuan_appeals Appeals by status.\n# TYPE bihuan_appeals gauge\n");
    if let Ok(counts) = state.store.count_by_status().await {
        for (status, n) in counts {
            let code = serde_json::to_value(status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = writeln!(out, "bihuan_appeals{{status=\"{code}\"}} {n}");
        }
    }
    out.push_str("# HELP bihuan_connections_open HTTP connections open now.\n# TYPE bihuan_connections_open gauge\n");
    let _ = writeln!(
        out,
        "bihuan_connections_open {}",
        ops.connections_open.load(Ordering::Relaxed)
    );
    out.push_str("# HELP bihuan_connections_refused_total Connections answered 503 because max_connections were open.\n# TYPE bihuan_connections_refused_total counter\n");
    let _ = writeln!(
        out,
        "bihuan_connections_refused_total {}",
        ops.connections_refused.load(Ordering::Relaxed)
    );
    out.push_str("# HELP bihuan_scanner_runs_total Deadline scans completed.\n# TYPE bihuan_scanner_runs_total counter\n");
    let _ = writeln!(
        out,
        "bihuan_scanner_runs_total {}",
        ops.scanner_runs.load(Ordering::Relaxed)
    );
    out.push_str("# HELP bihuan_scanner_supervised_total Overdue supervisions raised by the scanner.\n# TYPE bihuan_scanner_supervised_total counter\n");
    let _ = writeln!(
        out,
        "bihuan_scanner_supervised_total {}",
        ops.scanner_supervised.load(Ordering::Relaxed)
    );
    out.push_str("# HELP bihuan_exports_total Exports answered (appeal lists, ranking tables).\n# TYPE bihuan_exports_total counter\n");
    let _ = writeln!(
        out,
        "bihuan_exports_total {}",
        ops.exports.load(Ordering::Relaxed)
    );
    out.push_str("# HELP bihuan_export_rows_total Appeal rows exported.\n# TYPE bihuan_export_rows_total counter\n");
    let _ = writeln!(
        out,
        "bihuan_export_rows_total {}",
        ops.export_rows.load(Ordering::Relaxed)
    );
    out.push_str("# HELP bihuan_scanner_errors_total Scanner failures.\n# TYPE bihuan_scanner_errors_total counter\n");
    let _ = writeln!(
        out,
        "bihuan_scanner_errors_total {}",
        ops.scanner_errors.load(Ordering::Relaxed)
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
