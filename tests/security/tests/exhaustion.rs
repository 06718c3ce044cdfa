//! Items 6 and 7: making the portal exhaust memory or connections.
//!
//! - Each argon2 (19 MiB) ran unbounded: 256 concurrent sign-ins took 8.4 GB.
//!   Now one pool of workers with a bounded queue answers `503 server.busy`
//!   with Retry-After past it, and the rest of the portal keeps answering.
//!   (The memory figures are in `server/benches/signin_flood.rs`.)
//! - A request whose headers never finished stayed open past 41 s. Now
//!   headers, requests and idle connections time out, and connections are
//!   capped.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::json;
use sspr_security::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_in_flood_is_answered_busy_past_the_queue_and_health_stays_up() {
    let portal = Portal::start(Options {
        server: "hash_workers = 1\nhash_queue = 2".into(),
        reset: "steps_per_ip = 100000\n".into(),
        ..Options::default()
    })
    .await;
    let flood = portal.concurrently(
        48,
        "/api/session",
        |i| json!({ "username": format!("flood{i}"), "password": "x" }),
        None,
    );
    // Meanwhile the portal answers what needs no hashing.
    let (flood, (s, _, _)) = tokio::join!(flood, portal.get("/api/health", &[]));
    assert_eq!(s, StatusCode::OK);
    let mut busy = 0;
    let mut refused = 0;
    for (s, body, retry) in flood {
        match s {
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(error_id(&body), "server.busy");
                assert_eq!(retry.as_deref(), Some("1"));
                busy += 1;
            }
            StatusCode::UNAUTHORIZED => refused += 1,
            other => panic!("{other}: {body}"),
        }
    }
    assert!(busy > 0 && refused > 0, "busy {busy}, refused {refused}");
    assert!(refused <= 48 - busy);
    println!("48 concurrent sign-ins: {refused} checked, {busy} answered busy");
}

async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(
            limit.saturating_sub(started.elapsed()),
            stream.read(&mut buf),
        )
        .await
        {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn unfinished_headers_slow_bodies_and_idle_connections_are_closed() {
    let portal = Portal::start(Options {
        server: "header_timeout_secs = 1\nrequest_timeout_secs = 2\nidle_timeout_secs = 3".into(),
        ..Options::default()
    })
    .await;
    let addr = format!("127.0.0.1:{}", portal.port);
    // Slowloris: headers begun and never finished.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
        .await
        .unwrap();
    let took = closed_within(&mut s, Duration::from_secs(10)).await;
    assert!(
        took.is_some(),
        "a half-sent request is still open after 10 s"
    );
    println!("unfinished headers closed after {:?}", took.unwrap());

    // A body trickled in: the request times out with a typed 408.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nOrigin: {}\r\nContent-Length: 500\r\n\r\n{{",
        portal.url
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    while started.elapsed() < Duration::from_secs(10) {
        // One byte every 400 ms keeps the connection busy, never done.
        let _ = s.write_all(b" ").await;
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(400), s.read(&mut buf)).await
        {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"request.timeout\""), "{text}");

    // An idle keep-alive connection is closed too.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut s, Duration::from_secs(10))
            .await
            .is_some()
    );
}

#[tokio::test]
async fn connections_past_the_cap_are_closed_at_once() {
    let portal = Portal::start(Options {
        server: "connection_limit = 4\nheader_timeout_secs = 30\nidle_timeout_secs = 60".into(),
        ..Options::default()
    })
    .await;
    let addr = format!("127.0.0.1:{}", portal.port);
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0);
        held.push(s);
    }
    // The fifth is accepted and closed straight away, not left hanging.
    let mut fifth = TcpStream::connect(&addr).await.unwrap();
    let _ = fifth
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let took = closed_within(&mut fifth, Duration::from_secs(5)).await;
    assert!(took.is_some(), "a connection past the cap was left open");
    // Once one closes, a new one is served.
    drop(held.pop());
    let mut served = false;
    for _ in 0..100 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let _ = s
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let mut buf = [0u8; 64];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await
            && buf[..n].starts_with(b"HTTP/1.1 200")
        {
            served = true;
            break;
        }
    }
    assert!(served, "a freed slot was never reused");
}

#[tokio::test]
async fn silent_sockets_are_closed_and_capped_per_client() {
    let portal = Portal::start(Options {
        server: "header_timeout_secs = 1\nidle_timeout_secs = 60\nconnection_limit_per_client = 8"
            .into(),
        ..Options::default()
    })
    .await;
    let addr = format!("127.0.0.1:{}", portal.port);
    // A socket that never sends a byte is closed at the header timeout,
    // not left for the idle one.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let took = closed_within(&mut silent, Duration::from_secs(10)).await;
    assert!(took.is_some_and(|t| t < Duration::from_secs(5)), "{took:?}");
    // One client may hold 8; the 9th is closed at once.
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(&addr).await.unwrap());
    }
    let mut ninth = TcpStream::connect(&addr).await.unwrap();
    let took = closed_within(&mut ninth, Duration::from_secs(5)).await;
    assert!(
        took.is_some_and(|t| t < Duration::from_millis(900)),
        "{took:?}"
    );
    // They all go at the header timeout, and the client is served again.
    for s in &mut held {
        assert!(closed_within(s, Duration::from_secs(10)).await.is_some());
    }
    let (s, _, _) = portal.get("/api/health", &[]).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn http2_in_clear_is_not_spoken_and_its_preface_is_closed() {
    let portal = Portal::start(Options {
        server: "header_timeout_secs = 1\nidle_timeout_secs = 60".into(),
        ..Options::default()
    })
    .await;
    let mut s = TcpStream::connect(("127.0.0.1", portal.port))
        .await
        .unwrap();
    // An h2c prior-knowledge preface and an empty SETTINGS frame.
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let took = closed_within(&mut s, Duration::from_secs(10)).await;
    assert!(took.is_some_and(|t| t < Duration::from_secs(5)), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crowd_of_right_passwords_is_told_busy_not_locked() {
    let portal = Portal::start(Options {
        server: "hash_queue = 1000".into(),
        reset: "steps_per_ip = 100000\n".into(),
        ..Options::default()
    })
    .await;
    let crowd = portal
        .concurrently(
            30,
            "/api/session",
            |_| json!({ "username": "dave", "password": DAVE.1 }),
            None,
        )
        .await;
    for (s, v, _) in crowd {
        assert!(
            s == StatusCode::OK
                || (s == StatusCode::SERVICE_UNAVAILABLE && error_id(&v) == "server.busy"),
            "{s} {v}"
        );
    }
}
