//! The event sequencer of one server process: numbers the change events that committed writers
//! left in the outbox (migration 0008).
//!
//! Why a sequencer: events must be numbered in commit order without gaps, across every process
//! on the database. Numbering inside the writing transaction (the design before 0008) meant each
//! writer held the clock row from its numbering to the end of its COMMIT, so event-writing
//! commits ran one at a time: a convoy of lock hand-offs under load, and with synchronous_commit
//! on one WAL flush after another. Writers now only insert into the outbox, which takes no lock,
//! and commit in parallel. A sequencer transaction, one at a time across all processes (a
//! transaction-scoped advisory lock), moves what has committed into the chain with consecutive
//! numbers ([`cmdb_store::ops::events::sequence`]).
//!
//! Why one per process, woken by its own writes: the events of a write get their numbers a
//! moment after its commit, without waiting for a timer (what resource_watch latency is made
//! of). And a write is acknowledged only once they have them ([`Sequencer::numbered`]): a client
//! that writes and then asks resource_watch for the latest cursor sees its own write, as with a
//! single writer, while writers still commit in parallel (the wait holds no lock and no
//! connection). The lock is taken with a blocking wait, and the moving statement runs after it
//! is granted, so its snapshot sees every commit that preceded the grant: a sequencer that had
//! to wait for another process's never leaves its own process's events behind.
//!
//! Why a sweep: a process can die between its commit and its sequencer's pass; every sequencer
//! also looks at the outbox every [`SWEEP`] (a cheap read, the lock only when rows are there),
//! so such events are numbered by any live server, and by the next start of any server.
//!
//! Why its own connection and thread: a pass must not queue behind the writers it serves for a
//! pooled connection, and it blocks (the lock wait) like every other use of the wire client.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use cmdb_store::ops::events;
use cmdb_store::{CommitSignal, SqlValue, StoreError, Tx};
use parking_lot::{Condvar, Mutex};

use crate::ids::Sequences;
use crate::pool::Pool;
use crate::tx::{Conn, PgTx, BEGIN_WRITE, LOCK_NAMESPACE};

/// Second key of the sequencer lock (namespace [`LOCK_NAMESPACE`]).
pub(crate) const LOCK_SEQUENCER: i32 = 2;

/// Most events moved by one sequencer transaction; a fuller outbox takes several in a row.
const BATCH: usize = 5_000;

/// How often an idle sequencer looks at the outbox for events no running process woke it for.
pub(crate) const SWEEP: Duration = Duration::from_secs(1);

/// Pause before a failed pass is tried again (the database is away or restarting).
const RETRY: Duration = Duration::from_millis(100);

/// Longest a write waits for its events to be numbered before it is acknowledged anyway (it is
/// committed; its events are numbered when the sequencer can reach the database again).
const NUMBERED_WAIT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct State {
    /// A write ended since the last drain began.
    pending: bool,
    /// The database handle is closing.
    stop: bool,
    /// Drains begun so far; the number of a drain is the value after its start.
    started: u64,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// The number of the last drain that emptied the outbox of everything committed before it
    /// began.
    done: tokio::sync::watch::Sender<u64>,
}

/// The sequencer thread of one [`crate::PgDb`].
pub(crate) struct Sequencer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Sequencer {
    /// Starts the thread; its first pass numbers whatever an earlier process left behind.
    pub(crate) fn start(
        pool: Arc<Pool>,
        sequences: Arc<Sequences>,
        commits: Arc<CommitSignal>,
    ) -> Result<Sequencer, StoreError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            done: tokio::sync::watch::channel(0).0,
        });
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name("cmdb-pg-seq".into())
            .spawn(move || run(&state, &pool, &sequences, &commits))
            .map_err(|e| StoreError::Backend(format!("cannot start the event sequencer: {e}")))?;
        Ok(Sequencer {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// A write ended (committed, or its outcome is unknown): its events may be in the outbox.
    /// Returns the number of the first drain that begins after now, which sees them.
    pub(crate) fn wake(&self) -> u64 {
        let ticket = {
            let mut state = self.shared.state.lock();
            state.pending = true;
            state.started + 1
        };
        self.shared.wake.notify_one();
        ticket
    }

    /// Waits until the drain `ticket` (from [`Sequencer::wake`] after a commit) is done, so the
    /// events of that commit are numbered, or [`NUMBERED_WAIT`] passed.
    pub(crate) async fn numbered(&self, ticket: u64) {
        let mut done = self.shared.done.subscribe();
        let waited = tokio::time::timeout(NUMBERED_WAIT, done.wait_for(|d| *d >= ticket)).await;
        if !matches!(waited, Ok(Ok(_))) {
            tracing::warn!(
                "the events of a committed write are not numbered yet; acknowledging it anyway"
            );
        }
    }

    /// Makes one last pass (so this process's acknowledged events are numbered before it goes)
    /// and ends the thread. Blocking.
    pub(crate) fn stop(&self) {
        self.signal_stop();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }

    fn signal_stop(&self) {
        self.shared.state.lock().stop = true;
        self.shared.wake.notify_one();
    }
}

impl Drop for Sequencer {
    /// A handle dropped without `close`: the thread makes its last pass and ends on its own.
    fn drop(&mut self) {
        self.signal_stop();
    }
}

fn run(shared: &Shared, pool: &Pool, sequences: &Sequences, commits: &CommitSignal) {
    let mut conn: Option<Conn> = None;
    let mut retry = true;
    loop {
        let (stop, woken, number) = {
            let mut state = shared.state.lock();
            if !retry && !state.pending && !state.stop {
                let _ = shared.wake.wait_for(&mut state, SWEEP);
            }
            let woken = state.pending || state.stop;
            state.pending = false;
            state.started += 1;
            (state.stop, woken, state.started)
        };
        // A sweep looks before it locks; a write that just ended has most likely left events.
        let look = !woken && !retry;
        retry = false;
        match drain(&mut conn, pool, sequences, commits, look) {
            Ok(()) => {
                shared.done.send_replace(number);
            }
            Err(e) => {
                // Whatever failed, the next pass starts on a fresh connection.
                conn = None;
                if !stop {
                    tracing::debug!(error = %e, "event sequencer pass failed; retrying");
                    std::thread::sleep(RETRY);
                    retry = true;
                }
            }
        }
        if stop {
            return;
        }
    }
}

/// Passes until the outbox is empty (as far as this process can see).
fn drain(
    conn: &mut Option<Conn>,
    pool: &Pool,
    sequences: &Sequences,
    commits: &CommitSignal,
    mut look: bool,
) -> Result<(), StoreError> {
    loop {
        let c = match conn {
            Some(c) => c,
            None => conn.insert(pool.connect()?),
        };
        let mut tx = PgTx::new(c, BEGIN_WRITE, None, sequences, None);
        let moved = match pass(&mut tx, look) {
            Ok(moved) => tx.commit().map(|()| moved),
            Err(e) => {
                tx.rollback();
                Err(e)
            }
        };
        if tx.broken {
            *conn = None;
        }
        let moved = moved?;
        if moved > 0 {
            commits.bump();
        }
        if moved < BATCH as u64 {
            return Ok(());
        }
        look = false;
    }
}

/// One sequencer transaction: the lock and one batch; with `look`, nothing at all when the
/// outbox is empty.
fn pass(tx: &mut dyn Tx, look: bool) -> Result<u64, StoreError> {
    if look && !events::outbox_pending(tx)? {
        return Ok(0);
    }
    tx.query(
        "SELECT 1 FROM pg_advisory_xact_lock(CAST(? AS INTEGER), CAST(? AS INTEGER))",
        &[
            SqlValue::Int(i64::from(LOCK_NAMESPACE)),
            SqlValue::Int(i64::from(LOCK_SEQUENCER)),
        ],
    )?;
    events::sequence(tx, BATCH)
}
