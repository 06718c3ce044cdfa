//! Server-side enforcement of the password rules. Length comes from `proto`
//! (the same code the SPA runs); strength is zxcvbn with the user's own names
//! as inputs. The full policy engine (banned lists, breach check) plugs in here.

use sspr_proto::ErrorId;
use sspr_proto::config::PasswordRules;
use sspr_proto::password::{contains_user_name, length_violation, normalise};

use crate::config::PasswordConfig;
use crate::directory::DirUser;
use crate::error::ApiError;
use crate::secret::Secret;

/// The names a password must not contain: user name, each part of the display
/// name, and the email's local part.
pub fn user_names(user: &DirUser) -> Vec<&str> {
    let mut names: Vec<&str> = vec![&user.username];
    names.extend(user.display_name.split_whitespace());
    if let Some(local) = user.email.as_deref().and_then(|e| e.split('@').next()) {
        names.push(local);
    }
    names
}

pub fn check(cfg: &PasswordConfig, password: &Secret, user: &DirUser) -> Result<(), ApiError> {
    let rules = PasswordRules {
        min_length: cfg.min_length,
        max_length: cfg.max_length,
        min_score: cfg.min_score,
    };
    if let Some(id) = length_violation(password.expose(), &rules) {
        return Err(ApiError::PasswordPolicy(id));
    }
    let normalised = normalise(password.expose());
    if contains_user_name(&normalised, &user_names(user)) {
        return Err(ApiError::PasswordPolicy(ErrorId::PasswordContainsName));
    }
    let mut inputs: Vec<&str> = vec![&user.username, &user.display_name];
    inputs.extend(user.display_name.split_whitespace());
    if let Some(e) = &user.email {
        inputs.push(e);
        inputs.extend(e.split('@').next());
    }
    // zxcvbn's cost grows steeply with length; past 100 code points every
    // password that reached here is strong, and only the prefix is scored.
    let scored: String = normalised.chars().take(100).collect();
    let score = zxcvbn::zxcvbn(&scored, &inputs).score() as u8;
    if score < cfg.min_score {
        return Err(ApiError::PasswordPolicy(ErrorId::PasswordTooWeak));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn enforces_length_and_strength() {
        assert_eq!(verdict("short1!"), Err(ErrorId::PasswordTooShort));
        assert_eq!(verdict(&"x".repeat(257)), Err(ErrorId::PasswordTooLong));
        assert_eq!(verdict("password123"), Err(ErrorId::PasswordTooWeak));
        assert_eq!(
            verdict("AliceAndersen1"),
            Err(ErrorId::PasswordContainsName)
        );
        assert_eq!(
            verdict("Tr0ub4dor-andersen"),
            Err(ErrorId::PasswordContainsName)
        );
        assert_eq!(verdict("correct horse battery staple"), Ok(()));
        assert_eq!(verdict("Tangerine-Vortex-Quill-88"), Ok(()));
    }
}
