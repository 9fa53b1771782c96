//! The breaker: its reset (the documented operator action) and how an open breaker reads.

use super::keys::breaker_key;
use crate::domain::Notice;
use crate::domain::time::utc;
use crate::ports::{Notifier, Remote, RemoteError, StateStore};

/// Resets the breaker: deletes its item, then announces it through `notifier` (who, why, since
/// when it was open). Returns since when it was open (`None`: it was not). The reset stands even
/// if the announcement fails; the error then says so.
pub async fn reset_breaker<S: StateStore, N: Notifier>(
    store: &S,
    notifier: &N,
    by: &str,
    reason: &str,
    now: u64,
) -> Remote<Option<u64>> {
    let open_since = store.get(&breaker_key()).await?.and_then(|r| r.since);
    store.delete(&breaker_key()).await?;
    let notice = Notice::BreakerReset {
        open_since,
        at: now,
        by: by.to_owned(),
        reason: reason.to_owned(),
    };
    notifier.announce(&notice).await.map_err(|e| RemoteError {
        message: format!(
            "the breaker WAS reset, but the notice could not be published: {}",
            e.message
        ),
        ..e
    })?;
    Ok(open_since)
}

/// Why a correction is withheld while the breaker is open.
pub(super) fn breaker_open(since: u64) -> String {
    format!(
        "breaker open since {}: the event path is detect-only until an operator resets the breaker",
        utc(since)
    )
}
