//! The remediation engine: from an event to a verified correction.
//!
//! Level-driven: the event only says which resource changed. The guard reads that resource's live
//! state through the ports, evaluates every rule that applies to it, and corrects only what
//! violates now; so a duplicate, late or out-of-order event finds nothing to do. Every planned
//! action passes one gate ([`Gate`]) before it is executed, and no correction is reported done
//! until a read-back shows the rule passing.

use serde::Serialize;
use std::fmt;

use crate::date::Date;
use crate::engine::{Evaluation, Finding, actionable, evaluate};
use crate::event::{DecodeError, decode};
use crate::facts::{Fact, Facts, PermissionSetFacts, Scope};
use crate::ids::{AccountId, IdentityStoreId, InstanceArn, PermissionSetArn};
use crate::model::{Actor, Assignment, Change, ChangeKind, EventMeta, IdentityOp};
use crate::policy::{Mode, Policy};
use crate::ports::{FailureKind, IdentityCenter, IdentityStore, MembershipRef, Notifier, RemoteError};
use crate::rules::{Action, Keep, RuleId};

/// What happened to one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum OutcomeKind {
    /// Detect mode (or a report-only rule): planned, nothing changed.
    Detected,
    /// Corrected, and a read-back shows the rule passing.
    Remediated,
    /// Corrected, but the read-back does not show compliance.
    NotVerified {
        /// What the read-back found.
        detail: String,
    },
    /// The gate withheld the correction.
    Withheld {
        /// Why.
        reason: String,
    },
    /// Withheld, and this correction put the resource in quarantine (the flap limit): it stays
    /// detect-only for one window.
    Quarantined {
        /// Why, and until when.
        reason: String,
    },
    /// Withheld, and this correction opened the breaker: the event path is detect-only until an
    /// operator resets it.
    BreakerOpened {
        /// Why.
        reason: String,
    },
    /// AWS denied the correction (e.g. the delegated admin and the management account).
    CannotRemediate {
        /// AWS's message.
        reason: String,
    },
    /// The correction failed.
    Failed {
        /// The error.
        error: String,
    },
}

/// One finding and what idc-guard did about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The CloudTrail record.
    pub event: EventMeta,
    /// Who made the change.
    pub actor: Actor,
    /// The finding.
    pub finding: Finding,
    /// What was done.
    #[serde(flatten)]
    pub kind: OutcomeKind,
    /// The owner named by the permission set's owner tag, when it has one (read when the
    /// outcome is reported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tagged_owner: Option<String>,
    /// The mutating calls made, in order (operation names).
    pub calls: Vec<&'static str>,
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

/// The gate's decision on a planned correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Execute it.
    Allow,
    /// Do not; report why.
    Withhold(String),
    /// Do not: this correction tripped the flap limit and quarantined the resource (why).
    Quarantine(String),
    /// Do not: this correction opened the breaker (why).
    OpenBreaker(String),
    /// Do not, and report nothing: another delivery of the same CloudTrail event owns this
    /// correction (it acts and reports once). Logged with the reason.
    Duplicate(String),
}

/// The one place where a planned mutating action is allowed or withheld. The safety rails (kill
/// switch, breaker, flap limit, idempotency: `crate::safety::SafetyGate`) plug in here; the base
/// gate only applies modes.
pub trait Gate: Send + Sync {
    /// Decides on the correction of `finding`, caused by `change`. Asynchronous, because the
    /// safety rails consult shared state (a parameter, a table); a gate that cannot decide must
    /// withhold (fail closed).
    fn decide(&self, change: &Change, finding: &Finding) -> impl std::future::Future<Output = Decision> + Send;

    /// Whether `outcome` of `finding` is reported for the first time: the same finding (same
    /// CloudTrail eventID, rule, resource and outcome) is published once, also when the event
    /// is delivered again. A gate that cannot tell says yes (a duplicate message is better than
    /// a lost one).
    ///
    /// Required (no default), so that a gate wrapping another cannot forget to pass it on.
    fn first_report(
        &self,
        change: &Change,
        finding: &Finding,
        outcome: &OutcomeKind,
    ) -> impl std::future::Future<Output = bool> + Send;

    /// Told that publishing a report [`Gate::first_report`] allowed failed, so that a later
    /// delivery may publish it.
    fn report_failed(
        &self,
        change: &Change,
        finding: &Finding,
        outcome: &OutcomeKind,
    ) -> impl std::future::Future<Output = ()> + Send;

    /// Told what became of a correction the gate allowed, once it is done (e.g. to release an
    /// idempotency claim when the correction failed, so that Lambda's retry may try again).
    /// The default does nothing.
    fn settle(
        &self,
        _change: &Change,
        _finding: &Finding,
        _outcome: &OutcomeKind,
    ) -> impl std::future::Future<Output = ()> + Send {
        async {}
    }
}

/// A shared gate decides as the gate it shares: the reconciler and the event path can hold one
/// gate (one safety state) between them.
impl<G: Gate> Gate for std::sync::Arc<G> {
    fn decide(&self, change: &Change, finding: &Finding) -> impl std::future::Future<Output = Decision> + Send {
        G::decide(self, change, finding)
    }

    fn first_report(
        &self,
        change: &Change,
        finding: &Finding,
        outcome: &OutcomeKind,
    ) -> impl std::future::Future<Output = bool> + Send {
        G::first_report(self, change, finding, outcome)
    }

    fn report_failed(
        &self,
        change: &Change,
        finding: &Finding,
        outcome: &OutcomeKind,
    ) -> impl std::future::Future<Output = ()> + Send {
        G::report_failed(self, change, finding, outcome)
    }

    fn settle(
        &self,
        change: &Change,
        finding: &Finding,
        outcome: &OutcomeKind,
    ) -> impl std::future::Future<Output = ()> + Send {
        G::settle(self, change, finding, outcome)
    }
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
}

/// The result of handling one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuardReport {
    /// The CloudTrail eventID.
    pub event_id: String,
    /// The verdict on the live state.
    pub verdict: crate::engine::EventVerdict,
    /// Why the event was ignored, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Outcomes, one per finding.
    pub outcomes: Vec<Outcome>,
    /// Rules that could not decide (a read failed or a fact is unknown): nothing was changed for them.
    pub undetermined: Vec<crate::engine::Undetermined>,
}

/// Why an event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The event is malformed: retrying cannot help.
    #[error("bad input: {0}")]
    BadInput(#[from] DecodeError),
    /// AWS failed in a way a later retry may fix; the event should be retried, then parked.
    #[error("retryable: {0}")]
    Retryable(RemoteError),
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

fn retryable_or_unknown<T>(r: Result<T, RemoteError>) -> Result<Fact<T>, GuardError> {
    match r {
        Ok(v) => Ok(Fact::Known(v)),
        Err(e) if e.kind.is_retryable() => Err(GuardError::Retryable(e)),
        // Not retryable (e.g. AccessDenied): the fact stays unknown and nothing is changed.
        Err(_) => Ok(Fact::Unknown),
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
        let change = match actionable(&self.policy, decode(json)?) {
            Ok(change) => change,
            Err(ignored) => return Ok(report_of(&ignored, Vec::new())),
        };
        let facts = self.live_facts(&change).await?;
        let evaluation = evaluate(&self.policy, change.clone(), &facts, today);
        let mut outcomes = Vec::new();
        let mut retry_later = None;
        for finding in &evaluation.findings {
            let Some((kind, calls)) = self.correct(&change, finding, &facts, today).await else {
                continue;
            };
            if let (OutcomeKind::Failed { .. }, Some(e)) = (&kind, calls.1.clone()) {
                retry_later = Some(e);
            }
            let mut outcome = Outcome {
                event: change.meta.clone(),
                actor: change.actor.clone(),
                finding: finding.clone(),
                kind,
                tagged_owner: None,
                calls: calls.0,
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

    /// The name of the finding's permission set, if it can be read.
    async fn permission_set_name_of(&self, change: &Change, finding: &Finding) -> Option<String> {
        let instance = change.kind.instance_arn()?;
        let permission_set = PermissionSetArn::parse(finding.resource.permission_set_arn.as_deref()?).ok()?;
        match self
            .identity_center
            .permission_set_name(instance, &permission_set)
            .await
        {
            Ok(name) => name,
            Err(e) => {
                tracing::warn!(error = %e, permission_set = %permission_set.as_str(), "could not read the permission set's name");
                None
            }
        }
    }

    /// The value of the owner tag on the finding's permission set, if it has one.
    async fn owner_tag(&self, change: &Change, finding: &Finding) -> Option<String> {
        let instance = change.kind.instance_arn()?;
        let permission_set = PermissionSetArn::parse(finding.resource.permission_set_arn.as_deref()?).ok()?;
        let key = &self.policy.owners.tag_key;
        match self
            .identity_center
            .permission_set_tag(instance, &permission_set, key)
            .await
        {
            Ok(value) => value.filter(|v| !v.trim().is_empty()),
            Err(e) => {
                tracing::warn!(error = %e, permission_set = %permission_set.as_str(), "could not read the owner tag: routing by policy");
                None
            }
        }
    }

    /// Reads what the rules need about the changed resource, live.
    async fn live_facts(&self, change: &Change) -> Result<Facts, GuardError> {
        let mut facts = Facts {
            scope: Scope::Resource,
            ..Facts::default()
        };
        let ic = &self.identity_center;
        match &change.kind {
            ChangeKind::AssignmentCreated(a) => {
                facts.assignment_exists = retryable_or_unknown(ic.assignment_exists(a).await)?;
                let mut ps = PermissionSetFacts::unknown(a.permission_set_arn.clone());
                // The name is read only when an exception could depend on it: the common case
                // stays at one read before the delete.
                if self.name_matters(RuleId::AssignmentPrincipalType)
                    && let Fact::Known(Some(name)) =
                        retryable_or_unknown(ic.permission_set_name(&a.instance_arn, &a.permission_set_arn).await)?
                {
                    ps.name = Fact::Known(name);
                }
                facts.permission_set = Some(ps);
            }
            ChangeKind::PermissionSet {
                instance_arn,
                permission_set_arn,
                ..
            } => match retryable_or_unknown(ic.permission_set(instance_arn, permission_set_arn).await)? {
                Fact::Known(Some(ps)) => facts.permission_set = Some(ps),
                // Gone: no rule has anything left to judge.
                Fact::Known(None) => {}
                Fact::Unknown => facts.permission_set = Some(PermissionSetFacts::unknown(permission_set_arn.clone())),
            },
            ChangeKind::AccessControlAttributes { instance_arn, .. } => {
                facts.access_control_attributes =
                    retryable_or_unknown(ic.access_control_attributes(instance_arn).await)?;
            }
            ChangeKind::Identity {
                identity_store_id: Some(store),
                op:
                    IdentityOp::MemberAdded {
                        group_id,
                        member_id,
                        membership_id,
                    },
            } => {
                let membership = MembershipRef {
                    identity_store_id: store.clone(),
                    membership_id: membership_id.clone(),
                    group_id: group_id.clone(),
                    member_id: member_id.clone(),
                };
                facts.membership = retryable_or_unknown(self.identity_store.membership_id(&membership).await)?;
            }
            ChangeKind::AssignmentDeleted(_) | ChangeKind::Tags { .. } | ChangeKind::Identity { .. } => {}
        }
        Ok(facts)
    }

    fn name_matters(&self, rule: RuleId) -> bool {
        self.policy
            .exceptions
            .iter()
            .any(|e| e.rule == rule && !e.permission_sets.is_empty())
    }

    /// Gates, executes and verifies the correction of one finding. Returns the outcome, the
    /// mutating calls made, and the error to retry the event for, if any; `None` when another
    /// delivery of the event owns the finding (nothing to report).
    async fn correct(
        &self,
        change: &Change,
        finding: &Finding,
        facts: &Facts,
        today: Date,
    ) -> Option<(OutcomeKind, (Vec<&'static str>, Option<RemoteError>))> {
        if finding.remediation.is_empty() {
            return Some((OutcomeKind::Detected, (Vec::new(), None)));
        }
        match self.gate.decide(change, finding).await {
            Decision::Allow => {}
            Decision::Withhold(reason) => {
                let kind = if finding.mode == Mode::Enforce {
                    OutcomeKind::Withheld { reason }
                } else {
                    OutcomeKind::Detected
                };
                return Some((kind, (Vec::new(), None)));
            }
            Decision::Quarantine(reason) => return Some((OutcomeKind::Quarantined { reason }, (Vec::new(), None))),
            Decision::OpenBreaker(reason) => return Some((OutcomeKind::BreakerOpened { reason }, (Vec::new(), None))),
            Decision::Duplicate(reason) => {
                tracing::info!(event_id = %change.meta.event_id, rule = %finding.rule, %reason, "duplicate delivery: nothing done, nothing reported");
                return None;
            }
        }
        let (kind, calls) = self.execute_and_verify(change, finding, facts, None, today).await;
        self.gate.settle(change, finding, &kind).await;
        Some((kind, calls))
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
        desired: Option<&crate::facts::DesiredFact>,
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
        match self.gate.decide(change, finding).await {
            Decision::Allow => {}
            Decision::Withhold(reason) => {
                let kind = if finding.mode == Mode::Enforce {
                    OutcomeKind::Withheld { reason }
                } else {
                    OutcomeKind::Detected
                };
                return PlannedOutcome::Done(Box::new(outcome(kind, Vec::new())));
            }
            Decision::Quarantine(reason) => {
                return PlannedOutcome::Done(Box::new(outcome(OutcomeKind::Quarantined { reason }, Vec::new())));
            }
            Decision::OpenBreaker(reason) => {
                return PlannedOutcome::Done(Box::new(outcome(OutcomeKind::BreakerOpened { reason }, Vec::new())));
            }
            Decision::Duplicate(reason) => return PlannedOutcome::Duplicate(reason),
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
        let (kind, (calls, _)) = self.execute_and_verify(change, &current, &facts, desired, today).await;
        self.gate.settle(change, finding, &kind).await;
        PlannedOutcome::Done(Box::new(Outcome {
            finding: current,
            ..outcome(kind, calls)
        }))
    }

    /// The live facts of a change, plus, for the reconciler (`desired` given), whether the
    /// assignment exists (also for a missing one) and what the desired file says about it.
    async fn facts_for(
        &self,
        change: &Change,
        desired: Option<&crate::facts::DesiredFact>,
    ) -> Result<Facts, GuardError> {
        let mut facts = self.live_facts(change).await?;
        if let Some(desired) = desired {
            if let ChangeKind::AssignmentDeleted(a) = &change.kind {
                facts.assignment_exists = retryable_or_unknown(self.identity_center.assignment_exists(a).await)?;
                facts.permission_set = Some(PermissionSetFacts::unknown(a.permission_set_arn.clone()));
            }
            facts.desired = Some(desired.clone());
        }
        Ok(facts)
    }

    /// Executes the planned actions of an allowed correction, then verifies it by read-back.
    async fn execute_and_verify(
        &self,
        change: &Change,
        finding: &Finding,
        facts: &Facts,
        desired: Option<&crate::facts::DesiredFact>,
        today: Date,
    ) -> (OutcomeKind, (Vec<&'static str>, Option<RemoteError>)) {
        let mut calls = Vec::new();
        for action in &finding.remediation {
            if let Err(e) = self.execute(action, facts, &mut calls).await {
                let kind = match e.kind {
                    FailureKind::AccessDenied => OutcomeKind::CannotRemediate {
                        reason: e.message.clone(),
                    },
                    _ => OutcomeKind::Failed { error: e.to_string() },
                };
                let retry = e.kind.is_retryable().then_some(e);
                return (kind, (calls, retry));
            }
        }
        // Verify: read the resource again and judge the same rule.
        let verified = match self.facts_for(change, desired).await {
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
        };
        (verified, (calls, None))
    }

    async fn execute(&self, action: &Action, facts: &Facts, calls: &mut Vec<&'static str>) -> Result<(), RemoteError> {
        let ic = &self.identity_center;
        let bad = |what: &str| RemoteError {
            operation: "plan",
            kind: FailureKind::Rejected,
            message: format!("the planned action carries an invalid {what}"),
        };
        let instance = |arn: &str| InstanceArn::parse(arn).map_err(|_| bad("instance ARN"));
        let ps = |arn: &str| PermissionSetArn::parse(arn).map_err(|_| bad("permission set ARN"));
        match action {
            Action::DeleteAccountAssignment {
                instance_arn,
                account_id,
                permission_set_arn,
                principal_type,
                principal_id,
            } => {
                let assignment = Assignment {
                    instance_arn: instance(instance_arn)?,
                    account_id: AccountId::parse(account_id).map_err(|_| bad("account id"))?,
                    permission_set_arn: ps(permission_set_arn)?,
                    principal_type: *principal_type,
                    principal_id: principal_id.clone(),
                };
                calls.push("DeleteAccountAssignment");
                match ic.delete_assignment(&assignment).await {
                    // Already gone: the goal is reached.
                    Err(e) if e.kind == FailureKind::NotFound => Ok(()),
                    other => other,
                }
            }
            Action::CreateAccountAssignment {
                instance_arn,
                account_id,
                permission_set_arn,
                principal_type,
                principal_id,
            } => {
                let assignment = Assignment {
                    instance_arn: instance(instance_arn)?,
                    account_id: AccountId::parse(account_id).map_err(|_| bad("account id"))?,
                    permission_set_arn: ps(permission_set_arn)?,
                    principal_type: *principal_type,
                    principal_id: principal_id.clone(),
                };
                calls.push("CreateAccountAssignment");
                ic.create_assignment(&assignment).await
            }
            Action::UpdateSessionDuration {
                instance_arn,
                permission_set_arn,
                session_duration,
                description,
                relay_state,
            } => {
                let current = facts.permission_set.as_ref();
                let keep = |k: &Keep, f: Option<&Fact<Option<String>>>| -> Result<Option<String>, RemoteError> {
                    match (k, f.and_then(Fact::known)) {
                        (Keep::Value(v), _) | (Keep::Current, Some(v)) => Ok(v.clone()),
                        (Keep::Current, None) => Err(RemoteError {
                            operation: "UpdatePermissionSet",
                            kind: FailureKind::Unavailable,
                            message: "the current description or relay state is unknown; not overwriting it".to_owned(),
                        }),
                    }
                };
                let description = keep(description, current.map(|p| &p.description))?;
                let relay_state = keep(relay_state, current.map(|p| &p.relay_state))?;
                calls.push("UpdatePermissionSet");
                ic.update_permission_set(
                    &instance(instance_arn)?,
                    &ps(permission_set_arn)?,
                    session_duration,
                    description.as_deref(),
                    relay_state.as_deref(),
                )
                .await
            }
            Action::PutPermissionsBoundary {
                instance_arn,
                permission_set_arn,
                boundary,
            } => {
                calls.push("PutPermissionsBoundaryToPermissionSet");
                ic.put_permissions_boundary(&instance(instance_arn)?, &ps(permission_set_arn)?, boundary)
                    .await
            }
            Action::DetachManagedPolicy {
                instance_arn,
                permission_set_arn,
                managed_policy_arn,
            } => {
                calls.push("DetachManagedPolicyFromPermissionSet");
                match ic
                    .detach_managed_policy(&instance(instance_arn)?, &ps(permission_set_arn)?, managed_policy_arn)
                    .await
                {
                    Err(e) if e.kind == FailureKind::NotFound => Ok(()),
                    other => other,
                }
            }
            Action::RemoveInlineStatements {
                instance_arn,
                permission_set_arn,
                remaining_policy,
                ..
            } => {
                calls.push("PutInlinePolicyToPermissionSet");
                ic.put_inline_policy(&instance(instance_arn)?, &ps(permission_set_arn)?, remaining_policy)
                    .await
            }
            Action::DeleteInlinePolicy {
                instance_arn,
                permission_set_arn,
                ..
            } => {
                calls.push("DeleteInlinePolicyFromPermissionSet");
                match ic
                    .delete_inline_policy(&instance(instance_arn)?, &ps(permission_set_arn)?)
                    .await
                {
                    Err(e) if e.kind == FailureKind::NotFound => Ok(()),
                    other => other,
                }
            }
            Action::RestoreAccessControlAttributes {
                instance_arn,
                attributes,
            } => {
                let exists = matches!(facts.access_control_attributes, Fact::Known(Some(_)));
                calls.push(if exists {
                    "UpdateInstanceAccessControlAttributeConfiguration"
                } else {
                    "CreateInstanceAccessControlAttributeConfiguration"
                });
                ic.put_access_control_attributes(&instance(instance_arn)?, attributes, exists)
                    .await
            }
            Action::ProvisionPermissionSet {
                instance_arn,
                permission_set_arn,
                ..
            } => {
                calls.push("ProvisionPermissionSet");
                ic.provision_permission_set(&instance(instance_arn)?, &ps(permission_set_arn)?)
                    .await
            }
            Action::DeleteGroupMembership {
                identity_store_id,
                membership_id,
                group_id,
                member_id,
            } => {
                let store = identity_store_id
                    .as_deref()
                    .and_then(|s| IdentityStoreId::parse(s).ok())
                    .ok_or_else(|| bad("identity store id"))?;
                let id = match membership_id {
                    Some(id) => Some(id.clone()),
                    None => {
                        self.identity_store
                            .membership_id(&MembershipRef {
                                identity_store_id: store.clone(),
                                membership_id: None,
                                group_id: group_id.clone(),
                                member_id: member_id.clone(),
                            })
                            .await?
                    }
                };
                let Some(id) = id else { return Ok(()) };
                calls.push("DeleteGroupMembership");
                match self.identity_store.delete_membership(&store, &id).await {
                    Err(e) if e.kind == FailureKind::NotFound => Ok(()),
                    other => other,
                }
            }
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

impl OutcomeKind {
    /// The stable kebab-case name (the SNS `outcome` attribute).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Detected => "detected",
            Self::Remediated => "remediated",
            Self::NotVerified { .. } => "not-verified",
            Self::Withheld { .. } => "withheld",
            Self::Quarantined { .. } => "quarantined",
            Self::BreakerOpened { .. } => "breaker-opened",
            Self::CannotRemediate { .. } => "cannot-remediate",
            Self::Failed { .. } => "failed",
        }
    }
}

impl fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Quarantined { reason } => write!(f, "withheld, resource quarantined: {reason}"),
            Self::BreakerOpened { reason } => write!(f, "withheld, breaker opened: {reason}"),
            Self::Detected => f.write_str("detected"),
            Self::Remediated => f.write_str("remediated and verified"),
            Self::NotVerified { detail } => write!(f, "corrected but not verified: {detail}"),
            Self::Withheld { reason } => write!(f, "withheld: {reason}"),
            Self::CannotRemediate { reason } => write!(f, "cannot remediate: {reason}"),
            Self::Failed { error } => write!(f, "failed: {error}"),
        }
    }
}

/// A notifier that writes each outcome as one structured log line (ids and names at info;
/// never whole payloads).
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggingNotifier;

impl Notifier for LoggingNotifier {
    async fn publish(&self, outcome: &Outcome) -> Result<(), RemoteError> {
        tracing::warn!(
            event_id = %outcome.event.event_id,
            event_name = %outcome.event.event_name,
            actor = %outcome.actor,
            rule = %outcome.finding.rule,
            severity = %outcome.finding.severity,
            mode = %outcome.finding.mode,
            resource = %outcome.finding.resource.id,
            outcome = %outcome.kind,
            calls = ?outcome.calls,
            "{}",
            outcome.finding.message
        );
        Ok(())
    }
}
