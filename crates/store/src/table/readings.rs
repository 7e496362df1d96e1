use crate::error::Result;
use crate::migrate::Migration;
use rusqlite::{params, Connection};
use telltale_model::{Bucket, Quality, TimestampMs};

pub static MIGRATIONS: &[Migration] = &[Migration {
    version: 3,
    // WITHOUT ROWID clusters a series' readings by time: a range scan reads contiguous pages.
    sql: "CREATE TABLE readings (
        series INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
        ts INTEGER NOT NULL,
        value REAL NOT NULL,
        quality INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (series, ts)
    ) WITHOUT ROWID;",
}];

/// Stores one reading; returns false when (series, ts) was already stored, which makes every
/// redelivery (MQTT dup, re-import, replayed advert) harmless.
pub fn insert(
    conn: &Connection,
    series: i64,
    ts: TimestampMs,
    value: f64,
    quality: Quality,
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO readings (series, ts, value, quality) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![series, ts, value, quality.as_i64()])?;
    Ok(n == 1)
}

pub fn count_in(conn: &Connection, series: i64, from: TimestampMs, to: TimestampMs) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM readings WHERE series = ?1 AND ts >= ?2 AND ts < ?3")?
        .query_row(params![series, from, to], |r| r.get(0))?;
    Ok(n as u64)
}

/// Raw readings in `[from, to)`, each as a bucket of one.
pub fn raw(
    conn: &Connection,
    series: i64,
    from: TimestampMs,
    to: TimestampMs,
) -> Result<Vec<Bucket>> {
    let mut stmt = conn.prepare_cached(
        "SELECT ts, value FROM readings WHERE series = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
    )?;
    let rows = stmt.query_map(params![series, from, to], |r| {
        let v: f64 = r.get(1)?;
        Ok(Bucket {
            t: r.get(0)?,
            min: v,
            max: v,
            mean: v,
            count: 1,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Readings in `[from, to)` aggregated into buckets `width` ms wide, aligned on `from`.
/// Empty buckets are absent: gaps stay gaps.
pub fn bucketed(
    conn: &Connection,
    series: i64,
    from: TimestampMs,
    to: TimestampMs,
    width: i64,
) -> Result<Vec<Bucket>> {
    let mut stmt = conn.prepare_cached(
        "SELECT (ts - ?2) / ?4 AS b, min(value), max(value), avg(value), count(*)
         FROM readings WHERE series = ?1 AND ts >= ?2 AND ts < ?3
         GROUP BY b ORDER BY b",
    )?;
    let rows = stmt.query_map(params![series, from, to, width], |r| {
        let b: i64 = r.get(0)?;
        let count: i64 = r.get(4)?;
        Ok(Bucket {
            t: from + b * width,
            min: r.get(1)?,
            max: r.get(2)?,
            mean: r.get(3)?,
            count: count as u64,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
