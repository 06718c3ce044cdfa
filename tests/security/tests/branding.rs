//! Item 1 (critical): the master key and the store were served over HTTP by
//! `/branding/{file}` when the theme sat beside them, the example config's
//! own layout. Now `/branding/` serves images and fonts from a folder meant
//! for them, a served folder holding a secret stops the start, and the key
//! file is private.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;

use sspr_security::*;

/// The layout the example config suggests: theme, config, key and store in
/// one folder, the theme's images in `branding/` beside them.
fn etc_layout(extra_theme: &str) -> (tempfile::TempDir, u16, Options) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::create_dir_all(dir.path().join("branding")).unwrap();
    std::fs::write(
        dir.path().join("theme.json"),
        r#"{"organisation":"Contoso","helpdesk":"it@contoso.test","logo":"/branding/logo.svg"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("branding/logo.svg"),
        "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    )
    .unwrap();
    std::fs::write(dir.path().join("branding/notes.txt"), "internal").unwrap();
    let opts = Options {
        config: format!(
            "[theme]\nfile = \"theme.json\"\n{extra_theme}[secrets]\nkey_file = \"sspr.key\"\n"
        ),
        ..Options::default()
    };
    write_config(dir.path(), port, &opts);
    (dir, port, opts)
}

#[tokio::test]
async fn the_key_the_store_and_the_config_are_never_served() {
    let (dir, port, opts) = etc_layout("");
    let portal = Portal::start_in(dir, port, &opts);
    let key = std::fs::read(portal.dir.path().join("sspr.key")).unwrap();
    for file in [
        "sspr.key",
        "sspr.db",
        "sspr.db-wal",
        "sspr.toml",
        "theme.json",
        "../sspr.key",
        "..%2fsspr.key",
        "notes.txt",
        "outbox",
    ] {
        let (s, body, _) = portal.get(&format!("/branding/{file}"), &[]).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "/branding/{file}");
        assert!(
            !body.windows(key.len().min(16)).any(|w| w == &key[..16]),
            "/branding/{file} leaked the key"
        );
    }
    // A symlink from the branding folder to the key, named like an image,
    // is not followed out of the folder.
    std::os::unix::fs::symlink(
        portal.dir.path().join("sspr.key"),
        portal.dir.path().join("branding/innocent.png"),
    )
    .unwrap();
    let (s, _, _) = portal.get("/branding/innocent.png", &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // What the folder is for still works, with its own type and a policy
    // under which an SVG opened on its own runs nothing.
    let (s, body, h) = portal.get("/branding/logo.svg", &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.starts_with(b"<svg"));
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/svg+xml")
    );
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    // A file the operator does not supply falls back to the built-in one.
    let (s, _, _) = portal.get("/branding/favicon.svg", &[]).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn a_served_folder_holding_a_secret_stops_the_start() {
    // The old behaviour, asked for explicitly: serve the folder of the key.
    let (dir, port, opts) = etc_layout("branding_dir = \".\"\n");
    let (code, err) = check_config(dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("configuration error")
            && err.contains("field `secrets.key_file`")
            && err.contains("is inside `theme.branding_dir`")
            && err.contains("serves over HTTP"),
        "{err}"
    );
    // And serve refuses the same way, before listening.
    let started = spawn(&binary(), dir.path(), &["--config", "sspr.toml"], &[]);
    let log = started.expect_err("refused to start");
    assert!(log.contains("field `secrets.key_file`"), "{log}");
    let _ = (port, opts);

    // The store inside the SPA folder is refused too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("www")).unwrap();
    write_config(
        dir.path(),
        port,
        &Options {
            server: "assets_dir = \"www\"".into(),
            config: "[secrets]\nkey_file = \"private/sspr.key\"\n".into(),
            ..Options::default()
        },
    );
    let text = std::fs::read_to_string(dir.path().join("sspr.toml"))
        .unwrap()
        .replace("sqlite://sspr.db", "sqlite://www/sspr.db");
    std::fs::write(dir.path().join("sspr.toml"), text).unwrap();
    let log = spawn(&binary(), dir.path(), &["--config", "sspr.toml"], &[])
        .expect_err("refused to start");
    assert!(log.contains("field `store.url`"), "{log}");
}

#[tokio::test]
async fn the_key_file_is_created_private_and_a_shared_one_is_refused() {
    let (dir, port, opts) = etc_layout("");
    let mut portal = Portal::start_in(dir, port, &opts);
    let key = portal.dir.path().join("sspr.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "created {mode:o}");
    portal.kill();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let log = spawn(
        &binary(),
        portal.dir.path(),
        &["--config", "sspr.toml"],
        &[],
    )
    .expect_err("a world-readable key is refused");
    assert!(
        log.contains("readable by others") && log.contains("chmod 600"),
        "{log}"
    );
}

#[tokio::test]
async fn neither_an_encoded_store_path_nor_a_hard_link_serves_a_secret() {
    // The store named with percent-encoding, inside the branding folder.
    let (dir, _port, _opts) = etc_layout("");
    let cfg = dir.path().join("sspr.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("sqlite://sspr.db", "sqlite://branding%2Fs.png");
    std::fs::write(&cfg, text).unwrap();
    let log = spawn(&binary(), dir.path(), &["--config", "sspr.toml"], &[])
        .expect_err("an encoded path inside the branding folder is refused");
    assert!(log.contains("field `store.url`"), "{log}");
    assert!(
        !dir.path().join("branding/s.png").exists(),
        "no store was made there"
    );

    // A hard link to the key, named like an image, in the branding folder.
    let (dir, port, opts) = etc_layout("");
    let portal = Portal::start_in(dir, port, &opts);
    std::fs::hard_link(
        portal.dir.path().join("sspr.key"),
        portal.dir.path().join("branding/hk.png"),
    )
    .unwrap();
    let (s, body, _) = portal.get("/branding/hk.png", &[]).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "{}",
        String::from_utf8_lossy(&body)
    );
}

#[tokio::test]
async fn a_path_through_a_symlink_and_back_stops_the_start() {
    // other/bs -> ../branding/sub, so other/bs/../key.png is branding/key.png.
    let (dir, _port, _opts) = etc_layout("");
    std::fs::create_dir_all(dir.path().join("branding/sub")).unwrap();
    std::fs::create_dir_all(dir.path().join("other")).unwrap();
    std::os::unix::fs::symlink("../branding/sub", dir.path().join("other/bs")).unwrap();
    let cfg = dir.path().join("sspr.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "key_file = \"sspr.key\"",
        "key_file = \"other/bs/../key2.png\"",
    );
    std::fs::write(&cfg, text).unwrap();
    let log = spawn(&binary(), dir.path(), &["--config", "sspr.toml"], &[])
        .expect_err("a key path that lands in the branding folder is refused");
    assert!(log.contains("field `secrets.key_file`"), "{log}");
    assert!(!dir.path().join("branding/key2.png").exists());
}
