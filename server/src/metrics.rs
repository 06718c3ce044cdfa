//! Prometheus metrics: one [`Metrics`] per process, in `AppState`, served as
//! `GET /metrics` (OpenMetrics text) on `server.metrics_bind`, a listener of
//! its own, never on the public one.
//!
//! Every label is a bounded set fixed in code: a method kind, an outcome, a
//! directory operation, a route *pattern* of the router (or `other`), an
//! HTTP method of the standard few (or `other`), a status class. Nothing a
//! client types (a user name, an address, a path, a code) becomes a label or
//! a value, so no request can add a series or read one back.
//!
//! What counts what (the README's Metrics section lists them all):
//! - identify counts every flow, real or decoy, as an attacker sees both;
//! - proofs, blocks and completions count real accounts only.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sspr_proto::reset::{MethodKind, Outcome};

/// The exposition's media type (OpenMetrics 1.0, which Prometheus asks for first).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The label of every request whose path matched no route of the router.
pub const OTHER: &str = "other";

/// The directory operations `sspr_directory_seconds{op}` times, one per
/// method of the `Directory` trait.
pub const DIRECTORY_OPS: [&str; 12] = [
    "find_user",
    "user_by_id",
    "ready",
    "administrators",
    "verify_password",
    "burn",
    "set_password",
    "change_password",
    "groups_of",
    "unlock",
    "password_rules",
    "list_users",
];

/// The spike alerts `sspr_alerts_total{kind}` counts (see `insights::alerts`).
pub const ALERT_KINDS: [&str; 2] = ["resets", "blocks"];

/// The delivery channels the outbox reports on.
pub const CHANNELS: [&str; 3] = ["mail", "sms", "voice"];

/// How long a before-scrape hook may take before the scrape goes on without it.
const HOOK_TIMEOUT: Duration = Duration::from_secs(2);

const METHOD_KINDS: [MethodKind; 7] = [
    MethodKind::Email,
    MethodKind::Sms,
    MethodKind::Authenticator,
    MethodKind::RecoveryCode,
    MethodKind::SecurityQuestions,
    MethodKind::OfficePhone,
    MethodKind::Passkey,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProofLabels {
    method: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelResultLabels {
    channel: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabel {
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    /// A route pattern of the router (`/api/reset/start`), or [`OTHER`].
    route: String,
    method: &'static str,
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// A future a before-scrape hook returns.
pub type HookFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type Hook = Arc<dyn Fn() -> HookFuture + Send + Sync>;

/// Every metric of the portal. Cheap to update from any thread; cloning the
/// `Arc` in `AppState` shares it.
pub struct Metrics {
    registry: Registry,
    resets_started: Counter,
    resets_completed: Family<OutcomeLabel, Counter>,
    reset_proofs: Family<ProofLabels, Counter>,
    resets_blocked: Counter,
    codes_sent: Family<ChannelResultLabels, Counter>,
    outbox_depth: Gauge,
    outbox_oldest_age: Gauge,
    outbox_failed: Family<ChannelLabel, Counter>,
    hash_wait: Histogram,
    hash_busy: Counter,
    directory_seconds: Histograms<OpLabel>,
    directory_errors: Family<OpLabel, Counter>,
    http_duration: Histograms<HttpLabels>,
    alerts: Family<KindLabel, Counter>,
    hooks: Mutex<Vec<Hook>>,
}

/// This build's metrics, for states that need no sharing with a pool or a
/// directory built elsewhere (tests): `metrics: Default::default()`.
impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(env!("CARGO_PKG_VERSION"))
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn http_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

fn directory_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

fn wait_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

fn result(ok: bool) -> &'static str {
    if ok { "success" } else { "failure" }
}

/// A channel name as the outbox gives it, folded onto [`CHANNELS`].
fn channel(name: &str) -> &'static str {
    match name {
        "mail" | "email" => "mail",
        "sms" => "sms",
        "voice" => "voice",
        _ => OTHER,
    }
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::PasswordReset => "password_reset",
        Outcome::Unlocked => "unlocked",
    }
}

/// The standard methods by name; anything else a client sends is `other`.
fn http_method(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => OTHER,
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => OTHER,
    }
}

impl Metrics {
    /// Every metric registered, every series of a fixed label set present
    /// at 0 (so a rate works from the first event), and
    /// `sspr_build_info{version}` at 1.
    pub fn new(version: &str) -> Metrics {
        let mut m = Metrics {
            resets_started: Counter::default(),
            resets_completed: Family::default(),
            reset_proofs: Family::default(),
            resets_blocked: Counter::default(),
            codes_sent: Family::default(),
            outbox_depth: Gauge::default(),
            outbox_oldest_age: Gauge::default(),
            outbox_failed: Family::default(),
            hash_wait: wait_histogram(),
            hash_busy: Counter::default(),
            directory_seconds: Family::new_with_constructor(directory_histogram),
            directory_errors: Family::default(),
            http_duration: Family::new_with_constructor(http_histogram),
            alerts: Family::default(),
            hooks: Mutex::new(Vec::new()),
            registry: Registry::default(),
        };
        // Counters are registered without `_total`: the encoder appends it.
        m.registry.register(
            "sspr_resets_started",
            "Reset flows that passed identify (real and decoy alike, as an attacker sees them)",
            m.resets_started.clone(),
        );
        m.registry.register(
            "sspr_resets_completed",
            "Resets that ended, by outcome (password_reset or unlocked)",
            m.resets_completed.clone(),
        );
        m.registry.register(
            "sspr_reset_proofs",
            "Proofs evaluated at a reset gate for a real account, by method and result",
            m.reset_proofs.clone(),
        );
        m.registry.register(
            "sspr_resets_blocked",
            "Accounts blocked from self-service reset after too many wrong proofs",
            m.resets_blocked.clone(),
        );
        m.registry.register(
            "sspr_codes_sent",
            "Codes handed to a delivery channel, by channel and result",
            m.codes_sent.clone(),
        );
        m.registry.register(
            "sspr_outbox_depth",
            "Messages waiting in the outbox",
            m.outbox_depth.clone(),
        );
        m.registry.register(
            "sspr_outbox_oldest_age_seconds",
            "Age of the oldest message waiting in the outbox",
            m.outbox_oldest_age.clone(),
        );
        m.registry.register(
            "sspr_outbox_failed",
            "Messages the outbox gave up on, by channel",
            m.outbox_failed.clone(),
        );
        m.registry.register(
            "sspr_hash_wait_seconds",
            "Time a password hash or verify waited for an argon2 worker",
            m.hash_wait.clone(),
        );
        m.registry.register(
            "sspr_hash_busy",
            "Password checks refused with server.busy: the argon2 queue was full",
            m.hash_busy.clone(),
        );
        m.registry.register(
            "sspr_directory_seconds",
            "Time of each directory operation, by operation",
            m.directory_seconds.clone(),
        );
        m.registry.register(
            "sspr_directory_errors",
            "Directory operations that failed (down, timed out, misconfigured), by operation",
            m.directory_errors.clone(),
        );
        m.registry.register(
            "sspr_http_request_duration_seconds",
            "Time to answer a request on the public listener, by route pattern, method and status class",
            m.http_duration.clone(),
        );
        m.registry.register(
            "sspr_alerts",
            "Spike alerts mailed to the administrators, by kind (resets or blocks)",
            m.alerts.clone(),
        );
        let build_info = Family::<VersionLabel, Gauge>::default();
        build_info
            .get_or_create(&VersionLabel {
                version: version.to_string(),
            })
            .set(1);
        m.registry.register(
            "sspr_build_info",
            "Always 1; the version label names the running build",
            build_info,
        );
        // Series of fixed label sets exist from the start, at 0.
        for o in [Outcome::PasswordReset, Outcome::Unlocked] {
            drop(m.resets_completed.get_or_create(&OutcomeLabel {
                outcome: outcome(o),
            }));
        }
        for k in METHOD_KINDS {
            for ok in [true, false] {
                drop(m.reset_proofs.get_or_create(&ProofLabels {
                    method: k.as_str(),
                    result: result(ok),
                }));
            }
        }
        for c in CHANNELS {
            for ok in [true, false] {
                drop(m.codes_sent.get_or_create(&ChannelResultLabels {
                    channel: c,
                    result: result(ok),
                }));
            }
            drop(m.outbox_failed.get_or_create(&ChannelLabel { channel: c }));
        }
        for op in DIRECTORY_OPS {
            drop(m.directory_seconds.get_or_create(&OpLabel { op }));
            drop(m.directory_errors.get_or_create(&OpLabel { op }));
        }
        for kind in ALERT_KINDS {
            drop(m.alerts.get_or_create(&KindLabel { kind }));
        }
        m
    }

    /// A spike alert (one of [`ALERT_KINDS`]; anything else counts as
    /// `other`) went to the administrators.
    pub fn alert(&self, kind: &str) {
        let kind = ALERT_KINDS
            .into_iter()
            .find(|k| *k == kind)
            .unwrap_or(OTHER);
        self.alerts.get_or_create(&KindLabel { kind }).inc();
    }

    /// A flow passed identify (a real account's or a decoy's).
    pub fn reset_started(&self) {
        self.resets_started.inc();
    }

    /// A real account's reset ended: its password set, or its lockout cleared.
    pub fn reset_completed(&self, o: Outcome) {
        self.resets_completed
            .get_or_create(&OutcomeLabel {
                outcome: outcome(o),
            })
            .inc();
    }

    /// A proof at a gate of a real account's flow was evaluated.
    pub fn reset_proof(&self, method: MethodKind, ok: bool) {
        self.reset_proofs
            .get_or_create(&ProofLabels {
                method: method.as_str(),
                result: result(ok),
            })
            .inc();
    }

    /// An account got blocked from self-service reset.
    pub fn reset_blocked(&self) {
        self.resets_blocked.inc();
    }

    /// A code was handed to `channel` (`"mail"` or `"sms"`; anything else
    /// counts as `other`), and the hand-over worked or not.
    pub fn code_sent(&self, channel: &str, ok: bool) {
        self.codes_sent
            .get_or_create(&ChannelResultLabels {
                channel: self::channel(channel),
                result: result(ok),
            })
            .inc();
    }

    /// The outbox gave up on a message for `channel` (`"mail"` or `"sms"`).
    pub fn outbox_failed(&self, channel: &str) {
        self.outbox_failed
            .get_or_create(&ChannelLabel {
                channel: self::channel(channel),
            })
            .inc();
    }

    /// How many messages wait in the outbox, and how old the oldest is (0
    /// when none waits). Call it when they change, or from a
    /// [`Metrics::before_scrape`] hook.
    pub fn set_outbox(&self, depth: i64, oldest_age_secs: i64) {
        self.outbox_depth.set(depth);
        self.outbox_oldest_age.set(oldest_age_secs);
    }

    /// A hash or verify job waited this long in the argon2 queue.
    pub fn hash_waited(&self, wait: Duration) {
        self.hash_wait.observe(wait.as_secs_f64());
    }

    /// A hash or verify job was refused: the queue was full (`server.busy`).
    pub fn hash_busy(&self) {
        self.hash_busy.inc();
    }

    /// A directory operation (one of [`DIRECTORY_OPS`]) took `took`; `failed`
    /// when the directory could not answer.
    pub fn directory_call(&self, op: &'static str, took: Duration, failed: bool) {
        let label = OpLabel { op };
        self.directory_seconds
            .get_or_create(&label)
            .observe(took.as_secs_f64());
        if failed {
            self.directory_errors.get_or_create(&label).inc();
        }
    }

    /// A request on the public listener was answered. `route` is the
    /// router's matched pattern, `None` when no route matched.
    pub fn http_request(&self, route: Option<&str>, method: &Method, status: u16, took: Duration) {
        self.http_duration
            .get_or_create(&HttpLabels {
                route: route.unwrap_or(OTHER).to_string(),
                method: http_method(method),
                status_class: status_class(status),
            })
            .observe(took.as_secs_f64());
    }

    /// Runs `hook` before each scrape (for at most 2 s), e.g. to read the
    /// outbox's depth from the store and [`Metrics::set_outbox`] it:
    ///
    /// ```ignore
    /// let s = state.clone();
    /// state.metrics.before_scrape(move || {
    ///     let s = s.clone();
    ///     async move {
    ///         let (depth, oldest) = pending(&s.store).await; // the outbox's own query
    ///         let age = oldest.map_or(0, |t| s.clock.now() - t);
    ///         s.metrics.set_outbox(depth, age);
    ///     }
    /// });
    /// ```
    ///
    /// (A hook holding the state keeps this `Metrics` alive as long as the
    /// process, which is how long a server's lives anyway.)
    pub fn before_scrape<F, Fut>(&self, hook: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let hook: Hook = Arc::new(move || Box::pin(hook()) as HookFuture);
        self.hooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(hook);
    }

    /// The exposition as it stands, without running the hooks.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    /// Runs the before-scrape hooks, then encodes.
    pub async fn scrape(&self) -> Result<String, std::fmt::Error> {
        let hooks: Vec<Hook> = self.hooks.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for hook in hooks {
            if tokio::time::timeout(HOOK_TIMEOUT, hook()).await.is_err() {
                tracing::warn!("a metrics hook took over 2 s; scraped without it");
            }
        }
        self.encode()
    }
}

/// The metrics listener's whole surface: `GET /metrics`; anything else is 404.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(serve_metrics))
        .with_state(metrics)
}

async fn serve_metrics(State(metrics): State<Arc<Metrics>>) -> Response {
    match metrics.scrape().await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics could not be encoded");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn a_proof_is_labelled_with_the_name_the_store_keeps() {
        assert_eq!(METHOD_KINDS.len(), crate::methods::KIND_ORDER.len());
        for k in crate::methods::KIND_ORDER {
            assert!(METHOD_KINDS.contains(&k), "{k:?}");
            assert_eq!(k.as_str(), crate::methods::kind_str(k));
        }
    }

    #[test]
    fn fixed_series_start_at_zero_and_move() {
        let m = Metrics::new("9.9.9");
        let t = m.encode().unwrap();
        assert_eq!(sample(&t, "sspr_build_info{version=\"9.9.9\"}"), Some(1.0));
        assert_eq!(sample(&t, "sspr_resets_started_total"), Some(0.0));
        assert_eq!(
            sample(
                &t,
                "sspr_reset_proofs_total{method=\"security_questions\",result=\"failure\"}"
            ),
            Some(0.0)
        );
        assert_eq!(
            sample(&t, "sspr_directory_errors_total{op=\"password_rules\"}"),
            Some(0.0)
        );
        assert!(t.ends_with("# EOF\n"), "{t}");
        m.reset_started();
        m.reset_completed(Outcome::Unlocked);
        m.reset_proof(MethodKind::RecoveryCode, true);
        m.code_sent("sms", false);
        m.code_sent("carrier-pigeon", true);
        m.outbox_failed("email");
        m.set_outbox(3, 42);
        m.hash_busy();
        m.hash_waited(Duration::from_millis(3));
        m.directory_call("find_user", Duration::from_millis(2), true);
        let t = m.encode().unwrap();
        for (series, want) in [
            ("sspr_resets_started_total", 1.0),
            ("sspr_resets_completed_total{outcome=\"unlocked\"}", 1.0),
            (
                "sspr_resets_completed_total{outcome=\"password_reset\"}",
                0.0,
            ),
            (
                "sspr_reset_proofs_total{method=\"recovery_code\",result=\"success\"}",
                1.0,
            ),
            (
                "sspr_codes_sent_total{channel=\"sms\",result=\"failure\"}",
                1.0,
            ),
            (
                "sspr_codes_sent_total{channel=\"other\",result=\"success\"}",
                1.0,
            ),
            ("sspr_outbox_failed_total{channel=\"mail\"}", 1.0),
            ("sspr_outbox_depth", 3.0),
            ("sspr_outbox_oldest_age_seconds", 42.0),
            ("sspr_hash_busy_total", 1.0),
            ("sspr_hash_wait_seconds_count", 1.0),
            ("sspr_hash_wait_seconds_bucket{le=\"0.005\"}", 1.0),
            ("sspr_hash_wait_seconds_bucket{le=\"0.001\"}", 0.0),
            ("sspr_directory_errors_total{op=\"find_user\"}", 1.0),
            ("sspr_directory_seconds_count{op=\"find_user\"}", 1.0),
        ] {
            assert_eq!(sample(&t, series), Some(want), "{series} in\n{t}");
        }
    }

    #[test]
    fn http_labels_are_bounded() {
        let m = Metrics::new("0");
        let odd = Method::from_bytes(b"BREW").unwrap();
        m.http_request(Some("/api/health"), &Method::GET, 200, Duration::ZERO);
        m.http_request(None, &odd, 418, Duration::ZERO);
        m.http_request(None, &Method::GET, 101, Duration::ZERO);
        let t = m.encode().unwrap();
        assert_eq!(
            sample(
                &t,
                "sspr_http_request_duration_seconds_count{route=\"/api/health\",method=\"GET\",status_class=\"2xx\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &t,
                "sspr_http_request_duration_seconds_count{route=\"other\",method=\"other\",status_class=\"4xx\"}"
            ),
            Some(1.0)
        );
        assert!(t.contains("status_class=\"other\""));
        assert!(!t.contains("BREW"));
    }

    #[tokio::test]
    async fn hooks_run_before_a_scrape() {
        let m = Arc::new(Metrics::new("0"));
        let weak = Arc::downgrade(&m);
        m.before_scrape(move || {
            let weak = weak.clone();
            async move {
                if let Some(m) = weak.upgrade() {
                    m.set_outbox(7, 9);
                }
            }
        });
        assert!(m.encode().unwrap().contains("sspr_outbox_depth 0\n"));
        let t = m.scrape().await.unwrap();
        assert!(t.contains("sspr_outbox_depth 7\n"), "{t}");
        assert!(t.contains("sspr_outbox_oldest_age_seconds 9\n"), "{t}");
    }
}
