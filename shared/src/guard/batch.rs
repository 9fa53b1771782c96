//! A batch of events handled together (an SQS delivery, issue #15): triage before reading, one
//! live read per resource, one correction per violation, and still one report per event.
//!
//! 1. **Triage.** Each event is first judged on its face, as `idc-guard check` judges it
//!    (`Scope::Change`), with the permission set's name from the [`NameCache`]. An event that is
//!    compliant on its face (a GROUP assignment, a harmless inline policy, a SCIM write) is
//!    reported compliant without any read: most events of a bulk change are such, and the
//!    reconciler re-reads everything on its schedule anyway. Only an event that shows, or cannot
//!    exclude, a violation is judged live.
//! 2. **Grouping.** The events judged live are grouped by the resource they touched. Each group's
//!    resource is read once (level-driven: one read answers all of them), and every rule is
//!    evaluated for each event on that read.
//! 3. **Attribution.** Each violation found is corrected once, under one event: the latest of the
//!    group whose own change showed (or could not exclude) that rule, else the latest whose live
//!    evaluation found it. That event's idempotency claim, gate decision and report carry the
//!    correction; the group's other events are reported with `coalesced_with` naming it.
//! 4. **Time.** A group is only started while the invocation has time left; the events of groups
//!    not started are returned to the queue ([`GuardError::NotStarted`]), never dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::{Guard, GuardError, GuardReport, report_of};
use crate::domain::{
    Actor, Change, ChangeKind, Date, Evaluation, EventVerdict, Fact, Facts, IgnoreReason, Mode, PermissionSetOp,
};
use crate::engine::{OwnChanges, actionable, evaluate};
use crate::event::decode;
use crate::ports::{Directory, Gate, IdentityCenter, IdentityStore, InstanceInventory, Notifier};
use crate::rules::provisioning_failed;

/// One message of a batch: its id (the SQS message id; anything unique within the batch) and
/// its text (an EventBridge envelope or a raw CloudTrail record).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The message id.
    pub id: &'a str,
    /// The event.
    pub body: &'a str,
}

/// What became of one message of a batch.
#[derive(Debug)]
pub struct Handled {
    /// The message id.
    pub id: String,
    /// Its report, or why it was not handled (a bad input is acknowledged, the rest retried).
    pub result: Result<GuardReport, GuardError>,
}

impl Handled {
    /// Whether the message goes back to its queue: a retryable failure or time running out. A
    /// malformed event is acknowledged (retrying cannot fix it).
    pub fn returns_to_queue(&self) -> bool {
        matches!(self.result, Err(GuardError::Retryable(_) | GuardError::NotStarted))
    }
}

/// Permission-set names by ARN, learned from events and reads, so that rules that depend on a
/// set's name can judge an event without reading the set. A name never changes
/// (UpdatePermissionSet has no `Name` member) and an ARN is never reused, so an entry is only
/// dropped when its set is deleted (or the cache is full).
#[derive(Debug, Default)]
pub struct NameCache(Mutex<HashMap<String, String>>);

impl NameCache {
    /// More than Identity Center's largest quota of permission sets per instance (3,500).
    const CAPACITY: usize = 10_000;

    /// The cached name of `arn`.
    pub fn get(&self, arn: &str) -> Option<String> {
        self.0.lock().ok()?.get(arn).cloned()
    }

    /// Remembers that `arn` is named `name`.
    pub fn insert(&self, arn: &str, name: &str) {
        if let Ok(mut names) = self.0.lock() {
            if names.len() >= Self::CAPACITY && !names.contains_key(arn) {
                names.clear();
            }
            names.insert(arn.to_owned(), name.to_owned());
        }
    }

    /// Learns from a change: a creation names its set, a deletion ends it.
    pub fn learn_change(&self, change: &Change) {
        if let ChangeKind::PermissionSet {
            permission_set_arn, op, ..
        } = &change.kind
        {
            match op {
                PermissionSetOp::Created { name, .. } => self.insert(permission_set_arn.as_str(), name),
                PermissionSetOp::Deleted => {
                    if let Ok(mut names) = self.0.lock() {
                        names.remove(permission_set_arn.as_str());
                    }
                }
                _ => {}
            }
        }
    }

    /// Learns the name a read found.
    pub fn learn_facts(&self, facts: &Facts) {
        if let Some(ps) = &facts.permission_set
            && let Some(name) = ps.name.known()
        {
            self.insert(ps.arn.as_str(), name);
        }
    }

    /// Fills in the set's name where the facts lack it and the cache has it.
    pub fn fill(&self, facts: &mut Facts) {
        if let Some(ps) = facts.permission_set.as_mut()
            && ps.name == Fact::Unknown
            && let Some(name) = self.get(ps.arn.as_str())
        {
            ps.name = Fact::Known(name);
        }
    }
}

/// An event to judge live.
struct Pending {
    index: usize,
    change: Change,
    recorded: Fact<bool>,
    offline: Evaluation,
}

/// What the first steps made of a message: finished (with the change, when it started an
/// operation to follow), or to be judged live.
enum Prepared {
    Done(GuardReport, Option<Box<Change>>),
    Live(Box<Pending>),
}

impl<I, S, N, G> Guard<I, S, N, G>
where
    I: IdentityCenter + InstanceInventory,
    S: IdentityStore + Directory,
    N: Notifier,
    G: Gate,
{
    /// Handles a batch of events (see the module's documentation). Groups are only started
    /// before `deadline`. The results are in the messages' order.
    pub async fn handle_batch(&self, messages: &[Message<'_>], today: Date, deadline: Option<Instant>) -> Vec<Handled> {
        let mut results: Vec<Option<Result<GuardReport, GuardError>>> = Vec::with_capacity(messages.len());
        let mut pending = Vec::new();
        let mut to_follow: Vec<(usize, Change)> = Vec::new();
        let follows = self.policy.effective_mode(provisioning_failed::ID) != Mode::Off;
        for (index, message) in messages.iter().enumerate() {
            match self.prepare(index, message.body, today).await {
                Ok(Prepared::Done(report, change)) => {
                    results.push(Some(Ok(report)));
                    if let Some(change) = change.filter(|_| follows) {
                        to_follow.push((index, *change));
                    }
                }
                Ok(Prepared::Live(p)) => {
                    results.push(None);
                    if follows && p.change.meta.operation.is_some() {
                        to_follow.push((index, p.change.clone()));
                    }
                    pending.push(*p);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        for group in groups(pending) {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                for p in &group {
                    results[p.index] = Some(Err(GuardError::NotStarted));
                }
                continue;
            }
            for (index, result) in Box::pin(self.handle_group(group, today)).await {
                results[index] = Some(result);
            }
        }
        if !to_follow.is_empty() {
            Box::pin(self.report_operations(&to_follow, &mut results, today, deadline)).await;
        }
        messages
            .iter()
            .zip(results)
            .map(|(message, result)| Handled {
                id: message.id.to_owned(),
                result: result.unwrap_or(Err(GuardError::NotStarted)),
            })
            .collect()
    }

    /// Decodes, filters and triages one event.
    async fn prepare(&self, index: usize, json: &str, today: Date) -> Result<Prepared, GuardError> {
        let decoded = match decode(json) {
            Ok(decoded) => decoded,
            // A field that does not decode must not let a change through unjudged: when the
            // resource is known, judge it live (level-driven, the event's values are not needed).
            Err(mut e) => match e.partial.take() {
                Some(partial) => {
                    tracing::warn!(error = %e, "a field of the event does not decode: judging the resource live");
                    *partial
                }
                None => return Err(GuardError::BadInput(e)),
            },
        };
        let change = match actionable(&self.policy, decoded, OwnChanges::Keep) {
            Ok(change) => change,
            Err(ignored) => return Ok(Prepared::Done(report_of(&ignored, Vec::new()), None)),
        };
        // Issue #19: an identity store change delivered twice (CloudTrail, notification) or by a
        // replica Region is judged once (`delivery.rs`).
        if let Some(reason) = self.other_delivery(&change).await {
            let ignored = Evaluation::ignored(change.meta, change.actor, reason);
            return Ok(Prepared::Done(report_of(&ignored, Vec::new()), None));
        }
        self.names.learn_change(&change);
        // SCIM health (track C): each signal is recorded and judged on its own, not grouped.
        if let Some(report) = self.scim_event(&change, today).await? {
            return Ok(Prepared::Done(report, None));
        }
        // A change by an own role is an echo only when the journal shows idc-guard made it;
        // otherwise it is judged like anyone's, and reported (own-role-unrecorded-change).
        let recorded = match &change.actor {
            Actor::Guard { role_name } => match self.gate.recorded(&change).await {
                Some(true) => {
                    let echo = Evaluation::ignored(
                        change.meta,
                        change.actor.clone(),
                        IgnoreReason::OwnEcho {
                            role_name: role_name.clone(),
                        },
                    );
                    return Ok(Prepared::Done(report_of(&echo, Vec::new()), None));
                }
                Some(false) => Fact::Known(false),
                None => Fact::Unknown,
            },
            _ => Fact::Unknown,
        };
        // Triage: the change on its face, as the offline check judges it.
        let mut facts = Facts::from_change(&change);
        facts.own_call_recorded = recorded.clone();
        self.names.fill(&mut facts);
        let offline = evaluate(&self.policy, change.clone(), &facts, today);
        // A partly decoded event's face is incomplete: it is always judged live.
        if offline.verdict == EventVerdict::Compliant && !is_partial(&change) {
            let mut report = report_of(&offline, Vec::new());
            report.triaged = true;
            let follow = change.meta.operation.is_some().then(|| Box::new(change));
            return Ok(Prepared::Done(report, follow));
        }
        Ok(Prepared::Live(Box::new(Pending {
            index,
            change,
            recorded,
            offline,
        })))
    }

    /// Judges one group of events on one resource: one read, each violation corrected once.
    async fn handle_group(&self, group: Vec<Pending>, today: Date) -> Vec<(usize, Result<GuardReport, GuardError>)> {
        let Some(last) = group.last() else {
            return Vec::new();
        };
        let mut facts = match self.live_facts(&last.change).await {
            Ok(facts) => facts,
            Err(e) => return failed_group(&group, &e),
        };
        self.names.learn_facts(&facts);
        let evaluate_all = |facts: &Facts| -> Vec<Evaluation> {
            group
                .iter()
                .map(|p| {
                    let mut own = facts.clone();
                    own.own_call_recorded = p.recorded.clone();
                    evaluate(&self.policy, p.change.clone(), &own, today)
                })
                .collect()
        };
        let mut evaluations = evaluate_all(&facts);
        // Findings name things the way people know them: read the names only now, for them.
        if let Some(i) = evaluations.iter().position(|e| !e.findings.is_empty())
            && self.name_assignment(&group[i].change, &mut facts).await
        {
            evaluations = evaluate_all(&facts);
        }
        self.expire_revocations(&last.change, &facts).await;
        let owners = attribute(&group, &evaluations);
        let mut out = Vec::with_capacity(group.len());
        for (i, (p, evaluation)) in group.iter().zip(&evaluations).enumerate() {
            let mine = Evaluation {
                findings: evaluation
                    .findings
                    .iter()
                    .zip(&owners[i])
                    .filter(|(_, owner)| **owner == i)
                    .map(|(f, _)| f.clone())
                    .collect(),
                ..evaluation.clone()
            };
            let coalesced_with = owners[i]
                .iter()
                .find(|owner| **owner != i)
                .map(|owner| group[*owner].change.meta.event_id.clone());
            let result = self
                .correct_all(&p.change, &mine, &facts, today)
                .await
                .map(|outcomes| GuardReport {
                    coalesced_with,
                    ..report_of(evaluation, outcomes)
                });
            out.push((p.index, result));
        }
        out
    }
}

impl<I, S, N, G> Guard<I, S, N, G>
where
    I: IdentityCenter + InstanceInventory,
    S: IdentityStore + Directory,
    N: Notifier,
    G: Gate,
{
    /// Follows the operations the batch's changes started to their end and adds the
    /// `provisioning-failed` verdicts to those events' reports (after every correction: they
    /// come first). An event whose handling failed is not followed: it comes back.
    async fn report_operations(
        &self,
        to_follow: &[(usize, Change)],
        results: &mut [Option<Result<GuardReport, GuardError>>],
        today: Date,
        deadline: Option<Instant>,
    ) {
        let live: Vec<&(usize, Change)> = to_follow
            .iter()
            .filter(|(index, _)| matches!(results.get(*index), Some(Some(Ok(_)))))
            .collect();
        let changes: Vec<&Change> = live.iter().map(|(_, change)| change).collect();
        let ended = self.follow(&changes, deadline).await;
        for ((index, change), status) in live.into_iter().zip(ended) {
            let mut facts = Facts::from_change(change);
            facts.operation = status;
            let evaluation = evaluate(&self.policy, change.clone(), &facts, today);
            let findings: Vec<_> = evaluation
                .findings
                .iter()
                .filter(|f| f.rule == provisioning_failed::ID)
                .cloned()
                .collect();
            let undetermined: Vec<_> = evaluation
                .undetermined
                .iter()
                .filter(|u| u.rule == provisioning_failed::ID)
                .cloned()
                .collect();
            if findings.is_empty() && undetermined.is_empty() {
                continue;
            }
            let mine = Evaluation { findings, ..evaluation };
            let outcomes = match self.correct_all(change, &mine, &facts, today).await {
                Ok(outcomes) => outcomes,
                Err(e) => {
                    tracing::error!(error = %e, event_id = %change.meta.event_id, "could not report a failed operation");
                    Vec::new()
                }
            };
            if let Some(Some(Ok(report))) = results.get_mut(*index) {
                if !mine.findings.is_empty() {
                    report.verdict = EventVerdict::Violation;
                } else if report.verdict == EventVerdict::Compliant {
                    report.verdict = EventVerdict::Undetermined;
                }
                report.outcomes.extend(outcomes);
                report.undetermined.extend(undetermined);
            }
        }
    }
}

/// The events to judge live, grouped by the resource they touched, in order of first appearance.
fn groups(pending: Vec<Pending>) -> Vec<Vec<Pending>> {
    let mut order: Vec<String> = Vec::new();
    let mut by_resource: HashMap<String, Vec<Pending>> = HashMap::new();
    for p in pending {
        let resource = p.change.kind.resource();
        let key = format!("{:?} {}", resource.kind, resource.id);
        if !by_resource.contains_key(&key) {
            order.push(key.clone());
        }
        by_resource.entry(key).or_default().push(p);
    }
    order.into_iter().filter_map(|key| by_resource.remove(&key)).collect()
}

/// For each event of a group and each finding of its live evaluation, the event (index in the
/// group) that corrects it: the latest whose own change showed or could not exclude the rule,
/// else the latest whose live evaluation found it.
fn attribute(group: &[Pending], evaluations: &[Evaluation]) -> Vec<Vec<usize>> {
    let flagged = |p: &Pending, rule| {
        p.offline.findings.iter().any(|f| f.rule == rule) || p.offline.undetermined.iter().any(|u| u.rule == rule)
    };
    evaluations
        .iter()
        .map(|evaluation| {
            evaluation
                .findings
                .iter()
                .map(|finding| {
                    let has = |j: &usize| {
                        evaluations[*j]
                            .findings
                            .iter()
                            .any(|f| f.rule == finding.rule && f.resource.id == finding.resource.id)
                    };
                    let candidates = (0..group.len()).rev().filter(|j| has(j));
                    candidates
                        .clone()
                        .find(|j| flagged(&group[*j], finding.rule))
                        .or_else(|| candidates.clone().next())
                        .unwrap_or(0)
                })
                .collect()
        })
        .collect()
}

/// Every event of a group fails with the group's read: retried together.
fn failed_group(group: &[Pending], error: &GuardError) -> Vec<(usize, Result<GuardReport, GuardError>)> {
    group
        .iter()
        .map(|p| {
            let e = match error {
                GuardError::Retryable(e) => GuardError::Retryable(e.clone()),
                _ => GuardError::NotStarted,
            };
            (p.index, Err(e))
        })
        .collect()
}

/// Whether a field of the change did not decode (its resource is known, its values are not).
fn is_partial(change: &Change) -> bool {
    matches!(
        &change.kind,
        ChangeKind::PermissionSet {
            op: PermissionSetOp::Unreadable { .. },
            ..
        } | ChangeKind::AccessControlAttributes {
            op: crate::domain::AbacOp::Unreadable { .. },
            ..
        }
    )
}
