use leptos::prelude::*;
use sspr_proto::security_info::{Interrupt as Why, SecurityInfoView};

use super::{FocusHeading, add_method::AddMethod, detail, kind_name, use_info};
use crate::api;
use crate::i18n::tn;

/// Stops the user at sign-in until their security info is complete, or
/// confirmed once the reconfirm period has passed.
#[component]
pub fn Interrupt(
    interrupt: Why,
    view: SecurityInfoView,
    manage: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let info = use_info();
    match interrupt {
        Why::Register { needed } => view! {
            <section class="interrupt">
                <FocusHeading>{t!("interrupt.register_heading")}</FocusHeading>
                <p>{move || tn("interrupt.register_body", needed.into(), &[])}</p>
                <AddMethod
                    can_add=view.can_add.clone()
                    questions=view.questions.clone()
                    on_done=Callback::new(move |v: SecurityInfoView| {
                        let done = v.interrupt.is_none();
                        info.latest.set(Some(v));
                        if done {
                            info.notice.set(Some("interrupt.complete"));
                        }
                    })
                    on_cancel=None
                />
            </section>
        }
        .into_any(),
        Why::Reconfirm => {
            let review = crate::action::local(move |_: &()| async move {
                if info.apply(api::security_info::review().await) {
                    info.notice.set(Some("interrupt.confirmed"));
                }
            });
            view! {
                <section class="interrupt">
                    <FocusHeading>{t!("interrupt.reconfirm_heading")}</FocusHeading>
                    <p>{t!("interrupt.reconfirm_body")}</p>
                    <ul class="method-summary">
                        {view
                            .methods
                            .iter()
                            .map(|m| {
                                let (kind, m) = (m.kind, m.clone());
                                view! { <li><strong>{move || kind_name(kind)}</strong> " " {move || detail(&m)}</li> }
                            })
                            .collect_view()}
                    </ul>
                    <div class="actions">
                        <button type="button" class="primary" disabled=move || review.pending().get() on:click=move |_| { review.dispatch(()); }>
                            {t!("interrupt.looks_good")}
                        </button>
                        <button type="button" class="secondary" on:click=move |_| manage()>
                            {t!("interrupt.update")}
                        </button>
                    </div>
                </section>
            }
            .into_any()
        }
    }
}
