//! The counter's workers: each device (and the ledger) belongs to one thread that runs jobs one
//! after another, so the screen's update loop never waits on a serial port or an fsync. A job's
//! messages come back as a stream the screen turns into an iced `Task` (and a test simply drains).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use iced::futures::StreamExt;
use iced::futures::channel::mpsc as stream_channel;
use iced::futures::stream::BoxStream;

use crate::ledger::Ledger;

type Job<D> = Box<dyn FnOnce(&mut D) + Send>;

/// One thread that owns `D` and runs the jobs sent to it in order.
pub struct Worker<D> {
    jobs: mpsc::Sender<Job<D>>,
    stop: Arc<AtomicBool>,
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl<D> Clone for Worker<D> {
    fn clone(&self) -> Self {
        Worker { jobs: self.jobs.clone(), stop: self.stop.clone(), thread: self.thread.clone() }
    }
}

/// Where a job sends what it has to say (status texts while it runs, its result at the end).
pub struct Outbox<M>(stream_channel::UnboundedSender<M>);

impl<M> Outbox<M> {
    pub fn send(&self, message: M) {
        // The screen may have gone away (the window closed): nothing left to tell.
        let _ = self.0.unbounded_send(message);
    }

    pub fn sender(&self) -> stream_channel::UnboundedSender<M> {
        self.0.clone()
    }
}

impl<D: Send + 'static> Worker<D> {
    pub fn spawn(name: &str, mut device: D) -> std::io::Result<Worker<D>> {
        let (jobs, queue) = mpsc::channel::<Job<D>>();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new().name(name.to_string()).spawn(move || {
            for job in queue {
                job(&mut device);
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
            }
        })?;
        Ok(Worker { jobs, stop, thread: Arc::new(Mutex::new(Some(thread))) })
    }

    /// Lets the job running finish, drops the jobs still waiting, and returns once the device
    /// is dropped (its port closed), so that it can be opened again at once with new settings.
    pub fn shut_down(self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the thread if it waits for a job.
        let _ = self.jobs.send(Box::new(|_| {}));
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    /// Runs `job` on the worker; the stream yields every message it sends and ends with it.
    pub fn stream<M: Send + 'static>(
        &self,
        job: impl FnOnce(&mut D, &Outbox<M>) + Send + 'static,
    ) -> BoxStream<'static, M> {
        let (tx, rx) = stream_channel::unbounded();
        let outbox = Outbox(tx);
        let sent = self.jobs.send(Box::new(move |device: &mut D| job(device, &outbox)));
        if sent.is_err() {
            // The worker thread is gone: the stream ends at once and the screen says so.
            return iced::futures::stream::empty().boxed();
        }
        rx.boxed()
    }

    /// Runs `job` on the worker; the stream yields its one result.
    pub fn call<M: Send + 'static>(&self, job: impl FnOnce(&mut D) -> M + Send + 'static) -> BoxStream<'static, M> {
        self.stream(move |device, outbox| outbox.send(job(device)))
    }
}

/// `message` every `period`, from a thread of its own (the thread-pool executor has no timers);
/// the thread ends when the screen drops the stream.
pub fn ticks<M: Clone + Send + 'static>(period: std::time::Duration, message: M) -> BoxStream<'static, M> {
    let (tx, rx) = stream_channel::unbounded();
    let spawned = std::thread::Builder::new().name("ticks".into()).spawn(move || {
        loop {
            std::thread::sleep(period);
            if tx.unbounded_send(message.clone()).is_err() {
                break;
            }
        }
    });
    match spawned {
        Ok(_) => rx.boxed(),
        Err(_) => iced::futures::stream::empty().boxed(),
    }
}

/// The ledger, shared by its own worker (postings, look-ups) and the device workers whose jobs
/// write around a device's step (a card intent before the terminal, a print job before the printer).
pub type SharedLedger = Arc<Mutex<Ledger>>;

/// Locks the ledger; a job that panicked while holding it leaves the data itself sound
/// (SQLite's transaction rolled back), so the poison is cleared.
pub fn lock(ledger: &SharedLedger) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A value a job hands to the screen inside a message (messages are `Clone`; a rebuilt catalog or
/// a set of opened devices is not): the first to `take` it has it.
pub struct Handed<T>(Arc<Mutex<Option<T>>>);

impl<T> Clone for Handed<T> {
    fn clone(&self) -> Self {
        Handed(self.0.clone())
    }
}

impl<T> Handed<T> {
    pub fn new(value: T) -> Handed<T> {
        Handed(Arc::new(Mutex::new(Some(value))))
    }

    pub fn take(&self) -> Option<T> {
        self.0.lock().ok().and_then(|mut v| v.take())
    }
}

impl<T> std::fmt::Debug for Handed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handed")
    }
}

/// A job run on a thread of its own (a device test or the head office must not wait behind the
/// till's workers).
pub fn off_loop<M: Send + 'static>(f: impl FnOnce() -> M + Send + 'static) -> BoxStream<'static, M> {
    use iced::futures::StreamExt;
    let (tx, rx) = iced::futures::channel::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    iced::futures::stream::once(rx).filter_map(|m| async move { m.ok() }).boxed()
}
