//! zxcvbn's password-strength estimate (the algorithm of zxcvbn 4.4.2, by
//! Dan Wheeler and Dropbox, MIT), rebuilt for a small wasm binary:
//!
//! - patterns are scanned by hand, so no regex engine and its Unicode
//!   tables ship to the browser;
//! - the word lists are front-coded and their ranks kept to within 10 %
//!   (`data/build.mjs`), 256 KB brotli instead of 350 KB. A bucketed word
//!   takes its bucket's lowest rank, so an estimate is never higher than
//!   zxcvbn's, by at most a factor of 1.1 per dictionary word;
//! - the reference year (for years and dates) is a parameter, not a clock.
//!
//! `tests/parity.rs` holds it to zxcvbn-rs on thousands of passwords.

mod dictionary;
mod feedback;
mod keyboard;
mod matching;
mod scoring;

pub use dictionary::Dictionary;
pub use feedback::{Feedback, Suggestion, Warning};

use dictionary::Ranked;
use std::sync::OnceLock;

/// zxcvbn's verdict on one password.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Guesses an attacker who knows these patterns needs.
    pub guesses: f64,
    /// 0 (too guessable) to 4 (very unguessable).
    pub score: u8,
    /// Empty when the score is 3 or more.
    pub feedback: Feedback,
}

impl Estimate {
    pub fn guesses_log10(&self) -> f64 {
        self.guesses.log10()
    }

    /// zxcvbn's "offline, slow hash" scenario: 10⁴ guesses a second.
    pub fn offline_slow_hash_seconds(&self) -> f64 {
        self.guesses / 1e4
    }
}

fn dictionaries() -> &'static Ranked {
    static RANKED: OnceLock<Ranked> = OnceLock::new();
    // The data is checked whole by a test; were it ever corrupt, estimates
    // would go on without dictionaries rather than fail.
    RANKED.get_or_init(|| Ranked::builtin().unwrap_or_else(|| Ranked::user_inputs(&[])))
}

/// Decodes the dictionaries and builds the keyboard graphs now rather than
/// at the first estimate (a worker calls this while the user is elsewhere).
pub fn warm_up() {
    dictionaries();
    keyboard::graphs();
}

/// Every match in `password`, then the cheapest sequence of them.
fn cheapest_reading(
    password: &str,
    user_inputs: &[&str],
    reference_year: i32,
) -> (Vec<char>, scoring::Reading) {
    let chars: Vec<char> = password.chars().collect();
    let user = Ranked::user_inputs(user_inputs);
    let cx = matching::Context {
        ranked: dictionaries(),
        user: &user,
        reference_year,
    };
    let matches = matching::omnimatch(&chars, &cx);
    let reading = scoring::most_guessable(&chars, &matches, reference_year);
    (chars, reading)
}

/// zxcvbn's estimate for `password`. `user_inputs` are words an attacker
/// would try first (the user's names, the organisation); `reference_year` is
/// the current year, from which recent years and dates are measured.
pub fn estimate(password: &str, user_inputs: &[&str], reference_year: i32) -> Estimate {
    let (chars, reading) = cheapest_reading(password, user_inputs, reference_year);
    let score = scoring::score(reading.guesses);
    Estimate {
        guesses: reading.guesses,
        score,
        feedback: feedback::feedback(score, &reading.sequence, &chars),
    }
}

/// The cheapest reading's matches as `(i, j, pattern, guesses)`, for
/// debugging a verdict. Patterns hold numbers only, never characters.
#[doc(hidden)]
pub fn explain(password: &str, user_inputs: &[&str], reference_year: i32) -> Vec<String> {
    cheapest_reading(password, user_inputs, reference_year)
        .1
        .sequence
        .iter()
        .map(|s| format!("{}..={} {:?} {}", s.m.i, s.m.j, s.m.pattern, s.guesses))
        .collect()
}
