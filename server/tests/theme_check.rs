//! `sspr theme check FILE`, run as the binary: no configuration needed, exit
//! 0 with the report for a good theme, exit 1 naming the field for a bad one.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::process::Command;

fn sspr_theme_check(file: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sspr"))
        .args(["--config", "/nonexistent/sspr.toml", "theme", "check"])
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn a_good_theme_prints_its_report_and_a_bad_one_names_the_field() {
    let good =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../themes/harbour/theme.json");
    let out = sspr_theme_check(&good);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("valid theme for \"Harbour City Council\""),
        "{stdout}"
    );
    assert!(stdout.contains("colors_dark.on_primary"), "{stdout}");
    assert!(
        stdout.contains("harbour-sans.ttf  warning: missing from ")
            && stdout.contains("themes/harbour/branding"),
        "{stdout}"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("theme.json");
    std::fs::write(
        &bad,
        r##"{"organisation":"X","helpdesk":"a@b.co","colors_dark":{"primary":"#8ab4f8",
        "on_primary":"#0b1a2e","background":"#121417","surface":"#1c1f24","text":"#333333",
        "muted":"#b0b7c1","error":"#f2b8b5"}}"##,
    )
    .unwrap();
    let out = sspr_theme_check(&bad);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("field `colors_dark.text`: contrast of #333333 on #121417 is 1.46:1"),
        "{stderr}"
    );
}
