//! The LDAP connector against a real OpenLDAP `slapd` with the ppolicy
//! overlay, over verified TLS on loopback.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use axum::http::StatusCode;
use common::slapd::*;
use common::*;
use serde_json::json;
use sspr_server::clock::Clock;
use sspr_server::config::Config;
use sspr_server::directory::ldap::LdapDirectory;
use sspr_server::directory::{Directory, DirectoryError, Rejection};
use sspr_server::secret::Secret;
use sspr_server::store::Store;

async fn connector(
    slapd: &Slapd,
    starttls: bool,
    store: Store,
    clock: Arc<dyn Clock>,
) -> LdapDirectory {
    let text = format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n{}",
        slapd.config(starttls)
    );
    let config = Config::from_str_at(&text, Path::new("/test/sspr.toml"), []).unwrap();
    LdapDirectory::new(
        config.directory.kind,
        config.directory.ldap.clone().unwrap(),
        store,
        clock,
    )
    .unwrap()
}

async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    (Store::open(&url, 4).await.unwrap(), dir)
}

async fn fresh(slapd: &Slapd) -> (LdapDirectory, tempfile::TempDir) {
    let (store, dir) = sqlite().await;
    let clock = Arc::new(sspr_server::clock::ManualClock::at(T0));
    (connector(slapd, false, store, clock).await, dir)
}

fn pw(s: &str) -> Secret {
    Secret::new(s)
}

#[tokio::test]
async fn users_groups_admins_and_policy_come_from_the_directory() {
    if !slapd_available() {
        return;
    }
    let slapd = Slapd::start();
    let (dir, _t) = fresh(&slapd).await;
    dir.check().await.unwrap();

    let alice = dir.find_user("alice").await.unwrap().expect("by uid");
    assert_eq!(alice.display_name, "Alice Archer");
    assert_eq!(alice.email.as_deref(), Some("alice@example.org"));
    assert_eq!(alice.mobile.as_deref(), Some("+15551230001"));
    assert!(alice.id.starts_with("ldap:"), "{}", alice.id);
    assert!(!alice.is_admin && alice.enabled && alice.locked_until.is_none());
    let by_mail = dir
        .find_user("Alice@Example.org")
        .await
        .unwrap()
        .expect("by mail");
    assert_eq!(by_mail.id, alice.id);
    assert_eq!(
        dir.user_by_id(&alice.id).await.unwrap().unwrap().username,
        "alice"
    );
    assert!(
        dir.user_by_id("ldap:00000000-0000-0000-0000-000000000000")
            .await
            .unwrap()
            .is_none()
    );
    assert!(dir.user_by_id("builtin-id").await.unwrap().is_none());

    // Filter metacharacters are data, never syntax.
    for probe in ["*", "alic*", "*)(uid=*", "alice)(|(uid=*", "\\", ""] {
        assert!(dir.find_user(probe).await.unwrap().is_none(), "{probe:?}");
    }
    let odd = dir
        .find_user("o+brien, jr")
        .await
        .unwrap()
        .expect("escaped DN and filter");
    assert_eq!(odd.display_name, "Pat O'Brien");
    assert!(
        dir.verify_password(&odd, &pw("Obrien-Strong-Pass-55"))
            .await
            .unwrap()
    );

    let mut groups = dir.groups_of(&alice).await.unwrap();
    groups.sort();
    assert_eq!(groups, ["everyone", "staff"], "nested membership resolved");
    let carol = dir.find_user("carol").await.unwrap().unwrap();
    assert!(carol.is_admin, "admin through a nested group");
    let admins = dir.administrators().await.unwrap();
    assert_eq!(
        admins
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["carol"]
    );

    let rules = dir.password_rules(&alice).await.unwrap();
    assert_eq!(
        rules.min_length,
        Some(PPOLICY_MIN as u16),
        "ppolicy joins the checklist"
    );
    assert!(!rules.complexity);
}

#[tokio::test]
async fn a_reset_reaches_the_directory_and_ppolicy_reasons_come_back() {
    if !slapd_available() {
        return;
    }
    let slapd = Slapd::start();
    let (dir, _t) = fresh(&slapd).await;
    let alice = dir.find_user("alice").await.unwrap().unwrap();

    // Long enough for the portal (8) but not for the directory's policy (10).
    let short = "Qz7#mLp2v";
    assert_eq!(short.len(), PPOLICY_MIN - 1);
    match dir.set_password(&alice, &pw(short)).await {
        Err(DirectoryError::PasswordRejected(Rejection::TooShort)) => {}
        other => panic!("expected too short, got {other:?}"),
    }
    assert!(
        slapd.whoami(ALICE_DN, ALICE_PW),
        "a refusal changes nothing"
    );

    let new = "Tangerine-Vortex-Quill-88";
    dir.set_password(&alice, &pw(new)).await.unwrap();
    assert!(
        slapd.whoami(ALICE_DN, new),
        "ldapwhoami with the new password"
    );
    assert!(
        !slapd.whoami(ALICE_DN, ALICE_PW),
        "the old password stops working"
    );
    assert!(dir.verify_password(&alice, &pw(new)).await.unwrap());
    assert!(!dir.verify_password(&alice, &pw(ALICE_PW)).await.unwrap());
    assert!(
        !dir.verify_password(&alice, &pw("")).await.unwrap(),
        "no unauthenticated bind"
    );

    // ppolicy keeps history: the old password cannot come back.
    match dir.set_password(&alice, &pw(ALICE_PW)).await {
        Err(DirectoryError::PasswordRejected(Rejection::InHistory)) => {}
        other => panic!("expected in history, got {other:?}"),
    }

    // A change as the user proves the old password first.
    let newer = "Marmalade-Cobalt-Harbor-42";
    assert!(matches!(
        dir.change_password(&alice, &pw("wrong-Password-1"), &pw(newer))
            .await,
        Err(DirectoryError::WrongPassword)
    ));
    dir.change_password(&alice, &pw(new), &pw(newer))
        .await
        .unwrap();
    assert!(slapd.whoami(ALICE_DN, newer));
    assert!(!slapd.whoami(ALICE_DN, new));
}

#[tokio::test]
async fn a_users_own_policy_applies_and_a_second_change_is_too_young() {
    if !slapd_available() {
        return;
    }
    let slapd = Slapd::start();
    let (dir, _t) = fresh(&slapd).await;
    let dave = dir.find_user("dave").await.unwrap().unwrap();
    let rules = dir.password_rules(&dave).await.unwrap();
    assert_eq!(
        rules.min_length,
        Some(STRICT_MIN as u16),
        "pwdPolicySubentry wins"
    );
    let first = "Saffron-Glacier-Otter-17";
    dir.change_password(&dave, &pw(DAVE_PW), &pw(first))
        .await
        .unwrap();
    match dir
        .change_password(&dave, &pw(first), &pw("Copper-Meadow-Lynx-29"))
        .await
    {
        Err(DirectoryError::PasswordRejected(Rejection::TooYoung)) => {}
        other => panic!("a second change within pwdMinAge: {other:?}"),
    }
    assert!(
        slapd.whoami(DAVE_DN, first),
        "the refused change changed nothing"
    );
}

#[tokio::test]
async fn a_lockout_is_read_and_cleared() {
    if !slapd_available() {
        return;
    }
    let slapd = Slapd::start();
    let (dir, _t) = fresh(&slapd).await;
    let carol = dir.find_user("carol").await.unwrap().unwrap();
    for _ in 0..3 {
        assert!(!slapd.whoami(&format!("uid=carol,ou=people,{SUFFIX}"), "wrong"));
    }
    assert!(
        !slapd.whoami(
            &format!("uid=carol,ou=people,{SUFFIX}"),
            "Carol-Strong-Pass-77"
        ),
        "locked"
    );
    let locked = dir.find_user("carol").await.unwrap().unwrap();
    assert!(
        locked.is_locked(T0),
        "pwdAccountLockedTime read: {locked:?}"
    );
    dir.unlock(&carol).await.unwrap();
    assert!(!dir.find_user("carol").await.unwrap().unwrap().is_locked(T0));
    assert!(slapd.whoami(
        &format!("uid=carol,ou=people,{SUFFIX}"),
        "Carol-Strong-Pass-77"
    ));
    // Unlocking an unlocked account is not an error.
    dir.unlock(&carol).await.unwrap();
}

#[tokio::test]
async fn the_certificate_is_verified_and_starttls_works() {
    if !slapd_available() {
        return;
    }
    let slapd = Slapd::start();
    let (store, _t) = sqlite().await;
    let clock: Arc<dyn Clock> = Arc::new(sspr_server::clock::ManualClock::at(T0));
    let tls = connector(&slapd, true, store.clone(), clock.clone()).await;
    tls.check().await.unwrap();
    assert!(tls.find_user("alice").await.unwrap().is_some());

    // Another CA: the same server must be refused.
    let other = tempfile::tempdir().unwrap();
    make_certs(other.path(), "someone else's CA");
    let text = format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n{}",
        slapd.config(false)
    )
    .replace(
        &slapd.ca_file().display().to_string(),
        &other.path().join("ca.pem").display().to_string(),
    );
    let config = Config::from_str_at(&text, Path::new("/t/sspr.toml"), []).unwrap();
    let wrong = LdapDirectory::new(
        config.directory.kind,
        config.directory.ldap.unwrap(),
        store,
        clock,
    )
    .unwrap();
    match wrong.find_user("alice").await {
        Err(DirectoryError::Unavailable(why)) => assert!(why.contains("connecting"), "{why}"),
        other => panic!("an untrusted certificate must fail, got {other:?}"),
    }

    // Cleartext is refused before it is tried.
    let plain = format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n{}",
        slapd.config(true)
    )
    .replace("starttls = true", "starttls = false");
    let e = Config::from_str_at(&plain, Path::new("/t/sspr.toml"), []).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("directory.ldap.url"));
    assert!(e.to_string().contains("sends passwords in clear"), "{e}");
}

#[tokio::test]
async fn a_directory_outage_mid_reset_is_clear_and_a_retry_succeeds() {
    if !slapd_available() {
        return;
    }
    let mut slapd = Slapd::start();
    let mut h = harness(false).await;
    let mut state = h.state.clone();
    let dir = connector(&slapd, false, state.store.clone(), state.clock.clone()).await;
    state.directory = Arc::new(dir);
    // alice's email and authenticator app, registered against her directory id.
    sspr_server::methods::seed_demo(&state).await.unwrap();
    h.app = sspr_server::app(state.clone());

    let flow = reset_to_new_password(&h, "alice@example.org").await;
    let v = flow.clone();
    assert_eq!(
        shown(&v)["password"]["rules"]["min_length"],
        PPOLICY_MIN,
        "the directory's minimum joins the checklist: {v}"
    );

    // The directory goes down between the last check and the submit.
    slapd.stop();
    let new = "Tangerine-Vortex-Quill-88";
    let (s, e) = submit_password(&h, &flow["flow"], new).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{e}");
    assert_eq!(e["error"]["id"], "directory.unavailable");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("can't be reached") && !msg.contains("127.0.0.1"),
        "{msg}"
    );
    // Showing the step needs the directory too: the same clear error, nothing lost.
    let (s, e) =
        status_json(post(&h.app, "/api/reset/state", &json!({ "flow": flow["flow"] })).await).await;
    assert_eq!(
        (s, e["error"]["id"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("directory.unavailable")
        )
    );
    let done = completed_resets(&h).await;
    assert_eq!(done, 0, "nothing recorded as completed");

    // Back up: the flow is still at its step, finishes, and the directory has the password.
    slapd.resume();
    let (_, v) =
        status_json(post(&h.app, "/api/reset/state", &json!({ "flow": flow["flow"] })).await).await;
    assert_eq!(
        shown(&v)["step"],
        "new_password",
        "the flow stays at its step: {v}"
    );
    let (s, v) = submit_password(&h, &flow["flow"], new).await;
    assert_eq!(
        (s, shown(&v)["step"].as_str()),
        (StatusCode::OK, Some("done")),
        "{v}"
    );
    assert!(slapd.whoami(ALICE_DN, new));
    assert!(!slapd.whoami(ALICE_DN, ALICE_PW));
}

#[tokio::test]
async fn sspr_directory_check_reports_the_connection_and_a_user() {
    if !slapd_available() {
        return;
    }
    let mut slapd = Slapd::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sspr.toml");
    let db = dir.path().join("s.db");
    std::fs::write(
        &config,
        format!(
            "[store]\nurl = \"sqlite://{}?mode=rwc\"\n{}",
            db.display(),
            slapd.config(true)
        ),
    )
    .unwrap();
    let check = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sspr"))
            .arg("--config")
            .arg(&config)
            .args(["directory", "check"])
            .args(args)
            .env("SSPR_LOG", "error")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = check(&["--user", "carol"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("(TLS verified), bound as cn=sspr,ou=services"),
        "{out}"
    );
    assert!(out.contains("user: carol (Carol Chen)"), "{out}");
    assert!(out.contains("administrator true"), "{out}");
    assert!(
        out.contains("groups (nested included): tier2, helpdesk-admins"),
        "{out}"
    );
    assert!(
        out.contains(&format!("minimum length {PPOLICY_MIN}")),
        "{out}"
    );

    let (code, _, err) = check(&["--user", "nobody"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no single user matches \"nobody\""), "{err}");

    slapd.stop();
    let (code, _, err) = check(&[]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(&slapd.ldap_url()) && err.contains("connecting"),
        "{err}"
    );
}

#[tokio::test]
async fn a_dead_directory_server_is_skipped_and_preferred_again_once_back() {
    if !slapd_available() {
        return;
    }
    let mut first = Slapd::start();
    let mut second = Slapd::start();
    let (store, _db) = sqlite().await;
    let clock = sspr_server::clock::ManualClock::at(T0);
    // One CA file for both servers' test CAs.
    let cas = tempfile::NamedTempFile::new().unwrap();
    let pem = [first.ca_file(), second.ca_file()]
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<String>();
    std::fs::write(cas.path(), pem).unwrap();
    let text = format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n{}",
        first.config(false)
    )
    .replace(
        &format!("url = \"{}\"", first.ldaps_url()),
        &format!(
            "url = [\"{}\", \"{}\"]",
            first.ldaps_url(),
            second.ldaps_url()
        ),
    )
    .replace(
        &first.ca_file().display().to_string(),
        &cas.path().display().to_string(),
    );
    let config = Config::from_str_at(&text, Path::new("/test/sspr.toml"), []).unwrap();
    let dir = LdapDirectory::new(
        config.directory.kind,
        config.directory.ldap.clone().unwrap(),
        store,
        Arc::new(clock.clone()),
    )
    .unwrap();
    let up = |dir: &LdapDirectory| -> Vec<bool> {
        dir.servers()
            .iter()
            .map(|s| s.down_until.is_none())
            .collect()
    };
    let alice = || async {
        let u = dir.find_user("alice").await.unwrap().unwrap();
        assert!(
            dir.verify_password(&u, &pw(ALICE_PW)).await.unwrap(),
            "alice's password binds"
        );
    };
    alice().await;
    assert_eq!(up(&dir), [true, true]);
    let each: Vec<bool> = dir
        .check_each()
        .await
        .iter()
        .map(|(_, r)| r.is_ok())
        .collect();
    assert_eq!(each, [true, true]);

    // The first server dies: searches and user binds go on through the
    // second, and the first is passed over.
    first.stop();
    alice().await;
    assert_eq!(up(&dir), [false, true]);
    let each = dir.check_each().await;
    assert!(each[0].1.is_err() && each[1].1.is_ok(), "{each:?}");
    assert_eq!(each[0].0, first.ldaps_url());

    // It comes back. Within the 30 s it stays passed over; after them it is
    // preferred again: with the second now down, nothing even tries it.
    first.resume();
    clock.advance(10);
    alice().await;
    assert_eq!(up(&dir), [false, true]);
    clock.advance(21);
    second.stop();
    alice().await;
    assert_eq!(
        up(&dir),
        [true, true],
        "the first is back in use and the second was never needed"
    );

    // Both down: a clear error, not a hang; the first back: it works at once.
    dir.ready().await.unwrap();
    first.stop();
    let e = dir.find_user("alice").await.unwrap_err();
    assert!(matches!(e, DirectoryError::Unavailable(_)), "{e:?}");
    assert!(dir.ready().await.is_err(), "readiness sees no server");
    first.resume();
    alice().await;
    dir.ready().await.unwrap();
}
