//! The policy file (`guardrail.toml`): global and per-rule modes, rule settings, exceptions.
//!
//! [`Policy::from_toml`] parses and validates a policy in one pass over a spanned TOML tree, so
//! that every problem is reported at once with file, line and column, and unknown keys are
//! rejected. [`Policy::default`] is the seed's baseline and equals the shipped `guardrail.toml`
//! (a test keeps the two in step).

pub(crate) mod parse;
mod schema;

use serde::Serialize;
use std::fmt;

use crate::date::Date;
use crate::iam::ActionPattern;
use crate::ids::{AccountId, IdentityStoreId, InstanceArn};
use crate::model::{AbacAttribute, Boundary, CustomerManagedPolicyRef, PrincipalType, SessionDuration};
use crate::pattern::{NamePattern, any_matches};
use crate::rules::RuleId;

pub use parse::{PolicyError, Problem};
pub use schema::json_schema;

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

/// Settings every rule has.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleCommon {
    /// The rule's own mode; the global mode caps it. `None`: the global mode.
    pub mode: Option<Mode>,
    /// Overrides the rule's default severity.
    pub severity: Option<Severity>,
}

/// A permission-set exemption list: the privileged sets (by default) and further name patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exemptions {
    /// Whether the sets matching the policy's `privileged` patterns are exempt.
    pub privileged: bool,
    /// Further exempt name patterns.
    pub names: Vec<NamePattern>,
}

/// `assignment-principal-type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentPrincipalTypeSettings {
    /// Common settings.
    pub common: RuleCommon,
    /// Principal types that may be assigned.
    pub allowed: Vec<PrincipalType>,
}

/// A session-duration limit for some permission sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationLimit {
    /// The sets it applies to.
    pub permission_sets: Vec<NamePattern>,
    /// Their maximum.
    pub max: SessionDuration,
}

/// `session-duration-cap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDurationCapSettings {
    /// Common settings.
    pub common: RuleCommon,
    /// The cap for every set no other limit names.
    pub max: SessionDuration,
    /// The cap for privileged sets.
    pub privileged_max: SessionDuration,
    /// Further limits, the first match wins (checked before `privileged_max`).
    pub limits: Vec<DurationLimit>,
}

/// `permissions-boundary-required`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundarySettings {
    /// Common settings.
    pub common: RuleCommon,
    /// The boundary every non-exempt set must carry.
    pub boundary: Boundary,
    /// Exempt sets.
    pub exempt: Exemptions,
}

/// `inline-policy-forbidden-actions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlinePolicySettings {
    /// Common settings.
    pub common: RuleCommon,
    /// Action patterns no inline policy may grant.
    pub actions: Vec<ActionPattern>,
    /// Exempt sets.
    pub exempt: Exemptions,
}

/// `managed-policy-forbidden`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicySettings {
    /// Common settings.
    pub common: RuleCommon,
    /// AWS managed policy ARNs that only exempt sets may carry.
    pub policies: Vec<String>,
    /// Exempt sets.
    pub exempt: Exemptions,
}

/// `abac-attributes-required`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbacSettings {
    /// Common settings.
    pub common: RuleCommon,
    /// Attributes that must stay configured, with their sources.
    pub attributes: Vec<AbacAttribute>,
}

/// `identity-store-scim-only`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimOnlySettings {
    /// Common settings.
    pub common: RuleCommon,
}

/// `desired-assignments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredAssignmentsSettings {
    /// Common settings.
    pub common: RuleCommon,
}

/// Per-rule settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSettings {
    /// `assignment-principal-type`.
    pub assignment_principal_type: AssignmentPrincipalTypeSettings,
    /// `session-duration-cap`.
    pub session_duration_cap: SessionDurationCapSettings,
    /// `permissions-boundary-required`.
    pub permissions_boundary_required: BoundarySettings,
    /// `inline-policy-forbidden-actions`.
    pub inline_policy_forbidden_actions: InlinePolicySettings,
    /// `managed-policy-forbidden`.
    pub managed_policy_forbidden: ManagedPolicySettings,
    /// `abac-attributes-required`.
    pub abac_attributes_required: AbacSettings,
    /// `identity-store-scim-only`.
    pub identity_store_scim_only: ScimOnlySettings,
    /// `desired-assignments`.
    pub desired_assignments: DesiredAssignmentsSettings,
}

impl RuleSettings {
    /// The common settings of a rule.
    pub fn common(&self, rule: RuleId) -> &RuleCommon {
        match rule {
            RuleId::AssignmentPrincipalType => &self.assignment_principal_type.common,
            RuleId::SessionDurationCap => &self.session_duration_cap.common,
            RuleId::PermissionsBoundaryRequired => &self.permissions_boundary_required.common,
            RuleId::InlinePolicyForbiddenActions => &self.inline_policy_forbidden_actions.common,
            RuleId::ManagedPolicyForbidden => &self.managed_policy_forbidden.common,
            RuleId::AbacAttributesRequired => &self.abac_attributes_required.common,
            RuleId::IdentityStoreScimOnly => &self.identity_store_scim_only.common,
            RuleId::DesiredAssignments => &self.desired_assignments.common,
        }
    }
}

/// Which principals are idc-guard itself, so its own calls are recognised as echoes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnIdentity {
    /// Role name prefixes, e.g. `idc-guard-`.
    pub role_prefixes: Vec<String>,
    /// Exact role ARNs.
    pub role_arns: Vec<String>,
}

impl OwnIdentity {
    /// Whether a role (by ARN and name) is idc-guard's own.
    pub fn is_own_role(&self, role_arn: &str, role_name: &str) -> bool {
        self.role_arns.iter().any(|a| a == role_arn)
            || self.role_prefixes.iter().any(|p| role_name.starts_with(p.as_str()))
    }
}

/// A time-limited, owned exception to one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exception {
    /// The rule it exempts from.
    pub rule: RuleId,
    /// Permission set name patterns (empty: any set).
    #[serde(serialize_with = "serialize_patterns")]
    pub permission_sets: Vec<NamePattern>,
    /// Account ids (empty: any account).
    pub accounts: Vec<AccountId>,
    /// User or group ids (empty: any principal).
    pub principals: Vec<String>,
    /// Who answers for it.
    pub owner: String,
    /// Why it exists.
    pub reason: String,
    /// The last day it applies.
    #[serde(serialize_with = "serialize_display")]
    pub expires: Date,
    /// 1-based line in the policy file, for reports.
    pub line: usize,
}

fn serialize_patterns<S: serde::Serializer>(p: &[NamePattern], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(p.iter().map(NamePattern::as_str))
}

fn serialize_display<S: serde::Serializer, T: fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl Exception {
    /// Whether the exception has expired on `today` (it applies through its expiry day).
    pub fn is_expired(&self, today: Date) -> bool {
        today > self.expires
    }
}

/// Where findings are routed: `[owners]`.
///
/// The owner of a finding is, in order: the value of the permission set's tag `tag_key`; the
/// first route matching the permission set's name and the account; the default owner. An owner
/// is the SNS `owner` attribute's value and names the Slack channels (keys of the webhook
/// secret) its findings go to: `slack_channels[owner]`, else a channel named like the owner
/// (the notifier falls back to the `default` channel). Nobody is ever dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owners {
    /// The permission set tag naming its owner.
    pub tag_key: String,
    /// The owner when nothing more specific is known.
    pub default_owner: String,
    /// Owners by permission set name and account; the first match wins.
    pub routes: Vec<OwnerRoute>,
    /// Slack channel keys by owner.
    pub slack_channels: Vec<(String, Vec<String>)>,
}

/// One `[[owners.routes]]` entry: every dimension it names must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRoute {
    /// The owner.
    pub owner: String,
    /// Permission set name patterns (empty: any set).
    pub permission_sets: Vec<NamePattern>,
    /// Account ids (empty: any account).
    pub accounts: Vec<AccountId>,
}

/// The default owner tag key.
pub const DEFAULT_OWNER_TAG: &str = "owner";
/// The default owner.
pub const DEFAULT_OWNER: &str = "platform";

impl Default for Owners {
    /// Tag `owner`, default owner `platform`, no routes, no channel map.
    fn default() -> Self {
        Self {
            tag_key: DEFAULT_OWNER_TAG.to_owned(),
            default_owner: DEFAULT_OWNER.to_owned(),
            routes: Vec::new(),
            slack_channels: Vec::new(),
        }
    }
}

impl Owners {
    /// Only a default owner (the rest as [`Owners::default`]).
    pub fn with_default(owner: impl Into<String>) -> Self {
        Self {
            default_owner: owner.into(),
            ..Self::default()
        }
    }

    /// The owner: the tagged owner if any, else the first matching route, else the default. A
    /// route naming permission sets does not match while the set's name is unknown.
    pub fn resolve<'a>(
        &'a self,
        tagged: Option<&'a str>,
        permission_set_name: Option<&str>,
        account: Option<&str>,
    ) -> &'a str {
        if let Some(t) = tagged.map(str::trim).filter(|t| !t.is_empty()) {
            return t;
        }
        let matches = |r: &OwnerRoute| {
            (r.permission_sets.is_empty() || permission_set_name.is_some_and(|n| any_matches(&r.permission_sets, n)))
                && (r.accounts.is_empty() || account.is_some_and(|a| r.accounts.iter().any(|x| x.as_str() == a)))
        };
        self.routes
            .iter()
            .find(|r| matches(r))
            .map_or(self.default_owner.as_str(), |r| r.owner.as_str())
    }

    /// The Slack channel keys of `owner`: its entry in `slack_channels`, else its own name.
    pub fn channels_of(&self, owner: &str) -> Vec<String> {
        self.slack_channels
            .iter()
            .find(|(o, _)| o == owner)
            .map_or_else(|| vec![owner.to_owned()], |(_, c)| c.clone())
    }
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The global mode; it caps every rule's mode.
    pub mode: Mode,
    /// The guarded instance; events for other instances are ignored. `None`: any instance.
    pub instance_arn: Option<InstanceArn>,
    /// The guarded identity store; events for other stores are ignored. `None`: any store.
    pub identity_store_id: Option<IdentityStoreId>,
    /// idc-guard's own principals.
    pub own_identity: OwnIdentity,
    /// Name patterns of the admin and break-glass permission sets.
    pub privileged: Vec<NamePattern>,
    /// Display name patterns of protected groups, whose memberships the reconciler reads and
    /// reports. Every group assigned a privileged permission set is protected as well.
    pub protected_groups: Vec<NamePattern>,
    /// Per-rule settings.
    pub rules: RuleSettings,
    /// Exceptions.
    pub exceptions: Vec<Exception>,
    /// Who is told about findings.
    pub owners: Owners,
}

fn duration(text: &str) -> SessionDuration {
    SessionDuration::parse(text).unwrap_or_else(SessionDuration::default_for_new_permission_set)
}

impl Default for Policy {
    /// The seed guide's baseline; identical to the shipped `guardrail.toml`.
    fn default() -> Self {
        let exempt = || Exemptions {
            privileged: true,
            names: Vec::new(),
        };
        Self {
            mode: Mode::Enforce,
            instance_arn: None,
            identity_store_id: None,
            own_identity: OwnIdentity {
                role_prefixes: vec!["idc-guard-".to_owned()],
                role_arns: Vec::new(),
            },
            privileged: vec![NamePattern::new("*Admin*"), NamePattern::new("BreakGlass*")],
            protected_groups: Vec::new(),
            rules: RuleSettings {
                assignment_principal_type: AssignmentPrincipalTypeSettings {
                    common: RuleCommon::default(),
                    allowed: vec![PrincipalType::Group],
                },
                session_duration_cap: SessionDurationCapSettings {
                    common: RuleCommon::default(),
                    max: duration("PT8H"),
                    privileged_max: duration("PT1H"),
                    limits: Vec::new(),
                },
                permissions_boundary_required: BoundarySettings {
                    common: RuleCommon::default(),
                    boundary: Boundary::CustomerManaged(CustomerManagedPolicyRef {
                        name: "platform-boundary".to_owned(),
                        path: "/".to_owned(),
                    }),
                    exempt: exempt(),
                },
                inline_policy_forbidden_actions: InlinePolicySettings {
                    common: RuleCommon::default(),
                    actions: ["iam:*", "organizations:*", "account:*"]
                        .into_iter()
                        .map(ActionPattern::new)
                        .collect(),
                    exempt: exempt(),
                },
                managed_policy_forbidden: ManagedPolicySettings {
                    common: RuleCommon::default(),
                    policies: vec![
                        "arn:aws:iam::aws:policy/AdministratorAccess".to_owned(),
                        "arn:aws:iam::aws:policy/IAMFullAccess".to_owned(),
                    ],
                    exempt: exempt(),
                },
                abac_attributes_required: AbacSettings {
                    common: RuleCommon::default(),
                    attributes: vec![
                        AbacAttribute {
                            key: "team".to_owned(),
                            source: "${path:enterprise.department}".to_owned(),
                        },
                        AbacAttribute {
                            key: "project".to_owned(),
                            source: "${path:enterprise.costCenter}".to_owned(),
                        },
                    ],
                },
                identity_store_scim_only: ScimOnlySettings {
                    common: RuleCommon {
                        mode: Some(Mode::Detect),
                        severity: None,
                    },
                },
                desired_assignments: DesiredAssignmentsSettings {
                    common: RuleCommon::default(),
                },
            },
            exceptions: Vec::new(),
            owners: Owners::default(),
        }
    }
}

/// Whether a set is exempt, as far as its name is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exempt {
    /// The name matches an exemption.
    Yes,
    /// The name matches none.
    No,
    /// The name is unknown and some set would be exempt.
    Unknown,
}

impl Policy {
    /// The mode a rule runs in: its own mode, capped by the global one.
    pub fn effective_mode(&self, rule: RuleId) -> Mode {
        let own = self.rules.common(rule).mode.unwrap_or(self.mode);
        own.min(self.mode)
    }

    /// The severity a rule's findings carry.
    pub fn severity(&self, rule: RuleId) -> Severity {
        self.rules
            .common(rule)
            .severity
            .unwrap_or_else(|| rule.default_severity())
    }

    /// Whether a permission set name is privileged (admin or break-glass).
    pub fn is_privileged(&self, name: &str) -> bool {
        any_matches(&self.privileged, name)
    }

    /// Whether a group display name matches `[groups] protected`.
    pub fn is_protected_group(&self, name: &str) -> bool {
        any_matches(&self.protected_groups, name)
    }

    /// Whether a set with the given (possibly unknown) name is exempt under `exemptions`.
    pub fn exempt(&self, exemptions: &Exemptions, name: Option<&str>) -> Exempt {
        let has_any = (exemptions.privileged && !self.privileged.is_empty()) || !exemptions.names.is_empty();
        match name {
            Some(n) if (exemptions.privileged && self.is_privileged(n)) || any_matches(&exemptions.names, n) => {
                Exempt::Yes
            }
            Some(_) => Exempt::No,
            None if has_any => Exempt::Unknown,
            None => Exempt::No,
        }
    }

    /// Parses and validates a policy; `file` names it in error messages.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, PolicyError> {
        parse::parse(file, text)
    }

    /// Reads and parses a policy file.
    pub fn load(path: &std::path::Path) -> Result<Self, PolicyError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::io(&name, &e))?;
        Self::from_toml(&name, &text)
    }

    /// Exceptions that have expired on `today`.
    pub fn expired_exceptions(&self, today: Date) -> impl Iterator<Item = &Exception> {
        self.exceptions.iter().filter(move |e| e.is_expired(today))
    }
}
