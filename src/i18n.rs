//! The page's language: one catalog (`/locales/{code}.json`) fetched at
//! start, in parallel with the theme and the policy, and swapped in place when
//! the reader picks another language (no reload, the wizard keeps its step).
//!
//! Which language: `?lng=xx` (as Entra's portals take it), then the reader's
//! earlier pick (the `sspr_lng` cookie), then the browser's languages in
//! order, then the portal's default. Texts are read through [`t`], [`tf`]
//! and [`tn`]; each is reactive, so a view that calls one inside a closure
//! re-renders when the catalog changes.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use leptos::prelude::*;
use sspr_proto::PublicConfig;
use sspr_proto::i18n::{self as lang, DEFAULT};

use crate::api::ApiError;

/// One locale's texts.
#[derive(Debug, Default)]
pub struct Catalog {
    pub code: &'static str,
    texts: HashMap<String, String>,
}

thread_local! {
    /// The language tag the reader asked for (`pt-BR`), for the theme's own
    /// per-locale texts, which may be regional.
    static REQUESTED: RefCell<String> = const { RefCell::new(String::new()) };
    static CURRENT: Cell<Option<RwSignal<Option<Rc<Catalog>>, LocalStorage>>> =
        const { Cell::new(None) };
}

fn signal() -> Option<RwSignal<Option<Rc<Catalog>>, LocalStorage>> {
    CURRENT.with(Cell::get)
}

/// Runs `f` on the current catalog, tracking it.
fn with_catalog<R>(f: impl FnOnce(Option<&Catalog>) -> R) -> R {
    match signal() {
        Some(s) => s.with(|c| f(c.as_deref())),
        None => f(None),
    }
}

/// The text for `key`; the key itself if the catalog lacks it (the
/// completeness test keeps that from shipping).
pub fn t(key: &str) -> String {
    with_catalog(|c| {
        c.and_then(|c| c.texts.get(key).cloned())
            .unwrap_or_else(|| key.to_string())
    })
}

/// [`t`] as a signal: what the `t!` macro renders.
pub fn text(key: &'static str) -> Signal<String> {
    Signal::derive(move || t(key))
}

/// [`t`] with `{name}` placeholders filled. On a right-to-left page each
/// value is bidi-isolated (FSI…PDI), so an email address or phone number
/// keeps its own direction inside Arabic text.
pub fn tf(key: &str, args: &[(&str, &str)]) -> String {
    if lang::is_rtl(current()) {
        let isolated: Vec<(&str, String)> = args
            .iter()
            .map(|(k, v)| (*k, format!("\u{2068}{v}\u{2069}")))
            .collect();
        let refs: Vec<(&str, &str)> = isolated.iter().map(|(k, v)| (*k, v.as_str())).collect();
        return lang::fill(&t(key), &refs);
    }
    lang::fill(&t(key), args)
}

/// The plural form of `key` for `count` (`{count}` is filled too).
pub fn tn(key: &str, count: u64, args: &[(&str, &str)]) -> String {
    let n = count.to_string();
    let mut all = vec![("count", n.as_str())];
    all.extend_from_slice(args);
    with_catalog(|c| {
        let code = c.map_or(DEFAULT, |c| c.code);
        let text = c.and_then(|c| {
            c.texts
                .get(&format!("{key}.{}", lang::plural(code, count)))
                .or_else(|| c.texts.get(&format!("{key}.other")))
        });
        match text {
            Some(text) => lang::fill(text, &all),
            None => key.to_string(),
        }
    })
}

/// The current locale's code, tracked.
pub fn current() -> &'static str {
    with_catalog(|c| c.map_or(DEFAULT, |c| c.code))
}

/// The current locale's code, untracked: for the `Accept-Language` of API
/// calls, so the server's messages and emails come in the page's language.
pub fn current_untracked() -> &'static str {
    signal()
        .and_then(|s| s.with_untracked(|c| c.as_ref().map(|c| c.code)))
        .unwrap_or(DEFAULT)
}

/// Whether a catalog has arrived (the layout waits for it).
pub fn ready() -> bool {
    with_catalog(|c| c.is_some())
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

/// Marks the document's language and direction, so screen readers pronounce
/// it and the layout mirrors for right-to-left scripts.
fn mark_document(code: &str) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", code);
        let _ = root.set_attribute("dir", if lang::is_rtl(code) { "rtl" } else { "ltr" });
    }
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

/// Makes `texts` the page's catalog for `code` (also how component tests
/// give a page its texts).
pub fn install(code: &'static str, texts: HashMap<String, String>) {
    mark_document(code);
    let catalog = Some(Rc::new(Catalog { code, texts }));
    match signal() {
        Some(s) => s.set(catalog),
        None => CURRENT.with(|c| c.set(Some(RwSignal::new_local(catalog)))),
    }
}

/// Starts loading the page's catalog. Call once, before the first view.
/// `config` is `/api/config`, already on its way: when none of the reader's
/// languages is shipped, the page waits for it and takes the portal's
/// default language (`server.default_locale`) rather than English.
pub fn provide(config: LocalResource<Result<PublicConfig, ApiError>>) {
    CURRENT.with(|c| c.set(Some(RwSignal::new_local(None))));
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
