//! Small helpers shared by the operations: reading single values and JSON documents out of rows,
//! and equality filters over metadata records.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Row, SqlValue, StoreError, Tx};

/// The first column of the first row as an integer.
pub(crate) fn scalar_i64(rows: &[Row]) -> Option<i64> {
    rows.first()
        .and_then(|r| r.first())
        .and_then(SqlValue::as_i64)
}

/// The first column of every row as integers (rows whose first cell is not one are skipped):
/// the shape of every "which ids" query.
pub(crate) fn first_ints(rows: &[Row]) -> Vec<i64> {
    rows.iter()
        .filter_map(|r| r.first().and_then(SqlValue::as_i64))
        .collect()
}

/// Decodes a JSON document column into a record.
pub(crate) fn decode<T: DeserializeOwned>(cell: &SqlValue) -> Result<T, StoreError> {
    let value = cell.to_json()?;
    serde_json::from_value(value)
        .map_err(|e| StoreError::Corrupt(format!("bad stored record: {e}")))
}

/// Encodes a record for a document column.
pub(crate) fn encode<T: Serialize>(record: &T) -> Result<SqlValue, StoreError> {
    serde_json::to_value(record)
        .map(SqlValue::Json)
        .map_err(|e| StoreError::Backend(format!("cannot encode record: {e}")))
}

/// Loads all records of a `doc` query (first column = doc).
pub(crate) fn load_docs<T: DeserializeOwned>(
    tx: &mut dyn Tx,
    sql: &str,
    params: &[SqlValue],
) -> Result<Vec<T>, StoreError> {
    tx.query(sql, params)?
        .iter()
        .map(|r| match r.first() {
            Some(cell) => decode(cell),
            None => Err(StoreError::Corrupt("empty row".into())),
        })
        .collect()
}

/// Mongo-style equality filter over a serialised record: every key of `filter` must equal the
/// record's value; an object value with `$in`/`$eq`/`$ne`/`$regex` is honoured for the common
/// cases callers send to metadata searches.
pub(crate) fn record_matches(record: &Value, filter: &Map<String, Value>) -> bool {
    filter.iter().all(|(key, want)| {
        let have = record.get(key).unwrap_or(&Value::Null);
        match want {
            Value::Object(ops) if ops.keys().all(|k| k.starts_with('$')) && !ops.is_empty() => {
                ops.iter().all(|(op, arg)| match op.as_str() {
                    "$eq" => json_eq(have, arg),
                    "$ne" => !json_eq(have, arg),
                    "$in" => arg
                        .as_array()
                        .is_some_and(|xs| xs.iter().any(|x| json_eq(have, x))),
                    "$nin" => arg
                        .as_array()
                        .is_none_or(|xs| !xs.iter().any(|x| json_eq(have, x))),
                    "$regex" => match (have.as_str(), arg.as_str()) {
                        (Some(h), Some(p)) => regex::Regex::new(p).is_ok_and(|re| re.is_match(h)),
                        _ => false,
                    },
                    _ => false,
                })
            }
            _ => json_eq(have, want),
        }
    })
}

/// JSON equality where numbers compare by value (1 == 1.0).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Reads an integer from a JSON value that may be a number or a numeric string (bk-cmdb
/// clients send both for ids).
/// The text field `key` of a stored document ("" when absent or not text): names of stored
/// objects, which validation made text when they were written.
pub(crate) fn text_of(doc: &Map<String, Value>, key: &str) -> String {
    doc.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn loose_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Row-lock suffix for reads that precede a write of the same row: `FOR UPDATE` on PostgreSQL,
/// so read-modify-write of one record is serialised across processes (SQLite's single writer
/// already serialises writes).
pub(crate) fn for_update(tx: &dyn Tx) -> &'static str {
    match tx.dialect() {
        crate::Dialect::Postgres => " FOR UPDATE",
        crate::Dialect::Sqlite => "",
    }
}

/// Is this error a per-item failure (reported with the item) rather than a broken database
/// (aborts the whole call)?
pub(crate) fn is_item_error(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Domain(_) | StoreError::UniqueViolation { .. }
    )
}

/// Runs `work` inside a savepoint: kept on success, rolled back on an item error (returned as
/// `Ok(Err(..))`); other failures abort the transaction. Deferred statements are flushed
/// before the savepoint is released, so an item's failure is known while it can still be
/// undone alone. Why: the non-atomic batch calls (batch_create_inst,
/// batch_create_instance_association, the host add calls) keep every item that succeeded and
/// report the others, in one durable commit.
pub(crate) fn in_savepoint<T>(
    tx: &mut dyn Tx,
    work: impl FnOnce(&mut dyn Tx) -> Result<T, StoreError>,
) -> Result<Result<T, StoreError>, StoreError> {
    tx.savepoint("batch_item")?;
    match work(tx).and_then(|v| tx.flush().map(|()| v)) {
        Ok(v) => {
            tx.release_savepoint("batch_item")?;
            Ok(Ok(v))
        }
        Err(e) if is_item_error(&e) => {
            tx.rollback_savepoint("batch_item")?;
            Ok(Err(e))
        }
        Err(e) => Err(e),
    }
}
