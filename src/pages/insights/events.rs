use leptos::prelude::*;
use sspr_proto::insights::{AuditEvent, EventFilter, EventResult};

use super::failed;
use crate::api;
use crate::i18n::{t, tn};

/// A Unix time as `2026-12-03 09:41:07 UTC`: the audit trail's clock, the
/// same for every administrator wherever they are.
pub fn utc(at: i64) -> String {
    let iso = String::from(
        js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64 * 1000.0)).to_iso_string(),
    );
    // 2026-12-03T09:41:07.000Z
    match (iso.get(..10), iso.get(11..19)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => iso,
    }
}

/// The latest audit events, filtered by user, activity and result, with the
/// same selection as CSV.
#[component]
pub fn Events(days: ReadSignal<u16>) -> impl IntoView {
    let (user, set_user) = signal(String::new());
    let (activity, set_activity) = signal(String::new());
    let (result, set_result) = signal(String::new());
    // What the table shows: the filters as last applied.
    let (applied, set_applied) = signal(EventFilter::default());
    let page = LocalResource::new(move || {
        let filter = applied.get();
        async move { api::insights::events(&filter).await }
    });
    let apply = move || {
        let some = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        set_applied.set(EventFilter {
            user: some(user.get_untracked()),
            activity: some(activity.get_untracked()),
            result: match result.get_untracked().as_str() {
                "success" => Some(EventResult::Success),
                "failure" => Some(EventResult::Failure),
                _ => None,
            },
        });
    };
    let csv = move || api::insights::export_url("events", &applied.get(), days.get());
    let activities = move || match page.get() {
        Some(Ok(p)) => p.activities,
        _ => Vec::new(),
    };
    view! {
        <section aria-labelledby="events-heading">
            <h2 id="events-heading">{t!("insights.events.heading")}</h2>
            <form class="filters" on:submit=move |ev| { ev.prevent_default(); apply(); }>
                <div class="field">
                    <label for="filter-user">{t!("insights.events.user")}</label>
                    <input id="filter-user" type="text" autocomplete="off" spellcheck="false"
                        prop:value=user on:input=move |ev| set_user.set(event_target_value(&ev)) />
                </div>
                <div class="field">
                    <label for="filter-activity">{t!("insights.events.activity")}</label>
                    <select id="filter-activity" on:change=move |ev| set_activity.set(event_target_value(&ev))>
                        <option value="" selected=move || activity.get().is_empty()>{t!("insights.events.any")}</option>
                        {move || activities()
                            .into_iter()
                            .map(|a| {
                                let (value, shown) = (a.clone(), a.clone());
                                view! { <option value=value selected=move || activity.get() == a>{shown}</option> }
                            })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="filter-result">{t!("insights.events.result")}</label>
                    <select id="filter-result" on:change=move |ev| set_result.set(event_target_value(&ev))>
                        <option value="">{t!("insights.events.any")}</option>
                        <option value="success">{t!("insights.events.success")}</option>
                        <option value="failure">{t!("insights.events.failure")}</option>
                    </select>
                </div>
                <div class="actions">
                    <button type="submit" class="secondary">{t!("insights.events.apply")}</button>
                </div>
            </form>
            {move || match page.get() {
                None => view! { <p aria-busy="true">{t!("action.loading")}</p> }.into_any(),
                Some(Err(e)) => failed(e).into_any(),
                Some(Ok(p)) if p.events.is_empty() => view! { <p role="status">{t!("insights.events.none")}</p> }.into_any(),
                Some(Ok(p)) => view! { <Table events=p.events /> }.into_any(),
            }}
            <p><a href=csv download="">{t!("insights.export.events")}</a></p>
        </section>
    }
}

#[component]
fn Table(events: Vec<AuditEvent>) -> impl IntoView {
    let count = events.len() as u64;
    let says = move || tn("insights.events.count", count, &[]);
    view! {
        // Told when the filters change what the table holds.
        <p class="visually-hidden" role="status">{says}</p>
        <div class="table-scroll" role="region" aria-labelledby="events-caption" tabindex="0">
            <table class="events">
                <caption id="events-caption">{says}</caption>
                <thead>
                    <tr>
                        <th scope="col">{t!("insights.events.time")}</th>
                        <th scope="col">{t!("insights.events.activity")}</th>
                        <th scope="col">{t!("insights.events.user")}</th>
                        <th scope="col">{t!("insights.events.method")}</th>
                        <th scope="col">{t!("insights.events.result")}</th>
                        <th scope="col">{t!("insights.events.address")}</th>
                        <th scope="col">{t!("insights.events.detail")}</th>
                    </tr>
                </thead>
                <tbody>
                    {events
                        .into_iter()
                        .map(|e| {
                            let who = match &e.target {
                                Some(t) if *t != e.actor => format!("{} → {t}", e.actor),
                                _ => e.actor.clone(),
                            };
                            let ok = e.result == EventResult::Success;
                            view! {
                                <tr>
                                    <td class="nowrap"><time>{utc(e.at)}</time></td>
                                    <td>{e.activity}</td>
                                    <td dir="auto">{who}</td>
                                    <td>{e.method.unwrap_or_default()}</td>
                                    <td class=if ok { "ok" } else { "failed" }>
                                        {move || t(if ok { "insights.events.success" } else { "insights.events.failure" })}
                                    </td>
                                    <td>{e.ip}</td>
                                    <td>{e.detail.unwrap_or_default()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
