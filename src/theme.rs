//! The runtime theme: fetched from `/theme.json`, applied as CSS custom
//! properties (through the CSSOM, which the strict CSP allows).

use sspr_proto::Theme;

use crate::api::{self, ApiError};

pub async fn load() -> Result<Theme, ApiError> {
    api::get("/theme.json").await
}

/// Sets `--color-*` on `<html>`, the document title and the favicon.
pub fn apply(theme: &Theme, page_title: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(root) = doc.document_element()
        && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(root)
    {
        let style = el.style();
        for (name, value) in theme.colors.css_properties() {
            let _ = style.set_property(name, value);
        }
    }
    doc.set_title(&format!("{page_title} | {}", theme.organisation));
    if let Some(href) = &theme.favicon
        && let Ok(Some(link)) = doc.query_selector("link[rel=icon]")
    {
        let _ = link.set_attribute("href", href);
    }
}
