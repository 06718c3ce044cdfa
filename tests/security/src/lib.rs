//! The attacker's suite: every test here starts a real release `sspr` (the
//! binary `SSPR_BIN` names, else `target/release/sspr`) with a throwaway
//! store and talks to it over HTTP only, as an intruder would. Codes come
//! from the dev outbox; where a count must be read back (evaluations,
//! audit records), the test opens the throwaway SQLite store afterwards.
//!
//! `cargo xtask test` builds the release binary and runs this suite.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // tests: a panic is the report

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderMap, ORIGIN, SET_COOKIE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use reqwest::StatusCode;

/// The demo users, as the README documents them.
pub const ALICE: (&str, &str) = ("alice", "Alice-demo-2026!");
pub const BOB: (&str, &str) = ("bob", "Bob-demo-2026!");
pub const CAROL: (&str, &str) = ("carol", "Carol-admin-2026!");
pub const DAVE: (&str, &str) = ("dave", "Dave-demo-2026!");
pub const ALICE_TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

pub fn binary() -> PathBuf {
    let bin = std::env::var_os("SSPR_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/sspr"),
        PathBuf::from,
    );
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build --release -p sspr-server` (cargo xtask test does)",
        bin.display()
    );
    bin
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

/// A port nothing listens on yet.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What to start: extra TOML, appended to a demo config (the built-in
/// directory with the demo users, codes in the dev outbox).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Appended to the `[server]` table.
    pub server: String,
    /// Appended to the `[reset]` table.
    pub reset: String,
    /// Appended after every table (may open its own, but not `server`,
    /// `store`, `directory`, `reset` or `delivery`).
    pub config: String,
    /// Extra environment for the process (e.g. `SSPR_LOG`).
    pub env: Vec<(String, String)>,
    /// Mail over SMTP (no TLS) to this loopback port, instead of the dev
    /// outbox. Texts stay in the dev outbox.
    pub smtp_port: Option<u16>,
}

/// A running portal.
pub struct Portal {
    pub url: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
    log: Arc<Mutex<String>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal").field("url", &self.url).finish()
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The config file a portal starts with.
pub fn write_config(dir: &Path, port: u16, opts: &Options) -> PathBuf {
    let url = format!("http://127.0.0.1:{port}");
    let mail = match opts.smtp_port {
        Some(p) => format!(
            "mail = \"smtp\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {p}\nsmtp_tls = \"none\"\n\
             from = \"IT Helpdesk <no-reply@example.com>\"\n"
        ),
        None => "mail = \"outbox\"\n".into(),
    };
    let text = format!(
        "[server]\nbind = \"127.0.0.1:{port}\"\npublic_url = \"{url}\"\n{}\n\
         [store]\nurl = \"sqlite://sspr.db?mode=rwc\"\n\
         [directory]\ndemo_users = true\n\
         [reset]\npow_difficulty = 8\nidentify_floor_ms = 50\n{}\n\
         [delivery]\n{mail}sms = \"outbox\"\noutbox_dir = \"outbox\"\n{}\n",
        opts.server, opts.reset, opts.config
    );
    let path = dir.join("sspr.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `sspr` with `args` and waits for its "listening" line; `None`
/// with the output when it exits first.
pub fn spawn(
    bin: &Path,
    dir: &Path,
    args: &[&str],
    env: &[(String, String)],
) -> Result<(Child, Arc<Mutex<String>>), String> {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut l = sink.lock().unwrap();
            l.push_str(&line);
            l.push('\n');
        }
    });
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("sspr listening") => break,
            Some(Ok(_)) => {}
            _ => {
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                return Err(log.lock().unwrap().clone());
            }
        }
    }
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Ok((child, log))
}

impl Portal {
    pub async fn start(opts: Options) -> Portal {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        write_config(dir.path(), port, &opts);
        Self::start_in(dir, port, &opts)
    }

    /// Starts on a config already written in `dir`.
    pub fn start_in(dir: tempfile::TempDir, port: u16, opts: &Options) -> Portal {
        let (child, log) = spawn(&binary(), dir.path(), &["--config", "sspr.toml"], &opts.env)
            .unwrap_or_else(|log| panic!("sspr did not start:\n{log}"));
        Portal {
            url: format!("http://127.0.0.1:{port}"),
            port,
            dir,
            child,
            log,
            http: client(),
        }
    }

    /// What the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }

    /// Kills the process (SIGKILL).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the same portal again on its store and port.
    pub fn restart(&mut self, opts: &Options) {
        self.kill();
        let (child, log) = spawn(
            &binary(),
            self.dir.path(),
            &["--config", "sspr.toml"],
            &opts.env,
        )
        .unwrap_or_else(|log| panic!("sspr did not restart:\n{log}"));
        self.child = child;
        self.log = log;
        // Pooled connections died with the old process.
        self.http = client();
    }

    /// `sspr <args>` on this portal's config: exit code, stdout, stderr.
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(binary())
            .current_dir(self.dir.path())
            .arg("--config")
            .arg("sspr.toml")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// A same-origin JSON POST, as the SPA sends it.
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value, HeaderMap) {
        self.post_with(path, body, &[]).await
    }

    /// As [`Portal::post`] with extra headers (a cookie, `X-Forwarded-For`...).
    pub async fn post_with(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value, HeaderMap) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.url))
            .header(CONTENT_TYPE, "application/json")
            .header(ORIGIN, &self.url)
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let h = r.headers().clone();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            h,
        )
    }

    pub async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Vec<u8>, HeaderMap) {
        let mut req = self.http.get(format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let h = r.headers().clone();
        (status, r.bytes().await.unwrap().to_vec(), h)
    }

    /// `n` same-origin JSON POSTs to `path` at once (`body(i)` for the
    /// i-th, with `cookie` if given): status, body and `Retry-After` of each.
    pub async fn concurrently(
        &self,
        n: usize,
        path: &'static str,
        body: impl Fn(usize) -> Value,
        cookie: Option<&str>,
    ) -> Vec<(StatusCode, Value, Option<String>)> {
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let (client, url, body) = (self.http.clone(), self.url.clone(), body(i));
                let cookie = cookie.map(str::to_string);
                tokio::spawn(async move {
                    let mut r = client
                        .post(format!("{url}{path}"))
                        .header(CONTENT_TYPE, "application/json")
                        .header(ORIGIN, &url)
                        .body(body.to_string());
                    if let Some(c) = cookie {
                        r = r.header(COOKIE, c);
                    }
                    let r = r.send().await.unwrap();
                    let retry = r
                        .headers()
                        .get("retry-after")
                        .map(|v| v.to_str().unwrap().to_string());
                    (
                        r.status(),
                        r.json::<Value>().await.unwrap_or(Value::Null),
                        retry,
                    )
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    /// A solved proof-of-work challenge (`headers` as for the request it
    /// will be charged to).
    pub async fn pow(&self, headers: &[(&str, &str)]) -> Result<Value, (StatusCode, Value)> {
        let (s, ch, _) = self
            .post_with("/api/reset/challenge", &json!({}), headers)
            .await;
        if s != StatusCode::OK {
            return Err((s, ch));
        }
        let prefix = hex_decode(ch["prefix"].as_str().unwrap());
        let want = u32::try_from(ch["difficulty"].as_u64().unwrap()).unwrap();
        let nonce = (0u64..)
            .find(|n| {
                let d = Sha256::digest(sspr_proto::reset::pow_message(&prefix, *n));
                sspr_proto::reset::leading_zero_bits(&d) >= want
            })
            .unwrap();
        Ok(json!({ "id": ch["id"], "nonce": nonce }))
    }

    /// Identify: the flow view, or the refusal.
    pub async fn start_flow(&self, identifier: &str) -> Value {
        let (s, v, _) = self.identify(identifier, &[]).await;
        assert_eq!(s, StatusCode::OK, "identify {identifier}: {v}");
        v
    }

    pub async fn identify(
        &self,
        identifier: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value, HeaderMap) {
        let pow = match self.pow(headers).await {
            Ok(p) => p,
            Err((s, v)) => return (s, v, HeaderMap::new()),
        };
        self.post_with(
            "/api/reset/start",
            &json!({ "identifier": identifier, "pow": pow }),
            headers,
        )
        .await
    }

    /// Picks the first offered method of `kind`.
    pub async fn choose(&self, flow: &Value, kind: &str) -> (StatusCode, Value) {
        let id = option_id(flow, kind).unwrap_or_else(|| panic!("no {kind} in {flow}"));
        let (s, v, _) = self
            .post(
                "/api/reset/choose",
                &json!({ "flow": flow["flow"], "method": id }),
            )
            .await;
        (s, v)
    }

    pub async fn verify(&self, flow: &Value, code: &str) -> (StatusCode, Value) {
        let (s, v, _) = self
            .post(
                "/api/reset/verify",
                &json!({ "flow": flow["flow"], "code": code }),
            )
            .await;
        (s, v)
    }

    /// Signs in: the `name=value` cookie, or the refusal.
    pub async fn sign_in(&self, user: &str, password: &str) -> Result<String, (StatusCode, Value)> {
        let (s, v, h) = self
            .post(
                "/api/session",
                &json!({ "username": user, "password": password }),
            )
            .await;
        if s != StatusCode::OK {
            return Err((s, v));
        }
        let set = h[SET_COOKIE].to_str().unwrap();
        Ok(set.split(';').next().unwrap().to_string())
    }

    pub async fn post_as(&self, cookie: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let (s, v, _) = self
            .post_with(path, body, &[(COOKIE.as_str(), cookie)])
            .await;
        (s, v)
    }

    pub async fn security_info(&self, cookie: &str) -> Value {
        let (s, body, _) = self
            .get("/api/security-info", &[(COOKIE.as_str(), cookie)])
            .await;
        assert_eq!(s, StatusCode::OK);
        serde_json::from_slice(&body).unwrap()
    }

    /// Every line of the dev outbox's `mail.jsonl` or `sms.jsonl` so far.
    pub fn outbox(&self, file: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("outbox").join(file))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits (up to `within`) until the outbox holds more than `after` lines
    /// matching `pred`; returns the newest.
    pub async fn wait_for_message(
        &self,
        file: &str,
        after: usize,
        within: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let end = Instant::now() + within;
        loop {
            let hits: Vec<Value> = self.outbox(file).into_iter().filter(|m| pred(m)).collect();
            if hits.len() > after {
                return hits.last().cloned();
            }
            if Instant::now() > end {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The newest 8-digit code mailed to `to`, after `after` such mails.
    pub async fn mailed_code(&self, to: &str, after: usize) -> String {
        let m = self
            .wait_for_message("mail.jsonl", after, Duration::from_secs(10), |m| {
                m["to"] == to
            })
            .await
            .unwrap_or_else(|| panic!("no code for {to}"));
        code_in(m["body"].as_str().unwrap())
    }

    /// How many mails went to `to` so far.
    pub fn mails_to(&self, to: &str) -> usize {
        self.outbox("mail.jsonl")
            .iter()
            .filter(|m| m["to"] == to)
            .count()
    }

    /// The throwaway store, opened read-only for counting.
    pub async fn store(&self) -> sqlx::SqlitePool {
        let url = format!(
            "sqlite://{}?mode=ro",
            self.dir.path().join("sspr.db").display()
        );
        sqlx::SqlitePool::connect(&url).await.unwrap()
    }

    /// Proves alice's-style first email for a signed-in session.
    pub async fn step_up_by_email(&self, cookie: &str) {
        let m = first_method(&self.security_info(cookie).await, "email");
        let to = m["target"].as_str().unwrap().to_string();
        let before = self.mails_to(&to);
        let (s, v) = self
            .post_as(cookie, "/api/session/stepup", &json!({ "method": m["id"] }))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let code = self.mailed_code(&to, before).await;
        let (s, v) = self
            .post_as(
                cookie,
                "/api/session/stepup/verify",
                &json!({ "code": code }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
}

/// A real SMTP server (aiosmtpd, as the e2e tests use) on a loopback port:
/// `mails()` reads what it accepted. Stopped when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    pub port: u16,
    file: PathBuf,
    _dir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    /// Starts it on `port` and waits until it listens.
    pub fn start(port: u16) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mail.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&file)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (tests/e2e/requirements.txt)");
        let stdout = child.stdout.take().unwrap();
        let ready = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains("ready"));
        assert!(ready, "the SMTP sink did not start");
        SmtpSink {
            port,
            file,
            _dir: dir,
            child,
        }
    }

    /// Every mail accepted so far: `{"to": [..], "subject", "body"}`.
    pub fn mails(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Mails accepted so far for `to`.
    pub fn mails_to(&self, to: &str) -> Vec<Value> {
        self.mails()
            .into_iter()
            .filter(|m| {
                m["to"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|t| t == to))
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `probe` until it gives a value, for at most 10 s (then panics).
pub async fn wait_until<T>(mut probe: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < end, "not within 10 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `sspr check-config` on `dir/sspr.toml`: its exit code and stderr.
pub fn check_config(dir: &Path) -> (Option<i32>, String) {
    let out = Command::new(binary())
        .current_dir(dir)
        .args(["--config", "sspr.toml", "check-config"])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The first registered method of `kind` in a security-info view.
pub fn first_method(info: &Value, kind: &str) -> Value {
    info["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} method in {info}"))
        .clone()
}

/// The first 8-digit number in a text.
pub fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 8)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_string()
}

/// The step of a flow view: its tag (`choose_method`...) and its fields.
pub fn step(view: &Value) -> (String, Value) {
    match &view["step"] {
        Value::String(s) => (s.clone(), Value::Null),
        Value::Object(o) => {
            let (k, v) = o.iter().next().unwrap();
            (k.clone(), v.clone())
        }
        other => panic!("not a step: {other}"),
    }
}

/// The offered options of a choose step, as (kind, masked).
pub fn options(view: &Value) -> Vec<(String, String)> {
    let (_, body) = step(view);
    body["methods"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| {
                    (
                        m["kind"].as_str().unwrap().to_string(),
                        m["masked"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn option_id(view: &Value, kind: &str) -> Option<String> {
    let (_, body) = step(view);
    body["methods"]
        .as_array()?
        .iter()
        .find(|m| m["kind"] == kind)
        .map(|m| m["id"].as_str().unwrap().to_string())
}

pub fn error_id(v: &Value) -> &str {
    v["error"]["id"].as_str().unwrap_or("")
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Debian's `oathtool`: TOTP codes from an implementation that is not ours.
pub fn oathtool(secret: &str) -> String {
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret])
        .output()
        .expect("oathtool (Debian package oathtool)");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The median of a sample, in milliseconds.
pub fn median_ms(mut xs: Vec<Duration>) -> f64 {
    xs.sort();
    let mid = xs.len() / 2;
    let m = if xs.len().is_multiple_of(2) {
        (xs[mid - 1] + xs[mid]) / 2
    } else {
        xs[mid]
    };
    m.as_secs_f64() * 1000.0
}
