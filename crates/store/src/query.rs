//! Range queries with a point budget: raw readings when they fit, otherwise buckets built from
//! the coarsest rollup level that still gives the resolution asked for.

use crate::chunk::Sample;
use crate::error::Result;
use crate::rollup::{Agg, LEVELS};
use crate::table;
use rusqlite::Connection;
use telltale_model::{Bucket, TimestampMs};

/// `(bucket width in ms, buckets)`; width 0 means the buckets are raw readings.
pub fn buckets(
    conn: &Connection,
    series: i64,
    from: TimestampMs,
    to: TimestampMs,
    points: i64,
) -> Result<(i64, Vec<Bucket>)> {
    let span = to - from;
    let width = (span + points - 1) / points;
    let level = LEVELS.iter().rposition(|&l| l <= width);
    let pieces = match level {
        // Finer than the finest rollup: only raw readings have that resolution.
        None => raw_pieces(conn, series, from, to)?,
        Some(li) => {
            let mut pieces = Vec::new();
            collect(conn, series, from, to, Some(li), &mut pieces)?;
            pieces
        }
    };
    let total: i64 = pieces.iter().map(|(_, a)| a.count).sum();
    if total <= points {
        // Sparse data: show every reading as it was stored, unless retention already pruned
        // raw readings the rollups still count.
        let raw = table::chunks::range(conn, series, from, to)?;
        if raw.len() as i64 == total {
            return Ok((0, raw.iter().map(raw_bucket).collect()));
        }
    }
    match level {
        None => Ok((width, fold(&pieces, from, from, width))),
        Some(li) => {
            // Buckets lie on the rollup level's grid and hold a whole number of its buckets, so
            // none straddles two output buckets; the first starts at the grid line before `from`.
            let l = LEVELS[li];
            let origin = from.div_euclid(l) * l;
            let width = ((to - origin + points - 1) / points + l - 1) / l * l;
            Ok((width, fold(&pieces, from, origin, width)))
        }
    }
}

fn raw_bucket(s: &Sample) -> Bucket {
    Bucket {
        t: s.ts,
        min: s.value,
        max: s.value,
        mean: s.value,
        count: 1,
    }
}

fn raw_pieces(
    conn: &Connection,
    series: i64,
    from: TimestampMs,
    to: TimestampMs,
) -> Result<Vec<(TimestampMs, Agg)>> {
    Ok(table::chunks::range(conn, series, from, to)?
        .iter()
        .map(|s| (s.ts, Agg::of(s)))
        .collect())
}

/// Covers `[from, to)` exactly: whole buckets of level `li` in the middle, the partial edges from
/// the next finer level, down to raw readings. Pieces come out in time order.
fn collect(
    conn: &Connection,
    series: i64,
    from: TimestampMs,
    to: TimestampMs,
    li: Option<usize>,
    out: &mut Vec<(TimestampMs, Agg)>,
) -> Result<()> {
    if from >= to {
        return Ok(());
    }
    let Some(li) = li else {
        out.extend(raw_pieces(conn, series, from, to)?);
        return Ok(());
    };
    let level = LEVELS[li];
    let finer = li.checked_sub(1);
    let a = from.div_euclid(level) * level
        + if from.rem_euclid(level) == 0 {
            0
        } else {
            level
        };
    let b = to.div_euclid(level) * level;
    if a >= b {
        return collect(conn, series, from, to, finer, out);
    }
    collect(conn, series, from, a, finer, out)?;
    out.extend(table::rollups::range(conn, series, level, a, b)?);
    collect(conn, series, b, to, finer, out)
}

/// Folds time-ordered pieces into buckets `width` wide on a grid starting at `origin`; a bucket's
/// `t` is its start, or `from` for the first. Empty buckets are absent, so gaps stay gaps.
fn fold(
    pieces: &[(TimestampMs, Agg)],
    from: TimestampMs,
    origin: TimestampMs,
    width: i64,
) -> Vec<Bucket> {
    let mut out: Vec<(i64, Agg)> = Vec::new();
    for (t, agg) in pieces {
        let k = (t - origin) / width;
        match out.last_mut() {
            Some((last, acc)) if *last == k => acc.merge(agg),
            _ => out.push((k, *agg)),
        }
    }
    out.into_iter()
        .map(|(k, a)| Bucket {
            t: (origin + k * width).max(from),
            min: a.min,
            max: a.max,
            mean: a.sum / a.count as f64,
            count: a.count as u64,
        })
        .collect()
}
