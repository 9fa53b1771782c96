//! The safety rails: the gate every planned correction passes before it is executed.
//!
//! [`SafetyGate`] applies, in order:
//!
//! 1. the **kill switch**: the global mode, read from a parameter ([`Parameters`](crate::ports::Parameters), SSM) and
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
//!    [`Decision::Duplicate`](crate::domain::Decision::Duplicate): no call and no finding.
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
//! [`Gate::settle`](crate::ports::Gate::settle)), so that Lambda's retry of the event may try again.
//!
//! All state lives in one table ([`StateStore`](crate::ports::StateStore)) with a string partition key `pk` and sort key
//! `sk`, and the TTL attribute `expires_at`:
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | idempotency claim | `event#<eventID>` | `<rule>#<resource>` | `status`, `owner`, `since`, `expires_at` (24 h) |
//! | flap window | `flap#<resource>` | `<rule>` | `times`, `since`/`until` while quarantined, `expires_at` |
//! | breaker | `breaker` | `event-path` | `times`, `since` while open (no `expires_at` then) |
//! | publication | `notice#<eventID>` | `<rule>#<resource>#<outcome>` | `since`, `expires_at` (24 h) |
//! | own call | `own#<resource>` | `<operation>` | `times` of idc-guard's calls, `expires_at` (1 h) |
//! | SCIM series | `scim#failures`, `scim#removals#<group>` | `window` | `times` recorded (a day, at most 1,000), `since` (the event of the last finding), `expires_at` (1 day) |
//! | SCIM last write | `scim#last-write` | `write` | `since` (the last successful SCIM write, or when watching began: `status` `watching`), `expires_at` (90 days) |
//! | last use (issue #17) | `usage#NN` ([`shard`] of the user id) | `<user_id>#<account>#<set name>` | `user_id`, `account`, `permission_set`, `at`, `event_id`, `channel`, `expires_at` (400 days after the use) |
//! | usage recording start | `usage#since` | `since` | `at` (the first start, kept) |
//! | first sighting of an assignment | `seen#NN` ([`shard`] of the assignment key) | the assignment key | `at` |
//! | the reconciler's last run (issue #18) | `reconciler` | `last-run` | `since` (its start), `until` (its end), `status` (how it ended, as JSON: [`RunOutcome`]) |
//! | an identity store change's first delivery (issue #19) | `change#<store>#<user or group>/<id>#<what>` | `delivery` | `status` (`cloudtrail`, `notification`), `owner` (its event id), `since` (the change's time), `expires_at` (24 h) |
//!
//! The own-call journal tells idc-guard's echoes (its own calls coming back as events) from
//! someone else using its role: each mutating call is recorded just before it is made; a change
//! by an own role that the journal does not show is a finding (`own-role-unrecorded-change`).
//!
//! The publication item makes every outcome of a finding published once, whatever the mode
//! ([`Gate::first_report`](crate::ports::Gate::first_report)): taken before publishing, released when publishing fails; when the
//! table cannot be used the outcome is published anyway (a duplicate rather than a loss).
//!
//! Every item of the rails also has a `version`, incremented by each conditional write. The
//! usage items (issue #17, see [`crate::ports::UsageStore`]) have none: a last use is written
//! only when it is later than the stored one (`attribute_not_exists(pk) OR at < :at`), the
//! recording start only when there is none, and the last uses and sightings spread over
//! [`USAGE_SHARDS`] partitions each so that they can be read whole.

mod breaker;
mod clock;
mod gate;
mod keys;
mod kill_switch;
mod limits;
mod memory;
mod runs;
mod same_change;
mod scim;
pub use scim::WATCHING as SCIM_WATCHING;

use std::time::Duration;

pub use breaker::reset_breaker;
pub use clock::{Clock, ManualClock, SystemClock};
pub use gate::{RECONCILER_SOURCE, SafetyGate};
pub use keys::{
    USAGE_SHARDS, USAGE_SINCE_ITEM, USAGE_SINCE_PARTITION, breaker_key, claim_key, flap_key, notice_key, own_key,
    scim_key, scim_write_key, seen_key, seen_partition, seen_partitions, shard, usage_item, usage_key, usage_partition,
    usage_partitions,
};
pub use kill_switch::{KillSwitch, MAX_KILL_SWITCH_TTL, Switch};
pub use limits::{Limit, LimitError};
pub use memory::{MemoryParameters, MemoryStore};
pub use runs::{LastRun, RunOutcome, last_run, last_run_key, note_run};

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
