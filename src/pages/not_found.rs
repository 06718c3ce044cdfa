use crate::components::app_link::AppLink;
use leptos::prelude::*;

use crate::shell::use_page_title;

#[component]
pub fn NotFound() -> impl IntoView {
    use_page_title("not_found.title");
    view! {
        <h1>{t!("not_found.title")}</h1>
        <p>{t!("not_found.body")} " " <AppLink href="/">{t!("not_found.home")}</AppLink></p>
    }
}
