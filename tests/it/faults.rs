//! The adapters on the real SDK clients, with faults injected at the wire by aws-smithy-mocks:
//! retries, polling, pagination and error classification, counting the calls each rule sees.
//!
//! Every client is built with the SDK's own retries disabled (`RetryConfig::disabled()`): its
//! standard retry mode also retries throttling (recognised by the error code), up to three calls
//! per attempt of ours, with real backoff sleeps. With it off, the counts below are the adapters'
//! `RetryPolicy` alone, and `RetryPolicy::immediate()` (4 attempts, 5 polls, no sleeping) keeps
//! every test instant.
//!
//! `RuleMode::Sequential` checks the order of the calls as well: a call that does not match the
//! next rule, or one more call than the rules provide, panics inside the SDK. (That holds for the
//! first attempt of an SDK call only; an SDK-level retry past the last response would get the
//! mock HTTP client's dummy 418 instead, one more reason to keep SDK retries off.) The
//! permission-set reads run concurrently, so those tests use `RuleMode::MatchAny` and match on the
//! request.

use aws_sdk_identitystore as identitystore;
use aws_sdk_ssoadmin as ssoadmin;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use idc_guard::adapters::{IdentityStoreApi, SsoAdmin};
use idc_guard::domain::Fact;
use idc_guard::domain::{AccountId, IdentityStoreId, InstanceArn, PermissionSetArn};
use idc_guard::domain::{Assignment, Boundary, CustomerManagedPolicyRef, InlinePolicyText, PrincipalType};
use idc_guard::ports::{FailureKind, IdentityCenter, IdentityStore, MembershipRef};
use idc_guard::retry::RetryPolicy;
use ssoadmin::operation::delete_account_assignment::{DeleteAccountAssignmentError, DeleteAccountAssignmentOutput};
use ssoadmin::operation::describe_account_assignment_deletion_status::DescribeAccountAssignmentDeletionStatusOutput;
use ssoadmin::operation::describe_permission_set::{DescribePermissionSetError, DescribePermissionSetOutput};
use ssoadmin::operation::describe_permission_set_provisioning_status::DescribePermissionSetProvisioningStatusOutput;
use ssoadmin::operation::get_inline_policy_for_permission_set::GetInlinePolicyForPermissionSetOutput;
use ssoadmin::operation::get_permissions_boundary_for_permission_set::{
    GetPermissionsBoundaryForPermissionSetError, GetPermissionsBoundaryForPermissionSetOutput,
};
use ssoadmin::operation::list_managed_policies_in_permission_set::{
    ListManagedPoliciesInPermissionSetError, ListManagedPoliciesInPermissionSetOutput,
};
use ssoadmin::operation::provision_permission_set::ProvisionPermissionSetOutput;
use ssoadmin::operation::put_permissions_boundary_to_permission_set::{
    PutPermissionsBoundaryToPermissionSetError, PutPermissionsBoundaryToPermissionSetOutput,
};
use ssoadmin::types::error::{
    AccessDeniedException, ConflictException, InternalServerException, ResourceNotFoundException, ThrottlingException,
    ValidationException,
};
use ssoadmin::types::{
    AccountAssignmentOperationStatus, AttachedManagedPolicy, CustomerManagedPolicyReference, PermissionSet,
    PermissionSetProvisioningStatus, PermissionsBoundary, ProvisionTargetType, StatusValues, TargetType,
};

const INSTANCE: &str = "arn:aws:sso:::instance/ssoins-72233af8ea2d1f14";
const PERMISSION_SET: &str = "arn:aws:sso:::permissionSet/ssoins-72233af8ea2d1f14/ps-ae5d1fa1f80b684e";
const ACCOUNT: &str = "111122223333";
const USER: &str = "906791299c-0c5a7e3b-5c9e-4a4e-9d8e-3f1e2d3c4b5a";
const GROUP: &str = "906791299c-1d6b8f4c-6d0f-4b5f-8e9f-4a2f3e4d5c6b";
const STORE: &str = "d-906791299c";
const MEMBERSHIP: &str = "906791299c-2e7c9a5d-7e1a-4c6a-9fa0-5b3a4f5e6d7c";

/// A modeled exception as the SDK's deserializer builds it from the wire: the modeled message,
/// and the error metadata (code and message) that `ProvideErrorMetadata` and the SDK's own
/// retry classifier read. Without the metadata the SDK would not recognise throttling at all.
macro_rules! exception {
    ($exception:ident, $message:expr) => {
        $exception::builder()
            .message($message)
            .meta(
                ErrorMetadata::builder()
                    .code(stringify!($exception))
                    .message($message)
                    .build(),
            )
            .build()
    };
}

fn policy() -> RetryPolicy {
    RetryPolicy::immediate()
}

fn sso_admin(mode: RuleMode, rules: &[&Rule]) -> SsoAdmin {
    // SDK retries off: the call counts are our RetryPolicy's alone (see the module comment).
    let client = mock_client!(ssoadmin, mode, rules, |c| c.retry_config(RetryConfig::disabled()));
    SsoAdmin::new(client, policy())
}

fn identity_store(rules: &[&Rule]) -> IdentityStoreApi {
    // SDK retries off, as for sso-admin.
    let client = mock_client!(identitystore, RuleMode::Sequential, rules, |c| c
        .retry_config(RetryConfig::disabled()));
    IdentityStoreApi::new(client, policy())
}

/// The status listings of assignment creations, each answering no operation (the guards follow
/// every creation an event shows: `provisioning-failed`).
fn no_creations_listed() -> Rule {
    use ssoadmin::operation::list_account_assignment_creation_status::ListAccountAssignmentCreationStatusOutput;
    mock!(ssoadmin::Client::list_account_assignment_creation_status)
        .sequence()
        .output(|| ListAccountAssignmentCreationStatusOutput::builder().build())
        .times(2)
        .build()
}

fn instance() -> InstanceArn {
    InstanceArn::parse(INSTANCE).unwrap()
}

fn permission_set() -> PermissionSetArn {
    PermissionSetArn::parse(PERMISSION_SET).unwrap()
}

fn assignment() -> Assignment {
    Assignment {
        instance_arn: instance(),
        account_id: AccountId::parse(ACCOUNT).unwrap(),
        permission_set_arn: permission_set(),
        principal_type: PrincipalType::User,
        principal_id: USER.to_owned(),
    }
}

fn operation_status(status: StatusValues, reason: Option<&str>) -> AccountAssignmentOperationStatus {
    AccountAssignmentOperationStatus::builder()
        .status(status)
        .request_id("delete-1")
        .set_failure_reason(reason.map(str::to_owned))
        .build()
}

/// DeleteAccountAssignment, answered IN_PROGRESS with request id `delete-1`; it checks the keys.
fn delete_accepted() -> DeleteAccountAssignmentOutput {
    DeleteAccountAssignmentOutput::builder()
        .account_assignment_deletion_status(operation_status(StatusValues::InProgress, None))
        .build()
}

fn deletion_status(status: StatusValues, reason: Option<&str>) -> DescribeAccountAssignmentDeletionStatusOutput {
    DescribeAccountAssignmentDeletionStatusOutput::builder()
        .account_assignment_deletion_status(operation_status(status, reason))
        .build()
}

macro_rules! delete_rule {
    () => {
        mock!(ssoadmin::Client::delete_account_assignment).match_requests(|r| {
            r.instance_arn() == Some(INSTANCE)
                && r.target_id() == Some(ACCOUNT)
                && r.target_type() == Some(&TargetType::AwsAccount)
                && r.permission_set_arn() == Some(PERMISSION_SET)
                && r.principal_type() == Some(&ssoadmin::types::PrincipalType::User)
                && r.principal_id() == Some(USER)
        })
    };
}

macro_rules! deletion_status_rule {
    () => {
        mock!(ssoadmin::Client::describe_account_assignment_deletion_status).match_requests(|r| {
            r.instance_arn() == Some(INSTANCE) && r.account_assignment_deletion_request_id() == Some("delete-1")
        })
    };
}

// (a) Throttled once, then accepted, then SUCCEEDED: our policy retries the submission.
#[tokio::test]
async fn throttled_deletion_is_retried_then_polled_to_success() {
    let delete = delete_rule!()
        .sequence()
        .error(|| DeleteAccountAssignmentError::ThrottlingException(exception!(ThrottlingException, "Rate exceeded")))
        .output(delete_accepted)
        .build();
    let status = deletion_status_rule!().then_output(|| deletion_status(StatusValues::Succeeded, None));
    let adapter = sso_admin(RuleMode::Sequential, &[&delete, &status]);

    assert_eq!(adapter.delete_assignment(&assignment()).await, Ok(()));
    assert_eq!(delete.num_calls(), 2);
    assert_eq!(status.num_calls(), 1);
}

// (a) Throttled on every attempt: the policy gives up after exactly its attempts (with the SDK's
// retries left on, each of them would be up to three calls, and this count would be 12).
#[tokio::test]
async fn deletion_throttled_past_the_retry_budget_fails_throttled() {
    let attempts = policy().attempts as usize;
    let delete = delete_rule!()
        .sequence()
        .error(|| DeleteAccountAssignmentError::ThrottlingException(exception!(ThrottlingException, "Rate exceeded")))
        .times(attempts)
        .build();
    let adapter = sso_admin(RuleMode::Sequential, &[&delete]);

    let err = adapter.delete_assignment(&assignment()).await.unwrap_err();
    assert_eq!(err.kind, FailureKind::Throttled);
    assert_eq!(err.message, "ThrottlingException: Rate exceeded");
    assert_eq!(delete.num_calls(), attempts);
}

// (b) ConflictException (a previous write not yet propagated) twice, then accepted.
#[tokio::test]
async fn conflicting_boundary_write_is_retried_until_accepted() {
    let put = mock!(ssoadmin::Client::put_permissions_boundary_to_permission_set)
        .match_requests(|r| {
            let reference = r
                .permissions_boundary()
                .and_then(|b| b.customer_managed_policy_reference());
            r.instance_arn() == Some(INSTANCE)
                && r.permission_set_arn() == Some(PERMISSION_SET)
                && reference.is_some_and(|c| c.name() == "GuardBoundary" && c.path() == Some("/guard/"))
        })
        .sequence()
        .error(|| {
            PutPermissionsBoundaryToPermissionSetError::ConflictException(exception!(
                ConflictException,
                "previous write still propagating"
            ))
        })
        .times(2)
        .output(|| PutPermissionsBoundaryToPermissionSetOutput::builder().build())
        .build();
    let adapter = sso_admin(RuleMode::Sequential, &[&put]);
    let boundary = Boundary::CustomerManaged(CustomerManagedPolicyRef {
        name: "GuardBoundary".to_owned(),
        path: "/guard/".to_owned(),
    });

    let result = adapter
        .put_permissions_boundary(&instance(), &permission_set(), &boundary)
        .await;
    assert_eq!(result, Ok(()));
    assert_eq!(put.num_calls(), 3);
}

// (c) The deletion ends FAILED: an AsyncFailed error carrying AWS's reason.
#[tokio::test]
async fn failed_deletion_carries_the_failure_reason() {
    let delete = delete_rule!().then_output(delete_accepted);
    let status = deletion_status_rule!().then_output(|| {
        deletion_status(
            StatusValues::Failed,
            Some("Received a 404 status error: Assignment not found"),
        )
    });
    let adapter = sso_admin(RuleMode::Sequential, &[&delete, &status]);

    let err = adapter.delete_assignment(&assignment()).await.unwrap_err();
    assert_eq!(err.kind, FailureKind::AsyncFailed);
    assert_eq!(err.operation, "DeleteAccountAssignment");
    assert_eq!(err.message, "Received a 404 status error: Assignment not found");
    assert_eq!((delete.num_calls(), status.num_calls()), (1, 1));
}

// (c) Still IN_PROGRESS after every poll the policy allows: Timeout, and not one poll more (a
// sixth status call would find no rule and panic).
#[tokio::test]
async fn deletion_in_progress_past_the_polling_budget_times_out() {
    let polls = policy().polls as usize;
    let delete = delete_rule!().then_output(delete_accepted);
    let status = deletion_status_rule!()
        .sequence()
        .output(|| deletion_status(StatusValues::InProgress, None))
        .times(polls)
        .build();
    let adapter = sso_admin(RuleMode::Sequential, &[&delete, &status]);

    let err = adapter.delete_assignment(&assignment()).await.unwrap_err();
    assert_eq!(err.kind, FailureKind::Timeout);
    assert_eq!(err.operation, "DeleteAccountAssignment");
    assert_eq!((delete.num_calls(), status.num_calls()), (1, polls));
}

// (d) AccessDeniedException is final: one call, no retry, no polling.
#[tokio::test]
async fn access_denied_deletion_is_not_retried() {
    let delete = delete_rule!().then_error(|| {
        DeleteAccountAssignmentError::AccessDeniedException(exception!(AccessDeniedException, "management account"))
    });
    let adapter = sso_admin(RuleMode::Sequential, &[&delete]);

    let err = adapter.delete_assignment(&assignment()).await.unwrap_err();
    assert_eq!(err.kind, FailureKind::AccessDenied);
    assert_eq!(err.operation, "DeleteAccountAssignment");
    // The service's code and message, nothing of the SDK's error plumbing.
    assert_eq!(err.message, "AccessDeniedException: management account");
    assert_eq!(delete.num_calls(), 1);
}

/// Rules for everything `permission_set` reads besides the managed-policy pages.
struct OtherReads {
    describe: Rule,
    inline: Rule,
    boundary: Rule,
}

fn other_reads(session_duration: &'static str, inline_policy: &'static str, boundary: Option<Boundary>) -> OtherReads {
    let describe = mock!(ssoadmin::Client::describe_permission_set)
        .match_requests(|r| r.instance_arn() == Some(INSTANCE) && r.permission_set_arn() == Some(PERMISSION_SET))
        .then_output(move || {
            DescribePermissionSetOutput::builder()
                .permission_set(
                    PermissionSet::builder()
                        .name("Developer")
                        .permission_set_arn(PERMISSION_SET)
                        .description("Day-to-day development")
                        .session_duration(session_duration)
                        .build(),
                )
                .build()
        });
    let inline = mock!(ssoadmin::Client::get_inline_policy_for_permission_set).then_output(move || {
        GetInlinePolicyForPermissionSetOutput::builder()
            .inline_policy(inline_policy)
            .build()
    });
    let boundary = match boundary {
        None => mock!(ssoadmin::Client::get_permissions_boundary_for_permission_set).then_error(|| {
            GetPermissionsBoundaryForPermissionSetError::ResourceNotFoundException(exception!(
                ResourceNotFoundException,
                "no boundary"
            ))
        }),
        Some(Boundary::ManagedPolicy(arn)) => mock!(ssoadmin::Client::get_permissions_boundary_for_permission_set)
            .then_output(move || {
                GetPermissionsBoundaryForPermissionSetOutput::builder()
                    .permissions_boundary(PermissionsBoundary::builder().managed_policy_arn(&arn).build())
                    .build()
            }),
        Some(Boundary::CustomerManaged(reference)) => {
            mock!(ssoadmin::Client::get_permissions_boundary_for_permission_set).then_output(move || {
                // The service leaves Path out when it is the default.
                let path = (reference.path != "/").then(|| reference.path.clone());
                GetPermissionsBoundaryForPermissionSetOutput::builder()
                    .permissions_boundary(
                        PermissionsBoundary::builder()
                            .customer_managed_policy_reference(
                                CustomerManagedPolicyReference::builder()
                                    .name(&reference.name)
                                    .set_path(path)
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .build()
            })
        }
    };
    OtherReads {
        describe,
        inline,
        boundary,
    }
}

fn attached(name: &str) -> AttachedManagedPolicy {
    AttachedManagedPolicy::builder()
        .name(name)
        .arn(format!("arn:aws:iam::aws:policy/{name}"))
        .build()
}

fn first_page() -> Rule {
    mock!(ssoadmin::Client::list_managed_policies_in_permission_set)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            ListManagedPoliciesInPermissionSetOutput::builder()
                .attached_managed_policies(attached("ReadOnlyAccess"))
                .next_token("page-2")
                .build()
        })
}

macro_rules! second_page_rule {
    () => {
        mock!(ssoadmin::Client::list_managed_policies_in_permission_set)
            .match_requests(|r| r.next_token() == Some("page-2"))
    };
}

// Baseline for (e): every read succeeds, and both pages make up the list.
#[tokio::test]
async fn permission_set_facts_come_from_every_read_and_every_page() {
    let boundary = Boundary::CustomerManaged(CustomerManagedPolicyRef {
        name: "GuardBoundary".to_owned(),
        path: "/".to_owned(),
    });
    let reads = other_reads(
        "PT4H",
        r#"{"Version":"2012-10-17","Statement":[]}"#,
        Some(boundary.clone()),
    );
    let page1 = first_page();
    let page2 = second_page_rule!().then_output(|| {
        ListManagedPoliciesInPermissionSetOutput::builder()
            .attached_managed_policies(attached("AmazonS3ReadOnlyAccess"))
            .build()
    });
    let adapter = sso_admin(
        RuleMode::MatchAny,
        &[&reads.describe, &reads.inline, &reads.boundary, &page1, &page2],
    );

    let facts = adapter
        .permission_set(&instance(), &permission_set())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(facts.arn, permission_set());
    assert_eq!(facts.name, Fact::Known("Developer".to_owned()));
    assert_eq!(
        facts.description,
        Fact::Known(Some("Day-to-day development".to_owned()))
    );
    assert_eq!(facts.relay_state, Fact::Known(None));
    assert_eq!(facts.session_duration.known().map(|d| d.seconds()), Some(4 * 3600));
    assert_eq!(
        facts.inline_policy,
        Fact::Known(Some(InlinePolicyText::Text(
            r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned()
        )))
    );
    assert_eq!(
        facts.managed_policies,
        Fact::Known(vec![
            "arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned(),
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".to_owned(),
        ])
    );
    assert_eq!(facts.boundary, Fact::Known(Some(boundary)));
    for rule in [&reads.describe, &reads.inline, &reads.boundary, &page1, &page2] {
        assert_eq!(rule.num_calls(), 1);
    }
}

// An empty inline policy is none, a missing boundary is none, and a session duration the model
// would not accept fails closed: known, and longer than any cap (issue #13; it was unknown before,
// which let an unusual value pass undetermined).
#[tokio::test]
async fn permission_set_facts_absent_and_unknown() {
    let reads = other_reads("P", "", None);
    let pages = mock!(ssoadmin::Client::list_managed_policies_in_permission_set)
        .then_output(|| ListManagedPoliciesInPermissionSetOutput::builder().build());
    let adapter = sso_admin(
        RuleMode::MatchAny,
        &[&reads.describe, &reads.inline, &reads.boundary, &pages],
    );

    let facts = adapter
        .permission_set(&instance(), &permission_set())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(facts.session_duration.known().map(|d| d.seconds()), Some(u64::MAX));
    assert_eq!(facts.inline_policy, Fact::Known(None));
    assert_eq!(facts.boundary, Fact::Known(None));
    assert_eq!(facts.managed_policies, Fact::Known(Vec::new()));
}

// (e) Page 2 keeps failing with a transient error: each attempt starts over from page 1, and
// once the attempts are spent the whole read fails. Never Ok with page 1 alone.
#[tokio::test]
async fn a_page_failing_past_the_retry_budget_fails_the_whole_read() {
    let attempts = policy().attempts as usize;
    let reads = other_reads(
        "PT1H",
        "",
        Some(Boundary::ManagedPolicy(
            "arn:aws:iam::aws:policy/PowerUserAccess".into(),
        )),
    );
    let page1 = first_page();
    let page2 = second_page_rule!().then_error(|| {
        ListManagedPoliciesInPermissionSetError::InternalServerException(exception!(
            InternalServerException,
            "try again"
        ))
    });
    let adapter = sso_admin(
        RuleMode::MatchAny,
        &[&reads.describe, &reads.inline, &reads.boundary, &page1, &page2],
    );

    let err = adapter
        .permission_set(&instance(), &permission_set())
        .await
        .unwrap_err();
    assert_eq!(err.operation, "ListManagedPoliciesInPermissionSet");
    assert_eq!(err.kind, FailureKind::Throttled);
    assert_eq!((page1.num_calls(), page2.num_calls()), (attempts, attempts));
    assert_eq!(reads.describe.num_calls(), 1);
}

// (e) Page 2 fails with an error retrying cannot fix: the read fails at once.
#[tokio::test]
async fn a_page_failing_for_good_fails_the_whole_read_at_once() {
    let reads = other_reads("PT1H", "", None);
    let page1 = first_page();
    let page2 = second_page_rule!().then_error(|| {
        ListManagedPoliciesInPermissionSetError::ValidationException(exception!(ValidationException, "bad token"))
    });
    let adapter = sso_admin(
        RuleMode::MatchAny,
        &[&reads.describe, &reads.inline, &reads.boundary, &page1, &page2],
    );

    let err = adapter
        .permission_set(&instance(), &permission_set())
        .await
        .unwrap_err();
    assert_eq!(err.operation, "ListManagedPoliciesInPermissionSet");
    assert_eq!(err.kind, FailureKind::Rejected);
    assert_eq!((page1.num_calls(), page2.num_calls()), (1, 1));
}

// (f) A permission set that no longer exists is None, not an error, and nothing else is read.
#[tokio::test]
async fn a_deleted_permission_set_is_none() {
    let describe = mock!(ssoadmin::Client::describe_permission_set).then_error(|| {
        DescribePermissionSetError::ResourceNotFoundException(exception!(
            ResourceNotFoundException,
            "permission set not found"
        ))
    });
    let adapter = sso_admin(RuleMode::Sequential, &[&describe]);

    assert_eq!(adapter.permission_set(&instance(), &permission_set()).await, Ok(None));
    assert_eq!(describe.num_calls(), 1);
}

// (g) Provisioning to all provisioned accounts, polled IN_PROGRESS then SUCCEEDED.
#[tokio::test]
async fn provisioning_is_polled_until_it_succeeds() {
    fn provisioning(status: StatusValues) -> PermissionSetProvisioningStatus {
        PermissionSetProvisioningStatus::builder()
            .status(status)
            .request_id("provision-1")
            .permission_set_arn(PERMISSION_SET)
            .build()
    }
    let provision = mock!(ssoadmin::Client::provision_permission_set)
        .match_requests(|r| {
            r.instance_arn() == Some(INSTANCE)
                && r.permission_set_arn() == Some(PERMISSION_SET)
                && r.target_type() == Some(&ProvisionTargetType::AllProvisionedAccounts)
                && r.target_id().is_none()
        })
        .then_output(|| {
            ProvisionPermissionSetOutput::builder()
                .permission_set_provisioning_status(provisioning(StatusValues::InProgress))
                .build()
        });
    let status = mock!(ssoadmin::Client::describe_permission_set_provisioning_status)
        .match_requests(|r| {
            r.instance_arn() == Some(INSTANCE) && r.provision_permission_set_request_id() == Some("provision-1")
        })
        .sequence()
        .output(|| {
            DescribePermissionSetProvisioningStatusOutput::builder()
                .permission_set_provisioning_status(provisioning(StatusValues::InProgress))
                .build()
        })
        .output(|| {
            DescribePermissionSetProvisioningStatusOutput::builder()
                .permission_set_provisioning_status(provisioning(StatusValues::Succeeded))
                .build()
        })
        .build();
    let adapter = sso_admin(RuleMode::Sequential, &[&provision, &status]);

    assert_eq!(
        adapter.provision_permission_set(&instance(), &permission_set()).await,
        Ok(())
    );
    assert_eq!((provision.num_calls(), status.num_calls()), (1, 2));
}

// (h) A membership that does not exist is None.
#[tokio::test]
async fn a_missing_group_membership_is_none() {
    use identitystore::operation::get_group_membership_id::GetGroupMembershipIdError;
    use identitystore::types::MemberId;
    use identitystore::types::error::ResourceNotFoundException;

    let lookup = mock!(identitystore::Client::get_group_membership_id)
        .match_requests(|r| {
            r.identity_store_id() == Some(STORE)
                && r.group_id() == Some(GROUP)
                && r.member_id() == Some(&MemberId::UserId(USER.to_owned()))
        })
        .then_error(|| {
            GetGroupMembershipIdError::ResourceNotFoundException(exception!(
                ResourceNotFoundException,
                "membership not found"
            ))
        });
    let adapter = identity_store(&[&lookup]);
    let membership = MembershipRef {
        identity_store_id: IdentityStoreId::parse(STORE).unwrap(),
        membership_id: None,
        group_id: Some(GROUP.to_owned()),
        member_id: Some(USER.to_owned()),
    };

    assert_eq!(adapter.membership_id(&membership).await, Ok(None));
    assert_eq!(lookup.num_calls(), 1);
}

// (h) DeleteGroupMembership throttled once, then done.
#[tokio::test]
async fn throttled_membership_deletion_is_retried() {
    use identitystore::operation::delete_group_membership::{DeleteGroupMembershipError, DeleteGroupMembershipOutput};
    use identitystore::types::error::ThrottlingException;

    let delete = mock!(identitystore::Client::delete_group_membership)
        .match_requests(|r| r.identity_store_id() == Some(STORE) && r.membership_id() == Some(MEMBERSHIP))
        .sequence()
        .error(|| DeleteGroupMembershipError::ThrottlingException(exception!(ThrottlingException, "Rate exceeded")))
        .output(|| DeleteGroupMembershipOutput::builder().build())
        .build();
    let adapter = identity_store(&[&delete]);

    let store = IdentityStoreId::parse(STORE).unwrap();
    assert_eq!(adapter.delete_membership(&store, MEMBERSHIP).await, Ok(()));
    assert_eq!(delete.num_calls(), 2);
}

// A membership reference with neither an id nor a group and member is refused without a call
// (the client has no rules: any call would panic).
#[tokio::test]
async fn an_unidentifiable_membership_is_rejected_without_a_call() {
    let adapter = identity_store(&[]);
    let membership = MembershipRef {
        identity_store_id: IdentityStoreId::parse(STORE).unwrap(),
        membership_id: None,
        group_id: Some(GROUP.to_owned()),
        member_id: None,
    };

    let err = adapter.membership_id(&membership).await.unwrap_err();
    assert_eq!(err.kind, FailureKind::Rejected);
}

/// The USER assignment event for the mocked instance, permission set, account and user.
fn user_assignment_event() -> String {
    idc_guard_tests::world::Event::user_assignment(INSTANCE, PERMISSION_SET, ACCOUNT, USER).to_string()
}

fn listed_user_assignment() -> Rule {
    mock!(ssoadmin::Client::list_account_assignments).then_output(|| {
        ssoadmin::operation::list_account_assignments::ListAccountAssignmentsOutput::builder()
            .account_assignments(
                ssoadmin::types::AccountAssignment::builder()
                    .account_id(ACCOUNT)
                    .permission_set_arn(PERMISSION_SET)
                    .principal_type(ssoadmin::types::PrincipalType::User)
                    .principal_id(USER)
                    .build(),
            )
            .build()
    })
}

/// The reads that name a finding's user and permission set (issue #13): the set's name, the
/// instance's identity store and the user's names.
fn named_reads() -> (Rule, Rule, Rule) {
    let describe = mock!(ssoadmin::Client::describe_permission_set).then_output(|| {
        DescribePermissionSetOutput::builder()
            .permission_set(
                ssoadmin::types::PermissionSet::builder()
                    .permission_set_arn(PERMISSION_SET)
                    .name("DataEngineer")
                    .build(),
            )
            .build()
    });
    let instances = mock!(ssoadmin::Client::list_instances).then_output(|| {
        ssoadmin::operation::list_instances::ListInstancesOutput::builder()
            .instances(
                ssoadmin::types::InstanceMetadata::builder()
                    .instance_arn(INSTANCE)
                    .identity_store_id(STORE)
                    .build(),
            )
            .build()
    });
    let user = mock!(identitystore::Client::describe_user).then_output(|| {
        identitystore::operation::describe_user::DescribeUserOutput::builder()
            .identity_store_id(STORE)
            .user_id(USER)
            .user_name("alice")
            .display_name("Alice Smith")
            .revision("1")
            .user_arn(format!(
                "arn:aws:identitystore::111122223333:identitystore/{STORE}/user/{USER}"
            ))
            .build()
            .unwrap()
    });
    (describe, instances, user)
}

// The engine on mocked clients: AccessDenied (the delegated admin and the management account)
// is an outcome, "cannot remediate", not a crash and not a retry.
#[tokio::test]
async fn access_denied_is_a_cannot_remediate_outcome_not_an_error() {
    use idc_guard::domain::OutcomeKind;
    use idc_guard::guard::Guard;
    use idc_guard::notify::LoggingNotifier;
    let list = listed_user_assignment();
    let delete = delete_rule!().then_error(|| {
        DeleteAccountAssignmentError::AccessDeniedException(exception!(
            AccessDeniedException,
            "not authorized to perform: sso:DeleteAccountAssignment"
        ))
    });
    let policy = idc_guard::policy::Policy {
        instance_arn: Some(instance()),
        ..Default::default()
    };
    let (describe, instances, user) = named_reads();
    let listed = no_creations_listed();
    let guard = Guard::new(
        sso_admin(RuleMode::MatchAny, &[&list, &delete, &describe, &instances, &listed]),
        identity_store(&[&user]),
        LoggingNotifier,
        policy,
    );
    let report = guard
        .handle(
            &user_assignment_event(),
            idc_guard::domain::Date::new(2026, 11, 27).unwrap(),
        )
        .await
        .unwrap();
    match &report.outcomes[0].kind {
        OutcomeKind::CannotRemediate { reason } => assert!(reason.contains("not authorized"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // The finding names the user and the set the way people know them, read once.
    let message = &report.outcomes[0].finding.message;
    assert!(
        message.starts_with("USER alice (Alice Smith) (") && message.contains("was assigned DataEngineer ("),
        "{message}"
    );
    assert_eq!((list.num_calls(), delete.num_calls()), (1, 1));
    assert_eq!(
        (describe.num_calls(), instances.num_calls(), user.num_calls()),
        (1, 1, 1)
    );
    // The creation the event shows was followed: in progress, then failed (neither listed it).
    assert_eq!(listed.num_calls(), 2);
}

// A deletion that keeps failing is retried within the bound, then the event fails so that Lambda
// retries it and finally parks it in the failure destination.
#[tokio::test]
async fn a_failing_correction_fails_the_event_after_bounded_retries() {
    use idc_guard::guard::{Guard, GuardError};
    use idc_guard::notify::LoggingNotifier;
    let list = listed_user_assignment();
    let delete = delete_rule!().then_error(|| {
        DeleteAccountAssignmentError::ThrottlingException(exception!(ThrottlingException, "Rate exceeded"))
    });
    let policy = idc_guard::policy::Policy {
        instance_arn: Some(instance()),
        ..Default::default()
    };
    let (describe, instances, user) = named_reads();
    let guard = Guard::new(
        sso_admin(RuleMode::MatchAny, &[&list, &delete, &describe, &instances]),
        identity_store(&[&user]),
        LoggingNotifier,
        policy,
    );
    match guard
        .handle(
            &user_assignment_event(),
            idc_guard::domain::Date::new(2026, 11, 27).unwrap(),
        )
        .await
    {
        Err(GuardError::Retryable(e)) => assert_eq!(e.kind, FailureKind::Throttled),
        other => panic!("{other:?}"),
    }
    assert_eq!(delete.num_calls(), RetryPolicy::immediate().attempts as usize);
}

// (i) Issue #14: a revocation whose provisioning fails is reported as failed, naming why; the
// statement is written (and read back) but the report says the sessions are not yet denied.
#[tokio::test]
async fn a_revocation_whose_provisioning_fails_is_reported_failed_not_silent() {
    use std::sync::{Arc, Mutex};

    use idc_guard::domain::{Loss, Mode, RevocationStatus};
    use idc_guard::guard::ModeGate;
    use idc_guard::ports::Ports;
    use idc_guard::revocation::{Settings, revoke};
    use ssoadmin::operation::put_inline_policy_to_permission_set::PutInlinePolicyToPermissionSetOutput;

    const ORIGINAL: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let written: Arc<Mutex<Option<String>>> = Arc::default();
    let describe = mock!(ssoadmin::Client::describe_permission_set).then_output(|| {
        DescribePermissionSetOutput::builder()
            .permission_set(
                PermissionSet::builder()
                    .name("DataEngineer")
                    .permission_set_arn(PERMISSION_SET)
                    .session_duration("PT1H")
                    .build(),
            )
            .build()
    });
    // The policy as it was, then (the read-back) as it was written.
    let read = {
        let written = written.clone();
        mock!(ssoadmin::Client::get_inline_policy_for_permission_set).then_output(move || {
            let text = written.lock().unwrap().clone().unwrap_or_else(|| ORIGINAL.to_owned());
            GetInlinePolicyForPermissionSetOutput::builder()
                .inline_policy(text)
                .build()
        })
    };
    let put = {
        let written = written.clone();
        mock!(ssoadmin::Client::put_inline_policy_to_permission_set)
            .match_requests(move |r| {
                *written.lock().unwrap() = r.inline_policy().map(str::to_owned);
                r.permission_set_arn() == Some(PERMISSION_SET)
            })
            .then_output(|| PutInlinePolicyToPermissionSetOutput::builder().build())
    };
    let provisioning = |status: StatusValues| {
        let failed = status == StatusValues::Failed;
        PermissionSetProvisioningStatus::builder()
            .status(status)
            .request_id("provision-1")
            .permission_set_arn(PERMISSION_SET)
            .account_id(ACCOUNT)
            .set_failure_reason(failed.then(|| "ConflictException: the role is being updated".to_owned()))
            .build()
    };
    let provision = mock!(ssoadmin::Client::provision_permission_set)
        .match_requests(|r| r.target_type() == Some(&ProvisionTargetType::AwsAccount) && r.target_id() == Some(ACCOUNT))
        .then_output(move || {
            ProvisionPermissionSetOutput::builder()
                .permission_set_provisioning_status(provisioning(StatusValues::InProgress))
                .build()
        });
    let status = mock!(ssoadmin::Client::describe_permission_set_provisioning_status).then_output(move || {
        DescribePermissionSetProvisioningStatusOutput::builder()
            .permission_set_provisioning_status(provisioning(StatusValues::Failed))
            .build()
    });
    let adapter = sso_admin(RuleMode::MatchAny, &[&describe, &read, &put, &provision, &status]);
    let store = identity_store(&[]);
    let ports = Ports {
        identity_center: &adapter,
        identity_store: &store,
        gate: &ModeGate,
    };
    let loss = Loss {
        user: USER.to_owned(),
        account: AccountId::parse(ACCOUNT).unwrap(),
    };
    let mut calls = Vec::new();
    let report = revoke(
        &ports,
        &instance(),
        &permission_set(),
        &[loss],
        1_796_480_400,
        Mode::Enforce,
        Settings { margin: 600 },
        &mut calls,
    )
    .await;
    let RevocationStatus::Failed { reason } = &report.status else {
        panic!("{report:?}")
    };
    assert!(
        reason.contains("provisioning it failed") && reason.contains("the role is being updated"),
        "{reason}"
    );
    assert_eq!(report.statements.len(), 1, "{report:?}");
    assert_eq!(calls, ["PutInlinePolicyToPermissionSet", "ProvisionPermissionSet"]);
    assert_eq!((put.num_calls(), provision.num_calls()), (1, 1));
    // What was written keeps the original statement and adds the revocation.
    let text = written.lock().unwrap().clone().unwrap();
    assert!(text.starts_with(&ORIGINAL[..ORIGINAL.len() - 2]), "{text}");
    assert!(text.contains("IdcGuardRevoke"), "{text}");
}

// (j) Issue #15: in a batch, a read throttled past the retry budget returns only its own event
// to the queue; the batch's other events are judged (here on their face) and acknowledged, and a
// malformed one is acknowledged as bad input.
#[tokio::test]
async fn a_throttled_read_returns_only_its_event_to_the_queue() {
    use idc_guard::guard::{Guard, GuardError, Message};
    use idc_guard::notify::LoggingNotifier;
    use ssoadmin::operation::list_account_assignments::ListAccountAssignmentsError;
    let list = mock!(ssoadmin::Client::list_account_assignments).then_error(|| {
        ListAccountAssignmentsError::ThrottlingException(exception!(ThrottlingException, "Rate exceeded"))
    });
    let policy = idc_guard::policy::Policy {
        instance_arn: Some(instance()),
        ..Default::default()
    };
    // The group event's creation is followed (compliant on its face, no read of the assignment).
    let listed = no_creations_listed();
    let guard = Guard::new(
        sso_admin(RuleMode::MatchAny, &[&list, &listed]),
        identity_store(&[]),
        LoggingNotifier,
        policy,
    );
    let group = idc_guard_tests::world::Event::group_assignment(INSTANCE, PERMISSION_SET, ACCOUNT, GROUP).to_string();
    let user = user_assignment_event();
    let messages = [
        Message {
            id: "m-user",
            body: &user,
        },
        Message {
            id: "m-group",
            body: &group,
        },
        Message {
            id: "m-bad",
            body: "{not json",
        },
    ];
    let handled = guard
        .handle_batch(&messages, idc_guard::domain::Date::new(2026, 11, 27).unwrap(), None)
        .await;
    match &handled[0].result {
        Err(GuardError::Retryable(e)) => assert_eq!(e.kind, FailureKind::Throttled),
        other => panic!("{other:?}"),
    }
    assert_eq!(list.num_calls(), RetryPolicy::immediate().attempts as usize);
    assert!(handled[1].result.as_ref().is_ok_and(|r| r.triaged), "{:?}", handled[1]);
    assert!(
        matches!(handled[2].result, Err(GuardError::BadInput(_))),
        "{:?}",
        handled[2]
    );
    // What the queue is told: only the throttled event goes back.
    let returned: Vec<&str> = handled
        .iter()
        .filter(|h| h.returns_to_queue())
        .map(|h| h.id.as_str())
        .collect();
    assert_eq!(returned, ["m-user"]);
}

/// `provisioning-failed` (issue #16): when the listing of the operations in progress is
/// throttled past its retries, the batch's assignment creation is reported undetermined (its
/// outcome is unknown), never succeeded, and nothing is described or written.
#[tokio::test]
async fn a_failing_status_listing_leaves_an_operation_unknown_never_succeeded() {
    use idc_guard::domain::EventVerdict;
    use idc_guard::guard::Guard;
    use idc_guard::notify::LoggingNotifier;
    use ssoadmin::operation::list_account_assignment_creation_status::ListAccountAssignmentCreationStatusError;
    let listing = mock!(ssoadmin::Client::list_account_assignment_creation_status).then_error(|| {
        ListAccountAssignmentCreationStatusError::ThrottlingException(exception!(ThrottlingException, "Rate exceeded"))
    });
    let policy = idc_guard::policy::Policy {
        instance_arn: Some(instance()),
        ..Default::default()
    };
    let guard = Guard::new(
        sso_admin(RuleMode::MatchAny, &[&listing]),
        identity_store(&[]),
        LoggingNotifier,
        policy,
    );
    let group = idc_guard_tests::world::Event::group_assignment(INSTANCE, PERMISSION_SET, ACCOUNT, GROUP).to_string();
    let report = guard
        .handle(&group, idc_guard::domain::Date::new(2026, 12, 5).unwrap())
        .await
        .unwrap();
    // Every attempt of the one listing, then nothing else (no description, no write).
    assert_eq!(listing.num_calls(), RetryPolicy::immediate().attempts as usize);
    assert_eq!(report.verdict, EventVerdict::Undetermined, "{report:?}");
    assert!(report.outcomes.is_empty(), "{report:?}");
    assert_eq!(report.undetermined.len(), 1, "{report:?}");
    assert_eq!(report.undetermined[0].rule.as_str(), "provisioning-failed");
}
