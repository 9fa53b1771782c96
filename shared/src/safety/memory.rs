//! In-memory implementations of the safety ports, with the same conditional-write semantics as
//! the DynamoDB table: for tests, property tests and offline runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use crate::ports::{Parameters, Remote, StateKey, StateRecord, StateStore};

/// The safety state in memory. Clones share the items (like several Lambda containers sharing
/// one table).
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    items: Arc<Mutex<BTreeMap<StateKey, StateRecord>>>,
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
