//! Ending the live role sessions a removal leaves behind (issue #14).
//!
//! Deleting an assignment or a membership stops *new* sessions; role sessions already issued
//! through it stay valid for up to the permission set's session duration, and Identity Center
//! has no API that ends them. AWS's documented answer is a `Deny` keyed on
//! `identitystore:userId` in the set's inline policy, re-provisioned (IAM Identity Center User
//! Guide, "Revoke active IAM role sessions created by permission sets",
//! <https://docs.aws.amazon.com/singlesignon/latest/userguide/useraccess.html#revoke-user-permissions>).
//! After every removal idc-guard makes, this module works out who lost which set in which
//! account and keeps it through nothing else ([`losses`]), writes the narrowest statements for
//! them ([`crate::iam::revocation`]: that user, that account, sessions issued before the
//! removal), re-provisions the set to those accounts and reads it back; and it removes the
//! statements again once the sessions they deny have expired ([`expire`]).
//!
//! A set's inline policy can only be overwritten whole, so every edit is a read-modify-write
//! under the gate's lease on the set ([`crate::ports::Gate::lease`]), verified by a read-back
//! and repeated when someone without the lease wrote in between. Every other statement is kept
//! exactly as written. A document that would exceed the inline-policy quota is not written at
//! all: the report says why.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use backon::{ConstantBuilder, Retryable};

use crate::domain::revocation::SESSION_REVOCATION;
use crate::domain::{
    AccountId, Actor, Change, ChangeKind, Decision, EventMeta, Facts, Finding, InlinePolicyText, InstanceArn, Loss,
    Mode, OutcomeKind, PermissionSetArn, PermissionSetOp, PrincipalType, Removal, Resource, ResourceKind, Revocation,
    RevocationReport, RevocationStatus, SessionDuration, Severity,
};
use crate::iam::PolicyDocument;
use crate::iam::revocation::{MAX_LIFETIME, fits_quota};
use crate::ports::{
    Directory, FailureKind, Gate, IdentityCenter, InstanceInventory, Lease, Ports, Remote, RemoteError,
};

/// What the policy says about revocation: the margin added to a session's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Seconds added to the set's session duration before a statement is removed.
    pub margin: u64,
}

const PUT: &str = "PutInlinePolicyToPermissionSet";
const DELETE: &str = "DeleteInlinePolicyFromPermissionSet";

/// The read-modify-writes on one set's policy that may lose to a writer without the lease
/// before one sticks.
const EDIT_ATTEMPTS: usize = 3;
/// How long to wait for another holder's lease: a few of its read-modify-writes.
const LEASE_WAITS: usize = 120;
const LEASE_PAUSE: Duration = Duration::from_millis(250);

/// Who lost which permission set in which account through `removal`, and keeps it through
/// nothing else, by permission set. Read after the removal: a user who still holds the set in
/// the account (directly, or through any group) loses nothing there.
///
/// # Errors
/// A read failed: nothing can be said about who lost what.
pub async fn losses<I, S>(
    identity_center: &I,
    directory: &S,
    instance: &InstanceArn,
    removal: &Removal,
) -> Remote<BTreeMap<PermissionSetArn, Vec<Loss>>>
where
    I: IdentityCenter + InstanceInventory,
    S: Directory,
{
    let mut lost: BTreeMap<PermissionSetArn, Vec<Loss>> = BTreeMap::new();
    match removal {
        Removal::Assignment(a) => {
            let holders = identity_center
                .account_assignments(instance, &a.account_id, &a.permission_set_arn)
                .await?;
            // The identity store is looked up (ListInstances) only when a group is involved.
            let groups = a.principal_type == PrincipalType::Group
                || holders.iter().any(|(kind, _)| *kind == PrincipalType::Group);
            let store = match groups {
                true => Some(
                    identity_center
                        .identity_store(instance)
                        .await?
                        .ok_or_else(|| no_store(instance))?,
                ),
                false => None,
            };
            let candidates = match (a.principal_type, &store) {
                (PrincipalType::User, _) => vec![a.principal_id.clone()],
                (PrincipalType::Group, store) => {
                    let store = store.as_ref().ok_or_else(|| no_store(instance))?;
                    directory.group_members(store, &a.principal_id).await?
                }
            };
            let kept = users_of(directory, store.as_ref(), instance, holders).await?;
            let losses: Vec<Loss> = candidates
                .into_iter()
                .filter(|u| !kept.contains(u))
                .map(|user| Loss {
                    user,
                    account: a.account_id.clone(),
                })
                .collect();
            if !losses.is_empty() {
                lost.insert(a.permission_set_arn.clone(), losses);
            }
        }
        Removal::Membership {
            identity_store_id,
            group_id,
            user_id,
        } => {
            let held = identity_center
                .principal_assignments(instance, PrincipalType::Group, group_id)
                .await?;
            for (account, set) in held {
                let holders = identity_center.account_assignments(instance, &account, &set).await?;
                let kept = users_of(directory, Some(identity_store_id), instance, holders).await?;
                if !kept.contains(user_id) {
                    lost.entry(set).or_default().push(Loss {
                        user: user_id.clone(),
                        account,
                    });
                }
            }
        }
    }
    Ok(lost)
}

fn no_store(instance: &InstanceArn) -> RemoteError {
    RemoteError::new(
        "ListInstances",
        FailureKind::Unavailable,
        format!("the identity store of {instance} is not known"),
    )
}

/// The users among `holders` (an account's assignments of one set): those assigned directly
/// and the members of the groups assigned.
async fn users_of<S: Directory>(
    directory: &S,
    store: Option<&crate::domain::IdentityStoreId>,
    instance: &InstanceArn,
    holders: Vec<(PrincipalType, String)>,
) -> Remote<BTreeSet<String>> {
    let mut users = BTreeSet::new();
    for (kind, id) in holders {
        match kind {
            PrincipalType::User => {
                users.insert(id);
            }
            PrincipalType::Group => {
                let store = store.ok_or_else(|| no_store(instance))?;
                users.extend(directory.group_members(store, &id).await?);
            }
        }
    }
    Ok(users)
}

/// What a user can use now, by permission set: every account where the set is assigned to them
/// directly or to a group they are a member of (an operator's `idc-guard revoke`). `accounts`
/// and `sets`, when not empty, narrow it.
///
/// # Errors
/// A read failed.
pub async fn access_of<I, S>(
    identity_center: &I,
    directory: &S,
    instance: &InstanceArn,
    store: &crate::domain::IdentityStoreId,
    user: &str,
    accounts: &[AccountId],
    sets: &[PermissionSetArn],
) -> Remote<BTreeMap<PermissionSetArn, Vec<Loss>>>
where
    I: InstanceInventory,
    S: Directory,
{
    let mut held: BTreeSet<(AccountId, PermissionSetArn)> = identity_center
        .principal_assignments(instance, PrincipalType::User, user)
        .await?
        .into_iter()
        .collect();
    for group in directory.groups_of(store, user).await? {
        held.extend(
            identity_center
                .principal_assignments(instance, PrincipalType::Group, &group)
                .await?,
        );
    }
    let mut access: BTreeMap<PermissionSetArn, Vec<Loss>> = BTreeMap::new();
    for (account, set) in held {
        if (accounts.is_empty() || accounts.contains(&account)) && (sets.is_empty() || sets.contains(&set)) {
            access.entry(set).or_default().push(Loss {
                user: user.to_owned(),
                account,
            });
        }
    }
    Ok(access)
}

/// After removals (one correction's, or all of a reconciler run's, made before this call):
/// revokes the sessions they leave behind, or in `detect` mode says what would be revoked. Who
/// lost what is read once every removal is done, and each set is edited once for all of them
/// (one statement per group of users losing the same accounts). One report per set (none when
/// nobody lost anything). A set whose name and session duration `known` holds (read before the
/// removal, to name the finding) is not described again.
pub async fn after_removals<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    removals: &[(Option<&InstanceArn>, &Removal)],
    known: &Facts,
    mode: Mode,
    settings: Settings,
    calls: &mut Vec<&'static str>,
) -> Vec<RevocationReport>
where
    I: IdentityCenter + InstanceInventory,
    S: Directory,
    G: Gate,
{
    let removed_at = ports.gate.now();
    let mut reports = Vec::new();
    let mut lost: BTreeMap<(InstanceArn, PermissionSetArn), BTreeSet<Loss>> = BTreeMap::new();
    for (instance, removal) in removals {
        let instance = match instance {
            Some(instance) => Ok((*instance).clone()),
            None => instance_of(ports.identity_center, removal).await,
        };
        let found = match instance {
            Ok(instance) => losses(ports.identity_center, ports.identity_store, &instance, removal)
                .await
                .map(|lost| (instance, lost)),
            Err(e) => Err(e),
        };
        match found {
            Ok((instance, by_set)) => {
                for (set, losses) in by_set {
                    lost.entry((instance.clone(), set)).or_default().extend(losses);
                }
            }
            Err(e) => reports.push(RevocationReport {
                permission_set_arn: match removal {
                    Removal::Assignment(a) => Some(a.permission_set_arn.clone()),
                    Removal::Membership { .. } => None,
                },
                permission_set_name: None,
                statements: Vec::new(),
                status: RevocationStatus::Failed {
                    reason: format!("who keeps access after the removal could not be read: {e}"),
                },
            }),
        }
    }
    for ((instance, set), losses) in lost {
        let losses: Vec<Loss> = losses.into_iter().collect();
        let summary = known
            .permission_set
            .as_ref()
            .filter(|ps| ps.arn == set)
            .and_then(|ps| Some((ps.name.known()?.clone(), ps.session_duration.known()?.clone())));
        let removal = Terms {
            removed_at,
            mode,
            settings,
        };
        reports.push(revoke_known(ports, &instance, &set, &losses, removal, summary, calls).await);
    }
    reports
}

/// The instance whose identity store a membership removal was in (ListInstances).
async fn instance_of<I: InstanceInventory>(identity_center: &I, removal: &Removal) -> Remote<InstanceArn> {
    let store = match removal {
        Removal::Assignment(a) => return Ok(a.instance_arn.clone()),
        Removal::Membership { identity_store_id, .. } => identity_store_id,
    };
    identity_center
        .instances()
        .await?
        .into_iter()
        .find(|i| i.identity_store_id == *store)
        .map(|i| i.instance_arn)
        .ok_or_else(|| {
            RemoteError::new(
                "ListInstances",
                FailureKind::NotFound,
                format!("no Identity Center instance uses the identity store {store}"),
            )
        })
}

/// Revokes, in one set, the sessions of `losses` issued up to `removed_at` (epoch seconds, as
/// the clock reads it: truncated).
#[allow(clippy::too_many_arguments)]
pub async fn revoke<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    instance: &InstanceArn,
    set: &PermissionSetArn,
    losses: &[Loss],
    removed_at: u64,
    mode: Mode,
    settings: Settings,
    calls: &mut Vec<&'static str>,
) -> RevocationReport
where
    I: IdentityCenter,
    G: Gate,
{
    let removal = Terms {
        removed_at,
        mode,
        settings,
    };
    revoke_known(ports, instance, set, losses, removal, None, calls).await
}

/// The terms of a revocation: when the removal was, the mode, the policy's settings.
#[derive(Debug, Clone, Copy)]
struct Terms {
    removed_at: u64,
    mode: Mode,
    settings: Settings,
}

/// [`revoke`], with the set's name and session duration when they are already known (`None`:
/// DescribePermissionSet).
async fn revoke_known<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    instance: &InstanceArn,
    set: &PermissionSetArn,
    losses: &[Loss],
    removal: Terms,
    summary: Option<(String, SessionDuration)>,
    calls: &mut Vec<&'static str>,
) -> RevocationReport
where
    I: IdentityCenter,
    G: Gate,
{
    let (removed_at, mode, settings) = (removal.removed_at, removal.mode, removal.settings);
    let failed = |name: Option<String>, statements: Vec<Revocation>, reason: String| RevocationReport {
        permission_set_arn: Some(set.clone()),
        permission_set_name: name,
        statements,
        status: RevocationStatus::Failed { reason },
    };
    let summary = match summary {
        Some(summary) => Ok(Some(summary)),
        None => ports.identity_center.permission_set_summary(instance, set).await,
    };
    let (name, duration) = match summary {
        Ok(Some(summary)) => summary,
        Ok(None) => return failed(None, Vec::new(), "the permission set no longer exists".to_owned()),
        Err(e) => return failed(None, Vec::new(), format!("the permission set could not be read: {e}")),
    };
    // `aws:TokenIssueTime` is finer than the clock's whole seconds: a session issued in the
    // removal's second, before it, must be denied too, so the statement denies up to the end of
    // that second. (A session issued in that second after the removal, through access the user
    // keeps, is denied as well: at most one second of new sessions, the safe side.)
    let issued_before = removed_at.saturating_add(1);
    // A session issued just before the removal lives its full duration: the statement must
    // outlive it, by the margin, and never by more than the longest session plus the margin.
    let lifetime = duration.seconds().saturating_add(settings.margin).min(MAX_LIFETIME);
    let until = issued_before.saturating_add(lifetime);
    if mode != Mode::Enforce {
        let planned = Revocation::plan(losses, issued_before, until, &BTreeSet::new());
        return RevocationReport {
            permission_set_arn: Some(set.clone()),
            permission_set_name: Some(name),
            statements: planned,
            status: RevocationStatus::WouldRevoke,
        };
    }
    let now = ports.gate.now();
    let edited = edit_policy(ports, instance, set, calls, |doc| {
        let existing: Vec<Revocation> = doc
            .map(PolicyDocument::revocations)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        // Already covered (a duplicate delivery, a retry): nothing more to deny.
        let new: Vec<Loss> = losses
            .iter()
            .filter(|l| {
                !existing
                    .iter()
                    .any(|r| !r.expired(now) && r.covers(l, issued_before, until))
            })
            .cloned()
            .collect();
        let taken: BTreeSet<String> = existing.iter().map(|r| r.sid.clone()).collect();
        let added = Revocation::plan(&new, issued_before, until, &taken);
        // Expired statements go; so do those the new ones supersede (every user and account
        // they name denied as long, from a later time), so that repeated removals of the same
        // access do not pile statements up toward the quota.
        let superseded = |r: &Revocation| {
            r.users.iter().all(|user| {
                r.accounts.iter().all(|account| {
                    let loss = Loss {
                        user: user.clone(),
                        account: account.clone(),
                    };
                    added.iter().any(|a| a.covers(&loss, r.issued_before, r.until))
                })
            })
        };
        let expired: Vec<Revocation> = existing
            .iter()
            .filter(|r| r.expired(now) || superseded(r))
            .cloned()
            .collect();
        Edit {
            added,
            expired,
            ..Edit::default()
        }
    })
    .await;
    let change = match edited {
        Ok(change) => change,
        Err(e) => {
            let planned = Revocation::plan(losses, issued_before, until, &BTreeSet::new());
            return failed(Some(name), planned, e.to_string());
        }
    };
    let report = |status| RevocationReport {
        permission_set_arn: Some(set.clone()),
        permission_set_name: Some(name.clone()),
        statements: change.added.clone(),
        status,
    };
    match provision(ports, instance, set, &change, calls).await {
        Ok(()) => {
            note(ports.gate, set, change.remaining).await;
            report(RevocationStatus::Revoked)
        }
        Err(e) => report(RevocationStatus::Failed {
            reason: format!(
                "the statements are in the inline policy, but provisioning it failed ({e}): the sessions are not \
                 denied until the set is provisioned to those accounts"
            ),
        }),
    }
}

/// Removes the expired revocations of one set and re-provisions the accounts they named;
/// `None` when none had expired.
pub async fn expire<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    instance: &InstanceArn,
    set: &PermissionSetArn,
    calls: &mut Vec<&'static str>,
) -> Option<RevocationReport>
where
    I: IdentityCenter,
    G: Gate,
{
    lift(ports, instance, set, calls, RevocationStatus::Expired, &|r, now| {
        r.expired(now)
    })
    .await
}

/// Removes the revocations of one set that `chosen` selects (at `now`) and re-provisions the
/// accounts they named; `status` says why. `None` when none was chosen.
pub async fn lift<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    instance: &InstanceArn,
    set: &PermissionSetArn,
    calls: &mut Vec<&'static str>,
    status: RevocationStatus,
    chosen: &(dyn Fn(&Revocation, u64) -> bool + Sync),
) -> Option<RevocationReport>
where
    I: IdentityCenter,
    G: Gate,
{
    let now = ports.gate.now();
    let edited = edit_policy(ports, instance, set, calls, |doc| {
        let existing = doc.map(PolicyDocument::revocations).unwrap_or_default();
        Edit {
            expired: existing
                .into_iter()
                .map(|(_, r)| r)
                .filter(|r| chosen(r, now))
                .collect(),
            ..Edit::default()
        }
    })
    .await;
    let report = |statements, status| {
        Some(RevocationReport {
            permission_set_arn: Some(set.clone()),
            permission_set_name: None,
            statements,
            status,
        })
    };
    match edited {
        Ok(change) if change.expired.is_empty() => {
            // Nothing to remove: the note may still be stale (statements removed by others).
            note(ports.gate, set, change.remaining).await;
            None
        }
        Ok(change) => match provision(ports, instance, set, &change, calls).await {
            Ok(()) => {
                note(ports.gate, set, change.remaining).await;
                report(change.expired, status)
            }
            Err(e) => report(
                change.expired,
                RevocationStatus::Failed {
                    reason: format!("the statements were removed, but provisioning the set failed: {e}"),
                },
            ),
        },
        Err(e) => report(Vec::new(), RevocationStatus::Failed { reason: e.to_string() }),
    }
}

/// Removes the statements `removed` (JSON texts, as an inline-policy correction planned them)
/// from a set's inline policy, under the same lease as the revocations and keeping them and
/// every other statement as written: read again at execution, so a revocation added since the
/// plan is not lost. The policy is deleted when nothing remains. Statements no longer there
/// need nothing.
///
/// # Errors
/// The policy could not be read, edited or written.
pub async fn remove_statements<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    instance: &InstanceArn,
    set: &PermissionSetArn,
    removed: &[String],
    calls: &mut Vec<&'static str>,
) -> Remote<()>
where
    I: IdentityCenter,
    G: Gate,
{
    let removed: Vec<serde_json::Value> = removed.iter().filter_map(|t| serde_json::from_str(t).ok()).collect();
    edit_policy(ports, instance, set, calls, |doc| Edit {
        statements_removed: doc
            .map(|d| {
                d.statements
                    .iter()
                    .filter(|s| removed.contains(&s.raw))
                    .map(|s| s.raw.clone())
                    .collect()
            })
            .unwrap_or_default(),
        ..Edit::default()
    })
    .await
    .map(drop)
}

/// Removes the expired revocations of every set noted as holding some that are due, and of
/// `also` (sets a full read found with expired ones, in case a note was lost). Run by the
/// reconciler on its schedule and by the frequent sweep (`{"task": "expire-revocations"}`).
///
/// # Errors
/// The notes could not be read (the sets in `also` are still swept).
pub async fn sweep<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    instance: &InstanceArn,
    also: &[PermissionSetArn],
    calls: &mut Vec<&'static str>,
) -> (Vec<RevocationReport>, Option<RemoteError>)
where
    I: IdentityCenter,
    G: Gate,
{
    let now = ports.gate.now();
    let (noted, error) = match ports.gate.noted_revocations().await {
        Ok(noted) => (noted, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let due: BTreeSet<PermissionSetArn> = noted
        .into_iter()
        .filter(|(_, until)| *until <= now)
        .filter_map(|(set, _)| PermissionSetArn::parse(&set).ok())
        .chain(also.iter().cloned())
        .collect();
    let mut reports = Vec::new();
    for set in due {
        reports.extend(expire(ports, instance, &set, calls).await);
    }
    (reports, error)
}

/// An operator's request to end a user's live sessions (`idc-guard revoke`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The identity store user id.
    pub user_id: String,
    /// How the operator named the user (for the reports).
    pub user: String,
    /// Who asks.
    pub by: String,
    /// Why.
    pub reason: String,
    /// A unique id of the request (the gate's idempotency claim).
    pub id: String,
}

impl Request {
    /// The change and finding the gate decides on for one set: the request, by the operator,
    /// counted per (set, user) like a correction.
    fn decision(&self, instance: &InstanceArn, set: &PermissionSetArn, mode: Mode, now: u64) -> (Change, Finding) {
        let change = Change {
            meta: EventMeta {
                event_id: self.id.clone(),
                shared_event_id: None,
                envelope_id: None,
                event_name: "RevokeSessions".to_owned(),
                event_source: "idc-guard".to_owned(),
                source: None,
                event_time: crate::domain::time::utc(now),
                region: String::new(),
                account: String::new(),
                request_id: None,
                console: false,
                operation: None,
            },
            actor: Actor::Unknown {
                identity_type: format!("operator {}", self.by),
            },
            kind: ChangeKind::PermissionSet {
                instance_arn: instance.clone(),
                permission_set_arn: set.clone(),
                // What a revocation does to the set.
                op: PermissionSetOp::InlinePolicyPut {
                    policy: InlinePolicyText::Redacted,
                },
            },
        };
        let mut resource = Resource::new(ResourceKind::PermissionSet, set.as_str());
        resource.permission_set_arn = Some(set.to_string());
        resource.principal_id = Some(self.user_id.clone());
        let finding = Finding {
            rule: SESSION_REVOCATION,
            severity: Severity::High,
            mode,
            message: format!(
                "{} asked to revoke the live sessions of {}: {}",
                self.by, self.user, self.reason
            ),
            resource,
            remediation: Vec::new(),
            expired_exception: None,
        };
        (change, finding)
    }
}

/// Revokes, on request, the sessions of `access` (from [`access_of`]): each set through the gate
/// (kill switch, the global mode, breaker, flap limit, as a correction). With `apply` false,
/// only what would be revoked (reads only).
#[allow(clippy::too_many_arguments)]
pub async fn on_request<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    instance: &InstanceArn,
    access: &BTreeMap<PermissionSetArn, Vec<Loss>>,
    request: &Request,
    apply: bool,
    mode: Mode,
    settings: Settings,
    calls: &mut Vec<&'static str>,
) -> Vec<RevocationReport>
where
    I: IdentityCenter,
    G: Gate,
{
    let now = ports.gate.now();
    let mut reports = Vec::new();
    for (set, losses) in access {
        if !apply {
            reports.push(revoke(ports, instance, set, losses, now, Mode::Detect, settings, calls).await);
            continue;
        }
        let (change, finding) = request.decision(instance, set, mode, now);
        let reason = match ports.gate.decide(&change, &finding).await {
            Decision::Allow => None,
            Decision::Duplicate(_) => continue,
            Decision::Withhold(reason) | Decision::Quarantine(reason) | Decision::OpenBreaker(reason) => Some(reason),
        };
        let report = match reason {
            None => revoke(ports, instance, set, losses, now, Mode::Enforce, settings, calls).await,
            Some(reason) => {
                let mut planned = revoke(ports, instance, set, losses, now, Mode::Detect, settings, calls).await;
                planned.status = RevocationStatus::Withheld { reason };
                planned
            }
        };
        let kind = match &report.status {
            RevocationStatus::Failed { reason } => OutcomeKind::Failed { error: reason.clone() },
            RevocationStatus::Withheld { reason } => OutcomeKind::Withheld { reason: reason.clone() },
            _ => OutcomeKind::Remediated,
        };
        ports.gate.settle(&change, &finding, &kind).await;
        reports.push(report);
    }
    reports
}

/// Ends the active revocation `sid` early, on request, through the gate; with `apply` false,
/// only says what would be lifted. `Ok(None)`: no active revocation has that `Sid`.
///
/// # Errors
/// The active revocations could not be read.
pub async fn lift_on_request<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    instance: &InstanceArn,
    sid: &str,
    request: &Request,
    apply: bool,
    calls: &mut Vec<&'static str>,
) -> Remote<Option<RevocationReport>>
where
    I: IdentityCenter,
    G: Gate,
{
    let Some((set, revocation)) = active(ports, instance).await?.into_iter().find(|(_, r)| r.sid == sid) else {
        return Ok(None);
    };
    let planned = |status| RevocationReport {
        permission_set_arn: Some(set.clone()),
        permission_set_name: None,
        statements: vec![revocation.clone()],
        status,
    };
    if !apply {
        return Ok(Some(planned(RevocationStatus::WouldRevoke)));
    }
    let (change, finding) = request.decision(instance, &set, Mode::Enforce, ports.gate.now());
    match ports.gate.decide(&change, &finding).await {
        Decision::Allow => {}
        Decision::Duplicate(_) => return Ok(None),
        Decision::Withhold(reason) | Decision::Quarantine(reason) | Decision::OpenBreaker(reason) => {
            return Ok(Some(planned(RevocationStatus::Withheld { reason })));
        }
    }
    let lifted = lift(ports, instance, &set, calls, RevocationStatus::Lifted, &|r, _| {
        r.sid == sid
    })
    .await;
    let kind = match lifted.as_ref().map(|r| &r.status) {
        Some(RevocationStatus::Failed { reason }) => OutcomeKind::Failed { error: reason.clone() },
        _ => OutcomeKind::Remediated,
    };
    ports.gate.settle(&change, &finding, &kind).await;
    Ok(lifted)
}

/// The active revocations of the sets noted as holding some, with their sets.
///
/// # Errors
/// The notes, or a set's inline policy, could not be read.
pub async fn active<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    instance: &InstanceArn,
) -> Remote<Vec<(PermissionSetArn, Revocation)>>
where
    I: IdentityCenter,
    G: Gate,
{
    let now = ports.gate.now();
    let mut out = Vec::new();
    for (set, _) in ports.gate.noted_revocations().await? {
        let Ok(set) = PermissionSetArn::parse(&set) else {
            continue;
        };
        if let Some(doc) = read_document(ports.identity_center, instance, &set).await? {
            out.extend(
                doc.revocations()
                    .into_iter()
                    .map(|(_, r)| r)
                    .filter(|r| !r.expired(now))
                    .map(|r| (set.clone(), r)),
            );
        }
    }
    Ok(out)
}

/// What an edit of a set's revocations does.
#[derive(Debug, Clone, Default)]
struct Edit {
    /// Statements added.
    added: Vec<Revocation>,
    /// Statements removed (expired, superseded or lifted).
    expired: Vec<Revocation>,
    /// Other statements removed (an inline-policy correction), as parsed JSON.
    statements_removed: Vec<serde_json::Value>,
    /// Until when the revocations left after the edit last (`None`: none left).
    remaining: Option<u64>,
}

impl Edit {
    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.expired.is_empty() && self.statements_removed.is_empty()
    }

    /// The accounts whose roles must be provisioned again.
    fn accounts(&self) -> BTreeSet<AccountId> {
        self.added
            .iter()
            .chain(&self.expired)
            .flat_map(|r| r.accounts.iter().cloned())
            .collect()
    }
}

/// The read-modify-write of a set's inline policy under the gate's lease: `plan` says, from the
/// current document, what to add and remove; the result is written (or the policy deleted, when
/// nothing else remains), read back, and done again if someone without the lease wrote in
/// between. Every other statement is kept as written.
async fn edit_policy<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    instance: &InstanceArn,
    set: &PermissionSetArn,
    calls: &mut Vec<&'static str>,
    plan: impl Fn(Option<&PolicyDocument>) -> Edit,
) -> Remote<Edit>
where
    I: IdentityCenter,
    G: Gate,
{
    let lease = take_lease(ports.gate, set.as_str()).await?;
    let mut outcome = Err(RemoteError::new(
        PUT,
        FailureKind::Conflict,
        "the inline policy kept changing under idc-guard's edits",
    ));
    for _ in 0..EDIT_ATTEMPTS {
        match edit_once(ports, instance, set, calls, &plan).await {
            Ok(Some(change)) => {
                outcome = Ok(change);
                break;
            }
            // Someone wrote without the lease: read again.
            Ok(None) => {}
            Err(reason) => {
                outcome = Err(reason);
                break;
            }
        }
    }
    ports.gate.release(&lease).await;
    outcome
}

/// One read-modify-write; `Ok(None)` when the read-back shows another writer's document.
async fn edit_once<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    instance: &InstanceArn,
    set: &PermissionSetArn,
    calls: &mut Vec<&'static str>,
    plan: &impl Fn(Option<&PolicyDocument>) -> Edit,
) -> Remote<Option<Edit>>
where
    I: IdentityCenter,
    G: Gate,
{
    let ic = ports.identity_center;
    let doc = read_document(ic, instance, set).await?;
    let mut change = plan(doc.as_ref());
    let kept = doc
        .as_ref()
        .map(PolicyDocument::revocations)
        .unwrap_or_default()
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| !change.expired.iter().any(|x| x.sid == r.sid));
    change.remaining = kept.chain(change.added.iter().cloned()).map(|r| r.until).max();
    if change.is_empty() {
        return Ok(Some(change));
    }
    let removed: BTreeSet<&str> = change.expired.iter().map(|r| r.sid.as_str()).collect();
    let added: Vec<String> = change.added.iter().map(Revocation::statement).collect();
    let drop = |s: &crate::iam::Statement| {
        Revocation::from_statement(&s.raw).is_some_and(|r| removed.contains(r.sid.as_str()))
            || change.statements_removed.contains(&s.raw)
    };
    let text = match &doc {
        Some(doc) => doc.edited(drop, &added),
        None => Some(PolicyDocument::text_of(&added)),
    };
    // `None`: no statement remains (a set that had no inline policy loses the one it got).
    if let Some(t) = &text {
        fits_quota(t)
            .map_err(|why| RemoteError::new(PUT, FailureKind::Rejected, format!("nothing was written: {why}")))?;
    }
    match &text {
        Some(t) => {
            ports.journal(calls, PUT, set.as_str()).await?;
            ic.put_inline_policy(instance, set, t).await?;
        }
        None => {
            ports.journal(calls, DELETE, set.as_str()).await?;
            match ic.delete_inline_policy(instance, set).await {
                Err(e) if e.kind == FailureKind::NotFound => {}
                other => other?,
            }
        }
    }
    let after = read_document(ic, instance, set).await?;
    let same = match (&text, &after) {
        (None, None) => true,
        (Some(t), Some(after)) => same_json(t, &after_text(after)),
        _ => false,
    };
    Ok(same.then_some(change))
}

/// The set's inline policy, parsed; `None` when it has none. One that cannot be parsed is
/// never overwritten.
async fn read_document<I: IdentityCenter>(
    ic: &I,
    instance: &InstanceArn,
    set: &PermissionSetArn,
) -> Remote<Option<PolicyDocument>> {
    const GET: &str = "GetInlinePolicyForPermissionSet";
    match ic.inline_policy(instance, set).await? {
        None => Ok(None),
        Some(InlinePolicyText::Text(text)) => PolicyDocument::parse(&text).map(Some).map_err(|e| {
            RemoteError::new(
                GET,
                FailureKind::Rejected,
                format!("the inline policy cannot be parsed ({e}), so it is not changed"),
            )
        }),
        Some(_) => Err(RemoteError::new(
            GET,
            FailureKind::Unavailable,
            "the inline policy could not be read whole, so it is not changed",
        )),
    }
}

/// A parsed document's text as it reads back (its statements, rebuilt).
fn after_text(doc: &PolicyDocument) -> String {
    doc.edited(|_| false, &[]).unwrap_or_default()
}

/// Whether two JSON texts hold the same value (AWS may store a document reformatted).
fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Waits for the lease on `resource`, within a bound.
async fn take_lease<G: Gate>(gate: &G, resource: &str) -> Remote<Lease> {
    let attempt = || async {
        match gate.lease(resource).await {
            Ok(Some(lease)) => Ok(lease),
            Ok(None) => Err(None),
            Err(e) => Err(Some(e)),
        }
    };
    let schedule = ConstantBuilder::default()
        .with_delay(LEASE_PAUSE)
        .with_max_times(LEASE_WAITS)
        .with_jitter();
    attempt
        .retry(schedule)
        .sleep(tokio::time::sleep)
        .when(Option::is_none)
        .await
        .map_err(|e| {
            e.unwrap_or_else(|| {
                RemoteError::new(
                    PUT,
                    FailureKind::Conflict,
                    "another edit of the inline policy held its lease for too long",
                )
            })
        })
}

/// Provisions the set to every account an edit touched, each polled to SUCCEEDED.
async fn provision<I, S, G>(
    ports: &Ports<'_, I, S, G>,
    instance: &InstanceArn,
    set: &PermissionSetArn,
    change: &Edit,
    calls: &mut Vec<&'static str>,
) -> Remote<()>
where
    I: IdentityCenter,
    G: Gate,
{
    for account in change.accounts() {
        ports.journal(calls, "ProvisionPermissionSet", set.as_str()).await?;
        ports
            .identity_center
            .provision_to_account(instance, set, &account)
            .await?;
    }
    Ok(())
}

/// Tells the gate until when the set holds revocations, for the sweep (a failure is logged:
/// the reconciler's full read still finds them).
async fn note<G: Gate>(gate: &G, set: &PermissionSetArn, until: Option<u64>) {
    if let Err(e) = gate.note_revocations(set.as_str(), until).await {
        tracing::warn!(error = %e, set = %set, "could not note the revocations for the sweep");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_compared_as_values() {
        assert!(same_json(r#"{"a":[1,2],"b":"x"}"#, r#"{ "b" : "x", "a" : [1, 2] }"#));
        assert!(!same_json(r#"{"a":[1,2]}"#, r#"{"a":[2,1]}"#));
        assert!(!same_json("{", "{"));
    }

    #[test]
    fn a_change_provisions_every_account_it_names() {
        let account = |n: u64| AccountId::parse(&format!("{n:012}")).unwrap_or_else(|e| panic!("{e}"));
        let r = |accounts: Vec<AccountId>| Revocation {
            sid: "IdcGuardRevoke20261205T152000Z1".to_owned(),
            users: vec!["u".to_owned()],
            accounts,
            issued_before: 0,
            until: 1,
        };
        let change = Edit {
            added: vec![r(vec![account(1), account(2)])],
            expired: vec![r(vec![account(2), account(3)])],
            ..Edit::default()
        };
        assert_eq!(change.accounts(), [account(1), account(2), account(3)].into());
        assert!(Edit::default().is_empty());
    }
}
