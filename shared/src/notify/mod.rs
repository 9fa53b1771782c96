//! Notifications: what an [`Outcome`] says to people and to machines, and who owns it.
//!
//! Rendering is pure (no I/O, no SDK types): the SNS adapter (`crate::adapters::SnsNotifier`)
//! sends what [`Message::of`] renders. [`webhook`] posts Slack payloads over HTTP, and
//! [`LoggingNotifier`] writes outcomes to the log. The owner is the permission set's owner tag (read by the guard into
//! [`Outcome::tagged_owner`]), then the policy's `[owners]` routes, then the default owner: an
//! unknown owner is the default, never dropped.

use serde_json::{Value, json};

use crate::domain::time::utc;
use crate::domain::{Notice, Outcome, OutcomeKind, RuleId};
use crate::ports::{Notifier, Remote};

pub mod asff;
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

/// Why the rule matters, in one sentence (the rule's own documentation).
pub fn why_it_matters(rule: RuleId) -> &'static str {
    if rule == crate::domain::revocation::REVOCATION_FAILED {
        return "Removed access keeps working through the role sessions it already issued, for up to the \
                permission set's session duration.";
    }
    crate::rules::find(rule.as_str()).map_or("", |r| r.doc().why)
}

/// Where people end the access-portal sessions no API can end: the console path.
pub const PORTAL_SESSIONS: &str = "portal sessions must still be deleted in the IAM Identity Center console \
     (Users, the user, Active sessions, Delete session)";

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
    match (&r.principal_name, &r.principal_id) {
        (Some(name), Some(id)) => where_.push(format!("principal {name} ({id})")),
        (None, Some(id)) => where_.push(format!("principal {id}")),
        _ => {}
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
    for revocation in outcome.revocations.iter().filter(|r| !r.statements.is_empty()) {
        lines.push(format!("Live sessions: {}", revocation.summary()));
    }
    if outcome
        .revocations
        .iter()
        .any(|r| matches!(r.status, crate::domain::RevocationStatus::Revoked) && !r.statements.is_empty())
    {
        lines.push(format!("Note: the {PORTAL_SESSIONS}."));
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
    // Names and messages come from events: nothing in them may rewrite the reader's terminal.
    lines
        .iter()
        .map(|l| crate::report::printable(l))
        .collect::<Vec<_>>()
        .join("\n")
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
        "revocations": outcome.revocations,
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

    /// Renders an operational notice; it goes to the default owner.
    pub fn of_notice(notice: &Notice, owners: &Owners) -> Self {
        let owner = owners.default_owner.as_str();
        let (subject, at, by, next) = match notice {
            Notice::BreakerReset { at, by, .. } => (
                "[idc-guard] BREAKER RESET: the event path corrects again".to_owned(),
                *at,
                by.as_str(),
                "Corrections resume with the next event; the reconciler catches what happened while the breaker was \
                 open."
                    .to_owned(),
            ),
            Notice::SessionsRevoked { at, by, user, .. } => (
                format!("[idc-guard] SESSIONS REVOKED: {user}"),
                *at,
                by.as_str(),
                format!("The {PORTAL_SESSIONS}; propagation to the accounts can take a few minutes."),
            ),
        };
        let summary = notice.summary();
        let text = [
            subject.clone(),
            String::new(),
            summary.clone(),
            format!("When: {}.", utc(at)),
            next,
            format!("Owner: {owner}."),
        ]
        .iter()
        .map(|l| crate::report::printable(l))
        .collect::<Vec<_>>()
        .join("\n");
        let document = json!({
            "schema_version": SCHEMA_VERSION,
            "outcome": notice.id(),
            "detail": summary,
            "owner": owner,
            "slack_channels": owners.channels_of(owner),
            "actor": by,
            "event_time": utc(at),
        });
        Self {
            subject,
            text,
            document: document.to_string(),
            attributes: vec![
                ("severity", "high".to_owned()),
                ("outcome", notice.id().to_owned()),
                ("owner", owner.to_owned()),
            ],
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

/// A notifier that writes each outcome as one structured log line (ids and names at info;
/// never whole payloads).
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggingNotifier;

impl Notifier for LoggingNotifier {
    async fn publish(&self, outcome: &Outcome) -> Remote<()> {
        tracing::warn!(
            event_id = %outcome.event.event_id,
            event_name = %outcome.event.event_name,
            actor = %outcome.actor,
            rule = %outcome.finding.rule,
            severity = %outcome.finding.severity,
            mode = %outcome.finding.mode,
            resource = %outcome.finding.resource.id,
            outcome = %outcome.kind,
            calls = ?outcome.calls,
            "{}",
            outcome.finding.message
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests;
