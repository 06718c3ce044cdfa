//! The conformance suite of the storage ports (`sspr_server::ports`): each
//! trait's contract, checked on every backend this machine offers (SQLite,
//! and PostgreSQL where `SSPR_TEST_PG_URL` names a server; `SSPR_REQUIRE_PG=1`
//! makes its absence a failure). The suite's functions take the trait, not
//! the store, so any other implementation is checked by calling them.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Instant;

use sspr_server::ports::{
    AuditFilter, AuditStore, Claim, IpWindow, IpWindowStore, LiveSession, NewAuditEvent,
    NewSession, ProofWindow, SessionStore, SignInLockStore, Stamp, ThrottleHorizons, ThrottleStore,
};
use sspr_server::store::Store;

const T: i64 = 1_800_000_000;

/// Every store: a fresh SQLite file (kept alive by its directory) and a fresh
/// PostgreSQL database (with its URL, to drop it after).
async fn stores() -> Vec<(
    &'static str,
    Store,
    Option<tempfile::TempDir>,
    Option<String>,
)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let mut v = vec![(
        "sqlite",
        Store::open(&url, 4).await.unwrap(),
        Some(dir),
        None,
    )];
    if let Some(pg) = common::postgres_url().await {
        v.push((
            "postgres",
            Store::open(&pg, 4).await.unwrap(),
            None,
            Some(pg),
        ));
    }
    v
}

/// Drops a case's PostgreSQL database: the suite makes one per case, and
/// the test server's disk is shared.
async fn drop_database(store: Store, url: Option<String>) {
    store.pool().close().await;
    let (Some(url), Ok(admin_url)) = (url, std::env::var("SSPR_TEST_PG_URL")) else {
        return;
    };
    let (_, name) = url.rsplit_once('/').unwrap();
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
}

mod throttle {
    use super::*;

    const W: ProofWindow = ProofWindow {
        limit: 3,
        seconds: 100,
    };

    /// Reservations count up to the limit; a refund frees a slot.
    pub async fn reservations_count_to_the_limit(s: &dyn ThrottleStore) {
        for _ in 0..3 {
            assert!(s.reserve_proof("a", W, T).await.unwrap());
        }
        assert!(!s.reserve_proof("a", W, T + 1).await.unwrap(), "full");
        assert!(s.reserve_proof("b", W, T + 1).await.unwrap(), "per subject");
        s.refund_proof("a").await.unwrap();
        assert!(s.reserve_proof("a", W, T + 2).await.unwrap(), "refunded");
        assert!(!s.reserve_proof("a", W, T + 2).await.unwrap());
        // A refund of a subject with no budget is a no-op.
        s.refund_proof("nobody").await.unwrap();
    }

    /// The window starts with its first proof and ends `seconds` later,
    /// forgetting its failures.
    pub async fn windows_expire(s: &dyn ThrottleStore) {
        for _ in 0..3 {
            assert!(s.reserve_proof("a", W, T).await.unwrap());
            assert!(s.fail_reserved_proof("a").await.unwrap().is_some());
        }
        assert!(!s.reserve_proof("a", W, T + 99).await.unwrap(), "still in");
        assert!(
            s.reserve_proof("a", W, T + 100).await.unwrap(),
            "a new window"
        );
        assert_eq!(
            s.fail_reserved_proof("a").await.unwrap(),
            Some(1),
            "failures forgotten"
        );
        // The new window started at T + 100, not at T + 99's refusal.
        assert!(s.reserve_proof("a", W, T + 199).await.unwrap());
        assert!(s.reserve_proof("a", W, T + 199).await.unwrap());
        assert!(
            !s.reserve_proof("a", W, T + 199).await.unwrap(),
            "1 failure + 2"
        );
        assert!(s.reserve_proof("a", W, T + 200).await.unwrap());
    }

    /// A failure keeps its slot: a refund never gives it back.
    pub async fn failures_keep_their_slot(s: &dyn ThrottleStore) {
        assert_eq!(s.fail_reserved_proof("a").await.unwrap(), None, "no budget");
        assert!(s.reserve_proof("a", W, T).await.unwrap());
        assert_eq!(s.fail_reserved_proof("a").await.unwrap(), Some(1));
        s.refund_proof("a").await.unwrap();
        assert!(s.reserve_proof("a", W, T).await.unwrap());
        assert!(s.reserve_proof("a", W, T).await.unwrap());
        assert!(
            !s.reserve_proof("a", W, T).await.unwrap(),
            "1 failure + 2 in flight"
        );
        assert_eq!(s.fail_reserved_proof("a").await.unwrap(), Some(2));
    }

    /// Unreserved failures count in the same budget, in windows of their own.
    pub async fn unreserved_failures_count(s: &dyn ThrottleStore) {
        for n in 1..=4 {
            assert_eq!(
                s.fail_unreserved_proof("u", 100, T + n).await.unwrap(),
                Some(n)
            );
        }
        assert!(
            !s.reserve_proof("u", W, T + 5).await.unwrap(),
            "budget spent"
        );
        assert_eq!(
            s.fail_unreserved_proof("u", 100, T + 101).await.unwrap(),
            Some(1),
            "a new window at T + 101"
        );
        assert!(s.reserve_proof("u", W, T + 102).await.unwrap());
    }

    /// A block runs until its end; only one that has ended is replaced.
    pub async fn blocks_start_once(s: &dyn ThrottleStore) {
        assert_eq!(s.blocked_until("a").await.unwrap(), None);
        assert!(s.start_block("a", T + 10, T).await.unwrap());
        assert!(!s.start_block("a", T + 20, T + 5).await.unwrap(), "running");
        assert_eq!(s.blocked_until("a").await.unwrap(), Some(T + 10));
        assert_eq!(s.blocked_until("b").await.unwrap(), None, "per subject");
        assert!(s.start_block("a", T + 30, T + 10).await.unwrap(), "ended");
        assert_eq!(s.blocked_until("a").await.unwrap(), Some(T + 30));
    }

    /// One claim per account and target per cooldown.
    pub async fn cooldowns_claim_once(s: &dyn ThrottleStore) {
        assert_eq!(
            s.claim_cooldown("acct", "t1", 60, T).await.unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            s.claim_cooldown("acct", "t1", 60, T + 59).await.unwrap(),
            Claim::HeldSince(T)
        );
        assert_eq!(
            s.claim_cooldown("acct", "t2", 60, T + 1).await.unwrap(),
            Claim::Claimed,
            "another target"
        );
        assert_eq!(
            s.claim_cooldown("other", "t1", 60, T + 1).await.unwrap(),
            Claim::Claimed,
            "another account"
        );
        assert_eq!(
            s.claim_cooldown("acct", "t1", 60, T + 60).await.unwrap(),
            Claim::Claimed,
            "lapsed"
        );
        assert_eq!(
            s.claim_cooldown("acct", "t1", 60, T + 61).await.unwrap(),
            Claim::HeldSince(T + 60)
        );
    }

    /// Sends are counted strictly after `since`, per subject.
    pub async fn sends_are_counted_in_their_window(s: &dyn ThrottleStore) {
        assert_eq!(s.sends_since("a", T).await.unwrap(), 0);
        assert_eq!(s.oldest_send_since("a", T).await.unwrap(), None);
        for at in [T, T + 5, T + 5, T + 9] {
            s.log_send("a", at).await.unwrap();
        }
        s.log_send("b", T + 6).await.unwrap();
        assert_eq!(s.sends_since("a", T - 1).await.unwrap(), 4);
        assert_eq!(s.sends_since("a", T).await.unwrap(), 3);
        assert_eq!(s.oldest_send_since("a", T).await.unwrap(), Some(T + 5));
        assert_eq!(s.sends_since("a", T + 9).await.unwrap(), 0);
        assert_eq!(s.oldest_send_since("a", T + 9).await.unwrap(), None);
        assert_eq!(s.sends_since("b", T).await.unwrap(), 1);
    }

    /// Housekeeping forgets what is at or past each horizon, and no more.
    pub async fn sweep_forgets_the_past(s: &dyn ThrottleStore) {
        assert!(s.reserve_proof("old", W, T).await.unwrap());
        assert!(s.reserve_proof("new", W, T + 10).await.unwrap());
        assert!(s.start_block("old", T + 5, T).await.unwrap());
        assert!(s.start_block("new", T + 50, T).await.unwrap());
        s.claim_cooldown("a", "old", 60, T).await.unwrap();
        s.claim_cooldown("a", "new", 60, T + 10).await.unwrap();
        s.log_send("a", T).await.unwrap();
        s.log_send("a", T + 10).await.unwrap();
        s.sweep_throttles(ThrottleHorizons {
            budgets: T,
            blocks: T + 5,
            cooldowns: T,
            sends: T,
        })
        .await
        .unwrap();
        assert_eq!(s.fail_reserved_proof("old").await.unwrap(), None);
        assert_eq!(s.fail_reserved_proof("new").await.unwrap(), Some(1));
        assert_eq!(s.blocked_until("old").await.unwrap(), None);
        assert_eq!(s.blocked_until("new").await.unwrap(), Some(T + 50));
        // A swept cooldown is claimed afresh even within its 60 s.
        assert_eq!(
            s.claim_cooldown("a", "old", 60, T + 1).await.unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            s.claim_cooldown("a", "new", 60, T + 11).await.unwrap(),
            Claim::HeldSince(T + 10)
        );
        assert_eq!(s.sends_since("a", T - 1).await.unwrap(), 1);
    }

    /// N concurrent reservations against a limit of L: exactly L succeed.
    /// The domain relies on it: no proof is evaluated past the budget.
    pub async fn concurrent_reservations_never_pass_the_limit(s: Arc<dyn ThrottleStore>) {
        let w = ProofWindow {
            limit: 5,
            seconds: 100,
        };
        let tasks: Vec<_> = (0..24)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.reserve_proof("race", w, T).await.unwrap() })
            })
            .collect();
        let mut granted = 0;
        for t in tasks {
            granted += i32::from(t.await.unwrap());
        }
        assert_eq!(granted, 5);
    }

    /// Concurrent unreserved failures each see their own count, and one
    /// start of a block wins: a block is audited once.
    pub async fn concurrent_failures_and_blocks_count_once(s: Arc<dyn ThrottleStore>) {
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move {
                    let n = s.fail_unreserved_proof("race", 100, T).await.unwrap();
                    let started = s.start_block("race", T + 10, T).await.unwrap();
                    (n.unwrap(), started)
                })
            })
            .collect();
        let (mut counts, mut started) = (Vec::new(), 0);
        for t in tasks {
            let (n, s) = t.await.unwrap();
            counts.push(n);
            started += i32::from(s);
        }
        counts.sort_unstable();
        assert_eq!(counts, (1..=16).collect::<Vec<i64>>());
        assert_eq!(started, 1);
    }

    /// Of concurrent claims of one cooldown, one wins.
    pub async fn concurrent_claims_win_once(s: Arc<dyn ThrottleStore>) {
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.claim_cooldown("acct", "t", 60, T).await.unwrap() })
            })
            .collect();
        let mut claimed = 0;
        for t in tasks {
            match t.await.unwrap() {
                Claim::Claimed => claimed += 1,
                Claim::HeldSince(at) => assert_eq!(at, T),
            }
        }
        assert_eq!(claimed, 1);
    }
}

mod ip_window {
    use super::*;

    /// Hits counted in memory arrive several at once, into the window they
    /// belong to, or start a new one with all of them.
    pub async fn hits_arrive_several_at_once(s: &dyn IpWindowStore) {
        let w = |hits, start| Some(IpWindow { hits, start });
        assert_eq!(s.add_ip_hits("k", 5, 60, T).await.unwrap(), w(5, T));
        assert_eq!(s.add_ip_hits("k", 3, 60, T + 59).await.unwrap(), w(8, T));
        assert_eq!(s.hit_ip_window("k", 60, T + 59).await.unwrap(), w(9, T));
        assert_eq!(
            s.add_ip_hits("k", 2, 60, T + 60).await.unwrap(),
            w(2, T + 60),
            "a new window"
        );
    }

    /// Hits count per key; a window ends `seconds` after its first hit.
    pub async fn windows_count_and_expire(s: &dyn IpWindowStore) {
        for n in 1..=3 {
            assert_eq!(
                s.hit_ip_window("k", 60, T + n).await.unwrap(),
                Some(IpWindow {
                    hits: n,
                    start: T + 1
                })
            );
        }
        assert_eq!(
            s.hit_ip_window("other", 60, T + 3).await.unwrap(),
            Some(IpWindow {
                hits: 1,
                start: T + 3
            }),
            "per key"
        );
        assert_eq!(
            s.hit_ip_window("k", 60, T + 60)
                .await
                .unwrap()
                .unwrap()
                .hits,
            4,
            "still in"
        );
        assert_eq!(
            s.hit_ip_window("k", 60, T + 61).await.unwrap(),
            Some(IpWindow {
                hits: 1,
                start: T + 61
            }),
            "a new window"
        );
    }

    /// A sweep drops windows that started by its horizon and says how many.
    pub async fn sweep_counts_what_it_drops(s: &dyn IpWindowStore) {
        s.hit_ip_window("a", 60, T).await.unwrap();
        s.hit_ip_window("b", 60, T + 1).await.unwrap();
        s.hit_ip_window("c", 60, T + 2).await.unwrap();
        assert_eq!(s.sweep_ip_windows(T + 1).await.unwrap(), 2);
        assert_eq!(s.sweep_ip_windows(T + 1).await.unwrap(), 0);
        assert_eq!(
            s.hit_ip_window("a", 60, T + 3).await.unwrap().unwrap().hits,
            1,
            "swept"
        );
        assert_eq!(
            s.hit_ip_window("c", 60, T + 3).await.unwrap().unwrap().hits,
            2
        );
    }

    /// Concurrent hits each see their own count.
    pub async fn concurrent_hits_each_count(s: Arc<dyn IpWindowStore>) {
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.hit_ip_window("race", 600, T).await.unwrap() })
            })
            .collect();
        let mut hits = Vec::new();
        for t in tasks {
            let w = t.await.unwrap().unwrap();
            assert_eq!(w.start, T);
            hits.push(w.hits);
        }
        hits.sort_unstable();
        assert_eq!(hits, (1..=32).collect::<Vec<i64>>());
    }
}

mod audit {
    use super::*;

    fn event<'a>(
        id: &'a str,
        at: i64,
        activity: &'a str,
        target: Option<&'a str>,
    ) -> NewAuditEvent<'a> {
        NewAuditEvent {
            id,
            at,
            activity,
            actor: "bob",
            target,
            ip: "10.0.0.1",
            success: true,
            ..NewAuditEvent::default()
        }
    }

    const ALL: AuditFilter<'static> = AuditFilter {
        activity: None,
        target: None,
        since: None,
        limit: 100,
    };

    /// Every field comes back as written.
    pub async fn events_read_back_whole(s: &dyn AuditStore) {
        let e = NewAuditEvent {
            id: "e1",
            at: T,
            activity: "Reset password (self-service)",
            actor: "bob@example.com",
            target: Some("bob"),
            method: Some("email"),
            success: false,
            ip: "2001:db8::/64",
            flow: Some("0123456789ab"),
            detail: Some("wrong code"),
        };
        s.append_audit(&e).await.unwrap();
        s.append_audit(&event("e2", T, "x", None)).await.unwrap();
        let rows = s.audit_events(&ALL).await.unwrap();
        assert_eq!(rows.len(), 2);
        let r = &rows[0];
        assert_eq!(
            (r.id.as_str(), r.at, r.activity.as_str(), r.actor.as_str()),
            (e.id, e.at, e.activity, e.actor)
        );
        assert_eq!(
            (
                r.target.as_deref(),
                r.method.as_deref(),
                r.success,
                r.ip.as_str()
            ),
            (e.target, e.method, e.success, e.ip)
        );
        assert_eq!((r.flow.as_deref(), r.detail.as_deref()), (e.flow, e.detail));
        let r = &rows[1];
        assert!(r.success);
        assert_eq!(
            (
                r.target.as_deref(),
                r.method.as_deref(),
                r.flow.as_deref(),
                r.detail.as_deref()
            ),
            (None, None, None, None)
        );
        assert!(
            s.append_audit(&event("e2", T + 1, "y", None))
                .await
                .is_err(),
            "an id is stored once"
        );
    }

    /// Events come back in time order, whatever order they were appended in,
    /// filtered on activity, target and time, and limited from the oldest.
    pub async fn events_are_ordered_and_filtered(s: &dyn AuditStore) {
        let appended = [
            event("c", T + 2, "flow", Some("bob")),
            event("a", T, "flow", Some("bob")),
            event("b", T + 1, "reset", Some("bob")),
            event("d", T + 3, "flow", Some("alice")),
            event("e", T + 3, "flow", None),
        ];
        for e in &appended {
            s.append_audit(e).await.unwrap();
        }
        let ids = |rows: Vec<sspr_server::ports::AuditRow>| {
            rows.into_iter().map(|r| r.id).collect::<Vec<_>>().join("")
        };
        assert_eq!(ids(s.audit_events(&ALL).await.unwrap()), "abcde");
        let flow = AuditFilter {
            activity: Some("flow"),
            ..ALL
        };
        assert_eq!(ids(s.audit_events(&flow).await.unwrap()), "acde");
        let bob = AuditFilter {
            target: Some("bob"),
            ..flow
        };
        assert_eq!(ids(s.audit_events(&bob).await.unwrap()), "ac");
        let recent = AuditFilter {
            since: Some(T + 2),
            ..ALL
        };
        assert_eq!(ids(s.audit_events(&recent).await.unwrap()), "cde");
        let first_two = AuditFilter { limit: 2, ..ALL };
        assert_eq!(ids(s.audit_events(&first_two).await.unwrap()), "ab");
        let none = AuditFilter {
            activity: Some("unknown"),
            ..ALL
        };
        assert!(s.audit_events(&none).await.unwrap().is_empty());
    }
}

mod sign_in_lock {
    use super::*;

    /// Checks in flight count up to a round; a released one frees its slot;
    /// a stale one no longer counts.
    pub async fn checks_count_to_a_round(s: &dyn SignInLockStore) {
        for _ in 0..3 {
            assert!(s.reserve_sign_in_check("k", 3, T - 60, T).await.unwrap());
        }
        assert!(
            !s.reserve_sign_in_check("k", 3, T - 60, T).await.unwrap(),
            "full"
        );
        assert!(
            s.reserve_sign_in_check("j", 3, T - 60, T).await.unwrap(),
            "per key"
        );
        s.release_sign_in_check("k").await.unwrap();
        assert!(
            s.reserve_sign_in_check("k", 3, T - 60, T + 1)
                .await
                .unwrap()
        );
        assert!(
            !s.reserve_sign_in_check("k", 3, T - 60, T + 1)
                .await
                .unwrap()
        );
        // Reserved at or before `stale`: forgotten, this one is the first.
        assert!(
            s.reserve_sign_in_check("k", 3, T + 1, T + 61)
                .await
                .unwrap()
        );
        assert!(
            s.reserve_sign_in_check("k", 3, T + 1, T + 61)
                .await
                .unwrap()
        );
        assert!(
            s.reserve_sign_in_check("k", 3, T + 1, T + 61)
                .await
                .unwrap()
        );
        assert!(
            !s.reserve_sign_in_check("k", 3, T + 1, T + 61)
                .await
                .unwrap()
        );
    }

    /// Failures count; the one that ends a round locks; a lock refuses
    /// checks until it ends; a pass forgets failures and lock.
    pub async fn failures_lock_and_a_pass_clears(s: &dyn SignInLockStore) {
        assert_eq!(s.sign_in_locked_until("k").await.unwrap(), None);
        for n in 1..=3 {
            assert!(s.reserve_sign_in_check("k", 3, T - 60, T).await.unwrap());
            assert_eq!(s.fail_sign_in_check("k", 3, T + 60).await.unwrap(), Some(n));
        }
        assert_eq!(s.sign_in_locked_until("k").await.unwrap(), Some(T + 60));
        assert!(
            !s.reserve_sign_in_check("k", 3, T - 60, T + 59)
                .await
                .unwrap(),
            "locked"
        );
        s.lock_sign_in("k", T + 120).await.unwrap();
        assert_eq!(s.sign_in_locked_until("k").await.unwrap(), Some(T + 120));
        assert!(!s.reserve_sign_in_check("k", 3, T, T + 119).await.unwrap());
        assert!(
            s.reserve_sign_in_check("k", 3, T, T + 120).await.unwrap(),
            "ended"
        );
        assert_eq!(
            s.fail_sign_in_check("k", 3, T + 200).await.unwrap(),
            Some(4)
        );
        assert_eq!(
            s.sign_in_locked_until("k").await.unwrap(),
            Some(T + 120),
            "a new round locks only at its end"
        );
        assert!(s.reserve_sign_in_check("k", 3, T, T + 121).await.unwrap());
        s.pass_sign_in_check("k").await.unwrap();
        assert_eq!(s.sign_in_locked_until("k").await.unwrap(), None);
        for _ in 0..3 {
            assert!(s.reserve_sign_in_check("k", 3, T, T + 122).await.unwrap());
        }
        // A failure with no reservation (none in flight) still counts.
        assert_eq!(s.fail_sign_in_check("new", 3, T).await.unwrap(), Some(1));
    }

    /// A pass keeps the slots of checks still in flight.
    pub async fn a_pass_keeps_checks_in_flight(s: &dyn SignInLockStore) {
        for _ in 0..3 {
            assert!(s.reserve_sign_in_check("k", 3, T - 60, T).await.unwrap());
        }
        s.pass_sign_in_check("k").await.unwrap();
        assert!(s.reserve_sign_in_check("k", 3, T - 60, T).await.unwrap());
        assert!(!s.reserve_sign_in_check("k", 3, T - 60, T).await.unwrap());
    }

    /// N concurrent checks against a round of 10: exactly 10 reserved.
    pub async fn concurrent_checks_never_pass_a_round(s: Arc<dyn SignInLockStore>) {
        let tasks: Vec<_> = (0..24)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move {
                    s.reserve_sign_in_check("race", 10, T - 60, T)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut reserved = 0;
        for t in tasks {
            reserved += i32::from(t.await.unwrap());
        }
        assert_eq!(reserved, 10);
    }
}

mod session {
    use super::*;
    use sspr_proto::security_info::SignedInWith;

    /// Sessions belong to users: the store refuses one for nobody.
    pub async fn user(store: &Store, id: &str) {
        sqlx::query(
            "INSERT INTO users (id, username, display_name, password_hash, password_changed_at, created_at) \
             VALUES ($1, $1, $1, '-', 0, 0)",
        )
        .bind(id)
        .execute(store.pool())
        .await
        .unwrap();
    }

    async fn pass(store: &Store, id: &str, expires_at: i64, revoked_at: Option<i64>) {
        sqlx::query(
            "INSERT INTO access_passes (id, user_id, pass_hash, one_time, created_at, expires_at, revoked_at) \
             VALUES ($1, 'u1', '-', 0, 0, $2, $3)",
        )
        .bind(id)
        .bind(expires_at)
        .bind(revoked_at)
        .execute(store.pool())
        .await
        .unwrap();
    }

    fn new<'a>(hash: &'a str, expires: i64, epoch: i64) -> NewSession<'a> {
        NewSession {
            hash,
            user_id: "u1",
            created: T,
            expires,
            via: SignedInWith::Password,
            epoch,
            pass_id: None,
        }
    }

    /// A stored session is live until it expires or is deleted.
    pub async fn sessions_live_until_they_end(s: &dyn SessionStore) {
        s.insert_session(&new("h1", T + 100, 0)).await.unwrap();
        let live = s.live_session("h1", T + 99).await.unwrap().unwrap();
        assert_eq!(
            live,
            LiveSession {
                user_id: "u1".into(),
                via: SignedInWith::Password,
                auth_at: T,
                mfa_at: 0
            }
        );
        assert_eq!(
            s.live_session("h1", T + 100).await.unwrap(),
            None,
            "expired"
        );
        assert_eq!(s.live_session("nope", T).await.unwrap(), None);
        s.stamp_session("h1", Stamp::Auth, T + 5).await.unwrap();
        s.stamp_session("h1", Stamp::Mfa, T + 7).await.unwrap();
        let live = s.live_session("h1", T + 8).await.unwrap().unwrap();
        assert_eq!((live.auth_at, live.mfa_at), (T + 5, T + 7));
        s.delete_session("h1").await.unwrap();
        s.delete_session("h1").await.unwrap();
        assert_eq!(s.live_session("h1", T).await.unwrap(), None, "deleted");
    }

    /// Housekeeping deletes what expired at or before its time, and no more.
    pub async fn sweeps_take_the_expired_only(s: &dyn SessionStore) {
        s.insert_session(&new("h1", T + 100, 0)).await.unwrap();
        s.insert_session(&new("h2", T + 101, 0)).await.unwrap();
        assert_eq!(s.sweep_sessions(T + 99).await.unwrap().0, 0);
        assert_eq!(s.sweep_sessions(T + 100).await.unwrap().0, 1, "at expiry");
        assert_eq!(s.live_session("h1", T).await.unwrap(), None);
        assert!(s.live_session("h2", T + 100).await.unwrap().is_some());
        assert_eq!(s.sweep_sessions(T + 100).await.unwrap(), (0, 0));
    }

    /// A pass session lives while its pass is neither revoked nor expired.
    pub async fn pass_sessions_end_with_their_pass(store: Store) {
        pass(&store, "p1", T + 50, None).await;
        pass(&store, "p2", T + 50, Some(T)).await;
        let s: &dyn SessionStore = &store;
        for (hash, pass_id) in [("h1", "p1"), ("h2", "p2")] {
            s.insert_session(&NewSession {
                via: SignedInWith::TemporaryAccessPass,
                pass_id: Some(pass_id),
                ..new(hash, T + 100, 0)
            })
            .await
            .unwrap();
        }
        let live = s.live_session("h1", T + 49).await.unwrap().unwrap();
        assert_eq!(live.via, SignedInWith::TemporaryAccessPass);
        assert_eq!(
            s.live_session("h1", T + 50).await.unwrap(),
            None,
            "pass expired"
        );
        assert_eq!(
            s.live_session("h2", T + 1).await.unwrap(),
            None,
            "pass revoked"
        );
    }

    /// Epochs start at 0 and move by one; a session of an old epoch is dead.
    pub async fn epochs_move_on(s: &dyn SessionStore) {
        assert_eq!(s.session_epoch("u1").await.unwrap(), 0);
        s.insert_session(&new("h1", T + 100, 0)).await.unwrap();
        assert_eq!(s.bump_session_epoch("u1").await.unwrap(), Some(1));
        assert_eq!(s.session_epoch("u1").await.unwrap(), 1);
        assert_eq!(s.session_epoch("u2").await.unwrap(), 0, "per user");
        assert_eq!(s.live_session("h1", T).await.unwrap(), None, "old epoch");
        s.insert_session(&new("h2", T + 100, 1)).await.unwrap();
        assert!(s.live_session("h2", T).await.unwrap().is_some());
    }

    /// Ending a user's sessions keeps one, moved to the new epoch, and counts
    /// the live ones ended; the expired go too.
    pub async fn ending_sessions_keeps_one(s: &dyn SessionStore) {
        s.insert_session(&new("keep", T + 100, 0)).await.unwrap();
        s.insert_session(&new("live", T + 100, 0)).await.unwrap();
        s.insert_session(&new("old", T + 10, 0)).await.unwrap();
        s.insert_session(&NewSession {
            user_id: "u2",
            ..new("other", T + 100, 0)
        })
        .await
        .unwrap();
        let epoch = s.bump_session_epoch("u1").await.unwrap().unwrap();
        assert_eq!(
            s.end_sessions_but("u1", "keep", epoch, T + 20)
                .await
                .unwrap(),
            1
        );
        assert!(
            s.live_session("keep", T + 20).await.unwrap().is_some(),
            "kept"
        );
        assert_eq!(s.live_session("live", T).await.unwrap(), None);
        assert!(
            s.live_session("other", T).await.unwrap().is_some(),
            "per user"
        );
        // The expired one went: moving the epoch back cannot revive it.
        assert_eq!(
            s.end_sessions_but("u1", "-", epoch, T).await.unwrap(),
            1,
            "only keep"
        );
    }

    /// Proofs are kept once per kind, latest time, read most recent first.
    pub async fn proofs_are_read_newest_first(s: &dyn SessionStore) {
        s.insert_session(&new("h1", T + 100, 0)).await.unwrap();
        s.record_session_proof("h1", "email", T).await.unwrap();
        s.record_session_proof("h1", "sms", T + 1).await.unwrap();
        s.record_session_proof("h1", "totp", T + 1).await.unwrap();
        assert_eq!(
            s.session_proofs_since("h1", T).await.unwrap(),
            ["sms", "totp", "email"]
        );
        s.record_session_proof("h1", "email", T + 2).await.unwrap();
        assert_eq!(
            s.session_proofs_since("h1", T + 1).await.unwrap(),
            ["email", "sms", "totp"]
        );
        assert_eq!(
            s.session_proofs_since("h1", T + 2).await.unwrap(),
            ["email"]
        );
        assert!(s.session_proofs_since("h2", T).await.unwrap().is_empty());
        s.delete_session("h1").await.unwrap();
        assert!(
            s.session_proofs_since("h1", T).await.unwrap().is_empty(),
            "they go with their session"
        );
    }

    /// Concurrent moves of one epoch each get their own.
    pub async fn concurrent_bumps_each_count(s: Arc<dyn SessionStore>) {
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.bump_session_epoch("u1").await.unwrap().unwrap() })
            })
            .collect();
        let mut epochs = Vec::new();
        for t in tasks {
            epochs.push(t.await.unwrap());
        }
        epochs.sort_unstable();
        assert_eq!(epochs, (1..=12).collect::<Vec<i64>>());
    }
}

/// Runs each case on a fresh store of every backend, and prints how long the
/// cases took on each (opening and migrating the stores not counted).
macro_rules! conform {
    ($trait:literal, $($case:expr),+ $(,)?) => {{
        let mut took: Vec<(&'static str, std::time::Duration)> = Vec::new();
        $(
            for (backend, store, _keep, pg) in stores().await {
                let started = Instant::now();
                $case(store.clone()).await;
                match took.iter_mut().find(|(b, _)| *b == backend) {
                    Some((_, d)) => *d += started.elapsed(),
                    None => took.push((backend, started.elapsed())),
                }
                drop_database(store, pg).await;
            }
        )+
        for (backend, d) in took {
            eprintln!("{} conformance on {backend}: {d:?}", $trait);
        }
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_store_conforms_on_every_backend() {
    use throttle::*;
    conform!(
        "ThrottleStore",
        |s: Store| async move { reservations_count_to_the_limit(&s).await },
        |s: Store| async move { windows_expire(&s).await },
        |s: Store| async move { failures_keep_their_slot(&s).await },
        |s: Store| async move { unreserved_failures_count(&s).await },
        |s: Store| async move { blocks_start_once(&s).await },
        |s: Store| async move { cooldowns_claim_once(&s).await },
        |s: Store| async move { sends_are_counted_in_their_window(&s).await },
        |s: Store| async move { sweep_forgets_the_past(&s).await },
        |s: Store| concurrent_reservations_never_pass_the_limit(Arc::new(s)),
        |s: Store| concurrent_failures_and_blocks_count_once(Arc::new(s)),
        |s: Store| concurrent_claims_win_once(Arc::new(s)),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_window_store_conforms_on_every_backend() {
    use ip_window::*;
    conform!(
        "IpWindowStore",
        |s: Store| async move { windows_count_and_expire(&s).await },
        |s: Store| async move { hits_arrive_several_at_once(&s).await },
        |s: Store| async move { sweep_counts_what_it_drops(&s).await },
        |s: Store| concurrent_hits_each_count(Arc::new(s)),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_store_conforms_on_every_backend() {
    use audit::*;
    conform!(
        "AuditStore",
        |s: Store| async move { events_read_back_whole(&s).await },
        |s: Store| async move { events_are_ordered_and_filtered(&s).await },
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_lock_store_conforms_on_every_backend() {
    use sign_in_lock::*;
    conform!(
        "SignInLockStore",
        |s: Store| async move { checks_count_to_a_round(&s).await },
        |s: Store| async move { failures_lock_and_a_pass_clears(&s).await },
        |s: Store| async move { a_pass_keeps_checks_in_flight(&s).await },
        |s: Store| concurrent_checks_never_pass_a_round(Arc::new(s)),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_store_conforms_on_every_backend() {
    use session::*;
    /// Two users, for the foreign key sessions hold.
    async fn users(s: Store) -> Store {
        user(&s, "u1").await;
        user(&s, "u2").await;
        s
    }
    conform!(
        "SessionStore",
        |s: Store| async move { sessions_live_until_they_end(&users(s).await).await },
        |s: Store| async move { sweeps_take_the_expired_only(&users(s).await).await },
        |s: Store| async move { pass_sessions_end_with_their_pass(users(s).await).await },
        |s: Store| async move { epochs_move_on(&users(s).await).await },
        |s: Store| async move { ending_sessions_keeps_one(&users(s).await).await },
        |s: Store| async move { proofs_are_read_newest_first(&users(s).await).await },
        |s: Store| async move { concurrent_bumps_each_count(Arc::new(users(s).await)).await },
    );
}

#[path = "ports/enrolments.rs"]
mod enrolments;
#[path = "ports/methods.rs"]
mod methods;
#[path = "ports/outbox.rs"]
mod outbox;
#[path = "ports/tap.rs"]
mod tap;

#[path = "ports/flows.rs"]
mod flows;
#[path = "ports/insights.rs"]
mod insights;
#[path = "ports/passkeys.rs"]
mod passkeys;
