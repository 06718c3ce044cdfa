use leptos::prelude::*;
use sspr_proto::codes::{AUTHENTICATOR_DIGITS, CODE_DIGITS, RECOVERY_CODE_CHARS};
use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::{RegisteredMethod, StepUpChallenge, proves_stepup};

use crate::api::{self, ApiError};
use crate::components::code_input::CodeInput;
use crate::components::error_box::ErrorBox;
use crate::components::focus_heading::FocusHeading;
use crate::components::method_choice::MethodChoice;
use crate::i18n::tf;
use crate::pages::security_info::{detail, kind_name};

/// "Prove it's you, twice": an administrator proves two different methods
/// before the figures open, as their own reset would ask. Each proof is a
/// step-up of the session; after each the page asks the server again. The
/// kinds already proved come from the server (`proven`), so a kind proved
/// once is not offered again, whatever reloads came between.
#[component]
pub fn Prove(on_done: Callback<()>) -> impl IntoView {
    let mine = LocalResource::new(api::security_info::view);
    let (picked, set_picked) = signal(String::new());
    let challenge = RwSignal::new(None::<StepUpChallenge>);
    let (code, set_code) = signal(String::new());
    let error = RwSignal::new(None::<ApiError>);

    let begin = crate::action::local(move |id: &String| {
        let id = id.clone();
        async move {
            match api::security_info::stepup(id).await {
                Ok(c) => {
                    error.set(None);
                    set_code.set(String::new());
                    challenge.set(Some(c));
                }
                Err(e) => error.set(Some(e)),
            }
        }
    });
    let verify = crate::action::local(move |code: &String| {
        let code = code.clone();
        async move {
            match api::security_info::stepup_verify(code).await {
                Ok(_) => {
                    error.set(None);
                    challenge.set(None);
                    on_done.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        }
    });
    let busy = Signal::derive(move || begin.pending().get() || verify.pending().get());
    // Methods that can prove a step-up, less the kinds proved already.
    let usable = move || -> Vec<RegisteredMethod> {
        match mine.get() {
            Some(Ok(Some(v))) => v
                .methods
                .into_iter()
                .filter(|m| proves_stepup(m.kind) && !v.proven.contains(&m.kind))
                .collect(),
            _ => Vec::new(),
        }
    };
    let step = move || match mine.get() {
        Some(Ok(Some(v))) => (v.proven.len().min(1) + 1).to_string(),
        _ => "1".to_string(),
    };

    view! {
        <section class="stepup">
            <FocusHeading>{move || tf("insights.prove.heading", &[("n", &step())])}</FocusHeading>
            <p>{t!("insights.prove.body")}</p>
            <ErrorBox error=error />
            {move || match challenge.get() {
                None => {
                    let options = usable();
                    if options.is_empty() {
                        return match mine.get() {
                            None => view! { <p aria-busy="true">{t!("action.loading")}</p> }.into_any(),
                            _ => view! { <p>{t!("insights.prove.none_left")}</p> }.into_any(),
                        };
                    }
                    if !options.iter().any(|m| m.id == picked.get_untracked()) {
                        set_picked.set(options[0].id.clone());
                    }
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
                    let target = match mine.get_untracked() {
                        Some(Ok(Some(v))) => v
                            .methods
                            .into_iter()
                            .find(|m| m.id == c.method)
                            .map(|m| m.target)
                            .unwrap_or_default(),
                        _ => String::new(),
                    };
                    view! {
                        <form class="stack" on:submit=move |ev| { ev.prevent_default(); verify.dispatch(code.get_untracked()); }>
                            <p>{move || tf(hint, &[("target", &target)])}</p>
                            <CodeInput id="code" digits=digits value=code set_value=set_code recovery=recovery />
                            <div class="actions">
                                <button type="submit" class="primary" disabled=move || busy.get()>{t!("action.verify")}</button>
                                <button type="button" class="secondary" on:click=move |_| { error.set(None); challenge.set(None); }>{t!("action.back")}</button>
                            </div>
                        </form>
                    }
                    .into_any()
                }
            }}
        </section>
    }
}
