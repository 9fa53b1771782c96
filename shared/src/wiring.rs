//! The one place that builds clients, gates, notifiers and guards from a [`Config`]: every
//! function and the CLI are wired here, the same way.
//!
//! Also the declared facts about the deployment that `template.yaml` is checked against:
//! [`FUNCTIONS`] (each function crate and what it runs) and [`permissions`] (the AWS actions each
//! kind needs: its rules' declared actions plus the infrastructure it uses).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::adapters::{
    CallCounter, DynamoState, IdentityStoreApi, Organizations, SecurityHub, SnsNotifier, SsmParameters, SsoAdmin,
};
use crate::config::{Config, Kind};
use crate::domain::{Change, Decision, Finding, InstanceArn, Notice, Outcome, OutcomeKind};
use crate::guard::{Guard, ModeGate};
use crate::notify::LoggingNotifier;
use crate::pace::Pacer;
use crate::policy::{Policy, PolicyError};
use crate::ports::{FailureKind, Gate, InstanceInventory, InstanceRef, Lease, Notifier, Remote, RemoteError};
use crate::retry::RetryPolicy;
use crate::rules::{RULES, Runs};
use crate::safety::{SafetyGate, SystemClock};

/// Every deployable function: its crate (and binary) name, and what it runs.
pub const FUNCTIONS: &[(&str, Kind)] = &[
    ("assignment-guard", Kind::Guard),
    ("permission-set-guard", Kind::Guard),
    ("identity-guard", Kind::Guard),
    ("slack-notifier", Kind::SlackNotifier),
    ("drift-reconciler", Kind::DriftReconciler),
    ("usage-recorder", Kind::UsageRecorder),
];

/// Whether a reconciler invocation asks only for the sweep of expired revocations (the
/// template's frequent schedule sends `{"task": "expire-revocations"}`).
pub fn is_sweep(payload: &serde_json::Value) -> bool {
    payload.get("task").and_then(serde_json::Value::as_str) == Some(SWEEP_TASK)
}

/// The task of the revocation sweep's invocations.
pub const SWEEP_TASK: &str = "expire-revocations";

/// What a function crate runs, by its name.
pub fn kind_of(function: &str) -> Option<Kind> {
    FUNCTIONS.iter().find(|(name, _)| *name == function).map(|(_, k)| *k)
}

/// The safety rails' and notifications' actions, which every judging function needs.
const RAILS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "ssm:GetParameter",
    "sns:Publish",
    // The owner tag and the set's name, read before publishing (routing by owner).
    "sso:ListTagsForResource",
    "sso:DescribePermissionSet",
];

/// Security Hub publication (optional, `IDC_GUARD_SECURITY_HUB_PRODUCT_ARN`): each finding
/// imported under the account's default product, and a reverted one marked `RESOLVED` (which
/// an import cannot do to an existing finding). The template grants them only when
/// `SecurityHubPublication` is `Enabled`, on the product and the hub.
pub const SECURITY_HUB: &[&str] = &["securityhub:BatchImportFindings", "securityhub:BatchUpdateFindings"];

/// The reconciler's whole-instance reads (the inventory).
const INVENTORY: &[&str] = &[
    "sso:ListInstances",
    "sso:ListPermissionSets",
    "sso:DescribePermissionSet",
    "sso:GetInlinePolicyForPermissionSet",
    "sso:ListManagedPoliciesInPermissionSet",
    "sso:GetPermissionsBoundaryForPermissionSet",
    "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
    "sso:ListAccountsForProvisionedPermissionSet",
    "sso:ListAccountAssignments",
    "sso:ListAccountAssignmentsForPrincipal",
    "sso:DescribeInstanceAccessControlAttributeConfiguration",
    // Issue #19: the instance's applications (each one's scope is read with the rule's
    // GetApplicationAccessScope), and account access manager's applications (their entitlements
    // with the rules' ListEntitlements).
    "sso:ListApplications",
    "account-access:ListApplications",
    "identitystore:ListGroups",
    "identitystore:ListUsers",
    "identitystore:ListGroupMemberships",
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
];

/// The sweep of expired revocations (the reconciler, `idc-guard revoke --list`): the notes of
/// the sets holding revocations.
const SWEEP: &[&str] = &["dynamodb:Query"];

/// Last use per assignment (issue #17), for the reconciler: the last uses and the assignments'
/// first sightings read (Query of every usage partition, GetItem of the recording start, which
/// the rails' actions hold), the sightings noted and forgotten 25 at a time.
const USAGE_READS: &[&str] = &["dynamodb:Query", "dynamodb:BatchWriteItem"];

/// usage-recorder: one conditional PutItem per use, and one per cold start (the recording
/// start). Nothing else: it reads no policy, no Identity Center, no parameter.
const USAGE_RECORDING: &[&str] = &["dynamodb:PutItem"];

/// `idc-guard revoke`: the groups the user is in.
const REVOKE: &[&str] = &["identitystore:ListGroupMembershipsForMember"];

/// `idc-guard doctor` (issue #18): the deployment's rules, topic and dead-letter queues (the
/// table, the kill switch and the instance are read with the actions above).
const DOCTOR: &[&str] = &[
    "events:ListRules",
    "sns:ListTopics",
    "sqs:GetQueueUrl",
    "sqs:GetQueueAttributes",
];

/// The AWS actions a function of `kind` needs: for the guards, every event rule's actions and
/// the rails; for the reconciler, every rule's, the rails, the inventory and the usage reads; for
/// slack-notifier, the webhook secret; for usage-recorder, its conditional writes.
pub fn permissions(kind: Kind) -> BTreeSet<&'static str> {
    let rules = |reconciler: bool| {
        RULES
            .iter()
            .map(|r| r.doc())
            .filter(move |d| reconciler || d.runs == Runs::Everywhere)
            .flat_map(|d| d.actions().collect::<Vec<_>>())
    };
    match kind {
        Kind::Guard => rules(false)
            .chain(RAILS.iter().copied())
            .chain(SECURITY_HUB.iter().copied())
            .collect(),
        Kind::DriftReconciler => rules(true)
            .chain(RAILS.iter().copied())
            .chain(SECURITY_HUB.iter().copied())
            .chain(INVENTORY.iter().copied())
            .chain(SWEEP.iter().copied())
            .chain(USAGE_READS.iter().copied())
            .collect(),
        Kind::SlackNotifier => BTreeSet::from(["secretsmanager:GetSecretValue"]),
        Kind::UsageRecorder => USAGE_RECORDING.iter().copied().collect(),
        Kind::Cli => rules(true)
            .chain(RAILS.iter().copied())
            .chain(INVENTORY.iter().copied())
            .chain(SWEEP.iter().copied())
            .chain(USAGE_READS.iter().copied())
            .chain(REVOKE.iter().copied())
            .chain(DOCTOR.iter().copied())
            .collect(),
    }
}

/// Why a process could not be wired, or a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    /// The environment is not a valid configuration.
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    /// The policy file is missing or invalid.
    #[error("policy {path}: {source}")]
    Policy {
        /// The file.
        path: String,
        /// Every problem.
        #[source]
        source: PolicyError,
    },
    /// The Identity Center instance could not be determined.
    #[error("{0}")]
    Instance(String),
    /// AWS failed.
    #[error(transparent)]
    Remote(#[from] RemoteError),
}

/// How an error should be treated: retried (AWS may recover), dropped as bad input, or fixed
/// by an operator (a deployment mistake or a defect). Lambda's `error_type` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// A later retry may succeed.
    Retryable,
    /// The input is malformed: retrying cannot help.
    BadInput,
    /// A deployment mistake or a defect: someone must fix it.
    Bug,
}

impl ErrorClass {
    /// The `error_type` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retryable => "Retryable",
            Self::BadInput => "BadInput",
            Self::Bug => "Bug",
        }
    }

    /// The class of an AWS failure.
    pub fn of_remote(e: &RemoteError) -> Self {
        if e.kind.is_retryable() {
            Self::Retryable
        } else {
            Self::Bug
        }
    }
}

impl WiringError {
    /// How to treat it.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Remote(e) => ErrorClass::of_remote(e),
            Self::Config(_) | Self::Policy { .. } | Self::Instance(_) => ErrorClass::Bug,
        }
    }
}

/// SDK configuration from the standard environment (region, credentials, `AWS_ENDPOINT_URL`),
/// with the SDK's own retries disabled: [`RetryPolicy`] decides, so one attempt is one call.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

/// Loads the policy the configuration names, with the deployment's own roles added to the roles
/// it recognises as idc-guard's.
pub fn load_policy(config: &Config) -> Result<Policy, WiringError> {
    let mut policy = Policy::load(&config.policy).map_err(|source| WiringError::Policy {
        path: config.policy.display().to_string(),
        source,
    })?;
    add_own_roles(&mut policy, config);
    Ok(policy)
}

/// Adds the deployment's own roles to the roles the policy recognises as idc-guard's.
pub fn add_own_roles(policy: &mut Policy, config: &Config) {
    policy.own_identity.role_arns.extend(config.own_roles.iter().cloned());
    if policy.own_identity.role_arns.is_empty() && policy.own_identity.role_prefixes.is_empty() {
        tracing::warn!(
            "no own roles are configured ({} is unset): idc-guard's own corrections are judged as anyone's",
            crate::config::OWN_ROLES
        );
    }
}

/// The gate every correction passes: the safety rails over the configured table, or, without
/// one, withholding everything (the functions fail closed) or the policy's modes only (the CLI,
/// when `--without-rails` says so).
#[derive(Debug)]
pub enum Rails {
    /// Kill switch, modes, breaker, flap limit, idempotency.
    Safety(Box<SafetyGate<SsmParameters, DynamoState>>),
    /// Every correction withheld, for this reason.
    Withhold(String),
    /// The policy's modes only.
    Modes,
}

impl Gate for Rails {
    async fn decide(&self, change: &Change, finding: &Finding) -> Decision {
        match self {
            Self::Safety(gate) => gate.decide(change, finding).await,
            Self::Withhold(reason) => Decision::Withhold(reason.clone()),
            Self::Modes => ModeGate.decide(change, finding).await,
        }
    }

    async fn first_report(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) -> bool {
        match self {
            Self::Safety(gate) => gate.first_report(change, finding, outcome).await,
            // No table: nothing to remember publications in; publish (rather twice than never).
            Self::Withhold(_) | Self::Modes => true,
        }
    }

    async fn report_failed(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) {
        if let Self::Safety(gate) = self {
            gate.report_failed(change, finding, outcome).await;
        }
    }

    async fn settle(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) {
        if let Self::Safety(gate) = self {
            gate.settle(change, finding, outcome).await;
        }
    }

    async fn record(&self, operation: &'static str, resource: &str) -> Remote<()> {
        match self {
            Self::Safety(gate) => gate.record(operation, resource).await,
            Self::Withhold(_) | Self::Modes => Ok(()),
        }
    }

    async fn recorded(&self, change: &Change) -> Option<bool> {
        match self {
            Self::Safety(gate) => gate.recorded(change).await,
            Self::Withhold(_) | Self::Modes => None,
        }
    }

    async fn lease(&self, resource: &str) -> Remote<Option<Lease>> {
        match self {
            Self::Safety(gate) => gate.lease(resource).await,
            Self::Withhold(_) | Self::Modes => ModeGate.lease(resource).await,
        }
    }

    async fn release(&self, lease: &Lease) {
        if let Self::Safety(gate) = self {
            gate.release(lease).await;
        }
    }

    fn now(&self) -> u64 {
        match self {
            Self::Safety(gate) => gate.now(),
            Self::Withhold(_) | Self::Modes => ModeGate.now(),
        }
    }

    async fn note_revocations(&self, permission_set: &str, until: Option<u64>) -> Remote<()> {
        match self {
            Self::Safety(gate) => gate.note_revocations(permission_set, until).await,
            Self::Withhold(_) | Self::Modes => Ok(()),
        }
    }

    async fn noted_revocations(&self) -> Remote<Vec<(String, u64)>> {
        match self {
            Self::Safety(gate) => gate.noted_revocations().await,
            Self::Withhold(_) | Self::Modes => Ok(Vec::new()),
        }
    }

    // track C: the SCIM health state lives in the table; without one, the gate's default
    // (not supported) leaves those facts unknown.
    async fn scim_record(&self, series: &str, at: u64, count: usize) -> Remote<crate::domain::ScimWindow> {
        match self {
            Self::Safety(gate) => gate.scim_record(series, at, count).await,
            Self::Withhold(_) | Self::Modes => ModeGate.scim_record(series, at, count).await,
        }
    }

    async fn scim_reported(&self, series: &str, at: u64) -> Remote<()> {
        match self {
            Self::Safety(gate) => gate.scim_reported(series, at).await,
            Self::Withhold(_) | Self::Modes => ModeGate.scim_reported(series, at).await,
        }
    }

    async fn scim_write(&self, at: u64) -> Remote<()> {
        match self {
            Self::Safety(gate) => gate.scim_write(at).await,
            Self::Withhold(_) | Self::Modes => ModeGate.scim_write(at).await,
        }
    }

    async fn scim_last_write(&self) -> Remote<Option<u64>> {
        match self {
            Self::Safety(gate) => gate.scim_last_write().await,
            Self::Withhold(_) | Self::Modes => ModeGate.scim_last_write().await,
        }
    }

    // issue #19: which delivery of an identity store change came first lives in the table too.
    async fn same_change(
        &self,
        key: &str,
        at: u64,
        delivery: &crate::ports::Delivery,
    ) -> Remote<crate::ports::SameChange> {
        match self {
            Self::Safety(gate) => gate.same_change(key, at, delivery).await,
            Self::Withhold(_) | Self::Modes => ModeGate.same_change(key, at, delivery).await,
        }
    }
}

/// What the gate does when no state table is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithoutTable {
    /// Withhold every correction (the functions).
    Withhold,
    /// Apply the policy's modes only (the CLI's explicit `--without-rails`).
    Modes,
}

/// The gate the configuration describes.
pub fn rails(config: &Config, sdk: &aws_config::SdkConfig, without_table: WithoutTable) -> Rails {
    let Some(table) = &config.state_table else {
        return match without_table {
            WithoutTable::Modes => Rails::Modes,
            WithoutTable::Withhold => {
                let reason = format!(
                    "no safety state table is configured ({} is unset): detect only",
                    crate::config::STATE_TABLE
                );
                tracing::error!("{reason}");
                Rails::Withhold(reason)
            }
        };
    };
    let safety = &config.safety;
    tracing::info!(%table, kill_switch = %safety.kill_switch, flap = %safety.flap, breaker = %safety.breaker, "safety rails");
    // The kill switch is read on the event's path: a short retry, then detect.
    let quick = RetryPolicy {
        attempts: 2,
        ..RetryPolicy::default()
    };
    Rails::Safety(Box::new(SafetyGate::new(
        SsmParameters::new(aws_sdk_ssm::Client::new(sdk), quick),
        state_table(sdk, table),
        SystemClock,
        safety.clone(),
    )))
}

/// The safety state table `table`.
pub fn state_table(sdk: &aws_config::SdkConfig, table: &str) -> DynamoState {
    DynamoState::new(aws_sdk_dynamodb::Client::new(sdk), table, RetryPolicy::default())
}

/// usage-recorder's store: the state table, and only a DynamoDB client (no policy, no Identity
/// Center, no parameter: its start-up stays a few milliseconds). A write is retried briefly: a
/// message whose write keeps failing goes back to the queue, rather than holding the batch.
pub fn usage_store(config: &Config, sdk: &aws_config::SdkConfig) -> Result<DynamoState, WiringError> {
    let table = config.state_table.as_deref().ok_or_else(|| {
        let problem = crate::config::VariableError {
            variable: crate::config::STATE_TABLE,
            message: "is unset: usage-recorder records the last uses in the state table".to_owned(),
        };
        WiringError::Config(crate::config::ConfigError {
            problems: vec![problem],
        })
    })?;
    let retry = RetryPolicy {
        attempts: 3,
        ..RetryPolicy::default()
    };
    Ok(DynamoState::new(aws_sdk_dynamodb::Client::new(sdk), table, retry))
}

/// The findings topic `topic_arn`, routing to the policy's owners.
pub fn findings_topic(sdk: &aws_config::SdkConfig, topic_arn: &str, policy: &Policy) -> SnsNotifier {
    SnsNotifier::new(
        aws_sdk_sns::Client::new(sdk),
        topic_arn,
        policy.owners.clone(),
        RetryPolicy::default(),
    )
}

/// Security Hub's default product of the account, `product`, naming the policy's owners.
pub fn security_hub(
    sdk: &aws_config::SdkConfig,
    product: &crate::notify::asff::Product,
    policy: &Policy,
) -> SecurityHub {
    SecurityHub::new(
        aws_sdk_securityhub::Client::new(sdk),
        product.clone(),
        policy.owners.clone(),
        RetryPolicy::default(),
    )
}

/// Where outcomes go: the log always, the findings topic and Security Hub when configured.
/// Each sink is tried whatever the others did: a failed import never loses the topic's message.
#[derive(Debug)]
pub struct Publisher {
    topic: Option<Box<SnsNotifier>>,
    security_hub: Option<Box<SecurityHub>>,
}

impl Publisher {
    /// Publishes to `topic` and `security_hub`, those given, and to the log.
    pub fn new(topic: Option<SnsNotifier>, security_hub: Option<SecurityHub>) -> Self {
        Self {
            topic: topic.map(Box::new),
            security_hub: security_hub.map(Box::new),
        }
    }

    /// Structured logs only.
    pub fn log_only() -> Self {
        Self::new(None, None)
    }

    /// Whether outcomes go to the findings topic.
    pub fn publishes_to_topic(&self) -> bool {
        self.topic.is_some()
    }

    /// Whether outcomes are imported into Security Hub.
    pub fn publishes_to_security_hub(&self) -> bool {
        self.security_hub.is_some()
    }
}

impl Notifier for Publisher {
    /// The topic first, then the log line (so an outcome is visible even if publishing fails),
    /// then Security Hub. The topic's error is returned, else Security Hub's: either makes the
    /// guard forget that it published, so a redelivered event publishes again (a duplicate
    /// message is better than a lost one; a repeated import updates the same finding).
    async fn publish(&self, outcome: &Outcome) -> Remote<()> {
        let sent = match &self.topic {
            Some(sns) => sns.publish(outcome).await,
            None => Ok(()),
        };
        let _ = LoggingNotifier.publish(outcome).await;
        let imported = match &self.security_hub {
            // Boxed: the guard's future, which holds this one, stays the size it was.
            Some(hub) => Box::pin(hub.publish(outcome)).await.inspect_err(|e| {
                tracing::error!(error = %e, event_id = %outcome.event.event_id, rule = %outcome.finding.rule, "could not import the finding into Security Hub");
            }),
            None => Ok(()),
        };
        sent.and(imported)
    }

    /// Notices go to the topic (else the log); they are not findings, so not to Security Hub.
    async fn announce(&self, notice: &Notice) -> Remote<()> {
        match &self.topic {
            Some(sns) => sns.announce(notice).await,
            None => LoggingNotifier.announce(notice).await,
        }
    }

    /// A reconciler run's findings, each its own Security Hub finding (the topic gets the run's
    /// summary through `publish`).
    async fn record(&self, outcomes: &[Outcome]) -> Remote<()> {
        match &self.security_hub {
            Some(hub) => Box::pin(hub.record(outcomes)).await,
            None => Ok(()),
        }
    }

    /// Both the topic's routing and Security Hub's `idc-guard/Owner` field name the owner.
    fn routes_by_owner(&self) -> bool {
        self.topic.is_some() || self.security_hub.is_some()
    }
}

/// The publisher the configuration describes.
pub fn publisher(config: &Config, sdk: &aws_config::SdkConfig, policy: &Policy) -> Publisher {
    let topic = match &config.topic_arn {
        Some(topic) => {
            let owners = &policy.owners;
            tracing::info!(%topic, default_owner = %owners.default_owner, owner_tag = %owners.tag_key, "findings topic");
            Some(findings_topic(sdk, topic, policy))
        }
        None => {
            tracing::warn!(
                "no findings topic is configured ({} is unset): outcomes are only logged",
                crate::config::TOPIC_ARN
            );
            None
        }
    };
    let hub = config.security_hub.as_ref().map(|product| {
        tracing::info!(product = %product.arn, "findings are also imported into Security Hub");
        security_hub(sdk, product, policy)
    });
    Publisher::new(topic, hub)
}

/// The guard every function and the CLI run.
pub type LiveGuard = Guard<SsoAdmin, IdentityStoreApi, Publisher, Rails>;

/// Everything a live run needs: the guard (its Identity Center port also reads the inventory),
/// the directory, Organizations, and a counter of every request made.
pub struct Session {
    /// The guard.
    pub guard: LiveGuard,
    /// The identity store's directory.
    pub directory: IdentityStoreApi,
    /// Organizations.
    pub organization: Organizations,
    /// Every request made, by operation.
    pub calls: CallCounter,
}

/// How a session paces sso-admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// Unpaced (tests that count calls without waiting).
    None,
    /// A token bucket at the configured rate (the reconciler and the CLI's whole-instance reads).
    Configured,
    /// The event guards: one bucket for sso-admin and the identity store together, at this
    /// process's part of the configured share ([`guard_rate`]).
    Share,
}

pub use crate::pace::{DEFAULT_API_SHARE, IDENTITY_CENTER_RATE};

/// How the guards' queues deliver events: the template's queues and event source mappings are
/// tested against it (`tests/it/template.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// Messages per invocation at most.
    pub batch_size: u32,
    /// How long the mapping gathers a batch, in seconds: the events of one bulk change that
    /// arrive within it are read and corrected once per resource.
    pub batching_window_seconds: u32,
    /// Concurrent invocations per guard at most (AWS's minimum for an SQS mapping is 2).
    pub maximum_concurrency: u32,
    /// Deliveries of a message before the queue moves it to the guard's dead-letter queue.
    pub max_receive_count: u32,
    /// The queue's visibility timeout as a multiple of the function's timeout (AWS: "at
    /// least six times the timeout that you configure on your function").
    pub visibility_timeout_factor: u32,
}

/// The guards' queue settings.
pub const GUARD_QUEUE: QueueSettings = QueueSettings {
    batch_size: 10,
    batching_window_seconds: 10,
    maximum_concurrency: 2,
    max_receive_count: 5,
    visibility_timeout_factor: 6,
};

/// usage-recorder's queue settings (issue #17): a use is cheap to record (one conditional write)
/// and nothing waits for it (dormancy is counted in days), so batches are large and gathered
/// for longer than a guard's, which keeps invocations few however many credentials are fetched.
pub const USAGE_QUEUE: QueueSettings = QueueSettings {
    batch_size: 100,
    batching_window_seconds: 30,
    maximum_concurrency: 2,
    max_receive_count: 5,
    visibility_timeout_factor: 6,
};

/// The SQS actions a guard (or usage-recorder) needs on its own queue (the event source mapping
/// uses the function's role).
pub const QUEUE_CONSUMER: &[&str] = &[
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
];

/// Requests per second one guard process may send (sso-admin and the identity store
/// together): the share of [`IDENTITY_CENTER_RATE`], split evenly over every guard process that
/// may run at once (each guard function × [`GUARD_QUEUE`]'s maximum concurrency).
pub fn guard_rate(api_share: u8) -> f64 {
    let processes = crate::routing::GUARD_FUNCTIONS.len() as f64 * f64::from(GUARD_QUEUE.maximum_concurrency);
    f64::from(IDENTITY_CENTER_RATE) * f64::from(api_share.min(100)) / 100.0 / processes
}

impl Session {
    /// Builds the clients, the gate and the publisher.
    pub fn build(
        config: &Config,
        policy: Policy,
        sdk: &aws_config::SdkConfig,
        pacing: Pacing,
        without_table: WithoutTable,
        publisher: Publisher,
    ) -> Self {
        let calls = CallCounter::default();
        let sso = aws_sdk_ssoadmin::Client::from_conf(
            aws_sdk_ssoadmin::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        );
        let ids = aws_sdk_identitystore::Client::from_conf(
            aws_sdk_identitystore::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        );
        let orgs = aws_sdk_organizations::Client::from_conf(
            aws_sdk_organizations::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        );
        let account_access = aws_sdk_accountaccess::Client::from_conf(
            aws_sdk_accountaccess::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        );
        let mut sso = SsoAdmin::new(sso, RetryPolicy::default()).with_account_access(account_access);
        let mut directory = IdentityStoreApi::new(ids, RetryPolicy::default());
        match pacing {
            Pacing::None => {}
            Pacing::Configured => sso = sso.with_pacer(Arc::new(Pacer::per_second(config.rate))),
            Pacing::Share => {
                let pacer = Arc::new(Pacer::share(guard_rate(config.api_share)));
                sso = sso.with_pacer(pacer.clone());
                directory = directory.with_pacer(pacer);
            }
        }
        let gate = rails(config, sdk, without_table);
        Self {
            // The SDK's Region is the instance's primary (the deployment guide's home Region): the
            // one whose identity store notifications are judged (issue #19).
            guard: Guard::with_gate(sso, directory.clone(), publisher, policy, gate)
                .with_region(sdk.region().map(ToString::to_string)),
            directory,
            organization: Organizations::new(orgs, RetryPolicy::default()),
            calls,
        }
    }

    /// The instance: `wanted` if given, else the policy's, else the only one (see
    /// [`resolve_instance`]).
    pub async fn instance(&self, wanted: Option<&InstanceArn>) -> Result<InstanceRef, WiringError> {
        let wanted = wanted.or(self.guard.policy().instance_arn.as_ref());
        resolve_instance(self.guard.identity_center(), wanted).await
    }
}

/// The instance, resolved one way everywhere: the one named (by the policy or a flag), which
/// must exist; else the only one ListInstances returns. None, or several and none named, is an
/// error saying what to do.
pub async fn resolve_instance<C: InstanceInventory>(
    center: &C,
    wanted: Option<&InstanceArn>,
) -> Result<InstanceRef, WiringError> {
    let instances = center.instances().await?;
    if let Some(w) = wanted {
        return instances
            .into_iter()
            .find(|i| i.instance_arn == *w)
            .ok_or_else(|| WiringError::Instance(format!("instance {w} was not found")));
    }
    match <[InstanceRef; 1]>::try_from(instances) {
        Ok([only]) => Ok(only),
        Err(instances) if instances.is_empty() => Err(WiringError::Instance(
            "no Identity Center instance was found (is this the delegated administrator account?)".to_owned(),
        )),
        Err(instances) => Err(WiringError::Instance(format!(
            "{} instances found: name one (the policy's [instance] arn, or --instance-arn)",
            instances.len()
        ))),
    }
}

/// The SSM parameters (the kill switch), read with the default retries.
pub fn parameters(sdk: &aws_config::SdkConfig) -> SsmParameters {
    SsmParameters::new(aws_sdk_ssm::Client::new(sdk), RetryPolicy::default())
}

/// The deployment's rules, topic and queues (`idc-guard doctor`).
pub fn deployment(sdk: &aws_config::SdkConfig) -> crate::adapters::Deployment {
    crate::adapters::Deployment::new(sdk, RetryPolicy::default())
}

/// A failed call's error, for code that has no [`RemoteError`] of its own to return.
pub fn unavailable(operation: &'static str, message: impl Into<String>) -> RemoteError {
    RemoteError::new(operation, FailureKind::Unavailable, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guards_together_stay_within_their_share() {
        let processes = f64::from(GUARD_QUEUE.maximum_concurrency) * 3.0;
        for share in [1, 10, 25, 50, 100] {
            let all = guard_rate(share) * processes;
            let allowed = f64::from(IDENTITY_CENTER_RATE) * f64::from(share) / 100.0;
            assert!((all - allowed).abs() < 1e-9, "{share}%: {all} of {allowed}");
        }
        // The default: 5 requests per second for all six guard processes.
        assert!((guard_rate(DEFAULT_API_SHARE) - 5.0 / 6.0).abs() < 1e-9);
    }

    #[test]
    fn the_guards_never_get_the_reconcilers_creation_nor_its_inventory() {
        let guard = permissions(Kind::Guard);
        assert!(!guard.contains("sso:CreateAccountAssignment"));
        // The inventory's whole-instance listings are the reconciler's (a guard lists one
        // principal's assignments only to revoke after a removal, issue #14).
        assert!(!guard.contains("sso:ListPermissionSets"));
        assert!(!guard.contains("identitystore:ListUsers"));
        assert!(!guard.contains("organizations:ListAccounts"));
        assert!(guard.contains("sso:DeleteAccountAssignment"));
        let reconciler = permissions(Kind::DriftReconciler);
        assert!(reconciler.contains("sso:CreateAccountAssignment"));
        assert!(reconciler.is_superset(&guard));
        // The usage reads (issue #17) are the reconciler's; the recorder only writes uses.
        assert!(reconciler.contains("dynamodb:BatchWriteItem") && reconciler.contains("dynamodb:Query"));
        assert!(!guard.contains("dynamodb:BatchWriteItem"));
        assert_eq!(permissions(Kind::UsageRecorder), BTreeSet::from(["dynamodb:PutItem"]));
        assert_eq!(kind_of("usage-recorder"), Some(Kind::UsageRecorder));
        assert_eq!(kind_of("identity-guard"), Some(Kind::Guard));
        assert_eq!(kind_of("nope"), None);
    }
}
