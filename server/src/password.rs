//! Server-side enforcement of the password rules: the verdict lives in
//! `proto` (feature `strength`), so the SPA's strength worker and the server
//! can never disagree. The full policy engine (banned lists, breach check)
//! plugs in there.

use sspr_proto::config::PasswordRules;
use sspr_proto::password::{Owner, verdict};

use crate::config::PasswordConfig;
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

pub fn check(cfg: &PasswordConfig, password: &Secret, user: &DirUser) -> Result<(), ApiError> {
    let rules = PasswordRules {
        min_length: cfg.min_length,
        max_length: cfg.max_length,
        min_score: cfg.min_score,
    };
    verdict(password.expose(), &rules, &owner(user)).map_err(ApiError::PasswordPolicy)
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
        check(&cfg(), &Secret::new(pw), &user()).map_err(|e| e.body().error.id)
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
    }
}
