use leptos::prelude::*;

/// A step's heading: focus moves to it when it appears, so keyboard and
/// screen-reader users follow each step.
#[component]
pub fn FocusHeading(children: Children) -> impl IntoView {
    let h: NodeRef<leptos::html::H2> = NodeRef::new();
    Effect::new(move |_| {
        if let Some(el) = h.get() {
            let _ = el.focus();
        }
    });
    view! { <h2 class="step-heading" tabindex="-1" node_ref=h>{children()}</h2> }
}
