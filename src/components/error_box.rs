use leptos::prelude::*;

use crate::api::ApiError;
use crate::app::use_theme;
use crate::components::helpdesk_link::HelpdeskLink;

/// An error written for people, announced, and always with the helpdesk link.
#[component]
pub fn ErrorBox(#[prop(into)] error: Signal<Option<ApiError>>) -> impl IntoView {
    let theme = use_theme();
    move || {
        error.get().map(|e| {
            view! {
                <div class="error-summary" role="alert">
                    <p>{e.message()}</p>
                    <p>
                        "Still stuck? "
                        {theme.get().and_then(Result::ok).map(|t| view! { <HelpdeskLink theme=t /> })}
                    </p>
                </div>
            }
        })
    }
}
