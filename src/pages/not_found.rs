use crate::components::app_link::AppLink;
use leptos::prelude::*;

use crate::app::use_page_title;

#[component]
pub fn NotFound() -> impl IntoView {
    use_page_title("Page not found");
    view! {
        <h1>"Page not found"</h1>
        <p>"There is nothing at this address. " <AppLink href="/">"Go to the start page"</AppLink></p>
    }
}
