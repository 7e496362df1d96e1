//! Remaining useful life from a fleet's run-to-failure histories.
//!
//! The model, in the order [`RulModel::fit`] builds it:
//!
//! 1. **Sensors.** Constant sensors are dropped, and so are those whose correlation with the
//!    (capped) remaining life is weak: on C-MAPSS FD001 this keeps sensors 2, 3, 4, 7, 8, 9,
//!    11, 12, 13, 14, 15, 17, 20 and 21 and drops the flat 1, 5, 6, 10, 16, 18 and 19. Each
//!    kept sensor is standardised with the fleet's mean and standard deviation, then each
//!    unit's own early level (the mean of its first `min_observed` cycles, which reflects
//!    manufacturing spread and initial wear) is taken out, so the index measures change.
//! 2. **Health index.** A ridge regression maps those sensors to a target health that is 1
//!    while the remaining life exceeds the cap and falls linearly to 0 at failure (the
//!    customary piecewise-linear target). Each failed unit's index is smoothed (a local linear
//!    fit) into its degradation curve.
//! 3. **Similarity.** A running unit's recent health trajectory (its last `window` cycles) is
//!    slid along every failed unit's curve; at each curve's best offset, the life that curve
//!    had left there is a candidate. The `neighbours` closest candidates give a
//!    distance-weighted mean and a weighted 10th–90th percentile spread.
//! 4. **Calibration.** Internal cross-validation over the failed units (each cut at random
//!    points, as running units are) learns a linear correction of the mean and how far the
//!    truth falls from it in units of the spread; the 10th and 90th percentiles of that ratio
//!    turn a spread into an 80% interval.
//!
//! **The cap.** Remaining lives are capped at `cap` cycles (125 by default, as is customary
//! for C-MAPSS): early in life the sensors cannot tell 150 cycles left from 250, so "125" means
//! "about 125 or more". Estimates and intervals never exceed the cap.
//!
//! **Assumptions.** Every history starts from a healthy state (as C-MAPSS's do), one operating
//! condition (normalise per regime first for a multi-regime fleet), one cycle per row.
//!
//! Cost (release build, one core of a laptop): fitting on FD001's 100 histories takes about
//! 0.12 s, the internal cross-validation included; an estimate about 0.3 ms.

use crate::fleet::{Unit, SETTINGS};
use crate::stats::{quantile_mut, solve_spd, weighted_quantile, SplitMix64};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq)]
pub struct RulConfig {
    /// Remaining lives above this are reported as this (cycles).
    pub cap: f64,
    /// The most recent cycles of a running unit that are matched.
    pub window: usize,
    /// How many failed units' best matches make an estimate.
    pub neighbours: usize,
    /// Half-width (cycles) of the local linear smoothing of failed units' health curves.
    pub smooth: usize,
    /// Share (0–1) of each unit's early level taken out of its sensors.
    pub anchor: f64,
    /// The interval's nominal coverage (0.8: from the 10th to the 90th percentile).
    pub coverage: f64,
    /// The internal cross-validation that calibrates: folds, and cuts per held-out unit.
    pub calibration_folds: usize,
    pub calibration_cuts: usize,
    /// A unit's early level is measured over this many cycles, and a running unit is assumed
    /// to have reported at least this many (C-MAPSS test units report 31 or more); calibration
    /// cuts follow the same rule.
    pub min_observed: usize,
    /// Seeds the calibration's folds and cuts.
    pub seed: u64,
}

impl Default for RulConfig {
    fn default() -> Self {
        RulConfig {
            cap: 125.0,
            window: 80,
            neighbours: 10,
            smooth: 8,
            anchor: 1.0,
            coverage: 0.8,
            calibration_folds: 5,
            calibration_cuts: 3,
            min_observed: 30,
            seed: 0x5EED,
        }
    }
}

impl RulConfig {
    fn validate(&self) -> Result<(), RulError> {
        let bad = |why: &str| Err(RulError::Config(why.into()));
        if !(self.cap.is_finite() && self.cap >= 1.0) {
            return bad("cap must be at least 1 cycle");
        }
        if self.window == 0 || self.neighbours == 0 {
            return bad("window and neighbours must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.anchor) {
            return bad("anchor must be between 0 and 1");
        }
        if !(self.coverage > 0.0 && self.coverage < 1.0) {
            return bad("coverage must be between 0 and 1");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RulError {
    #[error("need at least {need} failed units with {min_len} or more cycles each, got {got}")]
    NotEnoughHistory {
        need: usize,
        min_len: usize,
        got: usize,
    },
    #[error("no sensor changes with wear in the failed units' histories")]
    NoInformativeSensors,
    #[error("the health index regression is degenerate (collinear sensors)")]
    Degenerate,
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// One remaining-life estimate, in cycles after the unit's last reported cycle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RulEstimate {
    pub rul: f64,
    /// The interval, `low ≤ rul ≤ high`, meant to hold the truth `coverage` of the time.
    pub low: f64,
    pub high: f64,
}

/// A fitted model: the health index, every failed unit's degradation curve, and what internal
/// cross-validation taught it about its own errors.
#[derive(Debug, Clone)]
pub struct RulModel {
    config: RulConfig,
    hi: HealthIndex,
    curves: Vec<Vec<f64>>,
    calibration: Calibration,
}

const MIN_UNITS: usize = 3;
const MIN_LEN: usize = 5;

impl RulModel {
    /// Learns from failed units' complete run-to-failure histories: each unit's last row is
    /// its failure. Units shorter than 5 cycles are ignored; at least 3 must remain.
    pub fn fit(history: &[Unit], config: &RulConfig) -> Result<RulModel, RulError> {
        config.validate()?;
        let usable: Vec<&Unit> = history.iter().filter(|u| u.len() >= MIN_LEN).collect();
        if usable.len() < MIN_UNITS {
            return Err(RulError::NotEnoughHistory {
                need: MIN_UNITS,
                min_len: MIN_LEN,
                got: usable.len(),
            });
        }
        let mut model = RulModel::fit_uncalibrated(&usable, config)?;
        model.calibration = calibrate(&usable, config);
        Ok(model)
    }

    fn fit_uncalibrated(units: &[&Unit], config: &RulConfig) -> Result<RulModel, RulError> {
        let hi = HealthIndex::fit(units, config)?;
        let curves = units
            .iter()
            .map(|u| local_linear(&hi.apply(u), config.smooth))
            .collect();
        Ok(RulModel {
            config: config.clone(),
            hi,
            curves,
            calibration: Calibration::default(),
        })
    }

    pub fn config(&self) -> &RulConfig {
        &self.config
    }

    /// The sensors (numbered from 1, as the C-MAPSS readme does) the health index uses.
    pub fn sensors(&self) -> Vec<usize> {
        self.hi.channels.iter().map(|c| c - SETTINGS + 1).collect()
    }

    /// The health index of each of a unit's rows: about 1 while healthy, 0 at failure.
    pub fn health(&self, unit: &Unit) -> Vec<f64> {
        self.hi.apply(unit)
    }

    /// Estimates a running unit's remaining life after its last reported cycle.
    pub fn predict(&self, unit: &Unit) -> RulEstimate {
        let raw = self.raw(unit);
        let cap = self.config.cap;
        let c = &self.calibration;
        let rul = c.correct(raw.rul, cap);
        RulEstimate {
            rul,
            low: (rul + c.lo * raw.spread).clamp(0.0, rul),
            high: (rul + c.hi * raw.spread).clamp(rul, cap),
        }
    }

    /// The uncalibrated estimate: the neighbours' weighted mean and spread.
    fn raw(&self, unit: &Unit) -> Raw {
        let cap = self.config.cap;
        let y = self.hi.apply(unit);
        if y.is_empty() {
            return Raw {
                rul: cap,
                spread: cap,
            };
        }
        let recent = &y[y.len() - y.len().min(self.config.window)..];
        let mut matches: Vec<(f64, f64)> = self
            .curves
            .iter()
            .filter_map(|curve| best_match(recent, curve))
            .map(|(d, left)| (d, (left as f64).min(cap)))
            .collect();
        matches.sort_by(|a, b| a.0.total_cmp(&b.0));
        matches.truncate(self.config.neighbours);
        let nearest = matches.first().map_or(1.0, |m| m.0).max(1e-12);
        let mut weighted: Vec<(f64, f64)> = matches
            .iter()
            .map(|&(d, left)| (left, (-d / nearest).exp()))
            .collect();
        let total: f64 = weighted.iter().map(|p| p.1).sum();
        let rul = weighted.iter().map(|p| p.0 * p.1).sum::<f64>() / total;
        let tail = (1.0 - self.config.coverage) / 2.0;
        let lo = weighted_quantile(&mut weighted, tail).unwrap_or(rul);
        let hi = weighted_quantile(&mut weighted, 1.0 - tail).unwrap_or(rul);
        Raw {
            rul: rul.clamp(0.0, cap),
            spread: (hi - lo).max(MIN_SPREAD),
        }
    }
}

/// Cycles: the narrowest spread an interval is scaled from, so that neighbours that agree
/// exactly still leave room for the sensors' noise.
const MIN_SPREAD: f64 = 4.0;

struct Raw {
    rul: f64,
    spread: f64,
}

/// The offset where `recent` fits `curve` best: (mean squared distance, cycles from the end
/// of the matched stretch to the curve's end). A curve shorter than the window is matched
/// against the window's most recent part.
fn best_match(recent: &[f64], curve: &[f64]) -> Option<(f64, usize)> {
    let w = recent.len().min(curve.len());
    if w == 0 {
        return None;
    }
    let recent = &recent[recent.len() - w..];
    let mut best = (f64::INFINITY, 0);
    for start in 0..=curve.len() - w {
        let d = squared_distance(recent, &curve[start..start + w]);
        if d < best.0 {
            best = (d, curve.len() - (start + w));
        }
    }
    Some((best.0 / w as f64, best.1))
}

/// Σ (a − b)², in four independent lanes so that the compiler can vectorise it.
fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            let d = x[k] - y[k];
            lanes[k] += d * d;
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// Smooths a series with a local linear fit over `±half` points, which follows the slope at
/// the ends where a moving average would flatten it (and the end is where failure is).
fn local_linear(y: &[f64], half: usize) -> Vec<f64> {
    let n = y.len();
    (0..n)
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(n));
            let m = (b - a) as f64;
            let mx = (a + b - 1) as f64 / 2.0;
            let my = y[a..b].iter().sum::<f64>() / m;
            let (mut sxy, mut sxx) = (0.0, 0.0);
            for (x, &v) in (a..b).zip(&y[a..b]) {
                let dx = x as f64 - mx;
                sxy += dx * (v - my);
                sxx += dx * dx;
            }
            let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
            my + slope * (i as f64 - mx)
        })
        .collect()
}

/// A linear map from standardised, anchored informative sensors to health.
#[derive(Debug, Clone)]
struct HealthIndex {
    /// Row indices (into settings + sensors) of the sensors used.
    channels: Vec<usize>,
    mean: Vec<f64>,
    scale: Vec<f64>,
    /// Share of each unit's own early level taken out, and the rows it is measured over.
    anchor: f64,
    base_rows: usize,
    /// The mean of the features over the training rows.
    center: Vec<f64>,
    weights: Vec<f64>,
    bias: f64,
}

/// Sensors whose absolute correlation with the capped remaining life is below this are
/// treated as noise.
const MIN_CORRELATION: f64 = 0.2;
/// Ridge penalty per row, on standardised sensors.
const RIDGE: f64 = 1e-3;

impl HealthIndex {
    fn fit(units: &[&Unit], config: &RulConfig) -> Result<HealthIndex, RulError> {
        let cap = config.cap;
        let target = |u: &Unit, i: usize| ((u.len() - 1 - i) as f64).min(cap) / cap;
        let nf = units.iter().map(|u| u.len()).sum::<usize>() as f64;
        let t_mean = units
            .iter()
            .flat_map(|u| (0..u.len()).map(move |i| target(u, i)))
            .sum::<f64>()
            / nf;
        let mut hi = HealthIndex {
            channels: Vec::new(),
            mean: Vec::new(),
            scale: Vec::new(),
            anchor: config.anchor,
            base_rows: config.min_observed.max(1),
            center: Vec::new(),
            weights: Vec::new(),
            bias: t_mean,
        };
        let width = units
            .first()
            .map_or(0, |u| u.rows.first().map_or(0, |r| r.len()));
        for c in SETTINGS..width {
            let values = || units.iter().flat_map(|u| u.rows.iter().map(move |r| r[c]));
            let mean = values().sum::<f64>() / nf;
            let (mut sxx, mut sxt, mut stt) = (0.0, 0.0, 0.0);
            for u in units {
                for (i, r) in u.rows.iter().enumerate() {
                    let (dx, dt) = (r[c] - mean, target(u, i) - t_mean);
                    sxx += dx * dx;
                    sxt += dx * dt;
                    stt += dt * dt;
                }
            }
            let sd = (sxx / nf).sqrt();
            // Constant to the last printed digit (FD001's sensors 1, 5, 10, 16, 18, 19).
            if sd.is_nan() || sd <= 1e-9 * mean.abs().max(1.0) || stt <= 0.0 {
                continue;
            }
            if (sxt / (sxx * stt).sqrt()).abs() >= MIN_CORRELATION {
                hi.channels.push(c);
                hi.mean.push(mean);
                hi.scale.push(sd);
            }
        }
        if hi.channels.is_empty() {
            return Err(RulError::NoInformativeSensors);
        }
        let k = hi.channels.len();
        let features: Vec<Vec<Vec<f64>>> = units.iter().map(|u| hi.features(u)).collect();
        hi.center = vec![0.0; k];
        for z in features.iter().flatten() {
            for (c, v) in hi.center.iter_mut().zip(z) {
                *c += v / nf;
            }
        }
        // Ridge regression on centred features, so the bias is the target's mean.
        let mut a = vec![0.0; k * k];
        let mut b = vec![0.0; k];
        let mut zc = vec![0.0; k];
        for (u, zs) in units.iter().zip(&features) {
            for (i, z) in zs.iter().enumerate() {
                let t = target(u, i) - t_mean;
                for p in 0..k {
                    zc[p] = z[p] - hi.center[p];
                }
                for p in 0..k {
                    b[p] += zc[p] * t;
                    for q in 0..=p {
                        a[p * k + q] += zc[p] * zc[q];
                    }
                }
            }
        }
        for p in 0..k {
            for q in 0..p {
                a[q * k + p] = a[p * k + q];
            }
            a[p * k + p] += RIDGE * nf;
        }
        hi.weights = solve_spd(&a, &b).ok_or(RulError::Degenerate)?;
        Ok(hi)
    }

    /// Each row's standardised sensors, less `anchor` times the unit's early level.
    fn features(&self, unit: &Unit) -> Vec<Vec<f64>> {
        let mut z: Vec<Vec<f64>> = unit
            .rows
            .iter()
            .map(|r| {
                self.channels
                    .iter()
                    .zip(self.mean.iter().zip(&self.scale))
                    .map(|(&c, (m, s))| (r[c] - m) / s)
                    .collect()
            })
            .collect();
        let m = z.len().min(self.base_rows);
        if self.anchor > 0.0 && m > 0 {
            let base: Vec<f64> = (0..self.channels.len())
                .map(|j| self.anchor * z[..m].iter().map(|r| r[j]).sum::<f64>() / m as f64)
                .collect();
            for row in &mut z {
                for (v, b) in row.iter_mut().zip(&base) {
                    *v -= b;
                }
            }
        }
        z
    }

    fn apply(&self, unit: &Unit) -> Vec<f64> {
        self.features(unit)
            .iter()
            .map(|z| {
                let dot: f64 = z
                    .iter()
                    .zip(&self.center)
                    .zip(&self.weights)
                    .map(|((v, c), w)| w * (v - c))
                    .sum();
                self.bias + dot
            })
            .collect()
    }
}

/// A cut for a unit of `len` cycles: how many cycles a running unit has reported, uniform in
/// `[min_observed, len − 1]` (at least one cycle of life left), shrunk for short units.
pub fn random_cut(rng: &mut SplitMix64, len: usize, min_observed: usize) -> usize {
    let hi = len.saturating_sub(1).max(1);
    let lo = min_observed.min(hi / 2).max(1);
    lo + rng.below((hi - lo + 1) as u64) as usize
}

/// What internal cross-validation taught the model about its own errors.
#[derive(Debug, Clone, PartialEq)]
struct Calibration {
    /// The raw estimate's linear correction, `a + b · raw`.
    a: f64,
    b: f64,
    /// The tail quantiles of (truth − corrected estimate) / spread.
    lo: f64,
    hi: f64,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            a: 0.0,
            b: 1.0,
            lo: -1.0,
            hi: 1.0,
        }
    }
}

impl Calibration {
    fn correct(&self, raw: f64, cap: f64) -> f64 {
        (self.a + self.b * raw).clamp(0.0, cap)
    }
}

/// Learns the correction and the interval's factors from held-out units cut at random points
/// and estimated by models fitted without them.
fn calibrate(units: &[&Unit], config: &RulConfig) -> Calibration {
    let folds = config.calibration_folds.clamp(2, units.len());
    let mut rng = SplitMix64::new(config.seed);
    let mut order: Vec<usize> = (0..units.len()).collect();
    rng.shuffle(&mut order);
    // (raw estimate, its spread, capped truth)
    let mut seen: Vec<(f64, f64, f64)> = Vec::new();
    for f in 0..folds {
        let (test, train): (Vec<usize>, Vec<usize>) =
            (0..order.len()).partition(|&i| i % folds == f);
        let train: Vec<&Unit> = train.iter().map(|&i| units[order[i]]).collect();
        let Ok(model) = RulModel::fit_uncalibrated(&train, config) else {
            continue;
        };
        for &i in &test {
            let unit = units[order[i]];
            for _ in 0..config.calibration_cuts.max(1) {
                let kept = random_cut(&mut rng, unit.len(), config.min_observed);
                let truth = ((unit.len() - kept) as f64).min(config.cap);
                let raw = model.raw(&unit.truncated(kept));
                seen.push((raw.rul, raw.spread, truth));
            }
        }
    }
    let mut c = Calibration::default();
    if seen.len() < 10 {
        return c;
    }
    let n = seen.len() as f64;
    let mx = seen.iter().map(|s| s.0).sum::<f64>() / n;
    let my = seen.iter().map(|s| s.2).sum::<f64>() / n;
    let sxy: f64 = seen.iter().map(|s| (s.0 - mx) * (s.2 - my)).sum();
    let sxx: f64 = seen.iter().map(|s| (s.0 - mx) * (s.0 - mx)).sum();
    if sxx > 0.0 {
        // A correction, not a new model: a slope far from 1 would mean the matching failed.
        c.b = (sxy / sxx).clamp(0.5, 2.0);
        c.a = my - c.b * mx;
    }
    let mut ratios: Vec<f64> = seen
        .iter()
        .map(|&(raw, spread, truth)| (truth - c.correct(raw, config.cap)) / spread)
        .collect();
    let tail = (1.0 - config.coverage) / 2.0;
    if let (Some(lo), Some(hi)) = (
        quantile_mut(&mut ratios, tail),
        quantile_mut(&mut ratios, 1.0 - tail),
    ) {
        (c.lo, c.hi) = (lo.min(0.0), hi.max(0.0));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{parse_fleet, CHANNELS};
    use crate::stats::SplitMix64;

    /// A synthetic fleet in the C-MAPSS layout: per unit a life of 150–300 cycles, a
    /// manufacturing offset per sensor, and a wear that grows exponentially to 1 at failure.
    /// Sensors 1 and 5 are constant, 6 is noise, the others follow wear with their own gain.
    fn fleet(units: u32, seed: u64) -> String {
        let mut rng = SplitMix64::new(seed);
        let mut text = String::new();
        for asset in 1..=units {
            let life = 150 + rng.below(151) as u32;
            let tau = 25.0 + 20.0 * rng.unit();
            let offsets: Vec<f64> = (0..CHANNELS).map(|_| 0.3 * rng.normal()).collect();
            for cycle in 1..=life {
                let wear = ((f64::from(cycle) - f64::from(life)) / tau).exp();
                text.push_str(&format!("{asset} {cycle}"));
                for (c, offset) in offsets.iter().enumerate() {
                    let v = match c {
                        0..=2 => 0.001 * rng.normal(),
                        3 | 7 => 518.67,
                        8 => 21.6 + rng.normal(),
                        _ => {
                            let gain = if c % 2 == 0 { 4.0 } else { -3.0 };
                            100.0 + c as f64 + offset + gain * wear + 0.5 * rng.normal()
                        }
                    };
                    text.push_str(&format!(" {v:.4}"));
                }
                text.push('\n');
            }
        }
        text
    }

    #[test]
    fn learns_a_synthetic_fleet_and_estimates_held_out_units() {
        let train = parse_fleet(&fleet(40, 1)).unwrap();
        let test = parse_fleet(&fleet(20, 2)).unwrap();
        let model = RulModel::fit(&train, &RulConfig::default()).unwrap();
        let sensors = model.sensors();
        for flat in [1, 5, 6] {
            assert!(!sensors.contains(&flat), "{sensors:?}");
        }
        assert_eq!(sensors.len(), 18, "{sensors:?}");

        let (mut se, mut n, mut inside) = (0.0, 0.0, 0.0);
        for unit in &test {
            let mut last = f64::INFINITY;
            for left in [100, 60, 30, 10] {
                let kept = unit.len() - left;
                let e = model.predict(&unit.truncated(kept));
                assert!(
                    e.low <= e.rul && e.rul <= e.high && e.high <= 125.0,
                    "{e:?}"
                );
                assert!(e.low >= 0.0);
                // Nearer failure, a smaller estimate (allowing the noise a few cycles).
                assert!(
                    e.rul <= last + 5.0,
                    "unit {}: {e:?} after {last}",
                    unit.asset
                );
                last = e.rul;
                se += (e.rul - left as f64).powi(2);
                n += 1.0;
                if e.low <= left as f64 && left as f64 <= e.high {
                    inside += 1.0;
                }
            }
        }
        let rmse = (se / n).sqrt();
        eprintln!("synthetic: RMSE {rmse:.2}, coverage {:.2}", inside / n);
        assert!(rmse < 12.0, "RMSE {rmse:.1}");
        // Coverage is calibrated over random cuts, not at these four points; loosely here.
        assert!(inside / n > 0.4, "coverage {:.2}", inside / n);
        // A fresh unit is healthy: about the cap.
        let fresh = model.predict(&test[0].truncated(30));
        assert!(fresh.rul > 100.0, "{fresh:?}");
    }

    #[test]
    fn intervals_are_calibrated_on_a_synthetic_fleet() {
        // Three 3-fold cross-validations (180 held-out cuts): one alone is too few to judge
        // an 80% coverage (its standard error would be 5%).
        let units = parse_fleet(&fleet(60, 5)).unwrap();
        let (mut trials, mut sq) = (0.0, 0.0);
        let mut inside = 0.0;
        for seed in 1..=3 {
            let report =
                crate::eval::cross_validate(&units, 3, seed, &RulConfig::default()).unwrap();
            let f = report.capped();
            trials += f.n as f64;
            sq += f.rmse * f.rmse * f.n as f64;
            inside += f.coverage * f.n as f64;
        }
        let (rmse, coverage) = ((sq / trials).sqrt(), inside / trials);
        eprintln!("synthetic 3-fold CV ×3: RMSE {rmse:.2}, coverage {coverage:.2}");
        assert!(rmse < 12.0, "RMSE {rmse:.2}");
        assert!((0.7..=0.9).contains(&coverage), "coverage {coverage:.2}");
    }

    #[test]
    fn refuses_what_it_cannot_learn_from() {
        let text = fleet(2, 3);
        let units = parse_fleet(&text).unwrap();
        assert!(matches!(
            RulModel::fit(&units, &RulConfig::default()),
            Err(RulError::NotEnoughHistory { got: 2, .. })
        ));
        let mut flat = parse_fleet(&fleet(5, 4)).unwrap();
        for u in &mut flat {
            for r in &mut u.rows {
                r.iter_mut().for_each(|v| *v = 1.0);
            }
        }
        assert_eq!(
            RulModel::fit(&flat, &RulConfig::default()).unwrap_err(),
            RulError::NoInformativeSensors
        );
        let bad = RulConfig {
            coverage: 1.5,
            ..RulConfig::default()
        };
        assert!(matches!(
            RulModel::fit(&units, &bad),
            Err(RulError::Config(_))
        ));
    }

    #[test]
    fn smoothing_keeps_lines_and_best_match_finds_the_offset() {
        let line: Vec<f64> = (0..20).map(|i| 2.0 * i as f64 + 1.0).collect();
        for (a, b) in local_linear(&line, 3).iter().zip(&line) {
            assert!((a - b).abs() < 1e-9);
        }
        let curve: Vec<f64> = (0..50).map(|i| (i as f64 / 10.0).sin()).collect();
        let recent = &curve[20..30];
        assert_eq!(best_match(recent, &curve), Some((0.0, 20)));
        assert_eq!(best_match(&[], &curve), None);
    }
}
