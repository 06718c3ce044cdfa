use leptos::prelude::*;

/// One bar of a horizontal bar chart: its label, its value and the scale's
/// full length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    pub value: u32,
}

/// Horizontal bars, read at a glance: each label, its bar against `of`, and
/// the number itself (so no reader depends on the bar's length alone). The
/// figure is a plain list for screen readers, whose words carry it all.
#[component]
pub fn Bars(
    /// The caption: what the bars count.
    caption: Signal<String>,
    bars: Vec<Bar>,
    /// The scale's full length (e.g. the users in scope).
    of: u32,
) -> impl IntoView {
    let of = of.max(1);
    view! {
        <figure class="bars">
            <figcaption>{caption}</figcaption>
            <ul>
                {bars
                    .into_iter()
                    .map(|b| {
                        // Whole percent, so the width never reads as more exact than it is.
                        let pct = (u64::from(b.value) * 100 / u64::from(of)).min(100);
                        view! {
                            <li>
                                <span class="bar-label" dir="auto">{b.label}</span>
                                // SVG, not a styled width: the CSP allows no inline styles.
                                <svg class="bar-track" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false">
                                    <rect class="bar-fill" width=pct.to_string() height="10"></rect>
                                </svg>
                                <span class="bar-value">{b.value.to_string()}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </figure>
    }
}
