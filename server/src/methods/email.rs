//! Email: a code sent to a registered address. Each address is an option of
//! its own at reset, shown masked.

use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::Enrollment;

use super::{Challenge, CodePurpose, Enrolment, Method, Proof, ProofAt, code};
use crate::AppState;
use crate::delivery::Outgoing;
use crate::error::ApiError;
use crate::i18n;
use crate::outbox::Channel;

/// Domains of a decoy's personal addresses.
const OTHER_DOMAINS: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "icloud.com",
    "proton.me",
];

#[derive(Debug)]
pub struct Email;

/// `alice@example.com` → `a***@e***.com`.
pub fn mask(addr: &str) -> String {
    let (local, domain) = addr.split_once('@').unwrap_or((addr, ""));
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    let tld = if tld.is_empty() {
        String::new()
    } else {
        format!(".{tld}")
    };
    format!("{}***@{}***{tld}", first(local), first(host))
}

/// An address the relay can deliver to: ASCII (a relay without SMTPUTF8
/// would refuse anything else, for a day of retries), and a domain of
/// host-name labels, never an IP literal (`a@[10.0.0.5]`), which would let
/// any user point the relay at an internal host.
pub fn valid_email(addr: &str) -> bool {
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    !local.is_empty()
        && !local.contains('@')
        && addr.len() <= 254
        && addr.is_ascii()
        && domain.contains('.')
        && domain.split('.').all(label)
        // A top-level label starts with a letter: `0x7f.1` or `a.1` is an
        // address to a resolver, not a host name.
        && domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.as_bytes().first().is_some_and(u8::is_ascii_alphabetic))
        && !addr.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[async_trait::async_trait]
impl Method for Email {
    fn kind(&self) -> MethodKind {
        MethodKind::Email
    }
    fn name(&self) -> &'static str {
        "email"
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

    /// No address 15 %, one 75 %, two 10 %.
    fn decoy_count(&self, byte: u8, _gates: u8) -> usize {
        [38, 230].iter().filter(|c| byte >= **c).count()
    }

    /// The first address is the organisation's own (the name at
    /// `reset.decoy_email_domain`) seven times in ten, else a personal one,
    /// as real accounts' are; from the local part only, so a name and its
    /// address show the same.
    fn decoy_mask(&self, seed: &[u8; 32], i: usize, basis: &str, org_domain: &str) -> String {
        let org = seed[31] >= 77;
        if i == 0 && org {
            mask(&format!("{basis}@{org_domain}"))
        } else {
            let letter = char::from(b'a' + seed[25 + 2 * i] % 26);
            let domain = OTHER_DOMAINS[usize::from(seed[26 + 2 * i]) % OTHER_DOMAINS.len()];
            mask(&format!("{letter}@{domain}"))
        }
    }

    fn challenge(&self) -> Challenge {
        Challenge::SendCode
    }
    fn code_channel(&self) -> Option<Channel> {
        Some(Channel::Mail)
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
        Some(match purpose {
            CodePurpose::Reset => {
                let args = [("code", code), ("organisation", org), ("url", url)];
                Outgoing::Mail {
                    to,
                    subject: i18n::text_with(lang, crate::key!("email.reset_code.subject"), &args),
                    body: i18n::text_with(lang, crate::key!("email.reset_code.body"), &args),
                }
            }
            CodePurpose::Enrol => Outgoing::Mail {
                to,
                subject: i18n::text_with(
                    lang,
                    crate::key!("email.enroll_code.subject"),
                    &[("organisation", org)],
                ),
                body: i18n::text_with(
                    lang,
                    crate::key!("email.enroll_code.body"),
                    &[("code", code)],
                ),
            },
            CodePurpose::StepUp => {
                let args = [("code", code), ("organisation", org)];
                Outgoing::Mail {
                    to,
                    subject: i18n::text_with(lang, crate::key!("email.stepup_code.subject"), &args),
                    body: i18n::text_with(lang, crate::key!("email.stepup_code.body"), &args),
                }
            }
        })
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
        let a = typed.trim();
        if !valid_email(a) {
            return Err(ApiError::EmailInvalid);
        }
        Ok(a.to_string())
    }
    fn enrolment_shown(
        &self,
        enrollment: String,
        target: Option<String>,
        _secret: Option<&[u8]>,
        _issuer: &str,
        _account: &str,
    ) -> Option<Enrollment> {
        Some(Enrollment::Email {
            enrollment,
            target: target?,
            resend_in: code::RESEND_COOLDOWN as u32,
        })
    }
    fn notifies_target(&self) -> bool {
        true
    }
    fn target_field(&self) -> &'static str {
        "address"
    }
    fn added_key(&self) -> crate::i18n::Key {
        crate::key!("change.added.email")
    }
    fn removed_key(&self) -> crate::i18n::Key {
        crate::key!("change.removed.email")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::StoredMethod;

    #[test]
    fn masks_reveal_only_initials() {
        assert_eq!(mask("alice@example.com"), "a***@e***.com");
        assert_eq!(mask("Bob.Smith@mail.contoso.co.uk"), "B***@m***.uk");
    }

    #[test]
    fn addresses_a_relay_can_deliver_to_and_nothing_it_should_not() {
        for ok in [
            "dave@example.com",
            "d.o+tag@mail.example.co.uk",
            "x@a-b.example",
        ] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "a@[127.0.0.1]",
            "a@[IPv6:::1]",
            "a@127.0.0.1",
            "x@0x7f.0.0.1",
            "x@0x7f.1",
            "x@0xa.1",
            "x@a.1",
            "ä@example.com",
            "a@exämple.com",
            "a@b",
            "a@-b.example",
            "a@b..example",
            "a@.example.com",
            "a b@example.com",
            "@example.com",
            "a@b@example.com",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn typed_addresses_are_trimmed_or_refused() {
        assert_eq!(
            Email.check_target(" a@example.com ").unwrap(),
            "a@example.com"
        );
        assert!(matches!(
            Email.check_target("a@b"),
            Err(ApiError::EmailInvalid)
        ));
    }

    #[test]
    fn decoys_show_the_organisation_address_or_a_personal_one() {
        let mut seed = [0u8; 32];
        seed[31] = 200;
        assert_eq!(
            Email.decoy_mask(&seed, 0, "zed", "example.com"),
            "z***@e***.com"
        );
        seed[31] = 0;
        seed[25] = 1;
        seed[26] = 1;
        assert_eq!(
            Email.decoy_mask(&seed, 0, "zed", "example.com"),
            "b***@o***.com"
        );
        assert_eq!(Email.decoy_count(0, 1), 0);
        assert_eq!(Email.decoy_count(100, 1), 1);
        assert_eq!(Email.decoy_count(255, 1), 2);
    }

    #[test]
    fn each_address_is_an_option_shown_masked() {
        let user = super::super::tests::user(Some("alice@example.com"));
        let stored = StoredMethod {
            id: "m1".into(),
            kind: MethodKind::Email,
            target: Some("bob@contoso.com".into()),
            secret_sealed: None,
            is_default: true,
            created_at: 0,
        };
        let unset = StoredMethod {
            id: "m2".into(),
            target: None,
            ..stored.clone()
        };
        assert_eq!(
            Email.offer(&[&stored, &unset], &user),
            vec![
                ("b***@c***.com".to_string(), Some("m1".to_string())),
                ("a***@e***.com".to_string(), Some("m2".to_string())),
            ]
        );
    }
}
