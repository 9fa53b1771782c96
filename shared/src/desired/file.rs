//! Reading the desired-assignments file: every problem at once, with file, line and column.

use super::{DesiredFile, EntitlementEntry, Entry, PlacedTarget, PrincipalName, Target};
use crate::domain::AccessApplicationArn;
use crate::spanned::{PolicyError, Reader, Table, Value};

/// Keys accepted at each level.
mod keys {
    pub(super) const TOP: &[&str] = &["assignments", "entitlements"];
    // `entitlements` is top-level; accepted here only to say where it belongs (TOML reads a key
    // written after a `[[table]]` header as that table's).
    pub(super) const ENTRY: &[&str] = &["group", "user", "permission_set", "targets", "owner", "entitlements"];
    pub(super) const ENTITLEMENT: &[&str] = &[
        "group",
        "user",
        "role",
        "targets",
        "owner",
        "application",
        "entitlements",
    ];
}

/// Parses a desired-assignments file; every problem at once.
pub fn parse(file: &str, text: &str) -> Result<DesiredFile, PolicyError> {
    let mut r = Reader::new(file, text);
    let root_value = r.parse_root();
    let mut entries = Vec::new();
    let mut entitlements = None;
    if let Some(mut top) = r.table(&root_value, "", keys::TOP) {
        if let Some(list) = top.take("assignments")
            && let Some(items) = r.array(list, "assignments")
        {
            for (i, item) in items.iter().enumerate() {
                if let Some(e) = read_entry(&mut r, item, &format!("assignments[{i}]")) {
                    entries.push(e);
                }
            }
        }
        if let Some(list) = top.take("entitlements")
            && let Some(items) = r.array(list, "entitlements")
        {
            let mut read = Vec::new();
            for (i, item) in items.iter().enumerate() {
                if let Some(e) = read_entitlement(&mut r, item, &format!("entitlements[{i}]")) {
                    read.push(e);
                }
            }
            entitlements = Some(read);
        }
        top.finish(&mut r);
    }
    r.finish(Some(DesiredFile {
        file: file.to_owned(),
        entries,
        entitlements,
    }))
}

/// Reads and parses a file.
pub fn load(path: &std::path::Path) -> Result<DesiredFile, PolicyError> {
    let text = crate::spanned::read_text(path, "desired-assignments file")?;
    parse(&path.display().to_string(), &text)
}

fn read_entry(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<Entry> {
    let mut t = r.table(value, path, keys::ENTRY)?;
    let at = r.position(value.span().start);
    let principal = read_principal(r, &mut t, value, path);
    let permission_set = t
        .require(r, "permission_set", " (the permission set's name)")
        .and_then(|v| {
            let p = format!("{path}.permission_set");
            let s = r.non_empty_string(v, &p)?;
            let valid = s.len() <= 32 && s.chars().all(|c| c.is_alphanumeric() || "_+=,.@-".contains(c));
            if !valid {
                r.problem(
                    v.span(),
                    &p,
                    format!("{s:?} is not a permission set name (1-32 of letters, digits, _+=,.@-)"),
                );
                return None;
            }
            Some(s)
        });
    let targets = read_targets(r, &mut t, path);
    let owner = t
        .take("owner")
        .and_then(|v| r.non_empty_string(v, &format!("{path}.owner")));
    misplaced_entitlements_key(r, &mut t, path);
    t.finish(r);
    Some(Entry {
        principal: principal?,
        permission_set: permission_set?,
        targets: targets?,
        owner,
        at,
    })
}

/// An `[[entitlements]]` entry: the principal, the role's path and name, the targets.
fn read_entitlement(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<EntitlementEntry> {
    let mut t = r.table(value, path, keys::ENTITLEMENT)?;
    let at = r.position(value.span().start);
    let principal = read_principal(r, &mut t, value, path);
    let role = t
        .require(r, "role", " (the role's name, or its path and name: \"/team/Name\")")
        .and_then(|v| {
            let p = format!("{path}.role");
            let s = r.non_empty_string(v, &p)?;
            match role_path_and_name(&s) {
                Some(role) => Some(role),
                None => {
                    r.problem(
                        v.span(),
                        &p,
                        format!(
                            "{s:?} is not a role name (1-64 of letters, digits, +=,.@_-) or a path and name \
                             (\"/team/Name\")"
                        ),
                    );
                    None
                }
            }
        });
    let targets = read_targets(r, &mut t, path);
    // Given but invalid is a problem, not "none named".
    let application = match t.take("application") {
        None => Some(None),
        Some(v) => {
            let p = format!("{path}.application");
            r.non_empty_string(v, &p)
                .and_then(|s| match AccessApplicationArn::parse(&s) {
                    Ok(arn) => Some(Some(arn)),
                    Err(_) => {
                        r.problem(
                            v.span(),
                            &p,
                            format!("{s:?} is not an account access manager application ARN"),
                        );
                        None
                    }
                })
        }
    };
    let owner = t
        .take("owner")
        .and_then(|v| r.non_empty_string(v, &format!("{path}.owner")));
    misplaced_entitlements_key(r, &mut t, path);
    t.finish(r);
    Some(EntitlementEntry {
        principal: principal?,
        role: role?,
        targets: targets?,
        application: application?,
        owner,
        at,
    })
}

/// A role's path and name as IAM writes them: `Name` is `/Name`; `/team/Name` stays. IAM's
/// limits: a name of 1-64 of letters, digits and `+=,.@_-`; a path of `/`-separated segments of
/// printable ASCII (here: the name's characters), 512 characters at most.
pub(crate) fn role_path_and_name(text: &str) -> Option<String> {
    let full = if text.starts_with('/') {
        text.to_owned()
    } else {
        format!("/{text}")
    };
    let (path, name) = full.rsplit_once('/')?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    let name_ok = (1..=64).contains(&name.len()) && name.chars().all(allowed);
    let path_ok = path.len() < 512
        && path
            .split('/')
            .skip(1)
            .all(|seg| !seg.is_empty() && seg.chars().all(allowed));
    // A bare name has no path; a path must start with `/`.
    let shape_ok = text.starts_with('/') || !text.contains('/');
    (name_ok && path_ok && shape_ok).then_some(full)
}

/// An `entitlements = …` written after a `[[table]]` header, which TOML reads as that entry's.
fn misplaced_entitlements_key(r: &mut Reader<'_>, t: &mut Table<'_, '_>, path: &str) {
    if let Some(v) = t.take("entitlements") {
        r.problem(
            v.span(),
            &format!("{path}.entitlements"),
            "`entitlements` is a top-level key: write it before the file's first [[table]] \
             (after a [[table]] header, TOML reads it as a key of that entry)",
        );
    }
}

/// `group` or `user`, exactly one.
fn read_principal(r: &mut Reader<'_>, t: &mut Table<'_, '_>, value: &Value<'_>, path: &str) -> Option<PrincipalName> {
    let group = t
        .take("group")
        .and_then(|v| r.non_empty_string(v, &format!("{path}.group")));
    let user = t
        .take("user")
        .and_then(|v| r.non_empty_string(v, &format!("{path}.user")));
    match (group, user) {
        (Some(g), None) => Some(PrincipalName::Group(g)),
        (None, Some(u)) => Some(PrincipalName::User(u)),
        (Some(_), Some(_)) => {
            r.problem(value.span(), path, "give either `group` or `user`, not both");
            None
        }
        (None, None) => {
            r.problem(
                value.span(),
                path,
                "missing key `group` (the group's display name) or `user`",
            );
            None
        }
    }
}

/// `targets`: at least one account id, OU or root id, or `all`.
fn read_targets(r: &mut Reader<'_>, t: &mut Table<'_, '_>, path: &str) -> Option<Vec<PlacedTarget>> {
    t.require(r, "targets", " (account ids, OU ids or \"all\")").and_then(|v| {
        let p = format!("{path}.targets");
        let list = r.list(v, &p, |r, s, span, p| match Target::parse(s) {
            Some(target) => Some(PlacedTarget {
                target,
                at: r.position(span.start),
            }),
            None => {
                r.problem(
                    span,
                    p,
                    format!("{s:?} is not a target: expected a 12-digit account id, an OU id (ou-…), a root id (r-…) or \"all\""),
                );
                None
            }
        })?;
        if list.is_empty() {
            r.problem(v.span(), &p, "must name at least one target");
            return None;
        }
        Some(list)
    })
}
