//! The durable outbox under faults, against the release binary, a real SMTP
//! server (aiosmtpd) and SIGKILL: a relay that is down for two minutes, a
//! node killed with messages queued, and a code whose time ran out while it
//! waited. Mail goes over SMTP; texts stay in the dev outbox, so a reset can
//! be finished by SMS while the relay is down.
//!
//! The three scenes run at once: the first waits two real minutes.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sspr_security::*;

const NEW_PASSWORD: &str = "Quartz-Meadow-Violin-42";
const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

fn over_smtp(port: u16, env: Vec<(String, String)>) -> Options {
    Options {
        smtp_port: Some(port),
        env,
        ..Default::default()
    }
}

/// Resets `user`'s password with an SMS code (dev outbox); the user's
/// notice goes to the outbox's mail queue.
async fn reset_by_sms(portal: &Portal, user: &str) {
    let texts = portal.outbox("sms.jsonl").len();
    let flow = portal.start_flow(user).await;
    let (s, v) = portal.choose(&flow, "sms").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let text = portal
        .wait_for_message("sms.jsonl", texts, Duration::from_secs(10), |_| true)
        .await
        .expect("a text");
    let (s, v) = portal
        .verify(&flow, &code_in(text["body"].as_str().unwrap()))
        .await;
    assert_eq!((s, step(&v).0.as_str()), (StatusCode::OK, "new_password"));
    let (s, v, _) = portal
        .post(
            "/api/reset/password",
            &json!({ "flow": flow["flow"], "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["step"]["done"]["notified"], true);
}

/// Rows in the outbox: all of them, or those waiting after a failed try.
async fn queued(portal: &Portal, failed: bool) -> i64 {
    let pool = portal.store().await;
    let sql = if failed {
        "SELECT COUNT(*) FROM outbox WHERE last_error IS NOT NULL AND lease_until = 0"
    } else {
        "SELECT COUNT(*) FROM outbox"
    };
    let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

async fn delivery_failures(portal: &Portal) -> Vec<(String, String)> {
    let pool = portal.store().await;
    let rows = sqlx::query_as(
        "SELECT actor, detail FROM audit_events WHERE activity = 'Notification delivery failed'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows
}

/// Polls until `probe` holds, for at most `within`.
async fn until<F, Fut>(within: Duration, what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + within;
    while !probe().await {
        assert!(Instant::now() < end, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn subjects(mails: &[Value]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m["subject"].as_str().unwrap().to_string())
        .collect()
}

/// The relay is down when a reset completes and comes back two minutes
/// later: the notice arrives, once.
async fn relay_down_for_two_minutes() {
    let port = free_port();
    let portal = Portal::start(over_smtp(port, vec![])).await;
    reset_by_sms(&portal, BOB.0).await;
    let completed = Instant::now();
    until(Duration::from_secs(10), "a failed try", || async {
        queued(&portal, true).await == 1
    })
    .await;
    tokio::time::sleep_until((completed + Duration::from_secs(120)).into()).await;
    let relay = SmtpSink::start(port);
    // Tries at 0, 10, 30, 70 and 150 s: the fifth finds the relay.
    until(
        Duration::from_secs(180),
        "the notice after the outage",
        || async { queued(&portal, false).await == 0 },
    )
    .await;
    let mails = relay.mails_to("bob@example.com");
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        subjects(&mails)[0].contains("password was reset"),
        "{mails:?}"
    );
    assert!(delivery_failures(&portal).await.is_empty());
}

/// SIGKILL with a notice and a code queued: after the restart both are
/// delivered, once each, and the code still works.
async fn killed_with_messages_queued() {
    let port = free_port();
    let opts = over_smtp(port, vec![]);
    let mut portal = Portal::start(opts.clone()).await;
    reset_by_sms(&portal, BOB.0).await;
    let flow = portal.start_flow(ALICE.0).await;
    let (s, v) = portal.choose(&flow, "email").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    until(Duration::from_secs(10), "both tried and failed", || async {
        queued(&portal, true).await == 2
    })
    .await;
    portal.kill();
    let relay = SmtpSink::start(port);
    portal.restart(&opts);
    until(
        Duration::from_secs(60),
        "both sent after the restart",
        || async { queued(&portal, false).await == 0 },
    )
    .await;
    assert_eq!(relay.mails_to("bob@example.com").len(), 1);
    let codes = relay.mails_to("alice@example.com");
    assert_eq!(codes.len(), 1, "{codes:?}");
    let (s, v) = portal
        .verify(&flow, &code_in(codes[0]["body"].as_str().unwrap()))
        .await;
    assert_eq!((s, step(&v).0.as_str()), (StatusCode::OK, "new_password"));
    // Every mail carries its outbox row's id as its Message-ID: one each.
    assert_eq!(relay.mails().len(), 2);
}

/// A code waits in the outbox while the relay is down, and the node dies.
/// It comes back (and so does the relay) after the code's five minutes:
/// the code is never sent, the failure is audited, and mail queued since
/// goes out.
async fn an_expired_code_is_never_sent() {
    let port = free_port();
    let mut portal = Portal::start(over_smtp(port, vec![])).await;
    let flow = portal.start_flow(ALICE.0).await;
    portal.choose(&flow, "email").await;
    until(Duration::from_secs(10), "the code tried once", || async {
        queued(&portal, true).await == 1
    })
    .await;
    portal.kill();
    let relay = SmtpSink::start(port);
    // Six minutes on: libfaketime moves the restarted server's wall clock.
    let later = over_smtp(
        port,
        vec![
            ("LD_PRELOAD".into(), FAKETIME_LIB.into()),
            ("FAKETIME".into(), "+6m".into()),
            ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
        ],
    );
    portal.restart(&later);
    reset_by_sms(&portal, BOB.0).await;
    until(Duration::from_secs(30), "the queue drained", || async {
        queued(&portal, false).await == 0
    })
    .await;
    assert_eq!(relay.mails_to("bob@example.com").len(), 1);
    assert!(
        relay.mails_to("alice@example.com").is_empty(),
        "an expired code was sent: {:?}",
        relay.mails()
    );
    let failures = delivery_failures(&portal).await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].1.contains("expired"), "{failures:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_loses_nothing_and_sends_nothing_late() {
    assert!(
        std::path::Path::new(FAKETIME_LIB).exists(),
        "Debian's faketime is needed (cargo xtask test installs it)"
    );
    tokio::join!(
        relay_down_for_two_minutes(),
        killed_with_messages_queued(),
        an_expired_code_is_never_sent(),
    );
}
