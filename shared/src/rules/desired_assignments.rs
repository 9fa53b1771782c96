//! `desired-assignments`: live account assignments match the desired-assignments file.
//!
//! Only the reconciler supplies the fact this rule needs ([`Facts::desired`]); the event path and
//! offline checks do not, so for them the rule does not apply.
//!
//! The file may also declare account access manager's entitlements (issue #19): when it does,
//! a live entitlement it does not declare is extra (deleted) and one it declares that does not
//! exist is missing (created), exactly as for assignments.

use super::{Context, Doc, Missing, REVOCATION, Rule, Runs, Verdict, Violation};
use crate::domain::{
    Action, ChangeKind, Entitlement, Fact, Facts, MissingFact, Removal, Resource, ResourceKind, RuleId, Scope, Severity,
};

/// The rule's id.
pub const ID: RuleId = RuleId::new("desired-assignments");

/// Flags an assignment that exists but is not desired (extra: delete it) or is desired but does
/// not exist (missing: create it).
///
/// Why: assignments as code make access reviewable in Git; a grant made outside the file has not
/// been reviewed, and one removed outside it breaks someone's reviewed access.
/// Fix: change the file (and let the reconciler apply it), or revert the change by hand.
#[derive(Debug, Clone, Copy)]
pub struct DesiredAssignments;

/// `[rules.desired-assignments]`: mode and severity only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings;

impl Rule for DesiredAssignments {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "Live account assignments (and entitlements, when the file declares them) match the desired-assignments file (extra ones deleted, missing ones created)",
        severity: Severity::Medium,
        mode: None,
        runs: Runs::Reconciler,
        why: "Access that differs from the reviewed assignments file was granted or removed outside review.",
        correction: "delete an extra assignment (revoking the role sessions it issued) or entitlement; create a missing one (the reconciler and `scan` only)",
        actions: &[
            &[
                "sso:ListAccountAssignments",
                "sso:DeleteAccountAssignment",
                "sso:DescribeAccountAssignmentDeletionStatus",
                "sso:CreateAccountAssignment",
                "sso:DescribeAccountAssignmentCreationStatus",
            ],
            REVOCATION,
            &[
                "account-access:ListEntitlements",
                "account-access:GetEntitlement",
                "account-access:DeleteEntitlement",
                "account-access:CreateEntitlement",
            ],
        ],
    };

    fn defaults(&self) -> Settings {
        Settings
    }

    fn concerns(&self, change: &ChangeKind, scope: Scope) -> bool {
        scope == Scope::Resource
            && matches!(
                change,
                ChangeKind::AssignmentCreated(_) | ChangeKind::AssignmentDeleted(_) | ChangeKind::EntitlementCreated(_)
            )
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        // The reconciler judges every entitlement, live or declared, as its creation: the live
        // fact says whether it exists (a deletion event names no grant to create again).
        if let ChangeKind::EntitlementCreated(e) = &cx.change.kind {
            return judge_entitlement(&cx, e);
        }
        let (ChangeKind::AssignmentCreated(a) | ChangeKind::AssignmentDeleted(a)) = &cx.change.kind else {
            return Verdict::NotApplicable;
        };
        let Some(desired) = &cx.facts.desired else {
            return Verdict::NotApplicable;
        };
        let exists = match cx.facts.assignment_exists {
            Fact::Known(exists) => exists,
            Fact::Unknown => {
                return Verdict::Undetermined(Missing {
                    fact: MissingFact::AssignmentState,
                    detail: "whether the assignment exists could not be read".to_owned(),
                });
            }
        };
        if exists == desired.wanted {
            return Verdict::Pass;
        }
        let ps = Facts::permission_set_name(cx.facts).unwrap_or(a.permission_set_arn.as_str());
        let who = desired
            .principal_name
            .as_deref()
            .map_or_else(|| a.principal_id.clone(), |n| format!("{n} ({})", a.principal_id));
        let mut resource = Resource::new(ResourceKind::AccountAssignment, a.resource_id());
        resource.permission_set_arn = Some(a.permission_set_arn.to_string());
        resource.permission_set_name = Facts::permission_set_name(cx.facts).map(str::to_owned);
        resource.account_id = Some(a.account_id.to_string());
        resource.principal_id = Some(a.principal_id.clone());
        let (message, action) = if exists {
            (
                format!(
                    "{} {who} is assigned {ps} in account {} but the desired-assignments file does not list it \
                     (extra: it will be deleted). Add it to the file if it is wanted.",
                    a.principal_type, a.account_id
                ),
                Action::DeleteAccountAssignment(a.clone()),
            )
        } else {
            let line = desired.line.map(|l| format!(" (line {l})")).unwrap_or_default();
            (
                format!(
                    "{} {who} should be assigned {ps} in account {} as the desired-assignments file says{line}, \
                     but is not (missing: it will be created).",
                    a.principal_type, a.account_id
                ),
                Action::CreateAccountAssignment(a.clone()),
            )
        };
        // An extra assignment's removal also ends the sessions it issued (to whoever keeps the set
        // in the account through nothing else).
        let revoke = exists
            .then(|| {
                cx.baseline
                    .revoke_sessions(Some(a.instance_arn.clone()), Removal::Assignment(a.clone()))
            })
            .flatten();
        Verdict::Fail(Violation {
            message,
            resource,
            remediation: std::iter::once(action).chain(revoke).collect(),
        })
    }
}

/// An entitlement against the file: the live one (read by the reconciler) is extra when the file
/// does not declare it; a declared one that does not exist is missing.
fn judge_entitlement(cx: &Context<'_, Settings>, e: &Entitlement) -> Verdict {
    let Some(desired) = &cx.facts.desired else {
        return Verdict::NotApplicable;
    };
    let live = match &cx.facts.entitlement {
        Fact::Known(live) => live.as_ref(),
        Fact::Unknown => {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::EntitlementState,
                detail: "whether the entitlement exists could not be read".to_owned(),
            });
        }
    };
    if live.is_some() == desired.wanted {
        return Verdict::Pass;
    }
    let who = desired
        .principal_name
        .as_deref()
        .map_or_else(|| e.principal_id.clone(), |n| format!("{n} ({})", e.principal_id));
    let grant = format!(
        "{} {who} may assume {} in account {}",
        e.principal_type, e.role_arn, e.account_id
    );
    match live {
        Some(live) => Verdict::Fail(Violation {
            message: format!(
                "{grant} through account access manager, but the desired-assignments file does not declare \
                 it (extra: it will be deleted; role sessions it issued last until they expire). Add it to \
                 the file's [[entitlements]] if it is wanted."
            ),
            resource: live.resource(),
            remediation: vec![Action::DeleteEntitlement(live.clone())],
        }),
        None => {
            let line = desired.line.map(|l| format!(" (line {l})")).unwrap_or_default();
            let wanted = Entitlement {
                entitlement_id: None,
                ..e.clone()
            };
            Verdict::Fail(Violation {
                message: format!(
                    "{grant} as the desired-assignments file declares{line}, but no such entitlement exists \
                     (missing: it will be created)."
                ),
                resource: wanted.resource(),
                remediation: vec![Action::CreateEntitlement(wanted)],
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        AccountId, Actor, Assignment, Change, DesiredFact, EventMeta, InstanceArn, PermissionSetArn, PrincipalType,
    };
    use crate::policy::Policy;
    use crate::rules::test_support::cx;

    fn change(created: bool) -> Change {
        let a = Assignment {
            instance_arn: InstanceArn::parse("arn:aws:sso:::instance/ssoins-72233af8ea2d1f14")
                .unwrap_or_else(|_| unreachable!()),
            account_id: AccountId::parse("111122223333").unwrap_or_else(|_| unreachable!()),
            permission_set_arn: PermissionSetArn::parse(
                "arn:aws:sso:::permissionSet/ssoins-72233af8ea2d1f14/ps-ae5d1fa1f80b684e",
            )
            .unwrap_or_else(|_| unreachable!()),
            principal_type: PrincipalType::Group,
            principal_id: "906791299c-1d6b8f4c-6d0f-4b5f-8e9f-4a2f3e4d5c6b".to_owned(),
        };
        Change {
            meta: EventMeta {
                event_id: "reconcile".to_owned(),
                shared_event_id: None,
                envelope_id: None,
                event_name: "Reconcile".to_owned(),
                event_source: "idc-guard".to_owned(),
                source: None,
                event_time: "2026-11-27T00:00:00Z".to_owned(),
                region: "eu-west-1".to_owned(),
                account: "111122223333".to_owned(),
                request_id: None,
                console: false,
                operation: None,
            },
            actor: Actor::Guard {
                role_name: "drift-reconciler".to_owned(),
            },
            kind: if created {
                ChangeKind::AssignmentCreated(a)
            } else {
                ChangeKind::AssignmentDeleted(a)
            },
        }
    }

    fn judge(exists: Fact<bool>, wanted: Option<bool>) -> Verdict {
        let policy = Policy::default();
        let c = change(exists == Fact::Known(true));
        let facts = Facts {
            scope: Scope::Resource,
            assignment_exists: exists,
            desired: wanted.map(|wanted| DesiredFact {
                wanted,
                principal_name: Some("platform".to_owned()),
                line: Some(3),
            }),
            ..Facts::default()
        };
        DesiredAssignments.evaluate(cx(&DesiredAssignments, &c, &facts, &policy))
    }

    #[test]
    fn extra_is_deleted_missing_is_created_matching_passes() {
        let actions = |v: Verdict| match v {
            Verdict::Fail(v) => v.remediation,
            other => panic!("{other:?}"),
        };
        // An extra assignment is deleted, and the sessions it issued revoked.
        assert!(matches!(
            actions(judge(Fact::Known(true), Some(false)))[..],
            [Action::DeleteAccountAssignment(_), Action::RevokeSessions { .. }]
        ));
        assert!(matches!(
            actions(judge(Fact::Known(false), Some(true)))[..],
            [Action::CreateAccountAssignment(_)]
        ));
        assert_eq!(judge(Fact::Known(true), Some(true)), Verdict::Pass);
        assert_eq!(judge(Fact::Known(false), Some(false)), Verdict::Pass);
        assert!(matches!(judge(Fact::Unknown, Some(true)), Verdict::Undetermined(_)));
        // No desired file: the rule does not apply.
        assert_eq!(judge(Fact::Known(true), None), Verdict::NotApplicable);
    }

    fn entitlement(id: Option<&str>) -> Entitlement {
        Entitlement {
            application_arn: crate::domain::AccessApplicationArn::parse(
                "arn:aws:account-access:us-east-1:123456789012:application/aam-0123456789abcdef",
            )
            .unwrap_or_else(|_| unreachable!()),
            entitlement_id: id.map(|id| crate::domain::EntitlementId::parse(id).unwrap_or_else(|_| unreachable!())),
            principal_type: PrincipalType::Group,
            principal_id: "g-data".to_owned(),
            role_arn: crate::domain::RoleArn::parse("arn:aws:iam::111122223333:role/team/DataAnalyst")
                .unwrap_or_else(|_| unreachable!()),
            account_id: AccountId::parse("111122223333").unwrap_or_else(|_| unreachable!()),
        }
    }

    /// The reconciler's synthetic creation of `declared` (a declared one has no id), with the live
    /// entitlement as read and what the file says.
    fn judge_entitlement(live: Fact<Option<Entitlement>>, wanted: Option<bool>) -> Verdict {
        let policy = Policy::default();
        let subject = match &live {
            Fact::Known(Some(e)) => e.clone(),
            _ => entitlement(None),
        };
        let c = Change {
            kind: ChangeKind::EntitlementCreated(subject),
            ..change(true)
        };
        let facts = Facts {
            scope: Scope::Resource,
            entitlement: live,
            desired: wanted.map(|wanted| DesiredFact {
                wanted,
                principal_name: Some("data".to_owned()),
                line: Some(9),
            }),
            ..Facts::default()
        };
        DesiredAssignments.evaluate(cx(&DesiredAssignments, &c, &facts, &policy))
    }

    #[test]
    fn an_undeclared_entitlement_is_deleted_a_missing_one_created_when_the_file_governs_them() {
        let live = entitlement(Some("ent-1"));
        let Verdict::Fail(extra) = judge_entitlement(Fact::Known(Some(live.clone())), Some(false)) else {
            panic!("extra should fail")
        };
        assert_eq!(extra.remediation, [Action::DeleteEntitlement(live.clone())]);
        assert_eq!(extra.resource, live.resource());
        assert!(
            extra
                .message
                .contains("GROUP data (g-data) may assume arn:aws:iam::111122223333:role/team/DataAnalyst")
        );
        assert!(
            extra.message.contains("does not declare it (extra"),
            "{}",
            extra.message
        );

        let Verdict::Fail(missing) = judge_entitlement(Fact::Known(None), Some(true)) else {
            panic!("missing should fail")
        };
        assert_eq!(missing.remediation, [Action::CreateEntitlement(entitlement(None))]);
        assert!(missing.message.contains("declares (line 9)"), "{}", missing.message);
        assert!(!missing.remediation.iter().any(Action::is_destructive));

        assert_eq!(judge_entitlement(Fact::Known(Some(live)), Some(true)), Verdict::Pass);
        assert_eq!(judge_entitlement(Fact::Known(None), Some(false)), Verdict::Pass);
        assert!(matches!(
            judge_entitlement(Fact::Unknown, Some(true)),
            Verdict::Undetermined(Missing {
                fact: MissingFact::EntitlementState,
                ..
            })
        ));
        // A file that does not govern entitlements (and the event path): not applicable.
        assert_eq!(
            judge_entitlement(Fact::Known(Some(entitlement(Some("ent-1")))), None),
            Verdict::NotApplicable
        );
    }
}
