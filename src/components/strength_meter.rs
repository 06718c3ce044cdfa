use leptos::prelude::*;
use sspr_proto::strength::{CrackTime, Strength, Suggestion, TimeUnit, Warning};

/// zxcvbn's score in words, 0 to 4.
pub fn score_text(score: u8) -> &'static str {
    match score {
        0 => "Very weak",
        1 => "Weak",
        2 => "Fair",
        3 => "Strong",
        _ => "Very strong",
    }
}

pub fn warning_text(w: Warning) -> &'static str {
    match w {
        Warning::StraightRow => "Straight rows of keys are easy to guess.",
        Warning::ShortKeyboardPattern => "Short keyboard patterns are easy to guess.",
        Warning::Repeats => "Repeats like \u{201c}aaa\u{201d} are easy to guess.",
        Warning::RepeatedGroups => {
            "Repeats like \u{201c}abcabc\u{201d} are only slightly harder to guess than \u{201c}abc\u{201d}."
        }
        Warning::Top10 => "This is one of the ten most common passwords.",
        Warning::Top100 => "This is one of the hundred most common passwords.",
        Warning::Common => "This is a very common password.",
        Warning::SimilarToCommon => "This is similar to a commonly used password.",
        Warning::Sequence => "Sequences like abc or 6543 are easy to guess.",
        Warning::RecentYear => "Recent years are easy to guess.",
        Warning::SingleWord => "A word by itself is easy to guess.",
        Warning::Date => "Dates are often easy to guess.",
        Warning::NameAlone => "Names and surnames by themselves are easy to guess.",
        Warning::CommonName => "Common names and surnames are easy to guess.",
    }
}

pub fn suggestion_text(s: Suggestion) -> &'static str {
    match s {
        Suggestion::FewWords => "Use a few words, and avoid common phrases.",
        Suggestion::NoNeedForSymbols => "No need for symbols, digits or capital letters.",
        Suggestion::AddWord => "Add another word or two. Uncommon words are better.",
        Suggestion::Capitalisation => "Capital letters don\u{2019}t help very much.",
        Suggestion::AllUppercase => {
            "All capitals are almost as easy to guess as all small letters."
        }
        Suggestion::Reversed => "Reversed words aren\u{2019}t much harder to guess.",
        Suggestion::Substitutions => {
            "Predictable swaps like \u{201c}@\u{201d} for \u{201c}a\u{201d} don\u{2019}t help very much."
        }
        Suggestion::LongerKeyboardPattern => "Use a longer keyboard pattern with more turns.",
        Suggestion::AvoidRepeats => "Avoid repeated words and characters.",
        Suggestion::AvoidSequences => "Avoid sequences.",
        Suggestion::AvoidRecentYears => "Avoid recent years.",
        Suggestion::AvoidPersonalYears => "Avoid years that are associated with you.",
        Suggestion::AvoidPersonalDates => "Avoid dates and years that are associated with you.",
    }
}

/// "3 hours", "less than a second", "centuries".
pub fn crack_time_text(t: CrackTime) -> String {
    let unit =
        |one: &str, many: &str| format!("{} {}", t.count, if t.count == 1 { one } else { many });
    match t.unit {
        TimeUnit::Instant => "less than a second".into(),
        TimeUnit::Seconds => unit("second", "seconds"),
        TimeUnit::Minutes => unit("minute", "minutes"),
        TimeUnit::Hours => unit("hour", "hours"),
        TimeUnit::Days => unit("day", "days"),
        TimeUnit::Months => unit("month", "months"),
        TimeUnit::Years => unit("year", "years"),
        TimeUnit::Centuries => "centuries".into(),
    }
}

/// The strength bar with its words: the score, zxcvbn's warning and
/// suggestions, and how long a slow offline attack would take.
#[component]
pub fn StrengthMeter(
    /// zxcvbn's assessment of the current password, if any.
    strength: Signal<Option<Strength>>,
) -> impl IntoView {
    let score = move || strength.with(|s| s.as_ref().map(|s| s.score));
    view! {
        <div class="strength" data-score=move || score().map(|s| s.to_string())>
            <div class="strength-bar" aria-hidden="true">
                <span></span><span></span><span></span><span></span>
            </div>
            <p class="strength-label">
                {move || match strength.get() {
                    None => "Strength: not rated yet".to_string(),
                    Some(s) => format!(
                        "Strength: {}. Guessing it would take {}.",
                        score_text(s.score),
                        crack_time_text(s.crack_time)
                    ),
                }}
            </p>
            {move || {
                strength.get().filter(|s| s.warning.is_some() || !s.suggestions.is_empty()).map(|s| {
                    view! {
                        <ul class="strength-hints">
                            {s.warning.map(|w| view! { <li class="warning">{warning_text(w)}</li> })}
                            {s.suggestions.into_iter().map(|x| view! { <li>{suggestion_text(x)}</li> }).collect_view()}
                        </ul>
                    }
                })
            }}
        </div>
    }
}
