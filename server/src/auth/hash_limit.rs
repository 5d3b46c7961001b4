//! One gate for every argon2 hash or verification, so a login flood cannot take the server's
//! memory with it.
//!
//! Each argon2id run holds [`super::password::M_COST_KIB`] (19 MiB) of memory for tens of
//! milliseconds. Unbounded, 400 concurrent wrong-password logins took the process to 6.5 GB. The
//! limiter lets at most `concurrent` runs proceed at once (default: one per core, since argon2
//! with p=1 is one core's work), lets a short queue of `max_waiting` requests wait at most
//! `max_wait` behind them, and refuses everything beyond at once with [`ApiError::Busy`]
//! (503 `busy` with `Retry-After`). A refusal costs no hash and no memory; a queue would only
//! turn a flood into minutes of latency for everyone.
//!
//! The permit travels into the blocking task and is released when the hash ends, not when
//! the request does: a client that hangs up mid-hash cannot free a slot while its 19 MiB are
//! still in use.
//!
//! Counters (`metrics` facade): `fieldsync_password_hashes_total{op}` (runs started, by
//! `op` = `hash`, `verify` or `dummy`), `fieldsync_password_hash_queued_total` (requests that
//! had to wait for a slot), `fieldsync_password_hash_refused_total{reason}` (`queue_full` or
//! `wait_timeout`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Waiters allowed per running slot: enough to absorb a handful of people logging in at the
/// same second, small enough that the wait stays under [`DEFAULT_MAX_WAIT`].
pub const WAITERS_PER_SLOT: usize = 4;
/// Longest a request waits for a hashing slot before it is refused (2 s): a person at a login
/// form barely notices it, and a flood does not pile up behind it.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(2);

/// What kind of argon2 run, for the `op` label of the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashOp {
    /// Hashing a new password (user creation, password change or reset).
    Hash,
    /// Verifying a password against a stored hash.
    Verify,
    /// The dummy verification for an unknown or disabled user.
    Dummy,
}

impl HashOp {
    fn label(self) -> &'static str {
        match self {
            HashOp::Hash => "hash",
            HashOp::Verify => "verify",
            HashOp::Dummy => "dummy",
        }
    }
}

/// Why the limiter refused a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Every slot busy and the queue full: refused without waiting.
    QueueFull,
    /// Waited [`HashLimiter::max_wait`] without getting a slot.
    WaitTimeout,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::QueueFull => "queue_full",
            Refusal::WaitTimeout => "wait_timeout",
        }
    }
}

/// Bounds concurrent argon2 runs; see the module documentation.
#[derive(Debug)]
pub struct HashLimiter {
    permits: Arc<Semaphore>,
    concurrent: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
}

/// Counts one waiter for as long as it waits, even when the request is dropped mid-wait.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Default for HashLimiter {
    /// One slot per core, [`WAITERS_PER_SLOT`] waiters per slot, [`DEFAULT_MAX_WAIT`].
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores, WAITERS_PER_SLOT * cores, DEFAULT_MAX_WAIT)
    }
}

impl HashLimiter {
    /// At most `concurrent` runs at once (at least one), `max_waiting` requests waiting at
    /// most `max_wait` each.
    pub fn new(concurrent: usize, max_waiting: usize, max_wait: Duration) -> Self {
        let concurrent = concurrent.max(1);
        Self {
            permits: Arc::new(Semaphore::new(concurrent)),
            concurrent,
            waiting: AtomicUsize::new(0),
            max_waiting,
            max_wait,
        }
    }

    /// Runs that may proceed at once.
    pub fn concurrent(&self) -> usize {
        self.concurrent
    }

    /// Requests that may wait for a slot.
    pub fn max_waiting(&self) -> usize {
        self.max_waiting
    }

    /// Longest wait for a slot.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// Runs `f` (an argon2 hash or verification) on the blocking pool once a slot is free;
    /// answers [`ApiError::Busy`] when none frees up in time or the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        op: HashOp,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self.admit().await.map_err(|refusal| {
            metrics::counter!("fieldsync_password_hash_refused_total", "reason" => refusal.label())
                .increment(1);
            tracing::warn!(
                reason = refusal.label(),
                "password hashing refused: server busy"
            );
            ApiError::Busy {
                retry_after_secs: self.max_wait.as_secs().max(1),
                message: "the server is busy checking other passwords; try again in a moment"
                    .into(),
            }
        })?;
        metrics::counter!("fieldsync_password_hashes_total", "op" => op.label()).increment(1);
        tokio::task::spawn_blocking(move || {
            // Held until the hash is done, whatever happens to the request meanwhile.
            let _permit = permit;
            f()
        })
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("password hashing task failed: {e}")))
    }

    /// A slot now, a slot after a bounded wait, or a refusal.
    async fn admit(&self) -> Result<OwnedSemaphorePermit, Refusal> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(permit);
        }
        // Reserve a place in the queue first; undo if it was already full.
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::QueueFull);
        }
        let _waiting = Waiting(&self.waiting);
        metrics::counter!("fieldsync_password_hash_queued_total").increment(1);
        match tokio::time::timeout(self.max_wait, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; treat it like a timeout rather than panic.
            Ok(Err(_)) | Err(_) => Err(Refusal::WaitTimeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A run that blocks until the test sends on the returned channel.
    fn held(limiter: &Arc<HashLimiter>) -> (mpsc::Sender<()>, tokio::task::JoinHandle<bool>) {
        let (tx, rx) = mpsc::channel::<()>();
        let limiter = Arc::clone(limiter);
        let task = tokio::spawn(async move {
            limiter
                .run(HashOp::Verify, move || rx.recv().is_ok())
                .await
                .is_ok()
        });
        (tx, task)
    }

    async fn until(cond: impl Fn() -> bool) {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_limit_run_at_once_and_every_waiter_gets_its_turn() {
        let limiter = Arc::new(HashLimiter::new(2, 64, Duration::from_secs(30)));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (limiter, running, peak) = (
                    Arc::clone(&limiter),
                    Arc::clone(&running),
                    Arc::clone(&peak),
                );
                tokio::spawn(async move {
                    limiter
                        .run(HashOp::Hash, move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().is_ok(), "a waiter within the queue runs");
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2, "two slots, two at once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_queue_a_request_is_refused_at_once_with_busy() {
        let limiter = Arc::new(HashLimiter::new(1, 1, Duration::from_secs(30)));
        let (release, first) = held(&limiter);
        until(|| limiter.permits.available_permits() == 0).await;
        let (release_second, second) = held(&limiter);
        until(|| limiter.waiting.load(Ordering::SeqCst) == 1).await;

        let err = limiter.run(HashOp::Dummy, || ()).await.unwrap_err();
        assert!(
            matches!(
                err,
                ApiError::Busy {
                    retry_after_secs: 30,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.code(), "busy");

        release.send(()).unwrap();
        assert!(first.await.unwrap());
        release_second.send(()).unwrap();
        assert!(
            second.await.unwrap(),
            "the queued request ran after the first"
        );
        assert_eq!(limiter.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiter_gives_up_after_the_longest_wait() {
        let limiter = Arc::new(HashLimiter::new(1, 4, Duration::from_millis(50)));
        let (release, first) = held(&limiter);
        until(|| limiter.permits.available_permits() == 0).await;
        assert_eq!(
            limiter.admit().await.unwrap_err(),
            Refusal::WaitTimeout,
            "the slot stayed busy longer than the wait"
        );
        assert_eq!(limiter.waiting.load(Ordering::SeqCst), 0, "the waiter left");
        release.send(()).unwrap();
        assert!(first.await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_request_keeps_its_slot_until_the_hash_ends() {
        let limiter = Arc::new(HashLimiter::new(1, 0, Duration::from_millis(10)));
        let (release, first) = held(&limiter);
        until(|| limiter.permits.available_permits() == 0).await;
        // The client hangs up: the request's future is dropped, the blocking hash goes on.
        first.abort();
        let _ = first.await;
        assert_eq!(
            limiter.admit().await.unwrap_err(),
            Refusal::QueueFull,
            "the hash still holds its memory, so its slot stays taken"
        );
        release.send(()).unwrap();
        until(|| limiter.permits.available_permits() == 1).await;
        assert!(limiter.run(HashOp::Hash, || 7).await.is_ok_and(|v| v == 7));
    }

    #[test]
    fn the_default_has_one_slot_per_core_and_four_waiters_per_slot() {
        let limiter = HashLimiter::default();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        assert_eq!(limiter.concurrent(), cores);
        assert_eq!(limiter.max_waiting(), 4 * cores);
        assert_eq!(limiter.max_wait(), Duration::from_secs(2));
        assert_eq!(HashLimiter::new(0, 0, Duration::ZERO).concurrent(), 1);
    }
}
