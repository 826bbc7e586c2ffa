//! Retention: deletes change events and audit records older than their configured periods, in
//! small batches (one short transaction each), so writers are never held up behind a big delete
//! and a long backlog is worked off gradually.

use std::time::Duration;

use cmdb_store::ops::events;
use cmdb_store::Store;

/// Rows deleted per transaction.
const BATCH: usize = 1000;

/// How often the pruner looks: a tenth of the shorter retention, between 100 ms and a minute
/// (short retentions are for tests and demos; production ones are days).
fn interval(event_retention: Duration, audit_retention: Duration) -> Duration {
    (event_retention.min(audit_retention) / 10)
        .clamp(Duration::from_millis(100), Duration::from_secs(60))
}

/// Deletes in batches until a batch comes back short; returns how many rows went. A failure is
/// logged and ends this round (the next round retries).
async fn drain(
    store: &Store,
    what: &'static str,
    cutoff: i64,
    prune: fn(&mut dyn cmdb_store::Tx, i64, usize) -> Result<usize, cmdb_store::StoreError>,
) -> usize {
    let mut total = 0;
    loop {
        match cmdb_store::write(store.as_ref(), move |tx| prune(tx, cutoff, BATCH)).await {
            Ok(n) => {
                total += n;
                if n < BATCH {
                    return total;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "pruning {what} failed; will retry");
                return total;
            }
        }
    }
}

/// Runs until aborted.
pub(crate) async fn run(store: Store, event_retention: Duration, audit_retention: Duration) {
    let every = interval(event_retention, audit_retention);
    loop {
        tokio::time::sleep(every).await;
        let now = cmdb_domain::time::now_millis();
        let event_cutoff = now - event_retention.as_millis() as i64;
        let audit_cutoff = now - audit_retention.as_millis() as i64;
        let events = drain(&store, "change events", event_cutoff, events::prune_events).await;
        let audit = drain(&store, "audit records", audit_cutoff, events::prune_audit).await;
        if events + audit > 0 {
            tracing::info!(events, audit, "pruned records past retention");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_follows_the_shorter_retention_within_bounds() {
        let day = Duration::from_secs(86_400);
        assert_eq!(interval(7 * day, 180 * day), Duration::from_secs(60));
        assert_eq!(
            interval(Duration::from_secs(2), day),
            Duration::from_millis(200)
        );
        assert_eq!(
            interval(Duration::from_millis(10), day),
            Duration::from_millis(100)
        );
    }
}
