//! The `idc-guard` binary as a user runs it: exit codes, formats, inputs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use idc_guard_tests::{
    FIXTURE_IDENTITY_STORE, FIXTURE_INSTANCE, FIXTURE_OWN_ROLES, fixtures, idc_guard_bin, repo_root,
};

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(idc_guard_bin())
        .args(args)
        .current_dir(repo_root())
        .env_remove("IDC_GUARD_POLICY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn check(extra: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut args = vec![
        "check",
        "--today",
        "2026-11-27",
        "--instance-arn",
        FIXTURE_INSTANCE,
        "--identity-store-id",
        FIXTURE_IDENTITY_STORE,
        "--own-role",
        FIXTURE_OWN_ROLES[0],
        "--own-role",
        FIXTURE_OWN_ROLES[1],
    ];
    args.extend_from_slice(extra);
    run(&args, stdin)
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn event(name: &str) -> String {
    repo_root().join("events").join(name).display().to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idc-guard-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A CloudTrail log file (`{"Records":[…]}`) made of every fixture's record.
fn log_file() -> (String, usize) {
    let records: Vec<String> = fixtures()
        .iter()
        .filter(|p| idc_guard_tests::is_cloudtrail_fixture(p))
        .map(|p| {
            let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            v["detail"].to_string()
        })
        .collect();
    (format!("{{\"Records\":[{}]}}", records.join(",\n")), records.len())
}

fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_violation_exits_1_and_prints_one_json_object_per_event() {
    let o = check(
        &[
            "--format",
            "json",
            &event("sso.CreateAccountAssignment-user-violation.json"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["verdict"], "violation");
    assert_eq!(lines[0]["findings"][0]["rule"], "assignment-principal-type");
}

#[test]
fn compliant_undetermined_and_ignored_events_exit_0() {
    let o = check(
        &[
            "--format",
            "json",
            &event("sso.CreateAccountAssignment-group-compliant.json"),
            &event("sso.UpdatePermissionSet-undetermined.json"),
            &event("sso.CreateAccountAssignment-failed-ignored.json"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let verdicts: Vec<String> = json_lines(&o)
        .iter()
        .map(|l| l["verdict"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(verdicts, ["compliant", "undetermined", "ignored"]);
    let lines = json_lines(&o);
    assert!(lines[2]["reason"].as_str().unwrap().contains("AccessDeniedException"));
}

#[test]
fn stdin_is_read_with_a_dash() {
    let json = std::fs::read(event("sso.CreatePermissionSet-admin-violation.json")).unwrap();
    let o = check(&["--format", "json", "-"], Some(&json));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(json_lines(&o)[0]["findings"][0]["rule"], "session-duration-cap");
}

#[test]
fn cloudtrail_log_files_plain_and_gzipped_give_one_line_per_record() {
    let (log, count) = log_file();
    let plain = scratch("log.json");
    std::fs::write(&plain, &log).unwrap();
    let gz = scratch("log.json.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(log.as_bytes()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    for file in [&plain, &gz] {
        let o = check(&["--format", "json", &file.display().to_string()], None);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let lines = json_lines(&o);
        assert_eq!(lines.len(), count, "{}", file.display());
        let violations = lines.iter().filter(|l| l["verdict"] == "violation").count();
        let promised = fixtures()
            .iter()
            .filter(|p| idc_guard_tests::is_cloudtrail_fixture(p))
            .filter(|p| idc_guard_tests::promised_verdict(p) == "violation")
            .count();
        assert_eq!(violations, promised);
    }
}

#[test]
fn a_malformed_record_is_reported_with_its_path_and_exits_2_while_the_rest_are_checked() {
    let good = std::fs::read_to_string(event("sso.CreateAccountAssignment-group-compliant.json")).unwrap();
    let mut bad: serde_json::Value = serde_json::from_str(&good).unwrap();
    bad["detail"]["requestParameters"]["principalType"] = "ROBOT".into();
    let input = format!("{}\n{}\n", bad, good.replace('\n', " "));
    let o = check(&["--format", "json", "-"], Some(input.as_bytes()));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains("<stdin>: record 1: detail.requestParameters.principalType: expected \"USER\" or \"GROUP\""),
        "{}",
        stderr(&o)
    );
    assert_eq!(json_lines(&o).len(), 1, "the good record is still checked");
}

/// Damaged JSON Lines (issue #13): a truncated record, one with invalid UTF-8 and a NUL line
/// cost only themselves; the violations after them are reported; each bad record is named with
/// its number and byte offset; exit 3 says "violations and unreadable records".
#[test]
fn damaged_json_lines_report_each_bad_record_and_still_check_the_rest() {
    let line = |name: &str| std::fs::read_to_string(event(name)).unwrap().replace('\n', " ");
    let violation = line("sso.CreateAccountAssignment-user-violation.json");
    let compliant = line("sso.CreateAccountAssignment-group-compliant.json");
    let mut input = Vec::new();
    input.extend_from_slice("\u{feff}".as_bytes());
    input.extend_from_slice(compliant.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(&violation.as_bytes()[..violation.len() / 2]);
    input.push(b'\n');
    let mut not_utf8 = compliant.clone().into_bytes();
    let at = not_utf8.len() / 2;
    not_utf8[at] = 0xff;
    input.extend_from_slice(&not_utf8);
    input.extend_from_slice(b"\n\0\n");
    input.extend_from_slice(violation.as_bytes());
    input.push(b'\n');
    let o = check(&["--format", "json", "-"], Some(&input));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let lines = json_lines(&o);
    let verdicts: Vec<&str> = lines.iter().map(|l| l["verdict"].as_str().unwrap()).collect();
    assert_eq!(verdicts, ["compliant", "violation"], "{}", stdout(&o));
    let err = stderr(&o);
    let bad: Vec<&str> = err.lines().filter(|l| l.starts_with("<stdin>: record ")).collect();
    assert_eq!(bad.len(), 3, "{err}");
    for (record, line) in [2, 3, 4].iter().zip(&bad) {
        assert!(line.starts_with(&format!("<stdin>: record {record}: byte ")), "{err}");
    }
    // Only unreadable records, nothing violating: 2.
    let o = check(&["-"], Some(b"\0\n"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// The same damage inside a CloudTrail log file's `Records` list: the reader resumes at the next
/// record.
#[test]
fn a_damaged_record_in_a_log_file_costs_only_itself() {
    let record = |name: &str| {
        let e: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(event(name)).unwrap()).unwrap();
        e["detail"].to_string()
    };
    let violation = record("sso.CreateAccountAssignment-user-violation.json");
    let compliant = record("sso.CreateAccountAssignment-group-compliant.json");
    let broken = &compliant[..compliant.len() - 40];
    let log = format!("{{\"Records\":[{compliant},{broken},{violation}]}}");
    let o = check(&["--format", "json", "-"], Some(log.as_bytes()));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let verdicts: Vec<String> = json_lines(&o).iter().map(|l| l["verdict"].to_string()).collect();
    assert_eq!(verdicts, ["\"compliant\"", "\"violation\""], "{}", stderr(&o));
    assert!(stderr(&o).contains("<stdin>: record 2: byte "), "{}", stderr(&o));
}

#[test]
fn truncated_input_and_missing_files_exit_2_with_a_message() {
    let o = check(&["-"], Some(b"{\"Records\":[{\"eventID\":"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("byte"), "{}", stderr(&o));
    let o = check(&["/nonexistent/events.json"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/events.json"), "{}", stderr(&o));
}

#[test]
fn text_output_is_one_line_per_event_and_has_no_colour_when_piped() {
    let o = check(
        &[
            &event("sso.CreateAccountAssignment-user-violation.json"),
            &event("sso.CreateAccountAssignment-group-compliant.json"),
        ],
        None,
    );
    let out = stdout(&o);
    assert!(!out.contains('\x1b'), "{out}");
    let heads: Vec<&str> = out.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(heads.len(), 2, "{out}");
    assert!(heads[0].starts_with("VIOLATION"));
    assert!(heads[1].starts_with("COMPLIANT"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["check"], None).status.code(), Some(2));
    assert_eq!(
        run(&["check", "--format", "xml", "x.json"], None).status.code(),
        Some(2)
    );
    assert_eq!(run(&["frobnicate"], None).status.code(), Some(2));
    assert_eq!(
        run(&["check", "--instance-arn", "nope", "x.json"], None).status.code(),
        Some(2)
    );
}

#[test]
fn a_broken_policy_file_stops_check_with_exit_2() {
    let policy = scratch("broken.toml");
    std::fs::write(&policy, "mode = \"sometimes\"\n").unwrap();
    let o = check(
        &[
            "--policy",
            &policy.display().to_string(),
            &event("sso.CreateAccountAssignment-user-violation.json"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("broken.toml:1:8: mode: unknown mode \"sometimes\""),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn validate_accepts_the_shipped_policy_and_reports_every_problem_of_a_broken_one() {
    let o = run(&["validate"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("guardrail.toml: valid"));
    // What the entries match, in words (issue #13).
    let out = stdout(&o);
    assert!(
        out.contains("privileged permission sets: names matching *Admin*, BreakGlass* (ASCII case ignored"),
        "{out}"
    );
    assert!(
        out.contains(
            "arn:aws:iam::aws:policy/AdministratorAccess matches the AWS managed policy AdministratorAccess in every \
             partition"
        ),
        "{out}"
    );
    // A file that cannot be read is an input error (2), not an invalid policy (1), and has no
    // line and column; one that is not UTF-8 is a problem at the first bad byte.
    let o = run(&["validate", "/nonexistent/guardrail.toml"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("/nonexistent/guardrail.toml: cannot read the policy file"),
        "{}",
        stderr(&o)
    );
    let latin1 = scratch("latin1.toml");
    std::fs::write(&latin1, b"mode = \"enforce\"\n# caf\xe9\n").unwrap();
    let o = run(&["validate", &latin1.display().to_string()], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!(
            "{}:2:6: the policy file is not UTF-8 text (byte 0xe9",
            latin1.display()
        )),
        "{}",
        stderr(&o)
    );
    let policy = scratch("three-problems.toml");
    std::fs::write(&policy, "mode = \"enforce\"\ncolour = \"red\"\n\n[rules.session-duration-cap]\nmax = \"PT13H\"\nprivileged_maxx = \"PT1H\"\n").unwrap();
    let o = run(&["validate", &policy.display().to_string()], None);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let name = policy.display().to_string();
    assert!(err.contains(&format!("{name}:2:1: unknown key `colour`")), "{err}");
    assert!(
        err.contains(&format!(
            "{name}:5:7: rules.session-duration-cap.max: \"PT13H\" is outside"
        )),
        "{err}"
    );
    assert!(err.contains("did you mean `privileged_max`?"), "{err}");
    assert!(err.contains("3 problem(s)"), "{err}");
}

#[test]
fn validate_warns_about_expired_exceptions() {
    let policy = scratch("expired.toml");
    std::fs::write(
        &policy,
        "mode = \"enforce\"\n\n[[exceptions]]\nrule = \"assignment-principal-type\"\naccounts = [\"333333333333\"]\nowner = \"audit\"\nreason = \"auditor\"\nexpires = 2026-01-31\n",
    )
    .unwrap();
    let o = run(
        &["validate", "--today", "2026-11-27", &policy.display().to_string()],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o)
            .contains(":3: warning: the exception for assignment-principal-type owned by audit expired on 2026-01-31"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn schema_prints_a_json_schema() {
    let o = run(&["schema"], None);
    assert_eq!(o.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert!(schema["properties"]["rules"]["properties"]["session-duration-cap"].is_object());
}

#[test]
fn the_policy_comes_from_the_environment_when_no_flag_is_given() {
    let policy = scratch("users-allowed.toml");
    std::fs::write(
        &policy,
        "mode = \"enforce\"\n[rules.assignment-principal-type]\nallowed = [\"GROUP\", \"USER\"]\n",
    )
    .unwrap();
    let o = Command::new(idc_guard_bin())
        .args([
            "check",
            "--format",
            "json",
            &event("sso.CreateAccountAssignment-user-violation.json"),
        ])
        .env("IDC_GUARD_POLICY", &policy)
        .current_dir(Path::new("/"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_lines(&o)[0]["verdict"], "compliant");
}

/// Runs `idc-guard check` on a pseudo-terminal (util-linux `script`, in Debian's essential set).
fn on_terminal(no_color: Option<&str>) -> String {
    let command = format!(
        "'{}' check --today 2026-11-27 '{}'",
        idc_guard_bin().display(),
        event("sso.CreateAccountAssignment-user-violation.json")
    );
    let mut script = Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .current_dir(repo_root())
        .env_remove("NO_COLOR");
    if let Some(v) = no_color {
        script.env("NO_COLOR", v);
    }
    let o = script.output().unwrap();
    stdout(&o)
}

#[test]
fn text_output_is_coloured_on_a_terminal_unless_no_color_is_set() {
    assert!(
        on_terminal(None).contains("\x1b[1;31mVIOLATION"),
        "{:?}",
        on_terminal(None)
    );
    let plain = on_terminal(Some("1"));
    assert!(plain.starts_with("VIOLATION"), "{plain:?}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
}

/// `idc-guard breaker status|reset` against the emulator: the reset deletes the breaker's item and
/// announces it on the findings topic.
#[tokio::test]
async fn breaker_status_and_reset_work_against_the_table_and_announce_the_reset() {
    use idc_guard::adapters::DynamoState;
    use idc_guard::ports::{StateRecord, StateStore};
    use idc_guard::retry::RetryPolicy;
    use idc_guard::safety::breaker_key;
    use idc_guard_tests::world::{STATE_TABLE, World};

    let w = World::builder().state_table().topic().build().await;
    let store = DynamoState::new(w.ddb.clone(), STATE_TABLE, RetryPolicy::immediate());
    let open = StateRecord {
        times: vec![1_795_788_000; 20],
        since: Some(1_795_788_120),
        ..StateRecord::default()
    };
    assert!(store.put(&breaker_key(), &open, None).await.unwrap());
    let topic = w.topic_arn();
    let aws = |args: &[&str]| {
        Command::new(idc_guard_bin())
            .args(args)
            .current_dir(repo_root())
            .env_remove("IDC_GUARD_POLICY")
            .env_remove("IDC_GUARD_STATE_TABLE")
            .env_remove("IDC_GUARD_TOPIC_ARN")
            .envs(w.aws_env())
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .output()
            .unwrap()
    };

    let o = aws(&["breaker", "status", "--table", "idc-guard-state"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "open since 2026-11-27T14:02:00Z (the event path is detect-only)\n"
    );

    // A reason is required.
    let o = aws(&["breaker", "reset", "--table", "idc-guard-state", "--topic", topic]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--reason"), "{}", stderr(&o));
    assert!(store.get(&breaker_key()).await.unwrap().is_some(), "nothing changed");

    let o = aws(&[
        "breaker",
        "reset",
        "--table",
        "idc-guard-state",
        "--topic",
        topic,
        "--by",
        "carol",
        "--reason",
        "burst was a migration (CHG-42)",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("breaker reset (it was open since 2026-11-27T14:02:00Z)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(store.get(&breaker_key()).await.unwrap(), None);

    let published = w.published();
    assert_eq!(published.len(), 1, "{published:?}");
    let (subject, message, attributes) = &published[0];
    assert_eq!(subject, "[idc-guard] BREAKER RESET: the event path corrects again");
    let text = message["default"].as_str().unwrap();
    assert!(
        text.contains("carol reset the breaker (open since 2026-11-27T14:02:00Z): the event path corrects again. Reason: burst was a migration (CHG-42)"),
        "{text}"
    );
    let doc: serde_json::Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(doc["outcome"], "breaker-reset");
    assert_eq!(doc["owner"], "platform");
    assert_eq!(attributes["outcome"]["Value"], "breaker-reset", "{attributes}");

    let o = aws(&["breaker", "status", "--table", "idc-guard-state"]);
    assert_eq!(stdout(&o), "closed (0 remediations in the current window)\n");
}
