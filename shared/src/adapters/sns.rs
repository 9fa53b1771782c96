//! [`Notifier`] over SNS: one message per outcome to the findings topic, `MessageStructure=json`
//! (human text for `default` and `email`, the finding document for `sqs`, `lambda`, `https`),
//! with message attributes for subscription filter policies.

use std::future::Future;

use aws_sdk_sns::Error;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::rejected;
use crate::guard::Outcome;
use crate::notify::{Message, Owners};
use crate::ports::{FailureKind, Notifier, Remote, RemoteError};
use crate::retry::{RetryPolicy, with_retry};

/// The findings topic through the AWS SDK.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
    owners: Owners,
    retry: RetryPolicy,
}

impl SnsNotifier {
    /// Publishes to `topic_arn`, routing to `owners`, retrying as `retry` says.
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>, owners: Owners, retry: RetryPolicy) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
            owners,
            retry,
        }
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

/// The classification of an SNS error; the only place that looks at one.
fn remote_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> RemoteError
where
    E: Into<Error> + std::error::Error + 'static,
{
    super::remote_error(operation, err, |e: &Error| match e {
        Error::NotFoundException(_) => Some(FailureKind::NotFound),
        Error::ThrottledException(_) | Error::InternalErrorException(_) => Some(FailureKind::Throttled),
        Error::AuthorizationErrorException(_) | Error::KmsAccessDeniedException(_) => Some(FailureKind::AccessDenied),
        Error::InvalidParameterException(_) | Error::InvalidParameterValueException(_) => Some(FailureKind::Rejected),
        _ => None,
    })
}

impl Notifier for SnsNotifier {
    async fn publish(&self, outcome: &Outcome) -> Remote<()> {
        const OP: &str = "Publish";
        let message = Message::of(outcome, &self.owners);
        let mut attributes = std::collections::HashMap::new();
        for (name, value) in &message.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| rejected(OP, e))?;
            attributes.insert((*name).to_owned(), value);
        }
        let body = message.sns_json();
        let sent = self
            .retried(OP, || {
                self.client
                    .publish()
                    .topic_arn(&self.topic_arn)
                    .subject(&message.subject)
                    .message_structure("json")
                    .message(&body)
                    .set_message_attributes(Some(attributes.clone()))
                    .send()
            })
            .await?;
        tracing::info!(
            event_id = %outcome.event.event_id,
            rule = %outcome.finding.rule,
            outcome = crate::notify::outcome_id(&outcome.kind),
            message_id = sent.message_id.as_deref().unwrap_or_default(),
            "published"
        );
        Ok(())
    }

    fn routes_by_owner(&self) -> bool {
        true
    }
}
