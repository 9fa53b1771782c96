//! Corrective actions, planned by the rules as data. Executing them (with verification,
//! retries and the safety gate) belongs to the remediation engine, not to the rules.

use serde::Serialize;

use crate::model::{AbacAttribute, Boundary, PrincipalType};

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
}

/// One planned corrective action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// DeleteAccountAssignment, then poll its status and read back.
    DeleteAccountAssignment {
        /// Instance.
        instance_arn: String,
        /// Target account.
        account_id: String,
        /// Permission set.
        permission_set_arn: String,
        /// USER or GROUP.
        principal_type: PrincipalType,
        /// The principal.
        principal_id: String,
    },
    /// CreateAccountAssignment, then poll its status to SUCCEEDED and read back.
    CreateAccountAssignment {
        /// Instance.
        instance_arn: String,
        /// Target account.
        account_id: String,
        /// Permission set.
        permission_set_arn: String,
        /// USER or GROUP.
        principal_type: PrincipalType,
        /// The principal.
        principal_id: String,
    },
    /// UpdatePermissionSet with the capped duration, keeping description and relay state
    /// (the API clears a relay state that is omitted).
    UpdateSessionDuration {
        /// Instance.
        instance_arn: String,
        /// Permission set.
        permission_set_arn: String,
        /// The new duration.
        session_duration: String,
        /// Description to send unchanged.
        description: Keep,
        /// Relay state to send unchanged.
        relay_state: Keep,
    },
    /// PutPermissionsBoundaryToPermissionSet with the configured boundary.
    PutPermissionsBoundary {
        /// Instance.
        instance_arn: String,
        /// Permission set.
        permission_set_arn: String,
        /// The boundary.
        boundary: Boundary,
    },
    /// DetachManagedPolicyFromPermissionSet.
    DetachManagedPolicy {
        /// Instance.
        instance_arn: String,
        /// Permission set.
        permission_set_arn: String,
        /// The AWS managed policy.
        managed_policy_arn: String,
    },
    /// PutInlinePolicyToPermissionSet with the offending statements removed.
    RemoveInlineStatements {
        /// Instance.
        instance_arn: String,
        /// Permission set.
        permission_set_arn: String,
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
        instance_arn: String,
        /// Permission set.
        permission_set_arn: String,
        /// The removed statements, as JSON text, kept for the record.
        removed: Vec<String>,
    },
    /// Create or Update InstanceAccessControlAttributeConfiguration with these attributes.
    RestoreAccessControlAttributes {
        /// Instance.
        instance_arn: String,
        /// The full list to configure (required ones restored, others kept).
        attributes: Vec<AbacAttribute>,
    },
    /// ProvisionPermissionSet, then poll its status.
    ProvisionPermissionSet {
        /// Instance.
        instance_arn: String,
        /// Permission set.
        permission_set_arn: String,
        /// Target.
        target: ProvisionTarget,
    },
    /// DeleteGroupMembership (resolving the membership id from group and member if needed).
    DeleteGroupMembership {
        /// The identity store, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        identity_store_id: Option<String>,
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
}

impl Action {
    /// Whether the action changes anything (every action does; kept for the gate's counting).
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Self::DeleteAccountAssignment { .. } | Self::DeleteGroupMembership { .. } | Self::DeleteInlinePolicy { .. }
        )
    }

    /// The provisioning step that must follow a change to a permission set's definition.
    pub(crate) fn provision(instance_arn: &str, permission_set_arn: &str) -> Self {
        Self::ProvisionPermissionSet {
            instance_arn: instance_arn.to_owned(),
            permission_set_arn: permission_set_arn.to_owned(),
            target: ProvisionTarget::AllProvisionedAccounts,
        }
    }
}
