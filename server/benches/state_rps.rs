//! `/api/reset/state`'s throughput against the real binary over TCP: one
//! reset flow is started, then 64 keep-alive connections ask for its state
//! as fast as they are answered, for 10 s after a 2 s warm-up. Prints
//! requests per second, p50 and p99 latency, errors, and the server's
//! RSS. Figures, not assertions: the figure of issue 19 (20.2k req/s at 64
//! connections, p99 5.8 ms, on 2 cores) is printed beside them. The client
//! runs on the same machine, so it takes part of the cores the figure is
//! measured on; note how busy the machine was (`uptime`).
//!
//! `cargo bench -p sspr-server --bench state_rps`; with
//! `SSPR_BASELINE_BIN=/path/to/older/sspr`, that binary is measured alternately
//! with this one (`SSPR_BENCH_BIN` stands in for this one) (a baseline from before the per-client connection limits is
//! started without their keys).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

const CONNECTIONS: usize = 64;
const WARM_UP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(10);

/// The phases every connection follows.
const WARMING: u8 = 0;
const MEASURING: u8 = 1;
const DONE: u8 = 2;

fn kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The server's CPU time so far (user + system), in clock ticks (100 per
/// second on Linux), from `/proc/<pid>/stat`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) in brackets.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    field(11) + field(12)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// What one connection measured.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: usize,
}

/// One keep-alive connection asking for the flow's state until `phase` is
/// [`DONE`]; only answers sent while [`MEASURING`] count. A broken
/// connection counts as an error and is opened again.
async fn hammer(port: u16, origin: String, body: Bytes, phase: Arc<AtomicU8>) -> Tally {
    let mut tally = Tally::default();
    'connect: while phase.load(Ordering::Relaxed) != DONE {
        let Ok(tcp) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
            tally.errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let Ok((mut send, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await
        else {
            tally.errors += 1;
            continue;
        };
        tokio::spawn(conn);
        loop {
            let now = phase.load(Ordering::Relaxed);
            if now == DONE {
                break 'connect;
            }
            let req = hyper::Request::post("/api/reset/state")
                .header("host", format!("127.0.0.1:{port}"))
                .header("origin", &origin)
                .header("content-type", "application/json")
                .body(Full::new(body.clone()))
                .unwrap();
            let t = Instant::now();
            let ok = match send.send_request(req).await {
                Ok(resp) => {
                    let status = resp.status();
                    resp.into_body().collect().await.is_ok() && status.is_success()
                }
                Err(_) => {
                    if now == MEASURING {
                        tally.errors += 1;
                    }
                    continue 'connect;
                }
            };
            if now == MEASURING && phase.load(Ordering::Relaxed) == MEASURING {
                if ok {
                    tally.latencies.push(t.elapsed());
                } else {
                    tally.errors += 1;
                }
            }
        }
    }
    tally
}

/// One measurement of the binary at `bin`. `limits`: whether it knows the
/// per-client connection limits (lifted here: every connection comes from
/// one address); binaries from before them refuse the keys.
async fn run(bin: &str, label: &str, limits: bool) {
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
            "[server]\nbind = \"127.0.0.1:{port}\"\npublic_url = \"{url}\"\n{}\
             [store]\nurl = \"sqlite://sspr.db?mode=rwc\"\n[directory]\ndemo_users = true\n\
             [reset]\npow_difficulty = 8\nsteps_per_ip = {}\n",
            if limits {
                "connection_limit = 4096\nconnection_limit_per_client = 4096\n"
            } else {
                ""
            },
            u32::MAX
        ),
    )
    .unwrap();
    let mut child = Command::new(bin)
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

    // One flow, started as the SPA starts it (challenge, proof of work).
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{url}{path}"))
            .header("origin", &url)
            .json(&body)
            .send()
    };
    let challenge: sspr_proto::reset::PowChallenge =
        post("/api/reset/challenge", serde_json::json!({}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let nonce = sspr_server::reset::pow::solve(&challenge);
    let flow: serde_json::Value = post(
        "/api/reset/start",
        serde_json::json!({ "identifier": "alice", "pow": { "id": challenge.id, "nonce": nonce } }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = flow["flow"]
        .as_str()
        .unwrap_or_else(|| panic!("no flow: {flow}"));
    let body = Bytes::from(serde_json::json!({ "flow": id }).to_string());

    let phase = Arc::new(AtomicU8::new(WARMING));
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(hammer(port, url.clone(), body.clone(), phase.clone())))
        .collect();
    tokio::time::sleep(WARM_UP).await;
    phase.store(MEASURING, Ordering::Relaxed);
    let started = Instant::now();
    let cpu_before = cpu_ticks(child.id());
    tokio::time::sleep(MEASURE).await;
    phase.store(DONE, Ordering::Relaxed);
    let took = started.elapsed();
    let cpu = cpu_ticks(child.id()) - cpu_before;
    let rss = std::fs::read_to_string(&status_file).unwrap();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let tally = t.await.unwrap();
        latencies.extend(tally.latencies);
        errors += tally.errors;
    }
    latencies.sort();
    let _ = child.kill();
    let _ = child.wait();

    println!(
        "{label}: POST /api/reset/state, {CONNECTIONS} keep-alive connections, {:.1} s after a {} s warm-up:",
        took.as_secs_f64(),
        WARM_UP.as_secs()
    );
    println!(
        "  {:.0} req/s ({} answers), p50 {:.2} ms, p99 {:.2} ms, {errors} errors   (issue 19: 20.2k req/s, p99 5.8 ms, 2 cores)",
        latencies.len() as f64 / took.as_secs_f64(),
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    // Beside req/s, which falls whenever another process takes the cores:
    // the server's own CPU time per answer.
    println!(
        "  server CPU {:.0} us per answer ({:.2} cores busy)",
        cpu as f64 * 10_000.0 / latencies.len().max(1) as f64,
        cpu as f64 / 100.0 / took.as_secs_f64()
    );
    println!(
        "  server RSS idle {:.1} MB, after {:.1} MB, peak {:.1} MB",
        idle as f64 / 1024.0,
        kib(&rss, "VmRSS:") as f64 / 1024.0,
        kib(&rss, "VmHWM:") as f64 / 1024.0
    );
}

/// This build, and where `SSPR_BASELINE_BIN` names an older `sspr` (say one
/// built from an earlier commit), that one too, alternately twice each, so a
/// ratio is read from one run on one machine's noise.
#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `SSPR_BENCH_BIN` measures another binary as "this build" (an
    // experiment's, without rebuilding the bench).
    let this_bin =
        std::env::var("SSPR_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_sspr").to_string());
    let this = this_bin.as_str();
    match std::env::var("SSPR_BASELINE_BIN") {
        Ok(baseline) => {
            for round in 1..=2 {
                run(this, &format!("this build, round {round}"), true).await;
                run(
                    &baseline,
                    &format!("baseline {baseline}, round {round}"),
                    false,
                )
                .await;
            }
        }
        Err(_) => run(this, "this build", true).await,
    }
}
