//! Delivery against real local servers: an HTTP SMS gateway on loopback.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use sspr_server::delivery::{HttpSms, Outgoing, Transport};
use sspr_server::secret::Secret;

type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A loopback SMS gateway that records what it is sent, answering `status`.
async fn gateway(status: StatusCode) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = Router::new().route(
        "/send",
        post(
            move |headers: HeaderMap, axum::Json(v): axum::Json<Value>| {
                let s = s.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .map(|h| h.to_str().unwrap().to_string());
                    s.lock().unwrap().push((auth, v));
                    status
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/send"), seen)
}

#[tokio::test]
async fn texts_reach_the_http_gateway_with_the_bearer_token() {
    let (url, seen) = gateway(StatusCode::ACCEPTED).await;
    let sms = HttpSms::new(&url, Some(Secret::new("gw-token"))).unwrap();
    sms.deliver(
        &Outgoing::Sms {
            to: "+15550100002".into(),
            body: "12345678 is your code".into(),
        },
        "row-1",
    )
    .await
    .unwrap();
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.as_deref(), Some("Bearer gw-token"));
    assert_eq!(
        got[0].1,
        serde_json::json!({ "to": "+15550100002", "message": "12345678 is your code" })
    );
}

#[tokio::test]
async fn a_refusing_or_absent_gateway_is_an_error_not_a_silent_success() {
    let (url, _) = gateway(StatusCode::INTERNAL_SERVER_ERROR).await;
    let e = HttpSms::new(&url, None)
        .unwrap()
        .deliver(
            &Outgoing::Sms {
                to: "+1".into(),
                body: "x".into(),
            },
            "row-1",
        )
        .await;
    assert_eq!(
        e.unwrap_err(),
        "SMS gateway answered 500 Internal Server Error"
    );

    let dead = HttpSms::new("http://127.0.0.1:9/send", None).unwrap();
    assert!(
        dead.deliver(
            &Outgoing::Sms {
                to: "+1".into(),
                body: "x".into()
            },
            "row-1"
        )
        .await
        .unwrap_err()
        .starts_with("SMS gateway unreachable")
    );
}
