//! Pending security-info enrolments (the `enrollments` table): one per
//! session at a time, found by the hash of its id (a bearer secret), live
//! strictly before its expiry, with its wrong codes counted atomically. The
//! policy (lifetime, attempts, who may enrol) stays in
//! [`crate::security_info`].

use async_trait::async_trait;

use super::Change;
use crate::clock::UnixTime;
use crate::store::{Store, StoreError};

/// An enrolment to store. Its material is already sealed or hashed.
#[derive(Clone, PartialEq, Eq)]
pub struct NewEnrolment<'a> {
    /// The SHA-256 of the enrolment id, never the id.
    pub id_hash: &'a str,
    pub session_hash: &'a str,
    pub user_id: &'a str,
    /// The method kind, as stored (`MethodKind::as_str`).
    pub kind: &'a str,
    /// The address or number the code went to.
    pub target: Option<&'a str>,
    /// An authenticator's secret, sealed.
    pub secret_sealed: Option<&'a str>,
    /// The keyed hash of the code sent.
    pub code_hash: Option<&'a str>,
    pub sent_at: Option<UnixTime>,
    pub expires_at: UnixTime,
}

/// Targets are personal data, material is secret: neither prints.
impl std::fmt::Debug for NewEnrolment<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEnrolment")
            .field("kind", &self.kind)
            .field("sent_at", &self.sent_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A live enrolment as stored.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingEnrolment {
    pub kind: String,
    pub target: Option<String>,
    pub secret_sealed: Option<String>,
    pub code_hash: Option<String>,
    pub attempts: i64,
    pub expires_at: UnixTime,
}

impl std::fmt::Debug for PendingEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingEnrolment")
            .field("kind", &self.kind)
            .field("attempts", &self.attempts)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait EnrolmentStore: Send + Sync + std::fmt::Debug {
    /// Drops the session's pending enrolment, and every enrolment expired at
    /// `now` (whoever's).
    async fn clear_enrolments(&self, session_hash: &str, now: UnixTime) -> Result<(), StoreError>;

    /// Opens a transaction that drops the session's pending enrolment and
    /// stores `e` in its place. The caller adds what must go with it (the
    /// code's message) and commits; dropping the transaction stores nothing.
    async fn create_enrolment(&self, e: &NewEnrolment<'_>) -> Result<Change, StoreError>;

    /// The enrolment `id_hash` of this session, if it is live at `now`
    /// (strictly before its expiry).
    async fn pending_enrolment(
        &self,
        id_hash: &str,
        session_hash: &str,
        now: UnixTime,
    ) -> Result<Option<PendingEnrolment>, StoreError>;

    /// Counts one wrong code against `id_hash`, atomically, and returns the
    /// count (`None` once the enrolment is gone).
    async fn count_enrolment_attempt(&self, id_hash: &str) -> Result<Option<i64>, StoreError>;

    /// Drops `id_hash`; true only for the one call that dropped it, so of
    /// concurrent confirmations exactly one wins.
    async fn delete_enrolment(&self, id_hash: &str) -> Result<bool, StoreError>;

    /// Drops every enrolment expired at `now`; returns how many went.
    async fn sweep_enrolments(&self, now: UnixTime) -> Result<u64, StoreError>;
}

#[async_trait]
impl EnrolmentStore for Store {
    async fn clear_enrolments(&self, session_hash: &str, now: UnixTime) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM enrollments WHERE session_hash = $1 OR expires_at <= $2")
            .bind(session_hash)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn create_enrolment(&self, e: &NewEnrolment<'_>) -> Result<Change, StoreError> {
        let mut tx = Change::begin(self).await?;
        sqlx::query("DELETE FROM enrollments WHERE session_hash = $1")
            .bind(e.session_hash)
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO enrollments (id_hash, session_hash, user_id, kind, target, secret_sealed, code_hash, sent_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(e.id_hash)
        .bind(e.session_hash)
        .bind(e.user_id)
        .bind(e.kind)
        .bind(e.target)
        .bind(e.secret_sealed)
        .bind(e.code_hash)
        .bind(e.sent_at)
        .bind(e.expires_at)
        .execute(tx.conn())
        .await?;
        Ok(tx)
    }

    async fn pending_enrolment(
        &self,
        id_hash: &str,
        session_hash: &str,
        now: UnixTime,
    ) -> Result<Option<PendingEnrolment>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kind, target, secret_sealed, code_hash, attempts, expires_at FROM enrollments \
             WHERE id_hash = $1 AND session_hash = $2 AND expires_at > $3",
        )
        .bind(id_hash)
        .bind(session_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?)
    }

    async fn count_enrolment_attempt(&self, id_hash: &str) -> Result<Option<i64>, StoreError> {
        // `fetch_all`: a RETURNING read to its end (see `Store::pool`).
        let attempts: Vec<i64> = sqlx::query_scalar(
            "UPDATE enrollments SET attempts = attempts + 1 WHERE id_hash = $1 RETURNING attempts",
        )
        .bind(id_hash)
        .fetch_all(self.pool())
        .await?;
        Ok(attempts.into_iter().next())
    }

    async fn delete_enrolment(&self, id_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM enrollments WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sweep_enrolments(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM enrollments WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
