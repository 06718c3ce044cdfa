//! Passkeys (WebAuthn, through `webauthn-rs`): a method that proves who
//! the user is alone and cannot be phished, a reset gate, and a way to sign
//! in with no password.
//!
//! - The relying party's id is `server.public_url`'s host and its one origin
//!   that URL's origin: a credential made for another site, or an answer
//!   signed in another origin, is refused.
//! - Every ceremony keeps the relying party's state (its challenge) in the
//!   store ([`PasskeyStore`]), single use, for [`CEREMONY_LIFETIME`], bound
//!   to what began it (a session, a reset flow, a sign-in page).
//! - Assertions are usernameless: the options name no account and allow no
//!   credential in particular (`allowCredentials` is empty), so a reset's
//!   challenge says nothing of whether the account exists or what it holds,
//!   and a decoy's is the same. The credential the browser picks names its
//!   user through its user handle: a random id, never the user name.
//! - A signature counter that does not increase (when either is non-zero)
//!   means the credential may have been copied: it is flagged, audited and
//!   refused from then on.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sspr_proto::reset::MethodKind;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey as Credential,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use super::{Challenge, Enrolment, Method, Proof, ProofAt, SentCode};
use crate::AppState;
use crate::audit;
use crate::config::PolicyConfig;
use crate::error::ApiError;
use crate::ports::{NewCeremony, PasskeyStore, Purpose, StoredPasskey};

/// A ceremony must be finished within 5 minutes (the browser's own timeout
/// is the same).
pub const CEREMONY_LIFETIME: i64 = 5 * 60;
/// Passkeys one user may hold.
pub const LIMIT: usize = 10;
/// The audit activity of a passkey refused for a counter that went back.
pub const CLONED: &str = "Passkey refused: possibly cloned";

#[derive(Debug)]
pub struct Passkey;

#[async_trait::async_trait]
impl Method for Passkey {
    fn kind(&self) -> MethodKind {
        MethodKind::Passkey
    }
    fn name(&self) -> &'static str {
        "passkey"
    }
    fn available(&self, policy: &PolicyConfig) -> bool {
        policy.passkeys
    }
    fn limit(&self) -> usize {
        LIMIT
    }
    /// One option for all of the user's passkeys; a decoy has one as often
    /// as one user in ten.
    fn decoy_count(&self, byte: u8, _gates: u8) -> usize {
        usize::from(byte < 26)
    }
    /// Chosen at reset, the gate waits for a proof as it does for a typed
    /// code; the proof is the ceremony's answer (`/api/reset/passkey/*`).
    fn challenge(&self) -> Challenge {
        Challenge::EnterCode
    }
    /// An assertion for the flow's ceremony, by a passkey of this user. A
    /// ceremony that is gone is an error (not a guess); a passkey that may
    /// have been copied is flagged and refused (an error too).
    async fn verify(
        &self,
        state: &AppState,
        at: &ProofAt<'_>,
        proof: &Proof<'_>,
    ) -> Result<bool, ApiError> {
        let (
            Proof::Passkey {
                ceremony,
                credential,
            },
            SentCode::Flow { flow_hash, .. },
        ) = (proof, at.sent)
        else {
            return Ok(false);
        };
        match assert(state, Purpose::Reset, flow_hash, ceremony, credential).await? {
            Asserted::Passed(p) => Ok(at.user_id == Some(p.user_id.as_str())),
            Asserted::Refused => Ok(false),
        }
    }
    /// Registered by its own ceremony (`/api/security-info/passkeys/*`), as
    /// sets are by their own endpoints.
    fn enrolment(&self) -> Enrolment {
        Enrolment::Set
    }
    fn added_key(&self) -> crate::i18n::Key {
        crate::key!("change.added.passkey")
    }
    fn removed_key(&self) -> crate::i18n::Key {
        crate::key!("change.removed.passkey")
    }
}

/// The relying party of `server.public_url`.
pub fn relying_party(state: &AppState) -> Result<Webauthn, ApiError> {
    let origin = Url::parse(&state.public_origin).map_err(ApiError::internal)?;
    let rp_id = origin
        .domain()
        .ok_or_else(|| ApiError::broken("passkeys need a domain name in server.public_url"))?
        .to_string();
    let org = state.organisation();
    WebauthnBuilder::new(&rp_id, &origin)
        .map_err(ApiError::internal)?
        .rp_name(&org)
        .timeout(std::time::Duration::from_secs(
            CEREMONY_LIFETIME.unsigned_abs(),
        ))
        .build()
        .map_err(ApiError::internal)
}

/// The hash a ceremony id is stored under (its SHA-256).
fn hash_ceremony(id: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// Keeps a begun ceremony; returns its id.
async fn keep(
    state: &AppState,
    purpose: Purpose,
    bound_to: &str,
    user_id: Option<&str>,
    rp_state: &impl serde::Serialize,
) -> Result<String, ApiError> {
    let id = state.entropy.hex_id(16);
    let now = state.clock.now();
    // Old ceremonies are swept as new ones begin.
    state.store.purge_ceremonies(now).await?;
    state
        .store
        .put_ceremony(&NewCeremony {
            id_hash: &hash_ceremony(&id),
            purpose,
            bound_to,
            user_id,
            state: &serde_json::to_string(rp_state)?,
            expires_at: now + CEREMONY_LIFETIME,
        })
        .await?;
    Ok(id)
}

/// The browser's options as JSON text, with a passkey's needs made plain:
/// a discoverable credential, verified by the user.
fn creation_options(ccr: &CreationChallengeResponse) -> Result<String, ApiError> {
    let mut v = serde_json::to_value(ccr)?;
    if let Some(sel) = v
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(serde_json::Value::as_object_mut)
    {
        sel.insert("residentKey".into(), "required".into());
        sel.insert("requireResidentKey".into(), true.into());
        sel.insert("userVerification".into(), "required".into());
    }
    Ok(v.to_string())
}

/// An assertion's options as JSON text: a modal request (not the autofill
/// form `webauthn-rs` asks for), allowing any credential of this site.
fn request_options(rcr: &RequestChallengeResponse) -> Result<String, ApiError> {
    let mut v = serde_json::to_value(rcr)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("mediation");
    }
    Ok(v.to_string())
}

/// Begins adding a passkey for `user` in session `session_hash`; `existing`
/// are the user's passkeys (excluded, and the source of their handle).
/// Returns the ceremony id and the browser's options.
pub async fn begin_registration(
    state: &AppState,
    session_hash: &str,
    user: &crate::directory::DirUser,
    existing: &[StoredPasskey],
) -> Result<(String, String), ApiError> {
    let rp = relying_party(state)?;
    let handle = match existing.first() {
        Some(p) => Uuid::parse_str(&p.user_handle).map_err(ApiError::internal)?,
        None => {
            let mut b = [0u8; 16];
            state.entropy.fill(&mut b);
            Uuid::from_bytes(b)
        }
    };
    let exclude = existing
        .iter()
        .filter_map(|p| B64.decode(&p.credential_id).ok())
        .collect::<Vec<_>>();
    let (ccr, reg) = rp
        .start_passkey_registration(
            handle,
            &user.username,
            &user.display_name,
            Some(exclude).filter(|e| !e.is_empty()),
        )
        .map_err(ApiError::internal)?;
    let kept = RegistrationCeremony {
        handle: handle.to_string(),
        rp: reg,
    };
    let id = keep(
        state,
        Purpose::Register,
        session_hash,
        Some(&user.id),
        &kept,
    )
    .await?;
    Ok((id, creation_options(&ccr)?))
}

/// A registration begun: the user handle it gave the authenticator, and
/// the relying party's state.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct RegistrationCeremony {
    handle: String,
    rp: PasskeyRegistration,
}

/// A registration the relying party accepted, ready to store.
pub struct Registered {
    pub credential_id: String,
    pub user_handle: String,
    /// The stored credential (COSE key, flags), JSON.
    pub public_key: String,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered").finish_non_exhaustive()
    }
}

/// Finishes adding a passkey: the ceremony (once, for this session and
/// user) and the browser's credential.
pub async fn finish_registration(
    state: &AppState,
    session_hash: &str,
    user_id: &str,
    ceremony: &str,
    credential: &str,
) -> Result<Registered, ApiError> {
    let taken = state
        .store
        .take_ceremony(
            &hash_ceremony(ceremony),
            Purpose::Register,
            session_hash,
            state.clock.now(),
        )
        .await?
        .filter(|c| c.user_id.as_deref() == Some(user_id))
        .ok_or(ApiError::PasskeyExpired)?;
    let kept: RegistrationCeremony = serde_json::from_str(&taken.state)?;
    let answer: RegisterPublicKeyCredential =
        serde_json::from_str(credential).map_err(|e| refused("registration", &e))?;
    let passkey = relying_party(state)?
        .finish_passkey_registration(&answer, &kept.rp)
        .map_err(|e| refused("registration", &e))?;
    Ok(Registered {
        credential_id: B64.encode(passkey.cred_id()),
        user_handle: kept.handle,
        public_key: serde_json::to_string(&passkey)?,
    })
}

/// Begins a usernameless assertion bound to `bound_to` (a reset flow's
/// hash, a sign-in page's token hash). The options are the same whoever
/// asks: no account, no credential named.
pub async fn begin_assertion(
    state: &AppState,
    purpose: Purpose,
    bound_to: &str,
) -> Result<(String, String), ApiError> {
    let (rcr, auth) = relying_party(state)?
        .start_discoverable_authentication()
        .map_err(ApiError::internal)?;
    let id = keep(state, purpose, bound_to, None, &auth).await?;
    Ok((id, request_options(&rcr)?))
}

/// How an assertion ended, short of an error.
#[derive(Debug)]
pub enum Asserted {
    /// Verified, its counter advanced: the passkey (as it was stored).
    Passed(StoredPasskey),
    /// Not a passkey registered here, not its user's, or a signature (or
    /// origin, or relying party) that does not verify.
    Refused,
}

fn refused(what: &str, e: &dyn std::fmt::Display) -> ApiError {
    tracing::debug!(error = %e, "passkey {what} refused");
    ApiError::PasskeyRefused
}

/// Finishes an assertion: the ceremony (once, for `purpose` and
/// `bound_to`), then the credential it names, its user handle, its
/// signature and its counter. A ceremony that is gone is
/// [`ApiError::PasskeyExpired`]; a counter that went back flags the
/// passkey and is [`ApiError::PasskeyCloned`].
pub async fn assert(
    state: &AppState,
    purpose: Purpose,
    bound_to: &str,
    ceremony: &str,
    credential: &str,
) -> Result<Asserted, ApiError> {
    let now = state.clock.now();
    let taken = state
        .store
        .take_ceremony(&hash_ceremony(ceremony), purpose, bound_to, now)
        .await?
        .ok_or(ApiError::PasskeyExpired)?;
    let auth: DiscoverableAuthentication = serde_json::from_str(&taken.state)?;
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Ok(Asserted::Refused);
    };
    let rp = relying_party(state)?;
    let Ok((handle, raw_id)) = rp.identify_discoverable_authentication(&answer) else {
        return Ok(Asserted::Refused);
    };
    let Some(stored) = state
        .store
        .passkey_by_credential(&B64.encode(raw_id))
        .await?
        .filter(|p| p.user_handle == handle.to_string())
    else {
        return Ok(Asserted::Refused);
    };
    if stored.cloned_at.is_some() {
        return Err(ApiError::PasskeyCloned);
    }
    let mut passkey: Credential = serde_json::from_str(&stored.public_key)?;
    let result = match rp.finish_discoverable_authentication_v2(&answer, auth, &passkey) {
        Ok(r) => r,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            return Err(flag_cloned(state, &stored, now).await);
        }
        Err(e) => {
            tracing::debug!(error = %e, "passkey assertion refused");
            return Ok(Asserted::Refused);
        }
    };
    passkey.update_credential(&result);
    let count = i64::from(result.counter());
    if !state
        .store
        .advance_passkey(
            &stored.method_id,
            count,
            &serde_json::to_string(&passkey)?,
            now,
        )
        .await?
    {
        // Another use with this count won meanwhile: two authenticators
        // answered with one counter.
        return Err(flag_cloned(state, &stored, now).await);
    }
    Ok(Asserted::Passed(stored))
}

/// Flags a passkey whose counter did not increase, and audits it.
async fn flag_cloned(state: &AppState, p: &StoredPasskey, now: i64) -> ApiError {
    if let Err(e) = state.store.flag_passkey_cloned(&p.method_id, now).await {
        return e.into();
    }
    let user = state.directory.user_by_id(&p.user_id).await.ok().flatten();
    audit::record(
        state,
        audit::Event {
            activity: CLONED,
            actor: user.as_ref().map_or("", |u| u.username.as_str()),
            target: user.as_ref().map(|u| u.username.as_str()),
            method: Some("passkey"),
            success: false,
            detail: Some("signature counter did not increase"),
            ..audit::Event::default()
        },
    )
    .await;
    ApiError::PasskeyCloned
}
