//! SCIM provisioning's health (issue #16): signals about the identity store's sync from the IdP,
//! which are not writes to judge but facts about whether the sync still works.
//!
//! - AWS Health announces that the SCIM bearer token expires
//!   (`AWS_IAMIDENTITYCENTER_SCIM_BEARER_TOKEN_EXPIRY_NOTIFICATION`);
//! - SCIM calls fail with an authentication or authorisation error ([`AUTH_ERROR_CODES`]);
//! - the reconciler finds no successful SCIM write for days ([`ScimSignal::Silence`]);
//! - one sync removes many of a group's members (a SCIM `PatchGroup` with `remove` operations,
//!   `IdentityOp::GroupPatched::removed`).
//!
//! The counting over time windows lives in the state table (the guard records, the rules judge
//! what was recorded): the rules stay pure, and "now" is a fact the caller supplies.

use serde::Serialize;

/// The CloudTrail `errorCode`s of SCIM calls refused for their credentials: `UnauthorizedException`
/// (HTTP 401, "Authorization header is invalid or missing. This error also occurs if the tenant
/// ID is incorrect": an expired, revoked or wrong bearer token) and `AccessDeniedException` (HTTP
/// 403, "Operation is not permitted based on the supplied authorization"), as the IAM Identity
/// Center SCIM implementation developer guide lists them in every operation's "Errors" table
/// (e.g. `developerguide/serviceproviderconfig.html`, `getschema.html`). Other errors
/// (`ValidationException`, `ConflictException`, throttling) are the IdP's data or pace, not a
/// broken sync, and stay ignored like every failed call.
pub const AUTH_ERROR_CODES: &[&str] = &["UnauthorizedException", "AccessDeniedException"];

/// The AWS Health event type announcing that the SCIM bearer token expires (re:Post knowledge
/// center, "iam-identity-center-scim-expire-emails").
pub const TOKEN_EXPIRY_EVENT_TYPE: &str = "AWS_IAMIDENTITYCENTER_SCIM_BEARER_TOKEN_EXPIRY_NOTIFICATION";

/// A signal about SCIM provisioning's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "signal", rename_all = "snake_case")]
pub enum ScimSignal {
    /// AWS Health: the SCIM bearer token expires.
    TokenExpiry {
        /// When it expires (Unix seconds), when the event says (see `crate::event` for the field).
        expires: Option<u64>,
        /// Where the date was read (the notice's text, or the event's `startTime`).
        #[serde(skip_serializing_if = "Option::is_none")]
        expiry_from: Option<String>,
        /// The Health event's ARN (the same notification may be delivered again).
        event_arn: String,
        /// The Health event's status code (`upcoming`, `open`, `closed`), when given.
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
    },
    /// A SCIM call failed with an authentication or authorisation error.
    CallFailed {
        /// CloudTrail `errorCode`, one of [`AUTH_ERROR_CODES`].
        error_code: String,
    },
    /// The reconciler's periodic check that SCIM still writes (no event behind it).
    Silence,
}

/// Times recorded in the state table for one series (SCIM failures, one group's removals): the
/// most recent ones, as the write that recorded this event left them (appends are serialised by
/// conditional writes, so each event sees its own count), and the time of the event whose
/// finding was last reported.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScimWindow {
    /// Unix seconds, in the order recorded (bounded; see `crate::safety`).
    pub times: Vec<u64>,
    /// The time of the event of the last finding on this series (one finding per window).
    pub reported_at: Option<u64>,
}

impl ScimWindow {
    /// How many recorded times fall within `window` seconds up to `now` (inclusive).
    pub fn count_within(&self, now: u64, window: u64) -> usize {
        self.times
            .iter()
            .filter(|t| **t <= now && t.saturating_add(window) > now)
            .count()
    }

    /// Whether a finding was reported within `window` seconds up to `now`.
    pub fn reported_within(&self, now: u64, window: u64) -> bool {
        self.reported_at
            .is_some_and(|t| t <= now && t.saturating_add(window) > now)
    }
}

/// What is known of a group whose members a SCIM sync removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRemovals {
    /// The group's display name, when it could be read.
    pub group_name: Option<String>,
    /// Whether the group is protected (`[groups] protected`, by display name).
    pub protected: bool,
    /// Its members now, read live after the removal.
    pub members_now: usize,
    /// The removals recorded for this group (one time per removed member).
    pub removals: ScimWindow,
}

/// What the SCIM health rules may look at: gathered by the guard or the reconciler from their
/// clock and the state table (offline checks know none of it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScimFacts {
    /// Now, in Unix seconds, by the guard's or the reconciler's clock.
    pub now: Option<u64>,
    /// The SCIM authentication failures recorded, this one included.
    pub failures: super::Fact<ScimWindow>,
    /// When the last successful SCIM write was recorded (`None`: never).
    pub last_write: super::Fact<Option<u64>>,
    /// The group a `PatchGroup` removed members from.
    pub group: super::Fact<GroupRemovals>,
}

/// Whole days from `now` until `until` (negative once past), rounded down.
pub fn days_between(now: u64, until: u64) -> i64 {
    let (now, until) = (i128::from(now), i128::from(until));
    i64::try_from((until - now).div_euclid(86_400)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_only_recent_times() {
        let w = ScimWindow {
            times: vec![100, 500, 900, 1000],
            reported_at: Some(600),
        };
        assert_eq!(w.count_within(1000, 600), 3);
        assert_eq!(w.count_within(1000, 10_000), 4);
        assert!(w.reported_within(1100, 600));
        assert!(!w.reported_within(1200, 600));
    }

    #[test]
    fn days_round_down_and_go_negative() {
        assert_eq!(days_between(0, 86_400 * 3 - 1), 2);
        assert_eq!(days_between(0, 86_400 * 3), 3);
        assert_eq!(days_between(86_400, 0), -1);
    }
}
