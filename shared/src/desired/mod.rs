//! Assignments as code: the desired-assignments file (`assignments.toml`).
//!
//! ```toml
//! [[assignments]]
//! group = "platform-admins"               # or: user = "alice@example.com"
//! permission_set = "AdministratorAccess"
//! targets = ["111111111111", "ou-ab12-cdef3456", "all"]
//! owner = "platform-team"                 # optional
//! ```
//!
//! Parsing ([`parse`]) is pure and reports every problem at once with file, line and column, in
//! the policy file's style. Resolution ([`resolve`]) turns names into ids with what the inventory
//! read (identity store, sso-admin, Organizations): an unknown name is a validation problem,
//! never a deletion.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::ids::{AccountId, InstanceArn, PermissionSetArn};
use crate::model::PrincipalType;
use crate::policy::parse::{Reader, Value};
use crate::policy::{PolicyError, Problem};

/// Keys accepted at each level.
mod keys {
    pub(super) const TOP: &[&str] = &["assignments"];
    pub(super) const ENTRY: &[&str] = &["group", "user", "permission_set", "targets", "owner"];
}

/// Where an entry grants access.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// One account.
    Account(AccountId),
    /// Every account under an organizational unit (or root), recursively.
    OrganizationalUnit(String),
    /// Every account of the organization.
    All,
}

impl Target {
    /// Parses an account id, an OU id (`ou-…`), a root id (`r-…`) or `all`.
    pub fn parse(text: &str) -> Option<Self> {
        if text == "all" {
            return Some(Self::All);
        }
        if let Ok(id) = AccountId::parse(text) {
            return Some(Self::Account(id));
        }
        let ou = text.strip_prefix("ou-").is_some_and(|rest| {
            rest.split_once('-').is_some_and(|(a, b)| {
                (4..=32).contains(&a.len())
                    && (8..=32).contains(&b.len())
                    && a.bytes()
                        .chain(b.bytes())
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
        });
        let root = text.strip_prefix("r-").is_some_and(|rest| {
            (4..=32).contains(&rest.len()) && rest.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
        (ou || root).then(|| Self::OrganizationalUnit(text.to_owned()))
    }

    /// The text as written in a file.
    pub fn as_text(&self) -> &str {
        match self {
            Self::Account(id) => id.as_str(),
            Self::OrganizationalUnit(id) => id,
            Self::All => "all",
        }
    }
}

/// A principal by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrincipalName {
    /// A group's display name.
    Group(String),
    /// A user's user name.
    User(String),
}

impl PrincipalName {
    /// USER or GROUP.
    pub fn principal_type(&self) -> PrincipalType {
        match self {
            Self::Group(_) => PrincipalType::Group,
            Self::User(_) => PrincipalType::User,
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        match self {
            Self::Group(n) | Self::User(n) => n,
        }
    }
}

/// A target with its place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedTarget {
    /// The target.
    pub target: Target,
    /// 1-based line and column.
    pub at: (usize, usize),
}

/// One `[[assignments]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The principal.
    pub principal: PrincipalName,
    /// The permission set's name.
    pub permission_set: String,
    /// Where.
    pub targets: Vec<PlacedTarget>,
    /// Who owns this access, if named.
    pub owner: Option<String>,
    /// 1-based line and column of the entry.
    pub at: (usize, usize),
}

/// A parsed desired-assignments file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredFile {
    /// The file name, for problems.
    pub file: String,
    /// The entries, in file order.
    pub entries: Vec<Entry>,
}

/// Parses a desired-assignments file; every problem at once.
pub fn parse(file: &str, text: &str) -> Result<DesiredFile, PolicyError> {
    let mut r = Reader::new(file, text);
    let (root, syntax) = DeTable::parse_recoverable(text);
    for e in &syntax {
        let span = e.span().unwrap_or(0..0);
        r.problem(span, "", format!("TOML syntax: {}", e.message()));
    }
    let root_value: Value<'_> = Spanned::new(root.span(), DeValue::Table(root.into_inner()));
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
    if r.problems.is_empty() {
        return Ok(DesiredFile {
            file: file.to_owned(),
            entries,
        });
    }
    let mut problems = std::mem::take(&mut r.problems);
    problems.sort_by_key(|p| (p.line, p.column));
    problems.dedup();
    Err(PolicyError { problems })
}

/// Reads and parses a file.
pub fn load(path: &std::path::Path) -> Result<DesiredFile, PolicyError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| PolicyError::io(&file, &e))?;
    parse(&file, &text)
}

fn position(text_line_col: &mut Reader<'_>, span: std::ops::Range<usize>) -> (usize, usize) {
    text_line_col.position(span.start)
}

fn read_entry(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<Entry> {
    let mut t = r.table(value, path, keys::ENTRY)?;
    let at = position(r, value.span());
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

/// One desired assignment, by ids.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// The account.
    pub account_id: AccountId,
    /// The permission set.
    pub permission_set_arn: PermissionSetArn,
    /// USER or GROUP.
    pub principal_type: PrincipalTypeKey,
    /// The principal's id.
    pub principal_id: String,
}

/// [`PrincipalType`] with an order, for sorted keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrincipalTypeKey {
    /// GROUP.
    Group,
    /// USER.
    User,
}

impl From<PrincipalType> for PrincipalTypeKey {
    fn from(value: PrincipalType) -> Self {
        match value {
            PrincipalType::Group => Self::Group,
            PrincipalType::User => Self::User,
        }
    }
}

impl From<PrincipalTypeKey> for PrincipalType {
    fn from(value: PrincipalTypeKey) -> Self {
        match value {
            PrincipalTypeKey::Group => Self::Group,
            PrincipalTypeKey::User => Self::User,
        }
    }
}

/// Why one desired assignment is wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    /// The principal's name.
    pub principal_name: String,
    /// The owner named by the (first) entry asking for it.
    pub owner: Option<String>,
    /// That entry's line.
    pub line: usize,
}

/// The desired state, by ids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolved {
    /// Every desired assignment.
    pub wanted: BTreeMap<Key, Want>,
}

/// What resolution needs to know: names to ids, and the organisation's accounts.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Group display name → id.
    pub groups: BTreeMap<String, String>,
    /// User name → id.
    pub users: BTreeMap<String, String>,
    /// Permission set name → ARN.
    pub permission_sets: BTreeMap<String, PermissionSetArn>,
    /// Every account of the organisation; `None` when Organizations could not be read.
    pub accounts: Option<BTreeSet<AccountId>>,
    /// The accounts under each OU or root the file names (recursively); `None` for one whose
    /// read failed, absent for one that does not exist.
    pub ou_accounts: BTreeMap<String, Option<BTreeSet<AccountId>>>,
}

/// Why a desired file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Names that do not exist, and other validation problems.
    Invalid(Vec<Problem>),
    /// A read the resolution needs failed (e.g. Organizations): the desired state is unknown.
    Unknown(String),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(problems) => {
                for (i, p) in problems.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{p}")?;
                }
                Ok(())
            }
            Self::Unknown(why) => f.write_str(why),
        }
    }
}

/// The OU and root ids the file names (the inventory expands them).
pub fn organizational_units(file: &DesiredFile) -> BTreeSet<String> {
    file.entries
        .iter()
        .flat_map(|e| &e.targets)
        .filter_map(|t| match &t.target {
            Target::OrganizationalUnit(id) => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// Whether the file uses `all` or an OU (Organizations must be read).
pub fn needs_organization(file: &DesiredFile) -> bool {
    file.entries
        .iter()
        .flat_map(|e| &e.targets)
        .any(|t| !matches!(t.target, Target::Account(_)))
}

/// Resolves every entry to ids; every unknown name is a problem.
pub fn resolve(file: &DesiredFile, names: &Names) -> Result<Resolved, Unusable> {
    let mut problems = Vec::new();
    let mut out = Resolved::default();
    let problem = |problems: &mut Vec<Problem>, at: (usize, usize), message: String| {
        problems.push(Problem {
            file: file.file.clone(),
            line: at.0,
            column: at.1,
            path: String::new(),
            message,
        });
    };
    for e in &file.entries {
        let principal = match &e.principal {
            PrincipalName::Group(n) => names.groups.get(n),
            PrincipalName::User(n) => names.users.get(n),
        };
        let kind = match e.principal {
            PrincipalName::Group(_) => "group",
            PrincipalName::User(_) => "user",
        };
        if principal.is_none() {
            problem(
                &mut problems,
                e.at,
                format!(
                    "unknown {kind} {:?}: no such {kind} in the identity store",
                    e.principal.name()
                ),
            );
        }
        let ps = names.permission_sets.get(&e.permission_set);
        if ps.is_none() {
            problem(
                &mut problems,
                e.at,
                format!(
                    "unknown permission set {:?}: no such permission set in the instance",
                    e.permission_set
                ),
            );
        }
        let mut accounts = BTreeSet::new();
        for t in &e.targets {
            match &t.target {
                Target::Account(id) => match &names.accounts {
                    Some(all) if !all.contains(id) => {
                        problem(&mut problems, t.at, format!("account {id} is not in the organization"));
                    }
                    _ => {
                        accounts.insert(id.clone());
                    }
                },
                Target::All => match &names.accounts {
                    Some(all) => accounts.extend(all.iter().cloned()),
                    None => {
                        return Err(Unusable::Unknown(
                            "the organization's accounts could not be read (target \"all\")".to_owned(),
                        ));
                    }
                },
                Target::OrganizationalUnit(ou) => match names.ou_accounts.get(ou) {
                    Some(Some(under)) => accounts.extend(under.iter().cloned()),
                    Some(None) => {
                        return Err(Unusable::Unknown(format!("the accounts under {ou} could not be read")));
                    }
                    None => problem(&mut problems, t.at, format!("unknown organizational unit {ou}")),
                },
            }
        }
        let (Some(principal), Some(ps)) = (principal, ps) else {
            continue;
        };
        for account_id in accounts {
            out.wanted
                .entry(Key {
                    account_id,
                    permission_set_arn: ps.clone(),
                    principal_type: e.principal.principal_type().into(),
                    principal_id: principal.clone(),
                })
                .or_insert_with(|| Want {
                    principal_name: e.principal.name().to_owned(),
                    owner: e.owner.clone(),
                    line: e.at.0,
                });
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        problems.sort_by_key(|p| (p.line, p.column));
        Err(Unusable::Invalid(problems))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[assignments]]
group = "platform"
permission_set = "AdministratorAccess"
targets = ["111111111111", "ou-ab12-cdef3456", "all"]
owner = "platform-team"

[[assignments]]
user = "alice"
permission_set = "ReadOnly"
targets = ["222222222222"]
"#;

    #[test]
    fn the_shipped_example_parses() {
        let f = parse(
            "assignments.example.toml",
            include_str!("../../../policy/assignments.example.toml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.entries.len(), 3);
        assert!(needs_organization(&f));
        assert_eq!(organizational_units(&f).len(), 2);
    }

    #[test]
    fn a_good_file_parses() {
        let f = parse("a.toml", GOOD).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.entries.len(), 2);
        assert_eq!(f.entries[0].principal, PrincipalName::Group("platform".to_owned()));
        assert_eq!(f.entries[0].targets.len(), 3);
        assert_eq!(f.entries[0].targets[2].target, Target::All);
        assert_eq!(f.entries[0].at.0, 2);
        assert_eq!(f.entries[1].principal, PrincipalName::User("alice".to_owned()));
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let text = r#"
[[assignments]]
grop = "platform"
permission_set = "Admin Access"
targets = ["11111111111", "ou-x"]

[[assignments]]
group = "a"
user = "b"
permission_set = "P"
targets = []
"#;
        let e = parse("bad.toml", text).err().unwrap_or_else(|| panic!("should fail"));
        let text = e.to_string();
        for expected in [
            "bad.toml:3:1: assignments[0]: unknown key `grop`; did you mean `group`?",
            "bad.toml:4:18: assignments[0].permission_set: \"Admin Access\" is not a permission set name",
            "bad.toml:5:12: assignments[0].targets[0]: \"11111111111\" is not a target",
            "bad.toml:5:27: assignments[0].targets[1]: \"ou-x\" is not a target",
            "give either `group` or `user`, not both",
            "assignments[1].targets: must name at least one target",
            "missing key `group`",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn unknown_names_are_problems_not_deletions() {
        let f = parse("a.toml", GOOD).unwrap_or_else(|e| panic!("{e}"));
        let names = Names {
            accounts: Some(BTreeSet::new()),
            ..Names::default()
        };
        let Err(Unusable::Invalid(problems)) = resolve(&f, &names) else {
            panic!("should be invalid")
        };
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let text = text.join("\n");
        assert!(text.contains("unknown group \"platform\""), "{text}");
        assert!(
            text.contains("unknown permission set \"AdministratorAccess\""),
            "{text}"
        );
        assert!(
            text.contains("account 111111111111 is not in the organization"),
            "{text}"
        );
        assert!(text.contains("unknown organizational unit ou-ab12-cdef3456"), "{text}");
        assert!(text.contains("unknown user \"alice\""), "{text}");
    }
}
