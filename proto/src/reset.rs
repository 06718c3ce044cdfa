//! The reset wizard's wire types. The server holds the flow; each answer is a
//! [`FlowView`] whose [`ResetStep`] the SPA renders. The client never says
//! which user or which step: only which offered method it picked, and the
//! proof it has.

use serde::{Deserialize, Serialize};

/// Kinds of registered method a user can prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    Email,
    Sms,
    Authenticator,
    /// One of the user's single-use recovery codes.
    RecoveryCode,
    /// Answers to the user's security questions: never alone, never for administrators.
    SecurityQuestions,
    /// A landline that takes calls only: its codes are read aloud.
    OfficePhone,
    /// A passkey (WebAuthn): phishing resistant, a way to sign in too.
    Passkey,
}

impl MethodKind {
    /// The kind's stable name: its serde spelling, also the one the store
    /// keeps and the metrics label carry.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodKind::Email => "email",
            MethodKind::Sms => "sms",
            MethodKind::Authenticator => "authenticator",
            MethodKind::RecoveryCode => "recovery_code",
            MethodKind::SecurityQuestions => "security_questions",
            MethodKind::OfficePhone => "office_phone",
            MethodKind::Passkey => "passkey",
        }
    }
}

/// A method offered in this flow. `id` is opaque and only valid in this flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodOption {
    pub id: String,
    pub kind: MethodKind,
    /// "a***@e***.com", "+1 *** *** **42"; empty for an authenticator app.
    pub masked: String,
    /// The code is read aloud by a call rather than texted: a mobile phone
    /// offers both ("Text me a code", "Call me") where calls are set up; an
    /// office phone only calls. Absent on the wire when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub call: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A proof-of-work CAPTCHA: find `nonce` such that
/// SHA-256(`prefix` bytes ‖ nonce as 8 little-endian bytes) starts with
/// `difficulty` zero bits. Single use, short-lived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowChallenge {
    pub id: String,
    /// Hex-encoded random bytes.
    pub prefix: String,
    pub difficulty: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowSolution {
    pub id: String,
    pub nonce: u64,
}

/// Counts the leading zero bits of a digest.
pub fn leading_zero_bits(digest: &[u8]) -> u32 {
    let mut n = 0;
    for b in digest {
        if *b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

/// The message hashed for a PoW attempt.
pub fn pow_message(prefix: &[u8], nonce: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(prefix.len() + 8);
    m.extend_from_slice(prefix);
    m.extend_from_slice(&nonce.to_le_bytes());
    m
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// User name or email address.
    pub identifier: String,
    pub pow: PowSolution,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowRequest {
    pub flow: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChooseRequest {
    pub flow: String,
    pub method: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub flow: String,
    pub code: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    pub flow: String,
    pub password: String,
}

/// Answers, in the order the questions were asked.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswersRequest {
    pub flow: String,
    pub answers: Vec<String>,
}

/// The typed identifier may be a pasted password: never printed.
impl std::fmt::Debug for StartRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartRequest")
            .field("identifier", &"[redacted]")
            .field("pow", &self.pow)
            .finish()
    }
}

/// The flow id is the bearer of a reset: never printed.
impl std::fmt::Debug for FlowRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowRequest")
            .field("flow", &"[redacted]")
            .finish()
    }
}

impl std::fmt::Debug for ChooseRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChooseRequest")
            .field("flow", &"[redacted]")
            .field("method", &self.method)
            .finish()
    }
}

impl std::fmt::Debug for AnswersRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswersRequest")
            .field("answers", &self.answers.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for VerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyRequest")
            .field("flow", &"[redacted]")
            .field("code", &"[redacted]")
            .finish()
    }
}

impl std::fmt::Debug for PasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordRequest")
            .field("flow", &"[redacted]")
            .field("password", &"[redacted]")
            .finish()
    }
}

/// What the SPA shows next. Decided by the server alone.
///
/// On the wire a step is serde's external tagging: `{"enter_code": {..}}`,
/// or `"blocked"`. Not an internal `"step"` tag: deserialising one buffers
/// the object first, and that machinery cost the reset page 7.3 KB of its
/// brotli wasm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetStep {
    /// Pick a method for gate `gate` of `gates`.
    ChooseMethod {
        gate: u8,
        gates: u8,
        methods: Vec<MethodOption>,
    },
    /// Enter the code for `method`. `resend_in` is seconds until a new code may be sent.
    EnterCode {
        gate: u8,
        gates: u8,
        method: MethodOption,
        resend_in: Option<u32>,
    },
    /// Answer the security questions (always a second gate).
    AnswerQuestions {
        gate: u8,
        gates: u8,
        questions: Vec<String>,
    },
    /// Verified: choose a new password (or unlock, where the account is locked).
    NewPassword {
        unlock_available: bool,
        /// What the live checklist needs; sent only once the user has
        /// proved who they are.
        password: crate::config::PasswordContext,
    },
    Done {
        outcome: Outcome,
        /// How many other sessions of the user the reset ended.
        #[serde(default)]
        signed_out: u32,
        /// Whether a confirmation went to the user's email address.
        #[serde(default)]
        notified: bool,
    },
    /// Self-service is blocked for this account: contact the helpdesk.
    Blocked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    PasswordReset,
    Unlocked,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowView {
    /// The flow's opaque id (≥128 random bits): the bearer of this reset.
    pub flow: String,
    /// Seconds left before the flow expires.
    pub expires_in: u32,
    pub step: ResetStep,
}

impl std::fmt::Debug for FlowView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowView")
            .field("flow", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("step", &self.step)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_is_named_as_serde_spells_it() {
        for k in [
            MethodKind::Email,
            MethodKind::Sms,
            MethodKind::Authenticator,
            MethodKind::RecoveryCode,
            MethodKind::SecurityQuestions,
            MethodKind::OfficePhone,
            MethodKind::Passkey,
        ] {
            let json = serde_json::to_string(&k).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            let back: Option<MethodKind> = serde_json::from_str(&json).ok();
            assert_eq!(back, Some(k));
        }
    }

    #[test]
    fn leading_zero_bits_counts_across_bytes() {
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0x01]), 7);
        assert_eq!(leading_zero_bits(&[0x00, 0x00, 0x3f]), 18);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }

    #[test]
    fn steps_are_tagged_externally_for_the_spa() {
        let s = ResetStep::NewPassword {
            unlock_available: true,
            password: crate::config::PasswordContext {
                rules: crate::config::PasswordRules {
                    min_length: 8,
                    max_length: 256,
                    min_score: 3,
                    complexity: false,
                },
                username: "alice".into(),
                display_name: "Alice".into(),
                email: None,
                banned: None,
                year: 2026,
            },
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"new_password":{"unlock_available":true,"password":{"rules":{"min_length":8,"max_length":256,"min_score":3,"complexity":false},"username":"alice","display_name":"Alice","email":null,"banned":null,"year":2026}}}"#
        );
        assert_eq!(
            serde_json::to_string(&ResetStep::Blocked).unwrap(),
            r#""blocked""#
        );
        let back: ResetStep = serde_json::from_str(r#"{"done":{"outcome":"unlocked"}}"#).unwrap();
        assert_eq!(
            back,
            ResetStep::Done {
                outcome: Outcome::Unlocked,
                signed_out: 0,
                notified: false
            }
        );
    }

    #[test]
    fn secrets_never_print() {
        let r = VerifyRequest {
            flow: "f".repeat(32),
            code: "12345678".into(),
        };
        assert!(!format!("{r:?}").contains("12345678"));
        let r = PasswordRequest {
            flow: "f".into(),
            password: "hunter2hunter2".into(),
        };
        assert!(!format!("{r:?}").contains("hunter2"));
        let flow = "a1b2c3d4".repeat(8);
        let printed = [
            format!("{:?}", FlowRequest { flow: flow.clone() }),
            format!(
                "{:?}",
                ChooseRequest {
                    flow: flow.clone(),
                    method: "m1".into()
                }
            ),
            format!(
                "{:?}",
                FlowView {
                    flow: flow.clone(),
                    expires_in: 900,
                    step: ResetStep::Blocked
                }
            ),
            format!(
                "{:?}",
                StartRequest {
                    identifier: "Hunter2-pasted!".into(),
                    pow: PowSolution {
                        id: "p".into(),
                        nonce: 1
                    }
                }
            ),
        ];
        for p in &printed {
            assert!(!p.contains(&flow) && !p.contains("Hunter2"), "{p}");
        }
    }
}
