//! Last use per assignment (issue #17) in the state table, through the real DynamoDB adapter
//! against the emulator's DynamoDB: the order and idempotency of the recorder's conditional
//! writes, the recording start, every partition and page read back, the first sightings noted
//! and forgotten in batches. Each test asserts on the items the emulator holds afterwards, and on
//! exactly which DynamoDB calls were made. What the emulator cannot do (leave items unprocessed)
//! is injected at the wire with aws-smithy-mocks.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use idc_guard::adapters::DynamoState;
use idc_guard::domain::{AccountId, Channel, LastUse, UseKey};
use idc_guard::ports::UsageStore;
use idc_guard::retry::RetryPolicy;
use idc_guard::safety::{USAGE_SHARDS, seen_partitions, usage_item, usage_partition, usage_partitions};
use idc_guard_tests::calls::CallRecorder;
use idc_guard_tests::emulator::{self, Emulator};
use idc_guard_tests::world::STATE_TABLE;

/// 2026-03-04T09:12:41Z.
const T: u64 = 1_772_615_561;
const USER: &str = "9067a1b2c3-6d321996-eab8-4d2e-9f41-0db53b051a5b";

type Item = HashMap<String, AttributeValue>;

/// The emulator with the state table as deployed, a plain client to look at the items, and the
/// adapter on a client whose calls are recorded.
struct Table {
    _emulator: Emulator,
    ddb: aws_sdk_dynamodb::Client,
    calls: CallRecorder,
    store: DynamoState,
}

async fn table() -> Table {
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    emulator::create_state_table(&ddb, STATE_TABLE).await;
    let calls = CallRecorder::default();
    let recorded = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    Table {
        _emulator: emulator,
        ddb,
        calls,
        store: DynamoState::new(recorded, STATE_TABLE, RetryPolicy::immediate()),
    }
}

impl Table {
    /// Every item of a partition, as stored.
    async fn partition(&self, pk: &str) -> Vec<Item> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .ddb
                .query()
                .table_name(STATE_TABLE)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            items.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return items,
            }
        }
    }

    /// The one item of `pk`/`sk`, as stored.
    async fn item(&self, pk: &str, sk: &str) -> Option<Item> {
        self.ddb
            .get_item()
            .table_name(STATE_TABLE)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    /// The DynamoDB calls the adapter made since `mark`, as `Operation`s.
    fn calls_since(&self, mark: usize) -> Vec<String> {
        self.calls
            .since(mark)
            .into_iter()
            .map(|c| {
                c.strip_prefix("dynamodb:")
                    .unwrap_or_else(|| panic!("not a DynamoDB call: {c}"))
                    .to_owned()
            })
            .collect()
    }
}

fn key(user: &str, set: &str, account: &str) -> UseKey {
    UseKey {
        user_id: user.to_owned(),
        permission_set: set.to_owned(),
        account: AccountId::parse(account).unwrap(),
    }
}

fn last(at: u64, event_id: &str, channel: Channel) -> LastUse {
    LastUse {
        key: key(USER, "DataEngineer", "333333333333"),
        at,
        event_id: event_id.to_owned(),
        channel,
    }
}

/// The item a last use is stored as (the layout in `idc_guard::safety::keys`).
fn stored(last: &LastUse, expires_at: u64) -> Item {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: u64| AttributeValue::N(v.to_string());
    HashMap::from([
        ("pk".to_owned(), s(&usage_partition(&last.key.user_id))),
        ("sk".to_owned(), s(&usage_item(&last.key))),
        ("user_id".to_owned(), s(&last.key.user_id)),
        ("account".to_owned(), s(last.key.account.as_str())),
        ("permission_set".to_owned(), s(&last.key.permission_set)),
        ("at".to_owned(), n(last.at)),
        ("event_id".to_owned(), s(&last.event_id)),
        ("channel".to_owned(), s(&last.channel.to_string())),
        ("expires_at".to_owned(), n(expires_at)),
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newer_use_moves_last_use_forward_and_neither_a_late_older_one_nor_a_duplicate_moves_it() {
    let t = table().await;
    let first = last(T, "e1", Channel::Credentials);
    let (pk, sk) = (usage_partition(USER), usage_item(&first.key));
    let mark = t.calls.mark();

    assert!(
        t.store.record_use(&first, T + 1_000).await.unwrap(),
        "a first use is recorded"
    );
    assert_eq!(t.item(&pk, &sk).await, Some(stored(&first, T + 1_000)));

    // The same record delivered again: the item is unchanged, and it says so.
    assert!(!t.store.record_use(&first, T + 1_000).await.unwrap(), "a duplicate");
    // A record of the same second under another id: not later, so the first stays.
    assert!(
        !t.store
            .record_use(&last(T, "e1b", Channel::Console), T + 1_000)
            .await
            .unwrap()
    );
    // An older record arriving late: not later either; its expiry is not written.
    assert!(
        !t.store
            .record_use(&last(T - 600, "e0", Channel::Console), T + 400)
            .await
            .unwrap()
    );
    assert_eq!(t.item(&pk, &sk).await, Some(stored(&first, T + 1_000)));

    // A newer one moves it forward, channel and expiry with it.
    let newer = last(T + 60, "e2", Channel::Console);
    assert!(t.store.record_use(&newer, T + 1_060).await.unwrap());
    assert_eq!(t.item(&pk, &sk).await, Some(stored(&newer, T + 1_060)));
    assert_eq!(t.partition(&pk).await.len(), 1, "one item per (user, set, account)");

    // One conditional write per use, whatever became of it: no read first.
    assert_eq!(t.calls_since(mark), ["PutItem"; 5]);
    assert_eq!(t.store.last_uses().await.unwrap(), [newer]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_recording_start_stays() {
    let t = table().await;
    let mark = t.calls.mark();
    assert_eq!(t.store.recording_since().await.unwrap(), None);
    t.store.start_recording(T).await.unwrap();
    // Later cold starts, and one whose clock is behind: the condition keeps the first.
    t.store.start_recording(T + 3_600).await.unwrap();
    t.store.start_recording(T - 3_600).await.unwrap();
    assert_eq!(t.store.recording_since().await.unwrap(), Some(T));
    assert_eq!(
        t.item("usage#since", "since").await,
        Some(HashMap::from([
            ("pk".to_owned(), AttributeValue::S("usage#since".to_owned())),
            ("sk".to_owned(), AttributeValue::S("since".to_owned())),
            ("at".to_owned(), AttributeValue::N(T.to_string())),
        ]))
    );
    assert_eq!(
        t.calls_since(mark),
        ["GetItem", "PutItem", "PutItem", "PutItem", "GetItem"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn last_uses_reads_every_partition_and_every_page() {
    const PAGE: i32 = 7;
    let t = table().await;
    let store = t.store.clone().with_page_limit(PAGE);
    let accounts = ["333333333333", "444444444444"];
    let sets = ["DataEngineer", "ReadOnly", "PlatformAdmin", "Billing", "Auditor"];
    let mut written = Vec::new();
    for u in 0..40 {
        let user = format!("9067a1b2c3-{u:08}-eab8-4d2e-9f41-0db53b051a5b");
        for (i, set) in sets.iter().enumerate() {
            for account in accounts {
                let used = LastUse {
                    key: key(&user, set, account),
                    at: T + (u * 100 + i) as u64,
                    event_id: format!("e-{u}-{i}-{account}"),
                    channel: if i % 2 == 0 {
                        Channel::Credentials
                    } else {
                        Channel::Console
                    },
                };
                assert!(store.record_use(&used, T + 1_000_000).await.unwrap());
                written.push(used);
            }
        }
    }
    // The uses spread over every partition, and some partitions hold several pages.
    let mut per_partition: BTreeMap<String, usize> = BTreeMap::new();
    for used in &written {
        *per_partition.entry(usage_partition(&used.key.user_id)).or_default() += 1;
    }
    assert_eq!(per_partition.len() as u64, USAGE_SHARDS, "{per_partition:?}");
    for (pk, n) in &per_partition {
        assert_eq!(t.partition(pk).await.len(), *n, "{pk}");
    }
    assert!(per_partition.values().any(|n| *n > 2 * PAGE as usize));

    let mark = t.calls.mark();
    let mut read = store.last_uses().await.unwrap();
    read.sort_by(|a, b| a.key.cmp(&b.key));
    written.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(read.len(), 400);
    assert_eq!(read, written);

    // Only Queries: every page of every partition, and no page twice. (A full last page may or
    // may not come with a next key: DynamoDB's answer says more may follow, moto's does not.)
    let calls = t.calls_since(mark);
    assert!(calls.iter().all(|c| c == "Query"), "{calls:?}");
    let pages = |n: usize| n.div_ceil(PAGE as usize).max(1);
    let fewest: usize = usage_partitions()
        .map(|pk| pages(per_partition.get(&pk).copied().unwrap_or(0)))
        .sum();
    let most: usize = usage_partitions()
        .map(|pk| per_partition.get(&pk).copied().unwrap_or(0) / PAGE as usize + 1)
        .sum();
    assert!(
        (fewest..=most).contains(&calls.len()),
        "{} Queries for {fewest} to {most} pages",
        calls.len()
    );
    // The rails' items and the sightings are not uses.
    t.store.start_recording(T).await.unwrap();
    t.store.note_first_seen(&["a#b".to_owned()], T).await.unwrap();
    assert_eq!(t.store.last_uses().await.unwrap().len(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn first_sightings_are_noted_and_forgotten_25_keys_to_a_call() {
    let t = table().await;
    let keys: Vec<String> = (0..60)
        .map(|n| format!("arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-{n:016}#333333333333#USER#u{n}"))
        .collect();
    let mark = t.calls.mark();
    // A key given twice is written once (BatchWriteItem refuses a request naming a key twice).
    let mut noted = keys.clone();
    noted.push(keys[0].clone());
    t.store.note_first_seen(&noted, T).await.unwrap();
    assert_eq!(t.calls_since(mark), ["BatchWriteItem"; 3], "60 keys: 25 + 25 + 10");
    let seen = t.store.first_seen().await.unwrap();
    assert_eq!(seen, keys.iter().map(|k| (k.clone(), T)).collect::<BTreeMap<_, _>>());

    // As stored: one item per key, in its partition, with the time.
    let mut stored_keys = BTreeSet::new();
    for pk in seen_partitions() {
        for item in t.partition(&pk).await {
            assert_eq!(item.len(), 3, "{item:?}");
            assert_eq!(item["at"], AttributeValue::N(T.to_string()));
            let sk = item["sk"].as_s().unwrap().clone();
            assert_eq!(idc_guard::safety::seen_partition(&sk), pk);
            stored_keys.insert(sk);
        }
    }
    assert_eq!(stored_keys, keys.iter().cloned().collect());

    // Noted again later: the new time (the port writes unconditionally).
    t.store.note_first_seen(&keys[..2], T + 60).await.unwrap();
    let mark = t.calls.mark();
    t.store.forget_first_seen(&keys[2..]).await.unwrap();
    assert_eq!(t.calls_since(mark), ["BatchWriteItem"; 3], "58 keys: 25 + 25 + 8");
    assert_eq!(
        t.store.first_seen().await.unwrap(),
        BTreeMap::from([(keys[0].clone(), T + 60), (keys[1].clone(), T + 60)])
    );
    // Forgetting what is not there is no error, and no call for nothing.
    let mark = t.calls.mark();
    t.store.forget_first_seen(&keys[10..12]).await.unwrap();
    t.store.forget_first_seen(&[]).await.unwrap();
    assert_eq!(t.calls_since(mark), ["BatchWriteItem"]);
}

/// What DynamoDB leaves unprocessed (throttled partitions) is sent again, and only that; what it
/// keeps leaving is an error, never a silent partial write.
mod unprocessed {
    use super::*;
    use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
    use aws_sdk_dynamodb::types::WriteRequest;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::retry::RetryConfig;
    use idc_guard::ports::FailureKind;
    use std::sync::{Arc, Mutex};

    fn keys_of(requests: &[WriteRequest]) -> Vec<String> {
        requests
            .iter()
            .map(|r| {
                let item = r.put_request().unwrap().item();
                item["sk"].as_s().unwrap().clone()
            })
            .collect()
    }

    #[tokio::test]
    async fn unprocessed_items_are_sent_again_until_none_is_left() {
        let sent: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
        let log = sent.clone();
        let left_once = Arc::new(Mutex::new(true));
        let batch = mock!(aws_sdk_dynamodb::Client::batch_write_item)
            .match_requests(move |r| {
                let requests = &r.request_items().unwrap()[STATE_TABLE];
                log.lock().unwrap().push(keys_of(requests));
                true
            })
            .then_output(move || {
                let requests: Vec<WriteRequest> = ["k3", "k7"]
                    .iter()
                    .map(|k| {
                        let put = aws_sdk_dynamodb::types::PutRequest::builder()
                            .item("pk", AttributeValue::S(idc_guard::safety::seen_partition(k)))
                            .item("sk", AttributeValue::S((*k).to_owned()))
                            .item("at", AttributeValue::N(T.to_string()))
                            .build()
                            .unwrap();
                        WriteRequest::builder().put_request(put).build()
                    })
                    .collect();
                let mut first = left_once.lock().unwrap();
                let out = BatchWriteItemOutput::builder();
                if std::mem::take(&mut *first) {
                    out.unprocessed_items(STATE_TABLE, requests).build()
                } else {
                    out.build()
                }
            });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &[&batch], |c| c
            .retry_config(RetryConfig::disabled()));
        let store = DynamoState::new(client, STATE_TABLE, RetryPolicy::immediate());
        let keys: Vec<String> = (0..10).map(|n| format!("k{n}")).collect();
        store.note_first_seen(&keys, T).await.unwrap();
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert_eq!(sent[0].len(), 10);
        assert_eq!(sent[1], ["k3", "k7"], "only what was left");
    }

    #[tokio::test]
    async fn items_left_unprocessed_past_the_retries_are_an_error() {
        let batch = mock!(aws_sdk_dynamodb::Client::batch_write_item).then_output(|| {
            let put = aws_sdk_dynamodb::types::PutRequest::builder()
                .item("pk", AttributeValue::S("seen#00".to_owned()))
                .item("sk", AttributeValue::S("k".to_owned()))
                .build()
                .unwrap();
            BatchWriteItemOutput::builder()
                .unprocessed_items(STATE_TABLE, vec![WriteRequest::builder().put_request(put).build()])
                .build()
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &[&batch], |c| c
            .retry_config(RetryConfig::disabled()));
        let store = DynamoState::new(client, STATE_TABLE, RetryPolicy::immediate());
        let e = store.note_first_seen(&["k".to_owned()], T).await.unwrap_err();
        assert_eq!(e.kind, FailureKind::Throttled);
        assert!(e.to_string().contains("DynamoDB left 1 of 1 writes unprocessed"), "{e}");
        assert_eq!(batch.num_calls(), RetryPolicy::immediate().attempts as usize);
    }
}
