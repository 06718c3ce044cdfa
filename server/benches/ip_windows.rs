//! Per-IP windows at scale: a million distinct client addresses through the
//! limiter, on SQLite, in process. Prints the process's memory before and
//! after (the windows live in the store, so it should not grow with the
//! addresses), the rate, the store's size, and what one housekeeping sweep
//! removes once the windows have ended.
//!
//! `cargo bench -p sspr-server --bench ip_windows`
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use sspr_server::limits::{IpLimits, WINDOW};
use sspr_server::store::Store;

/// `SSPR_BENCH_ADDRESSES` overrides it, for a quick look.
fn addresses() -> u32 {
    std::env::var("SSPR_BENCH_ADDRESSES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let store = Store::open(&format!("sqlite://{}?mode=rwc", db.display()), 4)
        .await
        .unwrap();
    let limits = IpLimits::new(store);
    let budget = ("identify", 60, WINDOW);
    // Warm up, then measure from here.
    for i in 0..1_000u32 {
        limits.hit(&format!("warm-{i}"), budget, 0).await.unwrap();
    }
    let before = rss_kib();
    let started = Instant::now();
    let mut peak = before;
    let n = addresses();
    for i in 0..n {
        let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
        limits.hit(&ip, budget, 1).await.unwrap();
        if i % 100_000 == 0 {
            peak = peak.max(rss_kib());
        }
    }
    let took = started.elapsed();
    let after = rss_kib().max(peak);
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(dir.path().join("w.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!("{n} distinct addresses through the per-IP limiter (SQLite):");
    println!(
        "  {:.1} s, {:.0} hits/s",
        took.as_secs_f64(),
        f64::from(n) / took.as_secs_f64()
    );
    println!(
        "  process RSS before {:.1} MB, highest after {:.1} MB (+{:.1} MB)",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        after.saturating_sub(before) as f64 / 1024.0
    );
    println!("  store on disk {:.1} MB", size as f64 / 1e6);
    let t = Instant::now();
    let swept = limits.sweep(2 + WINDOW).await.unwrap();
    println!(
        "  one sweep after the windows ended removed {swept} windows in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}
