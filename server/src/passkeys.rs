//! The passkey endpoints: adding, naming and renaming passkeys in security
//! info (removing one is removing its method), signing in with a passkey
//! alone, and the reset gate's ceremony. The ceremonies themselves are in
//! [`crate::methods::passkey`]; the gate's proof runs through the reset
//! flow's proof (throttles, audit, metrics) like any other.
//!
//! - Adding one follows the rules of adding any method: the first may be
//!   added by the session that signed in; once the user has a method that
//!   proves who they are, the session must have proved one within 10
//!   minutes (or be a Temporary Access Pass session).
//! - A sign-in ceremony is bound to a `__Host-` cookie set when it begins,
//!   so its id alone, taken elsewhere, finishes nothing.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sspr_proto::passkey::{
    PasskeyAssertion, PasskeyChallenge, PasskeyRegistration, PasskeyRename, clean_name,
};
use sspr_proto::reset::{FlowRequest, FlowView, MethodKind};
use sspr_proto::security_info::{SecurityInfoView, SignedInWith};
use sspr_proto::session::SessionView;

use crate::AppState;
use crate::client_ip::ClientIp;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::methods;
use crate::methods::passkey::{self as ceremony, Asserted};
use crate::ports::{NewSession, PasskeyStore, Purpose, SessionStore};
use crate::reset;
use crate::routes::{NoFields, SignedIn, step_limit};
use crate::security_info;
use crate::session::{self, Session};

/// The cookie a sign-in ceremony is bound to.
pub const SIGN_IN_COOKIE: &str = "__Host-sspr_passkey";

fn offered(state: &AppState) -> Result<(), ApiError> {
    if methods::kind_available(state, MethodKind::Passkey) {
        Ok(())
    } else {
        Err(ApiError::InvalidField {
            field: "kind".into(),
            reason: "passkeys are not offered by this portal".into(),
        })
    }
}

fn name_of(typed: &str) -> Result<String, ApiError> {
    clean_name(typed).ok_or_else(|| ApiError::InvalidField {
        field: "name".into(),
        reason: format!("must be 1 to {} characters", sspr_proto::passkey::NAME_MAX),
    })
}

/// Begins adding a passkey, if security info's rules let the user add one
/// now (see [`security_info::may_add_passkey`]).
pub async fn register_begin(
    state: &AppState,
    s: &Session,
    ip: &str,
) -> Result<PasskeyChallenge, ApiError> {
    security_info::may_add_passkey(state, s, ip).await?;
    let existing = state.store.passkeys_of(&s.user.id).await?;
    let (ceremony, options) =
        ceremony::begin_registration(state, &s.hash, &s.user, &existing).await?;
    Ok(PasskeyChallenge { ceremony, options })
}

/// Finishes adding a passkey, under the name the user gave it: the
/// ceremony is checked here, the change is security info's.
pub async fn register_finish(
    state: &AppState,
    s: &Session,
    ip: &str,
    req: &PasskeyRegistration,
) -> Result<SecurityInfoView, ApiError> {
    offered(state)?;
    let name = name_of(&req.name)?;
    let made =
        ceremony::finish_registration(state, &s.hash, &s.user.id, &req.ceremony, &req.credential)
            .await?;
    security_info::add_passkey(state, s, ip, &name, &made).await
}

/// Renames one of the user's passkeys.
pub async fn rename(
    state: &AppState,
    s: &Session,
    ip: &str,
    req: &PasskeyRename,
) -> Result<SecurityInfoView, ApiError> {
    let name = name_of(&req.name)?;
    security_info::rename_passkey(state, s, ip, &req.method, &name).await
}

/// Begins signing in with a passkey: the ceremony, and the cookie token it
/// is bound to.
pub async fn sign_in_begin(state: &AppState) -> Result<(String, PasskeyChallenge), ApiError> {
    offered(state)?;
    let token = state.entropy.hex_id(32);
    let (ceremony, options) =
        ceremony::begin_assertion(state, Purpose::SignIn, &session::hash(&token)).await?;
    Ok((token, PasskeyChallenge { ceremony, options }))
}

/// Finishes signing in with a passkey alone: its user handle names the
/// user. A new session (any presented one is dropped), proved with a
/// method, so it may change security info for the next 10 minutes.
pub async fn sign_in_finish(
    state: &AppState,
    bound: Option<&str>,
    presented: Option<&str>,
    req: &PasskeyAssertion,
) -> Result<(String, SessionView), ApiError> {
    offered(state)?;
    if let Some(old) = presented {
        state.store.delete_session(&session::hash(old)).await?;
    }
    let bound = bound.ok_or(ApiError::PasskeyExpired)?;
    let asserted = ceremony::assert(
        state,
        Purpose::SignIn,
        &session::hash(bound),
        &req.ceremony,
        &req.credential,
    )
    .await?;
    let Asserted::Passed(p) = asserted else {
        return Err(ApiError::PasskeyRefused);
    };
    let user = state
        .directory
        .user_by_id(&p.user_id)
        .await?
        .filter(|u| u.enabled)
        .ok_or(ApiError::PasskeyRefused)?;
    let epoch = state.store.session_epoch(&user.id).await?;
    let token = state.entropy.hex_id(32);
    let hash = session::hash(&token);
    let now = state.clock.now();
    state
        .store
        .insert_session(&NewSession {
            hash: &hash,
            user_id: &user.id,
            created: now,
            expires: now + session::LIFETIME,
            via: SignedInWith::Passkey,
            epoch,
            pass_id: None,
        })
        .await?;
    session::mark_proved(state, &hash, MethodKind::Passkey).await?;
    Ok((
        token,
        SessionView {
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            is_admin: user.is_admin,
            proven: Vec::new(),
        },
    ))
}

fn sign_in_cookie(token: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SIGN_IN_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age}"
    ))
    .expect("hex token is a valid header")
}

// --- HTTP ---

pub async fn http_register_begin(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(NoFields {}): ApiJson<NoFields>,
) -> Result<Json<PasskeyChallenge>, ApiError> {
    register_begin(&state, &me.session, &me.ip).await.map(Json)
}

pub async fn http_register_finish(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(req): ApiJson<PasskeyRegistration>,
) -> Result<Json<SecurityInfoView>, ApiError> {
    register_finish(&state, &me.session, &me.ip, &req)
        .await
        .map(Json)
}

pub async fn http_rename(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(req): ApiJson<PasskeyRename>,
) -> Result<Json<SecurityInfoView>, ApiError> {
    rename(&state, &me.session, &me.ip, &req).await.map(Json)
}

pub async fn http_sign_in_begin(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(NoFields {}): ApiJson<NoFields>,
) -> Result<Response, ApiError> {
    step_limit(&state, &ip).await?;
    let (token, challenge) = sign_in_begin(&state).await?;
    let mut r = Json(challenge).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        sign_in_cookie(&token, ceremony::CEREMONY_LIFETIME),
    );
    Ok(r)
}

pub async fn http_sign_in_finish(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PasskeyAssertion>,
) -> Result<Response, ApiError> {
    step_limit(&state, &ip).await?;
    let bound = session::cookie(&headers, SIGN_IN_COOKIE);
    let presented = session::token(&headers);
    let (token, view) = sign_in_finish(&state, bound, presented.as_deref(), &req).await?;
    let mut r = Json(view).into_response();
    let h = r.headers_mut();
    h.append(header::SET_COOKIE, session::set_cookie(&token));
    h.append(header::SET_COOKIE, sign_in_cookie("", 0));
    Ok(r)
}

pub async fn http_reset_begin(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<FlowRequest>,
) -> Result<Json<PasskeyChallenge>, ApiError> {
    step_limit(&state, &ip).await?;
    reset::passkey_begin(&state, &req.flow).await.map(Json)
}

pub async fn http_reset_finish(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<PasskeyAssertion>,
) -> Result<Json<FlowView>, ApiError> {
    step_limit(&state, &ip).await?;
    let flow = req.flow.as_deref().ok_or_else(|| ApiError::InvalidField {
        field: "flow".into(),
        reason: "a reset's passkey names its flow".into(),
    })?;
    reset::passkey(&state, flow, &req.ceremony, &req.credential)
        .await
        .map(Json)
}
