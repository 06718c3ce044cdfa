//! Per-account throttling, persisted: 5 failed proofs in 24 h blocks
//! self-service for 24 h; at most 10 codes per 10 minutes. Keyed by the
//! flow's subject, so decoy identifiers throttle exactly like accounts.

use crate::AppState;
use crate::clock::UnixTime;
use crate::error::ApiError;

pub const FAIL_LIMIT: i64 = 5;
pub const FAIL_WINDOW: i64 = 24 * 3600;
pub const BLOCK_FOR: i64 = 24 * 3600;
pub const SEND_LIMIT: i64 = 10;
pub const SEND_WINDOW: i64 = 600;

async fn count(
    state: &AppState,
    subject: &str,
    kind: &str,
    since: UnixTime,
) -> Result<i64, ApiError> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM throttle_events WHERE subject = $1 AND kind = $2 AND at > $3",
    )
    .bind(subject)
    .bind(kind)
    .bind(since)
    .fetch_one(state.store.pool())
    .await
    .map_err(ApiError::internal)
}

async fn note(state: &AppState, subject: &str, kind: &str) -> Result<(), ApiError> {
    sqlx::query("INSERT INTO throttle_events (subject, kind, at) VALUES ($1, $2, $3)")
        .bind(subject)
        .bind(kind)
        .bind(state.clock.now())
        .execute(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

pub async fn is_blocked(state: &AppState, subject: &str) -> Result<bool, ApiError> {
    let until: Option<i64> = sqlx::query_scalar("SELECT until FROM sspr_blocks WHERE subject = $1")
        .bind(subject)
        .fetch_optional(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
    Ok(until.is_some_and(|u| u > state.clock.now()))
}

/// Records a failed proof. Returns true when this failure blocks the subject.
pub async fn fail(state: &AppState, subject: &str) -> Result<bool, ApiError> {
    note(state, subject, "fail").await?;
    let now = state.clock.now();
    if count(state, subject, "fail", now - FAIL_WINDOW).await? >= FAIL_LIMIT {
        sqlx::query(
            "INSERT INTO sspr_blocks (subject, until) VALUES ($1, $2) \
             ON CONFLICT (subject) DO UPDATE SET until = excluded.until",
        )
        .bind(subject)
        .bind(now + BLOCK_FOR)
        .execute(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
        return Ok(true);
    }
    Ok(false)
}

/// Counts a code about to be sent, or refuses when the cap is reached.
pub async fn send(state: &AppState, subject: &str) -> Result<(), ApiError> {
    let now = state.clock.now();
    if count(state, subject, "send", now - SEND_WINDOW).await? >= SEND_LIMIT {
        let oldest: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(at) FROM throttle_events WHERE subject = $1 AND kind = 'send' AND at > $2",
        )
        .bind(subject)
        .bind(now - SEND_WINDOW)
        .fetch_one(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
        let retry = oldest.map_or(SEND_WINDOW, |o| o + SEND_WINDOW - now).max(1);
        return Err(ApiError::RateLimited {
            retry_after: retry as u64,
        });
    }
    note(state, subject, "send").await
}
