//! How often a device is heard, learned from what was heard rather than configured: a
//! thermometer advertising every 10 s and a door sensor that speaks once a minute must not share
//! one timeout.

use std::collections::VecDeque;

/// Gaps remembered: the "largest gap over the last 16 advertisements".
const WINDOW: usize = 16;
/// Fewer gaps than this say too little about a device to judge it by them.
const MIN_GAPS: usize = 4;
/// Receptions closer than this are one advertisement reported twice (BlueZ signals RSSI and
/// service data of one packet separately), not a rhythm.
const SAME_PACKET_MS: i64 = 50;

/// The largest gap between the last [`WINDOW`] receptions of one device.
///
/// The largest gap, not the mean: advertisers skip packets (collisions, a busy radio) and a
/// device must not look stale because one advertisement of the usual rhythm was lost.
#[derive(Debug, Clone, Default)]
pub struct LearnedInterval {
    last_ms: Option<i64>,
    gaps: VecDeque<i64>,
}

impl LearnedInterval {
    /// Notes a reception at `now_ms`. Time going backwards (a clock step) restarts the learning
    /// rather than producing a negative gap.
    pub fn heard(&mut self, now_ms: i64) {
        match self.last_ms {
            Some(last) if now_ms < last => self.gaps.clear(),
            Some(last) if now_ms - last < SAME_PACKET_MS => return,
            Some(last) => {
                if self.gaps.len() == WINDOW {
                    self.gaps.pop_front();
                }
                self.gaps.push_back(now_ms - last);
            }
            None => {}
        }
        self.last_ms = Some(now_ms);
    }

    pub fn last_heard_ms(&self) -> Option<i64> {
        self.last_ms
    }

    /// The learned interval, once enough receptions were seen.
    pub fn interval_ms(&self) -> Option<i64> {
        if self.gaps.len() < MIN_GAPS {
            return None;
        }
        self.gaps.iter().copied().max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learned(times: &[i64]) -> Option<i64> {
        let mut l = LearnedInterval::default();
        for &t in times {
            l.heard(t);
        }
        l.interval_ms()
    }

    #[test]
    fn the_interval_is_the_largest_recent_gap() {
        let cases: &[(&str, Vec<i64>, Option<i64>)] = &[
            ("too few to say", vec![0, 1_000, 2_000, 3_000], None),
            ("steady", (0..10).map(|i| i * 1_000).collect(), Some(1_000)),
            (
                "a lost packet counts",
                vec![0, 1_000, 2_000, 4_000, 5_000, 6_000],
                Some(2_000),
            ),
            (
                "duplicates of one packet are ignored",
                vec![0, 10, 1_000, 1_020, 2_000, 3_000, 4_000],
                Some(1_000),
            ),
            (
                "only the last 16 gaps matter",
                std::iter::once(0)
                    .chain((0..17).map(|i| 60_000 + i * 1_000))
                    .collect(),
                Some(1_000),
            ),
            (
                "a clock step back restarts",
                vec![0, 5_000, 10_000, 15_000, 20_000, 1_000, 2_000],
                None,
            ),
        ];
        for (what, times, want) in cases {
            assert_eq!(learned(times), *want, "{what}");
        }
    }
}
