use crate::components::app_link::AppLink;
use leptos::prelude::*;
use sspr_proto::reset::Outcome;

use super::{StepHeading, use_wizard};
use crate::i18n::{t, tn};

/// The end: what changed, and what else the server did (the sessions it
/// ended, the confirmation it mailed), as it reports them.
#[component]
pub fn Done(outcome: Outcome, signed_out: u32, notified: bool) -> impl IntoView {
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
        {(signed_out > 0).then(|| view! { <p>{move || tn("reset.done.signed_out", signed_out.into(), &[])}</p> })}
        {notified.then(|| view! { <p>{t!("reset.done.notified")}</p> })}
        <p><AppLink href="/signin">{t!("reset.done.signin")}</AppLink></p>
    }
}
