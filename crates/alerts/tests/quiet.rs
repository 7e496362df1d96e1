//! The anomaly rule with default parameters on series without anomalies, look-alikes of NAB's
//! `artificialNoAnomaly` files (readings every 5 minutes, 288 a day, 14 days): a square wave, a
//! flat line, gaussian noise, a daily sine with noise, a daily pattern whose noise is five times
//! larger in its high part than in its low part, and the same pattern without noise. None may
//! raise (but during a daily pattern's first day, when all of it is new, and rarely on
//! gaussian noise); and a clear anomaly injected into each must (quiet is not deafness).

mod common;

use common::{edges, one_rule, run, Step};

const DAY: usize = 288;
const DAYS: usize = 14;

/// Deterministic standard normal noise (xorshift and Box–Muller).
struct Gauss(u64);

impl Gauss {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn next(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// NAB's daily pattern: 20 at night, a step to 65 at 9:00 rising to 80 by the afternoon, an
/// exponential fall back to 20 from 18:00 (`phase`: where in the day reading 0 is). Whether the
/// reading is in the loud part of the day (the step to the end of the fall).
fn daily(i: usize, phase: usize) -> (f64, bool) {
    let p = (i + phase) % DAY;
    match p {
        0..108 => (20.0, false),
        108..216 => (
            65.0 + 15.0 * (1.0 - (-((p - 108) as f64) / 20.0).exp()),
            true,
        ),
        _ => (20.0 + 60.0 * (-((p - 216) as f64) / 6.0).exp(), p < 240),
    }
}

/// The look-alikes: (name, values).
fn series(seed: u64) -> Vec<(&'static str, Vec<f64>)> {
    let mut g = Gauss(seed);
    let n = DAY * DAYS;
    let phase = (seed as usize * 37) % DAY;
    let mut make = |f: &mut dyn FnMut(usize, &mut Gauss) -> f64| -> Vec<f64> {
        (0..n).map(|i| f(i, &mut g)).collect()
    };
    vec![
        (
            "square wave",
            make(&mut |i, _| {
                if (i + phase) % DAY < DAY / 2 {
                    80.0
                } else {
                    20.0
                }
            }),
        ),
        ("flat line", make(&mut |_, _| 42.5)),
        ("gaussian noise", make(&mut |_, g| 13.0 + 2.0 * g.next())),
        (
            "daily sine with noise",
            make(&mut |i, g| {
                let t = std::f64::consts::TAU * ((i + phase) % DAY) as f64 / DAY as f64;
                50.0 + 30.0 * t.sin() + 1.5 * g.next()
            }),
        ),
        (
            "daily pattern, noise 5 times larger in its high part",
            make(&mut |i, g| {
                let (v, loud) = daily(i, phase);
                v + if loud { 5.0 } else { 1.0 } * g.next()
            }),
        ),
        (
            "daily pattern without noise",
            make(&mut |i, _| daily(i, phase).0),
        ),
    ]
}

/// The raises, as reading indices.
fn raises(values: &[f64]) -> Vec<usize> {
    let steps: Vec<Step> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Step::R(i as i64 * 300_000, *v))
        .collect();
    edges(&run(
        &one_rule("metric = \"t\"\nkind = \"anomaly\""),
        &steps,
    ))
    .into_iter()
    .filter(|(_, e)| *e == "raised")
    .map(|(ts, _)| (ts / 300_000) as usize)
    .collect()
}

/// Over the first day each part of a daily pattern is seen for the first time: its first
/// step is a new level, flagged as any is (`anomaly_level_shift_is_flagged_then_learnt` in
/// `kinds.rs`). After that, nothing.
fn first_day_allowed(name: &str, raise: usize) -> bool {
    name.starts_with("daily pattern") && raise < DAY
}

#[test]
fn series_without_anomalies_raise_nothing() {
    let mut wrong = Vec::new();
    for seed in [1, 2, 3] {
        for (name, values) in series(seed) {
            if name == "gaussian noise" {
                continue;
            }
            let got = raises(&values);
            if got.iter().any(|&r| !first_day_allowed(name, r)) {
                wrong.push(format!("{name} (seed {seed}): raised at {got:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Gaussian noise has runs of tail values now and then (readings of 2.6, 2.8 and 3.3 spreads
/// within four, say), which the rule flags, cycles or not: 3 in these 10 series of 14 days, as
/// before the cycles were heeded. No more than that.
#[test]
fn gaussian_noise_raises_rarely() {
    let got: Vec<(u64, Vec<usize>)> = (1..=10)
        .map(|seed| {
            let (_, values) = series(seed).swap_remove(2);
            (seed, raises(&values))
        })
        .filter(|(_, r)| !r.is_empty())
        .collect();
    let total: usize = got.iter().map(|(_, r)| r.len()).sum();
    assert!(total <= 3, "{got:?}");
}

#[test]
fn an_anomaly_in_each_is_raised() {
    let mut missed = Vec::new();
    for seed in [1, 2, 3] {
        let phase = (seed as usize * 37) % DAY;
        for (name, mut values) in series(seed) {
            // On day 9, in the quiet night of the daily pattern (2 h after midnight of its
            // phase).
            let at = 8 * DAY + (24 + DAY - phase) % DAY;
            match name {
                // A flat line has no scale until it first moves (that move is not judged): a
                // sensor that moves by half a unit, then jumps by 20.
                "flat line" => {
                    values[at - 100] += 0.5;
                    values[at] += 20.0;
                }
                // A glitch: one reading ten times the wave's swing away (its smallest step, 60,
                // is its only scale).
                "square wave" => values[at] += 600.0,
                // Twelve spreads of the noise.
                "gaussian noise" => values[at] += 24.0,
                // One reading twice the day's swing away (the value is judged against its
                // level over the day as well as against the pattern: a spike within the day's
                // swing is not far out).
                "daily sine with noise" => values[at] += 60.0,
                _ => values[at] += 120.0,
            }
            let got = raises(&values);
            if !got.iter().any(|&r| (at..at + 8).contains(&r)) {
                missed.push(format!(
                    "{name} (seed {seed}): the anomaly at {at} was not raised: {got:?}"
                ));
            }
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
}
