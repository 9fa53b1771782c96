//! [`Notifier`] over SNS: one message per outcome (or operational notice) to the findings topic, `MessageStructure=json`
//! (human text for `default` and `email`, the finding document for `sqs`, `lambda`, `https`),
//! with message attributes for subscription filter policies.

use aws_sdk_sns::Error;
use aws_sdk_sns::types::MessageAttributeValue;

use super::{rejected, retried};
use crate::domain::{Notice, Outcome};
use crate::notify::{Message, Owners};
use crate::ports::{FailureKind, Notifier, Remote};
use crate::retry::RetryPolicy;

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
}

/// The classification of an SNS error's modeled exceptions.
fn classify(e: &Error) -> Option<FailureKind> {
    match e {
        Error::NotFoundException(_) => Some(FailureKind::NotFound),
        Error::ThrottledException(_) | Error::InternalErrorException(_) => Some(FailureKind::Throttled),
        Error::AuthorizationErrorException(_) | Error::KmsAccessDeniedException(_) => Some(FailureKind::AccessDenied),
        Error::InvalidParameterException(_) | Error::InvalidParameterValueException(_) => Some(FailureKind::Rejected),
        _ => None,
    }
}

impl SnsNotifier {
    /// Publishes one rendered message; returns SNS's message id.
    async fn send(&self, message: &Message) -> Remote<String> {
        const OP: &str = "Publish";
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
        let sent = retried(&self.retry, None, classify, OP, || {
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
        Ok(sent.message_id.unwrap_or_default())
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, outcome: &Outcome) -> Remote<()> {
        let message_id = self.send(&Message::of(outcome, &self.owners)).await?;
        tracing::info!(
            event_id = %outcome.event.event_id,
            rule = %outcome.finding.rule,
            outcome = crate::notify::outcome_id(&outcome.kind),
            message_id,
            "published"
        );
        Ok(())
    }

    async fn announce(&self, notice: &Notice) -> Remote<()> {
        let message_id = self.send(&Message::of_notice(notice, &self.owners)).await?;
        tracing::info!(notice = notice.id(), message_id, "published");
        Ok(())
    }

    fn routes_by_owner(&self) -> bool {
        true
    }
}
