//! Photos and documents stored with an appeal: uploaded as multipart form data, checked by
//! their content (not by the type the browser claims), size-limited, and served back only to
//! those who may see the appeal.

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::lifecycle::{Appeal, Role};
use bihuan_domain::ErrorCode;
use bihuan_store::{AppealRef, Attachment, NewAttachment, MAX_ATTACHMENT_BYTES};

use crate::appeals::{can_see, parse_ref};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, MultipartBody, PathParams};
use crate::views::{AttachmentView, Disclosure, Items};
use crate::AppState;

/// Upload bodies may carry a few files of up to 10 MiB each.
pub const UPLOAD_LIMIT: usize = MAX_ATTACHMENT_BYTES * 3 + 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/appeals/{key}/attachments",
            post(upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/api/v1/attachments/{id}", get(download))
}

/// Who may add files: the intake and dispatch centre, return-visit staff, grid members, and the
/// lead unit — while the appeal is open.
pub fn may_upload(c: &Caller, a: &Appeal) -> bool {
    if a.status.is_terminal() || !can_see(c, a) {
        return false;
    }
    match c.user.role {
        Role::Operator
        | Role::Dispatcher
        | Role::ReturnVisitor
        | Role::GridMember
        | Role::Admin => true,
        Role::Handler | Role::UnitLeader => a.lead == Some(c.user.unit),
        _ => false,
    }
}

pub(crate) fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            "上传内容过大（每个文件不超过 10 MB）",
        )
    } else {
        ApiError::bad_request(
            ErrorCode::BadMultipart,
            format!("无法读取上传内容：{}", e.body_text()),
        )
    }
}

/// Reads every `file` part of a multipart body.
pub async fn read_files(mut mp: Multipart) -> ApiResult<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    loop {
        let Some(field) = mp.next_field().await.map_err(multipart_error)? else {
            break;
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_string();
        let data = field.bytes().await.map_err(multipart_error)?;
        if name.is_empty() && data.is_empty() {
            continue; // an empty file input
        }
        files.push((name, data.to_vec()));
    }
    Ok(files)
}

/// Stores the files with the appeal; all are checked before the first is stored.
pub async fn store_files(
    state: &AppState,
    c: &Caller,
    a: &Appeal,
    files: Vec<(String, Vec<u8>)>,
) -> ApiResult<Vec<Attachment>> {
    if !may_upload(c, a) {
        return Err(ApiError::forbidden(
            ErrorCode::UploadForbidden,
            "只有登记、派单、回访人员和主办单位可以在办理中的工单上传附件",
        ));
    }
    store_allowed(state, c, a, files).await
}

/// Stores the files with the appeal for one whose right to add them was checked elsewhere (a
/// cadre's photos of a need their visit raised); every file is checked before the first is
/// stored.
pub async fn store_allowed(
    state: &AppState,
    c: &Caller,
    a: &Appeal,
    files: Vec<(String, Vec<u8>)>,
) -> ApiResult<Vec<Attachment>> {
    if files.is_empty() {
        return Err(ApiError::unprocessable(
            ErrorCode::NoFile,
            "请选择要上传的文件（表单字段名 file）",
        ));
    }
    for (name, data) in &files {
        bihuan_store::sniff(name, data).map_err(ApiError::from)?;
    }
    let now = state.clock.now();
    let mut out = Vec::new();
    for (name, data) in files {
        out.push(
            state
                .store
                .put_attachment(NewAttachment {
                    appeal: a.id,
                    name: name.trim().to_string(),
                    data,
                    uploaded_by: c.user.id,
                    at: now,
                })
                .await?,
        );
    }
    Ok(out)
}

async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(key): PathParams<String>,
    MultipartBody(mp): MultipartBody,
) -> ApiResult<impl IntoResponse> {
    let a = state.store.appeal(parse_ref(&key)?).await?;
    if !can_see(&caller, &a) {
        return Err(ApiError::forbidden(
            ErrorCode::NotYourUnit,
            "该工单不属于本单位，无权操作",
        ));
    }
    let files = read_files(mp).await?;
    let stored = store_files(&state, &caller, &a, files).await?;
    // The uploader sees the names as sent.
    let items = stored
        .iter()
        .map(|f| AttachmentView::new(f, Disclosure::Full))
        .collect();
    Ok((StatusCode::CREATED, Json(Items { items })))
}

async fn download(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<u64>,
) -> ApiResult<Response> {
    let (meta, data) = state.store.attachment(id).await?;
    let a = state.store.appeal(AppealRef::Id(meta.appeal)).await?;
    if !can_see(&caller, &a) {
        return Err(ApiError::forbidden(
            ErrorCode::NotYourUnit,
            "该工单不属于本单位，无权查看",
        ));
    }
    Ok(file_response(&meta.name, &meta.mime, data))
}

/// A stored file as a download: its type as checked on upload, its name as given, never
/// sniffed by the browser, cached only by the one who asked.
pub fn file_response(name: &str, mime: &str, data: Vec<u8>) -> Response {
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename*=UTF-8''{encoded}"),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
        ],
        data,
    )
        .into_response()
}
