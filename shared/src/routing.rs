//! Which guard function receives which CloudTrail events: the one definition of the split.
//!
//! Every guard function runs the same guard (`idc_guard::lambda::run`), so any of them could judge any
//! event; the split only decides which EventBridge rule (and so which function, with its own
//! concurrency and alarms) an event goes to. `template.yaml`'s rule patterns and the
//! management-account forwarder's pattern must route exactly as [`route`] says; the tests in
//! `tests/it/template.rs` check the patterns against it, statically and through an EventBridge
//! bus in the emulator, with every fixture in `events/`.
//!
//! Only handled event names are routed ([`crate::event::handled_event_names`]): reads,
//! unhandled names and failed calls (`errorCode`) match no rule, except the SCIM health
//! signals (issue #16): SCIM calls refused for their token ([`route_failure`]) and AWS Health's
//! SCIM token expiry notice ([`route_health`]), which a guard's second rule delivers
//! ([`SIGNAL_FUNCTIONS`]).
//!
//! Uses of access (issue #17: `GetRoleCredentials`, `Federate`) go to none of the guards but to
//! [`USAGE_RECORDER`], through a rule of their own ([`route_usage`]): they are read-only events,
//! which reach a rule only when its State is [`USAGE_RULE_STATE`].
//!
//! Issue #19: the patterns pin `source` only where a document confirms it ([`pinned_source`]):
//! SCIM's CloudTrail events are matched on `detail.eventSource` alone, whatever their `source`
//! turns out to be (docs/reference/access-paths.md §5). The identity store's own notifications
//! (`source` `aws.identitystore`, any detail-type but CloudTrail's) go to identity-guard through
//! a rule of their own ([`route_notification`]).

use crate::domain::EventSource;
use crate::domain::scim::AUTH_ERROR_CODES;
use crate::event::notification::{CLOUDTRAIL_DETAIL_TYPES, NOTIFICATION_SOURCE};
use crate::event::usage::{SERVICE_EVENT_DETAIL_TYPE, USAGE_EVENT_NAMES, USAGE_EVENT_SOURCES};
use crate::event::{API_CALL_DETAIL_TYPE, HEALTH_EVENT_TYPES, handled_event_names};

/// The guard function for account assignments.
pub const ASSIGNMENT_GUARD: &str = "assignment-guard";
/// The guard function for permission sets and the instance's ABAC configuration.
pub const PERMISSION_SET_GUARD: &str = "permission-set-guard";
/// The guard function for users, groups and memberships.
pub const IDENTITY_GUARD: &str = "identity-guard";

/// The guard functions, in the order of the template.
pub const GUARD_FUNCTIONS: &[&str] = &[ASSIGNMENT_GUARD, PERMISSION_SET_GUARD, IDENTITY_GUARD];

/// Every source idc-guard handles events from.
pub const SOURCES: &[EventSource] = &[
    EventSource::SsoAdmin,
    EventSource::IdentityStore,
    EventSource::SsoDirectory,
    EventSource::Scim,
    EventSource::AccountAccess,
];

/// The sso-admin event names assignment-guard receives; every other handled sso-admin name goes
/// to permission-set-guard.
pub const ASSIGNMENT_EVENTS: &[&str] = &[
    "CreateAccountAssignment",
    "DeleteAccountAssignment",
    // Issue #19: a customer managed application's account access is access to accounts.
    "PutApplicationAccessScope",
    "DeleteApplicationAccessScope",
];

/// The guard function that receives a successful call of `event_name` from `source`, or `None`
/// when idc-guard does not handle that name.
pub fn route(source: &EventSource, event_name: &str) -> Option<&'static str> {
    if !handled_event_names(source).contains(&event_name) {
        return None;
    }
    Some(match source {
        EventSource::SsoAdmin if ASSIGNMENT_EVENTS.contains(&event_name) => ASSIGNMENT_GUARD,
        EventSource::SsoAdmin => PERMISSION_SET_GUARD,
        EventSource::IdentityStore | EventSource::SsoDirectory | EventSource::Scim => IDENTITY_GUARD,
        // Issue #19: an entitlement is a grant of an account to a principal, like an assignment;
        // assignment-guard judges both, with the same principal-type answer.
        EventSource::AccountAccess => ASSIGNMENT_GUARD,
    })
}

/// The EventBridge `source` the patterns pin for the CloudTrail events of `source`, or `None`
/// where no document confirms it and the patterns match `detail.eventSource` alone: SCIM's
/// (`aws.identitystore-scim` is only inferred from the `aws.<prefix>` convention; a public example
/// uses `aws.cloudtrail`; docs/reference/access-paths.md §5). `detail.eventSource` is what
/// CloudTrail writes and is documented for SCIM (`identitystore-scim.amazonaws.com`).
pub fn pinned_source(source: &EventSource) -> Option<&'static str> {
    match source {
        // Account access manager's is as unconfirmed (access-paths.md §1.8).
        EventSource::Scim | EventSource::AccountAccess => None,
        other => Some(other.eventbridge_source()),
    }
}

/// The `source` values SCIM's CloudTrail events might carry: the convention's, the identity
/// store's, and the one a public example uses. The patterns admit any (they do not pin it); the
/// tests put each on the emulator's bus.
pub const SCIM_SOURCE_CANDIDATES: &[&str] = &["aws.identitystore-scim", "aws.identitystore", "aws.cloudtrail"];

// Issue #19: the identity store's own notifications.
/// The guard function that receives an identity store notification (`source` `aws.identitystore`,
/// any detail-type but CloudTrail's: the decoder judges the six documented ones and logs and
/// ignores the others), or `None` for anything else. Notifications are about users and groups, so
/// identity-guard, whose rule matches `anything-but` [`CLOUDTRAIL_DETAIL_TYPES`].
pub fn route_notification(source: &str, detail_type: &str) -> Option<&'static str> {
    (source == NOTIFICATION_SOURCE && !CLOUDTRAIL_DETAIL_TYPES.contains(&detail_type)).then_some(IDENTITY_GUARD)
}

// track C
/// The failed calls a guard receives, by source: SCIM calls refused for their token, whatever
/// the operation (`scim-sync-failing`), go to identity-guard, which judges the identity store.
pub const FAILURE_ROUTES: &[(EventSource, &[&str], &str)] = &[(EventSource::Scim, AUTH_ERROR_CODES, IDENTITY_GUARD)];

/// The guard function that receives a call of `source` that failed with `error_code`, or
/// `None` (a failed call changed nothing; only these signals are judged).
pub fn route_failure(source: &EventSource, error_code: &str) -> Option<&'static str> {
    FAILURE_ROUTES
        .iter()
        .find(|(s, codes, _)| s == source && codes.contains(&error_code))
        .map(|(_, _, function)| *function)
}

/// The guard function that receives the AWS Health event of type `event_type_code`, or `None`.
/// The SCIM token's expiry notice goes to identity-guard, with the other SCIM signals.
pub fn route_health(event_type_code: &str) -> Option<&'static str> {
    HEALTH_EVENT_TYPES.contains(&event_type_code).then_some(IDENTITY_GUARD)
}

/// The guard functions that have a second rule, for the SCIM health signals (and, issue #19,
/// the identity store's own notifications: [`route_notification`]).
pub const SIGNAL_FUNCTIONS: &[&str] = &[IDENTITY_GUARD];

// Issue #17: uses of access.
/// The function that records each use: the last use per (user, permission set, account).
pub const USAGE_RECORDER: &str = "usage-recorder";

/// The EventBridge sources of the uses: `aws.sso` (`sso.amazonaws.com`) and `aws.signin`
/// (`signin.amazonaws.com`, where a third-party fixture shows `Federate`), in the order of
/// [`USAGE_EVENT_SOURCES`].
pub const USAGE_SOURCES: &[&str] = &["aws.sso", "aws.signin"];

/// The detail-types a use may arrive with: CloudTrail's service events (`GetRoleCredentials`
/// and `Federate` are recorded with eventType `AwsServiceEvent`) and, should AWS record either as
/// an API call, "AWS API Call via CloudTrail".
pub const USAGE_DETAIL_TYPES: &[&str] = &[SERVICE_EVENT_DETAIL_TYPE, API_CALL_DETAIL_TYPE];

/// The State the usage rules need: a rule that is merely `ENABLED` never sees read-only
/// management events such as `GetRoleCredentials` (EventBridge user guide, "Receiving read-only
/// management events from AWS services",
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html>).
pub const USAGE_RULE_STATE: &str = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

/// The function that receives a successful record (no `errorCode`) of `event_name` from
/// `event_source` (CloudTrail's `eventSource`, e.g. `sso.amazonaws.com`) delivered with
/// `detail_type`, when it is a use: [`USAGE_RECORDER`]; otherwise `None`.
pub fn route_usage(detail_type: &str, event_source: &str, event_name: &str) -> Option<&'static str> {
    let is_use = USAGE_DETAIL_TYPES.contains(&detail_type)
        && USAGE_EVENT_SOURCES.contains(&event_source)
        && USAGE_EVENT_NAMES.contains(&event_name);
    is_use.then_some(USAGE_RECORDER)
}

/// The EventBridge source of a use's `eventSource` (`signin.amazonaws.com` → `aws.signin`).
pub fn usage_source(event_source: &str) -> Option<&'static str> {
    USAGE_EVENT_SOURCES
        .iter()
        .position(|s| *s == event_source)
        .map(|i| USAGE_SOURCES[i])
}

/// Every (source, event name) pair routed to `function`, in [`SOURCES`] order.
pub fn routes_of(function: &str) -> Vec<(EventSource, &'static str)> {
    SOURCES
        .iter()
        .flat_map(|source| {
            handled_event_names(source)
                .iter()
                .filter(|name| route(source, name) == Some(function))
                .map(|name| (source.clone(), *name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_handled_event_goes_to_exactly_one_guard_and_every_guard_gets_some() {
        let mut routed = 0;
        for source in SOURCES {
            for name in handled_event_names(source) {
                let function = route(source, name);
                assert!(function.is_some_and(|f| GUARD_FUNCTIONS.contains(&f)), "{name}");
                routed += 1;
            }
        }
        let per_function: usize = GUARD_FUNCTIONS.iter().map(|f| routes_of(f).len()).sum();
        assert_eq!(per_function, routed);
        assert!(GUARD_FUNCTIONS.iter().all(|f| !routes_of(f).is_empty()));
        assert_eq!(route(&EventSource::SsoAdmin, "ListPermissionSets"), None);
        assert_eq!(
            route(&EventSource::SsoAdmin, "DeleteAccountAssignment"),
            Some(ASSIGNMENT_GUARD)
        );
        assert_eq!(route(&EventSource::SsoAdmin, "TagResource"), Some(PERMISSION_SET_GUARD));
        assert_eq!(route(&EventSource::Scim, "PatchGroup"), Some(IDENTITY_GUARD));
    }

    #[test]
    fn uses_go_to_the_usage_recorder_and_nothing_else_does() {
        for detail_type in USAGE_DETAIL_TYPES {
            for source in USAGE_EVENT_SOURCES {
                for name in USAGE_EVENT_NAMES {
                    assert_eq!(route_usage(detail_type, source, name), Some(USAGE_RECORDER));
                }
            }
        }
        assert_eq!(
            route_usage(SERVICE_EVENT_DETAIL_TYPE, "sso.amazonaws.com", "ListAccountRoles"),
            None
        );
        assert_eq!(
            route_usage(SERVICE_EVENT_DETAIL_TYPE, "sts.amazonaws.com", "GetRoleCredentials"),
            None
        );
        assert_eq!(
            route_usage("AWS Health Event", "sso.amazonaws.com", "GetRoleCredentials"),
            None
        );
        assert_eq!(usage_source("signin.amazonaws.com"), Some("aws.signin"));
        assert_eq!(usage_source("sso.amazonaws.com"), Some("aws.sso"));
        assert_eq!(usage_source("identitystore.amazonaws.com"), None);
        assert_eq!(USAGE_SOURCES.len(), USAGE_EVENT_SOURCES.len());
        // No use is a change a guard handles.
        for source in SOURCES {
            for name in USAGE_EVENT_NAMES {
                assert_eq!(route(source, name), None);
            }
        }
        assert!(!GUARD_FUNCTIONS.contains(&USAGE_RECORDER));
    }

    #[test]
    fn only_scim_auth_failures_and_the_token_notice_are_routed_as_signals() {
        assert_eq!(
            route_failure(&EventSource::Scim, "UnauthorizedException"),
            Some(IDENTITY_GUARD)
        );
        assert_eq!(
            route_failure(&EventSource::Scim, "AccessDeniedException"),
            Some(IDENTITY_GUARD)
        );
        assert_eq!(route_failure(&EventSource::Scim, "ValidationException"), None);
        assert_eq!(
            route_failure(&EventSource::IdentityStore, "AccessDeniedException"),
            None
        );
        assert_eq!(
            route_health("AWS_IAMIDENTITYCENTER_SCIM_BEARER_TOKEN_EXPIRY_NOTIFICATION"),
            Some(IDENTITY_GUARD)
        );
        assert_eq!(route_health("AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED"), None);
        for (_, _, function) in FAILURE_ROUTES {
            assert!(SIGNAL_FUNCTIONS.contains(function));
        }
    }

    #[test]
    fn notifications_go_to_identity_guard_and_cloudtrail_deliveries_of_their_source_do_not() {
        for detail_type in crate::event::notification::NOTIFICATION_DETAIL_TYPES {
            assert_eq!(
                route_notification("aws.identitystore", detail_type),
                Some(IDENTITY_GUARD)
            );
        }
        // A type AWS may add later reaches the guard too (which logs and ignores it).
        assert_eq!(
            route_notification("aws.identitystore", "Group Membership Created"),
            Some(IDENTITY_GUARD)
        );
        assert_eq!(route_notification("aws.identitystore", API_CALL_DETAIL_TYPE), None);
        assert_eq!(route_notification("aws.identitystore", SERVICE_EVENT_DETAIL_TYPE), None);
        assert_eq!(route_notification("aws.sso", "User Created"), None);
        // Only SCIM's and account access manager's sources are left unpinned.
        let unpinned = [EventSource::Scim, EventSource::AccountAccess];
        for source in &unpinned {
            assert_eq!(pinned_source(source), None);
        }
        for source in SOURCES.iter().filter(|s| !unpinned.contains(s)) {
            assert_eq!(pinned_source(source), Some(source.eventbridge_source()));
        }
    }
}
