//! Rendering snapshots: one per outcome kind, plain string comparisons.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::domain::{Actor, EventMeta, EventSource, Finding, Mode, Resource, ResourceKind, Severity};

fn outcome(kind: OutcomeKind) -> Outcome {
    Outcome {
        event: EventMeta {
            event_id: "0b9a3c1e-1111-4222-8333-444455556666".to_owned(),
            shared_event_id: None,
            envelope_id: None,
            event_name: "UpdatePermissionSet".to_owned(),
            event_source: "sso.amazonaws.com".to_owned(),
            source: Some(EventSource::SsoAdmin),
            event_time: "2026-11-27T10:00:00Z".to_owned(),
            region: "eu-west-1".to_owned(),
            account: "111111111111".to_owned(),
            request_id: None,
            console: true,
            operation: None,
        },
        actor: Actor::IdentityCenterUser {
            permission_set: Some("PlatformAdmin".to_owned()),
            session: Some("alice@example.com".to_owned()),
            user_id: None,
            identity_store_arn: None,
            account: Some("111111111111".to_owned()),
        },
        finding: Finding {
            rule: crate::rules::session_duration_cap::ID,
            severity: Severity::Medium,
            mode: Mode::Enforce,
            message: "session duration PT12H exceeds the cap PT1H for PlatformAdmin".to_owned(),
            resource: Resource {
                kind: ResourceKind::PermissionSet,
                id: "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef".to_owned(),
                permission_set_name: Some("PlatformAdmin".to_owned()),
                permission_set_arn: Some(
                    "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef".to_owned(),
                ),
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
        revocations: Vec::new(),
        calls: vec!["UpdatePermissionSet", "ProvisionPermissionSet"],
    }
}

const WHO: &str =
    "Who: Identity Center user alice@example.com via PlatformAdmin called UpdatePermissionSet at 2026-11-27T10:00:00Z.";
const WHERE: &str = "Where: account 111111111111, permission set PlatformAdmin (arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef).";

fn expected(label: &str, did: &str) -> String {
    [
        format!("[idc-guard] {label} session-duration-cap on PlatformAdmin"),
        String::new(),
        WHO.to_owned(),
        WHERE.to_owned(),
        "Rule: session-duration-cap (severity medium, mode enforce).".to_owned(),
        "Why: session duration PT12H exceeds the cap PT1H for PlatformAdmin".to_owned(),
        format!("Why it matters: {}", why_it_matters(crate::rules::session_duration_cap::ID)),
        format!("What idc-guard did: {did}"),
        "Calls made: UpdatePermissionSet, ProvisionPermissionSet.".to_owned(),
        "Owner: platform.".to_owned(),
        "CloudTrail eventID: 0b9a3c1e-1111-4222-8333-444455556666.".to_owned(),
        String::new(),
        "To fix: make the change compliant with rule session-duration-cap, or request an exception (an [[exceptions]] entry in guardrail.toml with rule, scope, owner, reason and expiry).".to_owned(),
    ]
    .join("\n")
}

fn check(kind: OutcomeKind, label: &str, id: &str, did: &str) {
    let o = outcome(kind);
    let m = Message::of(&o, &Owners::default());
    assert_eq!(
        m.subject,
        format!("[idc-guard] {label} session-duration-cap on PlatformAdmin")
    );
    assert!(m.subject.len() < 100);
    assert_eq!(m.text, expected(label, did));
    assert_eq!(
        m.attributes,
        vec![
            ("rule", "session-duration-cap".to_owned()),
            ("severity", "medium".to_owned()),
            ("outcome", id.to_owned()),
            ("owner", "platform".to_owned()),
            ("account", "111111111111".to_owned()),
            ("permission_set", "PlatformAdmin".to_owned()),
        ]
    );
    let doc: Value = serde_json::from_str(&m.document).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["outcome"], id);
    assert_eq!(doc["event_id"], "0b9a3c1e-1111-4222-8333-444455556666");
    assert_eq!(doc["finding"]["rule"], "session-duration-cap");
    assert_eq!(doc["owner"], "platform");
    assert_eq!(doc["slack_channels"], serde_json::json!(["platform"]));
    let sns: Value = serde_json::from_str(&m.sns_json()).unwrap();
    assert_eq!(sns["default"], m.text.as_str());
    assert_eq!(sns["email"], m.text.as_str());
    for protocol in ["sqs", "lambda", "https"] {
        assert_eq!(sns[protocol], m.document.as_str());
    }
}

#[test]
fn detected() {
    check(
        OutcomeKind::Detected,
        "DETECTED",
        "detected",
        "Nothing was changed (detected only).",
    );
}

#[test]
fn remediated() {
    check(
        OutcomeKind::Remediated,
        "REVERTED",
        "remediated",
        "idc-guard reverted the change, and a read-back verified compliance.",
    );
}

#[test]
fn not_verified() {
    check(
        OutcomeKind::NotVerified {
            detail: "still PT12H".to_owned(),
        },
        "NOT VERIFIED",
        "not-verified",
        "idc-guard corrected the change, but the read-back does NOT show compliance: still PT12H",
    );
}

#[test]
fn withheld() {
    check(
        OutcomeKind::Withheld {
            reason: "the kill switch says detect".to_owned(),
        },
        "WITHHELD",
        "withheld",
        "The correction was withheld: the kill switch says detect",
    );
}

#[test]
fn quarantined() {
    check(
        OutcomeKind::Quarantined {
            reason: "the 4th remediation within 1h (limit 3)".to_owned(),
        },
        "QUARANTINED",
        "quarantined",
        "The correction was withheld and the resource QUARANTINED: the 4th remediation within 1h (limit 3). Someone \
         or something keeps re-applying this change: find it before the quarantine ends.",
    );
}

#[test]
fn breaker_opened() {
    check(
        OutcomeKind::BreakerOpened {
            reason: "21 remediations organisation-wide within 10m (limit 20)".to_owned(),
        },
        "BREAKER OPENED",
        "breaker-opened",
        "The correction was withheld and the BREAKER OPENED: 21 remediations organisation-wide within 10m (limit \
         20). Investigate the burst of violations, then reset the breaker (see the README's safety rails).",
    );
}

#[test]
fn cannot_remediate() {
    check(
        OutcomeKind::CannotRemediate {
            reason: "AccessDeniedException: management account".to_owned(),
        },
        "CANNOT REMEDIATE",
        "cannot-remediate",
        "idc-guard may not correct this (access denied): AccessDeniedException: management account. Fix it by hand.",
    );
}

#[test]
fn failed() {
    check(
        OutcomeKind::Failed {
            error: "ProvisionPermissionSet failed (Timeout): slow".to_owned(),
        },
        "FAILED",
        "failed",
        "The correction FAILED and will be retried: ProvisionPermissionSet failed (Timeout): slow",
    );
}

#[test]
fn subjects_stay_short_and_ascii() {
    let mut o = outcome(OutcomeKind::Remediated);
    o.finding.resource.permission_set_name = Some(format!("Ünïcode{}", "X".repeat(200)));
    let s = subject(&o);
    assert!(s.len() < 100, "{s}");
    assert!(s.chars().all(|c| c.is_ascii_graphic() || c == ' '));
    assert!(s.starts_with("[idc-guard] REVERTED session-duration-cap on ?n?code"));
    assert!(s.ends_with("..."));
}

#[test]
fn owners_by_tag_then_route_then_default_and_empty_attributes_are_omitted() {
    use crate::domain::AccountId;
    use crate::domain::NamePattern;
    let mut owners = Owners::with_default("secops");
    owners.routes.push(OwnerRoute {
        owner: "platform-team".to_owned(),
        permission_sets: vec![NamePattern::new("*Admin")],
        accounts: Vec::new(),
    });
    owners.routes.push(OwnerRoute {
        owner: "payments".to_owned(),
        permission_sets: Vec::new(),
        accounts: vec![AccountId::parse("222222222222").unwrap()],
    });
    owners.slack_channels.push((
        "payments".to_owned(),
        vec!["pay-alerts".to_owned(), "secops".to_owned()],
    ));
    let mut o = outcome(OutcomeKind::Detected);
    assert_eq!(owner_of(&owners, &o), "platform-team");
    o.tagged_owner = Some("data-team".to_owned());
    assert_eq!(owner_of(&owners, &o), "data-team", "the tag wins over routes");
    let doc: Value = serde_json::from_str(&Message::of(&o, &owners).document).unwrap();
    assert_eq!(doc["slack_channels"], serde_json::json!(["data-team"]));
    o.tagged_owner = Some("  ".to_owned());
    assert_eq!(owner_of(&owners, &o), "platform-team", "a blank tag is no owner");
    o.tagged_owner = None;
    o.finding.resource.permission_set_name = None;
    o.finding.resource.account_id = Some("222222222222".to_owned());
    assert_eq!(owner_of(&owners, &o), "payments");
    let m = Message::of(&o, &owners);
    assert!(m.attributes.contains(&("owner", "payments".to_owned())));
    let doc: Value = serde_json::from_str(&m.document).unwrap();
    assert_eq!(doc["slack_channels"], serde_json::json!(["pay-alerts", "secops"]));
    o.finding.resource.account_id = Some("999999999999".to_owned());
    assert_eq!(owner_of(&owners, &o), "secops");
    let m = Message::of(&o, &owners);
    assert!(
        m.attributes
            .iter()
            .all(|(k, v)| *k != "permission_set" && !v.is_empty())
    );
    assert_eq!(m.subject, "[idc-guard] DETECTED session-duration-cap on 999999999999");
}

#[test]
fn a_breaker_reset_is_a_notice_for_the_default_owner_and_renders_for_slack() {
    let notice = Notice::BreakerReset {
        open_since: Some(1_795_788_120),
        at: 1_795_791_720,
        by: "carol".to_owned(),
        reason: "CHG-42".to_owned(),
    };
    let m = Message::of_notice(&notice, &Owners::with_default("secops"));
    assert_eq!(m.subject, "[idc-guard] BREAKER RESET: the event path corrects again");
    assert_eq!(
        m.text,
        "[idc-guard] BREAKER RESET: the event path corrects again\n\ncarol reset the breaker (open since \
         2026-11-27T14:02:00Z): the event path corrects again. Reason: CHG-42\nWhen: 2026-11-27T15:02:00Z.\n\
         Corrections resume with the next event; the reconciler catches what happened while the breaker was open.\n\
         Owner: secops."
    );
    assert!(m.attributes.contains(&("outcome", "breaker-reset".to_owned())));
    assert!(m.attributes.contains(&("owner", "secops".to_owned())));
    let doc: Value = serde_json::from_str(&m.document).unwrap();
    assert_eq!(doc["schema_version"], 1);
    let slack = super::slack::payload(&doc);
    assert_eq!(slack["text"], ":arrow_forward: BREAKER RESET");
    assert_eq!(
        slack["blocks"][2]["elements"][0]["text"],
        "carol · 2026-11-27T15:02:00Z"
    );
}
