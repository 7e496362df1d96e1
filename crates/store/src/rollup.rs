//! Rollups: per-series aggregates at fixed levels, kept at ingest in the same transaction as the
//! readings, so a year of history answers a chart query from a few thousand rows.

use crate::chunk::Sample;
use telltale_model::TimestampMs;

/// Bucket widths kept for every series: one minute, one hour, one day. Each level is a whole
/// multiple of the one below, so a query can combine them without double counting.
pub const LEVELS: [i64; 3] = [60_000, 3_600_000, 86_400_000];

/// min, max, sum, count and the first and last reading's time of one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agg {
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: i64,
    pub first_ts: TimestampMs,
    pub last_ts: TimestampMs,
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
        }
    }

    pub fn merge(&mut self, o: &Agg) {
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
        self.count += o.count;
        self.first_ts = self.first_ts.min(o.first_ts);
        self.last_ts = self.last_ts.max(o.last_ts);
    }
}

/// The start of the `level`-wide bucket holding `ts`.
pub fn bucket_start(ts: TimestampMs, level: i64) -> TimestampMs {
    ts.div_euclid(level) * level
}
