//! Portal sign-in. The session is a `__Host-` cookie (Secure, HttpOnly,
//! SameSite=Strict) carrying 256 random bits, of which only the SHA-256 is
//! stored; a fresh one is minted at every sign-in and any presented one is
//! dropped, so a planted cookie never becomes a session. Failed sign-ins lock
//! out progressively, per name as typed (known or not): 10 failures lock it
//! for 1 minute, each further 10 doubles it.

use axum::http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};
use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::SignedInWith;
use sspr_proto::session::SessionView;

use crate::AppState;
use crate::directory::DirUser;
use crate::error::ApiError;
use crate::ports::{LiveSession, NewSession, SessionStore, SignInLockStore, Stamp};
use crate::secret::Secret;

pub const COOKIE: &str = "__Host-sspr_session";
/// A session lasts 8 hours.
pub const LIFETIME: i64 = 8 * 3600;
pub const LOCK_EVERY: i64 = 10;
pub const FIRST_LOCK: i64 = 60;
pub const MAX_LOCK: i64 = 24 * 3600;
/// Removing a method or regenerating codes needs a password proof this recent.
pub const RECENT_AUTH: i64 = 10 * 60;

/// A live session and its user.
pub struct Session {
    pub hash: String,
    pub user: DirUser,
    pub via: SignedInWith,
    /// When the password (or pass) was last proved in this session.
    pub auth_at: i64,
    /// When this session last proved a method the user already had (step-up).
    pub mfa_at: i64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user.username)
            .field("via", &self.via)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub fn recently_authenticated(&self, now: i64) -> bool {
        matches!(self.via, SignedInWith::Password | SignedInWith::Passkey)
            && now - self.auth_at <= RECENT_AUTH
    }

    /// Refuses sessions opened with a Temporary Access Pass.
    pub fn require_password(&self) -> Result<(), ApiError> {
        match self.via {
            // A passkey proves more than a password: the user and a method.
            SignedInWith::Password | SignedInWith::Passkey => Ok(()),
            SignedInWith::TemporaryAccessPass => Err(ApiError::PassRestricted),
        }
    }

    /// Refuses unless the password was proved within [`RECENT_AUTH`].
    pub fn require_recent(&self, now: i64) -> Result<(), ApiError> {
        self.require_password()?;
        if self.recently_authenticated(now) {
            Ok(())
        } else {
            Err(ApiError::ReauthRequired)
        }
    }

    /// Whether this session may change the user's methods without another
    /// proof: it proved an existing method within [`RECENT_AUTH`], or it was
    /// opened with a Temporary Access Pass (the helpdesk's proof).
    pub fn stepped_up(&self, now: i64) -> bool {
        self.via == SignedInWith::TemporaryAccessPass || now - self.mfa_at <= RECENT_AUTH
    }
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The value of cookie `name` in the request's `Cookie` headers, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| sspr_proto::cookie(v, name))
}

/// The session token in the request's cookies, if any.
pub fn token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE).map(str::to_string)
}

pub fn set_cookie(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={LIFETIME}"
    ))
    .expect("hex token is a valid header")
}

pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
    ))
    .expect("valid")
}

async fn locked_until(state: &AppState, key: &str) -> Result<Option<i64>, ApiError> {
    let until = state.store.sign_in_locked_until(key).await?;
    Ok(until.filter(|t| *t > state.clock.now()))
}

/// Counts a wrong password against `key`: the name as typed at sign-in
/// (for real and unknown names alike), or the account for a signed-in
/// re-entry.
async fn record_failure(state: &AppState, key: &str) -> Result<(), ApiError> {
    let now = state.clock.now();
    // One atomic statement: the check's reservation becomes a failure, and
    // the tenth of a round locks the key at once (for the shortest lock; its
    // full length follows), so no reservation slips in between.
    let failures = state
        .store
        .fail_sign_in_check(key, LOCK_EVERY, now + FIRST_LOCK)
        .await?
        .ok_or_else(|| ApiError::broken("RETURNING gave no row"))?;
    if failures % LOCK_EVERY == 0 {
        let lock = (FIRST_LOCK << (failures / LOCK_EVERY - 1).min(20)).min(MAX_LOCK);
        state.store.lock_sign_in(key, now + lock).await?;
    }
    Ok(())
}

/// Reserves one password check for `key`, atomically: refused (as a lock)
/// while the key is locked, or while the failures of this round of ten plus
/// the checks in flight already make ten. A reservation older than a
/// minute (a node that died mid-check) no longer counts.
async fn reserve_check(state: &AppState, key: &str) -> Result<(), ApiError> {
    let now = state.clock.now();
    let stale = now - 60;
    if state
        .store
        .reserve_sign_in_check(key, LOCK_EVERY, stale, now)
        .await?
    {
        return Ok(());
    }
    // Locked, or ten checks of this name already in flight: the first is a
    // lock, the second only a crowd (right passwords too), so "busy".
    match locked_until(state, key).await? {
        Some(until) => Err(ApiError::SignInLocked {
            retry_after: (until - now).max(1) as u64,
        }),
        None => Err(ApiError::ServerBusy { retry_after: 1 }),
    }
}

/// Ends a reserved check: a wrong answer counts as a failure (and may lock
/// the key), a right one clears the key, an error gives the slot back.
async fn settle_check<T>(
    state: &AppState,
    key: &str,
    checked: Result<Option<T>, ApiError>,
) -> Result<Option<T>, ApiError> {
    match checked {
        Err(e) => {
            let _ = state.store.release_sign_in_check(key).await;
            Err(e)
        }
        Ok(None) => {
            record_failure(state, key).await?;
            Ok(None)
        }
        Ok(Some(v)) => {
            // The round starts again, but checks still in flight keep their
            // slots: forgetting them would let a burst that holds the right
            // password past the ten-check bound.
            state.store.pass_sign_in_check(key).await?;
            Ok(Some(v))
        }
    }
}

/// The sign-in lockout's key for a name as typed: the same function of the
/// text whether or not it names an account, so locking out `bob` says
/// nothing about `bob@example.com`, as with names that belong to nobody.
fn signin_key(state: &AppState, username: &str) -> String {
    crate::methods::throttle::typed_subject(state, username)
}

/// The lockout key of a signed-in user's own re-entries.
fn account_key(user: &DirUser) -> String {
    crate::methods::throttle::account_subject(&user.id)
}

/// Checks the password and opens a new session. Returns the token to set.
///
/// A wrong password, an unknown name and a disabled account get one answer
/// (`401`), after the same work (one argon2 in the built-in directory) and
/// the same pace; ten of them for one name lock that name for a minute, known
/// or not.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &Secret,
    presented: Option<&str>,
    ip: &str,
) -> Result<(String, SessionView), ApiError> {
    // Whatever happens, a presented session id is never kept (rotation).
    if let Some(old) = presented {
        state.store.delete_session(&hash(old)).await?;
    }
    let key = signin_key(state, username);
    locked(state, &key).await?;
    let started = tokio::time::Instant::now();
    // A slot is reserved before the password is checked: however many
    // guesses come at once, no more than the lock allows are checked.
    reserve_check(state, &key).await?;
    let checked = check_sign_in(state, username, password, ip).await;
    let Some((user, via, epoch, pass)) = settle_check(state, &key, checked).await? else {
        state.paces.sign_in.wait(started).await;
        return Err(ApiError::InvalidCredentials);
    };
    let token = state.entropy.hex_id(32);
    let now = state.clock.now();
    // A pass session lives no longer than its pass.
    let expires = pass
        .as_ref()
        .map_or(now + LIFETIME, |p| p.expires_at.min(now + LIFETIME));
    state
        .store
        .insert_session(&NewSession {
            hash: &hash(&token),
            user_id: &user.id,
            created: now,
            expires,
            via,
            epoch,
            pass_id: pass.as_ref().map(|p| p.id.as_str()),
        })
        .await?;
    Ok((token, view(&user)))
}

/// The user and how they proved it, or `None` for any wrong answer. The
/// same work either way: an unknown or disabled name costs what a real
/// check costs.
async fn check_sign_in(
    state: &AppState,
    username: &str,
    password: &Secret,
    ip: &str,
) -> Result<Option<(DirUser, SignedInWith, i64, Option<crate::tap::LivePass>)>, ApiError> {
    let Some(user) = state
        .directory
        .find_user(username)
        .await?
        .filter(|u| u.enabled)
    else {
        epoch_of(state, "-").await?;
        state.directory.burn(password).await?;
        crate::tap::burn(state, password).await?;
        return Ok(None);
    };
    // Read before the password is checked: a reset that runs meanwhile
    // moves it, and the session made with the old password is born dead.
    let epoch = epoch_of(state, &user.id).await?;
    if state.directory.verify_password(&user, password).await? {
        return Ok(Some((user, SignedInWith::Password, epoch, None)));
    }
    if let Some(pass) = crate::tap::redeem(state, &user, password, ip).await? {
        return Ok(Some((
            user,
            SignedInWith::TemporaryAccessPass,
            epoch,
            Some(pass),
        )));
    }
    Ok(None)
}

/// The user's session epoch (0 until a reset or change moves it).
async fn epoch_of(state: &AppState, user_id: &str) -> Result<i64, ApiError> {
    Ok(state.store.session_epoch(user_id).await?)
}

/// Moves the user's epoch on: every session of an older one is dead.
async fn bump_epoch(state: &AppState, user_id: &str) -> Result<i64, ApiError> {
    state
        .store
        .bump_session_epoch(user_id)
        .await?
        .ok_or_else(|| ApiError::broken("RETURNING gave no row"))
}

fn view(user: &DirUser) -> SessionView {
    SessionView {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        is_admin: user.is_admin,
        proven: Vec::new(),
    }
}

/// The signed-in user, with what this session has proved, or `SessionRequired`.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<SessionView, ApiError> {
    let s = require(state, headers).await?;
    Ok(SessionView {
        proven: proven_kinds(state, &s.hash).await?,
        ..view(&s.user)
    })
}

/// The live session, or `SessionRequired`.
pub async fn require(state: &AppState, headers: &HeaderMap) -> Result<Session, ApiError> {
    let token = token(headers).ok_or(ApiError::SessionRequired)?;
    let hash = hash(&token);
    let LiveSession {
        user_id,
        via,
        auth_at,
        mfa_at,
    } = state
        .store
        .live_session(&hash, state.clock.now())
        .await?
        .ok_or(ApiError::SessionRequired)?;
    let user = state
        .directory
        .user_by_id(&user_id)
        .await?
        .filter(|u| u.enabled)
        .ok_or(ApiError::SessionRequired)?;
    Ok(Session {
        hash,
        user,
        via,
        auth_at,
        mfa_at,
    })
}

/// Proves the password again inside a session (for removals and the like).
/// Wrong answers count towards the same lockout as sign-in.
pub async fn reauthenticate(
    state: &AppState,
    session: &Session,
    password: &Secret,
) -> Result<(), ApiError> {
    session.require_password()?;
    let started = tokio::time::Instant::now();
    if !check_password(state, &session.user, password).await? {
        state.paces.sign_in.wait(started).await;
        return Err(ApiError::InvalidCredentials);
    }
    mark_authenticated(state, &session.hash).await
}

/// Checks a signed-in user's password (re-entry, change of password) under
/// the sign-in lockout: refused while locked, and a wrong one counts.
pub async fn check_password(
    state: &AppState,
    user: &DirUser,
    password: &Secret,
) -> Result<bool, ApiError> {
    let key = account_key(user);
    reserve_check(state, &key).await?;
    let checked = state
        .directory
        .verify_password(user, password)
        .await
        .map(|ok| ok.then_some(()))
        .map_err(ApiError::from);
    Ok(settle_check(state, &key, checked).await?.is_some())
}

/// Notes that this session just proved a method the user already had.
pub async fn mark_stepped_up(state: &AppState, session_hash: &str) -> Result<(), ApiError> {
    mark(state, session_hash, Stamp::Mfa).await
}

/// Notes that this session just proved, with a step-up, a method of `kind`
/// the user already had: it is stepped up, and the kind counts towards the
/// two different ones Usage & insights needs. Security questions prove
/// nothing on their own and are never recorded.
pub async fn mark_proved(
    state: &AppState,
    session_hash: &str,
    kind: MethodKind,
) -> Result<(), ApiError> {
    mark_stepped_up(state, session_hash).await?;
    if kind == MethodKind::SecurityQuestions {
        return Ok(());
    }
    state
        .store
        .record_session_proof(
            session_hash,
            crate::methods::kind_str(kind),
            state.clock.now(),
        )
        .await?;
    Ok(())
}

/// The kinds this session proved with a step-up within [`RECENT_AUTH`],
/// most recent first, each once.
pub async fn proven_kinds(
    state: &AppState,
    session_hash: &str,
) -> Result<Vec<MethodKind>, ApiError> {
    let kinds = state
        .store
        .session_proofs_since(session_hash, state.clock.now() - RECENT_AUTH)
        .await?;
    Ok(kinds
        .iter()
        .filter_map(|k| crate::methods::parse_kind(k))
        .filter(|k| *k != MethodKind::SecurityQuestions)
        .collect())
}

/// Notes that this session just proved the password again.
pub async fn mark_authenticated(state: &AppState, session_hash: &str) -> Result<(), ApiError> {
    mark(state, session_hash, Stamp::Auth).await
}

/// Stamps one of the session's proof times with now.
async fn mark(state: &AppState, session_hash: &str, stamp: Stamp) -> Result<(), ApiError> {
    Ok(state
        .store
        .stamp_session(session_hash, stamp, state.clock.now())
        .await?)
}

pub async fn locked(state: &AppState, key: &str) -> Result<(), ApiError> {
    match locked_until(state, key).await? {
        Some(until) => Err(ApiError::SignInLocked {
            retry_after: (until - state.clock.now()).max(1) as u64,
        }),
        None => Ok(()),
    }
}

pub async fn sign_out(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(t) = token(headers) {
        state.store.delete_session(&hash(&t)).await?;
    }
    Ok(())
}

/// Ends every session of a user (after a password reset).
pub async fn revoke_all(state: &AppState, user_id: &str) -> Result<u64, ApiError> {
    revoke_others(state, user_id, "-").await
}

/// Ends every session of a user except `keep_hash` (after a password
/// change): the user's epoch moves on, so even a session being made right
/// now with the old password is dead, and the kept one moves with it.
/// Returns how many live sessions ended.
pub async fn revoke_others(
    state: &AppState,
    user_id: &str,
    keep_hash: &str,
) -> Result<u64, ApiError> {
    let epoch = bump_epoch(state, user_id).await?;
    Ok(state
        .store
        .end_sessions_but(user_id, keep_hash, epoch, state.clock.now())
        .await?)
}
