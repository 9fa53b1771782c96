//! `idc-guard doctor` (issue #18, item 1) against the emulator, as an operator runs it: a
//! healthy deployment passes every check; a broken one (no groups, a permission set behind in
//! an account, an open breaker, dead letters, a disabled rule) fails exactly those checks; usage
//! errors exit 2; and doctor changes nothing. The template is held to the names doctor looks for.

use std::path::Path;
use std::process::{Command, Output};

use aws_sdk_eventbridge::types::RuleState;
use aws_sdk_ssoadmin::types::PrincipalType;
use idc_guard::doctor::DeploymentNames;
use idc_guard::ports::{StateRecord, StateStore};
use idc_guard::safety::{LastRun, RunOutcome, breaker_key, note_run, scim_write_key};
use idc_guard_tests::world::{PermissionSet, STATE_TABLE, World};
use serde_json::Value;

/// The stack whose names the world's table and topic already have (`idc-guard-state`,
/// `idc-guard-findings`).
const STACK: &str = "idc-guard";

const POLICY: &str = r#"
mode = "detect"
[rules.abac-attributes-required]
attributes = { team = "${path:enterprise.department}" }
"#;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The deployment's resources the template would create, in the emulator: rules (all enabled
/// unless `disabled` names one), dead-letter queues (with `dead_letters` messages in the shared
/// one), a recent reconciler run and a SCIM write.
async fn deploy(w: &World, disabled: Option<&str>, dead_letters: usize) {
    assert_eq!(DeploymentNames::new(STACK).table(), STATE_TABLE);
    let names = DeploymentNames::new(STACK);
    let events = aws_sdk_eventbridge::Client::new(&w.sdk);
    for rule in names.rules().into_iter().filter(|r| !r.optional) {
        let state = if Some(rule.name.as_str()) == disabled {
            RuleState::Disabled
        } else {
            RuleState::from(rule.state)
        };
        events
            .put_rule()
            .name(&rule.name)
            .event_pattern(r#"{"source":["aws.sso"]}"#)
            .state(state)
            .send()
            .await
            .unwrap();
    }
    for (queue, optional) in names.dead_letter_queues() {
        if optional {
            continue;
        }
        let url = w.sqs.create_queue().queue_name(&queue).send().await.unwrap();
        if queue == format!("{STACK}-dead-letters") {
            for n in 0..dead_letters {
                w.sqs
                    .send_message()
                    .queue_url(url.queue_url().unwrap())
                    .message_body(format!("{{\"n\":{n}}}"))
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
    let table = idc_guard::wiring::state_table(&w.sdk, STATE_TABLE);
    let run = LastRun {
        started: now() - 600,
        finished: now() - 540,
        outcome: RunOutcome::Completed {
            dry_run: false,
            planned: 0,
            unknown: 0,
            refused: None,
        },
    };
    note_run(&table, &run).await.unwrap();
    let write = StateRecord {
        since: Some(now() - 300),
        ..StateRecord::default()
    };
    assert!(table.put(&scim_write_key(), &write, None).await.unwrap());
}

fn doctor(w: &World, dir: &Path, args: &[&str]) -> Output {
    let policy = format!(
        "{POLICY}\n[instance]\narn = \"{}\"\nidentity_store_id = \"{}\"\n",
        w.instance, w.store
    );
    let args: Vec<&str> = std::iter::once("doctor").chain(args.iter().copied()).collect();
    w.idc_guard(dir, &policy, &args, &[])
}

fn text(o: &Output) -> String {
    idc_guard_tests::shown(o)
}

/// Each check's id and status, from `--format json`.
fn statuses(o: &Output) -> Vec<(String, String)> {
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)));
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn failing(o: &Output) -> Vec<String> {
    statuses(o)
        .into_iter()
        .filter(|(_, s)| s == "fail")
        .map(|(id, _)| id)
        .collect()
}

#[tokio::test]
async fn a_healthy_deployment_passes_every_check_and_doctor_changes_nothing() {
    let w = World::builder()
        .organization(["acct-0"])
        .group("platform")
        .permission_set(PermissionSet::new("ReadOnly").session("PT1H"))
        .abac(&[("team", "${path:enterprise.department}")])
        .state_table()
        .kill_switch("enforce")
        .topic()
        .counting_proxy()
        .build()
        .await;
    let set = w.set_arn("ReadOnly").to_owned();
    w.assign(&w.accounts[0], &set, PrincipalType::Group, w.group_id("platform"))
        .await;
    deploy(&w, None, 0).await;
    let dir = tempdir("healthy");
    w.calls.clear();
    let o = doctor(&w, &dir, &["--stack", STACK, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let all = statuses(&o);
    let ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "instance",
            "identity-source",
            "scim-groups",
            "provisioning",
            "abac",
            "state-table",
            "kill-switch",
            "breaker",
            "findings-topic",
            "event-rules",
            "reconciler",
            "dead-letters"
        ],
        "{}",
        text(&o)
    );
    assert!(all.iter().all(|(_, s)| s == "pass"), "{}", text(&o));
    // Read only: not one mutating request reached the emulator.
    assert_eq!(w.calls.mutating(), Vec::<String>::new());
    // The text form says the same, one line per check.
    let o = doctor(&w, &dir, &["--stack", STACK]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        out.contains("pass  scim-groups") && out.ends_with("12 passed, 0 warnings, 0 failed\n"),
        "{out}"
    );
}

#[tokio::test]
async fn a_broken_deployment_fails_exactly_the_broken_checks() {
    // No groups at all (SCIM populated nothing), a USER assignment whose set was edited and never
    // provisioned, an open breaker, two dead letters, and a guard's rule disabled.
    let w = World::builder()
        .organization(["acct-0"])
        .user(idc_guard_tests::world::User::new("alice"))
        .permission_set(PermissionSet::new("ReadOnly").session("PT1H"))
        .abac(&[("team", "${path:enterprise.department}")])
        .state_table()
        .kill_switch("enforce")
        .topic()
        .build()
        .await;
    let set = w.set_arn("ReadOnly").to_owned();
    w.assign(&w.accounts[0], &set, PrincipalType::User, w.user_id("alice"))
        .await;
    w.put_inline_policy(
        &set,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
    )
    .await;
    deploy(&w, Some("idc-guard-identity-guard"), 2).await;
    let table = idc_guard::wiring::state_table(&w.sdk, STATE_TABLE);
    let open = StateRecord {
        since: Some(now() - 60),
        ..StateRecord::default()
    };
    assert!(table.put(&breaker_key(), &open, None).await.unwrap());

    let dir = tempdir("broken");
    let o = doctor(&w, &dir, &["--stack", STACK, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        failing(&o),
        ["scim-groups", "provisioning", "breaker", "event-rules", "dead-letters"],
        "{}",
        text(&o)
    );
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["healthy"], false);
    let check = |id: &str| {
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    // Each failure says what is wrong and how to fix it, in one line.
    assert!(
        check("provisioning")["summary"]
            .as_str()
            .unwrap()
            .contains(&w.accounts[0]),
        "{}",
        text(&o)
    );
    assert!(
        check("dead-letters")["summary"]
            .as_str()
            .unwrap()
            .contains("2 in idc-guard-dead-letters")
    );
    assert!(
        check("event-rules")["summary"]
            .as_str()
            .unwrap()
            .contains("idc-guard-identity-guard is DISABLED")
    );
    assert!(
        check("breaker")["fix"]
            .as_str()
            .unwrap()
            .contains("idc-guard breaker reset")
    );
    for id in ["scim-groups", "provisioning", "breaker", "event-rules", "dead-letters"] {
        let fix = check(id)["fix"].as_str().unwrap_or_default().to_owned();
        assert!(!fix.is_empty() && !fix.contains('\n'), "{id}: {fix:?}");
    }
}

#[tokio::test]
async fn without_a_stack_the_deployment_is_not_checked_and_a_missing_one_fails() {
    let w = World::builder()
        .organization(["acct-0"])
        .group("platform")
        .abac(&[("team", "${path:enterprise.department}")])
        .build()
        .await;
    let dir = tempdir("nostack");
    let o = doctor(&w, &dir, &["--format", "json"]);
    // Warnings (the identity source, the deployment) do not fail it, unless --strict.
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let all = statuses(&o);
    assert!(
        all.contains(&("deployment".to_owned(), "warn".to_owned())),
        "{}",
        text(&o)
    );
    assert!(
        all.contains(&("identity-source".to_owned(), "warn".to_owned())),
        "{}",
        text(&o)
    );
    assert_eq!(doctor(&w, &dir, &["--strict"]).status.code(), Some(1));
    // A stack that is not there: its table, topic, rules and queues fail, each on its own.
    let o = doctor(&w, &dir, &["--stack", "absent", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let failed = failing(&o);
    for id in [
        "identity-source",
        "state-table",
        "kill-switch",
        "breaker",
        "findings-topic",
        "event-rules",
        "reconciler",
        "dead-letters",
    ] {
        assert!(failed.contains(&id.to_owned()), "{id}: {}", text(&o));
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["doctor", "--stack", ""][..],
        &["doctor", "--format", "yaml"],
        &["doctor", "--max-run-age", "0"],
    ] {
        let o = Command::new(idc_guard_tests::idc_guard_bin())
            .args(args)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
}

/// The template names its rules, table, topic and dead-letter queues as doctor looks for them.
#[test]
fn the_template_gives_its_resources_the_names_doctor_looks_for() {
    let template = std::fs::read_to_string(idc_guard_tests::repo_root().join("template.yaml")).unwrap();
    let names = DeploymentNames::new("${AWS::StackName}");
    let mut wanted = vec![
        format!("TableName: !Sub {}", names.table()),
        format!("TopicName: !Sub {}", names.topic()),
    ];
    wanted.extend(names.rules().into_iter().map(|r| format!("Name: !Sub {}", r.name)));
    wanted.extend(
        names
            .dead_letter_queues()
            .into_iter()
            .map(|(q, _)| format!("QueueName: !Sub {q}")),
    );
    for line in wanted {
        assert!(template.contains(&line), "template.yaml lacks `{line}`");
    }
    // Every rule the template declares is one doctor checks, in the state it checks.
    let rules = template.matches("Type: AWS::Events::Rule").count();
    assert_eq!(rules, names.rules().len(), "a rule doctor does not know of");
    assert!(template.contains("State: ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"));
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("idc-guard-doctor-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
