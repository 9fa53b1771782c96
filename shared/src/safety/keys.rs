//! The items of the safety state and their keys: one table, string partition key `pk` and sort
//! key `sk` (see the module documentation of `crate::safety`).

use std::fmt;

use crate::domain::{Change, Finding, OutcomeKind, Resource};
use crate::ports::StateKey;

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

/// The journal of idc-guard's own calls on a resource: one item per operation, with the times it
/// was made (see [`crate::ports::Gate::record`]).
pub fn own_key(resource: &str, operation: &str) -> StateKey {
    StateKey {
        partition: format!("own#{resource}"),
        item: operation.to_owned(),
    }
}

/// The lease on a resource (see [`crate::ports::Gate::lease`]).
pub(super) fn lease_key(resource: &str) -> StateKey {
    StateKey {
        partition: format!("lease#{resource}"),
        item: "lease".to_owned(),
    }
}

/// The partition noting which permission sets hold revocations, one item per set (see
/// [`crate::ports::Gate::note_revocations`]).
pub(super) const REVOCATIONS: &str = "revocations";

/// The breaker's item: delete it to reset the breaker (the documented operator action).
pub fn breaker_key() -> StateKey {
    StateKey {
        partition: "breaker".to_owned(),
        item: "event-path".to_owned(),
    }
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
pub(super) fn resource_key(resource: &Resource) -> String {
    match &resource.principal_id {
        Some(p) if !resource.id.contains(p.as_str()) => format!("{}|{p}", resource.id),
        _ => resource.id.clone(),
    }
}

// track C
/// A SCIM health series (`failures`, `removals#<group id>`): the recent times recorded and the
/// time of the event of the last finding on it (see [`crate::ports::Gate::scim_record`]).
pub fn scim_key(series: &str) -> StateKey {
    StateKey {
        partition: format!("scim#{series}"),
        item: "window".to_owned(),
    }
}

/// The last successful SCIM write (see [`crate::ports::Gate::scim_write`]).
pub fn scim_write_key() -> StateKey {
    StateKey {
        partition: "scim#last-write".to_owned(),
        item: "write".to_owned(),
    }
}

impl fmt::Display for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.partition, self.item)
    }
}
