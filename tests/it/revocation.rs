//! Issue #14: what a removal does to live role sessions, against the emulator. After every
//! removal idc-guard makes, the users who lost a permission set in an account (and keep it
//! through nothing else) get a deny statement for the sessions issued before the removal,
//! re-provisioned to those accounts only, removed again once those sessions have expired; the
//! other statements of the set's inline policy are kept exactly as written.

use std::sync::Arc;

use aws_sdk_ssoadmin::types::{PrincipalType, ProvisioningStatus};
use idc_guard::adapters::{DynamoState, IdentityStoreApi, SsmParameters, SsoAdmin};
use idc_guard::domain::{
    AccountId, Action, Assignment, Date, Facts, InstanceArn, Mode, OutcomeKind, PermissionSetArn, Removal,
    RevocationStatus,
};
use idc_guard::guard::Guard;
use idc_guard::notify::LoggingNotifier;
use idc_guard::policy::Policy;
use idc_guard::ports::Ports;
use idc_guard::remediation;
use idc_guard::retry::RetryPolicy;
use idc_guard::revocation::Settings;
use idc_guard::safety::{ManualClock, MemoryParameters, MemoryStore, SafetyConfig, SafetyGate};
use idc_guard_tests::world::{self, PermissionSet, Principal, STATE_TABLE, User, with_rule_mode};
use idc_guard_tests::{REVERT_AND_REVOKE, idc_guard_bin, repo_root};
use serde_json::{Value, json};

const A: &str = "333333333333";
const B: &str = "444444444444";
/// 2026-12-05T14:20:00Z.
const T0: u64 = 1_796_480_400;
/// A removal at T0 denies the sessions issued before the end of its second.
const ISSUED_BEFORE: &str = "2026-12-05T14:20:01Z";
/// The shipped margin, PT10M.
const MARGIN: u64 = 600;
/// A harmless statement, written compactly so that a document of it reads back byte for byte.
const READ: &str = r#"{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}"#;

type MemGate = SafetyGate<MemoryParameters, MemoryStore, ManualClock>;
type RevGuard = Guard<SsoAdmin, IdentityStoreApi, LoggingNotifier, MemGate>;

fn today() -> Date {
    Date::new(2026, 12, 5).unwrap()
}

fn original() -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{READ}]}}"#)
}

/// The rails in memory, enforcing, on a clock the test moves.
fn gate(clock: &ManualClock) -> MemGate {
    let parameters = MemoryParameters::new();
    parameters.set(idc_guard::safety::DEFAULT_KILL_SWITCH, "enforce");
    SafetyGate::new(
        parameters,
        MemoryStore::default(),
        clock.clone(),
        SafetyConfig::default(),
    )
}

/// `DataEngineer` (PT4H, with the harmless inline policy unless `without_policy`) provisioned to
/// A and B through the group `data-engineers`; alice, a member of nothing.
async fn world(without_policy: bool) -> world::World {
    let mut set = PermissionSet::new("DataEngineer").session("PT4H").boundary(true);
    if !without_policy {
        set = set.inline_policy(&original());
    }
    world::World::builder()
        .permission_set(set)
        .group("data-engineers")
        .user(User::new("alice"))
        .user(User::new("bob"))
        .assign(A, "DataEngineer", Principal::group("data-engineers"))
        .assign(B, "DataEngineer", Principal::group("data-engineers"))
        .state_table()
        .build()
        .await
}

fn guard(w: &world::World, clock: &ManualClock, policy: Policy) -> RevGuard {
    w.guard_with_gate(LoggingNotifier, policy, gate(clock))
}

/// The accounts where the set's latest definition is provisioned, and those where it is not.
async fn provisioning(w: &world::World, set: &str) -> (Vec<String>, Vec<String>) {
    let mut out = Vec::new();
    for status in [
        ProvisioningStatus::LatestPermissionSetProvisioned,
        ProvisioningStatus::LatestPermissionSetNotProvisioned,
    ] {
        let mut accounts = w
            .sso
            .list_accounts_for_provisioned_permission_set()
            .instance_arn(&w.instance)
            .permission_set_arn(set)
            .provisioning_status(status)
            .send()
            .await
            .unwrap()
            .account_ids()
            .to_vec();
        accounts.sort();
        out.push(accounts);
    }
    (out.remove(0), out.remove(0))
}

/// The statements of a policy text.
fn statements(text: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(text).unwrap();
    doc["Statement"].as_array().cloned().unwrap_or_default()
}

fn revocation_statement(users: &[&str], accounts: &[&str], issued_before: &str) -> Value {
    json!({
        "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {
            "StringEquals": {"identitystore:userId": users, "aws:PrincipalAccount": accounts},
            "DateLessThan": {"aws:TokenIssueTime": issued_before},
        },
    })
}

/// A statement without its `Sid`.
fn unnamed(statement: &Value) -> Value {
    let mut s = statement.clone();
    s.as_object_mut().unwrap().remove("Sid");
    s
}

#[tokio::test]
async fn a_user_revert_revokes_that_users_sessions_in_that_account_only_keeping_the_policy_as_written() {
    let w = world(false).await;
    let set = w.set_arn("DataEngineer").to_owned();
    let alice = w.user_id("alice").to_owned();
    let clock = ManualClock::new(T0);
    let guard = guard(&w, &clock, w.shipped_policy());
    w.assign(A, &set, PrincipalType::User, &alice).await;
    let before = provisioning(&w, &set).await;
    assert_eq!(before, (vec![A.to_owned(), B.to_owned()], vec![]));
    w.calls.clear();
    let event = w.user_assignment_event(&set, A, &alice).to_string();
    let report = Box::pin(guard.handle(&event, today())).await.unwrap();

    assert_eq!(report.outcomes.len(), 1, "{report:?}");
    let outcome = &report.outcomes[0];
    assert_eq!(outcome.kind, OutcomeKind::Remediated);
    assert_eq!(outcome.calls, REVERT_AND_REVOKE);
    assert_eq!(w.calls.mutating(), outcome.calls);
    let [revoked] = &outcome.revocations[..] else {
        panic!("{:?}", outcome.revocations)
    };
    assert_eq!(revoked.status, RevocationStatus::Revoked);
    let [statement] = &revoked.statements[..] else {
        panic!("{revoked:?}")
    };
    assert_eq!(statement.users, std::slice::from_ref(&alice));
    assert_eq!(statement.accounts, [AccountId::parse(A).unwrap()]);
    assert_eq!(statement.issued_before, T0 + 1);
    assert_eq!(statement.until, T0 + 1 + 4 * 3600 + MARGIN);

    // Exactly one statement more, for that user, account and time; the original kept as written.
    let text = w.inline_policy(&set).await;
    assert!(
        text.starts_with(&format!(r#"{{"Version":"2012-10-17","Statement":[{READ},"#)),
        "{text}"
    );
    let all = statements(&text);
    assert_eq!(all.len(), 2, "{text}");
    assert_eq!(all[1]["Sid"], "IdcGuardRevoke20261205T183001Z1");
    assert_eq!(unnamed(&all[1]), revocation_statement(&[&alice], &[A], ISSUED_BEFORE));
    // Re-provisioned to that account only.
    assert_eq!(provisioning(&w, &set).await, (vec![A.to_owned()], vec![B.to_owned()]));
    assert_eq!(w.count_assignments(A, &set).await, 1, "the group's assignment stays");

    // The same event again (a duplicate delivery): nothing more.
    w.calls.clear();
    Box::pin(guard.handle(&event, today())).await.unwrap();
    assert_eq!(w.calls.mutating(), Vec::<String>::new());
    assert_eq!(statements(&w.inline_policy(&set).await).len(), 2);

    // Once the sessions have expired, the sweep removes the statement and provisions A again;
    // the policy is byte for byte the original.
    clock.advance(std::time::Duration::from_secs(4 * 3600 + MARGIN));
    let (swept, error) = guard
        .sweep_revocations(
            &InstanceArn::parse(&w.instance).unwrap(),
            &[PermissionSetArn::parse(&set).unwrap()],
        )
        .await;
    assert!(error.is_none());
    assert!(swept.is_empty(), "not yet due: {swept:?}");
    clock.advance(std::time::Duration::from_secs(1));
    w.calls.clear();
    let (swept, error) = guard
        .sweep_revocations(&InstanceArn::parse(&w.instance).unwrap(), &[])
        .await;
    assert!(error.is_none());
    let [expired] = &swept[..] else { panic!("{swept:?}") };
    assert_eq!(expired.status, RevocationStatus::Expired);
    assert_eq!(
        w.calls.mutating(),
        ["PutInlinePolicyToPermissionSet", "ProvisionPermissionSet"]
    );
    assert_eq!(w.inline_policy(&set).await, original());
    assert_eq!(provisioning(&w, &set).await, (vec![A.to_owned()], vec![B.to_owned()]));
    // Nothing is noted any more: the next sweep does nothing.
    w.calls.clear();
    let (swept, _) = guard
        .sweep_revocations(&InstanceArn::parse(&w.instance).unwrap(), &[])
        .await;
    assert!(swept.is_empty());
    assert_eq!(w.calls.all(), Vec::<String>::new());
}

#[tokio::test]
async fn a_set_without_an_inline_policy_gets_one_and_loses_it_when_the_revocation_expires() {
    let w = world(true).await;
    let set = w.set_arn("DataEngineer").to_owned();
    let alice = w.user_id("alice").to_owned();
    let clock = ManualClock::new(T0);
    let guard = guard(&w, &clock, w.shipped_policy());
    w.assign(A, &set, PrincipalType::User, &alice).await;
    let event = w.user_assignment_event(&set, A, &alice).to_string();
    let report = Box::pin(guard.handle(&event, today())).await.unwrap();
    assert_eq!(report.outcomes[0].revocations[0].status, RevocationStatus::Revoked);
    let text = w.inline_policy(&set).await;
    assert_eq!(statements(&text).len(), 1, "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["Version"], "2012-10-17");
    // A permission-set event after the expiry that the guard judges live (its policy text is
    // redacted): the guard reading the set removes it. (An event compliant on its face is not
    // read at all, issue #15: its set's expired statements wait for the 15-minute sweep.)
    clock.advance(std::time::Duration::from_secs(4 * 3600 + MARGIN + 1));
    w.calls.clear();
    let touch = w
        .permission_set_event("sso.PutInlinePolicyToPermissionSet-redacted-undetermined.json", &set)
        .to_string();
    Box::pin(guard.handle(&touch, today())).await.unwrap();
    assert_eq!(w.inline_policy(&set).await, "");
    assert_eq!(
        w.calls.mutating(),
        ["DeleteInlinePolicyFromPermissionSet", "ProvisionPermissionSet"]
    );
}

#[tokio::test]
async fn a_hand_made_membership_removed_revokes_what_the_group_gave_in_one_statement_per_set() {
    let w = world(false).await;
    let set = w.set_arn("DataEngineer").to_owned();
    let alice = w.user_id("alice").to_owned();
    let group = w.group_id("data-engineers").to_owned();
    let clock = ManualClock::new(T0);
    let shipped = std::fs::read_to_string(repo_root().join("policy/guardrail.toml")).unwrap();
    let text = with_rule_mode(&shipped, "identity-store-scim-only", "enforce");
    let guard = guard(
        &w,
        &clock,
        w.scoped(Policy::from_toml("guardrail.toml", &text).unwrap()),
    );
    let membership = w.add_member(&group, &alice).await;
    w.calls.clear();
    let event = w.membership_event(&group, &alice, &membership).to_string();
    let report = Box::pin(guard.handle(&event, today())).await.unwrap();
    let outcome = &report.outcomes[0];
    assert_eq!(outcome.kind, OutcomeKind::Remediated, "{report:?}");
    let [revoked] = &outcome.revocations[..] else {
        panic!("{:?}", outcome.revocations)
    };
    assert_eq!(revoked.status, RevocationStatus::Revoked);
    // One statement: alice in both accounts the group holds the set in.
    let all = statements(&w.inline_policy(&set).await);
    assert_eq!(all.len(), 2);
    assert_eq!(
        unnamed(&all[1]),
        revocation_statement(&[&alice], &[A, B], ISSUED_BEFORE)
    );
    assert_eq!(provisioning(&w, &set).await, (vec![A.to_owned(), B.to_owned()], vec![]));
    assert_eq!(
        w.calls.mutating(),
        [
            "DeleteGroupMembership",
            "PutInlinePolicyToPermissionSet",
            "ProvisionPermissionSet",
            "ProvisionPermissionSet"
        ]
    );
}

/// The reconciler's removal of an extra GROUP assignment (the desired-assignments rule plans
/// the deletion and the revocation; executed as the reconciler does): only the members who do
/// not keep the set in the account through another assignment lose their sessions.
#[tokio::test]
async fn a_group_assignment_removed_revokes_only_the_members_without_other_access() {
    let w = world(false).await;
    let set = w.set_arn("DataEngineer").to_owned();
    let (alice, bob) = (w.user_id("alice").to_owned(), w.user_id("bob").to_owned());
    let group = w.group_id("data-engineers").to_owned();
    w.add_member(&group, &alice).await;
    w.add_member(&group, &bob).await;
    // bob keeps DataEngineer in A through another group.
    let other = w.create_group("platform").await;
    w.add_member(&other, &bob).await;
    w.assign(A, &set, PrincipalType::Group, &other).await;
    let clock = ManualClock::new(T0);
    let gate = gate(&clock);
    let assignment = Assignment {
        instance_arn: InstanceArn::parse(&w.instance).unwrap(),
        account_id: AccountId::parse(A).unwrap(),
        permission_set_arn: PermissionSetArn::parse(&set).unwrap(),
        principal_type: idc_guard::domain::PrincipalType::Group,
        principal_id: group.clone(),
    };
    let actions = [
        Action::DeleteAccountAssignment(assignment.clone()),
        Action::RevokeSessions {
            instance_arn: Some(assignment.instance_arn.clone()),
            removal: Removal::Assignment(assignment),
            mode: Mode::Enforce,
        },
    ];
    let (sso, ids) = (
        SsoAdmin::new(w.recorded_sso(), RetryPolicy::immediate()),
        IdentityStoreApi::new(w.recorded_ids(), RetryPolicy::immediate()),
    );
    let ports = Ports {
        identity_center: &sso,
        identity_store: &ids,
        gate: &gate,
    };
    let executed = Box::pin(remediation::execute(
        &ports,
        &actions,
        &Facts::default(),
        Settings { margin: MARGIN },
    ))
    .await;
    assert_eq!(executed.failure, None);
    let [revoked] = &executed.revocations[..] else {
        panic!("{:?}", executed.revocations)
    };
    assert_eq!(revoked.status, RevocationStatus::Revoked);
    let all = statements(&w.inline_policy(&set).await);
    assert_eq!(unnamed(&all[1]), revocation_statement(&[&alice], &[A], ISSUED_BEFORE));
    assert_eq!(all.len(), 2);
}

/// The same access removed again later (a user re-assigned after the first revert): the later
/// statement supersedes the first instead of piling up toward the quota.
#[tokio::test]
async fn the_same_access_removed_again_replaces_its_statement() {
    let w = world(false).await;
    let set = w.set_arn("DataEngineer").to_owned();
    let alice = w.user_id("alice").to_owned();
    let clock = ManualClock::new(T0);
    let guard = guard(&w, &clock, w.shipped_policy());
    for (n, issued_before) in [(1, ISSUED_BEFORE), (2, "2026-12-05T14:30:01Z")] {
        w.assign(A, &set, PrincipalType::User, &alice).await;
        let event = w
            .user_assignment_event(&set, A, &alice)
            .with("eventID", json!(format!("00000000-0000-4000-8000-00000000000{n}")))
            .envelope(&format!("10000000-0000-4000-8000-00000000000{n}"))
            .to_string();
        let report = Box::pin(guard.handle(&event, today())).await.unwrap();
        assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated, "{report:?}");
        let all = statements(&w.inline_policy(&set).await);
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(unnamed(&all[1]), revocation_statement(&[&alice], &[A], issued_before));
        clock.advance(std::time::Duration::from_secs(600));
    }
}

#[tokio::test]
async fn a_revocation_that_would_not_fit_the_quota_writes_nothing_and_is_a_finding() {
    // A document of about 10,100 non-whitespace characters (of 10,240): no room for a statement
    // of about 280.
    let statement = r#"{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::bucket-0000000000/*"}"#;
    let many = vec![statement; 10_100 / (statement.len() + 1)].join(",");
    let full = format!(r#"{{"Version":"2012-10-17","Statement":[{many}]}}"#);
    assert!(
        idc_guard::iam::revocation::fits_quota(&full).is_ok(),
        "the set itself must be valid"
    );
    let w = world::World::builder()
        .permission_set(
            PermissionSet::new("DataEngineer")
                .session("PT4H")
                .boundary(true)
                .inline_policy(&full),
        )
        .user(User::new("alice"))
        .build()
        .await;
    let set = w.set_arn("DataEngineer").to_owned();
    let alice = w.user_id("alice").to_owned();
    let clock = ManualClock::new(T0);
    let guard = guard(&w, &clock, w.shipped_policy());
    w.assign(A, &set, PrincipalType::User, &alice).await;
    w.calls.clear();
    let event = w.user_assignment_event(&set, A, &alice).to_string();
    let report = Box::pin(guard.handle(&event, today())).await.unwrap();
    // The removal stands; the revocation is reported as failed, never silent.
    let rules: Vec<&str> = report.outcomes.iter().map(|o| o.finding.rule.as_str()).collect();
    assert_eq!(rules, ["assignment-principal-type", "revocation-failed"], "{report:?}");
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated);
    let OutcomeKind::Failed { error } = &report.outcomes[1].kind else {
        panic!("{report:?}")
    };
    assert!(
        error.contains("nothing was written") && error.contains("10240"),
        "{error}"
    );
    assert!(
        report.outcomes[1].finding.message.contains("idc-guard revoke"),
        "{}",
        report.outcomes[1].finding.message
    );
    assert_eq!(w.calls.mutating(), ["DeleteAccountAssignment"]);
    assert_eq!(w.inline_policy(&set).await, full);
}

/// Two users reverted at once on one set, by two guards (two functions) sharing the rails'
/// table: both statements land (the policy is only ever overwritten whole, under the lease).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_revocations_on_one_set_both_land() {
    let w = world(false).await;
    let set = w.set_arn("DataEngineer").to_owned();
    let (alice, bob) = (w.user_id("alice").to_owned(), w.user_id("bob").to_owned());
    w.set_kill_switch("enforce").await;
    w.assign(A, &set, PrincipalType::User, &alice).await;
    w.assign(A, &set, PrincipalType::User, &bob).await;
    let guard = || {
        Arc::new(w.guard_with_gate(
            LoggingNotifier,
            w.shipped_policy(),
            SafetyGate::new(
                SsmParameters::new(w.ssm.clone(), RetryPolicy::immediate()),
                DynamoState::new(w.ddb.clone(), STATE_TABLE, RetryPolicy::immediate()),
                ManualClock::new(T0),
                SafetyConfig::default(),
            ),
        ))
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (user, id) in [(&alice, "1"), (&bob, "2")] {
        let guard = guard();
        let event = w
            .user_assignment_event(&set, A, user)
            .with("eventID", json!(format!("00000000-0000-0000-0000-00000000000{id}")))
            .to_string();
        tasks.spawn(async move { Box::pin(guard.handle(&event, today())).await.unwrap() });
    }
    for report in tasks.join_all().await {
        assert_eq!(
            report.outcomes[0].revocations[0].status,
            RevocationStatus::Revoked,
            "{report:?}"
        );
    }
    let all = statements(&w.inline_policy(&set).await);
    let mut revoked: Vec<Value> = all[1..]
        .iter()
        .map(|s| s["Condition"]["StringEquals"]["identitystore:userId"].clone())
        .collect();
    revoked.sort_by_key(ToString::to_string);
    let mut expected = vec![json!([alice]), json!([bob])];
    expected.sort_by_key(ToString::to_string);
    assert_eq!(revoked, expected, "{all:?}");
    assert_eq!(all[0], serde_json::from_str::<Value>(READ).unwrap());
}

/// The inline-policy rule removes exactly the forbidden statement and keeps idc-guard's
/// revocation (a Deny grants nothing), read again at execution under the same lease.
#[tokio::test]
async fn the_inline_policy_correction_keeps_revocation_statements() {
    let w = world(false).await;
    let set = w.set_arn("DataEngineer").to_owned();
    let alice = w.user_id("alice").to_owned();
    let clock = ManualClock::new(T0);
    let guard = guard(&w, &clock, w.shipped_policy());
    w.assign(A, &set, PrincipalType::User, &alice).await;
    Box::pin(guard.handle(&w.user_assignment_event(&set, A, &alice).to_string(), today()))
        .await
        .unwrap();
    let with_revocation = w.inline_policy(&set).await;
    let forbidden = r#"{"Effect":"Allow","Action":"iam:*","Resource":"*"}"#;
    let tampered = with_revocation.replacen(READ, &format!("{READ},{forbidden}"), 1);
    w.put_inline_policy(&set, &tampered).await;
    let event = w
        .permission_set_event("sso.PutInlinePolicyToPermissionSet-iam-undetermined.json", &set)
        .with("eventID", json!("00000000-0000-0000-0000-0000000000aa"))
        .to_string();
    let report = Box::pin(guard.handle(&event, today())).await.unwrap();
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated, "{report:?}");
    assert_eq!(w.inline_policy(&set).await, with_revocation);
}

/// `idc-guard revoke`: a dry run changes nothing; `--yes` revokes in every set and account the
/// user can use; `--list` shows it; `--lift` ends it early.
#[tokio::test]
async fn revoke_on_request_dry_run_list_and_lift() {
    let w = world(false).await;
    let set = w.set_arn("DataEngineer").to_owned();
    let alice = w.user_id("alice").to_owned();
    w.add_member(w.group_id("data-engineers"), &alice).await;
    w.set_kill_switch("enforce").await;
    let policy = w.policy_file("revoke", |t| t);
    let run = |args: &[&str]| {
        let out = std::process::Command::new(idc_guard_bin())
            .arg("revoke")
            .args(["--policy", &policy.path().display().to_string(), "--by", "oncall"])
            .args(args)
            .envs(w.aws_env())
            .env("IDC_GUARD_STATE_TABLE", STATE_TABLE)
            .env_remove("IDC_GUARD_TOPIC_ARN")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["--user", "alice"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("Would revoke live sessions in DataEngineer") && out.contains("Dry run"),
        "{out}"
    );
    assert!(out.contains(A) && out.contains(B), "{out}");
    assert_eq!(w.inline_policy(&set).await, original());

    let (code, out, err) = run(&["--user", "alice", "--account", B, "--yes", "--reason", "laptop stolen"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Live sessions revoked in DataEngineer"), "{out}");
    assert!(out.contains("Active sessions"), "the portal sessions hint: {out}");
    let all = statements(&w.inline_policy(&set).await);
    assert_eq!(all.len(), 2);
    assert_eq!(all[1]["Condition"]["StringEquals"]["aws:PrincipalAccount"], json!([B]));
    let sid = all[1]["Sid"].as_str().unwrap().to_owned();

    let (code, out, err) = run(&["--list"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&sid) && out.contains("DataEngineer") && out.contains("alice") && out.contains(B),
        "{out}"
    );

    let (code, out, err) = run(&["--lift", &sid, "--yes", "--reason", "laptop found"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Revocations lifted in"), "{out}");
    assert_eq!(w.inline_policy(&set).await, original());
    let (_, out, _) = run(&["--list"]);
    assert!(out.contains("No active revocations"), "{out}");
    // --yes without a reason is a usage error, and nothing is done.
    let (code, _, err) = run(&["--user", "alice", "--yes"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--reason"), "{err}");
}
