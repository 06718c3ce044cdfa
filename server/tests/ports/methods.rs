//! `MethodStore`: the stored methods, their recovery codes and answers, the
//! last TOTP step, the codes sent at reset and the review stamps.

use std::sync::Arc;

use sspr_server::ports::{ChangeGuard, MethodStore, NewMethodRow};
use sspr_server::store::Store;

use super::*;

fn row<'a>(id: &'a str, user_id: &'a str, kind: &'a str, at: i64) -> NewMethodRow<'a> {
    NewMethodRow {
        id,
        user_id,
        kind,
        target: Some("t"),
        secret_sealed: None,
        used_step: None,
        at,
    }
}

/// Adds methods in one committed change.
async fn add(s: &dyn MethodStore, rows: &[NewMethodRow<'_>]) {
    let mut c = s
        .begin_method_change(rows[0].user_id, ChangeGuard::None)
        .await
        .unwrap()
        .unwrap();
    for r in rows {
        s.add_method(&mut c, r).await.unwrap();
    }
    c.commit().await.unwrap();
}

/// (id, is_default) of the user's methods, as listed.
async fn listed(s: &dyn MethodStore, user_id: &str) -> Vec<(String, bool)> {
    s.methods_of(user_id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.id, m.is_default))
        .collect()
}

fn ids(v: &[(&str, bool)]) -> Vec<(String, bool)> {
    v.iter().map(|(i, d)| ((*i).to_owned(), *d)).collect()
}

/// Methods read back whole, oldest first; the first is the default; one
/// default at a time; a removed default passes to the oldest left.
pub async fn methods_are_added_listed_and_removed(s: &dyn MethodStore) {
    assert!(s.methods_of("u1").await.unwrap().is_empty());
    let mut totp = row("m3", "u1", "authenticator", T + 2);
    totp.target = None;
    totp.secret_sealed = Some("sealed");
    totp.used_step = Some(7);
    // Added out of order: listed by creation time, then id.
    add(
        s,
        &[
            row("m2", "u1", "sms", T + 1),
            row("m1", "u1", "email", T + 1),
            totp,
        ],
    )
    .await;
    add(s, &[row("x1", "u2", "email", T)]).await;
    let got = s.methods_of("u1").await.unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(
        (
            got[0].id.as_str(),
            got[0].kind.as_str(),
            got[0].target.as_deref()
        ),
        ("m1", "email", Some("t"))
    );
    assert_eq!(got[0].created_at, T + 1);
    assert_eq!(got[2].secret_sealed.as_deref(), Some("sealed"));
    assert_eq!(got[2].target, None);
    // The first one stored (m2) is the default, whatever its order.
    assert_eq!(
        listed(s, "u1").await,
        ids(&[("m1", false), ("m2", true), ("m3", false)])
    );
    assert_eq!(listed(s, "u2").await, ids(&[("x1", true)]), "per user");

    let mut c = s
        .begin_method_change("u1", ChangeGuard::None)
        .await
        .unwrap()
        .unwrap();
    s.set_default_method(&mut c, "u1", "m3").await.unwrap();
    c.commit().await.unwrap();
    assert_eq!(
        listed(s, "u1").await,
        ids(&[("m1", false), ("m2", false), ("m3", true)])
    );
    assert_eq!(listed(s, "u2").await, ids(&[("x1", true)]), "untouched");

    let mut c = s
        .begin_method_change("u1", ChangeGuard::None)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !s.remove_method(&mut c, "u2", "m3", true).await.unwrap(),
        "not theirs"
    );
    assert!(s.remove_method(&mut c, "u1", "m3", true).await.unwrap());
    assert!(
        !s.remove_method(&mut c, "u1", "m3", true).await.unwrap(),
        "gone"
    );
    c.commit().await.unwrap();
    assert_eq!(listed(s, "u1").await, ids(&[("m1", true), ("m2", false)]));

    // A removal that was not the default moves nothing.
    let mut c = s
        .begin_method_change("u1", ChangeGuard::None)
        .await
        .unwrap()
        .unwrap();
    assert!(s.remove_method(&mut c, "u1", "m2", false).await.unwrap());
    c.commit().await.unwrap();
    assert_eq!(listed(s, "u1").await, ids(&[("m1", true)]));
}

/// A change dropped without commit keeps nothing.
pub async fn an_uncommitted_change_keeps_nothing(s: &dyn MethodStore) {
    add(s, &[row("m1", "u1", "email", T)]).await;
    let mut c = s
        .begin_method_change("u1", ChangeGuard::None)
        .await
        .unwrap()
        .unwrap();
    s.add_method(&mut c, &row("m2", "u1", "sms", T))
        .await
        .unwrap();
    s.remove_method(&mut c, "u1", "m1", true).await.unwrap();
    s.store_recovery_codes(&mut c, "m2", &["h".to_owned()])
        .await
        .unwrap();
    drop(c);
    assert_eq!(listed(s, "u1").await, ids(&[("m1", true)]));
    assert_eq!(s.unused_recovery_codes("m2").await.unwrap(), 0);
}

/// The guards: a first proof ignores security questions; a first method
/// counts everything; either fails once the user has what it excludes.
pub async fn guards_open_only_first_changes(s: &dyn MethodStore) {
    for g in [ChangeGuard::FirstProof, ChangeGuard::FirstMethod] {
        assert!(
            s.begin_method_change("u1", g).await.unwrap().is_some(),
            "{g:?}"
        );
    }
    let mut c = s
        .begin_method_change("u1", ChangeGuard::FirstMethod)
        .await
        .unwrap()
        .unwrap();
    s.replace_methods(&mut c, &[], &row("q", "u1", "security_questions", T))
        .await
        .unwrap();
    c.commit().await.unwrap();
    assert!(
        s.begin_method_change("u1", ChangeGuard::FirstProof)
            .await
            .unwrap()
            .is_some(),
        "questions prove nothing"
    );
    assert!(
        s.begin_method_change("u1", ChangeGuard::FirstMethod)
            .await
            .unwrap()
            .is_none()
    );
    add(s, &[row("m1", "u1", "email", T)]).await;
    assert!(
        s.begin_method_change("u1", ChangeGuard::FirstProof)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.begin_method_change("u1", ChangeGuard::None)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.begin_method_change("u2", ChangeGuard::FirstProof)
            .await
            .unwrap()
            .is_some(),
        "per user"
    );
}

/// Of concurrent first registrations, exactly one is first: the others,
/// held behind it, see its method.
pub async fn concurrent_first_registrations_register_once(s: Arc<dyn MethodStore>) {
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let Some(mut c) = s
                .begin_method_change("u1", ChangeGuard::FirstProof)
                .await
                .unwrap()
            else {
                return false;
            };
            let id = format!("m{i}");
            s.add_method(&mut c, &row(&id, "u1", "email", T))
                .await
                .unwrap();
            c.commit().await.unwrap();
            true
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
    assert_eq!(s.methods_of("u1").await.unwrap().len(), 1);
}

/// A replacement drops the old sets with their codes and answers and keeps
/// the one new row, never the default.
pub async fn replace_keeps_one(s: &dyn MethodStore) {
    let mut c = s
        .begin_method_change("u1", ChangeGuard::None)
        .await
        .unwrap()
        .unwrap();
    s.replace_methods(&mut c, &[], &row("r1", "u1", "recovery_code", T))
        .await
        .unwrap();
    s.store_recovery_codes(&mut c, "r1", &["a".to_owned(), "b".to_owned()])
        .await
        .unwrap();
    s.replace_methods(&mut c, &[], &row("q1", "u1", "security_questions", T))
        .await
        .unwrap();
    s.store_answers(&mut c, "q1", &[("q?", "h")]).await.unwrap();
    c.commit().await.unwrap();
    let got = s.methods_of("u1").await.unwrap();
    assert!(got.iter().all(|m| !m.is_default && m.target.is_none()));
    assert_eq!(s.unused_recovery_codes("r1").await.unwrap(), 2);

    let mut c = s
        .begin_method_change("u1", ChangeGuard::None)
        .await
        .unwrap()
        .unwrap();
    s.replace_methods(&mut c, &["r1"], &row("r2", "u1", "recovery_code", T + 1))
        .await
        .unwrap();
    s.replace_methods(
        &mut c,
        &["q1"],
        &row("q2", "u1", "security_questions", T + 1),
    )
    .await
    .unwrap();
    c.commit().await.unwrap();
    assert_eq!(listed(s, "u1").await, ids(&[("q2", false), ("r2", false)]));
    assert_eq!(
        s.unused_recovery_codes("r1").await.unwrap(),
        0,
        "codes went"
    );
    assert!(
        s.questions_of("u1").await.unwrap().is_empty(),
        "answers went"
    );
    assert!(!s.redeem_recovery_code("r1", "a", T).await.unwrap());
}

/// Recovery codes: counted while unused, each redeemed once, per set.
pub async fn recovery_codes_redeem_once(s: &dyn MethodStore) {
    let mut c = s
        .begin_method_change("u1", ChangeGuard::None)
        .await
        .unwrap()
        .unwrap();
    s.replace_methods(&mut c, &[], &row("r1", "u1", "recovery_code", T))
        .await
        .unwrap();
    let hashes: Vec<String> = ["a", "b", "c"].map(str::to_owned).to_vec();
    s.store_recovery_codes(&mut c, "r1", &hashes).await.unwrap();
    c.commit().await.unwrap();
    assert_eq!(s.unused_recovery_codes("r1").await.unwrap(), 3);
    assert!(s.redeem_recovery_code("r1", "b", T).await.unwrap());
    assert!(
        !s.redeem_recovery_code("r1", "b", T + 1).await.unwrap(),
        "used"
    );
    assert!(
        !s.redeem_recovery_code("r1", "z", T).await.unwrap(),
        "unknown"
    );
    assert!(
        !s.redeem_recovery_code("other", "a", T).await.unwrap(),
        "other set"
    );
    assert_eq!(s.unused_recovery_codes("r1").await.unwrap(), 2);
    assert_eq!(s.unused_recovery_codes("other").await.unwrap(), 0);
}

/// A recovery code typed by many at once is redeemed by one.
pub async fn concurrent_redemptions_win_once(s: Arc<dyn MethodStore>) {
    let mut c = s
        .begin_method_change("u1", ChangeGuard::None)
        .await
        .unwrap()
        .unwrap();
    s.replace_methods(&mut c, &[], &row("r1", "u1", "recovery_code", T))
        .await
        .unwrap();
    s.store_recovery_codes(&mut c, "r1", &["a".to_owned()])
        .await
        .unwrap();
    c.commit().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.redeem_recovery_code("r1", "a", T).await.unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
    assert_eq!(s.unused_recovery_codes("r1").await.unwrap(), 0);
}

/// Answers read back in their order, questions and hashes alike, per user.
pub async fn answers_read_back_in_order(s: &dyn MethodStore) {
    assert!(s.answer_hashes_of("u1").await.unwrap().is_empty());
    let mut c = s
        .begin_method_change("u1", ChangeGuard::None)
        .await
        .unwrap()
        .unwrap();
    s.replace_methods(&mut c, &[], &row("q1", "u1", "security_questions", T))
        .await
        .unwrap();
    s.store_answers(
        &mut c,
        "q1",
        &[("Pet?", "h1"), ("City?", "h2"), ("Car?", "h3")],
    )
    .await
    .unwrap();
    c.commit().await.unwrap();
    assert_eq!(
        s.questions_of("u1").await.unwrap(),
        ["Pet?", "City?", "Car?"]
    );
    assert_eq!(s.answer_hashes_of("u1").await.unwrap(), ["h1", "h2", "h3"]);
    assert!(s.questions_of("u2").await.unwrap().is_empty());
}

/// A TOTP step is accepted once, and never one older than the last.
pub async fn totp_steps_claim_forward_only(s: Arc<dyn MethodStore>) {
    add(s.as_ref(), &[row("a1", "u1", "authenticator", T)]).await;
    assert!(s.claim_totp_step("a1", 5).await.unwrap());
    assert!(!s.claim_totp_step("a1", 5).await.unwrap(), "replayed");
    assert!(!s.claim_totp_step("a1", 4).await.unwrap(), "older");
    assert!(s.claim_totp_step("a1", 6).await.unwrap());
    assert!(
        !s.claim_totp_step("nope", 9).await.unwrap(),
        "no such method"
    );
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.claim_totp_step("a1", 10).await.unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "concurrent claims of one step");
}

/// A sent code is used once, by its flow, option and hash, while unexpired.
pub async fn flow_codes_redeem_once_before_expiry(s: Arc<dyn MethodStore>, store: &Store) {
    for flow in ["f1", "f2"] {
        sqlx::query(
            "INSERT INTO reset_flows (id_hash, user_id, subject, state, ip, created_at, expires_at) \
             VALUES ($1, 'u1', 'u1', '{}', '-', 0, $2)",
        )
        .bind(flow)
        .bind(T + 1000)
        .execute(store.pool())
        .await
        .unwrap();
    }
    for (id, flow, hash) in [("c1", "f1", "h1"), ("c2", "f1", "h2"), ("c3", "f2", "h3")] {
        sqlx::query(
            "INSERT INTO reset_codes (id, flow_hash, method_id, code_hash, created_at, expires_at) \
             VALUES ($1, $2, 'opt', $3, $4, $5)",
        )
        .bind(id)
        .bind(flow)
        .bind(hash)
        .bind(T)
        .bind(T + 300)
        .execute(store.pool())
        .await
        .unwrap();
    }
    assert!(
        !s.redeem_flow_code("f2", "opt", "h1", T).await.unwrap(),
        "other flow"
    );
    assert!(
        !s.redeem_flow_code("f1", "other", "h1", T).await.unwrap(),
        "other option"
    );
    assert!(
        !s.redeem_flow_code("f1", "opt", "h3", T).await.unwrap(),
        "other code"
    );
    assert!(
        !s.redeem_flow_code("f1", "opt", "h2", T + 300)
            .await
            .unwrap(),
        "expired at the boundary"
    );
    assert!(
        s.redeem_flow_code("f1", "opt", "h1", T + 299)
            .await
            .unwrap(),
        "live until then"
    );
    assert!(
        !s.redeem_flow_code("f1", "opt", "h1", T + 1).await.unwrap(),
        "used"
    );
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.redeem_flow_code("f2", "opt", "h3", T).await.unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "concurrent redemptions");
}

/// A review stamp: none until made, the latest kept, per user.
pub async fn review_stamps_keep_the_latest(s: &dyn MethodStore) {
    assert_eq!(s.reviewed_at("u1").await.unwrap(), None);
    s.mark_reviewed("u1", T).await.unwrap();
    assert_eq!(s.reviewed_at("u1").await.unwrap(), Some(T));
    s.mark_reviewed("u1", T + 5).await.unwrap();
    assert_eq!(s.reviewed_at("u1").await.unwrap(), Some(T + 5));
    assert_eq!(s.reviewed_at("u2").await.unwrap(), None);
}

/// Two users, for the foreign key methods hold.
async fn users(s: Store) -> Store {
    super::session::user(&s, "u1").await;
    super::session::user(&s, "u2").await;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_store_conforms_on_every_backend() {
    conform!(
        "MethodStore",
        |s: Store| async move { methods_are_added_listed_and_removed(&users(s).await).await },
        |s: Store| async move { an_uncommitted_change_keeps_nothing(&users(s).await).await },
        |s: Store| async move { guards_open_only_first_changes(&users(s).await).await },
        |s: Store| async move {
            concurrent_first_registrations_register_once(Arc::new(users(s).await)).await
        },
        |s: Store| async move { replace_keeps_one(&users(s).await).await },
        |s: Store| async move { recovery_codes_redeem_once(&users(s).await).await },
        |s: Store| async move { concurrent_redemptions_win_once(Arc::new(users(s).await)).await },
        |s: Store| async move { answers_read_back_in_order(&users(s).await).await },
        |s: Store| async move { totp_steps_claim_forward_only(Arc::new(users(s).await)).await },
        |s: Store| async move {
            let s = users(s).await;
            flow_codes_redeem_once_before_expiry(Arc::new(s.clone()), &s).await
        },
        |s: Store| async move { review_stamps_keep_the_latest(&users(s).await).await },
    );
}
