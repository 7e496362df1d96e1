//! Time to threshold for one series: when will it cross a limit, with an interval, or an
//! honest refusal.
//!
//! The caller passes points, typically rollup means (hourly means of the last 90 days), so
//! that a year of history costs milliseconds. The method:
//!
//! 1. **Refuse thin data**: fewer than `min_points` points, or spanning less than
//!    `min_span_ms`, is "not enough data".
//! 2. **Already beyond**: when the median of the latest points is past the threshold, the
//!    answer is "now".
//! 3. **Robust trend**: a Theil–Sen line (the median of pairwise slopes, at most `max_pairs`
//!    of them, sampled with a seeded generator beyond that) and a median intercept, on the
//!    values (linear) and, when every value and the threshold are positive, on their logarithms
//!    (exponential). The exponential model is taken only when its median absolute residual is
//!    clearly smaller (below 0.9×); ties go to the linear one.
//! 4. **Honest uncertainty**: residuals of a series sampled every hour are not independent
//!    (daily cycles, slow swings), so the number of points is discounted to an effective
//!    number from the residuals' autocorrelation (the integrated autocorrelation time, summed
//!    while positive). Sen's distribution-free confidence interval for the slope, computed
//!    with that effective number, picks quantiles of the pairwise slopes: at 99% to decide
//!    whether there is a trend at all, at `coverage` (80%) for the interval. The crossing time
//!    of the fast and slow lines through the data's centre gives the interval, the low end
//!    also allowing for the residual spread (noisy readings touch the limit before their
//!    trend does).
//! 5. **Refusals**: "seasonal or noisy" when the slope changes sign between the thirds of the
//!    window, or when slow swings leave too few effective points to see a trend; "no trend"
//!    when the 99% interval of the slope contains 0 or the trend points away from the
//!    threshold; "too far ahead" when the crossing lies beyond `horizon` times the data's span.
//!
//! Which side is bad: given, or else inferred from where the series started: a series whose
//! first third lies below the threshold is watched for rising through it, and vice versa.

use crate::stats::{median, median_mut, quantile_mut, SplitMix64};
use serde::Serialize;
use std::fmt;

const DAY_MS: f64 = 86_400_000.0;
const HOUR_MS: i64 = 3_600_000;

/// Which crossing is the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The value rises to the threshold (pressure drop, vibration, temperature).
    Rising,
    /// The value falls to the threshold (a battery).
    Falling,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    Linear,
    Exponential,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrendConfig {
    pub min_points: usize,
    pub min_span_ms: i64,
    /// The most pairwise slopes computed; beyond, pairs are sampled.
    pub max_pairs: usize,
    /// The interval's nominal coverage.
    pub coverage: f64,
    /// Two-sided confidence at which a slope must differ from 0 to count as a trend.
    pub confidence: f64,
    /// A crossing further ahead than this many times the data's span is not dated.
    pub horizon: f64,
    pub seed: u64,
}

impl Default for TrendConfig {
    fn default() -> Self {
        TrendConfig {
            min_points: 10,
            min_span_ms: 6 * HOUR_MS,
            max_pairs: 100_000,
            coverage: 0.8,
            confidence: 0.99,
            horizon: 4.0,
            seed: 0x7E4D,
        }
    }
}

/// A dated crossing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// When the trend reaches the threshold (`now` if the series is already beyond it).
    pub eta_ms: i64,
    /// The interval: `now ≤ low_ms ≤ eta_ms ≤ high_ms`.
    pub low_ms: i64,
    pub high_ms: i64,
    /// What the date rests on, as a sentence ("linear trend over 41 days, 960 hourly points…").
    pub basis: String,
    pub points: usize,
    pub model: Model,
    pub direction: Direction,
}

/// Why no date is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    NotEnoughData,
    NoTrend,
    SeasonalOrNoisy,
    TooFarAhead,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::NotEnoughData => "not enough data",
            Reason::NoTrend => "no trend",
            Reason::SeasonalOrNoisy => "seasonal or noisy",
            Reason::TooFarAhead => "too far ahead",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Eta {
    Forecast(Forecast),
    NoTrend {
        reason: Reason,
        /// The reason with its particulars, as a sentence.
        basis: String,
        points: usize,
    },
}

impl Eta {
    pub fn forecast(&self) -> Option<&Forecast> {
        match self {
            Eta::Forecast(f) => Some(f),
            Eta::NoTrend { .. } => None,
        }
    }

    pub fn basis(&self) -> &str {
        match self {
            Eta::Forecast(f) => &f.basis,
            Eta::NoTrend { basis, .. } => basis,
        }
    }

    pub fn points(&self) -> usize {
        match self {
            Eta::Forecast(f) => f.points,
            Eta::NoTrend { points, .. } => *points,
        }
    }
}

/// When will the series `points` (`(t_ms, value)`, any order; non-finite values and points
/// after `now_ms` are ignored) cross `threshold`? `direction` `None` infers it from where the
/// series started.
pub fn time_to_threshold(
    points: &[(i64, f64)],
    threshold: f64,
    direction: Option<Direction>,
    now_ms: i64,
    config: &TrendConfig,
) -> Eta {
    let mut pts: Vec<(i64, f64)> = points
        .iter()
        .copied()
        .filter(|&(t, v)| v.is_finite() && t <= now_ms)
        .collect();
    pts.sort_by_key(|p| p.0);
    let n = pts.len();
    let refuse = |reason: Reason, why: String| Eta::NoTrend {
        reason,
        basis: format!("{reason}: {why}"),
        points: n,
    };
    if !threshold.is_finite() {
        return refuse(
            Reason::NoTrend,
            format!("the threshold {threshold} is not a number"),
        );
    }
    if n == 0 {
        return refuse(Reason::NotEnoughData, "no readings".into());
    }
    let span_ms = pts[n - 1].0 - pts[0].0;
    if n < config.min_points.max(3) {
        return refuse(
            Reason::NotEnoughData,
            format!("{n} points, at least {} needed", config.min_points.max(3)),
        );
    }
    if span_ms < config.min_span_ms.max(1) {
        return refuse(
            Reason::NotEnoughData,
            format!(
                "the data spans {}, at least {} needed",
                duration(span_ms as f64),
                duration(config.min_span_ms as f64)
            ),
        );
    }
    let values: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let direction = direction.unwrap_or_else(|| {
        let first = median(&values[..n.div_ceil(3)]).unwrap_or(values[0]);
        if first <= threshold {
            Direction::Rising
        } else {
            Direction::Falling
        }
    });
    let sign = match direction {
        Direction::Rising => 1.0,
        Direction::Falling => -1.0,
    };
    let described = describe(&pts);

    // Already beyond: the latest points' median is past the threshold.
    let latest = median(&values[n - (n / 20).max(3).min(n)..]).unwrap_or(values[n - 1]);
    if sign * (latest - threshold) >= 0.0 {
        return Eta::Forecast(Forecast {
            eta_ms: now_ms,
            low_ms: now_ms,
            high_ms: now_ms,
            basis: format!(
                "already {} the threshold: the latest readings' median is {}; {described}",
                if sign > 0.0 { "above" } else { "below" },
                number(latest)
            ),
            points: n,
            model: Model::Linear,
            direction,
        });
    }

    // Time in days since the first point: slopes read per day.
    let t0 = pts[0].0;
    let t: Vec<f64> = pts.iter().map(|p| (p.0 - t0) as f64 / DAY_MS).collect();
    let mut rng = SplitMix64::new(config.seed);
    let linear = Fit::new(&t, &values, config.max_pairs, &mut rng);
    let exponential = (threshold > 0.0 && values.iter().all(|&v| v > 0.0)).then(|| {
        let logs: Vec<f64> = values.iter().map(|v| v.ln()).collect();
        Fit::new(&t, &logs, config.max_pairs, &mut rng)
    });
    let (model, fit, level) = match exponential {
        Some(e)
            if e.abs_residual_in(&t, &values, true)
                < 0.9 * linear.abs_residual_in(&t, &values, false) =>
        {
            (Model::Exponential, e, threshold.ln())
        }
        _ => (Model::Linear, linear, threshold),
    };
    let rate = match model {
        Model::Linear => format!(
            "{} {} a day",
            if fit.slope >= 0.0 {
                "rising"
            } else {
                "falling"
            },
            number(fit.slope.abs())
        ),
        Model::Exponential if fit.slope >= 0.0 => format!(
            "doubling every {}",
            duration(DAY_MS * std::f64::consts::LN_2 / fit.slope.max(1e-300))
        ),
        Model::Exponential => format!(
            "halving every {}",
            duration(DAY_MS * std::f64::consts::LN_2 / (-fit.slope).max(1e-300))
        ),
    };
    let name = match model {
        Model::Linear => "linear",
        Model::Exponential => "exponential",
    };
    let about = format!("{name} trend over {described}, {rate}");

    let n_eff = effective_points(&fit.residuals);
    let significant = fit.slope_interval(n_eff, config.confidence);
    let contains_zero = significant.is_none_or(|(lo, hi)| lo <= 0.0 && hi >= 0.0);
    if contains_zero {
        if n_eff < 0.2 * n as f64 {
            return refuse(
                Reason::SeasonalOrNoisy,
                format!(
                    "the residuals move in cycles or slow swings (worth about {:.0} independent points of {n}), too few to tell a trend; {about}",
                    n_eff
                ),
            );
        }
        return refuse(
            Reason::NoTrend,
            format!("the slope is not distinguishable from 0; {about}"),
        );
    }
    // Does the slope change sign between the window's thirds?
    let thirds: Vec<f64> = (0..3)
        .filter_map(|k| {
            let (a, b) = (k * n / 3, (k + 1) * n / 3);
            let ys = match model {
                Model::Linear => values[a..b].to_vec(),
                Model::Exponential => values[a..b].iter().map(|v| v.ln()).collect(),
            };
            (b - a >= 3).then(|| Fit::new(&t[a..b], &ys, config.max_pairs / 3, &mut rng).slope)
        })
        .collect();
    let reverses = thirds
        .iter()
        .any(|s| s * fit.slope < 0.0 && s.abs() > 0.5 * fit.slope.abs());
    if reverses {
        return refuse(
            Reason::SeasonalOrNoisy,
            format!(
                "the slope changes sign within the window (per third: {}); {about}",
                thirds
                    .iter()
                    .map(|s| number(*s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }

    if fit.slope * sign <= 0.0 {
        return refuse(
            Reason::NoTrend,
            format!(
                "the series moves away from the threshold {}; {about}",
                number(threshold)
            ),
        );
    }

    // Crossing times (days since t0) of lines through the data's centre.
    let (tc, yc) = (fit.center_t, fit.center_y);
    let crossing = |slope: f64, target: f64| tc + (target - yc) / slope;
    let now_d = (now_ms - t0) as f64 / DAY_MS;
    let eta_d = crossing(fit.slope, level).max(now_d);
    let (s_lo, s_hi) = fit
        .slope_interval(n_eff, config.coverage)
        .unwrap_or((fit.slope, fit.slope));
    let (fast, slow) = if sign > 0.0 {
        (s_hi, s_lo)
    } else {
        (s_lo, s_hi)
    };
    let z = normal_quantile(0.5 + config.coverage / 2.0);
    let noise = z * fit.residual_sigma;
    let low_d = if fast * sign > 0.0 {
        crossing(fast, level - sign * noise).clamp(now_d, eta_d)
    } else {
        now_d
    };
    let high_d = if slow * sign > 0.0 {
        crossing(slow, level).max(eta_d)
    } else {
        f64::INFINITY
    };
    let span_d = span_ms as f64 / DAY_MS;
    if eta_d - now_d > config.horizon * span_d || !high_d.is_finite() {
        let when = if eta_d - now_d > config.horizon * span_d {
            format!(
                "at this rate the threshold {} is {} away, more than {}× the data's span",
                number(threshold),
                duration((eta_d - now_d) * DAY_MS),
                config.horizon
            )
        } else {
            "the slowest plausible trend never reaches the threshold".to_string()
        };
        return refuse(Reason::TooFarAhead, format!("{when}; {about}"));
    }
    let to_ms = |d: f64| t0.saturating_add((d * DAY_MS).round().clamp(-9e18, 9e18) as i64);
    let (eta_ms, low_ms, high_ms) = (to_ms(eta_d), to_ms(low_d), to_ms(high_d));
    Eta::Forecast(Forecast {
        eta_ms,
        low_ms: low_ms.min(eta_ms).max(now_ms),
        high_ms: high_ms.max(eta_ms),
        basis: format!(
            "{about}: reaches {} in {} (most likely {})",
            number(threshold),
            duration_range((low_d - now_d) * DAY_MS, (high_d - now_d) * DAY_MS),
            duration((eta_d - now_d) * DAY_MS)
        ),
        points: n,
        model,
        direction,
    })
}

/// A Theil–Sen line and what the interval needs.
struct Fit {
    slope: f64,
    /// Pairwise slopes, sorted.
    slopes: Vec<f64>,
    /// The line passes through (center_t, center_y): the median time and the median of
    /// `y − slope · (t − center_t)`.
    center_t: f64,
    center_y: f64,
    residuals: Vec<f64>,
    /// Robust spread of the residuals (1.4826 × MAD).
    residual_sigma: f64,
}

impl Fit {
    fn new(t: &[f64], y: &[f64], max_pairs: usize, rng: &mut SplitMix64) -> Fit {
        let n = t.len();
        let mut slopes = Vec::new();
        let all_pairs = n * n.saturating_sub(1) / 2;
        if all_pairs <= max_pairs.max(1) {
            for i in 0..n {
                for j in i + 1..n {
                    if t[j] != t[i] {
                        slopes.push((y[j] - y[i]) / (t[j] - t[i]));
                    }
                }
            }
        } else {
            let mut tries = 0;
            while slopes.len() < max_pairs && tries < 4 * max_pairs {
                tries += 1;
                let (i, j) = (rng.below(n as u64) as usize, rng.below(n as u64) as usize);
                if t[j] != t[i] {
                    slopes.push((y[j] - y[i]) / (t[j] - t[i]));
                }
            }
        }
        slopes.sort_by(f64::total_cmp);
        let slope = if slopes.is_empty() {
            0.0
        } else {
            let m = slopes.len();
            if m % 2 == 1 {
                slopes[m / 2]
            } else {
                (slopes[m / 2 - 1] + slopes[m / 2]) / 2.0
            }
        };
        let center_t = median(t).unwrap_or(0.0);
        let mut levels: Vec<f64> = t
            .iter()
            .zip(y)
            .map(|(ti, yi)| yi - slope * (ti - center_t))
            .collect();
        let center_y = median_mut(&mut levels).unwrap_or(0.0);
        let residuals: Vec<f64> = t
            .iter()
            .zip(y)
            .map(|(ti, yi)| yi - (center_y + slope * (ti - center_t)))
            .collect();
        let mut abs: Vec<f64> = residuals.iter().map(|r| r.abs()).collect();
        let residual_sigma = 1.4826 * median_mut(&mut abs).unwrap_or(0.0);
        Fit {
            slope,
            slopes,
            center_t,
            center_y,
            residuals,
            residual_sigma,
        }
    }

    /// The median absolute residual in the values' own units (`log_space`: this fit is of
    /// their logarithms).
    fn abs_residual_in(&self, t: &[f64], values: &[f64], log_space: bool) -> f64 {
        let mut abs: Vec<f64> = t
            .iter()
            .zip(values)
            .map(|(ti, v)| {
                let fitted = self.center_y + self.slope * (ti - self.center_t);
                (v - if log_space { fitted.exp() } else { fitted }).abs()
            })
            .collect();
        median_mut(&mut abs).unwrap_or(f64::INFINITY)
    }

    /// Sen's distribution-free confidence interval for the slope at `confidence`, with the
    /// variance of Kendall's S for `n_eff` independent points, read off the pairwise slopes'
    /// quantiles. `None`: unbounded (too few effective points).
    fn slope_interval(&self, n_eff: f64, confidence: f64) -> Option<(f64, f64)> {
        if self.slopes.is_empty() || n_eff < 3.0 {
            return None;
        }
        let z = normal_quantile(0.5 + confidence / 2.0);
        let pairs = n_eff * (n_eff - 1.0) / 2.0;
        let c = z * (n_eff * (n_eff - 1.0) * (2.0 * n_eff + 5.0) / 18.0).sqrt();
        let share = c / pairs;
        if share >= 1.0 {
            return None;
        }
        let mut s = self.slopes.clone();
        let lo = quantile_mut(&mut s, (1.0 - share) / 2.0)?;
        let hi = quantile_mut(&mut s, (1.0 + share) / 2.0)?;
        Some((lo, hi))
    }
}

/// `n / τ`, with τ the integrated autocorrelation time of the residuals: 1 + 2 Σ ρ_k, summed
/// over lags while the autocorrelation stays positive (at most 1000 lags).
fn effective_points(residuals: &[f64]) -> f64 {
    let n = residuals.len();
    let mean = residuals.iter().sum::<f64>() / n.max(1) as f64;
    let centred: Vec<f64> = residuals.iter().map(|r| r - mean).collect();
    let var: f64 = centred.iter().map(|r| r * r).sum();
    if n < 4 || var <= 0.0 {
        return n as f64;
    }
    let mut tau = 1.0;
    for k in 1..(n / 4).min(1000) {
        let rho = centred[..n - k]
            .iter()
            .zip(&centred[k..])
            .map(|(a, b)| a * b)
            .sum::<f64>()
            / var;
        if rho <= 0.0 {
            break;
        }
        tau += 2.0 * rho;
    }
    (n as f64 / tau).clamp(1.0, n as f64)
}

/// The standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9).
fn normal_quantile(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// "41 days, 960 hourly points".
fn describe(pts: &[(i64, f64)]) -> String {
    let n = pts.len();
    let span = (pts[n - 1].0 - pts[0].0) as f64;
    let gaps: Vec<f64> = pts.windows(2).map(|w| (w[1].0 - w[0].0) as f64).collect();
    let step = median(&gaps).unwrap_or(0.0);
    let near = |unit: f64| (step - unit).abs() <= 0.1 * unit;
    let every = if near(60_000.0) {
        format!("{n} per-minute points")
    } else if near(HOUR_MS as f64) {
        format!("{n} hourly points")
    } else if near(DAY_MS) {
        format!("{n} daily points")
    } else if step > 0.0 {
        format!("{n} points about {} apart", duration(step))
    } else {
        format!("{n} points")
    };
    format!("{}, {every}", duration(span))
}

/// A human duration: "41 days", "5.5 hours", "20 minutes".
fn duration(ms: f64) -> String {
    let ms = ms.max(0.0);
    let (value, unit) = if ms >= 2.0 * DAY_MS {
        (ms / DAY_MS, "days")
    } else if ms >= 2.0 * HOUR_MS as f64 {
        (ms / HOUR_MS as f64, "hours")
    } else if ms >= 120_000.0 {
        (ms / 60_000.0, "minutes")
    } else {
        (ms / 1000.0, "seconds")
    };
    if value >= 10.0 {
        format!("{value:.0} {unit}")
    } else {
        format!("{value:.1} {unit}")
    }
}

/// "12–19 days", or "20 hours–3.5 days" when the units differ.
fn duration_range(a: f64, b: f64) -> String {
    let (x, y) = (duration(a), duration(b));
    match (x.split_once(' '), y.split_once(' ')) {
        (Some((xv, xu)), Some((yv, yu))) if xu == yu => format!("{xv}–{yv} {yu}"),
        _ => format!("{x}–{y}"),
    }
}

/// Three significant digits, without exponent noise for everyday magnitudes.
fn number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
    if v.abs() >= 1e-4 && v.abs() < 1e9 {
        format!("{v:.digits$}")
    } else {
        format!("{v:.2e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;
    const H: i64 = HOUR_MS;

    /// Hourly points over `days` from T0: `f(day) + noise · N(0, 1)`.
    fn hourly(days: i64, noise: f64, seed: u64, mut f: impl FnMut(f64) -> f64) -> Vec<(i64, f64)> {
        let mut rng = SplitMix64::new(seed);
        (0..days * 24)
            .map(|h| {
                let d = h as f64 / 24.0;
                (T0 + h * H, f(d) + noise * rng.normal())
            })
            .collect()
    }

    fn day(d: f64) -> i64 {
        T0 + (d * DAY_MS) as i64
    }

    enum Want {
        /// A date about `truth` days after T0, within `tol` days, inside the interval.
        Date {
            truth: f64,
            tol: f64,
        },
        Now,
        Refused(&'static [Reason]),
    }

    struct Case {
        name: &'static str,
        points: Vec<(i64, f64)>,
        threshold: f64,
        direction: Option<Direction>,
        want: Want,
    }

    #[test]
    fn time_to_threshold_dates_trends_and_refuses_the_rest() {
        let cases = vec![
            Case {
                name: "clean linear ramp",
                // 10 + 0.5/day: reaches 35 on day 50; 41 days of data.
                points: hourly(41, 0.3, 1, |d| 10.0 + 0.5 * d),
                threshold: 35.0,
                direction: None,
                want: Want::Date {
                    truth: 50.0,
                    tol: 0.5,
                },
            },
            Case {
                name: "noisy linear ramp",
                points: hourly(41, 3.0, 2, |d| 10.0 + 0.5 * d),
                threshold: 35.0,
                direction: Some(Direction::Rising),
                want: Want::Date {
                    truth: 50.0,
                    tol: 3.0,
                },
            },
            Case {
                name: "ramp with a daily cycle",
                points: hourly(41, 0.5, 3, |d| {
                    10.0 + 0.5 * d + 2.0 * (std::f64::consts::TAU * d).sin()
                }),
                threshold: 35.0,
                direction: None,
                want: Want::Date {
                    truth: 50.0,
                    tol: 2.0,
                },
            },
            Case {
                name: "exponential growth",
                // 2·e^(d/10) (±2%): reaches 200 at d = 10 ln 100 = 46.05.
                points: {
                    let mut rng = SplitMix64::new(4);
                    hourly(41, 0.0, 4, |d| {
                        2.0 * (d / 10.0).exp() * (1.0 + 0.02 * rng.normal())
                    })
                },
                threshold: 200.0,
                direction: None,
                want: Want::Date {
                    truth: 46.05,
                    tol: 1.0,
                },
            },
            Case {
                name: "falling battery",
                // 3.0 V − 0.01 V/day: reaches 2.5 V on day 50.
                points: hourly(30, 0.01, 5, |d| 3.0 - 0.01 * d),
                threshold: 2.5,
                direction: None,
                want: Want::Date {
                    truth: 50.0,
                    tol: 3.0,
                },
            },
            Case {
                name: "flat noisy series",
                points: hourly(41, 1.0, 6, |_| 5.0),
                threshold: 10.0,
                direction: None,
                want: Want::Refused(&[Reason::NoTrend]),
            },
            Case {
                name: "sine with the threshold above its max",
                // 2.3 periods of a 9-day swing between 7 and 13.
                points: hourly(21, 0.2, 7, |d| {
                    10.0 + 3.0 * (std::f64::consts::TAU * d / 9.0).sin()
                }),
                threshold: 14.0,
                direction: None,
                want: Want::Refused(&[Reason::SeasonalOrNoisy, Reason::NoTrend]),
            },
            Case {
                name: "slow sine over 1.3 periods",
                points: hourly(41, 0.2, 8, |d| {
                    10.0 + 3.0 * (std::f64::consts::TAU * d / 31.0).sin()
                }),
                threshold: 14.0,
                direction: None,
                want: Want::Refused(&[Reason::SeasonalOrNoisy, Reason::NoTrend]),
            },
            Case {
                name: "daily cycle without a trend",
                points: hourly(41, 0.3, 13, |d| {
                    10.0 + 3.0 * (std::f64::consts::TAU * d).sin()
                }),
                threshold: 14.0,
                direction: None,
                want: Want::Refused(&[Reason::SeasonalOrNoisy, Reason::NoTrend]),
            },
            Case {
                name: "rose, then turned",
                // Up 0.5/day for 28 days, then down 0.5/day.
                points: hourly(41, 0.3, 14, |d| {
                    10.0 + 0.5 * d.min(28.0) - 0.5 * (d - 28.0).max(0.0)
                }),
                threshold: 40.0,
                direction: None,
                want: Want::Refused(&[Reason::SeasonalOrNoisy]),
            },
            Case {
                name: "trending away from the threshold",
                points: hourly(41, 0.3, 9, |d| 10.0 + 0.5 * d),
                threshold: 0.0,
                direction: None,
                want: Want::Refused(&[Reason::NoTrend]),
            },
            Case {
                name: "trending away, direction given",
                points: hourly(41, 0.3, 10, |d| 10.0 + 0.5 * d),
                threshold: 5.0,
                direction: Some(Direction::Falling),
                want: Want::Refused(&[Reason::NoTrend]),
            },
            Case {
                name: "already beyond the threshold",
                points: hourly(41, 0.3, 11, |d| 10.0 + 0.5 * d),
                threshold: 20.0,
                direction: None,
                want: Want::Now,
            },
            Case {
                name: "too few points",
                points: (0..5).map(|i| (T0 + i * DAY_MS as i64, i as f64)).collect(),
                threshold: 10.0,
                direction: None,
                want: Want::Refused(&[Reason::NotEnoughData]),
            },
            Case {
                name: "too short a span",
                points: (0..100).map(|i| (T0 + i * 60_000, i as f64)).collect(),
                threshold: 1000.0,
                direction: None,
                want: Want::Refused(&[Reason::NotEnoughData]),
            },
            Case {
                name: "no points",
                points: vec![],
                threshold: 1.0,
                direction: None,
                want: Want::Refused(&[Reason::NotEnoughData]),
            },
            Case {
                name: "a slight trend far from the threshold",
                points: hourly(10, 0.3, 12, |d| 10.0 + 0.1 * d),
                threshold: 100.0,
                direction: None,
                want: Want::Refused(&[Reason::TooFarAhead]),
            },
        ];
        for case in cases {
            let now = case.points.last().map_or(T0, |p| p.0);
            let eta = time_to_threshold(
                &case.points,
                case.threshold,
                case.direction,
                now,
                &TrendConfig::default(),
            );
            let name = case.name;
            match (&case.want, &eta) {
                (Want::Date { truth, tol }, Eta::Forecast(f)) => {
                    let truth_ms = day(*truth);
                    let err_days = (f.eta_ms - truth_ms) as f64 / DAY_MS;
                    assert!(
                        err_days.abs() <= *tol,
                        "{name}: off by {err_days:.2} days: {f:?}"
                    );
                    assert!(
                        f.low_ms <= truth_ms && truth_ms <= f.high_ms,
                        "{name}: truth outside [{:.2}, {:.2}] days: {}",
                        (f.low_ms - T0) as f64 / DAY_MS,
                        (f.high_ms - T0) as f64 / DAY_MS,
                        f.basis
                    );
                    assert!(now <= f.low_ms && f.low_ms <= f.eta_ms && f.eta_ms <= f.high_ms);
                    assert_eq!(f.points, case.points.len());
                }
                (Want::Now, Eta::Forecast(f)) => {
                    assert_eq!((f.eta_ms, f.low_ms, f.high_ms), (now, now, now), "{name}");
                    assert!(f.basis.starts_with("already above"), "{name}: {}", f.basis);
                }
                (Want::Refused(reasons), Eta::NoTrend { reason, basis, .. }) => {
                    assert!(reasons.contains(reason), "{name}: {reason:?}: {basis}");
                    assert!(basis.starts_with(&reason.to_string()), "{name}: {basis}");
                }
                _ => panic!("{name}: unexpected {eta:?}"),
            }
            eprintln!("{name}: {}", eta.basis());
        }
    }

    #[test]
    fn picks_the_exponential_model_only_when_clearly_better() {
        let exp = hourly(41, 0.0, 1, |d| 2.0 * (d / 10.0).exp());
        let f = time_to_threshold(
            &exp,
            200.0,
            None,
            exp[exp.len() - 1].0,
            &TrendConfig::default(),
        );
        assert_eq!(
            f.forecast().map(|f| f.model),
            Some(Model::Exponential),
            "{f:?}"
        );
        assert!(
            f.basis().contains("doubling every 6.9 days"),
            "{}",
            f.basis()
        );
        let lin = hourly(41, 0.3, 2, |d| 10.0 + 0.5 * d);
        let f = time_to_threshold(
            &lin,
            35.0,
            None,
            lin[lin.len() - 1].0,
            &TrendConfig::default(),
        );
        assert_eq!(f.forecast().map(|f| f.model), Some(Model::Linear), "{f:?}");
        assert!(
            f.basis()
                .starts_with("linear trend over 41 days, 984 hourly points, rising 0.500 a day"),
            "{}",
            f.basis()
        );
    }

    #[test]
    fn ignores_non_finite_values_and_points_after_now() {
        let mut pts = hourly(41, 0.3, 1, |d| 10.0 + 0.5 * d);
        let now = pts[pts.len() - 1].0;
        pts.push((T0 + 5 * H + 1, f64::NAN));
        pts.push((T0 + 6 * H + 1, f64::INFINITY));
        pts.push((now + DAY_MS as i64, 1e9));
        pts.reverse();
        let f = time_to_threshold(&pts, 35.0, None, now, &TrendConfig::default());
        let f = f.forecast().expect("a date");
        assert_eq!(f.points, 41 * 24);
        assert!(((f.eta_ms - day(50.0)) as f64 / DAY_MS).abs() < 0.5);
    }

    #[test]
    fn ten_thousand_points_cost_milliseconds() {
        let pts: Vec<(i64, f64)> = {
            let mut rng = SplitMix64::new(3);
            (0..10_000)
                .map(|i| {
                    (
                        T0 + i * 10 * 60_000,
                        10.0 + i as f64 * 1e-3 + 0.3 * rng.normal(),
                    )
                })
                .collect()
        };
        let start = std::time::Instant::now();
        let f = time_to_threshold(&pts, 30.0, None, pts[9_999].0, &TrendConfig::default());
        let took = start.elapsed();
        eprintln!("10k points: {took:?}: {}", f.basis());
        assert!(f.forecast().is_some(), "{f:?}");
        // Generous for unoptimised builds; release takes a few milliseconds.
        assert!(took.as_secs_f64() < 5.0, "{took:?}");
    }

    #[test]
    fn normal_quantiles() {
        for (p, z) in [
            (0.5, 0.0),
            (0.9, 1.281_551_565_5),
            (0.995, 2.575_829_303_5),
            (0.01, -2.326_347_874),
        ] {
            assert!((normal_quantile(p) - z).abs() < 1e-8, "{p}");
        }
    }

    #[test]
    fn human_words() {
        assert_eq!(duration(41.0 * DAY_MS), "41 days");
        assert_eq!(duration(5.5 * HOUR_MS as f64), "5.5 hours");
        assert_eq!(duration(20.0 * 60_000.0), "20 minutes");
        assert_eq!(duration_range(12.0 * DAY_MS, 19.4 * DAY_MS), "12–19 days");
        assert_eq!(
            duration_range(20.0 * HOUR_MS as f64, 3.5 * DAY_MS),
            "20 hours–3.5 days"
        );
        assert_eq!(number(0.5), "0.500");
        assert_eq!(number(1234.5), "1234");
        assert_eq!(number(-0.012_34), "-0.0123");
    }
}
