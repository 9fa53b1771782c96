//! Wiring shared by the guard functions: telemetry, configuration, clients, the runtime loop.
//! Each guard function's `main.rs` calls [`run_guard`] and nothing else; slack-notifier's calls
//! [`run_slack_notifier`].
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
//! | [`TOPIC_ARN_ENV`] `IDC_GUARD_TOPIC_ARN` | none | the findings SNS topic; unset: outcomes are only logged |
//! | [`SLACK_SECRET_ENV`] `IDC_GUARD_SLACK_SECRET` | none (required by slack-notifier) | the Secrets Manager secret holding `{"channel key": "webhook URL"}` |
//! | [`ASSIGNMENTS_ENV`] `IDC_GUARD_ASSIGNMENTS` | `/opt/assignments.toml` | drift-reconciler: the desired-assignments file; the default path may be absent (rules only), a path set explicitly must exist |
//! | [`RATE_ENV`] `IDC_GUARD_RATE` | `15` | drift-reconciler: sso-admin requests per second (token bucket) |
//! | [`CONCURRENCY_ENV`] `IDC_GUARD_CONCURRENCY` | `8` | drift-reconciler: concurrent reads and outstanding corrections at most |
//!
//! Owners (who is told about a finding) are configured in the policy file's `[owners]` section.

use serde_json::value::RawValue;

use crate::adapters::{DynamoState, IdentityStoreApi, SnsNotifier, SsmParameters, SsoAdmin};
use crate::date::Date;
use crate::engine::Finding;
use crate::guard::{Decision, Gate, Guard, GuardError, GuardReport, LoggingNotifier, Outcome, OutcomeKind};
use crate::model::Change;
use crate::policy::Policy;
use crate::ports::{Notifier, Remote};
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
/// The environment variable naming the findings SNS topic.
pub const TOPIC_ARN_ENV: &str = "IDC_GUARD_TOPIC_ARN";

/// The environment variable naming the desired-assignments file (drift-reconciler).
pub const ASSIGNMENTS_ENV: &str = "IDC_GUARD_ASSIGNMENTS";
/// Where the policy layer puts the desired-assignments file when the variable is unset.
pub const DEFAULT_ASSIGNMENTS_PATH: &str = "/opt/assignments.toml";
/// The environment variable holding the sso-admin request rate (drift-reconciler).
pub const RATE_ENV: &str = "IDC_GUARD_RATE";
/// The environment variable holding the concurrency bound (drift-reconciler).
pub const CONCURRENCY_ENV: &str = "IDC_GUARD_CONCURRENCY";

/// The environment variable naming the Slack webhook secret (slack-notifier).
pub const SLACK_SECRET_ENV: &str = "IDC_GUARD_SLACK_SECRET";

/// slack-notifier: reads the webhook secret once, then posts each SNS notification's finding to
/// its owner's channel. Errors (5xx, timeouts, rate limits beyond the budget) are returned so
/// Lambda retries and then parks the event; they never contain a webhook URL.
pub async fn run_slack_notifier() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let secret_id = std::env::var(SLACK_SECRET_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("{SLACK_SECRET_ENV} is unset"))?;
    let sdk = crate::adapters::sdk_config().await;
    let secrets =
        crate::adapters::SecretsManager::new(aws_sdk_secretsmanager::Client::new(&sdk), RetryPolicy::default());
    let text = secrets
        .secret_string(&secret_id)
        .await
        .map_err(|e| format!("Slack secret {secret_id}: {e}"))?
        .ok_or_else(|| format!("Slack secret {secret_id} does not exist"))?;
    let webhooks = crate::notify::webhook::Webhooks::parse(&text).map_err(|e| format!("{secret_id}: {e}"))?;
    tracing::info!(?webhooks, "Slack channels");
    let poster = crate::notify::webhook::SlackPoster::new(webhooks, std::time::Duration::from_secs(5))?;
    let poster = &poster;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            // Leave a second of the invocation's budget for the runtime.
            let left = event
                .context
                .deadline()
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default()
                .saturating_sub(std::time::Duration::from_secs(1));
            let deadline = std::time::Instant::now() + left;
            match poster.handle_sns(&event.payload, deadline).await {
                Ok(deliveries) => Ok(deliveries.len()),
                Err(e) => {
                    tracing::error!(error = %e, "Slack delivery failed: the event will be retried");
                    Err(lambda_runtime::Error::from(e))
                }
            }
        },
    ))
    .await
}

/// The notifier of the guard functions: SNS when a topic is configured, logs otherwise.
#[derive(Debug)]
pub enum FunctionNotifier {
    /// The findings topic.
    Sns(Box<SnsNotifier>),
    /// Structured logs only.
    Log(LoggingNotifier),
}

impl Notifier for FunctionNotifier {
    async fn publish(&self, outcome: &Outcome) -> Remote<()> {
        match self {
            Self::Sns(sns) => {
                let sent = sns.publish(outcome).await;
                // The log line stays, so an outcome is visible even if publishing fails.
                let _ = LoggingNotifier.publish(outcome).await;
                sent
            }
            Self::Log(log) => log.publish(outcome).await,
        }
    }

    async fn announce(&self, notice: &crate::notify::Notice) -> Remote<()> {
        match self {
            Self::Sns(sns) => sns.announce(notice).await,
            Self::Log(log) => log.announce(notice).await,
        }
    }

    fn routes_by_owner(&self) -> bool {
        matches!(self, Self::Sns(_))
    }
}

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

    async fn first_report(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) -> bool {
        match self {
            Self::Safety(gate) => gate.first_report(change, finding, outcome).await,
            // No table: nothing to remember publications in; publish (rather twice than never).
            Self::Unconfigured(_) => true,
        }
    }

    async fn report_failed(&self, change: &Change, finding: &Finding, outcome: &OutcomeKind) {
        if let Self::Safety(gate) = self {
            gate.report_failed(change, finding, outcome).await;
        }
    }
}

/// The guard every function runs.
pub type FunctionGuard = Guard<SsoAdmin, IdentityStoreApi, FunctionNotifier, FunctionGate>;

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

/// The gate of a function: the safety rails over the table [`STATE_TABLE_ENV`] names, or, with
/// none, nothing but withholding (fail closed).
fn function_gate(sdk: &aws_config::SdkConfig) -> Result<FunctionGate, lambda_runtime::Error> {
    let (table, config) = safety_config()?;
    Ok(match table {
        Some(table) => {
            tracing::info!(%table, kill_switch = %config.kill_switch, flap = %config.flap, breaker = %config.breaker, "safety rails");
            // The kill switch is read on the event's path: a short retry, then detect.
            let quick = RetryPolicy {
                attempts: 2,
                ..RetryPolicy::default()
            };
            FunctionGate::Safety(Box::new(SafetyGate::new(
                SsmParameters::new(aws_sdk_ssm::Client::new(sdk), quick),
                DynamoState::new(aws_sdk_dynamodb::Client::new(sdk), table, RetryPolicy::default()),
                crate::safety::SystemClock,
                config,
            )))
        }
        None => {
            let reason = format!("no safety state table is configured ({STATE_TABLE_ENV} is unset): detect only");
            tracing::error!("{reason}");
            FunctionGate::Unconfigured(reason)
        }
    })
}

/// The notifier of a function: the findings topic [`TOPIC_ARN_ENV`] names, routed by the
/// policy's owners, or logs only.
fn function_notifier(sdk: &aws_config::SdkConfig, policy: &Policy) -> FunctionNotifier {
    match std::env::var(TOPIC_ARN_ENV).ok().filter(|v| !v.trim().is_empty()) {
        Some(topic) => {
            let owners = policy.owners.clone();
            tracing::info!(%topic, default_owner = %owners.default_owner, owner_tag = %owners.tag_key, "findings topic");
            FunctionNotifier::Sns(Box::new(SnsNotifier::new(
                aws_sdk_sns::Client::new(sdk),
                topic,
                owners,
                RetryPolicy::default(),
            )))
        }
        None => {
            tracing::warn!("no findings topic is configured ({TOPIC_ARN_ENV} is unset): outcomes are only logged");
            FunctionNotifier::Log(LoggingNotifier)
        }
    }
}

/// Builds everything once, then serves invocations.
pub async fn run_guard() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let policy = load_policy()?;
    // Our own retry policy (jittered backoff, ConflictException included) replaces the SDK's,
    // so one attempt is one call and the budget is not multiplied.
    let sdk = crate::adapters::sdk_config().await;
    let gate = function_gate(&sdk)?;
    let notifier = function_notifier(&sdk, &policy);
    let guard = Guard::with_gate(
        SsoAdmin::new(aws_sdk_ssoadmin::Client::new(&sdk), RetryPolicy::default()),
        IdentityStoreApi::new(aws_sdk_identitystore::Client::new(&sdk), RetryPolicy::default()),
        notifier,
        policy,
        gate,
    );
    let guard = &guard;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Box<RawValue>>| async move { handle(guard, &event.payload).await },
    ))
    .await
}

/// The drift reconciler's settings from the environment: the desired file (`None`: absent),
/// the request rate and the concurrency bound.
pub fn reconciler_config() -> Result<(Option<std::path::PathBuf>, u32, usize), lambda_runtime::Error> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let desired = match var(ASSIGNMENTS_ENV) {
        // Named explicitly: it must exist (a missing file then reads as invalid and refuses).
        Some(path) => Some(std::path::PathBuf::from(path)),
        None => {
            let default = std::path::PathBuf::from(DEFAULT_ASSIGNMENTS_PATH);
            default.exists().then_some(default)
        }
    };
    let rate = match var(RATE_ENV) {
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|r| (1..=20).contains(r))
            .ok_or_else(|| format!("{RATE_ENV}: {v:?} is not a rate of 1 to 20 requests per second"))?,
        None => crate::pace::DEFAULT_RATE,
    };
    let concurrency = match var(CONCURRENCY_ENV) {
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|c| (1..=10).contains(c))
            .ok_or_else(|| format!("{CONCURRENCY_ENV}: {v:?} is not a bound of 1 to 10"))?,
        None => crate::pace::DEFAULT_CONCURRENCY,
    };
    Ok((desired, rate, concurrency))
}

/// Whether an invocation asks for a plan only: `{"dry_run": true}`. A scheduled EventBridge
/// event (or anything else) runs for real.
pub fn is_dry_run(payload: &serde_json::Value) -> bool {
    payload
        .get("dry_run")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// drift-reconciler: builds everything once, then runs one reconciliation per invocation
/// (scheduled, default hourly; `{"dry_run": true}` plans only). The run report is printed as one
/// JSON line and returned; drift is published as one finding through the notifier.
pub async fn run_reconciler() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let policy = load_policy()?;
    let (desired_path, rate, concurrency) = reconciler_config()?;
    let sdk = crate::adapters::sdk_config().await;
    let counter = crate::adapters::CallCounter::default();
    let pacer = std::sync::Arc::new(crate::pace::Pacer::per_second(rate));
    let sso = aws_sdk_ssoadmin::Client::from_conf(
        aws_sdk_ssoadmin::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let ids = aws_sdk_identitystore::Client::from_conf(
        aws_sdk_identitystore::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let orgs = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let gate = function_gate(&sdk)?;
    let notifier = function_notifier(&sdk, &policy);
    let identity_store = IdentityStoreApi::new(ids, RetryPolicy::default());
    let guard = Guard::with_gate(
        SsoAdmin::new(sso, RetryPolicy::default()).with_pacer(pacer),
        identity_store.clone(),
        notifier,
        policy,
        gate,
    );
    let organization = crate::adapters::Organizations::new(orgs, RetryPolicy::default());
    let (guard, identity_store, organization, counter) = (&guard, &identity_store, &organization, &counter);
    let desired_path = &desired_path;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            // Boxed: the run's future is deep, and the runtime's would otherwise exceed the layout limit.
            Box::pin(reconcile_once(
                guard,
                identity_store,
                organization,
                counter,
                desired_path.as_deref(),
                concurrency,
                is_dry_run(&event.payload),
            ))
        },
    ))
    .await
}

/// One invocation of drift-reconciler.
async fn reconcile_once(
    guard: &Guard<SsoAdmin, IdentityStoreApi, FunctionNotifier, FunctionGate>,
    identity_store: &IdentityStoreApi,
    organization: &crate::adapters::Organizations,
    counter: &crate::adapters::CallCounter,
    desired_path: Option<&std::path::Path>,
    concurrency: usize,
    dry_run: bool,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let mut options = crate::reconcile::RunOptions::now(dry_run);
    options.concurrency = concurrency;
    options.inventory.concurrency = concurrency;
    let before = counter.by_operation();
    let instance = resolve_instance(guard).await?;
    let file = desired_path.map(crate::desired::load);
    let mut report = Box::pin(crate::reconcile::run(
        guard,
        identity_store,
        organization,
        &instance,
        file,
        &options,
    ))
    .await
    .map_err(|e| lambda_runtime::Error::from(e.to_string()))?;
    let mut calls = counter.by_operation();
    for (op, n) in before {
        if let Some(c) = calls.get_mut(&op) {
            *c -= n.min(*c);
        }
    }
    calls.retain(|_, n| *n > 0);
    report.set_api_calls(calls);
    let line = serde_json::to_string(&report).map_err(|e| lambda_runtime::Error::from(e.to_string()))?;
    // The run report: one JSON line in the function's log.
    println!("{line}");
    serde_json::to_value(&report).map_err(|e| lambda_runtime::Error::from(e.to_string()))
}

/// The instance: the policy's, else the only one ListInstances returns.
pub async fn resolve_instance<S: crate::ports::IdentityStore, N: Notifier, G: Gate>(
    guard: &Guard<SsoAdmin, S, N, G>,
) -> Result<crate::ports::InstanceRef, lambda_runtime::Error> {
    use crate::ports::InstanceInventory;
    let instances = guard
        .identity_center()
        .instances()
        .await
        .map_err(|e| lambda_runtime::Error::from(e.to_string()))?;
    let wanted = guard.policy().instance_arn.as_ref();
    instances
        .into_iter()
        .find(|i| wanted.is_none_or(|w| *w == i.instance_arn))
        .ok_or_else(|| lambda_runtime::Error::from("no Identity Center instance (or not the policy's) was found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_dry_run_plans_only() {
        assert!(is_dry_run(&serde_json::json!({"dry_run": true})));
        assert!(!is_dry_run(&serde_json::json!({"dry_run": false})));
        // The scheduled EventBridge event runs for real.
        assert!(!is_dry_run(&serde_json::json!({
            "version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}
        })));
        assert!(!is_dry_run(&serde_json::json!({"dry_run": "yes"})));
    }
}
