//! Item 2 (high): a password alone added reset methods to an account that
//! already had some, so a phished password became a permanent reset
//! backdoor. Now every change to security info, once a user has a method,
//! needs a fresh proof of one (or a Temporary Access Pass session).
#![allow(clippy::unwrap_used)]

use serde_json::json;
use sspr_security::*;

fn questions_on() -> Options {
    Options {
        config: "[policy]\nsecurity_questions = true\nmethods_required = 2\n".into(),
        ..Options::default()
    }
}

#[tokio::test]
async fn a_password_alone_cannot_add_replace_or_remove_methods() {
    let portal = Portal::start(questions_on()).await;
    let alice = portal.sign_in(ALICE.0, ALICE.1).await.unwrap();
    let info = portal.security_info(&alice).await;
    let email = first_method(&info, "email")["id"].clone();
    let q: Vec<String> = serde_json::from_value(info["questions"].clone()).unwrap();
    let answers = json!({ "answers": [
        { "question": q[0], "answer": "Biscuit" },
        { "question": q[1], "answer": "Bergen" },
        { "question": q[2], "answer": "Blur" },
    ]});
    let attempts = [
        (
            "/api/security-info/methods",
            json!({ "kind": "email", "address": "mallory@evil.test" }),
        ),
        (
            "/api/security-info/methods",
            json!({ "kind": "sms", "phone": "+44 7700 900666" }),
        ),
        (
            "/api/security-info/methods",
            json!({ "kind": "authenticator" }),
        ),
        ("/api/security-info/recovery-codes", json!({})),
        ("/api/security-info/questions", answers.clone()),
        (
            "/api/security-info/methods/remove",
            json!({ "method": email }),
        ),
    ];
    for (path, body) in &attempts {
        let (s, v) = portal.post_as(&alice, path, body).await;
        assert_eq!(
            (s, error_id(&v)),
            (StatusCode::UNAUTHORIZED, "session.stepup_required"),
            "{path} {body}"
        );
    }
    // Nothing was sent to the attacker's address or number, and nothing changed.
    assert_eq!(portal.mails_to("mallory@evil.test"), 0);
    assert!(portal.outbox("sms.jsonl").is_empty());
    let after = portal.security_info(&alice).await;
    assert_eq!(after["methods"], info["methods"]);

    // A proof of a method alice has opens the door, for this session only.
    portal.step_up_by_email(&alice).await;
    let (s, v) = portal
        .post_as(&alice, "/api/security-info/questions", &answers)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let other = portal.sign_in(ALICE.0, ALICE.1).await.unwrap();
    let (s, v) = portal
        .post_as(&other, "/api/security-info/recovery-codes", &json!({}))
        .await;
    assert_eq!(error_id(&v), "session.stepup_required", "{s}");
}

#[tokio::test]
async fn first_registration_needs_only_the_password_and_a_pass_counts_as_proof() {
    let portal = Portal::start(Options::default()).await;
    // dave has nothing: the password may register his first method.
    let dave = portal.sign_in(DAVE.0, DAVE.1).await.unwrap();
    let (s, v) = portal
        .post_as(&dave, "/api/security-info/recovery-codes", &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A second password session of his now needs a proof.
    let again = portal.sign_in(DAVE.0, DAVE.1).await.unwrap();
    let (_, v) = portal
        .post_as(
            &again,
            "/api/security-info/methods",
            &json!({ "kind": "authenticator" }),
        )
        .await;
    assert_eq!(error_id(&v), "session.stepup_required");

    // A Temporary Access Pass, issued by the helpdesk, is that proof.
    let (code, pass, err) = portal.cli(&["tap", "issue", "--user", "bob", "--by", "helpdesk-test"]);
    assert_eq!(code, 0, "{err}");
    let tap = portal.sign_in("bob", pass.trim()).await.unwrap();
    let (s, v) = portal
        .post_as(
            &tap,
            "/api/security-info/methods",
            &json!({ "kind": "authenticator" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn wrong_step_up_codes_are_limited_and_count_against_the_account() {
    let portal = Portal::start(Options::default()).await;
    let bob = portal.sign_in(BOB.0, BOB.1).await.unwrap();
    let info = portal.security_info(&bob).await;
    let email = first_method(&info, "email")["id"].clone();
    // Not one of bob's methods: refused.
    let (s, _) = portal
        .post_as(
            &bob,
            "/api/session/stepup",
            &json!({ "method": "0123456789abcdef" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = portal
        .post_as(&bob, "/api/session/stepup", &json!({ "method": email }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut seen = Vec::new();
    for _ in 0..6 {
        let (s, v) = portal
            .post_as(
                &bob,
                "/api/session/stepup/verify",
                &json!({ "code": "00000000" }),
            )
            .await;
        seen.push((s, error_id(&v).to_string()));
    }
    // Five wrong codes: the challenge is gone, and bob's self-service budget
    // (5 failures in 24 h) is spent, at reset too.
    assert!(
        seen[..5]
            .iter()
            .all(|(s, _)| *s == StatusCode::UNPROCESSABLE_ENTITY),
        "{seen:?}"
    );
    assert_ne!(seen[5].0, StatusCode::OK);
    let before = portal.mails_to("bob@example.com");
    let flow = portal.start_flow(BOB.0).await;
    let (s, _) = portal.choose(&flow, "email").await;
    assert_eq!(s, StatusCode::OK, "the answer is the one anyone gets");
    let sent = portal
        .wait_for_message(
            "mail.jsonl",
            before,
            std::time::Duration::from_secs(2),
            |m| m["to"] == "bob@example.com",
        )
        .await;
    assert!(
        sent.is_none(),
        "a blocked account is sent no code: {sent:?}"
    );
    let store = portal.store().await;
    let held: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE detail = 'code not sent: blocked'",
    )
    .fetch_one(&store)
    .await
    .unwrap();
    assert_eq!(held, 1);
}

#[tokio::test]
async fn an_enrolment_begun_as_a_first_registration_cannot_be_confirmed_after_one() {
    // The attacker has dave's password, and dave has nothing yet: a first
    // registration, begun but not confirmed.
    let portal = Portal::start(Options::default()).await;
    let attacker = portal.sign_in(DAVE.0, DAVE.1).await.unwrap();
    let (s, e) = portal
        .post_as(
            &attacker,
            "/api/security-info/methods",
            &json!({ "kind": "email", "address": "attacker@evil.test" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let code = portal.mailed_code("attacker@evil.test", 0).await;
    // Meanwhile dave registers, in his own session.
    let dave = portal.sign_in(DAVE.0, DAVE.1).await.unwrap();
    let (s, v) = portal
        .post_as(&dave, "/api/security-info/recovery-codes", &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The attacker's enrolment is no longer a first registration.
    let (s, v) = portal
        .post_as(
            &attacker,
            "/api/security-info/methods/confirm",
            &json!({ "enrollment": e["email"]["enrollment"], "code": code }),
        )
        .await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::UNAUTHORIZED, "session.stepup_required"),
        "{v}"
    );
    let methods = portal.security_info(&dave).await["methods"].clone();
    assert_eq!(methods.as_array().unwrap().len(), 1, "{methods}");
    assert_eq!(
        portal.mails_to("attacker@evil.test"),
        1,
        "only the enrolment code"
    );
}

/// Found by an outside attack: five wrong codes at reset, which anyone who
/// knows the name can make, blocked the account's step-up for 24 hours, so
/// an administrator could not open usage & insights. Step-up now has a
/// budget of its own.
#[tokio::test]
async fn wrong_proofs_at_reset_do_not_lock_the_user_out_of_step_up() {
    let portal = Portal::start(Options::default()).await;
    let mut last = serde_json::Value::Null;
    for _ in 0..6 {
        let flow = portal.start_flow(ALICE.0).await;
        portal.choose(&flow, "authenticator").await;
        last = portal.verify(&flow, "000000").await.1;
    }
    // The reset is blocked, as it should be.
    assert_eq!(step(&last).0, "blocked", "{last}");
    // alice herself, signed in, still proves her authenticator.
    let alice = portal.sign_in(ALICE.0, ALICE.1).await.unwrap();
    let m = first_method(&portal.security_info(&alice).await, "authenticator");
    let (s, v) = portal
        .post_as(&alice, "/api/session/stepup", &json!({ "method": m["id"] }))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = portal
        .post_as(
            &alice,
            "/api/session/stepup/verify",
            &json!({ "code": oathtool(ALICE_TOTP) }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
