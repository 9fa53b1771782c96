//! usage-recorder's work (issue #17), apart from Lambda: each message of a batch decoded
//! ([`crate::event::usage`]) and, when it is a use, written as its key's last use
//! ([`UsageStore::record_use`]: one conditional write, so order and duplicates do not matter).
//!
//! What becomes of a message ([`Recorded`]): a use later than the one stored is recorded; a use
//! no later (a duplicate, a late older record) changes nothing; anything that is not a use
//! (another event, a failed call) is acknowledged; a use whose fields are malformed is logged
//! and acknowledged (retrying cannot fix it); only a failed write returns the message to its
//! queue. Before its first record, each process notes when recording began
//! ([`UsageStore::start_recording`], conditional: the first start stays), retried with the next
//! batch if it fails, without failing the uses.

use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::expires_at;
use crate::domain::LastUse;
use crate::event::DecodeError;
use crate::event::usage::{decode_use, may_be_use};
use crate::guard::Message;
use crate::ports::{RemoteError, UsageStore};

/// How many messages of a batch are written at once (each is one conditional write, and the
/// conditions make their order irrelevant).
pub const CONCURRENT_WRITES: usize = 16;

/// What became of one message.
#[derive(Debug)]
pub enum Recorded {
    /// Its use moved its key's last use forward.
    Recorded,
    /// A use no later than the one recorded (a duplicate, a late older record): nothing changed.
    NotLater,
    /// Not a use: another event, or a failed call.
    Ignored,
    /// A use whose fields are missing or malformed: acknowledged, not recorded.
    Malformed(DecodeError),
    /// The write failed: the message goes back to its queue.
    Failed(RemoteError),
}

impl Recorded {
    /// Whether the message goes back to its queue (only a failed write: the rest is done, or
    /// cannot be done by trying again).
    pub fn returns_to_queue(&self) -> bool {
        matches!(self, Self::Failed(_))
    }
}

/// What became of a batch's messages, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Uses recorded.
    pub recorded: usize,
    /// Uses no later than the one recorded (duplicates, late older records).
    pub not_later: usize,
    /// Messages that are not uses.
    pub ignored: usize,
    /// Uses whose fields are malformed.
    pub malformed: usize,
    /// Messages returned to the queue (the write failed).
    pub failed: usize,
}

impl Tally {
    /// Counts one message.
    pub fn add(&mut self, recorded: &Recorded) {
        let slot = match recorded {
            Recorded::Recorded => &mut self.recorded,
            Recorded::NotLater => &mut self.not_later,
            Recorded::Ignored => &mut self.ignored,
            Recorded::Malformed(_) => &mut self.malformed,
            Recorded::Failed(_) => &mut self.failed,
        };
        *slot += 1;
    }
}

/// A batch's outcome: the counts, and the messages to return to the queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// What became of the messages.
    pub tally: Tally,
    /// The ids of the messages whose write failed, in the batch's order.
    pub returned: Vec<String>,
}

/// Records uses in a store, once per process noting that recording began.
#[derive(Debug)]
pub struct Recorder<S> {
    store: S,
    started: AtomicBool,
}

impl<S: UsageStore> Recorder<S> {
    /// A recorder over `store` that has not yet noted the recording start.
    pub fn new(store: S) -> Self {
        Self {
            store,
            started: AtomicBool::new(false),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Notes that recording began at `now` (Unix seconds), the first time this is called in the
    /// process, and again after a failure: one conditional write per cold start. A failure is
    /// logged and returned; it fails no use (the next batch tries again).
    pub async fn start(&self, now: u64) -> Result<(), RemoteError> {
        if self.started.load(Ordering::Acquire) {
            return Ok(());
        }
        match self.store.start_recording(now).await {
            Ok(()) => {
                self.started.store(true, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, "the start of usage recording could not be noted: tried again with the next batch");
                Err(e)
            }
        }
    }

    /// Records one message (an EventBridge envelope or a raw CloudTrail record) if it is a use.
    pub async fn record(&self, body: &str) -> Recorded {
        if !may_be_use(body) {
            return Recorded::Ignored;
        }
        let used = match decode_use(body) {
            Ok(Some(used)) => used,
            Ok(None) => return Recorded::Ignored,
            Err(e) => return Recorded::Malformed(e),
        };
        let expires = expires_at(used.at);
        match self.store.record_use(&LastUse::from(used), expires).await {
            Ok(true) => Recorded::Recorded,
            Ok(false) => Recorded::NotLater,
            Err(e) => Recorded::Failed(e),
        }
    }

    /// Records a batch (after noting the recording start, see [`Recorder::start`]), each message
    /// logged only when malformed or returned, the batch in one line with its counts.
    pub async fn record_batch(&self, messages: &[Message<'_>], now: u64) -> BatchReport {
        let _ = self.start(now).await;
        let outcomes: Vec<Recorded> = stream::iter(messages)
            .map(|m| self.record(m.body))
            .buffered(CONCURRENT_WRITES)
            .collect()
            .await;
        let mut report = BatchReport::default();
        for (message, outcome) in messages.iter().zip(&outcomes) {
            report.tally.add(outcome);
            match outcome {
                Recorded::Malformed(e) => {
                    tracing::error!(message_id = %message.id, error = %e, "malformed use: acknowledged, not recorded");
                }
                Recorded::Failed(e) => {
                    tracing::warn!(message_id = %message.id, error = %e, "the use could not be recorded: returned to the queue");
                    report.returned.push(message.id.to_owned());
                }
                Recorded::Recorded | Recorded::NotLater | Recorded::Ignored => {}
            }
        }
        let t = report.tally;
        tracing::info!(
            messages = messages.len(),
            recorded = t.recorded,
            not_later = t.not_later,
            ignored = t.ignored,
            malformed = t.malformed,
            returned = t.failed,
            "usage batch"
        );
        report
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::usage::DAY;
    use crate::domain::{AccountId, Channel, UseKey};
    use crate::ports::{FailureKind, Remote};
    use crate::safety::MemoryStore;

    const USER: &str = "9067a1b2c3-6d321996-eab8-4d2e-9f41-0db53b051a5b";

    /// A `GetRoleCredentials` service event for `USER` taking `set` in 333333333333.
    fn use_event(event_id: &str, time: &str, set: &str) -> String {
        serde_json::json!({
            "version": "0", "id": format!("env-{event_id}"),
            "detail-type": "AWS Service Event via CloudTrail", "source": "aws.sso",
            "account": "111111111111", "time": time, "region": "eu-west-1", "resources": [],
            "detail": {
                "eventVersion": "1.11",
                "userIdentity": {
                    "type": "IdentityCenterUser", "accountId": "111111111111",
                    "onBehalfOf": {
                        "userId": USER,
                        "identityStoreArn": "arn:aws:identitystore::111111111111:identitystore/d-9067a1b2c3"
                    }
                },
                "eventTime": time, "eventSource": "sso.amazonaws.com", "eventName": "GetRoleCredentials",
                "awsRegion": "eu-west-1", "requestParameters": null, "responseElements": null,
                "eventID": event_id, "readOnly": true, "eventType": "AwsServiceEvent",
                "managementEvent": true, "recipientAccountId": "111111111111",
                "serviceEventDetails": {"role_name": set, "account_id": "333333333333"},
                "eventCategory": "Management"
            }
        })
        .to_string()
    }

    fn key(set: &str) -> UseKey {
        UseKey {
            user_id: USER.to_owned(),
            permission_set: set.to_owned(),
            account: AccountId::parse("333333333333").unwrap(),
        }
    }

    /// 2026-03-04T09:12:41Z.
    const T0: u64 = 1_772_615_561;

    #[tokio::test]
    async fn a_batch_records_the_latest_use_and_acknowledges_all_but_failed_writes() {
        let recorder = Recorder::new(MemoryStore::new());
        let newer = use_event("e2", "2026-03-04T10:12:41Z", "Dev");
        let older = use_event("e1", "2026-03-04T09:12:41Z", "Dev");
        let malformed = use_event("e3", "2026-03-04T09:12:41Z", "Dev").replace("333333333333", "3");
        let messages = [
            Message {
                id: "m-newer",
                body: &newer,
            },
            Message {
                id: "m-dup",
                body: &newer,
            },
            Message {
                id: "m-older",
                body: &older,
            },
            Message {
                id: "m-bad",
                body: &malformed,
            },
            Message {
                id: "m-other",
                body: r#"{"detail-type":"AWS API Call via CloudTrail","detail":{}}"#,
            },
            Message {
                id: "m-junk",
                body: "not json",
            },
        ];
        let report = recorder.record_batch(&messages, T0 + 7_200).await;
        assert_eq!(
            report.tally,
            Tally {
                recorded: 1,
                not_later: 2,
                ignored: 2,
                malformed: 1,
                failed: 0
            }
        );
        assert!(report.returned.is_empty());
        let store = recorder.store();
        assert_eq!(
            store.last_uses().await.unwrap(),
            vec![LastUse {
                key: key("Dev"),
                at: T0 + 3_600,
                event_id: "e2".to_owned(),
                channel: Channel::Credentials
            }]
        );
        // Kept for the retention after the use (not after now).
        assert_eq!(
            store.last_use_expiry(&key("Dev")),
            Some(T0 + 3_600 + super::super::RETENTION_DAYS * DAY)
        );
        assert_eq!(store.recording_since().await.unwrap(), Some(T0 + 7_200));
        // A later batch of this process does not move the start.
        recorder.record_batch(&[], T0 + 9_999).await;
        assert_eq!(store.recording_since().await.unwrap(), Some(T0 + 7_200));
    }

    /// A store whose writes of uses fail for one set, and whose recording start fails until
    /// told otherwise.
    struct Flaky {
        inner: MemoryStore,
        failing_set: &'static str,
        start_fails: AtomicBool,
        starts: std::sync::atomic::AtomicUsize,
    }

    impl UsageStore for Flaky {
        async fn record_use(&self, last: &LastUse, expires_at: u64) -> Remote<bool> {
            if last.key.permission_set == self.failing_set {
                return Err(RemoteError::new("PutItem", FailureKind::Throttled, "slow down"));
            }
            self.inner.record_use(last, expires_at).await
        }
        async fn start_recording(&self, at: u64) -> Remote<()> {
            self.starts.fetch_add(1, Ordering::SeqCst);
            if self.start_fails.load(Ordering::SeqCst) {
                return Err(RemoteError::new("PutItem", FailureKind::Unavailable, "down"));
            }
            self.inner.start_recording(at).await
        }
        async fn recording_since(&self) -> Remote<Option<u64>> {
            self.inner.recording_since().await
        }
        async fn last_uses(&self) -> Remote<Vec<LastUse>> {
            self.inner.last_uses().await
        }
        async fn first_seen(&self) -> Remote<BTreeMap<String, u64>> {
            self.inner.first_seen().await
        }
        async fn note_first_seen(&self, keys: &[String], at: u64) -> Remote<()> {
            self.inner.note_first_seen(keys, at).await
        }
        async fn forget_first_seen(&self, keys: &[String]) -> Remote<()> {
            self.inner.forget_first_seen(keys).await
        }
    }

    #[tokio::test]
    async fn only_a_failed_write_returns_its_message_and_a_failed_start_is_tried_again() {
        let recorder = Recorder::new(Flaky {
            inner: MemoryStore::new(),
            failing_set: "Ops",
            start_fails: AtomicBool::new(true),
            starts: std::sync::atomic::AtomicUsize::new(0),
        });
        let ok = use_event("e1", "2026-03-04T09:12:41Z", "Dev");
        let failing = use_event("e2", "2026-03-04T09:12:41Z", "Ops");
        let messages = [
            Message { id: "m-ok", body: &ok },
            Message {
                id: "m-failing",
                body: &failing,
            },
        ];
        let report = recorder.record_batch(&messages, T0).await;
        assert_eq!(report.returned, ["m-failing"]);
        assert_eq!((report.tally.recorded, report.tally.failed), (1, 1));
        // The start failed: the uses were recorded anyway, and the next batch tries again.
        assert_eq!(recorder.store().recording_since().await.unwrap(), None);
        recorder.store().start_fails.store(false, Ordering::SeqCst);
        recorder.record_batch(&messages[..1], T0 + 60).await;
        recorder.record_batch(&messages[..1], T0 + 120).await;
        assert_eq!(recorder.store().recording_since().await.unwrap(), Some(T0 + 60));
        // Once noted, never written again by this process.
        assert_eq!(recorder.store().starts.load(Ordering::SeqCst), 2);
    }
}
