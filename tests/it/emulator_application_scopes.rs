//! The emulator's sso-admin customer managed applications and access scopes
//! (`tests/emulator/idc_guard_moto.py`, added to moto for issue #19) through aws-sdk-ssoadmin:
//! create, describe, list (filters, pages), delete; put adds or replaces a scope, get, list and
//! delete; every validation and not-found error as the SDK's typed variant; tags; reset; the
//! CloudTrail record of a scope granted.

use aws_sdk_ssoadmin::Client;
use aws_sdk_ssoadmin::operation::create_application::CreateApplicationError;
use aws_sdk_ssoadmin::operation::delete_application::DeleteApplicationError;
use aws_sdk_ssoadmin::operation::delete_application_access_scope::DeleteApplicationAccessScopeError;
use aws_sdk_ssoadmin::operation::describe_application::DescribeApplicationError;
use aws_sdk_ssoadmin::operation::get_application_access_scope::GetApplicationAccessScopeError;
use aws_sdk_ssoadmin::operation::list_application_access_scopes::ListApplicationAccessScopesError;
use aws_sdk_ssoadmin::operation::list_applications::ListApplicationsError;
use aws_sdk_ssoadmin::operation::put_application_access_scope::PutApplicationAccessScopeError;
use aws_sdk_ssoadmin::types::{ApplicationStatus, ListApplicationsFilter, Tag};
use idc_guard_tests::emulator::Emulator;

const CUSTOM: &str = "arn:aws:sso::aws:applicationProvider/custom";
const ACCOUNT_ACCESS: &str = "sso:account:access";
const EMULATOR_ACCOUNT: &str = "123456789012";

/// A fresh emulator, an sso-admin client for it, and its instance ARN.
async fn setup() -> (Emulator, Client, String) {
    let emulator = Emulator::start();
    let client = Client::new(&emulator.sdk_config().await);
    let (instance, _) = emulator.instance().await;
    (emulator, client, instance)
}

async fn create(client: &Client, instance: &str, name: &str) -> String {
    client
        .create_application()
        .instance_arn(instance)
        .application_provider_arn(CUSTOM)
        .name(name)
        .send()
        .await
        .unwrap()
        .application_arn()
        .unwrap()
        .to_owned()
}

/// A well-formed application ARN of `instance` that was never created.
fn missing(instance: &str) -> String {
    let id = instance.rsplit('/').next().unwrap();
    format!("arn:aws:sso::{EMULATOR_ACCOUNT}:application/{id}/apl-0000000000000000")
}

async fn list_all(
    client: &Client,
    instance: &str,
    filter: Option<ListApplicationsFilter>,
    page: Option<i32>,
) -> (Vec<String>, usize) {
    let mut arns = Vec::new();
    let mut token = None;
    let mut calls = 0;
    loop {
        let out = client
            .list_applications()
            .instance_arn(instance)
            .set_filter(filter.clone())
            .set_max_results(page)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        calls += 1;
        arns.extend(
            out.applications()
                .iter()
                .map(|a| a.application_arn().unwrap().to_owned()),
        );
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return (arns, calls);
        }
    }
}

/// Every scope of the application, (scope, authorized targets), following NextToken; and the
/// number of calls made.
async fn scopes(client: &Client, application: &str, page: Option<i32>) -> (Vec<(String, Vec<String>)>, usize) {
    let mut all = Vec::new();
    let mut token = None;
    let mut calls = 0;
    loop {
        let out = client
            .list_application_access_scopes()
            .application_arn(application)
            .set_max_results(page)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        calls += 1;
        all.extend(
            out.scopes()
                .iter()
                .map(|s| (s.scope().to_owned(), s.authorized_targets().to_vec())),
        );
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return (all, calls);
        }
    }
}

async fn put_scope(client: &Client, application: &str, scope: &str, targets: &[&str]) {
    client
        .put_application_access_scope()
        .application_arn(application)
        .scope(scope)
        .set_authorized_targets((!targets.is_empty()).then(|| targets.iter().map(|t| (*t).to_owned()).collect()))
        .send()
        .await
        .unwrap();
}

async fn get_scope_error(client: &Client, application: &str, scope: &str) -> GetApplicationAccessScopeError {
    client
        .get_application_access_scope()
        .application_arn(application)
        .scope(scope)
        .send()
        .await
        .unwrap_err()
        .into_service_error()
}

// ---- applications -----------------------------------------------------------------------------

#[tokio::test]
async fn create_describe_list_delete_application() {
    let (_emulator, client, instance) = setup().await;
    let created = client
        .create_application()
        .instance_arn(&instance)
        .application_provider_arn(CUSTOM)
        .name("Reporting")
        .description("Reads the warehouse")
        .send()
        .await
        .unwrap();
    let arn = created.application_arn().unwrap().to_owned();
    let instance_id = instance.rsplit('/').next().unwrap();
    let prefix = format!("arn:aws:sso::{EMULATOR_ACCOUNT}:application/{instance_id}/apl-");
    let suffix = arn
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{arn} does not start with {prefix}"));
    assert_eq!(suffix.len(), 16, "{arn}");
    assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()), "{arn}");
    assert_eq!(created.instance_arn(), Some(instance.as_str()));

    let described = client
        .describe_application()
        .application_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.application_arn(), Some(arn.as_str()));
    assert_eq!(described.application_provider_arn(), Some(CUSTOM));
    assert_eq!(described.name(), Some("Reporting"));
    assert_eq!(described.description(), Some("Reads the warehouse"));
    assert_eq!(described.application_account(), Some(EMULATOR_ACCOUNT));
    assert_eq!(described.instance_arn(), Some(instance.as_str()));
    assert_eq!(described.status(), Some(&ApplicationStatus::Enabled));
    assert_eq!(described.created_from(), Some("eu-west-1"));
    assert!(described.created_date().is_some());
    let store = described.identity_store_arn().unwrap();
    assert!(
        store.starts_with(&format!("arn:aws:identitystore::{EMULATOR_ACCOUNT}:identitystore/d-")),
        "{store}"
    );
    assert_eq!(created.identity_store_arn(), Some(store));

    assert_eq!(list_all(&client, &instance, None, None).await.0, [arn.as_str()]);

    client.delete_application().application_arn(&arn).send().await.unwrap();
    let err = client
        .describe_application()
        .application_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, DescribeApplicationError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    let err = client
        .delete_application()
        .application_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, DeleteApplicationError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    assert!(list_all(&client, &instance, None, None).await.0.is_empty());
}

#[tokio::test]
async fn list_applications_pages_and_filters() {
    let (_emulator, client, instance) = setup().await;
    let mut created = Vec::new();
    for name in ["One", "Two", "Three"] {
        created.push(create(&client, &instance, name).await);
    }
    let (listed, calls) = list_all(&client, &instance, None, Some(2)).await;
    assert_eq!(listed, created, "every application once, in creation order");
    assert_eq!(calls, 2, "pages of 2 and 1");

    let by_provider = ListApplicationsFilter::builder().application_provider(CUSTOM).build();
    assert_eq!(list_all(&client, &instance, Some(by_provider), None).await.0, created);
    let by_account = ListApplicationsFilter::builder()
        .application_account(EMULATOR_ACCOUNT)
        .build();
    assert_eq!(list_all(&client, &instance, Some(by_account), None).await.0, created);
    let other_account = ListApplicationsFilter::builder()
        .application_account("999999999999")
        .build();
    assert!(
        list_all(&client, &instance, Some(other_account), None)
            .await
            .0
            .is_empty()
    );
    let other_provider = ListApplicationsFilter::builder()
        .application_provider("arn:aws:sso::aws:applicationProvider/catalog/x")
        .build();
    assert!(
        list_all(&client, &instance, Some(other_provider), None)
            .await
            .0
            .is_empty()
    );

    for max in [0, 101] {
        let err = client
            .list_applications()
            .instance_arn(&instance)
            .max_results(max)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(
            matches!(err, ListApplicationsError::ValidationException(_)),
            "{max}: {err:?}"
        );
    }
    let bad_filter = ListApplicationsFilter::builder().application_account("123").build();
    let err = client
        .list_applications()
        .instance_arn(&instance)
        .filter(bad_filter)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(matches!(err, ListApplicationsError::ValidationException(_)), "{err:?}");
    let err = client
        .list_applications()
        .instance_arn("arn:aws:sso:::instance/ssoins-0000000000000000")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, ListApplicationsError::ValidationException(_)),
        "unknown instance: {err:?}"
    );
}

async fn create_error(client: &Client, instance: &str, provider: &str, name: &str) -> CreateApplicationError {
    client
        .create_application()
        .instance_arn(instance)
        .application_provider_arn(provider)
        .name(name)
        .send()
        .await
        .unwrap_err()
        .into_service_error()
}

#[tokio::test]
async fn create_application_errors() {
    let (_emulator, client, instance) = setup().await;
    let err = create_error(
        &client,
        &instance,
        "arn:aws:sso::aws:applicationProvider/catalog/x",
        "A",
    )
    .await;
    assert!(
        matches!(err, CreateApplicationError::ValidationException(_)),
        "not custom: {err:?}"
    );
    let err = create_error(&client, &instance, "arn:aws:iam::aws:policy/x", "A").await;
    assert!(
        matches!(err, CreateApplicationError::ValidationException(_)),
        "not a provider: {err:?}"
    );
    let err = create_error(&client, &instance, CUSTOM, "").await;
    assert!(
        matches!(err, CreateApplicationError::ValidationException(_)),
        "empty name: {err:?}"
    );
    let err = create_error(&client, &instance, CUSTOM, &"n".repeat(101)).await;
    assert!(
        matches!(err, CreateApplicationError::ValidationException(_)),
        "long name: {err:?}"
    );
    let unknown = "arn:aws:sso:::instance/ssoins-0000000000000000";
    let err = create_error(&client, unknown, CUSTOM, "A").await;
    assert!(
        matches!(err, CreateApplicationError::ResourceNotFoundException(_)),
        "unknown instance: {err:?}"
    );
    assert!(list_all(&client, &instance, None, None).await.0.is_empty());
}

#[tokio::test]
async fn client_token_makes_create_application_idempotent() {
    let (_emulator, client, instance) = setup().await;
    let send = |name: &'static str| {
        client
            .create_application()
            .instance_arn(&instance)
            .application_provider_arn(CUSTOM)
            .name(name)
            .client_token("token-1")
            .send()
    };
    let first = send("Same").await.unwrap().application_arn().unwrap().to_owned();
    let second = send("Same").await.unwrap().application_arn().unwrap().to_owned();
    assert_eq!(first, second);
    assert_eq!(list_all(&client, &instance, None, None).await.0, [first]);
    let err = send("Different").await.unwrap_err().into_service_error();
    assert!(matches!(err, CreateApplicationError::ConflictException(_)), "{err:?}");
}

#[tokio::test]
async fn application_tags_round_trip() {
    let (_emulator, client, instance) = setup().await;
    let arn = client
        .create_application()
        .instance_arn(&instance)
        .application_provider_arn(CUSTOM)
        .name("Tagged")
        .tags(Tag::builder().key("team").value("data").build().unwrap())
        .send()
        .await
        .unwrap()
        .application_arn()
        .unwrap()
        .to_owned();
    let tags = || async {
        let out = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
        out.tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(tags().await, [("team".to_owned(), "data".to_owned())]);
    client
        .tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("env").value("prod").build().unwrap())
        .send()
        .await
        .unwrap();
    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    assert_eq!(tags().await, [("env".to_owned(), "prod".to_owned())]);
    let err = client
        .list_tags_for_resource()
        .resource_arn(missing(&instance))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

// ---- access scopes ------------------------------------------------------------------------------

#[tokio::test]
async fn put_adds_or_replaces_a_scope() {
    let (_emulator, client, instance) = setup().await;
    let application = create(&client, &instance, "App").await;
    let target = create(&client, &instance, "Target").await;
    assert!(scopes(&client, &application, None).await.0.is_empty());

    put_scope(&client, &application, ACCOUNT_ACCESS, &[]).await;
    let got = client
        .get_application_access_scope()
        .application_arn(&application)
        .scope(ACCOUNT_ACCESS)
        .send()
        .await
        .unwrap();
    assert_eq!(got.scope(), ACCOUNT_ACCESS);
    assert!(got.authorized_targets().is_empty());

    put_scope(&client, &application, ACCOUNT_ACCESS, &[&target, &instance]).await;
    let got = client
        .get_application_access_scope()
        .application_arn(&application)
        .scope(ACCOUNT_ACCESS)
        .send()
        .await
        .unwrap();
    assert_eq!(got.authorized_targets(), [target.clone(), instance.clone()]);
    assert_eq!(
        scopes(&client, &application, None).await.0,
        [(ACCOUNT_ACCESS.to_owned(), vec![target.clone(), instance.clone()])],
        "replaced, not added twice"
    );

    put_scope(&client, &application, ACCOUNT_ACCESS, &[]).await;
    assert_eq!(
        scopes(&client, &application, None).await.0,
        [(ACCOUNT_ACCESS.to_owned(), vec![])],
        "a put without targets removes them"
    );
    // Other applications are untouched.
    assert!(scopes(&client, &target, None).await.0.is_empty());
}

#[tokio::test]
async fn a_missing_scope_is_not_found() {
    let (_emulator, client, instance) = setup().await;
    let application = create(&client, &instance, "App").await;
    let err = get_scope_error(&client, &application, ACCOUNT_ACCESS).await;
    assert!(
        matches!(err, GetApplicationAccessScopeError::ResourceNotFoundException(_)),
        "{err:?}"
    );

    put_scope(&client, &application, ACCOUNT_ACCESS, &[]).await;
    put_scope(&client, &application, "redshift:connect", &[]).await;
    client
        .delete_application_access_scope()
        .application_arn(&application)
        .scope(ACCOUNT_ACCESS)
        .send()
        .await
        .unwrap();
    let err = get_scope_error(&client, &application, ACCOUNT_ACCESS).await;
    assert!(
        matches!(err, GetApplicationAccessScopeError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    assert_eq!(
        scopes(&client, &application, None).await.0,
        [("redshift:connect".to_owned(), vec![])],
        "only the deleted scope is gone"
    );
    let err = client
        .delete_application_access_scope()
        .application_arn(&application)
        .scope(ACCOUNT_ACCESS)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, DeleteApplicationAccessScopeError::ResourceNotFoundException(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn scopes_of_an_unknown_or_deleted_application_are_not_found() {
    let (_emulator, client, instance) = setup().await;
    let application = create(&client, &instance, "App").await;
    put_scope(&client, &application, ACCOUNT_ACCESS, &[]).await;
    client
        .delete_application()
        .application_arn(&application)
        .send()
        .await
        .unwrap();
    for arn in [application, missing(&instance)] {
        let err = client
            .put_application_access_scope()
            .application_arn(&arn)
            .scope(ACCOUNT_ACCESS)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(
            matches!(err, PutApplicationAccessScopeError::ResourceNotFoundException(_)),
            "{err:?}"
        );
        let err = get_scope_error(&client, &arn, ACCOUNT_ACCESS).await;
        assert!(
            matches!(err, GetApplicationAccessScopeError::ResourceNotFoundException(_)),
            "{err:?}"
        );
        let err = client
            .list_application_access_scopes()
            .application_arn(&arn)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(
            matches!(err, ListApplicationAccessScopesError::ResourceNotFoundException(_)),
            "{err:?}"
        );
        let err = client
            .delete_application_access_scope()
            .application_arn(&arn)
            .scope(ACCOUNT_ACCESS)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(
            matches!(err, DeleteApplicationAccessScopeError::ResourceNotFoundException(_)),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn list_application_access_scopes_pages() {
    let (_emulator, client, instance) = setup().await;
    let application = create(&client, &instance, "App").await;
    let names = [ACCOUNT_ACCESS, "redshift:connect", "s3:access:read_write"];
    for scope in names {
        put_scope(&client, &application, scope, &[]).await;
    }
    let (listed, calls) = scopes(&client, &application, Some(2)).await;
    let listed: Vec<String> = listed.into_iter().map(|(scope, _)| scope).collect();
    assert_eq!(listed, names, "every scope once, in the order added");
    assert_eq!(calls, 2, "pages of 2 and 1");
    for max in [0, 11] {
        let err = client
            .list_application_access_scopes()
            .application_arn(&application)
            .max_results(max)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(
            matches!(err, ListApplicationAccessScopesError::ValidationException(_)),
            "{max}: {err:?}"
        );
    }
}

#[tokio::test]
async fn access_scope_validation_errors() {
    let (_emulator, client, instance) = setup().await;
    let application = create(&client, &instance, "App").await;
    let put = |scope: &'static str, targets: Option<Vec<String>>| {
        client
            .put_application_access_scope()
            .application_arn(&application)
            .scope(scope)
            .set_authorized_targets(targets)
            .send()
    };
    for scope in ["bad scope", "a:b:c:d", "sso:account:"] {
        let err = put(scope, None).await.unwrap_err().into_service_error();
        assert!(
            matches!(err, PutApplicationAccessScopeError::ValidationException(_)),
            "{scope}: {err:?}"
        );
    }
    let not_an_application = vec!["arn:aws:iam::111111111111:role/x".to_owned()];
    let err = put(ACCOUNT_ACCESS, Some(not_an_application))
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, PutApplicationAccessScopeError::ValidationException(_)),
        "target: {err:?}"
    );
    let eleven = vec![application.clone(); 11];
    let err = put(ACCOUNT_ACCESS, Some(eleven))
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, PutApplicationAccessScopeError::ValidationException(_)),
        "11 targets: {err:?}"
    );
    let err = client
        .get_application_access_scope()
        .application_arn("arn:aws:sso::123456789012:application/x")
        .scope(ACCOUNT_ACCESS)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, GetApplicationAccessScopeError::ValidationException(_)),
        "{err:?}"
    );
    assert!(
        scopes(&client, &application, None).await.0.is_empty(),
        "nothing was stored"
    );
}

// ---- reset, CloudTrail ------------------------------------------------------------------------

#[tokio::test]
async fn reset_wipes_applications_and_scopes() {
    let (emulator, client, instance) = setup().await;
    let application = create(&client, &instance, "App").await;
    put_scope(&client, &application, ACCOUNT_ACCESS, &[]).await;
    emulator.reset();
    let err = client
        .describe_application()
        .application_arn(&application)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, DescribeApplicationError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    let (fresh, _) = emulator.instance().await;
    assert!(list_all(&client, &fresh, None, None).await.0.is_empty());
}

#[tokio::test]
async fn a_scope_granted_is_recorded_in_cloudtrail() {
    let emulator = Emulator::start_with(&["--cloudtrail"]);
    let client = Client::new(&emulator.sdk_config().await);
    let (instance, _) = emulator.instance().await;
    let application = create(&client, &instance, "App").await;
    put_scope(&client, &application, ACCOUNT_ACCESS, &[]).await;
    client
        .delete_application_access_scope()
        .application_arn(&application)
        .scope(ACCOUNT_ACCESS)
        .send()
        .await
        .unwrap();
    let records: Vec<serde_json::Value> = emulator
        .cloudtrail(0)
        .into_iter()
        .map(|r| r["record"].clone())
        .collect();
    let names: Vec<&str> = records.iter().map(|r| r["eventName"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "CreateApplication",
            "PutApplicationAccessScope",
            "DeleteApplicationAccessScope"
        ]
    );
    for record in &records {
        assert_eq!(record["eventSource"], "sso.amazonaws.com");
    }
    assert_eq!(
        records[1]["requestParameters"],
        serde_json::json!({"applicationArn": application, "scope": ACCOUNT_ACCESS})
    );
    assert!(records[1]["responseElements"].is_null());
    assert_eq!(records[0]["responseElements"]["applicationArn"], application.as_str());
}
