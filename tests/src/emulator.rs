//! A local AWS for integration tests: moto's server with idc-guard's sso-admin extension
//! (`tests/emulator/`), on a free loopback port, stopped when the [`Emulator`] is dropped.
//!
//! Each test starts its own emulator: startup takes about half a second, and a private server
//! means no test sees another's permission sets or has to reset state it does not own. (A shared
//! `static` emulator would never be dropped, so its process would outlive the test binary.)
//!
//! The Python environment is `<repo>/.venv`, made by `make venv` (which `make test` runs).
//!
//! [`Emulator::start_with`] passes options to the server, e.g. the limits mode (`--limits`,
//! `--rate`, `--burst`, `--outstanding`, `--async-seconds`), CloudTrail records (`--cloudtrail`)
//! and who an access key is (`--principal AKID=ROLE_ARN`); [`Emulator::set_limits`],
//! [`Emulator::requests`], [`Emulator::cloudtrail`] and [`Emulator::set_member_policies`] use its
//! control endpoints (`tests/emulator/gateway.py`).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::repo_root;

/// How long the server may take to answer `GET /moto-api/` after it is spawned.
const STARTUP_DEADLINE: Duration = Duration::from_secs(30);
/// Interval between readiness probes while the server starts.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Timeout of each readiness probe's connect, and of reading its answer.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// Timeout of `POST /moto-api/reset`.
const RESET_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of a request to the control endpoints (`/idc-guard/...`).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);
/// Spawns allowed when the server dies at once (another process took the port in between).
const SPAWN_ATTEMPTS: usize = 3;
/// The region every emulator client uses.
pub const REGION: &str = "eu-west-1";

/// A running moto server, killed (and waited for) on drop.
#[derive(Debug)]
pub struct Emulator {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Emulator {
    /// Starts a server on a free loopback port and waits until it answers.
    ///
    /// # Panics
    /// If `.venv` is missing (run `make venv`), or the server does not become ready within 30 s;
    /// the message then ends with the tail of the server's log.
    pub fn start() -> Emulator {
        Emulator::start_with(&[])
    }

    /// [`Emulator::start`] with options for `tests/emulator/server.py`, e.g.
    /// `&["--limits", "--rate", "5", "--cloudtrail", "--principal", "AKID=arn:aws:sts::…"]`.
    ///
    /// # Panics
    /// As [`Emulator::start`]; also when the server rejects the options (it exits).
    pub fn start_with(options: &[&str]) -> Emulator {
        let root = repo_root();
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `make venv` (from {}) to install the AWS emulator",
            python.display(),
            root.display()
        );
        let script = root.join("tests/emulator/server.py");
        let mut attempt = 1;
        loop {
            let port = free_port();
            let log = log_path(port);
            let mut child = spawn(&python, &script, port, options, &log);
            match wait_ready(&mut child, port) {
                Ok(()) => return Emulator { child, port, log },
                Err(Exit(_)) if attempt < SPAWN_ATTEMPTS => {
                    // Most likely the port was taken between choosing it and binding it: try another.
                    let _ = std::fs::remove_file(&log);
                    attempt += 1;
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "the AWS emulator did not start ({why}); command: {} {} --port {port} {}; log {}:\n{}",
                        python.display(),
                        script.display(),
                        options.join(" "),
                        log.display(),
                        tail(&log, 40)
                    );
                }
            }
        }
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The endpoint URL for SDK clients, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's log file (removed on drop unless the thread is panicking).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Wipes every service's state (`POST /moto-api/reset`). The sso-admin instance is recreated
    /// with a new ARN and identity store id: call [`Emulator::instance`] again afterwards.
    ///
    /// # Panics
    /// If the server does not answer 200.
    pub fn reset(&self) {
        match http(self.addr(), "POST", "/moto-api/reset", RESET_TIMEOUT) {
            Ok(200) => {}
            other => panic!(
                "POST /moto-api/reset: {other:?}; log {}:\n{}",
                self.log.display(),
                tail(&self.log, 20)
            ),
        }
    }

    /// What moto says was published to `topic_arn`, in order: (subject, message, attributes),
    /// from its state API (`GET /moto-api/data.json`). The message is parsed as JSON when it is
    /// JSON (a `MessageStructure=json` body), else kept as a string.
    ///
    /// # Panics
    /// If the state API does not answer, or the topic does not exist.
    pub fn published(&self, topic_arn: &str) -> Vec<(String, serde_json::Value, serde_json::Value)> {
        use serde_json::Value;
        let mut stream = TcpStream::connect(self.addr()).expect("connect to the emulator");
        write!(stream, "GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read data.json");
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let data: Value = serde_json::from_str(body).expect("data.json is JSON");
        let topic = data["sns"]["Topic"]
            .as_array()
            .and_then(|topics| topics.iter().find(|t| t["arn"] == topic_arn))
            .unwrap_or_else(|| panic!("no topic {topic_arn} in the emulator"));
        topic["sent_notifications"]
            .as_array()
            .map(|sent| {
                sent.iter()
                    .map(|n| {
                        let message = n[1].as_str().unwrap_or_default();
                        (
                            n[2].as_str().unwrap_or_default().to_owned(),
                            serde_json::from_str(message).unwrap_or_else(|_| Value::from(message)),
                            n[3].clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// SDK configuration for this server: region eu-west-1, static test credentials, the endpoint.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        self.sdk_config_as("testing").await
    }

    /// [`Emulator::sdk_config`] signing with `access_key`: the key the request log and the
    /// CloudTrail records name the caller by (`--principal` maps it to a role).
    pub async fn sdk_config_as(&self, access_key: &str) -> aws_config::SdkConfig {
        let credentials =
            aws_sdk_ssoadmin::config::Credentials::new(access_key, "testing", None, None, "idc-guard-emulator");
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(credentials)
            .load()
            .await
    }

    /// The emulator's one sso-admin instance: (instance ARN, identity store id), via ListInstances.
    ///
    /// # Panics
    /// If ListInstances fails or returns no instance.
    pub async fn instance(&self) -> (String, String) {
        let client = aws_sdk_ssoadmin::Client::new(&self.sdk_config().await);
        let out = client
            .list_instances()
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListInstances against the emulator: {e:?}"));
        let instance = out.instances().first().expect("the emulator has an sso-admin instance");
        (
            instance.instance_arn().expect("the instance has an ARN").to_owned(),
            instance
                .identity_store_id()
                .expect("the instance has an identity store")
                .to_owned(),
        )
    }

    /// Changes the limits mode's settings (`POST /idc-guard/limits`): any subset of
    /// `{"enabled", "rate", "burst", "outstanding", "async_seconds", "cloudtrail"}`. Setting
    /// `enabled`, `rate` or `burst` refills the token bucket. Answers the settings now in force.
    ///
    /// # Panics
    /// If the server does not answer 200 (e.g. an unknown setting or a negative rate).
    pub fn set_limits(&self, changes: &serde_json::Value) -> serde_json::Value {
        self.control("POST", "/idc-guard/limits", Some(changes))
    }

    /// The limits mode's settings (`GET /idc-guard/limits`).
    ///
    /// # Panics
    /// If the server does not answer 200.
    pub fn limits(&self) -> serde_json::Value {
        self.control("GET", "/idc-guard/limits", None)
    }

    /// The request log after sequence number `after` (0: from the start), oldest first: one
    /// `{"seq", "t", "key", "service", "operation", "status", "throttled"}` per request to any
    /// service, throttled or not.
    ///
    /// # Panics
    /// If the server does not answer 200.
    pub fn requests(&self, after: u64) -> Vec<serde_json::Value> {
        let page = self.control("GET", &format!("/idc-guard/requests?after={after}"), None);
        page["requests"].as_array().cloned().unwrap_or_default()
    }

    /// The CloudTrail records after sequence number `after` (0: from the start), oldest first:
    /// `{"seq", "record"}`, the record shaped as the `detail` of the fixtures in `events/`.
    /// Recorded only while `--cloudtrail` (or `{"cloudtrail": true}`) is on.
    ///
    /// # Panics
    /// If the server does not answer 200.
    pub fn cloudtrail(&self, after: u64) -> Vec<serde_json::Value> {
        let page = self.control("GET", &format!("/idc-guard/cloudtrail?after={after}"), None);
        page["records"].as_array().cloned().unwrap_or_default()
    }

    /// Says which customer managed policies (`"<path><name>"`, or a bare name under `/`) member
    /// accounts hold (`POST /idc-guard/member-policies`): each account listed holds exactly those
    /// from now on, the others keep what they had; `&[]` clears the registry. Provisioning a
    /// permission set to a registered account that lacks a policy it references (or its
    /// customer-managed boundary) then FAILS, as AWS does; an account never registered holds every
    /// policy. `reset` clears the registry too. Answers the registry,
    /// `{"accounts": {"<account>": ["<path><name>", ...]}}`.
    ///
    /// # Panics
    /// If the server does not answer 200 (e.g. an account id that is not 12 digits).
    pub fn set_member_policies(&self, accounts: &[(&str, &[&str])]) -> serde_json::Value {
        let accounts: serde_json::Map<String, serde_json::Value> = accounts
            .iter()
            .map(|(account, policies)| ((*account).to_owned(), serde_json::json!(policies)))
            .collect();
        self.control(
            "POST",
            "/idc-guard/member-policies",
            Some(&serde_json::json!({ "accounts": accounts })),
        )
    }

    /// The member-policy registry (`GET /idc-guard/member-policies`), as
    /// [`Emulator::set_member_policies`] answers it.
    ///
    /// # Panics
    /// If the server does not answer 200.
    pub fn member_policies(&self) -> serde_json::Value {
        self.control("GET", "/idc-guard/member-policies", None)
    }

    fn control(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> serde_json::Value {
        match http_json(self.addr(), method, path, body, CONTROL_TIMEOUT) {
            Ok((200, value)) => value,
            other => panic!(
                "{method} {path}: {other:?}; log {}:\n{}",
                self.log.display(),
                tail(&self.log, 20)
            ),
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to the child's PID; wait reaps it, so the port is closed
        // once drop returns.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("AWS emulator log kept: {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Why a spawned server is not ready.
#[derive(Debug)]
enum NotReady {
    /// The process ended.
    Exit(std::process::ExitStatus),
    /// The deadline passed; the last probe's result.
    Timeout(String),
}
use NotReady::{Exit, Timeout};

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit(status) => write!(f, "the server exited: {status}"),
            Timeout(last) => write!(
                f,
                "no 200 from GET /moto-api/ within {} s; last probe: {last}",
                STARTUP_DEADLINE.as_secs()
            ),
        }
    }
}

/// A port nobody listens on now: bind port 0 and let the listener go.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind a loopback port")
}

fn log_path(port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join("idc-guard-emulator");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir.join(format!("moto-{}-{port}.log", std::process::id()))
}

fn spawn(python: &Path, script: &Path, port: u16, options: &[&str], log: &Path) -> Child {
    let out = File::create(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let err = out.try_clone().unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    Command::new(python)
        .arg(script)
        .arg("--port")
        .arg(port.to_string())
        .args(options)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()))
}

/// Probes `GET /moto-api/` until it answers 200, the process exits, or the deadline passes.
fn wait_ready(child: &mut Child, port: u16) -> Result<(), NotReady> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + STARTUP_DEADLINE;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Exit(status));
        }
        let last = match http(addr, "GET", "/moto-api/", PROBE_TIMEOUT) {
            Ok(200) => return Ok(()),
            Ok(status) => format!("HTTP {status}"),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(Timeout(last));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// One HTTP/1.1 request without a body; the response's status code.
fn http(addr: SocketAddr, method: &str, path: &str, timeout: Duration) -> io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("not an HTTP response: {text:.80}")))
}

/// One HTTP/1.1 request with an optional JSON body; the response's status code and JSON body.
fn http_json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> io::Result<(u16, serde_json::Value)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let payload = body.map(serde_json::Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{why}: {text:.200}"));
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("not an HTTP response"))?;
    let (_, json) = text.split_once("\r\n\r\n").ok_or_else(|| invalid("no body"))?;
    let value = serde_json::from_str(json).map_err(|_| invalid("the body is not JSON"))?;
    Ok((status, value))
}

/// A CloudTrail record as EventBridge delivers it ("AWS API Call via CloudTrail"), like the
/// fixtures in `events/`: source `aws.sso` or `aws.identitystore`, the record as `detail`. The
/// envelope's `id` is the record's `eventID` (EventBridge assigns its own; one unique id is
/// enough for a test).
pub fn eventbridge_event(record: &serde_json::Value) -> serde_json::Value {
    let service = record["eventSource"]
        .as_str()
        .and_then(|s| s.strip_suffix(".amazonaws.com"))
        .unwrap_or_default();
    serde_json::json!({
        "version": "0",
        "id": record["eventID"],
        "detail-type": "AWS API Call via CloudTrail",
        "source": format!("aws.{service}"),
        "account": record["recipientAccountId"],
        "time": record["eventTime"],
        "region": record["awsRegion"],
        "resources": [],
        "detail": record,
    })
}

/// The last `lines` lines of a file, or why it cannot be read.
fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read the log: {e})"),
    }
}

/// Creates the safety rails' state table as deployed: `pk`/`sk` strings, on-demand, TTL on
/// `expires_at`.
pub async fn create_state_table(ddb: &aws_sdk_dynamodb::Client, table: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute definition")
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key schema element")
    };
    ddb.create_table()
        .table_name(table)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("CreateTable");
    ddb.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires_at")
                .build()
                .expect("TTL specification"),
        )
        .send()
        .await
        .expect("UpdateTimeToLive");
}

/// Sets the kill switch parameter.
pub async fn set_kill_switch(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .expect("PutParameter");
}

/// Clients of the services the emulator adds to moto (issue #19).
impl Emulator {
    /// An account access manager client for this server: region eu-west-1, the usual test
    /// credentials (access key `testing`), this endpoint. The SDK signs with the service name
    /// `account-access`, which is how the gateway recognises the service
    /// (`tests/emulator/account_access.py`).
    pub fn account_access_client(&self) -> aws_sdk_accountaccess::Client {
        self.account_access_client_as("testing")
    }

    /// [`Emulator::account_access_client`] signing with `access_key` (the key the request log and
    /// the CloudTrail records name the caller by).
    pub fn account_access_client_as(&self, access_key: &str) -> aws_sdk_accountaccess::Client {
        use aws_sdk_accountaccess::config::{BehaviorVersion, Credentials, Region};
        let credentials = Credentials::new(access_key, "testing", None, None, "idc-guard-emulator");
        let config = aws_sdk_accountaccess::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(credentials)
            .build();
        aws_sdk_accountaccess::Client::from_conf(config)
    }
}
