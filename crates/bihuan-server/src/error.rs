//! API errors: always JSON `{"code": "...", "message": "..."}` with a fitting status. Nothing a
//! client sends ends in a 500; a 500 means the server or its disk failed, and its details go to
//! the log, not to the client.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bihuan_domain::{DomainError, ErrorCode};
use bihuan_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub extra: Option<serde_json::Value>,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
            retry_after: None,
        }
    }

    /// Adds `Retry-After` (and `retry_after_secs` in the body).
    pub fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs);
        self
    }
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unprocessable(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    pub fn forbidden(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "请先登录（或在 Authorization 头中提供 Bearer 令牌）",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"code": self.code, "message": self.message});
        if let (Some(extra), Some(obj)) = (self.extra, body.as_object_mut()) {
            if let Some(e) = extra.as_object() {
                for (k, v) in e {
                    obj.insert(k.clone(), v.clone());
                }
            }
        }
        if let (Some(secs), Some(obj)) = (self.retry_after, body.as_object_mut()) {
            obj.insert("retry_after_secs".into(), json!(secs));
        }
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let status = match &e {
            DomainError::VersionConflict { .. } => StatusCode::CONFLICT,
            DomainError::RoleForbidden { .. }
            | DomainError::NotLeadUnit { .. }
            | DomainError::NotWhistleTarget(_)
            | DomainError::NotAssistingUnit
            | DomainError::NoReportDue => StatusCode::FORBIDDEN,
            DomainError::Invalid { .. }
            | DomainError::Calendar(_)
            | DomainError::VisitIncomplete
            | DomainError::ExtensionTooLong(_)
            | DomainError::ReviewWindowClosed { .. }
            | DomainError::MergeIntoSelf
            | DomainError::TimeBeforeLastStep => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::CONFLICT,
        };
        let extra = match &e {
            DomainError::VersionConflict { current, .. } => {
                Some(json!({"current_version": current}))
            }
            DomainError::Invalid { field, .. } => Some(json!({"field": field})),
            DomainError::ReviewWindowClosed { closes, .. } => {
                Some(json!({"field": "requested_on", "window_closed_on": closes}))
            }
            _ => None,
        };
        ApiError {
            status,
            code: e.error_code(),
            message: e.message_zh(),
            extra,
            retry_after: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            StoreError::NotFound { what } => ApiError::not_found(format!("未找到：{what}")),
            StoreError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            StoreError::Invalid { code, message } => ApiError::unprocessable(code, message),
            StoreError::Internal(detail) => {
                tracing::error!(%detail, "storage failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "服务器内部错误，请稍后重试；如持续出现请联系管理员",
                )
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => ApiError::unprocessable(
                ErrorCode::InvalidBody,
                format!("请求内容的字段不符合要求：{}", e.body_text()),
            ),
            JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
                ErrorCode::MalformedJson,
                format!("请求内容不是有效的 JSON:{}", e.body_text()),
            ),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::JsonRequired,
                "请求须带 Content-Type: application/json",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::BodyTooLarge,
                "请求内容过大（上限 1 MiB）",
            ),
            other => ApiError::bad_request(
                ErrorCode::BadBody,
                format!("无法读取请求内容：{}", other.body_text()),
            ),
        }
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(r: axum::extract::rejection::BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::BodyTooLarge,
                "请求内容过大：请分批发送",
            )
        } else {
            ApiError::bad_request(
                ErrorCode::BadBody,
                format!("无法读取请求内容：{}", r.body_text()),
            )
        }
    }
}

/// A raw body (a file to import, a signed webhook) whose rejections are our JSON errors.
#[derive(Debug, Clone, Default)]
pub struct BodyBytes(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for BodyBytes {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(BodyBytes)
            .map_err(ApiError::from)
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request(
            ErrorCode::BadPath,
            format!("路径参数无效：{}", r.body_text()),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request(
            ErrorCode::BadQuery,
            format!("查询参数无效：{}", r.body_text()),
        )
    }
}

impl From<axum::extract::multipart::MultipartRejection> for ApiError {
    fn from(r: axum::extract::multipart::MultipartRejection) -> Self {
        ApiError::bad_request(
            ErrorCode::BadMultipart,
            format!(
                "上传须为 multipart/form-data 格式（带 boundary）:{}",
                r.body_text()
            ),
        )
    }
}

/// A multipart upload whose rejections are our JSON errors.
pub struct MultipartBody(pub axum::extract::Multipart);

impl<S: Send + Sync> axum::extract::FromRequest<S> for MultipartBody {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(MultipartBody(
            axum::extract::Multipart::from_request(req, state).await?,
        ))
    }
}

/// A body that is JSON, or multipart form data when it says so (a request that carries files
/// beside its JSON).
pub enum JsonOrMultipart<T> {
    Json(T),
    Multipart(axum::extract::Multipart),
}

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S>
    for JsonOrMultipart<T>
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if multipart {
            let MultipartBody(mp) = MultipartBody::from_request(req, state).await?;
            Ok(JsonOrMultipart::Multipart(mp))
        } else {
            let JsonBody(v) = JsonBody::<T>::from_request(req, state).await?;
            Ok(JsonOrMultipart::Json(v))
        }
    }
}

/// A JSON body whose rejections are our JSON errors.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct JsonBody<T>(pub T);

/// Query parameters whose rejections are our JSON errors.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct QueryParams<T>(pub T);

/// Path parameters whose rejections are our JSON errors.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct PathParams<T>(pub T);

/// Aggregate `id` of `A`, or a 404 that says what is missing (`missing`, e.g. 没有这个攻坚活动).
pub async fn load_or_404<A: bihuan_domain::aggregate::Aggregate>(
    store: &dyn bihuan_store::Store,
    id: u64,
    missing: &str,
) -> ApiResult<bihuan_domain::aggregate::Versioned<A>> {
    bihuan_store::aggregates::load::<A>(store, id)
        .await
        .map_err(|e| match e {
            bihuan_store::StoreError::NotFound { .. } => ApiError::not_found(missing),
            e => e.into(),
        })
}
