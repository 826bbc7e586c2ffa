//! One PostgreSQL connection inside an open transaction as a [`Tx`]: `?` → `$n` rewriting, the
//! per-connection prepared-statement cache, deferred statements and their pipelining, value
//! conversion in both directions, sequences for [`Tx::next_id`], and the mapping of PostgreSQL
//! errors to [`StoreError`].
//!
//! Pipelining: [`Tx::execute_deferred`] only queues the statement (prepared, with its
//! parameters). The next request that needs the server -- a query, an execute, a batch, a
//! prepare on a cache miss, a flush, the COMMIT -- is sent right behind the queued statements,
//! before any response is awaited (their futures are polled together, and tokio-postgres writes
//! every request it was handed before it reads), so the whole group costs one round trip. Each
//! request keeps its own Sync message: a failing statement aborts the transaction, every later
//! one then fails with 25P02, and the first failure is the one reported, so the outcome is the
//! one of running them one by one. A statement whose parameters do not encode fails before it is
//! sent; the ones behind it are then not sent at all.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use cmdb_domain::DomainError;
use cmdb_store::ops::schema_cache::SchemaCache;
use cmdb_store::{Dialect, Row, SqlValue, StoreError, Tx};
use serde_json::Value;
use tokio::runtime::Runtime;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Statement};

use crate::ids::Sequences;
use crate::pool::Pool;

/// Most prepared statements kept per connection; the cache is emptied when it is full (compiled
/// filters produce many one-off statement texts, so an unbounded cache would grow forever).
const STATEMENT_CACHE: usize = 512;

/// Most deferred statements queued before they are sent anyway: bounds the memory a long job
/// holds in parameters, not the number of round trips that matter.
const QUEUE_LIMIT: usize = 256;

/// How long dropping a connection waits for its Terminate message to be written.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Advisory-lock namespace (first key of the two-key form) of this backend: "CMDB".
pub(crate) const LOCK_NAMESPACE: i32 = 0x434d_4442;
/// Second key of the migration lock.
pub(crate) const LOCK_MIGRATE: i32 = 1;
/// Second keys of sequence-creation locks are `hashtext(name)`; this is the first key.
const LOCK_SEQUENCE_NAMESPACE: i32 = 0x434d_4453;

/// Prefix of the PostgreSQL sequence behind `next_id(name)`.
pub(crate) const SEQUENCE_PREFIX: &str = "cmdb_id_";

/// A pooled connection: a tokio-postgres client, the private current-thread runtime that drives
/// its connection task, and what is cached for it.
///
/// Every call is `runtime.block_on(..)`, which also runs the connection task (what the
/// synchronous `postgres` crate does inside, but with the client in hand several requests can be
/// in flight at once). `block_on` panics on a thread that is running async tasks; connections
/// are only used and dropped on `spawn_blocking` threads and plain threads, which carry a runtime
/// handle but are not inside a runtime for that purpose.
pub(crate) struct Conn {
    // Fields drop in order: the client first, which closes the request channel, then the driver
    // lets the connection task send Terminate and end.
    client: Client,
    /// Prepared statements by the caller's SQL text (with `?` placeholders).
    statements: HashMap<String, Statement>,
    driver: Driver,
}

struct Driver {
    runtime: Runtime,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            // The timer is made inside `block_on`: it belongs to this runtime, not to whatever
            // runtime (if any) the dropping thread has a handle of.
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(CLOSE_WAIT, task).await });
        }
    }
}

impl Conn {
    /// A fresh connection (blocking).
    pub(crate) fn connect(config: &Config) -> Result<Conn, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot start a connection runtime: {e}")))?;
        // Whatever stops us from connecting (refused, starting up, shut down, bad password)
        // means the database cannot be used right now.
        let (client, connection) = runtime.block_on(config.connect(NoTls)).map_err(|e| {
            StoreError::Unavailable(format!("cannot connect to PostgreSQL: {}", describe(&e)))
        })?;
        let task = runtime.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %describe(&e), "PostgreSQL connection ended");
            }
        });
        Ok(Conn {
            client,
            statements: HashMap::new(),
            driver: Driver {
                runtime,
                task: Some(task),
            },
        })
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.driver.runtime.block_on(future)
    }

    /// Runs `;`-separated statements without parameters (blocking).
    pub(crate) fn batch_execute(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.block_on(self.client.batch_execute(sql))
    }

    /// The connection task ended (the server closed the connection or it broke).
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

/// A statement queued by [`Tx::execute_deferred`].
struct Deferred {
    /// The caller's SQL text (to prepare it again on a replacement connection).
    sql: String,
    statement: Statement,
    params: Vec<SqlValue>,
    on_unique: Option<DomainError>,
}

/// One request of a round trip.
enum Request<'a> {
    Prepare(&'a str),
    Query(&'a Statement, &'a [SqlValue]),
    Execute(&'a Statement, &'a [SqlValue]),
    Batch(&'a str),
}

/// The answer to a [`Request`].
enum Response {
    Prepared(Statement),
    Rows(Vec<tokio_postgres::Row>),
    Count(u64),
    Done,
}

type InFlight<'a> = Pin<Box<dyn Future<Output = Result<Response, tokio_postgres::Error>> + 'a>>;

/// The request as a future; nothing is sent before it is first polled.
fn request<'a>(client: &'a Client, request: Request<'a>) -> InFlight<'a> {
    match request {
        Request::Prepare(sql) => {
            Box::pin(async move { client.prepare(sql).await.map(Response::Prepared) })
        }
        Request::Query(st, params) => Box::pin(async move {
            let bound: Vec<Param<'_>> = params.iter().map(Param).collect();
            client.query(st, &as_refs(&bound)).await.map(Response::Rows)
        }),
        Request::Execute(st, params) => Box::pin(async move {
            client
                .execute_raw(st, params.iter().map(Param))
                .await
                .map(Response::Count)
        }),
        Request::Batch(sql) => {
            Box::pin(async move { client.batch_execute(sql).await.map(|()| Response::Done) })
        }
    }
}

type Outcome = Option<Result<Response, tokio_postgres::Error>>;

/// Runs the requests in order as one pipeline: all of them are polled (so sent) before any
/// response is awaited. A request that completes on its first poll failed before it was sent
/// (its parameters did not encode, or the connection is closed): the requests behind it are then
/// never polled, so never sent, and their outcome is `None`.
async fn pipeline(mut requests: Vec<InFlight<'_>>) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = requests.iter().map(|_| None).collect();
    let mut started = 0;
    let mut stopped = false;
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for (i, (req, out)) in requests.iter_mut().zip(outcomes.iter_mut()).enumerate() {
            if out.is_some() {
                continue;
            }
            let first_poll = i >= started;
            if first_poll {
                if stopped {
                    break;
                }
                started = i + 1;
            }
            match req.as_mut().poll(cx) {
                Poll::Ready(result) => {
                    stopped |= first_poll && result.is_err();
                    *out = Some(result);
                }
                Poll::Pending => waiting = true,
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outcomes
}

/// A deferred statement's failure, with its unique violation reported as the caller asked.
fn deferred_err(e: tokio_postgres::Error, on_unique: Option<DomainError>) -> StoreError {
    match (map_err(e), on_unique) {
        (StoreError::UniqueViolation { .. }, Some(domain)) => StoreError::Domain(domain),
        (other, _) => other,
    }
}

fn not_sent() -> StoreError {
    StoreError::Backend("a statement was not sent (an earlier one failed)".into())
}

fn unexpected() -> StoreError {
    StoreError::Backend("unexpected response kind from the PostgreSQL driver".into())
}

/// The outcome of [`PgTx::send`].
enum Trip {
    /// The first failure among BEGIN and the queued statements (already recorded in
    /// `failed` / `broken`), and the last request's outcome.
    Done(Option<StoreError>, Outcome),
    /// The connection, idle since its last transaction, was found dead by this transaction's
    /// first round trip and replaced by a fresh one, on which the queued statements are prepared
    /// again; the caller prepares its own statement again and repeats the request.
    Reconnected,
}

/// A transaction on a pooled connection. BEGIN is sent with the first request, deferred
/// statements with the next one; the owner ends it with [`PgTx::commit`], [`PgTx::rollback`] or
/// [`PgTx::finish_read`].
pub(crate) struct PgTx<'c> {
    conn: &'c mut Conn,
    sequences: &'c Sequences,
    cache: Option<&'c SchemaCache>,
    /// The BEGIN statement, until it has been sent.
    begin: Option<&'static str>,
    /// The pool, while the first round trip of a connection taken idle from it is still to come
    /// (that round trip is repeated on a fresh connection when it finds the old one dead).
    recover: Option<&'c Pool>,
    /// Deferred statements not sent yet, in order.
    queue: Vec<Deferred>,
    /// Sequences this transaction created (they vanish if it rolls back, so their values are
    /// never kept for other transactions).
    created: Vec<String>,
    /// A statement failed: the transaction may be in the aborted state.
    pub(crate) failed: bool,
    /// The connection is unusable (a connection-level error was seen).
    pub(crate) broken: bool,
    /// Network round trips made so far.
    pub(crate) trips: u64,
}

impl<'c> PgTx<'c> {
    /// A transaction to be begun by `begin` on `conn`; `recover` is the pool when `conn` was
    /// idle in it (and so may have died since).
    pub(crate) fn new(
        conn: &'c mut Conn,
        begin: &'static str,
        recover: Option<&'c Pool>,
        sequences: &'c Sequences,
        cache: Option<&'c SchemaCache>,
    ) -> Self {
        Self {
            conn,
            sequences,
            cache,
            begin: Some(begin),
            recover,
            queue: Vec::new(),
            created: Vec::new(),
            failed: false,
            broken: false,
            trips: 0,
        }
    }

    fn note<T>(&mut self, r: Result<T, tokio_postgres::Error>) -> Result<T, StoreError> {
        r.map_err(|e| self.note_err(map_err(e)))
    }

    fn note_err(&mut self, e: StoreError) -> StoreError {
        self.failed = true;
        if matches!(e, StoreError::Unavailable(_)) {
            self.broken = true;
        }
        e
    }

    /// One round trip: BEGIN if it was not sent yet, the queued statements when `queued`, then
    /// `last` -- all written before any answer is awaited.
    ///
    /// BEGIN goes with the first request so that a transaction costs no round trip of its own.
    /// When that first round trip fails at the connection level on a connection that was idle
    /// in the pool, the server went away since (restart): the connection is replaced and the
    /// caller repeats the request, as nothing of this transaction ran. Any other failure of BEGIN
    /// discards the connection (its session state is unknown).
    fn send(&mut self, queued: bool, last: Option<Request<'_>>) -> Trip {
        let begin = self.begin;
        if begin.is_none() && (!queued || self.queue.is_empty()) && last.is_none() {
            return Trip::Done(None, None);
        }
        let queue = if queued {
            std::mem::take(&mut self.queue)
        } else {
            Vec::new()
        };
        let conn = &*self.conn;
        let mut requests: Vec<InFlight<'_>> = Vec::with_capacity(queue.len() + 2);
        if let Some(begin) = begin {
            requests.push(request(&conn.client, Request::Batch(begin)));
        }
        for d in &queue {
            requests.push(request(
                &conn.client,
                Request::Execute(&d.statement, &d.params),
            ));
        }
        let with_last = last.is_some();
        requests.extend(last.map(|r| request(&conn.client, r)));
        let mut outcomes = conn.block_on(pipeline(requests)).into_iter();
        self.trips += 1;
        let recover = self.recover.take();
        if begin.is_some() {
            self.begin = None;
            let e = match outcomes.next().flatten() {
                Some(Ok(_)) => None,
                Some(Err(e)) => Some(map_err(e)),
                None => Some(not_sent()),
            };
            if let Some(e) = e {
                if let (StoreError::Unavailable(_), Some(pool)) = (&e, recover) {
                    self.begin = begin;
                    let mut queue = queue;
                    queue.append(&mut self.queue);
                    self.queue = queue;
                    return match self.reconnect(pool) {
                        Ok(()) => Trip::Reconnected,
                        Err(e) => {
                            self.queue.clear();
                            Trip::Done(Some(self.note_err(e)), None)
                        }
                    };
                }
                self.broken = true;
                return Trip::Done(Some(self.note_err(e)), None);
            }
        }
        let mut first = None;
        for (d, outcome) in queue.into_iter().zip(outcomes.by_ref()) {
            if first.is_some() {
                continue;
            }
            first = match outcome {
                Some(Ok(_)) => None,
                Some(Err(e)) => Some(deferred_err(e, d.on_unique)),
                None => Some(not_sent()),
            };
        }
        let last = if with_last {
            outcomes.next().flatten()
        } else {
            None
        };
        let first = first.map(|e| self.note_err(e));
        Trip::Done(first, last)
    }

    /// Replaces the (dead) connection by a fresh one and prepares the queued statements there.
    fn reconnect(&mut self, pool: &Pool) -> Result<(), StoreError> {
        pool.discard_idle(1);
        *self.conn = pool.connect()?;
        let texts: Vec<String> = self
            .queue
            .iter()
            .map(|d| rewrite_placeholders(&d.sql))
            .collect();
        let conn = &*self.conn;
        let requests = texts
            .iter()
            .map(|sql| request(&conn.client, Request::Prepare(sql)))
            .collect();
        let outcomes = conn.block_on(pipeline(requests));
        self.trips += 1;
        for (d, outcome) in self.queue.iter_mut().zip(outcomes) {
            match outcome {
                Some(Ok(Response::Prepared(st))) => {
                    self.conn.statements.insert(d.sql.clone(), st.clone());
                    d.statement = st;
                }
                Some(Err(e)) => return Err(map_err(e)),
                _ => return Err(unexpected()),
            }
        }
        Ok(())
    }

    /// One round trip ending with `last`: its response, the first failure, or `None` when the
    /// connection was replaced and the caller has to prepare and ask again.
    fn round_trip(&mut self, last: Request<'_>) -> Result<Option<Response>, StoreError> {
        match self.send(true, Some(last)) {
            Trip::Reconnected => Ok(None),
            Trip::Done(Some(e), _) => Err(e),
            Trip::Done(None, Some(result)) => self.note(result).map(Some),
            Trip::Done(None, None) => Err(self.note_err(not_sent())),
        }
    }

    /// The cached prepared statement for `sql`, preparing (after renumbering) on a miss.
    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        loop {
            if let Some(st) = self.conn.statements.get(sql) {
                return Ok(st.clone());
            }
            let pg_sql = rewrite_placeholders(sql);
            match self.round_trip(Request::Prepare(&pg_sql))? {
                Some(Response::Prepared(st)) => {
                    if self.conn.statements.len() >= STATEMENT_CACHE {
                        // Queued statements keep their own handle: they stay prepared until
                        // sent.
                        self.conn.statements.clear();
                    }
                    self.conn.statements.insert(sql.to_string(), st.clone());
                    return Ok(st);
                }
                Some(_) => return Err(self.note_err(unexpected())),
                None => {}
            }
        }
    }

    /// Prepares `sql`, checks the parameter count and sends the request `make` builds from the
    /// statement (again on a fresh connection when the first one was found dead).
    fn run(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        make: for<'a> fn(&'a Statement, &'a [SqlValue]) -> Request<'a>,
    ) -> Result<Response, StoreError> {
        loop {
            let st = self.statement(sql)?;
            self.check_arity(&st, params)?;
            if let Some(response) = self.round_trip(make(&st, params))? {
                return Ok(response);
            }
        }
    }

    fn check_arity(&mut self, st: &Statement, params: &[SqlValue]) -> Result<(), StoreError> {
        if st.params().len() != params.len() {
            let e = StoreError::Backend(format!(
                "statement has {} placeholders but {} parameters were given",
                st.params().len(),
                params.len()
            ));
            return Err(self.note_err(e));
        }
        Ok(())
    }

    fn sequence_exists(&mut self, seq: &str) -> Result<bool, StoreError> {
        let rows = self.query(
            "SELECT to_regclass(CAST(? AS TEXT)) IS NOT NULL",
            &[SqlValue::Text(seq.to_string())],
        )?;
        Ok(matches!(
            rows.first().and_then(|r| r.first()),
            Some(SqlValue::Bool(true))
        ))
    }

    /// Ends a write whose job succeeded: the queued statements and COMMIT in one round trip.
    ///
    /// When a queued statement failed, PostgreSQL answers that COMMIT with a rollback and the
    /// first failure is returned (a unique violation as its `on_unique`); when it was not even
    /// sent, the transaction is rolled back here. A job that ignored a failed statement earlier
    /// is caught first, before anything queued is sent.
    pub(crate) fn commit(&mut self) -> Result<(), StoreError> {
        if self.begin.is_some() {
            if self.queue.is_empty() {
                // Nothing was ever sent: there is nothing to commit.
                return Ok(());
            }
            if self.recover.is_some() {
                // A round trip that carries COMMIT is never repeated on a fresh connection (its
                // answers could be lost after the server committed): begin on its own first.
                loop {
                    match self.send(false, None) {
                        Trip::Reconnected => {}
                        Trip::Done(Some(e), _) => {
                            self.rollback();
                            return Err(e);
                        }
                        Trip::Done(None, _) => break,
                    }
                }
            }
        }
        if self.failed && self.begin.is_none() {
            // Unless the job rolled back to a savepoint the transaction is aborted, and COMMIT
            // would quietly roll it back.
            self.trips += 1;
            if let Err(e) = self.conn.batch_execute("SELECT 1") {
                let e = map_err(e);
                if matches!(e, StoreError::Unavailable(_)) {
                    self.broken = true;
                }
                self.rollback();
                return Err(StoreError::Backend(format!(
                    "the job ignored a failed statement; the transaction was rolled back ({e})"
                )));
            }
        }
        let (first, committed) = match self.send(true, Some(Request::Batch("COMMIT"))) {
            Trip::Done(first, committed) => (first, committed),
            // Not reachable: only a first round trip is repeated, and it never carries COMMIT.
            Trip::Reconnected => (
                Some(StoreError::Backend("COMMIT was not sent".into())),
                None,
            ),
        };
        match (first, committed) {
            (None, Some(Ok(_))) => Ok(()),
            (None, Some(Err(e))) => Err(self.commit_lost(map_err(e))),
            (None, None) => {
                self.rollback();
                Err(not_sent())
            }
            (Some(e @ StoreError::Unavailable(_)), _) => Err(self.commit_lost(e)),
            (Some(e), committed) => {
                match committed.map(|r| r.map_err(map_err)) {
                    // The COMMIT of the aborted transaction was answered with a rollback.
                    Some(Ok(_)) => {}
                    Some(Err(StoreError::Unavailable(_))) => self.broken = true,
                    // Not sent (a parameter did not encode, or BEGIN failed), or refused.
                    _ => self.rollback(),
                }
                Err(e)
            }
        }
    }

    /// The error of a COMMIT round trip that failed: connection errors mean the outcome of the
    /// transaction is unknown.
    fn commit_lost(&mut self, e: StoreError) -> StoreError {
        match e {
            StoreError::Unavailable(m) => {
                self.broken = true;
                StoreError::Unavailable(format!(
                    "connection lost during COMMIT, the write may or may not be applied: {m}"
                ))
            }
            other => other,
        }
    }

    /// Ends a read whose job succeeded: runs anything it queued (reporting its failure), then
    /// rolls back.
    pub(crate) fn finish_read(&mut self) -> Result<(), StoreError> {
        let flushed = self.flush();
        self.rollback();
        flushed
    }

    /// Ends the transaction without committing: drops the queued statements, rolls back (when
    /// BEGIN was sent at all), and marks the connection broken when even that fails.
    pub(crate) fn rollback(&mut self) {
        self.queue.clear();
        if self.begin.is_none() && !self.broken {
            self.trips += 1;
            if self.conn.batch_execute("ROLLBACK").is_err() {
                self.broken = true;
            }
        }
    }
}

fn as_refs<'a>(params: &'a [Param<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl Tx for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        let rows = match self.run(sql, params, |st, p| Request::Query(st, p))? {
            Response::Rows(rows) => rows,
            _ => return Err(self.note_err(unexpected())),
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut cells = Vec::with_capacity(row.len());
            for i in 0..row.len() {
                let cell = row.try_get::<_, Cell>(i);
                cells.push(self.note(cell)?.0);
            }
            out.push(cells);
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        match self.run(sql, params, |st, p| Request::Execute(st, p))? {
            Response::Count(n) => Ok(n),
            _ => Err(self.note_err(unexpected())),
        }
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        loop {
            if self.round_trip(Request::Batch(sql))?.is_some() {
                return Ok(());
            }
        }
    }

    /// Queues the statement (prepared now, so a wrong statement or parameter count fails here)
    /// to be sent with the next request of this transaction.
    fn execute_deferred(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        on_unique: Option<DomainError>,
    ) -> Result<(), StoreError> {
        let st = self.statement(sql)?;
        self.check_arity(&st, params)?;
        self.queue.push(Deferred {
            sql: sql.to_string(),
            statement: st,
            params: params.to_vec(),
            on_unique,
        });
        if self.queue.len() >= QUEUE_LIMIT {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if self.queue.is_empty() {
            return Ok(());
        }
        loop {
            match self.send(true, None) {
                Trip::Reconnected => {}
                Trip::Done(Some(e), _) => return Err(e),
                Trip::Done(None, _) => return Ok(()),
            }
        }
    }

    fn schema_cache(&self) -> Option<&SchemaCache> {
        self.cache
    }

    /// A value of the sequence `cmdb_id_<name>` (`nextval`, never rolled back, so ids are
    /// never reused, and no lock is held between transactions). Values are drawn in blocks under
    /// load and handed out by this process one at a time (see `ids.rs`), so most calls send
    /// nothing. Sequences the migrations did not create are created on first use, under an
    /// advisory lock so two transactions (or processes) creating the same one wait for each other
    /// instead of failing, and after checking existence first, so the transaction is never put
    /// into the aborted state by a missing sequence.
    fn next_id(&mut self, sequence: &str) -> Result<i64, StoreError> {
        if !is_ident(sequence) || sequence.len() > 40 {
            return Err(StoreError::Backend(format!(
                "invalid sequence name {sequence:?}"
            )));
        }
        if let Some(id) = self.sequences.take(sequence) {
            return Ok(id);
        }
        let seq = format!("{SEQUENCE_PREFIX}{sequence}");
        let created_here = self.created.iter().any(|c| c == sequence);
        let mut known = !created_here && self.sequences.is_known(sequence);
        if !known && !created_here {
            if self.sequence_exists(&seq)? {
                self.sequences.set_known(sequence);
                known = true;
            } else {
                self.query(
                    "SELECT 1 FROM pg_advisory_xact_lock(CAST(? AS INTEGER), hashtext(CAST(? AS TEXT)))",
                    &[
                        SqlValue::Int(i64::from(LOCK_SEQUENCE_NAMESPACE)),
                        SqlValue::Text(seq.clone()),
                    ],
                )?;
                // Not cached as known: the creation commits only with this transaction.
                self.execute_batch(&format!("CREATE SEQUENCE IF NOT EXISTS {seq}"))?;
                self.created.push(sequence.to_string());
            }
        }
        // Values are kept for other transactions only from a sequence that exists committed:
        // one created by this transaction disappears if it rolls back, and would hand the same
        // values out again when created anew.
        let block = if known {
            self.sequences.next_block(sequence)
        } else {
            1
        };
        let rows = self.query(
            "SELECT nextval(CAST(? AS TEXT)) FROM generate_series(1, CAST(? AS INTEGER))",
            &[SqlValue::Text(seq), SqlValue::Int(block)],
        )?;
        let mut ids = rows
            .iter()
            .map(|r| r.first().and_then(SqlValue::as_i64))
            .collect::<Option<Vec<i64>>>()
            .unwrap_or_default()
            .into_iter();
        let id = ids
            .next()
            .ok_or_else(|| StoreError::Backend("sequence returned no value".into()))?;
        if known {
            self.sequences.give(sequence, ids);
        }
        Ok(id)
    }
}

/// `^[A-Za-z_][A-Za-z0-9_]*$`.
fn is_ident(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Renumbers `?` placeholders to `$1..$n`. Question marks inside single-quoted literals, quoted
/// identifiers and comments are left alone (the contract forbids them outside placeholders, so
/// this is defence in depth, not a feature).
pub(crate) fn rewrite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '?' => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            '\'' | '"' => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Parameters

/// A [`SqlValue`] bound in the form the prepared statement's parameter type needs.
#[derive(Debug)]
struct Param<'a>(&'a SqlValue);

type BoxError = Box<dyn StdError + Sync + Send>;

fn is_text_type(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    )
}

fn kind_of(v: &SqlValue) -> &'static str {
    match v {
        SqlValue::Null => "NULL",
        SqlValue::Int(_) => "an integer",
        SqlValue::Float(_) => "a float",
        SqlValue::Text(_) => "text",
        SqlValue::Bool(_) => "a boolean",
        SqlValue::Json(_) => "JSON",
    }
}

fn mismatch(v: &SqlValue, ty: &Type) -> BoxError {
    format!(
        "cannot bind {} to a parameter of type {} (cast the placeholder in the SQL)",
        kind_of(v),
        ty
    )
    .into()
}

fn int_to(v: i64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::INT8 => v.to_sql(ty, out),
        Type::INT4 => i32::try_from(v)
            .map_err(|_| format!("{v} does not fit a parameter of type int4"))?
            .to_sql(ty, out),
        Type::INT2 => i16::try_from(v)
            .map_err(|_| format!("{v} does not fit a parameter of type int2"))?
            .to_sql(ty, out),
        _ => Err(format!("not an integer type: {ty}").into()),
    }
}

fn is_int_type(ty: &Type) -> bool {
    matches!(*ty, Type::INT8 | Type::INT4 | Type::INT2)
}

fn float_to(v: f64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::FLOAT8 => v.to_sql(ty, out),
        // Narrowing to float4 is what the column asked for.
        Type::FLOAT4 => (v as f32).to_sql(ty, out),
        _ => Err(format!("not a float type: {ty}").into()),
    }
}

fn text_to(s: &str, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    // The binary text format is the UTF-8 bytes for every text-like type (also `unknown`,
    // which `String::to_sql` refuses).
    if s.contains('\0') {
        return Err("text parameters cannot contain NUL characters".into());
    }
    let _ = ty;
    out.put_slice(s.as_bytes());
    Ok(IsNull::No)
}

/// A whole-number float as an integer, when exact.
fn exact_int(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f))
        .then_some(f as i64)
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let v = self.0;
        let json = matches!(*ty, Type::JSON | Type::JSONB);
        match v {
            // A NULL fits every parameter type; the server typed it at prepare time.
            SqlValue::Null => Ok(IsNull::Yes),
            SqlValue::Int(i) => match ty {
                t if is_int_type(t) => int_to(*i, t, out),
                &Type::FLOAT8 | &Type::FLOAT4 => float_to(*i as f64, ty, out),
                &Type::BOOL if *i == 0 || *i == 1 => (*i == 1).to_sql(ty, out),
                t if is_text_type(t) => text_to(&i.to_string(), t, out),
                _ if json => Value::from(*i).to_sql(ty, out),
                _ => Err(mismatch(v, ty)),
            },
            SqlValue::Float(f) => match ty {
                &Type::FLOAT8 | &Type::FLOAT4 => float_to(*f, ty, out),
                t if is_int_type(t) => match exact_int(*f) {
                    Some(i) => int_to(i, t, out),
                    None => {
                        Err(format!("{f} is not a whole number for a parameter of type {t}").into())
                    }
                },
                t if is_text_type(t) => text_to(&f.to_string(), t, out),
                _ if json => match serde_json::Number::from_f64(*f) {
                    Some(n) => Value::Number(n).to_sql(ty, out),
                    None => Err(format!("{f} has no JSON representation").into()),
                },
                _ => Err(mismatch(v, ty)),
            },
            SqlValue::Text(s) => match ty {
                t if is_text_type(t) => text_to(s, t, out),
                // Text bound to a JSON parameter is JSON text, as the SQLite backend stores it
                // (the same rule as `SqlValue::to_json`): parsed, or refused.
                _ if json => match serde_json::from_str::<Value>(s) {
                    Ok(doc) => doc.to_sql(ty, out),
                    Err(e) => Err(format!(
                        "text bound to a {ty} parameter is not JSON ({e}); bind SqlValue::Json"
                    )
                    .into()),
                },
                _ => Err(mismatch(v, ty)),
            },
            SqlValue::Bool(b) => match ty {
                &Type::BOOL => b.to_sql(ty, out),
                t if is_int_type(t) => int_to(i64::from(*b), t, out),
                t if is_text_type(t) => text_to(if *b { "true" } else { "false" }, t, out),
                _ if json => Value::Bool(*b).to_sql(ty, out),
                _ => Err(mismatch(v, ty)),
            },
            SqlValue::Json(doc) => match (ty, doc) {
                _ if json => doc.to_sql(ty, out),
                // JSON text, as the SQLite backend binds it.
                (t, _) if is_text_type(t) => text_to(&doc.to_string(), t, out),
                (t, Value::Number(n)) if is_int_type(t) => {
                    match n.as_i64().or_else(|| n.as_f64().and_then(exact_int)) {
                        Some(i) => int_to(i, t, out),
                        None => Err(format!(
                            "{n} is not a whole number for a parameter of type {t}"
                        )
                        .into()),
                    }
                }
                (&Type::FLOAT8 | &Type::FLOAT4, Value::Number(n)) => {
                    float_to(n.as_f64().unwrap_or(f64::NAN), ty, out)
                }
                (&Type::BOOL, Value::Bool(b)) => b.to_sql(ty, out),
                _ => Err(mismatch(v, ty)),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

// ---------------------------------------------------------------------------------------------
// Result cells

/// One result cell decoded by its column type.
struct Cell(SqlValue);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Cell(match *ty {
            Type::INT8 => SqlValue::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => SqlValue::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT2 => SqlValue::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::OID | Type::REGCLASS => SqlValue::Int(i64::from(u32::from_sql(&Type::OID, raw)?)),
            Type::FLOAT8 => SqlValue::Float(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => SqlValue::Float(f64::from(f32::from_sql(ty, raw)?)),
            Type::NUMERIC => SqlValue::Float(numeric_to_f64(raw)?),
            Type::BOOL => SqlValue::Bool(bool::from_sql(ty, raw)?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                SqlValue::Text(std::str::from_utf8(raw)?.to_string())
            }
            Type::CHAR => SqlValue::Text(char::from(i8::from_sql(ty, raw)? as u8).to_string()),
            Type::JSON | Type::JSONB => SqlValue::Json(Value::from_sql(ty, raw)?),
            Type::VOID => SqlValue::Null,
            _ => return Err(format!("unsupported result column type {ty}").into()),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Cell(SqlValue::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// The binary `numeric` format (base-10000 digits) as the nearest double.
fn numeric_to_f64(raw: &[u8]) -> Result<f64, BoxError> {
    let word = |i: usize| -> Result<i16, BoxError> {
        raw.get(i..i + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated numeric".into())
    };
    let ndigits = word(0)?.max(0) as usize;
    let weight = i32::from(word(2)?);
    let sign = word(4)? as u16;
    match sign {
        0xC000 => return Ok(f64::NAN),
        0xD000 => return Ok(f64::INFINITY),
        0xF000 => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    // Exact enough: the decimal text is parsed once, avoiding accumulated rounding.
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    text.push_str("0.");
    for i in 0..ndigits {
        text.push_str(&format!("{:04}", word(8 + 2 * i)?));
    }
    if ndigits == 0 {
        text.push('0');
    }
    text.push_str(&format!("e{}", 4 * (weight + 1)));
    Ok(text.parse::<f64>()?)
}

// ---------------------------------------------------------------------------------------------
// Errors

/// True for errors that mean the connection (or the server) is gone, not that the statement
/// was wrong.
fn is_connection_error(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let class = &code.code()[..2];
        return class == "08"
            || matches!(
                *code,
                SqlState::ADMIN_SHUTDOWN
                    | SqlState::CRASH_SHUTDOWN
                    | SqlState::CANNOT_CONNECT_NOW
                    | SqlState::TOO_MANY_CONNECTIONS
                    | SqlState::DATABASE_DROPPED
            );
    }
    let mut source = e.source();
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>().is_some() {
            return true;
        }
        source = s.source();
    }
    let text = e.to_string();
    text.starts_with("error communicating with the server")
        || text.starts_with("error connecting to server")
        || text.starts_with("timeout waiting for server")
        || text.starts_with("unexpected message from server")
        || text.starts_with("error parsing response from server")
}

/// Maps a driver error: `unique_violation` becomes [`StoreError::UniqueViolation`] naming the
/// constraint, `foreign_key_violation` [`StoreError::ForeignKeyViolation`]; lost connections and shutdowns become [`StoreError::Unavailable`]; everything
/// else is [`StoreError::Backend`] with the SQLSTATE and the server's message.
pub(crate) fn map_err(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            let constraint = match (db.constraint(), db.table(), db.column()) {
                (Some(c), _, _) => c.to_string(),
                (None, Some(t), Some(c)) => format!("{t}.{c}"),
                _ => db.message().to_string(),
            };
            return StoreError::UniqueViolation { constraint };
        }
        if *db.code() == SqlState::FOREIGN_KEY_VIOLATION {
            let constraint = db.constraint().unwrap_or_else(|| db.message()).to_string();
            return StoreError::ForeignKeyViolation { constraint };
        }
    }
    if is_connection_error(&e) {
        return StoreError::Unavailable(describe(&e));
    }
    StoreError::Backend(describe(&e))
}

/// The error with its server detail (the driver's `Display` says only "db error").
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
            if let Some(d) = db.detail() {
                s.push_str(" (");
                s.push_str(d);
                s.push(')');
            }
            s
        }
        None => match e.source() {
            Some(src) => format!("{e}: {src}"),
            None => e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered() {
        assert_eq!(
            rewrite_placeholders("SELECT a FROM t WHERE a = ? AND b IN (?, ?)"),
            "SELECT a FROM t WHERE a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(
            rewrite_placeholders("SELECT '?', \"a?\", ? -- what?\n, ?"),
            "SELECT '?', \"a?\", $1 -- what?\n, $2"
        );
        assert_eq!(rewrite_placeholders("SELECT 1"), "SELECT 1");
        let many: String = (0..12).map(|_| "?,").collect();
        assert!(rewrite_placeholders(&many).contains("$12,"));
    }

    #[test]
    fn numerics_decode() {
        // 12345.678: ndigits 3, weight 1, sign +, dscale 3, digits 1 2345 6780
        let mut raw = Vec::new();
        for w in [3i16, 1, 0, 3, 1, 2345, 6780] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert!((numeric_to_f64(&raw).unwrap() - 12345.678).abs() < 1e-9);
        // -0.05: ndigits 1, weight -1, sign -, digits 500
        let mut raw = Vec::new();
        for w in [1i16, -1, 0x4000, 2, 500] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert!((numeric_to_f64(&raw).unwrap() + 0.05).abs() < 1e-12);
        // zero
        let mut raw = Vec::new();
        for w in [0i16, 0, 0, 0] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(numeric_to_f64(&raw).unwrap(), 0.0);
    }

    #[test]
    fn parameters_convert_to_the_prepared_type() {
        let enc = |v: SqlValue, ty: Type| {
            let mut out = BytesMut::new();
            Param(&v).to_sql(&ty, &mut out).map(|_| out.to_vec())
        };
        assert_eq!(
            enc(SqlValue::Int(7), Type::INT4).unwrap(),
            7i32.to_be_bytes()
        );
        assert!(enc(SqlValue::Int(1 << 40), Type::INT4).is_err());
        assert_eq!(
            enc(SqlValue::Float(3.0), Type::INT8).unwrap(),
            3i64.to_be_bytes()
        );
        assert!(enc(SqlValue::Float(3.5), Type::INT8).is_err());
        assert_eq!(enc(SqlValue::Int(5), Type::TEXT).unwrap(), b"5");
        assert_eq!(
            enc(SqlValue::Text("{\"a\":1}".into()), Type::JSONB).unwrap()[0],
            1
        );
        assert!(enc(SqlValue::Text("not json".into()), Type::JSONB).is_err());
        assert!(enc(SqlValue::Text("x".into()), Type::INT8).is_err());
        assert_eq!(
            enc(SqlValue::Json(serde_json::json!("a")), Type::TEXT).unwrap(),
            b"\"a\""
        );
        assert!(enc(SqlValue::Text("a\0b".into()), Type::TEXT).is_err());
    }
}
