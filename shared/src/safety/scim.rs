//! SCIM provisioning's health in the state table (issue #16, track C): the series the guard
//! counts SCIM failures and a group's removals in, and the last successful SCIM write.
//!
//! Every write is conditional (the item's version), as the rails' own items are: concurrent
//! guards are serialised, so each recorder sees the count its own write made, and exactly one
//! sees a threshold reached. A duplicate delivery of the same failed call counts twice (the
//! conservative overcount the rails accept for their windows too).

use std::sync::atomic::Ordering;

use super::Clock;
use super::gate::SafetyGate;
use super::keys::{scim_key, scim_write_key};
use crate::domain::ScimWindow;
use crate::ports::{Parameters, Remote, StateRecord, StateStore};

/// How long a series keeps its times: the longest window the SCIM rules accept (a day).
const SERIES_SECS: u64 = 24 * 3600;
/// At most this many times per series (a burst of a thousand failures within a day is news
/// enough; the count saturates there, and an item stays far under DynamoDB's 400 KB).
const SERIES_MAX: usize = 1000;
/// A process writes the last successful SCIM write at most this often.
const WRITE_EVERY_SECS: u64 = 3600;
/// How long the last write is kept without a newer one (longer than any `days` setting's use).
const WRITE_KEPT_SECS: u64 = 90 * 24 * 3600;
/// The last-write item's status when no write was seen yet: it holds when watching began.
pub const WATCHING: &str = "watching";

impl<P: Parameters, S: StateStore, C: Clock> SafetyGate<P, S, C> {
    /// See [`crate::ports::Gate::scim_record`].
    pub(super) async fn record_scim(&self, series: &str, at: u64, count: usize) -> Remote<ScimWindow> {
        let key = scim_key(series);
        let now = self.now_by_clock();
        self.update(&key, |current| {
            let mut record = current.cloned().unwrap_or_default();
            let newest = at.max(record.times.iter().copied().max().unwrap_or(0));
            record.times.retain(|t| t.saturating_add(SERIES_SECS) > newest);
            record.times.extend(std::iter::repeat_n(at, count));
            if record.times.len() > SERIES_MAX {
                let excess = record.times.len() - SERIES_MAX;
                record.times.drain(..excess);
            }
            record.expires_at = Some(now.max(at).saturating_add(SERIES_SECS));
            let window = ScimWindow {
                times: record.times.clone(),
                reported_at: record.since,
            };
            (Some(record), window)
        })
        .await
    }

    /// See [`crate::ports::Gate::scim_reported`].
    pub(super) async fn reported_scim(&self, series: &str, at: u64) -> Remote<()> {
        let key = scim_key(series);
        self.update(&key, |current| {
            let mut record = current.cloned().unwrap_or_default();
            if record.since.is_some_and(|t| t >= at) {
                return (None, ());
            }
            record.since = Some(at);
            record.expires_at = Some(record.expires_at.unwrap_or(0).max(at.saturating_add(SERIES_SECS)));
            (Some(record), ())
        })
        .await
    }

    /// See [`crate::ports::Gate::scim_write`].
    pub(super) async fn write_seen(&self, at: u64) -> Remote<()> {
        let noted = self.scim_write_noted.load(Ordering::Relaxed);
        if noted != 0 && at < noted.saturating_add(WRITE_EVERY_SECS) {
            return Ok(());
        }
        let key = scim_write_key();
        self.update(&key, |current| {
            let mut record: StateRecord = current.cloned().unwrap_or_default();
            let watching = record.status.as_deref() == Some(WATCHING);
            if !watching && record.since.is_some_and(|t| t >= at) {
                return (None, ());
            }
            record.since = Some(at);
            record.status = None;
            record.expires_at = Some(at.saturating_add(WRITE_KEPT_SECS));
            (Some(record), ())
        })
        .await?;
        self.scim_write_noted.fetch_max(at, Ordering::Relaxed);
        Ok(())
    }

    /// See [`crate::ports::Gate::scim_last_write`].
    pub(super) async fn last_write(&self) -> Remote<Option<u64>> {
        let key = scim_write_key();
        let now = self.now_by_clock();
        self.update(&key, |current| match current.and_then(|r| r.since) {
            Some(since) => (None, Some(since)),
            // Nothing recorded yet: silence is measured from now on.
            None => (
                Some(StateRecord {
                    since: Some(now),
                    status: Some(WATCHING.to_owned()),
                    expires_at: Some(now.saturating_add(WRITE_KEPT_SECS)),
                    ..StateRecord::default()
                }),
                Some(now),
            ),
        })
        .await
    }
}
