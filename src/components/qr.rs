use leptos::prelude::*;
use qrcode::QrCode;
use qrcode::render::svg;

/// `text` as an SVG QR code (dark on white whatever the theme, with the
/// quiet zone scanners need). Empty if the text cannot be encoded.
pub fn svg_markup(text: &str) -> String {
    let Ok(code) = QrCode::new(text.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<svg::Color>()
        .quiet_zone(true)
        .module_dimensions(1, 1)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    // The XML declaration is for standalone files, not inline SVG.
    match svg.find("<svg") {
        Some(at) => svg[at..].to_string(),
        None => svg,
    }
}

/// A QR code image with a text alternative (`label` is its catalog key).
#[component]
pub fn QrCode(text: String, label: &'static str) -> impl IntoView {
    view! { <div class="qr" role="img" aria-label=move || crate::i18n::t(label) inner_html=svg_markup(&text)></div> }
}
