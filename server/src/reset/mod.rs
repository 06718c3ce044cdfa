//! The reset flow: a state machine held in the store, so any `sspr` node can
//! continue it. The client names only the flow, the offered method it picked
//! and its proof; the server decides the next step and whose password is set.
//!
//! Identifiers that match no usable account (unknown, not enabled for SSPR,
//! not registered) get a decoy flow: the same shape, consistent decoy methods,
//! no message ever sent, and no proof that can pass.

mod core;
mod decoy;
pub mod pow;
mod proof;
pub mod send;

use sha2::{Digest, Sha256};
use sspr_proto::config::PasswordContext;
use sspr_proto::reset::{FlowView, MethodKind, MethodOption, Outcome, ResetStep};

pub use self::core::FLOW_LIFETIME;
use self::core::{
    After, Candidate, Effect, Entrant, Entry, FlowState, Input, Note, Offered, Stage,
};
use crate::AppState;
use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::config::SsprEnabled;
use crate::delivery::Outgoing;
use crate::directory::{DirUser, DirectoryError};
use crate::error::ApiError;
use crate::i18n;
use crate::methods::code::numeric_code;
use crate::methods::throttle;
use crate::methods::{self, StoredMethod};
use crate::outbox;
use crate::ports::{FlowRow, FlowSave, FlowStore, FlowTx, NewCode, NewFlow};
use crate::secret::Secret;

/// A code is valid for 5 minutes.
pub const CODE_LIFETIME: i64 = 5 * 60;

/// The id is the bearer of the reset; only a prefix of its hash prints.
impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow")
            .field("id", &"[redacted]")
            .field("hash", &&self.hash[..self.hash.len().min(12)])
            .field("version", &self.version)
            .field("st", &self.st)
            .finish_non_exhaustive()
    }
}

struct Flow {
    id: String,
    hash: String,
    user_id: Option<String>,
    /// The account's throttling subject (`u:...`), or for a decoy the typed one.
    subject: String,
    version: i64,
    ip: String,
    expires_at: UnixTime,
    /// When it was loaded and found alive: the `now` of its step.
    loaded_at: UnixTime,
    /// This request holds the flow for a proof (see [`claim`]).
    claimed: bool,
    st: FlowState,
}

impl Flow {
    fn is_decoy(&self) -> bool {
        self.user_id.is_none()
    }
}

fn hash_flow_id(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

pub(crate) use crate::methods::KIND_ORDER;

/// Whether this account may reset at all under the policy.
pub(crate) async fn enabled_for(state: &AppState, user: &DirUser) -> Result<bool, ApiError> {
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

/// One option per registered address or number, and one for all
/// authenticator apps and one for recovery codes, where the policy allows.
fn real_options(state: &AppState, stored: &[StoredMethod], user: &DirUser) -> Vec<Candidate> {
    let mut out = Vec::new();
    for k in KIND_ORDER
        .into_iter()
        .filter(|k| methods::kind_available(state, *k))
    {
        let of_kind: Vec<&StoredMethod> = stored.iter().filter(|m| m.kind == k).collect();
        out.extend(
            methods::of(k)
                .offer(&of_kind, user)
                .into_iter()
                .map(|(masked, method)| (k, masked, method)),
        );
    }
    out
}

/// The options as offered, each with whether its code comes by a call: an
/// office phone's always does; a mobile's is offered twice where
/// `delivery.voice` is set, texted ("Text …") and called ("Call …"). Real
/// and decoy options go through here alike, so a decoy's phone offers
/// exactly what a real one does.
fn with_calls(
    state: &AppState,
    options: Vec<Candidate>,
) -> Vec<(MethodKind, String, Option<String>, bool)> {
    let voice = state.config.delivery.voice.is_some();
    let mut out = Vec::with_capacity(options.len());
    for (kind, masked, method) in options {
        let m = methods::of(kind);
        let always = m.code_channel() == Some(outbox::Channel::Voice);
        if voice && m.may_call() && !always {
            out.push((kind, masked.clone(), method.clone(), false));
        }
        out.push((kind, masked, method, always || (voice && m.may_call())));
    }
    out
}

/// What the new-password step adds to the view: whether the account can be
/// unlocked instead, and the checklist's context.
type NewPasswordExtra = (bool, PasswordContext);

fn view(state: &AppState, flow: &Flow, extra: Option<NewPasswordExtra>) -> FlowView {
    let now = state.clock.now();
    // Until a gate is passed every flow announces the policy's count; an
    // administrator's second gate shows once the first is proven.
    let gates = if flow.st.passed.is_empty() && flow.st.shown_gates > 0 {
        flow.st.shown_gates
    } else {
        flow.st.gates
    };
    let gate = u8::try_from(flow.st.passed.len() + 1)
        .unwrap_or(u8::MAX)
        .min(gates);
    let option = |o: &Offered| MethodOption {
        id: o.id.clone(),
        kind: o.kind,
        masked: o.masked.clone(),
        call: o.call,
    };
    let step = match &flow.st.stage {
        Stage::Choose => ResetStep::ChooseMethod {
            gate,
            gates,
            methods: core::open_options(&flow.st).map(option).collect(),
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
                    call: false,
                });
            ResetStep::EnterCode {
                gate,
                gates,
                method: o,
                resend_in: sent_at.map(|t| u32::try_from(core::resend_in(t, now)).unwrap_or(0)),
            }
        }
        Stage::Questions { questions, .. } => ResetStep::AnswerQuestions {
            gate,
            gates,
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
        Stage::Done {
            outcome,
            signed_out,
            notified,
        } => ResetStep::Done {
            outcome: *outcome,
            signed_out: *signed_out,
            notified: *notified,
        },
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
    let FlowRow {
        user_id,
        subject,
        state: st,
        version,
        ip,
        expires_at,
    } = state
        .store
        .load_flow(&hash)
        .await?
        .ok_or(ApiError::FlowExpired)?;
    let now = state.clock.now();
    core::alive(expires_at, now)?;
    let mut st: FlowState = serde_json::from_str(&st)?;
    if st.typed.is_empty() {
        // A flow started before the typed subject existed.
        st.typed = subject.clone();
    }
    Ok(Flow {
        id: id.to_string(),
        hash,
        user_id,
        subject,
        version,
        ip,
        expires_at,
        loaded_at: now,
        claimed: false,
        st,
    })
}

/// How long a proof may hold its flow. A node that dies mid-proof frees it then.
const CLAIM_FOR: i64 = 30;

/// Holds the flow for this request's proof, atomically: a concurrent proof
/// of the same flow (a double submit, or parallel guesses) gets `WrongStep`
/// without being evaluated or counted.
async fn claim(state: &AppState, flow: &mut Flow) -> Result<(), ApiError> {
    let now = state.clock.now();
    let claimed = state
        .store
        .claim_flow(&flow.hash, flow.version, now, now + CLAIM_FOR)
        .await?;
    if !claimed {
        return Err(ApiError::WrongStep);
    }
    flow.version += 1;
    flow.claimed = true;
    Ok(())
}

/// Lets go of a claim without changing the flow (the proof failed to run).
async fn release(state: &AppState, flow: &mut Flow) {
    if !flow.claimed {
        return;
    }
    let _ = state.store.release_flow(&flow.hash, flow.version).await;
    flow.claimed = false;
}

/// Saves the new state only if nobody else moved the flow meanwhile (and no
/// other request holds it for a proof).
async fn save(state: &AppState, flow: &mut Flow) -> Result<(), ApiError> {
    save_on(None, state, flow).await
}

/// As [`save`], in the caller's transaction if it gives one.
async fn save_on(
    tx: Option<&mut FlowTx>,
    state: &AppState,
    flow: &mut Flow,
) -> Result<(), ApiError> {
    let json = serde_json::to_string(&flow.st)?;
    let save = FlowSave {
        hash: &flow.hash,
        state: &json,
        version: flow.version,
        claimed: flow.claimed,
        now: state.clock.now(),
    };
    let saved = match tx {
        Some(tx) => state.store.save_flow_in(tx, &save).await?,
        None => state.store.save_flow(&save).await?,
    };
    if !saved {
        return Err(ApiError::WrongStep);
    }
    flow.version += 1;
    flow.claimed = false;
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
    if core::awaiting_password(&flow.st).is_err() {
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

/// Who audit records of a decoy flow name: never what was typed.
pub(crate) const NO_ACCOUNT: &str = "(no account)";
/// The detail of the progress record of a proof that passed a gate.
pub(crate) const PROOF_PASSED: &str = "verified";
/// The detail of the progress record of a wrong proof (it counts towards a block).
pub(crate) const PROOF_FAILED: &str = "wrong proof";
/// The detail of the progress record of an option whose code is read aloud
/// by a call: its method stays the kind (a mobile's is `sms`, as its proofs
/// are counted), the detail says the channel.
pub(crate) const CHOSEN_BY_CALL: &str = "method chosen: code by voice call";

fn audit_event<'a>(flow: &'a Flow, activity: &'a str, success: bool) -> Event<'a> {
    Event {
        activity,
        actor: &flow.st.actor,
        target: Some(flow.st.username.as_str()).filter(|u| !u.is_empty()),
        success,
        ip: &flow.ip,
        flow: Some(&flow.hash),
        ..Default::default()
    }
}

/// Identify: the user name or email address, after the proof of work.
/// What the directory and the stored methods say is looked up here; which
/// flow that makes, real or decoy, the core decides ([`core::admit`],
/// [`core::start`]), and both are stored, counted and recorded alike.
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
    let policy_gates = state.config.policy.methods_required.get();

    let mut real = None;
    if let Some(user) = found {
        let options = real_options(state, &stored, &user);
        let enabled = enabled_for(state, &user).await?;
        let admins_pr = state.config.policy.admins_require_phishing_resistant;
        real = core::admit(policy_gates, user.is_admin, enabled, admins_pr, options)
            .map(|(gates, phishing_resistant, options)| (user, gates, phishing_resistant, options));
    }
    let typed = throttle::typed_subject(state, identifier);
    let (user_id, subject, who, options) = match real {
        Some((user, gates, phishing_resistant, options)) => (
            Some(user.id.clone()),
            throttle::account_subject(&user.id),
            Entrant::Account {
                actor: identifier.to_string(),
                username: user.username,
                gates,
                phishing_resistant,
            },
            options,
        ),
        None => (
            None,
            typed.clone(),
            Entrant::Decoy {
                seed: hex::encode(decoy::seed(state, identifier)),
            },
            decoy::options(state, identifier, policy_gates),
        ),
    };

    let id = state.entropy.hex_id(32);
    let now = state.clock.now();
    let offered = with_calls(state, options)
        .into_iter()
        .map(|(kind, masked, method, call)| Offered {
            id: state.entropy.hex_id(6),
            kind,
            masked,
            method,
            call,
        })
        .collect();
    let entry = Entry {
        who,
        typed,
        policy_gates,
        offered,
    };
    let (first, effects) = core::start(entry, now);
    let mut flow = Flow {
        hash: hash_flow_id(&id),
        id,
        user_id,
        subject,
        version: 0,
        ip: ip.to_string(),
        expires_at: first.expires_at,
        loaded_at: now,
        claimed: false,
        st: first.flow.clone(),
    };
    carry_out(state, &mut flow, first, effects).await
}

/// Stores a new flow. Old flows are swept as new ones start.
async fn create(state: &AppState, flow: &Flow) -> Result<(), ApiError> {
    let now = flow.loaded_at;
    state.store.purge_expired_flows(now).await?;
    state
        .store
        .insert_flow(&NewFlow {
            hash: &flow.hash,
            user_id: flow.user_id.as_deref(),
            subject: &flow.subject,
            state: &serde_json::to_string(&flow.st)?,
            ip: &flow.ip,
            created: now,
            expires: flow.expires_at,
        })
        .await?;
    Ok(())
}

pub async fn current(state: &AppState, id: &str) -> Result<FlowView, ApiError> {
    let flow = load(state, id).await?;
    respond(state, &flow).await
}

/// Picks an offered method for the current gate; sends its code where it
/// has one. Picking again a method whose code went out less than 60 s ago
/// sends nothing new: the step shows how long until a resend.
pub async fn choose(state: &AppState, id: &str, method: &str) -> Result<FlowView, ApiError> {
    let flow = load(state, id).await?;
    // The questions are looked up only when they will be asked.
    let questions = if core::asks_questions(&core_state(&flow), method) {
        questions_for(state, &flow).await?
    } else {
        Vec::new()
    };
    let input = Input::Choose {
        method: method.to_string(),
        questions,
    };
    run_step(state, flow, input).await
}

/// The core's state of a loaded flow.
fn core_state(flow: &Flow) -> core::State {
    core::State {
        expires_at: flow.expires_at,
        decoy: flow.is_decoy(),
        flow: flow.st.clone(),
    }
}

/// Takes one step of the core and carries out its effects.
async fn run_step(state: &AppState, mut flow: Flow, input: Input) -> Result<FlowView, ApiError> {
    let (next, effects) = core::step(core_state(&flow), input, flow.loaded_at)?;
    carry_out(state, &mut flow, next, effects).await
}

/// Carries out a step's effects, in order, then answers with the flow's view
/// (or the refusal an effect says to answer with). The new state is what
/// `Save` writes: a step that saves nothing changes nothing.
async fn carry_out(
    state: &AppState,
    flow: &mut Flow,
    next: core::State,
    effects: Vec<Effect>,
) -> Result<FlowView, ApiError> {
    let next = next.flow;
    for effect in effects {
        match effect {
            Effect::Create => {
                flow.st = next.clone();
                create(state, flow).await?;
            }
            Effect::CountStarted => state.metrics.reset_started(),
            Effect::Save { send, retire_codes } => {
                flow.st = next.clone();
                match send {
                    Some(offered) => save_sending(state, flow, &offered).await?,
                    None if retire_codes => save_retiring(state, flow).await?,
                    None => save(state, flow).await?,
                }
            }
            Effect::Audit(note) => audit::record(state, note_event(flow, note)).await,
            Effect::CountProof { kind, right } => state.metrics.reset_proof(kind, right),
            Effect::CountBlocked => state.metrics.reset_blocked(),
            Effect::Answer(refusal) => return Err(refusal.into()),
        }
    }
    respond(state, flow).await
}

/// The audit record of a note of the core.
fn note_event(flow: &Flow, note: Note) -> Event<'_> {
    let (kind, detail, activity, success) = match note {
        Note::Identified { decoy: false } => (None, Some("identify"), audit::FLOW_PROGRESS, true),
        Note::Identified { decoy: true } => (
            None,
            Some("identify: no usable account (decoy flow)"),
            audit::FLOW_PROGRESS,
            false,
        ),
        Note::MethodChosen { kind, call } => (
            Some(kind),
            Some(if call {
                CHOSEN_BY_CALL
            } else {
                "method chosen"
            }),
            audit::FLOW_PROGRESS,
            true,
        ),
        Note::ProofPassed(k) => (Some(k), Some(PROOF_PASSED), audit::FLOW_PROGRESS, true),
        Note::ProofFailed(k) => (Some(k), Some(PROOF_FAILED), audit::FLOW_PROGRESS, false),
        Note::RightRefused(k) => (
            Some(k),
            Some("right proof refused: blocked"),
            audit::FLOW_PROGRESS,
            false,
        ),
        Note::UserBlocked(k) => (Some(k), None, audit::USER_BLOCKED, true),
        Note::DecoyBlocked(k) => (
            Some(k),
            Some("identifier blocked after 5 wrong proofs (no account)"),
            audit::FLOW_PROGRESS,
            false,
        ),
        Note::ResetCompleted => (None, None, audit::RESET_COMPLETED, true),
        Note::Completed => (None, Some("completed"), audit::FLOW_PROGRESS, true),
        Note::Unlocked => (None, None, audit::UNLOCK, true),
    };
    Event {
        method: kind.map(methods::kind_str),
        detail,
        ..audit_event(flow, activity, success)
    }
}

/// Saves the flow as a gate is passed, in one transaction with the end of its
/// codes: those stored are marked used, those waiting in the outbox go, and
/// none goes out late.
async fn save_retiring(state: &AppState, flow: &mut Flow) -> Result<(), ApiError> {
    let mut tx = state.store.begin_flows().await?;
    state
        .store
        .retire_codes_in(&mut tx, &flow.hash, state.clock.now())
        .await?;
    outbox::supersede(&mut tx, send::KIND, &flow.subject).await?;
    save_on(Some(&mut tx), state, flow).await?;
    tx.commit().await?;
    Ok(())
}

/// The user's questions, or for a decoy three stable picks from the list.
async fn questions_for(state: &AppState, flow: &Flow) -> Result<Vec<String>, ApiError> {
    if let Some(user_id) = &flow.user_id {
        return methods::security_questions::questions_of(state, user_id).await;
    }
    // The same picks for the same decoy, whichever of its names was typed.
    let seed = hex::decode(&flow.st.decoy).unwrap_or_default();
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
    let flow = load(state, id).await?;
    run_step(state, flow, Input::Resend).await
}

/// Back from entering a code to choosing a method.
pub async fn back(state: &AppState, id: &str) -> Result<FlowView, ApiError> {
    let flow = load(state, id).await?;
    run_step(state, flow, Input::Back).await
}

/// Saves the flow with a new code for `offered`, in one transaction: the
/// code's hash, and its job in the outbox (see `send`). The same statements
/// run for a decoy; only the worker finds there is no one to send to. A flow
/// that another request moved meanwhile saves nothing and sends nothing.
async fn save_sending(
    state: &AppState,
    flow: &mut Flow,
    offered: &Offered,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let code = numeric_code(state.entropy.as_ref());
    let mut tx = state.store.begin_flows().await?;
    // A new code replaces any earlier one for this flow.
    state
        .store
        .retire_codes_in(&mut tx, &flow.hash, now)
        .await?;
    state
        .store
        .insert_code_in(
            &mut tx,
            &NewCode {
                id: &state.entropy.hex_id(16),
                flow_hash: &flow.hash,
                method_id: &offered.id,
                code_hash: &state.keys.code_hash(&flow.hash, code.expose()),
                created: now,
                expires: now + CODE_LIFETIME,
            },
        )
        .await?;
    let job = send::Job {
        user_id: flow.user_id.clone(),
        method: offered.method.clone(),
        kind: offered.kind,
        code: code.expose().to_string(),
        lang: i18n::current().to_string(),
        flow_hash: flow.hash.clone(),
        ip: flow.ip.clone(),
        call: offered.call,
        charged: None,
    };
    // The newest code for the flow's subject is the one that waits: older
    // ones (this flow's, or another flow's for the same account) go.
    outbox::supersede(&mut tx, send::KIND, &flow.subject).await?;
    let mut batch = outbox::Batch::default();
    batch
        .add(&mut tx, state, job.item(now + CODE_LIFETIME, &flow.subject))
        .await?;
    save_on(Some(&mut tx), state, flow).await?;
    tx.commit().await?;
    let _ = batch.committed(state).await;
    Ok(())
}

pub use proof::{answer, passkey, passkey_begin, verify};

/// Sets the new password in the directory, once every gate is passed.
///
/// The flow is claimed first (of concurrent submissions one gets past it),
/// with the notices queued in the same transaction but held; then the
/// user's other sessions end; then the directory is written. Only a refused
/// or failed write reopens the step (and drops the notices). Once written,
/// the notices go at once; a node that dies in between still sends them when
/// the hold ends, because a missing "your password was reset" could hide a
/// takeover. What follows the write cannot turn the answer into an error:
/// the password has changed, and the answer says what else happened.
pub async fn set_password(
    state: &AppState,
    id: &str,
    password: &Secret,
) -> Result<FlowView, ApiError> {
    let mut flow = load(state, id).await?;
    core::awaiting_password(&flow.st)?;
    let user = user_of(state, &flow).await?.ok_or(ApiError::WrongStep)?;
    crate::password::enforce(state, password, &user, &flow.ip, "reset").await?;
    let notices = reset_notices(state, &user).await;
    let held = finish(state, &mut flow, Outcome::PasswordReset, &notices).await?;
    // No automatic sign-in, and every other session ends, before the write:
    // a session the attacker holds cannot outlive the reset.
    let signed_out = match crate::session::revoke_all(state, &user.id).await {
        Ok(n) => u32::try_from(n).unwrap_or(u32::MAX),
        Err(e) => return Err(reopen_with(state, &mut flow, e, &held).await),
    };
    let written = async {
        state.directory.set_password(&user, password).await?;
        if user.is_locked(state.clock.now()) {
            state.directory.unlock(&user).await?;
        }
        Ok::<(), DirectoryError>(())
    }
    .await;
    if let Err(e) = written {
        return Err(reopen_with(state, &mut flow, ApiError::from(e), &held).await);
    }
    let after = core::written(&flow.st);
    carry_out_after(state, &mut flow, &user, &held, signed_out, after).await;
    respond(state, &flow).await
}

/// Unlocks instead of resetting, where the account is locked.
pub async fn unlock(state: &AppState, id: &str) -> Result<FlowView, ApiError> {
    let mut flow = load(state, id).await?;
    core::awaiting_password(&flow.st)?;
    let user = user_of(state, &flow)
        .await?
        .filter(|u| u.is_locked(state.clock.now()))
        .ok_or(ApiError::WrongStep)?;
    finish(state, &mut flow, Outcome::Unlocked, &Notices::default()).await?;
    if let Err(e) = state.directory.unlock(&user).await {
        return Err(reopen_with(state, &mut flow, ApiError::from(e), &[]).await);
    }
    let after = core::written(&flow.st);
    carry_out_after(state, &mut flow, &user, &[], 0, after).await;
    respond(state, &flow).await
}

/// Carries out what follows the directory's write (see [`core::After`]),
/// in order. The change is made: a failure is logged, never answered.
/// `held`: the notices queued with the flow's end; `signed_out`: the
/// sessions ended before the write.
async fn carry_out_after(
    state: &AppState,
    flow: &mut Flow,
    user: &DirUser,
    held: &[String],
    mut signed_out: u32,
    after: Vec<After>,
) {
    for effect in after {
        match effect {
            After::ReleaseNotices => {
                if let Err(e) = outbox::release(state, held).await {
                    tracing::warn!(error = %e, user = %user.username, "reset notices wait for their hold to end");
                }
            }
            After::CountCompleted(outcome) => state.metrics.reset_completed(outcome),
            After::EndOtherFlows => {
                if let Err(e) = end_other_flows(state, flow).await {
                    tracing::error!(error = %e, user = %user.username, "other reset flows after a reset could not be ended");
                }
            }
            After::RevokePasses => {
                if let Err(e) = crate::tap::revoke_on_reset(state, user).await {
                    tracing::error!(error = %e, user = %user.username, "passes after a reset could not be revoked");
                }
            }
            After::SignOut => match crate::session::revoke_all(state, &user.id).await {
                Ok(n) => {
                    signed_out = signed_out.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
                }
                Err(e) => {
                    tracing::error!(error = %e, user = %user.username, "sessions after a reset could not be ended");
                }
            },
            After::Audit(note) => {
                let event = note_event(flow, note);
                // The account's change names it as the directory has it now.
                let event = match note {
                    Note::ResetCompleted | Note::Unlocked => Event {
                        target: Some(&user.username),
                        ..event
                    },
                    _ => event,
                };
                audit::record(state, event).await;
            }
            After::RecordOutcome => record_outcome(state, flow, signed_out).await,
        }
    }
}

/// The directory refused or is down after the flow was claimed: the flow goes
/// back to the new-password step, nothing is recorded as completed, the held
/// notices are dropped, and the directory's reason is the answer.
async fn reopen_with(state: &AppState, flow: &mut Flow, e: ApiError, held: &[String]) -> ApiError {
    if let Err(c) = outbox::cancel(state, held).await {
        tracing::error!(error = %c, "notices of a reset that failed could not be dropped");
    }
    let saved = async {
        // The step's one effect is this save (no view to answer with).
        let (next, _save) = core::step(core_state(flow), Input::Reopen, flow.loaded_at)?;
        flow.st = next.flow;
        save(state, flow).await
    }
    .await;
    match saved {
        Ok(()) => e,
        Err(save_err) => save_err,
    }
}

/// Deletes the account's other reset flows (their codes go with them) and
/// any code still waiting in the outbox for the account.
async fn end_other_flows(state: &AppState, flow: &Flow) -> Result<(), ApiError> {
    let mut tx = state.store.begin_flows().await?;
    state
        .store
        .end_other_flows_in(&mut tx, &flow.subject, &flow.hash)
        .await?;
    outbox::supersede(&mut tx, send::KIND, &flow.subject).await?;
    tx.commit().await?;
    Ok(())
}

/// How long the notices of a claimed reset wait for the directory write
/// before they go anyway: longer than any write takes.
const NOTICE_HOLD: i64 = 60;

/// Moves the flow to its end, atomically (fails with `WrongStep` if another
/// request moved it first), and queues `notices` in the same transaction,
/// held for [`NOTICE_HOLD`]; the user's own comes first. Returns the held rows.
async fn finish(
    state: &AppState,
    flow: &mut Flow,
    outcome: Outcome,
    notices: &Notices,
) -> Result<Vec<String>, ApiError> {
    let mut tx = state.store.begin_flows().await?;
    let mut batch = outbox::Batch::default();
    let mut queued = Vec::new();
    for (msg, account) in &notices.mail {
        let item = outbox::Item::message(msg, account.as_deref()).held(NOTICE_HOLD);
        queued.push(batch.add(&mut tx, state, item).await?);
    }
    // "We emailed you" only when the user's own notice is in the queue.
    let input = Input::Finish {
        outcome,
        notified: notices.own && queued.first() == Some(&true),
    };
    // The step's one effect is this save, in the notices' transaction.
    let (next, _save) = core::step(core_state(flow), input, flow.loaded_at)?;
    flow.st = next.flow;
    save_on(Some(&mut tx), state, flow).await?;
    tx.commit().await?;
    Ok(batch.committed(state).await)
}

/// Notes what else the reset did, for the answer and a reload of it. The
/// reset itself is done: a failure here is logged, not answered.
async fn record_outcome(state: &AppState, flow: &mut Flow, signed_out: u32) {
    let noted = async {
        let input = Input::SignedOut(signed_out);
        let (next, effects) = core::step(core_state(flow), input, flow.loaded_at)?;
        for effect in effects {
            if let Effect::Save { .. } = effect {
                flow.st = next.flow.clone();
                save(state, flow).await?;
            }
        }
        Ok::<(), ApiError>(())
    }
    .await;
    if let Err(e) = noted {
        tracing::warn!(error = %e, "could not note a finished reset's outcome");
    }
}

/// The mail a reset sends, each with the account it goes to.
#[derive(Debug, Default)]
struct Notices {
    mail: Vec<(Outgoing, Option<String>)>,
    /// Whether the user's own notice is among them.
    own: bool,
}

/// The user's own notice and, for an administrator, one to each other
/// administrator. Best effort: an administrator list that cannot be read is
/// logged.
async fn reset_notices(state: &AppState, user: &DirUser) -> Notices {
    let org = state.organisation();
    let args = [
        ("organisation", org.as_str()),
        ("name", user.display_name.as_str()),
        ("account", user.username.as_str()),
        ("url", state.config.server.public_url.as_str()),
    ];
    let mut notices = Notices::default();
    if let Some(email) = &user.email {
        let lang = i18n::current();
        notices.own = true;
        notices.mail.push((
            Outgoing::Mail {
                to: email.clone(),
                subject: i18n::text_with(lang, crate::key!("email.reset_done.subject"), &args),
                body: i18n::text_with(lang, crate::key!("email.reset_done.body"), &args),
            },
            Some(user.username.clone()),
        ));
    }
    if user.is_admin {
        let admins = match state.directory.administrators().await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, user = %user.username, "an administrator's reset could not be announced to the other administrators");
                return notices;
            }
        };
        for admin in admins {
            if admin.id == user.id {
                continue;
            }
            let Some(to) = admin.email else { continue };
            // Other administrators' languages are unknown: the portal's default.
            let lang = state.config.default_locale();
            notices.mail.push((
                Outgoing::Mail {
                    to,
                    subject: i18n::text_with(lang, crate::key!("email.admin_reset.subject"), &args),
                    body: i18n::text_with(lang, crate::key!("email.admin_reset.body"), &args),
                },
                Some(admin.username),
            ));
        }
    }
    notices
}
