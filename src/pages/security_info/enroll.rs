use leptos::prelude::*;
use sspr_proto::security_info::{Enrollment, SecurityInfoView};

use super::{FocusHeading, use_info};
use crate::api;
use crate::components::code_input::CodeInput;
use crate::components::qr::QrCode;

/// The secret in groups of four, as people copy it by hand.
pub fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn copy_to_clipboard(text: &str) -> bool {
    web_sys::window()
        .map(|w| {
            let _ = w.navigator().clipboard().write_text(text);
        })
        .is_some()
}

/// The code field shared by both confirmations.
#[component]
fn CodeForm(
    digits: usize,
    submit_label: &'static str,
    enrollment: String,
    on_done: Callback<SecurityInfoView>,
    cancel: Callback<()>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let info = use_info();
    let (code, set_code) = signal(String::new());
    let confirm = Action::new_local(move |code: &String| {
        let (enrollment, code) = (enrollment.clone(), code.clone());
        async move {
            match api::security_info::confirm(enrollment, code).await {
                Ok(v) => {
                    info.error.set(None);
                    on_done.run(v);
                }
                Err(e) => info.error.set(Some(e)),
            }
        }
    });
    view! {
        <form
            class="stack"
            on:submit=move |ev| {
                ev.prevent_default();
                confirm.dispatch(code.get_untracked());
            }
        >
            <CodeInput id="enroll-code" digits=digits value=code set_value=set_code />
            {children.map(|c| c())}
            <div class="actions">
                <button type="submit" class="primary" disabled=move || confirm.pending().get()>{submit_label}</button>
                <button type="button" class="secondary" on:click=move |_| { info.error.set(None); cancel.run(()); }>"Back"</button>
            </div>
        </form>
    }
}

/// Scan (or type) the secret, then prove it with the app's first code.
#[component]
pub fn AuthenticatorSetup(
    enrollment: Enrollment,
    on_done: Callback<SecurityInfoView>,
    cancel: Callback<()>,
) -> impl IntoView {
    let Enrollment::Authenticator {
        enrollment,
        otpauth,
        secret,
        account,
        issuer,
    } = enrollment
    else {
        return ().into_any();
    };
    let (copied, set_copied) = signal(false);
    let secret_text = grouped(&secret);
    view! {
        <FocusHeading>"Set up your authenticator app"</FocusHeading>
        <ol class="instructions">
            <li>"Open an authenticator app on your phone (for example Microsoft Authenticator, Google Authenticator or FreeOTP) and add an account."</li>
            <li>"Scan this QR code with it."</li>
        </ol>
        <QrCode text=otpauth.clone() label="QR code for your authenticator app" />
        <a class="button-link phone-only" href=otpauth>"Open in authenticator app"</a>
        <details class="manual-key">
            <summary>"Can't scan it? Enter the key instead"</summary>
            <dl>
                <dt>"Account"</dt><dd>{format!("{issuer}: {account}")}</dd>
                <dt>"Key"</dt><dd><code class="secret">{secret_text}</code></dd>
                <dt>"Type"</dt><dd>"Time based, 6 digits, every 30 seconds"</dd>
            </dl>
            <button type="button" class="secondary" on:click=move |_| { set_copied.set(copy_to_clipboard(&secret)); }>
                "Copy key"
            </button>
            <span role="status">{move || copied.get().then_some(" Copied.")}</span>
        </details>
        <p>"Then enter the 6-digit code the app shows."</p>
        <CodeForm digits=6 submit_label="Verify" enrollment=enrollment on_done=on_done cancel=cancel />
    }
    .into_any()
}

/// Enter the code sent to the new address or number.
#[component]
pub fn ConfirmCode(
    enrollment: Enrollment,
    on_done: Callback<SecurityInfoView>,
    resend: Callback<()>,
    cancel: Callback<()>,
) -> impl IntoView {
    let (heading, hint) = match &enrollment {
        Enrollment::Sms { target, .. } => {
            ("Check your phone", format!("We texted a code to {target}."))
        }
        Enrollment::Email { target, .. } => {
            ("Check your email", format!("We sent a code to {target}."))
        }
        Enrollment::Authenticator { .. } => ("", String::new()),
    };
    let id = enrollment.id().to_string();
    view! {
        <FocusHeading>{heading}</FocusHeading>
        <p>{hint} " It expires in 10 minutes."</p>
        <CodeForm digits=8 submit_label="Verify" enrollment=id on_done=on_done cancel=cancel>
            <p class="resend">
                <button type="button" class="link" on:click=move |_| resend.run(())>"Send a new code"</button>
            </p>
        </CodeForm>
    }
}
