//! The drift reconciler against the emulator (moto with idc-guard's extension, and its
//! Organizations): drift repaired in both directions, OU targets, every refusal, a failing page
//! (wire-level, aws-smithy-mocks), the race with an event, and the export round trip. Each test
//! asserts the emulator's state afterwards and the exact mutating calls.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use aws_sdk_identitystore::types::Name;
use aws_sdk_ssoadmin::types::{PrincipalType as SdkPrincipalType, TargetType};
use idc_guard::adapters::{IdentityStoreApi, Organizations, SsoAdmin};
use idc_guard::date::Date;
use idc_guard::desired;
use idc_guard::engine::Finding;
use idc_guard::guard::{Decision, Gate, Guard, Outcome, OutcomeKind};
use idc_guard::ids::{IdentityStoreId, InstanceArn};
use idc_guard::inventory::{Strategy, Unknown};
use idc_guard::model::Change;
use idc_guard::policy::Policy;
use idc_guard::ports::{InstanceRef, Notifier, Remote};
use idc_guard::reconcile::{self, RunOptions, RunReport};
use idc_guard::retry::RetryPolicy;
use idc_guard::safety::{ManualClock, MemoryParameters, MemoryStore, SafetyConfig, SafetyGate};
use idc_guard_tests::calls::CallRecorder;
use idc_guard_tests::emulator::Emulator;
use idc_guard_tests::repo_root;
use serde_json::{Value, json};

/// Rules that judge permission sets and ABAC are off: these tests are about assignments.
const POLICY: &str = r#"
mode = "enforce"
[rules.permissions-boundary-required]
mode = "off"
[rules.abac-attributes-required]
mode = "off"
"#;

/// The outcomes published, in order.
#[derive(Debug, Clone, Default)]
struct Findings(Arc<Mutex<Vec<Outcome>>>);

impl Findings {
    fn all(&self) -> Vec<Outcome> {
        self.0.lock().unwrap().clone()
    }
}

impl Notifier for Findings {
    async fn publish(&self, outcome: &Outcome) -> Remote<()> {
        self.0.lock().unwrap().push(outcome.clone());
        Ok(())
    }
}

struct World {
    emulator: Emulator,
    sdk: aws_config::SdkConfig,
    sso: aws_sdk_ssoadmin::Client,
    ids: aws_sdk_identitystore::Client,
    orgs: aws_sdk_organizations::Client,
    instance: InstanceRef,
    calls: CallRecorder,
    root: String,
    accounts: Vec<String>,
    groups: Vec<(String, String)>,
    ps: String,
}

async fn world(accounts: usize, groups: usize) -> World {
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let (instance, store) = emulator.instance().await;
    let sso = aws_sdk_ssoadmin::Client::new(&sdk);
    let ids = aws_sdk_identitystore::Client::new(&sdk);
    let orgs = aws_sdk_organizations::Client::new(&sdk);
    orgs.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let root = orgs.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_owned();
    let mut w = World {
        emulator,
        sdk,
        sso,
        ids,
        orgs,
        instance: InstanceRef {
            instance_arn: InstanceArn::parse(&instance).unwrap(),
            identity_store_id: IdentityStoreId::parse(&store).unwrap(),
        },
        calls: CallRecorder::default(),
        root,
        accounts: Vec::new(),
        groups: Vec::new(),
        ps: String::new(),
    };
    for i in 0..accounts {
        let id = w.account(&format!("acct-{i}")).await;
        w.accounts.push(id);
    }
    for i in 0..groups {
        let name = format!("team-{i}");
        let id = w.group(&name).await;
        w.groups.push((name, id));
    }
    w.ps = w.permission_set("ReadOnly").await;
    w
}

impl World {
    async fn account(&self, name: &str) -> String {
        let status = self
            .orgs
            .create_account()
            .email(format!("{name}@example.com"))
            .account_name(name)
            .send()
            .await
            .unwrap();
        status.create_account_status().unwrap().account_id().unwrap().to_owned()
    }

    async fn ou(&self, parent: &str, name: &str) -> String {
        self.orgs
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .send()
            .await
            .unwrap()
            .organizational_unit()
            .unwrap()
            .id()
            .unwrap()
            .to_owned()
    }

    async fn move_to(&self, account: &str, ou: &str) {
        self.orgs
            .move_account()
            .account_id(account)
            .source_parent_id(&self.root)
            .destination_parent_id(ou)
            .send()
            .await
            .unwrap();
    }

    async fn group(&self, name: &str) -> String {
        self.ids
            .create_group()
            .identity_store_id(self.instance.identity_store_id.as_str())
            .display_name(name)
            .send()
            .await
            .unwrap()
            .group_id()
            .to_owned()
    }

    async fn user(&self, name: &str) -> String {
        self.ids
            .create_user()
            .identity_store_id(self.instance.identity_store_id.as_str())
            .user_name(name)
            .display_name(name)
            .name(Name::builder().given_name("A").family_name("B").build())
            .send()
            .await
            .unwrap()
            .user_id()
            .to_owned()
    }

    async fn permission_set(&self, name: &str) -> String {
        self.sso
            .create_permission_set()
            .instance_arn(self.instance.instance_arn.as_str())
            .name(name)
            .session_duration("PT4H")
            .send()
            .await
            .unwrap()
            .permission_set()
            .unwrap()
            .permission_set_arn()
            .unwrap()
            .to_owned()
    }

    async fn assign(&self, account: &str, kind: SdkPrincipalType, principal: &str) {
        self.sso
            .create_account_assignment()
            .instance_arn(self.instance.instance_arn.as_str())
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(&self.ps)
            .principal_type(kind)
            .principal_id(principal)
            .send()
            .await
            .unwrap();
    }

    /// Every group assigned the set in every account: the baseline the desired file lists.
    async fn baseline(&self) {
        for a in &self.accounts {
            for (_, g) in &self.groups {
                self.assign(a, SdkPrincipalType::Group, g).await;
            }
        }
    }

    /// The baseline as a desired file, without the (group, account) pairs in `drop`, with `extra` entries.
    fn desired(&self, drop: &[(usize, usize)], extra: &str) -> String {
        let mut text = String::new();
        for (gi, (name, _)) in self.groups.iter().enumerate() {
            let targets: Vec<String> = self
                .accounts
                .iter()
                .enumerate()
                .filter(|(ai, _)| !drop.contains(&(gi, *ai)))
                .map(|(_, a)| format!("{a:?}"))
                .collect();
            if targets.is_empty() {
                continue;
            }
            text.push_str(&format!(
                "[[assignments]]\ngroup = {name:?}\npermission_set = \"ReadOnly\"\ntargets = [{}]\nowner = \"platform\"\n\n",
                targets.join(", ")
            ));
        }
        text + extra
    }

    /// Every live assignment of the set: (account, type, principal).
    async fn live(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let accounts = self.orgs.list_accounts().send().await.unwrap();
        for a in accounts.accounts() {
            let id = a.id().unwrap();
            let list = self
                .sso
                .list_account_assignments()
                .instance_arn(self.instance.instance_arn.as_str())
                .account_id(id)
                .permission_set_arn(&self.ps)
                .send()
                .await
                .unwrap();
            for x in list.account_assignments() {
                out.push((
                    id.to_owned(),
                    x.principal_type().unwrap().as_str().to_owned(),
                    x.principal_id().unwrap().to_owned(),
                ));
            }
        }
        out.sort();
        out
    }

    fn recorded_sso(&self) -> aws_sdk_ssoadmin::Client {
        aws_sdk_ssoadmin::Client::from_conf(
            aws_sdk_ssoadmin::config::Builder::from(&self.sdk)
                .interceptor(self.calls.clone())
                .build(),
        )
    }

    fn guard<G: Gate>(&self, findings: &Findings, gate: G) -> Guard<SsoAdmin, IdentityStoreApi, Findings, G> {
        Guard::with_gate(
            SsoAdmin::new(self.recorded_sso(), RetryPolicy::immediate()),
            IdentityStoreApi::new(self.ids.clone(), RetryPolicy::immediate()),
            findings.clone(),
            Policy::from_toml("test.toml", POLICY).unwrap(),
            gate,
        )
    }

    async fn reconcile<G: Gate>(
        &self,
        guard: &Guard<SsoAdmin, IdentityStoreApi, Findings, G>,
        desired_text: Option<&str>,
        dry_run: bool,
    ) -> RunReport {
        let file = desired_text.map(|t| desired::parse("assignments.toml", t));
        let mut options = RunOptions::now(dry_run);
        options.inventory.definitions = true;
        Box::pin(reconcile::run(
            guard,
            &IdentityStoreApi::new(self.ids.clone(), RetryPolicy::immediate()),
            &Organizations::new(self.orgs.clone(), RetryPolicy::immediate()),
            &self.instance,
            file,
            &options,
        ))
        .await
        .unwrap()
    }
}

fn group_key(w: &World, account: &str, group: usize) -> (String, String, String) {
    (account.to_owned(), "GROUP".to_owned(), w.groups[group].1.clone())
}

#[tokio::test]
async fn drift_in_both_directions_is_repaired_and_verified() {
    // 24 assignments, so one extra (1 of 23 live, 4%) stays under the 5% refusal.
    let w = world(6, 4).await;
    w.baseline().await;
    // Drift: team-0 was given account 4 outside the file; team-3's access to account 0 was removed.
    let desired_text = w.desired(&[(0, 4)], "");
    w.sso
        .delete_account_assignment()
        .instance_arn(w.instance.instance_arn.as_str())
        .target_id(&w.accounts[0])
        .target_type(TargetType::AwsAccount)
        .permission_set_arn(&w.ps)
        .principal_type(SdkPrincipalType::Group)
        .principal_id(&w.groups[3].1)
        .send()
        .await
        .unwrap();
    let findings = Findings::default();
    let guard = w.guard(&findings, idc_guard::guard::ModeGate);

    // A dry run plans both and changes nothing.
    let plan = w.reconcile(&guard, Some(&desired_text), true).await;
    assert_eq!(plan.refused, None, "{}", plan.table());
    assert_eq!((plan.counts.extra, plan.counts.missing), (1, 1), "{}", plan.table());
    assert_eq!(w.calls.mutating(), Vec::<String>::new());

    let report = w.reconcile(&guard, Some(&desired_text), false).await;
    assert_eq!(report.refused, None, "{}", report.table());
    assert_eq!(
        w.calls.mutating(),
        ["CreateAccountAssignment", "DeleteAccountAssignment"],
        "creations first"
    );
    for a in &report.plan {
        assert_eq!(
            a.outcome.as_deref(),
            Some("remediated and verified"),
            "{}",
            report.table()
        );
    }
    let live = w.live().await;
    assert!(
        !live.contains(&group_key(&w, &w.accounts[4], 0)),
        "the extra one is gone"
    );
    assert!(
        live.contains(&group_key(&w, &w.accounts[0], 3)),
        "the missing one is back"
    );
    assert_eq!(live.len(), 23);
    // One finding for the run's drift.
    let published = findings.all();
    assert_eq!(published.len(), 2, "one per run (dry run and real run)");
    assert_eq!(published[1].kind, OutcomeKind::Remediated);

    // A second run finds nothing.
    w.calls.clear();
    let again = w.reconcile(&guard, Some(&desired_text), false).await;
    assert!(!again.has_drift(), "{}", again.table());
    assert_eq!(w.calls.mutating(), Vec::<String>::new());
}

#[tokio::test]
async fn ou_targets_resolve_nested_ous_recursively() {
    let w = world(5, 4).await;
    w.baseline().await;
    let parent = w.ou(&w.root, "workloads").await;
    let child = w.ou(&parent, "prod").await;
    let grandchild = w.ou(&child, "payments").await;
    let a = w.account("workload-a").await;
    let b = w.account("workload-b").await;
    let c = w.account("workload-c").await;
    w.move_to(&a, &parent).await;
    w.move_to(&b, &child).await;
    w.move_to(&c, &grandchild).await;
    let auditors = w.group("auditors").await;
    let text = w.desired(
        &[],
        &format!("[[assignments]]\ngroup = \"auditors\"\npermission_set = \"ReadOnly\"\ntargets = [{parent:?}]\n"),
    );
    let findings = Findings::default();
    let guard = w.guard(&findings, idc_guard::guard::ModeGate);
    let report = w.reconcile(&guard, Some(&text), false).await;
    assert_eq!(report.refused, None, "{}", report.table());
    assert_eq!(report.counts.missing, 3, "{}", report.table());
    assert_eq!(w.calls.mutating(), ["CreateAccountAssignment"; 3]);
    let live = w.live().await;
    for account in [&a, &b, &c] {
        assert!(
            live.contains(&(account.clone(), "GROUP".to_owned(), auditors.clone())),
            "{account}"
        );
    }
    assert_eq!(live.len(), 23);
}

/// Runs a refused plan and checks: refused for `why`, zero mutations, exactly one finding.
async fn assert_refused(w: &World, desired_text: Option<&str>, why: &str) -> RunReport {
    let findings = Findings::default();
    let guard = w.guard(&findings, idc_guard::guard::ModeGate);
    let before = w.live().await;
    w.calls.clear();
    let report = w.reconcile(&guard, desired_text, false).await;
    let refused = report
        .refused
        .clone()
        .unwrap_or_else(|| panic!("not refused:\n{}", report.table()));
    assert!(refused.contains(why), "{refused}");
    assert_eq!(w.calls.mutating(), Vec::<String>::new(), "zero mutations");
    assert_eq!(w.live().await, before);
    let published = findings.all();
    assert_eq!(published.len(), 1, "one finding");
    match &published[0].kind {
        OutcomeKind::Withheld { reason } => assert!(reason.contains(why), "{reason}"),
        other => panic!("{other:?}"),
    }
    report
}

#[tokio::test]
async fn an_invalid_desired_file_is_refused_and_unknown_names_are_not_deletions() {
    let w = world(5, 4).await;
    w.baseline().await;
    // A syntax-valid file that names a group that does not exist, and every baseline group but one.
    let text = w.desired(
        &[],
        "[[assignments]]\ngroup = \"no-such-team\"\npermission_set = \"ReadOnly\"\ntargets = [\"all\"]\n",
    );
    let report = assert_refused(&w, Some(&text), "unknown group \"no-such-team\"").await;
    assert_eq!(report.desired, "invalid");
    // A file that does not parse.
    assert_refused(&w, Some("[[assignments]]\ngroup = 3\n"), "cannot be used").await;
}

#[tokio::test]
async fn a_desired_file_resolving_to_zero_entries_is_refused() {
    let w = world(5, 4).await;
    w.baseline().await;
    assert_refused(&w, Some("# nothing yet\n"), "resolves to zero assignments").await;
}

#[tokio::test]
async fn deleting_more_than_five_percent_of_governed_assignments_is_refused() {
    let w = world(5, 4).await;
    w.baseline().await;
    // 2 of 20 (10%) would go: under the destructive cap of 10, over the 5% share.
    let text = w.desired(&[(0, 0), (1, 1)], "");
    let report = assert_refused(&w, Some(&text), "would delete 2 of the 20 live assignments").await;
    assert_eq!(report.counts.destructive, 2);
}

#[tokio::test]
async fn more_destructive_actions_than_max_10_or_2_percent_is_refused() {
    let w = world(5, 4).await;
    w.baseline().await;
    // No desired file: 11 USER assignments violate assignment-principal-type (11 > max(10, 2% of 31)).
    for i in 0..11 {
        let user = w.user(&format!("user-{i}")).await;
        w.assign(&w.accounts[i % 5], SdkPrincipalType::User, &user).await;
    }
    let report = assert_refused(&w, None, "11 destructive actions, more than max(10, 2% of 31").await;
    assert_eq!(report.desired, "absent");
    // Ten are within the cap and are corrected.
    let findings = Findings::default();
    let guard = w.guard(&findings, idc_guard::guard::ModeGate);
    let users = w
        .live()
        .await
        .into_iter()
        .filter(|(_, t, _)| t == "USER")
        .collect::<Vec<_>>();
    w.sso
        .delete_account_assignment()
        .instance_arn(w.instance.instance_arn.as_str())
        .target_id(&users[0].0)
        .target_type(TargetType::AwsAccount)
        .permission_set_arn(&w.ps)
        .principal_type(SdkPrincipalType::User)
        .principal_id(&users[0].2)
        .send()
        .await
        .unwrap();
    w.calls.clear();
    let report = w.reconcile(&guard, None, false).await;
    assert_eq!(report.refused, None, "{}", report.table());
    assert_eq!(w.calls.mutating(), ["DeleteAccountAssignment"; 10]);
    assert!(w.live().await.iter().all(|(_, t, _)| t == "GROUP"));
}

#[tokio::test]
async fn export_toml_is_a_desired_file_with_an_empty_diff() {
    let w = world(5, 4).await;
    w.baseline().await;
    let findings = Findings::default();
    let guard = w.guard(&findings, idc_guard::guard::ModeGate);
    let options = idc_guard::inventory::Options {
        definitions: false,
        ..Default::default()
    };
    let (inv, _) = reconcile::survey(
        &guard,
        &IdentityStoreApi::new(w.ids.clone(), RetryPolicy::immediate()),
        &Organizations::new(w.orgs.clone(), RetryPolicy::immediate()),
        &w.instance,
        None,
        &options,
    )
    .await
    .unwrap();
    let rows = reconcile::export_rows(&inv, &Default::default());
    assert_eq!(rows.len(), 20);
    assert!(
        rows.iter()
            .all(|r| r.principal_name.starts_with("team-") && r.account_name.starts_with("acct-"))
    );
    let text = desired::to_toml(&rows, &inv.instance);
    let file = desired::parse("export.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let resolved = desired::resolve(&file, &reconcile::names(&inv)).unwrap();
    assert_eq!(reconcile::diff(&inv, &resolved), (Vec::new(), Vec::new()));
    // And a full run with it plans nothing.
    let report = w.reconcile(&guard, Some(&text), true).await;
    assert!(!report.has_drift(), "{}", report.table());
}

// --- the race with an event -------------------------------------------------------------------

type Pending = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A gate that, the first time it is asked, first lets another path run to completion (exactly
/// at the worst moment: after this path read the live state, before it acts), then decides as the
/// shared safety gate does.
struct RaceGate<G> {
    inner: Arc<G>,
    first: tokio::sync::Mutex<Option<Pending>>,
}

impl<G: Gate> Gate for RaceGate<G> {
    async fn decide(&self, change: &Change, finding: &Finding) -> Decision {
        let pending = self.first.lock().await.take();
        if let Some(other) = pending {
            other.await;
        }
        self.inner.decide(change, finding).await
    }

    async fn settle(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) {
        self.inner.settle(change, finding, outcome).await;
    }
}

type Rails = SafetyGate<MemoryParameters, MemoryStore, ManualClock>;

fn rails() -> Arc<Rails> {
    let parameters = MemoryParameters::new();
    parameters.set(idc_guard::safety::DEFAULT_KILL_SWITCH, "enforce");
    // 2026-11-27T12:00:00Z: after the event's time.
    Arc::new(SafetyGate::new(
        parameters,
        MemoryStore::default(),
        ManualClock::new(1_795_780_800),
        SafetyConfig::default(),
    ))
}

fn user_event(w: &World, user: &str) -> String {
    let text =
        std::fs::read_to_string(repo_root().join("events/sso.CreateAccountAssignment-user-violation.json")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    let d = &mut v["detail"];
    d["requestParameters"]["instanceArn"] = json!(w.instance.instance_arn.as_str());
    d["requestParameters"]["permissionSetArn"] = json!(w.ps);
    d["requestParameters"]["targetId"] = json!(w.accounts[0]);
    d["requestParameters"]["principalId"] = json!(user);
    d["eventTime"] = json!("2026-11-27T11:59:00Z");
    v.to_string()
}

fn today() -> Date {
    Date::new(2026, 11, 27).unwrap()
}

#[tokio::test]
async fn the_reconciler_acting_while_an_event_is_handled_makes_one_mutation() {
    let w = world(2, 1).await;
    let user = w.user("mallory").await;
    w.assign(&w.accounts[0], SdkPrincipalType::User, &user).await;
    w.calls.clear();
    let shared = rails();
    // The reconciler runs, to completion, after the event path has read the assignment (it
    // exists) and before the event path's gate decides.
    let reconciler = {
        let guard = w.guard(&Findings::default(), shared.clone());
        let ids = IdentityStoreApi::new(w.ids.clone(), RetryPolicy::immediate());
        let orgs = Organizations::new(w.orgs.clone(), RetryPolicy::immediate());
        let instance = w.instance.clone();
        let mut options = RunOptions::now(false);
        options.now = 1_795_780_800;
        options.today = today();
        Box::pin(async move {
            let report = Box::pin(reconcile::run(&guard, &ids, &orgs, &instance, None, &options))
                .await
                .unwrap();
            assert_eq!(report.counts.mutations, 1, "{}", report.table());
        }) as Pending
    };
    let findings = Findings::default();
    let event_guard = w.guard(
        &findings,
        RaceGate {
            inner: shared.clone(),
            first: tokio::sync::Mutex::new(Some(reconciler)),
        },
    );
    let report = event_guard.handle(&user_event(&w, &user), today()).await.unwrap();
    assert_eq!(w.calls.mutating(), ["DeleteAccountAssignment"], "exactly one mutation");
    assert!(
        report.outcomes.is_empty(),
        "the event path saw the reconciler's correction: {report:#?}"
    );
    assert!(findings.all().is_empty());
    assert!(w.live().await.is_empty());
}

#[tokio::test]
async fn an_event_handled_while_the_reconciler_acts_makes_one_mutation() {
    let w = world(2, 1).await;
    let user = w.user("mallory").await;
    w.assign(&w.accounts[0], SdkPrincipalType::User, &user).await;
    w.calls.clear();
    let shared = rails();
    // The event is handled, to completion, after the reconciler planned the delete and before its
    // gate decides.
    let event = {
        let guard = w.guard(&Findings::default(), shared.clone());
        let text = user_event(&w, &user);
        Box::pin(async move {
            let report = guard.handle(&text, today()).await.unwrap();
            assert_eq!(report.outcomes.len(), 1);
            assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated);
        }) as Pending
    };
    let guard = w.guard(
        &Findings::default(),
        RaceGate {
            inner: shared.clone(),
            first: tokio::sync::Mutex::new(Some(event)),
        },
    );
    let mut options = RunOptions::now(false);
    options.now = 1_795_780_800;
    options.today = today();
    let report = Box::pin(reconcile::run(
        &guard,
        &IdentityStoreApi::new(w.ids.clone(), RetryPolicy::immediate()),
        &Organizations::new(w.orgs.clone(), RetryPolicy::immediate()),
        &w.instance,
        None,
        &options,
    ))
    .await
    .unwrap();
    assert_eq!(w.calls.mutating(), ["DeleteAccountAssignment"], "exactly one mutation");
    assert_eq!(report.counts.mutations, 0, "{}", report.table());
    let outcome = report.plan[0].outcome.as_deref().unwrap_or_default();
    assert!(
        outcome.contains("the reconciler leaves it to its next run"),
        "{outcome}"
    );
    assert!(w.live().await.is_empty());
    let _ = &w.emulator;
}

#[tokio::test]
async fn the_inventory_uses_the_cheaper_listing_and_both_agree() {
    let w = world(5, 4).await;
    w.baseline().await;
    let findings = Findings::default();
    let guard = w.guard(&findings, idc_guard::guard::ModeGate);
    let mut seen = Vec::new();
    for strategy in [Strategy::ByPrincipal, Strategy::ByAccount, Strategy::Auto] {
        let options = idc_guard::inventory::Options {
            definitions: false,
            strategy,
            ..Default::default()
        };
        let (inv, _) = reconcile::survey(
            &guard,
            &IdentityStoreApi::new(w.ids.clone(), RetryPolicy::immediate()),
            &Organizations::new(w.orgs.clone(), RetryPolicy::immediate()),
            &w.instance,
            None,
            &options,
        )
        .await
        .unwrap();
        assert!(inv.unknown.is_empty());
        seen.push((inv.strategy, inv.assignments));
    }
    assert_eq!(seen[0].1, seen[1].1);
    // 4 groups against 5 provisioned pairs: by principal is cheaper.
    assert_eq!(seen[2].0, Strategy::ByPrincipal);
    let _: Vec<Unknown> = Vec::new();
}
