use crate::components::app_link::AppLink;
use leptos::prelude::*;
use sspr_proto::reset::Outcome;

use super::{StepHeading, use_wizard};
use crate::i18n::t;

#[component]
pub fn Done(outcome: Outcome) -> impl IntoView {
    let wizard = use_wizard();
    // The flow is over: a reload starts a new one.
    wizard.restart_storage_only();
    let (heading, body) = match outcome {
        Outcome::PasswordReset => ("reset.done.reset_heading", "reset.done.reset_body"),
        Outcome::Unlocked => ("reset.done.unlocked_heading", "reset.done.unlocked_body"),
    };
    view! {
        <StepHeading>{move || t(heading)}</StepHeading>
        <p>{move || t(body)}</p>
        <p><AppLink href="/signin">{t!("reset.done.signin")}</AppLink></p>
    }
}
