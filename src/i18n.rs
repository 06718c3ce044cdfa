//! The page's language: one catalog (`/locales/{code}.json`) fetched at
//! start, in parallel with the theme and the policy, and swapped in place when
//! the reader picks another language (no reload, the wizard keeps its step).
//!
//! Which language: `?lng=xx` (as Entra's portals take it), then the reader's
//! earlier pick (the `sspr_lng` cookie), then the browser's languages in
//! order, then the portal's default. Texts are read through [`t`], [`tf`]
//! and [`tn`]; each is reactive, so a view that calls one inside a closure
//! re-renders when the catalog changes. They live in [`crate::texts`], below
//! both this loader and the API client, which needs them for its messages.

use std::cell::RefCell;
use std::collections::HashMap;

use leptos::prelude::*;
use sspr_proto::PublicConfig;
use sspr_proto::i18n::{self as lang, DEFAULT};

use crate::api::ApiError;
use crate::texts::{self, Catalog};
pub use crate::texts::{current, current_untracked, install, ready, t, text, tf, tn};

thread_local! {
    /// The language tag the reader asked for (`pt-BR`), for the theme's own
    /// per-locale texts, which may be regional.
    static REQUESTED: RefCell<String> = const { RefCell::new(String::new()) };
}

fn query_lng() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    lang::lng_param(&search).map(str::to_string)
}

fn document() -> Option<web_sys::HtmlDocument> {
    use wasm_bindgen::JsCast;
    web_sys::window()?.document()?.dyn_into().ok()
}

/// The reader's earlier pick, from the cookie the server reads too (it
/// preloads that catalog with the page).
fn remembered() -> Option<&'static str> {
    lang::picked(&document()?.cookie().ok()?)
}

/// Remembers a pick for a year, for this site's pages only.
fn remember(code: &str) {
    let Some(doc) = document() else {
        return;
    };
    let https = web_sys::window()
        .and_then(|w| w.location().protocol().ok())
        .is_some_and(|p| p == "https:");
    let secure = if https { "; Secure" } else { "" };
    let _ = doc.set_cookie(&format!(
        "{}={code}; Path=/; Max-Age=31536000; SameSite=Lax{secure}",
        lang::PICK_COOKIE
    ));
}

/// The tag the reader asked for, when it maps to the current locale (so a
/// theme's `pt-BR` texts apply on a Portuguese page); else the locale itself.
pub fn requested_tag() -> String {
    let code = current();
    REQUESTED.with(|r| {
        let r = r.borrow();
        if lang::supported(&r) == Some(code) {
            r.clone()
        } else {
            code.to_string()
        }
    })
}

/// The locale this page starts in, when the reader's languages name one.
fn initial() -> Option<&'static str> {
    let query = query_lng();
    // An explicit `?lng=` is kept for the rest of the visit, like a pick.
    if let Some(code) = query.as_deref().and_then(lang::supported) {
        remember(code);
    }
    let picked = remembered().map(str::to_string);
    let browser: Vec<String> = web_sys::window()
        .map(|w| {
            w.navigator()
                .languages()
                .iter()
                .filter_map(|v| v.as_string())
                .collect()
        })
        .unwrap_or_default();
    let ordered = query
        .into_iter()
        .chain(picked)
        .chain(browser)
        .collect::<Vec<_>>();
    let code = lang::negotiate(ordered.iter().map(String::as_str))?;
    if let Some(tag) = ordered.iter().find(|t| lang::supported(t) == Some(code)) {
        REQUESTED.with(|r| *r.borrow_mut() = tag.clone());
    }
    Some(code)
}

async fn fetch(code: &'static str) -> Option<Catalog> {
    let texts: HashMap<String, String> = crate::api::get(&format!("/locales/{code}.json"))
        .await
        .ok()?;
    Some(Catalog { code, texts })
}

async fn load(code: &'static str) {
    let catalog = match fetch(code).await {
        Some(c) => Some(c),
        None if code != DEFAULT => fetch(DEFAULT).await,
        None => None,
    };
    // Without any catalog the page still renders, with keys for text.
    let Catalog { code, texts } = catalog.unwrap_or(Catalog {
        code: DEFAULT,
        texts: HashMap::new(),
    });
    install(code, texts);
}

/// Starts loading the page's catalog. Call once, before the first view.
/// `config` is `/api/config`, already on its way: when none of the reader's
/// languages is shipped, the page waits for it and takes the portal's
/// default language (`server.default_locale`) rather than English.
pub fn provide(config: LocalResource<Result<PublicConfig, ApiError>>) {
    texts::start_empty();
    let start = initial();
    leptos::task::spawn_local(async move {
        let code = match start {
            Some(code) => code,
            None => config
                .await
                .ok()
                .and_then(|c| lang::supported(&c.default_locale))
                .unwrap_or(DEFAULT),
        };
        load(code).await;
    });
}

/// The reader picked a language: remember it, swap the texts, and keep a
/// `?lng=` in the address in step (so a reload keeps the pick).
pub fn pick(code: &str) {
    let Some(code) = lang::supported(code) else {
        return;
    };
    remember(code);
    REQUESTED.with(|r| *r.borrow_mut() = code.to_string());
    if query_lng().is_some()
        && let Some(w) = web_sys::window()
        && let Ok(url) = web_sys::Url::new(&w.location().href().unwrap_or_default())
    {
        url.search_params().set("lng", code);
        if let Ok(h) = w.history() {
            // Keep the wizard's own history entry state.
            let state = h.state().unwrap_or(wasm_bindgen::JsValue::NULL);
            let _ = h.replace_state_with_url(&state, "", Some(&url.href()));
        }
    }
    leptos::task::spawn_local(load(code));
}
