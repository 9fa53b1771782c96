//! What rules find, and the verdict on a record: rule ids, modes, severities, the resource a
//! finding is about, findings, undetermined rules, exceptions applied, and why a record is ignored.

use serde::Serialize;
use std::fmt;

use super::action::Action;
use super::model::{Actor, EventMeta};

/// The stable id of a rule (`session-duration-cap`). Renaming one breaks subscribers'
/// notification filters. Each rule's file declares its own; the registry (`crate::rules`) lists
/// them and parses ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RuleId(&'static str);

impl RuleId {
    /// An id; kebab-case (a registry test checks it).
    pub const fn new(id: &'static str) -> Self {
        Self(id)
    }

    /// The kebab-case id.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// What idc-guard does about a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The rule is not evaluated.
    Off,
    /// Violations are reported; nothing is changed.
    Detect,
    /// Violations are reported and reverted.
    Enforce,
}

impl Mode {
    /// Parses `enforce`, `detect` or `off`.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "off" => Self::Off,
            "detect" => Self::Detect,
            "enforce" => Self::Enforce,
            _ => return None,
        })
    }

    /// The policy-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Detect => "detect",
            Self::Enforce => "enforce",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Hygiene.
    Low,
    /// Weakens a control.
    Medium,
    /// Grants or keeps access the policy forbids.
    High,
    /// Organisation-wide privilege.
    Critical,
}

impl Severity {
    /// Parses `low`, `medium`, `high` or `critical`.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "critical" => Self::Critical,
            _ => return None,
        })
    }

    /// The policy-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
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
    /// An entitlement of account access manager (issue #19).
    Entitlement,
    /// An Identity Center application (its access scopes, issue #19).
    Application,
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
    /// How people know the principal (user name and display name, or group name), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_name: Option<String>,
    /// The IAM role an entitlement lets its principal assume (issue #19).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

impl Resource {
    /// A resource known by its kind and id only.
    pub fn new(kind: ResourceKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            permission_set_name: None,
            permission_set_arn: None,
            account_id: None,
            principal_id: None,
            principal_name: None,
            role_arn: None,
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
    /// Whether idc-guard's journal records a change its own role made.
    OwnCallJournal,
    // track D
    /// How an asynchronous operation ended (its status could not be read, or it was still
    /// running when the guard stopped following it).
    OperationStatus,
    /// Which accounts hold a permission set at an older version, and the recent failed
    /// operations (the reconciler reads them).
    ProvisioningState,
    // track B
    /// Which assignments use a permission set across the instance (a listing failed).
    InstanceAssignments,
    /// A permission set's whole definition (its read failed: it was not compared with others).
    PermissionSetDefinition,
    // track C
    /// What the state table records about SCIM provisioning (failures, writes, removals) and
    /// the clock (only the guard and the reconciler know).
    ScimState,
    /// Who used an assignment and when (no usage data, or a group's members could not be
    /// read), or a window not yet observed whole.
    Usage,
    /// Whether an entitlement exists now, and its id (issue #19).
    EntitlementState,
    /// Whether an application holds an access scope now, and its name (issue #19).
    AccessScopeState,
    // issue #19
    /// Who made a change (an identity store notification names neither the caller nor the
    /// channel).
    Actor,
}

/// Why a record is not acted upon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum IgnoreReason {
    /// The call failed, so nothing changed.
    FailedCall {
        /// CloudTrail `errorCode`.
        error_code: String,
    },
    /// A read-only call.
    ReadOnly,
    /// An event source or name idc-guard does not handle.
    Unhandled,
    /// Not a CloudTrail API call.
    NotApiCall {
        /// The EventBridge detail-type.
        detail_type: String,
    },
    /// The change belongs to another Identity Center instance.
    OtherInstance {
        /// The instance named in the event.
        instance_arn: String,
    },
    /// The change belongs to another identity store.
    OtherIdentityStore {
        /// The store named in the event.
        identity_store_id: String,
    },
    /// Recorded in a Region the policy's `[instance] regions` does not list (issue #19).
    OtherRegion {
        /// The event's Region.
        region: String,
    },
    /// idc-guard's own change coming back as an event.
    OwnEcho {
        /// idc-guard's role.
        role_name: String,
    },
    // issue #19
    /// An identity store notification sent in a replica Region: the identity store sends one per
    /// Region per change, and only the primary Region's is judged.
    ReplicaRegion {
        /// The Region it was sent in.
        region: String,
        /// The instance's primary Region (the guard's).
        primary: String,
    },
    /// An identity store change that already arrived another way (its CloudTrail record, or a
    /// notification): it is judged under that delivery.
    AlreadyDelivered {
        /// The delivery that came first.
        by: String,
    },
}

impl fmt::Display for IgnoreReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FailedCall { error_code } => write!(f, "the call failed ({error_code}); nothing changed"),
            Self::ReadOnly => f.write_str("read-only call"),
            Self::Unhandled => f.write_str("event not handled by idc-guard"),
            Self::NotApiCall { detail_type } => write!(f, "not a CloudTrail API call (detail-type {detail_type:?})"),
            Self::OtherInstance { instance_arn } => write!(f, "another Identity Center instance ({instance_arn})"),
            Self::OtherIdentityStore { identity_store_id } => write!(f, "another identity store ({identity_store_id})"),
            Self::OtherRegion { region } => {
                write!(f, "a Region the policy's [instance] regions does not list ({region})")
            }
            Self::OwnEcho { role_name } => write!(f, "idc-guard's own change ({role_name})"),
            Self::ReplicaRegion { region, primary } => write!(
                f,
                "an identity store notification sent in the replica Region {region}: the change is judged from \
                 the primary Region's ({primary})"
            ),
            Self::AlreadyDelivered { by } => write!(f, "the same change already arrived as {by}"),
        }
    }
}

/// An exception that expired and so no longer covers a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiredException {
    /// Its owner.
    pub owner: String,
    /// Its reason.
    pub reason: String,
    /// The day it expired after.
    pub expired: String,
    /// Its line in the policy file.
    pub line: usize,
}

/// A violation, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule.
    pub rule: RuleId,
    /// Severity.
    pub severity: Severity,
    /// The rule's effective mode: `enforce` plans a revert, `detect` only reports.
    pub mode: Mode,
    /// Why, and how to fix.
    pub message: String,
    /// The resource.
    pub resource: Resource,
    /// The corrective actions planned.
    pub remediation: Vec<Action>,
    /// An exception that would have covered this, had it not expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_exception: Option<ExpiredException>,
}

/// A rule that could not decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Undetermined {
    /// The rule.
    pub rule: RuleId,
    /// The missing fact.
    pub fact: MissingFact,
    /// What depends on it.
    pub detail: String,
}

/// A violation covered by a live exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Excepted {
    /// The rule.
    pub rule: RuleId,
    /// The exception's owner.
    pub owner: String,
    /// Its reason.
    pub reason: String,
    /// Its last day.
    pub expires: String,
    /// Its line in the policy file.
    pub line: usize,
}

/// The verdict on one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventVerdict {
    /// A rule fails.
    Violation,
    /// No rule fails, but a rule needs a fact the event does not carry.
    Undetermined,
    /// Every rule passes.
    Compliant,
    /// Not acted upon.
    Ignored,
}

impl EventVerdict {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Violation => "violation",
            Self::Undetermined => "undetermined",
            Self::Compliant => "compliant",
            Self::Ignored => "ignored",
        }
    }
}

/// The outcome of checking one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The record's metadata.
    pub meta: EventMeta,
    /// Who made the change.
    pub actor: Actor,
    /// The verdict.
    pub verdict: EventVerdict,
    /// Why the record was ignored.
    pub reason: Option<IgnoreReason>,
    /// Violations.
    pub findings: Vec<Finding>,
    /// Rules that could not decide.
    pub undetermined: Vec<Undetermined>,
    /// Violations covered by exceptions.
    pub excepted: Vec<Excepted>,
}

impl Evaluation {
    /// The evaluation of a record that is not acted upon.
    pub fn ignored(meta: EventMeta, actor: Actor, reason: IgnoreReason) -> Self {
        Self {
            meta,
            actor,
            verdict: EventVerdict::Ignored,
            reason: Some(reason),
            findings: Vec::new(),
            undetermined: Vec::new(),
            excepted: Vec::new(),
        }
    }
}
