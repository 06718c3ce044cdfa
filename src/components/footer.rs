use leptos::prelude::*;

use super::helpdesk_link::HelpdeskLink;
use super::language_picker::LanguagePicker;
use crate::shell::use_theme;

#[component]
pub fn Footer() -> impl IntoView {
    let theme = use_theme();
    view! {
        <footer class="site-footer">
            <p class="footer-help">
                {t!("footer.need_person")}
                " "
                {move || theme.get().and_then(Result::ok).map(|t| view! { <HelpdeskLink theme=t /> })}
            </p>
            <LanguagePicker />
        </footer>
    }
}
