//! Resolving a desired-assignments file to ids, with the names the inventory read: an unknown
//! name is a validation problem, never a deletion.

use std::collections::{BTreeMap, BTreeSet};

use super::{DesiredFile, EntitlementEntry, PlacedTarget, PrincipalName, Target};
use crate::domain::{
    AccessApplicationArn, AccountId, Assignment, Entitlement, Fact, InstanceArn, PermissionSetArn, RoleArn,
};
use crate::inventory::Inventory;
use crate::spanned::Problem;

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
    pub wanted: BTreeMap<Assignment, Want>,
    /// Every desired entitlement (issue #19; without an id); `None` when the file does not
    /// govern entitlements (it has no `entitlements` key).
    pub entitlements: Option<BTreeMap<Entitlement, Want>>,
}

impl Resolved {
    /// What the file says of a live entitlement: `None` when the file does not govern
    /// entitlements; else whether it is wanted, and why.
    pub fn entitlement(&self, live: &Entitlement) -> Option<Option<&Want>> {
        let wanted = self.entitlements.as_ref()?;
        Some(wanted.iter().find(|(e, _)| e.same_grant(live)).map(|(_, w)| w))
    }
}

/// What resolution needs to know: the instance, names to ids, and the organisation's accounts.
#[derive(Debug, Clone)]
pub struct Names {
    /// The instance the assignments belong to.
    pub instance: InstanceArn,
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
    /// Account access manager's applications (issue #19); unknown when they could not be listed.
    pub access_applications: Fact<Vec<AccessApplicationArn>>,
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

impl Names {
    /// No names, no accounts: every name is unknown.
    pub fn empty(instance: InstanceArn) -> Self {
        Self {
            instance,
            groups: BTreeMap::new(),
            users: BTreeMap::new(),
            permission_sets: BTreeMap::new(),
            accounts: None,
            ou_accounts: BTreeMap::new(),
            access_applications: Fact::Unknown,
        }
    }

    /// The names the inventory read.
    pub fn of(inv: &Inventory) -> Self {
        Self {
            instance: inv.instance.clone(),
            groups: inv.groups.iter().map(|(id, name)| (name.clone(), id.clone())).collect(),
            users: inv.users.iter().map(|(id, name)| (name.clone(), id.clone())).collect(),
            permission_sets: inv
                .permission_sets
                .iter()
                .filter_map(|(arn, e)| e.name.clone().map(|n| (n, arn.clone())))
                .collect(),
            accounts: inv.accounts.as_ref().map(|a| a.keys().cloned().collect()),
            ou_accounts: inv.ou_accounts.clone(),
            access_applications: match &inv.access.applications {
                Fact::Known(apps) => Fact::Known(apps.keys().cloned().collect()),
                Fact::Unknown => Fact::Unknown,
            },
        }
    }
}

/// Resolves every entry to ids; every unknown name is a problem.
pub fn resolve(file: &DesiredFile, names: &Names) -> Result<Resolved, Unusable> {
    let mut r = Resolver {
        file,
        names,
        problems: Vec::new(),
    };
    let mut out = Resolved::default();
    for e in &file.entries {
        let principal = r.principal(&e.principal, e.at);
        let ps = names.permission_sets.get(&e.permission_set);
        if ps.is_none() {
            r.problem(
                e.at,
                format!(
                    "unknown permission set {:?}: no such permission set in the instance",
                    e.permission_set
                ),
            );
        }
        let accounts = r.accounts(&e.targets)?;
        let (Some(principal), Some(ps)) = (principal, ps) else {
            continue;
        };
        for account_id in accounts {
            out.wanted
                .entry(Assignment {
                    instance_arn: names.instance.clone(),
                    account_id,
                    permission_set_arn: ps.clone(),
                    principal_type: e.principal.principal_type(),
                    principal_id: principal.clone(),
                })
                .or_insert_with(|| Want {
                    principal_name: e.principal.name().to_owned(),
                    owner: e.owner.clone(),
                    line: e.at.0,
                });
        }
    }
    if let Some(entries) = &file.entitlements {
        let mut wanted = BTreeMap::new();
        for e in entries {
            r.entitlement(e, &mut wanted)?;
        }
        out.entitlements = Some(wanted);
    }
    if r.problems.is_empty() {
        Ok(out)
    } else {
        let mut problems = r.problems;
        problems.sort_by_key(|p| (p.line, p.column));
        Err(Unusable::Invalid(problems))
    }
}

/// One resolution: the file, the names, and the problems found so far.
struct Resolver<'a> {
    file: &'a DesiredFile,
    names: &'a Names,
    problems: Vec<Problem>,
}

impl<'a> Resolver<'a> {
    fn problem(&mut self, at: (usize, usize), message: String) {
        self.problems.push(Problem {
            file: self.file.file.clone(),
            line: at.0,
            column: at.1,
            path: String::new(),
            message,
        });
    }

    /// The principal's id; a problem when the identity store has no such name.
    fn principal(&mut self, principal: &PrincipalName, at: (usize, usize)) -> Option<&'a String> {
        let (id, kind) = match principal {
            PrincipalName::Group(n) => (self.names.groups.get(n), "group"),
            PrincipalName::User(n) => (self.names.users.get(n), "user"),
        };
        if id.is_none() {
            self.problem(
                at,
                format!(
                    "unknown {kind} {:?}: no such {kind} in the identity store",
                    principal.name()
                ),
            );
        }
        id
    }

    /// The accounts the targets name; an account outside the organisation or an unknown OU is
    /// a problem, an unreadable one makes the whole desired state unknown.
    fn accounts(&mut self, targets: &[PlacedTarget]) -> Result<BTreeSet<AccountId>, Unusable> {
        let names = self.names;
        let mut accounts = BTreeSet::new();
        for t in targets {
            match &t.target {
                Target::Account(id) => match &names.accounts {
                    Some(all) if !all.contains(id) => {
                        self.problem(t.at, format!("account {id} is not in the organization"));
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
                    None => self.problem(t.at, format!("unknown organizational unit {ou}")),
                },
            }
        }
        Ok(accounts)
    }

    /// The account access manager application an entry's entitlements belong to: the one it
    /// names, else the only one there is (there is at most one per instance).
    fn application(&mut self, e: &EntitlementEntry) -> Result<Option<AccessApplicationArn>, Unusable> {
        let Fact::Known(apps) = &self.names.access_applications else {
            return Err(Unusable::Unknown(
                "account access manager's applications could not be read (the file declares entitlements)".to_owned(),
            ));
        };
        match (&e.application, apps.as_slice()) {
            (Some(named), _) if apps.contains(named) => Ok(Some(named.clone())),
            (Some(named), _) => {
                self.problem(
                    e.at,
                    format!("unknown account access manager application {named}: ListApplications does not list it"),
                );
                Ok(None)
            }
            (None, [only]) => Ok(Some(only.clone())),
            (None, []) => {
                self.problem(
                    e.at,
                    "no account access manager application exists: create the instance's (CreateApplication) \
                     before declaring entitlements"
                        .to_owned(),
                );
                Ok(None)
            }
            (None, _) => {
                self.problem(
                    e.at,
                    format!(
                        "{} account access manager applications exist: name the one with `application`",
                        apps.len()
                    ),
                );
                Ok(None)
            }
        }
    }

    /// An `[[entitlements]]` entry: one entitlement per target account, its role in that
    /// account (the instance's partition).
    fn entitlement(&mut self, e: &EntitlementEntry, wanted: &mut BTreeMap<Entitlement, Want>) -> Result<(), Unusable> {
        let principal = self.principal(&e.principal, e.at);
        let accounts = self.accounts(&e.targets)?;
        let application = self.application(e)?;
        let (Some(principal), Some(application)) = (principal, application) else {
            return Ok(());
        };
        let partition = self
            .names
            .instance
            .as_str()
            .strip_prefix("arn:")
            .and_then(|r| r.split_once(':'))
            .map_or("aws", |(p, _)| p);
        for account_id in accounts {
            let arn = format!("arn:{partition}:iam::{account_id}:role{}", e.role);
            let Ok(role_arn) = RoleArn::parse(&arn) else {
                self.problem(e.at, format!("{arn} is not a valid role ARN"));
                continue;
            };
            wanted
                .entry(Entitlement {
                    application_arn: application.clone(),
                    entitlement_id: None,
                    principal_type: e.principal.principal_type(),
                    principal_id: principal.clone(),
                    role_arn,
                    account_id,
                })
                .or_insert_with(|| Want {
                    principal_name: e.principal.name().to_owned(),
                    owner: e.owner.clone(),
                    line: e.at.0,
                });
        }
        Ok(())
    }
}
