//! A reset code's way out, off the request path. The request does the same
//! work for a real account as for a decoy (store the code's hash, queue a
//! job in the same transaction); only the outbox worker, when the job's turn
//! comes, looks the account up, applies the silent send limits and renders
//! the message. So neither the answer nor its timing says whether anything
//! was sent, and a crash after the answer loses no code.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sspr_proto::reset::MethodKind;

use crate::AppState;
use crate::audit::{self, Event};
use crate::delivery::Outgoing;
use crate::error::ApiError;
use crate::methods::throttle::{self, Held};
use crate::methods::{self, CodePurpose};
use crate::outbox::{self, Channel, Item, Resolution};
use crate::ports::FlowStore;

/// The outbox row kind of a reset code's job.
pub const KIND: &str = "reset_code";

/// What the worker needs to deliver one code. Sealed in the outbox.
#[derive(Serialize, Deserialize)]
pub(super) struct Job {
    pub user_id: Option<String>,
    /// The stored method behind the option, for an email or phone.
    pub method: Option<String>,
    pub kind: MethodKind,
    pub code: String,
    pub lang: String,
    pub flow_hash: String,
    pub ip: String,
    /// The code is read aloud by a call (see [`core::Offered::call`](super::core)).
    #[serde(default)]
    pub call: bool,
    /// The message, once the send limits were charged for it: a retry after
    /// a failed delivery is not charged again.
    #[serde(default)]
    pub charged: Option<Outgoing>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Job {
    /// The outbox item: never sent once the code has expired, and
    /// superseded by a newer code for the flow's `subject`.
    pub fn item(&self, expires_at: crate::clock::UnixTime, subject: &str) -> Item {
        let channel = if self.call {
            Channel::Voice
        } else {
            methods::of(self.kind)
                .code_channel()
                .unwrap_or(Channel::Mail)
        };
        Item::job(
            KIND,
            channel,
            serde_json::to_vec(self).unwrap_or_default(),
            Some(expires_at),
            Some(subject),
        )
    }
}

/// Turns queued reset-code jobs into messages.
#[derive(Debug)]
pub struct Resolver;

#[async_trait]
impl outbox::Resolve for Resolver {
    async fn resolve(
        &self,
        state: &AppState,
        payload: &mut Vec<u8>,
    ) -> Result<Resolution, ApiError> {
        let mut job: Job = serde_json::from_slice(payload)?;
        let resolution = resolve(state, &mut job).await?;
        if matches!(resolution, Resolution::Send(_)) {
            *payload = serde_json::to_vec(&job)?;
        }
        Ok(resolution)
    }
}

async fn resolve(state: &AppState, job: &mut Job) -> Result<Resolution, ApiError> {
    // A decoy: nothing to send, ever.
    let Some(user_id) = job.user_id.clone() else {
        return Ok(Resolution::Drop);
    };
    // Replaced by a newer code, used, or expired: a code is never sent late.
    if !still_live(state, job).await? {
        return Ok(Resolution::Drop);
    }
    if let Some(msg) = &job.charged {
        return Ok(Resolution::Send(msg.clone()));
    }
    let Some(user) = state.directory.user_by_id(&user_id).await? else {
        return Ok(Resolution::Drop);
    };
    let account = throttle::account_subject(&user_id);
    let audit_held = |detail: &'static str| Event {
        activity: audit::FLOW_PROGRESS,
        actor: &user.username,
        method: Some(methods::kind_str(job.kind)),
        success: false,
        ip: &job.ip,
        flow: Some(&job.flow_hash),
        detail: Some(detail),
        ..Default::default()
    };
    // A blocked account gets the same answer, and no code.
    if throttle::is_blocked(state, &account).await? {
        audit::record(state, audit_held("code not sent: blocked")).await;
        return Ok(Resolution::Drop);
    }
    let stored = methods::for_user(state, Some(&user_id)).await?;
    let Some(target) = stored
        .iter()
        .find(|m| match &job.method {
            Some(id) => &m.id == id,
            None => m.kind == job.kind,
        })
        .and_then(|m| m.target.clone())
    else {
        return Ok(Resolution::Drop);
    };
    // A code went to this address or number less than 60 s ago (another
    // flow, a click on the same method, a text to the number now called,
    // another account's reset to the same number): this one waits its turn
    // in the outbox rather than going now, and goes only if it is still the
    // flow's live code by then.
    match throttle::charge_send(state, &account, job.kind, &target, throttle::Purpose::Reset)
        .await?
    {
        Ok(()) => {}
        Err(Held::Cooldown { retry_after }) => {
            return Ok(Resolution::Later(state.clock.now() + retry_after.max(1)));
        }
        Err(Held::Cap { .. }) => {
            audit::record(state, audit_held("code not sent: 10 codes in 10 minutes")).await;
            return Ok(Resolution::Drop);
        }
    }
    // A call is charged as a text is, above: the same account, the same
    // number, the same limits, so calling is no way around them.
    let org = state.organisation();
    let method = methods::of(job.kind);
    let msg = if job.call {
        method.call_message(CodePurpose::Reset, target, &job.lang, &job.code, &org)
    } else {
        method.code_message(
            CodePurpose::Reset,
            target,
            &job.lang,
            &job.code,
            &org,
            &state.config.server.public_url,
        )
    };
    let Some(msg) = msg else {
        // Only kinds that send codes get a job.
        return Ok(Resolution::Drop);
    };
    job.charged = Some(msg.clone());
    Ok(Resolution::Send(msg))
}

/// Whether the job's code is still the live one of its flow (not replaced by
/// a newer code, not used, not expired): a code is never sent late.
async fn still_live(state: &AppState, job: &Job) -> Result<bool, ApiError> {
    let code_hash = state.keys.code_hash(&job.flow_hash, &job.code);
    Ok(state
        .store
        .code_is_live(&job.flow_hash, &code_hash, state.clock.now())
        .await?)
}
