use crate::components::app_link::AppLink;
use leptos::prelude::*;
use sspr_proto::reset::Outcome;

use super::{StepHeading, use_wizard};

#[component]
pub fn Done(outcome: Outcome) -> impl IntoView {
    let wizard = use_wizard();
    // The flow is over: a reload starts a new one.
    wizard.restart_storage_only();
    let (heading, body) = match outcome {
        Outcome::PasswordReset => (
            "Your password has been reset",
            "Sign in with your new password. Other sessions were signed out, and we emailed you a confirmation.",
        ),
        Outcome::Unlocked => (
            "Your account is unlocked",
            "Sign in with your existing password.",
        ),
    };
    view! {
        <StepHeading>{heading}</StepHeading>
        <p>{body}</p>
        <p><AppLink href="/signin">"Go to sign-in"</AppLink></p>
    }
}
