//! 双提升 surveys — the use cases the API (`/api/v1/surveys`, the `/api/v1/survey-results`
//! webhook) and the console (`/surveys`) share: set up a survey with its approval and
//! questionnaire, import a sampling frame and draw a stratified sample from a seed, field it,
//! give a caller the next number that is due (the only place a number is shown whole), record
//! each attempt with its AAPOR disposition and the answers, apply an AI platform's signed
//! results once each, and compute the results with their methods card. The methods live in
//! `bihuan_domain::survey`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::aggregate::Versioned;
use bihuan_domain::survey::{
    indicator_results, outcomes, AaporRates, Answer, Approval, Attempt, CallRules, Case,
    CaseCommand, Disposition, Draw, Indicator, IndicatorResult, Outcomes, Question, Questionnaire,
    Stratum, Survey, SurveyCommand, SurveyStatus,
};
use bihuan_domain::time::{local_date, Instant};
use bihuan_domain::{DomainError, ErrorCode, Phone};
use bihuan_store::aggregates;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{load_or_404, ApiError, ApiResult, JsonBody, PathParams};
use crate::households::{table, BadRow};
use crate::AppState;

/// The largest frame one import reads.
pub const FRAME_MAX: usize = 200_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/surveys", get(list_api).post(create_api))
        .route("/api/v1/surveys/{id}", get(survey_api))
        .route(
            "/api/v1/surveys/{id}/sample",
            post(sample_api).layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024)),
        )
        .route("/api/v1/surveys/{id}/questionnaire", post(revise_api))
        .route(
            "/api/v1/surveys/{id}/results/import",
            post(import_api).layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024)),
        )
        .route("/api/v1/surveys/{id}/field", post(field_api))
        .route("/api/v1/surveys/{id}/close", post(close_api))
        .route("/api/v1/surveys/{id}/next", post(next_api))
        .route("/api/v1/surveys/{id}/cases/{case}/attempts", post(call_api))
        .route("/api/v1/survey-results", post(webhook_api))
}

/// Who runs surveys.
pub fn runs(c: &Caller) -> bool {
    bihuan_domain::survey::CENTRE_ROLES.contains(&c.user.role)
}

/// Who reads results: those who run surveys, leaders, and the callers.
fn may_read(c: &Caller) -> ApiResult<()> {
    use bihuan_domain::lifecycle::Role;
    if runs(c)
        || matches!(
            c.user.role,
            Role::Leader | Role::ReturnVisitor | Role::System
        )
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "调查结果由中心、督办、领导和回访员查看",
        ))
    }
}

async fn load(state: &AppState, id: u64) -> ApiResult<Versioned<Survey>> {
    load_or_404::<Survey>(state.store.as_ref(), id, "没有这项调查").await
}

async fn cases_of(state: &AppState, id: u64) -> ApiResult<Vec<Versioned<Case>>> {
    Ok(aggregates::find_all::<Case>(state.store.as_ref(), "survey", &id.to_string(), 0).await?)
}

// ---------------------------------------------------------------------------------------------
// Views

/// A survey with its progress and results.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SurveyView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub survey: Survey,
    pub status_label: &'static str,
    /// What a caller reads at the opening: the script and the approval.
    pub opening: String,
    pub drawn: u64,
    pub called: u64,
    pub completes: u64,
    pub outcomes: Outcomes,
    pub aapor: AaporRates,
    pub results: Vec<IndicatorResult>,
    /// Each stratum's completes against its quota.
    pub progress: Vec<StratumProgress>,
    /// The appeals 不满意 answers with consent opened (their numbers).
    pub raised: Vec<String>,
    /// The methods card shown beside every headline percentage.
    pub methods: String,
}

/// A stratum's completes against its quota (once met, its numbers are called no more).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StratumProgress {
    pub code: String,
    pub name: String,
    pub drawn: u64,
    pub quota: u64,
    pub completes: u64,
    pub quota_met: bool,
}

/// The methods card: who, when, the sample, completes, response rate, e, the interval method.
pub fn methods(s: &Survey, o: &Outcomes, a: &AaporRates, drawn: u64) -> String {
    let pct = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.1}%", v * 100.0));
    let when = match (s.fielded_at, s.closed_at) {
        (Some(a), Some(b)) => format!("{} 至 {}", local_date(a), local_date(b)),
        (Some(a), None) => format!("{} 起（进行中）", local_date(a)),
        _ => "尚未开始".into(),
    };
    format!(
        "{}；{}电话调查，{}；分{}层随机抽取号码 {} 个（种子 {}），完成 {} 个（目标 {}）；应答率 RR3 {}（e = {:.3}），合作率 COOP1 {}；百分比的 95% 区间：未加权为 Wilson 区间，加权为按抽样框各层比例事后分层的设计区间。表号 {}，{}。",
        s.name,
        s.conducted_by,
        when,
        s.strata.len(),
        drawn,
        s.seed.map_or("—".into(), |x| x.to_string()),
        o.i,
        s.target,
        pct(a.rr3),
        a.e,
        pct(a.coop1),
        s.approval.table_no,
        s.approval.approval_no
    )
}

fn view(v: Versioned<Survey>, cases: &[Versioned<Case>]) -> SurveyView {
    let refs: Vec<&Case> = cases.iter().map(|c| &c.state).collect();
    let o = outcomes(&refs);
    let aapor = o.rates(o.e_proportional());
    let results = indicator_results(&v.state, &refs);
    let drawn = refs.len() as u64;
    let progress = v
        .state
        .strata
        .iter()
        .map(|st| {
            let completes = refs
                .iter()
                .filter(|c| {
                    c.stratum == st.code && c.final_disposition() == Some(Disposition::Complete)
                })
                .count() as u64;
            StratumProgress {
                code: st.code.clone(),
                name: st.name.clone(),
                drawn: st.drawn,
                quota: st.quota,
                completes,
                quota_met: st.quota > 0 && completes >= st.quota,
            }
        })
        .collect();
    SurveyView {
        progress,
        raised: refs.iter().filter_map(|c| c.appeal.clone()).collect(),
        id: v.id,
        version: v.version,
        status_label: v.state.status.label(),
        opening: v.state.opening(),
        drawn,
        called: refs.iter().filter(|c| !c.attempts.is_empty()).count() as u64,
        completes: o.i,
        methods: methods(&v.state, &o, &aapor, drawn),
        outcomes: o,
        aapor,
        results,
        survey: v.state,
    }
}

pub async fn surveys(state: &AppState, c: &Caller) -> ApiResult<Vec<SurveyView>> {
    may_read(c)?;
    let mut out = Vec::new();
    for v in aggregates::find_all::<Survey>(state.store.as_ref(), "", "", 0).await? {
        let cases = cases_of(state, v.id).await?;
        out.push(view(v, &cases));
    }
    out.reverse();
    Ok(out)
}

pub async fn survey(state: &AppState, c: &Caller, id: u64) -> ApiResult<SurveyView> {
    may_read(c)?;
    let v = load(state, id).await?;
    let cases = cases_of(state, id).await?;
    Ok(view(v, &cases))
}

// ---------------------------------------------------------------------------------------------
// Setting up

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSurvey {
    pub name: String,
    /// 调查单位（如第三方测评机构）
    pub conducted_by: String,
    pub approval: Approval,
    /// 开场白
    pub opening: String,
    pub questions: Vec<Question>,
    /// 层：代码与名称（如各乡镇）
    pub strata: Vec<NewStratum>,
    #[serde(default)]
    pub rules: Option<CallRules>,
    /// 目标完成数
    pub target: u64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewStratum {
    pub code: String,
    pub name: String,
    /// 对应的乡镇（单位编号）；不填时按名称与乡镇名称对应
    #[serde(default)]
    pub township: Option<u32>,
}

/// The township a stratum is: the one named by id, else the township of the same name.
fn township_of(
    cat: &bihuan_store::Catalog,
    s: &NewStratum,
) -> ApiResult<Option<bihuan_domain::org::UnitId>> {
    let is_township =
        |u: &&bihuan_domain::org::Unit| u.kind == bihuan_domain::org::UnitKind::Township;
    match s.township {
        Some(id) => match cat
            .org
            .get(bihuan_domain::org::UnitId(id))
            .filter(is_township)
        {
            Some(u) => Ok(Some(u.id)),
            None => Err(ApiError::from(DomainError::invalid(
                "strata",
                format!("层「{}」的乡镇编号 {id} 不是本县的乡镇", s.name.trim()),
            ))),
        },
        None => Ok(cat
            .org
            .units()
            .find(|u| is_township(u) && u.name == s.name.trim())
            .map(|u| u.id)),
    }
}

pub async fn create(state: &AppState, c: &Caller, req: NewSurvey) -> ApiResult<SurveyView> {
    let cat = state.store.catalog();
    let mut strata = Vec::with_capacity(req.strata.len());
    for s in &req.strata {
        strata.push(Stratum {
            code: s.code.trim().to_string(),
            name: s.name.trim().to_string(),
            frame: 0,
            drawn: 0,
            quota: 0,
            township: township_of(&cat, s)?,
        });
    }
    let v = aggregates::execute::<Survey>(
        state.store.as_ref(),
        None,
        SurveyCommand::Create {
            name: req.name,
            conducted_by: req.conducted_by,
            approval: req.approval,
            questionnaire: Questionnaire {
                version: 1,
                opening: req.opening,
                questions: req.questions,
            },
            strata,
            rules: req.rules.unwrap_or_default(),
            target: req.target,
        },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    Ok(view(v, &[]))
}

/// What a sample draw did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Sampled {
    pub frame: u64,
    pub drawn: u64,
    pub seed: u64,
    /// Rows of the frame refused, with their line and reason.
    pub bad_rows: Vec<BadRow>,
    /// What a frame from the registry or the appeals left out, and why (e.g. no phone).
    pub left_out: Vec<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct SampleQuery {
    /// 抽取的号码数（按各层在抽样框中的比例分配）
    pub size: u64,
    /// 随机种子（同一抽样框、同一种子抽出同一样本）
    pub seed: u64,
    /// 抽样框：file（上传的号码表，默认）、households（住户台账中登记了电话的住户）、
    /// appellants（期间内提出过诉求的群众）
    #[serde(default)]
    pub frame: Option<String>,
    /// appellants：登记日期起（含）
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// appellants：登记日期止（含）
    #[serde(default)]
    pub to: Option<NaiveDate>,
}

/// Where a sample's frame comes from.
pub enum FrameSource<'a> {
    /// An imported phone list (CSV or XLSX, columns 电话 and 层: the stratum's code or name).
    File(&'a [u8]),
    /// The households of the registry with a phone, stratified by township.
    Households,
    /// The citizens who appealed in the period (registration dates, inclusive), by township.
    Appellants { from: NaiveDate, to: NaiveDate },
}

impl<'a> FrameSource<'a> {
    /// The source a request names (`frame` and its dates), the body being the file's.
    pub fn of(q: &SampleQuery, body: &'a [u8]) -> ApiResult<FrameSource<'a>> {
        let none = |what: &str| {
            ApiError::from(DomainError::invalid(
                "frame",
                format!("抽样框为{what}时不上传文件"),
            ))
        };
        match q.frame.as_deref().map(str::trim).unwrap_or("file") {
            "" | "file" => Ok(FrameSource::File(body)),
            "households" if body.is_empty() => Ok(FrameSource::Households),
            "households" => Err(none("住户台账")),
            "appellants" if !body.is_empty() => Err(none("诉求群众")),
            "appellants" => match (q.from, q.to) {
                (Some(from), Some(to)) if from <= to => Ok(FrameSource::Appellants { from, to }),
                _ => Err(ApiError::from(DomainError::invalid(
                    "frame",
                    "抽样框为诉求群众时，请给出登记日期起止（from、to，起不晚于止）",
                ))),
            },
            other => Err(ApiError::from(DomainError::invalid(
                "frame",
                format!("抽样框「{other}」无效，可用：file（上传号码表）、households（住户台账）、appellants（诉求群众）"),
            ))),
        }
    }
}

/// The frame by stratum, with the rows refused and what was left out.
type Frame = (Vec<Vec<Phone>>, Vec<BadRow>, Vec<String>);

fn file_frame(strata: &[Stratum], bytes: &[u8]) -> ApiResult<Frame> {
    let (headers, rows) = table(bytes)?;
    let col = |n: &[&str]| headers.iter().position(|h| n.contains(&h.trim()));
    let (Some(pc), Some(sc)) = (col(&["电话", "phone"]), col(&["层", "stratum"])) else {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidBody,
            format!(
                "抽样框的表头须有「电话」和「层」；读到的是：{}",
                headers.join("、")
            ),
        ));
    };
    let mut frame: Vec<Vec<Phone>> = vec![Vec::new(); strata.len()];
    let mut seen = std::collections::HashSet::new();
    let mut bad_rows = Vec::new();
    for (line, row) in rows.into_iter().take(FRAME_MAX) {
        let cell = |i: usize| row.get(i).map(|x| x.trim().to_string()).unwrap_or_default();
        let s = cell(sc);
        let Some(h) = strata.iter().position(|x| x.code == s || x.name == s) else {
            bad_rows.push(BadRow {
                line,
                reason: format!("层「{s}」不是本调查的层"),
            });
            continue;
        };
        match Phone::parse(&cell(pc)) {
            Ok(p) => {
                if seen.insert(p.expose().to_string()) {
                    frame[h].push(p);
                }
            }
            Err(e) => bad_rows.push(BadRow {
                line,
                reason: format!("电话：{e}"),
            }),
        }
    }
    Ok((frame, bad_rows, Vec::new()))
}

/// A frame of (township, phone) pairs, each number once, by the stratum of its township.
fn township_frame(
    strata: &[Stratum],
    rows: impl Iterator<Item = (Option<bihuan_domain::org::UnitId>, Option<Phone>)>,
    what: &str,
) -> ApiResult<Frame> {
    if strata.iter().all(|s| s.township.is_none()) {
        return Err(ApiError::from(DomainError::invalid(
            "frame",
            "本调查的层不是乡镇，不能从住户台账或诉求中抽样；请上传号码表",
        )));
    }
    let mut frame: Vec<Vec<Phone>> = vec![Vec::new(); strata.len()];
    let mut seen = std::collections::HashSet::new();
    let (mut no_phone, mut elsewhere, mut again) = (0u64, 0u64, 0u64);
    for (township, phone) in rows {
        let Some(phone) = phone else {
            no_phone += 1;
            continue;
        };
        let Some(h) = strata
            .iter()
            .position(|s| s.township.is_some() && s.township == township)
        else {
            elsewhere += 1;
            continue;
        };
        if seen.insert(phone.expose().to_string()) {
            frame[h].push(phone);
        } else {
            again += 1;
        }
        if seen.len() >= FRAME_MAX {
            break;
        }
    }
    let mut left_out = Vec::new();
    if no_phone > 0 {
        left_out.push(format!("{no_phone} 个{what}没有电话"));
    }
    if elsewhere > 0 {
        left_out.push(format!("{elsewhere} 个{what}不在本调查的层（乡镇）内"));
    }
    if again > 0 {
        left_out.push(format!("{again} 个{what}的号码与前面的重复，只算一次"));
    }
    Ok((frame, Vec::new(), left_out))
}

async fn registry_frame(state: &AppState, strata: &[Stratum]) -> ApiResult<Frame> {
    use bihuan_domain::household::Household;
    let homes = aggregates::find_all::<Household>(state.store.as_ref(), "", "", 0).await?;
    township_frame(
        strata,
        homes
            .into_iter()
            .filter(|h| h.state.removed.is_none())
            .map(|h| (Some(h.state.at.township), h.state.facts.phone)),
        "住户",
    )
}

async fn appellant_frame(
    state: &AppState,
    strata: &[Stratum],
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<Frame> {
    let filter = bihuan_store::AppealFilter {
        from: Some(bihuan_domain::time::start_of_day(from)),
        to: Some(bihuan_domain::time::end_of_day(to)),
        ..Default::default()
    };
    let mut rows = Vec::new();
    let mut cursor = None;
    loop {
        let page = state.store.list(filter.clone(), cursor, 1000).await?;
        rows.extend(
            page.items
                .into_iter()
                .map(|a| (a.place.township, a.citizen.phone)),
        );
        cursor = page.next_cursor;
        if cursor.is_none() || rows.len() >= FRAME_MAX * 2 {
            break;
        }
    }
    township_frame(strata, rows.into_iter(), "诉求")
}

/// Builds the frame from `source` and draws `size` numbers, allocated to the strata in
/// proportion to the frame and chosen in each with a stream seeded by `seed` and the stratum's
/// place. A number twice in the frame is one number.
pub async fn sample(
    state: &AppState,
    c: &Caller,
    id: u64,
    source: FrameSource<'_>,
    size: u64,
    seed: u64,
) -> ApiResult<Sampled> {
    let v = load(state, id).await?;
    if !runs(c) {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "抽样由中心、督办或管理员进行",
        ));
    }
    if v.state.seed.is_some() {
        return Err(ApiError::from(DomainError::invalid(
            "survey",
            "样本已经抽取",
        )));
    }
    let strata = &v.state.strata;
    let (frame, bad_rows, left_out) = match source {
        FrameSource::File(bytes) => file_frame(strata, bytes)?,
        FrameSource::Households => registry_frame(state, strata).await?,
        FrameSource::Appellants { from, to } => appellant_frame(state, strata, from, to).await?,
    };
    let total: u64 = frame.iter().map(|f| f.len() as u64).sum();
    if total == 0 {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidBody,
            "抽样框中没有可用的号码",
        ));
    }
    if size == 0 || size > total {
        return Err(ApiError::from(DomainError::invalid(
            "size",
            format!("抽取数须为 1 至 {total}（抽样框中的号码数）"),
        )));
    }
    let mut commands = Vec::new();
    let mut out_strata = Vec::new();
    for (h, (s, phones)) in strata.iter().zip(&frame).enumerate() {
        let n = ((size as f64) * phones.len() as f64 / total as f64).round() as usize;
        let mut draw = Draw::new(seed ^ ((h as u64 + 1) * 0x9E37_79B9));
        let chosen = draw.choose(phones.len(), n);
        for i in &chosen {
            commands.push(CaseCommand::Draw {
                survey: id,
                stratum: s.code.clone(),
                phone: phones[*i].clone(),
            });
        }
        out_strata.push(Stratum {
            frame: phones.len() as u64,
            drawn: chosen.len() as u64,
            quota: ((v.state.target as f64) * phones.len() as f64 / total as f64).round() as u64,
            ..s.clone()
        });
    }
    let drawn = commands.len() as u64;
    let at = state.clock.now();
    // The draw is claimed on the survey first, at the version read: of two imports sent at
    // once, one draws and the other is refused, so no number is sampled twice.
    aggregates::execute::<Survey>(
        state.store.as_ref(),
        Some(id),
        SurveyCommand::Drawn {
            seed,
            strata: out_strata,
        },
        c.actor.clone(),
        at,
        Some(v.version),
    )
    .await?;
    for chunk in commands.chunks(2000) {
        aggregates::create_many::<Case>(state.store.as_ref(), chunk.to_vec(), c.actor.clone(), at)
            .await?;
    }
    Ok(Sampled {
        frame: total,
        drawn,
        seed,
        bad_rows,
        left_out,
    })
}

async fn step(state: &AppState, c: &Caller, id: u64, cmd: SurveyCommand) -> ApiResult<SurveyView> {
    load(state, id).await?;
    let v = aggregates::execute::<Survey>(
        state.store.as_ref(),
        Some(id),
        cmd,
        c.actor.clone(),
        state.clock.now(),
        None,
    )
    .await?;
    let cases = cases_of(state, id).await?;
    Ok(view(v, &cases))
}

/// A new questionnaire version (before fielding only).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionnaireBody {
    pub opening: String,
    pub questions: Vec<Question>,
}

pub async fn revise(
    state: &AppState,
    c: &Caller,
    id: u64,
    q: QuestionnaireBody,
) -> ApiResult<SurveyView> {
    step(
        state,
        c,
        id,
        SurveyCommand::Revise(Questionnaire {
            version: 0,
            opening: q.opening,
            questions: q.questions,
        }),
    )
    .await
}

/// What a results import did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResultsImported {
    /// Results applied now (a result applied before counts as applied again: nothing changes).
    pub applied: usize,
    pub bad_rows: Vec<BadRow>,
}

/// Imports an AI platform's results file (CSV or XLSX: 结果编号, 样本编号, 结果代码 and, for an
/// interview, 回答 as `Q1=是;Q2=很安全`), each row applied once by its result id exactly as the
/// webhook applies it; every refused row is reported with its line and reason.
pub async fn import_results(
    state: &AppState,
    c: &Caller,
    id: u64,
    bytes: &[u8],
) -> ApiResult<ResultsImported> {
    if !runs(c) {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "测评结果由中心、督办或管理员导入",
        ));
    }
    load(state, id).await?;
    let (headers, rows) = table(bytes)?;
    let col = |n: &[&str]| headers.iter().position(|h| n.contains(&h.trim()));
    let (Some(rc), Some(cc), Some(dc)) = (
        col(&["结果编号", "result_id"]),
        col(&["样本编号", "case"]),
        col(&["结果代码", "disposition"]),
    ) else {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidBody,
            format!(
                "表头须有「结果编号」「样本编号」「结果代码」（可选「回答」）；读到的是：{}",
                headers.join("、")
            ),
        ));
    };
    let ac = col(&["回答", "answers"]);
    let system = system_caller(state);
    let mut out = ResultsImported {
        applied: 0,
        bad_rows: vec![],
    };
    for (line, row) in rows {
        let cell = |i: usize| row.get(i).map(|x| x.trim().to_string()).unwrap_or_default();
        let Ok(case) = cell(cc).parse::<u64>() else {
            out.bad_rows.push(BadRow {
                line,
                reason: format!("样本编号「{}」不是数字", cell(cc)),
            });
            continue;
        };
        let mut answers = Vec::new();
        let mut bad = None;
        for part in ac
            .map(cell)
            .unwrap_or_default()
            .split([';', '；'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match part.split_once(['=', '＝']) {
                Some((q, v)) => answers.push(Answer {
                    question: q.trim().to_string(),
                    value: v.trim().to_string(),
                }),
                None => bad = Some(format!("回答「{part}」须写成 题号=回答")),
            }
        }
        if let Some(reason) = bad {
            out.bad_rows.push(BadRow { line, reason });
            continue;
        }
        let result_id = cell(rc);
        if result_id.is_empty() {
            out.bad_rows.push(BadRow {
                line,
                reason: "请填写结果编号（同一结果只计一次）".into(),
            });
            continue;
        }
        let body = CallBody {
            disposition: cell(dc),
            answers,
            consent: false,
            callback: None,
            note: String::new(),
        };
        match call(state, &system, id, case, body, Some(result_id)).await {
            Ok(_) => out.applied += 1,
            Err(e) => out.bad_rows.push(BadRow {
                line,
                reason: e.message,
            }),
        }
    }
    Ok(out)
}

pub async fn field(state: &AppState, c: &Caller, id: u64) -> ApiResult<SurveyView> {
    step(state, c, id, SurveyCommand::Field).await
}

pub async fn close(state: &AppState, c: &Caller, id: u64) -> ApiResult<SurveyView> {
    step(state, c, id, SurveyCommand::Close).await
}

// ---------------------------------------------------------------------------------------------
// Calling

/// The case a caller works on: the only answer that carries a number whole.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CurrentCase {
    pub survey: u64,
    pub case: u64,
    pub stratum: String,
    /// The number to call (shown whole to the caller of this case only).
    pub phone: String,
    pub opening: String,
    pub questions: Vec<Question>,
    pub attempts: Vec<Attempt>,
}

/// The strata whose quota of completes is reached: their numbers are called no more.
async fn quotas_met(
    state: &AppState,
    s: &Versioned<Survey>,
) -> ApiResult<std::collections::HashSet<String>> {
    let prefix = format!("{}|", s.id);
    let done = aggregates::tally::<Case>(state.store.as_ref(), "complete", &prefix).await?;
    Ok(done
        .into_iter()
        .filter_map(|(k, n)| {
            let code = k.strip_prefix(&prefix)?;
            let quota = s.state.strata.iter().find(|x| x.code == code)?.quota;
            (quota > 0 && n >= quota).then(|| code.to_string())
        })
        .collect())
}

/// The next number due for a call (the longest waiting first, strata whose quota is met left
/// out), or none.
pub async fn next(state: &AppState, c: &Caller, id: u64) -> ApiResult<Option<CurrentCase>> {
    if !bihuan_domain::survey::CALLER_ROLES.contains(&c.user.role) {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "只有回访员和中心人员可以拨打调查电话",
        ));
    }
    let s = load(state, id).await?;
    if s.state.status != SurveyStatus::Fielding {
        return Err(ApiError::from(DomainError::invalid(
            "survey",
            "调查不在访问中",
        )));
    }
    let now = state.clock.now();
    let full = quotas_met(state, &s).await?;
    let open =
        aggregates::find_all::<Case>(state.store.as_ref(), "queue", &format!("{id}|open"), 0)
            .await?;
    let mut due: Vec<(Instant, Versioned<Case>)> = open
        .into_iter()
        .filter(|v| !full.contains(&v.state.stratum))
        .filter_map(|v| {
            let at = v.state.next_call(&s.state.rules)?;
            (at <= now && !v.state.held_by_other(c.user.id, now)).then_some((at, v))
        })
        .collect();
    due.sort_by_key(|(at, v)| (*at, v.id));
    // The caller's own held case first; else the longest waiting one nobody holds, taken at
    // its version (another caller taking it first moves on to the next).
    if let Some(i) = due.iter().position(|(_, v)| {
        v.state
            .held
            .is_some_and(|h| h.by == c.user.id && h.until > now)
    }) {
        let mine = due.remove(i);
        due.insert(0, mine);
    }
    let mut given = None;
    for (_, v) in due {
        match aggregates::execute::<Case>(
            state.store.as_ref(),
            Some(v.id),
            CaseCommand::Hold,
            c.actor.clone(),
            now,
            Some(v.version),
        )
        .await
        {
            Ok(held) => {
                given = Some(held);
                break;
            }
            Err(bihuan_store::StoreError::Domain(
                DomainError::VersionConflict { .. } | DomainError::Invalid { .. },
            )) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(given.map(|v| CurrentCase {
        survey: id,
        case: v.id,
        stratum: v.state.stratum.clone(),
        phone: v.state.phone.expose().to_string(),
        opening: s.state.opening(),
        questions: s.state.questionnaire().questions.clone(),
        attempts: v.state.attempts,
    }))
}

/// A call's outcome.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallBody {
    /// AAPOR 代码的名称，如 complete、refusal、no_answer（或代码 1.1、2.11、3.13）
    pub disposition: String,
    #[serde(default)]
    pub answers: Vec<Answer>,
    /// 受访者同意就不满意的回答被回访
    #[serde(default)]
    pub consent: bool,
    /// 约定回拨时间
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub callback: Option<Instant>,
    #[serde(default)]
    pub note: String,
}

/// A case as a list shows it: the number masked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub id: u64,
    pub stratum: String,
    pub phone: String,
    pub attempts: usize,
    pub disposition: Option<Disposition>,
    pub disposition_label: Option<&'static str>,
    /// The appeal a 不满意 answer with consent opened.
    pub appeal: Option<String>,
}

fn case_view(v: &Versioned<Case>) -> CaseView {
    let d = v.state.final_disposition();
    CaseView {
        id: v.id,
        stratum: v.state.stratum.clone(),
        phone: v.state.phone.masked(),
        attempts: v.state.attempts.len(),
        disposition: d,
        disposition_label: d.map(Disposition::label),
        appeal: v.state.appeal.clone(),
    }
}

fn disposition(s: &str) -> ApiResult<Disposition> {
    Disposition::parse(s.trim()).ok_or_else(|| {
        ApiError::from(DomainError::invalid(
            "disposition",
            format!(
                "结果「{s}」无效，可用：{}",
                Disposition::ALL
                    .iter()
                    .map(|d| format!("{} {}", d.code(), d.label()))
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        ))
    })
}

/// Records a call on a case (a caller's, or the AI platform's with its result id).
pub async fn call(
    state: &AppState,
    c: &Caller,
    id: u64,
    case: u64,
    body: CallBody,
    result_id: Option<String>,
) -> ApiResult<CaseView> {
    let s = load(state, id).await?;
    if s.state.status != SurveyStatus::Fielding {
        return Err(ApiError::from(DomainError::invalid(
            "survey",
            "调查不在访问中，不能记录拨打结果",
        )));
    }
    let current = load_or_404::<Case>(state.store.as_ref(), case, "没有这个样本号码").await?;
    if current.state.survey != id {
        return Err(ApiError::not_found("这个号码不属于这项调查"));
    }
    // An appeal an earlier call should have opened (the server stopped between the two) is
    // opened first.
    let current = raise(state, &s, current).await?;
    // A result delivered again changes nothing: answered with the case as it stands.
    if let Some(r) = &result_id {
        if current
            .state
            .attempts
            .iter()
            .any(|a| a.result_id.as_ref() == Some(r))
        {
            return Ok(case_view(&current));
        }
    }
    let d = disposition(&body.disposition)?;
    let by = if result_id.is_some() {
        format!("AI测评平台（{}）", c.user.name)
    } else {
        c.user.name.clone()
    };
    let v = aggregates::execute::<Case>(
        state.store.as_ref(),
        Some(case),
        CaseCommand::Call {
            attempt: Attempt {
                at: state.clock.now(),
                disposition: d,
                by,
                note: body.note,
                callback: body.callback,
                result_id,
            },
            answers: body.answers,
            consent: body.consent,
            questionnaire: s.state.questionnaire().clone(),
            rules: s.state.rules.clone(),
        },
        c.actor.clone(),
        state.clock.now(),
        None,
    )
    .await;
    let v = match v {
        Ok(v) => v,
        // The same result applied meanwhile by a second delivery: the domain made no event.
        Err(bihuan_store::StoreError::Domain(DomainError::Invalid {
            field: "command", ..
        })) => current,
        Err(e) => return Err(e.into()),
    };
    let v = raise(state, &s, v).await?;
    Ok(case_view(&v))
}

/// Opens an appeal (channel 满意度测评) for a case whose respondent gave an answer that raises
/// one and consented to be called back, through the normal loop, once: the key is the case.
/// Only the answers that raised it go into the appeal (统计法 Art 16: the rest stay confidential).
async fn raise(
    state: &AppState,
    s: &Versioned<Survey>,
    v: Versioned<Case>,
) -> ApiResult<Versioned<Case>> {
    let q = s.state.questionnaire();
    let raised = v.state.to_raise(q);
    if raised.is_empty() {
        return Ok(v);
    }
    let said: Vec<String> = raised
        .iter()
        .map(|(question, a)| format!("“{}”回答“{}”", question.text, a.value))
        .collect();
    let kind = if raised
        .iter()
        .all(|(question, _)| question.indicator == Some(Indicator::Safety))
    {
        bihuan_domain::Kind::Help
    } else {
        bihuan_domain::Kind::Complaint
    };
    let township = s
        .state
        .strata
        .iter()
        .find(|x| x.code == v.state.stratum)
        .and_then(|x| x.township);
    let new = bihuan_domain::NewAppeal {
        channel: bihuan_domain::Channel::Survey,
        kind,
        urgency: bihuan_domain::Urgency::Normal,
        category: None,
        title: {
            let (question, a) = raised[0];
            let mut t: String = question.text.chars().take(20).collect();
            if question.text.chars().count() > 20 {
                t.push('…');
            }
            format!("【满意度测评】{t}：{}", a.value)
        },
        content: format!(
            "受访者在“{}”电话测评中，对{}，并同意就此接受回访。请联系受访者了解具体情况并办理。\n（调查编号 {}，样本编号 {}）",
            s.state.name,
            said.join("；"),
            s.id,
            v.id
        ),
        place: bihuan_domain::Place {
            address: String::new(),
            township,
            village: None,
            grid: None,
            coordinates: None,
        },
        citizen: bihuan_domain::Citizen {
            name: None,
            phone: Some(v.state.phone.clone()),
            organisation: None,
        },
        accused_units: vec![],
        accused_persons: vec![],
        group: None,
        forwarded_from: None,
        repeat_of: None,
    };
    let mut sys = system_caller(state);
    sys.actor.name = format!("满意度测评（{}）", s.state.name);
    let r = crate::app::register(state, &sys, new, Some(format!("survey_case:{}", v.id))).await?;
    let out = aggregates::execute::<Case>(
        state.store.as_ref(),
        Some(v.id),
        CaseCommand::Raised {
            appeal: r.appeal.number.to_string(),
        },
        sys.actor.clone(),
        state.clock.now(),
        None,
    )
    .await;
    match out {
        Ok(x) => Ok(x),
        // Raised meanwhile by a second delivery of the same result.
        Err(bihuan_store::StoreError::Domain(DomainError::Invalid {
            field: "command", ..
        })) => Ok(aggregates::load::<Case>(state.store.as_ref(), v.id).await?),
        Err(e) => Err(e.into()),
    }
}

/// The cases of a survey, masked.
pub async fn cases(state: &AppState, c: &Caller, id: u64) -> ApiResult<Vec<CaseView>> {
    may_read(c)?;
    Ok(cases_of(state, id).await?.iter().map(case_view).collect())
}

// ---------------------------------------------------------------------------------------------
// The AI platform's webhook

/// One result of an external AI-call platform.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyResult {
    /// The platform's id of this result: each is applied once.
    pub result_id: String,
    pub survey: u64,
    pub case: u64,
    pub disposition: String,
    #[serde(default)]
    pub answers: Vec<Answer>,
    #[serde(default)]
    pub consent: bool,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub callback: Option<Instant>,
}

/// HMAC-SHA256 (RFC 2104) of `body` with `key`, in hex.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(body)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    hex::encode(outer)
}

/// Whether two strings are equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Checks the platform's signature and applies its results (a list or one), each once.
pub async fn webhook(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Vec<CaseView>> {
    let secret = &state.config.survey_webhook_secret;
    if secret.is_empty() {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "未配置 survey_webhook_secret：调查结果回传接口未开放",
        ));
    }
    let given = headers
        .get("x-bihuan-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .unwrap_or("");
    if !same(given, &sign(secret.as_bytes(), body)) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "签名不符：请用约定的密钥对请求体计算 HMAC-SHA256，放在 X-Bihuan-Signature: sha256=<hex>",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::MalformedJson,
            format!("请求内容不是有效的 JSON：{e}"),
        )
    })?;
    let list = match value {
        serde_json::Value::Array(a) => a,
        v => vec![v],
    };
    let system = system_caller(state);
    let mut out = Vec::new();
    for (i, v) in list.into_iter().enumerate() {
        let r: SurveyResult = serde_json::from_value(v).map_err(|e| {
            ApiError::unprocessable(ErrorCode::InvalidBody, format!("第 {} 条结果：{e}", i + 1))
        })?;
        let body = CallBody {
            disposition: r.disposition,
            answers: r.answers,
            consent: r.consent,
            callback: r.callback,
            note: String::new(),
        };
        out.push(call(state, &system, r.survey, r.case, body, Some(r.result_id)).await?);
    }
    Ok(out)
}

/// The server itself as a caller (results that arrive by the webhook).
pub fn system_caller(state: &AppState) -> Caller {
    let cat = state.store.catalog();
    let root = cat
        .org
        .units()
        .find(|u| u.kind == bihuan_domain::org::UnitKind::County)
        .map(|u| u.id)
        .unwrap_or(bihuan_domain::org::UnitId(1));
    let user = bihuan_store::User {
        id: bihuan_domain::UserId(0),
        login: "survey-webhook".into(),
        name: "系统".into(),
        role: bihuan_domain::lifecycle::Role::System,
        unit: root,
        active: true,
        password_hash: String::new(),
    };
    Caller {
        actor: cat.actor(&user),
        unit_kind: bihuan_domain::org::UnitKind::County,
        user,
    }
}

// ---------------------------------------------------------------------------------------------
// The headline rates

/// A headline rate from a survey, with its methods card.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HeadlineSurvey {
    pub indicator: Indicator,
    pub value: f64,
    pub low: f64,
    pub high: f64,
    pub completes: u64,
    pub survey: u64,
    pub methods: String,
}

/// The results of closed surveys, by survey id and version: a closed survey's cases take no
/// more calls, so its figures are computed once (the dashboard reads them on every view).
#[derive(Default)]
pub struct Closed(
    std::sync::Mutex<std::collections::HashMap<(u64, u64), std::sync::Arc<SurveyView>>>,
);

pub(crate) async fn view_of(
    state: &AppState,
    v: Versioned<Survey>,
) -> ApiResult<std::sync::Arc<SurveyView>> {
    let key = (v.id, v.version);
    let closed = v.state.status == SurveyStatus::Closed;
    if closed {
        if let Some(hit) = state
            .surveys
            .0
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            return Ok(hit);
        }
    }
    let cases = cases_of(state, v.id).await?;
    let made = std::sync::Arc::new(view(v, &cases));
    if closed {
        if let Ok(mut m) = state.surveys.0.lock() {
            m.insert(key, made.clone());
        }
    }
    Ok(made)
}

/// For each indicator, the latest survey fielded by `last` (closed ones first) that measured
/// it: the weighted figure when every stratum was reached, else the unweighted. Surveys are
/// read in that order and only until every indicator has its figure.
pub async fn headline(state: &AppState, last: NaiveDate) -> ApiResult<Vec<HeadlineSurvey>> {
    let mut by: BTreeMap<(u8, Instant, u64), Versioned<Survey>> = BTreeMap::new();
    for v in aggregates::find_all::<Survey>(state.store.as_ref(), "", "", 0).await? {
        let Some(fielded) = v.state.fielded_at else {
            continue;
        };
        if local_date(fielded) > last {
            continue;
        }
        let rank = u8::from(v.state.status == SurveyStatus::Closed);
        let at = v.state.closed_at.unwrap_or(fielded);
        by.insert((rank, at, v.id), v);
    }
    let mut out: Vec<HeadlineSurvey> = Vec::new();
    for v in by.into_values().rev() {
        let asked = v
            .state
            .questionnaire()
            .questions
            .iter()
            .filter_map(|q| q.indicator);
        if asked.clone().all(|i| out.iter().any(|h| h.indicator == i)) {
            continue;
        }
        let s = view_of(state, v).await?;
        for r in &s.results {
            if out.iter().any(|h| h.indicator == r.indicator) {
                continue;
            }
            let est = if r.covered >= 0.999 {
                r.weighted
            } else {
                r.unweighted
            };
            if let Some(e) = est {
                out.push(HeadlineSurvey {
                    indicator: r.indicator,
                    value: e.value,
                    low: e.low,
                    high: e.high,
                    completes: e.n,
                    survey: s.id,
                    methods: format!(
                        "{}（{}，95% 区间 {:.2}%–{:.2}%）",
                        s.methods,
                        if r.covered >= 0.999 {
                            "加权"
                        } else {
                            "未加权"
                        },
                        e.low * 100.0,
                        e.high * 100.0
                    ),
                });
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn list_api(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<SurveyView>>> {
    Ok(Json(surveys(&state, &caller).await?))
}

async fn create_api(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<NewSurvey>,
) -> ApiResult<(StatusCode, Json<SurveyView>)> {
    Ok((
        StatusCode::CREATED,
        Json(create(&state, &caller, req).await?),
    ))
}

/// A survey with its cases (masked).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SurveyDetail {
    #[serde(flatten)]
    pub survey: SurveyView,
    pub cases: Vec<CaseView>,
}

async fn survey_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<SurveyDetail>> {
    let survey = survey(&state, &caller, id).await?;
    let cases = cases(&state, &caller, id).await?;
    Ok(Json(SurveyDetail { survey, cases }))
}

async fn sample_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    crate::error::QueryParams(q): crate::error::QueryParams<SampleQuery>,
    crate::error::BodyBytes(body): crate::error::BodyBytes,
) -> ApiResult<Json<Sampled>> {
    Ok(Json(
        sample(
            &state,
            &caller,
            id,
            FrameSource::of(&q, &body)?,
            q.size,
            q.seed,
        )
        .await?,
    ))
}

async fn revise_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(q): JsonBody<QuestionnaireBody>,
) -> ApiResult<Json<SurveyView>> {
    Ok(Json(revise(&state, &caller, id, q).await?))
}

async fn import_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    crate::error::BodyBytes(body): crate::error::BodyBytes,
) -> ApiResult<Json<ResultsImported>> {
    Ok(Json(import_results(&state, &caller, id, &body).await?))
}

async fn field_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<SurveyView>> {
    Ok(Json(field(&state, &caller, id).await?))
}

async fn close_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<SurveyView>> {
    Ok(Json(close(&state, &caller, id).await?))
}

async fn next_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<Option<CurrentCase>>> {
    Ok(Json(next(&state, &caller, id).await?))
}

async fn call_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, case)): PathParams<(u64, u64)>,
    JsonBody(body): JsonBody<CallBody>,
) -> ApiResult<Json<CaseView>> {
    Ok(Json(call(&state, &caller, id, case, body, None).await?))
}

async fn webhook_api(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::error::BodyBytes(body): crate::error::BodyBytes,
) -> ApiResult<Json<Vec<CaseView>>> {
    Ok(Json(webhook(&state, &headers, &body).await?))
}
