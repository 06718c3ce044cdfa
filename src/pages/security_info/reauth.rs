use leptos::prelude::*;

use super::methods_list::{new_codes, remove};
use super::{AfterReauth, FocusHeading, use_info};
use crate::api;
use crate::components::password_field::PasswordField;

/// "Enter your password again": sensitive changes need a recent proof. On
/// success the change that asked for it runs again.
#[component]
pub fn Reauth() -> impl IntoView {
    let info = use_info();
    let (password, set_password) = signal(String::new());
    let submit = crate::action::local(move |pw: &String| {
        let pw = pw.clone();
        async move {
            if info.apply(api::security_info::reauth(pw).await) {
                match info.reauth.get_untracked() {
                    Some(AfterReauth::Remove(id)) => remove(info, id).await,
                    Some(AfterReauth::NewRecoveryCodes) => new_codes(info).await,
                    None => {}
                }
                info.reauth.set(None);
            }
        }
    });
    view! {
        <section class="reauth">
            <FocusHeading>{t!("reauth.heading")}</FocusHeading>
            <p>{t!("reauth.body")}</p>
            <form class="stack" on:submit=move |ev| { ev.prevent_default(); submit.dispatch(password.get_untracked()); }>
                <PasswordField id="reauth-password" label="field.password" value=password set_value=set_password />
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || submit.pending().get()>{t!("action.continue")}</button>
                    <button type="button" class="secondary" on:click=move |_| { info.error.set(None); info.reauth.set(None); }>{t!("action.cancel")}</button>
                </div>
            </form>
        </section>
    }
}
