//! `GET /api/insights`, `/api/insights/events` and
//! `/api/insights/export.csv`. Each answers only [`Viewer`]s: the request
//! is same-origin even though it is a GET (a download link from another
//! site gets nothing, cookie or not), within the per-IP budget, signed in,
//! and [`authorize`]d. Every view and export is audited.

use std::collections::HashMap;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use sspr_proto::insights::{EventFilter, EventPage, EventResult, Insights};

use super::{EXPORTED, MAX_DAYS, VIEWED, authorize, csv, describe_filter, record};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::SignedIn;
use crate::session::Session;

/// An administrator allowed to see Usage & insights.
pub struct Viewer {
    pub session: Session,
    /// The client's address, for the audit record.
    pub ip: String,
}

impl std::fmt::Debug for Viewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Viewer")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if crate::security::from_elsewhere(&state.public_origin, &parts.headers) {
            return Err(ApiError::CrossOrigin);
        }
        let SignedIn { session, ip, .. } = SignedIn::from_request_parts(parts, state).await?;
        match authorize(state, &session).await {
            Ok(()) => Ok(Viewer { session, ip }),
            Err(e) => {
                // Someone who is no administrator (or a pass session) at the
                // administrators' door is worth a record; an administrator
                // yet to prove a second method is not.
                if !matches!(e, ApiError::TwoMethodsRequired) {
                    super::record_refusal(state, &session, &ip, &e).await;
                }
                Err(e)
            }
        }
    }
}

/// The query string's parameters: only `allowed` ones, each at most once.
fn params(uri: &Uri, allowed: &[&str]) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(ApiError::InvalidField {
                field: "query".into(),
                reason: format!("takes only {}", allowed.join(", ")),
            });
        }
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(ApiError::InvalidField {
                field: k.into_owned(),
                reason: "given more than once".into(),
            });
        }
    }
    Ok(out)
}

/// `days`: 1 to [`MAX_DAYS`], [`super::DEFAULT_DAYS`] when absent or empty.
fn days(p: &HashMap<String, String>) -> Result<u16, ApiError> {
    match p.get("days").map(|d| d.trim()).filter(|d| !d.is_empty()) {
        None => Ok(super::DEFAULT_DAYS),
        Some(d) => d
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=MAX_DAYS).contains(n))
            .ok_or_else(|| ApiError::InvalidField {
                field: "days".into(),
                reason: format!("must be 1 to {MAX_DAYS}"),
            }),
    }
}

/// The events filter: empty values are no filter.
fn filter(p: &HashMap<String, String>) -> Result<EventFilter, ApiError> {
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match p.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) if v.chars().count() > 256 => Err(ApiError::InvalidField {
                field: name.into(),
                reason: "must be at most 256 characters".into(),
            }),
            Some(v) => Ok(Some(v.to_string())),
        }
    };
    let result = match text("result")?.as_deref() {
        None => None,
        Some("success") => Some(EventResult::Success),
        Some("failure") => Some(EventResult::Failure),
        Some(_) => {
            return Err(ApiError::InvalidField {
                field: "result".into(),
                reason: "must be success or failure".into(),
            });
        }
    };
    Ok(EventFilter {
        user: text("user")?,
        activity: text("activity")?,
        result,
    })
}

/// `GET /api/insights?days=N`: the figures.
pub async fn figures(
    State(state): State<AppState>,
    v: Viewer,
    uri: Uri,
) -> Result<Json<Insights>, ApiError> {
    let days = days(&params(&uri, &["days"])?)?;
    let figures = super::compute(&state, days).await?;
    let detail = format!("figures for {days} day(s)");
    record(
        &state,
        VIEWED,
        &v.session.user.username,
        None,
        &v.ip,
        &detail,
    )
    .await;
    Ok(Json(figures))
}

/// `GET /api/insights/events?user=&activity=&result=`: the newest events.
pub async fn events(
    State(state): State<AppState>,
    v: Viewer,
    uri: Uri,
) -> Result<Json<EventPage>, ApiError> {
    let f = filter(&params(&uri, &["user", "activity", "result"])?)?;
    let page = super::events(&state, &f).await?;
    let (target, described) = describe_filter(&state, &f).await;
    let detail = format!("audit events: {described}");
    record(
        &state,
        VIEWED,
        &v.session.user.username,
        target.as_deref(),
        &v.ip,
        &detail,
    )
    .await;
    Ok(Json(page))
}

/// `GET /api/insights/export.csv?what=events|not_registered|activity`,
/// with the events filter and `days`: a CSV file to download.
pub async fn export(
    State(state): State<AppState>,
    v: Viewer,
    uri: Uri,
) -> Result<Response, ApiError> {
    let p = params(&uri, &["what", "user", "activity", "result", "days"])?;
    let days = days(&p)?;
    let now = state.clock.now();
    let today = super::date_of_day(super::day_of(now));
    let what = p.get("what").map_or("", String::as_str);
    let (name, body, rows, target, detail) = match what {
        "events" => {
            // Streamed a page at a time, so an export of a large trail never
            // sits in memory; audited once it has all gone out.
            let f = filter(&p)?;
            let since = super::window_start(now, days);
            let (target, described) = describe_filter(&state, &f).await;
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, ApiError>>(2);
            let actor = v.session.user.username.clone();
            let ip = v.ip.clone();
            let state = state.clone();
            tokio::spawn(async move {
                let mut cursor = super::EventCursor::from(since);
                let mut rows = 0u64;
                let mut chunk = csv::events_header();
                loop {
                    let page = match super::events_page(&state, &f, &mut cursor, now + 1).await {
                        Ok(page) => page,
                        Err(e) => {
                            tracing::error!(error = %e, "an events export stopped");
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    };
                    for e in &page {
                        chunk.push_str(&csv::event_row(e));
                    }
                    rows += page.len() as u64;
                    let last = (page.len() as i64) < super::EXPORT_PAGE;
                    if tx
                        .send(Ok(Bytes::from(std::mem::take(&mut chunk))))
                        .await
                        .is_err()
                    {
                        return; // The client went away.
                    }
                    if last {
                        break;
                    }
                }
                let detail = format!("events as CSV, {days} day(s), {rows} row(s); {described}");
                record(&state, EXPORTED, &actor, target.as_deref(), &ip, &detail).await;
            });
            let body = Body::new(ChannelBody(rx));
            return Ok(attachment(body, "audit-events", &today));
        }
        "not_registered" => {
            let (coverage, _) = super::coverage(&state).await?;
            let n = coverage.not_registered.len() as u64;
            let body = csv::users(&coverage.not_registered);
            (
                "not-registered",
                body,
                n,
                None::<String>,
                "no filter".to_string(),
            )
        }
        "activity" => {
            let days_list = super::activity(&state, days, now).await?;
            let n = days_list.len() as u64;
            (
                "activity",
                csv::activity(&days_list),
                n,
                None,
                "no filter".to_string(),
            )
        }
        _ => {
            return Err(ApiError::InvalidField {
                field: "what".into(),
                reason: "must be events, not_registered or activity".into(),
            });
        }
    };
    let detail = format!("{what} as CSV, {days} day(s), {rows} row(s); {detail}");
    record(
        &state,
        EXPORTED,
        &v.session.user.username,
        target.as_deref(),
        &v.ip,
        &detail,
    )
    .await;
    Ok(attachment(Body::from(body), name, &today))
}

/// A CSV download named `sspr-{name}-{today}.csv`.
fn attachment(body: Body, name: &str, today: &str) -> Response {
    let disposition = format!("attachment; filename=\"sspr-{name}-{today}.csv\"");
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(csv::CONTENT_TYPE),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// A response body fed, chunk by chunk, by the task that reads the export.
struct ChannelBody(tokio::sync::mpsc::Receiver<Result<Bytes, ApiError>>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = ApiError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, ApiError>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| c.map(http_body::Frame::data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(q: &str) -> Uri {
        format!("/api/insights?{q}").parse().unwrap()
    }

    #[test]
    fn query_strings_are_strict() {
        let p = params(&uri("days=7"), &["days"]).unwrap();
        assert_eq!(days(&p).unwrap(), 7);
        assert_eq!(days(&params(&uri(""), &["days"]).unwrap()).unwrap(), 30);
        assert_eq!(
            days(&params(&uri("days="), &["days"]).unwrap()).unwrap(),
            30
        );
        for bad in ["days=0", "days=91", "days=x", "days=-1"] {
            let p = params(&uri(bad), &["days"]).unwrap();
            assert!(days(&p).is_err(), "{bad}");
        }
        assert!(params(&uri("days=1&days=2"), &["days"]).is_err());
        assert!(params(&uri("nope=1"), &["days"]).is_err());
        let p = params(
            &uri("user=bob%40example.com&activity=&result=failure"),
            &["user", "activity", "result"],
        )
        .unwrap();
        let f = filter(&p).unwrap();
        assert_eq!(f.user.as_deref(), Some("bob@example.com"));
        assert_eq!(f.activity, None);
        assert_eq!(f.result, Some(EventResult::Failure));
        let p = params(&uri("result=maybe"), &["result"]).unwrap();
        assert!(filter(&p).is_err());
    }
}
