//! Temporary Access Passes: time-limited passes the helpdesk issues so a user
//! with no usable methods can sign in and register some. A pass session may
//! only register methods. Passes are stored as keyed hashes. A user holds at
//! most one live pass: issuing one voids the older ones. Issuing, every use
//! and every revocation are audited with the operator (`--by`), and the user
//! is mailed when one is issued.

use crate::AppState;
use crate::audit::{self, Event};
use crate::delivery::Outgoing;
use crate::directory::{DirUser, DirectoryError};
use crate::error::ApiError;
use crate::outbox;
use crate::ports::{ChangeStore, NewPass, PassRow, RedeemedPass, TapStore};
use crate::secret::Secret;
use crate::store::StoreError;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 48;
pub const MIN_LIFETIME: i64 = 10 * 60;
pub const MAX_LIFETIME: i64 = 30 * 24 * 3600;
pub const DEFAULT_LIFETIME: i64 = 3600;

/// No look-alikes (0/O, 1/l/I): passes are read out over the phone.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

pub const ISSUED: &str = "Admin registered security info";
pub const USED: &str = "Sign in with Temporary Access Pass";
pub const REVOKED: &str = "Admin deleted security info";

#[derive(Debug, thiserror::Error)]
pub enum TapError {
    #[error("no user matches {0:?}")]
    UnknownUser(String),
    #[error("the pass length must be {MIN_LENGTH} to {MAX_LENGTH} characters")]
    Length,
    #[error("the lifetime must be 10 minutes to 30 days")]
    Lifetime,
    /// The store failed; the CLI prints the cause chain.
    #[error("the store failed")]
    Store(#[from] StoreError),
    /// The directory could not be asked who the user is.
    #[error("the directory failed")]
    Directory(#[from] DirectoryError),
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

/// Issues a pass for `username`, voiding any live one. Returns the pass
/// (shown once) and its expiry. `by` names the operator in the audit.
pub async fn issue(
    state: &AppState,
    username: &str,
    lifetime: i64,
    one_time: bool,
    length: usize,
    by: &str,
) -> Result<(Secret, i64), TapError> {
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        return Err(TapError::Length);
    }
    if !(MIN_LIFETIME..=MAX_LIFETIME).contains(&lifetime) {
        return Err(TapError::Lifetime);
    }
    let user = find(state, username).await?;
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
    let mut change = state.store.begin_change().await?;
    // One live pass per user: a new one voids the older ones.
    let id = state.entropy.hex_id(8);
    let hash = pass_hash(state, &user.id, &pass);
    let voided = state
        .store
        .issue_pass(
            &mut change,
            &NewPass {
                id: &id,
                user_id: &user.id,
                hash: &hash,
                one_time,
                created: now,
                expires,
                issued_by: by,
            },
        )
        .await?;
    // The user's notice is queued with the pass it announces.
    let mut batch = outbox::Batch::default();
    if let Some(msg) = issued_notice(state, &user, expires) {
        let item = outbox::Item::message(&msg, Some(&user.username));
        batch.add(&mut change, state, item).await?;
    }
    change.commit().await?;
    let _ = batch.committed(state).await;
    let detail = format!(
        "{} pass issued by {by}{}",
        if one_time { "one-time" } else { "multi-use" },
        if voided > 0 {
            format!("; voided {voided} earlier")
        } else {
            String::new()
        }
    );
    audit::record(
        state,
        Event {
            activity: ISSUED,
            actor: by,
            target: Some(&user.username),
            method: Some("temporary_access_pass"),
            success: true,
            ip: "local",
            detail: Some(&detail),
            ..Default::default()
        },
    )
    .await;
    Ok((Secret::new(pass), expires))
}

async fn find(state: &AppState, username: &str) -> Result<DirUser, TapError> {
    state
        .directory
        .find_user(username)
        .await?
        .ok_or_else(|| TapError::UnknownUser(username.to_string()))
}

/// "A Temporary Access Pass was issued for your account": if the user did
/// not ask the helpdesk for one, they know to call.
fn issued_notice(state: &AppState, user: &DirUser, expires: i64) -> Option<Outgoing> {
    let to = user.email.as_ref()?;
    let org = state.organisation();
    let until = time::OffsetDateTime::from_unix_timestamp(expires)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let lang = state.config.default_locale();
    let args = [
        ("organisation", org.as_str()),
        ("name", user.display_name.as_str()),
        ("account", user.username.as_str()),
        ("until", until.as_str()),
        ("url", state.config.server.public_url.as_str()),
    ];
    Some(Outgoing::Mail {
        to: to.clone(),
        subject: crate::i18n::text_with(lang, crate::key!("email.tap_issued.subject"), &args),
        body: crate::i18n::text_with(lang, crate::key!("email.tap_issued.body"), &args),
    })
}

/// A pass as `sspr tap list` shows it: never the pass itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassInfo {
    pub id: String,
    pub username: String,
    pub one_time: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub issued_by: Option<String>,
}

/// Live passes (not expired, revoked or used up), optionally for one user.
pub async fn list(state: &AppState, username: Option<&str>) -> Result<Vec<PassInfo>, TapError> {
    let user = match username {
        Some(u) => Some(find(state, u).await?),
        None => None,
    };
    let now = state.clock.now();
    let rows = state
        .store
        .live_passes(user.as_ref().map(|u| u.id.as_str()), now)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for PassRow {
        id,
        user_id,
        one_time,
        created_at,
        expires_at,
        used_at,
        issued_by,
    } in rows
    {
        let username = match &user {
            Some(u) => u.username.clone(),
            None => state
                .directory
                .user_by_id(&user_id)
                .await
                .ok()
                .flatten()
                .map_or_else(|| format!("(id {user_id})"), |u| u.username),
        };
        out.push(PassInfo {
            id,
            username,
            one_time,
            created_at,
            expires_at,
            used_at,
            issued_by,
        });
    }
    Ok(out)
}

/// Revokes a user's live passes (or the one with `id`). Returns how many.
pub async fn revoke(
    state: &AppState,
    username: &str,
    id: Option<&str>,
    by: &str,
) -> Result<u64, TapError> {
    let user = find(state, username).await?;
    let now = state.clock.now();
    let done = state.store.revoke_passes(&user.id, id, now).await?;
    let detail = format!("{done} pass(es) revoked by {by}");
    audit::record(
        state,
        Event {
            activity: REVOKED,
            actor: by,
            target: Some(&user.username),
            method: Some("temporary_access_pass"),
            success: done > 0,
            ip: "local",
            detail: Some(&detail),
            ..Default::default()
        },
    )
    .await;
    Ok(done)
}

/// Whether `presented` is a live pass for `user`; a one-time pass is used up
/// atomically.
pub async fn redeem(
    state: &AppState,
    user: &DirUser,
    presented: &Secret,
    ip: &str,
) -> Result<Option<LivePass>, ApiError> {
    let text = presented.expose();
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&text.chars().count()) {
        return Ok(None);
    }
    let now = state.clock.now();
    let hash = pass_hash(state, &user.id, text);
    let Some(RedeemedPass { id, expires_at }) =
        state.store.redeem_pass(&user.id, &hash, now).await?
    else {
        return Ok(None);
    };
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
    Ok(Some(LivePass { id, expires_at }))
}

/// The pass a session was opened with: the session lives no longer than
/// it, and ends when it is revoked or replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePass {
    pub id: String,
    pub expires_at: i64,
}

/// Revokes a user's live passes without an operator (the user reset their
/// password: they have their account back). Returns how many.
pub async fn revoke_on_reset(state: &AppState, user: &DirUser) -> Result<u64, ApiError> {
    let now = state.clock.now();
    let done = state.store.revoke_passes(&user.id, None, now).await?;
    if done > 0 {
        audit::record(
            state,
            Event {
                activity: REVOKED,
                actor: &user.username,
                target: Some(&user.username),
                method: Some("temporary_access_pass"),
                success: true,
                ip: "local",
                detail: Some("revoked by the user's password reset"),
                ..Default::default()
            },
        )
        .await;
    }
    Ok(done)
}

/// The statement a pass check runs, for a name that matches nobody.
pub async fn burn(state: &AppState, presented: &Secret) -> Result<(), ApiError> {
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&presented.expose().chars().count()) {
        return Ok(());
    }
    let hash = pass_hash(state, "-", presented.expose());
    state
        .store
        .redeem_pass("-", &hash, state.clock.now())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_within_bounds() {
        assert_eq!(parse_lifetime("1h").ok(), Some(3600));
        assert_eq!(parse_lifetime("10m").ok(), Some(600));
        assert_eq!(parse_lifetime("30d").ok(), Some(30 * 86400));
        assert!(matches!(parse_lifetime("9m"), Err(TapError::Lifetime)));
        assert!(matches!(parse_lifetime("31d"), Err(TapError::Lifetime)));
        assert!(matches!(parse_lifetime("1w"), Err(TapError::Lifetime)));
        assert!(matches!(parse_lifetime("h"), Err(TapError::Lifetime)));
    }
}
