//! `/api/v1/me/filters`: each user's saved list filters (我的筛选), an aggregate in the generic
//! tables (`bihuan_domain::saved_filter`). The console's list shows them as links and saves the
//! filter it shows; both go through the use cases here.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use bihuan_domain::aggregate::Versioned;
use bihuan_domain::saved_filter::{SavedFilter, SavedFilterCommand, PER_USER_MAX};
use bihuan_domain::ErrorCode;
use bihuan_store::aggregates;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, JsonBody, PathParams};
use crate::AppState;

/// The list's query keys a saved filter may hold (paging is not a filter: `cursor` and `p` are
/// dropped).
pub const KEYS: &[&str] = &[
    "status",
    "unit",
    "township",
    "category",
    "kind",
    "regime",
    "channel",
    "overdue",
    "due_soon",
    "from",
    "to",
    "owner",
    "q",
    "sort",
    "size",
    "limit",
    "metric",
    "part",
    "period",
    "counted_unit",
    "registered_by",
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me/filters", get(list).post(save))
        .route("/api/v1/me/filters/{id}", delete(remove))
}

/// A saved filter as the API and the console show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SavedFilterView {
    pub id: u64,
    /// 名称
    pub name: String,
    /// 列表的查询条件（不含 ?）
    pub query: String,
    /// 控制台中打开它的地址
    pub href: String,
}

impl SavedFilterView {
    fn new(id: u64, f: &SavedFilter) -> SavedFilterView {
        SavedFilterView {
            id,
            name: f.name.clone(),
            query: f.query.clone(),
            href: if f.query.is_empty() {
                "/appeals".into()
            } else {
                format!("/appeals?{}", f.query)
            },
        }
    }
}

/// The request to save a filter.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveFilter {
    /// 名称，最多30字
    pub name: String,
    /// 列表的查询条件，如 status=dispatched&township=3（与 GET /api/v1/appeals 的参数相同）
    pub query: String,
    /// 给出时修改这个已保存的筛选
    #[serde(default)]
    pub id: Option<u64>,
}

/// The query with only the list's filter keys, in their given order; an unknown key is an
/// error that names the ones allowed.
pub fn normalise_query(query: &str) -> ApiResult<String> {
    let query = query.trim().trim_start_matches('?');
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == "cursor" || k == "p" || v.trim().is_empty() {
            continue;
        }
        if !KEYS.contains(&k.as_ref()) {
            return Err(ApiError::unprocessable(
                ErrorCode::InvalidBody,
                format!(
                    "筛选条件中的「{k}」不是工单列表的参数；可用：{}",
                    KEYS.join("、")
                ),
            ));
        }
        out.append_pair(&k, &v);
    }
    Ok(out.finish())
}

/// The caller's saved filters, oldest first.
pub async fn mine(state: &AppState, caller: &Caller) -> ApiResult<Vec<SavedFilterView>> {
    let found = aggregates::find::<SavedFilter>(
        state.store.as_ref(),
        "owner",
        &caller.user.id.0.to_string(),
        0,
        PER_USER_MAX as u32 + 1,
    )
    .await?;
    Ok(found
        .iter()
        .filter(|v| v.state.owner == caller.user.id && !v.state.removed)
        .map(|v| SavedFilterView::new(v.id, &v.state))
        .collect())
}

/// A saved filter of the caller's, or 404 (another user's filter is not told apart from none).
async fn own(state: &AppState, caller: &Caller, id: u64) -> ApiResult<Versioned<SavedFilter>> {
    match aggregates::load::<SavedFilter>(state.store.as_ref(), id).await {
        Ok(v) if v.state.owner == caller.user.id && !v.state.removed => Ok(v),
        Ok(_) | Err(_) => Err(ApiError::not_found("没有这个已保存的筛选（可能已删除）")),
    }
}

/// Saves a new filter, or renames and replaces one of the caller's own.
pub async fn save_filter(
    state: &AppState,
    caller: &Caller,
    req: SaveFilter,
) -> ApiResult<SavedFilterView> {
    let query = normalise_query(&req.query)?;
    let current = match req.id {
        Some(id) => Some(own(state, caller, id).await?),
        None => {
            if mine(state, caller).await?.len() >= PER_USER_MAX {
                return Err(ApiError::unprocessable(
                    ErrorCode::InvalidBody,
                    format!("每人最多保存 {PER_USER_MAX} 个筛选，请先删除不用的"),
                ));
            }
            None
        }
    };
    let saved = aggregates::execute::<SavedFilter>(
        state.store.as_ref(),
        current.as_ref().map(|c| c.id),
        SavedFilterCommand::Save {
            name: req.name,
            query,
        },
        caller.actor.clone(),
        state.clock.now(),
        Some(current.as_ref().map_or(0, |c| c.version)),
    )
    .await?;
    Ok(SavedFilterView::new(saved.id, &saved.state))
}

/// Removes one of the caller's filters (its history stays).
pub async fn remove_filter(state: &AppState, caller: &Caller, id: u64) -> ApiResult<()> {
    let current = own(state, caller, id).await?;
    aggregates::execute::<SavedFilter>(
        state.store.as_ref(),
        Some(id),
        SavedFilterCommand::Remove,
        caller.actor.clone(),
        state.clock.now(),
        Some(current.version),
    )
    .await?;
    Ok(())
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        serde_json::json!({"items": mine(&state, &caller).await?}),
    ))
}

async fn save(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<SaveFilter>,
) -> ApiResult<(StatusCode, Json<SavedFilterView>)> {
    let created = req.id.is_none();
    let v = save_filter(&state, &caller, req).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(v)))
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<StatusCode> {
    remove_filter(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
