//! Telltale's memory: every reading, in one SQLite file.
//!
//! One writer thread owns the only write connection and commits whole batches in one transaction;
//! callers learn when their readings are durable (MQTT acknowledgements will wait on it). Readers
//! use their own connection, so a chart query never waits for ingest and WAL keeps both apart.

pub mod chunk;
mod error;
mod ingest;
mod migrate;
mod query;
pub mod rollup;
mod ship;
mod table;
mod writer;

pub use chunk::{Sample, CHUNK_MS};
pub use error::{Result, StoreError};
pub use migrate::supported_version as schema_version;
pub use query::{Ask, Plan};
pub use rollup::Agg;
pub use rollup::LEVELS as ROLLUP_LEVELS;
pub use ship::{ChunkMark, StoredChunk, StoredSeries};
pub use table::alerts::AlertWrite;
pub use table::presence::PresenceRow;
pub use table::replay_counters::CounterRecord;
pub use table::service_plans::{PlanRow, ServiceChange};
pub use writer::{
    Committed, Ingest, PendingCommit, PresenceChange, ReplayMark, Retention, SeriesKey,
    SourceConfigChange, Writer, DEFAULT_MINUTE_KEEP_MS, DEFAULT_RAW_KEEP_MS,
};

use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Duration;
use telltale_model::{DeviceSummary, Freshness, History, HistoryQuery, TimestampMs};

/// Read access to the store. Cheap to share behind an `Arc`; safe to call from several threads
/// at once (each call borrows one of a few read-only connections).
pub struct Store {
    path: PathBuf,
    readers: Readers,
}

/// How many read-only connections a store opens at most: reads run beside each other (a chart
/// while the dashboard loads) and beside the writer (WAL), on a phone's few cores too.
const MAX_READERS: usize = 4;

/// A small pool of read-only connections, opened as needed up to [`MAX_READERS`].
struct Readers {
    pool: Mutex<Pool>,
    returned: Condvar,
}

struct Pool {
    idle: Vec<Connection>,
    /// Connections open (idle or lent).
    open: usize,
}

impl Readers {
    fn new(first: Connection) -> Self {
        Readers {
            pool: Mutex::new(Pool {
                idle: vec![first],
                open: 1,
            }),
            returned: Condvar::new(),
        }
    }
}

/// A connection lent by the pool, given back when dropped (a panicking read included).
struct Lent<'a> {
    conn: Option<Connection>,
    readers: &'a Readers,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // A poisoned lock only means another read panicked; the list itself is intact.
            self.readers
                .pool
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .idle
                .push(conn);
            self.readers.returned.notify_one();
        }
    }
}

/// Opens (creating if needed) the database at `path`, migrates it, and starts its writer.
pub fn open(path: &Path) -> Result<(Store, Writer)> {
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    // WAL lets readers run beside the writer; FULL sync makes "committed" mean "survives power
    // loss", which the zero-loss promise to MQTT gateways rests on. Batching keeps fsyncs rare.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    migrate::run(&mut conn)?;
    let reader = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&reader)?;
    let store = Store {
        path: path.to_owned(),
        readers: Readers::new(reader),
    };
    Ok((store, Writer::start(conn)))
}

/// Opens an existing database for reading only (`telltale query`, `export`, `devices`): it never
/// takes the write lock, so a reader beside a live collector can never make the collector's
/// batches wait or fail. A database of an older schema is upgraded first, once, through the
/// ordinary open; one written by a newer build is refused.
pub fn open_read_only(path: &Path) -> Result<Store> {
    if !path.is_file() {
        return Err(StoreError::NotFound(format!(
            "no database at {}",
            path.display()
        )));
    }
    let reader = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&reader)?;
    let found: i64 = reader.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let supported = migrate::supported_version();
    if found > supported {
        return Err(StoreError::NewerSchema { found, supported });
    }
    if found < supported {
        drop(reader);
        let (store, writer) = open(path)?;
        writer.close();
        return Ok(store);
    }
    Ok(Store {
        path: path.to_owned(),
        readers: Readers::new(reader),
    })
}

/// See [`configure`].
const PAGE_CACHE_KIB: i64 = 256;

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Each connection's page cache, in KiB (negative: a size, not a page count). SQLite's default
    // is 2000 KiB, and the store keeps up to five connections (the writer, four readers), each
    // filling its cache on its own thread's malloc arena: about 3 MiB more in the app a minute
    // after launch, kept. The file's pages stay in the OS page cache regardless.
    conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
    Ok(())
}

impl Store {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a read-only connection: an idle one, a new one while fewer than
    /// [`MAX_READERS`] are open, or the first one given back. Blocking: call it from a blocking
    /// thread, not an async worker.
    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let lent = self.lend()?;
        f(lent.conn.as_ref().expect("lent until dropped"))
    }

    fn lend(&self) -> Result<Lent<'_>> {
        let readers = &self.readers;
        // Lock poisoning only means another read panicked; the pool's state is still whole.
        let mut pool = readers.pool.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(Lent {
                    conn: Some(conn),
                    readers,
                });
            }
            if pool.open < MAX_READERS {
                pool.open += 1;
                drop(pool);
                let opened = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(StoreError::from)
                .and_then(|c| configure(&c).map(|()| c));
                if opened.is_err() {
                    readers.pool.lock().unwrap_or_else(|p| p.into_inner()).open -= 1;
                }
                return opened.map(|conn| Lent {
                    conn: Some(conn),
                    readers,
                });
            }
            pool = readers
                .returned
                .wait(pool)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Every known device with the newest value of each of its metrics.
    pub fn device_summaries(&self) -> Result<Vec<DeviceSummary>> {
        self.with_reader(|conn| {
            let mut latest: BTreeMap<_, Vec<_>> = BTreeMap::new();
            for (device, value) in table::series::latest_by_device(conn)? {
                latest.entry(device).or_default().push(value);
            }
            Ok(table::devices::all(conn)?
                .into_iter()
                .map(|device| {
                    let values = latest.remove(&device.id).unwrap_or_default();
                    DeviceSummary {
                        last_seen_ms: values.iter().map(|v| v.ts_ms).max(),
                        latest: values,
                        device,
                        freshness: Freshness::Unknown,
                        sparkline: None,
                    }
                })
                .collect())
        })
    }

    /// Gives each summary the last 24 hours of its main metric (hourly means from the rollups,
    /// the hour of `now_ms` included): one query for every card.
    pub fn fill_sparklines(
        &self,
        summaries: &mut [DeviceSummary],
        now_ms: TimestampMs,
    ) -> Result<()> {
        const HOUR: i64 = 3_600_000;
        let to = now_ms.div_euclid(HOUR) * HOUR + HOUR;
        let from = to - 24 * HOUR;
        let wanted: Vec<(String, String)> = summaries
            .iter()
            .filter_map(|s| Some((s.device.id.0.clone(), s.main_metric()?.metric.clone())))
            .collect();
        let rows =
            self.with_reader(|conn| table::rollups::hourly_means(conn, &wanted, from, to))?;
        let mut lines: BTreeMap<(String, String), Vec<Option<f64>>> = BTreeMap::new();
        for (device, metric, t, mean) in rows {
            let slot = ((t - from) / HOUR) as usize;
            if mean.is_finite() && slot < 24 {
                lines
                    .entry((device, metric))
                    .or_insert_with(|| vec![None; 24])[slot] = Some(mean);
            }
        }
        for s in summaries.iter_mut() {
            let Some(metric) = s.main_metric().map(|v| v.metric.clone()) else {
                continue;
            };
            s.sparkline = lines
                .remove(&(s.device.id.0.clone(), metric.clone()))
                .map(|means| telltale_model::Sparkline {
                    metric,
                    from_ms: from,
                    means,
                });
        }
        Ok(())
    }

    /// What sources last declared about devices (offline since when, or back online), for
    /// every device one ever declared; see [`PresenceRow`].
    pub fn presence(&self) -> Result<Vec<PresenceRow>> {
        self.with_reader(table::presence::all)
    }

    /// Every saved alert state (key, engine JSON), for the alert engine to restore at start.
    pub fn alert_states(&self) -> Result<Vec<(String, String)>> {
        self.with_reader(table::alerts::states)
    }

    /// Recorded alert transitions in [from, to], newest first, optionally of one device (by id).
    pub fn alert_transitions(
        &self,
        from_ms: i64,
        to_ms: i64,
        device: Option<&str>,
        limit: u32,
    ) -> Result<Vec<telltale_model::alert::AlertRecord>> {
        self.with_reader(|conn| table::alerts::transitions(conn, from_ms, to_ms, device, limit))
    }

    /// Every service plan, by id, with when it was created.
    pub fn service_plans(&self) -> Result<Vec<PlanRow>> {
        self.with_reader(table::service_plans::all)
    }

    /// A plan's services, newest first, at most `limit`.
    pub fn services(
        &self,
        plan: &str,
        limit: u32,
    ) -> Result<Vec<telltale_model::upkeep::ServiceRecord>> {
        self.with_reader(|conn| table::service_plans::services(conn, plan, limit))
    }

    /// (id, config JSON) of every configured source of one kind.
    pub fn source_configs(&self, kind: &str) -> Result<Vec<(String, String)>> {
        self.with_reader(|conn| table::source_configs::all(conn, kind))
    }

    /// Every known device, by site, name and id.
    pub fn devices(&self) -> Result<Vec<telltale_model::Device>> {
        self.with_reader(table::devices::all)
    }

    pub fn device(&self, id: &telltale_model::DeviceId) -> Result<telltale_model::Device> {
        self.with_reader(|conn| {
            table::devices::get(conn, id)?
                .ok_or_else(|| StoreError::NotFound(format!("no device {id}")))
        })
    }

    /// A chart's worth of history: raw readings when they fit the point budget, otherwise
    /// min/max/mean buckets, never more than `points` of them. Gaps are left empty.
    pub fn history(&self, q: &HistoryQuery) -> Result<History> {
        q.validate().map_err(|e| StoreError::Invalid(e.message))?;
        self.with_reader(|conn| {
            let series = table::series::find(conn, &q.device, &q.metric)?.ok_or_else(|| {
                StoreError::NotFound(format!("no metric {} on device {}", q.metric, q.device))
            })?;
            let (bucket_ms, buckets) =
                query::buckets(conn, series.id, q.from_ms, q.to_ms, i64::from(q.points))?;
            Ok(History {
                device: q.device.clone(),
                metric: q.metric.clone(),
                unit: series.unit,
                from_ms: q.from_ms,
                to_ms: q.to_ms,
                bucket_ms,
                buckets,
                from_historian: Vec::new(),
            })
        })
    }
}

impl Store {
    /// Calls `f` on every raw reading of a series in `[from, to)`, in time order, streaming.
    pub fn export(
        &self,
        key: &SeriesKey,
        from: telltale_model::TimestampMs,
        to: telltale_model::TimestampMs,
        f: impl FnMut(Sample) -> Result<()>,
    ) -> Result<()> {
        self.with_reader(|conn| {
            let series = table::series::find(conn, &key.device, &key.metric)?.ok_or_else(|| {
                StoreError::NotFound(format!("no metric {} on device {}", key.metric, key.device))
            })?;
            table::chunks::for_each(conn, series.id, from, to, f)
        })
    }

    /// Writes a series' raw readings in `[from, to)` as CSV (`device,metric,ts_ms,value`, with a
    /// header) and returns how many rows. Text cells are quoted per RFC 4180 where needed (see
    /// [`CsvFor`] for who the file is for); values print as the shortest text that reads back as
    /// the same f64, so an export for `telltale import` re-imports bit for bit.
    pub fn export_csv(
        &self,
        key: &SeriesKey,
        from: telltale_model::TimestampMs,
        to: telltale_model::TimestampMs,
        reader: CsvFor,
        out: &mut impl std::io::Write,
    ) -> Result<u64> {
        let io = |e: std::io::Error| StoreError::Io(e.to_string());
        let rows_of = CsvRows::new(key, reader)?;
        out.write_all(CsvRows::HEADER).map_err(io)?;
        let mut rows = 0;
        self.export(key, from, to, |s| {
            rows += 1;
            rows_of.write(out, &s)
        })?;
        out.flush().map_err(io)?;
        Ok(rows)
    }

    /// A series' retention overrides (None where it uses the default).
    pub fn retention(&self, key: &SeriesKey) -> Result<Retention> {
        self.with_reader(|conn| {
            table::series::retention(conn, key)?.ok_or_else(|| {
                StoreError::NotFound(format!("no metric {} on device {}", key.metric, key.device))
            })
        })
    }

    /// Bytes in the database file and its WAL, for the app's storage view and the benchmarks.
    pub fn file_bytes(&self) -> u64 {
        let wal = self.path.with_extension(format!(
            "{}-wal",
            self.path
                .extension()
                .map_or(String::new(), |e| e.to_string_lossy().into_owned())
        ));
        [self.path.as_path(), wal.as_path()]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

/// Who reads a CSV export. Numbers are the same for both: never quoted, never prefixed (a
/// value such as `-5.2` starts with `-` and must stay a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvFor {
    /// `telltale import` (the CLI's `export`): RFC 4180 quoting only, so names with commas,
    /// quotes or line breaks, and names starting with `=`, re-import exactly.
    Import,
    /// A person's spreadsheet (the app's "Export CSV"): a text cell starting with `=`, `+`, `-`,
    /// `@`, tab or CR, which a spreadsheet would evaluate as a formula, gets a leading `'`
    /// (OWASP, "CSV injection"). Such a file is for reading, not for re-importing.
    Spreadsheet,
}

/// The rows of one series' CSV export (`device,metric,ts_ms,value`), for whoever streams the
/// readings: the local store, or the plant historian answering the same `export`.
pub struct CsvRows {
    /// The device and metric cells with their commas, rendered once: every row names them.
    series: Vec<u8>,
}

impl CsvRows {
    pub const HEADER: &'static [u8] = b"device,metric,ts_ms,value\n";

    pub fn new(key: &SeriesKey, reader: CsvFor) -> Result<Self> {
        let mut series = Vec::new();
        for text in [key.device.as_str(), key.metric.as_str()] {
            csv_text_cell(&mut series, text, reader)?;
            series.push(b',');
        }
        Ok(CsvRows { series })
    }

    /// Writes one reading's row.
    pub fn write(&self, out: &mut impl std::io::Write, s: &Sample) -> Result<()> {
        out.write_all(&self.series)
            .and_then(|()| writeln!(out, "{},{}", s.ts, s.value))
            .map_err(|e| StoreError::Io(e.to_string()))
    }
}

/// One text cell (a device id or metric name) as CSV, without its delimiter.
fn csv_text_cell(out: &mut Vec<u8>, text: &str, reader: CsvFor) -> Result<()> {
    let neutralised;
    let text =
        if reader == CsvFor::Spreadsheet && text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            neutralised = format!("'{text}");
            &neutralised
        } else {
            text
        };
    // `telltale import` trims unquoted cells, as hand-written files need; a cell with white space
    // at either end is quoted so that it keeps it.
    let edge_space = text.starts_with(|c: char| c.is_ascii_whitespace())
        || text.ends_with(|c: char| c.is_ascii_whitespace());
    let style = if edge_space {
        csv::QuoteStyle::Always
    } else {
        csv::QuoteStyle::Necessary
    };
    let mut w = csv::WriterBuilder::new()
        .quote_style(style)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(&mut *out);
    // A record of one field rather than `write_field`, which leaves a closing quote unwritten
    // until the next field; the record's line break is dropped.
    w.write_record([text])
        .and_then(|()| w.flush().map_err(csv::Error::from))
        .map_err(|e| StoreError::Io(e.to_string()))?;
    drop(w);
    out.pop();
    Ok(())
}

#[cfg(test)]
mod tests;
