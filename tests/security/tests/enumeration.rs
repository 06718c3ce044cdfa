//! Item 3 (medium): who has an account could still be told, by the gate
//! count, the decoys' shapes, and throttles that were per account for real
//! users but per typed string for unknown ones. Each is tried here as an
//! attacker would, always beside a name that belongs to nobody.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use serde_json::{Value, json};
use sspr_security::*;

fn open_limits() -> Options {
    Options {
        reset: "identify_per_ip = 100000\nsteps_per_ip = 100000\n".into(),
        ..Options::default()
    }
}

/// An unknown user name whose decoy offers an email, like the real name
/// it stands beside.
async fn decoy_with_email(portal: &Portal, stem: &str) -> String {
    for n in 0..50 {
        let name = format!("{stem}{n}");
        let v = portal.start_flow(&name).await;
        if options(&v).iter().any(|(k, _)| k == "email") {
            return name;
        }
    }
    panic!("no decoy of {stem} offers an email");
}

/// What a step says, without its random ids.
fn shape(v: &Value) -> Value {
    let (name, mut body) = step(v);
    if let Some(ms) = body.get_mut("methods").and_then(Value::as_array_mut) {
        for m in ms {
            m["id"] = json!("-");
            m["masked"] = json!("-");
        }
    }
    if let Some(m) = body.get_mut("method") {
        m["id"] = json!("-");
        m["masked"] = json!("-");
    }
    json!({ "step": name, "body": body })
}

#[tokio::test]
async fn an_administrators_first_step_counts_the_policys_gates() {
    let portal = Portal::start(open_limits()).await;
    let carol = portal.start_flow(CAROL.0).await;
    let ghost = portal.start_flow("zed.unknown").await;
    let gates = |v: &Value| (step(v).1["gate"].clone(), step(v).1["gates"].clone());
    assert_eq!(gates(&carol), (json!(1), json!(1)), "{carol}");
    assert_eq!(gates(&carol), gates(&ghost));
    // Her second gate shows once the first is proven, not before.
    portal.choose(&carol, "email").await;
    let code = portal.mailed_code("carol@example.com", 0).await;
    let (s, v) = portal.verify(&carol, &code).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(gates(&v), (json!(2), json!(2)), "{v}");
}

#[tokio::test]
async fn decoys_take_every_shape_real_accounts_have() {
    let portal = Portal::start(open_limits()).await;
    let mut shapes = HashSet::new();
    let (mut no_email, mut two_emails, mut two_phones) = (false, false, false);
    for n in 0..200 {
        let v = portal.start_flow(&format!("nobody{n}")).await;
        let kinds: Vec<String> = options(&v).into_iter().map(|(k, _)| k).collect();
        let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
        no_email |= count("email") == 0;
        two_emails |= count("email") == 2;
        two_phones |= count("sms") == 2;
        assert!(!kinds.is_empty());
        shapes.insert(kinds);
    }
    assert!(no_email && two_emails && two_phones, "{shapes:?}");
    assert!(shapes.len() >= 8, "{} shapes: {shapes:?}", shapes.len());
    // A real account's shape is among them: bob has email and phone.
    let bob: Vec<String> = options(&portal.start_flow(BOB.0).await)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(shapes.contains(&bob), "{bob:?} in {shapes:?}");
    // An identifier that is an address shows its own mask for its first
    // email, as a real account found by its address does; the same
    // identifier, the same decoy.
    // Its first address is sometimes the organisation's, sometimes a
    // personal one, as real accounts' are.
    let mut firsts = HashSet::new();
    for n in 0..30 {
        let v = portal.start_flow(&format!("Mallory{n}@Example.com")).await;
        if let Some(first) = options(&v).into_iter().find(|(k, _)| k == "email") {
            firsts.insert(first.1 == "m***@e***.com");
        }
        let again = portal.start_flow(&format!("mallory{n}@example.com")).await;
        assert_eq!(options(&v), options(&again));
    }
    assert_eq!(firsts.len(), 2, "both kinds of first address");
}

/// The offered options with how each sends its code: (kind, call).
fn channels(v: &Value) -> Vec<(String, bool)> {
    step(v).1["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_string(),
                m["call"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[tokio::test]
async fn with_calls_decoys_take_every_shape_office_phones_included() {
    let portal = Portal::start(Options {
        env: vec![
            ("SSPR__DELIVERY__VOICE".into(), "outbox".into()),
            (
                "SSPR__POLICY__METHODS_AVAILABLE".into(),
                r#"["authenticator", "email", "sms", "office_phone"]"#.into(),
            ),
        ],
        ..open_limits()
    })
    .await;
    let mut shapes = HashSet::new();
    let (mut office, mut two_phones, mut no_email) = (false, false, false);
    for n in 0..200 {
        let v = portal.start_flow(&format!("nobody{n}")).await;
        let opts = channels(&v);
        let count = |k: &str, call: bool| opts.iter().filter(|o| o.0 == k && o.1 == call).count();
        // A mobile is a text and a call, as a real one is; an office phone
        // only a call.
        assert_eq!(count("sms", false), count("sms", true), "{opts:?}");
        assert_eq!(count("office_phone", false), 0, "{opts:?}");
        office |= count("office_phone", true) == 1;
        two_phones |= count("sms", true) == 2;
        no_email |= count("email", false) == 0;
        shapes.insert(opts);
    }
    assert!(office && two_phones && no_email, "{shapes:?}");
    assert!(shapes.len() >= 8, "{} shapes: {shapes:?}", shapes.len());
    // bob's real shape (email, a mobile texted and called) is among them.
    let bob = channels(&portal.start_flow(BOB.0).await);
    assert_eq!(
        bob,
        [
            ("email".to_string(), false),
            ("sms".to_string(), false),
            ("sms".to_string(), true)
        ]
    );
    assert!(shapes.contains(&bob), "{bob:?} in {shapes:?}");
}

#[tokio::test]
async fn sending_a_name_to_its_limit_says_nothing_about_its_other_names() {
    let portal = Portal::start(open_limits()).await;
    // Eleven codes through "bob": past the account's 10 in 10 minutes.
    // Then his other name, beside a decoy pair treated the same way.
    let mut seen = Vec::new();
    let zoe = decoy_with_email(&portal, "zoe").await;
    let zoe_mail = format!("{zoe}@example.com");
    for (first, second) in [
        (BOB.0, "bob@example.com"),
        (zoe.as_str(), zoe_mail.as_str()),
    ] {
        for _ in 0..11 {
            let f = portal.start_flow(first).await;
            let (s, v) = portal.choose(&f, "email").await;
            assert_eq!(s, StatusCode::OK, "{first}: {v}");
        }
        let f = portal.start_flow(second).await;
        let (s, v) = portal.choose(&f, "email").await;
        seen.push((s, shape(&v)));
    }
    assert_eq!(
        seen[0], seen[1],
        "the real pair and the decoy pair answer alike"
    );
    assert_eq!(seen[0].0, StatusCode::OK);
    // The account's cap held all the same: bob got at most 10 codes.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(portal.mails_to("bob@example.com") <= 10);
    assert_eq!(
        portal.mails_to(&zoe_mail),
        0,
        "nothing is ever sent for a decoy"
    );
}

#[tokio::test]
async fn blocking_a_name_says_nothing_about_its_other_names_yet_blocks_the_account() {
    let portal = Portal::start(open_limits()).await;
    let mut answers = Vec::new();
    let zoe = decoy_with_email(&portal, "zoe").await;
    let zoe_mail = format!("{zoe}@example.com");
    for (first, second) in [
        (ALICE.0, "alice@example.com"),
        (zoe.as_str(), zoe_mail.as_str()),
    ] {
        // Five wrong proofs through the first name: it is blocked.
        for _ in 0..5 {
            let f = portal.start_flow(first).await;
            portal.choose(&f, "email").await;
            portal.verify(&f, "11111111").await;
        }
        let f = portal.start_flow(first).await;
        portal.choose(&f, "email").await;
        let (s, v) = portal.verify(&f, "11111111").await;
        assert_eq!(
            (s, step(&v).0.as_str()),
            (StatusCode::OK, "blocked"),
            "{first}"
        );
        // The other name answers a wrong proof as any name would.
        let f = portal.start_flow(second).await;
        portal.choose(&f, "email").await;
        let (s, v) = portal.verify(&f, "11111111").await;
        answers.push((s, error_id(&v).to_string()));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(
        answers[0],
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "reset.code_invalid".to_string()
        )
    );
    // Yet alice's account is blocked, whichever name she gives: even the
    // right authenticator code (from oathtool, not from sspr) does not pass.
    let f = portal.start_flow("alice@example.com").await;
    portal.choose(&f, "authenticator").await;
    let (s, v) = portal.verify(&f, &oathtool(ALICE_TOTP)).await;
    assert_eq!((s, step(&v).0.as_str()), (StatusCode::OK, "blocked"), "{v}");
}

#[tokio::test]
async fn sign_in_locks_known_and_unknown_names_alike() {
    let portal = Portal::start(open_limits()).await;
    let mut eleventh = Vec::new();
    for name in [ALICE.0, "nobody-at-all"] {
        for i in 0..10 {
            let e = portal.sign_in(name, "wrong-password").await.unwrap_err();
            assert_eq!(
                (e.0, error_id(&e.1)),
                (StatusCode::UNAUTHORIZED, "session.invalid_credentials"),
                "{name} #{i}"
            );
        }
        let e = portal.sign_in(name, "wrong-password").await.unwrap_err();
        eleventh.push((
            e.0,
            error_id(&e.1).to_string(),
            e.1["error"]["retry_after"].clone(),
        ));
    }
    // The same answer; the retry time may differ by the second between them.
    assert_eq!(
        (&eleventh[0].0, &eleventh[0].1),
        (&eleventh[1].0, &eleventh[1].1)
    );
    let secs = |v: &serde_json::Value| v.as_i64().unwrap();
    assert!(
        (secs(&eleventh[0].2) - secs(&eleventh[1].2)).abs() <= 1,
        "{eleventh:?}"
    );
    assert_eq!(eleventh[0].0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(eleventh[0].1, "session.locked");
    // A lock on one name is not a lock on the account's other name, as
    // with names that belong to nobody.
    let a = portal
        .sign_in("alice@example.com", "wrong-password")
        .await
        .unwrap_err();
    let b = portal
        .sign_in("nobody-at-all@example.com", "wrong-password")
        .await
        .unwrap_err();
    assert_eq!((a.0, error_id(&a.1)), (b.0, error_id(&b.1)));
    assert_eq!(a.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn identify_answers_carry_the_same_headers() {
    let portal = Portal::start(open_limits()).await;
    let names = |h: &reqwest::header::HeaderMap| {
        let mut v: Vec<String> = h.keys().map(|k| k.to_string()).collect();
        v.sort();
        v
    };
    let (s1, _, h1) = portal.identify(ALICE.0, &[]).await;
    let (s2, _, h2) = portal.identify("nobody-here", &[]).await;
    assert_eq!((s1, names(&h1)), (s2, names(&h2)));
}

#[tokio::test]
async fn a_name_and_its_address_show_the_same_methods_known_or_not() {
    let portal = Portal::start(open_limits()).await;
    let same = |a: &Value, b: &Value| options(a) == options(b);
    for name in [BOB.0, CAROL.0, ALICE.0] {
        let a = portal.start_flow(name).await;
        let b = portal.start_flow(&format!("{name}@example.com")).await;
        assert!(
            same(&a, &b),
            "{name}: {:?} vs {:?}",
            options(&a),
            options(&b)
        );
    }
    for name in ["zed", "yolanda", "xavier", "wendy", "nobody7"] {
        let a = portal.start_flow(name).await;
        let b = portal.start_flow(&format!("{name}@example.com")).await;
        assert!(
            same(&a, &b),
            "{name}: {:?} vs {:?}",
            options(&a),
            options(&b)
        );
    }
}
