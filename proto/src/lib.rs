//! Wire types shared by the sspr SPA (wasm) and the `sspr` server.
//!
//! Serde types only, plus the facts both sides must agree on (code lengths,
//! method kinds). It depends on serde (and the estimator's warning and
//! suggestion ids), so it compiles to wasm32 without pulling any server
//! crate into the SPA. The password policy engine is `sspr-policy`.

pub mod codes;
pub mod config;
pub mod error;
pub mod i18n;
pub mod insights;
pub mod keys;
pub mod passkey;
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
