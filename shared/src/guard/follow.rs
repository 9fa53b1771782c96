//! Following the asynchronous operations a batch's changes started to their end (issue #16,
//! `provisioning-failed`): assignment creations and deletions, and provisionings, whoever made
//! them. The call answered `IN_PROGRESS`; only the status calls tell whether the work in the
//! member account succeeded.
//!
//! **Cost grows with batches, not events.** For each kind of operation in a batch, the guard
//! lists the instance's operations still `IN_PROGRESS` (the `List…Status` calls filtered by
//! status) until none of the batch's is among them, with a bounded wait ([`FOLLOW_FOR`]), then
//! lists the `FAILED` ones once. Only a failed operation of the batch is described, for AWS's
//! reason. An operation listed neither in progress nor failed has succeeded: the listings cover
//! every operation of the instance (sso-admin API reference, `ListAccountAssignmentCreationStatus`:
//! "Lists the status of the AWS account assignment creation requests for a specified IAM Identity
//! Center instance"). A listing that fails leaves the batch's operations of that kind unknown
//! (reported undetermined), never succeeded; the reconciler's `provisioning-current` is the
//! backstop. Every request is paced like the guard's others.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use super::Guard;
use crate::domain::{Change, Fact, InstanceArn, OperationKind, OperationState, OperationStatus, StartedOperation};
use crate::ports::{Gate, IdentityCenter, IdentityStore, Notifier};

/// How long a batch waits for its operations still in progress before reporting them
/// undetermined (AWS gives no figure; assignment creations and provisionings usually end within
/// seconds to a minute).
pub(super) const FOLLOW_FOR: Duration = Duration::from_secs(120);
/// The first wait between two listings of the operations in progress; doubled each time.
const FIRST_WAIT: Duration = Duration::from_secs(2);
/// The longest wait between two listings.
const LONGEST_WAIT: Duration = Duration::from_secs(16);

/// The operation a change started, with what the change says of its account and set.
pub(super) fn followed(change: &Change) -> Option<(InstanceArn, StartedOperation)> {
    let started = change.meta.operation.clone()?;
    Some((change.kind.instance_arn()?.clone(), started))
}

impl<I: IdentityCenter, S: IdentityStore, N: Notifier, G: Gate> Guard<I, S, N, G> {
    /// How each change's operation ended, in the changes' order: `None` for a change that
    /// started none. Waits at most [`FOLLOW_FOR`], and never past `deadline`.
    pub(super) async fn follow(
        &self,
        changes: &[&Change],
        deadline: Option<Instant>,
    ) -> Vec<Option<Fact<OperationStatus>>> {
        let mut by_kind: BTreeMap<(InstanceArn, OperationKind), HashSet<String>> = BTreeMap::new();
        for change in changes {
            if let Some((instance, started)) = followed(change)
                && started.state == OperationState::InProgress
            {
                by_kind
                    .entry((instance, started.kind))
                    .or_default()
                    .insert(started.request_id);
            }
        }
        let mut ended: HashMap<(OperationKind, String), Fact<OperationStatus>> = HashMap::new();
        let give_up = deadline.map_or(Instant::now() + FOLLOW_FOR, |d| d.min(Instant::now() + FOLLOW_FOR));
        for ((instance, kind), ours) in by_kind {
            for (id, fact) in self.follow_kind(&instance, kind, &ours, give_up).await {
                ended.insert((kind, id), fact);
            }
        }
        changes
            .iter()
            .map(|change| {
                let (_, started) = followed(change)?;
                if started.state != OperationState::InProgress {
                    // Its response already said how it ended.
                    return change.operation_status(started.state).map(Fact::Known);
                }
                let fact = ended.get(&(started.kind, started.request_id))?;
                Some(match fact {
                    // What the listings tell is completed with what the change names.
                    Fact::Known(s) if s.failure_reason.is_none() && s.account_id.is_none() => {
                        change.operation_status(s.state).map_or(Fact::Unknown, Fact::Known)
                    }
                    other => other.clone(),
                })
            })
            .collect()
    }

    /// Follows one kind of operation of one instance: the state of each of `ours`.
    async fn follow_kind(
        &self,
        instance: &InstanceArn,
        kind: OperationKind,
        ours: &HashSet<String>,
        give_up: Instant,
    ) -> Vec<(String, Fact<OperationStatus>)> {
        let ic = &self.identity_center;
        let unknown = |ids: &mut dyn Iterator<Item = &String>| ids.map(|id| (id.clone(), Fact::Unknown)).collect();
        let mut wait = FIRST_WAIT;
        let running: HashSet<String> = loop {
            let listed = match ic.operations(instance, kind, OperationState::InProgress).await {
                Ok(listed) => listed,
                Err(e) => {
                    tracing::warn!(error = %e, %kind, "could not list the operations in progress: their outcome is unknown");
                    return unknown(&mut ours.iter());
                }
            };
            let running: HashSet<String> = listed
                .into_iter()
                .map(|s| s.request_id)
                .filter(|id| ours.contains(id))
                .collect();
            if running.is_empty() || Instant::now() + wait > give_up {
                break running;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(LONGEST_WAIT);
        };
        let failed: HashSet<String> = match ic.operations(instance, kind, OperationState::Failed).await {
            Ok(listed) => listed
                .into_iter()
                .map(|s| s.request_id)
                .filter(|id| ours.contains(id))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, %kind, "could not list the failed operations: their outcome is unknown");
                let mut done = ours.iter().filter(|id| !running.contains(*id));
                let mut out: Vec<_> = unknown(&mut done);
                out.extend(running.iter().map(|id| (id.clone(), in_progress(kind, id))));
                return out;
            }
        };
        let mut out = Vec::with_capacity(ours.len());
        for id in ours {
            let fact = if running.contains(id) {
                in_progress(kind, id)
            } else if failed.contains(id) {
                match ic.operation_status(instance, kind, id).await {
                    Ok(status) => Fact::Known(status),
                    Err(e) => {
                        tracing::warn!(error = %e, %kind, request_id = %id, "could not describe a failed operation");
                        Fact::Known(OperationStatus {
                            failure_reason: Some(format!("(the reason could not be read: {e})")),
                            ..bare(kind, id, OperationState::Failed)
                        })
                    }
                }
            } else {
                Fact::Known(bare(kind, id, OperationState::Succeeded))
            };
            out.push((id.clone(), fact));
        }
        out
    }
}

fn bare(kind: OperationKind, id: &str, state: OperationState) -> OperationStatus {
    OperationStatus {
        kind,
        request_id: id.to_owned(),
        state,
        failure_reason: None,
        account_id: None,
        permission_set_arn: None,
        created: None,
    }
}

fn in_progress(kind: OperationKind, id: &str) -> Fact<OperationStatus> {
    Fact::Known(bare(kind, id, OperationState::InProgress))
}
