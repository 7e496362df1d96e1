//! Rollups: per-series aggregates at fixed levels, kept at ingest in the same transaction as the
//! readings, so a year of history answers a chart query from a few thousand rows.

use crate::chunk::Sample;
use telltale_model::TimestampMs;

/// Bucket widths kept for every series: one minute, ten minutes, one hour, one day. Each level
/// is a whole multiple of the one below, so a query can combine them without double counting.
/// Ten minutes sits between minutes and hours so that a week, a chart's usual window, is drawn
/// from a thousand-odd buckets rather than 168 hours or 10,080 minutes.
pub const LEVELS: [i64; 4] = [60_000, 600_000, 3_600_000, 86_400_000];

/// min, max, sum, count, and the time and value of the first and last reading of one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agg {
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: i64,
    pub first_ts: TimestampMs,
    pub last_ts: TimestampMs,
    /// The value at `first_ts`.
    pub first: f64,
    /// The value at `last_ts`.
    pub last: f64,
}

impl Agg {
    pub fn of(s: &Sample) -> Self {
        Self {
            min: s.value,
            max: s.value,
            sum: s.value,
            count: 1,
            first_ts: s.ts,
            last_ts: s.ts,
            first: s.value,
            last: s.value,
        }
    }

    /// Folds in another piece of the same bucket. The earliest piece gives `first` and the
    /// latest gives `last`; on a tie (pieces never share a reading, so only a piece repeated
    /// by mistake) the one already held stays.
    pub fn merge(&mut self, o: &Agg) {
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
        self.count += o.count;
        if o.first_ts < self.first_ts {
            self.first_ts = o.first_ts;
            self.first = o.first;
        }
        if o.last_ts > self.last_ts {
            self.last_ts = o.last_ts;
            self.last = o.last;
        }
    }
}

/// The start of the `level`-wide bucket holding `ts`.
pub fn bucket_start(ts: TimestampMs, level: i64) -> TimestampMs {
    ts.div_euclid(level) * level
}
