//! Mutated and random input to the decoder, the record reader and the policy parser: errors,
//! never panics; and bad input gets an error naming what is wrong.
//!
//! A panic anywhere fails the test that provoked it; the structured sweeps print which mutation
//! was being checked when one does.

use std::fmt::Write as _;
use std::io::{Cursor, Read};
use std::sync::OnceLock;

use idc_guard::domain::Date;
use idc_guard::engine::{check, check_json};
use idc_guard::event::{self, DecodeError, RecordReader};
use idc_guard::policy::{Mode, Policy, PolicyError, Severity};
use idc_guard::rules::session_duration_cap::{self, SessionDurationCap};
use idc_guard::rules::{self, RULES};
use idc_guard_tests::{fixture_policy, fixtures, repo_root};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Shared inputs, loaded once.

/// The fixture policy, parsed once for the whole file.
fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(fixture_policy)
}

/// Every fixture as (file name, text).
fn fixture_texts() -> &'static [(String, String)] {
    static TEXTS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        fixtures()
            .into_iter()
            .map(|path| {
                let name = path
                    .file_name()
                    .expect("a fixture file name")
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&path).expect("a readable fixture");
                (name, text)
            })
            .collect()
    })
}

fn fixture(name: &str) -> &'static str {
    fixture_texts()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t.as_str())
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

/// The shipped `guardrail.toml`.
fn shipped_policy_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        std::fs::read_to_string(repo_root().join("policy/guardrail.toml")).expect("the shipped guardrail.toml")
    })
}

fn today() -> Date {
    Date::new(2026, 6, 1).expect("a calendar date")
}

fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // Shrunk failures are printed; no regression files are written next to the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Names the input being checked if the check panics, so a panic says which mutation caused it.
struct PanicContext<'a>(&'a dyn Fn() -> String);

impl Drop for PanicContext<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("panicked while checking: {}", (self.0)());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decoder: the shared checks.

/// Decodes `text` and checks it through the engine: neither panics, both agree, and an error
/// says what is wrong. Returns the decoder's result.
fn decode_and_check(text: &str) -> Result<event::Decoded, DecodeError> {
    decode_then_check(text, true)
}

/// As [`decode_and_check`], for the sweeps: `check_json` runs only when `full`; otherwise an
/// accepted record goes through `engine::check` (what `check_json` does after decoding), which
/// spares a second decode of every one of the sweep's tens of thousands of inputs.
fn decode_then_check(text: &str, full: bool) -> Result<event::Decoded, DecodeError> {
    let decoded = event::decode(text);
    if full {
        let checked = check_json(policy(), text, today());
        match (&decoded, &checked) {
            (Ok(_), Ok(_)) => {}
            (Err(d), Err(c)) => assert_eq!(d, c, "decode and check_json report different errors"),
            (d, c) => panic!("decode and check_json disagree: {:?} vs {:?}", d.is_ok(), c.is_ok()),
        }
    } else if let Ok(d) = &decoded {
        let _ = check(policy(), d.clone(), today());
    }
    if let Err(e) = &decoded {
        assert!(!e.message.trim().is_empty(), "an error without a message: {e:?}");
        assert!(!e.to_string().trim().is_empty());
    }
    decoded
}

/// Whether an error names `field` (a dotted path): its path is the field or lies below it, or
/// its path lies above the field and its message names the field's key (`missing field `x``).
fn names_field(e: &DecodeError, field: &str) -> bool {
    let p = e.path.as_str();
    let at_or_below = p == field || p.starts_with(&format!("{field}.")) || p.starts_with(&format!("{field}["));
    let above = p.is_empty() || field.starts_with(&format!("{p}.")) || field.starts_with(&format!("{p}["));
    let key = field.rsplit(['.', '[']).next().unwrap_or(field);
    at_or_below || (above && e.message.contains(&format!("`{key}`")))
}

// ---------------------------------------------------------------------------------------------
// 1. Structured mutations of every fixture.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// A path as the decoder writes it: `detail.requestParameters.principalType`, `a.b[0].c`.
fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => {
                let _ = write!(s, "[{i}]");
            }
        }
    }
    s
}

/// Every path in a JSON tree (objects' keys and arrays' indices), parents before children.
fn all_paths(value: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match value {
        Value::Object(map) => {
            for (k, child) in map {
                prefix.push(Seg::Key(k.clone()));
                out.push(prefix.clone());
                all_paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                prefix.push(Seg::Index(i));
                out.push(prefix.clone());
                all_paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn get_mut<'a>(root: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(root, |v, seg| match seg {
        Seg::Key(k) => v.get_mut(k.as_str()),
        Seg::Index(i) => v.get_mut(*i),
    })
}

/// Removes the key or array element at `path`.
fn delete_at(root: &mut Value, path: &[Seg]) {
    let (last, parent) = path.split_last().expect("a path below the root");
    match (get_mut(root, parent), last) {
        (Some(Value::Object(map)), Seg::Key(k)) => {
            map.remove(k);
        }
        (Some(Value::Array(items)), Seg::Index(i)) => {
            items.remove(*i);
        }
        _ => panic!("no {} to delete", path_string(path)),
    }
}

fn replace_at(root: &mut Value, path: &[Seg], value: Value) {
    *get_mut(root, path).unwrap_or_else(|| panic!("no {}", path_string(path))) = value;
}

/// `depth` nested arrays: `[[[…]]]`.
fn deep_array(depth: usize) -> Value {
    (1..depth).fold(json!([]), |inner, _| Value::Array(vec![inner]))
}

/// The values every path is replaced with, with a label for messages.
fn replacements() -> Vec<(&'static str, Value)> {
    vec![
        ("null", Value::Null),
        ("42", json!(42)),
        ("true", json!(true)),
        ("empty string", json!("")),
        ("redacted", json!("HIDDEN_DUE_TO_SECURITY_REASONS")),
        ("empty array", json!([])),
        ("empty object", json!({})),
        (
            "10k-char string",
            Value::String(format!("\u{e9}\u{1f600}\"\\{}\u{0}", "x".repeat(9_995))),
        ),
        ("200-deep array", deep_array(200)),
    ]
}

/// Fields the decoder reads in the fixtures. When a mutation of one is rejected, the error must
/// name it.
const READ_FIELDS: &[&str] = &[
    "detail-type",
    "detail",
    "detail.eventVersion",
    "detail.eventSource",
    "detail.eventName",
    "detail.eventID",
    "detail.eventTime",
    "detail.awsRegion",
    "detail.recipientAccountId",
    "detail.requestID",
    "detail.sharedEventID",
    "detail.userAgent",
    "detail.userIdentity",
    "detail.userIdentity.type",
    "detail.userIdentity.arn",
    "detail.userIdentity.accountId",
    "detail.userIdentity.userName",
    "detail.userIdentity.invokedBy",
    "detail.userIdentity.sessionContext",
    "detail.userIdentity.sessionContext.sessionIssuer",
    "detail.userIdentity.sessionContext.sessionIssuer.arn",
    "detail.userIdentity.sessionContext.sessionIssuer.userName",
    "detail.userIdentity.onBehalfOf",
    "detail.userIdentity.onBehalfOf.userId",
    "detail.userIdentity.onBehalfOf.identityStoreArn",
    "detail.requestParameters",
    "detail.requestParameters.instanceArn",
    "detail.requestParameters.permissionSetArn",
    "detail.requestParameters.principalType",
    "detail.requestParameters.principalId",
    "detail.requestParameters.targetId",
    "detail.requestParameters.targetType",
    "detail.requestParameters.sessionDuration",
    "detail.requestParameters.name",
    "detail.requestParameters.managedPolicyArn",
    "detail.requestParameters.customerManagedPolicyReference",
    "detail.requestParameters.customerManagedPolicyReference.name",
    "detail.requestParameters.permissionsBoundary",
    "detail.requestParameters.identityStoreId",
    "detail.requestParameters.resourceArn",
    "detail.requestParameters.instanceAccessControlAttributeConfiguration",
    "detail.requestParameters.instanceAccessControlAttributeConfiguration.accessControlAttributes",
    "detail.responseElements.permissionSet",
    "detail.responseElements.permissionSet.permissionSetArn",
];

/// Required strings of every CloudTrail record: any non-string there is an error.
const REQUIRED_STRINGS: &[&str] = &["detail.eventID", "detail.eventName", "detail.eventSource"];

#[derive(Default)]
struct SweepStats {
    cases: usize,
    errors: usize,
    failures: Vec<String>,
}

/// Where a mutation's value goes: the fixture serialised with this string at the mutated path.
const SLOT: &str = "\u{1}idc-guard-robustness-slot\u{1}";

/// The compact text of `root` with `SLOT` at `path`, split around the slot.
fn split_at_slot(root: &mut Value, path: &[Seg], slot_json: &str) -> (String, String) {
    let target = get_mut(root, path).expect("a path in the tree");
    let saved = std::mem::replace(target, Value::String(SLOT.to_owned()));
    let text = root.to_string();
    *get_mut(root, path).expect("a path in the tree") = saved;
    let (before, after) = text.split_once(slot_json).expect("the slot in the text");
    (before.to_owned(), after.to_owned())
}

/// The compact text without the member or element at the slot `split_at_slot` cut out.
fn text_without_slot(before: &str, after: &str, last: &Seg) -> String {
    let before = match last {
        Seg::Key(k) => before
            .strip_suffix(&format!("{}:", Value::String(k.clone())))
            .expect("the member's key before the slot"),
        Seg::Index(_) => before,
    };
    if let Some(b) = before.strip_suffix(',') {
        format!("{b}{after}")
    } else if let Some(a) = after.strip_prefix(',') {
        format!("{before}{a}")
    } else {
        format!("{before}{after}")
    }
}

/// Applies every mutation to every path of one event (or, `raw`, of the CloudTrail record in
/// its `detail`, decoded without the envelope).
fn sweep_fixture(name: &str, text: &str, raw: bool, stats: &mut SweepStats) {
    let event: Value = serde_json::from_str(text).expect("a JSON fixture");
    let is_api_call = event["detail-type"] == event::API_CALL_DETAIL_TYPE;
    let mut original = if raw { event["detail"].clone() } else { event };
    let mut paths = Vec::new();
    all_paths(&original, &mut Vec::new(), &mut paths);
    // Serialised once; each mutation is spliced into the fixture's text.
    let replacements: Vec<(&str, Value, String)> = replacements()
        .into_iter()
        .map(|(label, v)| {
            let text = v.to_string();
            (label, v, text)
        })
        .collect();
    let slot = Value::String(SLOT.to_owned()).to_string();
    for path in &paths {
        let field = path_string(path);
        // The field's name in the envelope, as READ_FIELDS lists it.
        let logical = if raw { format!("detail.{field}") } else { field.clone() };
        let (before, after) = split_at_slot(&mut original, path, &slot);
        let deleted = text_without_slot(&before, &after, path.last().expect("a path below the root"));
        let mutations = std::iter::once(("deleted", None, deleted)).chain(
            replacements
                .iter()
                .map(|(label, v, text)| (*label, Some(v), format!("{before}{text}{after}"))),
        );
        for (label, replacement, input) in mutations {
            let describe = || format!("{name}{}: {field} {label}", if raw { " (raw record)" } else { "" });
            let _context = PanicContext(&describe);
            stats.cases += 1;
            // check_json on one input in sixteen; the engine on every accepted one.
            let result = decode_then_check(&input, stats.cases.is_multiple_of(16));
            let Err(e) = result else {
                let must_fail = is_api_call
                    && REQUIRED_STRINGS.contains(&logical.as_str())
                    && !matches!(replacement, Some(Value::String(_)));
                if must_fail {
                    stats.failures.push(format!("{}: accepted", describe()));
                }
                continue;
            };
            stats.errors += 1;
            if READ_FIELDS.contains(&logical.as_str()) && !names_field(&e, &field) {
                let mut message = e.message.clone();
                message.truncate(200);
                stats.failures.push(format!(
                    "{}: error does not name the field: {:?}: {message}",
                    describe(),
                    e.path
                ));
            }
        }
    }
}

#[test]
fn spliced_mutations_equal_mutations_of_the_parsed_fixture() {
    let mut original: Value = serde_json::from_str(fixture(CREATE_PS)).unwrap();
    let slot = Value::String(SLOT.to_owned()).to_string();
    let mut paths = Vec::new();
    all_paths(&original, &mut Vec::new(), &mut paths);
    for path in &paths {
        let (before, after) = split_at_slot(&mut original, path, &slot);
        let mut deleted = original.clone();
        delete_at(&mut deleted, path);
        let spliced: Value = serde_json::from_str(&text_without_slot(&before, &after, path.last().unwrap())).unwrap();
        assert_eq!(spliced, deleted, "{}", path_string(path));
        let mut replaced = original.clone();
        replace_at(&mut replaced, path, json!([1, {"a": null}]));
        let spliced: Value = serde_json::from_str(&format!("{before}[1,{{\"a\":null}}]{after}")).unwrap();
        assert_eq!(spliced, replaced, "{}", path_string(path));
    }
}

/// Sweeps fixtures on every core.
fn sweep(fixtures: &[&(String, String)], raw: bool) -> SweepStats {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(8));
    let per_worker = fixtures.len().div_ceil(workers).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = fixtures
            .chunks(per_worker)
            .map(|chunk| {
                s.spawn(move || {
                    let mut stats = SweepStats::default();
                    for &(name, text) in chunk {
                        sweep_fixture(name, text, raw, &mut stats);
                    }
                    stats
                })
            })
            .collect();
        let mut total = SweepStats::default();
        for handle in handles {
            let stats = handle.join().expect("a sweep worker panicked");
            total.cases += stats.cases;
            total.errors += stats.errors;
            total.failures.extend(stats.failures);
        }
        total
    })
}

#[test]
fn every_fixture_with_any_field_deleted_or_retyped_decodes_or_errors_naming_the_field() {
    let stats = sweep(&fixture_texts().iter().collect::<Vec<_>>(), false);
    assert!(
        fixture_texts().len() >= 60,
        "fixtures missing: {}",
        fixture_texts().len()
    );
    assert_sweep(&stats, 20_000, 1_000);
}

/// A sweep tried enough mutations, rejected enough of them, and misreported none.
#[track_caller]
fn assert_sweep(stats: &SweepStats, min_cases: usize, min_errors: usize) {
    assert!(stats.cases > min_cases, "only {} mutations", stats.cases);
    assert!(
        stats.errors > min_errors,
        "only {} of {} mutations rejected",
        stats.errors,
        stats.cases
    );
    assert!(
        stats.failures.is_empty(),
        "{} of {} mutations misreported, e.g.:\n{}",
        stats.failures.len(),
        stats.cases,
        stats.failures.iter().take(25).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// One explicit mutation and the error it must produce.
struct Expect {
    fixture: &'static str,
    /// Dotted; numbers are array indices.
    path: &'static str,
    /// `None`: delete the key.
    value: Option<Value>,
    /// The error path must end with this.
    path_ends_with: &'static str,
    /// The message must contain this.
    message_contains: &'static str,
}

/// `text` with the value at a dotted `path` replaced, or (`None`) deleted.
fn mutate(text: &str, path: &str, value: Option<Value>) -> String {
    let mut root: Value = serde_json::from_str(text).expect("a JSON fixture");
    let segs: Vec<Seg> = path
        .split('.')
        .map(|s| s.parse().map_or_else(|_| Seg::Key(s.to_owned()), Seg::Index))
        .collect();
    match value {
        None => delete_at(&mut root, &segs),
        Some(v) => replace_at(&mut root, &segs, v),
    }
    root.to_string()
}

const ASSIGNMENT: &str = "sso.CreateAccountAssignment-user-violation.json";
const CREATE_PS: &str = "sso.CreatePermissionSet-long-session-violation.json";

/// The explicit mutations, one a line under the fixture they apply to:
/// `path | value | the error path ends with | the message contains`. The path is dotted (numbers
/// are array indices); the value is JSON, or `-` to delete the key; `#` starts a comment.
const EXPLICIT_CASES: &str = r#"
sso.CreateAccountAssignment-user-violation.json:
    detail.requestParameters.principalType | "ROBOT" | detail.requestParameters.principalType | ROBOT
    detail.requestParameters.permissionSetArn | "nope" | permissionSetArn | nope
    detail.requestParameters.targetId | "12" | targetId | 12
    detail.requestParameters.targetType | "ORGANIZATION" | detail.requestParameters.targetType | ORGANIZATION
    detail.requestParameters.principalId | "" | detail.requestParameters.principalId |
    # A valid ARN, but the permission set belongs to another instance.
    detail.requestParameters.instanceArn | "arn:aws:sso:::instance/ssoins-99990000aaaabbbb" | detail.requestParameters.permissionSetArn | does not belong
    detail.eventID | - | detail | eventID
    detail.eventName | 7 | detail.eventName |
    detail.eventVersion | "2.0" | eventVersion | 2.0
    detail.userIdentity | - | detail.userIdentity | missing
    detail.userIdentity.sessionContext | "AWSReservedSSO_Admin_1" | detail.userIdentity.sessionContext |
    detail | - | detail | missing
    detail-type | - |  | detail-type
sso.CreatePermissionSet-long-session-violation.json:
    detail.requestParameters.sessionDuration | "PT" | sessionDuration | PT
    detail.responseElements | - | permissionSet.permissionSetArn | missing
sso.UpdatePermissionSet-long-session-violation.json:
    detail.requestParameters.sessionDuration | "8 hours" | detail.requestParameters.sessionDuration | 8 hours
    detail.requestParameters.permissionSetArn | "arn:aws:sso:::permissionSet/ssoins-7223b1c4d5e6f708/nope" | detail.requestParameters.permissionSetArn |
identitystore.DeleteUser-violation.json:
    detail.requestParameters.identityStoreId | "d-123" | detail.requestParameters.identityStoreId | d-123
sso.CreateInstanceAccessControlAttributeConfiguration-compliant.json:
    detail.requestParameters.instanceAccessControlAttributeConfiguration.accessControlAttributes.1.value.source | ["${path:a}", "${path:b}"] | accessControlAttributes[1].value.source | exactly one
sso.ProvisionPermissionSet-compliant.json:
    detail.requestParameters.targetType | "AWS_ACCOUNT" | detail.requestParameters.targetId | missing
"#;

fn explicit_decode_cases() -> Vec<Expect> {
    let mut fixture = "";
    let mut cases = Vec::new();
    for line in EXPLICIT_CASES.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_suffix(':') {
            fixture = name;
            continue;
        }
        let columns: Vec<&'static str> = line.split('|').map(str::trim).collect();
        let [path, value, path_ends_with, message_contains] = columns[..] else {
            panic!("EXPLICIT_CASES: not four columns: {line}");
        };
        cases.push(Expect {
            fixture,
            path,
            value: (value != "-").then(|| serde_json::from_str(value).expect("a JSON value")),
            path_ends_with,
            message_contains,
        });
    }
    cases
}

#[test]
fn explicit_bad_fields_are_errors_whose_path_names_the_field() {
    for case in explicit_decode_cases() {
        let label = format!("{} {:?} = {:?}", case.fixture, case.path, case.value);
        let input = mutate(fixture(case.fixture), case.path, case.value);
        let e = decode_and_check(&input).expect_err(&label);
        assert!(
            e.path.ends_with(case.path_ends_with),
            "{label}: path {:?} does not end with {:?} ({})",
            e.path,
            case.path_ends_with,
            e.message
        );
        assert!(
            e.message.contains(case.message_contains),
            "{label}: message {:?} lacks {:?}",
            e.message,
            case.message_contains
        );
        // The display form leads with the path.
        assert!(e.to_string().starts_with(&e.path), "{label}: {e}");
    }
}

#[test]
fn retyped_arns_in_flattened_requests_are_errors_naming_the_field() {
    // Every event shape whose request flattens the (instance, permission set) pair.
    let shapes = [
        "sso.UpdatePermissionSet-long-session-violation.json",
        "sso.PutInlinePolicyToPermissionSet-compliant.json",
        "sso.AttachManagedPolicyToPermissionSet-compliant.json",
        "sso.AttachCustomerManagedPolicyReferenceToPermissionSet-compliant.json",
        "sso.PutPermissionsBoundaryToPermissionSet-compliant.json",
        "sso.ProvisionPermissionSet-compliant.json",
    ];
    let mut misreported = Vec::new();
    for shape in shapes {
        for field in ["instanceArn", "permissionSetArn"] {
            for value in [json!(null), json!(42), json!(true), json!([]), json!({})] {
                let path = format!("detail.requestParameters.{field}");
                let input = mutate(fixture(shape), &path, Some(value.clone()));
                let e = decode_and_check(&input).expect_err(shape);
                if !e.path.ends_with(field) && !e.message.contains(&format!("`{field}`")) {
                    misreported.push(format!("{shape}: {field} = {value}: {e}"));
                }
            }
        }
    }
    assert!(
        misreported.is_empty(),
        "{} errors do not name the field:\n{}",
        misreported.len(),
        misreported.join("\n")
    );
}

#[test]
fn raw_cloudtrail_records_report_paths_without_the_detail_prefix() {
    let event: Value = serde_json::from_str(fixture(ASSIGNMENT)).unwrap();
    let mut record = event["detail"].clone();
    assert!(decode_and_check(&record.to_string()).is_ok());
    record["requestParameters"]["principalType"] = json!("ROBOT");
    let e = decode_and_check(&record.to_string()).unwrap_err();
    assert_eq!(e.path, "requestParameters.principalType");
    record.as_object_mut().unwrap().remove("eventID");
    let e = decode_and_check(&record.to_string()).unwrap_err();
    assert_eq!(e.path, "");
    assert!(e.message.contains("eventID"), "{e}");
}

#[test]
fn raw_records_with_any_field_deleted_or_retyped_decode_or_error_naming_the_field() {
    let sample: Vec<_> = fixture_texts().iter().step_by(8).collect();
    let stats = sweep(&sample, true);
    assert_sweep(&stats, 2_500, 500);
}

// ---------------------------------------------------------------------------------------------
// 2. Random bytes and text: the decoder and the record reader.

/// Every item a reader yields. Each record (and each bad one) consumes at least one byte, so a
/// reader yielding more than `limit` items is not making progress. After a bad record the reader
/// resumes at the next record boundary the format allows (issue #13), so errors may be followed
/// by more records; each error says where it was found.
fn drain<R: Read>(reader: RecordReader<R>, limit: usize) -> Vec<Result<String, String>> {
    let items: Vec<_> = reader.take(limit + 1).map(|r| r.map_err(|e| e.to_string())).collect();
    assert!(items.len() <= limit, "the reader yielded more than {limit} items");
    for (i, item) in items.iter().enumerate() {
        match item {
            Ok(record) => {
                let _ = decode_and_check(record);
            }
            Err(message) => {
                let placed = message
                    .strip_prefix("byte ")
                    .and_then(|m| m.split_once(": "))
                    .is_some_and(|(n, why)| n.parse::<u64>().is_ok() && !why.trim().is_empty());
                // A read error (a corrupt gzip stream) has no place in the records and ends them.
                assert!(
                    placed || (i + 1 == items.len() && !message.trim().is_empty()),
                    "an error without its byte offset, or not the last: {message:?} in {items:?}"
                );
            }
        }
    }
    items
}

/// Splits `bytes` with both constructors and checks they agree on plain input.
fn read_plain(bytes: &[u8]) -> Vec<Result<String, String>> {
    let plain = drain(RecordReader::from_plain(Cursor::new(bytes.to_vec())), bytes.len() + 1);
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return plain;
    }
    let detected = RecordReader::new(Box::new(Cursor::new(bytes.to_vec()))).expect("sniffing reads from memory");
    let detected = drain(detected, bytes.len() + 1);
    assert_eq!(plain, detected, "from_plain and new disagree on plain input");
    plain
}

/// The CRC-32 gzip uses.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A gzip member holding `data` in stored (uncompressed) deflate blocks.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = u16::try_from(block.len()).expect("a stored block");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&u32::try_from(data.len()).expect("a small input").to_le_bytes());
    out
}

fn read_gzip(bytes: &[u8]) -> Vec<Result<String, String>> {
    let reader = RecordReader::new(Box::new(Cursor::new(bytes.to_vec()))).expect("sniffing reads from memory");
    drain(reader, 100_000)
}

/// A reader that hands out its bytes a few at a time and is sometimes interrupted, as pipes
/// and sockets are.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    /// Read sizes, used in turn; 0 is an `Interrupted` error.
    steps: Vec<usize>,
    call: usize,
    /// No interruption before this many bytes are out.
    calm_until: usize,
}

impl Trickle {
    fn new(data: Vec<u8>, steps: &[usize], calm_until: usize) -> Self {
        let mut steps = steps.to_vec();
        steps.push(1);
        Self {
            data,
            pos: 0,
            steps,
            call: 0,
            calm_until,
        }
    }
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let step = self.steps[self.call % self.steps.len()];
        self.call += 1;
        if step == 0 && self.pos >= self.calm_until {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        let n = step.max(1).min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Records in one of the layouts the reader accepts.
fn container(records: &[&str], layout: u8) -> Vec<u8> {
    match layout % 4 {
        0 => records.join("\n"),
        1 => records.concat(),
        2 => format!("[{}]", records.join(",")),
        _ => format!(
            "{{\"Records\":[{}], \"Digest\": {{\"k\": [1, \"]\"]}}}}",
            records.join(",\n")
        ),
    }
    .into_bytes()
}

fn parsed(records: &[Result<String, String>]) -> Vec<Value> {
    records
        .iter()
        .map(|r| serde_json::from_str(r.as_ref().expect("a record")).expect("a JSON record"))
        .collect()
}

#[test]
fn a_log_file_of_every_fixture_is_split_into_every_record_across_read_boundaries() {
    let texts: Vec<&str> = fixture_texts().iter().map(|(_, t)| t.as_str()).collect();
    let expected: Vec<Value> = texts.iter().map(|t| serde_json::from_str(t).unwrap()).collect();
    for layout in 0..4 {
        // Larger than the reader's 64 KiB chunk, so records straddle chunk boundaries.
        let bytes = container(&texts, layout);
        assert!(bytes.len() > 128 * 1024, "{}", bytes.len());
        let whole = read_plain(&bytes);
        assert_eq!(parsed(&whole), expected, "layout {layout}");
        let trickled = drain(
            RecordReader::from_plain(Trickle::new(bytes.clone(), &[1, 0, 7, 4096, 0, 3], 0)),
            bytes.len() + 1,
        );
        assert_eq!(trickled, whole, "layout {layout}, short and interrupted reads");
        let gzipped = read_gzip(&gzip_stored(&bytes));
        assert_eq!(gzipped, whole, "layout {layout}, gzipped");
    }
}

#[test]
fn an_interrupted_read_while_sniffing_for_gzip_is_retried_not_an_error() {
    let bytes = fixture(ASSIGNMENT).as_bytes().to_vec();
    // `Read` allows `Interrupted` at any call; the retry is the reader's job.
    let reader = RecordReader::new(Box::new(Trickle::new(bytes.clone(), &[0, 1, 0, 64], 0)))
        .expect("Interrupted while reading the magic bytes is retried");
    let items = drain(reader, bytes.len() + 1);
    assert_eq!(items.len(), 1, "{items:?}");
}

#[derive(Debug, Clone)]
enum ByteEdit {
    Truncate(Index),
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index),
}

fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        select(vec![
            b'{', b'}', b'[', b']', b'"', b'\\', b',', b':', b'\n', 0, 0x80, 0xc3, 0xff
        ]),
    ]
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        1 => any::<Index>().prop_map(ByteEdit::Truncate),
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, bit)| ByteEdit::Flip(i, bit)),
        3 => (any::<Index>(), interesting_byte()).prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        3 => any::<Index>().prop_map(ByteEdit::Delete),
    ]
}

fn apply_edits(bytes: &mut Vec<u8>, edits: &[ByteEdit]) {
    for edit in edits {
        if bytes.is_empty() {
            return;
        }
        match edit {
            ByteEdit::Truncate(i) => bytes.truncate(i.index(bytes.len())),
            ByteEdit::Flip(i, bit) => {
                let at = i.index(bytes.len());
                bytes[at] ^= 1 << bit;
            }
            ByteEdit::Insert(i, b) => {
                let at = i.index(bytes.len() + 1);
                bytes.insert(at, *b);
            }
            ByteEdit::Delete(i) => {
                let at = i.index(bytes.len());
                bytes.remove(at);
            }
        }
    }
}

/// JSON-ish token soup with the keys the decoder looks for, to reach past the first byte.
fn json_soup() -> impl Strategy<Value = String> {
    let tokens = vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\n",
        "\"",
        "\\",
        "null",
        "true",
        "1",
        "-0.5e9",
        "\"detail-type\"",
        "\"AWS API Call via CloudTrail\"",
        "\"detail\"",
        "\"eventSource\"",
        "\"sso.amazonaws.com\"",
        "\"identitystore.amazonaws.com\"",
        "\"eventName\"",
        "\"CreateAccountAssignment\"",
        "\"CreatePermissionSet\"",
        "\"eventID\"",
        "\"e-1\"",
        "\"eventVersion\"",
        "\"1.11\"",
        "\"userIdentity\"",
        "\"type\"",
        "\"AssumedRole\"",
        "\"requestParameters\"",
        "\"responseElements\"",
        "\"principalType\"",
        "\"USER\"",
        "\"Records\"",
        "\"\\u00e9\"",
        "\"\\ud800\"",
    ];
    vec(select(tokens), 0..60).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_text_is_decoded_or_rejected_never_a_panic(text in any::<String>()) {
        let _ = decode_and_check(&text);
        read_plain(text.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_are_decoded_or_rejected_never_a_panic(bytes in vec(any::<u8>(), 0..512)) {
        let _ = decode_and_check(&String::from_utf8_lossy(&bytes));
        read_plain(&bytes);
    }

    #[test]
    fn json_token_soup_is_decoded_or_rejected_never_a_panic(text in json_soup()) {
        let _ = decode_and_check(&text);
        read_plain(text.as_bytes());
    }

    #[test]
    fn fixtures_with_random_byte_edits_are_decoded_or_rejected_never_a_panic(
        which in any::<Index>(),
        edits in vec(byte_edit(), 1..8),
    ) {
        let (name, text) = which.get(fixture_texts());
        let mut bytes = text.as_bytes().to_vec();
        apply_edits(&mut bytes, &edits);
        let describe = || format!("{name} with {edits:?}");
        let _context = PanicContext(&describe);
        let _ = decode_and_check(&String::from_utf8_lossy(&bytes));
        read_plain(&bytes);
        // The same bytes as several concatenated records and as a log file.
        let mut log = b"{\"Records\":[".to_vec();
        log.extend_from_slice(text.as_bytes());
        log.push(b',');
        log.extend_from_slice(&bytes);
        log.extend_from_slice(b"]}");
        read_plain(&log);
    }

    #[test]
    fn short_and_interrupted_reads_split_edited_fixtures_exactly_as_whole_reads_do(
        picks in vec(any::<Index>(), 1..4),
        layout in any::<u8>(),
        edits in vec(byte_edit(), 0..3),
        steps in vec(0usize..9, 1..12),
    ) {
        let texts: Vec<&str> = picks.iter().map(|i| i.get(fixture_texts()).1.as_str()).collect();
        let mut bytes = container(&texts, layout);
        apply_edits(&mut bytes, &edits);
        let whole = read_plain(&bytes);
        if edits.is_empty() {
            let expected: Vec<Value> = texts.iter().map(|t| serde_json::from_str(t).unwrap()).collect();
            prop_assert_eq!(parsed(&whole), expected);
        }
        let limit = bytes.len() + 1;
        let trickled = drain(RecordReader::from_plain(Trickle::new(bytes.clone(), &steps, 0)), limit);
        prop_assert_eq!(&trickled, &whole);
        if !bytes.starts_with(&[0x1f, 0x8b]) {
            // Interruptions only after the magic bytes: see
            // `an_interrupted_read_while_sniffing_for_gzip_is_retried_not_an_error`.
            let sniffed = RecordReader::new(Box::new(Trickle::new(bytes.clone(), &steps, 2))).unwrap();
            prop_assert_eq!(&drain(sniffed, limit), &whole);
        }
        let gzipped = RecordReader::new(Box::new(Trickle::new(gzip_stored(&bytes), &steps, 2))).unwrap();
        prop_assert_eq!(&drain(gzipped, 100_000), &whole);
    }

    #[test]
    fn random_bytes_after_the_gzip_magic_are_an_error_not_a_panic(tail in vec(any::<u8>(), 0..512)) {
        let mut bytes = vec![0x1f, 0x8b];
        bytes.extend_from_slice(&tail);
        let items = read_gzip(&bytes);
        prop_assert!(items.iter().any(Result::is_err), "corrupt gzip accepted: {:?}", items);
    }

    #[test]
    fn random_deflate_data_after_a_valid_gzip_header_is_an_error_not_a_panic(
        tail in vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        bytes.extend_from_slice(&tail);
        let items = read_gzip(&bytes);
        prop_assert!(items.iter().any(Result::is_err), "corrupt gzip accepted: {:?}", items);
    }

    #[test]
    fn gzipped_fixtures_with_byte_edits_are_read_or_rejected_never_a_panic(
        which in any::<Index>(),
        edits in vec(byte_edit(), 1..4),
    ) {
        let (name, text) = which.get(fixture_texts());
        let mut bytes = gzip_stored(text.as_bytes());
        apply_edits(&mut bytes, &edits);
        let describe = || format!("gzipped {name} with {edits:?}");
        let _context = PanicContext(&describe);
        read_gzip(&bytes);
    }
}

#[test]
fn gzipped_fixtures_are_read_whole_and_truncated_ones_are_an_error() {
    for (name, text) in fixture_texts().iter().step_by(7) {
        let gz = gzip_stored(text.as_bytes());
        let items = read_gzip(&gz);
        assert_eq!(items.len(), 1, "{name}: {items:?}");
        let record = items[0].as_ref().unwrap();
        assert!(event::decode(record).is_ok(), "{name}");
        for cut in (2..gz.len()).step_by(97).chain([gz.len() - 1]) {
            let items = read_gzip(&gz[..cut]);
            assert!(
                items.last().is_some_and(Result::is_err),
                "{name} cut at {cut} of {}: {items:?}",
                gz.len()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. The policy parser: mutations of the shipped file and arbitrary text.

/// Parses `text` as `guardrail.toml`; checks a policy's invariants or an error's locations.
fn check_policy_text(text: &str) -> Result<Policy, PolicyError> {
    let describe = || format!("policy text {text:?}");
    let _context = PanicContext(&describe);
    let result = Policy::from_toml("guardrail.toml", text);
    match &result {
        Ok(policy) => {
            for rule in rules::ids() {
                assert!(
                    policy.effective_mode(rule) <= policy.mode,
                    "{} runs in {} above the global {}",
                    rule.as_str(),
                    policy.effective_mode(rule),
                    policy.mode
                );
            }
        }
        Err(e) => {
            assert!(!e.problems.is_empty(), "an error without problems");
            let lines: Vec<&str> = text.split('\n').collect();
            let max_line = text.lines().count() + 1;
            for p in &e.problems {
                assert_eq!(p.file, "guardrail.toml");
                assert!(!p.message.trim().is_empty(), "a problem without a message: {p:?}");
                assert!(
                    p.line >= 1 && p.line <= max_line,
                    "line out of range ({max_line} lines): {p:?}"
                );
                let line_chars = lines.get(p.line - 1).map_or(0, |l| l.chars().count());
                assert!(
                    p.column >= 1 && p.column <= line_chars + 1,
                    "column out of range (line has {line_chars} characters): {p:?}"
                );
            }
            assert!(e.to_string().starts_with("guardrail.toml:"), "{e}");
        }
    }
    result
}

/// Whether a line of the shipped file is a comment or blank.
fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// `key = value` lines outside multi-line arrays: (line index, key, value).
fn key_value_lines(text: &str) -> Vec<(usize, String, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with([' ', '#', '[']))
        .filter_map(|(i, l)| l.split_once(" = ").map(|(k, v)| (i, k.to_owned(), v.to_owned())))
        .collect()
}

#[test]
fn shipped_policy_with_a_line_deleted_or_duplicated_parses_or_reports_located_problems() {
    let text = shipped_policy_text();
    let shipped = check_policy_text(text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let kv_lines: Vec<usize> = key_value_lines(text).into_iter().map(|(i, _, _)| i).collect();
    for i in 0..lines.len() {
        let mut deleted = lines.clone();
        deleted.remove(i);
        let result = check_policy_text(&(deleted.join("\n") + "\n"));
        if is_comment_or_blank(lines[i]) {
            assert_eq!(result.as_ref().ok(), Some(&shipped), "deleting comment line {}", i + 1);
        }
        if lines[i].starts_with("mode = ") && !lines[..i].iter().any(|l| l.starts_with('[')) {
            let e = result.unwrap_err();
            assert!(
                e.problems.iter().any(|p| p.message.contains("missing key `mode`")),
                "{e}"
            );
        }

        let mut duplicated = lines.clone();
        duplicated.insert(i, lines[i]);
        let result = check_policy_text(&(duplicated.join("\n") + "\n"));
        if is_comment_or_blank(lines[i]) {
            assert_eq!(
                result.as_ref().ok(),
                Some(&shipped),
                "duplicating comment line {}",
                i + 1
            );
        }
        if kv_lines.contains(&i) || lines[i].starts_with('[') {
            // A key or table defined twice: reported at the second definition (line i + 2).
            let e = result.expect_err(lines[i]);
            assert!(
                e.problems.iter().any(|p| p.line == i + 2),
                "duplicate of line {} not reported on line {}: {e}",
                i + 1,
                i + 2
            );
        }
    }
}

#[test]
fn shipped_policy_truncated_at_every_seventh_offset_parses_or_reports_located_problems() {
    let text = shipped_policy_text();
    let mut errors = 0;
    for cut in (0..text.len()).step_by(7).filter(|&c| text.is_char_boundary(c)) {
        if check_policy_text(&text[..cut]).is_err() {
            errors += 1;
        }
    }
    // Truncation before `mode = ` leaves no mode.
    assert!(errors > 0);
    let e = check_policy_text("").unwrap_err();
    assert!(e.problems.iter().any(|p| p.message.contains("mode")), "{e}");
}

#[test]
fn shipped_policy_with_values_swapped_between_keys_parses_or_reports_located_problems() {
    let text = shipped_policy_text();
    let lines: Vec<&str> = text.lines().collect();
    let kvs = key_value_lines(text);
    assert!(kvs.len() >= 10, "{kvs:?}");
    let mut errors = 0;
    for (a, (ia, ka, va)) in kvs.iter().enumerate() {
        for (ib, kb, vb) in &kvs[a + 1..] {
            if va == vb {
                continue;
            }
            let mut swapped: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            swapped[*ia] = format!("{ka} = {vb}");
            swapped[*ib] = format!("{kb} = {va}");
            if check_policy_text(&(swapped.join("\n") + "\n")).is_err() {
                errors += 1;
            }
        }
    }
    assert!(errors > 0);
}

/// TOML-ish token soup from the policy's own vocabulary.
fn toml_soup() -> impl Strategy<Value = String> {
    let tokens = vec![
        "mode",
        "max",
        "privileged_max",
        "rule",
        "expires",
        "owner",
        "reason",
        "permission_sets",
        "accounts",
        "allowed",
        "boundary",
        "attributes",
        "exempt",
        "exempt_privileged",
        "severity",
        " = ",
        "=",
        "\n",
        " ",
        "\"enforce\"",
        "\"detect\"",
        "\"PT8H\"",
        "\"PT0S\"",
        "\"GROUP\"",
        "\"*Admin*\"",
        "\"\"",
        "\"",
        "'",
        "[",
        "]",
        "{",
        "}",
        ",",
        ".",
        "#",
        "true",
        "1",
        "2027-03-31",
        "2027-02-30",
        "[rules.session-duration-cap]",
        "[rules.nope]",
        "[[exceptions]]",
        "[instance]",
        "[permission_sets]",
        "[own_identity]",
        "[rules]",
        "\"assignment-principal-type\"",
        "\u{e9}",
        "\t",
        "\r\n",
    ];
    vec(select(tokens), 0..80).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_text_as_a_policy_parses_or_reports_located_problems(text in any::<String>()) {
        let _ = check_policy_text(&text);
    }

    #[test]
    fn toml_token_soup_as_a_policy_parses_or_reports_located_problems(text in toml_soup()) {
        let _ = check_policy_text(&text);
    }

    #[test]
    fn shipped_policy_with_random_byte_edits_parses_or_reports_located_problems(
        edits in vec(byte_edit(), 1..6),
    ) {
        let mut bytes = shipped_policy_text().as_bytes().to_vec();
        apply_edits(&mut bytes, &edits);
        let _ = check_policy_text(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn shipped_policy_with_a_random_value_replaced_parses_or_reports_located_problems(
        line in any::<Index>(),
        value in prop_oneof![
            Just("\"\"".to_owned()), Just("[]".to_owned()), Just("{}".to_owned()),
            Just("0".to_owned()), Just("true".to_owned()), Just("2027-13-01".to_owned()),
            Just("\"PT0S\"".to_owned()), Just("[\"\"]".to_owned()), Just("{ x = 1 }".to_owned()),
            "\"[a-zA-Z0-9*:/ _.-]{0,12}\"",
        ],
    ) {
        let text = shipped_policy_text();
        let kvs = key_value_lines(text);
        let (i, key, _) = line.get(&kvs);
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines[*i] = format!("{key} = {value}");
        let _ = check_policy_text(&(lines.join("\n") + "\n"));
    }
}

#[test]
fn three_independent_problems_are_reported_at_once_with_their_lines() {
    let text = "\
mode = \"enforse\"
colour = \"blue\"

[rules.session-duration-cap]
max = \"PT8\"
";
    let e = check_policy_text(text).unwrap_err();
    assert_eq!(e.problems.len(), 3, "{e}");
    let find = |path: &str| {
        e.problems
            .iter()
            .find(|p| p.path == path)
            .unwrap_or_else(|| panic!("no problem at {path:?}: {e}"))
    };
    let mode = find("mode");
    assert_eq!((mode.line, mode.column), (1, 8), "{e}");
    assert!(mode.message.contains("enforse"), "{e}");
    let unknown = find("");
    assert_eq!((unknown.line, unknown.column), (2, 1), "{e}");
    assert!(unknown.message.contains("`colour`"), "{e}");
    let max = find("rules.session-duration-cap.max");
    assert_eq!((max.line, max.column), (5, 7), "{e}");
    assert!(max.message.contains("PT8"), "{e}");
    // In file order.
    let lines: Vec<usize> = e.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [1, 2, 5]);
}

#[test]
fn an_unknown_key_in_a_rule_is_named_with_the_close_key_suggested() {
    let text = "\
mode = \"enforce\"

[rules.session-duration-cap]
privileged_maxx = \"PT1H\"
";
    let e = check_policy_text(text).unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    let p = &e.problems[0];
    assert_eq!((p.line, p.column), (4, 1), "{e}");
    assert_eq!(p.path, "rules.session-duration-cap");
    assert!(p.message.contains("`privileged_maxx`"), "{e}");
    assert!(p.message.contains("did you mean `privileged_max`"), "{e}");
}

#[test]
fn an_unknown_rule_is_named_with_the_close_rule_suggested() {
    let text = "mode = \"enforce\"\n[rules.session-duration-caps]\nmax = \"PT8H\"\n";
    let e = check_policy_text(text).unwrap_err();
    let p = &e.problems[0];
    assert_eq!(p.line, 2, "{e}");
    assert!(p.message.contains("`session-duration-caps`"), "{e}");
    assert!(p.message.contains("did you mean `session-duration-cap`"), "{e}");
}

#[test]
fn a_toml_syntax_error_is_reported_with_line_and_column() {
    let text = "\
mode = \"enforce\"

[rules.session-duration-cap]
max = PT8H
";
    let e = check_policy_text(text).unwrap_err();
    let p = e
        .problems
        .iter()
        .find(|p| p.message.starts_with("TOML syntax"))
        .unwrap_or_else(|| panic!("no syntax problem: {e}"));
    assert_eq!((p.line, p.column), (4, 7), "{e}");

    let e = check_policy_text("mode = \"enforce\"\n[rules\n").unwrap_err();
    let p = &e.problems[0];
    assert!(p.message.starts_with("TOML syntax"), "{e}");
    assert_eq!(p.line, 2, "{e}");
    assert!(p.column > 1, "{e}");
}

// ---------------------------------------------------------------------------------------------
// 4. Generated policies: random choices of known keys and plausible values.

/// A value to write, and whether the parser must accept it.
type Choice = (&'static str, bool);

const MODES: &[Choice] = &[
    ("\"enforce\"", true),
    ("\"detect\"", true),
    ("\"off\"", true),
    ("\"Enforce\"", false),
    ("\"on\"", false),
    ("\"\"", false),
    ("1", false),
];
const SEVERITIES: &[Choice] = &[
    ("\"low\"", true),
    ("\"medium\"", true),
    ("\"high\"", true),
    ("\"critical\"", true),
    ("\"severe\"", false),
    ("true", false),
];
/// With their seconds when valid.
const DURATIONS: &[(&str, Option<u64>)] = &[
    ("\"PT1H\"", Some(3600)),
    ("\"PT2H\"", Some(7200)),
    ("\"PT4H\"", Some(14_400)),
    ("\"PT8H\"", Some(28_800)),
    ("\"PT12H\"", Some(43_200)),
    ("\"PT90M\"", Some(5400)),
    ("\"PT1H30M\"", Some(5400)),
    ("\"PT3600S\"", Some(3600)),
    ("\"PT30M\"", None),
    ("\"PT13H\"", None),
    ("\"P1D\"", None),
    ("\"PT\"", None),
    ("\"8h\"", None),
    ("\"\"", None),
    ("8", None),
];
const PATTERNS: &[Choice] = &[
    ("\"*Admin*\"", true),
    ("\"BreakGlass*\"", true),
    ("\"Data_Eng\"", true),
    ("\"ops@team.example\"", true),
    ("\"a b\"", false),
    ("\"\"", false),
    ("\"x/y\"", false),
    ("3", false),
];
const PRINCIPAL_TYPES: &[Choice] = &[
    ("\"GROUP\"", true),
    ("\"USER\"", true),
    ("\"ROBOT\"", false),
    ("\"group\"", false),
];
const ACTIONS: &[Choice] = &[
    ("\"iam:*\"", true),
    ("\"s3:Get*\"", true),
    ("\"*\"", true),
    ("\"ec2:Describe?nstances\"", true),
    ("\"iam\"", false),
    ("\"iam:a:b\"", false),
    ("\":x\"", false),
    ("\"iam:Pass Role\"", false),
];
const POLICIES: &[Choice] = &[
    ("\"arn:aws:iam::aws:policy/ReadOnlyAccess\"", true),
    ("\"arn:aws-us-gov:iam::aws:policy/PowerUserAccess\"", true),
    ("\"arn:aws:iam::123456789012:policy/mine\"", false),
    ("\"nope\"", false),
];
const BOOLS: &[Choice] = &[("true", true), ("false", true), ("\"yes\"", false)];
/// With the suffix of the problem's path below `boundary` when invalid.
const BOUNDARIES: &[(&str, Option<&str>)] = &[
    ("{ customer_managed_policy = \"b\" }", None),
    ("{ customer_managed_policy = \"b\", path = \"/x/\" }", None),
    (
        "{ managed_policy_arn = \"arn:aws:iam::aws:policy/PowerUserAccess\" }",
        None,
    ),
    ("{ customer_managed_policy = \"b\", path = \"x\" }", Some(".path")),
    ("{ customer_managed_policy = \"\" }", Some(".customer_managed_policy")),
    ("{ managed_policy_arn = \"nope\" }", Some(".managed_policy_arn")),
    ("{}", Some("")),
    (
        "{ customer_managed_policy = \"b\", managed_policy_arn = \"arn:aws:iam::aws:policy/X\" }",
        Some(""),
    ),
    ("{ customer_managed_policy = \"b\", colour = \"red\" }", Some("")),
    ("\"platform-boundary\"", Some("")),
];
/// With the suffix of the problem's path below `attributes` when invalid.
const ATTRIBUTES: &[(&str, Option<&str>)] = &[
    ("{ team = \"${path:enterprise.department}\" }", None),
    ("{ team = \"${path:a}\", project = \"${path:b}\" }", None),
    ("{}", None),
    ("{ team = \"\" }", Some(".team")),
    ("{ team = 1 }", Some(".team")),
    ("[]", Some("")),
];
const ARNS: &[Choice] = &[
    ("\"arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708\"", true),
    ("\"arn:aws:sso:::instance/nope\"", false),
    ("42", false),
];
const STORE_IDS: &[Choice] = &[("\"d-9067a1b2c3\"", true), ("\"d-123\"", false)];
const ROLE_PREFIXES: &[Choice] = &[("\"idc-guard-\"", true), ("\"\"", false)];
const ROLE_ARNS: &[Choice] = &[
    ("\"arn:aws:iam::222222222222:role/idc-guard\"", true),
    ("\"terraform\"", false),
];
const RULE_NAMES: &[Choice] = &[
    ("\"assignment-principal-type\"", true),
    ("\"session-duration-cap\"", true),
    ("\"permissions-boundary-required\"", true),
    ("\"inline-policy-forbidden-actions\"", true),
    ("\"managed-policy-forbidden\"", true),
    ("\"abac-attributes-required\"", true),
    ("\"identity-store-scim-only\"", true),
    ("\"no-such-rule\"", false),
];
const ACCOUNTS: &[Choice] = &[
    ("\"333333333333\"", true),
    ("\"444444444444\"", true),
    ("\"12\"", false),
    ("\"33333333333a\"", false),
];
const PRINCIPALS: &[Choice] = &[("\"34887428-4081-7042-c3c6-928d413009e7\"", true), ("\"\"", false)];
const TEXTS: &[Choice] = &[
    ("\"security-audit\"", true),
    ("\"\"", false),
    ("\"   \"", false),
    ("7", false),
];
const EXPIRES: &[Choice] = &[
    ("2027-03-31", true),
    ("\"2027-03-31\"", true),
    ("2024-02-29", true),
    ("\"2027-02-30\"", false),
    ("2027-03-31T10:00:00", false),
    ("\"soon\"", false),
    ("20270331", false),
];

/// An index into a table whose valid entries come first, mostly valid ones.
fn pick(valid: usize, len: usize) -> impl Strategy<Value = usize> {
    prop_oneof![9 => 0..valid, 1 => 0..len]
}

fn pick_choice(table: &'static [Choice]) -> impl Strategy<Value = usize> {
    pick(table.iter().take_while(|c| c.1).count(), table.len())
}

fn pick_duration() -> impl Strategy<Value = usize> {
    pick(DURATIONS.iter().take_while(|d| d.1.is_some()).count(), DURATIONS.len())
}

fn pick_optional(table: &'static [(&'static str, Option<&'static str>)]) -> impl Strategy<Value = usize> {
    pick(table.iter().take_while(|d| d.1.is_none()).count(), table.len())
}

#[derive(Debug, Clone)]
struct RuleSpec {
    mode: Option<usize>,
    severity: Option<usize>,
    max: Option<usize>,
    privileged_max: Option<usize>,
    limits: Vec<(Vec<usize>, usize)>,
    /// `allowed`, `actions` or `policies`, by rule; indices modulo the rule's table.
    list: Option<Vec<usize>>,
    exempt: Option<Vec<usize>>,
    exempt_privileged: Option<usize>,
    boundary: Option<usize>,
    attributes: Option<usize>,
    unknown_key: bool,
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (
        option::of(pick_choice(MODES)),
        option::of(pick_choice(SEVERITIES)),
        option::of(pick_duration()),
        option::of(pick_duration()),
        vec((vec(pick_choice(PATTERNS), 0..3), pick_duration()), 0..3),
        option::of(vec(pick(2, 8), 0..4)),
        option::of(vec(pick_choice(PATTERNS), 0..3)),
        option::of(pick_choice(BOOLS)),
        option::of(pick_optional(BOUNDARIES)),
        option::of(pick_optional(ATTRIBUTES)),
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |(
                mode,
                severity,
                max,
                privileged_max,
                limits,
                list,
                exempt,
                exempt_privileged,
                boundary,
                attributes,
                unknown_key,
            )| {
                RuleSpec {
                    mode,
                    severity,
                    max,
                    privileged_max,
                    limits,
                    list,
                    exempt,
                    exempt_privileged,
                    boundary,
                    attributes,
                    unknown_key,
                }
            },
        )
}

#[derive(Debug, Clone)]
struct ExceptionSpec {
    rule: usize,
    permission_sets: Option<Vec<usize>>,
    accounts: Option<Vec<usize>>,
    principals: Option<Vec<usize>>,
    owner: Option<usize>,
    reason: Option<usize>,
    expires: Option<usize>,
}

fn exception_spec() -> impl Strategy<Value = ExceptionSpec> {
    (
        pick_choice(RULE_NAMES),
        option::of(vec(pick_choice(PATTERNS), 0..3)),
        option::of(vec(pick_choice(ACCOUNTS), 0..3)),
        option::weighted(0.2, vec(pick_choice(PRINCIPALS), 0..2)),
        option::weighted(0.95, pick_choice(TEXTS)),
        option::weighted(0.95, pick_choice(TEXTS)),
        option::weighted(0.95, pick_choice(EXPIRES)),
    )
        .prop_map(
            |(rule, permission_sets, accounts, principals, owner, reason, expires)| ExceptionSpec {
                rule,
                permission_sets,
                accounts,
                principals,
                owner,
                reason,
                expires,
            },
        )
}

/// Choices for a table of optional keys: which entry, if the key is written at all.
type Keys<T> = (Option<T>, Option<T>);

#[derive(Debug, Clone)]
struct PolicySpec {
    mode: Option<usize>,
    /// `arn`, `identity_store_id`.
    instance: Option<Keys<usize>>,
    /// `role_prefixes`, `role_arns`.
    own_identity: Option<Keys<Vec<usize>>>,
    privileged: Option<Vec<usize>>,
    rules: Vec<Option<RuleSpec>>,
    exceptions: Vec<ExceptionSpec>,
}

fn policy_spec() -> impl Strategy<Value = PolicySpec> {
    (
        option::weighted(0.95, pick_choice(MODES)),
        option::of((option::of(pick_choice(ARNS)), option::of(pick_choice(STORE_IDS)))),
        option::weighted(
            0.3,
            (
                option::of(vec(pick_choice(ROLE_PREFIXES), 0..2)),
                option::of(vec(pick_choice(ROLE_ARNS), 0..2)),
            ),
        ),
        option::of(vec(pick_choice(PATTERNS), 0..3)),
        vec(option::of(rule_spec()), RULES.len()),
        vec(exception_spec(), 0..3),
    )
        .prop_map(
            |(mode, instance, own_identity, privileged, rules, exceptions)| PolicySpec {
                mode,
                instance,
                own_identity,
                privileged,
                rules,
                exceptions,
            },
        )
}

/// A policy file built from a spec, with what the parser must make of it.
struct Rendered {
    text: String,
    /// Paths at which the parser must report a problem; empty: the policy is valid.
    bad_paths: Vec<String>,
    /// The 1-based line of each `[[exceptions]]` header.
    exception_lines: Vec<usize>,
}

struct Writer {
    text: String,
    bad_paths: Vec<String>,
}

impl Writer {
    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }

    fn lines_so_far(&self) -> usize {
        self.text.matches('\n').count()
    }

    /// `key = value` from a table of choices.
    fn choice(&mut self, key: &str, path: &str, choice: Choice) {
        self.line(&format!("{key} = {}", choice.0));
        if !choice.1 {
            self.bad_paths.push(path.to_owned());
        }
    }

    /// `key = [a, b]`; returns whether every element is valid.
    fn list(&mut self, key: &str, path: &str, items: &[Choice]) -> bool {
        let values: Vec<&str> = items.iter().map(|c| c.0).collect();
        self.line(&format!("{key} = [{}]", values.join(", ")));
        let mut ok = true;
        for (i, (_, valid)) in items.iter().enumerate() {
            if !valid {
                self.bad_paths.push(format!("{path}[{i}]"));
                ok = false;
            }
        }
        ok
    }
}

fn of(table: &'static [Choice], indices: &[usize]) -> Vec<Choice> {
    indices.iter().map(|&i| table[i % table.len()]).collect()
}

fn render(spec: &PolicySpec) -> Rendered {
    let mut w = Writer {
        text: String::from("# generated\n"),
        bad_paths: Vec::new(),
    };
    render_globals(&mut w, spec);
    for (rule, r) in rules::ids().zip(&spec.rules) {
        if let Some(r) = r {
            render_rule(&mut w, rule.as_str(), r);
        }
    }
    let exception_lines = spec
        .exceptions
        .iter()
        .enumerate()
        .map(|(i, e)| render_exception(&mut w, i, e))
        .collect();
    Rendered {
        text: w.text,
        bad_paths: w.bad_paths,
        exception_lines,
    }
}

/// The global mode and the `[instance]`, `[own_identity]` and `[permission_sets]` tables.
fn render_globals(w: &mut Writer, spec: &PolicySpec) {
    match spec.mode {
        Some(m) => w.choice("mode", "mode", MODES[m]),
        None => w.bad_paths.push(String::new()),
    }
    if let Some((arn, store)) = spec.instance {
        w.line("[instance]");
        if let Some(a) = arn {
            w.choice("arn", "instance.arn", ARNS[a]);
        }
        if let Some(s) = store {
            w.choice("identity_store_id", "instance.identity_store_id", STORE_IDS[s]);
        }
    }
    // Both lists may be empty (issue #13): the deployment passes its own roles' ARNs.
    if let Some((prefixes, arns)) = &spec.own_identity {
        w.line("[own_identity]");
        if let Some(p) = prefixes {
            w.list("role_prefixes", "own_identity.role_prefixes", &of(ROLE_PREFIXES, p));
        }
        if let Some(a) = arns {
            w.list("role_arns", "own_identity.role_arns", &of(ROLE_ARNS, a));
        }
    }
    if let Some(p) = &spec.privileged {
        w.line("[permission_sets]");
        w.list("privileged", "permission_sets.privileged", &of(PATTERNS, p));
    }
}

/// One `[rules.<rule>]` table.
fn render_rule(w: &mut Writer, rule: &str, r: &RuleSpec) {
    let base = format!("rules.{rule}");
    let at = |key: &str| format!("{base}.{key}");
    w.line(&format!("[{base}]"));
    if let Some(m) = r.mode {
        w.choice("mode", &at("mode"), MODES[m]);
    }
    if let Some(s) = r.severity {
        w.choice("severity", &at("severity"), SEVERITIES[s]);
    }
    if r.unknown_key {
        w.line("privileged_maxx = 1");
        w.bad_paths.push(base.clone());
    }
    let exemptions = |w: &mut Writer| {
        if let Some(b) = r.exempt_privileged {
            w.choice("exempt_privileged", &at("exempt_privileged"), BOOLS[b]);
        }
        if let Some(e) = &r.exempt {
            w.list("exempt", &at("exempt"), &of(PATTERNS, e));
        }
    };
    match rule {
        "assignment-principal-type" => {
            if let Some(l) = &r.list {
                w.list("allowed", &at("allowed"), &of(PRINCIPAL_TYPES, l));
            }
        }
        "session-duration-cap" => {
            for (key, d) in [("max", r.max), ("privileged_max", r.privileged_max)] {
                if let Some(d) = d {
                    let (text, seconds) = DURATIONS[d];
                    w.choice(key, &at(key), (text, seconds.is_some()));
                }
            }
            if !r.limits.is_empty() {
                let items: Vec<String> = r
                    .limits
                    .iter()
                    .enumerate()
                    .map(|(i, (sets, d))| {
                        let lpath = at(&format!("limits[{i}]"));
                        let sets = of(PATTERNS, sets);
                        for (j, (_, valid)) in sets.iter().enumerate() {
                            if !valid {
                                w.bad_paths.push(format!("{lpath}.permission_sets[{j}]"));
                            }
                        }
                        let (text, seconds) = DURATIONS[*d];
                        if seconds.is_none() {
                            w.bad_paths.push(format!("{lpath}.max"));
                        }
                        let sets: Vec<&str> = sets.iter().map(|c| c.0).collect();
                        format!("{{ permission_sets = [{}], max = {text} }}", sets.join(", "))
                    })
                    .collect();
                w.line(&format!("limits = [{}]", items.join(", ")));
            }
        }
        "permissions-boundary-required" => {
            if let Some(b) = r.boundary {
                let (text, bad) = BOUNDARIES[b];
                w.line(&format!("boundary = {text}"));
                if let Some(suffix) = bad {
                    w.bad_paths.push(format!("{}{suffix}", at("boundary")));
                }
            }
            exemptions(w);
        }
        "inline-policy-forbidden-actions" => {
            if let Some(l) = &r.list {
                w.list("actions", &at("actions"), &of(ACTIONS, l));
            }
            exemptions(w);
        }
        "managed-policy-forbidden" => {
            if let Some(l) = &r.list {
                w.list("policies", &at("policies"), &of(POLICIES, l));
            }
            exemptions(w);
        }
        "abac-attributes-required" => {
            if let Some(a) = r.attributes {
                let (text, bad) = ATTRIBUTES[a];
                w.line(&format!("attributes = {text}"));
                if let Some(suffix) = bad {
                    w.bad_paths.push(format!("{}{suffix}", at("attributes")));
                }
            }
        }
        _ => {}
    }
}

/// The `i`th `[[exceptions]]` entry; the 1-based line of its header.
fn render_exception(w: &mut Writer, i: usize, e: &ExceptionSpec) -> usize {
    let base = format!("exceptions[{i}]");
    let at = |key: &str| format!("{base}.{key}");
    w.line("");
    w.line("[[exceptions]]");
    let line = w.lines_so_far();
    w.choice("rule", &at("rule"), RULE_NAMES[e.rule]);
    let mut lists_ok = true;
    let mut named = false;
    for (key, table, items) in [
        ("permission_sets", PATTERNS, &e.permission_sets),
        ("accounts", ACCOUNTS, &e.accounts),
        ("principals", PRINCIPALS, &e.principals),
    ] {
        if let Some(items) = items {
            lists_ok &= w.list(key, &at(key), &of(table, items));
            named |= !items.is_empty();
        }
    }
    if lists_ok && !named {
        w.bad_paths.push(base.clone());
    }
    for (key, choice) in [("owner", e.owner), ("reason", e.reason)] {
        match choice {
            Some(c) => w.choice(key, &at(key), TEXTS[c]),
            None => w.bad_paths.push(base.clone()),
        }
    }
    match e.expires {
        Some(x) => w.choice("expires", &at("expires"), EXPIRES[x]),
        None => w.bad_paths.push(base.clone()),
    }
    line
}

/// The mode a `mode = …` choice sets.
fn mode_of(choice: usize) -> Mode {
    Mode::parse(MODES[choice].0.trim_matches('"')).expect("a valid mode")
}

fn severity_of(choice: usize) -> Severity {
    Severity::parse(SEVERITIES[choice].0.trim_matches('"')).expect("a valid severity")
}

/// A valid policy carries what its spec says, and its rule modes respect the global cap.
fn check_generated_policy(spec: &PolicySpec, rendered: &Rendered, policy: &Policy) {
    let defaults = Policy::default();
    let global = mode_of(spec.mode.expect("a valid policy has a mode"));
    assert_eq!(policy.mode, global);
    for (rule, r) in rules::ids().zip(&spec.rules) {
        // A rule table without `mode` keeps the baseline's mode for that rule.
        let own = r
            .as_ref()
            .and_then(|r| r.mode.map(mode_of))
            .or(defaults.rules.common(rule).mode);
        assert_eq!(policy.rules.common(rule).mode, own, "{}", rule.as_str());
        let effective = policy.effective_mode(rule);
        assert_eq!(effective, own.unwrap_or(global).min(global), "{}", rule.as_str());
        assert!(effective <= policy.mode, "{}", rule.as_str());
        let severity = r
            .as_ref()
            .and_then(|r| r.severity)
            .map_or_else(|| rules::find(rule.as_str()).unwrap().doc().severity, severity_of);
        assert_eq!(policy.severity(rule), severity, "{}", rule.as_str());
        if rule == session_duration_cap::ID
            && let Some(r) = r
        {
            let caps = policy.rules.settings::<SessionDurationCap>().unwrap();
            let dflt = defaults.rules.settings::<SessionDurationCap>().unwrap();
            let seconds =
                |d: Option<usize>, default: u64| d.map_or(default, |d| DURATIONS[d].1.expect("a valid duration"));
            assert_eq!(caps.max.seconds(), seconds(r.max, dflt.max.seconds()));
            assert_eq!(
                caps.privileged_max.seconds(),
                seconds(r.privileged_max, dflt.privileged_max.seconds())
            );
            assert_eq!(caps.limits.len(), r.limits.len());
            for (limit, (sets, d)) in caps.limits.iter().zip(&r.limits) {
                assert_eq!(limit.max.seconds(), DURATIONS[*d].1.expect("a valid duration"));
                assert_eq!(limit.permission_sets.len(), sets.len());
            }
        }
    }
    assert_eq!(policy.exceptions.len(), spec.exceptions.len());
    for (exception, line) in policy.exceptions.iter().zip(&rendered.exception_lines) {
        assert_eq!(exception.line, *line, "{exception:?}");
    }
    assert_eq!(
        policy.instance_arn.is_some(),
        spec.instance.is_some_and(|(arn, _)| arn.is_some())
    );
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn generated_policies_parse_exactly_when_valid_and_name_every_bad_value(spec in policy_spec()) {
        let rendered = render(&spec);
        let describe = || rendered.text.clone();
        let _context = PanicContext(&describe);
        match check_policy_text(&rendered.text) {
            Ok(policy) => {
                prop_assert!(
                    rendered.bad_paths.is_empty(),
                    "accepted, but expected problems at {:?}:\n{}",
                    rendered.bad_paths,
                    rendered.text
                );
                check_generated_policy(&spec, &rendered, &policy);
            }
            Err(e) => {
                prop_assert!(!rendered.bad_paths.is_empty(), "rejected a valid policy:\n{}\n{}", rendered.text, e);
                for path in &rendered.bad_paths {
                    prop_assert!(
                        e.problems.iter().any(|p| &p.path == path),
                        "no problem at {:?}:\n{}\n{}",
                        path,
                        rendered.text,
                        e
                    );
                }
            }
        }
    }
}
