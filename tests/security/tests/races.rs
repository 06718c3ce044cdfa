//! Item 4 (medium): the failure limit was not atomic, and a double submit
//! blocked the user. Twenty copies of the right code raced: one won, the
//! nineteen losers counted as failed proofs, and bob was blocked for 24 h.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use sspr_security::*;

fn open_limits() -> Options {
    Options {
        reset: "identify_per_ip = 100000\nsteps_per_ip = 100000\n".into(),
        ..Options::default()
    }
}

async fn wrong_proofs(portal: &Portal) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE detail = 'wrong proof'")
        .fetch_one(&portal.store().await)
        .await
        .unwrap()
}

/// Sends every body to /api/reset/verify at once: the connections are open
/// beforehand and the requests wait on one barrier, so they truly race.
async fn race(portal: &Portal, bodies: Vec<Value>) -> Vec<(StatusCode, Value)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(bodies.len())
        .build()
        .unwrap();
    let warm: Vec<_> = (0..bodies.len())
        .map(|_| {
            let (client, url) = (client.clone(), portal.url.clone());
            tokio::spawn(async move {
                client
                    .get(format!("{url}/api/health"))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    for w in warm {
        w.await.unwrap();
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(bodies.len()));
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let (client, url, barrier) = (client.clone(), portal.url.clone(), barrier.clone());
            tokio::spawn(async move {
                let req = client
                    .post(format!("{url}/api/reset/verify"))
                    .header("content-type", "application/json")
                    .header("origin", &url)
                    .body(body.to_string());
                barrier.wait().await;
                let r = req.send().await.unwrap();
                let s = r.status();
                (s, r.json::<Value>().await.unwrap_or(Value::Null))
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_copies_of_the_right_code_pass_once_and_block_nobody() {
    let portal = Portal::start(open_limits()).await;
    let flow = portal.start_flow(BOB.0).await;
    portal.choose(&flow, "email").await;
    let code = portal.mailed_code("bob@example.com", 0).await;
    let body = json!({ "flow": flow["flow"], "code": code });
    let answers = race(&portal, vec![body; 20]).await;
    let passed = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(passed, 1, "{answers:?}");
    // The others were told the step had moved on, and none was a guess.
    for (s, v) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(
            (*s, error_id(v)),
            (StatusCode::CONFLICT, "reset.wrong_step"),
            "{v}"
        );
    }
    assert_eq!(wrong_proofs(&portal).await, 0);
    // And bob is not blocked: four wrong codes, then the right one, pass.
    let flow = portal.start_flow(BOB.0).await;
    portal.choose(&flow, "sms").await;
    for _ in 0..4 {
        let (s, _) = portal.verify(&flow, "00000000").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let text = portal
        .wait_for_message("sms.jsonl", 0, std::time::Duration::from_secs(10), |m| {
            m["to"] == "+15550100002"
        })
        .await
        .unwrap();
    let (s, v) = portal
        .verify(&flow, &code_in(text["body"].as_str().unwrap()))
        .await;
    assert_eq!(
        (s, step(&v).0.as_str()),
        (StatusCode::OK, "new_password"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_guesses_get_at_most_the_limit_evaluated() {
    let portal = Portal::start(open_limits()).await;
    // On one flow: one at a time is evaluated, the rest are refused unread.
    let flow = portal.start_flow(ALICE.0).await;
    portal.choose(&flow, "email").await;
    let guesses: Vec<Value> = (0..20)
        .map(|i| json!({ "flow": flow["flow"], "code": format!("{:08}", 10_000_000 + i) }))
        .collect();
    let answers = race(&portal, guesses).await;
    let evaluated = answers
        .iter()
        .filter(|(s, v)| *s == StatusCode::UNPROCESSABLE_ENTITY || step_is(v, "blocked"))
        .count();
    assert!(evaluated <= 5, "{answers:?}");
    assert!(wrong_proofs(&portal).await <= 5);

    // Across twenty flows of one name at once: the budget is reserved
    // atomically, so no more than five are ever evaluated.
    let mut bodies = Vec::new();
    for i in 0..20 {
        let f = portal.start_flow(CAROL.0).await;
        portal.choose(&f, "email").await;
        bodies.push(json!({ "flow": f["flow"], "code": format!("{:08}", 20_000_000 + i) }));
    }
    let before = wrong_proofs(&portal).await;
    let answers = race(&portal, bodies).await;
    let evaluated = wrong_proofs(&portal).await - before;
    assert!(evaluated <= 5, "{evaluated} evaluated: {answers:?}");
    let blocked = answers
        .iter()
        .filter(|(_, v)| step_is(v, "blocked"))
        .count();
    assert!(blocked >= 15, "{answers:?}");
}

fn step_is(v: &Value, name: &str) -> bool {
    v.get("step").is_some() && step(v).0 == name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_passwords_never_get_past_the_lock() {
    let portal = Portal::start(Options {
        server: "hash_queue = 1000\nconnection_limit_per_client = 1000".into(),
        reset: "steps_per_ip = 100000\n".into(),
        ..Options::default()
    })
    .await;
    // 59 wrong guesses and the right one, all at once.
    let answers = portal.concurrently(
        60,
        "/api/session",
        |i| json!({ "username": "carol", "password": if i == 59 { CAROL.1.to_string() } else { format!("guess-{i}") } }),
        None,
    )
    .await;
    let answers: Vec<StatusCode> = answers.into_iter().map(|a| a.0).collect();
    // The lock bounds wrong passwords: at most ten are ever checked. The
    // right one, if it is checked, ends that round (as a sign-in does), so
    // it is counted on its own: once at most.
    let wrong = answers
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let right = answers.iter().filter(|s| **s == StatusCode::OK).count();
    assert!(wrong <= 10, "{wrong} wrong passwords checked: {answers:?}");
    assert!(right <= 1, "{answers:?}");
    // The rest wait: locked, or told the portal is busy with this name.
    assert!(answers.iter().all(|s| matches!(
        *s,
        StatusCode::UNAUTHORIZED
            | StatusCode::OK
            | StatusCode::TOO_MANY_REQUESTS
            | StatusCode::SERVICE_UNAVAILABLE
    )));
    // Re-entry inside a session: the same bound, per account.
    let c = portal.sign_in(BOB.0, BOB.1).await.unwrap();
    let answers = portal
        .concurrently(
            100,
            "/api/session/reauth",
            |i| json!({ "password": format!("guess-{i}") }),
            Some(&c),
        )
        .await;
    let checked = answers
        .iter()
        .filter(|a| a.0 == StatusCode::UNAUTHORIZED)
        .count();
    assert!(checked <= 10, "{checked} re-entries checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_signed_in_while_a_reset_runs_do_not_outlive_it() {
    let portal = Portal::start(Options {
        server: "hash_queue = 1000".into(),
        reset: "steps_per_ip = 100000\n".into(),
        ..Options::default()
    })
    .await;
    let flow = portal.start_flow(BOB.0).await;
    portal.choose(&flow, "email").await;
    let code = portal.mailed_code("bob@example.com", 0).await;
    portal.verify(&flow, &code).await;
    // Someone with bob's old password signs in as fast as they can...
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let signers: Vec<_> = (0..4)
        .map(|_| {
            let (client, url, stop) = (portal.client().clone(), portal.url.clone(), stop.clone());
            tokio::spawn(async move {
                let mut cookies = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = client
                        .post(format!("{url}/api/session"))
                        .header("content-type", "application/json")
                        .header("origin", &url)
                        .body(json!({ "username": "bob", "password": BOB.1 }).to_string())
                        .send()
                        .await
                        .unwrap();
                    if let Some(c) = r.headers().get("set-cookie") {
                        cookies.push(c.to_str().unwrap().split(';').next().unwrap().to_string());
                    }
                }
                cookies
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // ...while bob resets.
    let (s, v, _) = portal
        .post(
            "/api/reset/password",
            &json!({ "flow": flow["flow"], "password": "Quartz-Meadow-Violin-42" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut cookies = Vec::new();
    for t in signers {
        cookies.extend(t.await.unwrap());
    }
    assert!(!cookies.is_empty());
    let mut alive = 0;
    for c in &cookies {
        let (_, body, _) = portal.get("/api/session", &[("cookie", c)]).await;
        if body != b"null" {
            alive += 1;
        }
    }
    assert_eq!(
        alive,
        0,
        "{alive} of {} sessions made with the old password outlived the reset",
        cookies.len()
    );
}
