use leptos::prelude::*;

use crate::app::{use_page_title, use_policy, use_theme};
use crate::components::helpdesk_link::HelpdeskLink;

/// The reset wizard's entry. The server-held flow and its steps land with the
/// reset-wizard issue; this page already reads the live policy.
#[component]
pub fn Reset() -> impl IntoView {
    use_page_title("Reset your password");
    let theme = use_theme();
    let policy = use_policy();
    let methods = move || {
        policy.get().map(|p| match p {
            Ok(p) if p.methods_required == 1 => {
                "You'll prove it's you with one of your registered methods.".to_string()
            }
            Ok(p) => format!(
                "You'll prove it's you with {} of your registered methods.",
                p.methods_required
            ),
            Err(e) => e.message(),
        })
    };
    view! {
        <h1>"Reset your password"</h1>
        <p class="lead">{move || theme.get().and_then(Result::ok).and_then(|t| t.reset_intro)}</p>
        <p class="policy-summary">{methods}</p>
        <div class="notice" role="status">
            <p>"Self-service reset is not switched on for this portal yet."</p>
            <p>{move || theme.get().and_then(Result::ok).map(|t| view! { <HelpdeskLink theme=t /> })}</p>
        </div>
    }
}
