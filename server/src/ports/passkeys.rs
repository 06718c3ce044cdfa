//! Passkeys: the registered credentials (under their `passkey` method) and
//! the ceremonies begun and not yet finished. The policy (who may register,
//! what a counter that does not increase means, how long a ceremony lives)
//! stays in [`crate::methods::passkey`].

use async_trait::async_trait;

use super::{Change, ChangeStore};
use crate::clock::UnixTime;
use crate::store::{Store, StoreError};

/// A credential to store, under the `auth_methods` row `method_id` written
/// in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPasskey<'a> {
    pub method_id: &'a str,
    pub user_id: &'a str,
    /// base64url, as the browser sends it.
    pub credential_id: &'a str,
    pub user_handle: &'a str,
    /// The relying party's stored credential (COSE key, flags), JSON.
    pub public_key: &'a str,
    pub sign_count: i64,
    pub name: &'a str,
    pub created_at: UnixTime,
}

/// A stored credential. Nothing in it is secret: the public key verifies,
/// it cannot sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    pub method_id: String,
    pub user_id: String,
    pub credential_id: String,
    pub user_handle: String,
    pub public_key: String,
    pub sign_count: i64,
    pub name: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    /// When a counter that did not increase flagged it; refused from then on.
    pub cloned_at: Option<UnixTime>,
}

/// What a ceremony was begun for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a passkey in security info (bound to the session).
    Register,
    /// A reset gate (bound to the flow).
    Reset,
    /// Signing in with a passkey alone (bound to the page's own token).
    SignIn,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Reset => "reset",
            Purpose::SignIn => "sign_in",
        }
    }
}

/// A ceremony to keep until its finish.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NewCeremony<'a> {
    /// The ceremony id's hash, never the id.
    pub id_hash: &'a str,
    pub purpose: Purpose,
    /// What began it: a session's or flow's hash, or a sign-in token's.
    pub bound_to: &'a str,
    pub user_id: Option<&'a str>,
    /// The relying party's state (its challenge), JSON.
    pub state: &'a str,
    pub expires_at: UnixTime,
}

/// The state holds the challenge a finish must answer: logs show its shape.
impl std::fmt::Debug for NewCeremony<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCeremony")
            .field("purpose", &self.purpose)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A ceremony taken for its finish.
#[derive(Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub user_id: Option<String>,
    pub state: String,
}

impl std::fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ceremony")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// A store of passkeys opens changes too ([`ChangeStore`]): a credential is
/// stored in the change that writes its method.
#[async_trait]
pub trait PasskeyStore: ChangeStore + Send + Sync + std::fmt::Debug {
    /// Stores a credential in `change` (the one that writes its method).
    /// False, and nothing written, if its credential id is already
    /// registered (to anyone).
    async fn insert_passkey(
        &self,
        change: &mut Change,
        p: &NewPasskey<'_>,
    ) -> Result<bool, StoreError>;

    /// The user's passkeys, oldest first.
    async fn passkeys_of(&self, user_id: &str) -> Result<Vec<StoredPasskey>, StoreError>;

    /// The passkey with this credential id, whoever holds it.
    async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<StoredPasskey>, StoreError>;

    /// Renames one of the user's passkeys (and the label of its method);
    /// false if they hold no such one.
    async fn rename_passkey(
        &self,
        user_id: &str,
        method_id: &str,
        name: &str,
    ) -> Result<bool, StoreError>;

    /// Records a use whose assertion carried `count`, atomically: true only
    /// if the passkey is not flagged and `count` is above the stored count
    /// (or both are 0: a passkey without a counter), and then the count,
    /// the stored credential and the last use are updated. Of concurrent
    /// uses carrying one count, one wins.
    async fn advance_passkey(
        &self,
        method_id: &str,
        count: i64,
        public_key: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Flags a passkey as possibly cloned at `now` (the first flag stays).
    async fn flag_passkey_cloned(&self, method_id: &str, now: UnixTime) -> Result<(), StoreError>;

    /// Keeps a ceremony until its finish.
    async fn put_ceremony(&self, c: &NewCeremony<'_>) -> Result<(), StoreError>;

    /// Takes the ceremony for its finish, atomically and once: only with the
    /// purpose and binding it was begun with (another binding leaves it in
    /// place), and only if unexpired at `now` (an expired one is taken and
    /// dropped). Of concurrent takes, one gets it.
    async fn take_ceremony(
        &self,
        id_hash: &str,
        purpose: Purpose,
        bound_to: &str,
        now: UnixTime,
    ) -> Result<Option<Ceremony>, StoreError>;

    /// Drops the ceremonies expired at `now`; returns how many.
    async fn purge_ceremonies(&self, now: UnixTime) -> Result<u64, StoreError>;
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);

const COLUMNS: &str = "method_id, user_id, credential_id, user_handle, public_key, sign_count, \
                       name, created_at, last_used_at, cloned_at";

fn stored(r: Row) -> StoredPasskey {
    StoredPasskey {
        method_id: r.0,
        user_id: r.1,
        credential_id: r.2,
        user_handle: r.3,
        public_key: r.4,
        sign_count: r.5,
        name: r.6,
        created_at: r.7,
        last_used_at: r.8,
        cloned_at: r.9,
    }
}

#[async_trait]
impl PasskeyStore for Store {
    async fn insert_passkey(
        &self,
        change: &mut Change,
        p: &NewPasskey<'_>,
    ) -> Result<bool, StoreError> {
        // ON CONFLICT rather than a unique violation: on PostgreSQL an error
        // would end the caller's transaction.
        let done = sqlx::query(
            "INSERT INTO passkeys (method_id, user_id, credential_id, user_handle, public_key, \
                                   sign_count, name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (credential_id) DO NOTHING",
        )
        .bind(p.method_id)
        .bind(p.user_id)
        .bind(p.credential_id)
        .bind(p.user_handle)
        .bind(p.public_key)
        .bind(p.sign_count)
        .bind(p.name)
        .bind(p.created_at)
        .execute(change.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn passkeys_of(&self, user_id: &str) -> Result<Vec<StoredPasskey>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, method_id"
        ))
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(stored).collect())
    }

    async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<StoredPasskey>, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"
        ))
        .bind(credential_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(stored))
    }

    async fn rename_passkey(
        &self,
        user_id: &str,
        method_id: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done =
            sqlx::query("UPDATE passkeys SET name = $1 WHERE method_id = $2 AND user_id = $3")
                .bind(name)
                .bind(method_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("UPDATE auth_methods SET target = $1 WHERE id = $2 AND user_id = $3")
            .bind(name)
            .bind(method_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn advance_passkey(
        &self,
        method_id: &str,
        count: i64,
        public_key: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE passkeys SET sign_count = $2, public_key = $3, last_used_at = $4 \
             WHERE method_id = $1 AND cloned_at IS NULL \
               AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0))",
        )
        .bind(method_id)
        .bind(count)
        .bind(public_key)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn flag_passkey_cloned(&self, method_id: &str, now: UnixTime) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE passkeys SET cloned_at = $2 WHERE method_id = $1 AND cloned_at IS NULL",
        )
        .bind(method_id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn put_ceremony(&self, c: &NewCeremony<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO passkey_ceremonies (id_hash, purpose, bound_to, user_id, state, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.id_hash)
        .bind(c.purpose.as_str())
        .bind(c.bound_to)
        .bind(c.user_id)
        .bind(c.state)
        .bind(c.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn take_ceremony(
        &self,
        id_hash: &str,
        purpose: Purpose,
        bound_to: &str,
        now: UnixTime,
    ) -> Result<Option<Ceremony>, StoreError> {
        // `fetch_all`: a RETURNING read to its end (see `Store::pool`).
        let rows: Vec<(Option<String>, String, i64)> = sqlx::query_as(
            "DELETE FROM passkey_ceremonies WHERE id_hash = $1 AND purpose = $2 AND bound_to = $3 \
             RETURNING user_id, state, expires_at",
        )
        .bind(id_hash)
        .bind(purpose.as_str())
        .bind(bound_to)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .find(|(_, _, expires)| *expires > now)
            .map(|(user_id, state, _)| Ceremony { user_id, state }))
    }

    async fn purge_ceremonies(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
