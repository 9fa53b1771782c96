//! The remediation engine's flow: from an event to a verified correction.
//!
//! Level-driven: the event only says which resource changed. The guard reads that resource's live
//! state through the ports (`live.rs`), evaluates every rule that applies to it, and corrects only
//! what violates now; so a duplicate, late or out-of-order event finds nothing to do. Every planned
//! action passes one gate ([`Gate`]) before it is executed (`crate::remediation`), and no
//! correction is reported done until a read-back shows the rule passing.

mod batch;
mod delivery;
mod follow;
mod live;
mod scim;

pub use batch::{Handled, Message, NameCache};

use serde::Serialize;

use crate::domain::{
    Action, Change, ChangeKind, Date, Decision, DesiredFact, Evaluation, EventVerdict, Fact, Facts, Finding,
    InlinePolicyText, Mode, Outcome, OutcomeKind, Resource, ResourceKind, RevocationReport, RevocationStatus, Severity,
    Undetermined,
};
use crate::engine::evaluate;
use crate::event::DecodeError;
use crate::policy::Policy;
use crate::ports::{
    Directory, FailureKind, Gate, IdentityCenter, IdentityStore, InstanceInventory, Notifier, RemoteError,
};
use crate::remediation::{self, Executed};
use crate::revocation;

/// The use of a planned correction's assignment as the run read it, and the run's time: what
/// `dormant-access` judged, carried to the re-read before acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedUsage {
    /// The assignment's use.
    pub usage: Fact<crate::domain::AssignmentUsage>,
    /// The run's time (Unix seconds).
    pub as_of: u64,
    /// The permission set's name as the run read it (names never change; the windows and the
    /// uses are by name).
    pub permission_set_name: Option<String>,
}

/// What became of one finding the reconciler planned ([`Guard::correct_planned`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedOutcome {
    /// Gated, and executed and verified if allowed.
    Done(Box<Outcome>),
    /// The re-read before acting found the resource compliant: nothing executed.
    Compliant,
    /// The gate says another path owns this correction: nothing executed.
    Duplicate(String),
}

/// When a correction's revocations are made: with it, or by the caller for a whole batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Revoke {
    Now,
    Later,
}

/// Allows every finding whose rule is in enforce mode.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModeGate;

impl Gate for ModeGate {
    async fn decide(&self, _change: &Change, finding: &Finding) -> Decision {
        if finding.mode == Mode::Enforce {
            Decision::Allow
        } else {
            Decision::Withhold(format!("rule {} is in {} mode", finding.rule, finding.mode))
        }
    }

    /// The base gate keeps no state: every outcome is news.
    async fn first_report(&self, _change: &Change, _finding: &Finding, _outcome: &OutcomeKind) -> bool {
        true
    }

    async fn report_failed(&self, _change: &Change, _finding: &Finding, _outcome: &OutcomeKind) {}

    /// The base gate keeps no state: nothing to record.
    async fn record(&self, _operation: &'static str, _resource: &str) -> crate::ports::Remote<()> {
        Ok(())
    }

    /// The base gate keeps no state: it cannot tell.
    async fn recorded(&self, _change: &Change) -> Option<bool> {
        None
    }

    /// The base gate keeps no shared state: every lease is granted (nothing excludes another
    /// process; the safety rails' gate does).
    async fn lease(&self, resource: &str) -> crate::ports::Remote<Option<crate::ports::Lease>> {
        Ok(Some(crate::ports::Lease {
            resource: resource.to_owned(),
            token: String::new(),
        }))
    }

    async fn release(&self, _lease: &crate::ports::Lease) {}

    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// The base gate keeps no state: nothing is noted (the reconciler's full read finds expired
    /// revocations anyway).
    async fn note_revocations(&self, _permission_set: &str, _until: Option<u64>) -> crate::ports::Remote<()> {
        Ok(())
    }

    async fn noted_revocations(&self) -> crate::ports::Remote<Vec<(String, u64)>> {
        Ok(Vec::new())
    }
}

/// The result of handling one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuardReport {
    /// The CloudTrail eventID.
    pub event_id: String,
    /// The verdict on the live state.
    pub verdict: EventVerdict,
    /// Why the event was ignored, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Outcomes, one per finding.
    pub outcomes: Vec<Outcome>,
    /// Rules that could not decide (a read failed or a fact is unknown): nothing was changed for them.
    pub undetermined: Vec<Undetermined>,
    /// Judged compliant on its face, without reading the resource (the triage of a batch).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub triaged: bool,
    /// The event of the same batch whose correction covered this event's violations (its
    /// resource was read and corrected once for both).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coalesced_with: Option<String>,
}

/// Why an event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The event is malformed: retrying cannot help.
    #[error("bad input: {0}")]
    BadInput(#[from] DecodeError),
    /// AWS failed in a way a later retry may fix; the event should be retried, then parked.
    #[error("retryable: {0}")]
    Retryable(#[source] RemoteError),
    /// The invocation ran out of time before the event was judged: it goes back to the queue.
    #[error("not started: the invocation's time ran out before this event was judged")]
    NotStarted,
}

/// What became of one gated correction: its outcome, the mutating calls made, and the failure
/// to retry the event for, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Correction {
    kind: OutcomeKind,
    calls: Vec<&'static str>,
    retry: Option<RemoteError>,
    revocations: Vec<RevocationReport>,
}

impl Correction {
    /// Nothing executed.
    fn without_calls(kind: OutcomeKind) -> Self {
        Self {
            kind,
            calls: Vec::new(),
            retry: None,
            revocations: Vec::new(),
        }
    }
}

/// The gate's decision as an outcome, when it does not allow the correction: `None` to go
/// ahead, `Some(None)` for a duplicate delivery (nothing done, nothing reported).
fn withheld(decision: Decision, finding: &Finding) -> Option<Option<OutcomeKind>> {
    match decision {
        Decision::Allow => None,
        Decision::Withhold(reason) => Some(Some(if finding.mode == Mode::Enforce {
            OutcomeKind::Withheld { reason }
        } else {
            OutcomeKind::Detected
        })),
        Decision::Quarantine(reason) => Some(Some(OutcomeKind::Quarantined { reason })),
        Decision::OpenBreaker(reason) => Some(Some(OutcomeKind::BreakerOpened { reason })),
        Decision::Duplicate(_) => Some(None),
    }
}

/// The guard: ports, policy and gate, built once per Lambda container.
pub struct Guard<I, S, N, G = ModeGate> {
    identity_center: I,
    identity_store: S,
    notifier: N,
    gate: G,
    policy: Policy,
    names: NameCache,
    /// The instance's primary Region, when known: the only one whose identity store
    /// notifications are judged (issue #19).
    region: Option<String>,
}

impl<I, S, N> Guard<I, S, N, ModeGate> {
    /// A guard with the base gate.
    pub fn new(identity_center: I, identity_store: S, notifier: N, policy: Policy) -> Self {
        Self::with_gate(identity_center, identity_store, notifier, policy, ModeGate)
    }
}

impl<I, S, N, G> Guard<I, S, N, G> {
    /// A guard with a custom gate.
    pub fn with_gate(identity_center: I, identity_store: S, notifier: N, policy: Policy, gate: G) -> Self {
        Self {
            identity_center,
            identity_store,
            notifier,
            gate,
            policy,
            names: NameCache::default(),
            region: None,
        }
    }

    /// The guard, judging identity store notifications only when sent in `region` (the
    /// instance's primary Region; `None`: every Region's, as offline).
    #[must_use]
    pub fn with_region(mut self, region: Option<String>) -> Self {
        self.region = region;
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The Identity Center port (the reconciler's inventory reads go through it too).
    pub fn identity_center(&self) -> &I {
        &self.identity_center
    }

    /// The identity store port.
    pub fn identity_store(&self) -> &S {
        &self.identity_store
    }

    /// The notifier.
    pub fn notifier(&self) -> &N {
        &self.notifier
    }

    /// The gate.
    pub fn gate(&self) -> &G {
        &self.gate
    }
}

impl<I, S, N, G> Guard<I, S, N, G>
where
    I: IdentityCenter + InstanceInventory,
    S: IdentityStore + Directory,
    N: Notifier,
    G: Gate,
{
    /// Handles one event (EventBridge envelope or raw CloudTrail record, as JSON text): a batch
    /// of one ([`Guard::handle_batch`]).
    pub async fn handle(&self, json: &str, today: Date) -> Result<GuardReport, GuardError> {
        let message = Message { id: "", body: json };
        Box::pin(self.handle_batch(&[message], today, None))
            .await
            .pop()
            .map_or(Err(GuardError::NotStarted), |handled| handled.result)
    }

    /// Corrects and reports every finding; the error to retry the event for, if a correction
    /// failed retryably (the others are done and reported first).
    async fn correct_all(
        &self,
        change: &Change,
        evaluation: &Evaluation,
        facts: &Facts,
        today: Date,
    ) -> Result<Vec<Outcome>, GuardError> {
        let mut outcomes = Vec::new();
        let mut retry_later = None;
        // Two rules may plan the same correction (an entitlement to a USER and to a role off the
        // allow-list: one deletion): it is made once, and the second finding reports its result.
        let mut done: Vec<(&[Action], OutcomeKind)> = Vec::new();
        for finding in &evaluation.findings {
            let earlier = done
                .iter()
                .find(|(plan, _)| !plan.is_empty() && *plan == finding.remediation.as_slice())
                .map(|(_, kind)| kind.clone());
            let correction = match earlier {
                Some(kind) => Correction::without_calls(kind),
                None => {
                    let Some(correction) = self.correct(change, finding, facts, today).await else {
                        continue;
                    };
                    done.push((&finding.remediation, correction.kind.clone()));
                    correction
                }
            };
            if let (OutcomeKind::Failed { .. }, Some(e)) = (&correction.kind, correction.retry) {
                retry_later = Some(e);
            }
            let failed_revocations = revocation_failures(finding, &correction.revocations);
            let mut outcome = Outcome {
                event: change.meta.clone(),
                actor: change.actor.clone(),
                finding: finding.clone(),
                kind: correction.kind,
                tagged_owner: None,
                calls: correction.calls,
                revocations: correction.revocations,
            };
            self.report(change, &mut outcome).await;
            outcomes.push(outcome);
            // A revocation that failed is a finding of its own, never silent.
            for failed in failed_revocations {
                let mut outcome = Outcome {
                    event: change.meta.clone(),
                    actor: change.actor.clone(),
                    kind: OutcomeKind::Failed {
                        error: failed.message.clone(),
                    },
                    finding: failed,
                    tagged_owner: None,
                    calls: Vec::new(),
                    revocations: Vec::new(),
                };
                self.report(change, &mut outcome).await;
                outcomes.push(outcome);
            }
        }
        match retry_later {
            Some(e) => Err(GuardError::Retryable(e)),
            None => Ok(outcomes),
        }
    }

    /// Whenever a guard touches a permission set, its expired revocation statements go (the
    /// sessions they denied have expired). A failure is logged: the sweep tries again.
    async fn expire_revocations(&self, change: &Change, facts: &Facts) {
        let ChangeKind::PermissionSet {
            instance_arn,
            permission_set_arn,
            ..
        } = &change.kind
        else {
            return;
        };
        let now = self.gate.now();
        let expired = facts
            .permission_set
            .as_ref()
            .and_then(|ps| ps.inline_policy.known())
            .and_then(|p| match p {
                Some(InlinePolicyText::Text(text)) => crate::iam::PolicyDocument::parse(text).ok(),
                _ => None,
            })
            .is_some_and(|doc| doc.revocations().iter().any(|(_, r)| r.expired(now)));
        if !expired {
            return;
        }
        let ports = self.ports();
        let mut calls = Vec::new();
        if let Some(report) = revocation::expire(&ports, instance_arn, permission_set_arn, &mut calls).await {
            tracing::info!(calls = ?calls, "{}", report.summary());
        }
    }

    /// Removes the expired revocation statements of the sets noted as holding due ones, and of
    /// `also`; see [`revocation::sweep`].
    pub async fn sweep_revocations(
        &self,
        instance: &crate::domain::InstanceArn,
        also: &[crate::domain::PermissionSetArn],
    ) -> (Vec<RevocationReport>, Option<RemoteError>) {
        let mut calls = Vec::new();
        let swept = revocation::sweep(&self.ports(), instance, also, &mut calls).await;
        for report in &swept.0 {
            tracing::info!(calls = ?calls, "{}", report.summary());
        }
        swept
    }

    /// Revokes the sessions that a batch of executed removals left behind (the reconciler's
    /// run), each set edited once; see [`revocation::after_removals`]. The calls made are
    /// returned with the reports.
    pub async fn revoke_after(
        &self,
        removals: &[(Option<&crate::domain::InstanceArn>, &crate::domain::Removal)],
        mode: crate::policy::Mode,
    ) -> (Vec<RevocationReport>, Vec<&'static str>) {
        let mut calls = Vec::new();
        let settings = revocation::Settings {
            margin: self.policy.revocation.margin,
        };
        let reports =
            revocation::after_removals(&self.ports(), removals, &Facts::default(), mode, settings, &mut calls).await;
        for report in &reports {
            tracing::info!(calls = ?calls, "{}", report.summary());
        }
        (reports, calls)
    }

    /// The live facts a planned finding is judged on again (before acting and after): the
    /// change's, and for `provisioning-current` which of the planned accounts are still behind
    /// (the failures it reported are history: only the accounts are corrected).
    async fn reread(
        &self,
        change: &Change,
        finding: &Finding,
        desired: Option<&DesiredFact>,
    ) -> Result<Facts, GuardError> {
        let mut facts = self.facts_for(change, desired).await?;
        if finding.rule == crate::rules::provisioning_current::ID
            && let ChangeKind::PermissionSet {
                instance_arn,
                permission_set_arn,
                ..
            } = &change.kind
        {
            let planned: Vec<&crate::domain::AccountId> = finding
                .remediation
                .iter()
                .filter_map(|a| match a {
                    Action::ProvisionPermissionSet {
                        target: crate::domain::ProvisionTarget::Account(account),
                        ..
                    } => Some(account),
                    _ => None,
                })
                .collect();
            let stale = self
                .identity_center
                .stale_accounts(instance_arn, permission_set_arn)
                .await
                .map(|now| now.into_iter().filter(|a| planned.contains(&a)).collect());
            facts.stale_accounts = live::retryable_or_unknown(stale)?;
            facts.failed_operations = Fact::Known(Vec::new());
            facts.as_of = Some(self.gate.now());
        }
        Ok(facts)
    }

    /// The ports a correction goes through.
    fn ports(&self) -> remediation::Ports<'_, I, S, G> {
        remediation::Ports {
            identity_center: &self.identity_center,
            identity_store: &self.identity_store,
            gate: &self.gate,
        }
    }

    /// Publishes an outcome once: the gate knows whether it was published before. For a notifier
    /// that routes by owner, the owner tag (and the set's name, when the finding lacks it) are
    /// read first; a failed read leaves the owner to the policy's routes and default.
    async fn report(&self, change: &Change, outcome: &mut Outcome) {
        let finding = &outcome.finding;
        if !self.gate.first_report(change, finding, &outcome.kind).await {
            tracing::info!(event_id = %change.meta.event_id, rule = %finding.rule, outcome = outcome.kind.as_str(), "already reported: not published again");
            return;
        }
        if self.notifier.routes_by_owner() {
            outcome.tagged_owner = self.owner_tag(change, finding).await;
            // Owners are routed by the set's name, and people read names better than ARNs.
            if outcome.finding.resource.permission_set_name.is_none() {
                outcome.finding.resource.permission_set_name = self.permission_set_name_of(change, finding).await;
            }
        }
        if let Err(e) = self.notifier.publish(outcome).await {
            tracing::error!(error = %e, event_id = %change.meta.event_id, "could not publish an outcome");
            self.gate.report_failed(change, &outcome.finding, &outcome.kind).await;
        }
    }

    /// Gates, executes and verifies the correction of one finding; `None` when another delivery
    /// of the event owns the finding (nothing to report).
    async fn correct(&self, change: &Change, finding: &Finding, facts: &Facts, today: Date) -> Option<Correction> {
        if finding.remediation.is_empty() {
            return Some(Correction::without_calls(OutcomeKind::Detected));
        }
        let decision = self.gate.decide(change, finding).await;
        if let Decision::Duplicate(reason) = &decision {
            tracing::info!(event_id = %change.meta.event_id, rule = %finding.rule, %reason, "duplicate delivery: nothing done, nothing reported");
        }
        if let Some(withheld) = withheld(decision, finding) {
            return withheld.map(Correction::without_calls);
        }
        let correction = self
            .execute_and_verify(change, finding, facts, None, today, Revoke::Now)
            .await;
        self.gate.settle(change, finding, &correction.kind).await;
        Some(correction)
    }

    /// The reconciler's path for one planned finding, through the same gate, execution and
    /// read-back as an event's: the gate decides; then the resource is read again (level-driven:
    /// the plan may be minutes old, and an event may have corrected it meanwhile) and only what
    /// still violates is executed and verified. `desired` is what the desired-assignments file says
    /// about an assignment, for the `desired-assignments` rule. Nothing is published: the
    /// reconciler reports its run as a whole.
    pub async fn correct_planned(
        &self,
        change: &Change,
        finding: &Finding,
        desired: Option<&DesiredFact>,
        usage: Option<&PlannedUsage>,
        today: Date,
    ) -> PlannedOutcome {
        let outcome = |kind, calls| Outcome {
            event: change.meta.clone(),
            actor: change.actor.clone(),
            finding: finding.clone(),
            kind,
            tagged_owner: None,
            calls,
            revocations: Vec::new(),
        };
        if finding.remediation.is_empty() {
            return PlannedOutcome::Done(Box::new(outcome(OutcomeKind::Detected, Vec::new())));
        }
        let decision = self.gate.decide(change, finding).await;
        if let Decision::Duplicate(reason) = &decision {
            return PlannedOutcome::Duplicate(reason.clone());
        }
        if let Some(Some(kind)) = withheld(decision, finding) {
            return PlannedOutcome::Done(Box::new(outcome(kind, Vec::new())));
        }
        let facts = match self.reread(change, finding, desired).await {
            // An assignment's use is what the run read seconds ago, judged as of the run's time:
            // only the reconciler reads it, and the re-read confirms the assignment still exists.
            Ok(mut facts) => {
                if let Some(planned) = usage {
                    facts.usage = Some(planned.usage.clone());
                    facts.as_of = Some(planned.as_of);
                    if let (Some(ps), Some(name)) = (facts.permission_set.as_mut(), &planned.permission_set_name)
                        && ps.name == Fact::Unknown
                    {
                        ps.name = Fact::Known(name.clone());
                    }
                }
                facts
            }
            Err(e) => {
                let kind = OutcomeKind::Failed {
                    error: format!("the re-read before acting failed: {e}"),
                };
                self.gate.settle(change, finding, &kind).await;
                return PlannedOutcome::Done(Box::new(outcome(kind, Vec::new())));
            }
        };
        let now = evaluate(&self.policy, change.clone(), &facts, today);
        let Some(current) = now
            .findings
            .into_iter()
            .find(|f| f.rule == finding.rule && f.resource.id == finding.resource.id)
        else {
            // Compliant at the re-read: nothing is executed. The gate's claim stays (it expires);
            // the counting already done is the conservative overcount the rails accept.
            return PlannedOutcome::Compliant;
        };
        // The revocations a planned correction calls for are left to the caller, which makes
        // them once for all its removals (`revoke_after`).
        let correction = self
            .execute_and_verify(change, &current, &facts, desired, today, Revoke::Later)
            .await;
        self.gate.settle(change, finding, &correction.kind).await;
        PlannedOutcome::Done(Box::new(Outcome {
            finding: current,
            revocations: correction.revocations,
            ..outcome(correction.kind, correction.calls)
        }))
    }

    /// Executes the planned actions of an allowed correction, then verifies it by read-back.
    async fn execute_and_verify(
        &self,
        change: &Change,
        finding: &Finding,
        facts: &Facts,
        desired: Option<&DesiredFact>,
        today: Date,
        revoke: Revoke,
    ) -> Correction {
        let settings = revocation::Settings {
            margin: self.policy.revocation.margin,
        };
        let actions: Vec<Action> = finding
            .remediation
            .iter()
            .filter(|a| revoke == Revoke::Now || !matches!(a, Action::RevokeSessions { .. }))
            .cloned()
            .collect();
        let Executed {
            calls,
            failure,
            revocations,
        } = remediation::execute(&self.ports(), &actions, facts, settings).await;
        if let Some(e) = failure {
            let kind = match e.kind {
                FailureKind::AccessDenied => OutcomeKind::CannotRemediate {
                    reason: e.message.clone(),
                },
                _ => OutcomeKind::Failed { error: e.to_string() },
            };
            let retry = e.kind.is_retryable().then_some(e);
            return Correction {
                kind,
                calls,
                retry,
                revocations,
            };
        }
        let kind = self.verify(change, finding, desired, today).await;
        Correction {
            kind,
            calls,
            retry: None,
            revocations,
        }
    }

    /// Reads the resource again and judges the same rule.
    async fn verify(
        &self,
        change: &Change,
        finding: &Finding,
        desired: Option<&DesiredFact>,
        today: Date,
    ) -> OutcomeKind {
        match self.reread(change, finding, desired).await {
            Ok(after) => {
                let again = evaluate(&self.policy, change.clone(), &after, today);
                match again.findings.iter().find(|f| f.rule == finding.rule) {
                    None if !again.undetermined.iter().any(|u| u.rule == finding.rule) => OutcomeKind::Remediated,
                    None => OutcomeKind::NotVerified {
                        detail: "the read-back could not decide".to_owned(),
                    },
                    Some(f) => OutcomeKind::NotVerified {
                        detail: f.message.clone(),
                    },
                }
            }
            Err(e) => OutcomeKind::NotVerified {
                detail: format!("the read-back failed: {e}"),
            },
        }
    }
}

fn report_of(evaluation: &Evaluation, outcomes: Vec<Outcome>) -> GuardReport {
    GuardReport {
        event_id: evaluation.meta.event_id.clone(),
        verdict: evaluation.verdict,
        reason: evaluation.reason.as_ref().map(ToString::to_string),
        outcomes,
        undetermined: evaluation.undetermined.clone(),
        triaged: false,
        coalesced_with: None,
    }
}

/// The findings of the revocations after `finding`'s correction that failed: one per set.
fn revocation_failures(finding: &Finding, reports: &[RevocationReport]) -> Vec<Finding> {
    reports
        .iter()
        .filter(|r| matches!(r.status, RevocationStatus::Failed { .. }))
        .map(|r| {
            let mut resource = match &r.permission_set_arn {
                Some(arn) => Resource::new(ResourceKind::PermissionSet, arn.as_str()),
                None => finding.resource.clone(),
            };
            resource.permission_set_arn = r.permission_set_arn.as_ref().map(ToString::to_string);
            resource.permission_set_name.clone_from(&r.permission_set_name);
            Finding {
                rule: crate::domain::revocation::REVOCATION_FAILED,
                severity: Severity::High,
                mode: finding.mode,
                message: format!(
                    "{} The access itself was removed ({}); the role sessions it issued stay valid until they \
                     expire. Revoke them with `idc-guard revoke`, and delete the user's portal sessions in the \
                     IAM Identity Center console (Users, the user, Active sessions).",
                    r.summary(),
                    finding.rule
                ),
                resource,
                remediation: Vec::new(),
                expired_exception: None,
            }
        })
        .collect()
}
