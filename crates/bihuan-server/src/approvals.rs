//! 一件事一次办: the matter catalogue, packages, applications with their parallel tasks, and
//! 行政审批效率 — the use cases the API (`/api/v1/matters`, `/api/v1/packages`,
//! `/api/v1/applications`, `/api/v1/approval-efficiency`) and the console (`/approvals`) share.
//! The rules live in `bihuan_domain::approvals`; this module reads what a command needs (the
//! package's matters, the package an application is made under), scopes by unit, and masks
//! the applicant's contact where it is not needed.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::aggregate::Versioned;
use bihuan_domain::approvals::{
    Applicant, ApplicantKind, Application, ApplicationCommand, ApplicationStatus, Efficiency,
    Handed, Matter, MatterCommand, MatterRef, MatterSpec, Missing, Package, PackageCommand,
    PackageSpec, StopKind, TaskClock, TaskDecision,
};
use bihuan_domain::lifecycle::{Actor, Role};
use bihuan_domain::org::UnitId;
use bihuan_domain::time::{local_date, Instant};
use bihuan_domain::{DomainError, ErrorCode, Phone};
use bihuan_store::aggregates;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, JsonBody, JsonOrMultipart, PathParams, QueryParams};
use crate::AppState;

/// An application's body may carry every material of a package, each up to 10 MiB.
pub const MATERIALS_LIMIT: usize = 64 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/matters", get(matters_api).post(define_matter_api))
        .route(
            "/api/v1/matters/{id}",
            get(matter_api).put(revise_matter_api),
        )
        .route("/api/v1/matters/{id}/retire", post(retire_matter_api))
        .route(
            "/api/v1/packages",
            get(packages_api).post(define_package_api),
        )
        .route("/api/v1/packages/{id}", get(package_api))
        .route("/api/v1/packages/{id}/retire", post(retire_package_api))
        .route(
            "/api/v1/applications",
            get(applications_api).merge(
                post(submit_api).layer(axum::extract::DefaultBodyLimit::max(MATERIALS_LIMIT)),
            ),
        )
        .route("/api/v1/applications/{id}", get(application_api))
        .route("/api/v1/applications/{id}/notice", post(notice_api))
        .route(
            "/api/v1/applications/{id}/materials",
            post(hand_api).layer(axum::extract::DefaultBodyLimit::max(MATERIALS_LIMIT)),
        )
        .route(
            "/api/v1/applications/{id}/materials/{code}",
            get(material_api),
        )
        .route("/api/v1/applications/{id}/accept", post(accept_api))
        .route("/api/v1/applications/{id}/not-accept", post(not_accept_api))
        .route("/api/v1/applications/{id}/withdraw", post(withdraw_api))
        .route("/api/v1/applications/{id}/issue", post(issue_api))
        .route("/api/v1/applications/{id}/query-code", post(query_code_api))
        .route("/api/v1/applications/{id}/extend", post(extend_api))
        .route(
            "/api/v1/applications/{id}/tasks/{matter}/stop",
            post(stop_api),
        )
        .route(
            "/api/v1/applications/{id}/tasks/{matter}/resume",
            post(resume_api),
        )
        .route(
            "/api/v1/applications/{id}/tasks/{matter}/decide",
            post(decide_api),
        )
        .route("/api/v1/approval-efficiency", get(efficiency_api))
}

/// The window (综合窗口): the centre's intake and dispatch staff and administrators.
pub fn is_window(c: &Caller) -> bool {
    bihuan_domain::approvals::WINDOW_ROLES.contains(&c.user.role)
}

/// Who sees every application: the window, leaders and supervisors.
fn sees_all(c: &Caller) -> bool {
    is_window(c) || matches!(c.user.role, Role::Leader | Role::Supervisor)
}

/// Whether the caller may see this application: all of them, or one with a task at the
/// caller's unit.
pub fn may_see(c: &Caller, a: &Application) -> bool {
    sees_all(c)
        || (matches!(c.user.role, Role::Handler | Role::UnitLeader)
            && a.tasks.iter().any(|t| t.unit == c.user.unit))
}

fn today(state: &AppState) -> NaiveDate {
    local_date(state.clock.now())
}

fn unit_name(state: &AppState, u: UnitId) -> String {
    state
        .store
        .catalog()
        .org
        .get(u)
        .map(|x| x.name.clone())
        .unwrap_or_else(|| format!("单位{}", u.0))
}

// ---------------------------------------------------------------------------------------------
// The catalogue

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MatterView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub matter: Matter,
    pub unit_name: String,
}

fn matter_view(state: &AppState, v: Versioned<Matter>) -> MatterView {
    MatterView {
        id: v.id,
        version: v.version,
        unit_name: unit_name(state, v.state.spec.unit),
        matter: v.state,
    }
}

fn check_unit(state: &AppState, u: UnitId, field: &'static str) -> ApiResult<()> {
    if state.store.catalog().org.get(u).is_none() {
        return Err(ApiError::from(DomainError::invalid(
            field,
            format!("没有编号为 {} 的单位，请从单位列表中选择", u.0),
        )));
    }
    Ok(())
}

/// Every matter (the retired ones too, marked), by id.
pub async fn matters(state: &AppState, _c: &Caller) -> ApiResult<Vec<MatterView>> {
    Ok(
        aggregates::find_all::<Matter>(state.store.as_ref(), "", "", 0)
            .await?
            .into_iter()
            .map(|v| matter_view(state, v))
            .collect(),
    )
}

pub async fn define_matter(
    state: &AppState,
    c: &Caller,
    spec: MatterSpec,
) -> ApiResult<MatterView> {
    check_unit(state, spec.unit, "unit")?;
    let code = spec.code.trim().to_string();
    if aggregates::count::<Matter>(state.store.as_ref(), "code", &code).await? > 0 {
        return Err(ApiError::from(DomainError::invalid(
            "code",
            format!("事项编码 {code} 已在目录中"),
        )));
    }
    let v = aggregates::execute::<Matter>(
        state.store.as_ref(),
        None,
        MatterCommand::Define { spec },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    Ok(matter_view(state, v))
}

pub async fn change_matter(
    state: &AppState,
    c: &Caller,
    id: u64,
    cmd: MatterCommand,
) -> ApiResult<MatterView> {
    if let MatterCommand::Revise { spec } = &cmd {
        check_unit(state, spec.unit, "unit")?;
    }
    let v = aggregates::execute::<Matter>(
        state.store.as_ref(),
        Some(id),
        cmd,
        c.actor.clone(),
        state.clock.now(),
        None,
    )
    .await?;
    Ok(matter_view(state, v))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackageView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub package: Package,
    pub lead_name: String,
    /// The units whose matters it combines.
    pub unit_names: Vec<String>,
    /// The matters' statutory limits one after another (the promise's 压缩 is against this).
    pub serial_statutory_days: u32,
}

fn package_view(state: &AppState, v: Versioned<Package>) -> PackageView {
    PackageView {
        id: v.id,
        version: v.version,
        lead_name: unit_name(state, v.state.lead),
        unit_names: v
            .state
            .units()
            .into_iter()
            .map(|u| unit_name(state, u))
            .collect(),
        serial_statutory_days: v.state.serial_statutory_days(),
        package: v.state,
    }
}

pub async fn packages(state: &AppState, _c: &Caller) -> ApiResult<Vec<PackageView>> {
    Ok(
        aggregates::find_all::<Package>(state.store.as_ref(), "", "", 0)
            .await?
            .into_iter()
            .map(|v| package_view(state, v))
            .collect(),
    )
}

pub async fn package(state: &AppState, id: u64) -> ApiResult<PackageView> {
    let v = aggregates::load::<Package>(state.store.as_ref(), id)
        .await
        .map_err(|_| ApiError::not_found("没有这个一件事"))?;
    Ok(package_view(state, v))
}

/// The catalogue's matters a package names, in its order; a missing or retired one refused.
async fn matter_refs(state: &AppState, spec: &PackageSpec) -> ApiResult<Vec<MatterRef>> {
    // Before any read: a list longer than a package may hold is refused as it is.
    if spec.matters.len() > bihuan_domain::approvals::MATTERS_MAX {
        return Err(ApiError::from(DomainError::invalid(
            "matters",
            format!(
                "一件事最多组合{}个事项",
                bihuan_domain::approvals::MATTERS_MAX
            ),
        )));
    }
    let found = aggregates::load_many::<Matter>(state.store.as_ref(), &spec.matters).await?;
    let mut out = Vec::with_capacity(spec.matters.len());
    for id in &spec.matters {
        match found.get(id) {
            Some(m) if !m.state.retired => out.push(MatterRef {
                id: *id,
                spec: m.state.spec.clone(),
            }),
            Some(m) => {
                return Err(ApiError::from(DomainError::invalid(
                    "matters",
                    format!("事项“{}”已停用", m.state.spec.name),
                )))
            }
            None => {
                return Err(ApiError::from(DomainError::invalid(
                    "matters",
                    format!("目录中没有编号为 {id} 的事项"),
                )))
            }
        }
    }
    Ok(out)
}

pub async fn define_package(
    state: &AppState,
    c: &Caller,
    spec: PackageSpec,
) -> ApiResult<PackageView> {
    check_unit(state, spec.lead, "lead")?;
    let matters = matter_refs(state, &spec).await?;
    let v = aggregates::execute::<Package>(
        state.store.as_ref(),
        None,
        PackageCommand::Define { spec, matters },
        c.actor.clone(),
        state.clock.now(),
        Some(0),
    )
    .await?;
    Ok(package_view(state, v))
}

pub async fn retire_package(
    state: &AppState,
    c: &Caller,
    id: u64,
    reason: String,
) -> ApiResult<PackageView> {
    let v = aggregates::execute::<Package>(
        state.store.as_ref(),
        Some(id),
        PackageCommand::Retire { reason },
        c.actor.clone(),
        state.clock.now(),
        None,
    )
    .await?;
    Ok(package_view(state, v))
}

// ---------------------------------------------------------------------------------------------
// Applications

/// An application as the API and the console show it, with its clocks on today's date.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApplicationView {
    pub id: u64,
    pub version: u64,
    #[serde(flatten)]
    pub application: Application,
    pub status_label: &'static str,
    /// The package's promise, moved on by the working days some task's clock stood still.
    #[schema(value_type = Option<String>, format = Date)]
    pub due: Option<NaiveDate>,
    pub overdue: bool,
    /// Each task's clock, in the tasks' order.
    pub clocks: Vec<TaskClock>,
    /// The materials of the list not yet handed in (and not held elsewhere).
    pub missing_codes: Vec<String>,
    /// Waived materials past their date and not handed in.
    pub lapsed_waivers: usize,
    /// The applicant's contact and phone in full (otherwise masked).
    pub contact_full: bool,
    /// The query code (查询码), only in the answer to the submission: the applicant looks
    /// progress up on the portal with the application's number and it. It is kept only as a
    /// digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_code: Option<String>,
}

fn application_view(
    state: &AppState,
    c: &Caller,
    v: Versioned<Application>,
    list: bool,
) -> ApplicationView {
    let cal = &state.store.catalog().calendar;
    let today = today(state);
    let mut a = v.state;
    a.query_digest = None;
    // The window and the task units call the applicant from an application's page; lists
    // and everyone else see the contact masked.
    let full = !list && (is_window(c) || a.tasks.iter().any(|t| t.unit == c.user.unit));
    if !full {
        use bihuan_domain::redact::Redact;
        a.applicant.phone = a.applicant.phone.redacted();
        a.applicant.contact = bihuan_domain::appeal::mask_name(&a.applicant.contact);
        if a.applicant.kind == ApplicantKind::Person {
            a.applicant.name = bihuan_domain::appeal::mask_name(&a.applicant.name);
        }
    }
    ApplicationView {
        id: v.id,
        version: v.version,
        status_label: a.status.label(),
        due: a.due(cal, today),
        overdue: !a.status.is_final()
            && a.status != ApplicationStatus::Decided
            && a.overdue(cal, today),
        clocks: a.clocks(cal, today),
        missing_codes: a
            .missing()
            .iter()
            .map(|m| m.material.code.clone())
            .collect(),
        lapsed_waivers: a.waivers.iter().filter(|w| w.lapsed(today)).count(),
        contact_full: full,
        query_code: None,
        application: a,
    }
}

/// A material handed in: its code in the package's list and the file's name.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandedInput {
    pub code: String,
    /// 文件名
    pub file: String,
}

/// The request to apply for a package.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    /// 一件事编号
    pub package: u64,
    pub applicant: ApplicantInput,
    /// 表单字段（按字段编码）
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// 提交的材料（每项一次）
    #[serde(default)]
    pub materials: Vec<HandedInput>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantInput {
    pub kind: ApplicantKind,
    /// 申请人（个人姓名或企业名称）
    pub name: String,
    /// 统一社会信用代码（企业必填）
    #[serde(default)]
    pub credit_code: Option<String>,
    /// 联系人
    pub contact: String,
    /// 联系电话
    pub phone: String,
}

/// A material's file as uploaded: its code in the package's list, its name and bytes.
#[derive(Debug, Clone)]
pub struct Upload {
    pub code: String,
    pub name: String,
    pub data: Vec<u8>,
}

/// The materials handed in — named only (`items`, as for paper checked at the window) or
/// uploaded (`uploads`, each checked by its content) — and the files to store with the event
/// that names them.
fn handed(
    items: Vec<HandedInput>,
    uploads: Vec<Upload>,
    by: &Actor,
    at: Instant,
) -> ApiResult<(Vec<Handed>, Vec<aggregates::FileBlob>)> {
    let mut out: Vec<Handed> = items
        .into_iter()
        .map(|h| Handed {
            code: h.code.trim().to_string(),
            file: h.file,
            sha256: None,
            size: None,
            at,
        })
        .collect();
    let mut files = Vec::with_capacity(uploads.len());
    for u in uploads {
        let blob = aggregates::FileBlob::new(&u.name, u.data, by.user.0, at)?;
        out.push(Handed {
            code: u.code.trim().to_string(),
            file: u.name.trim().to_string(),
            sha256: Some(blob.sha256.clone()),
            size: Some(blob.data.len() as u64),
            at,
        });
        files.push(blob);
    }
    Ok((out, files))
}

/// A multipart form read whole: its text fields in order, and its files as (field, file name,
/// bytes), file inputs left empty skipped.
pub type ReadForm = (Vec<(String, String)>, Vec<(String, String, Vec<u8>)>);

/// Reads a multipart form (an application with its materials, a hand-in).
pub async fn read_form(mut mp: axum::extract::Multipart) -> ApiResult<ReadForm> {
    use crate::attachments::multipart_error;
    let (mut fields, mut files) = (Vec::new(), Vec::new());
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_string();
        match field.file_name().map(str::to_string) {
            Some(file) => {
                let data = field.bytes().await.map_err(multipart_error)?;
                if !(file.is_empty() && data.is_empty()) {
                    files.push((name, file, data.to_vec()));
                }
            }
            None => fields.push((name, field.text().await.map_err(multipart_error)?)),
        }
    }
    Ok((fields, files))
}

/// The files of a form's `material:<code>` inputs, as uploads of those materials.
pub fn material_uploads(files: Vec<(String, String, Vec<u8>)>) -> Vec<Upload> {
    files
        .into_iter()
        .filter_map(|(field, name, data)| {
            let code = field.strip_prefix("material:")?.to_string();
            Some(Upload { code, name, data })
        })
        .collect()
}

/// A multipart request's part `application` (the JSON of `T`, if sent) and its material files.
async fn json_and_materials<T: serde::de::DeserializeOwned>(
    mp: axum::extract::Multipart,
) -> ApiResult<(Option<T>, Vec<Upload>)> {
    let (fields, files) = read_form(mp).await?;
    let json = fields
        .into_iter()
        .find(|(k, _)| k == "application")
        .map(|(_, v)| v);
    let value = match json {
        Some(json) => Some(serde_json::from_str(&json).map_err(|e| {
            ApiError::bad_request(
                ErrorCode::MalformedJson,
                format!("application 部分不是有效的 JSON：{e}"),
            )
        })?),
        None => None,
    };
    Ok((value, material_uploads(files)))
}

/// Applies for a package: the one form, and each material once (named, or uploaded and
/// stored with the application in the same transaction).
pub async fn submit(
    state: &AppState,
    c: &Caller,
    req: NewApplication,
    uploads: Vec<Upload>,
) -> ApiResult<ApplicationView> {
    let p = aggregates::load::<Package>(state.store.as_ref(), req.package)
        .await
        .map_err(|_| {
            ApiError::from(DomainError::invalid(
                "package",
                format!("没有编号为 {} 的一件事", req.package),
            ))
        })?;
    let phone = Phone::parse(&req.applicant.phone).map_err(|_| {
        ApiError::from(DomainError::invalid(
            "phone",
            "请填写11位手机号或带区号的固定电话",
        ))
    })?;
    let now = state.clock.now();
    let (handed, files) = handed(req.materials, uploads, &c.actor, now)?;
    let (code, digest) = new_code();
    let v = aggregates::execute_with_files::<Application>(
        state.store.as_ref(),
        None,
        ApplicationCommand::Submit {
            package_id: p.id,
            package: Box::new(p.state),
            applicant: Applicant {
                kind: req.applicant.kind,
                name: req.applicant.name,
                credit_code: req.applicant.credit_code,
                contact: req.applicant.contact,
                phone,
            },
            fields: req.fields,
            handed,
            query_digest: Some(digest),
        },
        files,
        c.actor.clone(),
        now,
        Some(0),
    )
    .await?;
    let mut view = application_view(state, c, v, false);
    view.query_code = Some(code);
    Ok(view)
}

async fn visible(state: &AppState, c: &Caller, id: u64) -> ApiResult<Versioned<Application>> {
    let nf = || ApiError::not_found("没有这件申请（或不在本单位的办理范围内）");
    let v = aggregates::load::<Application>(state.store.as_ref(), id)
        .await
        .map_err(|_| nf())?;
    if !may_see(c, &v.state) {
        return Err(nf());
    }
    Ok(v)
}

pub async fn application(state: &AppState, c: &Caller, id: u64) -> ApiResult<ApplicationView> {
    let v = visible(state, c, id).await?;
    Ok(application_view(state, c, v, false))
}

/// The application's history, oldest first: what happened, when and by whom.
pub async fn timeline(
    state: &AppState,
    c: &Caller,
    id: u64,
) -> ApiResult<Vec<bihuan_domain::aggregate::Recorded<bihuan_domain::approvals::ApplicationEvent>>>
{
    visible(state, c, id).await?;
    Ok(aggregates::history::<Application>(state.store.as_ref(), id).await?)
}

/// Runs a command on application `id` for a caller who may see it.
pub async fn act(
    state: &AppState,
    c: &Caller,
    id: u64,
    cmd: ApplicationCommand,
) -> ApiResult<ApplicationView> {
    visible(state, c, id).await?;
    let v = aggregates::execute::<Application>(
        state.store.as_ref(),
        Some(id),
        cmd,
        c.actor.clone(),
        state.clock.now(),
        None,
    )
    .await?;
    Ok(application_view(state, c, v, false))
}

/// Hands materials in on application `id` (named, or uploaded and stored with the event).
pub async fn hand(
    state: &AppState,
    c: &Caller,
    id: u64,
    items: Vec<HandedInput>,
    uploads: Vec<Upload>,
) -> ApiResult<ApplicationView> {
    visible(state, c, id).await?;
    let v = hand_as(state, c.actor.clone(), id, items, uploads).await?;
    Ok(application_view(state, c, v, false))
}

/// [`hand`] by an actor whose right to the application was checked elsewhere (the applicant
/// on the portal, by the query code).
pub async fn hand_as(
    state: &AppState,
    actor: Actor,
    id: u64,
    items: Vec<HandedInput>,
    uploads: Vec<Upload>,
) -> ApiResult<Versioned<Application>> {
    let now = state.clock.now();
    let (handed, files) = handed(items, uploads, &actor, now)?;
    Ok(aggregates::execute_with_files::<Application>(
        state.store.as_ref(),
        Some(id),
        ApplicationCommand::Hand { handed },
        files,
        actor,
        now,
        None,
    )
    .await?)
}

/// The file of material `code` handed in on application `id`, for a caller who may see it.
pub async fn material_file(
    state: &AppState,
    c: &Caller,
    id: u64,
    code: &str,
) -> ApiResult<(Handed, aggregates::StoredFile, Vec<u8>)> {
    let v = visible(state, c, id).await?;
    stored_material(state, &v, code).await
}

/// The stored file of material `code` on an application already read.
pub async fn stored_material(
    state: &AppState,
    v: &Versioned<Application>,
    code: &str,
) -> ApiResult<(Handed, aggregates::StoredFile, Vec<u8>)> {
    let nf = || ApiError::not_found("这项材料没有上传的文件");
    let h = v
        .state
        .handed
        .iter()
        .find(|h| h.code == code)
        .ok_or_else(nf)?;
    let sha = h.sha256.as_deref().ok_or_else(nf)?;
    let (meta, data) = aggregates::file::<Application>(state.store.as_ref(), v.id, sha)
        .await
        .map_err(|_| nf())?;
    Ok((h.clone(), meta, data))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ApplicationQuery {
    /// 状态：received、noticed、accepted、decided、issued、not_accepted、withdrawn
    pub status: Option<String>,
    /// 一件事编号
    pub package: Option<u64>,
    /// 只看超期的（true）
    pub overdue: Option<bool>,
}

/// The applications the caller may see, newest first (a county's year is thousands).
pub async fn applications(
    state: &AppState,
    c: &Caller,
    q: &ApplicationQuery,
) -> ApiResult<Vec<ApplicationView>> {
    q.filter(visible_applications(state, c).await?)
}

/// Every application the caller may see, newest first, as list rows.
pub async fn visible_applications(state: &AppState, c: &Caller) -> ApiResult<Vec<ApplicationView>> {
    let (key, value) = if sees_all(c) {
        ("", String::new())
    } else if matches!(c.user.role, Role::Handler | Role::UnitLeader) {
        ("unit", c.user.unit.0.to_string())
    } else {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "一件事申请由综合窗口和各审批单位办理，领导和督办人员可以查看",
        ));
    };
    let mut out: Vec<ApplicationView> =
        aggregates::find_all::<Application>(state.store.as_ref(), key, &value, 0)
            .await?
            .into_iter()
            .map(|v| application_view(state, c, v, true))
            .collect();
    out.reverse();
    Ok(out)
}

impl ApplicationQuery {
    /// The rows that meet the query (a status that is not one is refused with the ones that
    /// are).
    pub fn filter(&self, rows: Vec<ApplicationView>) -> ApiResult<Vec<ApplicationView>> {
        let status = match self.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(
                serde_json::from_value::<ApplicationStatus>(serde_json::Value::String(s.into()))
                    .map_err(|_| {
                        ApiError::bad_request(
                            ErrorCode::BadQuery,
                            "status 可用 received、noticed、accepted、decided、issued、not_accepted、withdrawn",
                        )
                    })?,
            ),
            None => None,
        };
        Ok(rows
            .into_iter()
            .filter(|v| status.is_none_or(|s| v.application.status == s))
            .filter(|v| self.package.is_none_or(|p| v.application.package == p))
            .filter(|v| self.overdue != Some(true) || v.overdue)
            .collect())
    }
}

/// A query code (8 digits) and the digest kept of it.
fn new_code() -> (String, String) {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let code = format!("{:08}", rng.gen_range(0..100_000_000u32));
    let salt = format!("{:016x}", rng.gen::<u64>());
    let digest = bihuan_domain::approvals::query_digest(&salt, &code);
    (code, digest)
}

/// A new query code for application `id`'s receipt (the window): the old one stops working.
pub async fn new_query_code(state: &AppState, c: &Caller, id: u64) -> ApiResult<ApplicationView> {
    let (code, digest) = new_code();
    let mut view = act(state, c, id, ApplicationCommand::NewQueryCode { digest }).await?;
    view.query_code = Some(code);
    Ok(view)
}

/// The application `id` for the applicant on the portal, if `code` is its query code.
pub async fn for_applicant(
    state: &AppState,
    id: u64,
    code: &str,
) -> Option<Versioned<Application>> {
    let v = aggregates::load::<Application>(state.store.as_ref(), id)
        .await
        .ok()?;
    let ok = v
        .state
        .query_digest
        .as_deref()
        .is_some_and(|d| bihuan_domain::approvals::query_matches(d, code));
    ok.then_some(v)
}

/// The scan's part: accepts, as of receipt, every application the window left unchecked past
/// its five working days (Art 32(4)), and supervises each task and package past its promise
/// once. Returns how many commands it ran.
pub async fn scan(state: &AppState, now: Instant) -> ApiResult<u64> {
    let actor = crate::scanner::system_actor(state);
    let open = aggregates::find_all::<Application>(state.store.as_ref(), "open", "1", 0).await?;
    let cal = state.store.catalog().calendar.clone();
    let today = local_date(now);
    let mut n = 0;
    for v in open {
        let a = &v.state;
        let cmd = if a.deemed_by(today) {
            ApplicationCommand::Deem
        } else if a.supervision_due(&cal, today).is_some() {
            ApplicationCommand::Supervise
        } else {
            continue;
        };
        match aggregates::execute::<Application>(
            state.store.as_ref(),
            Some(v.id),
            cmd,
            actor.clone(),
            now,
            Some(v.version),
        )
        .await
        {
            Ok(_) => n += 1,
            // Changed meanwhile (another server's scan, or the window): the next pass sees it.
            Err(bihuan_store::StoreError::Domain(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

/// 行政审批效率 for a period, of the applications the caller may see.
pub async fn efficiency(
    state: &AppState,
    c: &Caller,
    period: bihuan_domain::metrics::Period,
) -> ApiResult<Efficiency> {
    let rows = visible_applications(state, c).await?;
    Ok(figures(state, rows.iter().map(|v| &v.application), period))
}

/// The county's figures for a period (the dashboard's five rates read them).
pub async fn county_efficiency(
    state: &AppState,
    period: bihuan_domain::metrics::Period,
) -> ApiResult<Efficiency> {
    let all = aggregates::find_all::<Application>(state.store.as_ref(), "", "", 0).await?;
    Ok(figures(state, all.iter().map(|v| &v.state), period))
}

/// The figures of these applications for the days of `period`, as of today.
pub fn figures<'a>(
    state: &AppState,
    apps: impl IntoIterator<Item = &'a Application>,
    period: bihuan_domain::metrics::Period,
) -> Efficiency {
    let cal = state.store.catalog().calendar.clone();
    let last = period.end - chrono::Duration::seconds(1);
    bihuan_domain::approvals::efficiency(
        apps,
        &cal,
        local_date(period.start),
        local_date(last),
        today(state),
    )
}

// ---------------------------------------------------------------------------------------------
// The API

async fn matters_api(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<MatterView>>> {
    Ok(Json(matters(&state, &caller).await?))
}

async fn matter_api(
    State(state): State<AppState>,
    _caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<MatterView>> {
    let v = aggregates::load::<Matter>(state.store.as_ref(), id)
        .await
        .map_err(|_| ApiError::not_found("目录中没有这个事项"))?;
    Ok(Json(matter_view(&state, v)))
}

async fn define_matter_api(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(spec): JsonBody<MatterSpec>,
) -> ApiResult<(StatusCode, Json<MatterView>)> {
    Ok((
        StatusCode::CREATED,
        Json(define_matter(&state, &caller, spec).await?),
    ))
}

async fn revise_matter_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(spec): JsonBody<MatterSpec>,
) -> ApiResult<Json<MatterView>> {
    Ok(Json(
        change_matter(&state, &caller, id, MatterCommand::Revise { spec }).await?,
    ))
}

/// A reason (停用、不予受理、撤回).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

async fn retire_matter_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<ReasonBody>,
) -> ApiResult<Json<MatterView>> {
    Ok(Json(
        change_matter(
            &state,
            &caller,
            id,
            MatterCommand::Retire { reason: b.reason },
        )
        .await?,
    ))
}

async fn packages_api(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<PackageView>>> {
    Ok(Json(packages(&state, &caller).await?))
}

async fn package_api(
    State(state): State<AppState>,
    _caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<PackageView>> {
    Ok(Json(package(&state, id).await?))
}

async fn define_package_api(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(spec): JsonBody<PackageSpec>,
) -> ApiResult<(StatusCode, Json<PackageView>)> {
    Ok((
        StatusCode::CREATED,
        Json(define_package(&state, &caller, spec).await?),
    ))
}

async fn retire_package_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<ReasonBody>,
) -> ApiResult<Json<PackageView>> {
    Ok(Json(retire_package(&state, &caller, id, b.reason).await?))
}

async fn applications_api(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<ApplicationQuery>,
) -> ApiResult<Json<Vec<ApplicationView>>> {
    Ok(Json(applications(&state, &caller, &q).await?))
}

async fn submit_api(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonOrMultipart<NewApplication>,
) -> ApiResult<(StatusCode, Json<ApplicationView>)> {
    let (req, uploads) = match body {
        JsonOrMultipart::Json(req) => (req, Vec::new()),
        JsonOrMultipart::Multipart(mp) => {
            let (req, uploads) = json_and_materials::<NewApplication>(mp).await?;
            let req = req.ok_or_else(|| {
                ApiError::bad_request(
                    ErrorCode::BadMultipart,
                    "缺少 application 部分（申请的 JSON）",
                )
            })?;
            (req, uploads)
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(submit(&state, &caller, req, uploads).await?),
    ))
}

/// An application with its whole history as one timeline.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApplicationDetail {
    #[serde(flatten)]
    pub application: ApplicationView,
    pub timeline: Vec<ApplicationStep>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApplicationStep {
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    pub by: String,
    pub what: String,
}

/// What an event says, in a line.
pub fn describe(e: &bihuan_domain::approvals::ApplicationEvent, a: &Application) -> String {
    use bihuan_domain::approvals::ApplicationEvent as E;
    let name = |m: &u64| {
        a.tasks
            .iter()
            .find(|t| t.matter == *m)
            .map_or_else(|| format!("事项{m}"), |t| t.name.clone())
    };
    match e {
        E::Submitted { application } => format!(
            "提交申请（{}），材料 {} 项",
            application.package_name,
            application.handed.len()
        ),
        E::Notified { notice } => format!(
            "一次性告知：需补正 {}",
            notice
                .missing
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join("、")
        ),
        E::Handed { handed } => format!(
            "补交材料 {}",
            handed
                .iter()
                .map(|h| h.file.as_str())
                .collect::<Vec<_>>()
                .join("、")
        ),
        E::Accepted { how, waivers, .. } => {
            if waivers.is_empty() {
                how.label().to_string()
            } else {
                format!(
                    "{}（容缺：{}）",
                    how.label(),
                    waivers
                        .iter()
                        .map(|w| format!("{} 于 {} 前补交", w.name, w.due))
                        .collect::<Vec<_>>()
                        .join("；")
                )
            }
        }
        E::NotAccepted { reason } => format!("不予受理：{reason}"),
        E::Withdrawn { reason } => format!("撤回：{reason}"),
        E::ClockStopped {
            matter,
            kind,
            reason,
        } => {
            format!("{} 暂停计时（{}）：{reason}", name(matter), kind.label())
        }
        E::Resumed { matter } => format!("{} 恢复计时", name(matter)),
        E::Decided { matter, decision } => match decision {
            TaskDecision::Approve { result } => format!("{} 准予许可：{result}", name(matter)),
            TaskDecision::Refuse { reason } => format!("{} 不予许可：{reason}", name(matter)),
        },
        E::Issued => "统一出证，已告知申请人".into(),
        E::QueryCodeIssued { .. } => "打印回执，发放查询码".into(),
        E::Extended {
            matter,
            days,
            reason,
        } => match matter {
            Some(m) => format!("{} 经单位负责人批准延长 {days} 个工作日：{reason}", name(m)),
            None => format!("一件事承诺时限经批准延长 {days} 个工作日：{reason}"),
        },
        E::Supervised { matters, package } => {
            let mut parts: Vec<String> = matters.iter().map(name).collect();
            if *package {
                parts.push("一件事承诺时限".into());
            }
            format!("超期督办：{}", parts.join("、"))
        }
    }
}

pub async fn detail(state: &AppState, c: &Caller, id: u64) -> ApiResult<ApplicationDetail> {
    let view = application(state, c, id).await?;
    let history = aggregates::history::<Application>(state.store.as_ref(), id).await?;
    let timeline = history
        .iter()
        .map(|r| ApplicationStep {
            at: r.at,
            by: r.actor.name.clone(),
            what: describe(&r.event, &view.application),
        })
        .collect();
    Ok(ApplicationDetail {
        application: view,
        timeline,
    })
}

async fn application_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<ApplicationDetail>> {
    Ok(Json(detail(&state, &caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MissingInput {
    pub code: String,
    #[serde(default)]
    pub note: String,
}

/// 一次性告知: everything missing, once.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeBody {
    pub missing: Vec<MissingInput>,
}

async fn notice_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<NoticeBody>,
) -> ApiResult<Json<ApplicationView>> {
    let missing = b
        .missing
        .into_iter()
        .map(|m| Missing {
            code: m.code.trim().to_string(),
            name: String::new(),
            note: m.note,
        })
        .collect();
    Ok(Json(
        act(&state, &caller, id, ApplicationCommand::Notify { missing }).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandBody {
    pub materials: Vec<HandedInput>,
}

async fn hand_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    body: JsonOrMultipart<HandBody>,
) -> ApiResult<Json<ApplicationView>> {
    let (items, uploads) = match body {
        JsonOrMultipart::Json(b) => (b.materials, Vec::new()),
        JsonOrMultipart::Multipart(mp) => {
            let (b, uploads) = json_and_materials::<HandBody>(mp).await?;
            (b.map(|b| b.materials).unwrap_or_default(), uploads)
        }
    };
    Ok(Json(hand(&state, &caller, id, items, uploads).await?))
}

async fn material_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, code)): PathParams<(u64, String)>,
) -> ApiResult<axum::response::Response> {
    let (h, meta, data) = material_file(&state, &caller, id, &code).await?;
    Ok(crate::attachments::file_response(&h.file, &meta.mime, data))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiveInput {
    pub code: String,
    /// 补交期限（工作日，1–30）
    pub days: u32,
}

/// 受理（材料齐全，或容缺：缺的材料、补交期限和申请人的承诺）.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    #[serde(default)]
    pub waive: Vec<WaiveInput>,
    #[serde(default)]
    pub commitment: Option<String>,
}

async fn accept_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<AcceptBody>,
) -> ApiResult<Json<ApplicationView>> {
    let cmd = ApplicationCommand::Accept {
        waive: b
            .waive
            .into_iter()
            .map(|w| (w.code.trim().to_string(), w.days))
            .collect(),
        commitment: b.commitment,
    };
    Ok(Json(act(&state, &caller, id, cmd).await?))
}

async fn not_accept_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<ReasonBody>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(
        act(
            &state,
            &caller,
            id,
            ApplicationCommand::NotAccept { reason: b.reason },
        )
        .await?,
    ))
}

async fn withdraw_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<ReasonBody>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(
        act(
            &state,
            &caller,
            id,
            ApplicationCommand::Withdraw { reason: b.reason },
        )
        .await?,
    ))
}

/// 延期（行政许可法第四十二条）：一个事项（matter）由其单位负责人批准最多10个工作日；不给 matter
/// 则为一件事的承诺时限，由中心经政府负责人批准最多15个工作日；各一次，理由告知申请人.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    #[serde(default)]
    pub matter: Option<u64>,
    pub days: u32,
    pub reason: String,
}

async fn extend_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
    JsonBody(b): JsonBody<ExtendBody>,
) -> ApiResult<Json<ApplicationView>> {
    let cmd = ApplicationCommand::Extend {
        matter: b.matter,
        days: b.days,
        reason: b.reason,
    };
    Ok(Json(act(&state, &caller, id, cmd).await?))
}

async fn query_code_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(new_query_code(&state, &caller, id).await?))
}

async fn issue_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(
        act(&state, &caller, id, ApplicationCommand::Issue).await?,
    ))
}

/// 暂停计时：补正，或听证、检验检测、现场勘验、专家评审（行政许可法第四十五条），告知申请人.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopBody {
    pub kind: StopKind,
    pub reason: String,
}

async fn stop_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, matter)): PathParams<(u64, u64)>,
    JsonBody(b): JsonBody<StopBody>,
) -> ApiResult<Json<ApplicationView>> {
    let cmd = ApplicationCommand::StopClock {
        matter,
        kind: b.kind,
        reason: b.reason,
    };
    Ok(Json(act(&state, &caller, id, cmd).await?))
}

async fn resume_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, matter)): PathParams<(u64, u64)>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(
        act(&state, &caller, id, ApplicationCommand::Resume { matter }).await?,
    ))
}

async fn decide_api(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, matter)): PathParams<(u64, u64)>,
    JsonBody(decision): JsonBody<TaskDecision>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(
        act(
            &state,
            &caller,
            id,
            ApplicationCommand::Decide { matter, decision },
        )
        .await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct EfficiencyQuery {
    /// 期间，如 month:2026-11（默认本月）
    pub period: Option<String>,
}

/// `GET /api/v1/approval-efficiency`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EfficiencyView {
    pub period: String,
    #[serde(flatten)]
    pub efficiency: Efficiency,
}

pub fn period_or_month(
    state: &AppState,
    spec: Option<&str>,
) -> ApiResult<(String, bihuan_domain::metrics::Period)> {
    use chrono::Datelike;
    let spec = match spec.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s.to_string(),
        None => {
            let d = today(state);
            format!("month:{}-{:02}", d.year(), d.month())
        }
    };
    let p = crate::report::parse_period(&spec)?;
    Ok((spec, p))
}

async fn efficiency_api(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<EfficiencyQuery>,
) -> ApiResult<Json<EfficiencyView>> {
    let (spec, p) = period_or_month(&state, q.period.as_deref())?;
    Ok(Json(EfficiencyView {
        period: spec,
        efficiency: efficiency(&state, &caller, p).await?,
    }))
}
