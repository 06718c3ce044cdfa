//! Numeric one-time codes, as emailed or texted at reset, at enrolment and
//! at step-up: their length, how soon another may be sent, how they are
//! drawn and how a typed one is read.

use super::{CodePurpose, Proof, ProofAt, SentCode};
use crate::AppState;
use crate::clock::Entropy;
use crate::delivery::{Outgoing, spoken_digits};
use crate::error::ApiError;
use crate::keys::Keys;
use crate::ports::MethodStore;
use crate::secret::Secret;

/// Seconds before another code may be sent for the same method.
pub const RESEND_COOLDOWN: i64 = 60;
/// Digits in an emailed or texted code (the SPA sizes its box from the same).
pub use sspr_proto::codes::CODE_DIGITS;

/// A fresh code of [`CODE_DIGITS`] uniform digits.
pub fn numeric_code(entropy: &dyn Entropy) -> Secret {
    // Rejection sampling keeps every digit uniform.
    let mut out = String::with_capacity(CODE_DIGITS);
    while out.len() < CODE_DIGITS {
        let mut b = [0u8; 1];
        entropy.fill(&mut b);
        if b[0] < 250 {
            out.push(char::from(b'0' + b[0] % 10));
        }
    }
    Secret::new(out)
}

/// Whether `code` (as [`typed_code`] left it) has a numeric code's shape.
pub fn is_numeric_code(code: &str) -> bool {
    code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// A code as people type or paste it: spaces and dashes dropped.
pub fn typed_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

/// Whether `typed` is the code held as `hash` under `key`.
pub fn matches_held(keys: &Keys, key: &str, hash: Option<&str>, typed: &str) -> bool {
    typed.len() == CODE_DIGITS && hash == Some(keys.code_hash(key, typed).as_str())
}

/// Marks a reset flow's code for `option` used, atomically: of many
/// concurrent attempts, one wins.
pub async fn redeem_flow_code(
    state: &AppState,
    flow_hash: &str,
    option: &str,
    code: &str,
) -> Result<bool, ApiError> {
    if !is_numeric_code(code) {
        return Ok(false);
    }
    let now = state.clock.now();
    let hash = state.keys.code_hash(flow_hash, code);
    Ok(state
        .store
        .redeem_flow_code(flow_hash, option, &hash, now)
        .await?)
}

/// Checks a code that was sent (email, SMS) where it was sent from.
pub(super) async fn verify_sent(
    state: &AppState,
    at: &ProofAt<'_>,
    proof: &Proof<'_>,
) -> Result<bool, ApiError> {
    let Proof::Code(code) = proof else {
        return Ok(false);
    };
    match at.sent {
        SentCode::Flow { flow_hash, option } => {
            redeem_flow_code(state, flow_hash, option, code).await
        }
        SentCode::Held { key, hash } => Ok(matches_held(&state.keys, key, hash, code)),
    }
}

/// The call that reads `code` aloud to `to`, in `lang`: the same code a
/// text would carry, its digits spaced so the speech engine says them one
/// by one, and said twice.
pub fn call(purpose: CodePurpose, to: String, lang: &str, code: &str, org: &str) -> Outgoing {
    let digits = spoken_digits(code);
    let key = match purpose {
        CodePurpose::Reset => crate::key!("voice.reset_code"),
        CodePurpose::Enrol => crate::key!("voice.enroll_code"),
        CodePurpose::StepUp => crate::key!("voice.stepup_code"),
    };
    let text = crate::i18n::text_with(lang, key, &[("code", &digits), ("organisation", org)]);
    Outgoing::Call {
        to,
        text,
        locale: lang.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes in turn from a list, for a predictable draw.
    #[derive(Debug)]
    struct Bytes(std::sync::Mutex<Vec<u8>>);

    impl Entropy for Bytes {
        fn fill(&self, buf: &mut [u8]) {
            let mut v = self.0.lock().unwrap();
            for b in buf {
                *b = v.remove(0);
            }
        }
    }

    #[test]
    fn codes_are_uniform_digits_and_skip_biased_bytes() {
        let bytes = Bytes(std::sync::Mutex::new(vec![
            0, 255, 251, 250, 9, 19, 249, 100, 101, 42, 7,
        ]));
        let code = numeric_code(&bytes);
        assert_eq!(code.expose(), "09990127");
        assert!(is_numeric_code(code.expose()));
    }

    #[test]
    fn typed_codes_lose_spaces_and_dashes() {
        assert_eq!(typed_code(" 1234-5678 "), "12345678");
        assert!(is_numeric_code("12345678"));
        assert!(!is_numeric_code("1234567"));
        assert!(!is_numeric_code("1234567a"));
    }
}
