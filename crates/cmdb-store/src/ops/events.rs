//! Reading the event chain for resource_watch and pruning it (60-audit-events §2, issue 7).
//!
//! Every change event has `seq`, its place in commit order (see `audit::event` and migrations
//! 0003 and 0008): a reader that sees `seq` n sees every event below n, so "the events after my
//! cursor" is one index range, and a consumer that follows cursors sees every committed write
//! once. On PostgreSQL events reach the chain through the outbox and [`sequence`].
//! `event_prune.through` is the highest `seq` retention has deleted: a cursor below it lost
//! events and is reported as expired instead of being resumed past a hole.

use serde_json::Value;

use super::util::scalar_i64;
use crate::{SqlValue, StoreError, Tx};

/// One event of the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainEvent {
    /// Place in commit order.
    pub seq: i64,
    /// `create`, `update` or `delete`.
    pub event_type: String,
    /// Model of the object (the watch's sub-resource).
    pub obj_id: String,
    /// Unix milliseconds of the write.
    pub created_at: i64,
    /// The object after the change (before it, for a delete).
    pub detail: Value,
}

/// Which events of a resource kind a watcher wants.
#[derive(Debug, Clone, Default)]
pub struct WatchFilter {
    /// The `bk_resource`.
    pub resource: String,
    /// Event types; empty = all.
    pub types: Vec<String>,
    /// Only objects of this model (`bk_filter.bk_sub_resource`).
    pub sub_resource: Option<String>,
}

/// How far the chain reaches: `(pruned through, latest seq)`. Cursors in between are valid.
pub fn bounds(tx: &mut dyn Tx) -> Result<(i64, i64), StoreError> {
    let through = scalar_i64(&tx.query("SELECT through FROM event_prune WHERE id = 1", &[])?);
    let latest = scalar_i64(&tx.query("SELECT seq FROM event_clock WHERE id = 1", &[])?);
    Ok((through.unwrap_or(0), latest.unwrap_or(0)))
}

const COLUMNS: &str = "SELECT seq, event_type, obj_id, created_at, detail FROM change_event";

fn push_filter(sql: &mut String, params: &mut Vec<SqlValue>, f: &WatchFilter) {
    if !f.types.is_empty() {
        sql.push_str(" AND event_type IN (");
        for (i, t) in f.types.iter().enumerate() {
            sql.push_str(if i == 0 { "?" } else { ", ?" });
            params.push(SqlValue::Text(t.clone()));
        }
        sql.push(')');
    }
    if let Some(sub) = &f.sub_resource {
        sql.push_str(" AND obj_id = ?");
        params.push(SqlValue::Text(sub.clone()));
    }
}

fn rows_to_events(rows: Vec<Vec<SqlValue>>) -> Result<Vec<ChainEvent>, StoreError> {
    rows.into_iter()
        .map(|row| {
            let mut cells = row.into_iter();
            let mut next = || cells.next().unwrap_or(SqlValue::Null);
            let seq = next().as_i64().unwrap_or(0);
            let event_type = next().as_str().unwrap_or_default().to_string();
            let obj_id = next().as_str().unwrap_or_default().to_string();
            let created_at = next().as_i64().unwrap_or(0);
            let detail = next().to_json()?;
            Ok(ChainEvent {
                seq,
                event_type,
                obj_id,
                created_at,
                detail,
            })
        })
        .collect()
}

/// The matching events after `seq`, in chain order, at most `limit`; when none match, the
/// latest event of the resource after `seq` (matching or not), so the watcher can move its
/// cursor past what it does not want. Run inside one read transaction: both answers come from
/// the same snapshot, so nothing that matches can be skipped by that move.
pub fn after(
    tx: &mut dyn Tx,
    f: &WatchFilter,
    seq: i64,
    limit: usize,
) -> Result<(Vec<ChainEvent>, Option<ChainEvent>), StoreError> {
    let mut sql = format!("{COLUMNS} WHERE resource = ? AND seq > ?");
    let mut params = vec![SqlValue::Text(f.resource.clone()), SqlValue::Int(seq)];
    push_filter(&mut sql, &mut params, f);
    sql.push_str(" ORDER BY seq LIMIT CAST(? AS BIGINT)");
    params.push(SqlValue::Int(limit as i64));
    let found = rows_to_events(tx.query(&sql, &params)?)?;
    if !found.is_empty() {
        return Ok((found, None));
    }
    let last = rows_to_events(tx.query(
        &format!("{COLUMNS} WHERE resource = ? AND seq > ? ORDER BY seq DESC LIMIT 1"),
        &[SqlValue::Text(f.resource.clone()), SqlValue::Int(seq)],
    )?)?;
    Ok((found, last.into_iter().next()))
}

/// The matching events written after `start_ms`, in chain order, at most `limit`.
pub fn since(
    tx: &mut dyn Tx,
    f: &WatchFilter,
    start_ms: i64,
    limit: usize,
) -> Result<Vec<ChainEvent>, StoreError> {
    // The first event of the resource written after the start; everything from it on is in
    // range (`seq` order and write time agree up to the length of a transaction).
    let first = scalar_i64(&tx.query(
        "SELECT MIN(seq) FROM change_event WHERE resource = ? AND created_at > ?",
        &[SqlValue::Text(f.resource.clone()), SqlValue::Int(start_ms)],
    )?);
    match first {
        Some(first) => Ok(after(tx, f, first - 1, limit)?.0),
        None => Ok(Vec::new()),
    }
}

/// The latest event of the resource, if it has any.
pub fn latest(tx: &mut dyn Tx, resource: &str) -> Result<Option<ChainEvent>, StoreError> {
    Ok(rows_to_events(tx.query(
        &format!("{COLUMNS} WHERE resource = ? ORDER BY seq DESC LIMIT 1"),
        &[SqlValue::Text(resource.to_string())],
    )?)?
    .into_iter()
    .next())
}

/// Moves up to `batch` committed events from the outbox into the chain (PostgreSQL), numbered
/// from the event clock in outbox order, in one statement: the rows leave the outbox in the same
/// transaction that numbers them, so each is numbered exactly once. The batch is a range of
/// outbox ids, not an `IN` list: the outbox is a queue whose statistics say "empty" more often
/// than not, and with them the planner joined an `IN` list by a nested loop over sequential
/// scans, quadratic in a backlog (10,000 waiting events took seconds, so the backlog grew).
/// Returns how many moved. The
/// caller must hold the sequencer lock for the whole transaction: one batch at a time is what
/// makes every batch a contiguous run of numbers above everything committed before it. The
/// clock is only touched when something moved.
pub fn sequence(tx: &mut dyn Tx, batch: usize) -> Result<u64, StoreError> {
    tx.execute(
        "WITH moved AS (DELETE FROM event_outbox WHERE id <= (SELECT max(id) FROM \
         (SELECT id FROM event_outbox ORDER BY id LIMIT CAST(? AS BIGINT)) AS first) \
         RETURNING id, resource, event_type, obj_id, inst_id, created_at, detail), \
         n AS (SELECT count(*) AS c FROM moved), \
         clock AS (UPDATE event_clock SET seq = seq + (SELECT c FROM n) \
         WHERE id = 1 AND (SELECT c FROM n) > 0 RETURNING seq) \
         INSERT INTO change_event (seq, resource, event_type, obj_id, inst_id, created_at, detail) \
         SELECT clock.seq - n.c + row_number() OVER (ORDER BY moved.id), moved.resource, \
         moved.event_type, moved.obj_id, moved.inst_id, moved.created_at, moved.detail \
         FROM moved, n, clock",
        &[SqlValue::Int(i64::try_from(batch).unwrap_or(i64::MAX))],
    )
}

/// True when the outbox holds events not yet sequenced (PostgreSQL): a cheap look that spares
/// the sequencer its lock when there is nothing to do.
pub fn outbox_pending(tx: &mut dyn Tx) -> Result<bool, StoreError> {
    Ok(!tx
        .query("SELECT 1 FROM event_outbox LIMIT 1", &[])?
        .is_empty())
}

/// Deletes up to `batch` of the oldest events written before `before_ms` (a prefix of the
/// chain, so no hole is ever left behind a live cursor) and moves `event_prune.through` past
/// them. Returns how many went. One small transaction per call: writers are never held up.
pub fn prune_events(tx: &mut dyn Tx, before_ms: i64, batch: usize) -> Result<usize, StoreError> {
    let oldest = tx.query(
        "SELECT seq, created_at FROM change_event ORDER BY seq LIMIT CAST(? AS BIGINT)",
        &[SqlValue::Int(batch as i64)],
    )?;
    let mut through = None;
    for row in &oldest {
        let (Some(seq), Some(created)) = (
            row.first().and_then(SqlValue::as_i64),
            row.get(1).and_then(SqlValue::as_i64),
        ) else {
            break;
        };
        if created >= before_ms {
            break;
        }
        through = Some(seq);
    }
    let Some(through) = through else {
        return Ok(0);
    };
    let gone = tx.execute(
        "DELETE FROM change_event WHERE seq <= ?",
        &[SqlValue::Int(through)],
    )?;
    tx.execute(
        "UPDATE event_prune SET through = ? WHERE id = 1 AND through < ?",
        &[SqlValue::Int(through), SqlValue::Int(through)],
    )?;
    Ok(gone as usize)
}

/// Deletes up to `batch` of the oldest audit records written before `before_ms`.
pub fn prune_audit(tx: &mut dyn Tx, before_ms: i64, batch: usize) -> Result<usize, StoreError> {
    let gone = tx.execute(
        "DELETE FROM audit_log WHERE id IN \
         (SELECT id FROM audit_log WHERE operation_time < ? ORDER BY id LIMIT CAST(? AS BIGINT))",
        &[SqlValue::Int(before_ms), SqlValue::Int(batch as i64)],
    )?;
    Ok(gone as usize)
}
