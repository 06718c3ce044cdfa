//! The outbox's rows: added inside the transaction of the change that causes
//! them, claimed by workers under a lease, rescheduled, released, dropped.
//! The policy (backoff, retry period, expiry, the queue's bound, sealing)
//! stays in [`crate::outbox`]; this port only stores, atomically where the
//! policy relies on it.
//!
//! Two traits, because rows are written in two places: [`OutboxTx`] on the
//! caller's connection (its open transaction, so a row commits or rolls back
//! with the change it announces), [`OutboxStore`] on the store for the
//! workers.

use async_trait::async_trait;
use sqlx::AnyConnection;

use crate::clock::UnixTime;
use crate::store::{Backend, Store, StoreError};

/// One row to add. Its payload is already sealed; id and times come from
/// the caller (entropy and clock are parameters).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NewOutboxRow<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub channel: &'a str,
    pub account: Option<&'a str>,
    /// What a newer row of the kind supersedes it by.
    pub subject: Option<&'a str>,
    pub payload: &'a str,
    pub created_at: UnixTime,
    /// Never sent from this time on.
    pub not_after: Option<UnixTime>,
    /// Not claimed before this time.
    pub next_at: UnixTime,
}

/// Sealed, but a copy in a log is still a copy: the payload is left out.
impl std::fmt::Debug for NewOutboxRow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOutboxRow")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .field("created_at", &self.created_at)
            .field("not_after", &self.not_after)
            .field("next_at", &self.next_at)
            .finish_non_exhaustive()
    }
}

/// A claimed row, its `attempts` counting this claim.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClaimedRow {
    pub id: String,
    pub kind: String,
    pub channel: String,
    pub account: Option<String>,
    pub payload: String,
    pub created_at: UnixTime,
    pub not_after: Option<UnixTime>,
    pub attempts: i64,
}

impl std::fmt::Debug for ClaimedRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedRow")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .field("created_at", &self.created_at)
            .field("not_after", &self.not_after)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// How many rows wait (claimed or not), and when the oldest was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxDepth {
    pub rows: i64,
    pub oldest: Option<UnixTime>,
}

/// Writes on the caller's connection, inside its transaction.
#[async_trait]
pub trait OutboxTx: Send {
    /// Adds `row` unless the outbox already holds `room` rows or more, in
    /// one statement: whether it was added.
    async fn enqueue_outbox(
        &mut self,
        row: &NewOutboxRow<'_>,
        room: i64,
    ) -> Result<bool, StoreError>;

    /// Drops every row of `kind` for `subject`, claimed or not.
    async fn supersede_outbox(&mut self, kind: &str, subject: &str) -> Result<(), StoreError>;
}

#[async_trait]
pub trait OutboxStore: Send + Sync + std::fmt::Debug {
    /// Claims up to `batch` rows due at `now` (`next_at` and `lease_until`
    /// at or before it), the earliest `next_at` first, until `lease_until`;
    /// each claim counts one attempt. Atomic: of concurrent claimers on any
    /// node, each row goes to one.
    async fn claim_outbox(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        batch: i64,
    ) -> Result<Vec<ClaimedRow>, StoreError>;

    /// Frees row `id` for a try at `next_at`, its attempts set to
    /// `attempts` and its last error to `error`.
    async fn reschedule_outbox(
        &self,
        id: &str,
        next_at: UnixTime,
        attempts: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Replaces row `id`'s sealed payload.
    async fn rewrite_outbox_payload(&self, id: &str, payload: &str) -> Result<(), StoreError>;

    /// Makes row `id` due at `now`, if it was never tried (a held notice).
    async fn release_outbox_row(&self, id: &str, now: UnixTime) -> Result<(), StoreError>;

    /// Drops row `id`.
    async fn delete_outbox_row(&self, id: &str) -> Result<(), StoreError>;

    /// The queue's depth.
    async fn outbox_depth(&self) -> Result<OutboxDepth, StoreError>;
}

/// The advisory lock enqueuers take on PostgreSQL ("sspr" and "outbox" in
/// ASCII, so no other lock of the database collides with it by chance).
const OUTBOX_ROOM_LOCK: i64 = 0x7373_7072_6f75_7462;

#[async_trait]
impl OutboxTx for AnyConnection {
    async fn enqueue_outbox(
        &mut self,
        row: &NewOutboxRow<'_>,
        room: i64,
    ) -> Result<bool, StoreError> {
        // The count and the insert are one statement, but on PostgreSQL
        // concurrent transactions each count without the others' rows
        // (READ COMMITTED): four enqueuers against room for 10 added 12.
        // Enqueuers take turns on one transaction-scoped lock, held until
        // the caller's transaction ends, so each counts what the others
        // committed. SQLite lets one writer in at a time already.
        if self.backend_name() == "PostgreSQL" {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(OUTBOX_ROOM_LOCK)
                .execute(&mut *self)
                .await?;
        }
        let done = sqlx::query(
            "INSERT INTO outbox (id, kind, channel, account, subject, payload, created_at, not_after, next_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE (SELECT COUNT(*) FROM outbox) < $10",
        )
        .bind(row.id)
        .bind(row.kind)
        .bind(row.channel)
        .bind(row.account)
        .bind(row.subject)
        .bind(row.payload)
        .bind(row.created_at)
        .bind(row.not_after)
        .bind(row.next_at)
        .bind(room)
        .execute(&mut *self)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn supersede_outbox(&mut self, kind: &str, subject: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM outbox WHERE kind = $1 AND subject = $2")
            .bind(kind)
            .bind(subject)
            .execute(&mut *self)
            .await?;
        Ok(())
    }
}

/// The same on an open transaction, so callers pass `&mut tx` as they would
/// to sqlx.
/// A port's change queues its mail on its own transaction.
#[async_trait]
impl OutboxTx for super::Change {
    async fn enqueue_outbox(
        &mut self,
        row: &NewOutboxRow<'_>,
        room: i64,
    ) -> Result<bool, StoreError> {
        self.conn().enqueue_outbox(row, room).await
    }

    async fn supersede_outbox(&mut self, kind: &str, subject: &str) -> Result<(), StoreError> {
        self.conn().supersede_outbox(kind, subject).await
    }
}

/// A flow's transaction queues its codes the same way.
#[async_trait]
impl OutboxTx for super::FlowTx {
    async fn enqueue_outbox(
        &mut self,
        row: &NewOutboxRow<'_>,
        room: i64,
    ) -> Result<bool, StoreError> {
        self.conn().enqueue_outbox(row, room).await
    }

    async fn supersede_outbox(&mut self, kind: &str, subject: &str) -> Result<(), StoreError> {
        self.conn().supersede_outbox(kind, subject).await
    }
}

#[async_trait]
impl OutboxTx for sqlx::Transaction<'_, sqlx::Any> {
    async fn enqueue_outbox(
        &mut self,
        row: &NewOutboxRow<'_>,
        room: i64,
    ) -> Result<bool, StoreError> {
        (**self).enqueue_outbox(row, room).await
    }

    async fn supersede_outbox(&mut self, kind: &str, subject: &str) -> Result<(), StoreError> {
        (**self).supersede_outbox(kind, subject).await
    }
}

#[async_trait]
impl OutboxStore for Store {
    async fn claim_outbox(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        batch: i64,
    ) -> Result<Vec<ClaimedRow>, StoreError> {
        // PostgreSQL: workers on several nodes skip each other's rows rather
        // than wait. SQLite serialises writers, which is as exclusive.
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        Ok(sqlx::query_as::<_, ClaimedRow>(&format!(
            "UPDATE outbox SET lease_until = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE next_at <= $2 AND lease_until <= $2 \
                          ORDER BY next_at LIMIT $3 {lock}) \
             RETURNING id, kind, channel, account, payload, created_at, not_after, attempts"
        ))
        .bind(lease_until)
        .bind(now)
        .bind(batch)
        .fetch_all(self.pool())
        .await?)
    }

    async fn reschedule_outbox(
        &self,
        id: &str,
        next_at: UnixTime,
        attempts: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET next_at = $1, lease_until = 0, attempts = $2, last_error = $3 WHERE id = $4",
        )
        .bind(next_at)
        .bind(attempts)
        .bind(error)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn rewrite_outbox_payload(&self, id: &str, payload: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET payload = $1 WHERE id = $2")
            .bind(payload)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn release_outbox_row(&self, id: &str, now: UnixTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET next_at = $1 WHERE id = $2 AND attempts = 0")
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn delete_outbox_row(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM outbox WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn outbox_depth(&self) -> Result<OutboxDepth, StoreError> {
        let (rows, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox")
                .fetch_one(self.pool())
                .await?;
        Ok(OutboxDepth { rows, oldest })
    }
}
