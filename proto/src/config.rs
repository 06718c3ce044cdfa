//! `/api/health` and `/api/config`: what the SPA may know before anyone signs in.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// `/api/ready`: whether this node can serve, part by part. 200 when every
/// check passed, else 503 with the same body. Causes are logged, not shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    pub checks: Vec<ReadinessCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessCheck {
    /// `store`, `directory`, `mail` or `sms`.
    pub name: String,
    pub ok: bool,
    /// How long the check took.
    pub ms: u64,
}

/// Who may use self-service password reset. The group name itself is not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SsprAvailability {
    None,
    All,
    Group,
}

/// The public policy summary: enough for the SPA to render steps and the
/// password checklist, nothing that helps an attacker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicConfig {
    pub sspr: SsprAvailability,
    /// Methods a (non-admin) user must prove to reset: 1 or 2.
    pub methods_required: u8,
    /// Method kinds users may register, e.g. `authenticator`, `email`, `sms`.
    pub methods_available: Vec<String>,
    pub password: PasswordRules,
    /// Days before users must reconfirm their security info (0 = never).
    pub reconfirm_days: u16,
    /// The language for readers none of whose languages the portal ships
    /// (a shipped locale code: `en`, `de`, ...).
    pub default_locale: String,
    /// Passkeys are offered: "Sign in with a passkey" shows. Left out of
    /// the body while false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub passkeys: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordRules {
    /// Minimum length in Unicode code points (after NFKC, see the policy engine).
    pub min_length: u16,
    pub max_length: u16,
    /// Minimum zxcvbn score, 0 to 4.
    pub min_score: u8,
    /// Active Directory's complexity rule: three of capitals, small letters,
    /// digits, symbols and other letters. Set by the config or the directory.
    #[serde(default)]
    pub complexity: bool,
}

/// What the live checklist needs for one user, sent only after they have
/// proved who they are (the reset's new-password step, or a signed-in
/// session). The global banned list ships inside the strength worker.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordContext {
    pub rules: PasswordRules,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    /// Present when the banned list is enforced; absent in audit mode,
    /// where the server lets banned passwords through.
    pub banned: Option<BannedContext>,
    /// The current year by the server's clock. zxcvbn measures recent years
    /// and dates from it, so the worker and the server must use the same.
    pub year: i32,
}

/// The organisation's part of the banned-password rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BannedContext {
    pub organisation: String,
    /// The configured custom terms, as written (the worker folds them).
    pub custom: Vec<String>,
}

impl std::fmt::Debug for PasswordContext {
    // Names and addresses are personal data: kept out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordContext")
            .field("rules", &self.rules)
            .field("banned", &self.banned.is_some())
            .finish_non_exhaustive()
    }
}
