//! `policy.methods_available`: a list of the wire's [`MethodKind`]s, spelt
//! as the API spells them (`"authenticator"`, `"email"`, `"sms"`,
//! `"office_phone"`; the last needs `delivery.voice`). Only the
//! kinds a user registers with a contact or an app belong here: recovery
//! codes and security questions have switches of their own
//! (`policy.recovery_codes`, `policy.security_questions`).

use serde::Deserialize;
use serde::de::Error as _;
use sspr_proto::reset::MethodKind;

/// The kinds the list may name, in the config's order and spelling.
const KINDS: [MethodKind; 4] = [
    MethodKind::Authenticator,
    MethodKind::Email,
    MethodKind::Sms,
    MethodKind::OfficePhone,
];
const NAMES: &[&str] = &["authenticator", "email", "sms", "office_phone"];
/// How many of [`KINDS`] the default list holds: office phones need
/// `delivery.voice`, so they are listed only by choice.
const DEFAULT_KINDS: usize = 3;

/// The config's (and the API's) name of a listable kind.
pub(super) fn name(kind: MethodKind) -> &'static str {
    KINDS
        .iter()
        .position(|k| *k == kind)
        .map_or("", |i| NAMES[i])
}

pub(super) fn default_available() -> Vec<MethodKind> {
    KINDS[..DEFAULT_KINDS].to_vec()
}

/// Reads the list: each entry a listable kind, at least one entry.
pub(super) fn available<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<MethodKind>, D::Error> {
    struct Kind(MethodKind);
    impl<'de> Deserialize<'de> for Kind {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            // Refused inside the visitor, so the error gets the entry's own span.
            d.deserialize_str(KindVisitor)
        }
    }
    struct KindVisitor;
    impl serde::de::Visitor<'_> for KindVisitor {
        type Value = Kind;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a method kind")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Kind, E> {
            NAMES
                .iter()
                .position(|n| *n == s)
                .map(|i| Kind(KINDS[i]))
                .ok_or_else(|| E::unknown_variant(s, NAMES))
        }
    }
    let kinds = Vec::<Kind>::deserialize(d)?;
    if kinds.is_empty() {
        return Err(D::Error::custom("must list at least one method"));
    }
    Ok(kinds.into_iter().map(|k| k.0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_spells_kinds_as_the_api_does() {
        for (k, n) in KINDS.iter().zip(NAMES) {
            assert_eq!(serde_json::to_string(k).unwrap(), format!("\"{n}\""));
            assert_eq!(name(*k), *n);
        }
    }
}
