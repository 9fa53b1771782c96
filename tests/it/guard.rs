//! The remediation engine against the emulator: for every rule, seed a violating state through
//! the SDK, deliver the event, then assert the emulator's state is compliant and exactly which
//! mutating calls were made.

use aws_sdk_identitystore::types::{MemberId, Name};
use aws_sdk_ssoadmin::types::{
    AccessControlAttribute, AccessControlAttributeValue, CustomerManagedPolicyReference,
    InstanceAccessControlAttributeConfiguration, PermissionsBoundary, PrincipalType, TargetType,
};
use idc_guard::adapters::{IdentityStoreApi, SsoAdmin};
use idc_guard::domain::Date;
use idc_guard::domain::OutcomeKind;
use idc_guard::domain::{IdentityStoreId, InstanceArn};
use idc_guard::guard::{Guard, GuardError};
use idc_guard::notify::LoggingNotifier;
use idc_guard::policy::Policy;
use idc_guard::retry::RetryPolicy;
use idc_guard_tests::calls::CallRecorder;
use idc_guard_tests::emulator::Emulator;
use idc_guard_tests::repo_root;
use serde_json::{Value, json};

const ACCOUNT: &str = "333333333333";
const USER_ID: &str = "34887428-4081-7042-c3c6-928d413009e7";

struct World {
    _emulator: Emulator,
    sso: aws_sdk_ssoadmin::Client,
    ids: aws_sdk_identitystore::Client,
    instance: String,
    store: String,
    calls: CallRecorder,
    guard: Guard<SsoAdmin, IdentityStoreApi, LoggingNotifier>,
}

fn today() -> Date {
    Date::new(2026, 11, 27).unwrap()
}

async fn world(policy_toml: Option<&str>) -> World {
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let (instance, store) = emulator.instance().await;
    let calls = CallRecorder::default();
    let mut policy = match policy_toml {
        Some(text) => Policy::from_toml("test.toml", text).unwrap(),
        None => Policy::load(&repo_root().join("policy/guardrail.toml")).unwrap(),
    };
    policy.instance_arn = Some(InstanceArn::parse(&instance).unwrap());
    policy.identity_store_id = Some(IdentityStoreId::parse(&store).unwrap());
    let recorded_sso = aws_sdk_ssoadmin::Client::from_conf(
        aws_sdk_ssoadmin::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let recorded_ids = aws_sdk_identitystore::Client::from_conf(
        aws_sdk_identitystore::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let guard = Guard::new(
        SsoAdmin::new(recorded_sso, RetryPolicy::immediate()),
        IdentityStoreApi::new(recorded_ids, RetryPolicy::immediate()),
        LoggingNotifier,
        policy,
    );
    World {
        sso: aws_sdk_ssoadmin::Client::new(&sdk),
        ids: aws_sdk_identitystore::Client::new(&sdk),
        _emulator: emulator,
        instance,
        store,
        calls,
        guard,
    }
}

/// A fixture with fields of `detail` replaced (paths like `requestParameters.targetId`).
fn event(fixture: &str, edits: &[(&str, Value)]) -> String {
    let text = std::fs::read_to_string(repo_root().join("events").join(fixture)).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    for (path, value) in edits {
        let mut node = &mut v["detail"];
        for key in path.split('.') {
            node = &mut node[key];
        }
        *node = value.clone();
    }
    v.to_string()
}

impl World {
    async fn permission_set(&self, name: &str, duration: &str, boundary: bool) -> String {
        let out = self
            .sso
            .create_permission_set()
            .instance_arn(&self.instance)
            .name(name)
            .description("data platform engineers")
            .session_duration(duration)
            .relay_state("https://console.aws.amazon.com/s3")
            .send()
            .await
            .unwrap();
        let arn = out.permission_set().unwrap().permission_set_arn().unwrap().to_owned();
        if boundary {
            self.sso
                .put_permissions_boundary_to_permission_set()
                .instance_arn(&self.instance)
                .permission_set_arn(&arn)
                .permissions_boundary(
                    PermissionsBoundary::builder()
                        .customer_managed_policy_reference(
                            CustomerManagedPolicyReference::builder()
                                .name("platform-boundary")
                                .path("/")
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        arn
    }

    async fn assign_user(&self, ps: &str) {
        self.sso
            .create_account_assignment()
            .instance_arn(&self.instance)
            .target_id(ACCOUNT)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(ps)
            .principal_type(PrincipalType::User)
            .principal_id(USER_ID)
            .send()
            .await
            .unwrap();
    }

    async fn assignments(&self, ps: &str) -> usize {
        self.sso
            .list_account_assignments()
            .instance_arn(&self.instance)
            .account_id(ACCOUNT)
            .permission_set_arn(ps)
            .send()
            .await
            .unwrap()
            .account_assignments()
            .len()
    }

    fn user_assignment_event(&self, ps: &str) -> String {
        event(
            "sso.CreateAccountAssignment-user-violation.json",
            &[
                ("requestParameters.instanceArn", json!(self.instance)),
                ("requestParameters.permissionSetArn", json!(ps)),
                ("requestParameters.targetId", json!(ACCOUNT)),
                ("requestParameters.principalId", json!(USER_ID)),
            ],
        )
    }

    fn ps_event(&self, fixture: &str, ps: &str) -> String {
        event(
            fixture,
            &[
                ("requestParameters.instanceArn", json!(self.instance)),
                ("requestParameters.permissionSetArn", json!(ps)),
            ],
        )
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
    assert_eq!(report.outcomes[0].calls, ["DeleteAccountAssignment"]);
    assert_eq!(
        w.calls.all(),
        [
            "ListAccountAssignments",
            "DeleteAccountAssignment",
            "DescribeAccountAssignmentDeletionStatus",
            "ListAccountAssignments"
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
    assert_eq!(w.calls.mutating(), ["DeleteAccountAssignment"]);
    assert_eq!(w.assignments(&ps).await, 0);
}

#[tokio::test]
async fn idc_guards_own_echo_makes_no_call_at_all() {
    let w = world(None).await;
    let ps = w.permission_set("DataEngineer", "PT1H", true).await;
    w.assign_user(&ps).await;
    w.calls.clear();
    let echo = event(
        "sso.CreateAccountAssignment-own-echo-ignored.json",
        &[
            ("requestParameters.instanceArn", json!(w.instance)),
            ("requestParameters.permissionSetArn", json!(ps)),
            ("requestParameters.targetId", json!(ACCOUNT)),
            ("requestParameters.principalId", json!(USER_ID)),
        ],
    );
    let report = w.guard.handle(&echo, today()).await.unwrap();
    assert!(report.reason.unwrap().contains("idc-guard's own change"));
    assert!(w.calls.all().is_empty(), "{:?}", w.calls.all());
    assert_eq!(w.assignments(&ps).await, 1);
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
        [idc_guard::domain::Action::DeleteAccountAssignment { .. }]
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
    w.sso
        .put_inline_policy_to_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(&ps)
        .inline_policy(policy)
        .send()
        .await
        .unwrap();
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
    let got = w
        .sso
        .get_inline_policy_for_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(&ps)
        .send()
        .await
        .unwrap();
    let remaining: Value = serde_json::from_str(got.inline_policy().unwrap()).unwrap();
    assert_eq!(remaining["Statement"].as_array().unwrap().len(), 1);
    assert_eq!(remaining["Statement"][0]["Sid"], "Read");
}

#[tokio::test]
async fn a_forbidden_managed_policy_is_detached() {
    let w = world(None).await;
    let ps = w.permission_set("DataEngineer", "PT1H", true).await;
    w.sso
        .attach_managed_policy_to_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(&ps)
        .managed_policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
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
    let attr = |k: &str, s: &str| {
        AccessControlAttribute::builder()
            .key(k)
            .value(AccessControlAttributeValue::builder().source(s).build().unwrap())
            .build()
            .unwrap()
    };
    w.sso
        .create_instance_access_control_attribute_configuration()
        .instance_arn(&w.instance)
        .instance_access_control_attribute_configuration(
            InstanceAccessControlAttributeConfiguration::builder()
                .access_control_attributes(attr("team", "${path:enterprise.division}"))
                .access_control_attributes(attr("site", "${path:locale}"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
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
        .ids
        .create_user()
        .identity_store_id(&w.store)
        .user_name("mallory")
        .display_name("Mallory")
        .name(Name::builder().given_name("Mal").family_name("Lory").build())
        .send()
        .await
        .unwrap()
        .user_id()
        .to_owned();
    let group = w
        .ids
        .create_group()
        .identity_store_id(&w.store)
        .display_name("platform-admins")
        .send()
        .await
        .unwrap()
        .group_id()
        .to_owned();
    let membership = w
        .ids
        .create_group_membership()
        .identity_store_id(&w.store)
        .group_id(&group)
        .member_id(MemberId::UserId(user.clone()))
        .send()
        .await
        .unwrap()
        .membership_id()
        .to_owned();
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
