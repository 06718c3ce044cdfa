//! 500 concurrent reset flows through a TLS proxy, against one node and then
//! against two, in the same run and on the same PostgreSQL store (issue 17).
//!
//! The bench seeds 500 built-in users with an email method each, starts two
//! release `sspr` nodes on one store (one master key, one dev outbox folder)
//! and Debian's haproxy in front of them, terminating TLS with the bench's own
//! certificate, adding X-Forwarded-For and naming the node that answered in
//! `X-Served-By`. haproxy has two frontends: one whose backend is node 1
//! alone, one whose backend is nodes 1 and 2 (round robin, health-checked on
//! `/api/ready`). After an unmeasured warm-up of 50 other users through both
//! nodes, phase 1 runs every user's reset at once through the first frontend
//! and, once the 60 s per-address code cooldown has passed, phase 2 the same
//! users again through the second. A flow is what the SPA does: challenge,
//! proof of work, start, choose the email, wait for the code in the outbox
//! file, verify, new password; each flow opens its own TLS connection.
//!
//! Figures, not assertions: per phase the errors by step, status and error
//! id (the goal is none), each step's median and p99, flows per second, the
//! time until the code is in the outbox, how requests split between nodes,
//! and the peak RSS and CPU time of each process, side by side. What it does
//! assert is correctness: if a flow did not reach `done`, or the store's
//! audit trail disagrees, the run fails once the figures are printed.
//!
//! `cargo xtask bench-ha` starts a throwaway PostgreSQL, builds the release
//! binary and runs this with `SSPR_BENCH_PG_URL` and `SSPR_BIN` set. By hand:
//! `SSPR_BENCH_PG_URL=postgres://user@127.0.0.1:5432/postgres cargo bench -p sspr-server --bench ha_load`
//! (a database of its own is created on that server and left there; without
//! `SSPR_BIN` the nodes run the `sspr` that `cargo bench` built).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sspr_proto::reset::PowChallenge;
use sspr_server::clock::{OsEntropy, SystemClock};
use sspr_server::directory::builtin::{Builtin, NewUser};
use sspr_server::hashing::HashPool;
use sspr_server::secret::Secret;
use sspr_server::store::Store;
use tokio::sync::oneshot;

/// Concurrent flows per phase, one user each.
const FLOWS: usize = 500;
/// Flows of other users through both nodes before phase 1, not measured:
/// so phase 1 does not pay alone for cold caches, pools and allocators.
const WARM: usize = 50;
/// `server.hash_queue` of each node: the default. It bounds the checks that
/// may wait (sign-ins); new passwords written after the gates wait their
/// turn whatever it is. (Before they did, 349 of 500 new passwords on one
/// node and 291 on two were refused with `server.busy` at this setting.)
const HASH_QUEUE: usize = 64;
/// haproxy's own address towards the nodes: the only trusted proxy.
const PROXY_SOURCE: &str = "127.0.0.2";
/// The steps of a flow, in order, as the figures name them.
const STEPS: [&str; 5] = ["challenge", "start", "choose", "verify", "password"];
/// A code not in the outbox by then is an error of its flow.
const CODE_TIMEOUT: Duration = Duration::from_secs(120);
/// One reset code per address per 60 s: phase 2 starts this long after the
/// last code of phase 1, so no code of phase 2 waits its turn.
const COOLDOWN: Duration = Duration::from_secs(61);

/// A process this bench started: killed and reaped when dropped, so every
/// way out of the bench (a panic included) leaves nothing running.
struct Proc {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn binary() -> PathBuf {
    std::env::var_os("SSPR_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sspr")), PathBuf::from)
}

/// Starts one node and waits until it listens.
fn start_node(name: &'static str, dir: &Path, db: &str, public_url: &str) -> (Proc, u16) {
    let port = free_port();
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "[server]\nbind = \"127.0.0.1:{port}\"\npublic_url = \"{public_url}\"\n\
             trusted_proxies = [\"{PROXY_SOURCE}/32\"]\nhash_queue = {HASH_QUEUE}\n\
             [store]\nurl = \"{db}\"\n\
             [directory]\nkind = \"builtin\"\n\
             [secrets]\nkey_file = \"{}\"\n\
             [reset]\npow_difficulty = 8\nidentify_per_ip = 1000000\nsteps_per_ip = 1000000\n\
             [delivery]\nmail = \"outbox\"\nsms = \"outbox\"\noutbox_dir = \"{}\"\n",
            dir.join("sspr.key").display(),
            dir.join("outbox").display(),
        ),
    )
    .unwrap();
    let out = dir.join(format!("{name}.out"));
    let log = dir.join(format!("{name}.log"));
    let child = Command::new(binary())
        .args(["--config"])
        .arg(&config)
        .env("SSPR_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut node = Proc { name, child, log };
    let t = Instant::now();
    while !std::fs::read_to_string(&out)
        .unwrap_or_default()
        .contains("sspr listening")
    {
        if let Some(status) = node.child.try_wait().unwrap() {
            panic!(
                "{name} exited with {status}:\n{}",
                std::fs::read_to_string(&node.log).unwrap_or_default()
            );
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "{name} never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (node, port)
}

/// haproxy: TLS on two loopback ports, node 1 alone behind the first, both
/// nodes behind the second.
fn start_proxy(dir: &Path, fronts: (u16, u16), nodes: (u16, u16)) -> Proc {
    let pem = dir.join("proxy.pem");
    let backend = |name: &str, servers: &[(&str, u16)]| {
        let mut b = format!(
            "backend {name}\n  balance roundrobin\n  source {PROXY_SOURCE}\n  \
             option httpchk GET /api/ready\n  http-check expect status 200\n  \
             timeout check 5s\n"
        );
        for (n, port) in servers {
            b += &format!("  server {n} 127.0.0.1:{port} check inter 1s fall 2 rise 1\n");
        }
        b
    };
    let frontend = |name: &str, port: u16| {
        format!(
            "frontend {name}\n  bind 127.0.0.1:{port} ssl crt {}\n  option forwardfor\n  \
             http-response set-header X-Served-By %s\n  default_backend {name}\n",
            pem.display()
        )
    };
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n  maxconn 8192\ndefaults\n  mode http\n  maxconn 4096\n  timeout connect 2s\n  \
             timeout client 120s\n  timeout server 120s\n  retries 3\n  option redispatch 1\n\
             {}{}{}{}",
            frontend("one_node", fronts.0),
            frontend("two_nodes", fronts.1),
            backend("one_node", &[("n1", nodes.0)]),
            backend("two_nodes", &[("n1", nodes.0), ("n2", nodes.1)]),
        ),
    )
    .unwrap();
    let checked = Command::new("haproxy")
        .args(["-c", "-q", "-f"])
        .arg(&cfg)
        .status()
        .expect("haproxy is not installed (apt-get install haproxy)");
    assert!(checked.success(), "haproxy refused {}", cfg.display());
    let log = dir.join("haproxy.log");
    let child = Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    Proc {
        name: "haproxy",
        child,
        log,
    }
}

/// A self-signed certificate for `localhost`, and haproxy's PEM (cert + key).
fn certificate(dir: &Path) -> Vec<u8> {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args([
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            // A leaf, not a CA: rustls refuses a CA certificate as a server's.
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is not installed");
    assert!(ok.success(), "openssl req failed");
    let cert = std::fs::read(&cert).unwrap();
    let mut pem = cert.clone();
    pem.extend(std::fs::read(&key).unwrap());
    std::fs::write(dir.join("proxy.pem"), pem).unwrap();
    cert
}

fn client(cert: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert).unwrap())
        // haproxy listens on 127.0.0.1 only: no detour through ::1.
        .resolve("localhost", "127.0.0.1:0".parse().unwrap())
        .pool_max_idle_per_host(2 * FLOWS)
        .timeout(Duration::from_secs(180))
        .build()
        .unwrap()
}

/// The kernel's peak resident set of `pid` since start or the last reset, in KiB.
fn peak_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system, all threads) of `pid` so far, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command's ")": state is field 3, utime 14 and stime 15, in
    // clock ticks of 1/100 s (USER_HZ on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    (f.get(10).unwrap_or(&0) + f.get(11).unwrap_or(&0)) as f64 / 100.0
}

/// Resets the peak to the current RSS (Linux 4.0+, our own child), so each
/// phase reports its own peak. False where the kernel refuses.
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Where a code goes: the code, and when the reader saw it in the file.
type CodeTo = oneshot::Sender<(String, Instant)>;

/// The one reader of `outbox/mail.jsonl`: a thread that tails the file and
/// hands each reset code to the flow waiting for its address, with the
/// moment it saw it. Flows register before they choose, so no code is missed.
#[derive(Clone, Default)]
struct Mailroom {
    waiting: Arc<Mutex<HashMap<String, CodeTo>>>,
    stop: Arc<AtomicBool>,
}

impl Mailroom {
    fn expect(&self, to: &str) -> oneshot::Receiver<(String, Instant)> {
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().unwrap().insert(to.to_string(), tx);
        rx
    }

    fn start(&self, file: PathBuf) -> std::thread::JoinHandle<usize> {
        let me = self.clone();
        std::thread::spawn(move || {
            let (mut offset, mut partial, mut codes) = (0u64, Vec::<u8>::new(), 0usize);
            while !me.stop.load(Ordering::Relaxed) {
                let mut chunk = Vec::new();
                if let Ok(mut f) = std::fs::File::open(&file) {
                    f.seek(SeekFrom::Start(offset)).unwrap();
                    offset += f.read_to_end(&mut chunk).unwrap() as u64;
                }
                if chunk.is_empty() {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                }
                let seen = Instant::now();
                partial.extend(chunk);
                let end = partial
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |i| i + 1);
                let lines: Vec<u8> = partial.drain(..end).collect();
                for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    let m: Value = serde_json::from_slice(line).unwrap();
                    if !m["subject"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("reset code")
                    {
                        continue;
                    }
                    let code = m["body"]
                        .as_str()
                        .unwrap_or_default()
                        .split_whitespace()
                        .find(|w| w.len() == 8 && w.bytes().all(|b| b.is_ascii_digit()))
                        .unwrap()
                        .to_string();
                    codes += 1;
                    let to = m["to"].as_str().unwrap_or_default();
                    if let Some(tx) = me.waiting.lock().unwrap().remove(to) {
                        let _ = tx.send((code, seen));
                    }
                }
            }
            codes
        })
    }
}

/// What one flow measured.
#[derive(Default)]
struct Flow {
    steps: Vec<(usize, Duration)>,
    /// From the choose answer until the code was in the outbox file.
    code_wait: Option<Duration>,
    whole: Option<Duration>,
    served: Vec<String>,
    /// The step that failed and how: `503 server.busy`, `transport: ...`.
    error: Option<(usize, String)>,
}

struct Ctx {
    http: reqwest::Client,
    base: String,
    origin: String,
    mailroom: Mailroom,
}

impl Flow {
    async fn post(&mut self, ctx: &Ctx, step: usize, path: &str, body: Value) -> Result<Value, ()> {
        let t = Instant::now();
        let sent = ctx
            .http
            .post(format!("{}{path}", ctx.base))
            .header("content-type", "application/json")
            .header("origin", &ctx.origin)
            .body(body.to_string())
            .send()
            .await;
        let r = match sent {
            Ok(r) => r,
            Err(e) => {
                let kind = if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connect"
                } else {
                    "other"
                };
                self.error = Some((step, format!("transport: {kind}")));
                return Err(());
            }
        };
        let status = r.status();
        if let Some(node) = r.headers().get("x-served-by").and_then(|v| v.to_str().ok()) {
            self.served.push(node.to_string());
        }
        let text = r.text().await.unwrap_or_default();
        self.steps.push((step, t.elapsed()));
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            let id = v["error"]["id"].as_str().unwrap_or("(no error id)");
            self.error = Some((step, format!("{} {id}", status.as_u16())));
            return Err(());
        }
        Ok(v)
    }

    async fn run(ctx: Arc<Ctx>, user: String, password: String) -> Flow {
        let mut f = Flow::default();
        let started = Instant::now();
        let _ = f.steps(&ctx, &user, &password).await;
        if f.error.is_none() {
            f.whole = Some(started.elapsed());
        }
        f
    }

    async fn steps(&mut self, ctx: &Ctx, user: &str, password: &str) -> Result<(), ()> {
        let ch = self.post(ctx, 0, "/api/reset/challenge", json!({})).await?;
        let ch: PowChallenge = serde_json::from_value(ch).unwrap();
        let nonce = sspr_server::reset::pow::solve(&ch);
        let pow = json!({ "id": ch.id, "nonce": nonce });
        let flow = self
            .post(
                ctx,
                1,
                "/api/reset/start",
                json!({ "identifier": user, "pow": pow }),
            )
            .await?;
        let id = flow["flow"].clone();
        let Some(method) = flow["step"]["choose_method"]["methods"][0]["id"].as_str() else {
            self.error = Some((1, format!("no method to choose: {}", flow["step"])));
            return Err(());
        };
        let code = ctx.mailroom.expect(&format!("{user}@example.com"));
        self.post(
            ctx,
            2,
            "/api/reset/choose",
            json!({ "flow": id, "method": method }),
        )
        .await?;
        let chosen = Instant::now();
        let Ok(Ok((code, seen))) = tokio::time::timeout(CODE_TIMEOUT, code).await else {
            self.error = Some((2, format!("no code in the outbox within {CODE_TIMEOUT:?}")));
            return Err(());
        };
        self.code_wait = Some(seen.saturating_duration_since(chosen));
        let v = self
            .post(
                ctx,
                3,
                "/api/reset/verify",
                json!({ "flow": id, "code": code }),
            )
            .await?;
        if v["step"].get("new_password").is_none() {
            self.error = Some((3, format!("not at new_password: {}", v["step"])));
            return Err(());
        }
        let v = self
            .post(
                ctx,
                4,
                "/api/reset/password",
                json!({ "flow": id, "password": password }),
            )
            .await?;
        if v["step"]["done"]["outcome"] != "password_reset" {
            self.error = Some((4, format!("not done: {}", v["step"])));
            return Err(());
        }
        Ok(())
    }
}

/// One phase's figures.
struct Phase {
    label: &'static str,
    flows: usize,
    wall: Duration,
    done: usize,
    steps: [Vec<Duration>; 5],
    code_wait: Vec<Duration>,
    whole: Vec<Duration>,
    errors: BTreeMap<(usize, String), usize>,
    served: BTreeMap<String, usize>,
    /// Peak RSS in KiB per process during the phase, and whether the peak
    /// could be reset at its start (else it is since the process started).
    peaks: Vec<(&'static str, u64, bool)>,
    /// CPU seconds per process during the phase, this load generator's last.
    cpu: Vec<(&'static str, f64)>,
    last_code: Option<Instant>,
}

#[allow(clippy::too_many_arguments)]
async fn phase(
    label: &'static str,
    users: &[String],
    port: u16,
    public_url: &str,
    cert: &[u8],
    mailroom: &Mailroom,
    procs: &[&Proc],
    password: &str,
) -> Phase {
    let reset: Vec<bool> = procs.iter().map(|n| reset_peak(n.pid())).collect();
    let me = std::process::id();
    let cpu_before: Vec<f64> = procs
        .iter()
        .map(|n| cpu_secs(n.pid()))
        .chain([cpu_secs(me)])
        .collect();
    let ctx = Arc::new(Ctx {
        http: client(cert),
        base: format!("https://localhost:{port}"),
        origin: public_url.to_string(),
        mailroom: mailroom.clone(),
    });
    let started = Instant::now();
    let tasks: Vec<_> = users
        .iter()
        .map(|u| tokio::spawn(Flow::run(ctx.clone(), u.clone(), password.to_string())))
        .collect();
    let mut p = Phase {
        label,
        flows: users.len(),
        wall: Duration::ZERO,
        done: 0,
        steps: Default::default(),
        code_wait: Vec::new(),
        whole: Vec::new(),
        errors: BTreeMap::new(),
        served: BTreeMap::new(),
        peaks: Vec::new(),
        cpu: Vec::new(),
        last_code: None,
    };
    for t in tasks {
        let f = t.await.unwrap();
        for (step, d) in f.steps {
            p.steps[step].push(d);
        }
        if let Some(w) = f.code_wait {
            p.code_wait.push(w);
        }
        for node in f.served {
            *p.served.entry(node).or_default() += 1;
        }
        match f.error {
            Some(e) => *p.errors.entry(e).or_default() += 1,
            None => p.done += 1,
        }
        p.whole.extend(f.whole);
    }
    p.wall = started.elapsed();
    // Every flow's code was seen by now: the last one is no later than this.
    p.last_code = Some(Instant::now());
    p.peaks = procs
        .iter()
        .zip(reset)
        .map(|(n, r)| (n.name, peak_kib(n.pid()), r))
        .collect();
    p.cpu = procs
        .iter()
        .map(|n| (n.name, cpu_secs(n.pid())))
        .chain([("load generator", cpu_secs(me))])
        .zip(cpu_before)
        .map(|((n, after), before)| (n, after - before))
        .collect();
    p
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median and p99 (nearest rank) in ms.
fn quantiles(v: &[Duration]) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    let mut v = v.to_vec();
    v.sort();
    let pick = |q: f64| ms(v[((v.len() as f64 - 1.0) * q).round() as usize]);
    Some((pick(0.5), pick(0.99)))
}

fn print_side_by_side(a: &Phase, b: &Phase) {
    let line = |name: &str, x: String, y: String, ratio: String| {
        println!("{name:<30} {x:>20} {y:>20} {ratio:>9}");
    };
    let none = String::new;
    println!();
    line("", a.label.into(), b.label.into(), "p99 2/1".into());
    let done = |p: &Phase| format!("{}/{}", p.done, p.flows);
    line("flows done", done(a), done(b), none());
    let errs = |p: &Phase| p.errors.values().sum::<usize>().to_string();
    line("errors", errs(a), errs(b), none());
    let wall = |p: &Phase| format!("{:.1}", p.wall.as_secs_f64());
    line("wall time (s)", wall(a), wall(b), none());
    let rate = |p: &Phase| format!("{:.1}", p.done as f64 / p.wall.as_secs_f64());
    line("flows/s", rate(a), rate(b), none());
    line("ms: median / p99", none(), none(), none());
    let row = |name: &str, x: &[Duration], y: &[Duration]| {
        let (qa, qb) = (quantiles(x), quantiles(y));
        let cell =
            |q: Option<(f64, f64)>| q.map_or("-".to_string(), |(m, p)| format!("{m:.0} / {p:.0}"));
        let ratio = match (qa, qb) {
            (Some((_, pa)), Some((_, pb))) if pa > 0.0 => format!("{:.2}", pb / pa),
            _ => "-".into(),
        };
        line(&format!("  {name}"), cell(qa), cell(qb), ratio);
    };
    for (i, name) in STEPS.iter().enumerate() {
        row(name, &a.steps[i], &b.steps[i]);
    }
    row("code in outbox after choose", &a.code_wait, &b.code_wait);
    row("whole flow", &a.whole, &b.whole);
    let servers: std::collections::BTreeSet<&String> =
        a.served.keys().chain(b.served.keys()).collect();
    let procs: Vec<&str> = a.peaks.iter().map(|(n, _, _)| *n).collect();
    let served = |p: &Phase, n: &str| {
        let total: usize = p.served.values().sum();
        let c = p.served.get(n).copied().unwrap_or(0);
        format!("{c} ({:.0}%)", 100.0 * c as f64 / total.max(1) as f64)
    };
    for n in servers {
        line(
            &format!("requests served by {n}"),
            served(a, n),
            served(b, n),
            none(),
        );
    }
    let peak = |p: &Phase, n: &str| {
        p.peaks
            .iter()
            .find(|(m, _, _)| *m == n)
            .map_or("-".into(), |(_, kib, reset)| {
                format!(
                    "{:.0}{}",
                    *kib as f64 / 1024.0,
                    if *reset { "" } else { " *" }
                )
            })
    };
    for n in procs {
        line(
            &format!("peak RSS of {n} (MB)"),
            peak(a, n),
            peak(b, n),
            none(),
        );
    }
    let cpu = |p: &Phase, n: &str| {
        p.cpu
            .iter()
            .find(|(m, _)| *m == n)
            .map_or("-".into(), |(_, s)| format!("{s:.1}"))
    };
    for (n, _) in &a.cpu {
        line(&format!("CPU s of {n}"), cpu(a, n), cpu(b, n), none());
    }
    if a.peaks.iter().chain(&b.peaks).any(|(_, _, r)| !r) {
        println!("  * the kernel would not reset the peak: since the node started");
    }
    for p in [a, b] {
        for ((step, what), n) in &p.errors {
            println!("  {}: {n} × {} failed: {what}", p.label, STEPS[*step]);
        }
    }
}

/// The nodes' warnings and errors (they log at `warn`): how many, and the first few.
fn print_logs(nodes: &[&Proc]) {
    for n in nodes {
        let text = std::fs::read_to_string(&n.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        println!("{} log: {} warning or error lines", n.name, lines.len());
        for l in lines.iter().take(5) {
            println!("  {l}");
        }
    }
}

async fn seed(db: &str, names: &[String]) -> (Store, Duration) {
    let t = Instant::now();
    let store = Store::open(db, 8).await.unwrap();
    let builtin = Builtin::new(
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(OsEntropy),
        HashPool::new(0, names.len()),
    );
    let users = names.iter().map(|name| {
        let (b, name) = (builtin.clone(), name.clone());
        tokio::spawn(async move {
            b.create_user(NewUser {
                display_name: format!("Load User {name}"),
                email: Some(format!("{name}@example.com")),
                username: name,
                mobile: None,
                password: Secret::new("Load-Start-Password-1"),
                is_admin: false,
            })
            .await
            .unwrap()
        })
    });
    let users: Vec<_> = join_all(users.collect()).await;
    // The method rows as `methods::add` writes a confirmed email (no secret
    // to seal), without building a whole AppState for it.
    let now = sspr_server::clock::Clock::now(&SystemClock);
    let mut tx = store.pool().begin().await.unwrap();
    for (i, u) in users.iter().enumerate() {
        sqlx::query(
            "INSERT INTO auth_methods (id, user_id, kind, target, is_default, created_at, confirmed_at) \
             VALUES ($1, $2, 'email', $3, 1, $4, $4)",
        )
        .bind(format!("{:032x}", i + 1))
        .bind(&u.id)
        .bind(u.email.as_deref().unwrap())
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    (store, t.elapsed())
}

async fn join_all<T: Send + 'static>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Waits until every node answers through `port`'s frontend.
async fn wait_for_proxy(http: &reqwest::Client, port: u16, want: &[&str], proxy: &Proc) {
    let mut seen = std::collections::BTreeSet::new();
    let mut last = String::new();
    for _ in 0..300 {
        match http
            .get(format!("https://localhost:{port}/api/health"))
            .send()
            .await
        {
            Ok(r) => {
                last = r.status().to_string();
                if let Some(n) = r.headers().get("x-served-by").and_then(|v| v.to_str().ok())
                    && r.status().is_success()
                {
                    seen.insert(n.to_string());
                }
            }
            Err(e) => last = format!("{e:?}"),
        }
        if want.iter().all(|w| seen.contains(*w)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the proxy on {port} never reached {want:?} (saw {seen:?}; last: {last})\n{}",
        std::fs::read_to_string(&proxy.log).unwrap_or_default()
    );
}

async fn bench(pg: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    // A database of its own on the given server.
    let name = format!("ha_load_{}", std::process::id());
    {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(pg).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let db = match pg.rfind('/') {
        Some(i) if pg[..i].ends_with('/') => format!("{pg}/{name}"),
        Some(i) => format!("{}/{name}", &pg[..i]),
        None => panic!("{pg} is not a postgres:// URL"),
    };
    let users: Vec<String> = (0..FLOWS).map(|i| format!("load{i}")).collect();
    let warm: Vec<String> = (0..WARM).map(|i| format!("warm{i}")).collect();
    let (store, seeding) = seed(&db, &[users.clone(), warm.clone()].concat()).await;
    println!(
        "seeded {} built-in users (argon2id each, {} threads) with an email method in {:.1} s",
        FLOWS + WARM,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        seeding.as_secs_f64()
    );

    let cert = certificate(dir.path());
    let fronts = (free_port(), free_port());
    // One public URL for every node: the first frontend's. The nodes judge
    // Origin by it alone, never by Host, so the second frontend's clients
    // send it too.
    let public_url = format!("https://localhost:{}", fronts.0);
    // One after the other: the first creates the shared key.
    let (n1, p1) = start_node("n1", dir.path(), &db, &public_url);
    let (n2, p2) = start_node("n2", dir.path(), &db, &public_url);
    let proxy = start_proxy(dir.path(), fronts, (p1, p2));
    let http = client(&cert);
    wait_for_proxy(&http, fronts.0, &["n1"], &proxy).await;
    wait_for_proxy(&http, fronts.1, &["n1", "n2"], &proxy).await;
    drop(http);
    println!(
        "two release nodes (hash_workers = cores = {}, hash_queue = {HASH_QUEUE}, store.max_connections = 10, \
         identify_floor_ms = 250) on one PostgreSQL, behind haproxy {} with TLS; \
         pow_difficulty = 8; 2 cores shared by PG, haproxy, both nodes and this load generator",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        haproxy_version()
    );

    let mailroom = Mailroom::default();
    let reader = mailroom.start(dir.path().join("outbox/mail.jsonl"));
    let warmed = phase(
        "warm-up",
        &warm,
        fronts.1,
        &public_url,
        &cert,
        &mailroom,
        &[&n1, &n2, &proxy],
        "Warm-Up-Harbour-Kettle-0",
    )
    .await;
    println!(
        "warm-up: {}/{WARM} flows of other users through both nodes in {:.1} s, not measured",
        warmed.done,
        warmed.wall.as_secs_f64()
    );
    for ((step, what), n) in &warmed.errors {
        println!("  warm-up: {n} × {} failed: {what}", STEPS[*step]);
    }
    println!("phase 1: {FLOWS} concurrent flows through the one-node frontend ...");
    let one = phase(
        "one node (n1)",
        &users,
        fronts.0,
        &public_url,
        &cert,
        &mailroom,
        &[&n1, &n2, &proxy],
        "Tangerine-Vortex-Quill-1",
    )
    .await;
    let wait = one.last_code.unwrap() + COOLDOWN;
    println!(
        "  {}/{FLOWS} done in {:.1} s; waiting {:.0} s: one code per address per 60 s",
        one.done,
        one.wall.as_secs_f64(),
        wait.saturating_duration_since(Instant::now()).as_secs_f64()
    );
    tokio::time::sleep_until(wait.into()).await;
    println!("phase 2: the same {FLOWS} users through the two-node frontend ...");
    let two = phase(
        "two nodes (n1+n2)",
        &users,
        fronts.1,
        &public_url,
        &cert,
        &mailroom,
        &[&n1, &n2, &proxy],
        "Marmalade-Zephyr-Lantern-2",
    )
    .await;
    mailroom.stop.store(true, Ordering::Relaxed);
    let codes = reader.join().unwrap();

    print_side_by_side(&one, &two);
    // What the store says happened, beside what the clients saw.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE activity = 'Reset password (self-service)'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    let proxy_ip: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE ip <> '127.0.0.1'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    println!(
        "\nstore: {audited} resets audited for {} flows done (warm-up included); {proxy_ip} audit records \
         not from the client's address; {codes} reset codes in the outbox file",
        warmed.done + one.done + two.done
    );
    print_logs(&[&n1, &n2, &proxy]);
    let ok = warmed.done == WARM
        && one.done == FLOWS
        && two.done == FLOWS
        && audited == (2 * FLOWS + WARM) as i64
        && proxy_ip == 0;
    drop((proxy, n1, n2));
    ok
}

fn haproxy_version() -> String {
    Command::new("haproxy")
        .arg("-v")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .nth(2)
                .map(str::to_string)
        })
        .unwrap_or_default()
}

fn main() {
    let Ok(pg) = std::env::var("SSPR_BENCH_PG_URL") else {
        println!(
            "ha_load: skipped; set SSPR_BENCH_PG_URL to a PostgreSQL server (`cargo xtask bench-ha` does)"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let ok = rt.block_on(bench(&pg));
    drop(rt);
    if !ok {
        eprintln!("ha_load: some flows did not reach done, or the store disagrees (see above)");
        std::process::exit(1);
    }
}
