//! Server-side enforcement of the password rules: the verdict lives in
//! `sspr-policy`, so the SPA's strength worker and the server can never
//! disagree. The full policy engine (banned lists, breach check)
//! plugs in there.

use sspr_policy::{Banned, Owner, OwnerOf, normalise, verdict};
use sspr_proto::config::{BannedContext, PasswordContext};

use crate::AppState;
use crate::audit::{self, Event};
use crate::config::BannedMode;
use crate::directory::DirUser;
use crate::error::{ApiError, Cause};
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

/// What the live checklist needs for `user`: the portal's rules joined by
/// the directory's, the user's names, and the banned-list context when it
/// is enforced.
pub async fn context(state: &AppState, user: &DirUser) -> Result<PasswordContext, ApiError> {
    let cfg = &state.config.password;
    let rules = state
        .directory
        .password_rules(user)
        .await
        .map_err(|e| ApiError::Internal(Cause::PasswordRules(e.into())))?
        .apply(cfg.rules());
    Ok(PasswordContext {
        rules,
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        email: user.email.clone(),
        banned: (cfg.banned_mode == BannedMode::Enforce).then(|| BannedContext {
            organisation: state.organisation(),
            custom: cfg.banned_custom.clone(),
        }),
        year: crate::clock::year_of(state.clock.now()),
    })
}

/// The verdict on a new password in `ctx`. `terms` are the folded global and
/// custom terms, which the SPA's worker builds the same way.
pub fn check(ctx: &PasswordContext, terms: &[String], password: &Secret) -> Result<(), ApiError> {
    let banned = ctx.banned.as_ref().map(|b| Banned {
        terms,
        organisation: &b.organisation,
    });
    verdict(
        password.expose(),
        &ctx.rules,
        &ctx.owner(),
        banned.as_ref(),
        ctx.year,
    )
    .map_err(ApiError::PasswordPolicy)
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
    let ctx = context(state, user).await?;
    check(&ctx, cfg.banned_terms(), password)?;
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
        let org = state.organisation();
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
    use crate::config::PasswordConfig;
    use crate::directory::DirectoryRules;
    use sspr_proto::ErrorId;

    fn ctx(cfg: &PasswordConfig) -> PasswordContext {
        PasswordContext {
            rules: cfg.rules(),
            username: "alice".into(),
            display_name: "Alice Andersen".into(),
            email: Some("alice@example.com".into()),
            banned: (cfg.banned_mode == BannedMode::Enforce).then(|| BannedContext {
                organisation: "Northgate".into(),
                custom: cfg.banned_custom.clone(),
            }),
            year: 2026,
        }
    }

    fn verdict_under(cfg: &PasswordConfig, pw: &str) -> Result<(), ErrorId> {
        check(&ctx(cfg), cfg.banned_terms(), &Secret::new(pw)).map_err(|e| e.body().error.id)
    }

    #[test]
    fn the_configured_rules_and_the_users_names_reach_the_verdict() {
        // The rules themselves are tested in proto; this checks the wiring.
        let cfg: PasswordConfig = toml::from_str("").unwrap();
        let verdict = |pw| verdict_under(&cfg, pw);
        assert_eq!(verdict("short1!"), Err(ErrorId::PasswordTooShort));
        assert_eq!(
            verdict("AliceAndersen1"),
            Err(ErrorId::PasswordContainsName)
        );
        assert_eq!(verdict("Tangerine-Vortex-Quill-88"), Ok(()));
        assert_eq!(verdict("Northgate2026!"), Err(ErrorId::PasswordBanned));
        assert_eq!(verdict("tangerine vortex quill"), Ok(()));
        let complex: PasswordConfig = toml::from_str("complexity = true").unwrap();
        assert_eq!(
            verdict_under(&complex, "tangerine vortex quill"),
            Err(ErrorId::PasswordNotComplex)
        );
    }

    #[test]
    fn custom_terms_join_the_global_list_and_audit_mode_lets_them_pass() {
        let cfg: PasswordConfig =
            toml::from_str("banned_custom = [\"kayak\"]\nbanned_mode = \"audit\"").unwrap();
        assert!(cfg.banned_terms().contains(&"kayak".to_string()));
        assert!(cfg.banned_terms().contains(&"password".to_string()));
        assert_eq!(ctx(&cfg).banned, None, "audit mode sends no banned context");
        assert_eq!(verdict_under(&cfg, "KayakSummer2025!"), Ok(()));
        let enforced: PasswordConfig = toml::from_str("banned_custom = [\"kayak\"]").unwrap();
        assert_eq!(
            verdict_under(&enforced, "KayakSummer2025!"),
            Err(ErrorId::PasswordBanned)
        );
    }

    #[test]
    fn directory_rules_only_ever_tighten_the_portals() {
        let cfg: PasswordConfig = toml::from_str("min_length = 10").unwrap();
        let strict = DirectoryRules {
            min_length: Some(14),
            complexity: true,
        }
        .apply(cfg.rules());
        assert_eq!((strict.min_length, strict.complexity), (14, true));
        let lax = DirectoryRules {
            min_length: Some(7),
            complexity: false,
        }
        .apply(cfg.rules());
        assert_eq!((lax.min_length, lax.complexity), (10, false));
        let absurd = DirectoryRules {
            min_length: Some(300),
            complexity: false,
        }
        .apply(cfg.rules());
        assert!(absurd.max_length >= absurd.min_length);
    }
}
