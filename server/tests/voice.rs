//! Voice calls: the gateway's payload, a mobile phone's "Call me" twin at
//! reset (for real accounts and decoys alike), the send limits a call shares
//! with texts, and an office phone registered and proven by a call.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::*;
use serde_json::{Value, json};
use sspr_server::config::Config;
use sspr_server::delivery::{HttpVoice, Outgoing, Transport};
use sspr_server::secret::Secret;

const VOICE: &str = "[delivery]\nvoice = \"outbox\"\n";
const OFFICE: &str = "[delivery]\nvoice = \"outbox\"\n\
    [policy]\nmethods_available = [\"authenticator\", \"email\", \"sms\", \"office_phone\"]\n";
const DAVE: (&str, &str) = ("dave", "Dave-demo-2026!");

type Seen = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

/// A loopback voice gateway that records each request.
async fn gateway() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = Router::new().route(
        "/calls",
        post(
            move |headers: HeaderMap, axum::Json(v): axum::Json<Value>| {
                let s = s.clone();
                async move {
                    s.lock().unwrap().push((headers, v));
                    StatusCode::ACCEPTED
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/calls"), seen)
}

/// The 8-digit code a call reads, digit by digit.
fn spoken_code(text: &str) -> String {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    // The code is read twice; any other digit (minutes) follows it.
    digits[..8].to_string()
}

/// The options a choose step shows: (kind, masked, call).
fn options(view: &Value) -> Vec<(String, String, bool)> {
    shown(view)["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_string(),
                m["masked"].as_str().unwrap().to_string(),
                m["call"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn option_id(view: &Value, kind: &str, call: bool) -> String {
    shown(view)["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == kind && m["call"].as_bool().unwrap_or(false) == call)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn pick(h: &Harness, flow: &Value, id: &str) -> Value {
    let (s, v) = step(
        h,
        "/api/reset/choose",
        json!({ "flow": flow["flow"], "method": id }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn lines(dir: &Path, file: &str, at_least: usize) -> Vec<Value> {
    outbox_lines(dir, file, at_least).await
}

#[tokio::test]
async fn a_call_reaches_the_gateway_with_number_text_locale_and_idempotency_key() {
    let (url, seen) = gateway().await;
    let voice = HttpVoice::new(&url, Some(Secret::new("voice-token"))).unwrap();
    let call = Outgoing::Call {
        to: "+442079460018".into(),
        text: "Hier ist Contoso. 1, 2, 3".into(),
        locale: "de".into(),
    };
    voice.deliver(&call, "row-7").await.unwrap();
    // A retry of the same row carries the same key.
    voice.deliver(&call, "row-7").await.unwrap();
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    for (headers, body) in &got {
        assert_eq!(headers["authorization"], "Bearer voice-token");
        assert_eq!(headers["idempotency-key"], "row-7");
        assert_eq!(
            body,
            &json!({
                "to": "+442079460018",
                "text": "Hier ist Contoso. 1, 2, 3",
                "locale": "de",
                "idempotency_key": "row-7",
            })
        );
    }
    // Texts and mail never go to the voice gateway.
    let text = Outgoing::Sms {
        to: "+15550100002".into(),
        body: "x".into(),
    };
    assert!(voice.deliver(&text, "row-8").await.is_err());
}

#[test]
fn office_phones_need_voice_delivery_and_http_voice_needs_a_safe_url() {
    let load = |text: &str| Config::from_str_at(text, Path::new("/t/sspr.toml"), []);
    let e = load("[policy]\nmethods_available = [\"email\", \"office_phone\"]\n").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("policy.methods_available"));
    assert!(load(OFFICE).is_ok());
    let e = load("[delivery]\nvoice = \"http\"\n").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("delivery.voice_http_url"));
    let e = load("[delivery]\nvoice = \"http\"\nvoice_http_url = \"http://voice.example.com/c\"\n")
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("delivery.voice_http_url"));
    let c = load("[delivery]\nvoice = \"http\"\nvoice_http_url = \"https://voice.example.com/c\"\nvoice_http_token = \"t\"\n")
        .unwrap();
    assert_eq!(c.delivery.voice_http_token.unwrap().expose(), "t");
    // Unset, there are no calls, and office phones are not listed by default.
    let c = load("").unwrap();
    assert_eq!(c.delivery.voice, None);
    assert!(
        !c.policy
            .methods_available
            .iter()
            .any(|k| k.as_str() == "office_phone")
    );
}

#[tokio::test]
async fn a_mobile_is_offered_a_text_and_a_call_and_the_call_reads_the_code() {
    // Without voice delivery: a text only, and nothing on the wire says "call".
    let h = harness(false).await;
    let flow = start(&h, "bob").await;
    assert_eq!(
        options(&flow),
        [
            ("email".into(), "b***@e***.com".into(), false),
            ("sms".into(), "+*** *** **02".into(), false)
        ]
    );
    assert!(!flow.to_string().contains("call"));

    let h = harness_with(false, VOICE).await;
    let flow = start(&h, "bob").await;
    assert_eq!(
        options(&flow),
        [
            ("email".into(), "b***@e***.com".into(), false),
            ("sms".into(), "+*** *** **02".into(), false),
            ("sms".into(), "+*** *** **02".into(), true)
        ]
    );
    let v = pick(&h, &flow, &option_id(&flow, "sms", true)).await;
    assert_eq!(shown(&v)["step"], "enter_code");
    assert_eq!(shown(&v)["method"]["call"], true);
    let calls = lines(&h.outbox_dir(), "voice.jsonl", 1).await;
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call["to"], "+15550100002");
    assert_eq!(call["locale"], "en");
    assert!(
        call["idempotency_key"]
            .as_str()
            .is_some_and(|k| !k.is_empty())
    );
    let text = call["text"].as_str().unwrap();
    // Digits spaced, so a speech engine reads them one by one.
    assert!(
        text.split(|c: char| !c.is_ascii_digit())
            .all(|w| w.len() <= 1 || w == "5"),
        "{text}"
    );
    // Nothing was texted.
    assert!(lines(&h.outbox_dir(), "sms.jsonl", 0).await.is_empty());
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": spoken_code(text) }),
    )
    .await;
    assert_eq!(
        (s, shown(&v)["step"].as_str()),
        (StatusCode::OK, Some("new_password")),
        "{v}"
    );
}

#[tokio::test]
async fn a_decoy_phone_offers_exactly_what_a_real_phone_offers() {
    let h = harness_with(false, VOICE).await;
    let mut seen_phone = false;
    for i in 0..40 {
        let flow = start(&h, &format!("nobody{i}")).await;
        let opts = options(&flow);
        let texts: Vec<_> = opts.iter().filter(|o| o.0 == "sms" && !o.2).collect();
        let calls: Vec<_> = opts.iter().filter(|o| o.0 == "sms" && o.2).collect();
        // Each number is offered as a text and as a call, the call after it.
        assert_eq!(texts.len(), calls.len(), "{opts:?}");
        for t in &texts {
            let at = opts.iter().position(|o| o == *t).unwrap();
            assert_eq!(opts[at + 1], (t.0.clone(), t.1.clone(), true), "{opts:?}");
        }
        seen_phone |= !texts.is_empty();
    }
    assert!(seen_phone, "some decoy has a phone");
}

#[tokio::test]
async fn calls_and_texts_share_the_send_limit() {
    let h = harness_with(false, VOICE).await;
    // Ten codes in five minutes: the phone (text, call, text...) and the
    // email in turn, 31 s apart, so the number's 60 s cooldown never holds.
    let (mut texts, mut calls, mut mails) = (0, 0, 0);
    for i in 0..10 {
        let flow = start(&h, "bob").await;
        if i % 2 == 1 {
            pick(&h, &flow, &option_id(&flow, "email", false)).await;
            mails += 1;
        } else if i % 4 == 0 {
            pick(&h, &flow, &option_id(&flow, "sms", false)).await;
            texts += 1;
        } else {
            pick(&h, &flow, &option_id(&flow, "sms", true)).await;
            calls += 1;
        }
        // Each is sent before the next flow's code would supersede it.
        assert_eq!(
            lines(&h.outbox_dir(), "sms.jsonl", texts).await.len(),
            texts
        );
        assert_eq!(
            lines(&h.outbox_dir(), "voice.jsonl", calls).await.len(),
            calls
        );
        assert_eq!(
            lines(&h.outbox_dir(), "mail.jsonl", mails).await.len(),
            mails
        );
        h.clock.advance(31);
    }
    assert_eq!((texts, calls, mails), (3, 2, 5));
    // The eleventh, a call 62 s after the number's last code, is not made:
    // the account's cap counts calls, texts and mail alike.
    h.clock.advance(31);
    let flow = start(&h, "bob").await;
    pick(&h, &flow, &option_id(&flow, "sms", true)).await;
    let held = "code not sent: 10 codes in 10 minutes";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE detail = $1 AND method = 'sms'",
        )
        .bind(held)
        .fetch_one(h.state.store.pool())
        .await
        .unwrap();
        if n == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the eleventh code was not held"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(lines(&h.outbox_dir(), "voice.jsonl", 0).await.len(), calls);
}

#[tokio::test]
async fn an_office_phone_is_registered_by_a_call_and_proves_a_reset_by_one() {
    let h = harness_with(false, OFFICE).await;
    let c = signed_in(&h, DAVE.0, DAVE.1).await;
    let (s, v) = status_json(
        post_as(
            &h.app,
            &c,
            "/api/security-info/methods",
            &json!({ "kind": "office_phone", "phone": "020 7946 0018" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "phone");
    let (s, v) = status_json(
        post_as(
            &h.app,
            &c,
            "/api/security-info/methods",
            &json!({ "kind": "office_phone", "phone": "+44 20 7946 0018" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (tag, e) = untag(&v);
    assert_eq!(tag, "office_phone");
    assert_eq!(e["target"], "+442079460018");
    let calls = lines(&h.outbox_dir(), "voice.jsonl", 1).await;
    let text = calls[0]["text"].as_str().unwrap();
    assert_eq!(calls[0]["to"], "+442079460018");
    assert!(text.contains("add this phone"), "{text}");
    assert!(lines(&h.outbox_dir(), "sms.jsonl", 0).await.is_empty());
    let (s, v) = status_json(
        post_as(
            &h.app,
            &c,
            "/api/security-info/methods/confirm",
            &json!({ "enrollment": e["enrollment"], "code": spoken_code(text) }),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["methods"][0]["kind"], "office_phone");
    assert_eq!(v["methods"][0]["target"], "+442079460018");
    // Only one desk number.
    let (s, _) = status_json(
        post_as(
            &h.app,
            &c,
            "/api/security-info/methods",
            &json!({ "kind": "office_phone", "phone": "+44 20 7946 0019" }),
        )
        .await,
    )
    .await;
    assert_ne!(s, StatusCode::OK);
    // Nor the desk's number as a mobile: one phone would then pass two
    // gates (found by the outside attack, with an administrator).
    let (s, v) = status_json(
        post_as(
            &h.app,
            &c,
            "/api/security-info/methods",
            &json!({ "kind": "sms", "phone": "+44 20 7946 0018" }),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("phone")),
        "{v}"
    );
    // The user is told, as for a mobile.
    let notice = outbox_find(&h.outbox_dir(), "mail.jsonl", |m| {
        m["body"]
            .as_str()
            .is_some_and(|b| b.contains("An office phone number was added"))
    })
    .await;
    assert!(notice.is_some());

    // At reset: masked as a mobile, called, never texted.
    h.clock.advance(61);
    let flow = start(&h, "dave").await;
    let opts = options(&flow);
    assert!(
        opts.contains(&("office_phone".into(), "+*** *** **18".into(), true)),
        "{opts:?}"
    );
    assert_eq!(opts.iter().filter(|o| o.0 == "office_phone").count(), 1);
    let v = pick(&h, &flow, &option_id(&flow, "office_phone", true)).await;
    assert_eq!(shown(&v)["step"], "enter_code");
    let calls = lines(&h.outbox_dir(), "voice.jsonl", 2).await;
    let text = calls[1]["text"].as_str().unwrap();
    assert!(text.contains("password reset code"), "{text}");
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": spoken_code(text) }),
    )
    .await;
    assert_eq!(
        (s, shown(&v)["step"].as_str()),
        (StatusCode::OK, Some("new_password")),
        "{v}"
    );
}

/// The 8-digit code a text carries.
fn texted_code(body: &str) -> String {
    body.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 8)
        .unwrap()
        .to_string()
}

async fn add_phone(h: &Harness, cookie: &str, kind: &str, phone: &str) -> (StatusCode, Value) {
    status_json(
        post_as(
            &h.app,
            cookie,
            "/api/security-info/methods",
            &json!({ "kind": kind, "phone": phone }),
        )
        .await,
    )
    .await
}

/// Reset codes of `channel` the outbox holds for later (their number's
/// cooldown), waiting up to 5 s for one; `None` if `file` got a line
/// beyond `sent` first (the code went at once).
async fn held_code(h: &Harness, channel: &str, file: &str, sent: usize) -> Option<i64> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let next_at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_at) FROM outbox WHERE kind = 'reset_code' AND channel = $1 AND next_at > $2",
        )
        .bind(channel)
        .bind(h.state.clock.now())
        .fetch_one(h.state.store.pool())
        .await
        .unwrap();
        if next_at.is_some() {
            return next_at;
        }
        if lines(&h.outbox_dir(), file, 0).await.len() > sent {
            return None;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the code neither went nor waited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Found by the outside attack: the 60 s cooldown was per account, so N
/// accounts that each typed one victim's number had it called N times a
/// minute. A number's cooldown now holds whatever account asked, for texts
/// and calls, mobiles and office phones alike.
#[tokio::test]
async fn a_number_gets_one_code_a_minute_whatever_account_asked() {
    let h = harness_with(false, OFFICE).await;
    let victim = "+15550100002"; // bob's mobile
    let alice = signed_in(&h, "alice", "Alice-demo-2026!").await;
    step_up(&h, &alice).await;
    let (s, v) = add_phone(&h, &alice, "sms", victim).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(lines(&h.outbox_dir(), "sms.jsonl", 1).await.len(), 1);

    // Another account in the same minute, as a text or as a desk phone: told
    // to wait, exactly as a second code from one account is told.
    let dave = signed_in(&h, DAVE.0, DAVE.1).await;
    for kind in ["sms", "office_phone"] {
        let (s, v) = add_phone(&h, &dave, kind, victim).await;
        assert_eq!(
            (s, v["error"]["id"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("reset.resend_too_soon")),
            "{kind}: {v}"
        );
        let retry = v["error"]["retry_after"].as_u64().unwrap();
        assert!((1..=60).contains(&retry), "{v}");
    }
    assert_eq!(lines(&h.outbox_dir(), "sms.jsonl", 0).await.len(), 1);
    assert!(lines(&h.outbox_dir(), "voice.jsonl", 0).await.is_empty());

    // A minute on, dave registers it (the person holds two accounts).
    h.clock.advance(61);
    let (s, v) = add_phone(&h, &dave, "sms", victim).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let texts = lines(&h.outbox_dir(), "sms.jsonl", 2).await;
    let (_, e) = untag(&v);
    let (s, v) = status_json(
        post_as(
            &h.app,
            &dave,
            "/api/security-info/methods/confirm",
            &json!({ "enrollment": e["enrollment"], "code": texted_code(texts[1]["body"].as_str().unwrap()) }),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Reset codes to the number: bob's call goes, and dave's text in the
    // same minute waits its turn, with an answer as ever.
    let flow = start(&h, "bob").await;
    pick(&h, &flow, &option_id(&flow, "sms", true)).await;
    assert_eq!(lines(&h.outbox_dir(), "voice.jsonl", 1).await.len(), 1);
    let flow = start(&h, "dave").await;
    let v = pick(&h, &flow, &option_id(&flow, "sms", false)).await;
    assert_eq!(shown(&v)["step"], "enter_code");
    let due = held_code(&h, "sms", "sms.jsonl", 2)
        .await
        .expect("dave's text waits for the number's minute");
    assert_eq!(due, h.state.clock.now() + 60);
    assert_eq!(lines(&h.outbox_dir(), "sms.jsonl", 0).await.len(), 2);
    // Its minute come, it goes, and it works.
    h.clock.advance(60);
    let texts = lines(&h.outbox_dir(), "sms.jsonl", 3).await;
    assert_eq!(texts.len(), 3);
    assert_eq!(texts[2]["to"], victim);
    let (s, v) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": texted_code(texts[2]["body"].as_str().unwrap()) }),
    )
    .await;
    assert_eq!(
        (s, shown(&v)["step"].as_str()),
        (StatusCode::OK, Some("new_password")),
        "{v}"
    );
}

/// Found by the second outside attack: the shared clock of a number also
/// held step-up codes, so an account that started registering someone's
/// number kept that person's own step-up by text answering 429, and a 429
/// on registering told when the owner had last stepped up. A step-up's
/// code goes to the account's own proven number and keeps the account's
/// clock.
#[tokio::test]
async fn registering_someone_s_number_never_holds_up_their_step_up() {
    let h = harness_with(false, OFFICE).await;
    let victim = "+15550100002"; // bob's mobile
    let alice = signed_in(&h, "alice", "Alice-demo-2026!").await;
    step_up(&h, &alice).await;
    let bob = signed_in(&h, "bob", "Bob-demo-2026!").await;
    let phone = method_of(&h, &bob, "sms").await;
    assert_eq!(phone["target"], victim);

    // Alice types bob's number; bob steps up by text within the minute.
    let (s, v) = add_phone(&h, &alice, "sms", victim).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = status_json(
        post_as(
            &h.app,
            &bob,
            "/api/session/stepup",
            &json!({ "method": phone["id"] }),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "bob's own step-up is not held up: {v}");
    let texts = lines(&h.outbox_dir(), "sms.jsonl", 2).await;
    assert_eq!(texts.len(), 2);
    assert!(texts.iter().all(|t| t["to"] == victim));

    // The other way round: bob steps up, then (a minute after alice's try)
    // dave types bob's number: no 429 says when bob last stepped up.
    h.clock.advance(61);
    let (s, v) = status_json(
        post_as(
            &h.app,
            &bob,
            "/api/session/stepup",
            &json!({ "method": phone["id"] }),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let dave = signed_in(&h, DAVE.0, DAVE.1).await;
    let (s, v) = add_phone(&h, &dave, "sms", victim).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Found by the outside attack: `{"kind":"sms","phone":12}` answered with
/// `field: "12"`, a value (it could be a code) as the field's name, in the
/// answer and the log.
#[tokio::test]
async fn a_phone_of_the_wrong_type_never_names_its_value_as_the_field() {
    let h = harness_with(false, OFFICE).await;
    let dave = signed_in(&h, DAVE.0, DAVE.1).await;
    for body in [
        json!({ "kind": "sms", "phone": 12 }),
        json!({ "kind": "office_phone", "phone": 15550100042_u64 }),
        json!({ "kind": "sms", "phone": ["+15550100042"] }),
        json!({ "kind": "fax4711" }),
    ] {
        let (s, v) =
            status_json(post_as(&h.app, &dave, "/api/security-info/methods", &body).await).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["error"]["id"], "request.invalid_field", "{body}: {v}");
        let field = &v["error"]["field"];
        assert!(
            field.is_null() || field == "phone" || field == "kind",
            "{body}: {v}"
        );
        let text = v.to_string();
        assert!(
            !text.contains("12") && !text.contains("15550100042") && !text.contains("4711"),
            "{body}: {text}"
        );
    }
    // A key the request has no room for is still named.
    let (_, v) = status_json(
        post_as(
            &h.app,
            &dave,
            "/api/security-info/methods",
            &json!({ "kind": "sms", "phone": "+15550100042", "extra": 1 }),
        )
        .await,
    )
    .await;
    assert_eq!(v["error"]["field"], "extra", "{v}");
}

/// Found by the outside attack: a code read to a mobile by a call was
/// audited as the method `sms` and nothing else. Its record keeps the kind
/// (proofs are counted by it) and says the channel, as the events page
/// shows it.
#[tokio::test]
async fn a_call_to_a_mobile_is_audited_as_a_call() {
    let h = harness_with(false, VOICE).await;
    let flow = start(&h, "bob").await;
    pick(&h, &flow, &option_id(&flow, "sms", true)).await;
    h.clock.advance(61);
    let flow = start(&h, "bob").await;
    pick(&h, &flow, &option_id(&flow, "sms", false)).await;

    let carol = signed_in(&h, "carol", "Carol-admin-2026!").await;
    step_up(&h, &carol).await;
    let carol_totp = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";
    step_up_with(&h, &carol, "authenticator", &totp_now(&h, carol_totp)).await;
    let (s, page) =
        status_json(get_as(&h.app, &carol, "/api/insights/events?user=bob").await).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let chosen: Vec<(String, String)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("method chosen"))
        })
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_string(),
                e["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Newest first: the text, then the call.
    assert_eq!(chosen.len(), 2, "{chosen:?}");
    assert_eq!(chosen[0], ("sms".into(), "method chosen".into()));
    assert_eq!(chosen[1].0, "sms");
    assert!(chosen[1].1.contains("voice call"), "{chosen:?}");
}
