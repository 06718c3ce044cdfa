//! A fuzz pass over every JSON endpoint, against the real router: random
//! bytes, arbitrary JSON, and valid bodies mutated (a key dropped, a value of
//! another type, a huge or odd string, an extra key), with and without a
//! session, in the flow states a reset passes through. Over 10,000
//! requests, no answer may be a 5xx and nothing may panic (a panic would be
//! a 500, by the catch-panic layer).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Mutex;

use axum::body::Body;
use axum::http::{Method, Request, header};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

const CASES: u32 = 10_500;

const POSTS: &[&str] = &[
    "/api/session",
    "/api/session/reauth",
    "/api/session/stepup",
    "/api/session/stepup/verify",
    "/api/security-info/review",
    "/api/security-info/methods",
    "/api/security-info/methods/confirm",
    "/api/security-info/methods/remove",
    "/api/security-info/methods/default",
    "/api/security-info/recovery-codes",
    "/api/security-info/password",
    "/api/security-info/questions",
    "/api/reset/challenge",
    "/api/reset/start",
    "/api/reset/state",
    "/api/reset/choose",
    "/api/reset/resend",
    "/api/reset/back",
    "/api/reset/verify",
    "/api/reset/answers",
    "/api/reset/password",
    "/api/reset/unlock",
];

/// Keys the API knows, so generated objects often look nearly right.
const KEYS: &[&str] = &[
    "username",
    "password",
    "identifier",
    "pow",
    "id",
    "nonce",
    "flow",
    "method",
    "code",
    "answers",
    "question",
    "answer",
    "kind",
    "address",
    "phone",
    "enrollment",
    "current",
    "new",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
        "[0-9]{0,20}".prop_map(Value::String),
        (0usize..20_000).prop_map(|n| Value::String("x".repeat(n))),
        Just(Value::String("\u{0}\u{202e}\u{fffd}🔑 'or 1=1 --".into())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![prop::sample::select(KEYS).prop_map(String::from), ".{0,12}"],
                    inner
                ),
                0..8
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// What to do to a valid body.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    Drop(usize),
    Replace(usize, Value),
    Extra(String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::None),
        any::<usize>().prop_map(Mutation::Drop),
        (any::<usize>(), json_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        (".{0,12}", json_value()).prop_map(|(k, v)| Mutation::Extra(k, v)),
    ]
}

fn mutate(mut body: Value, m: &Mutation) -> Value {
    let Some(obj) = body.as_object_mut() else {
        return body;
    };
    let keys: Vec<String> = obj.keys().cloned().collect();
    match m {
        Mutation::None => {}
        Mutation::Drop(i) if !keys.is_empty() => {
            obj.remove(&keys[i % keys.len()]);
        }
        Mutation::Replace(i, v) if !keys.is_empty() => {
            obj.insert(keys[i % keys.len()].clone(), v.clone());
        }
        Mutation::Extra(k, v) => {
            obj.insert(k.clone(), v.clone());
        }
        _ => {}
    }
    body
}

#[derive(Debug, Clone)]
enum Payload {
    Bytes(Vec<u8>),
    Json(Value),
    Valid(Mutation),
}

#[derive(Debug, Clone)]
struct Case {
    endpoint: usize,
    method: u8,
    content_type: u8,
    who: u8,
    payload: Payload,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..POSTS.len(),
        0u8..20,
        0u8..20,
        0u8..3,
        prop_oneof![
            1 => prop::collection::vec(any::<u8>(), 0..256).prop_map(Payload::Bytes),
            2 => json_value().prop_map(Payload::Json),
            4 => mutation().prop_map(Payload::Valid),
        ],
    )
        .prop_map(|(endpoint, method, content_type, who, payload)| Case {
            endpoint,
            method,
            content_type,
            who,
            payload,
        })
}

/// Live ids the valid bodies use: flows at several steps, a method, cookies.
struct World {
    h: Harness,
    alice: String,
    dave: String,
    flows: Vec<Value>,
    method: String,
}

async fn world() -> World {
    let h = harness_with(
        false,
        // Lands in the harness's [reset] table, then opens [policy].
        "identify_per_ip = 1000000\nsteps_per_ip = 1000000\n\
         [policy]\nsecurity_questions = true\n",
    )
    .await;
    let alice = signed_in(&h, "alice", "Alice-demo-2026!").await;
    let view = step_up(&h, &alice).await;
    let method = view["methods"][0]["id"].as_str().unwrap().to_string();
    let dave = signed_in(&h, "dave", "Dave-demo-2026!").await;
    let mut flows = vec![start(&h, "bob").await, start(&h, "nobody").await];
    let f = start(&h, "carol").await;
    flows.push(choose(&h, &f, "email").await);
    flows.push(reset_to_new_password(&h, "alice").await);
    World {
        h,
        alice,
        dave,
        flows,
        method,
    }
}

fn valid(w: &World, path: &str, pow: &Value, n: usize) -> Value {
    let flow = w.flows[n % w.flows.len()]["flow"].clone();
    match path {
        "/api/session" => json!({ "username": "bob", "password": "Bob-demo-2026!" }),
        "/api/session/reauth" => json!({ "password": "Alice-demo-2026!" }),
        "/api/session/stepup"
        | "/api/security-info/methods/remove"
        | "/api/security-info/methods/default" => {
            json!({ "method": w.method })
        }
        "/api/session/stepup/verify" => json!({ "code": "12345678" }),
        "/api/security-info/methods" => json!({ "kind": "email", "address": "x@example.org" }),
        "/api/security-info/methods/confirm" => json!({ "enrollment": "00", "code": "123456" }),
        "/api/security-info/password" => {
            json!({ "current": "Alice-demo-2026!", "new": "Zebra-Quartz-Lantern-9" })
        }
        "/api/security-info/questions" => json!({ "answers": [
            { "question": "What was the name of your first pet?", "answer": "Rex" },
            { "question": "In what city were you born?", "answer": "Oslo" },
            { "question": "What was your childhood nickname?", "answer": "Ace" },
        ]}),
        "/api/reset/start" => json!({ "identifier": "bob", "pow": pow }),
        "/api/reset/choose" => json!({ "flow": flow, "method": "abcdef123456" }),
        "/api/reset/verify" => json!({ "flow": flow, "code": "12345678" }),
        "/api/reset/answers" => json!({ "flow": flow, "answers": ["a", "b", "c"] }),
        "/api/reset/password" => json!({ "flow": flow, "password": "Zebra-Quartz-Lantern-9" }),
        "/api/reset/challenge"
        | "/api/security-info/review"
        | "/api/security-info/recovery-codes" => json!({}),
        _ => json!({ "flow": flow }),
    }
}

#[test]
fn no_body_on_any_endpoint_gets_a_5xx_or_a_panic() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let w = rt.block_on(world());
    let pow = rt.block_on(solved_pow(&w.h));
    let seen = Mutex::new((0u32, std::collections::BTreeMap::<u16, u32>::new()));
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case(), |c| {
        let path = POSTS[c.endpoint];
        let method = match c.method {
            0 => Method::GET,
            1 => Method::PUT,
            2 => Method::DELETE,
            _ => Method::POST,
        };
        let content_type = match c.content_type {
            0 => "text/plain",
            1 => "application/json; charset=utf-16",
            2 => "multipart/form-data",
            _ => "application/json",
        };
        let body: Vec<u8> = match &c.payload {
            Payload::Bytes(b) => b.clone(),
            Payload::Json(v) => v.to_string().into_bytes(),
            Payload::Valid(m) => mutate(valid(&w, path, &pow, c.endpoint), m)
                .to_string()
                .into_bytes(),
        };
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::ORIGIN, PUBLIC_URL);
        match c.who {
            0 => req = req.header(header::COOKIE, &w.alice),
            1 => req = req.header(header::COOKIE, &w.dave),
            _ => {}
        }
        let status = rt
            .block_on(send(&w.h.app, req.body(Body::from(body)).unwrap()))
            .status();
        let mut s = seen.lock().unwrap();
        s.0 += 1;
        *s.1.entry(status.as_u16()).or_default() += 1;
        prop_assert!(status.as_u16() < 500, "{path} {c:?}: {status}");
        Ok(())
    });
    let (n, by_status) = seen.into_inner().unwrap();
    println!("{n} requests, answers by status: {by_status:?}");
    result.unwrap();
    assert!(n >= 10_000, "{n} requests");
}
