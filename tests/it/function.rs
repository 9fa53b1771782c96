//! The functions as real binaries under cargo-lambda's runtime emulator (`cargo lambda watch`),
//! invoked over HTTP with fixtures, against the AWS emulator, each with the environment
//! `template.yaml` gives it (its variables' values resolved to the emulator's resources).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_identitystore::types::{MemberId, Name};
use aws_sdk_ssoadmin::types::{CustomerManagedPolicyReference, PermissionsBoundary, PrincipalType, TargetType};
use idc_guard_tests::emulator::{Emulator, REGION, create_state_table, set_kill_switch};
use idc_guard_tests::repo_root;
use serde_json::{Value, json};

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
    // cargo-lambda rejects `NAME=` (an empty value); the functions treat empty as unset.
    for (k, v) in env.iter().filter(|(_, v)| !v.is_empty()) {
        cmd.args(["--env-var", &format!("{k}={v}")]);
    }
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
    stream.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
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

#[tokio::test(flavor = "multi_thread")]
async fn the_assignment_guard_binary_reverts_a_user_assignment_under_cargo_lambda() {
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let (instance, store) = emulator.instance().await;
    let sso = aws_sdk_ssoadmin::Client::new(&sdk);
    let ps = sso
        .create_permission_set()
        .instance_arn(&instance)
        .name("DataEngineer")
        .session_duration("PT1H")
        .send()
        .await
        .unwrap()
        .permission_set()
        .unwrap()
        .permission_set_arn()
        .unwrap()
        .to_owned();
    sso.create_account_assignment()
        .instance_arn(&instance)
        .target_id("333333333333")
        .target_type(TargetType::AwsAccount)
        .permission_set_arn(&ps)
        .principal_type(PrincipalType::User)
        .principal_id("34887428-4081-7042-c3c6-928d413009e7")
        .send()
        .await
        .unwrap();

    // The safety rails' state table and kill switch, as deployed (without them the function
    // withholds every correction).
    create_state_table(&aws_sdk_dynamodb::Client::new(&sdk), "idc-guard-state").await;
    set_kill_switch(&aws_sdk_ssm::Client::new(&sdk), "/idc-guard/mode", "enforce").await;

    let policy = std::env::temp_dir().join(format!("idc-guard-function-{}.toml", std::process::id()));
    let shipped = std::fs::read_to_string(repo_root().join("policy/guardrail.toml")).unwrap();
    std::fs::write(
        &policy,
        shipped.replace(
            "# arn = \"arn:aws:sso:::instance/ssoins-0123456789abcdef\"\n# identity_store_id = \"d-0123456789\"",
            &format!("arn = \"{instance}\"\nidentity_store_id = \"{store}\""),
        ),
    )
    .unwrap();
    let topic = Topic::new(&sdk).await;
    let env = deployed_env(
        "assignment-guard",
        &emulator,
        &[
            ("StateTable", "idc-guard-state".to_owned()),
            ("FindingsTopic", topic.arn.clone()),
            // The second remediation below opens the breaker.
            ("BreakerLimit", "1/10m".to_owned()),
        ],
        &policy,
    );
    let watch = watch("assignment-guard", &as_refs(&env));

    let text =
        std::fs::read_to_string(repo_root().join("events/sso.CreateAccountAssignment-user-violation.json")).unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    let params = &mut event["detail"]["requestParameters"];
    params["instanceArn"] = json!(instance);
    params["permissionSetArn"] = json!(ps);
    params["targetId"] = json!("333333333333");
    params["principalId"] = json!("34887428-4081-7042-c3c6-928d413009e7");

    let (status, body) = invoke(watch.port, "assignment-guard", &event.to_string());
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["outcomes"][0]["outcome"], "remediated", "{body}");
    assert_eq!(report["outcomes"][0]["calls"], json!(["DeleteAccountAssignment"]));
    let left = sso
        .list_account_assignments()
        .instance_arn(&instance)
        .account_id("333333333333")
        .permission_set_arn(&ps)
        .send()
        .await
        .unwrap();
    assert!(left.account_assignments().is_empty());
    let published = topic.received().await;
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(
        published[0]["Subject"],
        "[idc-guard] REVERTED assignment-principal-type on DataEngineer"
    );

    // Malformed input: acknowledged (no retry), nothing changed, the reason logged.
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

    // The breaker: a second USER assignment would be the second remediation within the window
    // (limit 1): withheld, and the opening logged once, in the form the template's log metric
    // filter (and so the BreakerOpened alarm) matches.
    let second = "94887428-4081-7042-c3c6-928d413009e8";
    sso.create_account_assignment()
        .instance_arn(&instance)
        .target_id("333333333333")
        .target_type(TargetType::AwsAccount)
        .permission_set_arn(&ps)
        .principal_type(PrincipalType::User)
        .principal_id(second)
        .send()
        .await
        .unwrap();
    event["detail"]["requestParameters"]["principalId"] = json!(second);
    event["detail"]["eventID"] = json!("5d0c5a8e-0000-4000-8000-0000000000b2");
    let (status, body) = invoke(watch.port, "assignment-guard", &event.to_string());
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("breaker opened at"), "{body}");
    let filter =
        crate::template::template(crate::template::TEMPLATE)["Resources"]["AssignmentGuardBreakerFilter"]["Properties"]
            ["FilterPattern"]
            .as_str()
            .unwrap()
            .to_owned();
    // `{ $.a.b = "value" }`: the one form the template uses.
    let (path, value) = filter
        .trim_matches(|c| c == '{' || c == '}' || c == ' ')
        .strip_prefix("$.")
        .and_then(|f| f.split_once(" = "))
        .unwrap_or_else(|| panic!("unexpected filter pattern {filter}"));
    let value = value.trim_matches('"');
    let log = std::fs::read_to_string(&watch.log).unwrap();
    let matching = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|line| path.split('.').fold(line, |node, key| &node[key]) == value)
        .count();
    assert_eq!(matching, 1, "one log line matches {filter}: {log}");
    let _ = std::fs::remove_file(policy);
}

/// The environment `template.yaml` gives `function`: every variable it names, with `!Ref`s to
/// parameters resolved to their defaults and `!Ref`s to resources to the emulator's stand-ins
/// (`resources`, by logical id, which also overrides parameters); the policy file, which the
/// layer mounts at /opt in Lambda, is `policy`. Plus what Lambda itself provides: the Region,
/// credentials, and the emulator as the endpoint.
fn deployed_env(
    function: &str,
    emulator: &Emulator,
    resources: &[(&str, String)],
    policy: &std::path::Path,
) -> Vec<(String, String)> {
    let template = crate::template::template(crate::template::TEMPLATE);
    let id: String = function
        .split('-')
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect::<String>()
        + "Function";
    let variables = template["Resources"][&id]["Properties"]["Environment"]["Variables"]
        .as_object()
        .unwrap_or_else(|| panic!("{id} has no environment in template.yaml"));
    let mut env = vec![
        ("AWS_ENDPOINT_URL".to_owned(), emulator.endpoint()),
        ("AWS_REGION".to_owned(), REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID".to_owned(), "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "testing".to_owned()),
    ];
    for (name, value) in variables {
        let value = if name == "IDC_GUARD_POLICY" {
            assert_eq!(value, "/opt/guardrail.toml");
            policy.display().to_string()
        } else if let Some(text) = value.as_str() {
            text.to_owned()
        } else {
            let target = value["Ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: {name} is {value}"));
            match resources.iter().find(|(k, _)| *k == target) {
                Some((_, v)) => v.clone(),
                None => template["Parameters"][target]["Default"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{id}: {name} refers to {target}: give the test a value"))
                    .to_owned(),
            }
        };
        env.push((name.clone(), value));
    }
    env
}

/// The shipped policy scoped to the emulator's instance and identity store (plus `edit`), in a
/// temporary file removed on drop.
struct PolicyFile(std::path::PathBuf);

impl PolicyFile {
    fn new(tag: &str, instance: &str, store: &str, edit: impl Fn(String) -> String) -> Self {
        let path = std::env::temp_dir().join(format!("idc-guard-{tag}-{}.toml", std::process::id()));
        let shipped = std::fs::read_to_string(repo_root().join("policy/guardrail.toml")).unwrap();
        let scoped = shipped.replace(
            "# arn = \"arn:aws:sso:::instance/ssoins-0123456789abcdef\"\n# identity_store_id = \"d-0123456789\"",
            &format!("arn = \"{instance}\"\nidentity_store_id = \"{store}\""),
        );
        assert_ne!(scoped, shipped, "the shipped policy's [instance] lines changed");
        std::fs::write(&path, edit(scoped)).unwrap();
        Self(path)
    }
}

impl Drop for PolicyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The findings topic, with an SQS queue subscribed to read back what was published.
struct Topic {
    arn: String,
    queue: String,
    sqs: aws_sdk_sqs::Client,
}

impl Topic {
    async fn new(sdk: &aws_config::SdkConfig) -> Topic {
        let sns = aws_sdk_sns::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let arn = sns
            .create_topic()
            .name("idc-guard-findings")
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let queue = sqs
            .create_queue()
            .queue_name("findings-readback")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:{REGION}:123456789012:findings-readback"))
            .send()
            .await
            .unwrap();
        Topic { arn, queue, sqs }
    }

    /// The SNS envelopes delivered to the subscribed queue so far.
    async fn received(&self) -> Vec<Value> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        out.messages()
            .iter()
            .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
            .collect()
    }
}

/// A Slack incoming-webhook stand-in answering 200 `ok`; the bodies it received.
fn webhook() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            record.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
            let _ = reader
                .into_inner()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (
        format!("http://127.0.0.1:{port}/services/T000/B000/XXXXSECRETXXXX"),
        seen,
    )
}

fn as_refs(env: &[(String, String)]) -> Vec<(&str, String)> {
    env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect()
}

/// permission-set-guard caps a long session and publishes the finding; slack-notifier, given
/// the SNS notification of that very finding, posts it to the owner's channel.
#[tokio::test(flavor = "multi_thread")]
async fn the_permission_set_guard_and_slack_notifier_binaries_revert_publish_and_post() {
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let (instance, store) = emulator.instance().await;
    let sso = aws_sdk_ssoadmin::Client::new(&sdk);
    let ps = sso
        .create_permission_set()
        .instance_arn(&instance)
        .name("DataEngineer")
        .description("data platform engineers")
        .session_duration("PT12H")
        .send()
        .await
        .unwrap()
        .permission_set()
        .unwrap()
        .permission_set_arn()
        .unwrap()
        .to_owned();
    sso.put_permissions_boundary_to_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&ps)
        .permissions_boundary(
            PermissionsBoundary::builder()
                .customer_managed_policy_reference(
                    CustomerManagedPolicyReference::builder()
                        .name("platform-boundary")
                        .path("/")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    create_state_table(&aws_sdk_dynamodb::Client::new(&sdk), "idc-guard-state").await;
    set_kill_switch(&aws_sdk_ssm::Client::new(&sdk), "/idc-guard/mode", "enforce").await;
    let topic = Topic::new(&sdk).await;
    // The owner comes from the policy's [owners] routes.
    let policy = PolicyFile::new("permission-set-guard", &instance, &store, |p| {
        p + "\n[[owners.routes]]\nowner = \"data-team\"\npermission_sets = [\"Data*\"]\n"
    });
    let env = deployed_env(
        "permission-set-guard",
        &emulator,
        &[
            ("StateTable", "idc-guard-state".to_owned()),
            ("FindingsTopic", topic.arn.clone()),
        ],
        &policy.0,
    );
    let guard = watch("permission-set-guard", &as_refs(&env));

    let text = std::fs::read_to_string(repo_root().join("events/sso.UpdatePermissionSet-long-session-violation.json"))
        .unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    event["detail"]["requestParameters"]["instanceArn"] = json!(instance);
    event["detail"]["requestParameters"]["permissionSetArn"] = json!(ps);
    let (status, body) = invoke(guard.port, "permission-set-guard", &event.to_string());
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["outcomes"][0]["outcome"], "remediated", "{body}");
    assert_eq!(
        report["outcomes"][0]["calls"],
        json!(["UpdatePermissionSet", "ProvisionPermissionSet"])
    );
    let described = sso
        .describe_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&ps)
        .send()
        .await
        .unwrap();
    let set = described.permission_set().unwrap();
    assert_eq!(set.session_duration(), Some("PT8H"));
    assert_eq!(set.description(), Some("data platform engineers"));

    let published = topic.received().await;
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(
        published[0]["Subject"],
        "[idc-guard] REVERTED session-duration-cap on DataEngineer"
    );
    let document: Value = serde_json::from_str(published[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(document["owner"], "data-team", "the policy's [owners] route");

    // slack-notifier, with the webhook secret in the emulator's Secrets Manager.
    let (url, posted) = webhook();
    let secret = aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name("idc-guard/slack")
        .secret_string(json!({"data-team": url, "default": "http://127.0.0.1:9/never"}).to_string())
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let env = deployed_env(
        "slack-notifier",
        &emulator,
        &[("SlackWebhookSecretArn", secret)],
        &policy.0,
    );
    let notifier = watch("slack-notifier", &as_refs(&env));
    // The notification as SNS delivers it to a Lambda subscription: the `lambda` form of the
    // message is the same finding document as the `sqs` form read back above.
    let notification = json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": format!("{}:5f1c5a8e", topic.arn),
        "Sns": {
            "Type": "Notification",
            "MessageId": published[0]["MessageId"],
            "TopicArn": topic.arn,
            "Subject": published[0]["Subject"],
            "Message": published[0]["Message"],
            "Timestamp": "2026-11-27T23:00:00.000Z",
            "MessageAttributes": {"owner": {"Type": "String", "Value": "data-team"}}
        }
    }]});
    let (status, body) = invoke(notifier.port, "slack-notifier", &notification.to_string());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.trim(), "1", "one delivery");
    let posted = posted.lock().unwrap().clone();
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
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let (instance, store) = emulator.instance().await;
    let ids = aws_sdk_identitystore::Client::new(&sdk);
    let user = ids
        .create_user()
        .identity_store_id(&store)
        .user_name("mallory")
        .display_name("Mallory")
        .name(Name::builder().given_name("Mal").family_name("Lory").build())
        .send()
        .await
        .unwrap()
        .user_id()
        .to_owned();
    let group = ids
        .create_group()
        .identity_store_id(&store)
        .display_name("platform-admins")
        .send()
        .await
        .unwrap()
        .group_id()
        .to_owned();
    let membership = ids
        .create_group_membership()
        .identity_store_id(&store)
        .group_id(&group)
        .member_id(MemberId::UserId(user.clone()))
        .send()
        .await
        .unwrap()
        .membership_id()
        .to_owned();
    create_state_table(&aws_sdk_dynamodb::Client::new(&sdk), "idc-guard-state").await;
    set_kill_switch(&aws_sdk_ssm::Client::new(&sdk), "/idc-guard/mode", "enforce").await;
    let topic = Topic::new(&sdk).await;
    let policy = PolicyFile::new("identity-guard", &instance, &store, |p| {
        p.replace(
            "[rules.identity-store-scim-only]\n# Users and groups only from SCIM. Reported, not reverted, until you are sure.\nmode = \"detect\"",
            "[rules.identity-store-scim-only]\nmode = \"enforce\"",
        )
    });
    let env = deployed_env(
        "identity-guard",
        &emulator,
        &[
            ("StateTable", "idc-guard-state".to_owned()),
            ("FindingsTopic", topic.arn.clone()),
        ],
        &policy.0,
    );
    let watch = watch("identity-guard", &as_refs(&env));

    let text =
        std::fs::read_to_string(repo_root().join("events/identitystore.CreateGroupMembership-violation.json")).unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    let detail = &mut event["detail"];
    detail["requestParameters"]["identityStoreId"] = json!(store);
    detail["requestParameters"]["groupId"] = json!(group);
    detail["requestParameters"]["memberId"] = json!({"userId": user});
    detail["responseElements"]["membershipId"] = json!(membership);
    detail["responseElements"]["identityStoreId"] = json!(store);
    let (status, body) = invoke(watch.port, "identity-guard", &event.to_string());
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["outcomes"][0]["outcome"], "remediated", "{body}");
    assert_eq!(report["outcomes"][0]["calls"], json!(["DeleteGroupMembership"]));
    let left = ids
        .list_group_memberships()
        .identity_store_id(&store)
        .group_id(&group)
        .send()
        .await
        .unwrap();
    assert!(left.group_memberships().is_empty());
    assert_eq!(topic.received().await.len(), 1);
}
