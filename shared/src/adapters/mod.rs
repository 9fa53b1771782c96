//! Adapters: the [ports](crate::ports) implemented with the AWS SDK.
//!
//! These are the only modules that name `aws_sdk_*` types. Each service has one function that
//! classifies its modeled errors (`classify`); every call goes through one generic `retried`
//! (or, for a status poll, one `attempt`), which turns an SDK error into a [`RemoteError`] that
//! keeps it as its source; every listing is read whole through one `listed`; every asynchronous
//! write is polled with [`poll`](crate::retry::poll).
//!
//! Retrying is [`RetryPolicy`]'s job. An SDK client built with the default configuration retries
//! too (standard mode: 3 attempts per call), which multiplies the attempts; build the clients
//! with `RetryConfig::disabled()` (as [`crate::wiring::sdk_config`] does) to let the policy alone
//! decide.

mod account_access;
pub mod deployment;
pub mod dynamodb;
mod identity_store;
mod operations;
pub mod organizations;
pub mod secrets;
pub mod securityhub;
pub mod sns;
pub mod ssm;
mod sso_admin;

pub use deployment::Deployment;
pub use dynamodb::DynamoState;
pub use identity_store::IdentityStoreApi;
pub use organizations::Organizations;
pub use secrets::SecretsManager;
pub use securityhub::SecurityHub;
pub use sns::SnsNotifier;
pub use ssm::SsmParameters;
pub use sso_admin::SsoAdmin;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use std::future::Future;

use crate::pace::Pacer;
use crate::ports::{FailureKind, Remote, RemoteError};
use crate::retry::{RetryPolicy, with_retry};

/// Counts every HTTP request a client sends, by operation (the `X-Amz-Target` header's
/// operation, else the host's first label): attach it to the clients with
/// `config::Builder::interceptor` to report the API calls a run made, pages and retries included.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>);

impl CallCounter {
    /// The calls made so far, by operation.
    pub fn by_operation(&self) -> std::collections::BTreeMap<String, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The calls made since `before` (an earlier [`CallCounter::by_operation`]), by operation.
    pub fn since(&self, before: &std::collections::BTreeMap<String, u64>) -> std::collections::BTreeMap<String, u64> {
        let mut calls = self.by_operation();
        for (op, n) in before {
            if let Some(c) = calls.get_mut(op) {
                *c -= (*n).min(*c);
            }
        }
        calls.retain(|_, n| *n > 0);
        calls
    }

    /// The calls made so far.
    pub fn total(&self) -> u64 {
        self.by_operation().values().sum()
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        // REST protocols (account access manager) send no target header: the SDK's metadata
        // names the operation.
        let operation = match context.request().headers().get("x-amz-target") {
            Some(target) => target.rsplit('.').next().unwrap_or(target).to_owned(),
            None => cfg
                .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
                .map_or_else(|| "unknown".to_owned(), |m| m.name().to_owned()),
        };
        if let Ok(mut map) = self.0.lock() {
            *map.entry(operation).or_default() += 1;
        }
        Ok(())
    }
}

/// The error codes AWS answers a throttled request with (a request over a rate or a quota of
/// concurrent requests). Counted by service ([`throttles`]) and classified as
/// [`FailureKind::Throttled`].
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "TooManyRequestsException",
    "Throttling",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
];

/// Throttling answers seen by this process, by service: every attempt, retried or not.
static THROTTLES: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// The throttling answers this process has seen so far, by service (`ssoadmin`,
/// `identitystore`, `dynamodb`, ...): a function publishes what a batch added (the `Throttles`
/// metric, [`crate::metrics::THROTTLES`]).
pub fn throttles() -> std::collections::BTreeMap<String, u64> {
    THROTTLES
        .lock()
        .map(|m| m.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
        .unwrap_or_default()
}

/// Counts one answer of `service` if it is a throttling one (its code, else HTTP 429).
fn count_throttle(service: &'static str, code: Option<&str>, status: u16) {
    let throttled = code.map_or(status == 429, |c| THROTTLING_CODES.contains(&c));
    if throttled && let Ok(mut map) = THROTTLES.lock() {
        *map.entry(service).or_default() += 1;
    }
}

/// The service of an SDK crate's error type, by the crate's name: `aws_sdk_ssoadmin::…` is
/// `ssoadmin`.
fn service_of<S>() -> &'static str {
    let path = std::any::type_name::<S>();
    let name = path.split("::").next().unwrap_or(path);
    name.strip_prefix("aws_sdk_").unwrap_or(name)
}

/// How one service classifies its modeled errors (`S` is its service-wide error enum): the only
/// place that looks at one. What it leaves out is classified by code, then HTTP status.
type Classify<S> = fn(&S) -> Option<FailureKind>;

/// Sends the request `call` builds until it succeeds or `retry` gives up. Every attempt is one
/// HTTP request and first takes a token from `pacer`, if there is one, so pacing and counting see
/// every attempt (the reason this is not the SDK's own retry).
async fn retried<T, E, S, F, Fut>(
    retry: &RetryPolicy,
    pacer: Option<&Pacer>,
    classify: Classify<S>,
    operation: &'static str,
    call: F,
) -> Remote<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: Into<S> + std::error::Error + Send + Sync + 'static,
    S: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    with_retry(retry, || attempt(pacer, classify, operation, call())).await
}

/// One attempt of a request (a status poll: [`poll`](crate::retry::poll) decides when to ask
/// again), paced like every other.
///
/// The SDK's request future (about 20 KB in a debug build) is moved to the heap as soon as it is
/// made, so the futures of everything that awaits a call stay small: nested on a thread's stack
/// they would otherwise overflow it (a test thread's 2 MB) before the first request is sent.
fn attempt<'a, T, E, S>(
    pacer: Option<&'a Pacer>,
    classify: Classify<S>,
    operation: &'static str,
    sent: impl Future<Output = Result<T, SdkError<E, HttpResponse>>> + 'a,
) -> impl Future<Output = Remote<T>> + 'a
where
    E: Into<S> + std::error::Error + Send + Sync + 'static,
    S: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let sent = Box::pin(sent);
    async move {
        if let Some(pacer) = pacer {
            pacer.acquire().await;
        }
        sent.await.map_err(|e| remote_error(operation, e, classify))
    }
}

/// Reads a paginated listing whole, the one way every adapter lists: `page(token)` sends one
/// request (paced, one attempt) and returns that page's rows and the next token. A page that
/// fails retryably restarts the listing from the first page, within `retry`; one that fails for
/// good fails the listing. A partial list never reads as the whole.
async fn listed<T, F, Fut>(retry: &RetryPolicy, page: F) -> Remote<Vec<T>>
where
    F: Fn(Option<String>) -> Fut,
    Fut: Future<Output = Remote<(Vec<T>, Option<String>)>>,
{
    with_retry(retry, || async {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let (rows, next) = page(token.take()).await?;
            out.extend(rows);
            match next {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    })
    .await
}

/// Classifies a failed SDK call, keeping it as the [`RemoteError`]'s source. `modeled` classifies
/// the service's modeled exceptions (`S` is the service-wide error enum every operation error
/// converts into); an unmodeled error is classified by its error code, then by its HTTP status.
fn remote_error<E, S>(operation: &'static str, err: SdkError<E, HttpResponse>, modeled: Classify<S>) -> RemoteError
where
    E: Into<S> + std::error::Error + Send + Sync + 'static,
    S: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    // The full chain goes to the debug log only: it is for operators, not for reports.
    tracing::debug!(operation, error = %DisplayErrorContext(&err), "AWS call failed");
    let (kind, message) = match &err {
        SdkError::ServiceError(_) => (FailureKind::Unavailable, String::new()),
        SdkError::ConstructionFailure(_) => (FailureKind::Rejected, "the request could not be built".to_owned()),
        SdkError::TimeoutError(_) => (FailureKind::Unavailable, "the call timed out".to_owned()),
        SdkError::DispatchFailure(failure) => {
            let message = if failure.is_timeout() {
                "the connection timed out"
            } else if failure.is_io() {
                "network error"
            } else {
                "the request could not be sent"
            };
            (FailureKind::Unavailable, message.to_owned())
        }
        SdkError::ResponseError(_) => (FailureKind::Unavailable, "the response could not be read".to_owned()),
        _ => (FailureKind::Unavailable, "unexpected failure".to_owned()),
    };
    let SdkError::ServiceError(context) = err else {
        return RemoteError::new(operation, kind, message).caused_by(err);
    };
    let status = context.raw().status().as_u16();
    let service: S = context.into_err().into();
    count_throttle(service_of::<S>(), service.code(), status);
    let kind = modeled(&service).unwrap_or_else(|| kind_from_code(service.code(), status));
    let message = match (service.code(), service.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        // Display is the exception's name and modeled message, e.g. "ThrottlingException: …".
        _ => service.to_string(),
    };
    RemoteError::new(operation, kind, message).caused_by(service)
}

/// The kind of an error the service model does not describe, by its code and HTTP status.
fn kind_from_code(code: Option<&str>, status: u16) -> FailureKind {
    match code {
        Some(code) if THROTTLING_CODES.contains(&code) => FailureKind::Throttled,
        Some("InternalServerException" | "InternalFailure" | "ServiceUnavailable") => FailureKind::Throttled,
        Some("ConflictException") => FailureKind::Conflict,
        Some("ResourceNotFoundException") => FailureKind::NotFound,
        Some("AccessDeniedException" | "UnrecognizedClientException" | "ExpiredTokenException") => {
            FailureKind::AccessDenied
        }
        _ if status == 429 => FailureKind::Throttled,
        _ if (400..500).contains(&status) => FailureKind::Rejected,
        _ => FailureKind::Unavailable,
    }
}

/// A successful read's value, `None` for ResourceNotFoundException, or the error.
fn found<T>(read: Remote<T>) -> Remote<Option<T>> {
    match read {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.kind == FailureKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A well-formed answer that lacks something the adapter needs.
fn unexpected(operation: &'static str, what: &str) -> RemoteError {
    RemoteError::new(
        operation,
        FailureKind::Unavailable,
        format!("unexpected answer: {what}"),
    )
}

/// A request the adapter cannot build from the domain values given.
fn rejected(operation: &'static str, what: impl std::fmt::Display) -> RemoteError {
    RemoteError::new(operation, FailureKind::Rejected, what.to_string())
}

#[cfg(test)]
mod throttle_tests {
    use super::*;

    #[test]
    fn throttling_answers_are_counted_by_service_and_nothing_else_is() {
        let before = throttles().get("test-service").copied().unwrap_or(0);
        count_throttle("test-service", Some("ThrottlingException"), 400);
        count_throttle("test-service", Some("TooManyRequestsException"), 400);
        count_throttle("test-service", None, 429);
        count_throttle("test-service", Some("ConflictException"), 409);
        count_throttle("test-service", Some("InternalServerException"), 500);
        count_throttle("test-service", None, 503);
        assert_eq!(throttles()["test-service"] - before, 3);
        assert_eq!(service_of::<aws_sdk_ssoadmin::Error>(), "ssoadmin");
        assert_eq!(service_of::<aws_sdk_identitystore::Error>(), "identitystore");
        assert_eq!(service_of::<aws_sdk_dynamodb::Error>(), "dynamodb");
    }
}
