//! Metrics and the dashboard (issue #18): the template's dashboard against the metric catalogue
//! (`metrics::METRICS`) and the stack's queues, and the EMF lines a guard's reports make when it
//! corrects (and, behind the safety rails, withholds) against the emulator.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use idc_guard::domain::{Date, OutcomeKind};
use idc_guard::metrics::{self, METRICS, NAMESPACE};
use idc_guard::notify::LoggingNotifier;
use idc_guard::safety::{Limit, MemoryParameters, MemoryStore, SafetyConfig, SafetyGate, SystemClock};
use idc_guard_tests::world::{PermissionSet, World};
use serde_json::{Value, json};

use crate::template::{TEMPLATE, template};

/// The dashboard's body: the `!Sub` text with every `${…}` replaced by a placeholder naming
/// it (`<<AWS::Region>>`, `<<AssignmentGuardQueue.QueueName>>`), parsed.
fn dashboard() -> Value {
    let resource = &template(TEMPLATE)["Resources"]["Dashboard"];
    assert_eq!(resource["Type"], "AWS::CloudWatch::Dashboard");
    assert_eq!(
        resource["Properties"]["DashboardName"],
        json!({"Fn::Sub": "${AWS::StackName}"})
    );
    let text = resource["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("DashboardBody is a !Sub text");
    let mut body = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        body.push_str(&rest[..at]);
        let end = rest[at..].find('}').expect("a closed ${…}") + at;
        body.push_str(&format!("<<{}>>", &rest[at + 2..end]));
        rest = &rest[end + 1..];
    }
    body.push_str(rest);
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("the dashboard body is not JSON ({e}): {body}"))
}

/// A metric a widget shows: namespace, name, dimension names and, for an explicit metric, the
/// dimension values.
#[derive(Debug)]
struct Shown {
    namespace: String,
    name: String,
    dimensions: Vec<String>,
    values: Vec<String>,
}

/// The metric of a `SEARCH('{Namespace,Dim,…} MetricName="Name"', …)` expression.
fn searched(expression: &str) -> Shown {
    let schema = expression
        .split_once('{')
        .and_then(|(_, r)| r.split_once('}'))
        .map(|(s, _)| s)
        .unwrap_or_else(|| panic!("no schema in {expression}"));
    let mut parts = schema.split(',').map(|p| p.trim().trim_matches('"').to_owned());
    let namespace = parts.next().unwrap();
    let name = expression
        .split_once("MetricName=\"")
        .and_then(|(_, r)| r.split_once('"'))
        .map(|(n, _)| n.to_owned())
        .unwrap_or_else(|| panic!("no MetricName in {expression}"));
    Shown {
        namespace,
        name,
        dimensions: parts.collect(),
        values: Vec::new(),
    }
}

/// Every metric every widget of the dashboard shows, with its widget's title.
fn shown() -> Vec<(String, Shown)> {
    let body = dashboard();
    let mut out = Vec::new();
    for widget in body["widgets"].as_array().unwrap() {
        let p = &widget["properties"];
        let title = p["title"].as_str().unwrap().to_owned();
        assert_eq!(widget["type"], "metric", "{title}");
        assert_eq!(p["region"], "<<AWS::Region>>", "{title}: the stack's own Region");
        for m in p["metrics"].as_array().unwrap() {
            if let Some(expression) = m["expression"].as_str() {
                assert!(expression.starts_with("SEARCH("), "{title}: {expression}");
                out.push((title.clone(), searched(expression)));
                continue;
            }
            // `[namespace, name, dim, value, …, {options}]`.
            let parts: Vec<&str> = m.as_array().unwrap().iter().filter_map(Value::as_str).collect();
            let pairs: Vec<(&str, &str)> = parts[2..].chunks(2).map(|c| (c[0], c[1])).collect();
            out.push((
                title.clone(),
                Shown {
                    namespace: parts[0].to_owned(),
                    name: parts[1].to_owned(),
                    dimensions: pairs.iter().map(|(d, _)| (*d).to_owned()).collect(),
                    values: pairs.iter().map(|(_, v)| (*v).to_owned()).collect(),
                },
            ));
        }
    }
    out
}

#[test]
fn every_idc_guard_metric_on_the_dashboard_is_declared_with_its_dimensions_and_every_declared_one_is_shown() {
    let mut on_dashboard = BTreeSet::new();
    for (title, m) in shown().iter().filter(|(_, m)| m.namespace == NAMESPACE) {
        let declared = METRICS
            .iter()
            .find(|d| d.name == m.name)
            .unwrap_or_else(|| panic!("{title}: {} is not in metrics::METRICS", m.name));
        assert_eq!(m.dimensions, declared.dimensions, "{title}: {}'s dimensions", m.name);
        if m.name == metrics::LATENCY.name {
            // Its dimension values are the guards' names, as the functions publish them.
            for v in &m.values {
                assert!(
                    idc_guard::routing::GUARD_FUNCTIONS.contains(&v.as_str()),
                    "{title}: {v}"
                );
            }
        }
        on_dashboard.insert(m.name.clone());
    }
    let declared: BTreeSet<String> = METRICS.iter().map(|m| m.name.to_owned()).collect();
    assert_eq!(on_dashboard, declared, "the dashboard shows exactly the catalogue");
}

#[test]
fn every_queue_on_the_dashboard_is_one_of_the_stacks_queues_and_each_is_shown() {
    let resources = template(TEMPLATE)["Resources"].as_object().unwrap();
    let queues: BTreeMap<&String, &Value> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::SQS::Queue")
        .collect();
    let mut seen = BTreeSet::new();
    for (title, m) in shown().iter().filter(|(_, m)| m.namespace != NAMESPACE) {
        assert_eq!(m.namespace, "AWS/SQS", "{title}");
        assert!(
            ["ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible"].contains(&m.name.as_str()),
            "{title}: {}",
            m.name
        );
        assert_eq!(m.dimensions, ["QueueName"], "{title}");
        let value = &m.values[0];
        // `${Queue.QueueName}`, or (for a conditional queue) the queue's own `QueueName` text.
        let id = match value.strip_prefix("<<").and_then(|v| v.strip_suffix(".QueueName>>")) {
            Some(id) => {
                assert!(
                    queues.contains_key(&id.to_owned()),
                    "{title}: {id} is not a queue of the stack"
                );
                id.to_owned()
            }
            None => {
                let named = value.replace("<<", "${").replace(">>", "}");
                let (id, _) = queues
                    .iter()
                    .find(|(_, q)| q["Properties"]["QueueName"] == json!({"Fn::Sub": named}))
                    .unwrap_or_else(|| panic!("{title}: no queue is named {named}"));
                (*id).clone()
            }
        };
        // Age on the queues a function reads, dead letters on the dead-letter queues.
        let dead_letters = id.ends_with("DeadLetters") || id == "DeadLetterQueue";
        assert_eq!(
            m.name == "ApproximateNumberOfMessagesVisible",
            dead_letters,
            "{title}: {id}"
        );
        seen.insert(id);
    }
    let all: BTreeSet<String> = queues.keys().map(|k| (*k).clone()).collect();
    assert_eq!(seen, all, "every queue of the stack is on the dashboard");
}

#[test]
fn the_breaker_alarm_watches_the_metric_the_functions_publish() {
    let alarm = &template(TEMPLATE)["Resources"]["BreakerOpenedAlarm"]["Properties"];
    assert_eq!(alarm["Namespace"], NAMESPACE);
    assert_eq!(alarm["MetricName"], metrics::BREAKER_OPENED.name);
    // Published without dimensions, so watched without.
    assert!(metrics::BREAKER_OPENED.dimensions.is_empty());
    assert!(alarm.get("Dimensions").is_none_or(Value::is_null), "{alarm}");
}

fn today() -> Date {
    Date::new(2026, 11, 27).unwrap()
}

/// A guard behind the real safety rails, in memory: a breaker that opens at the second
/// correction within 10 minutes, and a kill switch read on every decision.
#[tokio::test]
async fn a_guards_corrections_and_withholdings_make_the_emf_lines_the_dashboard_reads() {
    const SWITCH: &str = "/idc-guard/mode";
    let w = World::builder().build().await;
    let mut sets = Vec::new();
    for name in ["Analysts", "Builders", "Curators", "Deployers"] {
        let set = PermissionSet::new(name).session("PT12H").boundary(true);
        sets.push(w.create_permission_set(&set).await);
    }
    let parameters = MemoryParameters::new();
    parameters.set(SWITCH, "enforce");
    let gate = SafetyGate::new(
        parameters.clone(),
        MemoryStore::new(),
        SystemClock,
        SafetyConfig {
            kill_switch: SWITCH.to_owned(),
            kill_switch_ttl: Duration::ZERO,
            breaker: Limit {
                max: 1,
                window: Duration::from_secs(600),
            },
            ..SafetyConfig::default()
        },
    );
    let guard = w.guard_with_gate(LoggingNotifier, w.shipped_policy(), gate);
    let mut reports = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        if i == 3 {
            parameters.set(SWITCH, "detect");
        }
        let event = w
            .permission_set_event("sso.UpdatePermissionSet-long-session-violation.json", set)
            .with("eventID", json!(format!("5d0c5a8e-0000-4000-8000-00000000d00{i}")))
            .to_string();
        reports.push(guard.handle(&event, today()).await.unwrap());
    }
    let kinds: Vec<&str> = reports.iter().map(|r| r.outcomes[0].kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["remediated", "breaker-opened", "withheld", "withheld"],
        "{reports:?}"
    );
    assert!(matches!(reports[0].outcomes[0].kind, OutcomeKind::Remediated));

    let now_ms = 1_900_000_000_000;
    let points = metrics::of_guard("permission-set-guard", &reports, now_ms);
    let mut out = Vec::new();
    points.write_to(&mut out, now_ms).unwrap();
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The value of `name` on the line with these dimension values.
    let value = |name: &str, dims: &[(&str, &str)]| -> Option<Value> {
        lines
            .iter()
            .find(|l| {
                l["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == name && dims.iter().all(|(d, v)| l[*d] == *v)
            })
            .map(|l| l[name].clone())
    };
    let rule = ("Rule", "session-duration-cap");
    assert_eq!(value("Findings", &[rule, ("Outcome", "remediated")]), Some(json!(1)));
    assert_eq!(
        value("Findings", &[rule, ("Outcome", "breaker-opened")]),
        Some(json!(1))
    );
    assert_eq!(value("Findings", &[rule, ("Outcome", "withheld")]), Some(json!(2)));
    assert_eq!(value("Remediations", &[rule]), Some(json!(1)));
    // The rails' own sentences, classed: the opening and the open breaker, then the switch.
    assert_eq!(value("Withheld", &[rule, ("Reason", "breaker")]), Some(json!(2)));
    assert_eq!(value("Withheld", &[rule, ("Reason", "kill-switch")]), Some(json!(1)));
    assert_eq!(value("BreakerOpened", &[]), Some(json!(1)));
    // From the record's eventTime to the batch's end.
    let latency = value("Latency", &[("Function", "permission-set-guard")]).unwrap();
    let event_time = reports[0].outcomes[0].event.event_time.clone();
    let at = idc_guard::domain::time::parse_utc(&event_time).unwrap();
    assert_eq!(latency, json!(now_ms - at * 1000));
    // Every line names a catalogued metric in the idc-guard namespace.
    for l in &lines {
        let directive = &l["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        let name = directive["Metrics"][0]["Name"].as_str().unwrap();
        assert!(METRICS.iter().any(|m| m.name == name), "{name}");
    }
}
