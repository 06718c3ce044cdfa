//! Every argon2id hash and verify runs here: a fixed number of worker threads
//! (one per core by default), each with its own preallocated 19 MiB memory,
//! behind one queue with two ways in:
//!
//! - **Checks** ([`HashPool::verify`], [`HashPool::burn`]): sign-ins, re-entries
//!   and security answers, which anyone can send. At most `hash_queue` wait;
//!   past that the caller gets [`HashError::Busy`] at once (`503
//!   server.busy`), so a flood of sign-ins costs a bounded amount of memory
//!   and CPU and the rest of the portal keeps answering.
//! - **New hashes** ([`HashPool::hash`]): a password written after every gate
//!   of a reset was passed, a password change, new security answers. These
//!   come only from proven users, so they wait their turn (up to
//!   [`GATED`] of them, then in line for a place) rather than fail: a burst
//!   of 500 resets at once is slow, not refused.
//!
//! Parameters: m = 19456 KiB, t = 2, p = 1 (OWASP's argon2id minimum).
//!
//! With metrics, each job's wait in the queue (until a worker takes it) goes
//! to `sspr_hash_wait_seconds`, and each refusal to `sspr_hash_busy_total`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

use crate::error::{ApiError, Cause};
use crate::metrics::Metrics;
use crate::secret::Secret;

/// m = 19456 KiB, t = 2, p = 1.
pub fn params() -> Params {
    Params::new(19_456, 2, 1, None).expect("valid argon2 params")
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HashError {
    /// Every worker is busy and the queue is full: try again shortly.
    #[error("the password hashing queue is full")]
    Busy,
    /// A stored hash that cannot be read, or a worker that went away.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// A full queue is a 503 to retry shortly; a failure is a 500, its cause kept.
impl From<HashError> for ApiError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => ApiError::ServerBusy { retry_after: 1 },
            other => ApiError::Internal(Cause::Hash(Box::new(other))),
        }
    }
}

enum Work {
    Hash { password: Secret, salt: [u8; 16] },
    Verify { phc: String, password: Secret },
}

/// New hashes that may wait in the queue at once; more wait for a place.
pub const GATED: usize = 1024;

/// The place a job holds in the queue, given back when a worker takes it.
enum Place {
    Check(Arc<AtomicUsize>),
    New(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit),
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Place::Check(waiting) = self {
            waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

struct Job {
    work: Work,
    /// When it entered the queue.
    queued: Instant,
    place: Place,
    reply: oneshot::Sender<Result<Answer, HashError>>,
}

enum Answer {
    Hashed(String),
    Verified(bool),
}

/// The pool. Cloning shares it.
#[derive(Clone)]
pub struct HashPool {
    tx: SyncSender<Job>,
    workers: usize,
    queue: usize,
    /// Checks waiting now (at most `queue`).
    checks: Arc<AtomicUsize>,
    /// Places for new hashes.
    new: Arc<tokio::sync::Semaphore>,
    metrics: Option<Arc<Metrics>>,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("workers", &self.workers)
            .field("queue", &self.queue)
            .finish()
    }
}

impl HashPool {
    /// `workers` threads (0 = one per core) and room for `queue` waiting jobs.
    pub fn new(workers: usize, queue: usize) -> HashPool {
        Self::start(workers, queue, None)
    }

    /// As [`HashPool::new`], measuring waits and refusals into `metrics`.
    pub fn with_metrics(workers: usize, queue: usize, metrics: Arc<Metrics>) -> HashPool {
        Self::start(workers, queue, Some(metrics))
    }

    fn start(workers: usize, queue: usize, metrics: Option<Arc<Metrics>>) -> HashPool {
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            workers
        };
        // Room for every check and every new hash that holds a place, so a
        // send never finds the channel full.
        let (tx, rx) = sync_channel::<Job>(queue + GATED);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers {
            let (rx, metrics) = (rx.clone(), metrics.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("sspr-argon2-{i}"))
                .spawn(move || worker(&rx, metrics.as_deref()));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        HashPool {
            tx,
            workers,
            queue,
            checks: Arc::new(AtomicUsize::new(0)),
            new: Arc::new(tokio::sync::Semaphore::new(GATED)),
            metrics,
        }
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    fn busy(&self) -> HashError {
        if let Some(m) = &self.metrics {
            m.hash_busy();
        }
        HashError::Busy
    }

    async fn submit(&self, work: Work) -> Result<Answer, HashError> {
        let place = match work {
            Work::Verify { .. } => {
                if self.checks.fetch_add(1, Ordering::SeqCst) >= self.queue {
                    self.checks.fetch_sub(1, Ordering::SeqCst);
                    return Err(self.busy());
                }
                Place::Check(self.checks.clone())
            }
            Work::Hash { .. } => Place::New(
                self.new
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| HashError::Failed("no hashing workers".into()))?,
            ),
        };
        let (reply, answer) = oneshot::channel();
        let job = Job {
            work,
            queued: Instant::now(),
            place,
            reply,
        };
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(self.busy()),
            Err(TrySendError::Disconnected(_)) => {
                return Err(HashError::Failed("no hashing workers".into()));
            }
        }
        answer
            .await
            .map_err(|_| HashError::Failed("a hashing worker stopped".into()))?
    }

    /// A new PHC string for `password` with a fresh `salt`.
    pub async fn hash(&self, password: &Secret, salt: [u8; 16]) -> Result<String, HashError> {
        match self
            .submit(Work::Hash {
                password: password.clone(),
                salt,
            })
            .await?
        {
            Answer::Hashed(h) => Ok(h),
            Answer::Verified(_) => Err(HashError::Failed("unexpected answer".into())),
        }
    }

    /// Whether `password` matches the PHC string `phc` (constant-time compare).
    pub async fn verify(&self, phc: &str, password: &Secret) -> Result<bool, HashError> {
        match self
            .submit(Work::Verify {
                phc: phc.to_string(),
                password: password.clone(),
            })
            .await?
        {
            Answer::Verified(ok) => Ok(ok),
            Answer::Hashed(_) => Err(HashError::Failed("unexpected answer".into())),
        }
    }

    /// The same work as checking a real password, for a name that matches
    /// nobody: the answer and its timing cannot tell the two apart.
    pub async fn burn(&self, password: &Secret) -> Result<(), HashError> {
        self.verify(dummy_phc(), password).await.map(|_| ())
    }
}

/// A fixed hash of a password nobody types, with the real parameters.
fn dummy_phc() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c3Nwci1kdW1teS1zYWx0IQ$VB6lnMQtpLbDxcCxJSwV7S1pe+cMvwDQ7awZ4H3ZmUU"
}

fn worker(rx: &Mutex<Receiver<Job>>, metrics: Option<&Metrics>) {
    // Allocated once, on the first job, and reused: memory stays at one
    // argon2 working set per worker however many requests come.
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = {
            let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        if let Some(m) = metrics {
            m.hash_waited(job.queued.elapsed());
        }
        // Taken: the place in the queue is free for the next one.
        drop(job.place);
        let answer = match job.work {
            Work::Hash { password, salt } => {
                hash_with(&mut memory, &password, &salt).map(Answer::Hashed)
            }
            Work::Verify { phc, password } => {
                verify_with(&mut memory, &phc, &password).map(Answer::Verified)
            }
        };
        let _ = job.reply.send(answer);
    }
}

fn compute(
    memory: &mut Vec<Block>,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), HashError> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
        .map_err(|e| HashError::Failed(e.to_string()))
}

fn hash_with(
    memory: &mut Vec<Block>,
    password: &Secret,
    salt: &[u8; 16],
) -> Result<String, HashError> {
    let params = params();
    let mut out = [0u8; 32];
    compute(
        memory,
        params.clone(),
        password.expose().as_bytes(),
        salt,
        &mut out,
    )?;
    let salt = SaltString::encode_b64(salt).map_err(|e| HashError::Failed(e.to_string()))?;
    let output = Output::new(&out).map_err(|e| HashError::Failed(e.to_string()))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: params
            .try_into()
            .map_err(|e: argon2::password_hash::Error| HashError::Failed(e.to_string()))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

fn verify_with(memory: &mut Vec<Block>, phc: &str, password: &Secret) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(phc).map_err(|e| HashError::Failed(e.to_string()))?;
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return Err(HashError::Failed("not an argon2id hash".into()));
    }
    let params = Params::try_from(&parsed).map_err(|e| HashError::Failed(e.to_string()))?;
    // A stored hash chooses its own cost: refuse one that would take more
    // memory than a worker may hold (64 MiB), so no row can exhaust a node.
    if params.m_cost() > 65_536 || params.t_cost() > 10 || params.p_cost() != 1 {
        return Err(HashError::Failed("argon2 parameters out of range".into()));
    }
    let expected = parsed
        .hash
        .ok_or_else(|| HashError::Failed("hash without output".into()))?;
    let mut salt = [0u8; 64];
    let salt = parsed
        .salt
        .ok_or_else(|| HashError::Failed("hash without salt".into()))?
        .decode_b64(&mut salt)
        .map_err(|e| HashError::Failed(e.to_string()))?;
    let mut out = vec![0u8; expected.len()];
    compute(memory, params, password.expose().as_bytes(), salt, &mut out)?;
    let got = Output::new(&out).map_err(|e| HashError::Failed(e.to_string()))?;
    // `Output`'s equality is constant-time.
    Ok(got == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;

    #[tokio::test]
    async fn hashes_verify_and_match_the_reference_implementation() {
        let pool = HashPool::new(2, 4);
        let pw = Secret::new("correct horse battery staple");
        let phc = pool.hash(&pw, [7; 16]).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(pool.verify(&phc, &pw).await.unwrap());
        assert!(!pool.verify(&phc, &Secret::new("wrong")).await.unwrap());
        // The argon2 crate's own verifier agrees, both ways.
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(
            Argon2::default()
                .verify_password(pw.expose().as_bytes(), &parsed)
                .is_ok()
        );
        use argon2::password_hash::PasswordHasher;
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"hunter2", &SaltString::encode_b64(&[9; 16]).unwrap())
            .unwrap()
            .to_string();
        assert!(pool.verify(&theirs, &Secret::new("hunter2")).await.unwrap());
        // The decoy hash is well formed and matches nothing anyone types.
        assert!(!pool.verify(dummy_phc(), &pw).await.unwrap());
        pool.burn(&pw).await.unwrap();
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let pool = HashPool::new(1, 1);
        let pw = Secret::new("x");
        let jobs: Vec<_> = (0..8)
            .map(|_| {
                let pool = pool.clone();
                let pw = pw.clone();
                tokio::spawn(async move { pool.burn(&pw).await })
            })
            .collect();
        let mut busy = 0;
        for j in jobs {
            if j.await.unwrap() == Err(HashError::Busy) {
                busy += 1;
            }
        }
        // One worker and one queue slot: at most two of eight are taken.
        assert!(busy >= 6, "{busy} of 8 refused");
    }

    #[tokio::test]
    async fn new_hashes_wait_their_turn_while_checks_past_the_queue_are_refused() {
        let pool = HashPool::new(1, 1);
        let pw = Secret::new("x");
        // Twenty new passwords at once through one worker and one check place.
        let new: Vec<_> = (0..20)
            .map(|i| {
                let (pool, pw) = (pool.clone(), pw.clone());
                tokio::spawn(async move { pool.hash(&pw, [i; 16]).await })
            })
            .collect();
        tokio::task::yield_now().await;
        // Meanwhile a crowd of sign-ins: they may not queue behind them.
        let checks: Vec<_> = (0..8)
            .map(|_| {
                let (pool, pw) = (pool.clone(), pw.clone());
                tokio::spawn(async move { pool.burn(&pw).await })
            })
            .collect();
        for j in new {
            assert!(j.await.unwrap().is_ok(), "a new hash was refused");
        }
        let refused = refused_of(checks).await;
        assert!(refused >= 6, "{refused} of 8 checks refused");
        // The places were given back: the pool takes work again.
        assert!(pool.burn(&pw).await.is_ok());
        assert_eq!(pool.checks.load(Ordering::SeqCst), 0);
    }

    async fn refused_of(jobs: Vec<tokio::task::JoinHandle<Result<(), HashError>>>) -> usize {
        let mut busy = 0;
        for j in jobs {
            if j.await.unwrap() == Err(HashError::Busy) {
                busy += 1;
            }
        }
        busy
    }

    #[tokio::test]
    async fn waits_and_refusals_are_measured() {
        let metrics = Arc::new(Metrics::new("0"));
        let pool = HashPool::with_metrics(1, 1, metrics.clone());
        let pw = Secret::new("x");
        let jobs: Vec<_> = (0..6)
            .map(|_| {
                let pool = pool.clone();
                let pw = pw.clone();
                tokio::spawn(async move { pool.burn(&pw).await })
            })
            .collect();
        let mut busy = 0u32;
        for j in jobs {
            if j.await.unwrap() == Err(HashError::Busy) {
                busy += 1;
            }
        }
        let text = metrics.encode().unwrap();
        let value = |series: &str| -> u32 {
            text.lines()
                .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or_else(|| panic!("{series} in\n{text}"))
        };
        assert_eq!(value("sspr_hash_busy_total"), busy);
        // Every job a worker took had its wait measured.
        assert_eq!(value("sspr_hash_wait_seconds_count"), 6 - busy);
    }

    #[tokio::test]
    async fn a_hash_with_a_huge_cost_is_refused_not_run() {
        let pool = HashPool::new(1, 1);
        let huge = "$argon2id$v=19$m=4194304,t=2,p=1$c3Nwci1kdW1teS1zYWx0IQ$VB6lnMQtpLbDxcCxJSwV7S1pe+cMvwDQ7awZ4H3ZmUU";
        assert!(matches!(
            pool.verify(huge, &Secret::new("x")).await,
            Err(HashError::Failed(_))
        ));
    }
}
