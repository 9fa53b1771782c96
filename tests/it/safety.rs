//! The safety rails end to end: the guard behind `SafetyGate` against the emulator (moto's
//! DynamoDB and SSM, idc-guard's sso-admin extension), with a `ManualClock` so that caches and
//! windows pass without sleeping. The table and the kill switch parameter are created by each
//! test. DynamoDB failures are injected at the wire with aws-smithy-mocks. Property tests drive
//! generated interleavings of duplicate deliveries and state changes through the same guard, on
//! the in-memory store (many cases) and on the emulator (a few).
//!
//! "One finding" means one outcome published to the notifier: a duplicate delivery of an event
//! reports nothing (`Decision::Duplicate`).

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_ssoadmin::types::PrincipalType;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use idc_guard::adapters::{DynamoState, IdentityStoreApi, SsmParameters, SsoAdmin};
use idc_guard::domain::Date;
use idc_guard::domain::PermissionSetFacts;
use idc_guard::domain::{AbacAttribute, AccountId, Assignment, Boundary, InlinePolicyText};
use idc_guard::domain::{IdentityStoreId, InstanceArn, PermissionSetArn};
use idc_guard::domain::{Outcome, OutcomeKind};
use idc_guard::guard::{Guard, GuardReport};
use idc_guard::policy::Policy;
use idc_guard::ports::{
    Directory, FailureKind, Gate, IdentityCenter, IdentityStore, InstanceInventory, InstanceRef, MembershipRef,
    Notifier, Parameters, Remote, RemoteError, StateKey, StateRecord, StateStore,
};
use idc_guard::retry::RetryPolicy;
use idc_guard::safety::{
    Limit, MAX_KILL_SWITCH_TTL, ManualClock, MemoryParameters, MemoryStore, SafetyConfig, SafetyGate, breaker_key,
};
use idc_guard_tests::calls::CallRecorder;
use idc_guard_tests::world::{self, Event, PermissionSet, STATE_TABLE};
use idc_guard_tests::{REVERT_AND_REVOKE, repo_root};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::{Value, json};

const ACCOUNT: &str = "333333333333";
const TABLE: &str = STATE_TABLE;
const SWITCH: &str = "/idc-guard/mode";
/// 2026-11-27T14:00:00Z.
const START: u64 = 1_795_788_000;
const MINUTE: Duration = Duration::from_secs(60);

fn today() -> Date {
    Date::new(2026, 11, 27).unwrap()
}

fn user(n: usize) -> String {
    format!("34887428-4081-7042-c3c6-{n:012}")
}

fn event_id(n: usize) -> String {
    format!("74f08438-6718-4c8f-b718-{n:012}")
}

fn envelope_id(n: usize) -> String {
    format!("f7a54c11-c912-4955-97f3-{n:012}")
}

/// The USER assignment event for `user`, with this CloudTrail eventID and EventBridge envelope id.
fn assignment_event(instance: &str, ps: &str, user: &str, event_id: &str, envelope: &str) -> String {
    Event::user_assignment(instance, ps, ACCOUNT, user)
        .with("eventID", json!(event_id))
        .envelope(envelope)
        .to_string()
}

/// What subscribers would be told: every outcome published.
#[derive(Debug, Clone, Default)]
struct Findings(Arc<Mutex<Vec<Outcome>>>);

impl Findings {
    fn all(&self) -> Vec<Outcome> {
        self.0.lock().unwrap().clone()
    }

    /// The reasons of the withheld outcomes (quarantines and breaker openings included) that
    /// start with `prefix`.
    fn withheld(&self, prefix: &str) -> Vec<String> {
        self.all()
            .into_iter()
            .filter_map(|o| match o.kind {
                OutcomeKind::Withheld { reason }
                | OutcomeKind::Quarantined { reason }
                | OutcomeKind::BreakerOpened { reason }
                    if reason.starts_with(prefix) =>
                {
                    Some(reason)
                }
                _ => None,
            })
            .collect()
    }
}

impl Notifier for Findings {
    async fn publish(&self, outcome: &Outcome) -> Remote<()> {
        self.0.lock().unwrap().push(outcome.clone());
        Ok(())
    }
}

/// The single outcome of a report.
fn only(report: &GuardReport) -> &OutcomeKind {
    assert_eq!(report.outcomes.len(), 1, "{report:#?}");
    &report.outcomes[0].kind
}

/// The reason of a withheld outcome (a quarantine or a breaker opening is one too).
fn withheld(kind: &OutcomeKind) -> &str {
    match kind {
        OutcomeKind::Withheld { reason }
        | OutcomeKind::Quarantined { reason }
        | OutcomeKind::BreakerOpened { reason } => reason,
        other => panic!("expected withheld, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Against the emulator.

type SafeGuard<P, S> = Guard<SsoAdmin, IdentityStoreApi, Findings, SafetyGate<P, S, ManualClock>>;

/// The emulator with the state table and a permission set; guards on its recorded clients.
struct World {
    world: world::World,
    /// The permission set `DataEngineer`.
    ps: String,
    /// DynamoDB and SSM clients whose calls `state_calls` records.
    recorded_ddb: aws_sdk_dynamodb::Client,
    recorded_ssm: aws_sdk_ssm::Client,
    /// DynamoDB and SSM calls made by the guards (`calls` has their sso-admin and identitystore
    /// calls).
    state_calls: CallRecorder,
    clock: ManualClock,
    findings: Findings,
    policy: Policy,
}

impl Deref for World {
    type Target = world::World;

    fn deref(&self) -> &world::World {
        &self.world
    }
}

/// An emulator with the state table, a permission set `DataEngineer`, and the kill switch set to
/// `switch` (`None`: no parameter).
async fn world(switch: Option<&str>) -> World {
    let mut builder = world::World::builder()
        .state_table()
        .permission_set(PermissionSet::new("DataEngineer").session("PT1H"));
    if let Some(value) = switch {
        builder = builder.kill_switch(value);
    }
    let world = builder.build().await;
    let state_calls = CallRecorder::default();
    World {
        ps: world.set_arn("DataEngineer").to_owned(),
        recorded_ddb: world.recorded_ddb(&state_calls),
        recorded_ssm: world.recorded_ssm(&state_calls),
        state_calls,
        clock: ManualClock::new(START),
        findings: Findings::default(),
        policy: world.shipped_policy(),
        world,
    }
}

impl World {
    /// A guard (one Lambda container: its own kill switch cache) on the shared table.
    fn guard(&self) -> SafeGuard<SsmParameters, DynamoState> {
        self.guard_with(SafetyConfig::default())
    }

    fn guard_with(&self, config: SafetyConfig) -> SafeGuard<SsmParameters, DynamoState> {
        self.guard_over(
            SsmParameters::new(self.recorded_ssm.clone(), RetryPolicy::immediate()),
            DynamoState::new(self.recorded_ddb.clone(), TABLE, RetryPolicy::immediate()),
            config,
        )
    }

    /// A guard over other safety ports (mocked or in memory), with the emulator's sso-admin.
    fn guard_over<P: Parameters, S: StateStore>(
        &self,
        parameters: P,
        state: S,
        config: SafetyConfig,
    ) -> SafeGuard<P, S> {
        self.guard_with_gate(
            self.findings.clone(),
            self.policy.clone(),
            SafetyGate::new(parameters, state, self.clock.clone(), config),
        )
    }

    async fn set_switch(&self, value: &str) {
        self.set_kill_switch(value).await;
    }

    /// Assigns `user` the permission set directly (the violation), as a person would.
    async fn assign(&self, user: &str) {
        self.world.assign(ACCOUNT, &self.ps, PrincipalType::User, user).await;
    }

    async fn unassign(&self, user: &str) {
        self.world.unassign(ACCOUNT, &self.ps, PrincipalType::User, user).await;
    }

    /// How many assignments the permission set has in the account.
    async fn assignments(&self) -> usize {
        self.count_assignments(ACCOUNT, &self.ps).await
    }

    fn event(&self, user: &str, event_id: &str, envelope: &str) -> String {
        assignment_event(&self.instance, &self.ps, user, event_id, envelope)
    }

    /// The items of a partition of the table.
    async fn partition(&self, pk: &str) -> Vec<HashMap<String, AttributeValue>> {
        self.ddb
            .query()
            .table_name(TABLE)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .items()
            .to_vec()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_deliveries_of_one_event_make_one_mutation_and_one_finding() {
    let w = world(Some("enforce")).await;
    w.assign(&user(1)).await;
    w.calls.clear();
    // Two Lambda containers share the table; every delivery has its own EventBridge envelope id
    // and the same CloudTrail eventID.
    let guards = [Arc::new(w.guard()), Arc::new(w.guard())];
    let mut deliveries = tokio::task::JoinSet::new();
    for n in 0..10 {
        let guard = Arc::clone(&guards[n % 2]);
        let event = w.event(&user(1), &event_id(1), &envelope_id(n));
        deliveries.spawn(async move { guard.handle(&event, today()).await.unwrap() });
    }
    let reports = deliveries.join_all().await;

    assert_eq!(w.calls.mutating(), REVERT_AND_REVOKE);
    let findings = w.findings.all();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].kind, OutcomeKind::Remediated);
    assert_eq!(findings[0].event.event_id, event_id(1));
    assert_eq!(reports.iter().map(|r| r.outcomes.len()).sum::<usize>(), 1);
    assert_eq!(w.assignments().await, 0);
    // One claim for the event, which records what became of it.
    let claims = w.partition(&format!("event#{}", event_id(1))).await;
    assert_eq!(claims.len(), 1, "{claims:?}");
    assert_eq!(claims[0]["status"], AttributeValue::S("remediated".to_owned()));
    assert!(claims[0].contains_key("expires_at"));

    // A late redelivery finds the claim and reports nothing either.
    w.assign(&user(1)).await;
    let late = guards[0]
        .handle(&w.event(&user(1), &event_id(1), &envelope_id(99)), today())
        .await
        .unwrap();
    assert!(late.outcomes.is_empty(), "{late:#?}");
    assert_eq!(w.calls.mutating(), REVERT_AND_REVOKE);
}

#[tokio::test]
async fn the_kill_switch_set_to_detect_stops_corrections_within_its_cache_time_without_a_rebuild() {
    let w = world(Some("enforce")).await;
    let guard = w.guard();
    w.assign(&user(1)).await;
    let report = guard
        .handle(&w.event(&user(1), &event_id(1), &envelope_id(1)), today())
        .await
        .unwrap();
    assert_eq!(only(&report), &OutcomeKind::Remediated);

    w.set_switch("detect").await;
    w.assign(&user(1)).await;
    w.calls.clear();
    // The longest the switch may be cached; the guard is not rebuilt.
    w.clock.advance(MAX_KILL_SWITCH_TTL);
    let report = guard
        .handle(&w.event(&user(1), &event_id(2), &envelope_id(2)), today())
        .await
        .unwrap();
    assert_eq!(withheld(only(&report)), "kill switch /idc-guard/mode is set to detect");
    // Detect computes and reports the same plan.
    assert!(matches!(
        report.outcomes[0].finding.remediation[..],
        [
            idc_guard::domain::Action::DeleteAccountAssignment { .. },
            idc_guard::domain::Action::RevokeSessions { .. }
        ]
    ));
    assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
    assert_eq!(w.assignments().await, 1);

    // Back to enforce: the next event is corrected, by the same guard.
    w.set_switch("enforce").await;
    w.clock.advance(MAX_KILL_SWITCH_TTL);
    let report = guard
        .handle(&w.event(&user(1), &event_id(3), &envelope_id(3)), today())
        .await
        .unwrap();
    assert_eq!(only(&report), &OutcomeKind::Remediated);
    assert_eq!(w.assignments().await, 0);
}

#[tokio::test]
async fn a_missing_kill_switch_means_detect_with_the_reason_and_takes_no_claim() {
    let w = world(None).await;
    let guard = w.guard();
    w.assign(&user(1)).await;
    w.calls.clear();
    let event = w.event(&user(1), &event_id(1), &envelope_id(1));
    let report = guard.handle(&event, today()).await.unwrap();
    assert_eq!(
        withheld(only(&report)),
        "kill switch /idc-guard/mode does not exist: detect until it is created (enforce, detect or off)"
    );
    assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
    assert_eq!(
        w.state_calls.all(),
        ["GetParameter", "PutItem"],
        "the kill switch comes before the table; the only write records the publication"
    );
    assert_eq!(w.assignments().await, 1);

    // Withholding for the switch took no claim: once it is created, a redelivery of the same
    // event is corrected.
    w.set_switch("enforce").await;
    w.clock.advance(MAX_KILL_SWITCH_TTL);
    let report = guard.handle(&event, today()).await.unwrap();
    assert_eq!(only(&report), &OutcomeKind::Remediated);
    assert_eq!(w.calls.mutating(), REVERT_AND_REVOKE);
}

#[tokio::test]
async fn an_unreadable_or_invalid_kill_switch_means_detect_with_the_reason() {
    use aws_sdk_ssm::operation::get_parameter::GetParameterError;
    use aws_sdk_ssm::types::error::InternalServerError;

    let w = world(None).await;
    w.assign(&user(1)).await;
    w.calls.clear();
    let get = mock!(aws_sdk_ssm::Client::get_parameter).then_error(|| {
        GetParameterError::InternalServerError(
            InternalServerError::builder()
                .message("SSM is having a bad day")
                .meta(
                    ErrorMetadata::builder()
                        .code("InternalServerError")
                        .message("SSM is having a bad day")
                        .build(),
                )
                .build(),
        )
    });
    let ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, &[&get], |c| c
        .retry_config(RetryConfig::disabled()));
    let guard = w.guard_over(
        SsmParameters::new(ssm, RetryPolicy::immediate()),
        MemoryStore::new(),
        SafetyConfig::default(),
    );
    let report = guard
        .handle(&w.event(&user(1), &event_id(1), &envelope_id(1)), today())
        .await
        .unwrap();
    let reason = withheld(only(&report));
    assert!(
        reason.starts_with("kill switch /idc-guard/mode cannot be read (GetParameter failed")
            && reason.contains("SSM is having a bad day")
            && reason.ends_with(": detect"),
        "{reason}"
    );
    assert_eq!(get.num_calls(), RetryPolicy::immediate().attempts as usize);

    // A value that is not a mode.
    w.set_switch("enforced").await;
    let report = w
        .guard()
        .handle(&w.event(&user(1), &event_id(2), &envelope_id(2)), today())
        .await
        .unwrap();
    assert_eq!(
        withheld(only(&report)),
        "kill switch /idc-guard/mode holds \"enforced\", not enforce, detect or off: detect until it is fixed"
    );
    // `off` withholds too.
    w.set_switch("off").await;
    let report = w
        .guard()
        .handle(&w.event(&user(1), &event_id(3), &envelope_id(3)), today())
        .await
        .unwrap();
    assert_eq!(withheld(only(&report)), "kill switch /idc-guard/mode is set to off");
    assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
    assert_eq!(w.assignments().await, 1);
}

#[tokio::test]
async fn a_fourth_violation_within_the_hour_quarantines_the_resource_until_the_window_ends() {
    let w = world(Some("enforce")).await;
    let guard = w.guard();
    let mut kinds = Vec::new();
    // Another controller re-adds the USER assignment every 10 minutes.
    for n in 1..=4 {
        w.assign(&user(1)).await;
        let report = guard
            .handle(&w.event(&user(1), &event_id(n), &envelope_id(n)), today())
            .await
            .unwrap();
        kinds.push(only(&report).clone());
        w.clock.advance(10 * MINUTE);
    }
    assert_eq!(
        kinds[..3],
        [
            OutcomeKind::Remediated,
            OutcomeKind::Remediated,
            OutcomeKind::Remediated
        ]
    );
    assert!(matches!(kinds[3], OutcomeKind::Quarantined { .. }), "{:?}", kinds[3]);
    assert_eq!(
        withheld(&kinds[3]),
        format!(
            "quarantined: assignment-principal-type would be remediated on {ACCOUNT}|{}|USER|{} for the 4th time \
             within 1h (limit 3); the resource is detect-only until 2026-11-27T15:30:00Z (flap limit)",
            w.ps,
            user(1)
        )
    );
    assert_eq!(w.calls.mutating(), REVERT_AND_REVOKE.repeat(3));
    assert_eq!(w.assignments().await, 1, "quarantined: left in place");

    // Still quarantined 20 minutes later: withheld, and the quarantine is announced only once.
    let report = guard
        .handle(&w.event(&user(1), &event_id(5), &envelope_id(5)), today())
        .await
        .unwrap();
    assert!(matches!(only(&report), OutcomeKind::Withheld { .. }), "{report:#?}");
    assert!(
        withheld(only(&report)).starts_with("quarantined since 2026-11-27T14:30:00Z until 2026-11-27T15:30:00Z"),
        "{report:#?}"
    );
    assert_eq!(w.findings.withheld("quarantined:").len(), 1);

    // The quarantine ends by itself after the window.
    w.clock.advance(50 * MINUTE);
    let report = guard
        .handle(&w.event(&user(1), &event_id(6), &envelope_id(6)), today())
        .await
        .unwrap();
    assert_eq!(only(&report), &OutcomeKind::Remediated);
    assert_eq!(w.calls.mutating(), REVERT_AND_REVOKE.repeat(4));
    assert_eq!(w.assignments().await, 0);
}

#[tokio::test]
async fn the_twenty_first_remediation_in_ten_minutes_opens_the_breaker_until_an_operator_resets_it() {
    let w = world(Some("enforce")).await;
    let guard = w.guard();
    // 21 different users, each assigned directly, 20 seconds apart: 7 minutes in all.
    for n in 1..=21 {
        w.assign(&user(n)).await;
        let report = guard
            .handle(&w.event(&user(n), &event_id(n), &envelope_id(n)), today())
            .await
            .unwrap();
        if n <= 20 {
            assert_eq!(only(&report), &OutcomeKind::Remediated, "remediation {n}");
        } else {
            assert!(
                matches!(only(&report), OutcomeKind::BreakerOpened { .. }),
                "{report:#?}"
            );
            assert_eq!(
                withheld(only(&report)),
                "breaker opened at 2026-11-27T14:06:40Z: 21 remediations organisation-wide within 10m (limit 20); \
                 the event path is detect-only until an operator resets the breaker"
            );
        }
        w.clock.advance(Duration::from_secs(20));
    }
    assert_eq!(w.calls.mutating(), REVERT_AND_REVOKE.repeat(20));
    assert_eq!(w.assignments().await, 1);

    // It stays open, long after the window, until reset; the opening is announced once.
    w.clock.advance(Duration::from_secs(3600));
    w.assign(&user(22)).await;
    let report = guard
        .handle(&w.event(&user(22), &event_id(22), &envelope_id(22)), today())
        .await
        .unwrap();
    assert!(matches!(only(&report), OutcomeKind::Withheld { .. }), "{report:#?}");
    assert_eq!(
        withheld(only(&report)),
        "breaker open since 2026-11-27T14:06:40Z: the event path is detect-only until an operator resets the breaker"
    );
    assert_eq!(w.findings.withheld("breaker opened").len(), 1);
    assert_eq!(w.calls.mutating(), REVERT_AND_REVOKE.repeat(20));

    // The documented reset: delete the breaker item.
    //   aws dynamodb delete-item --table-name <table> --key '{"pk":{"S":"breaker"},"sk":{"S":"event-path"}}'
    let key = breaker_key();
    w.ddb
        .delete_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(key.partition))
        .key("sk", AttributeValue::S(key.item))
        .send()
        .await
        .unwrap();
    let report = guard
        .handle(&w.event(&user(22), &event_id(23), &envelope_id(23)), today())
        .await
        .unwrap();
    assert_eq!(only(&report), &OutcomeKind::Remediated);
    assert_eq!(w.calls.mutating(), REVERT_AND_REVOKE.repeat(21));
}

#[tokio::test]
async fn limits_are_configurable() {
    let w = world(Some("enforce")).await;
    let guard = w.guard_with(SafetyConfig {
        flap: Limit::parse("1/30m").unwrap(),
        breaker: Limit::parse("2/1m").unwrap(),
        ..SafetyConfig::default()
    });
    w.assign(&user(1)).await;
    w.assign(&user(2)).await;
    let report = guard
        .handle(&w.event(&user(1), &event_id(1), &envelope_id(1)), today())
        .await
        .unwrap();
    assert_eq!(only(&report), &OutcomeKind::Remediated);
    w.assign(&user(1)).await;
    let report = guard
        .handle(&w.event(&user(1), &event_id(2), &envelope_id(2)), today())
        .await
        .unwrap();
    assert!(
        withheld(only(&report)).contains("for the 2nd time within 30m (limit 1)"),
        "{report:#?}"
    );
    let report = guard
        .handle(&w.event(&user(2), &event_id(3), &envelope_id(3)), today())
        .await
        .unwrap();
    assert!(
        withheld(only(&report)).contains("3 remediations organisation-wide within 1m (limit 2)"),
        "{report:#?}"
    );
}

#[tokio::test]
async fn idc_guards_own_echo_reads_only_its_journal_neither_the_kill_switch_nor_sso_admin() {
    let w = world(Some("enforce")).await;
    w.assign(&user(1)).await;
    let text =
        std::fs::read_to_string(repo_root().join("events/sso.CreateAccountAssignment-own-echo-ignored.json")).unwrap();
    let mut echo: Value = serde_json::from_str(&text).unwrap();
    echo["detail"]["eventTime"] = json!(idc_guard::domain::time::utc(START));
    let p = &mut echo["detail"]["requestParameters"];
    p["instanceArn"] = json!(w.instance);
    p["permissionSetArn"] = json!(w.ps);
    p["targetId"] = json!(ACCOUNT);
    p["principalId"] = json!(user(1));
    let mut policy = w.policy.clone();
    policy.own_identity.role_arns = idc_guard_tests::FIXTURE_OWN_ROLES
        .iter()
        .map(|r| (*r).to_owned())
        .collect();
    let guard = w.guard_with_gate(
        w.findings.clone(),
        policy,
        SafetyGate::new(
            SsmParameters::new(w.recorded_ssm.clone(), RetryPolicy::immediate()),
            DynamoState::new(w.recorded_ddb.clone(), TABLE, RetryPolicy::immediate()),
            w.clock.clone(),
            SafetyConfig::default(),
        ),
    );
    // idc-guard made the call (journaled just before making it, as every correction is).
    let assignment = Assignment {
        instance_arn: InstanceArn::parse(&w.instance).unwrap(),
        account_id: idc_guard::domain::AccountId::parse(ACCOUNT).unwrap(),
        permission_set_arn: PermissionSetArn::parse(&w.ps).unwrap(),
        principal_type: idc_guard::domain::PrincipalType::User,
        principal_id: user(1),
    };
    guard
        .gate()
        .record("CreateAccountAssignment", &assignment.resource_id())
        .await
        .unwrap();
    w.calls.clear();
    w.state_calls.clear();
    let report = guard.handle(&echo.to_string(), today()).await.unwrap();
    assert!(report.reason.unwrap().contains("idc-guard's own change"));
    assert!(w.calls.all().is_empty(), "{:?}", w.calls.all());
    // One read: the journal item that shows idc-guard made the change.
    assert_eq!(w.state_calls.all(), ["GetItem"]);
}

// ---------------------------------------------------------------------------------------------
// The gate fails closed: DynamoDB failing at the wire.

mod failing_table {
    use super::*;
    use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
    use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemOutput};
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::types::error::{ConditionalCheckFailedException, InternalServerError};

    fn internal_error() -> InternalServerError {
        InternalServerError::builder()
            .message("DynamoDB is having a bad day")
            .meta(
                ErrorMetadata::builder()
                    .code("InternalServerError")
                    .message("DynamoDB is having a bad day")
                    .build(),
            )
            .build()
    }

    fn condition_failed() -> PutItemError {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .message("The conditional request failed")
                .meta(
                    ErrorMetadata::builder()
                        .code("ConditionalCheckFailedException")
                        .message("The conditional request failed")
                        .build(),
                )
                .build(),
        )
    }

    fn table(rules: &[&aws_smithy_mocks::Rule]) -> DynamoState {
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |c| c
            .retry_config(RetryConfig::disabled()));
        DynamoState::new(client, TABLE, RetryPolicy::immediate())
    }

    fn switch_on() -> MemoryParameters {
        let parameters = MemoryParameters::new();
        parameters.set(SWITCH, "enforce");
        parameters
    }

    #[tokio::test]
    async fn an_unreadable_table_withholds_and_makes_no_mutating_call() {
        let w = world(None).await;
        w.assign(&user(1)).await;
        w.calls.clear();
        let get = mock!(aws_sdk_dynamodb::Client::get_item)
            .then_error(|| GetItemError::InternalServerError(internal_error()));
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .then_error(|| PutItemError::InternalServerError(internal_error()));
        let guard = w.guard_over(switch_on(), table(&[&get, &put]), SafetyConfig::default());
        let report = guard
            .handle(&w.event(&user(1), &event_id(1), &envelope_id(1)), today())
            .await
            .unwrap();
        assert_eq!(
            withheld(only(&report)),
            "fail closed: the safety state could not be read or written (GetItem failed (Throttled): \
             InternalServerError: DynamoDB is having a bad day)"
        );
        assert_eq!(get.num_calls(), RetryPolicy::immediate().attempts as usize);
        // Recording the publication fails too: the outcome is published anyway (rather twice
        // than never).
        assert_eq!(put.num_calls(), RetryPolicy::immediate().attempts as usize);
        assert_eq!(w.findings.all().len(), 1);
        assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
        assert_eq!(w.assignments().await, 1);
    }

    // The claim is written, then counting the remediation fails: withheld, and the claim is
    // released (nothing was executed), so a redelivery may try again.
    #[tokio::test]
    async fn a_failure_after_the_claim_withholds_and_releases_the_claim() {
        let w = world(None).await;
        w.assign(&user(1)).await;
        w.calls.clear();
        let get = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build());
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .sequence()
            .output(|| PutItemOutput::builder().build())
            .error(|| PutItemError::InternalServerError(internal_error()))
            .repeatedly()
            .build();
        let delete = mock!(aws_sdk_dynamodb::Client::delete_item)
            .match_requests(|r| {
                r.key()
                    .and_then(|k| k.get("pk"))
                    .is_some_and(|pk| pk == &AttributeValue::S(format!("event#{}", event_id(1))))
            })
            .then_output(|| DeleteItemOutput::builder().build());
        let guard = w.guard_over(switch_on(), table(&[&get, &put, &delete]), SafetyConfig::default());
        let report = guard
            .handle(&w.event(&user(1), &event_id(1), &envelope_id(1)), today())
            .await
            .unwrap();
        assert!(
            withheld(only(&report)).starts_with("fail closed: the safety state could not be read or written (PutItem"),
            "{report:#?}"
        );
        // The claim, the failing breaker count, then the failing record of the publication.
        assert_eq!(put.num_calls(), 1 + 2 * RetryPolicy::immediate().attempts as usize);
        assert_eq!(delete.num_calls(), 1, "the claim is released");
        assert_eq!(w.findings.all().len(), 1, "published anyway");
        assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
    }

    // The claim's write fails ambiguously (it may have been stored): withheld. The redelivery
    // finds the claim held and does nothing: never twice.
    #[tokio::test]
    async fn an_ambiguous_claim_is_never_acted_upon_twice() {
        let w = world(None).await;
        w.assign(&user(1)).await;
        w.calls.clear();
        let get_empty = mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests(|r| {
                r.key()
                    .and_then(|k| k.get("pk"))
                    .is_some_and(|pk| pk != &AttributeValue::S(format!("event#{}", event_id(1))))
            })
            .then_output(|| GetItemOutput::builder().build());
        let get_claim = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .item("pk", AttributeValue::S(format!("event#{}", event_id(1))))
                .item("sk", AttributeValue::S("assignment-principal-type#…".to_owned()))
                .item("version", AttributeValue::N("1".to_owned()))
                .item("status", AttributeValue::S("in-progress".to_owned()))
                .item("expires_at", AttributeValue::N((START + 86_400).to_string()))
                .build()
        });
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .sequence()
            .error(|| PutItemError::InternalServerError(internal_error()))
            .times(RetryPolicy::immediate().attempts as usize)
            .error(condition_failed)
            .repeatedly()
            .build();
        let delete = mock!(aws_sdk_dynamodb::Client::delete_item).then_output(|| DeleteItemOutput::builder().build());
        let guard = w.guard_over(
            switch_on(),
            table(&[&get_empty, &get_claim, &put, &delete]),
            SafetyConfig::default(),
        );
        let event = w.event(&user(1), &event_id(1), &envelope_id(1));
        let report = guard.handle(&event, today()).await.unwrap();
        assert!(withheld(only(&report)).starts_with("fail closed"), "{report:#?}");
        let report = guard.handle(&event, today()).await.unwrap();
        assert!(report.outcomes.is_empty(), "a duplicate reports nothing: {report:#?}");
        assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
        assert_eq!(w.assignments().await, 1);
    }

    // The claim is stored but the answer is lost; the adapter's retry meets its own claim
    // (ConditionalCheckFailed) and recognises it by its owner token: acted upon exactly once.
    #[tokio::test]
    async fn a_claim_whose_answer_was_lost_is_recognised_as_its_own() {
        let w = world(None).await;
        w.assign(&user(1)).await;
        w.calls.clear();
        let claim_pk = AttributeValue::S(format!("event#{}", event_id(1)));
        let is_claim = {
            let claim_pk = claim_pk.clone();
            move |key: Option<&HashMap<String, AttributeValue>>| key.and_then(|k| k.get("pk")) == Some(&claim_pk)
        };
        let owner = Arc::new(Mutex::new(None::<String>));
        let put_claim = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests({
                let (is_claim, owner) = (is_claim.clone(), Arc::clone(&owner));
                move |r| {
                    let claim = is_claim(r.item());
                    if claim && let Some(AttributeValue::S(token)) = r.item().and_then(|i| i.get("owner")) {
                        *owner.lock().unwrap() = Some(token.clone());
                    }
                    claim
                }
            })
            .sequence()
            .error(|| PutItemError::InternalServerError(internal_error()))
            .error(condition_failed)
            .build();
        let put_other = mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build());
        let get_claim = mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests({
                let is_claim = is_claim.clone();
                move |r| is_claim(r.key())
            })
            .then_output({
                let (claim_pk, owner) = (claim_pk.clone(), Arc::clone(&owner));
                move || {
                    GetItemOutput::builder()
                        .item("pk", claim_pk.clone())
                        .item("sk", AttributeValue::S("assignment-principal-type#…".to_owned()))
                        .item("version", AttributeValue::N("1".to_owned()))
                        .item("status", AttributeValue::S("in-progress".to_owned()))
                        .item(
                            "owner",
                            AttributeValue::S(owner.lock().unwrap().clone().unwrap_or_default()),
                        )
                        .item("expires_at", AttributeValue::N((START + 86_400).to_string()))
                        .build()
                }
            });
        let get_other = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build());
        let guard = w.guard_over(
            switch_on(),
            table(&[&put_claim, &put_other, &get_claim, &get_other]),
            SafetyConfig::default(),
        );
        let report = guard
            .handle(&w.event(&user(1), &event_id(1), &envelope_id(1)), today())
            .await
            .unwrap();
        assert_eq!(only(&report), &OutcomeKind::Remediated);
        assert_eq!(put_claim.num_calls(), 2);
        assert!(owner.lock().unwrap().is_some());
        assert_eq!(w.calls.mutating(), REVERT_AND_REVOKE);
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests: generated interleavings of duplicate deliveries and state changes.

/// What happens between and during deliveries.
#[derive(Debug, Clone)]
enum Op {
    /// A fake actor (re-)adds the USER assignment: a new CloudTrail event.
    Recreate,
    /// Someone else deletes it; no event reaches the guard.
    ExternalDelete,
    /// The kill switch is set (`true`: enforce, `false`: detect) and the clock moves past its cache.
    Switch(bool),
    /// The clock moves on (minutes).
    Wait(u8),
    /// These deliveries run concurrently: (which event, counting back from the latest; envelope).
    Deliver(Vec<(u8, u8)>),
}

fn ops(wait: bool) -> BoxedStrategy<Vec<Op>> {
    let deliver = vec((0u8..4, 0u8..8), 1..7).prop_map(Op::Deliver);
    let op = if wait {
        prop_oneof![
            2 => Just(Op::Recreate),
            1 => Just(Op::ExternalDelete),
            2 => (1u8..40).prop_map(Op::Wait),
            5 => deliver,
        ]
        .boxed()
    } else {
        prop_oneof![
            2 => Just(Op::Recreate),
            1 => Just(Op::ExternalDelete),
            1 => any::<bool>().prop_map(Op::Switch),
            5 => deliver,
        ]
        .boxed()
    };
    vec(op, 1..12).boxed()
}

/// One scenario's world: the guard, the resource, the kill switch and the clock.
trait Scenario {
    async fn recreate(&self);
    async fn external_delete(&self);
    async fn switch(&self, enforce: bool);
    fn wait(&self, minutes: u8);
    /// Delivers the events concurrently; their reports.
    async fn deliver(&self, events: Vec<String>) -> Vec<GuardReport>;
    async fn present(&self) -> bool;
    /// Mutating calls made by the guards so far.
    fn mutations(&self) -> usize;
    fn event(&self, event_id: &str, envelope: &str) -> String;
}

/// What a run saw: every report, with whether the kill switch said enforce.
struct Run {
    reports: Vec<(bool, GuardReport)>,
}

async fn run<S: Scenario>(s: &S, ops: &[Op]) -> Result<Run, TestCaseError> {
    let mut events = vec![event_id(0)];
    let mut enforce = true;
    let mut reports = Vec::new();
    let mut deliveries = 0;
    // In the end, enforcement is allowed and the latest event is delivered once more.
    let last = [Op::Switch(true), Op::Deliver(vec![(0, u8::MAX)])];
    for op in ops.iter().chain(&last) {
        match op {
            Op::Recreate => {
                s.recreate().await;
                events.push(event_id(events.len()));
            }
            Op::ExternalDelete => s.external_delete().await,
            Op::Switch(on) => {
                s.switch(*on).await;
                enforce = *on;
            }
            Op::Wait(minutes) => s.wait(*minutes),
            Op::Deliver(list) => {
                let batch = list
                    .iter()
                    .map(|(back, envelope)| {
                        deliveries += 1;
                        let k = events.len() - 1 - usize::from(*back) % events.len();
                        s.event(&events[k], &format!("{}-{envelope}-{deliveries}", envelope_id(k)))
                    })
                    .collect();
                let before = s.mutations();
                let batch = s.deliver(batch).await;
                if !enforce {
                    prop_assert_eq!(s.mutations(), before, "a mutation while the kill switch said detect");
                }
                reports.extend(batch.into_iter().map(|r| (enforce, r)));
            }
        }
    }
    // Never more than one correction (a deletion, and at most one revocation of the sessions it
    // issued), and never more than one finding while enforcing, per eventID.
    let mut calls: HashMap<&str, usize> = HashMap::new();
    let mut findings: HashMap<&str, usize> = HashMap::new();
    let mut reported = 0;
    for (enforcing, report) in &reports {
        for outcome in &report.outcomes {
            reported += outcome.calls.len();
            let once = |call: &str| outcome.calls.iter().filter(|c| **c == call).count();
            let corrections = once("DeleteAccountAssignment").max(once("PutInlinePolicyToPermissionSet"));
            *calls.entry(&outcome.event.event_id).or_default() += corrections;
            if *enforcing {
                *findings.entry(&outcome.event.event_id).or_default() += 1;
            }
        }
    }
    prop_assert!(calls.values().all(|&n| n <= 1), "mutations per event: {:?}", calls);
    prop_assert!(findings.values().all(|&n| n <= 1), "findings per event: {:?}", findings);
    prop_assert_eq!(reported, s.mutations(), "every mutation is reported");
    Ok(Run { reports })
}

// In memory: a fake Identity Center holding the one USER assignment, and yields at every port
// call, drawn from a seeded sequence, so that concurrent deliveries interleave differently.

/// A seeded source of yields.
#[derive(Debug, Clone)]
struct Yields(Arc<AtomicU64>);

impl Yields {
    async fn some(&self) {
        let mut x = self.0.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        x ^= x >> 29;
        for _ in 0..(x % 4) {
            tokio::task::yield_now().await;
        }
    }
}

#[derive(Debug, Clone)]
struct FakeCenter {
    present: Arc<Mutex<bool>>,
    deletes: Arc<Mutex<Vec<u64>>>,
    clock: ManualClock,
    yields: Yields,
}

fn unsupported(operation: &'static str) -> RemoteError {
    RemoteError::new(operation, FailureKind::Rejected, "not in this fake")
}

impl IdentityCenter for FakeCenter {
    async fn permission_set_tag(&self, _: &InstanceArn, _: &PermissionSetArn, _: &str) -> Remote<Option<String>> {
        Ok(None)
    }
    async fn permission_set(&self, _: &InstanceArn, _: &PermissionSetArn) -> Remote<Option<PermissionSetFacts>> {
        Err(unsupported("DescribePermissionSet"))
    }
    async fn permission_set_name(&self, _: &InstanceArn, _: &PermissionSetArn) -> Remote<Option<String>> {
        self.yields.some().await;
        Ok(Some("DataEngineer".to_owned()))
    }
    async fn assignment_exists(&self, _: &Assignment) -> Remote<bool> {
        self.yields.some().await;
        Ok(*self.present.lock().unwrap())
    }
    async fn access_control_attributes(&self, _: &InstanceArn) -> Remote<Option<Vec<AbacAttribute>>> {
        Err(unsupported("DescribeInstanceAccessControlAttributeConfiguration"))
    }
    async fn delete_assignment(&self, _: &Assignment) -> Remote<()> {
        self.yields.some().await;
        self.deletes.lock().unwrap().push(self.clock_now());
        let was = std::mem::replace(&mut *self.present.lock().unwrap(), false);
        self.yields.some().await;
        if was {
            Ok(())
        } else {
            Err(RemoteError::new(
                "DeleteAccountAssignment",
                FailureKind::NotFound,
                "no such assignment",
            ))
        }
    }
    async fn update_permission_set(
        &self,
        _: &InstanceArn,
        _: &PermissionSetArn,
        _: &str,
        _: Option<&str>,
        _: Option<&str>,
    ) -> Remote<()> {
        Err(unsupported("UpdatePermissionSet"))
    }
    async fn put_permissions_boundary(&self, _: &InstanceArn, _: &PermissionSetArn, _: &Boundary) -> Remote<()> {
        Err(unsupported("PutPermissionsBoundaryToPermissionSet"))
    }
    async fn detach_managed_policy(&self, _: &InstanceArn, _: &PermissionSetArn, _: &str) -> Remote<()> {
        Err(unsupported("DetachManagedPolicyFromPermissionSet"))
    }
    async fn put_inline_policy(&self, _: &InstanceArn, _: &PermissionSetArn, _: &str) -> Remote<()> {
        Err(unsupported("PutInlinePolicyToPermissionSet"))
    }
    async fn delete_inline_policy(&self, _: &InstanceArn, _: &PermissionSetArn) -> Remote<()> {
        Err(unsupported("DeleteInlinePolicyFromPermissionSet"))
    }
    async fn put_access_control_attributes(&self, _: &InstanceArn, _: &[AbacAttribute], _: bool) -> Remote<()> {
        Err(unsupported("PutInstanceAccessControlAttributeConfiguration"))
    }
    async fn provision_permission_set(&self, _: &InstanceArn, _: &PermissionSetArn) -> Remote<()> {
        Err(unsupported("ProvisionPermissionSet"))
    }
    async fn inline_policy(&self, _: &InstanceArn, _: &PermissionSetArn) -> Remote<Option<InlinePolicyText>> {
        Err(unsupported("GetInlinePolicyForPermissionSet"))
    }
    async fn permission_set_summary(
        &self,
        _: &InstanceArn,
        _: &PermissionSetArn,
    ) -> Remote<Option<(String, idc_guard::domain::SessionDuration)>> {
        // What names a finding: the set's name (and duration) in one read.
        self.yields.some().await;
        let duration = idc_guard::domain::SessionDuration::parse("PT1H").unwrap();
        Ok(Some(("DataEngineer".to_owned(), duration)))
    }
    async fn provision_to_account(&self, _: &InstanceArn, _: &PermissionSetArn, _: &AccountId) -> Remote<()> {
        Err(unsupported("ProvisionPermissionSet"))
    }
}

/// The fake's whole-instance reads: none (the fake guards revoke nothing: see `InMemory`).
impl InstanceInventory for FakeCenter {
    async fn instances(&self) -> Remote<Vec<InstanceRef>> {
        Err(unsupported("ListInstances"))
    }
    async fn permission_sets(&self, _: &InstanceArn) -> Remote<Vec<PermissionSetArn>> {
        Err(unsupported("ListPermissionSets"))
    }
    async fn provisioned_accounts(&self, _: &InstanceArn, _: &PermissionSetArn) -> Remote<Vec<AccountId>> {
        Err(unsupported("ListAccountsForProvisionedPermissionSet"))
    }
    async fn account_assignments(
        &self,
        _: &InstanceArn,
        _: &AccountId,
        _: &PermissionSetArn,
    ) -> Remote<Vec<(idc_guard::domain::PrincipalType, String)>> {
        Err(unsupported("ListAccountAssignments"))
    }
    async fn principal_assignments(
        &self,
        _: &InstanceArn,
        _: idc_guard::domain::PrincipalType,
        _: &str,
    ) -> Remote<Vec<(AccountId, PermissionSetArn)>> {
        Err(unsupported("ListAccountAssignmentsForPrincipal"))
    }
}

impl FakeCenter {
    fn clock_now(&self) -> u64 {
        use idc_guard::safety::Clock;
        self.clock.now()
    }
}

#[derive(Debug, Clone, Copy)]
struct NoIdentityStore;

impl IdentityStore for NoIdentityStore {
    async fn membership_id(&self, _: &MembershipRef) -> Remote<Option<String>> {
        Err(unsupported("GetGroupMembershipId"))
    }
    async fn delete_membership(&self, _: &IdentityStoreId, _: &str) -> Remote<()> {
        Err(unsupported("DeleteGroupMembership"))
    }
}

impl Directory for NoIdentityStore {
    async fn groups(&self, _: &IdentityStoreId) -> Remote<Vec<(String, String)>> {
        Err(unsupported("ListGroups"))
    }
    async fn users(&self, _: &IdentityStoreId) -> Remote<Vec<(String, String)>> {
        Err(unsupported("ListUsers"))
    }
    async fn group_members(&self, _: &IdentityStoreId, _: &str) -> Remote<Vec<String>> {
        Err(unsupported("ListGroupMemberships"))
    }
    async fn groups_of(&self, _: &IdentityStoreId, _: &str) -> Remote<Vec<String>> {
        Err(unsupported("ListGroupMembershipsForMember"))
    }
}

/// The in-memory store, yielding before every call.
#[derive(Debug, Clone)]
struct YieldingStore {
    inner: MemoryStore,
    yields: Yields,
}

impl StateStore for YieldingStore {
    async fn get(&self, key: &StateKey) -> Remote<Option<StateRecord>> {
        self.yields.some().await;
        self.inner.get(key).await
    }
    async fn put(&self, key: &StateKey, record: &StateRecord, expected: Option<u64>) -> Remote<bool> {
        self.yields.some().await;
        self.inner.put(key, record, expected).await
    }
    async fn delete(&self, key: &StateKey) -> Remote<()> {
        self.yields.some().await;
        self.inner.delete(key).await
    }
    async fn list(&self, partition: &str) -> Remote<Vec<(StateKey, StateRecord)>> {
        self.yields.some().await;
        self.inner.list(partition).await
    }
}

type MemoryGuard =
    Guard<FakeCenter, NoIdentityStore, Findings, SafetyGate<MemoryParameters, YieldingStore, ManualClock>>;

const FAKE_INSTANCE: &str = "arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708";
const FAKE_PS: &str = "arn:aws:sso:::permissionSet/ssoins-7223b1c4d5e6f708/ps-5b8e2c7a1f03d946";

struct InMemory {
    center: FakeCenter,
    parameters: MemoryParameters,
    clock: ManualClock,
    /// Two Lambda containers sharing the store.
    guards: [Arc<MemoryGuard>; 2],
}

impl InMemory {
    fn new(seed: u64, config: &SafetyConfig) -> Self {
        let clock = ManualClock::new(START);
        let yields = Yields(Arc::new(AtomicU64::new(seed)));
        let center = FakeCenter {
            present: Arc::new(Mutex::new(true)),
            deletes: Arc::default(),
            clock: clock.clone(),
            yields: yields.clone(),
        };
        let parameters = MemoryParameters::new();
        parameters.set(SWITCH, "enforce");
        let store = YieldingStore {
            inner: MemoryStore::new(),
            yields,
        };
        let mut policy = Policy::load(&repo_root().join("policy/guardrail.toml")).unwrap();
        policy.instance_arn = Some(InstanceArn::parse(FAKE_INSTANCE).unwrap());
        // The rails are the subject here: the revocation after a removal has tests of its own
        // (tests/it/revocation.rs), and the fake has no inline policy to write it to.
        policy.revocation.mode = idc_guard::domain::Mode::Off;
        let guard = || {
            Arc::new(Guard::with_gate(
                center.clone(),
                NoIdentityStore,
                Findings::default(),
                policy.clone(),
                SafetyGate::new(parameters.clone(), store.clone(), clock.clone(), config.clone()),
            ))
        };
        Self {
            guards: [guard(), guard()],
            center,
            parameters,
            clock,
        }
    }
}

impl Scenario for InMemory {
    async fn recreate(&self) {
        *self.center.present.lock().unwrap() = true;
    }
    async fn external_delete(&self) {
        *self.center.present.lock().unwrap() = false;
    }
    async fn switch(&self, enforce: bool) {
        self.parameters.set(SWITCH, if enforce { "enforce" } else { "detect" });
        self.clock.advance(MAX_KILL_SWITCH_TTL);
    }
    fn wait(&self, minutes: u8) {
        self.clock.advance(u32::from(minutes) * MINUTE);
    }
    async fn deliver(&self, events: Vec<String>) -> Vec<GuardReport> {
        let mut set = tokio::task::JoinSet::new();
        for (n, event) in events.into_iter().enumerate() {
            let guard = Arc::clone(&self.guards[n % 2]);
            set.spawn(async move { guard.handle(&event, today()).await.unwrap() });
        }
        set.join_all().await
    }
    async fn present(&self) -> bool {
        *self.center.present.lock().unwrap()
    }
    fn mutations(&self) -> usize {
        self.center.deletes.lock().unwrap().len()
    }
    fn event(&self, event_id: &str, envelope: &str) -> String {
        assignment_event(FAKE_INSTANCE, FAKE_PS, &user(1), event_id, envelope)
    }
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// Limits no scenario reaches: enforcement is always allowed.
fn unlimited() -> SafetyConfig {
    SafetyConfig {
        flap: Limit::parse("1000/1h").unwrap(),
        breaker: Limit::parse("1000/10m").unwrap(),
        ..SafetyConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    // Never more than one mutation (and one finding) per eventID, none while the kill switch
    // says detect, and compliant once enforcement is allowed and the latest event arrives.
    #[test]
    fn duplicates_and_state_changes_never_mutate_twice_per_event_and_converge(ops in ops(false), seed in any::<u64>()) {
        current_thread().block_on(async {
            let s = InMemory::new(seed, &unlimited());
            run(&s, &ops).await?;
            prop_assert!(!s.present().await, "not compliant in the end");
            Ok(())
        })?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    // With the default limits and time passing: never more than 3 deletions of the resource in
    // any rolling hour, and still at most one per eventID.
    #[test]
    fn the_flap_limit_holds_over_any_interleaving(ops in ops(true), seed in any::<u64>()) {
        current_thread().block_on(async {
            let s = InMemory::new(seed, &SafetyConfig::default());
            run(&s, &ops).await?;
            let deletes = s.center.deletes.lock().unwrap().clone();
            for (i, first) in deletes.iter().enumerate() {
                let within = deletes[i..].iter().filter(|t| **t < first + 3600).count();
                prop_assert!(within <= 3, "{} deletions within an hour of {}: {:?}", within, first, deletes);
            }
            Ok(())
        })?;
    }
}

// On the emulator: the same model, fewer cases, real concurrency.

struct OnEmulator<'w> {
    w: &'w World,
    guards: [Arc<SafeGuard<SsmParameters, DynamoState>>; 2],
    first_mutation: usize,
}

impl<'w> OnEmulator<'w> {
    async fn new(w: &'w World, case: usize) -> OnEmulator<'w> {
        let table = format!("{TABLE}-{case}");
        w.create_state_table(&table).await;
        w.set_switch("enforce").await;
        w.clock.advance(MAX_KILL_SWITCH_TTL);
        if w.assignments().await == 0 {
            w.assign(&user(1)).await;
        }
        let guard = || {
            Arc::new(w.guard_over(
                SsmParameters::new(w.recorded_ssm.clone(), RetryPolicy::immediate()),
                DynamoState::new(w.recorded_ddb.clone(), table.clone(), RetryPolicy::immediate()),
                unlimited(),
            ))
        };
        OnEmulator {
            guards: [guard(), guard()],
            w,
            first_mutation: w.calls.mutating().len(),
        }
    }
}

impl Scenario for OnEmulator<'_> {
    async fn recreate(&self) {
        if !self.present().await {
            self.w.assign(&user(1)).await;
        }
    }
    async fn external_delete(&self) {
        if self.present().await {
            self.w.unassign(&user(1)).await;
        }
    }
    async fn switch(&self, enforce: bool) {
        self.w.set_switch(if enforce { "enforce" } else { "detect" }).await;
        self.w.clock.advance(MAX_KILL_SWITCH_TTL);
    }
    fn wait(&self, minutes: u8) {
        self.w.clock.advance(u32::from(minutes) * MINUTE);
    }
    async fn deliver(&self, events: Vec<String>) -> Vec<GuardReport> {
        let mut set = tokio::task::JoinSet::new();
        for (n, event) in events.into_iter().enumerate() {
            let guard = Arc::clone(&self.guards[n % 2]);
            set.spawn(async move { guard.handle(&event, today()).await.unwrap() });
        }
        set.join_all().await
    }
    async fn present(&self) -> bool {
        self.w.assignments().await > 0
    }
    fn mutations(&self) -> usize {
        self.w.calls.mutating().len() - self.first_mutation
    }
    fn event(&self, event_id: &str, envelope: &str) -> String {
        // Each case has its own table: the same eventIDs are new to it.
        self.w.event(&user(1), event_id, envelope)
    }
}

#[test]
fn duplicates_and_state_changes_on_the_emulator_never_mutate_twice_per_event_and_converge() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let w = rt.block_on(world(Some("enforce")));
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 6,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let case = AtomicUsize::new(0);
    runner
        .run(&ops(false), |ops| {
            rt.block_on(async {
                let s = OnEmulator::new(&w, case.fetch_add(1, Ordering::SeqCst)).await;
                let run = run(&s, &ops).await?;
                prop_assert!(!s.present().await, "not compliant in the end");
                let failed = run
                    .reports
                    .iter()
                    .flat_map(|(_, r)| &r.outcomes)
                    .any(|o| matches!(o.kind, OutcomeKind::Failed { .. }));
                prop_assert!(!failed, "a correction failed");
                Ok(())
            })
        })
        .unwrap();
}
