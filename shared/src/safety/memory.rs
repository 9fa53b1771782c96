//! In-memory implementations of the safety ports, with the same conditional-write semantics as
//! the DynamoDB table: for tests, property tests and offline runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use super::keys::{seen_key, usage_key};
use crate::domain::{LastUse, UseKey};
use crate::ports::{Parameters, Remote, StateKey, StateRecord, StateStore, UsageStore};

/// The safety state in memory. Clones share the items (like several Lambda containers sharing
/// one table).
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    items: Arc<Mutex<BTreeMap<StateKey, StateRecord>>>,
    usage: Arc<Mutex<UsageItems>>,
}

/// The usage items (issue #17), under the keys the table gives them (`crate::safety::keys`), so
/// that they are listed in the table's order: partition by partition, each by sort key.
#[derive(Debug, Default)]
struct UsageItems {
    /// The last use of each (user, set, account), and when it may be forgotten.
    last: BTreeMap<StateKey, (LastUse, u64)>,
    /// When recording began.
    since: Option<u64>,
    /// When each assignment was first seen.
    seen: BTreeMap<StateKey, u64>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every item, by key.
    pub fn items(&self) -> Vec<(StateKey, StateRecord)> {
        let items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        items.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Removes an item, as an operator would (e.g. to reset the breaker).
    pub fn remove(&self, key: &StateKey) {
        self.items.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    /// When the recorded last use of `key` may be forgotten (the TTL it was written with), if one
    /// is recorded.
    pub fn last_use_expiry(&self, key: &UseKey) -> Option<u64> {
        let usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        usage.last.get(&usage_key(key)).map(|(_, expires_at)| *expires_at)
    }
}

/// The same conditions as the table's: a last use only when later than the one stored, the
/// recording start only when none is stored.
impl UsageStore for MemoryStore {
    async fn record_use(&self, last: &LastUse, expires_at: u64) -> Remote<bool> {
        let mut usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        let key = usage_key(&last.key);
        if usage.last.get(&key).is_some_and(|(stored, _)| stored.at >= last.at) {
            return Ok(false);
        }
        usage.last.insert(key, (last.clone(), expires_at));
        Ok(true)
    }

    async fn start_recording(&self, at: u64) -> Remote<()> {
        self.usage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .since
            .get_or_insert(at);
        Ok(())
    }

    async fn recording_since(&self) -> Remote<Option<u64>> {
        Ok(self.usage.lock().unwrap_or_else(PoisonError::into_inner).since)
    }

    async fn last_uses(&self) -> Remote<Vec<LastUse>> {
        let usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(usage.last.values().map(|(last, _)| last.clone()).collect())
    }

    async fn first_seen(&self) -> Remote<BTreeMap<String, u64>> {
        let usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(usage.seen.iter().map(|(k, at)| (k.item.clone(), *at)).collect())
    }

    async fn note_first_seen(&self, keys: &[String], at: u64) -> Remote<()> {
        let mut usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        for key in keys {
            usage.seen.insert(seen_key(key), at);
        }
        Ok(())
    }

    async fn forget_first_seen(&self, keys: &[String]) -> Remote<()> {
        let mut usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        for key in keys {
            usage.seen.remove(&seen_key(key));
        }
        Ok(())
    }
}

impl StateStore for MemoryStore {
    async fn get(&self, key: &StateKey) -> Remote<Option<StateRecord>> {
        Ok(self
            .items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned())
    }

    async fn put(&self, key: &StateKey, record: &StateRecord, expected: Option<u64>) -> Remote<bool> {
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        if items.get(key).map(|r| r.version) != expected {
            return Ok(false);
        }
        let stored = StateRecord {
            version: expected.map_or(1, |v| v + 1),
            ..record.clone()
        };
        items.insert(key.clone(), stored);
        Ok(true)
    }

    async fn delete(&self, key: &StateKey) -> Remote<()> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
        Ok(())
    }

    async fn list(&self, partition: &str) -> Remote<Vec<(StateKey, StateRecord)>> {
        let mut items: Vec<(StateKey, StateRecord)> = self
            .items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(k, _)| k.partition == partition)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(items)
    }
}

/// Parameters in memory. Clones share the values.
#[derive(Debug, Clone, Default)]
pub struct MemoryParameters {
    values: Arc<Mutex<HashMap<String, String>>>,
}

impl MemoryParameters {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a parameter.
    pub fn set(&self, name: &str, value: &str) {
        self.values
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), value.to_owned());
    }

    /// Deletes a parameter.
    pub fn remove(&self, name: &str) {
        self.values.lock().unwrap_or_else(PoisonError::into_inner).remove(name);
    }
}

impl Parameters for MemoryParameters {
    async fn parameter(&self, name: &str) -> Remote<Option<String>> {
        Ok(self
            .values
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, Channel};

    fn key(user: &str, set: &str) -> UseKey {
        UseKey {
            user_id: user.to_owned(),
            permission_set: set.to_owned(),
            account: AccountId::parse("333333333333").unwrap(),
        }
    }

    fn last(user: &str, set: &str, at: u64, event: &str) -> LastUse {
        LastUse {
            key: key(user, set),
            at,
            event_id: event.to_owned(),
            channel: Channel::Credentials,
        }
    }

    #[tokio::test]
    async fn last_use_only_moves_forward_and_a_duplicate_counts_once() {
        let store = MemoryStore::new();
        assert!(store.record_use(&last("u1", "Dev", 100, "e1"), 500).await.unwrap());
        // The same record again: unchanged.
        assert!(!store.record_use(&last("u1", "Dev", 100, "e1"), 500).await.unwrap());
        // An older record arriving late: unchanged, its expiry too.
        assert!(!store.record_use(&last("u1", "Dev", 90, "e0"), 490).await.unwrap());
        assert_eq!(store.last_use_expiry(&key("u1", "Dev")), Some(500));
        // Another record of the same second: the first one recorded stays.
        assert!(!store.record_use(&last("u1", "Dev", 100, "e9"), 500).await.unwrap());
        // A newer one moves it forward, with its own expiry.
        let newer = LastUse {
            channel: Channel::Console,
            ..last("u1", "Dev", 200, "e2")
        };
        assert!(store.record_use(&newer, 600).await.unwrap());
        // Other keys are independent.
        assert!(store.record_use(&last("u1", "Ops", 50, "e3"), 450).await.unwrap());
        assert!(store.record_use(&last("u2", "Dev", 10, "e4"), 410).await.unwrap());
        let mut uses = store.last_uses().await.unwrap();
        uses.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(
            uses,
            vec![newer, last("u1", "Ops", 50, "e3"), last("u2", "Dev", 10, "e4")]
        );
        assert_eq!(store.last_use_expiry(&key("u1", "Dev")), Some(600));
        assert_eq!(store.last_use_expiry(&key("u3", "Dev")), None);
    }

    #[tokio::test]
    async fn the_first_recording_start_stays() {
        let store = MemoryStore::new();
        assert_eq!(store.recording_since().await.unwrap(), None);
        store.start_recording(1_000).await.unwrap();
        store.start_recording(2_000).await.unwrap();
        // Not the earliest: the first, as the table's conditional put keeps it.
        store.start_recording(500).await.unwrap();
        assert_eq!(store.recording_since().await.unwrap(), Some(1_000));
        // Clones share the items, like two containers sharing the table.
        assert_eq!(store.clone().recording_since().await.unwrap(), Some(1_000));
    }

    #[tokio::test]
    async fn sightings_are_noted_overwritten_and_forgotten() {
        let store = MemoryStore::new();
        let keys: Vec<String> = (0..30).map(|n| format!("a{n}")).collect();
        store.note_first_seen(&keys, 100).await.unwrap();
        store.note_first_seen(&keys[..2], 200).await.unwrap();
        let seen = store.first_seen().await.unwrap();
        assert_eq!(seen.len(), 30);
        assert_eq!((seen["a0"], seen["a1"], seen["a2"]), (200, 200, 100));
        store.forget_first_seen(&keys[1..]).await.unwrap();
        store.forget_first_seen(&["never-seen".to_owned()]).await.unwrap();
        assert_eq!(
            store.first_seen().await.unwrap(),
            BTreeMap::from([("a0".to_owned(), 200)])
        );
        // The rails' items are apart.
        assert!(store.items().is_empty());
    }
}
