//! Sign-in: the cookie, rotation, progressive lockout, and revocation on reset.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use common::*;
use serde_json::json;

async fn sign_in(h: &Harness, user: &str, pw: &str, cookie: Option<&str>) -> Response {
    let mut b = Request::post("/api/session")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, PUBLIC_URL);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    send(
        &h.app,
        b.body(Body::from(
            json!({ "username": user, "password": pw }).to_string(),
        ))
        .unwrap(),
    )
    .await
}

fn cookie_of(r: &Response) -> String {
    let set = r.headers()[header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

/// Whether the cookie is a live session (`GET /api/session` answers `null` otherwise).
async fn whoami(h: &Harness, cookie: &str) -> bool {
    let r = send(
        &h.app,
        Request::get("/api/session")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    !json(r).await.is_null()
}

#[tokio::test]
async fn sign_in_sets_a_host_prefixed_strict_cookie_and_rotates_it() {
    let h = harness(false).await;
    let r = sign_in(&h, "alice", "Alice-demo-2026!", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let set = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(set.starts_with("__Host-sspr_session="), "{set}");
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(set.split("; ").any(|a| a == attr), "{attr} in {set}");
    }
    assert!(!set.contains("Domain="));
    let token = cookie_of(&r).split_once('=').unwrap().1.to_string();
    assert_eq!(token.len(), 64, "256 bits");
    assert_eq!(
        json(r).await,
        json!({ "username": "alice", "display_name": "Alice Andersen", "is_admin": false, "proven": [] })
    );
    let first = cookie_of(&sign_in(&h, "alice", "Alice-demo-2026!", None).await);
    assert!(whoami(&h, &first).await);

    // Session fixation: a cookie presented at sign-in is replaced, and dropped.
    let again = sign_in(&h, "alice", "Alice-demo-2026!", Some(&first)).await;
    let second = cookie_of(&again);
    assert_ne!(first, second);
    assert!(!whoami(&h, &first).await);
    assert!(whoami(&h, &second).await);
    // A made-up cookie is nobody.
    assert!(!whoami(&h, "__Host-sspr_session=planted").await);
    let r = send(
        &h.app,
        Request::get("/api/session").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        json(r).await,
        serde_json::Value::Null,
        "nobody is signed in, and that is not an error"
    );

    // Sign-out ends it.
    let r = send(
        &h.app,
        Request::delete("/api/session")
            .header(header::COOKIE, &second)
            .header(header::ORIGIN, PUBLIC_URL)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(
        r.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(!whoami(&h, &second).await);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_answer_alike() {
    let h = harness(false).await;
    let a = sign_in(&h, "alice", "wrong", None).await;
    let b = sign_in(&h, "nobody-at-all", "wrong", None).await;
    assert_eq!(
        (a.status(), b.status()),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(body_bytes(a).await, body_bytes(b).await);
}

#[tokio::test]
async fn ten_failures_lock_for_a_minute_and_the_lock_grows() {
    let h = harness(false).await;
    for _ in 0..10 {
        assert_eq!(
            sign_in(&h, "bob", "wrong", None).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Locked: even the right password waits.
    let r = sign_in(&h, "bob", "Bob-demo-2026!", None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()[header::RETRY_AFTER], "60");
    assert_eq!(json(r).await["error"]["id"], "session.locked");
    h.clock.advance(61);
    for _ in 0..10 {
        sign_in(&h, "bob", "wrong", None).await;
    }
    let r = sign_in(&h, "bob", "Bob-demo-2026!", None).await;
    assert_eq!(
        r.headers()[header::RETRY_AFTER],
        "120",
        "the second lock is twice as long"
    );
    h.clock.advance(121);
    assert_eq!(
        sign_in(&h, "bob", "Bob-demo-2026!", None).await.status(),
        StatusCode::OK
    );
    // Success clears the count.
    for _ in 0..9 {
        sign_in(&h, "bob", "wrong", None).await;
    }
    assert_eq!(
        sign_in(&h, "bob", "Bob-demo-2026!", None).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_reset_ends_every_session_and_signs_nobody_in() {
    let h = harness(false).await;
    let cookie = cookie_of(&sign_in(&h, "alice", "Alice-demo-2026!", None).await);
    assert!(whoami(&h, &cookie).await);

    let r = post(&h.app, "/api/reset/challenge", &json!({})).await;
    let ch: sspr_proto::reset::PowChallenge = serde_json::from_value(json(r).await).unwrap();
    let pow = json!({ "id": ch.id, "nonce": sspr_server::reset::pow::solve(&ch) });
    let flow = json(
        post(
            &h.app,
            "/api/reset/start",
            &json!({ "identifier": "alice", "pow": pow }),
        )
        .await,
    )
    .await;
    let method = shown(&flow)["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "authenticator")
        .unwrap()["id"]
        .clone();
    post(
        &h.app,
        "/api/reset/choose",
        &json!({ "flow": flow["flow"], "method": method }),
    )
    .await;
    let secret = base32::decode(
        base32::Alphabet::Rfc4648 { padding: false },
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    )
    .unwrap();
    let code = format!(
        "{:06}",
        sspr_server::methods::authenticator::hotp(
            &secret,
            sspr_server::methods::authenticator::step_at(T0) as u64
        )
    );
    post(
        &h.app,
        "/api/reset/verify",
        &json!({ "flow": flow["flow"], "code": code }),
    )
    .await;
    let r = post(
        &h.app,
        "/api/reset/password",
        &json!({ "flow": flow["flow"], "password": "Tangerine-Vortex-Quill-88" }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers().get(header::SET_COOKIE).is_none(),
        "no automatic sign-in"
    );

    assert!(!whoami(&h, &cookie).await, "the old session is gone");
    assert_eq!(
        sign_in(&h, "alice", "Alice-demo-2026!", None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in(&h, "alice", "Tangerine-Vortex-Quill-88", None)
            .await
            .status(),
        StatusCode::OK
    );
}
