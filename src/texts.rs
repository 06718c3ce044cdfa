//! The page's current catalog and the readers of it: [`t`], [`tf`], [`tn`].
//! A leaf: [`crate::i18n`] loads catalogs into it (through the API client),
//! and the API client reads it for its messages and `Accept-Language`.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use leptos::prelude::*;
use sspr_proto::i18n::{self as lang, DEFAULT};

/// One locale's texts.
#[derive(Debug, Default)]
pub struct Catalog {
    pub code: &'static str,
    pub(crate) texts: HashMap<String, String>,
}

thread_local! {
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

/// An empty catalog signal, before the first catalog arrives.
pub(crate) fn start_empty() {
    CURRENT.with(|c| c.set(Some(RwSignal::new_local(None))));
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
