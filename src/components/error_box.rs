use leptos::prelude::*;
use sspr_proto::ErrorId;

use crate::api::ApiError;
use crate::components::helpdesk_link::HelpdeskLink;
use crate::shell::use_theme;

/// The field an error is about, by the id every page gives that field.
fn field_of(id: ErrorId) -> Option<&'static str> {
    use ErrorId::*;
    match id {
        CodeInvalid => Some("code"),
        PasswordTooShort
        | PasswordTooLong
        | PasswordTooWeak
        | PasswordContainsName
        | PasswordBanned
        | PasswordNotComplex
        | PasswordBreached
        | PasswordRejectedByDirectory
        | PasswordInHistory
        | PasswordTooYoung => Some("new-password"),
        PhoneInvalid | EmailInvalid => Some("address"),
        _ => None,
    }
}

/// An error written for people, announced, and always with the helpdesk
/// link. When it is about a field on the page, the message links to that
/// field and following the link puts the cursor there.
#[component]
pub fn ErrorBox(#[prop(into)] error: Signal<Option<ApiError>>) -> impl IntoView {
    let theme = use_theme();
    move || {
        error.get().map(|e| {
            let field = e
                .field()
                .or_else(|| field_of(e.id()))
                .filter(|f| document().get_element_by_id(f).is_some());
            let message = e.message();
            view! {
                <div class="error-summary" role="alert">
                    <p>
                        {match field {
                            Some(f) => view! {
                                <a
                                    href=format!("#{f}")
                                    on:click=move |ev| {
                                        // Focus the field without touching the URL (the
                                        // app owns history).
                                        ev.prevent_default();
                                        if let Some(el) = document().get_element_by_id(f)
                                            && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el)
                                        {
                                            let _ = el.focus();
                                        }
                                    }
                                >
                                    {message}
                                </a>
                            }
                            .into_any(),
                            None => message.into_any(),
                        }}
                    </p>
                    <p>
                        {t!("error.still_stuck")}
                        " "
                        {theme.get().and_then(Result::ok).map(|t| view! { <HelpdeskLink theme=t /> })}
                    </p>
                </div>
            }
        })
    }
}
