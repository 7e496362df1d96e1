//! What each rule kind measures, and the small state it keeps per series to measure it.

use crate::limit::{EventKind, LimitState};
use crate::rule::{Kind, Rule};
use serde::{Deserialize, Serialize};

/// What one observation did: the event it caused, and the rule's measure at that moment
/// (value, rate per minute, z, or silence in ms), `None` when the rule could not judge.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Step {
    pub event: Option<EventKind>,
    pub measure: Option<f64>,
}

/// The per-series state of one rule. Constant size for every kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Detector {
    Limit(LimitState),
    Rate {
        state: LimitState,
        /// Boxed: 16 readings would make every other kind's state as large.
        window: Box<RateWindow>,
    },
    Stale {
        state: LimitState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen: Option<i64>,
        offline: bool,
    },
    Anomaly {
        state: LimitState,
        baseline: Baseline,
    },
}

impl Detector {
    pub fn new(kind: Kind) -> Self {
        match kind {
            Kind::High | Kind::Low | Kind::BatteryLow | Kind::Forecast | Kind::ServiceDue => {
                Detector::Limit(LimitState::default())
            }
            Kind::Rate => Detector::Rate {
                state: LimitState::default(),
                window: Box::default(),
            },
            Kind::Stale => Detector::Stale {
                state: LimitState::default(),
                last_seen: None,
                offline: false,
            },
            Kind::Anomaly => Detector::Anomaly {
                state: LimitState::default(),
                baseline: Baseline::default(),
            },
        }
    }

    /// Feeds one reading (finite value, time order).
    pub fn observe(&mut self, rule: &Rule, ts: i64, value: f64) -> Step {
        let judge = |state: &mut LimitState, measure: f64, abs: f64| Step {
            event: state.step(
                rule.on(abs),
                rule.off(abs),
                ts,
                rule.on_delay_s,
                rule.off_delay_s,
            ),
            measure: Some(measure),
        };
        match self {
            Detector::Limit(state) => judge(state, value, value),
            Detector::Rate { state, window } => match window.observe(rule.window_s, ts, value) {
                Some(rate) => judge(state, rate, rate.abs()),
                None => Step::default(),
            },
            Detector::Anomaly { state, baseline } => match baseline.observe(rule, value) {
                Some(z) => judge(state, z, z.abs()),
                None => Step::default(),
            },
            Detector::Stale {
                state,
                last_seen,
                offline,
            } => {
                *last_seen = Some(last_seen.map_or(ts, |s| s.max(ts)));
                *offline = false;
                judge(state, 0.0, 0.0)
            }
        }
    }

    /// The clock moved on: only stale rules judge ticks.
    pub fn tick(&mut self, rule: &Rule, now: i64) -> Step {
        let Detector::Stale {
            state,
            last_seen: Some(seen),
            offline,
        } = self
        else {
            return Step::default();
        };
        // A reading stamped ahead of the clock (a gateway's clock running fast) counts as heard
        // now, at the first tick after it: taken at its word it would keep the device "fresh"
        // until that future time and silence this rule meanwhile.
        if *seen > now {
            *seen = now;
        }
        let silence = if *offline {
            f64::INFINITY
        } else {
            now.saturating_sub(*seen) as f64
        };
        Step {
            event: state.step(
                rule.on(silence),
                rule.off(silence),
                now,
                0.0,
                rule.off_delay_s,
            ),
            measure: Some(silence),
        }
    }

    /// The source declared the device offline (MQTT last will, Sparkplug death, BLE adapter
    /// gone): a stale rule raises at once; the next reading ends it.
    pub fn offline(&mut self, rule: &Rule, now: i64) -> Step {
        match self {
            Detector::Stale {
                offline, last_seen, ..
            } => {
                *offline = true;
                last_seen.get_or_insert(now);
                self.tick(rule, now)
            }
            _ => Step::default(),
        }
    }

    /// Whether this state was made for rules of `kind` (a restored state whose rule changed
    /// kind starts afresh).
    pub fn fits(&self, kind: Kind) -> bool {
        matches!(
            (self, kind),
            (
                Detector::Limit(_),
                Kind::High | Kind::Low | Kind::BatteryLow | Kind::Forecast | Kind::ServiceDue
            ) | (Detector::Rate { .. }, Kind::Rate)
                | (Detector::Stale { .. }, Kind::Stale)
                | (Detector::Anomaly { .. }, Kind::Anomaly)
        )
    }

    /// Stale rules: (last reading, declared offline).
    pub fn silence(&self) -> Option<(Option<i64>, bool)> {
        match self {
            Detector::Stale {
                last_seen, offline, ..
            } => Some((*last_seen, *offline)),
            _ => None,
        }
    }
}

/// How many readings a rate rule keeps per series.
pub const RATE_KEPT: usize = 16;

/// The readings a rate rule keeps: at least `window_s / 16` apart, none older than the window,
/// at most [`RATE_KEPT`]. A ring buffer in a fixed array: no allocation, constant size.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct RateWindow {
    kept: [(i64, f64); RATE_KEPT],
    start: u8,
    len: u8,
}

impl RateWindow {
    fn at(&self, i: usize) -> (i64, f64) {
        self.kept[(self.start as usize + i) % RATE_KEPT]
    }

    /// Feeds one reading; returns the rate of change in units per minute when it is defined:
    /// against the oldest kept reading `(t0, v0)` with `ts - window <= t0 < ts`, provided
    /// `ts - t0 >= window / 2`.
    pub fn observe(&mut self, window_s: f64, ts: i64, value: f64) -> Option<f64> {
        let window_ms = window_s * 1000.0;
        while self.len > 0 && ((ts - self.at(0).0) as f64) > window_ms {
            self.start = ((self.start as usize + 1) % RATE_KEPT) as u8;
            self.len -= 1;
        }
        let rate = (0..self.len as usize)
            .map(|i| self.at(i))
            .find(|(t0, _)| *t0 < ts)
            .filter(|(t0, _)| (ts - t0) as f64 >= window_ms / 2.0)
            .map(|(t0, v0)| (value - v0) * 60_000.0 / (ts - t0) as f64);
        let keep = self.len == 0
            || (ts - self.at(self.len as usize - 1).0) as f64 >= window_ms / RATE_KEPT as f64;
        if keep {
            if self.len as usize == RATE_KEPT {
                self.start = ((self.start as usize + 1) % RATE_KEPT) as u8;
                self.len -= 1;
            }
            let slot = (self.start as usize + self.len as usize) % RATE_KEPT;
            self.kept[slot] = (ts, value);
            self.len += 1;
        }
        rate
    }
}

/// Mean absolute deviation to standard deviation, for normally distributed noise: sqrt(pi/2).
const MAD_TO_SIGMA: f64 = 1.253_314_137_315_500_3;

/// The anomaly detector's memory of a series: an EWMA of the value, an EWMA of the absolute
/// deviation from it, and the smallest step seen between consecutive readings (the sensor's
/// resolution, a floor for the spread). Four numbers and a count.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Baseline {
    n: u32,
    mean: f64,
    dev: f64,
    quantum: f64,
    last: f64,
}

impl Baseline {
    /// Judges a reading against the past, then learns from it. Returns z = (value - mean) /
    /// scale, with scale = max(sqrt(pi/2) * dev, quantum), once `warmup` readings were seen and
    /// the scale is not zero.
    pub fn observe(&mut self, rule: &Rule, x: f64) -> Option<f64> {
        if self.n == 0 {
            *self = Baseline {
                n: 1,
                mean: x,
                dev: 0.0,
                quantum: 0.0,
                last: x,
            };
            return None;
        }
        let step = (x - self.last).abs();
        if step > 0.0 && (self.quantum == 0.0 || step < self.quantum) {
            self.quantum = step;
        }
        self.last = x;
        let r = x - self.mean;
        let scale = (MAD_TO_SIGMA * self.dev).max(self.quantum);
        let judged = self.n >= rule.warmup && scale > 0.0;
        let z = judged.then(|| r / scale);
        // Warm-up: plain running mean (weights 1/n) until alpha takes over; afterwards a
        // residual beyond the limit is clipped before it is learnt, so a spike barely moves the
        // baseline while a lasting shift is absorbed over a few dozen readings.
        let (w, c) = if self.n < rule.warmup {
            (rule.alpha.max(1.0 / (self.n as f64 + 1.0)), r)
        } else if scale > 0.0 {
            let bound = rule.limit * scale;
            (rule.alpha, r.clamp(-bound, bound))
        } else {
            (rule.alpha, r)
        };
        self.mean += w * c;
        self.dev += w * (c.abs() - self.dev);
        self.n = self.n.saturating_add(1);
        z
    }
}
