//! [`Parameters`] over SSM Parameter Store: the kill switch.

use std::future::Future;

use aws_sdk_ssm::Error;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::{found, unexpected};
use crate::ports::{FailureKind, Parameters, Remote, RemoteError};
use crate::retry::{RetryPolicy, with_retry};

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

    /// Sends the request `call` builds until it succeeds or the retry policy gives up.
    async fn retried<T, E, F, Fut>(&self, operation: &'static str, call: F) -> Remote<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: Into<Error> + std::error::Error + 'static,
    {
        with_retry(&self.retry, || {
            let sent = call();
            async move { sent.await.map_err(|e| remote_error(operation, e)) }
        })
        .await
    }
}

/// The classification of an SSM error; the only place that looks at one.
fn remote_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> RemoteError
where
    E: Into<Error> + std::error::Error + 'static,
{
    super::remote_error(operation, err, |e: &Error| match e {
        Error::ParameterNotFound(_) => Some(FailureKind::NotFound),
        Error::ThrottlingException(_) | Error::InternalServerError(_) => Some(FailureKind::Throttled),
        // A version or label that does not exist is a wrong name, not a missing parameter.
        Error::ParameterVersionNotFound(_) | Error::InvalidKeyId(_) => Some(FailureKind::Rejected),
        _ => None,
    })
}

impl Parameters for SsmParameters {
    async fn parameter(&self, name: &str) -> Remote<Option<String>> {
        const OP: &str = "GetParameter";
        let read = self
            .retried(OP, || {
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
