//! The use cases: what a person can do, written once and called by both the JSON API and the
//! console. A handler parses its input (JSON, a form), calls one function here and renders the
//! answer; the bookkeeping of a use case (idempotency, scoping, counting, the search index, the
//! access log line) lives here, so the two front ends cannot drift apart.

use bihuan_domain::lifecycle::{Action, Appeal, Command, NewAppeal};
use bihuan_domain::time::Instant;
use bihuan_domain::ErrorCode;
use bihuan_store::{AppealRef, Registered};
use serde_json::Value;

use crate::appeals::{can_see, command_from_body, parse_ref};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// The longest idempotency key a client may send.
pub const MAX_IDEMPOTENCY_KEY: usize = 200;

/// Checks a client's idempotency key and scopes it to the caller, so that two users' keys
/// never collide.
pub fn idempotency_key(caller: &Caller, raw: &str) -> ApiResult<String> {
    if raw.is_empty()
        || raw.len() > MAX_IDEMPOTENCY_KEY
        || !raw.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
    {
        return Err(ApiError::bad_request(
            ErrorCode::BadIdempotencyKey,
            format!("Idempotency-Key 须为1至{MAX_IDEMPOTENCY_KEY}个可见 ASCII 字符"),
        ));
    }
    Ok(format!("{}:{raw}", caller.user.id.0))
}

/// Registers an appeal. With a key (already scoped by [`idempotency_key`]), a repeated call
/// answers with the appeal the first one made (`created: false`).
/// Who registers an appeal that `c` raised on another record's behalf (a household visit, an
/// enterprise's demand): `c` when their role registers appeals, else the server acting for them
/// under the name `on_behalf` — the appeal's content names them.
pub fn registrar(c: &Caller, on_behalf: &str) -> Caller {
    use bihuan_domain::lifecycle::Role;
    if matches!(
        c.user.role,
        Role::Operator | Role::Dispatcher | Role::GridMember | Role::Admin
    ) {
        c.clone()
    } else {
        let mut sys = c.clone();
        sys.actor.role = Role::System;
        sys.actor.name = format!("{on_behalf}（{}）", c.user.name);
        sys
    }
}

pub async fn register(
    state: &AppState,
    caller: &Caller,
    new: NewAppeal,
    key: Option<String>,
) -> ApiResult<Registered> {
    let now = state.clock.now();
    let new = accused_persons_units(state, new).await?;
    let new = link_repeat(state.store.as_ref(), new, now).await?;
    let r = state
        .store
        .register(new, caller.actor.clone(), now, key)
        .await?;
    if r.created {
        state.ops.count_action("register");
        state.smart.note_registered(&r.appeal);
        tracing::info!(appeal = %r.appeal.number, user = caller.user.id.0, "registered");
    }
    Ok(r)
}

/// 检举控告 (信访工作条例 Art 30): each accused person must be an account of the county, and
/// the person's unit is accused with them — the matter is never given to it either.
async fn accused_persons_units(state: &AppState, mut new: NewAppeal) -> ApiResult<NewAppeal> {
    // Only an accusation names accused persons: the domain refuses the others on the field.
    if new.accused_persons.is_empty() || new.kind != bihuan_domain::Kind::PetitionAccusation {
        return Ok(new);
    }
    let users = state.store.users().await?;
    for p in new.accused_persons.clone() {
        let Some(u) = users.iter().find(|u| u.id == p) else {
            return Err(ApiError::from(bihuan_domain::DomainError::invalid(
                "accused_persons",
                format!("没有编号为 {} 的人员，请从列表中选择被检举控告的人员", p.0),
            )));
        };
        let root = state.store.catalog().org.root().id;
        if u.unit != root && !new.accused_units.contains(&u.unit) {
            new.accused_units.push(u.unit);
        }
    }
    new.accused_persons.sort_unstable_by_key(|p| p.0);
    new.accused_persons.dedup();
    Ok(new)
}

/// 重复信访 (信访工作条例 Art 19): links a new petition to the same petitioner's earlier
/// accepted petition on the same matter ([`bihuan_domain::lifecycle::repeated_petition`]), or
/// checks the one the registrar named.
pub async fn link_repeat(
    store: &dyn bihuan_store::Store,
    mut new: NewAppeal,
    now: Instant,
) -> ApiResult<NewAppeal> {
    use bihuan_domain::lifecycle::{repeated_petition, RepeatOf};
    use bihuan_domain::Regime;
    if new.kind.regime() != Regime::Petition {
        return Ok(new);
    }
    let named = new.repeat_of.as_ref().and_then(|r| r.earlier);
    if let Some(number) = named {
        let refused = || {
            ApiError::from(bihuan_domain::DomainError::invalid(
                "repeat_of.earlier",
                format!("{number} 不是该信访人的信访事项，请核对编号，或改填此前受理机关"),
            ))
        };
        let earlier = match store.appeal(AppealRef::Number(number)).await {
            Ok(e) => e,
            Err(bihuan_store::StoreError::NotFound { .. }) => return Err(refused()),
            Err(e) => return Err(e.into()),
        };
        let same = earlier.regime == Regime::Petition
            && earlier.citizen.identity_key().is_some()
            && earlier.citizen.identity_key() == new.citizen.identity_key();
        if !same {
            return Err(refused());
        }
        return Ok(new);
    }
    let Some(identity) = new.citizen.identity_key() else {
        return Ok(new);
    };
    if new.category.is_none() {
        return Ok(new);
    }
    let filter = bihuan_store::AppealFilter {
        citizen: Some(identity),
        regime: Some(Regime::Petition),
        ..Default::default()
    };
    let page = store.list(filter, None, 200).await?;
    if let Some(e) = repeated_petition(&new, now, &page.items) {
        let elsewhere = new.repeat_of.take().and_then(|r| r.elsewhere);
        new.repeat_of = Some(RepeatOf {
            earlier: Some(e.number),
            elsewhere,
        });
    }
    Ok(new)
}

/// The appeal `key` names, if the caller may act on it.
async fn load_for_action(state: &AppState, caller: &Caller, key: &str) -> ApiResult<Appeal> {
    let current = state.store.appeal(parse_ref(key)?).await?;
    if !can_see(caller, &current) {
        return Err(ApiError::forbidden(
            ErrorCode::NotYourUnit,
            "该工单不属于本单位，无权操作",
        ));
    }
    Ok(current)
}

/// Runs one command on the appeal `key` names, as the caller, if the caller may see it.
pub async fn act(
    state: &AppState,
    caller: &Caller,
    key: &str,
    command: Command,
    version: u64,
) -> ApiResult<Appeal> {
    let current = load_for_action(state, caller, key).await?;
    run(state, caller, &current, command, version).await
}

/// [`act`] from the API's action body (`{"action": …, "version": …, …}`).
pub async fn act_on_body(
    state: &AppState,
    caller: &Caller,
    key: &str,
    body: Value,
) -> ApiResult<Appeal> {
    // Scoping first: a caller who may not see the appeal learns nothing from the body's errors.
    let current = load_for_action(state, caller, key).await?;
    let (command, version) = command_from_body(state, body).await?;
    run(state, caller, &current, command, version).await
}

async fn run(
    state: &AppState,
    caller: &Caller,
    current: &Appeal,
    command: Command,
    version: u64,
) -> ApiResult<Appeal> {
    check_decline_prior(state, current, &command).await?;
    let name = command.name();
    let now = state.clock.now();
    let next = state
        .store
        .act(
            AppealRef::Id(current.id),
            command,
            caller.actor.clone(),
            now,
            Some(version),
        )
        .await?;
    state.ops.count_action(name);
    tracing::info!(appeal = %next.number, action = name, user = caller.user.id.0, version = next.version, "action");
    Ok(next)
}

/// The unit that reviews `a`'s opinion when the request names none: the unit one level above
/// the one that decided, when it can handle work, else the configured `review_unit` — never a
/// unit that has already given an opinion on the matter (信访工作条例 Arts 35–36).
pub fn default_reviewer(state: &AppState, a: &Appeal) -> ApiResult<bihuan_domain::org::UnitId> {
    use bihuan_domain::org::UnitId;
    let cat = state.store.catalog();
    let org = &cat.org;
    let decided: Vec<UnitId> = a
        .lead
        .into_iter()
        .chain(a.review.as_ref().map(|r| r.decided_by))
        .collect();
    let configured = {
        let name = state.config.review_unit.trim();
        name.parse::<u32>()
            .ok()
            .and_then(|id| org.get(UnitId(id)))
            .or_else(|| org.find_by_name(name).next())
            .filter(|_| !name.is_empty())
            .map(|u| u.id)
    };
    let parent = a
        .lead
        .and_then(|l| org.get(l))
        .and_then(|u| u.parent)
        .and_then(|p| org.get(p))
        .filter(|p| p.kind.can_handle())
        .map(|p| p.id);
    parent
        .into_iter()
        .chain(configured)
        .find(|u| !decided.contains(u))
        .ok_or_else(|| {
            ApiError::unprocessable(
                ErrorCode::InvalidInput,
                "无法确定上一级机关：请在请求中指定复查（复核）机关（reviewer），或由管理员设置复查复核机关（配置项 review_unit）；本县已作出复查意见的，复核请求应向上一级人民政府信访工作机构提出",
            )
        })
}

/// A petitioner's request for 复查 or 复核 of the appeal `key` names: the window is checked by
/// the domain, the reviewing unit defaults to [`default_reviewer`], and the review case is
/// registered and dispatched in the same transaction as the reviewed case's step.
pub async fn request_review(
    state: &AppState,
    caller: &Caller,
    key: &str,
    request: bihuan_domain::lifecycle::ReviewRequest,
    version: u64,
) -> ApiResult<bihuan_store::ReviewOpened> {
    let current = load_for_action(state, caller, key).await?;
    // The guard first: a request that could not be made anyway is told why, not where to send.
    let cat = state.store.catalog();
    current
        .guard(
            Action::RequestReview,
            &caller.actor,
            state.clock.now(),
            cat.ctx(),
        )
        .map_err(ApiError::from)?;
    let reviewer = match request.reviewer {
        Some(u) => u,
        None => default_reviewer(state, &current)?,
    };
    let opened = state
        .store
        .request_review(
            current.id,
            request,
            reviewer,
            caller.actor.clone(),
            state.clock.now(),
            Some(version),
        )
        .await?;
    state.ops.count_action("request_review");
    state.smart.note_registered(&opened.review);
    tracing::info!(appeal = %opened.reviewed.number, review = %opened.review.number, user = caller.user.id.0, "review requested");
    Ok(opened)
}

/// Whether `f` is a 复核 case that has issued its (final) opinion.
fn is_final_review(f: &Appeal) -> bool {
    use bihuan_domain::lifecycle::{DocumentKind, ReviewStage};
    f.review.as_ref().map(|r| r.stage) == Some(ReviewStage::Rereview)
        && f.documents
            .iter()
            .any(|d| d.kind == DocumentKind::RereviewOpinion)
}

/// The same petitioner's 复核 cases that ended with a final opinion, the same category first
/// (信访工作条例 Art 36: the same facts and reasons are not accepted again).
pub async fn final_reviews(state: &AppState, a: &Appeal) -> Vec<Appeal> {
    let Some(identity) = a.citizen.identity_key() else {
        return vec![];
    };
    if a.regime != bihuan_domain::Regime::Petition || a.review.is_some() {
        return vec![];
    }
    let filter = bihuan_store::AppealFilter {
        citizen: Some(identity),
        regime: Some(bihuan_domain::Regime::Petition),
        ..Default::default()
    };
    let Ok(page) = state.store.list(filter, None, 200).await else {
        return vec![];
    };
    let mut out: Vec<Appeal> = page
        .items
        .into_iter()
        .filter(|f| f.id != a.id && is_final_review(f))
        .collect();
    out.sort_by_key(|f| (f.category != a.category, std::cmp::Reverse(f.registered_at)));
    out.truncate(5);
    out
}

/// A decline for a final 复核 must name a 复核 of the same petitioner that ended with its
/// opinion.
async fn check_decline_prior(
    state: &AppState,
    current: &Appeal,
    command: &Command,
) -> ApiResult<()> {
    let Command::Decline {
        prior: Some(number),
        ..
    } = command
    else {
        return Ok(());
    };
    let refused = || {
        ApiError::unprocessable(
            ErrorCode::InvalidInput,
            format!("原复核事项编号：{number} 不是该信访人已复核终结的信访事项，请核对编号"),
        )
    };
    let prior = match state.store.appeal(AppealRef::Number(*number)).await {
        Ok(p) => p,
        Err(bihuan_store::StoreError::NotFound { .. }) => return Err(refused()),
        Err(e) => return Err(e.into()),
    };
    let same = prior.citizen.identity_key().is_some()
        && prior.citizen.identity_key() == current.citizen.identity_key();
    if !same || !is_final_review(&prior) {
        return Err(refused());
    }
    Ok(())
}

/// What loading a year's holiday notice changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recomputed {
    /// Open appeals whose provisional deadlines moved.
    pub appeals: u64,
    /// Deadlines moved.
    pub deadlines: u64,
    /// Appeals that could not be updated (logged; a later load of the same notice retries).
    pub failed: u64,
}

/// Loads (or replaces) a year's holiday notice, then computes again every open appeal's
/// deadlines that the calendar had predicted (`Appeal::recomputed_deadlines`), one
/// `recompute_deadlines` step on each appeal's timeline, in the rollups like any step.
pub async fn load_calendar_year(
    state: &AppState,
    caller: &Caller,
    notice_json: String,
) -> ApiResult<(bihuan_domain::calendar::YearNotice, Recomputed)> {
    use bihuan_domain::lifecycle::Status;
    caller.require(&[bihuan_domain::lifecycle::Role::Admin])?;
    let old = state.store.catalog().calendar.clone();
    let notice = state.store.put_calendar_year(notice_json).await?;
    let new = state.store.catalog().calendar.clone();
    let system = crate::scanner::system_actor(state);
    let mut done = Recomputed::default();
    let filter = bihuan_store::AppealFilter {
        status: vec![
            Status::PendingDispatch,
            Status::Dispatched,
            Status::InProgress,
        ],
        ..Default::default()
    };
    let mut cursor = None;
    loop {
        let page = state.store.list(filter.clone(), cursor, 500).await?;
        for a in &page.items {
            let mut current = a.clone();
            // One retry: a person may act on the appeal between the read and the write.
            for attempt in 0..2 {
                let now = state.clock.now();
                let changes = current.recomputed_deadlines(&old, &new, now);
                if changes.is_empty() {
                    break;
                }
                let n = changes.len() as u64;
                let cmd = Command::RecomputeDeadlines {
                    year: notice.year,
                    changes,
                };
                match state
                    .store
                    .act(
                        AppealRef::Id(current.id),
                        cmd,
                        system.clone(),
                        now,
                        Some(current.version),
                    )
                    .await
                {
                    Ok(_) => {
                        done.appeals += 1;
                        done.deadlines += n;
                        break;
                    }
                    Err(e) if attempt == 0 => {
                        tracing::debug!(appeal = %current.number, error = %e, "recompute: read again");
                        match state.store.appeal(AppealRef::Id(current.id)).await {
                            Ok(fresh) => current = fresh,
                            Err(_) => {
                                done.failed += 1;
                                break;
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(appeal = %current.number, error = %e, "deadlines not recomputed");
                        done.failed += 1;
                    }
                }
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    // A notice published after its year began: steps already taken in that year were counted
    // on the provisional calendar (the handling time in working days), so the rollups are built
    // again on the notice. Rare (notices come out in the autumn before), and done once.
    let today = bihuan_domain::time::local_date(state.clock.now());
    if chrono::Datelike::year(&today) >= notice.year {
        let started = std::time::Instant::now();
        let n = state.store.rebuild_rollups().await?;
        tracing::info!(
            appeals = n,
            seconds = started.elapsed().as_secs_f64(),
            "rollups rebuilt on the notice of a year already begun"
        );
    }
    tracing::info!(
        year = notice.year,
        appeals = done.appeals,
        deadlines = done.deadlines,
        failed = done.failed,
        "calendar year loaded; provisional deadlines recomputed"
    );
    Ok((notice, done))
}

/// The actions that may run on several appeals at once: the same command to each (dispatch
/// them to one unit, supervise them). Each appeal is still decided on its own.
pub const BULK_ACTIONS: [Action; 2] = [Action::Dispatch, Action::Supervise];

/// The most appeals one bulk action takes (a page of the list holds at most 100).
pub const BULK_MAX: usize = 200;

/// One appeal of a bulk action: its key and the version the caller saw.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkItem {
    /// 工单编号 (2026-11-000123) 或数字ID
    pub key: String,
    /// 列表中看到的版本号：工单此后有变动的，这一件不执行（version_conflict）
    pub version: u64,
}

/// Runs the same action (`body` without a version: `{"action": "dispatch", "lead": 12, …}`)
/// on each appeal, in order, each in its own transaction, as [`act_on_body`] does for one: one
/// refused appeal (another unit's, already dispatched, changed since it was listed) does not
/// stop the others, and each outcome is returned.
pub async fn act_in_bulk(
    state: &AppState,
    caller: &Caller,
    items: &[BulkItem],
    body: Value,
) -> ApiResult<Vec<(String, ApiResult<Appeal>)>> {
    let action = body.get("action").and_then(Value::as_str).unwrap_or("");
    if !BULK_ACTIONS.iter().any(|a| a.name() == action) {
        return Err(ApiError::unprocessable(
            ErrorCode::BulkActionNotAllowed,
            format!("「{action}」不能批量执行：可批量执行的只有交办（dispatch）和督办（supervise），其他操作请逐件办理"),
        ));
    }
    if items.is_empty() {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidBody,
            "请至少选择一件工单",
        ));
    }
    if items.len() > BULK_MAX {
        return Err(ApiError::unprocessable(
            ErrorCode::BulkTooMany,
            format!(
                "一次最多批量处理 {BULK_MAX} 件，本次选了 {} 件，请分批处理",
                items.len()
            ),
        ));
    }
    if body.get("version").is_some() {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidBody,
            "批量操作的版本号写在每件工单上（appeals[].version），不写在操作里",
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut one = body.clone();
        one["version"] = Value::from(item.version);
        let result = act_on_body(state, caller, &item.key, one).await;
        out.push((item.key.clone(), result));
    }
    Ok(out)
}

/// The actions the caller may take on an appeal now: the domain's own guard, so the console
/// offers exactly what the domain accepts.
pub fn available_actions(state: &AppState, caller: &Caller, a: &Appeal) -> Vec<Action> {
    if !can_see(caller, a) {
        return vec![];
    }
    let cat = state.store.catalog();
    a.available_actions(&caller.actor, state.clock.now(), cat.ctx())
}
