//! The single writer: a thread that owns the write connection and turns queued requests into as
//! few transactions as possible.

use crate::chunk::Sample;
use crate::error::{Result, StoreError};
use crate::ingest::store_series;
use crate::table;
use crate::table::alerts::AlertWrite;
use crate::table::replay_counters::CounterRecord;
use crate::table::service_plans::ServiceChange;
use rusqlite::{Connection, TransactionBehavior};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use telltale_model::{Device, DeviceId, Reading, TimestampMs, Transport};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// How many requests may wait for the writer before sources feel backpressure.
const QUEUE_DEPTH: usize = 1024;
/// Readings committed in one transaction at most; bounds the latency of the first in the batch.
const MAX_BATCH_READINGS: usize = 50_000;
/// Committed readings kept for slow subscribers (the UI, alerts) before they are told they lagged.
const COMMITTED_BACKLOG: usize = 256;

/// What one `write` achieved once it is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Committed {
    /// Readings new to the store.
    pub stored: usize,
    /// Readings already stored with the same (device, metric, ts): harmless redeliveries.
    pub duplicates: usize,
    /// Readings that can never be stored (a value that is not a finite number, an empty name).
    pub rejected: usize,
}

/// Whether committed readings are announced to [`Writer::subscribe`]rs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum News {
    Yes,
    /// Old readings kept for offline viewing (a plant historian's): the live view and the
    /// alert engine must not take them for what is happening now.
    No,
}

enum Request {
    /// Readings, the replay counter that admitted them (committed together), and whether
    /// they are news (announced to subscribers once committed) or history from elsewhere.
    Readings(
        Vec<Reading>,
        Option<ReplayMark>,
        News,
        oneshot::Sender<Result<Committed>>,
    ),
    ReplayCounter(DeviceId, oneshot::Sender<Result<Option<CounterRecord>>>),
    Device(Device, oneshot::Sender<Result<()>>),
    Retention(SeriesKey, Retention, oneshot::Sender<Result<()>>),
    Prune(TimestampMs, oneshot::Sender<Result<usize>>),
    SourceConfig(SourceConfigChange, oneshot::Sender<Result<()>>),
    LastTs(SeriesKey, oneshot::Sender<Result<Option<TimestampMs>>>),
    Alerts(AlertWrite, oneshot::Sender<Result<()>>),
    Tags(DeviceId, Vec<String>, oneshot::Sender<Result<()>>),
    ForgetDevice(DeviceId, oneshot::Sender<Result<()>>),
    Service(ServiceChange, oneshot::Sender<Result<()>>),
    /// A device declared offline or back online by its source.
    Presence(PresenceChange, oneshot::Sender<Result<()>>),
    /// Makes the writer thread panic: the tests' stand-in for a bug, to prove the process hears
    /// of a dead writer.
    #[cfg(test)]
    Panic,
    /// Sent by `Writer::close`: commit what came before, then stop, even while sources still
    /// hold `Ingest` handles (their later writes fail with `WriterStopped`). Waiting for every
    /// handle to be dropped instead could wait forever on a task that is itself waiting.
    Close,
}

/// Saves (`config: Some`) or forgets (`None`) one configured source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfigChange {
    pub kind: String,
    pub id: String,
    pub config: Option<String>,
    pub now_ms: TimestampMs,
}

/// What a source declared about a device: gone since `offline_since_ms` (Some), or back online
/// (None); `at_ms` is when it said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceChange {
    pub device: DeviceId,
    pub offline_since_ms: Option<TimestampMs>,
    pub at_ms: TimestampMs,
}

/// The counter of an encrypted advertisement whose readings are being written: stored in the
/// same transaction as them, so after a crash either both are on disk or neither is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayMark {
    pub device: DeviceId,
    pub counter: u32,
    pub at_ms: TimestampMs,
    /// The count restarted at this frame (accepted as a reboot): counted with the device.
    pub restarted: bool,
}

/// A series named as users name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeriesKey {
    pub device: DeviceId,
    pub metric: String,
}

/// How long a series keeps each resolution, in ms. None = the default; a negative value = forever.
/// Hourly and daily rollups are always kept: they cost a few kilobytes per series per year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    pub raw_ms: Option<i64>,
    pub minute_ms: Option<i64>,
}

/// Raw readings are kept 30 days by default, minute rollups a year.
pub const DEFAULT_RAW_KEEP_MS: i64 = 30 * 86_400_000;
pub const DEFAULT_MINUTE_KEEP_MS: i64 = 365 * 86_400_000;
/// Alert transitions are kept two years: long enough for a yearly audit of who acknowledged what.
pub const ALERT_HISTORY_KEEP_MS: i64 = 2 * 365 * 86_400_000;
/// Rows deleted per prune request, so pruning never holds the writer for long.
const PRUNE_STEP: i64 = 2_000;

/// Owns the writer thread. `close` (or drop) lets it drain what is queued, commit, and stop.
pub struct Writer {
    ingest: Ingest,
    committed: broadcast::Sender<Arc<[Reading]>>,
    trouble: watch::Receiver<Option<String>>,
    died: watch::Receiver<Option<String>>,
    closing: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What the writer thread tells the rest of the process about itself.
struct Health {
    /// Why the last batch could not be written yet (None once one is): shown as the store's
    /// status, so people see "database is locked; retrying" instead of silence.
    trouble: watch::Sender<Option<String>>,
    /// Set by `close`: stop retrying a stuck batch after `CLOSE_PATIENCE`.
    closing: Arc<AtomicBool>,
    /// Once one batch was given up on while closing, later ones are not retried either.
    gave_up: std::cell::Cell<bool>,
}

impl Health {
    fn set(&self, trouble: Option<String>) {
        self.trouble.send_if_modified(|t| {
            if *t == trouble {
                false
            } else {
                *t = trouble;
                true
            }
        });
    }
}

/// A cloneable way to submit writes; every source holds one.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Request>,
}

impl Writer {
    pub(crate) fn start(conn: Connection) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let (committed, _) = broadcast::channel(COMMITTED_BACKLOG);
        let announce = committed.clone();
        let (trouble_tx, trouble) = watch::channel(None);
        let closing = Arc::new(AtomicBool::new(false));
        let health = Health {
            trouble: trouble_tx,
            closing: closing.clone(),
            gave_up: std::cell::Cell::new(false),
        };
        let (death, died) = watch::channel(None);
        let thread = std::thread::Builder::new()
            .name("telltale-store-writer".into())
            .spawn(move || {
                // Supervised: a panic (a bug) must not leave the process running on without
                // storing. The queue goes with the thread, so every caller hears
                // `WriterStopped`, and whoever watches `died` (the collector, the app) stops.
                let run = std::panic::AssertUnwindSafe(|| run(conn, rx, announce, health));
                if let Err(panic) = std::panic::catch_unwind(run) {
                    let why = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".to_owned());
                    tracing::error!(%why, "the store's writer died: nothing more can be stored");
                    death.send_replace(Some(why));
                }
            })
            .expect("spawning a thread only fails when the OS is out of resources");
        Self {
            ingest: Ingest { tx },
            committed,
            trouble,
            died,
            closing,
            thread: Some(thread),
        }
    }

    /// Why the writer thread died (a bug), once it has: from then on nothing can be stored, and
    /// the process should say so and exit non-zero so a service manager restarts it.
    pub fn died(&self) -> watch::Receiver<Option<String>> {
        self.died.clone()
    }

    /// Why the store cannot write right now (a locked or full database it keeps retrying), or
    /// None while writes succeed.
    pub fn trouble(&self) -> watch::Receiver<Option<String>> {
        self.trouble.clone()
    }

    pub fn ingest(&self) -> Ingest {
        self.ingest.clone()
    }

    /// Committed readings, in commit order, as they become durable.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<[Reading]>> {
        self.committed.subscribe()
    }

    /// Commits everything queued so far and stops the thread. Other `Ingest` clones still alive
    /// keep it running until they are dropped too, so drop sources first.
    pub fn close(mut self) {
        self.join();
    }

    fn join(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        let (tx, _) = mpsc::channel(1);
        let ours = std::mem::replace(&mut self.ingest, Ingest { tx });
        // A full queue means the writer is busy and will also stop once every handle is gone;
        // the usual case queues the close behind everything already sent.
        let _ = ours.tx.try_send(Request::Close);
        drop(ours);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.join();
    }
}

impl Ingest {
    /// A handle whose writer is gone: every request fails with `WriterStopped`. For whoever asks
    /// for a handle after its owner closed the writer.
    pub fn stopped() -> Self {
        let (tx, _) = mpsc::channel(1);
        Self { tx }
    }

    /// Sends one request built around its reply channel and waits for the writer's answer.
    async fn ask<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<Result<T>>) -> Request,
    ) -> Result<T> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(request(done))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        wait.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// Kills the writer thread with a panic (tests of its supervision only).
    #[cfg(test)]
    pub(crate) async fn inject_panic(&self) {
        let _ = self.tx.send(Request::Panic).await;
    }

    /// Queues readings and resolves once they are committed to disk.
    pub async fn write(&self, readings: Vec<Reading>) -> Result<Committed> {
        self.ask(|done| Request::Readings(readings, None, News::Yes, done))
            .await
    }

    /// Stores readings kept for offline viewing (a plant historian's history): committed like
    /// any, never announced to subscribers (the live view, the alert engine).
    pub async fn write_history(&self, readings: Vec<Reading>) -> Result<Committed> {
        self.ask(|done| Request::Readings(readings, None, News::No, done))
            .await
    }

    /// Writes readings that an encrypted advertisement carried, with its counter, atomically.
    pub async fn write_marked(
        &self,
        readings: Vec<Reading>,
        mark: ReplayMark,
    ) -> Result<Committed> {
        self.ask(|done| Request::Readings(readings, Some(mark), News::Yes, done))
            .await
    }

    /// A device's newest stored replay counter, as of every write queued before this call.
    pub async fn replay_counter(&self, device: DeviceId) -> Result<Option<u32>> {
        Ok(self.counter_record(device).await?.map(|r| r.counter))
    }

    /// A device's stored counter with its restarts, as of every write queued before this call.
    pub async fn counter_record(&self, device: DeviceId) -> Result<Option<CounterRecord>> {
        self.ask(|done| Request::ReplayCounter(device, done)).await
    }

    /// Records or refreshes a device's description.
    pub async fn register(&self, device: Device) -> Result<()> {
        self.ask(|done| Request::Device(device, done)).await
    }

    /// Sets how long a series keeps its raw readings and minute rollups.
    pub async fn set_retention(&self, key: SeriesKey, retention: Retention) -> Result<()> {
        self.ask(|done| Request::Retention(key, retention, done))
            .await
    }

    /// The time of a series' newest stored reading, as of every write queued before this call.
    /// A source that stamps readings with their receipt time starts a series from it after a
    /// restart, so a burst stamped a little ahead of the clock is never overwritten.
    pub async fn last_ts(&self, key: SeriesKey) -> Result<Option<TimestampMs>> {
        self.ask(|done| Request::LastTs(key, done)).await
    }

    /// Replaces a device's tags (already normalised by the caller).
    pub async fn set_tags(&self, device: DeviceId, tags: Vec<String>) -> Result<()> {
        self.ask(|done| Request::Tags(device, tags, done)).await
    }

    /// Deletes a device with every series, reading and rollup it has (the user removed it).
    /// Readings for it that arrive later start a new device, as for any unknown device.
    pub async fn forget_device(&self, device: DeviceId) -> Result<()> {
        self.ask(|done| Request::ForgetDevice(device, done)).await
    }

    /// Records alert transitions and saves alert states, in one transaction.
    pub async fn save_alerts(&self, write: AlertWrite) -> Result<()> {
        self.ask(|done| Request::Alerts(write, done)).await
    }

    /// Adds, changes or removes a service plan, or records a service done on one.
    pub async fn save_service(&self, change: ServiceChange) -> Result<()> {
        self.ask(|done| Request::Service(change, done)).await
    }

    /// Persists what a source declared about a device: offline since `offline_since` (Some) or
    /// back online (None), said at `at_ms`. A device not yet known is created (named by its id
    /// until a source describes it), so the state outlives the process that saw it.
    pub async fn set_offline(
        &self,
        device: DeviceId,
        offline_since: Option<TimestampMs>,
        at_ms: TimestampMs,
    ) -> Result<()> {
        let change = PresenceChange {
            device,
            offline_since_ms: offline_since,
            at_ms,
        };
        self.ask(|done| Request::Presence(change, done)).await
    }

    /// Saves or forgets a configured source (see [`SourceConfigChange`]).
    pub async fn save_source_config(&self, change: SourceConfigChange) -> Result<()> {
        self.ask(|done| Request::SourceConfig(change, done)).await
    }

    /// Deletes one step's worth of data past its retention; returns how much. Call until it
    /// returns 0: each step is its own short transaction, so ingest never waits long.
    pub async fn prune_step(&self, now: TimestampMs) -> Result<usize> {
        self.ask(|done| Request::Prune(now, done)).await
    }

    /// Queues readings from outside an async runtime (the CLI's import) without waiting for the
    /// commit, so the caller can prepare the next batch meanwhile.
    pub fn blocking_submit(&self, readings: Vec<Reading>) -> Result<PendingCommit> {
        let (done, wait) = oneshot::channel();
        self.tx
            .blocking_send(Request::Readings(readings, None, News::Yes, done))
            .map_err(|_| StoreError::WriterStopped)?;
        Ok(PendingCommit(wait))
    }
}

/// A submitted batch; `wait` blocks until it is committed (or failed).
pub struct PendingCommit(oneshot::Receiver<Result<Committed>>);

impl PendingCommit {
    pub fn wait(self) -> Result<Committed> {
        self.0
            .blocking_recv()
            .map_err(|_| StoreError::WriterStopped)?
    }
}

/// Fault injection for tests of the real binaries, in debug builds only (release builds have no
/// such switch): `TELLTALE_FAULT=writer-panic` makes the writer panic at its first readings, as
/// a bug would, so a test can see the collector and the app stop rather than run on.
#[cfg(debug_assertions)]
fn injected_panic() -> bool {
    std::env::var("TELLTALE_FAULT").is_ok_and(|v| v == "writer-panic")
}

fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Request>,
    announce: broadcast::Sender<Arc<[Reading]>>,
    health: Health,
) {
    let mut cache = SeriesCache::default();
    #[cfg(debug_assertions)]
    let panic_at_readings = injected_panic();
    'serve: while let Some(first) = rx.blocking_recv() {
        if matches!(first, Request::Close) {
            break;
        }
        #[cfg(debug_assertions)]
        if panic_at_readings && matches!(first, Request::Readings(..)) {
            panic!("a bug in the writer (injected through TELLTALE_FAULT)");
        }
        // Take whatever else is already waiting, so a burst costs one fsync instead of many.
        let mut batch = vec![first];
        let mut readings = batch_len(&batch[0]);
        let mut closing = false;
        while readings < MAX_BATCH_READINGS {
            match rx.try_recv() {
                Ok(Request::Close) => {
                    closing = true;
                    break;
                }
                Ok(next) => {
                    readings += batch_len(&next);
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        commit(&mut conn, &mut cache, batch, &announce, &health);
        if closing {
            break 'serve;
        }
    }
    tracing::debug!("store writer stopped");
}

fn batch_len(r: &Request) -> usize {
    match r {
        Request::Readings(v, ..) => v.len(),
        Request::Device(..)
        | Request::Retention(..)
        | Request::Prune(..)
        | Request::SourceConfig(..)
        | Request::LastTs(..)
        | Request::ReplayCounter(..)
        | Request::Alerts(..)
        | Request::Tags(..)
        | Request::ForgetDevice(..)
        | Request::Service(..)
        | Request::Presence(..)
        | Request::Close => 1,
        #[cfg(test)]
        Request::Panic => 1,
    }
}

/// Series ids by device and metric, so a batch of readings costs no SQL (and no allocation)
/// for series already seen.
#[derive(Default)]
struct SeriesCache {
    ids: HashMap<String, HashMap<String, (i64, Option<String>)>>,
}

impl SeriesCache {
    fn resolve(&mut self, conn: &Connection, r: &Reading) -> Result<i64> {
        if let Some((id, unit)) = self
            .ids
            .get(r.device.as_str())
            .and_then(|m| m.get(&r.metric))
        {
            if r.unit.is_none() || r.unit == *unit {
                return Ok(*id);
            }
        }
        table::devices::ensure(conn, &r.device, transport_of(r))?;
        let id = table::series::resolve(conn, &r.device, &r.metric, r.unit.as_deref())?;
        self.ids
            .entry(r.device.0.clone())
            .or_default()
            .insert(r.metric.clone(), (id, r.unit.clone()));
        Ok(id)
    }
}

enum Outcome {
    Readings(Committed),
    Done,
    Pruned(usize),
    NotFound(String),
    LastTs(Option<TimestampMs>),
    Counter(Option<CounterRecord>),
    /// This request alone could not be written (rolled back to its savepoint); the rest of the
    /// batch commits.
    Failed(String),
}

/// The first wait before a batch that met a busy, locked or full database is tried again; it
/// doubles up to `RETRY_MAX`.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Once the writer is asked to close, how long it keeps retrying a batch before it gives up and
/// fails it (its senders then do not acknowledge it, so an MQTT broker delivers it again).
const CLOSE_PATIENCE: Duration = Duration::from_secs(3);

/// Errors that pass by themselves: another process holds the write lock, or the disk is full
/// until something frees it. The whole batch is retried; anything else is the request's own
/// fault and fails only that request.
pub(crate) fn is_transient(e: &StoreError) -> bool {
    use rusqlite::ErrorCode as C;
    match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => matches!(
            f.code,
            C::DatabaseBusy | C::DatabaseLocked | C::DiskFull | C::SystemIoFailure
        ),
        _ => false,
    }
}

fn commit(
    conn: &mut Connection,
    cache: &mut SeriesCache,
    batch: Vec<Request>,
    announce: &broadcast::Sender<Arc<[Reading]>>,
    health: &Health,
) {
    let mut wait = RETRY_FIRST;
    let mut closing_since: Option<Instant> = None;
    let mut attempts = 0u32;
    let result = loop {
        attempts += 1;
        // Copies of the stored readings are made only for someone listening: a bulk import
        // has no one, and would pay for copying every reading's strings.
        let announced = announce.receiver_count() > 0;
        match attempt(conn, cache, &batch, announced) {
            Ok(done) => break Ok(done),
            Err(e) if is_transient(&e) => {
                // Series created inside the rolled-back transaction are gone: forget them.
                *cache = SeriesCache::default();
                if health.closing.load(Ordering::SeqCst) {
                    let since = *closing_since.get_or_insert_with(Instant::now);
                    if health.gave_up.get() || since.elapsed() >= CLOSE_PATIENCE {
                        health.gave_up.set(true);
                        break Err(e);
                    }
                }
                let msg = e.to_string();
                if attempts == 1 || attempts.is_power_of_two() {
                    tracing::warn!(error = %msg, attempt = attempts, retry_in_ms = wait.as_millis() as u64,
                        "the database cannot take the batch now; retrying (nothing is acknowledged meanwhile)");
                }
                health.set(Some(format!("{msg}; retrying")));
                std::thread::sleep(wait);
                wait = (wait * 2).min(RETRY_MAX);
            }
            Err(e) => break Err(e),
        }
    };
    if attempts > 1 && result.is_ok() {
        tracing::info!(attempts, "the database took the batch again");
    }
    match result {
        Ok((outcomes, stored_readings)) => {
            health.set(None);
            for (request, outcome) in batch.into_iter().zip(outcomes) {
                reply(request, outcome);
            }
            if !stored_readings.is_empty() {
                // Nobody listening is fine: the UI may not be open.
                let _ = announce.send(stored_readings.into());
            }
        }
        Err(e) => {
            *cache = SeriesCache::default();
            let msg = e.to_string();
            tracing::error!(error = %msg, "store batch failed and was rolled back");
            health.set(Some(msg.clone()));
            for request in batch {
                reply(
                    request,
                    Outcome::Failed(format!("nothing of the batch was stored: {msg}")),
                );
            }
        }
    }
}

/// Answers one caller.
fn reply(request: Request, outcome: Outcome) {
    if let Outcome::Failed(msg) = outcome {
        let fail = || StoreError::Failed(msg.clone());
        match request {
            Request::Readings(_, _, _, done) => {
                let _ = done.send(Err(fail()));
            }
            Request::Prune(_, done) => {
                let _ = done.send(Err(fail()));
            }
            Request::LastTs(_, done) => {
                let _ = done.send(Err(fail()));
            }
            Request::ReplayCounter(_, done) => {
                let _ = done.send(Err(fail()));
            }
            Request::Close => {}
            #[cfg(test)]
            Request::Panic => {}
            Request::Device(_, done)
            | Request::Retention(_, _, done)
            | Request::SourceConfig(_, done)
            | Request::Alerts(_, done)
            | Request::Tags(_, _, done)
            | Request::Service(_, done)
            | Request::Presence(_, done)
            | Request::ForgetDevice(_, done) => {
                let _ = done.send(Err(fail()));
            }
        }
        return;
    }
    match (request, outcome) {
        (Request::Readings(_, _, _, done), Outcome::Readings(c)) => {
            let _ = done.send(Ok(c));
        }
        (Request::Prune(_, done), Outcome::Pruned(n)) => {
            let _ = done.send(Ok(n));
        }
        (Request::LastTs(_, done), Outcome::LastTs(t)) => {
            let _ = done.send(Ok(t));
        }
        (Request::ReplayCounter(_, done), Outcome::Counter(c)) => {
            let _ = done.send(Ok(c));
        }
        (Request::Retention(_, _, done), Outcome::NotFound(msg))
        | (Request::Tags(_, _, done), Outcome::NotFound(msg))
        | (Request::ForgetDevice(_, done), Outcome::NotFound(msg))
        | (Request::Service(_, done), Outcome::NotFound(msg)) => {
            let _ = done.send(Err(StoreError::NotFound(msg)));
        }
        (Request::Device(_, done), _)
        | (Request::Retention(_, _, done), _)
        | (Request::SourceConfig(_, done), _)
        | (Request::Alerts(_, done), _)
        | (Request::Tags(_, _, done), _)
        | (Request::Service(_, done), _)
        | (Request::Presence(_, done), _)
        | (Request::ForgetDevice(_, done), _) => {
            let _ = done.send(Ok(()));
        }
        (Request::Close, _) => {}
        #[cfg(test)]
        (Request::Panic, _) => {}
        _ => unreachable!("outcomes are pushed in request order"),
    }
}

/// One try at writing a batch in one transaction. A request, or a series' samples, that fails
/// for a reason of its own is rolled back to its savepoint and reported alone; a transient
/// error rolls everything back and is returned, for the caller to retry the whole batch.
/// The readings stored are returned for the live broadcast when `announced`.
fn attempt(
    conn: &mut Connection,
    cache: &mut SeriesCache,
    batch: &[Request],
    announced: bool,
) -> Result<(Vec<Outcome>, Vec<Reading>)> {
    // IMMEDIATE takes the write lock up front, where the busy timeout applies; a deferred
    // transaction that reads first can fail at its first write without waiting.
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    // Every valid reading of the batch, by series; the tag indexes `refs`.
    let mut by_series: HashMap<i64, Vec<(Sample, usize)>> = HashMap::new();
    let mut refs: Vec<(usize, usize)> = Vec::new();
    for (ri, request) in batch.iter().enumerate() {
        let sp = tx.savepoint()?;
        let mut samples = Vec::new();
        match apply(&sp, cache, request, &mut samples, &mut by_series) {
            Ok(outcome) => {
                sp.commit()?;
                // One map lookup per run of one series' readings, not one per reading.
                for run in samples.chunk_by(|a, b| a.0 == b.0) {
                    let into = by_series.entry(run[0].0).or_default();
                    for &(_, sample, k) in run {
                        into.push((sample, refs.len()));
                        refs.push((ri, k));
                    }
                }
                outcomes.push(outcome);
            }
            Err(e) if is_transient(&e) => return Err(e),
            Err(e) => {
                drop(sp);
                // Series this request created were rolled back with it.
                *cache = SeriesCache::default();
                tracing::warn!(error = %e, "one write request failed; the rest of its batch goes on");
                outcomes.push(Outcome::Failed(e.to_string()));
            }
        }
    }
    let mut fresh = vec![false; refs.len()];
    let mut refused = vec![false; refs.len()];
    for (id, mut samples) in by_series {
        let sp = tx.savepoint()?;
        let stored = store_series(&sp, id, &mut samples).and_then(|(new_tags, newest)| {
            if let Some(n) = newest {
                table::series::advance_latest(&sp, id, n.ts, n.value)?;
            }
            Ok(new_tags)
        });
        match stored {
            Ok(new_tags) => {
                sp.commit()?;
                for tag in new_tags {
                    fresh[tag] = true;
                }
            }
            Err(e) if is_transient(&e) => return Err(e),
            Err(e) => {
                drop(sp);
                tracing::warn!(series = id, readings = samples.len(), error = %e,
                    "a series' readings could not be stored and were rejected; the rest of the batch goes on");
                for (_, tag) in &samples {
                    refused[*tag] = true;
                }
            }
        }
    }
    let mut stored_readings = Vec::new();
    for (i, &(ri, k)) in refs.iter().enumerate() {
        if let Outcome::Readings(c) = &mut outcomes[ri] {
            if refused[i] {
                c.rejected += 1;
            } else if fresh[i] {
                c.stored += 1;
            } else {
                c.duplicates += 1;
            }
        }
        if fresh[i] && announced {
            if let Request::Readings(readings, _, News::Yes, _) = &batch[ri] {
                stored_readings.push(readings[k].clone());
            }
        }
    }
    tx.commit()?;
    Ok((outcomes, stored_readings))
}

/// Carries out one request inside its savepoint. Readings only resolve their series here (into
/// `samples`, merged into the batch once the savepoint holds); they are stored per series after.
fn apply(
    tx: &Connection,
    cache: &mut SeriesCache,
    request: &Request,
    samples: &mut Vec<(i64, Sample, usize)>,
    by_series: &mut HashMap<i64, Vec<(Sample, usize)>>,
) -> Result<Outcome> {
    Ok(match request {
        Request::Device(d, _) => {
            table::devices::upsert(tx, d)?;
            Outcome::Done
        }
        Request::LastTs(key, _) => Outcome::LastTs(table::series::last_ts(tx, key)?),
        Request::ReplayCounter(device, _) => {
            Outcome::Counter(table::replay_counters::get(tx, device)?)
        }
        // Never batched: the serving loop stops at it.
        Request::Close => Outcome::Done,
        #[cfg(test)]
        Request::Panic => panic!("a bug in the writer (injected by a test)"),
        Request::Tags(id, tags, _) => match table::devices::set_tags(tx, id, tags)? {
            true => Outcome::Done,
            false => Outcome::NotFound(format!("no device {id}")),
        },
        Request::ForgetDevice(id, _) => {
            // Samples of this device queued earlier in the batch would be written into
            // deleted series after the loop: drop them with the cache entries.
            if let Some(series) = cache.ids.remove(id.as_str()) {
                for (series_id, _) in series.values() {
                    by_series.remove(series_id);
                }
            }
            match table::devices::delete(tx, id)? {
                true => Outcome::Done,
                false => Outcome::NotFound(format!("no device {id}")),
            }
        }
        Request::Alerts(w, _) => {
            table::alerts::apply(tx, w)?;
            Outcome::Done
        }
        Request::Presence(p, _) => {
            table::devices::ensure(tx, &p.device, transport_of_device(&p.device))?;
            table::presence::set(tx, &p.device, p.offline_since_ms, p.at_ms)?;
            Outcome::Done
        }
        Request::Service(change, _) => match table::service_plans::apply(tx, change)? {
            true => Outcome::Done,
            false => Outcome::NotFound("no such service plan".into()),
        },
        Request::SourceConfig(c, _) => {
            match &c.config {
                Some(json) => table::source_configs::put(tx, &c.kind, &c.id, json, c.now_ms)?,
                None => {
                    table::source_configs::delete(tx, &c.kind, &c.id)?;
                }
            }
            Outcome::Done
        }
        // A request naming no series is refused alone, never failing its batch-mates.
        Request::Retention(key, keep, _) => match table::series::set_retention(tx, key, keep)? {
            true => Outcome::Done,
            false => {
                Outcome::NotFound(format!("no metric {} on device {}", key.metric, key.device))
            }
        },
        Request::Prune(now, _) => {
            // Retention counts back from the clock, but never from a clock ahead of the newest
            // reading the store holds: a box that boots with its clock years fast must not
            // delete its whole history in the first pass. (Readings more than a day ahead of
            // their receiver's clock are refused at ingest, so no one reading can drag this
            // reference far ahead either.)
            let reference = match table::series::newest_ts(tx)? {
                Some(newest) => (*now).min(newest),
                None => *now,
            };
            let mut n = table::chunks::prune(tx, reference, DEFAULT_RAW_KEEP_MS, PRUNE_STEP)?;
            n += table::rollups::prune_minutes(tx, reference, DEFAULT_MINUTE_KEEP_MS, PRUNE_STEP)?;
            n += table::alerts::prune(
                tx,
                reference.saturating_sub(ALERT_HISTORY_KEEP_MS),
                PRUNE_STEP,
            )?;
            Outcome::Pruned(n)
        }
        Request::Readings(readings, mark, ..) => {
            let mut c = Committed::default();
            let mut first_refusal: Option<(usize, String)> = None;
            // The previous reading's series: a bulk import or a gateway's burst sends one
            // series' readings together, and comparing two strings is cheaper than hashing them.
            let mut previous: Option<(&Reading, i64)> = None;
            for (k, r) in readings.iter().enumerate() {
                // The store's own guard, whatever the source checked: a time outside the
                // window or a value beyond range would break its chunk or rollups for good.
                if let Err(why) = r.check(None) {
                    c.rejected += 1;
                    first_refusal.get_or_insert((k, why));
                    continue;
                }
                let id = match previous {
                    Some((p, id))
                        if p.device == r.device
                            && p.metric == r.metric
                            && (r.unit.is_none() || r.unit == p.unit) =>
                    {
                        id
                    }
                    _ => cache.resolve(tx, r)?,
                };
                previous = Some((r, id));
                let sample = Sample {
                    ts: r.ts_ms,
                    value: r.value,
                    quality: r.quality,
                };
                samples.push((id, sample, k));
            }
            if let Some((k, why)) = first_refusal {
                let r = &readings[k];
                tracing::warn!(device = %r.device, metric = %r.metric, ts_ms = r.ts_ms,
                    rejected = c.rejected, reason = %why, "readings refused by the store");
            }
            if let Some(m) = mark {
                table::devices::ensure(tx, &m.device, transport_of_device(&m.device))?;
                table::replay_counters::put(tx, &m.device, m.counter, m.at_ms, m.restarted)?;
            }
            Outcome::Readings(c)
        }
    })
}

/// Readings from a device no source described: the id's prefix names its transport.
fn transport_of(r: &Reading) -> Transport {
    transport_of_device(&r.device)
}

fn transport_of_device(device: &DeviceId) -> Transport {
    device
        .0
        .split_once(':')
        .and_then(|(prefix, _)| Transport::parse(prefix))
        .unwrap_or(Transport::Mqtt)
}
