//! The guard's live reads: what the rules need about the resource a change names, and the
//! owner tag and name a notification routes by. A read that fails retryably fails the
//! invocation (Lambda retries); one that fails otherwise leaves the fact unknown.

use super::{Guard, GuardError};
use crate::domain::{
    Change, ChangeKind, Entitlement, Fact, Facts, Finding, IdentityOp, PermissionSetArn, PermissionSetFacts, RuleId,
    Scope,
};
use crate::ports::{Gate, IdentityCenter, IdentityStore, MembershipRef, Notifier, RemoteError};

/// A read's value as a fact: known, or unknown when it failed for good; a retryable failure is
/// the invocation's error.
pub(super) fn retryable_or_unknown<T>(r: Result<T, RemoteError>) -> Result<Fact<T>, GuardError> {
    match r {
        Ok(v) => Ok(Fact::Known(v)),
        Err(e) if e.kind.is_retryable() => Err(GuardError::Retryable(e)),
        // Not retryable (e.g. AccessDenied): the fact stays unknown and nothing is changed.
        Err(_) => Ok(Fact::Unknown),
    }
}

impl<I: IdentityCenter, S: IdentityStore, N: Notifier, G: Gate> Guard<I, S, N, G> {
    /// The name of the finding's permission set, if it can be read.
    pub(super) async fn permission_set_name_of(&self, change: &Change, finding: &Finding) -> Option<String> {
        let instance = change.kind.instance_arn()?;
        let permission_set = PermissionSetArn::parse(finding.resource.permission_set_arn.as_deref()?).ok()?;
        if let Some(name) = self.names.get(permission_set.as_str()) {
            return Some(name);
        }
        match self
            .identity_center
            .permission_set_name(instance, &permission_set)
            .await
        {
            Ok(name) => {
                if let Some(name) = &name {
                    self.names.insert(permission_set.as_str(), name);
                }
                name
            }
            Err(e) => {
                tracing::warn!(error = %e, permission_set = %permission_set.as_str(), "could not read the permission set's name");
                None
            }
        }
    }

    /// The value of the owner tag on the finding's permission set, if it has one.
    pub(super) async fn owner_tag(&self, change: &Change, finding: &Finding) -> Option<String> {
        let instance = change.kind.instance_arn()?;
        let permission_set = PermissionSetArn::parse(finding.resource.permission_set_arn.as_deref()?).ok()?;
        let key = &self.policy.owners.tag_key;
        match self
            .identity_center
            .permission_set_tag(instance, &permission_set, key)
            .await
        {
            Ok(value) => value.filter(|v| !v.trim().is_empty()),
            Err(e) => {
                tracing::warn!(error = %e, permission_set = %permission_set.as_str(), "could not read the owner tag: routing by policy");
                None
            }
        }
    }

    /// Reads what the rules need about the changed resource, live.
    pub(super) async fn live_facts(&self, change: &Change) -> Result<Facts, GuardError> {
        let mut facts = Facts {
            scope: Scope::Resource,
            ..Facts::default()
        };
        let ic = &self.identity_center;
        match &change.kind {
            ChangeKind::AssignmentCreated(a) => {
                facts.assignment_exists = retryable_or_unknown(ic.assignment_exists(a).await)?;
                let mut ps = PermissionSetFacts::unknown(a.permission_set_arn.clone());
                // The name is read only when an exception could depend on it: the common case
                // stays at one read before the delete.
                if self.name_matters(crate::rules::assignment_principal_type::ID)
                    && let Fact::Known(Some((name, duration))) =
                        retryable_or_unknown(ic.permission_set_summary(&a.instance_arn, &a.permission_set_arn).await)?
                {
                    ps.name = Fact::Known(name);
                    ps.session_duration = Fact::Known(duration);
                }
                facts.permission_set = Some(ps);
            }
            ChangeKind::PermissionSet {
                instance_arn,
                permission_set_arn,
                ..
            } => match retryable_or_unknown(ic.permission_set(instance_arn, permission_set_arn).await)? {
                Fact::Known(Some(ps)) => facts.permission_set = Some(ps),
                // Gone: no rule has anything left to judge.
                Fact::Known(None) => {}
                Fact::Unknown => facts.permission_set = Some(PermissionSetFacts::unknown(permission_set_arn.clone())),
            },
            ChangeKind::AccessControlAttributes { instance_arn, .. } => {
                facts.access_control_attributes =
                    retryable_or_unknown(ic.access_control_attributes(instance_arn).await)?;
            }
            ChangeKind::Identity {
                identity_store_id: Some(store),
                op:
                    IdentityOp::MemberAdded {
                        group_id,
                        member_id,
                        membership_id,
                    },
            } => {
                let membership = MembershipRef {
                    identity_store_id: store.clone(),
                    membership_id: membership_id.clone(),
                    group_id: group_id.clone(),
                    member_id: member_id.clone(),
                };
                facts.membership = retryable_or_unknown(self.identity_store.membership_id(&membership).await)?;
            }
            ChangeKind::EntitlementCreated(created) => {
                facts.entitlement = retryable_or_unknown(self.live_entitlement(created).await)?;
            }
            ChangeKind::AccessScope {
                application_arn, scope, ..
            } => {
                facts.access_scope = retryable_or_unknown(ic.access_scope(application_arn, scope).await)?;
                // The name only matters (for the allow-list and the message) while the scope is held.
                if matches!(facts.access_scope, Fact::Known(Some(_))) {
                    facts.application_name = retryable_or_unknown(ic.application_name(application_arn).await)?;
                }
            }
            // SCIM health signals are judged on what the state records (`scim.rs`), not read here.
            ChangeKind::EntitlementDeleted { .. }
            | ChangeKind::AssignmentDeleted(_)
            | ChangeKind::Tags { .. }
            | ChangeKind::Identity { .. }
            | ChangeKind::Scim(_) => {}
        }
        Ok(facts)
    }

    /// Adds the names people know an assignment by (the permission set's name, the principal's
    /// user or display name), for the findings' messages. Read only once a finding exists; a
    /// failed read leaves the ids (names never decide a verdict). `true` when anything was added.
    pub(super) async fn name_assignment(&self, change: &Change, facts: &mut Facts) -> bool {
        if let ChangeKind::EntitlementCreated(e) = &change.kind {
            return self.name_entitlement(e, facts).await;
        }
        let (ChangeKind::AssignmentCreated(a) | ChangeKind::AssignmentDeleted(a)) = &change.kind else {
            return false;
        };
        let ic = &self.identity_center;
        let mut added = false;
        // One DescribePermissionSet gives the name and the session duration; the duration is
        // kept for the revocation that follows a removal (issue #14), so it is not read again.
        if let Some(ps) = facts.permission_set.as_mut()
            && ps.name == Fact::Unknown
            && let Ok(Some((name, duration))) = ic.permission_set_summary(&a.instance_arn, &a.permission_set_arn).await
        {
            ps.name = Fact::Known(name);
            ps.session_duration = Fact::Known(duration);
            added = true;
        }
        let store = match &self.policy.identity_store_id {
            Some(store) => Some(store.clone()),
            None => ic.identity_store(&a.instance_arn).await.ok().flatten(),
        };
        if let Some(store) = store {
            match self
                .identity_store
                .principal(&store, a.principal_type, &a.principal_id)
                .await
            {
                Ok(names) => {
                    added |= names.is_some();
                    facts.principal = Fact::Known(names);
                }
                Err(e) => {
                    tracing::warn!(error = %e, principal = %a.principal_id, "could not read the principal's name")
                }
            }
        }
        added
    }

    /// The entitlement a creation made, as it is now: by its id when the record carried one,
    /// else the one entitlement granting the same principal, role and account (entitlements
    /// are immutable, and CreateEntitlement is idempotent: there is at most one).
    async fn live_entitlement(&self, created: &Entitlement) -> Result<Option<Entitlement>, RemoteError> {
        let ic = &self.identity_center;
        match &created.entitlement_id {
            Some(id) => ic.entitlement(&created.application_arn, id).await,
            None => Ok(ic
                .entitlements(&created.application_arn, Some(created))
                .await?
                .into_iter()
                .find(|e| e.same_grant(created))),
        }
    }

    /// The name of an entitlement's principal, from the policy's identity store (an
    /// entitlement names no instance).
    async fn name_entitlement(&self, e: &Entitlement, facts: &mut Facts) -> bool {
        let Some(store) = &self.policy.identity_store_id else {
            return false;
        };
        match self
            .identity_store
            .principal(store, e.principal_type, &e.principal_id)
            .await
        {
            Ok(names) => {
                let added = names.is_some();
                facts.principal = Fact::Known(names);
                added
            }
            Err(err) => {
                tracing::warn!(error = %err, principal = %e.principal_id, "could not read the principal's name");
                false
            }
        }
    }

    fn name_matters(&self, rule: RuleId) -> bool {
        self.policy
            .exceptions
            .iter()
            .any(|e| e.rule == rule && !e.permission_sets.is_empty())
    }

    /// The live facts of a change, plus, for the reconciler (`desired` given), whether the
    /// assignment exists (also for a missing one) and what the desired file says about it.
    pub(super) async fn facts_for(
        &self,
        change: &Change,
        desired: Option<&crate::domain::DesiredFact>,
    ) -> Result<Facts, GuardError> {
        let mut facts = self.live_facts(change).await?;
        if let Some(desired) = desired {
            if let ChangeKind::AssignmentDeleted(a) = &change.kind {
                facts.assignment_exists = retryable_or_unknown(self.identity_center.assignment_exists(a).await)?;
                facts.permission_set = Some(PermissionSetFacts::unknown(a.permission_set_arn.clone()));
            }
            facts.desired = Some(desired.clone());
        }
        Ok(facts)
    }
}
