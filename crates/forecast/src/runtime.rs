//! Runtime counters: "service every 500 operating hours or 2,000 starts", counted from the
//! data, and when that will be at the recent pace.
//!
//! A machine is *operating* while its watched value (a pump's current, a `running` 0/1) is above
//! `on_above`. The readings are taken as sample-and-hold: the state seen at one reading lasts
//! until the next. What the data cannot see is never counted:
//!
//! - a step longer than `max_gap_ms` between two readings is a gap (the collector was off, the
//!   device out of range): neither operating nor observed;
//! - a *start* is a reading that is on after one that was off. Across a gap, off → on is a start
//!   (the machine was seen stopped, then running), on → on is not (a restart hidden in the gap
//!   cannot be told from a machine that ran on). The first reading is never a start: counting
//!   begins mid-state (at a service, say);
//! - the last reading holds until `until_ms` (now) only if that is not itself a gap.

use serde::Serialize;

const HOUR_MS: f64 = 3_600_000.0;
const DAY_MS: f64 = 86_400_000.0;
/// Less data than this over the recent window gives no pace, so no date.
pub const MIN_PACE_MS: i64 = 10 * 60_000;

/// What a counter counted over some stretch of readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Usage {
    /// Time spent operating.
    pub operating_ms: i64,
    /// Off → on transitions.
    pub starts: u64,
    /// Time the data covers (gaps excluded), operating or not.
    pub observed_ms: i64,
}

impl Usage {
    pub fn hours(&self) -> f64 {
        self.operating_ms as f64 / HOUR_MS
    }
}

/// Counts operating time and starts in `points` (`(t_ms, value)`, time order; non-finite values
/// are skipped) up to `until_ms`. See the module documentation for what counts.
pub fn count_usage(points: &[(i64, f64)], on_above: f64, max_gap_ms: i64, until_ms: i64) -> Usage {
    let mut usage = Usage::default();
    let mut previous: Option<(i64, bool)> = None;
    let hold = |usage: &mut Usage, from: i64, to: i64, on: bool| {
        let step = to.saturating_sub(from);
        if step > 0 && step <= max_gap_ms {
            usage.observed_ms += step;
            if on {
                usage.operating_ms += step;
            }
        }
    };
    for &(t, v) in points.iter().filter(|(_, v)| v.is_finite()) {
        let on = v > on_above;
        if let Some((t0, was_on)) = previous {
            if t < t0 {
                // Out of order: the caller broke the contract; skip rather than count backwards.
                continue;
            }
            hold(&mut usage, t0, t, was_on);
            if on && !was_on {
                usage.starts += 1;
            }
        }
        previous = Some((t, on));
    }
    if let Some((t, on)) = previous {
        hold(&mut usage, t, until_ms, on);
    }
    usage
}

/// The longest step between readings that still counts as continuous: five times the median
/// step (a sensor that reports every 2 s is continuous at 10 s; one silent for a minute is not),
/// at least a second. Fewer than two readings: a minute.
pub fn max_gap_ms(points: &[(i64, f64)]) -> i64 {
    let mut steps: Vec<i64> = points
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .filter(|&s| s > 0)
        .collect();
    if steps.is_empty() {
        return 60_000;
    }
    let mid = steps.len() / 2;
    let (_, median, _) = steps.select_nth_unstable(mid);
    (*median * 5).max(1_000)
}

/// A plan's intervals: service after this many operating hours and/or starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub every_hours: Option<f64>,
    pub every_cycles: Option<u64>,
}

/// Where a plan stands and when it will be due.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Due {
    /// Operating hours left (negative when overdue), if the plan counts hours.
    pub hours_left: Option<f64>,
    /// Starts left (negative when overdue), if the plan counts starts.
    pub cycles_left: Option<i64>,
    /// When the first of the intervals runs out at the recent pace (`now` when overdue); None
    /// when the machine has not been running lately.
    pub due_ms: Option<i64>,
    /// The pace the date rests on, or why there is no date, as a sentence.
    pub basis: String,
}

/// Projects the plan's due date: what is left of each interval after `since` (the usage since
/// the last service), at the pace of `recent` (the usage over the last `recent_span_ms`).
pub fn project_due(interval: Interval, since: &Usage, recent: &Usage, now_ms: i64) -> Due {
    let hours_left = interval.every_hours.map(|h| h - since.hours());
    let cycles_left = interval
        .every_cycles
        .map(|c| i64::try_from(c).unwrap_or(i64::MAX) - since.starts as i64);
    let overdue = hours_left.is_some_and(|h| h <= 0.0) || cycles_left.is_some_and(|c| c <= 0);
    if overdue {
        return Due {
            hours_left,
            cycles_left,
            due_ms: Some(now_ms),
            basis: "due now".into(),
        };
    }
    if recent.observed_ms < MIN_PACE_MS {
        return Due {
            hours_left,
            cycles_left,
            due_ms: None,
            basis: "not enough recent data for a pace".into(),
        };
    }
    let span = recent.observed_ms as f64;
    // Operating time per observed time, and starts per observed ms: the pace while watched.
    let duty = recent.operating_ms as f64 / span;
    let start_rate = recent.starts as f64 / span;
    let by_hours = hours_left
        .filter(|_| duty > 0.0)
        .map(|h| h * HOUR_MS / duty);
    let by_cycles = cycles_left
        .filter(|_| start_rate > 0.0)
        .map(|c| c as f64 / start_rate);
    let ahead = match (by_hours, by_cycles) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let pace = format!(
        "at the recent pace: {:.1} h operating a day, {:.0} starts a day, over {}",
        duty * 24.0,
        start_rate * DAY_MS,
        span_text(recent.observed_ms)
    );
    match ahead {
        Some(ms) if ms.is_finite() && ms < 1e15 => Due {
            hours_left,
            cycles_left,
            due_ms: Some(now_ms.saturating_add(ms as i64)),
            basis: pace,
        },
        _ => Due {
            hours_left,
            cycles_left,
            due_ms: None,
            basis: format!("not running lately ({pace})"),
        },
    }
}

fn span_text(ms: i64) -> String {
    let ms = ms as f64;
    if ms >= 2.0 * DAY_MS {
        format!("{:.0} days of data", ms / DAY_MS)
    } else if ms >= 2.0 * HOUR_MS {
        format!("{:.0} hours of data", ms / HOUR_MS)
    } else {
        format!("{:.0} minutes of data", ms / 60_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    /// (what, points, until, expected (operating minutes, starts, observed minutes)).
    type Case = (&'static str, Vec<(i64, f64)>, i64, (i64, u64, i64));

    /// Readings every minute from t = 0 with the given values.
    fn every_min(values: &[f64]) -> Vec<(i64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| (i as i64 * MIN, v))
            .collect()
    }

    #[test]
    fn counting() {
        let nan = f64::NAN;
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("nothing", vec![], 10 * MIN, (0, 0, 0)),
            ("off all along", every_min(&[0.0, 0.0, 0.0]), 3 * MIN, (0, 0, 3)),
            ("running from the first reading is no start", every_min(&[5.0, 5.0, 5.0]), 3 * MIN, (3, 0, 3)),
            ("one start, held until now", every_min(&[0.0, 5.0, 5.0]), 3 * MIN, (2, 1, 3)),
            ("two cycles", every_min(&[0.0, 5.0, 0.0, 5.0, 0.0]), 5 * MIN, (2, 2, 5)),
            ("the threshold itself is off", every_min(&[0.0, 2.0, 0.0]), 3 * MIN, (0, 0, 3)),
            ("a gap while running is not running",
             vec![(0, 5.0), (MIN, 5.0), (60 * MIN, 5.0), (61 * MIN, 5.0)], 62 * MIN, (3, 0, 3)),
            ("off, gap, on: a start hidden in the gap",
             vec![(0, 0.0), (MIN, 0.0), (60 * MIN, 5.0), (61 * MIN, 5.0)], 62 * MIN, (2, 1, 3)),
            ("on, gap, on: no start can be seen",
             vec![(0, 5.0), (MIN, 5.0), (60 * MIN, 5.0)], 61 * MIN, (2, 0, 2)),
            ("silent since the last reading: not held",
             every_min(&[5.0, 5.0]), 60 * MIN, (1, 0, 1)),
            ("non-finite readings are skipped", every_min(&[0.0, nan, 5.0]), 3 * MIN, (1, 1, 3)),
            ("a reading out of order is skipped",
             vec![(0, 0.0), (2 * MIN, 5.0), (MIN, 0.0), (3 * MIN, 5.0)], 3 * MIN, (1, 1, 3)),
        ];
        for (what, points, until, (on, starts, seen)) in cases {
            let u = count_usage(&points, 2.0, 5 * MIN, until);
            assert_eq!(
                (u.operating_ms, u.starts, u.observed_ms),
                (on * MIN, starts, seen * MIN),
                "{what}"
            );
        }
    }

    #[test]
    fn gap_follows_the_cadence() {
        assert_eq!(max_gap_ms(&every_min(&[1.0; 10])), 5 * MIN);
        assert_eq!(max_gap_ms(&[(0, 1.0), (100, 1.0), (200, 1.0)]), 1_000);
        assert_eq!(max_gap_ms(&[]), MIN);
    }

    #[test]
    fn projection() {
        let hour = 3_600_000;
        let used = |hours: i64, starts: u64| Usage {
            operating_ms: hours * hour,
            starts,
            observed_ms: 0,
        };
        // Recent pace: 12 h operating and 4 starts per 24 h observed.
        let pace = Usage {
            operating_ms: 12 * hour,
            starts: 4,
            observed_ms: 24 * hour,
        };
        let hours = Interval {
            every_hours: Some(100.0),
            every_cycles: None,
        };
        let both = Interval {
            every_hours: Some(100.0),
            every_cycles: Some(50),
        };
        let d = project_due(hours, &used(90, 0), &pace, 0);
        assert_eq!(d.hours_left, Some(10.0));
        assert_eq!(d.due_ms, Some(20 * hour), "10 h left at half duty");
        assert!(d.basis.contains("12.0 h operating a day"), "{}", d.basis);
        let d = project_due(both, &used(90, 48), &pace, 0);
        assert_eq!(d.cycles_left, Some(2));
        assert_eq!(
            d.due_ms,
            Some(12 * hour),
            "two starts at 4 a day come first"
        );
        let d = project_due(both, &used(101, 0), &pace, 7);
        assert_eq!(d.due_ms, Some(7), "overdue is due now");
        let idle = Usage {
            observed_ms: 24 * hour,
            ..Usage::default()
        };
        assert_eq!(project_due(both, &used(1, 1), &idle, 0).due_ms, None);
        let thin = Usage {
            observed_ms: 60_000,
            operating_ms: 60_000,
            starts: 1,
        };
        let d = project_due(hours, &used(1, 1), &thin, 0);
        assert_eq!(d.due_ms, None);
        assert!(d.basis.contains("not enough"));
    }
}
