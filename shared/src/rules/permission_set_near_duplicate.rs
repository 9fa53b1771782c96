//! `permission-set-near-duplicate`: no permission set is a near-copy of another.
//!
//! The clusters are instance-wide, so `crate::hygiene` computes them once per reconciler run with
//! this rule's `threshold` and hands each member its cluster
//! ([`Facts::hygiene`](crate::domain::Facts::hygiene)); for events and offline checks the rule
//! does not apply.

use super::permission_set_orphaned::{HYGIENE_READS, concerns_hygiene};
use super::{Context, Doc, Missing, PERMISSION_SET_READS, Rule, Runs, Subject, Verdict, Violation};
use crate::domain::{ChangeKind, Fact, MissingFact, RuleId, Scope, Severity};
use crate::spanned::{Reader, Table, Value};

/// The rule's id.
pub const ID: RuleId = RuleId::new("permission-set-near-duplicate");

/// Flags a permission set whose content is at least `threshold` similar to another set's.
///
/// Why: near-copies (one per team, per environment) drift apart because nobody edits them all
/// consistently; the guide's audit found three of forty copies still granting `iam:*` and nobody
/// could prove the others clean without reading forty policies. Severity medium: a copy that
/// drifted is where an unreviewed grant hides.
/// Fix: merge them. When they differ only in team-like values (the team's name in resource ARNs),
/// one set using `${aws:PrincipalTag/<attribute>}` (ABAC) replaces them all; the finding says so.
#[derive(Debug, Clone, Copy)]
pub struct PermissionSetNearDuplicate;

/// The threshold when the policy says nothing.
pub const DEFAULT_THRESHOLD: f64 = 0.9;

/// `[rules.permission-set-near-duplicate]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The Jaccard similarity (of the sets' normalised content) at which two sets are linked,
    /// in (0, 1].
    pub threshold: f64,
    /// The smallest cluster reported (at least 2).
    pub min_cluster: usize,
}

/// At most this many members and differences are named in a message.
const NAMED: usize = 8;

fn some(items: &[String], what: &str) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let shown: Vec<&str> = items.iter().take(NAMED).map(String::as_str).collect();
    let more = items.len().saturating_sub(NAMED);
    Some(format!(
        "{what} {}{}",
        shown.join("; "),
        if more > 0 {
            format!(" (and {more} more)")
        } else {
            String::new()
        }
    ))
}

/// A number as TOML wrote it (an integer or a float).
fn number(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<f64> {
    use toml::de::DeValue;
    let text = match value.get_ref() {
        DeValue::Float(f) => f.as_str().to_owned(),
        DeValue::Integer(i) => i.as_str().to_owned(),
        other => {
            r.problem(
                value.span(),
                path,
                format!("expected a number, found {}", other.type_str()),
            );
            return None;
        }
    };
    match text.replace('_', "").parse::<f64>() {
        Ok(n) => Some(n),
        Err(_) => {
            r.problem(value.span(), path, format!("{text:?} is not a decimal number"));
            None
        }
    }
}

impl Rule for PermissionSetNearDuplicate {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "No permission set is a near-copy of another (content similarity below the threshold, default 0.9)",
        severity: Severity::Medium,
        mode: None,
        runs: Runs::Reconciler,
        why: "Near-copies of a set drift apart because nobody edits them all; a copy that drifted is where an unreviewed grant hides.",
        correction: "none: reported only, with the cluster's differences and, when they differ only in team-like values, how one ABAC set replaces them (the reconciler and `scan` only)",
        actions: &[HYGIENE_READS, PERMISSION_SET_READS],
    };

    const KEYS: &'static [&'static str] = &["threshold", "min_cluster"];

    const SCHEMA: &'static str = r#"{
        "threshold": { "type": "number", "description": "Jaccard similarity of two sets' normalised content at which they are near-duplicates", "exclusiveMinimum": 0, "maximum": 1, "examples": [0.9] },
        "min_cluster": { "type": "integer", "description": "the smallest cluster reported", "minimum": 2, "examples": [2] }
    }"#;

    fn defaults(&self) -> Settings {
        Settings {
            threshold: DEFAULT_THRESHOLD,
            min_cluster: 2,
        }
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, d: &Settings) -> Option<Settings> {
        let threshold = match t.take("threshold") {
            None => Some(d.threshold),
            Some(v) => {
                let path = t.child("threshold");
                match number(r, v, &path) {
                    Some(n) if n > 0.0 && n <= 1.0 => Some(n),
                    Some(n) => {
                        r.problem(
                            v.span(),
                            &path,
                            format!("{n} is not in (0, 1]: give a similarity such as 0.9"),
                        );
                        None
                    }
                    None => None,
                }
            }
        };
        let min_cluster = match t.take("min_cluster") {
            None => Some(d.min_cluster),
            Some(v) => {
                let path = t.child("min_cluster");
                match number(r, v, &path) {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    Some(n) if n >= 2.0 && n.fract() == 0.0 && n <= 1e6 => Some(n as usize),
                    Some(n) => {
                        r.problem(v.span(), &path, format!("{n} is not a whole number of 2 or more"));
                        None
                    }
                    None => None,
                }
            }
        };
        Some(Settings {
            threshold: threshold?,
            min_cluster: min_cluster?,
        })
    }

    fn explain(&self, settings: &Settings) -> Vec<String> {
        vec![format!(
            "sets whose normalised content is at least {} similar (Jaccard) are linked; clusters of {} or more are reported",
            settings.threshold, settings.min_cluster
        )]
    }

    fn concerns(&self, change: &ChangeKind, scope: Scope) -> bool {
        concerns_hygiene(change, scope)
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let (Some(hygiene), Some(subject)) = (&cx.facts.hygiene, Subject::of(&cx)) else {
            return Verdict::NotApplicable;
        };
        let cluster = match &hygiene.near_duplicates {
            Fact::Known(None) => return Verdict::Pass,
            Fact::Known(Some(c)) => c,
            Fact::Unknown => {
                return Verdict::Undetermined(Missing {
                    fact: MissingFact::PermissionSetDefinition,
                    detail: "the set's definition could not be read, so it was not compared".to_owned(),
                });
            }
        };
        if cluster.members.len() < cx.settings.min_cluster {
            return Verdict::Pass;
        }
        let permille = |p: u16| format!("{}.{:03}", p / 1000, p % 1000);
        let others = some(&cluster.members, "members:").unwrap_or_default();
        let diff: Vec<String> = [some(&cluster.adds, "it adds"), some(&cluster.lacks, "it lacks")]
            .into_iter()
            .flatten()
            .collect();
        let diff = if diff.is_empty() {
            format!(
                "It has the {} features every member has and nothing else.",
                cluster.common
            )
        } else {
            format!(
                "Beside the {} features every member has, {}.",
                cluster.common,
                diff.join("; ")
            )
        };
        let advice = cluster
            .hint
            .clone()
            .unwrap_or_else(|| "merge them into one set, or make their differences deliberate and reviewed".to_owned());
        Verdict::Fail(Violation {
            message: format!(
                "Permission set {} nearly duplicates {} (similarity {}, threshold {}): near-duplicate cluster {} of {} \
                 sets ({others}). {diff} Near-copies drift apart unreviewed: {advice} (idc-guard only reports this).",
                subject.label(),
                cluster.nearest.0,
                permille(cluster.nearest.1),
                permille(cluster.threshold_permille),
                cluster.number,
                cluster.members.len(),
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
    use crate::domain::facts::{DuplicateCluster, HygieneFact};
    use crate::policy::Policy;

    fn cluster(size: usize, hint: Option<&str>) -> DuplicateCluster {
        DuplicateCluster {
            number: 1,
            members: (0..size).map(|i| format!("Team{i}-Prod")).collect(),
            threshold_permille: 900,
            nearest: ("Team1-Prod".to_owned(), 950),
            common: 4,
            adds: vec!["statement Allow Action [s3:*] Resource [arn:aws:s3:::team0-prod-*]".to_owned()],
            lacks: Vec::new(),
            hint: hint.map(str::to_owned),
        }
    }

    fn facts(change: &crate::domain::Change, near: Fact<Option<DuplicateCluster>>) -> Facts {
        let mut facts = facts_for(change);
        facts.scope = Scope::Resource;
        if let Some(ps) = facts.permission_set.as_mut() {
            ps.name = Fact::Known("Team0-Prod".to_owned());
        }
        facts.hygiene = Some(HygieneFact {
            assigned: Fact::Known(true),
            provisioned_unassigned: Fact::Known(Vec::new()),
            provisioned_undetermined: Vec::new(),
            near_duplicates: near,
        });
        facts
    }

    #[test]
    fn cluster_members_fail_others_pass_unread_sets_are_undetermined() {
        let change = permission_set_updated(None);
        let cases = [
            (Fact::Known(Some(cluster(3, None))), Expect::Fail),
            (Fact::Known(None), Expect::Pass),
            (Fact::Unknown, Expect::Undetermined),
        ];
        for (near, expected) in cases {
            check(
                &PermissionSetNearDuplicate,
                &change,
                &facts(&change, near),
                &policy(),
                expected,
            );
        }
        check(
            &PermissionSetNearDuplicate,
            &change,
            &facts_for(&change),
            &policy(),
            Expect::NotApplicable,
        );
    }

    #[test]
    fn the_message_carries_the_diff_and_the_hint() {
        let change = permission_set_updated(None);
        let f = facts(
            &change,
            Fact::Known(Some(cluster(3, Some("one ABAC set can replace all 3")))),
        );
        let Verdict::Fail(v) =
            PermissionSetNearDuplicate.evaluate(cx(&PermissionSetNearDuplicate, &change, &f, &policy()))
        else {
            panic!()
        };
        for part in [
            "Team0-Prod nearly duplicates Team1-Prod",
            "similarity 0.950, threshold 0.900",
            "cluster 1 of 3 sets",
            "it adds statement Allow",
            "one ABAC set can replace all 3",
        ] {
            assert!(v.message.contains(part), "{part}: {}", v.message);
        }
        assert!(v.remediation.is_empty());
    }

    #[test]
    fn min_cluster_leaves_small_clusters_alone() {
        let change = permission_set_updated(None);
        let mut p = policy();
        p.rules
            .settings_mut::<PermissionSetNearDuplicate>()
            .unwrap()
            .min_cluster = 4;
        let f = facts(&change, Fact::Known(Some(cluster(3, None))));
        check(&PermissionSetNearDuplicate, &change, &f, &p, Expect::Pass);
    }

    #[test]
    fn settings_are_read_and_validated() {
        let read = |body: &str| {
            Policy::from_toml(
                "guardrail.toml",
                &format!("mode = \"detect\"\n[rules.permission-set-near-duplicate]\n{body}\n"),
            )
        };
        let cases = [
            ("threshold = 0.8", Some((0.8, 2))),
            ("threshold = 1", Some((1.0, 2))),
            ("threshold = 0.75\nmin_cluster = 5", Some((0.75, 5))),
            ("", Some((0.9, 2))),
            ("threshold = 0", None),
            ("threshold = 1.5", None),
            ("threshold = -0.1", None),
            ("threshold = \"high\"", None),
            ("min_cluster = 1", None),
            ("min_cluster = 2.5", None),
        ];
        for (body, expected) in cases {
            let read = read(body);
            let got = read.as_ref().ok().map(|p| {
                let s = p.rules.settings::<PermissionSetNearDuplicate>().unwrap().clone();
                (s.threshold, s.min_cluster)
            });
            assert_eq!(got, expected, "{body}: {:?}", read.err().map(|e| e.to_string()));
        }
        let err = read("threshold = 1.5").unwrap_err().to_string();
        assert!(err.contains("rules.permission-set-near-duplicate.threshold"), "{err}");
    }
}
