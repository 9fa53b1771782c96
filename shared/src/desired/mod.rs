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
        assert_eq!(f.entitlements.as_ref().map(Vec::len), Some(1));
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

    const APP: &str = "arn:aws:account-access:us-east-1:123456789012:application/aam-0123456789abcdef";

    fn names(apps: crate::domain::Fact<Vec<&str>>) -> Names {
        let mut names = Names::empty(
            crate::domain::InstanceArn::parse("arn:aws-us-gov:sso:::instance/ssoins-7223b1c4d5e6f708")
                .unwrap_or_else(|e| panic!("{e}")),
        );
        names.groups.insert("data".to_owned(), "g-data".to_owned());
        names.users.insert("alice".to_owned(), "u-alice".to_owned());
        names.permission_sets.insert(
            "ReadOnly".to_owned(),
            crate::domain::PermissionSetArn::parse(
                "arn:aws:sso:::permissionSet/ssoins-7223b1c4d5e6f708/ps-0123456789abcdef",
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        names.accounts = Some(
            ["111111111111", "222222222222"]
                .iter()
                .map(|a| AccountId::parse(a).unwrap_or_else(|e| panic!("{e}")))
                .collect(),
        );
        names.access_applications = match apps {
            crate::domain::Fact::Known(apps) => crate::domain::Fact::Known(
                apps.iter()
                    .map(|a| AccessApplicationArn::parse(a).unwrap_or_else(|e| panic!("{e}")))
                    .collect(),
            ),
            crate::domain::Fact::Unknown => crate::domain::Fact::Unknown,
        };
        names
    }

    const ENTITLEMENTS: &str = r#"
[[assignments]]
group = "data"
permission_set = "ReadOnly"
targets = ["111111111111"]

[[entitlements]]
group = "data"
role = "/team/DataAnalyst"
targets = ["111111111111", "all"]
owner = "data-team"

[[entitlements]]
user = "alice"
role = "BreakGlassAdmin"
targets = ["222222222222"]
"#;

    #[test]
    fn entitlements_are_governed_only_when_the_file_has_the_key() {
        let f = parse("a.toml", GOOD).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.entitlements, None);
        let f = parse("a.toml", &format!("entitlements = []\n{GOOD}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.entitlements, Some(Vec::new()));
        let f = parse("a.toml", ENTITLEMENTS).unwrap_or_else(|e| panic!("{e}"));
        let e = f.entitlements.unwrap_or_default();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].principal, PrincipalName::Group("data".to_owned()));
        assert_eq!(e[0].role, "/team/DataAnalyst");
        assert_eq!(e[0].targets.len(), 2);
        assert_eq!(e[0].owner.as_deref(), Some("data-team"));
        assert_eq!(e[1].role, "/BreakGlassAdmin");
        assert_eq!(e[1].at.0, 13);
        // The OU and "all" of an entitlement make the organisation needed, as an assignment's do.
        let only = parse(
            "a.toml",
            "[[entitlements]]\ngroup = \"g\"\nrole = \"R\"\ntargets = [\"ou-ab12-cdef3456\"]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(needs_organization(&only));
        assert_eq!(organizational_units(&only).len(), 1);
    }

    #[test]
    fn every_entitlement_problem_is_reported_with_its_place() {
        let text = r#"
[[entitlements]]
group = "data"
role = "team/DataAnalyst"
targets = []
application = "arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708"

[[entitlements]]
user = "alice"
roles = "X"
targets = ["all"]

[[entitlements]]
group = "data"
role = "/bad path/Name"
targets = ["111111111111"]
"#;
        let e = parse("bad.toml", text).err().unwrap_or_else(|| panic!("should fail"));
        let text = e.to_string();
        for expected in [
            "bad.toml:4:8: entitlements[0].role: \"team/DataAnalyst\" is not a role name",
            "bad.toml:5:11: entitlements[0].targets: must name at least one target",
            "bad.toml:6:15: entitlements[0].application: \"arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708\" is not an account access manager application ARN",
            "entitlements[1]: unknown key `roles`; did you mean `role`?",
            "entitlements[1]: missing key `role`",
            "bad.toml:15:8: entitlements[2].role: \"/bad path/Name\" is not a role name",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn an_entitlements_key_after_a_table_header_says_where_it_belongs() {
        let e = parse("a.toml", &format!("{GOOD}entitlements = []\n"))
            .err()
            .unwrap_or_else(|| panic!("should fail"));
        let text = e.to_string();
        assert!(
            text.contains("a.toml:12:16: assignments[1].entitlements: `entitlements` is a top-level key: write it before the file's first [[table]]"),
            "{text}"
        );
    }

    #[test]
    fn role_names_and_paths_are_written_as_iam_writes_them() {
        use super::file::role_path_and_name as role;
        assert_eq!(role("Admin").as_deref(), Some("/Admin"));
        assert_eq!(role("/Admin").as_deref(), Some("/Admin"));
        assert_eq!(role("/team/a.b/Reader+1").as_deref(), Some("/team/a.b/Reader+1"));
        for bad in ["", "/", "team/Name", "/team//Name", "/team/", "Na me", &"x".repeat(65)] {
            assert_eq!(role(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn declared_entitlements_resolve_to_one_grant_per_account_in_the_instance_partition() {
        let f = parse("a.toml", ENTITLEMENTS).unwrap_or_else(|e| panic!("{e}"));
        let r = resolve(&f, &names(crate::domain::Fact::Known(vec![APP]))).unwrap_or_else(|e| panic!("{e}"));
        let wanted = r.entitlements.unwrap_or_default();
        let grants: Vec<(String, String, String)> = wanted
            .keys()
            .map(|e| {
                (
                    e.principal_id.clone(),
                    e.role_arn.to_string(),
                    e.application_arn.to_string(),
                )
            })
            .collect();
        assert_eq!(
            grants,
            [
                (
                    "g-data".to_owned(),
                    "arn:aws-us-gov:iam::111111111111:role/team/DataAnalyst".to_owned(),
                    APP.to_owned()
                ),
                (
                    "g-data".to_owned(),
                    "arn:aws-us-gov:iam::222222222222:role/team/DataAnalyst".to_owned(),
                    APP.to_owned()
                ),
                (
                    "u-alice".to_owned(),
                    "arn:aws-us-gov:iam::222222222222:role/BreakGlassAdmin".to_owned(),
                    APP.to_owned()
                ),
            ]
        );
        assert!(wanted.keys().all(|e| e.entitlement_id.is_none()));
        let first = wanted.values().next().unwrap_or_else(|| panic!("one wanted"));
        assert_eq!((first.owner.as_deref(), first.line), (Some("data-team"), 7));
    }

    #[test]
    fn the_application_must_be_known_and_unambiguous() {
        let f = parse("a.toml", ENTITLEMENTS).unwrap_or_else(|e| panic!("{e}"));
        // Unreadable: the desired state is unknown, not "no entitlement".
        let Err(Unusable::Unknown(why)) = resolve(&f, &names(crate::domain::Fact::Unknown)) else {
            panic!("should be unknown")
        };
        assert!(
            why.contains("account access manager's applications could not be read"),
            "{why}"
        );
        // None, or several and none named: a problem at the entry.
        let Err(Unusable::Invalid(problems)) = resolve(&f, &names(crate::domain::Fact::Known(vec![]))) else {
            panic!("should be invalid")
        };
        assert!(
            problems[0]
                .to_string()
                .contains("a.toml:7:1: no account access manager application exists")
        );
        let other = "arn:aws:account-access:us-east-1:123456789012:application/aam-fedcba9876543210";
        let Err(Unusable::Invalid(problems)) = resolve(&f, &names(crate::domain::Fact::Known(vec![APP, other]))) else {
            panic!("should be invalid")
        };
        assert!(
            problems[0]
                .to_string()
                .contains("2 account access manager applications exist")
        );
        // Named, and listed: fine; named but not listed: a problem.
        let named = ENTITLEMENTS
            .replace(
                "owner = \"data-team\"",
                &format!("owner = \"data-team\"\napplication = {other:?}"),
            )
            .replace(
                "targets = [\"222222222222\"]",
                &format!("targets = [\"222222222222\"]\napplication = {other:?}"),
            );
        let f = parse("a.toml", &named).unwrap_or_else(|e| panic!("{e}"));
        let Err(Unusable::Invalid(problems)) = resolve(&f, &names(crate::domain::Fact::Known(vec![APP]))) else {
            panic!("should be invalid")
        };
        assert!(
            problems[0]
                .to_string()
                .contains(&format!("unknown account access manager application {other}"))
        );
        let wanted = resolve(&f, &names(crate::domain::Fact::Known(vec![APP, other])))
            .unwrap_or_else(|e| panic!("{e}"))
            .entitlements
            .unwrap_or_default();
        assert_eq!(wanted.keys().filter(|e| e.application_arn.as_str() == other).count(), 3);
        // An empty declaration needs no application at all.
        let f = parse("a.toml", &format!("entitlements = []\n{GOOD}")).unwrap_or_else(|e| panic!("{e}"));
        let mut n = names(crate::domain::Fact::Unknown);
        n.groups.insert("platform".to_owned(), "g-p".to_owned());
        n.permission_sets
            .insert("AdministratorAccess".to_owned(), n.permission_sets["ReadOnly"].clone());
        n.ou_accounts
            .insert("ou-ab12-cdef3456".to_owned(), Some(BTreeSet::new()));
        let r = resolve(&f, &n).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.entitlements, Some(std::collections::BTreeMap::new()));
    }

    #[test]
    fn an_export_with_entitlements_is_a_file_declaring_them() {
        let row = |kind: &str, name: &str, account: &str, role: &str, app: &str| ExportRow {
            principal_type: kind.to_owned(),
            principal_name: name.to_owned(),
            principal_id: format!("id-{name}"),
            permission_set_name: if role.is_empty() {
                "ReadOnly".to_owned()
            } else {
                String::new()
            },
            permission_set_arn: String::new(),
            account_id: account.to_owned(),
            account_name: String::new(),
            owner: String::new(),
            role_arn: if role.is_empty() {
                String::new()
            } else {
                format!("arn:aws:iam::{account}:role{role}")
            },
            application_arn: app.to_owned(),
            usage: None,
        };
        let instance = crate::domain::InstanceArn::parse("arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708")
            .unwrap_or_else(|e| panic!("{e}"));
        let rows = [
            row("GROUP", "data", "111111111111", "", ""),
            row("GROUP", "data", "111111111111", "/BreakGlassAdmin", APP),
            row("GROUP", "data", "222222222222", "/BreakGlassAdmin", APP),
            row("USER", "alice", "222222222222", "/team/Reader", APP),
        ];
        let text = to_toml(&rows, &instance);
        assert!(
            text.contains(
                "[[entitlements]]\ngroup = \"data\"\nrole = \"BreakGlassAdmin\"\ntargets = [\"111111111111\", \"222222222222\"]\n"
            ),
            "{text}"
        );
        assert!(text.contains("user = \"alice\"\nrole = \"/team/Reader\""), "{text}");
        assert!(!text.contains("application"), "one application: not named\n{text}");
        let f = parse("export.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.entitlements.map(|e| e.len()), Some(2));
        // Several applications: each entry names its own.
        let other = "arn:aws:account-access:us-east-1:123456789012:application/aam-fedcba9876543210";
        let mut rows = rows.to_vec();
        rows.push(row("GROUP", "data", "111111111111", "/Ops", other));
        let text = to_toml(&rows, &instance);
        assert_eq!(text.matches("application = ").count(), 3, "{text}");
        assert!(parse("export.toml", &text).is_ok(), "{text}");
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
