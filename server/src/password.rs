//! Server-side enforcement of the password rules: the verdict lives in
//! `proto` (feature `strength`), so the SPA's strength worker and the server
//! can never disagree. The full policy engine (banned lists, breach check)
//! plugs in there.

use sspr_proto::config::PasswordRules;
use sspr_proto::password::{Banned, Owner, normalise, verdict};

use crate::AppState;
use crate::audit::{self, Event};
use crate::config::{BannedMode, PasswordConfig};
use crate::directory::DirUser;
use crate::error::ApiError;
use crate::secret::Secret;

pub fn owner(user: &DirUser) -> Owner<'_> {
    Owner {
        username: &user.username,
        display_name: &user.display_name,
        email: user.email.as_deref(),
    }
}

/// Activity recorded when audit mode lets a banned password through.
pub const WOULD_REJECT: &str =
    "Password would be rejected by the banned password list (audit mode)";

/// The verdict for `user`'s new password under `cfg`, with the organisation's
/// name among the banned substrings.
pub fn check(
    cfg: &PasswordConfig,
    password: &Secret,
    user: &DirUser,
    organisation: &str,
) -> Result<(), ApiError> {
    let rules = PasswordRules {
        min_length: cfg.min_length,
        max_length: cfg.max_length,
        min_score: cfg.min_score,
    };
    let banned = Banned {
        terms: cfg.banned_terms(),
        organisation,
    };
    let enforced = (cfg.banned_mode == BannedMode::Enforce).then_some(&banned);
    verdict(password.expose(), &rules, &owner(user), enforced).map_err(ApiError::PasswordPolicy)
}

/// [`check`] for a request: in audit mode a password the banned list would
/// have refused is let through and recorded (never the password itself).
pub async fn enforce(
    state: &AppState,
    password: &Secret,
    user: &DirUser,
    ip: &str,
    during: &'static str,
) -> Result<(), ApiError> {
    let cfg = &state.config.password;
    let org = state.organisation();
    check(cfg, password, user, &org)?;
    if let Some(source) = crate::breach::Source::from_config(cfg) {
        // The password as the directory will get it.
        let sent = Secret::new(normalise(password.expose()));
        match crate::breach::count(&source, &sent).await {
            Ok(0) => {}
            Ok(_) => {
                return Err(ApiError::PasswordPolicy(
                    sspr_proto::ErrorId::PasswordBreached,
                ));
            }
            // A breach source that is down must not stop every reset: the
            // other rules still hold, and the outage is logged.
            Err(e) => tracing::warn!(error = %e, "breached-password check skipped"),
        }
    }
    if cfg.banned_mode == BannedMode::Audit {
        let banned = Banned {
            terms: cfg.banned_terms(),
            organisation: &org,
        };
        let e = banned.evaluate(&normalise(password.expose()), &owner(user));
        if !e.passes() {
            tracing::warn!(user = %user.username, points = e.points, "banned password allowed (audit mode)");
            audit::record(
                state,
                Event {
                    activity: WOULD_REJECT,
                    actor: &user.username,
                    target: Some(&user.username),
                    success: true,
                    ip,
                    detail: Some(during),
                    ..Default::default()
                },
            )
            .await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sspr_proto::ErrorId;

    fn user() -> DirUser {
        DirUser {
            id: "1".into(),
            username: "alice".into(),
            display_name: "Alice Andersen".into(),
            email: Some("alice@example.com".into()),
            mobile: None,
            is_admin: false,
            enabled: true,
            locked_until: None,
        }
    }

    fn cfg() -> PasswordConfig {
        toml::from_str("").unwrap()
    }

    fn verdict(pw: &str) -> Result<(), ErrorId> {
        check(&cfg(), &Secret::new(pw), &user(), "Northgate").map_err(|e| e.body().error.id)
    }

    #[test]
    fn the_configured_rules_and_the_users_names_reach_the_verdict() {
        // The rules themselves are tested in proto; this checks the wiring.
        assert_eq!(verdict("short1!"), Err(ErrorId::PasswordTooShort));
        assert_eq!(
            verdict("AliceAndersen1"),
            Err(ErrorId::PasswordContainsName)
        );
        assert_eq!(verdict("Tangerine-Vortex-Quill-88"), Ok(()));
        assert_eq!(verdict("Northgate2026!"), Err(ErrorId::PasswordBanned));
    }

    #[test]
    fn custom_terms_join_the_global_list_and_audit_mode_lets_them_pass() {
        let cfg: PasswordConfig =
            toml::from_str("banned_custom = [\"kayak\"]\nbanned_mode = \"audit\"").unwrap();
        assert!(cfg.banned_terms().contains(&"kayak".to_string()));
        assert!(cfg.banned_terms().contains(&"password".to_string()));
        let weak_but_long = Secret::new("KayakSummer2025!");
        assert_eq!(
            check(&cfg, &weak_but_long, &user(), "Northgate").map_err(|e| e.body().error.id),
            Ok(())
        );
        let enforced: PasswordConfig = toml::from_str("banned_custom = [\"kayak\"]").unwrap();
        assert_eq!(
            check(&enforced, &weak_but_long, &user(), "Northgate").map_err(|e| e.body().error.id),
            Err(ErrorId::PasswordBanned)
        );
    }
}
