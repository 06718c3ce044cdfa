//! zxcvbn's assessment (`sspr-guesses`), as the wire
//! [`Strength`](sspr_proto::strength::Strength) the checklist shows.

use sspr_proto::strength::{CrackTime, Strength};

use crate::owner::Owner;

/// zxcvbn's cost grows steeply with length; past this many code points every
/// password that reached scoring is strong, and only the prefix is scored.
pub const SCORED_PREFIX: usize = 100;

/// zxcvbn's assessment of a normalised password, with the owner's names
/// and address, and the organisation's name, as user inputs: an attacker
/// tries those first.
pub fn strength(
    normalised: &str,
    owner: &Owner<'_>,
    organisation: Option<&str>,
    year: i32,
) -> Strength {
    let mut inputs = owner.names();
    inputs.push(owner.display_name);
    inputs.extend(owner.email);
    if let Some(org) = organisation.filter(|o| !o.trim().is_empty()) {
        inputs.push(org);
        inputs.extend(org.split_whitespace());
    }
    let scored: String = normalised.chars().take(SCORED_PREFIX).collect();
    of_estimate(&sspr_guesses::estimate(&scored, &inputs, year))
}

/// The wire form of an estimate.
pub fn of_estimate(e: &sspr_guesses::Estimate) -> Strength {
    Strength {
        score: e.score,
        warning: e.feedback.warning,
        suggestions: e.feedback.suggestions.clone(),
        // Saturates: beyond u64 seconds is centuries all the same.
        crack_time: CrackTime::from_seconds(e.offline_slow_hash_seconds() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
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
}
