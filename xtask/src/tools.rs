//! Installs what the build and the tests need, reusing what is already there at
//! the right version. Nothing is downloaded from outside the package registries.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, cargo, run};

pub const TRUNK_VERSION: &str = "0.21.14";
pub const WASM_OPT_VERSION: &str = "132";

pub fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

/// PATH with cargo's bin and the project's npm binaries (wasm-opt) in front.
pub fn tool_path(root: &Path) -> std::ffi::OsString {
    let mut parts = vec![root.join("node_modules/.bin"), cargo_bin()];
    parts.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(parts).unwrap_or_default()
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    })
}

/// The version of `name` recorded in Cargo.lock.
pub fn locked_version(root: &Path, name: &str) -> Result<String> {
    let lock =
        std::fs::read_to_string(root.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let needle = format!("name = \"{name}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .ok_or(format!("{name} is not in Cargo.lock"))?
        + needle.len();
    Ok(lock[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string())
}

pub fn ensure_build_tools(root: &Path) -> Result {
    // 1. The wasm target.
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    // Make sure Cargo.lock exists so the wasm-bindgen version is known.
    if !root.join("Cargo.lock").exists() {
        run(cargo(root).args(["generate-lockfile"]))?;
    }

    // trunk builds with `cargo --offline`: fetch every crate (all targets) first.
    run(cargo(root).args(["fetch", "--quiet"]))?;

    // 2. trunk, pinned: 0.22 needs a newer rustc than this toolchain.
    let bin = cargo_bin();
    let trunk_ok = output(Command::new(bin.join("trunk")).arg("--version"))
        .is_some_and(|v| v.trim() == format!("trunk {TRUNK_VERSION}"));
    if !trunk_ok {
        run(cargo(root).args(["install", "trunk", "--version", TRUNK_VERSION, "--locked"]))?;
    }

    // 3. wasm-bindgen-cli at exactly the Cargo.lock version (trunk would otherwise download it).
    let wb = locked_version(root, "wasm-bindgen")?;
    let wb_ok = output(Command::new(bin.join("wasm-bindgen")).arg("--version"))
        .is_some_and(|v| v.split_whitespace().nth(1) == Some(wb.as_str()));
    if !wb_ok {
        // Without --locked: one of its locked dependencies is no longer in the index.
        run(cargo(root).args(["install", "wasm-bindgen-cli", "--version", &wb]))?;
    }

    // 4. npm packages (wasm-opt from binaryen 132, playwright-core) from the committed lock.
    if output(Command::new("node").arg("--version")).is_none() {
        apt_install(&["nodejs", "npm"])?;
    }
    ensure_npm(root)?;
    let wasm_opt = root.join("node_modules/.bin/wasm-opt");
    let v = output(Command::new(&wasm_opt).arg("--version")).unwrap_or_default();
    if !v.contains(&format!("version {WASM_OPT_VERSION}")) {
        return Err(format!(
            "{} reports {v:?}, expected binaryen {WASM_OPT_VERSION}",
            wasm_opt.display()
        ));
    }
    Ok(())
}

/// `npm ci` when node_modules does not match package-lock.json.
fn ensure_npm(root: &Path) -> Result {
    use sha2::Digest;
    let lock = std::fs::read(root.join("package-lock.json"))
        .map_err(|e| format!("package-lock.json: {e}"))?;
    let want = format!("{:x}", sha2::Sha256::digest(&lock));
    let stamp = root.join("node_modules/.sspr-lock-sha256");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(());
    }
    run(Command::new("npm")
        .current_dir(root)
        .args(["ci", "--no-audit", "--no-fund"]))?;
    std::fs::write(&stamp, want).map_err(|e| e.to_string())
}

pub fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0")
}

/// Debian packages, installed only when missing; retried while another apt holds the lock.
pub fn apt_install(packages: &[&str]) -> Result {
    let sudo = |args: &[&str]| {
        let mut c = if is_root() {
            Command::new(args[0])
        } else {
            let mut c = Command::new("sudo");
            c.arg(args[0]);
            c
        };
        c.args(&args[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut sudo(&["apt-get", "update", "-q"]))?;
    let mut args = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
    args.extend_from_slice(packages);
    let mut last = String::new();
    for attempt in 1..=10 {
        match run(&mut sudo(&args)) {
            Ok(()) => return Ok(()),
            Err(e) => {
                eprintln!("apt-get install failed (attempt {attempt}/10), retrying: {e}");
                last = e;
                std::thread::sleep(std::time::Duration::from_secs(6));
            }
        }
    }
    Err(last)
}

pub fn postgres_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    dirs.pop()
}

/// Debian's Chromium, for the benchmarks' browser runs.
pub fn ensure_browser() -> Result {
    if Path::new("/usr/bin/chromium").exists() {
        return Ok(());
    }
    apt_install(&["chromium"])
}

/// What `bench-ha` runs: PostgreSQL, haproxy, and openssl for its certificate.
pub fn ensure_bench_ha_packages() -> Result {
    let mut missing = Vec::new();
    if postgres_bin().is_none() {
        missing.push("postgresql");
    }
    if !Path::new("/usr/sbin/haproxy").exists() {
        missing.push("haproxy");
    }
    if !Path::new("/usr/bin/openssl").exists() {
        missing.push("openssl");
    }
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing)
}

/// The real servers and tools the tests drive.
pub fn ensure_test_packages(root: &Path) -> Result {
    let mut missing = Vec::new();
    if !Path::new("/usr/bin/chromium").exists() {
        missing.push("chromium");
    }
    if !Path::new("/usr/bin/chromedriver").exists() {
        missing.push("chromium-driver");
    }
    // A font file the theme test serves as a theme font (DejaVu, free licence).
    if !Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists() {
        missing.push("fonts-dejavu-core");
    }
    if postgres_bin().is_none() {
        missing.push("postgresql");
    }
    if !Path::new("/usr/bin/oathtool").exists() {
        missing.push("oathtool");
    }
    // zbarimg decodes the enrollment QR code in the browser tests.
    if !Path::new("/usr/bin/zbarimg").exists() {
        missing.push("zbar-tools");
    }
    // faketime moves the server's clock for the reconfirmation test.
    if !Path::new("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1").exists() {
        missing.push("faketime");
    }
    // Prometheus scrapes the portal's metrics listener in the metrics e2e
    // test, which runs the binary itself (never the packaged service).
    if !Path::new("/usr/bin/prometheus").exists() {
        missing.push("prometheus");
    }
    // OpenLDAP for the writeback tests: slapd with its ppolicy module, the
    // ldap-utils clients they check binds with, and openssl for the certificates.
    if !Path::new("/usr/sbin/slapd").exists() {
        missing.push("slapd");
    }
    if !Path::new("/usr/bin/ldapwhoami").exists() {
        missing.push("ldap-utils");
    }
    if !Path::new("/usr/bin/openssl").exists() {
        missing.push("openssl");
    }
    // The TLS-terminating load balancer in front of two nodes (e2e ha test).
    if !Path::new("/usr/sbin/haproxy").exists() {
        missing.push("haproxy");
    }
    // A Samba AD domain controller for the Active Directory tests.
    if !Path::new("/usr/sbin/samba").exists() || !Path::new("/usr/bin/samba-tool").exists() {
        missing.extend(["samba-ad-dc", "samba-ad-provision"]);
    }
    if output(Command::new("python3").arg("--version")).is_none() {
        missing.extend(["python3", "python3-pip"]);
    }
    if !missing.is_empty() {
        apt_install(&missing)?;
    }
    ensure_python(root)
}

/// The e2e tests' Python tools (a real SMTP server), pinned in tests/e2e/requirements.txt.
fn ensure_python(root: &Path) -> Result {
    if output(Command::new("python3").args(["-c", "import aiosmtpd"])).is_some() {
        return Ok(());
    }
    let req = root.join("tests/e2e/requirements.txt");
    let pip = |extra: &[&str]| {
        let mut c = Command::new("python3");
        c.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&req)
        .args(extra);
        run(&mut c)
    };
    // Debian's own python refuses system-wide pip installs; fall back to that override.
    pip(&[]).or_else(|_| pip(&["--break-system-packages"]))
}

/// A throwaway PostgreSQL cluster on a free loopback port, stopped on drop.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Postgres {
    pub fn start(root: &Path) -> Result<Postgres> {
        let bin = postgres_bin().ok_or("PostgreSQL is not installed")?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let dir = root.join("target/pg-test");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // initdb refuses to run as root: use the postgres account then.
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir))?;
        }
        let pg = Postgres {
            bin,
            dir,
            port,
            as_postgres,
        };
        let data = pg.dir.join("data");
        run(pg
            .cmd("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "sspr", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(std::process::Stdio::null()))?;
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            pg.dir.display()
        );
        run(pg
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-o", &opts, "-l"])
            .arg(pg.dir.join("log"))
            .args(["-w", "start"]))?;
        eprintln!("PostgreSQL up on 127.0.0.1:{port}");
        Ok(pg)
    }

    fn cmd(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    pub fn url(&self) -> String {
        format!("postgres://sspr@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = run(self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"]));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
