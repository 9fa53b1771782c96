//! The access review (issue #18): who holds what, for people who recertify it.
//!
//! [`build`] turns what a dry run of the reconciler saw (its [`RunReport`], the [`Inventory`] it
//! took and the desired file as resolved) plus the policy's exceptions and owners into a
//! [`Review`]: a plain, serialisable model (`idc-guard report --format json`), pure. [`html`]
//! renders it as one self-contained page; [`csv`] writes the recertification sheet.
//!
//! **Unknown is never absent.** An account, permission set or principal whose read failed is
//! marked incomplete ([`ReviewAccount::complete`] and friends), a name that could not be read is
//! `None`, members that could not be listed are `None`, usage that could not be joined is `None`:
//! the page says "unknown" for each, and never shows an empty cell or list in their place.
//!
//! **Names come from an identity provider** and are attacker-controlled text: the model keeps
//! them verbatim; escaping is the renderers' job ([`html::escape`], [`csv::field`]).

pub mod csv;
pub mod html;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::desired::Resolved;
use crate::domain::{Action, Assignment, Date, PrincipalType};
use crate::inventory::{Inventory, Unknown};
use crate::policy::Policy;
use crate::reconcile::{Desired, ReportedAction, RunReport};
use crate::rules::desired_assignments;
use crate::usage::UsageColumns;

/// Exceptions that expire within this many days are "expiring soon".
pub const SOON_DAYS: i64 = 30;

/// The access review: every assignment with names and owners, and what the run found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// When it was made (RFC 3339).
    pub generated_at: String,
    /// The day exceptions were judged on.
    pub today: String,
    /// The instance.
    pub instance: String,
    /// The dry run's id.
    pub run_id: String,
    /// The desired-assignments file: `absent`, `invalid` or `used`.
    pub desired: String,
    /// Why the desired file could not be used, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_error: Option<String>,
    /// Why the plan was refused, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// What was known of usage.
    pub usage: UsageState,
    /// The accounts (rows of the matrix), by name then id.
    pub accounts: Vec<ReviewAccount>,
    /// The permission sets (columns of the matrix), by name then ARN.
    pub permission_sets: Vec<ReviewSet>,
    /// The principals holding an assignment, groups first, by name then id.
    pub principals: Vec<ReviewPrincipal>,
    /// The owners, sorted; assignments refer to them by index.
    pub owners: Vec<String>,
    /// Every assignment, by account, set and principal (indexes into the lists above).
    pub assignments: Vec<ReviewAssignment>,
    /// Who holds privileged access: the protected groups and their members.
    pub privileged: Vec<PrivilegedGroup>,
    /// What the rules found (planned corrections, and those skipped as unknown).
    pub findings: Vec<ReviewFinding>,
    /// Live against desired (empty without a usable file).
    pub drift: Vec<DriftRow>,
    /// The policy's exceptions, expiring soonest first.
    pub exceptions: Vec<ReviewException>,
    /// What could not be read, in words.
    pub unknown: Vec<String>,
}

/// Usage data as the run knew it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageState {
    /// `used`, `none` (no usage data) or `unavailable` (the read failed).
    pub data: String,
    /// Why the read failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Since when usage was recorded (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_since: Option<String>,
}

/// An account: a row of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewAccount {
    /// Its id.
    pub id: String,
    /// Its name; `None` when the organisation could not be read or does not name it.
    pub name: Option<String>,
    /// Whether its assignments were read whole.
    pub complete: bool,
}

/// A permission set: a column of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewSet {
    /// Its ARN.
    pub arn: String,
    /// Its name; `None` when unread.
    pub name: Option<String>,
    /// Whether the policy calls it privileged.
    pub privileged: bool,
    /// Whether it was read whole.
    pub complete: bool,
}

/// A group or user holding an assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewPrincipal {
    /// `GROUP` or `USER`.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// Its name (group display name, user name); `None` when the directory did not name it.
    pub name: Option<String>,
    /// Whether its assignments were read whole.
    pub complete: bool,
}

/// One assignment: indexes into [`Review`]'s lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewAssignment {
    /// Into [`Review::accounts`].
    pub account: usize,
    /// Into [`Review::permission_sets`].
    pub set: usize,
    /// Into [`Review::principals`].
    pub principal: usize,
    /// Into [`Review::owners`].
    pub owner: usize,
    /// Findings about it.
    #[serde(default)]
    pub findings: usize,
    /// Its last use and dormancy; `None` without usage data or when it could not be joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ReviewUsage>,
}

/// An assignment's last use and dormancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewUsage {
    /// When it was last used (RFC 3339); `None`: not since usage was observed.
    pub last_use: Option<String>,
    /// By whom.
    pub last_user: Option<String>,
    /// `active`, `dormant` or `not-yet-observed`.
    pub dormancy: String,
    /// The window it was judged over, in days.
    pub window_days: u32,
}

impl From<&UsageColumns> for ReviewUsage {
    fn from(u: &UsageColumns) -> Self {
        Self {
            last_use: u.last_use.clone(),
            last_user: u.last_user.clone(),
            dormancy: u.dormancy.clone(),
            window_days: u.window_days,
        }
    }
}

/// A protected group and its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivilegedGroup {
    /// Its id.
    pub id: String,
    /// Its display name (empty when unread).
    pub name: String,
    /// Why it is protected.
    pub reasons: Vec<String>,
    /// Its members (id, name), by name; `None` when they could not be read.
    pub members: Option<Vec<(String, Option<String>)>>,
}

/// A finding of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewFinding {
    /// The rule's id.
    pub rule: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// The rule's effective mode.
    pub mode: String,
    /// What it concerns, in words (names where known).
    pub resource: String,
    /// Why.
    pub reason: String,
    /// Who answers for it.
    pub owner: String,
    /// Not planned because what it touches could not be read.
    pub skipped: bool,
}

/// A difference between the live assignments and the desired file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftRow {
    /// `extra` (live, not desired) or `missing` (desired, not live).
    pub change: String,
    /// The principal, in words.
    pub principal: String,
    /// The permission set, in words.
    pub permission_set: String,
    /// The account, in words.
    pub account: String,
    /// Who answers for it.
    pub owner: String,
}

/// One of the policy's exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewException {
    /// The rule it exempts from.
    pub rule: String,
    /// Who answers for it.
    pub owner: String,
    /// Why it exists.
    pub reason: String,
    /// Its last day.
    pub expires: String,
    /// Days from today to its last day (negative: expired).
    pub days_left: i64,
    /// `expired`, `soon` (within [`SOON_DAYS`]) or `active`.
    pub status: String,
    /// Its scope, in words (`any` where it names nothing).
    pub scope: String,
    /// Its line in the policy file.
    pub line: usize,
}

/// What [`build`] reads.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// The policy (privileged sets, exceptions, owners).
    pub policy: &'a Policy,
    /// The inventory the run took.
    pub inventory: &'a Inventory,
    /// The dry run's report.
    pub report: &'a RunReport,
    /// The desired file, as resolved.
    pub desired: &'a Desired,
    /// Each assignment's usage, when usage data was read (`usage::columns`).
    pub usage: &'a BTreeMap<Assignment, UsageColumns>,
    /// Today (exception expiry).
    pub today: Date,
    /// Now, in Unix seconds.
    pub now: u64,
}

/// The review of what a dry run saw. Pure.
pub fn build(s: Sources<'_>) -> Review {
    let inv = s.inventory;
    let accounts = accounts(inv);
    let permission_sets = permission_sets(s.policy, inv);
    let principals = principals(inv);
    let account_index = index(accounts.iter().map(|a| a.id.clone()));
    let set_index = index(permission_sets.iter().map(|p| p.arn.clone()));
    let principal_index = index(principals.iter().map(|p| (p.kind.clone(), p.id.clone())));

    let findings_of = findings_by_assignment(s.report);
    let mut owners_by_assignment = Vec::with_capacity(inv.assignments.len());
    for a in &inv.assignments {
        owners_by_assignment.push(owner_of(s.policy, inv, s.desired, a));
    }
    let owners = {
        let mut o: Vec<String> = owners_by_assignment.clone();
        o.sort();
        o.dedup();
        o
    };
    let owner_index = index(owners.iter().cloned());
    let mut assignments: Vec<ReviewAssignment> = inv
        .assignments
        .iter()
        .zip(&owners_by_assignment)
        .filter_map(|(a, owner)| {
            Some(ReviewAssignment {
                account: *account_index.get(a.account_id.as_str())?,
                set: *set_index.get(a.permission_set_arn.as_str())?,
                principal: *principal_index.get(&(a.principal_type.as_str().to_owned(), a.principal_id.clone()))?,
                owner: *owner_index.get(owner.as_str())?,
                findings: findings_of
                    .get(&(
                        a.account_id.as_str(),
                        a.permission_set_arn.as_str(),
                        a.principal_id.as_str(),
                    ))
                    .copied()
                    .unwrap_or(0),
                usage: s.usage.get(a).map(ReviewUsage::from),
            })
        })
        .collect();
    assignments.sort_by_key(|a| (a.account, a.set, a.principal));

    let report = s.report;
    Review {
        generated_at: crate::domain::time::utc(s.now),
        today: s.today.to_string(),
        instance: report.instance.clone(),
        run_id: report.run_id.clone(),
        desired: report.desired.to_owned(),
        desired_error: match s.desired {
            Desired::Unusable(why) => Some(why.clone()),
            _ => None,
        },
        refused: report.refused.clone(),
        usage: UsageState {
            data: report.usage.data.to_owned(),
            error: report.usage.error.clone(),
            recording_since: report.usage.recording_since.clone(),
        },
        accounts,
        permission_sets,
        principals,
        owners,
        assignments,
        privileged: privileged(report),
        findings: report
            .plan
            .iter()
            .map(|a| (a, false))
            .chain(report.skipped.iter().map(|a| (a, true)))
            .map(|(a, skipped)| finding(s.policy, inv, a, skipped))
            .collect(),
        drift: drift(s.policy, inv, s.desired, report),
        exceptions: exceptions(s.policy, s.today),
        unknown: inv.unknown.iter().map(describe_unknown).collect(),
    }
}

fn index<K: Ord + std::hash::Hash + Eq>(keys: impl Iterator<Item = K>) -> HashMap<K, usize> {
    keys.enumerate().map(|(i, k)| (k, i)).collect()
}

/// The organisation's accounts, and any other account an assignment or a failed read names.
fn accounts(inv: &Inventory) -> Vec<ReviewAccount> {
    let mut ids: BTreeMap<String, Option<String>> = BTreeMap::new();
    if let Some(org) = &inv.accounts {
        for (id, name) in org {
            ids.insert(id.to_string(), Some(name.clone()));
        }
    }
    for a in &inv.assignments {
        ids.entry(a.account_id.to_string()).or_insert(None);
    }
    for u in &inv.unknown {
        if let Unknown::Account { account_id, .. } = u {
            ids.entry(account_id.clone()).or_insert(None);
        }
    }
    let incomplete: Vec<&str> = inv
        .unknown
        .iter()
        .filter_map(|u| match u {
            Unknown::Account { account_id, .. } => Some(account_id.as_str()),
            _ => None,
        })
        .collect();
    let mut out: Vec<ReviewAccount> = ids
        .into_iter()
        .map(|(id, name)| ReviewAccount {
            complete: !incomplete.contains(&id.as_str()),
            id,
            name,
        })
        .collect();
    out.sort_by(|a, b| sort_key(a.name.as_deref(), &a.id).cmp(&sort_key(b.name.as_deref(), &b.id)));
    out
}

/// Named things first, by name case-insensitively, then by id.
fn sort_key<'a>(name: Option<&str>, id: &'a str) -> (bool, String, &'a str) {
    (name.is_none(), name.unwrap_or_default().to_lowercase(), id)
}

fn permission_sets(policy: &Policy, inv: &Inventory) -> Vec<ReviewSet> {
    let mut out: Vec<ReviewSet> = inv
        .permission_sets
        .iter()
        .map(|(arn, entry)| {
            ReviewSet {
            arn: arn.to_string(),
            name: entry.name.clone(),
            privileged: entry.name.as_deref().is_some_and(|n| policy.is_privileged(n)),
            complete: !inv.unknown.iter().any(|u| {
                matches!(u, Unknown::PermissionSet { permission_set_arn, .. } if permission_set_arn == arn.as_str())
            }),
        }
        })
        .collect();
    // A set an assignment names but the listing did not return (read while it changed).
    for a in &inv.assignments {
        if !inv.permission_sets.contains_key(&a.permission_set_arn)
            && !out.iter().any(|s| s.arn == a.permission_set_arn.as_str())
        {
            out.push(ReviewSet {
                arn: a.permission_set_arn.to_string(),
                name: None,
                privileged: false,
                complete: false,
            });
        }
    }
    out.sort_by(|a, b| sort_key(a.name.as_deref(), &a.arn).cmp(&sort_key(b.name.as_deref(), &b.arn)));
    out
}

fn principals(inv: &Inventory) -> Vec<ReviewPrincipal> {
    let mut seen: BTreeMap<(PrincipalType, &str), ()> = BTreeMap::new();
    for a in &inv.assignments {
        seen.insert((a.principal_type, a.principal_id.as_str()), ());
    }
    let mut out: Vec<ReviewPrincipal> = seen
        .into_keys()
        .map(|(kind, id)| ReviewPrincipal {
            kind: kind.as_str().to_owned(),
            id: id.to_owned(),
            name: inv.principal_name(kind, id).map(str::to_owned),
            complete: !inv.unknown.iter().any(|u| {
                matches!(u, Unknown::Principal { principal_type, principal_id, .. }
                    if principal_type == kind.as_str() && principal_id == id)
            }),
        })
        .collect();
    out.sort_by(|a, b| {
        (a.kind != "GROUP", sort_key(a.name.as_deref(), &a.id))
            .cmp(&(b.kind != "GROUP", sort_key(b.name.as_deref(), &b.id)))
    });
    out
}

/// The owner who recertifies an assignment: the one the desired file names for it, else the
/// one its findings are routed to (the set's owner tag, the first matching route, the default
/// owner), as `export --routed-owners` names it.
fn owner_of(policy: &Policy, inv: &Inventory, desired: &Desired, a: &Assignment) -> String {
    if let Desired::Resolved(Resolved { wanted, .. }) = desired
        && let Some(owner) = wanted.get(a).and_then(|w| w.owner.clone())
    {
        return owner;
    }
    routed_owner(
        policy,
        inv,
        Some(a.permission_set_arn.as_str()),
        Some(a.account_id.as_str()),
    )
}

fn routed_owner(policy: &Policy, inv: &Inventory, set_arn: Option<&str>, account: Option<&str>) -> String {
    let set = set_arn.and_then(|arn| {
        inv.permission_sets
            .iter()
            .find(|(k, _)| k.as_str() == arn)
            .map(|(_, e)| e)
    });
    policy
        .owners
        .resolve(
            set.and_then(|e| e.owner_tag.as_deref()),
            set.and_then(|e| e.name.as_deref()),
            account,
        )
        .to_owned()
}

/// How many findings (planned or skipped) name each (account, set ARN, principal id).
fn findings_by_assignment(report: &RunReport) -> HashMap<(&str, &str, &str), usize> {
    let mut out = HashMap::new();
    for a in report.plan.iter().chain(&report.skipped) {
        let r = &a.resource;
        if let (Some(account), Some(set), Some(principal)) = (&r.account_id, &r.permission_set_arn, &r.principal_id) {
            *out.entry((account.as_str(), set.as_str(), principal.as_str()))
                .or_insert(0) += 1;
        }
    }
    out
}

fn privileged(report: &RunReport) -> Vec<PrivilegedGroup> {
    report
        .protected_groups
        .iter()
        .map(|g| PrivilegedGroup {
            id: g.group_id.clone(),
            name: g.group_name.clone(),
            reasons: g.reasons.clone(),
            members: g.members.as_ref().map(|m| {
                m.iter()
                    .map(|m| {
                        (
                            m.user_id.clone(),
                            (!m.user_name.is_empty()).then(|| m.user_name.clone()),
                        )
                    })
                    .collect()
            }),
        })
        .collect()
}

fn finding(policy: &Policy, inv: &Inventory, a: &ReportedAction, skipped: bool) -> ReviewFinding {
    let r = &a.resource;
    ReviewFinding {
        rule: a.rule.as_str().to_owned(),
        severity: a.severity.as_str().to_owned(),
        mode: a.mode.to_string(),
        resource: describe_resource(inv, r),
        reason: a.reason.clone(),
        owner: a
            .owner
            .clone()
            .unwrap_or_else(|| routed_owner(policy, inv, r.permission_set_arn.as_deref(), r.account_id.as_deref())),
        skipped,
    }
}

fn account_words(inv: &Inventory, id: &str) -> String {
    match inv
        .accounts
        .as_ref()
        .and_then(|a| a.iter().find(|(k, _)| k.as_str() == id))
    {
        Some((_, name)) => format!("{name} ({id})"),
        None => id.to_owned(),
    }
}

fn set_words(inv: &Inventory, arn: &str) -> String {
    inv.permission_sets
        .iter()
        .find(|(k, _)| k.as_str() == arn)
        .and_then(|(_, e)| e.name.clone())
        .unwrap_or_else(|| arn.to_owned())
}

fn principal_words(inv: &Inventory, kind: PrincipalType, id: &str) -> String {
    let word = match kind {
        PrincipalType::Group => "group",
        PrincipalType::User => "user",
    };
    match inv.principal_name(kind, id) {
        Some(name) => format!("{word} {name}"),
        None => format!("{word} {id}"),
    }
}

fn describe_resource(inv: &Inventory, r: &crate::domain::Resource) -> String {
    let mut parts = Vec::new();
    if let Some(principal) = &r.principal_id {
        let kind = if inv.groups.contains_key(principal) {
            PrincipalType::Group
        } else {
            PrincipalType::User
        };
        parts.push(match &r.principal_name {
            Some(name) if inv.principal_name(kind, principal).is_none() => name.clone(),
            _ => principal_words(inv, kind, principal),
        });
    }
    if let Some(arn) = &r.permission_set_arn {
        parts.push(r.permission_set_name.clone().unwrap_or_else(|| set_words(inv, arn)));
    } else if let Some(name) = &r.permission_set_name {
        parts.push(name.clone());
    }
    if let Some(account) = &r.account_id {
        parts.push(account_words(inv, account));
    }
    if parts.is_empty() {
        let kind = match r.kind {
            crate::domain::ResourceKind::AccountAssignment => "assignment",
            crate::domain::ResourceKind::PermissionSet => "permission set",
            crate::domain::ResourceKind::Instance => "instance",
            crate::domain::ResourceKind::IdentityStore => "identity store",
            crate::domain::ResourceKind::Entitlement => "entitlement",
            crate::domain::ResourceKind::Application => "application",
        };
        parts.push(format!("{kind} {}", r.id));
    }
    parts.join(" · ")
}

/// The desired file's differences, from the plan's `desired-assignments` items.
fn drift(policy: &Policy, inv: &Inventory, desired: &Desired, report: &RunReport) -> Vec<DriftRow> {
    let mut out = Vec::new();
    for item in report.plan.iter().chain(&report.skipped) {
        if item.rule != desired_assignments::ID {
            continue;
        }
        for action in &item.actions {
            let (change, a) = match action {
                Action::CreateAccountAssignment(a) => ("missing", a),
                Action::DeleteAccountAssignment(a) => ("extra", a),
                _ => continue,
            };
            out.push(DriftRow {
                change: change.to_owned(),
                principal: principal_words(inv, a.principal_type, &a.principal_id),
                permission_set: set_words(inv, a.permission_set_arn.as_str()),
                account: account_words(inv, a.account_id.as_str()),
                owner: owner_of(policy, inv, desired, a),
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.account, &a.permission_set, &a.principal).cmp(&(&b.account, &b.permission_set, &b.principal))
    });
    out
}

/// Days from `a` to `b`.
fn days_between(a: Date, b: Date) -> i64 {
    let julian = |d: Date| {
        time::Month::try_from(d.month())
            .ok()
            .and_then(|m| time::Date::from_calendar_date(d.year(), m, d.day()).ok())
            .map_or(0, |d| i64::from(d.to_julian_day()))
    };
    julian(b) - julian(a)
}

/// The policy's exceptions, expiring soonest first (expired ones first of all), then by rule
/// and line.
pub fn exceptions(policy: &Policy, today: Date) -> Vec<ReviewException> {
    let mut out: Vec<ReviewException> = policy
        .exceptions
        .iter()
        .map(|e| {
            let days_left = days_between(today, e.expires);
            let any = |v: Vec<String>| if v.is_empty() { "any".to_owned() } else { v.join(", ") };
            ReviewException {
                rule: e.rule.as_str().to_owned(),
                owner: e.owner.clone(),
                reason: e.reason.clone(),
                expires: e.expires.to_string(),
                days_left,
                status: if e.is_expired(today) {
                    "expired"
                } else if days_left <= SOON_DAYS {
                    "soon"
                } else {
                    "active"
                }
                .to_owned(),
                scope: format!(
                    "permission sets: {}; accounts: {}; principals: {}",
                    any(e.permission_sets.iter().map(|p| p.as_str().to_owned()).collect()),
                    any(e.accounts.iter().map(ToString::to_string).collect()),
                    any(e.principals.clone()),
                ),
                line: e.line,
            }
        })
        .collect();
    out.sort_by(|a, b| (a.days_left, &a.rule, a.line).cmp(&(b.days_left, &b.rule, b.line)));
    out
}

fn describe_unknown(u: &Unknown) -> String {
    match u {
        Unknown::Account { account_id, reason } => format!("account {account_id}'s assignments: {reason}"),
        Unknown::PermissionSet {
            permission_set_arn,
            reason,
        } => format!("permission set {permission_set_arn}: {reason}"),
        Unknown::Principal {
            principal_type,
            principal_id,
            reason,
        } => format!(
            "{} {principal_id}'s assignments: {reason}",
            principal_type.to_lowercase()
        ),
        Unknown::GroupMembers { group_id, reason } => format!("group {group_id}'s members: {reason}"),
        Unknown::Instance { what, reason } => format!("{what}: {reason}"),
        Unknown::AccessApplication {
            application_arn,
            reason,
        } => format!("the entitlements of account access manager application {application_arn}: {reason}"),
        Unknown::Application {
            application_arn,
            reason,
        } => format!("application {application_arn}'s account access scope: {reason}"),
    }
}

impl Review {
    /// A principal's name for people: its name, else its id marked as unnamed.
    pub fn principal_label(&self, i: usize) -> String {
        self.principals.get(i).map_or_else(
            || "unknown".to_owned(),
            |p| p.name.clone().unwrap_or_else(|| format!("{} (name unknown)", p.id)),
        )
    }

    /// A permission set's name for people: its name, else its ARN.
    pub fn set_label(&self, i: usize) -> String {
        self.permission_sets.get(i).map_or_else(
            || "unknown".to_owned(),
            |s| s.name.clone().unwrap_or_else(|| format!("{} (name unknown)", s.arn)),
        )
    }

    /// The assignments that were not used for their whole window.
    pub fn dormant(&self) -> impl Iterator<Item = &ReviewAssignment> {
        self.assignments
            .iter()
            .filter(|a| a.usage.as_ref().is_some_and(|u| u.dormancy == "dormant"))
    }
}
