//! `entitlement-principal-type`: account access manager's entitlements go to groups, never to
//! individual users (issue #19).

use std::ops::ControlFlow;

use super::{Context, Doc, Lacking, LiveEntitlement, Rule, Runs, Verdict};
use crate::domain::{ChangeKind, RuleId, Scope, Severity};

/// The rule's id.
pub const ID: RuleId = RuleId::new("entitlement-principal-type");

/// Flags an entitlement (account access manager: a user or group may assume an IAM role in an
/// account, without a permission set) whose principal type the policy does not allow. It
/// shares `assignment-principal-type`'s `allowed` types and its exceptions: "groups, never
/// users" has one answer, whichever path the access takes.
///
/// Why: a USER entitlement is a direct grant that group reviews and the IdP's leaver process do
/// not see, exactly like a USER assignment.
/// Fix: entitle a group that holds the user; or add a time-limited exception for
/// `assignment-principal-type`.
#[derive(Debug, Clone, Copy)]
pub struct EntitlementPrincipalType;

/// `[rules.entitlement-principal-type]`: mode and severity only (the allowed types are
/// `assignment-principal-type`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings;

impl Rule for EntitlementPrincipalType {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "Account access manager's entitlements go to groups, never to individual users",
        severity: Severity::High,
        mode: None,
        runs: Runs::Everywhere,
        why: "An entitlement to an individual user reaches an AWS account outside permission sets, group reviews and the IdP's leaver process.",
        correction: "delete the entitlement (role sessions it issued last until they expire: revoke them in the member account with IAM's \"Revoke active sessions\" on the role)",
        actions: &[
            &[
                "account-access:GetEntitlement",
                "account-access:ListEntitlements",
                "account-access:DeleteEntitlement",
            ],
            // The principal's name, for the finding.
            &[
                "sso:ListInstances",
                "identitystore:DescribeUser",
                "identitystore:DescribeGroup",
            ],
        ],
    };

    const SHARES_EXCEPTIONS_OF: &'static [RuleId] = &[super::assignment_principal_type::ID];

    fn defaults(&self) -> Settings {
        Settings
    }

    fn explain(&self, _settings: &Settings) -> Vec<String> {
        vec!["allowed types: those of assignment-principal-type".to_owned()]
    }

    fn concerns(&self, change: &ChangeKind, _scope: Scope) -> bool {
        matches!(change, ChangeKind::EntitlementCreated(_))
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let ChangeKind::EntitlementCreated(created) = &cx.change.kind else {
            return Verdict::NotApplicable;
        };
        // Entitlements are immutable: the principal type is the event's. Level-driven: what
        // is gone needs nothing, and a deletion needs the live entitlement's id.
        if cx.baseline.assignable.contains(&created.principal_type) {
            return Verdict::Pass;
        }
        let detail = |lacking| match lacking {
            Lacking::State => format!("whether the entitlement ({}) still exists", created.describe()),
            Lacking::Id => format!("the id of the entitlement ({})", created.describe()),
        };
        let entitled = match LiveEntitlement::of(&cx, detail) {
            ControlFlow::Continue(entitled) => entitled,
            ControlFlow::Break(verdict) => return verdict,
        };
        let live = entitled.live;
        let allowed: Vec<&str> = cx.baseline.assignable.iter().map(|p| p.as_str()).collect();
        let message = format!(
            "{} was entitled to assume {} in account {} through account access manager; only {} \
             may be granted access. Entitle a group the user belongs to instead ({}). Role sessions \
             already issued through the entitlement are not Identity Center sessions: they last \
             until they expire, unless revoked in account {} with IAM's \"Revoke active sessions\" \
             on the role.",
            entitled.who(),
            live.role_arn,
            live.account_id,
            allowed.join(" or "),
            cx.what_idc_guard_does("deletes the entitlement"),
            live.account_id,
        );
        entitled.violation(message)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::domain::{Action, EntitlementId, Fact, PrincipalType};

    #[test]
    fn principal_types_table() {
        for (principal, expected) in [
            (PrincipalType::Group, Expect::Pass),
            (PrincipalType::User, Expect::Fail),
        ] {
            let change = entitlement_created(principal, "ReadOnly");
            check(
                &EntitlementPrincipalType,
                &change,
                &facts_for(&change),
                &policy(),
                expected,
            );
        }
    }

    #[test]
    fn a_user_entitlement_plans_its_deletion_and_says_what_revokes_its_sessions() {
        let change = entitlement_created(PrincipalType::User, "ReadOnly");
        let Verdict::Fail(v) =
            EntitlementPrincipalType.evaluate(cx(&EntitlementPrincipalType, &change, &facts_for(&change), &policy()))
        else {
            panic!()
        };
        let [Action::DeleteEntitlement(e)] = &v.remediation[..] else {
            panic!("{:?}", v.remediation)
        };
        assert_eq!(e.principal_type, PrincipalType::User);
        assert!(v.message.contains("Revoke active sessions"), "{}", v.message);
        assert_eq!(v.resource.role_arn.as_deref(), Some(e.role_arn.as_str()));
    }

    #[test]
    fn users_allowed_for_assignments_are_allowed_here_too() {
        let mut p = policy();
        p.rules
            .settings_mut::<super::super::assignment_principal_type::AssignmentPrincipalType>()
            .unwrap()
            .allowed
            .push(PrincipalType::User);
        let change = entitlement_created(PrincipalType::User, "ReadOnly");
        check(
            &EntitlementPrincipalType,
            &change,
            &facts_for(&change),
            &p,
            Expect::Pass,
        );
    }

    #[test]
    fn gone_unknown_or_without_id() {
        let change = entitlement_created(PrincipalType::User, "ReadOnly");
        let mut facts = facts_for(&change);
        facts.scope = Scope::Resource;
        facts.entitlement = Fact::Known(None);
        check(&EntitlementPrincipalType, &change, &facts, &policy(), Expect::Pass);
        facts.entitlement = Fact::Unknown;
        check(
            &EntitlementPrincipalType,
            &change,
            &facts,
            &policy(),
            Expect::Undetermined,
        );
        let mut without_id = facts_for(&change);
        if let Fact::Known(Some(e)) = &mut without_id.entitlement {
            e.entitlement_id = None;
        }
        check(
            &EntitlementPrincipalType,
            &change,
            &without_id,
            &policy(),
            Expect::Undetermined,
        );
        // The live entitlement's id is the one deleted.
        let mut live = facts_for(&change);
        if let Fact::Known(Some(e)) = &mut live.entitlement {
            e.entitlement_id = Some(EntitlementId::parse("ent-live").unwrap());
        }
        let Verdict::Fail(v) =
            EntitlementPrincipalType.evaluate(cx(&EntitlementPrincipalType, &change, &live, &policy()))
        else {
            panic!()
        };
        assert!(
            matches!(&v.remediation[..], [Action::DeleteEntitlement(e)] if e.entitlement_id.as_ref().unwrap().as_str() == "ent-live")
        );
    }

    #[test]
    fn other_changes_are_not_applicable() {
        let change = assignment_created(PrincipalType::User);
        check(
            &EntitlementPrincipalType,
            &change,
            &facts_for(&change),
            &policy(),
            Expect::NotApplicable,
        );
    }
}
