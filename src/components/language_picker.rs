use leptos::prelude::*;
use sspr_proto::i18n::LOCALES;

use crate::i18n;

/// The language picker: each language named in itself, the current one
/// selected. Picking swaps the texts in place.
#[component]
pub fn LanguagePicker() -> impl IntoView {
    view! {
        <div class="language-picker">
            <label for="language">{t!("footer.language")}</label>
            <select id="language" on:change=move |ev| i18n::pick(&event_target_value(&ev))>
                {LOCALES
                    .iter()
                    .map(|(code, name)| {
                        view! {
                            <option value=*code lang=*code prop:selected=move || i18n::current() == *code>
                                {*name}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </div>
    }
}
