//! Posting Block Kit payloads to Slack incoming webhooks.
//!
//! Webhook URLs are secrets: they are held only here, never logged, never put in errors (transport
//! errors are stripped of their URL), and [`Webhooks`]' `Debug` shows channel keys only.
//! HTTP 429 is retried after `Retry-After` while the time budget allows; any other 4xx is logged
//! and dropped (retrying cannot help); 5xx, timeouts and network errors are errors, so Lambda
//! retries the event and then parks it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::slack;

/// Why the Slack secret cannot be used, or a post failed for now (Lambda retries the event).
/// Never carries a webhook URL.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The secret is not `{"channel key": "webhook URL"}`.
    #[error("{0}")]
    Secret(String),
    /// The HTTP client could not be built.
    #[error("HTTP client")]
    Client(#[source] reqwest::Error),
    /// The request failed or timed out.
    #[error("posting to Slack channel {channel} {what}")]
    Post {
        /// The channel key.
        channel: String,
        /// "timed out" or "failed".
        what: &'static str,
        /// The transport error, without its URL.
        #[source]
        source: reqwest::Error,
    },
    /// Slack rate-limits the channel beyond the invocation's time budget.
    #[error("Slack channel {channel} is rate limited for {seconds}s, beyond the time budget")]
    RateLimited {
        /// The channel key.
        channel: String,
        /// Slack's `Retry-After`.
        seconds: u64,
    },
    /// Slack answered with a server error.
    #[error("Slack channel {channel} answered HTTP {status}")]
    Status {
        /// The channel key.
        channel: String,
        /// The status.
        status: u16,
    },
}

/// The channel key used when the owner has no channel of its own.
pub const DEFAULT_CHANNEL: &str = "default";

/// Channel key → webhook URL, from the Slack secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhooks(BTreeMap<String, String>);

impl fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Webhooks")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Webhooks {
    /// Parses the secret's JSON object (channel key → URL). Errors never quote the secret.
    pub fn parse(secret: &str) -> Result<Self, WebhookError> {
        let not_an_object = || WebhookError::Secret("the Slack secret is not a JSON object".to_owned());
        let value: Value = serde_json::from_str(secret).map_err(|_| not_an_object())?;
        let object = value.as_object().ok_or_else(not_an_object)?;
        let mut urls = BTreeMap::new();
        for (key, url) in object {
            match url.as_str() {
                Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
                    urls.insert(key.clone(), u.to_owned());
                }
                _ => {
                    return Err(WebhookError::Secret(format!(
                        "the Slack secret's key `{key}` is not a webhook URL"
                    )));
                }
            }
        }
        Ok(Self(urls))
    }

    /// The channel key and URL for `owner`: its own channel, else the default channel.
    pub fn for_owner(&self, owner: &str) -> Option<(&str, &str)> {
        self.0
            .get_key_value(owner)
            .or_else(|| self.0.get_key_value(DEFAULT_CHANNEL))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// What became of one post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Slack accepted it.
    Posted,
    /// Slack rejected it (4xx other than 429), or there is no channel: logged and dropped.
    Dropped,
}

/// Posts findings to Slack.
#[derive(Debug, Clone)]
pub struct SlackPoster {
    client: reqwest::Client,
    webhooks: Webhooks,
}

impl SlackPoster {
    /// A poster with a per-request timeout.
    pub fn new(webhooks: Webhooks, timeout: Duration) -> Result<Self, WebhookError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| WebhookError::Client(e.without_url()))?;
        Ok(Self { client, webhooks })
    }

    /// Posts `payload` to the channel `key` until Slack answers for good or `deadline` passes.
    pub async fn post(
        &self,
        key: &str,
        url: &str,
        payload: &Value,
        deadline: Instant,
    ) -> Result<Delivery, WebhookError> {
        loop {
            let response = self
                .client
                .post(url)
                .header("content-type", "application/json")
                .body(payload.to_string())
                .send()
                .await
                .map_err(|e| WebhookError::Post {
                    channel: key.to_owned(),
                    what: if e.is_timeout() { "timed out" } else { "failed" },
                    source: e.without_url(),
                })?;
            let status = response.status().as_u16();
            match status {
                200..=299 => return Ok(Delivery::Posted),
                429 => {
                    let wait = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map_or(Duration::from_secs(1), Duration::from_secs);
                    if Instant::now() + wait >= deadline {
                        return Err(WebhookError::RateLimited {
                            channel: key.to_owned(),
                            seconds: wait.as_secs(),
                        });
                    }
                    tracing::warn!(channel = key, retry_after = wait.as_secs(), "Slack rate limit: waiting");
                    tokio::time::sleep(wait).await;
                }
                400..=499 => {
                    let body = response.text().await.unwrap_or_default();
                    tracing::error!(channel = key, status, body = %slack::truncate(&body, 200), "Slack rejected the message: dropped");
                    return Ok(Delivery::Dropped);
                }
                _ => {
                    return Err(WebhookError::Status {
                        channel: key.to_owned(),
                        status,
                    });
                }
            }
        }
    }

    /// Handles one SNS event: each record's message (the finding document) goes to its owner's
    /// channels. A record that is not a finding document is logged and dropped.
    pub async fn handle_sns(&self, event: &Value, deadline: Instant) -> Result<Vec<Delivery>, WebhookError> {
        let mut deliveries = Vec::new();
        for record in event["Records"].as_array().into_iter().flatten() {
            let sns = &record["Sns"];
            let Some(doc) = sns["Message"]
                .as_str()
                .and_then(|m| serde_json::from_str::<Value>(m).ok())
                .filter(|d| d.get("schema_version").is_some())
            else {
                tracing::error!(
                    message_id = sns["MessageId"].as_str().unwrap_or_default(),
                    "not a finding document: dropped"
                );
                deliveries.push(Delivery::Dropped);
                continue;
            };
            let owner = doc["owner"]
                .as_str()
                .or(sns["MessageAttributes"]["owner"]["Value"].as_str())
                .unwrap_or(DEFAULT_CHANNEL);
            // The owner's channel keys (from the policy's [owners.slack_channels]); a channel
            // the secret lacks falls back to the default channel, posted to once.
            let mut channels: Vec<&str> = doc["slack_channels"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if channels.is_empty() {
                channels.push(owner);
            }
            let mut targets: Vec<(&str, &str)> = Vec::new();
            for channel in channels {
                if let Some(target) = self.webhooks.for_owner(channel)
                    && !targets.contains(&target)
                {
                    targets.push(target);
                }
            }
            if targets.is_empty() {
                tracing::error!(owner, "no Slack channel for the owner and no default channel: dropped");
                deliveries.push(Delivery::Dropped);
                continue;
            }
            let payload = slack::payload(&doc);
            for (key, url) in targets {
                let delivery = self.post(key, url, &payload, deadline).await?;
                tracing::info!(
                    channel = key,
                    owner,
                    event_id = doc["event_id"].as_str().unwrap_or_default(),
                    ?delivery,
                    "Slack"
                );
                deliveries.push(delivery);
            }
        }
        Ok(deliveries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_parse_route_by_owner_and_never_show_urls() {
        let hooks = Webhooks::parse(
            r#"{"default":"https://hooks.example/T0/B0/secret0","payments":"https://hooks.example/T0/B1/secret1"}"#,
        );
        let hooks = hooks.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hooks.for_owner("payments").map(|h| h.0), Some("payments"));
        assert_eq!(hooks.for_owner("nobody").map(|h| h.0), Some("default"));
        assert!(!format!("{hooks:?}").contains("secret"));
        let bad = Webhooks::parse(r#"{"x":"not-a-url-secret"}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(bad.contains("`x`") && !bad.contains("not-a-url"), "{bad}");
        assert!(Webhooks::parse("[1]").is_err());
    }
}
