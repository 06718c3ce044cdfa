use leptos::prelude::*;

use super::{StepHeading, use_wizard};
use crate::api;

/// Prove it with a passkey: the browser asks for the device's lock (face,
/// fingerprint, PIN). The request names no account.
#[component]
pub fn UsePasskey() -> impl IntoView {
    let wizard = use_wizard();
    let prove = crate::action::local(move |_: &()| {
        let flow = wizard.flow();
        async move { wizard.apply(api::passkey::reset(&flow).await) }
    });
    let back = crate::action::local(move |_: &()| {
        let flow = wizard.flow();
        async move { wizard.apply(api::reset::back(&flow).await) }
    });
    let busy = prove.pending();
    view! {
        <StepHeading>{t!("passkey.reset_heading")}</StepHeading>
        <p>{t!("passkey.reset_hint")}</p>
        <div class="actions">
            <button type="button" class="primary" disabled=move || busy.get() on:click=move |_| { prove.dispatch(()); }>
                {t!("passkey.use")}
            </button>
            <button type="button" class="secondary" on:click=move |_| { back.dispatch(()); }>
                {t!("reset.other_method")}
            </button>
        </div>
    }
}
