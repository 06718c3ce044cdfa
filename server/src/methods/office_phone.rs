//! Office phone: a landline that takes calls only. Its code is read aloud
//! by the voice gateway (`delivery.voice`); it is masked, throttled and
//! announced as a mobile phone is. Each number is an option of its own.

use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::Enrollment;

use super::{Challenge, CodePurpose, Enrolment, Method, Proof, ProofAt, code, sms};
use crate::AppState;
use crate::delivery::Outgoing;
use crate::error::ApiError;
use crate::outbox::Channel;

#[derive(Debug)]
pub struct OfficePhone;

#[async_trait::async_trait]
impl Method for OfficePhone {
    fn kind(&self) -> MethodKind {
        MethodKind::OfficePhone
    }
    fn name(&self) -> &'static str {
        "office_phone"
    }
    /// One desk number, as Entra keeps one.
    fn limit(&self) -> usize {
        1
    }
    fn may_be_default(&self) -> bool {
        true
    }
    fn option_per_target(&self) -> bool {
        true
    }
    fn mask(&self, target: &str) -> String {
        sms::mask(target)
    }

    /// No office phone 88 %, one 12 %: rarer than a mobile.
    fn decoy_count(&self, byte: u8, _gates: u8) -> usize {
        usize::from(byte >= 225)
    }

    fn decoy_mask(&self, seed: &[u8; 32], _i: usize, _basis: &str, _org_domain: &str) -> String {
        format!("+*** *** **{:02}", seed[28] % 100)
    }

    fn challenge(&self) -> Challenge {
        Challenge::SendCode
    }
    fn code_channel(&self) -> Option<Channel> {
        Some(Channel::Voice)
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
    /// A landline cannot take a text: every code is a call.
    fn code_message(
        &self,
        purpose: CodePurpose,
        to: String,
        lang: &str,
        code: &str,
        org: &str,
        _url: &str,
    ) -> Option<Outgoing> {
        self.call_message(purpose, to, lang, code, org)
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
        Some(Enrollment::OfficePhone {
            enrollment,
            target: target?,
            resend_in: code::RESEND_COOLDOWN as u32,
        })
    }
    fn target_field(&self) -> &'static str {
        "phone"
    }
    fn added_key(&self) -> crate::i18n::Key {
        crate::key!("change.added.office_phone")
    }
    fn removed_key(&self) -> crate::i18n::Key {
        crate::key!("change.removed.office_phone")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_as_a_mobile_is() {
        assert_eq!(OfficePhone.mask("+442079460018"), "+*** *** **18");
        let mut seed = [0u8; 32];
        seed[28] = 107;
        assert_eq!(
            OfficePhone.decoy_mask(&seed, 0, "zed", "example.com"),
            "+*** *** **07"
        );
        assert_eq!(OfficePhone.decoy_count(224, 1), 0);
        assert_eq!(OfficePhone.decoy_count(225, 1), 1);
    }

    #[test]
    fn every_code_is_a_call_with_its_digits_spaced() {
        for purpose in [CodePurpose::Reset, CodePurpose::Enrol, CodePurpose::StepUp] {
            let Some(Outgoing::Call { to, text, locale }) = OfficePhone.code_message(
                purpose,
                "+442079460018".into(),
                "de",
                "12345678",
                "Contoso",
                "",
            ) else {
                panic!("a call");
            };
            assert_eq!(to, "+442079460018");
            assert_eq!(locale, "de");
            assert!(text.contains("1, 2, 3, 4, 5, 6, 7, 8"), "{text}");
            assert!(!text.contains("12345678"), "{text}");
        }
    }
}
