//! Permission-set hygiene (issue #16): what the inventory shows about sets that nobody uses, sets
//! left behind in accounts, and sets that are near-copies of each other. Pure: no I/O; computed
//! once per reconciler run (its per-set result is [`HygieneFact`], judged by the rules
//! `permission-set-orphaned`, `permission-set-provisioned-unassigned` and
//! `permission-set-near-duplicate`) and by `idc-guard sets`.
//!
//! - **Orphaned**: no account assignment uses the set anywhere.
//! - **Provisioned without assignment**: the set is provisioned to an account (its role exists
//!   there) where no assignment of it exists.
//! - **Near-duplicate clusters**: each set's content becomes a set of features
//!   ([`features`]: managed policies by name whatever the partition, the boundary, the session
//!   duration, each inline statement normalised). Similarity is the **Jaccard index** of two
//!   sets' features, after values taken from each set's own name are templated (`DataEng-Prod`'s
//!   `arn:aws:s3:::dataeng-prod-*` and `Payments-Prod`'s `arn:aws:s3:::payments-prod-*` are one
//!   feature, `arn:aws:s3:::{name}-*`). Why unweighted: every feature is a grant decision of the
//!   same standing, and weighting rare features up (IDF) would make two sets that share an
//!   unusual `iam:*` statement look closer than their other grants say; the name templating is
//!   the one "weighting" that matters, because per-team copies differ exactly there. Sets at or
//!   above the threshold (default 0.9) are linked and clusters are the connected groups (single
//!   linkage, union-find), found without comparing every pair ([`cluster`]). Each cluster has a
//!   diff on the *exact* features (common to all; what each member adds or lacks) and, when the
//!   members differ only in values from their names, a hint: one set with
//!   `${aws:PrincipalTag/…}` in those places (ABAC) can replace them all, the guide's 40 → 1.
//!
//! A set whose definition, assignments or provisioning could not be read is reported as unknown
//! for what depends on it, never read as empty.

pub mod cluster;
pub mod features;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::domain::facts::{DuplicateCluster, HygieneFact};
use crate::domain::{AccountId, Fact, PermissionSetArn};
use crate::inventory::{Inventory, PermissionSetEntry, Strategy, Unknown};
use crate::policy::Policy;
use crate::rules::permission_set_near_duplicate::PermissionSetNearDuplicate;

pub use features::{Features, NotRead};

/// The threshold when the policy says nothing.
pub const DEFAULT_THRESHOLD: f64 = crate::rules::permission_set_near_duplicate::DEFAULT_THRESHOLD;

/// What to cluster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The similarity at which two sets are linked, in (0, 1].
    pub threshold: f64,
    /// Clusters smaller than this are not reported (at least 2).
    pub min_cluster: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_THRESHOLD,
            min_cluster: 2,
        }
    }
}

/// The near-duplicate rule's settings in `policy` (clusters span sets, so they are computed
/// once with the rule's threshold rather than by the rule).
pub fn settings(policy: &Policy) -> Settings {
    policy
        .rules
        .settings::<PermissionSetNearDuplicate>()
        .map_or_else(Settings::default, |s| Settings {
            threshold: s.threshold,
            min_cluster: s.min_cluster,
        })
}

/// A permission set as reported.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SetRef {
    /// Its name, when read.
    pub name: Option<String>,
    /// Its ARN.
    pub arn: String,
}

impl SetRef {
    /// The name when known, else the ARN.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.arn)
    }
}

/// A set provisioned to accounts where nobody is assigned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvisionedUnassigned {
    /// The set.
    #[serde(flatten)]
    pub set: SetRef,
    /// The accounts.
    pub accounts: Vec<String>,
}

/// Something that could not be judged, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotJudged {
    /// The set.
    #[serde(flatten)]
    pub set: SetRef,
    /// What could not be judged: `orphaned`, `provisioned-unassigned` or `near-duplicate`.
    pub check: &'static str,
    /// Why.
    pub reason: String,
}

/// One member of a cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    /// The set.
    #[serde(flatten)]
    pub set: SetRef,
    /// The most similar other member (its label).
    pub nearest: String,
    /// Their similarity.
    pub similarity: f64,
    /// Features it has that some other member lacks.
    pub adds: Vec<String>,
    /// Features every other member has and it lacks.
    pub lacks: Vec<String>,
}

/// A near-duplicate cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// Its number (1-based, in order of its first member's label).
    pub number: usize,
    /// Features every member has.
    pub common: Vec<String>,
    /// The members, by label.
    pub members: Vec<Member>,
    /// How to consolidate it, when the members differ only in team-like values (or not at all).
    pub hint: Option<String>,
}

/// The hygiene of an instance.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The similarity threshold used.
    pub threshold: f64,
    /// The smallest cluster reported.
    pub min_cluster: usize,
    /// Permission sets read.
    pub permission_sets: usize,
    /// Sets whose content was compared.
    pub compared: usize,
    /// Sets no assignment uses.
    pub orphaned: Vec<SetRef>,
    /// Sets provisioned to accounts without an assignment there.
    pub provisioned_unassigned: Vec<ProvisionedUnassigned>,
    /// Near-duplicate clusters.
    pub clusters: Vec<Cluster>,
    /// What could not be judged.
    pub unknown: Vec<NotJudged>,
    /// Each set's facts, for the rules.
    #[serde(skip)]
    facts: BTreeMap<PermissionSetArn, HygieneFact>,
}

impl Report {
    /// Whether there is anything to report (unknowns aside).
    pub fn has_findings(&self) -> bool {
        !self.orphaned.is_empty() || !self.provisioned_unassigned.is_empty() || !self.clusters.is_empty()
    }

    /// A permission set's hygiene, for the rules.
    pub fn fact_for(&self, arn: &PermissionSetArn) -> Option<&HygieneFact> {
        self.facts.get(arn)
    }
}

/// Clusters sets by the similarity of their features; `sets` are (who, features).
pub fn near_duplicates(sets: &[(SetRef, Features)], settings: &Settings) -> Vec<Cluster> {
    /// The id of `s`, and whether it is new.
    fn intern<'s>(ids: &mut HashMap<&'s str, u32>, s: &'s str) -> (u32, bool) {
        let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        let before = ids.len();
        let id = *ids.entry(s).or_insert(next);
        (id, ids.len() > before)
    }
    let mut exact_ids: HashMap<&str, u32> = HashMap::new();
    let mut template_ids: HashMap<&str, u32> = HashMap::new();
    let mut exact_text: Vec<&str> = Vec::new();
    let mut exact: Vec<Vec<u32>> = Vec::with_capacity(sets.len());
    let mut template: Vec<Vec<u32>> = Vec::with_capacity(sets.len());
    for (_, f) in sets {
        let mut e = Vec::with_capacity(f.exact.len());
        for s in &f.exact {
            let (id, new) = intern(&mut exact_ids, s);
            if new {
                exact_text.push(s);
            }
            e.push(id);
        }
        e.sort_unstable();
        let mut t: Vec<u32> = f.template.iter().map(|s| intern(&mut template_ids, s).0).collect();
        t.sort_unstable();
        exact.push(e);
        template.push(t);
    }
    let mut out = Vec::new();
    for group in cluster::clusters(&template, settings.threshold) {
        if group.len() < settings.min_cluster.max(2) {
            continue;
        }
        out.push(describe(sets, &exact, &template, &exact_text, &group));
    }
    out.sort_by(|a, b| a.members[0].set.label().cmp(b.members[0].set.label()));
    for (i, c) in out.iter_mut().enumerate() {
        c.number = i + 1;
    }
    out
}

/// A cluster's members, diff and hint.
fn describe(
    sets: &[(SetRef, Features)],
    exact: &[Vec<u32>],
    template: &[Vec<u32>],
    text: &[&str],
    group: &[usize],
) -> Cluster {
    let k = group.len();
    let mut count: HashMap<u32, usize> = HashMap::new();
    for &m in group {
        for f in &exact[m] {
            *count.entry(*f).or_default() += 1;
        }
    }
    let label = |f: &u32| text[*f as usize].to_owned();
    let mut common: Vec<String> = count.iter().filter(|(_, n)| **n == k).map(|(f, _)| label(f)).collect();
    common.sort();
    let mut members: Vec<Member> = group
        .iter()
        .map(|&m| {
            let (nearest, similarity) = group
                .iter()
                .filter(|&&o| o != m)
                .map(|&o| (o, cluster::jaccard(&template[m], &template[o])))
                .fold((m, -1.0), |best, c| if c.1 > best.1 { c } else { best });
            let own: BTreeSet<u32> = exact[m].iter().copied().collect();
            let mut adds: Vec<String> = exact[m].iter().filter(|f| count[*f] < k).map(label).collect();
            let mut lacks: Vec<String> = count
                .iter()
                .filter(|(f, n)| **n == k - 1 && !own.contains(*f))
                .map(|(f, _)| label(f))
                .collect();
            adds.sort();
            lacks.sort();
            Member {
                set: sets[m].0.clone(),
                nearest: sets[nearest].0.label().to_owned(),
                similarity,
                adds,
                lacks,
            }
        })
        .collect();
    members.sort_by(|a, b| a.set.label().cmp(b.set.label()));
    Cluster {
        number: 0,
        common,
        members,
        hint: hint(sets, exact, template, group),
    }
}

/// Identical members: keep one. Members whose differences are (partly) values taken from their
/// names: one set with a session-tag variable in those places (ABAC), once the other differences
/// are settled.
fn hint(sets: &[(SetRef, Features)], exact: &[Vec<u32>], template: &[Vec<u32>], group: &[usize]) -> Option<String> {
    let first = group[0];
    let k = group.len();
    if group.iter().all(|&m| exact[m] == exact[first]) {
        return Some(format!(
            "the {k} sets are identical: keep one, move the assignments to it, and delete the others"
        ));
    }
    let common = |vectors: &[Vec<u32>]| -> (usize, usize) {
        let mut count: HashMap<u32, usize> = HashMap::new();
        for &m in group {
            for f in &vectors[m] {
                *count.entry(*f).or_default() += 1;
            }
        }
        let all = count.values().filter(|n| **n == k).count();
        (all, count.len() - all)
    };
    let (exact_common, _) = common(exact);
    let (template_common, other_differences) = common(template);
    // Features that differ between members only by their names' values become common once
    // templated; none means the names play no part in what differs.
    if template_common <= exact_common {
        return None;
    }
    let values: BTreeSet<&str> = group
        .iter()
        .flat_map(|&m| sets[m].1.replaced.iter().map(String::as_str))
        .collect();
    let mut shown: Vec<&str> = values.iter().copied().take(6).collect();
    if values.len() > shown.len() {
        shown.push("…");
    }
    let abac = "one set using ${aws:PrincipalTag/<attribute>} in those places (ABAC: the IdP passes the team as a \
                session tag), assigned to each team's group";
    Some(if other_differences == 0 {
        format!(
            "the {k} sets differ only in values taken from their names ({}): {abac}, can replace all {k}",
            shown.join(", ")
        )
    } else {
        format!(
            "the {k} sets differ in values taken from their names ({}) and in {other_differences} other \
             feature(s) (see adds and lacks): settle those, then {abac} can replace all {k}",
            shown.join(", ")
        )
    })
}

/// Everything about assignments and provisioning the inventory could not read whole.
struct Gaps<'a> {
    /// Some principal's assignments are unknown: any set may have an unseen assignment.
    principals: bool,
    /// Accounts whose assignments (for some set) are unknown.
    accounts: BTreeSet<&'a str>,
    /// Why, for the report.
    reason: Option<String>,
}

impl<'a> Gaps<'a> {
    fn of(inv: &'a Inventory) -> Self {
        let mut gaps = Gaps {
            principals: false,
            accounts: BTreeSet::new(),
            reason: None,
        };
        for u in &inv.unknown {
            match u {
                Unknown::Principal {
                    principal_type,
                    principal_id,
                    reason,
                } => {
                    gaps.principals = true;
                    gaps.reason
                        .get_or_insert_with(|| format!("the assignments of {principal_type} {principal_id}: {reason}"));
                }
                Unknown::Account { account_id, reason } => {
                    gaps.accounts.insert(account_id);
                    gaps.reason
                        .get_or_insert_with(|| format!("the assignments in account {account_id}: {reason}"));
                }
                Unknown::PermissionSet { .. }
                | Unknown::GroupMembers { .. }
                | Unknown::Instance { .. }
                | Unknown::AccessApplication { .. }
                | Unknown::Application { .. } => {}
            }
        }
        gaps
    }
}

/// The reason the inventory recorded for a set, if any.
fn set_reason(inv: &Inventory, arn: &PermissionSetArn) -> Option<String> {
    inv.unknown.iter().find_map(|u| match u {
        Unknown::PermissionSet {
            permission_set_arn,
            reason,
        } if permission_set_arn == arn.as_str() => Some(reason.clone()),
        _ => None,
    })
}

/// The hygiene of the instance as the inventory read it.
pub fn analyse(inv: &Inventory, settings: &Settings) -> Report {
    let gaps = Gaps::of(inv);
    let assigned: BTreeSet<&PermissionSetArn> = inv.assignments.iter().map(|a| &a.permission_set_arn).collect();
    let pairs: BTreeSet<(&PermissionSetArn, &AccountId)> = inv
        .assignments
        .iter()
        .map(|a| (&a.permission_set_arn, &a.account_id))
        .collect();
    let mut report = Report {
        threshold: settings.threshold,
        min_cluster: settings.min_cluster.max(2),
        permission_sets: inv.permission_sets.len(),
        compared: 0,
        orphaned: Vec::new(),
        provisioned_unassigned: Vec::new(),
        clusters: Vec::new(),
        unknown: Vec::new(),
        facts: BTreeMap::new(),
    };
    let mut compared: Vec<(SetRef, Features)> = Vec::new();
    let mut arn_of: HashMap<String, PermissionSetArn> = HashMap::new();
    for (arn, entry) in &inv.permission_sets {
        let set = SetRef {
            name: entry.name.clone(),
            arn: arn.to_string(),
        };
        // Orphaned: unknown when some listing failed (by account: this set's own provisioning
        // too, since its assignments were listed per provisioned account).
        let by_account_blind = inv.strategy == Strategy::ByAccount && entry.provisioned.is_none();
        let assigned_fact = if assigned.contains(arn) {
            Fact::Known(true)
        } else if gaps.principals || !gaps.accounts.is_empty() || by_account_blind {
            let why = gaps
                .reason
                .clone()
                .or_else(|| set_reason(inv, arn))
                .unwrap_or_else(|| "where it is provisioned could not be read".to_owned());
            report.unknown.push(not_judged(&set, "orphaned", why));
            Fact::Unknown
        } else {
            report.orphaned.push(set.clone());
            Fact::Known(false)
        };
        let (unassigned_fact, undetermined) = provisioning(inv, &gaps, &pairs, arn, entry, &set, &mut report);
        let content = match &entry.facts {
            Some(ps) => features::of(entry.name.as_deref(), ps).map_err(|NotRead(why)| why.to_owned()),
            None => Err(set_reason(inv, arn).unwrap_or_else(|| "its definition was not read".to_owned())),
        };
        let near = match content {
            Ok(f) => {
                arn_of.insert(set.arn.clone(), arn.clone());
                compared.push((set.clone(), f));
                Fact::Known(None)
            }
            Err(why) => {
                report.unknown.push(not_judged(&set, "near-duplicate", why));
                Fact::Unknown
            }
        };
        report.facts.insert(
            arn.clone(),
            HygieneFact {
                assigned: assigned_fact,
                provisioned_unassigned: unassigned_fact,
                provisioned_undetermined: undetermined,
                near_duplicates: near,
            },
        );
    }
    report.compared = compared.len();
    report.clusters = near_duplicates(&compared, settings);
    attach_clusters(&mut report, &arn_of, settings);
    report
}

/// Where `entry` is provisioned without an assignment (`Unknown`: where it is provisioned was not
/// read), and the accounts whose assignments could not be read whole; what could not be judged
/// goes into `report.unknown`, the findings into `report.provisioned_unassigned`.
fn provisioning(
    inv: &Inventory,
    gaps: &Gaps<'_>,
    pairs: &BTreeSet<(&PermissionSetArn, &AccountId)>,
    arn: &PermissionSetArn,
    entry: &PermissionSetEntry,
    set: &SetRef,
    report: &mut Report,
) -> (Fact<Vec<AccountId>>, Vec<AccountId>) {
    match &entry.provisioned {
        None => {
            let why = set_reason(inv, arn).unwrap_or_else(|| "where it is provisioned was not read".to_owned());
            report.unknown.push(not_judged(set, "provisioned-unassigned", why));
            (Fact::Unknown, Vec::new())
        }
        Some(accounts) => {
            let mut unassigned = Vec::new();
            let mut undetermined = Vec::new();
            for account in accounts.iter().filter(|a| !pairs.contains(&(arn, *a))) {
                if gaps.principals || gaps.accounts.contains(account.as_str()) {
                    undetermined.push(account.clone());
                } else {
                    unassigned.push(account.clone());
                }
            }
            if !undetermined.is_empty() {
                let list: Vec<&str> = undetermined.iter().map(AccountId::as_str).collect();
                report.unknown.push(not_judged(
                    set,
                    "provisioned-unassigned",
                    format!(
                        "the assignments in {} could not be read whole: {}",
                        list.join(", "),
                        gaps.reason.clone().unwrap_or_default()
                    ),
                ));
            }
            if !unassigned.is_empty() {
                report.provisioned_unassigned.push(ProvisionedUnassigned {
                    set: set.clone(),
                    accounts: unassigned.iter().map(ToString::to_string).collect(),
                });
            }
            (Fact::Known(unassigned), undetermined)
        }
    }
}

/// A check that could not be made on `set`.
fn not_judged(set: &SetRef, check: &'static str, reason: String) -> NotJudged {
    NotJudged {
        set: set.clone(),
        check,
        reason,
    }
}

/// Hands each cluster member its cluster, as a fact for the rules.
fn attach_clusters(report: &mut Report, arn_of: &HashMap<String, PermissionSetArn>, settings: &Settings) {
    let permille = |x: f64| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let p = (x * 1000.0 + 1e-9).floor().clamp(0.0, 1000.0) as u16;
        p
    };
    for c in &report.clusters {
        let labels: Vec<String> = c.members.iter().map(|m| m.set.label().to_owned()).collect();
        for m in &c.members {
            let Some(fact) = arn_of.get(&m.set.arn).and_then(|arn| report.facts.get_mut(arn)) else {
                continue;
            };
            fact.near_duplicates = Fact::Known(Some(DuplicateCluster {
                number: c.number,
                members: labels.clone(),
                threshold_permille: permille(settings.threshold),
                nearest: (m.nearest.clone(), permille(m.similarity)),
                common: c.common.len(),
                adds: m.adds.clone(),
                lacks: m.lacks.clone(),
                hint: c.hint.clone(),
            }));
        }
    }
}

#[cfg(test)]
mod tests;
