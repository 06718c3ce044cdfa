//! Banned passwords, evaluated the way Microsoft Entra Password Protection
//! documents it:
//!
//! 1. Normalise: lowercase, then 0→o, 1→l, $→s, @→a ([`fold`]).
//! 2. Find banned terms (the global list shipped here plus the operator's
//!    custom list) by fuzzy matching at edit distance 1, and the user's names
//!    and the organisation's name (4 characters or more) as plain substrings.
//! 3. Score: 1 point per banned term found, 1 point per remaining character.
//!    A password needs [`MIN_POINTS`].
//!
//! Pure and allocation-light, so the browser and the server give the same
//! verdict.

use crate::normalise::fold;
use crate::owner::Owner;

/// Points a password needs to pass.
pub const MIN_POINTS: usize = 5;
/// Shortest term or name that counts.
pub const MIN_TERM: usize = 4;
/// Most terms an operator may add.
pub const MAX_CUSTOM_TERMS: usize = 1000;

/// The global list: one term per line, `#` comments. See `banned-global.txt`
/// for its source and licence.
pub const GLOBAL_LIST: &str = include_str!("banned-global.txt");

/// The global terms, folded.
pub fn global_terms() -> Vec<String> {
    terms_from(GLOBAL_LIST.lines())
}

/// Folds and keeps the usable terms of a list (comments and blanks dropped).
pub fn terms_from<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = lines
        .into_iter()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(fold)
        .filter(|t| t.chars().count() >= MIN_TERM)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether `a` and `b` are at most one insertion, deletion or substitution apart.
fn within_one(a: &[char], b: &[char]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => short.iter().zip(long).filter(|(x, y)| x != y).count() <= 1,
        1 => {
            let i = short.iter().zip(long).take_while(|(x, y)| x == y).count();
            short[i..] == long[i + 1..]
        }
        _ => false,
    }
}

/// The evaluation of one password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Banned terms and names found, in the order they appear.
    pub found: Vec<String>,
    pub points: usize,
}

impl Evaluation {
    pub fn passes(&self) -> bool {
        self.points >= MIN_POINTS
    }
}

/// Scores `password` against `terms` (already folded; fuzzy) and `names`
/// (the user's names and the organisation's; exact substrings).
pub fn evaluate(password: &str, terms: &[String], names: &[&str]) -> Evaluation {
    let p: Vec<char> = fold(password).chars().collect();
    // Candidate matches: (start, length, what).
    let mut candidates: Vec<(usize, usize, String)> = Vec::new();
    for t in terms {
        let t: Vec<char> = t.chars().collect();
        let lens = [t.len().saturating_sub(1), t.len(), t.len() + 1];
        for len in lens {
            // Deletions only for terms long enough that what is left is still a word.
            if len < MIN_TERM || len > p.len() {
                continue;
            }
            for start in 0..=p.len() - len {
                let window = &p[start..start + len];
                if within_one(window, &t) {
                    candidates.push((start, len, t.iter().collect()));
                }
            }
        }
    }
    for n in names {
        let n: Vec<char> = fold(n.trim()).chars().collect();
        if n.len() < MIN_TERM || n.len() > p.len() {
            continue;
        }
        for start in 0..=p.len() - n.len() {
            if p[start..start + n.len()] == n[..] {
                candidates.push((start, n.len(), n.iter().collect()));
            }
        }
    }
    // The fewest points any reading of the password gives, as an attacker
    // would read it: each character is a point on its own, or part of a
    // found term worth one point. A fuzzy match by insertion still leaves
    // its extra character as a point (Entra scores "Blank1" as blank + 1).
    // A greedy pass would be order-dependent: an exact "pass" would hide a
    // near-"password".
    let mut best: Vec<(usize, Option<usize>)> = vec![(0, None); p.len() + 1];
    for end in 1..=p.len() {
        best[end] = (best[end - 1].0 + 1, None);
        for (i, (start, len, term)) in candidates.iter().enumerate() {
            let cost = 1 + len.saturating_sub(term.chars().count());
            if start + len == end && best[*start].0 + cost < best[end].0 {
                best[end] = (best[*start].0 + cost, Some(i));
            }
        }
    }
    let mut found = Vec::new();
    let mut at = p.len();
    while at > 0 {
        match best[at].1 {
            Some(i) => {
                found.push(candidates[i].2.clone());
                at = candidates[i].0;
            }
            None => at -= 1,
        }
    }
    found.reverse();
    Evaluation {
        points: best[p.len()].0,
        found,
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
    pub fn evaluate(&self, normalised: &str, owner: &Owner<'_>) -> Evaluation {
        let mut names = owner.names();
        names.push(self.organisation);
        names.extend(self.organisation.split_whitespace());
        evaluate(normalised, self.terms, &names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(list: &[&str]) -> Vec<String> {
        terms_from(list.iter().copied())
    }

    #[test]
    fn edit_distance_one_is_one_change() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(within_one(&c("abcdef"), &c("abcdeg")));
        assert!(within_one(&c("abcdef"), &c("abcdefg")));
        assert!(within_one(&c("abcdef"), &c("abcde")));
        assert!(within_one(&c("abcdef"), &c("abdef")));
        assert!(!within_one(&c("abcdef"), &c("abcdgh")));
        assert!(!within_one(&c("abcdef"), &c("abcdefgh")));
    }

    /// Entra's documented example: a tenant banning "contoso" and "blank".
    #[test]
    fn entras_worked_example_scores_the_same() {
        let list = terms(&["contoso", "blank"]);
        let e = evaluate("C0ntos0Blank12", &list, &[]);
        assert_eq!(e.found, ["contoso", "blank"]);
        assert_eq!(e.points, 4, "contoso + blank + '1' + '2'");
        assert!(!e.passes());
        let e = evaluate("ContoS0Bl@nkf9!", &list, &[]);
        assert_eq!(e.points, 5, "contoso + blank + f, 9, !");
        assert!(e.passes());
    }

    #[test]
    fn a_short_exact_term_never_hides_a_longer_fuzzy_one() {
        let list = terms(&["pass", "password"]);
        let e = evaluate("Passwerd26", &list, &[]);
        assert_eq!(e.found, ["password"]);
        assert_eq!(e.points, 3, "password (fuzzy) + '2' + '6'");
    }

    #[test]
    fn the_organisations_name_and_years_sink_a_password() {
        let global = global_terms();
        for pw in ["Northgate2026!", "N0rthg@te2026"] {
            let e = evaluate(pw, &global, &["Northgate"]);
            assert!(!e.passes(), "{pw}: {e:?}");
            assert!(e.found.contains(&"northgate".to_string()), "{pw}: {e:?}");
        }
        assert!(evaluate("Northgate-harbour-kayak", &global, &["Northgate"]).passes());
    }

    #[test]
    fn normalisation_and_fuzzy_matching_catch_the_usual_disguises() {
        let global = global_terms();
        for pw in [
            "P@ssw0rd1",
            "Passw0rd!!",
            "pasword12",
            "Welcome123",
            "Summer2025",
            "qwerty!!",
        ] {
            assert!(!evaluate(pw, &global, &[]).passes(), "{pw}");
        }
        for pw in ["correct horse battery staple", "Tangerine-Vortex-Quill-88"] {
            assert!(evaluate(pw, &global, &[]).passes(), "{pw}");
        }
    }

    #[test]
    fn names_match_as_substrings_only_from_four_characters() {
        let e = evaluate("xxAndersenxx", &[], &["Alice", "Andersen", "Al"]);
        assert_eq!(e.found, ["andersen"]);
        assert_eq!(e.points, 5);
        // "al" is too short to count.
        assert_eq!(evaluate("alalal", &[], &["al"]).found, Vec::<String>::new());
    }

    #[test]
    fn the_global_list_is_folded_and_of_usable_length() {
        let g = global_terms();
        assert!(g.len() > 150, "{}", g.len());
        assert!(
            g.iter()
                .all(|t| t.chars().count() >= MIN_TERM && *t == fold(t))
        );
        assert!(g.contains(&"password".to_string()));
        assert!(
            g.contains(&"2o26".to_string()),
            "years are folded like passwords"
        );
    }
}
