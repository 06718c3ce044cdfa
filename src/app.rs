//! The app shell: theme and policy loaded once (in parallel), the layout, and
//! the router. The portal is three wasm apps sharing this shell: the reset
//! app (`/`, `/reset`), the account app (`/signin`, `/security-info`) and
//! the insights app (`/insights`, for administrators), so no page downloads
//! another's code. What pages and components read from the shell (theme,
//! policy, in-app navigation) is in [`crate::shell`], below them all.

use leptos::prelude::*;

use crate::api;
use crate::components::app_link::OwnPaths;
use crate::components::layout::Layout;
use crate::pages::not_found::NotFound;
use crate::shell::{InAppNav, PolicyCtx, ThemeCtx, focus_new_page};

/// Paths the reset app renders.
pub const RESET_PATHS: OwnPaths = OwnPaths(&["/", "/reset"]);
/// Paths the account app renders (the server serves `account.html` for them).
pub const ACCOUNT_PATHS: OwnPaths = OwnPaths(&["/signin", "/security-info", "/theme-preview"]);
/// Paths the insights app renders (`insights.html`).
pub const INSIGHTS_PATHS: OwnPaths = OwnPaths(&["/insights"]);

/// Contexts both apps share. Both fetches start at once: no waterfall on first paint.
fn provide_shell(own: OwnPaths) {
    let policy = LocalResource::new(api::config);
    crate::i18n::provide(policy);
    // Fetched once; its per-locale texts follow the page's language (the
    // tag may be regional, `pt-BR`) without fetching it again.
    let raw = LocalResource::new(crate::theme::load);
    provide_context(ThemeCtx(Memo::new(move |_| {
        raw.get()
            .map(|r| r.map(|t| t.localised(&crate::i18n::requested_tag())))
    })));
    provide_context(PolicyCtx(policy));
    provide_context(own);
}

/// The path the app renders: `/security-info/` is `/security-info`.
fn location_path() -> String {
    let path = window().location().pathname().unwrap_or_default();
    match path.trim_end_matches('/') {
        "" => "/".to_string(),
        p => p.to_string(),
    }
}

/// Provides [`InAppNav`] and follows back and forward. Pages may push
/// history entries of their own under one path (the reset wizard's steps):
/// the view changes only when the path itself does, or every Back would
/// restart the wizard.
fn provide_nav() -> RwSignal<String> {
    let path = RwSignal::new(location_path());
    provide_context(InAppNav(path));
    let on_pop = window_event_listener(leptos::ev::popstate, move |_| {
        let now = location_path();
        if path.with_untracked(|p| *p != now) {
            path.set(now);
            focus_new_page();
        }
    });
    on_cleanup(move || on_pop.remove());
    path
}

/// `/` and the reset wizard.
#[component]
pub fn ResetApp() -> impl IntoView {
    use crate::pages::{home::Home, reset::Reset};
    provide_shell(RESET_PATHS);
    let path = provide_nav();
    view! {
        <Layout>
            {move || match path.get().as_str() {
                "/" => Home().into_any(),
                "/reset" => Reset().into_any(),
                _ => NotFound().into_any(),
            }}
        </Layout>
    }
}

/// Sign-in, security info and change of password.
#[component]
pub fn AccountApp() -> impl IntoView {
    use crate::pages::{
        change_password::ChangePassword, security_info::SecurityInfo, signin::SignIn,
        theme_preview::ThemePreview,
    };
    provide_shell(ACCOUNT_PATHS);
    let path = provide_nav();
    view! {
        <Layout>
            {move || match path.get().as_str() {
                "/signin" => view! { <SignIn /> }.into_any(),
                "/security-info" => SecurityInfo().into_any(),
                "/security-info/password" => ChangePassword().into_any(),
                "/theme-preview" => ThemePreview().into_any(),
                _ => NotFound().into_any(),
            }}
        </Layout>
    }
}

/// Usage & insights, for administrators.
#[component]
pub fn InsightsApp() -> impl IntoView {
    use crate::pages::insights::Insights;
    provide_shell(INSIGHTS_PATHS);
    let path = provide_nav();
    view! {
        <Layout>
            {move || match path.get().as_str() {
                "/insights" => Insights().into_any(),
                _ => NotFound().into_any(),
            }}
        </Layout>
    }
}
