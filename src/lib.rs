//! The sspr SPA: leptos, client-side rendered. It renders what the server
//! says; the theme (name, logo, colours, helpdesk) is read at runtime.

/// `t!("key")` is a reactive text: `move || i18n::t("key")`. Defined before
/// the modules so every view can use it without an import.
macro_rules! t {
    ($key:literal) => {
        move || $crate::i18n::t($key)
    };
}

pub mod api;
pub mod app;
pub mod components;
pub mod i18n;
pub mod pages;
pub mod pow;
pub mod strength;
pub mod theme;

pub use app::{AccountApp, ResetApp};
