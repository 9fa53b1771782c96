//! `own-role-unrecorded-change`: a change made by one of idc-guard's own roles that idc-guard did
//! not record making: someone else used the role.

use super::{Context, Doc, Missing, Rule, Runs, Verdict, Violation};
use crate::domain::{Actor, ChangeKind, Fact, MissingFact, RuleId, Scope, Severity};

/// The rule's id.
pub const ID: RuleId = RuleId::new("own-role-unrecorded-change");

/// Flags a change made with idc-guard's role that idc-guard's journal of its own calls does not
/// show (the guard reads the journal from the safety state; offline checks cannot, and treat own
/// roles' changes as echoes).
///
/// Why: idc-guard's own changes are not judged again (they are its corrections coming back as
/// events), so a role trusted that way is a way around the guardrail if anyone else can use it.
/// Fix: find who assumed the role (CloudTrail, the role's trust policy), revoke their access,
/// rotate what they could reach; the change itself is judged like anyone's by the other rules.
#[derive(Debug, Clone, Copy)]
pub struct OwnRoleUnrecordedChange;

/// `[rules.own-role-unrecorded-change]`: mode and severity only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings;

impl Rule for OwnRoleUnrecordedChange {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "A change made with idc-guard's own role is one idc-guard recorded making",
        severity: Severity::Critical,
        mode: None,
        runs: Runs::Everywhere,
        why: "idc-guard does not judge its own changes again, so anyone else using its role acts unseen.",
        correction: "report it (the change itself is judged by the other rules)",
        actions: &[],
    };

    fn defaults(&self) -> Settings {
        Settings
    }

    fn concerns(&self, _change: &ChangeKind, scope: Scope) -> bool {
        scope == Scope::Resource
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let Actor::Guard { role_name } = &cx.change.actor else {
            return Verdict::NotApplicable;
        };
        match cx.facts.own_call_recorded {
            Fact::Known(true) => Verdict::Pass,
            Fact::Unknown => Verdict::Undetermined(Missing {
                fact: MissingFact::OwnCallJournal,
                detail: "whether idc-guard made this change (its journal could not be read)".to_owned(),
            }),
            Fact::Known(false) => Verdict::Fail(Violation {
                message: format!(
                    "idc-guard's role {role_name} made {} at {}, but idc-guard recorded no such call: someone \
                     else used the role. Find who assumed it (CloudTrail, the role's trust policy) and revoke \
                     their access; the change itself is judged like anyone's.",
                    cx.change.meta.event_name, cx.change.meta.event_time
                ),
                resource: cx.change.kind.resource(),
                remediation: Vec::new(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::domain::PrincipalType;

    #[test]
    fn only_an_unrecorded_own_change_fails() {
        let mut change = assignment_created(PrincipalType::Group);
        let facts = |recorded: Fact<bool>| {
            let mut f = facts_for(&assignment_created(PrincipalType::Group));
            f.scope = Scope::Resource;
            f.own_call_recorded = recorded;
            f
        };
        // Anyone else's change: not this rule's business.
        check(
            &OwnRoleUnrecordedChange,
            &change,
            &facts(Fact::Known(false)),
            &policy(),
            Expect::NotApplicable,
        );
        change.actor = Actor::Guard {
            role_name: "idc-guard-assignment-guard".into(),
        };
        check(
            &OwnRoleUnrecordedChange,
            &change,
            &facts(Fact::Known(true)),
            &policy(),
            Expect::Pass,
        );
        check(
            &OwnRoleUnrecordedChange,
            &change,
            &facts(Fact::Known(false)),
            &policy(),
            Expect::Fail,
        );
        check(
            &OwnRoleUnrecordedChange,
            &change,
            &facts(Fact::Unknown),
            &policy(),
            Expect::Undetermined,
        );
        // Offline (the change's own scope) nothing is known of the journal.
        let mut offline = facts(Fact::Known(false));
        offline.scope = Scope::Change;
        check(
            &OwnRoleUnrecordedChange,
            &change,
            &offline,
            &policy(),
            Expect::NotApplicable,
        );
    }
}
