use leptos::prelude::*;
use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::RegisteredMethod;

/// "Which method?": one radio per registered method, each named by its kind
/// and its detail line, the picked one's id in `picked`. The step-up of
/// security info and the administrator's proofs of Usage & insights ask it
/// alike (each on a page of its own, so one group name serves both).
///
/// How a kind is named and detailed is the security-info page's business, so
/// the caller passes its two functions in (this file imports no page).
#[component]
pub fn MethodChoice(
    /// The methods offered, in order.
    methods: Vec<RegisteredMethod>,
    /// The picked method's id.
    picked: ReadSignal<String>,
    set_picked: WriteSignal<String>,
    /// A kind's name in the page's language.
    kind_name: fn(MethodKind) -> String,
    /// A method's detail line (its masked target, codes left, …).
    detail: fn(&RegisteredMethod) -> String,
) -> impl IntoView {
    view! {
        <fieldset class="choices">
            <legend>{t!("stepup.which")}</legend>
            {methods
                .into_iter()
                .map(|m| {
                    let (id, kind) = (m.id.clone(), m.kind);
                    let checked = {
                        let id = id.clone();
                        move || picked.get() == id
                    };
                    view! {
                        <label class="choice">
                            <input
                                type="radio"
                                name="stepup-method"
                                prop:checked=checked
                                on:change=move |_| set_picked.set(id.clone())
                            />
                            <span>{move || kind_name(kind)} " " <span class="method-detail">{move || detail(&m)}</span></span>
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}
