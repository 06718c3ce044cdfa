use leptos::prelude::*;
use sspr_proto::insights::{Coverage as Figures, EventFilter, MethodCount, Scope};

use super::bars::{Bar, Bars};
use crate::api;
use crate::i18n::{t, tn};
use crate::pages::security_info::kind_name;

/// Registration: who is in scope, registered and capable, who is not, and
/// the methods registered by kind.
#[component]
pub fn Coverage(
    coverage: Figures,
    methods: Vec<MethodCount>,
    days: ReadSignal<u16>,
) -> impl IntoView {
    let Figures {
        scope,
        in_scope,
        registered,
        capable,
        not_registered,
    } = coverage;
    let readiness = move || {
        vec![
            Bar {
                label: t("insights.coverage.registered"),
                value: registered,
            },
            Bar {
                label: t("insights.coverage.capable"),
                value: capable,
            },
            Bar {
                label: t("insights.coverage.not_registered"),
                value: in_scope.saturating_sub(registered),
            },
        ]
    };
    let by_kind = move || {
        methods
            .iter()
            .map(|m| Bar {
                label: kind_name(m.kind),
                value: m.users,
            })
            .collect::<Vec<_>>()
    };
    let list_url =
        move || api::insights::export_url("not_registered", &EventFilter::default(), days.get());
    view! {
        <section aria-labelledby="coverage-heading">
            <h2 id="coverage-heading">{t!("insights.coverage.heading")}</h2>
            <dl class="kpis">
                <div><dt>{t!("insights.coverage.in_scope")}</dt><dd>{in_scope.to_string()}</dd></div>
                <div><dt>{t!("insights.coverage.registered")}</dt><dd>{registered.to_string()}</dd></div>
                <div><dt>{t!("insights.coverage.capable")}</dt><dd>{capable.to_string()}</dd></div>
                <div><dt>{t!("insights.coverage.not_registered")}</dt><dd>{in_scope.saturating_sub(registered).to_string()}</dd></div>
            </dl>
            <p class="hint">
                {move || t(match scope {
                    Scope::AllUsers => "insights.coverage.scope_all",
                    Scope::SeenUsers => "insights.coverage.scope_seen",
                })}
                " "
                {t!("insights.coverage.capable_means")}
            </p>
            {move || view! {
                <Bars
                    caption=Signal::derive(move || tn("insights.coverage.chart", in_scope.into(), &[]))
                    bars=readiness()
                    of=in_scope
                />
                <Bars caption=t!("insights.methods.caption") bars=by_kind() of=in_scope />
            }}
            <h3>{t!("insights.coverage.who_not")}</h3>
            {if not_registered.is_empty() {
                view! { <p>{t!("insights.coverage.none_missing")}</p> }.into_any()
            } else {
                view! {
                    <ul class="people">
                        {not_registered
                            .into_iter()
                            .map(|u| view! { <li><span dir="auto">{u.display_name}</span> " (" <span dir="auto">{u.username}</span> ")"</li> })
                            .collect_view()}
                    </ul>
                    <p><a href=list_url download="">{t!("insights.export.not_registered")}</a></p>
                }
                .into_any()
            }}
        </section>
    }
}
