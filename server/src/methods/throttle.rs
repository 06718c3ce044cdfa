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
//! Sends are throttled silently: at most 10 codes per account per 10
//! minutes (past it a code is dropped), and one per address or number per
//! 60 s whatever route asked for it (a code that must wait goes when its
//! turn comes, if it is still live). A phone number's 60 s hold whatever
//! account asked, so many accounts cannot call one person once a minute
//! each. Neither is ever announced at reset, so the answer is the one a
//! decoy gets; both are audited.

use sha2::{Digest, Sha256};
use sspr_proto::reset::MethodKind;

use super::of;
use crate::AppState;
use crate::clock::UnixTime;
use crate::error::ApiError;
use crate::ports::{Claim, ProofWindow, ThrottleHorizons, ThrottleStore};

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

/// The proof budget of every subject.
const PROOFS: ProofWindow = ProofWindow {
    limit: FAIL_LIMIT,
    seconds: FAIL_WINDOW,
};

pub async fn is_blocked(state: &AppState, subject: &str) -> Result<bool, ApiError> {
    let until = state.store.blocked_until(subject).await?;
    Ok(until.is_some_and(|u| u > state.clock.now()))
}

/// Reserves one proof in `subject`'s budget, in one atomic statement:
/// false when failures plus proofs in flight already reach the limit.
pub async fn reserve(state: &AppState, subject: &str) -> Result<bool, ApiError> {
    Ok(state
        .store
        .reserve_proof(subject, PROOFS, state.clock.now())
        .await?)
}

/// Gives a reserved slot back: the proof passed, or was not a guess.
pub async fn refund(state: &AppState, subject: &str) -> Result<(), ApiError> {
    Ok(state.store.refund_proof(subject).await?)
}

/// The reserved proof failed. Returns true when this failure blocks `subject`.
pub async fn fail_reserved(state: &AppState, subject: &str) -> Result<bool, ApiError> {
    let failed = state.store.fail_reserved_proof(subject).await?;
    block_at_limit(state, subject, failed.unwrap_or(FAIL_LIMIT)).await
}

/// A failed proof counted against an account (no slot was reserved there).
/// Returns true when this failure blocks it.
pub async fn fail_unreserved(state: &AppState, subject: &str) -> Result<bool, ApiError> {
    let failed = state
        .store
        .fail_unreserved_proof(subject, FAIL_WINDOW, state.clock.now())
        .await?
        .ok_or_else(|| ApiError::internal("RETURNING gave no row"))?;
    block_at_limit(state, subject, failed).await
}

async fn block_at_limit(state: &AppState, subject: &str, failed: i64) -> Result<bool, ApiError> {
    if failed < FAIL_LIMIT {
        return Ok(false);
    }
    let now = state.clock.now();
    // Only the failure that reaches the limit starts the block.
    Ok(state
        .store
        .start_block(subject, now + BLOCK_FOR, now)
        .await?)
}

/// What a code is for. The 60 s cooldown holds per target and purpose,
/// whatever the route: choosing a method again, resending, or a second flow
/// all wait on the same clock for reset codes. An address's cooldown is the
/// account's own; a phone number's is the number's, whatever account asked
/// (a text or a call, a mobile or an office phone), so N accounts that
/// registered one victim's number cannot have it called N times a minute.
///
/// The two purposes keep a clock each. A reset right after adding that
/// address or number is not held up by the enrolment's code; both still
/// count against the one per-account cap. And a refusal an enrolment is
/// told of (`429`) never depends on reset codes, which anyone may have sent
/// to a real account's number and a decoy never sends: otherwise adding a
/// guessed number after starting a reset for `bob` would say whether bob
/// is an account holding that number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Codes of the reset wizard.
    Reset,
    /// Codes sent to a signed-in user to add an address or number.
    Account,
    /// Codes sent to a signed-in user's own method, to prove it (step-up).
    /// A phone's cooldown here is the account's, not the number's: only
    /// the account that proved the number can ask for these, so no other
    /// account can hold them up, nor learn from a `429` when its owner last
    /// stepped up.
    StepUp,
}

/// Who a cooldown of shared targets is claimed for in the store, in place
/// of an account: no account subject (`u:`) is ever this.
const EVERY_ACCOUNT: &str = "*";

fn target_hash(state: &AppState, target: &str, purpose: Purpose) -> String {
    let t = target.trim().to_lowercase();
    let p = match purpose {
        Purpose::Reset => "reset",
        Purpose::Account | Purpose::StepUp => "account",
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

/// Charges one code of a `kind` to `account` for `target`, or says why it
/// must wait. The same rule for every route that sends a code (reset,
/// step-up, enrolment); the reset wizard keeps the refusal to itself.
pub async fn charge_send(
    state: &AppState,
    account: &str,
    kind: MethodKind,
    target: &str,
    purpose: Purpose,
) -> Result<Result<(), Held>, ApiError> {
    let now = state.clock.now();
    let holder = if of(kind).cooldown_per_target() && purpose != Purpose::StepUp {
        EVERY_ACCOUNT
    } else {
        account
    };
    let target = target_hash(state, target, purpose);
    // One atomic claim of the target's cooldown: of two concurrent sends to
    // one number, one goes.
    let store = &state.store;
    if let Claim::HeldSince(at) = store
        .claim_cooldown(holder, &target, TARGET_COOLDOWN, now)
        .await?
    {
        return Ok(Err(Held::Cooldown {
            retry_after: (at + TARGET_COOLDOWN - now).max(1),
        }));
    }
    let sent = store.sends_since(account, now - SEND_WINDOW).await?;
    if sent >= SEND_LIMIT {
        let oldest = store.oldest_send_since(account, now - SEND_WINDOW).await?;
        return Ok(Err(Held::Cap {
            retry_after: oldest.map_or(SEND_WINDOW, |o| o + SEND_WINDOW - now).max(1),
        }));
    }
    store.log_send(account, now).await?;
    Ok(Ok(()))
}

/// As [`charge_send`], for codes to a signed-in user, who may be told: a
/// refusal is `429`.
pub async fn charge_send_visibly(
    state: &AppState,
    account: &str,
    kind: MethodKind,
    target: &str,
    purpose: Purpose,
) -> Result<(), ApiError> {
    match charge_send(state, account, kind, target, purpose).await? {
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
    let horizons = ThrottleHorizons {
        budgets: now - FAIL_WINDOW,
        blocks: now,
        cooldowns: now - TARGET_COOLDOWN,
        sends: now - FAIL_WINDOW,
    };
    state
        .store
        .sweep_throttles(horizons)
        .await
        .map_err(crate::ports::into_sqlx)
}
