//! A proof at a gate: a code (email, SMS, authenticator, recovery code) or
//! the answers to the security questions.
//!
//! 1. The flow is claimed: a concurrent proof of the same flow is refused
//!    with `WrongStep`, never evaluated and never counted.
//! 2. A slot is reserved, atomically, in the budget of the identifier as
//!    typed: at most 5 proofs are ever evaluated per 24 h however many come
//!    in parallel.
//! 3. The proof is evaluated. A right one gives its slot back and passes the
//!    gate, unless the account is blocked (through another of its names):
//!    then the answer is "blocked". A wrong one keeps its slot as a failure
//!    and counts against the account too; a late copy of a proof this flow
//!    already passed is not a guess, and gives its slot back.
//!
//! Every answer leaves after the proof pace, so a decoy's instant "no"
//! looks like a real check.

use sspr_proto::passkey::PasskeyChallenge;
use sspr_proto::reset::{FlowView, MethodKind};
use tokio::time::Instant;

use super::core::{self, Input, Offered, ProofForm, Verdict};
use super::{Flow, carry_out, claim, core_state, load, release};
use crate::AppState;
use crate::error::ApiError;
use crate::methods::{self, Proof, ProofAt, SentCode, throttle};
use crate::ports::Purpose;

/// Checks the code for the method being verified.
pub async fn verify(state: &AppState, id: &str, code: &str) -> Result<FlowView, ApiError> {
    let started = Instant::now();
    let result = async {
        let mut flow = load(state, id).await?;
        let offered = core::proving(&flow.st, ProofForm::Code)?.clone();
        let code = methods::code::typed_code(code);
        run(state, &mut flow, &offered, Proof::Code(&code)).await
    }
    .await;
    state.paces.proof.wait(started).await;
    result
}

/// Begins the ceremony of the passkey gate the flow waits for. The options
/// are the same for every flow, a decoy's too: no account, no credential.
pub async fn passkey_begin(state: &AppState, id: &str) -> Result<PasskeyChallenge, ApiError> {
    let flow = load(state, id).await?;
    passkey_gate(&flow)?;
    let (ceremony, options) =
        methods::passkey::begin_assertion(state, Purpose::Reset, &flow.hash).await?;
    Ok(PasskeyChallenge { ceremony, options })
}

/// Checks a passkey's answer to the flow's ceremony, as a proof at the
/// passkey gate the flow waits for.
pub async fn passkey(
    state: &AppState,
    id: &str,
    ceremony: &str,
    credential: &str,
) -> Result<FlowView, ApiError> {
    let started = Instant::now();
    let result = async {
        let mut flow = load(state, id).await?;
        let offered = passkey_gate(&flow)?;
        let proof = Proof::Passkey {
            ceremony,
            credential,
        };
        run(state, &mut flow, &offered, proof).await
    }
    .await;
    state.paces.proof.wait(started).await;
    result
}

/// The passkey option the flow waits for a proof of.
fn passkey_gate(flow: &Flow) -> Result<Offered, ApiError> {
    let offered = core::proving(&flow.st, ProofForm::Code)?;
    if offered.kind != MethodKind::Passkey {
        return Err(ApiError::WrongStep);
    }
    Ok(offered.clone())
}

/// Checks the answers to the security questions being asked.
pub async fn answer(state: &AppState, id: &str, answers: &[String]) -> Result<FlowView, ApiError> {
    let started = Instant::now();
    let result = async {
        let mut flow = load(state, id).await?;
        core::answers_fit(&flow.st, answers)?;
        let offered = core::proving(&flow.st, ProofForm::Answers)?.clone();
        run(state, &mut flow, &offered, Proof::Answers(answers)).await
    }
    .await;
    state.paces.proof.wait(started).await;
    result
}

async fn run(
    state: &AppState,
    flow: &mut Flow,
    offered: &Offered,
    proof: Proof<'_>,
) -> Result<FlowView, ApiError> {
    claim(state, flow).await?;
    let result = prove(state, flow, offered, &proof).await;
    if result.is_err() {
        // Whatever failed, the flow is not left held.
        release(state, flow).await;
    }
    result
}

/// A keyed fingerprint of a proof, bound to its flow.
fn fingerprint(state: &AppState, flow: &Flow, proof: &Proof<'_>) -> String {
    let text = match proof {
        Proof::Code(c) => format!("code:{c}"),
        Proof::Answers(a) => format!(
            "answers:{}",
            a.iter()
                .map(|x| sspr_policy::answers::fold_answer(x))
                .collect::<Vec<_>>()
                .join("\u{1f}")
        ),
        Proof::Passkey { credential, .. } => format!("passkey:{credential}"),
    };
    state.keys.code_hash(&flow.hash, &text)
}

/// Does the proof's I/O (throttles, evaluation) and lets the core decide.
async fn prove(
    state: &AppState,
    flow: &mut Flow,
    offered: &Offered,
    proof: &Proof<'_>,
) -> Result<FlowView, ApiError> {
    let verdict = judge(state, flow, offered, proof).await?;
    let (next, effects) = core::step(core_state(flow), Input::Proof(verdict), flow.loaded_at)?;
    carry_out(state, flow, next, effects).await
}

/// The verdict on a proof: reserves a slot in the typed identifier's
/// budget, evaluates, and gives the slot back or counts the failure.
async fn judge(
    state: &AppState,
    flow: &Flow,
    offered: &Offered,
    proof: &Proof<'_>,
) -> Result<Verdict, ApiError> {
    let typed = flow.st.typed.clone();
    // A blocked identifier learns it at its first proof, unevaluated.
    if throttle::is_blocked(state, &typed).await? || !throttle::reserve(state, &typed).await? {
        return Ok(Verdict::Blocked);
    }
    let ok = match evaluate(state, flow, offered, proof).await {
        Ok(ok) => ok,
        Err(e) => {
            let _ = throttle::refund(state, &typed).await;
            return Err(e);
        }
    };
    let print = fingerprint(state, flow, proof);
    if ok {
        throttle::refund(state, &typed).await?;
        if !flow.is_decoy() && throttle::is_blocked(state, &flow.subject).await? {
            return Ok(Verdict::RightButBlocked);
        }
        return Ok(Verdict::Right { print });
    }
    if core::is_replay(&flow.st, &print) {
        throttle::refund(state, &typed).await?;
        return Ok(Verdict::Replayed);
    }
    let typed_blocked = throttle::fail_reserved(state, &typed).await?;
    let account_blocked =
        !flow.is_decoy() && throttle::fail_unreserved(state, &flow.subject).await?;
    Ok(Verdict::Wrong {
        typed_blocked,
        account_blocked,
    })
}

/// Checks the proof with the offered method's kind.
async fn evaluate(
    state: &AppState,
    flow: &Flow,
    offered: &Offered,
    proof: &Proof<'_>,
) -> Result<bool, ApiError> {
    let at = ProofAt {
        user_id: flow.user_id.as_deref(),
        method: None,
        sent: SentCode::Flow {
            flow_hash: &flow.hash,
            option: &offered.id,
        },
    };
    methods::of(offered.kind).verify(state, &at, proof).await
}
