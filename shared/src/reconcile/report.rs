//! The run report (one JSON line in the log, a table for `idc-guard scan`), and the run's one
//! finding.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::plan::{Counts, PlanItem, actor, meta};
use crate::domain::{
    Action, Finding, InstanceArn, Mode, Outcome, OutcomeKind, Resource, ResourceKind, RevocationStatus, RuleId,
    Severity,
};
use crate::inventory::{Inventory, Strategy, Unknown};
use crate::rules::desired_assignments;
use crate::usage::UsageColumns;

/// One planned correction, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct ReportedAction {
    /// The rule.
    pub rule: RuleId,
    /// Its severity.
    pub severity: Severity,
    /// Its mode: only enforce-mode corrections are executed.
    pub mode: Mode,
    /// The resource.
    pub resource: Resource,
    /// Why.
    pub reason: String,
    /// What would be or was done.
    pub actions: Vec<Action>,
    /// Whether it deletes something.
    pub destructive: bool,
    /// The owner the desired file names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What became of it (absent in a dry run or a refused plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The mutating calls made for it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<&'static str>,
    /// An assignment's last use and dormancy, when usage data was joined.
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub usage: Option<UsageColumns>,
}

/// What a run knew of usage (issue #17), with the count of assignments by dormancy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UsageSummary {
    /// `used`, `none` (no usage data: every dormancy undetermined) or `unavailable` (the read
    /// failed).
    pub data: &'static str,
    /// Why the read failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When usage recording began (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_since: Option<String>,
    /// Assignments used within their window.
    pub active: usize,
    /// Assignments unused for their whole window.
    pub dormant: usize,
    /// Assignments whose window has not been observed whole yet.
    pub not_yet_observed: usize,
    /// Assignments whose use could not be joined (a group's members or the set's name unread).
    pub unknown: usize,
}

impl UsageSummary {
    /// Every assignment of the inventory, counted by dormancy.
    pub(super) fn of(
        policy: &crate::policy::Policy,
        inv: &Inventory,
        usage: &crate::usage::UsageInput,
        now: u64,
    ) -> Self {
        let mut summary = Self::default();
        match usage {
            crate::usage::UsageInput::None => summary.data = "none",
            crate::usage::UsageInput::Failed(e) => {
                summary.data = "unavailable";
                summary.error = Some(e.clone());
            }
            crate::usage::UsageInput::Loaded(u) => {
                summary.data = "used";
                summary.recording_since = Some(crate::domain::time::utc(u.observation.since));
                for row in crate::usage::per_assignment(policy, inv, &u.index, &u.observation, now) {
                    match row.dormancy {
                        Some(crate::domain::Dormancy::Active) => summary.active += 1,
                        Some(crate::domain::Dormancy::Dormant) => summary.dormant += 1,
                        Some(crate::domain::Dormancy::NotYetObserved) => summary.not_yet_observed += 1,
                        None => summary.unknown += 1,
                    }
                }
            }
        }
        summary
    }
}

impl ReportedAction {
    pub(super) fn of(item: &PlanItem) -> Self {
        Self {
            rule: item.finding.rule,
            severity: item.finding.severity,
            mode: item.finding.mode,
            resource: item.finding.resource.clone(),
            reason: item.finding.message.clone(),
            actions: item.finding.remediation.clone(),
            destructive: item.is_destructive(),
            owner: item.owner.clone(),
            outcome: None,
            calls: Vec::new(),
            usage: item.usage.clone(),
        }
    }
}

/// A protected group as reported: who holds privileged access, for recertification.
#[derive(Debug, Clone, Serialize)]
pub struct ProtectedGroupReport {
    /// The group.
    pub group_id: String,
    /// Its display name.
    pub group_name: String,
    /// Why it is protected.
    pub reasons: Vec<String>,
    /// Its members (user id, user name), sorted by name; `null` when they could not be read.
    pub members: Option<Vec<Member>>,
}

/// A member of a protected group.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// The user's id.
    pub user_id: String,
    /// The user's name (empty when the user list did not name it).
    pub user_name: String,
}

impl ProtectedGroupReport {
    pub(super) fn of(inv: &Inventory) -> Vec<Self> {
        inv.protected_groups
            .iter()
            .map(|(id, g)| Self {
                group_id: id.clone(),
                group_name: g.name.clone(),
                reasons: g.reasons.clone(),
                members: g.members.as_ref().map(|ids| {
                    let mut members: Vec<Member> = ids
                        .iter()
                        .map(|u| Member {
                            user_id: u.clone(),
                            user_name: inv.users.get(u).cloned().unwrap_or_default(),
                        })
                        .collect();
                    members.sort_by(|a, b| (&a.user_name, &a.user_id).cmp(&(&b.user_name, &b.user_id)));
                    members
                }),
            })
            .collect()
    }
}

/// A run's report: logged as one JSON line, printed by `idc-guard scan`.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The run's id.
    pub run_id: String,
    /// Plan only.
    pub dry_run: bool,
    /// The instance.
    pub instance: String,
    /// Whether the desired file was used (`absent`, `invalid`, `used`).
    pub desired: &'static str,
    /// The assignment listing pattern used.
    pub strategy: Strategy,
    /// Counts.
    pub counts: Counts,
    /// Why the plan was refused, if it was (then nothing was executed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The plan, with outcomes when executed.
    pub plan: Vec<ReportedAction>,
    /// Corrections not planned because what they touch could not be read.
    pub skipped: Vec<ReportedAction>,
    /// What could not be read.
    pub unknown: Vec<Unknown>,
    /// The protected groups and their members.
    pub protected_groups: Vec<ProtectedGroupReport>,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// API calls made, by operation (filled by the caller that counts them).
    pub api_calls: BTreeMap<String, u64>,
    /// Their total.
    pub api_calls_total: u64,
    /// Revocations: the expired statements removed at the start of the run, then the live
    /// sessions this run's removals revoked (each set edited once).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revocations: Vec<crate::domain::RevocationReport>,
    /// What the run knew of usage, and the assignments by dormancy.
    pub usage: UsageSummary,
    /// The assignments to note as first seen and to forget (written by the caller that holds
    /// the state table, after the run; empty in a dry run or without usage data).
    #[serde(skip)]
    pub sightings: crate::usage::Sightings,
}

impl RunReport {
    /// Whether the live state differs from the policy or the desired file.
    pub fn has_drift(&self) -> bool {
        !self.plan.is_empty() || !self.skipped.is_empty() || self.refused.is_some()
    }

    /// Records the API calls a counter saw.
    pub fn set_api_calls(&mut self, calls: BTreeMap<String, u64>) {
        self.api_calls_total = calls.values().sum();
        self.api_calls = calls;
    }

    /// A human table of the plan.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "instance {}  assignments {}  permission sets {}  accounts {}  desired {} ({})  strategy {:?}",
            self.instance,
            self.counts.assignments,
            self.counts.permission_sets,
            self.counts.accounts,
            self.counts.desired,
            self.desired,
            self.strategy
        );
        if self.counts.entitlements + self.counts.scoped_applications > 0 {
            let _ = writeln!(
                out,
                "entitlements {}  applications with account access {}",
                self.counts.entitlements, self.counts.scoped_applications
            );
        }
        if let Some(why) = &self.refused {
            let _ = writeln!(out, "REFUSED: {why}\nnothing was changed.");
        }
        if self.plan.is_empty() {
            let _ = writeln!(out, "no drift: nothing to do");
        } else {
            let _ = writeln!(
                out,
                "{:<8} {:<30} {:<10} {:<60} REASON",
                "ACTION", "RULE", "MODE", "RESOURCE"
            );
            for a in &self.plan {
                let verb = match a.actions.first() {
                    Some(Action::CreateAccountAssignment(_) | Action::CreateEntitlement(_)) => "create",
                    Some(Action::DeleteAccountAssignment(_) | Action::DeleteEntitlement(_)) => "delete",
                    Some(_) => "fix",
                    None => "report",
                };
                let what = describe(&a.resource);
                let _ = writeln!(
                    out,
                    "{verb:<8} {:<30} {:<10} {what:<60} {}{}",
                    a.rule.as_str(),
                    a.mode.to_string(),
                    a.reason,
                    a.outcome.as_deref().map(|o| format!(" [{o}]")).unwrap_or_default()
                );
            }
        }
        for s in &self.skipped {
            let _ = writeln!(out, "skipped (unknown): {} {}", s.rule, describe(&s.resource));
        }
        for g in &self.protected_groups {
            let members = match &g.members {
                Some(m) if m.is_empty() => "no members".to_owned(),
                Some(m) => {
                    let names: Vec<&str> = m
                        .iter()
                        .map(|m| {
                            if m.user_name.is_empty() {
                                m.user_id.as_str()
                            } else {
                                m.user_name.as_str()
                            }
                        })
                        .collect();
                    format!("{} members: {}", m.len(), names.join(", "))
                }
                None => "members unknown (read failed)".to_owned(),
            };
            let _ = writeln!(
                out,
                "protected group {} ({}): {members}",
                if g.group_name.is_empty() {
                    &g.group_id
                } else {
                    &g.group_name
                },
                g.reasons.join("; ")
            );
        }
        for r in &self.revocations {
            let _ = writeln!(out, "revocation: {}", r.summary());
        }
        for u in &self.unknown {
            let _ = writeln!(out, "unknown: {}", serde_json::to_string(u).unwrap_or_default());
        }
        let _ = writeln!(
            out,
            "{} planned ({} destructive, {} extra, {} missing), {} skipped, {} mutations, {} API calls, {} ms{}",
            self.counts.planned,
            self.counts.destructive,
            self.counts.extra,
            self.counts.missing,
            self.counts.skipped,
            self.counts.mutations,
            self.api_calls_total,
            self.duration_ms,
            if self.dry_run { " (dry run)" } else { "" }
        );
        out
    }
}

fn describe(r: &Resource) -> String {
    // An entitlement (issue #19): the account, the role it may assume, the principal.
    if let (Some(account), Some(role), Some(principal)) = (&r.account_id, &r.role_arn, &r.principal_id) {
        let role = crate::domain::RoleArn::parse(role).map_or_else(|_| role.clone(), |r| r.path_and_name());
        return format!("{account} role {role} {principal}");
    }
    match (&r.account_id, &r.permission_set_name, &r.principal_id) {
        (Some(account), ps, Some(principal)) => format!(
            "{account} {} {principal}",
            ps.as_deref().or(r.permission_set_arn.as_deref()).unwrap_or("?")
        ),
        _ => r.permission_set_name.clone().unwrap_or_else(|| r.id.clone()),
    }
}

/// The run's one finding: a refusal, or the drift found (and what was done about it).
pub(super) fn summary(instance: &InstanceArn, report: &RunReport, now: u64) -> Outcome {
    let c = &report.counts;
    let (kind, message) = if let Some(why) = &report.refused {
        (
            OutcomeKind::Withheld {
                reason: format!("reconciler refused its plan: {why}"),
            },
            format!(
                "The drift reconciler refused to act: {why}. {} corrections were planned ({} destructive); nothing was changed.",
                c.planned, c.destructive
            ),
        )
    } else {
        let failed = report
            .plan
            .iter()
            .filter(|a| {
                a.outcome
                    .as_deref()
                    .is_some_and(|o| o.starts_with("failed") || o.starts_with("corrected but not verified"))
            })
            .count();
        let withheld = report
            .plan
            .iter()
            .filter(|a| {
                a.outcome
                    .as_deref()
                    .is_some_and(|o| o.starts_with("withheld") || o.starts_with("cannot"))
            })
            .count();
        let failed_revocations = report
            .revocations
            .iter()
            .filter(|r| matches!(r.status, RevocationStatus::Failed { .. }))
            .count();
        let kind = if report.dry_run || c.planned == 0 {
            OutcomeKind::Detected
        } else if failed > 0 {
            OutcomeKind::Failed {
                error: format!("{failed} of {} corrections failed or were not verified", c.planned),
            }
        } else if failed_revocations > 0 {
            OutcomeKind::Failed {
                error: format!("{failed_revocations} revocations of live sessions failed"),
            }
        } else if withheld > 0 {
            OutcomeKind::Withheld {
                reason: format!("{withheld} of {} corrections were withheld", c.planned),
            }
        } else {
            OutcomeKind::Remediated
        };
        let unknown = if report.unknown.is_empty() {
            String::new()
        } else {
            format!(
                " {} scopes could not be read and were left alone.",
                report.unknown.len()
            )
        };
        (
            kind,
            format!(
                "The drift reconciler found {} corrections to make ({} extra assignments, {} missing, {} other), {} skipped \
                 because what they touch could not be read.{unknown}",
                c.planned,
                c.extra,
                c.missing,
                c.planned - c.extra - c.missing,
                c.skipped
            ),
        )
    };
    Outcome {
        event: meta(&report.run_id, now),
        actor: actor(),
        finding: Finding {
            rule: desired_assignments::ID,
            severity: if report.refused.is_some() {
                Severity::High
            } else {
                Severity::Medium
            },
            mode: Mode::Enforce,
            message,
            resource: Resource::new(ResourceKind::Instance, instance.as_str()),
            remediation: Vec::new(),
            expired_exception: None,
        },
        kind,
        tagged_owner: None,
        calls: report.plan.iter().flat_map(|a| a.calls.iter().copied()).collect(),
        revocations: report.revocations.clone(),
    }
}
