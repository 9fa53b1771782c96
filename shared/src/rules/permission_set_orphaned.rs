//! `permission-set-orphaned`: every permission set is assigned somewhere.
//!
//! Only the reconciler and `scan` know a set's assignments across the instance
//! ([`Facts::hygiene`](crate::domain::Facts::hygiene), from `crate::hygiene`); for events and
//! offline checks the rule does not apply.

use super::{Context, Doc, Missing, Rule, Runs, Subject, Verdict, Violation, concerns_permission_set};
use crate::domain::{ChangeKind, Fact, MissingFact, RuleId, Scope, Severity};

/// The rule's id.
pub const ID: RuleId = RuleId::new("permission-set-orphaned");

/// Flags a permission set that no account assignment uses, anywhere.
///
/// Why: an unused set is clutter that hides in every review, and it can be assigned later without
/// anyone re-reading what it grants (the guide's sprawl story: sets nobody owned any more).
/// Fix: delete it, or assign it if it is still needed. Reported only: deleting a set is an
/// owner's decision. Severity low: it grants nothing while it stays unassigned.
#[derive(Debug, Clone, Copy)]
pub struct PermissionSetOrphaned;

/// `[rules.permission-set-orphaned]`: mode and severity only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings;

/// What the hygiene rules' facts are read with: the sets, where each is provisioned, and every
/// assignment (by principal or by account).
pub(super) const HYGIENE_READS: &[&str] = &[
    "sso:ListPermissionSets",
    "sso:DescribePermissionSet",
    "sso:ListAccountsForProvisionedPermissionSet",
    "sso:ListAccountAssignments",
    "sso:ListAccountAssignmentsForPrincipal",
    "identitystore:ListGroups",
    "identitystore:ListUsers",
];

/// Whether a hygiene rule judges a change: a permission set the reconciler judges whole.
pub(super) fn concerns_hygiene(change: &ChangeKind, scope: Scope) -> bool {
    scope == Scope::Resource && concerns_permission_set(change, scope, |_| false)
}

impl Rule for PermissionSetOrphaned {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "Every permission set is assigned somewhere (an unused set is reported for deletion)",
        severity: Severity::Low,
        mode: None,
        runs: Runs::Reconciler,
        why: "A set nobody is assigned is clutter that hides in reviews and can be assigned later without anyone re-reading what it grants.",
        correction: "none: reported only (delete the set, or assign it) (the reconciler and `scan` only)",
        actions: &[HYGIENE_READS],
    };

    fn defaults(&self) -> Settings {
        Settings
    }

    fn concerns(&self, change: &ChangeKind, scope: Scope) -> bool {
        concerns_hygiene(change, scope)
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let (Some(hygiene), Some(subject)) = (&cx.facts.hygiene, Subject::of(&cx)) else {
            return Verdict::NotApplicable;
        };
        match hygiene.assigned {
            Fact::Known(true) => Verdict::Pass,
            Fact::Unknown => Verdict::Undetermined(Missing {
                fact: MissingFact::InstanceAssignments,
                detail: "whether any assignment uses the set: some assignment listing failed".to_owned(),
            }),
            Fact::Known(false) => Verdict::Fail(Violation {
                message: format!(
                    "Permission set {} is not assigned to anyone in any account. An unused set hides in every \
                     review and can be assigned later without anyone re-reading what it grants: delete it, or \
                     assign it if it is still needed (idc-guard only reports this).",
                    subject.label()
                ),
                resource: subject.resource(),
                remediation: Vec::new(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::domain::Facts;
    use crate::domain::facts::HygieneFact;

    /// The reconciler's view of the test set (named `Legacy`).
    fn facts(change: &crate::domain::Change, hygiene: Option<HygieneFact>) -> Facts {
        let mut facts = facts_for(change);
        facts.scope = Scope::Resource;
        if let Some(ps) = facts.permission_set.as_mut() {
            ps.name = Fact::Known("Legacy".to_owned());
        }
        facts.hygiene = hygiene;
        facts
    }

    fn hygiene(assigned: Fact<bool>) -> HygieneFact {
        HygieneFact {
            assigned,
            provisioned_unassigned: Fact::Known(Vec::new()),
            provisioned_undetermined: Vec::new(),
            near_duplicates: Fact::Known(None),
        }
    }

    #[test]
    fn unassigned_sets_fail_assigned_pass_unknown_is_undetermined() {
        let change = permission_set_updated(None);
        let cases = [
            (Some(hygiene(Fact::Known(false))), Expect::Fail),
            (Some(hygiene(Fact::Known(true))), Expect::Pass),
            (Some(hygiene(Fact::Unknown)), Expect::Undetermined),
            // Events and offline checks: no hygiene fact, the rule does not apply.
            (None, Expect::NotApplicable),
        ];
        for (h, expected) in cases {
            check(&PermissionSetOrphaned, &change, &facts(&change, h), &policy(), expected);
        }
    }

    #[test]
    fn the_finding_names_the_set_and_plans_nothing() {
        let change = permission_set_updated(None);
        let f = facts(&change, Some(hygiene(Fact::Known(false))));
        let Verdict::Fail(v) = PermissionSetOrphaned.evaluate(cx(&PermissionSetOrphaned, &change, &f, &policy()))
        else {
            panic!()
        };
        assert!(v.message.contains("Legacy"), "{}", v.message);
        assert!(v.remediation.is_empty());
        // Change scope (offline checks) never judges it.
        let offline = facts_for(&change);
        check(
            &PermissionSetOrphaned,
            &change,
            &offline,
            &policy(),
            Expect::NotApplicable,
        );
    }
}
