use crate::components::app_link::AppLink;
use leptos::prelude::*;

use crate::shell::{use_page_title, use_theme};

/// The landing page: the two things people come here to do.
#[component]
pub fn Home() -> impl IntoView {
    use_page_title("app.name");
    let theme = use_theme();
    let intro = move || theme.get().and_then(Result::ok).and_then(|t| t.reset_intro);
    view! {
        <h1>{t!("app.name")}</h1>
        <p class="lead" dir="auto">{intro}</p>
        <ul class="cards" role="list">
            <li class="card">
                <h2><AppLink href="/reset">{t!("home.reset")}</AppLink></h2>
                <p>{t!("home.reset_body")}</p>
            </li>
            <li class="card">
                <h2><AppLink href="/signin">{t!("home.manage")}</AppLink></h2>
                <p>{t!("home.manage_body")}</p>
            </li>
        </ul>
    }
}
