//! Small robust statistics and a seeded random number generator, written out so the crate
//! needs nothing beyond serde and thiserror.

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, seedable and good enough for sampling pairs
/// and choosing cut points. The same seed gives the same stream on every platform.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)`; `n` must be positive. (The modulo bias is below 2^-40 for the sizes
    /// used here.)
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Shuffles in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// The `q`-quantile (0 ≤ q ≤ 1) of `values`, interpolating linearly between order statistics.
/// Reorders `values`. `None` when empty.
pub fn quantile_mut(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let frac = pos - lo as f64;
    let (_, &mut a, rest) = values.select_nth_unstable_by(lo, f64::total_cmp);
    if frac == 0.0 || rest.is_empty() {
        return Some(a);
    }
    let b = rest.iter().copied().fold(f64::INFINITY, f64::min);
    Some(a + frac * (b - a))
}

/// The median of `values` (reordering them); `None` when empty.
pub fn median_mut(values: &mut [f64]) -> Option<f64> {
    quantile_mut(values, 0.5)
}

/// The median of a copy of `values`.
pub fn median(values: &[f64]) -> Option<f64> {
    median_mut(&mut values.to_vec())
}

/// The `q`-quantile of `(value, weight)` pairs: the smallest value whose cumulative weight
/// reaches `q` of the total, interpolated at the midpoints of each weight's span. Reorders the
/// pairs. `None` when empty or all weights are zero.
pub fn weighted_quantile(pairs: &mut [(f64, f64)], q: f64) -> Option<f64> {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    if pairs.is_empty() || total <= 0.0 || !total.is_finite() {
        return None;
    }
    let target = q.clamp(0.0, 1.0) * total;
    let mut acc = 0.0;
    let mut prev: Option<(f64, f64)> = None;
    for &(v, w) in pairs.iter() {
        let mid = acc + w / 2.0;
        if mid >= target {
            return Some(match prev {
                Some((pv, pmid)) if mid > pmid => pv + (v - pv) * (target - pmid) / (mid - pmid),
                _ => v,
            });
        }
        prev = Some((v, mid));
        acc += w;
    }
    pairs.last().map(|p| p.0)
}

/// Median absolute deviation from the median, scaled by 1.4826 so that it estimates the
/// standard deviation of normal data.
pub fn mad_sigma(values: &[f64]) -> Option<f64> {
    let m = median(values)?;
    let mut dev: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    median_mut(&mut dev).map(|d| 1.4826 * d)
}

pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Solves the symmetric positive definite system `a x = b` (row-major `n × n`) by Cholesky
/// decomposition; `None` when `a` is not positive definite.
pub fn solve_spd(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    debug_assert_eq!(a.len(), n * n);
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let cases: &[(&[f64], f64, f64)] = &[
            (&[3.0, 1.0, 2.0], 0.5, 2.0),
            (&[4.0, 1.0, 2.0, 3.0], 0.5, 2.5),
            (&[5.0], 0.9, 5.0),
            (&[1.0, 2.0, 3.0, 4.0, 5.0], 0.0, 1.0),
            (&[1.0, 2.0, 3.0, 4.0, 5.0], 1.0, 5.0),
            (&[1.0, 2.0, 3.0, 4.0, 5.0], 0.25, 2.0),
            (&[10.0, 0.0], 0.1, 1.0),
        ];
        for &(values, q, want) in cases {
            let got = quantile_mut(&mut values.to_vec(), q).unwrap();
            assert!((got - want).abs() < 1e-12, "{values:?} q={q}: {got}");
        }
        assert_eq!(quantile_mut(&mut [], 0.5), None);
    }

    #[test]
    fn weighted_quantiles_match_unweighted_ones_for_equal_weights() {
        let mut pairs: Vec<(f64, f64)> = [4.0, 1.0, 3.0, 2.0].iter().map(|&v| (v, 1.0)).collect();
        assert_eq!(weighted_quantile(&mut pairs, 0.5), Some(2.5));
        let mut heavy = vec![(1.0, 1.0), (2.0, 10.0), (3.0, 1.0)];
        assert_eq!(weighted_quantile(&mut heavy, 0.5), Some(2.0));
        assert_eq!(weighted_quantile(&mut [], 0.5), None);
        assert_eq!(weighted_quantile(&mut [(1.0, 0.0)], 0.5), None);
    }

    #[test]
    fn cholesky_solves() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let x = solve_spd(&a, &[2.0, 1.0]).unwrap();
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-12);
        assert!((2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-12);
        assert_eq!(solve_spd(&[0.0], &[1.0]), None);
    }

    #[test]
    fn splitmix_is_reproducible_and_spread() {
        let (mut a, mut b) = (SplitMix64::new(7), SplitMix64::new(7));
        assert_eq!(a.next_u64(), b.next_u64());
        let mean_unit = (0..10_000).map(|_| a.unit()).sum::<f64>() / 10_000.0;
        assert!((mean_unit - 0.5).abs() < 0.02);
        let normals: Vec<f64> = (0..10_000).map(|_| a.normal()).collect();
        assert!(mean(&normals).abs() < 0.05);
        assert!((mad_sigma(&normals).unwrap() - 1.0).abs() < 0.05);
    }
}
