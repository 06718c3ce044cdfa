//! Usage & insights (issue 18): who may see it, that its figures are what
//! happened, that `sspr report usage` agrees with the API on SQLite and
//! PostgreSQL, the spike alerts (once an hour, once across nodes), the
//! helpdesk commands, the exports and the audit retention.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::{Value, json};
use sspr_proto::reset::MethodKind;
use sspr_server::AppState;
use sspr_server::clock::{Clock, SystemClock};
use sspr_server::directory::Directory;
use sspr_server::directory::builtin::NewUser;
use sspr_server::insights::alerts;
use sspr_server::secret::Secret;
use sspr_server::store::Store;

const CAROL: (&str, &str) = ("carol", "Carol-admin-2026!");
const BOB: (&str, &str) = ("bob", "Bob-demo-2026!");
const CAROL_TOTP: &str = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";

fn error_id(v: &Value) -> &str {
    v["error"]["id"].as_str().unwrap_or_default()
}

/// carol, signed in, with an email and an authenticator proof in this session.
async fn admin_session(h: &Harness) -> String {
    let carol = signed_in(h, CAROL.0, CAROL.1).await;
    step_up(h, &carol).await;
    step_up_with(h, &carol, "authenticator", &totp_now(h, CAROL_TOTP)).await;
    carol
}

async fn get_json(h: &Harness, cookie: &str, uri: &str) -> (StatusCode, Value) {
    status_json(get_as(&h.app, cookie, uri).await).await
}

/// A whole reset of alice with her authenticator. The clock moves on 30 s
/// first, so each reset proves a fresh TOTP step.
async fn reset_alice(h: &Harness, password: &str) {
    h.clock.advance(30);
    let flow = reset_to_new_password(h, "alice").await;
    let (s, v) = submit_password(h, &flow["flow"], password).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// `n` wrong emailed codes for `identifier`, in one flow.
async fn wrong_codes(h: &Harness, identifier: &str, n: usize) -> Value {
    let flow = start(h, identifier).await;
    let first = offered_kinds(&flow)[0].clone();
    choose(h, &flow, &first).await;
    let mut last = Value::Null;
    for _ in 0..n {
        let (_, v) = step(
            h,
            "/api/reset/verify",
            json!({ "flow": flow["flow"], "code": "00000000" }),
        )
        .await;
        last = v;
    }
    last
}

async fn audit_count(state: &AppState, activity: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE activity = $1")
        .bind(activity)
        .fetch_one(state.store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn only_an_administrator_with_two_proven_kinds_gets_in() {
    let h = harness(false).await;
    let paths = [
        "/api/insights",
        "/api/insights/events",
        "/api/insights/export.csv?what=events",
    ];
    // No session at all.
    for p in paths {
        let (s, v) = status_json(get(&h.app, p).await).await;
        assert_eq!(
            (s, error_id(&v)),
            (StatusCode::UNAUTHORIZED, "session.required"),
            "{p}"
        );
    }
    // bob is no administrator: refused by the server, proofs or not.
    let bob = signed_in(&h, BOB.0, BOB.1).await;
    step_up(&h, &bob).await;
    for p in paths {
        let (s, v) = get_json(&h, &bob, p).await;
        assert_eq!(
            (s, error_id(&v)),
            (StatusCode::FORBIDDEN, "insights.forbidden"),
            "{p}"
        );
    }
    let (_, me) = get_json(&h, &bob, "/api/session").await;
    assert_eq!(
        (me["is_admin"].clone(), me["proven"].clone()),
        (json!(false), json!(["email"]))
    );

    // carol is one, but has proved nothing in this session yet.
    let carol = signed_in(&h, CAROL.0, CAROL.1).await;
    let (_, me) = get_json(&h, &carol, "/api/session").await;
    assert_eq!(
        (me["is_admin"].clone(), me["proven"].clone()),
        (json!(true), json!([]))
    );
    let two_needed = |v: (StatusCode, Value)| {
        assert_eq!(
            (v.0, error_id(&v.1)),
            (StatusCode::UNAUTHORIZED, "insights.two_methods_required"),
            "{}",
            v.1
        );
    };
    for p in paths {
        two_needed(get_json(&h, &carol, p).await);
    }
    // One proof is not enough; neither is the same kind twice.
    let view = step_up(&h, &carol).await;
    assert_eq!(view["proven"], json!(["email"]));
    two_needed(get_json(&h, &carol, "/api/insights").await);
    h.clock.advance(61);
    step_up(&h, &carol).await;
    two_needed(get_json(&h, &carol, "/api/insights").await);

    // Security questions never count, even if one were recorded.
    let token = carol.split_once('=').unwrap().1;
    let hash = sspr_server::session::hash(token);
    sspr_server::session::mark_proved(&h.state, &hash, MethodKind::SecurityQuestions)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO session_proofs (session_hash, kind, at) VALUES ($1, 'security_questions', $2)",
    )
    .bind(&hash)
    .bind(Clock::now(&h.clock))
    .execute(h.state.store.pool())
    .await
    .unwrap();
    two_needed(get_json(&h, &carol, "/api/insights").await);

    // A second kind opens it, for this session only.
    let view = step_up_with(&h, &carol, "authenticator", &totp_now(&h, CAROL_TOTP)).await;
    assert_eq!(view["proven"], json!(["authenticator", "email"]));
    assert_eq!(view["is_admin"], true);
    for p in paths {
        let r = get_as(&h.app, &carol, p).await;
        assert_eq!(r.status(), StatusCode::OK, "{p}");
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    }
    let other = signed_in(&h, CAROL.0, CAROL.1).await;
    two_needed(get_json(&h, &other, "/api/insights").await);

    // Not from another site, even as a GET with the right cookie.
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("referer", "https://evil.example/page"),
    ] {
        let r = send(
            &h.app,
            Request::get("/api/insights/export.csv?what=events")
                .header(header::COOKIE, &carol)
                .header(name, value)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let (s, v) = status_json(r).await;
        assert_eq!(
            (s, error_id(&v)),
            (StatusCode::FORBIDDEN, "request.cross_origin"),
            "{name}"
        );
    }

    // The proofs last the step-up window (10 minutes), no longer.
    h.clock.advance(10 * 60 + 1);
    two_needed(get_json(&h, &carol, "/api/insights").await);

    // bob's tries are on record; carol's missing proofs are not a refusal worth one.
    let refused: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor, detail FROM audit_events WHERE activity = $1 AND result = 'failure'",
    )
    .bind(sspr_server::insights::VIEWED)
    .fetch_all(h.state.store.pool())
    .await
    .unwrap();
    assert_eq!(refused.len(), paths.len(), "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|(a, d)| a == "bob" && d.contains("not an administrator"))
    );
}

#[tokio::test]
async fn a_temporary_access_pass_session_never_opens_it() {
    let h = harness(false).await;
    let (pass, _) = sspr_server::tap::issue(&h.state, "carol", 3600, false, 12, "helpdesk-test")
        .await
        .unwrap();
    // The user's notice of the pass goes first, so the step-up reads its own code.
    outbox_find(&h.outbox_dir(), "mail.jsonl", |m| {
        m["subject"]
            .as_str()
            .unwrap()
            .contains("Temporary Access Pass")
    })
    .await
    .expect("the pass notice");
    let carol = signed_in(&h, "carol", pass.expose()).await;
    step_up(&h, &carol).await;
    let view = step_up_with(&h, &carol, "authenticator", &totp_now(&h, CAROL_TOTP)).await;
    assert_eq!(view["proven"].as_array().unwrap().len(), 2);
    for p in [
        "/api/insights",
        "/api/insights/events",
        "/api/insights/export.csv?what=activity",
    ] {
        let (s, v) = get_json(&h, &carol, p).await;
        assert_eq!(
            (s, error_id(&v)),
            (StatusCode::FORBIDDEN, "session.pass_restricted"),
            "{p}"
        );
    }
}

#[tokio::test]
async fn the_figures_are_what_happened() {
    let h = harness(false).await;
    // A decoy flow is no user, and its wrong proofs count for nothing;
    // blocking the identifier typed for it blocks no account.
    wrong_codes(&h, "nobody@example.com", 5).await;
    // Two resets and an unlock of alice, each with her authenticator.
    reset_alice(&h, "Juniper-Canyon-Oboe-61").await;
    reset_alice(&h, "Kestrel-Harbour-Quill-72").await;
    let alice = h.builtin.find_user("alice").await.unwrap().unwrap();
    h.builtin.lock_until(&alice, T0 + 7200).await.unwrap();
    h.clock.advance(30);
    let flow = reset_to_new_password(&h, "alice").await;
    let (s, _) = step(&h, "/api/reset/unlock", json!({ "flow": flow["flow"] })).await;
    assert_eq!(s, StatusCode::OK);
    // bob is blocked by five wrong codes typed through his address.
    let v = wrong_codes(&h, "bob@example.com", 5).await;
    assert_eq!(shown(&v)["step"], "blocked");
    // dave registers his first method.
    let dave = signed_in(&h, "dave", "Dave-demo-2026!").await;
    let r = post_as(
        &h.app,
        &dave,
        "/api/security-info/recovery-codes",
        &json!({}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    let carol = admin_session(&h).await;
    let (s, v) = get_json(&h, &carol, "/api/insights?days=2").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["days"], 2);
    assert_eq!(v["generated_at"], Clock::now(&h.clock));
    assert_eq!(
        v["coverage"],
        json!({ "scope": "all_users", "in_scope": 4, "registered": 4, "capable": 4, "not_registered": [] })
    );
    assert_eq!(
        v["methods"],
        json!([
            { "kind": "email", "users": 3 },
            { "kind": "sms", "users": 2 },
            { "kind": "authenticator", "users": 2 },
            { "kind": "recovery_code", "users": 1 },
        ])
    );
    assert_eq!(
        v["blocked_now"],
        json!([{ "username": "bob", "display_name": "Bob Brennan" }])
    );
    let days = v["activity"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    let today =
        sspr_server::insights::date_of_day(sspr_server::insights::day_of(Clock::now(&h.clock)));
    assert_eq!(days[1]["date"], today.as_str());
    let proofs: BTreeMap<String, (u64, u64)> = days[1]["proofs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                (p["passed"].as_u64().unwrap(), p["failed"].as_u64().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        (
            days[1]["resets"].clone(),
            days[1]["unlocks"].clone(),
            days[1]["blocks"].clone(),
            days[1]["registrations"].clone()
        ),
        (json!(2), json!(1), json!(1), json!(1)),
        "{}",
        days[1]
    );
    // Three authenticator gates passed; bob's five wrong codes; the decoy's none.
    assert_eq!(proofs["authenticator"], (3, 0));
    assert_eq!(proofs["email"], (0, 5));
    assert_eq!(proofs["sms"], (0, 0));
    assert_eq!(days[0]["resets"], 0);
    assert!(
        days[0]["proofs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["passed"] == 0 && p["failed"] == 0)
    );

    // dave, before he registered, was the one not registered.
    let h2 = harness(false).await;
    let carol2 = admin_session(&h2).await;
    let (_, v) = get_json(&h2, &carol2, "/api/insights").await;
    assert_eq!(v["days"], 30);
    assert_eq!(v["activity"].as_array().unwrap().len(), 30);
    assert_eq!(v["coverage"]["in_scope"], 4);
    assert_eq!(v["coverage"]["registered"], 3);
    assert_eq!(
        v["coverage"]["not_registered"],
        json!([{ "username": "dave", "display_name": "Dave Dunn" }])
    );
    // Bad ranges are refused, not clamped.
    for bad in ["days=0", "days=91", "days=ten", "week=1"] {
        let (s, v) = get_json(&h2, &carol2, &format!("/api/insights?{bad}")).await;
        assert_eq!(
            (s, error_id(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "request.invalid_field"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn scope_follows_the_policy_group_and_capability_what_reset_needs() {
    // Only staff (finance nested in it): alice, bob, dave. Two gates for all.
    let h = harness_with(
        false,
        "[policy]\nsspr_enabled = \"group\"\nsspr_group = \"staff\"\nmethods_required = 2\n",
    )
    .await;
    let carol = admin_session(&h).await;
    let (_, v) = get_json(&h, &carol, "/api/insights").await;
    // alice (email + app) and bob (email + SMS) have two kinds; dave none.
    assert_eq!(
        v["coverage"],
        json!({ "scope": "all_users", "in_scope": 3, "registered": 2, "capable": 2,
                "not_registered": [{ "username": "dave", "display_name": "Dave Dunn" }] })
    );
    let h = harness_with(false, "[policy]\nsspr_enabled = \"none\"\n").await;
    let carol = admin_session(&h).await;
    let (_, v) = get_json(&h, &carol, "/api/insights").await;
    assert_eq!(v["coverage"]["in_scope"], 0);
    assert_eq!(v["methods"][0]["users"], 0);
}

#[tokio::test]
async fn the_events_page_filters_and_every_view_is_audited_without_secrets() {
    let h = harness(false).await;
    reset_alice(&h, "Juniper-Canyon-Oboe-61").await;
    wrong_codes(&h, "bob", 1).await;
    // People paste passwords into fields.
    wrong_codes(&h, "Tr0ub4dor&3-pasted", 1).await;
    let carol = admin_session(&h).await;
    let (s, page) = get_json(&h, &carol, "/api/insights/events").await;
    assert_eq!(s, StatusCode::OK);
    let events = page["events"].as_array().unwrap();
    assert!(events.len() <= sspr_server::insights::EVENTS_PAGE);
    let ats: Vec<i64> = events.iter().map(|e| e["at"].as_i64().unwrap()).collect();
    assert!(ats.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let activities: Vec<&str> = page["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        activities.contains(&"Reset password (self-service)"),
        "{activities:?}"
    );
    assert!(activities.windows(2).all(|w| w[0] < w[1]));

    let (_, page) = get_json(&h, &carol, "/api/insights/events?user=bob&result=failure").await;
    let events = page["events"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| (e["actor"] == "bob" || e["target"] == "bob") && e["result"] == "failure"),
        "{events:?}"
    );
    // Names match as typed by people: `Bob` finds bob.
    let (_, upper) = get_json(&h, &carol, "/api/insights/events?user=Bob&result=failure").await;
    assert_eq!(upper["events"], page["events"]);
    let (_, page) = get_json(
        &h,
        &carol,
        "/api/insights/events?activity=Reset%20password%20(self-service)",
    )
    .await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0]["actor"].clone(), events[0]["target"].clone()),
        (json!("alice"), json!("alice"))
    );

    // A filter that names no account is not written down.
    let (s, _) = get_json(&h, &carol, "/api/insights/events?user=Tr0ub4dor%263-pasted").await;
    assert_eq!(s, StatusCode::OK);
    let trail: Vec<String> = sqlx::query_scalar(
        "SELECT activity || '|' || actor || '|' || COALESCE(target, '') || '|' || COALESCE(detail, '') FROM audit_events",
    )
    .fetch_all(h.state.store.pool())
    .await
    .unwrap();
    let trail = trail.join("\n");
    assert!(!trail.contains("Tr0ub4dor"), "{trail}");
    assert!(!trail.contains("Juniper-Canyon"), "{trail}");
    assert!(
        trail.contains("Admin viewed usage and insights|carol||audit events: no filter"),
        "{trail}"
    );
    assert!(
        trail.contains(
            "Admin viewed usage and insights|carol|bob|audit events: user bob, result failure"
        ),
        "{trail}"
    );
    assert!(
        trail.contains("Admin viewed usage and insights|carol||audit events: user (no account)"),
        "{trail}"
    );
    let (s, v) = get_json(&h, &carol, "/api/insights/events?result=maybe").await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "request.invalid_field")
    );
}

/// The cells of a CSV body (RFC 4180, every cell quoted), by line.
fn parse_csv(body: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut cell, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, body.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CRLF line ends");
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => panic!("unquoted {c:?} in {body}"),
        }
    }
    assert!(
        row.is_empty() && cell.is_empty(),
        "the last line ends with CRLF"
    );
    rows
}

#[tokio::test]
async fn csv_exports_are_downloads_with_formulas_defused() {
    let h = harness(false).await;
    // A directory attribute someone could set, and events holding typed text.
    h.builtin
        .create_user(NewUser {
            username: "mallory".into(),
            display_name: "=HYPERLINK(\"https://evil.example\",\"open\")".into(),
            email: None,
            mobile: None,
            password: Secret::new("Mallory-demo-2026!"),
            is_admin: false,
        })
        .await
        .unwrap();
    for (actor, detail) in [
        ("+SUM(1,2)", "@cmd"),
        ("-2+3", "\tx"),
        ("plain", "a,\"b\"\r\nc"),
    ] {
        sspr_server::audit::record(
            &h.state,
            sspr_server::audit::Event {
                activity: "Test formula",
                actor,
                detail: Some(detail),
                success: true,
                ip: "192.0.2.1",
                ..Default::default()
            },
        )
        .await;
    }
    let carol = admin_session(&h).await;

    let r = get_as(
        &h.app,
        &carol,
        "/api/insights/export.csv?what=not_registered",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let today = sspr_server::insights::date_of_day(sspr_server::insights::day_of(T0));
    assert_eq!(
        r.headers()[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"sspr-not-registered-{today}.csv\"").as_str()
    );
    let body = String::from_utf8(body_bytes(r).await).unwrap();
    let rows = parse_csv(&body);
    assert_eq!(rows[0], ["username", "display_name"]);
    assert!(
        rows.contains(&vec![
            "mallory".to_string(),
            "'=HYPERLINK(\"https://evil.example\",\"open\")".to_string()
        ]),
        "{body}"
    );
    assert!(rows.contains(&vec!["dave".to_string(), "Dave Dunn".to_string()]));

    let r = get_as(
        &h.app,
        &carol,
        "/api/insights/export.csv?what=events&activity=Test%20formula",
    )
    .await;
    assert_eq!(
        r.headers()[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"sspr-audit-events-{today}.csv\"").as_str()
    );
    let rows = parse_csv(&String::from_utf8(body_bytes(r).await).unwrap());
    assert_eq!(rows[0][..5], ["id", "at", "time", "activity", "actor"]);
    let mut cells: Vec<(&str, &str)> = rows[1..]
        .iter()
        .map(|r| (r[4].as_str(), r[10].as_str()))
        .collect();
    cells.sort();
    assert_eq!(
        cells,
        [
            ("'+SUM(1,2)", "'@cmd"),
            ("'-2+3", "'\tx"),
            ("plain", "a,\"b\"\r\nc")
        ]
    );
    // Every cell that starts like a formula starts with a quote instead.
    for row in &rows {
        for c in row {
            assert!(!c.starts_with(['=', '+', '-', '@', '\t', '\r']), "{c:?}");
        }
    }

    let r = get_as(
        &h.app,
        &carol,
        "/api/insights/export.csv?what=activity&days=3",
    )
    .await;
    let rows = parse_csv(&String::from_utf8(body_bytes(r).await).unwrap());
    assert_eq!(
        rows[0],
        [
            "date",
            "resets",
            "unlocks",
            "blocks",
            "registrations",
            "email_passed",
            "email_failed",
            "sms_passed",
            "sms_failed",
            "authenticator_passed",
            "authenticator_failed",
            "recovery_code_passed",
            "recovery_code_failed"
        ]
    );
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[3][0], today);

    let (s, v) = get_json(&h, &carol, "/api/insights/export.csv?what=passwords").await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "request.invalid_field")
    );
    assert_eq!(
        audit_count(&h.state, sspr_server::insights::EXPORTED).await,
        3
    );
}

/// Resets in the last hour reach 3: carol (the only administrator) is
/// mailed once; not again within the hour; again once an hour has passed
/// and the threshold is reached anew.
#[tokio::test]
async fn a_spike_of_resets_is_mailed_once_an_hour() {
    let h = harness_with(
        false,
        "[alerts]\nresets_per_hour = 3\nblocks_per_hour = 0\n",
    )
    .await;
    let alerts_to_carol = || async {
        outbox_lines(&h.outbox_dir(), "mail.jsonl", 0)
            .await
            .into_iter()
            .filter(|m| {
                m["to"] == "carol@example.com"
                    && m["subject"]
                        .as_str()
                        .unwrap()
                        .contains("unusual number of self-service password resets")
            })
            .collect::<Vec<_>>()
    };
    // Each node's own background check runs the same claim, so the test
    // counts what was sent, whoever sent it.
    let spikes = || audit_count(&h.state, alerts::SPIKE);
    reset_alice(&h, "Juniper-Canyon-Oboe-61").await;
    reset_alice(&h, "Kestrel-Harbour-Quill-72").await;
    alerts::check(&h.state).await.unwrap();
    assert_eq!(spikes().await, 0);
    reset_alice(&h, "Lantern-Meadow-Nickel-83").await;
    alerts::check(&h.state).await.unwrap();
    assert_eq!(spikes().await, 1);
    let mails = outbox_find(&h.outbox_dir(), "mail.jsonl", |m| {
        m["to"] == "carol@example.com"
            && m["subject"]
                .as_str()
                .unwrap()
                .contains("(3 in the last hour)")
    })
    .await
    .expect("the alert");
    let body = mails["body"].as_str().unwrap();
    assert!(body.contains("The alert threshold is 3."), "{body}");
    assert!(body.contains("https://sspr.example.com/insights"), "{body}");
    let metrics = h.state.metrics.encode().unwrap();
    assert!(
        metrics.contains("sspr_alerts_total{kind=\"resets\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sspr_alerts_total{kind=\"blocks\"} 0\n"),
        "{metrics}"
    );

    // Within the hour: the count still holds, and nothing more is sent.
    reset_alice(&h, "Marble-Nectar-Orchid-94").await;
    h.clock.advance(30 * 60);
    alerts::check(&h.state).await.unwrap();
    assert_eq!(spikes().await, 1);
    // An hour later those resets are old news: no alert without new ones.
    h.clock.advance(31 * 60);
    alerts::check(&h.state).await.unwrap();
    assert_eq!(spikes().await, 1);
    for p in [
        "Nimbus-Oracle-Pebble-15",
        "Quartz-Raven-Saddle-26",
        "Thistle-Umber-Violet-37",
    ] {
        reset_alice(&h, p).await;
    }
    alerts::check(&h.state).await.unwrap();
    assert_eq!(spikes().await, 2);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while alerts_to_carol().await.len() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(alerts_to_carol().await.len(), 2);
}

#[tokio::test]
async fn a_spike_of_blocks_is_mailed_too_and_zero_turns_a_kind_off() {
    let h = harness_with(
        false,
        "[alerts]\nresets_per_hour = 0\nblocks_per_hour = 2\n",
    )
    .await;
    wrong_codes(&h, "alice", 5).await;
    // A decoy's identifier blocked is no account blocked.
    wrong_codes(&h, "nobody@example.com", 5).await;
    alerts::check(&h.state).await.unwrap();
    assert_eq!(audit_count(&h.state, alerts::SPIKE).await, 0);
    wrong_codes(&h, "bob", 5).await;
    // Resets are off: however many there are, no alert for them.
    for _ in 0..5 {
        sspr_server::audit::record(
            &h.state,
            sspr_server::audit::Event {
                activity: sspr_server::audit::RESET_COMPLETED,
                actor: "dave",
                success: true,
                ip: "",
                ..Default::default()
            },
        )
        .await;
    }
    alerts::check(&h.state).await.unwrap();
    assert_eq!(audit_count(&h.state, alerts::SPIKE).await, 1);
    let mail = outbox_find(&h.outbox_dir(), "mail.jsonl", |m| {
        m["to"] == "carol@example.com" && m["subject"].as_str().unwrap().contains("blocked")
    })
    .await
    .expect("the alert");
    assert!(
        mail["body"]
            .as_str()
            .unwrap()
            .contains(": 2. The alert threshold is 2."),
        "{mail}"
    );
    let metrics = h.state.metrics.encode().unwrap();
    assert!(
        metrics.contains("sspr_alerts_total{kind=\"blocks\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sspr_alerts_total{kind=\"resets\"} 0\n"),
        "{metrics}"
    );
}

/// A second node: its own pool and outbox handle on the harness's store,
/// the same clock, keys and directory.
async fn second_node(h: &Harness) -> AppState {
    let mut b = h.state.clone();
    b.store = Store::open(&h.store_url, 4).await.unwrap();
    b.metrics = Arc::new(sspr_server::metrics::Metrics::new("node-b"));
    b
}

#[tokio::test]
async fn two_nodes_on_one_store_send_each_alert_once() {
    for url in backends().await {
        let h = harness_setup(Setup {
            config: "[alerts]\nresets_per_hour = 3\n",
            store_url: url.clone(),
            ..Setup::default()
        })
        .await;
        let b = second_node(&h).await;
        for round in 0..4 {
            for _ in 0..3 {
                sspr_server::audit::record(
                    &h.state,
                    sspr_server::audit::Event {
                        activity: sspr_server::audit::RESET_COMPLETED,
                        actor: "alice",
                        success: true,
                        ip: "",
                        ..Default::default()
                    },
                )
                .await;
            }
            let (a, bb) = tokio::join!(alerts::check(&h.state), alerts::check(&b));
            let (a, bb) = (a.unwrap(), bb.unwrap());
            assert!(
                a.len() + bb.len() <= 1,
                "both nodes sent it: round {round} on {url:?}"
            );
            // Checking again, on either node, sends nothing more.
            let (a2, b2) = tokio::join!(alerts::check(&h.state), alerts::check(&b));
            assert_eq!(a2.unwrap().len() + b2.unwrap().len(), 0);
            // Once a round, whoever sent it (a node's own background check
            // runs the same claim).
            assert_eq!(
                audit_count(&h.state, alerts::SPIKE).await,
                round + 1,
                "{url:?}"
            );
            h.clock.advance(3601);
        }
        let mails = outbox_lines(&h.outbox_dir(), "mail.jsonl", 4).await;
        let alerts: Vec<&Value> = mails
            .iter()
            .filter(|m| m["subject"].as_str().unwrap().contains("unusual number"))
            .collect();
        assert_eq!(alerts.len(), 4, "one mail to carol per alert, on {url:?}");
        assert!(alerts.iter().all(|m| m["to"] == "carol@example.com"));
    }
}

#[tokio::test]
async fn retention_deletes_old_events_and_keeps_the_rest() {
    for url in backends().await {
        let h = harness_setup(Setup {
            config: "[audit]\nretention_days = 30\nprogress_retention_days = 7\n",
            store_url: url.clone(),
            ..Setup::default()
        })
        .await;
        let now = Clock::now(&h.clock);
        let day = 86_400;
        let progress = sspr_server::audit::FLOW_PROGRESS;
        let rows = [
            (
                "old",
                "Reset password (self-service)",
                now - 30 * day - 1,
                false,
            ),
            (
                "edge",
                "Reset password (self-service)",
                now - 30 * day,
                true,
            ),
            (
                "month",
                "User registered security info",
                now - 29 * day,
                true,
            ),
            ("old-progress", progress, now - 7 * day - 1, false),
            ("edge-progress", progress, now - 7 * day, true),
            ("new-progress", progress, now - day, true),
            (
                "week-other",
                "User blocked from self-service password reset",
                now - 8 * day,
                true,
            ),
            ("future", progress, now + 60, true),
        ];
        for (id, activity, at, _) in rows {
            sqlx::query(
                "INSERT INTO audit_events (id, at, activity, actor, result, ip) VALUES ($1, $2, $3, 'x', 'success', '')",
            )
            .bind(id)
            .bind(at)
            .bind(activity)
            .execute(h.state.store.pool())
            .await
            .unwrap();
        }
        let deleted = sspr_server::insights::retention::apply(&h.state)
            .await
            .unwrap();
        assert_eq!((deleted.expired, deleted.progress), (1, 1), "{url:?}");
        let mut left: Vec<String> = sqlx::query_scalar("SELECT id FROM audit_events")
            .fetch_all(h.state.store.pool())
            .await
            .unwrap();
        left.retain(|id| rows.iter().any(|r| r.0 == id));
        left.sort();
        let mut kept: Vec<String> = rows
            .iter()
            .filter(|r| r.3)
            .map(|r| r.0.to_string())
            .collect();
        kept.sort();
        assert_eq!(left, kept, "{url:?}");
        // A second run finds nothing more to do.
        let again = sspr_server::insights::retention::apply(&h.state)
            .await
            .unwrap();
        assert_eq!((again.expired, again.progress), (0, 0));
    }
}

// The helpdesk's commands, run as processes on the harness's store (its
// clock set to now, as theirs is).

fn cli_config(h: &Harness, extra: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let key = h.dir.path().join("cli.key");
    // The harness seals with the master key [7; 32]: the same, as hex.
    std::fs::write(&key, "07".repeat(32)).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = h.dir.path().join("cli.toml");
    std::fs::write(
        &path,
        format!(
            "[store]\nurl = \"{}\"\n[secrets]\nkey_file = \"{}\"\n[delivery]\noutbox_dir = \"{}\"\n{extra}",
            h.store_url,
            key.display(),
            h.outbox_dir().display()
        ),
    )
    .unwrap();
    path
}

fn sspr(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sspr"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("SSPR_LOG")
        .env_remove("SUDO_USER")
        .env("USER", "ops-login")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A harness whose clock starts ten minutes before now, so what the test
/// does (moving its clock on) is not yet in the future for a command.
async fn harness_now(store_url: Option<String>, config: &str) -> Harness {
    harness_setup(Setup {
        config,
        store_url,
        start: SystemClock.now() - 600,
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn sspr_report_usage_agrees_with_the_api_on_every_backend() {
    for url in backends().await {
        let h = harness_now(url.clone(), "").await;
        reset_alice(&h, "Juniper-Canyon-Oboe-61").await;
        wrong_codes(&h, "bob", 5).await;
        wrong_codes(&h, "nobody", 2).await;
        let carol = admin_session(&h).await;
        let config = cli_config(&h, "");
        let mut tries = 0;
        loop {
            let (s, api) = get_json(&h, &carol, "/api/insights?days=30").await;
            assert_eq!(s, StatusCode::OK);
            let (code, out, err) = sspr(
                &config,
                &["report", "usage", "--since", "30d", "--format", "json"],
            );
            assert_eq!(code, 0, "{err}");
            let mut cli: Value = serde_json::from_str(&out).unwrap();
            let mut api = api;
            api["generated_at"] = Value::Null;
            cli["generated_at"] = Value::Null;
            tries += 1;
            // Run again if UTC midnight fell between the two.
            if api["activity"][29]["date"] != cli["activity"][29]["date"] && tries < 2 {
                continue;
            }
            assert_eq!(cli, api, "on {url:?}");
            assert_eq!(api["blocked_now"][0]["username"], "bob");
            assert_eq!(api["activity"][29]["resets"], 1);
            break;
        }
        let (code, table, _) = sspr(&config, &["report", "usage", "--since", "7d"]);
        assert_eq!(code, 0);
        assert!(
            table
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["in", "scope", "4"]),
            "{table}"
        );
        assert!(
            table.contains("Blocked from self-service reset now: 1\n  bob (Bob Brennan)"),
            "{table}"
        );
        let (code, csv, _) = sspr(
            &config,
            &["report", "usage", "--since", "2d", "--format", "csv"],
        );
        assert_eq!(code, 0);
        let rows = parse_csv(&csv);
        assert_eq!(
            (rows.len(), rows[0][0].as_str(), rows[2][1].as_str()),
            (3, "date", "1")
        );
        let (code, _, err) = sspr(&config, &["report", "usage", "--since", "91d"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("1d to 90d"), "{err}");
        // Each run is on record, under the login that ran it.
        let runs: Vec<String> = sqlx::query_scalar("SELECT actor FROM audit_events WHERE activity = $1 AND detail LIKE 'sspr report usage%'")
            .bind(sspr_server::insights::VIEWED)
            .fetch_all(h.state.store.pool())
            .await
            .unwrap();
        assert!(
            runs.len() >= 3 && runs.iter().all(|a| a == "ops-login"),
            "{runs:?}"
        );
    }
}

#[tokio::test]
async fn sspr_user_unblock_clears_the_block_under_every_name() {
    let h = harness_now(None, "").await;
    // Blocked through his address; the account is blocked under any name.
    wrong_codes(&h, "bob@example.com", 5).await;
    let carol = admin_session(&h).await;
    let (_, v) = get_json(&h, &carol, "/api/insights").await;
    assert_eq!(v["blocked_now"][0]["username"], "bob");
    // The name he was blocked through answers "blocked" at once.
    h.clock.advance(61);
    let flow = start(&h, "bob@example.com").await;
    choose(&h, &flow, "email").await;
    let (_, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": "12345678" }),
    )
    .await;
    assert_eq!(shown(&v)["step"], "blocked");

    let config = cli_config(&h, "");
    let (code, out, err) = sspr(
        &config,
        &["user", "unblock", "--user", "BOB", "--by", "anna"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("bob: cleared 2 self-service block(s)"),
        "{out}"
    );
    let (_, v) = get_json(&h, &carol, "/api/insights").await;
    assert_eq!(v["blocked_now"], json!([]));
    // The address he was blocked through works again, at once.
    h.clock.advance(61);
    let before = mails_to(&h, "bob@example.com").await;
    let flow = start(&h, "bob@example.com").await;
    choose(&h, &flow, "email").await;
    let code = next_code(&h, "bob@example.com", before).await;
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": code }),
    )
    .await;
    assert_eq!(
        (s, shown(&v)["step"].as_str()),
        (StatusCode::OK, Some("new_password")),
        "{v}"
    );
    let (who, target, detail): (String, String, String) =
        sqlx::query_as("SELECT actor, target, detail FROM audit_events WHERE activity = $1")
            .bind(sspr_server::admin::UNBLOCKED)
            .fetch_one(h.state.store.pool())
            .await
            .unwrap();
    assert_eq!((who.as_str(), target.as_str()), ("anna", "bob"));
    assert!(detail.starts_with("cleared 2 block(s)"), "{detail}");
    let (code, _, err) = sspr(&config, &["user", "unblock", "--user", "nobody"]);
    assert_ne!(code, 0);
    assert!(err.contains("no user matches"), "{err}");
}

/// How many mails went to `to` so far.
async fn mails_to(h: &Harness, to: &str) -> usize {
    outbox_lines(&h.outbox_dir(), "mail.jsonl", 0)
        .await
        .iter()
        .filter(|m| m["to"] == to)
        .count()
}

/// The code of the first mail to `to` after its first `before` ones,
/// waiting for it (delivery is off the request path).
async fn next_code(h: &Harness, to: &str, before: usize) -> String {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let mails: Vec<Value> = outbox_lines(&h.outbox_dir(), "mail.jsonl", 0)
            .await
            .into_iter()
            .filter(|m| m["to"] == to)
            .collect();
        if let Some(m) = mails.get(before) {
            return m["body"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .find(|w| w.len() == 8 && w.bytes().all(|b| b.is_ascii_digit()))
                .unwrap()
                .to_string();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no new mail to {to}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sspr_user_sessions_revoke_ends_every_session() {
    let h = harness_now(None, "").await;
    let one = signed_in(&h, BOB.0, BOB.1).await;
    let two = signed_in(&h, "bob@example.com", BOB.1).await;
    let alice = signed_in(&h, "alice", "Alice-demo-2026!").await;
    let config = cli_config(&h, "");
    let (code, out, err) = sspr(
        &config,
        &["user", "sessions", "revoke", "--user", "bob@example.com"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "bob: ended 2 session(s)");
    for c in [&one, &two] {
        let (_, v) = get_json(&h, c, "/api/session").await;
        assert_eq!(v, Value::Null);
    }
    let (_, v) = get_json(&h, &alice, "/api/session").await;
    assert_eq!(v["username"], "alice", "other users keep theirs");
    let (who, target): (String, String) =
        sqlx::query_as("SELECT actor, target FROM audit_events WHERE activity = $1")
            .bind(sspr_server::admin::SESSIONS_REVOKED)
            .fetch_one(h.state.store.pool())
            .await
            .unwrap();
    assert_eq!((who.as_str(), target.as_str()), ("ops-login", "bob"));
}

#[tokio::test]
async fn sspr_audit_export_holds_every_event_once_in_order() {
    let h = harness_now(None, "").await;
    reset_alice(&h, "Juniper-Canyon-Oboe-61").await;
    wrong_codes(&h, "bob", 2).await;
    wrong_codes(&h, "=cmd|' /C calc'!A0", 1).await;
    let _ = signed_in(&h, "dave", "Dave-demo-2026!").await;
    sspr_server::audit::record(
        &h.state,
        sspr_server::audit::Event {
            activity: "Test formula",
            actor: "=1+1",
            success: true,
            ip: "",
            ..Default::default()
        },
    )
    .await;
    // Several events in one second, so paging by time alone would not do.
    for i in 0..1200 {
        sspr_server::audit::record(
            &h.state,
            sspr_server::audit::Event {
                activity: "Bulk test event",
                actor: &format!("user{i}"),
                success: i % 2 == 0,
                ip: "192.0.2.7",
                ..Default::default()
            },
        )
        .await;
    }
    let mut made: Vec<String> = sqlx::query_scalar("SELECT id FROM audit_events")
        .fetch_all(h.state.store.pool())
        .await
        .unwrap();
    made.sort();
    let config = cli_config(&h, "");
    let (code, out, err) = sspr(&config, &["audit", "export", "--by", "anna"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut ids: Vec<String> = lines
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    let ats: Vec<i64> = lines.iter().map(|l| l["at"].as_i64().unwrap()).collect();
    assert!(ats.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    ids.sort();
    assert_eq!(ids, made, "every event, each once");
    assert!(
        lines
            .iter()
            .all(|l| l["time"].as_str().unwrap().ends_with('Z'))
    );
    assert!(!out.contains("Juniper-Canyon"));

    // CSV: the same events, formulas defused.
    let (code, csv, _) = sspr(
        &config,
        &["audit", "export", "--format", "csv", "--since", "1d"],
    );
    assert_eq!(code, 0);
    let rows = parse_csv(&csv);
    // The first export is on record now, so one more.
    assert_eq!(rows.len(), 1 + made.len() + 1);
    assert!(
        rows.iter()
            .flatten()
            .all(|c| !c.starts_with(['=', '+', '-', '@']))
    );
    assert!(rows.iter().any(|r| r[4] == "'=1+1"));
    // A range that ends before everything holds nothing.
    let (code, none, _) = sspr(&config, &["audit", "export", "--until", "2000-01-01"]);
    assert_eq!((code, none.as_str()), (0, ""));
    let (code, _, err) = sspr(&config, &["audit", "export", "--since", "last week"]);
    assert_eq!(code, 2);
    assert!(err.contains("--since"), "{err}");
    let exports: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor, detail FROM audit_events WHERE activity = $1 ORDER BY at, detail",
    )
    .bind(sspr_server::insights::EXPORTED)
    .fetch_all(h.state.store.pool())
    .await
    .unwrap();
    assert_eq!(exports.len(), 3, "{exports:?}");
    let whole = format!(
        "sspr audit export: {} event(s) from the first event",
        made.len()
    );
    assert!(
        exports
            .iter()
            .any(|(a, d)| a == "anna" && d.starts_with(&whole)),
        "{exports:?}"
    );
}
