//! `/api/v1/appeals`: register, read with the whole timeline, list with filters and cursor
//! pagination, and act with any domain command.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::appeal::{AppealNumber, Person, Phone, UserId};
use bihuan_domain::category::CategoryId;
use bihuan_domain::lifecycle::{Appeal, Command, MasterRef, NewAppeal, Role, Status};
use bihuan_domain::org::UnitId;
use bihuan_domain::time::{start_of_day, Instant};
use bihuan_domain::ErrorCode;
use bihuan_domain::{AppealId, Channel, Kind};
use bihuan_store::{AppealFilter, AppealRef, Sort};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, JsonBody, PathParams, QueryParams};
use crate::views::{AppealSummary, AppealView, Disclosure};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/appeals", post(register).get(list))
        .route("/api/v1/appeals/{key}", get(show))
        .route("/api/v1/appeals/{key}/actions", post(act))
        .route("/api/v1/appeals/{key}/reviews", post(request_review))
        .route("/api/v1/appeals/bulk-actions", post(act_in_bulk))
}

/// `2026-11-000123` or a numeric id.
pub fn parse_ref(key: &str) -> ApiResult<AppealRef> {
    if key.contains('-') {
        key.parse::<AppealNumber>()
            .map(AppealRef::Number)
            .map_err(|_| {
                ApiError::bad_request(
                    ErrorCode::BadAppealKey,
                    format!("「{key}」不是有效的工单编号，格式如 2026-11-000123"),
                )
            })
    } else {
        key.parse::<u64>()
            .map(|id| AppealRef::Id(AppealId(id)))
            .map_err(|_| {
                ApiError::bad_request(
                    ErrorCode::BadAppealKey,
                    format!("「{key}」不是有效的工单编号或ID"),
                )
            })
    }
}

/// Whether this caller may see this appeal at all.
pub fn can_see(c: &Caller, a: &Appeal) -> bool {
    use bihuan_domain::lifecycle::Visibility;
    let unit = c.user.unit;
    // 检举控告 (Art 30): an accused person never sees the matter, whatever the role.
    if a.accused_persons.contains(&c.user.id) {
        return false;
    }
    match c.user.role.visibility() {
        Visibility::County => true,
        // The same rule as the list's filter (`registered_by`): what list and detail show agree.
        Visibility::OwnRegistrations => a.registered_by == c.user.id,
        // The same units the list's filter (`involving`) reads.
        Visibility::Unit => a.involved_units().contains(&unit),
    }
}

/// Whether the caller needs the citizen's full phone and name here. Lists show them masked to
/// everyone but return-visit staff, who call from the list; a detail page shows them to the
/// intake and dispatch centre, return-visit staff, and the lead unit that must contact the
/// citizen.
pub fn sees_personal_data(c: &Caller, a: &Appeal, in_list: bool) -> bool {
    match c.user.role {
        Role::ReturnVisitor => true,
        Role::Operator | Role::Dispatcher => !in_list,
        Role::Handler | Role::UnitLeader => !in_list && a.lead == Some(c.user.unit),
        _ => false,
    }
}

async fn register(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(new): JsonBody<NewAppeal>,
) -> ApiResult<impl IntoResponse> {
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(crate::app::idempotency_key(
            &caller,
            v.to_str().map_err(|_| {
                ApiError::bad_request(
                    ErrorCode::BadIdempotencyKey,
                    "Idempotency-Key 须为可见 ASCII 字符",
                )
            })?,
        )?),
        None => None,
    };
    let r = crate::app::register(&state, &caller, new, key).await?;
    let now = state.clock.now();
    let status = if r.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let a = &r.appeal;
    Ok((
        status,
        Json(crate::views::Registration {
            created: r.created,
            deadline_state: a.deadline_state(now),
            deadlines: &a.deadlines,
            id: a.id,
            number: a.number,
            policy: &a.policy,
            regime: a.regime,
            status: a.status,
            status_label: a.status.label(),
            version: a.version,
        }),
    )
        .into_response())
}

/// The appeal `key` names, if the caller may see it (404 or 403 otherwise).
pub async fn visible(state: &AppState, caller: &Caller, key: &str) -> ApiResult<Appeal> {
    let a = state.store.appeal(parse_ref(key)?).await?;
    if !can_see(caller, &a) {
        return Err(ApiError::forbidden(
            ErrorCode::NotYourUnit,
            "该工单不属于本单位，无权查看",
        ));
    }
    Ok(a)
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(key): PathParams<String>,
) -> ApiResult<Json<AppealView>> {
    let a = visible(&state, &caller, &key).await?;
    let history = state.store.history(a.id).await?;
    let now = state.clock.now();
    let files = state.store.attachments(a.id).await?;
    let disclosure = Disclosure::for_caller(&caller, &a, false);
    if disclosure.is_full() {
        crate::audit::viewed_personal(&state, &caller, &a.number.to_string(), "api detail").await;
    }
    // What this caller may do now: the domain's own guard, the same list the console offers.
    let actions = crate::app::available_actions(&state, &caller, &a)
        .iter()
        .map(|a| a.name())
        .collect();
    Ok(Json(AppealView::detail(
        &a,
        disclosure,
        now,
        &state.store.catalog().calendar,
        history,
        files,
        actions,
    )))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<String>,
    pub unit: Option<u32>,
    pub township: Option<u32>,
    pub category: Option<u32>,
    pub channel: Option<String>,
    pub kind: Option<String>,
    /// `hotline` or `petition` (信访).
    pub regime: Option<String>,
    pub overdue: Option<bool>,
    pub due_soon: Option<bool>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub owner: Option<u32>,
    pub phone: Option<String>,
    /// Full-text search over content, replies and comments (all words must match).
    pub q: Option<String>,
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
    /// A drill-down: only the appeals behind one figure (`closed_loop`, `overdue` … see
    /// `report::DRILLS`) of `period`, its `part` (`den`, `num`, `missed`), counted for
    /// `counted_unit` when given.
    pub metric: Option<String>,
    pub part: Option<String>,
    pub period: Option<String>,
    pub counted_unit: Option<u32>,
}

/// Narrows a filter to the matches of the query's full-text search, if it has one. Returns the
/// number of matches the caller may see (before the other filters) and whether the matches were
/// cut at the cap. A caller scoped to its unit is told only how many of its own appeals match:
/// a count over the whole county would tell a department that a phone number exists in an
/// appeal it cannot open.
pub async fn apply_search(
    state: &AppState,
    caller: &Caller,
    q: &ListQuery,
    filter: &mut AppealFilter,
) -> ApiResult<Option<(usize, bool)>> {
    let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let hits = state.smart.search(text)?;
    let ids: Vec<AppealId> = hits.ids.iter().map(|i| AppealId(*i)).collect();
    let matches = if caller.sees_all() {
        hits.total
    } else {
        let mut visible = AppealFilter {
            ids: Some(ids.clone()),
            ..AppealFilter::default()
        };
        caller.scope(&mut visible);
        state.store.count(visible).await? as usize
    };
    filter.ids = Some(ids);
    Ok(Some((matches, hits.total > crate::smart::SEARCH_CAP)))
}

/// A date of a query parameter, in the accepted range (a clear 400 otherwise).
pub fn parse_date(field: &'static str, s: &str) -> ApiResult<NaiveDate> {
    bihuan_domain::time::parse_date(s).map_err(|e| {
        ApiError::bad_request(ErrorCode::BadQuery, format!("{field} {}", e.message_zh()))
    })
}

/// Turns list parameters into a store filter scoped to the caller.
pub fn filter_from_query(q: &ListQuery, caller: &Caller, now: Instant) -> ApiResult<AppealFilter> {
    let mut f = AppealFilter {
        now: Some(now),
        ..Default::default()
    };
    if let Some(s) = &q.status {
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let status = Status::ALL
                .iter()
                .find(|st| {
                    serde_json::to_value(st)
                        .ok()
                        .and_then(|v| v.as_str().map(|x| x == part))
                        .unwrap_or(false)
                        || st.label() == part
                })
                .ok_or_else(|| {
                    ApiError::bad_request(ErrorCode::BadQuery, format!("未知的状态「{part}」"))
                })?;
            f.status.push(*status);
        }
    }
    f.lead = q.unit.map(UnitId);
    f.township = q.township.map(UnitId);
    f.category = q.category.map(CategoryId);
    if let Some(c) = &q.channel {
        f.channel = Some(Channel::parse(c).ok_or_else(|| {
            ApiError::bad_request(ErrorCode::BadQuery, format!("未知的渠道「{c}」"))
        })?);
    }
    if let Some(k) = &q.kind {
        f.kind = Some(Kind::parse(k).ok_or_else(|| {
            ApiError::bad_request(ErrorCode::BadQuery, format!("未知的诉求类型「{k}」"))
        })?);
    }
    if let Some(r) = &q.regime {
        f.regime = Some(match r.as_str() {
            "hotline" => bihuan_domain::Regime::Hotline,
            "petition" => bihuan_domain::Regime::Petition,
            other => {
                return Err(ApiError::bad_request(
                    ErrorCode::BadQuery,
                    format!("未知的办理类别「{other}」，可用 hotline（热线）或 petition（信访）"),
                ))
            }
        });
    }
    f.overdue = q.overdue;
    f.due_soon = q.due_soon;
    if let Some(d) = &q.from {
        f.from = Some(start_of_day(parse_date("from", d)?));
    }
    if let Some(d) = &q.to {
        let day = parse_date("to", d)?;
        f.to = day.succ_opt().map(start_of_day);
    }
    if let Some(d) = crate::report::parse_drill(
        q.metric.as_deref(),
        q.part.as_deref(),
        q.period.as_deref(),
        q.counted_unit,
        now,
    )? {
        if d.overdue_now {
            // A running period's overdue count is about now, by the current lead.
            f.overdue = Some(true);
            if d.unit.is_some() {
                f.lead = d.unit;
            }
        }
        f.fact = d.filter;
    }
    f.owner = q.owner.map(UserId);
    if let Some(p) = &q.phone {
        caller.require(&[Role::Operator, Role::Dispatcher, Role::ReturnVisitor])?;
        let phone = Phone::parse(p).map_err(|m| ApiError::bad_request(ErrorCode::BadQuery, m))?;
        f.citizen = Some(phone.identity());
    }
    f.sort = match q.sort.as_deref() {
        None | Some("newest") => Sort::Newest,
        Some("due") => Sort::DueFirst,
        Some(other) => match other
            .strip_prefix("due:")
            .and_then(bihuan_store::Deadline::parse)
        {
            Some(d) => Sort::Deadline(d),
            None => {
                return Err(ApiError::bad_request(
                    ErrorCode::BadQuery,
                    format!(
                        "未知的排序「{other}」，可用 newest（最新登记）、due（最近期限）或 due:dispatch、due:sign、due:first_contact、due:reply（按某一期限，只列该期限正在计时的工单）"
                    ),
                ))
            }
        },
    };
    caller.scope(&mut f);
    Ok(f)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Value>> {
    let now = state.clock.now();
    let mut filter = filter_from_query(&q, &caller, now)?;
    let search = apply_search(&state, &caller, &q, &mut filter).await?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            ErrorCode::BadQuery,
            "limit 须在1到500之间",
        ));
    }
    let filter_has_drill = q.metric.as_deref().is_some_and(|m| !m.trim().is_empty());
    let (drill_total, drill_facts) = if filter_has_drill {
        (
            state.store.count(filter.clone()).await?,
            state.store.count_facts(filter.clone()).await?,
        )
    } else {
        (0, None)
    };
    let page = state.store.list(filter, q.cursor.clone(), limit).await?;
    let unmasked = page
        .items
        .iter()
        .filter(|a| sees_personal_data(&caller, a, true))
        .count();
    if unmasked > 0 {
        let detail = format!("api list, {unmasked} appeals");
        crate::audit::viewed_personal(&state, &caller, "list", &detail).await;
    }
    let items: Vec<AppealSummary> = page
        .items
        .iter()
        .map(|a| {
            AppealSummary::new(
                a,
                Disclosure::for_caller(&caller, a, true),
                now,
                &state.store.catalog().calendar,
            )
        })
        .collect();
    let mut out = json!({"items": items, "next_cursor": page.next_cursor});
    if filter_has_drill {
        // The figure's own count beside the number of appeals (they differ when one appeal
        // counts twice: two dispatches, two reply rounds).
        out["drill"] = json!({"appeals": drill_total, "facts": drill_facts});
    }
    if let Some((matches, capped)) = search {
        // Matches of the words alone within the caller's scope, before the other filters.
        out["search"] =
            json!({"matches": matches, "capped": capped, "cap": crate::smart::SEARCH_CAP});
    }
    Ok(Json(out))
}

/// Turns the API's action body into a domain command: `version` is taken out, owners given as
/// user ids become persons, and a merge names its master by number or id.
pub async fn command_from_body(state: &AppState, mut body: Value) -> ApiResult<(Command, u64)> {
    let obj = body
        .as_object_mut()
        .ok_or_else(|| ApiError::unprocessable(ErrorCode::InvalidBody, "请求内容须为 JSON 对象"))?;
    let version = obj
        .remove("version")
        .ok_or_else(|| {
            ApiError::unprocessable(
                ErrorCode::VersionRequired,
                "须提供 version（工单当前版本号），以免覆盖他人的更新",
            )
        })?
        .as_u64()
        .ok_or_else(|| {
            ApiError::unprocessable(ErrorCode::VersionRequired, "version 须为非负整数")
        })?;
    let action = obj
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match action.as_str() {
        "link_duplicate" => {
            return Err(ApiError::unprocessable(
                ErrorCode::UnknownAction,
                "link_duplicate 由合并操作自动记录，不能直接调用",
            ))
        }
        "request_review" => {
            return Err(ApiError::unprocessable(
                ErrorCode::UnknownAction,
                "复查、复核请求另开案件，请调用 POST /api/v1/appeals/{key}/reviews",
            ))
        }
        "recompute_deadlines" => {
            return Err(ApiError::unprocessable(
                ErrorCode::UnknownAction,
                "recompute_deadlines 由导入放假通知时系统自动记录，不能直接调用",
            ))
        }
        "sign" | "set_owner" => {
            // The owner is named by user id and read from the accounts: a person object sent
            // by a client (any id, any name) is not taken.
            if let Some(given) = obj.get("owner").filter(|v| !v.is_null()) {
                let id = given
                    .as_u64()
                    .filter(|i| *i <= u32::MAX as u64)
                    .ok_or_else(|| {
                        ApiError::unprocessable(
                            ErrorCode::InvalidBody,
                            "owner 须为用户ID（整数），即首席服务官的账号",
                        )
                    })?;
                let user = match state.store.user(UserId(id as u32)).await {
                    Ok(u) if u.active => u,
                    Ok(_) | Err(bihuan_store::StoreError::NotFound { .. }) => {
                        return Err(ApiError::unprocessable(
                            ErrorCode::UnknownUser,
                            format!("首席服务官：用户 {id} 不存在或已停用"),
                        ))
                    }
                    Err(e) => return Err(e.into()),
                };
                obj.insert(
                    "owner".into(),
                    serde_json::to_value(Person {
                        user: user.id,
                        name: user.name,
                        unit: user.unit,
                    })
                    .unwrap_or(Value::Null),
                );
            }
        }
        "merge" => {
            let master = obj.remove("master").ok_or_else(|| {
                ApiError::unprocessable(ErrorCode::InvalidBody, "合并须提供 master（主工单编号）")
            })?;
            let key = match &master {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => {
                    return Err(ApiError::unprocessable(
                        ErrorCode::InvalidBody,
                        "master 须为工单编号",
                    ))
                }
            };
            let m = state.store.appeal(parse_ref(&key)?).await?;
            obj.insert(
                "into".into(),
                serde_json::to_value(MasterRef {
                    id: m.id,
                    number: m.number,
                    status: m.status,
                })
                .unwrap_or(Value::Null),
            );
        }
        _ => {}
    }
    let command: Command = serde_json::from_value(body).map_err(|e| {
        let msg = e.to_string();
        if msg.contains("unknown variant") {
            ApiError::unprocessable(ErrorCode::UnknownAction, format!("未知的操作：{msg}"))
        } else {
            ApiError::unprocessable(ErrorCode::InvalidBody, format!("操作参数不符合要求：{msg}"))
        }
    })?;
    Ok((command, version))
}

/// `POST /api/v1/appeals/bulk-actions`: `{"appeals": [{"key", "version"}…], "action": …,
/// <the action's fields>}` — one action on several appeals, each decided on its own; the answer
/// says what became of each.
async fn act_in_bulk(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(mut body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let obj = body
        .as_object_mut()
        .ok_or_else(|| ApiError::unprocessable(ErrorCode::InvalidBody, "请求内容须为 JSON 对象"))?;
    let items = obj.remove("appeals").ok_or_else(|| {
        ApiError::unprocessable(
            ErrorCode::InvalidBody,
            "须提供 appeals：要处理的工单列表，每件写明 key（编号）和 version（列表中的版本号）",
        )
    })?;
    let items: Vec<crate::app::BulkItem> = serde_json::from_value(items).map_err(|e| {
        ApiError::unprocessable(
            ErrorCode::InvalidBody,
            format!("appeals 须为 [{{\"key\": \"2026-11-000123\", \"version\": 3}}, …]：{e}"),
        )
    })?;
    let outcomes = crate::app::act_in_bulk(&state, &caller, &items, body).await?;
    let done = outcomes.iter().filter(|(_, r)| r.is_ok()).count();
    let results: Vec<Value> = outcomes
        .into_iter()
        .map(|(key, r)| match r {
            Ok(a) => json!({"key": key, "ok": true, "number": a.number.to_string(),
                "version": a.version, "status": a.status}),
            Err(e) => {
                json!({"key": key, "ok": false, "code": e.code.as_str(), "message": e.message})
            }
        })
        .collect();
    Ok(Json(json!({
        "done": done,
        "refused": results.len() - done,
        "results": results,
    })))
}

/// The body of `POST /api/v1/appeals/{key}/reviews`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// What the petitioner asks and why the opinion is wrong.
    pub request: String,
    /// The day the request was received.
    #[schema(value_type = String, format = Date)]
    pub requested_on: NaiveDate,
    /// The reviewing unit; without it the unit one level up, or the configured review unit.
    #[serde(default)]
    #[schema(value_type = Option<u32>)]
    pub reviewer: Option<UnitId>,
    /// The reviewed case's current version.
    pub version: u64,
}

/// 复查 / 复核: opens the review case (201) and answers with both cases.
async fn request_review(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(key): PathParams<String>,
    JsonBody(body): JsonBody<ReviewBody>,
) -> ApiResult<impl IntoResponse> {
    let req = bihuan_domain::lifecycle::ReviewRequest {
        request: body.request,
        requested_on: body.requested_on,
        reviewer: body.reviewer,
    };
    let opened = crate::app::request_review(&state, &caller, &key, req, body.version).await?;
    let now = state.clock.now();
    let cal = &state.store.catalog().calendar;
    let view = |a: &Appeal| AppealView::new(a, Disclosure::for_caller(&caller, a, false), now, cal);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "reviewed": view(&opened.reviewed),
            "review": view(&opened.review),
        })),
    ))
}

async fn act(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(key): PathParams<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<AppealView>> {
    let next = crate::app::act_on_body(&state, &caller, &key, body).await?;
    let now = state.clock.now();
    let disclosure = Disclosure::for_caller(&caller, &next, false);
    Ok(Json(AppealView::new(
        &next,
        disclosure,
        now,
        &state.store.catalog().calendar,
    )))
}
