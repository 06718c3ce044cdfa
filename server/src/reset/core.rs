//! The reset flow as a pure state machine: `step(state, input, now)` gives
//! the next state and what the service must do (effects, as data), or the
//! refusal to answer. No store, no directory, no clock and no randomness
//! here: `now` comes in, and so does everything the service had to look up
//! (the questions to ask, the verdict on a proof).
//!
//! The state is the one stored with the flow (its JSON shape is the stored
//! one), plus its expiry and whether it is a decoy. A decoy goes through the
//! very same transitions; its effects are the same data, and the service is
//! what makes them come to nothing observable (a code job no worker sends).

use serde::{Deserialize, Serialize};
use sspr_proto::reset::{MethodKind, Outcome};

use crate::clock::UnixTime;
use crate::methods::code::RESEND_COOLDOWN;
use crate::methods::{self, Challenge};

/// One method offered in a flow, under its per-flow id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Offered {
    pub id: String,
    pub kind: MethodKind,
    pub masked: String,
    /// The stored method behind an email or phone option.
    #[serde(default)]
    pub method: Option<String>,
}

/// Where a flow stands; each step carries its own data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub(super) enum Stage {
    /// Choosing a method for the next gate.
    Choose,
    /// Waiting for a code for `method`; `sent_at` when one was sent.
    Code {
        method: String,
        sent_at: Option<UnixTime>,
    },
    /// Waiting for the answers to `questions`.
    Questions {
        method: String,
        questions: Vec<String>,
    },
    /// Every gate passed: waiting for a new password (or an unlock).
    NewPassword,
    Done {
        outcome: Outcome,
        /// Other sessions of the user that the reset ended.
        #[serde(default)]
        signed_out: u32,
        /// Whether the confirmation went to the user's address.
        #[serde(default)]
        notified: bool,
    },
    Blocked,
}

/// What only the server knows about a flow (stored as JSON).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FlowState {
    /// Who the audit trail names: the identifier as typed when it named an
    /// account, never what was typed for a decoy (people paste passwords there).
    pub actor: String,
    /// The account's user name, the target of the flow's audit records
    /// (whichever of its names was typed); empty for a decoy.
    #[serde(default)]
    pub username: String,
    /// The throttling subject of the identifier as typed (`t:...`), the
    /// same for a real account and a decoy.
    #[serde(default)]
    pub typed: String,
    pub gates: u8,
    /// Gates the wizard announces until the first is passed: the policy's
    /// count, so an administrator's first step looks like anyone's.
    #[serde(default)]
    pub shown_gates: u8,
    pub offered: Vec<Offered>,
    pub passed: Vec<String>,
    /// Keyed hashes of the proofs that passed, so a late duplicate of one is
    /// not counted as a failed guess.
    #[serde(default)]
    pub proofs: Vec<String>,
    /// When each offered method last got a code in this flow.
    #[serde(default)]
    pub sent: Vec<(String, UnixTime)>,
    /// A decoy's seed (hex), for its stable questions.
    #[serde(default)]
    pub decoy: String,
    pub stage: Stage,
}

impl FlowState {
    /// Kinds already proven: a second gate must be a different kind.
    pub fn passed_kinds(&self) -> Vec<MethodKind> {
        self.offered
            .iter()
            .filter(|o| self.passed.contains(&o.id))
            .map(|o| o.kind)
            .collect()
    }

    pub fn sent_at(&self, method: &str) -> Option<UnixTime> {
        self.sent.iter().find(|(m, _)| m == method).map(|(_, t)| *t)
    }

    fn note_sent(&mut self, method: &str, at: UnixTime) {
        self.sent.retain(|(m, _)| m != method);
        self.sent.push((method.to_string(), at));
    }

    fn offered(&self, id: &str) -> Option<&Offered> {
        self.offered.iter().find(|o| o.id == id)
    }
}

impl std::fmt::Debug for FlowState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowState")
            .field("gates", &self.gates)
            .field("passed", &self.passed.len())
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// A flow as the core sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct State {
    pub expires_at: UnixTime,
    /// No account behind the flow: same transitions, effects that come to
    /// nothing observable.
    pub decoy: bool,
    pub flow: FlowState,
}

/// What the user (or the service on their behalf) asks of the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Input {
    /// Pick an offered method for the current gate. `questions` are the ones
    /// to ask if it is the questions method (see [`asks_questions`]).
    Choose {
        method: String,
        questions: Vec<String>,
    },
    /// A new code for the method being verified.
    Resend,
    /// Back from a code or the questions to choosing.
    Back,
    /// A proof at the current gate, as the service found it (it holds the
    /// flow, checked the throttles and evaluated the proof).
    Proof(Verdict),
}

/// The service's finding on a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The identifier as typed is blocked, or has no proof left in its
    /// budget: the proof was not evaluated.
    Blocked,
    /// Right, but the account is blocked through another of its names.
    RightButBlocked,
    /// Right: `print` is its keyed fingerprint.
    Right { print: String },
    /// A late copy of a proof this flow already passed (see [`is_replay`]).
    Replayed,
    /// Wrong, and counted: whether that blocked the identifier as typed,
    /// and the account.
    Wrong {
        typed_blocked: bool,
        account_blocked: bool,
    },
}

/// What the service carries out, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Effect {
    /// Save the new state (only if nobody moved the flow meanwhile), letting
    /// go of the flow's claim. In the same transaction:
    Save {
        /// draw a new code for this offered method, store its hash in place
        /// of the flow's earlier ones and queue it (for a decoy the same rows
        /// are written; no worker ever sends them);
        send: Option<Offered>,
        /// or retire the flow's codes, stored or waiting in the outbox.
        retire_codes: bool,
    },
    /// An audit record of the flow's progress.
    Audit(Note),
    /// Count a proof in the metrics (never a decoy's).
    CountProof { kind: MethodKind, right: bool },
    /// Count an account blocked.
    CountBlocked,
    /// Answer with this refusal (the effects before it are done).
    Answer(Refusal),
}

impl Effect {
    const SAVE: Self = Self::Save {
        send: None,
        retire_codes: false,
    };
}

/// The audit records the core asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Note {
    MethodChosen(MethodKind),
    ProofPassed(MethodKind),
    ProofFailed(MethodKind),
    /// A right proof refused because the account is blocked.
    RightRefused(MethodKind),
    /// The account was blocked by this wrong proof.
    UserBlocked(MethodKind),
    /// A decoy's identifier was blocked by this wrong proof.
    DecoyBlocked(MethodKind),
}

/// Why a step is refused; each is one of the API's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The flow is not at a step that takes this input.
    WrongStep,
    /// The flow has expired (or never was).
    Expired,
    /// The method picked is not one offered for this gate.
    NotOffered,
    /// A code went out less than the cooldown ago.
    ResendTooSoon { retry_after: u64 },
    /// The proof was wrong.
    CodeInvalid,
    /// Not one answer (of at most 256 characters) per question asked.
    Answers { expected: usize },
}

impl From<Refusal> for crate::error::ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::WrongStep => Self::WrongStep,
            Refusal::Expired => Self::FlowExpired,
            Refusal::NotOffered => Self::InvalidField {
                field: "method".into(),
                reason: "not offered in this flow".into(),
            },
            Refusal::ResendTooSoon { retry_after } => Self::ResendTooSoon { retry_after },
            Refusal::CodeInvalid => Self::CodeInvalid,
            Refusal::Answers { expected } => Self::InvalidField {
                field: "answers".into(),
                reason: format!("must be {expected} answers"),
            },
        }
    }
}

/// A flow is alive strictly before its expiry.
pub(super) fn alive(expires_at: UnixTime, now: UnixTime) -> Result<(), Refusal> {
    if expires_at <= now {
        return Err(Refusal::Expired);
    }
    Ok(())
}

/// The offered method `id` if it can be chosen now: the flow is choosing (or
/// at a method it may leave for another), the method is offered, and its
/// kind has not passed a gate already (the same kind never counts twice).
fn choosable<'a>(flow: &'a FlowState, id: &str) -> Result<&'a Offered, Refusal> {
    if !matches!(
        flow.stage,
        Stage::Choose | Stage::Code { .. } | Stage::Questions { .. }
    ) {
        return Err(Refusal::WrongStep);
    }
    let passed = flow.passed_kinds();
    flow.offered
        .iter()
        .find(|o| o.id == id && !passed.contains(&o.kind))
        .ok_or(Refusal::NotOffered)
}

/// Whether choosing `method` now would ask the questions: the service looks
/// them up first, and only then.
pub(super) fn asks_questions(state: &State, method: &str) -> bool {
    choosable(&state.flow, method)
        .is_ok_and(|o| methods::of(o.kind).challenge() == Challenge::AskQuestions)
}

/// What a proof is offered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ProofForm {
    Code,
    Answers,
}

/// The offered method a proof of this form is for: the one whose code (or
/// questions) the flow is waiting for.
pub(super) fn proving(flow: &FlowState, form: ProofForm) -> Result<&Offered, Refusal> {
    let method = match (&flow.stage, form) {
        (Stage::Code { method, .. }, ProofForm::Code)
        | (Stage::Questions { method, .. }, ProofForm::Answers) => method,
        _ => return Err(Refusal::WrongStep),
    };
    flow.offered(method).ok_or(Refusal::WrongStep)
}

/// Whether `answers` fit the questions being asked: one each, none longer
/// than 256 characters.
pub(super) fn answers_fit(flow: &FlowState, answers: &[String]) -> Result<(), Refusal> {
    let Stage::Questions { questions, .. } = &flow.stage else {
        return Err(Refusal::WrongStep);
    };
    if answers.len() != questions.len() || answers.iter().any(|a| a.chars().count() > 256) {
        return Err(Refusal::Answers {
            expected: questions.len(),
        });
    }
    Ok(())
}

/// Whether a wrong proof is a late copy of one this flow already passed: it
/// is not a guess, and is not counted.
pub(super) fn is_replay(flow: &FlowState, print: &str) -> bool {
    flow.proofs.iter().any(|p| p == print)
}

/// Seconds until a code sent at `sent` may be sent again (0: now).
pub(super) fn resend_in(sent: UnixTime, now: UnixTime) -> i64 {
    (sent + RESEND_COOLDOWN - now).max(0)
}

/// One step of the flow.
pub(super) fn step(
    mut state: State,
    input: Input,
    now: UnixTime,
) -> Result<(State, Vec<Effect>), Refusal> {
    alive(state.expires_at, now)?;
    let decoy = state.decoy;
    let flow = &mut state.flow;
    let effects = match input {
        Input::Choose { method, questions } => {
            let offered = choosable(flow, &method)?.clone();
            let mut send = None;
            flow.stage = match methods::of(offered.kind).challenge() {
                Challenge::AskQuestions => Stage::Questions {
                    method: offered.id.clone(),
                    questions,
                },
                Challenge::EnterCode => Stage::Code {
                    method: offered.id.clone(),
                    sent_at: None,
                },
                Challenge::SendCode => {
                    // Picking it again within the cooldown sends nothing new.
                    let sent_at = match flow.sent_at(&offered.id) {
                        Some(t) if resend_in(t, now) > 0 => t,
                        _ => {
                            flow.note_sent(&offered.id, now);
                            send = Some(offered.clone());
                            now
                        }
                    };
                    Stage::Code {
                        method: offered.id.clone(),
                        sent_at: Some(sent_at),
                    }
                }
            };
            vec![
                Effect::Save {
                    send,
                    retire_codes: false,
                },
                Effect::Audit(Note::MethodChosen(offered.kind)),
            ]
        }
        Input::Resend => {
            let Stage::Code {
                method,
                sent_at: Some(sent),
            } = flow.stage.clone()
            else {
                return Err(Refusal::WrongStep);
            };
            let wait = resend_in(sent, now);
            if wait > 0 {
                return Err(Refusal::ResendTooSoon {
                    retry_after: wait.unsigned_abs(),
                });
            }
            let option = flow.offered(&method).cloned().ok_or(Refusal::WrongStep)?;
            flow.note_sent(&method, now);
            flow.stage = Stage::Code {
                method,
                sent_at: Some(now),
            };
            vec![Effect::Save {
                send: Some(option),
                retire_codes: false,
            }]
        }
        Input::Back => {
            if matches!(flow.stage, Stage::Code { .. } | Stage::Questions { .. }) {
                flow.stage = Stage::Choose;
                vec![Effect::SAVE]
            } else {
                Vec::new()
            }
        }
        Input::Proof(verdict) => {
            let form = match flow.stage {
                Stage::Questions { .. } => ProofForm::Answers,
                _ => ProofForm::Code,
            };
            let offered = proving(flow, form)?.clone();
            let kind = offered.kind;
            match verdict {
                Verdict::Blocked => {
                    flow.stage = Stage::Blocked;
                    vec![Effect::SAVE]
                }
                Verdict::RightButBlocked => {
                    flow.stage = Stage::Blocked;
                    vec![Effect::Audit(Note::RightRefused(kind)), Effect::SAVE]
                }
                Verdict::Right { print } => {
                    flow.passed.push(offered.id.clone());
                    flow.proofs.push(print);
                    flow.stage = if flow.passed.len() >= usize::from(flow.gates) {
                        Stage::NewPassword
                    } else {
                        Stage::Choose
                    };
                    // The gate is passed: the flow's other codes, sent or
                    // still waiting in the outbox, are of no more use.
                    let mut out = vec![Effect::Save {
                        send: None,
                        retire_codes: true,
                    }];
                    if !decoy {
                        out.push(Effect::CountProof { kind, right: true });
                    }
                    out.push(Effect::Audit(Note::ProofPassed(kind)));
                    out
                }
                Verdict::Replayed => return Err(Refusal::WrongStep),
                Verdict::Wrong {
                    typed_blocked,
                    account_blocked,
                } => {
                    let mut out = Vec::new();
                    if !decoy {
                        out.push(Effect::CountProof { kind, right: false });
                    }
                    out.push(Effect::Audit(Note::ProofFailed(kind)));
                    if account_blocked {
                        out.push(Effect::CountBlocked);
                        out.push(Effect::Audit(Note::UserBlocked(kind)));
                    }
                    if typed_blocked {
                        if decoy {
                            out.push(Effect::Audit(Note::DecoyBlocked(kind)));
                        }
                        flow.stage = Stage::Blocked;
                        out.push(Effect::SAVE);
                    } else {
                        // Nothing moves; saving lets go of the claim.
                        out.push(Effect::SAVE);
                        out.push(Effect::Answer(Refusal::CodeInvalid));
                    }
                    out
                }
            }
        }
    };
    Ok((state, effects))
}
