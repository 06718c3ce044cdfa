//! Builds the SPA: trunk (offline, pinned tools), then moves trunk's inline
//! loader into a hashed file (so the CSP needs no 'unsafe-inline'), writes
//! brotli and gzip copies, and reports first-load bytes.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use sha2::Digest;

use crate::tools::tool_path;
use crate::{Result, run};

const COMPRESSIBLE: &[&str] = &["html", "js", "wasm", "css", "json", "svg", "txt", "ico"];

pub struct Sizes {
    pub raw: usize,
    pub brotli: usize,
}

/// What the SPA build reads. A change to any of these rebuilds it.
const INPUTS: &[&str] = &[
    "src",
    "style",
    "public",
    "proto",
    "guesses",
    "strength",
    "index.html",
    "account.html",
    "insights.html",
    "Trunk.toml",
    "Cargo.toml",
    "Cargo.lock",
    // The wasm target's rustflags (erase_components) shape the SPA's code.
    ".cargo/config.toml",
    "package-lock.json",
    // This file post-processes dist/ (hashed worker, loader, CSP-safe shells).
    "xtask/src/web.rs",
];
const STAMP: &str = ".sspr-build-stamp";

/// A hash of every SPA input (paths and contents), this post-processing included.
fn inputs_hash(root: &Path) -> String {
    let mut files = Vec::new();
    for i in INPUTS {
        let p = root.join(i);
        if p.is_dir() {
            walk(&p, &mut files)
        } else {
            files.push(p)
        }
    }
    files.retain(|f| !f.components().any(|c| c.as_os_str() == "target"));
    files.sort();
    let mut h = sha2::Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    for f in files {
        h.update(
            f.strip_prefix(root)
                .unwrap_or(&f)
                .to_string_lossy()
                .as_bytes(),
        );
        h.update(std::fs::read(&f).unwrap_or_default());
    }
    format!("{:x}", h.finalize())
}

/// The three apps: the reset app (`/`, `/reset`), the account app
/// (`/signin`, `/security-info`) and the insights app (`/insights`). Each
/// page loads only its own wasm.
const PAGES: &[&str] = &["index.html", "account.html", "insights.html"];

/// The pages built after the first, each aside (trunk empties its dist on
/// every build) and merged in: page and binary.
const ASIDE: &[(&str, &str)] = &[("account.html", "account"), ("insights.html", "insights")];

pub fn build(root: &Path) -> Result<Sizes> {
    let dist = root.join("dist");
    let hash = inputs_hash(root);
    if std::fs::read_to_string(dist.join(STAMP)).ok().as_deref() == Some(hash.as_str()) {
        eprintln!("\ndist/ is up to date with the SPA's sources: not rebuilding");
        return report(&dist);
    }
    let trunk = |target: &str, out: &Path| {
        run(Command::new(crate::tools::cargo_bin().join("trunk"))
            .current_dir(root)
            .args(["build", "--release=true", "--dist"])
            .arg(out)
            .arg(target)
            .env("PATH", tool_path(root))
            .env("TRUNK_OFFLINE", "true")
            .env("NO_COLOR", "true"))
    };
    same_shell(root)?;
    trunk("index.html", &dist)?;
    // The other apps are built aside and merged in (their hashed names never
    // collide).
    for (page, bin) in ASIDE {
        let aside = root.join(format!("target/trunk-{bin}"));
        trunk(page, &aside)?;
        let mut files = Vec::new();
        walk(&aside, &mut files);
        for f in files {
            let rel = f.strip_prefix(&aside).map_err(|e| e.to_string())?;
            // Trunk always names its page index.html.
            let to = if rel == Path::new("index.html") {
                dist.join(page)
            } else {
                dist.join(rel)
            };
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::copy(&f, &to).map_err(|e| format!("{}: {e}", f.display()))?;
        }
    }
    let worker = hash_worker(&dist)?;
    for page in PAGES {
        externalise_loader(&dist, page)?;
        announce_worker(&dist, page, &worker)?;
    }
    compress_all(&dist)?;
    std::fs::write(dist.join(STAMP), hash).map_err(|e| e.to_string())?;
    report(&dist)
}

/// The pages must stay one shell: account.html and insights.html are
/// index.html with their own binary, and without the strength worker (built
/// once, with the reset app, and shared); insights.html adds its own
/// stylesheet, so the other pages carry none of its rules. A head edit made
/// to one only is caught here.
fn same_shell(root: &Path) -> Result {
    let read = |p: &str| std::fs::read_to_string(root.join(p)).map_err(|e| format!("{p}: {e}"));
    let index = read("index.html")?;
    for (page, bin) in ASIDE {
        let expected: String = index
            .replace("data-bin=\"sspr-web\"", &format!("data-bin=\"{bin}\""))
            .lines()
            .filter(|l| !l.contains("data-type=\"worker\""))
            .map(|l| format!("{l}\n"))
            .collect();
        let own_css = format!("    <link data-trunk rel=\"css\" href=\"style/{bin}.css\" />\n");
        let actual: String = read(page)?
            .lines()
            .map(|l| format!("{l}\n"))
            .filter(|l| *l != own_css)
            .collect();
        if actual != expected {
            return Err(format!(
                "{page} must equal index.html with data-bin=\"{bin}\" and no worker"
            ));
        }
    }
    Ok(())
}

/// Trunk names worker files without a content hash. Rename them to
/// `sspr-strength-<hash>{.js,_bg.wasm,_loader.js}` so they are served
/// `immutable` like everything else, and return the loader's name.
fn hash_worker(dist: &Path) -> Result<String> {
    // `{base}` stands for the hashed name; the template joins the hash so a
    // new loader never hides behind an old, cached name.
    const LOADER: &str =
        "importScripts(\"./{base}.js\");wasm_bindgen({module_or_path:\"./{base}_bg.wasm\"});";
    let read = |n: &str| std::fs::read(dist.join(n)).map_err(|e| format!("dist/{n}: {e}"));
    let (js, wasm) = (read("sspr-strength.js")?, read("sspr-strength_bg.wasm")?);
    let mut h = sha2::Sha256::new();
    h.update(&js);
    h.update(&wasm);
    h.update(LOADER);
    let base = format!("sspr-strength-{}", &format!("{:x}", h.finalize())[..16]);
    let write = |n: &str, bytes: &[u8]| {
        std::fs::write(dist.join(n), bytes).map_err(|e| format!("dist/{n}: {e}"))
    };
    write(&format!("{base}.js"), &js)?;
    write(&format!("{base}_bg.wasm"), &wasm)?;
    let loader = format!("{base}_loader.js");
    write(&loader, LOADER.replace("{base}", &base).as_bytes())?;
    for old in [
        "sspr-strength.js",
        "sspr-strength_bg.wasm",
        "sspr-strength_loader.js",
    ] {
        std::fs::remove_file(dist.join(old)).map_err(|e| format!("dist/{old}: {e}"))?;
    }
    Ok(loader)
}

/// Trunk leaves workers for the app to start; the app finds the hashed
/// loader in `<meta name="sspr-strength">`.
fn announce_worker(dist: &Path, page: &str, loader: &str) -> Result {
    let path = dist.join(page);
    let html = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let meta = format!("<meta name=\"sspr-strength\" content=\"/{loader}\">");
    let html = html.replacen("</head>", &format!("{meta}</head>"), 1);
    if !html.contains(&meta) {
        return Err(format!("no </head> in dist/{page}"));
    }
    std::fs::write(&path, html).map_err(|e| e.to_string())
}

/// Trunk writes `<script type="module">import init ...</script>` into each page.
/// Move it to `boot-<hash>.js` and reference it, so `script-src 'self'` suffices.
fn externalise_loader(dist: &Path, page: &str) -> Result {
    let index = dist.join(page);
    let html = std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    let open = "<script type=\"module\">";
    let Some(start) = html.find(open) else {
        return Err(format!(
            "trunk's inline module loader was not found in dist/{page}"
        ));
    };
    let body_start = start + open.len();
    let end = body_start
        + html[body_start..]
            .find("</script>")
            .ok_or("unterminated loader script")?;
    let script = html[body_start..end].trim();
    let hash = format!("{:x}", sha2::Sha256::digest(script.as_bytes()));
    let name = format!("boot-{}.js", &hash[..16]);
    std::fs::write(dist.join(&name), script).map_err(|e| e.to_string())?;
    let replaced = format!(
        "{}<script type=\"module\" src=\"/{name}\"></script>{}",
        &html[..start],
        &html[end + "</script>".len()..]
    );
    if replaced.contains("<script>") || replaced.contains("<script type=\"module\">") {
        return Err(format!("dist/{page} still has an inline script"));
    }
    std::fs::write(&index, replaced).map_err(|e| e.to_string())
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out)
            } else {
                out.push(p)
            }
        }
    }
}

/// Brotli at the quality the server's precompressed files use.
pub fn brotli(data: &[u8]) -> Result<Vec<u8>> {
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &data[..], &mut br, &params).map_err(|e| e.to_string())?;
    Ok(br)
}

fn compress_all(dist: &Path) -> Result {
    let mut files = Vec::new();
    walk(dist, &mut files);
    for f in files {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !COMPRESSIBLE.contains(&ext) {
            continue;
        }
        let data = std::fs::read(&f).map_err(|e| e.to_string())?;
        let br = brotli(&data)?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&data).map_err(|e| e.to_string())?;
        let gz = gz.finish().map_err(|e| e.to_string())?;
        let with = |suffix: &str| {
            let mut s = f.clone().into_os_string();
            s.push(suffix);
            s
        };
        std::fs::write(with(".br"), br).map_err(|e| e.to_string())?;
        std::fs::write(with(".gz"), gz).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// First load of each page: the HTML, the loader it names, the JS glue and
/// wasm the loader imports, and the CSS. Returns the reset page's figures.
fn report(dist: &Path) -> Result<Sizes> {
    let names: Vec<String> = std::fs::read_dir(dist)
        .map_err(|e| e.to_string())?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".js") || n.ends_with(".wasm") || n.ends_with(".css"))
        .collect();
    // The strength worker loads lazily, off the first load.
    let (worker, names): (Vec<String>, Vec<String>) = names
        .into_iter()
        .partition(|n| n.starts_with("sspr-strength-"));
    let size = |n: &str| {
        let raw = std::fs::metadata(dist.join(n))
            .map(|m| m.len() as usize)
            .unwrap_or(0);
        let br = std::fs::metadata(dist.join(format!("{n}.br")))
            .map(|m| m.len() as usize)
            .unwrap_or(raw);
        (raw, br)
    };
    let mut first = None;
    for page in PAGES {
        let html = std::fs::read_to_string(dist.join(page)).map_err(|e| e.to_string())?;
        // What the page names, then what its loader names.
        let mut text = html.clone();
        for n in names.iter().filter(|n| html.contains(n.as_str())) {
            text.push_str(&std::fs::read_to_string(dist.join(n)).unwrap_or_default());
        }
        let mut rows: Vec<(String, usize, usize)> = vec![{
            let (raw, br) = size(page);
            (page.to_string(), raw, br)
        }];
        let mut used: Vec<&String> = names.iter().filter(|n| text.contains(n.as_str())).collect();
        used.sort();
        for n in used {
            let (raw, br) = size(n);
            rows.push((n.clone(), raw, br));
        }
        eprintln!("\nfirst-load bytes of {page}:");
        for (n, raw, br) in &rows {
            eprintln!("  {n:<48} {raw:>9} raw {br:>8} brotli");
        }
        let sizes = Sizes {
            raw: rows.iter().map(|r| r.1).sum(),
            brotli: rows.iter().map(|r| r.2).sum(),
        };
        eprintln!(
            "  {:<48} {:>9} raw {:>8} brotli",
            "TOTAL", sizes.raw, sizes.brotli
        );
        first.get_or_insert(sizes);
    }
    let mut worker = worker;
    worker.sort();
    eprintln!("\nstrength engine (a Web Worker, loaded during verification):");
    let mut total = (0, 0);
    for n in &worker {
        let (raw, br) = size(n);
        total = (total.0 + raw, total.1 + br);
        eprintln!("  {n:<48} {raw:>9} raw {br:>8} brotli");
    }
    eprintln!("  {:<48} {:>9} raw {:>8} brotli", "TOTAL", total.0, total.1);
    first.ok_or_else(|| "no pages".into())
}

/// Builds `sspr` in release mode, runs it from an empty directory with no
/// `assets_dir` and no theme file, and checks it serves the SPA it embedded.
pub fn check_embedded_release(root: &Path) -> Result {
    use std::io::Read;
    run(crate::cargo(root).args(["build", "--release", "-p", "sspr-server"]))?;
    let tmp = root.join("target/embed-check");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let bin = tmp.join("sspr");
    std::fs::copy(root.join("target/release/sspr"), &bin).map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    std::fs::write(
        tmp.join("sspr.toml"),
        format!(
            "[server]\nbind = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut child = Command::new(&bin)
        .current_dir(&tmp)
        .args(["--config", "sspr.toml"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    // Wait for the "listening" line rather than guessing a delay.
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("sspr listening") {
        let n = out.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            let _ = child.kill();
            return Err("release sspr exited before listening".into());
        }
        seen.extend_from_slice(&buf[..n]);
    }
    let result = (|| {
        let read = |p: &str| std::fs::read_to_string(root.join(p)).map_err(|e| e.to_string());
        let (reset, account) = (read("dist/index.html")?, read("dist/account.html")?);
        let insights = read("dist/insights.html")?;
        for (path, expect) in [
            ("/", reset.as_str()),
            ("/reset", reset.as_str()),
            ("/signin", account.as_str()),
            ("/security-info", account.as_str()),
            ("/insights", insights.as_str()),
            ("/theme.json", "\"organisation\""),
        ] {
            let got = http_get(port, path)?;
            if !got.starts_with("HTTP/1.1 200") || !got.contains(expect) {
                return Err(format!(
                    "GET {path} from the release binary did not serve the embedded file:\n{}",
                    &got[..got.len().min(400)]
                ));
            }
        }
        eprintln!(
            "release sspr ({} bytes) serves the embedded SPA",
            std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0)
        );
        Ok(())
    })();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn http_get(port: u16, path: &str) -> Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
    Ok(resp)
}
