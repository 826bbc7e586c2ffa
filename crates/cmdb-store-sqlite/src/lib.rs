//! The embedded SQLite backend (the default).
//!
//! Why this shape: SQLite allows one writer at a time, so all writes go to ONE dedicated thread
//! that owns the write connection. It drains whatever jobs are queued, runs each inside its own
//! SAVEPOINT of a single transaction and commits once (group commit): a failed job rolls back
//! only its savepoint, and every job's caller is answered only after the shared COMMIT returned.
//! WAL mode with `synchronous=NORMAL` makes a committed transaction survive `kill -9` of the
//! process (the WAL is in the OS page cache); reads run on a small pool of separate connections
//! via `spawn_blocking`, each inside a read transaction (a consistent snapshot), so they never
//! wait for the writer and never block the async runtime.

mod conn;

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use async_trait::async_trait;
use cmdb_store::ops::schema_cache::SchemaCache;
use cmdb_store::{CommitSignal, Database, DynJob, StoreError};
use parking_lot::Mutex;
use rusqlite::Connection;
use tokio::sync::{oneshot, Semaphore};

use crate::conn::{open_connection, SqliteTx};

/// Most jobs committed together in one group commit.
const MAX_GROUP: usize = 256;
/// Most concurrent read transactions.
const MAX_READERS: usize = 8;

type JobResult = Result<Box<dyn Any + Send>, StoreError>;
type Reply = oneshot::Sender<JobResult>;

enum Msg {
    Job(DynJob, Reply),
    Shutdown(oneshot::Sender<()>),
}

/// An open SQLite database file.
pub struct SqliteDb {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<Msg>>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    read_permits: Arc<Semaphore>,
    cache: Arc<SchemaCache>,
    commits: CommitSignal,
}

impl SqliteDb {
    /// Opens (creating if needed) the database at `path`, applies migrations, and starts the
    /// writer thread.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let write_conn = open_and_migrate(path)?;
        let cache = Arc::new(SchemaCache::new());
        let writer_cache = cache.clone();
        let (sender, receiver) = mpsc::channel::<Msg>();
        thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(write_conn, receiver, &writer_cache))
            .map_err(|e| StoreError::Backend(format!("cannot start writer thread: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Mutex::new(Some(sender)),
            readers: Arc::new(Mutex::new(Vec::new())),
            read_permits: Arc::new(Semaphore::new(MAX_READERS)),
            cache,
            commits: CommitSignal::default(),
        })
    }
}

/// Opens the write connection and brings the schema up to date. Another process opening the
/// same file at the same moment (several `cmdb serve` on one file, or a restart overlapping the
/// old process) can make SQLite answer "database is locked" at once instead of waiting -- e.g.
/// while it switches the file to WAL -- so busy answers are retried for a bounded time.
fn open_and_migrate(path: &Path) -> Result<Connection, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match try_open_and_migrate(path) {
            Err(StoreError::Unavailable(msg))
                if std::time::Instant::now() < deadline
                    && (msg.contains("locked") || msg.contains("busy")) =>
            {
                thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn try_open_and_migrate(path: &Path) -> Result<Connection, StoreError> {
    let mut write_conn = open_connection(path)?;
    {
        let tx = write_conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(conn::map_err)?;
        let mut stx = SqliteTx::new(&tx, None);
        cmdb_store::schema::migrate(&mut stx)?;
        cmdb_store::schema::sqlite_planner_hints(&mut stx)?;
        tx.commit().map_err(conn::map_err)?;
    }
    Ok(write_conn)
}

fn writer_loop(mut conn: Connection, receiver: mpsc::Receiver<Msg>, cache: &SchemaCache) {
    let mut shutdown: Option<oneshot::Sender<()>> = None;
    while shutdown.is_none() {
        let Ok(first) = receiver.recv() else { break };
        let mut batch: Vec<(DynJob, Reply)> = Vec::new();
        match first {
            Msg::Job(job, reply) => batch.push((job, reply)),
            Msg::Shutdown(done) => shutdown = Some(done),
        }
        while shutdown.is_none() && batch.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(Msg::Job(job, reply)) => batch.push((job, reply)),
                Ok(Msg::Shutdown(done)) => shutdown = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            run_batch(&mut conn, batch, cache);
        }
    }
    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
        tracing::warn!(error = %e, "checkpoint at shutdown failed");
    }
    drop(conn);
    if let Some(done) = shutdown {
        let _ = done.send(());
    }
}

fn run_batch(conn: &mut Connection, batch: Vec<(DynJob, Reply)>, cache: &SchemaCache) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let msg = e.to_string();
        for (_, reply) in batch {
            let _ = reply.send(Err(StoreError::Unavailable(msg.clone())));
        }
        return;
    }
    let mut results: Vec<(Reply, JobResult)> = Vec::new();
    for (job, reply) in batch {
        let result = run_in_savepoint(conn, job, cache);
        results.push((reply, result));
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            for (reply, result) in results {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            let msg = e.to_string();
            for (reply, _) in results {
                let _ = reply.send(Err(StoreError::Backend(format!("commit failed: {msg}"))));
            }
        }
    }
}

fn run_in_savepoint(conn: &Connection, job: DynJob, cache: &SchemaCache) -> JobResult {
    conn.execute_batch("SAVEPOINT job").map_err(conn::map_err)?;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut tx = SqliteTx::new(conn, Some(cache));
        job(&mut tx)
    }));
    let result = match outcome {
        Ok(r) => r,
        Err(_) => Err(StoreError::Backend("write job panicked".into())),
    };
    let end = if result.is_ok() {
        "RELEASE job"
    } else {
        "ROLLBACK TO job; RELEASE job"
    };
    conn.execute_batch(end).map_err(conn::map_err)?;
    result
}

#[async_trait]
impl Database for SqliteDb {
    async fn write_dyn(&self, job: DynJob) -> Result<Box<dyn Any + Send>, StoreError> {
        let (reply, answer) = oneshot::channel();
        {
            let guard = self.writer.lock();
            let sender = guard
                .as_ref()
                .ok_or_else(|| StoreError::Unavailable("database is closed".into()))?;
            sender
                .send(Msg::Job(job, reply))
                .map_err(|_| StoreError::Unavailable("database writer stopped".into()))?;
        }
        answer
            .await
            .map_err(|_| StoreError::Unavailable("database writer stopped".into()))?
    }

    async fn read_dyn(&self, job: DynJob) -> Result<Box<dyn Any + Send>, StoreError> {
        let _permit = self
            .read_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("database is closed".into()))?;
        let readers = self.readers.clone();
        let path = self.path.clone();
        let cache = self.cache.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().pop();
            let mut conn = match pooled {
                Some(c) => c,
                None => open_connection(&path)?,
            };
            let result = run_read(&mut conn, job, &cache);
            readers.lock().push(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(format!("read task failed: {e}")))?
    }

    async fn ping(&self) -> Result<(), StoreError> {
        cmdb_store::read(self, |tx| tx.query("SELECT 1", &[]).map(|_| ())).await
    }

    async fn close(&self) {
        let sender = self.writer.lock().take();
        if let Some(sender) = sender {
            let (done, wait) = oneshot::channel();
            if sender.send(Msg::Shutdown(done)).is_ok() {
                let _ = wait.await;
            }
        }
        self.read_permits.close();
        self.readers.lock().clear();
    }

    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn commit_signal(&self) -> &CommitSignal {
        &self.commits
    }
}

fn run_read(conn: &mut Connection, job: DynJob, cache: &SchemaCache) -> JobResult {
    let tx = conn.transaction().map_err(conn::map_err)?;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut stx = SqliteTx::new(&tx, Some(cache));
        job(&mut stx)
    }));
    let _ = tx.rollback();
    match outcome {
        Ok(r) => r,
        Err(_) => Err(StoreError::Backend("read job panicked".into())),
    }
}
