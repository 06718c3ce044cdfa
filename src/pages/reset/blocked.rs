use leptos::prelude::*;

use super::{StepHeading, use_wizard};
use crate::components::helpdesk_link::HelpdeskLink;
use crate::shell::use_theme;

/// Too many failed attempts: self-service is paused for this account.
#[component]
pub fn Blocked() -> impl IntoView {
    let theme = use_theme();
    use_wizard().restart_storage_only();
    view! {
        <StepHeading>{t!("reset.blocked.heading")}</StepHeading>
        <p>{t!("reset.blocked.body")}</p>
        <p>{move || theme.get().and_then(Result::ok).map(|t| view! { <HelpdeskLink theme=t /> })}</p>
    }
}
