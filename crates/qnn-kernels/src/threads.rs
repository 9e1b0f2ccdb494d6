//! A small persistent thread pool, and the static partition of work over it.
//!
//! Why not `std::thread::scope` per call: spawning costs tens of microseconds, as much as a
//! whole small layer. Why not rayon: the frame needs one thing, "run tasks 0..n on these
//! threads and wait", with a fixed partition (so that work never depends on timing), and
//! workers that spin briefly between the layers of a model instead of sleeping.
//!
//! Results never depend on the thread count: every output element is computed by exactly
//! one task with the same integer operations in the same order, whatever the partition.

use std::any::Any;
use std::cell::Cell;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::KernelError;

/// How long an idle worker spins before it sleeps: long enough to bridge the gap between
/// two layers of a model, short enough not to burn a core when the model is idle.
const SPIN: Duration = Duration::from_micros(200);

type Task = dyn Fn(usize) + Sync;

/// The job of one [`ThreadPool::run`] call.
struct Job {
    /// Points at the caller's closure; valid until every worker that took it has reported
    /// `done`.
    task: *const Task,
    tasks: usize,
}

/// The job on offer and how many workers took it.
struct State {
    job: Option<Job>,
    joined: usize,
}

struct Shared {
    /// Bumped for every job; a worker looks at each generation at most once.
    generation: AtomicUsize,
    state: Mutex<State>,
    wake: Condvar,
    next: AtomicUsize,
    done: AtomicUsize,
    shutdown: AtomicBool,
    panic: Mutex<Option<String>>,
}

// SAFETY: `Job::task` points at a `Sync` closure that outlives every access (see `run`).
unsafe impl Send for Shared {}
// SAFETY: as above; everything else is atomics and mutexes.
unsafe impl Sync for Shared {}

/// A fixed set of worker threads; the calling thread takes part in every job, so a pool of
/// `n` threads has `n − 1` workers.
#[derive(Debug)]
pub struct ThreadPool {
    shared: Option<Arc<Shared>>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
    /// Serializes `run` calls (a pool runs one job at a time).
    busy: Mutex<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("generation", &self.generation).finish()
    }
}

impl ThreadPool {
    /// A pool of `threads` threads (≥ 1; 1 runs everything on the caller). When the system
    /// refuses a worker thread (a thread or memory limit), the pool keeps the workers it got:
    /// results never depend on the thread count. [`ThreadPool::try_new`] reports it instead.
    pub fn new(threads: usize) -> Self {
        match Self::spawn(threads) {
            Ok(pool) => pool,
            Err((pool, _)) => pool,
        }
    }

    /// A pool of exactly `threads` threads (≥ 1), or [`KernelError::Spawn`] when the system
    /// refuses one of its workers (the workers already started are stopped).
    pub fn try_new(threads: usize) -> Result<Self, KernelError> {
        Self::spawn(threads).map_err(|(_, e)| e)
    }

    /// The pool; on a refused spawn, the pool of the workers started so far and the error.
    fn spawn(threads: usize) -> Result<Self, (Self, KernelError)> {
        let threads = threads.max(1);
        if threads == 1 {
            return Ok(Self::single());
        }
        let shared = Arc::new(Shared {
            generation: AtomicUsize::new(0),
            state: Mutex::new(State { job: None, joined: 0 }),
            wake: Condvar::new(),
            next: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            panic: Mutex::new(None),
        });
        let mut workers = Vec::new();
        for i in 1..threads {
            let s = Arc::clone(&shared);
            match std::thread::Builder::new()
                .name(format!("qnn-worker-{i}"))
                .spawn(move || worker(&s))
            {
                Ok(w) => workers.push(w),
                Err(e) => {
                    let started = workers.len() + 1;
                    let pool = if workers.is_empty() {
                        Self::single()
                    } else {
                        ThreadPool {
                            shared: Some(shared),
                            workers,
                            threads: started,
                            busy: Mutex::new(()),
                        }
                    };
                    return Err((
                        pool,
                        KernelError::Spawn { threads, started, why: e.to_string() },
                    ));
                }
            }
        }
        Ok(ThreadPool { shared: Some(shared), workers, threads, busy: Mutex::new(()) })
    }

    fn single() -> Self {
        ThreadPool { shared: None, workers: Vec::new(), threads: 1, busy: Mutex::new(()) }
    }

    /// A pool with one thread per available core.
    pub fn with_available_parallelism() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Threads that run a job (workers and the caller).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `task(i)` for every `i < tasks`, spread over the pool, and returns when all are
    /// done. A panicking task is reported as an error after the others finish. Called from
    /// inside a task (of any pool), it runs the tasks on the calling thread: nesting never
    /// waits for workers that are busy with the outer job.
    pub fn run(&self, tasks: usize, task: &(dyn Fn(usize) + Sync)) -> Result<(), KernelError> {
        let Some(shared) = &self.shared else {
            return catch(|| (0..tasks).for_each(task));
        };
        if tasks <= 1 || IN_TASK.with(Cell::get) {
            return catch(|| (0..tasks).for_each(task));
        }
        let _busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the lifetime is erased so workers can hold the pointer; this function does
        // not return before every worker that took the job has counted itself `done`, after
        // its last use of the pointer, and no worker can take it after the job is withdrawn.
        let erased: *const Task =
            unsafe { std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const Task>(task) };
        {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            shared.next.store(0, Ordering::Relaxed);
            shared.done.store(0, Ordering::Relaxed);
            *state = State { job: Some(Job { task: erased, tasks }), joined: 0 };
            shared.generation.fetch_add(1, Ordering::Release);
            shared.wake.notify_all();
        }
        let mine = catch(|| claim(shared, tasks, task));
        // Withdraw the job: a worker that has not taken it yet (descheduled, asleep) never
        // will, so only those that did are waited for. The caller has claimed every task
        // that was left.
        let joined = {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            state.job = None;
            state.joined
        };
        let start = Instant::now();
        while shared.done.load(Ordering::Acquire) < joined {
            if start.elapsed() < SPIN {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        mine?;
        match shared.panic.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(msg) => Err(KernelError::WorkerPanicked(msg)),
            None => Ok(()),
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            let _state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            shared.shutdown.store(true, Ordering::Release);
            shared.generation.fetch_add(1, Ordering::Release);
            shared.wake.notify_all();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

thread_local! {
    /// Set while this thread runs tasks of a pool job.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

/// Claims and runs tasks until none is left.
fn claim(shared: &Shared, tasks: usize, task: &(dyn Fn(usize) + Sync + '_)) {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            IN_TASK.with(|f| f.set(false));
        }
    }
    IN_TASK.with(|f| f.set(true));
    let _reset = Reset;
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        if i >= tasks {
            break;
        }
        task(i);
    }
}

fn worker(shared: &Shared) {
    let mut seen = 0usize;
    loop {
        // Spin for the next generation, then sleep.
        let start = Instant::now();
        while shared.generation.load(Ordering::Acquire) == seen && start.elapsed() < SPIN {
            std::hint::spin_loop();
        }
        let (task, tasks) = {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            while shared.generation.load(Ordering::Acquire) == seen {
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            seen = shared.generation.load(Ordering::Acquire);
            if shared.shutdown.load(Ordering::Acquire) {
                return;
            }
            match state.job.as_ref() {
                Some(j) => {
                    let taken = (j.task, j.tasks);
                    state.joined += 1;
                    taken
                }
                // Already withdrawn: the caller did the work.
                None => continue,
            }
        };
        // SAFETY: the caller counted this worker as joined and keeps the closure alive until
        // it reports `done` below.
        let task: &Task = unsafe { &*task };
        if let Err(KernelError::WorkerPanicked(msg)) = catch(|| claim(shared, tasks, task)) {
            *shared.panic.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg);
        }
        shared.done.fetch_add(1, Ordering::Release);
    }
}

fn catch(f: impl FnOnce()) -> Result<(), KernelError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| KernelError::WorkerPanicked(message(&*p)))
}

fn message(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// The `i`-th of `parts` contiguous, nearly equal pieces of `0..len` (the first
/// `len % parts` pieces are one longer).
pub fn split(len: usize, parts: usize, i: usize) -> Range<usize> {
    let parts = parts.max(1);
    let (q, r) = (len / parts, len % parts);
    let start = i * q + i.min(r);
    start..start + q + usize::from(i < r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_everything_once() {
        for len in 0..20 {
            for parts in 1..6 {
                let pieces: Vec<_> = (0..parts).map(|i| split(len, parts, i)).collect();
                assert_eq!(pieces[0].start, 0);
                assert_eq!(pieces[parts - 1].end, len);
                for w in pieces.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                    assert!(w[0].len() >= w[1].len());
                }
            }
        }
    }

    #[test]
    fn every_task_runs_once_on_any_pool() {
        for threads in 1..4 {
            let pool = ThreadPool::new(threads);
            for tasks in [0, 1, 2, 7, 64] {
                for _ in 0..20 {
                    let hits: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
                    pool.run(tasks, &|i| {
                        hits[i].fetch_add(1, Ordering::Relaxed);
                    })
                    .unwrap();
                    assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
                }
            }
        }
    }

    #[test]
    fn a_panicking_task_is_an_error_and_the_pool_survives() {
        let pool = ThreadPool::new(2);
        let r = pool.run(4, &|i| assert!(i != 2, "task {i} fails"));
        assert!(matches!(r, Err(KernelError::WorkerPanicked(m)) if m.contains("task 2")));
        pool.run(3, &|_| ()).unwrap();
    }

    #[test]
    fn nested_runs_do_not_deadlock() {
        let pool = ThreadPool::new(2);
        let n = AtomicUsize::new(0);
        pool.run(4, &|_| {
            pool.run(3, &|_| {
                n.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
        })
        .unwrap();
        assert_eq!(n.load(Ordering::Relaxed), 12);
    }

    #[test]
    fn plans_and_pools_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<ThreadPool>();
        send_sync::<crate::ConvPlan>();
    }

    #[test]
    fn a_pool_is_shared_between_threads() {
        let pool = ThreadPool::new(2);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for _ in 0..50 {
                        let n = AtomicUsize::new(0);
                        pool.run(5, &|_| {
                            n.fetch_add(1, Ordering::Relaxed);
                        })
                        .unwrap();
                        assert_eq!(n.load(Ordering::Relaxed), 5);
                    }
                });
            }
        });
    }
}
