//! What the app shell provides and every page and component reads: the
//! theme, the policy summary, the page title and in-app navigation. Below
//! [`crate::app`], [`crate::components`] and [`crate::pages`], so none of
//! them imports another in a circle.

use leptos::prelude::*;
use sspr_proto::{PublicConfig, Theme};

use crate::api::ApiError;

/// The theme from `/theme.json`, with the overrides for the page's
/// language. `None` while loading.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct ThemeCtx(pub Memo<Option<Result<Theme, ApiError>>>);

/// The public policy summary from `/api/config`.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct PolicyCtx(pub LocalResource<Result<PublicConfig, ApiError>>);

pub fn use_theme() -> Memo<Option<Result<Theme, ApiError>>> {
    expect_context::<ThemeCtx>().0
}

pub fn use_policy() -> LocalResource<Result<PublicConfig, ApiError>> {
    expect_context::<PolicyCtx>().0
}

/// Sets the document title once the theme is known: "Page | Organisation",
/// in the page's language. `title` is a catalog key.
pub fn use_page_title(title: &'static str) {
    let theme = use_theme();
    Effect::new(move |_| {
        if let Some(Ok(t)) = theme.get() {
            crate::theme::apply(&t, &crate::i18n::t(title));
        }
    });
}

/// Each app's own navigation between the paths it renders. A router would
/// be a sixth of the reset page's wasm (`cargo xtask build-web`: 201.8 KB
/// with leptos_router, 167 KB without) and 40 KB of the account page's:
/// [`AppLink`](crate::components::app_link::AppLink) and
/// [`use_navigate`](crate::components::app_link::use_navigate) push history and set
/// this; back and forward set it from the location.
#[derive(Debug, Clone, Copy)]
pub struct InAppNav(pub RwSignal<String>);

/// After an in-app move, focus goes where a screen reader expects it after a
/// page load: the new page's heading (the document title has changed too).
/// A step heading that took focus itself (the reset wizard's) keeps it. Run
/// on the next frame, once the new page has rendered.
pub fn focus_new_page() {
    request_animation_frame(|| {
        let doc = document();
        let free = doc
            .active_element()
            .is_none_or(|e| doc.body().is_some_and(|b| *b == e));
        if free
            && let Ok(Some(h)) = doc.query_selector("main h1")
            && let Ok(h) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(h)
        {
            let _ = h.set_attribute("tabindex", "-1");
            let _ = h.focus();
        }
    });
}
