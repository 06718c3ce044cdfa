use leptos::prelude::*;
use sspr_proto::password::normalise;

use crate::app::use_policy;

/// The new-password input with show/hide and the live checklist. The
/// checklist runs locally on every keystroke; nothing leaves the page until
/// the form is submitted.
#[component]
pub fn NewPasswordField(
    value: ReadSignal<String>,
    set_value: WriteSignal<String>,
) -> impl IntoView {
    let policy = use_policy();
    let (shown, set_shown) = signal(false);
    let limits = move || {
        policy
            .get()
            .and_then(Result::ok)
            .map(|p| (p.password.min_length, p.password.max_length))
            .unwrap_or((8, 256))
    };
    let length = Memo::new(move |_| normalise(&value.get()).chars().count());
    let long_enough = move || length.get() >= usize::from(limits().0);
    let short_enough = move || length.get() <= usize::from(limits().1);
    let check = |ok: bool| if ok { "check ok" } else { "check" };
    view! {
        <label for="new-password">"New password"</label>
        <div class="password-field">
            <input
                id="new-password"
                name="new-password"
                type=move || if shown.get() { "text" } else { "password" }
                autocomplete="new-password"
                aria-describedby="password-rules"
                required
                prop:value=move || value.get()
                on:input=move |ev| set_value.set(event_target_value(&ev))
            />
            <button
                type="button"
                class="secondary toggle"
                aria-pressed=move || shown.get().to_string()
                aria-controls="new-password"
                on:click=move |_| set_shown.update(|s| *s = !*s)
            >
                {move || if shown.get() { "Hide" } else { "Show" }}
            </button>
        </div>
        <ul id="password-rules" class="checklist">
            <li class=move || check(long_enough())>
                {move || format!("At least {} characters", limits().0)}
            </li>
            <li class=move || check(short_enough())>
                {move || format!("At most {} characters", limits().1)}
            </li>
            <li class="check">"Not your name or user name"</li>
            <li class="check">"Not built on a common password or your organisation's name"</li>
            <li class="check">"Hard to guess: a few unrelated words work well"</li>
        </ul>
    }
}
