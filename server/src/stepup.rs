//! Step-up: before a signed-in user changes their security info (once they
//! have any), they prove one of the methods they already have, as Entra asks
//! for MFA before registering more. A phished password alone then cannot
//! plant a reset backdoor.
//!
//! One challenge per session, 10 minutes, 5 wrong codes. Step-up has its
//! own budget (5 wrong codes in 24 h block step-up), so failures at reset,
//! which anyone who knows the name can cause, never lock a signed-in user
//! out of their security info (an administrator out of usage & insights);
//! its wrong codes also count against the account's reset budget, so a
//! step-up is no second door for guessing. Sent codes obey the same
//! per-account and per-target limits as every other code.

use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::{SecurityInfoView, StepUpChallenge, proves_stepup};

use crate::AppState;
use crate::audit::{self, Event};
use crate::error::ApiError;
use crate::i18n;
use crate::methods;
use crate::methods::code::numeric_code;
use crate::methods::throttle;
use crate::methods::{Challenge, CodePurpose, Proof, ProofAt, SentCode};
use crate::outbox;
use crate::ports::{ChangeStore, NewStepUp, SessionStore, StepUp};
use crate::session::{self, Session};

/// A challenge must be answered within 10 minutes.
pub const LIFETIME: i64 = 10 * 60;
/// Wrong codes a challenge survives.
pub const ATTEMPTS: i64 = 5;

pub const VERIFIED: &str = "User verified security info (step-up)";

fn challenge_key(s: &Session) -> String {
    format!("stepup:{}", s.hash)
}

/// Starts proving `method_id`, one of the user's own methods.
pub async fn start(
    state: &AppState,
    s: &Session,
    limit_key: &str,
    method_id: &str,
) -> Result<StepUpChallenge, ApiError> {
    let stored = methods::for_user(state, Some(&s.user.id)).await?;
    let m = stored
        .iter()
        // A passkey steps a session up by signing in with it (no code).
        .find(|m| m.id == method_id && proves_stepup(m.kind) && m.kind != MethodKind::Passkey)
        .ok_or_else(|| ApiError::InvalidField {
            field: "method".into(),
            reason: "not one of your methods that can prove it's you".into(),
        })?;
    let now = state.clock.now();
    let method = methods::of(m.kind);
    let sends_code = method.challenge() == Challenge::SendCode;
    let code = if sends_code {
        let target = m.target.as_deref().unwrap_or_default();
        let window = crate::limits::WINDOW;
        state
            .limits
            .hit(
                limit_key,
                (
                    "stepup-send-ip",
                    crate::security_info::ENROLL_SENDS_PER_IP,
                    window,
                ),
                now,
            )
            .await?;
        throttle::charge_send_visibly(
            state,
            &throttle::account_subject(&s.user.id),
            m.kind,
            target,
            throttle::Purpose::StepUp,
        )
        .await?;
        Some((numeric_code(state.entropy.as_ref()), target.to_string()))
    } else {
        None
    };
    let key = challenge_key(s);
    let expires_at = now + LIFETIME;
    let mut tx = state.store.begin_change().await?;
    let code_hash = code
        .as_ref()
        .map(|(c, _)| state.keys.code_hash(&key, c.expose()));
    state
        .store
        .put_stepup(
            &mut tx,
            &NewStepUp {
                session_hash: &s.hash,
                method_id: &m.id,
                code_hash: code_hash.as_deref(),
                sent_at: code.as_ref().map(|_| now),
                expires: expires_at,
            },
        )
        .await?;
    // The code's message goes in the challenge's transaction, and never once
    // the challenge has expired.
    let mut batch = outbox::Batch::default();
    if let Some((code, to)) = code {
        let org = state.organisation();
        let lang = i18n::current();
        let Some(msg) = method.code_message(CodePurpose::StepUp, to, lang, code.expose(), &org, "")
        else {
            return Err(ApiError::internal("a code for a kind that sends none"));
        };
        let item = outbox::Item::code(&msg, Some(&s.user.username), expires_at);
        batch.add(&mut tx, state, item).await?;
    }
    tx.commit().await?;
    let _ = batch.committed(state).await;
    Ok(StepUpChallenge {
        method: m.id.clone(),
        kind: m.kind,
        resend_in: sends_code.then_some(throttle::TARGET_COOLDOWN as u32),
    })
}

/// Checks the step-up's proof. On success the session may change the
/// user's methods for 10 minutes.
pub async fn verify(
    state: &AppState,
    s: &Session,
    ip: &str,
    code: &str,
) -> Result<SecurityInfoView, ApiError> {
    let started = tokio::time::Instant::now();
    let result = check(state, s, ip, code).await;
    if matches!(result, Err(ApiError::CodeInvalid)) {
        state.paces.sign_in.wait(started).await;
    }
    result?;
    let fresh = Session {
        hash: s.hash.clone(),
        user: s.user.clone(),
        via: s.via,
        auth_at: s.auth_at,
        mfa_at: state.clock.now(),
    };
    crate::security_info::view(state, &fresh).await
}

async fn check(state: &AppState, s: &Session, ip: &str, code: &str) -> Result<(), ApiError> {
    let now = state.clock.now();
    let StepUp {
        method_id,
        code_hash,
    } = state
        .store
        .stepup(&s.hash, now)
        .await?
        .ok_or(ApiError::EnrollmentExpired)?;
    let stored = methods::for_user(state, Some(&s.user.id)).await?;
    let m = stored
        .iter()
        .find(|m| m.id == method_id)
        .ok_or(ApiError::EnrollmentExpired)?;
    // Step-up has a budget of its own, so that anyone who can type the
    // user's name at reset cannot lock a signed-in user (an administrator,
    // say) out of their own security info; its wrong codes count towards
    // the account's reset block too.
    let account = throttle::account_subject(&s.user.id);
    let own = stepup_subject(&s.user.id);
    if throttle::is_blocked(state, &own).await? || !throttle::reserve(state, &own).await? {
        return Err(ApiError::RateLimited {
            retry_after: throttle::BLOCK_FOR as u64,
        });
    }
    let typed = methods::code::typed_code(code);
    let key = challenge_key(s);
    let at = ProofAt {
        user_id: Some(&s.user.id),
        method: Some(m),
        sent: SentCode::Held {
            key: &key,
            hash: code_hash.as_deref(),
        },
    };
    let ok = methods::of(m.kind)
        .verify(state, &at, &Proof::Code(&typed))
        .await;
    let ok = match ok {
        Ok(ok) => ok,
        Err(e) => {
            let _ = throttle::refund(state, &own).await;
            return Err(e);
        }
    };
    let event = |success: bool, detail: &'static str| Event {
        activity: VERIFIED,
        actor: &s.user.username,
        target: Some(&s.user.username),
        method: Some(methods::kind_str(m.kind)),
        success,
        ip,
        detail: Some(detail),
        ..Default::default()
    };
    if !ok {
        throttle::fail_reserved(state, &own).await?;
        let blocked = throttle::fail_unreserved(state, &account).await?;
        let attempts = state.store.fail_stepup(&s.hash).await?;
        if attempts.is_none_or(|a| a >= ATTEMPTS) {
            delete(state, s).await?;
        }
        audit::record(state, event(false, "wrong code")).await;
        if blocked {
            audit::record(
                state,
                Event {
                    activity: audit::USER_BLOCKED,
                    detail: Some("wrong step-up codes"),
                    ..event(true, "")
                },
            )
            .await;
        }
        return Err(ApiError::CodeInvalid);
    }
    throttle::refund(state, &own).await?;
    // Consumed in one delete: a code confirms one step-up.
    if !delete(state, s).await? {
        return Err(ApiError::EnrollmentExpired);
    }
    session::mark_proved(state, &s.hash, m.kind).await?;
    audit::record(state, event(true, "verified")).await;
    Ok(())
}

/// The throttling subject of a user's step-up proofs.
pub fn stepup_subject(user_id: &str) -> String {
    format!("s:{}", throttle::account_subject(user_id))
}

async fn delete(state: &AppState, s: &Session) -> Result<bool, ApiError> {
    Ok(state.store.take_stepup(&s.hash).await?)
}
