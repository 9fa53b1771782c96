//! `assignment-principal-type`: access is granted to groups, never to individual users.

use super::{Context, Doc, REVOCATION, Rule, Runs, Verdict, Violation};
use crate::domain::{
    Action, ChangeKind, Fact, PrincipalType, Removal, Resource, ResourceKind, RuleId, Scope, Severity,
};
use crate::spanned::{Reader, Table};

/// The rule's id.
pub const ID: RuleId = RuleId::new("assignment-principal-type");

/// Flags an account assignment whose principal type the policy does not allow (USER by default).
///
/// Why: assignments to groups follow the IdP's joiner/mover/leaver process; a user assignment
/// survives the user's moves and is invisible to group reviews.
/// Fix: assign a group that holds the user; or add a time-limited exception.
#[derive(Debug, Clone, Copy)]
pub struct AssignmentPrincipalType;

/// `[rules.assignment-principal-type]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Principal types that may be assigned.
    pub allowed: Vec<PrincipalType>,
}

impl Rule for AssignmentPrincipalType {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "Account assignments go to groups, never to individual users",
        severity: Severity::High,
        mode: None,
        runs: Runs::Everywhere,
        why: "Access granted to individual users bypasses group membership reviews and leaves orphaned access behind.",
        correction: "delete the assignment; revoke the role sessions it issued",
        actions: &[
            &[
                "sso:ListAccountAssignments",
                "sso:DeleteAccountAssignment",
                "sso:DescribeAccountAssignmentDeletionStatus",
            ],
            // The names a finding reports: the set's, the principal's (in the instance's store).
            &[
                "sso:DescribePermissionSet",
                "sso:ListInstances",
                "identitystore:DescribeUser",
                "identitystore:DescribeGroup",
            ],
            REVOCATION,
        ],
    };

    const KEYS: &'static [&'static str] = &["allowed"];

    const SCHEMA: &'static str =
        r#"{ "allowed": { "type": "array", "items": { "enum": ["GROUP", "USER"] }, "default": ["GROUP"] } }"#;

    fn defaults(&self) -> Settings {
        Settings {
            allowed: vec![PrincipalType::Group],
        }
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, defaults: &Settings) -> Option<Settings> {
        let mut allowed = defaults.allowed.clone();
        if let Some(v) = t.take("allowed") {
            allowed = r
                .list(v, &t.child("allowed"), |r, s, span, p| match s {
                    "GROUP" => Some(PrincipalType::Group),
                    "USER" => Some(PrincipalType::User),
                    _ => {
                        r.problem(
                            span,
                            p,
                            format!("{s:?} is not a principal type: expected \"GROUP\" or \"USER\""),
                        );
                        None
                    }
                })
                .unwrap_or_default();
        }
        Some(Settings { allowed })
    }

    fn concerns(&self, change: &ChangeKind, _scope: Scope) -> bool {
        matches!(change, ChangeKind::AssignmentCreated(_))
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let ChangeKind::AssignmentCreated(a) = &cx.change.kind else {
            return Verdict::NotApplicable;
        };
        let allowed = &cx.settings.allowed;
        if allowed.contains(&a.principal_type) {
            return Verdict::Pass;
        }
        // Level-driven: an assignment that is already gone needs nothing.
        if cx.facts.assignment_exists == Fact::Known(false) {
            return Verdict::Pass;
        }
        let ps_name = cx.facts.permission_set_name();
        let names = cx.facts.principal.known().cloned().flatten();
        let who = match &names {
            Some(n) => format!("{} {n} ({})", a.principal_type, a.principal_id),
            None => format!("{} {}", a.principal_type, a.principal_id),
        };
        let what = match ps_name {
            Some(name) => format!("{name} ({})", a.permission_set_arn),
            None => a.permission_set_arn.to_string(),
        };
        let allowed_text: Vec<&str> = allowed.iter().map(|p| p.as_str()).collect();
        let revoke = cx
            .baseline
            .revoke_sessions(Some(a.instance_arn.clone()), Removal::Assignment(a.clone()));
        let message = format!(
            "{who} was assigned {what} in account {} directly; only {} assignments are allowed. \
             Assign a group the user belongs to instead (the direct assignment will be deleted{}).",
            a.account_id,
            allowed_text.join(" or "),
            if revoke.is_some() {
                ", and the role sessions it issued revoked"
            } else {
                ""
            }
        );
        let mut resource = Resource::new(ResourceKind::AccountAssignment, a.resource_id());
        resource.permission_set_arn = Some(a.permission_set_arn.to_string());
        resource.permission_set_name = ps_name.map(str::to_owned);
        resource.account_id = Some(a.account_id.to_string());
        resource.principal_id = Some(a.principal_id.clone());
        resource.principal_name = names.map(|n| n.to_string());
        Verdict::Fail(Violation {
            message,
            resource,
            remediation: std::iter::once(Action::DeleteAccountAssignment(a.clone()))
                .chain(revoke)
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn principal_types_table() {
        let cases = [
            (PrincipalType::Group, Expect::Pass),
            (PrincipalType::User, Expect::Fail),
        ];
        for (principal, expected) in cases {
            let change = assignment_created(principal);
            check(
                &AssignmentPrincipalType,
                &change,
                &facts_for(&change),
                &policy(),
                expected,
            );
        }
    }

    #[test]
    fn user_assignment_plans_its_deletion_then_the_revocation_of_its_sessions() {
        let change = assignment_created(PrincipalType::User);
        let verdict =
            AssignmentPrincipalType.evaluate(cx(&AssignmentPrincipalType, &change, &facts_for(&change), &policy()));
        let Verdict::Fail(v) = verdict else {
            panic!("{verdict:?}")
        };
        let [
            Action::DeleteAccountAssignment(a),
            Action::RevokeSessions { removal, mode, .. },
        ] = &v.remediation[..]
        else {
            panic!("{:?}", v.remediation)
        };
        assert_eq!(a.principal_type, PrincipalType::User);
        assert_eq!(removal, &crate::domain::Removal::Assignment(a.clone()));
        assert_eq!(*mode, crate::domain::Mode::Enforce);
        assert!(v.message.contains("Assign a group"));
        assert!(
            v.message.contains("the role sessions it issued revoked"),
            "{}",
            v.message
        );
        // Revocation off: the deletion alone.
        let mut off = policy();
        off.revocation.mode = crate::domain::Mode::Off;
        let Verdict::Fail(v) =
            AssignmentPrincipalType.evaluate(cx(&AssignmentPrincipalType, &change, &facts_for(&change), &off))
        else {
            panic!()
        };
        assert!(matches!(&v.remediation[..], [Action::DeleteAccountAssignment(_)]));
        assert!(!v.message.contains("sessions"), "{}", v.message);
        // Detect: planned, to be reported only.
        off.revocation.mode = crate::domain::Mode::Detect;
        let Verdict::Fail(v) =
            AssignmentPrincipalType.evaluate(cx(&AssignmentPrincipalType, &change, &facts_for(&change), &off))
        else {
            panic!()
        };
        assert!(matches!(
            &v.remediation[..],
            [
                _,
                Action::RevokeSessions {
                    mode: crate::domain::Mode::Detect,
                    ..
                }
            ]
        ));
    }

    #[test]
    fn the_message_names_the_user_and_the_set_beside_their_ids() {
        let change = assignment_created(PrincipalType::User);
        let mut facts = facts_for(&change);
        facts.permission_set.as_mut().unwrap().name = Fact::Known("PlatformAdmin".into());
        facts.principal = Fact::Known(Some(crate::domain::PrincipalNames {
            name: "alice@example.com".into(),
            display_name: Some("Alice Smith".into()),
        }));
        let Verdict::Fail(v) =
            AssignmentPrincipalType.evaluate(cx(&AssignmentPrincipalType, &change, &facts, &policy()))
        else {
            panic!()
        };
        assert!(
            v.message.starts_with("USER alice@example.com (Alice Smith) (")
                && v.message.contains("was assigned PlatformAdmin (arn:"),
            "{}",
            v.message
        );
        assert_eq!(
            v.resource.principal_name.as_deref(),
            Some("alice@example.com (Alice Smith)")
        );
    }

    #[test]
    fn users_may_be_allowed_by_policy() {
        let mut p = policy();
        p.rules
            .settings_mut::<AssignmentPrincipalType>()
            .unwrap()
            .allowed
            .push(PrincipalType::User);
        let change = assignment_created(PrincipalType::User);
        check(&AssignmentPrincipalType, &change, &facts_for(&change), &p, Expect::Pass);
    }

    #[test]
    fn an_assignment_already_gone_needs_nothing() {
        let change = assignment_created(PrincipalType::User);
        let mut facts = facts_for(&change);
        facts.scope = Scope::Resource;
        facts.assignment_exists = Fact::Known(false);
        check(&AssignmentPrincipalType, &change, &facts, &policy(), Expect::Pass);
    }

    #[test]
    fn other_changes_are_not_applicable() {
        let change = assignment_deleted(PrincipalType::User);
        check(
            &AssignmentPrincipalType,
            &change,
            &facts_for(&change),
            &policy(),
            Expect::NotApplicable,
        );
    }
}
