//! `make demo`: a realistic organisation in the AWS emulator, violating changes made to it, the
//! matching CloudTrail events delivered to the guard, and what it found, reverted and verified;
//! the quiet failures (issue #16): a provisioning that fails in a member account lacking a
//! customer managed policy, a burst of refused SCIM calls reported once, and `idc-guard sets`
//! finding a family of cloned permission sets; an entitlement of account access manager (issue
//! #19) deleted; then the notifications it published to the findings topic (read back from the emulator), and
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

    entitlement(w, guard, today).await?;

    failed_provisioning(w, guard, today).await?;
    scim_burst(guard, today).await?;
    near_duplicates(w).await?;
    Ok(first)
}

/// Issue #19: account access manager lets a user assume an IAM role without any permission set.
/// alice is entitled to a role directly: deleted, and read back gone.
async fn entitlement(w: &World, guard: &DemoGuard, today: Date) -> Result<(), Error> {
    use aws_sdk_accountaccess::types::{
        Entitlement, IdentityCenter, IdentityCenterPrincipal, IdentitySource, Principal, PrincipalRoleEntitlement,
    };
    let client = w.emulator.account_access_client();
    let application = client
        .create_application()
        .identity_source(IdentitySource::IdentityCenter(
            IdentityCenter::builder().instance_arn(&w.instance).build()?,
        ))
        .send()
        .await?
        .application_arn;
    let alice = w.user_id("alice");
    let role = format!("arn:aws:iam::{ACCOUNT}:role/DataAnalyst");
    let id = client
        .create_entitlement()
        .application_arn(&application)
        .entitlement(Entitlement::PrincipalRole(
            PrincipalRoleEntitlement::builder()
                .principal(Principal::IdentityCenter(IdentityCenterPrincipal::UserId(
                    alice.to_owned(),
                )))
                .role_arn(&role)
                .build()?,
        ))
        .send()
        .await?
        .entitlement_id;
    let event = Event::fixture("account-access.CreateEntitlement-user-violation.json")
        .with("requestParameters.applicationArn", json!(application))
        .with(
            "requestParameters.entitlement.principalRole.principal.identityCenter",
            json!({ "userId": alice }),
        )
        .with("requestParameters.entitlement.principalRole.roleArn", json!(role))
        .with("responseElements", json!({ "entitlementId": id }));
    let what = "alice entitled to assume DataAnalyst in 333333333333 through account access manager, no permission set";
    deliver(w, guard, what, &event, today).await?;
    let gone = client
        .get_entitlement()
        .application_arn(&application)
        .entitlement_id(&id)
        .send()
        .await
        .is_err();
    println!(
        "   read back: the entitlement {}",
        if gone { "is gone" } else { "STILL EXISTS" }
    );
    Ok(())
}

/// The IdP's SCIM token was replaced on the AWS side but not in the IdP: every sync call is
/// refused (401). Six refused calls within the window: one finding, not six.
async fn scim_burst(guard: &DemoGuard, today: Date) -> Result<(), Error> {
    println!("\n-- the IdP's SCIM sync refused six times in a row (an expired or replaced bearer token)");
    let now = idc_guard::domain::time::utc(idc_guard::safety::Clock::now(&SystemClock));
    for n in 0..6_u32 {
        let event = Event::fixture("identitystore-scim.PatchUser-unauthorized-undetermined.json")
            .with("eventID", json!(format!("c41d7e2a-6f95-4b3c-8a1e-{n:012}")))
            .with("eventTime", json!(now))
            .envelope(&format!("3e8f1c2a-5b7d-4e90-a1c3-{n:012}"));
        let report = guard.handle(&event.to_string(), today).await?;
        let found: Vec<String> = report
            .outcomes
            .iter()
            .map(|o| format!("{} ({})", o.finding.rule, o.kind))
            .collect();
        println!(
            "   refused call {}: verdict {:?}{}",
            n + 1,
            report.verdict,
            if found.is_empty() {
                String::new()
            } else {
                format!(", published {}", found.join(", "))
            }
        );
    }
    Ok(())
}

/// Three teams cloned one permission set, each with its own bucket and key: `idc-guard sets`
/// finds the family and says how one ABAC set replaces it.
async fn near_duplicates(w: &World) -> Result<(), Error> {
    let group = w.group_id("data-engineers").to_owned();
    for team in ["Payments", "Search", "Ads"] {
        let bucket = team.to_ascii_lowercase();
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::{bucket}-data/*"}},{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:eu-west-1:111122223333:alias/{bucket}"}}]}}"#
        );
        let set = w
            .create_permission_set(
                &PermissionSet::new(team)
                    .session("PT4H")
                    .boundary(true)
                    .managed_policy("arn:aws:iam::aws:policy/ReadOnlyAccess")
                    .inline_policy(&policy),
            )
            .await;
        w.assign(ACCOUNT, &set, PrincipalType::Group, &group).await;
    }
    println!("\n-- three teams cloned one permission set (Payments, Search, Ads); `idc-guard sets`:");
    let out = std::process::Command::new(idc_guard_tests::idc_guard_bin())
        .args(["sets", "--instance-arn", &w.instance])
        .envs(w.aws_env())
        .env(
            "IDC_GUARD_POLICY",
            idc_guard_tests::repo_root().join("policy/guardrail.toml"),
        )
        .env_remove("IDC_GUARD_STATE_TABLE")
        .env_remove("IDC_GUARD_ASSIGNMENTS")
        .env_remove("AWS_PROFILE")
        .output()?;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        println!("   {line}");
    }
    if !out.status.success() && out.status.code() != Some(1) {
        return Err(format!("idc-guard sets failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

/// A pipeline attaches a customer managed policy to ReadOnlyAuditor and provisions the set to an
/// account where that policy does not exist: the call succeeds, the provisioning fails there.
async fn failed_provisioning(w: &World, guard: &DemoGuard, today: Date) -> Result<(), Error> {
    let auditor = w.set_arn("ReadOnlyAuditor");
    let (missing_in, exists_in) = ("444444444444", ACCOUNT);
    // Both accounts have the boundary every non-admin set carries; only one has the new policy.
    w.emulator.set_member_policies(&[
        (exists_in, &["audit-logs-read", "platform-boundary"]),
        (missing_in, &["platform-boundary"]),
    ]);
    w.sso
        .attach_customer_managed_policy_reference_to_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(auditor)
        .customer_managed_policy_reference(
            aws_sdk_ssoadmin::types::CustomerManagedPolicyReference::builder()
                .name("audit-logs-read")
                .build()?,
        )
        .send()
        .await?;
    let out = w
        .sso
        .provision_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(auditor)
        .target_type(aws_sdk_ssoadmin::types::ProvisionTargetType::AwsAccount)
        .target_id(missing_in)
        .send()
        .await?;
    let status = out
        .permission_set_provisioning_status()
        .ok_or("no provisioning status")?;
    let request = status.request_id().ok_or("no request id")?;
    println!(
        "\n   (the pipeline's ProvisionPermissionSet answered {}: it reports success)",
        status.status().map_or("?", |s| s.as_str())
    );
    let event = w
        .permission_set_event("sso.ProvisionPermissionSet-compliant.json", auditor)
        .with("requestParameters.targetType", json!("AWS_ACCOUNT"))
        .with("requestParameters.targetId", json!(missing_in))
        .with(
            "responseElements.permissionSetProvisioningStatus",
            json!({"status": "IN_PROGRESS", "requestId": request, "permissionSetArn": auditor, "accountId": missing_in}),
        )
        .with("requestID", json!(request));
    let what = "ReadOnlyAuditor (now referencing the customer managed policy audit-logs-read) provisioned to 444444444444, where that policy does not exist";
    deliver(w, guard, what, &event, today).await?;
    Ok(())
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
