//! `session-duration-cap`: session durations match the blast radius.

use super::{Action, Context, Keep, Rule, RuleId, Subject, Verdict, Violation, concerns_permission_set, name_unknown};
use crate::facts::{Fact, Scope};
use crate::model::{ChangeKind, PermissionSetOp, SessionDuration};
use crate::pattern::any_matches;
use crate::policy::{Policy, Severity};
use crate::rules::{Missing, MissingFact};

/// Flags a permission set whose session duration exceeds the cap for its name.
///
/// Why: a stolen session is useful for as long as it lasts; privileged sets get the shortest.
/// Fix: lower the duration (idc-guard sets the cap, keeping description and relay state).
pub(super) struct SessionDurationCap;

/// The cap for a permission set name.
fn cap_for<'p>(policy: &'p Policy, name: &str) -> &'p SessionDuration {
    let s = &policy.rules.session_duration_cap;
    if let Some(limit) = s.limits.iter().find(|l| any_matches(&l.permission_sets, name)) {
        return &limit.max;
    }
    if policy.is_privileged(name) {
        &s.privileged_max
    } else {
        &s.max
    }
}

/// Every cap some name could get.
fn all_caps(policy: &Policy) -> impl Iterator<Item = &SessionDuration> {
    let s = &policy.rules.session_duration_cap;
    [&s.max, &s.privileged_max]
        .into_iter()
        .chain(s.limits.iter().map(|l| &l.max))
}

impl Rule for SessionDurationCap {
    fn id(&self) -> RuleId {
        RuleId::SessionDurationCap
    }

    fn summary(&self) -> &'static str {
        "Session durations stay within the cap for the permission set (PT1H for privileged sets)"
    }

    fn default_severity(&self) -> Severity {
        Severity::Medium
    }

    fn concerns(&self, change: &ChangeKind, scope: Scope) -> bool {
        concerns_permission_set(change, scope, |op| {
            matches!(
                op,
                PermissionSetOp::Created { .. }
                    | PermissionSetOp::Updated {
                        session_duration: Some(_),
                        ..
                    }
            )
        })
    }

    fn judge(&self, cx: Context<'_>) -> Verdict {
        let Some(subject) = Subject::of(&cx) else {
            return Verdict::NotApplicable;
        };
        let ps = subject.ps;
        let Some(duration) = ps.session_duration.known() else {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::SessionDuration,
                detail: "the permission set's session duration".to_owned(),
            });
        };
        let (cap, why) = match subject.name {
            Some(name) => {
                let cap = cap_for(cx.policy, name);
                if duration.seconds() <= cap.seconds() {
                    return Verdict::Pass;
                }
                (cap, format!("the cap for {name} is {cap}"))
            }
            None => {
                // Without the name the cap is one of several: decide only when every cap agrees.
                let smallest = all_caps(cx.policy).min_by_key(|c| c.seconds());
                let largest = all_caps(cx.policy).max_by_key(|c| c.seconds());
                let (Some(smallest), Some(largest)) = (smallest, largest) else {
                    return Verdict::Pass;
                };
                if duration.seconds() <= smallest.seconds() {
                    return Verdict::Pass;
                }
                if duration.seconds() <= largest.seconds() {
                    return name_unknown(&format!(
                        "the cap depends on the permission set's name: {duration} is within {largest} but over {smallest}"
                    ));
                }
                (
                    smallest,
                    format!("{duration} exceeds every configured cap (the largest is {largest})"),
                )
            }
        };
        let keep = |f: &Fact<Option<String>>| f.known().map_or(Keep::Current, |v| Keep::Value(v.clone()));
        Verdict::Fail(Violation {
            message: format!(
                "Session duration {duration} is too long: {why}. Long sessions keep stolen credentials useful; \
                 set the session duration to {cap} or less ({}).",
                cx.what_idc_guard_does(self.id(), &format!("sets {cap} and re-provisions"))
            ),
            resource: subject.resource(),
            remediation: vec![
                Action::UpdateSessionDuration {
                    instance_arn: subject.instance.to_string(),
                    permission_set_arn: ps.arn.to_string(),
                    session_duration: cap.to_string(),
                    description: keep(&ps.description),
                    relay_state: keep(&ps.relay_state),
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
    use crate::pattern::NamePattern;
    use crate::policy::DurationLimit;

    #[test]
    fn created_sets_are_judged_by_their_name() {
        let cases = [
            ("DataEngineer", "PT8H", Expect::Pass),
            ("DataEngineer", "PT9H", Expect::Fail),
            ("DataEngineer", "PT12H", Expect::Fail),
            ("PlatformAdmin", "PT1H", Expect::Pass),
            ("PlatformAdmin", "PT2H", Expect::Fail),
            ("BreakGlass", "PT90M", Expect::Fail),
            ("BreakGlassOrg", "PT1H", Expect::Pass),
        ];
        for (name, duration, expected) in cases {
            let change = permission_set_created(name, duration);
            check(&SessionDurationCap, &change, &facts_for(&change), &policy(), expected);
        }
    }

    #[test]
    fn updates_without_a_name_decide_only_when_every_cap_agrees() {
        let cases = [
            ("PT1H", Expect::Pass),
            ("PT30M", Expect::Pass),
            ("PT4H", Expect::Undetermined),
            ("PT8H", Expect::Undetermined),
            ("PT9H", Expect::Fail),
            ("PT12H", Expect::Fail),
        ];
        for (duration, expected) in cases {
            let change = permission_set_updated(Some(duration));
            check(&SessionDurationCap, &change, &facts_for(&change), &policy(), expected);
        }
    }

    #[test]
    fn the_fix_keeps_description_and_relay_state_and_reprovisions() {
        let change = permission_set_created("DataEngineer", "PT12H");
        let Verdict::Fail(v) = SessionDurationCap.evaluate(cx(&change, &facts_for(&change), &policy())) else {
            panic!()
        };
        match &v.remediation[0] {
            Action::UpdateSessionDuration {
                session_duration,
                description,
                relay_state,
                ..
            } => {
                assert_eq!(session_duration, "PT8H");
                assert_eq!(description, &Keep::Value(Some("test set".to_owned())));
                assert_eq!(relay_state, &Keep::Value(None));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(v.remediation[1], Action::ProvisionPermissionSet { .. }));
        let unnamed = permission_set_updated(Some("PT12H"));
        let Verdict::Fail(v) = SessionDurationCap.evaluate(cx(&unnamed, &facts_for(&unnamed), &policy())) else {
            panic!()
        };
        assert!(
            matches!(&v.remediation[0], Action::UpdateSessionDuration { description: Keep::Current, session_duration, .. } if session_duration == "PT1H")
        );
    }

    #[test]
    fn named_limits_win_over_the_privileged_and_default_caps() {
        let mut p = policy();
        p.rules.session_duration_cap.limits.push(DurationLimit {
            permission_sets: vec![NamePattern::new("Data*")],
            max: SessionDuration::parse("PT4H").unwrap(),
        });
        let change = permission_set_created("DataEngineer", "PT5H");
        check(&SessionDurationCap, &change, &facts_for(&change), &p, Expect::Fail);
        let change = permission_set_created("DataEngineer", "PT4H");
        check(&SessionDurationCap, &change, &facts_for(&change), &p, Expect::Pass);
    }

    #[test]
    fn updates_that_leave_the_duration_alone_are_not_applicable() {
        let change = permission_set_updated(None);
        check(
            &SessionDurationCap,
            &change,
            &facts_for(&change),
            &policy(),
            Expect::NotApplicable,
        );
    }
}
