//! What each rule kind measures, and the small state it keeps per series to measure it.

use crate::limit::{EventKind, LimitState};
use crate::rule::{AlertKind, Rule};
use serde::{Deserialize, Serialize};

/// What one observation did: the event it caused, and the rule's measure at that moment
/// (value, rate per minute, z, or silence in ms), `None` when the rule could not judge.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Step {
    pub event: Option<EventKind>,
    pub measure: Option<f64>,
    /// Why it raised, in words, when the measure alone does not say (anomaly rules).
    pub note: Option<String>,
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
        /// Added later: a state saved before starts with an empty history.
        #[serde(default)]
        context: Box<Context>,
    },
}

impl Detector {
    pub fn new(kind: AlertKind) -> Self {
        match kind {
            AlertKind::High
            | AlertKind::Low
            | AlertKind::BatteryLow
            | AlertKind::Forecast
            | AlertKind::ServiceDue => Detector::Limit(LimitState::default()),
            AlertKind::Rate => Detector::Rate {
                state: LimitState::default(),
                window: Box::default(),
            },
            AlertKind::Stale => Detector::Stale {
                state: LimitState::default(),
                last_seen: None,
                offline: false,
            },
            AlertKind::Anomaly => Detector::Anomaly {
                state: LimitState::default(),
                baseline: Baseline::default(),
                context: Box::default(),
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
            note: None,
        };
        match self {
            Detector::Limit(state) => judge(state, value, value),
            Detector::Rate { state, window } => match window.observe(rule.window_s, ts, value) {
                Some(rate) => judge(state, rate, rate.abs()),
                None => Step::default(),
            },
            Detector::Anomaly {
                state,
                baseline,
                context,
            } => match baseline.observe(rule, value, context) {
                Some(j) => {
                    let abs = j.z.abs();
                    let event = state.step(
                        j.surprising,
                        rule.off(abs),
                        ts,
                        rule.on_delay_s,
                        rule.off_delay_s,
                    );
                    let note = (event == Some(EventKind::Raised)).then(|| {
                        baseline.raised(rule);
                        j.why(context.len())
                    });
                    Step {
                        event,
                        measure: Some(j.z),
                        note,
                    }
                }
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
            note: None,
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
    pub fn fits(&self, kind: AlertKind) -> bool {
        matches!(
            (self, kind),
            (
                Detector::Limit(_),
                AlertKind::High
                    | AlertKind::Low
                    | AlertKind::BatteryLow
                    | AlertKind::Forecast
                    | AlertKind::ServiceDue
            ) | (Detector::Rate { .. }, AlertKind::Rate)
                | (Detector::Stale { .. }, AlertKind::Stale)
                | (Detector::Anomaly { .. }, AlertKind::Anomaly)
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

/// A robust streaming location and spread: an EWMA of a quantity and an EWMA of its absolute
/// deviation, whose residuals beyond `limit` spreads are clipped before they are learnt (so a
/// spike barely moves it while a lasting shift is absorbed over a few dozen readings).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Spread {
    n: u32,
    mean: f64,
    dev: f64,
}

impl Spread {
    /// Judges `x` against the past, then learns it: z = (x - mean) / max(sqrt(pi/2) dev,
    /// floor), once `warmup` values were seen and that scale is not zero.
    fn observe(&mut self, rule: &Rule, x: f64, floor: f64) -> Option<f64> {
        self.observe_judging(rule, x, x, floor)
    }

    /// Judges `judged` against the past (as [`Spread::observe`] would), then learns `x`.
    fn observe_judging(&mut self, rule: &Rule, x: f64, judged: f64, floor: f64) -> Option<f64> {
        // A distance between huge readings can overflow: one such value must not poison the
        // state for good.
        if !x.is_finite() || !judged.is_finite() {
            return None;
        }
        if self.n == 0 {
            *self = Spread {
                n: 1,
                mean: x,
                dev: 0.0,
            };
            return None;
        }
        let r = x - self.mean;
        let scale = (MAD_TO_SIGMA * self.dev).max(floor);
        let z = (self.n >= rule.warmup && scale > 0.0).then(|| (judged - self.mean) / scale);
        // Warm-up: plain running mean (weights 1/n, so the start does not dominate) until
        // alpha takes over.
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

/// What the anomaly detector made of one reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Judgement {
    /// How far out the value is (signed), in usual spreads: the smaller in size of
    /// `from_level` and `from_pattern`.
    pub z: f64,
    /// How far the value is from its recent level, in its usual spreads (signed).
    pub from_level: f64,
    /// How far the value is from `expected`, in the usual spreads of that gap (signed).
    pub from_pattern: f64,
    /// What followed the past pattern most like the one before this reading.
    pub expected: f64,
    /// How much further the last [`CONTEXT_DIM`] readings are from their nearest match in the
    /// kept past than such patterns usually are, in usual spreads of that distance.
    pub novelty: f64,
    /// The length of the cycle the match belongs to, in readings, when the usual was that of
    /// this point of the cycle (see [`Context::observe`]).
    pub cycle: Option<u16>,
    /// The geometric mean of |z| and the (positive) novelty: what the limit judges.
    pub surprise: f64,
    /// The surprise beats the limit and every surprise remembered, outside the refractory
    /// period: the rule's ON condition.
    pub surprising: bool,
    /// The recent level, for the sentence.
    pub level: f64,
}

impl Judgement {
    /// Why the rule fired, for people: "3.4 × its usual spread above its recent level of
    /// 21.5 and 4.2 × above the 22.3 that similar readings led to before, its last 8 readings
    /// 5.1 × further than usual from anything in the 760 readings before" (and, when the
    /// nearest match belongs to a cycle, "… further than usual at this point of its
    /// 288-reading cycle from anything …").
    pub fn why(&self, kept: usize) -> String {
        let way = |z: f64| if z < 0.0 { "below" } else { "above" };
        let round = |v: f64| (v * 1000.0).round() / 1000.0;
        let cycle = self
            .cycle
            .map(|c| format!(" at this point of its {c}-reading cycle"))
            .unwrap_or_default();
        format!(
            "{:.1} × its usual spread {} its recent level of {} and {:.1} × {} the {} that \
             similar readings led to before, its last {CONTEXT_DIM} readings {:.1} × \
             further than usual{cycle} from anything in the {} readings before",
            self.from_level.abs(),
            way(self.from_level),
            round(self.level),
            self.from_pattern.abs(),
            way(self.from_pattern),
            round(self.expected),
            self.novelty,
            kept.saturating_sub(CONTEXT_DIM),
        )
    }
}

/// The anomaly detector's memory of a series: the level and spread of the value, the smallest
/// step seen between consecutive readings (the sensor's resolution, a floor for spreads), the
/// largest surprise seen (decaying with half-life `memory` readings) and the readings left in
/// the refractory period after a raise. The field names of the first version are kept so a
/// saved state still loads.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Baseline {
    n: u32,
    mean: f64,
    dev: f64,
    quantum: f64,
    last: f64,
    #[serde(default)]
    peak: f64,
    #[serde(default)]
    quiet: u32,
    /// The level and spread of how far readings land from what followed their nearest past
    /// pattern. Added later: a state saved before learns it afresh.
    #[serde(default)]
    residual: Spread,
}

impl Baseline {
    /// Judges a reading against the past, then learns from it (and keeps it in `context`).
    pub fn observe(&mut self, rule: &Rule, x: f64, context: &mut Context) -> Option<Judgement> {
        if self.n > 0 {
            let step = (x - self.last).abs();
            if step > 0.0 && (self.quantum == 0.0 || step < self.quantum) {
                self.quantum = step;
            }
        }
        self.last = x;
        let mut value = Spread {
            n: self.n,
            mean: self.mean,
            dev: self.dev,
        };
        let level = value.mean;
        let z = value.observe(rule, x, self.quantum);
        (self.n, self.mean, self.dev) = (value.n, value.mean, value.dev);
        let (novelty, expected, cycle) = context.observe(rule, x, self.quantum);
        let expected = expected?;
        let from_pattern = self.residual.observe(rule, x - expected, self.quantum);
        let (from_level, from_pattern, novelty) = (z?, from_pattern?, novelty?);
        // The value is only as far out as the nearer of its two usuals: its recent level and
        // what followed the most similar past pattern (so a daily step seen before is not far
        // out however far it is from the level).
        let z = if from_pattern.abs() < from_level.abs() {
            from_pattern
        } else {
            from_level
        };
        // Both must be unusual: a value far from the level in a pattern seen before (a daily
        // peak) or a new pattern at an ordinary level (noise taking a new shape) is not
        // surprising; a level shift, a spike or a flatline in a lively series is both.
        let surprise = (z.abs() * novelty.max(0.0)).sqrt();
        let peak = self.peak;
        self.peak = surprise.max(peak * 0.5f64.powf(1.0 / rule.memory as f64));
        let quiet = self.quiet > 0;
        self.quiet = self.quiet.saturating_sub(1);
        Some(Judgement {
            z,
            from_level,
            from_pattern,
            expected,
            novelty,
            cycle,
            surprise,
            surprising: !quiet && context.settled(rule) && surprise > rule.limit && surprise > peak,
            level,
        })
    }

    /// The rule raised: hold further raises off for `refractory` readings.
    pub fn raised(&mut self, rule: &Rule) {
        self.quiet = rule.refractory;
    }
}

/// How many past readings the context keeps, and how many readings make one pattern.
pub const CONTEXT_KEPT: usize = 768;
pub const CONTEXT_DIM: usize = 8;
/// The default of `learn`, the readings a series must have shown before its first raise: a
/// quarter of the kept context. Until then much of what a series does is new because nothing
/// came before it (the first step of a daily pattern), not because it is odd, and an alarm
/// then teaches people that new series cry wolf. At 1 Hz this is 3 minutes; at one reading
/// per 5 minutes, 16 hours.
pub const LEARNING: usize = CONTEXT_KEPT / 4;

/// How far a repeat may drift from an exact multiple of a cycle, as a fraction of its lag: a
/// daily pattern sampled every 5 minutes (288 readings) may repeat up to 9 readings early or
/// late from one day to the next, 18 over two.
const CYCLE_DRIFT: f64 = 1.0 / 32.0;

/// The recent past as patterns: a ring of the last [`CONTEXT_KEPT`] readings, and the level and
/// spread of the distance from each new pattern (the last [`CONTEXT_DIM`] readings) to its
/// nearest neighbour among the earlier ones. A pattern far from everything kept is novel.
/// Constant size: the ring never grows past [`CONTEXT_KEPT`].
///
/// With each kept reading it also keeps how far back its pattern's nearest match was (`lags`)
/// and how far from it (`far`). A pattern whose match had its own match a cycle further back
/// (the same lag, or one twice the other, give or take [`CYCLE_DRIFT`]) is this point of a
/// cycle: it is judged against the distances of its match and the readings that followed it,
/// not against those of the series as a whole, so the noisy half of a day that was as noisy
/// yesterday is not novel. Fields added later load empty from a state saved before (and fill
/// as readings come).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Context {
    /// The readings less `origin`, in f32 (a state saved with f64 readings loads rounded).
    kept: Vec<f32>,
    /// Where the next reading goes once the ring is full (its oldest reading).
    next: u16,
    /// Where the last nearest pattern started (time order); where the next search begins.
    #[serde(default)]
    matched: u16,
    distance: Spread,
    /// Subtracted from each reading before it is kept, so that f32 keeps the resolution of
    /// readings far from zero: the first reading kept (0 for a state saved before).
    #[serde(default)]
    origin: f64,
    /// Per kept reading (same slots as `kept`): how many readings back its pattern's nearest
    /// match ended (0: not known).
    #[serde(default)]
    lags: Vec<u16>,
    /// Per kept reading: its pattern's distance to that match (16-bit float, see [`to_bf16`]).
    #[serde(default)]
    far: Vec<u16>,
}

/// A non-negative distance in 16 bits: the upper half of its f32 (8 bits of exponent, 7 of
/// mantissa, rounded: within 0.4 %).
fn to_bf16(x: f64) -> u16 {
    let bits = (x.max(0.0) as f32).to_bits();
    // Round to nearest; a finite value stays finite (bits below the infinity's).
    ((bits.saturating_add(0x8000) >> 16).min(0x7f7f)) as u16
}

fn from_bf16(x: u16) -> f64 {
    f64::from(f32::from_bits(u32::from(x) << 16))
}

/// Whether two lags are the same, give or take [`CYCLE_DRIFT`] of the longer (at least 2
/// readings).
fn near(a: usize, b: usize) -> bool {
    a.abs_diff(b) <= ((a.max(b) as f64 * CYCLE_DRIFT) as usize).max(2)
}

/// Whether two lags are one cycle: the same, or one twice the other (a match that skipped a
/// cycle).
fn same_cycle(a: usize, b: usize) -> bool {
    let (long, short) = (a.max(b), a.min(b));
    short > 0 && (near(long, short) || near(long, 2 * short))
}

impl Context {
    /// Keeps `x`; returns the novelty of the pattern it ends, once the distance has a usual;
    /// what followed the past pattern nearest to the one before `x` (the reading that pattern
    /// predicted), once there was such a match; and the length of the cycle whose usual judged
    /// the novelty, when it was one.
    pub fn observe(
        &mut self,
        rule: &Rule,
        x: f64,
        quantum: f64,
    ) -> (Option<f64>, Option<f64>, Option<u16>) {
        if self.kept.is_empty() {
            self.origin = x;
        }
        let kept = (x - self.origin).clamp(-f64::from(f32::MAX), f64::from(f32::MAX)) as f32;
        // The per-reading traces follow the ring slot for slot (a state saved before they were
        // kept starts them unknown).
        self.lags.resize(self.kept.len(), 0);
        self.far.resize(self.kept.len(), 0);
        let slot_now = if self.kept.len() < CONTEXT_KEPT {
            // The whole ring at once (at a series' first reading, or the first after a restore
            // of a partly filled one), so that filling it never allocates again.
            self.kept.reserve_exact(CONTEXT_KEPT - self.kept.len());
            self.lags.reserve_exact(CONTEXT_KEPT - self.lags.len());
            self.far.reserve_exact(CONTEXT_KEPT - self.far.len());
            self.kept.push(kept);
            self.lags.push(0);
            self.far.push(0);
            self.kept.len() - 1
        } else {
            let slot = self.next as usize;
            self.kept[slot] = kept;
            (self.lags[slot], self.far[slot]) = (0, 0);
            self.next = ((slot + 1) % CONTEXT_KEPT) as u16;
            slot
        };
        let len = self.kept.len();
        if len < 3 * CONTEXT_DIM {
            return (None, None, None);
        }
        // The ring in time order, contiguous (a copy on the stack is cheaper than wrapping
        // every index), so each candidate pattern is a plain slice.
        let mut past = [0.0f32; CONTEXT_KEPT];
        let (newer, older) = self.kept.split_at(self.next as usize);
        past[..older.len()].copy_from_slice(older);
        past[older.len()..len].copy_from_slice(newer);
        // Time order to ring slot.
        let next = self.next as usize;
        let slot = |i: usize| {
            if len < CONTEXT_KEPT {
                i
            } else {
                (next + i) % CONTEXT_KEPT
            }
        };
        let current: [f32; CONTEXT_DIM] = std::array::from_fn(|k| past[len - CONTEXT_DIM + k]);
        let distance2 = |start: usize| -> f32 {
            past[start..start + CONTEXT_DIM]
                .iter()
                .zip(&current)
                .map(|(p, c)| (c - p) * (c - p))
                .sum()
        };
        // Nearest neighbour among the patterns that ended a whole pattern before the current
        // one starts: not itself, and not the readings just before it (a new level would
        // otherwise match its own first readings and never look new). Start from the successor
        // of the last nearest match (the likeliest to be near again) so that most candidates
        // are abandoned after their first half.
        let last = len - 3 * CONTEXT_DIM;
        // A full ring moved by one reading, so the successor has the index the match had.
        let successor = self.matched as usize + usize::from(len < CONTEXT_KEPT);
        // The last search (at the previous reading) matched the pattern before `x`: the
        // reading after that match is what the past says comes next.
        let expected = (len > 3 * CONTEXT_DIM)
            .then(|| self.origin + f64::from(past[successor + CONTEXT_DIM - 1]));
        let mut matched = successor.min(last);
        let mut best = distance2(matched);
        const HALF: usize = CONTEXT_DIM / 2;
        for start in 0..=last {
            let window = &past[start..start + CONTEXT_DIM];
            let head: f32 = window[..HALF]
                .iter()
                .zip(&current[..HALF])
                .map(|(p, c)| (c - p) * (c - p))
                .sum();
            if head >= best {
                continue;
            }
            let d = head
                + window[HALF..]
                    .iter()
                    .zip(&current[HALF..])
                    .map(|(p, c)| (c - p) * (c - p))
                    .sum::<f32>();
            if d < best {
                best = d;
                matched = start;
            }
        }
        self.matched = matched as u16;
        let distance = (f64::from(best) / CONTEXT_DIM as f64).sqrt();
        // Where the match ended, and how far back its own match was.
        let end = matched + CONTEXT_DIM - 1;
        let lag = len - 1 - end;
        let lag_before = self.lags[slot(end)] as usize;
        let usual = self.distance.mean.max(quantum);
        self.lags[slot_now] = lag as u16;
        self.far[slot_now] = to_bf16(distance);
        // The match is this point of a cycle last time when its own match was one cycle before
        // it (or two: a match may skip one), or when the reading half-way back matched half-way
        // back (the match two cycles back, the one between not quite as near). Then patterns
        // here were as far from the cycle before as the match and the two patterns after it
        // were from theirs: a distance that many times the usual one is ordinary here (the
        // noisy half of a day that was as noisy yesterday).
        let half = lag / 2;
        let halfway = if half >= 2 * CONTEXT_DIM {
            self.lags[slot(len - 1 - half)] as usize
        } else {
            0
        };
        let length = if lag_before > 0 && same_cycle(lag, lag_before) {
            Some(lag.min(lag_before))
        } else if halfway > 0 && near(halfway, half) {
            Some(half)
        } else {
            None
        };
        let cycle = length.filter(|_| usual > 0.0).map(|length| {
            // Not the current pattern's own readings (a spike must not excuse itself).
            let to = (end + 2 * CONTEXT_DIM).min(len - 1 - CONTEXT_DIM);
            let sum: f64 = (end..=to).map(|i| from_bf16(self.far[slot(i)])).sum();
            (length, sum / usual / (to + 1 - end) as f64)
        });
        let times = cycle.map_or(1.0, |(_, times)| times.max(1.0));
        let novelty = self
            .distance
            .observe_judging(rule, distance, distance / times, quantum);
        let cycle = cycle.filter(|_| times > 1.0).map(|(c, _)| c as u16);
        (novelty, expected, cycle)
    }

    /// Whether surprises have been seen long enough (`warmup` of them) for the remembered
    /// peak to mean something, before which a series' first wiggles would all be records, and
    /// the series has shown `learn` readings.
    pub fn settled(&self, rule: &Rule) -> bool {
        self.distance.n >= rule.warmup.saturating_mul(2) && self.kept.len() >= rule.learn as usize
    }

    /// How many readings it holds.
    pub fn len(&self) -> usize {
        self.kept.len()
    }
}
