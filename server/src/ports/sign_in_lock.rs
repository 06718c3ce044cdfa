//! The sign-in lockout: per key, failures counted in rounds, a lock, and the
//! password checks in flight. The policy (how long a lock lasts, what a key
//! is) stays in [`crate::session`].

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::store::{Store, StoreError};

#[async_trait]
pub trait SignInLockStore: Send + Sync + std::fmt::Debug {
    /// When `key`'s lock ends (it may have ended already), if it has one.
    async fn sign_in_locked_until(&self, key: &str) -> Result<Option<UnixTime>, StoreError>;

    /// Reserves one password check for `key`, atomically: false while the key
    /// is locked at `now`, or while the failures of this round of `round` plus
    /// the checks in flight already make `round`. Checks reserved at or
    /// before `stale` no longer count.
    async fn reserve_sign_in_check(
        &self,
        key: &str,
        round: i64,
        stale: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Gives a reserved check back (it ended in an error).
    async fn release_sign_in_check(&self, key: &str) -> Result<(), StoreError>;

    /// Turns a reserved check into a failure, atomically; the failure that
    /// ends a round of `round` locks the key until `lock_until`. Returns the
    /// failures so far (`None` only if the store returned no row).
    async fn fail_sign_in_check(
        &self,
        key: &str,
        round: i64,
        lock_until: UnixTime,
    ) -> Result<Option<i64>, StoreError>;

    /// Sets `key`'s lock to end at `until`.
    async fn lock_sign_in(&self, key: &str, until: UnixTime) -> Result<(), StoreError>;

    /// A reserved check passed: failures and lock are forgotten, checks still
    /// in flight keep their slots, and a key with nothing left goes.
    async fn pass_sign_in_check(&self, key: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl SignInLockStore for Store {
    async fn sign_in_locked_until(&self, key: &str) -> Result<Option<UnixTime>, StoreError> {
        let until: Option<Option<i64>> =
            sqlx::query_scalar("SELECT locked_until FROM signin_throttle WHERE user_id = $1")
                .bind(key)
                .fetch_optional(self.pool())
                .await?;
        Ok(until.flatten())
    }

    async fn reserve_sign_in_check(
        &self,
        key: &str,
        round: i64,
        stale: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        // `fetch_all`: a RETURNING read to its end (see `Store::pool`).
        let reserved: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO signin_throttle (user_id, failures, pending, pending_at) VALUES ($1, 0, 1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET \
               pending = CASE WHEN signin_throttle.pending_at <= $3 THEN 1 ELSE signin_throttle.pending + 1 END, \
               pending_at = $2 \
             WHERE (signin_throttle.locked_until IS NULL OR signin_throttle.locked_until <= $2) \
               AND (signin_throttle.failures % $4) \
                   + CASE WHEN signin_throttle.pending_at <= $3 THEN 0 ELSE signin_throttle.pending END < $4 \
             RETURNING pending",
        )
        .bind(key)
        .bind(now)
        .bind(stale)
        .bind(round)
        .fetch_all(self.pool())
        .await?;
        Ok(!reserved.is_empty())
    }

    async fn release_sign_in_check(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE signin_throttle SET pending = pending - 1 WHERE user_id = $1 AND pending > 0",
        )
        .bind(key)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn fail_sign_in_check(
        &self,
        key: &str,
        round: i64,
        lock_until: UnixTime,
    ) -> Result<Option<i64>, StoreError> {
        let failures: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO signin_throttle (user_id, failures) VALUES ($1, 1) \
             ON CONFLICT (user_id) DO UPDATE SET failures = signin_throttle.failures + 1, \
               pending = CASE WHEN signin_throttle.pending > 0 THEN signin_throttle.pending - 1 ELSE 0 END, \
               locked_until = CASE WHEN (signin_throttle.failures + 1) % $3 = 0 THEN $2 \
                                   ELSE signin_throttle.locked_until END \
             RETURNING failures",
        )
        .bind(key)
        .bind(lock_until)
        .bind(round)
        .fetch_all(self.pool())
        .await?;
        Ok(failures.into_iter().next())
    }

    async fn lock_sign_in(&self, key: &str, until: UnixTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE signin_throttle SET locked_until = $1 WHERE user_id = $2")
            .bind(until)
            .bind(key)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn pass_sign_in_check(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE signin_throttle SET failures = 0, locked_until = NULL, \
               pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END \
             WHERE user_id = $1",
        )
        .bind(key)
        .execute(self.pool())
        .await?;
        sqlx::query(
            "DELETE FROM signin_throttle WHERE user_id = $1 AND pending = 0 AND failures = 0",
        )
        .bind(key)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
