//! A change in progress: one store transaction that a port writes on and
//! the outbox joins, so the mail reporting a change is queued with it or not
//! at all. Ports open one (with whatever guard their concern needs); the
//! caller commits it.

use async_trait::async_trait;
use sqlx::AnyConnection;

use crate::store::{Store, StoreError};

/// Dropped without [`Change::commit`], nothing of it is kept. Its
/// connection is the ports' own: callers queue mail on it through
/// [`super::OutboxTx`], never through sqlx.
pub struct Change {
    tx: sqlx::Transaction<'static, sqlx::Any>,
}

impl Change {
    /// Opens a change on the store (for the ports' implementations).
    pub(crate) async fn begin(store: &Store) -> Result<Change, StoreError> {
        Ok(Change {
            tx: store.pool().begin().await?,
        })
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change").finish_non_exhaustive()
    }
}

impl Change {
    /// The transaction's connection, for the ports' statements.
    pub(super) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Opens changes with no guard: a change that only the caller's checks
/// decide, such as issuing a pass or starting a step-up.
#[async_trait]
pub trait ChangeStore: Send + Sync + std::fmt::Debug {
    async fn begin_change(&self) -> Result<Change, StoreError>;
}

#[async_trait]
impl ChangeStore for Store {
    async fn begin_change(&self) -> Result<Change, StoreError> {
        Change::begin(self).await
    }
}
