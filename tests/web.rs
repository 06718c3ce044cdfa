//! Component and client tests, run in headless Chromium by wasm-bindgen-test.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use leptos::prelude::*;
use sspr_proto::{ErrorId, Theme, ThemeColors};
use sspr_web::api::ApiError;
use sspr_web::components::helpdesk_link::HelpdeskLink;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn theme(helpdesk: &str, label: Option<&str>) -> Theme {
    Theme {
        organisation: "Test Org".into(),
        logo: None,
        logo_dark: None,
        favicon: None,
        helpdesk: helpdesk.into(),
        helpdesk_label: label.map(str::to_string),
        signin_intro: None,
        reset_intro: None,
        colors: ThemeColors::default(),
        colors_dark: ThemeColors::dark(),
        fonts: vec![],
        font_family: None,
        locales: Default::default(),
    }
}

/// Mounts `f` into a fresh element and returns it (the mount lives for the test).
fn mount<F, V>(f: F) -> web_sys::HtmlElement
where
    F: FnOnce() -> V + 'static,
    V: IntoView + 'static,
{
    let doc = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = doc.create_element("div").unwrap().unchecked_into();
    doc.body().unwrap().append_child(&host).unwrap();
    let handle = leptos::mount::mount_to(host.clone(), f);
    std::mem::forget(handle);
    host
}

#[wasm_bindgen_test]
fn helpdesk_email_becomes_a_mailto_link() {
    let host = mount(|| view! { <HelpdeskLink theme=theme("it@example.com", None) /> });
    let a = host
        .query_selector("a.helpdesk-link")
        .unwrap()
        .expect("a link");
    assert_eq!(
        a.get_attribute("href").as_deref(),
        Some("mailto:it@example.com")
    );
    assert_eq!(a.text_content().as_deref(), Some("Contact your helpdesk"));
}

#[wasm_bindgen_test]
fn helpdesk_url_stays_a_link_with_its_label() {
    let host = mount(
        || view! { <HelpdeskLink theme=theme("https://help.example.com/x", Some("Call IT")) /> },
    );
    let a = host.query_selector("a").unwrap().expect("a link");
    assert_eq!(
        a.get_attribute("href").as_deref(),
        Some("https://help.example.com/x")
    );
    assert_eq!(a.text_content().as_deref(), Some("Call IT"));
}

#[wasm_bindgen_test]
fn an_unusable_helpdesk_value_renders_no_link() {
    let host = mount(|| view! { <HelpdeskLink theme=theme("javascript:alert(1)", None) /> });
    assert!(host.query_selector("a").unwrap().is_none());
}

#[wasm_bindgen_test]
fn theme_palettes_become_css_custom_properties() {
    let mut t = theme("it@example.com", None);
    t.colors.primary = "#123456".into();
    t.colors_dark.primary = "#abcdef".into();
    sspr_web::theme::apply(&t, "Page");
    let doc = web_sys::window().unwrap().document().unwrap();
    let root: web_sys::HtmlElement = doc.document_element().unwrap().unchecked_into();
    let prop = |name: &str| root.style().get_property_value(name).unwrap();
    assert_eq!(prop("--light-primary"), "#123456");
    assert_eq!(prop("--dark-primary"), "#abcdef");
    assert_eq!(prop("--dark-surface"), ThemeColors::dark().surface);
    // The stylesheet is not loaded here, so the palette in use is the
    // scheme's set, which the e2e theme test checks in a real page.
    assert_eq!(doc.title(), "Page | Test Org");
}

#[wasm_bindgen_test]
fn typed_error_bodies_become_the_error_enum() {
    let e = ApiError::from_status_body(
        404,
        r#"{"error":{"id":"request.not_found","message":"There is nothing at this address."}}"#,
    );
    assert_eq!(e.id(), ErrorId::NotFound);
    assert!(matches!(e, ApiError::Api { status: 404, .. }));

    let e = ApiError::from_status_body(
        422,
        r#"{"error":{"id":"request.invalid_field","message":"m","field":"identifier"}}"#,
    );
    match e {
        ApiError::Api { detail, .. } => assert_eq!(detail.field.as_deref(), Some("identifier")),
        other => panic!("{other:?}"),
    }

    // A proxy's HTML error page still becomes a typed error.
    assert_eq!(
        ApiError::from_status_body(502, "<html>Bad gateway</html>").id(),
        ErrorId::Unavailable
    );
    assert_eq!(
        ApiError::from_status_body(400, "nope").id(),
        ErrorId::Unknown
    );
}

#[wasm_bindgen_test]
fn app_ownership_is_by_whole_path_segments() {
    use sspr_web::app::{ACCOUNT_PATHS, RESET_PATHS};
    assert!(ACCOUNT_PATHS.owns("/security-info"));
    assert!(ACCOUNT_PATHS.owns("/security-info/password"));
    assert!(ACCOUNT_PATHS.owns("/signin?next=1"));
    assert!(!ACCOUNT_PATHS.owns("/security-infox"));
    assert!(!ACCOUNT_PATHS.owns("/reset"));
    assert!(!ACCOUNT_PATHS.owns("/"));
    assert!(RESET_PATHS.owns("/"));
    assert!(RESET_PATHS.owns("/reset"));
    assert!(!RESET_PATHS.owns("/signin"));
}

#[wasm_bindgen_test]
fn a_link_into_the_other_app_is_a_full_page_load() {
    use sspr_web::components::app_link::AppLink;
    let host = mount(|| {
        provide_context(sspr_web::app::ACCOUNT_PATHS);
        view! {
            <AppLink href="/security-info/password">"in app"</AppLink>
            <AppLink href="/reset">"other app"</AppLink>
        }
    });
    let rel = |href: &str| {
        host.query_selector(&format!("a[href='{href}']"))
            .unwrap()
            .expect("the link")
            .get_attribute("rel")
    };
    assert_eq!(rel("/security-info/password"), None);
    assert_eq!(rel("/reset").as_deref(), Some("external"));
}

#[wasm_bindgen_test]
fn the_qr_code_is_inline_svg_with_a_text_alternative() {
    use sspr_web::components::qr::QrCode;
    let uri = "otpauth://totp/Org:alice?secret=JBSWY3DPEHPK3PXP&issuer=Org";
    let host = mount(move || view! { <QrCode text=uri.to_string() label="QR code" /> });
    let wrapper = host
        .query_selector("[role=img]")
        .unwrap()
        .expect("an image");
    assert_eq!(
        wrapper.get_attribute("aria-label").as_deref(),
        Some("QR code")
    );
    let svg = wrapper.query_selector("svg").unwrap().expect("inline svg");
    assert!(svg.get_attribute("viewBox").is_some());
    // Dark modules are drawn as one path: a real code has many of them.
    let d = svg
        .query_selector("path")
        .unwrap()
        .unwrap()
        .get_attribute("d")
        .unwrap();
    assert!(
        d.matches('M').count() > 100,
        "{} modules",
        d.matches('M').count()
    );
    assert!(!wrapper.inner_html().contains("<?xml"));
}

#[wasm_bindgen_test]
fn plural_forms_and_placeholders_follow_the_catalog_language() {
    use sspr_web::i18n::{self, t, tf, tn};
    let texts = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    i18n::install(
        "pl",
        texts(&[
            ("left.one", "{count} sekunda"),
            ("left.few", "{count} sekundy"),
            ("left.many", "{count} sekund"),
            ("hello", "Cześć {name}"),
        ]),
    );
    let forms: Vec<String> = [1, 2, 5, 22].iter().map(|n| tn("left", *n, &[])).collect();
    assert_eq!(forms, ["1 sekunda", "2 sekundy", "5 sekund", "22 sekundy"]);
    assert_eq!(tf("hello", &[("name", "Ala")]), "Cześć Ala");
    assert_eq!(t("no.such.key"), "no.such.key");
    let root = document().document_element().unwrap();
    assert_eq!(root.get_attribute("lang").as_deref(), Some("pl"));
    assert_eq!(root.get_attribute("dir").as_deref(), Some("ltr"));

    // Right to left: the document mirrors, and values keep their own direction.
    i18n::install("ar", texts(&[("sent", "أرسلنا رمزًا إلى {target}.")]));
    assert_eq!(
        tf("sent", &[("target", "a***@e***.com")]),
        "أرسلنا رمزًا إلى \u{2068}a***@e***.com\u{2069}."
    );
    assert_eq!(root.get_attribute("dir").as_deref(), Some("rtl"));
    i18n::install("en", texts(&[]));
}

/// The browser's fold of a security answer is the one the server's
/// (`fold_case_and_spacing`) does, on cased scripts and the special cases:
/// final sigma, dotted capital I, sharp s, title-case digraphs.
#[wasm_bindgen_test]
fn fold_answer_matches_rust_fold() {
    use sspr_proto::security_info::fold_case_and_spacing;
    for s in [
        "  Fluffy   the\tCAT ",
        "ΟΔΥΣΣΕΥΣ",
        "ΣΑΣ ΣΑΣ.",
        "Σ",
        "aΣ b",
        "İstanbul",
        "STRASSE ẞ",
        "ǅemal ǈ ǋ",
        "ПРИВЕТ Мир",
        "ԱՐԱՐԱՏ",
        "ᏣᎳᎩ",
        "𐐜𐐯𐑊𐐬",
        "ＦＵＬＬ　ＷＩＤＴＨ",
        "Ⅻ ⓐⒶ",
        "日本語 テキスト",
        "",
    ] {
        assert_eq!(
            sspr_web::fold::fold_answer(s),
            fold_case_and_spacing(s),
            "{s:?}"
        );
    }
}
