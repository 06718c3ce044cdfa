//! Password rules both sides run: the SPA for live feedback, the server for
//! enforcement. Length is counted in Unicode code points after NFKC
//! normalisation (NIST SP 800-63B), with no truncation.

use crate::ErrorId;
use crate::config::PasswordRules;

/// The password as the directory will receive it: NFKC-normalised.
#[cfg(feature = "nfkc")]
pub fn normalise(password: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    password.nfkc().collect()
}

/// Without the `nfkc` feature (the SPA's main bundle) the text is counted as
/// typed; the server, which enforces, always normalises.
#[cfg(not(feature = "nfkc"))]
pub fn normalise(password: &str) -> String {
    password.to_string()
}

/// The first length rule the password breaks, if any.
pub fn length_violation(password: &str, rules: &PasswordRules) -> Option<ErrorId> {
    let n = normalise(password).chars().count();
    if n < usize::from(rules.min_length) {
        Some(ErrorId::PasswordTooShort)
    } else if n > usize::from(rules.max_length) {
        Some(ErrorId::PasswordTooLong)
    } else {
        None
    }
}

/// Entra's normalisation for name and banned-word matching: lowercase, then
/// 0→o, 1→l, $→s, @→a.
pub fn fold(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => 'l',
            '$' => 's',
            '@' => 'a',
            c => c,
        })
        .collect()
}

/// Whether the password contains any of the user's names (4 characters or
/// more), after [`fold`] on both sides.
pub fn contains_user_name(password: &str, names: &[&str]) -> bool {
    let p = fold(password);
    names
        .iter()
        .map(|n| fold(n.trim()))
        .filter(|n| n.chars().count() >= 4)
        .any(|n| p.contains(&n))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: PasswordRules = PasswordRules {
        min_length: 8,
        max_length: 256,
        min_score: 3,
    };

    #[test]
    fn names_are_found_through_case_and_character_swaps() {
        let names = ["alice", "Alice", "Andersen", "al"];
        assert!(contains_user_name("AliceRocks2026", &names));
        assert!(contains_user_name("x-ANDERSEN-x", &names));
        assert!(contains_user_name("@1ice-2026", &names), "@→a, 1→l");
        assert!(contains_user_name("ANDER$EN!", &names), "$→s");
        assert!(
            !contains_user_name("calm-harbour-42", &names),
            "\"al\" is under 4 characters"
        );
        assert!(!contains_user_name("correct horse battery staple", &names));
    }

    #[test]
    #[cfg(feature = "nfkc")]
    fn length_counts_code_points_after_nfkc() {
        assert_eq!(
            length_violation("1234567", &RULES),
            Some(ErrorId::PasswordTooShort)
        );
        assert_eq!(length_violation("12345678", &RULES), None);
        // Eight code points of emoji and accents are eight, not their UTF-8 byte count.
        assert_eq!(length_violation("ééééé🔑🔑🔑", &RULES), None);
        assert_eq!(
            length_violation("éé🔑🔑", &RULES),
            Some(ErrorId::PasswordTooShort)
        );
        // NFKC folds the ligature "ﬀ" (one code point) into "ff" (two).
        assert_eq!(normalise("ﬀ"), "ff");
        assert_eq!(length_violation(&"a".repeat(256), &RULES), None);
        assert_eq!(
            length_violation(&"a".repeat(257), &RULES),
            Some(ErrorId::PasswordTooLong)
        );
    }
}
