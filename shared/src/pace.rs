//! Client-side pacing for sso-admin: a token bucket shared by every call of one process, so the
//! reconciler and the CLI stay under Identity Center's collective throttle (about 20 requests per
//! second for all callers of the instance) with room left for the guards.
//!
//! The bucket reserves: each caller takes a token at once, possibly driving the balance below
//! zero, and waits for the time the deficit takes to refill. Concurrent callers therefore queue
//! in arrival order without polling. Time comes from a [`PaceClock`], so tests observe the waits
//! without sleeping.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The default rate: 15 requests per second, below the 20 Identity Center allows all callers.
pub const DEFAULT_RATE: u32 = 15;
/// Identity Center's collective throttle: requests per second for all callers of an instance's
/// APIs together ("IAM Identity Center APIs have a collective throttle maximum of 20
/// transactions per second (TPS)", the Identity Center quotas page; the same figure on
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/aam-quotas.html>). It cannot be raised.
pub const IDENTITY_CENTER_RATE: u32 = 20;
/// The event guards' default share of [`IDENTITY_CENTER_RATE`], in percent: the rest is the
/// organisation's (its pipelines, its people, the reconciler).
pub const DEFAULT_API_SHARE: u8 = 25;

/// The default bound on concurrent reads and outstanding asynchronous operations (AWS allows
/// 10 outstanding assignment creations).
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Where the pacer's time comes from, and how it waits.
pub trait PaceClock: Send + Sync {
    /// Time elapsed since some fixed start.
    fn now(&self) -> Duration;
    /// Waits `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The real clock (tokio's sleep).
#[derive(Debug, Clone, Copy)]
pub struct RealClock(Instant);

impl Default for RealClock {
    fn default() -> Self {
        Self(Instant::now())
    }
}

impl PaceClock for RealClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A token bucket: `rate` tokens per second, at most `burst` saved up.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Duration,
}

impl TokenBucket {
    /// A full bucket. `rate` at least 1; `burst` at least 1.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self::fractional(f64::from(rate.max(1)), f64::from(burst.max(1)))
    }

    /// A full bucket of `burst` tokens refilled at `rate` per second, which may be below one
    /// (a guard process's part of its share). `rate` is at least one request an hour and `burst`
    /// at least one token, so the bucket always refills and every request is eventually sent.
    pub fn fractional(rate: f64, burst: f64) -> Self {
        let rate = if rate.is_finite() { rate.max(1.0 / 3600.0) } else { 1.0 };
        let burst = if burst.is_finite() { burst.max(1.0) } else { 1.0 };
        Self {
            rate,
            burst,
            tokens: burst,
            last: Duration::ZERO,
        }
    }

    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The burst the default uses for `rate`: a third of a second's worth, so that the first
    /// second never exceeds `rate + burst` (20 for the default 15/s).
    pub fn default_burst(rate: u32) -> u32 {
        (rate / 3).max(1)
    }

    /// Takes one token at `now`: `Duration::ZERO` if one was available, else how long the caller
    /// must wait before its request (its token is reserved either way).
    pub fn take(&mut self, now: Duration) -> Duration {
        if now > self.last {
            let refill = (now - self.last).as_secs_f64() * self.rate;
            self.tokens = (self.tokens + refill).min(self.burst);
            self.last = now;
        }
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// Paces the requests of one process to one service.
pub struct Pacer {
    bucket: Mutex<TokenBucket>,
    clock: Arc<dyn PaceClock>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl Pacer {
    /// `rate` requests per second with the default burst, on the real clock.
    pub fn per_second(rate: u32) -> Self {
        Self::with_clock(
            TokenBucket::new(rate, TokenBucket::default_burst(rate)),
            Arc::new(RealClock::default()),
        )
    }

    /// A guard process's pacer: `rate` requests per second (fractional), a burst of one
    /// request, on the real clock. With one token saved at most, `n` processes send at most
    /// `n × (1 + rate × t)` requests in any `t` seconds.
    pub fn share(rate: f64) -> Self {
        Self::with_clock(TokenBucket::fractional(rate, 1.0), Arc::new(RealClock::default()))
    }

    /// A pacer over `bucket` and `clock` (tests inject a virtual clock).
    pub fn with_clock(bucket: TokenBucket, clock: Arc<dyn PaceClock>) -> Self {
        Self {
            bucket: Mutex::new(bucket),
            clock,
        }
    }

    /// Waits until one request may be sent.
    pub async fn acquire(&self) {
        let wait = {
            let now = self.clock.now();
            match self.bucket.lock() {
                Ok(mut bucket) => bucket.take(now),
                // A poisoned lock means a panic elsewhere; pace conservatively.
                Err(_) => Duration::from_secs(1),
            }
        };
        if !wait.is_zero() {
            self.clock.sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Virtual time: sleeping advances it at once.
    #[derive(Default)]
    struct Virtual(AtomicU64);

    impl PaceClock for Virtual {
        fn now(&self) -> Duration {
            Duration::from_nanos(self.0.load(Ordering::SeqCst))
        }
        fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
            self.0
                .fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Ordering::SeqCst);
            Box::pin(async {})
        }
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let mut b = TokenBucket::new(15, 5);
        let now = Duration::ZERO;
        for _ in 0..5 {
            assert_eq!(b.take(now), Duration::ZERO);
        }
        // The sixth waits one token's time; the seventh (reserved behind it) two.
        let one = Duration::from_secs_f64(1.0 / 15.0);
        assert!((b.take(now).as_secs_f64() - one.as_secs_f64()).abs() < 1e-9);
        assert!((b.take(now).as_secs_f64() - 2.0 * one.as_secs_f64()).abs() < 1e-9);
        // Later, the bucket refills, but never above its burst.
        let mut b = TokenBucket::new(15, 5);
        assert_eq!(b.take(Duration::from_secs(100)), Duration::ZERO);
        for _ in 0..4 {
            assert_eq!(b.take(Duration::from_secs(100)), Duration::ZERO);
        }
        assert!(b.take(Duration::from_secs(100)) > Duration::ZERO);
    }

    #[test]
    fn a_fractional_bucket_spaces_requests_by_its_rate() {
        // 0.8 requests per second, one saved: the first goes at once, each next 1.25 s later.
        let mut b = TokenBucket::fractional(0.8, 1.0);
        assert_eq!(b.take(Duration::ZERO), Duration::ZERO);
        assert!((b.take(Duration::ZERO).as_secs_f64() - 1.25).abs() < 1e-9);
        assert!((b.take(Duration::ZERO).as_secs_f64() - 2.5).abs() < 1e-9);
        // Nonsense never stops the bucket: a zero or NaN rate still refills.
        assert!(TokenBucket::fractional(0.0, 0.0).rate() > 0.0);
        assert!((TokenBucket::fractional(f64::NAN, 1.0).rate() - 1.0).abs() < 1e-9);
    }

    #[tokio::test]
    async fn a_pacer_never_exceeds_rate_plus_burst_in_any_second() {
        let clock = Arc::new(Virtual::default());
        let pacer = Pacer::with_clock(TokenBucket::new(15, 5), clock.clone());
        let mut times = Vec::new();
        for _ in 0..200 {
            pacer.acquire().await;
            times.push(clock.now());
        }
        // 200 requests at 15/s after a burst of 5 take (200 - 5) / 15 = 13 s of virtual time.
        let total = times.last().copied().unwrap_or_default().as_secs_f64();
        assert!((total - 13.0).abs() < 1e-6, "{total}");
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 20, "{in_window} requests within one second from {t:?}");
        }
    }
}
