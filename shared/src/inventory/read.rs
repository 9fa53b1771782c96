//! Reading the instance in steps: the permission sets (definitions, provisioning, owner tags),
//! the instance-wide facts (ABAC, the organisation, OUs), the assignments by the cheaper
//! pattern, and the protected groups' members. Each step records what it could not read.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;

use super::{
    AccessPaths, FAILED_DESCRIBED, Inventory, InventoryError, Options, PermissionSetEntry, ProtectedGroup,
    ProvisioningState, ScopedApplication, Strategy, Unknown,
};
use crate::domain::{
    ACCOUNT_ACCESS_SCOPE, AbacAttribute, AccountId, Assignment, Fact, IdentityStoreId, InstanceArn, Mode,
    OperationKind, OperationState, OperationStatus, PermissionSetArn, PrincipalType,
};
use crate::policy::Policy;
use crate::ports::{Directory, FailureKind, IdentityCenter, InstanceInventory, Organization, RemoteError};
use crate::rules::provisioning_current;

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
    let sets = Sets {
        policy,
        center,
        instance,
        options,
        provisioning,
    };
    let permission_sets = sets.read(arns, &mut unknown).await;
    let abac = abac(center, instance, options, &mut unknown).await;
    let (accounts, ou_accounts) = organisation(organization, options, &mut unknown).await;
    let principals: Vec<(PrincipalType, String)> = groups
        .iter()
        .map(|(id, _)| (PrincipalType::Group, id.clone()))
        .chain(users.iter().map(|(id, _)| (PrincipalType::User, id.clone())))
        .collect();
    let (strategy, assignments) =
        assignments(center, instance, &permission_sets, principals, options, &mut unknown).await;
    let provisioning = if options.definitions && policy.effective_mode(provisioning_current::ID) != Mode::Off {
        Some(provisioning_state(center, instance, &assignments, options.concurrency).await)
    } else {
        None
    };
    let groups: BTreeMap<String, String> = groups.into_iter().collect();
    let protected_groups = if options.memberships {
        let protected = protected(policy, &groups, &permission_sets, &assignments);
        members(directory, identity_store, protected, options.concurrency, &mut unknown).await
    } else {
        BTreeMap::new()
    };
    let group_members = if options.assigned_members {
        assigned_members(
            directory,
            identity_store,
            &assignments,
            &protected_groups,
            options.concurrency,
            &mut unknown,
        )
        .await
    } else {
        BTreeMap::new()
    };
    let access = if options.access_paths {
        access_paths(center, instance, options.concurrency, &mut unknown).await
    } else {
        AccessPaths::default()
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
        provisioning,
        group_members,
        access,
    })
}

/// The access paths outside permission sets (issue #19): account access manager's applications
/// and all their entitlements, then the instance's applications holding `sso:account:access`.
/// What could not be read is unknown, never "none".
async fn access_paths<C: IdentityCenter + InstanceInventory>(
    center: &C,
    instance: &InstanceArn,
    concurrency: usize,
    unknown: &mut BTreeSet<Unknown>,
) -> AccessPaths {
    let limit = concurrency.max(1);
    let mut out = AccessPaths::default();
    match center.access_applications().await {
        Ok(applications) => {
            let read = futures_util::stream::iter(applications)
                .map(|app| async move {
                    let got = center.entitlements(&app, None).await;
                    (app, got)
                })
                .buffer_unordered(limit)
                .collect::<Vec<_>>()
                .await;
            let mut listed = BTreeMap::new();
            for (app, got) in read {
                match got {
                    Ok(entitlements) => {
                        out.entitlements.extend(entitlements);
                        listed.insert(app, true);
                    }
                    Err(e) => {
                        unknown.insert(Unknown::AccessApplication {
                            application_arn: app.to_string(),
                            reason: reason(&e),
                        });
                        listed.insert(app, false);
                    }
                }
            }
            out.applications = Fact::Known(listed);
        }
        Err(e) => {
            unknown.insert(Unknown::Instance {
                what: "account access manager's applications and entitlements".to_owned(),
                reason: reason(&e),
            });
        }
    }
    match center.applications(instance).await {
        Ok(applications) => {
            let read = futures_util::stream::iter(applications.into_iter().filter(|(arn, _)| arn.belongs_to(instance)))
                .map(|(arn, name)| async move {
                    let got = center.access_scope(&arn, ACCOUNT_ACCESS_SCOPE).await;
                    (arn, name, got)
                })
                .buffer_unordered(limit)
                .collect::<Vec<_>>()
                .await;
            for (arn, name, got) in read {
                match got {
                    Ok(Some(authorized_targets)) => {
                        out.scoped.insert(
                            arn,
                            ScopedApplication {
                                name,
                                authorized_targets,
                            },
                        );
                    }
                    Ok(None) => {}
                    Err(e) => {
                        unknown.insert(Unknown::Application {
                            application_arn: arn.to_string(),
                            reason: reason(&e),
                        });
                    }
                }
            }
            out.applications_listed = true;
        }
        Err(e) => {
            unknown.insert(Unknown::Instance {
                what: format!("the instance's applications with {ACCOUNT_ACCESS_SCOPE}"),
                reason: reason(&e),
            });
        }
    }
    out
}

/// The members of every group holding an assignment: the protected groups' lists are reused,
/// the others read (one ListGroupMemberships listing each). A failed read is
/// [`Unknown::GroupMembers`] and leaves the group's members `None`.
async fn assigned_members<D: Directory>(
    directory: &D,
    identity_store: &IdentityStoreId,
    assignments: &BTreeSet<Assignment>,
    protected: &BTreeMap<String, ProtectedGroup>,
    concurrency: usize,
    unknown: &mut BTreeSet<Unknown>,
) -> BTreeMap<String, Option<Vec<String>>> {
    let mut out = BTreeMap::new();
    let mut to_read = Vec::new();
    let groups: BTreeSet<&String> = assignments
        .iter()
        .filter(|a| a.principal_type == PrincipalType::Group)
        .map(|a| &a.principal_id)
        .collect();
    for id in groups {
        match protected.get(id).and_then(|g| g.members.clone()) {
            Some(members) => {
                out.insert(id.clone(), Some(members));
            }
            None => to_read.push(id.clone()),
        }
    }
    let read = futures_util::stream::iter(to_read)
        .map(|id| async move {
            let got = directory.group_members(identity_store, &id).await;
            (id, got)
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    for (id, got) in read {
        match got {
            Ok(members) => {
                out.insert(id, Some(members));
            }
            Err(e) => {
                unknown.insert(Unknown::GroupMembers {
                    group_id: id.clone(),
                    reason: reason(&e),
                });
                out.insert(id, None);
            }
        }
    }
    out
}

/// Where the assigned sets are behind (one listing per assigned set) and the failed operations
/// (three listings, then one description each, newest first, at most [`FAILED_DESCRIBED`]).
async fn provisioning_state<C: IdentityCenter + InstanceInventory>(
    center: &C,
    instance: &InstanceArn,
    assignments: &BTreeSet<Assignment>,
    concurrency: usize,
) -> ProvisioningState {
    let mut assigned: BTreeMap<PermissionSetArn, BTreeSet<AccountId>> = BTreeMap::new();
    for a in assignments {
        assigned
            .entry(a.permission_set_arn.clone())
            .or_default()
            .insert(a.account_id.clone());
    }
    let stale = futures_util::stream::iter(assigned)
        .map(|(arn, accounts)| async move {
            let fact = match center.stale_accounts(instance, &arn).await {
                Ok(stale) => Fact::Known(stale.into_iter().filter(|a| accounts.contains(a)).collect()),
                Err(e) => {
                    tracing::warn!(error = %e, permission_set = %arn.as_str(), "could not list the accounts behind");
                    Fact::Unknown
                }
            };
            (arn, fact)
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<BTreeMap<_, _>>()
        .await;
    let mut listed = Vec::new();
    for kind in [
        OperationKind::AssignmentCreation,
        OperationKind::AssignmentDeletion,
        OperationKind::Provisioning,
    ] {
        match center.operations(instance, kind, OperationState::Failed).await {
            Ok(ops) => listed.extend(ops),
            Err(e) => {
                tracing::warn!(error = %e, %kind, "could not list the failed operations");
                return ProvisioningState {
                    stale,
                    failed: Fact::Unknown,
                    failed_not_described: 0,
                };
            }
        }
    }
    // Newest first; an operation without a date last.
    listed.sort_by_key(|op| std::cmp::Reverse(op.created));
    let failed_not_described = listed.len().saturating_sub(FAILED_DESCRIBED);
    listed.truncate(FAILED_DESCRIBED);
    let described = futures_util::stream::iter(listed)
        .map(|op| async move {
            match center.operation_status(instance, op.kind, &op.request_id).await {
                Ok(status) => status,
                Err(e) => OperationStatus {
                    failure_reason: Some(format!("(the reason could not be read: {e})")),
                    ..op
                },
            }
        })
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    ProvisioningState {
        stale,
        failed: Fact::Known(described),
        failed_not_described,
    }
}

/// The permission-set step: each set's name or definition, where it is provisioned, its owner
/// tag, as the options ask.
struct Sets<'a, C> {
    policy: &'a Policy,
    center: &'a C,
    instance: &'a InstanceArn,
    options: &'a Options,
    provisioning: bool,
}

/// One set's reads: (name, definition), provisioned accounts, owner tag.
type SetReads = (
    Result<Option<(Option<String>, Option<crate::domain::PermissionSetFacts>)>, RemoteError>,
    Result<Option<Vec<AccountId>>, RemoteError>,
    Result<Option<String>, RemoteError>,
);

impl<C: IdentityCenter + InstanceInventory> Sets<'_, C> {
    async fn read(
        &self,
        arns: Vec<PermissionSetArn>,
        unknown: &mut BTreeSet<Unknown>,
    ) -> BTreeMap<PermissionSetArn, PermissionSetEntry> {
        let per_set = futures_util::stream::iter(arns)
            .map(|arn| async move {
                let reads = self.one(&arn).await;
                (arn, reads)
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        let mut permission_sets = BTreeMap::new();
        for (arn, (definition, provisioned, owner_tag)) in per_set {
            let mut entry = PermissionSetEntry {
                name: None,
                facts: None,
                provisioned: None,
                owner_tag: None,
            };
            let mut failed = |e: RemoteError| {
                unknown.insert(Unknown::PermissionSet {
                    permission_set_arn: arn.to_string(),
                    reason: reason(&e),
                });
            };
            match definition {
                Ok(Some((name, facts))) => {
                    entry.name = name;
                    entry.facts = facts;
                }
                // Deleted between the list and the read: nothing left to judge or assign.
                Ok(None) => continue,
                Err(e) => failed(e),
            }
            match provisioned {
                Ok(accounts) => entry.provisioned = accounts,
                Err(e) => failed(e),
            }
            match owner_tag {
                Ok(tag) => entry.owner_tag = tag,
                Err(e) => failed(e),
            }
            permission_sets.insert(arn, entry);
        }
        permission_sets
    }

    async fn one(&self, arn: &PermissionSetArn) -> SetReads {
        let (center, instance, options) = (self.center, self.instance, self.options);
        let definition = async {
            if options.definitions {
                let Some(mut facts) = center.permission_set(instance, arn).await? else {
                    return Ok(None);
                };
                // Its customer managed policy references, for the hygiene report: a failed read
                // leaves them unknown (the set is then not compared), never empty.
                facts.customer_managed_policies = match center.customer_managed_policies(instance, arn).await {
                    Ok(references) => Fact::Known(references),
                    Err(e) => {
                        tracing::warn!(error = %e, permission_set = %arn.as_str(), "could not list the customer managed policy references");
                        Fact::Unknown
                    }
                };
                Ok(Some((facts.name.known().cloned(), Some(facts))))
            } else {
                center
                    .permission_set_name(instance, arn)
                    .await
                    .map(|n| n.map(|n| (Some(n), None)))
            }
        };
        let provisioned = async {
            if self.provisioning {
                center.provisioned_accounts(instance, arn).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let owner_tag = async {
            if options.owner_tags {
                center
                    .permission_set_tag(instance, arn, &self.policy.owners.tag_key)
                    .await
                    .map(|t| t.filter(|v| !v.trim().is_empty()))
            } else {
                Ok(None)
            }
        };
        tokio::join!(definition, provisioned, owner_tag)
    }
}

/// The ABAC configuration, with the definitions.
async fn abac<C: IdentityCenter>(
    center: &C,
    instance: &InstanceArn,
    options: &Options,
    unknown: &mut BTreeSet<Unknown>,
) -> Fact<Option<Vec<AbacAttribute>>> {
    if !options.definitions {
        return Fact::Unknown;
    }
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
}

/// The organisation's accounts (with names) and the accounts under each OU asked for.
async fn organisation<O: Organization>(
    organization: &O,
    options: &Options,
    unknown: &mut BTreeSet<Unknown>,
) -> (
    Option<BTreeMap<AccountId, String>>,
    BTreeMap<String, Option<BTreeSet<AccountId>>>,
) {
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
            Err(e) if e.kind == FailureKind::NotFound => {}
            Err(e) => {
                unknown.insert(Unknown::Instance {
                    what: format!("accounts under {ou}"),
                    reason: reason(&e),
                });
                ou_accounts.insert(ou.clone(), None);
            }
        }
    }
    (accounts, ou_accounts)
}

/// Every assignment, by the cheaper listing pattern; the pattern used.
async fn assignments<C: InstanceInventory>(
    center: &C,
    instance: &InstanceArn,
    permission_sets: &BTreeMap<PermissionSetArn, PermissionSetEntry>,
    principals: Vec<(PrincipalType, String)>,
    options: &Options,
    unknown: &mut BTreeSet<Unknown>,
) -> (Strategy, BTreeSet<Assignment>) {
    let limit = options.concurrency.max(1);
    let pairs: Vec<(PermissionSetArn, AccountId)> = permission_sets
        .iter()
        .flat_map(|(arn, e)| {
            e.provisioned
                .iter()
                .flatten()
                .map(move |account| (arn.clone(), account.clone()))
        })
        .collect();
    let provisioning_known = permission_sets.values().all(|e| e.provisioned.is_some());
    let strategy = match options.strategy {
        Strategy::Auto if provisioning_known && pairs.len() < principals.len() => Strategy::ByAccount,
        Strategy::Auto => Strategy::ByPrincipal,
        chosen => chosen,
    };
    let assignment =
        |account_id: AccountId, permission_set_arn: PermissionSetArn, principal_type, principal_id| Assignment {
            instance_arn: instance.clone(),
            account_id,
            permission_set_arn,
            principal_type,
            principal_id,
        };
    let mut assignments = BTreeSet::new();
    if strategy == Strategy::ByAccount {
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
                Ok(list) => assignments.extend(
                    list.into_iter()
                        .map(|(t, id)| assignment(account.clone(), arn.clone(), t, id)),
                ),
                Err(e) => {
                    unknown.insert(Unknown::Account {
                        account_id: account.to_string(),
                        reason: reason(&e),
                    });
                }
            }
        }
    } else {
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
                Ok(list) => assignments.extend(
                    list.into_iter()
                        .map(|(account, arn)| assignment(account, arn, t, id.clone())),
                ),
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
    (strategy, assignments)
}

/// Reads the members of each protected group.
async fn members<D: Directory>(
    directory: &D,
    identity_store: &IdentityStoreId,
    protected: BTreeMap<String, ProtectedGroup>,
    concurrency: usize,
    unknown: &mut BTreeSet<Unknown>,
) -> BTreeMap<String, ProtectedGroup> {
    let read = futures_util::stream::iter(protected)
        .map(|(id, group)| async move {
            let got = directory.group_members(identity_store, &id).await;
            (id, group, got)
        })
        .buffer_unordered(concurrency.max(1))
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
}

/// The protected groups (members not read yet): those whose name matches `[groups] protected`
/// and those assigned a privileged permission set.
fn protected(
    policy: &Policy,
    groups: &BTreeMap<String, String>,
    permission_sets: &BTreeMap<PermissionSetArn, PermissionSetEntry>,
    assignments: &BTreeSet<Assignment>,
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
    for k in assignments.iter().filter(|k| k.principal_type == PrincipalType::Group) {
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
