//! [`SafetyGate`]: the gate with every rail (see the module documentation of `crate::safety`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use super::breaker::breaker_open;
use super::keys::{REVOCATIONS, breaker_key, claim_key, flap_key, lease_key, notice_key, own_key};
use super::limits::{Limit, Span};
use super::{Clock, KillSwitch, SafetyConfig, SystemClock};
use crate::domain::time::{parse_utc, utc};
use crate::domain::{Change, Decision, Finding, Mode, OutcomeKind};
use crate::ports::{FailureKind, Gate, Lease, Parameters, Remote, RemoteError, StateKey, StateRecord, StateStore};

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
    /// The last successful SCIM write this process recorded (track C: at most one write an hour).
    pub(super) scim_write_noted: AtomicU64,
}

impl<P: Parameters, S: StateStore, C: Clock> SafetyGate<P, S, C> {
    /// The gate over the kill switch in `parameters` and the state in `store`.
    pub fn new(parameters: P, store: S, clock: C, config: SafetyConfig) -> Self {
        Self {
            kill_switch: KillSwitch::new(parameters, config.kill_switch.clone(), config.kill_switch_ttl),
            store,
            clock,
            config,
            scim_write_noted: AtomicU64::new(0),
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

    /// Now, by the gate's clock.
    pub(super) fn now_by_clock(&self) -> u64 {
        self.clock.now()
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
        // a field of its own for people searching the logs; the alarm watches the `BreakerOpened`
        // metric, counted from the outcome this decision becomes (`metrics`).
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
    pub(super) async fn update<T>(
        &self,
        key: &StateKey,
        mut change: impl FnMut(Option<&StateRecord>) -> (Option<StateRecord>, T),
    ) -> Remote<T> {
        let mut pauses = lost_race_pauses();
        for _ in 0..WRITE_ATTEMPTS {
            let current = self.store.get(key).await?;
            let (write, answer) = change(current.as_ref());
            let Some(record) = write else { return Ok(answer) };
            if self.store.put(key, &record, current.map(|c| c.version)).await? {
                return Ok(answer);
            }
            tokio::time::sleep(pauses.next().unwrap_or_default()).await;
        }
        Err(contended(key))
    }
}

/// How long the journal keeps a call, and how long after a call its echo may arrive (CloudTrail
/// delivers within minutes; a correction, its polls included, fits in a Lambda's 15 minutes).
const OWN_CALL_WINDOW: u64 = 60 * 60;
/// Clock skew allowed between the gate's clock and CloudTrail's `eventTime`.
const OWN_CALL_SKEW: u64 = 5 * 60;

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
    RemoteError::new(
        "safety state",
        FailureKind::Conflict,
        format!("{key} stayed contended after {WRITE_ATTEMPTS} conditional writes"),
    )
}

/// Short pauses after lost races, growing and spread: from 1 ms, doubling up to 64 ms, jittered.
fn lost_race_pauses() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(64))
        .with_max_times(WRITE_ATTEMPTS as usize)
        .with_jitter()
        .build()
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

    async fn record(&self, operation: &'static str, resource: &str) -> Remote<()> {
        let now = self.clock.now();
        let key = own_key(resource, operation);
        let first = StateRecord {
            times: vec![now],
            expires_at: Some(now.saturating_add(OWN_CALL_WINDOW)),
            ..StateRecord::default()
        };
        // Usually the first call on this resource within the window: one write, no read.
        if self.store.put(&key, &first, None).await? {
            return Ok(());
        }
        self.update(&key, |current| {
            let mut record = current.cloned().unwrap_or_default();
            record.times.retain(|t| t.saturating_add(OWN_CALL_WINDOW) > now);
            record.times.push(now);
            record.expires_at = Some(now.saturating_add(OWN_CALL_WINDOW));
            (Some(record), ())
        })
        .await
    }

    async fn recorded(&self, change: &Change) -> Option<bool> {
        let resource = change.kind.written_id()?;
        let at = parse_utc(&change.meta.event_time)?;
        match self.store.get(&own_key(&resource, &change.meta.event_name)).await {
            Ok(record) => Some(record.is_some_and(|r| {
                r.times
                    .iter()
                    .any(|t| *t <= at.saturating_add(OWN_CALL_SKEW) && at <= t.saturating_add(OWN_CALL_WINDOW))
            })),
            Err(e) => {
                tracing::warn!(error = %e, "the own-call journal cannot be read: the change is judged as anyone's");
                None
            }
        }
    }

    async fn lease(&self, resource: &str) -> Remote<Option<Lease>> {
        let now = self.clock.now();
        let key = lease_key(resource);
        let token = token();
        let taken = StateRecord {
            owner: Some(token.clone()),
            since: Some(now),
            until: Some(now.saturating_add(Lease::TERM)),
            expires_at: Some(now.saturating_add(Lease::TERM)),
            ..StateRecord::default()
        };
        let expected = match self.store.get(&key).await? {
            // Held, and not yet lapsed.
            Some(current) if current.until.is_some_and(|until| until > now) => return Ok(None),
            Some(lapsed) => Some(lapsed.version),
            None => None,
        };
        Ok(self.store.put(&key, &taken, expected).await?.then(|| Lease {
            resource: resource.to_owned(),
            token,
        }))
    }

    async fn release(&self, lease: &Lease) {
        let key = lease_key(&lease.resource);
        // Only our own: a lease that lapsed and was taken by another is theirs.
        match self.store.get(&key).await {
            Ok(Some(current)) if current.owner.as_deref() == Some(lease.token.as_str()) => {
                if let Err(e) = self.store.delete(&key).await {
                    tracing::warn!(error = %e, %key, "could not release a lease: it lapses by itself");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, %key, "could not release a lease: it lapses by itself"),
        }
    }

    fn now(&self) -> u64 {
        self.clock.now()
    }

    async fn note_revocations(&self, permission_set: &str, until: Option<u64>) -> Remote<()> {
        let key = StateKey {
            partition: REVOCATIONS.to_owned(),
            item: permission_set.to_owned(),
        };
        match until {
            None => self.store.delete(&key).await,
            Some(until) => {
                self.update(&key, |current| {
                    let mut record = current.cloned().unwrap_or_default();
                    record.until = Some(until);
                    // Kept a day past the expiry, so a sweep that was late still finds it.
                    record.expires_at = Some(until.saturating_add(24 * 60 * 60));
                    (Some(record), ())
                })
                .await
            }
        }
    }

    async fn noted_revocations(&self) -> Remote<Vec<(String, u64)>> {
        Ok(self
            .store
            .list(REVOCATIONS)
            .await?
            .into_iter()
            .filter_map(|(key, record)| record.until.map(|until| (key.item, until)))
            .collect())
    }

    async fn scim_record(&self, series: &str, at: u64, count: usize) -> Remote<crate::domain::ScimWindow> {
        self.record_scim(series, at, count).await
    }

    async fn scim_reported(&self, series: &str, at: u64) -> Remote<()> {
        self.reported_scim(series, at).await
    }

    async fn scim_write(&self, at: u64) -> Remote<()> {
        self.write_seen(at).await
    }

    async fn scim_last_write(&self) -> Remote<Option<u64>> {
        self.last_write().await
    }

    async fn same_change(
        &self,
        key: &str,
        at: u64,
        delivery: &crate::ports::Delivery,
    ) -> Remote<crate::ports::SameChange> {
        self.note_delivery(key, at, delivery).await
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
