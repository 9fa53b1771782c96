//! The policy file (`guardrail.toml`): the global mode, the guarded instance, idc-guard's own
//! identity, the privileged sets and protected groups, each rule's mode, severity and settings,
//! exceptions, and owners.
//!
//! This module is the file format: [`Policy::from_toml`] reads it in one pass over a spanned TOML
//! tree (every problem at once, with file, line and column; unknown keys rejected). What a rule's
//! `[rules.<id>]` table holds is the rule's own business (`crate::rules`): the policy keeps each
//! rule's settings as the rule read them, in a [`RuleTable`]. [`Policy::default`] is the seed's
//! baseline and equals the shipped `guardrail.toml` (a test keeps the two in step).

mod parse;
mod schema;

use serde::Serialize;
use std::fmt;

use crate::domain::{AccountId, Date, IdentityStoreId, InstanceArn, NamePattern, RuleId};
pub use crate::domain::{Mode, Severity};
use crate::rules::{AnyRule, Baseline, RULES, Rule, Settings};
pub use crate::spanned::{PolicyError, Problem};
pub use schema::json_schema;

/// Settings every rule has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RuleCommon {
    /// The rule's own mode; the global mode caps it. `None`: the global mode.
    pub mode: Option<Mode>,
    /// Overrides the rule's default severity.
    pub severity: Option<Severity>,
}

impl RuleCommon {
    /// Neither mode nor severity set.
    pub const UNSET: Self = Self {
        mode: None,
        severity: None,
    };
}

/// One rule's configuration: its common settings and its own.
pub struct RuleConfig {
    /// The rule.
    pub rule: &'static dyn AnyRule,
    /// Mode and severity.
    pub common: RuleCommon,
    /// The rule's own settings (its `Rule::Settings`).
    pub settings: Box<dyn Settings>,
}

impl RuleConfig {
    /// A rule with its documented defaults.
    fn default_for(rule: &'static dyn AnyRule) -> Self {
        Self {
            rule,
            common: RuleCommon {
                mode: rule.doc().mode,
                severity: None,
            },
            settings: rule.default_settings(),
        }
    }
}

impl Clone for RuleConfig {
    fn clone(&self) -> Self {
        Self {
            rule: self.rule,
            common: self.common,
            settings: self.settings.clone_box(),
        }
    }
}

impl PartialEq for RuleConfig {
    fn eq(&self, other: &Self) -> bool {
        self.rule.doc().id == other.rule.doc().id
            && self.common == other.common
            && self.settings.eq_dyn(other.settings.as_ref())
    }
}

impl Eq for RuleConfig {}

impl fmt::Debug for RuleConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleConfig")
            .field("rule", &self.rule.doc().id)
            .field("common", &self.common)
            .field("settings", &self.settings)
            .finish()
    }
}

/// Every registered rule's configuration, in registry order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTable(Vec<RuleConfig>);

impl Default for RuleTable {
    /// Every rule with its defaults.
    fn default() -> Self {
        Self(RULES.iter().map(|r| RuleConfig::default_for(*r)).collect())
    }
}

impl RuleTable {
    /// Every rule's configuration, in registry order.
    pub fn iter(&self) -> impl Iterator<Item = &RuleConfig> {
        self.0.iter()
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut RuleConfig> {
        self.0.iter_mut()
    }

    fn get(&self, rule: RuleId) -> Option<&RuleConfig> {
        self.0.iter().find(|c| c.rule.doc().id == rule)
    }

    fn get_mut(&mut self, rule: RuleId) -> Option<&mut RuleConfig> {
        self.0.iter_mut().find(|c| c.rule.doc().id == rule)
    }

    /// The common settings of a rule (unset for an id no rule has).
    pub fn common(&self, rule: RuleId) -> &RuleCommon {
        self.get(rule).map_or(&RuleCommon::UNSET, |c| &c.common)
    }

    /// The common settings of a rule, to change.
    pub fn common_mut(&mut self, rule: RuleId) -> Option<&mut RuleCommon> {
        self.get_mut(rule).map(|c| &mut c.common)
    }

    /// Rule `R`'s settings.
    pub fn settings<R: Rule>(&self) -> Option<&R::Settings> {
        self.get(R::DOC.id)?.settings.as_any().downcast_ref()
    }

    /// Rule `R`'s settings, to change.
    pub fn settings_mut<R: Rule>(&mut self) -> Option<&mut R::Settings> {
        self.get_mut(R::DOC.id)?.settings.as_any_mut().downcast_mut()
    }
}

/// `[revocation]`: what a removal idc-guard makes does to the live role sessions issued through
/// what it removed (see `crate::revocation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    /// `enforce`: revoke them after every removal; `detect`: report what would be revoked; `off`.
    /// Capped by the global mode.
    pub mode: Mode,
    /// Added to the permission set's session duration before a statement is removed again
    /// (seconds, at most [`Revocation::MAX_MARGIN`]).
    pub margin: u64,
}

impl Revocation {
    /// The longest margin: with the longest session (12 hours) and the expiry sweep every 15
    /// minutes, no statement stays longer than 12 h 45 min, within the 13 hours promised.
    pub const MAX_MARGIN: u64 = 30 * 60;
}

impl Default for Revocation {
    /// On (capped by the global mode), 10 minutes of margin: the margin covers the clock skew
    /// between idc-guard and STS and the provisioning delay; a session's lifetime itself is the
    /// set's duration.
    fn default() -> Self {
        Self {
            mode: Mode::Enforce,
            margin: 600,
        }
    }
}

/// Which principals are idc-guard itself, so its own calls are recognised as echoes.
///
/// By exact, account-pinned role ARNs: the deployment passes its roles' ARNs (`IDC_GUARD_OWN_ROLES`),
/// and the policy may name more. Name prefixes are an explicit opt-in: they trust any role so
/// named in any account, which anyone able to create such a role could use to act unseen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnIdentity {
    /// Role name prefixes, e.g. `idc-guard-` (opt-in; empty by default).
    pub role_prefixes: Vec<String>,
    /// Exact role ARNs (compared by account and role path and name, whatever the partition).
    pub role_arns: Vec<String>,
}

impl OwnIdentity {
    /// Whether a role (by ARN and name) is idc-guard's own.
    pub fn is_own_role(&self, role_arn: &str, role_name: &str) -> bool {
        self.role_arns
            .iter()
            .any(|a| crate::domain::ids::same_role(a, role_arn))
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
            (r.permission_sets.is_empty()
                || permission_set_name.is_some_and(|n| r.permission_sets.iter().any(|p| p.matches(n))))
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
    /// The instance's Regions (its primary and its replicas, issue #19): events recorded in
    /// another Region are ignored, with the reason. Empty: every Region's events are judged.
    pub regions: Vec<String>,
    /// idc-guard's own principals.
    pub own_identity: OwnIdentity,
    /// Name patterns of the admin and break-glass permission sets.
    pub privileged: Vec<NamePattern>,
    /// Display name patterns of protected groups, whose memberships the reconciler reads and
    /// reports. Every group assigned a privileged permission set is protected as well.
    pub protected_groups: Vec<NamePattern>,
    /// Per-rule settings.
    pub rules: RuleTable,
    /// Exceptions.
    pub exceptions: Vec<Exception>,
    /// Who is told about findings.
    pub owners: Owners,
    /// What removals do to live sessions.
    pub revocation: Revocation,
}

impl Default for Policy {
    /// The seed guide's baseline; identical to the shipped `guardrail.toml`.
    fn default() -> Self {
        Self {
            mode: Mode::Enforce,
            instance_arn: None,
            identity_store_id: None,
            regions: Vec::new(),
            own_identity: OwnIdentity::default(),
            privileged: vec![NamePattern::new("*Admin*"), NamePattern::new("BreakGlass*")],
            protected_groups: Vec::new(),
            rules: RuleTable::default(),
            exceptions: Vec::new(),
            owners: Owners::default(),
            revocation: Revocation::default(),
        }
    }
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
            .unwrap_or_else(|| crate::rules::find(rule.as_str()).map_or(Severity::Medium, |r| r.doc().severity))
    }

    /// What every rule may know of the policy beyond its own settings.
    pub fn baseline(&self) -> Baseline<'_> {
        Baseline {
            privileged: &self.privileged,
            revocation: self.revocation.mode.min(self.mode),
            assignable: self
                .rules
                .settings::<crate::rules::assignment_principal_type::AssignmentPrincipalType>()
                .map_or(&[crate::domain::PrincipalType::Group][..], |s| &s.allowed[..]),
        }
    }

    /// Whether a permission set name is privileged (admin or break-glass).
    pub fn is_privileged(&self, name: &str) -> bool {
        self.baseline().is_privileged(name)
    }

    /// Whether a group display name matches `[groups] protected`.
    pub fn is_protected_group(&self, name: &str) -> bool {
        self.protected_groups.iter().any(|p| p.matches(name))
    }

    /// Parses and validates a policy; `file` names it in error messages.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, PolicyError> {
        parse::parse(file, text)
    }

    /// Reads and parses a policy file.
    pub fn load(path: &std::path::Path) -> Result<Self, PolicyError> {
        let text = crate::spanned::read_text(path, "policy file")?;
        Self::from_toml(&path.display().to_string(), &text)
    }

    /// Exceptions that have expired on `today`.
    pub fn expired_exceptions(&self, today: Date) -> impl Iterator<Item = &Exception> {
        self.exceptions.iter().filter(move |e| e.is_expired(today))
    }
}
