//! Item 3, timing: no answer may tell a known account from an unknown one
//! by how long it takes. Known and unknown requests are interleaved (in a
//! shuffled order, so neither always follows the other) against one server
//! in one run, and their medians compared: within 1 ms over 50 tries at
//! identify, choose, resend and sign-in: the median of the differences of
//! each try's pair. A comparison within one run, not a deadline, so a slow
//! machine slows both sides alike.
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
    /// Prints both medians and the median of the paired differences (known
    /// minus unknown, try by try), and returns the latter: pairing cancels
    /// load that drifts over the run, as another process's would.
    fn report(&self) -> f64 {
        let (k, u) = (
            median_ms(self.known.clone()),
            median_ms(self.unknown.clone()),
        );
        let mut diffs: Vec<f64> = self
            .known
            .iter()
            .zip(&self.unknown)
            .map(|(a, b)| (a.as_secs_f64() - b.as_secs_f64()) * 1000.0)
            .collect();
        diffs.sort_by(f64::total_cmp);
        let paired = diffs[diffs.len() / 2];
        println!(
            "{:<28} known {k:8.3} ms   unknown {u:8.3} ms   medians apart {:+.3} ms   paired median {paired:+.3} ms",
            self.what,
            k - u
        );
        paired.abs()
    }
}

/// Times `TRIES` pairs, the known and the unknown request of each in the
/// shuffled order; `one(known, i)` does any setup and returns the time of
/// the request measured.
async fn measure<F, Fut>(what: &'static str, mut one: F) -> Gap
where
    F: FnMut(bool, usize) -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut g = Gap {
        what,
        known: vec![],
        unknown: vec![],
    };
    for i in 0..TRIES {
        let order = if known_first(i) {
            [true, false]
        } else {
            [false, true]
        };
        for known in order {
            let d = one(known, i).await;
            if known {
                g.known.push(d);
            } else {
                g.unknown.push(d);
            }
        }
    }
    g
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

    let (p, ghost) = (&portal, ghost.as_str());
    let name = |known: bool| if known { ALICE.0 } else { ghost };
    let mut gaps = Vec::new();

    // Identify (the pace follows the slowest recent look-up).
    gaps.push(
        measure("identify", |known, _| async move {
            let pow = p.pow(&[]).await.unwrap();
            let body = json!({ "identifier": name(known), "pow": pow });
            let (d, (s, _, _)) = time(p.post("/api/reset/start", &body)).await;
            assert_eq!(s, StatusCode::OK);
            d
        })
        .await,
    );

    // Choose: the code is stored the same way for both; only a task off the
    // request path looks for someone to send it to.
    gaps.push(
        measure("choose (send a code)", |known, _| async move {
            let f = p.start_flow(name(known)).await;
            let method = option_id(&f, "email").unwrap();
            let body = json!({ "flow": f["flow"], "method": method });
            let (d, (s, _, _)) = time(p.post("/api/reset/choose", &body)).await;
            assert_eq!(s, StatusCode::OK);
            d
        })
        .await,
    );

    // Resend inside the cooldown: refused alike.
    let mut pair = Vec::new();
    for known in [true, false] {
        let f = p.start_flow(name(known)).await;
        p.choose(&f, "email").await;
        pair.push(f);
    }
    let pair = &pair;
    gaps.push(
        measure("resend (cooldown)", |known, _| async move {
            let body = json!({ "flow": pair[usize::from(!known)]["flow"] });
            let (d, (s, v, _)) = time(p.post("/api/reset/resend", &body)).await;
            assert_eq!(
                (s, error_id(&v)),
                (StatusCode::TOO_MANY_REQUESTS, "reset.resend_too_soon")
            );
            d
        })
        .await,
    );

    // Sign-in with a wrong password: one argon2 either way, then the pace.
    // Distinct names keep clear of the lockout (10 per name).
    const KNOWN: [&str; 6] = [
        "alice",
        "alice@example.com",
        "bob",
        "bob@example.com",
        "carol",
        "carol@example.com",
    ];
    gaps.push(
        measure("sign-in (wrong password)", |known, i| async move {
            let user = if known {
                KNOWN[i % KNOWN.len()].to_string()
            } else {
                format!("ghost{}", i % KNOWN.len())
            };
            let body = json!({ "username": user, "password": format!("wrong-{i}") });
            let (d, (s, v, _)) = time(p.post("/api/session", &body)).await;
            assert_eq!(
                (s, error_id(&v)),
                (StatusCode::UNAUTHORIZED, "session.invalid_credentials")
            );
            d
        })
        .await,
    );

    let worst = gaps.iter().map(Gap::report).fold(0.0, f64::max);
    assert!(worst < MAX_GAP_MS, "a median gap of {worst:.3} ms");
}
