use leptos::prelude::*;
use sspr_proto::strength::{CrackTime, Strength, Suggestion, TimeUnit, Warning};

use crate::i18n::{t, tf, tn};

/// zxcvbn's score in words, 0 to 4.
pub fn score_text(score: u8) -> String {
    t(match score {
        0 => "strength.score.0",
        1 => "strength.score.1",
        2 => "strength.score.2",
        3 => "strength.score.3",
        _ => "strength.score.4",
    })
}

pub fn warning_text(w: Warning) -> String {
    t(match w {
        Warning::StraightRow => "strength.warning.straight_row",
        Warning::ShortKeyboardPattern => "strength.warning.short_keyboard_pattern",
        Warning::Repeats => "strength.warning.repeats",
        Warning::RepeatedGroups => "strength.warning.repeated_groups",
        Warning::Top10 => "strength.warning.top10",
        Warning::Top100 => "strength.warning.top100",
        Warning::Common => "strength.warning.common",
        Warning::SimilarToCommon => "strength.warning.similar_to_common",
        Warning::Sequence => "strength.warning.sequence",
        Warning::RecentYear => "strength.warning.recent_year",
        Warning::SingleWord => "strength.warning.single_word",
        Warning::Date => "strength.warning.date",
        Warning::NameAlone => "strength.warning.name_alone",
        Warning::CommonName => "strength.warning.common_name",
    })
}

pub fn suggestion_text(s: Suggestion) -> String {
    t(match s {
        Suggestion::FewWords => "strength.suggestion.few_words",
        Suggestion::NoNeedForSymbols => "strength.suggestion.no_need_for_symbols",
        Suggestion::AddWord => "strength.suggestion.add_word",
        Suggestion::Capitalisation => "strength.suggestion.capitalisation",
        Suggestion::AllUppercase => "strength.suggestion.all_uppercase",
        Suggestion::Reversed => "strength.suggestion.reversed",
        Suggestion::Substitutions => "strength.suggestion.substitutions",
        Suggestion::LongerKeyboardPattern => "strength.suggestion.longer_keyboard_pattern",
        Suggestion::AvoidRepeats => "strength.suggestion.avoid_repeats",
        Suggestion::AvoidSequences => "strength.suggestion.avoid_sequences",
        Suggestion::AvoidRecentYears => "strength.suggestion.avoid_recent_years",
        Suggestion::AvoidPersonalYears => "strength.suggestion.avoid_personal_years",
        Suggestion::AvoidPersonalDates => "strength.suggestion.avoid_personal_dates",
    })
}

/// "3 hours", "less than a second", "centuries".
pub fn crack_time_text(c: CrackTime) -> String {
    let n = c.count;
    match c.unit {
        TimeUnit::Instant => t("strength.time.instant"),
        TimeUnit::Seconds => tn("strength.time.seconds", n, &[]),
        TimeUnit::Minutes => tn("strength.time.minutes", n, &[]),
        TimeUnit::Hours => tn("strength.time.hours", n, &[]),
        TimeUnit::Days => tn("strength.time.days", n, &[]),
        TimeUnit::Months => tn("strength.time.months", n, &[]),
        TimeUnit::Years => tn("strength.time.years", n, &[]),
        TimeUnit::Centuries => t("strength.time.centuries"),
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
                    None => t("strength.not_rated"),
                    Some(s) => tf(
                        "strength.summary",
                        &[("score", &score_text(s.score)), ("time", &crack_time_text(s.crack_time))],
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
