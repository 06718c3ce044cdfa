//! Combined security-info registration over HTTP: the interrupt, enrollment
//! of each kind, secrets at rest, replay, recent-auth for removal, recovery
//! codes, Temporary Access Passes and change of password.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use sspr_server::clock::Clock;
use sspr_server::keys::Keys;
use sspr_server::methods::authenticator as totp;

const DAVE: (&str, &str) = ("dave", "Dave-demo-2026!");
const ALICE: (&str, &str) = ("alice", "Alice-demo-2026!");

async fn info(h: &Harness, cookie: &str) -> Value {
    let (s, v) = status_json(get_as(&h.app, cookie, "/api/security-info").await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn call(h: &Harness, cookie: &str, path: &str, body: Value) -> (StatusCode, Value) {
    status_json(post_as(&h.app, cookie, path, &body).await).await
}

/// Starts adding a method. On success the wire is `{kind: {..}}` (externally
/// tagged, for the SPA's size); this checks the tag is the requested kind and
/// returns what it wraps.
async fn enroll(h: &Harness, cookie: &str, body: Value) -> (StatusCode, Value) {
    let kind = body["kind"].as_str().unwrap().to_string();
    let (s, v) = call(h, cookie, "/api/security-info/methods", body).await;
    if s != StatusCode::OK {
        return (s, v);
    }
    let (tag, inner) = untag(&v);
    assert_eq!(tag, kind, "{v}");
    (s, inner.clone())
}

fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 8)
        .unwrap()
        .to_string()
}

fn totp_at(secret_b32: &str, now: i64, offset_steps: i64) -> String {
    let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret_b32).unwrap();
    format!(
        "{:06}",
        totp::hotp(&secret, (totp::step_at(now) + offset_steps) as u64)
    )
}

fn kinds(v: &Value) -> Vec<String> {
    v["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_user_without_methods_is_interrupted_and_an_authenticator_enrolls_once() {
    let h = harness(false).await;
    let c = signed_in(&h, DAVE.0, DAVE.1).await;
    let v = info(&h, &c).await;
    assert_eq!(v["interrupt"], json!({ "register": { "needed": 1 } }));
    assert_eq!(v["methods"], json!([]));
    assert_eq!(v["signed_in_with"], "password");

    let (s, e) = enroll(&h, &c, json!({ "kind": "authenticator" })).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let secret = e["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let uri = e["otpauth"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains(":dave?"), "{uri}");

    // At rest the secret is sealed: no column anywhere holds it in clear.
    let sealed: Vec<String> =
        sqlx::query_scalar("SELECT secret_sealed FROM enrollments WHERE secret_sealed IS NOT NULL")
            .fetch_all(h.state.store.pool())
            .await
            .unwrap();
    assert_eq!(sealed.len(), 1);
    let raw = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &secret).unwrap();
    assert!(!sealed[0].contains(&secret) && !sealed[0].contains(&hex::encode(&raw)));

    let now = h.clock.now();
    let enrollment = e["enrollment"].clone();
    let (s, err) = call(
        &h,
        &c,
        "/api/security-info/methods/confirm",
        json!({ "enrollment": enrollment, "code": totp_at(&secret, now, 5) }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reset.code_invalid"))
    );

    let code = totp_at(&secret, now, 0);
    let body = json!({ "enrollment": enrollment, "code": code });
    let (s, v) = call(&h, &c, "/api/security-info/methods/confirm", body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(kinds(&v), ["authenticator"]);
    assert_eq!(v["methods"][0]["is_default"], true);
    assert_eq!(
        v["interrupt"],
        Value::Null,
        "one method is all a user needs"
    );

    // Replaying the confirmation is refused: the enrollment is gone.
    let (s, err) = call(&h, &c, "/api/security-info/methods/confirm", body).await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::GONE, Some("security_info.enrollment_expired"))
    );

    // The stored secret opens with the portal's key and nothing else, and
    // the confirming step is recorded as used.
    let (stored, last_step): (String, Option<i64>) = sqlx::query_as(
        "SELECT secret_sealed, totp_last_step FROM auth_methods WHERE kind = 'authenticator' \
         AND user_id = (SELECT id FROM users WHERE username = 'dave')",
    )
    .fetch_one(h.state.store.pool())
    .await
    .unwrap();
    assert!(!stored.contains(&secret));
    assert_eq!(h.state.keys.open(&stored).unwrap(), raw);
    assert!(Keys::from_master(&[8; 32]).open(&stored).is_err());
    assert_eq!(last_step, Some(totp::step_at(now)));

    // Audited and mailed.
    let mails = outbox_lines(&h.outbox_dir(), "mail.jsonl", 1).await;
    let mail = mails
        .iter()
        .find(|m| m["to"] == "dave@example.com")
        .unwrap();
    assert!(
        mail["subject"]
            .as_str()
            .unwrap()
            .contains("security info was changed")
    );
    assert!(
        mail["body"]
            .as_str()
            .unwrap()
            .contains("An authenticator app was added")
    );
    assert!(!mail["body"].as_str().unwrap().contains(&secret));
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT activity FROM audit_events WHERE actor = 'dave' ORDER BY at, activity",
    )
    .fetch_all(h.state.store.pool())
    .await
    .unwrap();
    assert!(
        events.contains(&"User registered security info".to_string()),
        "{events:?}"
    );
    assert!(
        events.contains(&"User registered all required security info".to_string()),
        "{events:?}"
    );
}

#[tokio::test]
async fn phone_and_email_are_validated_then_confirmed_by_code() {
    let h = harness(false).await;
    let c = signed_in(&h, DAVE.0, DAVE.1).await;

    let (s, err) = call(
        &h,
        &c,
        "/api/security-info/methods",
        json!({ "kind": "sms", "phone": "07700 900123" }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["id"], "security_info.phone_invalid");
    assert_eq!(err["error"]["field"], "phone");

    let (s, e) = enroll(&h, &c, json!({ "kind": "sms", "phone": "+44 7700 900123" })).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e["target"], "+447700900123");
    let sms = outbox_lines(&h.outbox_dir(), "sms.jsonl", 1).await;
    let text = sms.iter().rfind(|m| m["to"] == "+447700900123").unwrap()["body"]
        .as_str()
        .unwrap();
    let (s, v) = call(
        &h,
        &c,
        "/api/security-info/methods/confirm",
        json!({ "enrollment": e["enrollment"], "code": code_in(text) }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(kinds(&v), ["sms"]);
    assert_eq!(v["methods"][0]["target"], "+447700900123");

    let (s, err) = call(
        &h,
        &c,
        "/api/security-info/methods",
        json!({ "kind": "email", "address": "not an address" }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("security_info.email_invalid")
        )
    );
    let (s, e) = enroll(
        &h,
        &c,
        json!({ "kind": "email", "address": "dave.home@example.org" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let mails = outbox_lines(&h.outbox_dir(), "mail.jsonl", 2).await;
    let body = mails
        .iter()
        .rfind(|m| m["to"] == "dave.home@example.org")
        .unwrap()["body"]
        .as_str()
        .unwrap();
    let code = code_in(body);
    // Wrong codes count; the fifth ends the enrollment.
    for _ in 0..4 {
        let (s, _) = call(
            &h,
            &c,
            "/api/security-info/methods/confirm",
            json!({ "enrollment": e["enrollment"], "code": "00000000" }),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (s, v) = call(
        &h,
        &c,
        "/api/security-info/methods/confirm",
        json!({ "enrollment": e["enrollment"], "code": code }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut got = kinds(&v);
    got.sort();
    assert_eq!(got, ["email", "sms"]);

    // The same address twice is refused.
    let (s, err) = call(
        &h,
        &c,
        "/api/security-info/methods",
        json!({ "kind": "email", "address": "Dave.Home@example.org" }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("address"))
    );
}

#[tokio::test]
async fn an_enrollment_belongs_to_the_session_that_started_it() {
    let h = harness(false).await;
    let first = signed_in(&h, DAVE.0, DAVE.1).await;
    let other = signed_in(&h, DAVE.0, DAVE.1).await;
    let (_, e) = enroll(&h, &first, json!({ "kind": "authenticator" })).await;
    let code = totp_at(e["secret"].as_str().unwrap(), h.clock.now(), 0);
    let (s, err) = call(
        &h,
        &other,
        "/api/security-info/methods/confirm",
        json!({ "enrollment": e["enrollment"], "code": code }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::GONE, Some("security_info.enrollment_expired"))
    );
    // Without a session there is nothing to see or confirm.
    let (s, v) = status_json(get(&h.app, "/api/security-info").await).await;
    assert_eq!((s, v), (StatusCode::OK, Value::Null));
    let (s, err) = status_json(
        post(
            &h.app,
            "/api/security-info/methods/confirm",
            &json!({ "enrollment": e["enrollment"], "code": code }),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session.required"))
    );
    // An enrollment lapses after 10 minutes.
    h.clock.advance(601);
    let code = totp_at(e["secret"].as_str().unwrap(), h.clock.now(), 0);
    let (s, _) = call(
        &h,
        &first,
        "/api/security-info/methods/confirm",
        json!({ "enrollment": e["enrollment"], "code": code }),
    )
    .await;
    assert_eq!(s, StatusCode::GONE);
}

#[tokio::test]
async fn removing_a_method_needs_a_password_proof_within_ten_minutes() {
    let h = harness(false).await;
    let c = signed_in(&h, ALICE.0, ALICE.1).await;
    let v = info(&h, &c).await;
    let mut got = kinds(&v);
    got.sort();
    assert_eq!(got, ["authenticator", "email"]);
    assert_eq!(v["interrupt"], Value::Null);
    let email = v["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "email")
        .unwrap();
    let email_id = email["id"].clone();
    assert_eq!(
        email["is_default"], true,
        "the first registered is the default"
    );

    h.clock.advance(11 * 60);
    let v = info(&h, &c).await;
    assert_eq!(v["recently_authenticated"], false);
    let (s, err) = call(
        &h,
        &c,
        "/api/security-info/methods/remove",
        json!({ "method": email_id }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session.reauth_required"))
    );

    let (s, err) = call(
        &h,
        &c,
        "/api/session/reauth",
        json!({ "password": "wrong" }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("session.invalid_credentials")
        )
    );
    let (s, v) = call(
        &h,
        &c,
        "/api/session/reauth",
        json!({ "password": ALICE.1 }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["recently_authenticated"], true);

    // The password alone is not enough: a removal needs a proof of a method
    // alice has, as an addition does.
    let (s, err) = call(
        &h,
        &c,
        "/api/security-info/methods/remove",
        json!({ "method": email_id }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session.stepup_required"))
    );
    step_up(&h, &c).await;

    // Someone else's method id is not found, and changes nothing.
    let bob = signed_in(&h, "bob", "Bob-demo-2026!").await;
    step_up(&h, &bob).await;
    let (s, _) = call(
        &h,
        &bob,
        "/api/security-info/methods/remove",
        json!({ "method": email_id }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let (s, v) = call(
        &h,
        &c,
        "/api/security-info/methods/remove",
        json!({ "method": email_id }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(kinds(&v), ["authenticator"]);
    assert_eq!(
        v["methods"][0]["is_default"], true,
        "the default moves to what is left"
    );
    let notice = outbox_find(&h.outbox_dir(), "mail.jsonl", |m| {
        m["to"] == "alice@example.com"
            && m["body"]
                .as_str()
                .unwrap()
                .contains("An email address was removed")
    })
    .await;
    assert!(notice.is_some());
}

#[tokio::test]
async fn recovery_codes_are_shown_once_stored_hashed_and_replaced_whole() {
    let h = harness(false).await;
    let c = signed_in(&h, DAVE.0, DAVE.1).await;
    let r = post_as(&h.app, &c, "/api/security-info/recovery-codes", &json!({})).await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    let (s, v) = status_json(r).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let codes: Vec<String> = serde_json::from_value(v["codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10);
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 19 && c.matches('-').count() == 3),
        "{codes:?}"
    );
    assert_eq!(v["view"]["methods"][0]["kind"], "recovery_code");
    assert_eq!(v["view"]["methods"][0]["remaining"], 10);
    assert_eq!(
        v["view"]["interrupt"],
        Value::Null,
        "recovery codes count as a method"
    );

    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(h.state.store.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    for code in &codes {
        let bare = code.replace('-', "");
        assert!(stored.iter().all(|h| !h.contains(&bare)));
    }

    // Regenerating after 10 minutes needs the password again, then replaces the set.
    h.clock.advance(601);
    let (s, err) = call(&h, &c, "/api/security-info/recovery-codes", json!({})).await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session.reauth_required"))
    );
    call(&h, &c, "/api/session/reauth", json!({ "password": DAVE.1 })).await;
    // And a proof of a method dave has: here, one of the codes themselves.
    let (s, err) = call(&h, &c, "/api/security-info/recovery-codes", json!({})).await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session.stepup_required"))
    );
    step_up_with(&h, &c, "recovery_code", &codes[9]).await;
    let (s, v) = call(&h, &c, "/api/security-info/recovery-codes", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let fresh: Vec<String> = serde_json::from_value(v["codes"].clone()).unwrap();
    assert!(fresh.iter().all(|f| !codes.contains(f)));
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes")
        .fetch_one(h.state.store.pool())
        .await
        .unwrap();
    assert_eq!(n, 10, "the old set is gone");
}

#[tokio::test]
async fn reconfirmation_is_asked_once_the_period_passes() {
    let h = harness(false).await;
    let c = signed_in(&h, ALICE.0, ALICE.1).await;
    assert_eq!(info(&h, &c).await["interrupt"], Value::Null);
    h.clock.advance(180 * 86_400);
    let c = signed_in(&h, ALICE.0, ALICE.1).await;
    let v = info(&h, &c).await;
    assert_eq!(v["interrupt"], json!("reconfirm"));
    let (s, v) = call(&h, &c, "/api/security-info/review", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["interrupt"], Value::Null);

    // Zero turns reconfirmation off.
    let h = harness_with(false, "[policy]\nreconfirm_days = 0\n").await;
    h.clock.advance(3 * 365 * 86_400);
    let c = signed_in(&h, ALICE.0, ALICE.1).await;
    assert_eq!(info(&h, &c).await["interrupt"], Value::Null);
}

#[tokio::test]
async fn a_temporary_access_pass_signs_in_to_register_only() {
    let h = harness(false).await;
    let (pass, expires) = sspr_server::tap::issue(&h.state, "dave", 3600, true, 8, "helpdesk-test")
        .await
        .unwrap();
    assert_eq!(expires, h.clock.now() + 3600);
    assert_eq!(pass.expose().len(), 8);
    assert!(matches!(
        sspr_server::tap::issue(&h.state, "dave", 3600, true, 7, "helpdesk-test")
            .await
            .unwrap_err(),
        sspr_server::tap::TapError::Length
    ));
    assert!(
        sspr_server::tap::issue(&h.state, "nobody", 3600, true, 8, "helpdesk-test")
            .await
            .is_err()
    );

    let c = signed_in(&h, "dave", pass.expose()).await;
    let v = info(&h, &c).await;
    assert_eq!(v["signed_in_with"], "temporary_access_pass");
    assert!(v["interrupt"]["register"].is_object(), "{v}");
    // It may register...
    let (s, _) = call(
        &h,
        &c,
        "/api/security-info/methods",
        json!({ "kind": "authenticator" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // ...and nothing else.
    let (s, err) = call(
        &h,
        &c,
        "/api/security-info/password",
        json!({ "current": pass.expose(), "new": "A-much-longer-passphrase-2026" }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::FORBIDDEN, Some("session.pass_restricted"))
    );
    let (s, err) = call(
        &h,
        &c,
        "/api/session/reauth",
        json!({ "password": pass.expose() }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::FORBIDDEN, Some("session.pass_restricted"))
    );

    // A one-time pass works once.
    let r = post(
        &h.app,
        "/api/session",
        &json!({ "username": "dave", "password": pass.expose() }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // A multi-use pass works until it expires.
    let (multi, _) = sspr_server::tap::issue(&h.state, "dave", 600, false, 12, "helpdesk-test")
        .await
        .unwrap();
    signed_in(&h, "dave", multi.expose()).await;
    signed_in(&h, "dave", multi.expose()).await;
    h.clock.advance(601);
    let r = post(
        &h.app,
        "/api/session",
        &json!({ "username": "dave", "password": multi.expose() }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let events: Vec<String> =
        sqlx::query_scalar("SELECT activity FROM audit_events WHERE target = 'dave'")
            .fetch_all(h.state.store.pool())
            .await
            .unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "Admin registered security info")
            .count(),
        2
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "Sign in with Temporary Access Pass")
            .count(),
        3
    );
    let stored: Vec<String> = sqlx::query_scalar("SELECT pass_hash FROM access_passes")
        .fetch_all(h.state.store.pool())
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|s| !s.contains(pass.expose()) && !s.contains(multi.expose()))
    );
}

#[tokio::test]
async fn changing_the_password_checks_the_current_one_and_ends_other_sessions() {
    let h = harness(false).await;
    let c = signed_in(&h, ALICE.0, ALICE.1).await;
    let elsewhere = signed_in(&h, ALICE.0, ALICE.1).await;

    // The checklist's context is for the signed-in user only.
    let (s, err) = status_json(get(&h.app, "/api/security-info/password").await).await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session.required"))
    );
    let (s, ctx) = status_json(get_as(&h.app, &c, "/api/security-info/password").await).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (ctx["username"].as_str(), ctx["display_name"].as_str()),
        (Some("alice"), Some("Alice Andersen"))
    );
    assert_eq!(ctx["rules"]["min_length"], 8);
    assert!(ctx["banned"]["organisation"].is_string());

    let (s, err) = call(
        &h,
        &c,
        "/api/security-info/password",
        json!({ "current": "nope", "new": "Correct-horse-battery-2026" }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("current"))
    );
    let (s, err) = call(
        &h,
        &c,
        "/api/security-info/password",
        json!({ "current": ALICE.1, "new": "short" }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password.too_short"))
    );

    let new = "Correct-horse-battery-2026";
    let (s, _) = call(
        &h,
        &c,
        "/api/security-info/password",
        json!({ "current": ALICE.1, "new": new }),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        info(&h, &c).await["username"],
        "alice",
        "this session continues"
    );
    let (s, v) = status_json(get_as(&h.app, &elsewhere, "/api/security-info").await).await;
    assert_eq!((s, v), (StatusCode::OK, Value::Null), "other sessions end");
    signed_in(&h, ALICE.0, new).await;
    let r = post(
        &h.app,
        "/api/session",
        &json!({ "username": "alice", "password": ALICE.1 }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let mails = outbox_lines(&h.outbox_dir(), "mail.jsonl", 1).await;
    assert!(mails.iter().any(|m| {
        m["body"]
            .as_str()
            .unwrap()
            .contains("Your password was changed")
    }));
}

const QUESTIONS_ON: &str = "[policy]\nsecurity_questions = true\nmethods_required = 2\n";

fn three_answers(view: &Value) -> Value {
    let q = view["questions"].as_array().unwrap();
    json!([
        { "question": q[0], "answer": "Rex" },
        { "question": q[1], "answer": "New  York" },
        { "question": q[4], "answer": "Elm Street" },
    ])
}

#[tokio::test]
async fn security_questions_are_hashed_never_alone_and_never_for_administrators() {
    let h = harness_with(false, QUESTIONS_ON).await;
    let c = signed_in(&h, DAVE.0, DAVE.1).await;
    let v = info(&h, &c).await;
    assert_eq!(v["questions"].as_array().unwrap().len(), 10);
    assert!(
        v["can_add"]
            .as_array()
            .unwrap()
            .contains(&json!("security_questions"))
    );

    let answers = three_answers(&v);
    let (s, err) = call(
        &h,
        &c,
        "/api/security-info/questions",
        json!({ "answers": answers.as_array().unwrap()[..2] }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("security_info.answers_invalid")
        )
    );
    let mut dup = answers.clone();
    dup[2]["answer"] = json!(" rex ");
    let (s, err) = call(
        &h,
        &c,
        "/api/security-info/questions",
        json!({ "answers": dup }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("answers[2]"))
    );

    let (s, v) = call(
        &h,
        &c,
        "/api/security-info/questions",
        json!({ "answers": answers }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(kinds(&v), ["security_questions"]);
    assert_eq!(
        v["interrupt"],
        json!({ "register": { "needed": 2 } }),
        "questions alone count for nothing"
    );
    let stored: Vec<String> = sqlx::query_scalar("SELECT answer_hash FROM security_answers")
        .fetch_all(h.state.store.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 3);
    assert!(
        stored
            .iter()
            .all(|s| s.starts_with("$argon2id$") && !s.to_lowercase().contains("rex"))
    );

    // With an authenticator as well, two kinds: enough.
    let (_, e) = enroll(&h, &c, json!({ "kind": "authenticator" })).await;
    let code = totp_at(e["secret"].as_str().unwrap(), h.clock.now(), 0);
    let (s, v) = call(
        &h,
        &c,
        "/api/security-info/methods/confirm",
        json!({ "enrollment": e["enrollment"], "code": code }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["interrupt"], Value::Null);

    // An administrator is never offered them.
    let carol = signed_in(&h, "carol", "Carol-admin-2026!").await;
    let v = info(&h, &carol).await;
    assert_eq!(v["questions"], json!([]));
    assert!(
        !v["can_add"]
            .as_array()
            .unwrap()
            .contains(&json!("security_questions"))
    );
    let (s, _) = call(
        &h,
        &carol,
        "/api/security-info/questions",
        json!({ "answers": answers }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn banned_passwords_are_refused_or_in_audit_mode_counted_by_the_report() {
    let h = harness_with(false, "[password]\nbanned_custom = [\"kayak\"]\n").await;
    let c = signed_in(&h, ALICE.0, ALICE.1).await;
    let change = json!({ "current": ALICE.1, "new": "KayakSummer2025!" });
    let (s, err) = call(&h, &c, "/api/security-info/password", change.clone()).await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password.banned"))
    );

    let h = harness_with(
        false,
        "[password]\nbanned_custom = [\"kayak\"]\nbanned_mode = \"audit\"\n",
    )
    .await;
    let c = signed_in(&h, ALICE.0, ALICE.1).await;
    let (s, _) = call(&h, &c, "/api/security-info/password", change).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "audit mode lets it through");
    let detail: String = sqlx::query_scalar("SELECT detail FROM audit_events WHERE activity = $1")
        .bind(sspr_server::password::WOULD_REJECT)
        .fetch_one(h.state.store.pool())
        .await
        .unwrap();
    assert_eq!(detail, "change");

    // `sspr policy report` reads the same store.
    let config = h.dir.path().join("report.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nurl = \"sqlite://{}?mode=rwc\"\n[password]\nbanned_mode = \"audit\"\n",
            h.dir.path().join("t.db").display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sspr"))
        .arg("--config")
        .arg(&config)
        .args(["policy", "report"])
        .env_remove("SSPR_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("0 password resets and 1 password changes would have been refused"),
        "{stdout}"
    );
}

#[tokio::test]
async fn breached_passwords_are_refused_and_only_the_hash_prefix_leaves() {
    use std::sync::{Arc, Mutex};
    // A real HTTP range endpoint on loopback, in the Pwned Passwords format.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let range = axum::Router::new().route(
        "/range/{prefix}",
        axum::routing::get(
            move |axum::extract::Path(prefix): axum::extract::Path<String>| {
                let log = log.clone();
                async move {
                    log.lock().unwrap().push(prefix.clone());
                    // SHA-1("Saffron-Glacier-Tuba-9") is listed as seen 3 times.
                    let (p, s) = sspr_server::breach::split_hash(
                        &sspr_server::secret::Secret::new("Saffron-Glacier-Tuba-9"),
                    );
                    if prefix == p {
                        format!("{s}:3\r\n")
                    } else {
                        String::new()
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, range).await.unwrap() });

    let h = harness_with(
        false,
        &format!("[password]\nbreached_range_url = \"http://127.0.0.1:{port}/range/\"\n"),
    )
    .await;
    let c = signed_in(&h, ALICE.0, ALICE.1).await;
    let (s, err) = call(
        &h,
        &c,
        "/api/security-info/password",
        json!({ "current": ALICE.1, "new": "Saffron-Glacier-Tuba-9" }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["id"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password.breached"))
    );
    let (s, _) = call(
        &h,
        &c,
        "/api/security-info/password",
        json!({ "current": ALICE.1, "new": "Quartz-Heron-Pickle-42" }),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|p| p.len() == 5 && p.bytes().all(|b| b.is_ascii_hexdigit())),
        "{seen:?}"
    );
}
