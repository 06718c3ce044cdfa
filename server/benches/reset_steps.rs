//! Latency of each reset step under a small concurrent load, in process
//! (`app()` driven with `oneshot`, SQLite store, dev outbox): handler + store
//! time, without the network. Prints median and p99 per step.
//!
//! `cargo bench -p sspr-server --bench reset_steps`
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use sspr_proto::reset::PowChallenge;
use sspr_server::directory::builtin::NewUser;
use sspr_server::secret::Secret;

const WORKERS: usize = 4;
const RESETS_PER_WORKER: usize = 25;

async fn call(h: &Harness, path: &str, body: Value) -> (Duration, Value) {
    let t = Instant::now();
    let r = post(&h.app, path, &body).await;
    let took = t.elapsed();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    (took, json(r).await)
}

async fn code_for(h: &Harness, to: &str) -> String {
    loop {
        let mails = outbox_lines(&h.outbox_dir(), "mail.jsonl", 1).await;
        if let Some(m) = mails
            .iter()
            .rev()
            .find(|m| m["to"] == to && m["subject"].as_str().unwrap().contains("code"))
        {
            let body = m["body"].as_str().unwrap();
            return body
                .split_whitespace()
                .find(|w| w.len() == 8 && w.bytes().all(|b| b.is_ascii_digit()))
                .unwrap()
                .into();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn report(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let pick = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name:<34} n={:<4} median {:>7.2} ms   p99 {:>7.2} ms",
        v.len(),
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // One client address for every request here: lift the per-IP budgets.
        let h = harness_with(false, "identify_per_ip = 100000\nsteps_per_ip = 100000\n").await;
        let users = WORKERS * RESETS_PER_WORKER;
        for i in 0..users {
            let u = h
                .builtin
                .create_user(NewUser {
                    username: format!("bench{i}"),
                    display_name: format!("Bench User {i}"),
                    email: Some(format!("bench{i}@example.com")),
                    mobile: None,
                    password: Secret::new("Bench-Start-Password-1"),
                    is_admin: false,
                })
                .await
                .unwrap();
            let target = format!("bench{i}@example.com");
            let m = sspr_server::methods::NewMethod {
                kind: sspr_proto::reset::MethodKind::Email,
                target: Some(&target),
                secret: None,
                used_step: None,
            };
            let mut tx = sspr_server::methods::begin_change(&h.state, &u, false)
                .await
                .unwrap();
            sspr_server::methods::add(&mut tx, &h.state, &u, m)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        let h = std::sync::Arc::new(h);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..WORKERS {
            let h = h.clone();
            tasks.push(tokio::spawn(async move {
                let mut t: [Vec<Duration>; 6] = Default::default();
                for r in 0..RESETS_PER_WORKER {
                    let user = format!("bench{}", w * RESETS_PER_WORKER + r);
                    let (d, ch) = call(&h, "/api/reset/challenge", json!({})).await;
                    t[0].push(d);
                    let ch: PowChallenge = serde_json::from_value(ch).unwrap();
                    let pow = json!({ "id": ch.id, "nonce": sspr_server::reset::pow::solve(&ch) });
                    let (d, flow) = call(&h, "/api/reset/start", json!({ "identifier": user, "pow": pow })).await;
                    t[1].push(d);
                    let method = flow["step"]["choose_method"]["methods"][0]["id"].clone();
                    let (d, _) = call(&h, "/api/reset/choose", json!({ "flow": flow["flow"], "method": method })).await;
                    t[2].push(d);
                    let code = code_for(&h, &format!("{user}@example.com")).await;
                    let (d, _) = call(&h, "/api/reset/verify", json!({ "flow": flow["flow"], "code": code })).await;
                    t[3].push(d);
                    let (d, _) =
                        call(&h, "/api/reset/password", json!({ "flow": flow["flow"], "password": "Tangerine-Vortex-Quill-88" })).await;
                    t[4].push(d);
                    // An identifier that matches nobody, for comparison with `start`.
                    let (_, ch) = call(&h, "/api/reset/challenge", json!({})).await;
                    let ch: PowChallenge = serde_json::from_value(ch).unwrap();
                    let pow = json!({ "id": ch.id, "nonce": sspr_server::reset::pow::solve(&ch) });
                    let (d, _) = call(&h, "/api/reset/start", json!({ "identifier": format!("ghost{w}-{r}"), "pow": pow })).await;
                    t[5].push(d);
                }
                t
            }));
        }
        let mut all: [Vec<Duration>; 6] = Default::default();
        for task in tasks {
            for (i, v) in task.await.unwrap().into_iter().enumerate() {
                all[i].extend(v);
            }
        }
        let wall = started.elapsed();
        println!("reset steps: {users} full resets, {WORKERS} concurrent clients, SQLite, in process, 2 worker threads");
        println!("round trips per reset (one gate): 5 (challenge, start, choose, verify, password)");
        for (name, v) in ["challenge", "start (identify_floor_ms = 0)", "choose (email, code queued)", "verify", "password (argon2id + notify)",
            "start, unknown identifier (floor 0)",
        ]
            .into_iter()
            .zip(all)
        {
            report(name, v);
        }
        println!("throughput: {:.1} full resets/s", users as f64 / wall.as_secs_f64());
    });
}
