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

use sspr_proto::reset::FlowView;
use tokio::time::Instant;

use super::{Flow, Offered, Stage, audit_event, claim, load, release, respond, save};
use crate::AppState;
use crate::audit::{self, Event};
use crate::error::ApiError;
use crate::methods::{self, Proof, ProofAt, SentCode, throttle};

/// Checks the code for the method being verified.
pub async fn verify(state: &AppState, id: &str, code: &str) -> Result<FlowView, ApiError> {
    let started = Instant::now();
    let result = async {
        let mut flow = load(state, id).await?;
        let Stage::Code { method, .. } = flow.st.stage.clone() else {
            return Err(ApiError::WrongStep);
        };
        let offered = offered(&flow, &method)?;
        let code = methods::code::typed_code(code);
        run(state, &mut flow, &offered, Proof::Code(&code)).await
    }
    .await;
    state.paces.proof.wait(started).await;
    result
}

/// Checks the answers to the security questions being asked.
pub async fn answer(state: &AppState, id: &str, answers: &[String]) -> Result<FlowView, ApiError> {
    let started = Instant::now();
    let result = async {
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
        run(state, &mut flow, &offered, Proof::Answers(answers)).await
    }
    .await;
    state.paces.proof.wait(started).await;
    result
}

fn offered(flow: &Flow, method: &str) -> Result<Offered, ApiError> {
    flow.st
        .offered
        .iter()
        .find(|o| o.id == method)
        .cloned()
        .ok_or(ApiError::WrongStep)
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
    };
    state.keys.code_hash(&flow.hash, &text)
}

async fn prove(
    state: &AppState,
    flow: &mut Flow,
    offered: &Offered,
    proof: &Proof<'_>,
) -> Result<FlowView, ApiError> {
    let typed = flow.st.typed.clone();
    let kind = methods::kind_str(offered.kind);
    // A blocked identifier learns it at its first proof, unevaluated.
    if throttle::is_blocked(state, &typed).await? || !throttle::reserve(state, &typed).await? {
        return block(state, flow).await;
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
            // Right, but the account is blocked through another of its names.
            audit::record(
                state,
                Event {
                    method: Some(kind),
                    detail: Some("right proof refused: blocked"),
                    ..audit_event(flow, audit::FLOW_PROGRESS, false)
                },
            )
            .await;
            return block(state, flow).await;
        }
        flow.st.passed.push(offered.id.clone());
        flow.st.proofs.push(print);
        flow.st.stage = if flow.st.passed.len() >= usize::from(flow.st.gates) {
            Stage::NewPassword
        } else {
            Stage::Choose
        };
        // The gate is passed: the flow's other codes, sent or still waiting
        // in the outbox, are of no more use, and none goes out late.
        let mut tx = state.store.pool().begin().await?;
        sqlx::query("UPDATE reset_codes SET used_at = $1 WHERE flow_hash = $2 AND used_at IS NULL")
            .bind(state.clock.now())
            .bind(&flow.hash)
            .execute(&mut *tx)
            .await?;
        crate::outbox::supersede(&mut tx, super::send::KIND, &flow.subject).await?;
        super::save_on(&mut tx, state, flow).await?;
        tx.commit().await?;
        if !flow.is_decoy() {
            state.metrics.reset_proof(offered.kind, true);
        }
        audit::record(
            state,
            Event {
                method: Some(kind),
                detail: Some(super::PROOF_PASSED),
                ..audit_event(flow, audit::FLOW_PROGRESS, true)
            },
        )
        .await;
        return respond(state, flow).await;
    }
    if flow.st.proofs.contains(&print) {
        // A late copy of a proof this flow has already passed.
        throttle::refund(state, &typed).await?;
        release(state, flow).await;
        return Err(ApiError::WrongStep);
    }
    if !flow.is_decoy() {
        state.metrics.reset_proof(offered.kind, false);
    }
    let typed_blocked = throttle::fail_reserved(state, &typed).await?;
    let account_blocked =
        !flow.is_decoy() && throttle::fail_unreserved(state, &flow.subject).await?;
    audit::record(
        state,
        Event {
            method: Some(kind),
            detail: Some(super::PROOF_FAILED),
            ..audit_event(flow, audit::FLOW_PROGRESS, false)
        },
    )
    .await;
    if account_blocked {
        state.metrics.reset_blocked();
        audit::record(
            state,
            Event {
                method: Some(kind),
                ..audit_event(flow, audit::USER_BLOCKED, true)
            },
        )
        .await;
    }
    if typed_blocked {
        if flow.is_decoy() {
            audit::record(
                state,
                Event {
                    method: Some(kind),
                    detail: Some("identifier blocked after 5 wrong proofs (no account)"),
                    ..audit_event(flow, audit::FLOW_PROGRESS, false)
                },
            )
            .await;
        }
        return block(state, flow).await;
    }
    // Nothing moves; saving lets go of the claim.
    save(state, flow).await?;
    Err(ApiError::CodeInvalid)
}

async fn block(state: &AppState, flow: &mut Flow) -> Result<FlowView, ApiError> {
    flow.st.stage = Stage::Blocked;
    save(state, flow).await?;
    respond(state, flow).await
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
