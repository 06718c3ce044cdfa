//! The in-process test server: a fresh SQLite store, the built-in directory
//! with the demo users and methods, a fake `dist/`, the dev outbox for
//! delivery, and a clock the test moves by hand.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sspr_proto::reset::PowChallenge;
use sspr_server::assets::Assets;
use sspr_server::clock::{ManualClock, OsEntropy};
use sspr_server::config::Config;
use sspr_server::delivery::{DevOutbox, Transport};
use sspr_server::directory::builtin::Builtin;
use sspr_server::directory::instrumented::Instrumented;
use sspr_server::hashing::HashPool;
use sspr_server::keys::Keys;
use sspr_server::limits::IpLimits;
use sspr_server::metrics::Metrics;
use sspr_server::outbox::{Outbox, Policy};
use sspr_server::pacing::Paces;
use sspr_server::store::Store;
use sspr_server::theme::ThemeFile;
use sspr_server::{AppParts, AppState, app};
use tower::ServiceExt;

pub const HASHED_JS: &str = "sspr-web-0123456789abcdef.js";
pub const PUBLIC_URL: &str = "https://sspr.example.com";
pub const T0: i64 = 1_800_000_000;

pub struct Harness {
    pub app: Router,
    pub state: AppState,
    pub builtin: Builtin,
    pub clock: ManualClock,
    pub dir: tempfile::TempDir,
    /// The store's URL, for a second node or a command on the same store.
    pub store_url: String,
}

impl Harness {
    pub fn outbox_dir(&self) -> PathBuf {
        self.dir.path().join("outbox")
    }
}

fn fake_dist(root: &Path) -> PathBuf {
    let dist = root.join("dist");
    std::fs::create_dir_all(dist.join("branding")).unwrap();
    std::fs::write(dist.join("index.html"), "<!DOCTYPE html><title>spa</title>").unwrap();
    std::fs::write(
        dist.join("account.html"),
        "<!DOCTYPE html><title>account</title>",
    )
    .unwrap();
    std::fs::write(dist.join(HASHED_JS), "console.log('identity')").unwrap();
    std::fs::write(dist.join(format!("{HASHED_JS}.br")), "BROTLI-BYTES").unwrap();
    std::fs::write(dist.join(format!("{HASHED_JS}.gz")), "GZIP-BYTES").unwrap();
    std::fs::write(dist.join("branding/favicon.svg"), "<svg id='built-in'/>").unwrap();
    std::fs::write(
        dist.join("theme.json"),
        r#"{"organisation":"Built In","helpdesk":"it@example.com"}"#,
    )
    .unwrap();
    dist
}

/// `extra_config` is appended to the test config (TOML).
pub async fn harness_with(with_theme_file: bool, extra_config: &str) -> Harness {
    harness_setup(Setup {
        theme: with_theme_file,
        config: extra_config,
        ..Setup::default()
    })
    .await
}

/// What a harness starts with.
#[derive(Debug, Clone)]
pub struct Setup<'a> {
    /// An operator's theme file, not the built-in theme.
    pub theme: bool,
    /// Appended to the test config (TOML).
    pub config: &'a str,
    /// The store: a fresh SQLite file when `None`.
    pub store_url: Option<String>,
    /// Where the manual clock starts.
    pub start: i64,
}

impl Default for Setup<'_> {
    fn default() -> Self {
        Setup {
            theme: false,
            config: "",
            store_url: None,
            start: T0,
        }
    }
}

/// A fresh database on the PostgreSQL server `SSPR_TEST_PG_URL` names, or
/// `None` (the PostgreSQL half is skipped) when it names none, unless
/// `SSPR_REQUIRE_PG` is set, as `cargo xtask test` sets it.
pub async fn postgres_url() -> Option<String> {
    let Ok(admin_url) = std::env::var("SSPR_TEST_PG_URL") else {
        assert!(
            std::env::var("SSPR_REQUIRE_PG").is_err(),
            "SSPR_REQUIRE_PG is set but SSPR_TEST_PG_URL is not"
        );
        eprintln!("skipping the PostgreSQL half: SSPR_TEST_PG_URL is not set");
        return None;
    };
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let name = format!("t_{}", sspr_server::clock::Entropy::hex_id(&OsEntropy, 8));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    Some(format!("{base}/{name}"))
}

/// Every store this machine offers: SQLite (`None`), and PostgreSQL where
/// `SSPR_TEST_PG_URL` names a server.
pub async fn backends() -> Vec<Option<String>> {
    let mut v = vec![None];
    if let Some(pg) = postgres_url().await {
        v.push(Some(pg));
    }
    v
}

pub async fn harness_setup(setup: Setup<'_>) -> Harness {
    let (with_theme_file, extra_config) = (setup.theme, setup.config);
    let dir = tempfile::tempdir().unwrap();
    let dist = fake_dist(dir.path());
    let theme = with_theme_file.then(|| {
        let tdir = dir.path().join("branding-src");
        std::fs::create_dir_all(tdir.join("branding")).unwrap();
        std::fs::write(
            tdir.join("branding/logo.svg"),
            "<svg xmlns='http://www.w3.org/2000/svg'/>",
        )
        .unwrap();
        std::fs::write(
            tdir.join("theme.json"),
            r#"{"organisation":"Northwind Traders","helpdesk":"https://help.northwind.test/sspr","logo":"/branding/logo.svg"}"#,
        )
        .unwrap();
        Arc::new(ThemeFile::open(&tdir.join("theme.json")).unwrap())
    });
    let url = setup
        .store_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()));
    // The public URL comes as an environment override, so `extra_config`
    // may open a `[server]` table of its own.
    let theme_section = if with_theme_file {
        format!(
            "[theme]\nfile = \"{}\"\n",
            dir.path().join("branding-src/theme.json").display()
        )
    } else {
        String::new()
    };
    let text = format!(
        "[store]\nurl = \"{url}\"\n{theme_section}\
         [reset]\npow_difficulty = 8\nidentify_floor_ms = 0\n{extra_config}"
    );
    let env = [(
        "SSPR__SERVER__PUBLIC_URL".to_string(),
        PUBLIC_URL.to_string(),
    )];
    let config = Config::from_str_at(&text, Path::new("/test/sspr.toml"), env).unwrap();
    let store = Store::open(&config.store.url, 4).await.unwrap();
    let clock = ManualClock::at(setup.start);
    let entropy = Arc::new(OsEntropy);
    let metrics = Arc::new(Metrics::new("test"));
    let hashes = HashPool::with_metrics(2, 64, metrics.clone());
    let builtin = Builtin::new(
        store.clone(),
        Arc::new(clock.clone()),
        entropy.clone(),
        hashes.clone(),
    );
    builtin.seed_demo().await.unwrap();
    let outbox_transport: Arc<dyn Transport> = Arc::new(DevOutbox {
        dir: dir.path().join("outbox"),
    });
    let policy = Policy::from(&config.delivery);
    let voice = config.delivery.voice.is_some();
    let state = AppState::from(AppParts {
        public_origin: config.public_origin(),
        config: Arc::new(config),
        directory: Instrumented::wrap(Arc::new(builtin.clone()), metrics.clone()),
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        entropy,
        assets: Arc::new(Assets::Dir(dist)),
        theme,
        keys: Arc::new(Keys::from_master(&[7; 32])),
        outbox: if voice {
            Outbox::new(outbox_transport.clone(), outbox_transport.clone(), policy)
                .with_voice(outbox_transport)
        } else {
            Outbox::new(outbox_transport.clone(), outbox_transport, policy)
        },
        limits: IpLimits::new(store.clone()),
        hashes,
        paces: Arc::new(Paces::new(std::time::Duration::ZERO)),
        ready: Default::default(),
        metrics,
    });
    sspr_server::methods::seed_demo(&state).await.unwrap();
    sspr_server::start_workers(&state);
    Harness {
        app: app(state.clone()),
        state,
        builtin,
        clock,
        dir,
        store_url: url,
    }
}

pub async fn harness(with_theme_file: bool) -> Harness {
    harness_with(with_theme_file, "").await
}

pub async fn send(app: &Router, req: Request<Body>) -> Response {
    app.clone().oneshot(req).await.unwrap()
}

pub async fn get(app: &Router, uri: &str) -> Response {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// A same-origin JSON POST, as the SPA sends it.
pub async fn post(app: &Router, uri: &str, body: &Value) -> Response {
    send(
        app,
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ORIGIN, PUBLIC_URL)
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

pub async fn body_bytes(r: Response) -> Vec<u8> {
    r.into_body().collect().await.unwrap().to_bytes().to_vec()
}

pub async fn json(r: Response) -> Value {
    serde_json::from_slice(&body_bytes(r).await).unwrap()
}

/// Lines the delivery worker wrote to `<outbox>/<file>`, waiting up to 5 s for
/// at least `at_least` of them (delivery is off the request path).
pub async fn outbox_lines(dir: &Path, file: &str, at_least: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let lines: Vec<Value> = std::fs::read_to_string(dir.join(file))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if lines.len() >= at_least || tokio::time::Instant::now() > deadline {
            return lines;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The first line of `<outbox>/<file>` that `pred` accepts, waiting up to 5 s
/// for it (delivery is off the request path).
pub async fn outbox_find(dir: &Path, file: &str, pred: impl Fn(&Value) -> bool) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let lines = outbox_lines(dir, file, 0).await;
        if let Some(hit) = lines.into_iter().find(|l| pred(l)) {
            return Some(hit);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Signs in and returns the `name=value` session cookie.
pub async fn signed_in(h: &Harness, user: &str, password: &str) -> String {
    let r = post(
        &h.app,
        "/api/session",
        &serde_json::json!({ "username": user, "password": password }),
    )
    .await;
    assert_eq!(r.status(), axum::http::StatusCode::OK, "sign-in of {user}");
    let set = r.headers()[header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

/// A same-origin JSON POST with the session cookie.
pub async fn post_as(app: &Router, cookie: &str, uri: &str, body: &Value) -> Response {
    send(
        app,
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ORIGIN, PUBLIC_URL)
            .header(header::COOKIE, cookie)
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

pub async fn get_as(app: &Router, cookie: &str, uri: &str) -> Response {
    send(
        app,
        Request::get(uri)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// Status and JSON body.
pub async fn status_json(r: Response) -> (StatusCode, Value) {
    let s = r.status();
    let b = body_bytes(r).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

// The reset flow, a step at a time.

pub async fn solved_pow(h: &Harness) -> Value {
    let r = post(&h.app, "/api/reset/challenge", &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let ch: PowChallenge = serde_json::from_value(json(r).await).unwrap();
    json!({ "id": ch.id, "nonce": sspr_server::reset::pow::solve(&ch) })
}

/// Identify with a fresh proof of work: the raw answer.
pub async fn start_response(h: &Harness, identifier: &str) -> Response {
    let pow = solved_pow(h).await;
    post(
        &h.app,
        "/api/reset/start",
        &json!({ "identifier": identifier, "pow": pow }),
    )
    .await
}

pub async fn start(h: &Harness, identifier: &str) -> Value {
    let r = start_response(h, identifier).await;
    assert_eq!(r.status(), StatusCode::OK, "start {identifier}");
    json(r).await
}

/// A flow view's step as `{"step": name, ..its fields}`, for assertions.
/// The wire tags steps externally (`{"enter_code": {..}}`, or `"blocked"`;
/// `proto::reset` says why); anything else is not a step and panics.
pub fn shown(view: &Value) -> Value {
    if let Value::String(name) = &view["step"] {
        return serde_json::json!({ "step": name });
    }
    let (name, body) = untag(&view["step"]);
    let mut out = body.as_object().cloned().expect("a step's fields");
    out.insert("step".into(), name.into());
    Value::Object(out)
}

/// An externally tagged variant with fields, `{tag: {..}}`: its tag and
/// what it wraps. Anything else panics.
pub fn untag(v: &Value) -> (&str, &Value) {
    match v.as_object().filter(|o| o.len() == 1) {
        Some(o) => o.iter().next().map(|(k, b)| (k.as_str(), b)).unwrap(),
        None => panic!("not an externally tagged variant: {v}"),
    }
}

/// The kinds of the methods a choose step offers, in order.
pub fn offered_kinds(view: &Value) -> Vec<String> {
    shown(view)["methods"]
        .as_array()
        .expect("a choose step")
        .iter()
        .map(|m| m["kind"].as_str().unwrap().to_string())
        .collect()
}

pub fn method_id(view: &Value, kind: &str) -> String {
    shown(view)["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == kind)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub async fn step(h: &Harness, path: &str, body: Value) -> (StatusCode, Value) {
    let r = post(&h.app, path, &body).await;
    let s = r.status();
    (s, json(r).await)
}

pub async fn choose(h: &Harness, flow: &Value, kind: &str) -> Value {
    let (s, v) = step(
        h,
        "/api/reset/choose",
        json!({ "flow": flow["flow"], "method": method_id(flow, kind) }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// The authenticator code for a base32 secret at the harness's clock.
pub fn totp_now(h: &Harness, b32: &str) -> String {
    let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, b32).unwrap();
    let now = sspr_server::clock::Clock::now(&h.clock);
    format!(
        "{:06}",
        sspr_server::methods::authenticator::hotp(
            &secret,
            sspr_server::methods::authenticator::step_at(now) as u64
        )
    )
}

/// Runs a reset for `identifier` (a user with alice's demo authenticator
/// secret) up to the new-password step: the flow's view at that step.
pub async fn reset_to_new_password(h: &Harness, identifier: &str) -> Value {
    let flow = start(h, identifier).await;
    choose(h, &flow, "authenticator").await;
    let code = totp_now(h, sspr_server::methods::DEMO_TOTP[0].1);
    let (s, mut v) = step(
        h,
        "/api/reset/verify",
        json!({ "flow": flow["flow"], "code": code }),
    )
    .await;
    assert_eq!(
        (s, shown(&v)["step"].as_str()),
        (StatusCode::OK, Some("new_password")),
        "{v}"
    );
    v["flow"] = flow["flow"].clone();
    v
}

/// Submits the new password at the flow's last step.
pub async fn submit_password(h: &Harness, flow: &Value, password: &str) -> (StatusCode, Value) {
    step(
        h,
        "/api/reset/password",
        json!({ "flow": flow, "password": password }),
    )
    .await
}

/// How many resets the audit trail records as completed.
pub async fn completed_resets(h: &Harness) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE activity = 'Reset password (self-service)'",
    )
    .fetch_one(h.state.store.pool())
    .await
    .unwrap()
}

pub mod samba;
pub mod slapd;

/// The signed-in user's first registered method of `kind`.
pub async fn method_of(h: &Harness, cookie: &str, kind: &str) -> Value {
    let (_, view) = status_json(get_as(&h.app, cookie, "/api/security-info").await).await;
    view["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == kind)
        .unwrap_or_else(|| panic!("a {kind} method to step up with"))
        .clone()
}

/// Starts a step-up with `m`, then proves it with what `code` gives.
async fn prove(
    h: &Harness,
    cookie: &str,
    m: &Value,
    code: impl std::future::Future<Output = String>,
) -> Value {
    let (s, ch) = status_json(
        post_as(
            &h.app,
            cookie,
            "/api/session/stepup",
            &json!({ "method": m["id"] }),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{ch}");
    let code = code.await;
    let (s, v) = status_json(
        post_as(
            &h.app,
            cookie,
            "/api/session/stepup/verify",
            &json!({ "code": code }),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// Proves one of the signed-in user's methods (their first email address,
/// with the code from the dev outbox), as security-info changes need once a
/// user has any method. Returns the view the step-up answers.
pub async fn step_up(h: &Harness, cookie: &str) -> Value {
    let m = method_of(h, cookie, "email").await;
    let before = outbox_lines(&h.outbox_dir(), "mail.jsonl", 0).await.len();
    let code = async {
        let mails = outbox_lines(&h.outbox_dir(), "mail.jsonl", before + 1).await;
        let body = mails
            .iter()
            .rfind(|x| x["to"] == m["target"])
            .expect("a step-up code")["body"]
            .as_str()
            .unwrap()
            .to_string();
        body.split_whitespace()
            .find(|w| w.len() == 8 && w.bytes().all(|b| b.is_ascii_digit()))
            .unwrap()
            .to_string()
    };
    prove(h, cookie, &m, code).await
}

/// A step-up with a method the test can prove directly: an authenticator
/// code it computes, or a recovery code it holds.
pub async fn step_up_with(h: &Harness, cookie: &str, kind: &str, code: &str) -> Value {
    let m = method_of(h, cookie, kind).await;
    prove(h, cookie, &m, async { code.to_string() }).await
}
