//! `/api/v1/cadres`, `/api/v1/visit-campaigns`, `/api/v1/visits`: 入户听诉's work at the door
//! (`bihuan_domain::visits`), the use cases the API and the console share.
//!
//! * **Cadres (三包).** A township (or the centre) assigns a user of any unit — a party member
//!   or cadre — to grids or to single households. A household's cadre is the one carrying it by
//!   name, else the one carrying its grid.
//! * **Campaigns.** Launching one takes every household in its area, in id order, 500 at a
//!   time: a task per household with its due dates (working days, from the calendar), and
//!   the campaign records how far it came after each batch, so a launch cut short resumes
//!   without a duplicate. The tasks made are the frozen denominator; a household registered
//!   later gets a task marked as added.
//! * **Visits.** The cadre records a visit from a phone; the phone's draft id makes the same
//!   draft sent twice one visit. A need raised as an appeal is registered with channel 入户走访
//!   (idempotently, keyed by the visit and the need), and runs the whole loop.
//! * **Coverage** is read from the tasks' `cov` index in one grouped count per table.

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::aggregate::Versioned;
use bihuan_domain::household::{Household, Location};
use bihuan_domain::lifecycle::{NewAppeal, Role};
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::visits::{
    Assignment, AssignmentCommand, Campaign, CampaignCommand, CampaignPlan, CampaignStatus,
    Coverage, HandlingClass, Need, Outcome, Progress, RaisedAppeal, Round, Visit, VisitCommand,
    VisitRecord, VisitTask, VisitTaskCommand,
};
use bihuan_domain::{Channel, Citizen, DomainError, ErrorCode, Kind, Place, UserId};
use bihuan_store::aggregates;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, JsonBody, PathParams, QueryParams};
use crate::households::Reach;
use crate::AppState;

/// How many tasks a launch writes in one transaction before recording its progress.
const LAUNCH_BATCH: usize = 500;

/// One launch or one visit at a time in this process: a launch's batches and a draft's
/// duplicate check are then never interleaved with another's.
static WRITE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cadres", get(cadres_api).post(assign_api))
        .route("/api/v1/visit-campaigns", get(campaigns_api).post(plan_api))
        .route("/api/v1/visit-campaigns/{id}", get(campaign_api))
        .route("/api/v1/visit-campaigns/{id}/launch", post(launch_api))
        .route("/api/v1/visit-campaigns/{id}/end", post(end_api))
        .route("/api/v1/visit-campaigns/{id}/coverage", get(coverage_api))
        .route("/api/v1/visit-campaigns/{id}/households", get(drill_api))
        .route("/api/v1/visits", get(visits_api).post(record_api))
        .route("/api/v1/visits/tasks", get(tasks_api))
        .route("/api/v1/visits/{id}", get(visit_api))
        .route(
            "/api/v1/visits/{id}/needs/{need}/photos",
            post(photos_api).layer(axum::extract::DefaultBodyLimit::max(
                crate::attachments::UPLOAD_LIMIT,
            )),
        )
}

/// The 五办 handling classes in force.
pub fn classes() -> Vec<HandlingClass> {
    HandlingClass::defaults()
}

fn class_codes() -> Vec<String> {
    classes().into_iter().map(|c| c.code).collect()
}

/// The topics a visit outside any campaign may name.
pub const DEFAULT_TOPICS: [&str; 4] = ["听民声", "听民意", "听民需", "听民盼"];

/// Whether `unit` lies within `reach`.
fn reach_has_unit(cat: &bihuan_store::Catalog, reach: Reach, unit: UnitId) -> bool {
    match reach {
        Reach::County => true,
        Reach::Township(t) | Reach::Village(t) | Reach::Grid(t) => {
            cat.org.ancestry(unit).iter().any(|u| u.id == t)
        }
    }
}

/// Whether the caller's role organises 入户走访 (the township's staff and leaders, the centre,
/// administrators); where they may is [`organiser`]'s reach.
pub fn organises(c: &Caller) -> bool {
    matches!(
        c.user.role,
        Role::Handler | Role::UnitLeader | Role::Dispatcher | Role::Admin
    )
}

/// Only the organisers, within a township or the county.
pub fn organiser(c: &Caller) -> ApiResult<Reach> {
    if !organises(c) {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "只有乡镇（街道）工作人员、中心和管理员可以安排入户走访",
        ));
    }
    let reach = Reach::of(c)?;
    if !matches!(reach, Reach::County | Reach::Township(_)) {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "入户走访由乡镇（街道）或中心统一安排",
        ));
    }
    Ok(reach)
}

// ---------------------------------------------------------------------------------------------
// Cadres (三包)

/// Every assignment, by cadre (a county has at most some thousands).
async fn assignments(state: &AppState) -> ApiResult<Vec<Versioned<Assignment>>> {
    Ok(aggregates::find_all::<Assignment>(state.store.as_ref(), "", "", 0).await?)
}

/// Who carries what: households by name first, then grids.
#[derive(Default)]
pub struct Carriers {
    by_household: HashMap<u64, UserId>,
    by_grid: HashMap<UnitId, UserId>,
}

impl Carriers {
    pub async fn load(state: &AppState) -> ApiResult<Carriers> {
        let mut c = Carriers::default();
        for a in assignments(state).await? {
            for h in &a.state.households {
                c.by_household.entry(*h).or_insert(a.state.cadre);
            }
            for g in &a.state.grids {
                c.by_grid.entry(*g).or_insert(a.state.cadre);
            }
        }
        Ok(c)
    }

    pub fn of(&self, id: u64, at: &Location) -> Option<UserId> {
        self.by_household
            .get(&id)
            .or_else(|| self.by_grid.get(&at.grid))
            .copied()
    }
}

/// The cadre carrying household `id` at `at`, if any (two index reads).
pub async fn cadre_of(state: &AppState, id: u64, at: &Location) -> ApiResult<Option<UserId>> {
    let s = state.store.as_ref();
    if let Some(a) = aggregates::find::<Assignment>(s, "household", &id.to_string(), 0, 1)
        .await?
        .first()
    {
        return Ok(Some(a.state.cadre));
    }
    Ok(
        aggregates::find::<Assignment>(s, "grid", &at.grid.0.to_string(), 0, 1)
            .await?
            .first()
            .map(|a| a.state.cadre),
    )
}

/// The request to assign a cadre.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// 干部（用户编号）
    pub cadre: u32,
    /// 党员
    #[serde(default)]
    pub party_member: bool,
    /// 包片的网格（单位编号）
    #[serde(default)]
    pub grids: Vec<u32>,
    /// 包户的住户编号
    #[serde(default)]
    pub households: Vec<u64>,
}

/// Assigns a cadre to grids and households within the caller's reach.
pub async fn assign(
    state: &AppState,
    c: &Caller,
    b: AssignBody,
) -> ApiResult<Versioned<Assignment>> {
    let reach = organiser(c)?;
    let cat = state.store.catalog();
    let users = state.store.users().await?;
    let Some(u) = users.iter().find(|u| u.id.0 == b.cadre && u.active) else {
        return Err(ApiError::from(DomainError::invalid(
            "cadre",
            format!("没有编号为 {} 的在岗人员，请从列表中选择", b.cadre),
        )));
    };
    for g in &b.grids {
        let at = crate::households::locate(&cat, *g)?;
        if !reach.covers(&at) {
            return Err(ApiError::forbidden(
                ErrorCode::NotYourUnit,
                format!("网格 {g} 不属于本单位，不能安排"),
            ));
        }
    }
    let found = aggregates::load_many::<Household>(state.store.as_ref(), &b.households).await?;
    for h in &b.households {
        match found.get(h) {
            Some(v) if v.state.removed.is_none() && reach.covers(&v.state.at) => {}
            _ => {
                return Err(ApiError::from(DomainError::invalid(
                    "households",
                    format!("住户 {h} 不在本单位的台账中"),
                )))
            }
        }
    }
    let existing =
        aggregates::find::<Assignment>(state.store.as_ref(), "cadre", &b.cadre.to_string(), 0, 1)
            .await?;
    let a = Assignment {
        cadre: u.id,
        name: u.name.clone(),
        unit: u.unit,
        party_member: b.party_member,
        grids: b.grids.iter().map(|g| UnitId(*g)).collect(),
        households: b.households,
    };
    let current = existing.first();
    Ok(aggregates::execute::<Assignment>(
        state.store.as_ref(),
        current.map(|v| v.id),
        AssignmentCommand::Set(a),
        c.actor.clone(),
        state.clock.now(),
        Some(current.map_or(0, |v| v.version)),
    )
    .await?)
}

/// A cadre's assignment as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CadreView {
    #[serde(flatten)]
    pub assignment: Assignment,
    pub unit_name: String,
    pub grid_names: Vec<String>,
}

/// The cadres whose unit, grids or households lie within the caller's reach.
pub async fn cadres(state: &AppState, c: &Caller) -> ApiResult<Vec<CadreView>> {
    let reach = Reach::of(c)?;
    let cat = state.store.catalog();
    let name = |u: UnitId| cat.org.get(u).map(|x| x.name.clone()).unwrap_or_default();
    let all = assignments(state).await?;
    let carried: Vec<u64> = all
        .iter()
        .flat_map(|a| a.state.households.iter().copied())
        .collect();
    let homes = if reach == Reach::County {
        HashMap::new()
    } else {
        aggregates::load_many::<Household>(state.store.as_ref(), &carried).await?
    };
    Ok(all
        .into_iter()
        .filter(|a| {
            reach_has_unit(&cat, reach, a.state.unit)
                || a.state
                    .grids
                    .iter()
                    .any(|g| reach_has_unit(&cat, reach, *g))
                || a.state
                    .households
                    .iter()
                    .any(|h| homes.get(h).is_some_and(|h| reach.covers(&h.state.at)))
        })
        .map(|a| CadreView {
            unit_name: name(a.state.unit),
            grid_names: a.state.grids.iter().map(|g| name(*g)).collect(),
            assignment: a.state,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Campaigns

/// A campaign as the API and the console show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub campaign: Campaign,
    pub status_label: String,
}

fn campaign_view(v: Versioned<Campaign>) -> CampaignView {
    CampaignView {
        id: v.id,
        version: v.version,
        status_label: v.state.status.label().to_string(),
        campaign: v.state,
    }
}

/// Plans a campaign in the caller's area (a township plans in its own; the centre anywhere).
pub async fn plan(state: &AppState, c: &Caller, p: CampaignPlan) -> ApiResult<CampaignView> {
    let reach = organiser(c)?;
    let cat = state.store.catalog();
    if let Reach::Township(t) = reach {
        if p.townships.is_empty() && p.grids.is_empty() {
            return Err(ApiError::forbidden(
                ErrorCode::NotYourUnit,
                "乡镇（街道）只能安排本辖区的走访，请选择本乡镇或其网格",
            ));
        }
        if p.townships.iter().any(|x| *x != t) {
            return Err(ApiError::forbidden(
                ErrorCode::NotYourUnit,
                "只能安排本乡镇（街道）的走访",
            ));
        }
    }
    for t in &p.townships {
        if cat.org.get(*t).is_none_or(|u| u.kind != UnitKind::Township) {
            return Err(ApiError::from(DomainError::invalid(
                "townships",
                format!("没有编号为 {} 的乡镇（街道）", t.0),
            )));
        }
    }
    for g in &p.grids {
        let at = crate::households::locate(&cat, g.0)?;
        if !reach.covers(&at) {
            return Err(ApiError::forbidden(
                ErrorCode::NotYourUnit,
                format!("网格 {} 不属于本单位", g.0),
            ));
        }
    }
    let v = aggregates::execute::<Campaign>(
        state.store.as_ref(),
        None,
        CampaignCommand::Plan(p),
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    Ok(campaign_view(v))
}

pub async fn campaign(state: &AppState, id: u64) -> ApiResult<Versioned<Campaign>> {
    aggregates::load::<Campaign>(state.store.as_ref(), id)
        .await
        .map_err(|_| ApiError::not_found("没有这次走访活动"))
}

/// Every campaign, newest first.
pub async fn campaigns(state: &AppState) -> ApiResult<Vec<CampaignView>> {
    let all = aggregates::find_all::<Campaign>(state.store.as_ref(), "", "", 0).await?;
    Ok(all.into_iter().rev().map(campaign_view).collect())
}

/// The campaigns running now (at most a few).
pub async fn running(state: &AppState) -> ApiResult<Vec<Versioned<Campaign>>> {
    Ok(aggregates::find::<Campaign>(state.store.as_ref(), "status", "running", 0, 100).await?)
}

/// Whether the caller may organise this campaign (its area within the caller's reach).
fn may_organise(c: &Caller, p: &CampaignPlan) -> ApiResult<()> {
    match organiser(c)? {
        Reach::County => Ok(()),
        Reach::Township(t) if !p.townships.is_empty() || !p.grids.is_empty() => {
            if p.townships.iter().all(|x| *x == t) {
                Ok(())
            } else {
                Err(ApiError::forbidden(
                    ErrorCode::NotYourUnit,
                    "这次活动不由本单位组织",
                ))
            }
        }
        _ => Err(ApiError::forbidden(
            ErrorCode::NotYourUnit,
            "这次活动不由本单位组织",
        )),
    }
}

/// The task a household is owed in a campaign: its due dates, or none (outside the area, or
/// no rule takes it).
fn task_for(
    camp: u64,
    plan: &CampaignPlan,
    h: &Versioned<Household>,
    cadre: Option<UserId>,
    frozen: bool,
    cal: &bihuan_domain::Calendar,
) -> ApiResult<Option<VisitTask>> {
    if h.state.removed.is_some() || !plan.covers(&h.state.at) {
        return Ok(None);
    }
    let due = plan.rounds(&h.state.facts.tags, cal)?;
    if due.is_empty() {
        return Ok(None);
    }
    Ok(Some(VisitTask {
        campaign: camp,
        household: h.id,
        at: h.state.at,
        cadre,
        frozen,
        rounds: due
            .into_iter()
            .map(|due| Round { due, visit: None })
            .collect(),
        met: false,
        refused: false,
        attempts: 0,
    }))
}

/// Launches a campaign: a task for every household in its area (resuming a launch cut short),
/// then the denominator frozen.
pub async fn launch(state: &AppState, c: &Caller, id: u64) -> ApiResult<CampaignView> {
    let _one = WRITE_LOCK.lock().await;
    let mut camp = campaign(state, id).await?;
    may_organise(c, &camp.state.plan)?;
    if !matches!(
        camp.state.status,
        CampaignStatus::Draft | CampaignStatus::Generating
    ) {
        return Err(ApiError::from(DomainError::invalid(
            "campaign",
            format!("活动{}，不能再启动", camp.state.status.label()),
        )));
    }
    let s = state.store.as_ref();
    let cat = state.store.catalog();
    let carriers = Carriers::load(state).await?;
    // Tasks a cut-short launch wrote after its last recorded batch: their households are done.
    let orphans = aggregates::find_all::<VisitTask>(
        s,
        "campaign",
        &id.to_string(),
        camp.state.progress.last_task,
    )
    .await?;
    let after_task = orphans
        .last()
        .map_or(camp.state.progress.last_task, |t| t.id);
    let done: HashSet<u64> = orphans.iter().map(|t| t.state.household).collect();
    let mut progress = Progress {
        made: camp.state.progress.made + done.len() as u64,
        last_task: after_task,
        ..camp.state.progress
    };
    let mut pending: Vec<VisitTaskCommand> = Vec::new();
    let mut after = camp.state.progress.through;
    loop {
        let batch = aggregates::find::<Household>(s, "", "", after, 500).await?;
        let last = batch.len() < 500;
        for h in &batch {
            after = h.id;
            if done.contains(&h.id) {
                continue;
            }
            let cadre = carriers.of(h.id, &h.state.at);
            if let Some(t) = task_for(id, &camp.state.plan, h, cadre, true, cat.ctx().calendar)? {
                pending.push(VisitTaskCommand::Generate(Box::new(t)));
            }
        }
        if pending.len() >= LAUNCH_BATCH || last {
            let made = aggregates::create_many::<VisitTask>(
                s,
                std::mem::take(&mut pending),
                c.actor.clone(),
                state.clock.now(),
            )
            .await?;
            progress.made += made.len() as u64;
            progress.last_task = made
                .iter()
                .map(|t| t.id)
                .max()
                .unwrap_or(progress.last_task);
            progress.through = after;
            camp = aggregates::execute::<Campaign>(
                s,
                Some(id),
                CampaignCommand::Generated(progress),
                c.actor.clone(),
                state.clock.now(),
                Some(camp.version),
            )
            .await?;
        }
        if last {
            break;
        }
    }
    let v = aggregates::execute::<Campaign>(
        s,
        Some(id),
        CampaignCommand::Launch,
        c.actor.clone(),
        state.clock.now(),
        Some(camp.version),
    )
    .await?;
    tracing::info!(
        campaign = id,
        frozen = v.state.frozen,
        "visit campaign launched"
    );
    Ok(campaign_view(v))
}

/// Ends a running campaign.
pub async fn end(state: &AppState, c: &Caller, id: u64, reason: String) -> ApiResult<CampaignView> {
    let camp = campaign(state, id).await?;
    may_organise(c, &camp.state.plan)?;
    let v = aggregates::execute::<Campaign>(
        state.store.as_ref(),
        Some(id),
        CampaignCommand::End { reason },
        c.actor.clone(),
        state.clock.now(),
        Some(camp.version),
    )
    .await?;
    Ok(campaign_view(v))
}

/// Households registered after a campaign launched get a task marked as added (so they are
/// visited, and counted apart from the frozen denominator). Called by the registry.
pub async fn registered(
    state: &AppState,
    c: &Caller,
    households: &[Versioned<Household>],
) -> ApiResult<()> {
    if households.is_empty() {
        return Ok(());
    }
    let running = running(state).await?;
    if running.is_empty() {
        return Ok(());
    }
    let cat = state.store.catalog();
    let carriers = Carriers::load(state).await?;
    let mut cmds = Vec::new();
    for camp in &running {
        for h in households {
            let cadre = carriers.of(h.id, &h.state.at);
            if let Some(t) = task_for(
                camp.id,
                &camp.state.plan,
                h,
                cadre,
                false,
                cat.ctx().calendar,
            )? {
                cmds.push(VisitTaskCommand::Generate(Box::new(t)));
            }
        }
    }
    for chunk in cmds.chunks(LAUNCH_BATCH) {
        aggregates::create_many::<VisitTask>(
            state.store.as_ref(),
            chunk.to_vec(),
            system(c),
            state.clock.now(),
        )
        .await?;
    }
    Ok(())
}

/// The actor the registry's follow-up work runs as: the caller when an organiser, else the
/// server on their behalf.
fn system(c: &Caller) -> bihuan_domain::Actor {
    let mut a = c.actor.clone();
    if !organises(c) {
        a.role = Role::Dispatcher;
        a.name = format!("{}（入户听诉）", a.name);
    }
    a
}

// ---------------------------------------------------------------------------------------------
// Coverage

/// The level a coverage table is counted at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Township,
    Village,
    Grid,
    Cadre,
}

impl Level {
    fn prefix(self) -> &'static str {
        match self {
            Level::Township => "t",
            Level::Village => "v",
            Level::Grid => "g",
            Level::Cadre => "c",
        }
    }
}

/// One row of a coverage table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoverageRow {
    /// The unit's id (the cadre's user id at the cadre level; 0: nobody carries them).
    pub id: u32,
    pub name: String,
    #[serde(flatten)]
    pub coverage: Coverage,
    /// 走访覆盖率 (%), if any household is owed.
    pub rate: Option<f64>,
}

/// A campaign's coverage table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoverageTable {
    pub campaign: CampaignView,
    pub total: CoverageRow,
    pub rows: Vec<CoverageRow>,
    /// 入户诉求办结率: the appeals this campaign's visits raised, those closed, and the share.
    pub appeals: u64,
    pub appeals_closed: u64,
    pub appeals_closed_rate: Option<f64>,
}

/// Parses `{campaign}|{level}{unit}|rest` into the unit and the rest.
fn split_value<'a>(v: &'a str, camp: u64, prefix: &str) -> Option<(u32, &'a str)> {
    let rest = v.strip_prefix(&format!("{camp}|{prefix}"))?;
    let (unit, rest) = rest.split_once('|')?;
    Some((unit.parse().ok()?, rest))
}

/// The coverage of campaign `id` by `level`, within the caller's reach.
/// Campaign `id`'s coverage of every unit (or cadre) of `level`, by its id, from the tallies of
/// the tasks' and visits' index entries (unscoped: the caller decides who sees which).
pub async fn unit_coverage(
    state: &AppState,
    id: u64,
    level: Level,
) -> ApiResult<HashMap<u32, Coverage>> {
    let s = state.store.as_ref();
    let mut by: HashMap<u32, Coverage> = HashMap::new();
    let p = level.prefix();
    for (v, n) in aggregates::tally::<VisitTask>(s, "cov", &format!("{id}|{p}")).await? {
        if let Some((unit, flag)) = split_value(&v, id, p) {
            by.entry(unit).or_default().add_flag(flag, n);
        }
    }
    for (v, n) in aggregates::tally::<Visit>(s, "need", &format!("{id}|{p}")).await? {
        if let Some((unit, rest)) = split_value(&v, id, p) {
            let kind = rest.split('|').next().unwrap_or("");
            by.entry(unit).or_default().add_need(kind, n);
        }
    }
    Ok(by)
}

pub async fn coverage(
    state: &AppState,
    c: &Caller,
    id: u64,
    level: Level,
) -> ApiResult<CoverageTable> {
    let reach = Reach::of(c)?;
    let camp = campaign(state, id).await?;
    let cat = state.store.catalog();
    let s = state.store.as_ref();
    let by = unit_coverage(state, id, level).await?;
    let users: HashMap<u32, (String, UnitId)> = if level == Level::Cadre {
        state
            .store
            .users()
            .await?
            .into_iter()
            .map(|u| (u.id.0, (u.name, u.unit)))
            .collect()
    } else {
        HashMap::new()
    };
    let mut rows: Vec<CoverageRow> = by
        .into_iter()
        .filter(|(unit, _)| match level {
            Level::Cadre => {
                users
                    .get(unit)
                    .is_some_and(|(_, u)| reach_has_unit(&cat, reach, *u))
                    || (*unit == 0 && reach == Reach::County)
            }
            _ => reach_has_unit(&cat, reach, UnitId(*unit)),
        })
        .map(|(unit, coverage)| CoverageRow {
            id: unit,
            name: match level {
                Level::Cadre if unit == 0 => "（未安排包户干部）".to_string(),
                Level::Cadre => users.get(&unit).map(|u| u.0.clone()).unwrap_or_default(),
                _ => cat
                    .org
                    .get(UnitId(unit))
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
            },
            rate: coverage.rate(),
            coverage,
        })
        .collect();
    if level == Level::Cadre {
        // Cadres are listed, not ranked: by name (no points rankings of staff).
        rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    } else {
        // Units from the lowest coverage up: where to push first.
        rows.sort_by(|a, b| {
            a.rate
                .partial_cmp(&b.rate)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.id.cmp(&b.id))
        });
    }
    // The total: the county's, or the sum of the caller's rows.
    let mut total = Coverage::default();
    if reach == Reach::County {
        for (v, n) in aggregates::tally::<VisitTask>(s, "cov", &format!("{id}|a|")).await? {
            if let Some(flag) = v.rsplit('|').next() {
                total.add_flag(flag, n);
            }
        }
        for (v, n) in aggregates::tally::<Visit>(s, "need", &format!("{id}|a|")).await? {
            if let Some((_, rest)) = v.split_once("|a|") {
                total.add_need(rest.split('|').next().unwrap_or(""), n);
            }
        }
    } else if level != Level::Cadre {
        for r in &rows {
            let x = r.coverage;
            total.households += x.households;
            total.visited += x.visited;
            total.added += x.added;
            total.added_visited += x.added_visited;
            total.needs += x.needs;
            total.answered += x.answered;
            total.raised += x.raised;
        }
    }
    // The appeals this campaign's visits raised, within the caller's reach, and those closed.
    let raised: Vec<bihuan_domain::AppealId> =
        aggregates::tally::<Visit>(s, "raised", &format!("{id}|"))
            .await?
            .into_iter()
            .filter_map(|(v, _)| v.rsplit('|').next()?.parse().ok())
            .map(bihuan_domain::AppealId)
            .collect();
    let mut filter = bihuan_store::AppealFilter {
        ids: Some(raised),
        ..Default::default()
    };
    if let Reach::Township(t) = reach {
        filter.township = Some(t);
    }
    c.scope(&mut filter);
    let appeals = state.store.count(filter.clone()).await?;
    filter.status = vec![bihuan_domain::Status::Closed];
    let appeals_closed = if appeals > 0 {
        state.store.count(filter).await?
    } else {
        0
    };
    Ok(CoverageTable {
        campaign: campaign_view(camp),
        total: CoverageRow {
            id: 0,
            name: "合计".into(),
            rate: total.rate(),
            coverage: total,
        },
        rows,
        appeals,
        appeals_closed,
        appeals_closed_rate: (appeals > 0).then(|| 100.0 * appeals_closed as f64 / appeals as f64),
    })
}

/// Which households a drill-down lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// Owed (frozen) and not yet met: 未走访.
    NotVisited,
    /// Owed and met.
    Visited,
    /// Registered after the launch, not yet met.
    AddedNotVisited,
    /// Registered after the launch and met.
    AddedVisited,
}

impl Which {
    fn flag(self) -> &'static str {
        match self {
            Which::NotVisited => "f0",
            Which::Visited => "f1",
            Which::AddedNotVisited => "n0",
            Which::AddedVisited => "n1",
        }
    }
}

/// The drill-down's query: a unit (`t12`, `v30`, `g31`, `c7`, or `a` for the county).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DrillQuery {
    /// 单位：a（全县）、t乡镇、v村（社区）、g网格、c干部，如 g31
    pub unit: Option<String>,
    /// not_visited（默认）、visited、added_not_visited、added_visited
    pub which: Option<Which>,
    pub after: Option<u64>,
    /// 每页条数（1–500，默认100）
    pub limit: Option<u32>,
}

/// A task as listed: with its household (masked) and cadre.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    pub id: u64,
    #[serde(flatten)]
    pub task: VisitTask,
    pub campaign_name: String,
    pub address: String,
    pub head: String,
    pub phone: Option<String>,
    pub grid_name: String,
    pub cadre_name: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub next_due: Option<chrono::NaiveDate>,
    /// The next due date has passed.
    pub overdue: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskPage {
    pub items: Vec<TaskView>,
    pub next_after: Option<u64>,
}

async fn task_views(
    state: &AppState,
    tasks: Vec<Versioned<VisitTask>>,
    full: impl Fn(&VisitTask) -> bool,
) -> ApiResult<Vec<TaskView>> {
    let cat = state.store.catalog();
    let ids: Vec<u64> = tasks.iter().map(|t| t.state.household).collect();
    let homes = aggregates::load_many::<Household>(state.store.as_ref(), &ids).await?;
    let mut camps: HashMap<u64, String> = HashMap::new();
    let users: HashMap<u32, String> = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.id.0, u.name))
        .collect();
    let today = bihuan_domain::time::local_date(state.clock.now());
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let std::collections::hash_map::Entry::Vacant(e) = camps.entry(t.state.campaign) {
            let name = campaign(state, t.state.campaign)
                .await
                .map(|c| c.state.plan.name)
                .unwrap_or_default();
            e.insert(name);
        }
        let (address, head, phone) = match homes.get(&t.state.household) {
            Some(h) if full(&t.state) => (
                h.state.facts.address.clone(),
                h.state.facts.head.clone(),
                h.state.facts.phone.as_ref().map(|p| p.expose().to_string()),
            ),
            Some(h) => {
                use bihuan_domain::redact::Redact;
                (
                    h.state.facts.address.clone(),
                    bihuan_domain::appeal::mask_name(&h.state.facts.head),
                    h.state
                        .facts
                        .phone
                        .as_ref()
                        .map(|p| p.redacted().to_string()),
                )
            }
            None => (String::new(), String::new(), None),
        };
        let next_due = t.state.next_due();
        out.push(TaskView {
            id: t.id,
            campaign_name: camps[&t.state.campaign].clone(),
            address,
            head,
            phone,
            grid_name: cat
                .org
                .get(t.state.at.grid)
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            cadre_name: t.state.cadre.and_then(|u| users.get(&u.0).cloned()),
            next_due,
            overdue: next_due.is_some_and(|d| d < today),
            task: t.state,
        });
    }
    Ok(out)
}

fn limit_of(l: Option<u32>) -> ApiResult<u32> {
    let limit = l.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            ErrorCode::BadQuery,
            "limit 须在1到500之间",
        ));
    }
    Ok(limit)
}

/// The households behind one coverage figure (not visited by default), with their cadre.
pub async fn drill(state: &AppState, c: &Caller, id: u64, q: &DrillQuery) -> ApiResult<TaskPage> {
    let reach = Reach::of(c)?;
    campaign(state, id).await?;
    let unit = q.unit.as_deref().unwrap_or("a").trim();
    let ok = unit == "a"
        || ["t", "v", "g", "c"].iter().any(|p| {
            unit.strip_prefix(p)
                .is_some_and(|n| n.parse::<u32>().is_ok())
        });
    if !ok {
        return Err(ApiError::bad_request(
            ErrorCode::BadQuery,
            "unit 应为 a（全县）或 t/v/g/c 加编号，如 g31",
        ));
    }
    let limit = limit_of(q.limit)?;
    let which = q.which.unwrap_or(Which::NotVisited);
    let value = format!("{id}|{unit}|{}", which.flag());
    let mut items = Vec::new();
    let mut after = q.after.unwrap_or(0);
    let mut next_after = None;
    'pages: loop {
        let batch =
            aggregates::find::<VisitTask>(state.store.as_ref(), "cov", &value, after, 500).await?;
        let last = batch.len() < 500;
        for t in batch {
            after = t.id;
            if reach.covers(&t.state.at) {
                items.push(t);
                if items.len() == limit as usize {
                    next_after = Some(after);
                    break 'pages;
                }
            }
        }
        if last {
            break;
        }
    }
    let items = task_views(state, items, |_| false).await?;
    Ok(TaskPage { items, next_after })
}

// ---------------------------------------------------------------------------------------------
// Tasks and visits

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct TaskQuery {
    /// 干部（用户编号；默认本人，安排走访的人员可查看本辖区干部）
    pub cadre: Option<u32>,
    /// 只看某次活动
    pub campaign: Option<u64>,
    /// 含已完成的任务
    #[serde(default)]
    pub all: bool,
}

/// A cadre's tasks in running campaigns (their own by default), the next due first. The
/// cadre sees the head and phone in full: they are the ones who go to the door.
pub async fn tasks(state: &AppState, c: &Caller, q: &TaskQuery) -> ApiResult<Vec<TaskView>> {
    let me = c.user.id.0;
    let cadre = q.cadre.unwrap_or(me);
    let reach = if cadre != me {
        Some(organiser(c)?)
    } else {
        None
    };
    let running: HashSet<u64> = running(state).await?.iter().map(|c| c.id).collect();
    let mut mine: Vec<Versioned<VisitTask>> =
        aggregates::find_all::<VisitTask>(state.store.as_ref(), "cadre", &cadre.to_string(), 0)
            .await?
            .into_iter()
            .filter(|t| {
                running.contains(&t.state.campaign)
                    && q.campaign.is_none_or(|x| x == t.state.campaign)
                    && (q.all || t.state.next_due().is_some())
                    && reach.is_none_or(|r| r.covers(&t.state.at))
            })
            .collect();
    mine.sort_by_key(|t| (t.state.next_due().is_none(), t.state.next_due(), t.id));
    task_views(state, mine, |t| t.cadre == Some(c.user.id)).await
}

/// A visit as typed on the phone.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitInput {
    pub household: u64,
    /// The campaign (default: the running campaign with a task for this household).
    #[serde(default)]
    pub campaign: Option<u64>,
    /// When the visit took place (default: now).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub visited_at: Option<bihuan_domain::time::Instant>,
    pub outcome: Outcome,
    #[serde(default)]
    pub heard: Vec<String>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub needs: Vec<NeedInput>,
    /// Return visits (回访) of the household's appeals raised at earlier visits and now
    /// replied, done at the door.
    #[serde(default)]
    pub return_visits: Vec<ReturnVisitInput>,
    /// The phone's draft id (letters, digits, `-`): the same draft sent twice is one visit.
    pub draft: String,
}

/// A return visit done at the door.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnVisitInput {
    /// 工单编号（或数字ID）
    pub appeal: String,
    /// 问题是否解决
    pub resolved: bool,
    pub rating: bihuan_domain::lifecycle::Rating,
    #[serde(default)]
    pub comment: String,
}

/// The household's appeals raised at its visits that now await their return visit (for the
/// visit form: 回访办 at the next visit).
pub async fn awaiting_return_visit(
    state: &AppState,
    household: u64,
) -> ApiResult<Vec<bihuan_domain::Appeal>> {
    let visits = aggregates::find::<Visit>(
        state.store.as_ref(),
        "household",
        &household.to_string(),
        0,
        500,
    )
    .await?;
    let mut out = Vec::new();
    for v in visits {
        for a in v.state.needs.iter().filter_map(|n| n.appeal.as_ref()) {
            if let Ok(appeal) = state
                .store
                .appeal(bihuan_store::AppealRef::Id(bihuan_domain::AppealId(a.id)))
                .await
            {
                if appeal.status == bihuan_domain::Status::Replied {
                    out.push(appeal);
                }
            }
        }
    }
    Ok(out)
}

/// A need found at the door.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NeedInput {
    pub text: String,
    /// `on_spot` (当场解答, with `answer`) or `appeal` (转为诉求, with `class`).
    pub handling: String,
    #[serde(default)]
    pub answer: String,
    #[serde(default)]
    pub class: String,
}

/// A visit as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VisitView {
    pub id: u64,
    #[serde(flatten)]
    pub visit: VisitRecord,
    pub outcome_label: String,
    /// This draft had been sent before: the visit it made.
    pub duplicate: bool,
}

fn visit_view(v: Versioned<Visit>, duplicate: bool) -> VisitView {
    VisitView {
        id: v.id,
        outcome_label: v.state.outcome.label().to_string(),
        visit: v.state,
        duplicate,
    }
}

/// Whether the caller may visit (and see the visits of) this household: its cadre, or the
/// registry's keepers of its grid, village or township, or the centre.
pub async fn may_visit(state: &AppState, c: &Caller, h: &Versioned<Household>) -> ApiResult<bool> {
    if Reach::of(c).is_ok_and(|r| r.covers(&h.state.at)) {
        return Ok(true);
    }
    Ok(cadre_of(state, h.id, &h.state.at).await? == Some(c.user.id))
}

/// Records a visit (once per draft), updates the household's task and raises the needs meant
/// as appeals.
pub async fn record(state: &AppState, c: &Caller, input: VisitInput) -> ApiResult<VisitView> {
    let _one = WRITE_LOCK.lock().await;
    let s = state.store.as_ref();
    let now = state.clock.now();
    let draft_key = format!("{}|{}", c.user.id.0, input.draft.trim());
    if let Some(v) = aggregates::find::<Visit>(s, "draft", &draft_key, 0, 1)
        .await?
        .pop()
    {
        // Sent again (a phone back online): the visit it made, with any appeal not yet raised.
        let v = raise_needs(state, c, v).await?;
        return Ok(visit_view(v, true));
    }
    let home = match aggregates::load::<Household>(s, input.household).await {
        Ok(h) if h.state.removed.is_none() && may_visit(state, c, &h).await? => h,
        _ => return Err(ApiError::not_found("没有这一户（或不在您的走访范围内）")),
    };
    // The campaign and its task.
    let running = running(state).await?;
    let tasks = aggregates::find::<VisitTask>(s, "household", &home.id.to_string(), 0, 100).await?;
    let camp = match input.campaign {
        Some(id) => Some(
            running
                .iter()
                .find(|x| x.id == id)
                .cloned()
                .ok_or_else(|| {
                    ApiError::from(DomainError::invalid("campaign", "这次走访活动不在进行中"))
                })?,
        ),
        None => running
            .iter()
            .find(|x| tasks.iter().any(|t| t.state.campaign == x.id))
            .or_else(|| running.iter().find(|x| x.state.plan.covers(&home.state.at)))
            .cloned(),
    };
    let mut task = camp
        .as_ref()
        .and_then(|x| tasks.iter().find(|t| t.state.campaign == x.id).cloned());
    if let (Some(x), None) = (&camp, &task) {
        // A household registered since the launch, not yet given its task: it is now.
        let cadre = cadre_of(state, home.id, &home.state.at).await?;
        let cal = state.store.catalog();
        if let Some(t) = task_for(x.id, &x.state.plan, &home, cadre, false, cal.ctx().calendar)? {
            task = Some(
                aggregates::execute::<VisitTask>(
                    s,
                    None,
                    VisitTaskCommand::Generate(Box::new(t)),
                    system(c),
                    now,
                    Some(0),
                )
                .await?,
            );
        }
    }
    let topics = camp.as_ref().map_or_else(
        || DEFAULT_TOPICS.iter().map(|t| t.to_string()).collect(),
        |x| x.state.plan.topics.clone(),
    );
    let mut needs = Vec::with_capacity(input.needs.len());
    for n in input.needs {
        let handling = match n.handling.as_str() {
            "on_spot" => bihuan_domain::visits::Handling::OnSpot { answer: n.answer },
            "appeal" => bihuan_domain::visits::Handling::Appeal { class: n.class },
            other => {
                return Err(ApiError::from(DomainError::invalid(
                    "handling",
                    format!("办理方式「{other}」应为 on_spot（当场解答）或 appeal（转为诉求）"),
                )))
            }
        };
        needs.push(Need {
            text: n.text,
            handling,
            appeal: None,
        });
    }
    // 回访 at the door: only appeals this household raised at a visit, awaiting their return
    // visit, checked before anything is recorded.
    let mut return_visits = Vec::with_capacity(input.return_visits.len());
    let mut to_visit = Vec::new();
    for r in &input.return_visits {
        let not_here = || {
            ApiError::from(DomainError::invalid(
                "return_visits",
                format!("工单「{}」不是本户入户走访时反映、待回访的诉求", r.appeal),
            ))
        };
        let appeal = match crate::appeals::parse_ref(r.appeal.trim()) {
            Ok(key) => state.store.appeal(key).await.map_err(|_| not_here())?,
            Err(_) => return Err(not_here()),
        };
        let raised_here = raised_by(state, appeal.id.0)
            .await?
            .iter()
            .any(|v| v.state.household == home.id);
        if !raised_here || appeal.status != bihuan_domain::Status::Replied {
            return Err(not_here());
        }
        return_visits.push(bihuan_domain::visits::DoorReturnVisit {
            appeal: RaisedAppeal {
                id: appeal.id.0,
                number: appeal.number.to_string(),
            },
            resolved: r.resolved,
            rating: r.rating,
            comment: r.comment.clone(),
        });
        to_visit.push(appeal);
    }
    let rec = VisitRecord {
        household: home.id,
        at: home.state.at,
        campaign: camp.as_ref().map(|x| x.id),
        task: task.as_ref().map(|t| t.id),
        cadre: c.user.id,
        cadre_name: c.user.name.clone(),
        visited_at: input.visited_at.unwrap_or(now),
        outcome: input.outcome,
        heard: input.heard,
        note: input.note,
        needs,
        return_visits,
        draft: input.draft,
    };
    let v = aggregates::execute::<Visit>(
        s,
        None,
        VisitCommand::Record {
            record: Box::new(rec),
            topics,
            classes: class_codes(),
        },
        c.actor.clone(),
        now,
        Some(0),
    )
    .await?;
    if let Some(t) = task {
        aggregates::execute::<VisitTask>(
            s,
            Some(t.id),
            VisitTaskCommand::Record {
                visit: v.id,
                outcome: v.state.outcome,
            },
            c.actor.clone(),
            now,
            None,
        )
        .await?;
    }
    // Each return visit is the appeal's own step, by the server on the cadre's behalf.
    for (appeal, r) in to_visit.iter().zip(&v.state.return_visits) {
        let mut sys = c.clone();
        sys.actor.role = Role::System;
        sys.actor.name = format!("入户回访（{}）", c.user.name);
        let comment = if r.comment.is_empty() {
            format!("{} 入户走访时当面回访", c.user.name)
        } else {
            format!("入户当面回访：{}", r.comment)
        };
        let cmd = bihuan_domain::Command::ReturnVisit(bihuan_domain::lifecycle::ReturnVisit {
            contacted: true,
            resolved: Some(r.resolved),
            rating: Some(r.rating),
            comment,
        });
        crate::app::act(state, &sys, &appeal.number.to_string(), cmd, appeal.version).await?;
    }
    let v = raise_needs(state, c, v).await?;
    tracing::debug!(
        visit = v.id,
        household = home.id,
        user = c.user.id.0,
        "visit recorded"
    );
    Ok(visit_view(v, false))
}

/// Registers every need of `v` meant as an appeal and not yet raised (idempotently: the key
/// is the visit and the need), and links it.
async fn raise_needs(
    state: &AppState,
    c: &Caller,
    mut v: Versioned<Visit>,
) -> ApiResult<Versioned<Visit>> {
    let classes = classes();
    let mut home: Option<Versioned<Household>> = None;
    for i in 0..v.state.needs.len() {
        let n = &v.state.needs[i];
        let bihuan_domain::visits::Handling::Appeal { class } = &n.handling else {
            continue;
        };
        if n.appeal.is_some() {
            continue;
        }
        let home = match &home {
            Some(h) => h.clone(),
            None => {
                let h =
                    aggregates::load::<Household>(state.store.as_ref(), v.state.household).await?;
                home.insert(h).clone()
            }
        };
        let class = classes.iter().find(|x| &x.code == class);
        let title: String = n.text.chars().take(30).collect();
        let new = NewAppeal {
            channel: Channel::HouseholdVisit,
            kind: Kind::Help,
            urgency: class.map_or(bihuan_domain::Urgency::Normal, |x| x.urgency),
            category: None,
            title: format!(
                "【入户走访·{}】{title}",
                class.map_or("", |x| x.name.as_str())
            ),
            content: format!(
                "{}\n（{} 于 {} 入户走访时收集，住户编号 {}，走访编号 {}）",
                n.text,
                v.state.cadre_name,
                bihuan_domain::time::format_local(v.state.visited_at),
                v.state.household,
                v.id
            ),
            place: Place {
                address: home.state.facts.address.clone(),
                township: Some(home.state.at.township),
                village: home.state.at.village,
                grid: Some(home.state.at.grid),
                coordinates: None,
            },
            citizen: Citizen {
                name: Some(home.state.facts.head.clone()),
                phone: home.state.facts.phone.clone(),
                organisation: None,
            },
            accused_units: vec![],
            accused_persons: vec![],
            group: None,
            forwarded_from: None,
            repeat_of: None,
        };
        // Registered as the cadre, or by the server on their behalf (a department's cadre).
        let registrar = crate::app::registrar(c, "入户走访");
        let key = format!("visit:{}:{i}", v.id);
        let r = crate::app::register(state, &registrar, new, Some(key)).await?;
        v = aggregates::execute::<Visit>(
            state.store.as_ref(),
            Some(v.id),
            VisitCommand::Raised {
                need: i,
                appeal: RaisedAppeal {
                    id: r.appeal.id.0,
                    number: r.appeal.number.to_string(),
                },
            },
            c.actor.clone(),
            state.clock.now(),
            None,
        )
        .await?;
    }
    Ok(v)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct VisitQuery {
    /// 住户编号
    pub household: Option<u64>,
    pub after: Option<u64>,
    /// 每页条数（1–500，默认100）
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VisitPage {
    pub items: Vec<VisitView>,
    pub next_after: Option<u64>,
}

/// Visits of one household (if the caller may see it), or the caller's own.
pub async fn visits(state: &AppState, c: &Caller, q: &VisitQuery) -> ApiResult<VisitPage> {
    let limit = limit_of(q.limit)?;
    let (key, value) = match q.household {
        Some(h) => {
            match aggregates::load::<Household>(state.store.as_ref(), h).await {
                Ok(home) if may_visit(state, c, &home).await? => {}
                _ => return Err(ApiError::not_found("没有这一户（或不在您的走访范围内）")),
            }
            ("household", h.to_string())
        }
        None => ("cadre", c.user.id.0.to_string()),
    };
    let batch = aggregates::find::<Visit>(
        state.store.as_ref(),
        key,
        &value,
        q.after.unwrap_or(0),
        limit,
    )
    .await?;
    let next_after = (batch.len() == limit as usize)
        .then(|| batch.last().map(|v| v.id))
        .flatten();
    Ok(VisitPage {
        items: batch.into_iter().map(|v| visit_view(v, false)).collect(),
        next_after,
    })
}

/// One visit, to a caller who may see its household.
pub async fn visit(state: &AppState, c: &Caller, id: u64) -> ApiResult<VisitView> {
    let s = state.store.as_ref();
    let nf = || ApiError::not_found("没有这次走访（或不在您的走访范围内）");
    let v = aggregates::load::<Visit>(s, id).await.map_err(|_| nf())?;
    if v.state.cadre != c.user.id {
        let home = aggregates::load::<Household>(s, v.state.household)
            .await
            .map_err(|_| nf())?;
        if !may_visit(state, c, &home).await? {
            return Err(nf());
        }
    }
    Ok(visit_view(v, false))
}

/// 现场照片 of need `need` (from 0) of visit `id`, stored with the appeal it raised: only ever
/// offered, never asked for (国务院办公厅's rules on government apps forbid forced photo
/// uploads), and only by the cadre who made the visit, while the appeal is open.
pub async fn attach_photos(
    state: &AppState,
    c: &Caller,
    id: u64,
    need: usize,
    files: Vec<(String, Vec<u8>)>,
) -> ApiResult<Vec<bihuan_store::Attachment>> {
    let v = aggregates::load::<Visit>(state.store.as_ref(), id)
        .await
        .map_err(|_| ApiError::not_found("没有这次走访"))?;
    if v.state.cadre != c.user.id {
        return Err(ApiError::forbidden(
            ErrorCode::UploadForbidden,
            "只有走访人本人可以为这次走访收集的诉求补充照片",
        ));
    }
    let n = v
        .state
        .needs
        .get(need)
        .ok_or_else(|| ApiError::not_found("这次走访没有这条诉求"))?;
    let Some(raised) = &n.appeal else {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidInput,
            "这条诉求没有转为工单：当场解答的诉求不需要照片",
        ));
    };
    let appeal = state
        .store
        .appeal(bihuan_store::AppealRef::Id(bihuan_domain::AppealId(
            raised.id,
        )))
        .await?;
    if appeal.status.is_terminal() {
        return Err(ApiError::unprocessable(
            ErrorCode::UploadForbidden,
            format!("工单 {} 已办结，不能再补充照片", raised.number),
        ));
    }
    for (name, data) in &files {
        let (_, mime) = bihuan_store::sniff(name, data).map_err(ApiError::from)?;
        if !mime.starts_with("image/") {
            return Err(ApiError::unprocessable(
                ErrorCode::FileTypeNotAllowed,
                format!(
                    "“{}”不是图片：现场照片请选 JPEG、PNG、GIF 或 WebP 图片",
                    name.trim()
                ),
            ));
        }
    }
    crate::attachments::store_allowed(state, c, &appeal, files).await
}

/// The visits that raised appeal `id` (for the appeal's page).
pub async fn raised_by(state: &AppState, appeal: u64) -> ApiResult<Vec<Versioned<Visit>>> {
    Ok(
        aggregates::find::<Visit>(state.store.as_ref(), "appeal", &appeal.to_string(), 0, 10)
            .await?,
    )
}

// ---------------------------------------------------------------------------------------------
// The API

async fn cadres_api(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<CadreView>>> {
    Ok(Json(cadres(&state, &caller).await?))
}

async fn assign_api(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<AssignBody>,
) -> ApiResult<Json<Assignment>> {
    Ok(Json(assign(&state, &caller, b).await?.state))
}

async fn campaigns_api(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<Json<Vec<CampaignView>>> {
    Ok(Json(campaigns(&state).await?))
}

async fn plan_api(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(p): JsonBody<CampaignPlan>,
) -> ApiResult<(StatusCode, Json<CampaignView>)> {
    Ok((StatusCode::CREATED, Json(plan(&state, &caller, p).await?)))
}

async fn campaign_api(
    State(state): State<AppState>,
    _caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(campaign_view(campaign(&state, id).await?)))
}

async fn launch_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(launch(&state, &caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndBody {
    /// 结束原因，如 活动期满
    pub reason: String,
}

async fn end_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<EndBody>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(end(&state, &caller, id, b.reason).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CoverageQuery {
    /// township（默认）、village、grid、cadre
    pub level: Option<Level>,
}

async fn coverage_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    QueryParams(q): QueryParams<CoverageQuery>,
) -> ApiResult<Json<CoverageTable>> {
    Ok(Json(
        coverage(&state, &caller, id, q.level.unwrap_or(Level::Township)).await?,
    ))
}

async fn drill_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    QueryParams(q): QueryParams<DrillQuery>,
) -> ApiResult<Json<TaskPage>> {
    Ok(Json(drill(&state, &caller, id, &q).await?))
}

async fn tasks_api(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<TaskQuery>,
) -> ApiResult<Json<Vec<TaskView>>> {
    Ok(Json(tasks(&state, &caller, &q).await?))
}

async fn visits_api(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<VisitQuery>,
) -> ApiResult<Json<VisitPage>> {
    Ok(Json(visits(&state, &caller, &q).await?))
}

async fn record_api(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<VisitInput>,
) -> ApiResult<(StatusCode, Json<VisitView>)> {
    let v = record(&state, &caller, b).await?;
    let status = if v.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(v)))
}

async fn visit_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<VisitView>> {
    Ok(Json(visit(&state, &caller, id).await?))
}

/// `POST /api/v1/visits/{id}/needs/{need}/photos`: multipart `file` parts; `need` counts from 1
/// as the visit page shows it.
async fn photos_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, need)): PathParams<(u64, usize)>,
    crate::error::MultipartBody(mp): crate::error::MultipartBody,
) -> ApiResult<impl axum::response::IntoResponse> {
    let files = crate::attachments::read_files(mp).await?;
    let index = need
        .checked_sub(1)
        .ok_or_else(|| ApiError::not_found("诉求序号从1开始"))?;
    let stored = attach_photos(&state, &caller, id, index, files).await?;
    let items = stored
        .iter()
        .map(|f| crate::views::AttachmentView::new(f, crate::views::Disclosure::Full))
        .collect();
    Ok((StatusCode::CREATED, Json(crate::views::Items { items })))
}
