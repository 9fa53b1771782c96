//! One identity store change, two deliveries (issue #19): its CloudTrail record and the identity
//! store's own notification, in either order, or both at once; and the notification once per
//! Region of the instance.
//!
//! - A notification sent in another Region than the guard's (the instance's primary) is ignored
//!   with [`IgnoreReason::ReplicaRegion`]: AWS sends one per Region per change and advises
//!   processing each change once (IAM Identity Center user guide, "Receive events in other
//!   accounts and Regions").
//! - Every delivery of a change a notification can report (a user's or group's creation, update
//!   or deletion) is noted under what both have in common
//!   ([`change_key`]: the object, what happened to it; with the policy's identity store), through
//!   the gate's conditional writes ([`Gate::same_change`]). A CloudTrail record is always judged:
//!   it names who made the change. A notification is judged only when no other delivery of the
//!   change came first, and then says "undetermined: who made it is unknown", which publishes
//!   nothing; so the change is reported once whichever arrives first, and corrected (where a
//!   rule corrects it) only from its CloudTrail record.
//! - When the state cannot be used the delivery is judged (a duplicate judgement of a
//!   notification publishes nothing; a lost one could hide a change).

use super::Guard;
use crate::domain::time::parse_utc;
use crate::domain::{Change, IgnoreReason};
use crate::event::notification::{change_key, is_notification_change};
use crate::ports::{Delivery, Gate, SameChange};

impl<I, S, N, G: Gate> Guard<I, S, N, G> {
    /// Why `change` is not judged from this delivery (a replica Region's notification, or a
    /// change another delivery brought first), or `None` to judge it.
    pub(super) async fn other_delivery(&self, change: &Change) -> Option<IgnoreReason> {
        let notification = is_notification_change(&change.meta);
        if notification
            && let Some(primary) = &self.region
            && !change.meta.region.is_empty()
            && change.meta.region != *primary
        {
            return Some(IgnoreReason::ReplicaRegion {
                region: change.meta.region.clone(),
                primary: primary.clone(),
            });
        }
        let object = change_key(&change.kind)?;
        // Without a time, the two deliveries cannot be matched: judged.
        let at = parse_utc(&change.meta.event_time)?;
        let store = self
            .policy
            .identity_store_id
            .as_ref()
            .map_or("any", |store| store.as_str());
        let key = format!("{store}#{object}");
        let id = change.meta.event_id.clone();
        let delivery = if notification {
            Delivery::Notification(id)
        } else {
            Delivery::CloudTrail(id)
        };
        match self.gate.same_change(&key, at, &delivery).await {
            Ok(SameChange::First) => None,
            Ok(SameChange::Seen(first)) => {
                tracing::info!(event_id = %change.meta.event_id, %key, first = %first, "the same identity store change already arrived: not judged again");
                Some(IgnoreReason::AlreadyDelivered { by: first.to_string() })
            }
            Err(e) => {
                tracing::warn!(error = %e, %key, "which delivery of the change came first cannot be noted: judged");
                None
            }
        }
    }
}
