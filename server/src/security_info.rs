//! Combined security-info registration for the signed-in user: the view with
//! its interrupt, enrollment of each method kind (held server-side, bound to
//! the session), recovery codes, removal, the default method and password
//! change. Every change is audited and mailed to the user.

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
    self, CodePurpose, Enrolment, NewMethod, StoredMethod, authenticator as totp, gates,
    recovery_code, security_questions,
};
use crate::outbox;
use crate::secret::Secret;
use crate::session::{self, Session};

/// Enrolment codes (to addresses and numbers the user types) per session,
/// and per client, per 10 minutes.
pub const ENROLL_SENDS_PER_SESSION: u32 = 5;
pub const ENROLL_SENDS_PER_IP: u32 = 20;

/// Once a user has a method that can prove who they are, changing their
/// methods (adding one, replacing recovery codes or questions, removing one)
/// needs a proof of one in this session within 10 minutes, or a Temporary
/// Access Pass session. A password alone may only make the first
/// registration. Security questions alone count for nothing here, as at
/// reset: they prove nothing on their own.
pub fn require_stepup(
    state: &AppState,
    s: &Session,
    stored: &[StoredMethod],
) -> Result<(), ApiError> {
    let has_proof = stored
        .iter()
        .any(|m| sspr_proto::security_info::proves_stepup(m.kind));
    if !has_proof || s.stepped_up(state.clock.now()) {
        Ok(())
    } else {
        Err(ApiError::StepUpRequired)
    }
}

/// An enrollment must be confirmed within 10 minutes.
pub const ENROLLMENT_LIFETIME: i64 = 10 * 60;
/// Wrong codes an enrollment survives.
pub const ENROLLMENT_ATTEMPTS: i64 = 5;
pub use crate::methods::recovery_code::RECOVERY_CODES;

pub const REGISTERED: &str = "User registered security info";
pub const REGISTERED_ALL: &str = "User registered all required security info";
pub const DELETED: &str = "User deleted security info";
pub const CHANGED_DEFAULT: &str = "User changed default security info";
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
    let needed = usize::from(required).saturating_sub(have);
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

/// Audits a change to a method. Its mail went with the change (see
/// [`change_mail`]).
async fn changed(state: &AppState, s: &Session, ip: &str, activity: &str, kind: MethodKind) {
    audit::record(
        state,
        Event {
            method: Some(methods::kind_str(kind)),
            ..audit_for(s, ip, activity)
        },
    )
    .await;
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
    let kind = match &req {
        AddMethodRequest::Authenticator => MethodKind::Authenticator,
        AddMethodRequest::Email { .. } => MethodKind::Email,
        AddMethodRequest::Sms { .. } => MethodKind::Sms,
        AddMethodRequest::OfficePhone { .. } => MethodKind::OfficePhone,
    };
    if !methods::kind_available(state, kind) {
        return Err(ApiError::InvalidField {
            field: "kind".into(),
            reason: "not offered by this portal".into(),
        });
    }
    let stored = methods::for_user(state, Some(&s.user.id)).await?;
    require_stepup(state, s, &stored)?;
    let method = methods::of(kind);
    if stored.iter().filter(|m| m.kind == kind).count() >= method.limit() {
        return Err(ApiError::MethodLimit);
    }
    let target = match &req {
        AddMethodRequest::Authenticator => None,
        AddMethodRequest::Email { address: typed }
        | AddMethodRequest::Sms { phone: typed }
        | AddMethodRequest::OfficePhone { phone: typed } => Some(method.check_target(typed)?),
    };
    if let Some(t) = &target
        && stored.iter().any(|m| {
            m.kind == kind
                && m.target
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(t))
        })
    {
        return Err(ApiError::InvalidField {
            field: method.target_field().into(),
            reason: "already registered".into(),
        });
    }
    let now = state.clock.now();
    let id = state.entropy.hex_id(16);
    let id_hash = hash_id(&id);
    sqlx::query("DELETE FROM enrollments WHERE session_hash = $1 OR expires_at <= $2")
        .bind(&s.hash)
        .bind(now)
        .execute(state.store.pool())
        .await?;

    let (secret, code) = match method.enrolment() {
        Enrolment::Secret => (Some(totp::new_secret(state.entropy.as_ref())), None),
        Enrolment::CodeToTarget | Enrolment::Set => {
            // Codes to numbers and addresses the user typed: charged to the
            // session and the client as well as the account, so nobody can
            // turn enrolment into an SMS pump.
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
                target.as_deref().unwrap_or_default(),
            )
            .await?;
            (None, Some(numeric_code(state.entropy.as_ref())))
        }
    };
    let org = state.organisation();
    let lang = i18n::current();
    let expires_at = now + ENROLLMENT_LIFETIME;
    // The code's message goes in the enrolment's own transaction, and never
    // once the enrolment has expired.
    let message = match (&code, &target) {
        (Some(code), Some(to)) => method.code_message(
            CodePurpose::Enrol,
            to.clone(),
            lang,
            code.expose(),
            &org,
            "",
        ),
        _ => None,
    };
    let mut tx = state.store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO enrollments (id_hash, session_hash, user_id, kind, target, secret_sealed, code_hash, sent_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id_hash)
    .bind(&s.hash)
    .bind(&s.user.id)
    .bind(methods::kind_str(kind))
    .bind(&target)
    .bind(secret.as_ref().map(|x| state.keys.seal(x, state.entropy.as_ref())))
    .bind(code.as_ref().map(|c| state.keys.code_hash(&id_hash, c.expose())))
    .bind(code.as_ref().map(|_| now))
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    let mut batch = outbox::Batch::default();
    if let Some(msg) = &message {
        let item = outbox::Item::code(msg, Some(&s.user.username), expires_at);
        batch.add(&mut tx, state, item).await?;
    }
    tx.commit().await?;
    let _ = batch.committed(state).await;

    let shown = target.filter(|_| message.is_some());
    method
        .enrolment_shown(id, shown, secret.as_deref(), &org, &s.user.username)
        .ok_or_else(|| ApiError::internal("enrollment without its material"))
}

#[derive(sqlx::FromRow)]
struct Pending {
    kind: String,
    target: Option<String>,
    secret_sealed: Option<String>,
    code_hash: Option<String>,
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
    // The rule holds when the method is stored, not only when its enrolment
    // began: an enrolment started as a first registration cannot be
    // confirmed once the user has registered a method elsewhere.
    require_stepup(state, s, &methods::for_user(state, Some(&s.user.id)).await?)?;
    let p: Pending = sqlx::query_as(
        "SELECT kind, target, secret_sealed, code_hash FROM enrollments \
         WHERE id_hash = $1 AND session_hash = $2 AND expires_at > $3",
    )
    .bind(&hash)
    .bind(&s.hash)
    .bind(now)
    .fetch_optional(state.store.pool())
    .await?
    .ok_or(ApiError::EnrollmentExpired)?;
    let kind = methods::parse_kind(&p.kind).ok_or(ApiError::EnrollmentExpired)?;
    let code = methods::code::typed_code(code);
    let mut used_step = None;
    let mut secret = None;
    let ok = match methods::of(kind).enrolment() {
        Enrolment::Secret => {
            let sealed = p
                .secret_sealed
                .as_deref()
                .ok_or(ApiError::EnrollmentExpired)?;
            let plain = state.keys.open(sealed)?;
            used_step = totp::matching_step(&plain, &code, now);
            secret = Some(plain);
            used_step.is_some()
        }
        Enrolment::CodeToTarget | Enrolment::Set => {
            methods::code::matches_held(&state.keys, &hash, p.code_hash.as_deref(), &code)
        }
    };
    if !ok {
        let attempts: Option<i64> = sqlx::query_scalar(
            "UPDATE enrollments SET attempts = attempts + 1 WHERE id_hash = $1 RETURNING attempts",
        )
        .bind(&hash)
        .fetch_all(state.store.pool())
        .await?
        .into_iter()
        .next();
        if attempts.is_none_or(|a| a >= ENROLLMENT_ATTEMPTS) {
            delete_enrollment(state, &hash).await?;
        }
        return Err(ApiError::CodeInvalid);
    }
    // The one winner of concurrent confirmations is the one whose delete lands.
    if !delete_enrollment(state, &hash).await? {
        return Err(ApiError::EnrollmentExpired);
    }
    let before = usable_kinds(
        state,
        &s.user,
        &methods::for_user(state, Some(&s.user.id)).await?,
    );
    let mut tx = methods::begin_change(state, &s.user, !s.stepped_up(now)).await?;
    methods::add(
        &mut tx,
        state,
        &s.user,
        NewMethod {
            kind,
            target: p.target.as_deref(),
            secret: secret.as_deref(),
            used_step,
        },
    )
    .await?;
    let mut batch = outbox::Batch::default();
    let also = methods::of(kind)
        .notifies_target()
        .then_some(p.target.as_deref())
        .flatten();
    batch
        .add_all(
            &mut tx,
            state,
            change_mail(state, &s.user, methods::of(kind).added_key(), also),
        )
        .await?;
    tx.commit().await?;
    let _ = batch.committed(state).await;
    // Proving the new method is a fresh proof of a method the user now has:
    // the next one (an administrator's second, say) needs no other.
    session::mark_stepped_up(state, &s.hash).await?;
    registered(state, s, ip, kind, before).await?;
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

async fn delete_enrollment(state: &AppState, hash: &str) -> Result<bool, ApiError> {
    let done = sqlx::query("DELETE FROM enrollments WHERE id_hash = $1")
        .bind(hash)
        .execute(state.store.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Audit, and the "all required" milestone, after a method is stored.
async fn registered(
    state: &AppState,
    s: &Session,
    ip: &str,
    kind: MethodKind,
    kinds_before: usize,
) -> Result<(), ApiError> {
    changed(state, s, ip, REGISTERED, kind).await;
    let required = usize::from(required(state, &s.user));
    let after = usable_kinds(
        state,
        &s.user,
        &methods::for_user(state, Some(&s.user.id)).await?,
    );
    if kinds_before < required && after >= required {
        mark_reviewed(state, &s.user.id).await?;
        audit::record(state, audit_for(s, ip, REGISTERED_ALL)).await;
    }
    Ok(())
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
    s.require_recent(state.clock.now())?;
    let stored = methods::for_user(state, Some(&s.user.id)).await?;
    // Removing everything would reopen "first registration" to a password
    // alone: a removal needs the same proof as an addition.
    require_stepup(state, s, &stored)?;
    let m = stored
        .iter()
        .find(|m| m.id == method)
        .ok_or_else(|| ApiError::InvalidField {
            field: "method".into(),
            reason: "not one of your methods".into(),
        })?;
    let what = methods::of(m.kind).removed_key();
    let mut tx = state.store.pool().begin().await?;
    let done = sqlx::query("DELETE FROM auth_methods WHERE id = $1 AND user_id = $2")
        .bind(&m.id)
        .bind(&s.user.id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        // A concurrent removal won: it mailed and audited.
        return view(state, s).await;
    }
    if m.is_default {
        // The oldest remaining method inherits the default.
        sqlx::query(
            "UPDATE auth_methods SET is_default = 1 WHERE id = \
             (SELECT id FROM auth_methods WHERE user_id = $1 ORDER BY created_at, id LIMIT 1)",
        )
        .bind(&s.user.id)
        .execute(&mut *tx)
        .await?;
    }
    let mut batch = outbox::Batch::default();
    batch
        .add_all(&mut tx, state, change_mail(state, &s.user, what, None))
        .await?;
    tx.commit().await?;
    let _ = batch.committed(state).await;
    changed(state, s, ip, DELETED, m.kind).await;
    view(state, s).await
}

/// Makes a method the default.
pub async fn set_default(
    state: &AppState,
    s: &Session,
    ip: &str,
    method: &str,
) -> Result<SecurityInfoView, ApiError> {
    s.require_password()?;
    let stored = methods::for_user(state, Some(&s.user.id)).await?;
    let m = stored
        .iter()
        .find(|m| m.id == method && methods::of(m.kind).may_be_default())
        .ok_or_else(|| ApiError::InvalidField {
            field: "method".into(),
            reason: "not one of your methods".into(),
        })?;
    let mut tx = state.store.pool().begin().await?;
    sqlx::query(
        "UPDATE auth_methods SET is_default = CASE WHEN id = $1 THEN 1 ELSE 0 END WHERE user_id = $2",
    )
    .bind(&m.id)
    .bind(&s.user.id)
    .execute(&mut *tx)
    .await?;
    let mut batch = outbox::Batch::default();
    batch
        .add_all(
            &mut tx,
            state,
            change_mail(state, &s.user, crate::key!("change.default"), None),
        )
        .await?;
    tx.commit().await?;
    let _ = batch.committed(state).await;
    changed(state, s, ip, CHANGED_DEFAULT, m.kind).await;
    view(state, s).await
}

/// The user's set of `kind` (recovery codes, questions) that a new set would
/// replace. A first set needs no more than the session; replacing one needs a
/// recent password proof.
fn replaceable<'m>(
    state: &AppState,
    s: &Session,
    stored: &'m [StoredMethod],
    kind: MethodKind,
) -> Result<Vec<&'m StoredMethod>, ApiError> {
    let existing: Vec<&StoredMethod> = stored.iter().filter(|m| m.kind == kind).collect();
    if !existing.is_empty() {
        s.require_recent(state.clock.now())?;
    }
    require_stepup(state, s, stored)?;
    Ok(existing)
}

/// Opens a transaction that drops `existing` (their codes or answers go with
/// them, `ON DELETE CASCADE`) and stores a new method row of `kind` in their
/// place; the caller adds the new set and commits, so nothing is ever half
/// replaced.
async fn replace_method<'t>(
    state: &'t AppState,
    s: &Session,
    existing: &[&StoredMethod],
    method_id: &str,
    kind: MethodKind,
) -> Result<sqlx::Transaction<'t, sqlx::Any>, ApiError> {
    let user = &s.user;
    let mut tx = methods::begin_change(state, user, !s.stepped_up(state.clock.now())).await?;
    for m in existing {
        sqlx::query("DELETE FROM auth_methods WHERE id = $1")
            .bind(&m.id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO auth_methods (id, user_id, kind, is_default, created_at, confirmed_at) \
         VALUES ($1, $2, $3, 0, $4, $4)",
    )
    .bind(method_id)
    .bind(&user.id)
    .bind(methods::kind_str(kind))
    .bind(state.clock.now())
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

/// Creates ten recovery codes, replacing any earlier set in one transaction.
/// A first set may be made from a pass session; replacing one needs a recent
/// password proof.
pub async fn new_recovery_codes(
    state: &AppState,
    s: &Session,
    ip: &str,
) -> Result<RecoveryCodes, ApiError> {
    let kind = MethodKind::RecoveryCode;
    if !methods::kind_available(state, kind) {
        return Err(ApiError::InvalidField {
            field: "kind".into(),
            reason: "not offered by this portal".into(),
        });
    }
    let stored = methods::for_user(state, Some(&s.user.id)).await?;
    let existing = replaceable(state, s, &stored, kind)?;
    let before = usable_kinds(state, &s.user, &stored);
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| recovery_code::generate(state.entropy.as_ref()))
        .collect();
    let method_id = state.entropy.hex_id(16);
    let mut tx = replace_method(state, s, &existing, &method_id, kind).await?;
    recovery_code::store(&mut tx, &state.keys, &method_id, &codes).await?;
    let mut batch = outbox::Batch::default();
    let what = methods::of(kind).added_key();
    batch
        .add_all(&mut tx, state, change_mail(state, &s.user, what, None))
        .await?;
    tx.commit().await?;
    let _ = batch.committed(state).await;
    registered(state, s, ip, kind, before).await?;
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
    let kind = MethodKind::SecurityQuestions;
    if !allowed(state, &s.user, kind) {
        return Err(ApiError::InvalidField {
            field: "answers".into(),
            reason: "security questions are not offered to this account".into(),
        });
    }
    if let Err((i, reason)) = check_answers(&state.config.policy.questions, answers) {
        tracing::debug!(index = i, reason, "security answers refused");
        return Err(ApiError::AnswersInvalid { index: i });
    }
    let stored = methods::for_user(state, Some(&s.user.id)).await?;
    let existing = replaceable(state, s, &stored, kind)?;
    let hashes = security_questions::hash_answers(state, answers).await?;
    let before = usable_kinds(state, &s.user, &stored);
    let method_id = state.entropy.hex_id(16);
    let mut tx = replace_method(state, s, &existing, &method_id, kind).await?;
    security_questions::set(&mut tx, &method_id, answers, &hashes).await?;
    let mut batch = outbox::Batch::default();
    let what = methods::of(kind).added_key();
    batch
        .add_all(&mut tx, state, change_mail(state, &s.user, what, None))
        .await?;
    tx.commit().await?;
    let _ = batch.committed(state).await;
    registered(state, s, ip, kind, before).await?;
    view(state, s).await
}
