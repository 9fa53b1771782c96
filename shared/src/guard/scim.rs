//! SCIM provisioning's health on the event path and for the reconciler (issue #16, track C).
//!
//! SCIM signals are not resources to read and correct: each event is recorded in the state
//! table and judged on what was recorded, one by one, outside the batch's grouping by resource
//! (a burst of failures is one "resource", but every failure must be counted once).
//!
//! - a SCIM call refused for its token: counted in the `failures` series;
//! - a `PatchGroup` that removes members of a protected group: counted in the group's
//!   `removals#<id>` series, with the group's members read live after the removal
//!   (ListGroupMemberships) and its name (DescribeGroup) for the protection by name;
//! - AWS Health's token expiry notice: judged with the guard's clock (days left);
//! - every successful SCIM write: noted as the last one (at most once an hour per process).
//!
//! The state is the safety rails' table; when it cannot be used the facts stay unknown and the
//! rules say undetermined (these rules only report, so nothing is retried for them).

use super::{Guard, GuardError, GuardReport, report_of};
use crate::domain::time::parse_utc;
use crate::domain::{
    Change, ChangeKind, Date, EventSource, Fact, Facts, GroupRemovals, IdentityOp, Outcome, PrincipalType, ScimFacts,
    ScimSignal,
};
use crate::engine::evaluate;
use crate::ports::{Directory, Gate, IdentityCenter, IdentityStore, InstanceInventory, Notifier};
use crate::rules::{scim_mass_removal, scim_silent, scim_sync_failing};

/// The series of SCIM calls refused for their token.
const FAILURES: &str = "failures";

fn removals_series(group_id: &str) -> String {
    format!("removals#{group_id}")
}

impl<I, S, N, G> Guard<I, S, N, G>
where
    I: IdentityCenter + InstanceInventory,
    S: IdentityStore + Directory,
    N: Notifier,
    G: Gate,
{
    /// Handles a change as a SCIM health signal if it is one (`None` otherwise); notes every
    /// successful SCIM write on the way.
    pub(super) async fn scim_event(&self, change: &Change, today: Date) -> Result<Option<GuardReport>, GuardError> {
        if change.meta.source == Some(EventSource::Scim) && matches!(change.kind, ChangeKind::Identity { .. }) {
            self.note_scim_write(change).await;
        }
        let signal = match &change.kind {
            ChangeKind::Scim(_) => true,
            ChangeKind::Identity {
                op: IdentityOp::GroupPatched { removed, .. },
                ..
            } => !removed.is_empty(),
            _ => false,
        };
        if !signal {
            return Ok(None);
        }
        let mut facts = Facts::from_change(change);
        facts.scim = self.scim_facts(change).await;
        let evaluation = evaluate(&self.policy, change.clone(), &facts, today);
        let outcomes = self.correct_all(change, &evaluation, &facts, today).await?;
        self.note_reported(change, &outcomes).await;
        Ok(Some(report_of(&evaluation, outcomes)))
    }

    /// The reconciler's check that SCIM still writes (`scim-silent`): `change` is its synthetic
    /// [`ScimSignal::Silence`]; a finding is published once per `change`'s event id (the
    /// reconciler passes one per day, so an hourly schedule reports a silence once a day).
    pub async fn check_scim_silence(&self, change: &Change, today: Date) -> Vec<Outcome> {
        let mut facts = Facts::from_change(change);
        facts.scim.now = Some(self.gate.now());
        // Judged first without the state: a policy that says the instance does not use SCIM
        // (the default), or has the rule off, costs no read.
        let first = evaluate(&self.policy, change.clone(), &facts, today);
        if !first.undetermined.iter().any(|u| u.rule == scim_silent::ID) {
            return Vec::new();
        }
        facts.scim.last_write = match self.gate.scim_last_write().await {
            Ok(at) => Fact::Known(at),
            Err(e) => {
                tracing::warn!(error = %e, "the last SCIM write cannot be read: scim-silent is undetermined");
                Fact::Unknown
            }
        };
        let evaluation = evaluate(&self.policy, change.clone(), &facts, today);
        for u in &evaluation.undetermined {
            tracing::warn!(rule = %u.rule, detail = %u.detail, "undetermined");
        }
        self.correct_all(change, &evaluation, &facts, today)
            .await
            .unwrap_or_default()
    }

    /// What the SCIM rules need about `change`, recorded and read now.
    async fn scim_facts(&self, change: &Change) -> ScimFacts {
        let now = self.gate.now();
        let at = parse_utc(&change.meta.event_time).unwrap_or(now);
        let mut facts = ScimFacts {
            now: Some(now),
            ..ScimFacts::default()
        };
        match &change.kind {
            ChangeKind::Scim(ScimSignal::CallFailed { .. }) => {
                facts.failures = known(self.gate.scim_record(FAILURES, at, 1).await, "SCIM failures");
            }
            ChangeKind::Identity {
                op:
                    IdentityOp::GroupPatched {
                        group_id: Some(group),
                        removed,
                    },
                ..
            } => facts.group = self.group_removals(group, removed.len(), at).await,
            _ => {}
        }
        facts
    }

    /// The protected group's removals, counted, and its members now. A group that is not
    /// protected costs one read (its name) and no state.
    async fn group_removals(&self, group: &str, removed: usize, at: u64) -> Fact<GroupRemovals> {
        let store = match &self.policy.identity_store_id {
            Some(store) => Some(store.clone()),
            None => match &self.policy.instance_arn {
                Some(instance) => self.identity_center.identity_store(instance).await.ok().flatten(),
                None => None,
            },
        };
        let Some(store) = store else {
            tracing::warn!(
                group,
                "no identity store is configured or readable: scim-mass-removal is undetermined"
            );
            return Fact::Unknown;
        };
        let name = match self.identity_store.principal(&store, PrincipalType::Group, group).await {
            Ok(names) => names.map(|n| n.name),
            Err(e) => {
                tracing::warn!(error = %e, group, "could not read the group's name");
                return Fact::Unknown;
            }
        };
        let protected = name.as_deref().is_some_and(|n| self.policy.is_protected_group(n));
        if !protected {
            return Fact::Known(GroupRemovals {
                group_name: name,
                protected,
                members_now: 0,
                removals: crate::domain::ScimWindow::default(),
            });
        }
        let members_now = match self.identity_store.group_members(&store, group).await {
            Ok(members) => members.len(),
            Err(e) => {
                tracing::warn!(error = %e, group, "could not read the group's members");
                return Fact::Unknown;
            }
        };
        let Fact::Known(removals) = known(
            self.gate.scim_record(&removals_series(group), at, removed).await,
            "a group's SCIM removals",
        ) else {
            return Fact::Unknown;
        };
        Fact::Known(GroupRemovals {
            group_name: name,
            protected,
            members_now,
            removals,
        })
    }

    /// Notes a successful SCIM write (the gate writes at most once an hour per process).
    async fn note_scim_write(&self, change: &Change) {
        let at = parse_utc(&change.meta.event_time).unwrap_or_else(|| self.gate.now());
        if let Err(e) = self.gate.scim_write(at).await {
            tracing::debug!(error = %e, "the last SCIM write could not be recorded");
        }
    }

    /// Notes the windows whose finding was just reported, so that the burst stays one finding.
    async fn note_reported(&self, change: &Change, outcomes: &[Outcome]) {
        let at = parse_utc(&change.meta.event_time).unwrap_or_else(|| self.gate.now());
        for outcome in outcomes {
            let series = if outcome.finding.rule == scim_sync_failing::ID {
                FAILURES.to_owned()
            } else if outcome.finding.rule == scim_mass_removal::ID
                && let Some(group) = &outcome.finding.resource.principal_id
            {
                removals_series(group)
            } else {
                continue;
            };
            if let Err(e) = self.gate.scim_reported(&series, at).await {
                tracing::warn!(error = %e, series, "could not note a reported SCIM finding");
            }
        }
    }
}

/// A recorded series as a fact: unknown (and logged) when the state could not be used.
fn known<T>(r: crate::ports::Remote<T>, what: &str) -> Fact<T> {
    match r {
        Ok(v) => Fact::Known(v),
        Err(e) => {
            tracing::warn!(error = %e, "{what} could not be recorded: the rule is undetermined");
            Fact::Unknown
        }
    }
}
