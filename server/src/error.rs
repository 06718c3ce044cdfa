//! The server's one error enum. It becomes a typed JSON body with a stable
//! message id; internal causes are kept, typed, with their whole chain
//! ([`Cause`]) and logged, never sent.
//!
//! `IntoResponse` only builds the body: it leaves the error itself in the
//! response's extensions ([`Failure`]), and the request log
//! ([`crate::request_log`]) logs it inside the request's span, so the line
//! carries the request id.
//!
//! Everything returns `ApiError`, so this module imports none of the modules
//! whose errors become one: `store`, `hashing` and `directory` each convert
//! their own error (`From<StoreError>` is in `store`, and so on), and the
//! variant keeps it boxed as its source, its chain whole.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sspr_proto::{ApiErrorBody, ErrorDetail, ErrorId};

/// Any error, boxed with its own source chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a request failed inside the portal: the real error, kept as the
/// `source` so the log can walk its whole chain. Each variant's text says
/// what was being done, followed by the cause's own text (as the causes'
/// texts do), so an `ApiError` logged with `%` elsewhere still shows it.
///
/// What the causes print (checked): a sqlx error prints the database's
/// message, never a query's bind values; a directory error prints the step
/// and the LDAP result (a DN at most, never the bind password); a key error
/// prints no key material. The chain is only ever logged through `Display`,
/// never `Debug` (a PostgreSQL error's `Debug` holds its DETAIL, which can
/// quote a row's values).
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    #[error("store query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// The store failed (a `StoreError`, converted in `store`).
    #[error("{0}")]
    Store(#[source] BoxError),
    /// The directory could not give its password rules (a `DirectoryError`).
    #[error("directory password rules: {0}")]
    PasswordRules(#[source] BoxError),
    /// The password hashing failed, not for a full queue (a `HashError`,
    /// converted in `hashing`).
    #[error("{0}")]
    Hash(#[source] BoxError),
    #[error("opening a sealed value: {0}")]
    Key(#[from] crate::keys::KeyError),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("the request's task: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// An invariant that did not hold (e.g. `RETURNING` gave no row).
    #[error("{0}")]
    Broken(&'static str),
    /// A handler panicked; the panic's text.
    #[error("panic: {0}")]
    Panic(String),
    /// Anything else, through [`ApiError::internal`].
    #[error(transparent)]
    Other(BoxError),
}

/// An error that became a response, left in the response's extensions for
/// the request log. Cloned with the extensions, hence the `Arc`.
#[derive(Debug, Clone)]
pub struct Failure(pub Arc<ApiError>);

impl Failure {
    /// The error's text followed by each of its sources, `: `-separated. A
    /// source whose text its parent already printed is not repeated.
    pub fn chain(&self) -> String {
        chain(self.0.as_ref())
    }

    /// Whether the portal failed (logged at error) rather than refused.
    pub fn is_failure(&self) -> bool {
        matches!(
            self.0.as_ref(),
            ApiError::Internal(_) | ApiError::Unavailable(_) | ApiError::DirectoryUnavailable(_)
        )
    }

    /// What a refusal logs: its text, but for a field error only the field
    /// (serde's reason can quote the value sent, e.g. a code or a password).
    pub fn refusal(&self) -> String {
        match self.0.as_ref() {
            ApiError::InvalidField { field, .. } => format!("invalid field {field}"),
            other => other.to_string(),
        }
    }
}

/// `e` and its sources, `: `-separated, each once.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut last = out.clone();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !last.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        last = text;
        next = s.source();
    }
    out
}

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
    /// A part the portal needs (the store) does not answer.
    #[error("unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// The directory could not be reached; the cause (a `DirectoryError`,
    /// converted in `directory`) is logged only.
    #[error("directory: {0}")]
    DirectoryUnavailable(#[source] BoxError),
    #[error("internal: {0}")]
    Internal(#[source] Cause),
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
    /// A passkey's answer did not verify (the cause is logged at debug).
    #[error("passkey refused")]
    PasskeyRefused,
    /// A passkey whose counter did not increase: flagged, refused.
    #[error("passkey possibly cloned")]
    PasskeyCloned,
    /// The passkey ceremony expired, was used, or is another's.
    #[error("passkey ceremony expired or unknown")]
    PasskeyExpired,
    /// The credential is already registered.
    #[error("passkey already registered")]
    PasskeyTaken,
}

impl From<Cause> for ApiError {
    fn from(e: Cause) -> Self {
        ApiError::Internal(e)
    }
}

/// Each typed cause is a 500 through `?`, its chain kept.
macro_rules! internal_from {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                ApiError::Internal(Cause::from(e))
            }
        }
    )*};
}

internal_from!(
    sqlx::Error,
    crate::keys::KeyError,
    serde_json::Error,
    std::io::Error,
    tokio::task::JoinError,
);

impl ApiError {
    /// A 500 from any error (or message), its chain kept. Prefer `?` with a
    /// typed [`Cause`].
    pub fn internal(e: impl Into<BoxError>) -> Self {
        ApiError::Internal(Cause::Other(e.into()))
    }

    /// A 500 for an invariant that did not hold.
    pub fn broken(what: &'static str) -> Self {
        ApiError::Internal(Cause::Broken(what))
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
            ApiError::PasskeyRefused => (StatusCode::UNPROCESSABLE_ENTITY, ErrorId::PasskeyRefused),
            ApiError::PasskeyCloned => (StatusCode::FORBIDDEN, ErrorId::PasskeyCloned),
            ApiError::PasskeyExpired => (StatusCode::GONE, ErrorId::PasskeyExpired),
            ApiError::PasskeyTaken => (StatusCode::CONFLICT, ErrorId::PasskeyTaken),
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
        let mut resp = (status, axum::Json(self.body())).into_response();
        if let ApiError::RateLimited { retry_after }
        | ApiError::ResendTooSoon { retry_after }
        | ApiError::SignInLocked { retry_after }
        | ApiError::ServerBusy { retry_after } = &self
        {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        // Logged by the request log, inside the request's span.
        resp.extensions_mut().insert(Failure(Arc::new(self)));
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_failure_keeps_its_cause_and_shows_none_of_it() {
        let e = ApiError::from(sqlx::Error::Protocol("the wire broke".into()));
        assert!(matches!(&e, ApiError::Internal(Cause::Query(_))));
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("store query failed: encountered unexpected or invalid data: the wire broke")
        );
        let body = serde_json::to_string(&e.body()).unwrap_or_default();
        assert!(!body.contains("wire"), "{body}");
        assert!(!body.contains("store"), "{body}");
        let resp = e.into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let failure = resp.extensions().get::<Failure>().cloned();
        assert!(failure.as_ref().is_some_and(Failure::is_failure));
        assert_eq!(
            failure.map(|f| f.chain()).as_deref(),
            Some(
                "internal: store query failed: encountered unexpected or invalid data: the wire broke"
            )
        );
    }

    #[test]
    fn the_chain_names_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = ApiError::internal(Outer(std::io::Error::other("inner")));
        assert_eq!(chain(&e), "internal: outer: inner");
    }

    #[test]
    fn a_refusal_logs_no_field_reason() {
        let e = ApiError::InvalidField {
            field: "code".into(),
            reason: "invalid type: integer `123456`, expected a string".into(),
        };
        let failure = Failure(Arc::new(e));
        assert!(!failure.is_failure());
        assert_eq!(failure.refusal(), "invalid field code");
    }

    #[test]
    fn a_busy_hasher_is_still_a_503_and_a_lost_directory_too() {
        let busy = ApiError::from(crate::hashing::HashError::Busy);
        assert!(matches!(busy, ApiError::ServerBusy { retry_after: 1 }));
        let gone = ApiError::from(crate::directory::DirectoryError::Unavailable(
            "connecting: refused".into(),
        ));
        assert_eq!(gone.parts().0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            chain(&gone),
            "directory: directory unavailable: connecting: refused"
        );
        // The built-in directory's store failing keeps the store's error.
        let store = crate::directory::DirectoryError::from(sqlx::Error::PoolTimedOut);
        assert!(store.is_unavailable());
        let store = ApiError::from(store);
        assert_eq!(store.parts().0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            chain(&store),
            "directory: directory unavailable: store query failed: \
             pool timed out while waiting for an open connection"
        );
    }
}
