//! `cargo xtask bench-floor`: what the SPA's stack costs before any of our
//! code. Builds the five apps in `bench/wasm-floor` (each adds one piece the
//! reset page needs) the way trunk builds the SPA: the wasm-release profile,
//! the wasm target's rustflags, wasm-bindgen `--target web`, then
//! `wasm-opt -Oz --strip-debug --strip-producers`. Prints each one's brotli
//! size and what its piece added, then the reset page's for comparison.
//! Figures only: nothing here fails on a size.

use std::path::Path;
use std::process::Command;

use crate::tools::{cargo_bin, tool_path};
use crate::{Result, cargo, run};

/// The apps, in order; each is the one before plus one piece.
const APPS: &[(&str, &str)] = &[
    ("1-hello", "mount one static view"),
    ("2-signal", "+ a signal and a click handler"),
    ("3-resource", "+ a LocalResource"),
    ("4-fetch", "+ a GET (gloo-net), JSON decoded by serde_json"),
    (
        "5-form",
        "+ Suspense, a bound input, Show, an Action that POSTs JSON",
    ),
];

pub fn bench(root: &Path) -> Result {
    crate::tools::ensure_build_tools(root)?;
    let manifest = root.join("bench/wasm-floor/Cargo.toml");
    let target = root.join("target/wasm-floor");
    // From the root, so the wasm target's rustflags in .cargo/config.toml apply.
    run(cargo(root)
        .args(["build", "--locked", "--manifest-path"])
        .arg(&manifest)
        .args([
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-release",
        ])
        .arg("--target-dir")
        .arg(&target))?;
    let built = target.join("wasm32-unknown-unknown/wasm-release");
    let out = target.join("out");
    let mut rows = Vec::new();
    for (name, adds) in APPS {
        let wasm = out.join(format!("{name}_bg.wasm"));
        run(Command::new(cargo_bin().join("wasm-bindgen"))
            .args([
                "--target",
                "web",
                "--no-typescript",
                "--out-name",
                name,
                "--out-dir",
            ])
            .arg(&out)
            .arg(built.join(format!("{name}.wasm"))))?;
        run(Command::new("wasm-opt")
            .env("PATH", tool_path(root))
            .args(["-Oz", "--strip-debug", "--strip-producers", "-o"])
            .arg(&wasm)
            .arg(&wasm))?;
        let br = |p: &Path| -> Result<usize> {
            let data = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(crate::web::brotli(&data)?.len())
        };
        let wasm_br = br(&wasm)?;
        let js_br = br(&out.join(format!("{name}.js")))?;
        rows.push((*name, *adds, wasm_br, js_br));
    }
    let reset = crate::web::build(root)?;
    eprintln!("\nthe stack's floor (brotli; wasm + its wasm-bindgen JS, no CSS):");
    eprintln!(
        "  {:<11} {:>9} {:>7} {:>9} {:>9}  adds",
        "app", "wasm", "js", "total", "step"
    );
    let mut before = 0;
    for (name, adds, wasm, js) in &rows {
        let total = wasm + js;
        let step = total as i64 - before as i64;
        eprintln!("  {name:<11} {wasm:>9} {js:>7} {total:>9} {step:>+9}  {adds}");
        before = total;
    }
    eprintln!(
        "\nthe reset page's first load (wasm + js + css + html): {} B brotli; budget 100,000 B",
        reset.brotli
    );
    Ok(())
}
