//! # bihuan-server
//!
//! The HTTP side of bihuan. [`Application::build`] binds and wires everything;
//! [`Application::run_until_stopped`] serves until Ctrl-C or SIGTERM. Tests start the very same
//! application on port 0.
//!
//! | module | what lives there |
//! |---|---|
//! | [`appeals`] | `/api/v1/appeals`: register, read, list, act; visibility and masking |
//! | [`approvals`] | 一件事一次办: matters, packages, applications, 行政审批效率 |
//! | [`attachments`] | photos and documents stored with an appeal |
//! | [`admin`] | login, tokens, units, users, categories, policies, calendar years |
//! | [`auth`] | password hashes, tokens, the `Caller` extractor |
//! | [`export`] | lists and tables to CSV (with BOM) and XLSX, on request |
//! | [`error`] | JSON errors and extractors that never answer a client error with a 500 |
//! | [`ops`] | `/healthz`, `/metrics`, request counting, background worker supervision |
//! | [`security`] | the origin check on state changes (CSRF) and the security headers |
//! | [`throttle`] | failed-login counting per login and per address |
//! | [`report`] | rates, breakdowns and rankings for a period |
//! | [`scanner`] | the background deadline scanner |
//! | [`openapi`] | the OpenAPI document |
//! | [`config`] | configuration layers |
//! | [`dashboard`] | the leader dashboard with ECharts and the public red/grey board |
//! | [`console`] | the web console: server-rendered Chinese pages, embedded assets |

use bihuan_domain::ErrorCode;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use bihuan_store::Store;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

pub mod admin;
pub mod app;
pub mod appeals;
pub mod approvals;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod config;
pub mod console;
pub mod dashboard;
pub mod enterprises;
pub mod error;
pub mod evaluations;
pub mod export;
pub mod filters;
pub mod households;
pub mod jobs;
pub mod leaders;
pub mod notify;
pub mod open311;
pub mod openapi;
pub mod ops;
pub mod portal;
pub mod report;
pub mod scanner;
pub mod security;
pub mod serve;
pub mod smart;
pub mod surveys;
pub mod throttle;
pub mod views;
pub mod visits;

pub use config::Config;
use error::ApiError;

/// Request bodies above this size are refused with 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Where "now" comes from. The server reads the system clock; tests set the time, so that
/// they do not depend on the day they run (deadlines must not run into a year whose holiday
/// notice is not loaded).
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> bihuan_domain::time::Instant;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> bihuan_domain::time::Instant {
        chrono::Utc::now()
    }
}

/// A clock that runs at the real pace from a chosen starting instant: `bihuan serve` and
/// `bihuan demo` use it when `BIHUAN_NOW` is set (e.g. `2026-11-02T09:00:00+08:00`), so that
/// browser tests and demonstrations do not depend on the day they run.
pub struct OffsetClock {
    offset: chrono::Duration,
}

impl OffsetClock {
    pub fn starting_at(at: bihuan_domain::time::Instant) -> OffsetClock {
        OffsetClock {
            offset: at - chrono::Utc::now(),
        }
    }

    /// The clock `BIHUAN_NOW` asks for, if set; an unreadable value is an error.
    pub fn from_env() -> anyhow::Result<Option<OffsetClock>> {
        match std::env::var("BIHUAN_NOW") {
            Ok(v) => {
                let at = chrono::DateTime::parse_from_rfc3339(v.trim()).map_err(|e| {
                    anyhow::anyhow!(
                        "BIHUAN_NOW 须为 RFC 3339 时间，如 2026-11-02T09:00:00+08:00：{e}"
                    )
                })?;
                Ok(Some(OffsetClock::starting_at(
                    at.with_timezone(&chrono::Utc),
                )))
            }
            Err(_) => Ok(None),
        }
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> bihuan_domain::time::Instant {
        chrono::Utc::now() + self.offset
    }
}

/// A clock that stands still until moved.
pub struct ManualClock(std::sync::Mutex<bihuan_domain::time::Instant>);

impl ManualClock {
    pub fn new(at: bihuan_domain::time::Instant) -> ManualClock {
        ManualClock(std::sync::Mutex::new(at))
    }
    pub fn set(&self, at: bihuan_domain::time::Instant) {
        if let Ok(mut t) = self.0.lock() {
            *t = at;
        }
    }
    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> bihuan_domain::time::Instant {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|p| *p.into_inner())
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub ops: Arc<ops::Ops>,
    pub clock: Arc<dyn Clock>,
    pub credentials: Arc<auth::CredentialCache>,
    pub smart: Arc<smart::Smart>,
    /// Failed logins per login and address.
    pub logins: Arc<throttle::LoginThrottle>,
    /// Password hashing allowed at once (each Argon2 run takes 19 MiB and a core).
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// The citizen portal's secret and per-address limits.
    pub portal: Arc<portal::PortalGuard>,
    /// The notices' sender and feed position.
    pub notify: Arc<notify::Notifier>,
    /// Closed surveys' results (their cases no longer change), computed once.
    pub surveys: Arc<surveys::Closed>,
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

/// The router, without a listener (for tests that call it directly).
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(appeals::router())
        .merge(admin::router())
        .merge(attachments::router())
        .merge(approvals::router())
        .merge(report::router())
        .merge(export::router())
        .merge(smart::router())
        .merge(audit::router())
        .merge(filters::router())
        .merge(leaders::router())
        .merge(households::router())
        .merge(visits::router())
        .merge(campaigns::router())
        .merge(evaluations::router())
        .merge(surveys::router())
        .merge(enterprises::router())
        .merge(jobs::router())
        .merge(open311::router())
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .fallback(api_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    Router::new()
        .merge(api)
        .merge(console::router())
        .merge(dashboard::router())
        .merge(portal::router())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::admin_changes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::track,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Duration::from_secs(state.config.request_timeout_secs.max(1)),
            serve::timeout,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "服务器内部错误，请稍后重试",
            )
            .into_response()
        }))
        .with_state(state)
}

async fn api_not_found() -> ApiError {
    ApiError::not_found("没有这个接口，请查看 /api/v1/openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "该接口不支持此请求方法",
    )
}

/// Rebuilds, once, the index rows of every aggregate kind whose [`Aggregate::INDEX_VERSION`]
/// is newer than the one its rows were made with (a new search term, say). Every kind is
/// listed here: add a new one when it is written.
///
/// [`Aggregate::INDEX_VERSION`]: bihuan_domain::aggregate::Aggregate::INDEX_VERSION
pub async fn ensure_indexes(store: &dyn Store) -> anyhow::Result<()> {
    use bihuan_domain::aggregate::Aggregate;
    use bihuan_domain::approvals as ap;
    use bihuan_domain::enterprise as en;
    use bihuan_domain::jobs as jb;
    use bihuan_domain::{
        campaign, evaluation, household, leaders, notice, open311, portal, saved_filter, survey,
        visits,
    };
    use bihuan_store::aggregates::ensure_index as e;
    let rebuilt = [
        (
            household::Household::KIND,
            e::<household::Household>(store).await?,
        ),
        (ap::Matter::KIND, e::<ap::Matter>(store).await?),
        (ap::Package::KIND, e::<ap::Package>(store).await?),
        (ap::Application::KIND, e::<ap::Application>(store).await?),
        (
            visits::Assignment::KIND,
            e::<visits::Assignment>(store).await?,
        ),
        (visits::Campaign::KIND, e::<visits::Campaign>(store).await?),
        (
            visits::VisitTask::KIND,
            e::<visits::VisitTask>(store).await?,
        ),
        (
            visits::VisitRecord::KIND,
            e::<visits::VisitRecord>(store).await?,
        ),
        (
            leaders::Reception::KIND,
            e::<leaders::Reception>(store).await?,
        ),
        (
            leaders::LeaderCase::KIND,
            e::<leaders::LeaderCase>(store).await?,
        ),
        (notice::Notice::KIND, e::<notice::Notice>(store).await?),
        (
            notice::FeedCursor::KIND,
            e::<notice::FeedCursor>(store).await?,
        ),
        (
            saved_filter::SavedFilter::KIND,
            e::<saved_filter::SavedFilter>(store).await?,
        ),
        (
            portal::PortalTicket::KIND,
            e::<portal::PortalTicket>(store).await?,
        ),
        (
            campaign::Campaign::KIND,
            e::<campaign::Campaign>(store).await?,
        ),
        (
            evaluation::Scheme::KIND,
            e::<evaluation::Scheme>(store).await?,
        ),
        (
            evaluation::Evaluation::KIND,
            e::<evaluation::Evaluation>(store).await?,
        ),
        (survey::Survey::KIND, e::<survey::Survey>(store).await?),
        (
            open311::Open311Client::KIND,
            e::<open311::Open311Client>(store).await?,
        ),
        (
            open311::Open311Submission::KIND,
            e::<open311::Open311Submission>(store).await?,
        ),
        (survey::Case::KIND, e::<survey::Case>(store).await?),
        (en::Building::KIND, e::<en::Building>(store).await?),
        (en::Enterprise::KIND, e::<en::Enterprise>(store).await?),
        (en::ServiceTeam::KIND, e::<en::ServiceTeam>(store).await?),
        (en::ServiceVisit::KIND, e::<en::ServiceVisit>(store).await?),
        (
            en::EnterprisePolicy::KIND,
            e::<en::EnterprisePolicy>(store).await?,
        ),
        (jb::Posting::KIND, e::<jb::Posting>(store).await?),
        (jb::Seeker::KIND, e::<jb::Seeker>(store).await?),
        (jb::Referral::KIND, e::<jb::Referral>(store).await?),
        (jb::Loan::KIND, e::<jb::Loan>(store).await?),
    ];
    for (kind, n) in rebuilt {
        if n > 0 {
            tracing::info!(
                kind,
                rows = n,
                "rebuilt the index rows of an older version (once)"
            );
        }
    }
    Ok(())
}

impl Application {
    pub async fn build(config: Config, store: Arc<dyn Store>) -> anyhow::Result<Application> {
        Application::build_with_clock(config, store, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        ops::note_start();
        let listener = TcpListener::bind(&config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("无法监听 {}：{e}", config.listen))?;
        ensure_indexes(store.as_ref()).await?;
        let smart = Arc::new(smart::Smart::open(&store, &config).await?);
        let hash_concurrency = if config.hash_concurrency == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            config.hash_concurrency
        };
        let config_portal_secret = config.portal_secret.clone();
        let notifier = Arc::new(notify::Notifier::from_config(&config));
        let state = AppState {
            store,
            smart,
            config: Arc::new(config),
            ops: Arc::new(ops::Ops::default()),
            clock,
            credentials: Arc::new(auth::CredentialCache::default()),
            logins: Arc::new(throttle::LoginThrottle::default()),
            hashing: Arc::new(tokio::sync::Semaphore::new(hash_concurrency)),
            portal: Arc::new(portal::PortalGuard::new(&config_portal_secret)),
            notify: notifier,
            surveys: Arc::default(),
        };
        Ok(Application { listener, state })
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until Ctrl-C or SIGTERM; the deadline scanner runs alongside.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        if self.state.config.notify_interval_secs > 0 {
            notify::spawn(
                self.state.clone(),
                Duration::from_secs(self.state.config.notify_interval_secs),
            );
        }
        if self.state.config.scan_interval_secs > 0 {
            scanner::spawn(
                self.state.clone(),
                Duration::from_secs(self.state.config.scan_interval_secs),
            );
        }
        if self.state.config.index_interval_secs > 0 {
            smart::spawn(
                self.state.clone(),
                Duration::from_secs(self.state.config.index_interval_secs),
            );
        }
        let app = router(self.state.clone());
        let config = &self.state.config;
        let limits = serve::Limits {
            max_connections: config.max_connections,
            header_timeout: Duration::from_secs(config.header_timeout_secs.max(1)),
        };
        serve::serve(
            self.listener,
            app,
            limits,
            self.state.ops.clone(),
            shutdown(),
        )
        .await?;
        Ok(())
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
