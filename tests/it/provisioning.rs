//! Provisioning that did not happen (issue #16): `provisioning-failed` on the event path (the guard
//! follows each operation a batch's changes started) and `provisioning-current` in the reconciler,
//! against the emulator with a member account that lacks a customer managed policy. Each test
//! asserts the findings, the emulator's state, and exactly which calls were made.

use std::sync::{Arc, Mutex};

use aws_sdk_ssoadmin::types::{
    CustomerManagedPolicyReference, PrincipalType as SdkPrincipalType, ProvisionTargetType, ProvisioningStatus,
};
use idc_guard::adapters::{IdentityStoreApi, Organizations};
use idc_guard::domain::{Date, EventVerdict, IdentityStoreId, InstanceArn, Outcome, OutcomeKind};
use idc_guard::guard::Message;
use idc_guard::policy::Policy;
use idc_guard::ports::{InstanceRef, Notifier, Remote};
use idc_guard::reconcile::{self, RunOptions};
use idc_guard::retry::RetryPolicy;
use idc_guard_tests::world::{Event, PermissionSet, World};
use serde_json::json;

/// Where the customer managed policy exists.
const GOOD: &str = "333333333333";
/// Where it does not.
const BAD: &str = "444444444444";
const POLICY_NAME: &str = "data-access";

fn today() -> Date {
    Date::new(2026, 12, 5).unwrap()
}

/// The outcomes published, in order.
#[derive(Debug, Clone, Default)]
struct Findings(Arc<Mutex<Vec<Outcome>>>);

impl Findings {
    fn all(&self) -> Vec<Outcome> {
        self.0.lock().unwrap().clone()
    }
}

impl Notifier for Findings {
    async fn publish(&self, outcome: &Outcome) -> Remote<()> {
        self.0.lock().unwrap().push(outcome.clone());
        Ok(())
    }
}

/// A set that references the customer managed policy `data-access`, which exists in `GOOD` and
/// not in `BAD`.
async fn world_with_referencing_set() -> (World, String) {
    let w = World::builder().group("data-team").build().await;
    let set = w
        .create_permission_set(&PermissionSet::new("DataEngineer").boundary(true))
        .await;
    w.sso
        .attach_customer_managed_policy_reference_to_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(&set)
        .customer_managed_policy_reference(
            CustomerManagedPolicyReference::builder()
                .name(POLICY_NAME)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    w.emulator.set_member_policies(&[
        (GOOD, &[POLICY_NAME, "platform-boundary"]),
        (BAD, &["platform-boundary"]),
    ]);
    (w, set)
}

/// The pipeline's ProvisionPermissionSet to one account: its request id.
async fn provision(w: &World, set: &str, account: &str) -> String {
    let out = w
        .sso
        .provision_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(set)
        .target_type(ProvisionTargetType::AwsAccount)
        .target_id(account)
        .send()
        .await
        .unwrap();
    out.permission_set_provisioning_status()
        .unwrap()
        .request_id()
        .unwrap()
        .to_owned()
}

/// Its CloudTrail event, as the pipeline's call was recorded (the status as answered).
fn provision_event(w: &World, set: &str, account: &str, request_id: &str, event_id: &str) -> String {
    w.permission_set_event("sso.ProvisionPermissionSet-compliant.json", set)
        .with("requestParameters.targetType", json!("AWS_ACCOUNT"))
        .with("requestParameters.targetId", json!(account))
        .with(
            "responseElements.permissionSetProvisioningStatus",
            json!({"status": "IN_PROGRESS", "requestId": request_id, "permissionSetArn": set, "accountId": account}),
        )
        .with("requestID", json!(request_id))
        .with("eventID", json!(event_id))
        .to_string()
}

/// The pipeline's CreateAccountAssignment of the group: its request id.
async fn create_assignment(w: &World, set: &str, account: &str) -> String {
    let out = w
        .sso
        .create_account_assignment()
        .instance_arn(&w.instance)
        .permission_set_arn(set)
        .target_type(aws_sdk_ssoadmin::types::TargetType::AwsAccount)
        .target_id(account)
        .principal_type(SdkPrincipalType::Group)
        .principal_id(w.group_id("data-team"))
        .send()
        .await
        .unwrap();
    out.account_assignment_creation_status()
        .unwrap()
        .request_id()
        .unwrap()
        .to_owned()
}

fn assignment_event(w: &World, set: &str, account: &str, request_id: &str, event_id: &str) -> String {
    Event::group_assignment(&w.instance, set, account, w.group_id("data-team"))
        .with(
            "responseElements.accountAssignmentCreationStatus.requestId",
            json!(request_id),
        )
        .with("requestID", json!(request_id))
        .with("eventID", json!(event_id))
        .to_string()
}

#[tokio::test]
async fn a_provisioning_that_fails_in_a_member_account_is_reported_with_aws_reason_and_nothing_is_changed() {
    let (w, set) = world_with_referencing_set().await;
    let request = provision(&w, &set, BAD).await;
    let findings = Findings::default();
    let guard = w.guard(findings.clone(), w.shipped_policy());
    w.calls.clear();

    let report = guard
        .handle(&provision_event(&w, &set, BAD, &request, "e-provision"), today())
        .await
        .unwrap();

    assert_eq!(report.verdict, EventVerdict::Violation, "{report:?}");
    let published = findings.all();
    assert_eq!(published.len(), 1, "{published:?}");
    let outcome = &published[0];
    assert_eq!(outcome.finding.rule.as_str(), "provisioning-failed");
    assert_eq!(outcome.kind, OutcomeKind::Detected);
    assert!(outcome.finding.message.contains(BAD), "{}", outcome.finding.message);
    assert!(
        outcome.finding.message.contains(POLICY_NAME),
        "AWS's reason: {}",
        outcome.finding.message
    );
    assert!(
        outcome.finding.message.contains("create it there"),
        "{}",
        outcome.finding.message
    );
    // Nothing corrected: no write at all; the status read once listed, once described.
    assert_eq!(w.calls.mutating(), Vec::<String>::new());
    assert_eq!(
        w.calls
            .all()
            .iter()
            .filter(|c| c.contains("ProvisioningStatus"))
            .cloned()
            .collect::<Vec<_>>(),
        [
            "ListPermissionSetProvisioningStatus",
            "ListPermissionSetProvisioningStatus",
            "DescribePermissionSetProvisioningStatus"
        ]
    );
}

#[tokio::test]
async fn a_batch_follows_its_assignment_creations_together_and_reports_only_the_failed_one() {
    let (w, set) = world_with_referencing_set().await;
    let ok_1 = create_assignment(&w, &set, GOOD).await;
    let failed = create_assignment(&w, &set, BAD).await;
    let findings = Findings::default();
    let guard = w.guard(findings.clone(), w.shipped_policy());
    let bodies = [
        assignment_event(&w, &set, GOOD, &ok_1, "e-good"),
        assignment_event(&w, &set, BAD, &failed, "e-bad"),
    ];
    let messages: Vec<Message<'_>> = bodies
        .iter()
        .zip(["m0", "m1"])
        .map(|(body, id)| Message { id, body })
        .collect();
    w.calls.clear();

    let handled = guard.handle_batch(&messages, today(), None).await;

    // Both GROUP assignments are compliant on their face: no read of the assignments; the batch's
    // creations are followed with one listing of those in progress, one of the failed ones, and
    // one description of the failed one, for its reason.
    assert_eq!(
        w.calls.all(),
        [
            "ListAccountAssignmentCreationStatus",
            "ListAccountAssignmentCreationStatus",
            "DescribeAccountAssignmentCreationStatus"
        ]
    );
    let good = handled[0].result.as_ref().unwrap();
    let bad = handled[1].result.as_ref().unwrap();
    assert_eq!(good.verdict, EventVerdict::Compliant, "{good:?}");
    assert!(good.outcomes.is_empty());
    assert_eq!(bad.verdict, EventVerdict::Violation, "{bad:?}");
    assert_eq!(bad.outcomes.len(), 1);
    assert_eq!(bad.outcomes[0].finding.rule.as_str(), "provisioning-failed");
    let published = findings.all();
    assert_eq!(published.len(), 1);
    assert!(
        published[0].finding.message.contains("nobody received this access"),
        "{}",
        published[0].finding.message
    );
    // The emulator agrees: the failed creation left no assignment.
    assert_eq!(w.count_assignments(BAD, &set).await, 0);
    assert_eq!(w.count_assignments(GOOD, &set).await, 1);
}

#[tokio::test]
async fn with_the_rule_off_nothing_is_followed() {
    let (w, set) = world_with_referencing_set().await;
    let failed = create_assignment(&w, &set, BAD).await;
    let mut policy = w.shipped_policy();
    policy
        .rules
        .common_mut(idc_guard::rules::provisioning_failed::ID)
        .unwrap()
        .mode = Some(idc_guard::domain::Mode::Off);
    let findings = Findings::default();
    let guard = w.guard(findings.clone(), policy);
    w.calls.clear();
    let report = guard
        .handle(&assignment_event(&w, &set, BAD, &failed, "e-bad"), today())
        .await
        .unwrap();
    assert_eq!(report.verdict, EventVerdict::Compliant);
    assert_eq!(w.calls.all(), Vec::<String>::new());
    assert!(findings.all().is_empty());
}

/// The reconciler's view of the instance.
fn instance(w: &World) -> InstanceRef {
    InstanceRef {
        instance_arn: InstanceArn::parse(&w.instance).unwrap(),
        identity_store_id: IdentityStoreId::parse(&w.store).unwrap(),
    }
}

async fn stale_accounts(w: &World, set: &str) -> Vec<String> {
    let out = w
        .sso
        .list_accounts_for_provisioned_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(set)
        .provisioning_status(ProvisioningStatus::LatestPermissionSetNotProvisioned)
        .send()
        .await
        .unwrap();
    let mut accounts = out.account_ids().to_vec();
    accounts.sort();
    accounts
}

/// Only the rule under test judges permission sets.
const RECONCILER_POLICY: &str = r#"
mode = "enforce"
[rules.permissions-boundary-required]
mode = "off"
[rules.abac-attributes-required]
mode = "off"
"#;

#[tokio::test]
async fn the_reconciler_provisions_exactly_the_accounts_left_at_an_older_version() {
    let w = World::builder().group("data-team").build().await;
    let set = w.create_permission_set(&PermissionSet::new("DataEngineer")).await;
    let accounts = ["333333333333", "444444444444", "555555555555"];
    for account in accounts {
        w.assign(account, &set, SdkPrincipalType::Group, w.group_id("data-team"))
            .await;
    }
    // An edit nobody provisioned, then provisioned to the first account only.
    w.put_inline_policy(
        &set,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
    )
    .await;
    provision(&w, &set, accounts[0]).await;
    assert_eq!(stale_accounts(&w, &set).await, [accounts[1], accounts[2]]);

    let findings = Findings::default();
    let policy = w.scoped(Policy::from_toml("test.toml", RECONCILER_POLICY).unwrap());
    let guard = w.guard(findings.clone(), policy);
    let mut options = RunOptions::now(false);
    options.inventory.definitions = true;
    w.calls.clear();
    let report = Box::pin(reconcile::run(
        &guard,
        &IdentityStoreApi::new(w.ids.clone(), RetryPolicy::immediate()),
        &Organizations::new(w.orgs.clone(), RetryPolicy::immediate()),
        &instance(&w),
        None,
        &options,
    ))
    .await
    .unwrap();

    let item = report
        .plan
        .iter()
        .find(|a| a.rule.as_str() == "provisioning-current")
        .unwrap_or_else(|| panic!("{}", report.table()));
    assert_eq!(
        item.outcome.as_deref(),
        Some("remediated and verified"),
        "{}",
        report.table()
    );
    assert!(item.reason.contains("444444444444, 555555555555"), "{}", item.reason);
    // Exactly the two accounts behind, one provisioning each; nothing else written.
    assert_eq!(w.calls.mutating(), ["ProvisionPermissionSet", "ProvisionPermissionSet"]);
    assert_eq!(stale_accounts(&w, &set).await, Vec::<String>::new());
    // A second run finds nothing to do.
    w.calls.clear();
    let again = Box::pin(reconcile::run(
        &guard,
        &IdentityStoreApi::new(w.ids.clone(), RetryPolicy::immediate()),
        &Organizations::new(w.orgs.clone(), RetryPolicy::immediate()),
        &instance(&w),
        None,
        &options,
    ))
    .await
    .unwrap();
    assert!(
        again.plan.iter().all(|a| a.rule.as_str() != "provisioning-current"),
        "{}",
        again.table()
    );
    assert_eq!(w.calls.mutating(), Vec::<String>::new());
}

#[tokio::test]
async fn the_reconciler_reports_a_failed_provisioning_with_aws_reason_in_detect_mode_and_changes_nothing() {
    let (w, set) = world_with_referencing_set().await;
    w.assign(GOOD, &set, SdkPrincipalType::Group, w.group_id("data-team"))
        .await;
    // The edit that needs re-provisioning, provisioned where it cannot succeed.
    w.put_inline_policy(
        &set,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
    )
    .await;
    provision(&w, &set, BAD).await;

    let findings = Findings::default();
    let text = format!("{RECONCILER_POLICY}\n[rules.provisioning-current]\nmode = \"detect\"\n");
    let policy = w.scoped(Policy::from_toml("test.toml", &text).unwrap());
    let guard = w.guard(findings.clone(), policy);
    let mut options = RunOptions::now(false);
    options.inventory.definitions = true;
    w.calls.clear();
    let report = Box::pin(reconcile::run(
        &guard,
        &IdentityStoreApi::new(w.ids.clone(), RetryPolicy::immediate()),
        &Organizations::new(w.orgs.clone(), RetryPolicy::immediate()),
        &instance(&w),
        None,
        &options,
    ))
    .await
    .unwrap();

    let item = report
        .plan
        .iter()
        .find(|a| a.rule.as_str() == "provisioning-current")
        .unwrap_or_else(|| panic!("{}", report.table()));
    // The account where it is assigned is behind (the edit was never provisioned there), and the
    // failed provisioning is reported with AWS's reason.
    assert!(item.reason.contains(GOOD), "{}", item.reason);
    assert!(item.reason.contains("FAILED"), "{}", item.reason);
    assert!(item.reason.contains(POLICY_NAME), "{}", item.reason);
    assert_eq!(w.calls.mutating(), Vec::<String>::new());
    assert_eq!(stale_accounts(&w, &set).await, [GOOD]);
}
