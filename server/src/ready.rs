//! `/api/ready`: can this node serve? The store, the directory and the mail
//! relay (and the SMS outbox, when it is one) are each checked, at once and
//! each within a deadline. A load balancer polls it, and so may anyone: the
//! answer is computed at most once per [`CACHE_SECS`] whatever the rate, so
//! the endpoint cannot be used to open connections to the directory or the
//! relay, and it names no host and no error (those go to the log).

use std::time::{Duration, Instant};

use sspr_proto::config::{Readiness, ReadinessCheck};

use crate::AppState;
use crate::clock::UnixTime;

/// How long one answer is reused.
pub const CACHE_SECS: i64 = 5;
/// Each check's deadline.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The last answer, shared by every request of this node.
#[derive(Debug, Default)]
pub struct ReadyCache(tokio::sync::Mutex<Option<(UnixTime, Readiness)>>);

/// The current readiness, from the cache when it is fresh. Requests that
/// arrive while a check runs wait for it rather than start their own.
pub async fn readiness(state: &AppState) -> Readiness {
    let mut cached = state.ready.0.lock().await;
    let now = state.clock.now();
    if let Some((at, r)) = cached.as_ref()
        && now >= *at
        && now - *at < CACHE_SECS
    {
        return r.clone();
    }
    let r = check(state).await;
    *cached = Some((now, r.clone()));
    r
}

async fn timed<F>(name: &str, work: F) -> Option<ReadinessCheck>
where
    F: std::future::Future<Output = Option<Result<(), String>>>,
{
    let start = Instant::now();
    let outcome = match tokio::time::timeout(CHECK_TIMEOUT, work).await {
        Ok(None) => return None,
        Ok(Some(r)) => r,
        Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    };
    if let Err(cause) = &outcome {
        tracing::warn!(check = name, %cause, "readiness check failed");
    }
    Some(ReadinessCheck {
        name: name.into(),
        ok: outcome.is_ok(),
        ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

async fn check(state: &AppState) -> Readiness {
    let (mail, sms) = state.outbox.transports();
    let same = std::ptr::addr_eq(mail, sms);
    let (store, directory, mail, sms) = tokio::join!(
        timed("store", async {
            Some(state.store.ping().await.map_err(|e| e.to_string()))
        }),
        timed("directory", async {
            Some(state.directory.ready().await.map_err(|e| e.to_string()))
        }),
        timed("mail", mail.ready()),
        timed("sms", async { if same { None } else { sms.ready().await } }),
    );
    let checks: Vec<ReadinessCheck> = [store, directory, mail, sms]
        .into_iter()
        .flatten()
        .collect();
    let ready = checks.iter().all(|c| c.ok);
    Readiness {
        status: if ready { "ready" } else { "not_ready" }.into(),
        checks,
    }
}
