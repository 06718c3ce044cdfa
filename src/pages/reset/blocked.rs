use leptos::prelude::*;

use super::{StepHeading, use_wizard};
use crate::app::use_theme;
use crate::components::helpdesk_link::HelpdeskLink;

/// Too many failed attempts: self-service is paused for this account.
#[component]
pub fn Blocked() -> impl IntoView {
    let theme = use_theme();
    use_wizard().restart_storage_only();
    view! {
        <StepHeading>"You can't reset your password right now"</StepHeading>
        <p>"There were too many attempts to verify this account, so self-service reset is paused for 24 hours to protect it."</p>
        <p>{move || theme.get().and_then(Result::ok).map(|t| view! { <HelpdeskLink theme=t /> })}</p>
    }
}
