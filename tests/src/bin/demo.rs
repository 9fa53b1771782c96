//! `make demo`: a realistic organisation in the AWS emulator, violating changes made to it, the
//! matching CloudTrail events delivered to the guard, and what it found, reverted and verified;
//! then the notifications it published to the findings topic (read back from the emulator), and
//! the Slack payloads slack-notifier's code posts for them to a local webhook stand-in.

use aws_sdk_ssoadmin::types::PrincipalType;
use idc_guard::adapters::{DynamoState, IdentityStoreApi, SnsNotifier, SsmParameters, SsoAdmin};
use idc_guard::domain::Date;
use idc_guard::guard::Guard;
use idc_guard::notify::webhook::{SlackPoster, Webhooks};
use idc_guard::policy::Policy;
use idc_guard::retry::RetryPolicy;
use idc_guard::safety::{SafetyConfig, SafetyGate, SystemClock};
use idc_guard_tests::webhook;
use idc_guard_tests::world::{Event, PermissionSet, Principal, STATE_TABLE, User, World};
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error>;

/// The guard as a function runs it: behind the safety rails, publishing to the findings topic.
type DemoGuard = Guard<SsoAdmin, IdentityStoreApi, SnsNotifier, SafetyGate<SsmParameters, DynamoState, SystemClock>>;

const ACCOUNTS: [&str; 12] = [
    "210987654321",
    "222222222222",
    "333333333333",
    "444444444444",
    "555555555555",
    "666666666666",
    "777777777777",
    "888888888888",
    "999999999999",
    "101010101010",
    "121212121212",
    "131313131313",
];
/// (name, session duration, with the permissions boundary).
const PERMISSION_SETS: [(&str, &str, bool); 5] = [
    ("ReadOnlyAuditor", "PT8H", true),
    ("DataEngineer", "PT4H", true),
    ("PlatformEngineer", "PT2H", true),
    ("PlatformAdmin", "PT1H", false),
    ("BreakGlass", "PT1H", false),
];
/// Each group is assigned the permission set at the same position, in every account.
const GROUPS: [&str; 4] = ["auditors", "data-engineers", "platform-engineers", "platform-admins"];
/// (user name, given name, family name).
const USERS: [(&str, &str, &str); 3] = [
    ("alice", "Alice", "Ng"),
    ("bob", "Bob", "Okafor"),
    ("carol", "Carol", "Silva"),
];
/// The account the violations happen in.
const ACCOUNT: &str = "333333333333";

/// The organisation, the findings topic and the safety rails (kill switch set to enforce).
async fn organisation() -> World {
    let mut world = World::builder();
    for (name, duration, boundary) in PERMISSION_SETS {
        let mut set = PermissionSet::new(name)
            .description(&format!("{name} access"))
            .session(duration)
            .boundary(boundary);
        if name == "PlatformEngineer" {
            set = set.tag("owner", "platform-team");
        }
        world = world.permission_set(set);
    }
    for group in GROUPS {
        world = world.group(group);
    }
    for (user, given, family) in USERS {
        world = world.user(
            User::new(user)
                .display(&format!("{given} {family}"))
                .name(given, family),
        );
    }
    for account in ACCOUNTS {
        for (group, (set, _, _)) in GROUPS.iter().zip(PERMISSION_SETS) {
            world = world.assign(account, set, Principal::group(group));
        }
    }
    world.topic().state_table().kill_switch("enforce").build().await
}

/// The shipped policy for the organisation's instance, with the owners findings are routed to.
fn policy(w: &World) -> Result<Policy, Error> {
    let mut policy = w.shipped_policy();
    // Owners: PlatformEngineer carries an `owner` tag (platform-team); a route in the policy
    // gives the Data* sets to data-team; everything else goes to the default owner.
    let demo_owners = Policy::from_toml(
        "demo-owners.toml",
        "mode = \"enforce\"\n[owners]\ndefault = \"platform\"\n[[owners.routes]]\nowner = \"data-team\"\n\
         permission_sets = [\"Data*\"]\n[owners.slack_channels]\ndata-team = [\"data-alerts\", \"secops\"]\n",
    )?;
    policy.owners = demo_owners.owners;
    Ok(policy)
}

fn guard(w: &World, policy: Policy) -> DemoGuard {
    let notifier = SnsNotifier::new(
        w.sns.clone(),
        w.topic_arn(),
        policy.owners.clone(),
        RetryPolicy::immediate(),
    );
    let gate = SafetyGate::new(
        SsmParameters::new(w.ssm.clone(), RetryPolicy::immediate()),
        DynamoState::new(w.ddb.clone(), STATE_TABLE, RetryPolicy::immediate()),
        SystemClock,
        SafetyConfig::default(),
    );
    w.guard_with_gate(notifier, policy, gate)
}

/// Delivers one event to the guard and prints what it found and did; the event's JSON.
async fn deliver(w: &World, guard: &DemoGuard, what: &str, event: &Event, today: Date) -> Result<String, Error> {
    let json = event.to_string();
    w.calls.clear();
    println!("\n-- {what}");
    let report = guard.handle(&json, today).await?;
    if report.outcomes.is_empty() {
        println!("   verdict {:?}: nothing to do", report.verdict);
    }
    for o in &report.outcomes {
        println!(
            "   found   {} ({}, {}): {}",
            o.finding.rule, o.finding.severity, o.finding.mode, o.finding.message
        );
        println!("   outcome {}", o.kind);
        if !o.calls.is_empty() {
            println!("   fixed   with {}", o.calls.join(", "));
        }
    }
    let all = w.calls.all();
    println!(
        "   api     {} calls ({} mutating): {}",
        all.len(),
        w.calls.mutating().len(),
        all.join(", ")
    );
    Ok(json)
}

/// Makes each violating change, as someone would, and delivers its event; the first event's
/// JSON.
async fn violations(w: &World, guard: &DemoGuard, today: Date) -> Result<String, Error> {
    let data = w.set_arn("DataEngineer");
    let platform = w.set_arn("PlatformEngineer");
    let (alice, bob) = (w.user_id("alice"), w.user_id("bob"));

    w.assign(ACCOUNT, data, PrincipalType::User, alice).await;
    let first = deliver(
        w,
        guard,
        "alice assigned DataEngineer in 333333333333 directly, as a USER",
        &w.user_assignment_event(data, ACCOUNT, alice),
        today,
    )
    .await?;

    w.update_permission_set(platform, "PT12H", Some("PlatformEngineer access"), None)
        .await;
    let event = w.permission_set_event("sso.UpdatePermissionSet-long-session-violation.json", platform);
    deliver(
        w,
        guard,
        "PlatformEngineer session duration raised to PT12H",
        &event,
        today,
    )
    .await?;

    w.remove_boundary(data).await;
    let event = w.permission_set_event("sso.DeletePermissionsBoundaryFromPermissionSet-undetermined.json", data);
    deliver(
        w,
        guard,
        "permissions boundary removed from DataEngineer",
        &event,
        today,
    )
    .await?;

    w.put_inline_policy(platform, r#"{"Version":"2012-10-17","Statement":[{"Sid":"Logs","Effect":"Allow","Action":"logs:*","Resource":"*"},{"Sid":"Roles","Effect":"Allow","Action":["iam:PassRole","iam:CreateRole"],"Resource":"*"}]}"#).await;
    let event = w.permission_set_event("sso.PutInlinePolicyToPermissionSet-iam-undetermined.json", platform);
    let what = "PlatformEngineer inline policy grants iam:PassRole and iam:CreateRole";
    deliver(w, guard, what, &event, today).await?;

    w.attach_managed_policy(data, "arn:aws:iam::aws:policy/AdministratorAccess")
        .await;
    let event = w.permission_set_event("sso.AttachManagedPolicyToPermissionSet-admin-undetermined.json", data);
    deliver(w, guard, "AdministratorAccess attached to DataEngineer", &event, today).await?;

    let admins = w.group_id("platform-admins");
    let membership = w.add_member(admins, bob).await;
    let event = w.membership_event(admins, bob, &membership);
    let what = "bob added to platform-admins by a pipeline role, not by SCIM";
    deliver(w, guard, what, &event, today).await?;
    Ok(first)
}

/// Prints what was published to the findings topic, in the text form; every message.
fn print_published(w: &World) -> Vec<(String, Value, Value)> {
    let published = w.published();
    println!(
        "\n== published to the findings topic: {} messages (the text form, as email subscribers get it)",
        published.len()
    );
    for (subject, message, _) in &published {
        println!("\n-- {subject}");
        for line in message["default"].as_str().unwrap_or_default().lines() {
            println!("   {line}");
        }
    }
    published
}

/// slack-notifier's code, fed the SNS records a subscription would deliver (the JSON finding
/// document and the attributes), posting to a local stand-in for the incoming webhooks.
async fn post_to_slack(published: &[(String, Value, Value)]) -> Result<(), Error> {
    let (url, seen) = webhook::stand_in(std::iter::repeat((200, "")));
    // One stand-in; each channel key gets its own path on it, so the request shows the channel.
    let channels = ["default", "data-alerts", "secops", "platform-team"];
    let secret = Value::Object(
        channels
            .iter()
            .map(|c| ((*c).to_owned(), json!(format!("{url}/{c}"))))
            .collect(),
    )
    .to_string();
    let poster = SlackPoster::new(Webhooks::parse(&secret)?, std::time::Duration::from_secs(5))?;
    let records: Vec<Value> = published
        .iter()
        .map(|(subject, message, attributes)| {
            json!({"EventSource": "aws:sns", "Sns": {
                "Subject": subject,
                "Message": message["lambda"],
                "MessageAttributes": attributes,
            }})
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    poster.handle_sns(&json!({ "Records": records }), deadline).await?;
    let seen = seen.lock().map_err(|_| "stand-in record poisoned")?.clone();
    println!(
        "\n== Slack: {} payloads posted to the local webhook stand-in (channel keys: {})",
        seen.len(),
        channels.join(", ")
    );
    for (request, body) in &seen {
        let payload: Value = serde_json::from_str(body)?;
        let channel = request
            .split_whitespace()
            .nth(1)
            .and_then(|path| path.rsplit('/').next())
            .unwrap_or_default();
        println!("\n-- #{channel}: {}", payload["text"].as_str().unwrap_or_default());
        println!("   {body}");
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    println!("== starting the AWS emulator (moto + idc-guard's sso-admin extension)");
    let w = organisation().await;
    println!(
        "   instance {}, identity store {}, endpoint {}",
        w.instance,
        w.store,
        w.emulator.endpoint()
    );
    println!(
        "== seeding an organisation: {} accounts, permission sets, groups, users",
        ACCOUNTS.len()
    );
    println!(
        "   {} permission sets, {} groups, {} users, {} group assignments",
        w.permission_sets.len(),
        w.groups.len(),
        w.users.len(),
        w.seeded_assignments
    );
    let policy = policy(&w)?;
    println!(
        "== the findings topic (SNS); owners: the permission set's `owner` tag, then the policy's routes, then `{}`",
        policy.owners.default_owner
    );
    println!("== the safety rails: a DynamoDB state table and the kill switch parameter, set to enforce");
    let guard = guard(&w, policy);
    let today = Date::today_utc();

    println!("== violating changes, and what idc-guard does with each event");
    let first = violations(&w, &guard, today).await?;

    println!("\n-- the first event again (a duplicate delivery)");
    w.calls.clear();
    let report = guard.handle(&first, today).await?;
    println!(
        "   verdict {:?}, {} outcomes, mutating calls: {:?}",
        report.verdict,
        report.outcomes.len(),
        w.calls.mutating()
    );
    println!(
        "   (the duplicate's finding was published once: {} messages on the topic so far)",
        w.published().len()
    );

    let published = print_published(&w);
    post_to_slack(&published).await?;

    println!("\n== stopping the emulator");
    drop(w);
    Ok(())
}
