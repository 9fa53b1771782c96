//! Corrective actions, planned by the rules as data. Executing them (with verification,
//! retries and the safety gate) belongs to the remediation engine, not to the rules. Every
//! value is typed, so what a rule planned is what is executed.

use serde::Serialize;

use super::entitlement::Entitlement;
use super::finding::Mode;
use super::ids::{AccountId, ApplicationArn, IdentityStoreId, InstanceArn, PermissionSetArn};
use super::model::{AbacAttribute, Assignment, Boundary, SessionDuration};

/// What was removed, whose live sessions [`Action::RevokeSessions`] ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "removed", rename_all = "snake_case")]
pub enum Removal {
    /// An account assignment (a USER's, or a GROUP's: each member).
    Assignment(Assignment),
    /// A user's membership of a group (each permission set the group holds, in each account).
    Membership {
        /// The identity store.
        identity_store_id: IdentityStoreId,
        /// The group.
        group_id: String,
        /// The user.
        user_id: String,
    },
}

/// A value the executor must keep as it is: known already, or to be read live before writing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// Read the current value just before the write and send it unchanged.
    Current,
    /// The current value, already known (`None`: there is none).
    Value(Option<String>),
}

/// Where to provision a permission set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProvisionTarget {
    /// Every account it is provisioned to.
    AllProvisionedAccounts,
    /// One account (an account left at an older version: `provisioning-current`).
    Account(AccountId),
}

/// One planned corrective action, typed: the executor never re-parses what a rule planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// DeleteEntitlement (account access manager, issue #19), then read back. The entitlement
    /// carries its id (a rule plans the deletion only once the id is known).
    DeleteEntitlement(Entitlement),
    /// CreateEntitlement (account access manager, issue #19: an entitlement the
    /// desired-assignments file declares), then read back. The entitlement carries no id (the
    /// service assigns one).
    CreateEntitlement(Entitlement),
    /// DeleteApplicationAccessScope (issue #19), then read back.
    DeleteAccessScope {
        /// The customer managed application.
        application_arn: ApplicationArn,
        /// The scope to remove.
        scope: String,
    },
    /// DeleteAccountAssignment, then poll its status and read back.
    DeleteAccountAssignment(Assignment),
    /// CreateAccountAssignment, then poll its status to SUCCEEDED and read back.
    CreateAccountAssignment(Assignment),
    /// UpdatePermissionSet with the capped duration, keeping description and relay state
    /// (the API clears a relay state that is omitted).
    UpdateSessionDuration {
        /// Instance.
        instance_arn: InstanceArn,
        /// Permission set.
        permission_set_arn: PermissionSetArn,
        /// The new duration.
        session_duration: SessionDuration,
        /// Description to send unchanged.
        description: Keep,
        /// Relay state to send unchanged.
        relay_state: Keep,
    },
    /// PutPermissionsBoundaryToPermissionSet with the configured boundary.
    PutPermissionsBoundary {
        /// Instance.
        instance_arn: InstanceArn,
        /// Permission set.
        permission_set_arn: PermissionSetArn,
        /// The boundary.
        boundary: Boundary,
    },
    /// DetachManagedPolicyFromPermissionSet.
    DetachManagedPolicy {
        /// Instance.
        instance_arn: InstanceArn,
        /// Permission set.
        permission_set_arn: PermissionSetArn,
        /// The AWS managed policy.
        managed_policy_arn: String,
    },
    /// PutInlinePolicyToPermissionSet with the offending statements removed.
    RemoveInlineStatements {
        /// Instance.
        instance_arn: InstanceArn,
        /// Permission set.
        permission_set_arn: PermissionSetArn,
        /// Indexes (0-based) of the removed statements.
        statements: Vec<usize>,
        /// The removed statements, as JSON text, kept for the record.
        removed: Vec<String>,
        /// The policy that remains.
        remaining_policy: String,
    },
    /// DeleteInlinePolicyFromPermissionSet: every statement offended.
    DeleteInlinePolicy {
        /// Instance.
        instance_arn: InstanceArn,
        /// Permission set.
        permission_set_arn: PermissionSetArn,
        /// The removed statements, as JSON text, kept for the record.
        removed: Vec<String>,
    },
    /// Create or Update InstanceAccessControlAttributeConfiguration with these attributes.
    RestoreAccessControlAttributes {
        /// Instance.
        instance_arn: InstanceArn,
        /// The full list to configure (required ones restored, others kept).
        attributes: Vec<AbacAttribute>,
    },
    /// ProvisionPermissionSet, then poll its status.
    ProvisionPermissionSet {
        /// Instance.
        instance_arn: InstanceArn,
        /// Permission set.
        permission_set_arn: PermissionSetArn,
        /// Target.
        target: ProvisionTarget,
    },
    /// DeleteGroupMembership (resolving the membership id from group and member if needed).
    DeleteGroupMembership {
        /// The identity store, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        identity_store_id: Option<IdentityStoreId>,
        /// The membership id, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        membership_id: Option<String>,
        /// The group, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        group_id: Option<String>,
        /// The member, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        member_id: Option<String>,
    },
    /// After a removal: deny the role sessions issued before it to every user who lost a
    /// permission set in an account through it and keeps it through nothing else (a revocation
    /// statement in the set's inline policy, re-provisioned to those accounts, removed again when
    /// the sessions have expired). Planned after the removal it follows.
    RevokeSessions {
        /// Instance (`None`: the one whose identity store the removal was in, found at execution).
        #[serde(skip_serializing_if = "Option::is_none")]
        instance_arn: Option<InstanceArn>,
        /// What was removed.
        removal: Removal,
        /// `enforce` revokes; `detect` only reports what would be revoked (the policy's
        /// `[revocation] mode`, capped by the global mode).
        mode: Mode,
    },
}

impl Action {
    /// Whether the action removes something (the reconciler's refusals count these).
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Self::DeleteAccountAssignment(_)
                | Self::DeleteGroupMembership { .. }
                | Self::DeleteInlinePolicy { .. }
                | Self::DeleteEntitlement(_)
                | Self::DeleteAccessScope { .. }
        )
    }

    /// The provisioning step that must follow a change to a permission set's definition.
    pub fn provision(instance_arn: &InstanceArn, permission_set_arn: &PermissionSetArn) -> Self {
        Self::ProvisionPermissionSet {
            instance_arn: instance_arn.clone(),
            permission_set_arn: permission_set_arn.clone(),
            target: ProvisionTarget::AllProvisionedAccounts,
        }
    }

    /// The operation name, as in reports (`delete_account_assignment`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::DeleteAccountAssignment(_) => "delete_account_assignment",
            Self::CreateAccountAssignment(_) => "create_account_assignment",
            Self::UpdateSessionDuration { .. } => "update_session_duration",
            Self::PutPermissionsBoundary { .. } => "put_permissions_boundary",
            Self::DetachManagedPolicy { .. } => "detach_managed_policy",
            Self::RemoveInlineStatements { .. } => "remove_inline_statements",
            Self::DeleteInlinePolicy { .. } => "delete_inline_policy",
            Self::RestoreAccessControlAttributes { .. } => "restore_access_control_attributes",
            Self::ProvisionPermissionSet { .. } => "provision_permission_set",
            Self::DeleteGroupMembership { .. } => "delete_group_membership",
            Self::RevokeSessions { .. } => "revoke_sessions",
            Self::DeleteEntitlement(_) => "delete_entitlement",
            Self::CreateEntitlement(_) => "create_entitlement",
            Self::DeleteAccessScope { .. } => "delete_access_scope",
        }
    }
}
