use leptos::prelude::*;
use sspr_proto::passkey::NAME_MAX;
use sspr_proto::security_info::SecurityInfoView;

use super::{FocusHeading, Info, Retry, use_info};
use crate::api;
use crate::i18n::t;

/// Adds a passkey: the user names it, then the browser makes it (the
/// device's lock: face, fingerprint or PIN). The server checks the name.
#[component]
pub fn AddPasskey(on_done: Callback<SecurityInfoView>, cancel: Callback<()>) -> impl IntoView {
    let info = use_info();
    let (name, set_name) = signal(t("passkey.name_default"));
    let add = crate::action::local(move |n: &String| add_passkey(info, on_done, n.clone()));
    let busy = add.pending();
    view! {
        <FocusHeading>{t!("passkey.add_heading")}</FocusHeading>
        <form
            class="stack"
            on:submit=move |ev| {
                ev.prevent_default();
                add.dispatch(name.get_untracked());
            }
        >
            <label for="passkey-name">{t!("passkey.name_label")}</label>
            <p id="passkey-name-hint" class="hint">{t!("passkey.name_hint")}</p>
            <input
                id="passkey-name"
                type="text"
                maxlength=NAME_MAX.to_string()
                autocomplete="off"
                aria-describedby="passkey-name-hint"
                required
                prop:value=move || name.get()
                on:input=move |ev| set_name.set(event_target_value(&ev))
            />
            <div class="actions">
                <button type="submit" class="primary" disabled=move || busy.get()>{t!("passkey.create")}</button>
                <button type="button" class="secondary" on:click=move |_| cancel.run(())>{t!("action.back")}</button>
            </div>
        </form>
    }
}

/// Makes and stores a passkey named `name`; after a step-up the server
/// asked for, again.
async fn add_passkey(info: Info, on_done: Callback<SecurityInfoView>, name: String) {
    match api::passkey::add(&name).await {
        Ok(v) => {
            info.error.set(None);
            on_done.run(v);
        }
        Err(e) => {
            let retry = Retry::new(move || {
                leptos::task::spawn_local(add_passkey(info, on_done, name.clone()));
            });
            if !info.wants_stepup(&e, retry) {
                info.error.set(Some(e));
            }
        }
    }
}
