//! The inventory: the whole instance read through the ports, with the API's limits in mind.
//!
//! Reads run with bounded concurrency (the adapters pace every request with the token bucket).
//! Every list is read whole or fails; a failed read never reads as "absent": the account,
//! permission set or principal it concerned is recorded as [`Unknown`], and the planner plans no
//! action that touches it.
//!
//! **The call pattern.** Listing every assignment costs either one ListAccountAssignments per
//! (account, provisioned permission set) pair, or one ListAccountAssignmentsForPrincipal per
//! principal (group or user), each a page per 100 rows. The inventory first reads where each
//! permission set is provisioned (one call per set, needed anyway) and the directory's groups and
//! users (needed for names), then picks the cheaper pattern ([`Strategy::Auto`]): by principal
//! when an organisation has fewer principals than provisioned pairs (the usual case: tens of
//! groups against thousands of pairs), by account otherwise (a directory with many users).
//!
//! **Protected groups.** With [`Options::memberships`], the members of every protected group are
//! read (one ListGroupMemberships listing each): the groups the policy's `[groups] protected`
//! names, and every group assigned a privileged permission set. Who holds privileged access is
//! reported for recertification; a failed read is [`Unknown::GroupMembers`], which keeps no
//! assignment from being planned.
//!
//! **Access paths outside permission sets** (issue #19, with [`Options::access_paths`]): account
//! access manager's applications (ListApplications) and every entitlement of each
//! (ListEntitlements, all pages), and the instance's Identity Center applications
//! (ListApplications) with the `sso:account:access` scope (GetApplicationAccessScope, one per
//! application). Every request is paced like sso-admin's. A failed listing is unknown, never
//! "none": account access manager not visible (not configured, AccessDenied) is
//! [`Unknown::Instance`], an application whose entitlements could not be listed is
//! [`Unknown::AccessApplication`], an application whose scope could not be read is
//! [`Unknown::Application`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::domain::{
    AbacAttribute, AccessApplicationArn, AccountId, ApplicationArn, Assignment, Entitlement, Fact, IdentityStoreId,
    InstanceArn, OperationStatus, PermissionSetArn, PermissionSetFacts, PrincipalType,
};
use crate::ports::RemoteError;

mod read;

pub use read::take;

/// How to list the assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// The cheaper of the two, decided after the provisioning and directory reads.
    #[default]
    Auto,
    /// ListAccountAssignmentsForPrincipal per group and user.
    ByPrincipal,
    /// ListAccountAssignments per (account, provisioned permission set).
    ByAccount,
}

/// What to read.
#[derive(Debug, Clone)]
pub struct Options {
    /// Concurrent reads at most.
    pub concurrency: usize,
    /// Read each permission set's whole definition (policies, boundary) and the ABAC
    /// configuration, for the rules; otherwise only names.
    pub definitions: bool,
    /// Read the organisation's accounts (names, and the `all` target).
    pub organization: bool,
    /// OU or root ids whose accounts (recursively) the desired file targets.
    pub organizational_units: BTreeSet<String>,
    /// How to list assignments.
    pub strategy: Strategy,
    /// Read each permission set's owner tag (the policy's `owners.tag_key`), for the export.
    pub owner_tags: bool,
    /// Read the members of every protected group: those the policy's `[groups] protected`
    /// names, and every group assigned a privileged permission set.
    pub memberships: bool,
    /// Read the members of every group that holds an assignment, for per-assignment usage
    /// (issue #17: a GROUP assignment's use is its members'); protected groups' reads are reused.
    pub assigned_members: bool,
    /// Read account access manager's entitlements and the applications holding the
    /// `sso:account:access` scope (issue #19).
    pub access_paths: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            concurrency: crate::pace::DEFAULT_CONCURRENCY,
            definitions: true,
            organization: true,
            organizational_units: BTreeSet::new(),
            strategy: Strategy::Auto,
            owner_tags: false,
            memberships: true,
            assigned_members: false,
            access_paths: true,
        }
    }
}

/// Where permission sets are not provisioned at their latest version, and the failed operations
/// Identity Center still lists (issue #16, `provisioning-current`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisioningState {
    /// Per assigned set: the accounts holding an older version where the set is assigned;
    /// unknown when the listing failed. Sets without assignments are not read.
    pub stale: BTreeMap<PermissionSetArn, Fact<Vec<AccountId>>>,
    /// The failed assignment creations and deletions and provisionings, newest first, at most
    /// [`FAILED_DESCRIBED`] of them described; unknown when a listing failed.
    pub failed: Fact<Vec<OperationStatus>>,
    /// Failed operations listed but not described (beyond [`FAILED_DESCRIBED`]).
    pub failed_not_described: usize,
}

/// How many failed operations one inventory describes at most, newest first (one request each).
pub const FAILED_DESCRIBED: usize = 50;

/// Something the inventory could not read: no destructive action is planned for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "scope", rename_all = "kebab-case")]
pub enum Unknown {
    /// An account's assignments (or part of them).
    Account {
        /// The account.
        account_id: String,
        /// The failed read.
        reason: String,
    },
    /// A permission set's definition or provisioning.
    PermissionSet {
        /// The permission set.
        permission_set_arn: String,
        /// The failed read.
        reason: String,
    },
    /// A principal's assignments.
    Principal {
        /// GROUP or USER.
        principal_type: String,
        /// The principal.
        principal_id: String,
        /// The failed read.
        reason: String,
    },
    /// A protected group's members (no assignment depends on it).
    GroupMembers {
        /// The group.
        group_id: String,
        /// The failed read.
        reason: String,
    },
    /// An account access manager application's entitlements (issue #19): nothing is planned
    /// for its entitlements, neither a deletion nor a creation.
    AccessApplication {
        /// The application.
        application_arn: String,
        /// The failed read.
        reason: String,
    },
    /// An Identity Center application's `sso:account:access` scope (issue #19).
    Application {
        /// The application.
        application_arn: String,
        /// The failed read.
        reason: String,
    },
    /// Something instance-wide (the ABAC configuration, the organisation, account access
    /// manager's applications).
    Instance {
        /// What.
        what: String,
        /// The failed read.
        reason: String,
    },
}

/// One permission set as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionSetEntry {
    /// Its name, when read.
    pub name: Option<String>,
    /// Its definition, when read (only with [`Options::definitions`]).
    pub facts: Option<PermissionSetFacts>,
    /// The accounts it is provisioned to, when read (not read by an export that lists by
    /// principal anyway).
    pub provisioned: Option<Vec<AccountId>>,
    /// The value of its owner tag, when read ([`Options::owner_tags`]) and set.
    pub owner_tag: Option<String>,
}

/// A protected group, and why it is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectedGroup {
    /// Its display name.
    pub name: String,
    /// Why it is protected: its name matches `[groups] protected`, or the privileged
    /// permission sets it is assigned (sorted).
    pub reasons: Vec<String>,
    /// Its members' user ids, as listed; `None` when the read failed (see [`Unknown::GroupMembers`]).
    pub members: Option<Vec<String>>,
}

/// An Identity Center application holding the `sso:account:access` scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopedApplication {
    /// Its name, when it has one.
    pub name: Option<String>,
    /// The scope's authorised targets (empty: not restricted).
    pub authorized_targets: Vec<String>,
}

/// The access paths outside permission sets, as read (issue #19).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPaths {
    /// Account access manager's applications: unknown when they could not be listed (or were
    /// not read); each `true` when its entitlements were listed whole.
    pub applications: Fact<BTreeMap<AccessApplicationArn, bool>>,
    /// Every entitlement of the applications listed whole.
    pub entitlements: BTreeSet<Entitlement>,
    /// Whether the instance's applications were listed (and each one's scope read, or made
    /// [`Unknown::Application`]).
    pub applications_listed: bool,
    /// The instance's applications holding `sso:account:access`.
    pub scoped: BTreeMap<ApplicationArn, ScopedApplication>,
}

impl AccessPaths {
    /// Whether an account access manager application's entitlements are known whole.
    pub fn entitlements_known(&self, application: &AccessApplicationArn) -> bool {
        matches!(&self.applications, Fact::Known(apps) if apps.get(application) == Some(&true))
    }
}

/// The instance as read.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// The instance.
    pub instance: InstanceArn,
    /// Its identity store.
    pub identity_store: IdentityStoreId,
    /// Every permission set.
    pub permission_sets: BTreeMap<PermissionSetArn, PermissionSetEntry>,
    /// Group id → display name.
    pub groups: BTreeMap<String, String>,
    /// User id → user name.
    pub users: BTreeMap<String, String>,
    /// The organisation's accounts (id → name); `None` when not read or unreadable.
    pub accounts: Option<BTreeMap<AccountId, String>>,
    /// Accounts under each OU asked for: `None` when its read failed; absent when it does not exist.
    pub ou_accounts: BTreeMap<String, Option<BTreeSet<AccountId>>>,
    /// Every assignment read.
    pub assignments: BTreeSet<Assignment>,
    /// The protected groups by id, with their members (with [`Options::memberships`]).
    pub protected_groups: BTreeMap<String, ProtectedGroup>,
    /// The ABAC configuration (with [`Options::definitions`]).
    pub abac: Fact<Option<Vec<AbacAttribute>>>,
    /// What could not be read.
    pub unknown: BTreeSet<Unknown>,
    /// The pattern used to list assignments.
    pub strategy: Strategy,
    /// Where sets are behind and which operations failed (with the definitions, unless
    /// `provisioning-current` is off).
    pub provisioning: Option<ProvisioningState>,
    /// The members (user ids) of every group holding an assignment (with
    /// [`Options::assigned_members`]); `None` for a group whose read failed.
    pub group_members: BTreeMap<String, Option<Vec<String>>>,
    /// Entitlements and applications with account access (with [`Options::access_paths`]).
    pub access: AccessPaths,
}

impl Inventory {
    /// Whether an assignment's account, permission set or principal could not be read whole.
    pub fn is_unknown(&self, key: &Assignment) -> bool {
        let ptype = key.principal_type;
        self.unknown.iter().any(|u| match u {
            Unknown::Account { account_id, .. } => account_id == key.account_id.as_str(),
            Unknown::PermissionSet { permission_set_arn, .. } => permission_set_arn == key.permission_set_arn.as_str(),
            Unknown::Principal {
                principal_type,
                principal_id,
                ..
            } => principal_type == ptype.as_str() && *principal_id == key.principal_id,
            Unknown::GroupMembers { .. }
            | Unknown::Instance { .. }
            | Unknown::AccessApplication { .. }
            | Unknown::Application { .. } => false,
        })
    }

    /// A permission set's name, if read.
    pub fn permission_set_name(&self, arn: &PermissionSetArn) -> Option<&str> {
        self.permission_sets.get(arn).and_then(|p| p.name.as_deref())
    }

    /// A principal's name, if read.
    pub fn principal_name(&self, principal_type: PrincipalType, id: &str) -> Option<&str> {
        match principal_type {
            PrincipalType::Group => self.groups.get(id),
            PrincipalType::User => self.users.get(id),
        }
        .map(String::as_str)
    }
}

/// Why the inventory could not be taken at all.
#[derive(Debug, Clone, thiserror::Error)]
#[error("inventory failed: {0}")]
pub struct InventoryError(pub RemoteError);
