//! Executing corrective actions through the ports: what each planned [`Action`] calls, in order.
//!
//! The actions are typed, so what a rule planned is what is executed; the only values read at
//! execution time are those the plan asks to keep as they are ([`Keep::Current`]) and a
//! membership id the event did not carry. A delete whose target is already gone has reached its
//! goal. Whether a correction is allowed at all is the gate's decision (`crate::guard`), and
//! whether it worked is the guard's read-back, not this module's.
//!
//! A removal's [`Action::RevokeSessions`] follows it (see [`crate::revocation`]); what became of
//! it is reported beside the correction and never fails it: the removal stands either way.

use crate::domain::{Action, Fact, Facts, Keep, ProvisionTarget, RevocationReport};
use crate::ports::{
    Directory, FailureKind, Gate, IdentityCenter, IdentityStore, InstanceInventory, MembershipRef, Remote, RemoteError,
};
use crate::revocation;

pub use crate::ports::Ports;

/// What executing a correction's actions did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Executed {
    /// The mutating calls made, in order (operation names).
    pub calls: Vec<&'static str>,
    /// The failure that stopped the actions, if one did.
    pub failure: Option<RemoteError>,
    /// What the revocations after a removal did, one report per permission set.
    pub revocations: Vec<RevocationReport>,
}

/// Executes `actions` in order, stopping at the first failure. `facts` are the live facts read
/// before acting (for the values to keep); `settings` are the policy's revocation settings.
pub async fn execute<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    actions: &[Action],
    facts: &Facts,
    settings: revocation::Settings,
) -> Executed
where
    I: IdentityCenter + InstanceInventory,
    S: IdentityStore + Directory,
    G: Gate,
{
    let mut executed = Executed::default();
    for action in actions {
        if let Action::RevokeSessions {
            instance_arn,
            removal,
            mode,
        } = action
        {
            let reports = revocation::after_removals(
                ports,
                &[(instance_arn.as_ref(), removal)],
                facts,
                *mode,
                settings,
                &mut executed.calls,
            )
            .await;
            executed.revocations.extend(reports);
            continue;
        }
        if let Err(e) = execute_one(ports, action, facts, &mut executed.calls).await {
            executed.failure = Some(e);
            break;
        }
    }
    executed
}

/// A delete that finds its target gone has reached its goal.
fn gone_is_done(result: Remote<()>) -> Remote<()> {
    match result {
        Err(e) if e.kind == FailureKind::NotFound => Ok(()),
        other => other,
    }
}

async fn execute_one<I: IdentityCenter, S: IdentityStore, G: Gate>(
    ports: &Ports<'_, I, S, G>,
    action: &Action,
    facts: &Facts,
    calls: &mut Vec<&'static str>,
) -> Remote<()> {
    let ic = ports.identity_center;
    match action {
        Action::DeleteAccountAssignment(assignment) => {
            ports
                .journal(calls, "DeleteAccountAssignment", &assignment.resource_id())
                .await?;
            gone_is_done(ic.delete_assignment(assignment).await)
        }
        Action::DeleteEntitlement(entitlement) => {
            let Some(id) = &entitlement.entitlement_id else {
                return Err(RemoteError::new(
                    "plan",
                    FailureKind::Rejected,
                    "the planned deletion names no entitlement id",
                ));
            };
            ports
                .journal(calls, "DeleteEntitlement", &entitlement.resource_id())
                .await?;
            gone_is_done(ic.delete_entitlement(&entitlement.application_arn, id).await)
        }
        Action::CreateEntitlement(entitlement) => {
            ports
                .journal(calls, "CreateEntitlement", &entitlement.resource_id())
                .await?;
            ic.create_entitlement(entitlement).await.map(|_| ())
        }
        Action::DeleteAccessScope { application_arn, scope } => {
            ports
                .journal(
                    calls,
                    "DeleteApplicationAccessScope",
                    &format!("{application_arn}#{scope}"),
                )
                .await?;
            gone_is_done(ic.delete_access_scope(application_arn, scope).await)
        }
        Action::CreateAccountAssignment(assignment) => {
            ports
                .journal(calls, "CreateAccountAssignment", &assignment.resource_id())
                .await?;
            ic.create_assignment(assignment).await
        }
        Action::RestoreAccessControlAttributes {
            instance_arn,
            attributes,
        } => {
            let exists = matches!(facts.access_control_attributes, Fact::Known(Some(_)));
            let operation = if exists {
                "UpdateInstanceAccessControlAttributeConfiguration"
            } else {
                "CreateInstanceAccessControlAttributeConfiguration"
            };
            ports.journal(calls, operation, instance_arn.as_str()).await?;
            ic.put_access_control_attributes(instance_arn, attributes, exists).await
        }
        Action::DeleteGroupMembership {
            identity_store_id,
            membership_id,
            group_id,
            member_id,
        } => {
            let Some(store_id) = identity_store_id else {
                return Err(RemoteError::new(
                    "plan",
                    FailureKind::Rejected,
                    "the planned action carries no identity store id",
                ));
            };
            let membership = MembershipRef {
                identity_store_id: store_id.clone(),
                membership_id: membership_id.clone(),
                group_id: group_id.clone(),
                member_id: member_id.clone(),
            };
            delete_membership(ports, &membership, calls).await
        }
        _ => permission_set_action(ports, action, facts, calls).await,
    }
}

/// DeleteGroupMembership, resolving the membership id from group and member when the event did
/// not carry it; a membership that no longer exists needs nothing.
async fn delete_membership<I, S: IdentityStore, G: Gate>(
    ports: &Ports<'_, I, S, G>,
    membership: &MembershipRef,
    calls: &mut Vec<&'static str>,
) -> Remote<()> {
    let store = ports.identity_store;
    let id = match &membership.membership_id {
        Some(id) => Some(id.clone()),
        None => {
            store
                .membership_id(&MembershipRef {
                    membership_id: None,
                    ..membership.clone()
                })
                .await?
        }
    };
    let Some(id) = id else { return Ok(()) };
    ports.journal(calls, "DeleteGroupMembership", &id).await?;
    gone_is_done(store.delete_membership(&membership.identity_store_id, &id).await)
}

/// The actions on a permission set's definition, and its provisioning.
async fn permission_set_action<I: IdentityCenter, S, G: Gate>(
    ports: &Ports<'_, I, S, G>,
    action: &Action,
    facts: &Facts,
    calls: &mut Vec<&'static str>,
) -> Remote<()> {
    let ic = ports.identity_center;
    match action {
        Action::UpdateSessionDuration {
            instance_arn,
            permission_set_arn,
            session_duration,
            description,
            relay_state,
        } => {
            let current = facts.permission_set.as_ref();
            let description = kept(description, current.map(|p| &p.description))?;
            let relay_state = kept(relay_state, current.map(|p| &p.relay_state))?;
            ports
                .journal(calls, "UpdatePermissionSet", permission_set_arn.as_str())
                .await?;
            ic.update_permission_set(
                instance_arn,
                permission_set_arn,
                session_duration.as_str(),
                description.as_deref(),
                relay_state.as_deref(),
            )
            .await
        }
        Action::PutPermissionsBoundary {
            instance_arn,
            permission_set_arn,
            boundary,
        } => {
            ports
                .journal(
                    calls,
                    "PutPermissionsBoundaryToPermissionSet",
                    permission_set_arn.as_str(),
                )
                .await?;
            ic.put_permissions_boundary(instance_arn, permission_set_arn, boundary)
                .await
        }
        Action::DetachManagedPolicy {
            instance_arn,
            permission_set_arn,
            managed_policy_arn,
        } => {
            ports
                .journal(
                    calls,
                    "DetachManagedPolicyFromPermissionSet",
                    permission_set_arn.as_str(),
                )
                .await?;
            gone_is_done(
                ic.detach_managed_policy(instance_arn, permission_set_arn, managed_policy_arn)
                    .await,
            )
        }
        // Read again and edited under the set's lease, so that a revocation statement added
        // since the plan (and every other statement) is kept as written.
        Action::RemoveInlineStatements {
            instance_arn,
            permission_set_arn,
            removed,
            ..
        }
        | Action::DeleteInlinePolicy {
            instance_arn,
            permission_set_arn,
            removed,
        } => revocation::remove_statements(ports, instance_arn, permission_set_arn, removed, calls).await,
        Action::ProvisionPermissionSet {
            instance_arn,
            permission_set_arn,
            target,
        } => {
            ports
                .journal(calls, "ProvisionPermissionSet", permission_set_arn.as_str())
                .await?;
            match target {
                ProvisionTarget::AllProvisionedAccounts => {
                    ic.provision_permission_set(instance_arn, permission_set_arn).await
                }
                ProvisionTarget::Account(account) => {
                    ic.provision_to_account(instance_arn, permission_set_arn, account).await
                }
            }
        }
        Action::DeleteAccountAssignment(_)
        | Action::CreateAccountAssignment(_)
        | Action::RestoreAccessControlAttributes { .. }
        | Action::DeleteGroupMembership { .. }
        | Action::DeleteEntitlement(_)
        | Action::CreateEntitlement(_)
        | Action::DeleteAccessScope { .. }
        | Action::RevokeSessions { .. } => Ok(()),
    }
}

/// The value to send unchanged: the planned one, or the one read before acting. An unknown
/// current value is never overwritten.
fn kept(keep: &Keep, current: Option<&Fact<Option<String>>>) -> Remote<Option<String>> {
    match (keep, current.and_then(Fact::known)) {
        (Keep::Value(v), _) | (Keep::Current, Some(v)) => Ok(v.clone()),
        (Keep::Current, None) => Err(RemoteError::new(
            "UpdatePermissionSet",
            FailureKind::Unavailable,
            "the current description or relay state is unknown; not overwriting it",
        )),
    }
}
