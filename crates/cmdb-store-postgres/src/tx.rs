//! One PostgreSQL connection inside an open transaction as a [`Tx`]: `?` → `$n` rewriting, the
//! per-connection prepared-statement cache, deferred statements and their pipelining, sequences
//! for [`Tx::next_id`], and the mapping of PostgreSQL errors to [`StoreError`].
//!
//! Pipelining: [`Tx::execute_deferred`] only queues the statement (prepared, its parameters
//! encoded, so a value that does not fit fails right there). The next request that needs the
//! server -- a query, an execute, a batch, a prepare on a cache miss, a flush, the COMMIT -- is
//! sent right behind the queued statements in one write with one Sync (see `wire.rs`), so the
//! whole group costs one round trip and one answer. The first failing statement makes the server skip the rest of the group, and it is
//! the failure reported, so the outcome is the one of running them one by one and stopping at
//! the first failure. A synchronous statement whose parameters do not encode is not sent, and
//! neither is anything behind it.
//!
//! BEGIN, COMMIT and ROLLBACK are statements prepared once per connection (when it is made), so
//! they travel in the same Sync group as the statements around them and cost the server no
//! parsing.

use std::collections::HashMap;

use bytes::Bytes;
use cmdb_domain::DomainError;
use cmdb_store::ops::schema_cache::SchemaCache;
use cmdb_store::{Dialect, Row, SqlValue, StoreError, Tx};
use tokio_postgres::error::SqlState;
use tokio_postgres::Config;

use crate::ids::Sequences;
use crate::pool::Pool;
use crate::wire::{self, Outcome, Request, Response, Statement, Wire, WireError};

/// BEGIN of a write job.
pub(crate) const BEGIN_WRITE: &str = "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE";
/// BEGIN of a read job.
pub(crate) const BEGIN_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
const COMMIT: &str = "COMMIT";
const ROLLBACK: &str = "ROLLBACK";

/// Most prepared statements kept per connection; the cache is emptied when it is full (compiled
/// filters produce many one-off statement texts, so an unbounded cache would grow forever).
const STATEMENT_CACHE: usize = 512;

/// Most deferred statements queued before they are sent anyway: bounds the memory a long job
/// holds in parameters, not the number of round trips that matter.
const QUEUE_LIMIT: usize = 256;

/// Advisory-lock namespace (first key of the two-key form) of this backend: "CMDB".
pub(crate) const LOCK_NAMESPACE: i32 = 0x434d_4442;
/// Second key of the migration lock.
pub(crate) const LOCK_MIGRATE: i32 = 1;
/// Second keys of sequence-creation locks are `hashtext(name)`; this is the first key.
const LOCK_SEQUENCE_NAMESPACE: i32 = 0x434d_4453;

/// Prefix of the PostgreSQL sequence behind `next_id(name)`.
pub(crate) const SEQUENCE_PREFIX: &str = "cmdb_id_";

/// A pooled connection: the protocol connection (blocking; used on `spawn_blocking` threads and
/// plain threads) and what is cached for it.
pub(crate) struct Conn {
    wire: Wire,
    /// Prepared statements by the caller's SQL text (with `?` placeholders).
    statements: HashMap<String, Statement>,
    /// BEGIN (write, read), COMMIT, ROLLBACK, prepared when the connection was made.
    control: [Statement; 4],
}

impl Conn {
    /// A fresh connection (blocking), with the transaction-control statements prepared.
    pub(crate) fn connect(config: &Config) -> Result<Conn, StoreError> {
        // Whatever stops us from connecting (refused, starting up, shut down, bad password)
        // means the database cannot be used right now.
        let unavailable = |e: WireError| {
            StoreError::Unavailable(format!("cannot connect to PostgreSQL: {}", e.describe()))
        };
        let mut wire = Wire::connect(config).map_err(unavailable)?;
        let texts = [BEGIN_WRITE, BEGIN_READ, COMMIT, ROLLBACK];
        let requests: Vec<Request<'_>> = texts.iter().map(|t| Request::Prepare(t)).collect();
        let mut prepared = Vec::with_capacity(texts.len());
        for outcome in wire.round_trip(&requests) {
            match outcome {
                Some(Ok(Response::Prepared(st))) => prepared.push(st),
                Some(Err(e)) => return Err(unavailable(e)),
                _ => {
                    return Err(StoreError::Unavailable(
                        "cannot connect to PostgreSQL: preparing BEGIN failed".into(),
                    ))
                }
            }
        }
        let control: [Statement; 4] = prepared.try_into().map_err(|_| unexpected())?;
        Ok(Conn {
            wire,
            statements: HashMap::new(),
            control,
        })
    }

    /// The prepared statement of a transaction-control text.
    fn control(&self, sql: &str) -> Option<&Statement> {
        let i = match sql {
            BEGIN_WRITE => 0,
            BEGIN_READ => 1,
            COMMIT => 2,
            ROLLBACK => 3,
            _ => return None,
        };
        self.control.get(i)
    }

    /// Runs `;`-separated statements without parameters (blocking).
    pub(crate) fn batch_execute(&mut self, sql: &str) -> Result<(), WireError> {
        match self.wire.round_trip(&[Request::Batch(sql)]).pop().flatten() {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e),
            None => Err(WireError::Protocol("the query was not run".into())),
        }
    }

    /// Runs a transaction-control statement (blocking).
    fn run_control(&mut self, sql: &'static str) -> Result<(), WireError> {
        let Some(st) = self.control(sql).cloned() else {
            return self.batch_execute(sql);
        };
        match self
            .wire
            .round_trip(&[Request::Execute(&st, &[])])
            .pop()
            .flatten()
        {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e),
            None => Err(WireError::Protocol("the statement was not run".into())),
        }
    }

    /// A connection-level failure was seen: the connection must be dropped.
    pub(crate) fn is_closed(&self) -> bool {
        self.wire.is_closed()
    }
}

/// A finished write job whose COMMIT has not been sent yet: it rides with the first round trip
/// of the next job on the same connection (see `lib.rs` for when), and `finish` delivers its
/// outcome once that round trip is answered.
pub(crate) struct Carry {
    /// Its deferred statements not sent yet.
    queue: Vec<Deferred>,
    /// Receives the outcome of the COMMIT (and of the statements ahead of it).
    finish: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
}

/// A statement queued by [`Tx::execute_deferred`].
struct Deferred {
    statement: Statement,
    /// Its parameters, encoded when it was queued (see [`wire::encode_params`]).
    params: Bytes,
    on_unique: Option<DomainError>,
}

/// A deferred statement's failure, with its unique violation reported as the caller asked.
fn deferred_err(e: WireError, on_unique: Option<DomainError>) -> StoreError {
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
    /// The previous job's pending COMMIT, sent ahead of this transaction's first round trip.
    pub(crate) carry: Option<Carry>,
    /// A statement failed: the transaction may be in the aborted state.
    pub(crate) failed: bool,
    /// The connection is unusable (a connection-level error was seen).
    pub(crate) broken: bool,
    /// Network round trips made so far.
    pub(crate) trips: u64,
    /// Items of the statements to run last, just before COMMIT ([`Tx::at_commit_append`]), in
    /// the order they were appended.
    at_commit: Vec<(&'static str, serde_json::Value)>,
    /// Open savepoints, innermost last, each with the length `at_commit` had when it was opened
    /// (rolling back to it drops the items appended since).
    savepoints: Vec<(&'static str, usize)>,
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
            carry: None,
            failed: false,
            broken: false,
            trips: 0,
            at_commit: Vec::new(),
            savepoints: Vec::new(),
        }
    }

    fn note<T>(&mut self, r: Result<T, WireError>) -> Result<T, StoreError> {
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
        let carry = self.carry.take();
        if carry.is_none()
            && begin.is_none()
            && (!queued || self.queue.is_empty())
            && last.is_none()
        {
            return Trip::Done(None, None);
        }
        let queue = if queued {
            std::mem::take(&mut self.queue)
        } else {
            Vec::new()
        };
        let begin_statement = begin.and_then(|b| self.conn.control(b)).cloned();
        let commit_statement = carry
            .as_ref()
            .and_then(|_| self.conn.control(COMMIT))
            .cloned();
        let carried = carry.as_ref().map_or(0, |c| c.queue.len() + 2);
        let mut requests: Vec<Request<'_>> = Vec::with_capacity(carried + queue.len() + 2);
        if let Some(c) = &carry {
            // The previous job's statements and COMMIT, in a Sync group of their own: this
            // transaction's requests run after it whatever its outcome.
            for d in &c.queue {
                requests.push(Request::ExecuteEncoded(&d.statement, &d.params));
            }
            requests.push(match &commit_statement {
                Some(st) => Request::Execute(st, &[]),
                None => Request::Batch(COMMIT),
            });
            requests.push(Request::Sync);
        }
        match (begin, &begin_statement) {
            (_, Some(st)) => requests.push(Request::Execute(st, &[])),
            (Some(sql), None) => requests.push(Request::Batch(sql)),
            (None, None) => {}
        }
        for d in &queue {
            requests.push(Request::ExecuteEncoded(&d.statement, &d.params));
        }
        let with_last = last.is_some();
        requests.extend(last);
        let outcomes = self.conn.wire.round_trip(&requests);
        drop(requests);
        let mut outcomes = outcomes.into_iter();
        self.trips += 1;
        if let Some(carry) = carry {
            let answers: Vec<Outcome> = outcomes.by_ref().take(carried).collect();
            if !self.finish_carry(carry, answers) {
                if self.broken {
                    return Trip::Done(
                        Some(
                            self.note_err(StoreError::Unavailable(
                                "the connection was lost".into(),
                            )),
                        ),
                        None,
                    );
                }
                // Nothing of this transaction ran (its BEGIN met the previous transaction
                // aborted, or was not sent): send it again, now on its own.
                if queued {
                    self.queue = queue;
                }
                return self.send(queued, last);
            }
        }
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

    /// Delivers the outcome of a carried COMMIT from the answers to its part of a round trip
    /// (its statements, the COMMIT, the Sync). Returns false when what followed it in the round
    /// trip did not run: the connection broke, or the COMMIT did not run (a statement ahead of
    /// it failed, or was not sent), so the previous transaction was still open -- it is rolled
    /// back here -- and the BEGIN behind it failed or was not sent, and it must be sent again. A
    /// COMMIT that ran and failed ended its transaction; what followed ran normally.
    fn finish_carry(&mut self, carry: Carry, answers: Vec<Outcome>) -> bool {
        let Carry { mut queue, finish } = carry;
        let mut answers = answers.into_iter();
        let mut first = None;
        for (d, outcome) in queue.iter_mut().zip(answers.by_ref()) {
            if first.is_some() {
                continue;
            }
            first = match outcome {
                Some(Ok(_)) => None,
                Some(Err(e)) => Some(deferred_err(e, d.on_unique.take())),
                None => Some(not_sent()),
            };
        }
        let committed = answers.next().flatten();
        let ran = committed.is_some();
        let result = match (first, committed) {
            (None, Some(Ok(_))) => Ok(()),
            (None, Some(Err(e))) => Err(self.commit_lost(map_err(e))),
            (None, None) => {
                Err(self.commit_lost(StoreError::Unavailable("the COMMIT was not sent".into())))
            }
            (Some(e @ StoreError::Unavailable(_)), _) => Err(self.commit_lost(e)),
            (Some(e), _) => Err(e),
        };
        let failed = result.is_err();
        finish(result);
        if self.broken {
            return false;
        }
        if !failed || ran {
            return true;
        }
        self.trips += 1;
        if self.conn.run_control(ROLLBACK).is_err() {
            self.broken = true;
        }
        false
    }

    /// Sends a carried COMMIT that this transaction has not sent with anything (its job is
    /// over, or about to end without a round trip of its own).
    pub(crate) fn flush_carry(&mut self) {
        if self.carry.is_none() {
            return;
        }
        if self.broken {
            if let Some(carry) = self.carry.take() {
                (carry.finish)(Err(StoreError::Unavailable(
                    "connection lost before COMMIT; the write was not applied".into(),
                )));
            }
            return;
        }
        // Only the carried part: this transaction's BEGIN stays unsent.
        let begin = self.begin.take();
        let _ = self.send(false, None);
        self.begin = begin;
    }

    /// Queues the [`Tx::at_commit_append`] statements behind everything else, so they run last,
    /// right before the COMMIT -- whether it is sent now or carried with the next job. Each
    /// statement runs once, with the array of its items in appending order; statements run in
    /// the order of their first item.
    pub(crate) fn queue_at_commit(&mut self) -> Result<(), StoreError> {
        let mut items = std::mem::take(&mut self.at_commit);
        self.savepoints.clear();
        while let Some((sql, _)) = items.first() {
            let sql = *sql;
            let (mine, rest): (Vec<_>, Vec<_>) = items.into_iter().partition(|(s, _)| *s == sql);
            items = rest;
            let array = serde_json::Value::Array(mine.into_iter().map(|(_, item)| item).collect());
            self.execute_deferred(sql, &[SqlValue::Json(array)], None)?;
        }
        Ok(())
    }

    /// True when this write may leave its COMMIT to ride with the next job's first round trip:
    /// its transaction is open on the server and healthy, and it carries nothing itself.
    pub(crate) fn can_carry(&self) -> bool {
        self.begin.is_none() && !self.failed && !self.broken && self.carry.is_none()
    }

    /// Takes this (finished, [`PgTx::can_carry`]) write out as a [`Carry`].
    pub(crate) fn take_carry(
        &mut self,
        finish: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
    ) -> Carry {
        Carry {
            queue: std::mem::take(&mut self.queue),
            finish,
        }
    }

    /// Replaces the (dead) connection by a fresh one and prepares the queued statements there.
    fn reconnect(&mut self, pool: &Pool) -> Result<(), StoreError> {
        pool.discard_idle(1);
        *self.conn = pool.connect()?;
        // Same text, same types: the encoded parameters stay valid. (The new connection's cache
        // fills again on first use.)
        let texts: Vec<String> = self
            .queue
            .iter()
            .map(|d| d.statement.text().to_string())
            .collect();
        let requests: Vec<Request<'_>> = texts.iter().map(|sql| Request::Prepare(sql)).collect();
        let outcomes = self.conn.wire.round_trip(&requests);
        self.trips += 1;
        for (d, outcome) in self.queue.iter_mut().zip(outcomes) {
            match outcome {
                Some(Ok(Response::Prepared(st))) => d.statement = st,
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
                        // sent (the server copy is closed once nothing holds it).
                        for (_, old) in self.conn.statements.drain() {
                            self.conn.wire.retire(old);
                        }
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
        if let Err(e) = self.queue_at_commit() {
            self.rollback();
            return Err(e);
        }
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
        let commit = self.conn.control(COMMIT).cloned();
        let request = match &commit {
            Some(st) => Request::Execute(st, &[]),
            None => Request::Batch(COMMIT),
        };
        let (first, committed) = match self.send(true, Some(request)) {
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
        self.at_commit.clear();
        self.savepoints.clear();
        if self.begin.is_none() && !self.broken {
            self.trips += 1;
            if self.conn.run_control(ROLLBACK).is_err() {
                self.broken = true;
            }
        }
    }
}

impl Tx for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        match self.run(sql, params, |st, p| Request::Query(st, p))? {
            Response::Rows(rows) => Ok(rows),
            _ => Err(self.note_err(unexpected())),
        }
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

    /// Queues the statement (prepared and its parameters encoded now, so a wrong statement, a
    /// wrong parameter count or a value that does not fit fails here) to be sent with the next
    /// request of this transaction.
    fn execute_deferred(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        on_unique: Option<DomainError>,
    ) -> Result<(), StoreError> {
        let st = self.statement(sql)?;
        self.check_arity(&st, params)?;
        let encoded = wire::encode_params(&st, params).map_err(|e| self.note_err(map_err(e)))?;
        self.queue.push(Deferred {
            statement: st,
            params: encoded,
            on_unique,
        });
        if self.queue.len() >= QUEUE_LIMIT {
            self.flush()?;
        }
        Ok(())
    }

    fn at_commit_append(
        &mut self,
        sql: &'static str,
        item: serde_json::Value,
    ) -> Result<(), StoreError> {
        self.at_commit.push((sql, item));
        Ok(())
    }

    fn savepoint(&mut self, name: &'static str) -> Result<(), StoreError> {
        self.execute_batch(&format!("SAVEPOINT {name}"))?;
        self.savepoints.push((name, self.at_commit.len()));
        Ok(())
    }

    fn release_savepoint(&mut self, name: &'static str) -> Result<(), StoreError> {
        self.execute_batch(&format!("RELEASE SAVEPOINT {name}"))?;
        // Releasing a savepoint also releases those opened after it; their items stay.
        if let Some(at) = self.savepoints.iter().rposition(|(n, _)| *n == name) {
            self.savepoints.truncate(at);
        }
        Ok(())
    }

    fn rollback_savepoint(&mut self, name: &'static str) -> Result<(), StoreError> {
        self.execute_batch(&format!(
            "ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"
        ))?;
        if let Some(at) = self.savepoints.iter().rposition(|(n, _)| *n == name) {
            self.at_commit.truncate(self.savepoints[at].1);
            self.savepoints.truncate(at);
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
        if let Some(id) = self.sequences.take(sequence) {
            return Ok(id);
        }
        let (seq, known) = self.ensure_sequence(sequence)?;
        // Values are kept for other transactions only from a sequence that exists committed:
        // one created by this transaction disappears if it rolls back, and would hand the same
        // values out again when created anew.
        let block = if known {
            self.sequences.next_block(sequence)
        } else {
            1
        };
        let mut ids = self.draw(seq, block)?.into_iter();
        let id = ids
            .next()
            .ok_or_else(|| StoreError::Backend("sequence returned no value".into()))?;
        if known {
            self.sequences.give(sequence, ids);
        }
        Ok(id)
    }

    /// `count` values by one `nextval` statement, all for the caller (the process's reserve of
    /// drawn values is left for single-id callers).
    fn next_ids(&mut self, sequence: &str, count: usize) -> Result<Vec<i64>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let n = i64::try_from(count)
            .ok()
            .filter(|n| *n <= i64::from(i32::MAX))
            .ok_or_else(|| StoreError::Backend(format!("cannot draw {count} ids at once")))?;
        let (seq, _) = self.ensure_sequence(sequence)?;
        let ids = self.draw(seq, n)?;
        if ids.len() != count {
            return Err(StoreError::Backend(
                "sequence returned too few values".into(),
            ));
        }
        Ok(ids)
    }
}

impl PgTx<'_> {
    /// The full name of the sequence `cmdb_id_<name>`, created (under an advisory lock) when it
    /// does not exist yet, and whether it is known to exist committed.
    fn ensure_sequence(&mut self, sequence: &str) -> Result<(String, bool), StoreError> {
        if !is_ident(sequence) || sequence.len() > 40 {
            return Err(StoreError::Backend(format!(
                "invalid sequence name {sequence:?}"
            )));
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
        Ok((seq, known))
    }

    /// `n` values of the sequence `seq` (full name) by one statement.
    fn draw(&mut self, seq: String, n: i64) -> Result<Vec<i64>, StoreError> {
        let rows = self.query(
            "SELECT nextval(CAST(? AS TEXT)) FROM generate_series(1, CAST(? AS INTEGER))",
            &[SqlValue::Text(seq), SqlValue::Int(n)],
        )?;
        Ok(rows
            .iter()
            .map(|r| r.first().and_then(SqlValue::as_i64))
            .collect::<Option<Vec<i64>>>()
            .unwrap_or_default())
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
// Errors

/// Maps a protocol error: `unique_violation` becomes [`StoreError::UniqueViolation`] naming the
/// constraint, `foreign_key_violation` [`StoreError::ForeignKeyViolation`]; lost connections and
/// shutdowns become [`StoreError::Unavailable`]; everything else is [`StoreError::Backend`] with
/// the SQLSTATE and the server's message.
pub(crate) fn map_err(e: WireError) -> StoreError {
    if let Some(db) = e.db() {
        if db.code == SqlState::UNIQUE_VIOLATION {
            let constraint = match (&db.constraint, &db.table, &db.column) {
                (Some(c), _, _) => c.clone(),
                (None, Some(t), Some(c)) => format!("{t}.{c}"),
                _ => db.message.clone(),
            };
            return StoreError::UniqueViolation { constraint };
        }
        if db.code == SqlState::FOREIGN_KEY_VIOLATION {
            let constraint = db.constraint.clone().unwrap_or_else(|| db.message.clone());
            return StoreError::ForeignKeyViolation { constraint };
        }
    }
    if e.is_connection_error() {
        return StoreError::Unavailable(e.describe());
    }
    StoreError::Backend(e.describe())
}

/// The error with its server detail.
pub(crate) fn describe(e: &WireError) -> String {
    e.describe()
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
}
