//! `managed-policy-forbidden`: AdministratorAccess and IAMFullAccess only on admin sets.

use super::{
    Action, Context, Missing, MissingFact, Rule, RuleId, Subject, Verdict, Violation, concerns_permission_set,
};
use crate::facts::Scope;
use crate::model::{ChangeKind, PermissionSetOp};
use crate::policy::Severity;

/// Flags a forbidden AWS managed policy on a non-exempt permission set.
///
/// Why: AdministratorAccess and IAMFullAccess let the holder grant themselves anything.
/// Fix: attach a scoped policy instead (idc-guard detaches the forbidden one and re-provisions).
pub(super) struct ManagedPolicyForbidden;

impl Rule for ManagedPolicyForbidden {
    fn id(&self) -> RuleId {
        RuleId::ManagedPolicyForbidden
    }

    fn summary(&self) -> &'static str {
        "AWS managed AdministratorAccess and IAMFullAccess only on admin and break-glass sets"
    }

    fn default_severity(&self) -> Severity {
        Severity::Critical
    }

    fn concerns(&self, change: &ChangeKind, scope: Scope) -> bool {
        concerns_permission_set(change, scope, |op| {
            matches!(op, PermissionSetOp::ManagedPolicyAttached { .. })
        })
    }

    fn judge(&self, cx: Context<'_>) -> Verdict {
        let Some(subject) = Subject::of(&cx) else {
            return Verdict::NotApplicable;
        };
        let settings = &cx.policy.rules.managed_policy_forbidden;
        let Some(attached) = subject.ps.managed_policies.known() else {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::ManagedPolicies,
                detail: "the permission set's managed policies".to_owned(),
            });
        };
        let forbidden: Vec<&String> = attached
            .iter()
            .filter(|arn| settings.policies.iter().any(|f| f.eq_ignore_ascii_case(arn)))
            .collect();
        if forbidden.is_empty() {
            return Verdict::Pass;
        }
        if let Some(settled) = subject.exempted(
            cx.policy,
            &settings.exempt,
            "privileged (admin and break-glass) sets may carry these policies",
        ) {
            return settled;
        }
        let list: Vec<&str> = forbidden.iter().map(|s| s.as_str()).collect();
        let mut remediation: Vec<Action> = forbidden
            .iter()
            .map(|arn| Action::DetachManagedPolicy {
                instance_arn: subject.instance.to_string(),
                permission_set_arn: subject.ps.arn.to_string(),
                managed_policy_arn: (*arn).clone(),
            })
            .collect();
        remediation.push(subject.provision());
        Verdict::Fail(Violation {
            message: format!(
                "Permission set {} has {} attached, which only admin and break-glass sets may carry: \
                 it lets the holder grant themselves any access. Attach a scoped policy instead \
                 ({}).",
                subject.label(),
                list.join(" and "),
                cx.what_idc_guard_does(self.id(), "detaches it and re-provisions")
            ),
            resource: subject.resource(),
            remediation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::facts::Fact;

    #[test]
    fn attachments_table() {
        let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
        let cases = [
            (admin, None, Expect::Undetermined),
            (admin, Some("DataEngineer"), Expect::Fail),
            (admin, Some("PlatformAdmin"), Expect::Pass),
            (
                "arn:aws:iam::aws:policy/IAMFullAccess",
                Some("DataEngineer"),
                Expect::Fail,
            ),
            ("arn:aws:iam::aws:policy/ReadOnlyAccess", None, Expect::Pass),
            (
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
                Some("DataEngineer"),
                Expect::Pass,
            ),
        ];
        for (arn, name, expected) in cases {
            let change = managed_attached(arn);
            let mut facts = facts_for(&change);
            if let Some(n) = name {
                facts.permission_set.as_mut().unwrap().name = Fact::Known(n.into());
            }
            check(&ManagedPolicyForbidden, &change, &facts, &policy(), expected);
        }
    }

    #[test]
    fn the_fix_detaches_then_reprovisions() {
        let change = managed_attached("arn:aws:iam::aws:policy/AdministratorAccess");
        let mut facts = facts_for(&change);
        facts.permission_set.as_mut().unwrap().name = Fact::Known("DataEngineer".into());
        let Verdict::Fail(v) = ManagedPolicyForbidden.evaluate(cx(&change, &facts, &policy())) else {
            panic!()
        };
        assert_eq!(v.remediation.len(), 2);
        assert!(
            matches!(&v.remediation[0], Action::DetachManagedPolicy { managed_policy_arn, .. } if managed_policy_arn.ends_with("AdministratorAccess"))
        );
    }
}
