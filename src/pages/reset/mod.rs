//! The reset wizard at `/reset`: one question per page. The server holds the
//! flow and says which step comes next; this renders the step it is given.

mod blocked;
mod choose;
mod code;
mod done;
mod identify;
mod new_password;
mod passkey;
mod questions;

use leptos::prelude::*;
use sspr_proto::ErrorId;
use sspr_proto::reset::{FlowView, MethodKind, ResetStep};

use crate::api::{self, ApiError};
use crate::components::error_box::ErrorBox;
pub use crate::components::focus_heading::FocusHeading as StepHeading;
use crate::i18n::{t, tf};
use crate::shell::{use_page_title, use_theme};

const STORAGE_KEY: &str = "sspr.reset.flow";

fn session() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Shared by the step components: the current view and the last error.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct Wizard {
    pub view: RwSignal<Option<FlowView>>,
    pub error: RwSignal<Option<ApiError>>,
}

impl Wizard {
    /// Takes the server's answer: the next view, or an error for this step.
    pub fn apply(&self, result: Result<FlowView, ApiError>) {
        match result {
            Ok(v) => {
                if let Some(s) = session() {
                    let _ = s.set_item(STORAGE_KEY, &v.flow);
                }
                self.error.set(None);
                self.view.set(Some(v));
            }
            Err(e) => {
                if e.id() == ErrorId::FlowExpired {
                    self.restart();
                }
                self.error.set(Some(e));
            }
        }
    }

    pub fn flow(&self) -> String {
        self.view
            .with_untracked(|v| v.as_ref().map(|v| v.flow.clone()).unwrap_or_default())
    }

    pub fn restart(&self) {
        self.restart_storage_only();
        self.view.set(None);
    }

    /// Forgets the flow for reloads, but keeps showing the current step.
    pub fn restart_storage_only(&self) {
        if let Some(s) = session() {
            let _ = s.remove_item(STORAGE_KEY);
        }
    }
}

pub fn use_wizard() -> Wizard {
    expect_context::<Wizard>()
}

/// Where the user is: identify, verify (gate n of N), new password, done.
#[component]
fn Progress() -> impl IntoView {
    let wizard = use_wizard();
    let verify = move || t("reset.progress.verify");
    let position = move || match wizard.view.get().map(|v| v.step) {
        None => (0, verify()),
        Some(
            ResetStep::ChooseMethod { gate, gates, .. }
            | ResetStep::EnterCode { gate, gates, .. }
            | ResetStep::AnswerQuestions { gate, gates, .. },
        ) => (
            1,
            if gates > 1 {
                tf(
                    "reset.progress.verify_gate",
                    &[("gate", &gate.to_string()), ("gates", &gates.to_string())],
                )
            } else {
                verify()
            },
        ),
        Some(ResetStep::NewPassword { .. }) => (2, verify()),
        Some(ResetStep::Done { .. } | ResetStep::Blocked) => (3, verify()),
    };
    view! {
        <ol class="progress" aria-label=t!("reset.progress.label")>
            {move || {
                let (at, verify) = position();
                [
                    t("reset.progress.identify"),
                    verify,
                    t("reset.progress.new_password"),
                    t("reset.progress.done"),
                ]
                    .into_iter()
                    .enumerate()
                    .map(|(i, label)| {
                        let state = if i < at { "done" } else if i == at { "current" } else { "todo" };
                        view! {
                            <li class=state aria-current=(i == at).then_some("step")>
                                {label}
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ol>
    }
}

/// How far into the wizard a view is: identify 0, then choose/code per gate,
/// then the new password and the end.
fn depth(v: Option<&FlowView>) -> u32 {
    match v.map(|v| &v.step) {
        None => 0,
        Some(ResetStep::ChooseMethod { gate, .. }) => 2 * u32::from(*gate) - 1,
        Some(ResetStep::EnterCode { gate, .. } | ResetStep::AnswerQuestions { gate, .. }) => {
            2 * u32::from(*gate)
        }
        Some(ResetStep::NewPassword { .. }) => 100,
        Some(ResetStep::Done { .. } | ResetStep::Blocked) => 101,
    }
}

/// The browser's Back button steps back through the wizard: from a code to
/// the method choice (the server agrees), from the first choice to identify.
/// A passed gate is never undone.
fn browser_back(wizard: Wizard) {
    let Some(history) = web_sys::window().and_then(|w| w.history().ok()) else {
        return;
    };
    Effect::new(move |prev: Option<u32>| {
        let d = wizard.view.with(|v| depth(v.as_ref()));
        if prev.is_some_and(|p| d > p) {
            let _ = history.push_state(&wasm_bindgen::JsValue::from(d), "");
        }
        d
    });
    let handle = window_event_listener(leptos::ev::popstate, move |_| {
        match wizard.view.get_untracked().map(|v| v.step) {
            Some(ResetStep::EnterCode { .. } | ResetStep::AnswerQuestions { .. }) => {
                let flow = wizard.flow();
                leptos::task::spawn_local(
                    async move { wizard.apply(api::reset::back(&flow).await) },
                );
            }
            Some(ResetStep::ChooseMethod { gate: 1, .. }) => wizard.restart(),
            _ => {}
        }
    });
    on_cleanup(move || handle.remove());
}

#[component]
pub fn Reset() -> impl IntoView {
    use_page_title("reset.title");
    let wizard = Wizard {
        view: RwSignal::new(None),
        error: RwSignal::new(None),
    };
    provide_context(wizard);
    browser_back(wizard);
    let theme = use_theme();

    // A reload continues the flow this tab started.
    if let Some(flow) = session().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()) {
        leptos::task::spawn_local(async move {
            match api::reset::state(&flow).await {
                Ok(v) => wizard.apply(Ok(v)),
                Err(_) => wizard.restart(),
            }
        });
    }

    // While the user proves who they are, the strength engine loads in the
    // background, ready for the new-password step.
    Effect::new(move |_| {
        let verifying = wizard.view.with(|v| {
            v.as_ref().is_some_and(|v| {
                matches!(
                    v.step,
                    ResetStep::ChooseMethod { .. }
                        | ResetStep::EnterCode { .. }
                        | ResetStep::AnswerQuestions { .. }
                )
            })
        });
        if verifying {
            crate::strength::preload();
        }
    });
    let step = move || match wizard.view.get() {
        None => view! { <identify::Identify /> }.into_any(),
        Some(v) => match v.step {
            ResetStep::ChooseMethod {
                gate,
                gates,
                methods,
            } => view! { <choose::Choose gate=gate gates=gates methods=methods /> }.into_any(),
            ResetStep::EnterCode { method, .. } if method.kind == MethodKind::Passkey => {
                view! { <passkey::UsePasskey /> }.into_any()
            }
            ResetStep::EnterCode {
                method, resend_in, ..
            } => view! { <code::EnterCode method=method resend_in=resend_in /> }.into_any(),
            ResetStep::AnswerQuestions { questions, .. } => {
                view! { <questions::Questions questions=questions /> }.into_any()
            }
            ResetStep::NewPassword {
                unlock_available,
                password,
            } => view! {
                <new_password::NewPassword unlock_available=unlock_available context=password />
            }
            .into_any(),
            ResetStep::Done {
                outcome,
                signed_out,
                notified,
            } => view! { <done::Done outcome=outcome signed_out=signed_out notified=notified /> }
                .into_any(),
            ResetStep::Blocked => view! { <blocked::Blocked /> }.into_any(),
        },
    };
    view! {
        <h1>{t!("reset.title")}</h1>
        <p class="lead" dir="auto">{move || theme.get().and_then(Result::ok).and_then(|t| t.reset_intro)}</p>
        <Progress />
        <ErrorBox error=wizard.error />
        <section class="step">{step}</section>
    }
}
