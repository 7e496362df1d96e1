use crate::error::Result;
use crate::migrate::Migration;
use crate::writer::{Retention, SeriesKey};
use rusqlite::{params, Connection, OptionalExtension};
use telltale_model::{DeviceId, LatestValue, TimestampMs};

pub static MIGRATIONS: &[Migration] = &[
    Migration::sql(
        2,
        // The newest value is kept on the series row so the dashboard never scans readings.
        "CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        device TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        metric TEXT NOT NULL,
        unit TEXT,
        last_ts INTEGER,
        last_value REAL,
        UNIQUE (device, metric)
    );",
    ),
    // Per-series retention overrides, in ms; NULL = the default, negative = keep forever.
    Migration::sql(
        6,
        "ALTER TABLE series ADD COLUMN raw_keep_ms INTEGER;
         ALTER TABLE series ADD COLUMN minute_keep_ms INTEGER;",
    ),
];

/// A series' identity and unit.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    pub id: i64,
    pub device: DeviceId,
    pub metric: String,
    pub unit: Option<String>,
}

/// Returns the series id for (device, metric), creating the series on first sight. A unit that
/// arrives later (or changes) is recorded, since the newest description is the truest.
pub fn resolve(
    conn: &Connection,
    device: &DeviceId,
    metric: &str,
    unit: Option<&str>,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO series (device, metric, unit) VALUES (?1, ?2, ?3)
         ON CONFLICT(device, metric) DO UPDATE SET unit = coalesce(excluded.unit, series.unit)
         WHERE excluded.unit IS NOT NULL AND excluded.unit IS NOT series.unit",
    )?
    .execute(params![device.0, metric, unit])?;
    let id = conn
        .prepare_cached("SELECT id FROM series WHERE device = ?1 AND metric = ?2")?
        .query_row(params![device.0, metric], |r| r.get(0))?;
    Ok(id)
}

/// Advances the series' newest value; an older, late reading leaves it alone.
pub fn advance_latest(conn: &Connection, id: i64, ts: TimestampMs, value: f64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE series SET last_ts = ?2, last_value = ?3
         WHERE id = ?1 AND (last_ts IS NULL OR last_ts <= ?2)",
    )?
    .execute(params![id, ts, value])?;
    Ok(())
}

/// The newest reading time of any series: what the store has heard most recently.
pub fn newest_ts(conn: &Connection) -> Result<Option<TimestampMs>> {
    Ok(conn
        .prepare_cached("SELECT max(last_ts) FROM series")?
        .query_row([], |r| r.get(0))?)
}

/// The time of the series' newest reading, if it has one.
pub fn last_ts(conn: &Connection, key: &SeriesKey) -> Result<Option<TimestampMs>> {
    Ok(conn
        .prepare_cached("SELECT last_ts FROM series WHERE device = ?1 AND metric = ?2")?
        .query_row(params![key.device.0, key.metric], |r| r.get(0))
        .optional()?
        .flatten())
}

pub fn find(conn: &Connection, device: &DeviceId, metric: &str) -> Result<Option<SeriesRow>> {
    Ok(conn
        .prepare_cached("SELECT id, unit FROM series WHERE device = ?1 AND metric = ?2")?
        .query_row(params![device.0, metric], |r| {
            Ok(SeriesRow {
                id: r.get(0)?,
                device: device.clone(),
                metric: metric.to_owned(),
                unit: r.get(1)?,
            })
        })
        .optional()?)
}

/// The newest value of every series, grouped by device.
pub fn latest_by_device(conn: &Connection) -> Result<Vec<(DeviceId, LatestValue)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT device, metric, unit, last_value, last_ts FROM series
         WHERE last_ts IS NOT NULL ORDER BY device, metric",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            DeviceId(r.get(0)?),
            LatestValue {
                metric: r.get(1)?,
                unit: r.get(2)?,
                value: r.get(3)?,
                ts_ms: r.get(4)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Returns false when no such series exists.
pub fn set_retention(conn: &Connection, key: &SeriesKey, keep: &Retention) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE series SET raw_keep_ms = ?3, minute_keep_ms = ?4 WHERE device = ?1 AND metric = ?2",
        )?
        .execute(params![key.device.0, key.metric, keep.raw_ms, keep.minute_ms])?;
    Ok(n == 1)
}

pub fn retention(conn: &Connection, key: &SeriesKey) -> Result<Option<Retention>> {
    Ok(conn
        .prepare_cached(
            "SELECT raw_keep_ms, minute_keep_ms FROM series WHERE device = ?1 AND metric = ?2",
        )?
        .query_row(params![key.device.0, key.metric], |r| {
            Ok(Retention {
                raw_ms: r.get(0)?,
                minute_ms: r.get(1)?,
            })
        })
        .optional()?)
}
