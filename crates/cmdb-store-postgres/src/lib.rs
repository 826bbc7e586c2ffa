//! The PostgreSQL backend of cmdb-rs, for several `cmdb serve` processes sharing one database.
//!
//! Why this shape:
//! * [`cmdb_store::Tx`] is synchronous (operations are plain functions over a transaction). Each
//!   job runs on a thread of the backend's own executor (`exec.rs`: at most one thread per
//!   pooled connection, one FIFO queue, a thread takes the next job without sleeping) holding
//!   one pooled connection for the whole transaction, so the async runtime never blocks. A job
//!   that waits for a thread longer than the acquire timeout fails as unavailable without
//!   running, as one whose requester went away never runs. A connection speaks the
//!   PostgreSQL protocol itself over a blocking socket (`wire.rs`, on the `postgres-protocol`
//!   codec): no runtime, channel or future per request, and one Sync per round trip.
//! * Pipelining: [`cmdb_store::Tx::execute_deferred`] queues a statement; it is sent together
//!   with the next request of the transaction (or with the COMMIT), in one write with one Sync,
//!   so the server answers the whole group with one flush; BEGIN (a statement prepared once per
//!   connection, like COMMIT and ROLLBACK) travels with the first request. A create is: BEGIN
//!   with the schema-version check, then the four inserts with COMMIT -- 2 round trips (3 when it
//!   draws a block of ids); a read is BEGIN with its query, then ROLLBACK. The first failure of a
//!   queued statement is reported by that later call (a unique violation as the caller's domain
//!   error), and stops the rest of its group; a failure in the group carrying COMMIT means the
//!   COMMIT did not run, and the transaction is rolled back. [`PgDb::round_trips`] counts them.
//! * Under load a write's COMMIT rides with the next job's first round trip (`run_job`): when a
//!   job is already waiting as a write ends, its thread keeps the connection, runs the next job
//!   on it, and sends the COMMIT (a Sync group of its own) in the same write as that job's
//!   BEGIN and first request. The write is answered once its COMMIT is, as always.
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
//!   processes and never reused. Under load values are drawn in blocks and handed out by the
//!   process (`ids.rs`), so most creates need no statement (and no round trip) for their id.
//!   The migration creates the known sequences; others are created on first use (see `tx.rs`).
//! * `?` placeholders are renumbered to `$n` once per statement text and connection, and the
//!   prepared statement is cached per connection (closed on the server when the cache drops it
//!   and no queued statement still uses it). Values are bound in the form the server
//!   inferred for each parameter (see `tx.rs` for the conversion table).
//! * Errors: `unique_violation` → [`StoreError::UniqueViolation`] with the constraint name (the
//!   migration names every constraint so `StoreError::is_unique_on` identifies the column);
//!   lost connections, shutdowns, refused connections → [`StoreError::Unavailable`]; the rest →
//!   [`StoreError::Backend`].
//! * Recovery: a connection that failed at the connection level is discarded. When the first
//!   round trip of a transaction (the one carrying its BEGIN) fails at the connection level on
//!   a connection that was idle in the pool, the server restarted since: all idle connections
//!   are discarded and that round trip is sent again on a fresh connection (the queued
//!   statements prepared again there), so the job never sees it. A round trip that carries
//!   COMMIT is never sent twice: when a job's only round trip would be its commit, BEGIN goes
//!   ahead on its own. So while the database is down requests fail with `Unavailable`, and once
//!   it is back they succeed without any restart of cmdb-rs.
//! * BEGIN is sent ahead of the statements of its round trip without waiting for its answer.
//!   BEGIN with constant options fails in practice only on a dead connection (handled above) or
//!   on one left inside a failed transaction (never returned to the pool); in both cases the
//!   statements behind it fail too, so none of them can run outside the transaction. Any BEGIN
//!   failure discards the connection.
//! * Migrations run under a transaction-scoped advisory lock, so several processes starting at
//!   once on an empty database migrate it exactly once.
//! * Change events: writers put them in an outbox at commit, unnumbered and without a lock; a
//!   sequencer thread per process, one at a time across processes, numbers the committed ones
//!   (`sequencer.rs`), so event-writing commits run in parallel.
//!
//! The database must use the UTF8 encoding (checked at connect). Case-insensitive matching
//! (`lower()`, `~*`) follows the database's `LC_CTYPE`: with `C` it folds ASCII only, so create
//! the database with a UTF-8 ctype such as `C.UTF-8` (a warning is logged otherwise).

mod exec;
mod ids;
mod pool;
mod sequencer;
pub mod testing;
mod tx;
mod values;
mod wire;

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cmdb_store::ops::schema_cache::SchemaCache;
use cmdb_store::{CommitSignal, Database, DynJob, SqlValue, StoreError, Tx};
use tokio_postgres::Config;

pub use testing::{create_test_database, TestDatabase};

use crate::exec::{Executor, Reply, Runner};
use crate::ids::Sequences;
use crate::pool::Pool;
use crate::sequencer::Sequencer;
use crate::tx::{Carry, Conn, PgTx, BEGIN_READ, BEGIN_WRITE, LOCK_MIGRATE, LOCK_NAMESPACE};

pub(crate) type JobResult = Result<Box<dyn Any + Send>, StoreError>;

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
    exec: Arc<Executor<PgRunner>>,
    acquire_timeout: Duration,
    closed: AtomicBool,
    commits: Arc<CommitSignal>,
    /// Numbers the events this process's writers leave in the outbox (see `sequencer.rs`).
    sequencer: Arc<Sequencer>,
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
        let pool = Arc::new(Pool::new(config));
        let sequences = Arc::new(Sequences::default());
        let cache = Arc::new(SchemaCache::new());
        let (p, s) = (pool.clone(), sequences.clone());
        tokio::task::spawn_blocking(move || open(&p, &s))
            .await
            .map_err(|e| StoreError::Backend(format!("migration task failed: {e}")))??;
        let commits = Arc::new(CommitSignal::default());
        let sequencer = Arc::new(Sequencer::start(
            pool.clone(),
            sequences.clone(),
            commits.clone(),
        )?);
        let runner = PgRunner {
            pool: pool.clone(),
            sequences,
            cache,
        };
        Ok(PgDb {
            pool,
            exec: Arc::new(Executor::new(
                options.pool_size.clamp(1, 10_000),
                options.acquire_timeout,
                runner,
            )),
            acquire_timeout: options.acquire_timeout,
            closed: AtomicBool::new(false),
            commits,
            sequencer,
        })
    }

    /// Network round trips to the server made by the transactions finished so far (BEGIN and
    /// deferred statements travel with other requests, so a typical write costs a few). For
    /// observability and tests.
    pub fn round_trips(&self) -> u64 {
        self.pool.trips()
    }

    async fn run(&self, job: DynJob, write: bool) -> JobResult {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("database is closed".into()));
        }
        self.exec.run(job, write).await
    }
}

/// Checks the database, then migrates it under the migration advisory lock (blocking).
fn open(pool: &Pool, sequences: &Sequences) -> Result<(), StoreError> {
    let (mut conn, idle) = pool.take()?;
    let result = {
        let mut tx = PgTx::new(
            &mut conn,
            BEGIN_WRITE,
            idle.then_some(pool),
            sequences,
            None,
        );
        let result = match migrate_locked(&mut tx) {
            Ok(version) => tx.commit().map(|()| version),
            Err(e) => {
                tx.rollback();
                Err(e)
            }
        };
        pool.count_trips(tx.trips);
        result
    };
    let version = result?;
    tracing::info!(version, "PostgreSQL schema is current");
    pool.put(conn);
    Ok(())
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

/// Runs jobs for the executor's threads.
struct PgRunner {
    pool: Arc<Pool>,
    sequences: Arc<Sequences>,
    cache: Arc<SchemaCache>,
}

/// What an executor thread keeps between jobs: the connection of a finished write whose COMMIT
/// is still to be sent (with the next job's first round trip), and that COMMIT.
#[derive(Default)]
struct Slot {
    held: Option<(Conn, Carry)>,
}

impl Runner for PgRunner {
    type Slot = Slot;

    fn run(
        &self,
        slot: &mut Slot,
        job: DynJob,
        write: bool,
        more: &dyn Fn() -> bool,
        reply: Reply,
    ) {
        run_job(self, slot, job, write, more, reply);
    }

    fn idle(&self, slot: &mut Slot) {
        if let Some((mut conn, carry)) = slot.held.take() {
            let broken = {
                let mut tx = PgTx::new(
                    &mut conn,
                    BEGIN_WRITE,
                    None,
                    &self.sequences,
                    Some(&self.cache),
                );
                tx.carry = Some(carry);
                tx.flush_carry();
                self.pool.count_trips(tx.trips);
                tx.broken
            };
            self.give_back(conn, broken);
        }
    }

    fn holding(&self, slot: &Slot) -> bool {
        slot.held.is_some()
    }
}

impl PgRunner {
    fn give_back(&self, conn: Conn, broken: bool) {
        if broken || conn.is_closed() {
            drop(conn);
        } else {
            self.pool.put(conn);
        }
    }
}

/// Runs one job in one transaction (blocking), on the connection the slot holds or a pooled
/// one, and sends its result.
///
/// Why a write may leave its COMMIT unsent: when another job is already waiting, the COMMIT
/// (with the write's deferred statements) is sent in the same write as that job's first round
/// trip, in a Sync group of its own ahead of the next BEGIN, on the same connection. Under load
/// that makes a create cost one round trip instead of two -- one wakeup less on each side.
/// Nothing changes for the write: its transaction is the same, its outcome is reported only once
/// the COMMIT is answered (so a reply still means durable), a failure ahead of the COMMIT is still
/// its own error (the next transaction is then sent again after a ROLLBACK, none of it having
/// run). It only waits for the next job to reach its first request -- microseconds, as that job
/// was already queued.
fn run_job(
    r: &PgRunner,
    slot: &mut Slot,
    job: DynJob,
    write: bool,
    more: &dyn Fn() -> bool,
    reply: Reply,
) {
    let (mut conn, idle, carry) = match slot.held.take() {
        Some((conn, carry)) => (conn, false, Some(carry)),
        None => match r.pool.take() {
            Ok((conn, idle)) => (conn, idle, None),
            Err(e) => return reply.send(Err(e)),
        },
    };
    let mut reply = Some(reply);
    let (result, broken, carry) = {
        let begin = if write { BEGIN_WRITE } else { BEGIN_READ };
        let mut tx = PgTx::new(
            &mut conn,
            begin,
            idle.then_some(&*r.pool),
            &r.sequences,
            Some(&r.cache),
        );
        tx.carry = carry;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut tx)));
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
        // A COMMIT carried from the previous job that this one never sent anything with.
        tx.flush_carry();
        // What must run last (the event seal) is queued before the COMMIT is sent or carried.
        let result = match result {
            Ok(value) if write => tx.queue_at_commit().map(|()| value),
            other => other,
        };
        let mut carry = None;
        let result = match result {
            Ok(_) if tx.broken => Err(StoreError::Unavailable(
                "the connection was lost during the transaction".into(),
            )),
            Ok(value) if write && tx.can_carry() && more() => {
                let answer = reply.take();
                carry = Some(tx.take_carry(Box::new(move |committed| {
                    if let Some(answer) = answer {
                        answer.send(committed.map(|()| value));
                    }
                })));
                Ok(None)
            }
            Ok(value) if write => tx.commit().map(|()| Some(value)),
            Ok(value) => tx.finish_read().map(|()| Some(value)),
            Err(e) => {
                tx.rollback();
                Err(e)
            }
        };
        r.pool.count_trips(tx.trips);
        (result, tx.broken, carry)
    };
    if let Some(carry) = carry {
        slot.held = Some((conn, carry));
        return;
    }
    // The connection goes back first: a requester that sends its next job as soon as it has
    // this answer finds it in the pool (with its prepared statements), not a fresh one.
    r.give_back(conn, broken);
    if let Some(reply) = reply {
        reply.send(result.and_then(|value| {
            value.ok_or_else(|| StoreError::Backend("the job result went missing".into()))
        }));
    }
}

#[async_trait]
impl Database for PgDb {
    async fn write_dyn(&self, job: DynJob) -> Result<Box<dyn Any + Send>, StoreError> {
        let out = self.run(job, true).await;
        // Committed (or, on a lost connection, perhaps committed): its events await numbering,
        // and a committed write is answered once they have it (see `sequencer.rs`).
        let ticket = self.sequencer.wake();
        if out.is_ok() {
            self.sequencer.numbered(ticket).await;
        }
        out
    }

    async fn read_dyn(&self, job: DynJob) -> Result<Box<dyn Any + Send>, StoreError> {
        self.run(job, false).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        cmdb_store::read(self, |tx| tx.query("SELECT 1", &[]).map(|_| ())).await
    }

    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        // Let submitted transactions finish (bounded wait), then close.
        let exec = self.exec.clone();
        let timeout = self.acquire_timeout;
        let _ = tokio::task::spawn_blocking(move || exec.drain(timeout)).await;
        let sequencer = self.sequencer.clone();
        let _ = tokio::task::spawn_blocking(move || sequencer.stop()).await;
        self.pool.close();
        let idle = self.pool.take_idle();
        let _ = tokio::task::spawn_blocking(move || drop(idle)).await;
    }

    fn name(&self) -> &'static str {
        "postgres"
    }

    fn shared(&self) -> bool {
        true
    }

    fn commit_signal(&self) -> &CommitSignal {
        &self.commits
    }
}
