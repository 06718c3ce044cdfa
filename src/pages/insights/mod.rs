//! Usage & insights at `/insights`, like Entra's "Usage & insights" for
//! self-service reset: who is registered and capable, which methods people
//! register and use, activity day by day, blocks, and the audit trail.
//!
//! The server decides who may see it (an administrator who proved two
//! different methods in this session); the page follows what it answers:
//! sign in, prove two methods, or read the figures.

mod activity;
mod bars;
mod coverage;
mod events;
mod prove;

use leptos::prelude::*;
use sspr_proto::ErrorId;
use sspr_proto::insights::{DEFAULT_DAYS, Insights as Figures};

use crate::api::{self, ApiError};
use crate::components::app_link::AppLink;
use crate::components::error_box::ErrorBox;
use crate::i18n::tn;
use crate::pages::signin::SignIn;
use crate::shell::use_page_title;

/// The periods an administrator can look back over, in days.
const PERIODS: [u16; 3] = [7, DEFAULT_DAYS, 90];

/// What the page can show, as far as the session says.
#[derive(Clone)]
enum Gate {
    SignIn,
    Forbidden,
    Prove,
    Figures(Figures),
}

#[component]
pub fn Insights() -> impl IntoView {
    use_page_title("insights.title");
    let (days, set_days) = signal(DEFAULT_DAYS);
    // Bumped after a sign-in or a proof: the server is asked again.
    let (asked, set_asked) = signal(0u32);
    // The session first (it answers `null` when nobody is signed in), then
    // the figures only when it may see them: a visit that cannot see them
    // makes no request the server must refuse. The server decides all the
    // same, and a refusal it gives leads to the same views.
    let gate = LocalResource::new(move || {
        asked.track();
        let days = days.get();
        async move {
            let Some(s) = api::session::current().await? else {
                return Ok(Gate::SignIn);
            };
            let kinds: std::collections::HashSet<_> = s.proven.iter().collect();
            if !s.is_admin {
                return Ok(Gate::Forbidden);
            }
            if kinds.len() < 2 {
                return Ok(Gate::Prove);
            }
            match api::insights::figures(days).await {
                Ok(f) => Ok(Gate::Figures(f)),
                Err(e) => match e.id() {
                    ErrorId::SessionRequired => Ok(Gate::SignIn),
                    ErrorId::TwoMethodsRequired => Ok(Gate::Prove),
                    ErrorId::InsightsForbidden => Ok(Gate::Forbidden),
                    _ => Err(e),
                },
            }
        }
    });
    let again = Callback::new(move |()| set_asked.update(|n| *n += 1));
    let forbidden = || ApiError::Api {
        status: 403,
        detail: sspr_proto::ErrorDetail {
            id: ErrorId::InsightsForbidden,
            message: String::new(),
            field: None,
            retry_after: None,
        },
    };

    let body = move || match gate.get() {
        None => view! { <p aria-busy="true">{t!("action.loading")}</p> }.into_any(),
        Some(Ok(Gate::Figures(f))) => {
            view! { <Dashboard figures=f days=days set_days=set_days /> }.into_any()
        }
        Some(Ok(Gate::SignIn)) => view! { <SignIn on_signed_in=again /> }.into_any(),
        Some(Ok(Gate::Prove)) => view! { <prove::Prove on_done=again /> }.into_any(),
        Some(Ok(Gate::Forbidden)) => view! {
            <ErrorBox error=Signal::derive(move || Some(forbidden())) />
            <p><AppLink href="/security-info">{t!("insights.to_security_info")}</AppLink></p>
        }
        .into_any(),
        Some(Err(e)) => failed(e).into_any(),
    };
    view! {
        <div class="insights">
            <h1>{t!("insights.title")}</h1>
            <p class="lead">{t!("insights.lead")}</p>
            {body}
        </div>
    }
}

/// The figures, once the server has shown them.
#[component]
fn Dashboard(figures: Figures, days: ReadSignal<u16>, set_days: WriteSignal<u16>) -> impl IntoView {
    let generated = crate::pages::insights::events::utc(figures.generated_at);
    let Figures {
        coverage,
        methods,
        activity,
        blocked_now,
        ..
    } = figures;
    view! {
        <form class="period" on:submit=|ev| ev.prevent_default()>
            <label for="period">{t!("insights.period")}</label>
            <select
                id="period"
                on:change=move |ev| {
                    if let Ok(d) = event_target_value(&ev).parse() {
                        set_days.set(d);
                    }
                }
            >
                {PERIODS
                    .into_iter()
                    .map(|d| view! {
                        <option value=d.to_string() selected=move || days.get() == d>
                            {move || tn("insights.last_days", d.into(), &[])}
                        </option>
                    })
                    .collect_view()}
            </select>
            <p class="as-of">{t!("insights.as_of")} " " <time>{generated}</time></p>
        </form>
        <coverage::Coverage coverage=coverage methods=methods days=days />
        <activity::Activity activity=activity days=days />
        <section aria-labelledby="blocked-heading">
            <h2 id="blocked-heading">{t!("insights.blocked.heading")}</h2>
            {if blocked_now.is_empty() {
                view! { <p>{t!("insights.blocked.none")}</p> }.into_any()
            } else {
                view! {
                    <ul class="people">
                        {blocked_now
                            .into_iter()
                            .map(|u| view! { <li><span dir="auto">{u.display_name}</span> " (" <span dir="auto">{u.username}</span> ")"</li> })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
        <events::Events days=days />
    }
}

/// Why a part of the page failed to load: for that part only.
fn failed(e: ApiError) -> impl IntoView {
    view! { <ErrorBox error=Signal::derive(move || Some(e.clone())) /> }
}
