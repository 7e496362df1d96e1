//! What a shipment to the plant historian reads: the database's identity, its series, and their
//! chunks as stored (the encoded bytes, never decoded and re-encoded on the way out).
//!
//! A chunk only ever gains readings (a time already stored keeps its first value) or disappears
//! whole (retention), so its reading count and encoded length mark what a shipment has seen:
//! a chunk whose mark changed since the last shipment holds something the historian may lack.

use crate::error::Result;
use crate::rollup::Agg;
use crate::writer::SeriesKey;
use crate::{table, Store};
use rusqlite::params;
use telltale_model::{DeviceId, TimestampMs};

/// A stored series: its local id, identity and unit.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSeries {
    pub id: i64,
    pub key: SeriesKey,
    pub unit: Option<String>,
}

/// A chunk's start, reading count and encoded length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMark {
    pub start: TimestampMs,
    pub n: i64,
    pub bytes: i64,
}

/// A chunk as stored: its mark and its encoded readings (see [`crate::chunk::decode`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChunk {
    pub mark: ChunkMark,
    pub data: Vec<u8>,
}

impl Store {
    /// This database's identity (random, made when it was created).
    pub fn db_id(&self) -> Result<String> {
        self.with_reader(table::meta::db_id)
    }

    /// Every series, in the order they were first stored.
    pub fn stored_series(&self) -> Result<Vec<StoredSeries>> {
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id, device, metric, unit FROM series ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok(StoredSeries {
                    id: r.get(0)?,
                    key: SeriesKey {
                        device: DeviceId::new(r.get::<_, String>(1)?),
                        metric: r.get(2)?,
                    },
                    unit: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The marks of every chunk of a series, in time order.
    pub fn chunk_marks(&self, series: i64) -> Result<Vec<ChunkMark>> {
        self.with_reader(|conn| {
            // length() of a blob reads the record header only, not the chunk's pages.
            let mut stmt = conn.prepare_cached(
                "SELECT start, n, length(data) FROM chunks WHERE series = ?1 ORDER BY start",
            )?;
            let rows = stmt.query_map(params![series], |r| {
                Ok(ChunkMark {
                    start: r.get(0)?,
                    n: r.get(1)?,
                    bytes: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The chunks of a series starting in `[from, to]`, in time order, each read with its mark in
    /// one statement (a writer adding readings meanwhile changes both or neither).
    pub fn stored_chunks(
        &self,
        series: i64,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<StoredChunk>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT start, n, data FROM chunks
                 WHERE series = ?1 AND start >= ?2 AND start <= ?3 ORDER BY start",
            )?;
            let rows = stmt.query_map(params![series, from, to], |r| {
                let data: Vec<u8> = r.get(2)?;
                Ok(StoredChunk {
                    mark: ChunkMark {
                        start: r.get(0)?,
                        n: r.get(1)?,
                        bytes: data.len() as i64,
                    },
                    data,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The hour rollups of a series whose raw readings retention has already removed: what is
    /// left of those hours to ship.
    pub fn rollup_only_hours(&self, series: i64) -> Result<Vec<(TimestampMs, Agg)>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT t, lo, hi, total, n, first_ts, last_ts, first, last FROM rollups r
                 WHERE r.series = ?1 AND r.level = 3600000
                   AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.series = r.series AND c.start = r.t)
                 ORDER BY t",
            )?;
            let rows = stmt.query_map(params![series], table::rollups::from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The rollup buckets `level` ms wide of a series that start in `[from, to)`.
    pub fn rollups(
        &self,
        series: i64,
        level: i64,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<(TimestampMs, Agg)>> {
        self.with_reader(|conn| table::rollups::range(conn, series, level, from, to))
    }
}
