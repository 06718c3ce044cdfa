//! Per-IP limits, on top of the per-account throttling. The windows live in
//! the store, so every node behind a load balancer counts against the same
//! budget and a restart does not reset it; the process holds none of them,
//! so a million distinct addresses cost it no memory. Expired windows are
//! swept by the housekeeping task.

use crate::clock::UnixTime;
use crate::error::ApiError;
use crate::ports::{IpWindow, IpWindowStore};
use crate::store::Store;

/// Every per-IP window is 10 minutes; the budgets come from `[reset]` in the config.
pub const WINDOW: i64 = 600;

#[derive(Debug, Clone)]
pub struct IpLimits {
    store: Store,
}

impl IpLimits {
    pub fn new(store: Store) -> IpLimits {
        IpLimits { store }
    }

    /// Counts one request from `client` (see [`crate::client_ip::ClientIp::limit_key`]);
    /// refuses once `limit` is passed within the window. One atomic statement,
    /// so concurrent requests on any node each see their own count.
    pub async fn hit(
        &self,
        client: &str,
        (bucket, limit, window): (&'static str, u32, i64),
        now: UnixTime,
    ) -> Result<(), ApiError> {
        let key = format!("{bucket}|{client}");
        let IpWindow { hits, start } = self
            .store
            .hit_ip_window(&key, window, now)
            .await?
            .ok_or_else(|| ApiError::broken("no window"))?;
        if hits > i64::from(limit) {
            return Err(ApiError::RateLimited {
                retry_after: (start + window - now).max(1) as u64,
            });
        }
        Ok(())
    }

    /// Drops windows that ended before `now`. Returns how many.
    pub async fn sweep(&self, now: UnixTime) -> Result<u64, sqlx::Error> {
        self.store
            .sweep_ip_windows(now - WINDOW)
            .await
            .map_err(crate::ports::into_sqlx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    #[tokio::test]
    async fn limits_per_ip_and_window_on_every_backend() {
        for (store, _keep) in testing::all().await {
            let l = IpLimits::new(store.clone());
            let b = ("t", 2, 60);
            assert!(l.hit("1.1.1.1", b, 0).await.is_ok());
            assert!(l.hit("1.1.1.1", b, 1).await.is_ok());
            assert!(matches!(
                l.hit("1.1.1.1", b, 2).await,
                Err(ApiError::RateLimited { retry_after: 58 })
            ));
            assert!(
                l.hit("2.2.2.2", b, 2).await.is_ok(),
                "another IP has its own budget"
            );
            assert!(
                l.hit("1.1.1.1", ("other", 2, 60), 2).await.is_ok(),
                "another bucket has its own budget"
            );
            assert!(l.hit("1.1.1.1", b, 60).await.is_ok(), "a new window");
            // A second node on the same store shares the window.
            let other_node = IpLimits::new(store.clone());
            assert!(other_node.hit("1.1.1.1", b, 61).await.is_ok());
            assert!(other_node.hit("1.1.1.1", b, 62).await.is_err());
            assert_eq!(l.sweep(60 + WINDOW + 1).await.unwrap(), 3);
        }
    }

    #[tokio::test]
    async fn concurrent_hits_never_exceed_the_budget() {
        for (store, _keep) in testing::all().await {
            let l = IpLimits::new(store);
            let tasks: Vec<_> = (0..40)
                .map(|_| {
                    let l = l.clone();
                    tokio::spawn(async move { l.hit("9.9.9.9", ("race", 10, 600), 5).await })
                })
                .collect();
            let mut ok = 0;
            for t in tasks {
                if t.await.unwrap().is_ok() {
                    ok += 1;
                }
            }
            assert_eq!(ok, 10);
        }
    }
}
