//! zxcvbn's feedback: a warning and suggestions for a weak password, tied to
//! the longest match of its cheapest reading.

use crate::dictionary::Dictionary;
use crate::matching::{Pattern, all_upper, starts_upper};
use crate::scoring::Scored;

/// What zxcvbn found wrong, by stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
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

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Feedback {
    pub warning: Option<Warning>,
    pub suggestions: Vec<Suggestion>,
}

pub fn feedback(score: u8, sequence: &[Scored], password: &[char]) -> Feedback {
    use Suggestion as S;
    if sequence.is_empty() {
        return Feedback {
            warning: None,
            suggestions: vec![S::FewWords, S::NoNeedForSymbols],
        };
    }
    if score > 2 {
        return Feedback::default();
    }
    let mut longest = &sequence[0];
    for s in &sequence[1..] {
        if s.m.chars() > longest.m.chars() {
            longest = s;
        }
    }
    let (warning, mut suggestions) = for_match(longest, sequence.len() == 1, password);
    suggestions.insert(0, S::AddWord);
    Feedback {
        warning,
        suggestions,
    }
}

fn for_match(s: &Scored, sole: bool, password: &[char]) -> (Option<Warning>, Vec<Suggestion>) {
    use Suggestion as S;
    use Warning as W;
    let token = &password[s.m.i..=s.m.j];
    match s.m.pattern {
        Pattern::Dictionary {
            dictionary,
            rank,
            reversed,
            l33t,
            ..
        } => {
            let warning = match dictionary {
                Dictionary::Passwords if sole && !l33t && !reversed => Some(match rank {
                    0..=10 => W::Top10,
                    11..=100 => W::Top100,
                    _ => W::Common,
                }),
                Dictionary::Passwords => (s.guesses.log10() <= 4.0).then_some(W::SimilarToCommon),
                Dictionary::EnglishWikipedia => sole.then_some(W::SingleWord),
                Dictionary::Surnames | Dictionary::MaleNames | Dictionary::FemaleNames => {
                    Some(if sole { W::NameAlone } else { W::CommonName })
                }
                Dictionary::UsTvAndFilm | Dictionary::UserInputs => None,
            };
            let mut suggestions = Vec::new();
            if starts_upper(token) {
                suggestions.push(S::Capitalisation);
            } else if all_upper(token) && token.iter().any(char::is_ascii_uppercase) {
                suggestions.push(S::AllUppercase);
            }
            if reversed && token.len() >= 4 {
                suggestions.push(S::Reversed);
            }
            if l33t {
                suggestions.push(S::Substitutions);
            }
            (warning, suggestions)
        }
        Pattern::Spatial { turns, .. } => (
            Some(if turns == 1 {
                W::StraightRow
            } else {
                W::ShortKeyboardPattern
            }),
            vec![S::LongerKeyboardPattern],
        ),
        Pattern::Repeat { base_chars, .. } => (
            Some(if base_chars == 1 {
                W::Repeats
            } else {
                W::RepeatedGroups
            }),
            vec![S::AvoidRepeats],
        ),
        Pattern::Sequence { .. } => (Some(W::Sequence), vec![S::AvoidSequences]),
        Pattern::RecentYear { .. } => (
            Some(W::RecentYear),
            vec![S::AvoidRecentYears, S::AvoidPersonalYears],
        ),
        Pattern::Date { .. } => (Some(W::Date), vec![S::AvoidPersonalDates]),
        Pattern::Bruteforce => (None, vec![]),
    }
}
