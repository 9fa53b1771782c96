//! Security Hub publication (issue #18) against the emulator's Security Hub (moto, with the
//! extension's Security Hub section: an import keeps an existing finding's workflow and resets it
//! as AWS does; BatchUpdateFindings). Every finding is read back with GetFindings.
//!
//! - a violation reverted by the guard is one finding, RESOLVED, PASSED, ARCHIVED, with the rule's
//!   severity;
//! - later events about the same (rule, resource) update that one finding: detected (NEW), then
//!   reverted (RESOLVED, which only BatchUpdateFindings can do to an existing finding), then
//!   detected again (NEW: Security Hub reopens it when compliance goes from PASSED to FAILED);
//! - publication is off unless `IDC_GUARD_SECURITY_HUB_PRODUCT_ARN` is set: then no request
//!   reaches Security Hub at all (the emulator's request log);
//! - a finding Security Hub refuses is an error naming it, and the topic's message is still sent;
//! - imports go 100 findings per request.

use idc_guard::adapters::{SecurityHub, SnsNotifier};
use idc_guard::config::{self, Config, Kind};
use idc_guard::domain::{Date, Mode, OutcomeKind, Severity};
use idc_guard::notify::asff::{self, Product, SeverityLabel};
use idc_guard::policy::Policy;
use idc_guard::ports::Notifier;
use idc_guard::retry::RetryPolicy;
use idc_guard::wiring::{self, Publisher};
use idc_guard_tests::calls::CallRecorder;
use idc_guard_tests::emulator::REGION;
use idc_guard_tests::world::{self, PermissionSet};
use serde_json::{Value, json};

/// moto's account for the tests' credentials.
const ACCOUNT: &str = "123456789012";
const LONG_SESSION: &str = "sso.UpdatePermissionSet-long-session-violation.json";

fn today() -> Date {
    Date::new(2026, 11, 27).unwrap()
}

fn product_of(account: &str) -> Product {
    Product::parse(&format!(
        "arn:aws:securityhub:{REGION}:{account}:product/{account}/default"
    ))
    .unwrap()
}

/// A Security Hub client whose requests `recorder` records.
fn hub_client(w: &world::World, recorder: &CallRecorder) -> aws_sdk_securityhub::Client {
    aws_sdk_securityhub::Client::from_conf(
        aws_sdk_securityhub::config::Builder::from(&w.sdk)
            .interceptor(recorder.clone())
            .build(),
    )
}

fn hub(w: &world::World, recorder: &CallRecorder, product: Product) -> SecurityHub {
    SecurityHub::new(
        hub_client(w, recorder),
        product,
        w.shipped_policy().owners,
        RetryPolicy::immediate(),
    )
}

/// The Security Hub operations `recorder` saw, in order (Security Hub speaks REST-JSON: the
/// operation is the request's path).
fn hub_calls(recorder: &CallRecorder) -> Vec<&'static str> {
    recorder
        .since(0)
        .iter()
        .map(|call| {
            if call.ends_with("/findings/import") {
                "BatchImportFindings"
            } else if call.ends_with("/findings/batchupdate") {
                "BatchUpdateFindings"
            } else {
                panic!("unexpected Security Hub call {call}")
            }
        })
        .collect()
}

/// Every finding, read back with GetFindings (every page). On a thread of its own with a large
/// stack: the SDK's deserializer of a finding's `ResourceDetails` (every AWS resource type,
/// inline) has a frame far larger than a test thread's 2 MB in an unoptimised build.
fn findings(w: &world::World) -> Vec<aws_sdk_securityhub::types::AwsSecurityFinding> {
    let sdk = w.sdk.clone();
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(read_findings(&sdk))
        })
        .unwrap()
        .join()
        .unwrap()
}

async fn read_findings(sdk: &aws_config::SdkConfig) -> Vec<aws_sdk_securityhub::types::AwsSecurityFinding> {
    let client = aws_sdk_securityhub::Client::new(sdk);
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .get_findings()
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        all.extend(page.findings().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return all,
        }
    }
}

/// (Workflow.Status, Compliance.Status, RecordState) of a finding.
fn statuses(f: &aws_sdk_securityhub::types::AwsSecurityFinding) -> (String, String, String) {
    (
        f.workflow()
            .and_then(|w| w.status())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        f.compliance()
            .and_then(|c| c.status())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        f.record_state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
    )
}

fn owned(t: (&str, &str, &str)) -> (String, String, String) {
    (t.0.to_owned(), t.1.to_owned(), t.2.to_owned())
}

fn mode(w: &world::World, mode: Mode) -> Policy {
    let mut policy = w.shipped_policy();
    policy.mode = mode;
    policy
}

async fn long_session_set(w: &world::World, name: &str) -> String {
    w.create_permission_set(&PermissionSet::new(name).session("PT12H").boundary(true))
        .await
}

fn event(w: &world::World, ps: &str, id: &str, time: &str) -> String {
    w.permission_set_event(LONG_SESSION, ps)
        .with("eventID", json!(id))
        .with("eventTime", json!(time))
        .to_string()
}

#[tokio::test]
async fn a_reverted_violation_is_one_resolved_finding_with_the_mapped_severity() {
    let w = world::World::builder().build().await;
    let ps = long_session_set(&w, "DataEngineer").await;
    let recorder = CallRecorder::default();
    let guard = w.guard(
        Publisher::new(None, Some(hub(&w, &recorder, product_of(ACCOUNT)))),
        mode(&w, Mode::Enforce),
    );
    let report = guard
        .handle(&event(&w, &ps, "e-1", "2026-11-27T10:00:00Z"), today())
        .await
        .unwrap();
    assert_eq!(report.outcomes.len(), 1, "{report:?}");
    let outcome = &report.outcomes[0];
    assert_eq!(outcome.kind, OutcomeKind::Remediated);

    let found = findings(&w);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f.id(), Some(format!("idc-guard/session-duration-cap/{ps}").as_str()));
    assert_eq!(statuses(f), owned(("RESOLVED", "PASSED", "ARCHIVED")));
    assert_eq!(outcome.finding.severity, Severity::Medium);
    assert_eq!(
        f.severity().and_then(|s| s.label()).map(|l| l.as_str()),
        Some(SeverityLabel::of(outcome.finding.severity).as_str())
    );
    assert_eq!(f.severity().and_then(|s| s.label()).map(|l| l.as_str()), Some("MEDIUM"));
    assert_eq!(f.generator_id(), Some("session-duration-cap"));
    assert_eq!(f.aws_account_id(), Some(ACCOUNT));
    assert_eq!(f.product_arn(), Some(product_of(ACCOUNT).arn.as_str()));
    assert_eq!(f.types(), [asff::FINDING_TYPE]);
    assert_eq!(f.title(), Some("session-duration-cap on DataEngineer"));
    assert_eq!(f.created_at(), Some("2026-11-27T10:00:00Z"));
    let fields = f.product_fields().unwrap();
    assert_eq!(fields["idc-guard/Outcome"], "remediated");
    assert_eq!(fields["idc-guard/EventId"], "e-1");
    assert_eq!(fields["idc-guard/Owner"], "platform");
    let resource = &f.resources()[0];
    assert_eq!((resource.r#type(), resource.id()), (Some("Other"), Some(ps.as_str())));
    assert!(
        f.remediation()
            .and_then(|r| r.recommendation())
            .and_then(|r| r.text())
            .is_some_and(|t| !t.is_empty())
    );
    // One import, then the workflow (which an import cannot set on an existing finding).
    assert_eq!(hub_calls(&recorder), ["BatchImportFindings", "BatchUpdateFindings"]);
}

#[tokio::test]
async fn repeated_events_update_the_one_finding_of_a_rule_and_resource() {
    let w = world::World::builder().build().await;
    let ps = long_session_set(&w, "NetworkAdmin").await;
    let recorder = CallRecorder::default();
    let publisher = || Publisher::new(None, Some(hub(&w, &recorder, product_of(ACCOUNT))));
    let detecting = w.guard(publisher(), mode(&w, Mode::Detect));
    let enforcing = w.guard(publisher(), mode(&w, Mode::Enforce));

    // Detected: a new, failed finding.
    let r = detecting
        .handle(&event(&w, &ps, "e-1", "2026-11-27T10:00:00Z"), today())
        .await
        .unwrap();
    assert_eq!(r.outcomes[0].kind, OutcomeKind::Detected);
    let first = findings(&w);
    assert_eq!(first.len(), 1);
    assert_eq!(statuses(&first[0]), owned(("NEW", "FAILED", "ACTIVE")));

    // Another event on the same set, reverted: the same finding, now resolved.
    let r = enforcing
        .handle(&event(&w, &ps, "e-2", "2026-11-27T11:00:00Z"), today())
        .await
        .unwrap();
    assert_eq!(r.outcomes[0].kind, OutcomeKind::Remediated);
    let second = findings(&w);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0].id(), first[0].id());
    assert_eq!(statuses(&second[0]), owned(("RESOLVED", "PASSED", "ARCHIVED")));
    assert!(second[0].updated_at() > first[0].updated_at(), "{second:?}");
    assert_eq!(second[0].created_at(), Some("2026-11-27T11:00:00Z"));
    assert_eq!(second[0].product_fields().unwrap()["idc-guard/EventId"], "e-2");

    // The violation comes back and is only detected: Security Hub reopens the finding.
    w.update_permission_set(&ps, "PT12H", None, None).await;
    let r = detecting
        .handle(&event(&w, &ps, "e-3", "2026-11-27T12:00:00Z"), today())
        .await
        .unwrap();
    assert_eq!(r.outcomes[0].kind, OutcomeKind::Detected);
    let third = findings(&w);
    assert_eq!(third.len(), 1, "{third:?}");
    assert_eq!(third[0].id(), first[0].id());
    assert_eq!(statuses(&third[0]), owned(("NEW", "FAILED", "ACTIVE")));
    assert!(third[0].updated_at() > second[0].updated_at());
    assert_eq!(
        hub_calls(&recorder),
        [
            "BatchImportFindings",
            "BatchImportFindings",
            "BatchUpdateFindings",
            "BatchImportFindings"
        ]
    );
}

#[tokio::test]
async fn a_detect_only_finding_is_new_and_failed_and_only_imported() {
    let w = world::World::builder().build().await;
    let ps = long_session_set(&w, "Auditor").await;
    let recorder = CallRecorder::default();
    let guard = w.guard(
        Publisher::new(None, Some(hub(&w, &recorder, product_of(ACCOUNT)))),
        mode(&w, Mode::Detect),
    );
    let r = guard
        .handle(&event(&w, &ps, "e-1", "2026-11-27T10:00:00Z"), today())
        .await
        .unwrap();
    assert_eq!(r.outcomes[0].kind, OutcomeKind::Detected);
    let found = findings(&w);
    assert_eq!(found.len(), 1);
    assert_eq!(statuses(&found[0]), owned(("NEW", "FAILED", "ACTIVE")));
    assert_eq!(found[0].product_fields().unwrap()["idc-guard/Outcome"], "detected");
    assert_eq!(hub_calls(&recorder), ["BatchImportFindings"]);
}

/// The Security Hub requests the emulator answered after request `after`, as (service, operation).
fn security_hub_requests(w: &world::World, after: u64) -> Vec<(String, String)> {
    w.emulator
        .requests(after)
        .iter()
        .map(|r: &Value| {
            (
                r["service"].as_str().unwrap_or_default().to_owned(),
                r["operation"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn last_request(w: &world::World) -> u64 {
    w.emulator
        .requests(0)
        .last()
        .and_then(|r| r["seq"].as_u64())
        .unwrap_or(0)
}

#[tokio::test]
async fn publication_is_off_unless_its_variable_names_the_product_and_then_makes_no_call() {
    let w = world::World::builder().topic().build().await;
    let policy = w.shipped_policy();
    let topic = w.topic_arn().to_owned();
    let product = product_of(ACCOUNT).arn;
    let configured = |hub: bool| {
        Config::from_lookup(Kind::Guard, |name| match name {
            config::TOPIC_ARN => Some(topic.clone()),
            config::SECURITY_HUB_PRODUCT_ARN if hub => Some(product.clone()),
            _ => None,
        })
        .unwrap()
    };

    // Disabled (the template's default leaves the variable unset).
    let off = wiring::publisher(&configured(false), &w.sdk, &policy);
    assert!(off.publishes_to_topic() && !off.publishes_to_security_hub());
    let ps = long_session_set(&w, "Disabled").await;
    let mark = last_request(&w);
    let guard = w.guard(off, policy.clone());
    let r = guard
        .handle(&event(&w, &ps, "e-1", "2026-11-27T10:00:00Z"), today())
        .await
        .unwrap();
    assert_eq!(r.outcomes[0].kind, OutcomeKind::Remediated);
    let requests = security_hub_requests(&w, mark);
    let services: Vec<&str> = requests.iter().map(|(s, _)| s.as_str()).collect();
    assert!(!services.contains(&"securityhub"), "{requests:?}");
    // The guard's own reads and correction, and the one message to the topic: nothing else.
    assert!(
        services.iter().all(|s| ["sso-admin", "sns"].contains(s)),
        "{requests:?}"
    );
    assert_eq!(services.iter().filter(|s| **s == "sns").count(), 1, "{requests:?}");
    assert!(findings(&w).is_empty());

    // Enabled: the same deployment imports the finding (and marks it resolved).
    let on = wiring::publisher(&configured(true), &w.sdk, &policy);
    assert!(on.publishes_to_topic() && on.publishes_to_security_hub());
    let ps = long_session_set(&w, "Enabled").await;
    let mark = last_request(&w);
    let guard = w.guard(on, policy);
    guard
        .handle(&event(&w, &ps, "e-2", "2026-11-27T11:00:00Z"), today())
        .await
        .unwrap();
    let hub_requests: Vec<String> = security_hub_requests(&w, mark)
        .into_iter()
        .filter(|(s, _)| s == "securityhub")
        .map(|(_, op)| op)
        .collect();
    assert_eq!(hub_requests, ["POST /findings/import", "PATCH /findings/batchupdate"]);
    assert_eq!(findings(&w).len(), 1);
}

#[tokio::test]
async fn a_refused_finding_is_an_error_naming_it_and_the_topic_still_gets_the_message() {
    let w = world::World::builder().topic().build().await;
    let ps = long_session_set(&w, "Refused").await;
    let policy = w.shipped_policy();
    let recorder = CallRecorder::default();
    // Another account's default product: the finding's AwsAccountId is not the caller's.
    let sns = SnsNotifier::new(
        w.sns.clone(),
        w.topic_arn(),
        policy.owners.clone(),
        RetryPolicy::immediate(),
    );
    let publisher = Publisher::new(Some(sns), Some(hub(&w, &recorder, product_of("111111111111"))));
    let guard = w.guard(LoggingOnly, mode(&w, Mode::Detect));
    let r = guard
        .handle(&event(&w, &ps, "e-1", "2026-11-27T10:00:00Z"), today())
        .await
        .unwrap();
    let outcome = &r.outcomes[0];
    let err = publisher.publish(outcome).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("BatchImportFindings"), "{text}");
    assert!(
        text.contains(&format!("idc-guard/session-duration-cap/{ps}")) && text.contains("AccessDeniedException"),
        "{text}"
    );
    // The topic's message was sent, and nothing was imported or marked.
    assert_eq!(w.published().len(), 1);
    assert!(findings(&w).is_empty());
    assert_eq!(hub_calls(&recorder), ["BatchImportFindings"]);
}

/// A notifier that publishes nothing (the outcome is published by hand in the test).
struct LoggingOnly;

impl Notifier for LoggingOnly {
    async fn publish(&self, _outcome: &idc_guard::domain::Outcome) -> idc_guard::ports::Remote<()> {
        Ok(())
    }
}

#[tokio::test]
async fn imports_go_at_most_100_findings_per_request() {
    let w = world::World::builder().build().await;
    let ps = long_session_set(&w, "Many").await;
    let guard = w.guard(LoggingOnly, mode(&w, Mode::Detect));
    let r = guard
        .handle(&event(&w, &ps, "e-1", "2026-11-27T10:00:00Z"), today())
        .await
        .unwrap();
    let mut outcome = r.outcomes[0].clone();
    let product = product_of(ACCOUNT);
    let many: Vec<asff::AsffFinding> = (0..250)
        .map(|i| {
            outcome.finding.resource.id = format!("resource-{i:03}");
            asff::finding(&outcome, &product, "platform", "2026-11-27T10:00:01.000Z")
        })
        .collect();
    let recorder = CallRecorder::default();
    hub(&w, &recorder, product).import(&many).await.unwrap();
    assert_eq!(hub_calls(&recorder), ["BatchImportFindings"; 3]);
    let found = findings(&w);
    assert_eq!(found.len(), 250);
}

#[test]
fn the_template_publishes_to_security_hub_only_when_the_parameter_enables_it() {
    let t = crate::template::template(crate::template::TEMPLATE);
    let parameter = &t["Parameters"]["SecurityHubPublication"];
    assert_eq!(parameter["Default"], "Disabled");
    assert_eq!(parameter["AllowedValues"], json!(["Enabled", "Disabled"]));
    assert_eq!(
        t["Conditions"]["PublishesToSecurityHub"],
        json!({"Fn::Equals": [{"Ref": "SecurityHubPublication"}, "Enabled"]})
    );
    let product = json!({"Fn::Sub": "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default"});
    let readers: Vec<&str> = wiring::FUNCTIONS
        .iter()
        .filter(|(_, kind)| config::variables_of(*kind).any(|v| v == config::SECURITY_HUB_PRODUCT_ARN))
        .map(|(krate, _)| *krate)
        .collect();
    assert_eq!(readers.len(), 4, "the three guards and the reconciler: {readers:?}");
    let resources = t["Resources"].as_object().unwrap();
    let mut statements = Vec::new();
    for (id, r) in resources {
        if let Some(value) = r["Properties"]["Environment"]["Variables"].get(config::SECURITY_HUB_PRODUCT_ARN) {
            // Unset unless enabled: `!If [PublishesToSecurityHub, <product>, !Ref AWS::NoValue]`.
            assert_eq!(
                value,
                &json!({"Fn::If": ["PublishesToSecurityHub", product, {"Ref": "AWS::NoValue"}]}),
                "{id}"
            );
        }
        let documents = match r["Type"].as_str() {
            Some("AWS::IAM::ManagedPolicy") => vec![&r["Properties"]["PolicyDocument"]],
            Some("AWS::IAM::Role") => r["Properties"]["Policies"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| &p["PolicyDocument"])
                .collect(),
            _ => Vec::new(),
        };
        for document in documents {
            for statement in document["Statement"].as_array().into_iter().flatten() {
                let text = statement.to_string();
                if text.contains("securityhub:") {
                    // Conditional, on the account's own product and hub only.
                    assert_eq!(statement["Fn::If"][0], "PublishesToSecurityHub", "{id}: {statement}");
                    assert_eq!(statement["Fn::If"][2], json!({"Ref": "AWS::NoValue"}), "{id}");
                    statements.push((id.clone(), statement["Fn::If"][1].clone()));
                }
            }
        }
    }
    for (id, statement) in &statements {
        match statement["Action"].as_str() {
            Some("securityhub:BatchImportFindings") => assert_eq!(statement["Resource"], product, "{id}"),
            Some("securityhub:BatchUpdateFindings") => {
                assert_eq!(
                    statement["Resource"],
                    json!({"Fn::Sub": "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:hub/default"}),
                    "{id}"
                );
                assert_eq!(
                    statement["Condition"],
                    json!({"StringEquals": {"securityhub:ASFFSyntaxPath/Workflow.Status": "RESOLVED"}}),
                    "{id}"
                );
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    // GuardPolicy (the three guards) and the reconciler's role, both actions each.
    assert_eq!(statements.len(), 4, "{statements:?}");
}

/// The reconciler (issue #18): every finding a run plans is its own Security Hub finding, by the
/// same id an event's would have (the run's summary still goes to the topic alone); a dry run
/// imports nothing.
#[tokio::test]
async fn the_reconciler_records_each_planned_finding_and_a_dry_run_none() {
    use idc_guard::adapters::{IdentityStoreApi, Organizations};
    use idc_guard::domain::{IdentityStoreId, InstanceArn};
    use idc_guard::ports::InstanceRef;
    use idc_guard::reconcile::{self, RunOptions};

    let w = world::World::builder().build().await;
    let ps = long_session_set(&w, "Reconciled").await;
    let recorder = CallRecorder::default();
    let guard = w.guard(
        Publisher::new(None, Some(hub(&w, &recorder, product_of(ACCOUNT)))),
        mode(&w, Mode::Enforce),
    );
    let instance = InstanceRef {
        instance_arn: InstanceArn::parse(&w.instance).unwrap(),
        identity_store_id: IdentityStoreId::parse(&w.store).unwrap(),
    };
    let directory = IdentityStoreApi::new(w.ids.clone(), RetryPolicy::immediate());
    let organization = Organizations::new(w.orgs.clone(), RetryPolicy::immediate());
    let run = |dry_run: bool| {
        let mut options = RunOptions::now(dry_run);
        options.inventory.definitions = true;
        options
    };

    let dry = Box::pin(reconcile::run(
        &guard,
        &directory,
        &organization,
        &instance,
        None,
        &run(true),
    ))
    .await
    .unwrap();
    assert!(
        dry.plan.iter().any(|a| a.rule.as_str() == "session-duration-cap"),
        "{}",
        dry.table()
    );
    // A dry run imports only the run's one summary (on the instance), none of its items.
    let summary = format!("idc-guard/desired-assignments/{}", w.instance);
    let found = findings(&w);
    let ids: Vec<&str> = found.iter().filter_map(|f| f.id()).collect();
    assert_eq!(ids, [summary.as_str()]);
    assert_eq!(hub_calls(&recorder), ["BatchImportFindings"]);
    let mark = recorder.mark();

    let report = Box::pin(reconcile::run(
        &guard,
        &directory,
        &organization,
        &instance,
        None,
        &run(false),
    ))
    .await
    .unwrap();
    let found = findings(&w);
    let ids: std::collections::BTreeSet<&str> = found.iter().filter_map(|f| f.id()).collect();
    assert_eq!(ids.len(), found.len(), "one finding per (rule, resource)");
    // Each planned finding the run acted on or withheld is there, under its rule and resource.
    for item in report.plan.iter().filter(|a| a.outcome.is_some()) {
        let id = format!("idc-guard/{}/{}", item.rule, item.resource.id);
        assert!(ids.contains(id.as_str()), "{id} not in {ids:?}\n{}", report.table());
    }
    let session = found
        .iter()
        .find(|f| f.id() == Some(format!("idc-guard/session-duration-cap/{ps}").as_str()))
        .unwrap_or_else(|| panic!("{ids:?}"));
    assert_eq!(statuses(session), owned(("RESOLVED", "PASSED", "ARCHIVED")));
    assert!(ids.contains(summary.as_str()));
    assert_eq!(
        found.len(),
        report.plan.iter().filter(|a| a.outcome.is_some()).count() + 1
    );
    // The run's items in one import (under 100 findings), then the resolution of the reverted;
    // then the summary's own.
    let calls: Vec<String> = recorder.since(mark);
    assert!(calls.len() >= 3, "{calls:?}");
    assert!(
        calls[0].ends_with("/findings/import") && calls[1].ends_with("/findings/batchupdate"),
        "{calls:?}"
    );
    assert!(calls[2].ends_with("/findings/import"), "{calls:?}");
}
