//! The drift reconciler: events are delivered best-effort; this is the safety net.
//!
//! A run takes the [inventory](crate::inventory), evaluates **every rule on the live state** (each
//! assignment, permission set and the ABAC configuration, as a synthetic [`Change`] in
//! `Scope::Resource`), and diffs the live assignments against the desired-assignments file (the
//! `desired-assignments` rule: extra → delete, missing → create). The result is a [`Plan`], each
//! action with its reason.
//!
//! **Safety.** Nothing is planned for an account, permission set or principal whose read failed
//! (the report lists it). The plan is refused (reported, zero mutations, one finding) when the
//! desired file is invalid, resolves to no assignment, or would delete more than 5% of the live
//! assignments it governs; and when the plan holds more destructive actions than
//! max(10, 2% of the assignments).
//!
//! **Execution** goes through [`Guard::correct_planned`]: the same gate (the safety rails'
//! kill switch, breaker, flap limit and idempotency in production), the same execution and the
//! same read-back verification as an event's correction, after a level-driven re-read of the
//! resource. The gate's flap window is the item an event and the reconciler contend on, so they
//! never both act on one (rule, resource) (see `crate::safety`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Instant;

use futures_util::StreamExt;
use serde::Serialize;

use crate::date::Date;
use crate::desired::{self, DesiredFile, ExportRow, Key, Names, Resolved, Unusable};
use crate::engine::{Finding, evaluate};
use crate::facts::{DesiredFact, Fact, Facts, PermissionSetFacts, Scope};
use crate::guard::{Gate, Guard, Outcome, OutcomeKind, PlannedOutcome};
use crate::ids::{AccountId, InstanceArn, PermissionSetArn};
use crate::inventory::{self, Inventory, InventoryError, Strategy, Unknown};
use crate::model::{AbacOp, Actor, Assignment, Change, ChangeKind, EventMeta, PermissionSetOp, PrincipalType};
use crate::policy::{Mode, Owners, Policy, PolicyError, Severity};
use crate::ports::{Directory, IdentityCenter, IdentityStore, InstanceInventory, Notifier, Organization};
use crate::rules::{Action, Resource, ResourceKind, RuleId};
use crate::safety::{RECONCILER_SOURCE, utc};

/// The `eventName` of the reconciler's synthetic changes.
pub const EVENT_NAME: &str = "Reconcile";
/// The role name the reconciler's changes carry as their actor.
pub const ACTOR: &str = "drift-reconciler";

/// The largest share of the governed live assignments the desired diff may delete.
pub const MAX_DESIRED_DELETE_SHARE: f64 = 0.05;
/// A plan may hold at most max([`DESTRUCTIVE_FLOOR`], [`DESTRUCTIVE_SHARE`] × assignments)
/// destructive actions.
pub const DESTRUCTIVE_FLOOR: usize = 10;
/// See [`DESTRUCTIVE_FLOOR`].
pub const DESTRUCTIVE_SHARE: f64 = 0.02;

/// The desired state, as far as it could be had.
#[derive(Debug, Clone)]
pub enum Desired {
    /// No desired file: only the policy's rules are enforced.
    Absent,
    /// The file is invalid or could not be resolved (the plan is refused).
    Unusable(String),
    /// Resolved to ids.
    Resolved(Resolved),
}

impl Desired {
    /// Resolves a parsed file (or its parse error) against the inventory.
    pub fn from_file(file: Option<Result<DesiredFile, PolicyError>>, inv: &Inventory) -> Self {
        match file {
            None => Self::Absent,
            Some(Err(e)) => Self::Unusable(e.to_string()),
            Some(Ok(file)) => match desired::resolve(&file, &names(inv)) {
                Ok(resolved) => Self::Resolved(resolved),
                Err(e @ (Unusable::Invalid(_) | Unusable::Unknown(_))) => Self::Unusable(e.to_string()),
            },
        }
    }
}

/// The names the inventory read, for resolving a desired file.
pub fn names(inv: &Inventory) -> Names {
    Names {
        groups: inv.groups.iter().map(|(id, name)| (name.clone(), id.clone())).collect(),
        users: inv.users.iter().map(|(id, name)| (name.clone(), id.clone())).collect(),
        permission_sets: inv
            .permission_sets
            .iter()
            .filter_map(|(arn, e)| e.name.clone().map(|n| (n, arn.clone())))
            .collect(),
        accounts: inv.accounts.as_ref().map(|a| a.keys().cloned().collect()),
        ou_accounts: inv.ou_accounts.clone(),
    }
}

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

fn meta(run_id: &str, now: u64) -> EventMeta {
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
    }
}

fn actor() -> Actor {
    Actor::Guard {
        role_name: ACTOR.to_owned(),
    }
}

fn assignment(instance: &InstanceArn, key: &Key) -> Assignment {
    Assignment {
        instance_arn: instance.clone(),
        account_id: key.account_id.clone(),
        permission_set_arn: key.permission_set_arn.clone(),
        principal_type: key.principal_type.into(),
        principal_id: key.principal_id.clone(),
    }
}

/// Plans a run: every rule on the live state, plus the desired diff; then the refusals.
pub fn plan(policy: &Policy, inv: &Inventory, desired: &Desired, today: Date, run_id: &str, now: u64) -> Plan {
    let meta = meta(run_id, now);
    let change = |kind| Change {
        meta: meta.clone(),
        actor: actor(),
        kind,
    };
    let resolved = match desired {
        Desired::Resolved(r) => Some(r),
        _ => None,
    };
    let mut candidates: Vec<(PlanItem, bool)> = Vec::new();
    let mut push = |c: Change, facts: &Facts, owner: Option<String>, unknown: bool| {
        let evaluation = evaluate(policy, c.clone(), facts, today);
        for finding in evaluation.findings {
            candidates.push((
                PlanItem {
                    change: c.clone(),
                    finding,
                    desired: facts.desired.clone(),
                    owner: owner.clone(),
                },
                unknown,
            ));
        }
    };
    let ps_facts = |arn: &PermissionSetArn| {
        let mut ps = PermissionSetFacts::unknown(arn.clone());
        if let Some(name) = inv.permission_set_name(arn) {
            ps.name = Fact::Known(name.to_owned());
        }
        ps
    };
    // Live assignments: every rule, and "extra" against the desired file.
    for key in &inv.assignments {
        let want = resolved.and_then(|r| r.wanted.get(key));
        let facts = Facts {
            scope: Scope::Resource,
            permission_set: Some(ps_facts(&key.permission_set_arn)),
            assignment_exists: Fact::Known(true),
            desired: resolved.map(|_| DesiredFact {
                wanted: want.is_some(),
                principal_name: inv
                    .principal_name(key.principal_type, &key.principal_id)
                    .map(str::to_owned),
                line: want.map(|w| w.line),
            }),
            ..Facts::default()
        };
        push(
            change(ChangeKind::AssignmentCreated(assignment(&inv.instance, key))),
            &facts,
            want.and_then(|w| w.owner.clone()),
            inv.is_unknown(key),
        );
    }
    // Missing desired assignments.
    if let Some(r) = resolved {
        for (key, want) in r.wanted.iter().filter(|(k, _)| !inv.assignments.contains(*k)) {
            let facts = Facts {
                scope: Scope::Resource,
                permission_set: Some(ps_facts(&key.permission_set_arn)),
                assignment_exists: Fact::Known(false),
                desired: Some(DesiredFact {
                    wanted: true,
                    principal_name: Some(want.principal_name.clone()),
                    line: Some(want.line),
                }),
                ..Facts::default()
            };
            push(
                change(ChangeKind::AssignmentDeleted(assignment(&inv.instance, key))),
                &facts,
                want.owner.clone(),
                inv.is_unknown(key),
            );
        }
    }
    // Permission set definitions.
    for (arn, entry) in &inv.permission_sets {
        let Some(ps) = &entry.facts else { continue };
        let facts = Facts {
            scope: Scope::Resource,
            permission_set: Some(ps.clone()),
            ..Facts::default()
        };
        let unknown = inv.unknown.iter().any(
            |u| matches!(u, Unknown::PermissionSet { permission_set_arn, .. } if permission_set_arn == arn.as_str()),
        );
        push(
            change(ChangeKind::PermissionSet {
                instance_arn: inv.instance.clone(),
                permission_set_arn: arn.clone(),
                op: PermissionSetOp::Provisioned { account_id: None },
            }),
            &facts,
            None,
            unknown,
        );
    }
    // The ABAC configuration.
    if let Fact::Known(attributes) = &inv.abac {
        let facts = Facts {
            scope: Scope::Resource,
            access_control_attributes: Fact::Known(attributes.clone()),
            ..Facts::default()
        };
        push(
            change(ChangeKind::AccessControlAttributes {
                instance_arn: inv.instance.clone(),
                op: AbacOp::Configured {
                    created: false,
                    attributes: attributes.clone().unwrap_or_default(),
                },
            }),
            &facts,
            None,
            false,
        );
    }

    // One correction per (resource, actions): an extra USER assignment fails both
    // assignment-principal-type and desired-assignments with the same delete; the first rule in
    // registry order keeps it.
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for (item, unknown) in candidates {
        let actions = serde_json::to_string(&item.finding.remediation).unwrap_or_default();
        if !seen.insert((item.finding.resource.id.clone(), actions)) {
            continue;
        }
        if unknown && !item.finding.remediation.is_empty() {
            skipped.push(item);
        } else {
            items.push(item);
        }
    }
    // Creations before deletions, so access that moves is never absent in between.
    items.sort_by_key(|i| i.is_destructive());

    let extra = items
        .iter()
        .filter(|i| i.finding.rule == RuleId::DesiredAssignments && i.is_destructive())
        .count();
    let missing = items
        .iter()
        .filter(|i| i.finding.rule == RuleId::DesiredAssignments && !i.is_destructive())
        .count();
    let destructive = items.iter().filter(|i| i.is_destructive()).count();
    let total = inv.assignments.len();
    let counts = Counts {
        assignments: total,
        permission_sets: inv.permission_sets.len(),
        accounts: inv
            .assignments
            .iter()
            .map(|k| &k.account_id)
            .collect::<BTreeSet<_>>()
            .len(),
        desired: resolved.map_or(0, |r| r.wanted.len()),
        extra,
        missing,
        planned: items.len(),
        destructive,
        skipped: skipped.len(),
        protected_groups: inv.protected_groups.len(),
        protected_memberships: inv
            .protected_groups
            .values()
            .map(|g| g.members.as_ref().map_or(0, Vec::len))
            .sum(),
        mutations: 0,
    };
    let refusal = refusal(desired, &counts);
    Plan {
        run_id: run_id.to_owned(),
        items,
        skipped,
        refusal,
        counts,
    }
}

/// The refusal rules, in order; `None` when the plan may be executed.
fn refusal(desired: &Desired, counts: &Counts) -> Option<String> {
    match desired {
        Desired::Unusable(why) => return Some(format!("the desired-assignments file cannot be used: {why}")),
        Desired::Resolved(r) if r.wanted.is_empty() => {
            return Some("the desired-assignments file resolves to zero assignments".to_owned());
        }
        Desired::Resolved(_) => {
            let governed = counts.assignments;
            #[allow(clippy::cast_precision_loss)]
            if counts.extra > 0 && counts.extra as f64 > MAX_DESIRED_DELETE_SHARE * governed as f64 {
                return Some(format!(
                    "the desired-assignments file would delete {} of the {governed} live assignments it governs \
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

/// One planned correction, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct ReportedAction {
    /// The rule.
    pub rule: RuleId,
    /// Its severity.
    pub severity: Severity,
    /// Its mode: only enforce-mode corrections are executed.
    pub mode: Mode,
    /// The resource.
    pub resource: Resource,
    /// Why.
    pub reason: String,
    /// What would be or was done.
    pub actions: Vec<Action>,
    /// Whether it deletes something.
    pub destructive: bool,
    /// The owner the desired file names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What became of it (absent in a dry run or a refused plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The mutating calls made for it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<&'static str>,
}

impl ReportedAction {
    fn of(item: &PlanItem) -> Self {
        Self {
            rule: item.finding.rule,
            severity: item.finding.severity,
            mode: item.finding.mode,
            resource: item.finding.resource.clone(),
            reason: item.finding.message.clone(),
            actions: item.finding.remediation.clone(),
            destructive: item.is_destructive(),
            owner: item.owner.clone(),
            outcome: None,
            calls: Vec::new(),
        }
    }
}

/// A protected group as reported: who holds privileged access, for recertification.
#[derive(Debug, Clone, Serialize)]
pub struct ProtectedGroupReport {
    /// The group.
    pub group_id: String,
    /// Its display name.
    pub group_name: String,
    /// Why it is protected.
    pub reasons: Vec<String>,
    /// Its members (user id, user name), sorted by name; `null` when they could not be read.
    pub members: Option<Vec<Member>>,
}

/// A member of a protected group.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// The user's id.
    pub user_id: String,
    /// The user's name (empty when the user list did not name it).
    pub user_name: String,
}

impl ProtectedGroupReport {
    fn of(inv: &Inventory) -> Vec<Self> {
        inv.protected_groups
            .iter()
            .map(|(id, g)| Self {
                group_id: id.clone(),
                group_name: g.name.clone(),
                reasons: g.reasons.clone(),
                members: g.members.as_ref().map(|ids| {
                    let mut members: Vec<Member> = ids
                        .iter()
                        .map(|u| Member {
                            user_id: u.clone(),
                            user_name: inv.users.get(u).cloned().unwrap_or_default(),
                        })
                        .collect();
                    members.sort_by(|a, b| (&a.user_name, &a.user_id).cmp(&(&b.user_name, &b.user_id)));
                    members
                }),
            })
            .collect()
    }
}

/// A run's report: logged as one JSON line, printed by `idc-guard scan`.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The run's id.
    pub run_id: String,
    /// Plan only.
    pub dry_run: bool,
    /// The instance.
    pub instance: String,
    /// Whether the desired file was used (`absent`, `invalid`, `used`).
    pub desired: &'static str,
    /// The assignment listing pattern used.
    pub strategy: Strategy,
    /// Counts.
    pub counts: Counts,
    /// Why the plan was refused, if it was (then nothing was executed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The plan, with outcomes when executed.
    pub plan: Vec<ReportedAction>,
    /// Corrections not planned because what they touch could not be read.
    pub skipped: Vec<ReportedAction>,
    /// What could not be read.
    pub unknown: Vec<Unknown>,
    /// The protected groups and their members.
    pub protected_groups: Vec<ProtectedGroupReport>,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// API calls made, by operation (filled by the caller that counts them).
    pub api_calls: BTreeMap<String, u64>,
    /// Their total.
    pub api_calls_total: u64,
}

impl RunReport {
    /// Whether the live state differs from the policy or the desired file.
    pub fn has_drift(&self) -> bool {
        !self.plan.is_empty() || !self.skipped.is_empty() || self.refused.is_some()
    }

    /// Records the API calls a counter saw.
    pub fn set_api_calls(&mut self, calls: BTreeMap<String, u64>) {
        self.api_calls_total = calls.values().sum();
        self.api_calls = calls;
    }

    /// A human table of the plan.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "instance {}  assignments {}  permission sets {}  accounts {}  desired {} ({})  strategy {:?}",
            self.instance,
            self.counts.assignments,
            self.counts.permission_sets,
            self.counts.accounts,
            self.counts.desired,
            self.desired,
            self.strategy
        );
        if let Some(why) = &self.refused {
            let _ = writeln!(out, "REFUSED: {why}\nnothing was changed.");
        }
        if self.plan.is_empty() {
            let _ = writeln!(out, "no drift: nothing to do");
        } else {
            let _ = writeln!(
                out,
                "{:<8} {:<30} {:<10} {:<60} REASON",
                "ACTION", "RULE", "MODE", "RESOURCE"
            );
            for a in &self.plan {
                let verb = match a.actions.first() {
                    Some(Action::CreateAccountAssignment { .. }) => "create",
                    Some(Action::DeleteAccountAssignment { .. }) => "delete",
                    Some(_) => "fix",
                    None => "report",
                };
                let what = describe(&a.resource);
                let _ = writeln!(
                    out,
                    "{verb:<8} {:<30} {:<10} {what:<60} {}{}",
                    a.rule.as_str(),
                    a.mode.to_string(),
                    a.reason,
                    a.outcome.as_deref().map(|o| format!(" [{o}]")).unwrap_or_default()
                );
            }
        }
        for s in &self.skipped {
            let _ = writeln!(out, "skipped (unknown): {} {}", s.rule, describe(&s.resource));
        }
        for g in &self.protected_groups {
            let members = match &g.members {
                Some(m) if m.is_empty() => "no members".to_owned(),
                Some(m) => {
                    let names: Vec<&str> = m
                        .iter()
                        .map(|m| {
                            if m.user_name.is_empty() {
                                m.user_id.as_str()
                            } else {
                                m.user_name.as_str()
                            }
                        })
                        .collect();
                    format!("{} members: {}", m.len(), names.join(", "))
                }
                None => "members unknown (read failed)".to_owned(),
            };
            let _ = writeln!(
                out,
                "protected group {} ({}): {members}",
                if g.group_name.is_empty() {
                    &g.group_id
                } else {
                    &g.group_name
                },
                g.reasons.join("; ")
            );
        }
        for u in &self.unknown {
            let _ = writeln!(out, "unknown: {}", serde_json::to_string(u).unwrap_or_default());
        }
        let _ = writeln!(
            out,
            "{} planned ({} destructive, {} extra, {} missing), {} skipped, {} mutations, {} API calls, {} ms{}",
            self.counts.planned,
            self.counts.destructive,
            self.counts.extra,
            self.counts.missing,
            self.counts.skipped,
            self.counts.mutations,
            self.api_calls_total,
            self.duration_ms,
            if self.dry_run { " (dry run)" } else { "" }
        );
        out
    }
}

fn describe(r: &Resource) -> String {
    match (&r.account_id, &r.permission_set_name, &r.principal_id) {
        (Some(account), ps, Some(principal)) => format!(
            "{account} {} {principal}",
            ps.as_deref().or(r.permission_set_arn.as_deref()).unwrap_or("?")
        ),
        _ => r.permission_set_name.clone().unwrap_or_else(|| r.id.clone()),
    }
}

/// What to do in a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Plan only.
    pub dry_run: bool,
    /// Inventory options (concurrency, strategy).
    pub inventory: inventory::Options,
    /// At most this many corrections in flight (outstanding asynchronous operations).
    pub concurrency: usize,
    /// The run's id.
    pub run_id: String,
    /// Today (for exception expiry).
    pub today: Date,
    /// Now, in Unix seconds.
    pub now: u64,
}

impl RunOptions {
    /// Defaults for a run starting now: plan and act, 8 at a time.
    pub fn now(dry_run: bool) -> Self {
        let now = crate::safety::Clock::now(&crate::safety::SystemClock);
        Self {
            dry_run,
            inventory: inventory::Options::default(),
            concurrency: crate::pace::DEFAULT_CONCURRENCY,
            run_id: format!("reconcile-{now}-{}", std::process::id()),
            today: Date::today_utc(),
            now,
        }
    }
}

/// Takes the inventory (the desired file's OUs expanded) and resolves the desired file.
pub async fn survey<I, S, N, G, D, O>(
    guard: &Guard<I, S, N, G>,
    directory: &D,
    organization: &O,
    instance: &crate::ports::InstanceRef,
    file: Option<Result<DesiredFile, PolicyError>>,
    options: &inventory::Options,
) -> Result<(Inventory, Desired), InventoryError>
where
    I: IdentityCenter + InstanceInventory,
    S: IdentityStore,
    N: Notifier,
    G: Gate,
    D: Directory,
    O: Organization,
{
    let mut options = options.clone();
    if let Some(Ok(f)) = &file {
        options.organizational_units = desired::organizational_units(f);
    }
    let inv = inventory::take(
        guard.policy(),
        guard.identity_center(),
        directory,
        organization,
        &instance.instance_arn,
        &instance.identity_store_id,
        &options,
    )
    .await?;
    let desired = Desired::from_file(file, &inv);
    Ok((inv, desired))
}

/// One run: inventory, plan, refusals, execution (unless dry or refused), report; publishes one
/// finding through the guard's notifier when the plan is refused or there is drift.
pub async fn run<I, S, N, G, D, O>(
    guard: &Guard<I, S, N, G>,
    directory: &D,
    organization: &O,
    instance: &crate::ports::InstanceRef,
    file: Option<Result<DesiredFile, PolicyError>>,
    options: &RunOptions,
) -> Result<RunReport, InventoryError>
where
    I: IdentityCenter + InstanceInventory,
    S: IdentityStore,
    N: Notifier,
    G: Gate,
    D: Directory,
    O: Organization,
{
    let started = Instant::now();
    let (inv, desired) = survey(guard, directory, organization, instance, file, &options.inventory).await?;
    let plan = plan(
        guard.policy(),
        &inv,
        &desired,
        options.today,
        &options.run_id,
        options.now,
    );
    let mut report = RunReport {
        run_id: plan.run_id.clone(),
        dry_run: options.dry_run,
        instance: inv.instance.to_string(),
        desired: match desired {
            Desired::Absent => "absent",
            Desired::Unusable(_) => "invalid",
            Desired::Resolved(_) => "used",
        },
        strategy: inv.strategy,
        counts: plan.counts.clone(),
        refused: plan.refusal.clone(),
        plan: plan.items.iter().map(ReportedAction::of).collect(),
        skipped: plan.skipped.iter().map(ReportedAction::of).collect(),
        unknown: inv.unknown.iter().cloned().collect(),
        protected_groups: ProtectedGroupReport::of(&inv),
        duration_ms: 0,
        api_calls: BTreeMap::new(),
        api_calls_total: 0,
    };
    if plan.refusal.is_none() && !options.dry_run {
        execute(guard, &plan, options, &mut report).await;
    }
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if report.has_drift() {
        let outcome = summary(&inv.instance, &report, options.now);
        if let Err(e) = guard.notifier().publish(&outcome).await {
            tracing::error!(error = %e, run_id = %report.run_id, "could not publish the run's finding");
        }
    }
    Ok(report)
}

/// Executes a plan's corrections: one resource's corrections in order, resources concurrently
/// (at most `options.concurrency` at a time).
async fn execute<I, S, N, G>(guard: &Guard<I, S, N, G>, plan: &Plan, options: &RunOptions, report: &mut RunReport)
where
    I: IdentityCenter,
    S: IdentityStore,
    N: Notifier,
    G: Gate,
{
    let mut by_resource: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut order = Vec::new();
    for (i, item) in plan.items.iter().enumerate() {
        let id = item.finding.resource.id.as_str();
        if !by_resource.contains_key(id) {
            order.push(id);
        }
        by_resource.entry(id).or_default().push(i);
    }
    let groups: Vec<Vec<usize>> = order.into_iter().filter_map(|id| by_resource.remove(id)).collect();
    // Two phases: every resource without a destructive correction first (creations among them),
    // so access that moves is never absent in between; then the others.
    let (first, second): (Vec<_>, Vec<_>) = groups
        .into_iter()
        .partition(|g| g.iter().all(|i| !plan.items[*i].is_destructive()));
    let mut results = Vec::new();
    for phase in [first, second] {
        let done = futures_util::stream::iter(phase)
            .map(|indexes| async move {
                let mut done = Vec::new();
                for i in indexes {
                    let item = &plan.items[i];
                    let outcome = guard
                        .correct_planned(&item.change, &item.finding, item.desired.as_ref(), options.today)
                        .await;
                    done.push((i, outcome));
                }
                done
            })
            .buffer_unordered(options.concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        results.extend(done);
    }
    for (i, outcome) in results.into_iter().flatten() {
        let reported = &mut report.plan[i];
        match outcome {
            PlannedOutcome::Done(o) => {
                reported.outcome = Some(o.kind.to_string());
                report.counts.mutations += o.calls.len();
                reported.calls = o.calls;
            }
            PlannedOutcome::Compliant => reported.outcome = Some("compliant at re-read: nothing done".to_owned()),
            PlannedOutcome::Duplicate(why) => reported.outcome = Some(format!("left to another path: {why}")),
        }
    }
}

/// The run's one finding: a refusal, or the drift found (and what was done about it).
fn summary(instance: &InstanceArn, report: &RunReport, now: u64) -> Outcome {
    let c = &report.counts;
    let (kind, message) = if let Some(why) = &report.refused {
        (
            OutcomeKind::Withheld {
                reason: format!("reconciler refused its plan: {why}"),
            },
            format!(
                "The drift reconciler refused to act: {why}. {} corrections were planned ({} destructive); nothing was changed.",
                c.planned, c.destructive
            ),
        )
    } else {
        let failed = report
            .plan
            .iter()
            .filter(|a| {
                a.outcome
                    .as_deref()
                    .is_some_and(|o| o.starts_with("failed") || o.starts_with("corrected but not verified"))
            })
            .count();
        let withheld = report
            .plan
            .iter()
            .filter(|a| {
                a.outcome
                    .as_deref()
                    .is_some_and(|o| o.starts_with("withheld") || o.starts_with("cannot"))
            })
            .count();
        let kind = if report.dry_run || c.planned == 0 {
            OutcomeKind::Detected
        } else if failed > 0 {
            OutcomeKind::Failed {
                error: format!("{failed} of {} corrections failed or were not verified", c.planned),
            }
        } else if withheld > 0 {
            OutcomeKind::Withheld {
                reason: format!("{withheld} of {} corrections were withheld", c.planned),
            }
        } else {
            OutcomeKind::Remediated
        };
        let unknown = if report.unknown.is_empty() {
            String::new()
        } else {
            format!(
                " {} scopes could not be read and were left alone.",
                report.unknown.len()
            )
        };
        (
            kind,
            format!(
                "The drift reconciler found {} corrections to make ({} extra assignments, {} missing, {} other), {} skipped \
                 because what they touch could not be read.{unknown}",
                c.planned,
                c.extra,
                c.missing,
                c.planned - c.extra - c.missing,
                c.skipped
            ),
        )
    };
    Outcome {
        event: meta(&report.run_id, now),
        actor: actor(),
        finding: Finding {
            rule: RuleId::DesiredAssignments,
            severity: if report.refused.is_some() {
                Severity::High
            } else {
                Severity::Medium
            },
            mode: Mode::Enforce,
            message,
            resource: Resource {
                kind: ResourceKind::Instance,
                id: instance.to_string(),
                permission_set_name: None,
                permission_set_arn: None,
                account_id: None,
                principal_id: None,
            },
            remediation: Vec::new(),
            expired_exception: None,
        },
        kind,
        tagged_owner: None,
        calls: report.plan.iter().flat_map(|a| a.calls.iter().copied()).collect(),
    }
}

/// Every assignment with names, for `idc-guard export`. Its owner is the one the desired file
/// names for it (`named`); else, with `routing`, the one findings about it are routed to: the
/// permission set's owner tag (read with [`inventory::Options::owner_tags`]), the first matching
/// route, the default owner; else empty.
pub fn export_rows(inv: &Inventory, named: &BTreeMap<Key, String>, routing: Option<&Owners>) -> Vec<ExportRow> {
    inv.assignments
        .iter()
        .map(|k| {
            let ptype: PrincipalType = k.principal_type.into();
            ExportRow {
                principal_type: ptype.as_str().to_owned(),
                principal_name: inv
                    .principal_name(k.principal_type, &k.principal_id)
                    .unwrap_or_default()
                    .to_owned(),
                principal_id: k.principal_id.clone(),
                permission_set_name: inv
                    .permission_set_name(&k.permission_set_arn)
                    .unwrap_or_default()
                    .to_owned(),
                permission_set_arn: k.permission_set_arn.to_string(),
                account_id: k.account_id.to_string(),
                account_name: account_name(inv, &k.account_id),
                owner: named.get(k).cloned().unwrap_or_else(|| {
                    let set = inv.permission_sets.get(&k.permission_set_arn);
                    routing.map_or_else(String::new, |owners| {
                        owners
                            .resolve(
                                set.and_then(|e| e.owner_tag.as_deref()),
                                set.and_then(|e| e.name.as_deref()),
                                Some(k.account_id.as_str()),
                            )
                            .to_owned()
                    })
                }),
            }
        })
        .collect()
}

fn account_name(inv: &Inventory, id: &AccountId) -> String {
    inv.accounts
        .as_ref()
        .and_then(|a| a.get(id).cloned())
        .unwrap_or_default()
}

/// Live versus desired: (extra, missing), each sorted.
pub fn diff(inv: &Inventory, resolved: &Resolved) -> (Vec<Key>, Vec<Key>) {
    let extra = inv
        .assignments
        .iter()
        .filter(|k| !resolved.wanted.contains_key(*k))
        .cloned()
        .collect();
    let missing = resolved
        .wanted
        .keys()
        .filter(|k| !inv.assignments.contains(*k))
        .cloned()
        .collect();
    (extra, missing)
}

/// A readable diff: `-` what exists but is not desired, `+` what is desired but does not exist.
pub fn render_diff(inv: &Inventory, resolved: &Resolved, file: &str) -> String {
    let (extra, missing) = diff(inv, resolved);
    let mut out = format!("--- live ({})\n+++ desired ({file})\n", inv.instance);
    let line = |k: &Key| {
        let ptype: PrincipalType = k.principal_type.into();
        let name = account_name(inv, &k.account_id);
        format!(
            "{} {} {} {}{}",
            ptype.as_str(),
            inv.principal_name(k.principal_type, &k.principal_id)
                .unwrap_or(&k.principal_id),
            inv.permission_set_name(&k.permission_set_arn)
                .unwrap_or(k.permission_set_arn.as_str()),
            k.account_id,
            if name.is_empty() {
                String::new()
            } else {
                format!(" ({name})")
            }
        )
    };
    let mut rows: Vec<(String, char, String)> = extra
        .iter()
        .map(|k| (line(k), '-', String::new()))
        .chain(missing.iter().map(|k| {
            let at = resolved
                .wanted
                .get(k)
                .map(|w| format!("  # line {}", w.line))
                .unwrap_or_default();
            (line(k), '+', at)
        }))
        .collect();
    rows.sort();
    for (text, sign, note) in &rows {
        let _ = writeln!(out, "{sign} {text}{note}");
    }
    let _ = writeln!(out, "{} extra, {} missing", extra.len(), missing.len());
    out
}
