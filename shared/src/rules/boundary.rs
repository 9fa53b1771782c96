//! `permissions-boundary-required`: every non-admin permission set carries the boundary.

use super::{
    Action, Context, Missing, MissingFact, Rule, RuleId, Subject, Verdict, Violation, concerns_permission_set,
};
use crate::facts::Scope;
use crate::model::{ChangeKind, PermissionSetOp};
use crate::policy::Severity;

/// Flags a non-exempt permission set whose boundary is missing or not the configured one.
///
/// Why: the boundary is the ceiling that holds even when a policy grants too much.
/// Fix: put the configured boundary back (idc-guard does, then re-provisions).
pub(super) struct PermissionsBoundaryRequired;

impl Rule for PermissionsBoundaryRequired {
    fn id(&self) -> RuleId {
        RuleId::PermissionsBoundaryRequired
    }

    fn summary(&self) -> &'static str {
        "Every non-admin permission set carries the configured permissions boundary"
    }

    fn default_severity(&self) -> Severity {
        Severity::High
    }

    fn concerns(&self, change: &ChangeKind, scope: Scope) -> bool {
        concerns_permission_set(change, scope, |op| {
            matches!(
                op,
                PermissionSetOp::BoundaryPut { .. } | PermissionSetOp::BoundaryDeleted
            )
        })
    }

    fn judge(&self, cx: Context<'_>) -> Verdict {
        let Some(subject) = Subject::of(&cx) else {
            return Verdict::NotApplicable;
        };
        let settings = &cx.policy.rules.permissions_boundary_required;
        let Some(current) = subject.ps.boundary.known() else {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::PermissionsBoundary,
                detail: "the permission set's current boundary".to_owned(),
            });
        };
        if current.as_ref() == Some(&settings.boundary) {
            return Verdict::Pass;
        }
        if let Some(settled) = subject.exempted(
            cx.policy,
            &settings.exempt,
            "privileged (admin and break-glass) sets are exempt from the boundary",
        ) {
            return settled;
        }
        let what = match current {
            None => "has no permissions boundary".to_owned(),
            Some(other) => format!("has the boundary {other} instead of the required one"),
        };
        Verdict::Fail(Violation {
            message: format!(
                "Permission set {} {what}. Without {} its policies are its only ceiling; \
                 put the boundary back ({}), or name the set as exempt.",
                subject.label(),
                settings.boundary,
                cx.what_idc_guard_does(self.id(), "puts it back and re-provisions")
            ),
            resource: subject.resource(),
            remediation: vec![
                Action::PutPermissionsBoundary {
                    instance_arn: subject.instance.to_string(),
                    permission_set_arn: subject.ps.arn.to_string(),
                    boundary: settings.boundary.clone(),
                },
                subject.provision(),
            ],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::facts::Fact;
    use crate::model::{Boundary, CustomerManagedPolicyRef};

    fn platform_boundary() -> Boundary {
        Boundary::CustomerManaged(CustomerManagedPolicyRef {
            name: "platform-boundary".into(),
            path: "/".into(),
        })
    }

    #[test]
    fn boundary_changes_table() {
        let other = Boundary::ManagedPolicy("arn:aws:iam::aws:policy/PowerUserAccess".into());
        let cases = [
            (boundary_put(platform_boundary()), None, Expect::Pass),
            (boundary_put(other.clone()), None, Expect::Undetermined),
            (boundary_put(other.clone()), Some("DataEngineer"), Expect::Fail),
            (boundary_put(other), Some("PlatformAdmin"), Expect::Pass),
            (boundary_deleted(), None, Expect::Undetermined),
            (boundary_deleted(), Some("DataEngineer"), Expect::Fail),
            (boundary_deleted(), Some("BreakGlass"), Expect::Pass),
        ];
        for (change, name, expected) in cases {
            let mut facts = facts_for(&change);
            if let Some(n) = name {
                facts.permission_set.as_mut().unwrap().name = Fact::Known(n.into());
            }
            check(&PermissionsBoundaryRequired, &change, &facts, &policy(), expected);
        }
    }

    #[test]
    fn the_fix_puts_the_configured_boundary_and_reprovisions() {
        let change = boundary_deleted();
        let mut facts = facts_for(&change);
        facts.permission_set.as_mut().unwrap().name = Fact::Known("DataEngineer".into());
        let Verdict::Fail(v) = PermissionsBoundaryRequired.evaluate(cx(&change, &facts, &policy())) else {
            panic!()
        };
        assert!(
            matches!(&v.remediation[0], Action::PutPermissionsBoundary { boundary, .. } if *boundary == platform_boundary())
        );
        assert!(matches!(v.remediation[1], Action::ProvisionPermissionSet { .. }));
    }

    #[test]
    fn without_exemptions_the_name_is_not_needed() {
        let mut p = policy();
        p.rules.permissions_boundary_required.exempt.privileged = false;
        check(
            &PermissionsBoundaryRequired,
            &boundary_deleted(),
            &facts_for(&boundary_deleted()),
            &p,
            Expect::Fail,
        );
    }

    #[test]
    fn in_resource_scope_a_new_set_without_boundary_fails() {
        let change = permission_set_created("DataEngineer", "PT1H");
        let mut facts = facts_for(&change);
        check(
            &PermissionsBoundaryRequired,
            &change,
            &facts,
            &policy(),
            Expect::NotApplicable,
        );
        facts.scope = Scope::Resource;
        check(&PermissionsBoundaryRequired, &change, &facts, &policy(), Expect::Fail);
    }
}
