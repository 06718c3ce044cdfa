//! The sspr SPA: leptos, client-side rendered. It renders what the server
//! says; the theme (name, logo, colours, helpdesk) is read at runtime.

/// `t!("key")` is a reactive text: the key's text in the page's language,
/// as one `Signal<String>` type for every key (one copy of the rendering
/// code, not one per key). Defined before the modules so every view can use
/// it without an import. The key is checked while compiling
/// ([`sspr_proto::key!`]): a key `public/locales/en.json` lacks does not build.
macro_rules! t {
    ($key:literal) => {
        $crate::i18n::text(sspr_proto::key!($key))
    };
}

pub mod action;
pub mod api;
pub mod app;
pub mod components;
pub mod fold;
pub mod i18n;
pub mod pages;
pub mod passkey;
pub mod pow;
pub mod shell;
pub mod strength;
pub mod texts;
pub mod theme;

pub use app::{AccountApp, InsightsApp, ResetApp};
