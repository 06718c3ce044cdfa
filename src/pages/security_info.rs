use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;
use crate::app::use_page_title;

/// Security info (combined registration). The method list and registration
/// arrive with the registration issue; this page already knows who you are.
#[component]
pub fn SecurityInfo() -> impl IntoView {
    use_page_title("Security info");
    let session = LocalResource::new(api::session::current);
    let (signed_out, set_signed_out) = signal(false);
    let sign_out = Action::new_local(move |_: &()| async move {
        if api::session::sign_out().await.is_ok() {
            set_signed_out.set(true);
        }
    });
    view! {
        <h1>"Security info"</h1>
        <p>"These are the methods you use to sign in and to reset your password."</p>
        {move || match (signed_out.get(), session.get()) {
            (true, _) => view! { <p role="status">"You're signed out." " " <A href="/signin">"Sign in again"</A></p> }.into_any(),
            (false, None) => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            (false, Some(Ok(Some(me)))) => view! {
                <p class="signed-in">"Signed in as " <strong>{me.display_name}</strong> " (" {me.username} ")"</p>
                <button type="button" class="secondary" on:click=move |_| { sign_out.dispatch(()); }>"Sign out"</button>
            }
            .into_any(),
            (false, Some(Ok(None))) => {
                view! { <p><A href="/signin">"Sign in to see your methods"</A></p> }.into_any()
            }
            (false, Some(Err(e))) => view! { <p role="alert">{e.message()}</p> }.into_any(),
        }}
    }
}
