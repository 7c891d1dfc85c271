//! One thread that runs small callbacks at given instants: the deadline of a login waiting for a
//! hashing thread. A thread of its own rather than tokio's timer, so that
//! [`Passwords`](super::Passwords) keeps working without a tokio runtime.

use std::{
    cmp::{Ordering, Reverse},
    collections::BinaryHeap,
    sync::{Arc, Condvar, Mutex, PoisonError},
    thread,
    time::Instant,
};

type Callback = Box<dyn FnOnce() + Send + 'static>;

/// Runs callbacks at their instants, in order, on one thread started on first use. Dropping the
/// timer stops the thread; callbacks not yet due are dropped unrun (their receivers see the
/// sender gone).
pub(super) struct Timer {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    due: BinaryHeap<Reverse<Entry>>,
    sequence: u64,
    started: bool,
    stopped: bool,
}

struct Entry {
    at: Instant,
    /// Keeps entries of one instant in the order they were added, and makes the order total.
    sequence: u64,
    callback: Callback,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.sequence).cmp(&(other.at, other.sequence))
    }
}

impl Timer {
    pub(super) fn new() -> Self {
        Self { shared: Arc::new(Shared { state: Mutex::default(), wake: Condvar::new() }) }
    }

    /// Runs `callback` at `at` (at once if it is past). `false` if no timer thread could be
    /// started: the callback is then dropped unrun (logged), and whoever waits on it sees its
    /// sender gone.
    pub(super) fn at(&self, at: Instant, callback: impl FnOnce() + Send + 'static) -> bool {
        let mut state = self.shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !state.started {
            let shared = Arc::clone(&self.shared);
            let spawned =
                thread::Builder::new().name("auth-core-passwords-timer".to_owned()).spawn(move || run(&shared));
            if spawned.is_err() {
                drop(state);
                tracing::error!("could not start the password timer thread: logins wait without a limit");
                return false;
            }
            state.started = true;
        }
        state.sequence += 1;
        let sequence = state.sequence;
        state.due.push(Reverse(Entry { at, sequence, callback: Box::new(callback) }));
        drop(state);
        self.shared.wake.notify_one();
        true
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner).stopped = true;
        self.shared.wake.notify_one();
    }
}

fn run(shared: &Shared) {
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if state.stopped {
            return;
        }
        let now = Instant::now();
        match state.due.peek() {
            Some(Reverse(next)) if next.at <= now => {
                let Some(Reverse(entry)) = state.due.pop() else { continue };
                drop(state);
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(entry.callback)).is_err() {
                    tracing::error!("a password timer callback panicked");
                }
                state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            }
            Some(Reverse(next)) => {
                let wait = next.at - now;
                state = shared.wake.wait_timeout(state, wait).unwrap_or_else(PoisonError::into_inner).0;
            }
            None => state = shared.wake.wait(state).unwrap_or_else(PoisonError::into_inner),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::mpsc, time::Duration};

    use super::*;

    #[test]
    fn callbacks_run_in_the_order_of_their_instants() {
        let timer = Timer::new();
        let (sender, receiver) = mpsc::channel();
        let start = Instant::now();
        for (delay, label) in [(30, "c"), (10, "a"), (20, "b"), (0, "now")] {
            let sender = sender.clone();
            assert!(timer.at(start + Duration::from_millis(delay), move || sender.send(label).unwrap()));
        }
        let order: Vec<_> = (0..4).map(|_| receiver.recv_timeout(Duration::from_secs(10)).unwrap()).collect();
        assert_eq!(order, ["now", "a", "b", "c"]);
        assert!(start.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn dropping_the_timer_drops_what_is_not_due() {
        let timer = Timer::new();
        let (sender, receiver) = mpsc::channel::<()>();
        timer.at(Instant::now() + Duration::from_secs(3600), move || sender.send(()).unwrap());
        drop(timer);
        assert!(receiver.recv_timeout(Duration::from_secs(10)).is_err(), "sender dropped, never sent");
    }
}
