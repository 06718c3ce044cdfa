//! Password rules both sides run: the SPA for live feedback, the server for
//! enforcement. Length is counted in Unicode code points after NFKC
//! normalisation (NIST SP 800-63B), with no truncation.

use serde::{Deserialize, Serialize};

use crate::ErrorId;
use crate::config::{PasswordContext, PasswordRules};

/// The password as the directory will receive it: NFKC-normalised.
#[cfg(feature = "nfkc")]
pub fn normalise(password: &str) -> String {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use unicode_normalization::UnicodeNormalization;
        password.nfkc().collect()
    }
    // In the browser, its own NFKC (ICU) instead of a second copy of the
    // Unicode tables in the strength worker: about 30 KB brotli less. The
    // wasm parity test holds the two to the same verdicts.
    #[cfg(target_arch = "wasm32")]
    {
        String::from(js_sys::JsString::from(password).normalize("NFKC"))
    }
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

/// Who the password is for: their names must not appear in it, and zxcvbn
/// treats them as guessable.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
}

impl Owner<'_> {
    /// User name, each part of the display name, and the email's local part.
    pub fn names(&self) -> Vec<&str> {
        let mut names = vec![self.username];
        names.extend(self.display_name.split_whitespace());
        names.extend(self.email.and_then(|e| e.split('@').next()));
        names
    }
}

/// zxcvbn's cost grows steeply with length; past this many code points every
/// password that reached scoring is strong, and only the prefix is scored.
pub const SCORED_PREFIX: usize = 100;

/// zxcvbn's assessment of a normalised password, with the owner's names
/// and address, and the organisation's name, as user inputs: an attacker
/// tries those first.
#[cfg(feature = "strength")]
pub fn strength(
    normalised: &str,
    owner: &Owner<'_>,
    organisation: Option<&str>,
    year: i32,
) -> crate::strength::Strength {
    let mut inputs = owner.names();
    inputs.push(owner.display_name);
    inputs.extend(owner.email);
    if let Some(org) = organisation.filter(|o| !o.trim().is_empty()) {
        inputs.push(org);
        inputs.extend(org.split_whitespace());
    }
    let scored: String = normalised.chars().take(SCORED_PREFIX).collect();
    crate::strength::Strength::from(&sspr_guesses::estimate(&scored, &inputs, year))
}

impl PasswordContext {
    pub fn owner(&self) -> Owner<'_> {
        Owner {
            username: &self.username,
            display_name: &self.display_name,
            email: self.email.as_deref(),
        }
    }
}

/// The banned-password rule as enforced: the folded terms (global plus
/// custom) and the organisation's name.
#[derive(Debug, Clone, Copy)]
pub struct Banned<'a> {
    pub terms: &'a [String],
    pub organisation: &'a str,
}

impl Banned<'_> {
    /// Entra's evaluation of `normalised` for this owner.
    pub fn evaluate(&self, normalised: &str, owner: &Owner<'_>) -> crate::banned::Evaluation {
        let mut names = owner.names();
        names.push(self.organisation);
        names.extend(self.organisation.split_whitespace());
        crate::banned::evaluate(normalised, self.terms, &names)
    }
}

/// One line of the checklist, by stable id, in the order the verdict
/// applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    MinLength,
    MaxLength,
    NoNames,
    Complexity,
    NotBanned,
    Strength,
}

impl Rule {
    /// The error the server answers when this rule is the first one broken.
    pub fn error(self) -> ErrorId {
        match self {
            Rule::MinLength => ErrorId::PasswordTooShort,
            Rule::MaxLength => ErrorId::PasswordTooLong,
            Rule::NoNames => ErrorId::PasswordContainsName,
            Rule::Complexity => ErrorId::PasswordNotComplex,
            Rule::NotBanned => ErrorId::PasswordBanned,
            Rule::Strength => ErrorId::PasswordTooWeak,
        }
    }
}

/// A checklist line and whether the password meets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub rule: Rule,
    pub passed: bool,
}

/// Every rule's outcome for one password, plus zxcvbn's assessment. The
/// SPA's worker draws the checklist from it; the server enforces
/// [`Report::verdict`]. Both call [`report`], so they cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub checks: Vec<Check>,
    /// Absent for an empty password.
    pub strength: Option<crate::strength::Strength>,
}

impl Report {
    /// The first rule broken, as the server's error.
    pub fn verdict(&self) -> Result<(), ErrorId> {
        match self.checks.iter().find(|c| !c.passed) {
            Some(c) => Err(c.rule.error()),
            None => Ok(()),
        }
    }

    pub fn passed(&self, rule: Rule) -> Option<bool> {
        self.checks
            .iter()
            .find(|c| c.rule == rule)
            .map(|c| c.passed)
    }
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
#[cfg(feature = "strength")]
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
#[cfg(feature = "strength")]
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
    #[cfg(feature = "strength")]
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
    #[cfg(feature = "strength")]
    fn zxcvbn_guesses_the_organisation_name_first() {
        let owner = Owner {
            username: "alice",
            display_name: "Alice Andersen",
            email: None,
        };
        let with = strength("Northgate-staple", &owner, Some("Northgate Traders"), 2026);
        let without = strength("Northgate-staple", &owner, None, 2026);
        assert!(
            with.score < without.score,
            "{} is not below {}",
            with.score,
            without.score
        );
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
