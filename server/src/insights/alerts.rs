//! Spike alerts: when completed self-service resets, or accounts blocked
//! from self-service reset, in the last hour reach `[alerts]
//! resets_per_hour` or `blocks_per_hour` (10 each; 0 turns one off), every
//! administrator with an address is mailed, the alert is audited
//! ("Self-service password reset spike") and counted in
//! `sspr_alerts_total{kind}`.
//!
//! Each kind goes at most once an hour, however many nodes share the store:
//! a node claims the alert by moving its row of `alerts_sent` with one
//! conditional statement, in the transaction that queues the mail, so of
//! two nodes checking at once exactly one sends it.

use crate::AppState;
use crate::audit;
use crate::clock::UnixTime;
use crate::delivery::Outgoing;
use crate::error::ApiError;
use crate::i18n;
use crate::outbox;
use crate::ports::{AlertTx, InsightsStore};

/// The audit activity of a spike alert.
pub const SPIKE: &str = "Self-service password reset spike";
/// The hour an alert counts, and the least time between two of one kind.
pub const WINDOW: i64 = 3600;

/// What an alert counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spike {
    /// Completed self-service password resets ("Reset password (self-service)").
    Resets,
    /// Accounts blocked from self-service reset.
    Blocks,
}

impl Spike {
    pub const ALL: [Spike; 2] = [Spike::Resets, Spike::Blocks];

    /// Its name in `alerts_sent` and in `sspr_alerts_total{kind}`.
    pub fn name(self) -> &'static str {
        match self {
            Spike::Resets => "resets",
            Spike::Blocks => "blocks",
        }
    }

    fn activity(self) -> &'static str {
        match self {
            Spike::Resets => audit::RESET_COMPLETED,
            Spike::Blocks => audit::USER_BLOCKED,
        }
    }

    fn threshold(self, state: &AppState) -> u32 {
        match self {
            Spike::Resets => state.config.alerts.resets_per_hour.get(),
            Spike::Blocks => state.config.alerts.blocks_per_hour.get(),
        }
    }

    /// The mail's catalog keys.
    fn texts(self) -> (i18n::Key, i18n::Key) {
        match self {
            Spike::Resets => (
                crate::key!("email.alert_resets.subject"),
                crate::key!("email.alert_resets.body"),
            ),
            Spike::Blocks => (
                crate::key!("email.alert_blocks.subject"),
                crate::key!("email.alert_blocks.body"),
            ),
        }
    }
}

/// How many events of `spike`'s kind the hour up to `now` holds.
pub async fn in_last_hour(state: &AppState, spike: Spike, now: UnixTime) -> Result<u32, ApiError> {
    let n = state
        .store
        .successes_between(spike.activity(), now - WINDOW, now)
        .await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Checks every kind; returns the alerts this call sent.
pub async fn check(state: &AppState) -> Result<Vec<Spike>, ApiError> {
    let mut sent = Vec::new();
    for spike in Spike::ALL {
        if send_if_due(state, spike).await? {
            sent.push(spike);
        }
    }
    Ok(sent)
}

/// `YYYY-MM-DD HH:MM UTC`.
fn utc_minute(t: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t).map_or_else(
        |_| t.to_string(),
        |d| {
            format!(
                "{} {:02}:{:02} UTC",
                super::date_of_day(super::day_of(t)),
                d.hour(),
                d.minute()
            )
        },
    )
}

/// Sends `spike`'s alert if the last hour reached its threshold and no
/// node sent it within the hour. True when this call sent it.
async fn send_if_due(state: &AppState, spike: Spike) -> Result<bool, ApiError> {
    let threshold = spike.threshold(state);
    if threshold == 0 {
        return Ok(false);
    }
    let now = state.clock.now();
    let count = in_last_hour(state, spike, now).await?;
    if count < threshold {
        return Ok(false);
    }
    // Sent within the hour: nothing to do, and no directory look-up.
    let last = state.store.alert_sent_at(spike.name()).await?;
    if last.is_some_and(|t| t > now - WINDOW) {
        return Ok(false);
    }
    let admins = state.directory.administrators().await?;
    // Administrators' languages are unknown: the portal's default.
    let lang = state.config.default_locale();
    let org = state.organisation();
    let (count_s, threshold_s, time_s) =
        (count.to_string(), threshold.to_string(), utc_minute(now));
    let url = format!(
        "{}/insights",
        state.config.server.public_url.trim_end_matches('/')
    );
    let args = [
        ("organisation", org.as_str()),
        ("count", count_s.as_str()),
        ("threshold", threshold_s.as_str()),
        ("time", time_s.as_str()),
        ("url", url.as_str()),
    ];
    let (subject, body) = spike.texts();
    let mut tx = state.store.pool().begin().await?;
    // The claim: one row per kind, moved only if the last alert is an hour
    // old. Of two nodes here at once, one moves it; the other's statement
    // waits for that commit and then finds nothing to move.
    let claimed = tx.stamp_alert(spike.name(), now, now - WINDOW).await?;
    if !claimed {
        tx.rollback().await?;
        return Ok(false);
    }
    let mut batch = outbox::Batch::default();
    let mut mailed = 0u32;
    for admin in admins.iter().filter(|a| a.enabled) {
        let Some(to) = &admin.email else { continue };
        let msg = Outgoing::Mail {
            to: to.clone(),
            subject: i18n::text_with(lang, subject, &args),
            body: i18n::text_with(lang, body, &args),
        };
        batch
            .add(
                &mut tx,
                state,
                outbox::Item::message(&msg, Some(&admin.username)),
            )
            .await?;
        mailed += 1;
    }
    tx.commit().await?;
    let _ = batch.committed(state).await;
    state.metrics.alert(spike.name());
    tracing::warn!(
        kind = spike.name(),
        count,
        threshold,
        administrators = mailed,
        "spike alert: mailed the administrators"
    );
    let detail = format!(
        "{}: {count} in the hour to {time_s} (threshold {threshold}); mailed {mailed} administrator(s)",
        spike.name()
    );
    audit::record(
        state,
        audit::Event {
            activity: SPIKE,
            actor: audit::SYSTEM,
            success: true,
            ip: "",
            detail: Some(&detail),
            ..Default::default()
        },
    )
    .await;
    Ok(true)
}
