//! `forecast rul` and `forecast eta` as a user runs them: files in, one JSON line per answer,
//! exit 1 with a one-line reason for bad input.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

fn telltale(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(args)
        .output()
        .unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Exit 1 with one line on stderr that contains `want`, and nothing on stdout.
fn fails_with(out: &Output, want: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(want), "{err:?} lacks {want:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Roughly normal: the sum of 12 uniforms, less 6.
    fn noise(&mut self) -> f64 {
        (0..12)
            .map(|_| (self.next() >> 11) as f64 / (1u64 << 53) as f64)
            .sum::<f64>()
            - 6.0
    }
}

/// A synthetic fleet in the C-MAPSS layout: `(asset, life, rows kept)`; wear grows
/// exponentially to 1 at the end of life; sensors 1 and 5 are constant.
fn fleet(units: &[(u32, u32, u32)], seed: u64) -> String {
    let mut rng = SplitMix(seed);
    let mut text = String::new();
    for &(asset, life, kept) in units {
        let tau = 25.0 + 20.0 * (rng.next() % 1000) as f64 / 1000.0;
        for cycle in 1..=kept {
            let wear = ((f64::from(cycle) - f64::from(life)) / tau).exp();
            write!(text, "{asset} {cycle} 0.001 -0.0002 100.0").unwrap();
            for s in 1..=21 {
                let v = match s {
                    1 | 5 => 518.67,
                    _ => {
                        let gain = if s % 2 == 0 { 4.0 } else { -3.0 };
                        100.0 + f64::from(s) + gain * wear + 0.5 * rng.noise()
                    }
                };
                write!(text, " {v:.4}").unwrap();
            }
            text.push_str(" \n");
        }
    }
    text
}

/// A FAILED file of 30 units living 155 to 300 cycles, and where to write the RUNNING one.
fn thirty_failed_units(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (history, current) = (dir.join("failed.txt"), dir.join("running.txt"));
    let failed: Vec<(u32, u32, u32)> = (1..=30).map(|a| (a, 150 + 5 * a, 150 + 5 * a)).collect();
    std::fs::write(&history, fleet(&failed, 1)).unwrap();
    (history, current)
}

#[test]
fn rul_prints_one_estimate_per_running_asset_in_asset_order() {
    let dir = tempfile::tempdir().unwrap();
    let (history, current) = thirty_failed_units(dir.path());
    // (asset, life, kept): true remaining lives 10, 40, 80 and 200 (capped: 125), listed out
    // of order; the output comes in asset order.
    let running = [(9, 200, 190), (3, 220, 180), (5, 180, 100), (7, 260, 60)];
    std::fs::write(&current, fleet(&running, 2)).unwrap();

    let lines = json_lines(&telltale(&[
        "forecast",
        "rul",
        "--history",
        p(&history),
        "--current",
        p(&current),
    ]));
    let assets: Vec<u64> = lines.iter().map(|l| l["asset"].as_u64().unwrap()).collect();
    assert_eq!(assets, [3, 5, 7, 9]);
    for (line, truth) in lines.iter().zip([40.0, 80.0, 125.0, 10.0]) {
        let (rul, low, high) = (
            line["rul"].as_f64().unwrap(),
            line["low"].as_f64().unwrap(),
            line["high"].as_f64().unwrap(),
        );
        assert!(
            0.0 <= low && low <= rul && rul <= high && high <= 125.0,
            "{line}"
        );
        assert!((rul - truth).abs() <= 25.0, "truth {truth}: {line}");
        assert_eq!(line.as_object().unwrap().len(), 4, "{line}");
    }
}

/// `telltale forecast rul ... | head -1`: the reader goes away before the estimates are
/// printed; that is no failure and no panic.
#[test]
fn a_reader_that_stops_early_is_no_failure() {
    let dir = tempfile::tempdir().unwrap();
    let (history, current) = thirty_failed_units(dir.path());
    std::fs::write(&current, fleet(&[(1, 200, 120), (2, 200, 90)], 2)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args([
            "forecast",
            "rul",
            "--history",
            p(&history),
            "--current",
            p(&current),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closed at once: the model takes far longer to fit than this.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn rul_on_a_slice_of_fd001() {
    let fd001 = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/cmapss/train_FD001.txt"
    );
    let text = std::fs::read_to_string(fd001).unwrap_or_else(|e| panic!("{fd001}: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let (history, current) = (
        dir.path().join("failed.txt"),
        dir.path().join("running.txt"),
    );
    let mut lives = std::collections::BTreeMap::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (asset, cycle): (u32, u32) = (
            f.next().unwrap().parse().unwrap(),
            f.next().unwrap().parse().unwrap(),
        );
        lives.insert(asset, cycle);
    }
    // Engines 1–10 run, cut 5 + 13·asset cycles before failure; 11–100 are the history.
    let cut = |asset: u32| lives[&asset] - (5 + 13 * asset);
    let (mut failed, mut running) = (String::new(), String::new());
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (asset, cycle): (u32, u32) = (
            f.next().unwrap().parse().unwrap(),
            f.next().unwrap().parse().unwrap(),
        );
        if asset > 10 {
            failed.push_str(line);
            failed.push('\n');
        } else if cycle <= cut(asset) {
            running.push_str(line);
            running.push('\n');
        }
    }
    std::fs::write(&history, failed).unwrap();
    std::fs::write(&current, running).unwrap();
    let lines = json_lines(&telltale(&[
        "forecast",
        "rul",
        "--history",
        p(&history),
        "--current",
        p(&current),
    ]));
    assert_eq!(lines.len(), 10);
    let mut se = 0.0;
    for (asset, line) in (1..=10u32).zip(&lines) {
        assert_eq!(line["asset"], asset);
        let truth = f64::from(5 + 13 * asset).min(125.0);
        let rul = line["rul"].as_f64().unwrap();
        assert!(line["low"].as_f64().unwrap() <= rul && rul <= line["high"].as_f64().unwrap());
        se += (rul - truth).powi(2);
    }
    let rmse = (se / 10.0).sqrt();
    assert!(rmse < 25.0, "RMSE {rmse:.1}: {lines:?}");
}

#[test]
fn rul_rejects_malformed_files_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.txt");
    let failed: Vec<(u32, u32, u32)> = (1..=5).map(|a| (a, 150, 150)).collect();
    let text = fleet(&failed, 3);
    std::fs::write(&good, &text).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "short row",
            {
                lines[6] = "1 7 0.1 0.2";
                lines.join("\n")
            },
            "line 7: expected 26 columns",
        ),
        (
            "word",
            text.replacen(" 100.0 ", " hundred ", 1),
            "line 1: setting3 \"hundred\" is not a number",
        ),
        ("empty", String::new(), "no data rows"),
        (
            "gap",
            text.lines()
                .filter(|l| !l.starts_with("2 40 "))
                .collect::<Vec<_>>()
                .join("\n"),
            "asset 2: cycles jump from 39 to 41",
        ),
    ];
    for (name, bad, want) in &cases {
        let path = dir.path().join(format!("{name}.txt"));
        std::fs::write(&path, bad).unwrap();
        let as_history = telltale(&[
            "forecast",
            "rul",
            "--history",
            p(&path),
            "--current",
            p(&good),
        ]);
        fails_with(&as_history, want);
        fails_with(&as_history, &format!("{name}.txt"));
        let as_current = telltale(&[
            "forecast",
            "rul",
            "--history",
            p(&good),
            "--current",
            p(&path),
        ]);
        fails_with(&as_current, want);
    }
    let missing = dir.path().join("missing.txt");
    fails_with(
        &telltale(&[
            "forecast",
            "rul",
            "--history",
            p(&missing),
            "--current",
            p(&good),
        ]),
        "missing.txt",
    );
    let two = dir.path().join("two.txt");
    std::fs::write(&two, fleet(&[(1, 150, 150), (2, 160, 160)], 4)).unwrap();
    fails_with(
        &telltale(&[
            "forecast",
            "rul",
            "--history",
            p(&two),
            "--current",
            p(&good),
        ]),
        "need at least 3 failed units",
    );
}

const T0: i64 = 1_700_000_000_000;
const DAY: i64 = 86_400_000;

#[test]
fn eta_dates_a_trend_from_the_store_and_refuses_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, db) = (dir.path().join("in.csv"), dir.path().join("h.db"));
    let mut rng = SplitMix(5);
    let mut text = String::from("device,metric,ts_ms,value\n");
    // 41 days, a reading every 10 minutes: a filter's pressure drop rising 0.5 a day (it
    // reaches 35 on day 50), a flat noisy temperature, a battery that crossed 2.9 V on day 30.
    for i in 0..41 * 144 {
        let (t, d) = (T0 + i * 600_000, i as f64 / 144.0);
        writeln!(
            text,
            "filter-1,dp,{t},{:.4}",
            10.0 + 0.5 * d + 0.5 * rng.noise()
        )
        .unwrap();
        writeln!(text, "freezer,temp,{t},{:.4}", -18.0 + rng.noise()).unwrap();
        writeln!(
            text,
            "tag,battery,{t},{:.4}",
            3.2 - 0.01 * d + 0.002 * rng.noise()
        )
        .unwrap();
    }
    std::fs::write(&csv, text).unwrap();
    let out = telltale(&["import", "--db", p(&db), p(&csv)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let now = (T0 + 41 * DAY).to_string();
    let eta = |device: &str, metric: &str, threshold: &str, now: &str| {
        telltale(&[
            "forecast",
            "eta",
            "--db",
            p(&db),
            "--device",
            device,
            "--metric",
            metric,
            "--threshold",
            threshold,
            "--now",
            now,
        ])
    };

    let dated = json_lines(&eta("filter-1", "dp", "35", &now)).remove(0);
    let keys: Vec<&String> = dated.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{dated}");
    let (e, lo, hi) = (
        dated["eta_ms"].as_i64().unwrap(),
        dated["low_ms"].as_i64().unwrap(),
        dated["high_ms"].as_i64().unwrap(),
    );
    let truth = T0 + 50 * DAY;
    assert!((e - truth).abs() < DAY / 2, "{dated}");
    assert!(lo <= truth && truth <= hi && lo <= e && e <= hi, "{dated}");
    assert!(
        dated["basis"]
            .as_str()
            .unwrap()
            .starts_with("linear trend over 41 days"),
        "{dated}"
    );
    assert!(dated["points"].as_u64().unwrap() > 400, "{dated}");

    let flat = json_lines(&eta("freezer", "temp", "-10", &now)).remove(0);
    assert!(
        flat["eta_ms"].is_null() && flat["low_ms"].is_null() && flat["high_ms"].is_null(),
        "{flat}"
    );
    assert!(
        flat["basis"].as_str().unwrap().starts_with("no trend"),
        "{flat}"
    );

    let crossed = json_lines(&eta("tag", "battery", "2.9", &now)).remove(0);
    assert_eq!(crossed["eta_ms"].as_i64(), Some(T0 + 41 * DAY), "{crossed}");
    assert!(
        crossed["basis"]
            .as_str()
            .unwrap()
            .starts_with("already below"),
        "{crossed}"
    );

    let before = json_lines(&eta("filter-1", "dp", "35", &(T0 - DAY).to_string())).remove(0);
    assert!(before["eta_ms"].is_null(), "{before}");
    assert_eq!(before["points"], 0);
    assert!(
        before["basis"].as_str().unwrap().contains("no readings"),
        "{before}"
    );

    fails_with(
        &eta("filter-1", "nope", "35", &now),
        "no metric nope on device filter-1",
    );
    fails_with(&eta("nobody", "dp", "35", &now), "nobody");
    fails_with(&eta("filter-1", "dp", "NaN", &now), "--threshold");
    let missing = dir.path().join("missing.db");
    fails_with(
        &telltale(&[
            "forecast",
            "eta",
            "--db",
            p(&missing),
            "--device",
            "d",
            "--metric",
            "m",
            "--threshold",
            "1",
        ]),
        "no database",
    );
    assert!(!missing.exists(), "a failed read creates nothing");
}
