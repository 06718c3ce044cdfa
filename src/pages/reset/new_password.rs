use leptos::prelude::*;
use sspr_proto::password::normalise;

use super::{StepHeading, use_wizard};
use crate::api;
use crate::app::use_policy;

/// Choose the new password (or unlock instead, where the account is locked).
/// The checklist runs locally on every keystroke; the password leaves the page
/// only on submit. The full strength engine arrives with the policy issue.
#[component]
pub fn NewPassword(unlock_available: bool) -> impl IntoView {
    let wizard = use_wizard();
    let policy = use_policy();
    let (password, set_password) = signal(String::new());
    let (shown, set_shown) = signal(false);
    let limits = move || {
        policy
            .get()
            .and_then(Result::ok)
            .map(|p| (p.password.min_length, p.password.max_length))
            .unwrap_or((8, 256))
    };
    let length = Memo::new(move |_| normalise(&password.get()).chars().count());
    let long_enough = move || length.get() >= usize::from(limits().0);
    let short_enough = move || length.get() <= usize::from(limits().1);

    let save = Action::new_local(move |pw: &String| {
        let (flow, pw) = (wizard.flow(), pw.clone());
        async move { wizard.apply(api::reset::password(&flow, &pw).await) }
    });
    let unlock = Action::new_local(move |_: &()| {
        let flow = wizard.flow();
        async move { wizard.apply(api::reset::unlock(&flow).await) }
    });
    let busy = save.pending();
    let check = |ok: bool| if ok { "check ok" } else { "check" };

    view! {
        <StepHeading>"Choose a new password"</StepHeading>
        <form
            class="stack"
            on:submit=move |ev| {
                ev.prevent_default();
                save.dispatch(password.get_untracked());
            }
        >
            <label for="new-password">"New password"</label>
            <div class="password-field">
                <input
                    id="new-password"
                    name="new-password"
                    type=move || if shown.get() { "text" } else { "password" }
                    autocomplete="new-password"
                    aria-describedby="password-rules"
                    required
                    prop:value=move || password.get()
                    on:input=move |ev| set_password.set(event_target_value(&ev))
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
                <li class="check">"Not your name or user name, and hard to guess"</li>
            </ul>
            <button type="submit" class="primary" disabled=move || busy.get()>
                "Reset password"
            </button>
        </form>
        {unlock_available
            .then(|| {
                view! {
                    <div class="notice">
                        <p>"Your account is locked. If you remember your password, you can unlock it instead."</p>
                        <button type="button" class="secondary" on:click=move |_| { unlock.dispatch(()); }>
                            "Unlock my account without resetting"
                        </button>
                    </div>
                }
            })}
    }
}
