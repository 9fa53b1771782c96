//! `provisioning-current`: every permission set is provisioned at its latest version in every
//! account where it is assigned, and no recent operation on it failed.

use super::{Context, Doc, Missing, PROVISIONING, Rule, Runs, Verdict, Violation};
use crate::domain::{
    Action, ChangeKind, Fact, MissingFact, PermissionSetOp, ProvisionTarget, RuleId, Scope, SessionDuration, Severity,
};
use crate::spanned::{Reader, Table};

/// The rule's id.
pub const ID: RuleId = RuleId::new("provisioning-current");

/// Flags a permission set that some account where it is assigned holds at an older version (an
/// edit nobody provisioned, or a provisioning that failed there), and the operations on it that
/// Identity Center lists as `FAILED` within the look-back.
///
/// Why: an edit takes effect in an account only once provisioned there; until then people keep
/// the old permissions (a removed `iam:*` still works), and a failed assignment grants nothing.
/// Fix: idc-guard re-provisions the set to the accounts behind (enforce mode); a failure it
/// cannot fix (a customer managed policy missing in the account) needs that policy created there.
#[derive(Debug, Clone, Copy)]
pub struct ProvisioningCurrent;

/// `[rules.provisioning-current]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How far back a failed operation is reported.
    pub lookback: SessionDuration,
}

/// The longest look-back: Identity Center keeps statuses for a limited time, and older failures
/// are history, not findings.
const LONGEST_LOOKBACK: u64 = 90 * 86_400;

impl Rule for ProvisioningCurrent {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "Permission sets are provisioned at their latest version wherever they are assigned; no recent operation failed",
        severity: Severity::High,
        mode: None,
        runs: Runs::Reconciler,
        why: "An edit reaches an account only when provisioned there: until then the old permissions keep working, and a failed assignment grants nothing.",
        correction: "provision the set to each account left at an older version (paced, through the gate); report failures with AWS's reason (the reconciler and `scan` only)",
        actions: &[
            &[
                "sso:ListAccountsForProvisionedPermissionSet",
                "sso:ListAccountAssignmentCreationStatus",
                "sso:ListAccountAssignmentDeletionStatus",
                "sso:ListPermissionSetProvisioningStatus",
                "sso:DescribeAccountAssignmentCreationStatus",
                "sso:DescribeAccountAssignmentDeletionStatus",
            ],
            PROVISIONING,
        ],
    };

    const KEYS: &'static [&'static str] = &["lookback"];

    const SCHEMA: &'static str = r#"{
        "lookback": { "type": "string", "description": "how far back failed operations are reported (ISO 8601, PT1H to P90D)", "pattern": "^P(\\d+D)?(T(\\d+H)?(\\d+M)?(\\d+S)?)?$", "examples": ["P7D"] }
    }"#;

    fn defaults(&self) -> Settings {
        Settings {
            lookback: SessionDuration::parse("P7D").unwrap_or_else(SessionDuration::default_for_new_permission_set),
        }
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, d: &Settings) -> Option<Settings> {
        let Some(value) = t.take("lookback") else {
            return Some(d.clone());
        };
        let path = t.child("lookback");
        let text = r.string(value, &path)?;
        match SessionDuration::parse(&text) {
            Some(lookback) if (3600..=LONGEST_LOOKBACK).contains(&lookback.seconds()) => Some(Settings { lookback }),
            Some(_) => {
                r.problem(value.span(), &path, format!("{text:?} is outside PT1H to P90D"));
                None
            }
            None => {
                r.problem(
                    value.span(),
                    &path,
                    format!("{text:?} is not an ISO 8601 duration such as \"P7D\""),
                );
                None
            }
        }
    }

    fn concerns(&self, change: &ChangeKind, scope: Scope) -> bool {
        scope == Scope::Resource
            && matches!(
                change,
                ChangeKind::PermissionSet {
                    op: PermissionSetOp::Provisioned { account_id: None },
                    ..
                }
            )
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let ChangeKind::PermissionSet {
            instance_arn,
            permission_set_arn,
            ..
        } = &cx.change.kind
        else {
            return Verdict::NotApplicable;
        };
        // A guard's read of one set knows neither: only the reconciler and `scan` read them.
        let (Fact::Known(stale), Fact::Known(failed)) = (&cx.facts.stale_accounts, &cx.facts.failed_operations) else {
            if cx.facts.stale_accounts == Fact::Unknown && cx.facts.as_of.is_none() {
                return Verdict::NotApplicable;
            }
            return Verdict::Undetermined(Missing {
                fact: MissingFact::ProvisioningState,
                detail: "which accounts hold an older version of the set, and which operations failed".to_owned(),
            });
        };
        let since = cx
            .facts
            .as_of
            .map(|now| now.saturating_sub(cx.settings.lookback.seconds()));
        let recent: Vec<_> = failed
            .iter()
            .filter(|f| match (since, f.created) {
                (Some(since), Some(created)) => created >= since,
                // Without a date it is reported: an unknown age is not an old one.
                _ => true,
            })
            .collect();
        if stale.is_empty() && recent.is_empty() {
            return Verdict::Pass;
        }
        let name = cx
            .facts
            .permission_set
            .as_ref()
            .and_then(|ps| ps.name.known().cloned())
            .unwrap_or_else(|| permission_set_arn.to_string());
        let mut parts = Vec::new();
        if !stale.is_empty() {
            let accounts: Vec<String> = stale.iter().map(ToString::to_string).collect();
            parts.push(format!(
                "{name} is assigned but not provisioned at its latest version in {} ({}): people there keep its \
                 previous permissions. {}",
                if stale.len() == 1 {
                    "one account"
                } else {
                    "these accounts"
                },
                accounts.join(", "),
                cx.what_idc_guard_does("provisions it to each of them")
            ));
        }
        if !recent.is_empty() {
            let lines: Vec<String> = recent.iter().map(|f| f.summary()).collect();
            parts.push(format!(
                "Recent failed operations on {name}: {}. A failure that names a policy missing in an account needs \
                 that policy created there (or the reference removed), then the set provisioned again.",
                lines.join("; ")
            ));
        }
        let mut resource = cx.change.kind.resource();
        resource.permission_set_name = Some(name);
        Verdict::Fail(Violation {
            message: parts.join(" "),
            resource,
            remediation: stale
                .iter()
                .map(|account| Action::ProvisionPermissionSet {
                    instance_arn: instance_arn.clone(),
                    permission_set_arn: permission_set_arn.clone(),
                    target: ProvisionTarget::Account(account.clone()),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::domain::{AccountId, Facts, OperationKind, OperationState, OperationStatus};

    fn account(id: &str) -> AccountId {
        AccountId::parse(id).unwrap()
    }

    fn failure(created: Option<u64>) -> OperationStatus {
        OperationStatus {
            kind: OperationKind::Provisioning,
            request_id: "r-9".into(),
            state: OperationState::Failed,
            failure_reason: Some("the policy does not exist".into()),
            account_id: Some(account("444444444444")),
            permission_set_arn: None,
            created,
        }
    }

    fn reconciled(stale: Fact<Vec<AccountId>>, failed: Fact<Vec<OperationStatus>>) -> Facts {
        Facts {
            scope: Scope::Resource,
            stale_accounts: stale,
            failed_operations: failed,
            as_of: Some(1_000_000),
            ..Facts::default()
        }
    }

    fn change() -> crate::domain::Change {
        let mut c = permission_set_updated(None);
        if let ChangeKind::PermissionSet { op, .. } = &mut c.kind {
            *op = PermissionSetOp::Provisioned { account_id: None };
        }
        c
    }

    #[test]
    fn accounts_behind_fail_with_one_provisioning_each() {
        let facts = reconciled(
            Fact::Known(vec![account("333333333333"), account("444444444444")]),
            Fact::Known(Vec::new()),
        );
        let c = change();
        let verdict = ProvisioningCurrent.evaluate(cx(&ProvisioningCurrent, &c, &facts, &policy()));
        let Verdict::Fail(v) = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(v.remediation.len(), 2);
        assert!(matches!(
            &v.remediation[0],
            Action::ProvisionPermissionSet { target: ProvisionTarget::Account(a), .. } if a.as_str() == "333333333333"
        ));
        assert!(v.message.contains("333333333333, 444444444444"), "{}", v.message);
    }

    #[test]
    fn recent_failures_fail_without_a_correction_and_old_ones_pass() {
        let c = change();
        let recent = reconciled(Fact::Known(Vec::new()), Fact::Known(vec![failure(Some(999_000))]));
        let verdict = ProvisioningCurrent.evaluate(cx(&ProvisioningCurrent, &c, &recent, &policy()));
        let Verdict::Fail(v) = verdict else {
            panic!("{verdict:?}")
        };
        assert!(v.remediation.is_empty());
        assert!(v.message.contains("the policy does not exist"), "{}", v.message);
        // Eight days old, beyond the default look-back of seven.
        let old = reconciled(
            Fact::Known(Vec::new()),
            Fact::Known(vec![failure(Some(1_000_000 - 8 * 86_400))]),
        );
        check(&ProvisioningCurrent, &c, &old, &policy(), Expect::Pass);
        // An unknown age is reported.
        let undated = reconciled(Fact::Known(Vec::new()), Fact::Known(vec![failure(None)]));
        check(&ProvisioningCurrent, &c, &undated, &policy(), Expect::Fail);
    }

    #[test]
    fn what_could_not_be_read_is_undetermined_and_a_guard_read_is_not_judged() {
        let c = change();
        check(
            &ProvisioningCurrent,
            &c,
            &reconciled(Fact::Unknown, Fact::Known(Vec::new())),
            &policy(),
            Expect::Undetermined,
        );
        check(
            &ProvisioningCurrent,
            &c,
            &reconciled(Fact::Known(Vec::new()), Fact::Unknown),
            &policy(),
            Expect::Undetermined,
        );
        check(
            &ProvisioningCurrent,
            &c,
            &reconciled(Fact::Known(Vec::new()), Fact::Known(Vec::new())),
            &policy(),
            Expect::Pass,
        );
        // A guard's live read of one set (no reconciler facts): not judged.
        let guard = Facts {
            scope: Scope::Resource,
            ..Facts::default()
        };
        check(&ProvisioningCurrent, &c, &guard, &policy(), Expect::NotApplicable);
        // An event on its face: not concerned.
        assert!(!ProvisioningCurrent.concerns(&c.kind, Scope::Change));
    }
}
