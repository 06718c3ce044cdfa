//! The reset flow over HTTP: identify, gates, new password; enumeration
//! resistance, throttling and single use, against a real store and the dev outbox.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::{Value, json};
use sspr_server::directory::Directory;
use sspr_server::methods::authenticator as totp;
use sspr_server::secret::Secret;

/// The newest code sent to `to` by mail.
async fn mailed_code(h: &Harness, to: &str, nth: usize) -> String {
    let mails = outbox_lines(&h.outbox_dir(), "mail.jsonl", nth).await;
    let body = mails.iter().rfind(|m| m["to"] == to).expect("a mail")["body"]
        .as_str()
        .unwrap()
        .to_string();
    body.split_whitespace()
        .find(|w| w.len() == 8 && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap()
        .to_string()
}

const ALICE_TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// Replaces the random flow and method ids so two views can be compared byte for byte.
fn redact(mut v: Value) -> String {
    v["flow"] = json!("[flow]");
    let body = v["step"]
        .as_object_mut()
        .and_then(|o| o.values_mut().next());
    if let Some(ms) = body.and_then(|b| b["methods"].as_array_mut()) {
        for m in ms {
            m["id"] = json!("[id]");
        }
    }
    v.to_string()
}

#[tokio::test]
async fn alice_resets_with_an_emailed_code_and_signs_in_with_the_new_password() {
    let h = harness(false).await;
    let flow = start(&h, "alice").await;
    assert_eq!(shown(&flow)["step"], "choose_method");
    assert_eq!(shown(&flow)["gates"], 1);
    assert_eq!(flow["flow"].as_str().unwrap().len(), 64, "256-bit flow id");
    let kinds = offered_kinds(&flow);
    assert_eq!(kinds, ["email", "authenticator"]);
    assert_eq!(shown(&flow)["methods"][0]["masked"], "a***@e***.com");

    let v = choose(&h, &flow, "email").await;
    assert_eq!(shown(&v)["step"], "enter_code");
    assert_eq!(shown(&v)["resend_in"], 60);
    let code = mailed_code(&h, "alice@example.com", 1).await;

    // A wrong code first, then the right one.
    let (s, e) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": "00000000" }),
    )
    .await;
    assert_eq!(
        (s, e["error"]["id"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reset.code_invalid"))
    );
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": format!(" {} ", &code) }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Only now, with the user proven, does the checklist learn their names.
    assert_eq!(
        shown(&v),
        json!({
            "step": "new_password",
            "unlock_available": false,
            "password": {
                "rules": { "min_length": 8, "max_length": 256, "min_score": 3, "complexity": false },
                "username": "alice",
                "display_name": "Alice Andersen",
                "email": "alice@example.com",
                "banned": { "organisation": "Built In", "custom": [] },
                // The year of the server's clock, for zxcvbn's dates.
                "year": 2027
            }
        })
    );

    // The policy speaks before the directory is touched.
    for (pw, id) in [
        ("short", "password.too_short"),
        ("P@ssw0rd-2026", "password.banned"),
        ("zzzzzzzzzzzz", "password.too_weak"),
        ("AliceRocks-2026!", "password.contains_name"),
    ] {
        let (s, e) = step(
            &h,
            "/api/reset/password",
            json!({ "flow": flow["flow"], "password": pw }),
        )
        .await;
        assert_eq!(
            (s, e["error"]["id"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(id)),
            "{pw}"
        );
    }
    let (s, v) = step(
        &h,
        "/api/reset/password",
        json!({ "flow": flow["flow"], "password": "Tangerine-Vortex-Quill-88" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The wire itself, once: steps are tagged externally.
    // The answer says what else happened: no other session to end, and the
    // confirmation went to alice's address.
    assert_eq!(
        v["step"],
        json!({ "done": { "outcome": "password_reset", "signed_out": 0, "notified": true } })
    );

    let alice = h.builtin.find_user("alice").await.unwrap().unwrap();
    assert!(
        h.builtin
            .verify_password(&alice, &Secret::new("Tangerine-Vortex-Quill-88"))
            .await
            .unwrap()
    );
    assert!(
        !h.builtin
            .verify_password(&alice, &Secret::new("Alice-demo-2026!"))
            .await
            .unwrap()
    );

    // The finished flow cannot be replayed.
    let (s, _) = step(
        &h,
        "/api/reset/password",
        json!({ "flow": flow["flow"], "password": "Another-Strong-Pass-99" }),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // The notification arrives, with links from the configured public URL only.
    let mails = outbox_lines(&h.outbox_dir(), "mail.jsonl", 2).await;
    let note = mails
        .iter()
        .find(|m| m["subject"] == "Your Built In password was reset")
        .expect("notification");
    assert_eq!(note["to"], "alice@example.com");
    assert!(
        note["body"]
            .as_str()
            .unwrap()
            .contains("https://sspr.example.com/security-info")
    );

    // The audit trail has Entra's names and no secret.
    let rows: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT activity, result, method FROM audit_events ORDER BY at, activity")
            .fetch_all(h.state.store.pool())
            .await
            .unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert!(names.contains(&"Reset password (self-service)"));
    assert!(names.contains(&"Self-service password reset flow activity progress"));
    assert!(
        rows.iter()
            .any(|r| r.1 == "failure" && r.2.as_deref() == Some("email"))
    );
    let dump: Vec<String> = sqlx::query_scalar(
        "SELECT activity || actor || COALESCE(detail, '') || COALESCE(flow, '') FROM audit_events",
    )
    .fetch_all(h.state.store.pool())
    .await
    .unwrap();
    let dump = dump.join("|");
    assert!(
        !dump.contains(&code)
            && !dump.contains("Tangerine")
            && !dump.contains(flow["flow"].as_str().unwrap())
    );

    // Codes are stored hashed.
    let hashes: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM reset_codes")
        .fetch_all(h.state.store.pool())
        .await
        .unwrap();
    assert!(hashes.iter().all(|c| !c.contains(&code)));
}

#[tokio::test]
async fn identify_answers_alike_for_known_unknown_and_blocked_accounts() {
    // Hundreds of identifies from one address: past the per-IP budget.
    let h = harness_with(false, "identify_per_ip = 10000\nsteps_per_ip = 10000\n").await;
    let alice = start(&h, "alice").await;
    let ghost = start(&h, "mallory").await;
    let ghost_mail = start(&h, "mallory@example.com").await;

    // Same shape: same keys, same step, same number of gates.
    let shape = |v: &Value| {
        let s = shown(v);
        (
            s["step"].clone(),
            s["gates"].clone(),
            s["gate"].clone(),
            v["expires_in"].clone(),
            v["flow"].as_str().unwrap().len(),
        )
    };
    assert_eq!(shape(&alice), shape(&ghost));
    assert_eq!(shape(&alice), shape(&ghost_mail));
    assert!(shown(&ghost)["methods"].as_array().unwrap().len() >= 2);
    // A name and its address show one decoy, as one account shows one set.
    assert_eq!(
        redact(ghost_mail.clone()),
        redact(ghost.clone()),
        "mallory and mallory@example.com"
    );

    // Byte for byte (past the random ids): some unknown identifier always
    // answers exactly what a real account answers, so no answer can give a
    // real account away.
    let real = redact(alice.clone());
    let header_names = |r: &axum::response::Response| {
        r.headers()
            .keys()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
    };
    let mut twin = None;
    for n in 0..300 {
        let ident = format!("a{n}");
        let r = start_response(&h, &ident).await;
        let headers = header_names(&r);
        if redact(json(r).await) == real {
            twin = Some((ident, headers));
            break;
        }
    }
    let (ident, headers) = twin.expect("an unknown identifier that answers like alice");
    let alice_headers = header_names(&start_response(&h, "alice").await);
    assert_eq!(alice_headers, headers, "{ident}: same headers");

    // Decoys are consistent: the same identifier shows the same methods.
    assert_eq!(redact(start(&h, "mallory").await), redact(ghost.clone()));

    // A blocked account answers byte for byte as it did when open.
    let open = redact(alice.clone());
    for _ in 0..5 {
        let f = start(&h, "alice").await;
        choose(&h, &f, "email").await;
        step(
            &h,
            "/api/reset/verify",
            json!({ "flow": f["flow"], "code": "11111111" }),
        )
        .await;
    }
    assert_eq!(redact(start(&h, "alice").await), open);
    // Even a decoy says nothing different at identify once it is "blocked".
    for _ in 0..5 {
        let f = start(&h, "mallory").await;
        choose(&h, &f, "email").await;
        step(
            &h,
            "/api/reset/verify",
            json!({ "flow": f["flow"], "code": "11111111" }),
        )
        .await;
    }
    assert_eq!(redact(start(&h, "mallory").await), redact(ghost));

    // Nothing is ever sent for a decoy.
    let mails = outbox_lines(&h.outbox_dir(), "mail.jsonl", 5).await;
    assert!(mails.iter().all(|m| m["to"] == "alice@example.com"));
}

#[tokio::test]
async fn twenty_concurrent_redemptions_of_one_code_let_exactly_one_through() {
    let h = harness(false).await;
    let flow = start(&h, "alice").await;
    choose(&h, &flow, "email").await;
    let code = mailed_code(&h, "alice@example.com", 1).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let app = h.app.clone();
            let body = json!({ "flow": flow["flow"], "code": code });
            tokio::spawn(async move { post(&app, "/api/reset/verify", &body).await.status() })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn a_totp_code_is_never_accepted_twice() {
    let h = harness(false).await;
    let code = totp_now(&h, ALICE_TOTP);
    let f1 = start(&h, "alice").await;
    choose(&h, &f1, "authenticator").await;
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": f1["flow"], "code": code }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(shown(&v)["step"], "new_password");

    let f2 = start(&h, "alice").await;
    choose(&h, &f2, "authenticator").await;
    let (s, e) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": f2["flow"], "code": code }),
    )
    .await;
    assert_eq!(
        (s, e["error"]["id"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reset.code_invalid"))
    );

    // The previous step is refused too; the next one works.
    h.clock.advance(totp::STEP);
    let (s, _) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": f2["flow"], "code": totp_now(&h, ALICE_TOTP) }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn guesses_spread_over_many_flows_block_the_account() {
    let h = harness(false).await;
    for i in 0..5 {
        let f = start(&h, "alice").await;
        choose(&h, &f, "authenticator").await;
        let (s, v) = step(
            &h,
            "/api/reset/verify",
            json!({ "flow": f["flow"], "code": "000000" }),
        )
        .await;
        if i < 4 {
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "guess {i}");
        } else {
            assert_eq!(
                (s, shown(&v)["step"].as_str()),
                (StatusCode::OK, Some("blocked")),
                "the 5th failure blocks"
            );
        }
    }
    // Even the right code is refused now, in a brand-new flow.
    let f = start(&h, "alice").await;
    choose(&h, &f, "authenticator").await;
    let (_, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": f["flow"], "code": totp_now(&h, ALICE_TOTP) }),
    )
    .await;
    assert_eq!(shown(&v)["step"], "blocked");
    let blocked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE activity = 'User blocked from self-service password reset'")
        .fetch_one(h.state.store.pool())
        .await
        .unwrap();
    assert_eq!(blocked, 1);

    // 24 hours later the block is over.
    h.clock.advance(24 * 3600 + 1);
    let f = start(&h, "alice").await;
    choose(&h, &f, "authenticator").await;
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": f["flow"], "code": totp_now(&h, ALICE_TOTP) }),
    )
    .await;
    assert_eq!(
        (s, shown(&v)["step"].as_str()),
        (StatusCode::OK, Some("new_password"))
    );
}

#[tokio::test]
async fn an_admin_needs_two_gates_and_every_admin_hears_of_the_reset() {
    // Requests here send no Accept-Language: the portal's default language
    // applies to them, and to the other administrators, whose language the
    // portal cannot know.
    let h = harness_with(false, "[server]\ndefault_locale = \"de\"").await;
    // A second administrator to notify.
    h.builtin
        .create_user(sspr_server::directory::builtin::NewUser {
            username: "erin".into(),
            display_name: "Erin Oncall".into(),
            email: Some("erin@example.com".into()),
            mobile: None,
            password: Secret::new("Erin-admin-2026!"),
            is_admin: true,
        })
        .await
        .unwrap();
    let flow = start(&h, "carol").await;
    // Under a one-gate policy an administrator's first step looks like
    // anyone's: the second gate shows only once the first is proven.
    assert_eq!(shown(&flow)["gates"], 1);
    choose(&h, &flow, "email").await;
    let code = mailed_code(&h, "carol@example.com", 1).await;
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": code }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(shown(&v)["step"], "choose_method");
    assert_eq!(shown(&v)["gate"], 2);
    let left = offered_kinds(&v);
    assert_eq!(left, ["sms", "authenticator"], "a second, different method");

    // One gate is not enough.
    let (s, e) = step(
        &h,
        "/api/reset/password",
        json!({ "flow": flow["flow"], "password": "Tangerine-Vortex-Quill-88" }),
    )
    .await;
    assert_eq!(
        (s, e["error"]["id"].as_str()),
        (StatusCode::CONFLICT, Some("reset.wrong_step"))
    );

    // The second gate by SMS, through the dev outbox.
    choose(&h, &v, "sms").await;
    let sms = outbox_lines(&h.outbox_dir(), "sms.jsonl", 1).await;
    assert_eq!(sms[0]["to"], "+15550100003");
    let code = sms[0]["body"].as_str().unwrap()[..8].to_string();
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": code }),
    )
    .await;
    assert_eq!(
        (s, shown(&v)["step"].as_str()),
        (StatusCode::OK, Some("new_password"))
    );
    let (s, _) = step(
        &h,
        "/api/reset/password",
        json!({ "flow": flow["flow"], "password": "Tangerine-Vortex-Quill-88" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    let mails = outbox_lines(&h.outbox_dir(), "mail.jsonl", 3).await;
    let sent = |to: &str, subject: &str| {
        mails
            .iter()
            .any(|m| m["to"] == to && m["subject"] == subject)
    };
    assert!(
        sent(
            "erin@example.com",
            "Built In: Ein Administrator hat sein Kennwort zurückgesetzt"
        ),
        "{mails:?}"
    );
    assert!(
        sent(
            "carol@example.com",
            "Ihr Kennwort bei Built In wurde zurückgesetzt"
        ),
        "{mails:?}"
    );
}

#[tokio::test]
async fn a_code_from_one_users_flow_fails_in_anothers() {
    let h = harness(false).await;
    let a = start(&h, "alice").await;
    choose(&h, &a, "email").await;
    let alice_code = mailed_code(&h, "alice@example.com", 1).await;
    let b = start(&h, "bob").await;
    choose(&h, &b, "email").await;
    let (s, _) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": b["flow"], "code": alice_code }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Alice's code still works in Alice's flow.
    let (s, _) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": a["flow"], "code": alice_code }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn identifiers_must_be_plain_strings_and_the_pow_is_single_use() {
    let h = harness(false).await;
    let pow = solved_pow(&h).await;
    for body in [
        json!({ "identifier": ["alice", "bob"], "pow": pow }),
        json!({ "identifier": { "$ne": "" }, "pow": pow }),
        json!({ "identifier": "alice", "pow": pow, "admin": true }),
    ] {
        let (s, e) = step(&h, "/api/reset/start", body).await;
        assert_eq!(
            (s, e["error"]["id"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("request.invalid_field")
            )
        );
    }
    let dup = format!(r#"{{"identifier":"bob","identifier":"alice","pow":{pow}}}"#);
    let r = send(
        &h.app,
        Request::post("/api/reset/start")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(dup))
            .unwrap(),
    )
    .await;
    assert_eq!(json(r).await["error"]["field"], "identifier");

    // The solution works once, then never again.
    let (s, _) = step(
        &h,
        "/api/reset/start",
        json!({ "identifier": "alice", "pow": pow }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = step(
        &h,
        "/api/reset/start",
        json!({ "identifier": "alice", "pow": pow }),
    )
    .await;
    assert_eq!(
        (s, e["error"]["id"].as_str()),
        (StatusCode::BAD_REQUEST, Some("reset.pow_invalid"))
    );
    // A wrong nonce fails.
    let mut bad = solved_pow(&h).await;
    bad["nonce"] = json!(bad["nonce"].as_u64().unwrap() + 1);
    let (s, _) = step(
        &h,
        "/api/reset/start",
        json!({ "identifier": "alice", "pow": bad }),
    )
    .await;
    assert!(
        s == StatusCode::BAD_REQUEST || s == StatusCode::OK,
        "a neighbouring nonce may also solve it"
    );
}

#[tokio::test]
async fn mail_links_use_the_public_url_whatever_the_host_header() {
    let h = harness(false).await;
    let pow = solved_pow(&h).await;
    let r = send(
        &h.app,
        Request::post("/api/reset/start")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::HOST, "evil.example")
            .header("x-forwarded-host", "evil.example")
            .body(Body::from(
                json!({ "identifier": "alice", "pow": pow }).to_string(),
            ))
            .unwrap(),
    )
    .await;
    let flow = json(r).await;
    choose(&h, &flow, "email").await;
    let mails = outbox_lines(&h.outbox_dir(), "mail.jsonl", 1).await;
    let body = mails[0]["body"].as_str().unwrap();
    assert!(body.contains("https://sspr.example.com"));
    assert!(!body.contains("evil"));
}

#[tokio::test]
async fn resend_waits_for_its_cooldown_and_codes_expire() {
    let h = harness(false).await;
    let flow = start(&h, "alice").await;
    choose(&h, &flow, "email").await;
    let first = mailed_code(&h, "alice@example.com", 1).await;
    let (s, e) = step(&h, "/api/reset/resend", json!({ "flow": flow["flow"] })).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        (
            e["error"]["id"].as_str(),
            e["error"]["retry_after"].as_u64()
        ),
        (Some("reset.resend_too_soon"), Some(60))
    );
    h.clock.advance(60);
    let (s, v) = step(&h, "/api/reset/resend", json!({ "flow": flow["flow"] })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(shown(&v)["resend_in"], 60);
    let second = mailed_code(&h, "alice@example.com", 2).await;
    // The first code died when the second was sent.
    if first != second {
        let (s, _) = step(
            &h,
            "/api/reset/verify",
            json!({ "flow": flow["flow"], "code": first }),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Five minutes later the second has expired too.
    h.clock.advance(5 * 60);
    let (s, _) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": second }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // And after 15 minutes the flow itself is gone.
    h.clock.advance(10 * 60);
    let (s, e) = step(&h, "/api/reset/state", json!({ "flow": flow["flow"] })).await;
    assert_eq!(
        (s, e["error"]["id"].as_str()),
        (StatusCode::GONE, Some("reset.flow_expired"))
    );
}

#[tokio::test]
async fn back_returns_to_the_method_choice_and_a_locked_user_may_unlock_instead() {
    let h = harness(false).await;
    let alice = h.builtin.find_user("alice").await.unwrap().unwrap();
    h.builtin.lock_until(&alice, T0 + 3600).await.unwrap();
    let flow = start(&h, "alice").await;
    choose(&h, &flow, "email").await;
    let (s, v) = step(&h, "/api/reset/back", json!({ "flow": flow["flow"] })).await;
    assert_eq!(
        (s, shown(&v)["step"].as_str()),
        (StatusCode::OK, Some("choose_method"))
    );
    choose(&h, &flow, "authenticator").await;
    let (_, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": totp_now(&h, ALICE_TOTP) }),
    )
    .await;
    assert_eq!(shown(&v)["step"], "new_password");
    assert_eq!(shown(&v)["unlock_available"], true);
    let (s, v) = step(&h, "/api/reset/unlock", json!({ "flow": flow["flow"] })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        shown(&v),
        json!({ "step": "done", "outcome": "unlocked", "signed_out": 0, "notified": false })
    );
    let alice = h.builtin.find_user("alice").await.unwrap().unwrap();
    assert_eq!(alice.locked_until, None);
    assert!(
        h.builtin
            .verify_password(&alice, &Secret::new("Alice-demo-2026!"))
            .await
            .unwrap(),
        "password unchanged"
    );
}

#[tokio::test]
async fn sspr_limited_to_a_group_treats_outsiders_as_unknown() {
    let h = harness_with(
        false,
        "[policy]\nsspr_enabled = \"group\"\nsspr_group = \"staff\"\n",
    )
    .await;
    // alice is in finance, nested in staff: eligible. carol is only in it-admins.
    let alice = start(&h, "alice").await;
    choose(&h, &alice, "email").await;
    // A decoy's methods are drawn from every real shape: pick its first.
    let carol = start(&h, "carol").await;
    let first = offered_kinds(&carol)[0].clone();
    choose(&h, &carol, &first).await;
    let mails = outbox_lines(&h.outbox_dir(), "mail.jsonl", 1).await;
    assert!(
        mails.iter().all(|m| m["to"] == "alice@example.com"),
        "no code for the outsider"
    );
}

#[tokio::test]
async fn per_ip_budgets_sit_on_top_of_the_account_limits() {
    let h = harness_with(false, "identify_per_ip = 2\n").await;
    for _ in 0..2 {
        assert_eq!(
            post(&h.app, "/api/reset/challenge", &json!({}))
                .await
                .status(),
            StatusCode::OK
        );
    }
    let r = post(&h.app, "/api/reset/challenge", &json!({})).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()[header::RETRY_AFTER], "600");
    let e = json(r).await;
    assert_eq!(
        (
            e["error"]["id"].as_str(),
            e["error"]["retry_after"].as_u64()
        ),
        (Some("request.rate_limited"), Some(600))
    );
    h.clock.advance(600);
    assert_eq!(
        post(&h.app, "/api/reset/challenge", &json!({}))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn concurrent_password_submissions_write_the_directory_once() {
    let h = harness(false).await;
    let flow = start(&h, "alice").await;
    choose(&h, &flow, "authenticator").await;
    let (s, _) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": totp_now(&h, ALICE_TOTP) }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let tasks: Vec<_> = [
        "Tangerine-Vortex-Quill-01",
        "Tangerine-Vortex-Quill-02",
        "Tangerine-Vortex-Quill-03",
        "Tangerine-Vortex-Quill-04",
    ]
    .into_iter()
    .map(|pw| {
        let app = h.app.clone();
        let body = json!({ "flow": flow["flow"], "password": pw });
        tokio::spawn(async move { (pw, post(&app, "/api/reset/password", &body).await.status()) })
    })
    .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (pw, status) = t.await.unwrap();
        if status == StatusCode::OK {
            winners.push(pw);
        } else {
            assert_eq!(status, StatusCode::CONFLICT);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let alice = h.builtin.find_user("alice").await.unwrap().unwrap();
    assert!(
        h.builtin
            .verify_password(&alice, &Secret::new(winners[0]))
            .await
            .unwrap()
    );
    let completed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE activity = 'Reset password (self-service)'",
    )
    .fetch_one(h.state.store.pool())
    .await
    .unwrap();
    assert_eq!(completed, 1);
}

/// The real built-in directory, refusing the first password it is given, as a
/// directory with a history policy would.
#[derive(Debug)]
struct RefusesOnce {
    inner: sspr_server::directory::builtin::Builtin,
    refused: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Directory for RefusesOnce {
    async fn find_user(
        &self,
        l: &str,
    ) -> Result<Option<sspr_server::directory::DirUser>, sspr_server::directory::DirectoryError>
    {
        self.inner.find_user(l).await
    }
    async fn user_by_id(
        &self,
        id: &str,
    ) -> Result<Option<sspr_server::directory::DirUser>, sspr_server::directory::DirectoryError>
    {
        self.inner.user_by_id(id).await
    }
    async fn administrators(
        &self,
    ) -> Result<Vec<sspr_server::directory::DirUser>, sspr_server::directory::DirectoryError> {
        self.inner.administrators().await
    }
    async fn verify_password(
        &self,
        u: &sspr_server::directory::DirUser,
        p: &Secret,
    ) -> Result<bool, sspr_server::directory::DirectoryError> {
        self.inner.verify_password(u, p).await
    }
    async fn set_password(
        &self,
        u: &sspr_server::directory::DirUser,
        p: &Secret,
    ) -> Result<(), sspr_server::directory::DirectoryError> {
        if !self.refused.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(sspr_server::directory::DirectoryError::PasswordRejected(
                sspr_server::directory::Rejection::InHistory,
            ));
        }
        self.inner.set_password(u, p).await
    }
    async fn groups_of(
        &self,
        u: &sspr_server::directory::DirUser,
    ) -> Result<Vec<String>, sspr_server::directory::DirectoryError> {
        self.inner.groups_of(u).await
    }
    async fn unlock(
        &self,
        u: &sspr_server::directory::DirUser,
    ) -> Result<(), sspr_server::directory::DirectoryError> {
        self.inner.unlock(u).await
    }
}

#[tokio::test]
async fn a_directory_refusal_keeps_the_flow_on_its_step_with_the_reason() {
    let mut h = harness(false).await;
    let mut state = h.state.clone();
    state.directory = std::sync::Arc::new(RefusesOnce {
        inner: h.builtin.clone(),
        refused: Default::default(),
    });
    h.app = sspr_server::app(state);
    let flow = start(&h, "alice").await;
    choose(&h, &flow, "authenticator").await;
    step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": totp_now(&h, ALICE_TOTP) }),
    )
    .await;

    let (s, e) = step(
        &h,
        "/api/reset/password",
        json!({ "flow": flow["flow"], "password": "Tangerine-Vortex-Quill-88" }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["id"], "password.in_history");
    assert_eq!(e["error"]["field"], "password");
    assert_eq!(
        e["error"]["message"],
        "You have used that password before. Choose one you haven't used here."
    );
    let (_, v) = step(&h, "/api/reset/state", json!({ "flow": flow["flow"] })).await;
    assert_eq!(shown(&v)["step"], "new_password", "still on this step");
    let done = completed_resets(&h).await;
    assert_eq!(done, 0, "nothing recorded as completed");

    // A retry goes through.
    let (s, v) = step(
        &h,
        "/api/reset/password",
        json!({ "flow": flow["flow"], "password": "Another-Vortex-Quill-99" }),
    )
    .await;
    assert_eq!(
        (s, shown(&v)["step"].as_str()),
        (StatusCode::OK, Some("done"))
    );
}

#[tokio::test]
async fn a_recovery_code_passes_a_gate_once() {
    let h = harness(false).await;
    let cookie = signed_in(&h, "dave", "Dave-demo-2026!").await;
    let (s, v) = status_json(
        post_as(
            &h.app,
            &cookie,
            "/api/security-info/recovery-codes",
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let codes: Vec<String> = serde_json::from_value(v["codes"].clone()).unwrap();

    let flow = start(&h, "dave").await;
    let v = choose(&h, &flow, "recovery_code").await;
    assert_eq!(shown(&v)["step"], "enter_code");
    assert_eq!(shown(&v)["resend_in"], Value::Null, "nothing is sent");
    // Typed loosely: upper case, spaces for dashes.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": typed }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(shown(&v)["step"], "new_password");

    // The same code never works again.
    let flow = start(&h, "dave").await;
    choose(&h, &flow, "recovery_code").await;
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": codes[3] }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let left = status_json(get_as(&h.app, &cookie, "/api/security-info").await)
        .await
        .1;
    assert_eq!(left["methods"][0]["remaining"], 9);
}

#[tokio::test]
async fn security_questions_are_a_second_gate_only() {
    let h = harness_with(
        false,
        "[policy]\nsecurity_questions = true\nmethods_required = 2\n",
    )
    .await;
    let cookie = signed_in(&h, "alice", "Alice-demo-2026!").await;
    let view = step_up(&h, &cookie).await;
    let q: Vec<String> = serde_json::from_value(view["questions"].clone()).unwrap();
    let answers = json!([
        { "question": q[2], "answer": "Blur" },
        { "question": q[0], "answer": "Biscuit" },
        { "question": q[7], "answer": "Bergen" },
    ]);
    let (s, v) = status_json(
        post_as(
            &h.app,
            &cookie,
            "/api/security-info/questions",
            &json!({ "answers": answers }),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let flow = start(&h, "alice").await;
    let v = choose(&h, &flow, "security_questions").await;
    assert_eq!(shown(&v)["step"], "answer_questions");
    assert_eq!(shown(&v)["questions"], json!([q[2], q[0], q[7]]));
    let (s, _) = step(
        &h,
        "/api/reset/answers",
        json!({ "flow": flow["flow"], "answers": ["blur", "biscuit", "Oslo"] }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = step(
        &h,
        "/api/reset/answers",
        json!({ "flow": flow["flow"], "answers": [" BLUR", "biscuit", "bergen "] }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(shown(&v)["step"], "choose_method");
    let offered = offered_kinds(&v);
    assert!(!offered.iter().any(|k| k == "security_questions"));
    choose(&h, &flow, "authenticator").await;
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": totp_now(&h, ALICE_TOTP) }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(shown(&v)["step"], "new_password");

    // One gate: never alone, so not offered.
    let h1 = harness_with(false, "[policy]\nsecurity_questions = true\n").await;
    let cookie = signed_in(&h1, "alice", "Alice-demo-2026!").await;
    step_up(&h1, &cookie).await;
    let (s, _) = status_json(
        post_as(
            &h1.app,
            &cookie,
            "/api/security-info/questions",
            &json!({ "answers": answers }),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let flow = start(&h1, "alice").await;
    assert!(
        shown(&flow)["methods"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["kind"] != "security_questions")
    );
}

/// The built-in directory, except that listing administrators fails: the
/// notice to the other administrators cannot be sent.
#[derive(Debug)]
struct NoAdminList(sspr_server::directory::builtin::Builtin);

#[async_trait::async_trait]
impl Directory for NoAdminList {
    async fn find_user(
        &self,
        login: &str,
    ) -> Result<Option<sspr_server::directory::DirUser>, sspr_server::directory::DirectoryError>
    {
        self.0.find_user(login).await
    }
    async fn user_by_id(
        &self,
        id: &str,
    ) -> Result<Option<sspr_server::directory::DirUser>, sspr_server::directory::DirectoryError>
    {
        self.0.user_by_id(id).await
    }
    async fn administrators(
        &self,
    ) -> Result<Vec<sspr_server::directory::DirUser>, sspr_server::directory::DirectoryError> {
        Err(sspr_server::directory::DirectoryError::Unavailable(
            "the directory went away after the write".into(),
        ))
    }
    async fn verify_password(
        &self,
        user: &sspr_server::directory::DirUser,
        password: &Secret,
    ) -> Result<bool, sspr_server::directory::DirectoryError> {
        self.0.verify_password(user, password).await
    }
    async fn set_password(
        &self,
        user: &sspr_server::directory::DirUser,
        password: &Secret,
    ) -> Result<(), sspr_server::directory::DirectoryError> {
        self.0.set_password(user, password).await
    }
    async fn groups_of(
        &self,
        user: &sspr_server::directory::DirUser,
    ) -> Result<Vec<String>, sspr_server::directory::DirectoryError> {
        self.0.groups_of(user).await
    }
    async fn unlock(
        &self,
        user: &sspr_server::directory::DirUser,
    ) -> Result<(), sspr_server::directory::DirectoryError> {
        self.0.unlock(user).await
    }
}

#[tokio::test]
async fn a_reset_that_wrote_the_password_answers_success_even_if_a_notice_fails() {
    let mut h = harness(false).await;
    let mut state = h.state.clone();
    state.directory = std::sync::Arc::new(NoAdminList(h.builtin.clone()));
    h.app = sspr_server::app(state);
    // carol (an administrator) has a session elsewhere.
    let elsewhere = signed_in(&h, "carol", "Carol-admin-2026!").await;
    let flow = start(&h, "carol").await;
    choose(&h, &flow, "email").await;
    let code = mailed_code(&h, "carol@example.com", 1).await;
    let (_, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": code }),
    )
    .await;
    assert_eq!(shown(&v)["gate"], 2);
    choose(&h, &v, "authenticator").await;
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": totp_now(&h, "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU") }),
    )
    .await;
    assert_eq!(
        (s, shown(&v)["step"].as_str()),
        (StatusCode::OK, Some("new_password")),
        "{v}"
    );
    let (s, v) = submit_password(&h, &flow["flow"], "Tangerine-Vortex-Quill-88").await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the password changed: the answer says so: {v}"
    );
    assert_eq!(
        v["step"],
        json!({ "done": { "outcome": "password_reset", "signed_out": 1, "notified": true } })
    );
    let carol = h.builtin.find_user("carol").await.unwrap().unwrap();
    assert!(
        h.builtin
            .verify_password(&carol, &Secret::new("Tangerine-Vortex-Quill-88"))
            .await
            .unwrap()
    );
    assert_eq!(completed_resets(&h).await, 1);
    // Her other session ended with the reset, before the write.
    let (s, v) = status_json(get_as(&h.app, &elsewhere, "/api/session").await).await;
    assert_eq!((s, v), (StatusCode::OK, Value::Null));
}
