//! `make demo`: a realistic organisation in the AWS emulator, violating changes made to it, the
//! matching CloudTrail events delivered to the guard, and what it found, reverted and verified;
//! then the notifications it published to the findings topic (read back from the emulator), and
//! the Slack payloads slack-notifier's code posts for them to a local webhook stand-in.

use aws_sdk_identitystore::types::{MemberId, Name};
use aws_sdk_ssoadmin::types::{CustomerManagedPolicyReference, PermissionsBoundary, PrincipalType, Tag, TargetType};
use idc_guard::adapters::{DynamoState, IdentityStoreApi, SnsNotifier, SsmParameters, SsoAdmin};
use idc_guard::domain::Date;
use idc_guard::domain::{IdentityStoreId, InstanceArn};
use idc_guard::guard::Guard;
use idc_guard::notify::webhook::{SlackPoster, Webhooks};
use idc_guard::policy::Policy;
use idc_guard::ports::Gate;
use idc_guard::ports::Notifier;
use idc_guard::retry::RetryPolicy;
use idc_guard::safety::{SafetyConfig, SafetyGate, SystemClock};
use idc_guard_tests::calls::CallRecorder;
use idc_guard_tests::emulator::{Emulator, create_state_table, set_kill_switch};
use idc_guard_tests::repo_root;
use idc_guard_tests::webhook;
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error>;

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

fn event(fixture: &str, edits: &[(&str, Value)]) -> Result<String, Error> {
    let text = std::fs::read_to_string(repo_root().join("events").join(fixture))?;
    let mut v: Value = serde_json::from_str(&text)?;
    for (path, value) in edits {
        let mut node = &mut v["detail"];
        for key in path.split('.') {
            node = &mut node[key];
        }
        *node = value.clone();
    }
    Ok(v.to_string())
}

/// Delivers one event to the guard and prints what it found and did.
async fn report<N: Notifier, G: Gate>(
    guard: &Guard<SsoAdmin, IdentityStoreApi, N, G>,
    calls: &CallRecorder,
    what: &str,
    json: &str,
    today: Date,
) -> Result<(), Error> {
    calls.clear();
    println!("\n-- {what}");
    let report = guard.handle(json, today).await?;
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
    let all = calls.all();
    println!(
        "   api     {} calls ({} mutating): {}",
        all.len(),
        calls.mutating().len(),
        all.join(", ")
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    println!("== starting the AWS emulator (moto + idc-guard's sso-admin extension)");
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let (instance, store) = emulator.instance().await;
    let sso = aws_sdk_ssoadmin::Client::new(&sdk);
    let ids = aws_sdk_identitystore::Client::new(&sdk);
    println!(
        "   instance {instance}, identity store {store}, endpoint {}",
        emulator.endpoint()
    );

    println!(
        "== seeding an organisation: {} accounts, permission sets, groups, users",
        ACCOUNTS.len()
    );
    let mut sets = Vec::new();
    for (name, duration, boundary) in [
        ("ReadOnlyAuditor", "PT8H", true),
        ("DataEngineer", "PT4H", true),
        ("PlatformEngineer", "PT2H", true),
        ("PlatformAdmin", "PT1H", false),
        ("BreakGlass", "PT1H", false),
    ] {
        let arn = sso
            .create_permission_set()
            .instance_arn(&instance)
            .name(name)
            .description(format!("{name} access"))
            .session_duration(duration)
            .set_tags(
                (name == "PlatformEngineer")
                    .then(|| Tag::builder().key("owner").value("platform-team").build())
                    .transpose()?
                    .map(|t| vec![t]),
            )
            .send()
            .await?
            .permission_set()
            .and_then(|p| p.permission_set_arn())
            .ok_or("no permission set ARN")?
            .to_owned();
        if boundary {
            sso.put_permissions_boundary_to_permission_set()
                .instance_arn(&instance)
                .permission_set_arn(&arn)
                .permissions_boundary(
                    PermissionsBoundary::builder()
                        .customer_managed_policy_reference(
                            CustomerManagedPolicyReference::builder()
                                .name("platform-boundary")
                                .path("/")
                                .build()?,
                        )
                        .build(),
                )
                .send()
                .await?;
        }
        sets.push((name, arn));
    }
    let mut groups = Vec::new();
    for name in ["auditors", "data-engineers", "platform-engineers", "platform-admins"] {
        let id = ids
            .create_group()
            .identity_store_id(&store)
            .display_name(name)
            .send()
            .await?
            .group_id()
            .to_owned();
        groups.push((name, id));
    }
    let mut users = Vec::new();
    for (user, given, family) in [
        ("alice", "Alice", "Ng"),
        ("bob", "Bob", "Okafor"),
        ("carol", "Carol", "Silva"),
    ] {
        let id = ids
            .create_user()
            .identity_store_id(&store)
            .user_name(user)
            .display_name(format!("{given} {family}"))
            .name(Name::builder().given_name(given).family_name(family).build())
            .send()
            .await?
            .user_id()
            .to_owned();
        users.push((user, id));
    }
    let mut assignments = 0;
    for account in ACCOUNTS {
        for ((_, group), (_, set)) in groups.iter().zip(&sets) {
            sso.create_account_assignment()
                .instance_arn(&instance)
                .target_id(account)
                .target_type(TargetType::AwsAccount)
                .permission_set_arn(set)
                .principal_type(PrincipalType::Group)
                .principal_id(group)
                .send()
                .await?;
            assignments += 1;
        }
    }
    println!(
        "   {} permission sets, {} groups, {} users, {assignments} group assignments",
        sets.len(),
        groups.len(),
        users.len()
    );

    let calls = CallRecorder::default();
    let mut policy = Policy::load(&repo_root().join("policy/guardrail.toml"))?;
    policy.instance_arn = Some(InstanceArn::parse(&instance)?);
    policy.identity_store_id = Some(IdentityStoreId::parse(&store)?);
    // Owners: PlatformEngineer carries an `owner` tag (platform-team); a route in the policy
    // gives the Data* sets to data-team; everything else goes to the default owner.
    let demo_owners = Policy::from_toml(
        "demo-owners.toml",
        "mode = \"enforce\"\n[owners]\ndefault = \"platform\"\n[[owners.routes]]\nowner = \"data-team\"\n\
         permission_sets = [\"Data*\"]\n[owners.slack_channels]\ndata-team = [\"data-alerts\", \"secops\"]\n",
    )?;
    policy.owners = demo_owners.owners;
    println!(
        "== the findings topic (SNS); owners: the permission set's `owner` tag, then the policy's routes, then `{}`",
        policy.owners.default_owner
    );
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic = sns
        .create_topic()
        .name("idc-guard-findings")
        .send()
        .await?
        .topic_arn
        .ok_or("no topic ARN")?;
    let notifier = SnsNotifier::new(sns, &topic, policy.owners.clone(), RetryPolicy::immediate());
    println!("== the safety rails: a DynamoDB state table and the kill switch parameter, set to enforce");
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    create_state_table(&ddb, "idc-guard-state").await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    set_kill_switch(&ssm, "/idc-guard/mode", "enforce").await;
    let gate = SafetyGate::new(
        SsmParameters::new(ssm.clone(), RetryPolicy::immediate()),
        DynamoState::new(ddb, "idc-guard-state", RetryPolicy::immediate()),
        SystemClock,
        SafetyConfig::default(),
    );
    let guard = Guard::with_gate(
        SsoAdmin::new(
            aws_sdk_ssoadmin::Client::from_conf(
                aws_sdk_ssoadmin::config::Builder::from(&sdk)
                    .interceptor(calls.clone())
                    .build(),
            ),
            RetryPolicy::immediate(),
        ),
        IdentityStoreApi::new(
            aws_sdk_identitystore::Client::from_conf(
                aws_sdk_identitystore::config::Builder::from(&sdk)
                    .interceptor(calls.clone())
                    .build(),
            ),
            RetryPolicy::immediate(),
        ),
        notifier,
        policy,
        gate,
    );
    let set = |name: &str| {
        sets.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| a.clone())
            .unwrap_or_default()
    };
    let today = Date::today_utc();

    println!("== violating changes, and what idc-guard does with each event");
    let data = set("DataEngineer");
    let platform = set("PlatformEngineer");
    let deliver = |what: &'static str, json: String| {
        let (guard, calls) = (&guard, &calls);
        async move { report(guard, calls, what, &json, today).await.map(|()| json) }
    };

    sso.create_account_assignment()
        .instance_arn(&instance)
        .target_id("333333333333")
        .target_type(TargetType::AwsAccount)
        .permission_set_arn(&data)
        .principal_type(PrincipalType::User)
        .principal_id(&users[0].1)
        .send()
        .await?;
    let first = deliver(
        "alice assigned DataEngineer in 333333333333 directly, as a USER",
        event(
            "sso.CreateAccountAssignment-user-violation.json",
            &[
                ("requestParameters.instanceArn", json!(instance)),
                ("requestParameters.permissionSetArn", json!(data)),
                ("requestParameters.targetId", json!("333333333333")),
                ("requestParameters.principalId", json!(users[0].1)),
            ],
        )?,
    )
    .await?;

    sso.update_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&platform)
        .session_duration("PT12H")
        .description("PlatformEngineer access")
        .send()
        .await?;
    let _ = deliver(
        "PlatformEngineer session duration raised to PT12H",
        event(
            "sso.UpdatePermissionSet-long-session-violation.json",
            &[
                ("requestParameters.instanceArn", json!(instance)),
                ("requestParameters.permissionSetArn", json!(platform)),
            ],
        )?,
    )
    .await?;

    sso.delete_permissions_boundary_from_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&data)
        .send()
        .await?;
    let _ = deliver(
        "permissions boundary removed from DataEngineer",
        event(
            "sso.DeletePermissionsBoundaryFromPermissionSet-undetermined.json",
            &[
                ("requestParameters.instanceArn", json!(instance)),
                ("requestParameters.permissionSetArn", json!(data)),
            ],
        )?,
    )
    .await?;

    sso.put_inline_policy_to_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&platform)
        .inline_policy(r#"{"Version":"2012-10-17","Statement":[{"Sid":"Logs","Effect":"Allow","Action":"logs:*","Resource":"*"},{"Sid":"Roles","Effect":"Allow","Action":["iam:PassRole","iam:CreateRole"],"Resource":"*"}]}"#)
        .send()
        .await?;
    let _ = deliver(
        "PlatformEngineer inline policy grants iam:PassRole and iam:CreateRole",
        event(
            "sso.PutInlinePolicyToPermissionSet-iam-undetermined.json",
            &[
                ("requestParameters.instanceArn", json!(instance)),
                ("requestParameters.permissionSetArn", json!(platform)),
            ],
        )?,
    )
    .await?;

    sso.attach_managed_policy_to_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&data)
        .managed_policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await?;
    let _ = deliver(
        "AdministratorAccess attached to DataEngineer",
        event(
            "sso.AttachManagedPolicyToPermissionSet-admin-undetermined.json",
            &[
                ("requestParameters.instanceArn", json!(instance)),
                ("requestParameters.permissionSetArn", json!(data)),
            ],
        )?,
    )
    .await?;

    let membership = ids
        .create_group_membership()
        .identity_store_id(&store)
        .group_id(&groups[3].1)
        .member_id(MemberId::UserId(users[1].1.clone()))
        .send()
        .await?
        .membership_id()
        .to_owned();
    let _ = deliver(
        "bob added to platform-admins by a pipeline role, not by SCIM",
        event(
            "identitystore.CreateGroupMembership-violation.json",
            &[
                ("requestParameters.identityStoreId", json!(store)),
                ("requestParameters.groupId", json!(groups[3].1)),
                ("requestParameters.memberId", json!({"userId": users[1].1})),
                ("responseElements.membershipId", json!(membership)),
                ("responseElements.identityStoreId", json!(store)),
            ],
        )?,
    )
    .await?;

    println!("\n-- the first event again (a duplicate delivery)");
    calls.clear();
    let report = guard.handle(&first, today).await?;
    println!(
        "   verdict {:?}, {} outcomes, mutating calls: {:?}",
        report.verdict,
        report.outcomes.len(),
        calls.mutating()
    );

    println!(
        "   (the duplicate's finding was published once: {} messages on the topic so far)",
        emulator.published(&topic).len()
    );

    let published = emulator.published(&topic);
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

    // slack-notifier's code, fed the SNS records a subscription would deliver (the JSON finding
    // document and the attributes), posting to a local stand-in for the incoming webhooks.
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

    println!("\n== stopping the emulator");
    drop(emulator);
    Ok(())
}
