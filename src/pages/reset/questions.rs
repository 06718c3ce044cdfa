use leptos::prelude::*;

use super::{StepHeading, use_wizard};
use crate::api;

/// Answer the security questions: one labelled field per question. Case and
/// spacing do not matter.
#[component]
pub fn Questions(questions: Vec<String>) -> impl IntoView {
    let wizard = use_wizard();
    let answers: Vec<RwSignal<String>> = questions
        .iter()
        .map(|_| RwSignal::new(String::new()))
        .collect();
    let all = answers.clone();
    let check = crate::action::local(move |given: &Vec<String>| {
        let (flow, given) = (wizard.flow(), given.clone());
        async move { wizard.apply(api::reset::answers(&flow, given).await) }
    });
    let back = crate::action::local(move |_: &()| {
        let flow = wizard.flow();
        async move { wizard.apply(api::reset::back(&flow).await) }
    });
    view! {
        <StepHeading>{t!("reset.questions.heading")}</StepHeading>
        <p>{t!("reset.questions.hint")}</p>
        <form
            class="stack"
            on:submit=move |ev| {
                ev.prevent_default();
                check.dispatch(all.iter().map(|a| a.get_untracked()).collect());
            }
        >
            {questions
                .into_iter()
                .zip(answers)
                .enumerate()
                .map(|(i, (q, a))| {
                    let id = format!("answer-{i}");
                    view! {
                        <label for=id.clone()>{q}</label>
                        <input
                            id=id
                            type="text"
                            autocomplete="off"
                            autocapitalize="off"
                            spellcheck="false"
                            maxlength="40"
                            required
                            prop:value=move || a.get()
                            on:input=move |ev| a.set(event_target_value(&ev))
                        />
                    }
                })
                .collect_view()}
            <div class="actions">
                <button type="submit" class="primary" disabled=move || check.pending().get()>{t!("action.verify")}</button>
                <button type="button" class="secondary" on:click=move |_| { back.dispatch(()); }>
                    {t!("reset.other_method")}
                </button>
            </div>
        </form>
    }
}
