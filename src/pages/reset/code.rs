use leptos::prelude::*;
use sspr_proto::codes::{AUTHENTICATOR_DIGITS, CODE_DIGITS, RECOVERY_CODE_CHARS};
use sspr_proto::reset::{MethodKind, MethodOption};

use super::{StepHeading, use_wizard};
use crate::api;
use crate::components::code_input::CodeInput;
use crate::i18n::{t, tf, tn};

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
        MethodKind::Authenticator => AUTHENTICATOR_DIGITS,
        MethodKind::RecoveryCode => RECOVERY_CODE_CHARS,
        _ => CODE_DIGITS,
    };
    let (heading, hint) = match method.kind {
        _ if method.call => ("reset.code.call_heading", "reset.code.call_hint"),
        MethodKind::Email => ("reset.code.email_heading", "reset.code.email_hint"),
        MethodKind::Sms => ("reset.code.sms_heading", "reset.code.sms_hint"),
        MethodKind::OfficePhone => ("reset.code.call_heading", "reset.code.call_hint"),
        MethodKind::Authenticator => ("reset.code.app_heading", "reset.code.app_hint"),
        MethodKind::RecoveryCode | MethodKind::SecurityQuestions | MethodKind::Passkey => {
            ("reset.code.recovery_heading", "reset.code.recovery_hint")
        }
    };
    let masked = method.masked.clone();

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

    let verify = crate::action::local(move |code: &String| {
        let (flow, code) = (wizard.flow(), code.clone());
        async move { wizard.apply(api::reset::verify(&flow, &code).await) }
    });
    let resend = crate::action::local(move |_: &()| {
        let flow = wizard.flow();
        async move { wizard.apply(api::reset::resend(&flow).await) }
    });
    let back = crate::action::local(move |_: &()| {
        let flow = wizard.flow();
        async move { wizard.apply(api::reset::back(&flow).await) }
    });
    let busy = verify.pending();

    view! {
        <StepHeading>{move || t(heading)}</StepHeading>
        <p>{move || tf(hint, &[("target", &masked)])}</p>
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
                    {t!("action.verify")}
                </button>
                <button type="button" class="secondary" on:click=move |_| { back.dispatch(()); }>
                    {t!("reset.other_method")}
                </button>
            </div>
            {(deadline.is_some())
                .then(|| {
                    view! {
                        <p class="resend">
                            {move || match remaining() {
                                Some(s) if s > 0 => {
                                    view! { <span aria-live="off">{tn("reset.code.resend_in", s.into(), &[])}</span> }
                                        .into_any()
                                }
                                _ => {
                                    view! {
                                        <button type="button" class="link" on:click=move |_| { resend.dispatch(()); }>
                                            {t!("reset.code.resend")}
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
