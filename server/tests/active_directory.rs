//! The Active Directory dialect against a real Samba AD domain controller,
//! over LDAPS on loopback. One test: Samba's LDAP ports are fixed, so one DC.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use axum::http::StatusCode;
use common::samba::*;
use common::*;
use sspr_server::config::Config;
use sspr_server::directory::ldap::LdapDirectory;
use sspr_server::directory::{Directory, DirectoryError, Rejection};
use sspr_server::secret::Secret;

fn pw(s: &str) -> Secret {
    Secret::new(s)
}

#[tokio::test]
async fn samba_ad_reset_change_unlock_policy_and_plain_reasons() {
    if !samba_available() {
        return;
    }
    let dc = SambaDc::start();
    let mut h = harness(false).await;
    let text = format!("[server]\npublic_url = \"{PUBLIC_URL}\"\n{}", dc.config());
    let config = Config::from_str_at(&text, Path::new("/test/sspr.toml"), []).unwrap();
    let dir = Arc::new(
        LdapDirectory::new(
            config.directory.kind,
            config.directory.ldap.clone().unwrap(),
            h.state.store.clone(),
            h.state.clock.clone(),
        )
        .unwrap(),
    );
    dir.check().await.unwrap();

    // Users by sAMAccountName, UPN or mail; objectGUID as the stable id.
    let alice = dir
        .find_user("alice")
        .await
        .unwrap()
        .expect("by sAMAccountName");
    assert!(
        alice.id.starts_with("ad:") && alice.id.len() == 3 + 36,
        "{}",
        alice.id
    );
    assert_eq!(alice.display_name, "Alice Archer");
    assert_eq!(alice.email.as_deref(), Some("alice@sspr.test"));
    assert!(alice.enabled && !alice.is_admin && alice.locked_until.is_none());
    for login in ["alice@sspr.test", "ALICE"] {
        assert_eq!(
            dir.find_user(login).await.unwrap().unwrap().id,
            alice.id,
            "{login}"
        );
    }
    assert_eq!(
        dir.user_by_id(&alice.id).await.unwrap().unwrap().username,
        "alice"
    );
    assert!(dir.find_user("*").await.unwrap().is_none());
    let mut groups = dir.groups_of(&alice).await.unwrap();
    groups.sort();
    assert_eq!(
        groups,
        ["All Staff", "Staff"],
        "nested, by LDAP_MATCHING_RULE_IN_CHAIN"
    );
    let carol = dir.find_user("carol").await.unwrap().unwrap();
    assert!(carol.is_admin, "admin through a nested group");
    let admins: Vec<String> = dir
        .administrators()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(
        admins,
        ["erin", "carol"],
        "protected accounts, then the admin group"
    );
    let erin = dir.find_user("erin").await.unwrap().unwrap();
    assert!(
        erin.is_admin,
        "a Domain Admin needs two gates without any config"
    );

    // The domain policy feeds the checklist before the user submits.
    let rules = dir.password_rules(&alice).await.unwrap();
    assert_eq!(
        (rules.min_length, rules.complexity),
        (Some(DOMAIN_MIN as u16), true)
    );
    // carol's fine-grained policy (msDS-ResultantPSO) is unreadable until
    // granted: the domain's rules stand in, never none.
    let rules = dir.password_rules(&carol).await.unwrap();
    assert_eq!(
        (rules.min_length, rules.complexity),
        (Some(DOMAIN_MIN as u16), true)
    );
    dc.grant_pso_read();
    let fresh = LdapDirectory::new(
        config.directory.kind,
        config.directory.ldap.clone().unwrap(),
        h.state.store.clone(),
        h.state.clock.clone(),
    )
    .unwrap();
    let rules = fresh.password_rules(&carol).await.unwrap();
    assert_eq!(
        (rules.min_length, rules.complexity),
        (Some(PSO_MIN as u16), true)
    );

    // An admin reset: quoted UTF-16LE unicodePwd; refusals in plain words.
    let cases = [
        ("Qz7#mLp2v", Rejection::TooShort),
        ("tangerinevortexquill", Rejection::NotComplex),
    ];
    for (bad, why) in cases {
        match dir.set_password(&alice, &pw(bad)).await {
            Err(DirectoryError::PasswordRejected(r)) => assert_eq!(r, why, "{bad}"),
            other => panic!("{bad}: expected {why:?}, got {other:?}"),
        }
    }
    assert!(dc.binds(ALICE_DN, ALICE_PW), "a refusal changes nothing");
    let new = "Tangerine-Vortex-Quill-88";
    dir.set_password(&alice, &pw(new)).await.unwrap();
    assert!(dc.binds(ALICE_DN, new), "bind with the new password");
    assert!(!dc.binds(ALICE_DN, ALICE_PW), "the old one fails");
    assert!(dir.verify_password(&alice, &pw(new)).await.unwrap());
    assert!(!dir.verify_password(&alice, &pw("")).await.unwrap());

    // A change as the user: delete the old value, add the new one; history applies.
    assert!(matches!(
        dir.change_password(&alice, &pw("Wrong-Current-9"), &pw("Marmalade-Cobalt-42"))
            .await,
        Err(DirectoryError::WrongPassword)
    ));
    match dir.change_password(&alice, &pw(new), &pw(new)).await {
        Err(DirectoryError::PasswordRejected(Rejection::InHistory)) => {}
        other => panic!("reusing the current password: {other:?}"),
    }
    let newer = "Marmalade-Cobalt-Harbor-42";
    dir.change_password(&alice, &pw(new), &pw(newer))
        .await
        .unwrap();
    assert!(dc.binds(ALICE_DN, newer));
    assert!(!dc.binds(ALICE_DN, new));
    // With the policy-hints control (where the DC has it) an admin reset
    // honours history too; without it, AD skips history on a reset.
    let recent = dir.set_password(&alice, &pw(new)).await;
    if dir.reset_honours_history().await.unwrap() {
        assert!(
            matches!(
                recent,
                Err(DirectoryError::PasswordRejected(Rejection::InHistory))
            ),
            "an admin reset to a recent password: {recent:?}"
        );
    } else {
        recent.expect("without policy hints the DC accepts a recent password on reset");
        assert!(dc.binds(ALICE_DN, new));
        dir.change_password(&alice, &pw(new), &pw(newer))
            .await
            .unwrap_err();
        dir.set_password(&alice, &pw(newer)).await.unwrap();
    }

    // Lockout: three wrong binds lock carol; lockoutTime read, then cleared.
    for _ in 0..3 {
        assert!(!dc.binds(CAROL_DN, "wrong"));
    }
    assert!(!dc.binds(CAROL_DN, CAROL_PW), "locked out");
    let locked = dir.find_user("carol").await.unwrap().unwrap();
    assert!(locked.is_locked(T0), "{locked:?}");
    dir.unlock(&carol).await.unwrap();
    assert!(!dir.find_user("carol").await.unwrap().unwrap().is_locked(T0));
    assert!(dc.binds(CAROL_DN, CAROL_PW), "unlocked");

    // Through the API: the domain's rules are in the new-password step, and
    // the portal refuses what the domain would, with the same reasons.
    let mut state = h.state.clone();
    state.directory = dir.clone();
    sspr_server::methods::seed_demo(&state).await.unwrap();
    h.app = sspr_server::app(state);
    let v = reset_to_new_password(&h, "alice@sspr.test").await;
    let r = &shown(&v)["password"]["rules"];
    assert_eq!(
        (r["min_length"].as_u64(), r["complexity"].as_bool()),
        (Some(DOMAIN_MIN as u64), Some(true)),
        "{v}"
    );
    let (s, e) = submit_password(&h, &v["flow"], "Qz7#mLp2v").await;
    assert_eq!(
        (s, e["error"]["id"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password.too_short"))
    );
    // The domain's complexity rule is enforced before the DC is asked.
    let (s, e) = submit_password(&h, &v["flow"], "tangerinevortexquillmarmalade").await;
    assert_eq!(
        (s, e["error"]["id"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("password.not_complex")
        ),
        "{e}"
    );
    let last = "Quartz-Lantern-Meadow-63";
    let (s, v) = submit_password(&h, &v["flow"], last).await;
    assert_eq!(
        (s, shown(&v)["step"].as_str()),
        (StatusCode::OK, Some("done")),
        "{v}"
    );
    assert!(dc.binds(ALICE_DN, last));
}
