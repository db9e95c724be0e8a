//! Open311 GeoReport v2 at `/open311/v2/`, with FixMyStreet's `servicerequestupdates`: the
//! category tree as services, requests posted by registered applications (form-encoded, with
//! an `api_key`), the public list and look-up of requests, tokens, and the updates both ways.
//! Every answer is XML or JSON by the path's extension (`services.xml`, `requests.json`), and
//! every refusal is the protocol's error list (`[{code, description}]`, `<errors>`).
//!
//! What the public sees of an appeal carries no personal data: no name, no phone, the subject
//! line with any number in it masked, the township instead of the address, and coordinates to
//! three decimals (about 100 m). The application that posted a request sees its own request's
//! text and address (masked the same way for numbers). Petitions (信访) and reports (举报) are
//! never shown.
//!
//! Administrators register applications and their keys at `/api/v1/open311/clients`; a key is
//! shown once and kept only as its digest.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::aggregate::Versioned;
use bihuan_domain::appeal::{mask_free_text, AppealNumber, Channel, Citizen, Phone, Place};
use bihuan_domain::category::CategoryId;
use bihuan_domain::lifecycle::{Appeal, Command, Event, Role, Status};
use bihuan_domain::open311::{
    self as o311, CitizenSays, ClientCommand, Open311Client, Open311Submission, SubmissionCommand,
};
use bihuan_domain::org::UnitId;
use bihuan_domain::time::{cst, Instant};
use bihuan_domain::{ErrorCode, Kind, NewAppeal, Regime, Urgency};
use bihuan_store::{aggregates, AppealFilter, AppealRef};
use chrono::{DateTime, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, JsonBody, PathParams};
use crate::AppState;

/// The most requests one answer lists, and the default (GeoReport: 1,000).
pub const MAX_REQUESTS: usize = 1000;
/// The default and longest window of `GET requests` and `servicerequestupdates`, in days.
pub const WINDOW_DAYS: i64 = 90;
/// The kinds a request may be: the hotline's own (举报 is never taken through an open API).
const KINDS: [Kind; 5] = [
    Kind::Help,
    Kind::Complaint,
    Kind::Consultation,
    Kind::Suggestion,
    Kind::Praise,
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(top_get).post(top_post))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(request_one))
        .route("/open311/v2/tokens/{file}", get(token))
        .route(
            "/api/v1/open311/clients",
            get(clients_api).post(register_api),
        )
        .route("/api/v1/open311/clients/{id}/revoke", post(revoke_api))
}

// ---------------------------------------------------------------------------------------------
// Formats and errors

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xml,
    Json,
}

/// `services.json` → ("services", JSON). No extension: XML, the protocol's first format. An
/// unknown extension is refused in JSON (the client's format is not known).
fn split(file: &str) -> Result<(&str, Format), Box<Response>> {
    match file.rsplit_once('.') {
        None => Ok((file, Format::Xml)),
        Some((name, "xml")) => Ok((name, Format::Xml)),
        Some((name, "json")) => Ok((name, Format::Json)),
        Some((_, other)) => Err(Box::new(error(
            Format::Json,
            StatusCode::BAD_REQUEST,
            &format!("不支持的格式「{other}」：请在路径末尾写 .xml 或 .json"),
        ))),
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 allows no other control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The fields in the order GeoReport's examples list them (XML readers that walk the
/// elements in order find them where they expect).
const ORDER: &[&str] = &[
    "changeset",
    "contact",
    "key_service",
    "endpoints",
    "specification",
    "url",
    "update_id",
    "service_request_id",
    "token",
    "status",
    "extended_status",
    "status_notes",
    "variable",
    "code",
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "formats",
    "keywords",
    "group",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
    "attributes",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "values",
    "key",
    "name",
];

/// The element name of one item of an array field: `attributes` → `attribute`.
fn singular(key: &str) -> &str {
    match key {
        "keywords" => "keyword",
        k => k.strip_suffix('s').unwrap_or(k),
    }
}

fn xml_value(out: &mut String, name: &str, v: &Value) {
    match v {
        Value::Null => {}
        Value::Object(m) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by_key(|k| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
            for k in keys {
                xml_value(out, k, &m[k]);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Array(items) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for item in items {
                xml_value(out, singular(name), item);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::String(s) => {
            out.push_str(&format!("<{name}>{}</{name}>", escape(s)));
        }
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

/// An answer: a list (`<root><item/>…</root>`, a JSON array) or one object.
enum Body {
    List(&'static str, &'static str, Vec<Value>),
    One(&'static str, Value),
}

fn respond(fmt: Format, status: StatusCode, body: Body) -> Response {
    match fmt {
        Format::Json => {
            let v = match body {
                Body::List(_, _, items) => Value::Array(items),
                Body::One(_, v) => v,
            };
            (status, Json(v)).into_response()
        }
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            match body {
                Body::List(root, item, items) => {
                    out.push_str(&format!("<{root}>"));
                    for i in &items {
                        xml_value(&mut out, item, i);
                    }
                    out.push_str(&format!("</{root}>"));
                }
                Body::One(root, v) => xml_value(&mut out, root, &v),
            }
            (
                status,
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                out,
            )
                .into_response()
        }
    }
}

fn error(fmt: Format, status: StatusCode, description: &str) -> Response {
    respond(
        fmt,
        status,
        Body::List(
            "errors",
            "error",
            vec![json!({"code": status.as_u16(), "description": description})],
        ),
    )
}

/// A store or use-case failure in the protocol's error format (the message is the one the
/// JSON API would give; nothing internal is shown).
fn failed(fmt: Format, e: ApiError) -> Response {
    error(fmt, e.status, &e.message)
}

type Params = Vec<(String, String)>;

fn params(raw: &[u8]) -> Params {
    form_urlencoded::parse(raw).into_owned().collect()
}

fn param<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn w3c(t: Instant) -> String {
    t.with_timezone(&cst())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// A W3C date-time (`2026-12-01T09:30:00+08:00`, `…Z`) or a date (the day's start in China).
fn parse_time(name: &str, s: &str) -> Result<Instant, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if bihuan_domain::time::date_in_range(d) {
            return Ok(bihuan_domain::time::start_of_day(d));
        }
    }
    Err(format!(
        "{name}「{s}」不是 W3C 时间：请写如 2026-12-01T09:30:00+08:00 或 2026-12-01"
    ))
}

/// `start_date`/`end_date`: both optional, the window at most 90 days, by default the last 90.
fn window(p: &Params, now: Instant) -> Result<(Instant, Instant), String> {
    let end = match param(p, "end_date") {
        Some(s) => parse_time("end_date", s)?,
        None => now,
    };
    let start = match param(p, "start_date") {
        Some(s) => parse_time("start_date", s)?,
        None => end - Duration::days(WINDOW_DAYS),
    };
    if start > end {
        return Err("start_date 晚于 end_date：请对调两者".into());
    }
    if end - start > Duration::days(WINDOW_DAYS) {
        return Err(format!(
            "时间范围最长 {WINDOW_DAYS} 天：请缩短 start_date 与 end_date 之间的间隔，分段查询"
        ));
    }
    Ok((start, end))
}

// ---------------------------------------------------------------------------------------------
// Applications and keys

async fn client_of(
    state: &AppState,
    key: Option<&str>,
) -> ApiResult<Option<Versioned<Open311Client>>> {
    let Some(key) = key else {
        return Ok(None);
    };
    let found = aggregates::find::<Open311Client>(
        state.store.as_ref(),
        "key",
        &o311::key_digest(key),
        0,
        1,
    )
    .await?;
    Ok(found.into_iter().next().filter(|c| c.state.active()))
}

/// The client an `api_key` names, or the protocol's 403.
async fn required_client(
    state: &AppState,
    fmt: Format,
    p: &Params,
) -> Result<Versioned<Open311Client>, Box<Response>> {
    let Some(key) = param(p, "api_key") else {
        return Err(Box::new(error(
            fmt,
            StatusCode::FORBIDDEN,
            "缺少 api_key：提交请求须使用管理员登记的应用密钥",
        )));
    };
    match client_of(state, Some(key)).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(Box::new(error(
            fmt,
            StatusCode::FORBIDDEN,
            "api_key 无效或已停用：请向县 12345 中心管理员申请",
        ))),
        Err(e) => Err(Box::new(failed(fmt, e))),
    }
}

/// The server acting for an application (its name is on the appeal's history).
fn client_caller(state: &AppState, client: &Open311Client) -> Caller {
    let mut c = crate::surveys::system_caller(state);
    c.user.login = "open311".into();
    c.user.name = client.name.clone();
    c.actor.name = client.name.clone();
    c
}

/// What an administrator sees of an application (never the key or its digest).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Open311ClientView)]
pub struct ClientView {
    pub id: u64,
    pub version: u64,
    pub name: String,
    pub contact: String,
    #[schema(value_type = String)]
    pub channel: Channel,
    /// The key's last four characters.
    pub key_hint: String,
    #[schema(value_type = String, format = DateTime)]
    pub registered_at: Instant,
    pub registered_by: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Instant>,
    pub revoked_reason: Option<String>,
    pub active: bool,
}

/// A newly registered application, with its key (shown this once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Open311ClientRegistered)]
pub struct ClientRegistered {
    #[serde(flatten)]
    pub client: ClientView,
    /// The `api_key` to give the application: it is not kept and cannot be shown again.
    pub api_key: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewOpen311Client)]
pub struct NewClient {
    pub name: String,
    pub contact: String,
    /// `app` (移动端, the default) or `web` (网站).
    #[serde(default)]
    pub channel: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RevokeOpen311Client)]
pub struct RevokeClient {
    pub reason: String,
}

fn view(v: Versioned<Open311Client>) -> ClientView {
    let c = v.state;
    ClientView {
        id: v.id,
        version: v.version,
        active: c.active(),
        name: c.name,
        contact: c.contact,
        channel: c.channel,
        key_hint: c.key_hint,
        registered_at: c.registered_at,
        registered_by: c.registered_by,
        revoked_at: c.revoked_at,
        revoked_reason: c.revoked_reason,
    }
}

fn admin_only(c: &Caller) -> ApiResult<()> {
    if c.user.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "开放接口的应用和密钥由系统管理员管理",
        ))
    }
}

pub async fn clients(state: &AppState, c: &Caller) -> ApiResult<Vec<ClientView>> {
    admin_only(c)?;
    Ok(
        aggregates::find_all::<Open311Client>(state.store.as_ref(), "", "", 0)
            .await?
            .into_iter()
            .map(view)
            .collect(),
    )
}

pub async fn register_client(
    state: &AppState,
    c: &Caller,
    req: NewClient,
) -> ApiResult<ClientRegistered> {
    admin_only(c)?;
    let channel = match req.channel.as_deref().map(str::trim) {
        None | Some("") => Channel::App,
        Some(s) => Channel::parse(s).ok_or_else(|| {
            ApiError::from(bihuan_domain::DomainError::invalid(
                "channel",
                format!("渠道「{s}」不可用：请写 app（移动端）或 web（网站）"),
            ))
        })?,
    };
    let mut bytes = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    register_with_key(
        state,
        c,
        req,
        channel,
        format!("o311_{}", hex::encode(bytes)),
    )
    .await
}

/// [`register_client`] with a key chosen by the caller (the demo county's published one).
pub async fn register_with_key(
    state: &AppState,
    c: &Caller,
    req: NewClient,
    channel: Channel,
    key: String,
) -> ApiResult<ClientRegistered> {
    admin_only(c)?;
    if key.chars().count() < 16 {
        return Err(ApiError::from(bihuan_domain::DomainError::invalid(
            "api_key",
            "密钥至少 16 个字符",
        )));
    }
    let hint = key[key.len() - 4..].to_string();
    let v = aggregates::execute::<Open311Client>(
        state.store.as_ref(),
        None,
        ClientCommand::Register {
            name: req.name,
            contact: req.contact,
            channel,
            key_digest: o311::key_digest(&key),
            key_hint: hint,
        },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    tracing::info!(
        client = v.id,
        user = c.user.id.0,
        "open311 client registered"
    );
    Ok(ClientRegistered {
        client: view(v),
        api_key: key,
    })
}

pub async fn revoke_client(
    state: &AppState,
    c: &Caller,
    id: u64,
    req: RevokeClient,
) -> ApiResult<ClientView> {
    admin_only(c)?;
    aggregates::load::<Open311Client>(state.store.as_ref(), id).await?;
    let v = aggregates::execute::<Open311Client>(
        state.store.as_ref(),
        Some(id),
        ClientCommand::Revoke { reason: req.reason },
        c.actor.clone(),
        state.clock.now(),
        None,
    )
    .await?;
    Ok(view(v))
}

async fn clients_api(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<ClientView>>> {
    Ok(Json(clients(&state, &caller).await?))
}

async fn register_api(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<NewClient>,
) -> ApiResult<(StatusCode, Json<ClientRegistered>)> {
    Ok((
        StatusCode::CREATED,
        Json(register_client(&state, &caller, req).await?),
    ))
}

async fn revoke_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(req): JsonBody<RevokeClient>,
) -> ApiResult<Json<ClientView>> {
    Ok(Json(revoke_client(&state, &caller, id, req).await?))
}

// ---------------------------------------------------------------------------------------------
// Discovery and services

fn origin(state: &AppState, headers: &HeaderMap) -> String {
    let o = state.config.public_origin.trim_end_matches('/');
    if !o.is_empty() {
        return o.to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn discovery(state: &AppState, headers: &HeaderMap) -> Value {
    let county = state.store.catalog().org.root().name.clone();
    let changeset = "2026-12-07T00:00:00+08:00";
    json!({
        "changeset": changeset,
        "contact": format!("{county} 12345 政务服务便民热线（电话 12345）"),
        "key_service": "提交请求须使用应用密钥（api_key），由县 12345 中心的系统管理员登记发放",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": format!("{}/open311/v2", origin(state, headers)),
            "changeset": changeset,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    })
}

fn services(state: &AppState) -> Vec<Value> {
    let cat = state.store.catalog();
    let tree = &cat.categories;
    tree.iter()
        .map(|c| {
            let group = tree
                .top(c.id)
                .and_then(|t| tree.get(t))
                .map_or(c.name.clone(), |t| t.name.clone());
            let path = tree.path_name(c.id).unwrap_or_else(|| c.name.clone());
            json!({
                "service_code": c.id.0.to_string(),
                "service_name": c.name,
                "description": path,
                "metadata": true,
                "type": "realtime",
                "keywords": path.replace(" / ", ","),
                "group": group,
            })
        })
        .collect()
}

use crate::portal::townships;

fn definition(state: &AppState, code: CategoryId) -> Value {
    let kinds: Vec<Value> = KINDS
        .iter()
        .map(|k| json!({"key": k.code(), "name": k.label()}))
        .collect();
    let towns: Vec<Value> = townships(state)
        .into_iter()
        .map(|(id, name)| json!({"key": id.0.to_string(), "name": name}))
        .collect();
    json!({
        "service_code": code.0.to_string(),
        "attributes": [
            {"variable": true, "code": "kind", "datatype": "singlevaluelist", "required": false,
             "datatype_description": "不填为「求助」", "order": 1, "description": "诉求类型",
             "values": kinds},
            {"variable": true, "code": "township", "datatype": "singlevaluelist", "required": false,
             "datatype_description": "乡镇（街道）的编号或名称；不填由中心按地址确定", "order": 2,
             "description": "所在乡镇（街道）", "values": towns},
            {"variable": true, "code": "title", "datatype": "string", "required": false,
             "datatype_description": "不超过 200 字；不填取描述的前 30 字", "order": 3,
             "description": "标题"},
        ],
    })
}

async fn top_get(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (name, fmt) = match split(&file) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let p = params(q.unwrap_or_default().as_bytes());
    match name {
        "discovery" => respond(
            fmt,
            StatusCode::OK,
            Body::One("discovery", discovery(&state, &headers)),
        ),
        "services" => respond(
            fmt,
            StatusCode::OK,
            Body::List("services", "service", services(&state)),
        ),
        "requests" => list_requests(&state, fmt, &p).await,
        "servicerequestupdates" => list_updates(&state, fmt, &p).await,
        _ => not_found(fmt),
    }
}

async fn top_post(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let (name, fmt) = match split(&file) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    // The fields come form-encoded in the body; an api_key may also be in the query.
    let mut p = params(&body);
    p.extend(params(q.unwrap_or_default().as_bytes()));
    match name {
        "requests" => post_request(&state, fmt, &p).await,
        "servicerequestupdates" => post_update(&state, fmt, &p).await,
        _ => error(
            fmt,
            StatusCode::METHOD_NOT_ALLOWED,
            "这个地址只能读取（GET），提交请求请 POST 到 requests 或 servicerequestupdates",
        ),
    }
}

fn not_found(fmt: Format) -> Response {
    error(
        fmt,
        StatusCode::NOT_FOUND,
        "没有这个接口：可用的有 discovery、services、requests、tokens、servicerequestupdates",
    )
}

async fn service_definition(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let (code, fmt) = match split(&file) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let cat = state.store.catalog();
    match code
        .parse::<u32>()
        .ok()
        .map(CategoryId)
        .filter(|c| cat.categories.get(*c).is_some())
    {
        Some(c) => respond(
            fmt,
            StatusCode::OK,
            Body::One("service_definition", definition(&state, c)),
        ),
        None => error(
            fmt,
            StatusCode::NOT_FOUND,
            &format!("没有服务代码「{code}」：可用的代码见 services"),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// The appeal a `service_request_id` names (`None`: no such number, or not a number at all).
async fn by_number(state: &AppState, id: &str) -> ApiResult<Option<Appeal>> {
    let Ok(n) = id.parse::<AppealNumber>() else {
        return Ok(None);
    };
    match state.store.appeal(AppealRef::Number(n)).await {
        Ok(a) => Ok(Some(a)),
        Err(bihuan_store::StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether the public may read this appeal through Open311 at all.
fn public(a: &Appeal) -> bool {
    a.regime == Regime::Hotline && a.kind != Kind::Report
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// One request as GeoReport shows it; `own`: the application that posted it is asking.
fn request_value(state: &AppState, a: &Appeal, own: bool) -> Value {
    let cat = state.store.catalog();
    let unit = |u: Option<UnitId>| u.and_then(|u| cat.org.get(u)).map(|u| u.name.clone());
    let mut m = Map::new();
    m.insert("service_request_id".into(), json!(a.number.to_string()));
    m.insert("status".into(), json!(o311::status(a)));
    m.insert("extended_status".into(), json!(o311::extended_status(a)));
    if let Some(r) = &a.reply {
        m.insert("status_notes".into(), json!(mask_free_text(&r.text)));
    }
    if let Some(c) = a.category.and_then(|c| cat.categories.get(c)) {
        m.insert("service_name".into(), json!(c.name));
        m.insert("service_code".into(), json!(c.id.0.to_string()));
    }
    let description = if own { &a.content } else { &a.title };
    m.insert("description".into(), json!(mask_free_text(description)));
    if let Some(lead) = unit(a.lead) {
        m.insert("agency_responsible".into(), json!(lead));
    }
    m.insert("requested_datetime".into(), json!(w3c(a.registered_at)));
    m.insert("updated_datetime".into(), json!(w3c(a.last_at)));
    if !a.status.is_terminal() && a.reply.is_none() {
        if let Some(due) = a.deadlines.reply {
            m.insert("expected_datetime".into(), json!(w3c(due)));
        }
    }
    let address = if own {
        Some(mask_free_text(&a.place.address).into_owned()).filter(|s| !s.is_empty())
    } else {
        unit(a.place.township)
    };
    if let Some(addr) = address {
        m.insert("address".into(), json!(addr));
    }
    if let Some((lon, lat)) = a.place.coordinates {
        let (lon, lat) = if own {
            (lon, lat)
        } else {
            (round3(lon), round3(lat))
        };
        m.insert("lat".into(), json!(lat));
        m.insert("long".into(), json!(lon));
    }
    Value::Object(m)
}

/// The appeals an application posted, by id (to show it its own requests whole).
async fn own_appeals(
    state: &AppState,
    client: Option<&Versioned<Open311Client>>,
) -> ApiResult<HashSet<u64>> {
    let Some(c) = client else {
        return Ok(HashSet::new());
    };
    Ok(aggregates::find_all::<Open311Submission>(
        state.store.as_ref(),
        "client",
        &c.id.to_string(),
        0,
    )
    .await?
    .into_iter()
    .map(|s| s.state.appeal.0)
    .collect())
}

async fn list_requests(state: &AppState, fmt: Format, p: &Params) -> Response {
    let client = match client_of(state, param(p, "api_key")).await {
        Ok(c) => c,
        Err(e) => return failed(fmt, e),
    };
    let own = match own_appeals(state, client.as_ref()).await {
        Ok(o) => o,
        Err(e) => return failed(fmt, e),
    };
    let list = |items: Vec<Value>| {
        respond(
            fmt,
            StatusCode::OK,
            Body::List("service_requests", "request", items),
        )
    };
    // By id: the others are ignored (GeoReport).
    if let Some(ids) = param(p, "service_request_id") {
        let mut out = Vec::new();
        for id in ids
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .take(MAX_REQUESTS)
        {
            if id.parse::<AppealNumber>().is_err() {
                return error(
                    fmt,
                    StatusCode::BAD_REQUEST,
                    &format!("service_request_id「{id}」格式不对：应如 2026-12-000123"),
                );
            }
            match by_number(state, id).await {
                Ok(Some(a)) if public(&a) => {
                    out.push(request_value(state, &a, own.contains(&a.id.0)))
                }
                Ok(_) => {}
                Err(e) => return failed(fmt, e),
            }
        }
        return list(out);
    }
    let now = state.clock.now();
    let (start, end) = match window(p, now) {
        Ok(w) => w,
        Err(m) => return error(fmt, StatusCode::BAD_REQUEST, &m),
    };
    // One code or several, comma delimited; each takes the categories below it too.
    let cat = state.store.catalog();
    let mut codes: Vec<CategoryId> = Vec::new();
    for s in param(p, "service_code")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match s
            .parse::<u32>()
            .ok()
            .map(CategoryId)
            .filter(|c| cat.categories.get(*c).is_some())
        {
            Some(c) => codes.push(c),
            None => {
                return error(
                    fmt,
                    StatusCode::BAD_REQUEST,
                    &format!("service_code「{s}」不存在：可用的代码见 services"),
                )
            }
        }
    }
    let category = (codes.len() == 1).then(|| codes[0]);
    let wanted = |a: &Appeal| {
        codes.len() < 2
            || a.category
                .and_then(|c| cat.categories.lineage(c))
                .is_some_and(|l| l.iter().any(|x| codes.contains(&x.id)))
    };
    let mut status = Vec::new();
    if let Some(s) = param(p, "status") {
        for one in s.split(',').map(|x| x.trim().to_ascii_lowercase()) {
            match one.as_str() {
                "open" => status.extend([
                    Status::PendingDispatch,
                    Status::Dispatched,
                    Status::Returned,
                    Status::InProgress,
                    Status::Replied,
                    Status::Visited,
                ]),
                "closed" => status.extend([Status::Closed, Status::Merged]),
                other => {
                    return error(
                        fmt,
                        StatusCode::BAD_REQUEST,
                        &format!("status「{other}」不可用：请写 open 或 closed（可用逗号分隔）"),
                    )
                }
            }
        }
    }
    let number = |name: &str, default: usize, max: usize| -> Result<usize, String> {
        match param(p, name) {
            None => Ok(default),
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or(format!("{name}「{s}」应为 1 到 {max} 的整数")),
        }
    };
    let (size, page) = match (
        number("page_size", MAX_REQUESTS, MAX_REQUESTS),
        number("page", 1, 1_000_000),
    ) {
        (Ok(s), Ok(p)) => (s, p),
        (Err(m), _) | (_, Err(m)) => return error(fmt, StatusCode::BAD_REQUEST, &m),
    };
    let filter = AppealFilter {
        regime: Some(Regime::Hotline),
        category,
        status,
        from: Some(start),
        // `to` is exclusive; the window includes its end.
        to: Some(end + Duration::seconds(1)),
        ..Default::default()
    };
    let skip = (page - 1) * size;
    let mut seen = 0usize;
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let got = match state.store.list(filter.clone(), cursor, 500).await {
            Ok(g) => g,
            Err(e) => return failed(fmt, e.into()),
        };
        for a in got.items.iter().filter(|a| public(a) && wanted(a)) {
            if seen >= skip && out.len() < size {
                out.push(request_value(state, a, own.contains(&a.id.0)));
            }
            seen += 1;
        }
        match got.next_cursor {
            Some(c) if out.len() < size => cursor = Some(c),
            _ => break,
        }
    }
    list(out)
}

async fn request_one(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    Path(file): Path<String>,
) -> Response {
    let (id, fmt) = match split(&file) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let p = params(q.unwrap_or_default().as_bytes());
    let missing = || {
        error(
            fmt,
            StatusCode::NOT_FOUND,
            &format!("没有编号为「{id}」的公开请求"),
        )
    };
    let a = match by_number(&state, id).await {
        Ok(Some(a)) if public(&a) => a,
        Ok(_) => return missing(),
        Err(e) => return failed(fmt, e),
    };
    let client = match client_of(&state, param(&p, "api_key")).await {
        Ok(c) => c,
        Err(e) => return failed(fmt, e),
    };
    let own = match own_appeals(&state, client.as_ref()).await {
        Ok(o) => o.contains(&a.id.0),
        Err(e) => return failed(fmt, e),
    };
    respond(
        fmt,
        StatusCode::OK,
        Body::List(
            "service_requests",
            "request",
            vec![request_value(&state, &a, own)],
        ),
    )
}

async fn token(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let (tok, fmt) = match split(&file) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let found =
        aggregates::find::<Open311Submission>(state.store.as_ref(), "token", tok, 0, 1).await;
    match found.map(|v| v.into_iter().next()) {
        Ok(Some(s)) => respond(
            fmt,
            StatusCode::OK,
            Body::List(
                "service_requests",
                "request",
                vec![
                    json!({"service_request_id": s.state.number.to_string(), "token": s.state.token}),
                ],
            ),
        ),
        Ok(None) => error(
            fmt,
            StatusCode::NOT_FOUND,
            &format!("没有令牌「{tok}」：请检查提交时返回的 token"),
        ),
        Err(e) => failed(fmt, e.into()),
    }
}

/// The appeal a posted request asks for, or what is wrong with it (all problems at once).
fn new_appeal(state: &AppState, client: &Open311Client, p: &Params) -> Result<NewAppeal, String> {
    let cat = state.store.catalog();
    let mut problems: Vec<String> = Vec::new();
    let category = match param(p, "service_code") {
        None => {
            problems.push("缺少 service_code：请从 services 中选一个服务代码".into());
            None
        }
        Some(s) => {
            let c = s
                .parse::<u32>()
                .ok()
                .map(CategoryId)
                .filter(|c| cat.categories.get(*c).is_some());
            if c.is_none() {
                problems.push(format!("service_code「{s}」不存在：可用的代码见 services"));
            }
            c
        }
    };
    let description = param(p, "description").unwrap_or("");
    if description.is_empty() {
        problems.push("缺少 description：请写明诉求的内容".into());
    }
    let coord = |name: &str, lo: f64, hi: f64| -> Option<f64> {
        let s = param(p, name)?;
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && (lo..=hi).contains(&v) => Some(v),
            _ => None,
        }
    };
    let (lat, long) = (coord("lat", -90.0, 90.0), coord("long", -180.0, 180.0));
    for (name, v) in [("lat", lat), ("long", long)] {
        if param(p, name).is_some() && v.is_none() {
            problems.push(format!(
                "{name}「{}」不是有效的 WGS-84 坐标",
                param(p, name).unwrap_or("")
            ));
        }
    }
    if lat.is_some() != long.is_some() {
        problems.push("lat 和 long 须同时提供".into());
    }
    let address = param(p, "address_string").unwrap_or("").to_string();
    if lat.is_none() && address.is_empty() && param(p, "address_id").is_none() {
        problems.push("缺少位置：请提供 lat 和 long，或 address_string".into());
    }
    let attr = |code: &str| param(p, &format!("attribute[{code}]"));
    let kind = match attr("kind") {
        None => Kind::Help,
        Some(s) => match Kind::parse(s).filter(|k| KINDS.contains(k)) {
            Some(k) => k,
            None => {
                let list: Vec<String> = KINDS
                    .iter()
                    .map(|k| format!("{}（{}）", k.code(), k.label()))
                    .collect();
                problems.push(format!("诉求类型「{s}」不可用：可写 {}", list.join("、")));
                Kind::Help
            }
        },
    };
    let township = match attr("township") {
        None => None,
        Some(s) => {
            let towns = townships(state);
            let t = towns
                .iter()
                .find(|(id, name)| id.0.to_string() == s || name == s)
                .map(|(id, _)| *id);
            if t.is_none() {
                problems.push(format!(
                    "没有乡镇（街道）「{s}」：可用的见 services/{{service_code}} 的 township 属性"
                ));
            }
            t
        }
    };
    let phone = match param(p, "phone") {
        None => None,
        Some(s) => match Phone::parse(s) {
            Ok(ph) => Some(ph),
            Err(_) => {
                problems.push(format!("phone「{s}」格式不对：请写 5 至 20 位数字"));
                None
            }
        },
    };
    let media = match param(p, "media_url") {
        None => None,
        Some(u)
            if (u.starts_with("https://") || u.starts_with("http://"))
                && u.chars().count() <= 500
                && !u.chars().any(char::is_whitespace) =>
        {
            Some(u.to_string())
        }
        Some(u) => {
            problems.push(format!(
                "media_url「{u}」须是 http(s) 开头、不超过 500 字的网址"
            ));
            None
        }
    };
    if !problems.is_empty() {
        return Err(problems.join("；"));
    }
    let title = match attr("title") {
        Some(t) => t.to_string(),
        None => {
            let first = description.lines().next().unwrap_or(description);
            first.chars().take(30).collect()
        }
    };
    let mut content = description.to_string();
    if let Some(m) = &media {
        content.push_str(&format!("\n附图：{m}"));
    }
    let name: String = [param(p, "last_name"), param(p, "first_name")]
        .into_iter()
        .flatten()
        .collect();
    Ok(NewAppeal {
        channel: client.channel,
        kind,
        urgency: Urgency::Normal,
        category,
        title,
        content,
        place: Place {
            address,
            township,
            village: None,
            grid: None,
            coordinates: lat.zip(long).map(|(lat, lon)| (lon, lat)),
        },
        citizen: Citizen {
            name: Some(name).filter(|n| !n.is_empty()),
            phone,
            organisation: None,
        },
        accused_units: vec![],
        accused_persons: vec![],
        group: None,
        forwarded_from: None,
        repeat_of: None,
    })
}

/// The token of a posted request: the same fields from the same application on the same day
/// are the same request (a client that retried after a lost answer gets the first one back).
fn token_of(client: u64, p: &Params, day: NaiveDate) -> String {
    let mut h = Sha256::new();
    h.update(format!("{client}|{day}").as_bytes());
    let mut fields: Vec<&(String, String)> = p.iter().filter(|(k, _)| k != "api_key").collect();
    fields.sort();
    for (k, v) in fields {
        h.update(b"\x1f");
        h.update(k.as_bytes());
        h.update(b"=");
        h.update(v.trim().as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// `POST requests.json` with these form fields, as the route answers it (the demo county's
/// application posts through it).
pub async fn submit(state: &AppState, form: &[(&str, &str)]) -> Response {
    let p: Params = form
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    post_request(state, Format::Json, &p).await
}

async fn post_request(state: &AppState, fmt: Format, p: &Params) -> Response {
    let client = match required_client(state, fmt, p).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let new = match new_appeal(state, &client.state, p) {
        Ok(n) => n,
        Err(m) => return error(fmt, StatusCode::BAD_REQUEST, &m),
    };
    let now = state.clock.now();
    let tok = token_of(client.id, p, bihuan_domain::time::local_date(now));
    let caller = client_caller(state, &client.state);
    let r = match crate::app::register(state, &caller, new, Some(format!("open311:{tok}"))).await {
        Ok(r) => r,
        Err(e) => {
            return error(
                fmt,
                if e.status.is_server_error() {
                    e.status
                } else {
                    StatusCode::BAD_REQUEST
                },
                &e.message,
            )
        }
    };
    let a = &r.appeal;
    // Kept beside the appeal: a server stopped between the two records it on the retry.
    let known =
        aggregates::find::<Open311Submission>(state.store.as_ref(), "token", &tok, 0, 1).await;
    match known {
        Ok(v) if v.is_empty() => {
            let recorded = aggregates::execute::<Open311Submission>(
                state.store.as_ref(),
                None,
                SubmissionCommand::Record {
                    client: client.id,
                    appeal: a.id,
                    number: a.number,
                    token: tok.clone(),
                },
                caller.actor.clone(),
                now,
                Some(0),
            )
            .await;
            if let Err(e) = recorded {
                tracing::error!(appeal = %a.number, error = %e, "open311 submission not recorded");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::error!(appeal = %a.number, error = %e, "open311 submission not read"),
    }
    if r.created {
        tracing::info!(appeal = %a.number, client = client.id, "open311 request registered");
    }
    let notice = if r.created {
        "诉求已受理，将按规定时限交办承办单位办理；进度可凭编号查询".to_string()
    } else {
        "这份诉求此前已提交过，未重复登记".to_string()
    };
    respond(
        fmt,
        StatusCode::CREATED,
        Body::List(
            "service_requests",
            "request",
            vec![
                json!({"service_request_id": a.number.to_string(), "token": tok, "service_notice": notice}),
            ],
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// FixMyStreet's updates

/// An update's text: the portal's public sentence for the step; a reply's own text (numbers
/// masked), which the application shows the citizen.
fn update_text(state: &AppState, e: &Event) -> String {
    match e {
        Event::Replied { reply, .. } => mask_free_text(&reply.text).into_owned(),
        _ => crate::portal::public_step(e, state).map_or_else(String::new, |(_, text)| text),
    }
}

async fn list_updates(state: &AppState, fmt: Format, p: &Params) -> Response {
    let now = state.clock.now();
    let (start, end) = match window(p, now) {
        Ok(w) => w,
        Err(m) => return error(fmt, StatusCode::BAD_REQUEST, &m),
    };
    let filter = AppealFilter {
        regime: Some(Regime::Hotline),
        active_since: Some(start),
        ..Default::default()
    };
    let mut updates: Vec<(Instant, Value)> = Vec::new();
    let mut cursor = None;
    let mut read = 0usize;
    loop {
        let got = match state.store.list(filter.clone(), cursor, 500).await {
            Ok(g) => g,
            Err(e) => return failed(fmt, e.into()),
        };
        for a in got.items.iter().filter(|a| public(a)) {
            read += 1;
            let history = match state.store.history(a.id).await {
                Ok(h) => h,
                Err(e) => return failed(fmt, e.into()),
            };
            for r in history.iter().filter(|r| r.at >= start && r.at <= end) {
                if let Some(status) = o311::update_status(&r.event) {
                    updates.push((
                        r.at,
                        json!({
                            "update_id": format!("{}-{}", a.id.0, r.version),
                            "service_request_id": a.number.to_string(),
                            "status": status,
                            "updated_datetime": w3c(r.at),
                            "description": update_text(state, &r.event),
                            "media_url": "",
                        }),
                    ));
                }
            }
        }
        match got.next_cursor {
            Some(c) if read < MAX_REQUESTS => cursor = Some(c),
            _ => break,
        }
    }
    updates.sort_by_key(|(at, _)| *at);
    respond(
        fmt,
        StatusCode::OK,
        Body::List(
            "service_request_updates",
            "request_update",
            updates.into_iter().map(|(_, v)| v).collect(),
        ),
    )
}

async fn post_update(state: &AppState, fmt: Format, p: &Params) -> Response {
    let client = match required_client(state, fmt, p).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let mut problems = Vec::new();
    let id = param(p, "service_request_id");
    if id.is_none() {
        problems.push("缺少 service_request_id".to_string());
    }
    let says = match param(p, "status") {
        None => {
            problems.push(format!(
                "缺少 status：可写 {}",
                o311::UPDATE_STATUSES.join("、")
            ));
            None
        }
        Some(s) => {
            let v = o311::citizen_says(s);
            if v.is_none() {
                problems.push(format!(
                    "status「{s}」不可用：可写 {}",
                    o311::UPDATE_STATUSES.join("、")
                ));
            }
            v
        }
    };
    let description = param(p, "description").unwrap_or("");
    if description.is_empty() {
        problems.push("缺少 description：请写明更新的内容".into());
    }
    if let Some(t) = param(p, "updated_datetime") {
        if let Err(m) = parse_time("updated_datetime", t) {
            problems.push(m);
        }
    }
    if !problems.is_empty() {
        return error(fmt, StatusCode::BAD_REQUEST, &problems.join("；"));
    }
    let id = id.unwrap_or_default();
    let missing = || {
        error(
            fmt,
            StatusCode::NOT_FOUND,
            &format!("没有本应用提交的请求「{id}」"),
        )
    };
    let a = match by_number(state, id).await {
        Ok(Some(a)) => a,
        Ok(None) => return missing(),
        Err(e) => return failed(fmt, e),
    };
    match own_appeals(state, Some(&client)).await {
        Ok(own) if own.contains(&a.id.0) => {}
        Ok(_) => return missing(),
        Err(e) => return failed(fmt, e),
    }
    // The client's own id of the update makes a repeat post one comment.
    let mark = param(p, "update_id").map(|u| {
        format!(
            "（应用更新编号 {}）",
            u.chars().take(40).collect::<String>()
        )
    });
    if let Some(mark) = &mark {
        match state.store.history(a.id).await {
            Ok(h) => {
                if let Some(r) = h.iter().find(|r| matches!(&r.event, Event::Commented { text } if text.ends_with(mark.as_str()))) {
                    return updated(fmt, a.id.0, r.version);
                }
            }
            Err(e) => return failed(fmt, e.into()),
        }
    }
    let said = match says {
        Some(CitizenSays::Fixed) => "称问题已解决",
        _ => "称问题仍未解决",
    };
    let who: String = [param(p, "last_name"), param(p, "first_name")]
        .into_iter()
        .flatten()
        .collect();
    let who = if who.is_empty() {
        "市民".to_string()
    } else {
        bihuan_domain::appeal::mask_name(&who)
    };
    let mut text = format!(
        "{who}通过「{}」补充（{said}）：{}",
        client.state.name,
        description.chars().take(400).collect::<String>()
    );
    if let Some(m) = param(p, "media_url").filter(|u| u.starts_with("http")) {
        text.push_str(&format!(
            " 附图：{}",
            m.chars().take(300).collect::<String>()
        ));
    }
    if let Some(mark) = &mark {
        text.push_str(mark);
    }
    let caller = client_caller(state, &client.state);
    match state
        .store
        .act(
            AppealRef::Id(a.id),
            Command::Comment { text },
            caller.actor.clone(),
            state.clock.now(),
            None,
        )
        .await
    {
        Ok(after) => updated(fmt, after.id.0, after.version),
        Err(e) => {
            let e = ApiError::from(e);
            error(
                fmt,
                if e.status.is_server_error() {
                    e.status
                } else {
                    StatusCode::BAD_REQUEST
                },
                &e.message,
            )
        }
    }
}

fn updated(fmt: Format, appeal: u64, version: u64) -> Response {
    respond(
        fmt,
        StatusCode::OK,
        Body::List(
            "service_request_updates",
            "request_update",
            vec![json!({"update_id": format!("{appeal}-{version}")})],
        ),
    )
}
