//! The HTTP surface, driven in-process with `oneshot`.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;
use common::*;
use serde_json::Value;
use sspr_server::security::CSP;
use tower::ServiceExt;

fn assert_security_headers(r: &Response) {
    let h = r.headers();
    let csp = h.get("content-security-policy").unwrap();
    // Branding files opened on their own get a stricter policy still.
    assert!(
        csp == CSP || csp == sspr_server::assets::BRANDING_CSP,
        "{csp:?}"
    );
    assert!(!CSP.contains("unsafe-inline"));
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer");
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
    assert!(
        h.get("strict-transport-security")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
}

#[tokio::test]
async fn health_and_config() {
    let h = harness(false).await;
    let r = get(&h.app, "/api/health").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    insta::assert_json_snapshot!("health", json(r).await, { ".version" => "[version]" });

    let r = get(&h.app, "/api/config").await;
    assert_eq!(r.status(), StatusCode::OK);
    insta::assert_json_snapshot!("public_config", json(r).await);
}

#[tokio::test]
async fn unknown_api_paths_and_methods_get_typed_json() {
    let h = harness(false).await;
    for uri in [
        "/api/nope",
        "/api",
        "/api/",
        "/api/reset/../../etc/passwd",
        "/api/index.html",
    ] {
        let r = get(&h.app, uri).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/json",
            "{uri}"
        );
        assert_security_headers(&r);
        insta::assert_json_snapshot!("api_not_found", json(r).await);
    }
    let r = send(
        &h.app,
        Request::delete("/api/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json(r).await["error"]["id"], "request.method_not_allowed");
}

#[tokio::test]
async fn security_headers_on_every_kind_of_response() {
    let h = harness(true).await;
    for uri in [
        "/",
        "/reset",
        "/missing.js",
        "/theme.json",
        "/branding/logo.svg",
        "/api/health",
        "/api/x",
    ] {
        let r = get(&h.app, uri).await;
        assert_security_headers(&r);
        let sandboxed = r.headers()["content-security-policy"] == sspr_server::assets::BRANDING_CSP;
        assert_eq!(sandboxed, uri.starts_with("/branding/"), "{uri}");
    }
}

#[tokio::test]
async fn spa_routes_fall_back_to_their_app_but_files_do_not() {
    let h = harness(false).await;
    let account = b"<!DOCTYPE html><title>account</title>".as_slice();
    let reset = b"<!DOCTYPE html><title>spa</title>".as_slice();
    for (uri, page) in [
        ("/", reset),
        ("/reset", reset),
        ("/reset/step/2", reset),
        ("/signin", account),
        ("/security-info", account),
        ("/security-info/password", account),
        ("/signinx", reset),
    ] {
        let r = get(&h.app, uri).await;
        assert_eq!(r.status(), StatusCode::OK, "{uri}");
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
        assert!(
            r.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(body_bytes(r).await, page, "{uri}");
    }
    for uri in ["/missing.js", "/../Cargo.toml", "/.env", "/favicon.ico"] {
        let r = get(&h.app, uri).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{uri}");
    }
    let r = send(&h.app, Request::post("/reset").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

/// A GET with the `Accept-Language` given, or none.
fn get_in(uri: &str, lang: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(l) = lang {
        b = b.header(header::ACCEPT_LANGUAGE, l);
    }
    b.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn pages_preload_the_theme_and_the_catalog_of_their_language() {
    let h = harness(false).await;
    for (uri, lang, code) in [
        ("/", None, "en"),
        ("/reset", Some("de-AT,de;q=0.9,en;q=0.5"), "de"),
        ("/signin", Some("en;q=0.2, ja"), "ja"),
        // ?lng= wins, as it does in the SPA; an unshipped one does not.
        ("/reset?lng=fr", Some("de"), "fr"),
        ("/reset?x=1&lng=ar", None, "ar"),
        ("/reset?lng=xx", Some("pl"), "pl"),
    ] {
        let r = send(&h.app, get_in(uri, lang)).await;
        assert_eq!(r.status(), StatusCode::OK, "{uri}");
        assert_eq!(
            r.headers()[header::LINK],
            format!(
                "</theme.json>; rel=preload; as=fetch; crossorigin, \
                 </locales/{code}.json>; rel=preload; as=fetch; crossorigin"
            ),
            "{uri} {lang:?}"
        );
        let vary: Vec<_> = r.headers().get_all(header::VARY).iter().collect();
        assert!(
            vary.iter().any(|v| *v == "Accept-Language, Cookie"),
            "{vary:?}"
        );
    }
    // The reader's pick (the picker's cookie) beats the browser's languages;
    // ?lng= beats the pick; a pick of an unshipped code is ignored.
    for (uri, cookie, code) in [
        ("/reset", "sspr_lng=es", "es"),
        ("/", "theme=x; sspr_lng=ja", "ja"),
        ("/reset?lng=sv", "sspr_lng=es", "sv"),
        ("/reset", "sspr_lng=xx", "de"),
    ] {
        let mut req = get_in(uri, Some("de"));
        req.headers_mut()
            .insert(header::COOKIE, HeaderValue::from_static(cookie));
        let r = send(&h.app, req).await;
        let link = r.headers()[header::LINK]
            .to_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            link.ends_with(&format!(
                "</locales/{code}.json>; rel=preload; as=fetch; crossorigin"
            )),
            "{uri} {cookie}: {link}"
        );
    }
    // Only the pages: files and the API carry no hints.
    for uri in ["/theme.json", "/api/health", "/branding/logo.svg"] {
        let r = get(&h.app, uri).await;
        assert!(r.headers().get(header::LINK).is_none(), "{uri}");
    }
}

#[tokio::test]
async fn the_portal_default_language_answers_readers_whose_languages_it_does_not_ship() {
    let h = harness_with(false, "[server]\ndefault_locale = \"de\"").await;
    let de = sspr_server::i18n::text("de", "error.request.not_found");
    assert_ne!(de, sspr_server::i18n::text("en", "error.request.not_found"));
    for (lang, code) in [
        (None, "de"),
        (Some("tr-TR, ko;q=0.5"), "de"),
        (Some("fr"), "fr"),
    ] {
        let r = send(&h.app, get_in("/api/nowhere", lang)).await;
        assert_eq!(r.headers()[header::CONTENT_LANGUAGE], code, "{lang:?}");
        let message = json(r).await["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            message,
            sspr_server::i18n::text(code, "error.request.not_found")
        );
        // The page preloads the catalog the SPA will choose.
        let r = send(&h.app, get_in("/reset", lang)).await;
        let link = r.headers()[header::LINK].to_str().unwrap().to_string();
        assert!(link.contains(&format!("</locales/{code}.json>")), "{link}");
    }
    let r = get(&h.app, "/api/config").await;
    assert_eq!(json(r).await["default_locale"], "de");
}

#[tokio::test]
async fn precompressed_assets_are_negotiated_and_hashed_names_are_immutable() {
    let h = harness(false).await;
    let req = |enc: Option<&str>| {
        let mut b = Request::get(format!("/{HASHED_JS}"));
        if let Some(e) = enc {
            b = b.header(header::ACCEPT_ENCODING, e);
        }
        b.body(Body::empty()).unwrap()
    };
    for (accept, encoding, body) in [
        (Some("gzip, deflate, br, zstd"), Some("br"), "BROTLI-BYTES"),
        (Some("gzip"), Some("gzip"), "GZIP-BYTES"),
        (Some("br;q=0, gzip;q=0.5"), Some("gzip"), "GZIP-BYTES"),
        (None, None, "console.log('identity')"),
    ] {
        let r = send(&h.app, req(accept)).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accept:?}"
        );
        assert_eq!(r.headers()[header::VARY], "Accept-Encoding");
        assert_eq!(
            r.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(
            r.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .contains("javascript")
        );
        assert_eq!(body_bytes(r).await, body.as_bytes());
    }

    // Unhashed files revalidate with an ETag.
    let r = get(&h.app, "/index.html").await;
    let etag = r.headers()[header::ETAG].clone();
    let r = send(
        &h.app,
        Request::get("/index.html")
            .header(header::IF_NONE_MATCH, etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert!(body_bytes(r).await.is_empty());

    // HEAD sends headers only.
    let r = send(
        &h.app,
        Request::head(format!("/{HASHED_JS}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_bytes(r).await.is_empty());
}

#[tokio::test]
async fn theme_comes_from_the_file_and_edits_apply_without_restart() {
    let h = harness(true).await;
    let r = get(&h.app, "/theme.json").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
    let t = json(r).await;
    assert_eq!(t["organisation"], "Northwind Traders");
    assert_eq!(t["helpdesk"], "https://help.northwind.test/sspr");

    let theme_path = h.dir.path().join("branding-src/theme.json");
    std::fs::write(
        &theme_path,
        r#"{"organisation":"Northwind Traders Ltd","helpdesk":"servicedesk@northwind.test"}"#,
    )
    .unwrap();
    let t = json(get(&h.app, "/theme.json").await).await;
    assert_eq!(t["organisation"], "Northwind Traders Ltd");

    // A broken edit is refused; the last good theme stays.
    std::fs::write(
        &theme_path,
        r#"{"organisation":"","helpdesk":"servicedesk@northwind.test"}"#,
    )
    .unwrap();
    let t = json(get(&h.app, "/theme.json").await).await;
    assert_eq!(t["organisation"], "Northwind Traders Ltd");

    // Branding files come from the branding folder; nothing else is reachable,
    // not even an image beside the theme file.
    std::fs::write(h.dir.path().join("branding-src/beside.svg"), "<svg/>").unwrap();
    let r = get(&h.app, "/branding/logo.svg").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "image/svg+xml; charset=utf-8"
    );
    for uri in [
        "/branding/theme.json",
        "/branding/..%2ft.db",
        "/branding/.hidden",
        "/branding/nope.svg",
        "/branding/beside.svg",
    ] {
        assert_eq!(
            get(&h.app, uri).await.status(),
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
}

#[tokio::test]
async fn without_a_theme_file_the_built_in_theme_is_served() {
    let h = harness(false).await;
    let t = json(get(&h.app, "/theme.json").await).await;
    assert_eq!(t["organisation"], "Built In");
}

#[tokio::test]
async fn cross_origin_state_changes_are_refused() {
    let h = harness(false).await;
    let post = |origin: Option<&str>, site: Option<&str>| {
        let mut b = Request::post("/api/anything").header(header::CONTENT_TYPE, "application/json");
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        if let Some(s) = site {
            b = b.header("sec-fetch-site", s);
        }
        b.body(Body::from("{}")).unwrap()
    };
    let r = send(&h.app, post(Some("https://evil.example"), None)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(r).await["error"]["id"], "request.cross_origin");
    let r = send(
        &h.app,
        post(Some("https://sspr.example.com"), Some("cross-site")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The real origin passes the guard (and finds no such endpoint).
    let r = send(
        &h.app,
        post(Some("https://sspr.example.com"), Some("same-origin")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

mod strict_json {
    use super::*;
    use axum::routing::post;
    use serde::Deserialize;
    use sspr_server::json::{ApiJson, MAX_BODY};

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Identify {
        identifier: String,
        nonce: u64,
    }

    async fn echo(ApiJson(body): ApiJson<Identify>) -> String {
        body.identifier
    }

    fn router() -> Router {
        Router::new().route("/echo", post(echo))
    }

    async fn call(content_type: Option<&str>, body: impl Into<Body>) -> (StatusCode, Value) {
        let mut b = Request::builder().method(Method::POST).uri("/echo");
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        let r = router()
            .oneshot(b.body(body.into()).unwrap())
            .await
            .unwrap();
        let status = r.status();
        let bytes = body_bytes(r).await;
        (
            status,
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())),
        )
    }

    #[tokio::test]
    async fn good_json_passes() {
        let (s, v) = call(
            Some("application/json; charset=utf-8"),
            r#"{"identifier":"alice","nonce":7}"#,
        )
        .await;
        assert_eq!((s, v), (StatusCode::OK, Value::String("alice".into())));
    }

    #[tokio::test]
    async fn bad_requests_get_typed_errors_that_name_the_field() {
        // (content type, body, status, error id, field)
        type Case<'a> = (
            Option<&'a str>,
            &'a str,
            StatusCode,
            &'a str,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            (
                None,
                r#"{"identifier":"a","nonce":1}"#,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request.unsupported_media_type",
                None,
            ),
            (
                Some("text/plain"),
                r#"{"identifier":"a","nonce":1}"#,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request.unsupported_media_type",
                None,
            ),
            (
                Some("application/json"),
                "{not json",
                StatusCode::BAD_REQUEST,
                "request.invalid_json",
                None,
            ),
            (
                Some("application/json"),
                "",
                StatusCode::BAD_REQUEST,
                "request.invalid_json",
                None,
            ),
            (
                Some("application/json"),
                r#"{"identifier":"a","nonce":1} trailing"#,
                StatusCode::BAD_REQUEST,
                "request.invalid_json",
                None,
            ),
            (
                Some("application/json"),
                r#"{"identifier":["alice","bob"],"nonce":1}"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.invalid_field",
                Some("identifier"),
            ),
            (
                Some("application/json"),
                r#"{"identifier":"a","nonce":-1}"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.invalid_field",
                Some("nonce"),
            ),
            (
                Some("application/json"),
                r#"{"identifier":"a","identifier":"b","nonce":1}"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.invalid_field",
                Some("identifier"),
            ),
            (
                Some("application/json"),
                r#"{"identifier":"a","nonce":1,"admin":true}"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.invalid_field",
                Some("admin"),
            ),
            (
                Some("application/json"),
                r#"{"identifier":"a"}"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.invalid_field",
                Some("nonce"),
            ),
            (
                Some("application/json"),
                r#"["alice"]"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.invalid_field",
                None,
            ),
        ];
        for (ct, body, status, id, field) in cases {
            let (s, v) = call(*ct, body.to_string()).await;
            assert_eq!(s, *status, "{body}: {v}");
            assert_eq!(v["error"]["id"], *id, "{body}");
            if let Some(f) = field {
                assert_eq!(v["error"]["field"], *f, "{body}");
            }
            // Never echo what was sent or how the parser failed.
            let text = v.to_string();
            assert!(
                !text.contains("alice") && !text.contains("line") && !text.contains("serde"),
                "{text}"
            );
        }
    }

    #[tokio::test]
    async fn oversized_bodies_are_refused() {
        let big = format!(r#"{{"identifier":"{}","nonce":1}}"#, "a".repeat(MAX_BODY));
        let (s, v) = call(Some("application/json"), big).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(v["error"]["id"], "request.too_large");
    }
}

#[test]
fn a_handler_panic_becomes_a_typed_500_without_the_panic_text() {
    let r = sspr_server::routes::panic_response(Box::new("db password is hunter2".to_string()));
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = futures_body(r);
    assert!(body.contains("server.internal"));
    assert!(!body.contains("hunter2"));
}

fn futures_body(r: Response) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    String::from_utf8(rt.block_on(body_bytes(r))).unwrap()
}
