//! The request log (issue 17): JSON lines when `server.log_format = "json"`,
//! each request named by the id it answers as `X-Request-Id`, the lines a
//! handler writes carrying that id, and no secret in any of it.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use sspr_security::*;

fn lines(log: &str) -> Vec<Value> {
    log.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The log lines of the request with this id.
fn of_request<'a>(log: &'a [Value], id: &str) -> Vec<&'a Value> {
    log.iter().filter(|l| l["span"]["id"] == id).collect()
}

#[tokio::test]
async fn json_lines_name_each_request_by_the_id_it_answers() {
    let portal = Portal::start(Options {
        server: "log_format = \"json\"\n".into(),
        env: vec![("SSPR_LOG".into(), "debug,sqlx=warn,hyper=warn".into())],
        ..Options::default()
    })
    .await;
    let (s, _, h) = portal.get("/api/health?lng=de", &[]).await;
    assert_eq!(s, 200);
    let health_id = h["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(health_id.len(), 16, "{health_id}");

    let wrong = "Wr0ng-Passw0rd-in-body!";
    let (s, _, h) = portal
        .post(
            "/api/session",
            &json!({ "username": ALICE.0, "password": wrong }),
        )
        .await;
    assert_eq!(s, 401);
    let signin_id = h["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(signin_id, health_id, "one id per request");
    let (_, _, h) = portal.get("/no/such/page", &[]).await;
    let page_id = h["x-request-id"].to_str().unwrap().to_string();

    // The log is written as the answer leaves: wait for the last request's line.
    let log = wait_until(|| {
        let log = lines(&portal.log());
        (of_request(&log, &page_id)
            .iter()
            .any(|l| l["message"] == "request"))
        .then_some(log)
    })
    .await;
    for l in &log {
        assert!(
            l["timestamp"].is_string() && l["level"].is_string() && l["message"].is_string(),
            "every line is one JSON event: {l}"
        );
    }
    let done = |id: &str| -> Value {
        (*of_request(&log, id)
            .iter()
            .find(|l| l["message"] == "request")
            .unwrap_or_else(|| panic!("no request line for {id}")))
        .clone()
    };
    let health = done(&health_id);
    assert_eq!(
        health["span"]["route"], "/api/health",
        "the route, no query: {health}"
    );
    assert_eq!(health["span"]["method"], "GET");
    assert_eq!(health["status"], 200);
    assert_eq!(health["client"], "127.0.0.1");
    assert!(health["ms"].as_f64().is_some(), "{health}");
    assert_eq!(done(&signin_id)["status"], 401);
    assert_eq!(done(&page_id)["span"]["route"], "/no/such/page");
    // What the handler itself logged (the refusal) carries its request's id.
    let refusal = of_request(&log, &signin_id)
        .into_iter()
        .find(|l| l["message"] == "request refused");
    assert!(
        refusal.is_some(),
        "the handler's own line is in the request's span: {log:?}"
    );

    let text = portal.log();
    for secret in [wrong, "lng=de"] {
        assert!(!text.contains(secret), "the log holds {secret:?}");
    }
}
