//! Prometheus metrics through the real router: a reset moves the reset
//! counters, proofs and blocks count real accounts only, every directory
//! call is timed, and request durations are labelled by route pattern so
//! no path a client makes up becomes a series.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::*;
use serde_json::json;

/// The value of one series (`name{labels}` exactly as exposed), 0 if absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

fn scrape(h: &Harness) -> String {
    h.state.metrics.encode().unwrap()
}

/// Every distinct `route="..."` label of the request histogram.
fn routes(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter(|l| l.starts_with("sspr_http_request_duration_seconds_count{"))
        .filter_map(|l| {
            let rest = l.split("route=\"").nth(1)?;
            Some(rest.split('"').next()?.to_string())
        })
        .collect()
}

const ALICE_TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const COMPLETED: &str = "sspr_resets_completed_total{outcome=\"password_reset\"}";
const TOTP_OK: &str = "sspr_reset_proofs_total{method=\"authenticator\",result=\"success\"}";
const TOTP_BAD: &str = "sspr_reset_proofs_total{method=\"authenticator\",result=\"failure\"}";

#[tokio::test]
async fn a_reset_through_the_api_moves_the_reset_counters() {
    let h = harness(false).await;
    let before = scrape(&h);
    assert_eq!(value(&before, "sspr_build_info{version=\"test\"}"), 1.0);
    // A wrong code first, then the whole reset.
    let flow = start(&h, "alice").await;
    choose(&h, &flow, "authenticator").await;
    let (s, _) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": "000000" }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let flow = reset_to_new_password(&h, "alice").await;
    let (s, v) = submit_password(&h, &flow["flow"], "Quartz-Meadow-Violin-42").await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let after = scrape(&h);
    let moved = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(moved("sspr_resets_started_total"), 2.0);
    assert_eq!(moved(TOTP_BAD), 1.0);
    assert_eq!(moved(TOTP_OK), 1.0);
    assert_eq!(moved(COMPLETED), 1.0);
    assert_eq!(
        moved("sspr_resets_completed_total{outcome=\"unlocked\"}"),
        0.0
    );
    assert_eq!(moved("sspr_resets_blocked_total"), 0.0);
    // The directory was asked, through the one instrumented wrapper; the
    // built-in directory's argon2 ran in the pool, which timed its waits.
    assert!(moved("sspr_directory_seconds_count{op=\"find_user\"}") >= 2.0);
    assert_eq!(
        moved("sspr_directory_seconds_count{op=\"set_password\"}"),
        1.0
    );
    assert_eq!(
        moved("sspr_directory_errors_total{op=\"set_password\"}"),
        0.0
    );
    assert!(moved("sspr_hash_wait_seconds_count") >= 1.0);
    // The requests themselves, by route pattern.
    assert_eq!(
        moved(
            "sspr_http_request_duration_seconds_count{route=\"/api/reset/password\",method=\"POST\",status_class=\"2xx\"}"
        ),
        1.0
    );
    assert_eq!(
        moved(
            "sspr_http_request_duration_seconds_count{route=\"/api/reset/verify\",method=\"POST\",status_class=\"4xx\"}"
        ),
        1.0
    );
    // Nothing typed shows.
    assert!(!after.contains("alice"), "{after}");
}

#[tokio::test]
async fn decoys_count_as_started_only_and_a_block_is_counted_once() {
    let h = harness(false).await;
    let before = scrape(&h);
    // A name that matches nobody: its flow starts like any other, and its
    // wrong proofs are not real accounts' failures.
    let decoy = start(&h, "nobody-here").await;
    let kinds = offered_kinds(&decoy);
    choose(&h, &decoy, &kinds[0]).await;
    let (s, _) = step(
        &h,
        "/api/reset/verify",
        json!({ "flow": decoy["flow"], "code": "00000000" }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let mid = scrape(&h);
    assert_eq!(
        value(&mid, "sspr_resets_started_total") - value(&before, "sspr_resets_started_total"),
        1.0
    );
    let failures = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("sspr_reset_proofs_total{"))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum::<f64>()
    };
    assert_eq!(failures(&mid), failures(&before), "a decoy's proof counted");
    assert!(!mid.contains("nobody"));

    // Five wrong codes for alice block her account: one block.
    for _ in 0..5 {
        let f = start(&h, "alice").await;
        choose(&h, &f, "authenticator").await;
        step(
            &h,
            "/api/reset/verify",
            json!({ "flow": f["flow"], "code": "000000" }),
        )
        .await;
    }
    // The right code, refused while blocked (unevaluated under the blocked
    // name, evaluated but refused under another), is no success and no new block.
    for name in ["alice", "alice@example.com"] {
        let f = start(&h, name).await;
        choose(&h, &f, "authenticator").await;
        let (_, v) = step(
            &h,
            "/api/reset/verify",
            json!({ "flow": f["flow"], "code": totp_now(&h, ALICE_TOTP) }),
        )
        .await;
        assert_eq!(shown(&v)["step"], "blocked", "{name}");
    }
    let after = scrape(&h);
    assert_eq!(value(&after, "sspr_resets_blocked_total"), 1.0);
    assert_eq!(value(&after, TOTP_BAD), 5.0);
    assert_eq!(value(&after, TOTP_OK), 0.0);
    assert_eq!(value(&after, COMPLETED), 0.0);
}

#[tokio::test]
async fn request_durations_are_labelled_by_route_pattern_and_unknown_paths_add_none() {
    let h = harness(true).await;
    let r = get(&h.app, "/branding/logo.svg").await;
    assert_eq!(r.status(), StatusCode::OK);
    get(&h.app, "/api/health").await;
    get(&h.app, "/reset").await;
    get(&h.app, "/api/no-such-thing").await;
    let first = scrape(&h);
    let known = routes(&first);
    for want in ["/branding/{file}", "/api/health", "other"] {
        assert!(known.contains(want), "{want} in {known:?}");
    }
    // An attacker's paths, methods and queries: no new series, no echo.
    for i in 0..40 {
        get(&h.app, &format!("/made-up-{i}/x?user=zed{i}")).await;
        get(&h.app, &format!("/api/made-up-{i}")).await;
        get(&h.app, &format!("/branding/made-up-{i}.svg")).await;
        send(
            &h.app,
            Request::builder()
                .method(Method::from_bytes(format!("X-MADE-UP-{i}").as_bytes()).unwrap())
                .uri(format!("/api/made-up-{i}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    }
    let second = scrape(&h);
    assert_eq!(
        routes(&second),
        known,
        "unknown paths made new route labels"
    );
    assert!(!second.contains("made-up") && !second.contains("MADE-UP") && !second.contains("zed"));
    let series = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("sspr_http_request_duration_seconds_count{"))
            .count()
    };
    // The new ones are at most the bounded kinds: 404s of the known
    // patterns, and `other` methods.
    assert!(series(&second) <= series(&first) + 4, "{second}");
}

#[tokio::test]
async fn metrics_have_their_own_router_and_the_public_one_has_none() {
    let h = harness(false).await;
    let metrics = sspr_server::metrics::router(h.state.metrics.clone());
    let r = get(&metrics, "/metrics").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        sspr_server::metrics::CONTENT_TYPE
    );
    let body = String::from_utf8(body_bytes(r).await).unwrap();
    assert!(
        body.contains("# TYPE sspr_resets_started counter"),
        "{body}"
    );
    assert!(body.ends_with("# EOF\n"));
    assert_eq!(get(&metrics, "/").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get(&metrics, "/api/health").await.status(),
        StatusCode::NOT_FOUND
    );

    // The public router: /metrics is the SPA's fallback, /api/metrics a JSON 404.
    for path in ["/metrics", "/api/metrics"] {
        let r = get(&h.app, path).await;
        let status = r.status();
        let body = String::from_utf8_lossy(&body_bytes(r).await).into_owned();
        assert!(!body.contains("sspr_"), "{path}: {status} {body}");
        if path == "/api/metrics" {
            assert_eq!(status, StatusCode::NOT_FOUND);
            assert!(body.contains("\"id\""), "{body}");
        }
    }
}
