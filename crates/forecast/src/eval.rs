//! Cross-validation of the remaining-life model on a fleet of run-to-failure histories, with
//! the figures the prognostics literature reports: RMSE, the PHM08 score, interval coverage.

use crate::fleet::Unit;
use crate::rul::{random_cut, RulConfig, RulError, RulModel};
use crate::stats::SplitMix64;

/// The PHM08 challenge's score for one estimate, `d = estimate − truth`: late estimates
/// (d ≥ 0) cost `exp(d/10) − 1`, early ones `exp(−d/13) − 1`. Lower is better; a data set's
/// score is the sum over its units.
pub fn phm08(d: f64) -> f64 {
    if d < 0.0 {
        (-d / 13.0).exp() - 1.0
    } else {
        (d / 10.0).exp() - 1.0
    }
}

/// One held-out unit, cut short and estimated.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    pub asset: u32,
    /// Cycles the estimate saw.
    pub observed: usize,
    /// The true remaining life, and the same capped as the model caps it.
    pub truth: f64,
    pub truth_capped: f64,
    pub rul: f64,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub trials: Vec<Trial>,
}

/// Summary figures over a set of trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub n: usize,
    pub rmse: f64,
    pub mae: f64,
    /// Mean of estimate − truth (positive: late).
    pub bias: f64,
    pub phm08_total: f64,
    pub phm08_mean: f64,
    /// Share of truths inside [low, high].
    pub coverage: f64,
}

impl Report {
    /// Figures against the capped truth (the customary protocol: "125" means "125 or more").
    pub fn capped(&self) -> Figures {
        figures(self.trials.iter().map(|t| (t, t.truth_capped)))
    }

    /// Figures against the true remaining life, over all trials.
    pub fn raw(&self) -> Figures {
        figures(self.trials.iter().map(|t| (t, t.truth)))
    }

    /// Figures over the trials whose true remaining life is within the cap (where capping
    /// changes nothing).
    pub fn within_cap(&self) -> Figures {
        figures(
            self.trials
                .iter()
                .filter(|t| t.truth <= t.truth_capped)
                .map(|t| (t, t.truth)),
        )
    }
}

fn figures<'a>(items: impl Iterator<Item = (&'a Trial, f64)>) -> Figures {
    let (mut n, mut se, mut ae, mut sum_d, mut score, mut inside) = (0, 0.0, 0.0, 0.0, 0.0, 0);
    for (t, truth) in items {
        let d = t.rul - truth;
        n += 1;
        se += d * d;
        ae += d.abs();
        sum_d += d;
        score += phm08(d);
        if t.low <= truth && truth <= t.high {
            inside += 1;
        }
    }
    let nf = (n as f64).max(1.0);
    Figures {
        n,
        rmse: (se / nf).sqrt(),
        mae: ae / nf,
        bias: sum_d / nf,
        phm08_total: score,
        phm08_mean: score / nf,
        coverage: inside as f64 / nf,
    }
}

/// `folds`-fold cross-validation: units are shuffled (seeded) into folds; each held-out unit
/// is cut at a random point (at least `config.min_observed` cycles kept, at least one left)
/// and estimated by a model fitted, calibration included, on the other folds only.
pub fn cross_validate(
    units: &[Unit],
    folds: usize,
    seed: u64,
    config: &RulConfig,
) -> Result<Report, RulError> {
    let folds = folds.clamp(2, units.len().max(2));
    let mut rng = SplitMix64::new(seed);
    let mut order: Vec<usize> = (0..units.len()).collect();
    rng.shuffle(&mut order);
    let mut report = Report::default();
    for f in 0..folds {
        let (test, train): (Vec<usize>, Vec<usize>) =
            (0..order.len()).partition(|&i| i % folds == f);
        let train: Vec<Unit> = train.iter().map(|&i| units[order[i]].clone()).collect();
        let model = RulModel::fit(&train, config)?;
        for &i in &test {
            let unit = &units[order[i]];
            let kept = random_cut(&mut rng, unit.len(), config.min_observed);
            let truth = (unit.len() - kept) as f64;
            let e = model.predict(&unit.truncated(kept));
            report.trials.push(Trial {
                asset: unit.asset,
                observed: kept,
                truth,
                truth_capped: truth.min(config.cap),
                rul: e.rul,
                low: e.low,
                high: e.high,
            });
        }
    }
    report.trials.sort_by_key(|t| t.asset);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phm08_punishes_late_more_than_early() {
        assert_eq!(phm08(0.0), 0.0);
        assert!((phm08(10.0) - (1f64.exp() - 1.0)).abs() < 1e-12);
        assert!((phm08(-13.0) - (1f64.exp() - 1.0)).abs() < 1e-12);
        assert!(phm08(20.0) > phm08(-20.0));
    }
}
