//! `PasskeyStore`: credentials under their method, counters that only move
//! up (one winner among concurrent uses), and ceremonies taken once, only
//! with their purpose and binding, only before they expire.

use super::*;
use sqlx::AnyPool;
use sspr_server::ports::{NewCeremony, NewPasskey, PasskeyStore, Purpose};

/// A user and one `passkey` method row, for the foreign keys a credential holds.
async fn method(pool: &AnyPool, user: &str, method_id: &str) {
    sqlx::query(
        "INSERT INTO users (id, username, display_name, password_hash, password_changed_at, created_at) \
         VALUES ($1, $1, $1, '-', 0, 0) ON CONFLICT (id) DO NOTHING",
    )
    .bind(user)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO auth_methods (id, user_id, kind, is_default, created_at, confirmed_at) \
         VALUES ($1, $2, 'passkey', 0, 0, 0)",
    )
    .bind(method_id)
    .bind(user)
    .execute(pool)
    .await
    .unwrap();
}

fn new<'a>(method_id: &'a str, user: &'a str, cred: &'a str, at: i64) -> NewPasskey<'a> {
    NewPasskey {
        method_id,
        user_id: user,
        credential_id: cred,
        user_handle: "handle-of-user",
        public_key: "{\"k\":1}",
        sign_count: 0,
        name: "Laptop",
        created_at: at,
    }
}

async fn insert(s: &dyn PasskeyStore, _pool: &AnyPool, p: &NewPasskey<'_>) -> bool {
    let mut tx = s.begin_change().await.unwrap();
    let done = s.insert_passkey(&mut tx, p).await.unwrap();
    tx.commit().await.unwrap();
    done
}

/// Inserted credentials read back whole, per user oldest first and by
/// credential id; a credential id is registered once, to anyone; a rename
/// touches only the holder's own.
pub async fn credentials_read_back_and_are_unique(s: &dyn PasskeyStore, pool: &AnyPool) {
    method(pool, "u1", "m1").await;
    method(pool, "u1", "m2").await;
    method(pool, "u2", "m3").await;
    assert!(insert(s, pool, &new("m2", "u1", "cred-b", T + 5)).await);
    assert!(insert(s, pool, &new("m1", "u1", "cred-a", T)).await);
    assert!(
        !insert(s, pool, &new("m3", "u2", "cred-a", T)).await,
        "a credential id belongs to one account"
    );
    let mine = s.passkeys_of("u1").await.unwrap();
    assert_eq!(
        mine.iter()
            .map(|p| p.method_id.as_str())
            .collect::<Vec<_>>(),
        ["m1", "m2"],
        "oldest first"
    );
    assert!(s.passkeys_of("u2").await.unwrap().is_empty());
    let a = s.passkey_by_credential("cred-a").await.unwrap().unwrap();
    assert_eq!(
        (
            a.user_id.as_str(),
            a.user_handle.as_str(),
            a.public_key.as_str(),
            a.sign_count,
            a.name.as_str(),
            a.created_at,
            a.last_used_at,
            a.cloned_at,
        ),
        (
            "u1",
            "handle-of-user",
            "{\"k\":1}",
            0,
            "Laptop",
            T,
            None,
            None
        )
    );
    assert!(s.passkey_by_credential("nope").await.unwrap().is_none());

    assert!(
        !s.rename_passkey("u2", "m1", "Stolen").await.unwrap(),
        "not theirs"
    );
    assert!(s.rename_passkey("u1", "m1", "Phone").await.unwrap());
    assert_eq!(
        s.passkey_by_credential("cred-a")
            .await
            .unwrap()
            .unwrap()
            .name,
        "Phone"
    );

    // Removing the method removes its credential.
    sqlx::query("DELETE FROM auth_methods WHERE id = 'm1'")
        .execute(pool)
        .await
        .unwrap();
    assert!(s.passkey_by_credential("cred-a").await.unwrap().is_none());
    assert_eq!(s.passkeys_of("u1").await.unwrap().len(), 1);
}

/// A rolled-back transaction leaves no credential behind.
pub async fn insert_joins_the_callers_transaction(s: &dyn PasskeyStore, pool: &AnyPool) {
    method(pool, "u1", "m1").await;
    let mut tx = s.begin_change().await.unwrap();
    assert!(
        s.insert_passkey(&mut tx, &new("m1", "u1", "c", T))
            .await
            .unwrap()
    );
    // Dropped uncommitted: rolled back.
    drop(tx);
    assert!(s.passkey_by_credential("c").await.unwrap().is_none());
}

/// A use advances only to a higher count (or 0 after 0), and records the
/// credential and the time; a flagged passkey never advances again.
pub async fn counters_only_move_up(s: &dyn PasskeyStore, pool: &AnyPool) {
    method(pool, "u1", "m1").await;
    method(pool, "u1", "m2").await;
    assert!(insert(s, pool, &new("m1", "u1", "counted", T)).await);
    assert!(insert(s, pool, &new("m2", "u1", "counterless", T)).await);

    assert!(
        s.advance_passkey("m1", 5, "{\"k\":2}", T + 1)
            .await
            .unwrap()
    );
    let p = s.passkey_by_credential("counted").await.unwrap().unwrap();
    assert_eq!(
        (p.sign_count, p.public_key.as_str(), p.last_used_at),
        (5, "{\"k\":2}", Some(T + 1))
    );
    assert!(
        !s.advance_passkey("m1", 5, "{}", T + 2).await.unwrap(),
        "equal"
    );
    assert!(
        !s.advance_passkey("m1", 4, "{}", T + 2).await.unwrap(),
        "lower"
    );
    assert!(
        !s.advance_passkey("m1", 0, "{}", T + 2).await.unwrap(),
        "back to 0"
    );
    let p = s.passkey_by_credential("counted").await.unwrap().unwrap();
    assert_eq!(
        (p.sign_count, p.last_used_at),
        (5, Some(T + 1)),
        "unchanged"
    );
    assert!(s.advance_passkey("m1", 6, "{}", T + 3).await.unwrap());

    // A passkey without a counter reports 0 every time.
    assert!(s.advance_passkey("m2", 0, "{}", T + 1).await.unwrap());
    assert!(s.advance_passkey("m2", 0, "{}", T + 2).await.unwrap());
    assert!(
        s.advance_passkey("m2", 1, "{}", T + 3).await.unwrap(),
        "a counter starts"
    );
    assert!(
        !s.advance_passkey("m2", 0, "{}", T + 4).await.unwrap(),
        "and never goes back"
    );

    s.flag_passkey_cloned("m1", T + 10).await.unwrap();
    s.flag_passkey_cloned("m1", T + 20).await.unwrap();
    let p = s.passkey_by_credential("counted").await.unwrap().unwrap();
    assert_eq!(p.cloned_at, Some(T + 10), "the first flag stays");
    assert!(
        !s.advance_passkey("m1", 100, "{}", T + 30).await.unwrap(),
        "flagged"
    );
    assert!(!s.advance_passkey("missing", 1, "{}", T).await.unwrap());
}

/// Concurrent uses carrying one count: exactly one wins.
pub async fn concurrent_uses_of_one_count_win_once(s: Arc<dyn PasskeyStore>, pool: AnyPool) {
    method(&pool, "u1", "m1").await;
    assert!(insert(s.as_ref(), &pool, &new("m1", "u1", "c", T)).await);
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.advance_passkey("m1", 7, "{}", T).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
}

fn ceremony<'a>(id: &'a str, purpose: Purpose, bound: &'a str, expires_at: i64) -> NewCeremony<'a> {
    NewCeremony {
        id_hash: id,
        purpose,
        bound_to: bound,
        user_id: Some("u1"),
        state: "{\"challenge\":\"x\"}",
        expires_at,
    }
}

/// A ceremony is taken once, with its purpose and binding, before it
/// expires (the boundary is its expiry: at `expires_at` it is gone).
pub async fn ceremonies_are_taken_once(s: &dyn PasskeyStore) {
    s.put_ceremony(&ceremony("c1", Purpose::Register, "sess", T + 10))
        .await
        .unwrap();
    assert!(
        s.take_ceremony("c1", Purpose::Reset, "sess", T)
            .await
            .unwrap()
            .is_none(),
        "another purpose"
    );
    assert!(
        s.take_ceremony("c1", Purpose::Register, "other", T)
            .await
            .unwrap()
            .is_none(),
        "another binding"
    );
    let c = s
        .take_ceremony("c1", Purpose::Register, "sess", T + 9)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.user_id.as_deref(), Some("u1"));
    assert_eq!(c.state, "{\"challenge\":\"x\"}");
    assert!(
        s.take_ceremony("c1", Purpose::Register, "sess", T + 9)
            .await
            .unwrap()
            .is_none(),
        "single use"
    );

    s.put_ceremony(&ceremony("c2", Purpose::SignIn, "page", T + 10))
        .await
        .unwrap();
    assert!(
        s.take_ceremony("c2", Purpose::SignIn, "page", T + 10)
            .await
            .unwrap()
            .is_none(),
        "expired at its expiry"
    );
    s.put_ceremony(&NewCeremony {
        user_id: None,
        ..ceremony("c3", Purpose::Reset, "flow", T + 10)
    })
    .await
    .unwrap();
    s.put_ceremony(&ceremony("c4", Purpose::Reset, "flow", T + 20))
        .await
        .unwrap();
    assert_eq!(s.purge_ceremonies(T + 10).await.unwrap(), 1, "c3 only");
    assert!(
        s.take_ceremony("c3", Purpose::Reset, "flow", T)
            .await
            .unwrap()
            .is_none()
    );
    let c4 = s
        .take_ceremony("c4", Purpose::Reset, "flow", T + 19)
        .await
        .unwrap();
    assert!(c4.is_some());
}

/// Concurrent takes of one ceremony: exactly one gets it.
pub async fn concurrent_takes_win_once(s: Arc<dyn PasskeyStore>) {
    s.put_ceremony(&ceremony("race", Purpose::SignIn, "page", T + 60))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                s.take_ceremony("race", Purpose::SignIn, "page", T)
                    .await
                    .unwrap()
                    .is_some()
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_store_conforms_on_every_backend() {
    conform!(
        "PasskeyStore",
        |s: Store| async move { credentials_read_back_and_are_unique(&s, s.pool()).await },
        |s: Store| async move { insert_joins_the_callers_transaction(&s, s.pool()).await },
        |s: Store| async move { counters_only_move_up(&s, s.pool()).await },
        |s: Store| {
            let pool = s.pool().clone();
            concurrent_uses_of_one_count_win_once(Arc::new(s), pool)
        },
        |s: Store| async move { ceremonies_are_taken_once(&s).await },
        |s: Store| concurrent_takes_win_once(Arc::new(s)),
    );
}
