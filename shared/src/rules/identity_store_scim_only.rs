//! `identity-store-scim-only`: users, groups and memberships come only from SCIM.

use super::{Context, Doc, Missing, REVOCATION, Rule, Runs, Verdict, Violation};
use crate::domain::{
    Action, Actor, ChangeKind, EventSource, Fact, IdentityOp, MissingFact, Mode, Removal, Resource, ResourceKind,
    RuleId, Scope, Severity,
};

/// The rule's id.
pub const ID: RuleId = RuleId::new("identity-store-scim-only");

/// Flags a write to the identity store by anyone but SCIM provisioning.
///
/// Why: the IdP is the source of truth; a user or membership made by hand in AWS bypasses
/// joiner/mover/leaver processing and is overwritten, or worse survives, the next sync.
/// Fix: make the change in the IdP. A membership added by hand is removed in enforce mode.
#[derive(Debug, Clone, Copy)]
pub struct IdentityStoreScimOnly;

/// `[rules.identity-store-scim-only]`: mode and severity only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings;

impl Rule for IdentityStoreScimOnly {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "Users, groups and memberships are written only by SCIM provisioning from the IdP",
        severity: Severity::Medium,
        mode: Some(Mode::Detect),
        runs: Runs::Everywhere,
        why: "Hand-made users, groups and memberships drift from the IdP and survive offboarding.",
        correction: "delete a hand-made group membership (revoking the role sessions it gave); other writes are reported",
        actions: &[
            &[
                "identitystore:GetGroupMembershipId",
                "identitystore:DescribeGroupMembership",
                "identitystore:DeleteGroupMembership",
            ],
            REVOCATION,
        ],
    };

    fn defaults(&self) -> Settings {
        Settings
    }

    fn concerns(&self, change: &ChangeKind, _scope: Scope) -> bool {
        matches!(change, ChangeKind::Identity { .. })
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let ChangeKind::Identity { identity_store_id, op } = &cx.change.kind else {
            return Verdict::NotApplicable;
        };
        if cx.change.meta.source == Some(EventSource::Scim) || cx.change.actor == Actor::Scim {
            return Verdict::Pass;
        }
        // No CloudTrail source: an identity store notification (issue #19), which names neither
        // the caller nor the channel. Who made the change is unknown, which is neither SCIM nor a
        // hand-made change; the CloudTrail record of the same change, when it comes, decides.
        if cx.change.meta.source.is_none() && matches!(cx.change.actor, Actor::Unknown { .. }) {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::Actor,
                detail: format!(
                    "{} arrived as an identity store notification, which does not say who made it \
                     (SCIM or by hand); its CloudTrail record decides",
                    cx.change.meta.event_name
                ),
            });
        }
        // Level-driven: a hand-made membership that is already gone needs nothing.
        if matches!(op, IdentityOp::MemberAdded { .. }) && cx.facts.membership == Fact::Known(None) {
            return Verdict::Pass;
        }
        let mut resource = Resource::new(
            ResourceKind::IdentityStore,
            identity_store_id
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), ToString::to_string),
        );
        let remediation = match op {
            IdentityOp::MemberAdded {
                group_id,
                member_id,
                membership_id,
            } => {
                resource.principal_id = member_id.clone();
                // The user loses what the group gave them: its sessions go too.
                let revoke = match (identity_store_id, group_id, member_id) {
                    (Some(store), Some(group), Some(user)) => cx.baseline.revoke_sessions(
                        None,
                        Removal::Membership {
                            identity_store_id: store.clone(),
                            group_id: group.clone(),
                            user_id: user.clone(),
                        },
                    ),
                    _ => None,
                };
                std::iter::once(Action::DeleteGroupMembership {
                    identity_store_id: identity_store_id.clone(),
                    membership_id: cx
                        .facts
                        .membership
                        .known()
                        .cloned()
                        .flatten()
                        .or_else(|| membership_id.clone()),
                    group_id: group_id.clone(),
                    member_id: member_id.clone(),
                })
                .chain(revoke)
                .collect()
            }
            _ => Vec::new(),
        };
        let fix = if remediation.is_empty() {
            "make the change in the identity provider instead; idc-guard reports it and changes nothing".to_owned()
        } else {
            format!(
                "add the member in the identity provider instead; {}",
                cx.what_idc_guard_does("removes the hand-made membership")
            )
        };
        Verdict::Fail(Violation {
            message: format!(
                "{} made {} in the identity store outside SCIM. Users and groups come only from the IdP, \
                 so hand-made changes bypass joiner/mover/leaver processing; {fix}.",
                cx.change.actor, cx.change.meta.event_name
            ),
            resource,
            remediation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn writers_table() {
        let role = Actor::IamRole {
            role_arn: "arn:aws:iam::222222222222:role/ops".into(),
            role_name: "ops".into(),
            session: None,
        };
        let added = IdentityOp::MemberAdded {
            group_id: Some("g".into()),
            member_id: Some("u".into()),
            membership_id: None,
        };
        let cases = [
            (
                identity_change(EventSource::Scim, Actor::Scim, added.clone()),
                Expect::Pass,
            ),
            (
                identity_change(EventSource::IdentityStore, role.clone(), added),
                Expect::Fail,
            ),
            (
                identity_change(
                    EventSource::SsoDirectory,
                    role,
                    IdentityOp::UserCreated { user_id: None },
                ),
                Expect::Fail,
            ),
            (
                identity_change(
                    EventSource::Scim,
                    Actor::Unknown {
                        identity_type: "WebIdentityUser".into(),
                    },
                    IdentityOp::GroupPatched {
                        group_id: None,
                        removed: Vec::new(),
                    },
                ),
                Expect::Pass,
            ),
        ];
        for (change, expected) in cases {
            check(
                &IdentityStoreScimOnly,
                &change,
                &facts_for(&change),
                &policy(),
                expected,
            );
        }
    }

    #[test]
    fn a_notification_names_no_actor_so_it_is_undetermined_never_compliant() {
        let mut change = identity_change(
            EventSource::IdentityStore,
            Actor::Unknown {
                identity_type: "IdentityStoreNotification".into(),
            },
            IdentityOp::UserCreated {
                user_id: Some("u".into()),
            },
        );
        change.meta.source = None;
        change.meta.event_name = "User Created".into();
        check(
            &IdentityStoreScimOnly,
            &change,
            &facts_for(&change),
            &policy(),
            Expect::Undetermined,
        );
        // The same unknown actor in a CloudTrail record of the public API is judged as ever.
        change.meta.source = Some(EventSource::IdentityStore);
        check(
            &IdentityStoreScimOnly,
            &change,
            &facts_for(&change),
            &policy(),
            Expect::Fail,
        );
    }

    #[test]
    fn only_membership_additions_plan_a_revert() {
        let role = Actor::IamUser {
            arn: "arn:aws:iam::222222222222:user/x".into(),
            name: "x".into(),
        };
        let added = IdentityOp::MemberAdded {
            group_id: Some("g".into()),
            member_id: Some("u".into()),
            membership_id: Some("m".into()),
        };
        let change = identity_change(EventSource::IdentityStore, role.clone(), added);
        let Verdict::Fail(v) =
            IdentityStoreScimOnly.evaluate(cx(&IdentityStoreScimOnly, &change, &facts_for(&change), &policy()))
        else {
            panic!()
        };
        // The membership goes, then the sessions the group gave the user.
        assert!(matches!(
            &v.remediation[..],
            [
                Action::DeleteGroupMembership { membership_id: Some(m), .. },
                Action::RevokeSessions {
                    instance_arn: None,
                    removal: crate::domain::Removal::Membership { group_id, user_id, .. },
                    ..
                }
            ] if m == "m" && group_id == "g" && user_id == "u"
        ));
        let change = identity_change(
            EventSource::IdentityStore,
            role,
            IdentityOp::UserDeleted { user_id: None },
        );
        let Verdict::Fail(v) =
            IdentityStoreScimOnly.evaluate(cx(&IdentityStoreScimOnly, &change, &facts_for(&change), &policy()))
        else {
            panic!()
        };
        assert!(v.remediation.is_empty());
    }

    #[test]
    fn the_message_says_what_idc_guard_does_in_the_rules_mode() {
        let change = identity_change(
            EventSource::IdentityStore,
            Actor::IamUser {
                arn: "arn:aws:iam::222222222222:user/x".into(),
                name: "x".into(),
            },
            IdentityOp::MemberAdded {
                group_id: Some("g".into()),
                member_id: Some("u".into()),
                membership_id: Some("m".into()),
            },
        );
        let facts = facts_for(&change);
        let message = |policy: &crate::policy::Policy| match IdentityStoreScimOnly.evaluate(cx(
            &IdentityStoreScimOnly,
            &change,
            &facts,
            policy,
        )) {
            Verdict::Fail(v) => v.message,
            other => panic!("{other:?}"),
        };
        // The shipped baseline has this rule in detect mode.
        let detect = message(&crate::policy::Policy::default());
        assert!(
            detect.ends_with("idc-guard only reports it: the rule is in detect mode."),
            "{detect}"
        );
        let enforcing = crate::policy::Policy::from_toml(
            "enforce.toml",
            "mode = \"enforce\"\n[rules.identity-store-scim-only]\nmode = \"enforce\"\n",
        )
        .expect("a valid policy");
        let enforce = message(&enforcing);
        assert!(
            enforce.ends_with("idc-guard removes the hand-made membership."),
            "{enforce}"
        );
    }
}
