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

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use serde::Serialize;

use crate::desired::{Key, PrincipalTypeKey};
use crate::facts::{Fact, PermissionSetFacts};
use crate::ids::{AccountId, IdentityStoreId, InstanceArn, PermissionSetArn};
use crate::model::{AbacAttribute, PrincipalType};
use crate::policy::Policy;
use crate::ports::{Directory, IdentityCenter, InstanceInventory, Organization, RemoteError};

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
        }
    }
}

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
    /// Something instance-wide (the ABAC configuration, the organisation).
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
    pub assignments: BTreeSet<Key>,
    /// The protected groups by id, with their members (with [`Options::memberships`]).
    pub protected_groups: BTreeMap<String, ProtectedGroup>,
    /// The ABAC configuration (with [`Options::definitions`]).
    pub abac: Fact<Option<Vec<AbacAttribute>>>,
    /// What could not be read.
    pub unknown: BTreeSet<Unknown>,
    /// The pattern used to list assignments.
    pub strategy: Strategy,
}

impl Inventory {
    /// Whether an assignment's account, permission set or principal could not be read whole.
    pub fn is_unknown(&self, key: &Key) -> bool {
        let ptype: PrincipalType = key.principal_type.into();
        self.unknown.iter().any(|u| match u {
            Unknown::Account { account_id, .. } => account_id == key.account_id.as_str(),
            Unknown::PermissionSet { permission_set_arn, .. } => permission_set_arn == key.permission_set_arn.as_str(),
            Unknown::Principal {
                principal_type,
                principal_id,
                ..
            } => principal_type == ptype.as_str() && *principal_id == key.principal_id,
            Unknown::GroupMembers { .. } | Unknown::Instance { .. } => false,
        })
    }

    /// A permission set's name, if read.
    pub fn permission_set_name(&self, arn: &PermissionSetArn) -> Option<&str> {
        self.permission_sets.get(arn).and_then(|p| p.name.as_deref())
    }

    /// A principal's name, if read.
    pub fn principal_name(&self, principal_type: PrincipalTypeKey, id: &str) -> Option<&str> {
        match principal_type {
            PrincipalTypeKey::Group => self.groups.get(id),
            PrincipalTypeKey::User => self.users.get(id),
        }
        .map(String::as_str)
    }
}

/// Why the inventory could not be taken at all.
#[derive(Debug, Clone, thiserror::Error)]
#[error("inventory failed: {0}")]
pub struct InventoryError(pub RemoteError);

fn reason(e: &RemoteError) -> String {
    e.to_string()
}

/// Reads the instance. Fails only when the permission sets or the directory cannot be listed
/// (without them nothing can be judged); every other failed read is recorded as unknown.
/// `policy` names the privileged permission sets, the protected groups and the owner tag.
pub async fn take<C, D, O>(
    policy: &Policy,
    center: &C,
    directory: &D,
    organization: &O,
    instance: &InstanceArn,
    identity_store: &IdentityStoreId,
    options: &Options,
) -> Result<Inventory, InventoryError>
where
    C: IdentityCenter + InstanceInventory,
    D: Directory,
    O: Organization,
{
    let limit = options.concurrency.max(1);
    let mut unknown = BTreeSet::new();
    let arns = center.permission_sets(instance).await.map_err(InventoryError)?;
    let (groups, users) =
        tokio::try_join!(directory.groups(identity_store), directory.users(identity_store)).map_err(InventoryError)?;

    // Where each set is provisioned: needed by the scan (the inventory is complete) and to
    // compare the listing patterns. Export and diff skip it when the directory has no more
    // principals than there are sets: listing by principal then costs at most what these reads
    // alone would.
    let provisioning = options.definitions
        || match options.strategy {
            Strategy::ByAccount => true,
            Strategy::ByPrincipal => false,
            Strategy::Auto => groups.len() + users.len() > arns.len(),
        };
    // Each set's name or definition, and where it is provisioned.
    let per_set = futures_util::stream::iter(arns.iter().cloned())
        .map(|arn| async move {
            let definition = async {
                if options.definitions {
                    center
                        .permission_set(instance, &arn)
                        .await
                        .map(|f| f.map(|f| (f.name.known().cloned(), Some(f))))
                } else {
                    center
                        .permission_set_name(instance, &arn)
                        .await
                        .map(|n| n.map(|n| (Some(n), None)))
                }
            };
            let provisioned = async {
                if provisioning {
                    center.provisioned_accounts(instance, &arn).await.map(Some)
                } else {
                    Ok(None)
                }
            };
            let owner_tag = async {
                if options.owner_tags {
                    center
                        .permission_set_tag(instance, &arn, &policy.owners.tag_key)
                        .await
                        .map(|t| t.filter(|v| !v.trim().is_empty()))
                } else {
                    Ok(None)
                }
            };
            let (definition, provisioned, owner_tag) = tokio::join!(definition, provisioned, owner_tag);
            (arn, definition, provisioned, owner_tag)
        })
        .buffer_unordered(limit)
        .collect::<Vec<_>>()
        .await;
    let mut permission_sets = BTreeMap::new();
    for (arn, definition, provisioned, owner_tag) in per_set {
        let mut entry = PermissionSetEntry {
            name: None,
            facts: None,
            provisioned: None,
            owner_tag: None,
        };
        match definition {
            Ok(Some((name, facts))) => {
                entry.name = name;
                entry.facts = facts;
            }
            // Deleted between the list and the read: nothing left to judge or assign.
            Ok(None) => continue,
            Err(e) => {
                unknown.insert(Unknown::PermissionSet {
                    permission_set_arn: arn.to_string(),
                    reason: reason(&e),
                });
            }
        }
        match provisioned {
            Ok(accounts) => entry.provisioned = accounts,
            Err(e) => {
                unknown.insert(Unknown::PermissionSet {
                    permission_set_arn: arn.to_string(),
                    reason: reason(&e),
                });
            }
        }
        match owner_tag {
            Ok(tag) => entry.owner_tag = tag,
            Err(e) => {
                unknown.insert(Unknown::PermissionSet {
                    permission_set_arn: arn.to_string(),
                    reason: reason(&e),
                });
            }
        }
        permission_sets.insert(arn, entry);
    }

    let abac = if options.definitions {
        match center.access_control_attributes(instance).await {
            Ok(v) => Fact::Known(v),
            Err(e) => {
                unknown.insert(Unknown::Instance {
                    what: "ABAC configuration".to_owned(),
                    reason: reason(&e),
                });
                Fact::Unknown
            }
        }
    } else {
        Fact::Unknown
    };

    let accounts = if options.organization {
        match organization.accounts().await {
            Ok(list) => Some(list.into_iter().collect::<BTreeMap<_, _>>()),
            Err(e) => {
                unknown.insert(Unknown::Instance {
                    what: "organization accounts".to_owned(),
                    reason: reason(&e),
                });
                None
            }
        }
    } else {
        None
    };
    let mut ou_accounts = BTreeMap::new();
    for ou in &options.organizational_units {
        match accounts_under(organization, ou).await {
            Ok(found) => {
                ou_accounts.insert(ou.clone(), Some(found));
            }
            Err(e) if e.kind == crate::ports::FailureKind::NotFound => {}
            Err(e) => {
                unknown.insert(Unknown::Instance {
                    what: format!("accounts under {ou}"),
                    reason: reason(&e),
                });
                ou_accounts.insert(ou.clone(), None);
            }
        }
    }

    // The assignments, by the cheaper pattern.
    let pairs: Vec<(PermissionSetArn, AccountId)> = permission_sets
        .iter()
        .flat_map(|(arn, e)| {
            e.provisioned
                .iter()
                .flatten()
                .map(move |account| (arn.clone(), account.clone()))
        })
        .collect();
    let principals: Vec<(PrincipalType, String)> = groups
        .iter()
        .map(|(id, _)| (PrincipalType::Group, id.clone()))
        .chain(users.iter().map(|(id, _)| (PrincipalType::User, id.clone())))
        .collect();
    let provisioning_known = permission_sets.values().all(|e| e.provisioned.is_some());
    let strategy = match options.strategy {
        Strategy::Auto if provisioning_known && pairs.len() < principals.len() => Strategy::ByAccount,
        Strategy::Auto => Strategy::ByPrincipal,
        chosen => chosen,
    };
    let mut assignments = BTreeSet::new();
    match strategy {
        Strategy::ByAccount => {
            let read = futures_util::stream::iter(pairs)
                .map(|(arn, account)| async move {
                    let got = center.account_assignments(instance, &account, &arn).await;
                    (arn, account, got)
                })
                .buffer_unordered(limit)
                .collect::<Vec<_>>()
                .await;
            for (arn, account, got) in read {
                match got {
                    Ok(list) => assignments.extend(list.into_iter().map(|(t, id)| Key {
                        account_id: account.clone(),
                        permission_set_arn: arn.clone(),
                        principal_type: t.into(),
                        principal_id: id,
                    })),
                    Err(e) => {
                        unknown.insert(Unknown::Account {
                            account_id: account.to_string(),
                            reason: reason(&e),
                        });
                    }
                }
            }
        }
        Strategy::ByPrincipal | Strategy::Auto => {
            let read = futures_util::stream::iter(principals)
                .map(|(t, id)| async move {
                    let got = center.principal_assignments(instance, t, &id).await;
                    (t, id, got)
                })
                .buffer_unordered(limit)
                .collect::<Vec<_>>()
                .await;
            for (t, id, got) in read {
                match got {
                    Ok(list) => assignments.extend(list.into_iter().map(|(account, arn)| Key {
                        account_id: account,
                        permission_set_arn: arn,
                        principal_type: t.into(),
                        principal_id: id.clone(),
                    })),
                    Err(e) => {
                        unknown.insert(Unknown::Principal {
                            principal_type: t.as_str().to_owned(),
                            principal_id: id,
                            reason: reason(&e),
                        });
                    }
                }
            }
        }
    }
    let groups: BTreeMap<String, String> = groups.into_iter().collect();
    let protected_groups = if options.memberships {
        let protected = protected(policy, &groups, &permission_sets, &assignments);
        let read = futures_util::stream::iter(protected)
            .map(|(id, group)| async move {
                let got = directory.group_members(identity_store, &id).await;
                (id, group, got)
            })
            .buffer_unordered(limit)
            .collect::<Vec<_>>()
            .await;
        let mut out = BTreeMap::new();
        for (id, mut group, got) in read {
            match got {
                Ok(members) => group.members = Some(members),
                Err(e) => {
                    unknown.insert(Unknown::GroupMembers {
                        group_id: id.clone(),
                        reason: reason(&e),
                    });
                }
            }
            out.insert(id, group);
        }
        out
    } else {
        BTreeMap::new()
    };
    Ok(Inventory {
        instance: instance.clone(),
        identity_store: identity_store.clone(),
        permission_sets,
        groups,
        users: users.into_iter().collect(),
        accounts,
        ou_accounts,
        assignments,
        protected_groups,
        abac,
        unknown,
        strategy,
    })
}

/// The protected groups (members not read yet): those whose name matches `[groups] protected`
/// and those assigned a privileged permission set.
fn protected(
    policy: &Policy,
    groups: &BTreeMap<String, String>,
    permission_sets: &BTreeMap<PermissionSetArn, PermissionSetEntry>,
    assignments: &BTreeSet<Key>,
) -> BTreeMap<String, ProtectedGroup> {
    let mut reasons: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (id, name) in groups {
        if policy.is_protected_group(name) {
            reasons
                .entry(id)
                .or_default()
                .push("name matches groups.protected".to_owned());
        }
    }
    let mut privileged: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for k in assignments
        .iter()
        .filter(|k| k.principal_type == PrincipalTypeKey::Group)
    {
        if let Some(name) = permission_sets
            .get(&k.permission_set_arn)
            .and_then(|e| e.name.as_deref())
            && policy.is_privileged(name)
        {
            privileged.entry(k.principal_id.as_str()).or_default().insert(name);
        }
    }
    for (id, sets) in privileged {
        let sets: Vec<&str> = sets.into_iter().collect();
        reasons
            .entry(id)
            .or_default()
            .push(format!("assigned privileged permission set {}", sets.join(", ")));
    }
    reasons
        .into_iter()
        .map(|(id, reasons)| {
            let group = ProtectedGroup {
                name: groups.get(id).cloned().unwrap_or_default(),
                reasons,
                members: None,
            };
            (id.to_owned(), group)
        })
        .collect()
}

/// Every account under an OU or root, recursively (breadth first).
async fn accounts_under<O: Organization>(organization: &O, root: &str) -> Result<BTreeSet<AccountId>, RemoteError> {
    let mut found = BTreeSet::new();
    let mut queue = vec![root.to_owned()];
    while let Some(parent) = queue.pop() {
        let (accounts, ous) = organization.children(&parent).await?;
        found.extend(accounts);
        queue.extend(ous);
    }
    Ok(found)
}
