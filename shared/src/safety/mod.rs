//! The safety rails: the gate every planned correction passes before it is executed.
//!
//! [`SafetyGate`] applies, in order:
//!
//! 1. the **kill switch**: the global mode, read from a parameter ([`Parameters`], SSM) and
//!    cached for at most 60 s. Anything but `enforce` withholds; a parameter that is missing,
//!    unreadable or invalid means detect, with the reason;
//! 2. the rule's **mode** from the policy (the global `mode` of the file already caps it);
//! 3. **exceptions**: applied by the engine before the gate (an excepted violation is no finding);
//! 4. the **breaker**: more than `breaker.max` remediations organisation-wide within
//!    `breaker.window` (default 20 in 10 minutes) open it, and the event path stays detect-only
//!    until an operator deletes the breaker item ([`breaker_key`]);
//! 5. the **flap limit**: at most `flap.max` remediations per (resource, rule) within
//!    `flap.window` (default 3 per hour); the next one quarantines the resource (detect only)
//!    for one window, after which it ends by itself;
//! 6. **idempotency**: one claim per (CloudTrail eventID, rule, resource), taken with a
//!    conditional write. The delivery that wins it acts and reports; any other delivery of the
//!    same event (a retry, a duplicate with another EventBridge envelope id, a concurrent one) gets
//!    [`Decision::Duplicate`]: no call and no finding.
//!
//! Steps 4 and 5 are read before the claim, so their reasons take precedence over a new claim;
//! the claim is taken even for a correction they withhold, so that a duplicate delivery never
//! reports a second finding. Once the claim is won the remediation is counted, breaker first,
//! then flap window: counting may trip either, which withholds this correction. Counting happens
//! before execution, with optimistic concurrency on one item per window, so concurrent
//! remediations cannot overshoot a limit. A correction that trips the flap limit has already been
//! counted by the breaker (a conservative overcount).
//!
//! **The gate fails closed.** Any failure to read or write the state withholds the correction
//! and says why; a claim taken before the failure is released (nothing was executed), and a
//! claim that cannot be released stays, so that a redelivery is a duplicate rather than a second
//! action. A claim whose write failed ambiguously (it may be stored) is never acted upon: the
//! writer only recognises it as its own (by its `owner` token) within the same decision. A correction that was executed and failed releases its claim (see
//! [`Gate::settle`]), so that Lambda's retry of the event may try again.
//!
//! All state lives in one table ([`StateStore`]) with a string partition key `pk` and sort key
//! `sk`, and the TTL attribute `expires_at`:
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | idempotency claim | `event#<eventID>` | `<rule>#<resource>` | `status`, `owner`, `since`, `expires_at` (24 h) |
//! | flap window | `flap#<resource>` | `<rule>` | `times`, `since`/`until` while quarantined, `expires_at` |
//! | breaker | `breaker` | `event-path` | `times`, `since` while open (no `expires_at` then) |
//! | publication | `notice#<eventID>` | `<rule>#<resource>#<outcome>` | `since`, `expires_at` (24 h) |
//!
//! The publication item makes every outcome of a finding published once, whatever the mode
//! ([`Gate::first_report`]): taken before publishing, released when publishing fails; when the
//! table cannot be used the outcome is published anyway (a duplicate rather than a loss).
//!
//! Every item also has a `version`, incremented by each conditional write.

mod kill_switch;
mod memory;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use kill_switch::{KillSwitch, MAX_KILL_SWITCH_TTL, Switch};
pub use memory::{MemoryParameters, MemoryStore};

use crate::date::Date;
use crate::engine::Finding;
use crate::guard::{Decision, Gate, OutcomeKind};
use crate::model::Change;
use crate::policy::Mode;
use crate::ports::{FailureKind, Parameters, Remote, RemoteError, StateKey, StateRecord, StateStore};
use crate::rules::Resource;

/// Where "now" comes from, in Unix seconds: injectable, so tests move time instead of sleeping.
pub trait Clock: Send + Sync {
    /// The current time, in seconds since the Unix epoch.
    fn now(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that moves only when told to. Clones share the time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock showing `start` (Unix seconds).
    pub fn new(start: u64) -> Self {
        Self(Arc::new(AtomicU64::new(start)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// "At most `max` remediations within `window`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Remediations allowed within the window (at least 1).
    pub max: u32,
    /// The rolling window (whole seconds, at least one).
    pub window: Duration,
}

impl Limit {
    /// Parses `<max>/<window>`, the window a whole number of seconds, minutes or hours: `3/1h`,
    /// `20/10m`, `5/90s`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a limit like 3/1h or 20/10m (count/window, window in s, m or h)");
        let (max, window) = text.trim().split_once('/').ok_or_else(bad)?;
        let max: u32 = max.trim().parse().map_err(|_| bad())?;
        let window = window.trim();
        let unit = match window.chars().last() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            _ => return Err(bad()),
        };
        let count: u64 = window[..window.len() - 1].parse().map_err(|_| bad())?;
        let secs = count.checked_mul(unit).ok_or_else(bad)?;
        if max == 0 || secs == 0 {
            return Err(format!("{text:?}: the count and the window must be at least 1"));
        }
        Ok(Self {
            max,
            window: Duration::from_secs(secs),
        })
    }

    fn window_secs(self) -> u64 {
        self.window.as_secs().max(1)
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.max, Span(self.window))
    }
}

/// A duration in its largest whole unit: `1h`, `10m`, `90s`.
struct Span(Duration);

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs();
        if s > 0 && s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else if s > 0 && s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

/// The safety rails' settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyConfig {
    /// The kill switch parameter's name.
    pub kill_switch: String,
    /// How long a kill switch read is reused (capped at 60 s).
    pub kill_switch_ttl: Duration,
    /// The flap limit per (resource, rule).
    pub flap: Limit,
    /// The breaker's limit, organisation-wide.
    pub breaker: Limit,
    /// How long an idempotency claim is kept (EventBridge retries for up to 24 hours).
    pub claim_ttl: Duration,
}

/// The default kill switch parameter.
pub const DEFAULT_KILL_SWITCH: &str = "/idc-guard/mode";

impl Default for SafetyConfig {
    /// `/idc-guard/mode` cached 30 s, 3 remediations per resource and rule per hour, 20
    /// organisation-wide per 10 minutes, claims kept 24 hours.
    fn default() -> Self {
        Self {
            kill_switch: DEFAULT_KILL_SWITCH.to_owned(),
            kill_switch_ttl: Duration::from_secs(30),
            flap: Limit {
                max: 3,
                window: Duration::from_secs(3600),
            },
            breaker: Limit {
                max: 20,
                window: Duration::from_secs(600),
            },
            claim_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// The record that an outcome of (CloudTrail eventID, rule, resource) was published.
pub fn notice_key(change: &Change, finding: &Finding, outcome: &OutcomeKind) -> StateKey {
    StateKey {
        partition: format!("notice#{}", change.meta.event_id),
        item: format!(
            "{}#{}#{}",
            finding.rule,
            resource_key(&finding.resource),
            outcome.as_str()
        ),
    }
}

/// The breaker's item: delete it to reset the breaker (the documented operator action).
pub fn breaker_key() -> StateKey {
    StateKey {
        partition: "breaker".to_owned(),
        item: "event-path".to_owned(),
    }
}

/// Resets the breaker: deletes its item, then announces it through `notifier` (who, why, since
/// when it was open). Returns since when it was open (`None`: it was not). The reset stands even
/// if the announcement fails; the error then says so.
pub async fn reset_breaker<S: StateStore, N: crate::ports::Notifier>(
    store: &S,
    notifier: &N,
    by: &str,
    reason: &str,
    now: u64,
) -> Remote<Option<u64>> {
    let open_since = store.get(&breaker_key()).await?.and_then(|r| r.since);
    store.delete(&breaker_key()).await?;
    let notice = crate::notify::Notice::BreakerReset {
        open_since,
        at: now,
        by: by.to_owned(),
        reason: reason.to_owned(),
    };
    notifier.announce(&notice).await.map_err(|e| RemoteError {
        message: format!(
            "the breaker WAS reset, but the notice could not be published: {}",
            e.message
        ),
        ..e
    })?;
    Ok(open_since)
}

/// The flap window of (resource, rule).
pub fn flap_key(finding: &Finding) -> StateKey {
    StateKey {
        partition: format!("flap#{}", resource_key(&finding.resource)),
        item: finding.rule.as_str().to_owned(),
    }
}

/// The idempotency claim of (CloudTrail eventID, rule, resource).
pub fn claim_key(change: &Change, finding: &Finding) -> StateKey {
    StateKey {
        partition: format!("event#{}", change.meta.event_id),
        item: format!("{}#{}", finding.rule, resource_key(&finding.resource)),
    }
}

/// A resource's identity: its id, and the principal when the id does not name it (a group
/// membership's resource is the identity store).
fn resource_key(resource: &Resource) -> String {
    match &resource.principal_id {
        Some(p) if !resource.id.contains(p.as_str()) => format!("{}|{p}", resource.id),
        _ => resource.id.clone(),
    }
}

impl fmt::Display for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.partition, self.item)
    }
}

/// A time for a reason: `2026-11-27T14:02:05Z`.
pub fn utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rest = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        Date::from_days_since_epoch(days),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Conditional writes attempted on one item before the gate gives up (and withholds).
const WRITE_ATTEMPTS: u32 = 16;

/// Claim statuses.
const IN_PROGRESS: &str = "in-progress";
const WITHHELD: &str = "withheld";

/// The outcome of taking an idempotency claim.
enum Claim {
    Won,
    Held(Option<String>),
}

/// The gate with every safety rail (see the module documentation).
#[derive(Debug)]
pub struct SafetyGate<P, S, C = SystemClock> {
    kill_switch: KillSwitch<P>,
    store: S,
    clock: C,
    config: SafetyConfig,
}

impl<P: Parameters, S: StateStore, C: Clock> SafetyGate<P, S, C> {
    /// The gate over the kill switch in `parameters` and the state in `store`.
    pub fn new(parameters: P, store: S, clock: C, config: SafetyConfig) -> Self {
        Self {
            kill_switch: KillSwitch::new(parameters, config.kill_switch.clone(), config.kill_switch_ttl),
            store,
            clock,
            config,
        }
    }

    /// The settings.
    pub fn config(&self) -> &SafetyConfig {
        &self.config
    }

    /// The state store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Steps 4 to 6, and the counting. Any error withholds (the caller fails closed).
    async fn stateful(&self, change: &Change, finding: &Finding, now: u64) -> Remote<Decision> {
        let claim = claim_key(change, finding);
        let flap = flap_key(finding);
        let held = match self.store.get(&breaker_key()).await?.and_then(|b| b.since) {
            Some(since) => Some(breaker_open(since)),
            None => self
                .store
                .get(&flap)
                .await?
                .and_then(|f| quarantined(&f, finding, self.config.flap, now)),
        };
        let status = if held.is_some() { WITHHELD } else { IN_PROGRESS };
        if let Claim::Held(status) = self.claim(&claim, now, status).await? {
            return Ok(Decision::Duplicate(format!(
                "event {} already handled {} on {} (status {})",
                change.meta.event_id,
                finding.rule,
                finding.resource.id,
                status.as_deref().unwrap_or("unknown")
            )));
        }
        if let Some(reason) = held {
            return Ok(Decision::Withhold(reason));
        }
        let counted = match self.count_breaker(now).await {
            Ok(None) => self.count_flap(&flap, change, finding, now).await,
            other => other,
        };
        match counted {
            Ok(None) => Ok(Decision::Allow),
            Ok(Some(Decision::Duplicate(reason))) => {
                self.set_status(&claim, "reconciled").await;
                Ok(Decision::Duplicate(reason))
            }
            Ok(Some(decision)) => {
                self.set_status(&claim, WITHHELD).await;
                Ok(decision)
            }
            Err(e) => {
                // Nothing was executed: let a redelivery try again, if the table lets us.
                if let Err(release) = self.store.delete(&claim).await {
                    tracing::error!(error = %release, key = %claim, "could not release an idempotency claim");
                }
                Err(e)
            }
        }
    }

    /// Takes the claim, or finds it held. An expired claim (not yet deleted by the table's TTL)
    /// counts as absent.
    async fn claim(&self, key: &StateKey, now: u64, status: &str) -> Remote<Claim> {
        let owner = token();
        let record = StateRecord {
            since: Some(now),
            status: Some(status.to_owned()),
            owner: Some(owner.clone()),
            expires_at: Some(now.saturating_add(self.config.claim_ttl.as_secs())),
            ..StateRecord::default()
        };
        for _ in 0..WRITE_ATTEMPTS {
            if self.store.put(key, &record, None).await? {
                return Ok(Claim::Won);
            }
            let taken = match self.store.get(key).await? {
                // Released in between: try again.
                None => false,
                // Ours: the put succeeded, but its answer was lost and the retry found it.
                Some(held) if held.owner.as_deref() == Some(owner.as_str()) => true,
                Some(held) if held.expires_at.is_none_or(|e| e > now) => return Ok(Claim::Held(held.status)),
                // Expired, not yet deleted by the TTL: take it over, unless another writer does.
                Some(expired) => self.store.put(key, &record, Some(expired.version)).await?,
            };
            if taken {
                return Ok(Claim::Won);
            }
        }
        Err(contended(key))
    }

    /// Records what became of a claimed correction (best effort: the claim holds either way).
    async fn set_status(&self, key: &StateKey, status: &str) {
        let updated = self
            .update(key, |current| match current {
                Some(c) => (
                    Some(StateRecord {
                        status: Some(status.to_owned()),
                        ..c.clone()
                    }),
                    (),
                ),
                None => (None, ()),
            })
            .await;
        if let Err(e) = updated {
            tracing::warn!(error = %e, %key, status, "could not record a claim's status");
        }
    }

    /// Counts one remediation organisation-wide; a decision when the breaker is open
    /// (`Withhold`) or this remediation opens it (`OpenBreaker`).
    async fn count_breaker(&self, now: u64) -> Remote<Option<Decision>> {
        let limit = self.config.breaker;
        let window = limit.window_secs();
        let counted = self
            .update(&breaker_key(), |current| {
                let mut record = current.cloned().unwrap_or_default();
                if let Some(since) = record.since {
                    return (None, Some(Decision::Withhold(breaker_open(since))));
                }
                record.times.retain(|t| t.saturating_add(window) > now);
                if record.times.len() >= limit.max as usize {
                    let reason = format!(
                        "breaker opened at {}: {} remediations organisation-wide within {} (limit {}); the event \
                     path is detect-only until an operator resets the breaker",
                        utc(now),
                        record.times.len() + 1,
                        Span(limit.window),
                        limit.max
                    );
                    record.since = Some(now);
                    record.expires_at = None;
                    return (Some(record), Some(Decision::OpenBreaker(reason)));
                }
                record.times.push(now);
                record.expires_at = Some(now.saturating_add(window));
                (Some(record), None)
            })
            .await;
        // One line per opening (only the delivery whose write opened it gets `OpenBreaker`), with
        // a field of its own: the deployment's log metric filter and alarm match `breaker`.
        if let Ok(Some(Decision::OpenBreaker(reason))) = &counted {
            tracing::error!(breaker = "opened", limit = %limit, "{reason}");
        }
        counted
    }

    /// Counts one remediation of (resource, rule); a withholding decision when it is or becomes
    /// quarantined (`Withhold`), this remediation quarantines it (`Quarantine`), or the other path (event or reconciler) owns it (see [`RECONCILER_SOURCE`]).
    async fn count_flap(
        &self,
        key: &StateKey,
        change: &Change,
        finding: &Finding,
        now: u64,
    ) -> Remote<Option<Decision>> {
        let limit = self.config.flap;
        let window = limit.window_secs();
        let reconciler = is_reconciler(change);
        let event_time = parse_utc(&change.meta.event_time);
        self.update(key, |current| {
            let mut record = current.cloned().unwrap_or_default();
            if let Some(reason) = quarantined(&record, finding, limit, now) {
                return (None, Some(Decision::Withhold(reason)));
            }
            if let Some(held) = other_path(&record, reconciler, event_time, finding, now) {
                return (None, Some(held));
            }
            record.since = None;
            record.until = None;
            record.times.retain(|t| t.saturating_add(window) > now);
            if record.times.len() >= limit.max as usize {
                let until = now.saturating_add(window);
                let reason = format!(
                    "quarantined: {} would be remediated on {} for the {} time within {} (limit {}); the resource \
                     is detect-only until {} (flap limit)",
                    finding.rule,
                    finding.resource.id,
                    ordinal(record.times.len() + 1),
                    Span(limit.window),
                    limit.max,
                    utc(until)
                );
                record.since = Some(now);
                record.until = Some(until);
                record.expires_at = Some(until);
                return (Some(record), Some(Decision::Quarantine(reason)));
            }
            record.times.push(now);
            record.owner = Some(if reconciler {
                RECONCILER_OWNER.to_owned()
            } else {
                format!("event {}", change.meta.event_id)
            });
            record.expires_at = Some(now.saturating_add(window).max(now.saturating_add(RECONCILER_BUSY_SECS)));
            (Some(record), None)
        })
        .await
    }

    /// Read, change, write under the version read; again on a lost race, a bounded number of
    /// times. `change` returns the record to write (`None`: nothing to write) and the answer.
    async fn update<T>(
        &self,
        key: &StateKey,
        mut change: impl FnMut(Option<&StateRecord>) -> (Option<StateRecord>, T),
    ) -> Remote<T> {
        for attempt in 0..WRITE_ATTEMPTS {
            let current = self.store.get(key).await?;
            let (write, answer) = change(current.as_ref());
            let Some(record) = write else { return Ok(answer) };
            if self.store.put(key, &record, current.map(|c| c.version)).await? {
                return Ok(answer);
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(contended(key))
    }
}

/// The `eventSource` of the reconciler's synthetic changes (see `crate::reconcile`).
pub const RECONCILER_SOURCE: &str = "idc-guard";
/// The `owner` a reconciler's count leaves on a flap window.
const RECONCILER_OWNER: &str = "reconciler";
/// How long after a correction the reconciler leaves the resource alone: longer than an event's
/// correction can take (Lambda's 15-minute limit), so the reconciler never acts on a resource an
/// event path is still correcting.
const RECONCILER_BUSY_SECS: u64 = 15 * 60;

/// Whether a change is the reconciler's.
fn is_reconciler(change: &Change) -> bool {
    change.meta.event_source == RECONCILER_SOURCE
}

/// The event path and the reconciler contend on the resource's flap window, the one item both
/// write (with optimistic concurrency) before acting on a (resource, rule):
///
/// - the **reconciler** leaves a resource alone that anything corrected within the last 15
///   minutes (an event path may still be at it; the next run re-checks);
/// - an **event** finds the reconciler's count made at or after the event's own time: the
///   reconciler read the resource after this change and has corrected it, so the event is a
///   duplicate (no call, no finding). A later event (a new change) is acted upon.
fn other_path(
    record: &StateRecord,
    reconciler: bool,
    event_time: Option<u64>,
    finding: &Finding,
    now: u64,
) -> Option<Decision> {
    let last = *record.times.last()?;
    let by = record.owner.as_deref()?;
    if reconciler && now.saturating_sub(last) < RECONCILER_BUSY_SECS {
        return Some(Decision::Withhold(format!(
            "{by} corrected {} on {} at {}: the reconciler leaves it to its next run",
            finding.rule,
            finding.resource.id,
            utc(last)
        )));
    }
    if !reconciler && by == RECONCILER_OWNER && event_time.is_some_and(|t| last >= t) {
        return Some(Decision::Duplicate(format!(
            "the reconciler corrected {} on {} at {}, after this event",
            finding.rule,
            finding.resource.id,
            utc(last)
        )));
    }
    None
}

/// Parses CloudTrail's `eventTime` (`2026-11-27T14:02:05Z`, fractional seconds allowed) into
/// Unix seconds.
pub fn parse_utc(text: &str) -> Option<u64> {
    let (date, time) = text.split_once('T')?;
    let date = Date::parse(date)?;
    let time = time.strip_suffix('Z')?;
    let time = time.split('.').next()?;
    let mut parts = time.splitn(3, ':');
    let (h, m, s): (u64, u64, u64) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (the inverse of `Date::from_days_since_epoch`).
    let y = i64::from(date.year()) - i64::from(date.month() <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(date.month()) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(date.day()) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days).ok().map(|d| d * 86_400 + h * 3600 + m * 60 + s)
}

/// Why a correction on a quarantined resource is withheld, if it is.
fn quarantined(record: &StateRecord, finding: &Finding, limit: Limit, now: u64) -> Option<String> {
    let until = record.until.filter(|u| *u > now)?;
    Some(format!(
        "quarantined since {} until {}: {} was remediated on {} {} times within {} (flap limit)",
        record.since.map_or_else(|| "(unknown)".to_owned(), utc),
        utc(until),
        finding.rule,
        finding.resource.id,
        limit.max,
        Span(limit.window)
    ))
}

fn breaker_open(since: u64) -> String {
    format!(
        "breaker open since {}: the event path is detect-only until an operator resets the breaker",
        utc(since)
    )
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A token unique to one claim attempt (per process: time, process id and a counter).
fn token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{nanos:x}-{:x}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn contended(key: &StateKey) -> RemoteError {
    RemoteError {
        operation: "safety state",
        kind: FailureKind::Conflict,
        message: format!("{key} stayed contended after {WRITE_ATTEMPTS} conditional writes"),
    }
}

/// A short pause after a lost race, growing and spread (1–8 ms, then up to 64 ms).
fn backoff(attempt: u32) -> Duration {
    static SPREAD: AtomicU64 = AtomicU64::new(0x2545_F491_4F6C_DD1D);
    let bound = 8u64 << attempt.min(3);
    let x = SPREAD.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    Duration::from_millis(1 + (x >> 33) % bound)
}

impl<P: Parameters, S: StateStore, C: Clock> Gate for SafetyGate<P, S, C> {
    async fn decide(&self, change: &Change, finding: &Finding) -> Decision {
        let now = self.clock.now();
        // 1. The kill switch.
        let switch = self.kill_switch.read(now).await;
        if switch.mode != Mode::Enforce {
            return Decision::Withhold(switch.reason);
        }
        // 2. The rule's mode (3., exceptions, were applied by the engine).
        if finding.mode != Mode::Enforce {
            return Decision::Withhold(format!("rule {} is in {} mode", finding.rule, finding.mode));
        }
        // 4.–6. Breaker, flap limit, idempotency.
        match self.stateful(change, finding, now).await {
            Ok(decision) => decision,
            Err(e) => {
                tracing::error!(error = %e, event_id = %change.meta.event_id, rule = %finding.rule, "safety state unusable: withheld");
                Decision::Withhold(format!(
                    "fail closed: the safety state could not be read or written ({e})"
                ))
            }
        }
    }

    async fn first_report(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) -> bool {
        let key = notice_key(change, finding, outcome);
        let now = self.clock.now();
        let record = StateRecord {
            since: Some(now),
            expires_at: Some(now.saturating_add(self.config.claim_ttl.as_secs())),
            ..StateRecord::default()
        };
        let first = async {
            if self.store.put(&key, &record, None).await? {
                return Ok(true);
            }
            match self.store.get(&key).await? {
                // Released in between, or expired and not yet deleted by the TTL: publish again.
                None => self.store.put(&key, &record, None).await,
                Some(old) if old.expires_at.is_some_and(|e| e <= now) => {
                    self.store.put(&key, &record, Some(old.version)).await
                }
                Some(_) => Ok(false),
            }
        };
        match first.await {
            Ok(first) => first,
            Err(e) => {
                tracing::warn!(error = %e, %key, "could not record a publication: publishing (perhaps again)");
                true
            }
        }
    }

    async fn report_failed(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) {
        let key = notice_key(change, finding, outcome);
        if let Err(e) = self.store.delete(&key).await {
            tracing::error!(error = %e, %key, "could not release the record of a failed publication");
        }
    }

    async fn settle(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) {
        let key = claim_key(change, finding);
        match outcome {
            // Nothing done for good: Lambda's retry of the event may try again.
            OutcomeKind::Failed { .. } => {
                if let Err(e) = self.store.delete(&key).await {
                    tracing::error!(error = %e, %key, "could not release the claim of a failed correction");
                }
            }
            OutcomeKind::Remediated => self.set_status(&key, "remediated").await,
            OutcomeKind::NotVerified { .. } => self.set_status(&key, "not-verified").await,
            OutcomeKind::CannotRemediate { .. } => self.set_status(&key, "cannot-remediate").await,
            OutcomeKind::Detected
            | OutcomeKind::Withheld { .. }
            | OutcomeKind::Quarantined { .. }
            | OutcomeKind::BreakerOpened { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_and_print() {
        assert_eq!(
            Limit::parse("3/1h"),
            Ok(Limit {
                max: 3,
                window: Duration::from_secs(3600)
            })
        );
        assert_eq!(
            Limit::parse(" 20 / 10m ").map(|l| l.to_string()),
            Ok("20/10m".to_owned())
        );
        assert_eq!(Limit::parse("5/90s").map(|l| l.to_string()), Ok("5/90s".to_owned()));
        for bad in ["", "3", "3/", "/1h", "3/1d", "0/1h", "3/0m", "x/1h", "3/1.5h", "-1/1h"] {
            assert!(Limit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn event_times_parse_to_unix_seconds() {
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_utc("2026-11-27T14:02:00Z"), Some(1_795_788_120));
        assert_eq!(parse_utc("2026-11-27T14:02:00.123Z"), Some(1_795_788_120));
        assert_eq!(
            parse_utc("2024-02-29T00:00:00Z").map(utc),
            Some("2024-02-29T00:00:00Z".to_owned())
        );
        assert_eq!(parse_utc("2026-11-27 14:02:00"), None);
        assert_eq!(parse_utc("2026-11-27T25:02:00Z"), None);
    }

    #[test]
    fn times_print_in_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_795_788_120), "2026-11-27T14:02:00Z");
    }

    #[test]
    fn ordinals() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101].into_iter().map(ordinal).collect();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"
            ]
        );
    }
}
