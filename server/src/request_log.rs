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

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::AppState;
use crate::client_ip::ClientIp;
use crate::error::Failure;

/// The header that carries the id back.
pub const REQUEST_ID: &str = "x-request-id";

pub async fn log(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let id = state.entropy.hex_id(8);
    let method = req.method().clone();
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    // The route's pattern, not the path: `/branding/{file}`, and static
    // files by their path (no query, no fragment).
    let route = matched
        .clone()
        .unwrap_or_else(|| req.uri().path().to_string())
        .chars()
        .take(200)
        .collect::<String>();
    let (mut parts, body) = req.into_parts();
    let Ok(client) = ClientIp::from_request_parts(&mut parts, &state).await;
    let req = Request::from_parts(parts, body);
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route);
    let start = std::time::Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    let took = start.elapsed();
    let ms = took.as_secs_f64() * 1000.0;
    let status = resp.status().as_u16();
    span.in_scope(|| report(&mut resp));
    state
        .metrics
        .http_request(matched.as_deref(), &method, status, took);
    span.in_scope(|| {
        tracing::info!(
            status,
            ms = (ms * 10.0).round() / 10.0,
            client = %client.audit(),
            "request"
        );
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    resp
}

/// Logs the error a response carries, if any, in the current span, and takes
/// it out of the response. [`log`] calls it for every response; a response
/// that arrives after its request timed out is reported where it is dropped.
pub fn report(resp: &mut Response) {
    let Some(failure) = resp.extensions_mut().remove::<Failure>() else {
        return;
    };
    let status = resp.status().as_u16();
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
            ))
            .layer(middleware::from_fn_with_state(state.clone(), super::log))
            .with_state(state);
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
