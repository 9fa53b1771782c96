//! `provisioning-failed`: an asynchronous operation (an assignment's creation or deletion, a
//! permission set's provisioning) that ended in `FAILED`.

use super::{Context, Doc, Missing, Rule, Runs, Verdict, Violation};
use crate::domain::{
    ChangeKind, Fact, MissingFact, OperationKind, OperationState, OperationStatus, PermissionSetOp, RuleId, Scope,
    Severity,
};

/// The rule's id.
pub const ID: RuleId = RuleId::new("provisioning-failed");

/// Flags an assignment creation or deletion, or a provisioning, that Identity Center reports
/// `FAILED`. The call itself succeeded (pipelines and Terraform report success); the work in the
/// member account did not, so the access people were promised, or the removal, did not happen.
///
/// Why: nothing else says so; the role is missing, stale, or still there.
/// Fix: read AWS's reason in the finding. The usual one is a customer managed policy or a
/// boundary referenced by name that does not exist in that account: create it there (or remove
/// the reference), then provision the set to the account again. idc-guard corrects nothing
/// here: it cannot create policies in member accounts.
#[derive(Debug, Clone, Copy)]
pub struct ProvisioningFailed;

/// `[rules.provisioning-failed]`: mode and severity only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings;

impl Rule for ProvisioningFailed {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "Assignment creations, deletions and provisionings end SUCCEEDED, not FAILED",
        severity: Severity::High,
        mode: None,
        runs: Runs::Everywhere,
        why: "A call that succeeded can still fail in the member account: the access, or its removal, silently did not happen.",
        correction: "report it with AWS's reason and what to do (idc-guard cannot create policies in member accounts)",
        actions: &[&[
            "sso:DescribeAccountAssignmentCreationStatus",
            "sso:DescribeAccountAssignmentDeletionStatus",
            "sso:DescribePermissionSetProvisioningStatus",
            "sso:ListAccountAssignmentCreationStatus",
            "sso:ListAccountAssignmentDeletionStatus",
            "sso:ListPermissionSetProvisioningStatus",
        ]],
    };

    fn defaults(&self) -> Settings {
        Settings
    }

    fn concerns(&self, change: &ChangeKind, _scope: Scope) -> bool {
        matches!(
            change,
            ChangeKind::AssignmentCreated(_)
                | ChangeKind::AssignmentDeleted(_)
                | ChangeKind::PermissionSet {
                    op: PermissionSetOp::Provisioned { .. },
                    ..
                }
        )
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let Some(started) = &cx.change.meta.operation else {
            return Verdict::NotApplicable;
        };
        // Not followed (offline, an operation still running when the call answered): its outcome
        // is not in CloudTrail. The guard follows every one; `provisioning-current` is the backstop.
        let Some(fact) = &cx.facts.operation else {
            return Verdict::NotApplicable;
        };
        let status = match fact {
            Fact::Known(status) => status,
            Fact::Unknown => {
                return Verdict::Undetermined(Missing {
                    fact: MissingFact::OperationStatus,
                    detail: format!(
                        "how {} {} ended: its status could not be read",
                        started.kind, started.request_id
                    ),
                });
            }
        };
        match status.state {
            OperationState::Succeeded => Verdict::Pass,
            OperationState::InProgress => Verdict::Undetermined(Missing {
                fact: MissingFact::OperationStatus,
                detail: format!(
                    "how {} {} ended: still in progress when the guard stopped following it (the reconciler's \
                     provisioning-current reports the accounts left behind)",
                    started.kind, started.request_id
                ),
            }),
            OperationState::Failed => {
                // The account where it failed, for routing and for people (a provisioning's
                // change names none when it targeted every provisioned account).
                let mut resource = cx.change.kind.resource();
                if resource.account_id.is_none() {
                    resource.account_id = status.account_id.as_ref().map(ToString::to_string);
                }
                Verdict::Fail(Violation {
                    message: failure_message(cx.change.meta.event_name.as_str(), status),
                    resource,
                    remediation: Vec::new(),
                })
            }
        }
    }
}

/// What failed, AWS's reason, and what to do.
fn failure_message(call: &str, status: &OperationStatus) -> String {
    let reason = status
        .failure_reason
        .as_deref()
        .map_or_else(|| "AWS gave no reason".to_owned(), |r| format!("AWS's reason: {r}"));
    let account = status
        .account_id
        .as_ref()
        .map_or_else(String::new, |a| format!(" in account {a}"));
    let what_to_do = match status.kind {
        OperationKind::AssignmentCreation => {
            "The assignment does not exist: nobody received this access. Fix the cause (usually a customer managed \
             policy or boundary the set references by name that does not exist in that account: create it there, \
             or remove the reference), then create the assignment again."
        }
        OperationKind::AssignmentDeletion => {
            "The assignment may still grant access. Check it in the console (AWS accounts, the account, its \
             assignments) and delete it again; if it keeps failing, open a case with AWS support."
        }
        OperationKind::Provisioning => {
            "The account still has the set's previous version (or none). Fix the cause (usually a customer managed \
             policy or boundary the set references by name that does not exist in that account: create it there, \
             or remove the reference), then provision the set to the account again."
        }
    };
    format!(
        "The {} {} started by {call}{account} FAILED. {reason}. {what_to_do} idc-guard corrects nothing here: it \
         cannot create policies in member accounts.",
        status.kind, status.request_id
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::domain::{AccountId, PrincipalType, StartedOperation};

    fn started(change: &mut crate::domain::Change, state: OperationState, reason: Option<&str>) {
        change.meta.operation = Some(StartedOperation {
            kind: OperationKind::AssignmentCreation,
            request_id: "r-1".into(),
            state,
            failure_reason: reason.map(str::to_owned),
        });
    }

    fn status(state: OperationState) -> OperationStatus {
        OperationStatus {
            kind: OperationKind::AssignmentCreation,
            request_id: "r-1".into(),
            state,
            failure_reason: (state == OperationState::Failed).then(|| "Policy with name X does not exist".to_owned()),
            account_id: AccountId::parse("111111111111").ok(),
            permission_set_arn: None,
            created: None,
        }
    }

    #[test]
    fn only_a_followed_failure_fails() {
        let mut change = assignment_created(PrincipalType::Group);
        // A call that started nothing (or whose response did not say): not this rule's business.
        check(
            &ProvisioningFailed,
            &change,
            &facts_for(&change),
            &policy(),
            Expect::NotApplicable,
        );
        // Offline, in progress: the outcome is not in the event.
        started(&mut change, OperationState::InProgress, None);
        check(
            &ProvisioningFailed,
            &change,
            &facts_for(&change),
            &policy(),
            Expect::NotApplicable,
        );
        let followed = |s: Option<Fact<OperationStatus>>| {
            let mut f = facts_for(&change);
            f.operation = s;
            f
        };
        for (state, expect) in [
            (OperationState::Succeeded, Expect::Pass),
            (OperationState::Failed, Expect::Fail),
            (OperationState::InProgress, Expect::Undetermined),
        ] {
            check(
                &ProvisioningFailed,
                &change,
                &followed(Some(Fact::Known(status(state)))),
                &policy(),
                expect,
            );
        }
        // Followed, but the status could not be read: unknown, never "succeeded".
        check(
            &ProvisioningFailed,
            &change,
            &followed(Some(Fact::Unknown)),
            &policy(),
            Expect::Undetermined,
        );
    }

    #[test]
    fn a_response_that_already_failed_fails_on_its_face_with_the_reason() {
        let mut change = assignment_created(PrincipalType::Group);
        started(&mut change, OperationState::Failed, Some("the policy does not exist"));
        let facts = facts_for(&change);
        let verdict = ProvisioningFailed.evaluate(cx(&ProvisioningFailed, &change, &facts, &policy()));
        let Verdict::Fail(v) = verdict else {
            panic!("{verdict:?}")
        };
        assert!(
            v.message.contains("AWS's reason: the policy does not exist"),
            "{}",
            v.message
        );
        assert!(v.message.contains("in account"), "{}", v.message);
        assert!(v.remediation.is_empty());
        assert_eq!(v.resource.account_id.as_deref(), Some("333333333333"));
    }

    #[test]
    fn other_changes_are_not_concerned() {
        let change = permission_set_updated(Some("PT1H"));
        assert!(!ProvisioningFailed.concerns(&change.kind, Scope::Resource));
    }
}
