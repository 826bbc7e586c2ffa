//! A small bounded pool of synchronous connections.
//!
//! Bounding is done by the caller with a semaphore (one permit per connection), so this module
//! only keeps idle connections and makes new ones on demand. A connection that saw a
//! connection-level error is dropped instead of returned; when `BEGIN` fails on an idle
//! connection (the server restarted since it was last used), every idle connection is thrown
//! away and the transaction is begun once more on a fresh one — safe, because nothing of the job
//! has run yet.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cmdb_store::StoreError;
use parking_lot::Mutex;
use postgres::{Config, NoTls};

use crate::tx::{describe, map_err, Conn};

pub(crate) struct Pool {
    config: Config,
    idle: Mutex<Vec<Conn>>,
    closed: AtomicBool,
}

impl Pool {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// A fresh connection (blocking).
    pub(crate) fn connect(&self) -> Result<Conn, StoreError> {
        match self.config.connect(NoTls) {
            Ok(client) => Ok(Conn::new(client)),
            // Whatever stops us from connecting (refused, starting up, shut down, bad password)
            // means the database cannot be used right now.
            Err(e) => Err(StoreError::Unavailable(format!(
                "cannot connect to PostgreSQL: {}",
                describe(&e)
            ))),
        }
    }

    /// A connection with a transaction begun by `begin` (blocking).
    pub(crate) fn begin(&self, begin: &str) -> Result<Conn, StoreError> {
        let pooled = self.idle.lock().pop();
        if let Some(mut conn) = pooled {
            if !conn.client.is_closed() {
                match conn.client.batch_execute(begin) {
                    Ok(()) => return Ok(conn),
                    Err(e) => {
                        let mapped = map_err(e);
                        if !matches!(mapped, StoreError::Unavailable(_)) {
                            return Err(mapped);
                        }
                    }
                }
            }
            // The server went away since this connection was last used: so did its siblings.
            let stale = std::mem::take(&mut *self.idle.lock());
            tracing::info!(
                discarded = stale.len() + 1,
                "PostgreSQL connections were lost; reconnecting"
            );
            drop(stale);
            drop(conn);
        }
        let mut conn = self.connect()?;
        conn.client.batch_execute(begin).map_err(map_err)?;
        Ok(conn)
    }

    /// Returns a healthy connection to the idle list (blocking: may drop it).
    pub(crate) fn put(&self, conn: Conn) {
        if !conn.client.is_closed() && !self.closed.load(Ordering::Acquire) {
            self.idle.lock().push(conn);
        }
    }

    /// From now on returned connections are dropped, not kept.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Takes every idle connection (to be dropped off the async runtime).
    pub(crate) fn take_idle(&self) -> Vec<Conn> {
        std::mem::take(&mut *self.idle.lock())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Dropping a `postgres::Client` blocks on its private runtime, which panics on an
        // async runtime thread: drop them on a plain thread.
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
