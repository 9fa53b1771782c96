//! The live assignments with names, for `idc-guard export` (CSV, JSON, or a desired file that
//! adopts today's state), and the diff of live against desired for `idc-guard diff`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::Resolved;
use crate::domain::{AccountId, Assignment, Entitlement, InstanceArn};
use crate::inventory::Inventory;
use crate::policy::Owners;

/// One assignment as exported: names and ids.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ExportRow {
    /// GROUP or USER.
    pub principal_type: String,
    /// The group's display name or the user's name (empty when unknown).
    pub principal_name: String,
    /// The principal's id.
    pub principal_id: String,
    /// The permission set's name (empty when unknown).
    pub permission_set_name: String,
    /// The permission set's ARN.
    pub permission_set_arn: String,
    /// The account.
    pub account_id: String,
    /// The account's name (empty when unknown).
    pub account_name: String,
    /// The owner (from the desired file or the owner map; empty when none).
    pub owner: String,
    /// For an entitlement of account access manager (issue #19): the role it may assume (the
    /// permission set's columns are then empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub role_arn: String,
    /// For an entitlement: its account access manager application.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub application_arn: String,
    /// Its last use and dormancy, when usage data is available (issue #17).
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub usage: Option<crate::usage::UsageColumns>,
}

/// Renders rows as a desired-assignments file: one entry per (principal, permission set,
/// owner), its accounts as targets, sorted, so the file diffs well in review. Entitlement rows
/// become `[[entitlements]]` entries the same way, by (principal, role, application, owner); the
/// application is written only when there are several.
pub fn to_toml(rows: &[ExportRow], _instance: &InstanceArn) -> String {
    type Key = (String, String, String, String, String);
    let mut assignments: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
    let mut entitlements: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
    for r in rows {
        let (map, what, application) = if r.role_arn.is_empty() {
            (&mut assignments, r.permission_set_name.clone(), String::new())
        } else {
            (
                &mut entitlements,
                role_as_written(&r.role_arn),
                r.application_arn.clone(),
            )
        };
        map.entry((
            r.principal_type.clone(),
            r.principal_name.clone(),
            what,
            application,
            r.owner.clone(),
        ))
        .or_default()
        .insert(r.account_id.clone());
    }
    let applications: BTreeSet<&String> = entitlements.keys().map(|k| &k.3).collect();
    let mut out =
        String::from("# Desired account assignments (idc-guard export): review changes to this file like code.\n");
    for (table, map) in [("assignments", &assignments), ("entitlements", &entitlements)] {
        for ((kind, name, what, application, owner), accounts) in map {
            let _ = writeln!(out, "\n[[{table}]]");
            let key = if kind == "USER" { "user" } else { "group" };
            let _ = writeln!(out, "{key} = {}", quote(name));
            if table == "assignments" {
                let _ = writeln!(out, "permission_set = {}", quote(what));
            } else {
                let _ = writeln!(out, "role = {}", quote(what));
            }
            let targets: Vec<String> = accounts.iter().map(|a| quote(a)).collect();
            let _ = writeln!(out, "targets = [{}]", targets.join(", "));
            if table == "entitlements" && applications.len() > 1 {
                let _ = writeln!(out, "application = {}", quote(application));
            }
            if !owner.is_empty() {
                let _ = writeln!(out, "owner = {}", quote(owner));
            }
        }
    }
    out
}

/// A role as the desired file writes it: its name, or its path and name when it has a path.
fn role_as_written(role_arn: &str) -> String {
    let path_and_name = crate::domain::RoleArn::parse(role_arn)
        .map(|r| r.path_and_name())
        .unwrap_or_else(|_| role_arn.to_owned());
    match path_and_name.strip_prefix('/') {
        Some(name) if !name.contains('/') => name.to_owned(),
        _ => path_and_name,
    }
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// Every assignment with names, for `idc-guard export`. Its owner is the one the desired file
/// names for it (`named`); else, with `routing`, the one findings about it are routed to: the
/// permission set's owner tag (read with [`crate::inventory::Options::owner_tags`]), the first matching
/// route, the default owner; else empty.
pub fn export_rows(inv: &Inventory, named: &BTreeMap<Assignment, String>, routing: Option<&Owners>) -> Vec<ExportRow> {
    inv.assignments
        .iter()
        .map(|k| ExportRow {
            principal_type: k.principal_type.as_str().to_owned(),
            principal_name: inv
                .principal_name(k.principal_type, &k.principal_id)
                .unwrap_or_default()
                .to_owned(),
            principal_id: k.principal_id.clone(),
            permission_set_name: inv
                .permission_set_name(&k.permission_set_arn)
                .unwrap_or_default()
                .to_owned(),
            permission_set_arn: k.permission_set_arn.to_string(),
            account_id: k.account_id.to_string(),
            account_name: account_name(inv, &k.account_id),
            owner: named.get(k).cloned().unwrap_or_else(|| {
                let set = inv.permission_sets.get(&k.permission_set_arn);
                routing.map_or_else(String::new, |owners| {
                    owners
                        .resolve(
                            set.and_then(|e| e.owner_tag.as_deref()),
                            set.and_then(|e| e.name.as_deref()),
                            Some(k.account_id.as_str()),
                        )
                        .to_owned()
                })
            }),
            role_arn: String::new(),
            application_arn: String::new(),
            usage: None,
        })
        .collect()
}

/// Every entitlement of account access manager with names (issue #19), for `idc-guard export`:
/// its owner is the one the desired file names for it; else, with `routing`, the route of its
/// account, else the default owner; else empty.
pub fn entitlement_rows(inv: &Inventory, resolved: Option<&Resolved>, routing: Option<&Owners>) -> Vec<ExportRow> {
    inv.access
        .entitlements
        .iter()
        .map(|e| ExportRow {
            principal_type: e.principal_type.as_str().to_owned(),
            principal_name: inv
                .principal_name(e.principal_type, &e.principal_id)
                .unwrap_or_default()
                .to_owned(),
            principal_id: e.principal_id.clone(),
            permission_set_name: String::new(),
            permission_set_arn: String::new(),
            account_id: e.account_id.to_string(),
            account_name: account_name(inv, &e.account_id),
            owner: resolved
                .and_then(|r| r.entitlement(e).flatten())
                .and_then(|w| w.owner.clone())
                .unwrap_or_else(|| {
                    routing.map_or_else(String::new, |owners| {
                        owners.resolve(None, None, Some(e.account_id.as_str())).to_owned()
                    })
                }),
            role_arn: e.role_arn.to_string(),
            application_arn: e.application_arn.to_string(),
            usage: None,
        })
        .collect()
}

fn account_name(inv: &Inventory, id: &AccountId) -> String {
    inv.accounts
        .as_ref()
        .and_then(|a| a.get(id).cloned())
        .unwrap_or_default()
}

/// Live versus desired: (extra, missing), each sorted.
pub fn diff(inv: &Inventory, resolved: &Resolved) -> (Vec<Assignment>, Vec<Assignment>) {
    let extra = inv
        .assignments
        .iter()
        .filter(|k| !resolved.wanted.contains_key(*k))
        .cloned()
        .collect();
    let missing = resolved
        .wanted
        .keys()
        .filter(|k| !inv.assignments.contains(*k))
        .cloned()
        .collect();
    (extra, missing)
}

/// Live versus desired entitlements (issue #19): (extra, missing), each sorted; both empty when
/// the file does not govern entitlements. An application whose entitlements could not be listed
/// contributes to neither (the inventory reports it unknown).
pub fn entitlement_diff(inv: &Inventory, resolved: &Resolved) -> (Vec<Entitlement>, Vec<Entitlement>) {
    let Some(wanted) = &resolved.entitlements else {
        return (Vec::new(), Vec::new());
    };
    let extra = inv
        .access
        .entitlements
        .iter()
        .filter(|e| matches!(resolved.entitlement(e), Some(None)))
        .cloned()
        .collect();
    let missing = wanted
        .keys()
        .filter(|w| inv.access.entitlements_known(&w.application_arn))
        .filter(|w| !inv.access.entitlements.iter().any(|e| e.same_grant(w)))
        .cloned()
        .collect();
    (extra, missing)
}

/// A readable diff: `-` what exists but is not desired, `+` what is desired but does not exist.
pub fn render_diff(inv: &Inventory, resolved: &Resolved, file: &str) -> String {
    let (extra, missing) = diff(inv, resolved);
    let (extra_entitlements, missing_entitlements) = entitlement_diff(inv, resolved);
    let mut out = format!("--- live ({})\n+++ desired ({file})\n", inv.instance);
    let line = |k: &Assignment| {
        let name = account_name(inv, &k.account_id);
        format!(
            "{} {} {} {}{}",
            k.principal_type.as_str(),
            inv.principal_name(k.principal_type, &k.principal_id)
                .unwrap_or(&k.principal_id),
            inv.permission_set_name(&k.permission_set_arn)
                .unwrap_or(k.permission_set_arn.as_str()),
            k.account_id,
            if name.is_empty() {
                String::new()
            } else {
                format!(" ({name})")
            }
        )
    };
    let mut rows: Vec<(String, char, String)> = extra
        .iter()
        .map(|k| (line(k), '-', String::new()))
        .chain(missing.iter().map(|k| {
            let at = resolved
                .wanted
                .get(k)
                .map(|w| format!("  # line {}", w.line))
                .unwrap_or_default();
            (line(k), '+', at)
        }))
        .collect();
    let entitlement = |e: &Entitlement| {
        let name = account_name(inv, &e.account_id);
        format!(
            "{} {} may assume {} in {}{}",
            e.principal_type.as_str(),
            inv.principal_name(e.principal_type, &e.principal_id)
                .unwrap_or(&e.principal_id),
            e.role_arn,
            e.account_id,
            if name.is_empty() {
                String::new()
            } else {
                format!(" ({name})")
            }
        )
    };
    rows.extend(
        extra_entitlements
            .iter()
            .map(|e| (entitlement(e), '-', String::new()))
            .chain(missing_entitlements.iter().map(|e| {
                let at = resolved
                    .entitlement(e)
                    .flatten()
                    .map(|w| format!("  # line {}", w.line))
                    .unwrap_or_default();
                (entitlement(e), '+', at)
            })),
    );
    rows.sort();
    for (text, sign, note) in &rows {
        let _ = writeln!(out, "{sign} {text}{note}");
    }
    let _ = writeln!(out, "{} extra, {} missing", extra.len(), missing.len());
    if resolved.entitlements.is_some() {
        let _ = writeln!(
            out,
            "{} extra entitlements, {} missing entitlements",
            extra_entitlements.len(),
            missing_entitlements.len()
        );
    }
    out
}
