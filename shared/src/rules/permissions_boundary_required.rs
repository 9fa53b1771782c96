//! `permissions-boundary-required`: every non-admin permission set carries the boundary.

use super::exempt::{KEYS as EXEMPT_KEYS, exempt_schema};
use super::{
    Context, Doc, Exemptions, Missing, PERMISSION_SET_READS, PROVISIONING, Rule, Runs, Subject, Verdict, Violation,
    concerns_permission_set,
};
use crate::domain::ids::{aws_managed_policy_name, is_aws_managed_policy_arn};
use crate::domain::{
    Action, Boundary, ChangeKind, CustomerManagedPolicyRef, MissingFact, PermissionSetOp, RuleId, Scope, Severity,
};
use crate::spanned::{Reader, Table, Value};

/// The rule's id.
pub const ID: RuleId = RuleId::new("permissions-boundary-required");

/// Flags a non-exempt permission set without the configured permissions boundary.
///
/// Why: a boundary caps what the set's roles can ever do, whatever policies are attached later.
/// Fix: put the boundary back (idc-guard does, and re-provisions), or exempt the set.
#[derive(Debug, Clone, Copy)]
pub struct PermissionsBoundaryRequired;

/// `[rules.permissions-boundary-required]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The boundary every non-exempt set must carry.
    pub boundary: Boundary,
    /// Exempt sets.
    pub exempt: Exemptions,
}

/// The keys of the `boundary` table.
const BOUNDARY_KEYS: &[&str] = &["customer_managed_policy", "path", "managed_policy_arn"];

/// `boundary = { customer_managed_policy = "…", path = "/…/" }` or `{ managed_policy_arn = "…" }`.
fn read_boundary(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<Boundary> {
    let mut t = r.table(value, path, BOUNDARY_KEYS)?;
    let cmp = t.take("customer_managed_policy");
    let cmp_path = t.take("path");
    let managed = t.take("managed_policy_arn");
    let span = t.span();
    t.finish(r);
    match (cmp, managed) {
        (Some(name), None) => {
            let name = r.non_empty_string(name, &format!("{path}.customer_managed_policy"))?;
            let p = match cmp_path {
                Some(v) => {
                    let p = r.string(v, &format!("{path}.path"))?;
                    if !(p.starts_with('/') && p.ends_with('/')) {
                        r.problem(
                            v.span(),
                            &format!("{path}.path"),
                            format!("{p:?} is not an IAM path: it starts and ends with /"),
                        );
                        return None;
                    }
                    p
                }
                None => "/".to_owned(),
            };
            Some(Boundary::CustomerManaged(CustomerManagedPolicyRef { name, path: p }))
        }
        (None, Some(arn)) => {
            let arn_path = format!("{path}.managed_policy_arn");
            let arn_text = r.string(arn, &arn_path)?;
            if let Some(v) = cmp_path {
                r.problem(
                    v.span(),
                    &format!("{path}.path"),
                    "`path` goes with `customer_managed_policy`",
                );
                return None;
            }
            if is_aws_managed_policy_arn(&arn_text) {
                Some(Boundary::ManagedPolicy(arn_text))
            } else {
                r.problem(
                    arn.span(),
                    &arn_path,
                    format!("{arn_text:?} is not an AWS managed policy ARN"),
                );
                None
            }
        }
        _ => {
            r.problem(
                span,
                path,
                "give exactly one of `customer_managed_policy` (with an optional `path`) or `managed_policy_arn`",
            );
            None
        }
    }
}

impl Rule for PermissionsBoundaryRequired {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "Every non-admin permission set carries the configured permissions boundary",
        severity: Severity::High,
        mode: None,
        runs: Runs::Everywhere,
        why: "Without the boundary, roles this set creates can escalate beyond what the set itself may do.",
        correction: "put the boundary; re-provision",
        actions: &[
            PERMISSION_SET_READS,
            &["sso:PutPermissionsBoundaryToPermissionSet"],
            PROVISIONING,
        ],
    };

    const KEYS: &'static [&'static str] = &["boundary", EXEMPT_KEYS[0], EXEMPT_KEYS[1]];

    const SCHEMA: &'static str = concat!(
        r#"{ "boundary": { "type": "object", "additionalProperties": false,
                "properties": {
                    "customer_managed_policy": { "type": "string", "minLength": 1 },
                    "path": { "type": "string", "pattern": "^/(.*/)?$", "default": "/" },
                    "managed_policy_arn": { "type": "string", "pattern": "^arn:aws[a-z-]*:iam::aws:policy/.+$" } },
                "oneOf": [ { "required": ["customer_managed_policy"] }, { "required": ["managed_policy_arn"] } ] },"#,
        exempt_schema!(),
        "}"
    );

    fn defaults(&self) -> Settings {
        Settings {
            boundary: Boundary::CustomerManaged(CustomerManagedPolicyRef {
                name: "platform-boundary".to_owned(),
                path: "/".to_owned(),
            }),
            exempt: Exemptions::default(),
        }
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, d: &Settings) -> Option<Settings> {
        let boundary = match t.take("boundary") {
            Some(v) => read_boundary(r, v, &t.child("boundary")),
            None => Some(d.boundary.clone()),
        };
        let exempt = Exemptions::read(r, t, &d.exempt);
        Some(Settings {
            boundary: boundary?,
            exempt,
        })
    }

    fn explain(&self, settings: &Settings) -> Vec<String> {
        match &settings.boundary {
            Boundary::ManagedPolicy(arn) => aws_managed_policy_name(arn)
                .map(|name| format!("the boundary {arn} matches the AWS managed policy {name} in every partition"))
                .into_iter()
                .collect(),
            Boundary::CustomerManaged(r) => vec![format!(
                "the boundary is the customer managed policy {r} in each account the set is provisioned to"
            )],
        }
    }

    fn concerns(&self, change: &ChangeKind, scope: Scope) -> bool {
        concerns_permission_set(change, scope, |op| {
            matches!(
                op,
                PermissionSetOp::BoundaryPut { .. } | PermissionSetOp::BoundaryDeleted
            )
        })
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let Some(subject) = Subject::of(&cx) else {
            return Verdict::NotApplicable;
        };
        let settings = cx.settings;
        let Some(current) = subject.ps.boundary.known() else {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::PermissionsBoundary,
                detail: "the permission set's current boundary".to_owned(),
            });
        };
        if current.as_ref().is_some_and(|c| c.same_as(&settings.boundary)) {
            return Verdict::Pass;
        }
        if let Some(settled) = subject.exempted(
            cx.baseline,
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
                cx.what_idc_guard_does("puts it back and re-provisions")
            ),
            resource: subject.resource(),
            remediation: vec![
                Action::PutPermissionsBoundary {
                    instance_arn: subject.instance.clone(),
                    permission_set_arn: subject.ps.arn.clone(),
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
    use crate::domain::Fact;

    fn platform_boundary() -> Boundary {
        Boundary::CustomerManaged(CustomerManagedPolicyRef {
            name: "platform-boundary".into(),
            path: "/".into(),
        })
    }

    #[test]
    fn the_schema_of_the_boundary_lists_the_keys_read() {
        let schema: serde_json::Value = serde_json::from_str(PermissionsBoundaryRequired::SCHEMA).unwrap();
        let mut keys: Vec<&str> = schema["boundary"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut expected = BOUNDARY_KEYS.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected);
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
        let Verdict::Fail(v) =
            PermissionsBoundaryRequired.evaluate(cx(&PermissionsBoundaryRequired, &change, &facts, &policy()))
        else {
            panic!()
        };
        assert!(
            matches!(&v.remediation[0], Action::PutPermissionsBoundary { boundary, .. } if *boundary == platform_boundary())
        );
        assert!(matches!(v.remediation[1], Action::ProvisionPermissionSet { .. }));
    }

    #[test]
    fn an_aws_managed_boundary_is_the_same_in_every_partition() {
        let mut p = policy();
        p.rules.settings_mut::<PermissionsBoundaryRequired>().unwrap().boundary =
            Boundary::ManagedPolicy("arn:aws:iam::aws:policy/PowerUserAccess".into());
        for (arn, expected) in [
            ("arn:aws-us-gov:iam::aws:policy/PowerUserAccess", Expect::Pass),
            ("arn:aws-cn:iam::aws:policy/PowerUserAccess", Expect::Pass),
            ("arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess", Expect::Fail),
        ] {
            let change = boundary_put(Boundary::ManagedPolicy(arn.into()));
            let mut facts = facts_for(&change);
            facts.permission_set.as_mut().unwrap().name = Fact::Known("DataEngineer".into());
            check(&PermissionsBoundaryRequired, &change, &facts, &p, expected);
        }
    }

    #[test]
    fn without_exemptions_the_name_is_not_needed() {
        let mut p = policy();
        p.rules
            .settings_mut::<PermissionsBoundaryRequired>()
            .unwrap()
            .exempt
            .privileged = false;
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
