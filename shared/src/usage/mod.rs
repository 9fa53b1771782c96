//! Last use per assignment (issue #17): the uses CloudTrail shows, joined onto the assignments
//! that could have granted them.
//!
//! A use names the user, the permission set **by name** and the account ([`crate::domain::usage`]).
//! An index keeps the last use per (user, set name, account) ([`UsageIndex`]); the join
//! ([`per_assignment`]) reads each assignment's set name from the inventory and looks up its
//! user (USER) or each of its members (GROUP). Permission-set names cannot change (UpdatePermissionSet
//! takes no name: AWS SSO Admin API reference, "UpdatePermissionSet"), so a set "renamed" by an
//! infrastructure-as-code tool is a new set with a new ARN: its predecessor's uses, under the old
//! name, are not credited to it, and the uses of a name still in use are credited to the set that
//! bears it. Whether an assignment's window was observed whole is the [`Observation`]: when usage
//! recording began, and when the reconciler first saw each assignment (an assignment made last
//! week is not dormant for want of use in the last 90 days).

pub mod record;

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::usage::DAY;
use crate::domain::{Assignment, AssignmentUsage, AssignmentUse, Dormancy, Fact, LastUse, PrincipalType, Use, UseKey};
use crate::inventory::Inventory;
use crate::policy::Policy;
use crate::ports::{RemoteError, UsageStore};
use crate::rules::dormant_access::{self, DormantAccess};

/// How long a last use is kept: beyond the longest dormancy window a policy may set
/// ([`dormant_access::MAX_DAYS`]), so the table forgets nothing a rule still needs.
pub const RETENTION_DAYS: u64 = 400;

/// When a recorded last use may be forgotten (the table's TTL attribute).
pub fn expires_at(at: u64) -> u64 {
    at.saturating_add(RETENTION_DAYS * DAY)
}

/// The last use per (user, permission set name, account).
#[derive(Debug, Clone, Default)]
pub struct UsageIndex {
    last: BTreeMap<UseKey, LastUse>,
    earliest: Option<u64>,
    latest: Option<u64>,
}

impl UsageIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a use; `true` when it moved its key's last use forward (an older or duplicate record
    /// changes nothing).
    pub fn add(&mut self, u: Use) -> bool {
        self.add_last(LastUse::from(u))
    }

    /// Adds a last use (as recorded); `true` when it moved its key's last use forward.
    pub fn add_last(&mut self, l: LastUse) -> bool {
        self.earliest = Some(self.earliest.map_or(l.at, |e| e.min(l.at)));
        self.latest = Some(self.latest.map_or(l.at, |e| e.max(l.at)));
        match self.last.get_mut(&l.key) {
            Some(known) if known.at >= l.at => false,
            Some(known) => {
                *known = l;
                true
            }
            None => {
                self.last.insert(l.key.clone(), l);
                true
            }
        }
    }

    /// How many (user, set, account) keys it holds.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }

    /// The last uses, by key.
    pub fn iter(&self) -> impl Iterator<Item = &LastUse> {
        self.last.values()
    }

    /// The last use of one key.
    pub fn get(&self, key: &UseKey) -> Option<&LastUse> {
        self.last.get(key)
    }

    /// The earliest time of any use added.
    pub fn earliest(&self) -> Option<u64> {
        self.earliest
    }

    /// The latest time of any use added.
    pub fn latest(&self) -> Option<u64> {
        self.latest
    }
}

/// An assignment's key in the usage state (first sightings): account, set, principal.
pub fn assignment_key(a: &Assignment) -> String {
    format!(
        "{}|{}|{}|{}",
        a.account_id,
        a.permission_set_arn,
        a.principal_type.as_str(),
        a.principal_id
    )
}

/// Since when uses could have been seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// When usage recording began (the recorder's first start; offline: the logs' start).
    pub since: u64,
    /// When each assignment was first seen, by [`assignment_key`] (the reconciler notes them;
    /// offline: the creations the logs show).
    pub first_seen: BTreeMap<String, u64>,
    /// Whether sightings are tracked: then an assignment not noted yet is new, first seen now
    /// (the reconciler); otherwise it existed since `since` unless `first_seen` says otherwise
    /// (offline, over logs that show creations).
    pub tracked: bool,
}

impl Observation {
    /// Since when `a`'s uses could have been seen as of `now`: the later of the recording's
    /// start and the assignment's first sighting.
    pub fn of(&self, a: &Assignment, now: u64) -> u64 {
        match self.first_seen.get(&assignment_key(a)) {
            Some(seen) => self.since.max(*seen),
            None if self.tracked => now,
            None => self.since,
        }
    }
}

/// One assignment with its use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRow {
    /// The assignment.
    pub assignment: Assignment,
    /// The principal's name, when read.
    pub principal_name: Option<String>,
    /// The permission set's name, when read.
    pub permission_set_name: Option<String>,
    /// The account's name, when read.
    pub account_name: Option<String>,
    /// Its use; unknown when the set's name or a group's members could not be read.
    pub usage: Fact<AssignmentUsage>,
    /// The dormancy window that applies to it (the rule's, shorter for privileged sets).
    pub window_days: u32,
    /// Its dormancy over that window (`None`: usage unknown).
    pub dormancy: Option<Dormancy>,
}

/// The use of one assignment: its user's (USER), or its members' (GROUP).
pub fn assignment_usage(
    inv: &Inventory,
    index: &UsageIndex,
    obs: &Observation,
    a: &Assignment,
    now: u64,
) -> Fact<AssignmentUsage> {
    let Some(set) = inv.permission_set_name(&a.permission_set_arn) else {
        return Fact::Unknown;
    };
    let single;
    let users: &[String] = match a.principal_type {
        PrincipalType::User => {
            single = [a.principal_id.clone()];
            &single
        }
        PrincipalType::Group => match inv.group_members.get(&a.principal_id) {
            Some(Some(members)) => members,
            _ => return Fact::Unknown,
        },
    };
    let mut last: Option<&LastUse> = None;
    let mut used = BTreeSet::new();
    for user in users {
        let key = UseKey {
            user_id: user.clone(),
            permission_set: set.to_owned(),
            account: a.account_id.clone(),
        };
        if let Some(l) = index.get(&key) {
            used.insert(user.as_str());
            if last.is_none_or(|best| l.at > best.at) {
                last = Some(l);
            }
        }
    }
    Fact::Known(AssignmentUsage {
        last: last.map(|l| AssignmentUse {
            at: l.at,
            user_id: l.key.user_id.clone(),
            user_name: inv.users.get(&l.key.user_id).cloned(),
            channel: l.channel,
        }),
        users: used.len(),
        observed_since: obs.of(a, now),
    })
}

/// The dormancy window of a permission set under the policy's `dormant-access` settings (the
/// defaults when the policy has none).
pub fn window_days(policy: &Policy, permission_set_name: Option<&str>) -> u32 {
    let settings = policy
        .rules
        .settings::<DormantAccess>()
        .cloned()
        .unwrap_or_else(dormant_access::Settings::baseline);
    let privileged = permission_set_name.is_some_and(|n| policy.is_privileged(n));
    settings.window(privileged)
}

/// Every assignment of the inventory with its use and dormancy as of `now`.
pub fn per_assignment(
    policy: &Policy,
    inv: &Inventory,
    index: &UsageIndex,
    obs: &Observation,
    now: u64,
) -> Vec<AssignmentRow> {
    inv.assignments
        .iter()
        .map(|a| {
            let name = inv.permission_set_name(&a.permission_set_arn);
            let window = window_days(policy, name);
            let usage = assignment_usage(inv, index, obs, a, now);
            let dormancy = usage.known().map(|u| u.dormancy(window, now));
            AssignmentRow {
                assignment: a.clone(),
                principal_name: inv.principal_name(a.principal_type, &a.principal_id).map(str::to_owned),
                permission_set_name: name.map(str::to_owned),
                account_name: inv
                    .accounts
                    .as_ref()
                    .and_then(|accounts| accounts.get(&a.account_id).cloned()),
                usage,
                window_days: window,
                dormancy,
            }
        })
        .collect()
}

/// An assignment's last use and dormancy, as reports show them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct UsageColumns {
    /// When it was last used (RFC 3339; `None`: not since usage was observed).
    pub last_use: Option<String>,
    /// By whom (the user's name, else id).
    pub last_user: Option<String>,
    /// How many users used it.
    pub users: usize,
    /// `active`, `dormant` or `not-yet-observed`.
    pub dormancy: String,
    /// The window it was judged over.
    pub window_days: u32,
}

impl UsageColumns {
    /// The columns of an assignment's use, judged over `window_days` as of `now`.
    pub fn of(usage: &AssignmentUsage, window_days: u32, now: u64) -> Self {
        Self {
            last_use: usage.last.as_ref().map(|l| crate::domain::time::utc(l.at)),
            last_user: usage.last.as_ref().map(|l| l.who().to_owned()),
            users: usage.users,
            dormancy: usage.dormancy(window_days, now).to_string(),
            window_days,
        }
    }
}

/// Every assignment's columns, when usage data was read (empty otherwise).
pub fn columns(policy: &Policy, inv: &Inventory, usage: &UsageInput, now: u64) -> BTreeMap<Assignment, UsageColumns> {
    let UsageInput::Loaded(u) = usage else {
        return BTreeMap::new();
    };
    per_assignment(policy, inv, &u.index, &u.observation, now)
        .into_iter()
        .filter_map(|row| match &row.usage {
            Fact::Known(usage) => Some((row.assignment.clone(), UsageColumns::of(usage, row.window_days, now))),
            Fact::Unknown => None,
        })
        .collect()
}

/// The usage data a run joins: the last uses, and since when each assignment was observed.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// The last uses.
    pub index: UsageIndex,
    /// Since when.
    pub observation: Observation,
}

/// What a reconciler run or `scan` knows of usage.
#[derive(Debug, Clone, Default)]
pub enum UsageInput {
    /// No usage data: the usage recorder never recorded (or is not deployed), or no state table.
    #[default]
    None,
    /// Read.
    Loaded(Usage),
    /// The read failed (the reason): usage unknown, never "unused".
    Failed(String),
}

impl UsageInput {
    /// The facts an assignment's rules see: `None` never (the reconciler always judges usage);
    /// unknown without data.
    pub fn fact(&self, inv: &Inventory, a: &Assignment, now: u64) -> Fact<AssignmentUsage> {
        match self {
            Self::Loaded(u) => assignment_usage(inv, &u.index, &u.observation, a, now),
            Self::None | Self::Failed(_) => Fact::Unknown,
        }
    }

    /// When recording began, when known.
    pub fn recording_since(&self) -> Option<u64> {
        match self {
            Self::Loaded(u) => Some(u.observation.since),
            Self::None | Self::Failed(_) => None,
        }
    }
}

/// Reads what the usage recorder and earlier runs recorded: when recording began, every last
/// use, every first sighting. No recording start means no usage data ([`UsageInput::None`]); a
/// failed read is [`UsageInput::Failed`].
pub async fn load<U: UsageStore>(store: &U) -> UsageInput {
    let since = match store.recording_since().await {
        Ok(Some(since)) => since,
        Ok(None) => return UsageInput::None,
        Err(e) => return UsageInput::Failed(e.to_string()),
    };
    let read = async {
        let (uses, first_seen) = tokio::try_join!(store.last_uses(), store.first_seen())?;
        Ok::<_, RemoteError>((uses, first_seen))
    };
    match read.await {
        Ok((uses, first_seen)) => {
            let mut index = UsageIndex::new();
            for u in uses {
                index.add_last(u);
            }
            UsageInput::Loaded(Usage {
                index,
                observation: Observation {
                    since,
                    first_seen,
                    tracked: true,
                },
            })
        }
        Err(e) => UsageInput::Failed(e.to_string()),
    }
}

/// The assignments seen for the first time (to note), and the noted ones that no longer exist
/// (to forget; only when every assignment could be read, so an unread one is never forgotten).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sightings {
    /// Keys of assignments not noted before.
    pub new: Vec<String>,
    /// Keys noted before whose assignment is gone.
    pub gone: Vec<String>,
}

impl Sightings {
    /// What the inventory shows against what was noted.
    pub fn of(inv: &Inventory, noted: &BTreeMap<String, u64>) -> Self {
        let live: BTreeSet<String> = inv.assignments.iter().map(assignment_key).collect();
        let new = live.iter().filter(|k| !noted.contains_key(*k)).cloned().collect();
        let gone = if inv.unknown.is_empty() {
            noted.keys().filter(|k| !live.contains(*k)).cloned().collect()
        } else {
            Vec::new()
        };
        Self { new, gone }
    }

    /// Writes them.
    pub async fn write<U: UsageStore>(&self, store: &U, now: u64) -> Result<(), RemoteError> {
        if !self.new.is_empty() {
            store.note_first_seen(&self.new, now).await?;
        }
        if !self.gone.is_empty() {
            store.forget_first_seen(&self.gone).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
