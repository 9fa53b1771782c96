//! The emulator's account access manager (`tests/emulator/account_access.py`) through the Rust
//! SDK (aws-sdk-accountaccess): applications and entitlements round trip, idempotent creates and
//! deletes, ListEntitlements' filter and pages, every validation and not-found error as the SDK's
//! typed variant, the quota of groups per role, tags, reset, and the CloudTrail records.

use aws_sdk_accountaccess::Client;
use aws_sdk_accountaccess::operation::create_application::CreateApplicationError;
use aws_sdk_accountaccess::operation::create_entitlement::CreateEntitlementError;
use aws_sdk_accountaccess::operation::delete_application::DeleteApplicationError;
use aws_sdk_accountaccess::operation::delete_entitlement::DeleteEntitlementError;
use aws_sdk_accountaccess::operation::get_application::GetApplicationError;
use aws_sdk_accountaccess::operation::get_entitlement::GetEntitlementError;
use aws_sdk_accountaccess::operation::list_applications::ListApplicationsError;
use aws_sdk_accountaccess::operation::list_entitlements::ListEntitlementsError;
use aws_sdk_accountaccess::operation::list_tags_for_resource::ListTagsForResourceError;
use aws_sdk_accountaccess::operation::tag_resource::TagResourceError;
use aws_sdk_accountaccess::types::{
    Entitlement, EntitlementFilter, IdentityCenter, IdentityCenterPrincipal, IdentityCenterPrincipalFilter,
    IdentitySource, Principal, PrincipalFilter, PrincipalRoleEntitlement, PrincipalRoleEntitlementFilter, Status,
};
use idc_guard_tests::emulator::Emulator;

const ACCOUNT_A: &str = "111111111111";
const ACCOUNT_B: &str = "222222222222";
const ROLE_A: &str = "arn:aws:iam::111111111111:role/ops/Admin";
const ROLE_B: &str = "arn:aws:iam::222222222222:role/ReadOnly";
const USER_1: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c41";
const USER_2: &str = "9067a1b2c3-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c42";
const GROUP_1: &str = "9067a1b2c3-1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
/// Well formed (pattern and length) but never created.
const MISSING_APPLICATION: &str = "arn:aws:account-access:eu-west-1:123456789012:application/aam-0000000000000000";

/// A fresh emulator, an account access manager client for it, and its instance ARN.
async fn setup() -> (Emulator, Client, String) {
    let emulator = Emulator::start();
    let client = emulator.account_access_client();
    let (instance, _) = emulator.instance().await;
    (emulator, client, instance)
}

fn identity_source(instance: &str) -> IdentitySource {
    IdentitySource::IdentityCenter(IdentityCenter::builder().instance_arn(instance).build().unwrap())
}

async fn create_application(client: &Client, instance: &str) -> String {
    client
        .create_application()
        .identity_source(identity_source(instance))
        .send()
        .await
        .unwrap()
        .application_arn()
        .to_owned()
}

fn user(id: &str) -> Principal {
    Principal::IdentityCenter(IdentityCenterPrincipal::UserId(id.to_owned()))
}

fn group(id: &str) -> Principal {
    Principal::IdentityCenter(IdentityCenterPrincipal::GroupId(id.to_owned()))
}

fn entitlement(principal: Principal, role: &str) -> Entitlement {
    Entitlement::PrincipalRole(
        PrincipalRoleEntitlement::builder()
            .principal(principal)
            .role_arn(role)
            .build()
            .unwrap(),
    )
}

async fn try_entitle(
    client: &Client,
    application: &str,
    principal: Principal,
    role: &str,
) -> Result<String, CreateEntitlementError> {
    client
        .create_entitlement()
        .application_arn(application)
        .entitlement(entitlement(principal, role))
        .send()
        .await
        .map(|out| out.entitlement_id().to_owned())
        .map_err(|e| e.into_service_error())
}

async fn entitle(client: &Client, application: &str, principal: Principal, role: &str) -> String {
    try_entitle(client, application, principal, role).await.unwrap()
}

/// A filter on any subset of principal, role and account.
fn filter(principal: Option<PrincipalFilter>, role: Option<&str>, account: Option<&str>) -> EntitlementFilter {
    EntitlementFilter::builder()
        .principal_role(
            PrincipalRoleEntitlementFilter::builder()
                .set_principal(principal)
                .set_role_arn(role.map(str::to_owned))
                .set_account(account.map(str::to_owned))
                .build(),
        )
        .build()
}

fn group_filter(id: &str) -> PrincipalFilter {
    PrincipalFilter::IdentityCenter(IdentityCenterPrincipalFilter::GroupId(id.to_owned()))
}

fn user_filter(id: &str) -> PrincipalFilter {
    PrincipalFilter::IdentityCenter(IdentityCenterPrincipalFilter::UserId(id.to_owned()))
}

/// Every entitlement id the filter lists, following nextToken; and the number of calls made.
async fn list_ids(
    client: &Client,
    application: &str,
    filter: EntitlementFilter,
    page: Option<i32>,
) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut token = None;
    let mut calls = 0;
    loop {
        let out = client
            .list_entitlements()
            .application_arn(application)
            .filter(filter.clone())
            .set_max_results(page)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        calls += 1;
        if let Some(size) = page {
            assert!(
                out.entitlements().len() <= usize::try_from(size).unwrap(),
                "a page holds at most maxResults"
            );
        }
        ids.extend(out.entitlements().iter().map(|e| e.entitlement_id().to_owned()));
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return (ids, calls);
        }
    }
}

async fn list_error(
    client: &Client,
    application: &str,
    filter: Option<EntitlementFilter>,
    max: Option<i32>,
    token: Option<&str>,
) -> ListEntitlementsError {
    client
        .list_entitlements()
        .application_arn(application)
        .set_filter(filter)
        .set_max_results(max)
        .set_next_token(token.map(str::to_owned))
        .send()
        .await
        .unwrap_err()
        .into_service_error()
}

// ---- applications -----------------------------------------------------------------------------

#[tokio::test]
async fn create_application_is_idempotent_and_get_describes_it() {
    let (_emulator, client, instance) = setup().await;
    let created = client
        .create_application()
        .identity_source(identity_source(&instance))
        .tags("team", "platform")
        .send()
        .await
        .unwrap()
        .application_arn()
        .to_owned();
    let (prefix, id) = created.split_once(":application/").unwrap();
    assert!(prefix.starts_with("arn:aws:account-access:eu-west-1:"), "{created}");
    assert_eq!(prefix.rsplit(':').next().unwrap().len(), 12, "{created}");
    assert!(
        !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "{created}"
    );

    let again = create_application(&client, &instance).await;
    assert_eq!(
        again, created,
        "one application per instance: the existing one is returned"
    );

    let got = client.get_application().application_arn(&created).send().await.unwrap();
    assert_eq!(got.status(), &Status::Active);
    let source = got.identity_source().unwrap().as_identity_center().unwrap();
    assert_eq!(source.instance_arn(), instance);
    let instance_id = instance.rsplit('/').next().unwrap();
    let idc_application = source.application_arn().unwrap();
    assert!(
        idc_application.starts_with(&format!("arn:aws:sso::123456789012:application/{instance_id}/apl-")),
        "{idc_application}"
    );
    assert_eq!(got.tags().unwrap().get("team").map(String::as_str), Some("platform"));
    assert!(got.created_at() <= got.updated_at());

    let listed = client.list_applications().send().await.unwrap();
    let arns: Vec<&str> = listed.applications().iter().map(|a| a.application_arn()).collect();
    assert_eq!(arns, [created.as_str()]);
    assert!(listed.next_token().is_none());
}

#[tokio::test]
async fn create_application_errors_are_validation_exceptions() {
    let (_emulator, client, _instance) = setup().await;
    for instance in [
        // Well formed, but the emulator's sso-admin has no such instance.
        "arn:aws:sso:::instance/ssoins-0000000000000000",
        // Not an instance ARN at all.
        "arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-0000000000000000",
    ] {
        let err = client
            .create_application()
            .identity_source(identity_source(instance))
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(
            matches!(err, CreateApplicationError::ValidationException(_)),
            "{instance}: {err:?}"
        );
    }
    let err = client
        .create_application()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, CreateApplicationError::ValidationException(_)),
        "identitySource is required: {err:?}"
    );
    assert!(
        client
            .list_applications()
            .send()
            .await
            .unwrap()
            .applications()
            .is_empty()
    );
}

#[tokio::test]
async fn get_application_unknown_is_not_found_and_malformed_is_invalid() {
    let (_emulator, client, _instance) = setup().await;
    let err = client
        .get_application()
        .application_arn(MISSING_APPLICATION)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, GetApplicationError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    let err = client
        .get_application()
        .application_arn("arn:aws:account-access:eu-west-1:123456789012:application/bad_id")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(matches!(err, GetApplicationError::ValidationException(_)), "{err:?}");
}

#[tokio::test]
async fn list_applications_validates_max_results_and_tokens() {
    let (_emulator, client, instance) = setup().await;
    create_application(&client, &instance).await;
    let page = client.list_applications().max_results(1).send().await.unwrap();
    assert_eq!(page.applications().len(), 1);
    assert!(page.next_token().is_none(), "the only application fits the page");
    for max in [0, 101] {
        let err = client
            .list_applications()
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
    let err = client
        .list_applications()
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(matches!(err, ListApplicationsError::ValidationException(_)), "{err:?}");
}

#[tokio::test]
async fn delete_application_removes_it_and_again_succeeds() {
    let (_emulator, client, instance) = setup().await;
    let application = create_application(&client, &instance).await;
    client
        .delete_application()
        .application_arn(&application)
        .send()
        .await
        .unwrap();
    let err = client
        .get_application()
        .application_arn(&application)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, GetApplicationError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    assert!(
        client
            .list_applications()
            .send()
            .await
            .unwrap()
            .applications()
            .is_empty()
    );
    // "deleting an application that has already been deleted does not return an error"
    client
        .delete_application()
        .application_arn(&application)
        .send()
        .await
        .unwrap();
    let err = client
        .delete_application()
        .application_arn(MISSING_APPLICATION)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, DeleteApplicationError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    // The instance may have an application again.
    let next = create_application(&client, &instance).await;
    assert_ne!(next, application);
}

#[tokio::test]
async fn delete_application_with_entitlements_is_a_conflict() {
    let (_emulator, client, instance) = setup().await;
    let application = create_application(&client, &instance).await;
    let id = entitle(&client, &application, group(GROUP_1), ROLE_A).await;
    let err = client
        .delete_application()
        .application_arn(&application)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(matches!(err, DeleteApplicationError::ConflictException(_)), "{err:?}");
    client
        .get_application()
        .application_arn(&application)
        .send()
        .await
        .unwrap();
    client
        .delete_entitlement()
        .application_arn(&application)
        .entitlement_id(&id)
        .send()
        .await
        .unwrap();
    client
        .delete_application()
        .application_arn(&application)
        .send()
        .await
        .unwrap();
}

// ---- entitlements -----------------------------------------------------------------------------

#[tokio::test]
async fn entitlement_create_get_delete_round_trip() {
    let (_emulator, client, instance) = setup().await;
    let application = create_application(&client, &instance).await;
    let id = entitle(&client, &application, user(USER_1), ROLE_A).await;
    assert!(!id.is_empty());

    let got = client
        .get_entitlement()
        .application_arn(&application)
        .entitlement_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.application_arn(), application);
    assert_eq!(got.entitlement_id(), id);
    let details = got.entitlement().unwrap().as_principal_role().unwrap();
    assert_eq!(details.principal(), Some(&user(USER_1)));
    assert_eq!(details.role_arn(), ROLE_A);
    assert_eq!(details.account(), ACCOUNT_A, "the account is the role's");

    let (listed, _) = list_ids(&client, &application, EntitlementFilter::builder().build(), None).await;
    assert_eq!(listed, [id.as_str()]);

    client
        .delete_entitlement()
        .application_arn(&application)
        .entitlement_id(&id)
        .send()
        .await
        .unwrap();
    let err = client
        .get_entitlement()
        .application_arn(&application)
        .entitlement_id(&id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, GetEntitlementError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    let (listed, _) = list_ids(&client, &application, EntitlementFilter::builder().build(), None).await;
    assert!(listed.is_empty());
    // "deleting an entitlement that has already been deleted does not return an error"
    client
        .delete_entitlement()
        .application_arn(&application)
        .entitlement_id(&id)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn entitlement_not_found_errors() {
    let (_emulator, client, instance) = setup().await;
    let application = create_application(&client, &instance).await;
    let err = client
        .get_entitlement()
        .application_arn(&application)
        .entitlement_id("never-created")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, GetEntitlementError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    let err = client
        .delete_entitlement()
        .application_arn(&application)
        .entitlement_id("never-created")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, DeleteEntitlementError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    let err = try_entitle(&client, MISSING_APPLICATION, group(GROUP_1), ROLE_A)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CreateEntitlementError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    let err = list_error(
        &client,
        MISSING_APPLICATION,
        Some(EntitlementFilter::builder().build()),
        None,
        None,
    )
    .await;
    assert!(
        matches!(err, ListEntitlementsError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    // An entitlement of one application is not found through an application that does not exist.
    let id = entitle(&client, &application, group(GROUP_1), ROLE_A).await;
    let err = client
        .get_entitlement()
        .application_arn(MISSING_APPLICATION)
        .entitlement_id(&id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, GetEntitlementError::ResourceNotFoundException(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn create_entitlement_is_idempotent() {
    let (_emulator, client, instance) = setup().await;
    let application = create_application(&client, &instance).await;
    let first = entitle(&client, &application, group(GROUP_1), ROLE_A).await;
    let second = entitle(&client, &application, group(GROUP_1), ROLE_A).await;
    assert_eq!(
        first, second,
        "the same principal and role answer the existing entitlement"
    );
    let other_role = entitle(&client, &application, group(GROUP_1), ROLE_B).await;
    let other_principal = entitle(&client, &application, user(USER_1), ROLE_A).await;
    assert_ne!(other_role, first);
    assert_ne!(other_principal, first);
    let (listed, _) = list_ids(&client, &application, EntitlementFilter::builder().build(), None).await;
    assert_eq!(listed, [first, other_role, other_principal]);
}

#[tokio::test]
async fn create_entitlement_validation_errors() {
    let (_emulator, client, instance) = setup().await;
    let application = create_application(&client, &instance).await;
    let cases = [
        (
            "a role ARN of a 3-digit account",
            group(GROUP_1),
            "arn:aws:iam::123:role/Admin",
        ),
        ("a user ARN", group(GROUP_1), "arn:aws:iam::111111111111:user/alice"),
        ("a group id that is not an id", group("admins"), ROLE_A),
        ("an empty user id", user(""), ROLE_A),
    ];
    for (what, principal, role) in cases {
        let err = try_entitle(&client, &application, principal, role).await.unwrap_err();
        assert!(
            matches!(err, CreateEntitlementError::ValidationException(_)),
            "{what}: {err:?}"
        );
    }
    let err = try_entitle(
        &client,
        "arn:aws:account-access:eu-west-1:1:application/x",
        group(GROUP_1),
        ROLE_A,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, CreateEntitlementError::ValidationException(_)),
        "malformed application: {err:?}"
    );
    let err = client
        .create_entitlement()
        .application_arn(&application)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, CreateEntitlementError::ValidationException(_)),
        "entitlement is required: {err:?}"
    );
    let (listed, _) = list_ids(&client, &application, EntitlementFilter::builder().build(), None).await;
    assert!(listed.is_empty(), "nothing was stored");
}

#[tokio::test]
async fn twenty_groups_per_role_then_service_quota_exceeded() {
    let (_emulator, client, instance) = setup().await;
    let application = create_application(&client, &instance).await;
    let groups: Vec<String> = (0..21)
        .map(|i| format!("{i:08x}-0000-4000-8000-000000000000"))
        .collect();
    for id in &groups[..20] {
        entitle(&client, &application, group(id), ROLE_A).await;
    }
    let err = try_entitle(&client, &application, group(&groups[20]), ROLE_A)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CreateEntitlementError::ServiceQuotaExceededException(_)),
        "{err:?}"
    );
    // The quota is per role and counts groups only.
    entitle(&client, &application, group(&groups[20]), ROLE_B).await;
    entitle(&client, &application, user(USER_1), ROLE_A).await;
    // An existing group's create is still idempotent.
    entitle(&client, &application, group(&groups[0]), ROLE_A).await;
}

// ---- ListEntitlements -------------------------------------------------------------------------

#[tokio::test]
async fn list_entitlements_pages_with_max_results() {
    let (_emulator, client, instance) = setup().await;
    let application = create_application(&client, &instance).await;
    let mut created = Vec::new();
    for i in 0..5 {
        let id = format!("{i:08x}-0000-4000-8000-000000000001");
        created.push(entitle(&client, &application, group(&id), ROLE_A).await);
    }
    let all = EntitlementFilter::builder().build();
    let (listed, calls) = list_ids(&client, &application, all.clone(), Some(2)).await;
    assert_eq!(listed, created, "every entitlement once, in creation order");
    assert_eq!(calls, 3, "pages of 2, 2 and 1");
    let (listed, calls) = list_ids(&client, &application, all.clone(), Some(5)).await;
    assert_eq!((listed.len(), calls), (5, 1), "an exact fit has no next page");

    // A page stays right when an entitlement is deleted between calls.
    let first = client
        .list_entitlements()
        .application_arn(&application)
        .filter(all.clone())
        .max_results(2)
        .send()
        .await
        .unwrap();
    client
        .delete_entitlement()
        .application_arn(&application)
        .entitlement_id(&created[2])
        .send()
        .await
        .unwrap();
    let second = client
        .list_entitlements()
        .application_arn(&application)
        .filter(all)
        .max_results(2)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = second.entitlements().iter().map(|e| e.entitlement_id()).collect();
    assert_eq!(ids, [created[3].as_str(), created[4].as_str()]);
    assert!(second.next_token().is_none());
}

#[tokio::test]
async fn list_entitlements_filter_criteria_must_all_match() {
    let (_emulator, client, instance) = setup().await;
    let application = create_application(&client, &instance).await;
    let u1_a = entitle(&client, &application, user(USER_1), ROLE_A).await;
    let g1_a = entitle(&client, &application, group(GROUP_1), ROLE_A).await;
    let g1_b = entitle(&client, &application, group(GROUP_1), ROLE_B).await;
    let u2_b = entitle(&client, &application, user(USER_2), ROLE_B).await;

    let cases: Vec<(&str, EntitlementFilter, Vec<&String>)> = vec![
        (
            "no criteria",
            EntitlementFilter::builder().build(),
            vec![&u1_a, &g1_a, &g1_b, &u2_b],
        ),
        (
            "empty principalRole",
            filter(None, None, None),
            vec![&u1_a, &g1_a, &g1_b, &u2_b],
        ),
        (
            "group",
            filter(Some(group_filter(GROUP_1)), None, None),
            vec![&g1_a, &g1_b],
        ),
        ("user", filter(Some(user_filter(USER_1)), None, None), vec![&u1_a]),
        (
            "a user id as a group",
            filter(Some(group_filter(USER_1)), None, None),
            vec![],
        ),
        ("role", filter(None, Some(ROLE_B), None), vec![&g1_b, &u2_b]),
        ("account", filter(None, None, Some(ACCOUNT_A)), vec![&u1_a, &g1_a]),
        (
            "group and account",
            filter(Some(group_filter(GROUP_1)), None, Some(ACCOUNT_B)),
            vec![&g1_b],
        ),
        (
            "group and role",
            filter(Some(group_filter(GROUP_1)), Some(ROLE_A), None),
            vec![&g1_a],
        ),
        (
            "all three, inconsistent",
            filter(Some(group_filter(GROUP_1)), Some(ROLE_A), Some(ACCOUNT_B)),
            vec![],
        ),
        ("unused account", filter(None, None, Some("333333333333")), vec![]),
    ];
    for (what, criteria, expected) in cases {
        let (listed, _) = list_ids(&client, &application, criteria, None).await;
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(listed, expected, "{what}");
    }

    // Summaries carry the principal, role and account.
    let out = client
        .list_entitlements()
        .application_arn(&application)
        .filter(filter(Some(user_filter(USER_2)), None, None))
        .send()
        .await
        .unwrap();
    let summary = out.entitlements()[0]
        .entitlement()
        .unwrap()
        .as_principal_role()
        .unwrap();
    assert_eq!(summary.principal(), Some(&user(USER_2)));
    assert_eq!((summary.role_arn(), summary.account()), (ROLE_B, ACCOUNT_B));
}

#[tokio::test]
async fn list_entitlements_validation_errors() {
    let (_emulator, client, instance) = setup().await;
    let application = create_application(&client, &instance).await;
    let all = || Some(EntitlementFilter::builder().build());
    let err = list_error(&client, &application, None, None, None).await;
    assert!(
        matches!(err, ListEntitlementsError::ValidationException(_)),
        "filter is required: {err:?}"
    );
    for max in [0, 101, -1] {
        let err = list_error(&client, &application, all(), Some(max), None).await;
        assert!(
            matches!(err, ListEntitlementsError::ValidationException(_)),
            "maxResults {max}: {err:?}"
        );
    }
    for max in [1, 100] {
        client
            .list_entitlements()
            .application_arn(&application)
            .filter(EntitlementFilter::builder().build())
            .max_results(max)
            .send()
            .await
            .unwrap();
    }
    let bad_account = Some(filter(None, None, Some("12345")));
    let err = list_error(&client, &application, bad_account, None, None).await;
    assert!(
        matches!(err, ListEntitlementsError::ValidationException(_)),
        "account: {err:?}"
    );
    let bad_role = Some(filter(None, Some("arn:aws:iam::111111111111:policy/P"), None));
    let err = list_error(&client, &application, bad_role, None, None).await;
    assert!(
        matches!(err, ListEntitlementsError::ValidationException(_)),
        "roleArn: {err:?}"
    );
    let err = list_error(&client, &application, all(), None, Some("garbage")).await;
    assert!(
        matches!(err, ListEntitlementsError::ValidationException(_)),
        "token: {err:?}"
    );

    // A token is good only for the listing it came from.
    for i in 0..3 {
        let id = format!("{i:08x}-0000-4000-8000-000000000002");
        entitle(&client, &application, group(&id), ROLE_A).await;
    }
    let page = client
        .list_entitlements()
        .application_arn(&application)
        .filter(EntitlementFilter::builder().build())
        .max_results(1)
        .send()
        .await
        .unwrap();
    let token = page.next_token().unwrap();
    let other = Some(filter(None, Some(ROLE_A), None));
    let err = list_error(&client, &application, other, Some(1), Some(token)).await;
    assert!(
        matches!(err, ListEntitlementsError::ValidationException(_)),
        "another filter's token: {err:?}"
    );
}

// ---- tags -------------------------------------------------------------------------------------

#[tokio::test]
async fn tags_of_an_application() {
    let (_emulator, client, instance) = setup().await;
    let application = create_application(&client, &instance).await;
    let tags = || async {
        let out = client
            .list_tags_for_resource()
            .resource_arn(&application)
            .send()
            .await
            .unwrap();
        let mut all: Vec<(String, String)> = out.tags().unwrap_or(&Default::default()).clone().into_iter().collect();
        all.sort();
        all
    };
    assert!(tags().await.is_empty());
    client
        .tag_resource()
        .resource_arn(&application)
        .tags("a", "1")
        .tags("b", "2")
        .send()
        .await
        .unwrap();
    client
        .tag_resource()
        .resource_arn(&application)
        .tags("a", "3")
        .send()
        .await
        .unwrap();
    assert_eq!(tags().await, [("a".into(), "3".into()), ("b".into(), "2".into())]);
    client
        .untag_resource()
        .resource_arn(&application)
        .tag_keys("a")
        .tag_keys("absent")
        .send()
        .await
        .unwrap();
    assert_eq!(tags().await, [("b".into(), "2".into())]);

    let err = client
        .list_tags_for_resource()
        .resource_arn(MISSING_APPLICATION)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, ListTagsForResourceError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    let err = client
        .tag_resource()
        .resource_arn("arn:aws:sso:::instance/ssoins-0000000000000000")
        .tags("a", "1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(matches!(err, TagResourceError::ValidationException(_)), "{err:?}");
}

// ---- reset, request log, CloudTrail -------------------------------------------------------------

#[tokio::test]
async fn reset_wipes_applications_and_entitlements() {
    let (emulator, client, instance) = setup().await;
    let application = create_application(&client, &instance).await;
    entitle(&client, &application, group(GROUP_1), ROLE_A).await;
    emulator.reset();
    assert!(
        client
            .list_applications()
            .send()
            .await
            .unwrap()
            .applications()
            .is_empty()
    );
    let err = client
        .get_application()
        .application_arn(&application)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, GetApplicationError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    // The old instance is gone with the reset; the new one can have an application.
    let err = client
        .create_application()
        .identity_source(identity_source(&instance))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(matches!(err, CreateApplicationError::ValidationException(_)), "{err:?}");
    let (fresh, _) = emulator.instance().await;
    let next = create_application(&client, &fresh).await;
    let (listed, _) = list_ids(&client, &next, EntitlementFilter::builder().build(), None).await;
    assert!(listed.is_empty());
}

#[tokio::test]
async fn writes_are_logged_and_recorded_in_cloudtrail() {
    let emulator = Emulator::start_with(&["--cloudtrail"]);
    let client = emulator.account_access_client_as("AKIDAAM");
    let (instance, _) = emulator.instance().await;
    let application = create_application(&client, &instance).await;
    let id = entitle(&client, &application, group(GROUP_1), ROLE_A).await;
    client
        .get_entitlement()
        .application_arn(&application)
        .entitlement_id(&id)
        .send()
        .await
        .unwrap();
    client
        .delete_entitlement()
        .application_arn(&application)
        .entitlement_id(&id)
        .send()
        .await
        .unwrap();
    try_entitle(&client, &application, group(GROUP_1), "arn:aws:iam::1:role/x")
        .await
        .unwrap_err();

    let logged: Vec<(String, String, u64)> = emulator
        .requests(0)
        .iter()
        .filter(|r| r["service"] == "account-access")
        .map(|r| {
            (
                r["operation"].as_str().unwrap().to_owned(),
                r["key"].as_str().unwrap().to_owned(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("CreateApplication", 200),
        ("CreateEntitlement", 200),
        ("GetEntitlement", 200),
        ("DeleteEntitlement", 204),
        ("CreateEntitlement", 400),
    ];
    let expected: Vec<(String, String, u64)> = expected
        .iter()
        .map(|(op, status)| ((*op).to_owned(), "AKIDAAM".to_owned(), *status))
        .collect();
    assert_eq!(logged, expected);

    let records: Vec<serde_json::Value> = emulator
        .cloudtrail(0)
        .into_iter()
        .map(|r| r["record"].clone())
        .filter(|r| r["eventSource"] == "account-access.amazonaws.com")
        .collect();
    let names: Vec<&str> = records.iter().map(|r| r["eventName"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "CreateApplication",
            "CreateEntitlement",
            "DeleteEntitlement",
            "CreateEntitlement"
        ],
        "writes only, failures included"
    );
    let create = &records[1];
    assert_eq!(create["awsRegion"], "eu-west-1");
    assert_eq!(create["requestParameters"]["applicationArn"], application.as_str());
    assert_eq!(
        create["requestParameters"]["entitlement"]["principalRole"]["principal"]["identityCenter"]["groupId"],
        GROUP_1
    );
    assert_eq!(
        create["requestParameters"]["entitlement"]["principalRole"]["roleArn"],
        ROLE_A
    );
    assert_eq!(create["responseElements"]["entitlementId"], id.as_str());
    assert!(create.get("errorCode").is_none());
    let delete = &records[2];
    assert_eq!(
        delete["requestParameters"],
        serde_json::json!({"applicationArn": application, "entitlementId": id})
    );
    assert!(delete["responseElements"].is_null());
    let failed = &records[3];
    assert_eq!(failed["errorCode"], "ValidationException");
    assert!(failed["responseElements"].is_null());
}
