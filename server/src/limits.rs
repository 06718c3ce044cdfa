//! Per-IP limits, on top of the per-account throttling. The windows live in
//! the store, so every node behind a load balancer counts against the same
//! budget and a restart does not reset it. Expired windows are swept by the
//! housekeeping task.
//!
//! A node does not write every hit. A key's first hit writes (and reads
//! back the window every node shares). While the budget is far, the hits
//! after it are counted in memory, up to a quarter of what the budget has
//! left, then written in one statement whose answer brings back what the
//! other nodes wrote; [`IpLimits::flush`] writes what is left every
//! [`FLUSH_EVERY`]. Near the budget (four hits or fewer left) every hit is
//! written and judged by the store's count, on whatever node it lands, and
//! the hit that passes the budget is written at once, so a refusal
//! outlives a crash. On one node the count is exact (hits still on their
//! way to the store count too); across nodes, and after a crash, what can
//! slip through is at most a quarter of what was left. A key with no hit in
//! an interval leaves the map, so a million distinct addresses cost no more
//! memory than the keys of one interval.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::UnixTime;
use crate::error::ApiError;
use crate::ports::{IpWindow, IpWindowStore};
use crate::store::Store;

/// Every per-IP window is 10 minutes; the budgets come from `[reset]` in the config.
pub const WINDOW: i64 = 600;

/// How often a node writes the hits it counted in memory.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// A key's window as this node knows it: the store's figure at the last
/// write, and the hits counted since.
#[derive(Debug, Default)]
struct Local {
    known: Option<IpWindow>,
    seconds: i64,
    pending: i64,
    /// Hits on their way to the store, not yet in `known`.
    inflight: i64,
    /// Flushed and out of the map: a hit that finds it takes a new entry.
    retired: bool,
}

impl Local {
    /// Takes `written`, the store's answer to a write, as the window when
    /// it is newer than what this node knows (another window, or more
    /// hits): several writes of one key may answer out of order.
    fn adopt(&mut self, written: IpWindow) {
        if self
            .known
            .is_none_or(|k| k.start != written.start || k.hits < written.hits)
        {
            self.known = Some(written);
        }
    }
}

type Entry = Arc<Mutex<Local>>;

/// What a hit does once its entry decided.
enum Next {
    /// Counted in memory: the window as this node knows it.
    Counted(IpWindow),
    /// Written to the store: this many hits.
    Write(i64),
}

#[derive(Debug, Clone)]
pub struct IpLimits {
    store: Store,
    keys: Arc<Mutex<HashMap<String, Entry>>>,
}

impl IpLimits {
    pub fn new(store: Store) -> IpLimits {
        IpLimits {
            store,
            keys: Arc::default(),
        }
    }

    /// Counts one request from `client` (see [`crate::client_ip::ClientIp::limit_key`]);
    /// refuses once `limit` is passed within the window.
    pub async fn hit(
        &self,
        client: &str,
        (bucket, limit, window): (&'static str, u32, i64),
        now: UnixTime,
    ) -> Result<(), ApiError> {
        let key = format!("{bucket}|{client}");
        let IpWindow { hits, start } = loop {
            let entry = {
                let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
                keys.entry(key.clone()).or_default().clone()
            };
            // Decided under the entry's lock, which is never held across a
            // store call: 64 requests of one client take turns for a few
            // instructions each, not for a write.
            let next = {
                let mut local = entry.lock().unwrap_or_else(|e| e.into_inner());
                if local.retired {
                    continue;
                }
                let limit = i64::from(limit);
                match local.known {
                    // Within the window this node read: count here while
                    // the budget is far (a quarter of what is left), and
                    // write once it is near, so the last hits before the
                    // budget are each counted by the store, whatever node
                    // they reach, and a crash loses at most that quarter.
                    // Hits in flight to the store count too.
                    Some(w) if w.start + window > now => {
                        local.pending += 1;
                        let counted = w.hits + local.inflight;
                        let seen = IpWindow {
                            hits: counted + local.pending,
                            start: w.start,
                        };
                        let near = ((limit - counted) / 4).max(1);
                        if seen.hits > limit + 1 {
                            // Refused, and the refusal is already written.
                            Next::Counted(seen)
                        } else if seen.hits == limit + 1 || local.pending >= near {
                            let n = std::mem::take(&mut local.pending);
                            local.inflight += n;
                            Next::Write(n)
                        } else {
                            Next::Counted(seen)
                        }
                    }
                    // A key's first hit, or a window that ended (the hits
                    // counted in it count no more): written. Concurrent
                    // first hits each write, and the store counts each.
                    Some(_) | None => {
                        local.known = None;
                        local.pending = 0;
                        local.inflight += 1;
                        Next::Write(1)
                    }
                }
            };
            match next {
                Next::Counted(w) => break w,
                Next::Write(n) => {
                    let written = self.store.add_ip_hits(&key, n, window, now).await;
                    let mut local = entry.lock().unwrap_or_else(|e| e.into_inner());
                    local.inflight -= n;
                    let written = written?.ok_or_else(|| ApiError::broken("no window"))?;
                    // What was counted here meanwhile stays pending on top.
                    local.adopt(written);
                    local.seconds = window;
                    // This hit is judged by the store's own count.
                    break written;
                }
            }
        };
        if hits > i64::from(limit) {
            return Err(ApiError::RateLimited {
                retry_after: (start + window - now).max(1) as u64,
            });
        }
        Ok(())
    }

    /// Writes the hits counted in memory, one statement per key, and takes
    /// back from each the window every node shares (what other nodes wrote
    /// included). A key with nothing counted since the last flush leaves the
    /// map: its next hit reads the store afresh.
    pub async fn flush(&self, now: UnixTime) -> Result<(), ApiError> {
        let entries: Vec<(String, Entry)> = {
            let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            keys.iter().map(|(k, e)| (k.clone(), e.clone())).collect()
        };
        let mut failed = None;
        for (key, entry) in entries {
            let (pending, seconds) = {
                let mut local = entry.lock().unwrap_or_else(|e| e.into_inner());
                // Hits of a window that has ended by now count no more.
                let live = local.known.is_some_and(|w| w.start + local.seconds > now);
                if local.pending == 0 || !live {
                    local.retired = true;
                    let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
                    if keys.get(&key).is_some_and(|e| Arc::ptr_eq(e, &entry)) {
                        keys.remove(&key);
                    }
                    continue;
                }
                // What is being written stays counted while it is: the
                // node's own figure never drops below what it counted.
                let pending = std::mem::take(&mut local.pending);
                if let Some(w) = local.known.as_mut() {
                    w.hits += pending;
                }
                (pending, local.seconds)
            };
            match self.store.add_ip_hits(&key, pending, seconds, now).await {
                Ok(Some(written)) => entry
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .adopt(written),
                Ok(None) => {}
                Err(e) => failed = Some(e),
            }
        }
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Flushes every [`FLUSH_EVERY`], for as long as the process runs.
    pub fn spawn_flush(&self, clock: Arc<dyn crate::clock::Clock>) -> tokio::task::JoinHandle<()> {
        let limits = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            loop {
                tick.tick().await;
                if let Err(e) = limits.flush(clock.now()).await {
                    tracing::warn!(error = %e, "per-IP hits of one interval could not be written and are not counted");
                }
            }
        })
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
    async fn hits_counted_in_memory_reach_the_store_at_the_flush() {
        for (store, _keep) in testing::all().await {
            let (a, b) = (IpLimits::new(store.clone()), IpLimits::new(store.clone()));
            let budget = ("f", 100, 60);
            let stored = || async {
                let w = store.add_ip_hits("f|3.3.3.3", 0, 60, 3).await.unwrap();
                w.unwrap().hits
            };
            for t in 0..3 {
                assert!(a.hit("3.3.3.3", budget, t).await.is_ok());
            }
            assert!(b.hit("3.3.3.3", budget, 3).await.is_ok());
            // Far from the budget: each node wrote its first hit, a holds
            // its next two in memory.
            assert_eq!(stored().await, 2);
            a.flush(3).await.unwrap();
            b.flush(3).await.unwrap();
            assert_eq!(stored().await, 4, "every hit reached the store once");
            // a's flush brought back b's hit; b, with nothing to write, left
            // the map, and its next hit reads the store afresh.
            let known = |l: &IpLimits| {
                let keys = l.keys.lock().unwrap();
                keys.get("f|3.3.3.3")
                    .and_then(|e| e.lock().unwrap().known)
                    .map(|w| w.hits)
            };
            assert_eq!(known(&a), Some(4));
            assert_eq!(known(&b), None);
        }
    }

    #[tokio::test]
    async fn a_busy_key_stays_counted_in_memory_across_flushes() {
        for (store, _keep) in testing::all().await {
            let l = IpLimits::new(store.clone());
            let budget = ("m", 100, 60);
            for t in 0..10 {
                for _ in 0..5 {
                    assert!(l.hit("5.5.5.5", budget, t).await.is_ok());
                }
                l.flush(t).await.unwrap();
            }
            let window = store
                .add_ip_hits("m|5.5.5.5", 0, 60, 10)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(window.hits, 50, "each hit written once");
            // One first write, then one flush per interval: the hits in
            // between never waited on the store.
            assert_eq!(l.keys.lock().unwrap().len(), 1, "the key stays while busy");
            l.flush(11).await.unwrap();
            assert!(l.keys.lock().unwrap().is_empty(), "and leaves when idle");
        }
    }

    #[tokio::test]
    async fn the_hit_that_passes_the_budget_is_written_at_once() {
        for (store, _keep) in testing::all().await {
            let l = IpLimits::new(store.clone());
            let budget = ("p", 3, 60);
            for t in 0..3 {
                assert!(l.hit("4.4.4.4", budget, t).await.is_ok());
            }
            assert!(l.hit("4.4.4.4", budget, 3).await.is_err());
            // No flush (a crash): a new process still refuses.
            let after_crash = IpLimits::new(store.clone());
            assert!(after_crash.hit("4.4.4.4", budget, 4).await.is_err());
        }
    }

    #[tokio::test]
    async fn concurrent_hits_never_exceed_the_budget() {
        for (store, _keep) in testing::all().await {
            let l = IpLimits::new(store);
            // Budgets small and large (counted in memory while far), in
            // waves, so hits meet writes still in flight.
            for (n, budget) in [(40, 10_u32), (300, 60)] {
                let bucket: &'static str = if budget == 10 { "race" } else { "race-big" };
                let tasks: Vec<_> = (0..n)
                    .map(|i| {
                        let l = l.clone();
                        tokio::spawn(async move {
                            if i % 3 == 0 {
                                tokio::task::yield_now().await;
                            }
                            l.hit("9.9.9.9", (bucket, budget, 600), 5).await
                        })
                    })
                    .collect();
                let mut ok = 0;
                for t in tasks {
                    if t.await.unwrap().is_ok() {
                        ok += 1;
                    }
                }
                assert_eq!(ok, budget, "{n} hits on a budget of {budget}");
            }
        }
    }

    #[tokio::test]
    async fn near_the_budget_every_node_sees_every_hit() {
        for (store, _keep) in testing::all().await {
            // Two nodes, hits alternating, no flush: the budget of 8 holds
            // exactly, as each hit near it is counted by the store.
            let nodes = [IpLimits::new(store.clone()), IpLimits::new(store.clone())];
            let mut answers = Vec::new();
            for i in 0..12 {
                answers.push(nodes[i % 2].hit("6.6.6.6", ("ha", 8, 600), 5).await.is_ok());
            }
            assert_eq!(answers.iter().filter(|ok| **ok).count(), 8, "{answers:?}");
            assert!(answers[..8].iter().all(|ok| *ok), "{answers:?}");
        }
    }

    #[tokio::test]
    async fn a_crash_loses_at_most_a_quarter_of_what_was_left() {
        for (store, _keep) in testing::all().await {
            let budget = ("crash", 40, 600);
            for before in 1..40 {
                let key = format!("7.7.7.{before}");
                let node = IpLimits::new(store.clone());
                for _ in 0..before {
                    assert!(node.hit(&key, budget, 5).await.is_ok());
                }
                // SIGKILL: what it counted in memory is gone.
                let restarted = IpLimits::new(store.clone());
                let mut more = 0;
                while restarted.hit(&key, budget, 6).await.is_ok() {
                    more += 1;
                }
                let lost = before + more - 40;
                assert!(lost <= (40 - 1) / 4, "{before} hits, then {more} more");
            }
        }
    }
}
