use leptos::prelude::*;
use sspr_proto::codes::{AUTHENTICATOR_DIGITS, CODE_DIGITS};
use sspr_proto::security_info::{Enrollment, SecurityInfoView};

use super::{FocusHeading, Info, Retry, use_info};
use crate::api;
use crate::components::code_input::CodeInput;
use crate::components::qr::QrCode;
use crate::i18n::{t, tf};

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

/// Confirms an enrolment; if the user registered a method elsewhere
/// meanwhile (so this is no longer a first registration), after a step-up.
async fn confirm_enrolment(
    info: Info,
    on_done: Callback<SecurityInfoView>,
    enrollment: String,
    code: String,
) {
    match api::security_info::confirm(enrollment.clone(), code.clone()).await {
        Ok(v) => {
            info.error.set(None);
            on_done.run(v);
        }
        Err(e) => {
            let retry = Retry::new(move || {
                leptos::task::spawn_local(confirm_enrolment(
                    info,
                    on_done,
                    enrollment.clone(),
                    code.clone(),
                ));
            });
            if !info.wants_stepup(&e, retry) {
                info.error.set(Some(e));
            }
        }
    }
}

/// The code field shared by both confirmations.
#[component]
fn CodeForm(
    digits: usize,
    /// The submit button's catalog key.
    submit_label: &'static str,
    enrollment: String,
    on_done: Callback<SecurityInfoView>,
    cancel: Callback<()>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let info = use_info();
    let (code, set_code) = signal(String::new());
    let confirm = crate::action::local(move |code: &String| {
        confirm_enrolment(info, on_done, enrollment.clone(), code.clone())
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
                <button type="submit" class="primary" disabled=move || confirm.pending().get()>{move || t(submit_label)}</button>
                <button type="button" class="secondary" on:click=move |_| { info.error.set(None); cancel.run(()); }>{t!("action.back")}</button>
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
        <FocusHeading>{t!("app_setup.heading")}</FocusHeading>
        <ol class="instructions">
            <li>{t!("app_setup.step_open")}</li>
            <li>{t!("app_setup.step_scan")}</li>
        </ol>
        <QrCode text=otpauth.clone() label="app_setup.qr_label" />
        <a class="button-link phone-only" href=otpauth>{t!("app_setup.open_in_app")}</a>
        <details class="manual-key">
            <summary>{t!("app_setup.cant_scan")}</summary>
            <dl>
                <dt>{t!("app_setup.account")}</dt><dd>{format!("{issuer}: {account}")}</dd>
                <dt>{t!("app_setup.key")}</dt><dd><code class="secret">{secret_text}</code></dd>
                <dt>{t!("app_setup.type")}</dt><dd>{t!("app_setup.type_value")}</dd>
            </dl>
            <button type="button" class="secondary" on:click=move |_| { set_copied.set(copy_to_clipboard(&secret)); }>
                {t!("app_setup.copy_key")}
            </button>
            <span role="status">{move || copied.get().then(|| format!(" {}", t("action.copied")))}</span>
        </details>
        <p>{t!("app_setup.then_code")}</p>
        <CodeForm digits=AUTHENTICATOR_DIGITS submit_label="action.verify" enrollment=enrollment on_done=on_done cancel=cancel />
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
    let (heading, hint, target) = match &enrollment {
        Enrollment::Sms { target, .. } => (
            "reset.code.sms_heading",
            "reset.code.sms_hint",
            target.clone(),
        ),
        Enrollment::OfficePhone { target, .. } => (
            "reset.code.call_heading",
            "reset.code.call_hint",
            target.clone(),
        ),
        Enrollment::Email { target, .. } => (
            "reset.code.email_heading",
            "reset.code.email_hint",
            target.clone(),
        ),
        Enrollment::Authenticator { .. } => ("", "", String::new()),
    };
    let id = enrollment.id().to_string();
    view! {
        <FocusHeading>{move || t(heading)}</FocusHeading>
        <p>{move || tf(hint, &[("target", &target)])} " " {t!("app_setup.expires")}</p>
        <CodeForm digits=CODE_DIGITS submit_label="action.verify" enrollment=id on_done=on_done cancel=cancel>
            <p class="resend">
                <button type="button" class="link" on:click=move |_| resend.run(())>{t!("reset.code.resend")}</button>
            </p>
        </CodeForm>
    }
}
