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

async fn race(portal: &Portal, bodies: Vec<Value>) -> Vec<(StatusCode, Value)> {
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let (client, url) = (portal.client().clone(), portal.url.clone());
            tokio::spawn(async move {
                let r = client
                    .post(format!("{url}/api/reset/verify"))
                    .header("content-type", "application/json")
                    .header("origin", &url)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
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
