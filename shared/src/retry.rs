//! Bounded retries with jittered exponential backoff, and polling of asynchronous operations,
//! on `backon`. What is idc-guard's own is the decision: which failures are worth another attempt
//! ([`FailureKind::is_retryable`], ConflictException included, which the SDK's retry does not
//! retry), and what a status answer means.

use std::future::Future;
use std::time::Duration;

use backon::{ConstantBuilder, ExponentialBuilder, Retryable};

use crate::ports::{FailureKind, Remote, RemoteError};

/// How often and how patiently to retry and poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The first backoff; each retry doubles it, plus a random share of it (jitter).
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

    /// Exponential backoff from `base` (doubling, at most `max`) with jitter, `attempts` in all.
    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.base)
            .with_max_delay(self.max)
            .with_max_times(self.attempts.saturating_sub(1) as usize)
            .with_jitter()
    }
}

/// Runs `call` until it succeeds, fails with a non-retryable error, or the attempts run out.
pub async fn with_retry<T, F, Fut>(policy: &RetryPolicy, call: F) -> Remote<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Remote<T>>,
{
    call.retry(policy.backoff())
        .sleep(tokio::time::sleep)
        .when(|e: &RemoteError| e.kind.is_retryable())
        .await
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

/// Why one status poll did not end the polling.
enum NotDone {
    /// Ask again (still running, or not visible yet).
    Pending,
    /// Stop: the operation failed, or the status call failed for good.
    Stop(RemoteError),
}

/// Polls `status` until SUCCEEDED; FAILED and exhaustion are errors naming `operation`.
/// A ResourceNotFoundException right after submission means "not visible yet" and is polled again.
pub async fn poll<F, Fut>(policy: &RetryPolicy, operation: &'static str, mut status: F) -> Remote<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Remote<AsyncStatus>>,
{
    let once = || {
        let answer = status();
        async move {
            match answer.await {
                Ok(AsyncStatus::Succeeded) => Ok(()),
                Ok(AsyncStatus::Failed(reason)) => Err(NotDone::Stop(RemoteError::new(
                    operation,
                    FailureKind::AsyncFailed,
                    reason,
                ))),
                Ok(AsyncStatus::InProgress) => Err(NotDone::Pending),
                Err(e) if e.kind == FailureKind::NotFound || e.kind.is_retryable() => Err(NotDone::Pending),
                Err(e) => Err(NotDone::Stop(e)),
            }
        }
    };
    let schedule = ConstantBuilder::default()
        .with_delay(policy.poll_interval)
        .with_max_times(policy.polls.max(1).saturating_sub(1) as usize);
    match once
        .retry(schedule)
        .sleep(tokio::time::sleep)
        .when(|e| matches!(e, NotDone::Pending))
        .await
    {
        Ok(()) => Ok(()),
        Err(NotDone::Stop(e)) => Err(e),
        Err(NotDone::Pending) => Err(RemoteError::new(
            operation,
            FailureKind::Timeout,
            format!("still in progress after {} status polls", policy.polls),
        )),
    }
}
