//! `assignment-principal-type`: access is granted to groups, never to individual users.

use super::{Action, Context, Resource, ResourceKind, Rule, RuleId, Verdict, Violation};
use crate::facts::{Fact, Scope};
use crate::model::ChangeKind;
use crate::policy::Severity;

/// Flags an account assignment whose principal type the policy does not allow (USER by default).
///
/// Why: assignments to groups follow the IdP's joiner/mover/leaver process; a user assignment
/// survives the user's moves and is invisible to group reviews.
/// Fix: assign a group that holds the user; or add a time-limited exception.
pub(super) struct AssignmentPrincipalType;

impl Rule for AssignmentPrincipalType {
    fn id(&self) -> RuleId {
        RuleId::AssignmentPrincipalType
    }

    fn summary(&self) -> &'static str {
        "Account assignments go to groups, never to individual users"
    }

    fn default_severity(&self) -> Severity {
        Severity::High
    }

    fn concerns(&self, change: &ChangeKind, _scope: Scope) -> bool {
        matches!(change, ChangeKind::AssignmentCreated(_))
    }

    fn judge(&self, cx: Context<'_>) -> Verdict {
        let ChangeKind::AssignmentCreated(a) = &cx.change.kind else {
            return Verdict::NotApplicable;
        };
        let allowed = &cx.policy.rules.assignment_principal_type.allowed;
        if allowed.contains(&a.principal_type) {
            return Verdict::Pass;
        }
        // Level-driven: an assignment that is already gone needs nothing.
        if cx.facts.assignment_exists == Fact::Known(false) {
            return Verdict::Pass;
        }
        let ps_name = cx.facts.permission_set_name();
        let allowed_text: Vec<&str> = allowed.iter().map(|p| p.as_str()).collect();
        let message = format!(
            "{} {} was assigned {} in account {} directly; only {} assignments are allowed. \
             Assign a group the user belongs to instead (the direct assignment will be deleted).",
            a.principal_type,
            a.principal_id,
            ps_name.unwrap_or(a.permission_set_arn.as_str()),
            a.account_id,
            allowed_text.join(" or ")
        );
        let mut resource = Resource::new(
            ResourceKind::AccountAssignment,
            format!(
                "{}|{}|{}|{}",
                a.account_id, a.permission_set_arn, a.principal_type, a.principal_id
            ),
        );
        resource.permission_set_arn = Some(a.permission_set_arn.to_string());
        resource.permission_set_name = ps_name.map(str::to_owned);
        resource.account_id = Some(a.account_id.to_string());
        resource.principal_id = Some(a.principal_id.clone());
        Verdict::Fail(Violation {
            message,
            resource,
            remediation: vec![Action::DeleteAccountAssignment {
                instance_arn: a.instance_arn.to_string(),
                account_id: a.account_id.to_string(),
                permission_set_arn: a.permission_set_arn.to_string(),
                principal_type: a.principal_type,
                principal_id: a.principal_id.clone(),
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::model::PrincipalType;

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
    fn user_assignment_plans_exactly_its_deletion() {
        let change = assignment_created(PrincipalType::User);
        let verdict = AssignmentPrincipalType.evaluate(cx(&change, &facts_for(&change), &policy()));
        let Verdict::Fail(v) = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(v.remediation.len(), 1);
        assert!(matches!(
            &v.remediation[0],
            Action::DeleteAccountAssignment {
                principal_type: PrincipalType::User,
                ..
            }
        ));
        assert!(v.message.contains("Assign a group"));
    }

    #[test]
    fn users_may_be_allowed_by_policy() {
        let mut p = policy();
        p.rules.assignment_principal_type.allowed.push(PrincipalType::User);
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
