//! Resolving a desired-assignments file to ids, with the names the inventory read: an unknown
//! name is a validation problem, never a deletion.

use std::collections::{BTreeMap, BTreeSet};

use super::{DesiredFile, PrincipalName, Target};
use crate::domain::{AccountId, Assignment, InstanceArn, PermissionSetArn};
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
        }
    }
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
    if problems.is_empty() {
        Ok(out)
    } else {
        problems.sort_by_key(|p| (p.line, p.column));
        Err(Unusable::Invalid(problems))
    }
}
