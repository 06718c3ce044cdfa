use leptos::prelude::*;

use super::helpdesk_link::HelpdeskLink;
use crate::app::use_theme;

#[component]
pub fn Footer() -> impl IntoView {
    let theme = use_theme();
    view! {
        <footer class="site-footer">
            <p class="footer-help">
                "Need a person? "
                {move || theme.get().and_then(Result::ok).map(|t| view! { <HelpdeskLink theme=t /> })}
            </p>
        </footer>
    }
}
