//! Combined security-info registration: the signed-in user's methods, the
//! sign-in interrupt, enrollment and recovery codes. The server holds each
//! enrollment; the SPA renders the [`SecurityInfoView`] and [`Enrollment`]
//! it is given.

use serde::{Deserialize, Serialize};

use crate::reset::MethodKind;

/// One registered method, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredMethod {
    pub id: String,
    pub kind: MethodKind,
    /// The address or number in full (it is the owner's); empty for an
    /// authenticator app; "8 of 10 left" style counts travel in `remaining`.
    pub target: String,
    pub is_default: bool,
    /// Unix seconds.
    pub added_at: i64,
    /// Unused recovery codes, for the recovery-codes method.
    pub remaining: Option<u8>,
}

/// Why the portal stops the user before anything else. Externally tagged
/// (`{"register": {"needed": 1}}`, `"reconfirm"`), as every enum the SPA
/// reads is: see [`ResetStep`](crate::reset::ResetStep) for why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interrupt {
    /// Fewer methods than reset requires: register `needed` more.
    Register { needed: u8 },
    /// The reconfirm period passed: confirm the methods are still right.
    Reconfirm,
}

/// How the session was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignedInWith {
    Password,
    /// A Temporary Access Pass: the session may only register methods.
    TemporaryAccessPass,
    /// A passkey alone (usernameless): as strong as a password and a method.
    Passkey,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityInfoView {
    pub username: String,
    pub display_name: String,
    pub signed_in_with: SignedInWith,
    pub methods: Vec<RegisteredMethod>,
    /// Methods a reset needs for this user (2 for administrators).
    pub required: u8,
    pub interrupt: Option<Interrupt>,
    /// Kinds the user may still add under the policy and per-kind limits.
    pub can_add: Vec<MethodKind>,
    /// Whether a sign-in happened recently enough to remove methods.
    pub recently_authenticated: bool,
    /// The questions to choose from when security questions can be added.
    #[serde(default)]
    pub questions: Vec<String>,
    /// An administrator (see [`SessionView`](crate::session::SessionView)).
    #[serde(default)]
    pub is_admin: bool,
    /// The method kinds this session proved with a step-up within the last
    /// 10 minutes, most recent first (as in
    /// [`SessionView::proven`](crate::session::SessionView::proven)), so the
    /// answer to `/stepup/verify` says at once whether Usage & insights opens.
    #[serde(default)]
    pub proven: Vec<MethodKind>,
}

/// Security answers 3 to 40 characters (code points).
pub const ANSWER_MIN: usize = 3;
pub const ANSWER_MAX: usize = 40;
/// Questions registered, and asked at reset.
pub const QUESTIONS: usize = 3;

/// One chosen question and its answer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionAnswer {
    pub question: String,
    pub answer: String,
}

impl std::fmt::Debug for QuestionAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuestionAnswer")
            .field("question", &self.question)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionsRequest {
    pub answers: Vec<QuestionAnswer>,
}

/// How answers compare once normalised: case and spacing do not matter.
/// The server folds look-alike forms first (NFKC, `sspr_policy::answers`);
/// the SPA's live check compares as typed.
pub fn fold_case_and_spacing(answer: &str) -> String {
    answer
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks a registration: exactly [`QUESTIONS`] different questions from
/// `offered`, answers of 3 to 40 characters, no answer used twice. Returns
/// the index of the first bad answer and why (a catalog key). Answers are
/// measured and compared after `fold`.
pub fn check_answers(
    offered: &[String],
    answers: &[QuestionAnswer],
    fold: impl Fn(&str) -> String,
) -> Result<(), (usize, &'static str)> {
    if answers.len() != QUESTIONS {
        return Err((answers.len().min(QUESTIONS), "answers.three"));
    }
    for (i, a) in answers.iter().enumerate() {
        if !offered.contains(&a.question) {
            return Err((i, "answers.from_list"));
        }
        if answers[..i].iter().any(|b| b.question == a.question) {
            return Err((i, "answers.different_questions"));
        }
        let n = fold(&a.answer).chars().count();
        if !(ANSWER_MIN..=ANSWER_MAX).contains(&n) {
            return Err((i, "answers.length"));
        }
        if answers[..i]
            .iter()
            .any(|b| fold(&b.answer) == fold(&a.answer))
        {
            return Err((i, "answers.different_answers"));
        }
    }
    Ok(())
}

/// Starts adding a method. Email and phone get a code (an office phone by a
/// call); an authenticator app gets a fresh secret to scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AddMethodRequest {
    Authenticator,
    Email { address: String },
    Sms { phone: String },
    OfficePhone { phone: String },
}

/// An enrollment in progress, held by the server for 10 minutes. Externally
/// tagged (`{"sms": {..}}`), as every enum the SPA reads is.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enrollment {
    Authenticator {
        enrollment: String,
        /// The `otpauth://` URI, for the QR code and the phone's app link.
        otpauth: String,
        /// The secret in base32, for typing in by hand.
        secret: String,
        account: String,
        issuer: String,
    },
    Email {
        enrollment: String,
        target: String,
        resend_in: u32,
    },
    Sms {
        enrollment: String,
        target: String,
        resend_in: u32,
    },
    /// A code is being read aloud to `target`.
    OfficePhone {
        enrollment: String,
        target: String,
        resend_in: u32,
    },
}

impl Enrollment {
    pub fn id(&self) -> &str {
        match self {
            Enrollment::Authenticator { enrollment, .. }
            | Enrollment::Email { enrollment, .. }
            | Enrollment::Sms { enrollment, .. }
            | Enrollment::OfficePhone { enrollment, .. } => enrollment,
        }
    }
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Enrollment::Authenticator { .. } => f
                .debug_struct("Enrollment::Authenticator")
                .finish_non_exhaustive(),
            Enrollment::Email { target, .. } => f
                .debug_struct("Enrollment::Email")
                .field("target", target)
                .finish_non_exhaustive(),
            Enrollment::Sms { target, .. } => f
                .debug_struct("Enrollment::Sms")
                .field("target", target)
                .finish_non_exhaustive(),
            Enrollment::OfficePhone { target, .. } => f
                .debug_struct("Enrollment::OfficePhone")
                .field("target", target)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    pub enrollment: String,
    pub code: String,
}

impl std::fmt::Debug for ConfirmRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfirmRequest").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodRequest {
    pub method: String,
}

/// Ten fresh single-use codes, shown once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
    pub view: SecurityInfoView,
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoveryCodes")
            .field("count", &self.codes.len())
            .finish_non_exhaustive()
    }
}

/// Starts a step-up: proving one of the user's registered methods before
/// changing them. `method` is a [`RegisteredMethod::id`]; an email or phone
/// gets a code, an authenticator app or recovery code needs none sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepUpRequest {
    pub method: String,
}

/// The step-up being made: which method, and for a sent code how long
/// until another may be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepUpChallenge {
    pub method: String,
    pub kind: MethodKind,
    pub resend_in: Option<u32>,
}

/// The step-up's proof: the code sent, an authenticator code or a recovery code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepUpVerifyRequest {
    pub code: String,
}

impl std::fmt::Debug for StepUpVerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepUpVerifyRequest")
            .finish_non_exhaustive()
    }
}

/// Kinds that can prove who the user is for a step-up. Security questions
/// cannot: they are guessable and never stand alone.
pub fn proves_stepup(kind: MethodKind) -> bool {
    !matches!(kind, MethodKind::SecurityQuestions)
}

/// Proves the password again, for sensitive changes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReauthRequest {
    pub password: String,
}

impl std::fmt::Debug for ReauthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReauthRequest").finish_non_exhaustive()
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current: String,
    pub new: String,
}

impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangePasswordRequest")
            .finish_non_exhaustive()
    }
}

/// Checks a phone number is E.164: `+`, a country code not starting with 0,
/// 8 to 15 digits in all. Spaces, dots, dashes and brackets are dropped first.
/// Returns the canonical form, or why not (a catalog key).
pub fn e164(input: &str) -> Result<String, &'static str> {
    let kept: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}'))
        .collect();
    let Some(digits) = kept.strip_prefix('+') else {
        return Err("phone.country_code");
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("phone.digits_only");
    }
    if digits.starts_with('0') {
        return Err("phone.no_leading_zero");
    }
    if !(8..=15).contains(&digits.len()) {
        return Err("phone.length");
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_accepts_common_spellings() {
        assert_eq!(e164("+44 7700 900123").unwrap(), "+447700900123");
        assert_eq!(e164("+1 (425) 555-0100").unwrap(), "+14255550100");
        assert!(e164("07700 900123").is_err());
        assert!(e164("+0 123456789").is_err());
        assert!(e164("+1 425 555 01OO").is_err());
        assert!(e164("+1234567").is_err());
        assert!(e164("+1234567890123456").is_err());
    }

    #[test]
    fn add_requests_are_tagged() {
        let r: AddMethodRequest = serde_json::from_str(r#"{"kind":"authenticator"}"#).unwrap();
        assert_eq!(r, AddMethodRequest::Authenticator);
        let r: AddMethodRequest =
            serde_json::from_str(r#"{"kind":"sms","phone":"+15550100"}"#).unwrap();
        assert!(matches!(r, AddMethodRequest::Sms { .. }));
    }

    #[test]
    fn secrets_never_print() {
        let e = Enrollment::Authenticator {
            enrollment: "e".repeat(32),
            otpauth: "otpauth://totp/x?secret=JBSWY3DP".into(),
            secret: "JBSWY3DP".into(),
            account: "a".into(),
            issuer: "i".into(),
        };
        let shown = format!("{e:?}");
        assert!(!shown.contains("JBSWY3DP") && !shown.contains("eeee"));
        let c = ChangePasswordRequest {
            current: "old-secret".into(),
            new: "new-secret".into(),
        };
        assert!(!format!("{c:?}").contains("secret"));
        let r = RecoveryCodes {
            codes: vec!["abcd-efgh".into()],
            view: SecurityInfoView {
                username: "u".into(),
                display_name: "U".into(),
                signed_in_with: SignedInWith::Password,
                methods: vec![],
                required: 1,
                interrupt: None,
                can_add: vec![],
                recently_authenticated: true,
                questions: vec![],
                is_admin: false,
                proven: vec![],
            },
        };
        assert!(!format!("{r:?}").contains("abcd"));
    }
}
