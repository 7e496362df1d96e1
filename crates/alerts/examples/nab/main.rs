//! Scores the `anomaly` rule kind on the Numenta Anomaly Benchmark (NAB) the way NAB does.
//!
//! ```text
//! cargo run --release -p telltale-alerts --example nab -- ../shared/data/nab [--files]
//!     [--why] [--set 'key = value']... [--only category,...] [--skip category,...]
//! ```
//!
//! Each series (`data/<category>/<file>.csv`, `timestamp,value`) is replayed through
//! [`telltale_alerts::replay`], as `telltale alerts replay` does, with one rule
//! `kind = "anomaly"` on device `*`, metric `value` and default parameters (plus any `--set`
//! lines, for experiments); every raised event is one detection at that reading. Prints, per
//! category and overall, the normalised score under NAB's three profiles, the detections,
//! true positives (windows caught), false positives and missed windows; and the alarms per
//! series per day on the files without anomalies (`artificialNoAnomaly`), and how many of those
//! alarms came after NAB's probationary period (the first 15 % of a file, at most 750 rows).

#[path = "score.rs"]
mod score;

use score::{parse_ts, score_file, FileScore, PROFILES};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use telltale_alerts::{replay, EventKind, RuleSet};

struct Args {
    root: PathBuf,
    files: bool,
    why: bool,
    set: Vec<String>,
    only: Vec<String>,
    skip: Vec<String>,
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut out = Args {
        root: PathBuf::new(),
        files: false,
        why: false,
        set: Vec::new(),
        only: Vec::new(),
        skip: Vec::new(),
    };
    let list = |v: Option<String>| -> Vec<String> {
        v.unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--files" => out.files = true,
            "--why" => out.why = true,
            "--set" => out.set.extend(it.next()),
            "--only" => out.only = list(it.next()),
            "--skip" => out.skip = list(it.next()),
            _ if out.root.as_os_str().is_empty() => out.root = PathBuf::from(a),
            other => usage(&format!("unexpected argument {other}")),
        }
    }
    if out.root.as_os_str().is_empty() {
        usage("the NAB directory (holding data/ and combined_windows.json) is missing");
    }
    out
}

fn usage(why: &str) -> ! {
    eprintln!("{why}\nusage: nab <nab-dir> [--files] [--why] [--set 'key = value']... [--only cat,...] [--skip cat,...]");
    std::process::exit(2)
}

/// `file -> [(start, end)]` from NAB's `combined_windows.json`.
fn windows(root: &Path) -> BTreeMap<String, Vec<(i64, i64)>> {
    let text = std::fs::read_to_string(root.join("combined_windows.json"))
        .unwrap_or_else(|e| usage(&format!("combined_windows.json: {e}")));
    let raw: BTreeMap<String, Vec<[String; 2]>> =
        serde_json::from_str(&text).expect("combined_windows.json is NAB's label format");
    raw.into_iter()
        .map(|(file, ws)| {
            let ws = ws
                .iter()
                .map(|[a, b]| {
                    (
                        parse_ts(a).expect("window timestamp"),
                        parse_ts(b).expect("window timestamp"),
                    )
                })
                .collect();
            (file, ws)
        })
        .collect()
}

fn read_series(path: &Path) -> Vec<(i64, f64)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (t, v) = l.split_once(',').expect("timestamp,value");
            (
                parse_ts(t).expect("timestamp"),
                v.trim().parse().expect("value"),
            )
        })
        .collect()
}

fn main() {
    let args = args();
    let rules = RuleSet::from_toml(&format!(
        "[[rule]]\nid = \"nab\"\nkind = \"anomaly\"\ndevice = \"*\"\nmetric = \"value\"\n{}\n",
        args.set.join("\n")
    ))
    .unwrap_or_else(|e| usage(&format!("rule: {e}")));
    let labels = windows(&args.root);
    // category -> per-profile totals; plus the no-anomaly alarm rate.
    let mut by_category: BTreeMap<String, [FileScore; 3]> = BTreeMap::new();
    let mut total = [FileScore::default(); 3];
    let (mut quiet_alarms, mut quiet_days, mut quiet_series) = (0usize, 0.0f64, 0usize);
    let mut quiet_scored = 0usize;
    for (file, wins) in &labels {
        let category = file.split('/').next().unwrap_or("").to_owned();
        if (!args.only.is_empty() && !args.only.contains(&category))
            || args.skip.contains(&category)
        {
            continue;
        }
        let path = args.root.join("data").join(file);
        if !path.exists() {
            // The labels cover all 58 series; only some may be at hand.
            continue;
        }
        let series = read_series(&path);
        let ts: Vec<i64> = series.iter().map(|r| r.0).collect();
        let events = replay(&rules, file, "value", series.iter().copied());
        // Rows in order; a raise names its reading by timestamp, and a repeated DST hour's
        // readings are matched in order.
        let mut detections = Vec::new();
        let mut row = 0;
        for e in events.iter().filter(|e| e.kind == EventKind::Raised) {
            while ts[row] != e.ts {
                row += 1;
            }
            if args.why {
                println!("  {file} #{row}: {}", e.note.as_deref().unwrap_or(""));
            }
            detections.push(row);
        }
        let scores = PROFILES.map(|p| score_file(&ts, wins, &detections, &p));
        let cat = by_category.entry(category.clone()).or_default();
        for k in 0..3 {
            cat[k].add(&scores[k]);
            total[k].add(&scores[k]);
        }
        if category == "artificialNoAnomaly" {
            let days = (ts[ts.len() - 1] - ts[0]) as f64 / 86_400_000.0;
            quiet_alarms += detections.len();
            quiet_scored += scores[0].detections;
            quiet_days += days;
            quiet_series += 1;
        }
        if args.files {
            let s = &scores[0];
            println!(
                "  {file:<60} raw {:>7.2} of {:>5.2}..{:>5.2}  det {:>3} tp {:>2} fp {:>3} missed {:>2}",
                s.score, s.null, s.perfect, s.detections, s.true_positives, s.false_positives, s.missed
            );
        }
    }
    println!(
        "{:<24} {:>9} {:>9} {:>9} {:>6} {:>5} {:>5} {:>7}",
        "category", "standard", "low_FP", "low_FN", "det", "tp", "fp", "missed"
    );
    let line = |name: &str, s: &[FileScore; 3]| {
        println!(
            "{name:<24} {:>9.1} {:>9.1} {:>9.1} {:>6} {:>5} {:>5} {:>7}",
            s[0].normalised(),
            s[1].normalised(),
            s[2].normalised(),
            s[0].detections,
            s[0].true_positives,
            s[0].false_positives,
            s[0].missed
        )
    };
    for (cat, s) in &by_category {
        line(cat, s);
    }
    line("all", &total);
    if quiet_series > 0 {
        println!(
            "artificialNoAnomaly: {quiet_alarms} alarms over {quiet_series} series ({quiet_days:.0} series-days, \
             whole series, probation included): {:.3} alarms per series per day \
             ({quiet_scored} after NAB's probationary period)",
            quiet_alarms as f64 / quiet_days
        );
    }
}
