//! Item 5 (medium): behind the reverse proxy the README recommends, everyone
//! shared one IP: the per-IP identify budget was the whole organisation's,
//! and one attacker spent it for everyone. Now the client is the right-most
//! untrusted hop of the forwarded header, when the peer is a trusted proxy;
//! the windows live in the store, shared by every node and kept across a
//! restart.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use sspr_security::*;

const XFF: &str = "x-forwarded-for";

fn behind_proxy(budget: u32) -> Options {
    Options {
        server: "trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]".into(),
        reset: format!("identify_per_ip = {budget}\n"),
        ..Options::default()
    }
}

async fn challenge(portal: &Portal, xff: &str) -> StatusCode {
    portal
        .post_with("/api/reset/challenge", &json!({}), &[(XFF, xff)])
        .await
        .0
}

#[tokio::test]
async fn each_client_behind_the_proxy_has_its_own_budget() {
    let mut portal = Portal::start(behind_proxy(3)).await;
    for _ in 0..3 {
        assert_eq!(challenge(&portal, "203.0.113.7").await, StatusCode::OK);
    }
    assert_eq!(
        challenge(&portal, "203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client of the same proxy is untouched.
    assert_eq!(challenge(&portal, "198.51.100.20").await, StatusCode::OK);
    // A client that writes the header itself cannot pick another address:
    // only the right-most hop the proxy added counts.
    assert_eq!(
        challenge(&portal, "198.51.100.99, 203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Trusted hops (a second proxy inside) are skipped.
    assert_eq!(
        challenge(&portal, "203.0.113.7, 10.1.2.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // IPv6 counts per /64: a client cannot walk its own subnet.
    for i in 0..3 {
        let ip = format!("2001:db8:1:2::{:x}", i + 1);
        assert_eq!(challenge(&portal, &ip).await, StatusCode::OK, "{ip}");
    }
    assert_eq!(
        challenge(&portal, "2001:db8:1:2:ffff::9").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(challenge(&portal, "2001:db8:1:3::1").await, StatusCode::OK);

    // The windows are in the store: a restart does not reset them...
    portal.restart(&behind_proxy(3));
    assert_eq!(
        challenge(&portal, "203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...and a second node on the same store counts against the same budget.
    let port2 = free_port();
    let text = std::fs::read_to_string(portal.dir.path().join("sspr.toml"))
        .unwrap()
        .replace(
            &format!("127.0.0.1:{}\"", portal.port),
            &format!("127.0.0.1:{port2}\""),
        );
    let dir2 = tempfile::tempdir().unwrap();
    let db = portal.dir.path().join("sspr.db");
    let key = portal.dir.path().join("sspr.key");
    let text = text
        .replace("sqlite://sspr.db", &format!("sqlite://{}", db.display()))
        .replace(
            "[delivery]",
            &format!("[secrets]\nkey_file = \"{}\"\n[delivery]", key.display()),
        );
    std::fs::write(dir2.path().join("sspr.toml"), text).unwrap();
    let second = Portal::start_in(dir2, port2, &Options::default());
    let (s, _, _) = second
        .post_with("/api/reset/challenge", &json!({}), &[(XFF, "203.0.113.7")])
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let (s, _, _) = second
        .post_with("/api/reset/challenge", &json!({}), &[(XFF, "192.0.2.50")])
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn without_trusted_proxies_the_header_is_ignored_and_audit_records_the_client() {
    // No proxies trusted: a forged header buys no new budget.
    let portal = Portal::start(Options {
        reset: "identify_per_ip = 2\n".into(),
        ..Options::default()
    })
    .await;
    assert_eq!(challenge(&portal, "1.1.1.1").await, StatusCode::OK);
    assert_eq!(challenge(&portal, "2.2.2.2").await, StatusCode::OK);
    assert_eq!(
        challenge(&portal, "3.3.3.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Behind a proxy, audit records name the client, not the proxy.
    let portal = Portal::start(behind_proxy(100)).await;
    let (s, _, _) = portal.identify(ALICE.0, &[(XFF, "203.0.113.44")]).await;
    assert_eq!(s, StatusCode::OK);
    let ips: Vec<String> = sqlx::query_scalar("SELECT DISTINCT ip FROM audit_events")
        .fetch_all(&portal.store().await)
        .await
        .unwrap();
    assert_eq!(ips, ["203.0.113.44"]);
}

#[tokio::test]
async fn rfc7239_forwarded_when_configured() {
    let portal = Portal::start(Options {
        server: "trusted_proxies = [\"127.0.0.1\"]\nforwarded_header = \"forwarded\"".into(),
        reset: "identify_per_ip = 1\n".into(),
        ..Options::default()
    })
    .await;
    let fwd = |v: &'static str| [("forwarded", v)];
    let go = |h: [(&'static str, &'static str); 1]| {
        let p = &portal;
        async move { p.post_with("/api/reset/challenge", &json!({}), &h).await.0 }
    };
    assert_eq!(
        go(fwd("for=\"[2001:db8:cafe::17]:4711\"")).await,
        StatusCode::OK
    );
    assert_eq!(
        go(fwd("for=\"[2001:db8:cafe::18]\"")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(go(fwd("for=192.0.2.60;proto=https")).await, StatusCode::OK);
    // A proxy that quotes a client-chosen Host into its element: a comma in
    // the quotes forges no hop, so the client is still 192.0.2.60, whose
    // budget is spent (the attack found 70 of 70 passing this way).
    for host in [
        "for=192.0.2.60;host=\"x, for=10.9.0.1\"",
        "for=192.0.2.60;host=\"x, for=10.9.0.2\"",
    ] {
        assert_eq!(go(fwd(host)).await, StatusCode::TOO_MANY_REQUESTS, "{host}");
    }
    // X-Forwarded-For is not read when Forwarded is the configured header.
    assert_eq!(
        challenge(&portal, "192.0.2.99").await,
        StatusCode::OK,
        "the peer's own first"
    );
    assert_eq!(
        challenge(&portal, "192.0.2.100").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}
