//! Answers that must not tell a known account from an unknown one by their
//! timing wait for a floor. A fixed floor is only a minimum: a slow directory
//! lookup (a real account's groups over LDAP, say) would still show through
//! it. So the floor follows the work: the slowest of the recent answers of
//! that kind, known and unknown alike, with a margin. Every answer then
//! leaves at the same moment, whoever was asked about.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How many recent answers the floor follows.
const WINDOW: usize = 64;
/// The floor is this much above the slowest recent answer.
const MARGIN: f64 = 1.25;

#[derive(Debug)]
pub struct Pace {
    /// Never sooner than this.
    min: Duration,
    /// Never later than this, however slow the work was.
    max: Duration,
    recent: Mutex<VecDeque<Duration>>,
}

impl Pace {
    pub fn new(min: Duration, max: Duration) -> Pace {
        Pace {
            min,
            max: max.max(min),
            recent: Mutex::new(VecDeque::with_capacity(WINDOW)),
        }
    }

    /// Records how long this answer's work took, and returns when it may leave.
    pub fn deadline(&self, started: Instant) -> Instant {
        let work = started.elapsed();
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == WINDOW {
            recent.pop_front();
        }
        recent.push_back(work);
        let slowest = recent.iter().max().copied().unwrap_or_default();
        started + slowest.mul_f64(MARGIN).clamp(self.min, self.max)
    }

    /// Waits until this answer may leave.
    pub async fn wait(&self, started: Instant) {
        tokio::time::sleep_until(self.deadline(started)).await;
    }
}

/// The paces the API keeps, one per kind of answer.
#[derive(Debug)]
pub struct Paces {
    /// `/reset/start`: at least `reset.identify_floor_ms`.
    pub identify: Pace,
    /// Failed sign-ins, re-authentications and step-ups.
    pub sign_in: Pace,
    /// Proofs at `/reset/verify` and `/reset/answers`.
    pub proof: Pace,
}

impl Paces {
    pub fn new(identify_floor: Duration) -> Paces {
        let cap = Duration::from_secs(5);
        Paces {
            identify: Pace::new(identify_floor, cap),
            sign_in: Pace::new(Duration::ZERO, cap),
            proof: Pace::new(Duration::ZERO, cap),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_floor_follows_the_slowest_recent_work() {
        let pace = Pace::new(Duration::from_millis(100), Duration::from_secs(5));
        // Fast work leaves at the configured floor.
        let t = Instant::now();
        assert_eq!(pace.deadline(t), t + Duration::from_millis(100));
        // One slow answer (400 ms of work) lifts the floor for everyone after it.
        let t = Instant::now();
        tokio::time::advance(Duration::from_millis(400)).await;
        assert_eq!(pace.deadline(t), t + Duration::from_millis(500));
        let t = Instant::now();
        assert_eq!(
            pace.deadline(t),
            t + Duration::from_millis(500),
            "a fast one after it waits as long"
        );
        // It decays once the slow one leaves the window.
        for _ in 0..WINDOW {
            pace.deadline(Instant::now());
        }
        let t = Instant::now();
        assert_eq!(pace.deadline(t), t + Duration::from_millis(100));
        // And it never exceeds the cap.
        let t = Instant::now();
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(pace.deadline(t), t + Duration::from_secs(5));
    }
}
