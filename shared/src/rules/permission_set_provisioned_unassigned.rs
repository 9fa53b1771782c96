//! `permission-set-provisioned-unassigned`: a permission set is provisioned only to accounts
//! where someone is assigned it.
//!
//! Only the reconciler and `scan` know where a set is provisioned and who is assigned it
//! ([`Facts::hygiene`](crate::domain::Facts::hygiene)); for events and offline checks the rule
//! does not apply.

use super::permission_set_orphaned::{HYGIENE_READS, concerns_hygiene};
use super::{Context, Doc, Missing, Rule, Runs, Subject, Verdict, Violation};
use crate::domain::{AccountId, ChangeKind, Fact, MissingFact, RuleId, Scope, Severity};

/// The rule's id.
pub const ID: RuleId = RuleId::new("permission-set-provisioned-unassigned");

/// Flags a permission set provisioned to an account where no assignment of it exists.
///
/// Why: provisioning creates the set's IAM role in the account; the role stays after the last
/// assignment goes, with the permissions of whatever version was provisioned, and appears in every
/// IAM review of that account as if someone used it. Whoever is assigned the set there next gets
/// it without anyone asking why the account holds it.
/// Fix: assign it there if that is intended; otherwise remove the set from the account. Reported
/// only. Severity low: nobody can sign in through it while it stays unassigned.
#[derive(Debug, Clone, Copy)]
pub struct PermissionSetProvisionedUnassigned;

/// `[rules.permission-set-provisioned-unassigned]`: mode and severity only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings;

/// At most this many accounts are named in a message.
const NAMED: usize = 10;

fn accounts(list: &[AccountId]) -> String {
    let mut named: Vec<&str> = list.iter().map(AccountId::as_str).collect();
    named.sort_unstable();
    let more = named.len().saturating_sub(NAMED);
    named.truncate(NAMED);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("{}{more}", named.join(", "))
}

impl Rule for PermissionSetProvisionedUnassigned {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "Permission sets are provisioned only to accounts where someone is assigned them",
        severity: Severity::Low,
        mode: None,
        runs: Runs::Reconciler,
        why: "A set provisioned where nobody is assigned it leaves its IAM role in that account, unused and unreviewed, for whoever is assigned it next.",
        correction: "none: reported only (assign the set there, or remove it from those accounts) (the reconciler and `scan` only)",
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
        let undetermined = |detail: String| {
            Verdict::Undetermined(Missing {
                fact: MissingFact::InstanceAssignments,
                detail,
            })
        };
        let unassigned = match &hygiene.provisioned_unassigned {
            Fact::Known(list) => list,
            Fact::Unknown => return undetermined("where the set is provisioned could not be read".to_owned()),
        };
        if unassigned.is_empty() {
            return if hygiene.provisioned_undetermined.is_empty() {
                Verdict::Pass
            } else {
                undetermined(format!(
                    "the assignments in {} could not be read whole",
                    accounts(&hygiene.provisioned_undetermined)
                ))
            };
        }
        Verdict::Fail(Violation {
            message: format!(
                "Permission set {} is provisioned to {} account(s) where nobody is assigned it: {}. Its IAM role \
                 stays in those accounts, unused and unreviewed, for whoever is assigned the set there next: assign \
                 it if that is intended, otherwise remove the set from those accounts (idc-guard only reports this).",
                subject.label(),
                unassigned.len(),
                accounts(unassigned)
            ),
            resource: subject.resource(),
            remediation: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::domain::Facts;
    use crate::domain::facts::HygieneFact;

    fn acct(i: u64) -> AccountId {
        AccountId::parse(&format!("{:012}", 111_111_111_111 + i)).unwrap()
    }

    fn facts(change: &crate::domain::Change, unassigned: Fact<Vec<AccountId>>, undetermined: Vec<AccountId>) -> Facts {
        let mut facts = facts_for(change);
        facts.scope = Scope::Resource;
        facts.hygiene = Some(HygieneFact {
            assigned: Fact::Known(true),
            provisioned_unassigned: unassigned,
            provisioned_undetermined: undetermined,
            near_duplicates: Fact::Known(None),
        });
        facts
    }

    #[test]
    fn provisioned_without_assignment_fails_and_names_the_accounts() {
        let change = permission_set_updated(None);
        let cases = [
            (Fact::Known(vec![acct(2), acct(1)]), vec![], Expect::Fail),
            (Fact::Known(vec![]), vec![], Expect::Pass),
            (Fact::Known(vec![]), vec![acct(3)], Expect::Undetermined),
            // A known unassigned account fails whatever else is unknown.
            (Fact::Known(vec![acct(1)]), vec![acct(3)], Expect::Fail),
            (Fact::Unknown, vec![], Expect::Undetermined),
        ];
        for (unassigned, undetermined, expected) in cases {
            let f = facts(&change, unassigned, undetermined);
            check(&PermissionSetProvisionedUnassigned, &change, &f, &policy(), expected);
        }
        let f = facts(&change, Fact::Known(vec![acct(2), acct(1)]), vec![]);
        let Verdict::Fail(v) = PermissionSetProvisionedUnassigned.evaluate(cx(
            &PermissionSetProvisionedUnassigned,
            &change,
            &f,
            &policy(),
        )) else {
            panic!()
        };
        assert!(v.message.contains("111111111112, 111111111113"), "{}", v.message);
        assert!(v.remediation.is_empty());
    }

    #[test]
    fn without_the_reconciler_it_does_not_apply() {
        let change = permission_set_updated(None);
        let mut f = facts_for(&change);
        f.scope = Scope::Resource;
        check(
            &PermissionSetProvisionedUnassigned,
            &change,
            &f,
            &policy(),
            Expect::NotApplicable,
        );
        check(
            &PermissionSetProvisionedUnassigned,
            &change,
            &facts_for(&change),
            &policy(),
            Expect::NotApplicable,
        );
    }
}
