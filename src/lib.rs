//! The sspr SPA: leptos, client-side rendered. It renders what the server
//! says; the theme (name, logo, colours, helpdesk) is read at runtime.

pub mod api;
pub mod app;
pub mod components;
pub mod pages;
pub mod pow;
pub mod strength;
pub mod theme;

pub use app::{AccountApp, ResetApp};
