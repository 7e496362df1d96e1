//! The raw-reading codec: one blob per series per hour.
//!
//! A row per reading costs SQLite 25–35 bytes once b-tree overhead is counted; a plant that keeps a
//! year of 1 Hz vibration cannot afford that on a tablet. Readings of one series in one hour are
//! stored together, sorted by time: each as a varint of its time delta (with the quality folded
//! into the low bits) and its value XORed with the previous value, zero bytes trimmed from both
//! ends (Gorilla's idea at byte granularity). Lossless: every f64 comes back bit for bit.

use crate::error::{Result, StoreError};
use telltale_model::{Quality, TimestampMs};

/// The time window one chunk covers.
pub const CHUNK_MS: i64 = 3_600_000;
const FORMAT_V1: u8 = 1;

/// One stored reading of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub ts: TimestampMs,
    pub value: f64,
    pub quality: Quality,
}

/// The start of the chunk holding `ts`.
pub fn chunk_start(ts: TimestampMs) -> TimestampMs {
    ts.div_euclid(CHUNK_MS) * CHUNK_MS
}

/// Encodes samples that are sorted by `ts`, unique, and within `[start, start + CHUNK_MS)`.
pub fn encode(start: TimestampMs, samples: &[Sample]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + samples.len() * 9);
    out.push(FORMAT_V1);
    let mut prev_ts = start;
    let mut prev_bits = 0u64;
    for s in samples {
        debug_assert!(
            s.ts >= prev_ts,
            "samples must be sorted and inside the chunk"
        );
        let delta = (s.ts - prev_ts) as u64;
        put_varint(&mut out, (delta << 2) | s.quality.as_i64() as u64);
        prev_ts = s.ts;
        let bits = s.value.to_bits();
        let x = bits ^ prev_bits;
        prev_bits = bits;
        if x == 0 {
            out.push(0);
            continue;
        }
        let lead = x.leading_zeros() / 8;
        let trail = x.trailing_zeros() / 8;
        let len = 8 - lead - trail;
        out.push(((lead << 3) | trail) as u8 + 1);
        let middle = x >> (trail * 8);
        out.extend_from_slice(&middle.to_le_bytes()[..len as usize]);
    }
    out
}

/// Decodes a chunk. Corrupt bytes give an error naming the chunk, never a panic or garbage.
pub fn decode(start: TimestampMs, data: &[u8]) -> Result<Vec<Sample>> {
    let corrupt = |why: &str| StoreError::Corrupt(format!("chunk at {start}: {why}"));
    let (&format, mut rest) = data.split_first().ok_or_else(|| corrupt("empty"))?;
    if format != FORMAT_V1 {
        return Err(corrupt("unknown format"));
    }
    let mut samples = Vec::with_capacity(rest.len() / 8);
    let mut prev_ts = start;
    let mut prev_bits = 0u64;
    while !rest.is_empty() {
        let word = take_varint(&mut rest).ok_or_else(|| corrupt("truncated time"))?;
        let delta = i64::try_from(word >> 2).map_err(|_| corrupt("time out of range"))?;
        let ts = prev_ts
            .checked_add(delta)
            .filter(|t| *t < start.saturating_add(CHUNK_MS))
            .ok_or_else(|| corrupt("time outside the chunk"))?;
        if ts == prev_ts && !samples.is_empty() {
            return Err(corrupt("repeated time"));
        }
        let quality = match word & 3 {
            0 => Quality::Good,
            1 => Quality::Uncertain,
            2 => Quality::Bad,
            _ => return Err(corrupt("bad quality")),
        };
        let (&header, tail) = rest
            .split_first()
            .ok_or_else(|| corrupt("truncated value"))?;
        rest = tail;
        let x = if header == 0 {
            0
        } else {
            let h = u32::from(header - 1);
            let (lead, trail) = (h >> 3, h & 7);
            if h > 63 || lead + trail >= 8 {
                return Err(corrupt("bad value header"));
            }
            let len = (8 - lead - trail) as usize;
            if rest.len() < len {
                return Err(corrupt("truncated value"));
            }
            let mut bytes = [0u8; 8];
            bytes[..len].copy_from_slice(&rest[..len]);
            rest = &rest[len..];
            u64::from_le_bytes(bytes) << (trail * 8)
        };
        let bits = prev_bits ^ x;
        prev_bits = bits;
        prev_ts = ts;
        samples.push(Sample {
            ts,
            value: f64::from_bits(bits),
            quality,
        });
    }
    Ok(samples)
}

/// Merges new samples (sorted, unique) into a chunk's existing ones. A time already stored keeps
/// its first value: a redelivered reading changes nothing. Returns the merged list and the
/// indices (into `incoming`) of the samples that were new.
pub fn merge(existing: &[Sample], incoming: &[Sample]) -> (Vec<Sample>, Vec<usize>) {
    let mut merged = Vec::with_capacity(existing.len() + incoming.len());
    let mut fresh = Vec::with_capacity(incoming.len());
    let (mut i, mut j) = (0, 0);
    while j < incoming.len() {
        let b = incoming[j];
        match existing.get(i) {
            Some(a) if a.ts < b.ts => {
                merged.push(*a);
                i += 1;
            }
            Some(a) if a.ts == b.ts => {
                merged.push(*a);
                i += 1;
                j += 1;
            }
            _ => {
                merged.push(b);
                fresh.push(j);
                j += 1;
            }
        }
    }
    merged.extend_from_slice(&existing[i..]);
    (merged, fresh)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(input: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for (i, &b) in input.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            *input = &input[i + 1..];
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ts: i64, value: f64) -> Sample {
        Sample {
            ts,
            value,
            quality: Quality::Good,
        }
    }

    #[test]
    fn round_trips_bit_for_bit() {
        let start = chunk_start(1_700_000_123_456);
        let awkward = [
            0.0,
            -0.0,
            1.0,
            21.53,
            21.54,
            21.54,
            -18.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            1e-300,
            0.1 + 0.2,
            123_456_789.123,
        ];
        let mut samples: Vec<Sample> = awkward
            .iter()
            .enumerate()
            .map(|(i, v)| s(start + i as i64 * 997, *v))
            .collect();
        samples[3].quality = Quality::Uncertain;
        samples[4].quality = Quality::Bad;
        samples.push(s(start + CHUNK_MS - 1, 7.0));
        let bytes = encode(start, &samples);
        let back = decode(start, &bytes).unwrap();
        assert_eq!(back.len(), samples.len());
        for (a, b) in back.iter().zip(&samples) {
            assert_eq!(
                (a.ts, a.value.to_bits(), a.quality),
                (b.ts, b.value.to_bits(), b.quality)
            );
        }
    }

    #[test]
    fn a_slow_signal_costs_a_few_bytes_per_reading() {
        let start = 0;
        let samples: Vec<Sample> = (0..3600)
            .map(|i| {
                s(
                    i * 1000,
                    ((20.0 + (i as f64 / 600.0).sin()) * 100.0).round() / 100.0,
                )
            })
            .collect();
        let bytes = encode(start, &samples);
        let per = bytes.len() as f64 / samples.len() as f64;
        assert!(per < 10.0, "{per} bytes per reading");
    }

    #[test]
    fn merge_keeps_first_values_and_reports_new_ones() {
        let existing = vec![s(10, 1.0), s(30, 3.0)];
        let incoming = vec![s(5, 0.5), s(10, 99.0), s(20, 2.0), s(40, 4.0)];
        let (merged, fresh) = merge(&existing, &incoming);
        let got: Vec<(i64, f64)> = merged.iter().map(|s| (s.ts, s.value)).collect();
        assert_eq!(
            got,
            vec![(5, 0.5), (10, 1.0), (20, 2.0), (30, 3.0), (40, 4.0)]
        );
        assert_eq!(fresh, vec![0, 2, 3]);
        let (merged, fresh) = merge(&[], &incoming);
        assert_eq!(merged, incoming);
        assert_eq!(fresh, vec![0, 1, 2, 3]);
    }

    #[test]
    fn corrupt_chunks_are_errors_never_panics() {
        let samples: Vec<Sample> = (0..50).map(|i| s(i * 1000, i as f64 * 1.5)).collect();
        let good = encode(0, &samples);
        // Every truncation decodes to an error or to a prefix of the truth.
        for cut in 0..good.len() {
            if let Ok(back) = decode(0, &good[..cut]) {
                assert!(back.len() <= samples.len());
                assert_eq!(back[..], samples[..back.len()]);
            }
        }
        // Flipped bytes: anything but a panic.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut bad = good.clone();
            let at = (x as usize) % bad.len();
            bad[at] ^= (x >> 32) as u8 | 1;
            let _ = decode(0, &bad);
        }
        assert!(decode(0, &[]).is_err());
        assert!(decode(0, &[9]).is_err());
        assert!(decode(
            0,
            &[1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0]
        )
        .is_err());
    }
}
