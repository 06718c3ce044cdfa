//! The request log: every request gets an id, runs inside a span that
//! carries it (so every line a handler logs names its request), and ends
//! with one line: method, route, status, duration, client. The id is
//! answered as `X-Request-Id`, so a proxy's log and a user's report meet
//! the portal's log. Query strings and bodies are never logged.
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
