//! The rules: pure functions from a change and the facts known about it to a [`Verdict`].
//!
//! Invariant: nothing here performs I/O, reads a clock, or can fail. A rule that needs a fact
//! nobody supplied answers [`Verdict::Undetermined`] naming that fact; a rule that does not
//! concern the change answers [`Verdict::NotApplicable`].

mod abac;
mod action;
mod assignment;
mod boundary;
mod desired;
mod inline_policy;
mod managed_policy;
mod scim_only;
mod session_duration;
#[cfg(test)]
mod test_support;

use serde::Serialize;
use std::fmt;

use crate::facts::{Facts, PermissionSetFacts, Scope};
use crate::ids::InstanceArn;
use crate::model::{Change, ChangeKind, PermissionSetOp};
use crate::policy::{Exempt, Exemptions, Policy, Severity};

pub use action::{Action, Keep, ProvisionTarget};

/// The stable id of a rule. Renaming one breaks subscribers' notification filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "&'static str")]
pub enum RuleId {
    /// Only allowed principal types (GROUP) are assigned.
    AssignmentPrincipalType,
    /// Session durations stay under their caps.
    SessionDurationCap,
    /// Non-exempt permission sets carry the configured boundary.
    PermissionsBoundaryRequired,
    /// Inline policies grant no forbidden action outside exempt sets.
    InlinePolicyForbiddenActions,
    /// Forbidden AWS managed policies only on exempt sets.
    ManagedPolicyForbidden,
    /// The required ABAC attributes stay configured.
    AbacAttributesRequired,
    /// The identity store is written only by SCIM.
    IdentityStoreScimOnly,
    /// Live assignments match the desired-assignments file (the reconciler's diff).
    DesiredAssignments,
}

impl RuleId {
    /// Every rule, in registry order.
    pub const ALL: [RuleId; 8] = [
        Self::AssignmentPrincipalType,
        Self::SessionDurationCap,
        Self::PermissionsBoundaryRequired,
        Self::InlinePolicyForbiddenActions,
        Self::ManagedPolicyForbidden,
        Self::AbacAttributesRequired,
        Self::IdentityStoreScimOnly,
        Self::DesiredAssignments,
    ];

    /// The kebab-case id.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AssignmentPrincipalType => "assignment-principal-type",
            Self::SessionDurationCap => "session-duration-cap",
            Self::PermissionsBoundaryRequired => "permissions-boundary-required",
            Self::InlinePolicyForbiddenActions => "inline-policy-forbidden-actions",
            Self::ManagedPolicyForbidden => "managed-policy-forbidden",
            Self::AbacAttributesRequired => "abac-attributes-required",
            Self::IdentityStoreScimOnly => "identity-store-scim-only",
            Self::DesiredAssignments => "desired-assignments",
        }
    }

    /// Parses a kebab-case id.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The rule implementing this id.
    pub fn rule(self) -> &'static dyn Rule {
        match self {
            Self::AssignmentPrincipalType => &assignment::AssignmentPrincipalType,
            Self::SessionDurationCap => &session_duration::SessionDurationCap,
            Self::PermissionsBoundaryRequired => &boundary::PermissionsBoundaryRequired,
            Self::InlinePolicyForbiddenActions => &inline_policy::InlinePolicyForbiddenActions,
            Self::ManagedPolicyForbidden => &managed_policy::ManagedPolicyForbidden,
            Self::AbacAttributesRequired => &abac::AbacAttributesRequired,
            Self::IdentityStoreScimOnly => &scim_only::IdentityStoreScimOnly,
            Self::DesiredAssignments => &desired::DesiredAssignments,
        }
    }

    /// One line saying what the rule guards.
    pub fn summary(self) -> &'static str {
        self.rule().summary()
    }

    /// Severity when the policy does not override it.
    pub fn default_severity(self) -> Severity {
        self.rule().default_severity()
    }
}

impl From<RuleId> for &'static str {
    fn from(value: RuleId) -> Self {
        value.as_str()
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of resource a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    /// An account assignment.
    AccountAssignment,
    /// A permission set.
    PermissionSet,
    /// The Identity Center instance (ABAC configuration).
    Instance,
    /// The identity store.
    IdentityStore,
}

/// The resource a finding is about, with what is known to identify it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// What kind of resource.
    pub kind: ResourceKind,
    /// Its ARN or id.
    pub id: String,
    /// The permission set's name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_set_name: Option<String>,
    /// The permission set's ARN (for assignments and permission sets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_set_arn: Option<String>,
    /// The target account (for assignments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The principal id (for assignments and memberships).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
}

impl Resource {
    fn new(kind: ResourceKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            permission_set_name: None,
            permission_set_arn: None,
            account_id: None,
            principal_id: None,
        }
    }
}

/// A fact a rule needed and did not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissingFact {
    /// The permission set's name (exemptions and caps are by name).
    PermissionSetName,
    /// The permission set's session duration.
    SessionDuration,
    /// The inline policy document (absent or redacted in the event).
    InlinePolicy,
    /// The attached managed policies.
    ManagedPolicies,
    /// The permissions boundary.
    PermissionsBoundary,
    /// The instance's ABAC configuration.
    AccessControlAttributes,
    /// Whether an assignment exists now (the reconciler reads it live).
    AssignmentState,
}

/// Why a rule could not decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// The missing fact.
    pub fact: MissingFact,
    /// What depends on it.
    pub detail: String,
}

/// A violation as a rule sees it; the engine adds id, severity and mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Why it violates the policy and how to fix it.
    pub message: String,
    /// The offending resource.
    pub resource: Resource,
    /// The corrective actions, in order.
    pub remediation: Vec<Action>,
}

/// The outcome of one rule on one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The rule does not concern this change.
    NotApplicable,
    /// Compliant.
    Pass,
    /// A violation.
    Fail(Violation),
    /// A needed fact is missing.
    Undetermined(Missing),
}

/// What a rule sees.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The change.
    pub change: &'a Change,
    /// The facts about the resource.
    pub facts: &'a Facts,
    /// The policy.
    pub policy: &'a Policy,
}

impl Context<'_> {
    /// What a finding's message says idc-guard does about it: `action` ("puts it back") when
    /// the rule enforces, else that it only reports (the rule's mode, global mode applied).
    pub(super) fn what_idc_guard_does(&self, rule: RuleId, action: &str) -> String {
        match self.policy.effective_mode(rule) {
            crate::policy::Mode::Enforce => format!("idc-guard {action}"),
            mode => format!("idc-guard only reports it: the rule is in {mode} mode"),
        }
    }
}

/// A guardrail rule.
pub trait Rule: Sync {
    /// Its stable id.
    fn id(&self) -> RuleId;
    /// One line saying what it guards.
    fn summary(&self) -> &'static str;
    /// Severity unless the policy overrides it.
    fn default_severity(&self) -> Severity;
    /// Whether the rule judges this change: in [`Scope::Change`], whether the change touched the
    /// aspect the rule guards; in [`Scope::Resource`], whether it is about a resource of the
    /// rule's kind.
    fn concerns(&self, change: &ChangeKind, scope: Scope) -> bool;
    /// Judges the change; called only when [`Rule::concerns`] holds.
    fn judge(&self, cx: Context<'_>) -> Verdict;

    /// Evaluates the rule.
    fn evaluate(&self, cx: Context<'_>) -> Verdict {
        if self.concerns(&cx.change.kind, cx.facts.scope) {
            self.judge(cx)
        } else {
            Verdict::NotApplicable
        }
    }
}

/// Whether a permission-set rule judges a change: in change scope, whether the change touched
/// the rule's aspect; in resource scope, any permission set that still exists.
fn concerns_permission_set(change: &ChangeKind, scope: Scope, touched: fn(&PermissionSetOp) -> bool) -> bool {
    match (change, scope) {
        (ChangeKind::PermissionSet { op, .. }, Scope::Change) => touched(op),
        (ChangeKind::PermissionSet { op, .. }, Scope::Resource) => !matches!(op, PermissionSetOp::Deleted),
        _ => false,
    }
}

/// The permission set a rule judges: what is known of it, its instance, and how to report it.
struct Subject<'a> {
    ps: &'a PermissionSetFacts,
    instance: &'a InstanceArn,
    name: Option<&'a str>,
}

impl<'a> Subject<'a> {
    fn of(cx: &Context<'a>) -> Option<Self> {
        let ps = cx.facts.permission_set.as_ref()?;
        Some(Self {
            ps,
            instance: cx.change.kind.instance_arn()?,
            name: ps.name.known().map(String::as_str),
        })
    }

    /// The name when known, else the ARN.
    fn label(&self) -> &'a str {
        self.name.unwrap_or(self.ps.arn.as_str())
    }

    fn resource(&self) -> Resource {
        let mut r = Resource::new(ResourceKind::PermissionSet, self.ps.arn.as_str());
        r.permission_set_arn = Some(self.ps.arn.to_string());
        r.permission_set_name = self.name.map(str::to_owned);
        r
    }

    /// Settles a violation by exemption: `Some(Pass)` for an exempt set, `Some(Undetermined)`
    /// when only the unknown name could tell, `None` when the set is not exempt.
    fn exempted(&self, policy: &Policy, exemptions: &Exemptions, why: &str) -> Option<Verdict> {
        match policy.exempt(exemptions, self.name) {
            Exempt::Yes => Some(Verdict::Pass),
            Exempt::Unknown => Some(name_unknown(why)),
            Exempt::No => None,
        }
    }

    /// The provisioning that must follow a change to the set's definition.
    fn provision(&self) -> Action {
        Action::provision(self.instance.as_str(), self.ps.arn.as_str())
    }
}

fn name_unknown(what: &str) -> Verdict {
    Verdict::Undetermined(Missing {
        fact: MissingFact::PermissionSetName,
        detail: what.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_kebab_case_and_registered_under_their_own_id() {
        let mut seen = std::collections::HashSet::new();
        for id in RuleId::ALL {
            assert!(seen.insert(id.as_str()), "duplicate {id}");
            assert!(id.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{id}");
            assert_eq!(id.rule().id(), id);
            assert_eq!(RuleId::parse(id.as_str()), Some(id));
            assert!(!id.summary().is_empty());
        }
        assert_eq!(RuleId::parse("no-such-rule"), None);
    }
}
