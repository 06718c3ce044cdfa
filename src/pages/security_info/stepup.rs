use leptos::prelude::*;
use sspr_proto::codes::{AUTHENTICATOR_DIGITS, CODE_DIGITS, RECOVERY_CODE_CHARS};
use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::{RegisteredMethod, StepUpChallenge, proves_stepup};

use super::{FocusHeading, detail, kind_name, use_info};
use crate::api;
use crate::components::code_input::CodeInput;
use crate::components::method_choice::MethodChoice;
use crate::i18n::tf;

/// "First, prove it's you": the server refused a change until the user
/// proves one of the methods they already have. Pick one, enter its code,
/// and the change that asked for it runs again.
#[component]
pub fn StepUp(methods: Vec<RegisteredMethod>) -> impl IntoView {
    let info = use_info();
    let usable: Vec<RegisteredMethod> = methods
        .into_iter()
        .filter(|m| proves_stepup(m.kind))
        .collect();
    let first = usable.first().map(|m| m.id.clone()).unwrap_or_default();
    let (picked, set_picked) = signal(first);
    let challenge = RwSignal::new(None::<StepUpChallenge>);
    let (code, set_code) = signal(String::new());

    let begin = crate::action::local(move |id: &String| {
        let id = id.clone();
        async move {
            match api::security_info::stepup(id).await {
                Ok(c) => {
                    info.error.set(None);
                    set_code.set(String::new());
                    challenge.set(Some(c));
                }
                Err(e) => info.error.set(Some(e)),
            }
        }
    });
    let verify = crate::action::local(move |code: &String| {
        let code = code.clone();
        async move {
            let retry = info.stepup.get_untracked();
            match api::security_info::stepup_verify(code).await {
                // The page stays as it is; the change that asked runs again
                // and brings the new view.
                Ok(_) => {
                    info.error.set(None);
                    info.stepup.set(None);
                    if let Some(r) = retry {
                        r.run();
                    }
                }
                Err(e) => info.error.set(Some(e)),
            }
        }
    });
    let busy = Signal::derive(move || begin.pending().get() || verify.pending().get());
    let cancel = move |_| {
        info.error.set(None);
        info.stepup.set(None);
    };
    let all = usable.clone();
    let target_of = move |id: &str| {
        all.iter()
            .find(|m| m.id == id)
            .map(|m| m.target.clone())
            .unwrap_or_default()
    };

    view! {
        <section class="stepup">
            <FocusHeading>{t!("stepup.heading")}</FocusHeading>
            <p>{t!("stepup.body")}</p>
            {move || match challenge.get() {
                None => {
                    let options = usable.clone();
                    view! {
                        <form class="stack" on:submit=move |ev| { ev.prevent_default(); begin.dispatch(picked.get_untracked()); }>
                            <MethodChoice
                                methods=options
                                picked=picked
                                set_picked=set_picked
                                kind_name=kind_name
                                detail=detail
                            />
                            <div class="actions">
                                <button type="submit" class="primary" disabled=move || busy.get()>{t!("action.continue")}</button>
                                <button type="button" class="secondary" on:click=cancel>{t!("action.cancel")}</button>
                            </div>
                        </form>
                    }
                    .into_any()
                }
                Some(c) => {
                    let (hint, digits) = match c.kind {
                        MethodKind::Email => ("reset.code.email_hint", CODE_DIGITS),
                        MethodKind::Sms => ("reset.code.sms_hint", CODE_DIGITS),
                        MethodKind::OfficePhone => ("reset.code.call_hint", CODE_DIGITS),
                        MethodKind::Authenticator => ("reset.code.app_hint", AUTHENTICATOR_DIGITS),
                        MethodKind::RecoveryCode | MethodKind::SecurityQuestions | MethodKind::Passkey => {
                            ("reset.code.recovery_hint", RECOVERY_CODE_CHARS)
                        }
                    };
                    let recovery = c.kind == MethodKind::RecoveryCode;
                    let target = target_of(&c.method);
                    let again = c.method.clone();
                    view! {
                        <form class="stack" on:submit=move |ev| { ev.prevent_default(); verify.dispatch(code.get_untracked()); }>
                            <p>{move || tf(hint, &[("target", &target)])}</p>
                            <CodeInput id="stepup-code" digits=digits value=code set_value=set_code recovery=recovery />
                            <div class="actions">
                                <button type="submit" class="primary" disabled=move || busy.get()>{t!("action.verify")}</button>
                                <button type="button" class="secondary" on:click=move |_| { info.error.set(None); challenge.set(None); }>{t!("action.back")}</button>
                            </div>
                            {c.resend_in.is_some().then(|| view! {
                                <p class="resend">
                                    <button type="button" class="link" on:click=move |_| { begin.dispatch(again.clone()); }>{t!("reset.code.resend")}</button>
                                </p>
                            })}
                        </form>
                    }
                    .into_any()
                }
            }}
        </section>
    }
}
