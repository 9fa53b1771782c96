//! Wiring shared by the guard functions: telemetry, configuration, clients, the runtime loop.
//! Each function's `main.rs` calls [`run_guard`] and nothing else.

use serde_json::value::RawValue;

use crate::adapters::{IdentityStoreApi, SsoAdmin};
use crate::date::Date;
use crate::guard::{Guard, GuardError, GuardReport, LoggingNotifier};
use crate::policy::Policy;
use crate::retry::RetryPolicy;

/// The environment variable naming the policy file.
pub const POLICY_ENV: &str = "IDC_GUARD_POLICY";
/// Where the policy layer puts the file when the variable is unset.
pub const DEFAULT_POLICY_PATH: &str = "/opt/guardrail.toml";

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
pub async fn handle(
    guard: &Guard<SsoAdmin, IdentityStoreApi, LoggingNotifier>,
    payload: &RawValue,
) -> Result<Option<GuardReport>, lambda_runtime::Error> {
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
    let guard = Guard::new(
        SsoAdmin::new(aws_sdk_ssoadmin::Client::new(&sdk), RetryPolicy::default()),
        IdentityStoreApi::new(aws_sdk_identitystore::Client::new(&sdk), RetryPolicy::default()),
        LoggingNotifier,
        policy,
    );
    let guard = &guard;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Box<RawValue>>| async move { handle(guard, &event.payload).await },
    ))
    .await
}
