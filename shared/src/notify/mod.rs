//! Notifications: what an [`Outcome`] says to people and to machines, and who owns it.
//!
//! Pure: no I/O, no SDK types. The SNS adapter (`crate::adapters::SnsNotifier`) sends what
//! [`Message::of`] renders. The owner is the permission set's owner tag (read by the guard into
//! [`Outcome::tagged_owner`]), then the policy's `[owners]` routes, then the default owner: an
//! unknown owner is the default, never dropped.

use serde_json::{Value, json};

use crate::guard::{Outcome, OutcomeKind};
use crate::rules::RuleId;

pub mod slack;
pub mod webhook;

/// The version of the JSON finding document (`sqs`, `lambda`, `https`).
pub const SCHEMA_VERSION: u32 = 1;

/// SNS subjects must be shorter than 100 characters.
pub const MAX_SUBJECT: usize = 99;

pub use crate::policy::{DEFAULT_OWNER, OwnerRoute, Owners};

/// The owner of `outcome`: the permission set's owner tag, then the policy's routes (name
/// pattern and account), then the default owner.
pub fn owner_of<'a>(owners: &'a Owners, outcome: &'a Outcome) -> &'a str {
    let r = &outcome.finding.resource;
    owners.resolve(
        outcome.tagged_owner.as_deref(),
        r.permission_set_name.as_deref(),
        Some(r.account_id.as_deref().unwrap_or(&outcome.event.account)),
    )
}

/// The stable value of the `outcome` attribute (kebab-case).
pub fn outcome_id(kind: &OutcomeKind) -> &'static str {
    kind.as_str()
}

/// The word a subject starts with.
pub fn outcome_label(kind: &OutcomeKind) -> &'static str {
    match kind {
        OutcomeKind::Detected => "DETECTED",
        OutcomeKind::Remediated => "REVERTED",
        OutcomeKind::NotVerified { .. } => "NOT VERIFIED",
        OutcomeKind::Withheld { .. } => "WITHHELD",
        OutcomeKind::Quarantined { .. } => "QUARANTINED",
        OutcomeKind::BreakerOpened { .. } => "BREAKER OPENED",
        OutcomeKind::CannotRemediate { .. } => "CANNOT REMEDIATE",
        OutcomeKind::Failed { .. } => "FAILED",
    }
}

/// Why the rule matters, in one sentence.
pub fn why_it_matters(rule: RuleId) -> &'static str {
    match rule {
        RuleId::AssignmentPrincipalType => {
            "Access granted to individual users bypasses group membership reviews and leaves orphaned access behind."
        }
        RuleId::SessionDurationCap => {
            "Long sessions keep stolen or forgotten credentials valid for longer; privileged sets get the shortest."
        }
        RuleId::PermissionsBoundaryRequired => {
            "Without the boundary, roles this set creates can escalate beyond what the set itself may do."
        }
        RuleId::InlinePolicyForbiddenActions => {
            "iam:*, organizations:* and account:* let a set grant itself or others any access."
        }
        RuleId::ManagedPolicyForbidden => {
            "AdministratorAccess and IAMFullAccess are reserved for the admin and break-glass sets."
        }
        RuleId::AbacAttributesRequired => {
            "Attribute-based access control depends on team and project being mapped from the IdP."
        }
        RuleId::IdentityStoreScimOnly => {
            "Hand-made users, groups and memberships drift from the IdP and survive offboarding."
        }
    }
}

/// What idc-guard did, in words.
fn what_was_done(kind: &OutcomeKind) -> String {
    match kind {
        OutcomeKind::Detected => "Nothing was changed (detected only).".to_owned(),
        OutcomeKind::Remediated => "idc-guard reverted the change, and a read-back verified compliance.".to_owned(),
        OutcomeKind::NotVerified { detail } => {
            format!("idc-guard corrected the change, but the read-back does NOT show compliance: {detail}")
        }
        OutcomeKind::Withheld { reason } => format!("The correction was withheld: {reason}"),
        OutcomeKind::Quarantined { reason } => format!(
            "The correction was withheld and the resource QUARANTINED: {reason}. Someone or something keeps \
             re-applying this change: find it before the quarantine ends."
        ),
        OutcomeKind::BreakerOpened { reason } => format!(
            "The correction was withheld and the BREAKER OPENED: {reason}. Investigate the burst of violations, then \
             reset the breaker (see the README's safety rails)."
        ),
        OutcomeKind::CannotRemediate { reason } => {
            format!("idc-guard may not correct this (access denied): {reason}. Fix it by hand.")
        }
        OutcomeKind::Failed { error } => format!("The correction FAILED and will be retried: {error}"),
    }
}

/// The resource a subject names: the permission set's name, else the account, else the id.
fn target(outcome: &Outcome) -> &str {
    let r = &outcome.finding.resource;
    r.permission_set_name
        .as_deref()
        .or(r.account_id.as_deref())
        .unwrap_or(&r.id)
}

/// `[idc-guard] REVERTED session-duration-cap on PlatformAdmin`: printable ASCII, under 100
/// characters.
pub fn subject(outcome: &Outcome) -> String {
    let full = format!(
        "[idc-guard] {} {} on {}",
        outcome_label(&outcome.kind),
        outcome.finding.rule,
        target(outcome)
    );
    let clean: String = full
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' })
        .collect();
    if clean.len() <= MAX_SUBJECT {
        clean
    } else {
        format!("{}...", &clean[..MAX_SUBJECT - 3])
    }
}

/// The human text (`default` and `email`).
pub fn text(outcome: &Outcome, owner: &str) -> String {
    let f = &outcome.finding;
    let r = &f.resource;
    let mut where_ = Vec::new();
    where_.push(format!(
        "account {}",
        r.account_id.as_deref().unwrap_or(&outcome.event.account)
    ));
    match (&r.permission_set_name, &r.permission_set_arn) {
        (Some(name), _) => where_.push(format!("permission set {name}")),
        (None, Some(arn)) => where_.push(format!("permission set {arn}")),
        (None, None) => {}
    }
    if let Some(p) = &r.principal_id {
        where_.push(format!("principal {p}"));
    }
    let mut lines = vec![
        subject(outcome),
        String::new(),
        format!(
            "Who: {} called {} at {}.",
            outcome.actor, outcome.event.event_name, outcome.event.event_time
        ),
        format!("Where: {} ({}).", where_.join(", "), r.id),
        format!("Rule: {} (severity {}, mode {}).", f.rule, f.severity, f.mode),
        format!("Why: {}", f.message),
        format!("Why it matters: {}", why_it_matters(f.rule)),
        format!("What idc-guard did: {}", what_was_done(&outcome.kind)),
    ];
    if !outcome.calls.is_empty() {
        lines.push(format!("Calls made: {}.", outcome.calls.join(", ")));
    }
    if let Some(e) = &f.expired_exception {
        lines.push(format!(
            "An exception owned by {} ({}) covered this until {} (guardrail.toml line {}).",
            e.owner, e.reason, e.expired, e.line
        ));
    }
    lines.push(format!("Owner: {owner}."));
    lines.push(format!("CloudTrail eventID: {}.", outcome.event.event_id));
    lines.push(String::new());
    lines.push(format!(
        "To fix: make the change compliant with rule {}, or request an exception (an [[exceptions]] entry in guardrail.toml with rule, scope, owner, reason and expiry).",
        f.rule
    ));
    lines.join("\n")
}

/// The JSON finding document (`sqs`, `lambda`, `https`).
pub fn document(outcome: &Outcome, owner: &str, slack_channels: &[String]) -> Value {
    json!({
        "schema_version": SCHEMA_VERSION,
        "outcome": outcome_id(&outcome.kind),
        "detail": outcome_detail(&outcome.kind),
        "owner": owner,
        "slack_channels": slack_channels,
        "event_id": outcome.event.event_id,
        "event_name": outcome.event.event_name,
        "event_time": outcome.event.event_time,
        "account": outcome.event.account,
        "region": outcome.event.region,
        "actor": outcome.actor.to_string(),
        "actor_detail": outcome.actor,
        "finding": outcome.finding,
        "calls": outcome.calls,
    })
}

fn outcome_detail(kind: &OutcomeKind) -> Option<&str> {
    match kind {
        OutcomeKind::Detected | OutcomeKind::Remediated => None,
        OutcomeKind::NotVerified { detail } => Some(detail),
        OutcomeKind::Withheld { reason }
        | OutcomeKind::Quarantined { reason }
        | OutcomeKind::BreakerOpened { reason }
        | OutcomeKind::CannotRemediate { reason } => Some(reason),
        OutcomeKind::Failed { error } => Some(error),
    }
}

/// One rendered notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The subject.
    pub subject: String,
    /// The human text.
    pub text: String,
    /// The JSON finding document.
    pub document: String,
    /// The message attributes, without empty values (SNS rejects them).
    pub attributes: Vec<(&'static str, String)>,
}

impl Message {
    /// Renders `outcome` for `owners`.
    pub fn of(outcome: &Outcome, owners: &Owners) -> Self {
        let owner = owner_of(owners, outcome);
        let r = &outcome.finding.resource;
        let attributes = [
            ("rule", outcome.finding.rule.as_str().to_owned()),
            ("severity", outcome.finding.severity.to_string()),
            ("outcome", outcome_id(&outcome.kind).to_owned()),
            ("owner", owner.to_owned()),
            (
                "account",
                r.account_id.clone().unwrap_or_else(|| outcome.event.account.clone()),
            ),
            ("permission_set", r.permission_set_name.clone().unwrap_or_default()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
        Self {
            subject: subject(outcome),
            text: text(outcome, owner),
            document: document(outcome, owner, &owners.channels_of(owner)).to_string(),
            attributes,
        }
    }

    /// The SNS `MessageStructure=json` body: human text for `default` and `email`, the finding
    /// document for `sqs`, `lambda` and `https`.
    pub fn sns_json(&self) -> String {
        json!({
            "default": self.text,
            "email": self.text,
            "sqs": self.document,
            "lambda": self.document,
            "https": self.document,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests;
