//! Secrets Manager: the Slack webhook secret, read once at init. The value is returned to the
//! caller only; it is never logged.

use aws_sdk_secretsmanager::Error;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::{found, unexpected};
use crate::ports::{FailureKind, Remote, RemoteError};
use crate::retry::{RetryPolicy, with_retry};

/// Secrets Manager through the AWS SDK.
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
    retry: RetryPolicy,
}

/// The classification of a Secrets Manager error; the only place that looks at one.
fn remote_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> RemoteError
where
    E: Into<Error> + std::error::Error + 'static,
{
    super::remote_error(operation, err, |e: &Error| match e {
        Error::ResourceNotFoundException(_) => Some(FailureKind::NotFound),
        Error::InternalServiceError(_) => Some(FailureKind::Throttled),
        Error::DecryptionFailure(_) | Error::InvalidParameterException(_) | Error::InvalidRequestException(_) => {
            Some(FailureKind::Rejected)
        }
        _ => None,
    })
}

impl SecretsManager {
    /// An adapter over `client`, retrying as `retry` says.
    pub fn new(client: aws_sdk_secretsmanager::Client, retry: RetryPolicy) -> Self {
        Self { client, retry }
    }

    /// The secret's string value; `None` when it does not exist.
    pub async fn secret_string(&self, id: &str) -> Remote<Option<String>> {
        const OP: &str = "GetSecretValue";
        let read = with_retry(&self.retry, || {
            let sent = self.client.get_secret_value().secret_id(id).send();
            async move { sent.await.map_err(|e| remote_error(OP, e)) }
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
