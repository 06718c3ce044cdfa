use leptos::prelude::*;
use sspr_proto::reset::PowSolution;

use super::{StepHeading, use_wizard};
use crate::api::{self, ApiError};
use crate::components::username_field::UsernameField;
use crate::shell::use_policy;

/// Step 1: who are you? A proof of work runs in the browser instead of a
/// third-party CAPTCHA; its progress is shown.
#[component]
pub fn Identify() -> impl IntoView {
    let wizard = use_wizard();
    let (identifier, set_identifier) = signal(String::new());
    let (progress, set_progress) = signal::<Option<f64>>(None);

    let submit = crate::action::local(move |id: &String| {
        let id = id.trim().to_string();
        async move {
            let result = async {
                let ch = api::reset::challenge().await?;
                set_progress.set(Some(0.0));
                let nonce = crate::pow::solve(&ch, |p| set_progress.set(Some(p)))
                    .await
                    .ok_or_else(|| ApiError::Decode("unsolvable challenge".into()))?;
                api::reset::start(id, PowSolution { id: ch.id, nonce }).await
            }
            .await;
            set_progress.set(None);
            wizard.apply(result);
        }
    });
    let busy = submit.pending();
    let policy = use_policy();
    let methods_hint = move || {
        policy
            .get()
            .and_then(Result::ok)
            .map(|p| crate::i18n::tn("reset.identify.hint", p.methods_required.into(), &[]))
    };

    view! {
        <StepHeading>{t!("reset.identify.heading")}</StepHeading>
        <p class="hint">{methods_hint}</p>
        <form
            class="stack"
            on:submit=move |ev| {
                ev.prevent_default();
                let id = identifier.get_untracked();
                if id.trim().is_empty() {
                    wizard.error.set(Some(ApiError::Invalid {
                        key: "reset.identify.missing",
                        field: "identifier",
                    }));
                    return;
                }
                submit.dispatch(id);
            }
        >
            <UsernameField id="identifier" value=identifier set_value=set_identifier />
            {move || {
                progress
                    .get()
                    .map(|p| {
                        view! {
                            <label class="pow-progress">
                                {t!("reset.identify.pow")}
                                <progress max="100" value=((p * 100.0) as u32).to_string()></progress>
                            </label>
                        }
                    })
            }}
            <button type="submit" class="primary" disabled=move || busy.get()>
                {t!("action.next")}
            </button>
        </form>
    }
}
