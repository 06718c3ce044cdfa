//! `/api/ready`: each part checked, nothing internal shown, one check per
//! few seconds whatever the rate, and a real SMTP relay (aiosmtpd) going
//! down and coming back.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::*;
use sspr_server::config::{DeliveryConfig, SmtpTls};
use sspr_server::delivery::{DevOutbox, Smtp, Transport};
use sspr_server::outbox::{Outbox, Policy};

fn checks(v: &serde_json::Value) -> Vec<(String, bool)> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["ok"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn aiosmtpd_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    common::slapd::can_run(
        found,
        "SSPR_REQUIRE_SMTPD",
        "python3 aiosmtpd is not installed",
    )
}

/// A real SMTP server on `port`, up when this returns.
fn aiosmtpd(port: u16) -> Child {
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[tokio::test]
async fn readiness_checks_each_part_and_follows_the_mail_relay() {
    let mut h = harness(false).await;
    // The dev outbox carries both: store, directory and mail are checked.
    let (s, v) = status_json(get(&h.app, "/api/ready").await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "ready");
    assert_eq!(
        checks(&v),
        [
            ("store".into(), true),
            ("directory".into(), true),
            ("mail".into(), true)
        ]
    );
    // Liveness stays the cheap one.
    assert_eq!(get(&h.app, "/api/health").await.status(), StatusCode::OK);

    if !aiosmtpd_available() {
        return;
    }
    // Mail through a relay that is down.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = DeliveryConfig {
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        smtp_tls: SmtpTls::None,
        ..DeliveryConfig::default()
    };
    let smtp: Arc<dyn Transport> = Arc::new(Smtp::new(&cfg).unwrap());
    let sms: Arc<dyn Transport> = Arc::new(DevOutbox {
        dir: h.outbox_dir(),
    });
    let mut state = h.state.clone();
    state.outbox = Outbox::new(smtp, sms, Policy::from(&cfg));
    state.ready = Default::default();
    h.app = sspr_server::app(state);

    let r = get(&h.app, "/api/ready").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = String::from_utf8(body_bytes(r).await).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["status"], "not_ready");
    assert_eq!(
        checks(&v),
        [
            ("store".into(), true),
            ("directory".into(), true),
            ("mail".into(), false),
            ("sms".into(), true)
        ]
    );
    for leak in ["127.0.0.1", &port.to_string(), "refused", "error"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }

    // The relay comes up. Within the cache's few seconds the answer is the
    // one already made (a flood of probes opens no connection); after, ready.
    let mut relay = aiosmtpd(port);
    let (s, _) = status_json(get(&h.app, "/api/ready").await).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "cached");
    h.clock.advance(sspr_server::ready::CACHE_SECS);
    let (s, v) = status_json(get(&h.app, "/api/ready").await).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("ready")),
        "{v}"
    );

    // And down again.
    relay.kill().unwrap();
    relay.wait().unwrap();
    h.clock.advance(sspr_server::ready::CACHE_SECS);
    let (s, v) = status_json(get(&h.app, "/api/ready").await).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
}
