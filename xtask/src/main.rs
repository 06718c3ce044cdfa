//! `cargo xtask <command>`: the project's single entry point.
//!
//! - `demo [--port N]`  install missing tools, build the SPA, run sspr on the embedded default
//! - `test`             install what the tests need, then fmt, import circles, clippy, native, wasm, e2e and attacker's-suite tests
//! - `cycles`           fail on an import circle between top-level modules of proto, policy or the SPA (server: printed only)
//! - `build-web`        build the SPA into dist/ (release, precompressed) and print its size
//! - `bench-web`        build the SPA, then print page and engine sizes and the strength-call latency in Chromium beside JS zxcvbn
//! - `bench-floor`      print what the SPA's stack costs before our code: five tiny leptos apps, each adding one piece the reset page needs
//! - `bench-ha`         500 concurrent resets through haproxy (TLS) against one node, then two, on a throwaway PostgreSQL
//! - `package [deb|oci]` build the Debian package and the OCI image into target/package/
//! - `tools`            only install the toolchain (wasm target, trunk, wasm-bindgen-cli, npm packages)

mod cycles;
mod floor;
mod package;
mod tools;
mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

pub type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    let run = match args.first().map(String::as_str) {
        Some("demo") => demo(&root, &args[1..]),
        Some("test") => test(&root),
        Some("build-web") => tools::ensure_build_tools(&root)
            .and_then(|()| web::build(&root))
            .map(|_| ()),
        Some("cycles") => cycles::command(&root),
        Some("bench-web") => bench_web(&root),
        Some("bench-floor") => floor::bench(&root),
        Some("bench-ha") => bench_ha(&root),
        Some("package") => package::command(&root, &args[1..]),
        // The test command's packages step alone, on the release binary as built.
        Some("package-test") => package::test_step(&root),
        Some("tools") => tools::ensure_build_tools(&root),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo [--port N] | test | cycles | build-web | bench-web | bench-floor | bench-ha | package [deb|oci] | tools>"
            );
            return ExitCode::from(2);
        }
    };
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// Runs a command with inherited output; a non-zero exit is an error naming it.
pub fn run(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    eprintln!("\n==> {shown}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} exited with {status}"))
    }
}

pub fn cargo(root: &Path) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root);
    // `cargo run` gives xtask its own package's variables. Build scripts that
    // watch them (ring's does) would rebuild whenever cargo is run from here
    // rather than from a shell: drop them so both share one cache.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_",
        ]
        .iter()
        .any(|p| k.starts_with(p))
        {
            c.env_remove(k.as_ref());
        }
    }
    c
}

/// Figures, not assertions: the benchmark prints each budget beside what it
/// measured and never fails on a miss, so a slow machine cannot turn it red.
fn bench_web(root: &Path) -> Result {
    tools::ensure_build_tools(root)?;
    tools::ensure_browser()?;
    web::build(root)?;
    run(Command::new("node")
        .arg(root.join("bench/strength.mjs"))
        .current_dir(root)
        .env("SSPR_DIST", root.join("dist")))
}

/// Issue 17's load benchmark: 500 concurrent reset flows through haproxy
/// against one node and then two, on a throwaway PostgreSQL. Figures, never
/// a verdict on timings; it fails only if a flow did not complete.
fn bench_ha(root: &Path) -> Result {
    tools::ensure_bench_ha_packages()?;
    // API only: the SPA is not built (an empty dist/ embeds nothing).
    run(cargo(root).args(["build", "--release", "-p", "sspr-server"]))?;
    // The nodes run this very binary. `cargo bench` builds its own `sspr`
    // too, with the dev-dependencies' features (tokio's test-util), and
    // puts it at the same path: set ours aside first.
    let bin = root.join("target/bench-ha/sspr");
    std::fs::create_dir_all(root.join("target/bench-ha")).map_err(|e| e.to_string())?;
    std::fs::copy(root.join("target/release/sspr"), &bin)
        .map_err(|e| format!("target/release/sspr: {e}"))?;
    let pg = tools::Postgres::start(root)?;
    run(cargo(root)
        .args(["bench", "-p", "sspr-server", "--bench", "ha_load"])
        .env("SSPR_BENCH_PG_URL", pg.url())
        .env("SSPR_BIN", &bin))
}

fn demo(root: &Path, args: &[String]) -> Result {
    let port: u16 = match args {
        [] => 8080,
        [flag, p] if flag == "--port" => p
            .parse()
            .map_err(|_| format!("--port takes a number, not {p}"))?,
        _ => return Err("usage: cargo xtask demo [--port N]".into()),
    };
    tools::ensure_build_tools(root)?;
    web::build(root)?;
    run(cargo(root).args(["build", "--release", "-p", "sspr-server"]))?;
    std::fs::create_dir_all(root.join(".sspr-data")).map_err(|e| e.to_string())?;
    let url = format!("http://127.0.0.1:{port}");
    eprintln!(
        "\nsspr demo: open {url}\n  demo users: alice / Alice-demo-2026!, bob / Bob-demo-2026!, carol (admin) / Carol-admin-2026!\n  Ctrl-C stops it.\n"
    );
    run(Command::new(root.join("target/release/sspr"))
        .current_dir(root)
        .args(["--config", "config/demo.toml"])
        .env("SSPR__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("SSPR__SERVER__PUBLIC_URL", &url))
}

fn test(root: &Path) -> Result {
    let started = std::time::Instant::now();
    tools::ensure_build_tools(root)?;
    tools::ensure_test_packages(root)?;
    let step = |name: &str| eprintln!("\n######## {name}  (+{}s)", started.elapsed().as_secs());

    step("format");
    run(cargo(root).args(["fmt", "--all", "--check"]))?;

    step("import circles between top-level modules");
    cycles::command(root)?;

    step("clippy (native crates, then the SPA for wasm32)");
    run(cargo(root).args([
        "clippy",
        "--workspace",
        "--exclude",
        "sspr-web",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo(root).args([
        "clippy",
        "-p",
        "sspr-web",
        "-p",
        "sspr-strength",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("native tests (SQLite, PostgreSQL, OpenLDAP, Samba AD)");
    // Up until the end-to-end tests are done: they run two nodes on it.
    let pg = tools::Postgres::start(root)?;
    let mut native = cargo(root);
    native
        .args([
            "test",
            "--workspace",
            "--exclude",
            "sspr-web",
            // The attacker's suite needs the release binary: its own step.
            "--exclude",
            "sspr-security",
        ])
        .env("SSPR_TEST_PG_URL", pg.url())
        .env("SSPR_REQUIRE_PG", "1")
        .env("SSPR_REQUIRE_SLAPD", "1")
        .env("SSPR_REQUIRE_SMTPD", "1")
        // The estimator's parity test runs JS zxcvbn (npm) as its oracle.
        .env("SSPR_REQUIRE_NODE", "1");
    // A Samba DC needs root; elsewhere its test says it was skipped.
    if tools::is_root() {
        native.env("SSPR_REQUIRE_SAMBA", "1");
    }
    run(&mut native)?;

    step("wasm-bindgen tests in headless Chromium (components, policy parity)");
    run(cargo(root)
        .args([
            "test",
            "-p",
            "sspr-web",
            "-p",
            "sspr-strength",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120"))?;

    step("end-to-end tests in headless Chromium");
    web::build(root)?;
    run(cargo(root).args(["build", "-p", "sspr-server"]))?;
    let mut specs: Vec<String> = std::fs::read_dir(root.join("tests/e2e"))
        .map_err(|e| format!("tests/e2e: {e}"))?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".test.mjs"))
        .map(|n| format!("tests/e2e/{n}"))
        .collect();
    specs.sort();
    if specs.is_empty() {
        return Err("no end-to-end tests found in tests/e2e".into());
    }
    run(Command::new("node")
        .current_dir(root)
        .args(["--test", "--test-concurrency=1"])
        .args(&specs)
        .env("SSPR_BIN", root.join("target/debug/sspr"))
        .env("SSPR_DIST", root.join("dist"))
        // Two nodes on one PostgreSQL behind haproxy (ha.test.mjs).
        .env("SSPR_TEST_PG_URL", pg.url()))?;
    drop(pg);

    step("release binary serves the embedded SPA");
    web::check_embedded_release(root)?;

    step("packages: the .deb installed, run as its user and purged; the OCI image");
    package::test_step(root)?;

    step("the attacker's suite, black-box against the release binary (tests/security)");
    run(cargo(root)
        .args(["test", "-p", "sspr-security", "--", "--test-threads=1"])
        .env("SSPR_BIN", root.join("target/release/sspr")))?;

    eprintln!(
        "\nxtask test: all green in {}s",
        started.elapsed().as_secs()
    );
    Ok(())
}
