//! `managed-policy-forbidden`: AdministratorAccess and IAMFullAccess only on admin sets.

use super::{
    Action, Context, Missing, MissingFact, Resource, ResourceKind, Rule, RuleId, Verdict, Violation, name_unknown,
    permission_set_resource,
};
use crate::facts::Scope;
use crate::model::{ChangeKind, PermissionSetOp};
use crate::policy::{Exempt, Severity};

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
        match (change, scope) {
            (ChangeKind::PermissionSet { op, .. }, Scope::Change) => {
                matches!(op, PermissionSetOp::ManagedPolicyAttached { .. })
            }
            (ChangeKind::PermissionSet { op, .. }, Scope::Resource) => !matches!(op, PermissionSetOp::Deleted),
            _ => false,
        }
    }

    fn judge(&self, cx: Context<'_>) -> Verdict {
        let (Some(ps), Some(instance)) = (cx.facts.permission_set.as_ref(), cx.change.kind.instance_arn()) else {
            return Verdict::NotApplicable;
        };
        let settings = &cx.policy.rules.managed_policy_forbidden;
        let Some(attached) = ps.managed_policies.known() else {
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
        match cx.policy.exempt(&settings.exempt, ps.name.known().map(String::as_str)) {
            Exempt::Yes => return Verdict::Pass,
            Exempt::Unknown => return name_unknown("privileged (admin and break-glass) sets may carry these policies"),
            Exempt::No => {}
        }
        let list: Vec<&str> = forbidden.iter().map(|s| s.as_str()).collect();
        let mut remediation: Vec<Action> = forbidden
            .iter()
            .map(|arn| Action::DetachManagedPolicy {
                instance_arn: instance.to_string(),
                permission_set_arn: ps.arn.to_string(),
                managed_policy_arn: (*arn).clone(),
            })
            .collect();
        remediation.push(Action::provision(instance.as_str(), ps.arn.as_str()));
        Verdict::Fail(Violation {
            message: format!(
                "Permission set {} has {} attached, which only admin and break-glass sets may carry: \
                 it lets the holder grant themselves any access. Attach a scoped policy instead \
                 (idc-guard detaches it and re-provisions).",
                ps.name.known().map_or(ps.arn.as_str(), String::as_str),
                list.join(" and ")
            ),
            resource: permission_set_resource(&cx)
                .unwrap_or_else(|| Resource::new(ResourceKind::PermissionSet, ps.arn.as_str())),
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
