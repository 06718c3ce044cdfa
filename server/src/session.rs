//! Portal sign-in. The session is a `__Host-` cookie (Secure, HttpOnly,
//! SameSite=Strict) carrying 256 random bits, of which only the SHA-256 is
//! stored; a fresh one is minted at every sign-in and any presented one is
//! dropped, so a planted cookie never becomes a session. Failed sign-ins lock
//! out progressively, per name as typed (known or not): 10 failures lock it
//! for 1 minute, each further 10 doubles it.

use axum::http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};
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
            .await
            .map_err(ApiError::internal)?;
    Ok(until.flatten().filter(|t| *t > state.clock.now()))
}

/// Counts a wrong password against `key`: the name as typed at sign-in
/// (for real and unknown names alike), or the account for a signed-in
/// re-entry.
async fn record_failure(state: &AppState, key: &str) -> Result<(), ApiError> {
    let now = state.clock.now();
    // One atomic statement: concurrent failures each see their own count.
    let failures: i64 = sqlx::query_scalar(
        "INSERT INTO signin_throttle (user_id, failures) VALUES ($1, 1) \
         ON CONFLICT (user_id) DO UPDATE SET failures = signin_throttle.failures + 1 RETURNING failures",
    )
    .bind(key)
    .fetch_all(state.store.pool())
    .await
    .map_err(ApiError::internal)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("RETURNING gave no row"))?;
    if failures % LOCK_EVERY == 0 {
        let lock = (FIRST_LOCK << (failures / LOCK_EVERY - 1).min(20)).min(MAX_LOCK);
        sqlx::query("UPDATE signin_throttle SET locked_until = $1 WHERE user_id = $2")
            .bind(now + lock)
            .bind(key)
            .execute(state.store.pool())
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(())
}

/// The sign-in lockout's key for a name as typed: the same function of the
/// text whether or not it names an account, so locking out `bob` says
/// nothing about `bob@example.com`, as with names that belong to nobody.
fn signin_key(state: &AppState, username: &str) -> String {
    crate::reset::throttle::typed_subject(state, username)
}

/// The lockout key of a signed-in user's own re-entries.
fn account_key(user: &DirUser) -> String {
    crate::reset::throttle::account_subject(&user.id)
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
            .await
            .map_err(ApiError::internal)?;
    }
    let key = signin_key(state, username);
    locked(state, &key).await?;
    let started = tokio::time::Instant::now();
    let Some((user, via)) = check_sign_in(state, username, password, ip).await? else {
        record_failure(state, &key).await?;
        state.paces.sign_in.wait(started).await;
        return Err(ApiError::InvalidCredentials);
    };
    sqlx::query("DELETE FROM signin_throttle WHERE user_id = $1")
        .bind(&key)
        .execute(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
    let token = state.entropy.hex_id(32);
    let now = state.clock.now();
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, auth_at, via) VALUES ($1, $2, $3, $4, $3, $5)",
    )
    .bind(hash(&token))
    .bind(&user.id)
    .bind(now)
    .bind(now + LIFETIME)
    .bind(via_str(via))
    .execute(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
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
) -> Result<Option<(DirUser, SignedInWith)>, ApiError> {
    let Some(user) = state
        .directory
        .find_user(username)
        .await?
        .filter(|u| u.enabled)
    else {
        state.directory.burn(password).await?;
        crate::tap::burn(state, password).await?;
        return Ok(None);
    };
    if state.directory.verify_password(&user, password).await? {
        return Ok(Some((user, SignedInWith::Password)));
    }
    if crate::tap::redeem(state, &user, password, ip).await? {
        return Ok(Some((user, SignedInWith::TemporaryAccessPass)));
    }
    Ok(None)
}

fn view(user: &DirUser) -> SessionView {
    SessionView {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
    }
}

fn via_str(via: SignedInWith) -> &'static str {
    match via {
        SignedInWith::Password => "password",
        SignedInWith::TemporaryAccessPass => "tap",
    }
}

/// The signed-in user, or `SessionRequired`.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<SessionView, ApiError> {
    require(state, headers).await.map(|s| view(&s.user))
}

/// The live session, or `SessionRequired`.
pub async fn require(state: &AppState, headers: &HeaderMap) -> Result<Session, ApiError> {
    let token = token(headers).ok_or(ApiError::SessionRequired)?;
    let hash = hash(&token);
    let row: Option<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT user_id, via, auth_at, mfa_at FROM sessions WHERE id_hash = $1 AND expires_at > $2",
    )
    .bind(&hash)
    .bind(state.clock.now())
    .fetch_optional(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
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
    locked(state, &key).await?;
    let ok = state.directory.verify_password(user, password).await?;
    if !ok {
        record_failure(state, &key).await?;
    }
    Ok(ok)
}

/// Notes that this session just proved a method the user already had.
pub async fn mark_stepped_up(state: &AppState, session_hash: &str) -> Result<(), ApiError> {
    mark(state, session_hash, "mfa_at").await
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
    .await
    .map_err(ApiError::internal)?;
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
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(())
}

/// Ends every session of a user (after a password reset).
pub async fn revoke_all(state: &AppState, user_id: &str) -> Result<u64, ApiError> {
    revoke_others(state, user_id, "-").await
}

/// Ends every session of a user except `keep_hash` (after a password change).
pub async fn revoke_others(
    state: &AppState,
    user_id: &str,
    keep_hash: &str,
) -> Result<u64, ApiError> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user_id)
        .bind(keep_hash)
        .execute(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
    Ok(done.rows_affected())
}
