use leptos::prelude::*;
use leptos_router::components::A;

use crate::app::{use_page_title, use_theme};

/// Sign-in to manage security info. The form lands with the registration issue.
#[component]
pub fn SignIn() -> impl IntoView {
    use_page_title("Sign in");
    let theme = use_theme();
    view! {
        <h1>"Sign in"</h1>
        <p class="lead">{move || theme.get().and_then(Result::ok).and_then(|t| t.signin_intro)}</p>
        <p><A href="/reset">"Forgot my password"</A></p>
    }
}
