//! Prometheus metrics, as an intruder on the public port and as whoever can
//! reach the metrics port: `/metrics` answers only on `server.metrics_bind`;
//! the public listener has no such page; and the exposition holds nothing
//! anyone typed or was sent (names, addresses, codes, flow ids, paths),
//! only label values from closed sets.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use sspr_security::*;

/// Every `name{labels}` of the exposition, without the sample values (so a
/// float's digits are never mistaken for a code), and the values parsed.
fn split_exposition(text: &str) -> (String, Vec<f64>) {
    let mut keys = String::new();
    let mut values = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            keys.push_str(line);
        } else {
            let (key, value) = line.rsplit_once(' ').unwrap();
            keys.push_str(key);
            values.push(
                value
                    .parse()
                    .unwrap_or_else(|_| panic!("not a number: {line}")),
            );
        }
        keys.push('\n');
    }
    (keys, values)
}

/// Each label of each sample as (name, value).
fn labels(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((_, rest)) = line.split_once('{') else {
            continue;
        };
        let (inner, _) = rest.rsplit_once('}').unwrap();
        for pair in inner.split("\",").filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once("=\"").unwrap();
            out.push((k.to_string(), v.trim_end_matches('"').to_string()));
        }
    }
    out
}

/// Whether a label value is one the code can produce.
fn bounded(name: &str, value: &str) -> bool {
    let one_of = |set: &[&str]| set.contains(&value);
    match name {
        "outcome" => one_of(&["password_reset", "unlocked"]),
        "result" => one_of(&["success", "failure"]),
        "channel" => one_of(&["mail", "sms", "voice", "other"]),
        "status_class" => one_of(&["2xx", "3xx", "4xx", "5xx", "other"]),
        // A method kind by its wire name (every kind, so a new one cannot
        // drift from this list), or an HTTP method.
        "method" => {
            serde_json::from_value::<sspr_proto::reset::MethodKind>(serde_json::json!(value))
                .is_ok()
                || one_of(&[
                    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other",
                ])
        }
        "op" => one_of(&[
            "find_user",
            "user_by_id",
            "ready",
            "administrators",
            "verify_password",
            "burn",
            "set_password",
            "change_password",
            "groups_of",
            "unlock",
            "password_rules",
            "list_users",
        ]),
        "kind" => one_of(&["resets", "blocks", "other"]),
        // The router's own patterns: the API's routes, /theme.json and /branding/{file}.
        "route" => {
            value == "other"
                || value == "/theme.json"
                || value == "/branding/{file}"
                || (value.starts_with("/api/")
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b"/-.".contains(&b)))
        }
        "le" => value == "+Inf" || value.parse::<f64>().is_ok(),
        "version" => value.bytes().all(|b| b.is_ascii_digit() || b == b'.'),
        _ => false,
    }
}

#[tokio::test]
async fn metrics_answer_on_their_own_port_only_and_hold_nothing_typed() {
    let metrics_port = free_port();
    let portal = Portal::start(Options {
        server: format!("metrics_bind = \"127.0.0.1:{metrics_port}\"\n"),
        ..Options::default()
    })
    .await;
    let metrics_url = format!("http://127.0.0.1:{metrics_port}");
    let scrape = || async {
        let r = portal
            .client()
            .get(format!("{metrics_url}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text"),
            "{:?}",
            r.headers()
        );
        r.text().await.unwrap()
    };
    let before = scrape().await;
    assert!(before.contains("sspr_build_info{version=\""), "{before}");

    // The public port has no metrics, under any spelling.
    for path in [
        "/metrics",
        "/api/metrics",
        "/metrics/",
        "/METRICS",
        "/metrics?format=prometheus",
    ] {
        let (s, body, h) = portal.get(path, &[]).await;
        let body = String::from_utf8_lossy(&body);
        assert!(
            !body.contains("sspr_") && !body.contains("# TYPE"),
            "{path} on the public port: {s}\n{body}"
        );
        let ct = h
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        assert!(
            !ct.unwrap_or_default().contains("openmetrics"),
            "{path} on the public port"
        );
    }
    // And the metrics port serves nothing of the portal.
    for path in ["/", "/api/health", "/reset", "/theme.json", "/metrics/x"] {
        let r = portal
            .client()
            .get(format!("{metrics_url}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "{path} on the metrics port"
        );
    }

    // What an intruder and a user type, and what they are sent.
    let marker = "zq7-intruder-marker";
    let typed = format!("{marker}@example.org");
    let pasted = "Tr0ub4dor&3-pasted";
    let decoy = portal.start_flow(&typed).await;
    portal.start_flow(pasted).await;
    // Whatever the decoy offers first (its shapes vary with the portal's key).
    let (kind, _) = options(&decoy).remove(0);
    portal.choose(&decoy, &kind).await;
    portal.verify(&decoy, "12345678").await;
    let flow = portal.start_flow(BOB.0).await;
    portal.choose(&flow, "email").await;
    let code = portal.mailed_code("bob@example.com", 0).await;
    let (s, _) = portal.verify(&flow, "00000000").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = portal.verify(&flow, &code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let new_password = "Quartz-Meadow-Violin-42";
    let (s, v, _) = portal
        .post(
            "/api/reset/password",
            &json!({ "flow": flow["flow"], "password": new_password }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let cookie = portal.sign_in(BOB.0, new_password).await.unwrap();
    // Paths, methods and queries of the intruder's making.
    for i in 0..20 {
        portal.get(&format!("/{marker}-{i}?q={marker}"), &[]).await;
        portal.get(&format!("/api/{marker}/{i}"), &[]).await;
        portal
            .get(&format!("/branding/{marker}-{i}.svg"), &[])
            .await;
        portal
            .client()
            .request(
                reqwest::Method::from_bytes(format!("ZQ{i}").as_bytes()).unwrap(),
                format!("{}/api/{marker}", portal.url),
            )
            .send()
            .await
            .unwrap();
    }

    let after = scrape().await;
    let (keys, values) = split_exposition(&after);
    assert!(values.iter().all(|v| v.is_finite() && *v >= 0.0));
    for secret in [
        marker,
        typed.as_str(),
        pasted,
        "bob",
        "example.com",
        "+1555",
        code.as_str(),
        flow["flow"].as_str().unwrap(),
        decoy["flow"].as_str().unwrap(),
        cookie.split('=').nth(1).unwrap(),
        new_password,
        "ZQ1",
    ] {
        assert!(!keys.contains(secret), "the exposition holds {secret:?}");
    }
    let seen = labels(&after);
    // The parse saw the labels, the intruder's requests among them, as `other`.
    for (name, value) in [
        ("route", "/api/reset/password"),
        ("route", "other"),
        ("method", "other"),
        ("op", "set_password"),
    ] {
        assert!(
            seen.contains(&(name.to_string(), value.to_string())),
            "{name}={value} in {seen:?}"
        );
    }
    for (name, value) in seen {
        assert!(
            bounded(&name, &value),
            "label {name}={value:?} is not from a closed set"
        );
    }
    // The reset it saw: one completion, one wrong and one right email proof
    // of bob's; the decoy's wrong proof is not a real account's.
    let count = |text: &str, series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    };
    for (series, moved) in [
        ("sspr_resets_started_total", 3.0),
        (
            "sspr_resets_completed_total{outcome=\"password_reset\"}",
            1.0,
        ),
        (
            "sspr_reset_proofs_total{method=\"email\",result=\"success\"}",
            1.0,
        ),
        (
            "sspr_reset_proofs_total{method=\"email\",result=\"failure\"}",
            1.0,
        ),
    ] {
        assert_eq!(
            count(&after, series) - count(&before, series),
            moved,
            "{series}"
        );
    }
}

#[tokio::test]
async fn metrics_bind_is_off_by_default_and_cannot_be_the_public_address() {
    // Off: no second listener, and nothing says metrics.
    let portal = Portal::start(Options::default()).await;
    assert!(!portal.log().contains("metrics"), "{}", portal.log());
    drop(portal);

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    write_config(
        dir.path(),
        port,
        &Options {
            server: format!("metrics_bind = \"127.0.0.1:{port}\"\n"),
            ..Options::default()
        },
    );
    let (code, err) = check_config(dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("field `server.metrics_bind`"), "{err}");
}
