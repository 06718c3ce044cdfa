use leptos::prelude::*;
use sspr_proto::security_info::{Interrupt as Why, SecurityInfoView};

use super::{FocusHeading, add_method::AddMethod, detail, kind_name, use_info};
use crate::api;

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
        Why::Register { needed } => {
            let ways = if needed == 1 {
                "one more way".to_string()
            } else {
                format!("{needed} more ways")
            };
            view! {
                <section class="interrupt">
                    <FocusHeading>"Keep your account secure"</FocusHeading>
                    <p>{format!(
                        "Your organisation needs you to set up {ways} to prove who you are. You'll use {} to reset your password yourself if you ever forget it.",
                        if needed == 1 { "it" } else { "them" }
                    )}</p>
                    <AddMethod
                        can_add=view.can_add.clone()
                        questions=view.questions.clone()
                        on_done=Callback::new(move |v: SecurityInfoView| {
                            let done = v.interrupt.is_none();
                            info.latest.set(Some(v));
                            if done {
                                info.notice.set(Some("You're all set: your security info is complete.".into()));
                            }
                        })
                        on_cancel=None
                    />
                </section>
            }
            .into_any()
        }
        Why::Reconfirm => {
            let review = Action::new_local(move |_: &()| async move {
                if info.apply(api::security_info::review().await) {
                    info.notice
                        .set(Some("Thanks: your security info is confirmed.".into()));
                }
            });
            view! {
                <section class="interrupt">
                    <FocusHeading>"Is your security info still right?"</FocusHeading>
                    <p>"Your organisation asks you to check these from time to time. If one is out of date, update it now so you can still reset your password."</p>
                    <ul class="method-summary">
                        {view
                            .methods
                            .iter()
                            .map(|m| view! { <li><strong>{kind_name(m.kind)}</strong> " " {detail(m)}</li> })
                            .collect_view()}
                    </ul>
                    <div class="actions">
                        <button type="button" class="primary" disabled=move || review.pending().get() on:click=move |_| { review.dispatch(()); }>
                            "Looks good"
                        </button>
                        <button type="button" class="secondary" on:click=move |_| manage()>
                            "Update my methods"
                        </button>
                    </div>
                </section>
            }
            .into_any()
        }
    }
}
