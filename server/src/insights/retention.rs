//! How long the audit trail keeps events: every event for
//! `audit.retention_days` (365), the step-by-step "Self-service password
//! reset flow activity progress" events, which carry the throttling and
//! the refusals, for `audit.progress_retention_days` (90). An event is
//! deleted only once it is strictly older than its retention, in chunks,
//! so a first run on a large store never holds the store for long.

use crate::AppState;
use crate::audit;
use crate::ports::InsightsStore;
use crate::store::StoreError;

/// Seconds between two runs in the background.
pub const EVERY: i64 = 3600;
/// Rows one statement deletes at most.
const CHUNK: i64 = 5000;
const DAY: i64 = 86_400;

/// What a run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deleted {
    /// Events older than `audit.retention_days`.
    pub expired: u64,
    /// Progress events older than `audit.progress_retention_days`.
    pub progress: u64,
}

/// Deletes what the retention no longer keeps, by `state.clock`.
pub async fn apply(state: &AppState) -> Result<Deleted, StoreError> {
    let now = state.clock.now();
    let cfg = &state.config.audit;
    let all_before = now - i64::from(cfg.retention_days.get()) * DAY;
    let progress_before = now - i64::from(cfg.progress_retention_days) * DAY;
    let mut deleted = Deleted::default();
    loop {
        let done = state.store.purge_audit(all_before, None, CHUNK).await?;
        deleted.expired += done;
        if done < CHUNK as u64 {
            break;
        }
    }
    loop {
        let done = state
            .store
            .purge_audit(progress_before, Some(audit::FLOW_PROGRESS), CHUNK)
            .await?;
        deleted.progress += done;
        if done < CHUNK as u64 {
            break;
        }
    }
    if deleted != Deleted::default() {
        tracing::info!(
            expired = deleted.expired,
            progress = deleted.progress,
            "audit retention deleted old events"
        );
    }
    Ok(deleted)
}
