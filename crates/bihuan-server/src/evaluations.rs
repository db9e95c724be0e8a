//! 四比 and 公开晾晒: evaluation schemes with their versioned formulas, the evaluation of each
//! period, and the published snapshots — the use cases the API (`/api/v1/evaluations`), the
//! console (`/evaluations`) and the public board (`/board/evaluations`) share.
//!
//! Until an evaluation is published its standings are computed when read, from the figures the
//! platform has for each unit over the period ([`subjects`]): the appeal rates of the rollups,
//! the progress of the unit's campaign items, the coverage of the household-visit campaigns
//! that ran in the period, the on-time rate of the petitions the unit held, and the township's
//! figures in the telephone surveys fielded in the period. Publishing computes them once more and freezes them, with the
//! formula, in the evaluation's event; the public board reads only that.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::aggregate::Versioned;
use bihuan_domain::campaign::{Campaign, ItemStatus};
use bihuan_domain::evaluation::{
    score, Cadence, Evaluation, EvaluationCommand, Formula, FormulaDraft, Indicator, Observation,
    Scheme, SchemeCommand, Standing, Subject,
};
use bihuan_domain::lifecycle::Role;
use bihuan_domain::metrics::{self, Period, Rate, Scope};
use bihuan_domain::org::UnitId;
use bihuan_domain::survey::{Indicator as SurveyIndicator, Survey};
use bihuan_domain::time::{end_of_day, local_date, Instant};
use bihuan_domain::ErrorCode;
use bihuan_store::aggregates;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, JsonBody, PathParams, QueryParams};
use crate::report::{self, By};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/evaluations/schemes",
            get(schemes_api).post(create_scheme_api),
        )
        .route("/api/v1/evaluations/schemes/{id}", get(scheme_api))
        .route("/api/v1/evaluations/schemes/{id}/formula", post(revise_api))
        .route("/api/v1/evaluations", get(list_api).post(open_api))
        .route("/api/v1/evaluations/published", get(published_api))
        .route("/api/v1/evaluations/published/{id}", get(published_one_api))
        .route("/api/v1/evaluations/{id}", get(evaluation_api))
        .route("/api/v1/evaluations/{id}/publish", post(publish_api))
}

/// Who runs evaluations: the centre, supervision, administrators.
pub fn configures(c: &Caller) -> bool {
    bihuan_domain::evaluation::CENTRE_ROLES.contains(&c.user.role)
}

/// Who reads evaluations before they are published: those who run them and the leaders.
fn may_read(c: &Caller) -> ApiResult<()> {
    if configures(c) || c.user.role == Role::Leader {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "评比结果公开晾晒前仅中心、督办和领导可以查看；已公开的结果见公开晾晒栏",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// The figures

fn observation(indicator: Indicator, r: Rate) -> Observation {
    Observation {
        indicator,
        value: r.value(),
        volume: r.den,
    }
}

/// Every unit that handles appeals (departments and townships) with its figures over
/// `first..=last`, read at `now` (or the period's end, if sooner, for campaign items).
pub async fn subjects(
    state: &AppState,
    first: NaiveDate,
    last: NaiveDate,
    now: Instant,
) -> ApiResult<Vec<Subject>> {
    let Some(period) = Period::days(first, last) else {
        return Err(ApiError::bad_request(ErrorCode::BadPeriod, "评比期间无效"));
    };
    let cat = state.store.catalog();
    let w = cat.weights;
    let groups = report::breakdown(state, By::Unit, &period, now, &cat, &w).await?;
    // 攻坚事项推进率: each unit's items of the campaigns that ran in the period, at its end.
    let mut items: HashMap<UnitId, Vec<f64>> = HashMap::new();
    for v in aggregates::find_all::<Campaign>(state.store.as_ref(), "", "", 0).await? {
        let c = &v.state;
        if c.starts > last || c.ends < first {
            continue;
        }
        let as_of = c.as_of(now.min(end_of_day(last)));
        let tallies = crate::campaigns::tallies(state, c, as_of).await?;
        for i in &c.items {
            let t = tallies.get(&i.no);
            if i.status(as_of, t) == ItemStatus::Withdrawn {
                continue;
            }
            items
                .entry(i.owner)
                .or_default()
                .push(i.progress_of(i.actual_at(as_of, t)));
        }
    }
    // 入户走访覆盖率: the household-visit campaigns that ran in the period, by township.
    let mut coverage: HashMap<u32, (u64, u64)> = HashMap::new();
    for vc in crate::visits::campaigns(state).await? {
        let p = &vc.campaign.plan;
        if vc.campaign.launched_at.is_none() || p.starts > last || p.ends < first {
            continue;
        }
        for (unit, cov) in
            crate::visits::unit_coverage(state, vc.id, crate::visits::Level::Township).await?
        {
            let e = coverage.entry(unit).or_default();
            e.0 += cov.households;
            e.1 += cov.visited;
        }
    }
    // 信访事项按期办结率: the petitions' reply rounds due in the period, by the unit that held
    // them. A petition's rounds fall due within a few months of its registration (60 days, 30
    // more if extended; a review is a case of its own), so a year back reaches every one.
    let petitions = report::petitions(
        state,
        period.start - chrono::Duration::days(366),
        period.end,
    )
    .await?;
    // 公众安全感满意率, 干部好评率: the telephone surveys whose fieldwork overlapped the period,
    // each township's strata pooled (favourable answers over answers, completes only).
    let mut surveyed: HashMap<(u32, Indicator), (u64, u64)> = HashMap::new();
    for v in aggregates::find_all::<Survey>(state.store.as_ref(), "", "", 0).await? {
        let (Some(fielded), closed) = (v.state.fielded_at, v.state.closed_at) else {
            continue;
        };
        if local_date(fielded) > last || closed.is_some_and(|c| local_date(c) < first) {
            continue;
        }
        let townships: HashMap<String, u32> = v
            .state
            .strata
            .iter()
            .filter_map(|st| Some((st.code.clone(), st.township?.0)))
            .collect();
        let results = crate::surveys::view_of(state, v).await?;
        for r in &results.results {
            let ind = match r.indicator {
                SurveyIndicator::Safety => Indicator::PublicSafety,
                SurveyIndicator::CadreApproval => Indicator::CadreApproval,
                _ => continue,
            };
            for st in &r.strata {
                if let Some(t) = townships.get(&st.code) {
                    let e = surveyed.entry((*t, ind)).or_default();
                    e.0 += st.favourable;
                    e.1 += st.answered;
                }
            }
        }
    }
    Ok(groups
        .into_iter()
        .filter_map(|g| {
            let unit = UnitId(g.key.parse().ok()?);
            let r = &g.rates;
            let mut obs = vec![
                observation(Indicator::OnTimeCompletion, r.on_time_completion),
                observation(Indicator::ClosedLoop, r.closed_loop),
                observation(Indicator::TimelyAcceptance, r.timely_acceptance),
                observation(Indicator::OneShot, r.one_shot),
                observation(Indicator::ReportIn, r.report_in),
                Observation {
                    indicator: Indicator::Satisfaction,
                    value: r.satisfaction,
                    volume: r.visits.visited,
                },
            ];
            if let Some(p) = items.get(&unit) {
                obs.push(Observation {
                    indicator: Indicator::CampaignProgress,
                    value: Some(p.iter().sum::<f64>() / p.len() as f64),
                    volume: p.len() as u64,
                });
            }
            if let Some((households, visited)) = coverage.get(&unit.0) {
                obs.push(observation(
                    Indicator::VisitCoverage,
                    Rate::new(*visited, *households),
                ));
            }
            let petition =
                metrics::on_time_completion(petitions.iter(), Scope::Lead(unit), &period, now);
            if petition.den > 0 {
                obs.push(observation(Indicator::PetitionOnTime, petition));
            }
            for ind in [Indicator::PublicSafety, Indicator::CadreApproval] {
                if let Some((yes, n)) = surveyed.get(&(unit.0, ind)) {
                    obs.push(observation(ind, Rate::new(*yes, *n)));
                }
            }
            Some(Subject {
                unit,
                name: g.name,
                observations: obs,
            })
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Schemes

/// A scheme with its formula in words.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SchemeView {
    pub id: u64,
    pub version: u64,
    pub name: String,
    pub cadence: Cadence,
    pub cadence_label: &'static str,
    /// The current formula (its `version` is the formula's).
    pub formula: Formula,
    pub formula_text: String,
    /// Every version, the first first.
    pub formulas: Vec<Formula>,
}

fn scheme_view(v: Versioned<Scheme>) -> SchemeView {
    SchemeView {
        id: v.id,
        version: v.version,
        cadence_label: v.state.cadence.label(),
        cadence: v.state.cadence,
        formula: v.state.current().clone(),
        formula_text: v.state.current().describe(),
        name: v.state.name.clone(),
        formulas: v.state.formulas,
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScheme {
    /// 方案名称，如 季度「红灰台」
    pub name: String,
    /// monthly、quarterly、half_year、yearly
    pub cadence: Cadence,
    pub formula: FormulaDraft,
}

pub async fn schemes(state: &AppState, c: &Caller) -> ApiResult<Vec<SchemeView>> {
    may_read(c)?;
    let mut v: Vec<SchemeView> = aggregates::find_all::<Scheme>(state.store.as_ref(), "", "", 0)
        .await?
        .into_iter()
        .map(scheme_view)
        .collect();
    v.sort_by_key(|s| (Cadence::ALL.iter().position(|c| *c == s.cadence), s.id));
    Ok(v)
}

async fn load_scheme(state: &AppState, id: u64) -> ApiResult<Versioned<Scheme>> {
    crate::error::load_or_404::<Scheme>(state.store.as_ref(), id, "没有这个评比方案").await
}

pub async fn scheme(state: &AppState, c: &Caller, id: u64) -> ApiResult<SchemeView> {
    may_read(c)?;
    Ok(scheme_view(load_scheme(state, id).await?))
}

pub async fn create_scheme(state: &AppState, c: &Caller, req: NewScheme) -> ApiResult<SchemeView> {
    let v = aggregates::execute::<Scheme>(
        state.store.as_ref(),
        None,
        SchemeCommand::Create {
            name: req.name,
            cadence: req.cadence,
            formula: req.formula,
        },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    Ok(scheme_view(v))
}

/// A new version of a scheme's formula; published results keep the version they were made by.
pub async fn revise(
    state: &AppState,
    c: &Caller,
    id: u64,
    formula: FormulaDraft,
) -> ApiResult<SchemeView> {
    load_scheme(state, id).await?;
    let v = aggregates::execute::<Scheme>(
        state.store.as_ref(),
        Some(id),
        SchemeCommand::Revise { formula },
        c.actor.clone(),
        state.clock.now(),
        None,
    )
    .await?;
    Ok(scheme_view(v))
}

// ---------------------------------------------------------------------------------------------
// Evaluations

/// An evaluation with its standings: frozen once published, computed now before.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EvaluationView {
    pub id: u64,
    pub version: u64,
    pub scheme: u64,
    pub scheme_name: String,
    pub cadence: Cadence,
    pub cadence_label: &'static str,
    /// 期间，如 2026年第三季度
    pub period: String,
    #[schema(value_type = String, format = Date)]
    pub first: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub last: NaiveDate,
    pub published: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub published_at: Option<Instant>,
    pub published_by: Option<String>,
    pub note: String,
    /// The formula of the result: the published one, or the scheme's current one.
    pub formula: Formula,
    pub formula_text: String,
    pub standings: Vec<Standing>,
    /// Computed as read (not yet published): later data still changes it.
    pub live: bool,
}

async fn load_evaluation(state: &AppState, id: u64) -> ApiResult<Versioned<Evaluation>> {
    crate::error::load_or_404::<Evaluation>(state.store.as_ref(), id, "没有这次评比").await
}

async fn evaluation_view(
    state: &AppState,
    v: Versioned<Evaluation>,
    compute: bool,
) -> ApiResult<EvaluationView> {
    let e = &v.state;
    let (formula, standings, live) = match &e.published {
        Some(s) => (s.formula.clone(), s.standings.clone(), false),
        None => {
            let scheme = load_scheme(state, e.scheme).await?;
            let f = scheme.state.current().clone();
            let standings = if compute {
                let subjects = subjects(state, e.first, e.last, state.clock.now()).await?;
                score(&f, &subjects)
            } else {
                Vec::new()
            };
            (f, standings, true)
        }
    };
    Ok(EvaluationView {
        id: v.id,
        version: v.version,
        scheme: e.scheme,
        scheme_name: e.scheme_name.clone(),
        cadence: e.cadence,
        cadence_label: e.cadence.label(),
        period: e.period.clone(),
        first: e.first,
        last: e.last,
        published: e.published.is_some(),
        published_at: e.published.as_ref().map(|s| s.published_at),
        published_by: e.published.as_ref().map(|s| s.published_by.clone()),
        note: e
            .published
            .as_ref()
            .map(|s| s.note.clone())
            .unwrap_or_default(),
        formula_text: formula.describe(),
        formula,
        standings,
        live,
    })
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct EvaluationQuery {
    /// 评比方案编号
    pub scheme: Option<u64>,
}

/// Every evaluation, the latest period first (without the live standings of drafts: open one
/// to compute them).
pub async fn evaluations(
    state: &AppState,
    c: &Caller,
    scheme: Option<u64>,
) -> ApiResult<Vec<EvaluationView>> {
    may_read(c)?;
    let rows = match scheme {
        Some(s) => {
            aggregates::find_all::<Evaluation>(state.store.as_ref(), "scheme", &s.to_string(), 0)
                .await?
        }
        None => aggregates::find_all::<Evaluation>(state.store.as_ref(), "", "", 0).await?,
    };
    let mut out = Vec::with_capacity(rows.len());
    for v in rows {
        out.push(evaluation_view(state, v, false).await?);
    }
    out.sort_by_key(|e| (std::cmp::Reverse(e.first), e.scheme));
    Ok(out)
}

pub async fn evaluation(state: &AppState, c: &Caller, id: u64) -> ApiResult<EvaluationView> {
    may_read(c)?;
    evaluation_view(state, load_evaluation(state, id).await?, true).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenEvaluation {
    pub scheme: u64,
    /// 期间的第一天（按方案的周期：某月1日、季度首日、1月1日或7月1日、1月1日）
    #[schema(value_type = String, format = Date)]
    pub first: NaiveDate,
}

/// Opens the evaluation of one period of a scheme (one per period).
pub async fn open(state: &AppState, c: &Caller, req: OpenEvaluation) -> ApiResult<EvaluationView> {
    let scheme = load_scheme(state, req.scheme).await?;
    let key = format!("{}|{}", req.scheme, req.first);
    if let Some(e) = aggregates::find::<Evaluation>(state.store.as_ref(), "period", &key, 0, 1)
        .await?
        .into_iter()
        .next()
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::EvaluationExists,
            format!(
                "{}的{}已经建立（编号 {}）",
                e.state.period, scheme.state.name, e.id
            ),
        ));
    }
    let v = aggregates::execute::<Evaluation>(
        state.store.as_ref(),
        None,
        EvaluationCommand::Open {
            scheme: req.scheme,
            scheme_name: scheme.state.name.clone(),
            cadence: scheme.state.cadence,
            first: req.first,
        },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    evaluation_view(state, v, true).await
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    /// 发布说明
    #[serde(default)]
    pub note: String,
}

/// Computes the standings by the scheme's current formula and freezes them (公开晾晒).
pub async fn publish(
    state: &AppState,
    c: &Caller,
    id: u64,
    note: String,
) -> ApiResult<EvaluationView> {
    let v = load_evaluation(state, id).await?;
    if !configures(c) {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "评比结果由中心、督办或管理员发布",
        ));
    }
    let scheme = load_scheme(state, v.state.scheme).await?;
    let formula = scheme.state.current().clone();
    let now = state.clock.now();
    let subjects = subjects(state, v.state.first, v.state.last, now).await?;
    let standings = score(&formula, &subjects);
    let v = aggregates::execute::<Evaluation>(
        state.store.as_ref(),
        Some(id),
        EvaluationCommand::Publish {
            formula,
            standings,
            note,
        },
        c.actor.clone(),
        now,
        Some(v.version),
    )
    .await?;
    evaluation_view(state, v, false).await
}

// ---------------------------------------------------------------------------------------------
// The public board (公开晾晒)

/// A published result as the public sees it: units and scores, the period and the formula;
/// no person's name.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicEvaluation {
    pub id: u64,
    pub scheme_name: String,
    pub cadence_label: &'static str,
    pub period: String,
    #[schema(value_type = String, format = Date)]
    pub first: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub last: NaiveDate,
    #[schema(value_type = String, format = DateTime)]
    pub published_at: Instant,
    pub formula_version: u32,
    pub formula_text: String,
    pub note: String,
    pub standings: Vec<Standing>,
}

fn public(v: Versioned<Evaluation>) -> Option<PublicEvaluation> {
    let s = v.state.published?;
    Some(PublicEvaluation {
        id: v.id,
        scheme_name: v.state.scheme_name,
        cadence_label: v.state.cadence.label(),
        period: v.state.period,
        first: v.state.first,
        last: v.state.last,
        published_at: s.published_at,
        formula_version: s.formula.version,
        formula_text: s.formula_text,
        note: s.note,
        standings: s.standings,
    })
}

/// Every published result, the latest period first.
pub async fn published(state: &AppState) -> ApiResult<Vec<PublicEvaluation>> {
    let mut v: Vec<PublicEvaluation> =
        aggregates::find_all::<Evaluation>(state.store.as_ref(), "published", "yes", 0)
            .await?
            .into_iter()
            .filter_map(public)
            .collect();
    v.sort_by_key(|e| (std::cmp::Reverse(e.last), e.id));
    Ok(v)
}

pub async fn published_one(state: &AppState, id: u64) -> ApiResult<PublicEvaluation> {
    let v = aggregates::load::<Evaluation>(state.store.as_ref(), id)
        .await
        .ok()
        .and_then(public);
    v.ok_or_else(|| ApiError::not_found("没有这次已公开的评比结果"))
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn schemes_api(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<SchemeView>>> {
    Ok(Json(schemes(&state, &caller).await?))
}

async fn create_scheme_api(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<NewScheme>,
) -> ApiResult<(StatusCode, Json<SchemeView>)> {
    Ok((
        StatusCode::CREATED,
        Json(create_scheme(&state, &caller, req).await?),
    ))
}

async fn scheme_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<SchemeView>> {
    Ok(Json(scheme(&state, &caller, id).await?))
}

async fn revise_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(f): JsonBody<FormulaDraft>,
) -> ApiResult<Json<SchemeView>> {
    Ok(Json(revise(&state, &caller, id, f).await?))
}

async fn list_api(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<EvaluationQuery>,
) -> ApiResult<Json<Vec<EvaluationView>>> {
    Ok(Json(evaluations(&state, &caller, q.scheme).await?))
}

async fn open_api(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<OpenEvaluation>,
) -> ApiResult<(StatusCode, Json<EvaluationView>)> {
    Ok((StatusCode::CREATED, Json(open(&state, &caller, req).await?)))
}

async fn evaluation_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<EvaluationView>> {
    Ok(Json(evaluation(&state, &caller, id).await?))
}

async fn publish_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(body): JsonBody<PublishBody>,
) -> ApiResult<Json<EvaluationView>> {
    Ok(Json(publish(&state, &caller, id, body.note).await?))
}

async fn published_api(State(state): State<AppState>) -> ApiResult<Json<Vec<PublicEvaluation>>> {
    Ok(Json(published(&state).await?))
}

async fn published_one_api(
    State(state): State<AppState>,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<PublicEvaluation>> {
    Ok(Json(published_one(&state, id).await?))
}
