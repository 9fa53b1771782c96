//! The plan: every rule on the live state as synthetic changes, plus the desired diff; then the
//! refusals.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{ACTOR, DESTRUCTIVE_FLOOR, DESTRUCTIVE_SHARE, Desired, EVENT_NAME, MAX_DESIRED_DELETE_SHARE};
use crate::desired::Resolved;
use crate::domain::time::utc;
use crate::domain::{
    ACCOUNT_ACCESS_SCOPE, AbacOp, AccessScopeOp, Action, Actor, Change, ChangeKind, Date, DesiredFact, EventMeta, Fact,
    Facts, Finding, PermissionSetArn, PermissionSetFacts, PermissionSetOp, Scope,
};
use crate::engine::evaluate;
use crate::inventory::{Inventory, Unknown};
use crate::policy::Policy;
use crate::rules::desired_assignments;
use crate::safety::RECONCILER_SOURCE;
use crate::usage::{UsageColumns, UsageInput};

/// One planned correction.
#[derive(Debug, Clone)]
pub struct PlanItem {
    /// The synthetic change (the resource, as an event would name it).
    pub change: Change,
    /// The finding, with its corrective actions.
    pub finding: Finding,
    /// What the desired file says, for assignment items (when there is a file).
    pub desired: Option<DesiredFact>,
    /// The owner the desired file names for it.
    pub owner: Option<String>,
    /// The assignment's last use and dormancy, when usage data was joined (assignment items).
    pub usage: Option<UsageColumns>,
    /// The use the rules judged, for the re-read before acting (assignment items).
    pub planned_usage: Option<crate::guard::PlannedUsage>,
}

impl PlanItem {
    /// Whether any of its actions deletes something.
    pub fn is_destructive(&self) -> bool {
        self.finding.remediation.iter().any(Action::is_destructive)
    }
}

/// Counts of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Live assignments read.
    pub assignments: usize,
    /// Permission sets read.
    pub permission_sets: usize,
    /// Accounts with at least one assignment.
    pub accounts: usize,
    /// Desired assignments (0 without a file).
    pub desired: usize,
    /// Live assignments the desired file does not list (planned deletions).
    pub extra: usize,
    /// Desired assignments that do not exist (planned creations).
    pub missing: usize,
    /// Planned corrections.
    pub planned: usize,
    /// Planned corrections that delete something.
    pub destructive: usize,
    /// Corrections not planned because what they touch could not be read.
    pub skipped: usize,
    /// Mutating API calls made.
    pub mutations: usize,
    /// Live entitlements of account access manager read (issue #19).
    pub entitlements: usize,
    /// Applications holding the `sso:account:access` scope (issue #19).
    pub scoped_applications: usize,
    /// Protected groups (named by the policy or assigned a privileged permission set).
    pub protected_groups: usize,
    /// Their memberships read.
    pub protected_memberships: usize,
}

/// The plan of a run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The run's id (the synthetic changes' event id).
    pub run_id: String,
    /// The corrections, in order (creations first).
    pub items: Vec<PlanItem>,
    /// Findings not planned because what they touch is unknown.
    pub skipped: Vec<PlanItem>,
    /// Why the plan is refused, if it is.
    pub refusal: Option<String>,
    /// Counts.
    pub counts: Counts,
}

pub(super) fn meta(run_id: &str, now: u64) -> EventMeta {
    EventMeta {
        event_id: run_id.to_owned(),
        shared_event_id: None,
        envelope_id: None,
        event_name: EVENT_NAME.to_owned(),
        event_source: RECONCILER_SOURCE.to_owned(),
        source: None,
        event_time: utc(now),
        region: String::new(),
        account: String::new(),
        request_id: None,
        console: false,
        operation: None,
    }
}

pub(super) fn actor() -> Actor {
    Actor::Guard {
        role_name: ACTOR.to_owned(),
    }
}

/// Plans a run: every rule on the live state, plus the desired diff; then the refusals.
pub fn plan(
    policy: &Policy,
    inv: &Inventory,
    desired: &Desired,
    usage: &UsageInput,
    today: Date,
    run_id: &str,
    now: u64,
) -> Plan {
    let resolved = match desired {
        Desired::Resolved(r) => Some(r),
        _ => None,
    };
    let mut planner = Planner {
        policy,
        inv,
        resolved,
        usage,
        today,
        meta: meta(run_id, now),
        now,
        candidates: Vec::new(),
    };
    planner.assignments();
    planner.missing();
    planner.permission_sets();
    planner.abac();
    planner.hygiene();
    planner.entitlements();
    planner.missing_entitlements();
    planner.access_scopes();
    let (items, skipped) = select(planner.candidates);
    let counts = counts(inv, resolved, &items, skipped.len());
    let refusal = refusal(desired, &counts);
    Plan {
        run_id: run_id.to_owned(),
        items,
        skipped,
        refusal,
        counts,
    }
}

/// Evaluates every rule on each live resource as a synthetic change, collecting the findings
/// (with whether what they touch is unknown).
struct Planner<'a> {
    policy: &'a Policy,
    inv: &'a Inventory,
    resolved: Option<&'a Resolved>,
    usage: &'a UsageInput,
    today: Date,
    meta: EventMeta,
    /// When the run started (Unix seconds).
    now: u64,
    candidates: Vec<(PlanItem, bool)>,
}

impl Planner<'_> {
    fn push(&mut self, kind: ChangeKind, facts: &Facts, owner: Option<&str>, unknown: bool) {
        let change = Change {
            meta: self.meta.clone(),
            actor: actor(),
            kind,
        };
        let evaluation = evaluate(self.policy, change.clone(), facts, self.today);
        let usage = match &facts.usage {
            Some(Fact::Known(u)) => Some(UsageColumns::of(
                u,
                crate::usage::window_days(self.policy, facts.permission_set_name()),
                self.now,
            )),
            _ => None,
        };
        for finding in evaluation.findings {
            let item = PlanItem {
                change: change.clone(),
                finding,
                desired: facts.desired.clone(),
                owner: owner.map(str::to_owned),
                usage: usage.clone(),
                planned_usage: facts.usage.clone().map(|u| crate::guard::PlannedUsage {
                    usage: u,
                    as_of: self.now,
                    permission_set_name: facts.permission_set_name().map(str::to_owned),
                }),
            };
            self.candidates.push((item, unknown));
        }
    }

    /// What the rules may know of an assignment's permission set: its name.
    fn named(&self, arn: &PermissionSetArn) -> PermissionSetFacts {
        let mut ps = PermissionSetFacts::unknown(arn.clone());
        if let Some(name) = self.inv.permission_set_name(arn) {
            ps.name = Fact::Known(name.to_owned());
        }
        ps
    }

    /// The principal's name as the directory listing gave it.
    fn principal(&self, key: &crate::domain::Assignment) -> Fact<Option<crate::domain::PrincipalNames>> {
        match self.inv.principal_name(key.principal_type, &key.principal_id) {
            Some(name) => Fact::Known(Some(crate::domain::PrincipalNames {
                name: name.to_owned(),
                display_name: None,
            })),
            None => Fact::Unknown,
        }
    }

    /// Live assignments: every rule, and "extra" against the desired file.
    fn assignments(&mut self) {
        for key in &self.inv.assignments {
            let want = self.resolved.and_then(|r| r.wanted.get(key));
            let facts = Facts {
                scope: Scope::Resource,
                permission_set: Some(self.named(&key.permission_set_arn)),
                principal: self.principal(key),
                assignment_exists: Fact::Known(true),
                desired: self.resolved.map(|_| DesiredFact {
                    wanted: want.is_some(),
                    principal_name: self
                        .inv
                        .principal_name(key.principal_type, &key.principal_id)
                        .map(str::to_owned),
                    line: want.map(|w| w.line),
                }),
                usage: Some(self.usage.fact(self.inv, key, self.now)),
                as_of: Some(self.now),
                ..Facts::default()
            };
            let owner = want.and_then(|w| w.owner.as_deref());
            let unknown = self.inv.is_unknown(key);
            self.push(ChangeKind::AssignmentCreated(key.clone()), &facts, owner, unknown);
        }
    }

    /// Desired assignments that do not exist.
    fn missing(&mut self) {
        let Some(r) = self.resolved else { return };
        for (key, want) in r.wanted.iter().filter(|(k, _)| !self.inv.assignments.contains(*k)) {
            let facts = Facts {
                scope: Scope::Resource,
                permission_set: Some(self.named(&key.permission_set_arn)),
                assignment_exists: Fact::Known(false),
                desired: Some(DesiredFact {
                    wanted: true,
                    principal_name: Some(want.principal_name.clone()),
                    line: Some(want.line),
                }),
                ..Facts::default()
            };
            let unknown = self.inv.is_unknown(key);
            self.push(
                ChangeKind::AssignmentDeleted(key.clone()),
                &facts,
                want.owner.as_deref(),
                unknown,
            );
        }
    }

    /// Permission set definitions.
    fn permission_sets(&mut self) {
        for (arn, entry) in &self.inv.permission_sets {
            let Some(ps) = &entry.facts else { continue };
            let (stale_accounts, failed_operations, as_of) = self.provisioning(arn);
            let facts = Facts {
                scope: Scope::Resource,
                stale_accounts,
                failed_operations,
                as_of,
                permission_set: Some(ps.clone()),
                ..Facts::default()
            };
            let unknown = self.inv.unknown.iter().any(
                |u| matches!(u, Unknown::PermissionSet { permission_set_arn, .. } if permission_set_arn == arn.as_str()),
            );
            let kind = ChangeKind::PermissionSet {
                instance_arn: self.inv.instance.clone(),
                permission_set_arn: arn.clone(),
                op: PermissionSetOp::Provisioned { account_id: None },
            };
            self.push(kind, &facts, None, unknown);
        }
    }

    /// Where a set is behind, the failed operations on it, and when that was read (`None`s when
    /// the inventory did not read them).
    fn provisioning(
        &self,
        arn: &PermissionSetArn,
    ) -> (
        Fact<Vec<crate::domain::AccountId>>,
        Fact<Vec<crate::domain::OperationStatus>>,
        Option<u64>,
    ) {
        let Some(state) = &self.inv.provisioning else {
            return (Fact::Unknown, Fact::Unknown, None);
        };
        // A set the inventory did not list it for has no assignment: no account to be behind.
        let stale = state.stale.get(arn).cloned().unwrap_or(Fact::Known(Vec::new()));
        let failed = match &state.failed {
            Fact::Known(all) => Fact::Known(
                all.iter()
                    .filter(|f| f.permission_set_arn.as_ref() == Some(arn))
                    .cloned()
                    .collect(),
            ),
            Fact::Unknown => Fact::Unknown,
        };
        (stale, failed, Some(self.now))
    }

    /// Permission-set hygiene (orphaned, provisioned without assignment, near-duplicates),
    /// computed once on the whole inventory and judged per set. The rules see the set by name
    /// only, so the other rules, already judged on its definition, are undetermined here and add
    /// nothing; the near-duplicate threshold is read here because clusters span sets.
    fn hygiene(&mut self) {
        let report = crate::hygiene::analyse(self.inv, &crate::hygiene::settings(self.policy));
        for arn in self.inv.permission_sets.keys() {
            let Some(fact) = report.fact_for(arn) else { continue };
            let facts = Facts {
                scope: Scope::Resource,
                permission_set: Some(self.named(arn)),
                hygiene: Some(fact.clone()),
                ..Facts::default()
            };
            let kind = ChangeKind::PermissionSet {
                instance_arn: self.inv.instance.clone(),
                permission_set_arn: arn.clone(),
                op: PermissionSetOp::Provisioned { account_id: None },
            };
            self.push(kind, &facts, None, false);
        }
    }

    /// Live entitlements (issue #19): every rule, each as the creation that made it, and "extra"
    /// when the desired file governs entitlements. Only the entitlements of applications listed
    /// whole are here, so none is unknown.
    fn entitlements(&mut self) {
        for e in &self.inv.access.entitlements {
            let want = self.resolved.and_then(|r| r.entitlement(e));
            let name = self.inv.principal_name(e.principal_type, &e.principal_id);
            let facts = Facts {
                scope: Scope::Resource,
                principal: match name {
                    Some(name) => Fact::Known(Some(crate::domain::PrincipalNames {
                        name: name.to_owned(),
                        display_name: None,
                    })),
                    None => Fact::Unknown,
                },
                entitlement: Fact::Known(Some(e.clone())),
                desired: want.map(|w| DesiredFact {
                    wanted: w.is_some(),
                    principal_name: name.map(str::to_owned),
                    line: w.map(|w| w.line),
                }),
                as_of: Some(self.now),
                ..Facts::default()
            };
            let owner = want.flatten().and_then(|w| w.owner.as_deref());
            self.push(ChangeKind::EntitlementCreated(e.clone()), &facts, owner, false);
        }
    }

    /// Entitlements the desired file declares that do not exist (issue #19), each judged as its
    /// creation with the live fact "absent". One whose application's entitlements could not be
    /// listed is unknown: nothing is created for it.
    fn missing_entitlements(&mut self) {
        let Some(wanted) = self.resolved.and_then(|r| r.entitlements.as_ref()) else {
            return;
        };
        let live = &self.inv.access.entitlements;
        for (e, want) in wanted.iter().filter(|(w, _)| !live.iter().any(|l| l.same_grant(w))) {
            let facts = Facts {
                scope: Scope::Resource,
                entitlement: Fact::Known(None),
                desired: Some(DesiredFact {
                    wanted: true,
                    principal_name: Some(want.principal_name.clone()),
                    line: Some(want.line),
                }),
                as_of: Some(self.now),
                ..Facts::default()
            };
            let unknown = !self.inv.access.entitlements_known(&e.application_arn);
            self.push(
                ChangeKind::EntitlementCreated(e.clone()),
                &facts,
                want.owner.as_deref(),
                unknown,
            );
        }
    }

    /// The instance's applications holding `sso:account:access` (issue #19): every rule, each
    /// as the PutApplicationAccessScope that gave it.
    fn access_scopes(&mut self) {
        for (arn, app) in &self.inv.access.scoped {
            let facts = Facts {
                scope: Scope::Resource,
                access_scope: Fact::Known(Some(app.authorized_targets.clone())),
                application_name: Fact::Known(app.name.clone()),
                as_of: Some(self.now),
                ..Facts::default()
            };
            let kind = ChangeKind::AccessScope {
                application_arn: arn.clone(),
                scope: ACCOUNT_ACCESS_SCOPE.to_owned(),
                op: AccessScopeOp::Put {
                    authorized_targets: app.authorized_targets.clone(),
                },
            };
            self.push(kind, &facts, None, false);
        }
    }

    /// The ABAC configuration.
    fn abac(&mut self) {
        let Fact::Known(attributes) = &self.inv.abac else {
            return;
        };
        let facts = Facts {
            scope: Scope::Resource,
            access_control_attributes: Fact::Known(attributes.clone()),
            ..Facts::default()
        };
        let kind = ChangeKind::AccessControlAttributes {
            instance_arn: self.inv.instance.clone(),
            op: AbacOp::Configured {
                created: false,
                attributes: attributes.clone().unwrap_or_default(),
            },
        };
        self.push(kind, &facts, None, false);
    }
}

/// One correction per (resource, actions): an extra USER assignment fails both
/// assignment-principal-type and desired-assignments with the same delete; the first rule in
/// registry order keeps it. What touches the unknown is skipped. Creations come before
/// deletions, so access that moves is never absent in between.
fn select(candidates: Vec<(PlanItem, bool)>) -> (Vec<PlanItem>, Vec<PlanItem>) {
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for (item, unknown) in candidates {
        // Findings that plan nothing (detect-only rules) are kept one per rule and resource.
        let actions = if item.finding.remediation.is_empty() {
            format!("report {}", item.finding.rule)
        } else {
            serde_json::to_string(&item.finding.remediation).unwrap_or_default()
        };
        if !seen.insert((item.finding.resource.id.clone(), actions)) {
            continue;
        }
        if unknown && !item.finding.remediation.is_empty() {
            skipped.push(item);
        } else {
            items.push(item);
        }
    }
    items.sort_by_key(PlanItem::is_destructive);
    (items, skipped)
}

fn counts(inv: &Inventory, resolved: Option<&Resolved>, items: &[PlanItem], skipped: usize) -> Counts {
    let desired_rule = |i: &&PlanItem| i.finding.rule == desired_assignments::ID;
    Counts {
        assignments: inv.assignments.len(),
        permission_sets: inv.permission_sets.len(),
        accounts: inv
            .assignments
            .iter()
            .map(|k| &k.account_id)
            .collect::<BTreeSet<_>>()
            .len(),
        desired: resolved.map_or(0, |r| {
            r.wanted.len() + r.entitlements.as_ref().map_or(0, std::collections::BTreeMap::len)
        }),
        extra: items.iter().filter(desired_rule).filter(|i| i.is_destructive()).count(),
        missing: items
            .iter()
            .filter(desired_rule)
            .filter(|i| !i.is_destructive())
            .count(),
        planned: items.len(),
        destructive: items.iter().filter(|i| i.is_destructive()).count(),
        skipped,
        entitlements: inv.access.entitlements.len(),
        scoped_applications: inv.access.scoped.len(),
        protected_groups: inv.protected_groups.len(),
        protected_memberships: inv
            .protected_groups
            .values()
            .map(|g| g.members.as_ref().map_or(0, Vec::len))
            .sum(),
        mutations: 0,
    }
}

/// The refusal rules, in order; `None` when the plan may be executed.
fn refusal(desired: &Desired, counts: &Counts) -> Option<String> {
    match desired {
        Desired::Unusable(why) => return Some(format!("the desired-assignments file cannot be used: {why}")),
        Desired::Resolved(r) if r.wanted.is_empty() => {
            return Some("the desired-assignments file resolves to zero assignments".to_owned());
        }
        Desired::Resolved(r) => {
            // Entitlements count when the file governs them (issue #19).
            let entitlements = if r.entitlements.is_some() {
                counts.entitlements
            } else {
                0
            };
            let governed = counts.assignments + entitlements;
            let what = if entitlements > 0 {
                "live assignments and entitlements"
            } else {
                "live assignments"
            };
            #[allow(clippy::cast_precision_loss)]
            if counts.extra > 0 && counts.extra as f64 > MAX_DESIRED_DELETE_SHARE * governed as f64 {
                return Some(format!(
                    "the desired-assignments file would delete {} of the {governed} {what} it governs \
                     (more than {}%)",
                    counts.extra,
                    MAX_DESIRED_DELETE_SHARE * 100.0
                ));
            }
        }
        Desired::Absent => {}
    }
    #[allow(clippy::cast_precision_loss)]
    let limit = (DESTRUCTIVE_SHARE * counts.assignments as f64).max(DESTRUCTIVE_FLOOR as f64);
    #[allow(clippy::cast_precision_loss)]
    if counts.destructive as f64 > limit {
        return Some(format!(
            "the plan has {} destructive actions, more than max({DESTRUCTIVE_FLOOR}, {}% of {} assignments)",
            counts.destructive,
            DESTRUCTIVE_SHARE * 100.0,
            counts.assignments
        ));
    }
    None
}
