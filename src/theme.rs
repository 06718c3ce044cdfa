//! The runtime theme: fetched from `/theme.json`, localised, and applied as
//! CSS custom properties and `FontFace`s (through the CSSOM and the font
//! loading API, which the strict CSP allows).

use sspr_proto::Theme;

use crate::api::{self, ApiError};

/// The theme as the file has it; [`Theme::localised`] picks its texts for
/// the page's language.
pub async fn load() -> Result<Theme, ApiError> {
    api::get("/theme.json").await
}

/// Sets both palettes (`--light-*`, `--dark-*`; the stylesheet chooses by
/// `prefers-color-scheme`), the fonts, the document title and the favicon.
pub fn apply(theme: &Theme, page_title: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(root) = doc.document_element()
        && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(root)
    {
        let style = el.style();
        for (scheme, colors) in [("light", &theme.colors), ("dark", &theme.colors_dark)] {
            for (role, value) in colors.roles() {
                let _ = style.set_property(&format!("--{scheme}-{role}"), value);
            }
        }
        if let Some(family) = &theme.font_family {
            let _ = style.set_property("--font-theme", &format!("\"{family}\""));
        }
    }
    let fonts = doc.fonts();
    for f in &theme.fonts {
        let desc = web_sys::FontFaceDescriptors::new();
        desc.set_weight(&f.weight);
        desc.set_style(&f.style);
        desc.set_display("swap");
        if let Ok(face) = web_sys::FontFace::new_with_str_and_descriptors(
            &f.family,
            &format!("url({})", f.src),
            &desc,
        ) {
            let _ = fonts.add(&face);
        }
    }
    doc.set_title(&format!("{page_title} | {}", theme.organisation));
    if let Some(href) = &theme.favicon
        && let Ok(Some(link)) = doc.query_selector("link[rel=icon]")
    {
        let _ = link.set_attribute("href", href);
    }
}
