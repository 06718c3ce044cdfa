use leptos::prelude::*;

/// An existing password (sign-in, re-entry, the current one on change), as
/// password managers expect it.
#[component]
pub fn PasswordField(
    id: &'static str,
    /// The label's catalog key.
    label: &'static str,
    value: ReadSignal<String>,
    set_value: WriteSignal<String>,
    /// Marks the field invalid and points at its error message.
    #[prop(optional, into)]
    invalid: Option<Signal<bool>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <label for=id>{move || crate::i18n::t(label)}</label>
        <input
            id=id
            name=id
            type="password"
            autocomplete="current-password"
            aria-describedby=invalid.map(|_| error_id)
            aria-invalid=move || invalid.map(|i| i.get().to_string())
            required
            prop:value=move || value.get()
            on:input=move |ev| set_value.set(event_target_value(&ev))
        />
    }
}
