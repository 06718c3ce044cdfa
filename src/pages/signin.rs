use crate::components::app_link::{AppLink, use_navigate};
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::components::helpdesk_link::HelpdeskLink;
use crate::components::password_field::PasswordField;
use crate::components::username_field::UsernameField;
use crate::shell::{use_page_title, use_theme};

/// Sign in to manage security info, with the way out for those who forgot.
/// Signed in, it goes to security info, or calls `on_signed_in` where a page
/// signs in in place (usage & insights).
#[component]
pub fn SignIn(#[prop(optional)] on_signed_in: Option<Callback<()>>) -> impl IntoView {
    use_page_title("signin.title");
    let theme = use_theme();
    let navigate = use_navigate();
    let (username, set_username) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let (error, set_error) = signal::<Option<ApiError>>(None);
    let submit = crate::action::local(move |(u, p): &(String, String)| {
        let (u, p) = (u.clone(), p.clone());
        let navigate = navigate.clone();
        async move {
            match api::session::sign_in(u, p).await {
                Ok(_) => match on_signed_in {
                    Some(done) => done.run(()),
                    None => navigate("/security-info"),
                },
                Err(e) => set_error.set(Some(e)),
            }
        }
    });
    let busy = submit.pending();
    view! {
        <h1>{t!("signin.title")}</h1>
        <p class="lead" dir="auto">{move || theme.get().and_then(Result::ok).and_then(|t| t.signin_intro)}</p>
        {move || {
            error
                .get()
                .map(|e| {
                    view! {
                        <div class="error-summary" role="alert">
                            <p>{move || e.message()}</p>
                            <p>
                                <AppLink href="/reset">{t!("signin.forgot")}</AppLink>
                                " · "
                                {theme.get().and_then(Result::ok).map(|t| view! { <HelpdeskLink theme=t /> })}
                            </p>
                        </div>
                    }
                })
        }}
        <form
            class="stack"
            on:submit=move |ev| {
                ev.prevent_default();
                submit.dispatch((username.get_untracked(), password.get_untracked()));
            }
        >
            <UsernameField id="username" value=username set_value=set_username />
            <PasswordField id="password" label="field.password" value=password set_value=set_password />
            <button type="submit" class="primary" disabled=move || busy.get()>
                {t!("signin.title")}
            </button>
        </form>
        <p><AppLink href="/reset">{t!("signin.forgot")}</AppLink></p>
    }
}
