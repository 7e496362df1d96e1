//! Deterministic, lifelike signals: a function of time and a seed, so a test can predict them and
//! two runs of the demo look alike.

use std::f64::consts::TAU;

/// Uniform noise in [-1, 1] for (seed, t): a hash, not a generator, so it needs no state.
pub fn noise(seed: u64, t_ms: i64) -> f64 {
    let mut x = seed ^ (t_ms as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// A slow wave around `mean` with period `period_s`, plus noise of amplitude `jitter`.
pub fn wave(seed: u64, t_ms: i64, mean: f64, amplitude: f64, period_s: f64, jitter: f64) -> f64 {
    let phase = (seed % 1000) as f64 / 1000.0 * TAU;
    let t = t_ms as f64 / 1000.0;
    mean + amplitude * (TAU * t / period_s + phase).sin() + jitter * noise(seed, t_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_bounded_repeatable_and_varied() {
        let samples: Vec<f64> = (0..10_000).map(|t| noise(7, t * 1000)).collect();
        assert!(samples.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert_eq!(noise(7, 5000), noise(7, 5000));
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!(samples.iter().any(|v| *v > 0.9) && samples.iter().any(|v| *v < -0.9));
    }

    #[test]
    fn wave_stays_in_its_band() {
        for t in (0..3_600_000).step_by(997) {
            let v = wave(3, t, 20.0, 2.0, 600.0, 0.5);
            assert!((17.5..=22.5).contains(&v), "{v}");
        }
    }
}
