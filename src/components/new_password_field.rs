use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use sspr_proto::config::PasswordContext;
use sspr_proto::strength::{Check, Rule};

use crate::components::strength_meter::{StrengthMeter, score_text};
use crate::i18n::{t, tf, tn};
use crate::strength::{self, Checked};

/// How long typing must pause before screen readers hear the summary.
const ANNOUNCE_AFTER_MS: u32 = 1200;

/// One checklist line in words, by the rule's stable id.
pub fn rule_text(rule: Rule, ctx: &PasswordContext) -> String {
    match rule {
        Rule::MinLength => tn("rule.min_length", ctx.rules.min_length.into(), &[]),
        Rule::MaxLength => tn("rule.max_length", ctx.rules.max_length.into(), &[]),
        Rule::NoNames => t("rule.no_names"),
        Rule::Complexity => t("rule.complexity"),
        Rule::NotBanned => match &ctx.banned {
            Some(b) if !b.organisation.is_empty() => {
                tf("rule.not_banned_org", &[("organisation", &b.organisation)])
            }
            _ => t("rule.not_banned"),
        },
        Rule::Strength => tf(
            "rule.strength",
            &[("score", &score_text(ctx.rules.min_score))],
        ),
    }
}

/// The lines the context promises, before the first report arrives.
fn expected_rules(ctx: &PasswordContext) -> Vec<Rule> {
    let mut rules = vec![Rule::MinLength, Rule::MaxLength, Rule::NoNames];
    if ctx.rules.complexity {
        rules.push(Rule::Complexity);
    }
    if ctx.banned.is_some() {
        rules.push(Rule::NotBanned);
    }
    rules.push(Rule::Strength);
    rules
}

/// The new-password input with show/hide, the live checklist (one line per
/// rule, from the strength worker) and the strength bar. The password goes
/// to the worker on this page, never to the network, until submit.
#[component]
pub fn NewPasswordField(
    value: ReadSignal<String>,
    set_value: WriteSignal<String>,
    /// The user's rules and names; `None` until known.
    context: Signal<Option<PasswordContext>>,
) -> impl IntoView {
    let (shown, set_shown) = signal(false);
    let checked = strength::watch(context, value.into());
    let typed = move || value.with(|v| !v.is_empty());
    // (rule, Some(passed)) per line; None while not yet evaluated.
    let lines = Memo::new(move |_| {
        let ctx = context.get()?;
        let evaluated: Option<Vec<Check>> = match checked.get() {
            Checked::Report { report, .. } if typed() => Some(report.checks),
            _ => None,
        };
        let lines: Vec<(String, Option<bool>)> = match evaluated {
            Some(checks) => checks
                .into_iter()
                .map(|c| (rule_text(c.rule, &ctx), Some(c.passed)))
                .collect(),
            None => expected_rules(&ctx)
                .into_iter()
                .map(|r| (rule_text(r, &ctx), None))
                .collect(),
        };
        Some(lines)
    });
    let strength_now = Signal::derive(move || match checked.get() {
        Checked::Report { report, .. } if typed() => report.strength,
        _ => None,
    });
    let stale = move || matches!(checked.get(), Checked::Report { current: false, .. });

    // A polite summary once typing pauses, not on every keystroke.
    let (announcement, set_announcement) = signal(String::new());
    let timer = StoredValue::new_local(None::<Timeout>);
    Effect::new(move |_| {
        let summary = lines.with(|l| {
            l.as_ref().and_then(|l| {
                let judged: Vec<bool> = l.iter().filter_map(|(_, p)| *p).collect();
                (!judged.is_empty()).then(|| {
                    let met = judged.iter().filter(|p| **p).count();
                    tf(
                        "rule.summary",
                        &[
                            ("met", &met.to_string()),
                            ("total", &judged.len().to_string()),
                        ],
                    )
                })
            })
        });
        let strength = strength_now.with(|s| {
            s.as_ref()
                .map(|s| tf("rule.summary_strength", &[("score", &score_text(s.score))]))
        });
        timer.update_value(|t| drop(t.take()));
        if let Some(summary) = summary {
            let text = match strength {
                Some(s) => format!("{summary} {s}"),
                None => summary,
            };
            let t = Timeout::new(ANNOUNCE_AFTER_MS, move || set_announcement.set(text));
            timer.set_value(Some(t));
        }
    });
    on_cleanup(move || timer.update_value(|t| drop(t.take())));

    view! {
        <label for="new-password">{t!("field.new_password")}</label>
        <div class="password-field">
            <input
                id="new-password"
                name="new-password"
                type=move || if shown.get() { "text" } else { "password" }
                autocomplete="new-password"
                aria-describedby="password-rules password-strength"
                required
                prop:value=move || value.get()
                on:input=move |ev| set_value.set(event_target_value(&ev))
            />
            <button
                type="button"
                class="secondary toggle"
                aria-pressed=move || shown.get().to_string()
                aria-controls="new-password"
                on:click=move |_| set_shown.update(|s| *s = !*s)
            >
                {move || t(if shown.get() { "action.hide" } else { "action.show" })}
            </button>
        </div>
        <ul id="password-rules" class="checklist" aria-label=t!("rule.label") aria-busy=move || stale().to_string()>
            {move || {
                lines
                    .get()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(text, passed)| {
                        let (class, state) = match passed {
                            Some(true) => ("check ok", t("rule.met")),
                            Some(false) => ("check bad", t("rule.not_met")),
                            None => ("check", String::new()),
                        };
                        view! {
                            <li class=class>
                                <span class="visually-hidden">{state}</span>
                                {text}
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ul>
        <div id="password-strength">
            <StrengthMeter strength=strength_now />
        </div>
        {move || {
            matches!(checked.get(), Checked::Unavailable).then(|| {
                view! {
                    <p class="field-hint">
                        {t!("rule.unavailable")}
                    </p>
                }
            })
        }}
        <p class="visually-hidden" aria-live="polite">{move || announcement.get()}</p>
    }
}
