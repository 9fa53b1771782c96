//! `session-duration-cap`: session durations match the blast radius.

use super::{
    Baseline, Context, Doc, Missing, PERMISSION_SET_READS, PROVISIONING, Rule, Runs, Subject, Verdict, Violation,
    concerns_permission_set, name_unknown,
};
use crate::domain::{
    Action, ChangeKind, Fact, Keep, MissingFact, NamePattern, PermissionSetOp, RuleId, Scope, SessionDuration, Severity,
};
use crate::spanned::{Reader, Table, Value};

/// The rule's id.
pub const ID: RuleId = RuleId::new("session-duration-cap");

/// Flags a permission set whose session duration exceeds the cap for its name.
///
/// Why: a stolen session is useful for as long as it lasts; privileged sets get the shortest.
/// Fix: lower the duration (idc-guard sets the cap, keeping description and relay state).
#[derive(Debug, Clone, Copy)]
pub struct SessionDurationCap;

/// `[rules.session-duration-cap]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The cap for every set no other limit names.
    pub max: SessionDuration,
    /// The cap for privileged sets.
    pub privileged_max: SessionDuration,
    /// Further limits, the first match wins (checked before `privileged_max`).
    pub limits: Vec<DurationLimit>,
}

/// The keys of one `limits` entry.
const LIMIT_KEYS: &[&str] = &["permission_sets", "max"];

/// A session-duration limit for some permission sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationLimit {
    /// The sets it applies to.
    pub permission_sets: Vec<NamePattern>,
    /// Their maximum.
    pub max: SessionDuration,
}

/// The cap for a permission set name.
fn cap_for<'p>(settings: &'p Settings, baseline: Baseline<'_>, name: &str) -> &'p SessionDuration {
    if let Some(limit) = settings
        .limits
        .iter()
        .find(|l| l.permission_sets.iter().any(|p| p.matches(name)))
    {
        return &limit.max;
    }
    if baseline.is_privileged(name) {
        &settings.privileged_max
    } else {
        &settings.max
    }
}

/// Every cap some name could get.
fn all_caps(s: &Settings) -> impl Iterator<Item = &SessionDuration> {
    [&s.max, &s.privileged_max]
        .into_iter()
        .chain(s.limits.iter().map(|l| &l.max))
}

/// A duration within Identity Center's range (PT1H to PT12H).
fn read_duration(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<SessionDuration> {
    let s = r.string(value, path)?;
    match SessionDuration::parse(&s) {
        Some(d) if (3600..=43_200).contains(&d.seconds()) => Some(d),
        Some(_) => {
            r.problem(
                value.span(),
                path,
                format!("{s:?} is outside Identity Center's range of PT1H to PT12H"),
            );
            None
        }
        None => {
            r.problem(
                value.span(),
                path,
                format!("{s:?} is not an ISO 8601 duration such as \"PT8H\""),
            );
            None
        }
    }
}

fn read_limits(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Vec<DurationLimit> {
    let mut limits = Vec::new();
    let Some(items) = r.array(value, path) else {
        return limits;
    };
    for (i, item) in items.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        if let Some(mut lt) = r.table(item, &ipath, LIMIT_KEYS) {
            let sets = lt
                .require(r, "permission_sets", "")
                .and_then(|v| r.name_patterns(v, &format!("{ipath}.permission_sets")));
            let max = lt
                .require(r, "max", "")
                .and_then(|v| read_duration(r, v, &format!("{ipath}.max")));
            lt.finish(r);
            if let (Some(permission_sets), Some(max)) = (sets, max) {
                limits.push(DurationLimit { permission_sets, max });
            }
        }
    }
    limits
}

fn hours(text: &str) -> SessionDuration {
    SessionDuration::parse(text).unwrap_or_else(SessionDuration::default_for_new_permission_set)
}

impl Rule for SessionDurationCap {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "Session durations stay within the cap for the permission set (PT1H for privileged sets)",
        severity: Severity::Medium,
        mode: None,
        runs: Runs::Everywhere,
        why: "Long sessions keep stolen or forgotten credentials valid for longer; privileged sets get the shortest.",
        correction: "update the duration keeping description and relay state; re-provision",
        actions: &[PERMISSION_SET_READS, &["sso:UpdatePermissionSet"], PROVISIONING],
    };

    const KEYS: &'static [&'static str] = &["max", "privileged_max", "limits"];

    const SCHEMA: &'static str = r#"{
        "max": { "type": "string", "description": "cap for every other permission set", "pattern": "^P(\\d+D)?(T(\\d+H)?(\\d+M)?(\\d+S)?)?$", "examples": ["PT1H", "PT8H"] },
        "privileged_max": { "type": "string", "description": "cap for privileged permission sets", "pattern": "^P(\\d+D)?(T(\\d+H)?(\\d+M)?(\\d+S)?)?$", "examples": ["PT1H", "PT8H"] },
        "limits": { "type": "array", "items": { "type": "object", "additionalProperties": false, "required": ["permission_sets", "max"],
            "properties": {
                "permission_sets": { "type": "array", "description": "sets this limit applies to", "items": { "type": "string", "pattern": "^[\\w+=,.@*-]+$" } },
                "max": { "type": "string", "description": "their cap", "pattern": "^P(\\d+D)?(T(\\d+H)?(\\d+M)?(\\d+S)?)?$", "examples": ["PT1H", "PT8H"] } } } }
    }"#;

    fn defaults(&self) -> Settings {
        Settings {
            max: hours("PT8H"),
            privileged_max: hours("PT1H"),
            limits: Vec::new(),
        }
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, d: &Settings) -> Option<Settings> {
        let max = t
            .take("max")
            .map_or(Some(d.max.clone()), |v| read_duration(r, v, &t.child("max")));
        let privileged_max = t.take("privileged_max").map_or(Some(d.privileged_max.clone()), |v| {
            read_duration(r, v, &t.child("privileged_max"))
        });
        let limits = t
            .take("limits")
            .map(|v| read_limits(r, v, &t.child("limits")))
            .unwrap_or_else(|| d.limits.clone());
        Some(Settings {
            max: max?,
            privileged_max: privileged_max?,
            limits,
        })
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

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
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
                let cap = cap_for(cx.settings, cx.baseline, name);
                if duration.seconds() <= cap.seconds() {
                    return Verdict::Pass;
                }
                (cap, format!("the cap for {name} is {cap}"))
            }
            None => {
                // Without the name the cap is one of several: decide only when every cap agrees.
                let smallest = all_caps(cx.settings).min_by_key(|c| c.seconds());
                let largest = all_caps(cx.settings).max_by_key(|c| c.seconds());
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
                cx.what_idc_guard_does(&format!("sets {cap} and re-provisions"))
            ),
            resource: subject.resource(),
            remediation: vec![
                Action::UpdateSessionDuration {
                    instance_arn: subject.instance.clone(),
                    permission_set_arn: ps.arn.clone(),
                    session_duration: cap.clone(),
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

    #[test]
    fn the_schema_of_a_limit_lists_the_keys_read() {
        let schema: serde_json::Value = serde_json::from_str(SessionDurationCap::SCHEMA).unwrap();
        let mut keys: Vec<&str> = schema["limits"]["items"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut expected = LIMIT_KEYS.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected);
    }

    #[test]
    fn created_sets_are_judged_by_their_name() {
        let cases = [
            ("DataEngineer", "PT8H", Expect::Pass),
            ("DataEngineer", "PT9H", Expect::Fail),
            ("DataEngineer", "PT12H", Expect::Fail),
            ("PlatformAdmin", "PT1H", Expect::Pass),
            ("PlatformAdmin", "PT2H", Expect::Fail),
            // The privileged cap whatever the casing (name patterns ignore ASCII case).
            ("platformadmin", "PT2H", Expect::Fail),
            ("PLATFORMADMIN", "PT1H", Expect::Pass),
            // A different spelling is not privileged: the default cap.
            ("PlatformAdm1n", "PT2H", Expect::Pass),
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
        let Verdict::Fail(v) =
            SessionDurationCap.evaluate(cx(&SessionDurationCap, &change, &facts_for(&change), &policy()))
        else {
            panic!()
        };
        match &v.remediation[0] {
            Action::UpdateSessionDuration {
                session_duration,
                description,
                relay_state,
                ..
            } => {
                assert_eq!(session_duration.as_str(), "PT8H");
                assert_eq!(description, &Keep::Value(Some("test set".to_owned())));
                assert_eq!(relay_state, &Keep::Value(None));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(v.remediation[1], Action::ProvisionPermissionSet { .. }));
        let unnamed = permission_set_updated(Some("PT12H"));
        let Verdict::Fail(v) =
            SessionDurationCap.evaluate(cx(&SessionDurationCap, &unnamed, &facts_for(&unnamed), &policy()))
        else {
            panic!()
        };
        assert!(
            matches!(&v.remediation[0], Action::UpdateSessionDuration { description: Keep::Current, session_duration, .. } if session_duration.as_str() == "PT1H")
        );
    }

    #[test]
    fn named_limits_win_over_the_privileged_and_default_caps() {
        let mut p = policy();
        p.rules
            .settings_mut::<SessionDurationCap>()
            .unwrap()
            .limits
            .push(DurationLimit {
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
