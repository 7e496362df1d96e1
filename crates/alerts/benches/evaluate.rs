//! Evaluation cost per reading per rule, for 1, 10 and 100 rules matching one series, for
//! limit (high/low), anomaly and rate rules. The goal is at most 2 µs per reading per rule, 5 µs
//! for anomaly rules (each compares the latest 8 readings with every pattern in its last 768).
//!
//! `cargo bench -p telltale-alerts` prints one line per case.

use std::hint::black_box;
use std::time::{Duration, Instant};
use telltale_alerts::{Evaluator, RuleSet, Target};

fn rules(kind: &str, n: usize) -> RuleSet {
    let mut text = String::new();
    for i in 0..n {
        let body = match kind {
            // Limits far enough that a quiet series never crosses them; alternate high and low.
            "high/low" if i % 2 == 0 => {
                format!(
                    "kind = \"high\"\nlimit = {}\ndeadband = 0.5\non_delay_s = 60",
                    10 + i
                )
            }
            "high/low" => format!(
                "kind = \"low\"\nlimit = {}\noff_delay_s = 60",
                -40.0 - i as f64
            ),
            "anomaly" => format!("kind = \"anomaly\"\nlimit = {}", 4.0 + i as f64 / 100.0),
            "rate" => format!("kind = \"rate\"\nlimit = {}\nwindow_s = 600", 5 + i),
            _ => unreachable!(),
        };
        text.push_str(&format!(
            "[[rule]]\nid = \"r{i}\"\ndevice = \"*\"\nmetric = \"temperature\"\n{body}\n"
        ));
    }
    RuleSet::from_toml(&text).unwrap()
}

/// A freezer's temperature: -18 °C with a slow cycle, a little noise and rare spikes.
fn value(i: u64) -> f64 {
    let noise = ((i
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        >> 33)
        % 1000) as f64
        / 1000.0
        - 0.5;
    // A door left open now and then: a spike the anomaly rules flag.
    let spike = if i % 5000 == 4999 { 8.0 } else { 0.0 };
    -18.0 + (i as f64 / 200.0).sin() + 0.2 * noise + spike
}

fn measure(kind: &str, n: usize) -> (f64, usize) {
    let mut ev = Evaluator::new(rules(kind, n));
    let target = Target {
        unit: Some("°C"),
        kind: Some("freezer"),
        ..Target::new("freezer-1", "temperature")
    };
    // Warm up: create the series, get past the anomaly warm-up and fill its pattern history
    // (768 readings), so what is measured is the steady state.
    for i in 0..1000 {
        ev.observe(&target, i as i64 * 10_000, value(i));
    }
    let readings = (2_000_000 / n as u64).max(20_000);
    let mut outputs = 0;
    let start = Instant::now();
    for i in 1000..1000 + readings {
        outputs += black_box(ev.observe(black_box(&target), i as i64 * 10_000, value(i))).len();
    }
    let elapsed: Duration = start.elapsed();
    (
        elapsed.as_nanos() as f64 / readings as f64 / n as f64,
        outputs,
    )
}

fn main() {
    println!(
        "telltale-alerts: evaluation cost per reading per rule (goal <= 2000 ns; anomaly <= 5000 ns)"
    );
    println!(
        "{:<10} {:>6} {:>16} {:>18} {:>8}",
        "kind", "rules", "ns/reading/rule", "ns/reading (all)", "outputs"
    );
    for kind in ["high/low", "anomaly", "rate"] {
        for n in [1, 10, 100] {
            // Best of three, to keep a busy machine's noise out.
            let (ns, outputs) = (0..3)
                .map(|_| measure(kind, n))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap();
            println!(
                "{kind:<10} {n:>6} {ns:>16.1} {:>18.1} {outputs:>8}",
                ns * n as f64
            );
        }
    }
}
