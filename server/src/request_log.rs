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
