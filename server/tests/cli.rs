//! The `sspr` binary: configuration and theme errors exit non-zero with a
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report
//! message naming file, field and reason, and never panic.

use std::process::Command;

fn sspr(dir: &std::path::Path, config: &str, extra_env: &[(&str, &str)]) -> (i32, String, String) {
    let path = dir.join("sspr.toml");
    std::fs::write(&path, config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sspr"));
    cmd.arg("--config")
        .arg(&path)
        .arg("check-config")
        .env_remove("SSPR_LOG");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn good_config_checks_out() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = sspr(dir.path(), "[policy]\nmethods_required = 2\n", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.ends_with("sspr.toml: ok\n"), "{out}");
}

#[test]
fn bad_config_exits_2_naming_file_line_field_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = sspr(
        dir.path(),
        "[server]\n\n[policy]\nmethods_required = 5\n",
        &[],
    );
    assert_eq!(code, 2);
    let file = dir.path().join("sspr.toml");
    assert_eq!(
        err.trim(),
        format!(
            "sspr: configuration error: {}:4:20: field `policy.methods_required`: must be 1 or 2, not 5\n\
             4 | methods_required = 5\n  |                    ^",
            file.display()
        )
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_environment_override_is_blamed_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = sspr(dir.path(), "", &[("SSPR__SERVER__BIND", "nowhere")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("environment variable SSPR__SERVER__BIND: field `server.bind`"),
        "{err}"
    );
}

#[test]
fn bad_theme_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("theme.json"),
        r#"{"organisation":"X","helpdesk":"not a helpdesk"}"#,
    )
    .unwrap();
    let (code, _, err) = sspr(dir.path(), "[theme]\nfile = \"theme.json\"\n", &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("theme.json: field `helpdesk`: must be an http(s) URL"),
        "{err}"
    );
}

#[test]
fn missing_config_file_is_clear() {
    let out = Command::new(env!("CARGO_BIN_EXE_sspr"))
        .args(["--config", "/nonexistent/sspr.toml", "check-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("/nonexistent/sspr.toml: cannot read the file")
    );
}

#[test]
fn tap_issue_prints_a_pass_of_the_asked_length_and_refuses_bad_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let config = format!(
        "[store]\nurl = \"sqlite://{d}/t.db?mode=rwc\"\n[directory]\ndemo_users = true\n\
         [secrets]\nkey_file = \"{d}/k.key\"\n[delivery]\noutbox_dir = \"{d}/outbox\"\n"
    );
    let path = dir.path().join("sspr.toml");
    std::fs::write(&path, config).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sspr"))
            .arg("--config")
            .arg(&path)
            .args(["tap", "issue"])
            .args(args)
            .env_remove("SSPR_LOG")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&[
        "--user",
        "dave",
        "--lifetime",
        "2h",
        "--one-time",
        "--length",
        "12",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim().len(), 12, "{out}");
    assert!(err.contains("for one sign-in"), "{err}");
    let (code, _, err) = run(&["--user", "dave", "--lifetime", "31d"]);
    assert_eq!(code, 2);
    assert!(err.contains("10 minutes to 30 days"), "{err}");
    let (code, _, err) = run(&["--user", "dave", "--length", "49"]);
    assert_ne!(code, 0);
    assert!(err.contains("8 to 48"), "{err}");
    let (code, _, err) = run(&["--user", "nobody"]);
    assert_ne!(code, 0);
    assert!(err.contains("no user matches"), "{err}");
}
