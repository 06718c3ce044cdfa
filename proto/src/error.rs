//! The typed error body every `/api/*` failure returns.
//!
//! `id` is a stable message id: the SPA translates by it, tests match on it,
//! and it never changes meaning once released. `message` is a plain English
//! fallback that never carries internals.

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
    ];

    /// The plain-language fallback text for this id.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorId::NotFound => "There is nothing at this address.",
            ErrorId::MethodNotAllowed => "This address does not accept that kind of request.",
            ErrorId::UnsupportedMediaType => "The request must be sent as application/json.",
            ErrorId::InvalidJson => "The request could not be read.",
            ErrorId::InvalidField => "A field in the request is not valid.",
            ErrorId::PayloadTooLarge => "The request is too large.",
            ErrorId::CrossOrigin => "The request did not come from this portal.",
            ErrorId::RateLimited => "Too many attempts. Wait a moment and try again.",
            ErrorId::PowInvalid => "The automatic security check didn't pass. Try again.",
            ErrorId::FlowExpired => "This reset has expired. Start again.",
            ErrorId::WrongStep => "That step is no longer current. Continue from where you are.",
            ErrorId::CodeInvalid => "That code didn't work. Check it and try again.",
            ErrorId::ResendTooSoon => {
                "A new code was just sent. Wait a moment before asking for another."
            }
            ErrorId::PasswordTooShort => "The password is too short.",
            ErrorId::PasswordTooLong => "The password is too long.",
            ErrorId::PasswordTooWeak => "The password is too easy to guess. Try a longer phrase.",
            ErrorId::PasswordContainsName => {
                "The password must not contain your name or user name."
            }
            ErrorId::PasswordBanned => {
                "That password is built on a common or banned word, or your organisation's name. Add more words of your own."
            }
            ErrorId::PasswordNotComplex => {
                "The directory needs three kinds of character: capitals, small letters, digits or symbols."
            }
            ErrorId::PasswordBreached => {
                "That password has appeared in a data breach elsewhere, so attackers try it. Please choose another."
            }
            ErrorId::PasswordRejectedByDirectory => {
                "Your organisation's directory didn't accept that password."
            }
            ErrorId::PasswordInHistory => {
                "You have used that password before. Choose one you haven't used here."
            }
            ErrorId::PasswordTooYoung => {
                "Your password was changed too recently to change again. Try later, or reset it instead."
            }
            ErrorId::DirectoryUnavailable => {
                "Your organisation's directory can't be reached right now. Nothing was changed; try again in a minute."
            }
            ErrorId::InvalidCredentials => "That user name or password is not right.",
            ErrorId::SignInLocked => {
                "Too many wrong passwords. Wait, then try again, or reset your password."
            }
            ErrorId::SessionRequired => "Sign in to continue.",
            ErrorId::ReauthRequired => "For your security, enter your password again to do this.",
            ErrorId::PassRestricted => {
                "A Temporary Access Pass can only add security info. Sign in with your password to do this."
            }
            ErrorId::EnrollmentExpired => "This setup has expired. Start adding the method again.",
            ErrorId::MethodLimit => "You can't add more of this kind of method.",
            ErrorId::PhoneInvalid => {
                "Enter the number with + and the country code, for example +44 7700 900123."
            }
            ErrorId::EmailInvalid => "Enter an email address like name@example.com.",
            ErrorId::AnswersInvalid => {
                "Answer three different questions, each with a different answer of 3 to 40 characters."
            }
            ErrorId::Unavailable => "The service is temporarily unavailable. Try again shortly.",
            ErrorId::Internal => "Something went wrong on our side. Try again shortly.",
            ErrorId::Unknown => "Something went wrong.",
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
                message: ErrorId::NotFound.default_message().into(),
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
