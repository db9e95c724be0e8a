//! Sessions and reference data: login and logout, API tokens, units, users, categories,
//! deadline policies, calendar years. Reading reference data is open to every signed-in user;
//! changing it is for administrators.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use bihuan_domain::appeal::UserId;
use bihuan_domain::category::Category;
use bihuan_domain::lifecycle::Role;
use bihuan_domain::org::{Unit, UnitId};
use bihuan_domain::policy::DeadlinePolicy;
use bihuan_domain::ErrorCode;
use bihuan_domain::PolicyTable;
use bihuan_store::{CredentialKind, NewUser, StoreError, User, UserUpdate};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{self, Caller, SESSION_COOKIE};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams, QueryParams};
use crate::views::{
    CalendarLoaded, CalendarYear, CategoryView, Items, SpecialDayView, TokenCreated, TokenView,
    UnitView, UserView, WorkingDaysAdded,
};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/tokens", post(create_token).get(list_tokens))
        .route("/api/v1/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/api/v1/units", get(units).post(put_units))
        .route("/api/v1/users", get(users).post(create_user))
        .route("/api/v1/users/{id}", patch(update_user))
        .route("/api/v1/categories", get(categories).post(put_categories))
        .route("/api/v1/policies", get(policies).put(put_policies))
        .route(
            "/api/v1/calendar/years",
            get(calendar_years).post(load_calendar_year),
        )
        .route("/api/v1/calendar/add", get(calendar_add))
}

pub fn user_json(u: &User) -> Value {
    serde_json::to_value(UserView::new(u)).unwrap_or(Value::Null)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    login: String,
    password: String,
}

/// Checks a login and password from a client address; the same refusal, after the same work,
/// whether the login exists or not (an unknown login is checked against a dummy hash, so its
/// answer takes as long as a known one's). Refused with 429 while the login or the address is
/// throttled ([`crate::throttle`]); every failure is logged (login name and address, never the
/// password).
pub async fn check_login(
    state: &AppState,
    login: &str,
    password: &str,
    addr: std::net::IpAddr,
) -> ApiResult<User> {
    let login = login.trim();
    let limits = state.config.login_limits();
    let now = std::time::Instant::now();
    if let Some(wait) = state.logins.blocked(login, addr, limits, now) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        tracing::warn!(login, %addr, "login refused: throttled after repeated failures");
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::LoginThrottled,
            format!("登录失败次数过多，请 {minutes} 分钟后再试；如忘记密码请联系管理员"),
        )
        .retry_after(wait.as_secs().max(1)));
    }
    let refused = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadCredentials,
            "登录名或密码错误",
        )
    };
    let user = match state.store.user_by_login(login).await {
        Ok(u) => Some(u),
        Err(StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| auth::dummy_hash().to_string());
    let ok = verify_bounded(state, password.to_string(), hash).await?;
    match user {
        Some(u) if ok && u.active => {
            state.logins.succeeded(login, addr);
            crate::audit::record(state, None, login, "login", "", &addr.to_string(), "").await;
            Ok(u)
        }
        _ => {
            state.logins.failed(login, addr, limits, now);
            tracing::warn!(login, %addr, "failed login");
            // Bounded by the throttle: a throttled attempt is refused above without a line.
            crate::audit::record(
                state,
                None,
                login,
                "login_failed",
                "",
                &addr.to_string(),
                "",
            )
            .await;
            Err(refused())
        }
    }
}

/// Runs an Argon2 check off the async threads, at most `config.hash_concurrency` at a time (each
/// needs 19 MiB; unbounded, 64 concurrent logins took 1.1 GiB more).
async fn verify_bounded(state: &AppState, password: String, hash: String) -> ApiResult<bool> {
    let _permit = state.hashing.clone().acquire_owned().await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Busy,
            "服务器繁忙，请稍后重试",
        )
    })?;
    Ok(
        tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
            .await
            .unwrap_or(false),
    )
}

/// Opens a console session and returns the cookie that carries it (`Secure` when the
/// configuration or the request says HTTPS; see `Config::secure_cookies`).
pub async fn open_session(
    state: &AppState,
    user: &User,
    headers: &axum::http::HeaderMap,
) -> ApiResult<String> {
    let (token, hash) = auth::new_token();
    let expires = state.clock.now() + chrono::Duration::hours(state.config.session_hours as i64);
    state
        .store
        .put_credential(
            hash,
            user.id,
            CredentialKind::Session,
            Some(expires),
            String::new(),
        )
        .await?;
    let secure = if crate::security::cookie_secure(&state.config, headers) {
        "; Secure"
    } else {
        ""
    };
    Ok(format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
        state.config.session_hours * 3600
    ))
}

async fn login(
    State(state): State<AppState>,
    addr: crate::security::ClientAddr,
    headers: axum::http::HeaderMap,
    JsonBody(b): JsonBody<LoginBody>,
) -> ApiResult<Response> {
    let user = check_login(&state, &b.login, &b.password, addr.0).await?;
    let cookie = open_session(&state, &user, &headers).await?;
    tracing::info!(user = user.id.0, "login");
    Ok(([(header::SET_COOKIE, cookie)], Json(user_json(&user))).into_response())
}

async fn logout(
    State(state): State<AppState>,
    req: axum::http::Request<axum::body::Body>,
) -> ApiResult<Response> {
    let (parts, _) = req.into_parts();
    if let Some(token) = auth::request_token(&parts) {
        state
            .store
            .delete_credential(&auth::token_hash(&token))
            .await?;
        state.credentials.clear();
    }
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    Ok(([(header::SET_COOKIE, clear)], StatusCode::NO_CONTENT).into_response())
}

async fn me(caller: Caller) -> Json<Value> {
    Json(user_json(&caller.user))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    user: u32,
    name: String,
    /// Days until the token stops working (default 365, at most 3,650).
    #[serde(default)]
    expires_days: Option<u32>,
}

/// An API token for an integration (e.g. the call centre pushing 12345 calls). The token is
/// shown once; only its hash is stored.
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<TokenBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&[Role::Admin])?;
    if b.name.trim().is_empty() || b.name.chars().count() > 100 {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidInput,
            "令牌名称须为1到100个字",
        ));
    }
    let days = b.expires_days.unwrap_or(DEFAULT_TOKEN_DAYS);
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidInput,
            format!("令牌有效期（expires_days）须为1到{MAX_TOKEN_DAYS}天"),
        ));
    }
    let user = state.store.user(UserId(b.user)).await?;
    let (token, hash) = auth::new_token();
    let id = bihuan_store::token_id(&hash);
    let expires_at = state.clock.now() + chrono::Duration::days(i64::from(days));
    state
        .store
        .put_credential(
            hash,
            user.id,
            CredentialKind::ApiToken,
            Some(expires_at),
            b.name.trim().to_string(),
        )
        .await?;
    tracing::info!(token = %id, user = user.id.0, by = caller.user.id.0, days, "API token created");
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            token,
            id,
            expires_at,
            user: UserView::new(&user),
            note: "令牌只显示这一次，请妥善保存",
        }),
    ))
}

/// How long an API token lives unless its creator says otherwise, and at most.
pub const DEFAULT_TOKEN_DAYS: u32 = 365;
pub const MAX_TOKEN_DAYS: u32 = 3_650;

/// Every API token with its user and expiry (never the token itself), for administrators.
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Items<TokenView>>> {
    caller.require(&[Role::Admin])?;
    let users = state.store.users().await?;
    let now = state.clock.now();
    let items = state
        .store
        .api_tokens()
        .await?
        .into_iter()
        .map(|t| TokenView {
            login: users
                .iter()
                .find(|u| u.id == t.user)
                .map(|u| u.login.clone()),
            expired: t.expires_at.is_some_and(|e| e <= now),
            id: t.id,
            name: t.name,
            user: t.user,
            created_at: t.created_at,
            expires_at: t.expires_at,
        })
        .collect();
    Ok(Json(Items { items }))
}

/// Revokes an API token at once, on every server.
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<StatusCode> {
    caller.require(&[Role::Admin])?;
    if id.len() != bihuan_store::TOKEN_ID_LEN
        || !id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(ApiError::bad_request(
            ErrorCode::BadPath,
            format!(
                "令牌编号须为{}位小写十六进制字符（见令牌列表的 id）",
                bihuan_store::TOKEN_ID_LEN
            ),
        ));
    }
    if !state.store.revoke_api_token(&id).await? {
        return Err(ApiError::not_found("没有这个令牌（可能已被撤销）"));
    }
    state.credentials.clear();
    tracing::info!(token = %id, by = caller.user.id.0, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}

async fn units(State(state): State<AppState>, _c: Caller) -> Json<Items<UnitView>> {
    let cat = state.store.catalog();
    let items = cat
        .org
        .units()
        .map(|u| UnitView {
            id: u.id,
            name: u.name.clone(),
            kind: u.kind,
            kind_label: u.kind.label(),
            parent: u.parent,
            aliases: u.aliases.clone(),
            path: cat.org.path_name(u.id),
        })
        .collect();
    Json(Items { items })
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::Many(v) => v,
            OneOrMany::One(x) => vec![x],
        }
    }
}

async fn put_units(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<OneOrMany<Unit>>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&[Role::Admin])?;
    let units = b.into_vec();
    if units.is_empty() || units.len() > 10_000 {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidInput,
            "一次须提交1到10000个单位",
        ));
    }
    state.store.put_units(units).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn users(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Items<UserView>>> {
    caller.require(&[Role::Admin, Role::UnitLeader, Role::Dispatcher])?;
    let all = state.store.users().await?;
    let items = all
        .iter()
        .filter(|u| caller.user.role != Role::UnitLeader || u.unit == caller.user.unit)
        .map(UserView::new)
        .collect();
    Ok(Json(Items { items }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    login: String,
    name: String,
    role: Role,
    unit: u32,
    password: String,
}

fn check_login_name(login: &str) -> ApiResult<()> {
    let ok = (2..=64).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            ErrorCode::InvalidLogin,
            "登录名须为2到64位字母、数字、下划线、点或连字符",
        ))
    }
}

/// Checks and creates an account (the API and the console both come here).
pub async fn add_user(
    state: &AppState,
    login: &str,
    name: &str,
    role: Role,
    unit: UnitId,
    password: &str,
) -> ApiResult<User> {
    check_login_name(login)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidInput,
            "姓名须为1到50个字",
        ));
    }
    if role == Role::System {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidRole,
            "「系统」角色不能分配给用户",
        ));
    }
    let hash = hash_checked(state, password).await?;
    Ok(state
        .store
        .create_user(NewUser {
            login: login.to_string(),
            name: name.to_string(),
            role,
            unit,
            password_hash: hash,
        })
        .await?)
}

/// Checks a new password's strength and hashes it off the async threads.
async fn hash_checked(state: &AppState, password: &str) -> ApiResult<String> {
    auth::check_password_strength(password)
        .map_err(|m| ApiError::unprocessable(ErrorCode::WeakPassword, m))?;
    let pw = password.to_string();
    let _permit = state.hashing.clone().acquire_owned().await.ok();
    tokio::task::spawn_blocking(move || auth::hash_password(&pw))
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "服务器内部错误，请稍后重试",
            )
        })
}

async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<NewUserBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&[Role::Admin])?;
    let user = add_user(
        &state,
        &b.login,
        &b.name,
        b.role,
        UnitId(b.unit),
        &b.password,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user_json(&user))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateUserBody {
    name: Option<String>,
    role: Option<Role>,
    unit: Option<u32>,
    active: Option<bool>,
    password: Option<String>,
    /// Required when changing one's own password.
    current_password: Option<String>,
}

async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    PathParams(id): PathParams<u32>,
    JsonBody(b): JsonBody<UpdateUserBody>,
) -> ApiResult<Response> {
    let own = caller.user.id == UserId(id);
    // Anyone may change their own password; everything else is for administrators.
    let only_password =
        b.name.is_none() && b.role.is_none() && b.unit.is_none() && b.active.is_none();
    if !(caller.user.role == Role::Admin || (own && only_password)) {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "只有管理员可以修改其他用户",
        ));
    }
    if b.role == Some(Role::System) {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidRole,
            "「系统」角色不能分配给用户",
        ));
    }
    if own && b.active == Some(false) {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidInput,
            "不能停用自己的账号",
        ));
    }
    if own && b.password.is_some() {
        // Someone at an unattended desk must not be able to take the account over.
        let current = b.current_password.clone().unwrap_or_default();
        let hash = caller.user.password_hash.clone();
        if current.is_empty() || !verify_bounded(&state, current, hash).await? {
            tracing::warn!(
                user = caller.user.id.0,
                "password change refused: wrong current password"
            );
            return Err(ApiError::forbidden(
                ErrorCode::WrongCurrentPassword,
                "修改自己的密码须填写正确的当前密码（current_password）",
            ));
        }
    }
    let password_changed = b.password.is_some();
    let password_hash = match &b.password {
        Some(pw) => Some(hash_checked(&state, pw).await?),
        None => None,
    };
    if let Some(n) = &b.name {
        if n.trim().is_empty() || n.chars().count() > 50 {
            return Err(ApiError::unprocessable(
                ErrorCode::InvalidInput,
                "姓名须为1到50个字",
            ));
        }
    }
    let user = state
        .store
        .update_user(
            UserId(id),
            UserUpdate {
                name: b.name,
                role: b.role,
                unit: b.unit.map(UnitId),
                active: b.active,
                password_hash,
            },
        )
        .await?;
    // A disabled account, a changed role or a new password (which ended the user's console
    // sessions) must take effect at once.
    state.credentials.clear();
    if password_changed {
        tracing::info!(
            user = user.id.0,
            by = caller.user.id.0,
            "password changed; console sessions ended"
        );
    }
    let uses_cookie = !headers.contains_key(header::AUTHORIZATION);
    if own && password_changed && uses_cookie && user.active {
        // The caller's own session ended with the others: open a fresh one for this browser.
        let cookie = open_session(&state, &user, &headers).await?;
        return Ok(([(header::SET_COOKIE, cookie)], Json(user_json(&user))).into_response());
    }
    Ok(Json(user_json(&user)).into_response())
}

async fn categories(State(state): State<AppState>, _c: Caller) -> Json<Items<CategoryView>> {
    let cat = state.store.catalog();
    let items = cat
        .categories
        .iter()
        .map(|c| CategoryView {
            id: c.id,
            name: c.name.clone(),
            parent: c.parent,
            level: cat.categories.level(c.id),
            path: cat.categories.path_name(c.id),
        })
        .collect();
    Json(Items { items })
}

async fn put_categories(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<OneOrMany<Category>>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&[Role::Admin])?;
    let items = b.into_vec();
    if items.is_empty() || items.len() > 10_000 {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidInput,
            "一次须提交1到10000个分类",
        ));
    }
    state.store.put_categories(items).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn policies(State(state): State<AppState>, _c: Caller) -> Json<Value> {
    Json(json!({"items": state.store.catalog().policies.rows()}))
}

async fn put_policies(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(rows): JsonBody<Vec<DeadlinePolicy>>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&[Role::Admin])?;
    let table = PolicyTable::new(rows)
        .map_err(|e| ApiError::unprocessable(e.error_code(), e.message_zh()))?;
    state.store.put_policies(table).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn calendar_years(State(state): State<AppState>, _c: Caller) -> Json<Items<CalendarYear>> {
    let cat = state.store.catalog();
    let items = cat
        .calendar
        .loaded_years()
        .filter_map(|y| cat.calendar.notice(y))
        .map(|n| CalendarYear {
            year: n.year,
            papers: n.papers.clone(),
            days: n
                .days
                .iter()
                .map(|d| SpecialDayView {
                    date: d.date,
                    name: d.name.clone(),
                    off: d.off,
                })
                .collect(),
        })
        .collect();
    Json(Items { items })
}

async fn load_calendar_year(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<impl IntoResponse> {
    let (notice, moved) = crate::app::load_calendar_year(&state, &caller, body.to_string()).await?;
    Ok((
        StatusCode::CREATED,
        Json(CalendarLoaded {
            year: notice.year,
            days: notice.days.len(),
            recomputed_appeals: moved.appeals,
            recomputed_deadlines: moved.deadlines,
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddQuery {
    date: String,
    days: u32,
}

/// The same answer as `bihuan calendar add`.
async fn calendar_add(
    State(state): State<AppState>,
    mut parts: axum::http::request::Parts,
) -> ApiResult<Json<WorkingDaysAdded>> {
    if !state.config.public_calendar {
        crate::auth::require_login(&mut parts, &state).await?;
    }
    let QueryParams(q) =
        <QueryParams<AddQuery> as axum::extract::FromRequestParts<AppState>>::from_request_parts(
            &mut parts, &state,
        )
        .await?;
    let date = crate::appeals::parse_date("date", &q.date)?;
    if q.days > 3650 {
        return Err(ApiError::bad_request(
            ErrorCode::BadQuery,
            "days 不能超过3650",
        ));
    }
    let result = state
        .store
        .catalog()
        .calendar
        .add_working_days(date, q.days)
        .map_err(|e| ApiError::from(bihuan_domain::DomainError::from(e)))?;
    Ok(Json(WorkingDaysAdded {
        date,
        days: q.days,
        result,
        provisional: state.store.catalog().calendar.is_provisional(result),
    }))
}
