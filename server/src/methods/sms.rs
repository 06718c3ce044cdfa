//! SMS: a code texted to a registered number. Each number is an option of
//! its own at reset, shown by its last two digits.

use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::Enrollment;

use super::{Challenge, CodePurpose, Enrolment, Method, Proof, ProofAt, code};
use crate::AppState;
use crate::delivery::Outgoing;
use crate::error::ApiError;
use crate::i18n;
use crate::outbox::Channel;

#[derive(Debug)]
pub struct Sms;

/// `+15550100042` → `+*** *** **42`.
pub fn mask(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits.iter().skip(digits.len().saturating_sub(2)).collect();
    format!("+*** *** **{tail}")
}

#[async_trait::async_trait]
impl Method for Sms {
    fn kind(&self) -> MethodKind {
        MethodKind::Sms
    }
    fn name(&self) -> &'static str {
        "sms"
    }
    fn limit(&self) -> usize {
        3
    }
    fn may_be_default(&self) -> bool {
        true
    }
    fn option_per_target(&self) -> bool {
        true
    }
    fn mask(&self, target: &str) -> String {
        mask(target)
    }

    /// No number 40 %, one 54 %, two 6 %.
    fn decoy_count(&self, byte: u8, _gates: u8) -> usize {
        [102, 240].iter().filter(|c| byte >= **c).count()
    }

    fn decoy_mask(&self, seed: &[u8; 32], i: usize, _basis: &str, _org_domain: &str) -> String {
        format!("+*** *** **{:02}", seed[29 + i] % 100)
    }

    fn challenge(&self) -> Challenge {
        Challenge::SendCode
    }
    fn code_channel(&self) -> Option<Channel> {
        Some(Channel::Sms)
    }

    /// A number is texted or called once a minute at most, whatever
    /// account asked.
    fn cooldown_per_target(&self) -> bool {
        true
    }
    fn may_call(&self) -> bool {
        true
    }
    fn call_message(
        &self,
        purpose: CodePurpose,
        to: String,
        lang: &str,
        code: &str,
        org: &str,
    ) -> Option<Outgoing> {
        Some(code::call(purpose, to, lang, code, org))
    }

    fn code_message(
        &self,
        purpose: CodePurpose,
        to: String,
        lang: &str,
        code: &str,
        org: &str,
        url: &str,
    ) -> Option<Outgoing> {
        let body = match purpose {
            CodePurpose::Reset => i18n::text_with(
                lang,
                crate::key!("sms.reset_code"),
                &[("code", code), ("organisation", org), ("url", url)],
            ),
            CodePurpose::Enrol => i18n::text_with(
                lang,
                crate::key!("sms.enroll_code"),
                &[("code", code), ("organisation", org)],
            ),
            CodePurpose::StepUp => i18n::text_with(
                lang,
                crate::key!("sms.stepup_code"),
                &[("code", code), ("organisation", org)],
            ),
        };
        Some(Outgoing::Sms { to, body })
    }

    async fn verify(
        &self,
        state: &AppState,
        at: &ProofAt<'_>,
        proof: &Proof<'_>,
    ) -> Result<bool, ApiError> {
        code::verify_sent(state, at, proof).await
    }

    fn enrolment(&self) -> Enrolment {
        Enrolment::CodeToTarget
    }
    fn check_target(&self, typed: &str) -> Result<String, ApiError> {
        sspr_proto::security_info::e164(typed).map_err(|_| ApiError::PhoneInvalid)
    }
    fn enrolment_shown(
        &self,
        enrollment: String,
        target: Option<String>,
        _secret: Option<&[u8]>,
        _issuer: &str,
        _account: &str,
    ) -> Option<Enrollment> {
        Some(Enrollment::Sms {
            enrollment,
            target: target?,
            resend_in: code::RESEND_COOLDOWN as u32,
        })
    }
    fn target_field(&self) -> &'static str {
        "phone"
    }
    fn added_key(&self) -> crate::i18n::Key {
        crate::key!("change.added.sms")
    }
    fn removed_key(&self) -> crate::i18n::Key {
        crate::key!("change.removed.sms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_reveal_only_the_last_digits() {
        assert_eq!(mask("+15550100042"), "+*** *** **42");
        assert_eq!(mask("+44 20 7946 0018"), "+*** *** **18");
    }

    #[test]
    fn decoy_numbers_end_in_two_seeded_digits() {
        let mut seed = [0u8; 32];
        seed[29] = 142;
        seed[30] = 7;
        assert_eq!(
            Sms.decoy_mask(&seed, 0, "zed", "example.com"),
            "+*** *** **42"
        );
        assert_eq!(
            Sms.decoy_mask(&seed, 1, "zed", "example.com"),
            "+*** *** **07"
        );
        assert_eq!(Sms.decoy_count(0, 1), 0);
        assert_eq!(Sms.decoy_count(200, 1), 1);
        assert_eq!(Sms.decoy_count(245, 1), 2);
    }

    #[test]
    fn texts_carry_the_code() {
        let Some(Outgoing::Sms { to, body }) = Sms.code_message(
            CodePurpose::Reset,
            "+15550100042".into(),
            "en",
            "12345678",
            "Contoso",
            "https://sspr.example",
        ) else {
            panic!("an SMS");
        };
        assert_eq!(to, "+15550100042");
        assert!(body.contains("12345678"), "{body}");
    }
}
