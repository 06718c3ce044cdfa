use leptos::ev::MouseEvent;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::shell::InAppNav;

/// The paths the running app renders itself. The portal ships as two wasm
/// apps (reset, and sign-in with security info) so neither page loads the
/// other's code; a link into the other app is a full page load.
#[derive(Debug, Clone, Copy)]
pub struct OwnPaths(pub &'static [&'static str]);

impl OwnPaths {
    pub fn owns(&self, href: &str) -> bool {
        let path = href.split(['?', '#']).next().unwrap_or(href);
        self.0.iter().any(|p| {
            path == *p || (*p != "/" && path.starts_with(p) && path[p.len()..].starts_with('/'))
        })
    }
}

/// Navigation for code (a sign-in that succeeded): `go(href)` follows
/// `href` in-app when this app owns it, and otherwise loads the other app.
/// Reads the app's contexts now, so `go` may run later, in async code.
pub fn use_navigate() -> impl Fn(&str) + Clone + 'static {
    let own = use_context::<OwnPaths>();
    let nav = use_context::<InAppNav>();
    move |href: &str| match nav.filter(|_| own.is_none_or(|p| p.owns(href))) {
        Some(nav) => follow(nav, href),
        None => {
            let _ = window().location().set_href(href);
        }
    }
}

fn follow(InAppNav(path): InAppNav, href: &str) {
    let pushed = window()
        .history()
        .and_then(|h| h.push_state_with_url(&JsValue::NULL, "", Some(href)));
    if pushed.is_err() {
        // No history API: an ordinary page load still gets there.
        let _ = window().location().set_href(href);
        return;
    }
    path.set(href.split(['?', '#']).next().unwrap_or(href).to_string());
    window().scroll_to_with_x_and_y(0.0, 0.0);
    crate::shell::focus_new_page();
}

/// A link followed in-app when this app owns the target, and otherwise a
/// load of the other app (`rel="external"`).
#[component]
pub fn AppLink(
    href: &'static str,
    #[prop(optional, into)] class: Option<String>,
    children: Children,
) -> impl IntoView {
    let own = use_context::<OwnPaths>().is_none_or(|p| p.owns(href));
    let nav = use_context::<InAppNav>().filter(|_| own);
    let on_click = move |ev: MouseEvent| {
        let Some(nav) = nav else { return };
        // New tabs, windows and downloads stay the browser's.
        if ev.button() != 0 || ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key() {
            return;
        }
        ev.prevent_default();
        follow(nav, href);
    };
    view! {
        <a href=href class=class rel=(!own).then_some("external") on:click=on_click>
            {children()}
        </a>
    }
}
