//! Who used which access, and when (issue #17).
//!
//! AWS has no per-assignment "last used": IAM's last-accessed data and `RoleLastUsed` describe the
//! `AWSReservedSSO_*` role of a (permission set, account) for everyone together. Per person, the
//! only record is CloudTrail's, in the Identity Center account: `GetRoleCredentials` (the access
//! portal, `aws sso login` profiles, SDKs) and `Federate` (the console through the portal), each
//! naming the user (`onBehalfOf.userId`), the permission set **by name** (the role name the portal
//! shows) and the account. A [`Use`] is one such record; the last use per [`UseKey`] is what the
//! usage recorder keeps and what `idc-guard usage` computes; an [`AssignmentUsage`] is the join of
//! those onto one assignment, which the `dormant-access` rule judges.

use std::fmt;

use super::ids::AccountId;

/// How the credentials were taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// `GetRoleCredentials`: role credentials for the CLI, an SDK or an application.
    Credentials,
    /// `Federate`: a console session through the access portal.
    Console,
}

impl Channel {
    /// The CloudTrail event name.
    pub fn event_name(self) -> &'static str {
        match self {
            Self::Credentials => "GetRoleCredentials",
            Self::Console => "Federate",
        }
    }

    /// The channel of a CloudTrail event name.
    pub fn of_event_name(name: &str) -> Option<Self> {
        match name {
            "GetRoleCredentials" => Some(Self::Credentials),
            "Federate" => Some(Self::Console),
            _ => None,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Credentials => "credentials",
            Self::Console => "console",
        })
    }
}

/// What a use is counted under: (user, permission set name, account).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UseKey {
    /// The identity store's user id (`onBehalfOf.userId`).
    pub user_id: String,
    /// The permission set's name, as the event gives it (`serviceEventDetails.role_name`).
    pub permission_set: String,
    /// The account (`serviceEventDetails.account_id`).
    pub account: AccountId,
}

/// One use: a successful `GetRoleCredentials` or `Federate` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// Who, what, where.
    pub key: UseKey,
    /// When (the record's `eventTime`, Unix seconds).
    pub at: u64,
    /// The record's `eventID` (duplicates of one record carry the same id).
    pub event_id: String,
    /// How.
    pub channel: Channel,
    /// The identity store the user belongs to (`onBehalfOf.identityStoreArn`'s id), when given.
    pub identity_store_id: Option<String>,
}

/// The latest use of one (user, set, account) known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastUse {
    /// Who, what, where.
    pub key: UseKey,
    /// When (Unix seconds).
    pub at: u64,
    /// The `eventID` of the record that showed it.
    pub event_id: String,
    /// How.
    pub channel: Channel,
}

impl From<Use> for LastUse {
    fn from(u: Use) -> Self {
        Self {
            key: u.key,
            at: u.at,
            event_id: u.event_id,
            channel: u.channel,
        }
    }
}

/// The use of one assignment: for a USER assignment its user's, for a GROUP assignment its
/// members'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentUsage {
    /// The latest use, and by whom (`None`: no use seen since [`Self::observed_since`]).
    pub last: Option<AssignmentUse>,
    /// How many distinct users used it (for a GROUP: members; for a USER: 0 or 1).
    pub users: usize,
    /// Since when uses of this assignment could have been seen (Unix seconds): the later of when
    /// usage recording began and when the assignment was first seen. A window not yet observed
    /// whole cannot show dormancy.
    pub observed_since: u64,
}

/// The latest use of an assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentUse {
    /// When (Unix seconds).
    pub at: u64,
    /// The user's id.
    pub user_id: String,
    /// The user's name, when the directory listing gave it.
    pub user_name: Option<String>,
    /// How.
    pub channel: Channel,
}

impl AssignmentUse {
    /// The user, for people: the name when known, else the id.
    pub fn who(&self) -> &str {
        self.user_name.as_deref().unwrap_or(&self.user_id)
    }
}

/// What an assignment's use says about it over a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dormancy {
    /// Used within the window.
    Active,
    /// No use within the window, which was observed whole.
    Dormant,
    /// No use so far, but the window has not been observed whole yet (usage recorded, or the
    /// assignment seen, for less than the window): never "dormant" for lack of data.
    NotYetObserved,
}

impl Dormancy {
    /// The word reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Dormant => "dormant",
            Self::NotYetObserved => "not-yet-observed",
        }
    }
}

impl fmt::Display for Dormancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Seconds in a day.
pub const DAY: u64 = 86_400;

impl AssignmentUsage {
    /// Its dormancy over the last `window_days` as of `now` (Unix seconds).
    pub fn dormancy(&self, window_days: u32, now: u64) -> Dormancy {
        let start = now.saturating_sub(u64::from(window_days) * DAY);
        match &self.last {
            Some(last) if last.at >= start => Dormancy::Active,
            _ if self.observed_since > start => Dormancy::NotYetObserved,
            _ => Dormancy::Dormant,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(last: Option<u64>, observed_since: u64) -> AssignmentUsage {
        AssignmentUsage {
            last: last.map(|at| AssignmentUse {
                at,
                user_id: "u1".to_owned(),
                user_name: None,
                channel: Channel::Credentials,
            }),
            users: usize::from(last.is_some()),
            observed_since,
        }
    }

    #[test]
    fn dormancy_needs_a_whole_window_observed() {
        let now = 1_000 * DAY;
        // Used 10 days ago: active, however long it was observed.
        assert_eq!(usage(Some(now - 10 * DAY), 0).dormancy(90, now), Dormancy::Active);
        // Last used 100 days ago, observed for 500 days: dormant.
        assert_eq!(
            usage(Some(now - 100 * DAY), 500 * DAY).dormancy(90, now),
            Dormancy::Dormant
        );
        // Never used, observed for exactly the window: dormant; a second less: not yet.
        assert_eq!(usage(None, now - 90 * DAY).dormancy(90, now), Dormancy::Dormant);
        assert_eq!(
            usage(None, now - 90 * DAY + 1).dormancy(90, now),
            Dormancy::NotYetObserved
        );
        // A use on the window's first second still counts.
        assert_eq!(usage(Some(now - 90 * DAY), 0).dormancy(90, now), Dormancy::Active);
    }

    #[test]
    fn channels_round_trip_their_event_names() {
        for c in [Channel::Credentials, Channel::Console] {
            assert_eq!(Channel::of_event_name(c.event_name()), Some(c));
        }
        assert_eq!(Channel::of_event_name("ListAccountRoles"), None);
    }
}
