//! When the user last confirmed their methods are still right: set by a
//! review, by reaching the required count, and by the demo seed; read by
//! the reconfirm interrupt.

use crate::AppState;
use crate::clock::UnixTime;
use crate::error::ApiError;
use crate::ports::MethodStore;

pub async fn mark_reviewed(state: &AppState, user_id: &str) -> Result<(), ApiError> {
    state
        .store
        .mark_reviewed(user_id, state.clock.now())
        .await?;
    Ok(())
}

pub async fn reviewed_at(state: &AppState, user_id: &str) -> Result<Option<UnixTime>, ApiError> {
    Ok(state.store.reviewed_at(user_id).await?)
}
