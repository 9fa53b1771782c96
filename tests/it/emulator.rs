//! The AWS emulator through the Rust SDK: one test per sso-admin operation that
//! tests/emulator/idc_guard_moto.py adds to moto or corrects, asserting on the state read back,
//! and the harness's own life cycle (ready, reset, stopped on drop).

use std::net::{Ipv4Addr, TcpStream};

use aws_sdk_ssoadmin::Client;
use aws_sdk_ssoadmin::types::{
    AccessControlAttribute, AccessControlAttributeValue, CustomerManagedPolicyReference,
    InstanceAccessControlAttributeConfiguration, InstanceAccessControlAttributeConfigurationStatus,
    PermissionSetProvisioningStatus, PermissionsBoundary, PrincipalType, ProvisionTargetType, ProvisioningStatus,
    StatusValues, Tag, TargetType,
};
use idc_guard_tests::emulator::Emulator;
use idc_guard_tests::world::{PermissionSet, World};

const ACCOUNT_A: &str = "111111111111";
const ACCOUNT_B: &str = "222222222222";
const GROUP: &str = "9067a1b2c3-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

/// A fresh emulator, a client for it, and its instance ARN.
async fn setup() -> (Emulator, Client, String) {
    let World {
        emulator,
        sso,
        instance,
        ..
    } = World::builder().build().await;
    (emulator, sso, instance)
}

async fn permission_set(client: &Client, instance: &str, name: &str) -> String {
    PermissionSet::new(name).session("PT4H").create(client, instance).await
}

/// ProvisionPermissionSet to one account, or (`None`) to every provisioned account; its status.
async fn provision(
    client: &Client,
    instance: &str,
    ps: &str,
    account: Option<&str>,
) -> PermissionSetProvisioningStatus {
    let target = match account {
        Some(_) => ProvisionTargetType::AwsAccount,
        None => ProvisionTargetType::AllProvisionedAccounts,
    };
    client
        .provision_permission_set()
        .instance_arn(instance)
        .permission_set_arn(ps)
        .target_type(target)
        .set_target_id(account.map(str::to_owned))
        .send()
        .await
        .unwrap()
        .permission_set_provisioning_status()
        .cloned()
        .unwrap()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

fn attribute(key: &str, source: &str) -> AccessControlAttribute {
    AccessControlAttribute::builder()
        .key(key)
        .value(AccessControlAttributeValue::builder().source(source).build().unwrap())
        .build()
        .unwrap()
}

fn abac(attributes: Vec<AccessControlAttribute>) -> InstanceAccessControlAttributeConfiguration {
    InstanceAccessControlAttributeConfiguration::builder()
        .set_access_control_attributes(Some(attributes))
        .build()
        .unwrap()
}

fn customer_managed(reference: CustomerManagedPolicyReference) -> PermissionsBoundary {
    PermissionsBoundary::builder()
        .customer_managed_policy_reference(reference)
        .build()
}

async fn put_boundary(client: &Client, instance: &str, ps: &str, boundary: PermissionsBoundary) {
    client
        .put_permissions_boundary_to_permission_set()
        .instance_arn(instance)
        .permission_set_arn(ps)
        .permissions_boundary(boundary)
        .send()
        .await
        .unwrap();
}

async fn boundary(client: &Client, instance: &str, ps: &str) -> Option<PermissionsBoundary> {
    match client
        .get_permissions_boundary_for_permission_set()
        .instance_arn(instance)
        .permission_set_arn(ps)
        .send()
        .await
    {
        Ok(out) => out.permissions_boundary().cloned(),
        Err(e) => {
            assert!(e.into_service_error().is_resource_not_found_exception());
            None
        }
    }
}

async fn tags(client: &Client, instance: Option<&str>, resource: &str) -> Vec<(String, String)> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let out = client
            .list_tags_for_resource()
            .set_instance_arn(instance.map(str::to_owned))
            .resource_arn(resource)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        all.extend(out.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())));
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return all;
        }
    }
}

async fn accounts_for(client: &Client, instance: &str, ps: &str, status: Option<ProvisioningStatus>) -> Vec<String> {
    client
        .list_accounts_for_provisioned_permission_set()
        .instance_arn(instance)
        .permission_set_arn(ps)
        .set_provisioning_status(status)
        .send()
        .await
        .unwrap()
        .account_ids()
        .to_vec()
}

async fn sets_in(client: &Client, instance: &str, account: &str, status: Option<ProvisioningStatus>) -> Vec<String> {
    client
        .list_permission_sets_provisioned_to_account()
        .instance_arn(instance)
        .account_id(account)
        .set_provisioning_status(status)
        .send()
        .await
        .unwrap()
        .permission_sets()
        .to_vec()
}

// ---- the harness --------------------------------------------------------------------------

#[test]
fn dropping_the_emulator_stops_the_server() {
    let emulator = Emulator::start();
    let port = emulator.port();
    assert!(
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok(),
        "the server listens"
    );
    let log = emulator.log_path().to_owned();
    drop(emulator);
    let refused = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(!log.exists(), "the log of a passing test is removed");
}

#[tokio::test]
async fn reset_wipes_state_and_recreates_the_instance() {
    let (emulator, client, instance) = setup().await;
    permission_set(&client, &instance, "Before").await;
    emulator.reset();
    let (after, store) = emulator.instance().await;
    assert_ne!(after, instance);
    assert!(store.starts_with("d-"), "{store}");
    let sets = client.list_permission_sets().instance_arn(&after).send().await.unwrap();
    assert!(sets.permission_sets().is_empty());
}

// ---- CreatePermissionSet / UpdatePermissionSet (corrected) -------------------------------------

#[tokio::test]
async fn create_permission_set_has_aws_arn_and_default_session_duration() {
    let (_emulator, client, instance) = setup().await;
    let created = client
        .create_permission_set()
        .instance_arn(&instance)
        .name("Defaults")
        .send()
        .await
        .unwrap();
    let ps = created.permission_set().unwrap();
    let arn = ps.permission_set_arn().unwrap();
    let instance_id = instance.rsplit('/').next().unwrap();
    assert!(
        arn.starts_with(&format!("arn:aws:sso:::permissionSet/{instance_id}/ps-")),
        "{arn}"
    );
    assert_eq!(arn.rsplit('/').next().unwrap().len(), "ps-".len() + 16, "{arn}");
    assert!(idc_guard::domain::PermissionSetArn::parse(arn).is_ok(), "{arn}");
    assert_eq!(ps.session_duration(), Some("PT1H"));
    let described = client
        .describe_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.permission_set().unwrap().session_duration(), Some("PT1H"));
}

#[tokio::test]
async fn update_permission_set_keeps_members_not_given() {
    let (_emulator, client, instance) = setup().await;
    let arn = PermissionSet::new("Keep")
        .description("kept")
        .session("PT2H")
        .relay_state("https://console.aws.amazon.com/")
        .create(&client, &instance)
        .await;
    client
        .update_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&arn)
        .session_duration("PT8H")
        .send()
        .await
        .unwrap();
    let out = client
        .describe_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&arn)
        .send()
        .await
        .unwrap();
    let ps = out.permission_set().unwrap();
    assert_eq!(ps.session_duration(), Some("PT8H"));
    assert_eq!(ps.description(), Some("kept"));
    assert_eq!(ps.relay_state(), Some("https://console.aws.amazon.com/"));
}

// ---- permissions boundary (added) -------------------------------------------------------------

#[tokio::test]
async fn put_permissions_boundary_then_get_returns_it() {
    let (_emulator, client, instance) = setup().await;
    let ps = permission_set(&client, &instance, "Dev").await;
    let reference = CustomerManagedPolicyReference::builder()
        .name("idc-guard-boundary")
        .build()
        .unwrap();
    put_boundary(&client, &instance, &ps, customer_managed(reference)).await;
    let got = boundary(&client, &instance, &ps).await.unwrap();
    let got_ref = got.customer_managed_policy_reference().unwrap();
    assert_eq!(got_ref.name(), "idc-guard-boundary");
    assert_eq!(got_ref.path(), Some("/"), "Path defaults to /");
    assert_eq!(got.managed_policy_arn(), None);

    // A second put replaces the boundary.
    let managed = "arn:aws:iam::aws:policy/PowerUserAccess";
    put_boundary(
        &client,
        &instance,
        &ps,
        PermissionsBoundary::builder().managed_policy_arn(managed).build(),
    )
    .await;
    let got = boundary(&client, &instance, &ps).await.unwrap();
    assert_eq!(got.managed_policy_arn(), Some(managed));
    assert!(got.customer_managed_policy_reference().is_none());
}

#[tokio::test]
async fn get_permissions_boundary_without_one_is_not_found() {
    let (_emulator, client, instance) = setup().await;
    let ps = permission_set(&client, &instance, "NoBoundary").await;
    assert_eq!(boundary(&client, &instance, &ps).await, None);
}

#[tokio::test]
async fn delete_permissions_boundary_removes_it() {
    let (_emulator, client, instance) = setup().await;
    let ps = permission_set(&client, &instance, "Dev").await;
    let reference = CustomerManagedPolicyReference::builder()
        .name("b")
        .path("/guard/")
        .build()
        .unwrap();
    put_boundary(&client, &instance, &ps, customer_managed(reference)).await;
    client
        .delete_permissions_boundary_from_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&ps)
        .send()
        .await
        .unwrap();
    assert_eq!(boundary(&client, &instance, &ps).await, None);
    // Nothing left to delete.
    let err = client
        .delete_permissions_boundary_from_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&ps)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn permissions_boundary_on_an_unknown_permission_set_is_not_found() {
    let (_emulator, client, instance) = setup().await;
    let instance_id = instance.rsplit('/').next().unwrap();
    let unknown = format!("arn:aws:sso:::permissionSet/{instance_id}/ps-0000000000000000");
    let err = client
        .put_permissions_boundary_to_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&unknown)
        .permissions_boundary(
            PermissionsBoundary::builder()
                .managed_policy_arn("arn:aws:iam::aws:policy/PowerUserAccess")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = client
        .get_permissions_boundary_for_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&unknown)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn put_permissions_boundary_needs_exactly_one_kind() {
    let (_emulator, client, instance) = setup().await;
    let ps = permission_set(&client, &instance, "Dev").await;
    let err = client
        .put_permissions_boundary_to_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&ps)
        .permissions_boundary(PermissionsBoundary::builder().build())
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_validation_exception());
    assert_eq!(boundary(&client, &instance, &ps).await, None);
}

// ---- ABAC: instance access control attribute configuration (added) ----------------------------

#[tokio::test]
async fn abac_configuration_create_describe_update_delete() {
    let (_emulator, client, instance) = setup().await;
    client
        .create_instance_access_control_attribute_configuration()
        .instance_arn(&instance)
        .instance_access_control_attribute_configuration(abac(vec![
            attribute("team", "${path:enterprise.department}"),
            attribute("project", "${path:enterprise.costCenter}"),
        ]))
        .send()
        .await
        .unwrap();

    let described = client
        .describe_instance_access_control_attribute_configuration()
        .instance_arn(&instance)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.status(),
        Some(&InstanceAccessControlAttributeConfigurationStatus::Enabled)
    );
    let attributes: Vec<(&str, &[String])> = described
        .instance_access_control_attribute_configuration()
        .unwrap()
        .access_control_attributes()
        .iter()
        .map(|a| (a.key(), a.value().unwrap().source()))
        .collect();
    assert_eq!(
        attributes,
        vec![
            ("team", &["${path:enterprise.department}".to_owned()][..]),
            ("project", &["${path:enterprise.costCenter}".to_owned()][..]),
        ]
    );

    client
        .update_instance_access_control_attribute_configuration()
        .instance_arn(&instance)
        .instance_access_control_attribute_configuration(abac(vec![attribute("team", "${path:enterprise.division}")]))
        .send()
        .await
        .unwrap();
    let described = client
        .describe_instance_access_control_attribute_configuration()
        .instance_arn(&instance)
        .send()
        .await
        .unwrap();
    let config = described.instance_access_control_attribute_configuration().unwrap();
    assert_eq!(config.access_control_attributes().len(), 1);
    assert_eq!(config.access_control_attributes()[0].key(), "team");
    assert_eq!(
        config.access_control_attributes()[0].value().unwrap().source(),
        ["${path:enterprise.division}"]
    );

    client
        .delete_instance_access_control_attribute_configuration()
        .instance_arn(&instance)
        .send()
        .await
        .unwrap();
    let err = client
        .describe_instance_access_control_attribute_configuration()
        .instance_arn(&instance)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn abac_configuration_created_twice_is_a_conflict() {
    let (_emulator, client, instance) = setup().await;
    let create = || {
        client
            .create_instance_access_control_attribute_configuration()
            .instance_arn(&instance)
            .instance_access_control_attribute_configuration(abac(vec![attribute(
                "team",
                "${path:enterprise.department}",
            )]))
            .send()
    };
    create().await.unwrap();
    let err = create().await.unwrap_err();
    assert!(err.into_service_error().is_conflict_exception());
}

#[tokio::test]
async fn abac_configuration_update_or_delete_without_one_is_not_found() {
    let (_emulator, client, instance) = setup().await;
    let err = client
        .update_instance_access_control_attribute_configuration()
        .instance_arn(&instance)
        .instance_access_control_attribute_configuration(abac(vec![attribute("team", "x")]))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = client
        .delete_instance_access_control_attribute_configuration()
        .instance_arn(&instance)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = client
        .describe_instance_access_control_attribute_configuration()
        .instance_arn(&instance)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
}

// ---- tags (added) ------------------------------------------------------------------------------

#[tokio::test]
async fn tags_given_at_creation_are_listed() {
    let (_emulator, client, instance) = setup().await;
    let ps = PermissionSet::new("Tagged")
        .tag("owner", "platform")
        .tag("cost-center", "42")
        .create(&client, &instance)
        .await;
    assert_eq!(
        tags(&client, Some(&instance), &ps).await,
        vec![
            ("owner".to_owned(), "platform".to_owned()),
            ("cost-center".to_owned(), "42".to_owned())
        ]
    );
    // InstanceArn is optional.
    assert_eq!(tags(&client, None, &ps).await.len(), 2);
}

#[tokio::test]
async fn tag_resource_adds_and_overwrites() {
    let (_emulator, client, instance) = setup().await;
    let ps = permission_set(&client, &instance, "Dev").await;
    assert!(tags(&client, Some(&instance), &ps).await.is_empty());
    client
        .tag_resource()
        .instance_arn(&instance)
        .resource_arn(&ps)
        .tags(tag("owner", "a"))
        .tags(tag("env", "prod"))
        .send()
        .await
        .unwrap();
    client
        .tag_resource()
        .instance_arn(&instance)
        .resource_arn(&ps)
        .tags(tag("owner", "b"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags(&client, Some(&instance), &ps).await,
        vec![
            ("owner".to_owned(), "b".to_owned()),
            ("env".to_owned(), "prod".to_owned())
        ]
    );
    // The instance is taggable too, separately.
    client
        .tag_resource()
        .instance_arn(&instance)
        .resource_arn(&instance)
        .tags(tag("scope", "org"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags(&client, Some(&instance), &instance).await,
        vec![("scope".to_owned(), "org".to_owned())]
    );
    assert_eq!(tags(&client, Some(&instance), &ps).await.len(), 2);
}

#[tokio::test]
async fn untag_resource_removes_only_the_given_keys() {
    let (_emulator, client, instance) = setup().await;
    let ps = PermissionSet::new("Tagged")
        .tag("owner", "platform")
        .tag("env", "prod")
        .create(&client, &instance)
        .await;
    client
        .untag_resource()
        .instance_arn(&instance)
        .resource_arn(&ps)
        .tag_keys("owner")
        .tag_keys("absent")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags(&client, Some(&instance), &ps).await,
        vec![("env".to_owned(), "prod".to_owned())]
    );
}

#[tokio::test]
async fn list_tags_for_resource_paginates() {
    let (_emulator, client, instance) = setup().await;
    let ps = permission_set(&client, &instance, "ManyTags").await;
    let mut request = client.tag_resource().instance_arn(&instance).resource_arn(&ps);
    for i in 0..60 {
        request = request.tags(tag(&format!("k{i:02}"), &i.to_string()));
    }
    request.send().await.unwrap();
    let first = client
        .list_tags_for_resource()
        .instance_arn(&instance)
        .resource_arn(&ps)
        .send()
        .await
        .unwrap();
    assert_eq!(first.tags().len(), 50);
    assert!(first.next_token().is_some());
    let all = tags(&client, Some(&instance), &ps).await;
    let keys: Vec<String> = all.into_iter().map(|(k, _)| k).collect();
    let expected: Vec<String> = (0..60).map(|i| format!("k{i:02}")).collect();
    assert_eq!(keys, expected);
}

#[tokio::test]
async fn tags_of_an_unknown_permission_set_are_not_found() {
    let (_emulator, client, instance) = setup().await;
    let instance_id = instance.rsplit('/').next().unwrap();
    let unknown = format!("arn:aws:sso:::permissionSet/{instance_id}/ps-0000000000000000");
    let err = client
        .list_tags_for_resource()
        .instance_arn(&instance)
        .resource_arn(&unknown)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = client
        .tag_resource()
        .instance_arn(&instance)
        .resource_arn(&unknown)
        .tags(tag("k", "v"))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
}

// ---- provisioning (corrected and added) ------------------------------------------------------------

#[tokio::test]
async fn provision_to_an_account_lists_exactly_that_account() {
    let (_emulator, client, instance) = setup().await;
    let ps = permission_set(&client, &instance, "Dev").await;
    let other = permission_set(&client, &instance, "Other").await;
    assert!(accounts_for(&client, &instance, &ps, None).await.is_empty());
    let status = provision(&client, &instance, &ps, Some(ACCOUNT_A)).await;
    assert_eq!(status.status(), Some(&StatusValues::Succeeded));
    assert_eq!(status.account_id(), Some(ACCOUNT_A));
    assert_eq!(status.permission_set_arn(), Some(ps.as_str()));
    assert!(status.created_date().is_some());
    assert_eq!(status.request_id().map(str::len), Some(36), "a UUID");

    // Provisioning again does not duplicate anything.
    provision(&client, &instance, &ps, Some(ACCOUNT_A)).await;
    assert_eq!(accounts_for(&client, &instance, &ps, None).await, [ACCOUNT_A]);
    assert!(accounts_for(&client, &instance, &other, None).await.is_empty());
    assert_eq!(sets_in(&client, &instance, ACCOUNT_A, None).await, [ps.as_str()]);
    assert!(sets_in(&client, &instance, ACCOUNT_B, None).await.is_empty());
}

#[tokio::test]
async fn describe_permission_set_provisioning_status_returns_the_request() {
    let (_emulator, client, instance) = setup().await;
    let ps = permission_set(&client, &instance, "Dev").await;
    let submitted = provision(&client, &instance, &ps, Some(ACCOUNT_B)).await;
    let request_id = submitted.request_id().unwrap();
    let described = client
        .describe_permission_set_provisioning_status()
        .instance_arn(&instance)
        .provision_permission_set_request_id(request_id)
        .send()
        .await
        .unwrap()
        .permission_set_provisioning_status()
        .cloned()
        .unwrap();
    assert_eq!(described, submitted);
    assert_eq!(described.status(), Some(&StatusValues::Succeeded));

    let err = client
        .describe_permission_set_provisioning_status()
        .instance_arn(&instance)
        .provision_permission_set_request_id("00000000-0000-4000-8000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn provisioned_accounts_follow_assignments_and_changes() {
    let (_emulator, client, instance) = setup().await;
    let ps = permission_set(&client, &instance, "Dev").await;
    // An assignment provisions the set to its account.
    client
        .create_account_assignment()
        .instance_arn(&instance)
        .permission_set_arn(&ps)
        .target_type(TargetType::AwsAccount)
        .target_id(ACCOUNT_B)
        .principal_type(PrincipalType::Group)
        .principal_id(GROUP)
        .send()
        .await
        .unwrap();
    provision(&client, &instance, &ps, Some(ACCOUNT_A)).await;
    assert_eq!(
        accounts_for(&client, &instance, &ps, None).await,
        [ACCOUNT_B, ACCOUNT_A]
    );
    let latest = Some(ProvisioningStatus::LatestPermissionSetProvisioned);
    let stale = Some(ProvisioningStatus::LatestPermissionSetNotProvisioned);
    assert!(sets_in(&client, &instance, ACCOUNT_B, stale.clone()).await.is_empty());

    // A change is not pushed until ProvisionPermissionSet.
    client
        .put_inline_policy_to_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&ps)
        .inline_policy(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sets_in(&client, &instance, ACCOUNT_B, stale.clone()).await,
        [ps.as_str()]
    );
    assert!(accounts_for(&client, &instance, &ps, latest.clone()).await.is_empty());

    let status = provision(&client, &instance, &ps, None).await;
    assert_eq!(status.account_id(), None, "no AccountId for ALL_PROVISIONED_ACCOUNTS");
    assert_eq!(
        accounts_for(&client, &instance, &ps, latest).await,
        [ACCOUNT_B, ACCOUNT_A]
    );
    assert!(accounts_for(&client, &instance, &ps, stale).await.is_empty());

    // Deleting the last assignment in an account deprovisions the set there.
    client
        .delete_account_assignment()
        .instance_arn(&instance)
        .permission_set_arn(&ps)
        .target_type(TargetType::AwsAccount)
        .target_id(ACCOUNT_B)
        .principal_type(PrincipalType::Group)
        .principal_id(GROUP)
        .send()
        .await
        .unwrap();
    assert_eq!(accounts_for(&client, &instance, &ps, None).await, [ACCOUNT_A]);
    assert!(sets_in(&client, &instance, ACCOUNT_B, None).await.is_empty());
}

#[tokio::test]
async fn provision_to_an_account_needs_a_target_id() {
    let (_emulator, client, instance) = setup().await;
    let ps = permission_set(&client, &instance, "Dev").await;
    let err = client
        .provision_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&ps)
        .target_type(ProvisionTargetType::AwsAccount)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_validation_exception());
    assert!(accounts_for(&client, &instance, &ps, None).await.is_empty());
}

// ---- CreateAccountAssignment (corrected) -------------------------------------------------------

#[tokio::test]
async fn duplicate_account_assignment_is_a_conflict_and_stored_once() {
    let (_emulator, client, instance) = setup().await;
    let ps = permission_set(&client, &instance, "Dev").await;
    let create = || {
        client
            .create_account_assignment()
            .instance_arn(&instance)
            .permission_set_arn(&ps)
            .target_type(TargetType::AwsAccount)
            .target_id(ACCOUNT_A)
            .principal_type(PrincipalType::Group)
            .principal_id(GROUP)
            .send()
    };
    let first = create().await.unwrap();
    assert_eq!(
        first.account_assignment_creation_status().and_then(|s| s.status()),
        Some(&StatusValues::Succeeded)
    );
    let err = create().await.unwrap_err();
    assert!(err.into_service_error().is_conflict_exception());
    let listed = client
        .list_account_assignments()
        .instance_arn(&instance)
        .account_id(ACCOUNT_A)
        .permission_set_arn(&ps)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.account_assignments().len(), 1);
    assert_eq!(listed.account_assignments()[0].principal_id(), Some(GROUP));
}

// ---- DescribeAccountAssignmentCreationStatus (corrected) ---------------------------------------

/// AWS keeps a creation request's status once the assignment is deleted (a Terraform waiter
/// polling it after a guard's revert sees SUCCEEDED, not "not found"); an unknown request id is
/// still not found.
#[tokio::test]
async fn a_creation_status_outlives_its_assignment() {
    let (_emulator, client, instance) = setup().await;
    let ps = permission_set(&client, &instance, "Dev").await;
    let created = client
        .create_account_assignment()
        .instance_arn(&instance)
        .permission_set_arn(&ps)
        .target_type(TargetType::AwsAccount)
        .target_id(ACCOUNT_A)
        .principal_type(PrincipalType::Group)
        .principal_id(GROUP)
        .send()
        .await
        .unwrap();
    let request = created
        .account_assignment_creation_status()
        .and_then(|s| s.request_id())
        .unwrap()
        .to_owned();
    client
        .delete_account_assignment()
        .instance_arn(&instance)
        .permission_set_arn(&ps)
        .target_type(TargetType::AwsAccount)
        .target_id(ACCOUNT_A)
        .principal_type(PrincipalType::Group)
        .principal_id(GROUP)
        .send()
        .await
        .unwrap();
    let status = client
        .describe_account_assignment_creation_status()
        .instance_arn(&instance)
        .account_assignment_creation_request_id(&request)
        .send()
        .await
        .unwrap();
    let status = status.account_assignment_creation_status().unwrap();
    assert_eq!(status.status(), Some(&StatusValues::Succeeded));
    assert_eq!(status.request_id(), Some(request.as_str()));
    let unknown = client
        .describe_account_assignment_creation_status()
        .instance_arn(&instance)
        .account_assignment_creation_request_id("b2c0f6c4-0000-4000-8000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert!(unknown.into_service_error().is_resource_not_found_exception());
}
