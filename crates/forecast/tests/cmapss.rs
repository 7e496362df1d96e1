//! Golden data: the NASA C-MAPSS FD001 training set (100 turbofan engines run to failure),
//! kept beside the repository in `shared/data/cmapss/`.

use telltale_forecast::eval::cross_validate;
use telltale_forecast::{parse_fleet, RulConfig};

const FD001: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/cmapss/train_FD001.txt"
);

#[test]
fn two_fold_cross_validation_on_fd001_meets_the_bars_loosely() {
    let text = std::fs::read_to_string(FD001).unwrap_or_else(|e| panic!("{FD001}: {e}"));
    let units = parse_fleet(&text).unwrap();
    assert_eq!(units.len(), 100);
    assert_eq!(units.iter().map(|u| u.len()).sum::<usize>(), 20_631);
    let config = RulConfig::default();
    let start = std::time::Instant::now();
    let report = cross_validate(&units, 2, 1, &config).unwrap();
    let f = report.capped();
    eprintln!(
        "2-fold CV on FD001: RMSE {:.2}, PHM08 {:.1}, coverage {:.0}% ({:.1} s)",
        f.rmse,
        f.phm08_total,
        100.0 * f.coverage,
        start.elapsed().as_secs_f64()
    );
    assert_eq!(f.n, 100);
    assert!(f.rmse < 20.0, "RMSE {:.2}", f.rmse);
    assert!(
        (0.6..=0.95).contains(&f.coverage),
        "coverage {:.2}",
        f.coverage
    );
    for t in &report.trials {
        assert!(
            t.low <= t.rul && t.rul <= t.high && t.high <= config.cap,
            "{t:?}"
        );
        assert!(t.observed >= config.min_observed && t.truth >= 1.0, "{t:?}");
    }
}
