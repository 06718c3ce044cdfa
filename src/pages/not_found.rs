use leptos::prelude::*;
use leptos_router::components::A;

use crate::app::use_page_title;

#[component]
pub fn NotFound() -> impl IntoView {
    use_page_title("Page not found");
    view! {
        <h1>"Page not found"</h1>
        <p>"There is nothing at this address. " <A href="/">"Go to the start page"</A></p>
    }
}
