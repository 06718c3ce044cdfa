//! Per-IP limits, on top of the per-account throttling. In memory: they guard
//! one node against floods; the account limits are the persisted ones.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::UnixTime;
use crate::error::ApiError;

/// `(ip, bucket)` → `(window start, requests in the window)`.
type Windows = HashMap<(String, &'static str), (UnixTime, u32)>;

#[derive(Debug, Default)]
pub struct IpLimits {
    windows: Mutex<Windows>,
}

/// Every per-IP window is 10 minutes; the budgets come from `[reset]` in the config.
pub const WINDOW: i64 = 600;

impl IpLimits {
    /// Counts one request; refuses once `limit` is reached within the window.
    pub fn hit(
        &self,
        ip: &str,
        (bucket, limit, window): (&'static str, u32, i64),
        now: UnixTime,
    ) -> Result<(), ApiError> {
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now - *start < window);
        }
        let entry = map.entry((ip.to_string(), bucket)).or_insert((now, 0));
        if now - entry.0 >= window {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            return Err(ApiError::RateLimited {
                retry_after: (entry.0 + window - now).max(1) as u64,
            });
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_ip_and_window() {
        let l = IpLimits::default();
        let b = ("t", 2, 60);
        assert!(l.hit("1.1.1.1", b, 0).is_ok());
        assert!(l.hit("1.1.1.1", b, 1).is_ok());
        assert!(matches!(
            l.hit("1.1.1.1", b, 2),
            Err(ApiError::RateLimited { retry_after: 58 })
        ));
        assert!(
            l.hit("2.2.2.2", b, 2).is_ok(),
            "another IP has its own budget"
        );
        assert!(l.hit("1.1.1.1", b, 60).is_ok(), "a new window");
    }
}
