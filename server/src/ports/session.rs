//! Portal sessions: stored by the hash of their token, live while unexpired
//! and of their user's current epoch, with the times they proved things.

use async_trait::async_trait;
use sspr_proto::security_info::SignedInWith;

use super::Change;
use crate::clock::UnixTime;
use crate::store::{Store, StoreError};

/// A session to store. `created` is also its first password proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewSession<'a> {
    /// The token's hash, never the token.
    pub hash: &'a str,
    pub user_id: &'a str,
    pub created: UnixTime,
    pub expires: UnixTime,
    pub via: SignedInWith,
    /// The user's epoch read before the password was checked.
    pub epoch: i64,
    /// The Temporary Access Pass it was opened with, if any.
    pub pass_id: Option<&'a str>,
}

/// A live session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub user_id: String,
    pub via: SignedInWith,
    /// When the password (or pass) was last proved.
    pub auth_at: UnixTime,
    /// When it last proved a method the user already had.
    pub mfa_at: UnixTime,
}

/// Which proof time to stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// The password, proved again.
    Auth,
    /// A method the user already had (step-up).
    Mfa,
}

/// A step-up challenge: one per session, a new one replacing the old with
/// its attempts forgotten.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NewStepUp<'a> {
    pub session_hash: &'a str,
    /// The user's method being proved.
    pub method_id: &'a str,
    /// The keyed hash of the code sent, if one was.
    pub code_hash: Option<&'a str>,
    pub sent_at: Option<UnixTime>,
    pub expires: UnixTime,
}

impl std::fmt::Debug for NewStepUp<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewStepUp")
            .field("method_id", &self.method_id)
            .field("sent_at", &self.sent_at)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// A live step-up challenge as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StepUp {
    pub method_id: String,
    pub code_hash: Option<String>,
}

impl std::fmt::Debug for StepUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepUp")
            .field("method_id", &self.method_id)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    async fn insert_session(&self, s: &NewSession<'_>) -> Result<(), StoreError>;

    /// Forgets the session with this hash, if any.
    async fn delete_session(&self, hash: &str) -> Result<(), StoreError>;

    /// The session with this hash if it is live at `now`: unexpired, of its
    /// user's current epoch, and (if opened with a pass) that pass neither
    /// revoked nor expired.
    async fn live_session(
        &self,
        hash: &str,
        now: UnixTime,
    ) -> Result<Option<LiveSession>, StoreError>;

    /// Sets one of the session's proof times.
    async fn stamp_session(&self, hash: &str, stamp: Stamp, at: UnixTime)
    -> Result<(), StoreError>;

    /// Notes that the session proved a method of `kind` at `at` (once per
    /// kind, the latest kept).
    async fn record_session_proof(
        &self,
        hash: &str,
        kind: &str,
        at: UnixTime,
    ) -> Result<(), StoreError>;

    /// The kinds the session proved at or after `since`, most recent first
    /// (ties by kind).
    async fn session_proofs_since(
        &self,
        hash: &str,
        since: UnixTime,
    ) -> Result<Vec<String>, StoreError>;

    /// The user's session epoch: 0 until it is first moved.
    async fn session_epoch(&self, user_id: &str) -> Result<i64, StoreError>;

    /// Moves the user's epoch on, atomically, and returns the new one
    /// (`None` only if the store returned no row).
    async fn bump_session_epoch(&self, user_id: &str) -> Result<Option<i64>, StoreError>;

    /// Ends every session of the user but `keep_hash`, which moves to
    /// `epoch`. Returns how many of those ended were live at `now`.
    async fn end_sessions_but(
        &self,
        user_id: &str,
        keep_hash: &str,
        epoch: i64,
        now: UnixTime,
    ) -> Result<u64, StoreError>;

    /// Stores the session's step-up challenge on `change` (its code's message
    /// goes on the same change), replacing any earlier one.
    async fn put_stepup(&self, change: &mut Change, c: &NewStepUp<'_>) -> Result<(), StoreError>;

    /// The session's step-up challenge if it is unexpired at `now`.
    async fn stepup(&self, session_hash: &str, now: UnixTime)
    -> Result<Option<StepUp>, StoreError>;

    /// Counts a wrong code against the session's challenge, atomically.
    /// Returns its wrong codes now, `None` when it has none (taken meanwhile).
    async fn fail_stepup(&self, session_hash: &str) -> Result<Option<i64>, StoreError>;

    /// Deletes the session's challenge; true for the one caller whose delete
    /// removed it.
    async fn take_stepup(&self, session_hash: &str) -> Result<bool, StoreError>;

    /// Deletes sessions and step-up challenges that expired at or before
    /// `now`: how many of each.
    async fn sweep_sessions(&self, now: UnixTime) -> Result<(u64, u64), StoreError>;
}

fn via_str(via: SignedInWith) -> &'static str {
    match via {
        SignedInWith::Password => "password",
        SignedInWith::TemporaryAccessPass => "tap",
        SignedInWith::Passkey => "passkey",
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn insert_session(&self, s: &NewSession<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, auth_at, via, epoch, pass_id) \
             VALUES ($1, $2, $3, $4, $3, $5, $6, $7)",
        )
        .bind(s.hash)
        .bind(s.user_id)
        .bind(s.created)
        .bind(s.expires)
        .bind(via_str(s.via))
        .bind(s.epoch)
        .bind(s.pass_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn delete_session(&self, hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn live_session(
        &self,
        hash: &str,
        now: UnixTime,
    ) -> Result<Option<LiveSession>, StoreError> {
        let row: Option<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT s.user_id, s.via, s.auth_at, s.mfa_at FROM sessions s \
             LEFT JOIN session_epochs e ON e.user_id = s.user_id \
             LEFT JOIN access_passes p ON p.id = s.pass_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.epoch = COALESCE(e.epoch, 0) \
               AND (s.pass_id IS NULL OR (p.revoked_at IS NULL AND p.expires_at > $2))",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(user_id, via, auth_at, mfa_at)| LiveSession {
            user_id,
            via: match via.as_str() {
                "tap" => SignedInWith::TemporaryAccessPass,
                "passkey" => SignedInWith::Passkey,
                _ => SignedInWith::Password,
            },
            auth_at,
            mfa_at,
        }))
    }

    async fn stamp_session(
        &self,
        hash: &str,
        stamp: Stamp,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        let sql = match stamp {
            Stamp::Auth => "UPDATE sessions SET auth_at = $1 WHERE id_hash = $2",
            Stamp::Mfa => "UPDATE sessions SET mfa_at = $1 WHERE id_hash = $2",
        };
        sqlx::query(sql)
            .bind(at)
            .bind(hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn record_session_proof(
        &self,
        hash: &str,
        kind: &str,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO session_proofs (session_hash, kind, at) VALUES ($1, $2, $3) \
             ON CONFLICT (session_hash, kind) DO UPDATE SET at = excluded.at",
        )
        .bind(hash)
        .bind(kind)
        .bind(at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn session_proofs_since(
        &self,
        hash: &str,
        since: UnixTime,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT kind FROM session_proofs WHERE session_hash = $1 AND at >= $2 \
             ORDER BY at DESC, kind",
        )
        .bind(hash)
        .bind(since)
        .fetch_all(self.pool())
        .await?)
    }

    async fn session_epoch(&self, user_id: &str) -> Result<i64, StoreError> {
        let e: Option<i64> =
            sqlx::query_scalar("SELECT epoch FROM session_epochs WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(e.unwrap_or(0))
    }

    async fn bump_session_epoch(&self, user_id: &str) -> Result<Option<i64>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO session_epochs (user_id, epoch) VALUES ($1, 1) \
             ON CONFLICT (user_id) DO UPDATE SET epoch = session_epochs.epoch + 1 RETURNING epoch",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().next())
    }

    async fn end_sessions_but(
        &self,
        user_id: &str,
        keep_hash: &str,
        epoch: i64,
        now: UnixTime,
    ) -> Result<u64, StoreError> {
        sqlx::query("UPDATE sessions SET epoch = $1 WHERE id_hash = $2 AND user_id = $3")
            .bind(epoch)
            .bind(keep_hash)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        let done = sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2 AND expires_at > $3",
        )
        .bind(user_id)
        .bind(keep_hash)
        .bind(now)
        .execute(self.pool())
        .await?;
        // Expired ones go too, uncounted.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
            .bind(user_id)
            .bind(keep_hash)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    async fn put_stepup(&self, change: &mut Change, c: &NewStepUp<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO stepup_challenges (session_hash, method_id, code_hash, attempts, sent_at, expires_at) \
             VALUES ($1, $2, $3, 0, $4, $5) \
             ON CONFLICT (session_hash) DO UPDATE SET method_id = excluded.method_id, \
               code_hash = excluded.code_hash, attempts = 0, sent_at = excluded.sent_at, \
               expires_at = excluded.expires_at",
        )
        .bind(c.session_hash)
        .bind(c.method_id)
        .bind(c.code_hash)
        .bind(c.sent_at)
        .bind(c.expires)
        .execute(change.conn())
        .await?;
        Ok(())
    }

    async fn stepup(
        &self,
        session_hash: &str,
        now: UnixTime,
    ) -> Result<Option<StepUp>, StoreError> {
        let row: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT method_id, code_hash FROM stepup_challenges WHERE session_hash = $1 AND expires_at > $2",
        )
        .bind(session_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(method_id, code_hash)| StepUp {
            method_id,
            code_hash,
        }))
    }

    async fn fail_stepup(&self, session_hash: &str) -> Result<Option<i64>, StoreError> {
        // `fetch_all`: a RETURNING read to its end (see `Store::pool`).
        let attempts: Vec<i64> = sqlx::query_scalar(
            "UPDATE stepup_challenges SET attempts = attempts + 1 WHERE session_hash = $1 RETURNING attempts",
        )
        .bind(session_hash)
        .fetch_all(self.pool())
        .await?;
        Ok(attempts.into_iter().next())
    }

    async fn take_stepup(&self, session_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM stepup_challenges WHERE session_hash = $1")
            .bind(session_hash)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sweep_sessions(&self, now: UnixTime) -> Result<(u64, u64), StoreError> {
        let mut tx = self.pool().begin().await?;
        let challenges = sqlx::query("DELETE FROM stepup_challenges WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok((sessions, challenges))
    }
}
