//! A live session against AWS for the CLI's `scan`, `export` and `diff`: the SDK clients from
//! the standard AWS configuration (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials), sso-admin
//! paced by the token bucket, every request counted.

use std::sync::Arc;

use crate::adapters::{CallCounter, DynamoState, IdentityStoreApi, Organizations, SsmParameters, SsoAdmin};
use crate::engine::Finding;
use crate::guard::{Decision, Gate, Guard, LoggingNotifier, ModeGate, OutcomeKind};
use crate::model::Change;
use crate::pace::Pacer;
use crate::policy::Policy;
use crate::ports::{InstanceInventory, InstanceRef, RemoteError};
use crate::retry::RetryPolicy;
use crate::safety::{SafetyGate, SystemClock};

/// The CLI's gate: the safety rails when a state table is named (`IDC_GUARD_STATE_TABLE`, the
/// same table the functions use, so the CLI shares their flap and idempotency state), else the
/// policy's modes only.
#[derive(Debug)]
pub enum LiveGate {
    /// Kill switch, modes, breaker, flap limit, idempotency.
    Safety(Box<SafetyGate<SsmParameters, DynamoState>>),
    /// The policy's modes only.
    Modes,
}

impl Gate for LiveGate {
    async fn decide(&self, change: &Change, finding: &Finding) -> Decision {
        match self {
            Self::Safety(gate) => gate.decide(change, finding).await,
            Self::Modes => ModeGate.decide(change, finding).await,
        }
    }

    async fn settle(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) {
        if let Self::Safety(gate) = self {
            gate.settle(change, finding, outcome).await;
        }
    }

    async fn first_report(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) -> bool {
        match self {
            Self::Safety(gate) => gate.first_report(change, finding, outcome).await,
            Self::Modes => true,
        }
    }

    async fn report_failed(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) {
        if let Self::Safety(gate) = self {
            gate.report_failed(change, finding, outcome).await;
        }
    }
}

/// The guard of a live session.
pub type LiveGuard = Guard<SsoAdmin, IdentityStoreApi, LoggingNotifier, LiveGate>;

/// Everything a live command needs.
pub struct Session {
    /// The guard (its Identity Center port also reads the inventory).
    pub guard: LiveGuard,
    /// The identity store's directory.
    pub directory: IdentityStoreApi,
    /// Organizations.
    pub organization: Organizations,
    /// Every request made, by operation.
    pub calls: CallCounter,
}

impl Session {
    /// Builds the clients from the standard AWS configuration.
    pub async fn from_env(policy: Policy, rate: u32) -> Result<Self, String> {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await;
        let calls = CallCounter::default();
        let sso = aws_sdk_ssoadmin::Client::from_conf(
            aws_sdk_ssoadmin::config::Builder::from(&sdk)
                .interceptor(calls.clone())
                .build(),
        );
        let ids = aws_sdk_identitystore::Client::from_conf(
            aws_sdk_identitystore::config::Builder::from(&sdk)
                .interceptor(calls.clone())
                .build(),
        );
        let orgs = aws_sdk_organizations::Client::from_conf(
            aws_sdk_organizations::config::Builder::from(&sdk)
                .interceptor(calls.clone())
                .build(),
        );
        let (table, config) = crate::lambda::safety_config().map_err(|e| e.to_string())?;
        let gate = match table {
            Some(table) => LiveGate::Safety(Box::new(SafetyGate::new(
                SsmParameters::new(aws_sdk_ssm::Client::new(&sdk), RetryPolicy::default()),
                DynamoState::new(aws_sdk_dynamodb::Client::new(&sdk), table, RetryPolicy::default()),
                SystemClock,
                config,
            ))),
            None => LiveGate::Modes,
        };
        let directory = IdentityStoreApi::new(ids, RetryPolicy::default());
        Ok(Self {
            guard: Guard::with_gate(
                SsoAdmin::new(sso, RetryPolicy::default()).with_pacer(Arc::new(Pacer::per_second(rate))),
                directory.clone(),
                LoggingNotifier,
                policy,
                gate,
            ),
            directory,
            organization: Organizations::new(orgs, RetryPolicy::default()),
            calls,
        })
    }

    /// The instance: `wanted`, else the policy's, else the only one ListInstances returns.
    pub async fn instance(&self, wanted: Option<&crate::ids::InstanceArn>) -> Result<InstanceRef, RemoteError> {
        let wanted = wanted.or(self.guard.policy().instance_arn.as_ref());
        let instances = self.guard.identity_center().instances().await?;
        let count = instances.len();
        let found = instances
            .into_iter()
            .find(|i| wanted.is_none_or(|w| *w == i.instance_arn));
        match (found, wanted) {
            (Some(i), Some(_)) => Ok(i),
            (Some(i), None) if count == 1 => Ok(i),
            _ => Err(RemoteError {
                operation: "ListInstances",
                kind: crate::ports::FailureKind::NotFound,
                message: match wanted {
                    Some(w) => format!("instance {w} was not found"),
                    None => format!("{count} instances found: name one with --instance-arn"),
                },
            }),
        }
    }
}
