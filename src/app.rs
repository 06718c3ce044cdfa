//! The app shell: theme and policy loaded once (in parallel), the layout, and
//! the router with every flow's route.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use sspr_proto::{PublicConfig, Theme};

use crate::api::{self, ApiError};
use crate::components::layout::Layout;
use crate::pages::{
    change_password::ChangePassword, home::Home, not_found::NotFound, reset::Reset,
    security_info::SecurityInfo, signin::SignIn,
};

/// The theme, as loaded from `/theme.json`. `None` while loading.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct ThemeCtx(pub LocalResource<Result<Theme, ApiError>>);

/// The public policy summary from `/api/config`.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct PolicyCtx(pub LocalResource<Result<PublicConfig, ApiError>>);

pub fn use_theme() -> LocalResource<Result<Theme, ApiError>> {
    expect_context::<ThemeCtx>().0
}

pub fn use_policy() -> LocalResource<Result<PublicConfig, ApiError>> {
    expect_context::<PolicyCtx>().0
}

/// Sets the document title once the theme is known: "Page | Organisation".
pub fn use_page_title(title: &'static str) {
    let theme = use_theme();
    Effect::new(move |_| {
        if let Some(Ok(t)) = theme.get() {
            crate::theme::apply(&t, title);
        }
    });
}

#[component]
pub fn App() -> impl IntoView {
    // Both fetches start at once: no waterfall on first paint.
    provide_context(ThemeCtx(LocalResource::new(crate::theme::load)));
    provide_context(PolicyCtx(LocalResource::new(api::config)));
    view! {
        <Router>
            <Layout>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home />
                    <Route path=path!("/reset") view=Reset />
                    <Route path=path!("/signin") view=SignIn />
                    <Route path=path!("/security-info") view=SecurityInfo />
                    <Route path=path!("/security-info/password") view=ChangePassword />
                </Routes>
            </Layout>
        </Router>
    }
}
