//! What the helpdesk does from the server's command line for one account
//! (`sspr user unblock`, `sspr user sessions revoke`), audited with the
//! operator's name (`--by`), like the Temporary Access Pass commands.

use crate::AppState;
use crate::audit::{self, Event};
use crate::directory::DirUser;
use crate::error::ApiError;
use crate::methods::throttle;
use crate::ports::{AuditStore, ThrottleStore};

/// An operator cleared an account's self-service block.
pub const UNBLOCKED: &str = "Unblock user from self-service password reset (by admin)";
/// An operator ended every session of an account.
pub const SESSIONS_REVOKED: &str = "Revoke user sessions (by admin)";

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no user matches {0:?}")]
    UnknownUser(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

async fn find(state: &AppState, login: &str) -> Result<DirUser, AdminError> {
    state
        .directory
        .find_user(login)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| AdminError::UnknownUser(login.to_string()))
}

/// What an unblock cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unblocked {
    pub username: String,
    /// Blocks removed (the account's, and those of its names as typed).
    pub blocks: u64,
    /// Proof budgets reset to nothing.
    pub budgets: u64,
}

/// Every name the account may have been typed as at reset: its user name,
/// its address, the name the operator gave, and every identifier its reset
/// flows were started with while a block could still be running (the audit
/// trail names them: a flow's actor is what was typed, its target the
/// account).
async fn names_of(state: &AppState, user: &DirUser, login: &str) -> Result<Vec<String>, ApiError> {
    let since = state.clock.now() - throttle::FAIL_WINDOW - throttle::BLOCK_FOR;
    let typed = state
        .store
        .audit_actors(audit::FLOW_PROGRESS, &user.username, since)
        .await?;
    let mut names: Vec<String> = [Some(user.username.clone()), user.email.clone()]
        .into_iter()
        .flatten()
        .chain([login.to_string()])
        .chain(typed)
        .map(|n| n.trim().to_lowercase())
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Clears the account's self-service block and proof budget, and those of
/// every name it may have been typed as, so its next reset starts afresh.
pub async fn unblock(state: &AppState, login: &str, by: &str) -> Result<Unblocked, AdminError> {
    let user = find(state, login).await?;
    let mut subjects = vec![
        throttle::account_subject(&user.id),
        crate::stepup::stepup_subject(&user.id),
    ];
    for name in names_of(state, &user, login).await? {
        subjects.push(throttle::typed_subject(state, &name));
    }
    let (blocks, budgets) = state
        .store
        .clear_throttles(&subjects)
        .await
        .map_err(ApiError::from)?;
    let detail = format!("cleared {blocks} block(s) and {budgets} proof budget(s)");
    audit::record(
        state,
        Event {
            activity: UNBLOCKED,
            actor: by,
            target: Some(&user.username),
            success: true,
            ip: "local",
            detail: Some(&detail),
            ..Default::default()
        },
    )
    .await;
    Ok(Unblocked {
        username: user.username,
        blocks,
        budgets,
    })
}

/// Ends every session of the account, as a reset does (its session epoch
/// moves on, so a sign-in under way leaves none either). Returns the user
/// name and how many live sessions ended.
pub async fn revoke_sessions(
    state: &AppState,
    login: &str,
    by: &str,
) -> Result<(String, u64), AdminError> {
    let user = find(state, login).await?;
    let ended = crate::session::revoke_all(state, &user.id).await?;
    let detail = format!("ended {ended} session(s)");
    audit::record(
        state,
        Event {
            activity: SESSIONS_REVOKED,
            actor: by,
            target: Some(&user.username),
            success: true,
            ip: "local",
            detail: Some(&detail),
            ..Default::default()
        },
    )
    .await;
    Ok((user.username, ended))
}
