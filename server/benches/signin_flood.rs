//! A flood of sign-ins against the real binary: 1,000 at once, with names
//! that match nobody (each costs one argon2, as a wrong password does).
//! Prints the process's peak and after-burst memory, the answers by status,
//! the throughput, and `/api/health`'s latency during the flood, for the
//! default queue and for a queue long enough to take every request, side
//! by side in one run. Figures, not assertions: the goal (RSS under 150 MB,
//! health under 50 ms) is printed beside them.
//!
//! `cargo bench -p sspr-server --bench signin_flood`
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FLOOD: usize = 1000;

fn kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn percentile(xs: &mut [Duration], p: f64) -> f64 {
    xs.sort();
    let i = ((xs.len() as f64 - 1.0) * p).round() as usize;
    xs[i].as_secs_f64() * 1000.0
}

async fn run(label: &str, queue: usize) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    std::fs::write(
        dir.path().join("sspr.toml"),
        format!(
            "[server]\nbind = \"127.0.0.1:{port}\"\npublic_url = \"{url}\"\nhash_queue = {queue}\n\
             connection_limit = 4096\nconnection_limit_per_client = 4096\n\
             [store]\nurl = \"sqlite://sspr.db?mode=rwc\"\n[directory]\ndemo_users = true\n\
             [reset]\nsteps_per_ip = 1000000\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sspr"))
        .current_dir(dir.path())
        .args(["--config", "sspr.toml"])
        .env("SSPR_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while !lines.next().unwrap().unwrap().contains("sspr listening") {}
    let status_file = format!("/proc/{}/status", child.id());
    let idle = kib(&std::fs::read_to_string(&status_file).unwrap(), "VmRSS:");

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(FLOOD)
        .build()
        .unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..FLOOD)
        .map(|i| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                client
                    .post(format!("{url}/api/session"))
                    .header("content-type", "application/json")
                    .header("origin", &url)
                    .body(format!(r#"{{"username":"flood{i}","password":"not-it"}}"#))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        })
        .collect();
    // Health, every 20 ms, while the flood runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = {
        let (client, url, stop) = (reqwest::Client::new(), url.clone(), stop.clone());
        tokio::spawn(async move {
            let mut lat = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let ok = client
                    .get(format!("{url}/api/health"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                lat.push((t.elapsed(), ok));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            lat
        })
    };
    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    for t in tasks {
        *by_status.entry(t.await.unwrap()).or_default() += 1;
    }
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let lat: Vec<(Duration, bool)> = probe.await.unwrap();
    let status = std::fs::read_to_string(&status_file).unwrap();
    let (peak, after) = (kib(&status, "VmHWM:"), kib(&status, "VmRSS:"));
    let mut health: Vec<Duration> = lat.iter().map(|(d, _)| *d).collect();
    let failed = lat.iter().filter(|(_, ok)| !ok).count();
    let answered = by_status.get(&401).copied().unwrap_or(0);
    println!("{label} (hash_queue = {queue}):");
    println!(
        "  {FLOOD} concurrent sign-ins in {:.2} s: {by_status:?} (401 = checked, 503 = server.busy)",
        took.as_secs_f64()
    );
    println!(
        "  checked {:.1}/s; every answer {:.1}/s",
        answered as f64 / took.as_secs_f64(),
        FLOOD as f64 / took.as_secs_f64()
    );
    println!(
        "  RSS idle {:.1} MB, peak {:.1} MB, after {:.1} MB   (goal: under 150 MB)",
        idle as f64 / 1024.0,
        peak as f64 / 1024.0,
        after as f64 / 1024.0
    );
    if health.is_empty() {
        println!("  /api/health: no sample during the flood");
    } else {
        let n = health.len();
        println!(
            "  /api/health during the flood: {n} probes, {failed} failed, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms   (goal: under 50 ms)",
            percentile(&mut health, 0.5),
            percentile(&mut health, 0.99),
            percentile(&mut health, 1.0)
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    run("default queue", 64).await;
    run("every request queued", 2 * FLOOD).await;
}
