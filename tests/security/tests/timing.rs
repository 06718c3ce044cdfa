//! Item 3, timing: no answer may tell a known account from an unknown one
//! by how long it takes. Known and unknown requests are interleaved (in a
//! shuffled order, so neither always follows the other) against one server
//! in one run, and their medians compared: within 1 ms over 50 tries at
//! identify, choose, resend and sign-in. A ratio of medians in one run, not
//! a deadline, so a slow machine slows both sides alike.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::json;
use sspr_security::*;

const TRIES: usize = 50;
const MAX_GAP_MS: f64 = 1.0;

/// A fixed shuffle: which of the pair goes first in try `i`.
fn known_first(i: usize) -> bool {
    (i.wrapping_mul(2_654_435_761) >> 7) & 1 == 0
}

struct Gap {
    what: &'static str,
    known: Vec<Duration>,
    unknown: Vec<Duration>,
}

impl Gap {
    fn report(&self) -> f64 {
        let (k, u) = (
            median_ms(self.known.clone()),
            median_ms(self.unknown.clone()),
        );
        println!(
            "{:<28} known {k:8.3} ms   unknown {u:8.3} ms   gap {:+.3} ms",
            self.what,
            k - u
        );
        (k - u).abs()
    }
}

async fn time<F: std::future::Future>(f: F) -> (Duration, F::Output) {
    let t = Instant::now();
    let out = f.await;
    (t.elapsed(), out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_and_unknown_accounts_take_the_same_time() {
    let portal = Portal::start(Options {
        reset: "identify_per_ip = 100000\nsteps_per_ip = 100000\n".into(),
        ..Options::default()
    })
    .await;
    // Warm up: connections, caches, the argon2 workers' memory.
    for _ in 0..5 {
        portal.start_flow(ALICE.0).await;
        let _ = portal.sign_in("warm-up", "x").await;
    }
    // "nobody0" and friends: decoys with an email, like alice.
    let mut ghost = String::new();
    for n in 0..50 {
        let name = format!("nobody{n}");
        if option_id(&portal.start_flow(&name).await, "email").is_some() {
            ghost = name;
            break;
        }
    }
    assert!(!ghost.is_empty());

    let mut gaps = Vec::new();

    // Identify (the pace follows the slowest recent look-up).
    let mut g = Gap {
        what: "identify",
        known: vec![],
        unknown: vec![],
    };
    for i in 0..TRIES {
        for known in if known_first(i) {
            [true, false]
        } else {
            [false, true]
        } {
            let name = if known { ALICE.0 } else { ghost.as_str() };
            let pow = portal.pow(&[]).await.unwrap();
            let body = json!({ "identifier": name, "pow": pow });
            let (d, (s, _, _)) = time(portal.post("/api/reset/start", &body)).await;
            assert_eq!(s, StatusCode::OK);
            if known {
                g.known.push(d)
            } else {
                g.unknown.push(d)
            }
        }
    }
    gaps.push(g);

    // Choose: the code is stored the same way for both; only a task off the
    // request path looks for someone to send it to.
    let mut g = Gap {
        what: "choose (send a code)",
        known: vec![],
        unknown: vec![],
    };
    for i in 0..TRIES {
        for known in if known_first(i) {
            [true, false]
        } else {
            [false, true]
        } {
            let f = portal
                .start_flow(if known { ALICE.0 } else { ghost.as_str() })
                .await;
            let method = option_id(&f, "email").unwrap();
            let body = json!({ "flow": f["flow"], "method": method });
            let (d, (s, _, _)) = time(portal.post("/api/reset/choose", &body)).await;
            assert_eq!(s, StatusCode::OK);
            if known {
                g.known.push(d)
            } else {
                g.unknown.push(d)
            }
        }
    }
    gaps.push(g);

    // Resend inside the cooldown: refused alike.
    let flows: Vec<_> = [ALICE.0, ghost.as_str()]
        .iter()
        .map(|n| n.to_string())
        .collect();
    let mut pair = Vec::new();
    for n in &flows {
        let f = portal.start_flow(n).await;
        portal.choose(&f, "email").await;
        pair.push(f);
    }
    let mut g = Gap {
        what: "resend (cooldown)",
        known: vec![],
        unknown: vec![],
    };
    for i in 0..TRIES {
        for known in if known_first(i) {
            [true, false]
        } else {
            [false, true]
        } {
            let f = &pair[usize::from(!known)];
            let body = json!({ "flow": f["flow"] });
            let (d, (s, v, _)) = time(portal.post("/api/reset/resend", &body)).await;
            assert_eq!(
                (s, error_id(&v)),
                (StatusCode::TOO_MANY_REQUESTS, "reset.resend_too_soon")
            );
            if known {
                g.known.push(d)
            } else {
                g.unknown.push(d)
            }
        }
    }
    gaps.push(g);

    // Sign-in with a wrong password: one argon2 either way, then the pace.
    // Distinct names keep clear of the lockout (10 per name).
    let mut g = Gap {
        what: "sign-in (wrong password)",
        known: vec![],
        unknown: vec![],
    };
    let known_names = [
        ALICE.0,
        "alice@example.com",
        BOB.0,
        "bob@example.com",
        CAROL.0,
        "carol@example.com",
    ];
    for i in 0..TRIES {
        for known in if known_first(i) {
            [true, false]
        } else {
            [false, true]
        } {
            let name = if known {
                known_names[i % known_names.len()].to_string()
            } else {
                format!("ghost{}", i % known_names.len())
            };
            let body = json!({ "username": name, "password": format!("wrong-{i}") });
            let (d, (s, v, _)) = time(portal.post("/api/session", &body)).await;
            assert_eq!(
                (s, error_id(&v)),
                (StatusCode::UNAUTHORIZED, "session.invalid_credentials")
            );
            if known {
                g.known.push(d)
            } else {
                g.unknown.push(d)
            }
        }
    }
    gaps.push(g);

    let worst = gaps.iter().map(Gap::report).fold(0.0, f64::max);
    assert!(worst < MAX_GAP_MS, "a median gap of {worst:.3} ms");
}
