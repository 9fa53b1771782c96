//! [`Parameters`] over SSM Parameter Store: the kill switch.

use aws_sdk_ssm::Error;

use super::{found, retried, unexpected};
use crate::ports::{FailureKind, Parameters, Remote};
use crate::retry::RetryPolicy;

/// SSM Parameter Store through the AWS SDK.
#[derive(Debug, Clone)]
pub struct SsmParameters {
    client: aws_sdk_ssm::Client,
    retry: RetryPolicy,
}

impl SsmParameters {
    /// An adapter over `client`, retrying as `retry` says.
    pub fn new(client: aws_sdk_ssm::Client, retry: RetryPolicy) -> Self {
        Self { client, retry }
    }
}

/// The classification of an SSM error's modeled exceptions.
fn classify(e: &Error) -> Option<FailureKind> {
    match e {
        Error::ParameterNotFound(_) => Some(FailureKind::NotFound),
        Error::ThrottlingException(_) | Error::InternalServerError(_) => Some(FailureKind::Throttled),
        // A version or label that does not exist is a wrong name, not a missing parameter.
        Error::ParameterVersionNotFound(_) | Error::InvalidKeyId(_) => Some(FailureKind::Rejected),
        _ => None,
    }
}

impl Parameters for SsmParameters {
    async fn parameter(&self, name: &str) -> Remote<Option<String>> {
        const OP: &str = "GetParameter";
        let read = retried(&self.retry, None, classify, OP, || {
            self.client.get_parameter().name(name).with_decryption(true).send()
        })
        .await;
        match found(read)? {
            Some(out) => out
                .parameter
                .and_then(|p| p.value)
                .map(Some)
                .ok_or_else(|| unexpected(OP, "a parameter without a value")),
            None => Ok(None),
        }
    }
}
