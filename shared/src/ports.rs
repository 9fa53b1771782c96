//! Ports: what the remediation engine needs from the outside world, in domain terms.
//!
//! Adapters (`crate::adapters`) implement them with the AWS SDK; nothing here names an SDK type.
//! Every write that AWS performs asynchronously (assignment deletion, provisioning, ABAC
//! creation) returns only once its status is SUCCEEDED, or with an error.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use crate::domain::{
    AbacAttribute, AccessApplicationArn, AccountId, ApplicationArn, Assignment, Boundary, Change,
    CustomerManagedPolicyRef, Decision, Entitlement, EntitlementId, Finding, IdentityStoreId, InlinePolicyText,
    InstanceArn, LastUse, Notice, OperationKind, OperationState, OperationStatus, Outcome, OutcomeKind,
    PermissionSetArn, PermissionSetFacts, PrincipalNames, PrincipalType, SessionDuration,
};

/// How a call to AWS failed, classified for the retry and reporting decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// ThrottlingException or a transient server error: retry with backoff.
    Throttled,
    /// ConflictException: a concurrent write has not propagated yet; retry with backoff.
    Conflict,
    /// ResourceNotFoundException.
    NotFound,
    /// AccessDeniedException: the delegated admin may not touch this (e.g. the management account).
    AccessDenied,
    /// ValidationException or another client error: retrying will not help.
    Rejected,
    /// An asynchronous operation ended FAILED.
    AsyncFailed,
    /// An asynchronous operation did not finish within the polling budget.
    Timeout,
    /// Network, dispatch or unexpected answers.
    Unavailable,
}

impl FailureKind {
    /// Whether retrying the same call may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::Throttled | Self::Conflict | Self::Unavailable | Self::Timeout | Self::AsyncFailed
        )
    }
}

/// The underlying error of a [`RemoteError`] (the SDK's, the HTTP client's), shared so the
/// error stays cheap to clone.
pub type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// A failed call to AWS (or to another remote service, such as a webhook).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} failed ({kind:?}): {message}")]
pub struct RemoteError {
    /// The operation, e.g. `DeleteAccountAssignment`.
    pub operation: &'static str,
    /// The classification.
    pub kind: FailureKind,
    /// The service's message (never credentials or webhook URLs).
    pub message: String,
    /// The underlying error, for logs and error chains (`None` for failures idc-guard itself
    /// decided on, such as an exhausted polling budget).
    #[source]
    pub source: Option<Source>,
}

impl RemoteError {
    /// A failure without an underlying error.
    pub fn new(operation: &'static str, kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            operation,
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The same failure, caused by `source`.
    #[must_use]
    pub fn caused_by(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }
}

/// Two failures are equal when they say the same (the underlying error is not compared).
impl PartialEq for RemoteError {
    fn eq(&self, other: &Self) -> bool {
        self.operation == other.operation && self.kind == other.kind && self.message == other.message
    }
}

impl Eq for RemoteError {}

/// Result of a port call.
pub type Remote<T> = Result<T, RemoteError>;

/// IAM Identity Center's admin API (sso-admin), in domain terms.
pub trait IdentityCenter: Send + Sync {
    /// Everything known about a permission set; `None` when it no longer exists.
    fn permission_set(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> impl Future<Output = Remote<Option<PermissionSetFacts>>> + Send;

    /// Only the permission set's name; `None` when it no longer exists.
    fn permission_set_name(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> impl Future<Output = Remote<Option<String>>> + Send;

    /// The value of the permission set's tag `key` (ListTagsForResource); `None` when the set
    /// has no such tag.
    fn permission_set_tag(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
        key: &str,
    ) -> impl Future<Output = Remote<Option<String>>> + Send;

    /// Whether the assignment exists now (ListAccountAssignments).
    fn assignment_exists(&self, assignment: &Assignment) -> impl Future<Output = Remote<bool>> + Send;

    /// The instance's ABAC attributes; `None` when ABAC is not configured.
    fn access_control_attributes(
        &self,
        instance: &InstanceArn,
    ) -> impl Future<Output = Remote<Option<Vec<AbacAttribute>>>> + Send;

    /// DeleteAccountAssignment, polled to SUCCEEDED.
    fn delete_assignment(&self, assignment: &Assignment) -> impl Future<Output = Remote<()>> + Send;

    /// UpdatePermissionSet with every field given (the API clears an omitted relay state).
    fn update_permission_set(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
        session_duration: &str,
        description: Option<&str>,
        relay_state: Option<&str>,
    ) -> impl Future<Output = Remote<()>> + Send;

    /// PutPermissionsBoundaryToPermissionSet.
    fn put_permissions_boundary(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
        boundary: &Boundary,
    ) -> impl Future<Output = Remote<()>> + Send;

    /// DetachManagedPolicyFromPermissionSet.
    fn detach_managed_policy(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
        policy_arn: &str,
    ) -> impl Future<Output = Remote<()>> + Send;

    /// PutInlinePolicyToPermissionSet.
    fn put_inline_policy(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
        document: &str,
    ) -> impl Future<Output = Remote<()>> + Send;

    /// DeleteInlinePolicyFromPermissionSet.
    fn delete_inline_policy(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> impl Future<Output = Remote<()>> + Send;

    /// Create (when `exists` is false) or Update InstanceAccessControlAttributeConfiguration,
    /// waiting until it is ENABLED.
    fn put_access_control_attributes(
        &self,
        instance: &InstanceArn,
        attributes: &[AbacAttribute],
        exists: bool,
    ) -> impl Future<Output = Remote<()>> + Send;

    /// GetInlinePolicyForPermissionSet; `None` when the set has none.
    fn inline_policy(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> impl Future<Output = Remote<Option<InlinePolicyText>>> + Send;

    /// The set's name and session duration (DescribePermissionSet); `None` when it no longer
    /// exists. A duration that cannot be read is the longest one (fail closed).
    fn permission_set_summary(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> impl Future<Output = Remote<Option<(String, SessionDuration)>>> + Send;

    /// ProvisionPermissionSet to one account, polled to SUCCEEDED.
    fn provision_to_account(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
        account: &AccountId,
    ) -> impl Future<Output = Remote<()>> + Send;

    /// ProvisionPermissionSet to all provisioned accounts, polled to SUCCEEDED.
    fn provision_permission_set(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> impl Future<Output = Remote<()>> + Send;

    /// The identity store of an instance (ListInstances, read once per process); `None` when the
    /// instance is not found. An implementation that cannot tell answers `Ok(None)`.
    fn identity_store(&self, instance: &InstanceArn) -> impl Future<Output = Remote<Option<IdentityStoreId>>> + Send {
        let _ = instance;
        async { Ok(None) }
    }

    /// CreateAccountAssignment, polled to SUCCEEDED (the reconciler creates missing desired
    /// assignments). An implementation that cannot create answers `Rejected`.
    fn create_assignment(&self, assignment: &Assignment) -> impl Future<Output = Remote<()>> + Send {
        let _ = assignment;
        async {
            Err(RemoteError::new(
                "CreateAccountAssignment",
                FailureKind::Rejected,
                "this Identity Center port cannot create assignments",
            ))
        }
    }
    // track D
    /// The operations of `kind` in `state` (ListAccountAssignmentCreationStatus,
    /// ListAccountAssignmentDeletionStatus, ListPermissionSetProvisioningStatus, filtered by
    /// status; all pages): their request ids and creation times, nothing else. An implementation
    /// that cannot list answers `Rejected` (never an empty list).
    fn operations(
        &self,
        instance: &InstanceArn,
        kind: OperationKind,
        state: OperationState,
    ) -> impl Future<Output = Remote<Vec<OperationStatus>>> + Send {
        let _ = (instance, state);
        async move { Err(not_supported(kind.call())) }
    }

    /// ListCustomerManagedPolicyReferencesInPermissionSet, all pages (the inventory reads it for
    /// the hygiene report). An implementation that cannot list answers `Rejected`.
    fn customer_managed_policies(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> impl Future<Output = Remote<Vec<CustomerManagedPolicyRef>>> + Send {
        let _ = (instance, permission_set);
        async { Err(not_supported("ListCustomerManagedPolicyReferencesInPermissionSet")) }
    }

    /// One operation's status, with AWS's failure reason, the account and the set
    /// (DescribeAccountAssignmentCreationStatus and its siblings). One request, not polled.
    fn operation_status(
        &self,
        instance: &InstanceArn,
        kind: OperationKind,
        request_id: &str,
    ) -> impl Future<Output = Remote<OperationStatus>> + Send {
        let _ = (instance, request_id);
        async move { Err(not_supported(kind.call())) }
    }

    // Issue #19: the access paths outside permission sets. Account access manager's calls go
    // to its own service (`account-access`); an implementation without it answers `Rejected`
    // (never "none"), so what it cannot see stays unknown.

    /// GetEntitlement: the entitlement as it is now, with its id (`None`: it no longer exists).
    fn entitlement(
        &self,
        application: &AccessApplicationArn,
        id: &EntitlementId,
    ) -> impl Future<Output = Remote<Option<Entitlement>>> + Send {
        let _ = (application, id);
        async { Err(not_supported("GetEntitlement")) }
    }

    /// ListEntitlements of `application`, all pages; with `grant`, only those of its principal,
    /// role and account (the filter's criteria must all match), each with its id.
    fn entitlements(
        &self,
        application: &AccessApplicationArn,
        grant: Option<&Entitlement>,
    ) -> impl Future<Output = Remote<Vec<Entitlement>>> + Send {
        let _ = (application, grant);
        async { Err(not_supported("ListEntitlements")) }
    }

    /// ListApplications of account access manager, all pages.
    fn access_applications(&self) -> impl Future<Output = Remote<Vec<AccessApplicationArn>>> + Send {
        async { Err(not_supported("ListApplications")) }
    }

    /// CreateEntitlement (issue #19: an entitlement the desired-assignments file declares): the
    /// id of the entitlement, new or (the operation is idempotent) the existing one.
    fn create_entitlement(&self, entitlement: &Entitlement) -> impl Future<Output = Remote<EntitlementId>> + Send {
        let _ = entitlement;
        async { Err(not_supported("CreateEntitlement")) }
    }

    /// DeleteEntitlement.
    fn delete_entitlement(
        &self,
        application: &AccessApplicationArn,
        id: &EntitlementId,
    ) -> impl Future<Output = Remote<()>> + Send {
        let _ = (application, id);
        async { Err(not_supported("DeleteEntitlement")) }
    }

    /// GetApplicationAccessScope: the scope's authorised targets (`None`: the application does
    /// not hold the scope, or is gone).
    fn access_scope(
        &self,
        application: &ApplicationArn,
        scope: &str,
    ) -> impl Future<Output = Remote<Option<Vec<String>>>> + Send {
        let _ = (application, scope);
        async { Err(not_supported("GetApplicationAccessScope")) }
    }

    /// DescribeApplication: the application's name (`None`: it has none, or it is gone).
    fn application_name(&self, application: &ApplicationArn) -> impl Future<Output = Remote<Option<String>>> + Send {
        let _ = application;
        async { Err(not_supported("DescribeApplication")) }
    }

    /// DeleteApplicationAccessScope.
    fn delete_access_scope(
        &self,
        application: &ApplicationArn,
        scope: &str,
    ) -> impl Future<Output = Remote<()>> + Send {
        let _ = (application, scope);
        async { Err(not_supported("DeleteApplicationAccessScope")) }
    }
}

/// The answer of a port method an implementation does not offer: not retryable, never a value.
fn not_supported(operation: &'static str) -> RemoteError {
    RemoteError::new(
        operation,
        FailureKind::Rejected,
        "this port does not offer the operation",
    )
}

/// A group membership, by id or by (group, member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRef {
    /// The identity store.
    pub identity_store_id: IdentityStoreId,
    /// The membership id, when known.
    pub membership_id: Option<String>,
    /// The group, when known.
    pub group_id: Option<String>,
    /// The member (user), when known.
    pub member_id: Option<String>,
}

/// The Identity Store API, in domain terms.
pub trait IdentityStore: Send + Sync {
    /// The membership's id if it exists now (GetGroupMembershipId / DescribeGroupMembership).
    fn membership_id(&self, membership: &MembershipRef) -> impl Future<Output = Remote<Option<String>>> + Send;

    /// DeleteGroupMembership.
    fn delete_membership(
        &self,
        identity_store_id: &IdentityStoreId,
        membership_id: &str,
    ) -> impl Future<Output = Remote<()>> + Send;

    /// How people know a user (DescribeUser: user name, display name) or a group
    /// (DescribeGroup: display name); `None` when it does not exist. For reports only; an
    /// implementation that cannot tell answers `Ok(None)`.
    fn principal(
        &self,
        identity_store_id: &IdentityStoreId,
        principal_type: PrincipalType,
        principal_id: &str,
    ) -> impl Future<Output = Remote<Option<PrincipalNames>>> + Send {
        let _ = (identity_store_id, principal_type, principal_id);
        async { Ok(None) }
    }
}

/// Where findings and their outcomes go: the findings topic (and from it Slack), Security Hub,
/// the log.
pub trait Notifier: Send + Sync {
    /// Publishes one outcome.
    fn publish(&self, outcome: &Outcome) -> impl Future<Output = Remote<()>> + Send;

    /// Publishes an operational notice (not a finding), e.g. that an operator reset the breaker.
    /// The default logs it.
    fn announce(&self, notice: &Notice) -> impl Future<Output = Remote<()>> + Send {
        tracing::warn!(notice = notice.id(), "{}", notice.summary());
        async { Ok(()) }
    }

    /// Whether the notifier routes by owner, so that the guard should read the permission
    /// set's owner tag before publishing (one more read per published outcome). Default: no.
    fn routes_by_owner(&self) -> bool {
        false
    }

    /// Records the outcomes of a reconciler run's planned findings, one per finding, in the
    /// stores that keep one finding per (rule, resource) for machines (Security Hub, issue #18);
    /// people get the run's one summary through [`Notifier::publish`] instead of a message each.
    /// The default records nothing.
    fn record(&self, outcomes: &[Outcome]) -> impl Future<Output = Remote<()>> + Send {
        let _ = outcomes;
        async { Ok(()) }
    }
}

/// The one place where a planned mutating action is allowed or withheld. The safety rails (kill
/// switch, breaker, flap limit, idempotency: `crate::safety::SafetyGate`) plug in here; the base
/// gate only applies modes.
pub trait Gate: Send + Sync {
    /// Decides on the correction of `finding`, caused by `change`. Asynchronous, because the
    /// safety rails consult shared state (a parameter, a table); a gate that cannot decide must
    /// withhold (fail closed).
    fn decide(&self, change: &Change, finding: &Finding) -> impl Future<Output = Decision> + Send;

    /// Whether `outcome` of `finding` is reported for the first time: the same finding (same
    /// CloudTrail eventID, rule, resource and outcome) is published once, also when the event
    /// is delivered again. A gate that cannot tell says yes (a duplicate message is better than
    /// a lost one).
    ///
    /// Required (no default), so that a gate wrapping another cannot forget to pass it on.
    fn first_report(
        &self,
        change: &Change,
        finding: &Finding,
        outcome: &OutcomeKind,
    ) -> impl Future<Output = bool> + Send;

    /// Told that publishing a report [`Gate::first_report`] allowed failed, so that a later
    /// delivery may publish it.
    fn report_failed(
        &self,
        change: &Change,
        finding: &Finding,
        outcome: &OutcomeKind,
    ) -> impl Future<Output = ()> + Send;

    /// Told what became of a correction the gate allowed, once it is done (e.g. to release an
    /// idempotency claim when the correction failed, so that Lambda's retry may try again).
    /// The default does nothing.
    fn settle(&self, _change: &Change, _finding: &Finding, _outcome: &OutcomeKind) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Records, just before it is made, a mutating call idc-guard makes (`operation`, the
    /// CloudTrail event name, on the resource `resource`, as its echo will name it), so that the
    /// echo can be told from someone else using idc-guard's role. An error stops the call.
    ///
    /// Required (no default), like [`Gate::first_report`].
    fn record(&self, operation: &'static str, resource: &str) -> impl Future<Output = Remote<()>> + Send;

    /// Whether idc-guard recorded making `change` (a change by one of its own roles): `None`
    /// when the gate cannot tell (no state, or the state cannot be read).
    fn recorded(&self, change: &Change) -> impl Future<Output = Option<bool>> + Send;

    /// Takes the exclusive lease on `resource` for one read-modify-write (a permission set's
    /// inline policy, which AWS can only overwrite whole): `Ok(None)` while another holder has
    /// it. A lease ends when released, or by itself after [`Lease::TERM`] (a holder that died).
    ///
    /// Required, like [`Gate::first_report`].
    fn lease(&self, resource: &str) -> impl Future<Output = Remote<Option<Lease>>> + Send;

    /// Ends a lease taken with [`Gate::lease`] (nothing when it already ended).
    fn release(&self, lease: &Lease) -> impl Future<Output = ()> + Send;

    /// Now, in Unix seconds, by the gate's clock (the one its windows and journal use).
    fn now(&self) -> u64;

    /// Notes that the permission set `permission_set` holds revocations until `until`
    /// (`None`: none any more), for the sweep that removes expired ones.
    fn note_revocations(&self, permission_set: &str, until: Option<u64>) -> impl Future<Output = Remote<()>> + Send;

    /// The permission sets noted as holding revocations, with until when.
    fn noted_revocations(&self) -> impl Future<Output = Remote<Vec<(String, u64)>>> + Send;

    // track C
    /// Records `count` occurrences at `at` (Unix seconds) in the SCIM health series `series`
    /// (`failures`: SCIM calls refused for their token; `removals#<group id>`: a group's members
    /// removed by SCIM), and answers the series as this write left it. Writes are conditional,
    /// so concurrent recorders are serialised and each sees its own count. The default (a gate
    /// without state) cannot: not supported.
    fn scim_record(
        &self,
        series: &str,
        at: u64,
        count: usize,
    ) -> impl Future<Output = Remote<crate::domain::ScimWindow>> + Send {
        let _ = (series, at, count);
        async { Err(not_supported("scim state")) }
    }

    /// Notes that a finding on `series` was reported for the event at `at` (one per window).
    fn scim_reported(&self, series: &str, at: u64) -> impl Future<Output = Remote<()>> + Send {
        let _ = (series, at);
        async { Err(not_supported("scim state")) }
    }

    /// Records a successful SCIM write at `at`: one item, written at most once an hour per
    /// process (the gate keeps the time it last wrote), and never moved back.
    fn scim_write(&self, at: u64) -> impl Future<Output = Remote<()>> + Send {
        let _ = at;
        async { Err(not_supported("scim state")) }
    }

    /// The time of the last successful SCIM write recorded; when none is, the time the state
    /// began to be watched (recorded by this first read), so that silence is measured from there.
    fn scim_last_write(&self) -> impl Future<Output = Remote<Option<u64>>> + Send {
        async { Err(not_supported("scim state")) }
    }

    // issue #19
    /// Notes that `delivery` brought the identity store change `key` (what every delivery of
    /// one change has in common: `crate::event::notification::change_key`, with the store), made
    /// at `at` (Unix seconds), and answers whether another delivery of it came first. A CloudTrail
    /// record is always judged (it names who made the change): it is noted, and answered
    /// [`SameChange::First`]. A notification yields ([`SameChange::Seen`]) to any other delivery
    /// of the same change noted before it, made within a few minutes of `at`. The note is a
    /// conditional write, so concurrent deliveries agree. The default (a gate without state)
    /// cannot tell: every delivery is the first.
    fn same_change(&self, key: &str, at: u64, delivery: &Delivery) -> impl Future<Output = Remote<SameChange>> + Send {
        let _ = (key, at, delivery);
        async { Ok(SameChange::First) }
    }
}

/// How an identity store change reached a guard (issue #19): its CloudTrail record or the
/// identity store's own notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The CloudTrail record, by its eventID.
    CloudTrail(String),
    /// The notification, by its EventBridge id.
    Notification(String),
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CloudTrail(id) => write!(f, "its CloudTrail record (event {id})"),
            Self::Notification(id) => write!(f, "an identity store notification (event {id})"),
        }
    }
}

/// Whether another delivery of the same change came first ([`Gate::same_change`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SameChange {
    /// None did: judge this one.
    First,
    /// This one did: the change is judged under it.
    Seen(Delivery),
}

/// An exclusive lease on one resource, from [`Gate::lease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The resource.
    pub resource: String,
    /// Who holds it: unique to one taking.
    pub token: String,
}

impl Lease {
    /// How long a lease lasts unless released, in seconds: far longer than one read-modify-write
    /// of a policy takes, short enough that a holder that died blocks nobody for long.
    pub const TERM: u64 = 60;
}

/// Where a correction's calls are made and journaled: the ports, and the gate that records each
/// mutating call just before it is made (so its echo is recognised as idc-guard's).
pub struct Ports<'a, I, S, G> {
    /// sso-admin.
    pub identity_center: &'a I,
    /// The identity store.
    pub identity_store: &'a S,
    /// The gate (its journal).
    pub gate: &'a G,
}

impl<I, S, G: Gate> Ports<'_, I, S, G> {
    /// Journals `operation` on `resource`, then counts it among the calls made.
    ///
    /// # Errors
    /// The journal could not be written: the call must not be made.
    pub async fn journal(&self, calls: &mut Vec<&'static str>, operation: &'static str, resource: &str) -> Remote<()> {
        self.gate.record(operation, resource).await?;
        calls.push(operation);
        Ok(())
    }
}

/// A shared gate decides as the gate it shares: the reconciler and the event path can hold one
/// gate (one safety state) between them.
impl<G: Gate> Gate for Arc<G> {
    fn decide(&self, change: &Change, finding: &Finding) -> impl Future<Output = Decision> + Send {
        G::decide(self, change, finding)
    }

    fn first_report(
        &self,
        change: &Change,
        finding: &Finding,
        outcome: &OutcomeKind,
    ) -> impl Future<Output = bool> + Send {
        G::first_report(self, change, finding, outcome)
    }

    fn report_failed(
        &self,
        change: &Change,
        finding: &Finding,
        outcome: &OutcomeKind,
    ) -> impl Future<Output = ()> + Send {
        G::report_failed(self, change, finding, outcome)
    }

    fn settle(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) -> impl Future<Output = ()> + Send {
        G::settle(self, change, finding, outcome)
    }

    fn record(&self, operation: &'static str, resource: &str) -> impl Future<Output = Remote<()>> + Send {
        G::record(self, operation, resource)
    }

    fn recorded(&self, change: &Change) -> impl Future<Output = Option<bool>> + Send {
        G::recorded(self, change)
    }

    fn lease(&self, resource: &str) -> impl Future<Output = Remote<Option<Lease>>> + Send {
        G::lease(self, resource)
    }

    fn release(&self, lease: &Lease) -> impl Future<Output = ()> + Send {
        G::release(self, lease)
    }

    fn now(&self) -> u64 {
        G::now(self)
    }

    fn note_revocations(&self, permission_set: &str, until: Option<u64>) -> impl Future<Output = Remote<()>> + Send {
        G::note_revocations(self, permission_set, until)
    }

    fn noted_revocations(&self) -> impl Future<Output = Remote<Vec<(String, u64)>>> + Send {
        G::noted_revocations(self)
    }

    fn scim_record(
        &self,
        series: &str,
        at: u64,
        count: usize,
    ) -> impl Future<Output = Remote<crate::domain::ScimWindow>> + Send {
        G::scim_record(self, series, at, count)
    }

    fn scim_reported(&self, series: &str, at: u64) -> impl Future<Output = Remote<()>> + Send {
        G::scim_reported(self, series, at)
    }

    fn scim_write(&self, at: u64) -> impl Future<Output = Remote<()>> + Send {
        G::scim_write(self, at)
    }

    fn scim_last_write(&self) -> impl Future<Output = Remote<Option<u64>>> + Send {
        G::scim_last_write(self)
    }

    fn same_change(&self, key: &str, at: u64, delivery: &Delivery) -> impl Future<Output = Remote<SameChange>> + Send {
        G::same_change(self, key, at, delivery)
    }
}

/// Named configuration parameters (SSM Parameter Store): the kill switch.
pub trait Parameters: Send + Sync {
    /// The parameter's value; `None` when it does not exist.
    fn parameter(&self, name: &str) -> impl Future<Output = Remote<Option<String>>> + Send;
}

/// The key of one item of the safety state: a partition and an item within it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateKey {
    /// The partition, e.g. `event#<CloudTrail eventID>`.
    pub partition: String,
    /// The item within the partition, e.g. `<rule>#<resource>`.
    pub item: String,
}

/// One item of the safety state (an idempotency claim, a flap window, the breaker). Times are
/// Unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateRecord {
    /// The item's version, as stored: 1 for a new item, then one more per write.
    pub version: u64,
    /// The times of the remediations counted in a rolling window.
    pub times: Vec<u64>,
    /// Since when: a claim was taken, a breaker opened, a resource was quarantined.
    pub since: Option<u64>,
    /// Until when a quarantine lasts.
    pub until: Option<u64>,
    /// What became of a claimed correction (`in-progress`, `withheld`, `remediated`, …).
    pub status: Option<String>,
    /// Who wrote a claim: a token unique to one decision, so that a writer whose conditional put
    /// succeeded but whose answer was lost recognises its own claim.
    pub owner: Option<String>,
    /// When the store may forget the item (the table's TTL attribute); `None`: never.
    pub expires_at: Option<u64>,
}

/// The safety state (the DynamoDB table): items written only under a condition, so concurrent
/// writers cannot both win. An expired item may still be returned (DynamoDB deletes expired
/// items lazily); judging expiry is the caller's business.
pub trait StateStore: Send + Sync {
    /// The item, read strongly consistently; `None` when it does not exist.
    fn get(&self, key: &StateKey) -> impl Future<Output = Remote<Option<StateRecord>>> + Send;

    /// Writes `record` only if the stored item's version is `expected`, or, with `expected =
    /// None`, only if no item exists. The stored version becomes `expected + 1` (or 1), whatever
    /// `record.version` says. `Ok(false)`: the condition failed (another writer got there first).
    fn put(
        &self,
        key: &StateKey,
        record: &StateRecord,
        expected: Option<u64>,
    ) -> impl Future<Output = Remote<bool>> + Send;

    /// Deletes the item (no error when it does not exist).
    fn delete(&self, key: &StateKey) -> impl Future<Output = Remote<()>> + Send;

    /// Every item of a partition, read strongly consistently, all pages (or an error).
    fn list(&self, partition: &str) -> impl Future<Output = Remote<Vec<(StateKey, StateRecord)>>> + Send;
}

/// Last use per (user, permission set, account), and when each assignment was first seen (issue
/// #17): the usage recorder writes the uses, the reconciler the sightings, in the state table.
/// Every list is read whole (all pages of every partition) or fails.
pub trait UsageStore: Send + Sync {
    /// Records `last` unless a use at the same time or later is already recorded for its key:
    /// one conditional write, so a late, older record never moves last use backwards and a
    /// duplicate changes nothing. The item may be forgotten after `expires_at` (Unix seconds).
    /// `Ok(true)`: recorded; `Ok(false)`: not later than what is recorded.
    fn record_use(&self, last: &LastUse, expires_at: u64) -> impl Future<Output = Remote<bool>> + Send;

    /// Notes that usage recording began at `at`, unless an earlier start is noted (conditional).
    fn start_recording(&self, at: u64) -> impl Future<Output = Remote<()>> + Send;

    /// When usage recording began (`None`: it never did).
    fn recording_since(&self) -> impl Future<Output = Remote<Option<u64>>> + Send;

    /// Every last use recorded.
    fn last_uses(&self) -> impl Future<Output = Remote<Vec<LastUse>>> + Send;

    /// When each assignment was first seen, by [`crate::domain::Assignment`]'s usage key
    /// (`crate::usage::assignment_key`).
    fn first_seen(&self) -> impl Future<Output = Remote<BTreeMap<String, u64>>> + Send;

    /// Notes assignments first seen at `at` (unconditional: a later time only makes a window
    /// start later, which never makes anything dormant sooner).
    fn note_first_seen(&self, keys: &[String], at: u64) -> impl Future<Output = Remote<()>> + Send;

    /// Forgets the sightings of assignments that no longer exist.
    fn forget_first_seen(&self, keys: &[String]) -> impl Future<Output = Remote<()>> + Send;
}

/// An Identity Center instance and its identity store (ListInstances).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRef {
    /// The instance.
    pub instance_arn: InstanceArn,
    /// Its identity store.
    pub identity_store_id: IdentityStoreId,
}

/// The whole-instance reads of sso-admin the reconciler and the CLI need (inventory). Every list
/// is read whole (all pages) or fails: a partial list never passes for a complete one.
pub trait InstanceInventory: Send + Sync {
    /// ListInstances.
    fn instances(&self) -> impl Future<Output = Remote<Vec<InstanceRef>>> + Send;

    /// ListPermissionSets.
    fn permission_sets(&self, instance: &InstanceArn) -> impl Future<Output = Remote<Vec<PermissionSetArn>>> + Send;

    /// ListAccountsForProvisionedPermissionSet: where the set is provisioned.
    fn provisioned_accounts(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> impl Future<Output = Remote<Vec<AccountId>>> + Send;

    /// ListAccountAssignments for one (account, permission set): the principals.
    fn account_assignments(
        &self,
        instance: &InstanceArn,
        account: &AccountId,
        permission_set: &PermissionSetArn,
    ) -> impl Future<Output = Remote<Vec<(PrincipalType, String)>>> + Send;

    /// ListAccountAssignmentsForPrincipal: every (account, permission set) of one principal.
    fn principal_assignments(
        &self,
        instance: &InstanceArn,
        principal_type: PrincipalType,
        principal_id: &str,
    ) -> impl Future<Output = Remote<Vec<(AccountId, PermissionSetArn)>>> + Send;

    // track D
    /// ListAccountsForProvisionedPermissionSet filtered by `LATEST_PERMISSION_SET_NOT_PROVISIONED`:
    /// the accounts that hold an older version of the set. An implementation that cannot tell
    /// answers `Rejected`.
    fn stale_accounts(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> impl Future<Output = Remote<Vec<AccountId>>> + Send {
        let _ = (instance, permission_set);
        async { Err(not_supported("ListAccountsForProvisionedPermissionSet")) }
    }

    /// ListApplications (sso-admin, issue #19): the instance's Identity Center applications,
    /// all pages, each with its name when it has one. An implementation that cannot list them
    /// answers `Rejected` (the applications' access scopes are then unknown, never "none").
    fn applications(
        &self,
        instance: &InstanceArn,
    ) -> impl Future<Output = Remote<Vec<(ApplicationArn, Option<String>)>>> + Send {
        let _ = instance;
        async { Err(not_supported("ListApplications")) }
    }
}

/// The identity store's directory reads (names for resolution and export).
pub trait Directory: Send + Sync {
    /// ListGroups: (group id, display name).
    fn groups(&self, store: &IdentityStoreId) -> impl Future<Output = Remote<Vec<(String, String)>>> + Send;

    /// ListUsers: (user id, user name).
    fn users(&self, store: &IdentityStoreId) -> impl Future<Output = Remote<Vec<(String, String)>>> + Send;

    /// ListGroupMemberships: the user ids of a group's members.
    fn group_members(
        &self,
        store: &IdentityStoreId,
        group_id: &str,
    ) -> impl Future<Output = Remote<Vec<String>>> + Send;

    /// ListGroupMembershipsForMember: the ids of the groups a user is a member of.
    fn groups_of(&self, store: &IdentityStoreId, user_id: &str) -> impl Future<Output = Remote<Vec<String>>> + Send;
}

/// AWS Organizations reads: accounts and the OU tree.
pub trait Organization: Send + Sync {
    /// ListAccounts: (account id, name).
    fn accounts(&self) -> impl Future<Output = Remote<Vec<(AccountId, String)>>> + Send;

    /// ListAccountsForParent and ListOrganizationalUnitsForParent: the accounts directly under a
    /// root or OU, and its child OUs. `NotFound` when the parent does not exist.
    fn children(&self, parent: &str) -> impl Future<Output = Remote<(Vec<AccountId>, Vec<String>)>> + Send;
}

/// The deployment's own resources, read by `idc-guard doctor` (issue #18): its EventBridge
/// rules, its findings topic and its queues. Read only; a failed read is an error (the check is
/// then unknown), never "absent".
pub trait DeploymentResources: Send + Sync {
    /// ListRules on the default bus with a name prefix: each rule's name and state as
    /// EventBridge spells it (`ENABLED`, `DISABLED`, `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`).
    fn rules(&self, prefix: &str) -> impl Future<Output = Remote<Vec<(String, String)>>> + Send;

    /// ListTopics: the ARN of the topic named `name`; `None` when there is none.
    fn topic(&self, name: &str) -> impl Future<Output = Remote<Option<String>>> + Send;

    /// GetQueueUrl and GetQueueAttributes: the messages available in the queue named `name`
    /// (`ApproximateNumberOfMessages`); `None` when there is no such queue.
    fn queue_depth(&self, name: &str) -> impl Future<Output = Remote<Option<u64>>> + Send;
}
