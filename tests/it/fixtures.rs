//! The fixtures in events/ are the contract: each gets the verdict its name promises, and
//! every event name idc-guard handles has one.

use std::collections::BTreeSet;

use idc_guard::domain::Date;
use idc_guard::domain::EventSource;
use idc_guard::engine::check_json;
use idc_guard::event::{Body, decode, handled_event_names};
use idc_guard::report::json_line;
use idc_guard_tests::{fixture_policy, fixtures, promised_verdict};

fn today() -> Date {
    Date::new(2026, 11, 27).unwrap()
}

#[test]
fn every_fixture_gets_the_verdict_its_name_promises() {
    let policy = fixture_policy();
    let files = fixtures();
    assert!(files.len() >= 60, "only {} fixtures", files.len());
    let mut wrong = Vec::new();
    for path in &files {
        let json = std::fs::read_to_string(path).unwrap();
        let promised = promised_verdict(path);
        assert!(
            ["violation", "compliant", "undetermined", "ignored"].contains(&promised.as_str()),
            "{}: the name must end in the verdict",
            path.display()
        );
        let evaluation = check_json(&policy, &json, today()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if evaluation.verdict.as_str() != promised {
            wrong.push(format!("{}: {}", path.display(), json_line(&evaluation)));
        }
    }
    assert!(
        wrong.is_empty(),
        "verdicts differ from the names:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_handled_event_name_has_a_fixture_that_decodes_to_a_change() {
    let mut covered = BTreeSet::new();
    for path in fixtures() {
        let decoded = decode(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if let (Some(source), Body::Change(_)) = (&decoded.meta.source, &decoded.body) {
            covered.insert((source.event_source(), decoded.meta.event_name.clone()));
        }
    }
    let mut missing = Vec::new();
    for source in [
        EventSource::SsoAdmin,
        EventSource::IdentityStore,
        EventSource::SsoDirectory,
        EventSource::Scim,
    ] {
        for name in handled_event_names(&source) {
            // EnableUser mirrors DisableUser exactly; one fixture for the pair is enough.
            if *name == "EnableUser" {
                continue;
            }
            if !covered.contains(&(source.event_source(), (*name).to_owned())) {
                missing.push(format!("{} {name}", source.event_source()));
            }
        }
    }
    assert!(missing.is_empty(), "no fixture decodes to a change for: {missing:?}");
}

#[test]
fn the_variants_the_issue_names_are_present() {
    let names: Vec<String> = fixtures()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for needle in [
        "-failed-ignored",
        "-console-",
        "identitystore-scim.",
        "-own-echo-ignored",
        "-other-instance-ignored",
        "-read-only-ignored",
        "-unhandled-ignored",
        "sso-directory.",
    ] {
        assert!(names.iter().any(|n| n.contains(needle)), "no fixture with {needle}");
    }
}

#[test]
fn json_output_carries_the_cloudtrail_event_id_and_the_fields_consumers_filter_on() {
    let policy = fixture_policy();
    let path = idc_guard_tests::repo_root().join("events/sso.CreateAccountAssignment-user-violation.json");
    let json = std::fs::read_to_string(path).unwrap();
    let raw: serde_json::Value = serde_json::from_str(&json).unwrap();
    let line: serde_json::Value =
        serde_json::from_str(&json_line(&check_json(&policy, &json, today()).unwrap())).unwrap();
    assert_eq!(line["event_id"], raw["detail"]["eventID"]);
    assert_eq!(line["envelope_id"], raw["id"]);
    assert_eq!(line["event_name"], "CreateAccountAssignment");
    assert_eq!(line["event_source"], "sso.amazonaws.com");
    assert_eq!(line["verdict"], "violation");
    let finding = &line["findings"][0];
    assert_eq!(finding["rule"], "assignment-principal-type");
    assert_eq!(finding["severity"], "high");
    assert_eq!(finding["mode"], "enforce");
    assert_eq!(finding["resource"]["kind"], "account-assignment");
    assert_eq!(
        finding["resource"]["account_id"],
        raw["detail"]["requestParameters"]["targetId"]
    );
    let action = &finding["remediation"][0];
    assert_eq!(action["action"], "delete_account_assignment");
    assert_eq!(action["principal_type"], "USER");
    assert_eq!(
        action["principal_id"],
        raw["detail"]["requestParameters"]["principalId"]
    );
    assert!(line["undetermined"].as_array().unwrap().is_empty());
}

#[test]
fn undetermined_events_name_the_missing_fact() {
    let policy = fixture_policy();
    let path = idc_guard_tests::repo_root().join("events/sso.UpdatePermissionSet-undetermined.json");
    let json = std::fs::read_to_string(path).unwrap();
    let line: serde_json::Value =
        serde_json::from_str(&json_line(&check_json(&policy, &json, today()).unwrap())).unwrap();
    assert_eq!(line["verdict"], "undetermined");
    assert_eq!(line["undetermined"][0]["rule"], "session-duration-cap");
    assert_eq!(line["undetermined"][0]["fact"], "permission-set-name");
}

#[test]
fn raw_cloudtrail_records_without_the_envelope_get_the_same_verdict() {
    let policy = fixture_policy();
    for path in fixtures()
        .into_iter()
        .filter(|p| idc_guard_tests::is_cloudtrail_fixture(p))
    {
        let raw: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let record = raw["detail"].to_string();
        let evaluation = check_json(&policy, &record, today()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            evaluation.verdict.as_str(),
            promised_verdict(&path),
            "{}",
            path.display()
        );
        assert_eq!(evaluation.meta.envelope_id, None);
    }
}

#[test]
fn actors_are_classified_as_a_person_would_name_them() {
    use idc_guard::domain::Actor;
    use idc_guard::engine::check;
    let policy = fixture_policy();
    let actor = |name: &str| {
        let json = std::fs::read_to_string(idc_guard_tests::repo_root().join("events").join(name)).unwrap();
        check(&policy, decode(&json).unwrap(), today()).actor
    };
    match actor("sso.CreateAccountAssignment-console-user-violation.json") {
        Actor::IdentityCenterUser {
            permission_set,
            session,
            user_id,
            identity_store_arn,
            ..
        } => {
            assert_eq!(permission_set.as_deref(), Some("PlatformEngineer"));
            assert_eq!(session.as_deref(), Some("alice@example.com"));
            assert!(user_id.is_some());
            assert!(identity_store_arn.unwrap().ends_with("identitystore/d-9067a1b2c3"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        actor("sso.CreateAccountAssignment-root-user-violation.json"),
        Actor::Root {
            account: "111111111111".into()
        }
    );
    assert!(
        matches!(actor("sso.CreateAccountAssignment-own-echo-ignored.json"), Actor::Guard { role_name } if role_name == "idc-guard-assignment-guard")
    );
    assert!(
        matches!(actor("identitystore.CreateUser-violation.json"), Actor::IamRole { role_name, session: Some(s), .. } if role_name == "terraform-identity-center" && s == "gitlab-ci-4812")
    );
    assert!(
        matches!(actor("identitystore.CreateGroup-violation.json"), Actor::IamUser { name, .. } if name == "legacy-admin")
    );
    assert_eq!(actor("identitystore-scim.PatchGroup-compliant.json"), Actor::Scim);
    assert!(matches!(
        actor("sso-directory.RemoveMemberFromGroup-violation.json"),
        Actor::IdentityCenterUser {
            permission_set: None,
            user_id: Some(_),
            ..
        }
    ));
}

#[test]
fn console_calls_are_marked() {
    let json = std::fs::read_to_string(
        idc_guard_tests::repo_root().join("events/sso.CreateAccountAssignment-console-user-violation.json"),
    )
    .unwrap();
    assert!(decode(&json).unwrap().meta.console);
    let json = std::fs::read_to_string(
        idc_guard_tests::repo_root().join("events/sso.CreateAccountAssignment-user-violation.json"),
    )
    .unwrap();
    assert!(!decode(&json).unwrap().meta.console);
}

#[test]
fn native_identity_store_notifications_are_ignored_with_the_reason() {
    let native = r#"{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"User Created","source":"aws.identitystore","account":"111111111111","time":"2026-03-01T10:00:00Z","region":"eu-west-1","resources":[],"detail":{"identityStoreId":"d-9067a1b2c3"}}"#;
    let e = check_json(&fixture_policy(), native, today()).unwrap();
    assert_eq!(e.verdict.as_str(), "ignored");
    assert!(e.reason.unwrap().to_string().contains("User Created"));
}
