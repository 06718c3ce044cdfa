//! `cargo xtask package [deb | oci]`: the Debian package and the OCI image.
//!
//! - **deb**: `target/package/sspr_<version>_amd64.deb`, staged in
//!   `target/package/deb/` and built by `dpkg-deb --build --root-owner-group`:
//!   the release `sspr` (SPA embedded, stripped), the hardened unit
//!   `packaging/deb/sspr.service`, `/etc/sspr/sspr.toml` derived from
//!   `config/sspr.example.toml` for the package's layout, the default theme
//!   and an empty branding folder beside it, the copyright file from
//!   `LICENSE` and `NOTICE`, a man page from `sspr --help`, and the
//!   maintainer scripts in `packaging/deb/`.
//! - **oci**: `target/package/sspr-oci.tar`, an OCI archive built by buildah
//!   from scratch: a static musl `sspr`, `packaging/oci/sspr.toml` (the rest
//!   of the config comes from `SSPR__...` variables), a non-root user, the
//!   CA roots, and a volume for `/var/lib/sspr`. buildah and podman keep
//!   their images in a store of their own under `target/package/`, removed
//!   afterwards, so nothing of the machine's own container store is touched.
//!
//! `cargo xtask test` runs [`test_step`] after the release binary's step: it
//! packages that binary (no rebuild), installs the .deb on this machine,
//! runs it as the package's user, purges it, then builds the image and runs
//! it with podman where podman can run containers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Result, cargo, run, tools};

const MUSL: &str = "x86_64-unknown-linux-musl";
/// The image's user and group: not root, and no id a host is likely to use.
const OCI_UID: u32 = 10001;
/// Where the unit goes: Debian 12 keeps units in /lib (its /usr-merge rules
/// forbid moving them); systemd reads both.
const UNIT_DIR: &str = "lib/systemd/system";

pub fn command(root: &Path, args: &[String]) -> Result {
    let (deb, oci) = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => (true, true),
        ["deb"] => (true, false),
        ["oci"] => (false, true),
        _ => return Err("usage: cargo xtask package [deb | oci]".into()),
    };
    tools::ensure_build_tools(root)?;
    crate::web::build(root)?;
    if deb {
        // Builds the release binary and checks that it serves the SPA it embedded.
        crate::web::check_embedded_release(root)?;
        ensure_deb_tools(true)?;
        let deb = build_deb(root)?;
        lintian(&deb)?;
        eprintln!(
            "\npackage: {} ({})",
            deb.display(),
            size(&deb).unwrap_or_default()
        );
    }
    if oci {
        ensure_oci_tools(false)?;
        let bin = build_musl(root)?;
        let image = build_image(root, &bin)?;
        eprintln!(
            "\nimage: {} ({}), load it with: podman load -i {}",
            image.display(),
            size(&image).unwrap_or_default(),
            image.display()
        );
    }
    Ok(())
}

/// The test command's "packages" step. The release binary must be built.
pub fn test_step(root: &Path) -> Result {
    let started = Instant::now();
    ensure_deb_tools(true)?;
    let deb = build_deb(root)?;
    lintian(&deb)?;
    deb_roundtrip(root, &deb)?;
    let deb_secs = started.elapsed().as_secs();

    if !tools::is_root() {
        eprintln!(
            "packages: not root, so no image was built (buildah mounts its container as root)"
        );
        return Ok(());
    }
    ensure_oci_tools(true)?;
    let musl = Instant::now();
    let bin = build_musl(root)?;
    let musl_secs = musl.elapsed().as_secs();
    let image = build_image(root, &bin)?;
    oci_roundtrip(root, &image)?;
    let total = started.elapsed().as_secs();
    eprintln!(
        "\npackages: {total}s in all (the .deb built, installed, run and purged in {deb_secs}s; \
         the static musl build {musl_secs}s; the image built and run in {}s). {}, {}",
        total - deb_secs - musl_secs,
        size(&deb)?,
        size(&image)?,
    );
    Ok(())
}

fn size(p: &Path) -> Result<String> {
    let len = std::fs::metadata(p)
        .map_err(|e| format!("{}: {e}", p.display()))?
        .len();
    Ok(format!(
        "{} {:.1} MB",
        p.file_name().unwrap_or_default().to_string_lossy(),
        len as f64 / 1e6
    ))
}

fn out_dir(root: &Path) -> PathBuf {
    root.join("target/package")
}

fn output(cmd: &mut Command) -> Result<String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{shown} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn have(path: &str) -> bool {
    Path::new(path).exists()
}

/// dpkg-deb, dpkg-shlibdeps (dpkg-dev), strip and readelf (binutils), file,
/// adduser for the maintainer scripts, and lintian when `lint`.
fn ensure_deb_tools(lint: bool) -> Result {
    let mut missing = Vec::new();
    for (bin, pkg) in [
        ("/usr/bin/dpkg-shlibdeps", "dpkg-dev"),
        ("/usr/bin/strip", "binutils"),
        ("/usr/bin/file", "file"),
        ("/usr/sbin/adduser", "adduser"),
        ("/usr/bin/systemd-analyze", "systemd"),
    ] {
        if !have(bin) {
            missing.push(pkg);
        }
    }
    if lint && !have("/usr/bin/lintian") {
        missing.push("lintian");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        tools::apt_install(&missing)
    }
}

/// musl-gcc for the C in ring and SQLite, buildah, and with `run` podman and
/// runc (Debian's crun refuses a host whose cgroups are in hybrid mode).
fn ensure_oci_tools(run: bool) -> Result {
    let mut missing = Vec::new();
    for (bin, pkg, needed) in [
        ("/usr/bin/musl-gcc", "musl-tools", true),
        ("/usr/bin/buildah", "buildah", true),
        ("/usr/bin/readelf", "binutils", true),
        ("/usr/bin/podman", "podman", run),
        ("/usr/sbin/runc", "runc", run),
    ] {
        if needed && !have(bin) {
            missing.push(pkg);
        }
    }
    if !missing.is_empty() {
        tools::apt_install(&missing)?;
    }
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !installed.lines().any(|l| l.trim() == MUSL) {
        crate::run(Command::new("rustup").args(["target", "add", MUSL]))?;
    }
    Ok(())
}

/// The version of the `sspr` binary: sspr-server's package version.
fn version(root: &Path) -> Result<String> {
    let manifest = std::fs::read_to_string(root.join("server/Cargo.toml"))
        .map_err(|e| format!("server/Cargo.toml: {e}"))?;
    manifest
        .lines()
        .skip_while(|l| l.trim() != "[package]")
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .map(str::to_string)
        .ok_or_else(|| "no version in server/Cargo.toml's [package]".into())
}

/// The last commit's time, so two builds of one commit give the same files.
fn source_date_epoch(root: &Path) -> String {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .or_else(|| {
            output(
                Command::new("git")
                    .current_dir(root)
                    .args(["log", "-1", "--format=%ct"]),
            )
            .ok()
            .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "0".into())
}

fn mkdir(p: &Path) -> Result {
    std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn chmod(p: &Path, mode: u32) -> Result {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", p.display()))
}

fn write(p: &Path, bytes: impl AsRef<[u8]>, mode: u32) -> Result {
    if let Some(dir) = p.parent() {
        mkdir(dir)?;
    }
    std::fs::write(p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    chmod(p, mode)
}

fn read(root: &Path, rel: &str) -> Result<String> {
    std::fs::read_to_string(root.join(rel)).map_err(|e| format!("{rel}: {e}"))
}

fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    // flate2 writes no file name and a zero mtime: the same bytes every build.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(data).map_err(|e| e.to_string())?;
    gz.finish().map_err(|e| e.to_string())
}

/// `/etc/sspr/sspr.toml` for the package: the documented example with the
/// store and the key in `/var/lib/sspr` (the unit's StateDirectory), and the
/// theme with its own branding folder in `/etc/sspr/branding`. The portal
/// serves that folder, so nothing secret may lie in it: the key, the store
/// and this file stay outside. Each edit must match exactly once, so a change
/// to the example that would leave a path behind stops the build.
pub fn deb_config(example: &str) -> Result<String> {
    const EDITS: &[(&str, &str)] = &[
        (
            "url = \"sqlite://sspr.db?mode=rwc\"",
            "url = \"sqlite:///var/lib/sspr/sspr.db?mode=rwc\"",
        ),
        (
            "key_file = \"/etc/sspr/sspr.key\"",
            "key_file = \"/var/lib/sspr/sspr.key\"",
        ),
        (
            "# file = \"/etc/sspr/theme.json\"",
            "file = \"/etc/sspr/theme.json\"",
        ),
        (
            "# branding_dir = \"/etc/sspr/branding\"",
            "branding_dir = \"/etc/sspr/branding\"",
        ),
        (
            "outbox_dir = \"/var/lib/sspr/outbox\"",
            "outbox_dir = \"/var/lib/sspr/outbox\"",
        ),
    ];
    let mut text = example.to_string();
    for (from, to) in EDITS {
        let lines = text.lines().filter(|l| l.trim() == *from).count();
        if lines != 1 {
            return Err(format!(
                "config/sspr.example.toml has {lines} lines `{from}`, the package's config expects one: \
                 update deb_config in xtask/src/package.rs"
            ));
        }
        text = text
            .lines()
            .map(|l| if l.trim() == *from { to } else { l })
            .map(|l| format!("{l}\n"))
            .collect();
    }
    Ok(format!(
        "# /etc/sspr/sspr.toml, installed by the sspr package.\n\
         # Set server.public_url, [delivery] and [directory] for your site, check it with\n\
         #   sspr --config /etc/sspr/sspr.toml check-config\n\
         # then start the portal: systemctl enable --now sspr\n\
         # The store and the master key live in /var/lib/sspr; back up the key.\n\
         #\n{text}"
    ))
}

/// The machine-readable copyright file: sspr under Apache-2.0 (checked to
/// be the licence in LICENSE, whose text Debian keeps in common-licenses),
/// and the NOTICE's zxcvbn material under MIT, its text from NOTICE.
fn copyright(root: &Path) -> Result<String> {
    let license = read(root, "LICENSE")?;
    if !license.contains("Apache License") || !license.contains("Version 2.0, January 2004") {
        return Err(
            "LICENSE is no longer the Apache License 2.0: update the copyright file".into(),
        );
    }
    let notice = read(root, "NOTICE")?;
    let mit_start = notice
        .find("Permission is hereby granted")
        .ok_or("NOTICE: the zxcvbn MIT text is missing")?;
    let mit_end = notice[mit_start..]
        .find("\n---")
        .map_or(notice.len(), |i| mit_start + i);
    let holder = notice
        .lines()
        .find(|l| l.starts_with("Copyright (c)") && l.contains("Dropbox"))
        .ok_or("NOTICE: the zxcvbn copyright line is missing")?
        .trim_start_matches("Copyright (c) ");
    let own = notice
        .lines()
        .find(|l| l.starts_with("Copyright "))
        .ok_or("NOTICE: no copyright line")?
        .trim_start_matches("Copyright ");
    // Continuation lines start with a space; an empty line is " .".
    let body = |text: &str| -> String {
        text.trim()
            .lines()
            .map(|l| {
                if l.trim().is_empty() {
                    " .\n".to_string()
                } else {
                    format!(" {}\n", l.trim_end())
                }
            })
            .collect()
    };
    Ok(format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
         Upstream-Name: sspr\n\
         Comment: The LICENSE and NOTICE files are installed beside this one.\n\
         \n\
         Files: *\n\
         Copyright: {own}\n\
         License: Apache-2.0\n\
         \n\
         Files: guesses/*\n\
         Copyright: {own}\n           {holder}\n\
         License: Apache-2.0 and MIT\n\
         Comment: zxcvbn 4.4.2's algorithm and frequency lists, re-encoded.\n\
         \n\
         License: Apache-2.0\n \
         On Debian systems, the complete text of the Apache License, Version 2.0\n \
         can be found in /usr/share/common-licenses/Apache-2.0.\n\
         \n\
         License: MIT\n\
         {}",
        body(&notice[mit_start..mit_end]),
    ))
}

/// A man page from the binary's own `--help`, so it never drifts.
fn man_page(bin: &Path, version: &str) -> Result<Vec<u8>> {
    let mut help = String::new();
    for sub in [
        &[][..],
        &["tap", "--help"][..],
        &["directory", "--help"][..],
        &["policy", "--help"][..],
        &["theme", "--help"][..],
    ] {
        let mut cmd = Command::new(bin);
        // clap prints SSPR_CONFIG's value, and wraps at the terminal's width.
        cmd.env_remove("SSPR_CONFIG").env_remove("COLUMNS");
        if sub.is_empty() {
            cmd.arg("--help");
        } else {
            cmd.args(sub);
            help.push_str(&format!("\n$ sspr {}\n", sub.join(" ")));
        }
        help.push_str(&output(&mut cmd)?);
    }
    let escaped: String = help
        .lines()
        .map(|l| {
            let l = l.replace('\\', "\\e").replace('-', "\\-");
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let page = format!(
        ".TH SSPR 1 \"\" \"sspr {version}\" \"System Administration\"\n\
         .SH NAME\n\
         sspr \\- self\\-service password reset portal\n\
         .SH SYNOPSIS\n\
         .B sspr\n\
         [\\fB\\-\\-config\\fR \\fIFILE\\fR] [\\fICOMMAND\\fR]\n\
         .SH DESCRIPTION\n\
         \\fBsspr\\fR serves a self\\-service password reset portal in front of its \
         built\\-in directory, OpenLDAP or Active Directory. Without a command it serves \
         the portal; the service unit \\fBsspr.service\\fR runs it as the user \\fBsspr\\fR.\n\
         .SH COMMANDS AND OPTIONS\n\
         .nf\n{escaped}.fi\n\
         .SH FILES\n\
         .TP\n/etc/sspr/sspr.toml\nThe configuration; every field is documented in it.\n\
         .TP\n/etc/sspr/theme.json, /etc/sspr/branding/\nThe theme, and the only folder served \
         under /branding/.\n\
         .TP\n/var/lib/sspr/\nThe SQLite store and the master key \\fBsspr.key\\fR: back it up.\n\
         .SH ENVIRONMENT\n\
         Any field can be set as \\fBSSPR__SECTION__FIELD\\fR, e.g. \
         \\fBSSPR__SERVER__BIND=127.0.0.1:8080\\fR. \\fBSSPR_LOG\\fR sets what is logged.\n\
         .SH SEE ALSO\n\
         \\fBsystemctl\\fR(1), /usr/share/doc/sspr/\n"
    );
    gzip(page.as_bytes())
}

/// Every regular file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out)
                } else if let Ok(rel) = p.strip_prefix(base) {
                    out.push(rel.to_path_buf())
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `Depends` for the binary's shared libraries, by dpkg-shlibdeps.
fn shlib_depends(out: &Path, bin: &Path) -> Result<String> {
    let work = out.join("shlibdeps");
    let _ = std::fs::remove_dir_all(&work);
    // dpkg-shlibdeps wants to run in a source tree.
    write(
        &work.join("debian/control"),
        "Source: sspr\n\nPackage: sspr\nArchitecture: amd64\n",
        0o644,
    )?;
    let found = output(
        Command::new("dpkg-shlibdeps")
            .current_dir(&work)
            .arg("-O")
            .arg(format!("-e{}", bin.display())),
    )?;
    let _ = std::fs::remove_dir_all(&work);
    found
        .lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .map(|d| d.trim().to_string())
        .filter(|d| d.contains("libc6"))
        .ok_or_else(|| format!("dpkg-shlibdeps printed no libc6 dependency: {found}"))
}

/// Stages the package from `target/release/sspr` as it is (no build) and
/// runs dpkg-deb. Returns the .deb's path.
pub fn build_deb(root: &Path) -> Result<PathBuf> {
    let version = version(root)?;
    let release = root.join("target/release/sspr");
    if !release.exists() {
        return Err(format!(
            "{} is missing: run cargo xtask build-web and cargo build --release -p sspr-server first",
            release.display()
        ));
    }
    let out = out_dir(root);
    let stage = out.join("deb");
    let _ = std::fs::remove_dir_all(&stage);
    mkdir(&stage)?;
    let epoch = source_date_epoch(root);

    // The binary, stripped as Debian ships binaries.
    let bin = stage.join("usr/bin/sspr");
    mkdir(bin.parent().unwrap_or(&stage))?;
    run(Command::new("strip")
        .args([
            "--strip-unneeded",
            "--remove-section=.comment",
            "--remove-section=.note",
            "-o",
        ])
        .arg(&bin)
        .arg(&release))?;
    chmod(&bin, 0o755)?;

    write(
        &stage.join(UNIT_DIR).join("sspr.service"),
        read(root, "packaging/deb/sspr.service")?,
        0o644,
    )?;
    // The config may name secrets: postinst makes it root:sspr 0640 with
    // dpkg-statoverride, once the group exists.
    write(
        &stage.join("etc/sspr/sspr.toml"),
        deb_config(&read(root, "config/sspr.example.toml")?)?,
        0o644,
    )?;
    write(
        &stage.join("etc/sspr/theme.json"),
        read(root, "public/theme.json")?,
        0o644,
    )?;
    mkdir(&stage.join("etc/sspr/branding"))?;

    let doc = stage.join("usr/share/doc/sspr");
    write(&doc.join("copyright"), copyright(root)?, 0o644)?;
    // Apache-2.0 section 4: the licence and the NOTICE go with every copy.
    write(&doc.join("LICENSE"), read(root, "LICENSE")?, 0o644)?;
    write(&doc.join("NOTICE"), read(root, "NOTICE")?, 0o644)?;
    let date = output(Command::new("date").args(["-R", "-u", "-d", &format!("@{epoch}")]))?;
    let commit =
        output(
            Command::new("git")
                .current_dir(root)
                .args(["rev-parse", "--short=12", "HEAD"]),
        )
        .unwrap_or_default();
    let maintainer = maintainer();
    let changelog = format!(
        "sspr ({version}) unstable; urgency=medium\n\n  * Built from commit {}.\n\n -- {maintainer}  {}\n",
        commit.trim(),
        date.trim()
    );
    write(
        &doc.join("changelog.gz"),
        gzip(changelog.as_bytes())?,
        0o644,
    )?;
    write(
        &stage.join("usr/share/man/man1/sspr.1.gz"),
        man_page(&release, &version)?,
        0o644,
    )?;

    // Control files.
    let files = files_under(&stage);
    let conffiles: Vec<&PathBuf> = files.iter().filter(|f| f.starts_with("etc")).collect();
    let md5 = output(
        Command::new("md5sum")
            .current_dir(&stage)
            .args(files.iter().filter(|f| !f.starts_with("etc"))),
    )?;
    let installed_kib: u64 = files
        .iter()
        .map(|f| {
            std::fs::metadata(stage.join(f))
                .map(|m| m.len().div_ceil(1024))
                .unwrap_or(0)
        })
        .sum();
    let depends = shlib_depends(&out, &bin)?;
    let control = format!(
        "Package: sspr\n\
         Version: {version}\n\
         Architecture: amd64\n\
         Maintainer: {maintainer}\n\
         Installed-Size: {installed_kib}\n\
         Depends: adduser, {depends}\n\
         Recommends: ca-certificates\n\
         Section: admin\n\
         Priority: optional\n\
         Description: self-service password reset portal for your own directory\n \
         sspr lets people who forgot their password, or locked themselves out,\n \
         prove who they are with the methods they registered (authenticator app,\n \
         phone, email, recovery codes) and set a new password, written back to\n \
         the built-in store, OpenLDAP or Active Directory.\n \
         .\n \
         This package holds the sspr server with its web interface built in, a\n \
         hardened systemd unit running it as the system user sspr, and a\n \
         configuration in /etc/sspr to edit before starting it.\n"
    );
    let debian = stage.join("DEBIAN");
    write(&debian.join("control"), control, 0o644)?;
    write(
        &debian.join("conffiles"),
        conffiles
            .iter()
            .map(|f| format!("/{}\n", f.display()))
            .collect::<String>(),
        0o644,
    )?;
    write(&debian.join("md5sums"), md5, 0o644)?;
    for script in ["postinst", "prerm", "postrm"] {
        write(
            &debian.join(script),
            read(root, &format!("packaging/deb/{script}"))?,
            0o755,
        )?;
    }
    // dpkg-deb keeps directory modes as staged.
    set_dir_modes(&stage)?;

    let deb = out.join(format!("sspr_{version}_amd64.deb"));
    run(Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group"])
        .arg(&stage)
        .arg(&deb)
        .env("SOURCE_DATE_EPOCH", &epoch))?;
    eprintln!(
        "built {} (Depends: adduser, {depends}; {installed_kib} KiB installed)",
        size(&deb)?
    );
    Ok(deb)
}

fn maintainer() -> String {
    std::env::var("SSPR_DEB_MAINTAINER")
        .unwrap_or_else(|_| "sspr maintainers <maintainers@sspr.example.invalid>".into())
}

fn set_dir_modes(dir: &Path) -> Result {
    chmod(dir, 0o755)?;
    for e in std::fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
        if e.path().is_dir() {
            set_dir_modes(&e.path())?;
        }
    }
    Ok(())
}

/// Lintian's verdict: errors fail, warnings and the rest are printed.
fn lintian(deb: &Path) -> Result {
    if !have("/usr/bin/lintian") {
        eprintln!("lintian is not installed: the package was not linted");
        return Ok(());
    }
    let out = Command::new("lintian")
        .args(["--no-tag-display-limit", "--display-info"])
        .arg(deb)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("lintian: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("E:")).collect();
    eprintln!(
        "\nlintian: {} error(s), {} warning(s), {} info",
        errors.len(),
        text.lines().filter(|l| l.starts_with("W:")).count(),
        text.lines().filter(|l| l.starts_with("I:")).count()
    );
    for l in text.lines() {
        eprintln!("  {l}");
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("lintian found errors in {}", deb.display()))
    }
}

/// A free loopback port.
fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// `GET path` on a loopback port: the status code and the body.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split_whitespace().nth(1)?.parse().ok()?;
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// Waits until `/api/health` answers 200 `{"status":"ok"...}`; `alive` says
/// whether the server can still come up (an error ends the wait).
fn wait_healthy(port: u16, mut alive: impl FnMut() -> Result) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((200, body)) = http_get(port, "/api/health") {
            if body.contains("\"status\":\"ok\"") {
                return Ok(body);
            }
            return Err(format!("/api/health answered 200 but {body}"));
        }
        alive()?;
        if Instant::now() > deadline {
            return Err("/api/health did not answer within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `/reset` answers the reset page the binary embedded from dist/.
fn serves_the_spa(root: &Path, port: u16, who: &str) -> Result {
    let page = read(root, "dist/index.html")?;
    match http_get(port, "/reset") {
        Some((200, body)) if body.contains(page.trim()) => {
            eprintln!("{who} serves the SPA it embedded (GET /reset)");
            Ok(())
        }
        Some((status, _)) => Err(format!(
            "{who}: GET /reset answered {status} without dist/index.html"
        )),
        None => Err(format!("{who}: GET /reset got no answer")),
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn dpkg_installed() -> bool {
    output(Command::new("dpkg-query").args(["-W", "-f=${Status}", "sspr"]))
        .is_ok_and(|s| s.contains("installed") && !s.contains("not-installed"))
}

/// Purges the package when dropped, so a failed check leaves no install behind.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = run(Command::new("dpkg").args(["--purge", "sspr"]));
    }
}

/// `dpkg -i`, `check-config`, the portal run as `sspr` and its health, the
/// key file it made, then `dpkg --purge` and nothing left behind.
fn deb_roundtrip(root: &Path, deb: &Path) -> Result {
    if !tools::is_root() {
        eprintln!("packages: not root, so the .deb was built and linted but not installed");
        return Ok(());
    }
    if dpkg_installed() {
        eprintln!(
            "packages: an sspr package is installed already (an interrupted run?): purging it first"
        );
        run(Command::new("dpkg").args(["--purge", "sspr"]))?;
    }
    run(Command::new("dpkg").arg("-i").arg(deb))?;
    let installed = Installed;
    // Again, as an upgrade: the maintainer scripts must take a second run.
    run(Command::new("dpkg").arg("-i").arg(deb))?;

    run(Command::new("/usr/bin/sspr").args(["--config", "/etc/sspr/sspr.toml", "check-config"]))?;
    systemd_checks()?;

    let id = |flag: &str| -> Result<u32> {
        let n = output(Command::new("id").args([flag, "sspr"]))?;
        n.trim().parse().map_err(|_| format!("id {flag} sspr: {n}"))
    };
    let (uid, gid) = (id("-u")?, id("-g")?);
    // The config may hold secrets: root's, readable by the service's group only.
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata("/etc/sspr/sspr.toml").map_err(|e| e.to_string())?;
        if (m.uid(), m.gid(), m.mode() & 0o7777) != (0, gid, 0o640) {
            return Err(format!(
                "/etc/sspr/sspr.toml is {}:{} mode {:o}, expected root:sspr 640",
                m.uid(),
                m.gid(),
                m.mode() & 0o7777
            ));
        }
        eprintln!("/etc/sspr/sspr.toml: root:sspr, mode 640");
    }
    let port = free_port()?;
    let log = std::env::temp_dir().join(format!("sspr-deb-{}.log", std::process::id()));
    let log_file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut child = Command::new("runuser")
        .args([
            "-u",
            "sspr",
            "--",
            "/usr/bin/sspr",
            "--config",
            "/etc/sspr/sspr.toml",
        ])
        .env("SSPR__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("NO_COLOR", "1")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("runuser: {e}"))?;
    let checked = (|| -> Result {
        let body = wait_healthy(port, || match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("the installed sspr exited with {status}")),
            Err(e) => Err(e.to_string()),
        })?;
        eprintln!("installed sspr, run as sspr: GET /api/health -> 200 {body}");
        serves_the_spa(root, port, "the installed sspr")?;
        check_owned_0600(Path::new("/var/lib/sspr/sspr.key"), uid)?;
        // The store sits in the state folder, which only sspr may enter.
        check_owned(Path::new("/var/lib/sspr"), uid, 0o700)?;
        check_owned(Path::new("/var/lib/sspr/sspr.db"), uid, 0)?;
        Ok(())
    })();
    let stopped = stop(&mut child, port);
    if let Err(e) = checked.and(stopped) {
        return Err(format!("{e}\nits log:\n{}", tail(&log)));
    }
    let _ = std::fs::remove_file(&log);

    drop(installed);
    let mut left = Vec::new();
    if dpkg_installed() {
        left.push("the package".to_string());
    }
    for p in ["/var/lib/sspr", "/etc/sspr", "/usr/bin/sspr"] {
        if Path::new(p).exists() {
            left.push(p.to_string());
        }
    }
    if output(Command::new("getent").args(["passwd", "sspr"])).is_ok() {
        left.push("the user sspr".into());
    }
    if output(Command::new("getent").args(["group", "sspr"])).is_ok() {
        left.push("the group sspr".into());
    }
    if !left.is_empty() {
        return Err(format!("dpkg --purge sspr left {}", left.join(", ")));
    }
    eprintln!("dpkg --purge sspr removed the package, /var/lib/sspr, /etc/sspr and the user");
    Ok(())
}

fn check_owned_0600(path: &Path, uid: u32) -> Result {
    check_owned(path, uid, 0o600)
}

/// `path` belongs to `uid` and, unless `mode` is 0, has exactly that mode.
fn check_owned(path: &Path, uid: u32, mode: u32) -> Result {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let has = m.mode() & 0o7777;
    if (mode != 0 && has != mode) || m.uid() != uid {
        return Err(format!(
            "{} is mode {has:o} owned by uid {}, expected mode {mode:o} and uid {uid}",
            path.display(),
            m.uid()
        ));
    }
    eprintln!("{}: mode {has:o}, owned by uid {uid}", path.display());
    Ok(())
}

/// SIGTERM (runuser passes it on), then a bounded wait; the port must close.
fn stop(child: &mut Child, port: u16) -> Result {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the installed sspr did not stop within 15 s of SIGTERM".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if http_get(port, "/api/health").is_some() {
        return Err(format!(
            "runuser exited ({status}) but the portal still answers on port {port}"
        ));
    }
    eprintln!("the installed sspr stopped on SIGTERM ({status})");
    Ok(())
}

/// `systemd-analyze verify` must pass; `security` is printed, not judged.
fn systemd_checks() -> Result {
    let unit = format!("/{UNIT_DIR}/sspr.service");
    if !have("/usr/bin/systemd-analyze") {
        eprintln!("systemd-analyze is missing: the unit was not verified");
        return Ok(());
    }
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no", &unit])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("systemd-analyze: {e}"))?;
    let said = String::from_utf8_lossy(&verify.stderr).to_string()
        + &String::from_utf8_lossy(&verify.stdout);
    if !verify.status.success() || said.contains("sspr.service") {
        return Err(format!("systemd-analyze verify {unit}:\n{said}"));
    }
    eprintln!("systemd-analyze verify {unit}: ok");
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager", &unit])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("systemd-analyze: {e}"))?;
    let text = String::from_utf8_lossy(&security.stdout);
    match text.lines().find(|l| l.contains("Overall exposure level")) {
        Some(line) => eprintln!(
            "systemd-analyze security: {}",
            line.trim().trim_start_matches("→ ")
        ),
        None => eprintln!(
            "systemd-analyze security gave no score: {}",
            String::from_utf8_lossy(&security.stderr).trim()
        ),
    }
    Ok(())
}

/// The static musl `sspr` with the SPA embedded (dist/ must be built).
fn build_musl(root: &Path) -> Result<PathBuf> {
    let started = Instant::now();
    run(cargo(root)
        .args(["build", "--release", "-p", "sspr-server", "--target", MUSL])
        // ring and SQLite's C through musl's wrapper, linked into the binary.
        .env("CC_x86_64_unknown_linux_musl", "musl-gcc"))?;
    let bin = root.join(format!("target/{MUSL}/release/sspr"));
    eprintln!("static musl sspr built in {}s", started.elapsed().as_secs());
    check_static(&bin)?;
    Ok(bin)
}

/// No interpreter and no shared library: it runs in an empty image.
fn check_static(bin: &Path) -> Result {
    let file = output(Command::new("file").arg("-b").arg(bin))?;
    let dynamic = output(Command::new("readelf").arg("-d").arg(bin))?;
    let program = output(Command::new("readelf").arg("-lW").arg(bin))?;
    let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
    if !needed.is_empty() || program.contains("INTERP") || file.contains("dynamically linked") {
        return Err(format!(
            "{} is not static: {file}{}",
            bin.display(),
            needed.join("\n")
        ));
    }
    eprintln!(
        "{}: {} (no interpreter, no shared library)",
        bin.display(),
        file.trim()
    );
    Ok(())
}

/// buildah with a store of its own: vfs, which needs no overlay support.
fn buildah(store: &Path) -> Command {
    let mut c = Command::new("buildah");
    c.arg("--root")
        .arg(store.join("root"))
        .arg("--runroot")
        .arg(store.join("run"))
        .args(["--storage-driver", "vfs"]);
    c
}

/// Removes a throwaway container store (its layers may be read-only).
fn remove_store(store: &Path) {
    if store.exists() {
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+w")
            .arg(store)
            .status();
        let _ = std::fs::remove_dir_all(store);
    }
}

/// The OCI archive: `buildah from scratch`, the files written into its
/// mount, `buildah config`, commit and push. Returns the archive's path.
fn build_image(root: &Path, bin: &Path) -> Result<PathBuf> {
    let version = version(root)?;
    let out = out_dir(root);
    let store = out.join("buildah");
    remove_store(&store);
    let name = format!("sspr-build-{}", std::process::id());
    let ctr = output(buildah(&store).args(["from", "--name", &name, "scratch"]))?;
    let ctr = ctr.trim().to_string();
    let built = (|| -> Result<PathBuf> {
        let mnt = PathBuf::from(output(buildah(&store).args(["mount", &ctr]))?.trim());
        let staged = stage_image(root, bin, &mnt);
        run(buildah(&store).args(["umount", &ctr]))?;
        staged?;
        let tag = format!("localhost/sspr:{version}");
        run(buildah(&store).args([
            "config",
            "--os",
            "linux",
            "--arch",
            "amd64",
            "--entrypoint",
            "[\"/usr/bin/sspr\"]",
            "--cmd",
            "[\"serve\"]",
            "--user",
            &format!("{OCI_UID}:{OCI_UID}"),
            "--port",
            "8080/tcp",
            "--volume",
            "/var/lib/sspr",
            "--workingdir",
            "/var/lib/sspr",
            "--env",
            "SSPR_CONFIG=/etc/sspr/sspr.toml",
            // Container logs are collected as text: no terminal colours.
            "--env",
            "NO_COLOR=1",
            "--stop-signal",
            "SIGTERM",
            "--label",
            "org.opencontainers.image.title=sspr",
            "--label",
            &format!("org.opencontainers.image.version={version}"),
            "--label",
            "org.opencontainers.image.licenses=Apache-2.0",
            "--label",
            "org.opencontainers.image.description=Self-service password reset portal",
            &ctr,
        ]))?;
        // The commit's time on the image and its files: one commit, one image.
        let epoch = source_date_epoch(root);
        run(buildah(&store).args([
            "commit",
            "--format",
            "oci",
            "--timestamp",
            &epoch,
            "--rm",
            &ctr,
            &tag,
        ]))?;
        let archive = out.join("sspr-oci.tar");
        let _ = std::fs::remove_file(&archive);
        run(buildah(&store).args([
            "push",
            &tag,
            &format!("oci-archive:{}:sspr:{version}", archive.display()),
        ]))?;
        Ok(archive)
    })();
    if built.is_err() {
        let _ = buildah(&store).args(["rm", &ctr]).output();
    }
    remove_store(&store);
    let archive = built?;
    eprintln!("built {}", size(&archive)?);
    Ok(archive)
}

/// What the image holds, written into the working container's root.
fn stage_image(root: &Path, bin: &Path, mnt: &Path) -> Result {
    let target = mnt.join("usr/bin/sspr");
    mkdir(target.parent().unwrap_or(mnt))?;
    run(Command::new("strip")
        .args(["--strip-unneeded", "-o"])
        .arg(&target)
        .arg(bin))?;
    chmod(&target, 0o755)?;
    write(
        &mnt.join("etc/sspr/sspr.toml"),
        read(root, "packaging/oci/sspr.toml")?,
        0o644,
    )?;
    write(
        &mnt.join("etc/passwd"),
        format!(
            "root:x:0:0:root:/root:/sbin/nologin\nsspr:x:{OCI_UID}:{OCI_UID}:sspr:/var/lib/sspr:/sbin/nologin\n"
        ),
        0o644,
    )?;
    write(
        &mnt.join("etc/group"),
        format!("root:x:0:\nsspr:x:{OCI_UID}:\n"),
        0o644,
    )?;
    // The system's roots, for LDAPS, SMTP and the SMS gateway over TLS.
    let roots = Path::new("/etc/ssl/certs/ca-certificates.crt");
    let pem = std::fs::read(roots).map_err(|e| {
        format!(
            "{}: {e} (install Debian's ca-certificates)",
            roots.display()
        )
    })?;
    write(&mnt.join("etc/ssl/certs/ca-certificates.crt"), pem, 0o644)?;
    write(
        &mnt.join("usr/share/doc/sspr/LICENSE"),
        read(root, "LICENSE")?,
        0o644,
    )?;
    write(
        &mnt.join("usr/share/doc/sspr/NOTICE"),
        read(root, "NOTICE")?,
        0o644,
    )?;
    for (dir, mode) in [("tmp", 0o1777), ("var/lib/sspr", 0o700)] {
        let d = mnt.join(dir);
        mkdir(&d)?;
        chmod(&d, mode)?;
    }
    run(Command::new("chown")
        .arg(format!("{OCI_UID}:{OCI_UID}"))
        .arg(mnt.join("var/lib/sspr")))
}

/// podman with a store of its own, and the settings this kind of sandbox
/// needs: runc (crun refuses hybrid cgroups), cgroupfs, and ulimits no
/// higher than the sandbox lets a container raise them.
fn podman(store: &Path) -> Command {
    let mut c = Command::new("podman");
    c.arg("--root")
        .arg(store.join("root"))
        .arg("--runroot")
        .arg(store.join("run"))
        .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"]);
    if have("/usr/sbin/runc") {
        c.args(["--runtime", "runc"]);
    }
    c
}

const PODMAN_RUN: &[&str] = &[
    "run",
    "--network",
    "host",
    "--ulimit",
    "nofile=4096:4096",
    "--ulimit",
    "nproc=4096:4096",
];

/// Why podman cannot run a container here, when the failure is the host's
/// rather than the image's.
fn host_refuses(err: &str) -> Option<String> {
    const HOST: &[&str] = &[
        "cgroup",
        "rlimit",
        "namespace",
        "unshare",
        "no valid executable found for OCI runtime",
        "Operation not permitted",
        "operation not permitted",
    ];
    HOST.iter()
        .any(|h| err.contains(h))
        .then(|| err.lines().last().unwrap_or(err).trim().to_string())
}

/// Loads the archive with podman, runs it with a volume and a port, and
/// requires `/api/health` and a 0600 key in the volume.
fn oci_roundtrip(root: &Path, archive: &Path) -> Result {
    let version = version(root)?;
    if !have("/usr/bin/podman") {
        eprintln!(
            "packages: podman is not installed, so the image was built and its binary checked static, but not run"
        );
        return Ok(());
    }
    let store = out_dir(root).join("podman");
    remove_store(&store);
    let result = (|| -> Result {
        let loaded = output(podman(&store).arg("load").arg("-i").arg(archive))?;
        let image = loaded
            .lines()
            .find_map(|l| l.strip_prefix("Loaded image: "))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| format!("localhost/sspr:{version}"));
        let mb = output(podman(&store).args(["image", "inspect", "-f", "{{.Size}}", &image]))?;
        eprintln!(
            "podman load: {image}, {:.1} MB unpacked",
            mb.trim().parse::<f64>().unwrap_or(0.0) / 1e6
        );
        // The image's own binary, once: a host that cannot run containers says so here.
        match output(
            podman(&store)
                .args(PODMAN_RUN)
                .args(["--rm", &image, "--version"]),
        ) {
            Ok(v) if v.trim() == format!("sspr {version}") => {}
            Ok(v) => return Err(format!("the image's sspr --version printed {v:?}")),
            Err(e) => {
                return match host_refuses(&e) {
                    Some(why) => {
                        eprintln!(
                            "packages: podman cannot run containers on this machine ({why}): \
                             the image was built and its binary checked static, but not run"
                        );
                        Ok(())
                    }
                    None => Err(e),
                };
            }
        }
        let port = free_port()?;
        let volume = format!("sspr-test-{}", std::process::id());
        let name = format!("sspr-test-{}", std::process::id());
        output(
            podman(&store)
                .args(PODMAN_RUN)
                .args(["-d", "--name", &name, "-v"])
                .arg(format!("{volume}:/var/lib/sspr"))
                .arg("-e")
                .arg(format!("SSPR__SERVER__BIND=127.0.0.1:{port}"))
                .arg("-e")
                .arg(format!("SSPR__SERVER__PUBLIC_URL=http://127.0.0.1:{port}"))
                .arg(&image),
        )?;
        let checked = (|| -> Result {
            let body = wait_healthy(port, || {
                let state =
                    output(podman(&store).args(["inspect", "-f", "{{.State.Status}}", &name]))?;
                if state.trim() == "running" {
                    Ok(())
                } else {
                    Err(format!("the container is {}", state.trim()))
                }
            })?;
            eprintln!("container: GET /api/health -> 200 {body}");
            serves_the_spa(root, port, "the container's sspr")?;
            let mount = output(podman(&store).args([
                "volume",
                "inspect",
                "-f",
                "{{.Mountpoint}}",
                &volume,
            ]))?;
            check_owned_0600(&Path::new(mount.trim()).join("sspr.key"), OCI_UID)
        })();
        let logs = podman(&store)
            .args(["logs", &name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .unwrap_or_default();
        let stopped = output(podman(&store).args(["stop", "-t", "10", &name]));
        let _ = podman(&store).args(["rm", "-f", &name]).output();
        let _ = podman(&store)
            .args(["volume", "rm", "-f", &volume])
            .output();
        checked.map_err(|e| format!("{e}\nthe container's log:\n{logs}"))?;
        stopped?;
        eprintln!("the container stopped on SIGTERM");
        Ok(())
    })();
    remove_store(&store);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        crate::root()
    }

    #[test]
    fn the_package_config_moves_state_to_var_lib_and_branding_out() {
        let text = deb_config(&read(&root(), "config/sspr.example.toml").unwrap()).unwrap();
        for line in [
            "url = \"sqlite:///var/lib/sspr/sspr.db?mode=rwc\"",
            "key_file = \"/var/lib/sspr/sspr.key\"",
            "file = \"/etc/sspr/theme.json\"",
            "branding_dir = \"/etc/sspr/branding\"",
        ] {
            assert_eq!(text.lines().filter(|l| *l == line).count(), 1, "{line}");
        }
    }

    #[test]
    fn the_package_config_refuses_a_changed_example() {
        let e = deb_config("[store]\nurl = \"sqlite://other.db\"\n").unwrap_err();
        assert!(e.contains("sqlite://sspr.db"), "{e}");
    }

    #[test]
    fn copyright_carries_both_licences() {
        let c = copyright(&root()).unwrap();
        assert!(c.contains("/usr/share/common-licenses/Apache-2.0"), "{c}");
        assert!(c.contains("License: MIT\n Permission is hereby granted"));
        assert!(c.contains("Dan Wheeler and Dropbox, Inc."));
        // Every continuation line is indented; blank lines are " .".
        assert!(!c.lines().any(|l| l.trim().is_empty() && !l.is_empty()));
    }

    #[test]
    fn podman_failures_of_the_host_are_told_from_the_images() {
        for host in [
            "Error: OCI runtime error: crun: cgroups in hybrid mode not supported, drop all controllers from cgroupv2",
            "Error: crun: setrlimit `RLIMIT_NOFILE`: Operation not permitted: OCI permission denied",
        ] {
            assert!(host_refuses(host).is_some(), "{host}");
        }
        let image = "Error: runc: runc create failed: unable to start container process: exec: \"/usr/bin/sspr\": exec format error";
        assert_eq!(host_refuses(image), None);
    }

    #[test]
    fn the_version_is_the_servers() {
        let v = version(&root()).unwrap();
        assert_eq!(v.split('.').count(), 3, "{v}");
        assert!(v.chars().all(|c| c.is_ascii_digit() || c == '.'), "{v}");
    }
}
