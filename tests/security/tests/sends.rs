//! Item 8 (low): the resend cooldown was bypassed by choosing the same
//! method again (alice got 6 codes in one second), and enrolment texted any
//! number at the same rate: SMS pumping.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::json;
use sspr_security::*;

#[tokio::test]
async fn choosing_again_or_in_another_flow_sends_no_second_code_within_the_cooldown() {
    let portal = Portal::start(Options::default()).await;
    let flow = portal.start_flow(ALICE.0).await;
    for _ in 0..6 {
        let (s, v) = portal.choose(&flow, "email").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(step(&v).0, "enter_code");
        // The step shows the one cooldown, not a fresh one.
        assert!(step(&v).1["resend_in"].as_u64().unwrap() <= 60);
    }
    // A second flow in the same second waits on the same clock.
    let other = portal.start_flow("alice@example.com").await;
    portal.choose(&other, "email").await;
    // Give every send its chance to go out; only one does.
    let second = portal
        .wait_for_message("mail.jsonl", 1, Duration::from_secs(3), |m| {
            m["to"] == "alice@example.com"
        })
        .await;
    assert!(second.is_none(), "a second code within 60 s: {second:?}");
    assert_eq!(portal.mails_to("alice@example.com"), 1);
    // The code that went is the first flow's, and it works.
    let code = portal.mailed_code("alice@example.com", 0).await;
    let (s, v) = portal.verify(&flow, &code).await;
    assert_eq!((s, step(&v).0.as_str()), (StatusCode::OK, "new_password"));
}

#[tokio::test]
async fn enrolment_codes_are_charged_per_session_and_per_client() {
    let portal = Portal::start(Options::default()).await;
    let dave = portal.sign_in(DAVE.0, DAVE.1).await.unwrap();
    let mut statuses = Vec::new();
    for i in 0..7 {
        let phone = format!("+44 7700 90{:04}", 1000 + i);
        let (s, v) = portal
            .post_as(
                &dave,
                "/api/security-info/methods",
                &json!({ "kind": "sms", "phone": phone }),
            )
            .await;
        statuses.push((s, error_id(&v).to_string()));
    }
    let sent = statuses
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .count();
    assert_eq!(sent, 5, "{statuses:?}");
    assert!(
        statuses[5..]
            .iter()
            .all(|(s, id)| *s == StatusCode::TOO_MANY_REQUESTS && id == "request.rate_limited")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(portal.outbox("sms.jsonl").len(), 5);

    // The same number twice within a minute: told to wait.
    let fresh = portal.sign_in(DAVE.0, DAVE.1).await.unwrap();
    let (s, v) = portal
        .post_as(
            &fresh,
            "/api/security-info/methods",
            &json!({ "kind": "sms", "phone": "+44 7700 901000" }),
        )
        .await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "reset.resend_too_soon"),
        "{v}"
    );

    // New sessions and other accounts do not reset the client's own budget
    // (20 enrolment codes per 10 minutes).
    let portal = Portal::start(Options::default()).await;
    let mut sent = 0;
    for (n, (user, password)) in [DAVE, ALICE, BOB, CAROL].into_iter().enumerate() {
        let c = portal.sign_in(user, password).await.unwrap();
        if user != DAVE.0 {
            portal.step_up_by_email(&c).await;
        }
        for i in 0..5 {
            let phone = format!("+44 7700 9{n}{i:03}1");
            let (s, v) = portal
                .post_as(
                    &c,
                    "/api/security-info/methods",
                    &json!({ "kind": "sms", "phone": phone }),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{user} #{i}: {v}");
            sent += 1;
        }
    }
    assert_eq!(sent, 20);
    let c = portal.sign_in(DAVE.0, DAVE.1).await.unwrap();
    let (s, v) = portal
        .post_as(
            &c,
            "/api/security-info/methods",
            &json!({ "kind": "sms", "phone": "+44 7700 908888" }),
        )
        .await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "request.rate_limited"),
        "{v}"
    );
}

#[tokio::test]
async fn enrolment_never_points_the_relay_at_an_ip_literal_or_an_address_it_cannot_carry() {
    let portal = Portal::start(Options::default()).await;
    let dave = portal.sign_in(DAVE.0, DAVE.1).await.unwrap();
    for address in [
        "a@[127.0.0.1]",
        "a@[IPv6:::1]",
        "a@10.0.0.5",
        "ä@example.com",
    ] {
        let (s, v) = portal
            .post_as(
                &dave,
                "/api/security-info/methods",
                &json!({ "kind": "email", "address": address }),
            )
            .await;
        assert_eq!(
            (s, error_id(&v)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "security_info.email_invalid"
            ),
            "{address}"
        );
    }
    assert!(portal.outbox("mail.jsonl").is_empty());
}

/// Reset codes waiting in the outbox. Notices are not counted: a reset's
/// "your password was reset" mail is queued with it and may not have gone yet
/// when the test looks (counting it made the test fail one run in three).
async fn waiting_rows(portal: &Portal) -> i64 {
    let pool = portal.store().await;
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'reset_code'")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

/// Found by an outside attack: flows that make codes wait on their 60 s
/// cooldown (choose email, back, choose SMS, again and again) filled the
/// outbox, and real users' codes and notices were refused. Now the newest
/// code of an account supersedes its waiting ones, so an account holds one
/// row however many flows ask.
#[tokio::test]
async fn flows_that_make_codes_wait_cannot_fill_the_outbox() {
    let portal = Portal::start(Options {
        reset: "identify_per_ip = 100000\nsteps_per_ip = 100000\n".into(),
        env: vec![("SSPR__DELIVERY__QUEUE_LIMIT".into(), "100".into())],
        ..Options::default()
    })
    .await;
    for i in 0..40 {
        let name = [BOB.0, "bob@example.com", CAROL.0, "carol@example.com"][i % 4];
        let flow = portal.start_flow(name).await;
        portal.choose(&flow, "email").await;
        portal
            .post("/api/reset/back", &json!({ "flow": flow["flow"] }))
            .await;
        portal.choose(&flow, "sms").await;
    }
    let rows = waiting_rows(&portal).await;
    assert!(rows <= 2, "{rows} rows wait for two accounts");
    // And a code for someone else still goes out.
    let flow = portal.start_flow(ALICE.0).await;
    portal.choose(&flow, "email").await;
    portal.mailed_code("alice@example.com", 0).await;
}

/// Found by an outside attack: a code waiting on its cooldown went out
/// after its flow had passed the gate another way and finished.
#[tokio::test]
async fn a_waiting_code_is_dropped_once_its_flow_passes_the_gate() {
    let portal = Portal::start(Options::default()).await;
    // alice's address was just sent a code: the next waits 60 s.
    let first = portal.start_flow(ALICE.0).await;
    portal.choose(&first, "email").await;
    portal.mailed_code("alice@example.com", 0).await;
    let flow = portal.start_flow("alice@example.com").await;
    portal.choose(&flow, "email").await;
    assert_eq!(waiting_rows(&portal).await, 1, "the second code waits");
    portal
        .post("/api/reset/back", &json!({ "flow": flow["flow"] }))
        .await;
    portal.choose(&flow, "authenticator").await;
    let (s, v) = portal.verify(&flow, &oathtool(ALICE_TOTP)).await;
    assert_eq!((s, step(&v).0.as_str()), (StatusCode::OK, "new_password"));
    assert_eq!(
        waiting_rows(&portal).await,
        0,
        "no code waits past the gate"
    );
    assert_eq!(portal.mails_to("alice@example.com"), 1);
}

/// Found by an outside attack: a flow started for the account while
/// another was at its last step lived on after the reset, and its code
/// went out a minute after "your password was reset".
#[tokio::test]
async fn a_reset_ends_the_accounts_other_flows_and_their_waiting_codes() {
    let portal = Portal::start(Options::default()).await;
    let b = portal.start_flow(ALICE.0).await;
    portal.choose(&b, "authenticator").await;
    let (s, v) = portal.verify(&b, &oathtool(ALICE_TOTP)).await;
    assert_eq!((s, step(&v).0.as_str()), (StatusCode::OK, "new_password"));
    // Another flow sends a code, then a third waits on its cooldown.
    let d = portal.start_flow("alice@example.com").await;
    portal.choose(&d, "email").await;
    portal.mailed_code("alice@example.com", 0).await;
    let e = portal.start_flow(ALICE.0).await;
    portal.choose(&e, "email").await;
    assert_eq!(waiting_rows(&portal).await, 1);
    let (s, v, _) = portal
        .post(
            "/api/reset/password",
            &json!({ "flow": b["flow"], "password": "Quartz-Meadow-Violin-42" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        waiting_rows(&portal).await,
        0,
        "a code waits past the reset"
    );
    for other in [&d, &e] {
        let (s, v, _) = portal
            .post("/api/reset/state", &json!({ "flow": other["flow"] }))
            .await;
        assert_eq!((s, error_id(&v)), (StatusCode::GONE, "reset.flow_expired"));
    }
}
