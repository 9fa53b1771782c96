//! What the deployment grants against what the code calls: every request the guards and the
//! drift reconciler send while correcting real violations in the emulator is an action
//! `wiring::permissions` declares for their kind (the list the template's roles are checked
//! against in `template.rs`), so a role can never lack what the code needs.

use std::collections::BTreeSet;

use aws_sdk_ssoadmin::types::PrincipalType;
use idc_guard::adapters::{DynamoState, IdentityStoreApi, Organizations, SsmParameters};
use idc_guard::config::Kind;
use idc_guard::domain::{Date, OutcomeKind};
use idc_guard::notify::LoggingNotifier;
use idc_guard::policy::Policy;
use idc_guard::reconcile::{self, RunOptions};
use idc_guard::retry::RetryPolicy;
use idc_guard::safety::{SafetyConfig, SafetyGate, SystemClock};
use idc_guard::wiring::permissions;
use idc_guard_tests::calls::CallRecorder;
use idc_guard_tests::repo_root;
use idc_guard_tests::world::{Event, PermissionSet, STATE_TABLE, User, World, with_rule_mode};
use serde_json::json;

const ACCOUNT: &str = "333333333333";

/// The IAM action of a recorded `service:Operation`.
fn iam_action(call: &str) -> String {
    let (service, operation) = call.split_once(':').unwrap_or(("other", call));
    let prefix = match service {
        "sso-admin" => "sso",
        other => other,
    };
    format!("{prefix}:{operation}")
}

/// The recorded calls that `kind`'s role is not granted.
fn ungranted(kind: Kind, recorders: &[&CallRecorder]) -> BTreeSet<String> {
    let granted = permissions(kind);
    recorders
        .iter()
        .flat_map(|r| r.since(0))
        .map(|call| iam_action(&call))
        .filter(|action| !granted.contains(action.as_str()))
        .collect()
}

async fn world() -> World {
    World::builder()
        .organization(["dev"])
        .permission_set(PermissionSet::new("DataEngineer").session("PT1H").boundary(true))
        .abac(&[
            ("team", "${path:enterprise.department}"),
            ("project", "${path:enterprise.costCenter}"),
        ])
        .group("data-engineers")
        .user(User::new("alice"))
        .user(User::new("bob"))
        .state_table()
        .kill_switch("enforce")
        .build()
        .await
}

/// One violation of every kind the three guards correct, made as a person would; their events.
async fn violations(w: &World, set: &str, user: &str, group: &str) -> Vec<Event> {
    w.assign(ACCOUNT, set, PrincipalType::User, user).await;
    w.update_permission_set(set, "PT12H", None, None).await;
    w.put_inline_policy(
        set,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
    )
    .await;
    w.attach_managed_policy(set, "arn:aws:iam::aws:policy/AdministratorAccess")
        .await;
    w.remove_boundary(set).await;
    let membership = w.add_member(group, user).await;
    w.sso
        .delete_instance_access_control_attribute_configuration()
        .instance_arn(&w.instance)
        .send()
        .await
        .unwrap();
    vec![
        w.user_assignment_event(set, ACCOUNT, user).envelope("e1"),
        w.permission_set_event("sso.UpdatePermissionSet-long-session-violation.json", set)
            .envelope("e2"),
        w.permission_set_event("sso.PutInlinePolicyToPermissionSet-iam-undetermined.json", set)
            .envelope("e3"),
        w.permission_set_event("sso.AttachManagedPolicyToPermissionSet-admin-undetermined.json", set)
            .envelope("e4"),
        w.permission_set_event("sso.DeletePermissionsBoundaryFromPermissionSet-undetermined.json", set)
            .envelope("e5"),
        Event::fixture("sso.DeleteInstanceAccessControlAttributeConfiguration-violation.json")
            .with("requestParameters.instanceArn", json!(w.instance))
            .envelope("e6"),
        w.membership_event(group, user, &membership).envelope("e7"),
    ]
}

#[tokio::test]
async fn every_call_of_a_correcting_guard_and_reconciler_is_granted_to_its_role() {
    // On the heap: the guard's and the reconciler's futures together outgrow a test thread's
    // stack in a debug build.
    Box::pin(every_call_is_granted()).await;
}

async fn every_call_is_granted() {
    let w = world().await;
    let set = w.set_arn("DataEngineer").to_owned();
    let user = w.user_id("alice").to_owned();
    let group = w.group_id("data-engineers").to_owned();
    let rails = CallRecorder::default();
    let gate = SafetyGate::new(
        SsmParameters::new(w.recorded_ssm(&rails), RetryPolicy::immediate()),
        DynamoState::new(w.recorded_ddb(&rails), STATE_TABLE, RetryPolicy::immediate()),
        SystemClock,
        SafetyConfig::default(),
    );
    // Every rule in enforce mode, so that every correction is made.
    let shipped = std::fs::read_to_string(repo_root().join("policy/guardrail.toml")).unwrap();
    let text = with_rule_mode(&shipped, "identity-store-scim-only", "enforce");
    let policy = w.scoped(Policy::from_toml("guardrail.toml", &text).unwrap());
    let guard = w.guard_with_gate(LoggingNotifier, policy, gate);
    let today = Date::today_utc();

    let events = violations(&w, &set, &user, &group).await;
    w.calls.clear();
    let mut remediated = 0;
    for (n, event) in events.iter().enumerate() {
        let event = event
            .clone()
            .with("eventID", json!(format!("00000000-0000-0000-0000-00000000000{n}")));
        let report = Box::pin(guard.handle(&event.to_string(), today)).await.unwrap();
        remediated += report
            .outcomes
            .iter()
            .filter(|o| o.kind == OutcomeKind::Remediated)
            .count();
    }
    // Every kind of correction was made (so every call it needs was exercised).
    assert!(
        remediated >= events.len(),
        "only {remediated} remediations: {:?}",
        w.calls.since(0)
    );
    assert_eq!(ungranted(Kind::Guard, &[&w.calls, &rails]), BTreeSet::new());
    // (Not vacuous: the same calls are not what the Slack notifier is granted.)
    assert!(ungranted(Kind::SlackNotifier, &[&w.calls]).contains("sso:DeleteAccountAssignment"));

    // The reconciler: the whole inventory, and a correction of its own (another user: the
    // event path just corrected alice's, which the reconciler would leave alone for a while).
    w.assign(ACCOUNT, &set, PrincipalType::User, w.user_id("bob")).await;
    w.calls.clear();
    let orgs_calls = CallRecorder::default();
    let orgs = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(&w.sdk)
            .interceptor(orgs_calls.clone())
            .build(),
    );
    let mut options = RunOptions::now(false);
    options.inventory.definitions = true;
    let instance = idc_guard::ports::InstanceRef {
        instance_arn: idc_guard::domain::InstanceArn::parse(&w.instance).unwrap(),
        identity_store_id: idc_guard::domain::IdentityStoreId::parse(&w.store).unwrap(),
    };
    let report = Box::pin(reconcile::run(
        &guard,
        &IdentityStoreApi::new(w.recorded_ids(), RetryPolicy::immediate()),
        &Organizations::new(orgs, RetryPolicy::immediate()),
        &instance,
        None,
        &options,
    ))
    .await
    .unwrap();
    assert!(
        report
            .plan
            .iter()
            .any(|a| a.outcome.as_deref() == Some("remediated and verified")),
        "{report:?}"
    );
    assert_eq!(
        ungranted(Kind::DriftReconciler, &[&w.calls, &rails, &orgs_calls]),
        BTreeSet::new()
    );
}
