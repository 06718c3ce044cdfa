use leptos::prelude::*;
use sspr_proto::reset::{MethodKind, MethodOption};

use super::{StepHeading, use_wizard};
use crate::api;
use crate::components::code_input::CodeInput;

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Enter the code. Numeric keypad on phones, one-time-code autofill, pasted
/// codes with spaces or dashes accepted, and a resend countdown.
#[component]
pub fn EnterCode(method: MethodOption, resend_in: Option<u32>) -> impl IntoView {
    let wizard = use_wizard();
    let (code, set_code) = signal(String::new());
    let recovery = method.kind == MethodKind::RecoveryCode;
    let digits = match method.kind {
        MethodKind::Authenticator => 6,
        MethodKind::RecoveryCode => 16,
        _ => 8,
    };
    let (heading, hint) = match method.kind {
        MethodKind::Email => (
            "Check your email".to_string(),
            format!("We sent a code to {}.", method.masked),
        ),
        MethodKind::Sms => (
            "Check your phone".to_string(),
            format!("We texted a code to {}.", method.masked),
        ),
        MethodKind::Authenticator => (
            "Open your authenticator app".to_string(),
            "Enter the 6-digit code it shows for this account.".into(),
        ),
        MethodKind::RecoveryCode | MethodKind::SecurityQuestions => (
            "Enter a recovery code".to_string(),
            "Use one of the codes you saved when you set up recovery codes. Each works once."
                .into(),
        ),
    };

    // Resend countdown, from the server's figure.
    let deadline = resend_in.map(|s| now_ms() + f64::from(s) * 1000.0);
    let (tick, set_tick) = signal(now_ms());
    if deadline.is_some()
        && let Ok(handle) = set_interval_with_handle(
            move || set_tick.set(now_ms()),
            std::time::Duration::from_millis(500),
        )
    {
        on_cleanup(move || handle.clear());
    }
    let remaining = move || deadline.map(|d| ((d - tick.get()) / 1000.0).ceil().max(0.0) as u32);

    let verify = Action::new_local(move |code: &String| {
        let (flow, code) = (wizard.flow(), code.clone());
        async move { wizard.apply(api::reset::verify(&flow, &code).await) }
    });
    let resend = Action::new_local(move |_: &()| {
        let flow = wizard.flow();
        async move { wizard.apply(api::reset::resend(&flow).await) }
    });
    let back = Action::new_local(move |_: &()| {
        let flow = wizard.flow();
        async move { wizard.apply(api::reset::back(&flow).await) }
    });
    let busy = verify.pending();

    view! {
        <StepHeading>{heading}</StepHeading>
        <p>{hint}</p>
        <form
            class="stack"
            on:submit=move |ev| {
                ev.prevent_default();
                verify.dispatch(code.get_untracked());
            }
        >
            <CodeInput id="code" digits=digits value=code set_value=set_code recovery=recovery />
            <div class="actions">
                <button type="submit" class="primary" disabled=move || busy.get()>
                    "Verify"
                </button>
                <button type="button" class="secondary" on:click=move |_| { back.dispatch(()); }>
                    "Use a different method"
                </button>
            </div>
            {(deadline.is_some())
                .then(|| {
                    view! {
                        <p class="resend">
                            {move || match remaining() {
                                Some(s) if s > 0 => {
                                    view! { <span aria-live="off">{format!("You can ask for a new code in {s} s.")}</span> }
                                        .into_any()
                                }
                                _ => {
                                    view! {
                                        <button type="button" class="link" on:click=move |_| { resend.dispatch(()); }>
                                            "Send a new code"
                                        </button>
                                    }
                                        .into_any()
                                }
                            }}
                        </p>
                    }
                })}
        </form>
    }
}
