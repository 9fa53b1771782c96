//! Reading the desired-assignments file: every problem at once, with file, line and column.

use super::{DesiredFile, Entry, PlacedTarget, PrincipalName, Target};
use crate::spanned::{PolicyError, Reader, Value};

/// Keys accepted at each level.
mod keys {
    pub(super) const TOP: &[&str] = &["assignments"];
    pub(super) const ENTRY: &[&str] = &["group", "user", "permission_set", "targets", "owner"];
}

/// Parses a desired-assignments file; every problem at once.
pub fn parse(file: &str, text: &str) -> Result<DesiredFile, PolicyError> {
    let mut r = Reader::new(file, text);
    let root_value = r.parse_root();
    let mut entries = Vec::new();
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
        top.finish(&mut r);
    }
    r.finish(Some(DesiredFile {
        file: file.to_owned(),
        entries,
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
    let group = t
        .take("group")
        .and_then(|v| r.non_empty_string(v, &format!("{path}.group")));
    let user = t
        .take("user")
        .and_then(|v| r.non_empty_string(v, &format!("{path}.user")));
    let principal = match (group, user) {
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
    };
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
    let targets = t
        .require(r, "targets", " (account ids, OU ids or \"all\")")
        .and_then(|v| {
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
        });
    let owner = t
        .take("owner")
        .and_then(|v| r.non_empty_string(v, &format!("{path}.owner")));
    t.finish(r);
    Some(Entry {
        principal: principal?,
        permission_set: permission_set?,
        targets: targets?,
        owner,
        at,
    })
}
