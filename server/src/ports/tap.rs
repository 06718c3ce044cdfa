//! Temporary Access Passes: stored as keyed hashes, at most one live per
//! user, used up atomically when one-time. The rules (lengths, lifetimes,
//! who is told) stay in [`crate::tap`]; this port only reads and writes.

use async_trait::async_trait;

use super::Change;
use crate::clock::UnixTime;
use crate::store::{Store, StoreError};

/// A pass to store: its hash, never the pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPass<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub hash: &'a str,
    pub one_time: bool,
    pub created: UnixTime,
    pub expires: UnixTime,
    /// The operator who issued it.
    pub issued_by: &'a str,
}

/// A live pass as stored (never its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassRow {
    pub id: String,
    pub user_id: String,
    pub one_time: bool,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
    pub issued_by: Option<String>,
}

/// A pass that was just redeemed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemedPass {
    pub id: String,
    pub expires_at: UnixTime,
}

#[async_trait]
pub trait TapStore: Send + Sync + std::fmt::Debug {
    /// Stores `pass` on `change`, voiding the user's passes still live at
    /// its creation time first. Returns how many it voided.
    async fn issue_pass(&self, change: &mut Change, pass: &NewPass<'_>) -> Result<u64, StoreError>;

    /// The passes live at `now` (neither expired, revoked nor a used-up
    /// one-time pass), of one user or of all, oldest first (ties by id).
    async fn live_passes(
        &self,
        user_id: Option<&str>,
        now: UnixTime,
    ) -> Result<Vec<PassRow>, StoreError>;

    /// Revokes the user's passes live at `now` (or only the one with `id`).
    /// Returns how many.
    async fn revoke_passes(
        &self,
        user_id: &str,
        id: Option<&str>,
        now: UnixTime,
    ) -> Result<u64, StoreError>;

    /// Uses the user's live pass with this hash at `now`, atomically: a
    /// one-time pass is used by one of concurrent callers, a multi-use one
    /// by each (its last use kept).
    async fn redeem_pass(
        &self,
        user_id: &str,
        hash: &str,
        now: UnixTime,
    ) -> Result<Option<RedeemedPass>, StoreError>;
}

#[async_trait]
impl TapStore for Store {
    async fn issue_pass(&self, change: &mut Change, pass: &NewPass<'_>) -> Result<u64, StoreError> {
        let voided = sqlx::query(
            "UPDATE access_passes SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND expires_at > $1",
        )
            .bind(pass.created)
            .bind(pass.user_id)
            .execute(change.conn())
            .await?
            .rows_affected();
        sqlx::query(
            "INSERT INTO access_passes (id, user_id, pass_hash, one_time, created_at, expires_at, issued_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(pass.id)
        .bind(pass.user_id)
        .bind(pass.hash)
        .bind(i64::from(pass.one_time))
        .bind(pass.created)
        .bind(pass.expires)
        .bind(pass.issued_by)
        .execute(change.conn())
        .await?;
        Ok(voided)
    }

    async fn live_passes(
        &self,
        user_id: Option<&str>,
        now: UnixTime,
    ) -> Result<Vec<PassRow>, StoreError> {
        type Row = (String, String, i64, i64, i64, Option<i64>, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, user_id, one_time, created_at, expires_at, used_at, issued_by FROM access_passes \
             WHERE revoked_at IS NULL AND expires_at > $1 AND (one_time = 0 OR used_at IS NULL) \
             AND ($2 = '' OR user_id = $2) ORDER BY created_at, id",
        )
        .bind(now)
        .bind(user_id.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, user_id, one_time, created_at, expires_at, used_at, issued_by)| PassRow {
                    id,
                    user_id,
                    one_time: one_time != 0,
                    created_at,
                    expires_at,
                    used_at,
                    issued_by,
                },
            )
            .collect())
    }

    async fn revoke_passes(
        &self,
        user_id: &str,
        id: Option<&str>,
        now: UnixTime,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE access_passes SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
             AND expires_at > $1 AND ($3 = '' OR id = $3)",
        )
        .bind(now)
        .bind(user_id)
        .bind(id.unwrap_or(""))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    async fn redeem_pass(
        &self,
        user_id: &str,
        hash: &str,
        now: UnixTime,
    ) -> Result<Option<RedeemedPass>, StoreError> {
        // Read to its end: a RETURNING statement left open holds SQLite's WAL.
        let found: Vec<(String, i64)> = sqlx::query_as(
            "UPDATE access_passes SET used_at = $1 WHERE user_id = $2 AND pass_hash = $3 AND expires_at > $1 \
             AND revoked_at IS NULL AND (one_time = 0 OR used_at IS NULL) RETURNING id, expires_at",
        )
        .bind(now)
        .bind(user_id)
        .bind(hash)
        .fetch_all(self.pool())
        .await?;
        Ok(found
            .into_iter()
            .next()
            .map(|(id, expires_at)| RedeemedPass { id, expires_at }))
    }
}
