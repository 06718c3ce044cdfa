//! The verdict both sides run: the SPA's worker for live feedback, the
//! server for enforcement. Length is counted in Unicode code points after
//! NFKC normalisation (NIST SP 800-63B), with no truncation.

use sspr_proto::ErrorId;
use sspr_proto::config::PasswordRules;
use sspr_proto::strength::{Check, Report, Rule};

use crate::banned::Banned;
use crate::normalise::{fold, normalise};
use crate::owner::Owner;
use crate::strength::strength;

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

/// Active Directory's complexity: at least three of capitals, small
/// letters, digits, symbols, and letters without case.
pub fn is_complex(password: &str) -> bool {
    let mut kinds = [false; 5];
    for c in password.chars() {
        let kind = if c.is_uppercase() {
            0
        } else if c.is_lowercase() {
            1
        } else if c.is_ascii_digit() {
            2
        } else if c.is_alphabetic() {
            4
        } else {
            3
        };
        kinds[kind] = true;
    }
    kinds.iter().filter(|k| **k).count() >= 3
}

/// Every rule's outcome for `password`: length (code points after NFKC),
/// the owner's names, complexity (when the rules ask for it), banned terms
/// (when enforced), then zxcvbn's score.
pub fn report(
    password: &str,
    rules: &PasswordRules,
    owner: &Owner<'_>,
    banned: Option<&Banned<'_>>,
    year: i32,
) -> Report {
    let normalised = normalise(password);
    let n = normalised.chars().count();
    let mut checks = vec![
        Check {
            rule: Rule::MinLength,
            passed: n >= usize::from(rules.min_length),
        },
        Check {
            rule: Rule::MaxLength,
            passed: n <= usize::from(rules.max_length),
        },
        Check {
            rule: Rule::NoNames,
            passed: !contains_user_name(&normalised, &owner.names()),
        },
    ];
    if rules.complexity {
        checks.push(Check {
            rule: Rule::Complexity,
            passed: is_complex(&normalised),
        });
    }
    if let Some(b) = banned {
        checks.push(Check {
            rule: Rule::NotBanned,
            passed: b.evaluate(&normalised, owner).passes(),
        });
    }
    let organisation = banned.map(|b| b.organisation);
    let strength = (n > 0).then(|| strength(&normalised, owner, organisation, year));
    checks.push(Check {
        rule: Rule::Strength,
        passed: strength.as_ref().map_or(0, |s| s.score) >= rules.min_score,
    });
    Report { checks, strength }
}

/// The verdict both sides agree on: the first rule [`report`] finds broken.
pub fn verdict(
    password: &str,
    rules: &PasswordRules,
    owner: &Owner<'_>,
    banned: Option<&Banned<'_>>,
    year: i32,
) -> Result<(), ErrorId> {
    report(password, rules, owner, banned, year).verdict()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: PasswordRules = PasswordRules {
        min_length: 8,
        max_length: 256,
        min_score: 3,
        complexity: false,
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
    fn the_verdict_checks_length_names_banned_terms_then_strength() {
        let owner = Owner {
            username: "alice",
            display_name: "Alice Andersen",
            email: Some("alice@example.com"),
        };
        let terms = crate::banned::global_terms();
        let banned = Banned {
            terms: &terms,
            organisation: "Northgate Traders",
        };
        let v = |pw: &str| verdict(pw, &RULES, &owner, Some(&banned), 2026);
        assert_eq!(v("Northgate2026!"), Err(ErrorId::PasswordBanned));
        assert_eq!(v("Traders-P@ssw0rd"), Err(ErrorId::PasswordBanned));
        assert_eq!(v("short1!"), Err(ErrorId::PasswordTooShort));
        assert_eq!(v(&"x".repeat(257)), Err(ErrorId::PasswordTooLong));
        assert_eq!(v("password123"), Err(ErrorId::PasswordBanned));
        assert_eq!(v("zzzzzzzzzzzz"), Err(ErrorId::PasswordTooWeak));
        // Without the banned rule (audit mode) only zxcvbn stands in the way.
        assert_eq!(
            verdict("password123", &RULES, &owner, None, 2026),
            Err(ErrorId::PasswordTooWeak)
        );
        assert_eq!(v("AliceAndersen1"), Err(ErrorId::PasswordContainsName));
        assert_eq!(v("Tr0ub4dor-andersen"), Err(ErrorId::PasswordContainsName));
        assert_eq!(v("correct horse battery staple"), Ok(()));
        assert_eq!(v("Tangerine-Vortex-Quill-88"), Ok(()));
    }

    #[test]
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
