//! Which delivery of an identity store change came first (issue #19): its CloudTrail record or
//! the identity store's own notification ([`Gate::same_change`](crate::ports::Gate::same_change)).
//!
//! One item per change, `change#<store>#<object>#<what>` / `delivery` (the key the guard builds
//! from `crate::event::notification::change_key`), holding who noted it (`status` `cloudtrail` or
//! `notification`, `owner` its event id), the change's time (`since`) and `expires_at`.
//!
//! **Bounded in time twice.** The item is kept as long as an idempotency claim
//! ([`SafetyConfig::claim_ttl`](super::SafetyConfig), 24 hours: EventBridge's and the forwarder's
//! retries), so a delivery delayed by retries still finds its twin. And two deliveries are the
//! same change only when their times are within [`SKEW`]: both say when the change happened
//! (CloudTrail's `eventTime`, the notification's `time`), and a later change of the same kind to
//! the same object (a second update) is a change of its own. Ids of users and groups are never
//! reused, so a creation or a deletion can only be one change; updates of one object within
//! [`SKEW`] of each other count as one, which costs nothing the notification could have said (it
//! names no actor: only the CloudTrail record decides).

use super::SafetyGate;
use super::clock::Clock;
use crate::ports::{
    Delivery, FailureKind, Parameters, Remote, RemoteError, SameChange, StateKey, StateRecord, StateStore,
};

/// How far apart the two deliveries' times of one change may be (seconds).
pub(super) const SKEW: u64 = 5 * 60;

/// Conditional writes attempted before giving up.
const ATTEMPTS: u32 = 16;

const CLOUDTRAIL: &str = "cloudtrail";
const NOTIFICATION: &str = "notification";

/// The item of one change.
pub(super) fn change_key(key: &str) -> StateKey {
    StateKey {
        partition: format!("change#{key}"),
        item: "delivery".to_owned(),
    }
}

/// The delivery an item names.
fn noted(record: &StateRecord) -> Option<Delivery> {
    let id = record.owner.clone()?;
    match record.status.as_deref()? {
        CLOUDTRAIL => Some(Delivery::CloudTrail(id)),
        NOTIFICATION => Some(Delivery::Notification(id)),
        _ => None,
    }
}

impl<P: Parameters, S: StateStore, C: Clock> SafetyGate<P, S, C> {
    /// See [`Gate::same_change`](crate::ports::Gate::same_change).
    pub(super) async fn note_delivery(&self, key: &str, at: u64, delivery: &Delivery) -> Remote<SameChange> {
        let now = self.now_by_clock();
        let key = change_key(key);
        let (status, id) = match delivery {
            Delivery::CloudTrail(id) => (CLOUDTRAIL, id),
            Delivery::Notification(id) => (NOTIFICATION, id),
        };
        let record = StateRecord {
            since: Some(at),
            status: Some(status.to_owned()),
            owner: Some(id.clone()),
            expires_at: Some(now.saturating_add(self.config().claim_ttl.as_secs())),
            ..StateRecord::default()
        };
        for _ in 0..ATTEMPTS {
            if self.store().put(&key, &record, None).await? {
                return Ok(SameChange::First);
            }
            // Deleted in between (the TTL): write it again.
            let Some(held) = self.store().get(&key).await? else {
                continue;
            };
            let same = held.expires_at.is_none_or(|e| e > now) && held.since.is_some_and(|s| s.abs_diff(at) <= SKEW);
            let seen = noted(&held).filter(|_| same);
            match (delivery, seen) {
                // This very delivery again (a retry): judged again, as any redelivery is.
                _ if held.owner.as_deref() == Some(id.as_str()) => return Ok(SameChange::First),
                // A CloudTrail record is always judged; another record of the same change stays
                // noted, a notification's note gives way to it (later notifications yield to it).
                (Delivery::CloudTrail(_), Some(Delivery::CloudTrail(_))) => return Ok(SameChange::First),
                (Delivery::Notification(_), Some(first)) => return Ok(SameChange::Seen(first)),
                // Another change (or an expired note): this delivery notes it.
                _ => {
                    if self.store().put(&key, &record, Some(held.version)).await? {
                        return Ok(SameChange::First);
                    }
                }
            }
        }
        Err(RemoteError::new(
            "safety state",
            FailureKind::Conflict,
            format!("{key} stayed contended after {ATTEMPTS} conditional writes"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ports::Gate;
    use crate::safety::{ManualClock, MemoryParameters, MemoryStore, SafetyConfig};

    fn gate_at(clock: &ManualClock) -> SafetyGate<MemoryParameters, MemoryStore, ManualClock> {
        SafetyGate::new(
            MemoryParameters::default(),
            MemoryStore::default(),
            clock.clone(),
            SafetyConfig::default(),
        )
    }

    fn gate() -> SafetyGate<MemoryParameters, MemoryStore, ManualClock> {
        gate_at(&ManualClock::new(1_000_000))
    }

    fn ct(id: &str) -> Delivery {
        Delivery::CloudTrail(id.to_owned())
    }

    fn n(id: &str) -> Delivery {
        Delivery::Notification(id.to_owned())
    }

    #[tokio::test]
    async fn a_notification_yields_to_a_delivery_of_the_same_change_and_cloudtrail_never_does() {
        let gate = gate();
        let key = "d-1#user/u#created";
        // CloudTrail first: the notification (a few seconds later by its own clock) yields.
        assert_eq!(gate.same_change(key, 100, &ct("e1")).await.unwrap(), SameChange::First);
        assert_eq!(
            gate.same_change(key, 101, &n("n1")).await.unwrap(),
            SameChange::Seen(ct("e1"))
        );
        // Notification first: it is judged; CloudTrail's record still is, and a replica's copy
        // of the notification (or a duplicate envelope) then yields to the record.
        let key = "d-1#group/g#deleted";
        assert_eq!(gate.same_change(key, 200, &n("n2")).await.unwrap(), SameChange::First);
        assert_eq!(gate.same_change(key, 199, &ct("e2")).await.unwrap(), SameChange::First);
        assert_eq!(
            gate.same_change(key, 200, &n("n3")).await.unwrap(),
            SameChange::Seen(ct("e2"))
        );
        // The same notification delivered again is judged again, like any redelivery.
        let key = "d-1#user/v#deleted";
        assert_eq!(gate.same_change(key, 300, &n("n4")).await.unwrap(), SameChange::First);
        assert_eq!(gate.same_change(key, 300, &n("n4")).await.unwrap(), SameChange::First);
        assert_eq!(
            gate.same_change(key, 301, &n("n5")).await.unwrap(),
            SameChange::Seen(n("n4"))
        );
    }

    #[tokio::test]
    async fn a_change_of_the_same_kind_beyond_the_skew_is_another_change() {
        let gate = gate();
        let key = "d-1#user/u#updated";
        assert_eq!(
            gate.same_change(key, 1_000, &ct("e1")).await.unwrap(),
            SameChange::First
        );
        assert_eq!(
            gate.same_change(key, 1_000 + SKEW, &n("n1")).await.unwrap(),
            SameChange::Seen(ct("e1"))
        );
        // A second update, later than the skew: its notification is judged, and notes it.
        assert_eq!(
            gate.same_change(key, 1_001 + SKEW, &n("n2")).await.unwrap(),
            SameChange::First
        );
        assert_eq!(
            gate.same_change(key, 1_001 + SKEW, &n("n3")).await.unwrap(),
            SameChange::Seen(n("n2"))
        );
    }

    #[tokio::test]
    async fn a_note_past_its_expiry_counts_as_absent() {
        let clock = ManualClock::new(1_000_000);
        let gate = gate_at(&clock);
        let key = "d-1#user/u#created";
        assert_eq!(gate.same_change(key, 100, &ct("e1")).await.unwrap(), SameChange::First);
        clock.advance(Duration::from_secs(SafetyConfig::default().claim_ttl.as_secs() + 1));
        assert_eq!(gate.same_change(key, 100, &n("n1")).await.unwrap(), SameChange::First);
    }
}
