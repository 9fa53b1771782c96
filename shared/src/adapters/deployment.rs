//! [`DeploymentResources`] over EventBridge, SNS and SQS: what `idc-guard doctor` reads of the
//! deployment (issue #18).

use aws_sdk_sqs::types::QueueAttributeName;

use super::{attempt, listed, rejected, retried};
use crate::ports::{DeploymentResources, FailureKind, Remote};
use crate::retry::RetryPolicy;

/// The deployment's EventBridge rules, findings topic and queues through the AWS SDK.
#[derive(Debug, Clone)]
pub struct Deployment {
    events: aws_sdk_eventbridge::Client,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
    retry: RetryPolicy,
}

impl Deployment {
    /// The clients of the SDK configuration `sdk`.
    pub fn new(sdk: &aws_config::SdkConfig, retry: RetryPolicy) -> Self {
        Self {
            events: aws_sdk_eventbridge::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            retry,
        }
    }
}

fn classify_events(e: &aws_sdk_eventbridge::Error) -> Option<FailureKind> {
    use aws_sdk_eventbridge::Error as E;
    match e {
        E::ResourceNotFoundException(_) => Some(FailureKind::NotFound),
        E::InternalException(_) => Some(FailureKind::Unavailable),
        _ => None,
    }
}

fn classify_sns(e: &aws_sdk_sns::Error) -> Option<FailureKind> {
    use aws_sdk_sns::Error as E;
    match e {
        E::NotFoundException(_) => Some(FailureKind::NotFound),
        E::ThrottledException(_) | E::InternalErrorException(_) => Some(FailureKind::Throttled),
        E::AuthorizationErrorException(_) => Some(FailureKind::AccessDenied),
        _ => None,
    }
}

fn classify_sqs(e: &aws_sdk_sqs::Error) -> Option<FailureKind> {
    use aws_sdk_sqs::Error as E;
    match e {
        E::QueueDoesNotExist(_) => Some(FailureKind::NotFound),
        E::RequestThrottled(_) => Some(FailureKind::Throttled),
        _ => None,
    }
}

impl DeploymentResources for Deployment {
    async fn rules(&self, prefix: &str) -> Remote<Vec<(String, String)>> {
        const OP: &str = "ListRules";
        listed(&self.retry, |token| async move {
            let page = attempt(
                None,
                classify_events,
                OP,
                self.events
                    .list_rules()
                    .name_prefix(prefix)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let rows = page
                .rules
                .unwrap_or_default()
                .into_iter()
                .map(|r| {
                    let name = r.name.ok_or_else(|| rejected(OP, "a rule without a name"))?;
                    let state = r.state.map(|s| s.as_str().to_owned()).unwrap_or_default();
                    Ok((name, state))
                })
                .collect::<Remote<Vec<_>>>()?;
            Ok((rows, page.next_token))
        })
        .await
    }

    async fn topic(&self, name: &str) -> Remote<Option<String>> {
        const OP: &str = "ListTopics";
        let topics = listed(&self.retry, |token| async move {
            let page = attempt(
                None,
                classify_sns,
                OP,
                self.sns.list_topics().set_next_token(token).send(),
            )
            .await?;
            let arns = page.topics.unwrap_or_default().into_iter().filter_map(|t| t.topic_arn);
            Ok((arns.collect(), page.next_token))
        })
        .await?;
        // A topic ARN ends with its name: arn:<partition>:sns:<region>:<account>:<name>.
        Ok(topics.into_iter().find(|arn| arn.rsplit(':').next() == Some(name)))
    }

    async fn queue_depth(&self, name: &str) -> Remote<Option<u64>> {
        const URL: &str = "GetQueueUrl";
        const ATTRIBUTES: &str = "GetQueueAttributes";
        let url = match retried(&self.retry, None, classify_sqs, URL, || {
            self.sqs.get_queue_url().queue_name(name).send()
        })
        .await
        {
            Ok(answer) => answer
                .queue_url
                .ok_or_else(|| rejected(URL, "no queue URL in the answer"))?,
            Err(e) if e.kind == FailureKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let answer = retried(&self.retry, None, classify_sqs, ATTRIBUTES, || {
            self.sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .send()
        })
        .await?;
        let depth = answer
            .attributes
            .as_ref()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .ok_or_else(|| rejected(ATTRIBUTES, "no ApproximateNumberOfMessages in the answer"))?;
        depth.parse().map(Some).map_err(|_| {
            rejected(
                ATTRIBUTES,
                format!("ApproximateNumberOfMessages {depth:?} is not a count"),
            )
        })
    }
}
