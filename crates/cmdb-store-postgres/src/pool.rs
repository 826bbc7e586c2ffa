//! A small bounded pool of connections (each a blocking protocol connection: see `tx::Conn` and
//! `wire.rs`).
//!
//! Bounding is done by the caller with a semaphore (one permit per connection), so this module
//! only keeps idle connections and makes new ones on demand. A connection that saw a
//! connection-level error is dropped instead of returned. An idle connection may have died since
//! it was last used (the server restarted): the transaction finds out from its first round trip,
//! which carries its BEGIN, and then every idle connection is thrown away and that round trip is
//! sent again on a fresh connection (see `PgTx`) -- safe, because nothing of the transaction ran
//! on the server.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cmdb_store::StoreError;
use parking_lot::Mutex;
use tokio_postgres::Config;

use crate::tx::Conn;

pub(crate) struct Pool {
    config: Config,
    idle: Mutex<Vec<Conn>>,
    closed: AtomicBool,
    /// Network round trips made by finished transactions.
    trips: AtomicU64,
}

impl Pool {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            trips: AtomicU64::new(0),
        }
    }

    /// A fresh connection (blocking).
    pub(crate) fn connect(&self) -> Result<Conn, StoreError> {
        Conn::connect(&self.config)
    }

    /// A connection for the next transaction (blocking), and whether it was idle in the pool
    /// (so might have died since) rather than made just now.
    pub(crate) fn take(&self) -> Result<(Conn, bool), StoreError> {
        let pooled = self.idle.lock().pop();
        if let Some(conn) = pooled {
            if !conn.is_closed() {
                return Ok((conn, true));
            }
            // Seen closed already: the server went away, and so did its siblings.
            drop(conn);
            self.discard_idle(1);
        }
        Ok((self.connect()?, false))
    }

    /// Throws every idle connection away after `lost` connections were found dead (blocking).
    pub(crate) fn discard_idle(&self, lost: usize) {
        let stale = std::mem::take(&mut *self.idle.lock());
        tracing::info!(
            discarded = stale.len() + lost,
            "PostgreSQL connections were lost; reconnecting"
        );
        drop(stale);
    }

    /// Returns a healthy connection to the idle list (blocking: may drop it).
    pub(crate) fn put(&self, conn: Conn) {
        if !conn.is_closed() && !self.closed.load(Ordering::Acquire) {
            self.idle.lock().push(conn);
        }
    }

    /// Adds the round trips of a finished transaction.
    pub(crate) fn count_trips(&self, trips: u64) {
        self.trips.fetch_add(trips, Ordering::Relaxed);
    }

    /// Network round trips made by finished transactions so far.
    pub(crate) fn trips(&self) -> u64 {
        self.trips.load(Ordering::Relaxed)
    }

    /// From now on returned connections are dropped, not kept.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Takes every idle connection (to be dropped off the async runtime: dropping one writes
    /// its Terminate message).
    pub(crate) fn take_idle(&self) -> Vec<Conn> {
        std::mem::take(&mut *self.idle.lock())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Dropping a connection writes to its socket (blocking, if briefly): not on an async
        // runtime thread.
        let idle = self.take_idle();
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("pg-pool-drop".into())
                .spawn(move || drop(idle));
        }
    }
}

/// Defaults applied to a parsed URL when it does not set them itself.
pub(crate) fn apply_defaults(config: &mut Config) {
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    if config.get_application_name().is_none() {
        config.application_name("cmdb-rs");
    }
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(30));
}
