//! Passkeys (WebAuthn) on the wire. A ceremony is begun by the server
//! ([`PasskeyChallenge`]) and finished by the browser's answer. The options
//! and the credential travel as JSON text in the WebAuthn JSON forms
//! (`PublicKeyCredentialCreationOptionsJSON` under `publicKey`, and
//! `PublicKeyCredential.toJSON()`), so this crate and the SPA link no
//! WebAuthn library: the browser parses and makes them.

use serde::{Deserialize, Serialize};

/// The longest name a passkey may have, in characters.
pub const NAME_MAX: usize = 64;

/// A ceremony begun: `options` for `navigator.credentials.create` or `.get`
/// (JSON text, `{"publicKey": {...}}`), and the id its finish names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyChallenge {
    pub ceremony: String,
    pub options: String,
}

/// A registration's finish: the name the user gave it, and the browser's
/// credential (JSON text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegistration {
    pub ceremony: String,
    pub name: String,
    pub credential: String,
}

/// An assertion, for signing in or for a reset gate (`flow` then names the
/// flow).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeyAssertion {
    #[serde(default)]
    pub flow: Option<String>,
    pub ceremony: String,
    pub credential: String,
}

/// A new name for one of the user's passkeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRename {
    pub method: String,
    pub name: String,
}

/// A name as stored: trimmed, 1 to [`NAME_MAX`] characters, no control
/// characters; `None` if it cannot be one.
pub fn clean_name(typed: &str) -> Option<String> {
    let name = typed.trim();
    let n = name.chars().count();
    ((1..=NAME_MAX).contains(&n) && !name.chars().any(char::is_control)).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Laptop ").as_deref(), Some("Laptop"));
        assert_eq!(clean_name("   "), None);
        assert_eq!(clean_name("a\u{0}b"), None);
        assert!(clean_name(&"x".repeat(NAME_MAX)).is_some());
        assert_eq!(clean_name(&"x".repeat(NAME_MAX + 1)), None);
    }
}
