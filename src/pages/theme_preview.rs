use leptos::prelude::*;
use sspr_proto::strength::{CrackTime, Strength, Suggestion, TimeUnit, Warning};
use sspr_proto::{ErrorDetail, ErrorId};

use crate::api::ApiError;
use crate::app::{use_page_title, use_theme};
use crate::components::error_box::ErrorBox;
use crate::components::helpdesk_link::HelpdeskLink;
use crate::components::qr::QrCode;
use crate::components::strength_meter::StrengthMeter;

/// Every component in each of its states, once per palette, so IT can
/// check a theme file's branding (and edit, reload, check again).
#[component]
pub fn ThemePreview() -> impl IntoView {
    use_page_title("Theme preview");
    view! {
        <h1 tabindex="-1">"Theme preview"</h1>
        <p class="lead">
            "Every part of the portal in each of its states, in the light and the dark palette, as your theme file draws them. Edit the file and reload this page: no restart needed."
        </p>
        <Palette scheme="light" title="Light palette" />
        <Palette scheme="dark" title="Dark palette" />
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
fn Palette(scheme: &'static str, title: &'static str) -> impl IntoView {
    let theme = use_theme();
    let id = |name: &str| format!("{scheme}-{name}");
    let heading = id("heading");
    let labelled_by = heading.clone();
    let error = Signal::stored(Some(ApiError::Api {
        status: 422,
        detail: ErrorDetail {
            id: ErrorId::CodeInvalid,
            message: ErrorId::CodeInvalid.default_message().into(),
            field: Some("code".into()),
            retry_after: None,
        },
    }));
    let steps = [
        ("Identify", "done"),
        ("Verify", "current"),
        ("New password", "todo"),
        ("Done", "todo"),
    ];
    view! {
        <section class=format!("preview preview-{scheme}") aria-labelledby=labelled_by>
            <h2 id=heading>{title}</h2>
            <div class="stack">
                <p class="lead">
                    {move || theme.get().and_then(Result::ok).and_then(|t| t.reset_intro)}
                </p>
                <ol class="progress" aria-label=format!("Progress ({title})")>
                    {steps
                        .into_iter()
                        .map(|(label, state)| {
                            view! {
                                <li class=state aria-current=(state == "current").then_some("step")>
                                    {label}
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
                <fieldset class="choices">
                    <legend>"A choice of method"</legend>
                    <label class="choice">
                        <input type="radio" name=id("method") checked />
                        <span>"Authenticator app"</span>
                    </label>
                    <label class="choice">
                        <input type="radio" name=id("method") />
                        <span>"Email a••••@example.com"</span>
                    </label>
                </fieldset>
                <div>
                    <label for=id("name")>"A text field"</label>
                    <input id=id("name") type="text" value="alice@example.com" />
                </div>
                <div>
                    <label for=id("code")>"A field with an error"</label>
                    <input
                        id=id("code")
                        type="text"
                        value="123"
                        aria-invalid="true"
                        aria-describedby=id("code-error")
                    />
                    <p id=id("code-error") class="field-error">"Enter the 6-digit code."</p>
                </div>
                <ErrorBox error=error />
                {(0..=4u8)
                    .map(|s| view! { <StrengthMeter strength=Signal::stored(Some(sample_strength(s))) /> })
                    .collect_view()}
                <QrCode
                    text="otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example".into()
                    label="A sample QR code"
                />
                <div class="actions">
                    <button type="button" class="primary">"Primary"</button>
                    <button type="button" class="secondary">"Secondary"</button>
                    <button type="button" class="primary" disabled>"Disabled"</button>
                    <button type="button" class="link">"A link-style button"</button>
                </div>
                <p>
                    {move || theme.get().and_then(Result::ok).map(|t| view! { <HelpdeskLink theme=t /> })}
                </p>
            </div>
        </section>
    }
}
