//! The remediation engine's flow: from an event to a verified correction.
//!
//! Level-driven: the event only says which resource changed. The guard reads that resource's live
//! state through the ports (`live.rs`), evaluates every rule that applies to it, and corrects only
//! what violates now; so a duplicate, late or out-of-order event finds nothing to do. Every planned
//! action passes one gate ([`Gate`]) before it is executed (`crate::remediation`), and no
//! correction is reported done until a read-back shows the rule passing.

mod live;

use serde::Serialize;

use crate::domain::{
    Actor, Change, Date, Decision, DesiredFact, Evaluation, EventVerdict, Fact, Facts, Finding, IgnoreReason, Mode,
    Outcome, OutcomeKind, Undetermined,
};
use crate::engine::{OwnChanges, actionable, evaluate};
use crate::event::{DecodeError, decode};
use crate::policy::Policy;
use crate::ports::{FailureKind, Gate, IdentityCenter, IdentityStore, Notifier, RemoteError};
use crate::remediation::{self, Executed};

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
}

/// What became of one gated correction: its outcome, the mutating calls made, and the failure
/// to retry the event for, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Correction {
    kind: OutcomeKind,
    calls: Vec<&'static str>,
    retry: Option<RemoteError>,
}

impl Correction {
    /// Nothing executed.
    fn without_calls(kind: OutcomeKind) -> Self {
        Self {
            kind,
            calls: Vec::new(),
            retry: None,
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
}

impl<I: IdentityCenter, S: IdentityStore, N: Notifier> Guard<I, S, N, ModeGate> {
    /// A guard with the base gate.
    pub fn new(identity_center: I, identity_store: S, notifier: N, policy: Policy) -> Self {
        Self::with_gate(identity_center, identity_store, notifier, policy, ModeGate)
    }
}

impl<I: IdentityCenter, S: IdentityStore, N: Notifier, G: Gate> Guard<I, S, N, G> {
    /// A guard with a custom gate.
    pub fn with_gate(identity_center: I, identity_store: S, notifier: N, policy: Policy, gate: G) -> Self {
        Self {
            identity_center,
            identity_store,
            notifier,
            gate,
            policy,
        }
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

    /// Handles one event (EventBridge envelope or raw CloudTrail record, as JSON text).
    pub async fn handle(&self, json: &str, today: Date) -> Result<GuardReport, GuardError> {
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
            Err(ignored) => return Ok(report_of(&ignored, Vec::new())),
        };
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
                    return Ok(report_of(&echo, Vec::new()));
                }
                Some(false) => Fact::Known(false),
                None => Fact::Unknown,
            },
            _ => Fact::Unknown,
        };
        let mut facts = self.live_facts(&change).await?;
        facts.own_call_recorded = recorded;
        let mut evaluation = evaluate(&self.policy, change.clone(), &facts, today);
        // Findings name things the way people know them: read the names only now, for them.
        if !evaluation.findings.is_empty() && self.name_assignment(&change, &mut facts).await {
            evaluation = evaluate(&self.policy, change.clone(), &facts, today);
        }
        let mut outcomes = Vec::new();
        let mut retry_later = None;
        for finding in &evaluation.findings {
            let Some(correction) = self.correct(&change, finding, &facts, today).await else {
                continue;
            };
            if let (OutcomeKind::Failed { .. }, Some(e)) = (&correction.kind, correction.retry) {
                retry_later = Some(e);
            }
            let mut outcome = Outcome {
                event: change.meta.clone(),
                actor: change.actor.clone(),
                finding: finding.clone(),
                kind: correction.kind,
                tagged_owner: None,
                calls: correction.calls,
            };
            self.report(&change, &mut outcome).await;
            outcomes.push(outcome);
        }
        if let Some(e) = retry_later {
            return Err(GuardError::Retryable(e));
        }
        Ok(report_of(&evaluation, outcomes))
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
        let correction = self.execute_and_verify(change, finding, facts, None, today).await;
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
        today: Date,
    ) -> PlannedOutcome {
        let outcome = |kind, calls| Outcome {
            event: change.meta.clone(),
            actor: change.actor.clone(),
            finding: finding.clone(),
            kind,
            tagged_owner: None,
            calls,
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
        let facts = match self.facts_for(change, desired).await {
            Ok(facts) => facts,
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
        let correction = self.execute_and_verify(change, &current, &facts, desired, today).await;
        self.gate.settle(change, finding, &correction.kind).await;
        PlannedOutcome::Done(Box::new(Outcome {
            finding: current,
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
    ) -> Correction {
        let ports = remediation::Ports {
            identity_center: &self.identity_center,
            identity_store: &self.identity_store,
            gate: &self.gate,
        };
        let Executed { calls, failure } = remediation::execute(&ports, &finding.remediation, facts).await;
        if let Some(e) = failure {
            let kind = match e.kind {
                FailureKind::AccessDenied => OutcomeKind::CannotRemediate {
                    reason: e.message.clone(),
                },
                _ => OutcomeKind::Failed { error: e.to_string() },
            };
            let retry = e.kind.is_retryable().then_some(e);
            return Correction { kind, calls, retry };
        }
        let kind = self.verify(change, finding, desired, today).await;
        Correction {
            kind,
            calls,
            retry: None,
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
        match self.facts_for(change, desired).await {
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
    }
}
