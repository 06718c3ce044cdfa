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
        self.held
            .iter()
            .find(|m| m.id == id)
            .ok_or(Refusal::NotYours)
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
    ChargeSend { target: Target },
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
    /// The user already holds this target (as any kind that takes it).
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
        AddMethodRequest::OfficePhone { .. } => MethodKind::OfficePhone,
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
        AddMethodRequest::Email { address: typed }
        | AddMethodRequest::Sms { phone: typed }
        | AddMethodRequest::OfficePhone { phone: typed } => Some(
            method
                .check_target(typed)
                .map_err(|e| Refusal::Target(TargetRefused(e)))?,
        ),
    };
    if let Some(t) = &target
        && account.held.iter().any(|m| {
            // Same field, whatever the kind: a number held as a mobile is
            // not also an office phone (one phone would pass two gates).
            methods::of(m.kind).target_field() == method.target_field()
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
            target: Target(target.clone()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::DirUser;
    use MethodKind::{Authenticator, Email, OfficePhone, RecoveryCode, SecurityQuestions, Sms};

    const NOW: UnixTime = 1_000_000;
    /// The step-up and recent-password window (10 minutes).
    const WINDOW: UnixTime = crate::session::RECENT_AUTH;
    const ALL: [MethodKind; 6] = [
        Authenticator,
        Sms,
        Email,
        RecoveryCode,
        SecurityQuestions,
        OfficePhone,
    ];

    fn user(is_admin: bool) -> DirUser {
        DirUser {
            id: "u1".into(),
            username: "alice".into(),
            display_name: "Alice".into(),
            email: Some("alice@example.com".into()),
            mobile: None,
            is_admin,
            enabled: true,
            locked_until: None,
        }
    }

    /// A session opened `via`, whose password was proved at `auth_at` and
    /// a method last at `mfa_at`.
    fn session(via: SignedInWith, auth_at: UnixTime, mfa_at: UnixTime) -> Session {
        Session {
            hash: "s1".into(),
            user: user(false),
            via,
            auth_at,
            mfa_at,
        }
    }

    /// Signed in with the password just now; no method proved yet.
    fn signed_in() -> Session {
        session(SignedInWith::Password, NOW, 0)
    }

    /// Signed in with a Temporary Access Pass just now.
    fn pass() -> Session {
        session(SignedInWith::TemporaryAccessPass, NOW, 0)
    }

    fn admin(mut s: Session) -> Session {
        s.user.is_admin = true;
        s
    }

    fn held(id: &str, kind: MethodKind, target: Option<&str>) -> Held {
        Held {
            id: id.into(),
            kind,
            target: Target(target.map(str::to_string)),
            is_default: false,
        }
    }

    fn mail(id: &str, address: &str) -> Held {
        held(id, Email, Some(address))
    }

    fn account<'a>(session: &'a Session, held: &'a [Held]) -> Account<'a> {
        Account {
            session,
            held,
            available: &ALL,
            policy_required: 1,
        }
    }

    fn pending(kind: MethodKind, target: Option<&str>) -> Pending {
        Pending {
            kind,
            target: Target(target.map(str::to_string)),
            expires_at: NOW + ENROLLMENT_LIFETIME,
        }
    }

    fn email_request(address: &str) -> AddMethodRequest {
        AddMethodRequest::Email {
            address: address.into(),
        }
    }

    fn start_with(
        state: State,
        account: Account<'_>,
        request: &AddMethodRequest,
        now: UnixTime,
    ) -> Result<(State, Vec<Effect>), Refusal> {
        step(state, Input::Start { account, request }, now)
    }

    fn confirm_with(
        state: State,
        account: Account<'_>,
        verdict: Verdict,
        now: UnixTime,
    ) -> Result<(State, Vec<Effect>), Refusal> {
        step(state, Input::Confirm { account, verdict }, now)
    }

    fn audit(activity: &'static str, kind: Option<MethodKind>) -> Effect {
        Effect::Audit { activity, kind }
    }

    /// The audit of a stored method and the "all required" milestone.
    fn milestone(kind: MethodKind) -> Vec<Effect> {
        vec![
            audit(REGISTERED, Some(kind)),
            Effect::MarkReviewed,
            audit(REGISTERED_ALL, None),
        ]
    }

    // ---- start ----

    #[test]
    fn a_first_authenticator_needs_no_step_up_and_gets_a_secret() {
        let s = signed_in();
        let got = start_with(
            State::Idle,
            account(&s, &[]),
            &AddMethodRequest::Authenticator,
            NOW,
        );
        let p = pending(Authenticator, None);
        assert_eq!(
            got,
            Ok((
                State::Pending(p.clone()),
                vec![
                    Effect::ClearPending,
                    Effect::Open {
                        pending: p,
                        send_code: false
                    }
                ]
            ))
        );
    }

    #[test]
    fn an_address_is_charged_then_sent_a_code_and_lives_ten_minutes() {
        let s = signed_in();
        let (state, effects) = start_with(
            State::Idle,
            account(&s, &[]),
            &email_request("bob@example.com"),
            NOW,
        )
        .unwrap();
        let p = pending(Email, Some("bob@example.com"));
        assert_eq!(p.expires_at, NOW + 600);
        assert_eq!(state, State::Pending(p.clone()));
        assert_eq!(
            effects,
            vec![
                Effect::ClearPending,
                Effect::ChargeSend {
                    target: Target(Some("bob@example.com".into()))
                },
                Effect::Open {
                    pending: p,
                    send_code: true
                },
            ]
        );
    }

    #[test]
    fn a_new_start_replaces_the_sessions_pending_enrolment() {
        let s = signed_in();
        let before = State::Pending(pending(Email, Some("old@example.com")));
        let (state, effects) = start_with(
            before,
            account(&s, &[]),
            &AddMethodRequest::Authenticator,
            NOW,
        )
        .unwrap();
        assert_eq!(state, State::Pending(pending(Authenticator, None)));
        assert_eq!(effects[0], Effect::ClearPending);
    }

    #[test]
    fn start_refusals() {
        let password = signed_in();
        let pass = pass();
        let d_mail = email_request("d@example.com");
        let bad_mail = email_request("not an address");
        let bad_phone = AddMethodRequest::Sms {
            phone: "call me".into(),
        };
        let upper_mail = email_request("ALICE@example.com");
        // A method proved 10 minutes ago still counts; a second more does not.
        let proved_at_edge = session(SignedInWith::Password, NOW, NOW - WINDOW);
        let proved_too_long_ago = session(SignedInWith::Password, NOW, NOW - WINDOW - 1);
        let has_mail = [mail("m1", "alice@example.com")];
        let three_mails = [
            mail("m1", "a@example.com"),
            mail("m2", "b@example.com"),
            mail("m3", "c@example.com"),
        ];
        let app = AddMethodRequest::Authenticator;
        let sms = AddMethodRequest::Sms {
            phone: "+14155550100".into(),
        };
        let has_phone = [held("p1", Sms, Some("+14155550100"))];
        let has_office = [held("o1", OfficePhone, Some("+14155550100"))];
        let office_same = AddMethodRequest::OfficePhone {
            phone: "+1 415 555 0100".into(),
        };
        let only_questions = [held("q", SecurityQuestions, None)];
        let no_sms = Account {
            available: &[Authenticator, Email],
            ..account(&password, &[])
        };
        let cases: Vec<(&str, Account<'_>, &AddMethodRequest, Result<(), Refusal>)> = vec![
            (
                "a kind the portal does not offer",
                no_sms,
                &sms,
                Err(Refusal::KindNotOffered),
            ),
            (
                "a second method with the password alone",
                account(&password, &has_mail),
                &app,
                Err(Refusal::StepUpRequired),
            ),
            (
                "a method proved 10 minutes ago",
                account(&proved_at_edge, &has_mail),
                &app,
                Ok(()),
            ),
            (
                "a method proved 10 minutes and a second ago",
                account(&proved_too_long_ago, &has_mail),
                &app,
                Err(Refusal::StepUpRequired),
            ),
            ("a pass session", account(&pass, &has_mail), &app, Ok(())),
            (
                "questions alone prove nothing: still a first registration",
                account(&password, &only_questions),
                &app,
                Ok(()),
            ),
            (
                "as many addresses as allowed",
                account(&pass, &three_mails),
                &d_mail,
                Err(Refusal::MethodLimit),
            ),
            (
                "not an address",
                account(&password, &[]),
                &bad_mail,
                Err(Refusal::Target(TargetRefused(ApiError::EmailInvalid))),
            ),
            (
                "not a number",
                account(&password, &[]),
                &bad_phone,
                Err(Refusal::Target(TargetRefused(ApiError::PhoneInvalid))),
            ),
            (
                "an address held already, in any case",
                account(&pass, &has_mail),
                &upper_mail,
                Err(Refusal::AlreadyRegistered { field: "address" }),
            ),
            (
                "a number held already",
                account(&pass, &has_phone),
                &sms,
                Err(Refusal::AlreadyRegistered { field: "phone" }),
            ),
            (
                "a mobile's number as an office phone",
                account(&pass, &has_phone),
                &office_same,
                Err(Refusal::AlreadyRegistered { field: "phone" }),
            ),
            (
                "an office phone's number as a mobile",
                account(&pass, &has_office),
                &sms,
                Err(Refusal::AlreadyRegistered { field: "phone" }),
            ),
        ];
        for (case, account, request, want) in cases {
            let got = start_with(State::Idle, account, request, NOW).map(|_| ());
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn start_checks_the_offer_then_the_step_up_then_the_limit() {
        let password = signed_in();
        let three_mails = [
            mail("m1", "a@example.com"),
            mail("m2", "b@example.com"),
            mail("m3", "c@example.com"),
        ];
        let request = email_request("bad");
        let none = Account {
            available: &[],
            ..account(&password, &three_mails)
        };
        assert_eq!(
            start_with(State::Idle, none, &request, NOW),
            Err(Refusal::KindNotOffered)
        );
        assert_eq!(
            start_with(State::Idle, account(&password, &three_mails), &request, NOW),
            Err(Refusal::StepUpRequired)
        );
        assert_eq!(
            start_with(State::Idle, account(&pass(), &three_mails), &request, NOW),
            Err(Refusal::MethodLimit)
        );
    }

    // ---- confirm ----

    #[test]
    fn a_right_code_stores_the_method_and_a_first_one_reaches_all_required() {
        let s = signed_in();
        let p = pending(Email, Some("bob@example.com"));
        let (state, effects) =
            confirm_with(State::Pending(p), account(&s, &[]), Verdict::Right, NOW).unwrap();
        assert_eq!(state, State::Confirmed(Email));
        let mut want = vec![
            Effect::Consume,
            Effect::AddMethod {
                kind: Email,
                target: Target(Some("bob@example.com".into())),
                // A new address hears of it too.
                notice: Notice {
                    what: crate::key!("change.added.email"),
                    also: Target(Some("bob@example.com".into())),
                },
            },
            Effect::MarkSteppedUp,
        ];
        want.extend(milestone(Email));
        assert_eq!(effects, want);
    }

    #[test]
    fn a_new_number_is_not_told_and_a_second_kind_past_the_goal_is_no_milestone() {
        let s = session(SignedInWith::Password, NOW, NOW);
        let has_mail = [mail("m1", "alice@example.com")];
        let p = pending(Sms, Some("+14155550100"));
        let (_, effects) = confirm_with(
            State::Pending(p),
            account(&s, &has_mail),
            Verdict::Right,
            NOW,
        )
        .unwrap();
        assert_eq!(
            effects,
            vec![
                Effect::Consume,
                Effect::AddMethod {
                    kind: Sms,
                    target: Target(Some("+14155550100".into())),
                    notice: Notice::of(crate::key!("change.added.sms")),
                },
                Effect::MarkSteppedUp,
                audit(REGISTERED, Some(Sms)),
            ]
        );
    }

    #[test]
    fn an_administrator_reaches_all_required_with_a_second_kind() {
        let s = admin(session(SignedInWith::Password, NOW, NOW));
        let has_mail = [mail("m1", "alice@example.com")];
        let (_, effects) = confirm_with(
            State::Pending(pending(Authenticator, None)),
            account(&s, &has_mail),
            Verdict::Right,
            NOW,
        )
        .unwrap();
        assert_eq!(effects[3..], milestone(Authenticator)[..]);
        // A second address is still one gate: no milestone.
        let (_, effects) = confirm_with(
            State::Pending(pending(Email, Some("b@example.com"))),
            account(&s, &has_mail),
            Verdict::Right,
            NOW,
        )
        .unwrap();
        assert_eq!(effects[3..], [audit(REGISTERED, Some(Email))]);
    }

    /// What, from where, for whom, with which code, when: and the answer.
    type ConfirmCase<'a> = (
        &'static str,
        State,
        Account<'a>,
        Verdict,
        UnixTime,
        Result<(), Refusal>,
    );

    #[test]
    fn confirm_refusals() {
        let password = signed_in();
        let pass = pass();
        let stale = session(SignedInWith::Password, NOW, NOW - WINDOW - 1);
        let has_mail = [mail("m1", "alice@example.com")];
        let live = || State::Pending(pending(Authenticator, None));
        let expires = NOW + ENROLLMENT_LIFETIME;
        let cases: Vec<ConfirmCase<'_>> = vec![
            (
                "no enrolment (never, gone, or another session's)",
                State::Idle,
                account(&password, &[]),
                Verdict::Right,
                NOW,
                Err(Refusal::Expired),
            ),
            (
                "a second before its expiry",
                live(),
                account(&password, &[]),
                Verdict::Right,
                expires - 1,
                Ok(()),
            ),
            (
                "at its expiry",
                live(),
                account(&password, &[]),
                Verdict::Right,
                expires,
                Err(Refusal::Expired),
            ),
            (
                "started as a first registration, another method stored since",
                live(),
                account(&password, &has_mail),
                Verdict::Right,
                NOW,
                Err(Refusal::StepUpRequired),
            ),
            (
                "the step-up is checked before the enrolment",
                State::Idle,
                account(&stale, &has_mail),
                Verdict::Right,
                NOW,
                Err(Refusal::StepUpRequired),
            ),
            (
                "a pass session may confirm a further method",
                live(),
                account(&pass, &has_mail),
                Verdict::Right,
                NOW,
                Ok(()),
            ),
        ];
        for (case, state, account, verdict, now, want) in cases {
            let got = confirm_with(state, account, verdict, now).map(|_| ());
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn a_wrong_code_is_counted_and_the_fifth_retires_the_enrolment() {
        let s = signed_in();
        let live = State::Pending(pending(Email, Some("bob@example.com")));
        let (state, effects) =
            confirm_with(live.clone(), account(&s, &[]), Verdict::Wrong, NOW).unwrap();
        assert_eq!((&state, effects), (&live, vec![Effect::CountAttempt]));
        let invalid = Effect::Answer(Refusal::CodeInvalid);
        for (attempts, want) in [
            (Some(1), (live.clone(), vec![invalid.clone()])),
            (
                Some(ENROLLMENT_ATTEMPTS - 1),
                (live.clone(), vec![invalid.clone()]),
            ),
            (
                Some(ENROLLMENT_ATTEMPTS),
                (State::Idle, vec![Effect::Retire, invalid.clone()]),
            ),
            (
                Some(ENROLLMENT_ATTEMPTS + 3),
                (State::Idle, vec![Effect::Retire, invalid.clone()]),
            ),
            // Gone meanwhile (a concurrent confirmation took it).
            (None, (State::Idle, vec![Effect::Retire, invalid.clone()])),
        ] {
            assert_eq!(
                step(state.clone(), Input::Counted(attempts), NOW),
                Ok(want),
                "{attempts:?}"
            );
        }
    }

    // ---- remove, default ----

    #[test]
    fn a_removal_drops_the_method_with_its_notice_and_audit() {
        let s = session(SignedInWith::Password, NOW, NOW);
        let mut default = mail("m1", "alice@example.com");
        default.is_default = true;
        let methods = [default, held("app", Authenticator, None)];
        let got = step(
            State::Idle,
            Input::Remove {
                account: account(&s, &methods),
                method: "m1",
            },
            NOW,
        );
        assert_eq!(
            got,
            Ok((
                State::Idle,
                vec![
                    Effect::RemoveMethod {
                        id: "m1".into(),
                        was_default: true,
                        notice: Notice::of(crate::key!("change.removed.email")),
                    },
                    audit(DELETED, Some(Email)),
                ]
            ))
        );
    }

    #[test]
    fn remove_refusals() {
        let methods = [mail("m1", "alice@example.com")];
        let recent = session(SignedInWith::Password, NOW - WINDOW, NOW);
        let old_password = session(SignedInWith::Password, NOW - WINDOW - 1, NOW);
        let not_stepped_up = session(SignedInWith::Password, NOW, NOW - WINDOW - 1);
        let cases: Vec<(&str, Session, &str, Result<(), Refusal>)> = vec![
            ("a password proved 10 minutes ago", recent, "m1", Ok(())),
            (
                "a password proved longer ago",
                old_password,
                "m1",
                Err(Refusal::ReauthRequired),
            ),
            ("a pass session", pass(), "m1", Err(Refusal::PassRestricted)),
            (
                "no method proved lately",
                not_stepped_up,
                "m1",
                Err(Refusal::StepUpRequired),
            ),
            (
                "not one of the user's",
                session(SignedInWith::Password, NOW, NOW),
                "other",
                Err(Refusal::NotYours),
            ),
        ];
        for (case, s, method, want) in cases {
            let input = Input::Remove {
                account: account(&s, &methods),
                method,
            };
            assert_eq!(step(State::Idle, input, NOW).map(|_| ()), want, "{case}");
        }
    }

    #[test]
    fn removing_leaves_a_pending_enrolment_alone() {
        let s = session(SignedInWith::Password, NOW, NOW);
        let methods = [mail("m1", "alice@example.com")];
        let live = State::Pending(pending(Authenticator, None));
        let input = Input::Remove {
            account: account(&s, &methods),
            method: "m1",
        };
        assert_eq!(step(live.clone(), input, NOW).unwrap().0, live);
    }

    #[test]
    fn the_default_is_a_password_sessions_choice_among_defaultable_methods() {
        // No recent password or step-up needed: an hour-old session may.
        let s = session(SignedInWith::Password, NOW - 3600, 0);
        let methods = [
            mail("m1", "alice@example.com"),
            held("codes", RecoveryCode, None),
            held("q", SecurityQuestions, None),
        ];
        let set = |s: &Session, method: &'static str| {
            let input = Input::SetDefault {
                account: account(s, &methods),
                method,
            };
            step(State::Idle, input, NOW)
        };
        assert_eq!(
            set(&s, "m1"),
            Ok((
                State::Idle,
                vec![
                    Effect::MakeDefault {
                        id: "m1".into(),
                        notice: Notice::of(crate::key!("change.default")),
                    },
                    audit(CHANGED_DEFAULT, Some(Email)),
                ]
            ))
        );
        assert_eq!(set(&s, "codes"), Err(Refusal::NotYours));
        assert_eq!(set(&s, "q"), Err(Refusal::NotYours));
        assert_eq!(set(&s, "nope"), Err(Refusal::NotYours));
        assert_eq!(set(&pass(), "m1"), Err(Refusal::PassRestricted));
    }

    // ---- sets: recovery codes, questions ----

    fn codes(account: Account<'_>) -> Result<(State, Vec<Effect>), Refusal> {
        step(State::Idle, Input::NewRecoveryCodes { account }, NOW)
    }

    fn questions(
        account: Account<'_>,
        answers: Result<(), usize>,
    ) -> Result<(State, Vec<Effect>), Refusal> {
        step(State::Idle, Input::SetQuestions { account, answers }, NOW)
    }

    fn replace(kind: MethodKind, replaced: &[&str], key: i18n::Key) -> Effect {
        Effect::ReplaceMethods {
            kind,
            replaced: replaced.iter().map(|r| r.to_string()).collect(),
            notice: Notice::of(key),
        }
    }

    #[test]
    fn a_first_set_of_codes_may_come_from_a_pass_and_reaches_all_required() {
        let (_, effects) = codes(account(&pass(), &[])).unwrap();
        let mut want = vec![replace(
            RecoveryCode,
            &[],
            crate::key!("change.added.recovery_code"),
        )];
        want.extend(milestone(RecoveryCode));
        assert_eq!(effects, want);
    }

    #[test]
    fn replacing_codes_needs_a_recent_password_and_replaces_the_whole_set() {
        let methods = [
            held("codes", RecoveryCode, None),
            mail("m1", "alice@example.com"),
        ];
        let recent = session(SignedInWith::Password, NOW, NOW);
        assert_eq!(
            codes(account(&recent, &methods)).map(|(_, e)| e),
            Ok(vec![
                replace(
                    RecoveryCode,
                    &["codes"],
                    crate::key!("change.added.recovery_code")
                ),
                audit(REGISTERED, Some(RecoveryCode)),
            ])
        );
        assert_eq!(
            codes(account(&pass(), &methods)),
            Err(Refusal::PassRestricted)
        );
        let old = session(SignedInWith::Password, NOW - WINDOW - 1, NOW);
        assert_eq!(codes(account(&old, &methods)), Err(Refusal::ReauthRequired));
        let not_stepped_up = session(SignedInWith::Password, NOW, 0);
        assert_eq!(
            codes(account(&not_stepped_up, &methods)),
            Err(Refusal::StepUpRequired)
        );
        let none = Account {
            available: &[Email],
            ..account(&recent, &methods)
        };
        assert_eq!(codes(none), Err(Refusal::KindNotOffered));
    }

    #[test]
    fn administrators_get_no_questions_and_answers_are_checked_before_the_session() {
        let s = signed_in();
        // The gate rule, not a copy of it.
        assert!(!gates::allowed(SecurityQuestions, true));
        assert_eq!(
            questions(account(&admin(signed_in()), &[]), Ok(())),
            Err(Refusal::QuestionsNotOffered)
        );
        let none = Account {
            available: &[Email],
            ..account(&s, &[])
        };
        assert_eq!(questions(none, Ok(())), Err(Refusal::QuestionsNotOffered));
        let stale = [held("q", SecurityQuestions, None)];
        let old = session(SignedInWith::Password, NOW - WINDOW - 1, 0);
        assert_eq!(
            questions(account(&old, &stale), Err(2)),
            Err(Refusal::AnswersInvalid { index: 2 })
        );
        assert_eq!(
            questions(account(&old, &stale), Ok(())),
            Err(Refusal::ReauthRequired)
        );
    }

    #[test]
    fn questions_never_count_alone() {
        let s = signed_in();
        // Alone they reach nothing, whatever the policy.
        assert_eq!(
            questions(account(&s, &[]), Ok(())).map(|(_, e)| e),
            Ok(vec![
                replace(
                    SecurityQuestions,
                    &[],
                    crate::key!("change.added.questions")
                ),
                audit(REGISTERED, Some(SecurityQuestions)),
            ])
        );
        // Beside an address, they are the second gate of a policy of two
        // (made by a session that proved the address a moment ago).
        let stepped = session(SignedInWith::Password, NOW, NOW);
        let has_mail = [mail("m1", "a@example.com")];
        let two = Account {
            policy_required: 2,
            ..account(&stepped, &has_mail)
        };
        let (_, effects) = questions(two, Ok(())).unwrap();
        assert_eq!(effects[1..], milestone(SecurityQuestions)[..]);
    }

    #[test]
    fn refusals_are_the_apis_answers() {
        let e = ApiError::from(Refusal::KindNotOffered);
        assert!(matches!(e, ApiError::InvalidField { ref field, .. } if field == "kind"));
        let e = ApiError::from(Refusal::QuestionsNotOffered);
        assert!(matches!(e, ApiError::InvalidField { ref field, .. } if field == "answers"));
        let e = ApiError::from(Refusal::NotYours);
        assert!(matches!(e, ApiError::InvalidField { ref field, .. } if field == "method"));
        let e = ApiError::from(Refusal::AlreadyRegistered { field: "phone" });
        assert!(
            matches!(e, ApiError::InvalidField { ref field, ref reason } if field == "phone" && reason == "already registered")
        );
        assert!(matches!(
            ApiError::from(Refusal::Expired),
            ApiError::EnrollmentExpired
        ));
        assert!(matches!(
            ApiError::from(Refusal::CodeInvalid),
            ApiError::CodeInvalid
        ));
        assert!(matches!(
            ApiError::from(Refusal::StepUpRequired),
            ApiError::StepUpRequired
        ));
        assert!(matches!(
            ApiError::from(Refusal::MethodLimit),
            ApiError::MethodLimit
        ));
        assert!(matches!(
            ApiError::from(Refusal::Target(TargetRefused(ApiError::PhoneInvalid))),
            ApiError::PhoneInvalid
        ));
        assert!(matches!(
            ApiError::from(Refusal::AnswersInvalid { index: 1 }),
            ApiError::AnswersInvalid { index: 1 }
        ));
    }

    #[test]
    fn targets_never_print() {
        let p = pending(Email, Some("bob@example.com"));
        assert!(!format!("{p:?}").contains("bob"));
        let e = Effect::ChargeSend {
            target: Target(Some("bob@example.com".into())),
        };
        assert!(!format!("{e:?}").contains("bob"));
    }
}
