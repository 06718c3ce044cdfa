//! Throttling of proofs and codes, persisted in the store.
//!
//! Two subjects count every proof:
//! - the identifier *as typed* (`t:` + a keyed hash of it), for real
//!   accounts and decoys alike. Only its state is ever visible: after 5
//!   failed proofs in 24 h that identifier's flows answer "blocked" for 24 h.
//! - the *account* behind it (`u:` + its id), real accounts only. It is
//!   never visible on its own: once 5 proofs have failed through any of the
//!   account's names, no proof passes for 24 h, and a right one answers
//!   "blocked". So the limit holds per account, while an attacker who
//!   blocks `bob` learns nothing by trying `bob@example.com`, just as with a
//!   name that belongs to nobody.
//!
//! A proof is evaluated only after a slot is reserved atomically in the typed
//! subject's budget, so concurrent guesses can never be evaluated more often
//! than the limit allows; a proof that passes gives its slot back.
//!
//! Sends are throttled silently, per account: at most 10 codes per 10
//! minutes (past it a code is dropped), and one per address or number per
//! 60 s whatever route asked for it (a code that must wait goes when its
//! turn comes, if it is still live). Neither is ever announced, so the
//! answer is the one a decoy gets; both are audited.

use sha2::{Digest, Sha256};

use crate::AppState;
use crate::clock::UnixTime;
use crate::error::ApiError;

pub const FAIL_LIMIT: i64 = 5;
pub const FAIL_WINDOW: i64 = 24 * 3600;
pub const BLOCK_FOR: i64 = 24 * 3600;
pub const SEND_LIMIT: i64 = 10;
pub const SEND_WINDOW: i64 = 600;
/// Seconds between two codes to the same address or number.
pub const TARGET_COOLDOWN: i64 = 60;

/// The throttling subject of an identifier as typed: the same for a real
/// account and a decoy, and no clue to which.
pub fn typed_subject(state: &AppState, identifier: &str) -> String {
    let seed = state.keys.decoy_seed(identifier);
    format!("t:{}", hex::encode(&seed[..16]))
}

/// The throttling subject of an account.
pub fn account_subject(user_id: &str) -> String {
    format!("u:{user_id}")
}

pub async fn is_blocked(state: &AppState, subject: &str) -> Result<bool, ApiError> {
    let until: Option<i64> = sqlx::query_scalar("SELECT until FROM sspr_blocks WHERE subject = $1")
        .bind(subject)
        .fetch_optional(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
    Ok(until.is_some_and(|u| u > state.clock.now()))
}

/// Reserves one proof in `subject`'s budget, in one atomic statement:
/// false when failures plus proofs in flight already reach the limit.
pub async fn reserve(state: &AppState, subject: &str) -> Result<bool, ApiError> {
    let now = state.clock.now();
    let row: Option<i64> = sqlx::query_scalar(
        "INSERT INTO proof_budget (subject, window_start, used, failed) VALUES ($1, $2, 1, 0) \
         ON CONFLICT (subject) DO UPDATE SET \
           used = CASE WHEN proof_budget.window_start <= $3 THEN 1 ELSE proof_budget.used + 1 END, \
           failed = CASE WHEN proof_budget.window_start <= $3 THEN 0 ELSE proof_budget.failed END, \
           window_start = CASE WHEN proof_budget.window_start <= $3 THEN $2 ELSE proof_budget.window_start END \
         WHERE proof_budget.window_start <= $3 OR proof_budget.used < $4 \
         RETURNING used",
    )
    .bind(subject)
    .bind(now)
    .bind(now - FAIL_WINDOW)
    .bind(FAIL_LIMIT)
    .fetch_all(state.store.pool())
    .await
    .map_err(ApiError::internal)?
        .into_iter()
        .next();
    Ok(row.is_some())
}

/// Gives a reserved slot back: the proof passed, or was not a guess.
pub async fn refund(state: &AppState, subject: &str) -> Result<(), ApiError> {
    sqlx::query("UPDATE proof_budget SET used = used - 1 WHERE subject = $1 AND used > failed")
        .bind(subject)
        .execute(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// The reserved proof failed. Returns true when this failure blocks `subject`.
pub async fn fail_reserved(state: &AppState, subject: &str) -> Result<bool, ApiError> {
    let failed: Option<i64> = sqlx::query_scalar(
        "UPDATE proof_budget SET failed = failed + 1 WHERE subject = $1 RETURNING failed",
    )
    .bind(subject)
    .fetch_all(state.store.pool())
    .await
    .map_err(ApiError::internal)?
    .into_iter()
    .next();
    block_at_limit(state, subject, failed.unwrap_or(FAIL_LIMIT)).await
}

/// A failed proof counted against an account (no slot was reserved there).
/// Returns true when this failure blocks it.
pub async fn fail_unreserved(state: &AppState, subject: &str) -> Result<bool, ApiError> {
    let now = state.clock.now();
    let failed: i64 = sqlx::query_scalar(
        "INSERT INTO proof_budget (subject, window_start, used, failed) VALUES ($1, $2, 1, 1) \
         ON CONFLICT (subject) DO UPDATE SET \
           used = CASE WHEN proof_budget.window_start <= $3 THEN 1 ELSE proof_budget.used + 1 END, \
           failed = CASE WHEN proof_budget.window_start <= $3 THEN 1 ELSE proof_budget.failed + 1 END, \
           window_start = CASE WHEN proof_budget.window_start <= $3 THEN $2 ELSE proof_budget.window_start END \
         RETURNING failed",
    )
    .bind(subject)
    .bind(now)
    .bind(now - FAIL_WINDOW)
    .fetch_all(state.store.pool())
    .await
    .map_err(ApiError::internal)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("RETURNING gave no row"))?;
    block_at_limit(state, subject, failed).await
}

async fn block_at_limit(state: &AppState, subject: &str, failed: i64) -> Result<bool, ApiError> {
    if failed < FAIL_LIMIT {
        return Ok(false);
    }
    let now = state.clock.now();
    // Only the failure that reaches the limit starts the block.
    let started = sqlx::query(
        "INSERT INTO sspr_blocks (subject, until) VALUES ($1, $2) \
         ON CONFLICT (subject) DO UPDATE SET until = excluded.until WHERE sspr_blocks.until <= $3",
    )
    .bind(subject)
    .bind(now + BLOCK_FOR)
    .bind(now)
    .execute(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
    Ok(started.rows_affected() == 1)
}

/// What a code is for. The 60 s cooldown holds per account, target and
/// purpose, whatever the route: choosing a method again, resending, or a
/// second flow all wait on the same clock for reset codes. A reset right
/// after adding that address is not held up by the enrolment's code; both
/// still count against the one per-account cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Codes of the reset wizard.
    Reset,
    /// Codes sent to a signed-in user: enrolment and step-up.
    Account,
}

fn target_hash(state: &AppState, target: &str, purpose: Purpose) -> String {
    let t = target.trim().to_lowercase();
    let p = match purpose {
        Purpose::Reset => "reset",
        Purpose::Account => "account",
    };
    hex::encode(Sha256::digest(
        state
            .keys
            .code_hash("send-target", &format!("{p}:{t}"))
            .as_bytes(),
    ))
}

/// Why a code was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// A code went to this address or number less than 60 s ago.
    Cooldown { retry_after: i64 },
    /// Ten codes went to this account in the last 10 minutes.
    Cap { retry_after: i64 },
}

/// Charges one code to `account` for `target`, or says why it must wait.
/// The same rule for every route that sends a code (reset, step-up,
/// enrolment); the reset wizard keeps the refusal to itself.
pub async fn charge_send(
    state: &AppState,
    account: &str,
    target: &str,
    purpose: Purpose,
) -> Result<Result<(), Held>, ApiError> {
    let now = state.clock.now();
    let target = target_hash(state, target, purpose);
    // One atomic claim of the target's cooldown: of two concurrent sends to
    // one number, one goes.
    let claimed = sqlx::query(
        "INSERT INTO send_log (account, target_hash, at) VALUES ($1, $2, $3) \
         ON CONFLICT (account, target_hash) DO UPDATE SET at = excluded.at \
         WHERE send_log.at <= $4",
    )
    .bind(account)
    .bind(&target)
    .bind(now)
    .bind(now - TARGET_COOLDOWN)
    .execute(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
    if claimed.rows_affected() == 0 {
        let at: i64 =
            sqlx::query_scalar("SELECT at FROM send_log WHERE account = $1 AND target_hash = $2")
                .bind(account)
                .bind(&target)
                .fetch_one(state.store.pool())
                .await
                .map_err(ApiError::internal)?;
        return Ok(Err(Held::Cooldown {
            retry_after: (at + TARGET_COOLDOWN - now).max(1),
        }));
    }
    let sent: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM throttle_events WHERE subject = $1 AND kind = 'send' AND at > $2",
    )
    .bind(account)
    .bind(now - SEND_WINDOW)
    .fetch_one(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
    if sent >= SEND_LIMIT {
        let oldest: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(at) FROM throttle_events WHERE subject = $1 AND kind = 'send' AND at > $2",
        )
        .bind(account)
        .bind(now - SEND_WINDOW)
        .fetch_one(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
        return Ok(Err(Held::Cap {
            retry_after: oldest.map_or(SEND_WINDOW, |o| o + SEND_WINDOW - now).max(1),
        }));
    }
    sqlx::query("INSERT INTO throttle_events (subject, kind, at) VALUES ($1, 'send', $2)")
        .bind(account)
        .bind(now)
        .execute(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
    Ok(Ok(()))
}

/// As [`charge_send`], for codes to a signed-in user, who may be told: a
/// refusal is `429`.
pub async fn charge_send_visibly(
    state: &AppState,
    account: &str,
    target: &str,
) -> Result<(), ApiError> {
    match charge_send(state, account, target, Purpose::Account).await? {
        Ok(()) => Ok(()),
        Err(Held::Cooldown { retry_after }) => Err(ApiError::ResendTooSoon {
            retry_after: retry_after as u64,
        }),
        Err(Held::Cap { retry_after }) => Err(ApiError::RateLimited {
            retry_after: retry_after as u64,
        }),
    }
}

/// Forgets windows and blocks that ended before `now` (housekeeping).
pub async fn sweep(state: &AppState, now: UnixTime) -> Result<(), sqlx::Error> {
    let pool = state.store.pool();
    sqlx::query("DELETE FROM proof_budget WHERE window_start <= $1")
        .bind(now - FAIL_WINDOW)
        .execute(pool)
        .await?;
    sqlx::query("DELETE FROM sspr_blocks WHERE until <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    sqlx::query("DELETE FROM send_log WHERE at <= $1")
        .bind(now - TARGET_COOLDOWN)
        .execute(pool)
        .await?;
    sqlx::query("DELETE FROM throttle_events WHERE at <= $1")
        .bind(now - FAIL_WINDOW)
        .execute(pool)
        .await?;
    Ok(())
}
