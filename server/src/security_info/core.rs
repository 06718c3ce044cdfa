//! Security-info enrolment as a pure state machine: `step(state, input, now)`
//! gives the next state and what the service must do (effects, as data), or
//! the refusal to answer. No store, no directory, no clock and no randomness
//! here: `now` comes in, and so does everything the service looked up (the
//! session, the methods the user holds, what the portal offers, the verdict
//! on a code). The service draws secrets and codes when it carries out the
//! effects that need them.
//!
//! Every rule of a change to a user's methods is written here once: who may
//! start or confirm an enrolment (the step-up rule), how long one lives and
//! how many wrong codes it survives, when a removal or a replacement needs a
//! recent password, and when "all required" is reached. Who needs how many
//! gates and which kinds count stay in [`gates`].

use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::{AddMethodRequest, SignedInWith, proves_stepup};

use crate::clock::UnixTime;
use crate::error::ApiError;
use crate::i18n;
use crate::methods::{self, Enrolment, gates};
use crate::session::Session;

/// An enrollment must be confirmed within 10 minutes.
pub const ENROLLMENT_LIFETIME: i64 = 10 * 60;
/// Wrong codes an enrollment survives.
pub const ENROLLMENT_ATTEMPTS: i64 = 5;

pub const REGISTERED: &str = "User registered security info";
pub const REGISTERED_ALL: &str = "User registered all required security info";
pub const DELETED: &str = "User deleted security info";
pub const CHANGED_DEFAULT: &str = "User changed default security info";

/// An address or number: personal data, so it never prints.
#[derive(Clone, Default, PartialEq, Eq)]
pub(super) struct Target(pub Option<String>);

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "[target]" } else { "None" })
    }
}

impl Target {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// A method the user holds, as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Held {
    pub id: String,
    pub kind: MethodKind,
    pub target: Target,
    pub is_default: bool,
}

/// Who asks, and what they hold: looked up by the service for each input.
#[derive(Debug, Clone, Copy)]
pub(super) struct Account<'a> {
    pub session: &'a Session,
    pub held: &'a [Held],
    /// The kinds this portal offers (its policy).
    pub available: &'a [MethodKind],
    /// The policy's gates for a reset (administrators need more, see
    /// [`gates::required`]).
    pub policy_required: u8,
}

impl Account<'_> {
    fn is_admin(&self) -> bool {
        self.session.user.is_admin
    }

    fn available(&self, kind: MethodKind) -> bool {
        self.available.contains(&kind)
    }

    /// Distinct kinds among `kinds` that a reset would offer this user.
    fn usable(&self, kinds: impl Iterator<Item = MethodKind> + Clone) -> usize {
        gates::usable_kinds(kinds, self.is_admin(), |k| self.available(k))
    }

    /// Once a user has a method that can prove who they are, changing their
    /// methods (adding one, replacing recovery codes or questions, removing
    /// one) needs a proof of one in this session within 10 minutes, or a
    /// Temporary Access Pass session. A password alone may only make the
    /// first registration. Security questions alone count for nothing here,
    /// as at reset: they prove nothing on their own.
    fn stepped_up(&self, now: UnixTime) -> Result<(), Refusal> {
        let has_proof = self.held.iter().any(|m| proves_stepup(m.kind));
        if !has_proof || self.session.stepped_up(now) {
            Ok(())
        } else {
            Err(Refusal::StepUpRequired)
        }
    }

    /// Not a Temporary Access Pass session.
    fn password(&self) -> Result<(), Refusal> {
        match self.session.via {
            SignedInWith::Password => Ok(()),
            SignedInWith::TemporaryAccessPass => Err(Refusal::PassRestricted),
        }
    }

    /// A password proved within the last 10 minutes.
    fn recent(&self, now: UnixTime) -> Result<(), Refusal> {
        self.password()?;
        if self.session.recently_authenticated(now) {
            Ok(())
        } else {
            Err(Refusal::ReauthRequired)
        }
    }

    fn find(&self, id: &str) -> Result<&Held, Refusal> {
        self.held.iter().find(|m| m.id == id).ok_or(Refusal::NotYours)
    }

    /// The user's methods of `kind` that a new set would replace: a first set
    /// needs no more than the session, replacing one a recent password.
    fn replaceable(&self, kind: MethodKind, now: UnixTime) -> Result<Vec<String>, Refusal> {
        let existing: Vec<String> = self
            .held
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| m.id.clone())
            .collect();
        if !existing.is_empty() {
            self.recent(now)?;
        }
        self.stepped_up(now)?;
        Ok(existing)
    }

    /// The audit of a method of `kind` stored (in place of `replaced`), and
    /// the "all required" milestone if this change reached it.
    fn registered(&self, kind: MethodKind, replaced: &[String]) -> Vec<Effect> {
        let required = usize::from(gates::required(self.policy_required, self.is_admin()));
        let before = self.usable(self.held.iter().map(|m| m.kind));
        let after = self.usable(
            self.held
                .iter()
                .filter(|m| !replaced.contains(&m.id))
                .map(|m| m.kind)
                .chain([kind]),
        );
        let mut effects = vec![Effect::Audit {
            activity: REGISTERED,
            kind: Some(kind),
        }];
        if before < required && after >= required {
            effects.push(Effect::MarkReviewed);
            effects.push(Effect::Audit {
                activity: REGISTERED_ALL,
                kind: None,
            });
        }
        effects
    }
}

/// An enrolment waiting for its first code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pending {
    pub kind: MethodKind,
    /// Where its code went (none for an authenticator).
    pub target: Target,
    pub expires_at: UnixTime,
}

/// Where the session's enrolment stands; each variant carries its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum State {
    /// No enrolment pending (or the one asked for has expired or gone).
    Idle,
    Pending(Pending),
    /// The enrolment was confirmed: its method is stored.
    Confirmed(MethodKind),
}

/// The service's finding on a confirming code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Right,
    Wrong,
}

/// What the user (or the service on their behalf) asks.
#[derive(Debug, Clone, Copy)]
pub(super) enum Input<'a> {
    /// Start adding a method: a fresh secret, or a code to a typed target.
    Start {
        account: Account<'a>,
        request: &'a AddMethodRequest,
    },
    /// The pending enrolment's code, as the service found it.
    Confirm {
        account: Account<'a>,
        verdict: Verdict,
    },
    /// A wrong code was counted: the enrolment's wrong codes so far (`None`
    /// if it had gone meanwhile).
    Counted(Option<i64>),
    /// Remove the held method `method`.
    Remove {
        account: Account<'a>,
        method: &'a str,
    },
    /// Make the held method `method` the default.
    SetDefault {
        account: Account<'a>,
        method: &'a str,
    },
    /// A new set of recovery codes, replacing any earlier one.
    NewRecoveryCodes { account: Account<'a> },
    /// New security answers, replacing any earlier ones; `answers` is the
    /// policy's finding on them (the index of the first refused one).
    SetQuestions {
        account: Account<'a>,
        answers: Result<(), usize>,
    },
}

/// "Your security info was changed" to the user (and `also` to a new
/// address), with `what` the change's catalog key. It goes in the change's
/// own transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Notice {
    pub what: i18n::Key,
    pub also: Target,
}

impl Notice {
    fn of(what: i18n::Key) -> Self {
        Self {
            what,
            also: Target(None),
        }
    }
}

/// What the service carries out, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Effect {
    /// Drop the session's pending enrolment, and every expired one.
    ClearPending,
    /// Charge a code to a typed target: to the session, the client and the
    /// account, so nobody can turn enrolment into an SMS pump.
    ChargeSend { target: String },
    /// Store the new pending enrolment in place of the session's, with a
    /// fresh secret, or a fresh code (`send_code`) queued to its target in
    /// the same transaction.
    Open { pending: Pending, send_code: bool },
    /// Count a wrong code against the enrolment, atomically, and come back
    /// with [`Input::Counted`].
    CountAttempt,
    /// Drop the enrolment: its wrong codes are used up.
    Retire,
    /// Take the enrolment: of concurrent confirmations only the one whose
    /// delete lands goes on; the others answer [`Refusal::Expired`].
    Consume,
    /// Store the confirmed method (with the secret or code step the service
    /// proved), with its notice.
    AddMethod {
        kind: MethodKind,
        target: Target,
        notice: Notice,
    },
    /// Drop a held method, the oldest left inheriting the default if it was
    /// the default, with its notice. If a concurrent removal won, the rest
    /// is not carried out.
    RemoveMethod {
        id: String,
        was_default: bool,
        notice: Notice,
    },
    /// Make a held method the only default, with its notice.
    MakeDefault { id: String, notice: Notice },
    /// Drop `replaced` and store a new method of `kind`, whose set (codes,
    /// answers) the service draws and adds, with its notice: all in one
    /// transaction.
    ReplaceMethods {
        kind: MethodKind,
        replaced: Vec<String>,
        notice: Notice,
    },
    /// Proving the new method is a fresh proof of a method the user now has.
    MarkSteppedUp,
    /// The user's methods count as reviewed now.
    MarkReviewed,
    Audit {
        activity: &'static str,
        kind: Option<MethodKind>,
    },
    /// Answer with this refusal (the effects before it are done).
    Answer(Refusal),
}

/// A typed target the method refused, as its own answer.
#[derive(Debug)]
pub(super) struct TargetRefused(pub ApiError);

/// Two refusals of a target are the same answer if they read the same.
impl PartialEq for TargetRefused {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for TargetRefused {}

impl Clone for TargetRefused {
    fn clone(&self) -> Self {
        Self(match &self.0 {
            ApiError::EmailInvalid => ApiError::EmailInvalid,
            ApiError::PhoneInvalid => ApiError::PhoneInvalid,
            ApiError::InvalidField { field, reason } => ApiError::InvalidField {
                field: field.clone(),
                reason: reason.clone(),
            },
            other => ApiError::internal(other.to_string()),
        })
    }
}

/// Why a step is refused; each is one of the API's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The user holds a method that proves who they are, and this session
    /// has not proved one lately (nor is it a pass session).
    StepUpRequired,
    /// The portal does not offer this kind.
    KindNotOffered,
    /// Security questions are not offered to this account (or at all).
    QuestionsNotOffered,
    /// The user already holds as many of this kind as it allows.
    MethodLimit,
    /// The typed address or number is not one.
    Target(TargetRefused),
    /// The user already holds this kind with this target.
    AlreadyRegistered { field: &'static str },
    /// No such enrolment in this session, or it has expired.
    Expired,
    /// The code was wrong.
    CodeInvalid,
    /// A Temporary Access Pass session may not do this.
    PassRestricted,
    /// The password must be proved again first.
    ReauthRequired,
    /// Not one of the user's methods (or not one that may be the default).
    NotYours,
    /// The answer at this index was refused.
    AnswersInvalid { index: usize },
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::StepUpRequired => Self::StepUpRequired,
            Refusal::KindNotOffered => Self::InvalidField {
                field: "kind".into(),
                reason: "not offered by this portal".into(),
            },
            Refusal::QuestionsNotOffered => Self::InvalidField {
                field: "answers".into(),
                reason: "security questions are not offered to this account".into(),
            },
            Refusal::MethodLimit => Self::MethodLimit,
            Refusal::Target(TargetRefused(e)) => e,
            Refusal::AlreadyRegistered { field } => Self::InvalidField {
                field: field.into(),
                reason: "already registered".into(),
            },
            Refusal::Expired => Self::EnrollmentExpired,
            Refusal::CodeInvalid => Self::CodeInvalid,
            Refusal::PassRestricted => Self::PassRestricted,
            Refusal::ReauthRequired => Self::ReauthRequired,
            Refusal::NotYours => Self::InvalidField {
                field: "method".into(),
                reason: "not one of your methods".into(),
            },
            Refusal::AnswersInvalid { index } => Self::AnswersInvalid { index },
        }
    }
}

/// The kind an add request is for.
pub(super) fn kind_of(request: &AddMethodRequest) -> MethodKind {
    match request {
        AddMethodRequest::Authenticator => MethodKind::Authenticator,
        AddMethodRequest::Email { .. } => MethodKind::Email,
        AddMethodRequest::Sms { .. } => MethodKind::Sms,
    }
}

/// One step of the session's enrolment, or of a change to the user's
/// methods (which leaves the enrolment as it is).
pub(super) fn step(
    state: State,
    input: Input<'_>,
    now: UnixTime,
) -> Result<(State, Vec<Effect>), Refusal> {
    match input {
        Input::Start { account, request } => start(account, request, now),
        Input::Confirm { account, verdict } => confirm(state, account, verdict, now),
        Input::Counted(attempts) => Ok(counted(state, attempts)),
        Input::Remove { account, method } => {
            account.recent(now)?;
            // Removing everything would reopen "first registration" to a
            // password alone: a removal needs the same proof as an addition.
            account.stepped_up(now)?;
            let m = account.find(method)?;
            let effects = vec![
                Effect::RemoveMethod {
                    id: m.id.clone(),
                    was_default: m.is_default,
                    notice: Notice::of(methods::of(m.kind).removed_key()),
                },
                Effect::Audit {
                    activity: DELETED,
                    kind: Some(m.kind),
                },
            ];
            Ok((state, effects))
        }
        Input::SetDefault { account, method } => {
            account.password()?;
            let m = account.find(method)?;
            if !methods::of(m.kind).may_be_default() {
                return Err(Refusal::NotYours);
            }
            let effects = vec![
                Effect::MakeDefault {
                    id: m.id.clone(),
                    notice: Notice::of(crate::key!("change.default")),
                },
                Effect::Audit {
                    activity: CHANGED_DEFAULT,
                    kind: Some(m.kind),
                },
            ];
            Ok((state, effects))
        }
        Input::NewRecoveryCodes { account } => {
            let kind = MethodKind::RecoveryCode;
            if !account.available(kind) {
                return Err(Refusal::KindNotOffered);
            }
            Ok((state, replace(account, kind, now)?))
        }
        Input::SetQuestions { account, answers } => {
            let kind = MethodKind::SecurityQuestions;
            if !account.available(kind) || !gates::allowed(kind, account.is_admin()) {
                return Err(Refusal::QuestionsNotOffered);
            }
            answers.map_err(|index| Refusal::AnswersInvalid { index })?;
            Ok((state, replace(account, kind, now)?))
        }
    }
}

/// A new enrolment, in place of any the session had.
fn start(
    account: Account<'_>,
    request: &AddMethodRequest,
    now: UnixTime,
) -> Result<(State, Vec<Effect>), Refusal> {
    let kind = kind_of(request);
    if !account.available(kind) {
        return Err(Refusal::KindNotOffered);
    }
    account.stepped_up(now)?;
    let method = methods::of(kind);
    if account.held.iter().filter(|m| m.kind == kind).count() >= method.limit() {
        return Err(Refusal::MethodLimit);
    }
    let target = match request {
        AddMethodRequest::Authenticator => None,
        AddMethodRequest::Email { address: typed } | AddMethodRequest::Sms { phone: typed } => {
            Some(
                method
                    .check_target(typed)
                    .map_err(|e| Refusal::Target(TargetRefused(e)))?,
            )
        }
    };
    if let Some(t) = &target
        && account.held.iter().any(|m| {
            m.kind == kind
                && m.target
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(t))
        })
    {
        return Err(Refusal::AlreadyRegistered {
            field: method.target_field(),
        });
    }
    let send_code = match method.enrolment() {
        Enrolment::Secret => false,
        Enrolment::CodeToTarget | Enrolment::Set => true,
    };
    let mut effects = vec![Effect::ClearPending];
    if send_code {
        effects.push(Effect::ChargeSend {
            target: target.clone().unwrap_or_default(),
        });
    }
    let pending = Pending {
        kind,
        target: Target(target),
        expires_at: now + ENROLLMENT_LIFETIME,
    };
    effects.push(Effect::Open {
        pending: pending.clone(),
        send_code,
    });
    Ok((State::Pending(pending), effects))
}

/// The pending enrolment's first code.
fn confirm(
    state: State,
    account: Account<'_>,
    verdict: Verdict,
    now: UnixTime,
) -> Result<(State, Vec<Effect>), Refusal> {
    // The rule holds when the method is stored, not only when its enrolment
    // began: an enrolment started as a first registration cannot be
    // confirmed once the user has registered a method elsewhere.
    account.stepped_up(now)?;
    let State::Pending(p) = state else {
        return Err(Refusal::Expired);
    };
    if p.expires_at <= now {
        return Err(Refusal::Expired);
    }
    match verdict {
        Verdict::Wrong => Ok((State::Pending(p), vec![Effect::CountAttempt])),
        Verdict::Right => {
            let method = methods::of(p.kind);
            let also = Target(
                method
                    .notifies_target()
                    .then(|| p.target.0.clone())
                    .flatten(),
            );
            let mut effects = vec![
                Effect::Consume,
                Effect::AddMethod {
                    kind: p.kind,
                    target: p.target.clone(),
                    notice: Notice {
                        what: method.added_key(),
                        also,
                    },
                },
                // The next method (an administrator's second, say) needs no
                // other proof.
                Effect::MarkSteppedUp,
            ];
            effects.extend(account.registered(p.kind, &[]));
            Ok((State::Confirmed(p.kind), effects))
        }
    }
}

/// After a wrong code was counted: the enrolment goes once its wrong codes
/// reach [`ENROLLMENT_ATTEMPTS`] (or if it went meanwhile).
fn counted(state: State, attempts: Option<i64>) -> (State, Vec<Effect>) {
    let answer = Effect::Answer(Refusal::CodeInvalid);
    if attempts.is_none_or(|a| a >= ENROLLMENT_ATTEMPTS) {
        (State::Idle, vec![Effect::Retire, answer])
    } else {
        (state, vec![answer])
    }
}

/// A new set of `kind` in place of the user's earlier one.
fn replace(account: Account<'_>, kind: MethodKind, now: UnixTime) -> Result<Vec<Effect>, Refusal> {
    let replaced = account.replaceable(kind, now)?;
    let mut effects = vec![Effect::ReplaceMethods {
        kind,
        replaced: replaced.clone(),
        notice: Notice::of(methods::of(kind).added_key()),
    }];
    effects.extend(account.registered(kind, &replaced));
    Ok(effects)
}
