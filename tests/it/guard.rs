//! The remediation engine against the emulator: for every rule, seed a violating state through
//! the SDK, deliver the event, then assert the emulator's state is compliant and exactly which
//! mutating calls were made.

use std::ops::Deref;

use aws_sdk_ssoadmin::types::PrincipalType;
use idc_guard::adapters::{IdentityStoreApi, SsoAdmin};
use idc_guard::domain::time::parse_utc;
use idc_guard::domain::{AccountId, Assignment, Date, InstanceArn, OutcomeKind, PermissionSetArn};
use idc_guard::guard::{Guard, GuardError};
use idc_guard::notify::LoggingNotifier;
use idc_guard::policy::Policy;
use idc_guard::ports::Gate;
use idc_guard::safety::{ManualClock, MemoryParameters, MemoryStore, SafetyConfig, SafetyGate};
use idc_guard_tests::FIXTURE_OWN_ROLES;
use idc_guard_tests::REVERT_AND_REVOKE;
use idc_guard_tests::world::{self, PermissionSet, User};
use serde_json::{Value, json};

const ACCOUNT: &str = "333333333333";
const USER_ID: &str = "34887428-4081-7042-c3c6-928d413009e7";

/// The emulator, and a guard on its recorded clients that logs its outcomes.
struct World {
    world: world::World,
    guard: Guard<SsoAdmin, IdentityStoreApi, LoggingNotifier>,
}

impl Deref for World {
    type Target = world::World;

    fn deref(&self) -> &world::World {
        &self.world
    }
}

fn today() -> Date {
    Date::new(2026, 11, 27).unwrap()
}

/// The policy is `policy_toml`, or the shipped one; either way scoped to the emulator's instance.
async fn world(policy_toml: Option<&str>) -> World {
    let world = world::World::builder().build().await;
    let policy = match policy_toml {
        Some(text) => world.scoped(Policy::from_toml("test.toml", text).unwrap()),
        None => world.shipped_policy(),
    };
    World {
        guard: world.guard(LoggingNotifier, policy),
        world,
    }
}

/// A fixture with fields of `detail` replaced (paths like `requestParameters.targetId`).
fn event(fixture: &str, edits: &[(&str, Value)]) -> String {
    world::event(fixture, edits)
}

impl World {
    async fn permission_set(&self, name: &str, duration: &str, boundary: bool) -> String {
        let set = PermissionSet::new(name)
            .description("data platform engineers")
            .session(duration)
            .relay_state("https://console.aws.amazon.com/s3")
            .boundary(boundary);
        self.create_permission_set(&set).await
    }

    async fn assign_user(&self, ps: &str) {
        self.assign(ACCOUNT, ps, PrincipalType::User, USER_ID).await;
    }

    async fn assignments(&self, ps: &str) -> usize {
        self.count_assignments(ACCOUNT, ps).await
    }

    fn user_assignment_event(&self, ps: &str) -> String {
        self.world.user_assignment_event(ps, ACCOUNT, USER_ID).to_string()
    }

    fn ps_event(&self, fixture: &str, ps: &str) -> String {
        self.permission_set_event(fixture, ps).to_string()
    }
}

#[tokio::test]
async fn a_user_assignment_is_deleted_and_verified_with_one_read_one_delete_and_one_read_back() {
    let w = world(None).await;
    let ps = w.permission_set("DataEngineer", "PT1H", true).await;
    w.assign_user(&ps).await;
    w.calls.clear();
    let report = w.guard.handle(&w.user_assignment_event(&ps), today()).await.unwrap();
    assert_eq!(report.outcomes.len(), 1, "{report:?}");
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated);
    assert_eq!(report.outcomes[0].calls, REVERT_AND_REVOKE);
    // The set's and the user's names are read once the finding exists (issue #13: findings name
    // things the way people know them); then one delete, its status, one read-back.
    let message = &report.outcomes[0].finding.message;
    assert!(message.contains("was assigned DataEngineer ("), "{message}");
    assert_eq!(
        w.calls.all(),
        [
            "ListAccountAssignments",
            "DescribePermissionSet",
            "DescribeUser",
            "DeleteAccountAssignment",
            "DescribeAccountAssignmentDeletionStatus",
            // The revocation: who still holds the set there (nobody); the policy read,
            // written, read back (the set's session duration came with its name, above);
            // provisioned to that account only.
            "ListAccountAssignments",
            "GetInlinePolicyForPermissionSet",
            "PutInlinePolicyToPermissionSet",
            "GetInlinePolicyForPermissionSet",
            "ProvisionPermissionSet",
            "DescribePermissionSetProvisioningStatus",
            // The deletion's read-back.
            "ListAccountAssignments",
            // Then the creation the event shows is followed to its end (provisioning-failed):
            // the creations in progress, the failed ones (a batch's creations share them).
            "ListAccountAssignmentCreationStatus",
            "ListAccountAssignmentCreationStatus"
        ]
    );
    assert_eq!(w.assignments(&ps).await, 0);
}

#[tokio::test]
async fn the_same_event_ten_times_makes_exactly_one_mutation() {
    let w = world(None).await;
    let ps = w.permission_set("DataEngineer", "PT1H", true).await;
    w.assign_user(&ps).await;
    w.calls.clear();
    let event = w.user_assignment_event(&ps);
    for _ in 0..10 {
        w.guard.handle(&event, today()).await.unwrap();
    }
    assert_eq!(w.calls.mutating(), REVERT_AND_REVOKE);
    assert_eq!(w.assignments(&ps).await, 0);
}

/// A guard whose gate journals in memory, with the fixtures' guard role as its own, at the time
/// of the own-echo fixture; and that fixture made about `ps`.
fn own_role_guard(w: &World, ps: &str) -> (OwnGuard, String) {
    let parameters = MemoryParameters::new();
    parameters.set(idc_guard::safety::DEFAULT_KILL_SWITCH, "enforce");
    let echo = event(
        "sso.CreateAccountAssignment-own-echo-ignored.json",
        &[
            ("requestParameters.instanceArn", json!(w.instance)),
            ("requestParameters.permissionSetArn", json!(ps)),
            ("requestParameters.targetId", json!(ACCOUNT)),
            ("requestParameters.principalId", json!(USER_ID)),
        ],
    );
    let at = parse_utc("2026-03-03T11:30:48Z").unwrap();
    let gate = SafetyGate::new(
        parameters,
        MemoryStore::default(),
        ManualClock::new(at),
        SafetyConfig::default(),
    );
    let mut policy = w.shipped_policy();
    policy.own_identity.role_arns = FIXTURE_OWN_ROLES.iter().map(|r| (*r).to_owned()).collect();
    (w.guard_with_gate(LoggingNotifier, policy, gate), echo)
}

type OwnGuard =
    Guard<SsoAdmin, IdentityStoreApi, LoggingNotifier, SafetyGate<MemoryParameters, MemoryStore, ManualClock>>;

#[tokio::test]
async fn idc_guards_own_echo_that_its_journal_shows_makes_no_call_at_all() {
    let w = world(None).await;
    let ps = w.permission_set("DataEngineer", "PT1H", true).await;
    w.assign_user(&ps).await;
    let (guard, echo) = own_role_guard(&w, &ps);
    // idc-guard made this call (the reconciler creates missing desired assignments): journaled.
    let assignment = Assignment {
        instance_arn: InstanceArn::parse(&w.instance).unwrap(),
        account_id: AccountId::parse(ACCOUNT).unwrap(),
        permission_set_arn: PermissionSetArn::parse(&ps).unwrap(),
        principal_type: idc_guard::domain::PrincipalType::User,
        principal_id: USER_ID.to_owned(),
    };
    guard
        .gate()
        .record("CreateAccountAssignment", &assignment.resource_id())
        .await
        .unwrap();
    w.calls.clear();
    let report = Box::pin(guard.handle(&echo, today())).await.unwrap();
    assert!(report.reason.unwrap().contains("idc-guard's own change"));
    assert!(w.calls.all().is_empty(), "{:?}", w.calls.all());
    assert_eq!(w.assignments(&ps).await, 1);
}

#[tokio::test]
async fn a_change_by_idc_guards_role_that_its_journal_does_not_show_is_judged_and_reported() {
    let w = world(None).await;
    let ps = w.permission_set("DataEngineer", "PT1H", true).await;
    w.assign_user(&ps).await;
    let (guard, echo) = own_role_guard(&w, &ps);
    w.calls.clear();
    let report = Box::pin(guard.handle(&echo, today())).await.unwrap();
    let rules: Vec<&str> = report.outcomes.iter().map(|o| o.finding.rule.as_str()).collect();
    assert_eq!(
        rules,
        ["assignment-principal-type", "own-role-unrecorded-change"],
        "{report:?}"
    );
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated);
    assert_eq!(report.outcomes[1].kind, OutcomeKind::Detected);
    assert_eq!(w.calls.mutating(), REVERT_AND_REVOKE);
    assert_eq!(w.assignments(&ps).await, 0);
}

#[tokio::test]
async fn detect_mode_reports_the_same_plan_and_mutates_nothing() {
    let w = world(Some("mode = \"detect\"\n")).await;
    let ps = w.permission_set("DataEngineer", "PT1H", true).await;
    w.assign_user(&ps).await;
    w.calls.clear();
    let report = w.guard.handle(&w.user_assignment_event(&ps), today()).await.unwrap();
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Detected);
    assert!(matches!(
        report.outcomes[0].finding.remediation[..],
        [
            idc_guard::domain::Action::DeleteAccountAssignment { .. },
            idc_guard::domain::Action::RevokeSessions { .. }
        ]
    ));
    assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
    assert_eq!(w.assignments(&ps).await, 1);
}

#[tokio::test]
async fn a_malformed_event_makes_no_call_and_says_what_is_wrong() {
    let w = world(None).await;
    let ps = w.permission_set("DataEngineer", "PT1H", true).await;
    w.calls.clear();
    let bad = event(
        "sso.CreateAccountAssignment-user-violation.json",
        &[
            ("requestParameters.principalType", json!("ROBOT")),
            ("requestParameters.permissionSetArn", json!(ps)),
        ],
    );
    match w.guard.handle(&bad, today()).await {
        Err(GuardError::BadInput(e)) => assert_eq!(e.path, "detail.requestParameters.principalType"),
        other => panic!("{other:?}"),
    }
    assert!(w.calls.all().is_empty());
}

#[tokio::test]
async fn a_long_session_is_capped_keeping_description_and_relay_state() {
    let w = world(None).await;
    let ps = w.permission_set("DataEngineer", "PT12H", true).await;
    w.calls.clear();
    let report = w
        .guard
        .handle(
            &w.ps_event("sso.UpdatePermissionSet-long-session-violation.json", &ps),
            today(),
        )
        .await
        .unwrap();
    assert_eq!(report.outcomes.len(), 1, "{report:?}");
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated);
    assert_eq!(w.calls.mutating(), ["UpdatePermissionSet", "ProvisionPermissionSet"]);
    let out = w
        .sso
        .describe_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(&ps)
        .send()
        .await
        .unwrap();
    let set = out.permission_set().unwrap();
    assert_eq!(set.session_duration(), Some("PT8H"));
    assert_eq!(set.description(), Some("data platform engineers"));
    assert_eq!(set.relay_state(), Some("https://console.aws.amazon.com/s3"));
}

/// Values AWS accepts never make an event disappear (issue #13): an event whose session
/// duration does not decode still names its permission set, so the set is judged live; the
/// duration forms the model's pattern allows are read as it does.
#[tokio::test]
async fn a_session_duration_that_does_not_decode_still_gets_the_set_judged_live() {
    let w = world(None).await;
    let ps = w.permission_set("DataEngineer", "PT12H", true).await;
    for (n, logged) in [json!(43_200), json!("PT0012H"), json!("P0DT12H")]
        .into_iter()
        .enumerate()
    {
        w.update_permission_set(&ps, "PT12H", None, None).await;
        w.calls.clear();
        let event = w
            .permission_set_event("sso.UpdatePermissionSet-long-session-violation.json", &ps)
            .with("requestParameters.sessionDuration", logged.clone())
            .with("eventID", json!(format!("00000000-0000-0000-0000-00000000000{n}")));
        let report = w.guard.handle(&event.to_string(), today()).await.unwrap();
        assert_eq!(report.outcomes.len(), 1, "{logged}: {report:?}");
        assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated, "{logged}");
        assert_eq!(
            w.calls.mutating(),
            ["UpdatePermissionSet", "ProvisionPermissionSet"],
            "{logged}"
        );
    }
}

#[tokio::test]
async fn a_missing_boundary_is_put_back_and_provisioned() {
    let w = world(None).await;
    let ps = w.permission_set("DataEngineer", "PT1H", false).await;
    w.calls.clear();
    let report = w
        .guard
        .handle(
            &w.ps_event("sso.DeletePermissionsBoundaryFromPermissionSet-undetermined.json", &ps),
            today(),
        )
        .await
        .unwrap();
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated, "{report:?}");
    assert_eq!(
        w.calls.mutating(),
        ["PutPermissionsBoundaryToPermissionSet", "ProvisionPermissionSet"]
    );
    let got = w
        .sso
        .get_permissions_boundary_for_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(&ps)
        .send()
        .await
        .unwrap();
    let reference = got
        .permissions_boundary()
        .unwrap()
        .customer_managed_policy_reference()
        .unwrap();
    assert_eq!(reference.name(), "platform-boundary");
}

#[tokio::test]
async fn an_admin_set_without_boundary_is_left_alone() {
    let w = world(None).await;
    let ps = w.permission_set("PlatformAdmin", "PT1H", false).await;
    w.calls.clear();
    let report = w
        .guard
        .handle(
            &w.ps_event("sso.DeletePermissionsBoundaryFromPermissionSet-undetermined.json", &ps),
            today(),
        )
        .await
        .unwrap();
    assert!(report.outcomes.is_empty(), "{report:?}");
    assert!(w.calls.mutating().is_empty());
}

#[tokio::test]
async fn exactly_the_offending_inline_statements_are_removed() {
    let w = world(None).await;
    let ps = w.permission_set("DataEngineer", "PT1H", true).await;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"},{"Sid":"Escalate","Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;
    w.put_inline_policy(&ps, policy).await;
    w.calls.clear();
    let report = w
        .guard
        .handle(
            &w.ps_event("sso.PutInlinePolicyToPermissionSet-iam-undetermined.json", &ps),
            today(),
        )
        .await
        .unwrap();
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated, "{report:?}");
    assert_eq!(
        w.calls.mutating(),
        ["PutInlinePolicyToPermissionSet", "ProvisionPermissionSet"]
    );
    let remaining: Value = serde_json::from_str(&w.inline_policy(&ps).await).unwrap();
    assert_eq!(remaining["Statement"].as_array().unwrap().len(), 1);
    assert_eq!(remaining["Statement"][0]["Sid"], "Read");
}

#[tokio::test]
async fn a_forbidden_managed_policy_is_detached() {
    let w = world(None).await;
    let ps = w.permission_set("DataEngineer", "PT1H", true).await;
    w.attach_managed_policy(&ps, "arn:aws:iam::aws:policy/AdministratorAccess")
        .await;
    w.calls.clear();
    let report = w
        .guard
        .handle(
            &w.ps_event("sso.AttachManagedPolicyToPermissionSet-admin-undetermined.json", &ps),
            today(),
        )
        .await
        .unwrap();
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated, "{report:?}");
    assert_eq!(
        w.calls.mutating(),
        ["DetachManagedPolicyFromPermissionSet", "ProvisionPermissionSet"]
    );
    let left = w
        .sso
        .list_managed_policies_in_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(&ps)
        .send()
        .await
        .unwrap();
    assert!(left.attached_managed_policies().is_empty());
}

#[tokio::test]
async fn abac_attributes_are_restored_keeping_others() {
    let w = world(None).await;
    w.create_abac(&[("team", "${path:enterprise.division}"), ("site", "${path:locale}")])
        .await;
    w.calls.clear();
    let e = event(
        "sso.UpdateInstanceAccessControlAttributeConfiguration-wrong-source-violation.json",
        &[("requestParameters.instanceArn", json!(w.instance))],
    );
    let report = w.guard.handle(&e, today()).await.unwrap();
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated, "{report:?}");
    assert_eq!(
        w.calls.mutating(),
        ["UpdateInstanceAccessControlAttributeConfiguration"]
    );
    let got = w
        .sso
        .describe_instance_access_control_attribute_configuration()
        .instance_arn(&w.instance)
        .send()
        .await
        .unwrap();
    let attrs: Vec<(String, String)> = got
        .instance_access_control_attribute_configuration()
        .unwrap()
        .access_control_attributes()
        .iter()
        .map(|a| (a.key().to_owned(), a.value().unwrap().source()[0].clone()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("team".to_owned(), "${path:enterprise.department}".to_owned()),
            ("site".to_owned(), "${path:locale}".to_owned()),
            ("project".to_owned(), "${path:enterprise.costCenter}".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_hand_made_group_membership_is_removed_when_the_rule_enforces() {
    let w = world(Some(
        "mode = \"enforce\"\n[rules.identity-store-scim-only]\nmode = \"enforce\"\n",
    ))
    .await;
    let user = w
        .create_user(&User::new("mallory").display("Mallory").name("Mal", "Lory"))
        .await;
    let group = w.create_group("platform-admins").await;
    let membership = w.add_member(&group, &user).await;
    w.calls.clear();
    let e = event(
        "identitystore.CreateGroupMembership-violation.json",
        &[
            ("requestParameters.identityStoreId", json!(w.store)),
            ("requestParameters.groupId", json!(group)),
            ("requestParameters.memberId", json!({"userId": user})),
            ("responseElements.membershipId", json!(membership)),
            ("responseElements.identityStoreId", json!(w.store)),
        ],
    );
    let report = w.guard.handle(&e, today()).await.unwrap();
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated, "{report:?}");
    assert_eq!(w.calls.mutating(), ["DeleteGroupMembership"]);
    let left = w
        .ids
        .list_group_memberships()
        .identity_store_id(&w.store)
        .group_id(&group)
        .send()
        .await
        .unwrap();
    assert!(left.group_memberships().is_empty());
}

#[tokio::test]
async fn other_identity_store_writes_are_reported_not_reverted() {
    let w = world(Some(
        "mode = \"enforce\"\n[rules.identity-store-scim-only]\nmode = \"enforce\"\n",
    ))
    .await;
    w.calls.clear();
    let e = event(
        "identitystore.CreateUser-violation.json",
        &[("requestParameters.identityStoreId", json!(w.store))],
    );
    let report = w.guard.handle(&e, today()).await.unwrap();
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Detected, "{report:?}");
    assert!(w.calls.all().is_empty());
}
