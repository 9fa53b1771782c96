//! Records every request the SDK clients send, at the client's interceptor layer: the tests
//! assert on exactly which mutating calls reached AWS (here, the emulator).

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Shared log of operation names, in order. Clones share the log.
#[derive(Debug, Clone, Default)]
pub struct CallRecorder(Arc<Mutex<Vec<String>>>);

impl CallRecorder {
    /// Every recorded operation.
    pub fn all(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The operations that change state (everything but List*, Get*, Describe*).
    pub fn mutating(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|op| !["List", "Get", "Describe"].iter().any(|p| op.starts_with(p)))
            .collect()
    }

    /// Forgets what was recorded (after seeding the emulator).
    pub fn clear(&self) {
        if let Ok(mut v) = self.0.lock() {
            v.clear();
        }
    }
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
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context.request().headers().get("x-amz-target").unwrap_or("unknown");
        let operation = target.rsplit('.').next().unwrap_or(target);
        if let Ok(mut log) = self.0.lock() {
            log.push(operation.to_owned());
        }
        Ok(())
    }
}
