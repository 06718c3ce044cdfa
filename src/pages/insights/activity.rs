use leptos::prelude::*;
use sspr_proto::insights::{DayActivity, EventFilter, ProofCount};
use sspr_proto::reset::MethodKind;

use crate::api;
use crate::i18n::t;
use crate::pages::security_info::kind_name;

/// The chart's drawing box (SVG user units; it scales to the page).
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
/// Room for the day labels under the bars and the scale beside them.
const BOTTOM: f64 = 22.0;
const LEFT: f64 = 34.0;

/// The series of the day chart, bottom to top: catalog key and CSS class.
const SERIES: [(&str, &str); 3] = [
    ("insights.legend.resets", "resets"),
    ("insights.legend.unlocks", "unlocks"),
    ("insights.legend.blocks", "blocks"),
];

fn values(d: &DayActivity) -> [u32; 3] {
    [d.resets, d.unlocks, d.blocks]
}

/// Resets, unlocks and blocks day by day as stacked columns, the same
/// figures as a table behind the chart, and the proofs at reset gates by
/// method over the period.
#[component]
pub fn Activity(activity: Vec<DayActivity>, days: ReadSignal<u16>) -> impl IntoView {
    let top = activity
        .iter()
        .map(|d| values(d).iter().sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = (WIDTH - LEFT) / activity.len().max(1) as f64;
    let scale = (HEIGHT - BOTTOM) / f64::from(top);
    // A day label every so often: about six along the axis.
    let every = (activity.len() / 6).max(1);
    let columns = activity
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let x = LEFT + slot * i as f64 + slot * 0.15;
            let mut y = HEIGHT - BOTTOM;
            let parts = values(d)
                .into_iter()
                .zip(SERIES)
                .filter(|(v, _)| *v > 0)
                .map(|(v, (_, class))| {
                    let h = f64::from(v) * scale;
                    y -= h;
                    view! {
                        <rect class=format!("bar-{class}") x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{:.1}", slot * 0.7) height=format!("{h:.1}")></rect>
                    }
                })
                .collect_view();
            let last = i + 1 == activity.len();
            let label = (i % every == 0 || last).then(|| {
                let day = d.date.get(5..).unwrap_or(&d.date).to_string();
                // The last label ends at its bar's edge, inside the drawing.
                let (at, anchor) = if last {
                    (x + slot * 0.7, "end")
                } else {
                    (x + slot * 0.35, "middle")
                };
                view! {
                    <text class="axis" x=format!("{at:.1}") y=format!("{:.1}", HEIGHT - 6.0) text-anchor=anchor>{day}</text>
                }
            });
            view! { {parts} {label} }
        })
        .collect_view();
    let proofs = totals(&activity);
    let rows = activity.clone();
    let csv = move || api::insights::export_url("activity", &EventFilter::default(), days.get());
    let total = |pick: fn(&DayActivity) -> u32| activity.iter().map(pick).sum::<u32>();
    let (resets, unlocks, blocks) = (
        total(|d| d.resets),
        total(|d| d.unlocks),
        total(|d| d.blocks),
    );
    view! {
        <section aria-labelledby="activity-heading">
            <h2 id="activity-heading">{t!("insights.activity.heading")}</h2>
            <dl class="kpis">
                <div><dt>{t!("insights.legend.resets")}</dt><dd>{resets.to_string()}</dd></div>
                <div><dt>{t!("insights.legend.unlocks")}</dt><dd>{unlocks.to_string()}</dd></div>
                <div><dt>{t!("insights.legend.blocks")}</dt><dd>{blocks.to_string()}</dd></div>
            </dl>
            <figure class="chart">
                <figcaption id="activity-caption">{t!("insights.activity.caption")}</figcaption>
                <ul class="legend">
                    {SERIES
                        .into_iter()
                        .map(|(key, class)| view! { <li><span class=format!("swatch bar-{class}") aria-hidden="true"></span>{move || t(key)}</li> })
                        .collect_view()}
                </ul>
                // The columns are for the eye; the table below carries the
                // same figures for everyone else.
                <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-labelledby="activity-caption" focusable="false">
                    <line class="axis-line" x1=LEFT.to_string() y1=format!("{}", HEIGHT - BOTTOM) x2=WIDTH.to_string() y2=format!("{}", HEIGHT - BOTTOM)></line>
                    <text class="axis" x=format!("{}", LEFT - 6.0) y="12" text-anchor="end">{top.to_string()}</text>
                    <text class="axis" x=format!("{}", LEFT - 6.0) y=format!("{}", HEIGHT - BOTTOM) text-anchor="end">"0"</text>
                    {columns}
                </svg>
                <details>
                    <summary>{t!("insights.show_table")}</summary>
                    <div class="table-scroll" role="region" aria-labelledby="days-caption" tabindex="0">
                    <table>
                        <caption id="days-caption">{t!("insights.activity.caption")}</caption>
                        <thead>
                            <tr>
                                <th scope="col">{t!("insights.activity.day")}</th>
                                <th scope="col">{t!("insights.legend.resets")}</th>
                                <th scope="col">{t!("insights.legend.unlocks")}</th>
                                <th scope="col">{t!("insights.legend.blocks")}</th>
                                <th scope="col">{t!("insights.activity.registrations")}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {rows
                                .into_iter()
                                .map(|d| view! {
                                    <tr>
                                        <th scope="row">{d.date}</th>
                                        <td>{d.resets.to_string()}</td>
                                        <td>{d.unlocks.to_string()}</td>
                                        <td>{d.blocks.to_string()}</td>
                                        <td>{d.registrations.to_string()}</td>
                                    </tr>
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                    </div>
                </details>
            </figure>
            <p><a href=csv download="">{t!("insights.export.activity")}</a></p>
            <h3>{t!("insights.proofs.heading")}</h3>
            <div class="table-scroll" role="region" aria-labelledby="proofs-caption" tabindex="0">
            <table class="figures">
                <caption id="proofs-caption">{t!("insights.proofs.caption")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{t!("insights.proofs.method")}</th>
                        <th scope="col">{t!("insights.proofs.passed")}</th>
                        <th scope="col">{t!("insights.proofs.failed")}</th>
                    </tr>
                </thead>
                <tbody>
                    {proofs
                        .into_iter()
                        .map(|p| view! {
                            <tr>
                                <th scope="row">{move || kind_name(p.kind)}</th>
                                <td>{p.passed.to_string()}</td>
                                <td>{p.failed.to_string()}</td>
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
            </div>
        </section>
    }
}

/// Proofs by method over the whole period, in the kinds' usual order.
fn totals(activity: &[DayActivity]) -> Vec<ProofCount> {
    let mut out: Vec<ProofCount> = Vec::new();
    for p in activity.iter().flat_map(|d| &d.proofs) {
        match out.iter_mut().find(|o| o.kind == p.kind) {
            Some(o) => {
                o.passed += p.passed;
                o.failed += p.failed;
            }
            None => out.push(*p),
        }
    }
    let order = |k: MethodKind| match k {
        MethodKind::Authenticator => 0,
        MethodKind::Email => 1,
        MethodKind::Sms => 2,
        MethodKind::RecoveryCode => 3,
        MethodKind::SecurityQuestions => 4,
        MethodKind::OfficePhone => 5,
        MethodKind::Passkey => 6,
    };
    out.sort_by_key(|p| order(p.kind));
    out
}
