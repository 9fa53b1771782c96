//! The emulator's asynchronous-operation statuses and member-account policies
//! (tests/emulator/idc_guard_moto.py, member_policies.py) through the Rust SDK: the three status
//! listings (newest first, Filter.Status, MaxResults, NextToken, bad input), Describe and List
//! agreeing, and provisioning that FAILS in a registered account lacking a customer managed policy
//! the permission set references or uses as its boundary, as AWS fails it.
//!
//! No test sleeps: an operation the limits mode holds in progress is ended by setting
//! `async_seconds` to 0.

use aws_sdk_ssoadmin::Client;
use aws_sdk_ssoadmin::error::ProvideErrorMetadata;
use aws_sdk_ssoadmin::types::{
    AccountAssignmentOperationStatus, CustomerManagedPolicyReference, OperationStatusFilter,
    PermissionSetProvisioningStatus, PrincipalType, ProvisionTargetType, ProvisioningStatus, StatusValues, TargetType,
};
use idc_guard_tests::world::{BOUNDARY, PermissionSet, World};
use serde_json::json;

const ACCOUNT_A: &str = "111111111111";
const ACCOUNT_B: &str = "222222222222";
const ACCOUNT_C: &str = "333333333333";
const GROUP: &str = "9067a1b2c3-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const OTHER_GROUP: &str = "9067a1b2c3-1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
/// The start of the FailureReason AWS gives for a policy missing in the member account (the
/// emulator's source is cited at `_missing_policy_reason` in idc_guard_moto.py).
const NOT_SUPPORTED_POLICY: &str = "Received a 404 status error: Not supported policy";

/// A fresh emulator with the permission sets `sets`; their ARNs are `world.set_arn(name)`.
async fn world(sets: &[PermissionSet]) -> World {
    sets.iter()
        .cloned()
        .fold(World::builder(), |builder, set| builder.permission_set(set))
        .build()
        .await
}

async fn attach_customer_managed(client: &Client, instance: &str, ps: &str, path: &str, name: &str) {
    client
        .attach_customer_managed_policy_reference_to_permission_set()
        .instance_arn(instance)
        .permission_set_arn(ps)
        .customer_managed_policy_reference(
            CustomerManagedPolicyReference::builder()
                .name(name)
                .path(path)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
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

async fn describe_provisioning(client: &Client, instance: &str, request: &str) -> PermissionSetProvisioningStatus {
    client
        .describe_permission_set_provisioning_status()
        .instance_arn(instance)
        .provision_permission_set_request_id(request)
        .send()
        .await
        .unwrap()
        .permission_set_provisioning_status()
        .cloned()
        .unwrap()
}

/// CreateAccountAssignment of `ps` to `principal` (a group) in `account`; its status.
async fn assign(
    client: &Client,
    instance: &str,
    ps: &str,
    account: &str,
    principal: &str,
) -> AccountAssignmentOperationStatus {
    client
        .create_account_assignment()
        .instance_arn(instance)
        .permission_set_arn(ps)
        .target_type(TargetType::AwsAccount)
        .target_id(account)
        .principal_type(PrincipalType::Group)
        .principal_id(principal)
        .send()
        .await
        .unwrap()
        .account_assignment_creation_status()
        .cloned()
        .unwrap()
}

/// DeleteAccountAssignment; its status.
async fn unassign(
    client: &Client,
    instance: &str,
    ps: &str,
    account: &str,
    principal: &str,
) -> AccountAssignmentOperationStatus {
    client
        .delete_account_assignment()
        .instance_arn(instance)
        .permission_set_arn(ps)
        .target_type(TargetType::AwsAccount)
        .target_id(account)
        .principal_type(PrincipalType::Group)
        .principal_id(principal)
        .send()
        .await
        .unwrap()
        .account_assignment_deletion_status()
        .cloned()
        .unwrap()
}

async fn describe_creation(client: &Client, instance: &str, request: &str) -> AccountAssignmentOperationStatus {
    client
        .describe_account_assignment_creation_status()
        .instance_arn(instance)
        .account_assignment_creation_request_id(request)
        .send()
        .await
        .unwrap()
        .account_assignment_creation_status()
        .cloned()
        .unwrap()
}

async fn describe_deletion(client: &Client, instance: &str, request: &str) -> AccountAssignmentOperationStatus {
    client
        .describe_account_assignment_deletion_status()
        .instance_arn(instance)
        .account_assignment_deletion_request_id(request)
        .send()
        .await
        .unwrap()
        .account_assignment_deletion_status()
        .cloned()
        .unwrap()
}

async fn assignments(client: &Client, instance: &str, ps: &str, account: &str) -> Vec<String> {
    client
        .list_account_assignments()
        .instance_arn(instance)
        .account_id(account)
        .permission_set_arn(ps)
        .send()
        .await
        .unwrap()
        .account_assignments()
        .iter()
        .filter_map(|a| a.principal_id().map(str::to_owned))
        .collect()
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

const LATEST: Option<ProvisioningStatus> = Some(ProvisioningStatus::LatestPermissionSetProvisioned);
const STALE: Option<ProvisioningStatus> = Some(ProvisioningStatus::LatestPermissionSetNotProvisioned);

// ---- the status listings ----------------------------------------------------------------------

/// The three status listings, one code path for the tests.
#[derive(Debug, Clone, Copy)]
enum Listing {
    Provisioning,
    Creation,
    Deletion,
}

/// One listed status: (request id, status, created, in Unix seconds).
type Listed = (String, StatusValues, f64);

/// One page of a listing: its statuses and NextToken, or the service error's code.
async fn page(
    client: &Client,
    instance: &str,
    listing: Listing,
    status: Option<StatusValues>,
    max_results: Option<i32>,
    token: Option<String>,
) -> Result<(Vec<Listed>, Option<String>), String> {
    let filter = status.map(|s| OperationStatusFilter::builder().status(s).build());
    let code = |e: &dyn ProvideErrorMetadata| e.code().unwrap_or("(no code)").to_owned();
    let listed = |status: Option<&StatusValues>, id: Option<&str>, created: Option<&aws_smithy_types::DateTime>| {
        (
            id.unwrap().to_owned(),
            status.unwrap().clone(),
            created.unwrap().as_secs_f64(),
        )
    };
    match listing {
        Listing::Provisioning => client
            .list_permission_set_provisioning_status()
            .instance_arn(instance)
            .set_filter(filter)
            .set_max_results(max_results)
            .set_next_token(token)
            .send()
            .await
            .map(|out| {
                let statuses = out.permission_sets_provisioning_status().iter();
                let statuses = statuses.map(|s| listed(s.status(), s.request_id(), s.created_date()));
                (statuses.collect(), out.next_token().map(str::to_owned))
            })
            .map_err(|e| code(&e.into_service_error())),
        Listing::Creation => client
            .list_account_assignment_creation_status()
            .instance_arn(instance)
            .set_filter(filter)
            .set_max_results(max_results)
            .set_next_token(token)
            .send()
            .await
            .map(|out| {
                let statuses = out.account_assignments_creation_status().iter();
                let statuses = statuses.map(|s| listed(s.status(), s.request_id(), s.created_date()));
                (statuses.collect(), out.next_token().map(str::to_owned))
            })
            .map_err(|e| code(&e.into_service_error())),
        Listing::Deletion => client
            .list_account_assignment_deletion_status()
            .instance_arn(instance)
            .set_filter(filter)
            .set_max_results(max_results)
            .set_next_token(token)
            .send()
            .await
            .map(|out| {
                let statuses = out.account_assignments_deletion_status().iter();
                let statuses = statuses.map(|s| listed(s.status(), s.request_id(), s.created_date()));
                (statuses.collect(), out.next_token().map(str::to_owned))
            })
            .map_err(|e| code(&e.into_service_error())),
    }
}

/// Every page of a listing, `max_results` at a time: the statuses in order, and the page count.
async fn all(
    client: &Client,
    instance: &str,
    listing: Listing,
    status: Option<StatusValues>,
    max_results: Option<i32>,
) -> (Vec<Listed>, usize) {
    let (mut statuses, mut pages, mut token) = (Vec::new(), 0, None);
    loop {
        let (listed, next) = page(client, instance, listing, status.clone(), max_results, token)
            .await
            .unwrap();
        pages += 1;
        statuses.extend(listed);
        if next.is_none() {
            return (statuses, pages);
        }
        token = next;
    }
}

fn ids(listed: &[Listed]) -> Vec<&str> {
    listed.iter().map(|(id, _, _)| id.as_str()).collect()
}

#[track_caller]
fn assert_newest_first(listed: &[Listed]) {
    assert!(
        listed.windows(2).all(|pair| pair[0].2 >= pair[1].2),
        "CreatedDate not descending: {listed:?}"
    );
}

#[tokio::test]
async fn provisioning_statuses_are_listed_newest_first_by_page_and_filtered() {
    let w = world(&[PermissionSet::new("Dev")]).await;
    let (sso, instance, ps) = (&w.sso, w.instance.as_str(), w.set_arn("Dev"));
    attach_customer_managed(sso, instance, ps, "/", "team-read").await;
    w.emulator.set_member_policies(&[(ACCOUNT_B, &[])]);
    let first = provision(sso, instance, ps, Some(ACCOUNT_A)).await;
    let failed = provision(sso, instance, ps, Some(ACCOUNT_B)).await;
    let last = provision(sso, instance, ps, Some(ACCOUNT_C)).await;
    let submitted = [&last, &failed, &first].map(|s| s.request_id().unwrap());

    let (listed, pages) = all(sso, instance, Listing::Provisioning, None, Some(1)).await;
    assert_eq!(ids(&listed), submitted, "every request, newest first");
    assert_eq!(pages, 3);
    assert_newest_first(&listed);
    let (whole, pages) = all(sso, instance, Listing::Provisioning, None, None).await;
    assert_eq!((whole, pages), (listed.clone(), 1), "the default page holds all three");

    let (failures, _) = all(
        sso,
        instance,
        Listing::Provisioning,
        Some(StatusValues::Failed),
        Some(1),
    )
    .await;
    assert_eq!(ids(&failures), [failed.request_id().unwrap()]);
    assert_eq!(failures[0].1, StatusValues::Failed);
    let (successes, pages) = all(
        sso,
        instance,
        Listing::Provisioning,
        Some(StatusValues::Succeeded),
        Some(1),
    )
    .await;
    assert_eq!(ids(&successes), [submitted[0], submitted[2]]);
    assert_eq!(pages, 2);
    let (running, _) = all(
        sso,
        instance,
        Listing::Provisioning,
        Some(StatusValues::InProgress),
        None,
    )
    .await;
    assert!(running.is_empty(), "{running:?}");

    // Describe and List agree on every request.
    for (id, status, _) in &listed {
        assert_eq!(describe_provisioning(sso, instance, id).await.status(), Some(status));
    }
}

#[tokio::test]
async fn creation_statuses_are_listed_newest_first_and_agree_with_describe() {
    let w = world(&[PermissionSet::new("Dev")]).await;
    let (sso, instance, ps) = (&w.sso, w.instance.as_str(), w.set_arn("Dev"));
    attach_customer_managed(sso, instance, ps, "/", "team-read").await;
    w.emulator.set_member_policies(&[(ACCOUNT_C, &["/other"])]);
    let a = assign(sso, instance, ps, ACCOUNT_A, GROUP).await;
    let b = assign(sso, instance, ps, ACCOUNT_B, OTHER_GROUP).await;
    let failed = assign(sso, instance, ps, ACCOUNT_C, GROUP).await;
    assert_eq!(failed.status(), Some(&StatusValues::Failed));
    let submitted = [&failed, &b, &a].map(|s| s.request_id().unwrap());

    let (listed, pages) = all(sso, instance, Listing::Creation, None, Some(2)).await;
    assert_eq!(ids(&listed), submitted);
    assert_eq!(pages, 2);
    assert_newest_first(&listed);
    for (id, status, created) in &listed {
        let described = describe_creation(sso, instance, id).await;
        assert_eq!(described.status(), Some(status), "{id}");
        assert_eq!(
            described.created_date().map(|d| d.as_secs_f64()),
            Some(*created),
            "{id}"
        );
    }

    let (failures, _) = all(sso, instance, Listing::Creation, Some(StatusValues::Failed), None).await;
    assert_eq!(ids(&failures), [failed.request_id().unwrap()]);
    let (successes, _) = all(sso, instance, Listing::Creation, Some(StatusValues::Succeeded), Some(1)).await;
    assert_eq!(ids(&successes), [submitted[1], submitted[2]]);
    // A creation stays listed once its assignment is deleted.
    unassign(sso, instance, ps, ACCOUNT_A, GROUP).await;
    let (after, _) = all(sso, instance, Listing::Creation, None, None).await;
    assert_eq!(ids(&after), submitted);
}

#[tokio::test]
async fn deletion_statuses_have_their_own_request_ids_and_are_listed() {
    let w = world(&[PermissionSet::new("Dev")]).await;
    let (sso, instance, ps) = (&w.sso, w.instance.as_str(), w.set_arn("Dev"));
    let created = assign(sso, instance, ps, ACCOUNT_A, GROUP).await;
    assign(sso, instance, ps, ACCOUNT_B, GROUP).await;
    let first = unassign(sso, instance, ps, ACCOUNT_A, GROUP).await;
    let second = unassign(sso, instance, ps, ACCOUNT_B, GROUP).await;
    assert_eq!(first.status(), Some(&StatusValues::Succeeded));
    assert_ne!(
        first.request_id(),
        created.request_id(),
        "a deletion is a request of its own"
    );
    assert_eq!(first.target_id(), Some(ACCOUNT_A));

    let (listed, pages) = all(sso, instance, Listing::Deletion, None, Some(1)).await;
    assert_eq!(
        ids(&listed),
        [second.request_id().unwrap(), first.request_id().unwrap()]
    );
    assert_eq!(pages, 2);
    assert_newest_first(&listed);
    let described = describe_deletion(sso, instance, first.request_id().unwrap()).await;
    assert_eq!(described, first);
    let (failures, _) = all(sso, instance, Listing::Deletion, Some(StatusValues::Failed), None).await;
    assert!(failures.is_empty());
    let (creations, _) = all(sso, instance, Listing::Creation, None, None).await;
    assert_eq!(creations.len(), 2, "deletions are not listed as creations");
}

#[tokio::test]
async fn status_listings_reject_bad_input() {
    let w = world(&[PermissionSet::new("Dev")]).await;
    let (sso, instance, ps) = (&w.sso, w.instance.as_str(), w.set_arn("Dev"));
    provision(sso, instance, ps, Some(ACCOUNT_A)).await;
    provision(sso, instance, ps, Some(ACCOUNT_B)).await;
    assign(sso, instance, ps, ACCOUNT_A, GROUP).await;
    assign(sso, instance, ps, ACCOUNT_B, GROUP).await;
    unassign(sso, instance, ps, ACCOUNT_A, GROUP).await;
    unassign(sso, instance, ps, ACCOUNT_B, GROUP).await;
    let validation = Err("ValidationException".to_owned());
    for listing in [Listing::Provisioning, Listing::Creation, Listing::Deletion] {
        for max_results in [0, 101, -1] {
            let answer = page(sso, instance, listing, None, Some(max_results), None).await;
            assert_eq!(answer, validation, "{listing:?} MaxResults {max_results}");
        }
        let bogus = Some(StatusValues::from("DONE"));
        assert_eq!(
            page(sso, instance, listing, bogus, None, None).await,
            validation,
            "{listing:?}"
        );
        let garbage = Some("not-a-token".to_owned());
        assert_eq!(
            page(sso, instance, listing, None, None, garbage).await,
            validation,
            "{listing:?}"
        );
        // A token belongs to the query that made it.
        let (_, token) = page(sso, instance, listing, None, Some(1), None).await.unwrap();
        assert!(token.is_some(), "{listing:?}: two requests, one a page");
        let other_query = page(sso, instance, listing, Some(StatusValues::Succeeded), Some(1), token).await;
        assert_eq!(other_query, validation, "{listing:?}");
        let unknown = "arn:aws:sso:::instance/ssoins-0000000000000000";
        let answer = page(sso, unknown, listing, None, None, None).await;
        assert_eq!(answer, Err("ResourceNotFoundException".to_owned()), "{listing:?}");
        // The boundaries themselves are accepted.
        for max_results in [1, 100] {
            assert!(
                page(sso, instance, listing, None, Some(max_results), None)
                    .await
                    .is_ok()
            );
        }
    }
}

// ---- member-account policies ------------------------------------------------------------------

#[tokio::test]
async fn provisioning_fails_in_an_account_missing_a_customer_managed_policy() {
    let w = world(&[PermissionSet::new("Data")]).await;
    let (sso, instance, ps) = (&w.sso, w.instance.as_str(), w.set_arn("Data"));
    attach_customer_managed(sso, instance, ps, "/team/", "data-read").await;
    let registry = w.emulator.set_member_policies(&[(ACCOUNT_A, &["/team/data-read"])]);
    assert_eq!(registry, json!({"accounts": {ACCOUNT_A: ["/team/data-read"]}}));
    let ok = provision(sso, instance, ps, Some(ACCOUNT_A)).await;
    assert_eq!(ok.status(), Some(&StatusValues::Succeeded));
    assert_eq!(ok.failure_reason(), None);

    // The set now also needs a policy account A does not have.
    attach_customer_managed(sso, instance, ps, "/", "data-write").await;
    let failed = provision(sso, instance, ps, Some(ACCOUNT_A)).await;
    assert_eq!(failed.status(), Some(&StatusValues::Failed));
    assert_eq!(failed.account_id(), Some(ACCOUNT_A));
    let reason = failed.failure_reason().unwrap();
    assert!(reason.starts_with(NOT_SUPPORTED_POLICY), "{reason}");
    assert!(reason.ends_with(&format!("{ACCOUNT_A}:policy/data-write")), "{reason}");
    assert_eq!(
        describe_provisioning(sso, instance, failed.request_id().unwrap()).await,
        failed
    );
    let (failures, _) = all(sso, instance, Listing::Provisioning, Some(StatusValues::Failed), None).await;
    assert_eq!(ids(&failures), [failed.request_id().unwrap()]);

    // Account A keeps the revision it had: provisioned, but not the latest.
    assert_eq!(accounts_for(sso, instance, ps, STALE).await, [ACCOUNT_A]);
    assert!(accounts_for(sso, instance, ps, LATEST).await.is_empty());
    assert_eq!(sets_in(sso, instance, ACCOUNT_A, STALE).await, [ps]);
    assert!(sets_in(sso, instance, ACCOUNT_A, LATEST).await.is_empty());

    // Once the account has the policy, the same request succeeds.
    w.emulator
        .set_member_policies(&[(ACCOUNT_A, &["/team/data-read", "data-write"])]);
    let retried = provision(sso, instance, ps, Some(ACCOUNT_A)).await;
    assert_eq!(retried.status(), Some(&StatusValues::Succeeded));
    assert_eq!(accounts_for(sso, instance, ps, LATEST).await, [ACCOUNT_A]);
    assert!(sets_in(sso, instance, ACCOUNT_A, STALE).await.is_empty());
}

#[tokio::test]
async fn a_customer_managed_boundary_missing_in_the_account_fails_provisioning() {
    let w = world(&[PermissionSet::new("Bounded").boundary(true), PermissionSet::new("Free")]).await;
    let (sso, instance) = (&w.sso, w.instance.as_str());
    let (bounded, free) = (w.set_arn("Bounded"), w.set_arn("Free"));
    w.emulator.set_member_policies(&[(ACCOUNT_A, &[])]);
    let failed = provision(sso, instance, bounded, Some(ACCOUNT_A)).await;
    assert_eq!(failed.status(), Some(&StatusValues::Failed));
    let reason = failed.failure_reason().unwrap();
    assert!(reason.starts_with(NOT_SUPPORTED_POLICY), "{reason}");
    assert!(reason.ends_with(&format!("policy/{BOUNDARY}")), "{reason}");
    assert!(
        accounts_for(sso, instance, bounded, None).await.is_empty(),
        "never provisioned there"
    );
    // A set that needs no customer managed policy provisions to the same account.
    let ok = provision(sso, instance, free, Some(ACCOUNT_A)).await;
    assert_eq!(ok.status(), Some(&StatusValues::Succeeded));

    // A bare name is the policy under "/".
    w.emulator.set_member_policies(&[(ACCOUNT_A, &[BOUNDARY])]);
    let ok = provision(sso, instance, bounded, Some(ACCOUNT_A)).await;
    assert_eq!(ok.status(), Some(&StatusValues::Succeeded));
    assert_eq!(accounts_for(sso, instance, bounded, LATEST).await, [ACCOUNT_A]);
}

#[tokio::test]
async fn a_failed_create_account_assignment_leaves_no_assignment() {
    let w = world(&[PermissionSet::new("Data")]).await;
    let (sso, instance, ps) = (&w.sso, w.instance.as_str(), w.set_arn("Data"));
    attach_customer_managed(sso, instance, ps, "/", "data-read").await;
    w.emulator.set_member_policies(&[(ACCOUNT_A, &["/other-policy"])]);
    let failed = assign(sso, instance, ps, ACCOUNT_A, GROUP).await;
    assert_eq!(failed.status(), Some(&StatusValues::Failed));
    assert_eq!(failed.target_id(), Some(ACCOUNT_A));
    assert_eq!(failed.principal_id(), Some(GROUP));
    let reason = failed.failure_reason().unwrap();
    assert!(reason.starts_with(NOT_SUPPORTED_POLICY), "{reason}");
    assert!(reason.contains("data-read"), "{reason}");
    assert_eq!(
        describe_creation(sso, instance, failed.request_id().unwrap()).await,
        failed
    );
    let (failures, _) = all(sso, instance, Listing::Creation, Some(StatusValues::Failed), None).await;
    assert_eq!(ids(&failures), [failed.request_id().unwrap()]);

    assert!(assignments(sso, instance, ps, ACCOUNT_A).await.is_empty());
    assert!(accounts_for(sso, instance, ps, None).await.is_empty());
    assert!(sets_in(sso, instance, ACCOUNT_A, None).await.is_empty());

    // With the policy in place the same assignment is created (the failed one is no duplicate).
    w.emulator.set_member_policies(&[(ACCOUNT_A, &["/data-read"])]);
    let created = assign(sso, instance, ps, ACCOUNT_A, GROUP).await;
    assert_eq!(created.status(), Some(&StatusValues::Succeeded));
    assert_eq!(created.failure_reason(), None);
    assert_eq!(assignments(sso, instance, ps, ACCOUNT_A).await, [GROUP]);
    assert_eq!(accounts_for(sso, instance, ps, LATEST).await, [ACCOUNT_A]);
}

#[tokio::test]
async fn all_provisioned_accounts_fails_for_the_one_account_missing_the_policy() {
    let w = world(&[PermissionSet::new("Data")]).await;
    let (sso, instance, ps) = (&w.sso, w.instance.as_str(), w.set_arn("Data"));
    for account in [ACCOUNT_A, ACCOUNT_B, ACCOUNT_C] {
        provision(sso, instance, ps, Some(account)).await;
    }
    attach_customer_managed(sso, instance, ps, "/", "data-read").await;
    // A holds it, B does not, C is not registered (so holds every policy).
    w.emulator
        .set_member_policies(&[(ACCOUNT_A, &["/data-read"]), (ACCOUNT_B, &["/unrelated"])]);
    let status = provision(sso, instance, ps, None).await;
    assert_eq!(status.status(), Some(&StatusValues::Failed));
    assert_eq!(status.account_id(), None, "no AccountId for ALL_PROVISIONED_ACCOUNTS");
    let reason = status.failure_reason().unwrap();
    assert!(reason.starts_with(NOT_SUPPORTED_POLICY), "{reason}");
    assert!(reason.contains(ACCOUNT_B) && reason.contains("data-read"), "{reason}");
    assert_eq!(
        describe_provisioning(sso, instance, status.request_id().unwrap()).await,
        status
    );

    assert_eq!(accounts_for(sso, instance, ps, LATEST).await, [ACCOUNT_A, ACCOUNT_C]);
    assert_eq!(accounts_for(sso, instance, ps, STALE).await, [ACCOUNT_B]);
    assert_eq!(sets_in(sso, instance, ACCOUNT_B, STALE).await, [ps]);
}

#[tokio::test]
async fn clearing_the_member_policy_registry_unconstrains_every_account() {
    let w = world(&[PermissionSet::new("Data")]).await;
    let (sso, instance, ps) = (&w.sso, w.instance.as_str(), w.set_arn("Data"));
    attach_customer_managed(sso, instance, ps, "/", "data-read").await;
    w.emulator
        .set_member_policies(&[(ACCOUNT_A, &[]), (ACCOUNT_B, &["/data-read"])]);
    // Registering one account leaves the others as they were.
    w.emulator.set_member_policies(&[(ACCOUNT_C, &["/x"])]);
    assert_eq!(
        w.emulator.member_policies(),
        json!({"accounts": {ACCOUNT_A: [], ACCOUNT_B: ["/data-read"], ACCOUNT_C: ["/x"]}})
    );
    let failed = provision(sso, instance, ps, Some(ACCOUNT_A)).await;
    assert_eq!(failed.status(), Some(&StatusValues::Failed));

    assert_eq!(w.emulator.set_member_policies(&[]), json!({"accounts": {}}));
    let ok = provision(sso, instance, ps, Some(ACCOUNT_A)).await;
    assert_eq!(ok.status(), Some(&StatusValues::Succeeded));
    assert_eq!(accounts_for(sso, instance, ps, LATEST).await, [ACCOUNT_A]);

    // A reset wipes the accounts' policies with everything else.
    w.emulator.set_member_policies(&[(ACCOUNT_A, &[])]);
    w.emulator.reset();
    assert_eq!(w.emulator.member_policies(), json!({"accounts": {}}));
}

// ---- the limits mode ---------------------------------------------------------------------------

/// While the limits mode holds a creation outstanding, Describe and List both say IN_PROGRESS and
/// give no reason yet; once it ends, both say FAILED with the reason.
#[tokio::test]
async fn an_outstanding_failed_creation_is_in_progress_in_describe_and_list() {
    let w = world(&[PermissionSet::new("Data")]).await;
    let (sso, instance, ps) = (&w.sso, w.instance.as_str(), w.set_arn("Data"));
    attach_customer_managed(sso, instance, ps, "/", "data-read").await;
    w.emulator.set_member_policies(&[(ACCOUNT_A, &[])]);
    w.emulator
        .set_limits(&json!({"enabled": true, "rate": 1000, "burst": 1000, "async_seconds": 600}));
    let answered = assign(sso, instance, ps, ACCOUNT_A, GROUP).await;
    assert_eq!(answered.status(), Some(&StatusValues::InProgress));
    assert_eq!(answered.failure_reason(), None);
    let request = answered.request_id().unwrap();
    let described = describe_creation(sso, instance, request).await;
    assert_eq!(described.status(), Some(&StatusValues::InProgress));
    assert_eq!(described.failure_reason(), None);
    let (running, _) = all(sso, instance, Listing::Creation, Some(StatusValues::InProgress), None).await;
    assert_eq!(ids(&running), [request]);
    let (failures, _) = all(sso, instance, Listing::Creation, Some(StatusValues::Failed), None).await;
    assert!(failures.is_empty());

    w.emulator.set_limits(&json!({"async_seconds": 0}));
    let described = describe_creation(sso, instance, request).await;
    assert_eq!(described.status(), Some(&StatusValues::Failed));
    assert!(described.failure_reason().unwrap().starts_with(NOT_SUPPORTED_POLICY));
    let (failures, _) = all(sso, instance, Listing::Creation, Some(StatusValues::Failed), None).await;
    assert_eq!(ids(&failures), [request]);
    assert!(assignments(sso, instance, ps, ACCOUNT_A).await.is_empty());
}
