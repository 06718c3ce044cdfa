use crate::components::app_link::{AppLink, use_navigate};
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::components::helpdesk_link::HelpdeskLink;
use crate::components::password_field::PasswordField;
use crate::components::username_field::UsernameField;
use crate::shell::{use_page_title, use_policy, use_theme};

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
    let navigate = use_navigate();
    // A passkey alone: the browser offers the site's passkeys; the one
    // picked names the user.
    let with_passkey = crate::action::local(move |_: &()| {
        let navigate = navigate.clone();
        async move {
            let signed_in = api::passkey::sign_in().await;
            match signed_in {
                Ok(_) => match on_signed_in {
                    Some(done) => done.run(()),
                    None => navigate("/security-info"),
                },
                Err(e) => set_error.set(Some(e)),
            }
        }
    });
    let policy = use_policy();
    // Read in place: the config is not cloned for one flag.
    let passkeys = move || policy.with(|p| matches!(p, Some(Ok(c)) if c.passkeys));
    let busy = Signal::derive(move || submit.pending().get() || with_passkey.pending().get());
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
        {move || passkeys().then(|| view! {
            <p class="or">{t!("passkey.or")}</p>
            <button type="button" class="secondary" disabled=move || busy.get() on:click=move |_| { with_passkey.dispatch(()); }>
                {t!("passkey.sign_in")}
            </button>
        })}
        <p><AppLink href="/reset">{t!("signin.forgot")}</AppLink></p>
    }
}
