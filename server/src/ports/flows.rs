//! Reset flows: the flow rows (a versioned JSON state, claimed by one proof
//! at a time), their codes, and the proof-of-work challenges that gate a
//! flow's start. The flow's rules stay in [`crate::reset`]; this port only
//! stores, atomically where the flow relies on it (a claim wins once, a save
//! of a version another request moved saves nothing).
//!
//! A flow write that queues outbox rows commits with them: [`FlowStore::begin_flows`]
//! opens a [`FlowTx`], the flow's statements take it, the outbox adds its
//! rows on it (it is an [`super::OutboxTx`]), and [`FlowTx::commit`] ends it. Dropped
//! uncommitted, it rolls back.

use async_trait::async_trait;
use sqlx::{Any, AnyConnection, Transaction};

use crate::clock::UnixTime;
use crate::store::{Store, StoreError};

/// A flow as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct FlowRow {
    /// `None` for a decoy flow.
    pub user_id: Option<String>,
    /// The throttling subject of the account, or of a decoy's identifier.
    pub subject: String,
    /// The flow's state (JSON; only the reset flow reads it).
    pub state: String,
    pub version: i64,
    pub ip: String,
    pub expires_at: UnixTime,
}

/// The state holds what was proven and the decoy's seed: it never prints.
impl std::fmt::Debug for FlowRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowRow")
            .field("decoy", &self.user_id.is_none())
            .field("version", &self.version)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A flow to store, at version 0, unclaimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewFlow<'a> {
    /// The hash of the flow's id (the id is the bearer of the reset).
    pub hash: &'a str,
    pub user_id: Option<&'a str>,
    pub subject: &'a str,
    pub state: &'a str,
    pub ip: &'a str,
    pub created: UnixTime,
    pub expires: UnixTime,
}

/// A new state for a flow, saved only over `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSave<'a> {
    pub hash: &'a str,
    pub state: &'a str,
    /// The version the state was derived from.
    pub version: i64,
    /// The saver holds the flow's claim (see [`FlowStore::claim_flow`]);
    /// otherwise a live claim of another request refuses the save.
    pub claimed: bool,
    pub now: UnixTime,
}

/// A code to store for a flow, by its keyed hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewCode<'a> {
    pub id: &'a str,
    pub flow_hash: &'a str,
    /// The offered method's id within the flow.
    pub method_id: &'a str,
    pub code_hash: &'a str,
    pub created: UnixTime,
    pub expires: UnixTime,
}

/// A proof-of-work challenge to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPow<'a> {
    pub id: &'a str,
    pub prefix: &'a str,
    pub difficulty: i64,
    pub expires: UnixTime,
}

/// One transaction of the store, in which a flow's write and the outbox
/// rows it queues commit together (or, dropped, neither).
pub struct FlowTx {
    tx: Transaction<'static, Any>,
}

impl std::fmt::Debug for FlowTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowTx").finish_non_exhaustive()
    }
}

impl FlowTx {
    /// The transaction's connection, for the ports' statements (callers
    /// queue mail on the transaction through [`super::OutboxTx`]).
    pub(super) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
pub trait FlowStore: Send + Sync + std::fmt::Debug {
    /// Opens a transaction for the `_in` writes below.
    async fn begin_flows(&self) -> Result<FlowTx, StoreError>;

    /// The flow with this hash, expired or not (the caller judges expiry).
    async fn load_flow(&self, hash: &str) -> Result<Option<FlowRow>, StoreError>;

    /// Forgets the flows expired at `now` (those with `expires <= now`) and
    /// their codes. Returns how many flows went.
    async fn purge_expired_flows(&self, now: UnixTime) -> Result<u64, StoreError>;

    async fn insert_flow(&self, flow: &NewFlow<'_>) -> Result<(), StoreError>;

    /// Holds the flow for one request until `until`, atomically: only if it
    /// is still at `version` and nobody holds it at `now`. On success the
    /// version moves on by one. Of concurrent claims of one version, one wins.
    async fn claim_flow(
        &self,
        hash: &str,
        version: i64,
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Lets go of a claim taken at `version` (the version after the claim),
    /// changing nothing else.
    async fn release_flow(&self, hash: &str, version: i64) -> Result<(), StoreError>;

    /// Writes the new state if the flow is still at `save.version` (and not
    /// held by another request), moving the version on by one and letting
    /// go of any claim. Whether it was written.
    async fn save_flow(&self, save: &FlowSave<'_>) -> Result<bool, StoreError>;

    /// [`FlowStore::save_flow`] inside `tx`.
    async fn save_flow_in(&self, tx: &mut FlowTx, save: &FlowSave<'_>) -> Result<bool, StoreError>;

    /// Marks the flow's unused codes used at `now`, inside `tx`. Returns how many.
    async fn retire_codes_in(
        &self,
        tx: &mut FlowTx,
        flow_hash: &str,
        now: UnixTime,
    ) -> Result<u64, StoreError>;

    /// Stores a code, inside `tx`.
    async fn insert_code_in(&self, tx: &mut FlowTx, code: &NewCode<'_>) -> Result<(), StoreError>;

    /// Whether a code with this hash is the flow's live one at `now`:
    /// unused and unexpired (`expires > now`).
    async fn code_is_live(
        &self,
        flow_hash: &str,
        code_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Deletes every flow of `subject` but `keep_hash` (their codes go with
    /// them), inside `tx`. Returns how many went.
    async fn end_other_flows_in(
        &self,
        tx: &mut FlowTx,
        subject: &str,
        keep_hash: &str,
    ) -> Result<u64, StoreError>;

    /// Forgets the challenges expired at `now`.
    async fn purge_expired_pow(&self, now: UnixTime) -> Result<u64, StoreError>;

    async fn insert_pow(&self, pow: &NewPow<'_>) -> Result<(), StoreError>;

    /// Consumes the challenge `id` if it is unexpired at `now`, atomically
    /// (of concurrent takers one gets it): its prefix and difficulty.
    async fn take_pow(&self, id: &str, now: UnixTime) -> Result<Option<(String, i64)>, StoreError>;
}

const SAVE: &str = "UPDATE reset_flows SET state = $1, version = version + 1, busy_until = NULL \
     WHERE id_hash = $2 AND version = $3 AND ($4 = 1 OR busy_until IS NULL OR busy_until <= $5)";

fn save_query<'q>(s: &'q FlowSave<'_>) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(SAVE)
        .bind(s.state)
        .bind(s.hash)
        .bind(s.version)
        .bind(i64::from(s.claimed))
        .bind(s.now)
}

#[async_trait]
impl FlowStore for Store {
    async fn begin_flows(&self) -> Result<FlowTx, StoreError> {
        Ok(FlowTx {
            tx: self.pool().begin().await?,
        })
    }

    async fn load_flow(&self, hash: &str) -> Result<Option<FlowRow>, StoreError> {
        let row: Option<(Option<String>, String, String, i64, String, i64)> = sqlx::query_as(
            "SELECT user_id, subject, state, version, ip, expires_at FROM reset_flows WHERE id_hash = $1",
        )
        .bind(hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(
            |(user_id, subject, state, version, ip, expires_at)| FlowRow {
                user_id,
                subject,
                state,
                version,
                ip,
                expires_at,
            },
        ))
    }

    async fn purge_expired_flows(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM reset_flows WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    async fn insert_flow(&self, f: &NewFlow<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO reset_flows (id_hash, user_id, subject, state, version, ip, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, 0, $5, $6, $7)",
        )
        .bind(f.hash)
        .bind(f.user_id)
        .bind(f.subject)
        .bind(f.state)
        .bind(f.ip)
        .bind(f.created)
        .bind(f.expires)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn claim_flow(
        &self,
        hash: &str,
        version: i64,
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE reset_flows SET busy_until = $1, version = version + 1 \
             WHERE id_hash = $2 AND version = $3 AND (busy_until IS NULL OR busy_until <= $4)",
        )
        .bind(until)
        .bind(hash)
        .bind(version)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_flow(&self, hash: &str, version: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE reset_flows SET busy_until = NULL WHERE id_hash = $1 AND version = $2")
            .bind(hash)
            .bind(version)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn save_flow(&self, save: &FlowSave<'_>) -> Result<bool, StoreError> {
        let done = save_query(save).execute(self.pool()).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn save_flow_in(&self, tx: &mut FlowTx, save: &FlowSave<'_>) -> Result<bool, StoreError> {
        let done = save_query(save).execute(tx.conn()).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn retire_codes_in(
        &self,
        tx: &mut FlowTx,
        flow_hash: &str,
        now: UnixTime,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE reset_codes SET used_at = $1 WHERE flow_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(flow_hash)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected())
    }

    async fn insert_code_in(&self, tx: &mut FlowTx, c: &NewCode<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO reset_codes (id, flow_hash, method_id, code_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.id)
        .bind(c.flow_hash)
        .bind(c.method_id)
        .bind(c.code_hash)
        .bind(c.created)
        .bind(c.expires)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    async fn code_is_live(
        &self,
        flow_hash: &str,
        code_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM reset_codes WHERE flow_hash = $1 AND code_hash = $2 \
             AND used_at IS NULL AND expires_at > $3",
        )
        .bind(flow_hash)
        .bind(code_hash)
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }

    async fn end_other_flows_in(
        &self,
        tx: &mut FlowTx,
        subject: &str,
        keep_hash: &str,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM reset_flows WHERE subject = $1 AND id_hash <> $2")
            .bind(subject)
            .bind(keep_hash)
            .execute(tx.conn())
            .await?;
        Ok(done.rows_affected())
    }

    async fn purge_expired_pow(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM pow_challenges WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    async fn insert_pow(&self, p: &NewPow<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pow_challenges (id, prefix, difficulty, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(p.id)
        .bind(p.prefix)
        .bind(p.difficulty)
        .bind(p.expires)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn take_pow(&self, id: &str, now: UnixTime) -> Result<Option<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "DELETE FROM pow_challenges WHERE id = $1 AND expires_at > $2 RETURNING prefix, difficulty",
        )
        .bind(id)
        .bind(now)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .next())
    }
}
