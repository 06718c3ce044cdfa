//! Audit events with Entra's activity names, stored and logged as JSON.
//! Events carry who, how, the result, the IP and the flow; never a secret.

use crate::AppState;
use crate::ports::{AuditStore, NewAuditEvent};

pub const FLOW_PROGRESS: &str = "Self-service password reset flow activity progress";
pub const RESET_COMPLETED: &str = "Reset password (self-service)";
pub const USER_BLOCKED: &str = "User blocked from self-service password reset";
pub const UNLOCK: &str = "Unlock user account (self-service)";
/// A mail or text that was never sent: its code expired, the relay refused
/// it for as long as the policy retries, or the outbox was full.
pub const DELIVERY_FAILED: &str = "Notification delivery failed";
/// The actor of what no person did.
pub const SYSTEM: &str = "(system)";

#[derive(Debug, Default, Clone)]
pub struct Event<'a> {
    pub activity: &'a str,
    pub actor: &'a str,
    pub target: Option<&'a str>,
    pub method: Option<&'a str>,
    pub success: bool,
    pub ip: &'a str,
    /// A short prefix of the flow's stored hash: enough to correlate, useless to resume.
    pub flow: Option<&'a str>,
    pub detail: Option<&'a str>,
}

pub async fn record(state: &AppState, e: Event<'_>) {
    let result = if e.success { "success" } else { "failure" };
    let flow = e.flow.map(|f| &f[..f.len().min(12)]);
    tracing::info!(
        target: "audit",
        activity = e.activity, actor = e.actor, target_user = e.target, method = e.method,
        result, ip = e.ip, flow, detail = e.detail,
        "audit"
    );
    let id = state.entropy.hex_id(16);
    let inserted = state
        .store
        .append_audit(&NewAuditEvent {
            id: &id,
            at: state.clock.now(),
            activity: e.activity,
            actor: e.actor,
            target: e.target,
            method: e.method,
            success: e.success,
            ip: e.ip,
            flow,
            detail: e.detail,
        })
        .await;
    if let Err(err) = inserted {
        tracing::error!(error = %err, "cannot store an audit event");
    }
}
