use crate::chunk::Sample;
use crate::error::{Result, StoreError};
use crate::migrate::Migration;
use crate::rollup::{bucket_start, Agg, LEVELS};
use crate::table;
use rusqlite::{params, Connection, Row, Transaction};
use telltale_model::TimestampMs;

pub static MIGRATIONS: &[Migration] = &[
    Migration::sql(
        5,
        "CREATE TABLE rollups (
        series INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
        level INTEGER NOT NULL,
        t INTEGER NOT NULL,
        lo REAL NOT NULL,
        hi REAL NOT NULL,
        total REAL NOT NULL,
        n INTEGER NOT NULL,
        first_ts INTEGER NOT NULL,
        last_ts INTEGER NOT NULL,
        PRIMARY KEY (series, level, t)
    ) WITHOUT ROWID;",
    ),
    // The values of each bucket's first and last reading (`first_ts`, `last_ts`), for charts
    // that draw the line through them (M4).
    Migration::rust(18, add_first_and_last),
    // Ten-minute buckets, folded from the minute ones already stored.
    Migration::rust(19, add_ten_minutes),
];

/// Builds the ten-minute level from the minute level. Minutes and ten minutes are kept for the
/// same time (see [`prune_minutes`]), so where minutes were pruned there is nothing to build.
/// Built afresh: a store made by migration 7 with today's ingest already has some.
fn add_ten_minutes(tx: &Transaction<'_>) -> Result<()> {
    const MINUTE: i64 = LEVELS[0];
    const TEN: i64 = LEVELS[1];
    tx.execute("DELETE FROM rollups WHERE level = ?1", [TEN])?;
    let mut read = tx.prepare(
        "SELECT series, t, lo, hi, total, n, first_ts, last_ts, first, last FROM rollups
         WHERE level = ?1 ORDER BY series, t",
    )?;
    let mut rows = read.query([MINUTE])?;
    let mut open: Option<(i64, TimestampMs, Agg)> = None;
    while let Some(r) = rows.next()? {
        let series: i64 = r.get(0)?;
        let (t, agg) = from_row_at(r, 1)?;
        let bucket = bucket_start(t, TEN);
        match &mut open {
            Some((s, b, acc)) if *s == series && *b == bucket => acc.merge(&agg),
            _ => {
                if let Some((s, b, done)) = open.replace((series, bucket, agg)) {
                    add(tx, s, TEN, b, &done)?;
                }
            }
        }
    }
    if let Some((s, b, done)) = open {
        add(tx, s, TEN, b, &done)?;
    }
    Ok(())
}

/// Adds `first` and `last` and fills them for the buckets already stored: from the raw
/// readings where they are still kept; where retention pruned them (a chunk is an hour, so
/// every level's bucket loses its first or last reading with its chunk), from the bucket's
/// mean, the one value left that stands for the whole stretch.
fn add_first_and_last(tx: &Transaction<'_>) -> Result<()> {
    add_first_and_last_columns(tx)?;
    let unfilled: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM rollups WHERE first IS NULL OR last IS NULL)",
        [],
        |r| r.get(0),
    )?;
    if !unfilled {
        return Ok(());
    }
    let series: Vec<i64> = tx
        .prepare("SELECT DISTINCT series FROM chunks")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = tx.prepare(
        "UPDATE rollups SET
            first = CASE WHEN first_ts = ?4 THEN ?5 ELSE first END,
            last = CASE WHEN last_ts = ?6 THEN ?7 ELSE last END
         WHERE series = ?1 AND level = ?2 AND t = ?3",
    )?;
    /// One bucket's first and last raw reading so far.
    struct Ends {
        t: TimestampMs,
        first: Sample,
        last: Sample,
    }
    for id in series {
        // Samples come in time order, so each level's bucket is whole once the next begins.
        let mut open: [Option<Ends>; LEVELS.len()] = std::array::from_fn(|_| None);
        let mut flush = |level: i64, e: Ends| {
            update
                .execute(params![
                    id,
                    level,
                    e.t,
                    e.first.ts,
                    e.first.value,
                    e.last.ts,
                    e.last.value
                ])
                .map(|_| ())
        };
        table::chunks::for_each(tx, id, TimestampMs::MIN, TimestampMs::MAX, |s| {
            for (level, slot) in LEVELS.into_iter().zip(&mut open) {
                let t = bucket_start(s.ts, level);
                match slot {
                    Some(e) if e.t == t => e.last = s,
                    _ => {
                        let fresh = Ends {
                            t,
                            first: s,
                            last: s,
                        };
                        if let Some(done) = slot.replace(fresh) {
                            flush(level, done)?;
                        }
                    }
                }
            }
            Ok(())
        })?;
        for (level, slot) in LEVELS.into_iter().zip(open) {
            if let Some(done) = slot {
                flush(level, done)?;
            }
        }
    }
    drop(update);
    tx.execute_batch(
        "UPDATE rollups SET first = coalesce(first, total / n, lo), last = coalesce(last, total / n, lo)
         WHERE first IS NULL OR last IS NULL;",
    )?;
    Ok(())
}

/// Adds the `first` and `last` columns unless they are there: migration 7 stores its readings
/// with today's ingest, which writes them, ahead of migration 18.
pub(crate) fn add_first_and_last_columns(tx: &Transaction<'_>) -> Result<()> {
    let present: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('rollups') WHERE name = 'first')",
        [],
        |r| r.get(0),
    )?;
    if !present {
        tx.execute_batch(
            "ALTER TABLE rollups ADD COLUMN first REAL;
             ALTER TABLE rollups ADD COLUMN last REAL;",
        )?;
    }
    Ok(())
}

/// Folds `agg` into the stored bucket (creating it if needed).
pub fn add(conn: &Connection, series: i64, level: i64, t: TimestampMs, agg: &Agg) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO rollups (series, level, t, lo, hi, total, n, first_ts, last_ts, first, last)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(series, level, t) DO UPDATE SET
            lo = min(lo, excluded.lo), hi = max(hi, excluded.hi),
            total = total + excluded.total, n = n + excluded.n,
            first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts),
            first = CASE WHEN excluded.first_ts < first_ts THEN excluded.first ELSE first END,
            last = CASE WHEN excluded.last_ts > last_ts THEN excluded.last ELSE last END",
    )?
    .execute(params![
        series,
        level,
        t,
        agg.min,
        agg.max,
        agg.sum,
        agg.count,
        agg.first_ts,
        agg.last_ts,
        agg.first,
        agg.last
    ])?;
    Ok(())
}

pub fn from_row(r: &Row<'_>) -> rusqlite::Result<(TimestampMs, Agg)> {
    from_row_at(r, 0)
}

/// `(t, lo, hi, total, n, first_ts, last_ts, first, last)` from column `at` on.
fn from_row_at(r: &Row<'_>, at: usize) -> rusqlite::Result<(TimestampMs, Agg)> {
    Ok((
        r.get(at)?,
        Agg {
            min: r.get(at + 1)?,
            max: r.get(at + 2)?,
            sum: r.get(at + 3)?,
            count: r.get(at + 4)?,
            first_ts: r.get(at + 5)?,
            last_ts: r.get(at + 6)?,
            first: r.get(at + 7)?,
            last: r.get(at + 8)?,
        },
    ))
}

/// The hourly means of each `(device, metric)` asked, hours starting in `[from, to)`: one
/// query for all of them (the dashboard's sparklines), in no particular order.
pub fn hourly_means(
    conn: &Connection,
    wanted: &[(String, String)],
    from: TimestampMs,
    to: TimestampMs,
) -> Result<Vec<(String, String, TimestampMs, f64)>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    // The series asked, as a JSON array of [device, metric] pairs: one bound parameter however
    // many cards there are.
    let pairs = serde_json::to_string(wanted).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut stmt = conn.prepare_cached(
        "SELECT s.device, s.metric, r.t, r.total / r.n
         FROM json_each(?1) AS w
         JOIN series s ON s.device = json_extract(w.value, '$[0]')
                      AND s.metric = json_extract(w.value, '$[1]')
         JOIN rollups r ON r.series = s.id AND r.level = 3600000 AND r.t >= ?2 AND r.t < ?3
         WHERE r.n > 0",
    )?;
    let rows = stmt.query_map(params![pairs, from, to], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The `level` buckets of `series` starting in `[from, to)`, in time order.
pub fn range(
    conn: &Connection,
    series: i64,
    level: i64,
    from: TimestampMs,
    to: TimestampMs,
) -> Result<Vec<(TimestampMs, Agg)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t, lo, hi, total, n, first_ts, last_ts, first, last FROM rollups
         WHERE series = ?1 AND level = ?2 AND t >= ?3 AND t < ?4 ORDER BY t",
    )?;
    let rows = stmt.query_map(params![series, level, from, to], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Deletes up to `limit` minute and ten-minute buckets that end before their series'
/// minute-retention cutoff (ten minutes are an index to the minutes, kept as long as they are).
pub fn prune_minutes(
    conn: &Connection,
    now: TimestampMs,
    default_keep_ms: i64,
    limit: i64,
) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM rollups WHERE (series, level, t) IN (
                SELECT r.series, r.level, r.t FROM rollups r JOIN series s ON s.id = r.series
                WHERE r.level IN (60000, 600000) AND coalesce(s.minute_keep_ms, ?2) >= 0
                  AND r.t + r.level <= ?1 - coalesce(s.minute_keep_ms, ?2)
                LIMIT ?3)",
        )?
        .execute(params![now, default_keep_ms, limit])?)
}
