//! The Lambda runtime loops (cargo feature `lambda`, so the CLI does not link
//! `lambda_runtime`). Each function's `main.rs` calls [`run`] with its own crate name; what it
//! runs is [`crate::wiring::FUNCTIONS`]' entry for that name, wired by [`crate::wiring`].
//!
//! Errors reach Lambda with an `error_type` of `Retryable` (AWS may recover: Lambda retries,
//! then parks the event in the dead-letter queue), `BadInput` or `Bug` (a deployment mistake or a
//! defect). A malformed guard event is logged and acknowledged instead: retrying cannot fix it.
//!
//! The guards are fed by an SQS queue each (issue #15): an invocation is a batch, answered with
//! the messages to return to the queue (`batchItemFailures`: a retryable failure, or time running
//! out), so one event's failure never repeats the others. A bare EventBridge envelope (a direct
//! invocation) is still handled alone, as before.
//!
//! usage-recorder (issue #17) is fed the same way, by its own queue: each use is one conditional
//! write ([`crate::usage::record`]); only a failed write returns its message.
//!
//! Metrics (issue #18) are log lines: after each guard invocation and each reconciler run, what
//! it reported is counted ([`crate::metrics`]) and written to standard output in CloudWatch's
//! embedded metric format, with the throttling answers the adapters saw meanwhile.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::value::RawValue;

use crate::adapters::SecretsManager;
use crate::config::{Config, Kind};
use crate::domain::Date;
use crate::guard::{GuardError, GuardReport, Message};
use crate::metrics::{self, Datapoints};
use crate::notify::webhook::{SlackPoster, Webhooks};
use crate::reconcile::{RunOptions, RunReport};
use crate::retry::RetryPolicy;
use crate::usage::record::{Recorded, Recorder, Tally};
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
        Kind::Guard => run_guard(&config, function).await,
        Kind::SlackNotifier => run_slack_notifier(&config).await,
        Kind::DriftReconciler => run_reconciler(&config).await,
        Kind::UsageRecorder => run_usage_recorder(&config).await,
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

/// An event guard: every sso-admin and identity store request paced at this process's part of
/// the configured share (`IDC_GUARD_API_SHARE`).
async fn run_guard(config: &Config, function: &str) -> Result<(), lambda_runtime::Error> {
    let policy = wiring::load_policy(config).map_err(FunctionError::from)?;
    let sdk = wiring::sdk_config().await;
    let publisher = wiring::publisher(config, &sdk, &policy);
    let session = Session::build(config, policy, &sdk, Pacing::Share, WithoutTable::Withhold, publisher);
    tracing::info!(
        api_share = config.api_share,
        requests_per_second = wiring::guard_rate(config.api_share),
        "paced"
    );
    let guard = &session.guard;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        let deadline = start_by(event.context.deadline());
        invocation(guard, function, event.payload.get(), deadline, &mut std::io::stdout()).await
    }))
    .await
}

/// No group of a batch is started once less than this is left of the invocation (or a quarter
/// of it, for a short one): a group's reads, correction, revocation and read-back, paced, fit in it.
pub const BATCH_MARGIN: Duration = Duration::from_secs(60);

/// The instant after which a batch starts nothing new; `None` (no limit) for a deadline that has
/// already passed when the invocation starts, which Lambda never sends (a local runtime stand-in
/// may): judging the batch is better than returning all of it unjudged, forever.
fn start_by(deadline: SystemTime) -> Option<Instant> {
    let Ok(left) = deadline.duration_since(SystemTime::now()) else {
        tracing::warn!("the invocation's deadline has passed at its start: no time limit for this batch");
        return None;
    };
    Some(Instant::now() + left.saturating_sub(BATCH_MARGIN.min(left / 4)))
}

/// One invocation of the guard `function`: an SQS batch answers the messages to return to the
/// queue; anything else is one event, answered with its report (or `null` for a malformed one).
/// Its metrics go to `metrics` (standard output in Lambda) as EMF lines.
pub async fn invocation(
    guard: &LiveGuard,
    function: &str,
    payload: &str,
    deadline: Option<Instant>,
    metrics: &mut (dyn Write + Send),
) -> Result<serde_json::Value, FunctionError> {
    let throttled = crate::adapters::throttles();
    let (answer, mut points) = match sqs_batch(payload) {
        Some(batch) => {
            let (response, points) = handle_sqs(guard, function, &batch, deadline).await;
            (Ok(serde_json::to_value(response).unwrap_or_default()), points)
        }
        None => {
            let handled = handle(guard, payload).await;
            let points = match &handled {
                Ok(Some(report)) => metrics::of_guard(function, [report], unix_ms()),
                _ => Datapoints::default(),
            };
            (handled.map(|r| serde_json::to_value(r).unwrap_or_default()), points)
        }
    };
    points.extend(&metrics::of_throttles(&throttled, &crate::adapters::throttles()));
    emit(&points, metrics);
    answer
}

/// Writes `points` to `out` as EMF lines; a failed write is logged (metrics never fail an
/// invocation).
pub fn emit(points: &Datapoints, out: &mut dyn Write) {
    if points.is_empty() {
        return;
    }
    if let Err(e) = points.write_to(out, unix_ms()) {
        tracing::warn!(error = %e, "the metrics could not be written");
    }
}

/// The current time, milliseconds since the epoch (EMF's `Timestamp`).
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The payload as an SQS batch, when it is one (every record from `aws:sqs`).
pub fn sqs_batch(payload: &str) -> Option<SqsEvent> {
    let batch: SqsEvent = serde_json::from_str(payload).ok()?;
    let from_sqs = !batch.records.is_empty()
        && batch
            .records
            .iter()
            .all(|r| r.event_source.as_deref() == Some("aws:sqs"));
    from_sqs.then_some(batch)
}

/// Handles an SQS batch for the guard `function`; the answer lists the messages to return to the
/// queue, with the batch's metrics. A malformed message is logged and acknowledged (retrying
/// cannot fix it).
pub async fn handle_sqs(
    guard: &LiveGuard,
    function: &str,
    batch: &SqsEvent,
    deadline: Option<Instant>,
) -> (SqsBatchResponse, Datapoints) {
    let messages: Vec<Message<'_>> = batch
        .records
        .iter()
        .map(|r| Message {
            id: r.message_id.as_deref().unwrap_or_default(),
            body: r.body.as_deref().unwrap_or_default(),
        })
        .collect();
    tracing::info!(
        messages = messages.len(),
        start_by_ms = deadline.map(|d| d.saturating_duration_since(Instant::now()).as_millis()),
        "batch"
    );
    let handled = Box::pin(guard.handle_batch(&messages, Date::today_utc(), deadline)).await;
    let mut response = SqsBatchResponse::default();
    for h in &handled {
        match &h.result {
            Ok(report) => {
                tracing::info!(message_id = %h.id, event_id = %report.event_id, verdict = ?report.verdict, outcomes = report.outcomes.len(), triaged = report.triaged, coalesced_with = report.coalesced_with.as_deref(), "handled");
            }
            Err(GuardError::BadInput(e)) => {
                tracing::error!(message_id = %h.id, error = %e, "malformed event: ignored, no call made");
            }
            Err(e) => tracing::warn!(message_id = %h.id, error = %e, "returned to the queue"),
        }
    }
    let points = metrics::of_guard(
        function,
        handled.iter().filter_map(|h| h.result.as_ref().ok()),
        unix_ms(),
    );
    for h in handled {
        if h.returns_to_queue() {
            response.add_failure(h.id);
        }
    }
    (response, points)
}

/// Handles one invocation: bad input is logged and acknowledged (retrying cannot fix it);
/// a retryable AWS failure is returned so Lambda retries and then parks the event.
pub async fn handle(guard: &LiveGuard, payload: &str) -> Result<Option<GuardReport>, FunctionError> {
    // Boxed: the guard's future is deep, and the runtime's would otherwise exceed the layout limit.
    match Box::pin(guard.handle(payload, Date::today_utc())).await {
        Ok(report) => {
            tracing::info!(event_id = %report.event_id, verdict = ?report.verdict, outcomes = report.outcomes.len(), triaged = report.triaged, "handled");
            Ok(Some(report))
        }
        Err(GuardError::BadInput(e)) => {
            tracing::error!(error = %e, "malformed event: ignored, no call made");
            Ok(None)
        }
        Err(e) => {
            tracing::error!(error = %e, "retryable failure: the event will be retried");
            Err(FunctionError::new(ErrorClass::Retryable, &e))
        }
    }
}

/// usage-recorder: a DynamoDB client and nothing else (no policy, no Identity Center), then
/// each invocation's uses recorded.
async fn run_usage_recorder(config: &Config) -> Result<(), lambda_runtime::Error> {
    let sdk = wiring::sdk_config().await;
    let store = wiring::usage_store(config, &sdk).map_err(FunctionError::from)?;
    let recorder = Recorder::new(store);
    let recorder = &recorder;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        let throttled = crate::adapters::throttles();
        let answer = usage_invocation(recorder, event.payload.get(), unix_now()).await;
        emit(
            &metrics::of_throttles(&throttled, &crate::adapters::throttles()),
            &mut std::io::stdout(),
        );
        answer
    }))
    .await
}

/// The current time, Unix seconds.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// One usage-recorder invocation at `now`: an SQS batch answers the messages to return to the
/// queue (those whose write failed); anything else is one event, answered with its counts, or an
/// error (`Retryable` when its write failed and may succeed later).
pub async fn usage_invocation<S: crate::ports::UsageStore>(
    recorder: &Recorder<S>,
    payload: &str,
    now: u64,
) -> Result<serde_json::Value, FunctionError> {
    if let Some(batch) = sqs_batch(payload) {
        let messages: Vec<Message<'_>> = batch
            .records
            .iter()
            .map(|r| Message {
                id: r.message_id.as_deref().unwrap_or_default(),
                body: r.body.as_deref().unwrap_or_default(),
            })
            .collect();
        let report = recorder.record_batch(&messages, now).await;
        let mut response = SqsBatchResponse::default();
        for id in report.returned {
            response.add_failure(id);
        }
        return Ok(serde_json::to_value(response).unwrap_or_default());
    }
    let _ = recorder.start(now).await;
    let recorded = recorder.record(payload).await;
    let mut tally = Tally::default();
    tally.add(&recorded);
    match recorded {
        Recorded::Failed(e) => {
            tracing::error!(error = %e, "the use could not be recorded: the event will be retried");
            Err(FunctionError::new(ErrorClass::of_remote(&e), &e))
        }
        Recorded::Malformed(e) => {
            tracing::error!(error = %e, "malformed use: acknowledged, not recorded");
            Ok(serde_json::to_value(tally).unwrap_or_default())
        }
        Recorded::Recorded | Recorded::NotLater | Recorded::Ignored => {
            tracing::info!(
                recorded = tally.recorded,
                not_later = tally.not_later,
                ignored = tally.ignored,
                "usage event"
            );
            Ok(serde_json::to_value(tally).unwrap_or_default())
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
/// JSON line and returned, its metrics as EMF lines; drift is published as one finding through
/// the publisher. The
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
    // Last use per assignment (issue #17): what usage-recorder keeps in the state table.
    let usage = config.state_table.as_deref().map(|t| wiring::state_table(&sdk, t));
    let usage = usage.as_ref();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        // Boxed: the run's future is deep, and the runtime's would otherwise exceed the layout limit.
        Box::pin(async move {
            if wiring::is_sweep(&event.payload) {
                sweep_once(session).await
            } else {
                let throttled = crate::adapters::throttles();
                let run = reconcile_and_note(session, config, usage, is_dry_run(&event.payload)).await;
                // The run's metrics (issue #18), as EMF lines next to its report.
                let mut points = run.as_ref().map(metrics::of_run).unwrap_or_default();
                points.extend(&metrics::of_throttles(&throttled, &crate::adapters::throttles()));
                emit(&points, &mut std::io::stdout());
                Ok(serde_json::to_value(&run?).unwrap_or_default())
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

/// One invocation of drift-reconciler, whose end is noted in the state table (issue #18:
/// `idc-guard doctor` reports the last run and how it ended). A failed note is logged: the run
/// itself stands.
async fn reconcile_and_note(
    session: &Session,
    config: &Config,
    table: Option<&crate::adapters::DynamoState>,
    dry_run: bool,
) -> Result<RunReport, FunctionError> {
    let started = unix_now();
    let result = reconcile_once(session, config, table, dry_run).await;
    if let Some(table) = table {
        let outcome = match &result {
            Ok(report) => crate::safety::RunOutcome::Completed {
                dry_run,
                planned: report.plan.len(),
                unknown: report.unknown.len(),
                refused: report.refused.clone(),
            },
            Err(e) => crate::safety::RunOutcome::Failed { error: e.to_string() },
        };
        let run = crate::safety::LastRun {
            started,
            finished: unix_now(),
            outcome,
        };
        if let Err(e) = crate::safety::note_run(table, &run).await {
            tracing::warn!(error = %e, "the reconciler's last run could not be noted");
        }
    }
    result
}

/// One invocation of drift-reconciler.
async fn reconcile_once(
    session: &Session,
    config: &Config,
    usage: Option<&crate::adapters::DynamoState>,
    dry_run: bool,
) -> Result<RunReport, FunctionError> {
    let mut options = RunOptions::now(dry_run);
    options.concurrency = config.concurrency;
    options.inventory.concurrency = config.concurrency;
    if let Some(store) = usage {
        options.usage = crate::usage::load(store).await;
        if let crate::usage::UsageInput::Failed(e) = &options.usage {
            tracing::warn!(error = %e, "usage data could not be read: dormant-access is undetermined this run");
        }
    }
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
    // The assignments seen for the first time start their dormancy window now.
    if let Some(store) = usage
        && let Err(e) = report.sightings.write(store, options.now).await
    {
        tracing::warn!(error = %e, "the assignments first seen could not be noted; the next run notes them");
    }
    // The run report: one JSON line in the function's log.
    println!("{}", serde_json::to_string(&report).unwrap_or_default());
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::UsageStore;

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
    fn only_a_batch_from_sqs_is_handled_as_one() {
        let record = |source: &str| {
            serde_json::json!({"Records": [{
                "messageId": "m1", "receiptHandle": "r", "body": "{}", "attributes": {},
                "messageAttributes": {}, "md5OfBody": "x", "eventSource": source,
                "eventSourceARN": "arn:aws:sqs:eu-west-1:222222222222:q", "awsRegion": "eu-west-1"
            }]})
            .to_string()
        };
        let batch = sqs_batch(&record("aws:sqs")).unwrap();
        assert_eq!(batch.records[0].message_id.as_deref(), Some("m1"));
        // A CloudTrail log file also has `Records`, of another source; an envelope has none.
        assert!(sqs_batch(&record("sso.amazonaws.com")).is_none());
        assert!(sqs_batch(r#"{"version":"0","detail-type":"AWS API Call via CloudTrail","detail":{}}"#).is_none());
        assert!(sqs_batch(r#"{"Records":[]}"#).is_none());
    }

    #[test]
    fn a_batch_starts_nothing_in_its_last_minute_or_quarter() {
        let now = Instant::now();
        let by = start_by(SystemTime::now() + Duration::from_secs(300)).unwrap();
        assert!(by > now + Duration::from_secs(235) && by <= Instant::now() + Duration::from_secs(240));
        let by = start_by(SystemTime::now() + Duration::from_secs(20)).unwrap();
        assert!(by > now + Duration::from_secs(14) && by <= Instant::now() + Duration::from_secs(15));
        assert_eq!(start_by(SystemTime::now() - Duration::from_secs(1)), None);
    }

    #[tokio::test]
    async fn usage_recorder_answers_a_batch_with_its_failures_and_an_envelope_with_its_counts() {
        let recorder = Recorder::new(crate::safety::MemoryStore::new());
        let fixture = include_str!("../../events/sso.GetRoleCredentials-service-event-ignored.json");
        let batch = serde_json::json!({"Records": [
            {"messageId": "m1", "body": fixture, "eventSource": "aws:sqs"},
            {"messageId": "m2", "body": fixture, "eventSource": "aws:sqs"},
        ]})
        .to_string();
        let answer = usage_invocation(&recorder, &batch, 1_800_000_000).await.unwrap();
        assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
        let answer = usage_invocation(&recorder, fixture, 1_800_000_000).await.unwrap();
        assert_eq!(answer["not_later"], 1, "{answer}");
        let malformed = fixture.replace("\"333333333333\"", "\"3\"");
        let answer = usage_invocation(&recorder, &malformed, 1_800_000_000).await.unwrap();
        assert_eq!(answer["malformed"], 1, "{answer}");
        assert_eq!(recorder.store().last_uses().await.unwrap().len(), 1);
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
