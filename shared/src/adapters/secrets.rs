//! Secrets Manager: the Slack webhook secret, read once at init. The value is returned to the
//! caller only; it is never logged.

use aws_sdk_secretsmanager::Error;

use super::{found, retried, unexpected};
use crate::ports::{FailureKind, Remote};
use crate::retry::RetryPolicy;

/// Secrets Manager through the AWS SDK.
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
    retry: RetryPolicy,
}

/// The classification of an Secrets Manager error's modeled exceptions.
fn classify(e: &Error) -> Option<FailureKind> {
    match e {
        Error::ResourceNotFoundException(_) => Some(FailureKind::NotFound),
        Error::InternalServiceError(_) => Some(FailureKind::Throttled),
        Error::DecryptionFailure(_) | Error::InvalidParameterException(_) | Error::InvalidRequestException(_) => {
            Some(FailureKind::Rejected)
        }
        _ => None,
    }
}

impl SecretsManager {
    /// An adapter over `client`, retrying as `retry` says.
    pub fn new(client: aws_sdk_secretsmanager::Client, retry: RetryPolicy) -> Self {
        Self { client, retry }
    }

    /// The secret's string value; `None` when it does not exist.
    pub async fn secret_string(&self, id: &str) -> Remote<Option<String>> {
        const OP: &str = "GetSecretValue";
        let read = retried(&self.retry, None, classify, OP, || {
            self.client.get_secret_value().secret_id(id).send()
        })
        .await;
        match found(read)? {
            Some(out) => out
                .secret_string
                .map(Some)
                .ok_or_else(|| unexpected(OP, "a secret without a string value")),
            None => Ok(None),
        }
    }
}
