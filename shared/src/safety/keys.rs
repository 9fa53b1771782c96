//! The items of the safety state and their keys: one table, string partition key `pk` and sort
//! key `sk` (see the module documentation of `crate::safety`).

use std::fmt;

use crate::domain::{Change, Finding, OutcomeKind, Resource, UseKey};
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

// Issue #17: last use per (user, permission set, account), and when each assignment was first
// seen. Unlike the rails' items these are read whole (the reconciler wants all of them), so
// each lives in one of a fixed set of partitions, spread by a hash: a handful of Query calls
// reads everything, and no single partition takes every write of a busy organisation.
//
// | item | pk | sk | attributes |
// |---|---|---|---|
// | last use | `usage#NN` (NN = [`shard`] of the user id, `00`..`15`) | `<user_id>#<account>#<set name>` | `user_id`, `account`, `permission_set`, `at`, `event_id`, `channel` (`credentials`, `console`), `expires_at` |
// | recording start | `usage#since` | `since` | `at` |
// | first seen | `seen#NN` (NN = [`shard`] of the assignment key) | the assignment key | `at` |
//
// A last use is written only under `attribute_not_exists(pk) OR at < :at`, so a late, older
// record never moves it back and a duplicate changes nothing; the recording start only under
// `attribute_not_exists(pk)`, so the first start stays.

/// How many partitions the last uses (and, apart, the first sightings) are spread over.
pub const USAGE_SHARDS: u64 = 16;

/// The partition of the recording start (see [`crate::ports::UsageStore::start_recording`]).
pub const USAGE_SINCE_PARTITION: &str = "usage#since";
/// The sort key of the recording start.
pub const USAGE_SINCE_ITEM: &str = "since";

/// The shard of `text`: FNV-1a (64 bits) of its UTF-8 bytes, modulo [`USAGE_SHARDS`]. Stable
/// across processes and releases (unlike `std`'s hasher), as a stored key must be.
pub fn shard(text: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = text.bytes().fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    hash % USAGE_SHARDS
}

/// The partition of a user's last uses: `usage#NN`.
pub fn usage_partition(user_id: &str) -> String {
    format!("usage#{:02}", shard(user_id))
}

/// The sort key of a last use: `<user_id>#<account>#<permission set name>`.
pub fn usage_item(key: &UseKey) -> String {
    format!("{}#{}#{}", key.user_id, key.account, key.permission_set)
}

/// The key of the last use of `key`.
pub fn usage_key(key: &UseKey) -> StateKey {
    StateKey {
        partition: usage_partition(&key.user_id),
        item: usage_item(key),
    }
}

/// The partition of an assignment's first sighting (by its usage key): `seen#NN`.
pub fn seen_partition(assignment_key: &str) -> String {
    format!("seen#{:02}", shard(assignment_key))
}

/// The key of an assignment's first sighting.
pub fn seen_key(assignment_key: &str) -> StateKey {
    StateKey {
        partition: seen_partition(assignment_key),
        item: assignment_key.to_owned(),
    }
}

/// Every last-use partition, `usage#00` to `usage#15`.
pub fn usage_partitions() -> impl Iterator<Item = String> {
    (0..USAGE_SHARDS).map(|n| format!("usage#{n:02}"))
}

/// Every first-sighting partition, `seen#00` to `seen#15`.
pub fn seen_partitions() -> impl Iterator<Item = String> {
    (0..USAGE_SHARDS).map(|n| format!("seen#{n:02}"))
}

impl fmt::Display for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.partition, self.item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AccountId;

    #[test]
    fn shards_are_fnv1a_64_modulo_16() {
        // FNV-1a's published test vectors: "" = cbf29ce484222325, "a" = af63dc4c8601ec8c,
        // "foobar" = 85944171f73967e8.
        assert_eq!(shard(""), 0xcbf2_9ce4_8422_2325 % 16);
        assert_eq!(shard("a"), 0xaf63_dc4c_8601_ec8c % 16);
        assert_eq!(shard("foobar"), 0x8594_4171_f739_67e8 % 16);
        assert_eq!(usage_partition("foobar"), "usage#08");
        assert_eq!(seen_partition("a"), "seen#12");
    }

    #[test]
    fn keys_spread_over_every_partition_and_only_those() {
        let partitions: std::collections::BTreeSet<String> = usage_partitions().collect();
        assert_eq!(partitions.len(), 16);
        let used: std::collections::BTreeSet<String> =
            (0..500).map(|n| usage_partition(&format!("user-{n}"))).collect();
        assert_eq!(used, partitions);
        let seen: std::collections::BTreeSet<String> = seen_partitions().collect();
        assert!((0..500).all(|n| seen.contains(&seen_partition(&format!("k{n}")))));
        let key = UseKey {
            user_id: "u-1".to_owned(),
            permission_set: "DataEngineer".to_owned(),
            account: AccountId::parse("333333333333").unwrap(),
        };
        assert_eq!(
            usage_key(&key),
            StateKey {
                partition: usage_partition("u-1"),
                item: "u-1#333333333333#DataEngineer".to_owned()
            }
        );
    }
}
