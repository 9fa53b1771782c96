//! The live assignments with names, for `idc-guard export` (CSV, JSON, or a desired file that
//! adopts today's state), and the diff of live against desired for `idc-guard diff`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::Resolved;
use crate::domain::{AccountId, Assignment, InstanceArn};
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
    /// Its last use and dormancy, when usage data is available (issue #17).
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub usage: Option<crate::usage::UsageColumns>,
}

/// Renders rows as a desired-assignments file: one entry per (principal, permission set,
/// owner), its accounts as targets, sorted, so the file diffs well in review.
pub fn to_toml(rows: &[ExportRow], _instance: &InstanceArn) -> String {
    let mut grouped: BTreeMap<(String, String, String, String), BTreeSet<String>> = BTreeMap::new();
    for r in rows {
        grouped
            .entry((
                r.principal_type.clone(),
                r.principal_name.clone(),
                r.permission_set_name.clone(),
                r.owner.clone(),
            ))
            .or_default()
            .insert(r.account_id.clone());
    }
    let mut out =
        String::from("# Desired account assignments (idc-guard export): review changes to this file like code.\n");
    for ((kind, name, ps, owner), accounts) in grouped {
        out.push_str("\n[[assignments]]\n");
        let key = if kind == "USER" { "user" } else { "group" };
        let _ = writeln!(out, "{key} = {}", quote(&name));
        let _ = writeln!(out, "permission_set = {}", quote(&ps));
        let targets: Vec<String> = accounts.iter().map(|a| quote(a)).collect();
        let _ = writeln!(out, "targets = [{}]", targets.join(", "));
        if !owner.is_empty() {
            let _ = writeln!(out, "owner = {}", quote(&owner));
        }
    }
    out
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

/// A readable diff: `-` what exists but is not desired, `+` what is desired but does not exist.
pub fn render_diff(inv: &Inventory, resolved: &Resolved, file: &str) -> String {
    let (extra, missing) = diff(inv, resolved);
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
    rows.sort();
    for (text, sign, note) in &rows {
        let _ = writeln!(out, "{sign} {text}{note}");
    }
    let _ = writeln!(out, "{} extra, {} missing", extra.len(), missing.len());
    out
}
