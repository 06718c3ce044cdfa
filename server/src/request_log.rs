//! The request log: every request gets an id, runs inside a span that
//! carries it (so every line a handler logs names its request), and ends
//! with one line: method, route, status, duration, client. The id is
//! answered as `X-Request-Id`, so a proxy's log and a user's report meet
//! the portal's log. Query strings and bodies are never logged.
//!
//! An [`ApiError`](crate::error::ApiError) that became the response is
//! logged here too, inside the span, never where the response is built: a
//! failure (500, 503 of the store or directory) at error with its whole
//! cause chain, a refusal at debug (without serde's reason, which can
//! quote what the client sent).
//!
//! The same place feeds `sspr_http_request_duration_seconds`, labelled with
//! the matched route pattern only: a path that matched no route is `other`,
//! so no request can add a series.

use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, Response};
use axum::middleware::{self, Next};
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::propagate_header::PropagateHeaderLayer;
use tower_http::trace::{MakeSpan, OnFailure, OnResponse, TraceLayer};
use tracing::Span;

use crate::AppState;
use crate::client_ip::ClientIp;
use crate::error::Failure;
use crate::metrics::Metrics;

/// The header that carries the id back.
pub const REQUEST_ID: &str = "x-request-id";

/// Wraps `router` in the request log, outermost first:
/// 1. [`identify`]: a fresh id from the app's entropy (a client's own
///    `X-Request-Id` is replaced, so no client names its own lines), and
///    the [`Facts`] the span and the closing line need;
/// 2. the id copied onto the response (`PropagateHeaderLayer`);
/// 3. tower-http's `TraceLayer`: the span ([`RequestSpan`]), the closing
///    line and the metric ([`RequestLine`]), a body that broke while
///    streaming ([`BodyFailure`]);
/// 4. [`carry`]: the facts handed on to the response, where
///    [`RequestLine`] reads them (tower-http hands it the response only).
pub fn install(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    let trace = TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(())
        .on_response(RequestLine {
            metrics: state.metrics.clone(),
        })
        .on_body_chunk(())
        .on_eos(())
        .on_failure(BodyFailure);
    router
        .layer(middleware::from_fn(carry))
        .layer(trace)
        .layer(PropagateHeaderLayer::new(
            axum::http::HeaderName::from_static(REQUEST_ID),
        ))
        .layer(middleware::map_request_with_state(state.clone(), identify))
}

/// What the log knows of a request before it runs.
#[derive(Debug, Clone)]
pub struct Facts {
    pub id: String,
    pub method: Method,
    /// The matched route's pattern (`/branding/{file}`); `None` for a path
    /// that matched none (the metric's `other`).
    pub matched: Option<String>,
    /// The client as the portal resolves it (`client_ip`, trusted proxies).
    pub client: ClientIp,
}

impl Facts {
    /// What the span names: the route's pattern, else the path (never the
    /// query), at most 200 characters.
    fn route(&self, req_path: &str) -> String {
        self.matched
            .as_deref()
            .unwrap_or(req_path)
            .chars()
            .take(200)
            .collect()
    }
}

/// Gives the request its id and [`Facts`].
async fn identify(
    State(state): State<AppState>,
    client: ClientIp,
    matched: Option<MatchedPath>,
    mut req: Request,
) -> Request {
    let id = state.entropy.hex_id(8);
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, v);
    }
    let facts = Facts {
        id,
        method: req.method().clone(),
        matched: matched.map(|m| m.as_str().to_string()),
        client,
    };
    req.extensions_mut().insert(facts);
    req
}

/// Hands the request's [`Facts`] on to its response.
async fn carry(req: Request, next: Next) -> axum::response::Response {
    let facts = req.extensions().get::<Facts>().cloned();
    let mut resp = next.run(req).await;
    if let Some(facts) = facts {
        resp.extensions_mut().insert(facts);
    }
    resp
}

/// The request's span: id, method, route, client. Every line a handler
/// logs is inside it.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &Request<B>) -> Span {
        match req.extensions().get::<Facts>() {
            Some(f) => tracing::info_span!(
                "request",
                id = %f.id,
                method = %f.method,
                route = %f.route(req.uri().path()),
                client = %f.client.audit(),
            ),
            None => tracing::info_span!("request", method = %req.method()),
        }
    }
}

/// The closing line (status, duration, client) and the duration metric,
/// after the error the response carries, if any.
#[derive(Debug, Clone)]
pub struct RequestLine {
    metrics: std::sync::Arc<Metrics>,
}

impl<B> OnResponse<B> for RequestLine {
    fn on_response(self, resp: &Response<B>, latency: Duration, _span: &Span) {
        let status = resp.status().as_u16();
        if let Some(failure) = resp.extensions().get::<Failure>() {
            log_failure(failure, status);
        }
        let ms = (latency.as_secs_f64() * 10_000.0).round() / 10.0;
        match resp.extensions().get::<Facts>() {
            Some(f) => {
                self.metrics
                    .http_request(f.matched.as_deref(), &f.method, status, latency);
                tracing::info!(status, ms, client = %f.client.audit(), "request");
            }
            None => tracing::info!(status, ms, "request"),
        }
    }
}

/// A response whose body broke while it streamed (a 5xx status is logged
/// with its cause by [`RequestLine`], so it is not logged again here).
#[derive(Debug, Clone, Copy)]
pub struct BodyFailure;

impl OnFailure<ServerErrorsFailureClass> for BodyFailure {
    fn on_failure(&mut self, class: ServerErrorsFailureClass, _latency: Duration, _span: &Span) {
        if let ServerErrorsFailureClass::Error(cause) = class {
            tracing::error!(cause = %cause, "response body failed");
        }
    }
}

/// Logs the error a response carries, if any, in the current span, and takes
/// it out of the response. A response that arrives after its request timed
/// out is reported here, where it is dropped (`security::deadline`).
pub fn report(resp: &mut axum::response::Response) {
    if let Some(failure) = resp.extensions_mut().remove::<Failure>() {
        log_failure(&failure, resp.status().as_u16());
    }
}

/// A failure at error with its whole cause chain, a refusal at debug
/// without serde's reason.
fn log_failure(failure: &Failure, status: u16) {
    if failure.is_failure() {
        tracing::error!(status, cause = %failure.chain(), "request failed");
    } else {
        tracing::debug!(status, error = %failure.refusal(), "request refused");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::middleware;
    use axum::routing::get;
    use tower::ServiceExt;

    use crate::error::ApiError;

    /// Every log line, as JSON, into a buffer the test reads.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Capture {
        fn lines(&self) -> Vec<serde_json::Value> {
            let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
            String::from_utf8_lossy(&bytes)
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        }
    }

    async fn fails() -> Result<(), ApiError> {
        Err(sqlx::Error::Protocol("the wire broke".into()).into())
    }

    async fn fails_late() -> Result<(), ApiError> {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        Err(ApiError::broken("a late failure"))
    }

    async fn refuses() -> Result<(), ApiError> {
        Err(ApiError::InvalidField {
            field: "code".into(),
            reason: "invalid type: integer `424242`, expected a string".into(),
        })
    }

    #[tokio::test]
    async fn failures_are_logged_in_the_request_span_even_when_late() {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let (store, _dir) = crate::store::testing::sqlite().await;
        let outbox = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let transport = Arc::new(crate::delivery::DevOutbox {
            dir: outbox.path().to_path_buf(),
        });
        let (state, _clock) =
            crate::testing::state(store, transport, "[server]\nrequest_timeout_secs = 1\n").await;
        let app = Router::new()
            .route("/fails", get(fails))
            .route("/late", get(fails_late))
            .route("/refuses", get(refuses))
            .layer(middleware::from_fn_with_state(
                state.clone(),
                crate::security::deadline,
            ));
        let app = super::install(app, &state).with_state(state);
        let call = |path: &'static str| {
            let app = app.clone();
            async move {
                let resp = app
                    .oneshot(Request::get(path).body(Body::empty()).unwrap_or_default())
                    .await
                    .unwrap_or_else(|e| match e {});
                let id = resp
                    .headers()
                    .get(super::REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                (resp.status(), id)
            }
        };

        let (status, failed) = call("/fails").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let (status, refused) = call("/refuses").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, late) = call("/late").await;
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
        // An id the client sends is replaced by the portal's own.
        let resp = app
            .clone()
            .oneshot(
                Request::get("/refuses")
                    .header(super::REQUEST_ID, "chosen-by-client")
                    .body(Body::empty())
                    .unwrap_or_default(),
            )
            .await
            .unwrap_or_else(|e| match e {});
        let id = resp
            .headers()
            .get(super::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(id.len(), 16, "{id}");
        assert_ne!(id, "chosen-by-client");
        // The handler goes on after the 408 and fails on its own.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

        let lines = capture.lines();
        let of = |id: &str, message: &str| {
            lines
                .iter()
                .find(|l| l["span"]["id"] == id && l["message"] == message)
                .cloned()
                .unwrap_or_else(|| panic!("no {message:?} for {id} in {lines:#?}"))
        };
        let line = of(&failed, "request failed");
        assert_eq!(line["level"], "ERROR");
        assert_eq!(
            line["cause"],
            "internal: store query failed: encountered unexpected or invalid data: the wire broke"
        );
        let line = of(&refused, "request refused");
        assert_eq!(line["level"], "DEBUG");
        assert_eq!(line["error"], "invalid field code");
        let line = of(&late, "request failed");
        assert_eq!(line["cause"], "internal: a late failure");
        // A refusal's reason (here the code sent) is on no line.
        assert!(!format!("{lines:?}").contains("424242"));
    }
}
