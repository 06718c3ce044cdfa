use leptos::prelude::*;
use sspr_proto::ErrorId;

use crate::api::{self, ApiError};
use crate::components::app_link::AppLink;
use crate::components::error_box::ErrorBox;
use crate::components::new_password_field::NewPasswordField;
use crate::components::password_field::PasswordField;
use crate::shell::use_page_title;

/// Change the password while signed in: the current one, then a new one with
/// the same live checklist as the reset wizard.
#[component]
pub fn ChangePassword() -> impl IntoView {
    use_page_title("change_password.title");
    let (current, set_current) = signal(String::new());
    let (new, set_new) = signal(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let (done, set_done) = signal(false);
    let context = LocalResource::new(api::security_info::password_context);
    let context = Signal::derive(move || context.get().and_then(Result::ok));
    let save = crate::action::local(move |(c, n): &(String, String)| {
        let (c, n) = (c.clone(), n.clone());
        async move {
            match api::security_info::change_password(c, n).await {
                Ok(()) => {
                    error.set(None);
                    set_done.set(true);
                }
                Err(e) => error.set(Some(e)),
            }
        }
    });
    let wrong_current = move || {
        error.with(|e| {
            e.as_ref().is_some_and(|e| {
                matches!(e, ApiError::Api { detail, .. } if detail.field.as_deref() == Some("current"))
            })
        })
    };
    let needs_sign_in = move || {
        error.with(|e| {
            e.as_ref()
                .is_some_and(|e| e.id() == ErrorId::SessionRequired)
        })
    };
    view! {
        <h1>{t!("change_password.title")}</h1>
        {move || if done.get() {
            view! {
                <div class="notice" role="status">
                    <p>{t!("change_password.done")}</p>
                    <p><AppLink href="/security-info">{t!("change_password.back")}</AppLink></p>
                </div>
            }.into_any()
        } else {
            view! {
                <ErrorBox error=Signal::derive(move || error.get().filter(|_| !wrong_current())) />
                {move || needs_sign_in().then(|| view! { <p><AppLink href="/signin">{t!("action.sign_in_again")}</AppLink></p> })}
                <form class="stack" on:submit=move |ev| {
                    ev.prevent_default();
                    save.dispatch((current.get_untracked(), new.get_untracked()));
                }>
                    <PasswordField id="current-password" label="change_password.current" value=current set_value=set_current invalid=Signal::derive(wrong_current) />
                    <p id="current-password-error" class="field-error" role="alert">
                        {move || wrong_current().then(|| crate::i18n::t("change_password.wrong_current"))}
                    </p>
                    <NewPasswordField value=new set_value=set_new context=context />
                    <button type="submit" class="primary" disabled=move || save.pending().get()>{t!("change_password.title")}</button>
                </form>
                <p><AppLink href="/security-info">{t!("action.cancel")}</AppLink></p>
            }.into_any()
        }}
    }
}
