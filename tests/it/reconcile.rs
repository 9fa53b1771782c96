//! The drift reconciler against the emulator (moto with idc-guard's extension, and its
//! Organizations): drift repaired in both directions, OU targets, every refusal, a failing page
//! (wire-level, aws-smithy-mocks), the race with an event, and the export round trip. Each test
//! asserts the emulator's state afterwards and the exact mutating calls.

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use aws_sdk_ssoadmin::types::PrincipalType as SdkPrincipalType;
use idc_guard::adapters::{IdentityStoreApi, Organizations, SsoAdmin};
use idc_guard::desired;
use idc_guard::domain::Change;
use idc_guard::domain::Date;
use idc_guard::domain::Finding;
use idc_guard::domain::{AccountId, IdentityStoreId, InstanceArn};
use idc_guard::domain::{Decision, Outcome, OutcomeKind};
use idc_guard::guard::Guard;
use idc_guard::inventory::{Strategy, Unknown};
use idc_guard::policy::{OwnerRoute, Owners, Policy};
use idc_guard::ports::Gate;
use idc_guard::ports::{InstanceRef, Notifier, Remote};
use idc_guard::reconcile::{self, RunOptions, RunReport};
use idc_guard::retry::RetryPolicy;
use idc_guard::safety::{ManualClock, MemoryParameters, MemoryStore, SafetyConfig, SafetyGate};
use idc_guard_tests::REVERT_AND_REVOKE;
use idc_guard_tests::world::{self, PermissionSet, STATE_TABLE, User};
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

/// The emulator with an organisation, groups and the permission set `ReadOnly`.
struct World {
    world: world::World,
    instance: InstanceRef,
    root: String,
    ps: String,
}

impl Deref for World {
    type Target = world::World;

    fn deref(&self) -> &world::World {
        &self.world
    }
}

/// Accounts `acct-<i>`, groups `team-<i>`, and the permission set `ReadOnly` (nothing assigned).
async fn world(accounts: usize, groups: usize) -> World {
    let mut builder = world::World::builder()
        .organization((0..accounts).map(|i| format!("acct-{i}")))
        .permission_set(PermissionSet::new("ReadOnly").session("PT4H"));
    for i in 0..groups {
        builder = builder.group(&format!("team-{i}"));
    }
    let world = builder.build().await;
    World {
        instance: InstanceRef {
            instance_arn: InstanceArn::parse(&world.instance).unwrap(),
            identity_store_id: IdentityStoreId::parse(&world.store).unwrap(),
        },
        root: world.root.clone().unwrap(),
        ps: world.set_arn("ReadOnly").to_owned(),
        world,
    }
}

impl World {
    async fn account(&self, name: &str) -> String {
        self.create_account(name).await
    }

    async fn ou(&self, parent: &str, name: &str) -> String {
        self.create_ou(parent, name).await
    }

    async fn move_to(&self, account: &str, ou: &str) {
        self.move_account(account, &self.root, ou).await;
    }

    async fn group(&self, name: &str) -> String {
        self.create_group(name).await
    }

    async fn user(&self, name: &str) -> String {
        self.create_user(&User::new(name).name("A", "B")).await
    }

    async fn permission_set(&self, name: &str) -> String {
        self.create_permission_set(&PermissionSet::new(name).session("PT4H"))
            .await
    }

    async fn assign(&self, account: &str, kind: SdkPrincipalType, principal: &str) {
        self.world.assign(account, &self.ps, kind, principal).await;
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

    fn guard<G: Gate>(&self, findings: &Findings, gate: G) -> Guard<SsoAdmin, IdentityStoreApi, Findings, G> {
        self.guard_with_gate(findings.clone(), Policy::from_toml("test.toml", POLICY).unwrap(), gate)
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
    w.unassign(&w.accounts[0], &w.ps, SdkPrincipalType::Group, &w.groups[3].1)
        .await;
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
    w.unassign(&users[0].0, &w.ps, SdkPrincipalType::User, &users[0].2)
        .await;
    w.calls.clear();
    let report = w.reconcile(&guard, None, false).await;
    assert_eq!(report.refused, None, "{}", report.table());
    // Then the sessions of the ten: the set edited once for all of them, provisioned once to
    // each of the five accounts (issue #14), not once per removal.
    let mut expected = vec!["DeleteAccountAssignment"; 10];
    expected.push("PutInlinePolicyToPermissionSet");
    expected.extend(["ProvisionPermissionSet"; 5]);
    assert_eq!(w.calls.mutating(), expected);
    let [revoked] = &report.revocations[..] else {
        panic!("{:?}", report.revocations)
    };
    assert_eq!(revoked.status, idc_guard::domain::RevocationStatus::Revoked);
    let denied: usize = revoked
        .statements
        .iter()
        .map(|s| s.users.len() * s.accounts.len())
        .sum();
    assert_eq!(denied, 10, "{revoked:?}");
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
    let rows = desired::export_rows(&inv, &Default::default(), None);
    assert!(rows.iter().all(|r| r.owner.is_empty()), "no file, no routing: no owner");
    assert_eq!(rows.len(), 20);
    assert!(
        rows.iter()
            .all(|r| r.principal_name.starts_with("team-") && r.account_name.starts_with("acct-"))
    );
    let text = desired::to_toml(&rows, &inv.instance);
    let file = desired::parse("export.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let resolved = desired::resolve(&file, &desired::Names::of(&inv)).unwrap();
    assert_eq!(desired::diff(&inv, &resolved), (Vec::new(), Vec::new()));
    // And a full run with it plans nothing.
    let report = w.reconcile(&guard, Some(&text), true).await;
    assert!(!report.has_drift(), "{}", report.table());
}

/// The export's owner: the desired file's, else the set's owner tag, else the first matching
/// route, else the default.
#[tokio::test]
async fn export_owners_come_from_the_file_the_tag_the_routes_and_the_default() {
    let w = world(3, 2).await;
    w.baseline().await;
    let findings = Findings::default();
    let guard = w.guard(&findings, idc_guard::guard::ModeGate);
    let options = idc_guard::inventory::Options {
        definitions: false,
        owner_tags: true,
        ..Default::default()
    };
    let directory = IdentityStoreApi::new(w.ids.clone(), RetryPolicy::immediate());
    let organization = Organizations::new(w.orgs.clone(), RetryPolicy::immediate());
    let survey = || reconcile::survey(&guard, &directory, &organization, &w.instance, None, &options);
    let owners = Owners {
        routes: vec![OwnerRoute {
            owner: "audit".to_owned(),
            permission_sets: Vec::new(),
            accounts: vec![AccountId::parse(&w.accounts[0]).unwrap()],
        }],
        ..Owners::with_default("platform")
    };
    let (inv, _) = survey().await.unwrap();
    let named_key = inv
        .assignments
        .iter()
        .find(|k| k.account_id.as_str() == w.accounts[1])
        .unwrap()
        .clone();
    let named = BTreeMap::from([(named_key.clone(), "from-the-file".to_owned())]);
    let by_account = |rows: &[desired::ExportRow]| -> BTreeMap<(String, String), String> {
        rows.iter()
            .map(|r| ((r.account_id.clone(), r.principal_id.clone()), r.owner.clone()))
            .collect()
    };
    let rows = by_account(&desired::export_rows(&inv, &named, Some(&owners)));
    for ((account, principal), owner) in &rows {
        let expected = if *account == named_key.account_id.as_str() && *principal == named_key.principal_id {
            "from-the-file"
        } else if *account == w.accounts[0] {
            "audit"
        } else {
            "platform"
        };
        assert_eq!(owner, expected, "untagged set, {account} {principal}");
    }

    // Tagged: the tag wins over the routes and the default, not over the file.
    w.tag_permission_set(&w.ps, "owner", "data-platform").await;
    let (inv, _) = survey().await.unwrap();
    let rows = by_account(&desired::export_rows(&inv, &named, Some(&owners)));
    assert_eq!(rows.len(), 6);
    for ((account, principal), owner) in &rows {
        let expected = if *account == named_key.account_id.as_str() && *principal == named_key.principal_id {
            "from-the-file"
        } else {
            "data-platform"
        };
        assert_eq!(owner, expected, "tagged set, {account} {principal}");
    }
}

/// Protected groups: named by the policy or assigned a privileged set; their members are read
/// and reported (for recertification); other groups' memberships are not read.
#[tokio::test]
async fn protected_groups_and_their_members_are_read_and_reported() {
    let w = world(2, 3).await;
    w.baseline().await;
    let admin = w.permission_set("PlatformAdmin").await;
    w.world
        .assign(&w.accounts[0], &admin, SdkPrincipalType::Group, &w.groups[0].1)
        .await;
    for (user, group) in [("bob", 0), ("alice", 0), ("carol", 1), ("dave", 2)] {
        let id = w.user(user).await;
        w.add_member(&w.groups[group].1, &id).await;
    }
    let findings = Findings::default();
    let guard = w.guard_with_gate(
        findings.clone(),
        Policy::from_toml("test.toml", &format!("{POLICY}[groups]\nprotected = [\"team-1\"]\n")).unwrap(),
        idc_guard::guard::ModeGate,
    );
    let report = w.reconcile(&guard, None, true).await;
    let got: Vec<(String, Vec<String>, Option<Vec<String>>)> = report
        .protected_groups
        .iter()
        .map(|g| {
            (
                g.group_name.clone(),
                g.reasons.clone(),
                g.members
                    .as_ref()
                    .map(|m| m.iter().map(|m| m.user_name.clone()).collect()),
            )
        })
        .collect();
    let mut want = vec![
        (
            "team-0".to_owned(),
            vec!["assigned privileged permission set PlatformAdmin".to_owned()],
            Some(vec!["alice".to_owned(), "bob".to_owned()]),
        ),
        (
            "team-1".to_owned(),
            vec!["name matches groups.protected".to_owned()],
            Some(vec!["carol".to_owned()]),
        ),
    ];
    let mut got_sorted = got;
    got_sorted.sort();
    want.sort();
    assert_eq!(got_sorted, want, "{}", report.table());
    assert_eq!(
        (report.counts.protected_groups, report.counts.protected_memberships),
        (2, 3)
    );
    assert!(report.unknown.is_empty(), "{:?}", report.unknown);
    assert!(
        report.table().contains(
            "protected group team-0 (assigned privileged permission set PlatformAdmin): 2 members: alice, bob"
        ),
        "{}",
        report.table()
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["protected_groups"].as_array().map(Vec::len), Some(2));
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

    async fn first_report(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) -> bool {
        self.inner.first_report(change, finding, outcome).await
    }

    async fn report_failed(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) {
        self.inner.report_failed(change, finding, outcome).await;
    }

    async fn record(&self, operation: &'static str, resource: &str) -> idc_guard::ports::Remote<()> {
        self.inner.record(operation, resource).await
    }

    async fn recorded(&self, change: &Change) -> Option<bool> {
        self.inner.recorded(change).await
    }

    async fn lease(&self, resource: &str) -> idc_guard::ports::Remote<Option<idc_guard::ports::Lease>> {
        self.inner.lease(resource).await
    }

    async fn release(&self, lease: &idc_guard::ports::Lease) {
        self.inner.release(lease).await;
    }

    fn now(&self) -> u64 {
        self.inner.now()
    }

    async fn note_revocations(&self, permission_set: &str, until: Option<u64>) -> idc_guard::ports::Remote<()> {
        self.inner.note_revocations(permission_set, until).await
    }

    async fn noted_revocations(&self) -> idc_guard::ports::Remote<Vec<(String, u64)>> {
        self.inner.noted_revocations().await
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
    w.user_assignment_event(&w.ps, &w.accounts[0], user)
        .with("eventTime", json!("2026-11-27T11:59:00Z"))
        .to_string()
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
            // The deletion and the revocation of the sessions it issued.
            assert_eq!(report.counts.mutations, 3, "{}", report.table());
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
    assert_eq!(w.calls.mutating(), REVERT_AND_REVOKE, "exactly one correction");
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
    assert_eq!(w.calls.mutating(), REVERT_AND_REVOKE, "exactly one correction");
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

// --- a failing page, at the wire (aws-smithy-mocks) -------------------------------------------

mod failing_page {
    use super::*;
    use aws_sdk_identitystore as identitystore;
    use aws_sdk_organizations as organizations;
    use aws_sdk_ssoadmin as ssoadmin;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;
    use aws_smithy_types::retry::RetryConfig;
    use ssoadmin::operation::list_account_assignments::{ListAccountAssignmentsError, ListAccountAssignmentsOutput};
    use ssoadmin::types::error::ThrottlingException;

    const INSTANCE: &str = "arn:aws:sso:::instance/ssoins-72233af8ea2d1f14";
    const PS: &str = "arn:aws:sso:::permissionSet/ssoins-72233af8ea2d1f14/ps-ae5d1fa1f80b684e";
    const STORE: &str = "d-906791299c";
    const A: &str = "111111111111";
    const B: &str = "222222222222";
    const TEAM: &str = "906791299c-1d6b8f4c-6d0f-4b5f-8e9f-4a2f3e4d5c6b";
    const ROGUE: &str = "906791299c-2e7c9a5d-7e1a-4c6a-9fa0-5b3a4f5e6d7c";

    fn group_row(id: &str) -> ssoadmin::types::AccountAssignment {
        ssoadmin::types::AccountAssignment::builder()
            .account_id(A)
            .permission_set_arn(PS)
            .principal_type(ssoadmin::types::PrincipalType::Group)
            .principal_id(id)
            .build()
    }

    /// Everything but account B's second page of ListAccountAssignments, which `page_2` answers.
    fn reads() -> Vec<Rule> {
        vec![
            mock!(ssoadmin::Client::list_permission_sets).then_output(|| {
                ssoadmin::operation::list_permission_sets::ListPermissionSetsOutput::builder()
                    .permission_sets(PS)
                    .build()
            }),
            mock!(ssoadmin::Client::describe_permission_set).then_output(|| {
                ssoadmin::operation::describe_permission_set::DescribePermissionSetOutput::builder()
                    .permission_set(
                        ssoadmin::types::PermissionSet::builder()
                            .name("ReadOnly")
                            .permission_set_arn(PS)
                            .build(),
                    )
                    .build()
            }),
            mock!(ssoadmin::Client::list_accounts_for_provisioned_permission_set).then_output(|| {
                ssoadmin::operation::list_accounts_for_provisioned_permission_set::ListAccountsForProvisionedPermissionSetOutput::builder()
                    .account_ids(A)
                    .account_ids(B)
                    .build()
            }),
            mock!(ssoadmin::Client::list_account_assignments)
                .match_requests(|r| r.account_id() == Some(A))
                .then_output(|| ListAccountAssignmentsOutput::builder().account_assignments(group_row(TEAM)).build()),
            mock!(ssoadmin::Client::list_account_assignments)
                .match_requests(|r| r.account_id() == Some(B) && r.next_token().is_none())
                .then_output(|| {
                    ListAccountAssignmentsOutput::builder()
                        .account_assignments(group_row(TEAM))
                        .next_token("page-2")
                        .build()
                }),
        ]
    }

    fn page_2_fails() -> Rule {
        mock!(ssoadmin::Client::list_account_assignments)
            .match_requests(|r| r.account_id() == Some(B) && r.next_token() == Some("page-2"))
            .then_error(|| {
                ListAccountAssignmentsError::ThrottlingException(
                    ThrottlingException::builder()
                        .message("Rate exceeded")
                        .meta(
                            ErrorMetadata::builder()
                                .code("ThrottlingException")
                                .message("Rate exceeded")
                                .build(),
                        )
                        .build(),
                )
            })
    }

    fn page_2_has_a_rogue_group() -> Rule {
        mock!(ssoadmin::Client::list_account_assignments)
            .match_requests(|r| r.account_id() == Some(B) && r.next_token() == Some("page-2"))
            .then_output(|| {
                ListAccountAssignmentsOutput::builder()
                    .account_assignments(group_row(ROGUE))
                    .build()
            })
    }

    fn writes() -> (Rule, Rule) {
        (
            mock!(ssoadmin::Client::delete_account_assignment).then_output(|| {
                ssoadmin::operation::delete_account_assignment::DeleteAccountAssignmentOutput::builder().build()
            }),
            mock!(ssoadmin::Client::create_account_assignment).then_output(|| {
                ssoadmin::operation::create_account_assignment::CreateAccountAssignmentOutput::builder().build()
            }),
        )
    }

    async fn run(page_2: &Rule, writes: &(Rule, Rule), dry_run: bool) -> RunReport {
        run_with(page_2, writes, dry_run, POLICY, &[]).await
    }

    async fn run_with(
        page_2: &Rule,
        writes: &(Rule, Rule),
        dry_run: bool,
        policy: &str,
        more_ids: &[&Rule],
    ) -> RunReport {
        let mut rules: Vec<&Rule> = Vec::new();
        let reads = reads();
        rules.extend(reads.iter());
        rules.push(page_2);
        rules.push(&writes.0);
        rules.push(&writes.1);
        let sso = mock_client!(ssoadmin, RuleMode::MatchAny, &rules, |c| c
            .retry_config(RetryConfig::disabled()));
        let groups = mock!(identitystore::Client::list_groups).then_output(|| {
            identitystore::operation::list_groups::ListGroupsOutput::builder()
                .groups(
                    identitystore::types::Group::builder()
                        .group_id(TEAM)
                        .group_arn(format!(
                            "arn:aws:identitystore::111111111111:identitystore/{STORE}/group/{TEAM}"
                        ))
                        .display_name("team-0")
                        .revision("1")
                        .identity_store_id(STORE)
                        .build()
                        .unwrap(),
                )
                .groups(
                    identitystore::types::Group::builder()
                        .group_id(ROGUE)
                        .group_arn(format!(
                            "arn:aws:identitystore::111111111111:identitystore/{STORE}/group/{ROGUE}"
                        ))
                        .display_name("rogue")
                        .revision("1")
                        .identity_store_id(STORE)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        });
        let users = mock!(identitystore::Client::list_users).then_output(|| {
            identitystore::operation::list_users::ListUsersOutput::builder()
                .set_users(Some(Vec::new()))
                .build()
                .unwrap()
        });
        let mut ids_rules = vec![&groups, &users];
        ids_rules.extend(more_ids);
        let ids = mock_client!(identitystore, RuleMode::MatchAny, &ids_rules, |c| c
            .retry_config(RetryConfig::disabled()));
        let accounts = mock!(organizations::Client::list_accounts).then_output(|| {
            let account = |id: &str| {
                organizations::types::Account::builder()
                    .id(id)
                    .name(format!("acct-{id}"))
                    .build()
            };
            organizations::operation::list_accounts::ListAccountsOutput::builder()
                .accounts(account(A))
                .accounts(account(B))
                .build()
        });
        let orgs = mock_client!(organizations, RuleMode::MatchAny, &[&accounts], |c| c
            .retry_config(RetryConfig::disabled()));
        let guard = Guard::new(
            SsoAdmin::new(sso, RetryPolicy::immediate()),
            IdentityStoreApi::new(ids.clone(), RetryPolicy::immediate()),
            Findings::default(),
            Policy::from_toml("test.toml", policy).unwrap(),
        );
        let file = desired::parse(
            "assignments.toml",
            &format!(
                "[[assignments]]\ngroup = \"team-0\"\npermission_set = \"ReadOnly\"\ntargets = [\"{A}\", \"{B}\"]\n"
            ),
        );
        let mut options = RunOptions::now(dry_run);
        options.inventory.definitions = false;
        options.inventory.strategy = Strategy::ByAccount;
        // These tests are about assignments: account access manager is not mocked.
        options.inventory.access_paths = false;
        let instance = InstanceRef {
            instance_arn: InstanceArn::parse(INSTANCE).unwrap(),
            identity_store_id: IdentityStoreId::parse(STORE).unwrap(),
        };
        Box::pin(reconcile::run(
            &guard,
            &IdentityStoreApi::new(ids, RetryPolicy::immediate()),
            &Organizations::new(orgs, RetryPolicy::immediate()),
            &instance,
            Some(file),
            &options,
        ))
        .await
        .unwrap()
    }

    // Control: with page 2 read, account B's rogue group is planned for deletion.
    #[tokio::test]
    async fn with_every_page_read_the_extra_group_in_b_is_planned_for_deletion() {
        let page_2 = page_2_has_a_rogue_group();
        let writes = writes();
        let report = run(&page_2, &writes, true).await;
        assert!(report.unknown.is_empty());
        let deletes: Vec<_> = report.plan.iter().filter(|a| a.destructive).collect();
        assert_eq!(deletes.len(), 1, "{}", report.table());
        assert_eq!(deletes[0].resource.account_id.as_deref(), Some(B));
    }

    // A page of account B that keeps failing: B is unknown, nothing is planned or done for it
    // (neither the delete its missing page might have needed nor the create its partial list
    // suggests), the report names it, and no mutating call reaches the wire.
    #[tokio::test]
    async fn a_failing_page_makes_the_account_unknown_and_causes_zero_deletes_there() {
        let page_2 = page_2_fails();
        let writes = writes();
        let report = run(&page_2, &writes, false).await;
        assert_eq!(page_2.num_calls(), 4, "retried within the policy, then given up");
        assert!(
            matches!(&report.unknown[..], [Unknown::Account { account_id, reason }] if account_id == B && reason.contains("ThrottlingException")),
            "{:?}",
            report.unknown
        );
        assert!(
            report.plan.iter().all(|a| a.resource.account_id.as_deref() != Some(B)),
            "{}",
            report.table()
        );
        assert_eq!(
            report.skipped.len(),
            1,
            "the create B's partial list would suggest is skipped"
        );
        assert_eq!(report.refused, None);
        assert_eq!((writes.0.num_calls(), writes.1.num_calls()), (0, 0), "zero mutations");
        assert!(report.table().contains("\"account_id\":\"222222222222\""));
    }

    // A protected group whose members cannot be read: reported unknown, nothing else changes
    // (the plan is the control run's, with its one delete in B).
    #[tokio::test]
    async fn a_failing_membership_read_is_unknown_and_changes_nothing_else() {
        let page_2 = page_2_has_a_rogue_group();
        let writes = writes();
        let members = mock!(identitystore::Client::list_group_memberships)
            .match_requests(|r| r.group_id() == Some(TEAM))
            .then_error(|| {
                identitystore::operation::list_group_memberships::ListGroupMembershipsError::AccessDeniedException(
                    identitystore::types::error::AccessDeniedException::builder()
                        .message("not allowed")
                        .meta(
                            ErrorMetadata::builder()
                                .code("AccessDeniedException")
                                .message("not allowed")
                                .build(),
                        )
                        .build(),
                )
            });
        let policy = format!("{POLICY}[groups]\nprotected = [\"team-0\"]\n");
        let report = run_with(&page_2, &writes, true, &policy, &[&members]).await;
        assert_eq!(members.num_calls(), 1, "access denied is not retried");
        assert!(
            matches!(&report.unknown[..], [Unknown::GroupMembers { group_id, reason }] if group_id == TEAM && reason.contains("AccessDenied")),
            "{:?}",
            report.unknown
        );
        assert!(
            matches!(&report.protected_groups[..], [g] if g.group_name == "team-0" && g.members.is_none()),
            "{:?}",
            report.protected_groups
        );
        let deletes: Vec<_> = report.plan.iter().filter(|a| a.destructive).collect();
        assert_eq!(deletes.len(), 1, "{}", report.table());
        assert!(report.skipped.is_empty());
        assert!(
            report
                .table()
                .contains("protected group team-0 (name matches groups.protected): members unknown (read failed)")
        );
    }
}

// --- the CLI as a user runs it ------------------------------------------------------------------

mod cli {
    use super::*;
    use std::path::Path;
    use std::process::Output;

    fn idc_guard(w: &World, dir: &Path, args: &[&str]) -> Output {
        idc_guard_with(w, dir, args, &[])
    }

    fn idc_guard_with(w: &World, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        w.idc_guard(dir, POLICY, args, env)
    }

    fn text(o: &Output) -> String {
        idc_guard_tests::shown(o)
    }

    #[tokio::test]
    async fn export_diff_and_scan_with_their_exit_codes_and_pure_json() {
        let w = world(5, 4).await;
        w.baseline().await;
        let dir = std::env::temp_dir().join(format!("idc-guard-cli-{}-{}", std::process::id(), w.emulator.port()));
        std::fs::create_dir_all(&dir).unwrap();
        exports_are_todays_state(&w, &dir);
        drift_is_reported_and_a_dry_run_or_refused_apply_changes_nothing(&w, &dir).await;
        scan_apply_repairs_through_the_rails(&w, &dir).await;
        an_invalid_desired_file_is_an_input_error(&w, &dir);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Export, three ways, into `dir/assignments.toml`; that file is today's state: no
    /// difference, no drift.
    fn exports_are_todays_state(w: &World, dir: &Path) {
        let toml = idc_guard(w, dir, &["export", "--format", "toml"]);
        assert_eq!(toml.status.code(), Some(0), "{}", text(&toml));
        std::fs::write(dir.join("assignments.toml"), &toml.stdout).unwrap();
        let csv = idc_guard(w, dir, &["export", "--format", "csv"]);
        assert_eq!(csv.status.code(), Some(0), "{}", text(&csv));
        let csv = String::from_utf8(csv.stdout).unwrap();
        assert!(csv.starts_with("principal_type,principal_name,principal_id,permission_set_name,permission_set_arn,account_id,account_name,owner\n"));
        assert_eq!(csv.lines().count(), 21);
        assert!(
            csv.lines().skip(1).all(|l| l.ends_with(',')),
            "no owner without a file: {csv}"
        );
        // With --routed-owners, the owner findings go to (here the policy's default).
        let routed = idc_guard(w, dir, &["export", "--format", "csv", "--routed-owners"]);
        assert_eq!(routed.status.code(), Some(0), "{}", text(&routed));
        let routed = String::from_utf8(routed.stdout).unwrap();
        assert_eq!(
            routed.lines().skip(1).filter(|l| l.ends_with(",platform")).count(),
            20,
            "{routed}"
        );
        let json = idc_guard(w, dir, &["export", "--format", "json"]);
        let rows: Value = serde_json::from_slice(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&json)));
        assert_eq!(rows.as_array().map(Vec::len), Some(20));
        assert!(
            json.stderr.is_empty(),
            "no progress when stderr is not a terminal: {}",
            text(&json)
        );

        // The exported file is today's state: no difference, no drift.
        let same = idc_guard(w, dir, &["diff", "assignments.toml"]);
        assert_eq!(same.status.code(), Some(0), "{}", text(&same));
        assert!(String::from_utf8_lossy(&same.stdout).contains("0 extra, 0 missing"));
        let clean = idc_guard(w, dir, &["scan", "--assignments", "assignments.toml"]);
        assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    }

    /// One assignment removed by hand: diff and scan report it; a dry run, and an apply without
    /// the state table, change nothing.
    async fn drift_is_reported_and_a_dry_run_or_refused_apply_changes_nothing(w: &World, dir: &Path) {
        // Drift: one assignment removed by hand.
        w.unassign(&w.accounts[2], &w.ps, SdkPrincipalType::Group, &w.groups[1].1)
            .await;
        let drift = idc_guard(w, dir, &["diff", "assignments.toml"]);
        assert_eq!(drift.status.code(), Some(1), "{}", text(&drift));
        let out = String::from_utf8_lossy(&drift.stdout);
        assert!(
            out.contains(&format!("+ GROUP team-1 ReadOnly {} (acct-2)", w.accounts[2])),
            "{out}"
        );

        // scan: a dry run by default, JSON on stdout and nothing else.
        let scan = idc_guard(
            w,
            dir,
            &["scan", "--format", "json", "--assignments", "assignments.toml"],
        );
        assert_eq!(scan.status.code(), Some(1), "{}", text(&scan));
        let report: Value =
            serde_json::from_slice(&scan.stdout).unwrap_or_else(|e| panic!("not pure JSON ({e}): {}", text(&scan)));
        assert_eq!(report["dry_run"], json!(true));
        assert_eq!(report["counts"]["missing"], json!(1));
        assert!(report["api_calls_total"].as_u64().unwrap_or(0) > 0);
        assert_eq!(w.live().await.len(), 19, "a dry run changes nothing");

        // scan --apply without the functions' state table refuses before reading anything.
        let refused = idc_guard(w, dir, &["scan", "--apply", "--assignments", "assignments.toml"]);
        assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("IDC_GUARD_STATE_TABLE"),
            "{}",
            text(&refused)
        );
        assert!(refused.stdout.is_empty(), "{}", text(&refused));
        assert_eq!(w.live().await.len(), 19, "a refused apply changes nothing");
    }

    /// With the table, scan --apply repairs the drift through the rails; the next scan finds
    /// nothing.
    async fn scan_apply_repairs_through_the_rails(w: &World, dir: &Path) {
        w.create_state_table(STATE_TABLE).await;
        w.set_kill_switch("enforce").await;
        let apply = idc_guard_with(
            w,
            dir,
            &["scan", "--apply", "--assignments", "assignments.toml"],
            &[("IDC_GUARD_STATE_TABLE", STATE_TABLE)],
        );
        assert_eq!(
            apply.status.code(),
            Some(1),
            "drift was found (and repaired): {}",
            text(&apply)
        );
        assert!(
            String::from_utf8_lossy(&apply.stdout).contains("remediated and verified"),
            "{}",
            text(&apply)
        );
        assert_eq!(w.live().await.len(), 20);
        // The correction went through the shared state: its flap window is in the table.
        let items = w.ddb.scan().table_name(STATE_TABLE).send().await.unwrap();
        let flap: Vec<String> = items
            .items()
            .iter()
            .filter_map(|i| i.get("pk").and_then(|v| v.as_s().ok()).cloned())
            .filter(|pk| pk.starts_with("flap#"))
            .collect();
        assert_eq!(
            flap.len(),
            1,
            "one flap window, for the one corrected assignment: {flap:?}"
        );
        let after = idc_guard(w, dir, &["scan", "--assignments", "assignments.toml"]);
        assert_eq!(after.status.code(), Some(0), "{}", text(&after));
    }

    /// An invalid desired file is an input error.
    fn an_invalid_desired_file_is_an_input_error(w: &World, dir: &Path) {
        std::fs::write(
            dir.join("bad.toml"),
            "[[assignments]]\ngroup = \"nobody\"\npermission_set = \"ReadOnly\"\ntargets = [\"all\"]\n",
        )
        .unwrap();
        let bad = idc_guard(w, dir, &["scan", "--assignments", "bad.toml"]);
        assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
        assert!(
            String::from_utf8_lossy(&bad.stdout).contains("REFUSED"),
            "{}",
            text(&bad)
        );
        let bad = idc_guard(w, dir, &["diff", "bad.toml"]);
        assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains("unknown group \"nobody\""),
            "{}",
            text(&bad)
        );
    }
}
