//! sspr: the thin JSON API and static host behind the self-service password
//! reset portal. `app()` builds the whole HTTP surface from an [`AppState`].
//!
//! Layers: a module imports only from the layers before it, never from its
//! own or a later one (`cargo xtask cycles` fails on any import circle; the
//! crate root and test modules are not counted). A new module goes in the
//! lowest layer whose modules it needs.
//!
//! 1. leaves, importing no module: `clock`, `secret`, `i18n`, `audit`,
//!    `client_ip`, `pacing`, `assets`, and `metrics` (a sink every layer
//!    reports to: it names method kinds by `MethodKind::as_str`);
//! 2. `config` (read by everyone; the outbox builds its own policy from it),
//!    `keys`, `ready`, `serve`, `theme`;
//! 3. `error` (used by everything: a cause becomes an `ApiError` in the
//!    module that defines it, e.g. `store`, `hashing`, `directory`),
//!    `delivery`, `breach`;
//! 4. `store`, `ports` (one storage trait per concern, implemented by the
//!    store: outside `ports/`, only `store.rs` (migrations, the key check)
//!    and the built-in directory write SQL), `hashing`, `json`, `request_log`;
//! 5. `directory`, `outbox`, `limits`, `security`;
//! 6. `methods`, `password`, `tap`;
//! 7. `session` < `reset`, `security_info` (neither imports the other) <
//!    `stepup` < `admin`, `routes` < `insights`, `passkeys`.

pub mod admin;
pub mod assets;
pub mod audit;
pub mod breach;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod directory;
pub mod error;
pub mod hashing;
pub mod i18n;
pub mod insights;
pub mod json;
pub mod keys;
pub mod limits;
pub mod methods;
pub mod metrics;
pub mod outbox;
pub mod pacing;
pub mod passkeys;
pub mod password;
pub mod ports;
pub mod ready;
pub mod request_log;
pub mod reset;
pub mod routes;
pub mod secret;
pub mod security;
pub mod security_info;
pub mod serve;
pub mod session;
pub mod stepup;
pub mod store;
pub mod tap;
pub mod theme;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;

use crate::assets::Assets;
use crate::clock::{Clock, Entropy};
use crate::config::Config;
use crate::directory::Directory;
use crate::hashing::HashPool;
use crate::keys::Keys;
use crate::limits::IpLimits;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::pacing::Paces;
use crate::store::Store;
use crate::theme::ThemeFile;

/// Everything a handler may use. Clock and entropy are parameters so tests control them.
#[derive(Debug, Clone)]
pub struct AppParts {
    pub config: Arc<Config>,
    pub public_origin: String,
    pub store: Store,
    pub directory: Arc<dyn Directory>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub assets: Arc<Assets>,
    /// The operator's theme file; `None` serves the theme built into the SPA.
    pub theme: Option<Arc<ThemeFile>>,
    pub keys: Arc<Keys>,
    pub outbox: Outbox,
    pub limits: IpLimits,
    /// Every argon2 runs here (the built-in directory shares it).
    pub hashes: HashPool,
    /// Floors that keep known and unknown accounts' answers alike in time.
    pub paces: Arc<Paces>,
    /// The last readiness answer, reused for a few seconds.
    pub ready: Arc<ready::ReadyCache>,
    /// Prometheus metrics, served on `server.metrics_bind` only.
    pub metrics: Arc<Metrics>,
}

/// What handlers share: one `Arc` of [`AppParts`], so the several copies a
/// request takes (each middleware's and extractor's `State`) cost one
/// atomic increment each, not one per part. A test that replaces a part
/// (`state.directory = ..`) gets its own copy of the parts.
#[derive(Debug, Clone)]
pub struct AppState(Arc<AppParts>);

impl From<AppParts> for AppState {
    fn from(parts: AppParts) -> AppState {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;
    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut AppParts {
        Arc::make_mut(&mut self.0)
    }
}

impl AppParts {
    /// The organisation's name from the live theme, for mail and SMS text.
    pub fn organisation(&self) -> String {
        let body = match &self.theme {
            Some(t) => t.current(),
            None => self
                .assets
                .get("theme.json")
                .map(|c| c.into_owned())
                .unwrap_or_default(),
        };
        serde_json::from_slice::<sspr_proto::Theme>(&body)
            .map(|t| t.organisation)
            .unwrap_or_else(|_| "your organisation's".to_string())
    }
}

/// The outbox job kinds and what resolves each into a message.
pub fn resolvers() -> outbox::Resolvers {
    let mut resolvers = outbox::Resolvers::new();
    resolvers.insert(reset::send::KIND, Arc::new(reset::send::Resolver));
    resolvers
}

/// Starts the background work every node runs: the outbox's worker, the
/// outbox's depth and age read for each scrape of the metrics, and the
/// spike alerts and audit retention of Usage & insights.
pub fn start_workers(state: &AppState) -> tokio::task::JoinHandle<()> {
    outbox::report_depth(state);
    insights::spawn_watch(state.clone());
    state.limits.spawn_flush(state.clock.clone());
    outbox::spawn_worker(state.clone(), resolvers())
}

/// The whole HTTP surface: `/api/*` (JSON only), `/theme.json`, `/branding/*`,
/// and the SPA with index.html for client-side routes.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(routes::health))
        .route("/ready", get(routes::ready))
        .route("/config", get(routes::public_config))
        .route(
            "/session",
            post(routes::session_sign_in)
                .get(routes::session_current)
                .delete(routes::session_sign_out),
        )
        .route("/session/reauth", post(routes::session_reauth))
        .route("/session/stepup", post(routes::stepup_start))
        .route("/session/stepup/verify", post(routes::stepup_verify))
        .route("/security-info", get(routes::security_info))
        .route("/security-info/review", post(routes::security_info_review))
        .route("/security-info/methods", post(routes::method_start))
        .route(
            "/security-info/methods/confirm",
            post(routes::method_confirm),
        )
        .route("/security-info/methods/remove", post(routes::method_remove))
        .route(
            "/security-info/methods/default",
            post(routes::method_default),
        )
        .route(
            "/security-info/recovery-codes",
            post(routes::recovery_codes),
        )
        .route(
            "/security-info/password",
            get(routes::password_context).post(routes::change_password),
        )
        .route("/security-info/questions", post(routes::security_questions))
        .route(
            "/security-info/passkeys/begin",
            post(passkeys::http_register_begin),
        )
        .route(
            "/security-info/passkeys",
            post(passkeys::http_register_finish),
        )
        .route(
            "/security-info/passkeys/rename",
            post(passkeys::http_rename),
        )
        .route("/session/passkey/begin", post(passkeys::http_sign_in_begin))
        .route("/session/passkey", post(passkeys::http_sign_in_finish))
        .route("/reset/passkey/begin", post(passkeys::http_reset_begin))
        .route("/reset/passkey", post(passkeys::http_reset_finish))
        .route("/reset/challenge", post(routes::reset_challenge))
        .route("/reset/start", post(routes::reset_start))
        .route("/reset/state", post(routes::reset_state))
        .route("/reset/choose", post(routes::reset_choose))
        .route("/reset/resend", post(routes::reset_resend))
        .route("/reset/back", post(routes::reset_back))
        .route("/reset/verify", post(routes::reset_verify))
        .route("/reset/answers", post(routes::reset_answers))
        .route("/reset/password", post(routes::reset_password))
        .route("/reset/unlock", post(routes::reset_unlock))
        .route("/insights", get(insights::http::figures))
        .route("/insights/events", get(insights::http::events))
        .route("/insights/export.csv", get(insights::http::export))
        .fallback(routes::api_not_found)
        .method_not_allowed_fallback(routes::api_method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::same_origin,
        ))
        // Outermost on the API: errors from any layer come in the reader's language.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            i18n::negotiate,
        ));
    let app = Router::new()
        .nest("/api", api)
        .route("/theme.json", get(routes::theme))
        .route("/branding/{file}", get(routes::branding))
        .fallback(routes::static_or_spa)
        // Each request runs to its end in its own task: a client that goes
        // away, or the request timeout, never stops a handler half-way.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::deadline,
        ))
        .layer(CatchPanicLayer::custom(routes::panic_response))
        .layer(middleware::from_fn(security::headers));
    // Outermost: the request's id, span, closing line and metric.
    request_log::install(app, &state).with_state(state)
}

/// An [`AppState`] for the crate's own tests, on a store of
/// `store::testing`, the built-in directory (demo users seeded), a manual
/// clock and `transport` for both mail and SMS.
#[cfg(test)]
pub mod testing {
    use super::*;
    use crate::clock::{ManualClock, OsEntropy};
    use crate::delivery::Transport;
    use crate::directory::builtin::Builtin;

    pub const T0: i64 = 1_780_000_000;

    pub async fn state(
        store: Store,
        transport: Arc<dyn Transport>,
        config: &str,
    ) -> (AppState, ManualClock) {
        let config = Config::from_str_at(
            config,
            std::path::Path::new("/test/sspr.toml"),
            std::iter::empty::<(String, String)>(),
        )
        .expect("test config");
        let clock = ManualClock::at(T0);
        let entropy = Arc::new(OsEntropy);
        let hashes = HashPool::new(1, 16);
        let builtin = Builtin::new(
            store.clone(),
            Arc::new(clock.clone()),
            entropy.clone(),
            hashes.clone(),
        );
        builtin.seed_demo().await.expect("demo users");
        let policy = crate::outbox::Policy::from(&config.delivery);
        let state = AppState::from(AppParts {
            public_origin: config.public_origin(),
            config: Arc::new(config),
            limits: IpLimits::new(store.clone()),
            store,
            directory: Arc::new(builtin),
            clock: Arc::new(clock.clone()),
            entropy,
            assets: Arc::new(Assets::Dir(std::env::temp_dir())),
            theme: None,
            keys: Arc::new(Keys::from_master(&[7; 32])),
            outbox: Outbox::new(transport.clone(), transport, policy),
            hashes,
            paces: Arc::new(Paces::new(std::time::Duration::ZERO)),
            ready: Default::default(),
            metrics: Default::default(),
        });
        (state, clock)
    }
}
