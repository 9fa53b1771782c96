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

/// Issue #19: the identity store's own notifications are judged like their CloudTrail records,
/// but name no actor (undetermined, the missing fact named); a type idc-guard does not decode is
/// ignored with its detail-type as the reason; one that names no user is an error saying so.
#[test]
fn native_identity_store_notifications_are_judged_with_the_actor_unknown() {
    let native = r#"{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"User Created","source":"aws.identitystore","account":"111111111111","time":"2026-03-01T10:00:00Z","region":"eu-west-1","resources":["arn:aws:identitystore:::user/u-1"],"detail":{"identityStoreId":"d-9067a1b2c3"}}"#;
    let e = check_json(&fixture_policy(), native, today()).unwrap();
    assert_eq!(e.verdict.as_str(), "undetermined");
    assert_eq!(e.undetermined.len(), 1, "{:?}", e.undetermined);
    assert_eq!(e.undetermined[0].fact, idc_guard::domain::MissingFact::Actor);
    let unknown = native.replace("User Created", "User Signed In");
    let e = check_json(&fixture_policy(), &unknown, today()).unwrap();
    assert_eq!(e.verdict.as_str(), "ignored");
    assert!(e.reason.unwrap().to_string().contains("User Signed In"));
    let nameless = native.replace(r#""arn:aws:identitystore:::user/u-1""#, "");
    let error = check_json(&fixture_policy(), &nameless, today()).unwrap_err();
    assert_eq!(error.path, "resources");
    assert!(error.message.contains("names no user"), "{error}");
}

/// The usage fixtures (issue #17): `sso.GetRoleCredentials-*` follows a real record's shape
/// (a 2026-07 GetRoleCredentials quoted in `../shared/reference/peers-2026.md` §3.3:
/// `AwsServiceEvent`, `readOnly`, `requestParameters` null, `serviceEventDetails.role_name` and
/// `account_id`); the `Federate` fixtures are inferred from it: AWS documents no Federate record,
/// and its source is either `sso.amazonaws.com` (the Identity Center user guide's portal events)
/// or `signin.amazonaws.com` (a third-party fixture), so there is one of each. Each decodes,
/// envelope and raw record alike, to the use its record shows, except the failed call.
#[test]
fn usage_fixtures_decode_to_the_use_their_record_shows() {
    use idc_guard::event::usage::{USAGE_EVENT_NAMES, decode_use, may_be_use};
    let mut seen = BTreeSet::new();
    for path in fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
        let d = &raw["detail"];
        let Some(name) = d["eventName"].as_str().filter(|n| USAGE_EVENT_NAMES.contains(n)) else {
            continue;
        };
        seen.insert((d["eventSource"].as_str().unwrap().to_owned(), name.to_owned()));
        for input in [text.clone(), d.to_string()] {
            assert!(may_be_use(&input), "{}", path.display());
            let decoded = decode_use(&input).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if d.get("errorCode").is_some() {
                assert_eq!(decoded, None, "{}: a failed call is no use", path.display());
                continue;
            }
            let u = decoded.unwrap_or_else(|| panic!("{}: no use", path.display()));
            assert_eq!(
                u.key.user_id,
                d["userIdentity"]["onBehalfOf"]["userId"].as_str().unwrap()
            );
            assert_eq!(
                u.key.permission_set,
                d["serviceEventDetails"]["role_name"].as_str().unwrap()
            );
            assert_eq!(
                u.key.account.as_str(),
                d["serviceEventDetails"]["account_id"].as_str().unwrap()
            );
            assert_eq!(idc_guard::domain::time::utc(u.at), d["eventTime"].as_str().unwrap());
            assert_eq!(u.event_id, d["eventID"].as_str().unwrap());
            assert_eq!(u.channel.event_name(), name);
            assert_eq!(
                u.identity_store_id.as_deref(),
                Some(idc_guard_tests::FIXTURE_IDENTITY_STORE)
            );
        }
    }
    let expected: BTreeSet<(String, String)> = [
        ("signin.amazonaws.com", "Federate"),
        ("sso.amazonaws.com", "Federate"),
        ("sso.amazonaws.com", "GetRoleCredentials"),
    ]
    .iter()
    .map(|(s, n)| ((*s).to_owned(), (*n).to_owned()))
    .collect();
    assert_eq!(seen, expected);
}
