//! Cross-validates the remaining-life model on a C-MAPSS training file and prints RMSE, the
//! PHM08 score and the 80% interval's coverage.
//!
//! ```text
//! cargo run --release -p telltale-forecast --example cmapss_cv -- \
//!     /work/shared/data/cmapss/train_FD001.txt [--folds 5] [--seed 101] [--repeats 10] [--by-truth]
//! ```
//!
//! One repeat is a `folds`-fold cross-validation over the units: each held-out unit is cut at
//! a random point (at least 30 cycles kept, at least one left) and estimated by a model fitted,
//! calibration included, on the other folds. Repeats reshuffle the folds and redraw the cuts.
//!
//! Figures are given three ways. **capped** (the customary protocol, and the one the bars are
//! read against): the truth is capped like the estimates, so "125" means "125 or more".
//! **truth ≤ cap**: only the units whose true remaining life is within the cap, against the
//! raw truth (closest to the C-MAPSS test set, whose truths are 7–145). **all, raw**: for
//! completeness; a capped estimate of a unit with 300 cycles left is 175 cycles "early", which
//! PHM08's exponential turns into millions.
//! The PHM08 score is a sum over units; "/100" is it per 100 units (FD001's test set size).

use std::process::ExitCode;
use std::time::Instant;
use telltale_forecast::eval::{cross_validate, Figures, Report};
use telltale_forecast::{parse_fleet, RulConfig, RulModel};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cmapss_cv: {e}");
            ExitCode::FAILURE
        }
    }
}

const VIEWS: [&str; 3] = ["capped", "truth <= cap", "all, raw"];

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let (mut folds, mut seed, mut repeats, mut by_truth) = (5usize, 101u64, 10u64, false);
    let mut config = RulConfig::default();
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Result<f64, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{name} needs a number"))
        };
        match a.as_str() {
            "--folds" => folds = num("--folds")? as usize,
            "--seed" => seed = num("--seed")? as u64,
            "--repeats" => repeats = (num("--repeats")? as u64).max(1),
            "--by-truth" => by_truth = true,
            // Model settings, for experiments.
            "--cap" => config.cap = num("--cap")?,
            "--window" => config.windows = vec![num("--window")? as usize],
            "--windows" => {
                let list = args.next().unwrap_or_default();
                config.windows = list.split(',').filter_map(|w| w.parse().ok()).collect();
            }
            "--neighbours" => config.neighbours = num("--neighbours")? as usize,
            "--smooth" => config.smooth = num("--smooth")? as usize,
            "--anchor" => config.anchor = num("--anchor")?,
            _ if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ => path = Some(a),
        }
    }
    let path = path.ok_or("usage: cmapss_cv TRAIN.txt [--folds N] [--seed S] [--repeats R]")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let units = parse_fleet(&text).map_err(|e| format!("{path}: {e}"))?;

    let start = Instant::now();
    let model = RulModel::fit(&units, &config).map_err(|e| e.to_string())?;
    let fit = start.elapsed();
    let running: Vec<_> = units.iter().map(|u| u.truncated(u.len() / 2)).collect();
    let start = Instant::now();
    for u in &running {
        std::hint::black_box(model.predict(u));
    }
    let predict = start.elapsed();
    println!(
        "{path}: {} units, {} rows; sensors used {:?}; RUL capped at {} cycles",
        units.len(),
        units.iter().map(|u| u.len()).sum::<usize>(),
        model.sensors(),
        config.cap
    );
    println!(
        "speed: fit on {} histories (calibration included) {:.0} ms; {} estimates {:.1} ms",
        units.len(),
        fit.as_secs_f64() * 1e3,
        running.len(),
        predict.as_secs_f64() * 1e3
    );
    println!(
        "{folds}-fold cross-validation, one random cut per held-out unit (>= {} cycles kept), \
         seeds {seed}..={}",
        config.min_observed,
        seed + repeats - 1
    );
    println!(
        "{:<6} {:<13} {:>4} {:>6} {:>6} {:>6} {:>10} {:>8} {:>8} {:>8}",
        "seed", "truth", "n", "RMSE", "MAE", "bias", "PHM08", "PHM08/u", "/100", "coverage"
    );
    let mut all: [Vec<Figures>; 3] = Default::default();
    for s in seed..seed + repeats {
        let report = cross_validate(&units, folds, s, &config).map_err(|e| e.to_string())?;
        if by_truth {
            print_by_truth(&report);
        }
        let views = [report.capped(), report.within_cap(), report.raw()];
        for ((name, f), acc) in VIEWS.iter().zip(views).zip(all.iter_mut()) {
            line(&s.to_string(), name, &f);
            acc.push(f);
        }
    }
    if repeats > 1 {
        println!("over {repeats} repeats (mean, and [min, max] of RMSE, PHM08, coverage):");
        for (name, figs) in VIEWS.iter().zip(&all) {
            let mean = mean(figs);
            line("mean", name, &mean);
            let range = |f: fn(&Figures) -> f64| {
                let v = figs.iter().map(f);
                (
                    v.clone().fold(f64::INFINITY, f64::min),
                    v.fold(f64::NEG_INFINITY, f64::max),
                )
            };
            let (r, p, c) = (
                range(|f| f.rmse),
                range(|f| f.phm08_total),
                range(|f| f.coverage),
            );
            println!(
                "{:<6} {name:<13} RMSE [{:.2}, {:.2}]  PHM08 [{:.1}, {:.1}]  coverage [{:.0}%, {:.0}%]",
                "range",
                r.0,
                r.1,
                p.0,
                p.1,
                100.0 * c.0,
                100.0 * c.1
            );
        }
    }
    Ok(())
}

fn line(seed: &str, name: &str, f: &Figures) {
    println!(
        "{seed:<6} {name:<13} {:>4} {:>6.2} {:>6.2} {:>6.2} {:>10.1} {:>8.2} {:>8.1} {:>7.1}%",
        f.n,
        f.rmse,
        f.mae,
        f.bias,
        f.phm08_total,
        f.phm08_mean,
        100.0 * f.phm08_mean,
        100.0 * f.coverage
    );
}

fn mean(figs: &[Figures]) -> Figures {
    let k = figs.len().max(1) as f64;
    let m = |f: fn(&Figures) -> f64| figs.iter().map(f).sum::<f64>() / k;
    Figures {
        n: m(|f| f.n as f64).round() as usize,
        rmse: m(|f| f.rmse),
        mae: m(|f| f.mae),
        bias: m(|f| f.bias),
        phm08_total: m(|f| f.phm08_total),
        phm08_mean: m(|f| f.phm08_mean),
        coverage: m(|f| f.coverage),
    }
}

/// Error by true remaining life: where the model is good and where it struggles.
fn print_by_truth(report: &Report) {
    let bins = [0.0, 25.0, 50.0, 75.0, 100.0, 125.0, f64::INFINITY];
    for w in bins.windows(2) {
        let t: Vec<_> = report
            .trials
            .iter()
            .filter(|t| t.truth > w[0] && t.truth <= w[1])
            .collect();
        if t.is_empty() {
            continue;
        }
        let n = t.len() as f64;
        let d = |t: &&telltale_forecast::eval::Trial| t.rul - t.truth_capped;
        let rmse = (t.iter().map(|t| d(t).powi(2)).sum::<f64>() / n).sqrt();
        let bias = t.iter().map(d).sum::<f64>() / n;
        let inside = t
            .iter()
            .filter(|t| t.low <= t.truth_capped && t.truth_capped <= t.high)
            .count() as f64;
        let width = t.iter().map(|t| t.high - t.low).sum::<f64>() / n;
        println!(
            "       truth in ({:>3}, {:>3}]: n {:>3}, RMSE {rmse:6.2}, bias {bias:6.2}, coverage {:3.0}%, mean width {width:5.1}",
            w[0],
            w[1],
            t.len(),
            100.0 * inside / n
        );
    }
}
