//! Wire types shared by the sspr SPA (wasm) and the `sspr` server.
//!
//! This crate depends on serde and pure-Rust text crates only, so it compiles to
//! wasm32 without pulling any server crate into the SPA.

pub mod banned;
pub mod config;
pub mod error;
pub mod i18n;
pub mod insights;
pub mod keys;
pub mod password;
pub mod reset;
pub mod security_info;
pub mod session;
pub mod strength;
pub mod theme;

pub use config::{Health, PublicConfig, SsprAvailability};
pub use error::{ApiErrorBody, ErrorDetail, ErrorId};
pub use theme::{HelpdeskLink, Theme, ThemeColors};

/// The value of cookie `name` in a `Cookie` header or `document.cookie`
/// (`a=1; name=value`): the name matched exactly, the first one found.
/// The server reads its session and the language pick with it, the SPA
/// the language pick.
pub fn cookie<'a>(cookies: &'a str, name: &str) -> Option<&'a str> {
    cookies
        .split(';')
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}
