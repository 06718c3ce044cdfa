//! Stored methods: the rows of `auth_methods` and what hangs off them
//! (recovery codes, security answers, the last TOTP step), the codes sent at
//! reset, and the review stamps. The rules (who may add what, which kind may
//! be the default, how codes and answers are hashed) stay in
//! [`crate::methods`]; this port only reads and writes, atomically where the
//! rules rely on it.
//!
//! A change to a user's methods is one transaction, a [`Change`]: it is
//! opened (holding the user's row when a guard needs it), written by this
//! port, and committed by the caller, who may add the mail that reports the
//! change to the outbox on the same transaction first.

use async_trait::async_trait;
use sqlx::Row;

use super::Change;
use crate::clock::UnixTime;
use crate::store::{Store, StoreError};

/// A stored method as read back. `kind` is the stored name; the methods
/// layer maps it to a `MethodKind` (and skips a name it does not know).
#[derive(Clone, PartialEq, Eq)]
pub struct MethodRow {
    pub id: String,
    pub kind: String,
    pub target: Option<String>,
    pub secret_sealed: Option<String>,
    pub is_default: bool,
    pub created_at: UnixTime,
}

impl std::fmt::Debug for MethodRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MethodRow")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("is_default", &self.is_default)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A method row to store. The secret is already sealed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NewMethodRow<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub kind: &'a str,
    pub target: Option<&'a str>,
    pub secret_sealed: Option<&'a str>,
    /// The TOTP step that confirmed an authenticator: never accepted again.
    pub used_step: Option<i64>,
    /// Its creation and confirmation time.
    pub at: UnixTime,
}

impl std::fmt::Debug for NewMethodRow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMethodRow")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// What must hold for a change to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeGuard {
    /// Nothing: the caller has checked what the change needs.
    None,
    /// The user has no method that proves who they are (any kind but
    /// security questions): a first registration.
    FirstProof,
    /// The user has no method at all (the demo seed).
    FirstMethod,
}

/// The kind whose rows do not count for [`ChangeGuard::FirstProof`].
const NOT_A_PROOF: &str = "security_questions";

#[async_trait]
pub trait MethodStore: Send + Sync + std::fmt::Debug {
    /// The user's methods, oldest first (ties by id).
    async fn methods_of(&self, user_id: &str) -> Result<Vec<MethodRow>, StoreError>;

    /// Opens a change to the user's methods. With a guard, the user's row is
    /// held until the change ends, so concurrent guarded changes serialise
    /// and the later sees the earlier's methods; `None` when the guard does
    /// not hold (nothing is kept open).
    async fn begin_method_change(
        &self,
        user_id: &str,
        guard: ChangeGuard,
    ) -> Result<Option<Change>, StoreError>;

    /// Stores a method. The user's first method becomes the default.
    async fn add_method(&self, change: &mut Change, m: &NewMethodRow<'_>)
    -> Result<(), StoreError>;

    /// Removes the user's method `method_id`; false when it was not there (a
    /// concurrent removal won). When it `was_default`, the oldest remaining
    /// method inherits the default.
    async fn remove_method(
        &self,
        change: &mut Change,
        user_id: &str,
        method_id: &str,
        was_default: bool,
    ) -> Result<bool, StoreError>;

    /// Makes `method_id` the user's only default.
    async fn set_default_method(
        &self,
        change: &mut Change,
        user_id: &str,
        method_id: &str,
    ) -> Result<(), StoreError>;

    /// Drops the methods `old` (their codes or answers go with them) and
    /// stores `new`'s row in their place, never the default, with no target
    /// or secret: a set of recovery codes or questions, whose members the
    /// caller adds next on the same change.
    async fn replace_methods(
        &self,
        change: &mut Change,
        old: &[&str],
        new: &NewMethodRow<'_>,
    ) -> Result<(), StoreError>;

    /// Stores a recovery-code set's hashes for the method `method_id`.
    async fn store_recovery_codes(
        &self,
        change: &mut Change,
        method_id: &str,
        hashes: &[String],
    ) -> Result<(), StoreError>;

    /// How many codes of the set `method_id` are not used yet.
    async fn unused_recovery_codes(&self, method_id: &str) -> Result<i64, StoreError>;

    /// Uses the code of the set `method_id` with this hash, atomically: of
    /// concurrent callers, one gets true.
    async fn redeem_recovery_code(
        &self,
        method_id: &str,
        hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Stores a question set for the method `method_id`: `(question, answer
    /// hash)` in the order they are answered.
    async fn store_answers(
        &self,
        change: &mut Change,
        method_id: &str,
        answers: &[(&str, &str)],
    ) -> Result<(), StoreError>;

    /// The user's questions, in the order they answer them.
    async fn questions_of(&self, user_id: &str) -> Result<Vec<String>, StoreError>;

    /// The user's answer hashes, in the same order.
    async fn answer_hashes_of(&self, user_id: &str) -> Result<Vec<String>, StoreError>;

    /// Accepts TOTP `step` for the method only if it is newer than every step
    /// accepted before, atomically: a step is accepted once.
    async fn claim_totp_step(&self, method_id: &str, step: i64) -> Result<bool, StoreError>;

    /// Marks the reset flow's code for the offered method `option` with this
    /// hash used, if it is unused and unexpired at `now`, atomically: of
    /// concurrent callers, one gets true.
    async fn redeem_flow_code(
        &self,
        flow_hash: &str,
        option: &str,
        code_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Stamps the user's review of their methods (the latest kept).
    async fn mark_reviewed(&self, user_id: &str, at: UnixTime) -> Result<(), StoreError>;

    /// When the user last reviewed their methods, if ever.
    async fn reviewed_at(&self, user_id: &str) -> Result<Option<UnixTime>, StoreError>;
}

const INSERT_METHOD: &str = "INSERT INTO auth_methods (id, user_id, kind, target, secret_sealed, totp_last_step, is_default, created_at, confirmed_at) \
     VALUES ($1, $2, $3, $4, $5, $6, \
             CASE WHEN EXISTS (SELECT 1 FROM auth_methods WHERE user_id = $2) THEN 0 ELSE 1 END, $7, $7)";

#[async_trait]
impl MethodStore for Store {
    async fn methods_of(&self, user_id: &str) -> Result<Vec<MethodRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, target, secret_sealed, is_default, created_at FROM auth_methods \
             WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(MethodRow {
                    id: r.try_get("id").ok()?,
                    kind: r.try_get("kind").ok()?,
                    target: r.try_get("target").ok()?,
                    secret_sealed: r.try_get("secret_sealed").ok()?,
                    is_default: r.try_get::<i64, _>("is_default").ok()? != 0,
                    created_at: r.try_get("created_at").ok()?,
                })
            })
            .collect())
    }

    async fn begin_method_change(
        &self,
        user_id: &str,
        guard: ChangeGuard,
    ) -> Result<Option<Change>, StoreError> {
        let mut change = Change::begin(self).await?;
        if guard == ChangeGuard::None {
            return Ok(Some(change));
        }
        sqlx::query("UPDATE users SET enabled = enabled WHERE id = $1")
            .bind(user_id)
            .execute(change.conn())
            .await?;
        let n: i64 = if guard == ChangeGuard::FirstProof {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM auth_methods WHERE user_id = $1 AND kind <> $2",
            )
            .bind(user_id)
            .bind(NOT_A_PROOF)
            .fetch_one(change.conn())
            .await?
        } else {
            sqlx::query_scalar("SELECT COUNT(*) FROM auth_methods WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(change.conn())
                .await?
        };
        Ok((n == 0).then_some(change))
    }

    async fn add_method(
        &self,
        change: &mut Change,
        m: &NewMethodRow<'_>,
    ) -> Result<(), StoreError> {
        sqlx::query(INSERT_METHOD)
            .bind(m.id)
            .bind(m.user_id)
            .bind(m.kind)
            .bind(m.target)
            .bind(m.secret_sealed)
            .bind(m.used_step)
            .bind(m.at)
            .execute(change.conn())
            .await?;
        Ok(())
    }

    async fn remove_method(
        &self,
        change: &mut Change,
        user_id: &str,
        method_id: &str,
        was_default: bool,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM auth_methods WHERE id = $1 AND user_id = $2")
            .bind(method_id)
            .bind(user_id)
            .execute(change.conn())
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if was_default {
            sqlx::query(
                "UPDATE auth_methods SET is_default = 1 WHERE id = \
                 (SELECT id FROM auth_methods WHERE user_id = $1 ORDER BY created_at, id LIMIT 1)",
            )
            .bind(user_id)
            .execute(change.conn())
            .await?;
        }
        Ok(true)
    }

    async fn set_default_method(
        &self,
        change: &mut Change,
        user_id: &str,
        method_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE auth_methods SET is_default = CASE WHEN id = $1 THEN 1 ELSE 0 END WHERE user_id = $2",
        )
        .bind(method_id)
        .bind(user_id)
        .execute(change.conn())
        .await?;
        Ok(())
    }

    async fn replace_methods(
        &self,
        change: &mut Change,
        old: &[&str],
        new: &NewMethodRow<'_>,
    ) -> Result<(), StoreError> {
        for id in old {
            sqlx::query("DELETE FROM auth_methods WHERE id = $1")
                .bind(*id)
                .execute(change.conn())
                .await?;
        }
        sqlx::query(
            "INSERT INTO auth_methods (id, user_id, kind, is_default, created_at, confirmed_at) \
             VALUES ($1, $2, $3, 0, $4, $4)",
        )
        .bind(new.id)
        .bind(new.user_id)
        .bind(new.kind)
        .bind(new.at)
        .execute(change.conn())
        .await?;
        Ok(())
    }

    async fn store_recovery_codes(
        &self,
        change: &mut Change,
        method_id: &str,
        hashes: &[String],
    ) -> Result<(), StoreError> {
        for h in hashes {
            sqlx::query("INSERT INTO recovery_codes (method_id, code_hash) VALUES ($1, $2)")
                .bind(method_id)
                .bind(h)
                .execute(change.conn())
                .await?;
        }
        Ok(())
    }

    async fn unused_recovery_codes(&self, method_id: &str) -> Result<i64, StoreError> {
        let n = sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE method_id = $1 AND used_at IS NULL",
        )
        .bind(method_id)
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }

    async fn redeem_recovery_code(
        &self,
        method_id: &str,
        hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE method_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(method_id)
        .bind(hash)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn store_answers(
        &self,
        change: &mut Change,
        method_id: &str,
        answers: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        for (i, (question, hash)) in answers.iter().enumerate() {
            sqlx::query(
                "INSERT INTO security_answers (method_id, position, question, answer_hash) VALUES ($1, $2, $3, $4)",
            )
            .bind(method_id)
            .bind(i64::try_from(i).unwrap_or(i64::MAX))
            .bind(*question)
            .bind(*hash)
            .execute(change.conn())
            .await?;
        }
        Ok(())
    }

    async fn questions_of(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let q = sqlx::query_scalar(
            "SELECT a.question FROM security_answers a JOIN auth_methods m ON m.id = a.method_id \
             WHERE m.user_id = $1 ORDER BY a.position",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        Ok(q)
    }

    async fn answer_hashes_of(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let h = sqlx::query_scalar(
            "SELECT a.answer_hash FROM security_answers a JOIN auth_methods m ON m.id = a.method_id \
             WHERE m.user_id = $1 ORDER BY a.position",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        Ok(h)
    }

    async fn claim_totp_step(&self, method_id: &str, step: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE auth_methods SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(method_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn redeem_flow_code(
        &self,
        flow_hash: &str,
        option: &str,
        code_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE reset_codes SET used_at = $1 WHERE flow_hash = $2 AND method_id = $3 AND code_hash = $4 \
             AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(flow_hash)
        .bind(option)
        .bind(code_hash)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn mark_reviewed(&self, user_id: &str, at: UnixTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO security_info_reviews (user_id, reviewed_at) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET reviewed_at = excluded.reviewed_at",
        )
        .bind(user_id)
        .bind(at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn reviewed_at(&self, user_id: &str) -> Result<Option<UnixTime>, StoreError> {
        let at =
            sqlx::query_scalar("SELECT reviewed_at FROM security_info_reviews WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(at)
    }
}
