//! The strength half of the checklist as wire types: zxcvbn's score, its
//! warning and suggestions, and its crack-time estimate, each by a stable id
//! so the SPA can say them in plain (and translated) words.

use serde::{Deserialize, Serialize};

/// What zxcvbn found wrong, by stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    StraightRow,
    ShortKeyboardPattern,
    Repeats,
    RepeatedGroups,
    Top10,
    Top100,
    Common,
    SimilarToCommon,
    Sequence,
    RecentYear,
    SingleWord,
    Date,
    NameAlone,
    CommonName,
}

/// How to do better, by stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suggestion {
    FewWords,
    NoNeedForSymbols,
    AddWord,
    Capitalisation,
    AllUppercase,
    Reversed,
    Substitutions,
    LongerKeyboardPattern,
    AvoidRepeats,
    AvoidSequences,
    AvoidRecentYears,
    AvoidPersonalYears,
    AvoidPersonalDates,
}

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
        report: crate::password::Report,
    },
    /// A check arrived before its setup, or a message did not parse.
    Error,
}

#[cfg(feature = "strength")]
mod engine {
    use super::*;
    use zxcvbn::feedback::{Suggestion as S, Warning as W};

    impl From<W> for Warning {
        fn from(w: W) -> Self {
            match w {
                W::StraightRowsOfKeysAreEasyToGuess => Warning::StraightRow,
                W::ShortKeyboardPatternsAreEasyToGuess => Warning::ShortKeyboardPattern,
                W::RepeatsLikeAaaAreEasyToGuess => Warning::Repeats,
                W::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => Warning::RepeatedGroups,
                W::ThisIsATop10Password => Warning::Top10,
                W::ThisIsATop100Password => Warning::Top100,
                W::ThisIsACommonPassword => Warning::Common,
                W::ThisIsSimilarToACommonlyUsedPassword => Warning::SimilarToCommon,
                W::SequencesLikeAbcAreEasyToGuess => Warning::Sequence,
                W::RecentYearsAreEasyToGuess => Warning::RecentYear,
                W::AWordByItselfIsEasyToGuess => Warning::SingleWord,
                W::DatesAreOftenEasyToGuess => Warning::Date,
                W::NamesAndSurnamesByThemselvesAreEasyToGuess => Warning::NameAlone,
                W::CommonNamesAndSurnamesAreEasyToGuess => Warning::CommonName,
            }
        }
    }

    impl From<S> for Suggestion {
        fn from(s: S) -> Self {
            match s {
                S::UseAFewWordsAvoidCommonPhrases => Suggestion::FewWords,
                S::NoNeedForSymbolsDigitsOrUppercaseLetters => Suggestion::NoNeedForSymbols,
                S::AddAnotherWordOrTwo => Suggestion::AddWord,
                S::CapitalizationDoesntHelpVeryMuch => Suggestion::Capitalisation,
                S::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase => Suggestion::AllUppercase,
                S::ReversedWordsArentMuchHarderToGuess => Suggestion::Reversed,
                S::PredictableSubstitutionsDontHelpVeryMuch => Suggestion::Substitutions,
                S::UseALongerKeyboardPatternWithMoreTurns => Suggestion::LongerKeyboardPattern,
                S::AvoidRepeatedWordsAndCharacters => Suggestion::AvoidRepeats,
                S::AvoidSequences => Suggestion::AvoidSequences,
                S::AvoidRecentYears => Suggestion::AvoidRecentYears,
                S::AvoidYearsThatAreAssociatedWithYou => Suggestion::AvoidPersonalYears,
                S::AvoidDatesAndYearsThatAreAssociatedWithYou => Suggestion::AvoidPersonalDates,
            }
        }
    }

    impl From<&zxcvbn::Entropy> for Strength {
        fn from(e: &zxcvbn::Entropy) -> Self {
            let feedback = e.feedback();
            let seconds =
                std::time::Duration::from(e.crack_times().offline_slow_hashing_1e4_per_second());
            Strength {
                score: e.score() as u8,
                warning: feedback.and_then(|f| f.warning()).map(Warning::from),
                suggestions: feedback
                    .map(|f| {
                        f.suggestions()
                            .iter()
                            .copied()
                            .map(Suggestion::from)
                            .collect()
                    })
                    .unwrap_or_default(),
                crack_time: CrackTime::from_seconds(seconds.as_secs()),
            }
        }
    }
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
