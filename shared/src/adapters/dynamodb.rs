//! [`StateStore`] over a DynamoDB table: the safety rails' state; and, in the same table,
//! [`UsageStore`](crate::ports::UsageStore) (`usage.rs`: last uses, issue #17).
//!
//! The table has a string partition key `pk`, a string sort key `sk`, and TTL on the number
//! attribute `expires_at`. Writes are conditional: `attribute_not_exists(pk)` for a new item,
//! `version = :expected` for an update, so two concurrent writers cannot both succeed.

mod usage;

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::Error;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{retried, unexpected};
use crate::ports::{FailureKind, Remote, StateKey, StateRecord, StateStore};
use crate::retry::RetryPolicy;

/// The partition key attribute.
pub const PARTITION_KEY: &str = "pk";
/// The sort key attribute.
pub const SORT_KEY: &str = "sk";
/// The TTL attribute (Unix seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";

const VERSION: &str = "version";
const TIMES: &str = "times";
const SINCE: &str = "since";
const UNTIL: &str = "until";
const STATUS: &str = "status";
const OWNER: &str = "owner";

/// The safety state in a DynamoDB table, through the AWS SDK.
#[derive(Debug, Clone)]
pub struct DynamoState {
    client: aws_sdk_dynamodb::Client,
    table: String,
    retry: RetryPolicy,
    /// The `Limit` of the usage reads' Query pages (`None`: DynamoDB's 1 MB pages).
    page_limit: Option<i32>,
}

impl DynamoState {
    /// An adapter over `table`, retrying as `retry` says.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, retry: RetryPolicy) -> Self {
        Self {
            client,
            table: table.into(),
            retry,
            page_limit: None,
        }
    }

    /// The same adapter, reading the usage items (issue #17) at most `items` per Query page
    /// instead of DynamoDB's 1 MB pages: for tests that follow the pages of a small table.
    #[must_use]
    pub fn with_page_limit(mut self, items: i32) -> Self {
        self.page_limit = Some(items);
        self
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Sends the request `call` builds until it succeeds, its condition fails (`Ok(Err(_))`), or
    /// the retry policy gives up.
    async fn retried<T, E, F, Fut>(&self, operation: &'static str, call: F) -> Remote<Result<T, ConditionFailed>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: Into<Error> + ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        // A failed condition is an answer, not an error: it is never retried.
        retried(&self.retry, None, classify, operation, || {
            let sent = call();
            async move {
                match sent.await {
                    Ok(out) => Ok(Ok(out)),
                    Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(Err(ConditionFailed)),
                    Err(e) => Err(e),
                }
            }
        })
        .await
    }
}

/// A conditional write's condition did not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ConditionFailed;

/// Only conditional writes have conditions: any other call reporting one is answering oddly.
fn no_condition<T>(operation: &'static str, result: Remote<Result<T, ConditionFailed>>) -> Remote<T> {
    result?.map_err(|ConditionFailed| unexpected(operation, "a condition failed"))
}

/// The classification of a DynamoDB error's modeled exceptions.
fn classify(e: &Error) -> Option<FailureKind> {
    match e {
        Error::ProvisionedThroughputExceededException(_)
        | Error::RequestLimitExceeded(_)
        | Error::ThrottlingException(_)
        | Error::InternalServerError(_) => Some(FailureKind::Throttled),
        Error::TransactionConflictException(_) | Error::ReplicatedWriteConflictException(_) => {
            Some(FailureKind::Conflict)
        }
        // The table itself is missing: a deployment problem, never "no item".
        Error::ResourceNotFoundException(_) => Some(FailureKind::Rejected),
        Error::ConditionalCheckFailedException(_) | Error::ItemCollectionSizeLimitExceededException(_) => {
            Some(FailureKind::Rejected)
        }
        _ => None,
    }
}

fn key_attributes(key: &StateKey) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PARTITION_KEY.to_owned(), AttributeValue::S(key.partition.clone())),
        (SORT_KEY.to_owned(), AttributeValue::S(key.item.clone())),
    ])
}

fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn item_of(key: &StateKey, record: &StateRecord, version: u64) -> HashMap<String, AttributeValue> {
    let mut item = key_attributes(key);
    item.insert(VERSION.to_owned(), number(version));
    item.insert(
        TIMES.to_owned(),
        AttributeValue::L(record.times.iter().copied().map(number).collect()),
    );
    let optional = [
        (SINCE, record.since),
        (UNTIL, record.until),
        (TTL_ATTRIBUTE, record.expires_at),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            item.insert(name.to_owned(), number(value));
        }
    }
    for (name, value) in [(STATUS, &record.status), (OWNER, &record.owner)] {
        if let Some(value) = value {
            item.insert(name.to_owned(), AttributeValue::S(value.clone()));
        }
    }
    item
}

fn record_of(item: &HashMap<String, AttributeValue>) -> Remote<StateRecord> {
    const OP: &str = "GetItem";
    let parse = |name: &str, v: &AttributeValue| -> Remote<u64> {
        v.as_n()
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| unexpected(OP, &format!("attribute {name} is not a whole number")))
    };
    let optional = |name: &str| item.get(name).map(|v| parse(name, v)).transpose();
    let times = match item.get(TIMES) {
        None => Vec::new(),
        Some(v) => v
            .as_l()
            .map_err(|_| unexpected(OP, "attribute times is not a list"))?
            .iter()
            .map(|t| parse(TIMES, t))
            .collect::<Remote<_>>()?,
    };
    let string = |name: &str| -> Remote<Option<String>> {
        item.get(name)
            .map(|v| {
                v.as_s()
                    .cloned()
                    .map_err(|_| unexpected(OP, &format!("attribute {name} is not a string")))
            })
            .transpose()
    };
    Ok(StateRecord {
        version: optional(VERSION)?.ok_or_else(|| unexpected(OP, "an item without a version"))?,
        times,
        since: optional(SINCE)?,
        until: optional(UNTIL)?,
        status: string(STATUS)?,
        owner: string(OWNER)?,
        expires_at: optional(TTL_ATTRIBUTE)?,
    })
}

impl StateStore for DynamoState {
    async fn get(&self, key: &StateKey) -> Remote<Option<StateRecord>> {
        const OP: &str = "GetItem";
        let out = self
            .retried(OP, || {
                self.client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(key_attributes(key)))
                    .consistent_read(true)
                    .send()
            })
            .await;
        no_condition(OP, out)?.item.as_ref().map(record_of).transpose()
    }

    async fn put(&self, key: &StateKey, record: &StateRecord, expected: Option<u64>) -> Remote<bool> {
        const OP: &str = "PutItem";
        let item = item_of(key, record, expected.map_or(1, |v| v + 1));
        let written = self
            .retried(OP, || {
                let request = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item.clone()));
                match expected {
                    None => request
                        .condition_expression("attribute_not_exists(#pk)")
                        .expression_attribute_names("#pk", PARTITION_KEY),
                    Some(version) => request
                        .condition_expression("#version = :expected")
                        .expression_attribute_names("#version", VERSION)
                        .expression_attribute_values(":expected", number(version)),
                }
                .send()
            })
            .await;
        Ok(written?.is_ok())
    }

    async fn delete(&self, key: &StateKey) -> Remote<()> {
        const OP: &str = "DeleteItem";
        let deleted = self
            .retried(OP, || {
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key_attributes(key)))
                    .send()
            })
            .await;
        no_condition(OP, deleted).map(drop)
    }

    async fn list(&self, partition: &str) -> Remote<Vec<(StateKey, StateRecord)>> {
        const OP: &str = "Query";
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .retried(OP, || {
                    self.client
                        .query()
                        .table_name(&self.table)
                        .key_condition_expression("#pk = :pk")
                        .expression_attribute_names("#pk", PARTITION_KEY)
                        .expression_attribute_values(":pk", AttributeValue::S(partition.to_owned()))
                        .consistent_read(true)
                        .set_exclusive_start_key(start.clone())
                        .send()
                })
                .await;
            let page = no_condition(OP, page)?;
            for item in page.items() {
                let item_key = item
                    .get(SORT_KEY)
                    .and_then(|v| v.as_s().ok())
                    .ok_or_else(|| unexpected(OP, "an item without a sort key"))?;
                let key = StateKey {
                    partition: partition.to_owned(),
                    item: item_key.clone(),
                };
                out.push((key, record_of(item)?));
            }
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_items() {
        let key = StateKey {
            partition: "flap#r".to_owned(),
            item: "assignment-principal-type".to_owned(),
        };
        let record = StateRecord {
            version: 3,
            times: vec![10, 20, 20],
            since: Some(5),
            until: None,
            status: Some("withheld".to_owned()),
            owner: Some("a1b2".to_owned()),
            expires_at: Some(99),
        };
        let item = item_of(&key, &record, 3);
        assert_eq!(item.get("pk"), Some(&AttributeValue::S("flap#r".to_owned())));
        assert_eq!(record_of(&item), Ok(record));
        let mut bad = item;
        bad.insert("since".to_owned(), AttributeValue::S("soon".to_owned()));
        assert!(record_of(&bad).is_err());
    }
}
