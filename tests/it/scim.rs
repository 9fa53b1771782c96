//! SCIM health (issue #16) against the emulator: the identity guard behind the safety rails'
//! gate, its state in moto's DynamoDB table, and the clock injected (no sleeps): a burst of
//! refused SCIM calls is one finding per window, AWS Health's token notice one finding with the
//! days left, silence judged from the recorded last write, and a sync that empties a protected
//! group one finding naming the group and the counts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use idc_guard::adapters::{DynamoState, IdentityStoreApi, SsoAdmin};
use idc_guard::domain::time::{parse_utc, utc};
use idc_guard::domain::{Change, ChangeKind, Date, EventVerdict, Outcome, OutcomeKind, ScimSignal};
use idc_guard::guard::Guard;
use idc_guard::policy::Policy;
use idc_guard::ports::{Notifier, Remote, StateRecord, StateStore};
use idc_guard::retry::RetryPolicy;
use idc_guard::safety::{ManualClock, MemoryParameters, SafetyConfig, SafetyGate, scim_key, scim_write_key};
use idc_guard_tests::calls::CallRecorder;
use idc_guard_tests::repo_root;
use idc_guard_tests::world::{self, Event, User};
use serde_json::json;

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);

fn today() -> Date {
    Date::new(2026, 3, 20).unwrap()
}

/// Every outcome published.
#[derive(Debug, Clone, Default)]
struct Findings(Arc<Mutex<Vec<Outcome>>>);

impl Findings {
    fn of(&self, rule: &str) -> Vec<Outcome> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|o| o.finding.rule.as_str() == rule)
            .cloned()
            .collect()
    }

    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

impl Notifier for Findings {
    async fn publish(&self, outcome: &Outcome) -> Remote<()> {
        self.0.lock().unwrap().push(outcome.clone());
        Ok(())
    }
}

type ScimGuard = Guard<SsoAdmin, IdentityStoreApi, Findings, SafetyGate<MemoryParameters, DynamoState, ManualClock>>;

struct World {
    world: world::World,
    clock: ManualClock,
    findings: Findings,
    ddb_calls: CallRecorder,
    guard: ScimGuard,
}

/// The shipped policy with `Platform*` groups protected and SCIM in use, scoped to the emulator.
fn policy(world: &world::World) -> Policy {
    let path = repo_root().join("policy/guardrail.toml");
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("protected = []", "protected = [\"Platform*\"]")
        .replace("uses_scim = false", "uses_scim = true");
    world.scoped(Policy::from_toml("scim.toml", &text).unwrap())
}

/// The emulator with the state table; `PlatformAdmins` (protected) has one member left, as has
/// `Readers` (not protected). The clock shows `start`.
async fn world(start: &str) -> World {
    let world = world::World::builder()
        .state_table()
        .group("PlatformAdmins")
        .group("Readers")
        .user(User::new("ana"))
        .user(User::new("bo"))
        .member("ana", "PlatformAdmins")
        .member("bo", "Readers")
        .build()
        .await;
    let clock = ManualClock::new(parse_utc(start).unwrap());
    let findings = Findings::default();
    let ddb_calls = CallRecorder::default();
    let gate = SafetyGate::new(
        MemoryParameters::new(),
        DynamoState::new(
            world.recorded_ddb(&ddb_calls),
            world::STATE_TABLE,
            RetryPolicy::immediate(),
        ),
        clock.clone(),
        SafetyConfig::default(),
    );
    let guard = world.guard_with_gate(findings.clone(), policy(&world), gate);
    World {
        world,
        clock,
        findings,
        ddb_calls,
        guard,
    }
}

impl World {
    async fn item(&self, key: &idc_guard::ports::StateKey) -> Option<StateRecord> {
        DynamoState::new(self.world.ddb.clone(), world::STATE_TABLE, RetryPolicy::immediate())
            .get(key)
            .await
            .unwrap()
    }

    /// Delivers the refused SCIM call `n`, made at the clock's time.
    async fn refused_call(&self, n: usize) -> EventVerdict {
        let at = utc(idc_guard::ports::Gate::now(self.guard.gate()));
        let event = Event::fixture("identitystore-scim.PatchUser-unauthorized-undetermined.json")
            .with("eventID", json!(format!("c41d7e2a-6f95-4b3c-8a1e-{n:012}")))
            .with("eventTime", json!(at))
            .envelope(&format!("3e8f1c2a-5b7d-4e90-a1c3-{n:012}"))
            .to_string();
        self.guard.handle(&event, today()).await.unwrap().verdict
    }

    /// Delivers a SCIM PatchGroup removing `removed` from `group`, made at the clock's time.
    async fn patch_group(&self, n: usize, group: &str, removed: &[&str]) -> idc_guard::guard::GuardReport {
        let at = utc(idc_guard::ports::Gate::now(self.guard.gate()));
        let values: Vec<_> = removed.iter().map(|id| json!({"value": id})).collect();
        let event = Event::fixture("identitystore-scim.PatchGroup-mass-removal-undetermined.json")
            .with("eventID", json!(format!("6e5d4c3b-2a19-4f08-9e7d-{n:012}")))
            .with("eventTime", json!(at))
            .with("requestParameters.id", json!(self.world.group_id(group)))
            .with(
                "requestParameters.httpBody.Operations",
                json!([{"op": "Remove", "path": "members", "value": values}]),
            )
            .envelope(&format!("8d2b6f4e-1a3c-4e7b-9f05-{n:012}"))
            .to_string();
        self.guard.handle(&event, today()).await.unwrap()
    }
}

#[tokio::test]
async fn a_burst_of_refused_scim_calls_is_one_finding_per_window() {
    let w = world("2026-03-20T06:30:00Z").await;
    for n in 0..8 {
        w.refused_call(n).await;
        w.clock.advance(MINUTE);
    }
    let found = w.findings.of("scim-sync-failing");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind, OutcomeKind::Detected);
    let message = &found[0].finding.message;
    assert!(
        message.contains("5 SCIM calls from the identity provider were refused within PT15M"),
        "{message}"
    );
    assert!(message.contains("UnauthorizedException"), "{message}");
    // The state: every failure recorded, and the window of the one finding (the fifth call's).
    let series = w.item(&scim_key("failures")).await.unwrap();
    assert_eq!(series.times.len(), 8);
    assert_eq!(series.since.map(utc).as_deref(), Some("2026-03-20T06:34:00Z"));

    // Twenty minutes on, the old burst has left the window: four more are not a finding, the
    // fifth of the new burst is (the last finding is older than the window).
    w.clock.advance(20 * MINUTE);
    for n in 10..14 {
        w.refused_call(n).await;
        w.clock.advance(MINUTE);
    }
    assert_eq!(w.findings.of("scim-sync-failing").len(), 1);
    w.refused_call(14).await;
    assert_eq!(w.findings.of("scim-sync-failing").len(), 2);
    // A duplicate delivery of a call already counted reports nothing new.
    w.refused_call(14).await;
    assert_eq!(w.findings.of("scim-sync-failing").len(), 2);
}

#[tokio::test]
async fn refused_calls_below_the_threshold_are_no_finding() {
    let w = world("2026-03-20T06:30:00Z").await;
    for n in 0..4 {
        assert_eq!(w.refused_call(n).await, EventVerdict::Compliant);
        w.clock.advance(MINUTE);
    }
    assert_eq!(w.findings.count(), 0);
    assert_eq!(w.item(&scim_key("failures")).await.unwrap().times.len(), 4);
    // Spread wider than the window, the fifth is no finding either.
    w.clock.advance(15 * MINUTE);
    assert_eq!(w.refused_call(4).await, EventVerdict::Compliant);
    assert_eq!(w.findings.count(), 0);
    // Other failed SCIM calls (the IdP's data) are ignored, as every failed call is.
    let invalid =
        std::fs::read_to_string(repo_root().join("events/identitystore-scim.PatchGroup-failed-ignored.json")).unwrap();
    assert_eq!(
        w.guard.handle(&invalid, today()).await.unwrap().verdict,
        EventVerdict::Ignored
    );
    assert_eq!(w.item(&scim_key("failures")).await.unwrap().times.len(), 5);
}

#[tokio::test]
async fn the_token_expiry_notice_is_one_finding_with_the_days_left_by_the_guards_clock() {
    // Five minutes after the notice was sent, 89 days and 23 hours before the expiry.
    let w = world("2026-09-29T09:20:11Z").await;
    let notice = std::fs::read_to_string(
        repo_root().join("events/health.AWS_IAMIDENTITYCENTER_SCIM_BEARER_TOKEN_EXPIRY_NOTIFICATION-violation.json"),
    )
    .unwrap();
    let report = w.guard.handle(&notice, today()).await.unwrap();
    assert_eq!(report.verdict, EventVerdict::Violation);
    // Delivered again (EventBridge retries): published once.
    w.guard.handle(&notice, today()).await.unwrap();
    let found = w.findings.of("scim-token-expiry");
    assert_eq!(found.len(), 1, "{found:#?}");
    let message = &found[0].finding.message;
    assert!(
        message.contains("expires on 2026-12-28T09:15:00Z (89 days left; the date is the notice's text)"),
        "{message}"
    );
    assert!(message.contains("Access tokens, Generate token"), "{message}");
    // A week later, a new notice for the same token counts from the later clock.
    w.clock.advance(7 * DAY);
    let later = notice.replace(
        "7c1e4b0a-93d2-4f55-8b6e-2a9f0d3c5e71",
        "7c1e4b0a-93d2-4f55-8b6e-2a9f0d3c5e72",
    );
    w.guard.handle(&later, today()).await.unwrap();
    let found = w.findings.of("scim-token-expiry");
    assert_eq!(found.len(), 2);
    assert!(
        found[1].finding.message.contains("(82 days left"),
        "{}",
        found[1].finding.message
    );
    // Bad input is an error naming the field, and records nothing.
    let bad = notice.replace("Mon, 28 Dec 2026 09:15:00 GMT", "soon");
    let e = w.guard.handle(&bad, today()).await.unwrap_err();
    assert!(e.to_string().contains("detail.startTime"), "{e}");
    assert_eq!(w.findings.of("scim-token-expiry").len(), 2);
}

/// The reconciler's synthetic check.
fn silence_check(day: &str) -> Change {
    Change {
        meta: idc_guard::domain::EventMeta {
            event_id: format!("scim-silent-{day}"),
            shared_event_id: None,
            envelope_id: None,
            event_name: "ScimSilenceCheck".into(),
            event_source: idc_guard::safety::RECONCILER_SOURCE.into(),
            source: None,
            event_time: String::new(),
            region: String::new(),
            account: String::new(),
            request_id: None,
            console: false,
            operation: None,
        },
        actor: idc_guard::domain::Actor::Guard {
            role_name: "drift-reconciler".into(),
        },
        kind: ChangeKind::Scim(ScimSignal::Silence),
    }
}

#[tokio::test]
async fn scim_silence_is_judged_from_the_last_write_the_guard_recorded() {
    let w = world("2026-03-20T06:17:26Z").await;
    // A successful SCIM write (at 06:12:48), recorded once an hour at most.
    let write =
        std::fs::read_to_string(repo_root().join("events/identitystore-scim.PatchUser-compliant.json")).unwrap();
    w.guard.handle(&write, today()).await.unwrap();
    let recorded = w.item(&scim_write_key()).await.unwrap();
    let first = recorded.since.unwrap();
    w.ddb_calls.clear();
    // Another write half an hour later, by the same process: the last write is not written
    // again. The one PutItem notes the change itself, for the identity store's notification of
    // it (issue #19: one change, reported once).
    let within = write.replace("06:1", "06:4");
    w.guard.handle(&within, today()).await.unwrap();
    assert_eq!(
        w.ddb_calls.all().iter().filter(|c| *c == "PutItem").count(),
        1,
        "{:?}",
        w.ddb_calls.all()
    );
    assert_eq!(w.item(&scim_write_key()).await.unwrap().since, Some(first));

    // Six days later: not silent yet; eight days later: one finding (a second check that day
    // publishes nothing more).
    w.clock.advance(6 * DAY);
    assert!(
        w.guard
            .check_scim_silence(&silence_check("2026-03-26"), today())
            .await
            .is_empty()
    );
    w.clock.advance(2 * DAY);
    let found = w.guard.check_scim_silence(&silence_check("2026-03-28"), today()).await;
    assert_eq!(found.len(), 1);
    assert!(
        found[0].finding.message.contains(
            "No successful SCIM write from the identity provider since 2026-03-20T06:12:48Z, more than 7 days"
        ),
        "{}",
        found[0].finding.message
    );
    w.guard.check_scim_silence(&silence_check("2026-03-28"), today()).await;
    assert_eq!(w.findings.of("scim-silent").len(), 1);
}

#[tokio::test]
async fn with_nothing_recorded_silence_is_measured_from_the_first_check() {
    let w = world("2026-03-20T06:00:00Z").await;
    assert!(
        w.guard
            .check_scim_silence(&silence_check("2026-03-20"), today())
            .await
            .is_empty()
    );
    assert_eq!(
        w.item(&scim_write_key()).await.unwrap().status.as_deref(),
        Some("watching")
    );
    w.clock.advance(8 * DAY);
    assert_eq!(
        w.guard
            .check_scim_silence(&silence_check("2026-03-28"), today())
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_sync_removing_most_of_a_protected_groups_members_is_one_finding_naming_the_group() {
    let w = world("2026-03-20T06:40:00Z").await;
    // The sync removed three of PlatformAdmins' four members (ana is left): 75% > 50%.
    let report = w.patch_group(0, "PlatformAdmins", &["u-1", "u-2", "u-3"]).await;
    assert_eq!(report.verdict, EventVerdict::Violation, "{report:#?}");
    let found = w.findings.of("scim-mass-removal");
    assert_eq!(found.len(), 1);
    let message = &found[0].finding.message;
    let group = w.world.group_id("PlatformAdmins");
    assert!(
        message.contains(&format!(
            "SCIM removed 3 of the 4 members of the protected group PlatformAdmins ({group}) within PT15M"
        )),
        "{message}"
    );
    assert_eq!(found[0].finding.resource.principal_id.as_deref(), Some(group));
    // The state: the group's removals counted, and the finding's window noted.
    let series = w.item(&scim_key(&format!("removals#{group}"))).await.unwrap();
    assert_eq!(series.times.len(), 3);
    assert!(series.since.is_some());
    // A further removal in the same sync: still one finding.
    w.clock.advance(MINUTE);
    w.patch_group(1, "PlatformAdmins", &["u-4"]).await;
    assert_eq!(w.findings.of("scim-mass-removal").len(), 1);
    // The same share of a group that is not protected: no finding, and no state.
    w.patch_group(2, "Readers", &["u-5", "u-6", "u-7"]).await;
    assert_eq!(w.findings.of("scim-mass-removal").len(), 1);
    let readers = w.world.group_id("Readers");
    assert!(w.item(&scim_key(&format!("removals#{readers}"))).await.is_none());
}

#[tokio::test]
async fn a_small_removal_from_a_protected_group_is_no_finding() {
    let w = world("2026-03-20T06:40:00Z").await;
    // One of two members: half is not more than half.
    let report = w.patch_group(0, "PlatformAdmins", &["u-1"]).await;
    assert_eq!(report.verdict, EventVerdict::Compliant, "{report:#?}");
    assert_eq!(w.findings.count(), 0);
}
