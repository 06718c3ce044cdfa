//! The password checklist as wire types: each rule's outcome, and zxcvbn's
//! score, warning, suggestions and crack-time estimate, each by a stable id
//! so the SPA can say them in plain (and translated) words. The engine that
//! fills them in is `sspr-policy`.

use serde::{Deserialize, Serialize};

use crate::ErrorId;

pub use sspr_guesses::{Suggestion, Warning};

/// The unit of a crack-time estimate, so each locale can phrase it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Instant,
    Seconds,
    Minutes,
    Hours,
    Days,
    Months,
    Years,
    Centuries,
}

/// How long an offline attack on a slow hash (10⁴ guesses a second, zxcvbn's
/// "offline slow hashing" scenario) would take: `count` of `unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrackTime {
    pub unit: TimeUnit,
    pub count: u64,
}

impl CrackTime {
    /// zxcvbn's own rounding: whole units, months of 31 days.
    pub fn from_seconds(seconds: u64) -> Self {
        const MINUTE: u64 = 60;
        const HOUR: u64 = 60 * MINUTE;
        const DAY: u64 = 24 * HOUR;
        const MONTH: u64 = 31 * DAY;
        const YEAR: u64 = 12 * MONTH;
        const CENTURY: u64 = 100 * YEAR;
        let (unit, per) = match seconds {
            0 => (TimeUnit::Instant, 1),
            s if s < MINUTE => (TimeUnit::Seconds, 1),
            s if s < HOUR => (TimeUnit::Minutes, MINUTE),
            s if s < DAY => (TimeUnit::Hours, HOUR),
            s if s < MONTH => (TimeUnit::Days, DAY),
            s if s < YEAR => (TimeUnit::Months, MONTH),
            s if s < CENTURY => (TimeUnit::Years, YEAR),
            _ => (TimeUnit::Centuries, CENTURY),
        };
        let count = match unit {
            TimeUnit::Instant | TimeUnit::Centuries => 0,
            _ => seconds / per,
        };
        CrackTime { unit, count }
    }
}

/// zxcvbn's assessment of a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strength {
    /// 0 (too guessable) to 4 (very unguessable).
    pub score: u8,
    pub warning: Option<Warning>,
    pub suggestions: Vec<Suggestion>,
    pub crack_time: CrackTime,
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
/// [`Report::verdict`]. Both get it from `sspr_policy::report`, so they
/// cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub checks: Vec<Check>,
    /// Absent for an empty password.
    pub strength: Option<Strength>,
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

/// What the SPA asks its strength worker. Messages are JSON strings.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerRequest {
    /// The user's context; sent once per page, before any check.
    Setup(crate::config::PasswordContext),
    /// Check one password. Only the newest `id` matters to the page.
    Check { id: u32, password: String },
}

impl std::fmt::Debug for WorkerRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkerRequest::Setup(c) => f.debug_tuple("Setup").field(c).finish(),
            WorkerRequest::Check { id, .. } => f
                .debug_struct("Check")
                .field("id", id)
                .finish_non_exhaustive(),
        }
    }
}

/// What the worker answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerReply {
    /// Loaded and listening: the page may send.
    Ready,
    Report {
        id: u32,
        report: Report,
    },
    /// A check arrived before its setup, or a message did not parse.
    Error,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crack_times_round_down_to_whole_units_like_zxcvbn() {
        let t = |s| CrackTime::from_seconds(s);
        assert_eq!(t(0).unit, TimeUnit::Instant);
        assert_eq!(
            t(1),
            CrackTime {
                unit: TimeUnit::Seconds,
                count: 1
            }
        );
        assert_eq!(t(59).count, 59);
        assert_eq!(
            t(60),
            CrackTime {
                unit: TimeUnit::Minutes,
                count: 1
            }
        );
        assert_eq!(
            t(3 * 3600 + 5),
            CrackTime {
                unit: TimeUnit::Hours,
                count: 3
            }
        );
        assert_eq!(
            t(40 * 86400),
            CrackTime {
                unit: TimeUnit::Months,
                count: 1
            }
        );
        assert_eq!(
            t(5 * 372 * 86400),
            CrackTime {
                unit: TimeUnit::Years,
                count: 5
            }
        );
        assert_eq!(t(u64::MAX).unit, TimeUnit::Centuries);
    }

    #[test]
    fn ids_are_stable_snake_case() {
        let json = |v: Result<String, _>| v.unwrap();
        assert_eq!(
            json(serde_json::to_string(&Warning::SimilarToCommon)),
            "\"similar_to_common\""
        );
        assert_eq!(
            json(serde_json::to_string(&Suggestion::AvoidPersonalDates)),
            "\"avoid_personal_dates\""
        );
        assert_eq!(
            json(serde_json::to_string(&TimeUnit::Centuries)),
            "\"centuries\""
        );
    }
}
