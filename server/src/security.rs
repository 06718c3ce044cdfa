//! Headers on every response, and the same-origin rule for the JSON API.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

/// The strict policy from the design baseline: no inline script, no other origins.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; \
base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const HEADERS: &[(&str, &str)] = &[
    ("content-security-policy", CSP),
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    ),
];

pub async fn headers(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (name, value) in HEADERS {
        let name = HeaderName::from_static(name);
        // A handler's own, stricter policy (branding files) stays.
        if name == header::CONTENT_SECURITY_POLICY && h.contains_key(&name) {
            continue;
        }
        h.insert(name, HeaderValue::from_static(value));
    }
    if is_api {
        // Answers about accounts and flows must never sit in a cache.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Whether a request says it comes from another site: an `Origin` that is
/// not `public_origin` (every one, not just the first), a `Sec-Fetch-Site`
/// other than `same-origin` or `none`, or, without an `Origin`, a `Referer`
/// from elsewhere. A request that sends none of them (not a browser) is
/// not from elsewhere: it carries no victim's cookie.
pub fn from_elsewhere(public_origin: &str, h: &HeaderMap) -> bool {
    let same = |v: &HeaderValue| v.to_str().ok() == Some(public_origin);
    let origins: Vec<&HeaderValue> = h.get_all(header::ORIGIN).iter().collect();
    let origin_ok = origins.iter().all(|o| same(o));
    let referer_ok = !origins.is_empty()
        || h.get_all(header::REFERER).iter().all(|r| {
            r.to_str()
                .ok()
                .and_then(|r| url::Url::parse(r).ok())
                .is_some_and(|u| u.origin().ascii_serialization() == public_origin)
        });
    // Every value counts: a second header line cannot hide a cross-site one.
    let site_ok = h
        .get_all("sec-fetch-site")
        .iter()
        .all(|s| matches!(s.to_str().unwrap_or(""), "same-origin" | "none"));
    !(origin_ok && referer_ok && site_ok)
}

/// State-changing API calls must come from the portal's own pages. Browsers send
/// `Origin` on every POST and `Sec-Fetch-Site` on every request; either one
/// naming another site is refused, as is a `Referer` from another site when
/// there is no `Origin`. Non-browser clients send none and carry no victim's
/// cookies. A declared body over the API's limit is refused here too, for
/// endpoints that read none.
pub async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let h = req.headers();
        let too_big = h
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > crate::json::MAX_BODY);
        let refusal = if too_big {
            // Whatever the endpoint, even one that reads no body.
            Some(ApiError::PayloadTooLarge)
        } else if from_elsewhere(&state.public_origin, h) {
            Some(ApiError::CrossOrigin)
        } else {
            None
        };
        if let Some(e) = refusal {
            // Most clients send their whole body before they read: read and
            // drop a bounded part of it first, so they get this answer rather
            // than a reset connection. Then the connection closes, so none
            // reuses it with the rest of the body still on the wire.
            drain(req.into_body()).await;
            let mut r = e.into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
    }
    next.run(req).await
}

/// The most of a refused body read and dropped, and for how long.
const DRAIN_BYTES: usize = 4 << 20;
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(2);

async fn drain(body: axum::body::Body) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut read = 0usize;
    let _ = tokio::time::timeout(DRAIN_FOR, async {
        while read < DRAIN_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
    })
    .await;
}

/// The request timeout (`server.request_timeout_secs`). The handler runs in
/// a task of its own and always finishes: a reset that has claimed its flow
/// writes the password even if the client hangs up or the answer is late.
/// A late answer is `408 request.timeout`.
pub async fn deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = std::time::Duration::from_secs(state.config.server.request_timeout_secs.get());
    // The task keeps the request's span, so its lines name the request. Its
    // answer comes back through `tx`; one that comes too late is dropped
    // there, after its error (if any) is logged in the request's span.
    let (tx, mut rx) = tokio::sync::oneshot::channel::<Response>();
    let work = tokio::spawn(tracing::Instrument::in_current_span(async move {
        let resp = next.run(req).await;
        if let Err(mut late) = tx.send(resp) {
            crate::request_log::report(&mut late);
        }
    }));
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(())) => rx.try_recv().unwrap_or_else(|_| {
            ApiError::broken("the request's task gave no answer").into_response()
        }),
        Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Ok(Err(e)) => ApiError::from(e).into_response(),
        Err(_) => {
            // An answer sent between the timeout and here is late too.
            rx.close();
            if let Ok(mut late) = rx.try_recv() {
                crate::request_log::report(&mut late);
            }
            ApiError::RequestTimeout.into_response()
        }
    }
}
