use leptos::prelude::*;
use leptos_router::components::A;

use crate::app::use_page_title;

/// Security info (combined registration). Needs a signed-in session.
#[component]
pub fn SecurityInfo() -> impl IntoView {
    use_page_title("Security info");
    view! {
        <h1>"Security info"</h1>
        <p>"These are the methods you use to sign in and to reset your password."</p>
        <p><A href="/signin">"Sign in to see your methods"</A></p>
    }
}
