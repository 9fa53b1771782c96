//! From a decoded record to a verdict: what is not acted upon (and why), then every rule the
//! policy enables, then exceptions. Pure: the caller supplies the facts and today's date.

use serde::Serialize;
use std::fmt;

use crate::date::Date;
use crate::event::{Body, Decoded};
use crate::facts::Facts;
use crate::model::{Actor, Change, ChangeKind, EventMeta};
use crate::pattern::any_matches;
use crate::policy::{Exception, Mode, Policy, Severity};
use crate::rules::{Action, Context, MissingFact, Resource, RuleId, Verdict};

/// Why a record is not acted upon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum IgnoreReason {
    /// The call failed, so nothing changed.
    FailedCall {
        /// CloudTrail `errorCode`.
        error_code: String,
    },
    /// A read-only call.
    ReadOnly,
    /// An event source or name idc-guard does not handle.
    Unhandled,
    /// Not a CloudTrail API call.
    NotApiCall {
        /// The EventBridge detail-type.
        detail_type: String,
    },
    /// The change belongs to another Identity Center instance.
    OtherInstance {
        /// The instance named in the event.
        instance_arn: String,
    },
    /// The change belongs to another identity store.
    OtherIdentityStore {
        /// The store named in the event.
        identity_store_id: String,
    },
    /// idc-guard's own change coming back as an event.
    OwnEcho {
        /// idc-guard's role.
        role_name: String,
    },
}

impl fmt::Display for IgnoreReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FailedCall { error_code } => write!(f, "the call failed ({error_code}); nothing changed"),
            Self::ReadOnly => f.write_str("read-only call"),
            Self::Unhandled => f.write_str("event not handled by idc-guard"),
            Self::NotApiCall { detail_type } => write!(f, "not a CloudTrail API call (detail-type {detail_type:?})"),
            Self::OtherInstance { instance_arn } => write!(f, "another Identity Center instance ({instance_arn})"),
            Self::OtherIdentityStore { identity_store_id } => write!(f, "another identity store ({identity_store_id})"),
            Self::OwnEcho { role_name } => write!(f, "idc-guard's own change ({role_name})"),
        }
    }
}

/// An exception that expired and so no longer covers a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiredException {
    /// Its owner.
    pub owner: String,
    /// Its reason.
    pub reason: String,
    /// The day it expired after.
    pub expired: String,
    /// Its line in the policy file.
    pub line: usize,
}

/// A violation, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule.
    pub rule: RuleId,
    /// Severity.
    pub severity: Severity,
    /// The rule's effective mode: `enforce` plans a revert, `detect` only reports.
    pub mode: Mode,
    /// Why, and how to fix.
    pub message: String,
    /// The resource.
    pub resource: Resource,
    /// The corrective actions planned.
    pub remediation: Vec<Action>,
    /// An exception that would have covered this, had it not expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_exception: Option<ExpiredException>,
}

/// A rule that could not decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Undetermined {
    /// The rule.
    pub rule: RuleId,
    /// The missing fact.
    pub fact: MissingFact,
    /// What depends on it.
    pub detail: String,
}

/// A violation covered by a live exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Excepted {
    /// The rule.
    pub rule: RuleId,
    /// The exception's owner.
    pub owner: String,
    /// Its reason.
    pub reason: String,
    /// Its last day.
    pub expires: String,
    /// Its line in the policy file.
    pub line: usize,
}

/// The verdict on one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventVerdict {
    /// A rule fails.
    Violation,
    /// No rule fails, but a rule needs a fact the event does not carry.
    Undetermined,
    /// Every rule passes.
    Compliant,
    /// Not acted upon.
    Ignored,
}

impl EventVerdict {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Violation => "violation",
            Self::Undetermined => "undetermined",
            Self::Compliant => "compliant",
            Self::Ignored => "ignored",
        }
    }
}

/// The outcome of checking one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The record's metadata.
    pub meta: EventMeta,
    /// Who made the change.
    pub actor: Actor,
    /// The verdict.
    pub verdict: EventVerdict,
    /// Why the record was ignored.
    pub reason: Option<IgnoreReason>,
    /// Violations.
    pub findings: Vec<Finding>,
    /// Rules that could not decide.
    pub undetermined: Vec<Undetermined>,
    /// Violations covered by exceptions.
    pub excepted: Vec<Excepted>,
}

/// Recognises idc-guard's own roles among the actors.
pub fn recognise_own_actor(actor: Actor, policy: &Policy) -> Actor {
    match actor {
        Actor::IamRole {
            role_arn,
            role_name,
            session,
        } => {
            if policy.own_identity.is_own_role(&role_arn, &role_name) {
                Actor::Guard { role_name }
            } else {
                Actor::IamRole {
                    role_arn,
                    role_name,
                    session,
                }
            }
        }
        other => other,
    }
}

/// Whether the policy scopes the change out (another instance or identity store).
fn out_of_scope(kind: &ChangeKind, policy: &Policy) -> Option<IgnoreReason> {
    if let (Some(want), Some(have)) = (&policy.instance_arn, kind.instance_arn())
        && want != have
    {
        return Some(IgnoreReason::OtherInstance {
            instance_arn: have.to_string(),
        });
    }
    if let (
        Some(want),
        ChangeKind::Identity {
            identity_store_id: Some(have),
            ..
        },
    ) = (&policy.identity_store_id, kind)
        && want != have
    {
        return Some(IgnoreReason::OtherIdentityStore {
            identity_store_id: have.to_string(),
        });
    }
    None
}

/// Separates the records idc-guard acts upon from the others: an actionable [`Change`], or the
/// evaluation of an ignored record with its reason.
pub fn actionable(policy: &Policy, decoded: Decoded) -> Result<Change, Box<Evaluation>> {
    let actor = recognise_own_actor(decoded.actor, policy);
    let ignore = |meta, actor, reason| {
        Box::new(Evaluation {
            meta,
            actor,
            verdict: EventVerdict::Ignored,
            reason: Some(reason),
            findings: Vec::new(),
            undetermined: Vec::new(),
            excepted: Vec::new(),
        })
    };
    let kind = match decoded.body {
        Body::Change(kind) => kind,
        Body::Failed { error_code } => {
            return Err(ignore(decoded.meta, actor, IgnoreReason::FailedCall { error_code }));
        }
        Body::ReadOnly => return Err(ignore(decoded.meta, actor, IgnoreReason::ReadOnly)),
        Body::Unhandled => return Err(ignore(decoded.meta, actor, IgnoreReason::Unhandled)),
        Body::NotApiCall { detail_type } => {
            return Err(ignore(decoded.meta, actor, IgnoreReason::NotApiCall { detail_type }));
        }
    };
    if let Some(reason) = out_of_scope(&kind, policy) {
        return Err(ignore(decoded.meta, actor, reason));
    }
    if let Actor::Guard { role_name } = &actor {
        let reason = IgnoreReason::OwnEcho {
            role_name: role_name.clone(),
        };
        return Err(ignore(decoded.meta, actor, reason));
    }
    Ok(Change {
        meta: decoded.meta,
        actor,
        kind,
    })
}

/// Checks one decoded record with the facts it carries itself (the offline check).
pub fn check(policy: &Policy, decoded: Decoded, today: Date) -> Evaluation {
    match actionable(policy, decoded) {
        Ok(change) => {
            let facts = Facts::from_change(&change);
            evaluate(policy, change, &facts, today)
        }
        Err(ignored) => *ignored,
    }
}

/// Evaluates every enabled rule on an actionable change, then applies exceptions.
pub fn evaluate(policy: &Policy, change: Change, facts: &Facts, today: Date) -> Evaluation {
    let mut findings = Vec::new();
    let mut undetermined = Vec::new();
    let mut excepted = Vec::new();
    for rule_id in RuleId::ALL {
        let mode = policy.effective_mode(rule_id);
        if mode == Mode::Off {
            continue;
        }
        let cx = Context {
            change: &change,
            facts,
            policy,
        };
        match rule_id.rule().evaluate(cx) {
            Verdict::NotApplicable | Verdict::Pass => {}
            Verdict::Undetermined(missing) => undetermined.push(Undetermined {
                rule: rule_id,
                fact: missing.fact,
                detail: missing.detail,
            }),
            Verdict::Fail(v) => {
                let live: Vec<&Exception> = policy
                    .exceptions
                    .iter()
                    .filter(|e| e.rule == rule_id && !e.is_expired(today))
                    .collect();
                if let Some(e) = live.iter().find(|e| covers(e, &v.resource) == Cover::Yes) {
                    excepted.push(Excepted {
                        rule: rule_id,
                        owner: e.owner.clone(),
                        reason: e.reason.clone(),
                        expires: e.expires.to_string(),
                        line: e.line,
                    });
                    continue;
                }
                if let Some(e) = live.iter().find(|e| covers(e, &v.resource) == Cover::Unknown) {
                    undetermined.push(Undetermined {
                        rule: rule_id,
                        fact: MissingFact::PermissionSetName,
                        detail: format!(
                            "the exception at line {} (owner {}) covers some permission sets by name",
                            e.line, e.owner
                        ),
                    });
                    continue;
                }
                let expired_exception = policy
                    .exceptions
                    .iter()
                    .filter(|e| e.rule == rule_id && e.is_expired(today))
                    .find(|e| covers(e, &v.resource) != Cover::No)
                    .map(|e| ExpiredException {
                        owner: e.owner.clone(),
                        reason: e.reason.clone(),
                        expired: e.expires.to_string(),
                        line: e.line,
                    });
                findings.push(Finding {
                    rule: rule_id,
                    severity: policy.severity(rule_id),
                    mode,
                    message: v.message,
                    resource: v.resource,
                    remediation: v.remediation,
                    expired_exception,
                });
            }
        }
    }
    let verdict = if !findings.is_empty() {
        EventVerdict::Violation
    } else if !undetermined.is_empty() {
        EventVerdict::Undetermined
    } else {
        EventVerdict::Compliant
    };
    Evaluation {
        meta: change.meta,
        actor: change.actor,
        verdict,
        reason: None,
        findings,
        undetermined,
        excepted,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cover {
    Yes,
    No,
    Unknown,
}

/// Whether an exception covers a resource: every criterion it names must match.
fn covers(e: &Exception, r: &Resource) -> Cover {
    let mut result = Cover::Yes;
    if !e.permission_sets.is_empty() {
        match (&r.permission_set_name, &r.permission_set_arn) {
            (Some(name), _) if any_matches(&e.permission_sets, name) => {}
            (Some(_), _) | (None, None) => return Cover::No,
            (None, Some(_)) => result = Cover::Unknown,
        }
    }
    if !e.accounts.is_empty()
        && !r
            .account_id
            .as_deref()
            .is_some_and(|a| e.accounts.iter().any(|x| x.as_str() == a))
    {
        return Cover::No;
    }
    if !e.principals.is_empty()
        && !r
            .principal_id
            .as_deref()
            .is_some_and(|p| e.principals.iter().any(|x| x == p))
    {
        return Cover::No;
    }
    result
}

/// Decodes and checks one record of JSON text with the facts it carries (the offline check).
pub fn check_json(policy: &Policy, json: &str, today: Date) -> Result<Evaluation, crate::event::DecodeError> {
    Ok(check(policy, crate::event::decode(json)?, today))
}
