//! The reset flow: a state machine held in the store, so any `sspr` node can
//! continue it. The client names only the flow, the offered method it picked
//! and its proof; the server decides the next step and whose password is set.
//!
//! Identifiers that match no usable account (unknown, not enabled for SSPR,
//! not registered) get a decoy flow: the same shape, consistent decoy methods,
//! no message ever sent, and no proof that can pass.

pub mod mask;
pub mod pow;
pub mod throttle;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sspr_proto::config::PasswordContext;
use sspr_proto::reset::{FlowView, MethodKind, MethodOption, Outcome, ResetStep};

use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::config::SsprEnabled;
use crate::delivery::Outgoing;
use crate::directory::{DirUser, DirectoryError};
use crate::error::ApiError;
use crate::i18n;
use crate::methods::{self, StoredMethod};
use crate::secret::Secret;
use crate::{AppState, totp};

/// A flow lives 15 minutes from its start.
pub const FLOW_LIFETIME: i64 = 15 * 60;
/// A code is valid for 5 minutes.
pub const CODE_LIFETIME: i64 = 5 * 60;
/// Seconds before another code may be sent for the same method.
pub const RESEND_COOLDOWN: i64 = 60;
/// Digits in an emailed or texted code.
pub const CODE_DIGITS: usize = 8;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Offered {
    id: String,
    kind: MethodKind,
    masked: String,
    /// The stored method behind an email or phone option.
    #[serde(default)]
    method: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
enum Stage {
    Choose,
    Code {
        method: String,
        sent_at: Option<UnixTime>,
    },
    Questions {
        method: String,
        questions: Vec<String>,
    },
    NewPassword,
    Done {
        outcome: Outcome,
    },
    Blocked,
}

/// What only the server knows about a flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FlowState {
    /// What was typed at identify, for the audit trail.
    actor: String,
    gates: u8,
    offered: Vec<Offered>,
    passed: Vec<String>,
    stage: Stage,
}

impl FlowState {
    /// Kinds already proven: a second gate must be a different kind.
    fn passed_kinds(&self) -> Vec<MethodKind> {
        self.offered
            .iter()
            .filter(|o| self.passed.contains(&o.id))
            .map(|o| o.kind)
            .collect()
    }
}

#[derive(Debug)]
struct Flow {
    id: String,
    hash: String,
    user_id: Option<String>,
    subject: String,
    version: i64,
    ip: String,
    expires_at: UnixTime,
    st: FlowState,
}

fn hash_flow_id(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

const KIND_ORDER: [MethodKind; 5] = [
    MethodKind::Email,
    MethodKind::Sms,
    MethodKind::Authenticator,
    MethodKind::RecoveryCode,
    MethodKind::SecurityQuestions,
];

/// Whether this account may reset at all under the policy.
async fn enabled_for(state: &AppState, user: &DirUser) -> Result<bool, ApiError> {
    if !user.enabled {
        return Ok(false);
    }
    let p = &state.config.policy;
    Ok(match p.sspr_enabled {
        SsprEnabled::None => false,
        SsprEnabled::All => true,
        SsprEnabled::Group => {
            let want = p.sspr_group.as_deref().unwrap_or_default();
            state
                .directory
                .groups_of(user)
                .await?
                .iter()
                .any(|g| g == want)
        }
    })
}

/// An option before it gets its per-flow id.
type Candidate = (MethodKind, String, Option<String>);

/// One option per registered address or number, and one for all
/// authenticator apps and one for recovery codes, where the policy allows.
fn real_options(state: &AppState, stored: &[StoredMethod], user: &DirUser) -> Vec<Candidate> {
    let mut out = Vec::new();
    for k in KIND_ORDER
        .into_iter()
        .filter(|k| methods::kind_available(state, *k))
    {
        let of_kind = stored.iter().filter(|m| m.kind == k);
        match k {
            MethodKind::Email | MethodKind::Sms => {
                for m in of_kind {
                    let target = m.target.as_deref().or(user.email.as_deref()).unwrap_or("");
                    let masked = if k == MethodKind::Sms {
                        mask::phone(target)
                    } else {
                        mask::email(target)
                    };
                    out.push((k, masked, Some(m.id.clone())));
                }
            }
            MethodKind::Authenticator
            | MethodKind::RecoveryCode
            | MethodKind::SecurityQuestions => {
                if of_kind.count() > 0 {
                    out.push((k, String::new(), None));
                }
            }
        }
    }
    out
}

/// Decoy options, stable for an identifier: what a plausible account would show.
fn decoy_options(state: &AppState, identifier: &str, gates: u8) -> Vec<Candidate> {
    let seed = state.keys.decoy_seed(identifier);
    let wanted: &[MethodKind] = match seed[0] % 3 {
        0 => &[MethodKind::Email, MethodKind::Authenticator],
        1 => &[MethodKind::Email, MethodKind::Sms],
        _ => &[
            MethodKind::Email,
            MethodKind::Sms,
            MethodKind::Authenticator,
        ],
    };
    let mut kinds: Vec<MethodKind> = KIND_ORDER
        .iter()
        .copied()
        .filter(|k| {
            (wanted.contains(k)
                || (*k == MethodKind::RecoveryCode && seed[2].is_multiple_of(4))
                || (*k == MethodKind::SecurityQuestions && gates >= 2 && seed[3].is_multiple_of(3)))
                && methods::kind_available(state, *k)
        })
        .collect();
    for k in KIND_ORDER {
        if kinds.len() >= usize::from(gates) {
            break;
        }
        if methods::kind_available(state, k)
            && !kinds.contains(&k)
            && k != MethodKind::SecurityQuestions
        {
            kinds.push(k);
        }
    }
    kinds.sort_by_key(|k| KIND_ORDER.iter().position(|o| o == k));
    let ident = identifier.trim().to_lowercase();
    kinds
        .into_iter()
        .map(|k| {
            let masked = match k {
                MethodKind::Email if ident.contains('@') => mask::email(&ident),
                MethodKind::Email => mask::email(&format!(
                    "{ident}@{}",
                    state.config.reset.decoy_email_domain
                )),
                MethodKind::Sms => format!("+*** *** **{:02}", seed[1] % 100),
                MethodKind::Authenticator
                | MethodKind::RecoveryCode
                | MethodKind::SecurityQuestions => String::new(),
            };
            (k, masked, None)
        })
        .collect()
}

/// What the new-password step adds to the view: whether the account can be
/// unlocked instead, and the checklist's context.
type NewPasswordExtra = (bool, PasswordContext);

fn view(state: &AppState, flow: &Flow, extra: Option<NewPasswordExtra>) -> FlowView {
    let now = state.clock.now();
    let passed_kinds = flow.st.passed_kinds();
    let gate = u8::try_from(flow.st.passed.len() + 1)
        .unwrap_or(u8::MAX)
        .min(flow.st.gates);
    let option = |o: &Offered| MethodOption {
        id: o.id.clone(),
        kind: o.kind,
        masked: o.masked.clone(),
    };
    let step = match &flow.st.stage {
        Stage::Choose => ResetStep::ChooseMethod {
            gate,
            gates: flow.st.gates,
            methods: flow
                .st
                .offered
                .iter()
                .filter(|o| !passed_kinds.contains(&o.kind))
                .map(option)
                .collect(),
        },
        Stage::Code { method, sent_at } => {
            let o = flow
                .st
                .offered
                .iter()
                .find(|o| &o.id == method)
                .map(option)
                .unwrap_or_else(|| MethodOption {
                    id: method.clone(),
                    kind: MethodKind::Authenticator,
                    masked: String::new(),
                });
            ResetStep::EnterCode {
                gate,
                gates: flow.st.gates,
                method: o,
                resend_in: sent_at
                    .map(|t| u32::try_from((t + RESEND_COOLDOWN - now).max(0)).unwrap_or(0)),
            }
        }
        Stage::Questions { questions, .. } => ResetStep::AnswerQuestions {
            gate,
            gates: flow.st.gates,
            questions: questions.clone(),
        },
        Stage::NewPassword => match extra {
            Some((unlock_available, password)) => ResetStep::NewPassword {
                unlock_available,
                password,
            },
            // A flow reaches this stage only with a user (see `respond`).
            None => ResetStep::Blocked,
        },
        Stage::Done { outcome } => ResetStep::Done { outcome: *outcome },
        Stage::Blocked => ResetStep::Blocked,
    };
    FlowView {
        flow: flow.id.clone(),
        expires_in: u32::try_from((flow.expires_at - now).max(0)).unwrap_or(0),
        step,
    }
}

async fn load(state: &AppState, id: &str) -> Result<Flow, ApiError> {
    let hash = hash_flow_id(id);
    let row: Option<(Option<String>, String, String, i64, String, i64)> = sqlx::query_as(
        "SELECT user_id, subject, state, version, ip, expires_at FROM reset_flows WHERE id_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
    let (user_id, subject, st, version, ip, expires_at) = row.ok_or(ApiError::FlowExpired)?;
    if expires_at <= state.clock.now() {
        return Err(ApiError::FlowExpired);
    }
    let st = serde_json::from_str(&st).map_err(ApiError::internal)?;
    Ok(Flow {
        id: id.to_string(),
        hash,
        user_id,
        subject,
        version,
        ip,
        expires_at,
        st,
    })
}

/// Saves the new state only if nobody else moved the flow meanwhile.
async fn save(state: &AppState, flow: &mut Flow) -> Result<(), ApiError> {
    let json = serde_json::to_string(&flow.st).map_err(ApiError::internal)?;
    let done = sqlx::query("UPDATE reset_flows SET state = $1, version = version + 1 WHERE id_hash = $2 AND version = $3")
        .bind(json)
        .bind(&flow.hash)
        .bind(flow.version)
        .execute(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
    if done.rows_affected() != 1 {
        return Err(ApiError::WrongStep);
    }
    flow.version += 1;
    Ok(())
}

async fn user_of(state: &AppState, flow: &Flow) -> Result<Option<DirUser>, ApiError> {
    match &flow.user_id {
        // The flow stores the directory id; the built-in directory also finds by it.
        Some(id) => state.directory.user_by_id(id).await.map_err(ApiError::from),
        None => Ok(None),
    }
}

async fn new_password_extra(
    state: &AppState,
    flow: &Flow,
) -> Result<Option<NewPasswordExtra>, ApiError> {
    if !matches!(flow.st.stage, Stage::NewPassword) {
        return Ok(None);
    }
    let Some(user) = user_of(state, flow).await? else {
        return Err(ApiError::FlowExpired);
    };
    let context = crate::password::context(state, &user).await?;
    Ok(Some((user.is_locked(state.clock.now()), context)))
}

async fn respond(state: &AppState, flow: &Flow) -> Result<FlowView, ApiError> {
    Ok(view(state, flow, new_password_extra(state, flow).await?))
}

fn audit_event<'a>(flow: &'a Flow, activity: &'a str, success: bool) -> Event<'a> {
    Event {
        activity,
        actor: &flow.st.actor,
        success,
        ip: &flow.ip,
        flow: Some(&flow.hash),
        ..Default::default()
    }
}

/// Identify: the user name or email address, after the proof of work.
pub async fn start(state: &AppState, identifier: &str, ip: &str) -> Result<FlowView, ApiError> {
    let identifier = identifier.trim();
    if identifier.is_empty() || identifier.chars().count() > 256 {
        return Err(ApiError::InvalidField {
            field: "identifier".into(),
            reason: "must be 1 to 256 characters".into(),
        });
    }
    let found = state.directory.find_user(identifier).await?;
    let stored = methods::for_user(state, found.as_ref().map(|u| u.id.as_str())).await?;
    let policy_gates = state.config.policy.methods_required;

    let mut real = None;
    if let Some(user) = found {
        let gates = if user.is_admin { 2 } else { policy_gates };
        let mut options = real_options(state, &stored, &user);
        // Security questions never stand alone and never serve administrators.
        options.retain(|o| o.0 != MethodKind::SecurityQuestions || (gates >= 2 && !user.is_admin));
        if enabled_for(state, &user).await?
            && methods::distinct_kinds(options.iter().map(|o| o.0)) >= usize::from(gates)
        {
            real = Some((user, gates, options));
        }
    }
    let (user_id, subject, gates, options) = match real {
        Some((user, gates, options)) => (
            Some(user.id.clone()),
            format!("u:{}", user.id),
            gates,
            options,
        ),
        None => {
            let seed = state.keys.decoy_seed(identifier);
            (
                None,
                format!("d:{}", hex::encode(&seed[..16])),
                policy_gates,
                decoy_options(state, identifier, policy_gates),
            )
        }
    };

    let id = state.entropy.hex_id(32);
    let now = state.clock.now();
    let st = FlowState {
        actor: identifier.to_string(),
        gates,
        offered: options
            .into_iter()
            .map(|(kind, masked, method)| Offered {
                id: state.entropy.hex_id(6),
                kind,
                masked,
                method,
            })
            .collect(),
        passed: Vec::new(),
        stage: Stage::Choose,
    };
    let flow = Flow {
        hash: hash_flow_id(&id),
        id,
        user_id,
        subject,
        version: 0,
        ip: ip.to_string(),
        expires_at: now + FLOW_LIFETIME,
        st,
    };
    // Old flows are swept as new ones start.
    sqlx::query("DELETE FROM reset_flows WHERE expires_at <= $1")
        .bind(now)
        .execute(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
    sqlx::query(
        "INSERT INTO reset_flows (id_hash, user_id, subject, state, version, ip, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6, $7)",
    )
    .bind(&flow.hash)
    .bind(&flow.user_id)
    .bind(&flow.subject)
    .bind(serde_json::to_string(&flow.st).map_err(ApiError::internal)?)
    .bind(&flow.ip)
    .bind(now)
    .bind(flow.expires_at)
    .execute(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
    audit::record(
        state,
        Event {
            detail: Some("identify"),
            ..audit_event(&flow, audit::FLOW_PROGRESS, true)
        },
    )
    .await;
    Ok(view(state, &flow, None))
}

pub async fn current(state: &AppState, id: &str) -> Result<FlowView, ApiError> {
    let flow = load(state, id).await?;
    respond(state, &flow).await
}

/// Picks an offered method for the current gate; sends its code where it has one.
pub async fn choose(state: &AppState, id: &str, method: &str) -> Result<FlowView, ApiError> {
    let mut flow = load(state, id).await?;
    if !matches!(
        flow.st.stage,
        Stage::Choose | Stage::Code { .. } | Stage::Questions { .. }
    ) {
        return Err(ApiError::WrongStep);
    }
    let passed_kinds = flow.st.passed_kinds();
    let offered = flow
        .st
        .offered
        .iter()
        .find(|o| o.id == method && !passed_kinds.contains(&o.kind))
        .cloned()
        .ok_or_else(|| ApiError::InvalidField {
            field: "method".into(),
            reason: "not offered in this flow".into(),
        })?;
    flow.st.stage = match offered.kind {
        MethodKind::SecurityQuestions => Stage::Questions {
            method: offered.id.clone(),
            questions: questions_for(state, &flow).await?,
        },
        MethodKind::Authenticator | MethodKind::RecoveryCode => Stage::Code {
            method: offered.id.clone(),
            sent_at: None,
        },
        MethodKind::Email | MethodKind::Sms => {
            send_code(state, &flow, &offered).await?;
            Stage::Code {
                method: offered.id.clone(),
                sent_at: Some(state.clock.now()),
            }
        }
    };
    save(state, &mut flow).await?;
    audit::record(
        state,
        Event {
            method: Some(methods::kind_str(offered.kind)),
            detail: Some("method chosen"),
            ..audit_event(&flow, audit::FLOW_PROGRESS, true)
        },
    )
    .await;
    respond(state, &flow).await
}

/// The user's questions, or for a decoy three stable picks from the list.
async fn questions_for(state: &AppState, flow: &Flow) -> Result<Vec<String>, ApiError> {
    if let Some(user_id) = &flow.user_id {
        return crate::security_info::questions_of(state, user_id).await;
    }
    let seed = state.keys.decoy_seed(&flow.st.actor);
    let mut pool = state.config.policy.questions.clone();
    let mut picked = Vec::new();
    for b in seed.iter().take(sspr_proto::security_info::QUESTIONS) {
        if pool.is_empty() {
            break;
        }
        picked.push(pool.remove(usize::from(*b) % pool.len()));
    }
    Ok(picked)
}

/// A new code for the method being verified, after the cooldown.
pub async fn resend(state: &AppState, id: &str) -> Result<FlowView, ApiError> {
    let mut flow = load(state, id).await?;
    let Stage::Code {
        method,
        sent_at: Some(sent),
    } = flow.st.stage.clone()
    else {
        return Err(ApiError::WrongStep);
    };
    let now = state.clock.now();
    if now < sent + RESEND_COOLDOWN {
        return Err(ApiError::ResendTooSoon {
            retry_after: (sent + RESEND_COOLDOWN - now) as u64,
        });
    }
    let offered = flow
        .st
        .offered
        .iter()
        .find(|o| o.id == method)
        .cloned()
        .ok_or(ApiError::WrongStep)?;
    send_code(state, &flow, &offered).await?;
    flow.st.stage = Stage::Code {
        method,
        sent_at: Some(now),
    };
    save(state, &mut flow).await?;
    respond(state, &flow).await
}

/// Back from entering a code to choosing a method.
pub async fn back(state: &AppState, id: &str) -> Result<FlowView, ApiError> {
    let mut flow = load(state, id).await?;
    if matches!(flow.st.stage, Stage::Code { .. } | Stage::Questions { .. }) {
        flow.st.stage = Stage::Choose;
        save(state, &mut flow).await?;
    }
    respond(state, &flow).await
}

async fn send_code(state: &AppState, flow: &Flow, offered: &Offered) -> Result<(), ApiError> {
    throttle::send(state, &flow.subject).await?;
    let now = state.clock.now();
    let code = numeric_code(state);
    // A new code replaces any earlier one for this flow.
    sqlx::query("UPDATE reset_codes SET used_at = $1 WHERE flow_hash = $2 AND used_at IS NULL")
        .bind(now)
        .bind(&flow.hash)
        .execute(state.store.pool())
        .await
        .map_err(ApiError::internal)?;
    sqlx::query(
        "INSERT INTO reset_codes (id, flow_hash, method_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(state.entropy.hex_id(16))
    .bind(&flow.hash)
    .bind(&offered.id)
    .bind(state.keys.code_hash(&flow.hash, code.expose()))
    .bind(now)
    .bind(now + CODE_LIFETIME)
    .execute(state.store.pool())
    .await
    .map_err(ApiError::internal)?;

    // Decoys and blocked accounts get the same answer, but nothing is sent.
    let Some(user) = user_of(state, flow).await? else {
        return Ok(());
    };
    if throttle::is_blocked(state, &flow.subject).await? {
        return Ok(());
    }
    let stored = methods::for_user(state, Some(&user.id)).await?;
    let Some(target) = stored
        .iter()
        .find(|m| match &offered.method {
            Some(id) => &m.id == id,
            None => m.kind == offered.kind,
        })
        .and_then(|m| m.target.clone())
    else {
        return Ok(());
    };
    let org = state.organisation();
    let lang = i18n::current();
    let args = [
        ("code", code.expose()),
        ("organisation", org.as_str()),
        ("url", state.config.server.public_url.as_str()),
    ];
    state.outbox.send(match offered.kind {
        MethodKind::Sms => Outgoing::Sms {
            to: target,
            body: i18n::text_with(lang, "sms.reset_code", &args),
        },
        _ => Outgoing::Mail {
            to: target,
            subject: i18n::text_with(lang, "email.reset_code.subject", &args),
            body: i18n::text_with(lang, "email.reset_code.body", &args),
        },
    });
    Ok(())
}

pub(crate) fn numeric_code(state: &AppState) -> Secret {
    // Rejection sampling keeps every digit uniform.
    let mut out = String::with_capacity(CODE_DIGITS);
    while out.len() < CODE_DIGITS {
        let mut b = [0u8; 1];
        state.entropy.fill(&mut b);
        if b[0] < 250 {
            out.push(char::from(b'0' + b[0] % 10));
        }
    }
    Secret::new(out)
}

/// Checks the proof for the method being verified.
pub async fn verify(state: &AppState, id: &str, code: &str) -> Result<FlowView, ApiError> {
    let mut flow = load(state, id).await?;
    let Stage::Code { method, .. } = flow.st.stage.clone() else {
        return Err(ApiError::WrongStep);
    };
    let offered = offered(&flow, &method)?;
    // A blocked account learns it here, at the first proof it attempts.
    if throttle::is_blocked(state, &flow.subject).await? {
        return block(state, &mut flow).await;
    }
    let code = methods::typed_code(code);
    let ok = match offered.kind {
        MethodKind::Email | MethodKind::Sms => redeem_code(state, &flow, &method, &code).await?,
        MethodKind::Authenticator => verify_totp(state, &flow, &code).await?,
        MethodKind::RecoveryCode => match &flow.user_id {
            Some(user_id) => {
                crate::security_info::redeem_recovery_code(state, user_id, &code).await?
            }
            None => false,
        },
        MethodKind::SecurityQuestions => false,
    };
    conclude(state, flow, &offered, ok).await
}

/// Checks the answers to the security questions being asked.
pub async fn answer(state: &AppState, id: &str, answers: &[String]) -> Result<FlowView, ApiError> {
    let mut flow = load(state, id).await?;
    let Stage::Questions { method, questions } = flow.st.stage.clone() else {
        return Err(ApiError::WrongStep);
    };
    if answers.len() != questions.len() || answers.iter().any(|a| a.chars().count() > 256) {
        return Err(ApiError::InvalidField {
            field: "answers".into(),
            reason: format!("must be {} answers", questions.len()),
        });
    }
    let offered = offered(&flow, &method)?;
    if throttle::is_blocked(state, &flow.subject).await? {
        return block(state, &mut flow).await;
    }
    let ok = crate::security_info::verify_answers(state, flow.user_id.as_deref(), answers).await?;
    conclude(state, flow, &offered, ok).await
}

fn offered(flow: &Flow, method: &str) -> Result<Offered, ApiError> {
    flow.st
        .offered
        .iter()
        .find(|o| o.id == method)
        .cloned()
        .ok_or(ApiError::WrongStep)
}

async fn block(state: &AppState, flow: &mut Flow) -> Result<FlowView, ApiError> {
    flow.st.stage = Stage::Blocked;
    save(state, flow).await?;
    respond(state, flow).await
}

/// After a proof: a failure counts towards the account's block; a success
/// passes the gate. Either way the step is audited.
async fn conclude(
    state: &AppState,
    mut flow: Flow,
    offered: &Offered,
    ok: bool,
) -> Result<FlowView, ApiError> {
    let kind = methods::kind_str(offered.kind);
    if !ok {
        let blocked = throttle::fail(state, &flow.subject).await?;
        audit::record(
            state,
            Event {
                method: Some(kind),
                detail: Some("wrong proof"),
                ..audit_event(&flow, audit::FLOW_PROGRESS, false)
            },
        )
        .await;
        if blocked {
            let view = block(state, &mut flow).await?;
            audit::record(
                state,
                Event {
                    method: Some(kind),
                    ..audit_event(&flow, audit::USER_BLOCKED, true)
                },
            )
            .await;
            return Ok(view);
        }
        return Err(ApiError::CodeInvalid);
    }
    flow.st.passed.push(offered.id.clone());
    flow.st.stage = if flow.st.passed.len() >= usize::from(flow.st.gates) {
        Stage::NewPassword
    } else {
        Stage::Choose
    };
    save(state, &mut flow).await?;
    audit::record(
        state,
        Event {
            method: Some(kind),
            detail: Some("verified"),
            ..audit_event(&flow, audit::FLOW_PROGRESS, true)
        },
    )
    .await;
    respond(state, &flow).await
}

/// Marks the code used, atomically: of many concurrent attempts, one wins.
async fn redeem_code(
    state: &AppState,
    flow: &Flow,
    method: &str,
    code: &str,
) -> Result<bool, ApiError> {
    if code.len() != CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(false);
    }
    let now = state.clock.now();
    let done = sqlx::query(
        "UPDATE reset_codes SET used_at = $1 WHERE flow_hash = $2 AND method_id = $3 AND code_hash = $4 \
         AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(&flow.hash)
    .bind(method)
    .bind(state.keys.code_hash(&flow.hash, code))
    .execute(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
    Ok(done.rows_affected() == 1)
}

async fn verify_totp(state: &AppState, flow: &Flow, code: &str) -> Result<bool, ApiError> {
    let Some(user_id) = &flow.user_id else {
        return Ok(false);
    };
    let now = state.clock.now();
    for m in methods::for_user(state, Some(user_id)).await? {
        let (MethodKind::Authenticator, Some(sealed)) = (m.kind, &m.secret_sealed) else {
            continue;
        };
        let secret = state.keys.open(sealed).map_err(ApiError::internal)?;
        if let Some(step) = totp::matching_step(&secret, code, now) {
            return methods::consume_totp_step(state, &m.id, step).await;
        }
    }
    Ok(false)
}

/// Sets the new password in the directory, once every gate is passed.
pub async fn set_password(
    state: &AppState,
    id: &str,
    password: &Secret,
) -> Result<FlowView, ApiError> {
    let mut flow = load(state, id).await?;
    if !matches!(flow.st.stage, Stage::NewPassword) {
        return Err(ApiError::WrongStep);
    }
    let user = user_of(state, &flow).await?.ok_or(ApiError::WrongStep)?;
    crate::password::enforce(state, password, &user, &flow.ip, "reset").await?;
    // Claim the flow before touching the directory: of concurrent submissions
    // exactly one gets past this version-checked save.
    finish(state, &mut flow, Outcome::PasswordReset).await?;
    let written = async {
        state.directory.set_password(&user, password).await?;
        if user.is_locked(state.clock.now()) {
            state.directory.unlock(&user).await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = written {
        return Err(reopen(state, &mut flow, e).await);
    }
    audit::record(
        state,
        Event {
            target: Some(&user.username),
            ..audit_event(&flow, audit::RESET_COMPLETED, true)
        },
    )
    .await;
    audit::record(
        state,
        Event {
            detail: Some("completed"),
            ..audit_event(&flow, audit::FLOW_PROGRESS, true)
        },
    )
    .await;
    // No automatic sign-in, and every other session ends.
    crate::session::revoke_all(state, &user.id).await?;
    notify_reset(state, &user).await?;
    respond(state, &flow).await
}

/// Unlocks instead of resetting, where the account is locked.
pub async fn unlock(state: &AppState, id: &str) -> Result<FlowView, ApiError> {
    let mut flow = load(state, id).await?;
    if !matches!(flow.st.stage, Stage::NewPassword) {
        return Err(ApiError::WrongStep);
    }
    let user = user_of(state, &flow)
        .await?
        .filter(|u| u.is_locked(state.clock.now()))
        .ok_or(ApiError::WrongStep)?;
    finish(state, &mut flow, Outcome::Unlocked).await?;
    if let Err(e) = state.directory.unlock(&user).await {
        return Err(reopen(state, &mut flow, e).await);
    }
    audit::record(
        state,
        Event {
            target: Some(&user.username),
            ..audit_event(&flow, audit::UNLOCK, true)
        },
    )
    .await;
    respond(state, &flow).await
}

/// The directory refused or is down after the flow was claimed: the flow goes
/// back to the new-password step, nothing is recorded as completed, and the
/// directory's reason is the answer.
async fn reopen(state: &AppState, flow: &mut Flow, e: DirectoryError) -> ApiError {
    flow.st.stage = Stage::NewPassword;
    match save(state, flow).await {
        Ok(()) => ApiError::from(e),
        Err(save_err) => save_err,
    }
}

/// Moves the flow to its end, atomically: fails with `WrongStep` if another
/// request moved it first.
async fn finish(state: &AppState, flow: &mut Flow, outcome: Outcome) -> Result<(), ApiError> {
    flow.st.stage = Stage::Done { outcome };
    save(state, flow).await
}

async fn notify_reset(state: &AppState, user: &DirUser) -> Result<(), ApiError> {
    let org = state.organisation();
    let args = [
        ("organisation", org.as_str()),
        ("name", user.display_name.as_str()),
        ("account", user.username.as_str()),
        ("url", state.config.server.public_url.as_str()),
    ];
    if let Some(email) = &user.email {
        let lang = i18n::current();
        state.outbox.send(Outgoing::Mail {
            to: email.clone(),
            subject: i18n::text_with(lang, "email.reset_done.subject", &args),
            body: i18n::text_with(lang, "email.reset_done.body", &args),
        });
    }
    if user.is_admin {
        for admin in state.directory.administrators().await? {
            if admin.id == user.id {
                continue;
            }
            let Some(to) = admin.email else { continue };
            // Other administrators' languages are unknown: the portal's default.
            let lang = state.config.default_locale();
            state.outbox.send(Outgoing::Mail {
                to,
                subject: i18n::text_with(lang, "email.admin_reset.subject", &args),
                body: i18n::text_with(lang, "email.admin_reset.body", &args),
            });
        }
    }
    Ok(())
}
