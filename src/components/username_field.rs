use leptos::prelude::*;

/// The "User name or email address" field, as password managers expect it.
#[component]
pub fn UsernameField(
    id: &'static str,
    value: ReadSignal<String>,
    set_value: WriteSignal<String>,
) -> impl IntoView {
    view! {
        <label for=id>{t!("field.username")}</label>
        <input
            id=id
            name="username"
            type="text"
            autocomplete="username"
            autocapitalize="none"
            spellcheck="false"
            required
            prop:value=move || value.get()
            on:input=move |ev| set_value.set(event_target_value(&ev))
        />
    }
}
