use leptos::prelude::*;

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

/// A link that the router follows in-app when this app owns the target, and
/// otherwise loads the other app (`rel="external"`).
#[component]
pub fn AppLink(
    href: &'static str,
    #[prop(optional, into)] class: Option<String>,
    children: Children,
) -> impl IntoView {
    let own = use_context::<OwnPaths>().is_none_or(|p| p.owns(href));
    view! {
        <a href=href class=class rel=(!own).then_some("external")>
            {children()}
        </a>
    }
}
