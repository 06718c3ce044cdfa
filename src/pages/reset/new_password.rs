use leptos::prelude::*;
use sspr_proto::config::PasswordContext;

use super::{StepHeading, use_wizard};
use crate::api;
use crate::components::new_password_field::NewPasswordField;

/// Choose the new password (or unlock instead, where the account is locked).
/// The checklist runs in the strength worker on every keystroke; the password
/// leaves the page only on submit, where the server gives the same verdict.
#[component]
pub fn NewPassword(unlock_available: bool, context: PasswordContext) -> impl IntoView {
    let wizard = use_wizard();
    let (password, set_password) = signal(String::new());
    let save = crate::action::local(move |pw: &String| {
        let (flow, pw) = (wizard.flow(), pw.clone());
        async move { wizard.apply(api::reset::password(&flow, &pw).await) }
    });
    let unlock = crate::action::local(move |_: &()| {
        let flow = wizard.flow();
        async move { wizard.apply(api::reset::unlock(&flow).await) }
    });
    let busy = save.pending();

    view! {
        <StepHeading>{t!("reset.new_password.heading")}</StepHeading>
        <form
            class="stack"
            on:submit=move |ev| {
                ev.prevent_default();
                save.dispatch(password.get_untracked());
            }
        >
            <NewPasswordField
                value=password
                set_value=set_password
                context=Signal::derive(move || Some(context.clone()))
            />
            <button type="submit" class="primary" disabled=move || busy.get()>
                {t!("reset.new_password.submit")}
            </button>
        </form>
        {unlock_available
            .then(|| {
                view! {
                    <div class="notice">
                        <p>{t!("reset.new_password.locked")}</p>
                        <button type="button" class="secondary" on:click=move |_| { unlock.dispatch(()); }>
                            {t!("reset.new_password.unlock")}
                        </button>
                    </div>
                }
            })}
    }
}
