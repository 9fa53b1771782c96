//! Hygiene over small inventories, table by table.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::domain::{
    Assignment, IdentityStoreId, InlinePolicyText, InstanceArn, PermissionSetFacts, PrincipalType, SessionDuration,
};
use crate::inventory::PermissionSetEntry;

const INSTANCE: &str = "arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708";

fn arn(i: usize) -> PermissionSetArn {
    PermissionSetArn::parse(&format!(
        "arn:aws:sso:::permissionSet/ssoins-7223b1c4d5e6f708/ps-{i:016x}"
    ))
    .unwrap()
}

fn account(i: usize) -> AccountId {
    AccountId::parse(&format!("{:012}", 111_111_111_111 + i)).unwrap()
}

fn definition(i: usize, managed: &[&str], inline: Option<&str>) -> PermissionSetFacts {
    let mut ps = PermissionSetFacts::unknown(arn(i));
    ps.managed_policies = Fact::Known(managed.iter().map(|s| (*s).to_owned()).collect());
    ps.inline_policy = Fact::Known(inline.map(|t| InlinePolicyText::Text(t.to_owned())));
    ps.boundary = Fact::Known(None);
    ps.session_duration = Fact::Known(SessionDuration::parse("PT8H").unwrap());
    ps.customer_managed_policies = Fact::Known(Vec::new());
    ps
}

/// A team's copy: the shared grants plus its own buckets (named after the set).
fn team_policy(team: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::{team}-data/*"}},
            {{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:eu-west-1:111122223333:alias/{team}"}},
            {{"Effect":"Allow","Action":["logs:Get*","logs:Describe*"],"Resource":"*"}}]}}"#
    )
}

struct Builder {
    inv: Inventory,
}

impl Builder {
    fn new() -> Self {
        Self {
            inv: Inventory {
                instance: InstanceArn::parse(INSTANCE).unwrap(),
                identity_store: IdentityStoreId::parse("d-9067a1b2c3").unwrap(),
                permission_sets: BTreeMap::new(),
                groups: BTreeMap::new(),
                users: BTreeMap::new(),
                accounts: None,
                ou_accounts: BTreeMap::new(),
                assignments: BTreeSet::new(),
                protected_groups: BTreeMap::new(),
                abac: Fact::Unknown,
                unknown: BTreeSet::new(),
                strategy: Strategy::ByPrincipal,
                provisioning: None,
                group_members: BTreeMap::new(),
                access: Default::default(),
            },
        }
    }

    fn set(mut self, i: usize, name: &str, facts: Option<PermissionSetFacts>, provisioned: &[usize]) -> Self {
        self.inv.permission_sets.insert(
            arn(i),
            PermissionSetEntry {
                name: Some(name.to_owned()),
                facts,
                provisioned: Some(provisioned.iter().map(|a| account(*a)).collect()),
                owner_tag: None,
            },
        );
        self
    }

    fn assign(mut self, set: usize, acct: usize) -> Self {
        self.inv.assignments.insert(Assignment {
            instance_arn: InstanceArn::parse(INSTANCE).unwrap(),
            account_id: account(acct),
            permission_set_arn: arn(set),
            principal_type: PrincipalType::Group,
            principal_id: "906791299c-1d6b8f4c-6d0f-4b5f-8e9f-4a2f3e4d5c6b".to_owned(),
        });
        self
    }

    fn unknown(mut self, u: Unknown) -> Self {
        self.inv.unknown.insert(u);
        self
    }

    fn report(&self) -> Report {
        analyse(&self.inv, &Settings::default())
    }
}

fn labels(sets: &[SetRef]) -> Vec<&str> {
    sets.iter().map(SetRef::label).collect()
}

#[test]
fn orphaned_and_provisioned_unassigned_sets_by_table() {
    let ro = definition(0, &["arn:aws:iam::aws:policy/ReadOnlyAccess"], None);
    let report = Builder::new()
        // Assigned where provisioned: clean.
        .set(1, "Used", Some(ro.clone()), &[1])
        .assign(1, 1)
        // Never assigned, never provisioned: orphaned only.
        .set(2, "Legacy", Some(ro.clone()), &[])
        // Assigned in account 1, still provisioned to 2 and 3: provisioned-unassigned.
        .set(3, "Tools", Some(ro.clone()), &[1, 2, 3])
        .assign(3, 1)
        // Provisioned, never assigned: both.
        .set(4, "Leftover", Some(ro), &[2])
        .report();
    assert_eq!(labels(&report.orphaned), ["Legacy", "Leftover"]);
    let unassigned: Vec<(&str, Vec<&str>)> = report
        .provisioned_unassigned
        .iter()
        .map(|p| (p.set.label(), p.accounts.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        unassigned,
        [
            ("Tools", vec!["111111111113", "111111111114"]),
            ("Leftover", vec!["111111111113"])
        ]
    );
    assert!(report.unknown.is_empty(), "{:?}", report.unknown);
    let fact = report.fact_for(&arn(3)).unwrap();
    assert_eq!(fact.assigned, Fact::Known(true));
    assert_eq!(fact.provisioned_unassigned, Fact::Known(vec![account(2), account(3)]));
    assert_eq!(report.fact_for(&arn(2)).unwrap().assigned, Fact::Known(false));
    // Four identical sets: one cluster, with the "identical" hint.
    assert_eq!(report.clusters.len(), 1);
    assert!(report.clusters[0].hint.as_deref().unwrap().contains("identical"));
}

#[test]
fn failed_reads_are_unknown_never_empty() {
    let ro = definition(0, &["arn:aws:iam::aws:policy/ReadOnlyAccess"], None);
    let mut blind = definition(5, &[], None);
    blind.inline_policy = Fact::Unknown;
    let report = Builder::new()
        .set(1, "Used", Some(ro), &[1, 2])
        .assign(1, 1)
        .set(2, "Unread", None, &[])
        .set(5, "HalfRead", Some(blind), &[])
        .unknown(Unknown::Account {
            account_id: account(2).to_string(),
            reason: "throttled".to_owned(),
        })
        .unknown(Unknown::PermissionSet {
            permission_set_arn: arn(2).to_string(),
            reason: "AccessDenied".to_owned(),
        })
        .report();
    // An account's listing failed: no set can be called orphaned.
    assert!(report.orphaned.is_empty());
    assert_eq!(report.fact_for(&arn(2)).unwrap().assigned, Fact::Unknown);
    // Account 2's assignments are unknown: undetermined there, not unassigned.
    let used = report.fact_for(&arn(1)).unwrap();
    assert_eq!(used.provisioned_unassigned, Fact::Known(vec![]));
    assert_eq!(used.provisioned_undetermined, vec![account(2)]);
    // Definitions not read are not compared.
    assert_eq!(report.compared, 1);
    assert_eq!(report.fact_for(&arn(2)).unwrap().near_duplicates, Fact::Unknown);
    assert_eq!(report.fact_for(&arn(5)).unwrap().near_duplicates, Fact::Unknown);
    let checks: BTreeSet<(&str, &str)> = report.unknown.iter().map(|u| (u.set.label(), u.check)).collect();
    assert!(checks.contains(&("Unread", "near-duplicate")), "{checks:?}");
    assert!(checks.contains(&("HalfRead", "near-duplicate")), "{checks:?}");
    assert!(checks.contains(&("Used", "provisioned-unassigned")), "{checks:?}");
    assert!(
        report
            .unknown
            .iter()
            .any(|u| u.set.label() == "Unread" && u.reason.contains("AccessDenied"))
    );
}

#[test]
fn a_team_family_is_one_cluster_with_an_abac_hint_and_a_distinct_set_stays_out() {
    let mut b = Builder::new();
    for (i, team) in ["DataEng", "Payments", "Search"].iter().enumerate() {
        let policy = team_policy(&team.to_ascii_lowercase());
        b = b
            .set(i, team, Some(definition(i, &[], Some(&policy))), &[1])
            .assign(i, 1);
    }
    let admin = definition(9, &["arn:aws:iam::aws:policy/AdministratorAccess"], None);
    let report = b.set(9, "Admin", Some(admin), &[1]).assign(9, 1).report();
    assert_eq!(report.clusters.len(), 1, "{:#?}", report.clusters);
    let c = &report.clusters[0];
    let names: Vec<&str> = c.members.iter().map(|m| m.set.label()).collect();
    assert_eq!(names, ["DataEng", "Payments", "Search"]);
    assert_eq!(c.common.len(), 2, "{:?}", c.common);
    assert!(c.common.contains(&"session duration PT8H".to_owned()));
    let data = &c.members[0];
    assert_eq!(data.adds.len(), 2, "{:?}", data.adds);
    assert!(data.adds.iter().all(|a| a.contains("dataeng")), "{:?}", data.adds);
    assert!(data.lacks.is_empty());
    assert!((data.similarity - 1.0).abs() < 1e-12);
    let hint = c.hint.as_deref().unwrap();
    assert!(hint.contains("${aws:PrincipalTag/"), "{hint}");
    assert!(hint.contains("dataeng, payments, search"), "{hint}");
    let Fact::Known(Some(fact)) = &report.fact_for(&arn(1)).unwrap().near_duplicates else {
        panic!()
    };
    assert_eq!(fact.members, ["DataEng", "Payments", "Search"]);
    assert_eq!(fact.threshold_permille, 900);
    assert_eq!(fact.nearest.1, 1000);
    assert_eq!(report.fact_for(&arn(9)).unwrap().near_duplicates, Fact::Known(None));
}

#[test]
fn what_a_member_adds_and_lacks_and_the_threshold_decide() {
    // Nine shared statements and the duration; B adds one, C lacks one: A~B 10/11, A~C 9/10,
    // B~C 9/11.
    let statement = |i: usize| format!(r#"{{"Effect":"Allow","Action":"svc{i}:Get*","Resource":"*"}}"#);
    let doc = |range: &[usize]| {
        let s: Vec<String> = range.iter().map(|i| statement(*i)).collect();
        format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, s.join(","))
    };
    let all: Vec<usize> = (0..9).collect();
    let plus: Vec<usize> = (0..10).collect();
    let less: Vec<usize> = (0..8).collect();
    let build = |threshold: f64, min_cluster: usize| {
        let inv = Builder::new()
            .set(1, "A", Some(definition(1, &[], Some(&doc(&all)))), &[])
            .set(2, "B", Some(definition(2, &[], Some(&doc(&plus)))), &[])
            .set(3, "C", Some(definition(3, &[], Some(&doc(&less)))), &[])
            .inv;
        analyse(&inv, &Settings { threshold, min_cluster })
    };
    let cases = [
        (0.9, 2, vec![vec!["A", "B", "C"]]),
        (0.95, 2, vec![]),
        (0.9, 4, vec![]),
        (0.8, 3, vec![vec!["A", "B", "C"]]),
    ];
    for (threshold, min_cluster, expected) in cases {
        let report = build(threshold, min_cluster);
        let got: Vec<Vec<&str>> = report
            .clusters
            .iter()
            .map(|c| c.members.iter().map(|m| m.set.label()).collect())
            .collect();
        assert_eq!(got, expected, "threshold {threshold}, min {min_cluster}");
    }
    let report = build(0.9, 2);
    let c = &report.clusters[0];
    // What a member has and some other lacks: A and B have svc8, which C lacks; only B has svc9.
    assert_eq!(c.members[0].adds, ["statement Allow Action [svc8:get*] Resource [*]"]);
    let b = &c.members[1];
    assert_eq!(
        b.adds,
        [
            "statement Allow Action [svc8:get*] Resource [*]",
            "statement Allow Action [svc9:get*] Resource [*]"
        ]
    );
    assert!(b.lacks.is_empty());
    let cm = &c.members[2];
    assert!(cm.adds.is_empty());
    assert_eq!(cm.lacks, ["statement Allow Action [svc8:get*] Resource [*]"]);
    assert_eq!(cm.nearest, "A");
    assert!(c.hint.is_none());
}

#[test]
fn the_report_serialises_with_its_sections() {
    let ro = definition(0, &["arn:aws:iam::aws:policy/ReadOnlyAccess"], None);
    let report = Builder::new().set(1, "Legacy", Some(ro), &[]).report();
    let json = serde_json::to_value(&report).unwrap();
    for key in ["threshold", "orphaned", "provisioned_unassigned", "clusters", "unknown"] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert_eq!(json["orphaned"][0]["name"], "Legacy");
    assert!(report.has_findings());
}

#[test]
fn a_family_that_drifted_still_gets_the_abac_hint_with_its_other_differences() {
    let mut b = Builder::new();
    for (i, team) in ["DataEng", "Payments", "Search", "Ledger", "Growth"].iter().enumerate() {
        let mut policy = team_policy(&team.to_ascii_lowercase());
        if i == 4 {
            // One copy gained a statement nobody else has.
            policy = policy.replace(
                r#"{"Effect":"Allow","Action":["logs:Get*""#,
                r#"{"Effect":"Allow","Action":"iam:*","Resource":"*"},{"Effect":"Allow","Action":["logs:Get*""#,
            );
        }
        b = b
            .set(i, team, Some(definition(i, &[], Some(&policy))), &[1])
            .assign(i, 1);
    }
    let report = analyse(
        &b.inv,
        &Settings {
            threshold: 0.8,
            min_cluster: 2,
        },
    );
    assert_eq!(report.clusters.len(), 1, "{:#?}", report.clusters);
    let c = &report.clusters[0];
    assert_eq!(c.members.len(), 5);
    let hint = c.hint.as_deref().unwrap();
    assert!(hint.contains("and in 1 other feature(s)"), "{hint}");
    let growth = c.members.iter().find(|m| m.set.label() == "Growth").unwrap();
    assert!(growth.adds.iter().any(|a| a.contains("iam:*")), "{:?}", growth.adds);
    // At the default threshold the drifted copy (5/6) stays out, and the rest differ only by name.
    let strict = b.report();
    assert_eq!(strict.clusters[0].members.len(), 4);
    assert!(
        strict.clusters[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("differ only in values")
    );
}
