use leptos::prelude::*;
use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::{
    AddMethodRequest, Enrollment, QUESTIONS, QuestionAnswer, SecurityInfoView, check_answers, e164,
};

use super::enroll::{AuthenticatorSetup, ConfirmCode};
use super::{FocusHeading, Info, Retry, kind_name, use_info};
use crate::api;
use crate::fold::fold_answer;
use crate::i18n::{t, tf};

#[derive(Debug, Clone)]
enum Step {
    Pick,
    Address(MethodKind),
    Questions,
    Passkey,
    Enrolling(Enrollment, Option<AddMethodRequest>),
}

/// Adds one method: pick a kind, give the address or number where there is
/// one, then prove it with the first code.
#[component]
pub fn AddMethod(
    can_add: Vec<MethodKind>,
    questions: Vec<String>,
    on_done: Callback<SecurityInfoView>,
    on_cancel: Option<Callback<()>>,
) -> impl IntoView {
    let info = use_info();
    let step = RwSignal::new(Step::Pick);
    let first = can_add
        .first()
        .copied()
        .unwrap_or(MethodKind::Authenticator);
    let (picked, set_picked) = signal(first);

    let begin = crate::action::local(move |req: &AddMethodRequest| enrol(info, step, req.clone()));
    let codes = crate::action::local(move |_: &()| first_codes(info, on_done));
    let busy = Signal::derive(move || begin.pending().get() || codes.pending().get());

    let next = move || match picked.get_untracked() {
        MethodKind::Authenticator => {
            begin.dispatch(AddMethodRequest::Authenticator);
        }
        MethodKind::RecoveryCode => {
            codes.dispatch(());
        }
        MethodKind::SecurityQuestions => step.set(Step::Questions),
        MethodKind::Passkey => step.set(Step::Passkey),
        kind => step.set(Step::Address(kind)),
    };
    let cancel = move || {
        info.error.set(None);
        match on_cancel {
            Some(c) => c.run(()),
            None => step.set(Step::Pick),
        }
    };

    move || {
        match step.get() {
        Step::Pick => {
            let options = can_add.clone();
            view! {
                <form class="stack add-method" on:submit=move |ev| { ev.prevent_default(); next(); }>
                    <fieldset class="choices">
                        <legend>{t!("add.which")}</legend>
                        {options
                            .into_iter()
                            .map(|k| view! {
                                <label class="choice">
                                    <input
                                        type="radio"
                                        name="kind"
                                        prop:checked=move || picked.get() == k
                                        on:change=move |_| set_picked.set(k)
                                    />
                                    <span>{move || kind_name(k)}</span>
                                </label>
                            })
                            .collect_view()}
                    </fieldset>
                    <div class="actions">
                        <button type="submit" class="primary" disabled=move || busy.get()>{t!("action.next")}</button>
                        {on_cancel.map(|_| view! {
                            <button type="button" class="secondary" on:click=move |_| cancel()>{t!("action.cancel")}</button>
                        })}
                    </div>
                </form>
            }
            .into_any()
        }
        Step::Address(kind) => view! {
            <AddressForm kind=kind busy=busy submit=Callback::new(move |r| { begin.dispatch(r); }) cancel=Callback::new(move |_| step.set(Step::Pick)) />
        }
        .into_any(),
        Step::Questions => view! {
            <QuestionsForm offered=questions.clone() on_done=on_done cancel=Callback::new(move |_| step.set(Step::Pick)) />
        }
        .into_any(),
        Step::Passkey => view! {
            <super::passkey::AddPasskey on_done=on_done cancel=Callback::new(move |_| step.set(Step::Pick)) />
        }
        .into_any(),
        Step::Enrolling(e @ Enrollment::Authenticator { .. }, _) => view! {
            <AuthenticatorSetup enrollment=e on_done=on_done cancel=Callback::new(move |_| step.set(Step::Pick)) />
        }
        .into_any(),
        Step::Enrolling(e, again) => view! {
            <ConfirmCode
                enrollment=e
                on_done=on_done
                resend=Callback::new(move |_| { if let Some(r) = again.clone() { begin.dispatch(r); } })
                cancel=Callback::new(move |_| step.set(Step::Pick))
            />
        }
        .into_any(),
    }
    }
}

/// Starts enrolling `req`; after a step-up the server asked for, again.
async fn enrol(info: Info, step: RwSignal<Step>, req: AddMethodRequest) {
    match api::security_info::start(req.clone()).await {
        Ok(e) => {
            info.error.set(None);
            let again = (!matches!(req, AddMethodRequest::Authenticator)).then_some(req);
            step.set(Step::Enrolling(e, again));
        }
        Err(e) => {
            let retry = Retry::new(move || {
                leptos::task::spawn_local(enrol(info, step, req.clone()));
            });
            if !info.wants_stepup(&e, retry) {
                info.error.set(Some(e));
            }
        }
    }
}

/// Recovery codes from the add list; after a step-up, again.
async fn first_codes(info: Info, on_done: Callback<SecurityInfoView>) {
    match api::security_info::recovery_codes().await {
        Ok(r) => {
            info.error.set(None);
            info.codes.set(Some(r.codes));
            on_done.run(r.view);
        }
        Err(e) => {
            let retry = Retry::new(move || {
                leptos::task::spawn_local(first_codes(info, on_done));
            });
            if !info.wants_stepup(&e, retry) {
                info.error.set(Some(e));
            }
        }
    }
}

/// Saves the questions; after a step-up, again.
async fn save_questions(
    info: Info,
    on_done: Callback<SecurityInfoView>,
    answers: Vec<QuestionAnswer>,
) {
    match api::security_info::questions(answers.clone()).await {
        Ok(v) => {
            info.error.set(None);
            on_done.run(v);
        }
        Err(e) => {
            let retry = Retry::new(move || {
                leptos::task::spawn_local(save_questions(info, on_done, answers.clone()));
            });
            if !info.wants_stepup(&e, retry) {
                info.error.set(Some(e));
            }
        }
    }
}

/// The email address or phone number to add, checked as it is typed.
#[component]
fn AddressForm(
    kind: MethodKind,
    busy: Signal<bool>,
    submit: Callback<AddMethodRequest>,
    cancel: Callback<()>,
) -> impl IntoView {
    let (value, set_value) = signal(String::new());
    let (touched, set_touched) = signal(false);
    let office = kind == MethodKind::OfficePhone;
    let phone = kind == MethodKind::Sms || office;
    let problem = move || {
        let v = value.get();
        if !touched.get() || v.trim().is_empty() {
            return None;
        }
        if phone {
            e164(&v).err()
        } else if !v.contains('@') || v.trim().ends_with('@') {
            Some("security_info.email_invalid")
        } else {
            None
        }
    };
    let (heading, label, hint) = if office {
        (
            "add.office_phone_heading",
            "add.phone_label",
            "add.office_phone_hint",
        )
    } else if phone {
        ("add.phone_heading", "add.phone_label", "add.phone_hint")
    } else {
        ("add.email_heading", "add.email_label", "add.email_hint")
    };
    view! {
        <FocusHeading>{move || t(heading)}</FocusHeading>
        <form
            class="stack"
            novalidate
            on:submit=move |ev| {
                ev.prevent_default();
                set_touched.set(true);
                if problem().is_some() {
                    return;
                }
                let v = value.get_untracked().trim().to_string();
                submit.run(if office {
                    AddMethodRequest::OfficePhone { phone: v }
                } else if phone {
                    AddMethodRequest::Sms { phone: v }
                } else {
                    AddMethodRequest::Email { address: v }
                });
            }
        >
            <label for="address">{move || t(label)}</label>
            <p id="address-hint" class="hint">{move || t(hint)}</p>
            <input
                id="address"
                name=if phone { "tel" } else { "email" }
                type=if phone { "tel" } else { "email" }
                inputmode=if phone { "tel" } else { "email" }
                autocomplete=if phone { "tel" } else { "email" }
                aria-describedby="address-hint address-error"
                aria-invalid=move || problem().is_some().to_string()
                required
                prop:value=move || value.get()
                on:input=move |ev| set_value.set(event_target_value(&ev))
                on:blur=move |_| set_touched.set(true)
            />
            <p id="address-error" class="field-error" aria-live="polite">{move || problem().map(t)}</p>
            <div class="actions">
                <button type="submit" class="primary" disabled=move || busy.get()>{t!("add.send_code")}</button>
                <button type="button" class="secondary" on:click=move |_| cancel.run(())>{t!("action.back")}</button>
            </div>
        </form>
    }
}

/// Three different questions from the organisation's list, each with an
/// answer of 3 to 40 characters; checked here as on the server.
#[component]
fn QuestionsForm(
    offered: Vec<String>,
    on_done: Callback<SecurityInfoView>,
    cancel: Callback<()>,
) -> impl IntoView {
    let info = use_info();
    let rows: Vec<(RwSignal<String>, RwSignal<String>)> = (0..QUESTIONS)
        .map(|i| {
            (
                RwSignal::new(offered.get(i).cloned().unwrap_or_default()),
                RwSignal::new(String::new()),
            )
        })
        .collect();
    let (tried, set_tried) = signal(false);
    let chosen = {
        let rows = rows.clone();
        move || {
            rows.iter()
                .map(|(q, a)| QuestionAnswer {
                    question: q.get(),
                    answer: a.get(),
                })
                .collect::<Vec<_>>()
        }
    };
    let offered_check = offered.clone();
    let problem = {
        let chosen = chosen.clone();
        Memo::new(move |_| {
            if !tried.get() {
                return None;
            }
            check_answers(&offered_check, &chosen(), fold_answer).err()
        })
    };
    let save = crate::action::local(move |answers: &Vec<QuestionAnswer>| {
        save_questions(info, on_done, answers.clone())
    });
    view! {
        <FocusHeading>{t!("add.questions_heading")}</FocusHeading>
        <p>{t!("add.questions_hint")}</p>
        <form
            class="stack"
            novalidate
            on:submit=move |ev| {
                ev.prevent_default();
                set_tried.set(true);
                if problem.get_untracked().is_none() {
                    save.dispatch(chosen());
                }
            }
        >
            {rows
                .into_iter()
                .enumerate()
                .map(|(i, (q, a))| {
                    let options = offered.clone();
                    let bad = move || problem.get().is_some_and(|(at, _)| at == i);
                    view! {
                        <fieldset class="question">
                            <legend>{move || tf("add.question_n", &[("n", &(i + 1).to_string())])}</legend>
                            <label for=format!("question-{i}")>{t!("add.question")}</label>
                            <select
                                id=format!("question-{i}")
                                on:change=move |ev| q.set(event_target_value(&ev))
                            >
                                {options
                                    .into_iter()
                                    .map(|text| {
                                        let (mine, value) = (text.clone(), text.clone());
                                        view! {
                                            <option value=value prop:selected=move || q.get() == mine>
                                                {text}
                                            </option>
                                        }
                                    })
                                    .collect_view()}
                            </select>
                            <label for=format!("answer-{i}")>{t!("add.answer")}</label>
                            <input
                                id=format!("answer-{i}")
                                type="text"
                                autocomplete="off"
                                maxlength="40"
                                aria-invalid=move || bad().to_string()
                                aria-describedby=format!("answer-{i}-error")
                                required
                                prop:value=move || a.get()
                                on:input=move |ev| a.set(event_target_value(&ev))
                            />
                            <p id=format!("answer-{i}-error") class="field-error" aria-live="polite">
                                {move || problem.get().filter(|(at, _)| *at == i).map(|(_, why)| t(why))}
                            </p>
                        </fieldset>
                    }
                })
                .collect_view()}
            <div class="actions">
                <button type="submit" class="primary" disabled=move || save.pending().get()>{t!("action.save")}</button>
                <button type="button" class="secondary" on:click=move |_| cancel.run(())>{t!("action.back")}</button>
            </div>
        </form>
    }
}
