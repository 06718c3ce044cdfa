//! Per-key fixed windows of hits (the per-IP limits), shared by every node
//! on the store.

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::store::{Store, StoreError};

/// A window after a hit: how many hits it holds, this one included, and when
/// it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpWindow {
    pub hits: i64,
    pub start: UnixTime,
}

#[async_trait]
pub trait IpWindowStore: Send + Sync + std::fmt::Debug {
    /// Counts one hit on `key`, atomically: a window that started `seconds`
    /// or more before `now` is over, and a new one starts at `now` with this
    /// hit. Concurrent hits on any node each see their own count. `None`
    /// only if the store returned no row, which it should not.
    async fn hit_ip_window(
        &self,
        key: &str,
        seconds: i64,
        now: UnixTime,
    ) -> Result<Option<IpWindow>, StoreError> {
        self.add_ip_hits(key, 1, seconds, now).await
    }

    /// Counts `n` hits on `key` at once, as [`IpWindowStore::hit_ip_window`]
    /// counts one: a node writes the hits it counted in memory this way.
    async fn add_ip_hits(
        &self,
        key: &str,
        n: i64,
        seconds: i64,
        now: UnixTime,
    ) -> Result<Option<IpWindow>, StoreError>;

    /// Drops every window that started at or before `started_by`. Returns how many.
    async fn sweep_ip_windows(&self, started_by: UnixTime) -> Result<u64, StoreError>;
}

#[async_trait]
impl IpWindowStore for Store {
    async fn add_ip_hits(
        &self,
        key: &str,
        n: i64,
        seconds: i64,
        now: UnixTime,
    ) -> Result<Option<IpWindow>, StoreError> {
        // `fetch_all`: a RETURNING read to its end (see `Store::pool`).
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "INSERT INTO ip_windows (key, window_start, hits) VALUES ($1, $2, $4) \
             ON CONFLICT (key) DO UPDATE SET \
               hits = CASE WHEN ip_windows.window_start <= $3 THEN $4 ELSE ip_windows.hits + $4 END, \
               window_start = CASE WHEN ip_windows.window_start <= $3 THEN $2 ELSE ip_windows.window_start END \
             RETURNING hits, window_start",
        )
        .bind(key)
        .bind(now)
        .bind(now - seconds)
        .bind(n)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.first().map(|&(hits, start)| IpWindow { hits, start }))
    }

    async fn sweep_ip_windows(&self, started_by: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM ip_windows WHERE window_start <= $1")
            .bind(started_by)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
