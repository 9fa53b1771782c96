//! The test world, served to the benchmark scripts: the AWS emulator seeded by
//! `World` (`idc_guard_tests::world::World`) (the same builder as the integration tests and the
//! demo), a counting proxy in front of it, and, for the guard benchmark, the violations it makes
//! the functions revert. The scripts keep what has no counterpart here: the Lambda Runtime API
//! stand-in, starting and timing the functions, and the report.
//!
//! ```text
//! bench-world guard                  the guard benchmark's organisation and safety rails
//! bench-world export [--accounts N] [--permission-sets N] [--groups N] [--assignments N]
//!                                    an organisation of N accounts and random group assignments
//! bench-world bare                   the emulator alone
//! ```
//!
//! Once seeded, it prints one JSON line describing the world (`endpoint`, `proxy`, `region`,
//! `instance`, `store`, and what the scenario made), then answers each JSON request read from
//! stdin with one JSON line:
//!
//! ```text
//! {"op": "violate", "kind": "user"}   -> {"event": "<the CloudTrail event, as EventBridge delivers it>"}
//! {"op": "mark"}                      -> {"mark": N}
//! {"op": "since", "mark": N}          -> {"calls": ["sso-admin:ListAccountAssignments", ...]}
//! ```
//!
//! (`calls`: what went through the proxy after the mark.) A request it cannot serve gets
//! `{"error": "..."}`. The end of stdin stops the proxy and the emulator, and it exits 0; so a
//! script that dies takes the emulator with it.

use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_ssoadmin::types::PrincipalType;
use idc_guard_tests::emulator::REGION;
use idc_guard_tests::world::{
    Event, KILL_SWITCH, PermissionSet, PolicyFile, Principal, STATE_TABLE, User, World, WorldBuilder, with_rule_mode,
};
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error>;

/// The account of the USER assignments and of the group's set.
const ACCOUNT: &str = "333333333333";
const RELAY_STATE: &str = "https://console.aws.amazon.com/s3";
/// An inline policy with one statement to keep and one to remove.
const INLINE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"},{"Sid":"Escalate","Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;
const ADMIN_POLICY: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// One kind of revert: the event reporting it, the function that gets it, and what it must do.
struct Kind {
    key: &'static str,
    title: &'static str,
    function: &'static str,
    fixture: &'static str,
    mutating: Vec<&'static str>,
    rule: &'static str,
}

/// The kinds of revert, one a line: `key | function | fixture | rule | mutating calls | title`.
const KINDS: &str = "
user | assignment-guard | sso.CreateAccountAssignment-user-violation.json | assignment-principal-type \
    | DeleteAccountAssignment, PutInlinePolicyToPermissionSet, ProvisionPermissionSet | USER assignment
session | permission-set-guard | sso.UpdatePermissionSet-long-session-violation.json | session-duration-cap \
    | UpdatePermissionSet, ProvisionPermissionSet | session duration PT12H
boundary | permission-set-guard | sso.DeletePermissionsBoundaryFromPermissionSet-undetermined.json \
    | permissions-boundary-required | PutPermissionsBoundaryToPermissionSet, ProvisionPermissionSet \
    | permissions boundary removed
inline | permission-set-guard | sso.PutInlinePolicyToPermissionSet-iam-undetermined.json \
    | inline-policy-forbidden-actions | PutInlinePolicyToPermissionSet, ProvisionPermissionSet \
    | inline policy with iam:*
managed | permission-set-guard | sso.AttachManagedPolicyToPermissionSet-admin-undetermined.json \
    | managed-policy-forbidden | DetachManagedPolicyFromPermissionSet, ProvisionPermissionSet \
    | AdministratorAccess attached
abac | permission-set-guard \
    | sso.UpdateInstanceAccessControlAttributeConfiguration-missing-project-violation.json \
    | abac-attributes-required | UpdateInstanceAccessControlAttributeConfiguration | ABAC config missing `project`
membership | identity-guard | identitystore.CreateGroupMembership-violation.json | identity-store-scim-only \
    | DeleteGroupMembership, PutInlinePolicyToPermissionSet, ProvisionPermissionSet | hand-made group membership
";

fn kinds() -> Vec<Kind> {
    KINDS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let columns: Vec<&'static str> = line.split('|').map(str::trim).collect();
            let [key, function, fixture, rule, mutating, title] = columns[..] else {
                panic!("KINDS: not six columns: {line}");
            };
            Kind {
                key,
                title,
                function,
                fixture,
                mutating: mutating.split(',').map(str::trim).collect(),
                rule,
            }
        })
        .collect()
}

/// The guard benchmark's organisation: one permission set per kind of revert on a set (each
/// compliant until its violation), a compliant ABAC configuration, a user and a group for the
/// membership (the group holds `Auditor` in the account, so removing the membership revokes the
/// user's sessions there, as the USER revert does in DataEngineer), and the safety rails set to
/// enforce.
fn guard_world() -> WorldBuilder {
    let mut world = World::builder();
    // DataEngineer: USER assignment; PlatformEngineer: session duration; DataAnalyst: boundary
    // (removed before each event); Developer: inline policy; Operator: managed policy.
    for (name, duration) in [
        ("DataEngineer", "PT4H"),
        ("PlatformEngineer", "PT12H"),
        ("DataAnalyst", "PT4H"),
        ("Developer", "PT4H"),
        ("Operator", "PT4H"),
    ] {
        world = world.permission_set(
            PermissionSet::new(name)
                .description(&format!("{name} access"))
                .session(duration)
                .relay_state(RELAY_STATE)
                .boundary(true),
        );
    }
    world
        .abac(&[
            ("team", "${path:enterprise.department}"),
            ("project", "${path:enterprise.costCenter}"),
        ])
        .user(User::new("mallory").display("Mallory Lory").name("Mallory", "Lory"))
        .group("platform-admins")
        .permission_set(PermissionSet::new("Auditor").session("PT1H").boundary(true))
        .assign(ACCOUNT, "Auditor", Principal::group("platform-admins"))
        .state_table()
        .kill_switch("enforce")
}

/// Makes the violation of kind `key`; the event reporting it, with fresh ids (each event is new
/// to the idempotency claims).
async fn violate(w: &World, key: &str) -> Result<Event, Error> {
    let kind = kinds()
        .into_iter()
        .find(|k| k.key == key)
        .ok_or_else(|| format!("no kind {key:?}"))?;
    let set_event = |name: &str| w.permission_set_event(kind.fixture, w.set_arn(name));
    let event = match key {
        "user" => {
            // A new user each time: each revert's revocation is new (a repeated removal of
            // the same access within one second is already covered, and writes nothing).
            let set = w.set_arn("DataEngineer");
            let user = w.create_user(&User::new(&format!("user-{}", fresh_id()))).await;
            w.assign(ACCOUNT, set, PrincipalType::User, &user).await;
            w.user_assignment_event(set, ACCOUNT, &user)
        }
        "session" => {
            let set = w.set_arn("PlatformEngineer");
            let description = "PlatformEngineer access";
            w.update_permission_set(set, "PT12H", Some(description), Some(RELAY_STATE))
                .await;
            set_event("PlatformEngineer")
        }
        "boundary" => {
            w.remove_boundary(w.set_arn("DataAnalyst")).await;
            set_event("DataAnalyst")
        }
        "inline" => {
            w.put_inline_policy(w.set_arn("Developer"), INLINE_POLICY).await;
            set_event("Developer")
        }
        "managed" => {
            w.attach_managed_policy(w.set_arn("Operator"), ADMIN_POLICY).await;
            set_event("Operator")
        }
        "abac" => {
            w.update_abac(&[("team", "${path:enterprise.department}")]).await;
            Event::fixture(kind.fixture).with("requestParameters.instanceArn", json!(w.instance))
        }
        _ => {
            // A new member each time, as for "user".
            let group = w.group_id("platform-admins");
            let user = w.create_user(&User::new(&format!("member-{}", fresh_id()))).await;
            let membership = w.add_member(group, &user).await;
            w.membership_event(group, &user, &membership)
        }
    };
    Ok(event.envelope(&fresh_id()).with("eventID", json!(fresh_id())))
}

/// A UUID-shaped id, unique in this process and unlikely to repeat across runs.
fn fresh_id() -> String {
    use std::hash::BuildHasher;
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    // Each RandomState has its own random keys.
    let random = || std::hash::RandomState::new().hash_one(n);
    let (a, b) = (random(), random());
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

/// What the export benchmark's organisation is made of.
struct ExportSize {
    accounts: usize,
    permission_sets: usize,
    groups: usize,
    assignments: usize,
}

impl ExportSize {
    fn parse(args: &[String]) -> Result<ExportSize, Error> {
        let mut size = ExportSize {
            accounts: 120,
            permission_sets: 40,
            groups: 25,
            assignments: 1000,
        };
        for pair in args.chunks(2) {
            let value = pair.get(1).ok_or("a value after each option")?.parse()?;
            match pair[0].as_str() {
                "--accounts" => size.accounts = value,
                "--permission-sets" => size.permission_sets = value,
                "--groups" => size.groups = value,
                "--assignments" => size.assignments = value,
                other => return Err(format!("unknown option {other}").into()),
            }
        }
        if size.assignments > size.accounts * size.permission_sets * size.groups {
            return Err("more assignments than (account, set, group) triples".into());
        }
        Ok(size)
    }
}

/// The export benchmark's organisation: accounts `acct-NNN`, groups `team-NN`, permission sets
/// `ps-NN` (the first two `Admin-NN`: privileged by the shipped policy's names, so the groups
/// assigned them are protected and the full plan reads their members), and group assignments over
/// distinct random (account, set, group) triples (a fixed seed: the same every run). Returns how
/// many distinct (account, set) pairs they cover.
async fn export_world(size: &ExportSize) -> (World, usize) {
    let mut world = World::builder()
        .organization((0..size.accounts).map(|i| format!("acct-{i:03}")))
        .counting_proxy();
    for i in 0..size.permission_sets {
        let name = if i >= 2 {
            format!("ps-{i:02}")
        } else {
            format!("Admin-{i:02}")
        };
        world = world.permission_set(PermissionSet::new(&name).session("PT4H"));
    }
    for i in 0..size.groups {
        world = world.group(&format!("team-{i:02}"));
    }
    let w = world.build().await;
    let mut random = SplitMix64(6);
    let mut triples = std::collections::BTreeSet::new();
    while triples.len() < size.assignments {
        triples.insert((
            random.below(size.accounts),
            random.below(size.permission_sets),
            random.below(size.groups),
        ));
    }
    for &(a, p, g) in &triples {
        let (account, set, group) = (&w.accounts[a], &w.permission_sets[p].1, &w.groups[g].1);
        w.assign(account, set, PrincipalType::Group, group).await;
    }
    let pairs = triples
        .iter()
        .map(|(a, p, _)| (a, p))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    (w, pairs)
}

/// A small deterministic generator (SplitMix64): the same triples on every run.
struct SplitMix64(u64);

impl SplitMix64 {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        usize::try_from(z % n as u64).unwrap_or(0)
    }
}

/// The description every scenario shares.
fn hello(w: &World) -> Value {
    json!({
        "endpoint": w.emulator.endpoint(),
        "port": w.emulator.port(),
        "emulator_pid": w.emulator.pid(),
        "proxy": w.proxy.as_ref().map(idc_guard_tests::proxy::CountingProxy::endpoint),
        "region": REGION,
        "instance": w.instance,
        "store": w.store,
    })
}

/// Seeds the scenario; the world, its description, and the policy files it wrote (removed when
/// dropped).
async fn seed(scenario: &str, args: &[String]) -> Result<(World, Value, Vec<PolicyFile>), Error> {
    match scenario {
        "guard" => {
            let w = guard_world().counting_proxy().build().await;
            let base = w.policy_file("bench-guard", |p| p);
            let scim = w.policy_file("bench-guard-scim-enforce", |p| {
                with_rule_mode(&p, "identity-store-scim-only", "enforce")
            });
            let mut description = hello(&w);
            description["policies"] = json!({"base": base.path(), "scim-enforce": scim.path()});
            description["state_table"] = json!(STATE_TABLE);
            description["kill_switch"] = json!(KILL_SWITCH);
            description["kinds"] = kinds()
                .iter()
                .map(|k| {
                    json!({"key": k.key, "title": k.title, "function": k.function, "fixture": k.fixture,
                           "mutating": k.mutating, "rule": k.rule})
                })
                .collect();
            Ok((w, description, vec![base, scim]))
        }
        "export" => {
            let size = ExportSize::parse(args)?;
            let started = std::time::Instant::now();
            let (w, pairs) = export_world(&size).await;
            eprintln!(
                "seeded {} accounts, {} permission sets, {} groups, {} group assignments over {pairs} (account, set) \
                 pairs in {:.1} s",
                size.accounts,
                size.permission_sets,
                size.groups,
                size.assignments,
                started.elapsed().as_secs_f64()
            );
            let mut description = hello(&w);
            description["pairs"] = json!(pairs);
            Ok((w, description, Vec::new()))
        }
        "bare" => {
            let w = World::builder().counting_proxy().build().await;
            let description = hello(&w);
            Ok((w, description, Vec::new()))
        }
        other => Err(format!("unknown scenario {other:?} (guard, export or bare)").into()),
    }
}

/// The answer to one request line.
async fn answer(w: &World, line: &str) -> Value {
    let request: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return json!({"error": format!("not JSON: {e}")}),
    };
    match request["op"].as_str() {
        Some("violate") => match violate(w, request["kind"].as_str().unwrap_or_default()).await {
            Ok(event) => json!({"event": event.to_string()}),
            Err(e) => json!({"error": e.to_string()}),
        },
        Some("mark") => json!({"mark": w.calls.mark()}),
        Some("since") => match request["mark"].as_u64().and_then(|m| usize::try_from(m).ok()) {
            Some(mark) => json!({"calls": w.calls.since(mark)}),
            None => json!({"error": "since needs a mark"}),
        },
        _ => json!({"error": format!("unknown request {line}")}),
    }
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((scenario, rest)) = args.split_first() else {
        return Err("usage: bench-world guard | export [--accounts N ...] | bare".into());
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (w, description, _policies) = runtime.block_on(seed(scenario, rest))?;
    println!("{description}");
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        println!("{}", runtime.block_on(answer(&w, &line)));
    }
    Ok(())
}
