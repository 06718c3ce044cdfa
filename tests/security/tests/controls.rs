//! The controls the outside review found holding, kept as tests so they
//! keep holding: the headers, cross-origin refusal, content types, strict
//! JSON shapes, the body limit, links that ignore the Host header, and
//! single use of proofs of work and authenticator codes.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use sspr_security::*;

#[tokio::test]
async fn every_answer_carries_the_strict_headers() {
    let portal = Portal::start(Options::default()).await;
    for path in [
        "/",
        "/reset",
        "/signin",
        "/theme.json",
        "/api/health",
        "/api/nowhere",
        "/no/such/file.js",
    ] {
        let (_, _, h) = portal.get(path, &[]).await;
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("strict-transport-security"), "{path}");
        if path.starts_with("/api") {
            assert_eq!(h["cache-control"], "no-store", "{path}");
        }
    }
}

#[tokio::test]
async fn state_changes_come_only_from_the_portals_own_pages_as_json() {
    let portal = Portal::start(Options::default()).await;
    let url = format!("{}/api/session", portal.url);
    let body = json!({ "username": "alice", "password": "x" }).to_string();
    let send = |origin: Option<&'static str>,
                site: Option<&'static str>,
                ctype: &'static str,
                body: String| {
        let mut r = portal
            .client()
            .post(&url)
            .header("content-type", ctype)
            .body(body);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(s) = site {
            r = r.header("sec-fetch-site", s);
        }
        async move {
            let r = r.send().await.unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, v) = send(
        Some("https://evil.example"),
        None,
        "application/json",
        body.clone(),
    )
    .await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::FORBIDDEN, "request.cross_origin")
    );
    let (s, v) = send(None, Some("cross-site"), "application/json", body.clone()).await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::FORBIDDEN, "request.cross_origin")
    );
    let (s, v) = send(None, None, "text/plain", body.clone()).await;
    assert_eq!(
        (s, error_id(&v)),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.unsupported_media_type"
        )
    );
    let (s, v) = send(
        None,
        None,
        "application/x-www-form-urlencoded",
        "username=alice".into(),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    // Strict shapes: unknown and duplicate keys are refused, naming the field.
    let (s, v, _) = portal
        .post(
            "/api/session",
            &json!({ "username": "alice", "password": "x", "admin": true }),
        )
        .await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "request.invalid_field")
    );
    let (s, v) = send(
        None,
        None,
        "application/json",
        r#"{"username":"a","username":"b","password":"x"}"#.into(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = send(None, None, "application/json", "{not json".into()).await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::BAD_REQUEST, "request.invalid_json")
    );
    // The body limit.
    let big = format!(
        r#"{{"username":"{}","password":"x"}}"#,
        "a".repeat(64 * 1024)
    );
    let (s, v) = send(None, None, "application/json", big).await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "request.too_large")
    );
}

#[tokio::test]
async fn mail_links_use_the_public_url_whatever_the_host_header() {
    let portal = Portal::start(Options::default()).await;
    let pow = portal.pow(&[]).await.unwrap();
    let (s, flow, _) = portal
        .post_with(
            "/api/reset/start",
            &json!({ "identifier": "alice", "pow": pow }),
            &[
                ("host", "evil.example"),
                ("x-forwarded-host", "evil.example"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    portal.choose(&flow, "email").await;
    portal.mailed_code("alice@example.com", 0).await;
    let mail = &portal.outbox("mail.jsonl")[0];
    let body = mail["body"].as_str().unwrap();
    assert!(
        body.contains(&portal.url) && !body.contains("evil"),
        "{body}"
    );
}

#[tokio::test]
async fn proofs_of_work_and_authenticator_codes_work_once() {
    let portal = Portal::start(Options::default()).await;
    let pow = portal.pow(&[]).await.unwrap();
    let start = json!({ "identifier": "alice", "pow": pow });
    let (s, _, _) = portal.post("/api/reset/start", &start).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v, _) = portal.post("/api/reset/start", &start).await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::BAD_REQUEST, "reset.pow_invalid")
    );

    // One authenticator code (from oathtool) passes one flow, never two.
    let code = oathtool(ALICE_TOTP);
    let f1 = portal.start_flow(ALICE.0).await;
    portal.choose(&f1, "authenticator").await;
    let (s, v) = portal.verify(&f1, &code).await;
    assert_eq!(
        (s, step(&v).0.as_str()),
        (StatusCode::OK, "new_password"),
        "{v}"
    );
    let f2 = portal.start_flow(ALICE.0).await;
    portal.choose(&f2, "authenticator").await;
    let (s, v) = portal.verify(&f2, &code).await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "reset.code_invalid")
    );
}

#[tokio::test]
async fn every_origin_and_referer_counts_and_no_endpoint_takes_a_big_or_odd_body() {
    let portal = Portal::start(Options::default()).await;
    let url = format!("{}/api/session", portal.url);
    let body = json!({ "username": "alice", "password": "x" }).to_string();
    // Two Origins, ours first: refused.
    let r = portal
        .client()
        .post(&url)
        .header("content-type", "application/json")
        .header("origin", &portal.url)
        .header("origin", "https://evil.example")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // No Origin, a Referer from elsewhere: refused; from the portal: fine.
    for (referer, want) in [
        ("https://evil.example/x", StatusCode::FORBIDDEN),
        (&*format!("{}/signin", portal.url), StatusCode::UNAUTHORIZED),
    ] {
        let r = portal
            .client()
            .post(&url)
            .header("content-type", "application/json")
            .header("referer", referer)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "{referer}");
    }
    // An endpoint that needs no body still refuses a big one...
    let (s, v, _) = portal
        .post(
            "/api/reset/challenge",
            &json!({ "pad": "x".repeat(2 << 20) }),
        )
        .await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "request.too_large")
    );
    // ...and fields it does not take.
    let (s, v, _) = portal
        .post("/api/reset/challenge", &json!({ "x": 1 }))
        .await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "request.invalid_field")
    );
    let c = portal.sign_in(ALICE.0, ALICE.1).await.unwrap();
    let (s, v) = portal
        .post_as(&c, "/api/security-info/review", &json!({ "x": 1 }))
        .await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "request.invalid_field")
    );
}

#[tokio::test]
async fn bodies_are_objects_and_typed_once() {
    let portal = Portal::start(Options::default()).await;
    // A struct's fields as an array, as serde would otherwise take them.
    let (s, v, _) = portal.post("/api/session", &json!(["dave", DAVE.1])).await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "request.invalid_field")
    );
    let (s, _, _) = portal.post("/api/reset/challenge", &json!([])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Two Content-Types: refused whichever comes first.
    for order in [
        ["application/json", "text/plain"],
        ["text/plain", "application/json"],
    ] {
        let r = portal
            .client()
            .post(format!("{}/api/session", portal.url))
            .header("content-type", order[0])
            .header("content-type", order[1])
            .header("origin", &portal.url)
            .body(json!({ "username": "dave", "password": DAVE.1 }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{order:?}");
    }
}

#[tokio::test]
async fn trusting_every_address_as_a_proxy_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for all in ["0.0.0.0/0", "::/0"] {
        std::fs::write(
            dir.path().join("sspr.toml"),
            format!("[server]\ntrusted_proxies = [\"{all}\"]\n"),
        )
        .unwrap();
        let (code, err) = check_config(dir.path());
        assert_eq!(code, Some(2), "{all}: {err}");
        assert!(
            err.contains("server.trusted_proxies") && err.contains("every address"),
            "{err}"
        );
    }
}

/// Found by an outside attack: with two Sec-Fetch-Site lines the first
/// won, so `same-origin` could hide `cross-site`.
#[tokio::test]
async fn every_sec_fetch_site_line_counts() {
    let portal = Portal::start(Options::default()).await;
    let r = portal
        .client()
        .post(format!("{}/api/reset/challenge", portal.url))
        .header("content-type", "application/json")
        .header("origin", &portal.url)
        .header("sec-fetch-site", "same-origin")
        .header("sec-fetch-site", "cross-site")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
