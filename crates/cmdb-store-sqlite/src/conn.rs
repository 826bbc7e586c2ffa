//! One SQLite connection as a [`Tx`]: pragmas, the `regexp` function the filter compiler emits,
//! value conversion, and the mapping of SQLite errors to [`StoreError`].

use std::path::Path;

use cmdb_store::ops::schema_cache::SchemaCache;
use cmdb_store::{Dialect, Row, SqlValue, StoreError, Tx};
use regex::Regex;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{ToSqlOutput, Value as RValue, ValueRef};
use rusqlite::{params_from_iter, Connection, ErrorCode, ToSql};

/// Opens a connection with the settings every connection of this backend must have.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(map_err)?;
    conn.execute_batch(
        // busy_timeout first: switching to WAL needs a moment of exclusive access, and another
        // process may be opening (or migrating) the same file right now.
        "PRAGMA busy_timeout = 10000;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -65536;
         PRAGMA temp_store = MEMORY;",
    )
    .map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(256);
    register_regexp(&conn)?;
    Ok(conn)
}

/// `regexp(pattern, text)`: true when `text` is a string matching `pattern` (Rust regex syntax,
/// a superset of the RE2 syntax bk-cmdb clients send). The compiled pattern is cached per
/// statement through SQLite's auxiliary data.
fn register_regexp(conn: &Connection) -> Result<(), StoreError> {
    conn.create_scalar_function(
        "regexp",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let re: std::sync::Arc<Regex> = ctx.get_or_create_aux(
                0,
                |vr| -> Result<Regex, Box<dyn std::error::Error + Send + Sync>> {
                    let pattern = vr.as_str()?;
                    Ok(Regex::new(pattern)?)
                },
            )?;
            Ok(match ctx.get_raw(1) {
                ValueRef::Text(t) => std::str::from_utf8(t)
                    .map(|s| re.is_match(s))
                    .unwrap_or(false),
                _ => false,
            })
        },
    )
    .map_err(map_err)
}

/// Maps rusqlite errors: unique/primary-key violations become [`StoreError::UniqueViolation`]
/// with SQLite's "table.col, table.col" text as the constraint name.
pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(ref err, ref msg) = e {
        if err.code == ErrorCode::ConstraintViolation
            && (err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
        {
            let constraint = msg
                .as_deref()
                .map(|m| {
                    m.trim_start_matches("UNIQUE constraint failed: ")
                        .to_string()
                })
                .unwrap_or_default();
            return StoreError::UniqueViolation { constraint };
        }
        if err.code == ErrorCode::ConstraintViolation
            && err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
        {
            return StoreError::ForeignKeyViolation {
                constraint: msg.clone().unwrap_or_default(),
            };
        }
        if matches!(
            err.code,
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen
        ) {
            return StoreError::Unavailable(e.to_string());
        }
    }
    StoreError::Backend(e.to_string())
}

/// A transaction on a borrowed connection (the caller owns BEGIN/COMMIT).
pub(crate) struct SqliteTx<'c> {
    conn: &'c Connection,
    cache: Option<&'c SchemaCache>,
}

impl<'c> SqliteTx<'c> {
    pub(crate) fn new(conn: &'c Connection, cache: Option<&'c SchemaCache>) -> Self {
        Self { conn, cache }
    }
}

struct Param<'a>(&'a SqlValue);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            SqlValue::Null => ToSqlOutput::Owned(RValue::Null),
            SqlValue::Int(v) => ToSqlOutput::Owned(RValue::Integer(*v)),
            SqlValue::Float(v) => ToSqlOutput::Owned(RValue::Real(*v)),
            SqlValue::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            SqlValue::Bool(v) => ToSqlOutput::Owned(RValue::Integer(i64::from(*v))),
            SqlValue::Json(v) => ToSqlOutput::Owned(RValue::Text(v.to_string())),
        })
    }
}

fn from_ref(v: ValueRef<'_>) -> SqlValue {
    match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Int(i),
        ValueRef::Real(f) => SqlValue::Float(f),
        ValueRef::Text(t) => SqlValue::Text(
            std::str::from_utf8(t)
                .map(str::to_owned)
                .unwrap_or_else(|_| String::from_utf8_lossy(t).into_owned()),
        ),
        ValueRef::Blob(b) => SqlValue::Text(String::from_utf8_lossy(b).into_owned()),
    }
}

/// Overwrites `cell` with `v`, reusing the cell's string buffer when both are text (a row
/// buffer of [`Tx::query_each`] then allocates nothing after its first rows).
fn refill(cell: &mut SqlValue, v: ValueRef<'_>) {
    match (v, &mut *cell) {
        (ValueRef::Text(t), SqlValue::Text(s)) => {
            s.clear();
            match std::str::from_utf8(t) {
                Ok(text) => s.push_str(text),
                Err(_) => s.push_str(&String::from_utf8_lossy(t)),
            }
        }
        (v, cell) => *cell = from_ref(v),
    }
}

impl Tx for SqliteTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let ncols = stmt.column_count();
        let mut rows = stmt
            .query(params_from_iter(params.iter().map(Param)))
            .map_err(map_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_err)? {
            let mut cells = Vec::with_capacity(ncols);
            for i in 0..ncols {
                cells.push(from_ref(row.get_ref(i).map_err(map_err)?));
            }
            out.push(cells);
        }
        Ok(out)
    }

    /// One reused row buffer for the whole statement.
    fn query_each(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        each: &mut dyn FnMut(&[SqlValue]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let mut cells = vec![SqlValue::Null; stmt.column_count()];
        let mut rows = stmt
            .query(params_from_iter(params.iter().map(Param)))
            .map_err(map_err)?;
        while let Some(row) = rows.next().map_err(map_err)? {
            for (i, cell) in cells.iter_mut().enumerate() {
                refill(cell, row.get_ref(i).map_err(map_err)?);
            }
            each(&cells)?;
        }
        Ok(())
    }

    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let n = stmt
            .execute(params_from_iter(params.iter().map(Param)))
            .map_err(map_err)?;
        Ok(n as u64)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql).map_err(map_err)
    }

    fn schema_cache(&self) -> Option<&SchemaCache> {
        self.cache
    }

    fn next_id(&mut self, sequence: &str) -> Result<i64, StoreError> {
        self.advance_sequence(sequence, 1)
    }

    /// One statement moves the counter by `count`; the block below the new value is ours (the
    /// single writer holds the database until COMMIT, so nobody draws in between).
    fn next_ids(&mut self, sequence: &str, count: usize) -> Result<Vec<i64>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let n = i64::try_from(count)
            .map_err(|_| StoreError::Backend(format!("cannot draw {count} ids at once")))?;
        let last = self.advance_sequence(sequence, n)?;
        Ok((last - n + 1..=last).collect())
    }
}

impl SqliteTx<'_> {
    /// Adds `n` to the counter row of `sequence` (created at 0 when missing) and returns the new
    /// value.
    fn advance_sequence(&mut self, sequence: &str, n: i64) -> Result<i64, StoreError> {
        let rows = self.query(
            "INSERT INTO id_sequence (name, value) VALUES (?, ?) \
             ON CONFLICT (name) DO UPDATE SET value = value + excluded.value RETURNING value",
            &[SqlValue::Text(sequence.to_string()), SqlValue::Int(n)],
        )?;
        rows.first()
            .and_then(|r| r.first())
            .and_then(SqlValue::as_i64)
            .ok_or_else(|| StoreError::Backend("sequence returned no value".into()))
    }
}
