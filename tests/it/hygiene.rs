//! Permission-set hygiene (issue #16, item 3) against the emulator, through the CLI as a user
//! runs it: an orphaned set, a set provisioned to an account where nobody is assigned it, a
//! family of three per-team near-copies and a distinct set; `idc-guard sets` in its three formats,
//! and `scan` reporting the three rules.

use std::path::{Path, PathBuf};
use std::process::Output;

use aws_sdk_ssoadmin::types::{PrincipalType, ProvisionTargetType};
use idc_guard_tests::world::{PermissionSet, World};
use serde_json::Value;

/// The shipped rules in detect mode: nothing is changed, everything is reported.
const POLICY: &str = "mode = \"detect\"\n";

/// A team's copy of the standard engineer set: the shared grants plus its own bucket and key.
fn team_policy(team: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::{team}-data/*"}},
            {{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:eu-west-1:111122223333:alias/{team}"}},
            {{"Effect":"Allow","Action":["logs:Get*","logs:Describe*"],"Resource":"*"}}]}}"#
    )
}

const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

/// Accounts acct-0 and acct-1, the group `engineers`, and: `Legacy` (never assigned), `Tools`
/// (assigned in acct-0, provisioned to acct-1 as well), `DataEng`, `Payments` and `Search`
/// (per-team copies, assigned in acct-0) and `Admin` (distinct, assigned in acct-0).
async fn world() -> World {
    let mut builder = World::builder()
        .organization(["acct-0", "acct-1"])
        .group("engineers")
        .permission_set(
            PermissionSet::new("Legacy")
                .session("PT2H")
                .inline_policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudtrail:LookupEvents","Resource":"*"}]}"#),
        )
        .permission_set(PermissionSet::new("Tools").session("PT4H").inline_policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codebuild:StartBuild","Resource":"*"}]}"#,
        ))
        .permission_set(
            PermissionSet::new("Admin")
                .session("PT1H")
                .managed_policy("arn:aws:iam::aws:policy/AdministratorAccess"),
        );
    for team in ["DataEng", "Payments", "Search"] {
        builder = builder.permission_set(
            PermissionSet::new(team)
                .session("PT8H")
                .managed_policy(READ_ONLY)
                .inline_policy(&team_policy(&team.to_ascii_lowercase())),
        );
    }
    let w = builder.build().await;
    let group = w.group_id("engineers").to_owned();
    for set in ["Tools", "Admin", "DataEng", "Payments", "Search"] {
        w.assign(&w.accounts[0], w.set_arn(set), PrincipalType::Group, &group)
            .await;
    }
    // Tools is provisioned to acct-1 too, where nobody is assigned it.
    w.sso
        .provision_permission_set()
        .instance_arn(&w.instance)
        .permission_set_arn(w.set_arn("Tools"))
        .target_type(ProvisionTargetType::AwsAccount)
        .target_id(&w.accounts[1])
        .send()
        .await
        .unwrap();
    w
}

fn idc_guard(w: &World, dir: &Path, args: &[&str]) -> Output {
    w.idc_guard(dir, POLICY, args, &[])
}

fn text(o: &Output) -> String {
    idc_guard_tests::shown(o)
}

fn scratch(w: &World) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idc-guard-sets-{}-{}", std::process::id(), w.emulator.port()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn sets_reports_orphans_leftovers_and_a_team_family_in_three_formats() {
    let w = world().await;
    let dir = scratch(&w);

    let json = idc_guard(&w, &dir, &["sets", "--format", "json"]);
    assert_eq!(json.status.code(), Some(1), "findings: {}", text(&json));
    let report: Value = serde_json::from_slice(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&json)));
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&report["orphaned"]), ["Legacy"], "{report:#}");
    assert_eq!(names(&report["provisioned_unassigned"]), ["Tools"], "{report:#}");
    assert_eq!(
        report["provisioned_unassigned"][0]["accounts"],
        serde_json::json!([w.accounts[1]])
    );
    let clusters = report["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "{report:#}");
    assert_eq!(names(&clusters[0]["members"]), ["DataEng", "Payments", "Search"]);
    assert_eq!(clusters[0]["common"].as_array().unwrap().len(), 3, "{report:#}");
    let hint = clusters[0]["hint"].as_str().unwrap();
    assert!(
        hint.contains("${aws:PrincipalTag/") && hint.contains("dataeng, payments, search"),
        "{hint}"
    );
    let data = &clusters[0]["members"][0];
    assert_eq!(data["adds"].as_array().unwrap().len(), 2, "{data:#}");
    assert_eq!(report["compared"], 6);
    assert!(report["unknown"].as_array().unwrap().is_empty(), "{report:#}");

    let table = idc_guard(&w, &dir, &["sets"]);
    assert_eq!(table.status.code(), Some(1), "{}", text(&table));
    let out = String::from_utf8_lossy(&table.stdout);
    for part in [
        "orphaned (no assignment anywhere): 1",
        "provisioned without assignment: 1",
        "near-duplicate clusters: 1",
        "cluster 1: 3 sets",
        "hint: the 3 sets differ only in values taken from their names",
    ] {
        assert!(out.contains(part), "{part}: {out}");
    }
    assert!(
        out.contains(&format!("Tools{}{}", " ".repeat(28), w.accounts[1])),
        "{out}"
    );

    let csv = idc_guard(&w, &dir, &["sets", "--format", "csv"]);
    assert_eq!(csv.status.code(), Some(1), "{}", text(&csv));
    let csv = String::from_utf8(csv.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "section,permission_set_name,permission_set_arn,account_id,cluster,nearest,similarity,adds,lacks,hint,reason"
        )
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert!(
        rows[0].starts_with(&format!("orphaned,Legacy,{},", w.set_arn("Legacy"))),
        "{csv}"
    );
    assert!(
        rows[1].starts_with(&format!(
            "provisioned-unassigned,Tools,{},{},",
            w.set_arn("Tools"),
            w.accounts[1]
        )),
        "{csv}"
    );
    assert!(
        rows[2..]
            .iter()
            .all(|r| r.starts_with("near-duplicate,") && r.contains(",1,")),
        "{csv}"
    );

    // Identical templates stay together at 1.0; a threshold outside (0, 1] is a usage error.
    let strict = idc_guard(&w, &dir, &["sets", "--format", "json", "--threshold", "1"]);
    let strict: Value = serde_json::from_slice(&strict.stdout).unwrap();
    assert_eq!(strict["clusters"].as_array().unwrap().len(), 1);
    let bad = idc_guard(&w, &dir, &["sets", "--threshold", "0"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn scan_reports_the_three_hygiene_rules_once_per_set_and_plans_nothing_for_them() {
    let w = world().await;
    let dir = scratch(&w);
    let scan = idc_guard(&w, &dir, &["scan", "--format", "json"]);
    assert_eq!(scan.status.code(), Some(1), "{}", text(&scan));
    let report: Value = serde_json::from_slice(&scan.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&scan)));
    let found = |rule: &str| -> Vec<String> {
        let mut sets: Vec<String> = report["plan"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["rule"] == rule)
            .map(|a| {
                assert!(a["actions"].as_array().unwrap().is_empty(), "{a:#}");
                a["resource"]["permission_set_name"].as_str().unwrap().to_owned()
            })
            .collect();
        sets.sort();
        sets
    };
    assert_eq!(found("permission-set-orphaned"), ["Legacy"], "{report:#}");
    assert_eq!(found("permission-set-provisioned-unassigned"), ["Tools"], "{report:#}");
    assert_eq!(
        found("permission-set-near-duplicate"),
        ["DataEng", "Payments", "Search"],
        "{report:#}"
    );
    let plan = report["plan"].as_array().unwrap();
    let reason = plan
        .iter()
        .find(|a| a["rule"] == "permission-set-provisioned-unassigned")
        .and_then(|a| a["reason"].as_str())
        .unwrap();
    assert!(reason.contains(&w.accounts[1]), "{reason}");
    let _ = std::fs::remove_dir_all(&dir);
}
