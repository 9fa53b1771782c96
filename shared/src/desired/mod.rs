//! Assignments as code: the desired-assignments file (`assignments.toml`).
//!
//! ```toml
//! [[assignments]]
//! group = "platform-admins"               # or: user = "alice@example.com"
//! permission_set = "AdministratorAccess"
//! targets = ["111111111111", "ou-ab12-cdef3456", "all"]
//! owner = "platform-team"                 # optional
//!
//! [[entitlements]]                        # issue #19: account access manager's entitlements
//! group = "data-analysts"                 # or: user = "alice@example.com"
//! role = "DataAnalyst"                    # the role's name, or its path and name: "/team/DataAnalyst"
//! targets = ["111111111111", "ou-ab12-cdef3456"]
//! owner = "data-team"                     # optional
//! application = "arn:aws:account-access:…" # optional: needed only when several applications exist
//! ```
//!
//! Entitlements are governed only when the file has an `entitlements` key (`entitlements = []`
//! declares that none is wanted): a file written before entitlements existed deletes none.
//!
//! Parsing ([`parse`], `file.rs`) is pure and reports every problem at once with file, line and
//! column, in the policy file's style. Resolution ([`resolve`], `resolve.rs`) turns names into ids
//! with what the inventory read (identity store, sso-admin, Organizations): an unknown name is a
//! validation problem, never a deletion. `export.rs` writes the live state back out (a file that
//! adopts it, CSV, JSON) and diffs it against the file.

mod export;
mod file;
mod resolve;

use std::collections::BTreeSet;

use crate::domain::{AccessApplicationArn, AccountId, PrincipalType};

pub use export::{ExportRow, diff, entitlement_diff, entitlement_rows, export_rows, render_diff, to_toml};
pub use file::{load, parse};
pub use resolve::{Names, Resolved, Unusable, Want, resolve};

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

/// One `[[entitlements]]` entry (issue #19): a principal may assume a role, named by its path
/// and name, in each target account, through account access manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementEntry {
    /// The principal.
    pub principal: PrincipalName,
    /// The role's path and name as IAM writes them (`/DataAnalyst`, `/team/DataAnalyst`).
    pub role: String,
    /// The accounts the role is in.
    pub targets: Vec<PlacedTarget>,
    /// The account access manager application, when the file names one.
    pub application: Option<AccessApplicationArn>,
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
    /// The entitlement entries; `None` when the file has no `entitlements` key (entitlements
    /// are then not governed by the file).
    pub entitlements: Option<Vec<EntitlementEntry>>,
}

impl DesiredFile {
    /// Every target of every entry, assignments and entitlements.
    fn targets(&self) -> impl Iterator<Item = &PlacedTarget> {
        self.entries
            .iter()
            .flat_map(|e| &e.targets)
            .chain(self.entitlements.iter().flatten().flat_map(|e| &e.targets))
    }
}

/// The OU and root ids the file names (the inventory expands them).
pub fn organizational_units(file: &DesiredFile) -> BTreeSet<String> {
    file.targets()
        .filter_map(|t| match &t.target {
            Target::OrganizationalUnit(id) => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// Whether the file uses `all` or an OU (Organizations must be read).
pub fn needs_organization(file: &DesiredFile) -> bool {
    file.targets().any(|t| !matches!(t.target, Target::Account(_)))
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
            ..Names::empty(
                crate::domain::InstanceArn::parse("arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708")
                    .unwrap_or_else(|e| panic!("{e}")),
            )
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
