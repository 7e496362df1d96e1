//! The single writer: a thread that owns the write connection and turns queued requests into as
//! few transactions as possible.

use crate::error::{Result, StoreError};
use crate::table;
use rusqlite::Connection;
use std::sync::Arc;
use std::thread::JoinHandle;
use telltale_model::{Device, Reading, Transport};
use tokio::sync::{broadcast, mpsc, oneshot};

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

enum Request {
    Readings(Vec<Reading>, oneshot::Sender<Result<Committed>>),
    Device(Device, oneshot::Sender<Result<()>>),
}

/// Owns the writer thread. `close` (or drop) lets it drain what is queued, commit, and stop.
pub struct Writer {
    ingest: Ingest,
    committed: broadcast::Sender<Arc<[Reading]>>,
    thread: Option<JoinHandle<()>>,
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
        let thread = std::thread::Builder::new()
            .name("telltale-store-writer".into())
            .spawn(move || run(conn, rx, announce))
            .expect("spawning a thread only fails when the OS is out of resources");
        Self {
            ingest: Ingest { tx },
            committed,
            thread: Some(thread),
        }
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
        let (tx, _) = mpsc::channel(1);
        self.ingest = Ingest { tx };
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
    /// Queues readings and resolves once they are committed to disk.
    pub async fn write(&self, readings: Vec<Reading>) -> Result<Committed> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Request::Readings(readings, done))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        wait.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// Records or refreshes a device's description.
    pub async fn register(&self, device: Device) -> Result<()> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Request::Device(device, done))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        wait.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// The same as `write`, for callers outside an async runtime (the CLI's import).
    pub fn blocking_write(&self, readings: Vec<Reading>) -> Result<Committed> {
        let (done, wait) = oneshot::channel();
        self.tx
            .blocking_send(Request::Readings(readings, done))
            .map_err(|_| StoreError::WriterStopped)?;
        wait.blocking_recv()
            .map_err(|_| StoreError::WriterStopped)?
    }
}

fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Request>,
    announce: broadcast::Sender<Arc<[Reading]>>,
) {
    while let Some(first) = rx.blocking_recv() {
        // Take whatever else is already waiting, so a burst costs one fsync instead of many.
        let mut batch = vec![first];
        let mut readings = batch_len(&batch[0]);
        while readings < MAX_BATCH_READINGS {
            match rx.try_recv() {
                Ok(next) => {
                    readings += batch_len(&next);
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        commit(&mut conn, batch, &announce);
    }
    tracing::debug!("store writer stopped: every ingest handle was dropped");
}

fn batch_len(r: &Request) -> usize {
    match r {
        Request::Readings(v, _) => v.len(),
        Request::Device(..) => 1,
    }
}

fn commit(
    conn: &mut Connection,
    batch: Vec<Request>,
    announce: &broadcast::Sender<Arc<[Reading]>>,
) {
    let mut stored_readings = Vec::new();
    // One entry per request, in order: the counts of a readings request, None for a device.
    let result = (|| -> Result<Vec<Option<Committed>>> {
        let tx = conn.transaction()?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for request in &batch {
            match request {
                Request::Device(d, _) => {
                    table::devices::upsert(&tx, d)?;
                    outcomes.push(None);
                }
                Request::Readings(readings, _) => {
                    let mut c = Committed::default();
                    for r in readings {
                        if !r.value.is_finite() || r.metric.is_empty() || r.device.0.is_empty() {
                            c.rejected += 1;
                            continue;
                        }
                        table::devices::ensure(&tx, &r.device, transport_of(r))?;
                        let series =
                            table::series::resolve(&tx, &r.device, &r.metric, r.unit.as_deref())?;
                        if table::readings::insert(&tx, series, r.ts_ms, r.value, r.quality)? {
                            table::series::advance_latest(&tx, series, r.ts_ms, r.value)?;
                            stored_readings.push(r.clone());
                            c.stored += 1;
                        } else {
                            c.duplicates += 1;
                        }
                    }
                    outcomes.push(Some(c));
                }
            }
        }
        tx.commit()?;
        Ok(outcomes)
    })();

    // On failure the transaction rolled back: nothing of the batch was written, and every caller
    // in it hears why.
    match result {
        Ok(outcomes) => {
            for (request, outcome) in batch.into_iter().zip(outcomes) {
                match request {
                    Request::Readings(_, done) => {
                        let _ = done.send(Ok(outcome.unwrap_or_default()));
                    }
                    Request::Device(_, done) => {
                        let _ = done.send(Ok(()));
                    }
                }
            }
            if !stored_readings.is_empty() {
                // Nobody listening is fine: the UI may not be open.
                let _ = announce.send(stored_readings.into());
            }
        }
        Err(e) => {
            let msg = e.to_string();
            tracing::error!(error = %msg, "store batch failed and was rolled back");
            for request in batch {
                match request {
                    Request::Readings(_, done) => {
                        let _ = done.send(Err(StoreError::BatchFailed(msg.clone())));
                    }
                    Request::Device(_, done) => {
                        let _ = done.send(Err(StoreError::BatchFailed(msg.clone())));
                    }
                }
            }
        }
    }
}

/// Readings from a device no source described: the id's prefix names its transport.
fn transport_of(r: &Reading) -> Transport {
    r.device
        .0
        .split_once(':')
        .and_then(|(prefix, _)| Transport::parse(prefix))
        .unwrap_or(Transport::Mqtt)
}
