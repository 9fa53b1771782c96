//! The Lambda runtime loops (cargo feature `lambda`, so the CLI does not link
//! `lambda_runtime`). Each function's `main.rs` calls [`run`] with its own crate name; what it
//! runs is [`crate::wiring::FUNCTIONS`]' entry for that name, wired by [`crate::wiring`].
//!
//! Errors reach Lambda with an `error_type` of `Retryable` (AWS may recover: Lambda retries,
//! then parks the event in the dead-letter queue), `BadInput` or `Bug` (a deployment mistake or a
//! defect). A malformed guard event is logged and acknowledged instead: retrying cannot fix it.

use std::time::{Duration, Instant, SystemTime};

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::value::RawValue;

use crate::adapters::SecretsManager;
use crate::config::{Config, Kind};
use crate::domain::Date;
use crate::guard::{GuardError, GuardReport};
use crate::notify::webhook::{SlackPoster, Webhooks};
use crate::reconcile::{RunOptions, RunReport};
use crate::retry::RetryPolicy;
use crate::wiring::{self, ErrorClass, LiveGuard, Pacing, Session, WiringError, WithoutTable};

/// An invocation's (or the start-up's) error, as Lambda records it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct FunctionError {
    /// How to treat it.
    pub class: ErrorClass,
    /// What went wrong (never a secret or a webhook URL).
    pub message: String,
}

impl FunctionError {
    fn new(class: ErrorClass, error: &dyn std::error::Error) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        Self { class, message }
    }
}

impl From<WiringError> for FunctionError {
    fn from(e: WiringError) -> Self {
        Self::new(e.class(), &e)
    }
}

impl From<FunctionError> for Diagnostic {
    fn from(e: FunctionError) -> Self {
        Diagnostic {
            error_type: e.class.as_str().to_owned(),
            error_message: e.message,
        }
    }
}

/// Runs the function named `function` (its crate name): builds everything once, then serves
/// invocations.
pub async fn run(function: &str) -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let kind = wiring::kind_of(function).ok_or_else(|| format!("{function} is not one of idc-guard's functions"))?;
    let config = Config::from_env(kind)
        .map_err(WiringError::from)
        .map_err(FunctionError::from)?;
    match kind {
        Kind::Guard => run_guard(&config).await,
        Kind::SlackNotifier => run_slack_notifier(&config).await,
        Kind::DriftReconciler => run_reconciler(&config).await,
        Kind::Cli => Err(format!("{function}: the CLI is not a function").into()),
    }
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

/// An event guard.
async fn run_guard(config: &Config) -> Result<(), lambda_runtime::Error> {
    let policy = wiring::load_policy(config).map_err(FunctionError::from)?;
    let sdk = wiring::sdk_config().await;
    let publisher = wiring::publisher(config, &sdk, &policy);
    let session = Session::build(config, policy, &sdk, Pacing::None, WithoutTable::Withhold, publisher);
    let guard = &session.guard;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        handle(guard, &event.payload).await
    }))
    .await
}

/// Handles one invocation: bad input is logged and acknowledged (retrying cannot fix it);
/// a retryable AWS failure is returned so Lambda retries and then parks the event.
pub async fn handle(guard: &LiveGuard, payload: &RawValue) -> Result<Option<GuardReport>, FunctionError> {
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
            Err(FunctionError::new(ErrorClass::Retryable, &e))
        }
    }
}

/// slack-notifier: reads the webhook secret once, then posts each SNS notification's finding to
/// its owner's channel. Errors (5xx, timeouts, rate limits beyond the budget) are returned so
/// Lambda retries and then parks the event; they never contain a webhook URL.
async fn run_slack_notifier(config: &Config) -> Result<(), lambda_runtime::Error> {
    let secret_id = config.slack_secret.clone().unwrap_or_default();
    let sdk = wiring::sdk_config().await;
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&sdk), RetryPolicy::default());
    let text = secrets
        .secret_string(&secret_id)
        .await
        .map_err(|e| FunctionError::new(ErrorClass::of_remote(&e), &e))?
        .ok_or_else(|| format!("Slack secret {secret_id} does not exist"))?;
    let webhooks = Webhooks::parse(&text).map_err(|e| FunctionError::new(ErrorClass::Bug, &e))?;
    tracing::info!(?webhooks, "Slack channels");
    let poster =
        SlackPoster::new(webhooks, Duration::from_secs(5)).map_err(|e| FunctionError::new(ErrorClass::Bug, &e))?;
    let poster = &poster;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        // Leave a second of the invocation's budget for the runtime.
        let left = event
            .context
            .deadline()
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(Duration::from_secs(1));
        match poster.handle_sns(&event.payload, Instant::now() + left).await {
            Ok(deliveries) => Ok(deliveries.len()),
            Err(e) => {
                tracing::error!(error = %e, "Slack delivery failed: the event will be retried");
                Err(FunctionError::new(ErrorClass::Retryable, &e))
            }
        }
    }))
    .await
}

/// drift-reconciler: builds everything once, then runs one reconciliation per invocation
/// (scheduled, default hourly; `{"dry_run": true}` plans only). The run report is printed as one
/// JSON line and returned; drift is published as one finding through the publisher. The
/// frequent sweep (`{"task": "expire-revocations"}`, every 15 minutes) only removes the
/// revocation statements whose sessions have expired.
async fn run_reconciler(config: &Config) -> Result<(), lambda_runtime::Error> {
    let policy = wiring::load_policy(config).map_err(FunctionError::from)?;
    let sdk = wiring::sdk_config().await;
    let publisher = wiring::publisher(config, &sdk, &policy);
    let session = Session::build(
        config,
        policy,
        &sdk,
        Pacing::Configured,
        WithoutTable::Withhold,
        publisher,
    );
    let session = &session;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        // Boxed: the run's future is deep, and the runtime's would otherwise exceed the layout limit.
        Box::pin(async move {
            if wiring::is_sweep(&event.payload) {
                sweep_once(session).await
            } else {
                let report = reconcile_once(session, config, is_dry_run(&event.payload)).await?;
                Ok(serde_json::to_value(&report).unwrap_or_default())
            }
        })
    }))
    .await
}

/// Whether an invocation asks for a plan only: `{"dry_run": true}`. A scheduled EventBridge
/// event (or anything else) runs for real.
pub fn is_dry_run(payload: &serde_json::Value) -> bool {
    payload
        .get("dry_run")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// One sweep of expired revocations: what was removed, printed as one JSON line and returned.
/// The notes failing to read fails the invocation (retried by the next sweep anyway).
async fn sweep_once(session: &Session) -> Result<serde_json::Value, FunctionError> {
    let instance = session.instance(None).await?;
    let (reports, error) = session.guard.sweep_revocations(&instance.instance_arn, &[]).await;
    let out = serde_json::json!({ "task": wiring::SWEEP_TASK, "revocations": reports });
    println!("{out}");
    match error {
        Some(e) => Err(FunctionError::new(ErrorClass::of_remote(&e), &e)),
        None => Ok(out),
    }
}

/// One invocation of drift-reconciler.
async fn reconcile_once(session: &Session, config: &Config, dry_run: bool) -> Result<RunReport, FunctionError> {
    let mut options = RunOptions::now(dry_run);
    options.concurrency = config.concurrency;
    options.inventory.concurrency = config.concurrency;
    let before = session.calls.by_operation();
    let instance = session.instance(None).await?;
    let file = config.assignments.as_deref().map(crate::desired::load);
    let mut report = Box::pin(crate::reconcile::run(
        &session.guard,
        &session.directory,
        &session.organization,
        &instance,
        file,
        &options,
    ))
    .await
    .map_err(|e| FunctionError::new(ErrorClass::of_remote(&e.0), &e))?;
    report.set_api_calls(session.calls.since(&before));
    // The run report: one JSON line in the function's log.
    println!("{}", serde_json::to_string(&report).unwrap_or_default());
    Ok(report)
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

    #[test]
    fn lambda_sees_the_error_class() {
        let d: Diagnostic = FunctionError {
            class: ErrorClass::Retryable,
            message: "x".to_owned(),
        }
        .into();
        assert_eq!(d.error_type, "Retryable");
    }
}
