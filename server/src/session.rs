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
        self.via == SignedInWith::Password && now - self.auth_at <= RECENT_AUTH
    }

    /// Refuses sessions opened with a Temporary Access Pass.
    pub fn require_password(&self) -> Result<(), ApiError> {
        match self.via {
            SignedInWith::Password => Ok(()),
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
    let until: Option<Option<i64>> =
        sqlx::query_scalar("SELECT locked_until FROM signin_throttle WHERE user_id = $1")
            .bind(key)
            .fetch_optional(state.store.pool())
            .await?;
    Ok(until.flatten().filter(|t| *t > state.clock.now()))
}

/// Counts a wrong password against `key`: the name as typed at sign-in
/// (for real and unknown names alike), or the account for a signed-in
/// re-entry.
async fn record_failure(state: &AppState, key: &str) -> Result<(), ApiError> {
    let now = state.clock.now();
    // One atomic statement: the check's reservation becomes a failure, and
    // the tenth of a round locks the key at once (for the shortest lock; its
    // full length follows), so no reservation slips in between.
    let failures: i64 = sqlx::query_scalar(
        "INSERT INTO signin_throttle (user_id, failures) VALUES ($1, 1) \
         ON CONFLICT (user_id) DO UPDATE SET failures = signin_throttle.failures + 1, \
           pending = CASE WHEN signin_throttle.pending > 0 THEN signin_throttle.pending - 1 ELSE 0 END, \
           locked_until = CASE WHEN (signin_throttle.failures + 1) % 10 = 0 THEN $2 \
                               ELSE signin_throttle.locked_until END \
         RETURNING failures",
    )
    .bind(key)
    .bind(now + FIRST_LOCK)
    .fetch_all(state.store.pool())
    .await?
    .into_iter()
    .next()
    .ok_or_else(|| ApiError::broken("RETURNING gave no row"))?;
    if failures % LOCK_EVERY == 0 {
        let lock = (FIRST_LOCK << (failures / LOCK_EVERY - 1).min(20)).min(MAX_LOCK);
        sqlx::query("UPDATE signin_throttle SET locked_until = $1 WHERE user_id = $2")
            .bind(now + lock)
            .bind(key)
            .execute(state.store.pool())
            .await?;
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
    let reserved: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO signin_throttle (user_id, failures, pending, pending_at) VALUES ($1, 0, 1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET \
           pending = CASE WHEN signin_throttle.pending_at <= $3 THEN 1 ELSE signin_throttle.pending + 1 END, \
           pending_at = $2 \
         WHERE (signin_throttle.locked_until IS NULL OR signin_throttle.locked_until <= $2) \
           AND (signin_throttle.failures % 10) \
               + CASE WHEN signin_throttle.pending_at <= $3 THEN 0 ELSE signin_throttle.pending END < 10 \
         RETURNING pending",
    )
    .bind(key)
    .bind(now)
    .bind(stale)
    .fetch_all(state.store.pool())
    .await?;
    if !reserved.is_empty() {
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
    let release = || async {
        sqlx::query(
            "UPDATE signin_throttle SET pending = pending - 1 WHERE user_id = $1 AND pending > 0",
        )
        .bind(key)
        .execute(state.store.pool())
        .await
        .map_err(ApiError::from)
    };
    match checked {
        Err(e) => {
            let _ = release().await;
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
            sqlx::query(
                "UPDATE signin_throttle SET failures = 0, locked_until = NULL, \
                   pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END \
                 WHERE user_id = $1",
            )
            .bind(key)
            .execute(state.store.pool())
            .await?;
            sqlx::query(
                "DELETE FROM signin_throttle WHERE user_id = $1 AND pending = 0 AND failures = 0",
            )
            .bind(key)
            .execute(state.store.pool())
            .await?;
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
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(hash(old))
            .execute(state.store.pool())
            .await?;
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
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, auth_at, via, epoch, pass_id) \
         VALUES ($1, $2, $3, $4, $3, $5, $6, $7)",
    )
    .bind(hash(&token))
    .bind(&user.id)
    .bind(now)
    .bind(expires)
    .bind(via_str(via))
    .bind(epoch)
    .bind(pass.map(|p| p.id))
    .execute(state.store.pool())
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
    let e: Option<i64> = sqlx::query_scalar("SELECT epoch FROM session_epochs WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(state.store.pool())
        .await?;
    Ok(e.unwrap_or(0))
}

/// Moves the user's epoch on: every session of an older one is dead.
async fn bump_epoch(state: &AppState, user_id: &str) -> Result<i64, ApiError> {
    sqlx::query_scalar(
        "INSERT INTO session_epochs (user_id, epoch) VALUES ($1, 1) \
         ON CONFLICT (user_id) DO UPDATE SET epoch = session_epochs.epoch + 1 RETURNING epoch",
    )
    .bind(user_id)
    .fetch_all(state.store.pool())
    .await?
    .into_iter()
    .next()
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

fn via_str(via: SignedInWith) -> &'static str {
    match via {
        SignedInWith::Password => "password",
        SignedInWith::TemporaryAccessPass => "tap",
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
    let row: Option<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT s.user_id, s.via, s.auth_at, s.mfa_at FROM sessions s \
         LEFT JOIN session_epochs e ON e.user_id = s.user_id \
         LEFT JOIN access_passes p ON p.id = s.pass_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.epoch = COALESCE(e.epoch, 0) \
           AND (s.pass_id IS NULL OR (p.revoked_at IS NULL AND p.expires_at > $2))",
    )
    .bind(&hash)
    .bind(state.clock.now())
    .fetch_optional(state.store.pool())
    .await?;
    let (user_id, via, auth_at, mfa_at) = row.ok_or(ApiError::SessionRequired)?;
    let user = state
        .directory
        .user_by_id(&user_id)
        .await?
        .filter(|u| u.enabled)
        .ok_or(ApiError::SessionRequired)?;
    let via = if via == "tap" {
        SignedInWith::TemporaryAccessPass
    } else {
        SignedInWith::Password
    };
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
    mark(state, session_hash, "mfa_at").await
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
    sqlx::query(
        "INSERT INTO session_proofs (session_hash, kind, at) VALUES ($1, $2, $3) \
         ON CONFLICT (session_hash, kind) DO UPDATE SET at = excluded.at",
    )
    .bind(session_hash)
    .bind(crate::methods::kind_str(kind))
    .bind(state.clock.now())
    .execute(state.store.pool())
    .await?;
    Ok(())
}

/// The kinds this session proved with a step-up within [`RECENT_AUTH`],
/// most recent first, each once.
pub async fn proven_kinds(
    state: &AppState,
    session_hash: &str,
) -> Result<Vec<MethodKind>, ApiError> {
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM session_proofs WHERE session_hash = $1 AND at >= $2 \
         ORDER BY at DESC, kind",
    )
    .bind(session_hash)
    .bind(state.clock.now() - RECENT_AUTH)
    .fetch_all(state.store.pool())
    .await?;
    Ok(kinds
        .iter()
        .filter_map(|k| crate::methods::parse_kind(k))
        .filter(|k| *k != MethodKind::SecurityQuestions)
        .collect())
}

/// Notes that this session just proved the password again.
pub async fn mark_authenticated(state: &AppState, session_hash: &str) -> Result<(), ApiError> {
    mark(state, session_hash, "auth_at").await
}

/// Stamps one of the session's proof times (a column name, never input).
async fn mark(state: &AppState, session_hash: &str, column: &'static str) -> Result<(), ApiError> {
    sqlx::query(&format!(
        "UPDATE sessions SET {column} = $1 WHERE id_hash = $2"
    ))
    .bind(state.clock.now())
    .bind(session_hash)
    .execute(state.store.pool())
    .await?;
    Ok(())
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
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(hash(&t))
            .execute(state.store.pool())
            .await?;
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
    sqlx::query("UPDATE sessions SET epoch = $1 WHERE id_hash = $2 AND user_id = $3")
        .bind(epoch)
        .bind(keep_hash)
        .bind(user_id)
        .execute(state.store.pool())
        .await?;
    let done = sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2 AND expires_at > $3",
    )
    .bind(user_id)
    .bind(keep_hash)
    .bind(state.clock.now())
    .execute(state.store.pool())
    .await?;
    // Expired ones go too, uncounted.
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user_id)
        .bind(keep_hash)
        .execute(state.store.pool())
        .await?;
    Ok(done.rows_affected())
}
