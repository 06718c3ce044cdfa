//! Portal sign-in. The session is a `__Host-` cookie (Secure, HttpOnly,
//! SameSite=Strict) carrying 256 random bits, of which only the SHA-256 is
//! stored; a fresh one is minted at every sign-in and any presented one is
//! dropped, so a planted cookie never becomes a session. Failed sign-ins lock
//! out progressively: 10 failures lock for 1 minute, each further 10 doubles it.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};
use sspr_proto::session::SessionView;

use crate::AppState;
use crate::directory::{DirUser, DirectoryError};
use crate::error::ApiError;
use crate::secret::Secret;

pub const COOKIE: &str = "__Host-sspr_session";
/// A session lasts 8 hours.
pub const LIFETIME: i64 = 8 * 3600;
pub const LOCK_EVERY: i64 = 10;
pub const FIRST_LOCK: i64 = 60;
pub const MAX_LOCK: i64 = 24 * 3600;

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn unavailable(e: DirectoryError) -> ApiError {
    ApiError::Unavailable(e.to_string())
}

/// The session token in the request's cookies, if any.
pub fn token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(COOKIE)?
                .strip_prefix('=')
                .map(str::to_string)
        })
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
async fn dummy_verify(password: &Secret) {
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
) -> Result<(String, SessionView), ApiError> {
    // Whatever happens, a presented session id is never kept (rotation).
    if let Some(old) = presented {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(hash(old))
            .execute(state.store.pool())
            .await
            .map_err(ApiError::internal)?;
    }
    let Some(user) = state
        .directory
        .find_user(username)
        .await
        .map_err(unavailable)?
    else {
        dummy_verify(password).await;
        return Err(ApiError::InvalidCredentials);
    };
    if let Some(until) = locked_until(state, &user.id).await? {
        return Err(ApiError::SignInLocked {
            retry_after: (until - state.clock.now()).max(1) as u64,
        });
    }
    if !user.enabled
        || !state
            .directory
            .verify_password(&user, password)
            .await
            .map_err(unavailable)?
    {
        record_failure(state, &user.id).await?;
        return Err(ApiError::InvalidCredentials);
    }
    sqlx::query("DELETE FROM signin_throttle WHERE user_id = $1")
        .bind(&user.id)
        .execute(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
    let token = state.entropy.hex_id(32);
    let now = state.clock.now();
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(hash(&token))
    .bind(&user.id)
    .bind(now)
    .bind(now + LIFETIME)
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

/// The signed-in user, or `SessionRequired`.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<SessionView, ApiError> {
    let token = token(headers).ok_or(ApiError::SessionRequired)?;
    let user_id: Option<String> =
        sqlx::query_scalar("SELECT user_id FROM sessions WHERE id_hash = $1 AND expires_at > $2")
            .bind(hash(&token))
            .bind(state.clock.now())
            .fetch_optional(state.store.pool())
            .await
            .map_err(ApiError::internal)?;
    let user_id = user_id.ok_or(ApiError::SessionRequired)?;
    let user = state
        .directory
        .user_by_id(&user_id)
        .await
        .map_err(unavailable)?
        .ok_or(ApiError::SessionRequired)?;
    Ok(view(&user))
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
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
    Ok(done.rows_affected())
}
