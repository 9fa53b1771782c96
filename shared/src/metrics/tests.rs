//! The catalogue, the EMF lines, and what reports count.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use super::*;
use crate::domain::{
    Actor, EventMeta, EventSource, EventVerdict, Finding, Mode, Resource, ResourceKind, RevocationReport, Severity,
};

const AT: &str = "2026-11-27T10:00:00Z";
/// 90 seconds after `AT`, in milliseconds.
const NOW_MS: u64 = 1_795_773_690_000;

fn outcome(rule: crate::domain::RuleId, kind: OutcomeKind) -> Outcome {
    Outcome {
        event: EventMeta {
            event_id: "0b9a3c1e-1111-4222-8333-444455556666".to_owned(),
            shared_event_id: None,
            envelope_id: None,
            event_name: "UpdatePermissionSet".to_owned(),
            event_source: "sso.amazonaws.com".to_owned(),
            source: Some(EventSource::SsoAdmin),
            event_time: AT.to_owned(),
            region: "eu-west-1".to_owned(),
            account: "111111111111".to_owned(),
            request_id: None,
            console: true,
            operation: None,
        },
        actor: Actor::Scim,
        finding: Finding {
            rule,
            severity: Severity::Medium,
            mode: Mode::Enforce,
            message: "m".to_owned(),
            resource: Resource {
                kind: ResourceKind::PermissionSet,
                id: "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef".to_owned(),
                permission_set_name: None,
                permission_set_arn: None,
                account_id: None,
                principal_id: None,
                principal_name: None,
                role_arn: None,
            },
            remediation: Vec::new(),
            expired_exception: None,
        },
        kind,
        tagged_owner: None,
        calls: Vec::new(),
        revocations: Vec::new(),
    }
}

fn report(outcomes: Vec<Outcome>) -> GuardReport {
    GuardReport {
        event_id: "e".to_owned(),
        verdict: EventVerdict::Violation,
        reason: None,
        outcomes,
        undetermined: Vec::new(),
        triaged: false,
        coalesced_with: None,
    }
}

fn parsed(lines: &[String]) -> Vec<Value> {
    lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn the_catalogue_is_within_emf_limits_and_unambiguous() {
    let names: BTreeSet<&str> = METRICS.iter().map(|m| m.name).collect();
    assert_eq!(names.len(), METRICS.len(), "metric names are unique");
    for m in METRICS {
        assert!(m.dimensions.len() <= MAX_DIMENSIONS, "{}", m.name);
        let dims: BTreeSet<&&str> = m.dimensions.iter().collect();
        assert_eq!(dims.len(), m.dimensions.len(), "{}: dimensions are unique", m.name);
        for d in m.dimensions {
            // Dimensions and metrics are members of the same object.
            assert!(!names.contains(d) && *d != "_aws", "{}: dimension {d}", m.name);
        }
        assert!(m.name.chars().all(|c| c.is_ascii_alphanumeric()), "{}", m.name);
        assert!(!m.meaning.is_empty());
    }
    assert!(METRICS.len() <= MAX_METRICS_PER_DIRECTIVE);
}

#[test]
fn every_line_is_one_emf_object_declaring_exactly_the_members_it_holds() {
    let mut points = Datapoints::default();
    points.add(FINDINGS, &["session-duration-cap", "remediated"], 1.0);
    points.add(FINDINGS, &["session-duration-cap", "remediated"], 1.0);
    points.add(REMEDIATIONS, &["session-duration-cap"], 2.0);
    points.add(WITHHELD, &["assignment-principal-type", "kill-switch"], 1.0);
    points.add(BREAKER_OPENED, &[], 1.0);
    points.add(LATENCY, &["assignment-guard"], 1500.0);
    points.add(LATENCY, &["assignment-guard"], 2500.0);
    points.add(THROTTLES, &["ssoadmin"], 3.0);
    points.add(RECONCILER_DRIFT, &["desired-assignments"], 1.0);
    points.add(RECONCILER_UNKNOWN, &[], 0.0);
    let lines = points.lines(NOW_MS);
    assert_eq!(lines.len(), METRICS.len(), "one line per metric and dimension values");
    let mut seen = BTreeSet::new();
    for (text, line) in lines.iter().zip(parsed(&lines)) {
        assert!(!text.contains('\n'), "one object per line");
        let root = line.as_object().unwrap();
        let aws = &root["_aws"];
        assert_eq!(aws["Timestamp"], NOW_MS, "{text}");
        let directives = aws["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1, "{text}");
        let d = &directives[0];
        assert_eq!(d.as_object().unwrap().len(), 3, "{text}");
        assert_eq!(d["Namespace"], NAMESPACE);
        let declared = d["Metrics"].as_array().unwrap();
        assert_eq!(declared.len(), 1, "{text}");
        let name = declared[0]["Name"].as_str().unwrap();
        let metric = METRICS.iter().find(|m| m.name == name).unwrap();
        assert_eq!(declared[0]["Unit"], metric.unit.as_str(), "{text}");
        assert_eq!(d["Dimensions"], json!([metric.dimensions]), "{text}");
        // Exactly `_aws`, the dimensions and the metric: nothing undeclared, nothing missing.
        let mut members: BTreeSet<&str> = root.keys().map(String::as_str).collect();
        assert!(members.remove("_aws"));
        assert!(members.remove(name), "{text}");
        assert_eq!(members, metric.dimensions.iter().copied().collect(), "{text}");
        for dim in metric.dimensions {
            assert!(root[*dim].is_string(), "{text}");
        }
        match &root[name] {
            Value::Number(_) => {}
            Value::Array(values) => assert!(values.len() <= MAX_VALUES && values.iter().all(Value::is_number)),
            other => panic!("{name}: {other}"),
        }
        seen.insert(name.to_owned());
    }
    assert_eq!(seen.len(), METRICS.len());
    let by_name = |name: &str| {
        parsed(&lines)
            .into_iter()
            .find(|l| l["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == name)
            .unwrap()
    };
    // Counts are summed; durations kept, each.
    assert_eq!(by_name("Findings")["Findings"], 2);
    assert_eq!(by_name("Latency")["Latency"], json!([1500, 2500]));
    assert_eq!(
        by_name("BreakerOpened")["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([[]])
    );
}

#[test]
fn a_duration_with_more_values_than_a_line_holds_spans_lines() {
    let mut points = Datapoints::default();
    for i in 0..(MAX_VALUES + 1) {
        points.add(LATENCY, &["identity-guard"], i as f64);
    }
    let lines = parsed(&points.lines(NOW_MS));
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["Latency"].as_array().unwrap().len(), MAX_VALUES);
    assert_eq!(lines[1]["Latency"], 100);
}

#[test]
fn dimension_values_are_ascii_and_never_blank() {
    let mut points = Datapoints::default();
    points.add(THROTTLES, &[""], 1.0);
    points.add(THROTTLES, &["sso\u{e9}"], 1.0);
    let lines = parsed(&points.lines(NOW_MS));
    let services: BTreeSet<&str> = lines.iter().map(|l| l["Service"].as_str().unwrap()).collect();
    assert_eq!(services, BTreeSet::from(["sso?", "unknown"]));
}

#[test]
fn a_guard_batch_counts_findings_corrections_withholdings_openings_and_latency() {
    use crate::rules::{assignment_principal_type, session_duration_cap};
    let mut revoked = outcome(assignment_principal_type::ID, OutcomeKind::Remediated);
    revoked.revocations.push(RevocationReport {
        permission_set_arn: None,
        permission_set_name: None,
        statements: Vec::new(),
        status: RevocationStatus::Withheld {
            reason: "breaker opened at 2026-11-27T10:01:00Z: 21 remediations organisation-wide".to_owned(),
        },
    });
    let reports = [
        report(vec![
            outcome(session_duration_cap::ID, OutcomeKind::Remediated),
            outcome(
                session_duration_cap::ID,
                OutcomeKind::Withheld {
                    reason: "kill switch /idc-guard/mode is set to detect".to_owned(),
                },
            ),
        ]),
        report(vec![
            revoked,
            outcome(
                assignment_principal_type::ID,
                OutcomeKind::BreakerOpened {
                    reason: "breaker opened at 2026-11-27T10:01:00Z".to_owned(),
                },
            ),
            outcome(assignment_principal_type::ID, OutcomeKind::Detected),
        ]),
        report(Vec::new()),
    ];
    let points = of_guard("assignment-guard", &reports, NOW_MS);
    let get = |m: &str, d: &[&str]| points.values(m, d).map(<[f64]>::to_vec);
    assert_eq!(
        get("Findings", &["session-duration-cap", "remediated"]),
        Some(vec![1.0])
    );
    assert_eq!(get("Findings", &["session-duration-cap", "withheld"]), Some(vec![1.0]));
    assert_eq!(
        get("Findings", &["assignment-principal-type", "breaker-opened"]),
        Some(vec![1.0])
    );
    assert_eq!(
        get("Findings", &["assignment-principal-type", "detected"]),
        Some(vec![1.0])
    );
    assert_eq!(get("Remediations", &["session-duration-cap"]), Some(vec![1.0]));
    assert_eq!(get("Remediations", &["assignment-principal-type"]), Some(vec![1.0]));
    assert_eq!(
        get("Withheld", &["session-duration-cap", "kill-switch"]),
        Some(vec![1.0])
    );
    // The opening itself and the revocation's decision that opened it (another event's).
    assert_eq!(
        get("Withheld", &["assignment-principal-type", "breaker"]),
        Some(vec![2.0])
    );
    assert_eq!(get("BreakerOpened", &[]), Some(vec![2.0]));
    // Each verified correction, 90 seconds after its CloudTrail eventTime.
    assert_eq!(get("Latency", &["assignment-guard"]), Some(vec![90_000.0, 90_000.0]));
    assert_eq!(get("Throttles", &["ssoadmin"]), None);
}

#[test]
fn throttles_are_what_an_invocation_added() {
    let before = BTreeMap::from([("ssoadmin".to_owned(), 4), ("dynamodb".to_owned(), 1)]);
    let after = BTreeMap::from([
        ("ssoadmin".to_owned(), 7),
        ("dynamodb".to_owned(), 1),
        ("identitystore".to_owned(), 2),
    ]);
    let points = of_throttles(&before, &after);
    assert_eq!(points.values("Throttles", &["ssoadmin"]), Some(&[3.0][..]));
    assert_eq!(points.values("Throttles", &["identitystore"]), Some(&[2.0][..]));
    assert_eq!(points.values("Throttles", &["dynamodb"]), None);
}

#[test]
fn every_withholding_sentence_of_the_rails_has_its_class() {
    let cases = [
        ("kill switch /idc-guard/mode is set to detect", "kill-switch"),
        (
            "kill switch /idc-guard/mode does not exist: detect until it is created (enforce, detect or off)",
            "kill-switch",
        ),
        (
            "breaker open since 2026-11-27T10:00:00Z: the event path is detect-only until an operator resets the breaker",
            "breaker",
        ),
        ("breaker opened at 2026-11-27T10:00:00Z: 21 remediations", "breaker"),
        (
            "quarantined since 2026-11-27T10:00:00Z until 2026-11-27T11:00:00Z: x was remediated on y 3 times within 1h (flap limit)",
            "flap",
        ),
        ("rule session-duration-cap is in detect mode", "mode"),
        (
            "fail closed: the safety state could not be read or written (x)",
            "fail-closed",
        ),
        (
            "no safety state table is configured (IDC_GUARD_STATE_TABLE is unset): detect only",
            "fail-closed",
        ),
        (
            "idc-guard-event corrected r on x at 2026-11-27T10:00:00Z: the reconciler leaves it to its next run",
            "other-path",
        ),
        ("reconciler refused its plan: too many deletions", "refused"),
        ("something new", "other"),
    ];
    for (reason, class) in cases {
        assert_eq!(reason_class(reason), class, "{reason}");
    }
    assert_eq!(
        withheld_reason(&OutcomeKind::Quarantined { reason: String::new() }),
        Some("flap")
    );
    assert_eq!(withheld_reason(&OutcomeKind::Remediated), None);
}

#[test]
fn every_outcome_kind_is_a_findings_outcome_the_catalogue_names() {
    let kinds = [
        OutcomeKind::Detected,
        OutcomeKind::Remediated,
        OutcomeKind::NotVerified { detail: String::new() },
        OutcomeKind::Withheld { reason: String::new() },
        OutcomeKind::Quarantined { reason: String::new() },
        OutcomeKind::BreakerOpened { reason: String::new() },
        OutcomeKind::CannotRemediate { reason: String::new() },
        OutcomeKind::Failed { error: String::new() },
    ];
    for kind in kinds {
        assert!(
            FINDINGS.meaning.contains(&format!("`{}`", kind.as_str())),
            "{}",
            kind.as_str()
        );
    }
}

#[test]
fn the_readme_table_is_the_catalogue() {
    let readme = include_str!("../../../README.md");
    let block = readme
        .split("<!-- metrics-table:start -->\n")
        .nth(1)
        .and_then(|rest| rest.split("<!-- metrics-table:end -->").next())
        .expect("README.md has the metrics-table markers");
    assert_eq!(
        block,
        table(),
        "README.md's metrics table differs from metrics::METRICS"
    );
}

#[test]
fn the_run_report_s_words_for_an_outcome_read_back_as_its_kind() {
    let kinds = [
        OutcomeKind::Detected,
        OutcomeKind::Remediated,
        OutcomeKind::NotVerified { detail: "x".to_owned() },
        OutcomeKind::Withheld {
            reason: "kill switch /idc-guard/mode is set to off".to_owned(),
        },
        OutcomeKind::Withheld {
            reason: "breaker open since 2026-11-27T10:00:00Z: …".to_owned(),
        },
        OutcomeKind::Quarantined { reason: "x".to_owned() },
        OutcomeKind::BreakerOpened {
            reason: "breaker opened at x".to_owned(),
        },
        OutcomeKind::CannotRemediate { reason: "x".to_owned() },
        OutcomeKind::Failed { error: "x".to_owned() },
    ];
    for kind in kinds {
        assert_eq!(
            of_reported(&kind.to_string()),
            Some((kind.as_str(), withheld_reason(&kind))),
            "{kind}"
        );
    }
    assert_eq!(of_reported("compliant at re-read: nothing done"), None);
    assert_eq!(of_reported("left to another path: x"), None);
}
