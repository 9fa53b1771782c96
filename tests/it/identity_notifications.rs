//! Identity store notifications (issue #19) against the emulator: one identity store change
//! delivered both ways, its CloudTrail record and the identity store's own notification, in
//! either order or at once, is reported exactly once, by the identity guard behind the safety
//! rails' gate (its state in the emulator's DynamoDB table); a replica Region's copy of a
//! notification is ignored with the reason.

use std::sync::{Arc, Mutex};

use idc_guard::adapters::{DynamoState, IdentityStoreApi, SsoAdmin};
use idc_guard::domain::time::parse_utc;
use idc_guard::domain::{Date, EventVerdict, IgnoreReason, MissingFact, Outcome, OutcomeKind};
use idc_guard::guard::{Guard, GuardReport};
use idc_guard::ports::{Notifier, Remote};
use idc_guard::retry::RetryPolicy;
use idc_guard::safety::{ManualClock, MemoryParameters, SafetyConfig, SafetyGate};
use idc_guard_tests::calls::CallRecorder;
use idc_guard_tests::repo_root;
use idc_guard_tests::world::{self, User};
use serde_json::{Value, json};

fn today() -> Date {
    Date::new(2026, 3, 16).unwrap()
}

/// Every outcome published.
#[derive(Debug, Clone, Default)]
struct Published(Arc<Mutex<Vec<Outcome>>>);

impl Published {
    fn all(&self) -> Vec<Outcome> {
        self.0.lock().unwrap().clone()
    }
}

impl Notifier for Published {
    async fn publish(&self, outcome: &Outcome) -> Remote<()> {
        self.0.lock().unwrap().push(outcome.clone());
        Ok(())
    }
}

type IdentityGuard =
    Guard<SsoAdmin, IdentityStoreApi, Published, SafetyGate<MemoryParameters, DynamoState, ManualClock>>;

struct World {
    world: world::World,
    published: Published,
    guard: IdentityGuard,
}

/// The emulator with the state table and one user (the one the pipeline "created"); the shipped
/// policy scoped to it, the gate's clock at the change's time, the guard in `eu-west-1`.
async fn world() -> World {
    let world = world::World::builder()
        .state_table()
        .user(User::new("ana"))
        .build()
        .await;
    let published = Published::default();
    let gate = SafetyGate::new(
        MemoryParameters::new(),
        DynamoState::new(
            world.recorded_ddb(&CallRecorder::default()),
            world::STATE_TABLE,
            RetryPolicy::immediate(),
        ),
        ManualClock::new(parse_utc("2026-03-16T10:45:10Z").unwrap()),
        SafetyConfig::default(),
    );
    let guard = world
        .guard_with_gate(published.clone(), world.shipped_policy(), gate)
        .with_region(Some("eu-west-1".to_owned()));
    world.calls.clear();
    World {
        world,
        published,
        guard,
    }
}

fn fixture(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join("events").join(name)).unwrap()).unwrap()
}

impl World {
    /// The pipeline's CreateUser of `ana`, as CloudTrail records it (`identity-store-scim-only`:
    /// made by hand, reported).
    fn cloudtrail(&self) -> String {
        let mut event = fixture("identitystore.CreateUser-violation.json");
        let user = self.world.user_id("ana");
        event["detail"]["requestParameters"]["identityStoreId"] = json!(self.world.store);
        event["detail"]["responseElements"]["identityStoreId"] = json!(self.world.store);
        event["detail"]["responseElements"]["userId"] = json!(user);
        event.to_string()
    }

    /// The identity store's notification of the same change, sent in `region`.
    fn notification(&self, region: &str) -> String {
        let mut event = fixture("identitystore.notification.UserCreated-undetermined.json");
        event["region"] = json!(region);
        event["resources"] = json!([
            format!("arn:aws:identitystore::111111111111:identitystore/{}", self.world.store),
            format!("arn:aws:identitystore:::user/{}", self.world.user_id("ana")),
        ]);
        event.to_string()
    }

    async fn handle(&self, event: &str) -> GuardReport {
        self.guard.handle(event, today()).await.unwrap()
    }

    /// Exactly one finding published, `identity-store-scim-only`'s report of the CloudTrail
    /// record (its actor named), and no mutating call: the rule corrects only memberships.
    fn reported_once(&self) {
        let published = self.published.all();
        assert_eq!(published.len(), 1, "{published:#?}");
        assert_eq!(published[0].finding.rule.as_str(), "identity-store-scim-only");
        assert_eq!(published[0].kind, OutcomeKind::Detected);
        assert_eq!(published[0].event.event_name, "CreateUser");
        assert!(
            published[0].finding.message.contains("terraform-identity-center"),
            "{}",
            published[0].finding.message
        );
        assert!(
            self.world.calls.mutating().is_empty(),
            "{:?}",
            self.world.calls.mutating()
        );
    }
}

/// The notification judged on its own: undetermined, the actor unknown, nothing published.
fn judged_without_actor(report: &GuardReport) {
    assert_eq!(report.verdict, EventVerdict::Undetermined, "{report:?}");
    assert_eq!(report.undetermined.len(), 1, "{report:?}");
    assert_eq!(report.undetermined[0].fact, MissingFact::Actor);
    assert!(report.outcomes.is_empty());
}

fn already_delivered(report: &GuardReport) -> String {
    assert_eq!(report.verdict, EventVerdict::Ignored, "{report:?}");
    let reason = report.reason.clone().unwrap();
    let expected = IgnoreReason::AlreadyDelivered { by: String::new() }.to_string();
    assert!(reason.starts_with(expected.trim_end()), "{reason}");
    reason
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudtrail_first_then_the_notification_is_reported_once() {
    let w = world().await;
    let record = w.handle(&w.cloudtrail()).await;
    assert_eq!(record.verdict, EventVerdict::Violation);
    let notification = w.handle(&w.notification("eu-west-1")).await;
    let reason = already_delivered(&notification);
    assert!(
        reason.contains("its CloudTrail record (event 120d5ac3-437e-4f0a-8154-75038ca4ceef)"),
        "{reason}"
    );
    w.reported_once();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_notification_first_then_cloudtrail_is_reported_once() {
    let w = world().await;
    let notification = w.handle(&w.notification("eu-west-1")).await;
    judged_without_actor(&notification);
    assert!(w.published.all().is_empty());
    // The record names the actor: it is judged, and reported.
    let record = w.handle(&w.cloudtrail()).await;
    assert_eq!(record.verdict, EventVerdict::Violation);
    // A later copy of the notification (a duplicate envelope) yields to the record.
    let again = w.notification("eu-west-1").replace(
        "5d0c2b7e-41a9-4f0e-9b3d-7e6f5a4c3b21",
        "5d0c2b7e-41a9-4f0e-9b3d-7e6f5a4c3b22",
    );
    already_delivered(&w.handle(&again).await);
    w.reported_once();
}

#[tokio::test(flavor = "multi_thread")]
async fn both_at_once_are_reported_once() {
    let w = world().await;
    let (record, notification) = (w.cloudtrail(), w.notification("eu-west-1"));
    let (record, notification) = tokio::join!(w.handle(&record), w.handle(&notification));
    assert_eq!(record.verdict, EventVerdict::Violation);
    // Whichever the table saw first, the notification publishes nothing.
    match notification.verdict {
        EventVerdict::Ignored => {
            already_delivered(&notification);
        }
        _ => judged_without_actor(&notification),
    }
    w.reported_once();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_regions_notification_is_ignored_with_the_reason() {
    let w = world().await;
    let replica = w.handle(&w.notification("us-west-2")).await;
    assert_eq!(replica.verdict, EventVerdict::Ignored);
    assert_eq!(
        replica.reason.as_deref(),
        Some(
            IgnoreReason::ReplicaRegion {
                region: "us-west-2".into(),
                primary: "eu-west-1".into()
            }
            .to_string()
            .as_str()
        )
    );
    // The primary Region's copy is judged; the record after it is reported once.
    judged_without_actor(&w.handle(&w.notification("eu-west-1")).await);
    w.handle(&w.cloudtrail()).await;
    w.reported_once();
    // A type idc-guard does not decode is ignored with its detail-type, and changes nothing.
    let unknown = std::fs::read_to_string(
        repo_root().join("events/identitystore.notification.GroupMembershipCreated-unknown-type-ignored.json"),
    )
    .unwrap();
    let ignored = w.handle(&unknown).await;
    assert_eq!(ignored.verdict, EventVerdict::Ignored);
    assert!(
        ignored.reason.as_deref().unwrap().contains("Group Membership Created"),
        "{ignored:?}"
    );
    w.reported_once();
}
