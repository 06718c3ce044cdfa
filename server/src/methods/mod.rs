//! Registered methods (`auth_methods`). Authenticator secrets are sealed with
//! a key kept outside the database; email and phone targets are needed in
//! clear to deliver codes.
//!
//! Reset and security info both build on this module; it imports neither.

pub mod authenticator;
pub mod code;
pub mod email;
pub mod gates;
pub mod office_phone;
pub mod passkey;
pub mod recovery_code;
pub mod review;
pub mod security_questions;
pub mod sms;
pub mod throttle;

use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::Enrollment;

use crate::AppState;
use crate::config::PolicyConfig;
use crate::delivery::Outgoing;
use crate::directory::DirUser;
use crate::error::ApiError;
use crate::outbox::Channel;
use crate::ports::{Change, ChangeGuard, MethodStore, NewMethodRow};

#[derive(Clone)]
pub struct StoredMethod {
    pub id: String,
    pub kind: MethodKind,
    pub target: Option<String>,
    pub secret_sealed: Option<String>,
    pub is_default: bool,
    pub created_at: i64,
}

impl std::fmt::Debug for StoredMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredMethod")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Every method, in the order the reset wizard offers them. A new method is
/// one file with its [`Method`] and one line here and in [`of`].
pub const KIND_ORDER: [MethodKind; 7] = [
    MethodKind::Email,
    MethodKind::Sms,
    MethodKind::OfficePhone,
    MethodKind::Authenticator,
    MethodKind::RecoveryCode,
    MethodKind::SecurityQuestions,
    MethodKind::Passkey,
];

/// The order the security-info page offers to add them in.
pub const ENROL_ORDER: [MethodKind; 7] = [
    MethodKind::Passkey,
    MethodKind::Authenticator,
    MethodKind::Sms,
    MethodKind::OfficePhone,
    MethodKind::Email,
    MethodKind::RecoveryCode,
    MethodKind::SecurityQuestions,
];

/// The behaviour of `kind`.
pub fn of(kind: MethodKind) -> &'static dyn Method {
    match kind {
        MethodKind::Email => &email::Email,
        MethodKind::Sms => &sms::Sms,
        MethodKind::OfficePhone => &office_phone::OfficePhone,
        MethodKind::Authenticator => &authenticator::Authenticator,
        MethodKind::RecoveryCode => &recovery_code::RecoveryCode,
        MethodKind::SecurityQuestions => &security_questions::SecurityQuestions,
        MethodKind::Passkey => &passkey::Passkey,
    }
}

/// How choosing a method at reset goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// A code is sent to the option's address or number, then typed.
    SendCode,
    /// The user types a code they hold (an app's, a recovery code).
    EnterCode,
    /// The user answers their questions.
    AskQuestions,
}

/// How a method is registered on the security-info page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrolment {
    /// A fresh secret is shown, and confirmed by a code derived from it.
    Secret,
    /// A code is sent to the typed address or number, and typed back.
    CodeToTarget,
    /// A whole set (codes, questions) made at once, replacing the last.
    Set,
}

/// Why a code is sent: each has its own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    Reset,
    Enrol,
    StepUp,
}

/// What the user gave as a proof.
#[derive(Clone, Copy)]
pub enum Proof<'a> {
    Code(&'a str),
    Answers(&'a [String]),
    /// A passkey's answer (JSON text) to the ceremony `ceremony`.
    Passkey {
        ceremony: &'a str,
        credential: &'a str,
    },
}

/// A proof is a secret: logs show its shape only.
impl std::fmt::Debug for Proof<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Proof::Code(_) => f.write_str("Proof::Code([redacted])"),
            Proof::Answers(a) => write!(f, "Proof::Answers({} [redacted])", a.len()),
            Proof::Passkey { .. } => f.write_str("Proof::Passkey([redacted])"),
        }
    }
}

/// Where the code sent for a proof is checked.
#[derive(Clone, Copy)]
pub enum SentCode<'a> {
    /// A reset flow's code for one of its options (`reset_codes`), redeemed
    /// atomically.
    Flow { flow_hash: &'a str, option: &'a str },
    /// A code whose keyed hash (under `key`) the caller holds: step-up.
    Held { key: &'a str, hash: Option<&'a str> },
}

/// A flow's hash names its bearer, a held hash its code: neither prints.
impl std::fmt::Debug for SentCode<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SentCode::Flow { .. } => f.write_str("SentCode::Flow([redacted])"),
            SentCode::Held { .. } => f.write_str("SentCode::Held([redacted])"),
        }
    }
}

/// Whom a proof is for and what it is checked against.
#[derive(Debug, Clone, Copy)]
pub struct ProofAt<'a> {
    /// The account; `None` for a decoy, whose proofs never pass.
    pub user_id: Option<&'a str>,
    /// The one stored method being proven (step-up); `None` for any of the
    /// user's methods of the kind (reset).
    pub method: Option<&'a StoredMethod>,
    pub sent: SentCode<'a>,
}

/// One kind of method: how it is offered, challenged, verified, enrolled
/// and shown. One implementation per file in this module; reset, step-up
/// and security info call through it.
#[async_trait::async_trait]
pub trait Method: Sync + std::fmt::Debug {
    fn kind(&self) -> MethodKind;
    /// Its name in the store, the audit trail and the configuration.
    fn name(&self) -> &'static str;

    /// Whether the policy offers this kind, for registration and for reset.
    fn available(&self, policy: &PolicyConfig) -> bool {
        policy.methods_available.contains(&self.kind())
    }
    /// Whether it proves who the user is without another kind.
    fn proves_alone(&self) -> bool {
        true
    }
    /// Whether administrators may use it.
    fn for_administrators(&self) -> bool {
        true
    }
    /// How many a user may hold.
    fn limit(&self) -> usize;
    /// Whether it may be the user's default method.
    fn may_be_default(&self) -> bool {
        false
    }

    /// The reset options for the user's stored methods of this kind: the
    /// masked target and the stored method behind each. A kind with an
    /// option per target (an address, a number) offers each, masked (a
    /// method stored without a target shows the directory's address, as it
    /// always has); any other kind one option for all, with nothing shown.
    fn offer(&self, stored: &[&StoredMethod], user: &DirUser) -> Vec<(String, Option<String>)> {
        if self.option_per_target() {
            stored
                .iter()
                .map(|m| {
                    let target = m.target.as_deref().or(user.email.as_deref()).unwrap_or("");
                    (self.mask(target), Some(m.id.clone()))
                })
                .collect()
        } else if stored.is_empty() {
            Vec::new()
        } else {
            vec![(String::new(), None)]
        }
    }
    /// How a target of this kind is shown before the user has proven
    /// anything; kinds without a target show nothing.
    fn mask(&self, _target: &str) -> String {
        String::new()
    }
    /// How a decoy shows its `i`th option of this kind, from its `seed`;
    /// `basis` is the identifier's local part, `org_domain` the
    /// organisation's mail domain.
    fn decoy_mask(&self, _seed: &[u8; 32], _i: usize, _basis: &str, _org_domain: &str) -> String {
        String::new()
    }
    /// How many options of this kind a decoy has, from one byte of its seed.
    fn decoy_count(&self, byte: u8, gates: u8) -> usize;
    /// Whether each registered target is an option of its own (else one
    /// option stands for all of the kind).
    fn option_per_target(&self) -> bool {
        false
    }

    /// What choosing it at reset does.
    fn challenge(&self) -> Challenge;
    /// The channel its codes go by, for a kind that sends codes.
    fn code_channel(&self) -> Option<Channel> {
        None
    }
    /// The message carrying `code` to `to`, for a kind that sends codes.
    fn code_message(
        &self,
        _purpose: CodePurpose,
        _to: String,
        _lang: &str,
        _code: &str,
        _org: &str,
        _url: &str,
    ) -> Option<Outgoing> {
        None
    }
    /// Whether the 60 s between two codes to one of its targets holds for
    /// the target whatever account asked, not per account: a phone number,
    /// which rings a person and costs money each time (see
    /// [`throttle::Purpose`]).
    fn cooldown_per_target(&self) -> bool {
        false
    }
    /// Whether its codes may also be read aloud by a call, where
    /// `delivery.voice` is set: each of its options then has a "Call me"
    /// twin at reset (a mobile phone).
    fn may_call(&self) -> bool {
        false
    }
    /// The call reading `code` to `to`, for a kind whose codes may be read
    /// aloud.
    fn call_message(
        &self,
        _purpose: CodePurpose,
        _to: String,
        _lang: &str,
        _code: &str,
        _org: &str,
    ) -> Option<Outgoing> {
        None
    }
    /// Checks a proof. A decoy's never passes.
    async fn verify(
        &self,
        state: &AppState,
        at: &ProofAt<'_>,
        proof: &Proof<'_>,
    ) -> Result<bool, ApiError>;

    /// How it is registered.
    fn enrolment(&self) -> Enrolment;
    /// A typed target in its stored form, or why it cannot be one.
    fn check_target(&self, _typed: &str) -> Result<String, ApiError> {
        Err(ApiError::internal("this kind has no target"))
    }
    /// What the page shows of an enrolment just started: the `secret` of a
    /// kind enrolled by one, or the `target` a code went to.
    fn enrolment_shown(
        &self,
        _enrollment: String,
        _target: Option<String>,
        _secret: Option<&[u8]>,
        _issuer: &str,
        _account: &str,
    ) -> Option<Enrollment> {
        None
    }
    /// Whether the "security info changed" notice of a new one also goes to
    /// its target (a new address).
    fn notifies_target(&self) -> bool {
        false
    }
    /// The form field a refused target is reported on.
    fn target_field(&self) -> &'static str {
        "target"
    }
    /// Catalog keys of the notices that one was added and removed.
    fn added_key(&self) -> crate::i18n::Key;
    fn removed_key(&self) -> crate::i18n::Key;
    /// What is left of a stored method, where that is counted (recovery codes).
    async fn remaining(&self, _state: &AppState, _method_id: &str) -> Result<Option<u8>, ApiError> {
        Ok(None)
    }
}

pub fn kind_str(k: MethodKind) -> &'static str {
    of(k).name()
}

pub fn parse_kind(s: &str) -> Option<MethodKind> {
    KIND_ORDER.into_iter().find(|k| of(*k).name() == s)
}

/// Whether the policy offers this kind, for registration and for reset.
pub fn kind_available(state: &AppState, k: MethodKind) -> bool {
    of(k).available(&state.config.policy)
}

/// How many different kinds are among `kinds`: two emails are still one way
/// to prove who you are.
pub fn distinct_kinds(kinds: impl IntoIterator<Item = MethodKind>) -> usize {
    let mut seen: Vec<MethodKind> = Vec::new();
    for k in kinds {
        if !seen.contains(&k) {
            seen.push(k);
        }
    }
    seen.len()
}

/// The user's methods, oldest first. With `user_id = None` the same query runs
/// against an id that cannot exist, so decoys cost what real look-ups cost.
pub async fn for_user(
    state: &AppState,
    user_id: Option<&str>,
) -> Result<Vec<StoredMethod>, ApiError> {
    let rows = state.store.methods_of(user_id.unwrap_or("-")).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(StoredMethod {
                id: r.id,
                kind: parse_kind(&r.kind)?,
                target: r.target,
                secret_sealed: r.secret_sealed,
                is_default: r.is_default,
                created_at: r.created_at,
            })
        })
        .collect())
}

/// A method about to be stored.
pub struct NewMethod<'a> {
    pub kind: MethodKind,
    pub target: Option<&'a str>,
    /// An authenticator's secret, sealed before it is stored.
    pub secret: Option<&'a [u8]>,
    /// The TOTP step that confirmed an authenticator: never accepted again.
    pub used_step: Option<i64>,
}

impl std::fmt::Debug for NewMethod<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMethod")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Opens a transaction for a change to `user`'s methods. With
/// `first_only` (a session that has not proved a method) the change may
/// only be a first registration: the user's row is locked for the rest of
/// the transaction and the change refused with `StepUpRequired` if a method
/// that can prove who they are already exists. So two sessions racing to
/// register "first" serialise, and the second sees the first's method.
pub async fn begin_change(
    state: &AppState,
    user: &DirUser,
    first_only: bool,
) -> Result<Change, ApiError> {
    let guard = if first_only {
        ChangeGuard::FirstProof
    } else {
        ChangeGuard::None
    };
    state
        .store
        .begin_method_change(&user.id, guard)
        .await?
        .ok_or(ApiError::StepUpRequired)
}

/// Stores a confirmed method on `change` (from [`begin_change`]); the caller
/// commits it with what else the change writes. The user's first method
/// becomes the default.
pub async fn add(
    change: &mut Change,
    state: &AppState,
    user: &DirUser,
    m: NewMethod<'_>,
) -> Result<String, ApiError> {
    let id = state.entropy.hex_id(16);
    let sealed = m.secret.map(|s| state.keys.seal(s, state.entropy.as_ref()));
    let row = NewMethodRow {
        id: &id,
        user_id: &user.id,
        kind: kind_str(m.kind),
        target: m.target,
        secret_sealed: sealed.as_deref(),
        used_step: m.used_step,
        at: state.clock.now(),
    };
    state.store.add_method(change, &row).await?;
    Ok(id)
}

/// The demo users' authenticator secrets (base32), documented in the README so
/// anyone can add them to an authenticator app or compute codes with oathtool.
pub const DEMO_TOTP: &[(&str, &str)] = &[
    ("alice", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
    ("carol", "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"),
];

/// Registers the demo users' methods once: alice email + authenticator,
/// bob email + SMS, carol (admin) email + SMS + authenticator.
pub async fn seed_demo(state: &AppState) -> Result<(), ApiError> {
    for name in ["alice", "bob", "carol"] {
        let Some(user) = state.directory.find_user(name).await? else {
            continue;
        };
        // Holds the user's row, so nodes starting together seed once.
        let Some(mut tx) = state
            .store
            .begin_method_change(&user.id, ChangeGuard::FirstMethod)
            .await?
        else {
            continue;
        };
        let plain = |kind, target| NewMethod {
            kind,
            target,
            secret: None,
            used_step: None,
        };
        if let Some(email) = &user.email {
            add(&mut tx, state, &user, plain(MethodKind::Email, Some(email))).await?;
        }
        if name != "alice"
            && let Some(mobile) = &user.mobile
        {
            add(&mut tx, state, &user, plain(MethodKind::Sms, Some(mobile))).await?;
        }
        if let Some((_, b32)) = DEMO_TOTP.iter().find(|(u, _)| *u == name) {
            let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, b32)
                .expect("valid base32");
            let m = NewMethod {
                secret: Some(&secret),
                ..plain(MethodKind::Authenticator, None)
            };
            add(&mut tx, state, &user, m).await?;
        }
        tx.commit().await?;
        review::mark_reviewed(state, &user.id).await?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A user for the method files' tests.
    pub(crate) fn user(email: Option<&str>) -> DirUser {
        DirUser {
            id: "u1".into(),
            username: "alice".into(),
            display_name: "Alice".into(),
            email: email.map(String::from),
            mobile: None,
            is_admin: false,
            enabled: true,
            locked_until: None,
        }
    }

    #[test]
    fn proofs_never_print() {
        let answers = ["blue".to_string()];
        let p = format!(
            "{:?} {:?}",
            Proof::Code("12345678"),
            Proof::Answers(&answers)
        );
        assert!(!p.contains("1234") && !p.contains("blue"), "{p}");
        let at = ProofAt {
            user_id: None,
            method: None,
            sent: SentCode::Held {
                key: "k",
                hash: Some("deadbeef"),
            },
        };
        assert!(!format!("{at:?}").contains("deadbeef"));
    }

    #[test]
    fn every_kind_is_registered_once_under_its_name() {
        for k in KIND_ORDER {
            assert_eq!(of(k).kind(), k);
            assert_eq!(parse_kind(kind_str(k)), Some(k));
            assert!(ENROL_ORDER.contains(&k));
        }
        assert_eq!(parse_kind("fax"), None);
    }
}
