//! `idc-guard usage` (issue #17): offline, the last use per (user, permission set, account) from
//! CloudTrail log files, plain and gzipped, with late, duplicate, failed, unrelated and malformed
//! records among the uses; and with `--live`, against the emulator, joined onto each assignment
//! with its dormancy.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use idc_guard_tests::{idc_guard_bin, repo_root};
use serde_json::{Value, json};

const ALICE: &str = "9067a1b2c3-a1a1a1a1-0000-4000-8000-000000000001";
const BOB: &str = "9067a1b2c3-b2b2b2b2-0000-4000-8000-000000000002";
const CAROL: &str = "9067a1b2c3-c3c3c3c3-0000-4000-8000-000000000003";
const DAVE: &str = "9067a1b2c3-d4d4d4d4-0000-4000-8000-000000000004";
const ERIN: &str = "9067a1b2c3-e5e5e5e5-0000-4000-8000-000000000005";

fn fixture(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join("events").join(name)).unwrap()).unwrap()
}

/// A use as CloudTrail records it: the fixture's record of `event` (`GetRoleCredentials` from
/// sso, or `Federate` from signin), with who, what, where, when and its id replaced.
fn record(event: &str, user: &str, set: &str, account: &str, time: &str, id: &str) -> Value {
    let name = match event {
        "GetRoleCredentials" => "sso.GetRoleCredentials-service-event-ignored.json",
        _ => "signin.Federate-service-event-ignored.json",
    };
    let mut r = fixture(name)["detail"].clone();
    r["userIdentity"]["onBehalfOf"]["userId"] = json!(user);
    r["serviceEventDetails"] = json!({"role_name": set, "account_id": account});
    r["eventTime"] = json!(time);
    r["eventID"] = json!(id);
    r
}

/// A new scratch directory (tests run in parallel: each writes its own files).
fn scratch() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("idc-guard-usage-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A CloudTrail log file as delivered to S3, gzipped when its name ends in `.gz`.
fn log_file(dir: &Path, name: &str, records: &[Value]) -> String {
    let text = json!({"Records": records}).to_string();
    let path = dir.join(name);
    if name.ends_with(".gz") {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text.as_bytes()).unwrap();
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
    } else {
        std::fs::write(&path, text).unwrap();
    }
    path.display().to_string()
}

/// The logs: the first file in plain JSON (a use, a later use of the same key, a console use, a
/// failed call, an unrelated event, and, with `malformed`, a use with a bad account id); the
/// second gzipped (an older use of the first key, arriving late; a duplicate of the later use;
/// an earlier use by another channel; a use before 2026-03-05); a third as JSON Lines of
/// EventBridge envelopes.
fn logs(malformed: bool) -> Vec<String> {
    let dir = scratch();
    let later = record(
        "GetRoleCredentials",
        ALICE,
        "PlatformEngineer",
        "333333333333",
        "2026-03-12T09:30:00Z",
        "e2",
    );
    let mut failed = record(
        "GetRoleCredentials",
        CAROL,
        "AdministratorAccess",
        "555555555555",
        "2026-03-13T07:00:00Z",
        "e5",
    );
    failed["errorCode"] = json!("UnauthorizedException");
    let mut first = vec![
        record(
            "GetRoleCredentials",
            ALICE,
            "PlatformEngineer",
            "333333333333",
            "2026-03-10T08:00:00Z",
            "e1",
        ),
        later.clone(),
        record(
            "Federate",
            BOB,
            "ReadOnly",
            "444444444444",
            "2026-03-11T12:00:00Z",
            "e3",
        ),
        failed,
        fixture("sso.CreateAccountAssignment-group-compliant.json")["detail"].clone(),
    ];
    if malformed {
        first.push(record(
            "GetRoleCredentials",
            CAROL,
            "ReadOnly",
            "12345",
            "2026-03-13T08:00:00Z",
            "e6",
        ));
    }
    let second = [
        record(
            "GetRoleCredentials",
            ALICE,
            "PlatformEngineer",
            "333333333333",
            "2026-03-01T06:00:00Z",
            "e0",
        ),
        later,
        record(
            "GetRoleCredentials",
            BOB,
            "ReadOnly",
            "444444444444",
            "2026-03-09T10:00:00Z",
            "e4",
        ),
        record(
            "Federate",
            DAVE,
            "PlatformEngineer",
            "333333333333",
            "2026-02-20T16:00:00Z",
            "e7",
        ),
    ];
    let mut envelope = fixture("sso.GetRoleCredentials-service-event-ignored.json");
    envelope["detail"] = record(
        "GetRoleCredentials",
        ERIN,
        "ReadOnly",
        "555555555555",
        "2026-03-14T18:45:10.123Z",
        "e8",
    );
    let third = dir.join("events.jsonl");
    std::fs::write(&third, format!("{envelope}\n")).unwrap();
    vec![
        log_file(&dir, "111111111111_CloudTrail_eu-west-1_20260313T0000Z_a.json", &first),
        log_file(
            &dir,
            "111111111111_CloudTrail_eu-west-1_20260313T0005Z_b.json.gz",
            &second,
        ),
        third.display().to_string(),
    ]
}

fn usage(args: &[&str], files: &[String]) -> Output {
    let mut all: Vec<&str> = vec!["usage"];
    all.extend_from_slice(args);
    all.extend(files.iter().map(String::as_str));
    Command::new(idc_guard_bin())
        .args(&all)
        .current_dir(repo_root())
        .env_remove("IDC_GUARD_POLICY")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn row(user: &str, set: &str, account: &str, at: &str, channel: &str, id: &str) -> Value {
    json!({
        "user_id": user, "permission_set": set, "account_id": account,
        "last_used": at, "channel": channel, "event_id": id,
    })
}

/// Every key's latest use: the late, older record and the duplicate change nothing, the failed
/// call and the unrelated event count for nothing, fractional seconds are dropped.
fn expected_rows() -> Vec<Value> {
    vec![
        row(
            ALICE,
            "PlatformEngineer",
            "333333333333",
            "2026-03-12T09:30:00Z",
            "credentials",
            "e2",
        ),
        row(BOB, "ReadOnly", "444444444444", "2026-03-11T12:00:00Z", "console", "e3"),
        row(
            DAVE,
            "PlatformEngineer",
            "333333333333",
            "2026-02-20T16:00:00Z",
            "console",
            "e7",
        ),
        row(
            ERIN,
            "ReadOnly",
            "555555555555",
            "2026-03-14T18:45:10Z",
            "credentials",
            "e8",
        ),
    ]
}

#[test]
fn json_rows_are_the_last_use_of_each_user_set_and_account() {
    let o = usage(&["--format", "json"], &logs(false));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(rows, Value::Array(expected_rows()));
    assert!(
        stderr(&o).contains("idc-guard usage: 10 records read, 8 uses (4 user/permission set/account)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn csv_rows_are_the_same_with_a_header() {
    let o = usage(&["--format", "csv"], &logs(false));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut expected = String::from("user_id,permission_set,account_id,last_used,channel,event_id\n");
    for r in expected_rows() {
        let cells: Vec<&str> = [
            "user_id",
            "permission_set",
            "account_id",
            "last_used",
            "channel",
            "event_id",
        ]
        .iter()
        .map(|c| r[*c].as_str().unwrap())
        .collect();
        expected.push_str(&cells.join(","));
        expected.push('\n');
    }
    assert_eq!(stdout(&o), expected);
}

#[test]
fn a_malformed_use_is_reported_with_its_place_and_exits_2_while_the_rest_are_counted() {
    let files = logs(true);
    for format in ["json", "csv", "table"] {
        let o = usage(&["--format", format], &files);
        assert_eq!(o.status.code(), Some(2), "{format}: {}", stderr(&o));
        let err = stderr(&o);
        let bad: Vec<&str> = err.lines().filter(|l| l.contains(": record ")).collect();
        assert_eq!(
            bad,
            [format!(
                "{}: record 6: serviceEventDetails.account_id: \"12345\" is not a 12-digit AWS account id",
                files[0]
            )],
            "{err}"
        );
        assert!(err.contains(", 1 unreadable records"), "{err}");
        if format == "json" {
            let rows: Value = serde_json::from_str(&stdout(&o)).unwrap();
            assert_eq!(rows, Value::Array(expected_rows()), "the other records still count");
        }
    }
}

#[test]
fn since_leaves_out_the_uses_before_its_day() {
    let o = usage(&["--format", "json", "--since", "2026-03-05"], &logs(false));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let expected: Vec<Value> = expected_rows().into_iter().filter(|r| r["user_id"] != DAVE).collect();
    assert_eq!(rows, Value::Array(expected));
    // Alice's late, older use and Dave's are before 2026-03-05.
    assert!(stderr(&o).contains("2 before --since left out"), "{}", stderr(&o));
    // Its day starts at midnight UTC: a use at 16:00 on the day itself counts.
    let o = usage(&["--format", "csv", "--since", "2026-02-20"], &logs(false));
    assert!(stdout(&o).contains(DAVE), "{}", stdout(&o));
    let o = usage(&["--since", "2026-02-30"], &logs(false));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not a date"), "{}", stderr(&o));
}

#[test]
fn the_table_is_for_people_and_other_identity_stores_can_be_left_out() {
    let files = logs(false);
    let o = usage(&[], &files);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("USER ID"), "{text}");
    assert!(
        lines[1].starts_with(ALICE)
            && lines[1].contains("PlatformEngineer")
            && lines[1].contains("2026-03-12T09:30:00Z"),
        "{text}"
    );
    // The fixtures' users are in d-9067a1b2c3: another store's filter leaves all of them out.
    let o = usage(&["--format", "json", "--identity-store-id", "d-90670000ff"], &files);
    assert_eq!(stdout(&o), "[]\n");
    assert!(
        stderr(&o).contains("8 of other identity stores left out"),
        "{}",
        stderr(&o)
    );
    let o = usage(&["--format", "json", "--identity-store-id", "d-9067a1b2c3"], &files);
    let rows: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(rows, Value::Array(expected_rows()));
}

#[test]
fn a_missing_file_exits_2_and_the_others_are_still_read() {
    let mut files = logs(false);
    files.insert(0, scratch().join("no-such-file.json").display().to_string());
    let o = usage(&["--format", "json"], &files);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no-such-file.json: "), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 files could not be read"), "{}", stderr(&o));
    let rows: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(rows, Value::Array(expected_rows()));
}

// ---- --live, against the emulator ------------------------------------------------------------

/// A use by `user` of the emulator's identity store `store`.
fn use_in(store: &str, event: &str, user: &str, set: &str, account: &str, time: &str, id: &str) -> Value {
    let mut r = record(event, user, set, account, time, id);
    r["userIdentity"]["onBehalfOf"]["identityStoreArn"] =
        json!(format!("arn:aws:identitystore::111111111111:identitystore/{store}"));
    r
}

/// The row of the assignment of `set` in `account` to `principal` (a name).
fn live_row<'a>(rows: &'a Value, principal: &str, set: &str, account: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["principal_name"] == principal && r["permission_set_name"] == set && r["account_id"] == account)
        .unwrap_or_else(|| panic!("no row for {principal} {set} {account}: {rows:#}"))
}

/// Group `eng` (alice, bob) holds `ReadOnly` in accounts A and B, carol `AdministratorAccess`
/// (privileged: a 30-day window) in A, group `ops` (dave) `ReadOnly` in A, created 20 days before
/// the last use in the logs (its creation is in them). The logs run from 110 days before that
/// last use (alice's first use, not her last): eng's ReadOnly in A was used by both members, in B
/// by nobody; carol's last use is 100 days old; a use by a user of another identity store is left
/// out.
#[tokio::test]
async fn live_joins_the_uses_onto_each_assignment_with_its_dormancy() {
    use aws_sdk_ssoadmin::types::PrincipalType;
    use idc_guard_tests::world::{PermissionSet, User, World};

    let w = World::builder()
        .organization(["a", "b"])
        .permission_set(PermissionSet::new("ReadOnly"))
        .permission_set(PermissionSet::new("AdministratorAccess"))
        .group("eng")
        .group("ops")
        .user(User::new("alice"))
        .user(User::new("bob"))
        .user(User::new("carol"))
        .user(User::new("dave"))
        .member("alice", "eng")
        .member("bob", "eng")
        .member("dave", "ops")
        .build()
        .await;
    let (a, b) = (w.accounts[0].clone(), w.accounts[1].clone());
    let (read_only, admin) = (w.set_arn("ReadOnly"), w.set_arn("AdministratorAccess"));
    w.assign(&a, read_only, PrincipalType::Group, w.group_id("eng")).await;
    w.assign(&b, read_only, PrincipalType::Group, w.group_id("eng")).await;
    w.assign(&a, admin, PrincipalType::User, w.user_id("carol")).await;
    w.assign(&a, read_only, PrincipalType::Group, w.group_id("ops")).await;

    let records = live_records(&w, &a, &b);
    let dir = scratch();
    let files = [log_file(&dir, "live.json.gz", &records)];
    let policy = w.policy_file("usage-live", |text| text);
    let live = |extra: &[&str]| {
        let mut args: Vec<&str> = vec!["usage", "--live", "--format", "json"];
        args.extend_from_slice(extra);
        args.extend(files.iter().map(String::as_str));
        Command::new(idc_guard_bin())
            .args(&args)
            .current_dir(&dir)
            .envs(w.aws_env())
            .env("IDC_GUARD_POLICY", policy.path())
            .env_remove("IDC_GUARD_STATE_TABLE")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    };

    let o = live(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)));
    assert_eq!(rows.as_array().unwrap().len(), 4, "{rows:#}");
    let used = live_row(&rows, "eng", "ReadOnly", &a);
    assert_eq!(used["principal_type"], "GROUP");
    assert_eq!(used["last_used"], "2026-11-20T12:00:00Z");
    assert_eq!(used["last_used_by_id"], w.user_id("bob"));
    assert_eq!(used["last_used_by"], "bob");
    assert_eq!(used["channel"], "credentials");
    assert_eq!(used["users"], 2);
    assert_eq!(used["dormancy"], "active");
    assert_eq!(used["window_days"], 90);
    assert_eq!(used["observed_since"], "2026-08-02T12:00:00Z");
    let unused = live_row(&rows, "eng", "ReadOnly", &b);
    assert_eq!((&unused["last_used"], &unused["users"]), (&Value::Null, &json!(0)));
    assert_eq!(
        unused["dormancy"], "dormant",
        "observed 100 days, unused for 90: {unused:#}"
    );
    let admin_row = live_row(&rows, "carol", "AdministratorAccess", &a);
    assert_eq!(admin_row["last_used"], "2026-08-12T12:00:00Z");
    assert_eq!(
        (&admin_row["window_days"], &admin_row["dormancy"]),
        (&json!(30), &json!("dormant"))
    );
    let new = live_row(&rows, "ops", "ReadOnly", &a);
    assert_eq!(
        new["observed_since"], "2026-10-31T12:00:00Z",
        "from its creation: {new:#}"
    );
    assert_eq!(new["dormancy"], "not-yet-observed");
    let err = stderr(&o);
    assert!(err.contains("1 of other identity stores left out"), "{err}");
    assert!(
        err.contains("observed from 2026-08-02T12:00:00Z to 2026-11-20T12:00:00Z"),
        "{err}"
    );

    // From 60 days before the last use: B's window is no longer observed whole, and carol's use
    // is before it.
    let o = live(&["--since", "2026-09-21"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(live_row(&rows, "eng", "ReadOnly", &b)["dormancy"], "not-yet-observed");
    assert!(stderr(&o).contains("2 before --since left out"), "{}", stderr(&o));
    let admin_row = live_row(&rows, "carol", "AdministratorAccess", &a);
    assert_eq!(
        (&admin_row["last_used"], &admin_row["dormancy"]),
        (&Value::Null, &json!("dormant"))
    );
}

/// The logs of [`live_joins_the_uses_onto_each_assignment_with_its_dormancy`]: the uses, and the
/// creation of ops's assignment.
fn live_records(w: &idc_guard_tests::world::World, a: &str, b: &str) -> [Value; 6] {
    let store = w.store.clone();
    let read_only = w.set_arn("ReadOnly");
    let mut created = fixture("sso.CreateAccountAssignment-group-compliant.json")["detail"].clone();
    created["eventTime"] = json!("2026-10-31T12:00:00Z");
    created["requestParameters"]["instanceArn"] = json!(w.instance);
    created["requestParameters"]["targetId"] = json!(a);
    created["requestParameters"]["permissionSetArn"] = json!(read_only);
    created["requestParameters"]["principalId"] = json!(w.group_id("ops"));
    [
        use_in(
            &store,
            "GetRoleCredentials",
            w.user_id("carol"),
            "AdministratorAccess",
            a,
            "2026-08-12T12:00:00Z",
            "c1",
        ),
        use_in(
            &store,
            "Federate",
            w.user_id("alice"),
            "ReadOnly",
            a,
            "2026-11-10T12:00:00Z",
            "a1",
        ),
        created,
        // Alice's first use, the earliest in the logs though not her last.
        use_in(
            &store,
            "GetRoleCredentials",
            w.user_id("alice"),
            "ReadOnly",
            a,
            "2026-08-02T12:00:00Z",
            "a0",
        ),
        use_in(
            &store,
            "GetRoleCredentials",
            w.user_id("bob"),
            "ReadOnly",
            a,
            "2026-11-20T12:00:00Z",
            "b1",
        ),
        use_in(
            "d-90670000ff",
            "GetRoleCredentials",
            w.user_id("alice"),
            "ReadOnly",
            b,
            "2026-11-15T12:00:00Z",
            "x1",
        ),
    ]
}
