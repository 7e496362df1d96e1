//! Replay protection for encrypted advertisements (BTHome, Xiaomi): each frame carries a
//! counter that the device moves on with every new measurement.
//!
//! A counter that repeats or goes back is a recorded frame played again, and is refused. But a
//! device also restarts its counter when it reboots (a battery change, a brown-out in the
//! cold), and a receiver that only ever refuses would lose that device for good — Home
//! Assistant's BTHome integration has exactly that failure. So a run of [`RESTART_FRAMES`]
//! frames whose counters move on from each other, all "behind" the newest accepted one, is
//! taken as a restart: the counter starts over from there. Playing back a recorded *run* of
//! frames could pass that rule too; what it gains is a few old measurements stored again, and
//! every frame refused on the way is counted on the Sources page.

/// Consecutive progressing frames behind the accepted counter that mean "the device restarted".
pub const RESTART_FRAMES: u8 = 3;

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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterGuard {
    /// The newest accepted counter (restored from the store after a restart of the app).
    accepted: Option<u32>,
    /// A run of progressing frames behind `accepted`: the newest of them and how many.
    restart: Option<(u32, u8)>,
}

impl CounterGuard {
    pub fn new(accepted: Option<u32>) -> Self {
        CounterGuard {
            accepted,
            restart: None,
        }
    }

    #[cfg(test)]
    fn accepted(&self) -> Option<u32> {
        self.accepted
    }

    /// Judges one frame's counter, `bits` wide (see `Format::replay_counter_bits`).
    pub fn judge(&mut self, counter: u32, bits: u32) -> Verdict {
        if !self
            .accepted
            .is_some_and(|last| is_replay(last, counter, bits))
        {
            self.accepted = Some(counter);
            self.restart = None;
            return Verdict::Fresh;
        }
        self.restart = match self.restart {
            // Devices send each frame several times; a repeat neither helps nor breaks a run.
            Some((newest, n)) if newest == counter => Some((newest, n)),
            Some((newest, n)) if !is_replay(newest, counter, bits) => Some((counter, n + 1)),
            _ => Some((counter, 1)),
        };
        match self.restart {
            Some((_, n)) if n >= RESTART_FRAMES => {
                self.accepted = Some(counter);
                self.restart = None;
                Verdict::Restarted
            }
            _ => Verdict::Replay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut guard = CounterGuard::new(Some(254));
        let got: Vec<Verdict> = [255, 0, 1, 1, 0]
            .iter()
            .map(|&c| guard.judge(c, 8))
            .collect();
        use Verdict::*;
        assert_eq!(got, [Fresh, Fresh, Fresh, Replay, Replay]);
        assert_eq!(guard.accepted(), Some(1));
    }

    /// (counter accepted before, counters in arrival order, verdicts expected, counter accepted
    /// at the end, what).
    type Case<'a> = (Option<u32>, &'a [u32], &'a [Verdict], Option<u32>, &'a str);

    #[test]
    fn counters_are_judged_frame_by_frame() {
        use Verdict::*;
        let cases: &[Case] = &[
            (None, &[7], &[Fresh], Some(7), "the first frame ever"),
            (
                Some(10),
                &[11, 11, 12],
                &[Fresh, Replay, Fresh],
                Some(12),
                "repeats refused",
            ),
            (Some(10), &[9], &[Replay], Some(10), "one old frame"),
            (
                Some(70_000),
                &[0, 0, 1, 1, 2, 3],
                &[Replay, Replay, Replay, Replay, Restarted, Fresh],
                Some(3),
                "a reboot: three progressing frames, each sent twice, restart the counter",
            ),
            (
                Some(70_000),
                &[500, 200, 501, 300, 502],
                &[Replay; 5],
                Some(70_000),
                "old frames out of order never make a run",
            ),
            (
                Some(70_000),
                &[1, 2, 70_001],
                &[Replay, Replay, Fresh],
                Some(70_001),
                "a fresh frame ends a run",
            ),
            (
                Some(70_000),
                &[1, 2, 70_001, 3],
                &[Replay, Replay, Fresh, Replay],
                Some(70_001),
                "and it starts from scratch after",
            ),
        ];
        for (start, counters, verdicts, end, what) in cases {
            let mut guard = CounterGuard::new(*start);
            let got: Vec<Verdict> = counters.iter().map(|&c| guard.judge(c, 32)).collect();
            assert_eq!(got, *verdicts, "{what}");
            assert_eq!(guard.accepted(), *end, "{what}");
        }
    }
}
