//! A guard function as a real binary under cargo-lambda's runtime emulator (`cargo lambda watch`),
//! invoked over HTTP with a fixture, against the AWS emulator.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ssoadmin::types::{PrincipalType, TargetType};
use idc_guard_tests::emulator::{Emulator, create_state_table, set_kill_switch};
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

fn watch(function: &str, env: &[(&str, String)]) -> Watch {
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
    for (k, v) in env {
        cmd.args(["--env-var", &format!("{k}={v}")]);
    }
    let watch = Watch {
        child: cmd.spawn().unwrap(),
        port,
        log: log_path,
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "cargo lambda watch did not listen on {port}");
        std::thread::yield_now();
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
    let watch = watch(
        "assignment-guard",
        &[
            ("AWS_ENDPOINT_URL", emulator.endpoint()),
            ("AWS_REGION", "eu-west-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("IDC_GUARD_POLICY", policy.display().to_string()),
            ("IDC_GUARD_STATE_TABLE", "idc-guard-state".to_owned()),
        ],
    );

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
    let _ = std::fs::remove_file(policy);
}
