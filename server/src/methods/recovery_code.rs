//! Recovery codes: ten single-use codes of 80 bits, shown once, kept only as
//! keyed hashes. Typed codes are read leniently (case, separators,
//! look-alikes).

use sspr_proto::codes::{RECOVERY_CODE_CHARS, RECOVERY_CODE_GROUP};
use sspr_proto::reset::MethodKind;

use super::{Challenge, Enrolment, Method, Proof, ProofAt};
use crate::AppState;
use crate::clock::Entropy;
use crate::config::PolicyConfig;
use crate::error::ApiError;
use crate::keys::Keys;
use crate::ports::{Change, MethodStore};

/// Codes in a set.
pub const RECOVERY_CODES: usize = 10;
/// Bytes of randomness in a recovery code (80 bits, above the 64 required).
const RECOVERY_CODE_BYTES: usize = 10;
/// Characters of a canonical code (80 bits in base32), shared with the SPA.
const CANONICAL_LEN: usize = RECOVERY_CODE_CHARS;

const CODE_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

#[derive(Debug)]
pub struct RecoveryCode;

#[async_trait::async_trait]
impl Method for RecoveryCode {
    fn kind(&self) -> MethodKind {
        MethodKind::RecoveryCode
    }
    fn name(&self) -> &'static str {
        "recovery_code"
    }
    fn available(&self, policy: &PolicyConfig) -> bool {
        policy.recovery_codes
    }
    fn limit(&self) -> usize {
        1
    }
    /// Recovery codes 20 %.
    fn decoy_count(&self, byte: u8, _gates: u8) -> usize {
        usize::from(byte < 51)
    }
    fn challenge(&self) -> Challenge {
        Challenge::EnterCode
    }
    async fn verify(
        &self,
        state: &AppState,
        at: &ProofAt<'_>,
        proof: &Proof<'_>,
    ) -> Result<bool, ApiError> {
        match (at.user_id, proof) {
            (Some(user_id), Proof::Code(code)) => redeem(state, user_id, code).await,
            _ => Ok(false),
        }
    }
    fn enrolment(&self) -> Enrolment {
        Enrolment::Set
    }
    fn added_key(&self) -> crate::i18n::Key {
        crate::key!("change.added.recovery_code")
    }
    fn removed_key(&self) -> crate::i18n::Key {
        crate::key!("change.removed.recovery_code")
    }
    async fn remaining(&self, state: &AppState, method_id: &str) -> Result<Option<u8>, ApiError> {
        remaining(state, method_id).await.map(Some)
    }
}

/// Canonical form of a typed recovery code: lowercase, separators dropped,
/// look-alikes folded (o→0, i/l→1).
pub fn canonical_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect()
}

/// A fresh code, as shown: four groups of four.
pub fn generate(entropy: &dyn Entropy) -> String {
    let mut raw = [0u8; RECOVERY_CODE_BYTES];
    entropy.fill(&mut raw);
    // 80 bits as 16 base32 characters, shown in groups of four.
    let mut bits: u128 = 0;
    for b in raw {
        bits = (bits << 8) | u128::from(b);
    }
    let chars: Vec<char> = (0..CANONICAL_LEN)
        .rev()
        .map(|i| char::from(CODE_ALPHABET[((bits >> (i * 5)) & 31) as usize]))
        .collect();
    chars
        .chunks(RECOVERY_CODE_GROUP)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The keyed hash a code of the set `method_id` is stored as.
pub fn recovery_hash(keys: &Keys, method_id: &str, code: &str) -> String {
    keys.code_hash(
        &format!("recovery:{method_id}"),
        &canonical_recovery_code(code),
    )
}

/// Stores the hashes of a new set's `codes` for the method row `method_id`,
/// on the caller's transaction.
pub async fn store(
    change: &mut Change,
    state: &AppState,
    method_id: &str,
    codes: &[String],
) -> Result<(), ApiError> {
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| recovery_hash(&state.keys, method_id, c))
        .collect();
    state
        .store
        .store_recovery_codes(change, method_id, &hashes)
        .await?;
    Ok(())
}

/// Codes of the set `method_id` not used yet.
pub async fn remaining(state: &AppState, method_id: &str) -> Result<u8, ApiError> {
    let n = state.store.unused_recovery_codes(method_id).await?;
    Ok(u8::try_from(n).unwrap_or(u8::MAX))
}

/// Uses one of the user's recovery codes, atomically: at reset and at step-up.
pub async fn redeem(state: &AppState, user_id: &str, typed: &str) -> Result<bool, ApiError> {
    if canonical_recovery_code(typed).len() != CANONICAL_LEN {
        return Ok(false);
    }
    let now = state.clock.now();
    for m in super::for_user(state, Some(user_id)).await? {
        if m.kind != MethodKind::RecoveryCode {
            continue;
        }
        let hash = recovery_hash(&state.keys, &m.id, typed);
        if state.store.redeem_recovery_code(&m.id, &hash, now).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fixed(u8);

    impl Entropy for Fixed {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    #[test]
    fn codes_are_four_groups_of_four_that_read_back_canonical() {
        let code = generate(&Fixed(0xff));
        assert_eq!(code, "zzzz-zzzz-zzzz-zzzz");
        assert_eq!(canonical_recovery_code(&code).len(), CANONICAL_LEN);
        let zero = generate(&Fixed(0));
        assert_eq!(zero, "0000-0000-0000-0000");
    }

    #[test]
    fn typed_codes_fold_case_separators_and_look_alikes() {
        assert_eq!(canonical_recovery_code("AbO1 - iL9z"), "ab01119z");
        assert_eq!(canonical_recovery_code("oOiIlL"), "001111");
    }
}
