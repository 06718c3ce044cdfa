//! Items 9 to 12: SMTP without TLS to a remote host, a reset that succeeded
//! answering an error, Temporary Access Passes, and secrets in Debug output
//! and the audit trail.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use sspr_security::*;

#[tokio::test]
async fn smtp_without_tls_is_refused_unless_the_relay_is_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = |host: &str| {
        format!(
            "[delivery]\nmail = \"smtp\"\nsmtp_host = \"{host}\"\nsmtp_tls = \"none\"\nfrom = \"IT <it@example.com>\"\n"
        )
    };
    for (host, ok) in [
        ("smtp.example.com", false),
        ("192.0.2.25", false),
        ("127.0.0.1", true),
        ("localhost", true),
    ] {
        std::fs::write(dir.path().join("sspr.toml"), cfg(host)).unwrap();
        let (code, err) = check_config(dir.path());
        if ok {
            assert!(code == Some(0), "{host}: {err}");
        } else {
            assert_eq!(code, Some(2), "{host}");
            assert!(
                err.contains("field `delivery.smtp_tls`") && err.contains("loopback"),
                "{host}: {err}"
            );
        }
    }
}

#[tokio::test]
async fn a_reset_ends_every_other_session_and_says_what_it_did() {
    let portal = Portal::start(Options::default()).await;
    // Two sessions of bob's elsewhere (a laptop, and an attacker's).
    let laptop = portal.sign_in(BOB.0, BOB.1).await.unwrap();
    let attacker = portal.sign_in(BOB.0, BOB.1).await.unwrap();
    let flow = portal.start_flow(BOB.0).await;
    portal.choose(&flow, "email").await;
    let code = portal.mailed_code("bob@example.com", 0).await;
    portal.verify(&flow, &code).await;
    let (s, v, _) = portal
        .post(
            "/api/reset/password",
            &json!({ "flow": flow["flow"], "password": "Quartz-Meadow-Violin-42" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["step"],
        json!({ "done": { "outcome": "password_reset", "signed_out": 2, "notified": true } })
    );
    for c in [&laptop, &attacker] {
        let (s, body, _) = portal.get("/api/session", &[("cookie", c)]).await;
        assert_eq!(
            (s, body.as_slice()),
            (StatusCode::OK, b"null".as_slice()),
            "a session outlived the reset"
        );
    }
    // A reload of the finished flow says the same.
    let (_, v, _) = portal
        .post("/api/reset/state", &json!({ "flow": flow["flow"] }))
        .await;
    assert_eq!(v["step"]["done"]["signed_out"], 2);
    portal
        .sign_in(BOB.0, "Quartz-Meadow-Violin-42")
        .await
        .unwrap();
}

#[tokio::test]
async fn temporary_access_passes_are_listed_revoked_voided_announced_and_attributed() {
    let portal = Portal::start(Options::default()).await;
    let issue = |by: &str| {
        let (code, pass, err) = portal.cli(&["tap", "issue", "--user", "dave", "--by", by]);
        assert_eq!(code, 0, "{err}");
        pass.trim().to_string()
    };
    let first = issue("helpdesk-anna");
    let second = issue("helpdesk-ben");
    // A new pass voids the older one.
    let e = portal.sign_in(DAVE.0, &first).await.unwrap_err();
    assert_eq!(e.0, StatusCode::UNAUTHORIZED);
    // Listed: one live pass, never the pass itself.
    let (code, list, _) = portal.cli(&["tap", "list", "--user", "dave"]);
    assert_eq!(code, 0);
    let rows: Vec<&str> = list.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{list}");
    assert!(
        rows[0].contains("dave") && rows[0].contains("helpdesk-ben"),
        "{list}"
    );
    assert!(!list.contains(&second) && !list.contains(&first));
    // Revoked: it no longer signs in.
    let id = rows[0].split('\t').next().unwrap();
    let (code, out, err) = portal.cli(&[
        "tap",
        "revoke",
        "--user",
        "dave",
        "--id",
        id,
        "--by",
        "helpdesk-cleo",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let e = portal.sign_in(DAVE.0, &second).await.unwrap_err();
    assert_eq!(e.0, StatusCode::UNAUTHORIZED);
    let (code, _, err) = portal.cli(&["tap", "revoke", "--user", "dave"]);
    assert_ne!(code, 0, "nothing left to revoke: {err}");
    // dave was told each time a pass was issued for him.
    let notices = portal
        .outbox("mail.jsonl")
        .into_iter()
        .filter(|m| {
            m["to"] == "dave@example.com"
                && m["subject"]
                    .as_str()
                    .unwrap()
                    .contains("Temporary Access Pass")
        })
        .count();
    assert_eq!(notices, 2);
    // The audit trail names the operators.
    let actors: Vec<String> = sqlx::query_scalar(
        "SELECT actor FROM audit_events WHERE method = 'temporary_access_pass' ORDER BY at, actor",
    )
    .fetch_all(&portal.store().await)
    .await
    .unwrap();
    for who in ["helpdesk-anna", "helpdesk-ben", "helpdesk-cleo"] {
        assert!(actors.iter().any(|a| a == who), "{actors:?}");
    }
}

#[tokio::test]
async fn no_secret_reaches_the_log_or_the_audit_trail() {
    let portal = Portal::start(Options {
        env: vec![("SSPR_LOG".into(), "debug,sqlx=warn".into())],
        ..Options::default()
    })
    .await;
    // People paste passwords into the identifier field.
    let pasted = "Tr0ub4dor&3-pasted";
    let decoy = portal.start_flow(pasted).await;
    let flow = portal.start_flow(ALICE.0).await;
    portal.choose(&flow, "email").await;
    let code = portal.mailed_code("alice@example.com", 0).await;
    portal.verify(&flow, "00000000").await;
    portal.verify(&flow, &code).await;
    let cookie = portal.sign_in(ALICE.0, ALICE.1).await.unwrap();
    let token = cookie.split('=').nth(1).unwrap().to_string();
    let _ = portal.sign_in(ALICE.0, "Wr0ng-Passw0rd!").await;
    let (_, _, _) = portal
        .post(
            "/api/reset/password",
            &json!({ "flow": flow["flow"], "password": "Juniper-Canyon-Oboe-61" }),
        )
        .await;
    let store = portal.store().await;
    let audit: Vec<String> = sqlx::query_scalar(
        "SELECT activity || '|' || actor || '|' || COALESCE(target,'') || '|' || COALESCE(detail,'') || '|' || COALESCE(flow,'') FROM audit_events",
    )
    .fetch_all(&store)
    .await
    .unwrap();
    let audit = audit.join("\n");
    let log = portal.log();
    for secret in [
        pasted,
        code.as_str(),
        decoy["flow"].as_str().unwrap(),
        flow["flow"].as_str().unwrap(),
        token.as_str(),
        ALICE.1,
        "Wr0ng-Passw0rd!",
        "Juniper-Canyon-Oboe-61",
    ] {
        assert!(!audit.contains(secret), "the audit trail holds {secret:?}");
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
    // A decoy's flow is audited without what was typed.
    assert!(audit.contains("(no account)"), "{audit}");
    assert!(
        audit.contains("|alice|"),
        "a real account is named: {audit}"
    );
}

#[tokio::test]
async fn a_pass_session_ends_with_its_pass() {
    let portal = Portal::start(Options::default()).await;
    let issue = |lifetime: &str| {
        let (code, pass, err) = portal.cli(&[
            "tap",
            "issue",
            "--user",
            "dave",
            "--lifetime",
            lifetime,
            "--by",
            "helpdesk-test",
        ]);
        assert_eq!(code, 0, "{err}");
        pass.trim().to_string()
    };
    let alive = |c: String| {
        let p = &portal;
        async move { p.get("/api/session", &[("cookie", &c)]).await.1 != b"null" }
    };
    // Revoked: the session opened with it ends too.
    let pass = issue("1h");
    let s1 = portal.sign_in(DAVE.0, &pass).await.unwrap();
    assert!(alive(s1.clone()).await);
    let (code, _, err) = portal.cli(&["tap", "revoke", "--user", "dave", "--by", "helpdesk-test"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !alive(s1.clone()).await,
        "a revoked pass's session lived on"
    );
    let (s, v) = portal
        .post_as(
            &s1,
            "/api/security-info/methods",
            &json!({ "kind": "authenticator" }),
        )
        .await;
    assert_eq!(
        (s, error_id(&v)),
        (StatusCode::UNAUTHORIZED, "session.required")
    );
    // Replaced by a new pass: the old one's session ends.
    let old = issue("1h");
    let s2 = portal.sign_in(DAVE.0, &old).await.unwrap();
    let new = issue("1h");
    assert!(!alive(s2).await, "a replaced pass's session lived on");
    // The user resets their password: the pass is void, and so its session.
    let s3 = portal.sign_in(DAVE.0, &new).await.unwrap();
    let (s, v) = portal
        .post_as(&s3, "/api/security-info/recovery-codes", &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let codes: Vec<String> = serde_json::from_value(v["codes"].clone()).unwrap();
    let flow = portal.start_flow(DAVE.0).await;
    portal.choose(&flow, "recovery_code").await;
    portal.verify(&flow, &codes[0]).await;
    let (s, _, _) = portal
        .post(
            "/api/reset/password",
            &json!({ "flow": flow["flow"], "password": "Lantern-Fjord-Cobalt-77" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        portal.sign_in(DAVE.0, &new).await.is_err(),
        "the pass outlived the reset"
    );
}

#[tokio::test]
async fn a_node_with_another_master_key_refuses_to_start_on_the_store() {
    let mut portal = Portal::start(Options::default()).await;
    let key = portal.dir.path().join("sspr.key");
    let first = std::fs::read_to_string(&key).unwrap();
    portal.kill();
    // A second node given a fresh key of its own (0600, well formed).
    std::fs::write(&key, "ab".repeat(32)).unwrap();
    let (code, out) = run_to_exit(&portal, &[]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("secrets.key_file") && out.contains("not the key this store was sealed with"),
        "{out}"
    );
    // No key file at all, with a sealed store: refused, and no new key made.
    std::fs::remove_file(&key).unwrap();
    let (code, out) = run_to_exit(&portal, &[]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("secrets.key_file") && out.contains("missing"),
        "{out}"
    );
    assert!(!key.exists(), "a stray key was made");
    // The store was left as it was: with its own key the node starts again.
    std::fs::write(&key, first).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    portal.restart(&Options::default());
    let (s, _, _) = portal.get("/api/health", &[]).await;
    assert_eq!(s, StatusCode::OK);
    // Logs that go to a file, journald or a container carry no colour codes.
    assert!(!portal.log().contains('\u{1b}'), "{}", portal.log());
}

#[tokio::test]
async fn the_store_and_the_dev_outbox_are_readable_by_the_portals_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let portal = Portal::start(Options::default()).await;
    let flow = portal.start_flow(BOB.0).await;
    portal.choose(&flow, "email").await;
    portal.mailed_code("bob@example.com", 0).await;
    for name in ["sspr.db", "sspr.db-wal", "sspr.key", "outbox/mail.jsonl"] {
        let path = portal.dir.path().join(name);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{name} is {mode:o}");
    }
}

/// Runs `sspr --config sspr.toml <args>` in the portal's folder to its end:
/// the exit code and everything it printed.
fn run_to_exit(portal: &Portal, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(binary())
        .current_dir(portal.dir.path())
        .args(["--config", "sspr.toml"])
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}
