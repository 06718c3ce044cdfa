//! The typed error body every `/api/*` failure returns.
//!
//! `id` is a stable message id: the SPA translates by it, tests match on it,
//! and it never changes meaning once released. `message` is the same text in
//! the request's language (the catalog key is [`ErrorId::message_key`]), and
//! never carries internals.

use serde::{Deserialize, Serialize};

/// Stable message ids. Serialized as dotted snake case, e.g. `request.invalid_json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorId {
    #[serde(rename = "request.not_found")]
    NotFound,
    #[serde(rename = "request.method_not_allowed")]
    MethodNotAllowed,
    #[serde(rename = "request.unsupported_media_type")]
    UnsupportedMediaType,
    #[serde(rename = "request.invalid_json")]
    InvalidJson,
    #[serde(rename = "request.invalid_field")]
    InvalidField,
    #[serde(rename = "request.too_large")]
    PayloadTooLarge,
    #[serde(rename = "request.cross_origin")]
    CrossOrigin,
    #[serde(rename = "request.rate_limited")]
    RateLimited,
    #[serde(rename = "reset.pow_invalid")]
    PowInvalid,
    #[serde(rename = "reset.flow_expired")]
    FlowExpired,
    #[serde(rename = "reset.wrong_step")]
    WrongStep,
    #[serde(rename = "reset.code_invalid")]
    CodeInvalid,
    #[serde(rename = "reset.resend_too_soon")]
    ResendTooSoon,
    #[serde(rename = "password.too_short")]
    PasswordTooShort,
    #[serde(rename = "password.too_long")]
    PasswordTooLong,
    #[serde(rename = "password.too_weak")]
    PasswordTooWeak,
    #[serde(rename = "password.contains_name")]
    PasswordContainsName,
    #[serde(rename = "password.banned")]
    PasswordBanned,
    #[serde(rename = "password.not_complex")]
    PasswordNotComplex,
    #[serde(rename = "password.breached")]
    PasswordBreached,
    #[serde(rename = "password.rejected_by_directory")]
    PasswordRejectedByDirectory,
    #[serde(rename = "password.in_history")]
    PasswordInHistory,
    #[serde(rename = "password.too_young")]
    PasswordTooYoung,
    #[serde(rename = "directory.unavailable")]
    DirectoryUnavailable,
    #[serde(rename = "session.invalid_credentials")]
    InvalidCredentials,
    #[serde(rename = "session.locked")]
    SignInLocked,
    #[serde(rename = "session.required")]
    SessionRequired,
    #[serde(rename = "session.reauth_required")]
    ReauthRequired,
    #[serde(rename = "session.pass_restricted")]
    PassRestricted,
    #[serde(rename = "security_info.enrollment_expired")]
    EnrollmentExpired,
    #[serde(rename = "security_info.limit_reached")]
    MethodLimit,
    #[serde(rename = "security_info.phone_invalid")]
    PhoneInvalid,
    #[serde(rename = "security_info.email_invalid")]
    EmailInvalid,
    #[serde(rename = "security_info.answers_invalid")]
    AnswersInvalid,
    #[serde(rename = "server.unavailable")]
    Unavailable,
    #[serde(rename = "server.internal")]
    Internal,
    /// Password checks are queued past their bound: retry after `retry_after`.
    #[serde(rename = "server.busy")]
    ServerBusy,
    /// The request took longer than the server allows; nothing half-done stays.
    #[serde(rename = "request.timeout")]
    RequestTimeout,
    /// Adding or replacing security info needs a fresh proof of a method the
    /// user already has (or a Temporary Access Pass session).
    #[serde(rename = "session.stepup_required")]
    StepUpRequired,
    /// Usage & insights are for administrators only.
    #[serde(rename = "insights.forbidden")]
    InsightsForbidden,
    /// An administrator must prove two different methods in this session
    /// before the insights open.
    #[serde(rename = "insights.two_methods_required")]
    TwoMethodsRequired,
    /// A passkey's answer did not verify (signature, origin, relying party,
    /// or not a passkey of this account).
    #[serde(rename = "passkey.refused")]
    PasskeyRefused,
    /// The passkey's counter did not increase: it may have been copied, and
    /// is refused from now on.
    #[serde(rename = "passkey.cloned")]
    PasskeyCloned,
    /// The passkey request expired or was already answered.
    #[serde(rename = "passkey.expired")]
    PasskeyExpired,
    /// This passkey is already registered.
    #[serde(rename = "passkey.already_registered")]
    PasskeyTaken,
    /// An id this build of the SPA does not know yet (newer server).
    #[serde(other, rename = "unknown")]
    Unknown,
}

impl ErrorId {
    /// Every id, for completeness tests (translations, docs).
    pub const ALL: &'static [ErrorId] = &[
        ErrorId::NotFound,
        ErrorId::MethodNotAllowed,
        ErrorId::UnsupportedMediaType,
        ErrorId::InvalidJson,
        ErrorId::InvalidField,
        ErrorId::PayloadTooLarge,
        ErrorId::CrossOrigin,
        ErrorId::RateLimited,
        ErrorId::PowInvalid,
        ErrorId::FlowExpired,
        ErrorId::WrongStep,
        ErrorId::CodeInvalid,
        ErrorId::ResendTooSoon,
        ErrorId::PasswordTooShort,
        ErrorId::PasswordTooLong,
        ErrorId::PasswordTooWeak,
        ErrorId::PasswordContainsName,
        ErrorId::PasswordBanned,
        ErrorId::PasswordNotComplex,
        ErrorId::PasswordBreached,
        ErrorId::PasswordRejectedByDirectory,
        ErrorId::PasswordInHistory,
        ErrorId::PasswordTooYoung,
        ErrorId::DirectoryUnavailable,
        ErrorId::InvalidCredentials,
        ErrorId::SignInLocked,
        ErrorId::SessionRequired,
        ErrorId::ReauthRequired,
        ErrorId::PassRestricted,
        ErrorId::EnrollmentExpired,
        ErrorId::MethodLimit,
        ErrorId::PhoneInvalid,
        ErrorId::EmailInvalid,
        ErrorId::AnswersInvalid,
        ErrorId::Unavailable,
        ErrorId::Internal,
        ErrorId::ServerBusy,
        ErrorId::RequestTimeout,
        ErrorId::StepUpRequired,
        ErrorId::InsightsForbidden,
        ErrorId::TwoMethodsRequired,
        ErrorId::PasskeyRefused,
        ErrorId::PasskeyCloned,
        ErrorId::PasskeyExpired,
        ErrorId::PasskeyTaken,
    ];

    /// The catalog key of this id's text (`public/locales/*.json`): the
    /// SPA shows it, the server answers `message` with it in the request's
    /// language.
    pub fn message_key(self) -> &'static str {
        match self {
            ErrorId::NotFound => "error.request.not_found",
            ErrorId::MethodNotAllowed => "error.request.method_not_allowed",
            ErrorId::UnsupportedMediaType => "error.request.unsupported_media_type",
            ErrorId::InvalidJson => "error.request.invalid_json",
            ErrorId::InvalidField => "error.request.invalid_field",
            ErrorId::PayloadTooLarge => "error.request.too_large",
            ErrorId::CrossOrigin => "error.request.cross_origin",
            ErrorId::RateLimited => "error.request.rate_limited",
            ErrorId::PowInvalid => "error.reset.pow_invalid",
            ErrorId::FlowExpired => "error.reset.flow_expired",
            ErrorId::WrongStep => "error.reset.wrong_step",
            ErrorId::CodeInvalid => "error.reset.code_invalid",
            ErrorId::ResendTooSoon => "error.reset.resend_too_soon",
            ErrorId::PasswordTooShort => "error.password.too_short",
            ErrorId::PasswordTooLong => "error.password.too_long",
            ErrorId::PasswordTooWeak => "error.password.too_weak",
            ErrorId::PasswordContainsName => "error.password.contains_name",
            ErrorId::PasswordBanned => "error.password.banned",
            ErrorId::PasswordNotComplex => "error.password.not_complex",
            ErrorId::PasswordBreached => "error.password.breached",
            ErrorId::PasswordRejectedByDirectory => "error.password.rejected_by_directory",
            ErrorId::PasswordInHistory => "error.password.in_history",
            ErrorId::PasswordTooYoung => "error.password.too_young",
            ErrorId::DirectoryUnavailable => "error.directory.unavailable",
            ErrorId::InvalidCredentials => "error.session.invalid_credentials",
            ErrorId::SignInLocked => "error.session.locked",
            ErrorId::SessionRequired => "error.session.required",
            ErrorId::ReauthRequired => "error.session.reauth_required",
            ErrorId::PassRestricted => "error.session.pass_restricted",
            ErrorId::EnrollmentExpired => "error.security_info.enrollment_expired",
            ErrorId::MethodLimit => "error.security_info.limit_reached",
            ErrorId::PhoneInvalid => "error.security_info.phone_invalid",
            ErrorId::EmailInvalid => "error.security_info.email_invalid",
            ErrorId::AnswersInvalid => "error.security_info.answers_invalid",
            ErrorId::Unavailable => "error.server.unavailable",
            ErrorId::Internal => "error.server.internal",
            ErrorId::ServerBusy => "error.server.busy",
            ErrorId::RequestTimeout => "error.request.timeout",
            ErrorId::StepUpRequired => "error.session.stepup_required",
            ErrorId::InsightsForbidden => "error.insights.forbidden",
            ErrorId::TwoMethodsRequired => "error.insights.two_methods_required",
            ErrorId::PasskeyRefused => "error.passkey.refused",
            ErrorId::PasskeyCloned => "error.passkey.cloned",
            ErrorId::PasskeyExpired => "error.passkey.expired",
            ErrorId::PasskeyTaken => "error.passkey.already_registered",
            ErrorId::Unknown => "error.unknown",
        }
    }
}

/// `{"error": {...}}`: the body of every non-2xx `/api/*` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub id: ErrorId,
    pub message: String,
    /// The request field at fault, as a path like `identifier` or `codes[0]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds until a throttled request may be retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_strings() {
        let got: Vec<String> = ErrorId::ALL
            .iter()
            .map(|id| serde_json::to_string(id).unwrap())
            .collect();
        assert_eq!(
            got,
            [
                "\"request.not_found\"",
                "\"request.method_not_allowed\"",
                "\"request.unsupported_media_type\"",
                "\"request.invalid_json\"",
                "\"request.invalid_field\"",
                "\"request.too_large\"",
                "\"request.cross_origin\"",
                "\"request.rate_limited\"",
                "\"reset.pow_invalid\"",
                "\"reset.flow_expired\"",
                "\"reset.wrong_step\"",
                "\"reset.code_invalid\"",
                "\"reset.resend_too_soon\"",
                "\"password.too_short\"",
                "\"password.too_long\"",
                "\"password.too_weak\"",
                "\"password.contains_name\"",
                "\"password.banned\"",
                "\"password.not_complex\"",
                "\"password.breached\"",
                "\"password.rejected_by_directory\"",
                "\"password.in_history\"",
                "\"password.too_young\"",
                "\"directory.unavailable\"",
                "\"session.invalid_credentials\"",
                "\"session.locked\"",
                "\"session.required\"",
                "\"session.reauth_required\"",
                "\"session.pass_restricted\"",
                "\"security_info.enrollment_expired\"",
                "\"security_info.limit_reached\"",
                "\"security_info.phone_invalid\"",
                "\"security_info.email_invalid\"",
                "\"security_info.answers_invalid\"",
                "\"server.unavailable\"",
                "\"server.internal\"",
                "\"server.busy\"",
                "\"request.timeout\"",
                "\"session.stepup_required\"",
                "\"insights.forbidden\"",
                "\"insights.two_methods_required\"",
                "\"passkey.refused\"",
                "\"passkey.cloned\"",
                "\"passkey.expired\"",
                "\"passkey.already_registered\"",
            ]
        );
    }

    #[test]
    fn unknown_ids_from_a_newer_server_still_parse() {
        let body: ApiErrorBody =
            serde_json::from_str(r#"{"error":{"id":"flow.brand_new","message":"x"}}"#).unwrap();
        assert_eq!(body.error.id, ErrorId::Unknown);
    }

    #[test]
    fn optional_fields_are_omitted() {
        let body = ApiErrorBody {
            error: ErrorDetail {
                id: ErrorId::NotFound,
                message: "There is nothing at this address.".into(),
                field: None,
                retry_after: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":{"id":"request.not_found","message":"There is nothing at this address."}}"#
        );
    }
}
