//! Security info at `/security-info` (combined registration, like
//! aka.ms/setupsecurityinfo). The server decides whether the user is
//! interrupted and what they may add; this renders the view it is given.

mod add_method;
mod enroll;
mod interrupt;
mod methods_list;
mod passkey;
mod reauth;
mod recovery_codes;
mod stepup;

use leptos::prelude::*;
use sspr_proto::ErrorId;
use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::{RegisteredMethod, SecurityInfoView, SignedInWith};

use crate::api::{self, ApiError};
use crate::components::app_link::AppLink;
use crate::components::error_box::ErrorBox;
pub use crate::components::focus_heading::FocusHeading;
use crate::i18n::{t, tn};
use crate::shell::use_page_title;

/// What needs a fresh password proof before it can run again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterReauth {
    Remove(String),
    NewRecoveryCodes,
}

/// Shared by the page's parts.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct Info {
    /// The latest view an action returned (the first comes from the load).
    pub latest: RwSignal<Option<SecurityInfoView>>,
    pub error: RwSignal<Option<ApiError>>,
    /// A polite confirmation, announced: its catalog key.
    pub notice: RwSignal<Option<&'static str>>,
    /// Fresh recovery codes, shown once.
    pub codes: RwSignal<Option<Vec<String>>>,
    pub reauth: RwSignal<Option<AfterReauth>>,
    /// A change the server refused until the user proves one of their
    /// methods: it runs again once they have.
    pub stepup: RwSignal<Option<Retry>>,
}

/// A change to run again. A plain closure, not a `Callback`: the component
/// whose action made it may be gone by the time it runs.
#[derive(Clone)]
pub struct Retry(std::sync::Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for Retry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Retry(..)")
    }
}

impl Retry {
    pub fn new(f: impl Fn() + Send + Sync + 'static) -> Retry {
        Retry(std::sync::Arc::new(f))
    }

    pub fn run(&self) {
        (self.0)();
    }
}

impl Info {
    /// When `e` asks for a step-up, keeps `retry` for after it and says so.
    pub fn wants_stepup(&self, e: &ApiError, retry: Retry) -> bool {
        if e.id() != ErrorId::StepUpRequired {
            return false;
        }
        self.error.set(None);
        self.stepup.set(Some(retry));
        true
    }

    /// Takes an action's answer: the new view, or an error for the page.
    pub fn apply(&self, r: Result<SecurityInfoView, ApiError>) -> bool {
        match r {
            Ok(v) => {
                self.error.set(None);
                self.latest.set(Some(v));
                true
            }
            Err(e) => {
                self.error.set(Some(e));
                false
            }
        }
    }
}

pub fn use_info() -> Info {
    expect_context::<Info>()
}

/// "Authenticator app", "Phone", ... for a kind: its catalog key.
pub fn kind_key(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::Authenticator => "method.authenticator",
        MethodKind::Sms => "method.sms",
        MethodKind::OfficePhone => "method.office_phone",
        MethodKind::Email => "method.email",
        MethodKind::RecoveryCode => "method.recovery_code",
        MethodKind::SecurityQuestions => "method.questions",
        MethodKind::Passkey => "method.passkey",
    }
}

/// A kind's name in the page's language.
pub fn kind_name(kind: MethodKind) -> String {
    t(kind_key(kind))
}

/// The detail line for a registered method.
pub fn detail(m: &RegisteredMethod) -> String {
    match (m.kind, m.remaining) {
        (MethodKind::RecoveryCode, Some(n)) => tn("method.codes_left", n.into(), &[]),
        (MethodKind::Authenticator, _) => t("method.authenticator_detail"),
        (MethodKind::SecurityQuestions, _) => t("method.questions_detail"),
        _ => m.target.clone(),
    }
}

#[component]
pub fn SecurityInfo() -> impl IntoView {
    use_page_title("security_info.title");
    let loaded = LocalResource::new(api::security_info::view);
    let info = Info {
        latest: RwSignal::new(None),
        error: RwSignal::new(None),
        notice: RwSignal::new(None),
        codes: RwSignal::new(None),
        reauth: RwSignal::new(None),
        stepup: RwSignal::new(None),
    };
    provide_context(info);
    let current = move || {
        info.latest
            .get()
            .or_else(|| loaded.get().and_then(Result::ok).flatten())
    };
    let (managing, set_managing) = signal(false);
    let (signed_out, set_signed_out) = signal(false);
    let sign_out = crate::action::local(move |_: &()| async move {
        if api::session::sign_out().await.is_ok() {
            set_signed_out.set(true);
        }
    });

    let body = move || {
        if signed_out.get() {
            return view! {
                <p role="status">{t!("security_info.signed_out")} " " <AppLink href="/signin">{t!("action.sign_in_again")}</AppLink></p>
            }
            .into_any();
        }
        let Some(v) = current() else {
            return match loaded.get() {
                Some(Ok(None)) => view! {
                    <p><AppLink href="/signin">{t!("security_info.sign_in_to_see")}</AppLink></p>
                }
                .into_any(),
                Some(Err(e)) => {
                    view! { <ErrorBox error=Signal::derive(move || Some(e.clone())) /> }.into_any()
                }
                _ => view! { <p aria-busy="true">{t!("action.loading")}</p> }.into_any(),
            };
        };
        let header = view! {
            <div class="signed-in">
                <p>{t!("security_info.signed_in_as")} " " <strong>{v.display_name.clone()}</strong> " (" {v.username.clone()} ")"</p>
                <button type="button" class="secondary" on:click=move |_| { sign_out.dispatch(()); }>{t!("action.sign_out")}</button>
            </div>
        };
        let main = match v.interrupt {
            Some(i) if !managing.get() => view! {
                <interrupt::Interrupt interrupt=i view=v.clone() manage=move || set_managing.set(true) />
            }
            .into_any(),
            _ => view! { <Overview view=v.clone() /> }.into_any(),
        };
        view! { {header} {main} }.into_any()
    };

    view! {
        <h1>{t!("security_info.title")}</h1>
        <p class="lead">{t!("security_info.lead")}</p>
        <ErrorBox error=info.error />
        {move || info.notice.get().map(|n| view! { <p class="notice" role="status">{move || t(n)}</p> })}
        <recovery_codes::FreshCodes />
        // Beside the page, not inside it: asking for a proof, and giving it,
        // leaves the form that asked (and what was typed there) as it was.
        {move || info.stepup.get().map(|_| {
            let methods = current().map(|v| v.methods).unwrap_or_default();
            view! { <stepup::StepUp methods=methods /> }
        })}
        {body}
    }
}

/// The methods, adding one, and the password.
#[component]
fn Overview(view: SecurityInfoView) -> impl IntoView {
    let info = use_info();
    let (adding, set_adding) = signal(false);
    let pass = view.signed_in_with == SignedInWith::TemporaryAccessPass;
    let required = view.required;
    let can_add = view.can_add.clone();
    let questions = view.questions.clone();
    let any_to_add = !can_add.is_empty();
    view! {
        {pass.then(|| view! {
            <p class="notice">{t!("security_info.tap_notice")}</p>
        })}
        <h2>{t!("security_info.your_methods")}</h2>
        <p>{move || t(if required > 1 { "security_info.prove_two" } else { "security_info.prove_one" })}</p>
        {move || info.reauth.get().map(|_| view! { <reauth::Reauth /> })}
        <methods_list::MethodsList view=view.clone() />
        {any_to_add.then(|| view! {
            {move || if adding.get() {
                view! {
                    <add_method::AddMethod
                        can_add=can_add.clone()
                        questions=questions.clone()
                        on_done=Callback::new(move |v: SecurityInfoView| {
                            info.latest.set(Some(v));
                            set_adding.set(false);
                            info.notice.set(Some("security_info.added"));
                        })
                        on_cancel=Some(Callback::new(move |_: ()| set_adding.set(false)))
                    />
                }.into_any()
            } else {
                view! {
                    <button type="button" class="primary" on:click=move |_| { info.notice.set(None); set_adding.set(true); }>
                        {t!("security_info.add")}
                    </button>
                }.into_any()
            }}
        })}
        {(!pass).then(|| view! {
            <h2>{t!("field.password")}</h2>
            <p><AppLink href="/security-info/password">{t!("change_password.title")}</AppLink></p>
        })}
    }
}
