//! The PostgreSQL backend of cmdb-rs, for several `cmdb serve` processes sharing one database.
//!
//! Why this shape:
//! * [`cmdb_store::Tx`] is synchronous (operations are plain functions over a transaction), so
//!   this backend uses the synchronous `postgres` driver. Each job runs on
//!   `tokio::task::spawn_blocking` holding one pooled connection for the whole transaction, so
//!   the async runtime never blocks; a semaphore with one permit per connection bounds both the
//!   pool and the number of blocking threads in use. (tokio-postgres would need its futures
//!   driven from inside the synchronous `Tx` calls anyway: a private runtime per connection is
//!   exactly what the `postgres` crate already is, so it is used as is, with a pool of our own
//!   of a few dozen lines instead of another dependency.)
//! * Every [`Database::write_dyn`] is one `READ COMMITTED` read-write transaction (`BEGIN`, the
//!   job, `COMMIT`; `ROLLBACK` when the job fails or panics). Unique rules are enforced by
//!   unique constraints, which are race-free across processes at any isolation level, and
//!   `READ COMMITTED` lets a waiting transaction see what the one it waited for committed (what
//!   the migration and seed locks rely on). A job that swallowed a failed statement without
//!   rolling back to a savepoint is detected before `COMMIT` and reported instead of letting
//!   PostgreSQL silently turn the `COMMIT` into a `ROLLBACK`.
//! * Every [`Database::read_dyn`] is a `REPEATABLE READ READ ONLY` transaction: one snapshot.
//! * Ids ([`cmdb_store::Tx::next_id`]) come from native sequences `cmdb_id_<name>`: `nextval`
//!   never blocks another transaction and is never rolled back, so ids are unique across
//!   processes and never reused. The migration creates the known sequences; others are created
//!   on first use (see `tx.rs`).
//! * `?` placeholders are renumbered to `$n` once per statement text and connection, and the
//!   prepared statement is cached per connection. Values are bound in the form the server
//!   inferred for each parameter (see `tx.rs` for the conversion table).
//! * Errors: `unique_violation` → [`StoreError::UniqueViolation`] with the constraint name (the
//!   migration names every constraint so `StoreError::is_unique_on` identifies the column);
//!   lost connections, shutdowns, refused connections → [`StoreError::Unavailable`]; the rest →
//!   [`StoreError::Backend`].
//! * Recovery: a connection that failed at the connection level is discarded; when `BEGIN` fails
//!   on an idle connection, all idle connections are discarded (the server restarted) and the
//!   transaction starts on a fresh connection, before any of the job ran. So while the database
//!   is down requests fail with `Unavailable`, and once it is back they succeed without any
//!   restart of cmdb-rs.
//! * Migrations run under a transaction-scoped advisory lock, so several processes starting at
//!   once on an empty database migrate it exactly once.
//!
//! The database must use the UTF8 encoding (checked at connect). Case-insensitive matching
//! (`lower()`, `~*`) follows the database's `LC_CTYPE`: with `C` it folds ASCII only, so create
//! the database with a UTF-8 ctype such as `C.UTF-8` (a warning is logged otherwise).

mod pool;
pub mod testing;
mod tx;

use std::any::Any;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cmdb_store::ops::schema_cache::SchemaCache;
use cmdb_store::{Database, DynJob, SqlValue, StoreError, Tx};
use parking_lot::RwLock;
use postgres::Config;
use tokio::sync::Semaphore;

pub use testing::{create_test_database, TestDatabase};

use crate::pool::Pool;
use crate::tx::{map_err, KnownSequences, PgTx, LOCK_MIGRATE, LOCK_NAMESPACE};

type JobResult = Result<Box<dyn Any + Send>, StoreError>;

const BEGIN_WRITE: &str = "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE";
const BEGIN_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// Tuning of a [`PgDb`].
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most connections (and so most concurrent transactions) of this process. Default 16.
    pub pool_size: usize,
    /// How long a job waits for a free connection before failing with
    /// [`StoreError::Unavailable`]. Default 30 s.
    pub acquire_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// A PostgreSQL database, migrated, behind a bounded connection pool.
pub struct PgDb {
    pool: Arc<Pool>,
    permits: Arc<Semaphore>,
    sequences: KnownSequences,
    cache: Arc<SchemaCache>,
    acquire_timeout: Duration,
    pool_size: u32,
    closed: AtomicBool,
}

impl PgDb {
    /// Connects to `url` (`postgres://user:password@host:port/dbname?...`, or the key=value
    /// form), applies the migrations and returns the database, with default [`PgOptions`].
    pub async fn connect(url: &str) -> Result<PgDb, StoreError> {
        Self::connect_with(url, PgOptions::default()).await
    }

    /// [`PgDb::connect`] with explicit options.
    pub async fn connect_with(url: &str, options: PgOptions) -> Result<PgDb, StoreError> {
        let mut config: Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        pool::apply_defaults(&mut config);
        let pool_size = u32::try_from(options.pool_size.clamp(1, 10_000)).unwrap_or(16);
        let db = PgDb {
            pool: Arc::new(Pool::new(config)),
            permits: Arc::new(Semaphore::new(pool_size as usize)),
            sequences: Arc::new(RwLock::new(HashSet::new())),
            cache: Arc::new(SchemaCache::new()),
            acquire_timeout: options.acquire_timeout,
            pool_size,
            closed: AtomicBool::new(false),
        };
        let pool = db.pool.clone();
        let sequences = db.sequences.clone();
        tokio::task::spawn_blocking(move || open(&pool, &sequences))
            .await
            .map_err(|e| StoreError::Backend(format!("migration task failed: {e}")))??;
        Ok(db)
    }

    async fn run(&self, job: DynJob, write: bool) -> JobResult {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("database is closed".into()));
        }
        let permit =
            tokio::time::timeout(self.acquire_timeout, self.permits.clone().acquire_owned())
                .await
                .map_err(|_| {
                    StoreError::Unavailable(format!(
                        "no PostgreSQL connection became free within {:?}",
                        self.acquire_timeout
                    ))
                })?
                .map_err(|_| StoreError::Unavailable("database is closed".into()))?;
        let pool = self.pool.clone();
        let sequences = self.sequences.clone();
        let cache = self.cache.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            run_job(&pool, &sequences, &cache, job, write)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("database task failed: {e}")))?
    }
}

/// Checks the database, then migrates it under the migration advisory lock (blocking).
fn open(pool: &Pool, sequences: &KnownSequences) -> Result<(), StoreError> {
    let mut conn = pool.begin(BEGIN_WRITE)?;
    let result = {
        let mut tx = PgTx::new(&mut conn, sequences, None);
        migrate_locked(&mut tx)
    };
    match result {
        Ok(version) => {
            conn.client.batch_execute("COMMIT").map_err(map_err)?;
            tracing::info!(version, "PostgreSQL schema is current");
            pool.put(conn);
            Ok(())
        }
        Err(e) => {
            let _ = conn.client.batch_execute("ROLLBACK");
            Err(e)
        }
    }
}

fn migrate_locked(tx: &mut dyn Tx) -> Result<i64, StoreError> {
    let rows = tx.query(
        "SELECT current_setting('server_encoding'), \
         (SELECT datctype FROM pg_database WHERE datname = current_database())",
        &[],
    )?;
    let row = rows.first().cloned().unwrap_or_default();
    let encoding = row.first().and_then(SqlValue::as_str).unwrap_or_default();
    if encoding != "UTF8" {
        return Err(StoreError::Backend(format!(
            "the database encoding is {encoding}; cmdb-rs needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8')"
        )));
    }
    let ctype = row.get(1).and_then(SqlValue::as_str).unwrap_or_default();
    if ctype == "C" || ctype == "POSIX" {
        tracing::warn!(
            ctype,
            "the database LC_CTYPE is {ctype}: case-insensitive filters fold ASCII letters only; \
             use a UTF-8 ctype such as C.UTF-8 for Unicode case folding"
        );
    }
    // Several processes starting at once: the first migrates, the others wait here and then
    // find the schema current (READ COMMITTED: each statement sees what committed before it).
    tx.query(
        "SELECT 1 FROM pg_advisory_xact_lock(CAST(? AS INTEGER), CAST(? AS INTEGER))",
        &[
            SqlValue::Int(i64::from(LOCK_NAMESPACE)),
            SqlValue::Int(i64::from(LOCK_MIGRATE)),
        ],
    )?;
    cmdb_store::schema::migrate(tx)
}

/// Runs one job in one transaction on a pooled connection (blocking).
fn run_job(
    pool: &Pool,
    sequences: &KnownSequences,
    cache: &SchemaCache,
    job: DynJob,
    write: bool,
) -> JobResult {
    let mut conn = pool.begin(if write { BEGIN_WRITE } else { BEGIN_READ })?;
    let (outcome, failed, mut broken) = {
        let mut tx = PgTx::new(&mut conn, sequences, Some(cache));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut tx)));
        (outcome, tx.failed, tx.broken)
    };
    let result = match outcome {
        Ok(r) => r,
        Err(_) => Err(StoreError::Backend(
            if write {
                "write job panicked"
            } else {
                "read job panicked"
            }
            .into(),
        )),
    };
    let result = match result {
        Ok(value) if write && !broken => {
            finish_write(&mut conn, failed, &mut broken).map(|()| value)
        }
        Ok(value) if !broken => {
            if conn.client.batch_execute("ROLLBACK").is_err() {
                broken = true;
            }
            Ok(value)
        }
        Ok(_) => Err(StoreError::Unavailable(
            "the connection was lost during the transaction".into(),
        )),
        Err(e) => {
            if !broken && conn.client.batch_execute("ROLLBACK").is_err() {
                broken = true;
            }
            Err(e)
        }
    };
    if broken || conn.client.is_closed() {
        drop(conn);
    } else {
        pool.put(conn);
    }
    result
}

/// Commits a write whose job succeeded.
fn finish_write(conn: &mut tx::Conn, failed: bool, broken: &mut bool) -> Result<(), StoreError> {
    if failed {
        // A statement failed and the job carried on: unless it rolled back to a savepoint the
        // transaction is aborted, and COMMIT would quietly roll it back.
        if let Err(e) = conn.client.batch_execute("SELECT 1") {
            let e = map_err(e);
            if matches!(e, StoreError::Unavailable(_))
                || conn.client.batch_execute("ROLLBACK").is_err()
            {
                *broken = true;
            }
            return Err(StoreError::Backend(format!(
                "the job ignored a failed statement; the transaction was rolled back ({e})"
            )));
        }
    }
    conn.client
        .batch_execute("COMMIT")
        .map_err(|e| match map_err(e) {
            StoreError::Unavailable(m) => {
                *broken = true;
                StoreError::Unavailable(format!(
                    "connection lost during COMMIT, the write may or may not be applied: {m}"
                ))
            }
            other => other,
        })
}

#[async_trait]
impl Database for PgDb {
    async fn write_dyn(&self, job: DynJob) -> Result<Box<dyn Any + Send>, StoreError> {
        self.run(job, true).await
    }

    async fn read_dyn(&self, job: DynJob) -> Result<Box<dyn Any + Send>, StoreError> {
        self.run(job, false).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        cmdb_store::read(self, |tx| tx.query("SELECT 1", &[]).map(|_| ())).await
    }

    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        // Let running transactions finish (bounded wait): take every permit, then close.
        let _ = tokio::time::timeout(
            self.acquire_timeout,
            self.permits.acquire_many(self.pool_size),
        )
        .await;
        self.permits.close();
        self.pool.close();
        let idle = self.pool.take_idle();
        let _ = tokio::task::spawn_blocking(move || drop(idle)).await;
    }

    fn name(&self) -> &'static str {
        "postgres"
    }
}
