//! Handlers. Each is one round trip; none leaks internals.

use std::any::Any;

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use sspr_proto::config::PasswordContext;
use sspr_proto::reset::{
    AnswersRequest, ChooseRequest, FlowRequest, FlowView, PasswordRequest, PowChallenge,
    StartRequest, VerifyRequest,
};
use sspr_proto::{Health, PublicConfig};

use crate::AppState;
use crate::assets;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::limits;
use crate::reset;
use crate::secret::Secret;
use crate::session;
use sspr_proto::security_info::{
    AddMethodRequest, ChangePasswordRequest, ConfirmRequest, Enrollment, MethodRequest,
    QuestionsRequest, ReauthRequest, RecoveryCodes, SecurityInfoView, StepUpChallenge,
    StepUpRequest, StepUpVerifyRequest,
};
use sspr_proto::session::{SessionView, SignInRequest};

use crate::security_info;

pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}

/// 200 when the store, the directory and the mail relay answer, else 503;
/// the same body either way (see [`crate::ready`]).
pub async fn ready(State(state): State<AppState>) -> Response {
    let r = crate::ready::readiness(&state).await;
    let status = if r.status == "ready" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(r)).into_response()
}

pub async fn public_config(State(state): State<AppState>) -> Json<PublicConfig> {
    Json(state.config.public_summary())
}

pub async fn api_not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn api_method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// A panic in a handler becomes a typed 500; the panic text stays in the log.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("panic");
    ApiError::Internal(crate::error::Cause::Panic(detail.to_string())).into_response()
}

pub async fn theme(State(state): State<AppState>, method: Method, headers: HeaderMap) -> Response {
    match &state.theme {
        Some(file) => assets::respond("theme.json", file.current().into(), None, &method, &headers),
        None => assets::serve(&state.assets, "theme.json", &method, &headers)
            .unwrap_or_else(not_found_text),
    }
}

/// The operator's branding folder (`theme.branding_dir`): images and fonts
/// only, by extension, each with its own fixed type. Anything else, a hidden
/// file, or a symlink that leads out of the folder, is a 404 as if missing.
/// A file the operator does not supply falls back to the built-in `branding/`.
pub async fn branding(
    State(state): State<AppState>,
    Path(file): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let Some(mime) = assets::branding_type(&file) else {
        return not_found_text();
    };
    let operator = state
        .config
        .theme
        .branding_dir
        .as_deref()
        .and_then(|dir| assets::branding_file(dir, &file));
    let r = match operator {
        Some(bytes) => Some(assets::respond_as(
            mime,
            &file,
            bytes.into(),
            None,
            &method,
            &headers,
        )),
        None => assets::serve(
            &state.assets,
            &format!("branding/{file}"),
            &method,
            &headers,
        ),
    };
    match r {
        Some(mut r) => {
            // Opened on its own, an SVG runs no script and loads nothing.
            r.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(assets::BRANDING_CSP),
            );
            r
        }
        None => not_found_text(),
    }
}

fn not_found_text() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Not found",
    )
        .into_response()
}

/// Client-side routes of the apps other than the reset app, and the shell
/// each is served: sign-in and security info (`account.html`), usage &
/// insights (`insights.html`).
const APP_ROUTES: &[(&str, &str)] = &[
    ("signin", "account.html"),
    ("security-info", "account.html"),
    ("theme-preview", "account.html"),
    ("insights", "insights.html"),
];

/// The app shells.
const PAGES: &[&str] = &["index.html", "account.html", "insights.html"];

/// A page's `Link: rel=preload` hints for what its wasm fetches first:
/// the theme and the catalog of the language the page will start in. The
/// browser fetches them while the wasm downloads, not after it starts, so
/// the first paint waits one round trip less.
///
/// The language is the SPA's own choice as far as the server can see it:
/// `?lng=`, else `Accept-Language` (which mirrors `navigator.languages`),
/// else the portal's default language.
/// A reader's earlier pick lives in the browser only; then the hint misses
/// and the SPA fetches its catalog as before.
fn with_page_hints(
    mut r: Response,
    uri: &Uri,
    headers: &HeaderMap,
    default: &'static str,
) -> Response {
    let asked = uri
        .query()
        .and_then(sspr_proto::i18n::lng_param)
        .and_then(sspr_proto::i18n::supported);
    // Then the reader's pick from the picker, which the SPA keeps in a
    // cookie for this: without it the hint would name the browser's
    // language and the SPA would fetch its catalog a second time.
    let picked = || {
        crate::session::cookie(headers, sspr_proto::i18n::PICK_COOKIE)
            .and_then(sspr_proto::i18n::supported)
    };
    let code = asked
        .or_else(picked)
        .unwrap_or_else(|| crate::i18n::for_request(headers, default));
    // `crossorigin` makes each hint a same-origin CORS fetch, as the SPA's
    // own fetch() is, so the browser reuses the response.
    let link = format!(
        "</theme.json>; rel=preload; as=fetch; crossorigin, \
         </locales/{code}.json>; rel=preload; as=fetch; crossorigin"
    );
    if let Ok(v) = HeaderValue::from_str(&link) {
        r.headers_mut().insert(header::LINK, v);
        r.headers_mut().append(
            header::VARY,
            HeaderValue::from_static("Accept-Language, Cookie"),
        );
    }
    r
}

/// A built file if one matches; otherwise the app shell for client-side routes
/// (paths whose last segment has no extension); otherwise a plain 404.
pub async fn static_or_spa(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if !matches!(method, Method::GET | Method::HEAD) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, HeaderValue::from_static("GET, HEAD"))],
        )
            .into_response();
    }
    let path = uri.path().trim_start_matches('/');
    // `/api/` and friends miss the nested router but are still API paths.
    if path == "api" || path.starts_with("api/") {
        return ApiError::NotFound.into_response();
    }
    let path = if path.is_empty() { "index.html" } else { path };
    if let Some(r) = assets::serve(&state.assets, path, &method, &headers) {
        return if PAGES.contains(&path) {
            with_page_hints(r, &uri, &headers, state.config.default_locale())
        } else {
            r
        };
    }
    let last = path.rsplit('/').next().unwrap_or(path);
    if !last.contains('.') {
        // Sign-in and security info, and the insights, are apps of their
        // own, so the reset page never loads their code.
        let page = APP_ROUTES
            .iter()
            .find(|(p, _)| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
            .map_or("index.html", |(_, page)| page);
        if let Some(r) = assets::serve(&state.assets, page, &method, &headers)
            .or_else(|| assets::serve(&state.assets, "index.html", &method, &headers))
        {
            return with_page_hints(r, &uri, &headers, state.config.default_locale());
        }
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "The portal's web app is not built. Run `cargo xtask demo`, or set server.assets_dir.",
        )
            .into_response();
    }
    not_found_text()
}

pub use crate::client_ip::ClientIp;

pub(crate) async fn step_limit(state: &AppState, ip: &ClientIp) -> Result<(), ApiError> {
    let budget = (
        "flow",
        state.config.reset.steps_per_ip.get(),
        limits::WINDOW,
    );
    state
        .limits
        .hit(&ip.limit_key(), budget, state.clock.now())
        .await
}

/// A signed-in caller of a state-changing security-info call: the per-IP
/// budget is charged, then the session is required.
pub struct SignedIn {
    pub session: session::Session,
    /// The client's address, for audit records.
    pub ip: String,
    /// The client, for per-IP limits (IPv6 by /64).
    pub limit_key: String,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Ok(ip) = ClientIp::from_request_parts(parts, state).await;
        step_limit(state, &ip).await?;
        let session = session::require(state, &parts.headers).await?;
        Ok(SignedIn {
            session,
            ip: ip.audit(),
            limit_key: ip.limit_key(),
        })
    }
}

/// The body of a call that takes no fields: `{}`, and nothing else.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

pub async fn reset_challenge(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(NoFields {}): ApiJson<NoFields>,
) -> Result<Json<PowChallenge>, ApiError> {
    let budget = (
        "identify",
        state.config.reset.identify_per_ip.get(),
        limits::WINDOW,
    );
    state
        .limits
        .hit(&ip.limit_key(), budget, state.clock.now())
        .await?;
    Ok(Json(reset::pow::issue(&state).await?))
}

pub async fn reset_start(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<StartRequest>,
) -> Result<Json<FlowView>, ApiError> {
    // The identify budget was charged when the challenge was issued; a start
    // without a fresh challenge fails its proof of work.
    step_limit(&state, &ip).await?;
    reset::pow::redeem(&state, &req.pow).await?;
    let started = tokio::time::Instant::now();
    let result = reset::start(&state, &req.identifier, &ip.audit()).await;
    // Known, unknown and blocked accounts answer after the same floor, and
    // the floor follows the slowest recent look-up (see `pacing`).
    state.paces.identify.wait(started).await;
    result.map(Json)
}

pub async fn reset_state(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<FlowRequest>,
) -> Result<Json<FlowView>, ApiError> {
    step_limit(&state, &ip).await?;
    reset::current(&state, &req.flow).await.map(Json)
}

pub async fn reset_choose(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<ChooseRequest>,
) -> Result<Json<FlowView>, ApiError> {
    step_limit(&state, &ip).await?;
    reset::choose(&state, &req.flow, &req.method)
        .await
        .map(Json)
}

pub async fn reset_resend(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<FlowRequest>,
) -> Result<Json<FlowView>, ApiError> {
    step_limit(&state, &ip).await?;
    reset::resend(&state, &req.flow).await.map(Json)
}

pub async fn reset_back(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<FlowRequest>,
) -> Result<Json<FlowView>, ApiError> {
    step_limit(&state, &ip).await?;
    reset::back(&state, &req.flow).await.map(Json)
}

pub async fn reset_verify(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> Result<Json<FlowView>, ApiError> {
    step_limit(&state, &ip).await?;
    reset::verify(&state, &req.flow, &req.code).await.map(Json)
}

pub async fn reset_answers(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<AnswersRequest>,
) -> Result<Json<FlowView>, ApiError> {
    step_limit(&state, &ip).await?;
    reset::answer(&state, &req.flow, &req.answers)
        .await
        .map(Json)
}

pub async fn reset_password(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<PasswordRequest>,
) -> Result<Json<FlowView>, ApiError> {
    step_limit(&state, &ip).await?;
    reset::set_password(&state, &req.flow, &Secret::new(req.password))
        .await
        .map(Json)
}

pub async fn reset_unlock(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<FlowRequest>,
) -> Result<Json<FlowView>, ApiError> {
    step_limit(&state, &ip).await?;
    reset::unlock(&state, &req.flow).await.map(Json)
}

pub async fn session_sign_in(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SignInRequest>,
) -> Result<Response, ApiError> {
    step_limit(&state, &ip).await?;
    let presented = session::token(&headers);
    let (token, view) = session::sign_in(
        &state,
        &req.username,
        &Secret::new(req.password),
        presented.as_deref(),
        &ip.audit(),
    )
    .await?;
    let mut r = Json(view).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session::set_cookie(&token));
    Ok(r)
}

/// Who is signed in: `null` when nobody is (a question, not a protected resource).
pub async fn session_current(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Option<SessionView>>, ApiError> {
    match session::current(&state, &headers).await {
        Ok(v) => Ok(Json(Some(v))),
        Err(ApiError::SessionRequired) => Ok(Json(None)),
        Err(e) => Err(e),
    }
}

pub async fn session_sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    session::sign_out(&state, &headers).await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie());
    Ok(r)
}

pub async fn session_reauth(
    State(state): State<AppState>,
    SignedIn { mut session, .. }: SignedIn,
    ApiJson(req): ApiJson<ReauthRequest>,
) -> Result<Json<SecurityInfoView>, ApiError> {
    session::reauthenticate(&state, &session, &Secret::new(req.password)).await?;
    session.auth_at = state.clock.now();
    security_info::view(&state, &session).await.map(Json)
}

/// The signed-in user's security info, or `null` when nobody is signed in
/// (like `GET /api/session`, a question rather than a refusal).
pub async fn security_info(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Option<SecurityInfoView>>, ApiError> {
    let s = match session::require(&state, &headers).await {
        Ok(s) => s,
        Err(ApiError::SessionRequired) => return Ok(Json(None)),
        Err(e) => return Err(e),
    };
    security_info::view(&state, &s).await.map(|v| Json(Some(v)))
}

pub async fn security_info_review(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(NoFields {}): ApiJson<NoFields>,
) -> Result<Json<SecurityInfoView>, ApiError> {
    security_info::review(&state, &me.session, &me.ip)
        .await
        .map(Json)
}

pub async fn method_start(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(req): ApiJson<AddMethodRequest>,
) -> Result<Json<Enrollment>, ApiError> {
    security_info::start(&state, &me.session, &me.limit_key, req)
        .await
        .map(Json)
}

pub async fn method_confirm(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(req): ApiJson<ConfirmRequest>,
) -> Result<Json<SecurityInfoView>, ApiError> {
    security_info::confirm(&state, &me.session, &me.ip, &req.enrollment, &req.code)
        .await
        .map(Json)
}

pub async fn method_remove(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(req): ApiJson<MethodRequest>,
) -> Result<Json<SecurityInfoView>, ApiError> {
    security_info::remove(&state, &me.session, &me.ip, &req.method)
        .await
        .map(Json)
}

pub async fn method_default(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(req): ApiJson<MethodRequest>,
) -> Result<Json<SecurityInfoView>, ApiError> {
    security_info::set_default(&state, &me.session, &me.ip, &req.method)
        .await
        .map(Json)
}

pub async fn recovery_codes(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(NoFields {}): ApiJson<NoFields>,
) -> Result<Response, ApiError> {
    let codes: RecoveryCodes =
        security_info::new_recovery_codes(&state, &me.session, &me.ip).await?;
    let mut r = Json(codes).into_response();
    // Shown once: never cached anywhere.
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The live checklist's context for the signed-in user's new password.
pub async fn password_context(
    State(state): State<AppState>,
    me: SignedIn,
) -> Result<Json<PasswordContext>, ApiError> {
    crate::password::context(&state, &me.session.user)
        .await
        .map(Json)
}

pub async fn change_password(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    security_info::change_password(
        &state,
        &me.session,
        &me.ip,
        &Secret::new(req.current),
        &Secret::new(req.new),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn security_questions(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(req): ApiJson<QuestionsRequest>,
) -> Result<Json<SecurityInfoView>, ApiError> {
    security_info::set_questions(&state, &me.session, &me.ip, &req.answers)
        .await
        .map(Json)
}

/// Starts proving an existing method before changing security info.
pub async fn stepup_start(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(req): ApiJson<StepUpRequest>,
) -> Result<Json<StepUpChallenge>, ApiError> {
    crate::stepup::start(&state, &me.session, &me.limit_key, &req.method)
        .await
        .map(Json)
}

/// Proves it; the session may then change security info for 10 minutes.
pub async fn stepup_verify(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(req): ApiJson<StepUpVerifyRequest>,
) -> Result<Json<SecurityInfoView>, ApiError> {
    crate::stepup::verify(&state, &me.session, &me.ip, &req.code)
        .await
        .map(Json)
}
