//! One hour of one series as the historian keeps it: the readings in the local store's encoding,
//! the minute aggregates packed beside them, and the hour's aggregate.
//!
//! Minute aggregates are packed as 37-byte entries, little-endian, in time order: the minute's
//! index in the hour (u8), min, max, sum (f64), count (u32), and the first and last reading's
//! offsets from the hour's start in ms (u32). A chart of a month at 1000 points reads these, not
//! the readings.

use crate::error::{HistorianError, Result};
use telltale_model::TimestampMs;
use telltale_store::chunk::{self, Sample};
use telltale_store::{Agg, CHUNK_MS};

const MINUTE_MS: i64 = 60_000;
const ENTRY: usize = 37;

/// The contents of one `telltale_hours` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Hour {
    pub start: TimestampMs,
    pub agg: Agg,
    pub minutes: Option<Vec<u8>>,
    pub readings: Option<Vec<u8>>,
}

impl Hour {
    /// The row for an hour's readings (sorted, unique, inside the hour, at least one).
    pub fn of_readings(start: TimestampMs, samples: &[Sample]) -> Hour {
        Self::of_encoded(start, samples, chunk::encode(start, samples))
    }

    /// [`Hour::of_readings`] when the readings are already encoded as the store encodes them
    /// (`encoded` decodes to `samples`): a chunk shipped as stored is not encoded again.
    pub fn of_encoded(start: TimestampMs, samples: &[Sample], encoded: Vec<u8>) -> Hour {
        let mut agg = Agg::of(&samples[0]);
        for s in &samples[1..] {
            agg.merge(&Agg::of(s));
        }
        let mut minutes: Vec<(TimestampMs, Agg)> = Vec::new();
        for s in samples {
            let t = s.ts.div_euclid(MINUTE_MS) * MINUTE_MS;
            match minutes.last_mut() {
                Some((last, a)) if *last == t => a.merge(&Agg::of(s)),
                _ => minutes.push((t, Agg::of(s))),
            }
        }
        Hour {
            start,
            agg,
            minutes: Some(pack(start, &minutes)),
            readings: Some(encoded),
        }
    }

    /// The row for an hour known only by its rollups (its readings were pruned before shipping).
    pub fn of_rollups(start: TimestampMs, agg: Agg, minutes: &[(TimestampMs, Agg)]) -> Hour {
        Hour {
            start,
            agg,
            minutes: (!minutes.is_empty()).then(|| pack(start, minutes)),
            readings: None,
        }
    }
}

fn pack(start: TimestampMs, minutes: &[(TimestampMs, Agg)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(minutes.len() * ENTRY);
    for (t, a) in minutes {
        out.push(((t - start) / MINUTE_MS) as u8);
        out.extend_from_slice(&a.min.to_le_bytes());
        out.extend_from_slice(&a.max.to_le_bytes());
        out.extend_from_slice(&a.sum.to_le_bytes());
        out.extend_from_slice(&(a.count as u32).to_le_bytes());
        out.extend_from_slice(&((a.first_ts - start) as u32).to_le_bytes());
        out.extend_from_slice(&((a.last_ts - start) as u32).to_le_bytes());
    }
    out
}

/// The minute aggregates of the hour starting at `start`, in time order.
pub fn unpack(start: TimestampMs, data: &[u8]) -> Result<Vec<(TimestampMs, Agg)>> {
    if !data.len().is_multiple_of(ENTRY) {
        return Err(HistorianError::Corrupt(format!(
            "minute aggregates of the hour at {start}: {} bytes",
            data.len()
        )));
    }
    let f64_at = |e: &[u8], i: usize| f64::from_le_bytes(e[i..i + 8].try_into().expect("8 bytes"));
    let u32_at = |e: &[u8], i: usize| u32::from_le_bytes(e[i..i + 4].try_into().expect("4 bytes"));
    let mut out = Vec::with_capacity(data.len() / ENTRY);
    for e in data.chunks_exact(ENTRY) {
        let index = i64::from(e[0]);
        let (first, last) = (i64::from(u32_at(e, 29)), i64::from(u32_at(e, 33)));
        if index >= CHUNK_MS / MINUTE_MS || first >= CHUNK_MS || last >= CHUNK_MS {
            return Err(HistorianError::Corrupt(format!(
                "minute aggregates of the hour at {start}: an entry outside the hour"
            )));
        }
        let (sum, count) = (f64_at(e, 17), u32_at(e, 25));
        // The packed minutes keep no first and last values: the minute's mean stands for both.
        let mean = sum / f64::from(count);
        out.push((
            start + index * MINUTE_MS,
            Agg {
                min: f64_at(e, 1),
                max: f64_at(e, 9),
                sum,
                count: i64::from(count),
                first_ts: start + first,
                last_ts: start + last,
                first: mean,
                last: mean,
            },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_model::Quality;

    #[test]
    fn minutes_pack_and_unpack_to_what_the_readings_say() {
        let start = 1_700_002_800_000;
        let samples: Vec<Sample> = (0..3600)
            .filter(|i| i % 7 != 0)
            .map(|i| Sample {
                ts: start + i * 1000 + 3,
                value: (i as f64 * 0.37).sin() * 40.0,
                quality: Quality::Good,
            })
            .collect();
        let hour = Hour::of_readings(start, &samples);
        assert_eq!(hour.agg.count, samples.len() as i64);
        let minutes = unpack(start, hour.minutes.as_deref().unwrap()).unwrap();
        assert_eq!(minutes.len(), 60);
        for (t, a) in &minutes {
            let inside: Vec<&Sample> = samples
                .iter()
                .filter(|s| s.ts >= *t && s.ts < t + MINUTE_MS)
                .collect();
            assert_eq!(a.count, inside.len() as i64);
            assert_eq!(a.first_ts, inside[0].ts);
            assert_eq!(a.last_ts, inside.last().unwrap().ts);
            let min = inside.iter().map(|s| s.value).fold(f64::INFINITY, f64::min);
            assert_eq!(a.min, min);
        }
        assert_eq!(
            chunk::decode(start, hour.readings.as_deref().unwrap()).unwrap(),
            samples
        );
        assert!(unpack(start, &[0; 36]).is_err());
        let mut bad = hour.minutes.unwrap();
        bad[0] = 60;
        assert!(unpack(start, &bad).is_err());
    }
}
