//! What became of a finding: the gate's decision, the outcome of a correction, and operational
//! notices (not findings) such as a breaker reset.

use serde::Serialize;
use std::fmt;

use super::finding::Finding;
use super::model::{Actor, EventMeta};
use super::time::utc;

/// What happened to one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum OutcomeKind {
    /// Detect mode (or a report-only rule): planned, nothing changed.
    Detected,
    /// Corrected, and a read-back shows the rule passing.
    Remediated,
    /// Corrected, but the read-back does not show compliance.
    NotVerified {
        /// What the read-back found.
        detail: String,
    },
    /// The gate withheld the correction.
    Withheld {
        /// Why.
        reason: String,
    },
    /// Withheld, and this correction put the resource in quarantine (the flap limit): it stays
    /// detect-only for one window.
    Quarantined {
        /// Why, and until when.
        reason: String,
    },
    /// Withheld, and this correction opened the breaker: the event path is detect-only until an
    /// operator resets it.
    BreakerOpened {
        /// Why.
        reason: String,
    },
    /// AWS denied the correction (e.g. the delegated admin and the management account).
    CannotRemediate {
        /// AWS's message.
        reason: String,
    },
    /// The correction failed.
    Failed {
        /// The error.
        error: String,
    },
}

/// One finding and what idc-guard did about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The CloudTrail record.
    pub event: EventMeta,
    /// Who made the change.
    pub actor: Actor,
    /// The finding.
    pub finding: Finding,
    /// What was done.
    #[serde(flatten)]
    pub kind: OutcomeKind,
    /// The owner named by the permission set's owner tag, when it has one (read when the
    /// outcome is reported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tagged_owner: Option<String>,
    /// The mutating calls made, in order (operation names).
    pub calls: Vec<&'static str>,
    /// What the revocation of the live sessions after a removal did, per permission set.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revocations: Vec<super::revocation::RevocationReport>,
}

/// The gate's decision on a planned correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Execute it.
    Allow,
    /// Do not; report why.
    Withhold(String),
    /// Do not: this correction tripped the flap limit and quarantined the resource (why).
    Quarantine(String),
    /// Do not: this correction opened the breaker (why).
    OpenBreaker(String),
    /// Do not, and report nothing: another delivery of the same CloudTrail event owns this
    /// correction (it acts and reports once). Logged with the reason.
    Duplicate(String),
}

impl OutcomeKind {
    /// The stable kebab-case name (the SNS `outcome` attribute).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Detected => "detected",
            Self::Remediated => "remediated",
            Self::NotVerified { .. } => "not-verified",
            Self::Withheld { .. } => "withheld",
            Self::Quarantined { .. } => "quarantined",
            Self::BreakerOpened { .. } => "breaker-opened",
            Self::CannotRemediate { .. } => "cannot-remediate",
            Self::Failed { .. } => "failed",
        }
    }
}

impl fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Quarantined { reason } => write!(f, "withheld, resource quarantined: {reason}"),
            Self::BreakerOpened { reason } => write!(f, "withheld, breaker opened: {reason}"),
            Self::Detected => f.write_str("detected"),
            Self::Remediated => f.write_str("remediated and verified"),
            Self::NotVerified { detail } => write!(f, "corrected but not verified: {detail}"),
            Self::Withheld { reason } => write!(f, "withheld: {reason}"),
            Self::CannotRemediate { reason } => write!(f, "cannot remediate: {reason}"),
            Self::Failed { error } => write!(f, "failed: {error}"),
        }
    }
}

/// An operational notice: something idc-guard's operators did or should know, that is not a
/// finding about a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// An operator reset the breaker: the event path corrects again.
    BreakerReset {
        /// Since when the breaker was open (Unix seconds), if it was.
        open_since: Option<u64>,
        /// When it was reset (Unix seconds).
        at: u64,
        /// Who reset it.
        by: String,
        /// Why.
        reason: String,
    },
    /// An operator revoked (or lifted) live sessions on request (`idc-guard revoke`).
    SessionsRevoked {
        /// The user, as the operator named them (and their id).
        user: String,
        /// When (Unix seconds).
        at: u64,
        /// Who asked.
        by: String,
        /// Why.
        reason: String,
        /// What was done, per permission set.
        reports: Vec<super::revocation::RevocationReport>,
    },
}

impl Notice {
    /// The stable kebab-case name (the SNS `outcome` attribute).
    pub fn id(&self) -> &'static str {
        match self {
            Self::BreakerReset { .. } => "breaker-reset",
            Self::SessionsRevoked { .. } => "sessions-revoked",
        }
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        match self {
            Self::BreakerReset {
                open_since, by, reason, ..
            } => match open_since {
                Some(since) => format!(
                    "{by} reset the breaker (open since {}): the event path corrects again. Reason: {reason}",
                    utc(*since)
                ),
                None => format!("{by} reset the breaker, which was not open. Reason: {reason}"),
            },
            Self::SessionsRevoked {
                user,
                by,
                reason,
                reports,
                ..
            } => {
                let done: Vec<String> = reports
                    .iter()
                    .map(super::revocation::RevocationReport::summary)
                    .collect();
                format!(
                    "{by} revoked the live role sessions of {user}. Reason: {reason}. {}",
                    done.join(" ")
                )
            }
        }
    }
}
