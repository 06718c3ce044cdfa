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

use super::NO_ACCOUNT;
use crate::clock::UnixTime;
use crate::methods::code::RESEND_COOLDOWN;
use crate::methods::{self, Challenge, gates};

/// A flow lives 15 minutes from its start.
pub const FLOW_LIFETIME: i64 = 15 * 60;

/// An option before it gets its per-flow id: its kind, what the user sees,
/// and the stored method behind an email or phone.
pub(super) type Candidate = (MethodKind, String, Option<String>);

/// One method offered in a flow, under its per-flow id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Offered {
    pub id: String,
    pub kind: MethodKind,
    pub masked: String,
    /// The stored method behind an email or phone option.
    #[serde(default)]
    pub method: Option<String>,
    /// Its code is read aloud by a call (an office phone, or a mobile's
    /// "Call me" twin) rather than texted or mailed.
    #[serde(default)]
    pub call: bool,
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
    /// One of the gates must be a passkey (an administrator, under
    /// `policy.admins_require_phishing_resistant`).
    #[serde(default)]
    pub phishing_resistant: bool,
    pub stage: Stage,
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

    fn sent_at(&self, method: &str) -> Option<UnixTime> {
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
    /// The new password was accepted (or the unlock asked for): the flow
    /// ends with `outcome`, before the directory is written. `notified`:
    /// the user's own notice is queued with the save.
    Finish { outcome: Outcome, notified: bool },
    /// The directory refused or failed the write: back to the new password.
    Reopen,
    /// The reset is written; it ended this many other sessions.
    SignedOut(u32),
}

/// The service's finding on a proof.
#[derive(Clone, PartialEq, Eq)]
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

/// A right proof's fingerprint never prints: it stands for the proof.
impl std::fmt::Debug for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Blocked => f.write_str("Blocked"),
            Self::RightButBlocked => f.write_str("RightButBlocked"),
            Self::Right { .. } => f.write_str("Right { print: [redacted] }"),
            Self::Replayed => f.write_str("Replayed"),
            Self::Wrong {
                typed_blocked,
                account_blocked,
            } => f
                .debug_struct("Wrong")
                .field("typed_blocked", typed_blocked)
                .field("account_blocked", account_blocked)
                .finish(),
        }
    }
}

/// What the service carries out, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Effect {
    /// Store the new flow (sweeping the expired ones as it goes).
    Create,
    /// Count a flow started (a decoy's too: an attacker sees both start).
    CountStarted,
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

/// What the service carries out once the directory has the change a flow
/// finished with, in this order. The change is made: a failure of one of
/// these is logged, never answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum After {
    /// Send the notices queued (held) with the flow's end now.
    ReleaseNotices,
    /// Count the reset or unlock done.
    CountCompleted(Outcome),
    /// End the account's other flows, and their codes still waiting: none
    /// goes out after "your password was reset".
    EndOtherFlows,
    /// Void the passes the helpdesk issued: the user has their account back.
    RevokePasses,
    /// End the user's sessions again: a sign-in that checked the old
    /// password while the write ran made one of the epoch just ended.
    SignOut,
    /// An audit record of the outcome.
    Audit(Note),
    /// Note with the flow how many sessions the reset ended (for the answer
    /// and a reload of it): the step [`Input::SignedOut`].
    RecordOutcome,
}

/// The audit records the core asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Note {
    /// A flow started; `decoy`: for no usable account.
    Identified {
        decoy: bool,
    },
    /// A method was chosen; `call`: its code is read aloud by a call (an
    /// office phone, or a mobile's "Call me" twin), which the record says,
    /// as the kind alone (`sms`) would not.
    MethodChosen {
        kind: MethodKind,
        call: bool,
    },
    ProofPassed(MethodKind),
    ProofFailed(MethodKind),
    /// A right proof refused because the account is blocked.
    RightRefused(MethodKind),
    /// The account was blocked by this wrong proof.
    UserBlocked(MethodKind),
    /// A decoy's identifier was blocked by this wrong proof.
    DecoyBlocked(MethodKind),
    /// The password was reset (the record of the account's change).
    ResetCompleted,
    /// The flow's own last progress record.
    Completed,
    /// The account was unlocked.
    Unlocked,
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
    open_options(flow)
        .find(|o| o.id == id)
        .ok_or(Refusal::NotOffered)
}

/// The options left for the next gate: those of a kind that has not passed
/// one yet (the same kind never counts twice).
pub(super) fn open_options(flow: &FlowState) -> impl Iterator<Item = &Offered> {
    let passed = flow.passed_kinds();
    // The last gate of a flow that must have a passkey and has none yet
    // takes a passkey only.
    let passkey_only = flow.phishing_resistant
        && !passed.contains(&MethodKind::Passkey)
        && flow.passed.len() + 1 >= usize::from(flow.gates);
    flow.offered.iter().filter(move |o| {
        !passed.contains(&o.kind) && (!passkey_only || o.kind == MethodKind::Passkey)
    })
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

/// Only a flow past every gate takes a new password (or an unlock).
pub(super) fn awaiting_password(flow: &FlowState) -> Result<(), Refusal> {
    if !matches!(flow.stage, Stage::NewPassword) {
        return Err(Refusal::WrongStep);
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
                Effect::Audit(Note::MethodChosen {
                    kind: offered.kind,
                    call: offered.call,
                }),
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
        Input::Finish { outcome, notified } => {
            awaiting_password(flow)?;
            flow.stage = Stage::Done {
                outcome,
                signed_out: 0,
                notified,
            };
            vec![Effect::SAVE]
        }
        Input::Reopen => {
            flow.stage = Stage::NewPassword;
            vec![Effect::SAVE]
        }
        Input::SignedOut(n) => match flow.stage {
            Stage::Done {
                ref mut signed_out, ..
            } => {
                *signed_out = n;
                vec![Effect::SAVE]
            }
            _ => Vec::new(),
        },
    };
    Ok((state, effects))
}

/// Whether an account found for an identifier gets a real flow: it may
/// reset (`enabled`) and has, among the options its gates allow, enough
/// kinds for them, and a passkey among them if one of its gates must be a
/// passkey (an administrator, under `admins_require_phishing_resistant`).
/// Its gates, whether a gate must be a passkey, and its options if so;
/// otherwise the identifier gets a decoy.
pub(super) fn admit(
    policy_gates: u8,
    is_admin: bool,
    enabled: bool,
    admins_require_phishing_resistant: bool,
    mut options: Vec<Candidate>,
) -> Option<(u8, bool, Vec<Candidate>)> {
    let gates = gates::required(policy_gates, is_admin);
    options.retain(|o| gates::offered_at_reset(o.0, gates, is_admin));
    let phishing_resistant = is_admin && admins_require_phishing_resistant;
    let has_passkey = options.iter().any(|o| o.0 == MethodKind::Passkey);
    (enabled
        && methods::distinct_kinds(options.iter().map(|o| o.0)) >= usize::from(gates)
        && (!phishing_resistant || has_passkey))
        .then_some((gates, phishing_resistant, options))
}

/// Who a new flow is for.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Entrant {
    /// An account (see [`admit`]): `actor` is the identifier as typed, the
    /// name the audit trail gives the flow.
    Account {
        actor: String,
        username: String,
        gates: u8,
        /// One of its gates must be a passkey (see [`admit`]).
        phishing_resistant: bool,
    },
    /// No usable account; `seed` (hex) picks its stable questions.
    Decoy { seed: String },
}

/// What is typed for a decoy is never printed (people paste passwords there).
impl std::fmt::Debug for Entrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Account { gates, .. } => f
                .debug_struct("Account")
                .field("gates", gates)
                .finish_non_exhaustive(),
            Self::Decoy { .. } => f.write_str("Decoy"),
        }
    }
}

/// A flow about to start: who it is for, the throttling subject of the
/// identifier as typed, the policy's count of gates, and the options (with
/// their per-flow ids; a decoy's are its consistent decoy options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub who: Entrant,
    pub typed: String,
    pub policy_gates: u8,
    pub offered: Vec<Offered>,
}

/// A flow's first state, real or decoy alike: choosing a method for the
/// first gate, announcing the policy's count of gates, alive for
/// [`FLOW_LIFETIME`] from `now`. A decoy differs only in what the service
/// cannot show: no account, the policy's gates, its seed, and its record.
pub(super) fn start(entry: Entry, now: UnixTime) -> (State, Vec<Effect>) {
    let decoy = matches!(entry.who, Entrant::Decoy { .. });
    let (actor, username, gates, seed, phishing_resistant) = match entry.who {
        Entrant::Account {
            actor,
            username,
            gates,
            phishing_resistant,
        } => (actor, username, gates, String::new(), phishing_resistant),
        Entrant::Decoy { seed } => (
            NO_ACCOUNT.to_string(),
            String::new(),
            entry.policy_gates,
            seed,
            false,
        ),
    };
    let state = State {
        expires_at: now + FLOW_LIFETIME,
        decoy,
        flow: FlowState {
            actor,
            username,
            typed: entry.typed,
            gates,
            shown_gates: entry.policy_gates,
            offered: entry.offered,
            passed: Vec::new(),
            proofs: Vec::new(),
            sent: Vec::new(),
            decoy: seed,
            stage: Stage::Choose,
            phishing_resistant,
        },
    };
    let effects = vec![
        Effect::Create,
        Effect::CountStarted,
        Effect::Audit(Note::Identified { decoy }),
    ];
    (state, effects)
}

/// What follows once the directory has the change the flow finished with
/// (see [`After`]); nothing for a flow that has not finished.
pub(super) fn written(flow: &FlowState) -> Vec<After> {
    match flow.stage {
        Stage::Done {
            outcome: Outcome::PasswordReset,
            ..
        } => vec![
            After::ReleaseNotices,
            After::CountCompleted(Outcome::PasswordReset),
            After::EndOtherFlows,
            After::RevokePasses,
            After::SignOut,
            After::Audit(Note::ResetCompleted),
            After::Audit(Note::Completed),
            After::RecordOutcome,
        ],
        Stage::Done {
            outcome: Outcome::Unlocked,
            ..
        } => vec![
            After::CountCompleted(Outcome::Unlocked),
            After::Audit(Note::Unlocked),
        ],
        _ => Vec::new(),
    }
}

/// The flow's rules, one table per input.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::gates;
    use MethodKind::{Authenticator, Email, SecurityQuestions, Sms};

    const NOW: UnixTime = 1_000_000;
    const EXPIRES: UnixTime = NOW + 600;

    fn option(id: &str, kind: MethodKind) -> Offered {
        Offered {
            id: id.into(),
            kind,
            masked: format!("{id}-masked"),
            method: None,
            call: false,
        }
    }

    /// A flow of `gates` gates offering two emails, a phone, an app and the
    /// questions, at `stage`, with `passed` gates behind it.
    fn flow(gates: u8, passed: &[&str], stage: Stage) -> State {
        State {
            expires_at: EXPIRES,
            decoy: false,
            flow: FlowState {
                actor: "alice".into(),
                username: "alice".into(),
                typed: "t:alice".into(),
                gates,
                shown_gates: 1,
                offered: vec![
                    option("mail1", Email),
                    option("mail2", Email),
                    option("sms", Sms),
                    option("app", Authenticator),
                    option("q", SecurityQuestions),
                ],
                passed: passed.iter().map(|p| p.to_string()).collect(),
                proofs: Vec::new(),
                sent: Vec::new(),
                decoy: String::new(),
                stage,
                phishing_resistant: false,
            },
        }
    }

    /// An administrator's last gate, under
    /// `policy.admins_require_phishing_resistant`, takes only a passkey
    /// unless one passed already; other flows are as they were.
    #[test]
    fn a_phishing_resistant_flow_ends_with_a_passkey() {
        let ids =
            |st: &State| -> Vec<String> { open_options(&st.flow).map(|o| o.id.clone()).collect() };
        let mut st = flow(2, &[], Stage::Choose);
        st.flow.offered.push(option("key", MethodKind::Passkey));
        st.flow.phishing_resistant = true;
        assert_eq!(ids(&st).len(), 6, "the first gate: anything");
        st.flow.passed = vec!["mail1".into()];
        assert_eq!(ids(&st), ["key"], "then a passkey only");
        assert_eq!(
            step(st.clone(), choose("sms"), NOW).unwrap_err(),
            Refusal::NotOffered
        );
        st.flow.passed = vec!["key".into()];
        assert_eq!(
            ids(&st),
            ["mail1", "mail2", "sms", "app", "q"],
            "a passkey first: then any other kind"
        );
        st.flow.passed = vec!["mail1".into()];
        st.flow.phishing_resistant = false;
        assert_eq!(ids(&st), ["sms", "app", "q", "key"]);
    }

    fn choosing() -> State {
        flow(2, &[], Stage::Choose)
    }

    fn code(method: &str, sent_at: Option<UnixTime>) -> Stage {
        Stage::Code {
            method: method.into(),
            sent_at,
        }
    }

    fn questions() -> Stage {
        Stage::Questions {
            method: "q".into(),
            questions: vec!["pet?".into(), "town?".into()],
        }
    }

    fn done() -> Stage {
        Stage::Done {
            outcome: Outcome::PasswordReset,
            signed_out: 0,
            notified: true,
        }
    }

    fn choose(method: &str) -> Input {
        Input::Choose {
            method: method.into(),
            questions: vec!["pet?".into(), "town?".into()],
        }
    }

    fn save_sending(id: &str, kind: MethodKind) -> Effect {
        Effect::Save {
            send: Some(option(id, kind)),
            retire_codes: false,
        }
    }

    /// Every stage a flow can be at.
    fn every_stage() -> Vec<Stage> {
        vec![
            Stage::Choose,
            code("mail1", Some(NOW)),
            code("app", None),
            questions(),
            Stage::NewPassword,
            done(),
            Stage::Blocked,
        ]
    }

    #[test]
    fn choosing_a_method() {
        let chosen = |kind| Effect::Audit(Note::MethodChosen { kind, call: false });
        // (from, method, stage reached, effects)
        let table: Vec<(State, &str, Stage, Vec<Effect>)> = vec![
            // A code goes out for an address or a number.
            (
                choosing(),
                "mail1",
                code("mail1", Some(NOW)),
                vec![save_sending("mail1", Email), chosen(Email)],
            ),
            (
                choosing(),
                "sms",
                code("sms", Some(NOW)),
                vec![save_sending("sms", Sms), chosen(Sms)],
            ),
            // An app's code is typed: nothing is sent.
            (
                choosing(),
                "app",
                code("app", None),
                vec![Effect::SAVE, chosen(Authenticator)],
            ),
            // The questions are asked.
            (
                choosing(),
                "q",
                questions(),
                vec![Effect::SAVE, chosen(SecurityQuestions)],
            ),
            // From a code or the questions, another method may be picked.
            (
                flow(2, &[], code("mail1", Some(NOW))),
                "app",
                code("app", None),
                vec![Effect::SAVE, chosen(Authenticator)],
            ),
            (
                flow(2, &[], questions()),
                "mail2",
                code("mail2", Some(NOW)),
                vec![save_sending("mail2", Email), chosen(Email)],
            ),
            // At the second gate, any other kind.
            (
                flow(2, &["mail1"], Stage::Choose),
                "sms",
                code("sms", Some(NOW)),
                vec![save_sending("sms", Sms), chosen(Sms)],
            ),
        ];
        for (from, method, stage, effects) in table {
            let (to, got) = step(from.clone(), choose(method), NOW).unwrap();
            assert_eq!(to.flow.stage, stage, "{method} from {:?}", from.flow.stage);
            assert_eq!(got, effects, "{method} from {:?}", from.flow.stage);
        }
    }

    #[test]
    fn choosing_again_within_the_cooldown_sends_nothing_new() {
        // (seconds since the last code, sends a new one)
        for (ago, sends) in [(0, false), (59, false), (60, true), (61, true)] {
            let mut from = flow(2, &[], code("mail1", Some(NOW - ago)));
            from.flow.sent = vec![("mail1".into(), NOW - ago)];
            let (to, effects) = step(from, choose("mail1"), NOW).unwrap();
            let sent_at = if sends { NOW } else { NOW - ago };
            assert_eq!(to.flow.stage, code("mail1", Some(sent_at)), "{ago} s");
            assert_eq!(to.flow.sent, vec![("mail1".into(), sent_at)], "{ago} s");
            assert_eq!(
                matches!(effects[0], Effect::Save { send: Some(_), .. }),
                sends,
                "{ago} s"
            );
        }
    }

    #[test]
    fn choosing_is_refused() {
        // (from, method, refusal)
        let mut table: Vec<(State, &str, Refusal)> = vec![
            (choosing(), "nope", Refusal::NotOffered),
            // The same kind never passes two gates, not even through
            // another address.
            (
                flow(2, &["mail1"], Stage::Choose),
                "mail1",
                Refusal::NotOffered,
            ),
            (
                flow(2, &["mail1"], Stage::Choose),
                "mail2",
                Refusal::NotOffered,
            ),
            (flow(2, &["q"], Stage::Choose), "q", Refusal::NotOffered),
        ];
        for stage in [Stage::NewPassword, done(), Stage::Blocked] {
            table.push((flow(1, &["mail1"], stage), "app", Refusal::WrongStep));
        }
        for (from, method, refusal) in table {
            assert_eq!(
                step(from.clone(), choose(method), NOW),
                Err(refusal),
                "{method} from {:?}",
                from.flow.stage
            );
        }
    }

    #[test]
    fn questions_are_looked_up_only_when_they_will_be_asked() {
        assert!(asks_questions(&choosing(), "q"));
        assert!(!asks_questions(&choosing(), "mail1"));
        assert!(!asks_questions(&choosing(), "nope"));
        assert!(!asks_questions(&flow(2, &["q"], Stage::Choose), "q"));
        assert!(!asks_questions(&flow(2, &[], Stage::NewPassword), "q"));
    }

    #[test]
    fn resending() {
        // (seconds since the code, answer)
        let table: [(i64, Result<(), Refusal>); 4] = [
            (0, Err(Refusal::ResendTooSoon { retry_after: 60 })),
            (59, Err(Refusal::ResendTooSoon { retry_after: 1 })),
            (60, Ok(())),
            (300, Ok(())),
        ];
        for (ago, answer) in table {
            let mut from = flow(2, &[], code("sms", Some(NOW - ago)));
            from.flow.sent = vec![("sms".into(), NOW - ago)];
            match step(from, Input::Resend, NOW) {
                Ok((to, effects)) => {
                    assert_eq!(answer, Ok(()), "{ago} s");
                    assert_eq!(to.flow.stage, code("sms", Some(NOW)));
                    assert_eq!(to.flow.sent, vec![("sms".into(), NOW)]);
                    assert_eq!(effects, vec![save_sending("sms", Sms)]);
                }
                Err(r) => assert_eq!(Err(r), answer, "{ago} s"),
            }
        }
        // Nothing to resend: no code sent, or not at a code at all, or a
        // method the flow does not offer.
        let mut refused: Vec<State> = every_stage()
            .into_iter()
            .filter(|s| {
                !matches!(
                    s,
                    Stage::Code {
                        sent_at: Some(_),
                        ..
                    }
                )
            })
            .map(|s| flow(2, &[], s))
            .collect();
        refused.push(flow(2, &[], code("gone", Some(NOW - 100))));
        for from in refused {
            assert_eq!(
                step(from.clone(), Input::Resend, NOW),
                Err(Refusal::WrongStep),
                "{:?}",
                from.flow.stage
            );
        }
    }

    #[test]
    fn going_back() {
        for stage in every_stage() {
            let from = flow(2, &[], stage.clone());
            let (to, effects) = step(from.clone(), Input::Back, NOW).unwrap();
            if matches!(stage, Stage::Code { .. } | Stage::Questions { .. }) {
                assert_eq!(to.flow.stage, Stage::Choose);
                assert_eq!(effects, vec![Effect::SAVE]);
            } else {
                // Elsewhere back is a no-op, and nothing is saved.
                assert_eq!(to, from);
                assert_eq!(effects, vec![]);
            }
        }
    }

    fn right() -> Input {
        Input::Proof(Verdict::Right {
            print: "print".into(),
        })
    }

    fn wrong(typed_blocked: bool, account_blocked: bool) -> Input {
        Input::Proof(Verdict::Wrong {
            typed_blocked,
            account_blocked,
        })
    }

    #[test]
    fn gates() {
        // (policy's gates, administrator, gates passed before, stage reached
        // by a right proof at the next one)
        let table = [
            (1, false, 0, Stage::NewPassword),
            (2, false, 0, Stage::Choose),
            (2, false, 1, Stage::NewPassword),
            // Administrators need two, whatever the policy says.
            (1, true, 0, Stage::Choose),
            (1, true, 1, Stage::NewPassword),
        ];
        for (policy, admin, before, reached) in table {
            let gates = gates::required(policy, admin);
            let passed: &[&str] = if before == 0 { &[] } else { &["app"] };
            let from = flow(gates, passed, code("mail1", Some(NOW)));
            let (to, _) = step(from, right(), NOW).unwrap();
            assert_eq!(to.flow.stage, reached, "{policy} gates, admin {admin}");
            assert_eq!(to.flow.passed.len(), before + 1);
            assert_eq!(to.flow.proofs, vec!["print".to_string()]);
        }
        // Questions never alone, and never for administrators; any other
        // kind proves alone.
        assert!(!gates::offered_at_reset(SecurityQuestions, 1, false));
        assert!(gates::offered_at_reset(SecurityQuestions, 2, false));
        assert!(!gates::offered_at_reset(SecurityQuestions, 2, true));
        assert!(gates::offered_at_reset(Email, 1, false));
        assert!(gates::offered_at_reset(Email, 2, true));
    }

    #[test]
    fn proofs() {
        let at_code = || flow(2, &[], code("mail1", Some(NOW)));
        let retire = Effect::Save {
            send: None,
            retire_codes: true,
        };
        let failed = || Effect::Audit(Note::ProofFailed(Email));
        let counted = |right| Effect::CountProof { kind: Email, right };
        // (decoy, input, stage reached, effects)
        let table: Vec<(bool, Input, Stage, Vec<Effect>)> = vec![
            (
                false,
                right(),
                Stage::Choose,
                vec![
                    retire.clone(),
                    counted(true),
                    Effect::Audit(Note::ProofPassed(Email)),
                ],
            ),
            // A decoy's proofs are not counted (none is ever right, but
            // the core does not assume it).
            (
                true,
                right(),
                Stage::Choose,
                vec![retire, Effect::Audit(Note::ProofPassed(Email))],
            ),
            (
                false,
                Input::Proof(Verdict::Blocked),
                Stage::Blocked,
                vec![Effect::SAVE],
            ),
            (
                true,
                Input::Proof(Verdict::Blocked),
                Stage::Blocked,
                vec![Effect::SAVE],
            ),
            (
                false,
                Input::Proof(Verdict::RightButBlocked),
                Stage::Blocked,
                vec![Effect::Audit(Note::RightRefused(Email)), Effect::SAVE],
            ),
            // Wrong: nothing moves, and the answer is "code invalid".
            (
                false,
                wrong(false, false),
                code("mail1", Some(NOW)),
                vec![
                    counted(false),
                    failed(),
                    Effect::SAVE,
                    Effect::Answer(Refusal::CodeInvalid),
                ],
            ),
            (
                true,
                wrong(false, false),
                code("mail1", Some(NOW)),
                vec![failed(), Effect::SAVE, Effect::Answer(Refusal::CodeInvalid)],
            ),
            // Wrong, and the account is blocked (the identifier not yet).
            (
                false,
                wrong(false, true),
                code("mail1", Some(NOW)),
                vec![
                    counted(false),
                    failed(),
                    Effect::CountBlocked,
                    Effect::Audit(Note::UserBlocked(Email)),
                    Effect::SAVE,
                    Effect::Answer(Refusal::CodeInvalid),
                ],
            ),
            // Wrong, and the identifier as typed is blocked.
            (
                false,
                wrong(true, true),
                Stage::Blocked,
                vec![
                    counted(false),
                    failed(),
                    Effect::CountBlocked,
                    Effect::Audit(Note::UserBlocked(Email)),
                    Effect::SAVE,
                ],
            ),
            (
                true,
                wrong(true, false),
                Stage::Blocked,
                vec![
                    failed(),
                    Effect::Audit(Note::DecoyBlocked(Email)),
                    Effect::SAVE,
                ],
            ),
        ];
        for (decoy, input, reached, effects) in table {
            let mut from = at_code();
            from.decoy = decoy;
            let (to, got) = step(from, input.clone(), NOW).unwrap();
            assert_eq!(to.flow.stage, reached, "{input:?}, decoy {decoy}");
            assert_eq!(got, effects, "{input:?}, decoy {decoy}");
        }
        // Questions are proven like codes.
        let (to, _) = step(flow(2, &[], questions()), right(), NOW).unwrap();
        assert_eq!(to.flow.passed, vec!["q".to_string()]);
        // A late copy of a passed proof is refused, uncounted.
        assert_eq!(
            step(at_code(), Input::Proof(Verdict::Replayed), NOW),
            Err(Refusal::WrongStep)
        );
    }

    #[test]
    fn proofs_are_refused_away_from_a_code_or_the_questions() {
        for stage in [Stage::Choose, Stage::NewPassword, done(), Stage::Blocked] {
            let from = flow(2, &[], stage.clone());
            assert_eq!(
                step(from, right(), NOW),
                Err(Refusal::WrongStep),
                "{stage:?}"
            );
        }
        let at_gone = flow(2, &[], code("gone", None));
        assert_eq!(step(at_gone, right(), NOW), Err(Refusal::WrongStep));
        // A code is not an answer, nor answers a code.
        assert_eq!(
            proving(&flow(2, &[], questions()).flow, ProofForm::Code),
            Err(Refusal::WrongStep)
        );
        assert_eq!(
            proving(&flow(2, &[], code("app", None)).flow, ProofForm::Answers),
            Err(Refusal::WrongStep)
        );
        assert_eq!(
            proving(&flow(2, &[], code("app", None)).flow, ProofForm::Code),
            Ok(&option("app", Authenticator))
        );
    }

    #[test]
    fn the_new_password() {
        let finish = |outcome, notified| Input::Finish { outcome, notified };
        // Only after every gate.
        for stage in every_stage() {
            let from = flow(1, &["app"], stage.clone());
            let got = step(from, finish(Outcome::PasswordReset, true), NOW);
            if stage == Stage::NewPassword {
                let (to, effects) = got.unwrap();
                assert_eq!(to.flow.stage, done());
                assert_eq!(effects, vec![Effect::SAVE]);
            } else {
                assert_eq!(got, Err(Refusal::WrongStep), "{stage:?}");
            }
            assert_eq!(
                awaiting_password(&flow(1, &["app"], stage.clone()).flow).is_ok(),
                stage == Stage::NewPassword
            );
        }
        // An unlock, with no notice.
        let (to, _) = step(
            flow(1, &["app"], Stage::NewPassword),
            finish(Outcome::Unlocked, false),
            NOW,
        )
        .unwrap();
        assert_eq!(
            to.flow.stage,
            Stage::Done {
                outcome: Outcome::Unlocked,
                signed_out: 0,
                notified: false
            }
        );
        // A refused write reopens the step.
        let (to, effects) = step(flow(1, &["app"], done()), Input::Reopen, NOW).unwrap();
        assert_eq!(to.flow.stage, Stage::NewPassword);
        assert_eq!(effects, vec![Effect::SAVE]);
        // Once written, what else it did is noted; elsewhere nothing is.
        let (to, effects) = step(flow(1, &["app"], done()), Input::SignedOut(3), NOW).unwrap();
        assert_eq!(
            to.flow.stage,
            Stage::Done {
                outcome: Outcome::PasswordReset,
                signed_out: 3,
                notified: true
            }
        );
        assert_eq!(effects, vec![Effect::SAVE]);
        let from = flow(1, &["app"], Stage::NewPassword);
        assert_eq!(
            step(from.clone(), Input::SignedOut(3), NOW),
            Ok((from, vec![]))
        );
    }

    #[test]
    fn answers_must_fit_the_questions() {
        let asked = flow(2, &[], questions()).flow;
        let two = |a: &str| vec![a.to_string(), "b".to_string()];
        // (answers, verdict)
        let table = [
            (two("a"), Ok(())),
            (two(&"x".repeat(256)), Ok(())),
            (two(&"x".repeat(257)), Err(Refusal::Answers { expected: 2 })),
            (vec!["a".into()], Err(Refusal::Answers { expected: 2 })),
            (Vec::new(), Err(Refusal::Answers { expected: 2 })),
        ];
        for (answers, verdict) in table {
            assert_eq!(answers_fit(&asked, &answers), verdict, "{answers:?}");
        }
        let at_code = flow(2, &[], code("app", None)).flow;
        assert_eq!(answers_fit(&at_code, &two("a")), Err(Refusal::WrongStep));
    }

    #[test]
    fn a_proofs_fingerprint_never_prints() {
        let shown = format!(
            "{:?}",
            Input::Proof(Verdict::Right {
                print: "f00d".into()
            })
        );
        assert!(!shown.contains("f00d"), "{shown}");
    }

    #[test]
    fn a_late_copy_of_a_passed_proof_is_a_replay() {
        let mut passed = flow(2, &["app"], Stage::Choose).flow;
        passed.proofs = vec!["p1".into()];
        assert!(is_replay(&passed, "p1"));
        assert!(!is_replay(&passed, "p2"));
    }

    #[test]
    fn expiry_is_at_the_boundary_for_every_input() {
        assert_eq!(alive(EXPIRES, EXPIRES - 1), Ok(()));
        assert_eq!(alive(EXPIRES, EXPIRES), Err(Refusal::Expired));
        assert_eq!(alive(EXPIRES, EXPIRES + 1), Err(Refusal::Expired));
        let inputs = [
            choose("app"),
            Input::Resend,
            Input::Back,
            right(),
            Input::Finish {
                outcome: Outcome::PasswordReset,
                notified: true,
            },
            Input::Reopen,
            Input::SignedOut(1),
        ];
        for input in inputs {
            for stage in every_stage() {
                let from = flow(2, &[], stage.clone());
                assert_eq!(
                    step(from, input.clone(), EXPIRES),
                    Err(Refusal::Expired),
                    "{input:?} at {stage:?}"
                );
            }
        }
        // A second before, the same flow still steps.
        assert!(step(choosing(), choose("app"), EXPIRES - 1).is_ok());
    }

    #[test]
    fn a_decoy_takes_the_same_steps() {
        let inputs = [
            choose("mail1"),
            choose("q"),
            Input::Back,
            Input::Resend,
            right(),
            wrong(false, false),
            wrong(true, false),
        ];
        for input in inputs {
            for stage in every_stage() {
                let real = flow(2, &[], stage.clone());
                let mut decoy = real.clone();
                decoy.decoy = true;
                let strip = |r: Result<(State, Vec<Effect>), Refusal>| {
                    r.map(|(s, e)| {
                        (
                            s.flow,
                            e.into_iter()
                                .filter(|e| !matches!(e, Effect::CountProof { .. }))
                                .collect::<Vec<_>>(),
                        )
                    })
                };
                let (r, d) = (
                    strip(step(real, input.clone(), NOW)),
                    strip(step(decoy, input.clone(), NOW)),
                );
                // The decoy's extra record when its identifier is blocked
                // is audit only.
                let d = d.map(|(s, e)| {
                    let e: Vec<_> = e
                        .into_iter()
                        .filter(|e| !matches!(e, Effect::Audit(Note::DecoyBlocked(_))))
                        .collect();
                    (s, e)
                });
                assert_eq!(r, d, "{input:?} at {stage:?}");
            }
        }
    }

    fn candidate(kind: MethodKind) -> Candidate {
        (kind, format!("{kind:?}"), None)
    }

    #[test]
    fn admitting_an_account() {
        let kinds = |o: Option<(u8, bool, Vec<Candidate>)>| {
            o.map(|(g, _, opts)| (g, opts.into_iter().map(|c| c.0).collect::<Vec<_>>()))
        };
        // (policy gates, admin, enabled, options, gates and kinds offered)
        #[allow(clippy::type_complexity)]
        let table: Vec<(
            u8,
            bool,
            bool,
            Vec<MethodKind>,
            Option<(u8, Vec<MethodKind>)>,
        )> = vec![
            // One gate: the questions are not offered (they never prove alone).
            (
                1,
                false,
                true,
                vec![Email, SecurityQuestions],
                Some((1, vec![Email])),
            ),
            (1, false, true, vec![SecurityQuestions], None),
            // Two gates: two kinds needed, two emails are one.
            (
                2,
                false,
                true,
                vec![Email, SecurityQuestions],
                Some((2, vec![Email, SecurityQuestions])),
            ),
            (2, false, true, vec![Email, Email], None),
            // An administrator: two gates whatever the policy, no questions.
            (1, true, true, vec![Email, Sms], Some((2, vec![Email, Sms]))),
            (1, true, true, vec![Email, SecurityQuestions], None),
            (1, true, true, vec![Email], None),
            // Not enabled for reset: a decoy, whatever it has.
            (1, false, false, vec![Email, Sms], None),
        ];
        for (policy, admin, enabled, options, want) in table {
            let options: Vec<Candidate> = options.into_iter().map(candidate).collect();
            assert_eq!(
                kinds(admit(policy, admin, enabled, false, options.clone())),
                want,
                "{policy} gates, admin {admin}, enabled {enabled}, {options:?}"
            );
        }
    }

    /// An administrator under `admins_require_phishing_resistant` is let in
    /// only with a passkey among the options, and the flow knows it must
    /// end with one; anyone else is as before.
    #[test]
    fn admitting_under_admins_require_phishing_resistant() {
        let opts = |k: &[MethodKind]| k.iter().copied().map(candidate).collect::<Vec<_>>();
        let pr = |o: Option<(u8, bool, Vec<Candidate>)>| o.map(|(g, pr, _)| (g, pr));
        let passkey = MethodKind::Passkey;
        assert_eq!(pr(admit(1, true, true, true, opts(&[Email, Sms]))), None);
        assert_eq!(
            pr(admit(1, true, true, true, opts(&[Email, passkey]))),
            Some((2, true))
        );
        assert_eq!(
            pr(admit(1, false, true, true, opts(&[Email]))),
            Some((1, false))
        );
        assert_eq!(
            pr(admit(1, true, true, false, opts(&[Email, Sms]))),
            Some((2, false))
        );
        let mut entry = account(2);
        entry.who = Entrant::Account {
            actor: "root".into(),
            username: "root".into(),
            gates: 2,
            phishing_resistant: true,
        };
        assert!(start(entry, NOW).0.flow.phishing_resistant);
        assert!(!start(account(2), NOW).0.flow.phishing_resistant);
    }

    fn account(gates: u8) -> Entry {
        Entry {
            who: Entrant::Account {
                actor: "Alice@Example.com".into(),
                username: "alice".into(),
                gates,
                phishing_resistant: false,
            },
            typed: "t:alice".into(),
            policy_gates: 1,
            offered: vec![option("mail1", Email), option("sms", Sms)],
        }
    }

    fn decoy_entry() -> Entry {
        Entry {
            who: Entrant::Decoy {
                seed: "f00d".into(),
            },
            ..account(1)
        }
    }

    #[test]
    fn starting_a_flow() {
        let (st, effects) = start(account(1), NOW);
        assert_eq!(st.expires_at, NOW + FLOW_LIFETIME);
        assert!(!st.decoy);
        assert_eq!(st.flow.stage, Stage::Choose);
        assert_eq!(st.flow.actor, "Alice@Example.com", "as typed");
        assert_eq!(st.flow.username, "alice");
        assert_eq!(st.flow.typed, "t:alice");
        assert_eq!((st.flow.gates, st.flow.shown_gates), (1, 1));
        assert_eq!(st.flow.offered, account(1).offered);
        assert!(st.flow.passed.is_empty() && st.flow.proofs.is_empty() && st.flow.sent.is_empty());
        assert_eq!(st.flow.decoy, "");
        assert_eq!(
            effects,
            vec![
                Effect::Create,
                Effect::CountStarted,
                Effect::Audit(Note::Identified { decoy: false })
            ]
        );
        // An administrator needs two gates, yet announces the policy's one.
        let (st, _) = start(account(2), NOW);
        assert_eq!((st.flow.gates, st.flow.shown_gates), (2, 1));
    }

    #[test]
    fn a_decoy_starts_alike() {
        let (real, real_effects) = start(account(1), NOW);
        let (decoy, decoy_effects) = start(decoy_entry(), NOW);
        assert!(decoy.decoy);
        // What is typed for a decoy is never its actor.
        assert_eq!(decoy.flow.actor, NO_ACCOUNT);
        assert_eq!(decoy.flow.username, "");
        assert_eq!(decoy.flow.decoy, "f00d");
        assert_eq!(
            decoy_effects,
            vec![
                Effect::Create,
                Effect::CountStarted,
                Effect::Audit(Note::Identified { decoy: true })
            ]
        );
        // Everything the wizard shows is the same: stage, gates, options, expiry.
        assert_eq!(decoy.expires_at, real.expires_at);
        assert_eq!(decoy.flow.stage, real.flow.stage);
        assert_eq!(
            (decoy.flow.gates, decoy.flow.shown_gates),
            (real.flow.gates, real.flow.shown_gates)
        );
        assert_eq!(decoy.flow.offered, real.flow.offered);
        assert_eq!(decoy_effects.len(), real_effects.len());
        // And it goes on through the same transitions.
        let (r, _) = step(real, choose("mail1"), NOW + 1).unwrap();
        let (d, _) = step(decoy, choose("mail1"), NOW + 1).unwrap();
        assert_eq!(r.flow.stage, d.flow.stage);
        // A decoy of two gates announces the policy's count like anyone.
        let two = Entry {
            policy_gates: 2,
            ..decoy_entry()
        };
        let (st, _) = start(two, NOW);
        assert_eq!((st.flow.gates, st.flow.shown_gates), (2, 2));
    }

    #[test]
    fn what_follows_the_write() {
        let finished = |outcome| {
            flow(
                2,
                &["mail1", "app"],
                Stage::Done {
                    outcome,
                    signed_out: 0,
                    notified: true,
                },
            )
            .flow
        };
        assert_eq!(
            written(&finished(Outcome::PasswordReset)),
            vec![
                After::ReleaseNotices,
                After::CountCompleted(Outcome::PasswordReset),
                After::EndOtherFlows,
                After::RevokePasses,
                After::SignOut,
                After::Audit(Note::ResetCompleted),
                After::Audit(Note::Completed),
                After::RecordOutcome,
            ]
        );
        // An unlock changes no password: nothing to announce, end or sign out.
        assert_eq!(
            written(&finished(Outcome::Unlocked)),
            vec![
                After::CountCompleted(Outcome::Unlocked),
                After::Audit(Note::Unlocked),
            ]
        );
        // A flow that has not finished has nothing to follow.
        for stage in every_stage() {
            if !matches!(stage, Stage::Done { .. }) {
                assert_eq!(
                    written(&flow(2, &[], stage.clone()).flow),
                    Vec::new(),
                    "{stage:?}"
                );
            }
        }
    }

    #[test]
    fn the_outcome_is_noted_once_finished() {
        // The sessions ended are noted on a finished flow, and only there.
        let (to, effects) = step(flow(2, &[], done()), Input::SignedOut(3), NOW).unwrap();
        assert_eq!(
            to.flow.stage,
            Stage::Done {
                outcome: Outcome::PasswordReset,
                signed_out: 3,
                notified: true,
            }
        );
        assert_eq!(effects, vec![Effect::SAVE]);
        let (to, effects) = step(choosing(), Input::SignedOut(3), NOW).unwrap();
        assert_eq!((to, effects), (choosing(), Vec::new()));
    }

    #[test]
    fn refusals_are_the_api_answers() {
        use crate::error::ApiError;
        assert!(matches!(
            ApiError::from(Refusal::WrongStep),
            ApiError::WrongStep
        ));
        assert!(matches!(
            ApiError::from(Refusal::Expired),
            ApiError::FlowExpired
        ));
        assert!(matches!(
            ApiError::from(Refusal::CodeInvalid),
            ApiError::CodeInvalid
        ));
        assert!(matches!(
            ApiError::from(Refusal::ResendTooSoon { retry_after: 7 }),
            ApiError::ResendTooSoon { retry_after: 7 }
        ));
        assert!(matches!(
            ApiError::from(Refusal::NotOffered),
            ApiError::InvalidField { field, .. } if field == "method"
        ));
        assert!(matches!(
            ApiError::from(Refusal::Answers { expected: 3 }),
            ApiError::InvalidField { field, reason } if field == "answers" && reason == "must be 3 answers"
        ));
    }
}
