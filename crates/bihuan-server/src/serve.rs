//! The HTTP server loop. Each connection is served by hyper's HTTP/1.1 with a header read
//! timeout — which also ends a kept-alive connection that sends nothing — and every request
//! has a time limit that covers reading its body (`timeout` below, 408). Open connections are
//! capped: past the cap a new connection gets an immediate 503 and is closed, so a flood of idle
//! or slow connections can neither exhaust the process's file descriptors nor hang `/healthz`
//! behind it. A stop signal ends accepting, lets requests in flight finish (up to
//! `DRAIN`), then returns.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How long a stop waits for requests in flight.
pub const DRAIN: Duration = Duration::from_secs(10);

/// The connection limits of a server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
}

/// Serves `app` on `listener` until `stop` completes.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    ops: Arc<crate::ops::Ops>,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stopping, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        let (stream, addr) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors, most likely: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            ops.connections_refused.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(refuse(stream));
            continue;
        };
        let app = app.clone();
        let mut stop_rx = stop_rx.clone();
        let ops = ops.clone();
        connections.spawn(async move {
            let _slot = slot;
            ops.connections_open.fetch_add(1, Ordering::Relaxed);
            let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(addr));
                app.clone().oneshot(req.map(Body::new))
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                done = conn.as_mut() => {
                    if let Err(e) = done {
                        tracing::debug!(error = %e, client = %addr, "connection ended");
                    }
                }
                _ = stop_rx.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            ops.connections_open.fetch_sub(1, Ordering::Relaxed);
        });
    }
    let _ = stopping.send(true);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("requests still running after {DRAIN:?}; stopping anyway");
    }
    Ok(())
}

/// The answer past the cap: 503 with when to retry, then the connection is closed.
async fn refuse(mut stream: TcpStream) {
    let body = format!(
        r#"{{"code":"{}","message":"服务器连接数已满,请稍后重试"}}"#,
        bihuan_domain::ErrorCode::Busy
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(answer.as_bytes())).await;
    let _ = stream.shutdown().await;
}

/// Middleware: a request (reading its body included) that takes longer than `limit` is answered
/// 408 `request_timeout`.
pub async fn timeout(
    axum::extract::State(limit): axum::extract::State<Duration>,
    req: Request<Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => crate::error::ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            bihuan_domain::ErrorCode::RequestTimeout,
            format!(
                "请求超过 {} 秒未完成（内容发送过慢或处理过久），请重试",
                limit.as_secs()
            ),
        )
        .into_response(),
    }
}
