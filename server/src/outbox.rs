//! The durable outbox. Every mail and text is a row of the store's `outbox`
//! table, added in the same transaction as the change that causes it, and
//! sent by a worker that any node runs. So a crash, a restart or a relay
//! that is down for hours loses nothing, and every node behind a load
//! balancer shares one queue.
//!
//! - **Claiming** is a lease: a worker takes due rows by setting
//!   `lease_until`, atomically (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so
//!   workers on several nodes never wait on each other; SQLite serialises
//!   writers). A node that dies mid-send frees its rows when the lease ends.
//! - **Retries** back off exponentially from `delivery.retry_first_secs`,
//!   doubling to at most an hour, for `delivery.retry_hours`. A message that
//!   still fails then is dropped, audited and counted.
//! - **Codes** carry `not_after`, their expiry: a code is never sent late.
//! - **Bounded**: past `delivery.queue_limit` rows, a new message is refused
//!   (audited and counted), never held in memory.
//! - **Jobs**: a row may hold work that becomes a message only when its turn
//!   comes (a reset code is addressed off the request path). A [`Resolve`]
//!   registered for its kind turns it into a message, or says to wait or to
//!   drop it.
//!
//! Rows are sealed with the master key: a copy of the store reveals no code.
//! Delivery is at least once: a node killed between the relay's "250 OK"
//! and the row's delete sends that one message again once its lease ends.
//! Mail carries the row's id as its `Message-ID`, so a relay may drop such a
//! duplicate.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::AppState;
use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::config::DeliveryConfig;
use crate::delivery::{Outgoing, Transport};
use crate::error::ApiError;
use crate::ports::{ClaimedRow as Row, NewOutboxRow, OutboxStore, OutboxTx};
use crate::store::StoreError;

/// What a row's `kind` says of its payload.
pub const MESSAGE: &str = "message";

/// Rows one worker takes at a time.
const BATCH: i64 = 16;
/// How long a worker holds what it took. A node that dies mid-send delays
/// what it held by this much.
const LEASE: i64 = 30;
/// How long handling one row may take: a directory look-up and a transport,
/// each with its own 10 s timeout, well inside the lease, so a row is never
/// sent by two workers at once.
const HANDLE_FOR: Duration = Duration::from_secs(25);
/// How often a worker looks for due rows when nobody woke it.
const POLL: Duration = Duration::from_secs(1);
/// The longest wait between two tries.
const MAX_BACKOFF: i64 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Mail,
    Sms,
    /// A call whose provider reads the code aloud.
    Voice,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Mail => "mail",
            Channel::Sms => "sms",
            Channel::Voice => "voice",
        }
    }

    fn of(msg: &Outgoing) -> Channel {
        match msg {
            Outgoing::Mail { .. } => Channel::Mail,
            Outgoing::Sms { .. } => Channel::Sms,
            Outgoing::Call { .. } => Channel::Voice,
        }
    }
}

/// How long and how often a message is retried, and how many may wait.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub first_retry: i64,
    pub give_up_after: i64,
    pub limit: i64,
}

/// The outbox's retry policy and bound, as `[delivery]` sets them.
impl From<&DeliveryConfig> for Policy {
    fn from(c: &DeliveryConfig) -> Policy {
        Policy {
            first_retry: i64::from(c.retry_first_secs.get()),
            give_up_after: i64::from(c.retry_hours.get()) * 3600,
            limit: i64::from(c.queue_limit.get()),
        }
    }
}

impl Policy {
    /// The wait before try `attempts + 1`, after `attempts` failed tries.
    pub fn backoff(&self, attempts: i64) -> i64 {
        let doublings = u32::try_from((attempts - 1).clamp(0, 30)).unwrap_or(30);
        self.first_retry
            .saturating_mul(1_i64 << doublings)
            .min(MAX_BACKOFF)
    }
}

/// The handle every node holds: the transports, and a bell that wakes this
/// node's worker when a transaction has just queued something.
#[derive(Clone)]
pub struct Outbox {
    mail: Arc<dyn Transport>,
    sms: Arc<dyn Transport>,
    voice: Arc<dyn Transport>,
    bell: Arc<Notify>,
    pub policy: Policy,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("mail", &self.mail)
            .field("sms", &self.sms)
            .field("voice", &self.voice)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// `mail` and `sms` may be the same transport. No calls: see
    /// [`Outbox::with_voice`].
    pub fn new(mail: Arc<dyn Transport>, sms: Arc<dyn Transport>, policy: Policy) -> Outbox {
        Outbox {
            mail,
            sms,
            voice: Arc::new(crate::delivery::NoVoice),
            bell: Arc::new(Notify::new()),
            policy,
        }
    }

    /// The same outbox, with `voice` carrying calls (`delivery.voice`).
    pub fn with_voice(self, voice: Arc<dyn Transport>) -> Outbox {
        Outbox { voice, ..self }
    }

    /// The mail and the SMS transport, for readiness.
    pub fn transports(&self) -> (&dyn Transport, &dyn Transport) {
        (self.mail.as_ref(), self.sms.as_ref())
    }

    /// Tells this node's worker that rows were just committed.
    pub fn wake(&self) {
        self.bell.notify_one();
    }

    fn transport(&self, channel: Channel) -> &dyn Transport {
        match channel {
            Channel::Mail => self.mail.as_ref(),
            Channel::Sms => self.sms.as_ref(),
            Channel::Voice => self.voice.as_ref(),
        }
    }
}

/// One row to add.
pub struct Item {
    kind: &'static str,
    channel: Channel,
    account: Option<String>,
    payload: Vec<u8>,
    not_after: Option<UnixTime>,
    /// Not sent for this many seconds unless [`release`]d first.
    hold: i64,
    /// What a newer item supersedes it by (see [`supersede`]).
    subject: Option<String>,
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Item")
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl Item {
    /// A message to send as it is; `account` is the user it concerns.
    pub fn message(msg: &Outgoing, account: Option<&str>) -> Item {
        Item {
            kind: MESSAGE,
            channel: Channel::of(msg),
            account: account.map(str::to_string),
            payload: serde_json::to_vec(msg).unwrap_or_default(),
            not_after: None,
            hold: 0,
            subject: None,
        }
    }

    /// Held for `secs` unless [`release`]d (sent at once) or [`cancel`]led
    /// sooner: a notice queued before the change it announces is made
    /// outside the store (a directory write), so that a crash after the
    /// change still sends it.
    pub fn held(self, secs: i64) -> Item {
        Item { hold: secs, ..self }
    }

    /// A message never to send from `not_after` on (it carries a code).
    pub fn code(msg: &Outgoing, account: Option<&str>, not_after: UnixTime) -> Item {
        Item {
            not_after: Some(not_after),
            ..Item::message(msg, account)
        }
    }

    /// Work of `kind` for the [`Resolve`] registered for it; `subject`
    /// names what a newer job of the kind supersedes it by.
    pub fn job(
        kind: &'static str,
        channel: Channel,
        payload: Vec<u8>,
        not_after: Option<UnixTime>,
        subject: Option<&str>,
    ) -> Item {
        Item {
            kind,
            channel,
            account: None,
            payload,
            not_after,
            hold: 0,
            subject: subject.map(str::to_string),
        }
    }
}

/// What one transaction queued. Add rows inside the transaction, then call
/// [`Batch::committed`] once it has committed: it wakes the worker, and
/// audits what the full queue refused (the store cannot be written beside
/// an open SQLite transaction).
#[derive(Debug, Default)]
#[must_use = "call committed() after the transaction commits"]
pub struct Batch {
    added: Vec<String>,
    refused: Vec<(Channel, Option<String>)>,
}

impl Batch {
    /// Adds `item` on `conn` (a transaction), unless the queue is full:
    /// whether it was added. Codes and jobs stop at `queue_limit`; notices,
    /// which carry no code and may be someone's only word of a takeover,
    /// have a tenth more room, so a queue full of codes never refuses them.
    pub async fn add(
        &mut self,
        conn: &mut dyn OutboxTx,
        state: &AppState,
        item: Item,
    ) -> Result<bool, StoreError> {
        let now = state.clock.now();
        let sealed = state.keys.seal(&item.payload, state.entropy.as_ref());
        let id = state.entropy.hex_id(16);
        let limit = state.outbox.policy.limit;
        let room = if item.not_after.is_some() {
            limit
        } else {
            limit + limit / 10
        };
        let row = NewOutboxRow {
            id: &id,
            kind: item.kind,
            channel: item.channel.as_str(),
            account: item.account.as_deref(),
            subject: item.subject.as_deref(),
            payload: &sealed,
            created_at: now,
            not_after: item.not_after,
            next_at: now + item.hold,
        };
        let added = conn.enqueue_outbox(&row, room).await?;
        if added {
            self.added.push(id);
        } else {
            self.refused.push((item.channel, item.account));
        }
        Ok(added)
    }

    /// [`Batch::add`] for each of `items`.
    pub async fn add_all(
        &mut self,
        conn: &mut dyn OutboxTx,
        state: &AppState,
        items: impl IntoIterator<Item = Item>,
    ) -> Result<(), StoreError> {
        for item in items {
            let _ = self.add(conn, state, item).await?;
        }
        Ok(())
    }

    /// Wakes the worker and audits what the full queue refused. Returns the
    /// rows added, for [`release`] or [`cancel`] of held ones.
    pub async fn committed(self, state: &AppState) -> Vec<String> {
        if !self.added.is_empty() {
            state.outbox.wake();
        }
        for (channel, account) in self.refused {
            state.metrics.outbox_failed(channel.as_str());
            tracing::error!(
                channel = channel.as_str(),
                limit = state.outbox.policy.limit,
                "the outbox is full: a message was refused"
            );
            audit::record(
                state,
                Event {
                    activity: audit::DELIVERY_FAILED,
                    actor: account.as_deref().unwrap_or(audit::SYSTEM),
                    method: Some(channel.as_str()),
                    ip: "",
                    detail: Some("not queued: the outbox is full"),
                    ..Default::default()
                },
            )
            .await;
        }
        self.added
    }
}

/// Drops the waiting jobs of `kind` for `subject`: a newer code for the
/// same flow subject supersedes them, and a flow that has passed its gate
/// needs none. So an account has one code at most in the queue, however
/// many flows ask, and an attacker cannot fill the queue by making codes
/// wait on their cooldown.
pub async fn supersede(
    conn: &mut dyn OutboxTx,
    kind: &str,
    subject: &str,
) -> Result<(), StoreError> {
    conn.supersede_outbox(kind, subject).await
}

/// Sends held rows now.
pub async fn release(state: &AppState, ids: &[String]) -> Result<(), StoreError> {
    let now = state.clock.now();
    for id in ids {
        state.store.release_outbox_row(id, now).await?;
    }
    state.outbox.wake();
    Ok(())
}

/// Drops held rows: what they announce did not happen.
pub async fn cancel(state: &AppState, ids: &[String]) -> Result<(), StoreError> {
    for id in ids {
        state.store.delete_outbox_row(id).await?;
    }
    Ok(())
}

/// Queues one item in a transaction of its own (a change with no other
/// state to write, or none in this store).
pub async fn send(state: &AppState, item: Item) -> Result<(), ApiError> {
    let mut tx = state.store.pool().begin().await?;
    let mut batch = Batch::default();
    let _ = batch.add(&mut tx, state, item).await?;
    tx.commit().await?;
    let _ = batch.committed(state).await;
    Ok(())
}

/// What a job becomes when its turn comes.
#[derive(Debug)]
pub enum Resolution {
    /// Send this message now. The job may have rewritten its payload (to
    /// remember it was charged); the rewrite is kept for the next try.
    Send(Outgoing),
    /// Not yet: try again at this time. Not a failed try.
    Later(UnixTime),
    /// Nothing to send, now or ever.
    Drop,
}

/// Turns a job of one kind into a message.
#[async_trait]
pub trait Resolve: Send + Sync {
    async fn resolve(
        &self,
        state: &AppState,
        payload: &mut Vec<u8>,
    ) -> Result<Resolution, ApiError>;
}

/// The job kinds a worker knows, by `kind`.
pub type Resolvers = HashMap<&'static str, Arc<dyn Resolve>>;

/// Starts this node's worker.
pub fn spawn_worker(state: AppState, resolvers: Resolvers) -> tokio::task::JoinHandle<()> {
    let resolvers = Arc::new(resolvers);
    tokio::spawn(async move {
        loop {
            let sent = match run_once(&state, resolvers.clone()).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: cannot read the queue; will retry");
                    0
                }
            };
            if sent < BATCH as usize {
                tokio::select! {
                    () = state.outbox.bell.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        }
    })
}

/// Claims what is due and handles it; returns how many rows it took.
pub async fn run_once(state: &AppState, resolvers: Arc<Resolvers>) -> Result<usize, StoreError> {
    let rows = claim(state).await?;
    let n = rows.len();
    let mut tasks = tokio::task::JoinSet::new();
    for row in rows {
        let (state, resolvers) = (state.clone(), resolvers.clone());
        tasks.spawn(async move {
            if tokio::time::timeout(HANDLE_FOR, handle(&state, &resolvers, row))
                .await
                .is_err()
            {
                tracing::warn!("outbox: a send took too long; its lease will free it");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok(n)
}

/// Takes up to [`BATCH`] due rows for [`LEASE`] seconds, atomically.
async fn claim(state: &AppState) -> Result<Vec<Row>, StoreError> {
    let now = state.clock.now();
    state.store.claim_outbox(now, now + LEASE, BATCH).await
}

/// Why a row ended without being sent.
enum Failed {
    /// Its code's time is over.
    Expired,
    /// Tried for as long as the policy says.
    GaveUp(String),
}

async fn handle(state: &AppState, resolvers: &Resolvers, row: Row) {
    let now = state.clock.now();
    let channel = match row.channel.as_str() {
        "sms" => Channel::Sms,
        "voice" => Channel::Voice,
        _ => Channel::Mail,
    };
    if row.not_after.is_some_and(|t| t <= now) {
        return fail(state, &row, channel, Failed::Expired).await;
    }
    // A row this node cannot read or resolve is a failed try, not a loss:
    // a node of a newer version (a new job kind) or with the right key may
    // send it (and a node with another key refuses to start at all).
    let mut payload = match state.keys.open(&row.payload) {
        Ok(p) => p,
        Err(e) => return retry_or_fail(state, &row, channel, format!("unreadable: {e}")).await,
    };
    let msg = if row.kind == MESSAGE {
        match serde_json::from_slice::<Outgoing>(&payload) {
            Ok(m) => m,
            Err(e) => return retry_or_fail(state, &row, channel, format!("unreadable: {e}")).await,
        }
    } else {
        let Some(resolver) = resolvers.get(row.kind.as_str()) else {
            let why = format!("no worker for {:?} rows on this node", row.kind);
            return retry_or_fail(state, &row, channel, why).await;
        };
        let before = payload.clone();
        match resolver.resolve(state, &mut payload).await {
            Ok(Resolution::Send(m)) => {
                if payload != before {
                    let sealed = state.keys.seal(&payload, state.entropy.as_ref());
                    if let Err(e) = state.store.rewrite_outbox_payload(&row.id, &sealed).await {
                        // Not sent: the lease ends and the job is resolved again.
                        tracing::warn!(error = %e, "outbox: cannot note a resolved job");
                        return;
                    }
                }
                m
            }
            Ok(Resolution::Later(at)) => return later(state, &row, at, None).await,
            Ok(Resolution::Drop) => return delete(state, &row.id).await,
            Err(e) => return retry_or_fail(state, &row, channel, e.to_string()).await,
        }
    };
    match state.outbox.transport(channel).deliver(&msg, &row.id).await {
        Ok(()) => {
            if row.not_after.is_some() {
                state.metrics.code_sent(channel.as_str(), true);
            }
            delete(state, &row.id).await;
        }
        Err(e) => {
            if row.not_after.is_some() {
                state.metrics.code_sent(channel.as_str(), false);
            }
            retry_or_fail(state, &row, channel, e).await;
        }
    }
}

/// A failed try: the row waits its backoff, unless the next try would come
/// after the policy's retry period or the code's expiry.
async fn retry_or_fail(state: &AppState, row: &Row, channel: Channel, error: String) {
    let error = scrub(&error);
    let next = state.clock.now() + state.outbox.policy.backoff(row.attempts);
    tracing::warn!(
        channel = channel.as_str(),
        attempt = row.attempts,
        error = %error,
        "delivery failed; will retry"
    );
    if next >= row.created_at + state.outbox.policy.give_up_after {
        fail(state, row, channel, Failed::GaveUp(error)).await;
    } else if row.not_after.is_some_and(|t| next >= t) {
        fail(state, row, channel, Failed::Expired).await;
    } else {
        later(state, row, next, Some(&error)).await;
    }
}

/// Frees the row for a try at `at`. A failed try keeps its count; a wait
/// that is not a failure gives the try back.
async fn later(state: &AppState, row: &Row, at: UnixTime, error: Option<&str>) {
    let attempts = if error.is_some() {
        row.attempts
    } else {
        row.attempts - 1
    };
    if let Err(e) = state
        .store
        .reschedule_outbox(&row.id, at, attempts, error)
        .await
    {
        tracing::warn!(error = %e, "outbox: cannot reschedule; the lease will free it");
    }
}

async fn delete(state: &AppState, id: &str) {
    if let Err(e) = state.store.delete_outbox_row(id).await {
        tracing::warn!(error = %e, "outbox: cannot delete a handled row; it may be sent again");
    }
}

/// Ends a row that will never be sent: deleted, logged and audited.
async fn fail(state: &AppState, row: &Row, channel: Channel, why: Failed) {
    let detail = match &why {
        Failed::Expired => "not sent: its code expired first".to_string(),
        Failed::GaveUp(e) => format!(
            "not sent after {} tries over {} hours: {e}",
            row.attempts,
            (state.clock.now() - row.created_at) / 3600
        ),
    };
    tracing::error!(channel = channel.as_str(), detail = %detail, "a message was not delivered");
    state.metrics.outbox_failed(channel.as_str());
    // A job that never became a message concerns no account we may name.
    let actor = row.account.as_deref().unwrap_or(audit::SYSTEM);
    audit::record(
        state,
        Event {
            activity: audit::DELIVERY_FAILED,
            actor,
            method: Some(channel.as_str()),
            ip: "",
            detail: Some(&detail),
            ..Default::default()
        },
    )
    .await;
    delete(state, &row.id).await;
}

/// A transport's error without what could identify a person: relays quote
/// the recipient ("<bob@example.com>: mailbox unavailable"), gateways the
/// number.
pub fn scrub(error: &str) -> String {
    let words: Vec<&str> = error
        .split_whitespace()
        .map(|w| {
            let digits = w.chars().filter(char::is_ascii_digit).count();
            if w.contains('@') || digits >= 6 {
                "[redacted]"
            } else {
                w
            }
        })
        .collect();
    let mut out = words.join(" ");
    if out.len() > 200 {
        let mut cut = 200;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// Reads the depth and the oldest row's age for each scrape of the metrics.
pub fn report_depth(state: &AppState) {
    let s = state.clone();
    state.metrics.before_scrape(move || {
        let s = s.clone();
        async move {
            match depth(&s).await {
                Ok((depth, age)) => s.metrics.set_outbox(depth, age),
                Err(e) => tracing::warn!(error = %e, "metrics: cannot read the outbox's depth"),
            }
        }
    });
}

/// Depth and the oldest row's age in seconds.
pub async fn depth(state: &AppState) -> Result<(i64, i64), StoreError> {
    let d = state.store.outbox_depth().await?;
    Ok((
        d.rows,
        d.oldest.map_or(0, |t| (state.clock.now() - t).max(0)),
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::store::testing;

    #[test]
    fn backoff_doubles_from_the_first_wait_to_an_hour() {
        let p = Policy {
            first_retry: 10,
            give_up_after: 86_400,
            limit: 10,
        };
        let waits: Vec<i64> = (1..=12).map(|a| p.backoff(a)).collect();
        assert_eq!(
            waits,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600]
        );
        assert_eq!(p.backoff(1_000), 3600);
    }

    #[test]
    fn errors_lose_addresses_and_numbers() {
        assert_eq!(
            scrub("550 5.1.1 <bob@example.com>: Recipient address rejected"),
            "550 5.1.1 [redacted] Recipient address rejected"
        );
        assert_eq!(
            scrub("gateway: +15550100042 is not a mobile"),
            "gateway: [redacted] is not a mobile"
        );
        assert!(scrub(&"x ".repeat(300)).chars().count() <= 201);
    }

    /// A transport that records what it is handed (with the row id) and
    /// refuses while `down` is set.
    #[derive(Debug, Default)]
    struct Relay {
        got: Mutex<Vec<(String, Outgoing)>>,
        tries: Mutex<usize>,
        down: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl Transport for Relay {
        async fn deliver(&self, msg: &Outgoing, id: &str) -> Result<(), String> {
            *self.tries.lock().unwrap() += 1;
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err("421 <bob@example.com> try later".into());
            }
            self.got.lock().unwrap().push((id.to_string(), msg.clone()));
            Ok(())
        }
    }

    impl Relay {
        fn set_down(&self, down: bool) {
            self.down.store(down, std::sync::atomic::Ordering::SeqCst);
        }
        fn got(&self) -> Vec<(String, Outgoing)> {
            self.got.lock().unwrap().clone()
        }
    }

    fn mail(n: usize) -> Outgoing {
        Outgoing::Mail {
            to: format!("user{n}@example.com"),
            subject: "s".into(),
            body: format!("body {n}"),
        }
    }

    async fn rows(state: &AppState) -> i64 {
        depth(state).await.unwrap().0
    }

    async fn failures(state: &AppState) -> Vec<(String, String)> {
        use crate::ports::{AuditFilter, AuditStore};
        let filter = AuditFilter {
            activity: Some(audit::DELIVERY_FAILED),
            limit: 1_000,
            ..Default::default()
        };
        state
            .store
            .audit_events(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.actor, e.detail.unwrap_or_default()))
            .collect()
    }

    /// Each backend, with a fresh state on it and the relay it sends to.
    async fn backends(
        config: &str,
    ) -> Vec<(
        AppState,
        crate::clock::ManualClock,
        Arc<Relay>,
        Option<tempfile::TempDir>,
    )> {
        let mut v = Vec::new();
        for (store, dir) in testing::all().await {
            let relay = Arc::new(Relay::default());
            let (state, clock) = crate::testing::state(store, relay.clone(), config).await;
            v.push((state, clock, relay, dir));
        }
        v
    }

    fn none() -> Arc<Resolvers> {
        Arc::new(Resolvers::new())
    }

    #[tokio::test]
    async fn a_message_is_sent_once_with_its_row_id_and_then_gone() {
        for (state, _clock, relay, _dir) in backends("").await {
            send(&state, Item::message(&mail(1), Some("alice")))
                .await
                .unwrap();
            assert_eq!(rows(&state).await, 1);
            assert_eq!(run_once(&state, none()).await.unwrap(), 1);
            assert_eq!(run_once(&state, none()).await.unwrap(), 0);
            let got = relay.got();
            assert_eq!(got.len(), 1, "{:?}", state.store.backend());
            assert_eq!(got[0].1, mail(1));
            assert_eq!(got[0].0.len(), 32);
            assert_eq!(rows(&state).await, 0);
            // A notice is no code; a code that goes is counted, as the queue's depth is.
            let now = state.clock.now();
            send(&state, Item::code(&mail(2), None, now + 300))
                .await
                .unwrap();
            report_depth(&state);
            let m = state.metrics.scrape().await.unwrap();
            assert!(m.contains("sspr_outbox_depth 1"), "{m}");
            assert_eq!(
                run_once(&state, none()).await.unwrap(),
                1,
                "{:?}",
                relay.got()
            );
            let m = state.metrics.encode().unwrap();
            assert!(
                m.contains(r#"sspr_codes_sent_total{channel="mail",result="success"} 1"#),
                "{m}"
            );
        }
    }

    #[tokio::test]
    async fn rows_are_sealed_at_rest() {
        for (state, _clock, _relay, _dir) in backends("").await {
            send(&state, Item::message(&mail(7), None)).await.unwrap();
            let payload: String = sqlx::query_scalar("SELECT payload FROM outbox")
                .fetch_one(state.store.pool())
                .await
                .unwrap();
            assert!(!payload.contains("user7"), "{payload}");
            assert!(!payload.contains("body 7"), "{payload}");
        }
    }

    #[tokio::test]
    async fn a_relay_that_is_down_is_retried_with_backoff_until_it_takes_the_message() {
        for (state, clock, relay, _dir) in backends("[delivery]\nretry_first_secs = 10\n").await {
            relay.set_down(true);
            send(&state, Item::message(&mail(1), Some("bob")))
                .await
                .unwrap();
            run_once(&state, none()).await.unwrap();
            // Not due again for 10 s, then 20 s.
            assert_eq!(run_once(&state, none()).await.unwrap(), 0);
            clock.advance(10);
            assert_eq!(run_once(&state, none()).await.unwrap(), 1);
            clock.advance(19);
            assert_eq!(run_once(&state, none()).await.unwrap(), 0);
            clock.advance(1);
            relay.set_down(false);
            assert_eq!(run_once(&state, none()).await.unwrap(), 1);
            assert_eq!(relay.got().len(), 1);
            assert_eq!(*relay.tries.lock().unwrap(), 3);
            assert_eq!(rows(&state).await, 0);
            assert!(failures(&state).await.is_empty());
        }
    }

    #[tokio::test]
    async fn a_message_that_fails_for_the_whole_retry_period_is_dropped_and_audited() {
        for (state, clock, relay, _dir) in backends("[delivery]\nretry_hours = 2\n").await {
            relay.set_down(true);
            send(&state, Item::message(&mail(1), Some("bob")))
                .await
                .unwrap();
            let mut tries = 0;
            while rows(&state).await > 0 {
                tries += run_once(&state, none()).await.unwrap();
                clock.advance(60);
                assert!(tries < 100, "never given up");
            }
            // 10 s doubling: tries at 0, 10, 30, 70, 150, 310, 630, 1270, 2550, 6150 s.
            assert_eq!(tries, 10, "{:?}", state.store.backend());
            let f = failures(&state).await;
            assert_eq!(f.len(), 1);
            assert_eq!(f[0].0, "bob");
            assert!(f[0].1.contains("10 tries"), "{}", f[0].1);
            // The relay's words stay, the address it quoted does not.
            assert!(
                f[0].1.contains("421") && !f[0].1.contains("bob@"),
                "{}",
                f[0].1
            );
        }
    }

    #[tokio::test]
    async fn a_code_is_never_sent_once_it_has_expired() {
        for (state, clock, relay, _dir) in backends("").await {
            relay.set_down(true);
            let now = state.clock.now();
            send(&state, Item::code(&mail(1), Some("alice"), now + 300))
                .await
                .unwrap();
            run_once(&state, none()).await.unwrap();
            // The relay is back, but only after the code's five minutes.
            clock.advance(300);
            relay.set_down(false);
            run_once(&state, none()).await.unwrap();
            assert!(relay.got().is_empty());
            assert_eq!(rows(&state).await, 0);
            let f = failures(&state).await;
            assert_eq!(f.len(), 1);
            assert!(f[0].1.contains("expired"), "{}", f[0].1);
        }
    }

    #[tokio::test]
    async fn a_retry_that_would_come_after_the_expiry_is_not_waited_for() {
        for (state, _clock, relay, _dir) in backends("[delivery]\nretry_first_secs = 600\n").await {
            relay.set_down(true);
            let now = state.clock.now();
            send(&state, Item::code(&mail(1), None, now + 300))
                .await
                .unwrap();
            run_once(&state, none()).await.unwrap();
            assert_eq!(rows(&state).await, 0);
            assert_eq!(failures(&state).await.len(), 1);
        }
    }

    #[tokio::test]
    async fn two_workers_on_one_store_send_each_message_once() {
        for (state, _clock, relay, _dir) in backends("").await {
            for n in 0..40 {
                send(&state, Item::message(&mail(n), None)).await.unwrap();
            }
            // A second node: its own state and relay, the same store.
            let other_relay = Arc::new(Relay::default());
            let (mut other, _) =
                crate::testing::state(state.store.clone(), other_relay.clone(), "").await;
            other.clock = state.clock.clone();
            let (a, b) = tokio::join!(
                async {
                    let mut n = 0;
                    while let Ok(k @ 1..) = run_once(&state, none()).await {
                        n += k;
                    }
                    n
                },
                async {
                    let mut n = 0;
                    while let Ok(k @ 1..) = run_once(&other, none()).await {
                        n += k;
                    }
                    n
                }
            );
            assert_eq!(a + b, 40, "{:?}", state.store.backend());
            let mut bodies: Vec<Outgoing> = relay
                .got()
                .into_iter()
                .chain(other_relay.got())
                .map(|(_, m)| m)
                .collect();
            bodies.sort_by_key(|m| {
                format!(
                    "{m:?}{}",
                    match m {
                        Outgoing::Mail { to, .. } => to.clone(),
                        Outgoing::Sms { to, .. } | Outgoing::Call { to, .. } => to.clone(),
                    }
                )
            });
            bodies.dedup();
            assert_eq!(bodies.len(), 40);
            assert_eq!(relay.got().len() + other_relay.got().len(), 40);
        }
    }

    #[tokio::test]
    async fn a_row_held_by_a_worker_that_died_is_sent_when_its_lease_ends() {
        for (state, clock, relay, _dir) in backends("").await {
            send(&state, Item::message(&mail(1), None)).await.unwrap();
            // A worker claims it and dies before sending.
            assert_eq!(claim(&state).await.unwrap().len(), 1);
            assert_eq!(run_once(&state, none()).await.unwrap(), 0);
            clock.advance(LEASE);
            assert_eq!(run_once(&state, none()).await.unwrap(), 1);
            assert_eq!(relay.got().len(), 1);
        }
    }

    #[tokio::test]
    async fn the_queue_is_bounded_and_a_refusal_is_audited() {
        for (state, _clock, relay, _dir) in backends("[delivery]\nqueue_limit = 100\n").await {
            relay.set_down(true);
            for n in 0..111 {
                send(&state, Item::message(&mail(n), Some("carol")))
                    .await
                    .unwrap();
            }
            assert_eq!(rows(&state).await, 110, "notices: the limit and a tenth");
            let f = failures(&state).await;
            assert_eq!(f.len(), 1);
            assert_eq!(
                f[0],
                (
                    "carol".to_string(),
                    "not queued: the outbox is full".to_string()
                )
            );
        }
    }

    #[tokio::test]
    async fn notices_have_room_a_queue_full_of_codes_does_not_take() {
        for (state, _clock, relay, _dir) in backends("[delivery]\nqueue_limit = 100\n").await {
            relay.set_down(true);
            let now = state.clock.now();
            for n in 0..101 {
                send(&state, Item::code(&mail(n), None, now + 300))
                    .await
                    .unwrap();
            }
            assert_eq!(rows(&state).await, 100, "codes stop at the limit");
            for n in 0..11 {
                send(&state, Item::message(&mail(n), Some("carol")))
                    .await
                    .unwrap();
            }
            assert_eq!(rows(&state).await, 110, "notices have a tenth more");
            assert_eq!(failures(&state).await.len(), 2);
        }
    }

    #[tokio::test]
    async fn a_newer_job_for_a_subject_supersedes_the_waiting_one() {
        for (state, _clock, _relay, _dir) in backends("").await {
            let job = |subject: &str| Item::job("code", Channel::Mail, vec![], None, Some(subject));
            send(&state, job("a:alice")).await.unwrap();
            send(&state, job("a:bob")).await.unwrap();
            let mut tx = state.store.pool().begin().await.unwrap();
            supersede(&mut tx, "code", "a:alice").await.unwrap();
            let mut batch = Batch::default();
            assert!(batch.add(&mut tx, &state, job("a:alice")).await.unwrap());
            tx.commit().await.unwrap();
            let _ = batch.committed(&state).await;
            let subjects: Vec<String> =
                sqlx::query_scalar("SELECT subject FROM outbox ORDER BY subject")
                    .fetch_all(state.store.pool())
                    .await
                    .unwrap();
            assert_eq!(subjects, ["a:alice", "a:bob"]);
        }
    }

    #[tokio::test]
    async fn held_notices_wait_until_released_cancelled_or_their_hold_ends() {
        for (state, clock, relay, _dir) in backends("").await {
            let mut queued = Vec::new();
            for n in 0..3 {
                let mut tx = state.store.pool().begin().await.unwrap();
                let mut batch = Batch::default();
                batch
                    .add(&mut tx, &state, Item::message(&mail(n), None).held(60))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                queued.push(batch.committed(&state).await);
            }
            assert_eq!(run_once(&state, none()).await.unwrap(), 0);
            release(&state, &queued[0]).await.unwrap();
            cancel(&state, &queued[1]).await.unwrap();
            assert_eq!(run_once(&state, none()).await.unwrap(), 1);
            assert_eq!(relay.got()[0].1, mail(0));
            // The third: its node died before the write's outcome was known.
            clock.advance(60);
            assert_eq!(run_once(&state, none()).await.unwrap(), 1);
            assert_eq!(relay.got()[1].1, mail(2));
            assert_eq!(rows(&state).await, 0);
        }
    }

    #[tokio::test]
    async fn a_row_a_node_cannot_read_waits_for_one_that_can() {
        for (state, clock, relay, _dir) in backends("").await {
            send(&state, Item::message(&mail(1), None)).await.unwrap();
            // A node with another key (it could not start, but say it did).
            let mut wrong = state.clone();
            wrong.keys = Arc::new(crate::keys::Keys::from_master(&[9; 32]));
            assert_eq!(run_once(&wrong, none()).await.unwrap(), 1);
            // And one of an older version, which knows no such job kind.
            send(
                &state,
                Item::job("from_a_newer_node", Channel::Mail, vec![], None, None),
            )
            .await
            .unwrap();
            assert_eq!(run_once(&state, none()).await.unwrap(), 1);
            assert!(relay.got().is_empty());
            assert_eq!(rows(&state).await, 2, "nothing dropped");
            assert!(failures(&state).await.is_empty());
            clock.advance(10);
            run_once(&state, none()).await.unwrap();
            assert_eq!(relay.got().len(), 1);
            assert_eq!(relay.got()[0].1, mail(1));
        }
    }

    /// A job kind that asks to wait once, then sends.
    struct WaitOnce(Mutex<bool>);

    #[async_trait]
    impl Resolve for WaitOnce {
        async fn resolve(
            &self,
            state: &AppState,
            payload: &mut Vec<u8>,
        ) -> Result<Resolution, ApiError> {
            let mut waited = self.0.lock().unwrap();
            if *waited {
                payload.extend_from_slice(b"!");
                Ok(Resolution::Send(mail(payload.len())))
            } else {
                *waited = true;
                Ok(Resolution::Later(state.clock.now() + 60))
            }
        }
    }

    #[tokio::test]
    async fn a_job_that_waits_its_turn_is_not_a_failed_try() {
        for (state, clock, relay, _dir) in backends("").await {
            let mut r = Resolvers::new();
            r.insert(
                "test_job",
                Arc::new(WaitOnce(Mutex::new(false))) as Arc<dyn Resolve>,
            );
            let r = Arc::new(r);
            send(
                &state,
                Item::job("test_job", Channel::Mail, b"ab".to_vec(), None, None),
            )
            .await
            .unwrap();
            run_once(&state, r.clone()).await.unwrap();
            let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM outbox")
                .fetch_one(state.store.pool())
                .await
                .unwrap();
            assert_eq!(attempts, 0);
            clock.advance(60);
            run_once(&state, r).await.unwrap();
            assert_eq!(relay.got()[0].1, mail(3));
        }
    }

    #[tokio::test]
    async fn texts_are_retried_through_a_real_gateway_under_one_idempotency_key() {
        use axum::http::{HeaderMap, StatusCode};
        // A loopback gateway that refuses twice, then takes the text.
        let keys: Arc<Mutex<Vec<String>>> = Arc::default();
        let k = keys.clone();
        let app = axum::Router::new().route(
            "/send",
            axum::routing::post(move |headers: HeaderMap| {
                let k = k.clone();
                async move {
                    let mut seen = k.lock().unwrap();
                    seen.push(headers["idempotency-key"].to_str().unwrap().to_string());
                    if seen.len() < 3 {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let gateway: Arc<dyn Transport> =
            Arc::new(crate::delivery::HttpSms::new(&format!("http://{addr}/send"), None).unwrap());
        let (store, _dir) = testing::sqlite().await;
        let (state, clock) = crate::testing::state(store, gateway, "").await;
        let text = Outgoing::Sms {
            to: "+15550100002".into(),
            body: "x".into(),
        };
        send(&state, Item::message(&text, None)).await.unwrap();
        for wait in [0, 10, 20] {
            clock.advance(wait);
            assert_eq!(run_once(&state, none()).await.unwrap(), 1);
        }
        assert_eq!(rows(&state).await, 0);
        let keys = keys.lock().unwrap().clone();
        assert_eq!(keys.len(), 3);
        assert!(
            keys.iter().all(|k| k == &keys[0] && k.len() == 32),
            "{keys:?}"
        );
    }
}
