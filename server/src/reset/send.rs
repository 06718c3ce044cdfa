//! A reset code's way out, off the request path. The request does the same
//! work for a real account as for a decoy (store the code's hash, hand a job
//! to a task); only the task looks the account up, applies the silent send
//! limits and queues the message. So neither the answer nor its timing says
//! whether anything was sent.

use sspr_proto::reset::MethodKind;

use super::throttle::{self, Held};
use crate::AppState;
use crate::audit::{self, Event};
use crate::delivery::Outgoing;
use crate::i18n;
use crate::methods;
use crate::secret::Secret;

/// What the task needs to deliver one code.
pub(super) struct Job {
    pub user_id: Option<String>,
    /// The stored method behind the option, for an email or phone.
    pub method: Option<String>,
    pub kind: MethodKind,
    pub code: Secret,
    pub lang: &'static str,
    pub flow_hash: String,
    pub ip: String,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Hands the job to a task; returns at once, whoever it is for.
pub(super) fn spawn(state: &AppState, job: Job) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = deliver(&state, job).await {
            tracing::error!(error = %e, "a reset code could not be queued");
        }
    });
}

async fn deliver(state: &AppState, job: Job) -> Result<(), crate::error::ApiError> {
    // A decoy: nothing to send, ever.
    let Some(user_id) = job.user_id.as_deref() else {
        return Ok(());
    };
    let Some(user) = state.directory.user_by_id(user_id).await? else {
        return Ok(());
    };
    let account = throttle::account_subject(user_id);
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
        return Ok(());
    }
    let stored = methods::for_user(state, Some(user_id)).await?;
    let Some(target) = stored
        .iter()
        .find(|m| match &job.method {
            Some(id) => &m.id == id,
            None => m.kind == job.kind,
        })
        .and_then(|m| m.target.clone())
    else {
        return Ok(());
    };
    // A code went to this address or number less than 60 s ago (another
    // flow, a click on the same method): this one waits its turn rather
    // than going now, and goes only if it is still the flow's live code.
    let mut turns = 0;
    loop {
        if !still_live(state, &job).await? {
            audit::record(
                state,
                audit_held("code not sent: replaced or expired while waiting"),
            )
            .await;
            return Ok(());
        }
        match throttle::charge_send(state, &account, &target, throttle::Purpose::Reset).await? {
            Ok(()) => break,
            Err(Held::Cooldown { retry_after }) if turns < 5 => {
                turns += 1;
                tokio::time::sleep(std::time::Duration::from_secs(retry_after.unsigned_abs()))
                    .await;
            }
            Err(Held::Cooldown { .. }) => {
                audit::record(state, audit_held("code not sent: target cooling down")).await;
                return Ok(());
            }
            Err(Held::Cap { .. }) => {
                audit::record(state, audit_held("code not sent: 10 codes in 10 minutes")).await;
                return Ok(());
            }
        }
    }
    let org = state.organisation();
    let args = [
        ("code", job.code.expose()),
        ("organisation", org.as_str()),
        ("url", state.config.server.public_url.as_str()),
    ];
    let lang = job.lang;
    state.outbox.send(match job.kind {
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

/// Whether the job's code is still the live one of its flow (not replaced by
/// a newer code, not used, not expired): a code is never sent late.
async fn still_live(state: &AppState, job: &Job) -> Result<bool, crate::error::ApiError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reset_codes WHERE flow_hash = $1 AND code_hash = $2 \
         AND used_at IS NULL AND expires_at > $3",
    )
    .bind(&job.flow_hash)
    .bind(state.keys.code_hash(&job.flow_hash, job.code.expose()))
    .bind(state.clock.now())
    .fetch_one(state.store.pool())
    .await
    .map_err(crate::error::ApiError::internal)?;
    Ok(n > 0)
}
