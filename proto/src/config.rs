//! `/api/health` and `/api/config`: what the SPA may know before anyone signs in.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordRules {
    /// Minimum length in Unicode code points (after NFKC, see the policy engine).
    pub min_length: u16,
    pub max_length: u16,
    /// Minimum zxcvbn score, 0 to 4.
    pub min_score: u8,
}
