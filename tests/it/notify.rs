//! Notifications against the emulator: the guard publishes to an SNS topic; what was published is
//! read back from moto's state API (subject, both message forms, attributes) and through SQS
//! subscriptions with filter policies (the attributes route); owners come from the permission
//! set's tag, then the policy's routes; duplicate deliveries publish once, in every mode.

use std::ops::Deref;

use idc_guard::adapters::{IdentityStoreApi, SnsNotifier, SsoAdmin};
use idc_guard::domain::Date;
use idc_guard::domain::OutcomeKind;
use idc_guard::guard::Guard;
use idc_guard::policy::Policy;
use idc_guard::retry::RetryPolicy;
use idc_guard::safety::{DEFAULT_KILL_SWITCH, ManualClock, MemoryParameters, MemoryStore, SafetyConfig, SafetyGate};
use idc_guard_tests::world::{self, PermissionSet};
use serde_json::{Value, json};

type NotifyingGuard =
    Guard<SsoAdmin, IdentityStoreApi, SnsNotifier, SafetyGate<MemoryParameters, MemoryStore, ManualClock>>;

/// The emulator with the findings topic and two subscribed queues, and a guard publishing to it.
struct World {
    world: world::World,
    /// Subscribed with a filter policy that matches the published finding.
    matching_queue: String,
    /// Subscribed with a filter policy on another owner.
    other_queue: String,
    guard: NotifyingGuard,
}

impl Deref for World {
    type Target = world::World;

    fn deref(&self) -> &world::World {
        &self.world
    }
}

fn today() -> Date {
    Date::new(2026, 11, 27).unwrap()
}

async fn world(kill_switch: &str) -> World {
    let world = world::World::builder()
        .queue(
            "data-team",
            Some(json!({"rule": ["session-duration-cap"], "owner": ["data-team"], "account": ["222222222222"]})),
        )
        .queue("payments", Some(json!({"owner": ["payments"]})))
        .build()
        .await;
    let mut policy = world.shipped_policy();
    // Owners from the policy file: the tag, then routes, then the default.
    let owners = Policy::from_toml(
        "owners.toml",
        "mode = \"enforce\"\n[owners]\ndefault = \"platform\"\n\
         [[owners.routes]]\nowner = \"data-team\"\npermission_sets = [\"Data*\"]\n\
         [[owners.routes]]\nowner = \"payments\"\naccounts = [\"222222222222\"]\n",
    )
    .unwrap()
    .owners;
    policy.owners = owners.clone();
    let parameters = MemoryParameters::new();
    parameters.set(DEFAULT_KILL_SWITCH, kill_switch);
    let guard = world.guard_with_gate(
        SnsNotifier::new(world.sns.clone(), world.topic_arn(), owners, RetryPolicy::immediate()),
        policy,
        SafetyGate::new(
            parameters,
            MemoryStore::new(),
            ManualClock::new(1_795_000_000),
            SafetyConfig::default(),
        ),
    );
    World {
        matching_queue: world.queue_url("data-team").to_owned(),
        other_queue: world.queue_url("payments").to_owned(),
        world,
        guard,
    }
}

impl World {
    async fn long_session_set(&self, name: &str) -> String {
        self.long_session_set_tagged(name, None).await
    }

    async fn long_session_set_tagged(&self, name: &str, owner_tag: Option<&str>) -> String {
        let mut set = PermissionSet::new(name).session("PT12H").boundary(true);
        if let Some(owner) = owner_tag {
            set = set.tag("owner", owner);
        }
        self.create_permission_set(&set).await
    }

    fn event(&self, ps: &str) -> String {
        self.permission_set_event("sso.UpdatePermissionSet-long-session-violation.json", ps)
            .to_string()
    }
}

fn attribute<'a>(attributes: &'a Value, name: &str) -> Option<&'a str> {
    let a = &attributes[name];
    a["StringValue"].as_str().or(a["Value"].as_str())
}

#[tokio::test]
async fn a_reverted_finding_is_published_with_subject_both_forms_and_routable_attributes() {
    let w = world("enforce").await;
    let ps = w.long_session_set("DataEngineer").await;
    let report = w.guard.handle(&w.event(&ps), today()).await.unwrap();
    assert_eq!(report.outcomes.len(), 1, "{report:?}");
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated);
    let event_id = report.event_id.clone();

    let published = w.published();
    assert_eq!(published.len(), 1, "{published:?}");
    let (subject, message, attributes) = &published[0];
    assert_eq!(subject, "[idc-guard] REVERTED session-duration-cap on DataEngineer");
    // MessageStructure=json: human text for default and email, the finding document otherwise.
    let text = message["default"].as_str().unwrap();
    assert_eq!(message["email"].as_str(), Some(text));
    assert!(
        text.starts_with("[idc-guard] REVERTED session-duration-cap on DataEngineer\n"),
        "{text}"
    );
    assert!(
        text.contains("Rule: session-duration-cap (severity medium, mode enforce)."),
        "{text}"
    );
    assert!(text.contains("a read-back verified compliance"), "{text}");
    assert!(text.contains(&format!("CloudTrail eventID: {event_id}.")), "{text}");
    assert!(text.contains("Owner: data-team."), "{text}");
    assert!(text.contains("request an exception"), "{text}");
    for protocol in ["sqs", "lambda", "https"] {
        let doc: Value = serde_json::from_str(message[protocol].as_str().unwrap()).unwrap();
        assert_eq!(doc["schema_version"], 1);
        assert_eq!(doc["outcome"], "remediated");
        assert_eq!(doc["owner"], "data-team");
        assert_eq!(doc["event_id"], event_id.as_str());
        assert_eq!(doc["finding"]["rule"], "session-duration-cap");
        assert_eq!(doc["finding"]["resource"]["permission_set_name"], "DataEngineer");
        assert_eq!(doc["calls"], json!(["UpdatePermissionSet", "ProvisionPermissionSet"]));
    }
    assert_eq!(
        attribute(attributes, "rule"),
        Some("session-duration-cap"),
        "{attributes}"
    );
    assert_eq!(attribute(attributes, "severity"), Some("medium"));
    assert_eq!(attribute(attributes, "outcome"), Some("remediated"));
    assert_eq!(attribute(attributes, "owner"), Some("data-team"));
    assert_eq!(attribute(attributes, "account"), Some("222222222222"));
    assert_eq!(attribute(attributes, "permission_set"), Some("DataEngineer"));

    // The attributes route: the matching filter policy receives the sqs form, the other nothing.
    let received = w.received(&w.matching_queue).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["Subject"], subject.as_str());
    let doc: Value = serde_json::from_str(received[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["event_id"], event_id.as_str());
    assert!(w.received(&w.other_queue).await.is_empty());
}

#[tokio::test]
async fn duplicate_deliveries_of_one_event_publish_the_finding_once() {
    // Concurrent duplicates both see the violation; only the delivery that wins the idempotency
    // claim corrects and reports. A late duplicate finds the set compliant and reports nothing.
    let w = world("enforce").await;
    let ps = w.long_session_set("DataEngineer").await;
    let event = w.event(&ps);
    let (a, b) = tokio::join!(w.guard.handle(&event, today()), w.guard.handle(&event, today()));
    let c = w.guard.handle(&event, today()).await.unwrap();
    let outcomes: Vec<_> = [a.unwrap(), b.unwrap(), c]
        .into_iter()
        .flat_map(|r| r.outcomes)
        .collect();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0].kind, OutcomeKind::Remediated);
    let published = w.published();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(
        published[0].0,
        "[idc-guard] REVERTED session-duration-cap on DataEngineer"
    );
    assert_eq!(w.received(&w.matching_queue).await.len(), 1);
}

#[tokio::test]
async fn the_permission_set_owner_tag_routes_before_the_policy_routes() {
    let w = world("enforce").await;
    // "DataWarehouse" matches the Data* route, but its tag names another owner.
    let ps = w.long_session_set_tagged("DataWarehouse", Some("warehouse-team")).await;
    let report = w.guard.handle(&w.event(&ps), today()).await.unwrap();
    assert_eq!(report.outcomes.len(), 1, "{report:?}");
    assert_eq!(report.outcomes[0].tagged_owner.as_deref(), Some("warehouse-team"));
    let published = w.published();
    assert_eq!(published.len(), 1, "{published:?}");
    let (_, message, attributes) = &published[0];
    assert_eq!(attribute(attributes, "owner"), Some("warehouse-team"));
    let doc: Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(doc["owner"], "warehouse-team");
    assert_eq!(doc["slack_channels"], json!(["warehouse-team"]));
    assert!(message["default"].as_str().unwrap().contains("Owner: warehouse-team."));
    // The data-team subscription's filter policy does not match another owner.
    assert!(w.received(&w.matching_queue).await.is_empty());
}

#[tokio::test]
async fn in_detect_mode_duplicate_deliveries_publish_the_finding_once_and_a_new_event_again() {
    // The kill switch says detect: nothing is corrected, so every delivery sees the violation.
    let w = world("detect").await;
    let ps = w.long_session_set("DataEngineer").await;
    let event = w.event(&ps);
    let (a, b) = tokio::join!(w.guard.handle(&event, today()), w.guard.handle(&event, today()));
    let c = w.guard.handle(&event, today()).await.unwrap();
    for report in [a.unwrap(), b.unwrap(), c] {
        // Each delivery still reports what it found; only the first publishes it.
        assert_eq!(report.outcomes.len(), 1, "{report:?}");
        assert!(
            matches!(report.outcomes[0].kind, OutcomeKind::Withheld { .. }),
            "{report:?}"
        );
    }
    let published = w.published();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(
        published[0].0,
        "[idc-guard] WITHHELD session-duration-cap on DataEngineer"
    );
    assert_eq!(w.received(&w.matching_queue).await.len(), 1);
    // Another CloudTrail event about the same violation is news: published again.
    let mut other: Value = serde_json::from_str(&event).unwrap();
    other["detail"]["eventID"] = json!("7f3e9d2a-0000-4000-8000-000000000002");
    w.guard.handle(&other.to_string(), today()).await.unwrap();
    assert_eq!(w.published().len(), 2);
}

/// Slack: a local HTTP server stands in for the incoming webhooks.
mod slack {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use idc_guard::notify::webhook::{Delivery, SlackPoster, Webhooks};
    use idc_guard_tests::webhook::{Seen, stand_in as webhook_stand_in};
    use serde_json::{Value, json};

    fn server(responses: Vec<(u16, &'static str)>) -> (String, Seen) {
        webhook_stand_in(responses)
    }

    fn poster(url: &str) -> SlackPoster {
        let secret = json!({"payments": url, "default": "http://127.0.0.1:9/never"}).to_string();
        SlackPoster::new(Webhooks::parse(&secret).unwrap(), Duration::from_secs(2)).unwrap()
    }

    fn document() -> Value {
        json!({
            "schema_version": 1,
            "outcome": "remediated",
            "owner": "payments",
            "event_id": "37a93220-8fde-4464-b7bc-fe9d7bd2d2a9",
            "event_name": "CreateAccountAssignment",
            "event_time": "2026-03-05T08:12:04Z",
            "account": "222222222222",
            "actor": "Identity Center user alice@example.com via PlatformAdmin",
            "finding": {
                "rule": "assignment-principal-type",
                "severity": "high",
                "mode": "enforce",
                "message": "Assigned to a USER: assign groups, never users.",
                "resource": {"permission_set_name": "Payments", "account_id": "333333333333"}
            },
            "calls": ["DeleteAccountAssignment"]
        })
    }

    fn sns_event(doc: &Value) -> Value {
        json!({"Records": [{
            "EventSource": "aws:sns",
            "Sns": {
                "MessageId": "5f1c5a8e-0000-4000-8000-000000000001",
                "Subject": "[idc-guard] REVERTED assignment-principal-type on Payments",
                "Message": doc.to_string(),
                "MessageAttributes": {"owner": {"Type": "String", "Value": "payments"}}
            }
        }]})
    }

    /// Runs `f` with every log line captured; returns its result and the logs.
    async fn logged<T>(f: impl std::future::Future<Output = T>) -> (T, String) {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let result = f.await;
        let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        (result, logs)
    }

    fn deadline(secs: u64) -> Instant {
        Instant::now() + Duration::from_secs(secs)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn every_channel_of_the_owner_gets_the_payload_and_an_unknown_channel_falls_back_to_default_once() {
        let (payments, seen_payments) = server(vec![(200, "")]);
        let (secops, seen_secops) = server(vec![(200, "")]);
        let (fallback, seen_default) = server(vec![(200, "")]);
        let secret = json!({"payments": payments, "secops": secops, "default": fallback}).to_string();
        let p = SlackPoster::new(Webhooks::parse(&secret).unwrap(), Duration::from_secs(2)).unwrap();
        let mut doc = document();
        // From the policy's [owners.slack_channels]: two known channels and two unknown ones,
        // which both fall back to the default channel (posted to once).
        doc["slack_channels"] = json!(["payments", "secops", "nope", "gone"]);
        let result = p.handle_sns(&sns_event(&doc), deadline(10)).await;
        assert_eq!(result.map_err(|e| e.to_string()), Ok(vec![Delivery::Posted; 3]));
        for seen in [seen_payments, seen_secops, seen_default] {
            let seen = seen.lock().unwrap().clone();
            assert_eq!(seen.len(), 1, "{seen:?}");
            let body: Value = serde_json::from_str(&seen[0].1).unwrap();
            assert_eq!(
                body["text"],
                ":white_check_mark: REVERTED assignment-principal-type on Payments"
            );
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_owner_channel_gets_the_exact_block_kit_payload_and_the_url_is_never_logged() {
        let (url, seen) = server(vec![(200, "")]);
        let p = poster(&url);
        let (result, logs) = logged(p.handle_sns(&sns_event(&document()), deadline(10))).await;
        assert_eq!(result.map_err(|e| e.to_string()), Ok(vec![Delivery::Posted]));
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, "POST /services/T000/B000/XXXXSECRETXXXX HTTP/1.1");
        let body: Value = serde_json::from_str(&seen[0].1).unwrap();
        let title = ":white_check_mark: REVERTED assignment-principal-type on Payments";
        assert_eq!(
            body,
            json!({
                "text": title,
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": true}},
                    {"type": "section", "fields": [
                        {"type": "mrkdwn", "text": "*Rule*\nassignment-principal-type"},
                        {"type": "mrkdwn", "text": "*Severity*\nhigh"},
                        {"type": "mrkdwn", "text": "*Outcome*\nremediated"},
                        {"type": "mrkdwn", "text": "*Mode*\nenforce"},
                        {"type": "mrkdwn", "text": "*Owner*\npayments"},
                        {"type": "mrkdwn", "text": "*Account*\n333333333333"},
                        {"type": "mrkdwn", "text": "*Permission set*\nPayments"},
                        {"type": "mrkdwn", "text": "*Actor*\nIdentity Center user alice@example.com via PlatformAdmin"}
                    ]},
                    {"type": "section", "text": {"type": "mrkdwn", "text": "Assigned to a USER: assign groups, never users."}},
                    {"type": "context", "elements": [{"type": "mrkdwn",
                        "text": "CloudTrail eventID 37a93220-8fde-4464-b7bc-fe9d7bd2d2a9 · CreateAccountAssignment · 2026-03-05T08:12:04Z"}]}
                ]
            })
        );
        assert!(logs.contains("payments"), "{logs}");
        assert!(!logs.contains("SECRET") && !logs.contains("/services/"), "{logs}");
        assert!(!format!("{p:?}").contains("SECRET"));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_429_is_retried_after_retry_after_within_the_budget() {
        let (url, seen) = server(vec![(429, "Retry-After: 1\r\n"), (200, "")]);
        let started = Instant::now();
        let (result, logs) = logged(poster(&url).handle_sns(&sns_event(&document()), deadline(10))).await;
        assert_eq!(result.map_err(|e| e.to_string()), Ok(vec![Delivery::Posted]));
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert_eq!(seen.lock().unwrap().len(), 2);
        assert!(!logs.contains("SECRET"), "{logs}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_429_beyond_the_budget_is_an_error_so_lambda_retries() {
        let (url, seen) = server(vec![(429, "Retry-After: 30\r\n")]);
        let (result, logs) = logged(poster(&url).handle_sns(&sns_event(&document()), deadline(3))).await;
        let error = result.unwrap_err().to_string();
        assert!(error.contains("rate limited"), "{error}");
        assert!(!error.contains("SECRET") && !logs.contains("SECRET"), "{error} {logs}");
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_400_is_logged_and_dropped_without_retry() {
        let (url, seen) = server(vec![(400, ""), (200, "")]);
        let (result, logs) = logged(poster(&url).handle_sns(&sns_event(&document()), deadline(10))).await;
        assert_eq!(result.map_err(|e| e.to_string()), Ok(vec![Delivery::Dropped]));
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert!(
            logs.contains("Slack rejected the message") && logs.contains("invalid_payload"),
            "{logs}"
        );
        assert!(!logs.contains("SECRET"), "{logs}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_500_or_a_dead_endpoint_is_an_error_without_the_url() {
        let (url, seen) = server(vec![(500, "")]);
        let (result, logs) = logged(poster(&url).handle_sns(&sns_event(&document()), deadline(10))).await;
        let error = result.unwrap_err().to_string();
        assert!(error.contains("HTTP 500"), "{error}");
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert!(!logs.contains("SECRET"), "{logs}");
        // Unknown owner: the default channel (here nothing listens), never dropped; the
        // transport error names the channel, not the URL.
        let mut doc = document();
        doc["owner"] = json!("unknown-team");
        let mut event = sns_event(&doc);
        event["Records"][0]["Sns"]["MessageAttributes"] = json!({});
        let error = poster(&url)
            .handle_sns(&event, deadline(10))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("channel default"), "{error}");
        assert!(!error.contains("127.0.0.1") && !error.contains("/never"), "{error}");
    }
}
