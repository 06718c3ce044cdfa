//! When the user last confirmed their methods are still right: set by a
//! review, by reaching the required count, and by the demo seed; read by
//! the reconfirm interrupt.

use crate::AppState;
use crate::clock::UnixTime;
use crate::error::ApiError;

pub async fn mark_reviewed(state: &AppState, user_id: &str) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO security_info_reviews (user_id, reviewed_at) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET reviewed_at = excluded.reviewed_at",
    )
    .bind(user_id)
    .bind(state.clock.now())
    .execute(state.store.pool())
    .await?;
    Ok(())
}

pub async fn reviewed_at(state: &AppState, user_id: &str) -> Result<Option<UnixTime>, ApiError> {
    sqlx::query_scalar("SELECT reviewed_at FROM security_info_reviews WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(state.store.pool())
        .await
        .map_err(ApiError::from)
}
