//! `dormant-access` in the reconciler (issue #17), against the emulator: usage recorded in the
//! state table through the DynamoDB adapter, read back by `usage::load`, joined onto the live
//! assignments (a GROUP's members read from the identity store), judged, and in enforce mode
//! corrected through the gate with the sessions revoked, except where the desired file lists the
//! assignment. Each test asserts the report, the emulator's state and the exact mutating calls.

use std::sync::{Arc, Mutex};

use aws_sdk_ssoadmin::types::PrincipalType as SdkPrincipalType;
use idc_guard::adapters::{DynamoState, IdentityStoreApi, Organizations};
use idc_guard::domain::usage::DAY;
use idc_guard::domain::{AccountId, Channel, IdentityStoreId, InstanceArn, LastUse, Outcome, UseKey};
use idc_guard::policy::Policy;
use idc_guard::ports::{InstanceRef, Notifier, Remote, UsageStore};
use idc_guard::reconcile::{self, RunOptions, RunReport};
use idc_guard::retry::RetryPolicy;
use idc_guard::usage::{self, UsageInput};
use idc_guard_tests::world::{self, PermissionSet, User, World};

/// The outcomes published, in order.
#[derive(Debug, Clone, Default)]
struct Findings(Arc<Mutex<Vec<Outcome>>>);

impl Notifier for Findings {
    async fn publish(&self, outcome: &Outcome) -> Remote<()> {
        self.0.lock().unwrap().push(outcome.clone());
        Ok(())
    }
}

fn instance(w: &World) -> InstanceRef {
    InstanceRef {
        instance_arn: InstanceArn::parse(&w.instance).unwrap(),
        identity_store_id: IdentityStoreId::parse(&w.store).unwrap(),
    }
}

fn store(w: &World) -> DynamoState {
    DynamoState::new(w.ddb.clone(), world::STATE_TABLE, RetryPolicy::immediate())
}

/// Accounts A and B of an organisation; group `eng` (alice, bob) holds `ReadOnly` in A and in B;
/// carol holds `AdministratorAccess` in A directly; `ops` (dave) holds `ReadOnly` in A.
async fn world() -> (World, String, String) {
    let w = World::builder()
        .organization(["a", "b"])
        .permission_set(PermissionSet::new("ReadOnly").boundary(true))
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
        .state_table()
        .build()
        .await;
    let (a, b) = (w.accounts[0].clone(), w.accounts[1].clone());
    let (read_only, admin) = (w.set_arn("ReadOnly"), w.set_arn("AdministratorAccess"));
    w.assign(&a, read_only, SdkPrincipalType::Group, w.group_id("eng"))
        .await;
    w.assign(&b, read_only, SdkPrincipalType::Group, w.group_id("eng"))
        .await;
    w.assign(&a, admin, SdkPrincipalType::User, w.user_id("carol")).await;
    w.assign(&a, read_only, SdkPrincipalType::Group, w.group_id("ops"))
        .await;
    (w, a, b)
}

/// Usage recorded since `since`, every assignment first seen then too.
async fn record(w: &World, since: u64, uses: &[(&str, &str, &str, u64)]) {
    let s = store(w);
    s.start_recording(since).await.unwrap();
    for (user, set, account, at) in uses {
        let last = LastUse {
            key: UseKey {
                user_id: w.user_id(user).to_owned(),
                permission_set: (*set).to_owned(),
                account: AccountId::parse(account).unwrap(),
            },
            at: *at,
            event_id: format!("e-{user}-{at}"),
            channel: Channel::Credentials,
        };
        assert!(s.record_use(&last, usage::expires_at(*at)).await.unwrap());
    }
}

async fn run(w: &World, policy_text: &str, desired: Option<&str>, now: u64) -> RunReport {
    let policy = w.scoped(Policy::from_toml("test.toml", policy_text).unwrap());
    let guard = w.guard(Findings::default(), policy);
    let mut options = RunOptions::now(false);
    options.now = now;
    options.inventory.definitions = false;
    options.usage = usage::load(&store(w)).await;
    let file = desired.map(|text| idc_guard::desired::parse("assignments.toml", text));
    Box::pin(reconcile::run(
        &guard,
        &IdentityStoreApi::new(w.ids.clone(), RetryPolicy::immediate()),
        &Organizations::new(w.orgs.clone(), RetryPolicy::immediate()),
        &instance(w),
        file,
        &options,
    ))
    .await
    .unwrap()
}

/// Global enforce, the rules that would also act on these assignments off: only
/// `dormant-access` (detect by default) judges them.
const DETECT: &str = r#"
mode = "enforce"
[rules.permissions-boundary-required]
mode = "off"
[rules.abac-attributes-required]
mode = "off"
[rules.assignment-principal-type]
mode = "off"
[rules.desired-assignments]
mode = "off"
"#;

fn dormant(report: &RunReport) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = report
        .plan
        .iter()
        .filter(|a| a.rule.as_str() == "dormant-access")
        .map(|a| {
            (
                a.resource.principal_name.clone().unwrap_or_default(),
                a.resource.account_id.clone().unwrap_or_default(),
            )
        })
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn group_user_and_unused_assignments_are_judged_from_the_recorded_uses() {
    let (w, a, b) = world().await;
    let (a, b) = (a.as_str(), b.as_str());
    let now = 1_000 * DAY;
    let since = now - 200 * DAY;
    record(
        &w,
        since,
        &[
            // bob used eng's ReadOnly in A 5 days ago: the group's assignment is active.
            ("bob", "ReadOnly", a, now - 5 * DAY),
            // alice used it 100 days ago in B: eng's assignment in B is dormant over 90 days.
            ("alice", "ReadOnly", b, now - 100 * DAY),
            // carol used AdministratorAccess 40 days ago: dormant over the privileged 30 days.
            ("carol", "AdministratorAccess", a, now - 40 * DAY),
            // dave used ReadOnly in B, where ops holds nothing: not ops's use in A.
            ("dave", "ReadOnly", b, now - DAY),
        ],
    )
    .await;
    // The first run sees every assignment for the first time: nothing is dormant yet, and
    // only the one used within its window is active.
    let first = run(&w, DETECT, None, now).await;
    assert_eq!(dormant(&first), Vec::<(String, String)>::new(), "{}", first.table());
    assert_eq!(
        (first.usage.active, first.usage.not_yet_observed),
        (1, 3),
        "{:?}",
        first.usage
    );
    assert_eq!(first.sightings.new.len(), 4);
    first.sightings.write(&store(&w), since).await.unwrap();
    // Seen since the recording began: judged on the uses.
    w.calls.clear();
    let report = run(&w, DETECT, None, now).await;
    assert_eq!(
        dormant(&report),
        [
            ("carol".to_owned(), a.to_owned()),
            ("eng".to_owned(), b.to_owned()),
            ("ops".to_owned(), a.to_owned()),
        ],
        "{}",
        report.table()
    );
    assert_eq!(
        (report.usage.active, report.usage.dormant, report.usage.unknown),
        (1, 3, 0),
        "{:?}",
        report.usage
    );
    let eng_b = report
        .plan
        .iter()
        .find(|x| x.rule.as_str() == "dormant-access" && x.resource.account_id.as_deref() == Some(b))
        .unwrap();
    assert!(eng_b.reason.contains("alice"), "{}", eng_b.reason);
    let columns = eng_b.usage.as_ref().unwrap();
    assert_eq!(
        (columns.dormancy.as_str(), columns.users, columns.window_days),
        ("dormant", 1, 90)
    );
    // Detect by default: the removal is planned and reported, nothing changed.
    assert_eq!(eng_b.mode.to_string(), "detect");
    assert_eq!(eng_b.outcome.as_deref(), Some("detected"), "{}", report.table());
    assert_eq!(w.calls.mutating(), Vec::<String>::new());
}

#[tokio::test]
async fn without_usage_data_nothing_is_dormant() {
    let (w, _, _) = world().await;
    let report = run(&w, DETECT, None, 1_000 * DAY).await;
    assert!(matches!(usage::load(&store(&w)).await, UsageInput::None));
    assert_eq!(dormant(&report), Vec::<(String, String)>::new());
    assert_eq!(report.usage.data, "none");
    assert!(report.sightings.new.is_empty());
}

#[tokio::test]
async fn enforce_removes_the_unlisted_dormant_assignment_and_revokes_and_keeps_the_listed_one() {
    let (w, a, b) = world().await;
    let now = 1_000 * DAY;
    let since = now - 200 * DAY;
    record(
        &w,
        since,
        &[
            ("bob", "ReadOnly", &a, now - 5 * DAY),
            ("dave", "ReadOnly", &a, now - DAY),
        ],
    )
    .await;
    let first = run(&w, DETECT, None, now).await;
    first.sightings.write(&store(&w), since).await.unwrap();
    let enforce = format!("{DETECT}\n[rules.dormant-access]\nmode = \"enforce\"\n");
    // desired-assignments and assignment-principal-type are off, so only dormant-access acts on
    // carol's direct assignment, which the desired file does not list.
    // Lists eng (A, B) and ops (A); carol's direct assignment is not listed.
    let listed = format!(
        "[[assignments]]\ngroup = \"eng\"\npermission_set = \"ReadOnly\"\ntargets = [\"{a}\", \"{b}\"]\n\n\
         [[assignments]]\ngroup = \"ops\"\npermission_set = \"ReadOnly\"\ntargets = [\"{a}\"]\n"
    );
    w.calls.clear();
    let report = run(&w, &enforce, Some(&listed), now).await;
    let carol = report
        .plan
        .iter()
        .find(|x| x.rule.as_str() == "dormant-access" && x.resource.principal_name.as_deref() == Some("carol"))
        .unwrap_or_else(|| panic!("{}", report.table()));
    assert_eq!(
        carol.outcome.as_deref(),
        Some("remediated and verified"),
        "{}",
        report.table()
    );
    let eng_b = report
        .plan
        .iter()
        .find(|x| x.rule.as_str() == "dormant-access" && x.resource.account_id.as_deref() == Some(b.as_str()))
        .unwrap();
    assert!(eng_b.actions.is_empty(), "{:?}", eng_b.actions);
    assert!(
        eng_b.reason.contains("desired-assignments file lists it"),
        "{}",
        eng_b.reason
    );
    // carol's assignment deleted, then her sessions denied in the set (one inline-policy write,
    // provisioned to A); nothing else.
    assert_eq!(
        w.calls.mutating(),
        [
            "DeleteAccountAssignment",
            "PutInlinePolicyToPermissionSet",
            "ProvisionPermissionSet"
        ]
    );
    let left = w
        .sso
        .list_account_assignments()
        .instance_arn(&w.instance)
        .account_id(&a)
        .permission_set_arn(w.set_arn("AdministratorAccess"))
        .send()
        .await
        .unwrap();
    assert!(
        left.account_assignments()
            .iter()
            .all(|a| a.principal_type() != Some(&SdkPrincipalType::User)),
        "{left:?}"
    );
}

/// `export` and `scan` read the usage data from the state table `IDC_GUARD_STATE_TABLE` names:
/// the CSV gains the usage columns and the run report its `usage` section and per-row columns.
#[tokio::test]
async fn export_and_scan_show_last_use_and_dormancy_from_the_state_table() {
    use std::process::Command;
    let (w, a, b) = world().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let since = now - 200 * DAY;
    record(&w, since, &[("bob", "ReadOnly", &a, now - 5 * DAY)]).await;
    let keys: Vec<String> = live_assignments(&w).await;
    store(&w).note_first_seen(&keys, since).await.unwrap();
    let dir = std::env::temp_dir().join(format!(
        "idc-guard-dormant-{}-{}",
        std::process::id(),
        w.emulator.port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, DETECT).unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(idc_guard_tests::idc_guard_bin())
            .args(args)
            .current_dir(&dir)
            .envs(w.aws_env())
            .env("IDC_GUARD_POLICY", &policy)
            .env("IDC_GUARD_STATE_TABLE", world::STATE_TABLE)
            .env_remove("IDC_GUARD_ASSIGNMENTS")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap();
        let text = format!(
            "status {:?}\n{}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            text,
        )
    };
    let (code, csv, text) = cli(&["export", "--format", "csv", "--instance-arn", &w.instance]);
    assert_eq!(code, Some(0), "{text}");
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with(",owner,last_use,last_user,users,dormancy,window_days"),
        "{csv}"
    );
    let row = |principal: &str, account: &str| {
        csv.lines()
            .find(|l| l.contains(&format!(",{principal},")) && l.contains(account))
            .unwrap_or_else(|| panic!("{principal} {account}: {csv}"))
            .to_owned()
    };
    let bob_used = idc_guard::domain::time::utc(now - 5 * DAY);
    assert!(
        row("eng", &a).ends_with(&format!(",{bob_used},bob,1,active,90")),
        "{csv}"
    );
    assert!(row("eng", &b).ends_with(",,,0,dormant,90"), "{csv}");
    assert!(row("carol", &a).ends_with(",,,0,dormant,30"), "{csv}");
    // scan: the report counts the assignments by dormancy and names the last use per row.
    let (code, json, text) = cli(&["scan", "--format", "json", "--instance-arn", &w.instance]);
    assert_eq!(code, Some(1), "{text}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["usage"]["data"], "used", "{json}");
    assert_eq!(
        (report["usage"]["active"].as_u64(), report["usage"]["dormant"].as_u64()),
        (Some(1), Some(3)),
        "{json}"
    );
    let dormant_rows: Vec<&serde_json::Value> = report["plan"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == "dormant-access")
        .collect();
    assert_eq!(dormant_rows.len(), 3, "{json}");
    assert!(dormant_rows.iter().all(|r| r["dormancy"] == "dormant"), "{json}");
    // Nothing was changed, nor noted: scan never writes.
    assert_eq!(store(&w).first_seen().await.unwrap().len(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The keys of the live assignments, as the reconciler notes them.
async fn live_assignments(w: &World) -> Vec<String> {
    let mut keys = Vec::new();
    for (_, set) in &w.permission_sets {
        for account in &w.accounts {
            let out = w
                .sso
                .list_account_assignments()
                .instance_arn(&w.instance)
                .account_id(account)
                .permission_set_arn(set)
                .send()
                .await
                .unwrap();
            for x in out.account_assignments() {
                keys.push(usage::assignment_key(&idc_guard::domain::Assignment {
                    instance_arn: InstanceArn::parse(&w.instance).unwrap(),
                    account_id: AccountId::parse(account).unwrap(),
                    permission_set_arn: idc_guard::domain::PermissionSetArn::parse(set).unwrap(),
                    principal_type: match x.principal_type() {
                        Some(SdkPrincipalType::User) => idc_guard::domain::PrincipalType::User,
                        _ => idc_guard::domain::PrincipalType::Group,
                    },
                    principal_id: x.principal_id().unwrap().to_owned(),
                }));
            }
        }
    }
    keys
}
