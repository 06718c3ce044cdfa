//! Portal sign-in. The session is a `__Host-` cookie (Secure, HttpOnly,
//! SameSite=Strict) carrying 256 random bits, of which only the SHA-256 is
//! stored; a fresh one is minted at every sign-in and any presented one is
//! dropped, so a planted cookie never becomes a session. Failed sign-ins lock
//! out progressively: 10 failures lock for 1 minute, each further 10 doubles it.

use std::sync::OnceLock;

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

/// Burns the same argon2 work as a real check, for names that match nobody.
pub async fn burn_argon2(password: &Secret) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = DUMMY.get_or_init(|| {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(b"sspr-dummy-salt!").expect("salt");
        crate::directory::builtin::argon2()
            .hash_password(b"dummy", &salt)
            .expect("hash")
            .to_string()
    });
    let _ = crate::directory::builtin::verify_hash(phc.clone(), password).await;
}

async fn locked_until(state: &AppState, user_id: &str) -> Result<Option<i64>, ApiError> {
    let until: Option<Option<i64>> =
        sqlx::query_scalar("SELECT locked_until FROM signin_throttle WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(state.store.pool())
            .await
            .map_err(ApiError::internal)?;
    Ok(until.flatten().filter(|t| *t > state.clock.now()))
}

async fn record_failure(state: &AppState, user_id: &str) -> Result<(), ApiError> {
    let now = state.clock.now();
    // One atomic statement: concurrent failures each see their own count.
    let failures: i64 = sqlx::query_scalar(
        "INSERT INTO signin_throttle (user_id, failures) VALUES ($1, 1) \
         ON CONFLICT (user_id) DO UPDATE SET failures = signin_throttle.failures + 1 RETURNING failures",
    )
    .bind(user_id)
    .fetch_one(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
    if failures % LOCK_EVERY == 0 {
        let lock = (FIRST_LOCK << (failures / LOCK_EVERY - 1).min(20)).min(MAX_LOCK);
        sqlx::query("UPDATE signin_throttle SET locked_until = $1 WHERE user_id = $2")
            .bind(now + lock)
            .bind(user_id)
            .execute(state.store.pool())
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(())
}

/// Checks the password and opens a new session. Returns the token to set.
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
    let Some(user) = state.directory.find_user(username).await? else {
        burn_argon2(password).await;
        return Err(ApiError::InvalidCredentials);
    };
    locked(state, &user.id).await?;
    let via = if !user.enabled {
        None
    } else if state.directory.verify_password(&user, password).await? {
        Some(SignedInWith::Password)
    } else if crate::tap::redeem(state, &user, password, ip).await? {
        Some(SignedInWith::TemporaryAccessPass)
    } else {
        None
    };
    let Some(via) = via else {
        record_failure(state, &user.id).await?;
        return Err(ApiError::InvalidCredentials);
    };
    sqlx::query("DELETE FROM signin_throttle WHERE user_id = $1")
        .bind(&user.id)
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
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT user_id, via, auth_at FROM sessions WHERE id_hash = $1 AND expires_at > $2",
    )
    .bind(&hash)
    .bind(state.clock.now())
    .fetch_optional(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
    let (user_id, via, auth_at) = row.ok_or(ApiError::SessionRequired)?;
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
    if !check_password(state, &session.user, password).await? {
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
    locked(state, &user.id).await?;
    let ok = state.directory.verify_password(user, password).await?;
    if !ok {
        record_failure(state, &user.id).await?;
    }
    Ok(ok)
}

pub async fn mark_authenticated(state: &AppState, session_hash: &str) -> Result<(), ApiError> {
    sqlx::query("UPDATE sessions SET auth_at = $1 WHERE id_hash = $2")
        .bind(state.clock.now())
        .bind(session_hash)
        .execute(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

pub async fn locked(state: &AppState, user_id: &str) -> Result<(), ApiError> {
    match locked_until(state, user_id).await? {
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
