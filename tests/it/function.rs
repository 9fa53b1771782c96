//! The functions as real binaries under cargo-lambda's runtime emulator (`cargo lambda watch`),
//! invoked over HTTP with fixtures, against the AWS emulator, each with the environment
//! `template.yaml` gives it (its variables' values resolved to the emulator's resources).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ssoadmin::types::PrincipalType;
use idc_guard_tests::webhook;
use idc_guard_tests::world::{
    Event, PermissionSet, PolicyFile, Principal, STATE_TABLE, User, World, WorldBuilder, with_rule_mode,
};
use idc_guard_tests::{REVERT_AND_REVOKE, repo_root};
use serde_json::{Value, json};

const ACCOUNT: &str = "333333333333";
const USER: &str = "34887428-4081-7042-c3c6-928d413009e7";
/// The queue subscribed to the findings topic, to read back what a function published.
const READBACK: &str = "findings-readback";

/// `cargo lambda watch`, stopped (with the function it runs) when dropped.
struct Watch {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The watcher starts the function as a child: stop the whole process group.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Builds every function once (debug, as `cargo lambda watch` does), so the watchers find their
/// binaries up to date instead of each waiting for the others' builds. (The test binary's own
/// build does not cover them: it unifies the SDK crates with their `test-util` feature.)
fn build_functions() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-q", "--locked"]).current_dir(repo_root());
        for entry in std::fs::read_dir(repo_root().join("functions")).unwrap() {
            let dir = entry.unwrap().path();
            if dir.join("Cargo.toml").exists() {
                cmd.args(["-p", &dir.file_name().unwrap().to_string_lossy()]);
            }
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "building the functions failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

fn watch(function: &str, env: &[(&str, String)]) -> Watch {
    build_functions();
    let cargo_lambda = repo_root().join(".venv/bin/cargo-lambda");
    assert!(
        cargo_lambda.exists(),
        "{} is missing: run `make venv`",
        cargo_lambda.display()
    );
    let port = free_port();
    let log_path = std::env::temp_dir().join(format!("cargo-lambda-watch-{port}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut cmd = Command::new(cargo_lambda);
    cmd.args(["lambda", "watch", "--ignore-changes", "-p", function, "--bin", function])
        .args(["-A", "127.0.0.1", "-P", &port.to_string()])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0);
    // From a file: `--env-var` splits its value at commas (IDC_GUARD_OWN_ROLES is a list).
    // cargo-lambda rejects `NAME=` (an empty value); the functions treat empty as unset.
    let env_file = std::env::temp_dir().join(format!("cargo-lambda-watch-{port}.env"));
    let lines: String = env
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            assert!(
                !v.contains(['\n', '"', '\'', '$', '#', ' ']),
                "{k}={v}: not a plain value"
            );
            format!("{k}={v}\n")
        })
        .collect();
    std::fs::write(&env_file, lines).unwrap();
    cmd.arg("--env-file").arg(&env_file);
    let mut watch = Watch {
        child: cmd.spawn().unwrap(),
        port,
        log: log_path,
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = watch.child.try_wait() {
            panic!(
                "cargo lambda watch exited ({status}): {}",
                std::fs::read_to_string(&watch.log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "cargo lambda watch did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    watch
}

/// POSTs an invocation the way `cargo lambda invoke` does, and returns the status and body.
fn invoke(port: u16, function: &str, payload: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // Generous: the first invocation waits for cargo lambda to compile the function, which a
    // loaded 2-core machine can take minutes over.
    stream.set_read_timeout(Some(Duration::from_secs(900))).unwrap();
    let request = format!(
        "POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The deployed infrastructure the functions use: the safety rails' state table and kill switch
/// (without them a function withholds every correction), and the findings topic, with a queue
/// subscribed to read back what was published.
fn deployed() -> WorldBuilder {
    World::builder()
        .state_table()
        .kill_switch("enforce")
        .queue(READBACK, None)
}

/// The template's resources the guards' environment refers to, as the world has them.
/// The guards' API share is the template's largest (100%: 3.3 requests per second per process)
/// so that the paced reverts take seconds, not the default's half a minute.
fn guard_resources(w: &World) -> Vec<(&'static str, String)> {
    vec![
        ("StateTable", STATE_TABLE.to_owned()),
        ("FindingsTopic", w.topic_arn().to_owned()),
        ("ApiShare", "100".to_owned()),
    ]
}

/// The SNS envelopes delivered to the read-back queue so far.
async fn published(w: &World) -> Vec<Value> {
    w.received(w.queue_url(READBACK)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_assignment_guard_binary_reverts_a_user_assignment_under_cargo_lambda() {
    let w = deployed()
        .permission_set(PermissionSet::new("DataEngineer").session("PT1H"))
        .assign(ACCOUNT, "DataEngineer", Principal::user_id(USER))
        .build()
        .await;
    let ps = w.set_arn("DataEngineer");
    let policy = w.policy_file("function", |p| p);
    let mut resources = guard_resources(&w);
    // The second remediation below opens the breaker.
    resources.push(("BreakerLimit", "1/10m".to_owned()));
    let env = deployed_env("assignment-guard", &w, &resources, &policy);
    let watch = watch("assignment-guard", &as_refs(&env));

    let event = w.user_assignment_event(ps, ACCOUNT, USER);
    a_user_assignment_is_reverted_and_published(&w, &watch, &event, ps).await;
    malformed_input_is_acknowledged_and_logged(&watch);
    the_breaker_opens_once_in_the_alarms_metric(&w, &watch, event, ps).await;
}

async fn a_user_assignment_is_reverted_and_published(w: &World, watch: &Watch, event: &Event, ps: &str) {
    let (status, body) = invoke(watch.port, "assignment-guard", &event.to_string());
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["outcomes"][0]["outcome"], "remediated", "{body}");
    assert_eq!(report["outcomes"][0]["calls"], json!(REVERT_AND_REVOKE));
    assert_eq!(revoked_users(w, ps).await, [USER], "{body}");
    let left = w
        .sso
        .list_account_assignments()
        .instance_arn(&w.instance)
        .account_id(ACCOUNT)
        .permission_set_arn(ps)
        .send()
        .await
        .unwrap();
    assert!(left.account_assignments().is_empty());
    let published = published(w).await;
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(
        published[0]["Subject"],
        "[idc-guard] REVERTED assignment-principal-type on DataEngineer"
    );
    // Its metrics, as EMF lines on the function's standard output (issue #18).
    let rule = ("Rule", "assignment-principal-type");
    let lines = emf_lines(watch);
    assert_eq!(emf(&lines, "Findings", &[rule, ("Outcome", "remediated")]), [json!(1)]);
    assert_eq!(emf(&lines, "Remediations", &[rule]), [json!(1)]);
    let latency = emf(&lines, "Latency", &[("Function", "assignment-guard")]);
    assert!(latency.len() == 1 && latency[0].as_u64().is_some(), "{latency:?}");
}

/// The EMF lines in a function's log: the JSON objects with an `_aws` member, each checked
/// against the catalogue (`metrics::METRICS`: a known name, its unit and exactly its dimensions).
fn emf_lines(watch: &Watch) -> Vec<Value> {
    let log = std::fs::read_to_string(&watch.log).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l.get("_aws").is_some())
        .collect();
    for l in &lines {
        let directive = &l["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], idc_guard::metrics::NAMESPACE, "{l}");
        let name = directive["Metrics"][0]["Name"].as_str().unwrap();
        let declared = idc_guard::metrics::METRICS
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name} is not declared: {l}"));
        assert_eq!(directive["Metrics"][0]["Unit"], declared.unit.as_str(), "{l}");
        assert_eq!(directive["Dimensions"], json!([declared.dimensions]), "{l}");
    }
    lines
}

/// The values of `name` on the EMF lines with these dimension values, in log order.
fn emf(lines: &[Value], name: &str, dims: &[(&str, &str)]) -> Vec<Value> {
    lines
        .iter()
        .filter(|l| l["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == name)
        .filter(|l| dims.iter().all(|(d, v)| l[*d] == *v))
        .map(|l| l[name].clone())
        .collect()
}

/// The users the revocation statements in `set`'s inline policy name.
async fn revoked_users(w: &World, set: &str) -> Vec<String> {
    let text = w.inline_policy(set).await;
    let doc = idc_guard::iam::PolicyDocument::parse(&text).unwrap();
    doc.revocations().into_iter().flat_map(|(_, r)| r.users).collect()
}

/// Malformed input: acknowledged (no retry), nothing changed, the reason logged.
fn malformed_input_is_acknowledged_and_logged(watch: &Watch) {
    let (status, body) = invoke(
        watch.port,
        "assignment-guard",
        r#"{"detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":5}}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.trim(), "null");
    let log = std::fs::read_to_string(&watch.log).unwrap();
    assert!(
        log.contains("malformed event: ignored, no call made") && log.contains("detail.eventSource"),
        "the reason is logged: {log}"
    );
}

/// The breaker: a second USER assignment would be the second remediation within the window
/// (limit 1): withheld, and the opening published once as the `BreakerOpened` metric the
/// template's alarm watches (an EMF line without dimensions).
async fn the_breaker_opens_once_in_the_alarms_metric(w: &World, watch: &Watch, event: Event, ps: &str) {
    let second = "94887428-4081-7042-c3c6-928d413009e8";
    w.assign(ACCOUNT, ps, PrincipalType::User, second).await;
    let event = event
        .with("requestParameters.principalId", json!(second))
        .with("eventID", json!("5d0c5a8e-0000-4000-8000-0000000000b2"));
    let (status, body) = invoke(watch.port, "assignment-guard", &event.to_string());
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("breaker opened at"), "{body}");
    let alarm = &crate::template::template(crate::template::TEMPLATE)["Resources"]["BreakerOpenedAlarm"]["Properties"];
    let lines = emf_lines(watch);
    let name = alarm["MetricName"].as_str().unwrap();
    assert_eq!(emf(&lines, name, &[]), [json!(1)], "one opening: {lines:?}");
    let line = lines
        .iter()
        .find(|l| l["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == name)
        .unwrap();
    assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], alarm["Namespace"]);
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([[]]),
        "as the alarm watches it"
    );
    assert_eq!(
        emf(
            &lines,
            "Withheld",
            &[("Rule", "assignment-principal-type"), ("Reason", "breaker")]
        ),
        [json!(1)]
    );
}

/// The environment `template.yaml` gives `function`: every variable it names, with `!Ref`s to
/// parameters resolved to their defaults and `!Ref`s to resources to the emulator's stand-ins
/// (`resources`, by logical id, which also overrides parameters); the policy file, which the
/// layer mounts at /opt in Lambda, is `policy`. Plus what Lambda itself provides: the Region,
/// credentials, and the emulator as the endpoint.
fn deployed_env(function: &str, w: &World, resources: &[(&str, String)], policy: &PolicyFile) -> Vec<(String, String)> {
    let template = crate::template::template(crate::template::TEMPLATE);
    let id: String = function
        .split('-')
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect::<String>()
        + "Function";
    let variables = template["Resources"][&id]["Properties"]["Environment"]["Variables"]
        .as_object()
        .unwrap_or_else(|| panic!("{id} has no environment in template.yaml"));
    let mut env: Vec<(String, String)> = w.aws_env().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    for (name, value) in variables {
        let value = if name == "IDC_GUARD_POLICY" {
            assert_eq!(value, "/opt/guardrail.toml");
            policy.path().display().to_string()
        } else {
            resolve(template, &id, name, value, resources)
        };
        env.push((name.clone(), value));
    }
    env
}

/// A template value as the deployment would give it: a string; a `!Ref` to a parameter (its
/// default) or to a resource (its stand-in in `resources`); a role's `!GetAtt …Arn` (the role
/// in the fixtures' delegated-admin account, so the fixtures' own-role ARNs name it); a
/// `!Join` of those; an `!If` on a condition over parameters (`AWS::NoValue`: unset).
fn resolve(template: &Value, id: &str, name: &str, value: &Value, resources: &[(&str, String)]) -> String {
    if let Some(text) = value.as_str() {
        return text.to_owned();
    }
    if let Some([condition, then, otherwise]) = value["Fn::If"].as_array().map(Vec::as_slice) {
        let condition = &template["Conditions"][condition.as_str().unwrap_or_default()];
        let chosen = if holds(template, id, condition, resources) {
            then
        } else {
            otherwise
        };
        return resolve(template, id, name, chosen, resources);
    }
    if value["Ref"] == "AWS::NoValue" {
        return String::new();
    }
    if let Some(target) = value["Ref"].as_str() {
        return match resources.iter().find(|(k, _)| *k == target) {
            Some((_, v)) => v.clone(),
            None => match &template["Parameters"][target]["Default"] {
                Value::String(text) => text.clone(),
                Value::Number(n) => n.to_string(),
                _ => panic!("{id}: {name} refers to {target}: give the test a value"),
            },
        };
    }
    if let (Some(role), Some("Arn")) = (value["Fn::GetAtt"][0].as_str(), value["Fn::GetAtt"][1].as_str()) {
        assert_eq!(
            template["Resources"][role]["Type"], "AWS::IAM::Role",
            "{id}: {name}: {value}"
        );
        return format!("arn:aws:iam::222222222222:role/{role}");
    }
    if let (Some(separator), Some(items)) = (value["Fn::Join"][0].as_str(), value["Fn::Join"][1].as_array()) {
        return items
            .iter()
            .map(|item| resolve(template, id, name, item, resources))
            .collect::<Vec<_>>()
            .join(separator);
    }
    panic!("{id}: {name} is {value}")
}

/// A template condition, with parameters at their defaults (or at `resources`' values).
fn holds(template: &Value, id: &str, condition: &Value, resources: &[(&str, String)]) -> bool {
    let terms = |f: &str| condition[f].as_array().map(Vec::as_slice).unwrap_or_default();
    match condition.as_object().and_then(|o| o.keys().next()).map(String::as_str) {
        Some("Fn::Equals") => {
            let [a, b] = terms("Fn::Equals") else {
                panic!("{id}: {condition}")
            };
            resolve(template, id, "a condition", a, resources) == resolve(template, id, "a condition", b, resources)
        }
        Some("Fn::Not") => !terms("Fn::Not").iter().all(|c| holds(template, id, c, resources)),
        Some("Fn::And") => terms("Fn::And").iter().all(|c| holds(template, id, c, resources)),
        Some("Fn::Or") => terms("Fn::Or").iter().any(|c| holds(template, id, c, resources)),
        Some("Condition") => holds(
            template,
            id,
            &template["Conditions"][condition["Condition"].as_str().unwrap_or_default()],
            resources,
        ),
        _ => panic!("{id}: an unexpected condition {condition}"),
    }
}

fn as_refs(env: &[(String, String)]) -> Vec<(&str, String)> {
    env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect()
}

/// permission-set-guard caps a long session and publishes the finding; slack-notifier, given
/// the SNS notification of that very finding, posts it to the owner's channel.
#[tokio::test(flavor = "multi_thread")]
async fn the_permission_set_guard_and_slack_notifier_binaries_revert_publish_and_post() {
    let w = deployed()
        .permission_set(
            PermissionSet::new("DataEngineer")
                .description("data platform engineers")
                .session("PT12H")
                .boundary(true),
        )
        .build()
        .await;
    // The owner comes from the policy's [owners] routes.
    let policy = w.policy_file("permission-set-guard", |p| {
        p + "\n[[owners.routes]]\nowner = \"data-team\"\npermission_sets = [\"Data*\"]\n"
    });
    let published = the_permission_set_guard_caps_the_session_and_publishes(&w, &policy).await;
    slack_notifier_posts_the_finding_to_the_owners_channel(&w, &policy, &published).await;
}

/// What permission-set-guard published for the long session of `DataEngineer`.
async fn the_permission_set_guard_caps_the_session_and_publishes(w: &World, policy: &PolicyFile) -> Value {
    let ps = w.set_arn("DataEngineer");
    let env = deployed_env("permission-set-guard", w, &guard_resources(w), policy);
    let guard = watch("permission-set-guard", &as_refs(&env));

    let event = w.permission_set_event("sso.UpdatePermissionSet-long-session-violation.json", ps);
    let (status, body) = invoke(guard.port, "permission-set-guard", &event.to_string());
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["outcomes"][0]["outcome"], "remediated", "{body}");
    assert_eq!(
        report["outcomes"][0]["calls"],
        json!(["UpdatePermissionSet", "ProvisionPermissionSet"])
    );
    let described = w
        .sso
        .describe_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(ps)
        .send()
        .await
        .unwrap();
    let set = described.permission_set().unwrap();
    assert_eq!(set.session_duration(), Some("PT8H"));
    assert_eq!(set.description(), Some("data platform engineers"));

    let published = published(w).await;
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(
        published[0]["Subject"],
        "[idc-guard] REVERTED session-duration-cap on DataEngineer"
    );
    let document: Value = serde_json::from_str(published[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(document["owner"], "data-team", "the policy's [owners] route");
    published[0].clone()
}

/// slack-notifier, with the webhook secret in the emulator's Secrets Manager, given the SNS
/// notification of `published` (the envelope read back from the queue).
async fn slack_notifier_posts_the_finding_to_the_owners_channel(w: &World, policy: &PolicyFile, published: &Value) {
    let (url, posted) = webhook::stand_in(std::iter::repeat((200, "")));
    let secret = aws_sdk_secretsmanager::Client::new(&w.sdk)
        .create_secret()
        .name("idc-guard/slack")
        .secret_string(json!({"data-team": url, "default": "http://127.0.0.1:9/never"}).to_string())
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let env = deployed_env("slack-notifier", w, &[("SlackWebhookSecretArn", secret)], policy);
    let notifier = watch("slack-notifier", &as_refs(&env));
    // The notification as SNS delivers it to a Lambda subscription: the `lambda` form of the
    // message is the same finding document as the `sqs` form read back above.
    let topic = w.topic_arn();
    let notification = json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": format!("{topic}:5f1c5a8e"),
        "Sns": {
            "Type": "Notification",
            "MessageId": published["MessageId"],
            "TopicArn": topic,
            "Subject": published["Subject"],
            "Message": published["Message"],
            "Timestamp": "2026-11-27T23:00:00.000Z",
            "MessageAttributes": {"owner": {"Type": "String", "Value": "data-team"}}
        }
    }]});
    let (status, body) = invoke(notifier.port, "slack-notifier", &notification.to_string());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.trim(), "1", "one delivery");
    let posted: Vec<String> = posted.lock().unwrap().iter().map(|(_, body)| body.clone()).collect();
    assert_eq!(posted.len(), 1, "{posted:?}");
    let payload: Value = serde_json::from_str(&posted[0]).unwrap();
    let text = payload.to_string();
    assert!(
        text.contains("session-duration-cap") && text.contains("DataEngineer"),
        "{text}"
    );
    assert!(payload["blocks"].as_array().is_some_and(|b| !b.is_empty()), "{text}");
    let log = std::fs::read_to_string(&notifier.log).unwrap();
    assert!(!log.contains("XXXXSECRETXXXX"), "the webhook URL is never logged");
}

/// identity-guard removes a hand-made group membership when the rule enforces.
#[tokio::test(flavor = "multi_thread")]
async fn the_identity_guard_binary_removes_a_hand_made_membership_under_cargo_lambda() {
    let w = deployed()
        .user(User::new("mallory").display("Mallory").name("Mal", "Lory"))
        .group("platform-admins")
        .member("mallory", "platform-admins")
        .permission_set(PermissionSet::new("PlatformAdmin").session("PT1H"))
        .assign(ACCOUNT, "PlatformAdmin", Principal::group("platform-admins"))
        .build()
        .await;
    let (user, group, membership) = (w.user_id("mallory"), w.group_id("platform-admins"), &w.memberships[0]);
    let policy = w.policy_file("identity-guard", |p| {
        with_rule_mode(&p, "identity-store-scim-only", "enforce")
    });
    let env = deployed_env("identity-guard", &w, &guard_resources(&w), &policy);
    let watch = watch("identity-guard", &as_refs(&env));

    let event = w.membership_event(group, user, membership);
    let (status, body) = invoke(watch.port, "identity-guard", &event.to_string());
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["outcomes"][0]["outcome"], "remediated", "{body}");
    // The membership, then the sessions it gave: the group's set revoked for mallory.
    assert_eq!(
        report["outcomes"][0]["calls"],
        json!([
            "DeleteGroupMembership",
            "PutInlinePolicyToPermissionSet",
            "ProvisionPermissionSet"
        ])
    );
    assert_eq!(revoked_users(&w, w.set_arn("PlatformAdmin")).await, [user], "{body}");
    let left = w
        .ids
        .list_group_memberships()
        .identity_store_id(&w.store)
        .group_id(group)
        .send()
        .await
        .unwrap();
    assert!(left.group_memberships().is_empty());
    assert_eq!(published(&w).await.len(), 1);
}

/// An SQS delivery as the guards' event source mappings send it (issue #15): each record's body
/// is an EventBridge envelope.
fn sqs_batch(bodies: &[(&str, String)]) -> String {
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body)| {
            json!({
                "messageId": id,
                "receiptHandle": format!("handle-{id}"),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764892800000",
                    "SenderId": "AIDAEVENTBRIDGE",
                    "ApproximateFirstReceiveTimestamp": "1764892800010"
                },
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:222222222222:idc-guard-assignment-guard",
                "awsRegion": "eu-west-1"
            })
        })
        .collect();
    json!({ "Records": records }).to_string()
}

/// assignment-guard fed by its queue: a batch with a USER assignment, a GROUP assignment and a
/// malformed message. The USER assignment is reverted, the GROUP one judged on its face, the
/// malformed one acknowledged: nothing is returned to the queue.
#[tokio::test(flavor = "multi_thread")]
async fn the_assignment_guard_binary_takes_a_batch_from_its_queue() {
    let w = deployed()
        .permission_set(PermissionSet::new("DataEngineer").session("PT1H"))
        .assign(ACCOUNT, "DataEngineer", Principal::user_id(USER))
        .build()
        .await;
    let ps = w.set_arn("DataEngineer");
    let policy = w.policy_file("function-sqs", |p| p);
    let env = deployed_env("assignment-guard", &w, &guard_resources(&w), &policy);
    let watch = watch("assignment-guard", &as_refs(&env));
    let user = w.user_assignment_event(ps, ACCOUNT, USER).to_string();
    let group = Event::group_assignment(&w.instance, ps, ACCOUNT, "94482488-3041-7026-18f1-9a4c2f6e5d71").to_string();
    let batch = sqs_batch(&[
        ("m-user", user),
        ("m-group", group),
        ("m-bad", "{\"detail\": 5}".to_owned()),
    ]);
    let (status, body) = invoke(watch.port, "assignment-guard", &batch);
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}), "{body}");
    assert_eq!(w.count_assignments(ACCOUNT, ps).await, 0);
    assert_eq!(revoked_users(&w, ps).await, [USER]);
    // One report line per message, naming it.
    let log = std::fs::read_to_string(&watch.log).unwrap();
    for id in ["m-user", "m-group"] {
        assert!(log.contains(&format!("\"message_id\":\"{id}\"")), "{id}: {log}");
    }
    assert!(log.contains("\"triaged\":true"), "{log}");
    assert!(log.contains("malformed event: ignored, no call made"), "{log}");
    // The batch's metrics (issue #18): the USER assignment's correction, the GROUP one's none.
    let lines = emf_lines(&watch);
    let rule = ("Rule", "assignment-principal-type");
    assert_eq!(emf(&lines, "Remediations", &[rule]), [json!(1)], "{lines:?}");
    assert_eq!(emf(&lines, "Latency", &[("Function", "assignment-guard")]).len(), 1);
    a_throttled_event_goes_back_to_the_queue_and_is_handled_when_delivered_again(&w, &watch, ps).await;
}

/// Identity Center throttling everything (the emulator's limits mode with an empty bucket): the
/// guard retries within the invocation, then returns the event to its queue, having changed
/// nothing; delivered again once the throttling is over, it is handled.
async fn a_throttled_event_goes_back_to_the_queue_and_is_handled_when_delivered_again(
    w: &World,
    watch: &Watch,
    ps: &str,
) {
    let second = "94887428-4081-7042-c3c6-928d413009e8";
    w.assign(ACCOUNT, ps, PrincipalType::User, second).await;
    let event = w
        .user_assignment_event(ps, ACCOUNT, second)
        .with("eventID", json!("5d0c5a8e-0000-4000-8000-0000000000c2"))
        .to_string();
    let batch = sqs_batch(&[("m-throttled", event)]);
    let before = w.emulator.requests(0).last().map_or(0, |r| r["seq"].as_u64().unwrap());
    w.emulator
        .set_limits(&json!({"enabled": true, "rate": 0.001, "burst": 0.0}));
    let (status, body) = invoke(watch.port, "assignment-guard", &batch);
    let throttled_until = w
        .emulator
        .requests(before)
        .last()
        .map_or(before, |r| r["seq"].as_u64().unwrap());
    w.emulator.set_limits(&json!({"enabled": false}));
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "m-throttled"}]}),
        "{body}"
    );
    assert_eq!(
        w.count_assignments(ACCOUNT, ps).await,
        1,
        "the USER assignment is still there"
    );
    // Every Identity Center request the guard made was throttled, and it retried.
    let guard_requests: Vec<Value> = w
        .emulator
        .requests(before)
        .into_iter()
        .filter(|r| r["seq"].as_u64().unwrap() <= throttled_until)
        .filter(|r| r["service"] == "sso-admin" || r["service"] == "identitystore")
        .collect();
    assert!(guard_requests.len() > 1, "{guard_requests:?}");
    assert!(
        guard_requests.iter().all(|r| r["throttled"] == true),
        "{guard_requests:?}"
    );
    // Every throttling answer counted, by service, on the invocation's EMF lines.
    let lines = emf_lines(watch);
    let counted = |service: &str| -> u64 {
        emf(&lines, "Throttles", &[("Service", service)])
            .iter()
            .filter_map(Value::as_u64)
            .sum()
    };
    let sent = |service: &str| guard_requests.iter().filter(|r| r["service"] == service).count() as u64;
    assert_eq!(counted("ssoadmin"), sent("sso-admin"), "{lines:?}");
    assert_eq!(counted("identitystore"), sent("identitystore"), "{lines:?}");
    // Delivered again: handled, nothing returned.
    let (status, body) = invoke(watch.port, "assignment-guard", &batch);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"batchItemFailures": []})
    );
    assert_eq!(w.count_assignments(ACCOUNT, ps).await, 0);
}

/// usage-recorder (issue #17) fed by its queue: a batch with a `GetRoleCredentials` use, the
/// same record again, an older use of the same assignment, a malformed use and an unrelated
/// event. One conditional write per use (and one for the recording start), the latest use kept,
/// nothing returned to the queue (the malformed one is acknowledged: retrying cannot fix it).
#[tokio::test(flavor = "multi_thread")]
async fn the_usage_recorder_binary_keeps_the_latest_use_from_a_batch_under_cargo_lambda() {
    let w = World::builder().state_table().build().await;
    let policy = w.policy_file("usage-recorder", |p| p);
    let env = deployed_env("usage-recorder", &w, &[("StateTable", STATE_TABLE.to_owned())], &policy);
    let watch = watch("usage-recorder", &as_refs(&env));

    let fixture = Event::fixture("sso.GetRoleCredentials-service-event-ignored.json");
    let newer = fixture
        .clone()
        .with("eventTime", json!("2026-03-04T10:00:00Z"))
        .with("eventID", json!("5d0c5a8e-0000-4000-8000-0000000000e2"));
    let older = fixture
        .clone()
        .with("eventTime", json!("2026-03-04T09:00:00Z"))
        .with("eventID", json!("5d0c5a8e-0000-4000-8000-0000000000e1"));
    let malformed = fixture.clone().with("serviceEventDetails.account_id", json!("12345"));
    let unrelated = w.user_assignment_event(
        "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef",
        ACCOUNT,
        USER,
    );
    let batch = sqs_batch(&[
        ("m-newer", newer.to_string()),
        ("m-duplicate", newer.to_string()),
        ("m-older", older.to_string()),
        ("m-malformed", malformed.to_string()),
        ("m-unrelated", unrelated.to_string()),
    ]);
    let before = w.emulator.requests(0).last().map_or(0, |r| r["seq"].as_u64().unwrap());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (status, body) = invoke(watch.port, "usage-recorder", &batch);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"batchItemFailures": []}),
        "{body}"
    );
    // One conditional write for the start and one per use, nothing for the others, no read.
    let calls: Vec<String> = w
        .emulator
        .requests(before)
        .into_iter()
        .filter(|r| r["service"] == "dynamodb")
        .map(|r| r["operation"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(calls, ["PutItem"; 4]);
    the_newer_use_and_the_recording_start_are_stored(&w, &fixture, started).await;
    the_batch_is_logged_with_its_counts(&watch);
}

/// What the table holds after the batch: the newer use of `fixture`'s assignment, and when
/// recording began (not before `started`); nothing else.
async fn the_newer_use_and_the_recording_start_are_stored(w: &World, fixture: &Event, started: u64) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let detail = &fixture.json()["detail"];
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let user = text(&detail["userIdentity"]["onBehalfOf"]["userId"]);
    let set = text(&detail["serviceEventDetails"]["role_name"]);
    let account = text(&detail["serviceEventDetails"]["account_id"]);
    let get = |pk: String, sk: String| {
        w.ddb
            .get_item()
            .table_name(STATE_TABLE)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk))
            .send()
    };
    let item = get(
        idc_guard::safety::usage_partition(&user),
        format!("{user}#{account}#{set}"),
    )
    .await
    .unwrap()
    .item
    .expect("the use is recorded");
    let s = |name: &str| item[name].as_s().unwrap().clone();
    let n = |name: &str| item[name].as_n().unwrap().parse::<u64>().unwrap();
    // 2026-03-04T10:00:00Z.
    let at = 1_772_618_400;
    assert_eq!(n("at"), at);
    assert_eq!(s("event_id"), "5d0c5a8e-0000-4000-8000-0000000000e2");
    assert_eq!((s("user_id"), s("account"), s("permission_set")), (user, account, set));
    assert_eq!(s("channel"), "credentials");
    assert_eq!(n("expires_at"), idc_guard::usage::expires_at(at));
    let all = w.ddb.scan().table_name(STATE_TABLE).send().await.unwrap();
    assert_eq!(all.count(), 2, "the use and the recording start: {:?}", all.items());
    let since = get("usage#since".to_owned(), "since".to_owned())
        .await
        .unwrap()
        .item
        .expect("the recording start is noted");
    let since: u64 = since["at"].as_n().unwrap().parse().unwrap();
    assert!(since >= started, "{since} < {started}");
}

/// The batch in one log line, counted; the malformed use logged with its field.
fn the_batch_is_logged_with_its_counts(watch: &Watch) {
    let log = std::fs::read_to_string(&watch.log).unwrap();
    let line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == "usage batch")
        .unwrap_or_else(|| panic!("no batch line: {log}"));
    let counts = [("messages", 5), ("ignored", 1), ("malformed", 1), ("returned", 0)];
    for (field, want) in counts {
        assert_eq!(line["fields"][field], want, "{field}: {line}");
    }
    // The three uses of one assignment are written concurrently, so which of them find a later
    // one already stored depends on their order of arrival: the newer is recorded, its
    // duplicate never is, and the older is either refused or overwritten by the newer (the
    // stored use, the newer, is checked above).
    let (recorded, not_later) = (&line["fields"]["recorded"], &line["fields"]["not_later"]);
    assert!(
        (recorded, not_later) == (&1.into(), &2.into()) || (recorded, not_later) == (&2.into(), &1.into()),
        "recorded and not later: {line}"
    );
    assert!(
        log.contains("malformed use: acknowledged, not recorded") && log.contains("serviceEventDetails.account_id"),
        "{log}"
    );
}

/// drift-reconciler under cargo lambda (issue #18): every run, a failed one included, notes in
/// the state table when it ran and how it ended, which `idc-guard doctor` reports.
#[tokio::test]
async fn the_drift_reconciler_binary_notes_each_run_for_doctor() {
    use idc_guard::safety::{RunOutcome, last_run};
    let w = deployed().organization(["acct-0"]).group("platform").build().await;
    let table = idc_guard::wiring::state_table(&w.sdk, STATE_TABLE);
    let resources = guard_resources(&w);
    assert_eq!(last_run(&table).await.unwrap(), None);

    // A policy naming an instance that does not exist: the run fails, and says so.
    let absent = "arn:aws:sso:::instance/ssoins-00000000deadbeef";
    let wrong = w.policy_file("reconciler-wrong", |p| p.replace(&w.instance, absent));
    let failing = watch(
        "drift-reconciler",
        &as_refs(&deployed_env("drift-reconciler", &w, &resources, &wrong)),
    );
    let (_, body) = invoke(failing.port, "drift-reconciler", r#"{"dry_run": true}"#);
    drop(failing);
    let run = last_run(&table)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no run noted: {body}"));
    match &run.outcome {
        RunOutcome::Failed { error } => assert!(error.contains(absent), "{error}"),
        other @ RunOutcome::Completed { .. } => panic!("{other:?}: {body}"),
    }
    assert!(run.started <= run.finished);

    // The right instance: a dry run that completes replaces the failed one.
    let right = w.policy_file("reconciler-right", |p| p);
    let working = watch(
        "drift-reconciler",
        &as_refs(&deployed_env("drift-reconciler", &w, &resources, &right)),
    );
    let (status, body) = invoke(working.port, "drift-reconciler", r#"{"dry_run": true}"#);
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    let noted = last_run(&table).await.unwrap().unwrap();
    assert_eq!(
        noted.outcome,
        RunOutcome::Completed {
            dry_run: true,
            planned: report["plan"].as_array().unwrap().len(),
            unknown: report["unknown"].as_array().unwrap().len(),
            refused: None,
        },
        "{body}"
    );
    assert!(noted.finished >= run.finished);
}
