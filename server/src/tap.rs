//! Temporary Access Passes: time-limited passes the helpdesk issues so a user
//! with no usable methods can sign in and register some. A pass session may
//! only register methods. Passes are stored as keyed hashes; issuing and every
//! use are audited.

use crate::AppState;
use crate::audit::{self, Event};
use crate::directory::DirUser;
use crate::error::ApiError;
use crate::secret::Secret;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 48;
pub const MIN_LIFETIME: i64 = 10 * 60;
pub const MAX_LIFETIME: i64 = 30 * 24 * 3600;
pub const DEFAULT_LIFETIME: i64 = 3600;

/// No look-alikes (0/O, 1/l/I): passes are read out over the phone.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

pub const ISSUED: &str = "Admin registered security info";
pub const USED: &str = "Sign in with Temporary Access Pass";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TapError {
    #[error("no user matches {0:?}")]
    UnknownUser(String),
    #[error("the pass length must be {MIN_LENGTH} to {MAX_LENGTH} characters")]
    Length,
    #[error("the lifetime must be 10 minutes to 30 days")]
    Lifetime,
    #[error("{0}")]
    Store(String),
}

/// Parses `90s`, `10m`, `1h`, `30d` (or bare seconds).
pub fn parse_lifetime(text: &str) -> Result<i64, TapError> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = num.parse().map_err(|_| TapError::Lifetime)?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(TapError::Lifetime),
    };
    if (MIN_LIFETIME..=MAX_LIFETIME).contains(&secs) {
        Ok(secs)
    } else {
        Err(TapError::Lifetime)
    }
}

fn pass_hash(state: &AppState, user_id: &str, pass: &str) -> String {
    state.keys.code_hash(&format!("tap:{user_id}"), pass)
}

/// Issues a pass for `username`. Returns the pass (shown once) and its expiry.
pub async fn issue(
    state: &AppState,
    username: &str,
    lifetime: i64,
    one_time: bool,
    length: usize,
) -> Result<(Secret, i64), TapError> {
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        return Err(TapError::Length);
    }
    if !(MIN_LIFETIME..=MAX_LIFETIME).contains(&lifetime) {
        return Err(TapError::Lifetime);
    }
    let user = state
        .directory
        .find_user(username)
        .await
        .map_err(|e| TapError::Store(e.to_string()))?
        .ok_or_else(|| TapError::UnknownUser(username.to_string()))?;
    let mut pass = String::with_capacity(length);
    while pass.len() < length {
        let mut b = [0u8; 1];
        state.entropy.fill(&mut b);
        // Rejection sampling keeps every character uniform.
        let limit = 256 - 256 % ALPHABET.len();
        if usize::from(b[0]) < limit {
            pass.push(char::from(ALPHABET[usize::from(b[0]) % ALPHABET.len()]));
        }
    }
    let now = state.clock.now();
    let expires = now + lifetime;
    sqlx::query(
        "INSERT INTO access_passes (id, user_id, pass_hash, one_time, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(state.entropy.hex_id(16))
    .bind(&user.id)
    .bind(pass_hash(state, &user.id, &pass))
    .bind(i64::from(one_time))
    .bind(now)
    .bind(expires)
    .execute(state.store.pool())
    .await
    .map_err(|e| TapError::Store(e.to_string()))?;
    audit::record(
        state,
        Event {
            activity: ISSUED,
            actor: "helpdesk (sspr tap issue)",
            target: Some(&user.username),
            method: Some("temporary_access_pass"),
            success: true,
            ip: "local",
            detail: Some(if one_time {
                "one-time pass"
            } else {
                "multi-use pass"
            }),
            ..Default::default()
        },
    )
    .await;
    Ok((Secret::new(pass), expires))
}

/// Whether `presented` is a live pass for `user`; a one-time pass is used up
/// atomically.
pub async fn redeem(
    state: &AppState,
    user: &DirUser,
    presented: &Secret,
    ip: &str,
) -> Result<bool, ApiError> {
    let text = presented.expose();
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&text.chars().count()) {
        return Ok(false);
    }
    let now = state.clock.now();
    let done = sqlx::query(
        "UPDATE access_passes SET used_at = $1 WHERE user_id = $2 AND pass_hash = $3 AND expires_at > $1 \
         AND (one_time = 0 OR used_at IS NULL)",
    )
    .bind(now)
    .bind(&user.id)
    .bind(pass_hash(state, &user.id, text))
    .execute(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
    let ok = done.rows_affected() >= 1;
    if ok {
        audit::record(
            state,
            Event {
                activity: USED,
                actor: &user.username,
                target: Some(&user.username),
                method: Some("temporary_access_pass"),
                success: true,
                ip,
                ..Default::default()
            },
        )
        .await;
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_within_bounds() {
        assert_eq!(parse_lifetime("1h"), Ok(3600));
        assert_eq!(parse_lifetime("10m"), Ok(600));
        assert_eq!(parse_lifetime("30d"), Ok(30 * 86400));
        assert_eq!(parse_lifetime("9m"), Err(TapError::Lifetime));
        assert_eq!(parse_lifetime("31d"), Err(TapError::Lifetime));
        assert_eq!(parse_lifetime("1w"), Err(TapError::Lifetime));
        assert_eq!(parse_lifetime("h"), Err(TapError::Lifetime));
    }
}
