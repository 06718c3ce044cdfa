//! An authenticator app: RFC 6238 TOTP (SHA-1, 6 digits, 30 s), the profile
//! every authenticator app supports. Verification accepts ±1 step and
//! reports which step matched so the caller can refuse that step forever
//! after. At reset one option stands for all of the user's apps.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::Enrollment;

use super::{Challenge, Enrolment, Method, Proof, ProofAt};

use crate::AppState;
use crate::clock::{Entropy, UnixTime};
use crate::error::ApiError;
use crate::ports::MethodStore;

pub const STEP: i64 = 30;
pub const DIGITS: u32 = sspr_proto::codes::AUTHENTICATOR_DIGITS as u32;

#[derive(Debug)]
pub struct Authenticator;

#[async_trait::async_trait]
impl Method for Authenticator {
    fn kind(&self) -> MethodKind {
        MethodKind::Authenticator
    }
    fn name(&self) -> &'static str {
        "authenticator"
    }
    fn limit(&self) -> usize {
        5
    }
    fn may_be_default(&self) -> bool {
        true
    }
    /// An app 45 %.
    fn decoy_count(&self, byte: u8, _gates: u8) -> usize {
        usize::from(byte < 115)
    }
    fn challenge(&self) -> Challenge {
        Challenge::EnterCode
    }

    /// The code of the app being proven (step-up), or of any of the user's
    /// apps (reset); its step is then never accepted again.
    async fn verify(
        &self,
        state: &AppState,
        at: &ProofAt<'_>,
        proof: &Proof<'_>,
    ) -> Result<bool, ApiError> {
        let (Some(user_id), Proof::Code(code)) = (at.user_id, proof) else {
            return Ok(false);
        };
        let now = state.clock.now();
        if let Some(m) = at.method {
            return match &m.secret_sealed {
                Some(sealed) => {
                    let secret = state.keys.open(sealed)?;
                    match matching_step(&secret, code, now) {
                        Some(step) => consume_totp_step(state, &m.id, step).await,
                        None => Ok(false),
                    }
                }
                None => Ok(false),
            };
        }
        for m in super::for_user(state, Some(user_id)).await? {
            let (MethodKind::Authenticator, Some(sealed)) = (m.kind, &m.secret_sealed) else {
                continue;
            };
            let secret = state.keys.open(sealed)?;
            if let Some(step) = matching_step(&secret, code, now) {
                return consume_totp_step(state, &m.id, step).await;
            }
        }
        Ok(false)
    }

    fn enrolment(&self) -> Enrolment {
        Enrolment::Secret
    }
    fn enrolment_shown(
        &self,
        enrollment: String,
        _target: Option<String>,
        secret: Option<&[u8]>,
        issuer: &str,
        account: &str,
    ) -> Option<Enrollment> {
        let secret = secret?;
        Some(Enrollment::Authenticator {
            enrollment,
            otpauth: otpauth_uri(issuer, account, secret),
            secret: base32::encode(base32::Alphabet::Rfc4648 { padding: false }, secret),
            account: account.to_string(),
            issuer: issuer.to_string(),
        })
    }
    fn added_key(&self) -> crate::i18n::Key {
        crate::key!("change.added.authenticator")
    }
    fn removed_key(&self) -> crate::i18n::Key {
        crate::key!("change.removed.authenticator")
    }
}

/// A fresh secret for a new app (160 bits, as RFC 4226 recommends).
pub fn new_secret(entropy: &dyn Entropy) -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    entropy.fill(&mut secret);
    secret
}

/// RFC 4226 HOTP.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    bin % 10u32.pow(DIGITS)
}

pub fn step_at(now: UnixTime) -> i64 {
    now.div_euclid(STEP)
}

/// The step (−1, 0 or +1 around now) whose code equals `code`, if any.
/// Compares every candidate so timing does not reveal which step matched.
pub fn matching_step(secret: &[u8], code: &str, now: UnixTime) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let given: u32 = code.parse().ok()?;
    let base = step_at(now);
    let mut found = None;
    for step in [base - 1, base, base + 1] {
        if step >= 0 && hotp(secret, step as u64) == given && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The `otpauth://` URI authenticator apps scan.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| {
        url::form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    let b32 = base32::encode(base32::Alphabet::Rfc4648 { padding: false }, secret);
    format!(
        "otpauth://totp/{}:{}?secret={b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// Accepts TOTP `step` for a method only if it is newer than every step
/// accepted before: one atomic update, so a code can never be replayed.
pub async fn consume_totp_step(
    state: &AppState,
    method_id: &str,
    step: i64,
) -> Result<bool, ApiError> {
    Ok(state.store.claim_totp_step(method_id, step).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, SHA-1 seed, truncated to 6 digits.
    const SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_vectors() {
        for (t, want) in [
            (59, 287082),
            (1111111109, 81804),
            (1111111111, 50471),
            (1234567890, 5924),
            (2000000000, 279037),
        ] {
            assert_eq!(hotp(SEED, step_at(t) as u64), want, "t={t}");
        }
    }

    #[test]
    fn window_is_plus_minus_one_step() {
        let now = 1_800_000_015;
        let code = |step: i64| format!("{:06}", hotp(SEED, step as u64));
        let s = step_at(now);
        assert_eq!(matching_step(SEED, &code(s), now), Some(s));
        assert_eq!(matching_step(SEED, &code(s - 1), now), Some(s - 1));
        assert_eq!(matching_step(SEED, &code(s + 1), now), Some(s + 1));
        assert_eq!(matching_step(SEED, &code(s - 2), now), None);
        assert_eq!(matching_step(SEED, &code(s + 2), now), None);
        assert_eq!(matching_step(SEED, "12345", now), None);
        assert_eq!(matching_step(SEED, "12a456", now), None);
    }

    #[test]
    fn one_option_stands_for_all_apps() {
        use crate::methods::StoredMethod;
        let user = crate::methods::tests::user(None);
        let m = StoredMethod {
            id: "m1".into(),
            kind: MethodKind::Authenticator,
            target: None,
            secret_sealed: Some("sealed".into()),
            is_default: true,
            created_at: 0,
        };
        assert_eq!(Authenticator.offer(&[], &user), vec![]);
        assert_eq!(
            Authenticator.offer(&[&m, &m], &user),
            vec![(String::new(), None)]
        );
        assert_eq!(Authenticator.challenge(), Challenge::EnterCode);
    }

    #[test]
    fn otpauth_uri_is_what_apps_expect() {
        let uri = otpauth_uri("Contoso Demo", "alice@example.com", SEED);
        assert_eq!(
            uri,
            "otpauth://totp/Contoso%20Demo:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Contoso%20Demo&algorithm=SHA1&digits=6&period=30"
        );
    }
}
