//! `EnrolmentStore`: pending security-info enrolments, one per session, live
//! strictly before their expiry, their wrong codes counted atomically.

use super::*;
use sspr_server::ports::{EnrolmentStore, NewEnrolment, PendingEnrolment};

fn new<'a>(id_hash: &'a str, session_hash: &'a str, expires_at: i64) -> NewEnrolment<'a> {
    NewEnrolment {
        id_hash,
        session_hash,
        user_id: "u1",
        kind: "email",
        target: Some("bob@example.com"),
        secret_sealed: None,
        code_hash: Some("code-hash"),
        sent_at: Some(T),
        expires_at,
    }
}

/// Stores `e` and commits.
async fn create(s: &dyn EnrolmentStore, e: &NewEnrolment<'_>) {
    s.create_enrolment(e).await.unwrap().commit().await.unwrap();
}

async fn live(s: &dyn EnrolmentStore, id: &str, session: &str, now: i64) -> bool {
    s.pending_enrolment(id, session, now)
        .await
        .unwrap()
        .is_some()
}

/// What is stored reads back whole, from its own session only, strictly
/// before its expiry.
pub async fn enrolments_live_until_their_expiry(s: &dyn EnrolmentStore) {
    create(s, &new("e1", "s1", T + 600)).await;
    assert_eq!(
        s.pending_enrolment("e1", "s1", T).await.unwrap(),
        Some(PendingEnrolment {
            kind: "email".into(),
            target: Some("bob@example.com".into()),
            secret_sealed: None,
            code_hash: Some("code-hash".into()),
            attempts: 0,
            expires_at: T + 600,
        })
    );
    assert!(live(s, "e1", "s1", T + 599).await, "a second before");
    assert!(!live(s, "e1", "s1", T + 600).await, "at its expiry");
    assert!(!live(s, "e1", "s2", T).await, "another session's");
    assert!(!live(s, "nope", "s1", T).await);
    // A secret's enrolment keeps its sealed secret and no code.
    create(
        s,
        &NewEnrolment {
            kind: "totp",
            target: None,
            secret_sealed: Some("sealed"),
            code_hash: None,
            sent_at: None,
            ..new("e2", "s2", T + 600)
        },
    )
    .await;
    let p = s.pending_enrolment("e2", "s2", T).await.unwrap().unwrap();
    assert_eq!(
        (p.secret_sealed.as_deref(), p.code_hash, p.target),
        (Some("sealed"), None, None)
    );
}

/// A session has one pending enrolment: a new one replaces it, and only
/// once committed; other sessions keep theirs.
pub async fn create_replaces_the_sessions_pending_one(s: &dyn EnrolmentStore) {
    create(s, &new("e1", "s1", T + 600)).await;
    create(s, &new("other", "s2", T + 600)).await;
    create(s, &new("e2", "s1", T + 600)).await;
    assert!(!live(s, "e1", "s1", T).await, "replaced");
    assert!(live(s, "e2", "s1", T).await);
    assert!(live(s, "other", "s2", T).await, "another session's stays");
    // A transaction dropped unfinished stores nothing and replaces nothing.
    drop(s.create_enrolment(&new("e3", "s1", T + 600)).await.unwrap());
    assert!(!live(s, "e3", "s1", T).await);
    assert!(live(s, "e2", "s1", T).await);
}

/// Clearing drops the session's pending one and everyone's expired at `now`
/// (at their expiry, not a second before).
pub async fn clear_drops_the_sessions_and_the_expired(s: &dyn EnrolmentStore) {
    create(s, &new("mine", "s1", T + 600)).await;
    create(s, &new("ends-now", "s2", T + 10)).await;
    create(s, &new("ends-later", "s3", T + 11)).await;
    s.clear_enrolments("s1", T + 10).await.unwrap();
    assert!(!live(s, "mine", "s1", T).await);
    assert!(!live(s, "ends-now", "s2", T).await);
    assert!(live(s, "ends-later", "s3", T).await);
    s.clear_enrolments("nobody", T).await.unwrap();
    assert!(live(s, "ends-later", "s3", T).await);
}

/// Wrong codes count up one by one; a gone enrolment counts nothing.
pub async fn attempts_count_until_deleted(s: &dyn EnrolmentStore) {
    create(s, &new("e1", "s1", T + 600)).await;
    assert_eq!(s.count_enrolment_attempt("e1").await.unwrap(), Some(1));
    assert_eq!(s.count_enrolment_attempt("e1").await.unwrap(), Some(2));
    let p = s.pending_enrolment("e1", "s1", T).await.unwrap().unwrap();
    assert_eq!(p.attempts, 2);
    assert_eq!(s.count_enrolment_attempt("nope").await.unwrap(), None);
    assert!(s.delete_enrolment("e1").await.unwrap());
    assert!(!s.delete_enrolment("e1").await.unwrap(), "once");
    assert_eq!(s.count_enrolment_attempt("e1").await.unwrap(), None);
    assert!(!live(s, "e1", "s1", T).await);
}

/// The sweep drops what has expired at `now` and says how many.
pub async fn sweep_drops_the_expired(s: &dyn EnrolmentStore) {
    create(s, &new("a", "s1", T + 10)).await;
    create(s, &new("b", "s2", T + 10)).await;
    create(s, &new("c", "s3", T + 11)).await;
    assert_eq!(s.sweep_enrolments(T + 9).await.unwrap(), 0);
    assert_eq!(s.sweep_enrolments(T + 10).await.unwrap(), 2);
    assert!(live(s, "c", "s3", T).await);
    assert_eq!(s.sweep_enrolments(T + 10).await.unwrap(), 0);
}

/// N concurrent wrong codes each get their own count, so exactly one of
/// them reaches the limit (5) and retires the enrolment: the limit is never
/// passed unnoticed.
pub async fn concurrent_attempts_each_count(s: Arc<dyn EnrolmentStore>) {
    create(s.as_ref(), &new("e1", "s1", T + 600)).await;
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.count_enrolment_attempt("e1").await.unwrap().unwrap() })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=12).collect::<Vec<i64>>());
    assert_eq!(counts.iter().filter(|c| **c == 5).count(), 1);
}

/// Of concurrent confirmations, exactly one takes the enrolment.
pub async fn concurrent_deletes_win_once(s: Arc<dyn EnrolmentStore>) {
    create(s.as_ref(), &new("e1", "s1", T + 600)).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.delete_enrolment("e1").await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_store_conforms_on_every_backend() {
    conform!(
        "EnrolmentStore",
        |s: Store| async move { enrolments_live_until_their_expiry(&s).await },
        |s: Store| async move { create_replaces_the_sessions_pending_one(&s).await },
        |s: Store| async move { clear_drops_the_sessions_and_the_expired(&s).await },
        |s: Store| async move { attempts_count_until_deleted(&s).await },
        |s: Store| async move { sweep_drops_the_expired(&s).await },
        |s: Store| concurrent_attempts_each_count(Arc::new(s)),
        |s: Store| concurrent_deletes_win_once(Arc::new(s)),
    );
}
