//! Throttles: per-subject proof budgets, blocks, per-target send cooldowns
//! and the per-account log of codes sent. The policy (limits, windows, what
//! a subject is) stays in [`crate::methods::throttle`]; this port only
//! counts, atomically where the policy relies on it.

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::store::{Store, StoreError};

/// A proof budget: at most `limit` proofs (failed or being evaluated) per
/// window of `seconds`, the window starting with its first proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofWindow {
    pub limit: i64,
    pub seconds: i64,
}

/// The outcome of claiming a target's cooldown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The cooldown was free and is now this send's, from `now`.
    Claimed,
    /// A send claimed it at this time, less than the cooldown ago.
    HeldSince(UnixTime),
}

/// What housekeeping forgets: each field is the newest time that may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleHorizons {
    /// Proof budgets whose window started at or before this.
    pub budgets: UnixTime,
    /// Blocks that end at or before this.
    pub blocks: UnixTime,
    /// Send cooldowns claimed at or before this.
    pub cooldowns: UnixTime,
    /// Sends logged at or before this.
    pub sends: UnixTime,
}

#[async_trait]
pub trait ThrottleStore: Send + Sync + std::fmt::Debug {
    /// When `subject`'s block ends (it may have ended already), if it has one.
    async fn blocked_until(&self, subject: &str) -> Result<Option<UnixTime>, StoreError>;

    /// Reserves one proof in `subject`'s budget, in one atomic statement:
    /// false when failures plus proofs in flight already reach the limit.
    /// A window that started `seconds` or more before `now` is over: the
    /// reservation opens a new one, its failures forgotten.
    async fn reserve_proof(
        &self,
        subject: &str,
        window: ProofWindow,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Gives a reserved slot back. A slot that is a failure is never given back.
    async fn refund_proof(&self, subject: &str) -> Result<(), StoreError>;

    /// Turns a reserved slot into a failure. Returns the failures now in the
    /// window, or `None` when `subject` has no budget (swept meanwhile).
    async fn fail_reserved_proof(&self, subject: &str) -> Result<Option<i64>, StoreError>;

    /// Counts a failure that had no reserved slot, atomically, in a window of
    /// `seconds` as [`Self::reserve_proof`] opens them. Returns the failures
    /// now in the window (`None` only if the store returned no row).
    async fn fail_unreserved_proof(
        &self,
        subject: &str,
        seconds: i64,
        now: UnixTime,
    ) -> Result<Option<i64>, StoreError>;

    /// Blocks `subject` until `until`, unless a block is still running at
    /// `now`. Returns whether this call started the block: of concurrent
    /// callers, one.
    async fn start_block(
        &self,
        subject: &str,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Claims the cooldown of (`account`, `target`) at `now`, atomically: of
    /// concurrent claims, one wins. A claim made `cooldown` or more seconds
    /// before `now` has lapsed. `account` is whoever the cooldown is kept
    /// for: an account, or one holder for every account (a phone number's).
    async fn claim_cooldown(
        &self,
        account: &str,
        target: &str,
        cooldown: i64,
        now: UnixTime,
    ) -> Result<Claim, StoreError>;

    /// How many sends `subject` logged after `since`.
    async fn sends_since(&self, subject: &str, since: UnixTime) -> Result<i64, StoreError>;

    /// When the oldest send `subject` logged after `since` was.
    async fn oldest_send_since(
        &self,
        subject: &str,
        since: UnixTime,
    ) -> Result<Option<UnixTime>, StoreError>;

    /// Logs one send to `subject` at `at`.
    async fn log_send(&self, subject: &str, at: UnixTime) -> Result<(), StoreError>;

    /// Forgets what is past the horizons (housekeeping).
    async fn sweep_throttles(&self, horizons: ThrottleHorizons) -> Result<(), StoreError>;

    /// Forgets the blocks and proof budgets of `subjects`, all or none.
    /// Returns how many blocks and how many budgets went.
    async fn clear_throttles(&self, subjects: &[String]) -> Result<(u64, u64), StoreError>;
}

#[async_trait]
impl ThrottleStore for Store {
    async fn blocked_until(&self, subject: &str) -> Result<Option<UnixTime>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT until FROM sspr_blocks WHERE subject = $1")
                .bind(subject)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    async fn reserve_proof(
        &self,
        subject: &str,
        window: ProofWindow,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        // `fetch_all`: a RETURNING read to its end (see `Store::pool`).
        let rows: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO proof_budget (subject, window_start, used, failed) VALUES ($1, $2, 1, 0) \
             ON CONFLICT (subject) DO UPDATE SET \
               used = CASE WHEN proof_budget.window_start <= $3 THEN 1 ELSE proof_budget.used + 1 END, \
               failed = CASE WHEN proof_budget.window_start <= $3 THEN 0 ELSE proof_budget.failed END, \
               window_start = CASE WHEN proof_budget.window_start <= $3 THEN $2 ELSE proof_budget.window_start END \
             WHERE proof_budget.window_start <= $3 OR proof_budget.used < $4 \
             RETURNING used",
        )
        .bind(subject)
        .bind(now)
        .bind(now - window.seconds)
        .bind(window.limit)
        .fetch_all(self.pool())
        .await?;
        Ok(!rows.is_empty())
    }

    async fn refund_proof(&self, subject: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE proof_budget SET used = used - 1 WHERE subject = $1 AND used > failed")
            .bind(subject)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn fail_reserved_proof(&self, subject: &str) -> Result<Option<i64>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "UPDATE proof_budget SET failed = failed + 1 WHERE subject = $1 RETURNING failed",
        )
        .bind(subject)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().next())
    }

    async fn fail_unreserved_proof(
        &self,
        subject: &str,
        seconds: i64,
        now: UnixTime,
    ) -> Result<Option<i64>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO proof_budget (subject, window_start, used, failed) VALUES ($1, $2, 1, 1) \
             ON CONFLICT (subject) DO UPDATE SET \
               used = CASE WHEN proof_budget.window_start <= $3 THEN 1 ELSE proof_budget.used + 1 END, \
               failed = CASE WHEN proof_budget.window_start <= $3 THEN 1 ELSE proof_budget.failed + 1 END, \
               window_start = CASE WHEN proof_budget.window_start <= $3 THEN $2 ELSE proof_budget.window_start END \
             RETURNING failed",
        )
        .bind(subject)
        .bind(now)
        .bind(now - seconds)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().next())
    }

    async fn start_block(
        &self,
        subject: &str,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let started = sqlx::query(
            "INSERT INTO sspr_blocks (subject, until) VALUES ($1, $2) \
             ON CONFLICT (subject) DO UPDATE SET until = excluded.until WHERE sspr_blocks.until <= $3",
        )
        .bind(subject)
        .bind(until)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(started.rows_affected() == 1)
    }

    async fn claim_cooldown(
        &self,
        account: &str,
        target: &str,
        cooldown: i64,
        now: UnixTime,
    ) -> Result<Claim, StoreError> {
        let claimed = sqlx::query(
            "INSERT INTO send_log (account, target_hash, at) VALUES ($1, $2, $3) \
             ON CONFLICT (account, target_hash) DO UPDATE SET at = excluded.at \
             WHERE send_log.at <= $4",
        )
        .bind(account)
        .bind(target)
        .bind(now)
        .bind(now - cooldown)
        .execute(self.pool())
        .await?;
        if claimed.rows_affected() != 0 {
            return Ok(Claim::Claimed);
        }
        let at: i64 =
            sqlx::query_scalar("SELECT at FROM send_log WHERE account = $1 AND target_hash = $2")
                .bind(account)
                .bind(target)
                .fetch_one(self.pool())
                .await?;
        Ok(Claim::HeldSince(at))
    }

    async fn sends_since(&self, subject: &str, since: UnixTime) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM throttle_events WHERE subject = $1 AND kind = 'send' AND at > $2",
        )
        .bind(subject)
        .bind(since)
        .fetch_one(self.pool())
        .await?)
    }

    async fn oldest_send_since(
        &self,
        subject: &str,
        since: UnixTime,
    ) -> Result<Option<UnixTime>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(at) FROM throttle_events WHERE subject = $1 AND kind = 'send' AND at > $2",
        )
        .bind(subject)
        .bind(since)
        .fetch_one(self.pool())
        .await?)
    }

    async fn log_send(&self, subject: &str, at: UnixTime) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO throttle_events (subject, kind, at) VALUES ($1, 'send', $2)")
            .bind(subject)
            .bind(at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn sweep_throttles(&self, h: ThrottleHorizons) -> Result<(), StoreError> {
        let pool = self.pool();
        sqlx::query("DELETE FROM proof_budget WHERE window_start <= $1")
            .bind(h.budgets)
            .execute(pool)
            .await?;
        sqlx::query("DELETE FROM sspr_blocks WHERE until <= $1")
            .bind(h.blocks)
            .execute(pool)
            .await?;
        sqlx::query("DELETE FROM send_log WHERE at <= $1")
            .bind(h.cooldowns)
            .execute(pool)
            .await?;
        sqlx::query("DELETE FROM throttle_events WHERE at <= $1")
            .bind(h.sends)
            .execute(pool)
            .await?;
        Ok(())
    }

    async fn clear_throttles(&self, subjects: &[String]) -> Result<(u64, u64), StoreError> {
        let (mut blocks, mut budgets) = (0, 0);
        let mut tx = self.pool().begin().await?;
        for s in subjects {
            blocks += sqlx::query("DELETE FROM sspr_blocks WHERE subject = $1")
                .bind(s)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            budgets += sqlx::query("DELETE FROM proof_budget WHERE subject = $1")
                .bind(s)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok((blocks, budgets))
    }
}
