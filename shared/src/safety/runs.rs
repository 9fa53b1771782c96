//! The drift reconciler's last run (issue #18), kept in the state table so that `idc-guard
//! doctor` can say when the safety net last ran and how it ended.
//!
//! One item, overwritten by each run (one reconciler runs at a time: its schedule and reserved
//! concurrency). The outcome is stored as JSON in the item's `status`, the start in `since` and
//! the end in `until`.

use serde::{Deserialize, Serialize};

use crate::ports::{Remote, RemoteError, StateKey, StateRecord, StateStore};

/// The last run's item.
pub fn last_run_key() -> StateKey {
    StateKey {
        partition: "reconciler".to_owned(),
        item: "last-run".to_owned(),
    }
}

/// How a reconciler run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum RunOutcome {
    /// It read everything it needed; `planned` corrections (0: no drift), `unknown` resources
    /// it could not read, and whether the plan was refused (too large, the desired file invalid).
    Completed {
        /// Whether it only planned.
        dry_run: bool,
        /// Corrections planned.
        planned: usize,
        /// Resources it could not read.
        unknown: usize,
        /// Why the plan was refused, if it was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refused: Option<String>,
    },
    /// It could not run (the instance or the inventory could not be read).
    Failed {
        /// Why.
        error: String,
    },
}

/// The reconciler's last run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    /// When it started (Unix seconds).
    pub started: u64,
    /// When it ended.
    pub finished: u64,
    /// How it ended.
    pub outcome: RunOutcome,
}

/// Records `run` as the last one, replacing the previous record (read first for its version;
/// a concurrent writer's record is replaced on one retry: the later end wins either way).
pub async fn note_run<S: StateStore>(store: &S, run: &LastRun) -> Remote<()> {
    let key = last_run_key();
    let record = StateRecord {
        since: Some(run.started),
        until: Some(run.finished),
        status: Some(serde_json::to_string(&run.outcome).unwrap_or_default()),
        ..StateRecord::default()
    };
    for _ in 0..2 {
        let expected = store.get(&key).await?.map(|r| r.version);
        if store.put(&key, &record, expected).await? {
            return Ok(());
        }
    }
    Err(RemoteError::new(
        "PutItem",
        crate::ports::FailureKind::Conflict,
        "the reconciler's last run changed twice while it was being noted",
    ))
}

/// The last run noted, `None` when no run was ever noted. An item that does not read as a run
/// is an error naming what is wrong (never "no run").
pub async fn last_run<S: StateStore>(store: &S) -> Remote<Option<LastRun>> {
    let Some(record) = store.get(&last_run_key()).await? else {
        return Ok(None);
    };
    let invalid = |what: &str| {
        RemoteError::new(
            "GetItem",
            crate::ports::FailureKind::Rejected,
            format!("the reconciler's last-run item {what}"),
        )
    };
    let (Some(started), Some(finished), Some(status)) = (record.since, record.until, record.status) else {
        return Err(invalid("lacks its start, end or outcome"));
    };
    let outcome = serde_json::from_str(&status).map_err(|e| invalid(&format!("has an unreadable outcome: {e}")))?;
    Ok(Some(LastRun {
        started,
        finished,
        outcome,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::MemoryStore;

    #[tokio::test]
    async fn the_last_run_replaces_the_one_before() {
        let store = MemoryStore::default();
        assert_eq!(last_run(&store).await.unwrap(), None);
        let first = LastRun {
            started: 100,
            finished: 160,
            outcome: RunOutcome::Failed {
                error: "ListInstances: access denied".to_owned(),
            },
        };
        note_run(&store, &first).await.unwrap();
        assert_eq!(last_run(&store).await.unwrap(), Some(first));
        let second = LastRun {
            started: 3700,
            finished: 3720,
            outcome: RunOutcome::Completed {
                dry_run: false,
                planned: 2,
                unknown: 0,
                refused: None,
            },
        };
        note_run(&store, &second).await.unwrap();
        assert_eq!(last_run(&store).await.unwrap(), Some(second));
    }

    #[tokio::test]
    async fn a_damaged_item_is_an_error_not_no_run() {
        let store = MemoryStore::default();
        let record = StateRecord {
            since: Some(1),
            until: Some(2),
            status: Some("{\"outcome\":\"exploded\"}".to_owned()),
            ..StateRecord::default()
        };
        assert!(store.put(&last_run_key(), &record, None).await.unwrap());
        let e = last_run(&store).await.unwrap_err();
        assert!(e.message.contains("unreadable outcome"), "{e}");
    }
}
