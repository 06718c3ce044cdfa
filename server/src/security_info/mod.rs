//! Combined security-info registration for the signed-in user: the view with
//! its interrupt, enrollment of each method kind (held server-side, bound to
//! the session), recovery codes, removal, the default method and password
//! change. Every change is audited and mailed to the user.
//!
//! The rules of each change are decided by the pure [`core`]; the handlers
//! here look up what it needs, ask it, and carry out its effects.

mod core;

use sha2::{Digest, Sha256};
use sspr_policy::answers::check_answers;
use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::{
    AddMethodRequest, Enrollment, Interrupt, QuestionAnswer, RecoveryCodes, RegisteredMethod,
    SecurityInfoView,
};

use crate::AppState;
use crate::audit::{self, Event};
use crate::delivery::Outgoing;
use crate::directory::DirUser;
use crate::error::ApiError;
use crate::i18n;
use crate::methods::code::numeric_code;
use crate::methods::review::{mark_reviewed, reviewed_at};
use crate::methods::throttle;
use crate::methods::{
    self, CodePurpose, NewMethod, StoredMethod, authenticator as totp, gates, passkey,
    recovery_code, security_questions,
};
use crate::outbox;
use crate::ports::{Change, MethodStore, NewMethodRow};
use crate::ports::{EnrolmentStore, NewEnrolment, NewPasskey, PasskeyStore};
use crate::secret::Secret;
use crate::session::{self, Session};

use self::core::{Account, Effect, Held, Input, Notice, State, Target, Verdict};
pub use self::core::{
    CHANGED_DEFAULT, DELETED, ENROLLMENT_ATTEMPTS, ENROLLMENT_LIFETIME, REGISTERED, REGISTERED_ALL,
};

/// Enrolment codes (to addresses and numbers the user types) per session,
/// and per client, per 10 minutes.
pub const ENROLL_SENDS_PER_SESSION: u32 = 5;
pub const ENROLL_SENDS_PER_IP: u32 = 20;

pub use crate::methods::recovery_code::RECOVERY_CODES;

pub const REVIEWED: &str = "User reviewed security info";
pub const PASSWORD_CHANGED: &str = "Change password (self-service)";

fn hash_id(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// Methods a reset needs for this user.
pub fn required(state: &AppState, user: &DirUser) -> u8 {
    gates::required(state.config.policy.methods_required.get(), user.is_admin)
}

/// Whether this user may use a kind at all (see [`gates::allowed`]).
fn allowed(state: &AppState, user: &DirUser, k: MethodKind) -> bool {
    methods::kind_available(state, k) && gates::allowed(k, user.is_admin)
}

/// Distinct kinds the reset wizard would offer: two emails are still one
/// gate. Security questions never count alone: without another kind they
/// add nothing.
pub(crate) fn usable_kinds(state: &AppState, user: &DirUser, stored: &[StoredMethod]) -> usize {
    usable_kinds_of(state, user, stored.iter().map(|m| m.kind))
}

/// [`usable_kinds`] of the kinds of a user's methods.
pub(crate) fn usable_kinds_of(
    state: &AppState,
    user: &DirUser,
    kinds: impl Iterator<Item = MethodKind> + Clone,
) -> usize {
    gates::usable_kinds(kinds, user.is_admin, |k| methods::kind_available(state, k))
}

/// What the signed-in user sees, including any interrupt.
pub async fn view(state: &AppState, s: &Session) -> Result<SecurityInfoView, ApiError> {
    let stored = methods::for_user(state, Some(&s.user.id)).await?;
    let now = state.clock.now();
    let required = required(state, &s.user);
    let have = usable_kinds(state, &s.user, &stored);
    let wants_passkey = core::passkey_wanted(
        s.user.is_admin,
        state.config.policy.admins_require_phishing_resistant,
        stored.iter().map(|m| m.kind),
    );
    // An administrator who must have a passkey and has none is asked for
    // one, whatever else they hold.
    let needed = usize::from(required)
        .saturating_sub(have)
        .max(usize::from(wants_passkey));
    let days = i64::from(state.config.policy.reconfirm_days.get());
    let interrupt = if needed > 0 {
        Some(Interrupt::Register {
            needed: u8::try_from(needed).unwrap_or(u8::MAX),
        })
    } else if days > 0
        && reviewed_at(state, &s.user.id)
            .await?
            .is_none_or(|t| t + days * 86_400 <= now)
    {
        Some(Interrupt::Reconfirm)
    } else {
        None
    };
    let mut methods = Vec::with_capacity(stored.len());
    for m in &stored {
        let remaining = methods::of(m.kind).remaining(state, &m.id).await?;
        methods.push(RegisteredMethod {
            id: m.id.clone(),
            kind: m.kind,
            target: m.target.clone().unwrap_or_default(),
            is_default: m.is_default,
            added_at: m.created_at,
            remaining,
        });
    }
    let can_add = methods::ENROL_ORDER
        .into_iter()
        .filter(|k| allowed(state, &s.user, *k))
        .filter(|k| stored.iter().filter(|m| m.kind == *k).count() < methods::of(*k).limit())
        .filter(|k| !wants_passkey || *k == MethodKind::Passkey)
        .collect();
    Ok(SecurityInfoView {
        username: s.user.username.clone(),
        display_name: s.user.display_name.clone(),
        signed_in_with: s.via,
        methods,
        required,
        interrupt,
        can_add,
        recently_authenticated: s.recently_authenticated(now),
        questions: if allowed(state, &s.user, MethodKind::SecurityQuestions) {
            state.config.policy.questions.clone()
        } else {
            Vec::new()
        },
        is_admin: s.user.is_admin,
        proven: session::proven_kinds(state, &s.hash).await?,
    })
}

fn audit_for<'a>(s: &'a Session, ip: &'a str, activity: &'a str) -> Event<'a> {
    Event {
        activity,
        actor: &s.user.username,
        target: Some(&s.user.username),
        success: true,
        ip,
        ..Default::default()
    }
}

/// The methods a user holds, as the core sees them.
fn held(stored: &[StoredMethod]) -> Vec<Held> {
    stored
        .iter()
        .map(|m| Held {
            id: m.id.clone(),
            kind: m.kind,
            target: Target(m.target.clone()),
            is_default: m.is_default,
        })
        .collect()
}

/// The kinds this portal offers.
fn offered(state: &AppState) -> Vec<MethodKind> {
    methods::ENROL_ORDER
        .into_iter()
        .filter(|k| methods::kind_available(state, *k))
        .collect()
}

/// Everything the core's rules read about the signed-in user.
struct Looked {
    held: Vec<Held>,
    offered: Vec<MethodKind>,
    policy_required: u8,
}

impl Looked {
    async fn up(state: &AppState, s: &Session) -> Result<Self, ApiError> {
        let stored = methods::for_user(state, Some(&s.user.id)).await?;
        Ok(Self {
            held: held(&stored),
            offered: offered(state),
            policy_required: state.config.policy.methods_required.get(),
        })
    }

    fn account<'a>(&'a self, s: &'a Session) -> Account<'a> {
        Account {
            session: s,
            held: &self.held,
            available: &self.offered,
            policy_required: self.policy_required,
        }
    }
}

/// Carries out the effects every change shares: the session's and the
/// user's marks, audit records, and the answer of a refusal.
async fn carry(state: &AppState, s: &Session, ip: &str, effect: Effect) -> Result<(), ApiError> {
    match effect {
        Effect::MarkSteppedUp => session::mark_stepped_up(state, &s.hash).await?,
        Effect::MarkReviewed => mark_reviewed(state, &s.user.id).await?,
        Effect::Audit { activity, kind } => {
            audit::record(
                state,
                Event {
                    method: kind.map(methods::kind_str),
                    ..audit_for(s, ip, activity)
                },
            )
            .await;
        }
        Effect::Answer(refusal) => return Err(refusal.into()),
        other => {
            return Err(ApiError::internal(format!(
                "security info: {other:?} has no handler here"
            )));
        }
    }
    Ok(())
}

/// Commits a change with its notice queued in the same transaction, then
/// hands the notice to the outbox: the change and its mail are kept together
/// or not at all.
async fn commit_with_notice(
    mut tx: Change,
    state: &AppState,
    user: &DirUser,
    notice: &Notice,
) -> Result<(), ApiError> {
    let mut batch = outbox::Batch::default();
    let mail = change_mail(state, user, notice.what, notice.also.as_deref());
    batch.add_all(&mut tx, state, mail).await?;
    tx.commit().await?;
    let _ = batch.committed(state).await;
    Ok(())
}

/// "Your security info was changed", with what to do if it wasn't them:
/// to the user and, for a new address, to that address too. `what` is the
/// change's catalog key. Queue them in the transaction of the change.
fn change_mail(
    state: &AppState,
    user: &DirUser,
    what: i18n::Key,
    also: Option<&str>,
) -> Vec<outbox::Item> {
    let org = state.organisation();
    let lang = i18n::current();
    let change = i18n::text(lang, what.as_str());
    let args = [
        ("organisation", org.as_str()),
        ("name", user.display_name.as_str()),
        ("account", user.username.as_str()),
        ("change", change.as_str()),
        ("url", state.config.server.public_url.as_str()),
    ];
    let mut to: Vec<&str> = user.email.iter().map(String::as_str).collect();
    to.extend(also.filter(|a| {
        !user
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(a))
    }));
    to.into_iter()
        .map(|addr| {
            let msg = Outgoing::Mail {
                to: addr.to_string(),
                subject: i18n::text_with(lang, crate::key!("email.info_changed.subject"), &args),
                body: i18n::text_with(lang, crate::key!("email.info_changed.body"), &args),
            };
            outbox::Item::message(&msg, Some(&user.username))
        })
        .collect()
}

/// Starts adding a method: a fresh authenticator secret, or a code sent to
/// the address or number. One enrollment per session at a time.
pub async fn start(
    state: &AppState,
    s: &Session,
    limit_key: &str,
    req: AddMethodRequest,
) -> Result<Enrollment, ApiError> {
    let kind = core::kind_of(&req);
    let looked = Looked::up(state, s).await?;
    let now = state.clock.now();
    let input = Input::Start {
        account: looked.account(s),
        request: &req,
    };
    let (_, effects) = core::step(State::Idle, input, now)?;
    let method = methods::of(kind);
    let id = state.entropy.hex_id(16);
    let id_hash = hash_id(&id);
    let org = state.organisation();
    let mut secret = None;
    let mut shown = None;
    for effect in effects {
        match effect {
            Effect::ClearPending => state.store.clear_enrolments(&s.hash, now).await?,
            Effect::ChargeSend { target } => {
                // Codes to numbers and addresses the user typed: charged to
                // the session and the client as well as the account.
                let now = state.clock.now();
                let window = crate::limits::WINDOW;
                state
                    .limits
                    .hit(
                        &s.hash,
                        ("enroll-send-session", ENROLL_SENDS_PER_SESSION, window),
                        now,
                    )
                    .await?;
                state
                    .limits
                    .hit(
                        limit_key,
                        ("enroll-send-ip", ENROLL_SENDS_PER_IP, window),
                        now,
                    )
                    .await?;
                throttle::charge_send_visibly(
                    state,
                    &throttle::account_subject(&s.user.id),
                    kind,
                    target.as_deref().unwrap_or_default(),
                    throttle::Purpose::Account,
                )
                .await?;
            }
            Effect::Open { pending, send_code } => {
                let (made, code) = if send_code {
                    (None, Some(numeric_code(state.entropy.as_ref())))
                } else {
                    (Some(totp::new_secret(state.entropy.as_ref())), None)
                };
                let lang = i18n::current();
                // The code's message goes in the enrolment's own
                // transaction, and never once the enrolment has expired.
                let message = match (&code, pending.target.as_deref()) {
                    (Some(code), Some(to)) => method.code_message(
                        CodePurpose::Enrol,
                        to.to_string(),
                        lang,
                        code.expose(),
                        &org,
                        "",
                    ),
                    _ => None,
                };
                let sealed = made
                    .as_ref()
                    .map(|x| state.keys.seal(x, state.entropy.as_ref()));
                let code_hash = code
                    .as_ref()
                    .map(|c| state.keys.code_hash(&id_hash, c.expose()));
                let mut tx = state
                    .store
                    .create_enrolment(&NewEnrolment {
                        id_hash: &id_hash,
                        session_hash: &s.hash,
                        user_id: &s.user.id,
                        kind: methods::kind_str(kind),
                        target: pending.target.as_deref(),
                        secret_sealed: sealed.as_deref(),
                        code_hash: code_hash.as_deref(),
                        sent_at: code.as_ref().map(|_| now),
                        expires_at: pending.expires_at,
                    })
                    .await?;
                let mut batch = outbox::Batch::default();
                if let Some(msg) = &message {
                    let item = outbox::Item::code(msg, Some(&s.user.username), pending.expires_at);
                    batch.add(&mut tx, state, item).await?;
                }
                tx.commit().await?;
                let _ = batch.committed(state).await;
                shown = pending.target.0.filter(|_| message.is_some());
                secret = made;
            }
            other => carry(state, s, "", other).await?,
        }
    }
    method
        .enrolment_shown(id, shown, secret.as_deref(), &org, &s.user.username)
        .ok_or_else(|| ApiError::internal("enrollment without its material"))
}

/// Confirms an enrollment with its first code. The enrollment is consumed in
/// one atomic delete, so a code can confirm at most once; an authenticator's
/// confirming step is stored as used.
pub async fn confirm(
    state: &AppState,
    s: &Session,
    ip: &str,
    enrollment: &str,
    code: &str,
) -> Result<SecurityInfoView, ApiError> {
    let hash = hash_id(enrollment);
    let now = state.clock.now();
    let looked = Looked::up(state, s).await?;
    let row = state.store.pending_enrolment(&hash, &s.hash, now).await?;
    let code = methods::code::typed_code(code);
    // The core's state: an enrolment of a kind this portal knows, with the
    // material its kind needs; anything else is no enrolment.
    let mut pending = State::Idle;
    let mut verdict = Verdict::Wrong;
    let mut used_step = None;
    let mut secret = None;
    if let Some(p) = &row
        && let Some(kind) = methods::parse_kind(&p.kind)
    {
        let material = match methods::of(kind).enrolment() {
            methods::Enrolment::Secret => match p.secret_sealed.as_deref() {
                Some(sealed) => {
                    let plain = state.keys.open(sealed)?;
                    used_step = totp::matching_step(&plain, &code, now);
                    secret = Some(plain);
                    Some(used_step.is_some())
                }
                None => None,
            },
            methods::Enrolment::CodeToTarget | methods::Enrolment::Set => Some(
                methods::code::matches_held(&state.keys, &hash, p.code_hash.as_deref(), &code),
            ),
        };
        if let Some(right) = material {
            pending = State::Pending(core::Pending {
                kind,
                target: Target(p.target.clone()),
                expires_at: p.expires_at,
            });
            verdict = if right {
                Verdict::Right
            } else {
                Verdict::Wrong
            };
        }
    }
    let input = Input::Confirm {
        account: looked.account(s),
        verdict,
    };
    let (next, effects) = core::step(pending, input, now)?;
    for effect in effects {
        match effect {
            Effect::CountAttempt => {
                let attempts = state.store.count_enrolment_attempt(&hash).await?;
                let (_, then) = core::step(next.clone(), Input::Counted(attempts), now)?;
                for effect in then {
                    match effect {
                        Effect::Retire => {
                            state.store.delete_enrolment(&hash).await?;
                        }
                        other => carry(state, s, ip, other).await?,
                    }
                }
            }
            // The one winner of concurrent confirmations is the one whose
            // delete lands.
            Effect::Consume => {
                if !state.store.delete_enrolment(&hash).await? {
                    return Err(core::Refusal::Expired.into());
                }
            }
            Effect::AddMethod {
                kind,
                target,
                notice,
            } => {
                let mut tx = methods::begin_change(state, &s.user, !s.stepped_up(now)).await?;
                methods::add(
                    &mut tx,
                    state,
                    &s.user,
                    NewMethod {
                        kind,
                        target: target.as_deref(),
                        secret: secret.as_deref(),
                        used_step,
                    },
                )
                .await?;
                commit_with_notice(tx, state, &s.user, &notice).await?;
            }
            other => carry(state, s, ip, other).await?,
        }
    }
    view(state, &fresh(state, s)).await
}

/// The session as it stands after a proof within it.
fn fresh(state: &AppState, s: &Session) -> Session {
    Session {
        hash: s.hash.clone(),
        user: s.user.clone(),
        via: s.via,
        auth_at: s.auth_at,
        mfa_at: state.clock.now(),
    }
}

/// The user confirms their methods are still right (reconfirm interrupt).
pub async fn review(state: &AppState, s: &Session, ip: &str) -> Result<SecurityInfoView, ApiError> {
    let v = view(state, s).await?;
    if matches!(v.interrupt, Some(Interrupt::Register { .. })) {
        return Err(ApiError::WrongStep);
    }
    mark_reviewed(state, &s.user.id).await?;
    audit::record(state, audit_for(s, ip, REVIEWED)).await;
    view(state, s).await
}

/// Removes a method. Needs a password proof within the last 10 minutes.
pub async fn remove(
    state: &AppState,
    s: &Session,
    ip: &str,
    method: &str,
) -> Result<SecurityInfoView, ApiError> {
    let looked = Looked::up(state, s).await?;
    let input = Input::Remove {
        account: looked.account(s),
        method,
    };
    let (_, effects) = core::step(State::Idle, input, state.clock.now())?;
    for effect in effects {
        match effect {
            Effect::RemoveMethod {
                id,
                was_default,
                notice,
            } => {
                let mut tx = methods::begin_change(state, &s.user, false).await?;
                // The oldest remaining method inherits a removed default.
                if !state
                    .store
                    .remove_method(&mut tx, &s.user.id, &id, was_default)
                    .await?
                {
                    // A concurrent removal won: it mailed and audited.
                    return view(state, s).await;
                }
                commit_with_notice(tx, state, &s.user, &notice).await?;
            }
            other => carry(state, s, ip, other).await?,
        }
    }
    view(state, s).await
}

/// Makes a method the default.
pub async fn set_default(
    state: &AppState,
    s: &Session,
    ip: &str,
    method: &str,
) -> Result<SecurityInfoView, ApiError> {
    let looked = Looked::up(state, s).await?;
    let input = Input::SetDefault {
        account: looked.account(s),
        method,
    };
    let (_, effects) = core::step(State::Idle, input, state.clock.now())?;
    for effect in effects {
        match effect {
            Effect::MakeDefault { id, notice } => {
                let mut tx = methods::begin_change(state, &s.user, false).await?;
                state
                    .store
                    .set_default_method(&mut tx, &s.user.id, &id)
                    .await?;
                commit_with_notice(tx, state, &s.user, &notice).await?;
            }
            other => carry(state, s, ip, other).await?,
        }
    }
    view(state, s).await
}

/// Opens a transaction that drops `existing` (their codes or answers go with
/// them, `ON DELETE CASCADE`) and stores a new method row of `kind` in their
/// place; the caller adds the new set and commits, so nothing is ever half
/// replaced.
async fn replace_method(
    state: &AppState,
    s: &Session,
    existing: &[String],
    method_id: &str,
    kind: MethodKind,
) -> Result<Change, ApiError> {
    let user = &s.user;
    let mut tx = methods::begin_change(state, user, !s.stepped_up(state.clock.now())).await?;
    let old: Vec<&str> = existing.iter().map(String::as_str).collect();
    let new = NewMethodRow {
        id: method_id,
        user_id: &user.id,
        kind: methods::kind_str(kind),
        target: None,
        secret_sealed: None,
        used_step: None,
        at: state.clock.now(),
    };
    state.store.replace_methods(&mut tx, &old, &new).await?;
    Ok(tx)
}

/// A new set in place of the user's earlier one: the core decides, then
/// `set` adds the new set (codes, answers) under the new method's id in the
/// replacing transaction.
async fn replace_set<F>(
    state: &AppState,
    s: &Session,
    ip: &str,
    effects: Vec<Effect>,
    set: F,
) -> Result<(), ApiError>
where
    F: AsyncFnOnce(&mut Change, &str) -> Result<(), ApiError>,
{
    let mut set = Some(set);
    for effect in effects {
        match effect {
            Effect::ReplaceMethods {
                kind,
                replaced,
                notice,
            } => {
                let set = set
                    .take()
                    .ok_or_else(|| ApiError::internal("one set replaces methods once"))?;
                let method_id = state.entropy.hex_id(16);
                let mut tx = replace_method(state, s, &replaced, &method_id, kind).await?;
                set(&mut tx, &method_id).await?;
                commit_with_notice(tx, state, &s.user, &notice).await?;
            }
            other => carry(state, s, ip, other).await?,
        }
    }
    Ok(())
}

/// Creates ten recovery codes, replacing any earlier set in one transaction.
/// A first set may be made from a pass session; replacing one needs a recent
/// password proof.
pub async fn new_recovery_codes(
    state: &AppState,
    s: &Session,
    ip: &str,
) -> Result<RecoveryCodes, ApiError> {
    let looked = Looked::up(state, s).await?;
    let input = Input::NewRecoveryCodes {
        account: looked.account(s),
    };
    let (_, effects) = core::step(State::Idle, input, state.clock.now())?;
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| recovery_code::generate(state.entropy.as_ref()))
        .collect();
    replace_set(state, s, ip, effects, async |tx, method_id| {
        recovery_code::store(tx, state, method_id, &codes).await
    })
    .await?;
    Ok(RecoveryCodes {
        codes,
        view: view(state, s).await?,
    })
}

/// How long a password-change notice waits for the directory write before
/// it goes anyway: longer than any write takes.
const NOTICE_HOLD: i64 = 60;

/// Changes the password while signed in: the current one, then the new one
/// under the same policy as a reset. Other sessions end; this one continues.
pub async fn change_password(
    state: &AppState,
    s: &Session,
    ip: &str,
    current: &Secret,
    new: &Secret,
) -> Result<(), ApiError> {
    s.require_password()?;
    if !session::check_password(state, &s.user, current).await? {
        return Err(ApiError::InvalidField {
            field: "current".into(),
            reason: "not your current password".into(),
        });
    }
    crate::password::enforce(state, new, &s.user, ip, "change").await?;
    // The notice is queued before the directory write and held: it goes
    // once the write is done, or when the hold ends if this node dies
    // between the two; a refused write drops it.
    let mut tx = state.store.pool().begin().await?;
    let mut batch = outbox::Batch::default();
    let notices = change_mail(state, &s.user, crate::key!("change.password"), None)
        .into_iter()
        .map(|item| item.held(NOTICE_HOLD));
    batch.add_all(&mut tx, state, notices).await?;
    tx.commit().await?;
    let held = batch.committed(state).await;
    if let Err(e) = state.directory.change_password(&s.user, current, new).await {
        if let Err(c) = outbox::cancel(state, &held).await {
            tracing::error!(error = %c, "the notice of a refused password change could not be dropped");
        }
        return Err(e.into());
    }
    if let Err(e) = outbox::release(state, &held).await {
        tracing::warn!(error = %e, "the password-change notice waits for its hold to end");
    }
    session::mark_authenticated(state, &s.hash).await?;
    session::revoke_others(state, &s.user.id, &s.hash).await?;
    audit::record(state, audit_for(s, ip, PASSWORD_CHANGED)).await;
    Ok(())
}

/// Sets the user's three security questions, replacing any earlier set in
/// one transaction. Answers are folded (case, spacing, look-alikes) and kept
/// only as argon2id hashes.
pub async fn set_questions(
    state: &AppState,
    s: &Session,
    ip: &str,
    answers: &[QuestionAnswer],
) -> Result<SecurityInfoView, ApiError> {
    let looked = Looked::up(state, s).await?;
    let checked =
        check_answers(&state.config.policy.questions, answers).map_err(|(index, reason)| {
            tracing::debug!(index, reason, "security answers refused");
            index
        });
    let input = Input::SetQuestions {
        account: looked.account(s),
        answers: checked,
    };
    let (_, effects) = core::step(State::Idle, input, state.clock.now())?;
    let hashes = security_questions::hash_answers(state, answers).await?;
    replace_set(state, s, ip, effects, async |tx, method_id| {
        security_questions::set(tx, state, method_id, answers, &hashes).await
    })
    .await?;
    view(state, s).await
}

/// Whether the user may begin adding a passkey now: the rules of adding any
/// method (the portal offers it, the step-up rule, the kind's limit).
pub(crate) async fn may_add_passkey(
    state: &AppState,
    s: &Session,
    ip: &str,
) -> Result<(), ApiError> {
    let looked = Looked::up(state, s).await?;
    let input = Input::BeginPasskey {
        account: looked.account(s),
    };
    let (_, effects) = core::step(State::Idle, input, state.clock.now())?;
    for effect in effects {
        carry(state, s, ip, effect).await?;
    }
    Ok(())
}

/// Stores a passkey whose registration ceremony was verified, under the
/// name the user gave it, if the rules of adding a method hold now.
pub(crate) async fn add_passkey(
    state: &AppState,
    s: &Session,
    ip: &str,
    name: &str,
    made: &passkey::Registered,
) -> Result<SecurityInfoView, ApiError> {
    let now = state.clock.now();
    let looked = Looked::up(state, s).await?;
    let input = Input::AddPasskey {
        account: looked.account(s),
    };
    let (_, effects) = core::step(State::Idle, input, now)?;
    for effect in effects {
        match effect {
            Effect::StorePasskey { notice } => {
                let kind = MethodKind::Passkey;
                let mut tx = methods::begin_change(state, &s.user, !s.stepped_up(now)).await?;
                let method_id = methods::add(
                    &mut tx,
                    state,
                    &s.user,
                    NewMethod {
                        kind,
                        target: Some(name),
                        secret: None,
                        used_step: None,
                    },
                )
                .await?;
                let new = NewPasskey {
                    method_id: &method_id,
                    user_id: &s.user.id,
                    credential_id: &made.credential_id,
                    user_handle: &made.user_handle,
                    public_key: &made.public_key,
                    sign_count: 0,
                    name,
                    created_at: now,
                };
                if !state.store.insert_passkey(&mut tx, &new).await? {
                    // Dropping the change drops the method row with it.
                    return Err(ApiError::PasskeyTaken);
                }
                commit_with_notice(tx, state, &s.user, &notice).await?;
            }
            other => carry(state, s, ip, other).await?,
        }
    }
    view(state, &fresh(state, s)).await
}

/// Renames one of the user's passkeys (`name` already checked).
pub(crate) async fn rename_passkey(
    state: &AppState,
    s: &Session,
    ip: &str,
    method: &str,
    name: &str,
) -> Result<SecurityInfoView, ApiError> {
    let looked = Looked::up(state, s).await?;
    let input = Input::RenamePasskey {
        account: looked.account(s),
        method,
    };
    let (_, effects) = core::step(State::Idle, input, state.clock.now())?;
    for effect in effects {
        match effect {
            Effect::RenamePasskey { id } => {
                if !state.store.rename_passkey(&s.user.id, &id, name).await? {
                    // Removed meanwhile.
                    return Err(core::Refusal::NotYours.into());
                }
            }
            other => carry(state, s, ip, other).await?,
        }
    }
    view(state, s).await
}
