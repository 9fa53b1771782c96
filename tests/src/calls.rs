//! Records every request sent to AWS (here, the emulator): at the SDK client's interceptor layer
//! for the clients a test builds, and at the [`crate::proxy`] for processes that are not ours (the
//! functions under a benchmark). Tests assert on exactly which mutating calls were made; the
//! benchmarks count them by service.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The `X-Amz-Target` prefixes of the services idc-guard calls, and the names the benchmarks
/// report them by. sso-admin and identitystore are the guard's own calls; ssm and dynamodb are the
/// safety rails'; organizations is the reconciler's.
const SERVICES: &[(&str, &str)] = &[
    ("SWBExternalService", "sso-admin"),
    ("AWSIdentityStore", "identitystore"),
    ("DynamoDB_20120810", "dynamodb"),
    ("AmazonSSM", "ssm"),
    ("AWSOrganizationsV20161128", "organizations"),
    // restJson1 has no X-Amz-Target: the recorder names these by the SDK's operation metadata.
    ("AccountAccess", "account-access"),
];

/// One request: its `X-Amz-Target` (every AWS JSON protocol request has one), else the request
/// line's method and path.
#[derive(Debug, Clone)]
struct Call {
    target: Option<String>,
    request: String,
}

impl Call {
    /// `DeleteAccountAssignment` from `SWBExternalService.DeleteAccountAssignment`.
    fn operation(&self) -> &str {
        self.target
            .as_deref()
            .map_or("unknown", |t| t.rsplit('.').next().unwrap_or(t))
    }

    /// `sso-admin:DeleteAccountAssignment`; `other:…` for a service not in [`SERVICES`] or a
    /// request without a target.
    fn service_call(&self) -> String {
        let Some(target) = &self.target else {
            return format!("other:{}", self.request);
        };
        let (prefix, operation) = target.rsplit_once('.').unwrap_or(("", target));
        match SERVICES.iter().find(|(p, _)| *p == prefix) {
            Some((_, service)) => format!("{service}:{operation}"),
            None => format!("other:{target}"),
        }
    }
}

/// Shared log of requests, in order. Clones share the log.
#[derive(Debug, Clone, Default)]
pub struct CallRecorder(Arc<Mutex<Vec<Call>>>);

impl CallRecorder {
    /// Records one request: its `X-Amz-Target` if it has one, else `request` (`POST /path`).
    pub fn record(&self, target: Option<&str>, request: &str) {
        if let Ok(mut log) = self.0.lock() {
            log.push(Call {
                target: target.map(str::to_owned),
                request: request.to_owned(),
            });
        }
    }

    /// Every recorded operation.
    pub fn all(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|v| v.iter().map(|c| c.operation().to_owned()).collect())
            .unwrap_or_default()
    }

    /// The operations that change state (everything but List*, Get*, Describe*).
    pub fn mutating(&self) -> Vec<String> {
        self.all().into_iter().filter(|op| is_mutating(op)).collect()
    }

    /// Forgets what was recorded (after seeding the emulator).
    pub fn clear(&self) {
        if let Ok(mut v) = self.0.lock() {
            v.clear();
        }
    }

    /// How many requests were recorded so far: a mark for [`CallRecorder::since`].
    pub fn mark(&self) -> usize {
        self.0.lock().map(|v| v.len()).unwrap_or_default()
    }

    /// The requests recorded after `mark`, as `service:Operation` (`sso-admin:ListInstances`).
    pub fn since(&self, mark: usize) -> Vec<String> {
        self.0
            .lock()
            .map(|v| v.iter().skip(mark).map(Call::service_call).collect())
            .unwrap_or_default()
    }
}

/// Whether an operation changes state: everything but List*, Get*, Describe*.
pub fn is_mutating(operation: &str) -> bool {
    !["List", "Get", "Describe"].iter().any(|p| operation.starts_with(p))
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    /// Every HTTP attempt that leaves the client: sso-admin and identitystore speak AWS JSON, so
    /// the operation is the `X-Amz-Target` header (`SWBExternalService.DeleteAccountAssignment`).
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        // A REST protocol (account access manager's restJson1) has no target header: its
        // operation is the SDK's own metadata, under the service's target-like prefix.
        let rest = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .filter(|m| m.service() == "Account Access")
            .map(|m| format!("AccountAccess.{}", m.name()));
        self.record(
            request.headers().get("x-amz-target").or(rest.as_deref()),
            &format!("{} {}", request.method(), request.uri()),
        );
        Ok(())
    }
}
