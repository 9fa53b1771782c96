//! `dormant-access`: an assignment nobody has used for N days is access to revoke (issue #17).
//!
//! The fact is the assignment's use ([`Facts::usage`](crate::domain::Facts::usage)): its user's
//! last use (USER) or its members' (GROUP), from CloudTrail's `GetRoleCredentials` and `Federate`
//! records, as the usage recorder keeps them in the state table or `idc-guard usage` reads them
//! from log files. Only the reconciler and `scan` supply it; for events and offline checks the
//! rule does not apply.

use super::scim_sync_failing::read_count;
use super::{Context, Doc, Missing, Rule, Runs, Verdict, Violation};
use crate::domain::time::utc;
use crate::domain::{
    Action, AssignmentUsage, ChangeKind, Dormancy, Fact, MissingFact, Removal, Resource, ResourceKind, RuleId, Scope,
    Severity,
};
use crate::spanned::{Reader, Table};

/// The rule's id.
pub const ID: RuleId = RuleId::new("dormant-access");

/// The longest window a policy may set, in days (the usage recorder keeps a last use longer).
pub const MAX_DAYS: u64 = 365;

/// Flags an account assignment nobody has used for `days` days (`privileged_days` for the
/// policy's privileged permission sets): for a USER assignment its user, for a GROUP assignment
/// any member.
///
/// Why: access nobody uses is pure risk; the guide calls last use "the single most valuable
/// signal" for recertification, and privileged access that sits idle is the first to revoke.
/// Fix: remove the assignment, or (if it is needed rarely, e.g. break-glass) add a time-limited
/// exception. Without usage data, or before a whole window has been observed (since the usage
/// recorder started, or since the reconciler first saw the assignment), the verdict is
/// undetermined: nothing is ever "dormant" for lack of data.
#[derive(Debug, Clone, Copy)]
pub struct DormantAccess;

/// `[rules.dormant-access]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Days without a use that make an assignment dormant.
    pub days: u32,
    /// The same, for the policy's privileged permission sets (shorter).
    pub privileged_days: u32,
}

impl Settings {
    /// The shipped defaults: 90 days, 30 for privileged sets.
    pub const fn baseline() -> Self {
        Self {
            days: 90,
            privileged_days: 30,
        }
    }

    /// The window for a set, privileged or not.
    pub fn window(&self, privileged: bool) -> u32 {
        if privileged { self.privileged_days } else { self.days }
    }
}

impl Rule for DormantAccess {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "Every account assignment was used within the last N days (shorter for privileged sets)",
        severity: Severity::Medium,
        mode: Some(crate::domain::Mode::Detect),
        runs: Runs::Reconciler,
        why: "Access nobody uses is pure risk: idle privileged access is the first thing to revoke, and last use is the review's best signal.",
        correction: "delete the assignment (enforce, and only if the desired-assignments file does not list it); revoke the role sessions it issued (the reconciler and `scan` only)",
        actions: &[
            &[
                "sso:ListAccountAssignments",
                "sso:DeleteAccountAssignment",
                "sso:DescribeAccountAssignmentDeletionStatus",
                "identitystore:ListGroupMemberships",
                "dynamodb:Query",
                "dynamodb:GetItem",
                "dynamodb:BatchWriteItem",
            ],
            super::REVOCATION,
        ],
    };

    const KEYS: &'static [&'static str] = &["days", "privileged_days"];

    const SCHEMA: &'static str = r#"{
        "days": { "type": "integer", "minimum": 1, "maximum": 365, "default": 90, "description": "days without a use that make an assignment dormant" },
        "privileged_days": { "type": "integer", "minimum": 1, "maximum": 365, "default": 30, "description": "the same for the privileged permission sets" }
    }"#;

    fn defaults(&self) -> Settings {
        Settings::baseline()
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, d: &Settings) -> Option<Settings> {
        let mut days_of = |key: &'static str, default: u32| {
            t.take(key).map_or(Some(default), |v| {
                read_count(r, v, &t.child(key), 1..=MAX_DAYS).and_then(|n| u32::try_from(n).ok())
            })
        };
        let days = days_of("days", d.days);
        let privileged_days = days_of("privileged_days", d.privileged_days);
        Some(Settings {
            days: days?,
            privileged_days: privileged_days?,
        })
    }

    fn explain(&self, s: &Settings) -> Vec<String> {
        vec![format!(
            "an assignment unused for {} days is dormant ({} days for privileged permission sets)",
            s.days, s.privileged_days
        )]
    }

    fn concerns(&self, change: &ChangeKind, scope: Scope) -> bool {
        scope == Scope::Resource && matches!(change, ChangeKind::AssignmentCreated(_))
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let (ChangeKind::AssignmentCreated(a), Some(usage)) = (&cx.change.kind, &cx.facts.usage) else {
            return Verdict::NotApplicable;
        };
        let (Fact::Known(usage), Some(now)) = (usage, cx.facts.as_of) else {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::Usage,
                detail: "who used the assignment and when (no usage data: deploy the usage recorder, or give \
                         `idc-guard usage` the trail's log files; or a group's members or the set's name could \
                         not be read)"
                    .to_owned(),
            });
        };
        let Some(set) = cx.facts.permission_set_name() else {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::PermissionSetName,
                detail: "the permission set's name (uses name the set)".to_owned(),
            });
        };
        let privileged = cx.baseline.is_privileged(set);
        let window = cx.settings.window(privileged);
        match usage.dormancy(window, now) {
            Dormancy::Active => Verdict::Pass,
            Dormancy::NotYetObserved => Verdict::Undetermined(Missing {
                fact: MissingFact::Usage,
                detail: format!(
                    "uses of it have been observed only since {}, less than the {window}-day window",
                    utc(usage.observed_since)
                ),
            }),
            Dormancy::Dormant => {
                let names = cx.facts.principal.known().cloned().flatten();
                let who = match &names {
                    Some(n) => format!("{} {n} ({})", a.principal_type, a.principal_id),
                    None => format!("{} {}", a.principal_type, a.principal_id),
                };
                let listed = cx.facts.desired.as_ref().is_some_and(|d| d.wanted);
                let removal = (!listed).then(|| {
                    std::iter::once(Action::DeleteAccountAssignment(a.clone()))
                        .chain(
                            cx.baseline
                                .revoke_sessions(Some(a.instance_arn.clone()), Removal::Assignment(a.clone())),
                        )
                        .collect::<Vec<_>>()
                });
                let message = format!(
                    "{who}'s assignment of {set} in account {} is dormant: {} (window {window} days{}). {}",
                    a.account_id,
                    last_use_text(usage),
                    if privileged { ", privileged set" } else { "" },
                    match (&removal, cx.mode) {
                        (None, _) => "The desired-assignments file lists it, so idc-guard only reports it: \
                                      remove it there if it is no longer needed."
                            .to_owned(),
                        (Some(_), crate::domain::Mode::Enforce) => {
                            "idc-guard removes it and revokes the sessions it issued.".to_owned()
                        }
                        (Some(_), mode) => format!(
                            "Remove it if it is no longer needed (idc-guard only reports it: the rule is in {mode} mode)."
                        ),
                    }
                );
                let mut resource = Resource::new(ResourceKind::AccountAssignment, a.resource_id());
                resource.permission_set_arn = Some(a.permission_set_arn.to_string());
                resource.permission_set_name = Some(set.to_owned());
                resource.account_id = Some(a.account_id.to_string());
                resource.principal_id = Some(a.principal_id.clone());
                resource.principal_name = names.map(|n| n.to_string());
                Verdict::Fail(Violation {
                    message,
                    resource,
                    remediation: removal.unwrap_or_default(),
                })
            }
        }
    }
}

/// The last use, and who used it, in words.
fn last_use_text(usage: &AssignmentUsage) -> String {
    match &usage.last {
        Some(last) => format!(
            "last used {} by {} ({}; {} user(s) used it since {})",
            utc(last.at),
            last.who(),
            last.channel,
            usage.users,
            utc(usage.observed_since)
        ),
        None => format!("never used since {}", utc(usage.observed_since)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::domain::usage::DAY;
    use crate::domain::{AssignmentUse, Channel, DesiredFact, Facts, Mode, PrincipalType};

    const NOW: u64 = 1_000 * DAY;

    fn usage(last_days_ago: Option<u64>, observed_days: u64) -> AssignmentUsage {
        AssignmentUsage {
            last: last_days_ago.map(|d| AssignmentUse {
                at: NOW - d * DAY,
                user_id: "u-1".to_owned(),
                user_name: Some("alice".to_owned()),
                channel: Channel::Credentials,
            }),
            users: usize::from(last_days_ago.is_some()),
            observed_since: NOW - observed_days * DAY,
        }
    }

    /// The reconciler's view of an assignment of the test set (named per `set`).
    fn facts(change: &crate::domain::Change, set: &str, u: Option<Fact<AssignmentUsage>>) -> Facts {
        let mut facts = facts_for(change);
        facts.scope = Scope::Resource;
        if let Some(ps) = facts.permission_set.as_mut() {
            ps.name = Fact::Known(set.to_owned());
        }
        facts.usage = u;
        facts.as_of = Some(NOW);
        facts
    }

    #[test]
    fn group_user_and_no_data_cases() {
        for principal in [PrincipalType::Group, PrincipalType::User] {
            let change = assignment_created(principal);
            let cases = [
                // Used 10 days ago: active.
                (Some(Fact::Known(usage(Some(10), 400))), Expect::Pass),
                // Last used 120 days ago, observed 400: dormant.
                (Some(Fact::Known(usage(Some(120), 400))), Expect::Fail),
                // Never used, observed for the whole window: dormant.
                (Some(Fact::Known(usage(None, 90))), Expect::Fail),
                // Never used, but observed only 20 days (recording or the assignment is new).
                (Some(Fact::Known(usage(None, 20))), Expect::Undetermined),
                // No usage data: undetermined, never dormant.
                (Some(Fact::Unknown), Expect::Undetermined),
                // Events and offline checks: the rule does not apply.
                (None, Expect::NotApplicable),
            ];
            for (u, expected) in cases {
                check(
                    &DormantAccess,
                    &change,
                    &facts(&change, "ReadOnly", u),
                    &policy(),
                    expected,
                );
            }
        }
    }

    #[test]
    fn privileged_sets_have_the_shorter_window() {
        let change = assignment_created(PrincipalType::Group);
        let used_45_days_ago = Some(Fact::Known(usage(Some(45), 400)));
        // 45 days is within 90 for an ordinary set, beyond 30 for an admin set.
        check(
            &DormantAccess,
            &change,
            &facts(&change, "ReadOnly", used_45_days_ago.clone()),
            &policy(),
            Expect::Pass,
        );
        check(
            &DormantAccess,
            &change,
            &facts(&change, "AdministratorAccess", used_45_days_ago),
            &policy(),
            Expect::Fail,
        );
    }

    #[test]
    fn the_finding_names_the_last_use_and_who_and_plans_removal_only_when_unlisted() {
        let change = assignment_created(PrincipalType::Group);
        let mut f = facts(&change, "ReadOnly", Some(Fact::Known(usage(Some(120), 400))));
        let mut p = policy();
        p.rules.common_mut(ID).unwrap().mode = Some(Mode::Enforce);
        let Verdict::Fail(v) = DormantAccess.evaluate(cx(&DormantAccess, &change, &f, &p)) else {
            panic!()
        };
        assert!(v.message.contains("alice"), "{}", v.message);
        assert!(v.message.contains(&utc(NOW - 120 * DAY)), "{}", v.message);
        assert!(matches!(
            &v.remediation[..],
            [Action::DeleteAccountAssignment(_), Action::RevokeSessions { .. }]
        ));
        // Listed in the desired file: reported, never removed.
        f.desired = Some(DesiredFact {
            wanted: true,
            principal_name: None,
            line: Some(7),
        });
        let Verdict::Fail(v) = DormantAccess.evaluate(cx(&DormantAccess, &change, &f, &p)) else {
            panic!()
        };
        assert!(v.remediation.is_empty(), "{:?}", v.remediation);
        assert!(v.message.contains("desired-assignments file lists it"), "{}", v.message);
    }
}
