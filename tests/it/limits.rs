//! The emulator's limits mode, request log and CloudTrail records (tests/emulator/gateway.py,
//! limits.py, cloudtrail.py) through the Rust SDK: one token bucket for every caller of sso-admin
//! and identitystore, ThrottlingException as AWS sends it, the outstanding limit on asynchronous
//! assignment operations, nothing changed by a refused call, nothing different with the mode off,
//! and CloudTrail records that idc-guard's decoder reads as the changes they record.
//!
//! No test sleeps: a rate of 0.001/s refills one token in 1000 s, so the burst alone decides
//! which call is throttled; an `async_seconds` of 600 keeps operations in progress, and setting
//! it to 0 ends them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use aws_sdk_identitystore::operation::create_group_membership::CreateGroupMembershipError;
use aws_sdk_identitystore::operation::list_groups::ListGroupsError;
use aws_sdk_identitystore::types::MemberId;
use aws_sdk_ssoadmin::error::ProvideErrorMetadata;
use aws_sdk_ssoadmin::operation::create_account_assignment::CreateAccountAssignmentError;
use aws_sdk_ssoadmin::operation::list_permission_sets::ListPermissionSetsError;
use aws_sdk_ssoadmin::types::{PrincipalType, StatusValues, TargetType};
use aws_smithy_types::retry::RetryConfig;
use idc_guard::domain::{self, Actor, ChangeKind, IdentityOp, InlinePolicyText, PermissionSetOp};
use idc_guard::event::{Body, Decoded, decode};
use idc_guard_tests::emulator::{Emulator, eventbridge_event};
use serde_json::{Value, json};

const ACCOUNT_A: &str = "111111111111";
const ACCOUNT_B: &str = "222222222222";
const ACCOUNT_C: &str = "333333333333";
/// The emulator's account (moto's default): where the instance lives.
const EMULATOR_ACCOUNT: &str = "123456789012";
const PIPELINE_KEY: &str = "AKIAPIPELINE";
const PIPELINE_ROLE: &str = "arn:aws:sts::123456789012:assumed-role/terraform/apply";
const POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

/// An sso-admin client signing with `key`, without SDK retries (a throttled call fails at once).
async fn sso(emulator: &Emulator, key: &str) -> aws_sdk_ssoadmin::Client {
    let sdk = emulator.sdk_config_as(key).await;
    aws_sdk_ssoadmin::Client::from_conf(
        aws_sdk_ssoadmin::config::Builder::from(&sdk)
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

/// An identitystore client signing with `key`, without SDK retries.
async fn ids(emulator: &Emulator, key: &str) -> aws_sdk_identitystore::Client {
    let sdk = emulator.sdk_config_as(key).await;
    aws_sdk_identitystore::Client::from_conf(
        aws_sdk_identitystore::config::Builder::from(&sdk)
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

async fn list_sets(
    sso: &aws_sdk_ssoadmin::Client,
    instance: &str,
) -> Result<Vec<String>, aws_sdk_ssoadmin::error::SdkError<ListPermissionSetsError>> {
    let out = sso.list_permission_sets().instance_arn(instance).send().await?;
    Ok(out.permission_sets().to_vec())
}

async fn create_set(sso: &aws_sdk_ssoadmin::Client, instance: &str, name: &str) -> String {
    sso.create_permission_set()
        .instance_arn(instance)
        .name(name)
        .session_duration("PT4H")
        .tags(
            aws_sdk_ssoadmin::types::Tag::builder()
                .key("owner")
                .value("platform")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .permission_set()
        .and_then(|p| p.permission_set_arn())
        .unwrap()
        .to_owned()
}

fn assign(
    sso: &aws_sdk_ssoadmin::Client,
    instance: &str,
    set: &str,
    account: &str,
    user: &str,
) -> aws_sdk_ssoadmin::operation::create_account_assignment::builders::CreateAccountAssignmentFluentBuilder {
    sso.create_account_assignment()
        .instance_arn(instance)
        .permission_set_arn(set)
        .target_type(TargetType::AwsAccount)
        .target_id(account)
        .principal_type(PrincipalType::User)
        .principal_id(user)
}

async fn assignments(sso: &aws_sdk_ssoadmin::Client, instance: &str, set: &str, account: &str) -> usize {
    sso.list_account_assignments()
        .instance_arn(instance)
        .permission_set_arn(set)
        .account_id(account)
        .send()
        .await
        .unwrap()
        .account_assignments()
        .len()
}

async fn creation_status(sso: &aws_sdk_ssoadmin::Client, instance: &str, request_id: &str) -> StatusValues {
    sso.describe_account_assignment_creation_status()
        .instance_arn(instance)
        .account_assignment_creation_request_id(request_id)
        .send()
        .await
        .unwrap()
        .account_assignment_creation_status()
        .and_then(|s| s.status())
        .cloned()
        .unwrap()
}

/// Creates a group and a user in `store`: (group id, user id).
async fn group_and_user(ids: &aws_sdk_identitystore::Client, store: &str) -> (String, String) {
    let group = ids
        .create_group()
        .identity_store_id(store)
        .display_name("platform")
        .send()
        .await
        .unwrap()
        .group_id()
        .to_owned();
    let user = ids
        .create_user()
        .identity_store_id(store)
        .user_name("alice")
        .display_name("Alice Example")
        .name(
            aws_sdk_identitystore::types::Name::builder()
                .given_name("Alice")
                .family_name("Example")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .user_id()
        .to_owned();
    (group, user)
}

fn is_throttling<E: ProvideErrorMetadata>(error: &E) -> bool {
    error.code() == Some("ThrottlingException")
}

/// How many of the concurrent `calls` went through, and how many were throttled (any other
/// error fails the test).
async fn tally<T: 'static, E: ProvideErrorMetadata + std::fmt::Debug + 'static>(
    mut calls: tokio::task::JoinSet<Result<T, E>>,
) -> (usize, usize) {
    let (mut passed, mut throttled) = (0, 0);
    while let Some(result) = calls.join_next().await {
        match result.unwrap() {
            Ok(_) => passed += 1,
            Err(e) if is_throttling(&e) => throttled += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    (passed, throttled)
}

/// (key, service, operation, status, throttled) of each logged request.
fn log_lines(requests: &[Value]) -> Vec<(String, String, String, u64, bool)> {
    requests
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                r["service"].as_str().unwrap().to_owned(),
                r["operation"].as_str().unwrap().to_owned(),
                r["status"].as_u64().unwrap(),
                r["throttled"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn line(
    key: &str,
    service: &str,
    operation: &str,
    status: u64,
    throttled: bool,
) -> (String, String, String, u64, bool) {
    (key.into(), service.into(), operation.into(), status, throttled)
}

// --- the token bucket ----------------------------------------------------------------------

#[tokio::test]
async fn beyond_the_burst_the_sdk_sees_a_throttling_exception() {
    let emulator = Emulator::start();
    let (instance, _) = emulator.instance().await;
    let sso = sso(&emulator, "AKIAONE").await;
    emulator.set_limits(&json!({"enabled": true, "rate": 0.001, "burst": 5}));
    for call in 1..=5 {
        list_sets(&sso, &instance)
            .await
            .unwrap_or_else(|e| panic!("call {call} of the burst: {e:?}"));
    }
    let error = list_sets(&sso, &instance).await.unwrap_err();
    assert!(
        matches!(
            error.as_service_error(),
            Some(ListPermissionSetsError::ThrottlingException(_))
        ),
        "{error:?}"
    );
    assert_eq!(error.code(), Some("ThrottlingException"));
    assert_eq!(error.message(), Some("Rate exceeded"));
}

#[tokio::test]
async fn the_sdk_retries_a_throttled_call_as_throttling() {
    let emulator = Emulator::start();
    let (instance, _) = emulator.instance().await;
    let sdk = emulator.sdk_config_as("AKIARETRY").await;
    // The standard retry mode, with a negligible backoff so the test does not wait.
    let retrying = aws_sdk_ssoadmin::Client::from_conf(
        aws_sdk_ssoadmin::config::Builder::from(&sdk)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(1))
                    .with_max_backoff(Duration::from_millis(5)),
            )
            .build(),
    );
    emulator.set_limits(&json!({"enabled": true, "rate": 0.001, "burst": 1}));
    let seen = emulator.requests(0).len() as u64;
    list_sets(&retrying, &instance).await.unwrap();
    let error = list_sets(&retrying, &instance).await.unwrap_err();
    assert!(is_throttling(&error), "{error:?}");
    // One call that succeeded, then one call the SDK tried three times: it classified the
    // answer as a retryable (throttling) error.
    let log = log_lines(&emulator.requests(seen));
    let attempt = |throttled| {
        line(
            "AKIARETRY",
            "sso-admin",
            "ListPermissionSets",
            if throttled { 400 } else { 200 },
            throttled,
        )
    };
    assert_eq!(log, vec![attempt(false), attempt(true), attempt(true), attempt(true)]);
}

#[tokio::test]
async fn the_throttled_answer_is_the_one_aws_sends() {
    let emulator = Emulator::start();
    emulator.set_limits(&json!({"enabled": true, "rate": 0.001, "burst": 0}));
    // A request as an SDK sends it (moto does not check signatures; the gateway reads the key
    // and the service from the credential scope, the operation from X-Amz-Target).
    let body = "{}";
    let mut stream = TcpStream::connect(("127.0.0.1", emulator.port())).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: SWBExternalService.ListInstances\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKIARAW/20260301/eu-west-1/sso/aws4_request, \
         SignedHeaders=host;x-amz-target, Signature=00\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, payload) = response.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    assert!(lines.next().unwrap().starts_with("HTTP/1.1 400 "), "{head}");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(header("x-amzn-errortype"), Some("ThrottlingException"));
    assert_eq!(header("content-type"), Some("application/x-amz-json-1.1"));
    assert!(header("x-amzn-requestid").is_some());
    let payload: Value = serde_json::from_str(payload).unwrap();
    assert_eq!(
        payload,
        json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
    );
}

#[tokio::test]
async fn every_caller_of_both_services_draws_from_one_bucket() {
    let emulator = Emulator::start();
    let (instance, store) = emulator.instance().await;
    let (alice, bob) = (sso(&emulator, "AKIAALICE").await, sso(&emulator, "AKIABOB").await);
    let directory = ids(&emulator, "AKIACAROL").await;
    emulator.set_limits(&json!({"enabled": true, "rate": 0.001, "burst": 4}));
    list_sets(&alice, &instance).await.unwrap();
    list_sets(&bob, &instance).await.unwrap();
    directory.list_groups().identity_store_id(&store).send().await.unwrap();
    list_sets(&bob, &instance).await.unwrap();
    // Four tokens, four calls by three keys and two services: the bucket is empty for everyone.
    let error = directory
        .list_groups()
        .identity_store_id(&store)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(error.as_service_error(), Some(ListGroupsError::ThrottlingException(_))),
        "{error:?}"
    );
    assert_eq!(error.code(), Some("ThrottlingException"));
    let error = list_sets(&alice, &instance).await.unwrap_err();
    assert!(is_throttling(&error), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_get_exactly_the_burst() {
    let emulator = Emulator::start();
    let (instance, _) = emulator.instance().await;
    emulator.set_limits(&json!({"enabled": true, "rate": 0.001, "burst": 10}));
    let mut calls = tokio::task::JoinSet::new();
    for caller in 0..24 {
        let client = sso(&emulator, &format!("AKIACALLER{caller}")).await;
        let instance = instance.clone();
        calls.spawn(async move { list_sets(&client, &instance).await });
    }
    assert_eq!(tally(calls).await, (10, 14));
}

#[tokio::test]
async fn a_throttled_call_changes_nothing() {
    let emulator = Emulator::start();
    let (instance, store) = emulator.instance().await;
    let admin = sso(&emulator, "AKIAADMIN").await;
    let directory = ids(&emulator, "AKIAADMIN").await;
    let set = create_set(&admin, &instance, "Existing").await;
    let (group, user) = group_and_user(&directory, &store).await;
    emulator.set_limits(&json!({"enabled": true, "rate": 0.001, "burst": 0}));

    let created = admin
        .create_permission_set()
        .instance_arn(&instance)
        .name("Throttled")
        .send()
        .await
        .unwrap_err();
    assert!(is_throttling(&created), "{created:?}");
    let put = admin
        .put_inline_policy_to_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&set)
        .inline_policy(POLICY)
        .send()
        .await
        .unwrap_err();
    assert!(is_throttling(&put), "{put:?}");
    let assigned = assign(&admin, &instance, &set, ACCOUNT_A, &user)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            assigned.as_service_error(),
            Some(CreateAccountAssignmentError::ThrottlingException(_))
        ),
        "{assigned:?}"
    );
    let deleted = admin
        .delete_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&set)
        .send()
        .await
        .unwrap_err();
    assert!(is_throttling(&deleted), "{deleted:?}");
    let member = directory
        .create_group_membership()
        .identity_store_id(&store)
        .group_id(&group)
        .member_id(MemberId::UserId(user.clone()))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            member.as_service_error(),
            Some(CreateGroupMembershipError::ThrottlingException(_))
        ),
        "{member:?}"
    );

    emulator.set_limits(&json!({"enabled": false}));
    assert_eq!(list_sets(&admin, &instance).await.unwrap(), vec![set.clone()]);
    let policy = admin
        .get_inline_policy_for_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&set)
        .send()
        .await
        .unwrap();
    assert_eq!(policy.inline_policy().unwrap_or_default(), "");
    assert_eq!(assignments(&admin, &instance, &set, ACCOUNT_A).await, 0);
    let memberships = directory
        .list_group_memberships()
        .identity_store_id(&store)
        .group_id(&group)
        .send()
        .await
        .unwrap();
    assert!(memberships.group_memberships().is_empty());
}

// --- outstanding asynchronous assignment operations ----------------------------------------

#[tokio::test]
async fn assignment_operations_beyond_the_outstanding_limit_are_refused() {
    let emulator = Emulator::start();
    let (instance, store) = emulator.instance().await;
    let admin = sso(&emulator, "AKIAADMIN").await;
    let set = create_set(&admin, &instance, "Developers").await;
    let (_, user) = group_and_user(&ids(&emulator, "AKIAADMIN").await, &store).await;
    emulator.set_limits(&json!({"enabled": true, "rate": 1000, "burst": 1000, "outstanding": 2, "async_seconds": 600}));

    let mut accepted = Vec::new();
    for account in [ACCOUNT_A, ACCOUNT_B] {
        let status = assign(&admin, &instance, &set, account, &user)
            .send()
            .await
            .unwrap()
            .account_assignment_creation_status()
            .cloned()
            .unwrap();
        assert_eq!(status.status(), Some(&StatusValues::InProgress));
        accepted.push(status.request_id().unwrap().to_owned());
    }
    for request_id in &accepted {
        assert_eq!(
            creation_status(&admin, &instance, request_id).await,
            StatusValues::InProgress
        );
    }

    let third = assign(&admin, &instance, &set, ACCOUNT_C, &user)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            third.as_service_error(),
            Some(CreateAccountAssignmentError::ThrottlingException(_))
        ),
        "{third:?}"
    );
    assert!(third.message().unwrap().contains("at most 2 outstanding"), "{third:?}");
    // A deletion is an assignment operation too.
    let deletion = admin
        .delete_account_assignment()
        .instance_arn(&instance)
        .permission_set_arn(&set)
        .target_type(TargetType::AwsAccount)
        .target_id(ACCOUNT_A)
        .principal_type(PrincipalType::User)
        .principal_id(&user)
        .send()
        .await
        .unwrap_err();
    assert!(is_throttling(&deletion), "{deletion:?}");
    // The accepted ones took effect at once; the refused ones changed nothing.
    assert_eq!(assignments(&admin, &instance, &set, ACCOUNT_A).await, 1);
    assert_eq!(assignments(&admin, &instance, &set, ACCOUNT_B).await, 1);
    assert_eq!(assignments(&admin, &instance, &set, ACCOUNT_C).await, 0);

    // Once async_seconds have passed (here: set to 0), they are done and free their slots.
    emulator.set_limits(&json!({"async_seconds": 0}));
    for request_id in &accepted {
        assert_eq!(
            creation_status(&admin, &instance, request_id).await,
            StatusValues::Succeeded
        );
    }
    let status = assign(&admin, &instance, &set, ACCOUNT_C, &user).send().await.unwrap();
    assert_eq!(
        status.account_assignment_creation_status().and_then(|s| s.status()),
        Some(&StatusValues::Succeeded)
    );
    assert_eq!(assignments(&admin, &instance, &set, ACCOUNT_C).await, 1);
}

#[tokio::test]
async fn the_outstanding_limit_is_per_instance() {
    let emulator = Emulator::start();
    let (instance, store) = emulator.instance().await;
    let admin = sso(&emulator, "AKIAADMIN").await;
    // moto has one instance per region: another region is another instance.
    let sdk = emulator.sdk_config_as("AKIAADMIN").await;
    let elsewhere = aws_sdk_ssoadmin::Client::from_conf(
        aws_sdk_ssoadmin::config::Builder::from(&sdk)
            .region(aws_config::Region::new("us-east-1"))
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let other = elsewhere.list_instances().send().await.unwrap().instances()[0]
        .instance_arn()
        .unwrap()
        .to_owned();
    assert_ne!(instance, other);
    let set = create_set(&admin, &instance, "Developers").await;
    let other_set = create_set(&elsewhere, &other, "Developers").await;
    let (_, user) = group_and_user(&ids(&emulator, "AKIAADMIN").await, &store).await;
    emulator.set_limits(&json!({"enabled": true, "rate": 1000, "burst": 1000, "outstanding": 1, "async_seconds": 600}));

    assign(&admin, &instance, &set, ACCOUNT_A, &user).send().await.unwrap();
    let refused = assign(&admin, &instance, &set, ACCOUNT_B, &user)
        .send()
        .await
        .unwrap_err();
    assert!(is_throttling(&refused), "{refused:?}");
    let status = assign(&elsewhere, &other, &other_set, ACCOUNT_A, &user)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status.account_assignment_creation_status().and_then(|s| s.status()),
        Some(&StatusValues::InProgress)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_assignment_operations_never_exceed_the_limit() {
    let emulator = Emulator::start();
    let (instance, store) = emulator.instance().await;
    let admin = sso(&emulator, "AKIAADMIN").await;
    let set = create_set(&admin, &instance, "Developers").await;
    let (_, user) = group_and_user(&ids(&emulator, "AKIAADMIN").await, &store).await;
    emulator.set_limits(&json!({"enabled": true, "rate": 1000, "burst": 1000, "outstanding": 3, "async_seconds": 600}));
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..12 {
        let (client, instance, set, user) = (admin.clone(), instance.clone(), set.clone(), user.clone());
        calls.spawn(async move {
            let account = format!("{:012}", 400_000_000_000_u64 + n);
            assign(&client, &instance, &set, &account, &user).send().await
        });
    }
    assert_eq!(tally(calls).await, (3, 9));
}

// --- limits off, and on from the command line ----------------------------------------------

#[tokio::test]
async fn with_the_limits_off_nothing_is_throttled_and_assignments_succeed_at_once() {
    let emulator = Emulator::start();
    let (instance, store) = emulator.instance().await;
    let admin = sso(&emulator, "AKIAADMIN").await;
    // Settings that would throttle every call, but the mode is off.
    let settings = emulator.set_limits(&json!({"rate": 0.001, "burst": 0, "outstanding": 0, "async_seconds": 600}));
    assert_eq!(settings["enabled"], json!(false));
    for _ in 0..25 {
        list_sets(&admin, &instance).await.unwrap();
    }
    let set = create_set(&admin, &instance, "Developers").await;
    let (_, user) = group_and_user(&ids(&emulator, "AKIAADMIN").await, &store).await;
    let status = assign(&admin, &instance, &set, ACCOUNT_A, &user)
        .send()
        .await
        .unwrap()
        .account_assignment_creation_status()
        .cloned()
        .unwrap();
    assert_eq!(status.status(), Some(&StatusValues::Succeeded));
    assert_eq!(
        creation_status(&admin, &instance, status.request_id().unwrap()).await,
        StatusValues::Succeeded
    );
    let log = emulator.requests(0);
    assert!(log.len() >= 30, "{log:?}");
    assert!(log.iter().all(|r| r["throttled"] == json!(false)), "{log:?}");
}

#[tokio::test]
async fn the_options_at_start_turn_the_limits_on() {
    let emulator = Emulator::start_with(&[
        "--limits",
        "--rate",
        "0.001",
        "--burst",
        "2",
        "--outstanding",
        "3",
        "--async-seconds",
        "7.5",
    ]);
    assert_eq!(
        emulator.limits(),
        json!({"enabled": true, "rate": 0.001, "burst": 2.0, "outstanding": 3, "async_seconds": 7.5, "cloudtrail": false})
    );
    let admin = sso(&emulator, "AKIAADMIN").await;
    admin.list_instances().send().await.unwrap();
    admin.list_instances().send().await.unwrap();
    let error = admin.list_instances().send().await.unwrap_err();
    assert!(is_throttling(&error), "{error:?}");

    // Without --burst the bucket holds one second's worth of requests.
    let defaults = Emulator::start_with(&["--rate", "3"]);
    assert_eq!(
        defaults.limits(),
        json!({"enabled": false, "rate": 3.0, "burst": 3.0, "outstanding": 10, "async_seconds": 1.0, "cloudtrail": false})
    );
}

// --- the request log -----------------------------------------------------------------------

#[tokio::test]
async fn the_request_log_lists_every_request_to_every_service() {
    let emulator = Emulator::start();
    let (instance, store) = emulator.instance().await;
    let alice = sso(&emulator, "AKIAALICE").await;
    let directory = ids(&emulator, "AKIABOB").await;
    let sns = aws_sdk_sns::Client::new(&emulator.sdk_config_as("AKIASNS").await);
    list_sets(&alice, &instance).await.unwrap();
    directory.list_groups().identity_store_id(&store).send().await.unwrap();
    sns.create_topic().name("findings").send().await.unwrap();
    let missing = alice
        .describe_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(format!(
            "{}/ps-0000000000000000",
            instance.replace(":instance/", ":permissionSet/")
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"), "{missing:?}");
    emulator.set_limits(&json!({"enabled": true, "rate": 0.001, "burst": 0}));
    list_sets(&alice, &instance).await.unwrap_err();

    let log = emulator.requests(0);
    assert_eq!(
        log_lines(&log),
        vec![
            line("testing", "sso-admin", "ListInstances", 200, false),
            line("AKIAALICE", "sso-admin", "ListPermissionSets", 200, false),
            line("AKIABOB", "identitystore", "ListGroups", 200, false),
            line("AKIASNS", "sns", "CreateTopic", 200, false),
            line("AKIAALICE", "sso-admin", "DescribePermissionSet", 400, false),
            line("AKIAALICE", "sso-admin", "ListPermissionSets", 400, true),
        ]
    );
    let seqs: Vec<u64> = log.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
    let times: Vec<f64> = log.iter().map(|r| r["t"].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]) && times[0] > 1.7e9, "{times:?}");
    // `after` pages on.
    assert_eq!(emulator.requests(4), log[4..].to_vec());
    assert!(emulator.requests(6).is_empty());
}

// --- CloudTrail records --------------------------------------------------------------------

/// A recorded record, decoded as idc-guard decodes an EventBridge delivery.
fn decoded(record: &Value) -> Decoded {
    decode(&eventbridge_event(record).to_string()).unwrap_or_else(|e| panic!("{e}: {record:#}"))
}

fn change(record: &Value) -> ChangeKind {
    match decoded(record).body {
        Body::Change(kind) => kind,
        other => panic!("not a change: {other:?}: {record:#}"),
    }
}

/// What a pipeline did, as the emulator recorded it.
struct PipelineRun {
    instance: String,
    store: String,
    set: String,
    group: String,
    user: String,
    membership: String,
    request_id: String,
    records: Vec<Value>,
}

/// A pipeline signing with [`PIPELINE_KEY`] (mapped to [`PIPELINE_ROLE`]) creates a permission
/// set, puts its inline policy, lists the sets (a read), creates a group, a user and a
/// membership, and assigns the set to the user; the CloudTrail records of all that.
async fn pipeline_run() -> (Emulator, PipelineRun) {
    let emulator = Emulator::start_with(&[
        "--cloudtrail",
        "--principal",
        &format!("{PIPELINE_KEY}={PIPELINE_ROLE}"),
    ]);
    let (instance, store) = emulator.instance().await;
    let pipeline = sso(&emulator, PIPELINE_KEY).await;
    let directory = ids(&emulator, PIPELINE_KEY).await;
    let set = create_set(&pipeline, &instance, "Developers").await;
    pipeline
        .put_inline_policy_to_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&set)
        .inline_policy(POLICY)
        .send()
        .await
        .unwrap();
    list_sets(&pipeline, &instance).await.unwrap();
    let (group, user) = group_and_user(&directory, &store).await;
    let membership = directory
        .create_group_membership()
        .identity_store_id(&store)
        .group_id(&group)
        .member_id(MemberId::UserId(user.clone()))
        .send()
        .await
        .unwrap()
        .membership_id()
        .to_owned();
    let request_id = assign(&pipeline, &instance, &set, ACCOUNT_A, &user)
        .send()
        .await
        .unwrap()
        .account_assignment_creation_status()
        .and_then(|s| s.request_id())
        .unwrap()
        .to_owned();
    let records = emulator
        .cloudtrail(0)
        .into_iter()
        .map(|e| e["record"].clone())
        .collect();
    let run = PipelineRun {
        instance,
        store,
        set,
        group,
        user,
        membership,
        request_id,
        records,
    };
    (emulator, run)
}

#[tokio::test]
async fn cloudtrail_records_every_write_as_the_mapped_role_and_no_read() {
    let (_emulator, run) = pipeline_run().await;
    let names: Vec<&str> = run.records.iter().map(|r| r["eventName"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "CreatePermissionSet",
            "PutInlinePolicyToPermissionSet",
            "CreateGroup",
            "CreateUser",
            "CreateGroupMembership",
            "CreateAccountAssignment"
        ]
    );
    let expected_actor = Actor::IamRole {
        role_arn: "arn:aws:iam::123456789012:role/terraform".into(),
        role_name: "terraform".into(),
        session: Some("apply".into()),
    };
    for record in &run.records {
        let d = decoded(record);
        assert_eq!(d.actor, expected_actor, "{record:#}");
        assert_eq!(d.meta.account, EMULATOR_ACCOUNT);
        assert_eq!(d.meta.region, idc_guard_tests::emulator::REGION);
        assert_eq!(record["userIdentity"]["accessKeyId"], json!(PIPELINE_KEY));
        assert_eq!(record["userIdentity"]["arn"], json!(PIPELINE_ROLE));
        for (field, value) in [
            ("eventVersion", json!("1.11")),
            ("readOnly", json!(false)),
            ("eventType", json!("AwsApiCall")),
            ("managementEvent", json!(true)),
            ("eventCategory", json!("Management")),
        ] {
            assert_eq!(record[field], value, "{field}: {record:#}");
        }
        assert!(record.get("errorCode").is_none());
    }
}

#[tokio::test]
async fn cloudtrail_permission_set_records_decode_into_their_changes() {
    let (_emulator, run) = pipeline_run().await;
    match change(&run.records[0]) {
        ChangeKind::PermissionSet {
            permission_set_arn,
            op:
                PermissionSetOp::Created {
                    name,
                    session_duration,
                    tags,
                    ..
                },
            ..
        } => {
            assert_eq!(permission_set_arn.as_str(), run.set);
            assert_eq!(name, "Developers");
            assert_eq!(session_duration.as_str(), "PT4H");
            assert_eq!(tags.len(), 1);
        }
        other => panic!("{other:?}"),
    }
    // CloudTrail writes dates in responseElements the Java way, e.g. "Mar 4, 2026 4:25:50 PM".
    let created = run.records[0]["responseElements"]["permissionSet"]["createdDate"]
        .as_str()
        .unwrap();
    assert!(created.ends_with(" AM") || created.ends_with(" PM"), "{created}");

    match change(&run.records[1]) {
        ChangeKind::PermissionSet {
            permission_set_arn,
            op: PermissionSetOp::InlinePolicyPut {
                policy: InlinePolicyText::Text(text),
            },
            ..
        } => {
            assert_eq!(permission_set_arn.as_str(), run.set);
            assert_eq!(text, POLICY);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(run.records[1]["responseElements"], Value::Null);
}

#[tokio::test]
async fn cloudtrail_assignment_and_membership_records_decode_into_their_changes() {
    let (_emulator, run) = pipeline_run().await;
    match change(&run.records[5]) {
        ChangeKind::AssignmentCreated(a) => {
            assert_eq!(a.instance_arn.as_str(), run.instance);
            assert_eq!(a.account_id.as_str(), ACCOUNT_A);
            assert_eq!(a.permission_set_arn.as_str(), run.set);
            assert_eq!(a.principal_type, domain::PrincipalType::User);
            assert_eq!(a.principal_id, run.user);
        }
        other => panic!("{other:?}"),
    }
    // As in the sourced records, the record's requestID is the operation's.
    assert_eq!(run.records[5]["requestID"], json!(run.request_id));
    assert_eq!(
        run.records[5]["responseElements"]["accountAssignmentCreationStatus"]["requestId"],
        json!(run.request_id)
    );

    match change(&run.records[4]) {
        ChangeKind::Identity {
            identity_store_id,
            op:
                IdentityOp::MemberAdded {
                    group_id,
                    member_id,
                    membership_id,
                },
        } => {
            assert_eq!(identity_store_id.unwrap().as_str(), run.store);
            assert_eq!(group_id.as_deref(), Some(run.group.as_str()));
            assert_eq!(member_id.as_deref(), Some(run.user.as_str()));
            assert_eq!(membership_id.as_deref(), Some(run.membership.as_str()));
        }
        other => panic!("{other:?}"),
    }
    // The model's sensitive members are hidden, as CloudTrail hides them.
    let user = &run.records[3]["requestParameters"];
    assert_eq!(user["userName"], json!("HIDDEN_DUE_TO_SECURITY_REASONS"));
    assert_eq!(user["name"]["givenName"], json!("HIDDEN_DUE_TO_SECURITY_REASONS"));
    assert_eq!(user["identityStoreId"], json!(run.store));
}

#[tokio::test]
async fn failed_and_throttled_writes_are_recorded_as_failures_only_while_recording() {
    let emulator = Emulator::start();
    let (instance, store) = emulator.instance().await;
    let stranger = sso(&emulator, "AKIASTRANGER").await;
    let set = create_set(&stranger, &instance, "Developers").await;
    assert!(emulator.cloudtrail(0).is_empty(), "recording is off by default");

    assert_eq!(
        emulator.set_limits(&json!({"cloudtrail": true}))["cloudtrail"],
        json!(true)
    );
    let (_, user) = group_and_user(&ids(&emulator, "AKIASTRANGER").await, &store).await;
    assign(&stranger, &instance, &set, ACCOUNT_A, &user)
        .send()
        .await
        .unwrap();
    let duplicate = assign(&stranger, &instance, &set, ACCOUNT_A, &user)
        .send()
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Some("ConflictException"));
    emulator.set_limits(&json!({"enabled": true, "rate": 0.001, "burst": 0}));
    let throttled = assign(&stranger, &instance, &set, ACCOUNT_B, &user)
        .send()
        .await
        .unwrap_err();
    assert!(is_throttling(&throttled));

    let entries = emulator.cloudtrail(0);
    let records: Vec<&Value> = entries.iter().map(|e| &e["record"]).collect();
    let summary: Vec<(&str, Option<&str>)> = records
        .iter()
        .map(|r| (r["eventName"].as_str().unwrap(), r["errorCode"].as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("CreateGroup", None),
            ("CreateUser", None),
            ("CreateAccountAssignment", None),
            ("CreateAccountAssignment", Some("ConflictException")),
            ("CreateAccountAssignment", Some("ThrottlingException")),
        ]
    );
    let last = records[4];
    assert_eq!(last["errorMessage"], json!("Rate exceeded"));
    assert_eq!(last["responseElements"], Value::Null);
    assert_eq!(last["requestParameters"]["targetId"], json!(ACCOUNT_B));
    for failed in &records[3..] {
        let d = decoded(failed);
        assert!(matches!(d.body, Body::Failed { .. }), "{:?}", d.body);
    }
    // A key nobody mapped appears as an assumed role named after it.
    assert_eq!(
        decoded(last).actor,
        Actor::IamRole {
            role_arn: "arn:aws:iam::123456789012:role/AKIASTRANGER".into(),
            role_name: "AKIASTRANGER".into(),
            session: Some("AKIASTRANGER".into()),
        }
    );
    // `after` pages on.
    let first = entries[0]["seq"].as_u64().unwrap();
    assert_eq!(emulator.cloudtrail(first).len(), 4);
}
