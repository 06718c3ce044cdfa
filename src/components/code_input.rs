use leptos::prelude::*;

/// A one-time code field: the numeric keypad and one-time-code autofill on
/// phones, and pasted codes cleaned of spaces and dashes. With `recovery`, it
/// takes a recovery code (letters, digits and dashes) instead.
#[component]
pub fn CodeInput(
    id: &'static str,
    digits: usize,
    value: ReadSignal<String>,
    set_value: WriteSignal<String>,
    #[prop(optional)] recovery: bool,
) -> impl IntoView {
    view! {
        <label for=id>{t!("field.code")}</label>
        <input
            id=id
            name="code"
            class="code-input"
            type="text"
            inputmode=if recovery { "text" } else { "numeric" }
            autocomplete=if recovery { "off" } else { "one-time-code" }
            pattern=(!recovery).then_some("[0-9]*")
            autocapitalize="off"
            spellcheck="false"
            maxlength=(digits + 4).to_string()
            required
            prop:value=move || value.get()
            on:input=move |ev| {
                let typed = event_target_value(&ev);
                set_value.set(if recovery {
                    typed.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect()
                } else {
                    typed.chars().filter(char::is_ascii_digit).collect()
                });
            }
        />
    }
}
