//! Batches (issue #15): triage before reading, one read per resource, one report per event,
//! against the emulator, asserting exactly which calls were made.

use std::time::Instant;

use aws_sdk_ssoadmin::types::PrincipalType;
use idc_guard::domain::{Date, EventVerdict, OutcomeKind};
use idc_guard::guard::{GuardError, Message};
use idc_guard::notify::LoggingNotifier;
use idc_guard_tests::world::{Event, PermissionSet, World};
use serde_json::json;

const ACCOUNT: &str = "333333333333";
const USER_ID: &str = "34887428-4081-7042-c3c6-928d413009e7";
const GROUP_ID: &str = "94482488-3041-7026-18f1-9a4c2f6e5d71";

fn today() -> Date {
    Date::new(2026, 11, 27).unwrap()
}

/// A set with a 12-hour session (over the shipped policy's cap) and a boundary.
async fn long_session_set(w: &World, name: &str) -> String {
    let set = PermissionSet::new(name).session("PT12H").boundary(true);
    w.create_permission_set(&set).await
}

fn long_session_event(w: &World, set: &str, event_id: &str) -> String {
    w.permission_set_event("sso.UpdatePermissionSet-long-session-violation.json", set)
        .with("eventID", json!(event_id))
        .to_string()
}

async fn session_duration(w: &World, set: &str) -> Option<String> {
    let out = w
        .sso
        .describe_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(set)
        .send()
        .await
        .unwrap();
    out.permission_set()?.session_duration().map(str::to_owned)
}

async fn has_boundary(w: &World, set: &str) -> bool {
    w.sso
        .get_permissions_boundary_for_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(set)
        .send()
        .await
        .is_ok_and(|out| out.permissions_boundary().is_some())
}

fn messages<'a>(bodies: &'a [String]) -> Vec<Message<'a>> {
    bodies
        .iter()
        .enumerate()
        .map(|(i, body)| Message {
            id: ["m0", "m1", "m2", "m3"][i],
            body,
        })
        .collect()
}

#[tokio::test]
async fn a_batch_with_two_events_on_one_permission_set_reads_it_once_and_reports_both() {
    // What one event costs alone, in a world of its own.
    let alone = World::builder().build().await;
    let set = long_session_set(&alone, "DataEngineer").await;
    let guard = alone.guard(LoggingNotifier, alone.shipped_policy());
    alone.calls.clear();
    let report = guard
        .handle(&long_session_event(&alone, &set, "e-alone"), today())
        .await
        .unwrap();
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated, "{report:?}");
    let one_event = alone.calls.all();

    // The same change delivered twice in one batch (e.g. an apply that ran twice).
    let w = World::builder().build().await;
    let set = long_session_set(&w, "DataEngineer").await;
    let guard = w.guard(LoggingNotifier, w.shipped_policy());
    let bodies = [
        long_session_event(&w, &set, "e-first"),
        long_session_event(&w, &set, "e-second"),
    ];
    w.calls.clear();
    let handled = guard.handle_batch(&messages(&bodies), today(), None).await;

    // One read, one correction, one read-back: exactly what one event costs.
    assert_eq!(w.calls.all(), one_event);
    assert_eq!(w.calls.mutating(), ["UpdatePermissionSet", "ProvisionPermissionSet"]);
    assert_eq!(session_duration(&w, &set).await.as_deref(), Some("PT8H"));
    // Both events reported: the later one carries the correction, the earlier names it.
    assert_eq!(handled.len(), 2);
    let first = handled[0].result.as_ref().unwrap();
    let second = handled[1].result.as_ref().unwrap();
    assert_eq!((handled[0].id.as_str(), handled[1].id.as_str()), ("m0", "m1"));
    assert_eq!(first.event_id, "e-first");
    assert_eq!(first.verdict, EventVerdict::Violation);
    assert!(first.outcomes.is_empty(), "{first:?}");
    assert_eq!(first.coalesced_with.as_deref(), Some("e-second"));
    assert_eq!(second.event_id, "e-second");
    assert_eq!(second.outcomes.len(), 1);
    assert_eq!(second.outcomes[0].kind, OutcomeKind::Remediated);
    assert_eq!(second.coalesced_with, None);
}

#[tokio::test]
async fn two_violations_of_one_set_in_one_batch_are_each_corrected_under_the_event_that_showed_it() {
    let w = World::builder().build().await;
    // A 12-hour session and no boundary.
    let set = w
        .create_permission_set(&PermissionSet::new("DataEngineer").session("PT12H").boundary(false))
        .await;
    let guard = w.guard(LoggingNotifier, w.shipped_policy());
    let boundary = w
        .permission_set_event("sso.DeletePermissionsBoundaryFromPermissionSet-undetermined.json", &set)
        .with("eventID", json!("e-boundary"))
        .to_string();
    let bodies = [boundary, long_session_event(&w, &set, "e-duration")];
    w.calls.clear();
    let handled = guard.handle_batch(&messages(&bodies), today(), None).await;
    let rules = |i: usize| -> Vec<String> {
        handled[i]
            .result
            .as_ref()
            .unwrap()
            .outcomes
            .iter()
            .map(|o| o.finding.rule.to_string())
            .collect()
    };
    assert_eq!(rules(0), ["permissions-boundary-required"]);
    assert_eq!(rules(1), ["session-duration-cap"]);
    // The set was read once before the corrections (one DescribePermissionSet before the first
    // write); each correction was verified by its own read-back.
    let calls = w.calls.all();
    let first_write = calls
        .iter()
        .position(|c| c.starts_with("Update") || c.starts_with("Put"))
        .unwrap();
    assert_eq!(
        calls[..first_write]
            .iter()
            .filter(|c| *c == "DescribePermissionSet")
            .count(),
        1,
        "{calls:?}"
    );
    assert_eq!(session_duration(&w, &set).await.as_deref(), Some("PT8H"));
    assert!(has_boundary(&w, &set).await);
}

#[tokio::test]
async fn events_compliant_on_their_face_are_reported_without_a_single_read() {
    let w = World::builder().build().await;
    let set = w.create_permission_set(&PermissionSet::new("DataEngineer")).await;
    let guard = w.guard(LoggingNotifier, w.shipped_policy());
    let group = Event::group_assignment(&w.instance, &set, ACCOUNT, GROUP_ID).to_string();
    let short = w
        .permission_set_event("sso.UpdatePermissionSet-short-session-compliant.json", &set)
        .with("eventID", json!("e-short"))
        .to_string();
    let bodies = [group, short];
    w.calls.clear();
    let handled = guard.handle_batch(&messages(&bodies), today(), None).await;
    // Neither resource is read. The only requests follow the assignment's creation to its end
    // (provisioning-failed, issue #16): the batch's listings of the creations in progress and of
    // the failed ones.
    assert_eq!(
        w.calls.all(),
        [
            "ListAccountAssignmentCreationStatus",
            "ListAccountAssignmentCreationStatus"
        ]
    );
    for h in &handled {
        let report = h.result.as_ref().unwrap();
        assert_eq!(report.verdict, EventVerdict::Compliant, "{report:?}");
        assert!(report.triaged);
    }
}

#[tokio::test]
async fn a_set_named_by_its_creation_event_needs_no_read_to_judge_a_later_event() {
    let w = World::builder().build().await;
    // A privileged set by name: AdministratorAccess is allowed on it (exempt_privileged).
    let set = w.create_permission_set(&PermissionSet::new("PlatformAdmin")).await;
    let attach = w
        .permission_set_event("sso.AttachManagedPolicyToPermissionSet-admin-undetermined.json", &set)
        .to_string();

    // A guard that never saw the set's name must read the set to judge the attachment.
    let fresh = w.guard(LoggingNotifier, w.shipped_policy());
    w.calls.clear();
    let report = fresh.handle(&attach, today()).await.unwrap();
    assert!(!report.triaged);
    assert!(w.calls.all().contains(&"DescribePermissionSet".to_owned()));

    // A guard that saw the creation (the name is in the event) judges it on its face.
    let guard = w.guard(LoggingNotifier, w.shipped_policy());
    let created = w
        .permission_set_event("sso.CreatePermissionSet-compliant.json", &set)
        .with("requestParameters.name", json!("PlatformAdmin"))
        .with("requestParameters.sessionDuration", json!("PT1H"))
        .with("responseElements.permissionSet.permissionSetArn", json!(set))
        .with("responseElements.permissionSet.name", json!("PlatformAdmin"))
        .to_string();
    let report = guard.handle(&created, today()).await.unwrap();
    assert!(report.triaged, "{report:?}");
    w.calls.clear();
    let report = guard.handle(&attach, today()).await.unwrap();
    assert_eq!(report.verdict, EventVerdict::Compliant, "{report:?}");
    assert!(report.triaged);
    assert!(w.calls.all().is_empty(), "{:?}", w.calls.all());
}

#[tokio::test]
async fn a_batch_whose_time_ran_out_returns_its_events_untouched() {
    let w = World::builder().build().await;
    let set = w.create_permission_set(&PermissionSet::new("DataEngineer")).await;
    w.assign(ACCOUNT, &set, PrincipalType::User, USER_ID).await;
    let guard = w.guard(LoggingNotifier, w.shipped_policy());
    let bodies = [w.user_assignment_event(&set, ACCOUNT, USER_ID).to_string()];
    w.calls.clear();
    let handled = guard
        .handle_batch(&messages(&bodies), today(), Some(Instant::now()))
        .await;
    assert!(matches!(handled[0].result, Err(GuardError::NotStarted)), "{handled:?}");
    assert!(w.calls.all().is_empty(), "{:?}", w.calls.all());
    assert_eq!(w.count_assignments(ACCOUNT, &set).await, 1);
}
