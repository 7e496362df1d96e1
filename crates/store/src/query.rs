//! Range queries with a point budget: raw readings when they fit, otherwise buckets built from
//! the coarsest rollup level that still gives the resolution asked for, or a coarser one when
//! that would fold more than [`MAX_PIECES_PER_BUCKET`] of its buckets into each answer bucket.
//!
//! The planning and folding are pure ([`Plan`]): the local store answers a plan's asks from
//! SQLite, the plant historian from PostgreSQL, and both fold them the same way, so a chart
//! drawn from either is the same chart.

use crate::chunk::Sample;
use crate::error::Result;
use crate::rollup::{Agg, LEVELS};
use crate::table;
use rusqlite::Connection;
use telltale_model::{Bucket, TimestampMs};

/// One piece of storage a query needs, in `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Every raw reading.
    Raw { from: TimestampMs, to: TimestampMs },
    /// The rollup buckets `level` ms wide that start in the range (the range is on their grid).
    Rollup {
        level: i64,
        from: TimestampMs,
        to: TimestampMs,
    },
}

/// How to answer one range query: what to read ([`Plan::asks`], in time order) and how to fold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    from: TimestampMs,
    to: TimestampMs,
    points: i64,
    /// The rollup level used, or None when only raw readings have the resolution asked for.
    level: Option<usize>,
    asks: Vec<Ask>,
}

impl Plan {
    /// `[from, to)` in at most `points` buckets (`points` ≥ 1, `from` < `to`: validated by the
    /// caller's [`telltale_model::HistoryQuery::validate`]).
    pub fn new(from: TimestampMs, to: TimestampMs, points: i64) -> Self {
        let level = level_for(from, to, points);
        let mut asks = Vec::new();
        match level {
            // Finer than the finest rollup: only raw readings have that resolution.
            None => asks.push(Ask::Raw { from, to }),
            Some(li) => cover(from, to, Some(li), &mut asks),
        }
        Plan {
            from,
            to,
            points,
            level,
            asks,
        }
    }

    pub fn asks(&self) -> &[Ask] {
        &self.asks
    }

    /// Whether the answers to the asks (`pieces`, in order) count so few readings that the raw
    /// readings of the whole range should be shown instead; then call [`Plan::finish`] with them.
    pub fn wants_raw(&self, pieces: &[(TimestampMs, Agg)]) -> bool {
        total(pieces) <= self.points
    }

    /// `(bucket width in ms, buckets)`; width 0 means the buckets are raw readings. `raw` is the
    /// whole range's raw readings when [`Plan::wants_raw`] said so.
    pub fn finish(
        &self,
        pieces: &[(TimestampMs, Agg)],
        raw: Option<&[Sample]>,
    ) -> (i64, Vec<Bucket>) {
        // Sparse data: show every reading as it was stored, unless retention already pruned
        // raw readings the rollups still count.
        if let Some(raw) = raw {
            if raw.len() as i64 == total(pieces) {
                return (0, raw.iter().map(raw_bucket).collect());
            }
        }
        let (from, to, points) = (self.from, self.to, self.points);
        match self.level {
            None => {
                let width = (to - from + points - 1) / points;
                (width, fold(pieces, from, from, width))
            }
            Some(li) => {
                // Buckets lie on the rollup level's grid and hold a whole number of its buckets,
                // so none straddles two output buckets; the first starts at the grid line before
                // `from`.
                let l = LEVELS[li];
                let origin = from.div_euclid(l) * l;
                let width = pieces_per_bucket(from, to, points, l) * l;
                (width, fold(pieces, from, origin, width))
            }
        }
    }
}

/// At most this many rollup buckets are folded into one bucket of the answer; a bucket that
/// would need more is built from the next coarser level instead, in fewer, wider buckets. So a
/// query reads at most about `points × MAX_PIECES_PER_BUCKET` rollup rows whatever its span,
/// and a chart of 36.5 days (52-minute buckets asked) is drawn from 876 hourly buckets rather
/// than from 52,560 minute ones.
pub const MAX_PIECES_PER_BUCKET: i64 = 8;

/// The rollup level a query of `[from, to)` in `points` buckets reads (an index into
/// [`LEVELS`]), or None when buckets narrower than the finest level are asked (only raw
/// readings have that resolution).
fn level_for(from: TimestampMs, to: TimestampMs, points: i64) -> Option<usize> {
    let asked = (to - from + points - 1) / points;
    // The coarsest level no wider than the resolution asked...
    let mut li = LEVELS.iter().rposition(|&l| l <= asked)?;
    // ...unless each bucket would fold too many of its pieces.
    while li + 1 < LEVELS.len()
        && pieces_per_bucket(from, to, points, LEVELS[li]) > MAX_PIECES_PER_BUCKET
    {
        li += 1;
    }
    // A coarser level that gives buckets of the same width draws the same chart from fewer
    // rows (36.5 days: six ten-minute pieces or one hour make the same hour-wide bucket).
    let width = |li: usize| pieces_per_bucket(from, to, points, LEVELS[li]) * LEVELS[li];
    while li + 1 < LEVELS.len() && width(li + 1) == width(li) {
        li += 1;
    }
    Some(li)
}

/// The bucket width on the grid of `level` that keeps `[from, to)` within `points` buckets, in
/// `level`s; the grid starts at the grid line before `from`.
fn pieces_per_bucket(from: TimestampMs, to: TimestampMs, points: i64, level: i64) -> i64 {
    let origin = from.div_euclid(level) * level;
    ((to - origin + points - 1) / points + level - 1) / level
}

fn total(pieces: &[(TimestampMs, Agg)]) -> i64 {
    pieces.iter().map(|(_, a)| a.count).sum()
}

/// `(bucket width in ms, buckets)` of one local series; see [`Plan`].
pub fn buckets(
    conn: &Connection,
    series: i64,
    from: TimestampMs,
    to: TimestampMs,
    points: i64,
) -> Result<(i64, Vec<Bucket>)> {
    let plan = Plan::new(from, to, points);
    let mut pieces = Vec::new();
    for ask in plan.asks() {
        match *ask {
            Ask::Raw { from, to } => pieces.extend(
                table::chunks::range(conn, series, from, to)?
                    .iter()
                    .map(|s| (s.ts, Agg::of(s))),
            ),
            Ask::Rollup { level, from, to } => {
                pieces.extend(table::rollups::range(conn, series, level, from, to)?)
            }
        }
    }
    let raw = if plan.wants_raw(&pieces) {
        Some(table::chunks::range(conn, series, from, to)?)
    } else {
        None
    };
    Ok(plan.finish(&pieces, raw.as_deref()))
}

fn raw_bucket(s: &Sample) -> Bucket {
    Bucket {
        t: s.ts,
        min: s.value,
        max: s.value,
        mean: s.value,
        count: 1,
        first: s.value,
        last: s.value,
    }
}

/// Covers `[from, to)` exactly: whole buckets of level `li` in the middle, the partial edges from
/// the next finer level, down to raw readings. Asks come out in time order.
fn cover(from: TimestampMs, to: TimestampMs, li: Option<usize>, out: &mut Vec<Ask>) {
    if from >= to {
        return;
    }
    let Some(li) = li else {
        out.push(Ask::Raw { from, to });
        return;
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
        return cover(from, to, finer, out);
    }
    cover(from, a, finer, out);
    out.push(Ask::Rollup {
        level,
        from: a,
        to: b,
    });
    cover(b, to, finer, out);
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
            first: a.first,
            last: a.last,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_cover_the_range_once_in_time_order() {
        let day = 86_400_000;
        for (from, to, points) in [
            (1_234, 5 * day + 7_777, 100),
            (0, 365 * day, 1000),
            (59_999, 61_001, 10),
            (-day - 5, day + 5, 3),
        ] {
            let plan = Plan::new(from, to, points);
            let mut at = from;
            for ask in plan.asks() {
                let (a, b) = match *ask {
                    Ask::Raw { from, to } => (from, to),
                    Ask::Rollup { level, from, to } => {
                        assert_eq!((from.rem_euclid(level), to.rem_euclid(level)), (0, 0));
                        (from, to)
                    }
                };
                assert_eq!(a, at, "{ask:?} follows the previous ask");
                assert!(a < b);
                at = b;
            }
            assert_eq!(at, to);
        }
    }

    #[test]
    fn each_bucket_folds_at_most_a_few_rollup_buckets_and_never_exceeds_the_budget() {
        let (minute, ten, hour, day) = (LEVELS[0], LEVELS[1], LEVELS[2], LEVELS[3]);
        let t0 = 1_600_000_000_000;
        let month = 3_153_600_000;
        for (span, points, level, width) in [
            // 52.56 minutes asked: whole hours, 876 of them, not 52,560 minute rows (nor the
            // same hours folded from 5,256 ten-minute rows).
            (month, 1000, Some(2), hour),
            // 8.76 hours asked: whole days, not 9-hour buckets of 8,760 hour rows.
            (10 * month, 1000, Some(3), day),
            // 86.4 s asked: two minutes, still from minute rollups.
            (86_400_000, 1000, Some(0), 2 * minute),
            // A week, 10.08 minutes asked: twenty minutes from ten-minute rollups, 504 of them,
            // not 168 hours nor 10,080 minute rows.
            (7 * 86_400_000, 1000, Some(1), 2 * ten),
            // A week on a phone, 28 minutes asked: half hours, 336 of them.
            (7 * 86_400_000, 360, Some(1), 3 * ten),
            // A week on a wide screen, 7 minutes asked (a little more from the minute grid's
            // start before `from`): eight minutes from minute rollups.
            (7 * 86_400_000, 1440, Some(0), 8 * minute),
            // Ten years in 100 buckets: days are the coarsest level, so several to a bucket.
            (100 * month, 100, Some(3), 37 * day),
            (3_600_000, 1000, None, 3_600),
        ] {
            let plan = Plan::new(t0, t0 + span, points);
            assert_eq!(plan.level, level, "{span} ms in {points}");
            let (w, _) = plan.finish(&[], None);
            assert_eq!(w, width, "{span} ms in {points}");
            let origin = plan
                .level
                .map_or(t0, |li| t0.div_euclid(LEVELS[li]) * LEVELS[li]);
            assert!(
                (t0 + span - origin + w - 1) / w <= points,
                "within the budget"
            );
        }
    }
}
