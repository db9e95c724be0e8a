//! Leaders and petitions (信访工作条例 Art 18): reception days (领导接访) and 包案, the use
//! cases the API (`/api/v1/receptions`, `/api/v1/leader-cases`) and the console (`/leaders`)
//! share. Both are aggregates in the generic tables (`bihuan_domain::leaders`); the ledger
//! reads each case's state from its appeal.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::aggregate::Versioned;
use bihuan_domain::leaders::{
    LeaderCase, LeaderCaseCommand, Reception, ReceptionCommand, ReceptionStatus,
};
use bihuan_domain::lifecycle::{Appeal, Role};
use bihuan_domain::time::Instant;
use bihuan_domain::{ErrorCode, Regime, UserId};
use bihuan_store::{aggregates, AppealRef};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::appeals::{can_see, parse_ref};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, JsonBody, PathParams};
use crate::AppState;

/// The most cases or reception days one ledger page reads.
const LEDGER_MAX: u32 = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/receptions", get(receptions_api).post(schedule_api))
        .route("/api/v1/receptions/{id}/petitions", post(receive_api))
        .route("/api/v1/receptions/{id}/close", post(close_api))
        .route("/api/v1/receptions/{id}/cancel", post(cancel_api))
        .route("/api/v1/appeals/{key}/leader-case", post(take_api))
        .route("/api/v1/leader-cases", get(ledger_api))
        .route("/api/v1/leader-cases/{id}/notes", post(note_api))
        .route("/api/v1/leader-cases/{id}/release", post(release_api))
}

/// Who may read the reception days and the ledger: the county's leaders, supervisors, the
/// centre and administrators.
fn may_read(c: &Caller) -> ApiResult<()> {
    c.require(&[
        Role::Leader,
        Role::Supervisor,
        Role::Dispatcher,
        Role::Operator,
        Role::Admin,
    ])
}

/// A reception day as the API and the console show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceptionView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub reception: Reception,
    pub status_label: &'static str,
}

impl ReceptionView {
    fn new(v: Versioned<Reception>) -> ReceptionView {
        ReceptionView {
            id: v.id,
            version: v.version,
            status_label: v.state.status.label(),
            reception: v.state,
        }
    }
}

/// The request to schedule a reception day.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleReception {
    /// 接访领导（用户编号，须为领导角色）
    pub leader: u32,
    /// 职务，如 县委副书记
    pub post: String,
    /// 接访日期
    #[schema(value_type = String, format = Date)]
    pub on: NaiveDate,
    /// 接访地点
    pub place: String,
    /// 接访事项
    pub topics: String,
}

/// Schedules a reception day for a leader of the county.
pub async fn schedule(
    state: &AppState,
    caller: &Caller,
    req: ScheduleReception,
) -> ApiResult<ReceptionView> {
    let users = state.store.users().await?;
    let Some(leader) = users
        .iter()
        .find(|u| u.id == UserId(req.leader) && u.role == Role::Leader && u.active)
    else {
        return Err(ApiError::from(bihuan_domain::DomainError::invalid(
            "leader",
            "请选择一位领导（用户须为领导角色且在用）",
        )));
    };
    let v = aggregates::execute::<Reception>(
        state.store.as_ref(),
        None,
        ReceptionCommand::Schedule {
            leader: leader.id,
            leader_name: leader.name.clone(),
            post: req.post,
            on: req.on,
            place: req.place,
            topics: req.topics,
        },
        caller.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    Ok(ReceptionView::new(v))
}

/// Every reception day, the latest date first (at most [`LEDGER_MAX`]).
pub async fn receptions(state: &AppState, caller: &Caller) -> ApiResult<Vec<ReceptionView>> {
    may_read(caller)?;
    let mut v: Vec<ReceptionView> =
        aggregates::find::<Reception>(state.store.as_ref(), "", "", 0, LEDGER_MAX)
            .await?
            .into_iter()
            .map(ReceptionView::new)
            .collect();
    v.sort_by_key(|r| std::cmp::Reverse((r.reception.on, r.id)));
    Ok(v)
}

async fn reception(state: &AppState, id: u64) -> ApiResult<Versioned<Reception>> {
    aggregates::load::<Reception>(state.store.as_ref(), id)
        .await
        .map_err(|_| ApiError::not_found("没有这个接访日"))
}

/// A petition the caller may see, by number or id.
async fn petition(state: &AppState, caller: &Caller, key: &str) -> ApiResult<Appeal> {
    let a = match state.store.appeal(parse_ref(key)?).await {
        Ok(a) => a,
        Err(bihuan_store::StoreError::NotFound { .. }) => {
            return Err(ApiError::from(bihuan_domain::DomainError::invalid(
                "appeal",
                format!("没有编号为 {key} 的信访事项，请核对编号"),
            )))
        }
        Err(e) => return Err(e.into()),
    };
    if !can_see(caller, &a) {
        return Err(ApiError::forbidden(
            ErrorCode::NotYourUnit,
            "该信访事项不属于本单位，无权操作",
        ));
    }
    if a.regime != Regime::Petition {
        return Err(ApiError::from(bihuan_domain::DomainError::invalid(
            "appeal",
            format!("{} 是热线诉求，不是信访事项", a.number),
        )));
    }
    Ok(a)
}

/// Records a petition received at reception day `id`.
pub async fn receive(
    state: &AppState,
    caller: &Caller,
    id: u64,
    appeal: &str,
) -> ApiResult<ReceptionView> {
    let r = reception(state, id).await?;
    let a = petition(state, caller, appeal.trim()).await?;
    let v = aggregates::execute::<Reception>(
        state.store.as_ref(),
        Some(id),
        ReceptionCommand::Receive {
            appeal: a.id,
            number: a.number,
        },
        caller.actor.clone(),
        state.clock.now(),
        Some(r.version),
    )
    .await?;
    Ok(ReceptionView::new(v))
}

/// Closes (`summary`) or cancels (`reason`) reception day `id`.
pub async fn end_reception(
    state: &AppState,
    caller: &Caller,
    id: u64,
    command: ReceptionCommand,
) -> ApiResult<ReceptionView> {
    let r = reception(state, id).await?;
    let v = aggregates::execute::<Reception>(
        state.store.as_ref(),
        Some(id),
        command,
        caller.actor.clone(),
        state.clock.now(),
        Some(r.version),
    )
    .await?;
    Ok(ReceptionView::new(v))
}

/// One line of the 包案 ledger: the case and where its petition stands now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeaderCaseView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub case: LeaderCase,
    pub title: String,
    pub status: bihuan_domain::lifecycle::Status,
    pub status_label: &'static str,
    /// The petition's reply deadline while it runs.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reply_due: Option<Instant>,
    /// Past a running deadline now.
    pub overdue: bool,
}

fn case_view(v: Versioned<LeaderCase>, a: &Appeal, now: Instant) -> LeaderCaseView {
    let overdue = a.running_deadlines().iter().any(|(_, _, due)| *due < now);
    LeaderCaseView {
        id: v.id,
        version: v.version,
        title: a.title.clone(),
        status: a.status,
        status_label: a.status.label(),
        reply_due: a.deadlines.reply.filter(|_| !a.status.is_terminal()),
        overdue,
        case: v.state,
    }
}

/// The active 包案 of an appeal, if any.
pub async fn case_of(state: &AppState, appeal: &Appeal) -> ApiResult<Option<LeaderCaseView>> {
    let found = aggregates::find::<LeaderCase>(
        state.store.as_ref(),
        "appeal",
        &appeal.id.0.to_string(),
        0,
        2,
    )
    .await?;
    let now = state.clock.now();
    Ok(found
        .into_iter()
        .find(|c| c.state.active() && c.state.appeal == appeal.id)
        .map(|c| case_view(c, appeal, now)))
}

/// The request to take a petition personally.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeCase {
    /// 包案措施：如何推动化解
    pub plan: String,
    /// 在哪个接访日接下的（选填）
    #[serde(default)]
    pub reception: Option<u64>,
}

/// The acting leader takes the petition `key` (包案): an open petition no other leader has.
pub async fn take(
    state: &AppState,
    caller: &Caller,
    key: &str,
    req: TakeCase,
) -> ApiResult<LeaderCaseView> {
    caller.require(&[Role::Leader])?;
    let a = petition(state, caller, key).await?;
    if a.status.is_terminal() {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidInput,
            format!("{} 已{}，不能再包案", a.number, a.status.label()),
        ));
    }
    if let Some(c) = case_of(state, &a).await? {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidInput,
            format!("{} 已由{}包案", a.number, c.case.leader_name),
        ));
    }
    if let Some(r) = req.reception {
        reception(state, r).await?;
    }
    let v = aggregates::execute::<LeaderCase>(
        state.store.as_ref(),
        None,
        LeaderCaseCommand::Take {
            appeal: a.id,
            number: a.number,
            plan: req.plan,
            reception: req.reception,
        },
        caller.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    tracing::info!(appeal = %a.number, user = caller.user.id.0, "leader took the case");
    Ok(case_view(v, &a, state.clock.now()))
}

/// The 包案 ledger: every active case (or one leader's), each with its petition's state, the
/// overdue first, then by leader and date taken.
pub async fn ledger(
    state: &AppState,
    caller: &Caller,
    leader: Option<UserId>,
) -> ApiResult<Vec<LeaderCaseView>> {
    may_read(caller)?;
    let (key, value) = match leader {
        Some(l) => ("leader", l.0.to_string()),
        None => ("", String::new()),
    };
    let found =
        aggregates::find::<LeaderCase>(state.store.as_ref(), key, &value, 0, LEDGER_MAX).await?;
    let now = state.clock.now();
    let mut out = Vec::new();
    for c in found.into_iter().filter(|c| c.state.active()) {
        let a = state.store.appeal(AppealRef::Id(c.state.appeal)).await?;
        out.push(case_view(c, &a, now));
    }
    out.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then(a.case.leader_name.cmp(&b.case.leader_name))
            .then(a.case.taken_at.cmp(&b.case.taken_at))
    });
    Ok(out)
}

/// Records what the leader did (`Note`) or hands the case back (`Release`).
pub async fn on_case(
    state: &AppState,
    caller: &Caller,
    id: u64,
    command: LeaderCaseCommand,
) -> ApiResult<LeaderCaseView> {
    let c = aggregates::load::<LeaderCase>(state.store.as_ref(), id)
        .await
        .map_err(|_| ApiError::not_found("没有这个包案"))?;
    let a = state.store.appeal(AppealRef::Id(c.state.appeal)).await?;
    let v = aggregates::execute::<LeaderCase>(
        state.store.as_ref(),
        Some(id),
        command,
        caller.actor.clone(),
        state.clock.now(),
        Some(c.version),
    )
    .await?;
    Ok(case_view(v, &a, state.clock.now()))
}

// ---------------------------------------------------------------------------------------------
// The API

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveBody {
    /// 信访事项编号
    pub appeal: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    /// 接访情况 / 取消原因 / 包案记录 / 交回原因
    pub text: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LedgerQuery {
    /// 只看这位领导的包案（用户编号）
    pub leader: Option<u32>,
}

async fn receptions_api(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        serde_json::json!({"items": receptions(&state, &caller).await?}),
    ))
}

async fn schedule_api(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<ScheduleReception>,
) -> ApiResult<(StatusCode, Json<ReceptionView>)> {
    Ok((
        StatusCode::CREATED,
        Json(schedule(&state, &caller, req).await?),
    ))
}

async fn receive_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(req): JsonBody<ReceiveBody>,
) -> ApiResult<Json<ReceptionView>> {
    Ok(Json(receive(&state, &caller, id, &req.appeal).await?))
}

async fn close_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(req): JsonBody<TextBody>,
) -> ApiResult<Json<ReceptionView>> {
    let cmd = ReceptionCommand::Close { summary: req.text };
    Ok(Json(end_reception(&state, &caller, id, cmd).await?))
}

async fn cancel_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(req): JsonBody<TextBody>,
) -> ApiResult<Json<ReceptionView>> {
    let cmd = ReceptionCommand::Cancel { reason: req.text };
    Ok(Json(end_reception(&state, &caller, id, cmd).await?))
}

async fn take_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(key): PathParams<String>,
    JsonBody(req): JsonBody<TakeCase>,
) -> ApiResult<(StatusCode, Json<LeaderCaseView>)> {
    Ok((
        StatusCode::CREATED,
        Json(take(&state, &caller, &key, req).await?),
    ))
}

async fn ledger_api(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<LedgerQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let items = ledger(&state, &caller, q.leader.map(UserId)).await?;
    Ok(Json(serde_json::json!({"items": items})))
}

async fn note_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(req): JsonBody<TextBody>,
) -> ApiResult<Json<LeaderCaseView>> {
    let cmd = LeaderCaseCommand::Note { text: req.text };
    Ok(Json(on_case(&state, &caller, id, cmd).await?))
}

async fn release_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(req): JsonBody<TextBody>,
) -> ApiResult<Json<LeaderCaseView>> {
    let cmd = LeaderCaseCommand::Release { reason: req.text };
    Ok(Json(on_case(&state, &caller, id, cmd).await?))
}

/// Whether reception day `r` is open to new petitions for the caller today.
pub fn open_for(r: &ReceptionView, now: Instant) -> bool {
    r.reception.status == ReceptionStatus::Scheduled
        && bihuan_domain::time::local_date(now) >= r.reception.on
}
