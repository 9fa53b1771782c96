//! From a decoded record to a verdict: what is not acted upon (and why), then every rule the
//! policy enables, then exceptions. Pure: the caller supplies the facts and today's date.

use crate::domain::{
    Actor, Change, ChangeKind, Date, Evaluation, EventVerdict, Excepted, ExpiredException, Facts, Finding,
    IgnoreReason, MissingFact, Mode, Resource, RuleId, Undetermined,
};
use crate::event::{Body, Decoded};
use crate::policy::{Exception, Policy};
use crate::rules::{Verdict, Violation};

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
    // An application's ARN names its instance by id only.
    if let (Some(want), ChangeKind::AccessScope { application_arn, .. }) = (&policy.instance_arn, kind)
        && !application_arn.belongs_to(want)
    {
        return Some(IgnoreReason::OtherInstance {
            instance_arn: format!("the instance {}", application_arn.instance_id()),
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

/// What to do with a change made by one of idc-guard's own roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnChanges {
    /// Ignore it as an echo (offline: nothing tells whether idc-guard really made it).
    Ignore,
    /// Keep it: the guard asks its journal whether it made the change.
    Keep,
}

/// Separates the records idc-guard acts upon from the others: an actionable [`Change`], or the
/// evaluation of an ignored record with its reason.
pub fn actionable(policy: &Policy, decoded: Decoded, own: OwnChanges) -> Result<Change, Box<Evaluation>> {
    let actor = recognise_own_actor(decoded.actor, policy);
    let ignore = |meta, actor, reason| Box::new(Evaluation::ignored(meta, actor, reason));
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
    if let (Actor::Guard { role_name }, OwnChanges::Ignore) = (&actor, own) {
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
    match actionable(policy, decoded, OwnChanges::Ignore) {
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
    for config in policy.rules.iter() {
        let rule = config.rule.doc().id;
        let mode = policy.effective_mode(rule);
        if mode == Mode::Off {
            continue;
        }
        let verdict = config
            .rule
            .evaluate_with(&change, facts, config.settings.as_ref(), policy.baseline(), mode);
        match verdict {
            Verdict::NotApplicable | Verdict::Pass => {}
            Verdict::Undetermined(missing) => undetermined.push(Undetermined {
                rule,
                fact: missing.fact,
                detail: missing.detail,
            }),
            Verdict::Fail(v) => {
                match apply_exceptions(policy, rule, config.rule.shares_exceptions_of(), mode, v, today) {
                    Judged::Finding(f) => findings.push(*f),
                    Judged::Excepted(x) => excepted.push(x),
                    Judged::Undetermined(u) => undetermined.push(u),
                }
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

/// A violation after the exceptions.
enum Judged {
    Finding(Box<Finding>),
    Excepted(Excepted),
    Undetermined(Undetermined),
}

/// Applies the rule's exceptions to a violation: a live exception covering it excepts it, one
/// that may cover it (by a name not known) leaves it undetermined, and an expired one is named
/// on the finding.
fn apply_exceptions(policy: &Policy, rule: RuleId, shared: &[RuleId], mode: Mode, v: Violation, today: Date) -> Judged {
    let applies = |e: &Exception| e.rule == rule || shared.contains(&e.rule);
    let live: Vec<&Exception> = policy
        .exceptions
        .iter()
        .filter(|e| applies(e) && !e.is_expired(today))
        .collect();
    if let Some(e) = live.iter().find(|e| covers(e, &v.resource) == Cover::Yes) {
        return Judged::Excepted(Excepted {
            rule,
            owner: e.owner.clone(),
            reason: e.reason.clone(),
            expires: e.expires.to_string(),
            line: e.line,
        });
    }
    if let Some(e) = live.iter().find(|e| covers(e, &v.resource) == Cover::Unknown) {
        return Judged::Undetermined(Undetermined {
            rule,
            fact: MissingFact::PermissionSetName,
            detail: format!(
                "the exception at line {} (owner {}) covers some permission sets by name",
                e.line, e.owner
            ),
        });
    }
    let expired_exception = policy
        .exceptions
        .iter()
        .filter(|e| applies(e) && e.is_expired(today))
        .find(|e| covers(e, &v.resource) != Cover::No)
        .map(|e| ExpiredException {
            owner: e.owner.clone(),
            reason: e.reason.clone(),
            expired: e.expires.to_string(),
            line: e.line,
        });
    Judged::Finding(Box::new(Finding {
        rule,
        severity: policy.severity(rule),
        mode,
        message: v.message,
        resource: v.resource,
        remediation: v.remediation,
        expired_exception,
    }))
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
            (Some(name), _) if e.permission_sets.iter().any(|p| p.matches(name)) => {}
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
