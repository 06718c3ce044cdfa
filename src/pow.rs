//! Solves the server's proof-of-work CAPTCHA in wasm, yielding to the browser
//! between batches so the page stays responsive and progress can be shown.

use sha2::{Digest, Sha256};
use sspr_proto::reset::{PowChallenge, leading_zero_bits, pow_message};

/// Hashes tried between yields to the event loop.
const BATCH: u64 = 4096;

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether `nonce` solves `ch`.
pub fn is_solution(prefix: &[u8], difficulty: u8, nonce: u64) -> bool {
    leading_zero_bits(&Sha256::digest(pow_message(prefix, nonce))) >= u32::from(difficulty)
}

/// Finds a nonce; `progress` gets the expected fraction done (capped below 1).
pub async fn solve(ch: &PowChallenge, mut progress: impl FnMut(f64)) -> Option<u64> {
    let prefix = unhex(&ch.prefix)?;
    let expected = 2f64.powi(i32::from(ch.difficulty));
    let mut nonce = 0u64;
    loop {
        for _ in 0..BATCH {
            if is_solution(&prefix, ch.difficulty, nonce) {
                progress(1.0);
                return Some(nonce);
            }
            nonce = nonce.checked_add(1)?;
        }
        progress((nonce as f64 / expected).min(0.95));
        gloo_timers::future::TimeoutFuture::new(0).await;
    }
}
