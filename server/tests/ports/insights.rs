//! `InsightsStore` and `AlertTx`: figures counted per UTC day and method
//! from known audit rows, the trail read newest first and page by page,
//! the retention's purge at its boundary, and the alerts' stamp, once an
//! hour however many nodes ask.

use sspr_server::ports::{
    ActivityQuery, After, AlertTx, AuditStore, DayCount, EventQuery, InsightsStore, NewAuditEvent,
    ThrottleStore,
};

use super::*;

const DAY: i64 = 86_400;
/// Midnight (UTC) of a day, so the day boundaries are plain to see.
const D0: i64 = (T / DAY) * DAY;

/// An event: id, time, activity, actor (and target), method, success, detail.
type Ev<'a> = (
    &'a str,
    i64,
    &'a str,
    &'a str,
    Option<&'a str>,
    bool,
    Option<&'a str>,
);

/// Appends `e`.
async fn event<S: AuditStore + ?Sized>(s: &S, e: Ev<'_>) {
    let (id, at, activity, actor, method, success, detail) = e;
    s.append_audit(&NewAuditEvent {
        id,
        at,
        activity,
        actor,
        target: Some(actor),
        method,
        success,
        ip: "192.0.2.1",
        detail,
        ..Default::default()
    })
    .await
    .unwrap();
}

const QUERY: ActivityQuery<'static> = ActivityQuery {
    since: D0,
    until: D0 + 2 * DAY,
    skip_actor: "(no account)",
    completed: &["reset", "blocked"],
    progress: "progress",
    passed: "passed",
    failed: "wrong",
};

fn count(day: i64, activity: &str, method: Option<&str>, success: bool, n: i64) -> DayCount {
    DayCount {
        day: D0 / DAY + day,
        activity: activity.into(),
        method: method.map(str::to_string),
        success,
        n,
    }
}

/// Each day, activity, method and result counted apart, from exactly the
/// rows the query names: successes of the completed activities, proofs
/// passed or wrong, in `[since, until)`, nobody's left out.
pub async fn figures_count_per_day_and_method<S: InsightsStore + AuditStore>(s: &S) {
    let rows: &[Ev<'_>] = &[
        ("before", D0 - 1, "reset", "alice", None, true, None),
        ("r1", D0, "reset", "alice", None, true, None),
        ("r2", D0 + DAY - 1, "reset", "bob", None, true, None),
        ("r3", D0 + DAY, "reset", "bob", None, true, None),
        ("r-failed", D0 + 5, "reset", "bob", None, false, None),
        ("b1", D0 + 7, "blocked", "carol", None, true, None),
        ("other", D0 + 8, "registered", "carol", None, true, None),
        (
            "p1",
            D0 + 9,
            "progress",
            "alice",
            Some("email"),
            true,
            Some("passed"),
        ),
        (
            "p2",
            D0 + 10,
            "progress",
            "alice",
            Some("email"),
            true,
            Some("passed"),
        ),
        (
            "p3",
            D0 + 11,
            "progress",
            "alice",
            Some("sms"),
            false,
            Some("wrong"),
        ),
        (
            "p4",
            D0 + 12,
            "progress",
            "alice",
            Some("sms"),
            true,
            Some("wrong"),
        ),
        (
            "p5",
            D0 + 13,
            "progress",
            "alice",
            Some("sms"),
            true,
            Some("identified"),
        ),
        (
            "decoy",
            D0 + 14,
            "progress",
            "(no account)",
            Some("email"),
            false,
            Some("wrong"),
        ),
        (
            "last",
            D0 + 2 * DAY - 1,
            "blocked",
            "dave",
            None,
            true,
            None,
        ),
        ("after", D0 + 2 * DAY, "reset", "alice", None, true, None),
    ];
    for &e in rows {
        event(s, e).await;
    }
    let mut got = s.activity_by_day(&QUERY).await.unwrap();
    got.sort_by(|a, b| {
        (a.day, &a.activity, &a.method, a.success).cmp(&(b.day, &b.activity, &b.method, b.success))
    });
    assert_eq!(
        got,
        [
            count(0, "blocked", None, true, 1),
            count(0, "progress", Some("email"), true, 2),
            count(0, "progress", Some("sms"), false, 1),
            count(0, "reset", None, true, 2),
            count(1, "blocked", None, true, 1),
            count(1, "reset", None, true, 1),
        ]
    );
    // No completed activity named: the proofs alone.
    let proofs = s
        .activity_by_day(&ActivityQuery {
            completed: &[],
            ..QUERY
        })
        .await
        .unwrap();
    assert_eq!(proofs.iter().map(|c| c.n).sum::<i64>(), 3);
    // The last hour's successes of one activity: `(after, up_to]`.
    let t = D0 + 2 * DAY - 1;
    assert_eq!(s.successes_between("blocked", t - 1, t).await.unwrap(), 1);
    assert_eq!(s.successes_between("blocked", t, t + 5).await.unwrap(), 0);
    assert_eq!(
        s.successes_between("reset", D0, D0 + 5).await.unwrap(),
        0,
        "r1 at D0 excluded; r-failed no success"
    );
    assert_eq!(
        s.successes_between("reset", D0 - 1, D0 + DAY)
            .await
            .unwrap(),
        3
    );
    // Details counted (where NULL sorts differs by backend: none here).
    let detail = |d: &str, n| (Some(d.to_string()), n);
    assert_eq!(
        s.count_by_detail("progress").await.unwrap(),
        [
            detail("identified", 1),
            detail("passed", 2),
            detail("wrong", 3)
        ]
    );
    assert!(s.count_by_detail("nothing").await.unwrap().is_empty());
    let activities = s.audit_activities().await.unwrap();
    assert_eq!(activities, ["blocked", "progress", "registered", "reset"]);
}

/// The trail newest first, filtered (a user as actor or target in any
/// letter case, an activity, a result); and page by page after a cursor,
/// ties broken by id, `until` excluded.
pub async fn events_read_newest_first_and_by_page<S: InsightsStore + AuditStore>(s: &S) {
    for (id, at, activity, actor, success) in [
        ("a", T, "reset", "Bob", true),
        ("b", T, "reset", "alice", false),
        ("c", T + 1, "signin", "bob", false),
        ("d", T + 2, "reset", "carol", true),
        ("e", T + 3, "reset", "bob", true),
    ] {
        event(s, (id, at, activity, actor, None, success, Some("x"))).await;
    }
    let ids = |rows: Vec<sspr_server::ports::AuditRow>| {
        rows.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    let all = EventQuery::default();
    assert_eq!(
        ids(s.newest_events(&all, 10).await.unwrap()),
        ["e", "d", "c", "b", "a"]
    );
    assert_eq!(ids(s.newest_events(&all, 2).await.unwrap()), ["e", "d"]);
    let bob = EventQuery {
        user: Some("BOB"),
        ..all
    };
    assert_eq!(
        ids(s.newest_events(&bob, 10).await.unwrap()),
        ["e", "c", "a"]
    );
    let bob_resets_ok = EventQuery {
        activity: Some("reset"),
        success: Some(true),
        ..bob
    };
    assert_eq!(
        ids(s.newest_events(&bob_resets_ok, 10).await.unwrap()),
        ["e", "a"]
    );
    let failures = EventQuery {
        success: Some(false),
        ..all
    };
    let rows = s.newest_events(&failures, 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| !r.success && r.ip == "192.0.2.1"));
    // Pages: two at a time from T, before T + 3.
    let page = |at, id| After { at, id };
    let p1 = s.events_after(&all, page(T, ""), T + 3, 2).await.unwrap();
    assert_eq!(ids(p1.clone()), ["a", "b"]);
    let last = p1.last().unwrap();
    let p2 = s
        .events_after(&all, page(last.at, &last.id), T + 3, 2)
        .await
        .unwrap();
    assert_eq!(ids(p2), ["c", "d"], "e is at until");
    let p3 = s
        .events_after(&all, page(T + 2, "d"), T + 3, 2)
        .await
        .unwrap();
    assert!(p3.is_empty());
    assert_eq!(
        ids(s
            .events_after(&bob, page(T, "a"), T + 10, 10)
            .await
            .unwrap()),
        ["c", "e"]
    );
}

/// The purge deletes what is strictly older than its boundary, of one
/// activity when named, at most `limit` at a time.
pub async fn purge_at_the_boundary<S: InsightsStore + AuditStore>(s: &S) {
    for (id, at, activity) in [
        ("old1", T - 2, "reset"),
        ("old2", T - 1, "progress"),
        ("old3", T - 1, "progress"),
        ("edge", T, "progress"),
        ("new", T + 1, "reset"),
    ] {
        event(s, (id, at, activity, "alice", None, true, None)).await;
    }
    assert_eq!(s.purge_audit(T, Some("progress"), 1).await.unwrap(), 1);
    assert_eq!(s.purge_audit(T, Some("progress"), 1).await.unwrap(), 1);
    assert_eq!(s.purge_audit(T, Some("progress"), 1).await.unwrap(), 0);
    assert_eq!(s.purge_audit(T, None, 10).await.unwrap(), 1, "old1");
    assert_eq!(s.purge_audit(T, None, 10).await.unwrap(), 0);
    let left: Vec<String> = s
        .newest_events(&EventQuery::default(), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, ["new", "edge"], "at the boundary: kept");
}

/// Users, their methods' kinds and the live blocks of one kind of subject.
pub async fn who_is_registered_and_blocked<S: InsightsStore + ThrottleStore>(s: &S) {
    assert_eq!(s.user_ids().await.unwrap(), ["u1", "u2"]);
    let mut kinds = s.method_kinds().await.unwrap();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("u1".to_string(), "email".to_string()),
            ("u1".to_string(), "sms".to_string())
        ]
    );
    assert!(s.start_block("u:u2", T + 10, T).await.unwrap());
    assert!(s.start_block("u:u1", T + 5, T).await.unwrap());
    assert!(s.start_block("i:bob", T + 10, T).await.unwrap());
    assert_eq!(s.blocked_subjects("u:", T).await.unwrap(), ["u:u1", "u:u2"]);
    assert_eq!(
        s.blocked_subjects("u:", T + 5).await.unwrap(),
        ["u:u2"],
        "ended at until"
    );
    assert!(s.blocked_subjects("u:", T + 10).await.unwrap().is_empty());
}

/// The stamp moves once an hour: not again until `since` reaches it.
pub async fn alert_stamped_once_an_hour(s: &dyn InsightsStore, c: &mut dyn AlertTx) {
    assert_eq!(s.alert_sent_at("resets").await.unwrap(), None);
    assert!(c.stamp_alert("resets", T, T - 3600).await.unwrap());
    assert_eq!(s.alert_sent_at("resets").await.unwrap(), Some(T));
    assert!(!c.stamp_alert("resets", T + 3599, T - 1).await.unwrap());
    assert!(
        c.stamp_alert("blocks", T + 3599, T - 1).await.unwrap(),
        "per kind"
    );
    assert_eq!(s.alert_sent_at("resets").await.unwrap(), Some(T));
    assert!(
        c.stamp_alert("resets", T + 3600, T).await.unwrap(),
        "an hour on"
    );
    assert_eq!(s.alert_sent_at("resets").await.unwrap(), Some(T + 3600));
}

/// Nodes stamping at once, each on its own connection: one wins.
pub async fn concurrent_stamps_win_once(conns: Vec<sqlx::pool::PoolConnection<sqlx::Any>>) {
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move { (*c).stamp_alert("resets", T, T - 3600).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += i32::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
}

/// Two users, one with two methods.
async fn registered(s: Store) -> Store {
    super::session::user(&s, "u1").await;
    super::session::user(&s, "u2").await;
    for (id, kind) in [("m1", "email"), ("m2", "sms")] {
        sqlx::query(
            "INSERT INTO auth_methods (id, user_id, kind, created_at, confirmed_at) \
             VALUES ($1, 'u1', $2, 0, 0)",
        )
        .bind(id)
        .bind(kind)
        .execute(s.pool())
        .await
        .unwrap();
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insights_store_conforms_on_every_backend() {
    conform!(
        "InsightsStore",
        |s: Store| async move { figures_count_per_day_and_method(&s).await },
        |s: Store| async move { events_read_newest_first_and_by_page(&s).await },
        |s: Store| async move { purge_at_the_boundary(&s).await },
        |s: Store| async move { who_is_registered_and_blocked(&registered(s).await).await },
        |s: Store| async move {
            let mut c = s.pool().acquire().await.unwrap();
            alert_stamped_once_an_hour(&s, &mut *c).await;
        },
        |s: Store| async move {
            let mut conns = Vec::new();
            for _ in 0..4 {
                conns.push(s.pool().acquire().await.unwrap());
            }
            concurrent_stamps_win_once(conns).await;
        },
    );
}
