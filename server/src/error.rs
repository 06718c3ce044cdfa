//! The server's one error enum. It becomes a typed JSON body with a stable
//! message id; internal causes are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sspr_proto::{ApiErrorBody, ErrorDetail, ErrorId};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("invalid json: {0}")]
    InvalidJson(String),
    #[error("invalid field {field}: {reason}")]
    InvalidField { field: String, reason: String },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("cross-origin request")]
    CrossOrigin,
    #[error("rate limited")]
    RateLimited { retry_after: u64 },
    #[error("proof of work invalid")]
    PowInvalid,
    #[error("flow expired or unknown")]
    FlowExpired,
    #[error("wrong step")]
    WrongStep,
    #[error("code invalid")]
    CodeInvalid,
    #[error("resend too soon")]
    ResendTooSoon { retry_after: u64 },
    #[error("password breaks {0:?}")]
    PasswordPolicy(ErrorId),
    /// The directory refused the password; the id names its reason.
    #[error("directory rejected the password: {0:?}")]
    PasswordRejected(ErrorId),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("sign-in locked")]
    SignInLocked { retry_after: u64 },
    #[error("session required")]
    SessionRequired,
    #[error("recent sign-in required")]
    ReauthRequired,
    #[error("temporary access pass session")]
    PassRestricted,
    #[error("enrollment expired or unknown")]
    EnrollmentExpired,
    #[error("method limit reached")]
    MethodLimit,
    #[error("phone number invalid")]
    PhoneInvalid,
    #[error("email address invalid")]
    EmailInvalid,
    #[error("security answers invalid at {index}")]
    AnswersInvalid { index: usize },
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The directory could not be reached; the cause is logged only.
    #[error("directory unavailable: {0}")]
    DirectoryUnavailable(String),
    #[error("internal: {0}")]
    Internal(String),
    /// The password hashing queue is full.
    #[error("server busy")]
    ServerBusy { retry_after: u64 },
    #[error("request timed out")]
    RequestTimeout,
    /// Needs a fresh proof of an existing method first.
    #[error("step-up required")]
    StepUpRequired,
    /// Usage & insights: not an administrator.
    #[error("insights are for administrators")]
    InsightsForbidden,
    /// Usage & insights: an administrator who has not proved two methods.
    #[error("two methods required")]
    TwoMethodsRequired,
}

impl From<crate::directory::DirectoryError> for ApiError {
    fn from(e: crate::directory::DirectoryError) -> Self {
        use crate::directory::DirectoryError as D;
        match e {
            D::PasswordRejected(r) => ApiError::PasswordRejected(r.message_id()),
            D::WrongPassword => ApiError::InvalidField {
                field: "current".into(),
                reason: "not your current password".into(),
            },
            D::Busy => ApiError::ServerBusy { retry_after: 1 },
            other => ApiError::DirectoryUnavailable(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<crate::hashing::HashError> for ApiError {
    fn from(e: crate::hashing::HashError) -> Self {
        match e {
            crate::hashing::HashError::Busy => ApiError::ServerBusy { retry_after: 1 },
            other => ApiError::internal(other),
        }
    }
}

impl ApiError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }

    fn parts(&self) -> (StatusCode, ErrorId) {
        match self {
            ApiError::NotFound => (StatusCode::NOT_FOUND, ErrorId::NotFound),
            ApiError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, ErrorId::MethodNotAllowed)
            }
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorId::UnsupportedMediaType,
            ),
            ApiError::InvalidJson(_) => (StatusCode::BAD_REQUEST, ErrorId::InvalidJson),
            ApiError::InvalidField { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, ErrorId::InvalidField)
            }
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorId::PayloadTooLarge),
            ApiError::CrossOrigin => (StatusCode::FORBIDDEN, ErrorId::CrossOrigin),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, ErrorId::RateLimited),
            ApiError::PowInvalid => (StatusCode::BAD_REQUEST, ErrorId::PowInvalid),
            ApiError::FlowExpired => (StatusCode::GONE, ErrorId::FlowExpired),
            ApiError::WrongStep => (StatusCode::CONFLICT, ErrorId::WrongStep),
            ApiError::CodeInvalid => (StatusCode::UNPROCESSABLE_ENTITY, ErrorId::CodeInvalid),
            ApiError::ResendTooSoon { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, ErrorId::ResendTooSoon)
            }
            ApiError::PasswordPolicy(id) => (StatusCode::UNPROCESSABLE_ENTITY, *id),
            ApiError::PasswordRejected(id) => (StatusCode::UNPROCESSABLE_ENTITY, *id),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, ErrorId::InvalidCredentials),
            ApiError::SignInLocked { .. } => (StatusCode::TOO_MANY_REQUESTS, ErrorId::SignInLocked),
            ApiError::SessionRequired => (StatusCode::UNAUTHORIZED, ErrorId::SessionRequired),
            ApiError::ReauthRequired => (StatusCode::UNAUTHORIZED, ErrorId::ReauthRequired),
            ApiError::PassRestricted => (StatusCode::FORBIDDEN, ErrorId::PassRestricted),
            ApiError::EnrollmentExpired => (StatusCode::GONE, ErrorId::EnrollmentExpired),
            ApiError::MethodLimit => (StatusCode::CONFLICT, ErrorId::MethodLimit),
            ApiError::PhoneInvalid => (StatusCode::UNPROCESSABLE_ENTITY, ErrorId::PhoneInvalid),
            ApiError::EmailInvalid => (StatusCode::UNPROCESSABLE_ENTITY, ErrorId::EmailInvalid),
            ApiError::AnswersInvalid { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, ErrorId::AnswersInvalid)
            }
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, ErrorId::Unavailable),
            ApiError::DirectoryUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorId::DirectoryUnavailable,
            ),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorId::Internal),
            ApiError::ServerBusy { .. } => (StatusCode::SERVICE_UNAVAILABLE, ErrorId::ServerBusy),
            ApiError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, ErrorId::RequestTimeout),
            ApiError::StepUpRequired => (StatusCode::UNAUTHORIZED, ErrorId::StepUpRequired),
            ApiError::InsightsForbidden => (StatusCode::FORBIDDEN, ErrorId::InsightsForbidden),
            ApiError::TwoMethodsRequired => (StatusCode::UNAUTHORIZED, ErrorId::TwoMethodsRequired),
        }
    }

    pub fn body(&self) -> ApiErrorBody {
        let (_, id) = self.parts();
        let (field, retry_after) = match self {
            ApiError::InvalidField { field, .. } => {
                (Some(field.clone()).filter(|f| !f.is_empty()), None)
            }
            ApiError::RateLimited { retry_after }
            | ApiError::ResendTooSoon { retry_after }
            | ApiError::SignInLocked { retry_after }
            | ApiError::ServerBusy { retry_after } => (None, Some(*retry_after)),
            ApiError::PasswordPolicy(_) | ApiError::PasswordRejected(_) => {
                (Some("password".to_string()), None)
            }
            ApiError::PhoneInvalid => (Some("phone".to_string()), None),
            ApiError::EmailInvalid => (Some("address".to_string()), None),
            ApiError::AnswersInvalid { index } => (Some(format!("answers[{index}]")), None),
            _ => (None, None),
        };
        let message = crate::i18n::text(crate::i18n::current(), id.message_key());
        ApiErrorBody {
            error: ErrorDetail {
                id,
                message,
                field,
                retry_after,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.parts();
        match &self {
            ApiError::Internal(cause)
            | ApiError::Unavailable(cause)
            | ApiError::DirectoryUnavailable(cause) => {
                tracing::error!(%cause, status = status.as_u16(), "request failed");
            }
            other => tracing::debug!(error = %other, "request refused"),
        }
        let mut resp = (status, axum::Json(self.body())).into_response();
        if let ApiError::RateLimited { retry_after }
        | ApiError::ResendTooSoon { retry_after }
        | ApiError::SignInLocked { retry_after }
        | ApiError::ServerBusy { retry_after } = self
        {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        resp
    }
}
