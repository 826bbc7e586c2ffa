//! The threads that run jobs: at most one per pooled connection, fed from one FIFO queue.
//!
//! Why not `spawn_blocking` behind a semaphore (what this replaced): every job then cost a
//! wakeup of a parked blocking thread (the submitting runtime thread pays for the futex wake,
//! the blocking thread for sleeping and waking), and a permit hand-over per job. Here a thread
//! that finishes a job takes the next one from the queue without sleeping, and a submission wakes
//! a thread only when one is idle -- under load (more requests than connections, the case that
//! matters) nobody is woken but the requester when its answer is ready. On the 2-core machine
//! the benchmark runs on, a wakeup across cores costs several microseconds, and a create did
//! about three of them more than it needed.
//!
//! Semantics kept from the semaphore: at most `pool size` jobs run at once; a job that waits
//! longer than the acquire timeout before a thread takes it fails with
//! [`StoreError::Unavailable`] and never runs; a job whose requester went away before it started
//! never runs; closing lets everything already submitted finish (bounded by the caller).
//!
//! A thread keeps state between jobs ([`Runner::Slot`]): the PostgreSQL runner keeps there a
//! write whose COMMIT rides with the next job's first round trip (see `lib.rs`). Such a write is
//! not finished yet: the thread finishes it ([`Runner::idle`]) before it waits for work or ends,
//! and draining waits for it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cmdb_store::{DynJob, StoreError};
use parking_lot::{Condvar, Mutex};
use tokio::sync::oneshot;

use crate::JobResult;

/// A job not taken by a thread yet.
const QUEUED: u8 = 0;
/// A thread took it: it runs to the end.
const STARTED: u8 = 1;
/// The requester gave up waiting before it started: it never runs.
const CANCELLED: u8 = 2;

/// Where a job's result goes: to the requester waiting in [`Executor::run`].
pub(crate) struct Reply(oneshot::Sender<JobResult>);

impl Reply {
    /// Delivers the result (a requester that went away is not an error).
    pub(crate) fn send(self, result: JobResult) {
        let _ = self.0.send(result);
    }
}

/// What the threads run jobs with.
pub(crate) trait Runner: Send + Sync + 'static {
    /// What a thread keeps from one job to the next.
    type Slot: Default;
    /// Runs the job and sends its result to `reply`, now or later (keeping it in the slot);
    /// `more()` says whether another job is waiting right now.
    fn run(
        &self,
        slot: &mut Self::Slot,
        job: DynJob,
        write: bool,
        more: &dyn Fn() -> bool,
        reply: Reply,
    );
    /// Finishes whatever the slot holds (before the thread waits for work or ends).
    fn idle(&self, slot: &mut Self::Slot);
    /// True while the slot holds unfinished work.
    fn holding(&self, slot: &Self::Slot) -> bool;
}

struct Work {
    job: DynJob,
    write: bool,
    state: Arc<AtomicU8>,
    reply: oneshot::Sender<JobResult>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Work>,
    /// Threads alive.
    threads: usize,
    /// Threads waiting for work.
    idle: usize,
    /// Of those, how many were signalled and have not woken up yet (so each submission wakes a
    /// thread of its own, or starts one).
    waking: usize,
    /// Jobs being run.
    running: usize,
    /// Threads holding unfinished work in their slot.
    holding: usize,
    /// No new work is accepted; threads end once the queue is empty.
    closed: bool,
}

struct Shared<R> {
    state: Mutex<State>,
    /// Signalled when work arrives or the executor closes.
    work: Condvar,
    /// Signalled when a job ends or a thread exits (for [`Executor::drain`]).
    done: Condvar,
    runner: R,
    max_threads: usize,
}

/// Runs jobs on up to `max_threads` threads, started as needed.
pub(crate) struct Executor<R: Runner> {
    shared: Arc<Shared<R>>,
    acquire_timeout: Duration,
}

impl<R: Runner> Executor<R> {
    pub(crate) fn new(max_threads: usize, acquire_timeout: Duration, runner: R) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                work: Condvar::new(),
                done: Condvar::new(),
                runner,
                max_threads: max_threads.max(1),
            }),
            acquire_timeout,
        }
    }

    /// Runs `job` on an executor thread and waits for its result without blocking the runtime.
    pub(crate) async fn run(&self, job: DynJob, write: bool) -> JobResult {
        let (reply, answer) = oneshot::channel();
        let state = Arc::new(AtomicU8::new(QUEUED));
        self.submit(Work {
            job,
            write,
            state: state.clone(),
            reply,
        })?;
        let mut answer = answer;
        match tokio::time::timeout(self.acquire_timeout, &mut answer).await {
            Ok(result) => result.unwrap_or_else(|_| Err(lost())),
            Err(_) => {
                if state
                    .compare_exchange(QUEUED, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return Err(StoreError::Unavailable(format!(
                        "no PostgreSQL connection became free within {:?}",
                        self.acquire_timeout
                    )));
                }
                // It started in time: it runs to the end.
                answer.await.unwrap_or_else(|_| Err(lost()))
            }
        }
    }

    fn submit(&self, work: Work) -> Result<(), StoreError> {
        let mut state = self.shared.state.lock();
        if state.closed {
            return Err(StoreError::Unavailable("database is closed".into()));
        }
        state.queue.push_back(work);
        if state.idle > state.waking {
            state.waking += 1;
            self.shared.work.notify_one();
        } else if state.threads < self.shared.max_threads {
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name("cmdb-pg".into())
                .spawn(move || worker(&shared));
            match spawned {
                Ok(_) => state.threads += 1,
                Err(e) if state.threads == 0 => {
                    state.queue.pop_back();
                    return Err(StoreError::Backend(format!(
                        "cannot start a database thread: {e}"
                    )));
                }
                // The threads there are will get to it.
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// Accepts no more work; what was submitted still runs. Waits (blocking, at most
    /// `timeout`) until it has.
    pub(crate) fn drain(&self, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        let mut state = self.shared.state.lock();
        state.closed = true;
        self.shared.work.notify_all();
        while state.running > 0 || state.holding > 0 || !state.queue.is_empty() {
            if self
                .shared
                .done
                .wait_until(&mut state, deadline)
                .timed_out()
            {
                break;
            }
        }
    }
}

impl<R: Runner> Drop for Executor<R> {
    fn drop(&mut self) {
        // Idle threads end now, busy ones after the queue is empty.
        self.shared.state.lock().closed = true;
        self.shared.work.notify_all();
    }
}

fn lost() -> StoreError {
    StoreError::Backend("database task failed: the job ended without an answer".into())
}

fn worker<R: Runner>(shared: &Shared<R>) {
    let mut slot = R::Slot::default();
    let mut state = shared.state.lock();
    loop {
        if let Some(work) = state.queue.pop_front() {
            if work.reply.is_closed()
                || work
                    .state
                    .compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
            {
                // Its requester is gone or gave up waiting: it never runs.
                continue;
            }
            let held = shared.runner.holding(&slot);
            state.running += 1;
            drop(state);
            let Work {
                job, write, reply, ..
            } = work;
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let more = || !shared.state.lock().queue.is_empty();
                shared
                    .runner
                    .run(&mut slot, job, write, &more, Reply(reply))
            }));
            if ran.is_err() {
                // Not reachable (the runner catches job panics). What the slot held is dropped:
                // its requester hears that the job ended without an answer.
                slot = R::Slot::default();
            }
            let holds = shared.runner.holding(&slot);
            state = shared.state.lock();
            state.running -= 1;
            state.holding = state.holding + usize::from(holds) - usize::from(held);
            shared.done.notify_all();
            continue;
        }
        if shared.runner.holding(&slot) {
            drop(state);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                shared.runner.idle(&mut slot)
            }));
            slot = R::Slot::default();
            state = shared.state.lock();
            state.holding -= 1;
            shared.done.notify_all();
            continue;
        }
        if state.closed {
            state.threads -= 1;
            shared.done.notify_all();
            return;
        }
        state.idle += 1;
        shared.work.wait(&mut state);
        state.idle -= 1;
        state.waking = state.waking.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A transaction that does nothing.
    struct Nothing;

    impl cmdb_store::Tx for Nothing {
        fn dialect(&self) -> cmdb_store::Dialect {
            cmdb_store::Dialect::Postgres
        }
        fn query(
            &mut self,
            _: &str,
            _: &[cmdb_store::SqlValue],
        ) -> Result<Vec<cmdb_store::Row>, StoreError> {
            Ok(Vec::new())
        }
        fn execute(&mut self, _: &str, _: &[cmdb_store::SqlValue]) -> Result<u64, StoreError> {
            Ok(0)
        }
        fn execute_batch(&mut self, _: &str) -> Result<(), StoreError> {
            Ok(())
        }
        fn next_id(&mut self, _: &str) -> Result<i64, StoreError> {
            Ok(1)
        }
    }

    /// Runs jobs on [`Nothing`] and counts them; with `hold`, keeps each result in the slot
    /// until the next job or idleness (as the PostgreSQL runner keeps a pending COMMIT).
    struct Counting {
        ran: Arc<AtomicUsize>,
        hold: bool,
    }

    impl Runner for Counting {
        type Slot = Option<(Reply, JobResult)>;
        fn run(
            &self,
            slot: &mut Self::Slot,
            job: DynJob,
            _: bool,
            more: &dyn Fn() -> bool,
            reply: Reply,
        ) {
            self.ran.fetch_add(1, Ordering::SeqCst);
            self.idle(slot);
            let result = job(&mut Nothing);
            if self.hold && more() {
                *slot = Some((reply, result));
            } else {
                reply.send(result);
            }
        }
        fn idle(&self, slot: &mut Self::Slot) {
            if let Some((reply, result)) = slot.take() {
                reply.send(result);
            }
        }
        fn holding(&self, slot: &Self::Slot) -> bool {
            slot.is_some()
        }
    }

    fn executor(threads: usize, timeout: Duration, ran: Arc<AtomicUsize>) -> Executor<Counting> {
        Executor::new(threads, timeout, Counting { ran, hold: false })
    }

    fn sleeper(ms: u64, value: u32) -> DynJob {
        Box::new(move |_tx| {
            std::thread::sleep(Duration::from_millis(ms));
            Ok(Box::new(value) as Box<dyn std::any::Any + Send>)
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_jobs_on_at_most_the_threads_it_has() {
        let ran = Arc::new(AtomicUsize::new(0));
        let exec = Arc::new(executor(2, Duration::from_secs(10), ran.clone()));
        let start = std::time::Instant::now();
        let mut tasks = Vec::new();
        for i in 0..6 {
            let exec = exec.clone();
            tasks.push(tokio::spawn(
                async move { exec.run(sleeper(50, i), true).await },
            ));
        }
        let mut values = Vec::new();
        for t in tasks {
            let out = t.await.unwrap().unwrap();
            values.push(*out.downcast::<u32>().unwrap());
        }
        values.sort_unstable();
        assert_eq!(values, vec![0, 1, 2, 3, 4, 5]);
        // Six 50 ms jobs on two threads take three rounds.
        assert!(
            start.elapsed() >= Duration::from_millis(140),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(exec.shared.state.lock().threads, 2);
        assert_eq!(ran.load(Ordering::SeqCst), 6);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_waits_too_long_never_runs() {
        let ran = Arc::new(AtomicUsize::new(0));
        let exec = Arc::new(executor(1, Duration::from_millis(100), ran.clone()));
        let busy = {
            let exec = exec.clone();
            tokio::spawn(async move { exec.run(sleeper(400, 1), true).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let err = exec.run(sleeper(1, 2), true).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        // The running job was not cut short by the timeout.
        assert!(busy.await.unwrap().is_ok());
        exec.drain(Duration::from_secs(5));
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn draining_lets_submitted_work_finish_and_refuses_more() {
        let ran = Arc::new(AtomicUsize::new(0));
        let exec = Arc::new(executor(1, Duration::from_secs(10), ran.clone()));
        let mut tasks = Vec::new();
        for i in 0..3 {
            let exec = exec.clone();
            tasks.push(tokio::spawn(
                async move { exec.run(sleeper(30, i), true).await },
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        let e = exec.clone();
        tokio::task::spawn_blocking(move || e.drain(Duration::from_secs(5)))
            .await
            .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 3);
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        let err = exec.run(sleeper(1, 9), true).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_is_an_error_and_the_thread_goes_on() {
        let ran = Arc::new(AtomicUsize::new(0));
        let exec = executor(1, Duration::from_secs(10), ran.clone());
        let boom: DynJob = Box::new(|_tx| panic!("boom"));
        let err = exec.run(boom, true).await.unwrap_err();
        assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
        assert!(exec.run(sleeper(1, 3), true).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_held_in_a_slot_is_finished_by_the_next_job_or_when_idle() {
        let ran = Arc::new(AtomicUsize::new(0));
        let exec = Arc::new(Executor::new(
            1,
            Duration::from_secs(10),
            Counting {
                ran: ran.clone(),
                hold: true,
            },
        ));
        let mut tasks = Vec::new();
        for i in 0..5 {
            let exec = exec.clone();
            tasks.push(tokio::spawn(
                async move { exec.run(sleeper(20, i), true).await },
            ));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            let out = t.await.unwrap().unwrap();
            assert!(*out.downcast::<u32>().unwrap() < 5, "task {i}");
        }
        assert_eq!(ran.load(Ordering::SeqCst), 5);
        // A reply is sent from inside the slot before the thread updates `holding`, so the
        // count is only settled once draining has waited for the threads.
        let e = exec.clone();
        tokio::task::spawn_blocking(move || e.drain(Duration::from_secs(5)))
            .await
            .unwrap();
        assert_eq!(exec.shared.state.lock().holding, 0);
    }
}
