//! [`UsageStore`] over the state table (issue #17), in the layout `crate::safety::keys`
//! documents: last uses in `usage#00`..`usage#15`, the recording start in `usage#since`, the
//! assignments' first sightings in `seen#00`..`seen#15`.
//!
//! A last use is one PutItem under `attribute_not_exists(pk) OR at < :at`: a late, older record
//! and a duplicate fail the condition and change nothing, so deliveries may come in any order and
//! any number of times. Reads are eventually consistent (half the cost of a strong read): a use
//! written in the last second changes nothing about windows counted in days. Writes of sightings
//! go 25 to a BatchWriteItem, the items DynamoDB leaves unprocessed sent again with backoff.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use futures_util::future::try_join_all;

use super::{DynamoState, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, classify, key_attributes, no_condition, number};
use crate::adapters::{attempt, rejected, unexpected};
use crate::domain::{AccountId, Channel, LastUse, UseKey};
use crate::ports::{FailureKind, Remote, RemoteError, StateKey, UsageStore};
use crate::retry::with_retry;
use crate::safety::{USAGE_SINCE_ITEM, USAGE_SINCE_PARTITION, seen_key, seen_partitions, usage_key, usage_partitions};

const USER_ID: &str = "user_id";
const ACCOUNT: &str = "account";
const PERMISSION_SET: &str = "permission_set";
const AT: &str = "at";
const EVENT_ID: &str = "event_id";
const CHANNEL: &str = "channel";

/// The most requests one BatchWriteItem takes.
const BATCH_LIMIT: usize = 25;

type Item = HashMap<String, AttributeValue>;

/// The item of a last use.
fn last_use_item(last: &LastUse, expires_at: u64) -> Item {
    let mut item = key_attributes(&usage_key(&last.key));
    let strings = [
        (USER_ID, last.key.user_id.as_str()),
        (ACCOUNT, last.key.account.as_str()),
        (PERMISSION_SET, last.key.permission_set.as_str()),
        (EVENT_ID, last.event_id.as_str()),
    ];
    for (name, value) in strings {
        item.insert(name.to_owned(), AttributeValue::S(value.to_owned()));
    }
    item.insert(CHANNEL.to_owned(), AttributeValue::S(last.channel.to_string()));
    item.insert(AT.to_owned(), number(last.at));
    item.insert(TTL_ATTRIBUTE.to_owned(), number(expires_at));
    item
}

/// The item's key, for messages about it.
fn described(item: &Item) -> String {
    let part = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).map_or("?", String::as_str);
    format!("{} / {}", part(PARTITION_KEY), part(SORT_KEY))
}

fn string_attribute<'a>(operation: &'static str, item: &'a Item, name: &str) -> Remote<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| {
            let key = described(item);
            unexpected(operation, &format!("item {key} has no string attribute {name}"))
        })
}

fn whole_attribute(operation: &'static str, item: &Item, name: &str) -> Remote<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            let key = described(item);
            unexpected(operation, &format!("item {key} has no whole-number attribute {name}"))
        })
}

/// The channel a stored word names (as [`Channel`]'s `Display` writes it).
fn channel_of(word: &str) -> Option<Channel> {
    [Channel::Credentials, Channel::Console]
        .into_iter()
        .find(|c| c.to_string() == word)
}

/// The last use an item holds.
fn last_use_of(item: &Item) -> Remote<LastUse> {
    const OP: &str = "Query";
    let account = string_attribute(OP, item, ACCOUNT)?;
    let channel = string_attribute(OP, item, CHANNEL)?;
    let key = described(item);
    Ok(LastUse {
        key: UseKey {
            user_id: string_attribute(OP, item, USER_ID)?.to_owned(),
            permission_set: string_attribute(OP, item, PERMISSION_SET)?.to_owned(),
            account: AccountId::parse(account)
                .map_err(|_| unexpected(OP, &format!("item {key}: {account:?} is not an account id")))?,
        },
        at: whole_attribute(OP, item, AT)?,
        event_id: string_attribute(OP, item, EVENT_ID)?.to_owned(),
        channel: channel_of(channel)
            .ok_or_else(|| unexpected(OP, &format!("item {key}: {channel:?} is not a channel")))?,
    })
}

impl DynamoState {
    /// Every item of `partition`, all pages, eventually consistent.
    async fn partition_items(&self, partition: &str) -> Remote<Vec<Item>> {
        const OP: &str = "Query";
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .retried(OP, || {
                    self.client
                        .query()
                        .table_name(&self.table)
                        .key_condition_expression("#pk = :pk")
                        .expression_attribute_names("#pk", PARTITION_KEY)
                        .expression_attribute_values(":pk", AttributeValue::S(partition.to_owned()))
                        .set_limit(self.page_limit)
                        .set_exclusive_start_key(start.clone())
                        .send()
                })
                .await;
            let page = no_condition(OP, page)?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(out),
            }
        }
    }

    /// Every item of every partition named, read concurrently; any failure fails the whole.
    async fn items_of(&self, partitions: impl Iterator<Item = String>) -> Remote<Vec<Item>> {
        let reads = partitions.map(|p| async move { self.partition_items(&p).await });
        Ok(try_join_all(reads).await?.into_iter().flatten().collect())
    }

    /// Sends `requests` (at most [`BATCH_LIMIT`]) in one BatchWriteItem, then what DynamoDB left
    /// unprocessed, with the retry policy's backoff, until nothing is left or the attempts run out.
    async fn write_batch(&self, requests: Vec<WriteRequest>) -> Remote<()> {
        const OP: &str = "BatchWriteItem";
        let pending = Mutex::new(requests);
        let pending = &pending;
        with_retry(&self.retry, move || async move {
            let requests = pending.lock().unwrap_or_else(PoisonError::into_inner).clone();
            let total = requests.len();
            let sent = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send();
            let out = attempt(None, classify, OP, sent).await?;
            let left = out
                .unprocessed_items
                .and_then(|mut by_table| by_table.remove(&self.table))
                .unwrap_or_default();
            if left.is_empty() {
                return Ok(());
            }
            let count = left.len();
            *pending.lock().unwrap_or_else(PoisonError::into_inner) = left;
            // Throttled: retried with backoff, as AWS advises for unprocessed items.
            Err(RemoteError::new(
                OP,
                FailureKind::Throttled,
                format!("DynamoDB left {count} of {total} writes unprocessed"),
            ))
        })
        .await
    }

    /// Writes every request, [`BATCH_LIMIT`] per call, one key at most once (BatchWriteItem
    /// refuses a request that names a key twice).
    async fn write_all(&self, keys: &[String], request: impl Fn(&StateKey) -> Remote<WriteRequest>) -> Remote<()> {
        let unique: BTreeSet<&String> = keys.iter().collect();
        let requests = unique
            .into_iter()
            .map(|key| request(&seen_key(key)))
            .collect::<Remote<Vec<_>>>()?;
        for chunk in requests.chunks(BATCH_LIMIT) {
            self.write_batch(chunk.to_vec()).await?;
        }
        Ok(())
    }
}

impl UsageStore for DynamoState {
    async fn record_use(&self, last: &LastUse, expires_at: u64) -> Remote<bool> {
        const OP: &str = "PutItem";
        let item = last_use_item(last, expires_at);
        let written = self
            .retried(OP, || {
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item.clone()))
                    .condition_expression("attribute_not_exists(#pk) OR #at < :at")
                    .expression_attribute_names("#pk", PARTITION_KEY)
                    .expression_attribute_names("#at", AT)
                    .expression_attribute_values(":at", number(last.at))
                    .send()
            })
            .await;
        Ok(written?.is_ok())
    }

    async fn start_recording(&self, at: u64) -> Remote<()> {
        const OP: &str = "PutItem";
        let key = StateKey {
            partition: USAGE_SINCE_PARTITION.to_owned(),
            item: USAGE_SINCE_ITEM.to_owned(),
        };
        let mut item = key_attributes(&key);
        item.insert(AT.to_owned(), number(at));
        // A failed condition: recording had already begun, and that start stays.
        self.retried(OP, || {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PARTITION_KEY)
                .send()
        })
        .await
        .map(drop)
    }

    async fn recording_since(&self) -> Remote<Option<u64>> {
        const OP: &str = "GetItem";
        let key = StateKey {
            partition: USAGE_SINCE_PARTITION.to_owned(),
            item: USAGE_SINCE_ITEM.to_owned(),
        };
        let out = self
            .retried(OP, || {
                self.client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(key_attributes(&key)))
                    .consistent_read(true)
                    .send()
            })
            .await;
        no_condition(OP, out)?
            .item
            .map(|item| whole_attribute(OP, &item, AT))
            .transpose()
    }

    async fn last_uses(&self) -> Remote<Vec<LastUse>> {
        self.items_of(usage_partitions())
            .await?
            .iter()
            .map(last_use_of)
            .collect()
    }

    async fn first_seen(&self) -> Remote<BTreeMap<String, u64>> {
        const OP: &str = "Query";
        self.items_of(seen_partitions())
            .await?
            .iter()
            .map(|item| {
                Ok((
                    string_attribute(OP, item, SORT_KEY)?.to_owned(),
                    whole_attribute(OP, item, AT)?,
                ))
            })
            .collect()
    }

    async fn note_first_seen(&self, keys: &[String], at: u64) -> Remote<()> {
        self.write_all(keys, |key| {
            let mut item = key_attributes(key);
            item.insert(AT.to_owned(), number(at));
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(|e| rejected("BatchWriteItem", e))?;
            Ok(WriteRequest::builder().put_request(put).build())
        })
        .await
    }

    async fn forget_first_seen(&self, keys: &[String]) -> Remote<()> {
        self.write_all(keys, |key| {
            let delete = DeleteRequest::builder()
                .set_key(Some(key_attributes(key)))
                .build()
                .map_err(|e| rejected("BatchWriteItem", e))?;
            Ok(WriteRequest::builder().delete_request(delete).build())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> LastUse {
        LastUse {
            key: UseKey {
                user_id: "94482488-3041-7026-18f1-9a4c2f6e5d71".to_owned(),
                permission_set: "DataEngineer".to_owned(),
                account: AccountId::parse("333333333333").unwrap(),
            },
            at: 1_795_788_000,
            event_id: "e1".to_owned(),
            channel: Channel::Console,
        }
    }

    #[test]
    fn last_uses_round_trip_through_items_in_the_documented_layout() {
        let item = last_use_item(&last(), 1_830_000_000);
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let n = |v: u64| AttributeValue::N(v.to_string());
        let user = "94482488-3041-7026-18f1-9a4c2f6e5d71";
        assert_eq!(
            item,
            HashMap::from([
                ("pk".to_owned(), s(&crate::safety::usage_partition(user))),
                ("sk".to_owned(), s(&format!("{user}#333333333333#DataEngineer"))),
                ("user_id".to_owned(), s(user)),
                ("account".to_owned(), s("333333333333")),
                ("permission_set".to_owned(), s("DataEngineer")),
                ("at".to_owned(), n(1_795_788_000)),
                ("event_id".to_owned(), s("e1")),
                ("channel".to_owned(), s("console")),
                ("expires_at".to_owned(), n(1_830_000_000)),
            ])
        );
        assert_eq!(last_use_of(&item), Ok(last()));
    }

    #[test]
    fn a_damaged_item_is_an_error_naming_it_and_what_is_wrong() {
        let mut item = last_use_item(&last(), 1);
        item.insert("channel".to_owned(), AttributeValue::S("carrier-pigeon".to_owned()));
        let e = last_use_of(&item).unwrap_err();
        assert!(e.message.contains("\"carrier-pigeon\" is not a channel"), "{e}");
        assert!(e.message.contains("#333333333333#DataEngineer"), "{e}");
        item.remove("at");
        let e = last_use_of(&item).unwrap_err();
        assert!(e.message.contains("no whole-number attribute at"), "{e}");
        assert_eq!(channel_of("credentials"), Some(Channel::Credentials));
    }
}
