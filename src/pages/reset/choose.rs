use leptos::prelude::*;
use sspr_proto::reset::{MethodKind, MethodOption};

use super::{StepHeading, use_wizard};
use crate::api;

pub fn describe(m: &MethodOption) -> String {
    match m.kind {
        MethodKind::Email => format!("Email {}", m.masked),
        MethodKind::Sms => format!("Text {}", m.masked),
        MethodKind::Authenticator => "Enter a code from my authenticator app".into(),
        MethodKind::RecoveryCode => "Use one of my recovery codes".into(),
        MethodKind::SecurityQuestions => "Answer my security questions".into(),
    }
}

/// Pick a method for this gate. Each shows its masked target.
#[component]
pub fn Choose(gate: u8, gates: u8, methods: Vec<MethodOption>) -> impl IntoView {
    let wizard = use_wizard();
    let first = methods.first().map(|m| m.id.clone()).unwrap_or_default();
    let (picked, set_picked) = signal(first);
    let go = Action::new_local(move |method: &String| {
        let (flow, method) = (wizard.flow(), method.clone());
        async move { wizard.apply(api::reset::choose(&flow, &method).await) }
    });
    let busy = go.pending();
    let heading = if gates > 1 && gate > 1 {
        "Now choose a second, different method".to_string()
    } else {
        "How should we check it's you?".to_string()
    };
    view! {
        <StepHeading>{heading}</StepHeading>
        <form
            class="stack"
            on:submit=move |ev| {
                ev.prevent_default();
                go.dispatch(picked.get_untracked());
            }
        >
            <fieldset class="choices">
                <legend class="visually-hidden">"Verification method"</legend>
                {methods
                    .into_iter()
                    .map(|m| {
                        let id = m.id.clone();
                        let id2 = m.id.clone();
                        view! {
                            <label class="choice">
                                <input
                                    type="radio"
                                    name="method"
                                    value=m.id.clone()
                                    prop:checked=move || picked.get() == id
                                    on:change=move |_| set_picked.set(id2.clone())
                                />
                                <span>{describe(&m)}</span>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <div class="actions">
                <button type="submit" class="primary" disabled=move || busy.get()>
                    "Next"
                </button>
                <button type="button" class="secondary" on:click=move |_| wizard.restart()>
                    "Start again"
                </button>
            </div>
        </form>
    }
}
