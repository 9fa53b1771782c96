//! Wiring shared by the guard functions: telemetry, configuration, clients, the runtime loop.
//! Each function's `main.rs` calls [`run_guard`] and nothing else.
//!
//! Environment (see the README's table):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | [`POLICY_ENV`] `IDC_GUARD_POLICY` | `/opt/guardrail.toml` | the policy file |
//! | [`STATE_TABLE_ENV`] `IDC_GUARD_STATE_TABLE` | none | the safety rails' DynamoDB table; unset: every correction is withheld (detect only) |
//! | [`KILL_SWITCH_ENV`] `IDC_GUARD_KILL_SWITCH` | `/idc-guard/mode` | the kill switch's SSM parameter (`enforce`, `detect` or `off`) |
//! | [`FLAP_LIMIT_ENV`] `IDC_GUARD_FLAP_LIMIT` | `3/1h` | remediations per (resource, rule) per rolling window |
//! | [`BREAKER_LIMIT_ENV`] `IDC_GUARD_BREAKER_LIMIT` | `20/10m` | remediations organisation-wide per rolling window before the breaker opens |

use serde_json::value::RawValue;

use crate::adapters::{DynamoState, IdentityStoreApi, SsmParameters, SsoAdmin};
use crate::date::Date;
use crate::engine::Finding;
use crate::guard::{Decision, Gate, Guard, GuardError, GuardReport, LoggingNotifier, OutcomeKind};
use crate::model::Change;
use crate::policy::Policy;
use crate::retry::RetryPolicy;
use crate::safety::{Limit, SafetyConfig, SafetyGate};

/// The environment variable naming the policy file.
pub const POLICY_ENV: &str = "IDC_GUARD_POLICY";
/// Where the policy layer puts the file when the variable is unset.
pub const DEFAULT_POLICY_PATH: &str = "/opt/guardrail.toml";
/// The environment variable naming the safety rails' DynamoDB table.
pub const STATE_TABLE_ENV: &str = "IDC_GUARD_STATE_TABLE";
/// The environment variable naming the kill switch's SSM parameter (default
/// [`crate::safety::DEFAULT_KILL_SWITCH`]).
pub const KILL_SWITCH_ENV: &str = "IDC_GUARD_KILL_SWITCH";
/// The environment variable holding the flap limit, e.g. `3/1h`.
pub const FLAP_LIMIT_ENV: &str = "IDC_GUARD_FLAP_LIMIT";
/// The environment variable holding the breaker's limit, e.g. `20/10m`.
pub const BREAKER_LIMIT_ENV: &str = "IDC_GUARD_BREAKER_LIMIT";

/// The gate of the guard functions: the safety rails, or, when no state table is configured,
/// nothing but withholding (the gate fails closed).
#[derive(Debug)]
pub enum FunctionGate {
    /// Kill switch, modes, breaker, flap limit, idempotency.
    Safety(Box<SafetyGate<SsmParameters, DynamoState>>),
    /// Every correction withheld, for this reason.
    Unconfigured(String),
}

impl Gate for FunctionGate {
    async fn decide(&self, change: &Change, finding: &Finding) -> Decision {
        match self {
            Self::Safety(gate) => gate.decide(change, finding).await,
            Self::Unconfigured(reason) => Decision::Withhold(reason.clone()),
        }
    }

    async fn settle(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) {
        if let Self::Safety(gate) = self {
            gate.settle(change, finding, outcome).await;
        }
    }
}

/// The guard every function runs.
pub type FunctionGuard = Guard<SsoAdmin, IdentityStoreApi, LoggingNotifier, FunctionGate>;

/// The safety settings from the environment (defaults for what is unset) and the state table,
/// if one is named.
pub fn safety_config() -> Result<(Option<String>, SafetyConfig), lambda_runtime::Error> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut config = SafetyConfig::default();
    if let Some(name) = var(KILL_SWITCH_ENV) {
        config.kill_switch = name;
    }
    if let Some(text) = var(FLAP_LIMIT_ENV) {
        config.flap = Limit::parse(&text).map_err(|e| format!("{FLAP_LIMIT_ENV}: {e}"))?;
    }
    if let Some(text) = var(BREAKER_LIMIT_ENV) {
        config.breaker = Limit::parse(&text).map_err(|e| format!("{BREAKER_LIMIT_ENV}: {e}"))?;
    }
    Ok((var(STATE_TABLE_ENV), config))
}

/// JSON logs without timestamps (CloudWatch adds them), level from `AWS_LAMBDA_LOG_LEVEL`, then
/// `RUST_LOG`, then `info`.
pub fn init_telemetry() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned())
        .to_lowercase();
    let filter =
        tracing_subscriber::EnvFilter::try_new(&level).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .without_time()
        .with_current_span(false)
        .with_target(false)
        .try_init();
}

/// Loads the policy named by [`POLICY_ENV`] (or the layer's default path).
pub fn load_policy() -> Result<Policy, lambda_runtime::Error> {
    let path = std::env::var(POLICY_ENV).unwrap_or_else(|_| DEFAULT_POLICY_PATH.to_owned());
    Policy::load(std::path::Path::new(&path)).map_err(|e| format!("policy {path}: {e}").into())
}

/// Handles one invocation: bad input is logged and acknowledged (retrying cannot fix it);
/// a retryable AWS failure is returned so Lambda retries and then parks the event.
pub async fn handle(guard: &FunctionGuard, payload: &RawValue) -> Result<Option<GuardReport>, lambda_runtime::Error> {
    // Boxed: the guard's future is deep, and the runtime's would otherwise exceed the layout limit.
    match Box::pin(guard.handle(payload.get(), Date::today_utc())).await {
        Ok(report) => {
            tracing::info!(event_id = %report.event_id, verdict = ?report.verdict, outcomes = report.outcomes.len(), "handled");
            Ok(Some(report))
        }
        Err(GuardError::BadInput(e)) => {
            tracing::error!(error = %e, "malformed event: ignored, no call made");
            Ok(None)
        }
        Err(e @ GuardError::Retryable(_)) => {
            tracing::error!(error = %e, "retryable failure: the event will be retried");
            Err(e.into())
        }
    }
}

/// Builds everything once, then serves invocations.
pub async fn run_guard() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let policy = load_policy()?;
    // Our own retry policy (jittered backoff, ConflictException included) replaces the SDK's,
    // so one attempt is one call and the budget is not multiplied.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let (table, config) = safety_config()?;
    let gate = match table {
        Some(table) => {
            tracing::info!(%table, kill_switch = %config.kill_switch, flap = %config.flap, breaker = %config.breaker, "safety rails");
            // The kill switch is read on the event's path: a short retry, then detect.
            let quick = RetryPolicy {
                attempts: 2,
                ..RetryPolicy::default()
            };
            FunctionGate::Safety(Box::new(SafetyGate::new(
                SsmParameters::new(aws_sdk_ssm::Client::new(&sdk), quick),
                DynamoState::new(aws_sdk_dynamodb::Client::new(&sdk), table, RetryPolicy::default()),
                crate::safety::SystemClock,
                config,
            )))
        }
        None => {
            let reason = format!("no safety state table is configured ({STATE_TABLE_ENV} is unset): detect only");
            tracing::error!("{reason}");
            FunctionGate::Unconfigured(reason)
        }
    };
    let guard = Guard::with_gate(
        SsoAdmin::new(aws_sdk_ssoadmin::Client::new(&sdk), RetryPolicy::default()),
        IdentityStoreApi::new(aws_sdk_identitystore::Client::new(&sdk), RetryPolicy::default()),
        LoggingNotifier,
        policy,
        gate,
    );
    let guard = &guard;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Box<RawValue>>| async move { handle(guard, &event.payload).await },
    ))
    .await
}
