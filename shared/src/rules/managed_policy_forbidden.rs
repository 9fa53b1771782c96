//! `managed-policy-forbidden`: AdministratorAccess and IAMFullAccess only on admin sets.

use super::exempt::{KEYS as EXEMPT_KEYS, exempt_schema};
use super::{
    Context, Doc, Exemptions, Missing, PERMISSION_SET_READS, PROVISIONING, Rule, Runs, Subject, Verdict, Violation,
    concerns_permission_set,
};
use crate::domain::ids::{aws_managed_policy_name, is_aws_managed_policy_arn, same_aws_managed_policy};
use crate::domain::{Action, ChangeKind, MissingFact, PermissionSetOp, RuleId, Scope, Severity};
use crate::spanned::{Reader, Table};

/// The rule's id.
pub const ID: RuleId = RuleId::new("managed-policy-forbidden");

/// Flags a forbidden AWS managed policy on a non-exempt permission set.
///
/// Why: AdministratorAccess and IAMFullAccess let the holder grant themselves anything.
/// Fix: attach a scoped policy instead (idc-guard detaches the forbidden one and re-provisions).
#[derive(Debug, Clone, Copy)]
pub struct ManagedPolicyForbidden;

/// `[rules.managed-policy-forbidden]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// AWS managed policy ARNs that only exempt sets may carry.
    pub policies: Vec<String>,
    /// Exempt sets.
    pub exempt: Exemptions,
}

impl Rule for ManagedPolicyForbidden {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "AWS managed AdministratorAccess and IAMFullAccess only on admin and break-glass sets",
        severity: Severity::Critical,
        mode: None,
        runs: Runs::Everywhere,
        why: "AdministratorAccess and IAMFullAccess are reserved for the admin and break-glass sets.",
        correction: "detach; re-provision",
        actions: &[
            PERMISSION_SET_READS,
            &["sso:DetachManagedPolicyFromPermissionSet"],
            PROVISIONING,
        ],
    };

    const KEYS: &'static [&'static str] = &["policies", EXEMPT_KEYS[0], EXEMPT_KEYS[1]];

    const SCHEMA: &'static str = concat!(
        r#"{ "policies": { "type": "array", "items": { "type": "string", "pattern": "^arn:aws[a-z-]*:iam::aws:policy/.+$" } },"#,
        exempt_schema!(),
        "}"
    );

    fn defaults(&self) -> Settings {
        Settings {
            policies: vec![
                "arn:aws:iam::aws:policy/AdministratorAccess".to_owned(),
                "arn:aws:iam::aws:policy/IAMFullAccess".to_owned(),
            ],
            exempt: Exemptions::default(),
        }
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, d: &Settings) -> Option<Settings> {
        let mut policies = d.policies.clone();
        if let Some(v) = t.take("policies") {
            policies = r
                .list(v, &t.child("policies"), |r, s, span, p| {
                    if is_aws_managed_policy_arn(s) {
                        Some(s.to_owned())
                    } else {
                        r.problem(
                            span,
                            p,
                            format!("{s:?} is not an AWS managed policy ARN (arn:aws:iam::aws:policy/…)"),
                        );
                        None
                    }
                })
                .unwrap_or_default();
        }
        let exempt = Exemptions::read(r, t, &d.exempt);
        Some(Settings { policies, exempt })
    }

    fn explain(&self, settings: &Settings) -> Vec<String> {
        settings
            .policies
            .iter()
            .filter_map(|arn| {
                let name = aws_managed_policy_name(arn)?;
                Some(format!(
                    "{arn} matches the AWS managed policy {name} in every partition (aws, aws-cn, aws-us-gov, …)"
                ))
            })
            .collect()
    }

    fn concerns(&self, change: &ChangeKind, scope: Scope) -> bool {
        concerns_permission_set(change, scope, |op| {
            matches!(op, PermissionSetOp::ManagedPolicyAttached { .. })
        })
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let Some(subject) = Subject::of(&cx) else {
            return Verdict::NotApplicable;
        };
        let settings = cx.settings;
        let Some(attached) = subject.ps.managed_policies.known() else {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::ManagedPolicies,
                detail: "the permission set's managed policies".to_owned(),
            });
        };
        let forbidden: Vec<&String> = attached
            .iter()
            .filter(|arn| settings.policies.iter().any(|f| same_aws_managed_policy(f, arn)))
            .collect();
        if forbidden.is_empty() {
            return Verdict::Pass;
        }
        if let Some(settled) = subject.exempted(
            cx.baseline,
            &settings.exempt,
            "privileged (admin and break-glass) sets may carry these policies",
        ) {
            return settled;
        }
        let list: Vec<&str> = forbidden.iter().map(|s| s.as_str()).collect();
        let mut remediation: Vec<Action> = forbidden
            .iter()
            .map(|arn| Action::DetachManagedPolicy {
                instance_arn: subject.instance.clone(),
                permission_set_arn: subject.ps.arn.clone(),
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
                cx.what_idc_guard_does("detaches it and re-provisions")
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
    use crate::domain::Fact;

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

    proptest::proptest! {
        // AdministratorAccess attached in any partition the model allows is forbidden, whichever
        // partition the policy names it in; another policy in that partition is not.
        #[test]
        fn forbidden_policies_are_matched_in_every_partition(
            partition in "aws(-[a-z]{1,5}){0,3}",
            listed in "aws(-[a-z]{1,5}){0,3}",
        ) {
            let mut p = policy();
            p.rules.settings_mut::<ManagedPolicyForbidden>().unwrap().policies =
                vec![format!("arn:{listed}:iam::aws:policy/AdministratorAccess")];
            for (attached, expected) in [
                (format!("arn:{partition}:iam::aws:policy/AdministratorAccess"), Expect::Fail),
                (format!("arn:{partition}:iam::aws:policy/ReadOnlyAccess"), Expect::Pass),
            ] {
                let change = managed_attached(&attached);
                let mut facts = facts_for(&change);
                facts.permission_set.as_mut().unwrap().name = Fact::Known("DataEngineer".into());
                check(&ManagedPolicyForbidden, &change, &facts, &p, expected);
            }
        }
    }

    #[test]
    fn the_fix_detaches_then_reprovisions() {
        let change = managed_attached("arn:aws:iam::aws:policy/AdministratorAccess");
        let mut facts = facts_for(&change);
        facts.permission_set.as_mut().unwrap().name = Fact::Known("DataEngineer".into());
        let Verdict::Fail(v) = ManagedPolicyForbidden.evaluate(cx(&ManagedPolicyForbidden, &change, &facts, &policy()))
        else {
            panic!()
        };
        assert_eq!(v.remediation.len(), 2);
        assert!(
            matches!(&v.remediation[0], Action::DetachManagedPolicy { managed_policy_arn, .. } if managed_policy_arn.ends_with("AdministratorAccess"))
        );
    }
}
