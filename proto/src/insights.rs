//! Usage & insights for administrators (`/insights`): who is registered and
//! capable, which methods people register and use, reset and block activity
//! day by day, and the audit trail. The server computes [`Insights`] once
//! for the page (`GET /api/insights`) and for `sspr report usage`, so the
//! two always agree.
//!
//! Access: a signed-in administrator who has proved two different methods
//! in this session within the step-up window (as an administrator's reset
//! needs two gates). Anyone else gets `403 insights.forbidden`; an
//! administrator with fewer proofs `401 insights.two_methods_required`.

use serde::{Deserialize, Serialize};

use crate::reset::MethodKind;

/// Days `GET /api/insights` covers unless `?days=` says otherwise (1 to 90).
pub const DEFAULT_DAYS: u16 = 30;

/// Audit events `GET /api/insights/events` returns at most, newest first.
pub const EVENTS_PAGE: usize = 100;

/// The figures of `GET /api/insights?days=N` and `sspr report usage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Insights {
    /// Unix seconds when they were read.
    pub generated_at: i64,
    /// How many days [`Insights::activity`] covers, today (UTC) included.
    pub days: u16,
    pub coverage: Coverage,
    /// For each method kind the policy offers: how many users in scope have
    /// at least one method of it.
    pub methods: Vec<MethodCount>,
    /// One entry per UTC day, oldest first, `days` of them.
    pub activity: Vec<DayActivity>,
    /// Accounts blocked from self-service reset right now.
    pub blocked_now: Vec<UserRef>,
}

/// Who the policy covers and how far they are ready to reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub scope: Scope,
    /// Users self-service reset is enabled for (`policy.sspr_enabled`).
    pub in_scope: u32,
    /// In scope, with at least one registered method.
    pub registered: u32,
    /// In scope, with enough methods for the policy to let them reset
    /// (two different kinds for administrators or a two-gate policy).
    pub capable: u32,
    /// In scope and registered nothing, by user name.
    pub not_registered: Vec<UserRef>,
}

/// What "in scope" could count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every user of the directory (the built-in one lists them cheaply).
    AllUsers,
    /// LDAP and Active Directory: the users the portal has seen (signed in,
    /// identified at reset, or registered), since listing a whole directory
    /// on every view is not cheap. Users who never came are not counted.
    SeenUsers,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserRef {
    pub username: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodCount {
    pub kind: MethodKind,
    pub users: u32,
}

/// One UTC day of activity, from the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayActivity {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    /// Passwords reset through the wizard.
    pub resets: u32,
    /// Accounts unlocked through the wizard without a reset.
    pub unlocks: u32,
    /// Accounts blocked from self-service reset.
    pub blocks: u32,
    /// Methods registered in security info.
    pub registrations: u32,
    /// Proofs at reset gates, by method: passed and failed.
    pub proofs: Vec<ProofCount>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofCount {
    pub kind: MethodKind,
    pub passed: u32,
    pub failed: u32,
}

/// Filters of `GET /api/insights/events` (query string), all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFilter {
    /// The actor or the target, exactly (a user name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The activity, exactly (Entra's name, e.g. "Reset password (self-service)").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<EventResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventResult {
    Success,
    Failure,
}

/// One audit event, as stored: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Unix seconds.
    pub at: i64,
    pub activity: String,
    pub actor: String,
    pub target: Option<String>,
    pub method: Option<String>,
    pub result: EventResult,
    pub ip: String,
    pub detail: Option<String>,
}

/// `GET /api/insights/events`: the newest [`EVENTS_PAGE`] events that match,
/// and the activities there are to filter by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPage {
    pub events: Vec<AuditEvent>,
    pub activities: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_results_are_snake_case_on_the_wire() {
        assert_eq!(
            serde_json::to_string(&Scope::SeenUsers).unwrap(),
            "\"seen_users\""
        );
        assert_eq!(
            serde_json::to_string(&EventResult::Failure).unwrap(),
            "\"failure\""
        );
        let f: EventFilter = serde_json::from_str(r#"{"user":"bob"}"#).unwrap();
        assert_eq!(f.user.as_deref(), Some("bob"));
        assert_eq!(
            serde_json::to_string(&EventFilter::default()).unwrap(),
            "{}"
        );
    }
}
