use leptos::prelude::*;
use sspr_proto::strength::{CrackTime, Strength, Suggestion, TimeUnit, Warning};
use sspr_proto::{ErrorDetail, ErrorId};

use crate::api::ApiError;
use crate::components::error_box::ErrorBox;
use crate::components::helpdesk_link::HelpdeskLink;
use crate::components::qr::QrCode;
use crate::components::strength_meter::StrengthMeter;
use crate::i18n::{t, tf};
use crate::shell::{use_page_title, use_theme};

/// Every component in each of its states, once per palette, so IT can
/// check a theme file's branding (and edit, reload, check again).
#[component]
pub fn ThemePreview() -> impl IntoView {
    use_page_title("preview.title");
    view! {
        <h1 tabindex="-1">{t!("preview.title")}</h1>
        <p class="lead">{t!("preview.lead")}</p>
        <Palette scheme="light" title="preview.light" />
        <Palette scheme="dark" title="preview.dark" />
    }
}

fn sample_strength(score: u8) -> Strength {
    let (warning, suggestions, unit, count) = match score {
        0 => (
            Some(Warning::Top10),
            vec![Suggestion::AddWord],
            TimeUnit::Instant,
            0,
        ),
        1 => (
            Some(Warning::SimilarToCommon),
            vec![Suggestion::AddWord, Suggestion::Substitutions],
            TimeUnit::Minutes,
            5,
        ),
        2 => (
            Some(Warning::RecentYear),
            vec![Suggestion::AvoidRecentYears],
            TimeUnit::Days,
            3,
        ),
        3 => (None, vec![], TimeUnit::Years, 12),
        _ => (None, vec![], TimeUnit::Centuries, 0),
    };
    Strength {
        score,
        warning,
        suggestions,
        crack_time: CrackTime { unit, count },
    }
}

#[component]
fn Palette(
    scheme: &'static str,
    /// The heading's catalog key.
    title: &'static str,
) -> impl IntoView {
    let theme = use_theme();
    let id = |name: &str| format!("{scheme}-{name}");
    let heading = id("heading");
    let labelled_by = heading.clone();
    let error = Signal::stored(Some(ApiError::Api {
        status: 422,
        detail: ErrorDetail {
            id: ErrorId::CodeInvalid,
            message: String::new(),
            field: Some("code".into()),
            retry_after: None,
        },
    }));
    let steps = [
        ("reset.progress.identify", "done"),
        ("reset.progress.verify", "current"),
        ("reset.progress.new_password", "todo"),
        ("reset.progress.done", "todo"),
    ];
    view! {
        <section class=format!("preview preview-{scheme}") aria-labelledby=labelled_by>
            <h2 id=heading>{move || t(title)}</h2>
            <div class="stack">
                <p class="lead" dir="auto">
                    {move || theme.get().and_then(Result::ok).and_then(|t| t.reset_intro)}
                </p>
                <ol class="progress" aria-label=move || tf("preview.progress", &[("palette", &t(title))])>
                    {steps
                        .into_iter()
                        .map(|(label, state)| {
                            view! {
                                <li class=state aria-current=(state == "current").then_some("step")>
                                    {move || t(label)}
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
                <fieldset class="choices">
                    <legend>{t!("preview.choice")}</legend>
                    <label class="choice">
                        <input type="radio" name=id("method") checked />
                        <span>{t!("method.authenticator")}</span>
                    </label>
                    <label class="choice">
                        <input type="radio" name=id("method") />
                        <span>{move || tf("reset.choose.email", &[("target", "a••••@example.com")])}</span>
                    </label>
                </fieldset>
                <div>
                    <label for=id("name")>{t!("preview.text_field")}</label>
                    <input id=id("name") type="text" value="alice@example.com" />
                </div>
                <div>
                    <label for=id("code")>{t!("preview.error_field")}</label>
                    <input
                        id=id("code")
                        type="text"
                        value="123"
                        aria-invalid="true"
                        aria-describedby=id("code-error")
                    />
                    <p id=id("code-error") class="field-error">{t!("preview.field_error")}</p>
                </div>
                <ErrorBox error=error />
                {(0..=4u8)
                    .map(|s| view! { <StrengthMeter strength=Signal::stored(Some(sample_strength(s))) /> })
                    .collect_view()}
                <QrCode
                    text="otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example".into()
                    label="preview.qr"
                />
                <div class="actions">
                    <button type="button" class="primary">{t!("preview.primary")}</button>
                    <button type="button" class="secondary">{t!("preview.secondary")}</button>
                    <button type="button" class="primary" disabled>{t!("preview.disabled")}</button>
                    <button type="button" class="link">{t!("preview.link")}</button>
                </div>
                <p>
                    {move || theme.get().and_then(Result::ok).map(|t| view! { <HelpdeskLink theme=t /> })}
                </p>
            </div>
        </section>
    }
}
