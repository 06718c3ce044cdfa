use leptos::prelude::*;
use sspr_proto::Theme;

/// The branded "contact your helpdesk" link: a URL stays a link, an email
/// address becomes `mailto:`, a phone number `tel:`.
#[component]
pub fn HelpdeskLink(theme: Theme) -> impl IntoView {
    theme.helpdesk_link().map(|link| {
        view! {
            <a class="helpdesk-link" dir="auto" href=link.href()>
                {theme.helpdesk_text().to_string()}
            </a>
        }
    })
}
