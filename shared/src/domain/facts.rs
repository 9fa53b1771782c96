//! What is known about the resource a change touched, gathered before the rules run.
//!
//! Offline (`idc-guard check`) the facts come from the event alone, via [`Facts::from_change`],
//! and only the aspect the event changed is judged ([`Scope::Change`]). The guard Lambdas read
//! the live resource and judge all of it ([`Scope::Resource`]). A fact that could not be read is
//! [`Fact::Unknown`], never "absent": rules turn it into an undetermined verdict.

use super::ids::{AccountId, PermissionSetArn};
use super::model::{
    AbacAttribute, AbacOp, Boundary, Change, ChangeKind, CustomerManagedPolicyRef, InlinePolicyText, PermissionSetOp,
    PrincipalNames, SessionDuration,
};
use super::operation::{OperationState, OperationStatus};

/// A value that is either known or not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Fact<T> {
    /// Not known (not in the event, or the read failed).
    #[default]
    Unknown,
    /// Known.
    Known(T),
}

impl<T> Fact<T> {
    /// The value, if known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Self::Known(v) => Some(v),
            Self::Unknown => None,
        }
    }
}

/// Which aspects of the resource the rules judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// Only what the change itself changed (offline checks of events).
    #[default]
    Change,
    /// The whole resource as read live (the guards and the reconciler).
    Resource,
}

/// What is known about a permission set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionSetFacts {
    /// Its ARN.
    pub arn: PermissionSetArn,
    /// Its name.
    pub name: Fact<String>,
    /// Its description (`None`: has none).
    pub description: Fact<Option<String>>,
    /// Its relay state (`None`: has none).
    pub relay_state: Fact<Option<String>>,
    /// Its session duration.
    pub session_duration: Fact<SessionDuration>,
    /// Its inline policy (`None`: has none).
    pub inline_policy: Fact<Option<InlinePolicyText>>,
    /// Its attached AWS managed policy ARNs (in change scope: the ones the change attached).
    pub managed_policies: Fact<Vec<String>>,
    /// Its permissions boundary (`None`: has none).
    pub boundary: Fact<Option<Boundary>>,
    /// Its customer managed policy references (read by the inventory, for the hygiene report;
    /// a guard's read of one set leaves it unknown: no rule judges it).
    pub customer_managed_policies: Fact<Vec<CustomerManagedPolicyRef>>,
}

impl PermissionSetFacts {
    /// Nothing known but the ARN.
    pub fn unknown(arn: PermissionSetArn) -> Self {
        Self {
            arn,
            name: Fact::Unknown,
            description: Fact::Unknown,
            relay_state: Fact::Unknown,
            session_duration: Fact::Unknown,
            inline_policy: Fact::Unknown,
            managed_policies: Fact::Unknown,
            boundary: Fact::Unknown,
            customer_managed_policies: Fact::Unknown,
        }
    }
}

/// Everything the rules may look at besides the change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// What the rules judge.
    pub scope: Scope,
    /// The permission set involved (the changed one, or the one an assignment uses).
    pub permission_set: Option<PermissionSetFacts>,
    /// The instance's ABAC attributes (`None`: ABAC not configured).
    pub access_control_attributes: Fact<Option<Vec<AbacAttribute>>>,
    /// Whether the assignment the change concerns exists now.
    pub assignment_exists: Fact<bool>,
    /// The id of the group membership the change added, if it exists now (`None`: gone).
    pub membership: Fact<Option<String>>,
    /// How people know the assignment's principal (`None`: it no longer exists). Read for
    /// reporting a finding, never needed to decide one.
    pub principal: Fact<Option<PrincipalNames>>,
    /// For a change made by one of idc-guard's own roles: whether idc-guard's journal records
    /// making it (only the guard knows, from the safety state).
    pub own_call_recorded: Fact<bool>,
    /// What the desired-assignments file says about the assignment (only the reconciler knows;
    /// `None`: no desired file, the `desired-assignments` rule does not apply).
    pub desired: Option<DesiredFact>,
    // track D
    /// The final status of the asynchronous operation the change started. `None`: not followed
    /// (offline, an operation still in progress when the call answered: its outcome is not in
    /// CloudTrail); `Some(Unknown)`: followed, but its status could not be read; the guard
    /// follows every operation to its end, after the change's other rules.
    pub operation: Option<Fact<OperationStatus>>,
    /// The accounts where the permission set is assigned but not provisioned at its latest
    /// version (the reconciler and `scan` read it).
    pub stale_accounts: Fact<Vec<AccountId>>,
    /// The failed operations on the permission set that Identity Center still lists (the
    /// reconciler and `scan`).
    pub failed_operations: Fact<Vec<OperationStatus>>,
    /// When the facts were read (Unix seconds), for rules that judge how recent something is.
    pub as_of: Option<u64>,
    // track B
    /// The permission set's standing across the whole instance: its assignments, where it is
    /// provisioned, the sets it nearly duplicates (only the reconciler and `scan` know, from the
    /// inventory; `None`: the hygiene rules do not apply).
    pub hygiene: Option<HygieneFact>,
    // track C
    /// SCIM provisioning's health: what the guard's or the reconciler's clock and state table
    /// know (offline checks know none of it).
    pub scim: super::scim::ScimFacts,
    /// The assignment's use (issue #17): only the reconciler and `scan` supply it (`None`: the
    /// `dormant-access` rule does not apply); `Some(Unknown)`: no usage data, or it could not
    /// be joined (a group's members or the set's name unread).
    pub usage: Option<Fact<super::usage::AssignmentUsage>>,
    /// The entitlement a change names, as it is now (`None`: it no longer exists), with its id
    /// (issue #19).
    pub entitlement: Fact<Option<super::entitlement::Entitlement>>,
    /// The authorised targets of the application's access scope a change names, as they are now
    /// (`None`: the application does not hold the scope) (issue #19).
    pub access_scope: Fact<Option<Vec<String>>>,
    /// The name of the application a change names (`None`: it has none, or it is gone).
    pub application_name: Fact<Option<String>>,
}

/// What the desired-assignments file says about one assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredFact {
    /// Whether the file asks for it.
    pub wanted: bool,
    /// The principal's name (group display name or user name), for messages.
    pub principal_name: Option<String>,
    /// The file line of the entry that asks for it.
    pub line: Option<usize>,
}

impl Facts {
    /// The facts an event carries about what it changed.
    pub fn from_change(change: &Change) -> Self {
        let mut facts = Facts {
            operation: Self::operation_on_its_face(change),
            ..Facts::default()
        };
        match &change.kind {
            ChangeKind::AssignmentCreated(a) => {
                facts.permission_set = Some(PermissionSetFacts::unknown(a.permission_set_arn.clone()));
                facts.assignment_exists = Fact::Known(true);
            }
            ChangeKind::AssignmentDeleted(a) => {
                facts.permission_set = Some(PermissionSetFacts::unknown(a.permission_set_arn.clone()));
                facts.assignment_exists = Fact::Known(false);
            }
            ChangeKind::PermissionSet {
                permission_set_arn, op, ..
            } => {
                let mut ps = PermissionSetFacts::unknown(permission_set_arn.clone());
                match op {
                    PermissionSetOp::Created {
                        name,
                        description,
                        session_duration,
                        relay_state,
                        ..
                    } => {
                        ps.name = Fact::Known(name.clone());
                        ps.description = Fact::Known(description.clone());
                        ps.relay_state = Fact::Known(relay_state.clone());
                        ps.session_duration = Fact::Known(session_duration.clone());
                        // A new set has no policies and no boundary yet; in change scope the
                        // rules for those aspects do not look at a creation anyway.
                        ps.inline_policy = Fact::Known(None);
                        ps.managed_policies = Fact::Known(Vec::new());
                        ps.boundary = Fact::Known(None);
                    }
                    PermissionSetOp::Updated { session_duration, .. } => {
                        if let Some(d) = session_duration {
                            ps.session_duration = Fact::Known(d.clone());
                        }
                    }
                    PermissionSetOp::InlinePolicyPut { policy } => {
                        ps.inline_policy = match policy {
                            InlinePolicyText::Text(_) | InlinePolicyText::Oversized { .. } => {
                                Fact::Known(Some(policy.clone()))
                            }
                            InlinePolicyText::Redacted => Fact::Unknown,
                        };
                    }
                    PermissionSetOp::InlinePolicyDeleted => ps.inline_policy = Fact::Known(None),
                    PermissionSetOp::ManagedPolicyAttached { policy_arn } => {
                        ps.managed_policies = Fact::Known(vec![policy_arn.clone()]);
                    }
                    PermissionSetOp::BoundaryPut { boundary } => ps.boundary = Fact::Known(Some(boundary.clone())),
                    PermissionSetOp::BoundaryDeleted => ps.boundary = Fact::Known(None),
                    PermissionSetOp::Deleted
                    | PermissionSetOp::ManagedPolicyDetached { .. }
                    | PermissionSetOp::CustomerManagedPolicyAttached { .. }
                    | PermissionSetOp::CustomerManagedPolicyDetached { .. }
                    | PermissionSetOp::Provisioned { .. }
                    | PermissionSetOp::Unreadable { .. } => {}
                }
                facts.permission_set = Some(ps);
            }
            ChangeKind::AccessControlAttributes { op, .. } => {
                facts.access_control_attributes = match op {
                    AbacOp::Configured { attributes, .. } => Fact::Known(Some(attributes.clone())),
                    AbacOp::Deleted => Fact::Known(None),
                    AbacOp::Unreadable { .. } => Fact::Unknown,
                };
            }
            // The event's face: what it created exists, what it deleted does not.
            ChangeKind::EntitlementCreated(e) => facts.entitlement = Fact::Known(Some(e.clone())),
            ChangeKind::EntitlementDeleted { .. } => facts.entitlement = Fact::Known(None),
            ChangeKind::AccessScope { op, .. } => {
                facts.access_scope = Fact::Known(match op {
                    super::entitlement::AccessScopeOp::Put { authorized_targets } => Some(authorized_targets.clone()),
                    super::entitlement::AccessScopeOp::Deleted => None,
                });
            }
            ChangeKind::Tags { .. } | ChangeKind::Identity { .. } | ChangeKind::Scim(_) => {}
        }
        facts
    }

    /// The permission set's name, if known.
    pub fn permission_set_name(&self) -> Option<&str> {
        self.permission_set
            .as_ref()
            .and_then(|p| p.name.known())
            .map(String::as_str)
    }
}

impl Facts {
    /// The operation a change started, when its response already showed how it ended.
    fn operation_on_its_face(change: &Change) -> Option<Fact<OperationStatus>> {
        let state = change.meta.operation.as_ref()?.state;
        if state == OperationState::InProgress {
            return None;
        }
        change.operation_status(state).map(Fact::Known)
    }
}

// track B
/// What the inventory shows of one permission set across the instance (`crate::hygiene`
/// computes it once per reconciler run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HygieneFact {
    /// Whether any account assignment uses the set (`Unknown`: none was seen, but some
    /// assignment listing failed).
    pub assigned: Fact<bool>,
    /// Accounts the set is provisioned to where no assignment of it exists (`Unknown`: where it
    /// is provisioned could not be read).
    pub provisioned_unassigned: Fact<Vec<AccountId>>,
    /// Accounts it is provisioned to whose assignments could not be read whole.
    pub provisioned_undetermined: Vec<AccountId>,
    /// Its near-duplicate cluster (`Known(None)`: in none; `Unknown`: its definition could not
    /// be read, so it was not compared).
    pub near_duplicates: Fact<Option<DuplicateCluster>>,
}

/// A near-duplicate cluster, as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateCluster {
    /// The cluster's number in the run (1-based, stable for equal input).
    pub number: usize,
    /// Every member's label (name, else ARN), sorted.
    pub members: Vec<String>,
    /// The threshold the cluster was built with, in thousandths.
    pub threshold_permille: u16,
    /// The most similar other member, and the similarity in thousandths (rounded down).
    pub nearest: (String, u16),
    /// The number of content features every member has.
    pub common: usize,
    /// Features this member has that some other member lacks.
    pub adds: Vec<String>,
    /// Features every other member has and this one lacks.
    pub lacks: Vec<String>,
    /// A consolidation hint, when the members differ only in team-like values.
    pub hint: Option<String>,
}
