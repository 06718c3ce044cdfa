//! The self-hosted CAPTCHA: a SHA-256 proof of work, single use.

use sha2::{Digest, Sha256};
use sspr_proto::reset::{PowChallenge, PowSolution, leading_zero_bits, pow_message};

use crate::AppState;
use crate::error::ApiError;
use crate::ports::{FlowStore, NewPow};

/// A challenge lives this long.
pub const LIFETIME: i64 = 300;

pub async fn issue(state: &AppState) -> Result<PowChallenge, ApiError> {
    let id = state.entropy.hex_id(16);
    let prefix = state.entropy.hex_id(16);
    let difficulty = state.config.reset.pow_difficulty.get();
    let now = state.clock.now();
    // Expired challenges are swept as new ones are issued.
    state.store.purge_expired_pow(now).await?;
    state
        .store
        .insert_pow(&NewPow {
            id: &id,
            prefix: &prefix,
            difficulty: i64::from(difficulty),
            expires: now + LIFETIME,
        })
        .await?;
    Ok(PowChallenge {
        id,
        prefix,
        difficulty,
    })
}

/// Consumes the challenge (whatever the outcome) and checks the work.
pub async fn redeem(state: &AppState, sol: &PowSolution) -> Result<(), ApiError> {
    let row = state.store.take_pow(&sol.id, state.clock.now()).await?;
    let (prefix, difficulty) = row.ok_or(ApiError::PowInvalid)?;
    let prefix = hex::decode(prefix).map_err(ApiError::internal)?;
    let digest = Sha256::digest(pow_message(&prefix, sol.nonce));
    if i64::from(leading_zero_bits(&digest)) >= difficulty {
        Ok(())
    } else {
        Err(ApiError::PowInvalid)
    }
}

/// Solves a challenge (tests and benchmarks; the SPA has its own wasm solver).
pub fn solve(ch: &PowChallenge) -> u64 {
    let prefix = hex::decode(&ch.prefix).expect("hex prefix");
    (0u64..)
        .find(|n| {
            leading_zero_bits(&Sha256::digest(pow_message(&prefix, *n))) >= u32::from(ch.difficulty)
        })
        .expect("a solution exists")
}
