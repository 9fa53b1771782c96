//! The deployment, checked against the code: `template.yaml` and
//! `deploy/management-forwarder.yaml`.
//!
//! The templates are read through cfn-lint's decoder (`.venv/bin/python`, cfn-lint is pinned in
//! `tests/emulator/requirements.txt`): it understands CloudFormation's short-form tags (`!Ref`,
//! `!Sub`, `!GetAtt`), which a plain YAML parser rejects, and returns the long forms
//! (`{"Ref": …}`, `{"Fn::GetAtt": [resource, attribute]}`) as JSON.
//!
//! What the code reads or calls is derived from the source, not from a hand list:
//! - a function crate's entry point is the `idc_guard::lambda::run_*` its `main.rs` calls;
//! - its environment variables are the `*_ENV` constants of `shared/src/lambda.rs` named in the
//!   functions reachable from that entry point (within `lambda.rs`);
//! - its adapters are the adapter types named there; an adapter's IAM actions are the SDK
//!   operations its file calls on its client (`client.delete_account_assignment()` →
//!   `sso:DeleteAccountAssignment`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use idc_guard::domain::EventSource;
use idc_guard::routing::{GUARD_FUNCTIONS, routes_of};
use idc_guard_tests::repo_root;
use serde_json::{Value, json};

pub(crate) const TEMPLATE: &str = "template.yaml";
const FORWARDER: &str = "deploy/management-forwarder.yaml";
const DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// A template as JSON, decoded once per test binary.
pub(crate) fn template(path: &str) -> &'static Value {
    static CACHE: OnceLock<std::sync::Mutex<BTreeMap<String, &'static Value>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap();
    if let Some(t) = cache.get(path) {
        return t;
    }
    let python = repo_root().join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run `make venv`", python.display());
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import json, sys\nfrom cfnlint.decode import decode\ntemplate, problems = decode(sys.argv[1])\n\
             if problems:\n    sys.exit('\\n'.join(str(p) for p in problems))\njson.dump(template, sys.stdout)",
        ])
        .arg(repo_root().join(path))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cfn-lint cannot decode {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: &'static Value = Box::leak(Box::new(serde_json::from_slice(&out.stdout).unwrap()));
    cache.insert(path.to_owned(), value);
    value
}

fn resources(t: &Value) -> &serde_json::Map<String, Value> {
    t["Resources"].as_object().expect("Resources")
}

fn of_type<'a>(t: &'a Value, kind: &str) -> BTreeMap<&'a str, &'a Value> {
    resources(t)
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

/// `assignment-guard` → `AssignmentGuard`.
fn pascal(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
        })
        .collect()
}

/// Every `functions/*` crate (a directory with a Cargo.toml), sorted.
fn function_crates() -> Vec<String> {
    let mut crates: Vec<String> = std::fs::read_dir(repo_root().join("functions"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    crates
}

/// The logical id of a `{"Fn::GetAtt": [id, attribute]}` or `{"Ref": id}`.
fn referenced(value: &Value) -> Option<&str> {
    value["Fn::GetAtt"][0].as_str().or_else(|| value["Ref"].as_str())
}

/// A string or a list of strings.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// What the code reads and calls, from the source
// ---------------------------------------------------------------------------------------------

/// The source of `shared/src/lambda.rs`, split into its functions' bodies (name → body), and its
/// `*_ENV` constants (constant → variable name).
struct LambdaSource {
    bodies: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
}

impl LambdaSource {
    fn load() -> Self {
        let text = read(&repo_root().join("shared/src/lambda.rs"));
        // The unit tests at the end are not wiring.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut env = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("pub const ")
                && let Some((name, value)) = rest.split_once(": &str = ")
                && name.ends_with("_ENV")
            {
                env.insert(
                    name.to_owned(),
                    value.trim_end_matches(';').trim_matches('"').to_owned(),
                );
            }
        }
        let mut bodies = BTreeMap::new();
        let mut rest = text;
        while let Some(at) = rest.find("fn ") {
            let after = &rest[at + 3..];
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let Some(open) = after.find('{') else { break };
            // A declaration ending in `;` before any `{` (none here) would have no body.
            let mut depth = 0usize;
            let mut end = open;
            for (i, c) in after[open..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = open + i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                bodies.insert(name, after[open..=end].to_owned());
            }
            rest = &after[end..];
        }
        Self { bodies, env }
    }

    /// The bodies of `entry` and of every function of this file it reaches.
    fn reachable(&self, entry: &str) -> Vec<&str> {
        let mut seen = BTreeSet::from([entry.to_owned()]);
        let mut queue = vec![entry.to_owned()];
        while let Some(name) = queue.pop() {
            let body = self
                .bodies
                .get(&name)
                .unwrap_or_else(|| panic!("lambda.rs has no fn {name}"));
            for callee in self.bodies.keys() {
                if body.contains(&format!("{callee}(")) && seen.insert(callee.clone()) {
                    queue.push(callee.clone());
                }
            }
        }
        seen.iter().map(|n| self.bodies[n].as_str()).collect()
    }

    /// The environment variables the code behind `entry` reads.
    fn env_of(&self, entry: &str) -> BTreeSet<String> {
        let bodies = self.reachable(entry);
        self.env
            .iter()
            .filter(|(constant, _)| bodies.iter().any(|b| mentions(b, constant)))
            .map(|(_, name)| name.clone())
            .collect()
    }
}

/// Whether `text` names `word` as a whole identifier.
fn mentions(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// The `idc_guard::lambda::run_*` a function crate's `main.rs` calls.
fn entry_point(krate: &str) -> String {
    let main = read(&repo_root().join("functions").join(krate).join("src/main.rs"));
    let at = main
        .find("idc_guard::lambda::")
        .unwrap_or_else(|| panic!("functions/{krate}/src/main.rs calls no idc_guard::lambda entry point"));
    main[at + "idc_guard::lambda::".len()..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The IAM prefix of an `aws_sdk_*` crate.
fn iam_prefix(sdk: &str) -> &'static str {
    match sdk {
        // sso-admin signs as `sso`, and IAM names its actions `sso:*`.
        "ssoadmin" => "sso",
        "identitystore" => "identitystore",
        "dynamodb" => "dynamodb",
        "ssm" => "ssm",
        "sns" => "sns",
        "secretsmanager" => "secretsmanager",
        "organizations" => "organizations",
        other => panic!("add the IAM prefix of aws_sdk_{other} to tests/it/template.rs"),
    }
}

/// The ports only the drift reconciler uses (whole-instance reads), and the one write only it
/// plans (creating a missing desired assignment): the guards' roles do not get their actions.
const RECONCILER_ONLY_PORTS: &[&str] = &["InstanceInventory", "Directory", "Organization"];
const RECONCILER_ONLY_METHODS: &[&str] = &["create_assignment"];

/// The SDK operations an adapter file calls, by function: (impl block's trait, fn name) → the
/// IAM actions called in its body, and the other fns of the file it calls.
struct AdapterFile {
    fns: Vec<AdapterFn>,
}

/// (the impl block's trait, or "(inherent)" for a public inherent method; the fn's name; the
/// IAM actions its body calls; the other fns of the file it calls)
type AdapterFn = (Option<String>, String, BTreeSet<String>, Vec<String>);

impl AdapterFile {
    /// The actions reachable from the trait methods (the port implementations), leaving out
    /// the reconciler-only ones unless `reconciler`.
    fn actions(&self, reconciler: bool) -> BTreeSet<String> {
        let mut todo: Vec<&str> = self
            .fns
            .iter()
            .filter(|(port, name, _, _)| {
                port.as_deref().is_some_and(|p| {
                    reconciler
                        || (!RECONCILER_ONLY_PORTS.contains(&p) && !RECONCILER_ONLY_METHODS.contains(&name.as_str()))
                })
            })
            .map(|(_, name, _, _)| name.as_str())
            .collect();
        let mut seen = BTreeSet::new();
        let mut actions = BTreeSet::new();
        while let Some(name) = todo.pop() {
            if !seen.insert(name) {
                continue;
            }
            for (_, n, ops, calls) in &self.fns {
                if n == name {
                    actions.extend(ops.iter().cloned());
                    todo.extend(calls.iter().map(String::as_str));
                }
            }
        }
        actions
    }
}

/// Every adapter type (`pub struct` in `shared/src/adapters/*.rs`) and its file's operations.
fn adapter_files() -> BTreeMap<String, AdapterFile> {
    let mut adapters = BTreeMap::new();
    for entry in std::fs::read_dir(repo_root().join("shared/src/adapters")).unwrap() {
        let path = entry.unwrap().path();
        let text = read(&path);
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        let Some(at) = text.find("client: aws_sdk_") else {
            continue;
        };
        let sdk: String = text[at + "client: aws_sdk_".len()..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let prefix = iam_prefix(&sdk);
        // Split into fns, remembering the trait of the impl block each is in.
        let mut fns: Vec<(Option<String>, String, String)> = Vec::new();
        let mut port: Option<String> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("impl") {
                port = rest
                    .split_once(" for ")
                    .map(|(t, _)| t.trim().rsplit([' ', '>']).next().unwrap_or_default().to_owned());
            }
            let trimmed = line.trim_start();
            let decl = [
                "pub async fn ",
                "pub fn ",
                "async fn ",
                "fn ",
                "pub(crate) async fn ",
                "pub(crate) fn ",
            ]
            .iter()
            .find_map(|k| trimmed.strip_prefix(k));
            match decl {
                Some(rest) if line.starts_with("    ") || line.starts_with("fn ") || line.starts_with("async fn ") => {
                    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    // A public inherent method is an entry point too (e.g. the Slack secret's read).
                    let entry = port.clone().or_else(|| {
                        (trimmed.starts_with("pub ") && line.starts_with("    ")).then(|| "(inherent)".to_owned())
                    });
                    fns.push((entry, name, String::new()));
                }
                _ => {
                    if let Some(last) = fns.last_mut() {
                        last.2.push_str(line);
                        last.2.push('\n');
                    }
                }
            }
        }
        let names: Vec<String> = fns.iter().map(|f| f.1.clone()).collect();
        let mut all = BTreeSet::new();
        let fns: Vec<AdapterFn> = fns
            .into_iter()
            .map(|(port, name, body)| {
                let mut ops = BTreeSet::new();
                let mut rest = body.as_str();
                while let Some(at) = rest.find("client") {
                    rest = &rest[at + "client".len()..];
                    let call = rest.trim_start();
                    let Some(call) = call.strip_prefix('.') else { continue };
                    let op: String = call
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if !op.is_empty() && call.trim_start()[op.len()..].starts_with('(') {
                        ops.insert(format!("{prefix}:{}", pascal(&op.replace('_', "-"))));
                    }
                }
                all.extend(ops.iter().cloned());
                let calls: Vec<String> = names
                    .iter()
                    .filter(|n| **n != name && (body.contains(&format!(".{n}(")) || body.contains(&format!("{n}("))))
                    .cloned()
                    .collect();
                (port, name, ops, calls)
            })
            .collect();
        let sends = text.matches(".send()").count();
        assert!(
            !all.is_empty() && sends >= all.len(),
            "{}: {} operations found for {sends} `.send()` calls",
            path.display(),
            all.len()
        );
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("pub struct ") {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
                adapters.insert(name, AdapterFile { fns: fns.clone() });
            }
        }
    }
    adapters
}

/// The IAM actions the code behind `entry` calls through its adapters: the reconciler's entry
/// (its code mentions the reconciler) also reaches the whole-instance reads.
fn actions_of(lambda: &LambdaSource, entry: &str) -> BTreeSet<String> {
    let bodies = lambda.reachable(entry);
    let reconciler = bodies.iter().any(|b| mentions(b, "reconcile_once"));
    adapter_files()
        .into_iter()
        .filter(|(adapter, _)| bodies.iter().any(|b| mentions(b, adapter)))
        .flat_map(|(_, file)| file.actions(reconciler))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Functions: one resource per crate, their environment and roles
// ---------------------------------------------------------------------------------------------

#[test]
fn every_function_crate_has_its_template_resource_and_every_function_resource_its_crate() {
    let t = template(TEMPLATE);
    let globals = &t["Globals"]["Function"];
    let crates = function_crates();
    assert!(crates.len() >= 4, "{crates:?}");
    let functions = of_type(t, "AWS::Serverless::Function");
    for krate in &crates {
        let id = format!("{}Function", pascal(krate));
        let f = functions
            .get(id.as_str())
            .unwrap_or_else(|| panic!("functions/{krate} has no AWS::Serverless::Function {id} in {TEMPLATE}"));
        let p = &f["Properties"];
        let prop = |key: &str| if p[key].is_null() { &globals[key] } else { &p[key] };
        assert_eq!(p["CodeUri"], format!("functions/{krate}"), "{id}");
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        assert_eq!(f["Metadata"]["BuildProperties"]["Binary"], krate.as_str(), "{id}");
        assert_eq!(prop("Runtime"), "provided.al2023", "{id}");
        assert_eq!(prop("Handler"), "bootstrap", "{id}");
        assert_eq!(prop("Architectures"), &json!(["arm64"]), "{id}");
        assert_eq!(prop("MemorySize"), 128, "{id}");
        assert!(
            p["Timeout"].as_u64().is_some_and(|s| (3..=900).contains(&s)),
            "{id}: explicit Timeout"
        );
        assert_eq!(p["LoggingConfig"]["LogFormat"], "JSON", "{id}");
        let log_group = referenced(&p["LoggingConfig"]["LogGroup"]).unwrap_or_else(|| panic!("{id}: LogGroup"));
        assert_eq!(resources(t)[log_group]["Type"], "AWS::Logs::LogGroup", "{id}");
        assert!(
            resources(t)[log_group]["Properties"]["RetentionInDays"].is_object(),
            "{id}: log retention"
        );
        // Every function is invoked asynchronously (EventBridge, SNS): failures are parked.
        assert_eq!(p["DeadLetterQueue"]["Type"], "SQS", "{id}");
        assert_eq!(
            referenced(&p["DeadLetterQueue"]["TargetArn"]),
            Some("DeadLetterQueue"),
            "{id}"
        );
        let role = referenced(&p["Role"]).unwrap_or_else(|| panic!("{id}: its own Role"));
        assert_eq!(resources(t)[role]["Type"], "AWS::IAM::Role", "{id}");
    }
    for (id, f) in &functions {
        let code = f["Properties"]["CodeUri"].as_str().unwrap_or_default();
        let krate = code.strip_prefix("functions/").unwrap_or(code);
        assert!(
            crates.iter().any(|c| c == krate),
            "{id} builds {code}, which is not a functions/* crate"
        );
    }
}

#[test]
fn function_environments_name_exactly_the_variables_their_code_reads() {
    let t = template(TEMPLATE);
    let lambda = LambdaSource::load();
    assert!(
        lambda.env.len() >= 5,
        "the *_ENV constants of lambda.rs: {:?}",
        lambda.env
    );
    for krate in function_crates() {
        let entry = entry_point(&krate);
        let id = format!("{}Function", pascal(&krate));
        let p = &resources(t)[&id]["Properties"];
        let set: BTreeSet<String> = p["Environment"]["Variables"]
            .as_object()
            .map(|vars| vars.keys().cloned().collect())
            .unwrap_or_default();
        let read = lambda.env_of(&entry);
        assert_eq!(set, read, "{id}: environment vs what {entry} reads");
        if read.contains("IDC_GUARD_POLICY") {
            // The policy comes from the layer, mounted at /opt.
            assert_eq!(p["Environment"]["Variables"]["IDC_GUARD_POLICY"], "/opt/guardrail.toml");
            assert_eq!(p["Layers"], json!([{"Ref": "PolicyLayer"}]), "{id}");
        }
    }
    // Without the table every correction is withheld: each guard names it.
    for guard in GUARD_FUNCTIONS {
        let vars = &resources(t)[&format!("{}Function", pascal(guard))]["Properties"]["Environment"]["Variables"];
        assert_eq!(vars["IDC_GUARD_STATE_TABLE"], json!({"Ref": "StateTable"}), "{guard}");
        assert_eq!(vars["IDC_GUARD_KILL_SWITCH"], json!({"Ref": "KillSwitchParameterName"}));
        assert_eq!(vars["IDC_GUARD_TOPIC_ARN"], json!({"Ref": "FindingsTopic"}));
    }
    let layer = &resources(t)["PolicyLayer"];
    assert_eq!(layer["Type"], "AWS::Serverless::LayerVersion");
    let content = layer["Properties"]["ContentUri"].as_str().unwrap();
    assert!(repo_root().join(content).join("guardrail.toml").exists());
    // A desired file named explicitly must exist (else every run is refused): the default
    // deployment names none, so the reconciler uses policy/assignments.toml only if there is one.
    let assignments =
        &resources(t)["DriftReconcilerFunction"]["Properties"]["Environment"]["Variables"]["IDC_GUARD_ASSIGNMENTS"];
    let named = match assignments {
        Value::Object(r) if r.contains_key("Ref") => {
            let parameter = r["Ref"].as_str().unwrap();
            t["Parameters"][parameter]["Default"].as_str().unwrap().to_owned()
        }
        other => other.as_str().unwrap_or_default().to_owned(),
    };
    if let Some(file) = named.strip_prefix("/opt/") {
        assert!(
            repo_root().join(content).join(file).exists(),
            "the reconciler is deployed naming {named}, which the policy layer ({content}) lacks"
        );
    } else {
        assert_eq!(named, "", "a desired file outside the layer: {named}");
    }
}

#[test]
fn the_state_table_and_kill_switch_are_deployed_as_the_safety_rails_expect() {
    let t = template(TEMPLATE);
    let table = &resources(t)["StateTable"]["Properties"];
    assert_eq!(
        table["KeySchema"],
        json!([{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    );
    assert_eq!(
        table["TimeToLiveSpecification"],
        json!({"AttributeName": "expires_at", "Enabled": true})
    );
    let kill_switch = &resources(t)["KillSwitch"]["Properties"];
    assert_eq!(kill_switch["Value"], "detect", "detect on first deployment");
    assert_eq!(
        t["Parameters"]["KillSwitchParameterName"]["Default"],
        idc_guard::safety::DEFAULT_KILL_SWITCH
    );
    let topic = &resources(t)["FindingsTopic"]["Properties"];
    assert_eq!(referenced(&topic["KmsMasterKeyId"]), Some("FindingsKey"));
}

/// Actions a role may hold that no adapter calls, with why. Each must be scoped to the resource
/// named.
fn runtime_action(action: &str) -> Option<&'static str> {
    Some(match action {
        // The Lambda service writes the function's logs with its role.
        "logs:CreateLogStream" | "logs:PutLogEvents" => "log group",
        // Lambda sends events that failed all retries to the DLQ with the function's role.
        "sqs:SendMessage" => "dead-letter queue",
        // Publishing to a KMS-encrypted topic needs the key.
        "kms:GenerateDataKey" | "kms:Decrypt" => "topic key",
        _ => return None,
    })
}

#[test]
fn function_roles_allow_exactly_the_actions_their_adapters_call_and_never_a_wildcard() {
    let t = template(TEMPLATE);
    let lambda = LambdaSource::load();
    let prefixes = idc_guard::policy::Policy::default().own_identity.role_prefixes;
    for krate in function_crates() {
        let id = format!("{}Function", pascal(&krate));
        let p = &resources(t)[&id]["Properties"];
        let role_id = referenced(&p["Role"]).unwrap();
        let role = &resources(t)[role_id]["Properties"];
        assert!(role["ManagedPolicyArns"].is_null(), "{role_id}: no managed policies");
        assert_eq!(
            role["AssumeRolePolicyDocument"]["Statement"],
            json!([{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
            "{role_id}"
        );
        // The guards recognise their own changes by role name: the policy's prefix.
        let name = role["RoleName"]["Fn::Sub"].as_str().unwrap_or_default();
        assert!(
            prefixes.iter().any(|prefix| name.starts_with(prefix.as_str())),
            "{role_id}: RoleName {name} must start with one of {prefixes:?}"
        );

        let needed = actions_of(&lambda, &entry_point(&krate));
        assert!(!needed.is_empty(), "{id}");
        let mut granted = BTreeSet::new();
        for policy in role["Policies"].as_array().unwrap() {
            for statement in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
                let sid = statement["Sid"].as_str().unwrap_or("?");
                assert_eq!(statement["Effect"], "Allow", "{role_id}/{sid}");
                assert!(statement["NotAction"].is_null() && statement["NotResource"].is_null());
                let resources_ = strings(&statement["Resource"]);
                // The only action without resource-level permissions that a function needs:
                // Organizations' ListAccounts accepts nothing but "*".
                let unscopable = strings(&statement["Action"]) == ["organizations:ListAccounts"];
                assert!(
                    unscopable || !resources_.contains(&"*"),
                    "{role_id}/{sid}: Resource \"*\""
                );
                for action in strings(&statement["Action"]) {
                    assert!(!action.contains('*'), "{role_id}/{sid}: wildcard action {action}");
                    granted.insert(action.to_owned());
                    if needed.contains(action) {
                        continue;
                    }
                    let Some(scope) = runtime_action(action) else {
                        panic!("{role_id}/{sid}: {action} is called by no adapter of {id}");
                    };
                    let target = referenced(&statement["Resource"]);
                    let expected = match scope {
                        "log group" => referenced(&p["LoggingConfig"]["LogGroup"]),
                        "dead-letter queue" => referenced(&p["DeadLetterQueue"]["TargetArn"]),
                        _ => {
                            assert!(
                                needed.contains("sns:Publish"),
                                "{role_id}: {action} without sns:Publish"
                            );
                            referenced(&resources(t)["FindingsTopic"]["Properties"]["KmsMasterKeyId"])
                        }
                    };
                    assert_eq!(
                        target, expected,
                        "{role_id}/{sid}: {action} must be scoped to the {scope}"
                    );
                }
            }
        }
        let missing: Vec<_> = needed.difference(&granted).collect();
        assert!(
            missing.is_empty(),
            "{role_id} lacks {missing:?}, which {id}'s adapters call"
        );
    }
}

#[test]
fn each_function_is_invoked_only_by_its_own_rule_or_topic() {
    let t = template(TEMPLATE);
    let functions = of_type(t, "AWS::Serverless::Function");
    let mut invokers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, permission) in of_type(t, "AWS::Lambda::Permission") {
        let p = &permission["Properties"];
        assert_eq!(p["Action"], "lambda:InvokeFunction", "{id}");
        let function = referenced(&p["FunctionName"]).unwrap();
        assert!(functions.contains_key(function), "{id}");
        let source = referenced(&p["SourceArn"]).unwrap_or_else(|| panic!("{id}: no SourceArn"));
        let source_type = resources(t)[source]["Type"].as_str().unwrap();
        match p["Principal"].as_str() {
            Some("events.amazonaws.com") => {
                assert_eq!(source_type, "AWS::Events::Rule", "{id}");
                let targets = resources(t)[source]["Properties"]["Targets"].as_array().unwrap();
                assert_eq!(targets.len(), 1, "{source}");
                assert_eq!(
                    referenced(&targets[0]["Arn"]),
                    Some(function),
                    "{id}: the rule targets another function"
                );
            }
            Some("sns.amazonaws.com") => assert_eq!(source_type, "AWS::SNS::Topic", "{id}"),
            other => panic!("{id}: unexpected principal {other:?}"),
        }
        invokers.entry(function).or_default().push(source);
    }
    for id in functions.keys() {
        assert_eq!(invokers.get(id).map(Vec::len), Some(1), "{id}: exactly one invoker");
    }
}

// ---------------------------------------------------------------------------------------------
// Event patterns: static shape
// ---------------------------------------------------------------------------------------------

/// The (eventSource, eventName) pairs a pattern's `detail` admits (`$or` branches or itself).
fn pattern_pairs(pattern: &Value) -> BTreeSet<(String, String)> {
    let detail = &pattern["detail"];
    let branches: Vec<&Value> = match detail["$or"].as_array() {
        Some(branches) => branches.iter().collect(),
        None => vec![detail],
    };
    let mut pairs = BTreeSet::new();
    for branch in branches {
        let sources = strings(&branch["eventSource"]);
        let names = strings(&branch["eventName"]);
        assert!(
            !sources.is_empty() && !names.is_empty(),
            "each branch names sources and names: {branch}"
        );
        for s in &sources {
            for n in &names {
                assert!(pairs.insert(((*s).to_owned(), (*n).to_owned())), "{s} {n} twice");
            }
        }
    }
    pairs
}

fn routed_pairs(routes: &[(EventSource, &str)]) -> BTreeSet<(String, String)> {
    routes
        .iter()
        .map(|(s, n)| (s.event_source().to_owned(), (*n).to_owned()))
        .collect()
}

fn routed_sources(routes: &[(EventSource, &str)]) -> BTreeSet<String> {
    routes.iter().map(|(s, _)| s.eventbridge_source().to_owned()).collect()
}

/// The rule whose one target is `function`'s resource.
fn rule_of<'a>(t: &'a Value, function: &str) -> (&'a str, &'a Value) {
    let id = format!("{}Function", pascal(function));
    let rules: Vec<_> = of_type(t, "AWS::Events::Rule")
        .into_iter()
        .filter(|(_, r)| {
            r["Properties"]["Targets"]
                .as_array()
                .is_some_and(|ts| ts.iter().any(|t| referenced(&t["Arn"]) == Some(id.as_str())))
        })
        .collect();
    assert_eq!(rules.len(), 1, "{function}: exactly one rule");
    rules[0]
}

#[test]
fn each_guard_rule_lists_exactly_the_events_routed_to_it() {
    let t = template(TEMPLATE);
    for guard in GUARD_FUNCTIONS {
        let (id, rule) = rule_of(t, guard);
        let p = &rule["Properties"];
        assert_eq!(p["State"], "ENABLED", "{id}");
        let pattern = &p["EventPattern"];
        let routes = routes_of(guard);
        assert_eq!(pattern["detail-type"], json!([DETAIL_TYPE]), "{id}");
        assert_eq!(
            pattern["account"],
            json!([{"Ref": "AWS::AccountId"}, {"Ref": "ManagementAccountId"}]),
            "{id}: this account and the management account only"
        );
        assert_eq!(pattern["detail"]["errorCode"], json!([{"exists": false}]), "{id}");
        let sources: BTreeSet<String> = strings(&pattern["source"]).into_iter().map(str::to_owned).collect();
        assert_eq!(sources, routed_sources(&routes), "{id}");
        assert_eq!(
            pattern_pairs(pattern),
            routed_pairs(&routes),
            "{id} vs idc_guard::routing"
        );
        let target = &p["Targets"][0];
        assert_eq!(
            referenced(&target["DeadLetterConfig"]["Arn"]),
            Some("DeadLetterQueue"),
            "{id}"
        );
    }
}

#[test]
fn the_forwarder_sends_every_routed_event_to_the_guardrail_bus_which_admits_only_the_management_account() {
    let f = template(FORWARDER);
    let rules = of_type(f, "AWS::Events::Rule");
    assert_eq!(rules.len(), 1);
    let p = &rules.values().next().unwrap()["Properties"];
    let pattern = &p["EventPattern"];
    let all: Vec<_> = GUARD_FUNCTIONS.iter().flat_map(|g| routes_of(g)).collect();
    assert_eq!(pattern["detail-type"], json!([DETAIL_TYPE]));
    assert_eq!(pattern["account"], json!([{"Ref": "AWS::AccountId"}]));
    assert_eq!(pattern["detail"]["errorCode"], json!([{"exists": false}]));
    let sources: BTreeSet<String> = strings(&pattern["source"]).into_iter().map(str::to_owned).collect();
    assert_eq!(sources, routed_sources(&all));
    assert_eq!(pattern_pairs(pattern), routed_pairs(&all));
    let target = &p["Targets"][0];
    assert_eq!(
        target["Arn"],
        json!({"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${GuardrailAccountId}:event-bus/default"})
    );
    assert_eq!(referenced(&target["RoleArn"]), Some("ForwarderRole"));

    // The receiving side: the default bus admits the management account, for these sources.
    let t = template(TEMPLATE);
    let policy = &resources(t)["ManagementForwarderBusPolicy"]["Properties"];
    assert_eq!(policy["EventBusName"], "default");
    let statement = &policy["Statement"];
    assert_eq!(statement["Action"], "events:PutEvents");
    assert_eq!(
        statement["Principal"],
        json!({"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${ManagementAccountId}:root"}})
    );
    let admitted: BTreeSet<String> = strings(&statement["Condition"]["StringEquals"]["events:source"])
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(admitted, routed_sources(&all));
}

// ---------------------------------------------------------------------------------------------
// Event patterns: EventBridge's own matching, through the emulator's event bus
// ---------------------------------------------------------------------------------------------

mod bus {
    use std::collections::{BTreeMap, BTreeSet};

    use aws_smithy_runtime_api::box_error::BoxError;
    use aws_smithy_runtime_api::client::interceptors::Intercept;
    use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_types::config_bag::ConfigBag;
    use idc_guard::domain::EventSource;
    use idc_guard::routing::{GUARD_FUNCTIONS, route};
    use idc_guard_tests::emulator::{Emulator, REGION};
    use idc_guard_tests::{fixtures, repo_root};
    use serde_json::{Value, json};

    use super::{FORWARDER, TEMPLATE, resources, rule_of, template};

    const GUARDRAIL: &str = "222222222222";
    const MANAGEMENT: &str = "111111111111";
    const STRANGER: &str = "999999999999";

    /// moto keeps one backend per account, chosen by this header; an event put on a bus carries
    /// that bus's account in `account` (as a CloudTrail event carries the account it was
    /// recorded in).
    #[derive(Debug)]
    struct Account(&'static str);

    impl Intercept for Account {
        fn name(&self) -> &'static str {
            "MotoAccount"
        }

        fn modify_before_signing(
            &self,
            context: &mut BeforeTransmitInterceptorContextMut<'_>,
            _runtime_components: &RuntimeComponents,
            _cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            context.request_mut().headers_mut().insert("x-moto-account-id", self.0);
            Ok(())
        }
    }

    struct Bus {
        events: aws_sdk_eventbridge::Client,
        sqs: aws_sdk_sqs::Client,
        account: &'static str,
    }

    impl Bus {
        async fn of(emulator: &Emulator, account: &'static str) -> Bus {
            let sdk = emulator.sdk_config().await;
            let events = aws_sdk_eventbridge::config::Builder::from(&sdk)
                .interceptor(Account(account))
                .build();
            let sqs = aws_sdk_sqs::config::Builder::from(&sdk)
                .interceptor(Account(account))
                .build();
            Bus {
                events: aws_sdk_eventbridge::Client::from_conf(events),
                sqs: aws_sdk_sqs::Client::from_conf(sqs),
                account,
            }
        }

        /// A rule with `pattern` on the default bus, delivering to a new queue; the queue's URL.
        async fn rule(&self, name: &str, pattern: &Value) -> String {
            let url = self
                .sqs
                .create_queue()
                .queue_name(name)
                .send()
                .await
                .unwrap()
                .queue_url
                .unwrap();
            self.events
                .put_rule()
                .name(name)
                .event_pattern(pattern.to_string())
                .send()
                .await
                .unwrap();
            let target = aws_sdk_eventbridge::types::Target::builder()
                .id(name)
                .arn(format!("arn:aws:sqs:{REGION}:{}:{name}", self.account))
                .build()
                .unwrap();
            self.events
                .put_targets()
                .rule(name)
                .targets(target)
                .send()
                .await
                .unwrap();
            url
        }

        /// Puts each event (an EventBridge envelope) on the default bus, 10 per call.
        async fn put(&self, events: &[Value]) {
            for chunk in events.chunks(10) {
                let entries = chunk.iter().map(|e| {
                    aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                        .source(e["source"].as_str().unwrap())
                        .detail_type(e["detail-type"].as_str().unwrap())
                        .detail(e["detail"].to_string())
                        .build()
                });
                let out = self
                    .events
                    .put_events()
                    .set_entries(Some(entries.collect()))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(out.failed_entry_count(), 0, "{out:?}");
            }
        }

        /// The `detail.eventID` of every event delivered to the queue. (moto leaves `account`
        /// out of what it delivers to SQS, after matching on it.)
        async fn received(&self, url: &str) -> BTreeSet<String> {
            let mut seen = BTreeSet::new();
            loop {
                let out = self
                    .sqs
                    .receive_message()
                    .queue_url(url)
                    .max_number_of_messages(10)
                    .send()
                    .await
                    .unwrap();
                let messages = out.messages.unwrap_or_default();
                if messages.is_empty() {
                    return seen;
                }
                for m in messages {
                    let event: Value = serde_json::from_str(m.body().unwrap()).unwrap();
                    let id = event["detail"]["eventID"].as_str().unwrap().to_owned();
                    assert!(seen.insert(id), "delivered twice");
                    self.sqs
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(m.receipt_handle().unwrap())
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
    }

    /// The pattern with its parameters replaced by the given values (`{"Ref": name}` only; any
    /// other intrinsic function in a pattern fails the test).
    fn resolve(value: &Value, parameters: &BTreeMap<&str, &str>) -> Value {
        match value {
            Value::Object(map) if map.len() == 1 && map.contains_key("Ref") => {
                let name = map["Ref"].as_str().unwrap();
                json!(parameters.get(name).unwrap_or_else(|| panic!("no value for {name}")))
            }
            Value::Object(map) => {
                assert!(
                    !map.keys().any(|k| k.starts_with("Fn::")),
                    "unexpected intrinsic in a pattern: {value}"
                );
                map.iter().map(|(k, v)| (k.clone(), resolve(v, parameters))).collect()
            }
            Value::Array(items) => items.iter().map(|v| resolve(v, parameters)).collect(),
            other => other.clone(),
        }
    }

    fn guard_pattern(guard: &str) -> Value {
        let (_, rule) = rule_of(template(TEMPLATE), guard);
        resolve(
            &rule["Properties"]["EventPattern"],
            &BTreeMap::from([("AWS::AccountId", GUARDRAIL), ("ManagementAccountId", MANAGEMENT)]),
        )
    }

    /// Every fixture as an EventBridge envelope, with its file stem as `detail.eventID` (the
    /// fixtures' own ids need not be unique across files); and where its name says it goes.
    fn fixture_events() -> Vec<(String, Value, Option<&'static str>)> {
        let mut events = Vec::new();
        for path in fixtures() {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert!(
                event["detail"].is_object(),
                "{stem}: the fixtures are EventBridge envelopes"
            );
            let detail = &event["detail"];
            let source = EventSource::from_event_source(detail["eventSource"].as_str().unwrap())
                .unwrap_or_else(|| panic!("{stem}: unknown eventSource"));
            assert_eq!(event["source"], source.eventbridge_source(), "{stem}");
            assert_eq!(event["detail-type"], super::DETAIL_TYPE, "{stem}");
            let failed = detail.get("errorCode").is_some_and(|c| !c.is_null());
            let expected = if failed {
                None
            } else {
                route(&source, detail["eventName"].as_str().unwrap())
            };
            event["detail"]["eventID"] = json!(stem);
            events.push((stem, event, expected));
        }
        events
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn every_fixture_reaches_exactly_the_guard_it_is_routed_to_and_failed_calls_none() {
        let emulator = Emulator::start();
        let bus = Bus::of(&emulator, GUARDRAIL).await;
        let mut queues = Vec::new();
        for guard in GUARD_FUNCTIONS {
            queues.push((Some(*guard), bus.rule(guard, &guard_pattern(guard)).await));
        }
        // The forwarder's rule, as it would run in the management account (its `account` pin
        // resolved to the bus's account).
        let forwarder = resources(template(FORWARDER))
            .values()
            .find(|r| r["Type"] == "AWS::Events::Rule")
            .unwrap();
        let forwarded = resolve(
            &forwarder["Properties"]["EventPattern"],
            &BTreeMap::from([("AWS::AccountId", GUARDRAIL)]),
        );
        queues.push((None, bus.rule("forwarder", &forwarded).await));

        let events = fixture_events();
        let payloads: Vec<Value> = events.iter().map(|(_, e, _)| e.clone()).collect();
        bus.put(&payloads).await;

        let failed = events.iter().filter(|(s, _, _)| s.contains("-failed-")).count();
        assert!(failed >= 3, "failed-call fixtures: {failed}");
        for (guard, url) in &queues {
            let got = bus.received(url).await;
            let want: BTreeSet<String> = events
                .iter()
                .filter(|(_, _, to)| match guard {
                    Some(g) => *to == Some(*g),
                    None => to.is_some(),
                })
                .map(|(stem, _, _)| stem.clone())
                .collect();
            assert!(!want.is_empty());
            let name = guard.unwrap_or("forwarder");
            let missing: Vec<_> = want.difference(&got).collect();
            let extra: Vec<_> = got.difference(&want).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{name}: not delivered {missing:?}; delivered but routed elsewhere {extra:?}"
            );
        }
        let _ = repo_root();
    }

    /// The `account` pin. moto gives an event the account of the bus it is put on, and a rule
    /// sees only its own bus: a rule placed on the management account's bus stands for the
    /// guardrail account's rule receiving forwarded management-account events (which, in AWS,
    /// keep the management account in `account`). moto's own cross-account forwarding cannot
    /// show that: it re-puts the event on the target bus, which rewrites `account`.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_rules_admit_this_account_and_the_management_account_and_no_other() {
        let emulator = Emulator::start();
        let (stem, event, to) = fixture_events()
            .into_iter()
            .find(|(s, _, _)| s == "sso.CreateAccountAssignment-user-violation")
            .unwrap();
        let guard = to.unwrap();
        for (account, admitted) in [(GUARDRAIL, true), (MANAGEMENT, true), (STRANGER, false)] {
            let bus = Bus::of(&emulator, account).await;
            let url = bus.rule(guard, &guard_pattern(guard)).await;
            bus.put(std::slice::from_ref(&event)).await;
            let got = bus.received(&url).await;
            if admitted {
                assert_eq!(got, BTreeSet::from([stem.clone()]), "{account} must be admitted");
            } else {
                assert!(got.is_empty(), "{account} must not be admitted: {got:?}");
            }
        }
    }
}
