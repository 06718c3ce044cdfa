//! `TapStore` (Temporary Access Passes), the step-up challenges of
//! `SessionStore`, and what the helpdesk's `user unblock` reads and clears
//! (`AuditStore::audit_actors`, `ThrottleStore::clear_throttles`).

use std::sync::Arc;

use sspr_server::ports::{
    AuditStore, ChangeStore, NewAuditEvent, NewPass, NewStepUp, PassRow, ProofWindow, RedeemedPass,
    SessionStore, TapStore, ThrottleStore,
};
use sspr_server::store::Store;

use super::*;

fn pass<'a>(id: &'a str, user_id: &'a str, hash: &'a str, one_time: bool) -> NewPass<'a> {
    NewPass {
        id,
        user_id,
        hash,
        one_time,
        created: T,
        expires: T + 100,
        issued_by: "helpdesk",
    }
}

/// Issues a pass in its own committed change; returns how many it voided.
async fn issue<S: TapStore + ChangeStore + ?Sized>(s: &S, p: NewPass<'_>) -> u64 {
    let mut c = s.begin_change().await.unwrap();
    let voided = s.issue_pass(&mut c, &p).await.unwrap();
    c.commit().await.unwrap();
    voided
}

async fn live_ids<S: TapStore + ?Sized>(s: &S, user: Option<&str>, now: i64) -> Vec<String> {
    s.live_passes(user, now)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect()
}

/// A pass reads back whole; a new one voids the user's live ones; an
/// uncommitted issue keeps nothing.
pub async fn passes_are_issued_one_live_per_user<S: TapStore + ChangeStore>(s: &S) {
    assert!(s.live_passes(None, T).await.unwrap().is_empty());
    assert_eq!(issue(s, pass("p1", "u1", "h1", false)).await, 0);
    assert_eq!(
        s.live_passes(Some("u1"), T).await.unwrap(),
        [PassRow {
            id: "p1".into(),
            user_id: "u1".into(),
            one_time: false,
            created_at: T,
            expires_at: T + 100,
            used_at: None,
            issued_by: Some("helpdesk".into()),
        }]
    );
    assert_eq!(issue(s, pass("x1", "u2", "hx", true)).await, 0, "per user");
    let mut p2 = pass("p2", "u1", "h2", true);
    p2.created = T + 1;
    assert_eq!(issue(s, p2).await, 1, "voids the older");
    assert_eq!(live_ids(s, Some("u1"), T + 1).await, ["p2"]);
    assert_eq!(live_ids(s, None, T + 1).await, ["x1", "p2"], "oldest first");
    assert!(
        s.redeem_pass("u1", "h1", T + 1).await.unwrap().is_none(),
        "voided"
    );

    let mut c = s.begin_change().await.unwrap();
    s.issue_pass(&mut c, &pass("p3", "u1", "h3", false))
        .await
        .unwrap();
    drop(c);
    assert_eq!(
        live_ids(s, Some("u1"), T + 1).await,
        ["p2"],
        "not committed"
    );
}

/// A pass is live until its expiry, not at it.
pub async fn passes_expire_at_their_time<S: TapStore + ChangeStore>(s: &S) {
    issue(s, pass("p1", "u1", "h1", false)).await;
    assert_eq!(live_ids(s, None, T + 99).await, ["p1"]);
    assert!(live_ids(s, None, T + 100).await.is_empty());
    assert!(s.redeem_pass("u1", "h1", T + 100).await.unwrap().is_none());
    assert_eq!(
        s.redeem_pass("u1", "h1", T + 99).await.unwrap(),
        Some(RedeemedPass {
            id: "p1".into(),
            expires_at: T + 100
        })
    );
    assert_eq!(
        s.revoke_passes("u1", None, T + 100).await.unwrap(),
        0,
        "none live"
    );
    // An expired pass does not count as voided either.
    let mut p2 = pass("p2", "u1", "h2", false);
    p2.created = T + 100;
    p2.expires = T + 200;
    assert_eq!(issue(s, p2).await, 0);
}

/// Redeemed by its user and hash only; a multi-use pass again and again, a
/// one-time pass once (then it is no longer live).
pub async fn passes_redeem_by_kind<S: TapStore + ChangeStore>(s: &S) {
    issue(s, pass("m", "u1", "hm", false)).await;
    issue(s, pass("o", "u2", "ho", true)).await;
    assert!(s.redeem_pass("u1", "wrong", T).await.unwrap().is_none());
    assert!(
        s.redeem_pass("u2", "hm", T).await.unwrap().is_none(),
        "other user"
    );
    assert!(
        s.redeem_pass("-", "hm", T).await.unwrap().is_none(),
        "nobody"
    );
    for at in [T, T + 1] {
        assert!(s.redeem_pass("u1", "hm", at).await.unwrap().is_some());
    }
    assert_eq!(
        s.live_passes(Some("u1"), T + 2).await.unwrap()[0].used_at,
        Some(T + 1),
        "last use kept"
    );
    assert!(s.redeem_pass("u2", "ho", T).await.unwrap().is_some());
    assert!(
        s.redeem_pass("u2", "ho", T).await.unwrap().is_none(),
        "used up"
    );
    assert!(live_ids(s, Some("u2"), T).await.is_empty());
}

/// Revocation: one pass by id, or all of the user's live ones.
pub async fn passes_are_revoked<S: TapStore + ChangeStore>(s: &S) {
    issue(s, pass("p1", "u1", "h1", false)).await;
    issue(s, pass("x1", "u2", "hx", false)).await;
    assert_eq!(
        s.revoke_passes("u1", Some("x1"), T).await.unwrap(),
        0,
        "not theirs"
    );
    assert_eq!(s.revoke_passes("u1", Some("nope"), T).await.unwrap(), 0);
    assert_eq!(s.revoke_passes("u1", Some("p1"), T).await.unwrap(), 1);
    assert_eq!(s.revoke_passes("u1", None, T).await.unwrap(), 0, "already");
    assert!(s.redeem_pass("u1", "h1", T).await.unwrap().is_none());
    assert_eq!(s.revoke_passes("u2", None, T).await.unwrap(), 1);
    assert!(s.live_passes(None, T).await.unwrap().is_empty());
}

/// A one-time pass presented by many at once signs in one; a multi-use
/// pass signs in each.
pub async fn concurrent_redemptions_of_a_one_time_pass_win_once<S>(s: Arc<S>)
where
    S: TapStore + ChangeStore + 'static,
{
    issue(s.as_ref(), pass("o", "u1", "ho", true)).await;
    issue(s.as_ref(), pass("m", "u2", "hm", false)).await;
    for (user, hash, want) in [("u1", "ho", 1), ("u2", "hm", 12)] {
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.redeem_pass(user, hash, T).await.unwrap().is_some()
            }));
        }
        let mut won = 0;
        for t in tasks {
            won += usize::from(t.await.unwrap());
        }
        assert_eq!(won, want, "{hash}");
    }
}

fn challenge<'a>(session: &'a str, method: &'a str, code: Option<&'a str>) -> NewStepUp<'a> {
    NewStepUp {
        session_hash: session,
        method_id: method,
        code_hash: code,
        sent_at: code.map(|_| T),
        expires: T + 600,
    }
}

async fn put<S: SessionStore + ChangeStore + ?Sized>(s: &S, c: NewStepUp<'_>) {
    let mut change = s.begin_change().await.unwrap();
    s.put_stepup(&mut change, &c).await.unwrap();
    change.commit().await.unwrap();
}

/// A step-up challenge: read while unexpired, one per session (a new one
/// replaces it and forgets its wrong codes), counted, taken once.
pub async fn stepup_challenges_live_and_count<S: SessionStore + ChangeStore>(s: &S) {
    assert!(s.stepup("s1", T).await.unwrap().is_none());
    assert_eq!(s.fail_stepup("s1").await.unwrap(), None, "no challenge");
    put(s, challenge("s1", "m1", Some("c1"))).await;
    put(s, challenge("s2", "m9", None)).await;
    let got = s.stepup("s1", T + 599).await.unwrap().unwrap();
    assert_eq!(
        (got.method_id.as_str(), got.code_hash.as_deref()),
        ("m1", Some("c1"))
    );
    assert!(s.stepup("s1", T + 600).await.unwrap().is_none(), "expired");
    assert_eq!(s.stepup("s2", T).await.unwrap().unwrap().code_hash, None);
    assert_eq!(s.fail_stepup("s1").await.unwrap(), Some(1));
    assert_eq!(s.fail_stepup("s1").await.unwrap(), Some(2));
    put(s, challenge("s1", "m2", None)).await;
    let got = s.stepup("s1", T).await.unwrap().unwrap();
    assert_eq!(
        (got.method_id.as_str(), got.code_hash),
        ("m2", None),
        "replaced"
    );
    assert_eq!(
        s.fail_stepup("s1").await.unwrap(),
        Some(1),
        "attempts forgotten"
    );
    assert!(s.take_stepup("s1").await.unwrap());
    assert!(!s.take_stepup("s1").await.unwrap());
    assert!(s.stepup("s1", T).await.unwrap().is_none());
    assert!(s.stepup("s2", T).await.unwrap().is_some(), "per session");

    let mut change = s.begin_change().await.unwrap();
    s.put_stepup(&mut change, &challenge("s3", "m1", None))
        .await
        .unwrap();
    drop(change);
    assert!(s.stepup("s3", T).await.unwrap().is_none(), "not committed");
}

/// Of concurrent takes of one challenge, one removes it: a code confirms
/// one step-up.
pub async fn concurrent_takes_of_a_stepup_win_once<S>(s: Arc<S>)
where
    S: SessionStore + ChangeStore + 'static,
{
    put(s.as_ref(), challenge("s1", "m1", Some("c"))).await;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let s = s.clone();
        tasks.push(tokio::spawn(
            async move { s.take_stepup("s1").await.unwrap() },
        ));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
}

/// Unblocking clears the blocks and budgets of the subjects given, and
/// counts what it cleared; others keep theirs.
pub async fn throttles_clear_for_the_subjects_given(s: &dyn ThrottleStore) {
    const W: ProofWindow = ProofWindow {
        limit: 1,
        seconds: 100,
    };
    for subject in ["a", "b", "c"] {
        assert!(s.reserve_proof(subject, W, T).await.unwrap());
    }
    assert!(s.start_block("a", T + 50, T).await.unwrap());
    assert!(s.start_block("c", T + 50, T).await.unwrap());
    let subjects = ["a", "b", "nobody"].map(str::to_owned);
    assert_eq!(s.clear_throttles(&subjects).await.unwrap(), (1, 2));
    assert_eq!(s.blocked_until("a").await.unwrap(), None);
    assert!(
        s.reserve_proof("b", W, T).await.unwrap(),
        "budget forgotten"
    );
    assert_eq!(
        s.blocked_until("c").await.unwrap(),
        Some(T + 50),
        "untouched"
    );
    assert!(!s.reserve_proof("c", W, T).await.unwrap(), "untouched");
    assert_eq!(s.clear_throttles(&subjects).await.unwrap(), (0, 1));
    assert_eq!(s.clear_throttles(&[]).await.unwrap(), (0, 0));
}

/// The names an account was typed as: distinct actors of one activity on
/// one target, from a time on.
pub async fn audit_actors_are_distinct_and_filtered(s: &dyn AuditStore) {
    let event = |id, at, activity, actor, target| NewAuditEvent {
        id,
        at,
        activity,
        actor,
        target: Some(target),
        ip: "-",
        ..Default::default()
    };
    for e in [
        event("1", T, "progress", "Alice", "alice"),
        event("2", T + 1, "progress", "Alice", "alice"),
        event("3", T + 2, "progress", "a@example.org", "alice"),
        event("4", T - 1, "progress", "old", "alice"),
        event("5", T, "other", "elsewhere", "alice"),
        event("6", T, "progress", "Bob", "bob"),
    ] {
        s.append_audit(&e).await.unwrap();
    }
    let mut got = s.audit_actors("progress", "alice", T).await.unwrap();
    got.sort();
    assert_eq!(got, ["Alice", "a@example.org"]);
    assert!(
        s.audit_actors("progress", "carol", T)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tap_store_conforms_on_every_backend() {
    conform!(
        "TapStore",
        |s: Store| async move { passes_are_issued_one_live_per_user(&s).await },
        |s: Store| async move { passes_expire_at_their_time(&s).await },
        |s: Store| async move { passes_redeem_by_kind(&s).await },
        |s: Store| async move { passes_are_revoked(&s).await },
        |s: Store| concurrent_redemptions_of_a_one_time_pass_win_once(Arc::new(s)),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stepup_challenges_conform_on_every_backend() {
    conform!(
        "SessionStore (step-up)",
        |s: Store| async move { stepup_challenges_live_and_count(&s).await },
        |s: Store| concurrent_takes_of_a_stepup_win_once(Arc::new(s)),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unblock_reads_and_clears_on_every_backend() {
    conform!(
        "ThrottleStore + AuditStore (unblock)",
        |s: Store| async move { throttles_clear_for_the_subjects_given(&s).await },
        |s: Store| async move { audit_actors_are_distinct_and_filtered(&s).await },
    );
}
