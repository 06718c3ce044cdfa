//! Wire types shared by the sspr SPA (wasm) and the `sspr` server.
//!
//! This crate depends on serde and pure-Rust text crates only, so it compiles to
//! wasm32 without pulling any server crate into the SPA.

pub mod banned;
pub mod config;
pub mod error;
pub mod i18n;
pub mod password;
pub mod reset;
pub mod security_info;
pub mod session;
pub mod strength;
pub mod theme;

pub use config::{Health, PublicConfig, SsprAvailability};
pub use error::{ApiErrorBody, ErrorDetail, ErrorId};
pub use theme::{HelpdeskLink, Theme, ThemeColors};
