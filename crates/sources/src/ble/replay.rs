//! Replay protection for encrypted advertisements (BTHome, Xiaomi): each frame carries a
//! counter that the device moves on with every new measurement.
//!
//! A counter that repeats or goes back is a recorded frame played again, and is refused. But a
//! device also restarts its counter when it reboots (a battery change, a brown-out in the
//! cold), and a receiver that only ever refuses would lose that device for good — Home
//! Assistant's BTHome integration has exactly that failure. Anyone who recorded a few
//! consecutive frames can play back a run that "counts again" too, so a restart is believed
//! only on what a replay cannot fake:
//!
//! - **the device's count went silent**: nothing at or past the accepted counter was heard for
//!   [`RESTART_SILENCE_INTERVALS`] of the device's own intervals (at least
//!   [`MIN_RESTART_SILENCE_MS`]). A recording can be played at any time, but it cannot stop the
//!   real device from sending its newer frames; while they keep coming, any lower run is a
//!   replay. The interval is learned from frames that moved the counter on, which only the
//!   device can send (replays and repeats are heard too, and could make the interval of
//!   receptions look short).
//! - **the new count starts low**: a four-byte counter (BTHome v2; MiBeacon's packet id under
//!   its three-byte extended counter) starts again from 0, so a restart is taken only below
//!   [`RESTART_BELOW`] (18 hours of frames a second). A recorded run from the middle of the
//!   device's life never passes, even while the device is silent (a flat battery). The
//!   one-byte counters of pvvx and atc1441 firmware wrap every 256 frames: every value comes
//!   round again, so "low" says nothing there and only the silence counts.
//! - **a run of [`RESTART_FRAMES`] frames whose counters move on from each other**, all
//!   "behind" the accepted counter.
//!
//! Each restart is counted with its time, for the device's row. After one, the frames of the
//! count before it are recordings: those far ahead of the new counter (more than
//! [`RESTART_BELOW`]) but not past the old one are refused. The first [`RESTART_BELOW`] frames
//! of the old count look exactly like the new count's (same key, same counters), which no
//! receiver can tell apart; a device that keeps its counter across reboots has no such gap.
//! Each accepted restart is counted with the device in the store (shown on its row, kept across
//! restarts of the app); the bound on the old count lives in memory only.
//! What a replay can still do is wait for the device to fall silent (or jam it) and play back
//! the start of a count: every restart shows on the device's row, and every frame refused on
//! the way is counted on the Sources page.

use super::interval::LearnedInterval;

/// Consecutive progressing frames behind the accepted counter that mean "the device restarted".
pub const RESTART_FRAMES: u8 = 3;
/// How long the device's count must have been silent before a restart is believed, in its own
/// intervals (as long as it takes to be declared stale)...
pub const RESTART_SILENCE_INTERVALS: i64 = 3;
/// ...and never less than this: a fast device's frames are missed for a few seconds now and
/// then (a busy radio), and until the counter's pace is learned the interval heard can be made
/// short by a flood of replays; a replay must not fit in such a gap.
pub const MIN_RESTART_SILENCE_MS: i64 = 30_000;
/// A four-byte counter that restarted is below this: 2^16 frames is 18 hours of a frame a
/// second, a week of one every ten seconds.
pub const RESTART_BELOW: u32 = 1 << 16;

/// Whether an encrypted payload's counter repeats or goes back: a recorded advertisement played
/// again must not be stored as a new measurement. Counters wrap (one-byte ones every 256
/// frames), so "back" means back by less than half their range.
pub fn is_replay(last: u32, counter: u32, bits: u32) -> bool {
    if bits == 8 {
        (last as u8).wrapping_sub(counter as u8) < 0x80
    } else {
        last.wrapping_sub(counter) < 0x8000_0000
    }
}

/// What to do with one frame's counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Newer than anything accepted: store it.
    Fresh,
    /// A repeat or an older frame: refuse it.
    Replay,
    /// The device restarted its counter (see the module docs): store it, the counter starts over.
    Restarted,
}

/// One device's counter state.
#[derive(Debug, Clone, Default)]
pub struct CounterGuard {
    /// The newest accepted counter (restored from the store after a restart of the app).
    accepted: Option<u32>,
    /// When the accepted count was last heard (a fresh frame or the newest one again). Starts
    /// at the guard's creation: silence before the app listened was not heard, so not proven.
    live_ms: i64,
    /// How often the counter moves on: gaps between fresh frames, which replays cannot add.
    cadence: LearnedInterval,
    /// A run of progressing frames behind `accepted`: the newest of them and how many.
    run: Option<(u32, u8)>,
    /// After a restart, the highest counter of the counts before it (four-byte counters only).
    retired: Option<u32>,
    restarts: u32,
    last_restart_ms: Option<i64>,
}

impl CounterGuard {
    /// A guard for a device whose newest accepted counter is `accepted`, created when its
    /// first encrypted frame of this run of the app is heard, at `now_ms`.
    pub fn new(accepted: Option<u32>, now_ms: i64) -> Self {
        CounterGuard {
            accepted,
            live_ms: now_ms,
            ..CounterGuard::default()
        }
    }

    /// The restarts already on record (from the store), to count on from.
    pub fn with_restarts(self, restarts: u32, last_restart_ms: Option<i64>) -> Self {
        CounterGuard {
            restarts,
            last_restart_ms,
            ..self
        }
    }

    #[cfg(test)]
    fn accepted(&self) -> Option<u32> {
        self.accepted
    }

    /// How many restarts were accepted, and when the last one was.
    pub fn restarts(&self) -> (u32, Option<i64>) {
        (self.restarts, self.last_restart_ms)
    }

    /// Judges one frame's counter, `bits` wide (see `Format::replay_counter_bits`), heard at
    /// `now_ms`. `interval_ms` is how often the device is heard, used until the counter's own
    /// pace is learned.
    pub fn judge(&mut self, counter: u32, bits: u32, now_ms: i64, interval_ms: i64) -> Verdict {
        let Some(last) = self.accepted else {
            return self.fresh(counter, now_ms);
        };
        if same(last, counter, bits) {
            // Devices send each frame several times: the count is alive, so no run behind it
            // can be a reboot.
            self.live_ms = now_ms;
            self.run = None;
            return Verdict::Replay;
        }
        if !is_replay(last, counter, bits) {
            if self.is_retired(last, counter, bits) {
                return Verdict::Replay;
            }
            return self.fresh(counter, now_ms);
        }
        let (newest, n) = match self.run {
            // A repeat neither helps nor breaks a run.
            Some((newest, n)) if same(newest, counter, bits) => (newest, n),
            Some((newest, n)) if !is_replay(newest, counter, bits) => (counter, n + 1),
            _ => (counter, 1),
        };
        self.run = Some((newest, n));
        let silent_ms = now_ms - self.live_ms;
        if n >= RESTART_FRAMES
            && silent_ms > self.restart_silence_ms(interval_ms)
            && starts_low(counter, bits)
        {
            if bits != 8 {
                self.retired = Some(self.retired.map_or(last, |r| r.max(last)));
            }
            self.accepted = Some(counter);
            self.live_ms = now_ms;
            self.run = None;
            self.restarts += 1;
            self.last_restart_ms = Some(now_ms);
            return Verdict::Restarted;
        }
        Verdict::Replay
    }

    fn fresh(&mut self, counter: u32, now_ms: i64) -> Verdict {
        self.accepted = Some(counter);
        self.live_ms = now_ms;
        self.cadence.heard(now_ms);
        self.run = None;
        if self.retired.is_some_and(|r| counter > r) {
            // The new count has passed the old ones: nothing recorded is ahead of it any more.
            self.retired = None;
        }
        Verdict::Fresh
    }

    /// A frame ahead of the accepted counter that belongs to a count before a restart: further
    /// ahead than a new count could be, and not past the old one.
    fn is_retired(&self, last: u32, counter: u32, bits: u32) -> bool {
        bits != 8
            && self
                .retired
                .is_some_and(|r| counter <= r && counter.wrapping_sub(last) > RESTART_BELOW)
    }

    /// The silence that proves the device's count stopped (see the module docs).
    fn restart_silence_ms(&self, interval_ms: i64) -> i64 {
        let interval = self.cadence.interval_ms().unwrap_or(interval_ms);
        interval
            .saturating_mul(RESTART_SILENCE_INTERVALS)
            .max(MIN_RESTART_SILENCE_MS)
    }
}

fn same(a: u32, b: u32, bits: u32) -> bool {
    if bits == 8 {
        a as u8 == b as u8
    } else {
        a == b
    }
}

/// Whether a counter is where a restarted count can be (see the module docs).
fn starts_low(counter: u32, bits: u32) -> bool {
    bits == 8 || counter < RESTART_BELOW
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::*;

    #[test]
    fn replays_are_told_from_progress_and_wraps() {
        let cases = [
            (5, 5, 8, true, "the same counter"),
            (5, 4, 8, true, "going back"),
            (5, 6, 8, false, "going on"),
            (255, 0, 8, false, "a one-byte counter wraps"),
            (3, 250, 8, true, "back across the wrap"),
            (70_000, 69_999, 32, true, "a four-byte counter goes back"),
            (70_000, 70_001, 32, false, "a four-byte counter goes on"),
            (
                5,
                200,
                32,
                false,
                "a four-byte counter jumps ahead early in its life",
            ),
            (200, 5, 32, true, "and never wraps at a byte"),
            (u32::MAX, 0, 32, false, "a four-byte counter wraps"),
        ];
        for (last, counter, bits, replay, what) in cases {
            assert_eq!(is_replay(last, counter, bits), replay, "{what}");
        }
    }

    #[test]
    fn one_byte_counters_wrap_on() {
        let mut guard = CounterGuard::new(Some(254), 0);
        let got: Vec<Verdict> = [255, 0, 1, 1, 0]
            .iter()
            .map(|&c| guard.judge(c, 8, 0, 10_000))
            .collect();
        assert_eq!(got, [Fresh, Fresh, Fresh, Replay, Replay]);
        assert_eq!(guard.accepted(), Some(1));
    }

    /// One device's frames, judged by a guard created at 0 ms.
    struct Case<'a> {
        what: &'a str,
        /// The counter accepted before (from the store).
        start: Option<u32>,
        bits: u32,
        /// How often the source hears the device (the counter's own pace is learned).
        interval_ms: i64,
        /// (ms, counter) in arrival order.
        frames: &'a [(i64, u32)],
        verdicts: &'a [Verdict],
        /// The counter accepted at the end.
        end: Option<u32>,
        /// Restarts accepted, and when the last was.
        restarts: (u32, Option<i64>),
    }

    const CASE: Case = Case {
        what: "",
        start: Some(70_000),
        bits: 32,
        interval_ms: 10_000,
        frames: &[],
        verdicts: &[],
        end: None,
        restarts: (0, None),
    };

    #[test]
    fn counters_are_judged_frame_by_frame() {
        let cases = [
            Case {
                what: "the first frame ever",
                start: None,
                frames: &[(0, 7)],
                verdicts: &[Fresh],
                end: Some(7),
                ..CASE
            },
            Case {
                what: "repeats refused",
                start: Some(10),
                frames: &[(0, 11), (100, 11), (10_000, 12)],
                verdicts: &[Fresh, Replay, Fresh],
                end: Some(12),
                ..CASE
            },
            Case {
                what: "one old frame",
                start: Some(10),
                frames: &[(0, 9)],
                verdicts: &[Replay],
                end: Some(10),
                ..CASE
            },
            Case {
                what: "the attack: a recorded run played back while the device keeps sending",
                frames: &[
                    (0, 70_001),
                    (10_000, 70_002),
                    (20_000, 70_003),
                    (30_000, 70_004),
                    (31_000, 500),
                    (32_000, 501),
                    (33_000, 502),
                    (40_000, 70_005),
                    (55_000, 500),
                    (56_000, 501),
                    (57_000, 502),
                    (58_000, 503),
                ],
                verdicts: &[
                    Fresh, Fresh, Fresh, Fresh, Replay, Replay, Replay, Fresh, Replay, Replay,
                    Replay, Replay,
                ],
                end: Some(70_005),
                ..CASE
            },
            Case {
                what: "the device's newest frame sent again keeps its count alive",
                frames: &[
                    (0, 70_001),
                    (10_000, 70_001),
                    (20_000, 70_001),
                    (30_000, 70_001),
                    (40_000, 70_001),
                    (50_000, 1),
                    (51_000, 2),
                    (52_000, 3),
                ],
                verdicts: &[
                    Fresh, Replay, Replay, Replay, Replay, Replay, Replay, Replay,
                ],
                end: Some(70_001),
                ..CASE
            },
            Case {
                what: "low frames recorded after an earlier reboot, played while the device sends",
                start: Some(12),
                frames: &[(0, 13), (10_000, 14), (12_000, 1), (13_000, 2), (14_000, 3)],
                verdicts: &[Fresh, Fresh, Replay, Replay, Replay],
                end: Some(14),
                ..CASE
            },
            Case {
                what: "a reboot: silent for three intervals, then a run from 1, each sent twice",
                frames: &[
                    (0, 70_001),
                    (40_000, 1),
                    (40_100, 1),
                    (50_000, 2),
                    (50_100, 2),
                    (60_000, 3),
                    (60_100, 3),
                    (70_000, 4),
                ],
                verdicts: &[
                    Fresh, Replay, Replay, Replay, Replay, Restarted, Replay, Fresh,
                ],
                end: Some(4),
                restarts: (1, Some(60_000)),
                ..CASE
            },
            Case {
                what: "a quick reboot is taken once the old count has been silent long enough",
                frames: &[
                    (0, 70_001),
                    (5_000, 1),
                    (10_000, 2),
                    (15_000, 3),
                    (20_000, 4),
                    (25_000, 5),
                    (31_000, 6),
                ],
                verdicts: &[Fresh, Replay, Replay, Replay, Replay, Replay, Restarted],
                end: Some(6),
                restarts: (1, Some(31_000)),
                ..CASE
            },
            Case {
                what: "the first frames after the app starts prove no silence",
                frames: &[(0, 1), (1_000, 2), (2_000, 3), (31_000, 4)],
                verdicts: &[Replay, Replay, Replay, Restarted],
                end: Some(4),
                restarts: (1, Some(31_000)),
                ..CASE
            },
            Case {
                what: "the silence is three of the device's intervals when longer than 30 s",
                interval_ms: 20_000,
                frames: &[
                    (0, 70_001),
                    (40_000, 1),
                    (41_000, 2),
                    (42_000, 3),
                    (61_000, 4),
                ],
                verdicts: &[Fresh, Replay, Replay, Replay, Restarted],
                end: Some(4),
                restarts: (1, Some(61_000)),
                ..CASE
            },
            Case {
                what:
                    "the interval is the counter's own pace, which floods of replays cannot shorten",
                interval_ms: 1_000,
                frames: &[
                    (0, 70_001),
                    (60_000, 70_002),
                    (120_000, 70_003),
                    (180_000, 70_004),
                    (240_000, 70_005),
                    (290_000, 1),
                    (291_000, 2),
                    (292_000, 3),
                    (300_000, 70_006),
                ],
                verdicts: &[
                    Fresh, Fresh, Fresh, Fresh, Fresh, Replay, Replay, Replay, Fresh,
                ],
                end: Some(70_006),
                ..CASE
            },
            Case {
                what:
                    "a run from the middle of the count is refused even while the device is silent",
                start: Some(200_000),
                frames: &[
                    (0, 200_001),
                    (100_000, 150_000),
                    (101_000, 150_001),
                    (102_000, 150_002),
                ],
                verdicts: &[Fresh, Replay, Replay, Replay],
                end: Some(200_001),
                ..CASE
            },
            Case {
                what: "after a restart, frames of the count before it are refused",
                frames: &[
                    (0, 70_001),
                    (40_000, 1),
                    (50_000, 2),
                    (60_000, 3),
                    (65_000, 70_001),
                    (66_000, 69_000),
                    (70_000, 4),
                    (80_000, 5_000),
                    (90_000, 70_002),
                ],
                verdicts: &[
                    Fresh, Replay, Replay, Restarted, Replay, Replay, Fresh, Fresh, Fresh,
                ],
                end: Some(70_002),
                restarts: (1, Some(60_000)),
                ..CASE
            },
            Case {
                what: "old frames out of order never make a run",
                frames: &[
                    (100_000, 500),
                    (101_000, 200),
                    (102_000, 501),
                    (103_000, 300),
                    (104_000, 502),
                ],
                verdicts: &[Replay; 5],
                end: Some(70_000),
                ..CASE
            },
            Case {
                what: "a fresh frame ends a run, and it starts from scratch after",
                frames: &[(100_000, 1), (101_000, 2), (102_000, 70_001), (103_000, 3)],
                verdicts: &[Replay, Replay, Fresh, Replay],
                end: Some(70_001),
                ..CASE
            },
            Case {
                what: "one-byte counters wrap, so only the silence tells a reboot",
                start: Some(200),
                bits: 8,
                frames: &[
                    (0, 201),
                    (5_000, 150),
                    (6_000, 151),
                    (7_000, 152),
                    (10_000, 202),
                    (60_000, 150),
                    (61_000, 151),
                    (62_000, 152),
                ],
                verdicts: &[
                    Fresh, Replay, Replay, Replay, Fresh, Replay, Replay, Restarted,
                ],
                end: Some(152),
                restarts: (1, Some(62_000)),
                ..CASE
            },
        ];
        for case in cases {
            let what = case.what;
            let mut guard = CounterGuard::new(case.start, 0);
            let got: Vec<Verdict> = case
                .frames
                .iter()
                .map(|&(ms, c)| guard.judge(c, case.bits, ms, case.interval_ms))
                .collect();
            assert_eq!(got, case.verdicts, "{what}");
            assert_eq!(guard.accepted(), case.end, "{what}");
            assert_eq!(guard.restarts(), case.restarts, "{what}");
        }
    }
}
