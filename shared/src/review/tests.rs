//! The review's model, escaping, embedding and sheet, on a small inventory with hostile names.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::domain::{
    AccountId, Fact, IdentityStoreId, InstanceArn, Mode, PermissionSetArn, Resource, ResourceKind, Severity,
};
use crate::inventory::{PermissionSetEntry, ProtectedGroup, Strategy};
use crate::reconcile::{Counts, ProtectedGroupReport, UsageSummary};

const INSTANCE: &str = "arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708";
/// A group name an attacker controlling the IdP could choose.
const HOSTILE: &str = "</script><img src=x onerror=alert(1)> \"q\" 'a' &amp; <!--";

fn arn(i: usize) -> PermissionSetArn {
    PermissionSetArn::parse(&format!(
        "arn:aws:sso:::permissionSet/ssoins-7223b1c4d5e6f708/ps-{i:016x}"
    ))
    .unwrap()
}

fn account(i: usize) -> AccountId {
    AccountId::parse(&format!("{:012}", 111_111_111_111 + i)).unwrap()
}

fn assignment(set: usize, acct: usize, principal_type: PrincipalType, id: &str) -> Assignment {
    Assignment {
        instance_arn: InstanceArn::parse(INSTANCE).unwrap(),
        account_id: account(acct),
        permission_set_arn: arn(set),
        principal_type,
        principal_id: id.to_owned(),
    }
}

/// Sets 1 `ReadOnly` and 2 `AdministratorAccess` (tagged owner `sec-team`); the hostile group
/// `g-evil` holds set 2 in account 1, `g-eng` set 1 in accounts 1 and 2, user `u-carol` set 1 in
/// account 1; account 3's assignments could not be read.
fn inventory() -> Inventory {
    let mut permission_sets = BTreeMap::new();
    for (i, name, tag) in [(1, "ReadOnly", None), (2, "AdministratorAccess", Some("sec-team"))] {
        permission_sets.insert(
            arn(i),
            PermissionSetEntry {
                name: Some(name.to_owned()),
                facts: None,
                provisioned: None,
                owner_tag: tag.map(str::to_owned),
            },
        );
    }
    Inventory {
        instance: InstanceArn::parse(INSTANCE).unwrap(),
        identity_store: IdentityStoreId::parse("d-9067a1b2c3").unwrap(),
        permission_sets,
        groups: BTreeMap::from([
            ("g-eng".to_owned(), "Engineers".to_owned()),
            ("g-evil".to_owned(), HOSTILE.to_owned()),
        ]),
        users: BTreeMap::from([("u-carol".to_owned(), "=HYPERLINK(\"x\")".to_owned())]),
        accounts: Some(BTreeMap::from([
            (account(1), "Prod".to_owned()),
            (account(2), "Dev".to_owned()),
        ])),
        ou_accounts: BTreeMap::new(),
        assignments: BTreeSet::from([
            assignment(2, 1, PrincipalType::Group, "g-evil"),
            assignment(1, 1, PrincipalType::Group, "g-eng"),
            assignment(1, 2, PrincipalType::Group, "g-eng"),
            assignment(1, 1, PrincipalType::User, "u-carol"),
        ]),
        protected_groups: BTreeMap::from([(
            "g-evil".to_owned(),
            ProtectedGroup {
                name: HOSTILE.to_owned(),
                reasons: vec!["assigned AdministratorAccess".to_owned()],
                members: None,
            },
        )]),
        abac: Fact::Unknown,
        unknown: BTreeSet::from([Unknown::Account {
            account_id: account(3).to_string(),
            reason: "AccessDenied".to_owned(),
        }]),
        strategy: Strategy::ByPrincipal,
        provisioning: None,
        group_members: BTreeMap::new(),
        access: Default::default(),
    }
}

fn policy(extra: &str) -> Policy {
    Policy::from_toml(
        "guardrail.toml",
        &format!(
            "mode = \"detect\"\n[permission_sets]\nprivileged = [\"Administrator*\"]\n\n[owners]\ndefault = \"platform\"\n{extra}"
        ),
    )
    .unwrap()
}

fn report(inv: &Inventory) -> RunReport {
    RunReport {
        run_id: "reconcile-1".to_owned(),
        dry_run: true,
        instance: INSTANCE.to_owned(),
        desired: "absent",
        strategy: Strategy::ByPrincipal,
        counts: Counts::default(),
        refused: None,
        plan: vec![ReportedAction {
            rule: crate::rules::assignment_principal_type::ID,
            severity: Severity::High,
            mode: Mode::Detect,
            resource: Resource {
                kind: ResourceKind::AccountAssignment,
                id: "x".to_owned(),
                permission_set_name: Some("ReadOnly".to_owned()),
                permission_set_arn: Some(arn(1).to_string()),
                account_id: Some(account(1).to_string()),
                principal_id: Some("u-carol".to_owned()),
                principal_name: None,
                role_arn: None,
            },
            reason: "assigned to a user directly".to_owned(),
            actions: Vec::new(),
            destructive: false,
            owner: None,
            outcome: None,
            calls: Vec::new(),
            usage: None,
        }],
        skipped: Vec::new(),
        unknown: inv.unknown.iter().cloned().collect(),
        protected_groups: vec![ProtectedGroupReport {
            group_id: "g-evil".to_owned(),
            group_name: HOSTILE.to_owned(),
            reasons: vec!["assigned AdministratorAccess".to_owned()],
            members: None,
        }],
        duration_ms: 0,
        api_calls: BTreeMap::new(),
        api_calls_total: 0,
        revocations: Vec::new(),
        usage: UsageSummary {
            data: "none",
            ..UsageSummary::default()
        },
        sightings: crate::usage::Sightings::default(),
    }
}

fn review_of(policy: &Policy) -> Review {
    let inv = inventory();
    let report = report(&inv);
    build(Sources {
        policy,
        inventory: &inv,
        report: &report,
        desired: &Desired::Absent,
        usage: &BTreeMap::new(),
        today: Date::new(2026, 12, 6).unwrap(),
        now: 1_796_515_200,
    })
}

#[test]
fn every_assignment_is_named_with_its_owner_and_failed_reads_are_marked_unknown() {
    let r = review_of(&policy(""));
    assert_eq!(r.assignments.len(), 4);
    // Accounts by name (Dev, Prod), then the one known only from a failed read.
    let ids: Vec<(&str, Option<&str>, bool)> = r
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_deref(), a.complete))
        .collect();
    assert_eq!(
        ids,
        [
            ("111111111113", Some("Dev"), true),
            ("111111111112", Some("Prod"), true),
            ("111111111114", None, false),
        ]
    );
    assert!(
        r.permission_sets
            .iter()
            .any(|s| s.name.as_deref() == Some("AdministratorAccess") && s.privileged)
    );
    // The set's owner tag names the owner; the default owner otherwise.
    let owner_of = |set: &str| {
        let a = r.assignments.iter().find(|a| r.set_label(a.set) == set).unwrap();
        r.owners[a.owner].clone()
    };
    assert_eq!(owner_of("AdministratorAccess"), "sec-team");
    assert_eq!(owner_of("ReadOnly"), "platform");
    // The finding is counted on carol's assignment.
    let carol = r
        .assignments
        .iter()
        .find(|a| r.principals[a.principal].id == "u-carol")
        .unwrap();
    assert_eq!(carol.findings, 1);
    assert_eq!(r.findings[0].owner, "platform");
    // Members that could not be read stay unknown, not empty.
    assert_eq!(r.privileged[0].members, None);
    assert!(r.unknown[0].contains("AccessDenied"));
    // The model reads back from its JSON (`report --from-json`).
    let back: Review = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

#[test]
fn exceptions_come_expiring_soonest_first_with_the_expired_flagged() {
    let exception = |rule: &str, owner: &str, expires: &str| {
        format!(
            "\n[[exceptions]]\nrule = \"{rule}\"\npermission_sets = [\"ReadOnly\"]\nowner = \"{owner}\"\nreason = \"why\"\nexpires = {expires}\n"
        )
    };
    let p = policy(&format!(
        "{}{}{}{}",
        exception("assignment-principal-type", "late", "2027-06-30"),
        exception("session-duration-cap", "soon", "2026-12-20"),
        exception("assignment-principal-type", "gone", "2026-11-30"),
        exception("session-duration-cap", "today", "2026-12-06"),
    ));
    let r = review_of(&p);
    let order: Vec<(&str, &str, i64)> = r
        .exceptions
        .iter()
        .map(|e| (e.owner.as_str(), e.status.as_str(), e.days_left))
        .collect();
    assert_eq!(
        order,
        [
            ("gone", "expired", -6),
            ("today", "soon", 0),
            ("soon", "soon", 14),
            ("late", "active", 206),
        ]
    );
    assert_eq!(
        r.exceptions[0].scope,
        "permission sets: ReadOnly; accounts: any; principals: any"
    );
}

#[test]
fn html_escaping_covers_text_and_both_attribute_quotes() {
    assert_eq!(
        html::escape("<a href=\"x\" title='y'>&amp;</a>"),
        "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
    );
    assert!(matches!(html::escape("plain"), std::borrow::Cow::Borrowed(_)));
}

#[test]
fn embedded_json_cannot_close_its_script_and_reads_back_unchanged() {
    let value = serde_json::json!({"n": [HOSTILE, "a\u{2028}b\u{2029}c", "x]]>--!>"]});
    let text = html::script_json(&value);
    for bad in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
        assert!(!text.contains(bad), "{bad:?} in {text}");
    }
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, value);
}

#[test]
fn the_page_escapes_hostile_names_and_names_no_external_resource() {
    let r = review_of(&policy(""));
    let page = html::render(&r);
    // The hostile group appears (privileged section) only escaped, and never raw.
    assert!(!page.contains("<img"), "an injected element");
    assert!(!page.contains(HOSTILE));
    assert!(page.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &quot;q&quot; &#39;a&#39; &amp;amp;"));
    // Exactly the two script elements the page writes, each closed once.
    assert_eq!(page.matches("<script").count(), 2);
    assert_eq!(page.matches("</script>").count(), 2);
    // Self-contained: no URL to fetch (the hostile name's `src=x` is text, escaped above).
    for external in ["http:", "https:", "\"//", "'//", "src=\"", "src='", "@import", "url("] {
        assert!(!page.contains(external), "{external}");
    }
    // Unknown reads are said, not left out.
    assert!(page.contains("unknown: the members could not be read"));
    assert!(page.contains("AccessDenied"));
}

#[test]
fn csv_fields_are_quoted_when_needed_and_formulas_are_neutralised() {
    assert_eq!(csv::field("plain"), "plain");
    assert_eq!(csv::field("a,b"), "\"a,b\"");
    assert_eq!(csv::field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv::field("two\nlines"), "\"two\nlines\"");
    assert_eq!(csv::field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    assert_eq!(csv::field("-1"), "\"'-1\"");
    assert_eq!(csv::field("@sum"), "\"'@sum\"");
}

#[test]
fn the_sheet_has_a_blank_decision_and_usage_columns_only_with_usage_data() {
    let mut r = review_of(&policy(""));
    let platform = r.owners.iter().position(|o| o == "platform").unwrap();
    let sheet = csv::sheet(&r, Some(platform));
    let lines: Vec<&str> = sheet.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "principal_type,principal,principal_id,permission_set,account_id,account_name,owner,decision"
    );
    // Three ReadOnly assignments are platform's; the admin set's is sec-team's.
    assert_eq!(lines.len(), 4, "{sheet}");
    assert!(lines.iter().all(|l| l.ends_with(',') || l.ends_with("decision")));
    assert!(sheet.contains("USER,\"'=HYPERLINK(\"\"x\"\")\",u-carol,ReadOnly,111111111112,Prod,platform,"));
    r.usage.data = "used".to_owned();
    r.assignments[0].usage = Some(ReviewUsage {
        last_use: None,
        last_user: None,
        dormancy: "dormant".to_owned(),
        window_days: 90,
    });
    let sheet = csv::sheet(&r, None);
    assert!(sheet.starts_with("principal_type,principal,principal_id,permission_set,account_id,account_name,owner,last_use,dormancy,decision\r\n"));
    assert!(sheet.contains(",none,dormant,\r\n"));
    assert!(sheet.contains(",unknown,unknown,\r\n"));
}
