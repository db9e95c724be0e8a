//! The access and audit log (个人信息保护法): who viewed unmasked personal data, who exported
//! what, logins and failed logins, and every administrative change — kept in the store, never
//! holding the personal data itself, readable by administrators at `GET /api/v1/audit`. (The
//! access log of every request — method, route, status, time — is the process log's `request`
//! line and `/metrics`.)

use std::net::SocketAddr;

use crate::views::{AuditLine, AuditPage};
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use bihuan_domain::lifecycle::Role;
use bihuan_store::audit::{AuditEntry, AuditQuery, MAX_AUDIT_PAGE};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, QueryParams};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(list))
}

/// Appends a line; a failure is logged and does not fail the request it records.
pub async fn record(
    state: &AppState,
    who: Option<&Caller>,
    login: &str,
    action: &str,
    target: impl Into<String>,
    address: &str,
    detail: impl Into<String>,
) {
    let entry = AuditEntry {
        at: state.clock.now(),
        user: who.map(|c| c.user.id),
        login: login.chars().take(100).collect(),
        action: action.to_string(),
        target: target.into(),
        address: address.to_string(),
        detail: detail.into(),
    };
    if let Err(e) = state.store.put_audit(entry).await {
        tracing::error!(error = %e, action, "the audit log could not be written");
    }
}

/// A caller's view of an appeal with the citizen's data unmasked.
pub async fn viewed_personal(state: &AppState, c: &Caller, target: &str, detail: &str) {
    record(
        state,
        Some(c),
        &c.user.login,
        "view_personal",
        target,
        "",
        detail,
    )
    .await;
}

/// The routes whose state-changing requests are administrative changes (the console's
/// `/admin/*` forms besides).
const ADMIN_ROUTES: &[&str] = &[
    "/api/v1/users",
    "/api/v1/users/{id}",
    "/api/v1/units",
    "/api/v1/categories",
    "/api/v1/policies",
    "/api/v1/score-weights",
    "/api/v1/dispatch-rules",
    "/api/v1/calendar/years",
    "/api/v1/rates",
    "/api/v1/tokens",
    "/api/v1/tokens/{id}",
    "/api/v1/models/train",
];

/// Middleware: every accepted administrative change is a line (who, which path, the method and
/// status), in one place for the API and the console.
pub async fn admin_changes(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && (route.starts_with("/admin/") || ADMIN_ROUTES.contains(&route.as_str()));
    if !changes {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let address = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let (mut parts, body) = req.into_parts();
    let caller = Caller::from_request_parts(&mut parts, &state).await.ok();
    let resp = next.run(Request::from_parts(parts, body)).await;
    let status = resp.status();
    if status.is_success() || status.is_redirection() {
        if let Some(c) = &caller {
            let detail = format!("{method} {}", status.as_u16());
            record(
                &state,
                Some(c),
                &c.user.login,
                "admin_change",
                path,
                &address,
                detail,
            )
            .await;
        }
    }
    resp
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    action: Option<String>,
    login: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<u64>,
    limit: Option<u32>,
}

/// `GET /api/v1/audit`: the log, newest first, for administrators.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<AuditPage>> {
    caller.require(&[Role::Admin])?;
    let day = |field: &'static str, s: &Option<String>| -> ApiResult<_> {
        s.as_deref()
            .map(|s| crate::appeals::parse_date(field, s).map(bihuan_domain::time::start_of_day))
            .transpose()
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            bihuan_domain::ErrorCode::BadQuery,
            format!("limit 须在1到{MAX_AUDIT_PAGE}之间"),
        ));
    }
    let to = day("to", &q.to)?.map(|t| t + chrono::Duration::days(1));
    let rows = state
        .store
        .audit(AuditQuery {
            action: q.action.filter(|s| !s.is_empty()),
            login: q.login.filter(|s| !s.is_empty()),
            from: day("from", &q.from)?,
            to,
            before: q.before,
            limit,
        })
        .await?;
    let next_before = (rows.len() as u32 == limit)
        .then(|| rows.last().map(|r| r.0))
        .flatten();
    let items = rows
        .into_iter()
        .map(|(id, e)| AuditLine {
            id,
            at: e.at,
            user: e.user,
            login: e.login,
            action: e.action,
            target: e.target,
            address: e.address,
            detail: e.detail,
        })
        .collect();
    Ok(Json(AuditPage { items, next_before }))
}
