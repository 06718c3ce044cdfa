//! `FlowStore`: reset flows (versioned, claimed by one proof at a time),
//! their codes and the proof-of-work challenges.

use std::sync::Arc;
use std::time::Instant;

use sspr_server::ports::{FlowSave, FlowStore, NewCode, NewFlow, NewPow};
use sspr_server::store::Store;

use super::{T, drop_database, stores};

/// A decoy flow (no user: no account row needed) of `subject`.
fn flow<'a>(hash: &'a str, subject: &'a str, expires: i64) -> NewFlow<'a> {
    NewFlow {
        hash,
        user_id: None,
        subject,
        state: "{\"stage\":\"choose\"}",
        ip: "192.0.2.1",
        created: T,
        expires,
    }
}

fn save<'a>(hash: &'a str, state: &'a str, version: i64, claimed: bool, now: i64) -> FlowSave<'a> {
    FlowSave {
        hash,
        state,
        version,
        claimed,
        now,
    }
}

fn code<'a>(id: &'a str, flow_hash: &'a str, code_hash: &'a str, expires: i64) -> NewCode<'a> {
    NewCode {
        id,
        flow_hash,
        method_id: "m1",
        code_hash,
        created: T,
        expires,
    }
}

/// Stores one code for a flow in a transaction of its own.
async fn add_code(s: &dyn FlowStore, c: &NewCode<'_>) {
    let mut tx = s.begin_flows().await.unwrap();
    s.insert_code_in(&mut tx, c).await.unwrap();
    tx.commit().await.unwrap();
}

/// An unknown flow is none; a stored one reads back whole, at version 0,
/// expired or not (the caller judges expiry).
pub async fn flows_read_back(s: &dyn FlowStore) {
    assert_eq!(s.load_flow("nope").await.unwrap(), None, "unknown");
    s.insert_flow(&flow("f1", "t:a", T + 10)).await.unwrap();
    let row = s.load_flow("f1").await.unwrap().unwrap();
    assert_eq!(row.user_id, None);
    assert_eq!(row.subject, "t:a");
    assert_eq!(row.state, "{\"stage\":\"choose\"}");
    assert_eq!(row.version, 0);
    assert_eq!(row.ip, "192.0.2.1");
    assert_eq!(row.expires_at, T + 10);
    s.insert_flow(&flow("old", "t:a", T - 1)).await.unwrap();
    assert_eq!(
        s.load_flow("old").await.unwrap().unwrap().expires_at,
        T - 1,
        "an expired flow reads back until it is purged"
    );
    assert!(
        s.insert_flow(&flow("f1", "t:b", T + 10)).await.is_err(),
        "one flow per hash"
    );
}

/// A claim holds one version until `until`; it moves the version on.
pub async fn claims_hold_one_version(s: &dyn FlowStore) {
    s.insert_flow(&flow("f1", "t:a", T + 100)).await.unwrap();
    assert!(s.claim_flow("f1", 0, T, T + 30).await.unwrap());
    assert_eq!(s.load_flow("f1").await.unwrap().unwrap().version, 1);
    assert!(!s.claim_flow("f1", 0, T, T + 30).await.unwrap(), "stale");
    assert!(
        !s.claim_flow("f1", 1, T + 29, T + 59).await.unwrap(),
        "held until its end"
    );
    assert!(
        s.claim_flow("f1", 1, T + 30, T + 60).await.unwrap(),
        "free at its end"
    );
    assert!(
        !s.claim_flow("nope", 0, T, T + 30).await.unwrap(),
        "unknown"
    );
}

/// A save needs the version it was derived from, and a claim of another
/// request refuses it; the saver's own claim ends with the save.
pub async fn saves_need_their_version(s: &dyn FlowStore) {
    s.insert_flow(&flow("f1", "t:a", T + 100)).await.unwrap();
    assert!(s.save_flow(&save("f1", "s1", 0, false, T)).await.unwrap());
    let row = s.load_flow("f1").await.unwrap().unwrap();
    assert_eq!((row.state.as_str(), row.version), ("s1", 1));
    assert!(
        !s.save_flow(&save("f1", "stale", 0, false, T))
            .await
            .unwrap(),
        "a stale version saves nothing"
    );
    assert_eq!(s.load_flow("f1").await.unwrap().unwrap().state, "s1");

    assert!(s.claim_flow("f1", 1, T, T + 30).await.unwrap());
    assert!(
        !s.save_flow(&save("f1", "other", 2, false, T + 29))
            .await
            .unwrap(),
        "held by another request"
    );
    assert!(
        s.save_flow(&save("f1", "s2", 2, true, T + 1))
            .await
            .unwrap(),
        "the claim's holder saves"
    );
    let row = s.load_flow("f1").await.unwrap().unwrap();
    assert_eq!((row.state.as_str(), row.version), ("s2", 3));
    assert!(
        s.claim_flow("f1", 3, T + 1, T + 31).await.unwrap(),
        "the save let go of the claim"
    );
    assert!(
        s.save_flow(&save("f1", "s3", 4, false, T + 31))
            .await
            .unwrap(),
        "a claim past its end refuses nothing"
    );

    // In a transaction: written on commit, not if dropped.
    let mut tx = s.begin_flows().await.unwrap();
    assert!(
        s.save_flow_in(&mut tx, &save("f1", "dropped", 5, false, T + 40))
            .await
            .unwrap()
    );
    drop(tx);
    assert_eq!(s.load_flow("f1").await.unwrap().unwrap().state, "s3");
    let mut tx = s.begin_flows().await.unwrap();
    assert!(
        s.save_flow_in(&mut tx, &save("f1", "s4", 5, false, T + 40))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let row = s.load_flow("f1").await.unwrap().unwrap();
    assert_eq!((row.state.as_str(), row.version), ("s4", 6));
}

/// A release lets go of the claim of its version and changes nothing else.
pub async fn releases_let_go(s: &dyn FlowStore) {
    s.insert_flow(&flow("f1", "t:a", T + 100)).await.unwrap();
    assert!(s.claim_flow("f1", 0, T, T + 30).await.unwrap());
    s.release_flow("f1", 0).await.unwrap();
    assert!(
        !s.claim_flow("f1", 1, T + 1, T + 31).await.unwrap(),
        "a release of another version does nothing"
    );
    s.release_flow("f1", 1).await.unwrap();
    let row = s.load_flow("f1").await.unwrap().unwrap();
    assert_eq!(row.version, 1, "the version stays");
    assert_eq!(row.state, "{\"stage\":\"choose\"}");
    assert!(s.claim_flow("f1", 1, T + 1, T + 31).await.unwrap(), "free");
}

/// A code is live until it expires or is retired; a new one supersedes the
/// flow's earlier ones when they are retired with it; a dropped transaction
/// stores none.
pub async fn codes_live_until_retired(s: &dyn FlowStore) {
    s.insert_flow(&flow("f1", "t:a", T + 600)).await.unwrap();
    s.insert_flow(&flow("f2", "t:b", T + 600)).await.unwrap();
    add_code(s, &code("c1", "f1", "h1", T + 300)).await;
    assert!(s.code_is_live("f1", "h1", T + 299).await.unwrap());
    assert!(
        !s.code_is_live("f1", "h1", T + 300).await.unwrap(),
        "expired at its end"
    );
    assert!(!s.code_is_live("f2", "h1", T).await.unwrap(), "per flow");
    assert!(!s.code_is_live("f1", "h2", T).await.unwrap(), "per hash");

    // A new code: the earlier ones retired in the same transaction.
    add_code(s, &code("c2", "f2", "h9", T + 300)).await;
    let mut tx = s.begin_flows().await.unwrap();
    assert_eq!(s.retire_codes_in(&mut tx, "f1", T + 10).await.unwrap(), 1);
    s.insert_code_in(&mut tx, &code("c3", "f1", "h2", T + 310))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        !s.code_is_live("f1", "h1", T + 11).await.unwrap(),
        "superseded"
    );
    assert!(
        s.code_is_live("f1", "h2", T + 11).await.unwrap(),
        "the new one"
    );
    assert!(
        s.code_is_live("f2", "h9", T + 11).await.unwrap(),
        "another flow's stays"
    );

    // Retired as a gate is passed.
    let mut tx = s.begin_flows().await.unwrap();
    assert_eq!(s.retire_codes_in(&mut tx, "f1", T + 20).await.unwrap(), 1);
    assert_eq!(
        s.retire_codes_in(&mut tx, "f1", T + 20).await.unwrap(),
        0,
        "once"
    );
    tx.commit().await.unwrap();
    assert!(
        !s.code_is_live("f1", "h2", T + 21).await.unwrap(),
        "retired"
    );

    // Nothing of a dropped transaction stays.
    let mut tx = s.begin_flows().await.unwrap();
    s.insert_code_in(&mut tx, &code("c4", "f1", "h3", T + 400))
        .await
        .unwrap();
    assert_eq!(s.retire_codes_in(&mut tx, "f2", T + 30).await.unwrap(), 1);
    drop(tx);
    assert!(
        !s.code_is_live("f1", "h3", T + 31).await.unwrap(),
        "rolled back"
    );
    assert!(
        s.code_is_live("f2", "h9", T + 31).await.unwrap(),
        "its retirement rolled back"
    );
}

/// Purging forgets the flows expired at `now` (`expires <= now`), with
/// their codes, and nothing else.
pub async fn purge_is_at_the_expiry(s: &dyn FlowStore) {
    s.insert_flow(&flow("f1", "t:a", T + 10)).await.unwrap();
    s.insert_flow(&flow("f2", "t:a", T + 11)).await.unwrap();
    add_code(s, &code("c1", "f1", "h1", T + 300)).await;
    assert_eq!(s.purge_expired_flows(T + 9).await.unwrap(), 0);
    assert!(s.load_flow("f1").await.unwrap().is_some(), "alive before");
    assert_eq!(s.purge_expired_flows(T + 10).await.unwrap(), 1);
    assert_eq!(s.load_flow("f1").await.unwrap(), None, "gone at its end");
    assert!(s.load_flow("f2").await.unwrap().is_some(), "not yet");
    assert!(
        !s.code_is_live("f1", "h1", T + 10).await.unwrap(),
        "its codes went with it"
    );
}

/// Ending an account's other flows keeps the given one, and other
/// subjects' flows; the ended flows' codes go with them.
pub async fn ending_other_flows_keeps_one(s: &dyn FlowStore) {
    for (hash, subject) in [("keep", "u:1"), ("o1", "u:1"), ("o2", "u:1"), ("x", "u:2")] {
        s.insert_flow(&flow(hash, subject, T + 600)).await.unwrap();
    }
    add_code(s, &code("c1", "o1", "h1", T + 300)).await;
    add_code(s, &code("c2", "keep", "h2", T + 300)).await;
    let mut tx = s.begin_flows().await.unwrap();
    assert_eq!(
        s.end_other_flows_in(&mut tx, "u:1", "keep").await.unwrap(),
        2
    );
    tx.commit().await.unwrap();
    assert!(s.load_flow("keep").await.unwrap().is_some(), "kept");
    assert!(s.load_flow("x").await.unwrap().is_some(), "per subject");
    assert_eq!(s.load_flow("o1").await.unwrap(), None);
    assert_eq!(s.load_flow("o2").await.unwrap(), None);
    assert!(
        !s.code_is_live("o1", "h1", T).await.unwrap(),
        "with its codes"
    );
    assert!(
        s.code_is_live("keep", "h2", T).await.unwrap(),
        "the kept one's stay"
    );
}

/// A challenge is taken once, before its end; purging forgets the expired.
pub async fn challenges_are_taken_once(s: &dyn FlowStore) {
    let pow = |id, expires| NewPow {
        id,
        prefix: "00ff",
        difficulty: 12,
        expires,
    };
    s.insert_pow(&pow("p1", T + 300)).await.unwrap();
    s.insert_pow(&pow("p2", T + 300)).await.unwrap();
    s.insert_pow(&pow("p3", T + 100)).await.unwrap();
    assert_eq!(s.take_pow("nope", T).await.unwrap(), None, "unknown");
    assert_eq!(
        s.take_pow("p1", T + 299).await.unwrap(),
        Some(("00ff".to_string(), 12))
    );
    assert_eq!(s.take_pow("p1", T + 299).await.unwrap(), None, "once");
    assert_eq!(
        s.take_pow("p2", T + 300).await.unwrap(),
        None,
        "expired at its end"
    );
    assert_eq!(s.purge_expired_pow(T + 99).await.unwrap(), 0);
    assert_eq!(
        s.purge_expired_pow(T + 100).await.unwrap(),
        1,
        "p3 at its end"
    );
    assert_eq!(s.take_pow("p3", T).await.unwrap(), None, "purged");
    assert_eq!(
        s.purge_expired_pow(T + 300).await.unwrap(),
        1,
        "p2 at its end"
    );
}

/// Of concurrent claims of one version, exactly one wins.
pub async fn concurrent_claims_win_once(s: Arc<dyn FlowStore>) {
    s.insert_flow(&flow("f1", "t:a", T + 100)).await.unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.claim_flow("f1", 0, T, T + 30).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
    assert_eq!(s.load_flow("f1").await.unwrap().unwrap().version, 1);
}

/// Of concurrent saves of one version, exactly one is written.
pub async fn concurrent_saves_write_once(s: Arc<dyn FlowStore>) {
    s.insert_flow(&flow("f1", "t:a", T + 100)).await.unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let state = format!("s{i}");
                let written = s.save_flow(&save("f1", &state, 0, false, T)).await.unwrap();
                written.then_some(state)
            })
        })
        .collect();
    let mut written = Vec::new();
    for t in tasks {
        written.extend(t.await.unwrap());
    }
    assert_eq!(written.len(), 1);
    let row = s.load_flow("f1").await.unwrap().unwrap();
    assert_eq!((row.state, row.version), (written[0].clone(), 1));
}

/// Of concurrent takers of one challenge, exactly one gets it.
pub async fn concurrent_takes_win_once(s: Arc<dyn FlowStore>) {
    s.insert_pow(&NewPow {
        id: "p1",
        prefix: "00",
        difficulty: 1,
        expires: T + 300,
    })
    .await
    .unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.take_pow("p1", T).await.unwrap().is_some() })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_store_conforms_on_every_backend() {
    conform!(
        "FlowStore",
        |s: Store| async move { flows_read_back(&s).await },
        |s: Store| async move { claims_hold_one_version(&s).await },
        |s: Store| async move { saves_need_their_version(&s).await },
        |s: Store| async move { releases_let_go(&s).await },
        |s: Store| async move { codes_live_until_retired(&s).await },
        |s: Store| async move { purge_is_at_the_expiry(&s).await },
        |s: Store| async move { ending_other_flows_keeps_one(&s).await },
        |s: Store| async move { challenges_are_taken_once(&s).await },
        |s: Store| concurrent_claims_win_once(Arc::new(s)),
        |s: Store| concurrent_saves_write_once(Arc::new(s)),
        |s: Store| concurrent_takes_win_once(Arc::new(s)),
    );
}
