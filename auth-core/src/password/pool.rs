//! The threads password hashing runs on: a fixed few of the hasher's own, started on first use,
//! each under Linux's `SCHED_IDLE` policy.
//!
//! An argon2 run keeps a core busy for tens of milliseconds and cannot yield. On tokio's
//! blocking pool it competes with the async workers as an equal, so under a flood of logins a
//! request that needs a core waits for the scheduler's time slice: the login-flood benchmark
//! measured `GET /status/` at 10x its idle p99. Even at nice 19 it was still 6.5x. A
//! `SCHED_IDLE` thread gives its core up the moment any ordinary thread wants it, so requests
//! keep their idle latency and hashing takes the time that is left (1x; see BENCHMARKS.md).
//! Any unprivileged thread may move itself to `SCHED_IDLE`. Elsewhere than Linux the threads
//! keep the default priority.

use std::{
    sync::{Arc, Mutex, PoisonError, mpsc},
    thread,
};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed-size pool of low-priority threads. Dropping the pool lets its threads finish the
/// jobs already queued and exit.
pub(super) struct HashPool {
    size: usize,
    /// The sending side, made when the first job arrives.
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
}

/// Why a job could not be run: no thread could be started.
#[derive(Debug)]
pub(super) struct PoolUnavailable;

impl HashPool {
    /// A pool of `size` threads (at least one), none started yet.
    pub(super) fn new(size: usize) -> Self {
        Self { size: size.max(1), jobs: Mutex::new(None) }
    }

    /// Queues `job`; it runs on one of the pool's threads.
    pub(super) fn spawn(&self, job: impl FnOnce() + Send + 'static) -> Result<(), PoolUnavailable> {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if jobs.is_none() {
            *jobs = Some(self.start()?);
        }
        // The threads outlive every job (a panic is caught) and hold the receiver until the pool
        // is dropped, so a send cannot find it gone.
        jobs.as_ref().ok_or(PoolUnavailable)?.send(Box::new(job)).map_err(|_| PoolUnavailable)
    }

    fn start(&self) -> Result<mpsc::Sender<Job>, PoolUnavailable> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut started = 0;
        for index in 0..self.size {
            let receiver = Arc::clone(&receiver);
            let spawned = thread::Builder::new().name(format!("auth-core-passwords-{index}")).spawn(move || {
                lower_priority();
                loop {
                    // The lock is held only to take the next job, not while running it.
                    let next = receiver.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    match next {
                        // A panicking job loses its own result (its caller sees the channel
                        // closed), not the thread.
                        Ok(job) => {
                            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                                tracing::error!("a password hashing job panicked");
                            }
                        }
                        Err(mpsc::RecvError) => break,
                    }
                }
            });
            match spawned {
                Ok(_) => started += 1,
                Err(error) => tracing::error!(%error, "could not start a password hashing thread"),
            }
        }
        if started == 0 { Err(PoolUnavailable) } else { Ok(sender) }
    }
}

/// Moves the calling thread to `SCHED_IDLE` (Linux); elsewhere does nothing.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        if let Err(error) = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle) {
            tracing::warn!(?error, "could not move a password hashing thread to SCHED_IDLE");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn runs_every_job_on_at_most_size_threads_at_once() {
        let pool = HashPool::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (done, finished) = mpsc::channel();
        for _ in 0..8 {
            let (running, most, done) = (Arc::clone(&running), Arc::clone(&most), done.clone());
            pool.spawn(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                thread::sleep(std::time::Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
                done.send(()).unwrap();
            })
            .unwrap();
        }
        for _ in 0..8 {
            finished.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn its_threads_run_under_sched_idle() {
        use thread_priority::{NormalThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy};
        let pool = HashPool::new(1);
        let (sender, receiver) = mpsc::channel();
        pool.spawn(move || sender.send(thread_schedule_policy().unwrap()).unwrap()).unwrap();
        let policy = receiver.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        assert_eq!(policy, ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle));
        // The caller's own thread is untouched.
        assert_ne!(thread_schedule_policy().unwrap(), policy);
    }
}
