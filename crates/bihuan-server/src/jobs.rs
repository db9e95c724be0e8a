//! 就业之家 — the use cases the API (`/api/v1/jobs`, `/api/v1/job-seekers`,
//! `/api/v1/referrals`, `/api/v1/loans`, `/api/v1/job-figures`, the public
//! `/api/v1/jobs/public`) and the console (`/jobs`, `/board/jobs`) share. The rules live in
//! `bihuan_domain::jobs`.
//!
//! Scoping: the centre, supervision and leaders see the county; a township's, village's or
//! grid's staff see their township's postings, seekers, referrals and loans. A seeker's name and
//! phone are masked except to the staff of their township; an employer receives a phone only
//! when the seeker consented. The public page shows open postings and nothing personal.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::aggregate::Versioned;
use bihuan_domain::jobs::{
    default_caps, default_rules, suits, Borrower, Consent, Loan, LoanCommand, LoanStatus, Posting,
    PostingCommand, PostingFacts, PostingStatus, Referral, ReferralCommand, ReferralStage, Seeker,
    SeekerCommand, Suitability,
};
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::time::local_date;
use bihuan_domain::{DomainError, ErrorCode};
use bihuan_store::aggregates;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{load_or_404, ApiError, ApiResult, JsonBody, PathParams, QueryParams};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/jobs", get(postings_api).post(new_posting_api))
        .route("/api/v1/jobs/public", get(public_api))
        .route("/api/v1/jobs/{id}", get(posting_api))
        .route("/api/v1/jobs/{id}/edit", post(edit_api))
        .route("/api/v1/jobs/{id}/submit", post(submit_api))
        .route("/api/v1/jobs/{id}/review", post(review_api))
        .route("/api/v1/jobs/{id}/close", post(close_api))
        .route("/api/v1/job-seekers", get(seekers_api).post(new_seeker_api))
        .route("/api/v1/job-seekers/{id}", get(seeker_api))
        .route("/api/v1/job-seekers/{id}/close", post(close_seeker_api))
        .route("/api/v1/referrals", get(referrals_api).post(refer_api))
        .route("/api/v1/referrals/{id}/steps", post(step_api))
        .route("/api/v1/loans", get(loans_api).post(new_loan_api))
        .route("/api/v1/loans/{id}/decision", post(decide_loan_api))
        .route("/api/v1/job-figures", get(figures_api))
}

// ---------------------------------------------------------------------------------------------
// Scoping

/// The enterprise an employer account speaks for: its id, name and township.
pub struct Employer {
    pub enterprise: u64,
    pub name: String,
    pub township: UnitId,
}

/// The enterprise of an employer account (None for everyone else); an employer account not
/// yet linked to an enterprise is refused.
pub async fn employer_of(state: &AppState, c: &Caller) -> ApiResult<Option<Employer>> {
    if c.user.role != bihuan_domain::lifecycle::Role::Employer {
        return Ok(None);
    }
    let found = aggregates::find::<bihuan_domain::enterprise::Enterprise>(
        state.store.as_ref(),
        "account",
        &c.user.id.0.to_string(),
        0,
        1,
    )
    .await?;
    let Some(e) = found.into_iter().next() else {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "这个用人单位账号尚未关联企业，请联系乡镇（街道）就业之家",
        ));
    };
    let Some(p) = e.state.premises.as_ref() else {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "企业已迁出，不能再发布岗位",
        ));
    };
    Ok(Some(Employer {
        enterprise: e.id,
        name: e.state.facts.name.clone(),
        township: p.at().township,
    }))
}

/// The township a caller works for (None: the county). Employers work for their enterprise
/// only: refused here (seekers, referrals, loans and figures are the staff's).
pub fn township_of(state: &AppState, c: &Caller) -> ApiResult<Option<UnitId>> {
    if c.user.role == bihuan_domain::lifecycle::Role::Employer {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "用人单位账号只能管理本单位的招聘岗位",
        ));
    }
    if c.sees_all() {
        return Ok(None);
    }
    let cat = state.store.catalog();
    let mut u = cat.org.get(c.user.unit);
    while let Some(unit) = u {
        if unit.kind == UnitKind::Township {
            return Ok(Some(unit.id));
        }
        u = unit.parent.and_then(|p| cat.org.get(p));
    }
    Err(ApiError::forbidden(
        ErrorCode::RoleForbidden,
        "就业之家由乡镇（街道）、村（社区）和网格的工作人员使用，部门无权查看",
    ))
}

fn covers(t: Option<UnitId>, township: UnitId) -> bool {
    t.is_none_or(|t| t == township)
}

fn name_of(state: &AppState, u: UnitId) -> String {
    state
        .store
        .catalog()
        .org
        .get(u)
        .map(|x| x.name.clone())
        .unwrap_or_default()
}

async fn all_of<A: bihuan_domain::aggregate::Aggregate>(
    state: &AppState,
    t: Option<UnitId>,
) -> ApiResult<Vec<Versioned<A>>> {
    Ok(match t {
        Some(t) => {
            aggregates::find_all::<A>(state.store.as_ref(), "township", &t.0.to_string(), 0).await?
        }
        None => aggregates::find_all::<A>(state.store.as_ref(), "", "", 0).await?,
    })
}

// ---------------------------------------------------------------------------------------------
// Postings

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostingView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub posting: Posting,
    pub status_label: &'static str,
    pub township_name: String,
    /// Within the township it serves: a 家门口 job.
    pub open: bool,
}

fn posting_view(state: &AppState, v: Versioned<Posting>) -> PostingView {
    let today = local_date(state.clock.now());
    PostingView {
        id: v.id,
        version: v.version,
        status_label: v.state.status.label(),
        township_name: name_of(state, v.state.facts.township),
        open: v.state.open_on(today),
        posting: v.state,
    }
}

/// What is typed for a posting.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostingBody {
    pub title: String,
    pub employer: String,
    #[serde(default)]
    pub enterprise: Option<u64>,
    pub headcount: u32,
    pub requirements: String,
    pub duties: String,
    pub address: String,
    /// 乡镇（街道）编号；工作人员不填时为本乡镇
    #[serde(default)]
    pub township: Option<u32>,
    pub pay_min: u32,
    pub pay_max: u32,
    pub hours: String,
    #[schema(value_type = String, format = Date)]
    pub expires_on: NaiveDate,
    /// 对应的用工需求（企业服务诉求的工单号）
    #[serde(default)]
    pub from_demand: Option<String>,
    /// 经商会收集
    #[serde(default)]
    pub via_chamber: bool,
}

async fn facts(state: &AppState, c: &Caller, mut b: PostingBody) -> ApiResult<PostingFacts> {
    // An employer posts for its own enterprise, in its township, under its name.
    if let Some(e) = employer_of(state, c).await? {
        b.enterprise = Some(e.enterprise);
        b.employer = e.name;
        b.from_demand = None;
        return Ok(posting_facts(b, e.township));
    }
    let mine = township_of(state, c)?;
    let township = match (b.township, mine) {
        (Some(t), _) => UnitId(t),
        (None, Some(t)) => t,
        (None, None) => {
            return Err(ApiError::from(DomainError::invalid(
                "job_posting",
                "请选择岗位所在的乡镇（街道）",
            )))
        }
    };
    let cat = state.store.catalog();
    if cat
        .org
        .get(township)
        .is_none_or(|u| u.kind != UnitKind::Township)
    {
        return Err(ApiError::from(DomainError::invalid(
            "job_posting",
            "没有这个乡镇（街道）",
        )));
    }
    if !covers(mine, township) {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "只能为本乡镇（街道）登记岗位",
        ));
    }
    if let Some(e) = b.enterprise {
        load_or_404::<bihuan_domain::enterprise::Enterprise>(
            state.store.as_ref(),
            e,
            "企业台账中没有这家企业",
        )
        .await?;
    }
    if let Some(n) = &b.from_demand {
        let number = n.parse::<bihuan_domain::AppealNumber>().map_err(|_| {
            ApiError::from(DomainError::invalid("job_posting", "用工需求的工单号无效"))
        })?;
        state
            .store
            .appeal(bihuan_store::AppealRef::Number(number))
            .await
            .map_err(|_| {
                ApiError::from(DomainError::invalid("job_posting", format!("没有工单 {n}")))
            })?;
    }
    Ok(posting_facts(b, township))
}

fn posting_facts(b: PostingBody, township: UnitId) -> PostingFacts {
    PostingFacts {
        title: b.title,
        employer: b.employer,
        enterprise: b.enterprise,
        headcount: b.headcount,
        requirements: b.requirements,
        duties: b.duties,
        address: b.address,
        township,
        pay_min: b.pay_min,
        pay_max: b.pay_max,
        hours: b.hours,
        expires_on: b.expires_on,
        from_demand: b.from_demand,
        via_chamber: b.via_chamber,
    }
}

pub async fn new_posting(state: &AppState, c: &Caller, b: PostingBody) -> ApiResult<PostingView> {
    let f = facts(state, c, b).await?;
    let v = aggregates::execute::<Posting>(
        state.store.as_ref(),
        None,
        PostingCommand::Draft(Box::new(f)),
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    Ok(posting_view(state, v))
}

async fn mine_posting(state: &AppState, c: &Caller, id: u64) -> ApiResult<Versioned<Posting>> {
    let v = load_or_404::<Posting>(state.store.as_ref(), id, "没有这个岗位").await?;
    if let Some(e) = employer_of(state, c).await? {
        if v.state.facts.enterprise != Some(e.enterprise) {
            return Err(ApiError::not_found("没有这个岗位，或它不是本单位的"));
        }
        return Ok(v);
    }
    if !covers(township_of(state, c)?, v.state.facts.township) {
        return Err(ApiError::not_found("没有这个岗位，或它不属于本乡镇"));
    }
    Ok(v)
}

async fn posting_step(
    state: &AppState,
    c: &Caller,
    id: u64,
    cmd: PostingCommand,
) -> ApiResult<PostingView> {
    let v = mine_posting(state, c, id).await?;
    let v = aggregates::execute::<Posting>(
        state.store.as_ref(),
        Some(id),
        cmd,
        c.actor.clone(),
        state.clock.now(),
        Some(v.version),
    )
    .await?;
    Ok(posting_view(state, v))
}

pub async fn edit(state: &AppState, c: &Caller, id: u64, b: PostingBody) -> ApiResult<PostingView> {
    let f = facts(state, c, b).await?;
    posting_step(state, c, id, PostingCommand::Edit(Box::new(f))).await
}

pub async fn submit(state: &AppState, c: &Caller, id: u64) -> ApiResult<PostingView> {
    posting_step(
        state,
        c,
        id,
        PostingCommand::Submit {
            rules: default_rules(),
        },
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PostingReview)]
pub struct ReviewBody {
    pub approve: bool,
    #[serde(default)]
    pub note: String,
}

pub async fn review(
    state: &AppState,
    c: &Caller,
    id: u64,
    b: ReviewBody,
) -> ApiResult<PostingView> {
    posting_step(
        state,
        c,
        id,
        PostingCommand::Review {
            approve: b.approve,
            note: b.note,
        },
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// filled（已招满）、expired（已过期）、withdrawn（已撤回）
    pub status: String,
    #[serde(default)]
    pub note: String,
}

pub async fn close(state: &AppState, c: &Caller, id: u64, b: CloseBody) -> ApiResult<PostingView> {
    let status = PostingStatus::parse(&b.status).ok_or_else(|| {
        ApiError::from(DomainError::invalid(
            "job_posting",
            "结束时请选择：filled（已招满）、expired（已过期）、withdrawn（已撤回）",
        ))
    })?;
    posting_step(
        state,
        c,
        id,
        PostingCommand::Close {
            status,
            note: b.note,
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct PostingQuery {
    /// draft、pending、published、filled、expired、withdrawn
    #[serde(default)]
    pub status: Option<String>,
}

pub async fn postings(
    state: &AppState,
    c: &Caller,
    q: &PostingQuery,
) -> ApiResult<Vec<PostingView>> {
    let employer = employer_of(state, c).await?;
    let t = match &employer {
        Some(e) => Some(e.township),
        None => township_of(state, c)?,
    };
    let status = q
        .status
        .as_deref()
        .map(|s| {
            PostingStatus::parse(s).ok_or_else(|| {
                ApiError::from(DomainError::invalid(
                    "job_posting",
                    format!("状态「{s}」无效"),
                ))
            })
        })
        .transpose()?;
    let mut out: Vec<PostingView> = all_of::<Posting>(state, t)
        .await?
        .into_iter()
        .filter(|v| status.is_none_or(|s| v.state.status == s))
        .filter(|v| {
            employer
                .as_ref()
                .is_none_or(|e| v.state.facts.enterprise == Some(e.enterprise))
        })
        .map(|v| posting_view(state, v))
        .collect();
    out.sort_by_key(|x| std::cmp::Reverse(x.id));
    Ok(out)
}

/// A seeker suggested for a posting, masked as the reader may see them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suggested {
    pub seeker: u64,
    pub name: String,
    pub tags: Vec<String>,
    #[serde(flatten)]
    pub fit: Suitability,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostingDetail {
    #[serde(flatten)]
    pub view: PostingView,
    /// Seekers who consented to referral, best first, with why.
    pub suggested: Vec<Suggested>,
    pub referrals: Vec<ReferralView>,
}

pub async fn posting(state: &AppState, c: &Caller, id: u64) -> ApiResult<PostingDetail> {
    let v = mine_posting(state, c, id).await?;
    // An employer sees who was referred to its posting, not the villagers' register.
    if employer_of(state, c).await?.is_some() {
        let list =
            aggregates::find_all::<Referral>(state.store.as_ref(), "posting", &id.to_string(), 0)
                .await?;
        let referrals = referral_views(state, c, list).await?;
        return Ok(PostingDetail {
            view: posting_view(state, v),
            suggested: vec![],
            referrals,
        });
    }
    let mut suggested: Vec<Suggested> =
        aggregates::find_all::<Seeker>(state.store.as_ref(), "", "", 0)
            .await?
            .into_iter()
            .filter_map(|s| {
                let fit = suits(&s.state, &v.state)?;
                Some(Suggested {
                    seeker: s.id,
                    name: bihuan_domain::appeal::mask_name(&s.state.name),
                    tags: s.state.tags.clone(),
                    fit,
                })
            })
            .collect();
    suggested.sort_by(|a, b| b.fit.score.cmp(&a.fit.score).then(a.seeker.cmp(&b.seeker)));
    suggested.truncate(20);
    let referrals = referral_views(
        state,
        c,
        aggregates::find_all::<Referral>(state.store.as_ref(), "posting", &id.to_string(), 0)
            .await?,
    )
    .await?;
    Ok(PostingDetail {
        view: posting_view(state, v),
        suggested,
        referrals,
    })
}

/// An open posting as the public page shows it: nothing personal.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicPosting {
    pub id: u64,
    pub title: String,
    pub employer: String,
    pub headcount: u32,
    pub requirements: String,
    pub duties: String,
    pub address: String,
    pub township: String,
    pub pay_min: u32,
    pub pay_max: u32,
    pub hours: String,
    #[schema(value_type = String, format = Date)]
    pub expires_on: NaiveDate,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct PublicQuery {
    /// 乡镇（街道）编号
    #[serde(default)]
    pub township: Option<u32>,
}

/// The open postings (published, not past their date), of a township or the county.
pub async fn public(state: &AppState, q: &PublicQuery) -> ApiResult<Vec<PublicPosting>> {
    let today = local_date(state.clock.now());
    let list = all_of::<Posting>(state, q.township.map(UnitId)).await?;
    let mut out: Vec<PublicPosting> = list
        .into_iter()
        .filter(|v| v.state.open_on(today))
        .map(|v| {
            let f = v.state.facts;
            PublicPosting {
                id: v.id,
                title: f.title,
                employer: f.employer,
                headcount: f.headcount,
                requirements: f.requirements,
                duties: f.duties,
                address: f.address,
                township: name_of(state, f.township),
                pay_min: f.pay_min,
                pay_max: f.pay_max,
                hours: f.hours,
                expires_on: f.expires_on,
            }
        })
        .collect();
    out.sort_by_key(|x| std::cmp::Reverse(x.id));
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Seekers

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SeekerView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub seeker: Seeker,
    pub township_name: String,
}

fn seeker_view(state: &AppState, c: &Caller, v: Versioned<Seeker>) -> SeekerView {
    let full = township_of(state, c).is_ok_and(|t| t == Some(v.state.township))
        || matches!(c.user.role, bihuan_domain::lifecycle::Role::Admin);
    let mut s = v.state;
    if !full {
        use bihuan_domain::redact::Redact;
        s.name = bihuan_domain::appeal::mask_name(&s.name);
        s.phone = s.phone.as_ref().map(Redact::redacted);
    }
    SeekerView {
        id: v.id,
        version: v.version,
        township_name: name_of(state, s.township),
        seeker: s,
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeekerBody {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// 村（社区）或网格编号；不填时为本乡镇
    #[serde(default)]
    pub village: Option<u32>,
    #[serde(default)]
    pub township: Option<u32>,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub wishes: Vec<String>,
    #[serde(default)]
    pub near_home: bool,
    #[serde(default)]
    pub available: String,
    /// 退役军人、就业困难人员、返乡人员 …
    #[serde(default)]
    pub tags: Vec<String>,
    pub consent: Consent,
}

pub async fn new_seeker(state: &AppState, c: &Caller, b: SeekerBody) -> ApiResult<SeekerView> {
    let mine = township_of(state, c)?;
    let township = match (b.township.map(UnitId), mine) {
        (Some(t), _) => t,
        (None, Some(t)) => t,
        (None, None) => {
            return Err(ApiError::from(DomainError::invalid(
                "job_seeker",
                "请选择求职者所在的乡镇（街道）",
            )))
        }
    };
    if !covers(mine, township)
        || state
            .store
            .catalog()
            .org
            .get(township)
            .is_none_or(|u| u.kind != UnitKind::Township)
    {
        return Err(ApiError::from(DomainError::invalid(
            "job_seeker",
            "只能登记本乡镇（街道）的求职者",
        )));
    }
    let phone = crate::enterprises::parse_phone(b.phone.as_deref())?;
    let s = Seeker {
        name: b.name,
        phone,
        township,
        village: b.village.map(UnitId),
        skills: b.skills,
        wishes: b.wishes,
        near_home: b.near_home,
        available: b.available,
        tags: b.tags,
        consent: b.consent,
        closed: None,
    };
    let v = aggregates::execute::<Seeker>(
        state.store.as_ref(),
        None,
        SeekerCommand::Register(Box::new(s)),
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    Ok(seeker_view(state, c, v))
}

async fn mine_seeker(state: &AppState, c: &Caller, id: u64) -> ApiResult<Versioned<Seeker>> {
    let v = load_or_404::<Seeker>(state.store.as_ref(), id, "没有这位求职者").await?;
    if !covers(township_of(state, c)?, v.state.township) {
        return Err(ApiError::not_found("没有这位求职者，或不属于本乡镇"));
    }
    Ok(v)
}

pub async fn seekers(state: &AppState, c: &Caller) -> ApiResult<Vec<SeekerView>> {
    let t = township_of(state, c)?;
    Ok(all_of::<Seeker>(state, t)
        .await?
        .into_iter()
        .map(|v| seeker_view(state, c, v))
        .collect())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SeekerDetail {
    #[serde(flatten)]
    pub view: SeekerView,
    /// Open postings that suit them, best first, with why.
    pub postings: Vec<PostingFit>,
    pub referrals: Vec<ReferralView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostingFit {
    pub posting: u64,
    pub title: String,
    pub employer: String,
    #[serde(flatten)]
    pub fit: Suitability,
}

pub async fn seeker(state: &AppState, c: &Caller, id: u64) -> ApiResult<SeekerDetail> {
    let v = mine_seeker(state, c, id).await?;
    let today = local_date(state.clock.now());
    let mut postings: Vec<PostingFit> =
        aggregates::find_all::<Posting>(state.store.as_ref(), "", "", 0)
            .await?
            .into_iter()
            .filter(|p| p.state.open_on(today))
            .filter_map(|p| {
                let fit = suits(&v.state, &p.state)?;
                Some(PostingFit {
                    posting: p.id,
                    title: p.state.facts.title.clone(),
                    employer: p.state.facts.employer.clone(),
                    fit,
                })
            })
            .collect();
    postings.sort_by(|a, b| {
        b.fit
            .score
            .cmp(&a.fit.score)
            .then(a.posting.cmp(&b.posting))
    });
    let referrals = referral_views(
        state,
        c,
        aggregates::find_all::<Referral>(state.store.as_ref(), "seeker", &id.to_string(), 0)
            .await?,
    )
    .await?;
    Ok(SeekerDetail {
        view: seeker_view(state, c, v),
        postings,
        referrals,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SeekerClose)]
pub struct ReasonBody {
    pub reason: String,
}

pub async fn close_seeker(
    state: &AppState,
    c: &Caller,
    id: u64,
    b: ReasonBody,
) -> ApiResult<SeekerView> {
    let v = mine_seeker(state, c, id).await?;
    let v = aggregates::execute::<Seeker>(
        state.store.as_ref(),
        Some(id),
        SeekerCommand::Close { reason: b.reason },
        c.actor.clone(),
        state.clock.now(),
        Some(v.version),
    )
    .await?;
    Ok(seeker_view(state, c, v))
}

// ---------------------------------------------------------------------------------------------
// Referrals

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferralView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub referral: Referral,
    pub stage_label: &'static str,
    pub posting_title: String,
    pub employer: String,
    /// The seeker as the reader may see them.
    pub seeker_name: String,
    /// Given to the employer only with the seeker's consent.
    pub seeker_phone: Option<String>,
    /// Follow-ups due now (months after the hire).
    pub follow_ups_due: Vec<u32>,
}

async fn referral_views(
    state: &AppState,
    c: &Caller,
    list: Vec<Versioned<Referral>>,
) -> ApiResult<Vec<ReferralView>> {
    let today = local_date(state.clock.now());
    let postings = aggregates::load_many::<Posting>(
        state.store.as_ref(),
        &list.iter().map(|r| r.state.posting).collect::<Vec<_>>(),
    )
    .await?;
    let seekers = aggregates::load_many::<Seeker>(
        state.store.as_ref(),
        &list.iter().map(|r| r.state.seeker).collect::<Vec<_>>(),
    )
    .await?;
    Ok(list
        .into_iter()
        .map(|r| {
            let p = postings.get(&r.state.posting);
            let s = seekers
                .get(&r.state.seeker)
                .map(|s| seeker_view(state, c, s.clone()));
            ReferralView {
                id: r.id,
                version: r.version,
                stage_label: r.state.stage.label(),
                posting_title: p.map(|p| p.state.facts.title.clone()).unwrap_or_default(),
                employer: p
                    .map(|p| p.state.facts.employer.clone())
                    .unwrap_or_default(),
                seeker_name: s
                    .as_ref()
                    .map(|s| s.seeker.name.clone())
                    .unwrap_or_default(),
                seeker_phone: s
                    .as_ref()
                    .filter(|s| s.seeker.consent.share_phone)
                    .and_then(|s| s.seeker.phone.as_ref().map(|p| p.expose().to_string())),
                follow_ups_due: r.state.follow_ups_due(today),
                referral: r.state,
            }
        })
        .collect())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferBody {
    pub posting: u64,
    pub seeker: u64,
    #[serde(default)]
    pub note: String,
}

pub async fn refer(state: &AppState, c: &Caller, b: ReferBody) -> ApiResult<ReferralView> {
    let p = mine_posting(state, c, b.posting).await?;
    let s = load_or_404::<Seeker>(state.store.as_ref(), b.seeker, "没有这位求职者").await?;
    let today = local_date(state.clock.now());
    if !p.state.open_on(today) {
        return Err(ApiError::from(DomainError::invalid(
            "job_referral",
            "岗位未发布或已结束，不能推荐",
        )));
    }
    if !s.state.consent.referral || s.state.closed.is_some() {
        return Err(ApiError::from(DomainError::invalid(
            "job_referral",
            "求职者未同意被推荐，或已就业、已退出",
        )));
    }
    let existing =
        aggregates::find_all::<Referral>(state.store.as_ref(), "seeker", &s.id.to_string(), 0)
            .await?;
    if existing
        .iter()
        .any(|r| r.state.posting == p.id && r.state.stage != ReferralStage::NotHired)
    {
        return Err(ApiError::from(DomainError::invalid(
            "job_referral",
            "已向这个岗位推荐过这位求职者",
        )));
    }
    let v = aggregates::execute::<Referral>(
        state.store.as_ref(),
        None,
        ReferralCommand::Refer {
            posting: p.id,
            seeker: s.id,
            township: p.state.facts.township,
            tags: s.state.tags.clone(),
            note: b.note,
        },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    Ok(referral_views(state, c, vec![v]).await?.remove(0))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// interview（面试）、hire（录用）、reject（未录用）、follow_up（回访）
    pub step: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub on: Option<NaiveDate>,
    #[serde(default)]
    pub note: String,
    /// follow_up：录用后第几个月（1、3、6）
    #[serde(default)]
    pub months: Option<u32>,
    /// follow_up：是否仍在岗
    #[serde(default)]
    pub employed: Option<bool>,
}

pub async fn step(state: &AppState, c: &Caller, id: u64, b: StepBody) -> ApiResult<ReferralView> {
    let r = load_or_404::<Referral>(state.store.as_ref(), id, "没有这次推荐").await?;
    if !covers(township_of(state, c)?, r.state.township) {
        return Err(ApiError::not_found("没有这次推荐，或不属于本乡镇"));
    }
    let on = b.on.unwrap_or_else(|| local_date(state.clock.now()));
    let cmd = match b.step.as_str() {
        "interview" => ReferralCommand::Interview { on, note: b.note },
        "hire" => ReferralCommand::Hire { on },
        "reject" => ReferralCommand::Reject { note: b.note },
        "follow_up" => match (b.months, b.employed) {
            (Some(months), Some(employed)) => ReferralCommand::FollowUp { months, employed, note: b.note },
            _ => return Err(ApiError::from(DomainError::invalid("months", "回访时请写明第几个月（1、3、6）和是否仍在岗"))),
        },
        other => return Err(ApiError::from(DomainError::invalid("job_referral", format!("步骤「{other}」无效，可选：interview（面试）、hire（录用）、reject（未录用）、follow_up（回访）")))),
    };
    let hired = matches!(cmd, ReferralCommand::Hire { .. });
    let v = aggregates::execute::<Referral>(
        state.store.as_ref(),
        Some(id),
        cmd,
        c.actor.clone(),
        state.clock.now(),
        Some(r.version),
    )
    .await?;
    if hired {
        // The posting counts its hires; the seeker is placed and no longer suggested.
        let mut sys = c.clone();
        sys.actor.role = bihuan_domain::lifecycle::Role::System;
        aggregates::execute::<Posting>(
            state.store.as_ref(),
            Some(v.state.posting),
            PostingCommand::Hired,
            sys.actor.clone(),
            state.clock.now(),
            None,
        )
        .await?;
        aggregates::execute::<Seeker>(
            state.store.as_ref(),
            Some(v.state.seeker),
            SeekerCommand::Close {
                reason: format!("经推荐于 {on} 录用"),
            },
            sys.actor,
            state.clock.now(),
            None,
        )
        .await?;
    }
    Ok(referral_views(state, c, vec![v]).await?.remove(0))
}

pub async fn referrals(state: &AppState, c: &Caller) -> ApiResult<Vec<ReferralView>> {
    let t = township_of(state, c)?;
    let list = all_of::<Referral>(state, t).await?;
    referral_views(state, c, list).await
}

// ---------------------------------------------------------------------------------------------
// Loans

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoanView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub loan: Loan,
    pub status_label: &'static str,
    pub township_name: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoanBody {
    /// individual（个人）、small_enterprise（小微企业）
    pub borrower: String,
    pub applicant: String,
    #[serde(default)]
    pub enterprise: Option<u64>,
    #[serde(default)]
    pub seeker: Option<u64>,
    #[serde(default)]
    pub township: Option<u32>,
    /// 金额（元）
    pub amount: u64,
    /// 期限（月）
    pub months: u32,
    pub bank: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub applied_on: Option<NaiveDate>,
    #[serde(default)]
    pub tags: Vec<String>,
}

fn loan_view(state: &AppState, v: Versioned<Loan>) -> LoanView {
    LoanView {
        id: v.id,
        version: v.version,
        status_label: v.state.status.label(),
        township_name: name_of(state, v.state.township),
        loan: v.state,
    }
}

pub async fn new_loan(state: &AppState, c: &Caller, b: LoanBody) -> ApiResult<LoanView> {
    let mine = township_of(state, c)?;
    let township =
        b.township.map(UnitId).or(mine).ok_or_else(|| {
            ApiError::from(DomainError::invalid("job_loan", "请选择乡镇（街道）"))
        })?;
    if !covers(mine, township) {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "只能登记本乡镇（街道）的贷款",
        ));
    }
    let borrower = Borrower::parse(&b.borrower).ok_or_else(|| {
        ApiError::from(DomainError::invalid(
            "job_loan",
            "借款人类型请选择：individual（个人）、small_enterprise（小微企业）",
        ))
    })?;
    let loan = Loan {
        borrower,
        applicant: b.applicant,
        enterprise: b.enterprise,
        seeker: b.seeker,
        township,
        amount: b.amount,
        months: b.months,
        bank: b.bank,
        status: LoanStatus::Applied,
        applied_on: b
            .applied_on
            .unwrap_or_else(|| local_date(state.clock.now())),
        decided_on: None,
        warnings: vec![],
        tags: b.tags,
    };
    let v = aggregates::execute::<Loan>(
        state.store.as_ref(),
        None,
        LoanCommand::Apply {
            loan: Box::new(loan),
            caps: default_caps(),
        },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    Ok(loan_view(state, v))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoanDecision {
    pub granted: bool,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub on: Option<NaiveDate>,
}

pub async fn decide_loan(
    state: &AppState,
    c: &Caller,
    id: u64,
    b: LoanDecision,
) -> ApiResult<LoanView> {
    let v = load_or_404::<Loan>(state.store.as_ref(), id, "没有这笔贷款").await?;
    if !covers(township_of(state, c)?, v.state.township) {
        return Err(ApiError::not_found("没有这笔贷款，或不属于本乡镇"));
    }
    let on = b.on.unwrap_or_else(|| local_date(state.clock.now()));
    let v = aggregates::execute::<Loan>(
        state.store.as_ref(),
        Some(id),
        LoanCommand::Decide {
            granted: b.granted,
            on,
        },
        c.actor.clone(),
        state.clock.now(),
        Some(v.version),
    )
    .await?;
    Ok(loan_view(state, v))
}

pub async fn loans(state: &AppState, c: &Caller) -> ApiResult<Vec<LoanView>> {
    let t = township_of(state, c)?;
    Ok(all_of::<Loan>(state, t)
        .await?
        .into_iter()
        .map(|v| loan_view(state, v))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Figures

/// One township's figures over a period.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct JobFigures {
    pub township: u32,
    pub name: String,
    /// Postings published in the period, and their headcount.
    pub published: u64,
    pub headcount: u64,
    /// Of them, in the township (家门口).
    pub open_now: u64,
    pub referrals: u64,
    pub placements: u64,
    /// Placements followed up at 3 (6) months, and how many were still employed.
    pub followed_3: u64,
    pub retained_3: u64,
    pub followed_6: u64,
    pub retained_6: u64,
    pub loans: u64,
    pub loan_amount: u64,
    /// Placements of seekers by tag (退役军人, 就业困难人员 …).
    pub placed_by_tag: BTreeMap<String, u64>,
}

/// The period the figures cover.
pub type JobFigureQuery = crate::views::DateRange;

/// The figures of each township in the caller's scope, and their total (township 0).
pub async fn figures(
    state: &AppState,
    c: &Caller,
    q: &JobFigureQuery,
) -> ApiResult<Vec<JobFigures>> {
    let t = township_of(state, c)?;
    let today = local_date(state.clock.now());
    let (from, to) = q.resolve(today)?;
    let inside = |d: Option<NaiveDate>| d.is_some_and(|d| from <= d && d <= to);
    let mut by: BTreeMap<u32, JobFigures> = BTreeMap::new();
    fn row<'a>(
        by: &'a mut BTreeMap<u32, JobFigures>,
        state: &AppState,
        u: UnitId,
    ) -> &'a mut JobFigures {
        by.entry(u.0).or_insert_with(|| JobFigures {
            township: u.0,
            name: name_of(state, u),
            ..JobFigures::default()
        })
    }
    for p in all_of::<Posting>(state, t).await? {
        let r = row(&mut by, state, p.state.facts.township);
        if inside(p.state.published_on) {
            r.published += 1;
            r.headcount += u64::from(p.state.facts.headcount);
        }
        r.open_now += u64::from(p.state.open_on(today));
    }
    for x in all_of::<Referral>(state, t).await? {
        let r = row(&mut by, state, x.state.township);
        r.referrals += u64::from(inside(Some(x.state.referred_on)));
        if x.state.stage == ReferralStage::Hired && inside(x.state.hired_on) {
            r.placements += 1;
            for tag in &x.state.tags {
                *r.placed_by_tag.entry(tag.clone()).or_default() += 1;
            }
            if let Some(k) = x.state.retained(3) {
                r.followed_3 += 1;
                r.retained_3 += u64::from(k);
            }
            if let Some(k) = x.state.retained(6) {
                r.followed_6 += 1;
                r.retained_6 += u64::from(k);
            }
        }
    }
    for l in all_of::<Loan>(state, t).await? {
        if l.state.status == LoanStatus::Granted && inside(l.state.decided_on) {
            let r = row(&mut by, state, l.state.township);
            r.loans += 1;
            r.loan_amount += l.state.amount;
        }
    }
    let mut total = JobFigures {
        township: 0,
        name: "合计".into(),
        ..JobFigures::default()
    };
    for r in by.values() {
        total.published += r.published;
        total.headcount += r.headcount;
        total.open_now += r.open_now;
        total.referrals += r.referrals;
        total.placements += r.placements;
        total.followed_3 += r.followed_3;
        total.retained_3 += r.retained_3;
        total.followed_6 += r.followed_6;
        total.retained_6 += r.retained_6;
        total.loans += r.loans;
        total.loan_amount += r.loan_amount;
        for (k, n) in &r.placed_by_tag {
            *total.placed_by_tag.entry(k.clone()).or_default() += n;
        }
    }
    let mut out: Vec<JobFigures> = by.into_values().collect();
    out.push(total);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Handlers

type Created<T> = ApiResult<(axum::http::StatusCode, Json<T>)>;
fn created<T>(v: T) -> Created<T> {
    Ok((axum::http::StatusCode::CREATED, Json(v)))
}

async fn postings_api(
    State(s): State<AppState>,
    c: Caller,
    QueryParams(q): QueryParams<PostingQuery>,
) -> ApiResult<Json<Vec<PostingView>>> {
    Ok(Json(postings(&s, &c, &q).await?))
}
async fn new_posting_api(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<PostingBody>,
) -> Created<PostingView> {
    created(new_posting(&s, &c, b).await?)
}
async fn public_api(
    State(s): State<AppState>,
    QueryParams(q): QueryParams<PublicQuery>,
) -> ApiResult<Json<Vec<PublicPosting>>> {
    Ok(Json(public(&s, &q).await?))
}
async fn posting_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<PostingDetail>> {
    Ok(Json(posting(&s, &c, id).await?))
}
async fn edit_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<PostingBody>,
) -> ApiResult<Json<PostingView>> {
    Ok(Json(edit(&s, &c, id, b).await?))
}
async fn submit_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<PostingView>> {
    Ok(Json(submit(&s, &c, id).await?))
}
async fn review_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<ReviewBody>,
) -> ApiResult<Json<PostingView>> {
    Ok(Json(review(&s, &c, id, b).await?))
}
async fn close_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<CloseBody>,
) -> ApiResult<Json<PostingView>> {
    Ok(Json(close(&s, &c, id, b).await?))
}
async fn seekers_api(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Vec<SeekerView>>> {
    Ok(Json(seekers(&s, &c).await?))
}
async fn new_seeker_api(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<SeekerBody>,
) -> Created<SeekerView> {
    created(new_seeker(&s, &c, b).await?)
}
async fn seeker_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<SeekerDetail>> {
    Ok(Json(seeker(&s, &c, id).await?))
}
async fn close_seeker_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<ReasonBody>,
) -> ApiResult<Json<SeekerView>> {
    Ok(Json(close_seeker(&s, &c, id, b).await?))
}
async fn referrals_api(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Vec<ReferralView>>> {
    Ok(Json(referrals(&s, &c).await?))
}
async fn refer_api(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<ReferBody>,
) -> Created<ReferralView> {
    created(refer(&s, &c, b).await?)
}
async fn step_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<StepBody>,
) -> ApiResult<Json<ReferralView>> {
    Ok(Json(step(&s, &c, id, b).await?))
}
async fn loans_api(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Vec<LoanView>>> {
    Ok(Json(loans(&s, &c).await?))
}
async fn new_loan_api(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<LoanBody>,
) -> Created<LoanView> {
    created(new_loan(&s, &c, b).await?)
}
async fn decide_loan_api(
    State(s): State<AppState>,
    c: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<LoanDecision>,
) -> ApiResult<Json<LoanView>> {
    Ok(Json(decide_loan(&s, &c, id, b).await?))
}
async fn figures_api(
    State(s): State<AppState>,
    c: Caller,
    QueryParams(q): QueryParams<JobFigureQuery>,
) -> ApiResult<Json<Vec<JobFigures>>> {
    Ok(Json(figures(&s, &c, &q).await?))
}
