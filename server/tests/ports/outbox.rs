//! `OutboxStore` and `OutboxTx`: rows added on the caller's connection,
//! claimed under a lease by one worker each, rescheduled, released,
//! superseded, dropped, and the bound the caller's room sets.

use std::collections::HashSet;

use sspr_server::ports::{ChangeStore, NewOutboxRow, OutboxDepth, OutboxStore, OutboxTx};

use super::*;

/// A row of `kind` for `subject`, due at `next_at`.
fn row<'a>(id: &'a str, kind: &'a str, subject: Option<&'a str>, next_at: i64) -> NewOutboxRow<'a> {
    NewOutboxRow {
        id,
        kind,
        channel: "mail",
        account: Some("alice"),
        subject,
        payload: "v1:sealed",
        created_at: T,
        not_after: Some(T + 300),
        next_at,
    }
}

async fn add(c: &mut dyn OutboxTx, id: &str, next_at: i64) {
    assert!(
        c.enqueue_outbox(&row(id, "message", None, next_at), 1_000)
            .await
            .unwrap()
    );
}

async fn ids(s: &dyn OutboxStore, now: i64) -> Vec<String> {
    let mut v: Vec<String> = s
        .claim_outbox(now, now + 30, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    v.sort();
    v
}

/// A row is claimed once due, whole, with its attempt counted; a claimed
/// row is nobody else's while its lease runs. The earliest due go first.
pub async fn rows_are_claimed_once_due(s: &dyn OutboxStore, c: &mut dyn OutboxTx) {
    add(c, "later", T + 10).await;
    add(c, "first", T - 5).await;
    add(c, "second", T).await;
    let claimed = s.claim_outbox(T, T + 30, 1).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let r = &claimed[0];
    assert_eq!(r.id, "first", "the earliest due first");
    assert_eq!(
        (r.kind.as_str(), r.channel.as_str(), r.account.as_deref()),
        ("message", "mail", Some("alice"))
    );
    assert_eq!(
        (r.payload.as_str(), r.created_at, r.not_after, r.attempts),
        ("v1:sealed", T, Some(T + 300), 1)
    );
    assert_eq!(ids(s, T).await, ["second"], "not yet due: later");
    assert!(ids(s, T + 9).await.is_empty(), "the rest are leased");
    assert_eq!(ids(s, T + 10).await, ["later"], "due at next_at");
}

/// A lease ends at its boundary: the row is free again from `lease_until`
/// on, and the new claim counts another attempt.
pub async fn a_lease_ends_at_its_boundary(s: &dyn OutboxStore, c: &mut dyn OutboxTx) {
    add(c, "r", T).await;
    assert_eq!(s.claim_outbox(T, T + 30, 16).await.unwrap().len(), 1);
    assert!(s.claim_outbox(T + 29, T + 59, 16).await.unwrap().is_empty());
    let again = s.claim_outbox(T + 30, T + 60, 16).await.unwrap();
    assert_eq!(again.len(), 1, "free at lease_until");
    assert_eq!(again[0].attempts, 2);
}

/// A rescheduled row is free of its lease, due at its new time, with the
/// attempts it was given; a rewritten payload is what the next claim reads.
pub async fn reschedule_and_rewrite(s: &dyn OutboxStore, c: &mut dyn OutboxTx) {
    add(c, "r", T).await;
    let r = s.claim_outbox(T, T + 30, 16).await.unwrap().remove(0);
    s.rewrite_outbox_payload(&r.id, "v1:rewritten")
        .await
        .unwrap();
    s.reschedule_outbox(&r.id, T + 100, 0, None).await.unwrap();
    assert!(ids(s, T + 99).await.is_empty());
    let r = s
        .claim_outbox(T + 100, T + 130, 16)
        .await
        .unwrap()
        .remove(0);
    assert_eq!((r.attempts, r.payload.as_str()), (1, "v1:rewritten"));
    // A failed try keeps its count and its error.
    s.reschedule_outbox(&r.id, T + 110, 1, Some("421 try later"))
        .await
        .unwrap();
    let r = s
        .claim_outbox(T + 110, T + 140, 16)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(r.attempts, 2);
    // Rescheduling or rewriting a row that is gone is a no-op.
    s.reschedule_outbox("gone", T, 0, None).await.unwrap();
    s.rewrite_outbox_payload("gone", "x").await.unwrap();
}

/// A newer row supersedes the waiting rows of its kind and subject, and
/// only those.
pub async fn supersede_drops_one_kind_and_subject(s: &dyn OutboxStore, c: &mut dyn OutboxTx) {
    for (id, kind, subject) in [
        ("a1", "code", Some("a:alice")),
        ("a2", "code", Some("a:alice")),
        ("b", "code", Some("a:bob")),
        ("n", "message", Some("a:alice")),
        ("x", "code", None),
    ] {
        assert!(
            c.enqueue_outbox(&row(id, kind, subject, T), 100)
                .await
                .unwrap()
        );
    }
    // One of them claimed: superseded all the same.
    assert_eq!(s.claim_outbox(T, T + 30, 1).await.unwrap().len(), 1);
    c.supersede_outbox("code", "a:alice").await.unwrap();
    c.supersede_outbox("code", "a:nobody").await.unwrap();
    assert_eq!(s.outbox_depth().await.unwrap().rows, 3);
    let left = ids(s, T + 30).await;
    assert_eq!(left, ["b", "n", "x"]);
}

/// The bound: a row is refused once the outbox holds `room` rows, claimed
/// ones counted; a caller with more room (a notice) still gets in.
pub async fn the_bound_refuses_at_the_room_given(s: &dyn OutboxStore, c: &mut dyn OutboxTx) {
    for id in ["1", "2", "3"] {
        assert!(
            c.enqueue_outbox(&row(id, "code", None, T), 3)
                .await
                .unwrap()
        );
    }
    assert!(
        !c.enqueue_outbox(&row("4", "code", None, T), 3)
            .await
            .unwrap()
    );
    let _ = s.claim_outbox(T, T + 30, 1).await.unwrap();
    assert!(
        !c.enqueue_outbox(&row("4", "code", None, T), 3)
            .await
            .unwrap(),
        "claimed rows count"
    );
    // Notices have a tenth more room (the caller's policy); at 3 + 1:
    assert!(
        c.enqueue_outbox(&row("n1", "message", None, T), 4)
            .await
            .unwrap()
    );
    assert!(
        !c.enqueue_outbox(&row("n2", "message", None, T), 4)
            .await
            .unwrap()
    );
    assert_eq!(
        s.outbox_depth().await.unwrap(),
        OutboxDepth {
            rows: 4,
            oldest: Some(T)
        }
    );
}

/// Held rows: a release makes a never-tried row due now; a row already
/// tried keeps its backoff. A delete (a cancel, a handled row) drops it.
pub async fn release_and_cancel(s: &dyn OutboxStore, c: &mut dyn OutboxTx) {
    add(c, "held", T + 60).await;
    add(c, "cancelled", T + 60).await;
    add(c, "tried", T).await;
    let tried = s.claim_outbox(T, T + 30, 16).await.unwrap().remove(0);
    s.reschedule_outbox(&tried.id, T + 50, 1, Some("down"))
        .await
        .unwrap();
    for id in ["held", "tried", "nobody"] {
        s.release_outbox_row(id, T + 1).await.unwrap();
    }
    s.delete_outbox_row("cancelled").await.unwrap();
    s.delete_outbox_row("nobody").await.unwrap();
    assert_eq!(ids(s, T + 1).await, ["held"]);
    s.delete_outbox_row("held").await.unwrap();
    assert!(ids(s, T + 49).await.is_empty(), "tried: its backoff kept");
    assert_eq!(ids(s, T + 50).await, ["tried"]);
    assert!(ids(s, T + 60).await.is_empty(), "cancelled");
}

/// The depth counts every row, claimed or not, and names the oldest.
pub async fn depth_counts_every_row(s: &dyn OutboxStore, c: &mut dyn OutboxTx) {
    assert_eq!(
        s.outbox_depth().await.unwrap(),
        OutboxDepth {
            rows: 0,
            oldest: None
        }
    );
    let mut young = row("young", "message", None, T);
    young.created_at = T + 5;
    assert!(c.enqueue_outbox(&young, 10).await.unwrap());
    add(c, "old", T).await;
    let _ = s.claim_outbox(T, T + 30, 1).await.unwrap();
    assert_eq!(
        s.outbox_depth().await.unwrap(),
        OutboxDepth {
            rows: 2,
            oldest: Some(T)
        }
    );
}

/// What a transaction adds goes with it: rolled back, never claimed.
pub async fn enqueue_in(tx: &mut dyn OutboxTx) {
    add(tx, "rolled-back", T).await;
}

pub async fn nothing_waits(s: &dyn OutboxStore) {
    assert_eq!(s.outbox_depth().await.unwrap().rows, 0);
    assert!(ids(s, T).await.is_empty());
}

/// N workers claiming at once, again and again until the queue is empty:
/// every row goes to exactly one of them.
pub async fn concurrent_claims_take_each_row_once(s: Arc<dyn OutboxStore>, c: &mut dyn OutboxTx) {
    let n = 60;
    for i in 0..n {
        add(c, &format!("r{i:02}"), T).await;
    }
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let rows = s.claim_outbox(T, T + 30, 4).await.unwrap();
                    if rows.is_empty() {
                        return got;
                    }
                    got.extend(rows.into_iter().map(|r| r.id));
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut busy = 0;
    for w in workers {
        let got = w.await.unwrap();
        busy += usize::from(!got.is_empty());
        all.extend(got);
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), n, "each row claimed once");
    assert_eq!(distinct.len(), n);
    eprintln!("outbox claims: {n} rows over {busy} of 8 workers");
}

/// Enqueuers in their own transactions at once (as concurrent resets'
/// code sends are) never pass the room between them: 8 callers of 3 rows
/// each against room for 10 leave exactly 10.
pub async fn concurrent_enqueuers_keep_to_the_room<S>(s: Arc<S>)
where
    S: OutboxStore + ChangeStore + 'static,
{
    let callers: Vec<_> = (0..8)
        .map(|c| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut change = s.begin_change().await.unwrap();
                let mut added = 0;
                for i in 0..3 {
                    let id = format!("c{c}-{i}");
                    if change
                        .enqueue_outbox(&row(&id, "message", None, T), 10)
                        .await
                        .unwrap()
                    {
                        added += 1;
                    }
                    tokio::task::yield_now().await;
                }
                change.commit().await.unwrap();
                added
            })
        })
        .collect();
    let mut added = 0;
    for c in callers {
        added += c.await.unwrap();
    }
    assert_eq!(added, 10, "the callers were told 10 rows went in");
    assert_eq!(s.outbox_depth().await.unwrap().rows, 10, "and 10 are there");
}

/// A pooled connection for [`OutboxTx`] (each statement its own
/// transaction), as a caller outside a transaction would use.
async fn conn(s: &Store) -> sqlx::pool::PoolConnection<sqlx::Any> {
    s.pool().acquire().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_store_conforms_on_every_backend() {
    conform!(
        "OutboxStore",
        |s: Store| async move { rows_are_claimed_once_due(&s, &mut *conn(&s).await).await },
        |s: Store| async move { a_lease_ends_at_its_boundary(&s, &mut *conn(&s).await).await },
        |s: Store| async move { reschedule_and_rewrite(&s, &mut *conn(&s).await).await },
        |s: Store| async move { supersede_drops_one_kind_and_subject(&s, &mut *conn(&s).await).await },
        |s: Store| async move { the_bound_refuses_at_the_room_given(&s, &mut *conn(&s).await).await },
        |s: Store| async move { release_and_cancel(&s, &mut *conn(&s).await).await },
        |s: Store| async move { depth_counts_every_row(&s, &mut *conn(&s).await).await },
        |s: Store| async move {
            let mut tx = s.pool().begin().await.unwrap();
            enqueue_in(&mut tx).await;
            tx.rollback().await.unwrap();
            nothing_waits(&s).await;
        },
        |s: Store| async move {
            let mut c = conn(&s).await;
            concurrent_claims_take_each_row_once(Arc::new(s), &mut *c).await;
        },
        |s: Store| async move { concurrent_enqueuers_keep_to_the_room(Arc::new(s)).await },
    );
}
