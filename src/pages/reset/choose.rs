use leptos::prelude::*;
use sspr_proto::reset::{MethodKind, MethodOption};

use super::{StepHeading, use_wizard};
use crate::api;
use crate::i18n::{t, tf};

pub fn describe(m: &MethodOption) -> String {
    let target = [("target", m.masked.as_str())];
    match m.kind {
        MethodKind::Email => tf("reset.choose.email", &target),
        MethodKind::Sms if m.call => tf("reset.choose.call", &target),
        MethodKind::Sms => tf("reset.choose.sms", &target),
        MethodKind::OfficePhone => tf("reset.choose.office_phone", &target),
        MethodKind::Authenticator => t("reset.choose.authenticator"),
        MethodKind::RecoveryCode => t("reset.choose.recovery_code"),
        MethodKind::SecurityQuestions => t("reset.choose.questions"),
        MethodKind::Passkey => t("passkey.use"),
    }
}

/// Pick a method for this gate. Each shows its masked target.
#[component]
pub fn Choose(gate: u8, gates: u8, methods: Vec<MethodOption>) -> impl IntoView {
    let wizard = use_wizard();
    let first = methods.first().map(|m| m.id.clone()).unwrap_or_default();
    let (picked, set_picked) = signal(first);
    let go = crate::action::local(move |method: &String| {
        let (flow, method) = (wizard.flow(), method.clone());
        async move { wizard.apply(api::reset::choose(&flow, &method).await) }
    });
    let busy = go.pending();
    let heading = move || {
        t(if gates > 1 && gate > 1 {
            "reset.choose.heading_second"
        } else {
            "reset.choose.heading"
        })
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
                <legend class="visually-hidden">{t!("reset.choose.legend")}</legend>
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
                                <span>{move || describe(&m)}</span>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <div class="actions">
                <button type="submit" class="primary" disabled=move || busy.get()>
                    {t!("action.next")}
                </button>
                <button type="button" class="secondary" on:click=move |_| wizard.restart()>
                    {t!("reset.choose.start_again")}
                </button>
            </div>
        </form>
    }
}
