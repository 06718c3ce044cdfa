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
