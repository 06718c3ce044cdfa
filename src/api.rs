//! The typed API client. Every non-2xx answer becomes [`ApiError::Api`] with
//! the server's stable message id; transport trouble is its own variant.

use gloo_net::http::Request;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sspr_proto::{ApiErrorBody, ErrorDetail, ErrorId, Health, PublicConfig};

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The server answered with a typed error.
    Api { status: u16, detail: ErrorDetail },
    /// The request never got an answer (offline, server down).
    Network(String),
    /// The answer was not what this build of the SPA understands.
    Decode(String),
    /// A field failed the page's own check, before any request: the text's
    /// catalog key and the id of the field on the page.
    Invalid {
        key: &'static str,
        field: &'static str,
    },
}

impl ApiError {
    /// Builds the error for a non-2xx answer from its status and body text.
    pub fn from_status_body(status: u16, body: &str) -> ApiError {
        match serde_json::from_str::<ApiErrorBody>(body) {
            Ok(b) => ApiError::Api {
                status,
                detail: b.error,
            },
            Err(_) => {
                let id = if status >= 500 {
                    ErrorId::Unavailable
                } else {
                    ErrorId::Unknown
                };
                ApiError::Api {
                    status,
                    detail: ErrorDetail {
                        id,
                        message: String::new(),
                        field: None,
                        retry_after: None,
                    },
                }
            }
        }
    }

    /// The stable message id, for translation and tests.
    pub fn id(&self) -> ErrorId {
        match self {
            ApiError::Api { detail, .. } => detail.id,
            ApiError::Network(_) => ErrorId::Unavailable,
            ApiError::Decode(_) => ErrorId::Unknown,
            ApiError::Invalid { .. } => ErrorId::InvalidField,
        }
    }

    /// The page's field at fault, when the page itself found it.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            ApiError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// Words for people, in the page's language, by the stable id. An id
    /// this build does not know keeps the server's own (localised) words.
    pub fn message(&self) -> String {
        match self {
            ApiError::Api { detail, .. } if detail.id == ErrorId::Unknown => {
                if detail.message.is_empty() {
                    crate::texts::t(ErrorId::Unknown.message_key())
                } else {
                    detail.message.clone()
                }
            }
            ApiError::Network(_) => crate::texts::t("error.network"),
            ApiError::Invalid { key, .. } => crate::texts::t(key),
            other => crate::texts::t(other.id().message_key()),
        }
    }
}

/// The answer to a request: its status and body text. One non-generic
/// future for every call, so the fetch machinery is in the wasm once rather
/// than once per answer type.
struct Answer {
    status: u16,
    text: Result<String, gloo_net::Error>,
}

async fn send(req: Result<Request, ApiError>) -> Result<Answer, ApiError> {
    let resp = req?
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    Ok(Answer {
        status: resp.status(),
        text: resp.text().await,
    })
}

/// A success's body text, or the typed error of any other answer.
fn success_text(answer: Answer) -> Result<String, ApiError> {
    let text = answer.text.map_err(|e| ApiError::Network(e.to_string()))?;
    if !(200..300).contains(&answer.status) {
        return Err(ApiError::from_status_body(answer.status, &text));
    }
    Ok(text)
}

fn decode<T: DeserializeOwned>(answer: Answer) -> Result<T, ApiError> {
    serde_json::from_str(&success_text(answer)?).map_err(|e| ApiError::Decode(e.to_string()))
}

fn get_request(path: &str) -> Result<Request, ApiError> {
    Request::get(path)
        .header("Accept", "application/json")
        .header("Accept-Language", crate::texts::current_untracked())
        .build()
        .map_err(|e| ApiError::Network(e.to_string()))
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    decode(send(get_request(path)).await?)
}

/// A POST of `body`, already JSON (what gloo-net's `.json` does, done
/// before the one shared future).
fn post_request<B: Serialize>(path: &str, body: &B) -> Result<Request, ApiError> {
    let json = serde_json::to_string(body).map_err(|e| ApiError::Decode(e.to_string()))?;
    post_json(path, json)
}

fn post_json(path: &str, json: String) -> Result<Request, ApiError> {
    Request::post(path)
        .header("Accept", "application/json")
        .header("Accept-Language", crate::texts::current_untracked())
        .header("Content-Type", "application/json")
        .body(json)
        .map_err(|e| ApiError::Decode(e.to_string()))
}

pub async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    decode(send(post_request(path, body)).await?)
}

/// A POST whose success has no body (204).
pub async fn post_no_content<B: Serialize>(path: &str, body: &B) -> Result<(), ApiError> {
    no_content(send(post_request(path, body)).await?)
}

fn no_content(answer: Answer) -> Result<(), ApiError> {
    if (200..300).contains(&answer.status) {
        return Ok(());
    }
    Err(ApiError::from_status_body(
        answer.status,
        &answer.text.unwrap_or_default(),
    ))
}

pub async fn health() -> Result<Health, ApiError> {
    get("/api/health").await
}

pub async fn config() -> Result<PublicConfig, ApiError> {
    get("/api/config").await
}

/// The reset wizard's calls: one round trip per user action, typed requests
/// from `proto` (no `serde_json::Value` in the bundle).
pub mod reset {
    use sspr_proto::reset::{
        AnswersRequest, ChooseRequest, FlowRequest, FlowView, PasswordRequest, PowChallenge,
        PowSolution, StartRequest, VerifyRequest,
    };

    use super::{ApiError, post};

    /// An empty JSON object body.
    #[derive(serde::Serialize)]
    struct Empty {}

    fn flow(flow: &str) -> FlowRequest {
        FlowRequest {
            flow: flow.to_string(),
        }
    }

    pub async fn challenge() -> Result<PowChallenge, ApiError> {
        post("/api/reset/challenge", &Empty {}).await
    }

    pub async fn start(identifier: String, pow: PowSolution) -> Result<FlowView, ApiError> {
        post("/api/reset/start", &StartRequest { identifier, pow }).await
    }

    pub async fn state(id: &str) -> Result<FlowView, ApiError> {
        post("/api/reset/state", &flow(id)).await
    }

    pub async fn choose(id: &str, method: &str) -> Result<FlowView, ApiError> {
        post(
            "/api/reset/choose",
            &ChooseRequest {
                flow: id.to_string(),
                method: method.to_string(),
            },
        )
        .await
    }

    pub async fn verify(id: &str, code: &str) -> Result<FlowView, ApiError> {
        post(
            "/api/reset/verify",
            &VerifyRequest {
                flow: id.to_string(),
                code: code.to_string(),
            },
        )
        .await
    }

    pub async fn answers(id: &str, answers: Vec<String>) -> Result<FlowView, ApiError> {
        post(
            "/api/reset/answers",
            &AnswersRequest {
                flow: id.to_string(),
                answers,
            },
        )
        .await
    }

    pub async fn resend(id: &str) -> Result<FlowView, ApiError> {
        post("/api/reset/resend", &flow(id)).await
    }

    pub async fn back(id: &str) -> Result<FlowView, ApiError> {
        post("/api/reset/back", &flow(id)).await
    }

    pub async fn password(id: &str, password: &str) -> Result<FlowView, ApiError> {
        post(
            "/api/reset/password",
            &PasswordRequest {
                flow: id.to_string(),
                password: password.to_string(),
            },
        )
        .await
    }

    pub async fn unlock(id: &str) -> Result<FlowView, ApiError> {
        post("/api/reset/unlock", &flow(id)).await
    }
}

/// Portal sign-in.
pub mod session {
    use gloo_net::http::Request;
    use sspr_proto::session::{SessionView, SignInRequest};

    use super::{ApiError, get, no_content, post, send};

    pub async fn sign_in(username: String, password: String) -> Result<SessionView, ApiError> {
        post("/api/session", &SignInRequest { username, password }).await
    }

    /// Who is signed in; `None` when nobody is.
    pub async fn current() -> Result<Option<SessionView>, ApiError> {
        get("/api/session").await
    }

    pub async fn sign_out() -> Result<(), ApiError> {
        let req = Request::delete("/api/session")
            .build()
            .map_err(|e| ApiError::Network(e.to_string()));
        no_content(send(req).await?)
    }
}

/// Security info for the signed-in user: the view, enrollment, removal,
/// recovery codes and change of password.
pub mod security_info {
    use sspr_proto::config::PasswordContext;
    use sspr_proto::security_info::{
        AddMethodRequest, ChangePasswordRequest, ConfirmRequest, Enrollment, MethodRequest,
        QuestionAnswer, QuestionsRequest, ReauthRequest, RecoveryCodes, SecurityInfoView,
        StepUpChallenge, StepUpRequest, StepUpVerifyRequest,
    };

    use super::{ApiError, get, post, post_no_content};

    #[derive(serde::Serialize)]
    struct Empty {}

    fn method(id: &str) -> MethodRequest {
        MethodRequest {
            method: id.to_string(),
        }
    }

    /// The signed-in user's security info; `None` when nobody is signed in.
    pub async fn view() -> Result<Option<SecurityInfoView>, ApiError> {
        get("/api/security-info").await
    }

    pub async fn review() -> Result<SecurityInfoView, ApiError> {
        post("/api/security-info/review", &Empty {}).await
    }

    pub async fn start(req: AddMethodRequest) -> Result<Enrollment, ApiError> {
        post("/api/security-info/methods", &req).await
    }

    pub async fn confirm(enrollment: String, code: String) -> Result<SecurityInfoView, ApiError> {
        post(
            "/api/security-info/methods/confirm",
            &ConfirmRequest { enrollment, code },
        )
        .await
    }

    pub async fn remove(id: &str) -> Result<SecurityInfoView, ApiError> {
        post("/api/security-info/methods/remove", &method(id)).await
    }

    pub async fn make_default(id: &str) -> Result<SecurityInfoView, ApiError> {
        post("/api/security-info/methods/default", &method(id)).await
    }

    pub async fn questions(answers: Vec<QuestionAnswer>) -> Result<SecurityInfoView, ApiError> {
        post(
            "/api/security-info/questions",
            &QuestionsRequest { answers },
        )
        .await
    }

    pub async fn recovery_codes() -> Result<RecoveryCodes, ApiError> {
        post("/api/security-info/recovery-codes", &Empty {}).await
    }

    pub async fn reauth(password: String) -> Result<SecurityInfoView, ApiError> {
        post("/api/session/reauth", &ReauthRequest { password }).await
    }

    /// Starts proving one of the user's methods (a code is sent to an
    /// address or phone).
    pub async fn stepup(method: String) -> Result<StepUpChallenge, ApiError> {
        post("/api/session/stepup", &StepUpRequest { method }).await
    }

    pub async fn stepup_verify(code: String) -> Result<SecurityInfoView, ApiError> {
        post("/api/session/stepup/verify", &StepUpVerifyRequest { code }).await
    }

    /// The live checklist's context for the signed-in user.
    pub async fn password_context() -> Result<PasswordContext, ApiError> {
        get("/api/security-info/password").await
    }

    pub async fn change_password(current: String, new: String) -> Result<(), ApiError> {
        post_no_content(
            "/api/security-info/password",
            &ChangePasswordRequest { current, new },
        )
        .await
    }
}

/// Usage & insights, for administrators who proved two methods.
pub mod insights {
    use sspr_proto::insights::{EventFilter, EventPage, EventResult, Insights};

    use super::{ApiError, get};

    pub async fn figures(days: u16) -> Result<Insights, ApiError> {
        get(&format!("/api/insights?days={days}")).await
    }

    pub async fn events(filter: &EventFilter) -> Result<EventPage, ApiError> {
        get(&format!("/api/insights/events{}", query(filter, &[]))).await
    }

    /// Where the CSV of `what` (`events`, `not_registered`, `activity`)
    /// downloads from, with the page's filters.
    pub fn export_url(what: &str, filter: &EventFilter, days: u16) -> String {
        let days = days.to_string();
        format!(
            "/api/insights/export.csv{}",
            query(filter, &[("what", what), ("days", &days)])
        )
    }

    /// `?a=b&c=d`, percent-encoded, from the filter and `extra`.
    fn query(filter: &EventFilter, extra: &[(&str, &str)]) -> String {
        let result = filter.result.map(|r| match r {
            EventResult::Success => "success",
            EventResult::Failure => "failure",
        });
        let pairs: Vec<String> = extra
            .iter()
            .map(|(k, v)| (*k, Some(*v)))
            .chain([
                ("user", filter.user.as_deref()),
                ("activity", filter.activity.as_deref()),
                ("result", result),
            ])
            .filter_map(|(k, v)| {
                let v = v.filter(|v| !v.is_empty())?;
                Some(format!(
                    "{k}={}",
                    String::from(js_sys::encode_uri_component(v))
                ))
            })
            .collect();
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    }
}

/// Passkeys: adding one, signing in with one, and the reset gate's
/// ceremony. The begin's answer goes to the browser as it came (the page
/// decodes none of it), and the finish's body comes back from it: the only
/// decoding is of the answers the pages already decode.
pub mod passkey {
    use sspr_proto::reset::FlowView;
    use sspr_proto::security_info::SecurityInfoView;
    use sspr_proto::session::SessionView;

    use super::{Answer, ApiError, decode, post_json, send, success_text};

    /// Begins at `begin` (a body of `begin_fields`), runs the ceremony in the
    /// browser, and finishes at `finish` (a body of `finish_fields`, the
    /// ceremony and the credential): the finish's answer.
    async fn run(
        begin: &str,
        begin_fields: &[(&str, &str)],
        create: bool,
        finish: &str,
        finish_fields: &[(&str, &str)],
    ) -> Result<Answer, ApiError> {
        let begun =
            success_text(send(post_json(begin, crate::passkey::body(begin_fields))).await?)?;
        let body = crate::passkey::answer(&begun, create, finish_fields)
            .await
            .ok_or(ApiError::Invalid {
                key: "passkey.cancelled",
                field: "",
            })?;
        send(post_json(finish, body)).await
    }

    /// Makes a passkey named `name` and adds it.
    pub async fn add(name: &str) -> Result<SecurityInfoView, ApiError> {
        let begin = "/api/security-info/passkeys/begin";
        let finish = "/api/security-info/passkeys";
        decode(run(begin, &[], true, finish, &[("name", name)]).await?)
    }

    /// Gives a passkey (the method `id`) a new name.
    pub async fn rename(id: &str, name: &str) -> Result<SecurityInfoView, ApiError> {
        // `PasskeyRename`'s two members, as the ceremonies' bodies are made.
        let body = crate::passkey::body(&[("method", id), ("name", name)]);
        decode(send(post_json("/api/security-info/passkeys/rename", body)).await?)
    }

    /// Signs in with a passkey alone.
    pub async fn sign_in() -> Result<SessionView, ApiError> {
        decode(
            run(
                "/api/session/passkey/begin",
                &[],
                false,
                "/api/session/passkey",
                &[],
            )
            .await?,
        )
    }

    /// Proves the reset gate `flow` waits for with a passkey.
    pub async fn reset(flow: &str) -> Result<FlowView, ApiError> {
        let fields = [("flow", flow)];
        decode(
            run(
                "/api/reset/passkey/begin",
                &fields,
                false,
                "/api/reset/passkey",
                &fields,
            )
            .await?,
        )
    }
}
