use crate::chunk::{self, Sample};
use crate::error::Result;
use crate::migrate::Migration;
use rusqlite::{params, Connection, OptionalExtension};
use telltale_model::TimestampMs;

pub static MIGRATIONS: &[Migration] = &[Migration::sql(
    4,
    // A rowid table: chunk blobs run to kilobytes, which WITHOUT ROWID tables handle poorly.
    "CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        series INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
        start INTEGER NOT NULL,
        n INTEGER NOT NULL,
        data BLOB NOT NULL,
        UNIQUE (series, start)
    );",
)];

/// The decoded samples of one chunk, or none if it does not exist yet.
pub fn load(conn: &Connection, series: i64, start: TimestampMs) -> Result<Vec<Sample>> {
    let data: Option<Vec<u8>> = conn
        .prepare_cached("SELECT data FROM chunks WHERE series = ?1 AND start = ?2")?
        .query_row(params![series, start], |r| r.get(0))
        .optional()?;
    match data {
        Some(bytes) => chunk::decode(start, &bytes),
        None => Ok(Vec::new()),
    }
}

pub fn save(conn: &Connection, series: i64, start: TimestampMs, samples: &[Sample]) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO chunks (series, start, n, data) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(series, start) DO UPDATE SET n = excluded.n, data = excluded.data",
    )?
    .execute(params![
        series,
        start,
        samples.len() as i64,
        chunk::encode(start, samples)
    ])?;
    Ok(())
}

/// Calls `f` on every sample of `series` in `[from, to)`, in time order, one chunk in memory at
/// a time (an export of a year must not hold a year).
pub fn for_each(
    conn: &Connection,
    series: i64,
    from: TimestampMs,
    to: TimestampMs,
    mut f: impl FnMut(Sample) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT start, data FROM chunks WHERE series = ?1 AND start > ?2 AND start < ?3 ORDER BY start",
    )?;
    let mut rows = stmt.query(params![series, from.saturating_sub(chunk::CHUNK_MS), to])?;
    while let Some(row) = rows.next()? {
        let start: i64 = row.get(0)?;
        let data = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        for s in chunk::decode(start, data)? {
            if s.ts >= from && s.ts < to {
                f(s)?;
            }
        }
    }
    Ok(())
}

/// Every sample of `series` in `[from, to)`, in time order.
pub fn range(
    conn: &Connection,
    series: i64,
    from: TimestampMs,
    to: TimestampMs,
) -> Result<Vec<Sample>> {
    let mut out = Vec::new();
    for_each(conn, series, from, to, |s| {
        out.push(s);
        Ok(())
    })?;
    Ok(out)
}

/// Deletes up to `limit` chunks that lie wholly before their series' raw-retention cutoff.
pub fn prune(
    conn: &Connection,
    now: TimestampMs,
    default_keep_ms: i64,
    limit: i64,
) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM chunks WHERE id IN (
                SELECT c.id FROM chunks c JOIN series s ON s.id = c.series
                WHERE coalesce(s.raw_keep_ms, ?2) >= 0
                  AND c.start + ?4 <= ?1 - coalesce(s.raw_keep_ms, ?2)
                LIMIT ?3)",
        )?
        .execute(params![now, default_keep_ms, limit, chunk::CHUNK_MS])?)
}
