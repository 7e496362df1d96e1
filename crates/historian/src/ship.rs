//! Shipping: every chunk of the local store whose mark the historian has not seen from this
//! database is merged into the historian's hour, in transactions of at most [`BATCH_HOURS`]
//! hours, each recording the marks it shipped. A shipment killed at any point leaves whole
//! batches behind it; the next one sends the rest, and merging makes a repeat harmless.

use crate::error::{HistorianError, Result};
use crate::hour::Hour;
use crate::Historian;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use telltale_model::TimestampMs;
use telltale_store::chunk;
use telltale_store::{ChunkMark, Store, StoredSeries, CHUNK_MS, ROLLUP_LEVELS};

/// Hours per transaction: a crash repeats at most this much work, and a transaction holds a few
/// megabytes at most (a 1 Hz hour encodes to about 25 kB).
const BATCH_HOURS: usize = 256;

/// What one shipment did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Shipment {
    /// Readings new to the historian.
    pub readings: u64,
    /// Hours written (new, or holding new readings).
    pub hours: u64,
    /// Hours shipped as rollups only: the local store had already pruned their readings.
    pub rollup_hours: u64,
    /// Series that had something to ship, and series in the local store.
    pub series_changed: u64,
    pub series: u64,
}

/// The sums of a series' marks (see `telltale_shipped_series`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Summary {
    chunks: i64,
    readings: i64,
    bytes: i64,
    first_start: i64,
    last_start: i64,
}

impl Summary {
    fn of(marks: &[ChunkMark]) -> Summary {
        Summary {
            chunks: marks.len() as i64,
            readings: marks.iter().map(|m| m.n).sum(),
            bytes: marks.iter().map(|m| m.bytes).sum(),
            first_start: marks.iter().map(|m| m.start).min().unwrap_or(0),
            last_start: marks.iter().map(|m| m.start).max().unwrap_or(0),
        }
    }
}

/// Runs a read of the local store on a blocking thread.
async fn local<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Store) -> telltale_store::Result<T> + Send + 'static,
) -> Result<T> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| HistorianError::Postgres(format!("a local read stopped: {e}")))?
        .map_err(HistorianError::from)
}

impl Historian {
    /// Ships everything of `store` the historian lacks, labelled `site`.
    pub async fn ship(
        &mut self,
        store: &Arc<Store>,
        site: &str,
        now: TimestampMs,
    ) -> Result<Shipment> {
        let db = local(store, Store::db_id).await?;
        self.client
            .execute(
                "INSERT INTO telltale_sites (db, site, last_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (db) DO UPDATE SET site = excluded.site, last_ms = excluded.last_ms",
                &[&db, &site, &now],
            )
            .await?;
        let devices = local(store, Store::devices).await?;
        let upsert = self
            .client
            .prepare(
                "INSERT INTO telltale_devices (id, name, device, site, updated_ms)
                 VALUES ($1, $2, $3::text::jsonb, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, device = excluded.device,
                     site = excluded.site, updated_ms = excluded.updated_ms
                 WHERE telltale_devices.device IS DISTINCT FROM excluded.device",
            )
            .await?;
        for d in &devices {
            let json = serde_json::to_string(d).expect("a device serialises");
            self.client
                .execute(&upsert, &[&d.id.as_str(), &d.name, &json, &site, &now])
                .await?;
        }
        let shipped: HashMap<i32, Summary> = self
            .client
            .query(
                "SELECT series, chunks, readings, bytes, first_start, last_start
                 FROM telltale_shipped_series WHERE db = $1",
                &[&db],
            )
            .await?
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    Summary {
                        chunks: r.get(1),
                        readings: r.get(2),
                        bytes: r.get(3),
                        first_start: r.get(4),
                        last_start: r.get(5),
                    },
                )
            })
            .collect();
        let mut out = Shipment::default();
        for series in local(store, Store::stored_series).await? {
            out.series += 1;
            let id = self.series_id(&series).await?;
            let (marks, rollup_only) = {
                let local_id = series.id;
                local(store, move |s| {
                    let mut marks = s.chunk_marks(local_id)?;
                    let hours = s.rollup_only_hours(local_id)?;
                    // An hour known only by its rollup is marked by its count and length -1.
                    marks.extend(hours.iter().map(|(t, a)| ChunkMark {
                        start: *t,
                        n: a.count,
                        bytes: -1,
                    }));
                    Ok((marks, hours))
                })
                .await?
            };
            let summary = Summary::of(&marks);
            if shipped.get(&id) == Some(&summary) {
                continue;
            }
            out.series_changed += 1;
            let seen: HashMap<i64, (i64, i64)> = self
                .client
                .query(
                    "SELECT start_ms, n, bytes FROM telltale_shipped WHERE db = $1 AND series = $2",
                    &[&db, &id],
                )
                .await?
                .iter()
                .map(|r| (r.get(0), (r.get(1), r.get(2))))
                .collect();
            let mut todo: Vec<ChunkMark> = marks
                .into_iter()
                .filter(|m| seen.get(&m.start) != Some(&(m.n, m.bytes)))
                .collect();
            todo.sort_by_key(|m| m.start);
            let rollup_only: HashMap<i64, telltale_store::Agg> = rollup_only.into_iter().collect();
            for batch in todo.chunks(BATCH_HOURS) {
                self.ship_batch(store, &db, id, &series, batch, &rollup_only, &mut out)
                    .await?;
            }
            self.client
                .execute(
                    "INSERT INTO telltale_shipped_series
                         (db, series, chunks, readings, bytes, first_start, last_start)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (db, series) DO UPDATE SET chunks = excluded.chunks,
                         readings = excluded.readings, bytes = excluded.bytes,
                         first_start = excluded.first_start, last_start = excluded.last_start",
                    &[
                        &db,
                        &id,
                        &summary.chunks,
                        &summary.readings,
                        &summary.bytes,
                        &summary.first_start,
                        &summary.last_start,
                    ],
                )
                .await?;
        }
        Ok(out)
    }

    /// The historian's id of a local series, made on first sight; its unit follows the newest
    /// description, as the local store's does.
    async fn series_id(&self, series: &StoredSeries) -> Result<i32> {
        let (device, metric) = (series.key.device.as_str(), series.key.metric.as_str());
        self.client
            .execute(
                "INSERT INTO telltale_series (device, metric, unit) VALUES ($1, $2, $3)
                 ON CONFLICT (device, metric) DO NOTHING",
                &[&device, &metric, &series.unit],
            )
            .await?;
        let row = self
            .client
            .query_one(
                "SELECT id, unit FROM telltale_series WHERE device = $1 AND metric = $2",
                &[&device, &metric],
            )
            .await?;
        let (id, unit): (i32, Option<String>) = (row.get(0), row.get(1));
        if series.unit.is_some() && series.unit != unit {
            self.client
                .execute(
                    "UPDATE telltale_series SET unit = $2 WHERE id = $1",
                    &[&id, &series.unit],
                )
                .await?;
        }
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    async fn ship_batch(
        &mut self,
        store: &Arc<Store>,
        db: &str,
        id: i32,
        series: &StoredSeries,
        batch: &[ChunkMark],
        rollup_only: &HashMap<i64, telltale_store::Agg>,
        out: &mut Shipment,
    ) -> Result<()> {
        let (first, last) = (batch[0].start, batch[batch.len() - 1].start);
        let local_id = series.id;
        let chunks = local(store, move |s| s.stored_chunks(local_id, first, last)).await?;
        let chunks: HashMap<i64, telltale_store::StoredChunk> =
            chunks.into_iter().map(|c| (c.mark.start, c)).collect();
        let starts: Vec<i64> = batch.iter().map(|m| m.start).collect();

        let tx = self.client.transaction().await?;
        // Merges into one series wait for each other: two sites shipping the same hour must
        // not both start from the hour as it was.
        tx.query_one(
            "SELECT id FROM telltale_series WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?;
        let existing: HashMap<i64, Option<Vec<u8>>> = tx
            .query(
                "SELECT start_ms, readings FROM telltale_hours WHERE series = $1 AND start_ms = ANY($2)",
                &[&id, &starts],
            )
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut rows: Vec<Hour> = Vec::new();
        let mut marks: Vec<ChunkMark> = Vec::new();
        for m in batch {
            if let Some(c) = chunks.get(&m.start) {
                let samples = chunk::decode(c.mark.start, &c.data)?;
                marks.push(c.mark);
                if samples.is_empty() {
                    continue;
                }
                match existing.get(&m.start) {
                    Some(Some(data)) => {
                        let base = chunk::decode(m.start, data)
                            .map_err(|e| HistorianError::Corrupt(format!("series {id}: {e}")))?;
                        let (merged, fresh) = chunk::merge(&base, &samples);
                        if !fresh.is_empty() {
                            out.readings += fresh.len() as u64;
                            rows.push(Hour::of_readings(m.start, &merged));
                        }
                    }
                    // New, or known only by a rollup: the readings are the better record, and
                    // the chunk's bytes are already what the historian stores.
                    _ => {
                        out.readings += samples.len() as u64;
                        rows.push(Hour::of_encoded(m.start, &samples, c.data.clone()));
                    }
                }
            } else if let Some(agg) = rollup_only.get(&m.start).filter(|_| m.bytes < 0) {
                marks.push(*m);
                if !existing.contains_key(&m.start) {
                    let (start, end) = (m.start, m.start + CHUNK_MS);
                    let minutes = local(store, move |s| {
                        s.rollups(local_id, ROLLUP_LEVELS[0], start, end)
                    })
                    .await?;
                    out.rollup_hours += 1;
                    rows.push(Hour::of_rollups(m.start, *agg, &minutes));
                }
            }
            // Else the chunk went (retention) between listing and reading: nothing to ship.
        }
        if !rows.is_empty() {
            out.hours += rows.len() as u64;
            let col = |f: fn(&Hour) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
            let starts = col(|h| h.start);
            let first_ts = col(|h| h.agg.first_ts);
            let last_ts = col(|h| h.agg.last_ts);
            let n: Vec<i32> = rows.iter().map(|h| h.agg.count as i32).collect();
            let lo: Vec<f64> = rows.iter().map(|h| h.agg.min).collect();
            let hi: Vec<f64> = rows.iter().map(|h| h.agg.max).collect();
            let total: Vec<f64> = rows.iter().map(|h| h.agg.sum).collect();
            let minutes: Vec<Option<&[u8]>> = rows.iter().map(|h| h.minutes.as_deref()).collect();
            let readings: Vec<Option<&[u8]>> = rows.iter().map(|h| h.readings.as_deref()).collect();
            tx.execute(
                "INSERT INTO telltale_hours
                     (series, start_ms, n, lo, hi, total, first_ts, last_ts, minutes, readings)
                 SELECT $1, * FROM unnest($2::int8[], $3::int4[], $4::float8[], $5::float8[],
                     $6::float8[], $7::int8[], $8::int8[], $9::bytea[], $10::bytea[])
                 ON CONFLICT (series, start_ms) DO UPDATE SET n = excluded.n, lo = excluded.lo,
                     hi = excluded.hi, total = excluded.total, first_ts = excluded.first_ts,
                     last_ts = excluded.last_ts, minutes = excluded.minutes,
                     readings = excluded.readings",
                &[
                    &id, &starts, &n, &lo, &hi, &total, &first_ts, &last_ts, &minutes, &readings,
                ],
            )
            .await?;
        }
        if !marks.is_empty() {
            let starts: Vec<i64> = marks.iter().map(|m| m.start).collect();
            let n: Vec<i64> = marks.iter().map(|m| m.n).collect();
            let bytes: Vec<i64> = marks.iter().map(|m| m.bytes).collect();
            tx.execute(
                "INSERT INTO telltale_shipped (db, series, start_ms, n, bytes)
                 SELECT $1, $2, * FROM unnest($3::int8[], $4::int8[], $5::int8[])
                 ON CONFLICT (db, series, start_ms) DO UPDATE SET n = excluded.n, bytes = excluded.bytes",
                &[&db, &id, &starts, &n, &bytes],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
