//! One run: inventory, plan, refusals, execution through the guard's gate (unless dry or
//! refused), and the report.

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::StreamExt;

use super::Desired;
use super::plan::{Plan, plan};
use super::report::{ProtectedGroupReport, ReportedAction, RunReport, summary};
use crate::desired::{self, DesiredFile};
use crate::domain::{Action, Date, InstanceArn, Removal};
use crate::guard::{Guard, PlannedOutcome};
use crate::inventory::{self, Inventory, InventoryError};
use crate::policy::PolicyError;
use crate::ports::{Directory, Gate, IdentityCenter, IdentityStore, InstanceInventory, Notifier, Organization};

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
    /// The usage data the `dormant-access` rule and the report join (issue #17).
    pub usage: crate::usage::UsageInput,
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
            usage: crate::usage::UsageInput::None,
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
    S: IdentityStore + Directory,
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
    S: IdentityStore + Directory,
    N: Notifier,
    G: Gate,
    D: Directory,
    O: Organization,
{
    Box::pin(run_surveyed(guard, directory, organization, instance, file, options))
        .await
        .map(|(report, _, _)| report)
}

/// [`run`], also answering what the run read: the inventory and the desired file as resolved
/// (the access review, `idc-guard report`, shows them beside the report).
pub async fn run_surveyed<I, S, N, G, D, O>(
    guard: &Guard<I, S, N, G>,
    directory: &D,
    organization: &O,
    instance: &crate::ports::InstanceRef,
    file: Option<Result<DesiredFile, PolicyError>>,
    options: &RunOptions,
) -> Result<(RunReport, Inventory, Desired), InventoryError>
where
    I: IdentityCenter + InstanceInventory,
    S: IdentityStore + Directory,
    N: Notifier,
    G: Gate,
    D: Directory,
    O: Organization,
{
    let started = Instant::now();
    // A GROUP assignment's use is its members': with usage data, every assigned group's members
    // are read.
    let inventory = crate::inventory::Options {
        assigned_members: options.inventory.assigned_members
            || matches!(options.usage, crate::usage::UsageInput::Loaded(_)),
        ..options.inventory.clone()
    };
    let (inv, desired) = survey(guard, directory, organization, instance, file, &inventory).await?;
    // Revocations whose sessions have expired go first (noted ones, and any the read found).
    let revocations = if options.dry_run {
        Vec::new()
    } else {
        let (swept, error) = guard
            .sweep_revocations(&inv.instance, &expired_revocations(&inv, options.now))
            .await;
        if let Some(e) = error {
            tracing::warn!(error = %e, "the noted revocations could not be read; only those the inventory found were swept");
        }
        swept
    };
    let plan = plan(
        guard.policy(),
        &inv,
        &desired,
        &options.usage,
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
        revocations,
        usage: super::report::UsageSummary::of(guard.policy(), &inv, &options.usage, options.now),
        sightings: match &options.usage {
            crate::usage::UsageInput::Loaded(u) if !options.dry_run => {
                crate::usage::Sightings::of(&inv, &u.observation.first_seen)
            }
            _ => crate::usage::Sightings::default(),
        },
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
    check_scim_silence(guard, options).await;
    Ok((report, inv, desired))
}

/// `scim-silent` (track C): how long since the identity guard last recorded a successful SCIM
/// write. Published through the guard (once a day while it lasts: the synthetic change's event
/// id is the day's), independently of the run's drift finding.
async fn check_scim_silence<I, S, N, G>(guard: &Guard<I, S, N, G>, options: &RunOptions) -> Vec<crate::domain::Outcome>
where
    I: IdentityCenter + InstanceInventory,
    S: IdentityStore + Directory,
    N: Notifier,
    G: Gate,
{
    let mut meta = super::plan::meta(&format!("scim-silent-{}", options.today), options.now);
    meta.event_name = "ScimSilenceCheck".to_owned();
    let change = crate::domain::Change {
        meta,
        actor: super::plan::actor(),
        kind: crate::domain::ChangeKind::Scim(crate::domain::ScimSignal::Silence),
    };
    let outcomes = guard.check_scim_silence(&change, options.today).await;
    for o in &outcomes {
        tracing::warn!(rule = %o.finding.rule, "{}", o.finding.message);
    }
    outcomes
}

/// Executes a plan's corrections: one resource's corrections in order, resources concurrently
/// (at most `options.concurrency` at a time).
async fn execute<I, S, N, G>(guard: &Guard<I, S, N, G>, plan: &Plan, options: &RunOptions, report: &mut RunReport)
where
    I: IdentityCenter + InstanceInventory,
    S: IdentityStore + Directory,
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
                        .correct_planned(
                            &item.change,
                            &item.finding,
                            item.desired.as_ref(),
                            item.planned_usage.as_ref(),
                            options.today,
                        )
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
    let results: Vec<(usize, PlannedOutcome)> = results.into_iter().flatten().collect();
    // Every planned finding's outcome, for the stores that keep one finding per (rule, resource)
    // (Security Hub): people get the run's one summary, machines every finding.
    let outcomes: Vec<crate::domain::Outcome> = results
        .iter()
        .filter_map(|(_, o)| match o {
            PlannedOutcome::Done(o) => Some((**o).clone()),
            _ => None,
        })
        .collect();
    if let Err(e) = guard.notifier().record(&outcomes).await {
        tracing::error!(error = %e, run_id = %report.run_id, "could not record the run's findings");
    }
    // The live sessions the removals leave behind are revoked once every removal is done: each
    // set is edited once for the whole run (issue #14), not once per removal.
    let mut removals: BTreeMap<crate::domain::Mode, Vec<(Option<&InstanceArn>, &Removal)>> = BTreeMap::new();
    for (_, outcome) in &results {
        let PlannedOutcome::Done(o) = outcome else { continue };
        if o.calls.is_empty() {
            continue;
        }
        for action in &o.finding.remediation {
            if let Action::RevokeSessions {
                instance_arn,
                removal,
                mode,
            } = action
            {
                removals
                    .entry(*mode)
                    .or_default()
                    .push((instance_arn.as_ref(), removal));
            }
        }
    }
    for (mode, removals) in removals {
        let (revoked, calls) = guard.revoke_after(&removals, mode).await;
        report.counts.mutations += calls.len();
        report.revocations.extend(revoked);
    }
    for (i, outcome) in results {
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

/// The permission sets whose inline policy, as the inventory read it, holds revocations that
/// have expired at `now`.
fn expired_revocations(inv: &crate::inventory::Inventory, now: u64) -> Vec<crate::domain::PermissionSetArn> {
    inv.permission_sets
        .iter()
        .filter(|(_, entry)| {
            let text = entry
                .facts
                .as_ref()
                .and_then(|f| f.inline_policy.known())
                .and_then(|p| match p {
                    Some(crate::domain::InlinePolicyText::Text(text)) => Some(text),
                    _ => None,
                });
            text.and_then(|t| crate::iam::PolicyDocument::parse(t).ok())
                .is_some_and(|doc| doc.revocations().iter().any(|(_, r)| r.expired(now)))
        })
        .map(|(arn, _)| arn.clone())
        .collect()
}
