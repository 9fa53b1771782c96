//! Bounded retries with jittered exponential backoff, and polling of asynchronous operations.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::ports::{FailureKind, Remote, RemoteError};

/// How often and how patiently to retry and poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The first backoff; each retry doubles it (full jitter: a random delay up to the bound).
    pub base: Duration,
    /// The largest backoff.
    pub max: Duration,
    /// Status polls of an asynchronous operation before it counts as timed out.
    pub polls: u32,
    /// The delay between status polls.
    pub poll_interval: Duration,
}

impl Default for RetryPolicy {
    /// Production values: about 30 s of retries, and 2 minutes of polling (Terraform's
    /// provider waits 5 s between polls; assignments usually finish within seconds).
    fn default() -> Self {
        Self {
            attempts: 6,
            base: Duration::from_millis(200),
            max: Duration::from_secs(10),
            polls: 60,
            poll_interval: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No waiting at all: for tests against an emulator that answers SUCCEEDED at once.
    pub fn immediate() -> Self {
        Self {
            attempts: 4,
            base: Duration::ZERO,
            max: Duration::ZERO,
            polls: 5,
            poll_interval: Duration::ZERO,
        }
    }

    fn backoff(&self, retry: u32) -> Duration {
        let bound = self.base.saturating_mul(1u32 << retry.min(16)).min(self.max);
        jitter(bound)
    }
}

/// A random duration in `[0, bound]` (full jitter), from a small xorshift generator: the point
/// is to spread concurrent retriers apart, not cryptographic quality.
fn jitter(bound: Duration) -> Duration {
    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let mut x = STATE.fetch_add(seed | 1, Ordering::Relaxed) ^ seed;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    Duration::from_nanos(x % (nanos + 1))
}

/// Runs `call` until it succeeds, fails with a non-retryable error, or the attempts run out.
pub async fn with_retry<T, F, Fut>(policy: &RetryPolicy, mut call: F) -> Remote<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Remote<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Err(e) if e.kind.is_retryable() && attempt < policy.attempts => {
                tokio::time::sleep(policy.backoff(attempt - 1)).await;
            }
            other => return other,
        }
    }
}

/// The state of an asynchronous operation, as its status call reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsyncStatus {
    /// Still running.
    InProgress,
    /// Done.
    Succeeded,
    /// Ended in failure, with AWS's reason.
    Failed(String),
}

/// Polls `status` until SUCCEEDED; FAILED and exhaustion are errors naming `operation`.
/// A ResourceNotFoundException right after submission means "not visible yet" and is polled again.
pub async fn poll<F, Fut>(policy: &RetryPolicy, operation: &'static str, mut status: F) -> Remote<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Remote<AsyncStatus>>,
{
    for poll in 0..policy.polls.max(1) {
        if poll > 0 {
            tokio::time::sleep(policy.poll_interval).await;
        }
        match status().await {
            Ok(AsyncStatus::Succeeded) => return Ok(()),
            Ok(AsyncStatus::Failed(reason)) => {
                return Err(RemoteError::new(operation, FailureKind::AsyncFailed, reason));
            }
            Ok(AsyncStatus::InProgress) => {}
            Err(e) if e.kind == FailureKind::NotFound || e.kind.is_retryable() => {}
            Err(e) => return Err(e),
        }
    }
    Err(RemoteError::new(
        operation,
        FailureKind::Timeout,
        format!("still in progress after {} status polls", policy.polls),
    ))
}
