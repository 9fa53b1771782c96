//! The rules: pure functions from a change and the facts known about it to a [`Verdict`].
//!
//! **A rule is one unit.** Each rule's file holds everything about it: its id and documentation
//! ([`Doc`]: summary, default severity and mode, why it matters, the correction it plans, the AWS
//! actions its reads and corrections need), its settings type with their defaults, how they are
//! read from the policy file's `[rules.<id>]` table, their JSON Schema fragment, and its judgement.
//! [`RULES`] is the registry: one line per rule, in evaluation order. Nothing else in the crate
//! names a particular rule's settings, so adding a rule is its file, its registry line, its
//! section of the shipped `guardrail.toml`, and fixtures (ARCHITECTURE.md, "How to add a rule").
//! One exception, by design (issue #19): `entitlement-principal-type` has no allowed types of
//! its own but `assignment-principal-type`'s, which `Policy::baseline` passes to every rule as
//! [`Baseline::assignable`], and it takes that rule's `[[exceptions]]` too
//! ([`Rule::SHARES_EXCEPTIONS_OF`], applied by the engine). Prefer neither for a new rule.
//!
//! Invariant: nothing here performs I/O, reads a clock, or can fail. A rule that needs a fact
//! nobody supplied answers [`Verdict::Undetermined`] naming that fact; a rule that does not
//! concern the change answers [`Verdict::NotApplicable`].

pub mod abac_attributes_required;
pub mod application_account_access;
pub mod assignment_principal_type;
pub mod desired_assignments;
pub mod dormant_access;
pub mod entitlement_principal_type;
pub mod entitlement_role_allowed;
mod exempt;
pub mod identity_store_scim_only;
pub mod inline_policy_forbidden_actions;
pub mod managed_policy_forbidden;
pub mod own_role_unrecorded_change;
pub mod permission_set_near_duplicate;
pub mod permission_set_orphaned;
pub mod permission_set_provisioned_unassigned;
pub mod permissions_boundary_required;
pub mod provisioning_current;
pub mod provisioning_failed;
pub mod scim_mass_removal;
pub mod scim_silent;
pub mod scim_sync_failing;
pub mod scim_token_expiry;
pub mod session_duration_cap;
#[cfg(test)]
mod test_support;

use std::any::Any;
use std::fmt;
use std::ops::ControlFlow;

use crate::domain::{
    Action, Change, ChangeKind, Entitlement, Fact, Facts, InstanceArn, MissingFact, Mode, NamePattern,
    PermissionSetFacts, PermissionSetOp, PrincipalNames, Removal, Resource, ResourceKind, RuleId, Scope, Severity,
};
use crate::spanned::{Reader, Table};

pub use exempt::{Exempt, Exemptions};

/// The registry: every rule, in evaluation order (the reconciler keeps the first of two findings
/// planning the same correction, so order matters).
pub static RULES: &[&dyn AnyRule] = &[
    &assignment_principal_type::AssignmentPrincipalType,
    &session_duration_cap::SessionDurationCap,
    &permissions_boundary_required::PermissionsBoundaryRequired,
    &inline_policy_forbidden_actions::InlinePolicyForbiddenActions,
    &managed_policy_forbidden::ManagedPolicyForbidden,
    &abac_attributes_required::AbacAttributesRequired,
    &identity_store_scim_only::IdentityStoreScimOnly,
    &desired_assignments::DesiredAssignments,
    &own_role_unrecorded_change::OwnRoleUnrecordedChange,
    &provisioning_failed::ProvisioningFailed,
    &provisioning_current::ProvisioningCurrent,
    &permission_set_orphaned::PermissionSetOrphaned,
    &permission_set_provisioned_unassigned::PermissionSetProvisionedUnassigned,
    &permission_set_near_duplicate::PermissionSetNearDuplicate,
    &scim_token_expiry::ScimTokenExpiry,
    &scim_sync_failing::ScimSyncFailing,
    &scim_silent::ScimSilent,
    &scim_mass_removal::ScimMassRemoval,
    &dormant_access::DormantAccess,
    &entitlement_principal_type::EntitlementPrincipalType,
    &entitlement_role_allowed::EntitlementRoleAllowed,
    &application_account_access::ApplicationAccountAccess,
];

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static dyn AnyRule> {
    RULES.iter().copied().find(|r| r.doc().id.as_str() == id)
}

/// Every rule id, in registry order.
pub fn ids() -> impl Iterator<Item = RuleId> {
    RULES.iter().map(|r| r.doc().id)
}

/// What a rule is, for people and for the deployment: one constant per rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Doc {
    /// The stable id.
    pub id: RuleId,
    /// One line saying what it guards.
    pub summary: &'static str,
    /// Its severity unless the policy overrides it.
    pub severity: Severity,
    /// Its mode unless the policy sets one (`None`: the global mode).
    pub mode: Option<Mode>,
    /// Why it matters, in one sentence (notifications).
    pub why: &'static str,
    /// The correction it plans, in words (`idc-guard rules`).
    pub correction: &'static str,
    /// Where it is judged.
    pub runs: Runs,
    /// The AWS actions (IAM names) its live reads and its corrections need, in groups; the
    /// deployment's roles are checked against the union of these.
    pub actions: &'static [&'static [&'static str]],
}

impl Doc {
    /// Every AWS action it needs.
    pub fn actions(&self) -> impl Iterator<Item = &'static str> {
        self.actions.iter().flat_map(|group| group.iter().copied())
    }
}

/// Where a rule is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// On every event and by the reconciler.
    Everywhere,
    /// Only by the reconciler and `scan` (its facts come from the whole instance).
    Reconciler,
}

/// A violation as a rule sees it; the engine adds id, severity and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Why it violates the policy and how to fix it.
    pub message: String,
    /// The offending resource.
    pub resource: Resource,
    /// The corrective actions, in order.
    pub remediation: Vec<Action>,
}

/// Why a rule could not decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The missing fact.
    pub fact: MissingFact,
    /// What depends on it.
    pub detail: String,
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

/// What every rule may know of the policy beyond its own settings.
#[derive(Debug, Clone, Copy)]
pub struct Baseline<'a> {
    /// Name patterns of the admin and break-glass permission sets.
    pub privileged: &'a [NamePattern],
    /// Whether a removal's live sessions are revoked (the policy's `[revocation] mode`, capped by
    /// the global mode): a rule that plans a removal plans [`Action::RevokeSessions`] after it
    /// unless this is `off`.
    ///
    /// [`Action::RevokeSessions`]: crate::domain::Action::RevokeSessions
    pub revocation: Mode,
    /// The principal types access may be granted to: `assignment-principal-type`'s `allowed`,
    /// which `entitlement-principal-type` shares (issue #19: one answer to "groups, never users").
    pub assignable: &'a [crate::domain::PrincipalType],
}

impl Baseline<'_> {
    /// Whether a permission set name is privileged (admin or break-glass).
    pub fn is_privileged(&self, name: &str) -> bool {
        self.privileged.iter().any(|p| p.matches(name))
    }

    /// The revocation of the live sessions `removal` leaves behind, planned right after it,
    /// unless the policy turns revocation off.
    pub fn revoke_sessions(&self, instance_arn: Option<InstanceArn>, removal: Removal) -> Option<Action> {
        (self.revocation != Mode::Off).then_some(Action::RevokeSessions {
            instance_arn,
            removal,
            mode: self.revocation,
        })
    }
}

/// What a rule sees.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a, S> {
    /// The change.
    pub change: &'a Change,
    /// The facts about the resource.
    pub facts: &'a Facts,
    /// The rule's settings.
    pub settings: &'a S,
    /// The policy's shared settings.
    pub baseline: Baseline<'a>,
    /// The rule's effective mode (the global mode applied).
    pub mode: Mode,
}

impl<S> Context<'_, S> {
    /// What a finding's message says idc-guard does about it: `action` ("puts it back") when
    /// the rule enforces, else that it only reports.
    pub fn what_idc_guard_does(&self, action: &str) -> String {
        match self.mode {
            Mode::Enforce => format!("idc-guard {action}"),
            mode => format!("idc-guard only reports it: the rule is in {mode} mode"),
        }
    }
}

/// A rule's settings: any plain data the rule defines (cloned, compared and printed with the
/// policy that holds it).
pub trait Settings: Any + fmt::Debug + Send + Sync {
    /// A copy.
    fn clone_box(&self) -> Box<dyn Settings>;
    /// Whether `other` holds equal settings of the same type.
    fn eq_dyn(&self, other: &dyn Settings) -> bool;
    /// For downcasting to the rule's own type.
    fn as_any(&self) -> &dyn Any;
    /// For downcasting to the rule's own type.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + PartialEq + fmt::Debug + Send + Sync> Settings for T {
    fn clone_box(&self) -> Box<dyn Settings> {
        Box::new(self.clone())
    }

    fn eq_dyn(&self, other: &dyn Settings) -> bool {
        other.as_any().downcast_ref::<T>().is_some_and(|o| o == self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A guardrail rule, typed by its settings.
pub trait Rule: Send + Sync + 'static {
    /// Its settings (`()` for a rule with none besides mode and severity).
    type Settings: Clone + PartialEq + fmt::Debug + Send + Sync + 'static;

    /// What it is.
    const DOC: Doc;

    /// The keys of its `[rules.<id>]` table besides `mode` and `severity`.
    const KEYS: &'static [&'static str] = &[];

    /// The JSON Schema `properties` of those keys, as JSON text (a test checks it parses and
    /// lists exactly [`Rule::KEYS`]).
    const SCHEMA: &'static str = "{}";

    /// Other rules whose `[[exceptions]]` also except this rule's findings (an exception for a
    /// user's direct assignment covers the same user's entitlement, issue #19).
    const SHARES_EXCEPTIONS_OF: &'static [RuleId] = &[];

    /// The settings when the policy file says nothing (the seed guide's baseline).
    fn defaults(&self) -> Self::Settings;

    /// Reads the settings from its table (mode and severity are read already); `defaults` are
    /// what a key not given keeps. `None` after reporting a problem.
    fn read(&self, r: &mut Reader<'_>, table: &mut Table<'_, '_>, defaults: &Self::Settings) -> Option<Self::Settings> {
        let _ = (r, table);
        Some(defaults.clone())
    }

    /// What the settings' entries match, in words, for `idc-guard validate` (e.g. that an AWS
    /// managed policy ARN matches in every partition). Nothing by default.
    fn explain(&self, settings: &Self::Settings) -> Vec<String> {
        let _ = settings;
        Vec::new()
    }

    /// Whether the rule judges this change: in [`Scope::Change`], whether the change touched the
    /// aspect the rule guards; in [`Scope::Resource`], whether it is about a resource of the
    /// rule's kind.
    fn concerns(&self, change: &ChangeKind, scope: Scope) -> bool;

    /// Judges the change; called only when [`Rule::concerns`] holds.
    fn judge(&self, cx: Context<'_, Self::Settings>) -> Verdict;

    /// Evaluates the rule.
    fn evaluate(&self, cx: Context<'_, Self::Settings>) -> Verdict {
        if self.concerns(&cx.change.kind, cx.facts.scope) {
            self.judge(cx)
        } else {
            Verdict::NotApplicable
        }
    }
}

/// A rule as the registry holds it: its settings behind [`Settings`].
pub trait AnyRule: Send + Sync {
    /// What it is.
    fn doc(&self) -> Doc;
    /// The keys of its table besides `mode` and `severity`.
    fn keys(&self) -> &'static [&'static str];
    /// Its JSON Schema fragment (JSON text).
    fn schema(&self) -> &'static str;
    /// The rules whose exceptions also apply to it ([`Rule::SHARES_EXCEPTIONS_OF`]).
    fn shares_exceptions_of(&self) -> &'static [RuleId];
    /// Its default settings.
    fn default_settings(&self) -> Box<dyn Settings>;
    /// Reads its settings; `defaults` must be its own (else its built-in defaults are used).
    fn read_settings(
        &self,
        r: &mut Reader<'_>,
        table: &mut Table<'_, '_>,
        defaults: &dyn Settings,
    ) -> Option<Box<dyn Settings>>;
    /// What its settings' entries match, in words.
    fn explain_settings(&self, settings: &dyn Settings) -> Vec<String>;
    /// Evaluates it with `settings` (its own; anything else evaluates with its defaults).
    fn evaluate_with(
        &self,
        change: &Change,
        facts: &Facts,
        settings: &dyn Settings,
        baseline: Baseline<'_>,
        mode: Mode,
    ) -> Verdict;
}

impl<R: Rule> AnyRule for R {
    fn doc(&self) -> Doc {
        R::DOC
    }

    fn keys(&self) -> &'static [&'static str] {
        R::KEYS
    }

    fn schema(&self) -> &'static str {
        R::SCHEMA
    }

    fn shares_exceptions_of(&self) -> &'static [RuleId] {
        R::SHARES_EXCEPTIONS_OF
    }

    fn default_settings(&self) -> Box<dyn Settings> {
        Box::new(self.defaults())
    }

    fn read_settings(
        &self,
        r: &mut Reader<'_>,
        table: &mut Table<'_, '_>,
        defaults: &dyn Settings,
    ) -> Option<Box<dyn Settings>> {
        let own = defaults.as_any().downcast_ref::<R::Settings>().cloned();
        let defaults = own.unwrap_or_else(|| self.defaults());
        self.read(r, table, &defaults).map(|s| Box::new(s) as Box<dyn Settings>)
    }

    fn explain_settings(&self, settings: &dyn Settings) -> Vec<String> {
        settings
            .as_any()
            .downcast_ref::<R::Settings>()
            .map(|s| self.explain(s))
            .unwrap_or_default()
    }

    fn evaluate_with(
        &self,
        change: &Change,
        facts: &Facts,
        settings: &dyn Settings,
        baseline: Baseline<'_>,
        mode: Mode,
    ) -> Verdict {
        // The policy only ever holds a rule's own settings; the fallback keeps this infallible.
        let fallback;
        let settings = match settings.as_any().downcast_ref::<R::Settings>() {
            Some(s) => s,
            None => {
                fallback = self.defaults();
                &fallback
            }
        };
        self.evaluate(Context {
            change,
            facts,
            settings,
            baseline,
            mode,
        })
    }
}

impl fmt::Debug for dyn AnyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}", self.doc().id)
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
    fn of<S>(cx: &Context<'a, S>) -> Option<Self> {
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
    fn exempted(&self, baseline: Baseline<'_>, exemptions: &Exemptions, why: &str) -> Option<Verdict> {
        match exemptions.exempt(baseline, self.name) {
            Exempt::Yes => Some(Verdict::Pass),
            Exempt::Unknown => Some(name_unknown(why)),
            Exempt::No => None,
        }
    }

    /// The provisioning that must follow a change to the set's definition.
    fn provision(&self) -> Action {
        Action::provision(self.instance, &self.ps.arn)
    }
}

fn name_unknown(what: &str) -> Verdict {
    Verdict::Undetermined(Missing {
        fact: MissingFact::PermissionSetName,
        detail: what.to_owned(),
    })
}

/// What an entitlement rule lacks to plan the deletion of an entitlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lacking {
    /// Whether it still exists.
    State,
    /// Its id (it exists, but the deletion needs the id).
    Id,
}

/// The entitlement an entitlement rule judges: the live one the change names (entitlements are
/// immutable, so it is what the change created), with its principal's names, and the finding
/// that deletes it.
struct LiveEntitlement<'a> {
    live: &'a Entitlement,
    names: Option<&'a PrincipalNames>,
}

impl<'a> LiveEntitlement<'a> {
    /// The live entitlement, level-driven, or the verdict without it: `Pass` when it is gone
    /// (what is gone needs nothing); `Undetermined` on [`MissingFact::EntitlementState`] when
    /// its state is unknown or it has no id (the deletion needs it), `detail` wording what the
    /// rule lacks.
    fn of<S>(cx: &Context<'a, S>, detail: impl FnOnce(Lacking) -> String) -> ControlFlow<Verdict, Self> {
        let lacking = match &cx.facts.entitlement {
            Fact::Known(None) => return ControlFlow::Break(Verdict::Pass),
            Fact::Known(Some(live)) if live.entitlement_id.is_some() => {
                return ControlFlow::Continue(Self {
                    live,
                    names: cx.facts.principal.known().and_then(Option::as_ref),
                });
            }
            Fact::Known(Some(_)) => Lacking::Id,
            Fact::Unknown => Lacking::State,
        };
        ControlFlow::Break(Verdict::Undetermined(Missing {
            fact: MissingFact::EntitlementState,
            detail: detail(lacking),
        }))
    }

    /// The principal, for messages: its type, its name when known, and its id.
    fn who(&self) -> String {
        let live = self.live;
        match self.names {
            Some(n) => format!("{} {n} ({})", live.principal_type, live.principal_id),
            None => format!("{} {}", live.principal_type, live.principal_id),
        }
    }

    /// The finding: the entitlement, with its principal's name, and its deletion.
    fn violation(&self, message: String) -> Verdict {
        let mut resource = self.live.resource();
        resource.principal_name = self.names.map(PrincipalNames::to_string);
        Verdict::Fail(Violation {
            message,
            resource,
            remediation: vec![Action::DeleteEntitlement(self.live.clone())],
        })
    }
}

/// The AWS actions every permission-set rule's live read needs (the guard reads the whole set).
const PERMISSION_SET_READS: &[&str] = &[
    "sso:DescribePermissionSet",
    "sso:GetInlinePolicyForPermissionSet",
    "sso:ListManagedPoliciesInPermissionSet",
    "sso:GetPermissionsBoundaryForPermissionSet",
];

/// What revoking the sessions a removal leaves behind needs (`crate::revocation`): who keeps
/// the set in the account (the assignments left, the members of the groups among them, the
/// sets a group holds), the set's duration and inline policy, and provisioning to one account.
const REVOCATION: &[&str] = &[
    "sso:ListInstances",
    "sso:ListAccountAssignments",
    "sso:ListAccountAssignmentsForPrincipal",
    "identitystore:ListGroupMemberships",
    "sso:DescribePermissionSet",
    "sso:GetInlinePolicyForPermissionSet",
    "sso:PutInlinePolicyToPermissionSet",
    "sso:DeleteInlinePolicyFromPermissionSet",
    "sso:ProvisionPermissionSet",
    "sso:DescribePermissionSetProvisioningStatus",
];

/// The AWS actions of re-provisioning a permission set after a correction.
const PROVISIONING: &[&str] = &[
    "sso:ProvisionPermissionSet",
    "sso:DescribePermissionSetProvisioningStatus",
];

#[cfg(test)]
mod tests {
    use super::entitlement_principal_type::EntitlementPrincipalType;
    use super::entitlement_role_allowed::EntitlementRoleAllowed;
    use super::test_support::{cx, entitlement_created, facts_for, policy};
    use super::*;
    use crate::domain::PrincipalType;

    #[test]
    fn rule_ids_are_unique_kebab_case_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for rule in RULES {
            let doc = rule.doc();
            let id = doc.id;
            assert!(seen.insert(id.as_str()), "duplicate {id}");
            assert!(
                !id.as_str().is_empty() && id.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{id}"
            );
            assert_eq!(find(id.as_str()).map(|r| r.doc().id), Some(id));
            assert!(
                !doc.summary.is_empty() && !doc.why.is_empty() && !doc.correction.is_empty(),
                "{id}"
            );
            for action in doc.actions() {
                let (service, name) = action.split_once(':').unwrap_or_default();
                assert!(
                    !service.is_empty() && name.starts_with(|c: char| c.is_ascii_uppercase()),
                    "{id}: {action} is not an IAM action"
                );
            }
        }
        assert!(find("no-such-rule").is_none());
    }

    #[test]
    fn entitlement_findings_name_the_principal_when_known() {
        let change = entitlement_created(PrincipalType::User, "ReadOnly");
        let mut facts = facts_for(&change);
        facts.principal = Fact::Known(Some(PrincipalNames {
            name: "alice".into(),
            display_name: Some("Alice Liddell".into()),
        }));
        let p = policy();
        let findings = [
            EntitlementPrincipalType.evaluate(cx(&EntitlementPrincipalType, &change, &facts, &p)),
            EntitlementRoleAllowed.evaluate(cx(&EntitlementRoleAllowed, &change, &facts, &p)),
        ];
        for verdict in findings {
            let Verdict::Fail(v) = verdict else {
                panic!("{verdict:?}")
            };
            assert!(
                v.message
                    .starts_with("USER alice (Alice Liddell) (906771a3e2-0000-0000-0000-000000000001) was entitled"),
                "{}",
                v.message
            );
            assert_eq!(v.resource.principal_name.as_deref(), Some("alice (Alice Liddell)"));
        }
    }

    #[test]
    fn entitlement_rules_say_what_they_lack() {
        let change = entitlement_created(PrincipalType::User, "ReadOnly");
        let grant = "USER 906771a3e2-0000-0000-0000-000000000001 may assume \
                     arn:aws:iam::111111111111:role/ReadOnly in account 111111111111";
        let unknown = Facts {
            entitlement: Fact::Unknown,
            ..facts_for(&change)
        };
        let mut without_id = facts_for(&change);
        if let Fact::Known(Some(e)) = &mut without_id.entitlement {
            e.entitlement_id = None;
        }
        let p = policy();
        let detail = |verdict| match verdict {
            Verdict::Undetermined(m) if m.fact == MissingFact::EntitlementState => m.detail,
            other => panic!("{other:?}"),
        };
        let principal_type =
            |facts| detail(EntitlementPrincipalType.evaluate(cx(&EntitlementPrincipalType, &change, facts, &p)));
        let role_allowed =
            |facts| detail(EntitlementRoleAllowed.evaluate(cx(&EntitlementRoleAllowed, &change, facts, &p)));
        assert_eq!(
            principal_type(&unknown),
            format!("whether the entitlement ({grant}) still exists")
        );
        assert_eq!(
            principal_type(&without_id),
            format!("the id of the entitlement ({grant})")
        );
        for facts in [&unknown, &without_id] {
            assert_eq!(
                role_allowed(facts),
                format!("whether the entitlement ({grant}) still exists, and its id")
            );
        }
    }

    #[test]
    fn every_schema_fragment_is_json_listing_exactly_the_keys_read() {
        for rule in RULES {
            let id = rule.doc().id;
            let fragment: serde_json::Value =
                serde_json::from_str(rule.schema()).unwrap_or_else(|e| panic!("{id}: schema fragment: {e}"));
            let mut schema_keys: Vec<&str> = fragment
                .as_object()
                .unwrap_or_else(|| panic!("{id}: the fragment is an object of properties"))
                .keys()
                .map(String::as_str)
                .collect();
            schema_keys.sort_unstable();
            let mut keys = rule.keys().to_vec();
            keys.sort_unstable();
            assert_eq!(schema_keys, keys, "{id}");
            assert!(!keys.contains(&"mode") && !keys.contains(&"severity"), "{id}");
        }
    }
}
