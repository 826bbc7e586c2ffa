//! The storage contract of cmdb-rs.
//!
//! A backend (embedded SQLite, PostgreSQL) provides only two things: transactions ([`Tx`]) that run
//! parameterised SQL, and a [`Database`] that runs a closure inside one such transaction off the
//! async runtime. Everything else -- the schema, the filter compiler, and every operation the API
//! performs (`ops`) -- is written once, above the backends, against [`Tx`] and a [`Dialect`].
//! That is what keeps the two backends behaving identically: they share all logic and differ
//! only in SQL spelling.
//!
//! Architecture invariants:
//! * every API write is exactly one call of [`Database::write`], i.e. one transaction, and that
//!   transaction also appends the audit record and change event of the write;
//! * no user-supplied text is ever spliced into SQL: values are parameters, and field names are
//!   resolved against the model before compilation and re-checked by the compiler.

pub mod error;
pub mod ops;
pub mod schema;
pub mod sql;

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;

pub use error::StoreError;

/// A value crossing the SQL boundary, as a parameter or a column of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL NULL.
    Null,
    /// 64-bit integer.
    Int(i64),
    /// Double.
    Float(f64),
    /// Text.
    Text(String),
    /// Boolean (SQLite stores 0/1).
    Bool(bool),
    /// A JSON document or JSON scalar: SQLite binds its text, PostgreSQL binds `jsonb`.
    Json(serde_json::Value),
}

impl SqlValue {
    /// The integer in this cell, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Int(v) => Some(*v),
            SqlValue::Float(v) => Some(*v as i64),
            SqlValue::Bool(v) => Some(i64::from(*v)),
            _ => None,
        }
    }

    /// The text in this cell, if it is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            SqlValue::Text(v) => Some(v),
            _ => None,
        }
    }

    /// The JSON in this cell: parsed from text (SQLite) or taken as is (PostgreSQL `jsonb`).
    pub fn to_json(&self) -> Result<serde_json::Value, StoreError> {
        match self {
            SqlValue::Json(v) => Ok(v.clone()),
            SqlValue::Text(t) => serde_json::from_str(t)
                .map_err(|e| StoreError::Corrupt(format!("stored JSON does not parse: {e}"))),
            SqlValue::Null => Ok(serde_json::Value::Null),
            SqlValue::Int(v) => Ok(serde_json::Value::from(*v)),
            SqlValue::Float(v) => Ok(serde_json::Value::from(*v)),
            SqlValue::Bool(v) => Ok(serde_json::Value::from(*v)),
        }
    }

    /// Consumes the cell into JSON without cloning documents.
    pub fn into_json(self) -> Result<serde_json::Value, StoreError> {
        match self {
            SqlValue::Json(v) => Ok(v),
            other => other.to_json(),
        }
    }
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Int(v)
    }
}
impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_string())
    }
}
impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}
impl From<bool> for SqlValue {
    fn from(v: bool) -> Self {
        SqlValue::Bool(v)
    }
}

/// One result row.
pub type Row = Vec<SqlValue>;

/// How the SQL of the two backends differs. Everything that varies is behind a method here, so
/// the compiler and the operations stay backend-neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.45+ (JSON1 built in).
    Sqlite,
    /// PostgreSQL 13+ (`jsonb`).
    Postgres,
}

/// A transaction. All SQL uses `?` placeholders; the PostgreSQL backend renumbers them to `$n`.
/// SQL text never contains `?` other than as a placeholder (so no jsonb `?` operators: use
/// `jsonb_exists`).
pub trait Tx {
    /// Which SQL dialect this transaction speaks.
    fn dialect(&self) -> Dialect;
    /// Runs a statement that returns rows.
    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError>;
    /// Runs a statement that returns rows and hands each row to `each` in turn, instead of
    /// collecting them: for reads of 100,000+ rows (a business's whole tree) that are consumed
    /// at once, this saves a vector per row and, on backends that reuse the row buffer, a
    /// string per text cell. The slice is only valid during the call. An error of `each` stops
    /// the statement and is returned.
    fn query_each(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        each: &mut dyn FnMut(&[SqlValue]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for row in self.query(sql, params)? {
            each(&row)?;
        }
        Ok(())
    }
    /// Runs a statement and returns the number of affected rows.
    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError>;
    /// Runs several `;`-separated statements without parameters (migrations only).
    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError>;
    /// Takes the next value of a named id sequence (never reused, even after rollback on
    /// PostgreSQL; on SQLite a rolled-back id was never visible to anyone).
    fn next_id(&mut self, sequence: &str) -> Result<i64, StoreError>;
    /// Takes `count` values of a named id sequence with one statement instead of `count`
    /// (same guarantees as [`Tx::next_id`]; distinct, but not necessarily contiguous: other
    /// processes may draw from the same PostgreSQL sequence at the same time). Why: bulk
    /// writers (`cmdb gen-assoc`) would otherwise spend a statement per row on its id, and on
    /// SQLite every statement in a large transaction also pays for a statement journal, so
    /// those id statements, not the inserts, set the write rate.
    fn next_ids(&mut self, sequence: &str, count: usize) -> Result<Vec<i64>, StoreError> {
        (0..count).map(|_| self.next_id(sequence)).collect()
    }
    /// Runs a statement whose outcome the caller does not need before its next statement. A
    /// backend may defer and pipeline it (PostgreSQL sends deferred statements together with the
    /// next synchronous statement or the COMMIT, saving a network round trip each); errors then
    /// surface from that later call or from [`Tx::flush`]. A unique violation of this statement
    /// is reported as `on_unique` when given, so callers keep their precise duplicate message.
    fn execute_deferred(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        on_unique: Option<cmdb_domain::DomainError>,
    ) -> Result<(), StoreError> {
        match self.execute(sql, params) {
            Ok(_) => Ok(()),
            Err(StoreError::UniqueViolation { constraint }) => Err(match on_unique {
                Some(domain) => StoreError::Domain(domain),
                None => StoreError::UniqueViolation { constraint },
            }),
            Err(e) => Err(e),
        }
    }
    /// Appends `item` to a statement that runs once, as the very last one before COMMIT, with its
    /// one `?` bound to the JSON array of every item appended for it in this transaction, in
    /// order. Items appended inside a savepoint that is rolled back ([`Tx::rollback_savepoint`])
    /// are dropped with it. Why: a transaction's change events must enter the PostgreSQL outbox
    /// after every row lock it takes, so that a writer that waited for another's row gets later
    /// outbox ids, and so numbers, than that one (see `ops::audit::event`); and one statement for
    /// all of them is cheaper than one each. Only backends with concurrent writers need it; the
    /// default refuses, so a caller can never rely on it silently.
    fn at_commit_append(
        &mut self,
        sql: &'static str,
        item: serde_json::Value,
    ) -> Result<(), StoreError> {
        let _ = item;
        Err(StoreError::Backend(format!(
            "this backend runs no statements at commit: {sql}"
        )))
    }
    /// Opens a savepoint: work after it can be undone alone ([`Tx::rollback_savepoint`]), which
    /// is how batch operations keep their good items when one fails. A method rather than raw
    /// SQL so a backend can keep its own per-transaction state (what [`Tx::at_commit_append`]
    /// holds) in step with the database's.
    fn savepoint(&mut self, name: &'static str) -> Result<(), StoreError> {
        self.execute_batch(&format!("SAVEPOINT {name}"))
    }
    /// Keeps the work done since the savepoint `name` and ends the savepoint.
    fn release_savepoint(&mut self, name: &'static str) -> Result<(), StoreError> {
        self.execute_batch(&format!("RELEASE SAVEPOINT {name}"))
    }
    /// Undoes the work done since the savepoint `name` and ends the savepoint.
    fn rollback_savepoint(&mut self, name: &'static str) -> Result<(), StoreError> {
        self.execute_batch(&format!(
            "ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"
        ))
    }
    /// Runs every deferred statement now and reports the first failure. Callers that must know
    /// whether a piece of work succeeded before continuing (a batch item before releasing its
    /// savepoint) call it; backends call it before COMMIT.
    fn flush(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// The database's cache of model schemas, if the backend keeps one (see
    /// [`ops::schema_cache`]); `None` loads every schema from the tables.
    fn schema_cache(&self) -> Option<&ops::schema_cache::SchemaCache> {
        None
    }
}

/// A type-erased unit of work, run inside one transaction by a backend.
pub type DynJob =
    Box<dyn FnOnce(&mut dyn Tx) -> Result<Box<dyn Any + Send>, StoreError> + Send + 'static>;

/// A database: runs units of work in transactions without blocking the async runtime.
#[async_trait]
pub trait Database: Send + Sync + 'static {
    /// Runs `job` in a read-write transaction: committed if it returns `Ok`, rolled back
    /// otherwise. Returns only after the commit is durable against a crash of this process.
    async fn write_dyn(&self, job: DynJob) -> Result<Box<dyn Any + Send>, StoreError>;
    /// Runs `job` on a consistent read-only snapshot.
    async fn read_dyn(&self, job: DynJob) -> Result<Box<dyn Any + Send>, StoreError>;
    /// Cheap liveness check for `/healthz`.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Flushes and closes; later calls fail with [`StoreError::Unavailable`].
    async fn close(&self);
    /// Human-readable backend name for logs.
    fn name(&self) -> &'static str;
    /// The signal [`write`] raises after each commit through this handle.
    fn commit_signal(&self) -> &CommitSignal;
    /// True when other processes may write to the same database (several servers on one
    /// PostgreSQL database): their commits raise no [`CommitSignal`] here, so the server runs
    /// [`follow_other_writers`] to notice them.
    fn shared(&self) -> bool {
        false
    }
}

/// Announces commits made through one database handle, so that long-polling watchers
/// (resource_watch) wake as soon as an event may have been written instead of polling the
/// database. Commits of other processes (several servers on one PostgreSQL database) are
/// raised by [`follow_other_writers`].
#[derive(Debug)]
pub struct CommitSignal(tokio::sync::watch::Sender<u64>);

impl Default for CommitSignal {
    fn default() -> Self {
        Self(tokio::sync::watch::channel(0).0)
    }
}

impl CommitSignal {
    /// A write committed.
    pub fn bump(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees every later [`CommitSignal::bump`].
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.subscribe()
    }

    /// True while someone waits for commits (a long-polling watch).
    pub fn has_waiters(&self) -> bool {
        self.0.receiver_count() > 0
    }
}

/// Raises `db`'s [`CommitSignal`] when other processes commit events: while anyone waits on the
/// signal, reads the event clock every `interval` and raises the signal whenever it moved (and
/// once when waiting starts, for commits between a waiter's last read and the first look).
/// One cheap primary-key read per interval for the whole process, and none while nobody
/// waits, instead of every waiting watch re-running its query. Runs until dropped.
pub async fn follow_other_writers(db: Store, interval: std::time::Duration) {
    let mut seen: Option<i64> = None;
    loop {
        tokio::time::sleep(interval).await;
        if !db.commit_signal().has_waiters() {
            seen = None;
            continue;
        }
        match read(&*db, |tx| ops::events::bounds(tx)).await {
            Ok((_, latest)) if seen != Some(latest) => {
                seen = Some(latest);
                db.commit_signal().bump();
            }
            Ok(_) => {}
            // The database is away: watchers fall back to their own slow poll.
            Err(_) => seen = None,
        }
    }
}

/// The handle the API layer holds.
pub type Store = Arc<dyn Database>;

/// Typed front of [`Database::write_dyn`].
pub async fn write<T, F>(db: &dyn Database, job: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, StoreError> + Send + 'static,
{
    let out = db
        .write_dyn(Box::new(move |tx| {
            job(tx).map(|v| Box::new(v) as Box<dyn Any + Send>)
        }))
        .await?;
    db.commit_signal().bump();
    downcast(out)
}

/// Typed front of [`Database::read_dyn`].
pub async fn read<T, F>(db: &dyn Database, job: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, StoreError> + Send + 'static,
{
    let out = db
        .read_dyn(Box::new(move |tx| {
            job(tx).map(|v| Box::new(v) as Box<dyn Any + Send>)
        }))
        .await?;
    downcast(out)
}

fn downcast<T: 'static>(out: Box<dyn Any + Send>) -> Result<T, StoreError> {
    out.downcast::<T>()
        .map(|b| *b)
        .map_err(|_| StoreError::Backend("job result type mismatch".into()))
}
