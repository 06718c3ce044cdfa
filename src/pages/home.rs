use crate::components::app_link::AppLink;
use leptos::prelude::*;

use crate::app::{use_page_title, use_theme};

/// The landing page: the two things people come here to do.
#[component]
pub fn Home() -> impl IntoView {
    use_page_title("Password self-service");
    let theme = use_theme();
    let intro = move || theme.get().and_then(Result::ok).and_then(|t| t.reset_intro);
    view! {
        <h1>"Password self-service"</h1>
        <p class="lead">{intro}</p>
        <ul class="cards" role="list">
            <li class="card">
                <h2><AppLink href="/reset">"Reset my password"</AppLink></h2>
                <p>"Forgot your password or locked out? Prove it's you with the methods you registered."</p>
            </li>
            <li class="card">
                <h2><AppLink href="/signin">"Manage my security info"</AppLink></h2>
                <p>"Sign in to add or change your authenticator app, phone or email."</p>
            </li>
        </ul>
    }
}
