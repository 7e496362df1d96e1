//! Store benchmarks, printed as figures (not timed tests):
//!
//! 1. bulk ingest: `telltale import` of 10 M readings over 1000 series (rollups included) against
//!    the `sqlite3` shell's `.import` of the same data into a bare
//!    `(series TEXT, ts INTEGER, value REAL, PRIMARY KEY(series, ts)) WITHOUT ROWID` table,
//!    side by side in one run; and the database bytes per raw reading;
//! 2. a query of one year of 1 Hz data (31.5 M readings in one series) into 1000 buckets, and the
//!    same with ten times the history (`TELLTALE_BENCH_DECADE=1`: 315 M readings, ~3 GB, minutes);
//! 3. a time-to-threshold forecast over that whole year, made as the Upkeep page and
//!    `telltale forecast eta` make one: the history into 720 buckets (from rollups), then the
//!    robust trend.
//!
//! `TELLTALE_BENCH_ROWS` shrinks the ingest part for a quick look.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use telltale_model::{DeviceId, HistoryQuery, Quality, Reading};

const SERIES: usize = 1000;

fn main() {
    let rows: usize = std::env::var("TELLTALE_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let dir = tempfile::tempdir_in(
        std::env::var("TELLTALE_BENCH_DIR")
            .unwrap_or_else(|_| std::env::temp_dir().display().to_string()),
    )
    .expect("temp dir");
    println!(
        "== bulk ingest: {rows} readings over {SERIES} series ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    ingest(dir.path(), rows);
    println!("== range query: 1 year of 1 Hz into 1000 buckets");
    let year = 365 * 86_400;
    query(dir.path(), "year", year);
    if std::env::var_os("TELLTALE_BENCH_DECADE").is_some() {
        query(dir.path(), "decade", 10 * year);
    } else {
        println!("(set TELLTALE_BENCH_DECADE=1 for the ten-times-history run)");
    }
}

/// A sensor-like value: a slow wave plus noise, three decimals, as gateways publish them.
fn value(series: usize, t: usize) -> f64 {
    let noise =
        ((t.wrapping_mul(2_654_435_761) ^ series.wrapping_mul(40_503)) % 1000) as f64 / 1000.0;
    ((20.0 + series as f64 % 17.0 + 5.0 * (t as f64 / 900.0 + series as f64).sin() + noise)
        * 1000.0)
        .round()
        / 1000.0
}

fn ingest(dir: &Path, rows: usize) {
    let ours = dir.join("ours.csv");
    let bare = dir.join("bare.csv");
    {
        let mut a = std::io::BufWriter::new(std::fs::File::create(&ours).unwrap());
        let mut b = std::io::BufWriter::new(std::fs::File::create(&bare).unwrap());
        writeln!(a, "device,metric,ts_ms,value").unwrap();
        writeln!(b, "series,ts,value").unwrap();
        let t0: i64 = 1_700_000_000_000;
        for i in 0..rows {
            let (t, s) = (i / SERIES, i % SERIES);
            let (device, metric) = (format!("dev-{:03}", s / 10), format!("m{}", s % 10));
            let ts = t0 + t as i64 * 1000;
            let v = value(s, t);
            writeln!(a, "{device},{metric},{ts},{v}").unwrap();
            writeln!(b, "{device}/{metric},{ts},{v}").unwrap();
        }
    }
    let sqlite_db = dir.join("bare.db");
    let script = format!(
        "PRAGMA journal_mode=WAL;\nCREATE TABLE bare (series TEXT, ts INTEGER, value REAL, PRIMARY KEY(series, ts)) WITHOUT ROWID;\n.mode csv\n.import --skip 1 {} bare\n",
        bare.display()
    );
    let started = Instant::now();
    let mut child = Command::new("sqlite3")
        .arg(&sqlite_db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("sqlite3 shell (apt install sqlite3)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let sqlite_s = started.elapsed().as_secs_f64();

    let db = dir.join("ours.db");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(["import", "--db"])
        .arg(&db)
        .arg(&ours)
        .output()
        .unwrap();
    let ours_s = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["rows"], rows as u64, "{summary}");

    let sqlite_rate = rows as f64 / sqlite_s;
    let ours_rate = rows as f64 / ours_s;
    let bytes = file_bytes(&db);
    let sqlite_bytes = file_bytes(&sqlite_db);
    println!("sqlite3 .import (bare table):   {sqlite_s:>7.2} s  {:>10.0} readings/s  {:>6.1} bytes/reading", sqlite_rate, sqlite_bytes as f64 / rows as f64);
    println!("telltale import (with rollups): {ours_s:>7.2} s  {:>10.0} readings/s  {:>6.1} bytes/reading", ours_rate, bytes as f64 / rows as f64);
    println!("ratio telltale/sqlite3: {:.2}x", ours_rate / sqlite_rate);
}

fn file_bytes(db: &Path) -> u64 {
    let wal = format!("{}-wal", db.display());
    [db.to_path_buf(), wal.into()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Fills one series with `seconds` of 1 Hz readings through the real ingest path, then times
/// a whole-range query into 1000 buckets.
fn query(dir: &Path, name: &str, seconds: i64) {
    let path = dir.join(format!("{name}.db"));
    let (store, writer) = telltale_store::open(&path).unwrap();
    let ingest = writer.ingest();
    let t0: i64 = 1_600_000_000_000;
    let started = Instant::now();
    let batch = 500_000i64;
    let mut pending = None;
    for start in (0..seconds).step_by(batch as usize) {
        let readings: Vec<Reading> = (start..(start + batch).min(seconds))
            .map(|s| Reading {
                device: DeviceId::new("plant/pump-02"),
                metric: "vibration".into(),
                unit: Some("mm/s".into()),
                ts_ms: t0 + s * 1000,
                value: value(7, s as usize),
                quality: Quality::Good,
            })
            .collect();
        let p = ingest.blocking_submit(readings).unwrap();
        if let Some(prev) = pending.replace(p) {
            let _: telltale_store::Committed = telltale_store::PendingCommit::wait(prev).unwrap();
        }
    }
    if let Some(p) = pending {
        p.wait().unwrap();
    }
    let fill_s = started.elapsed().as_secs_f64();
    let q = HistoryQuery {
        device: DeviceId::new("plant/pump-02"),
        metric: "vibration".into(),
        from_ms: t0,
        to_ms: t0 + seconds * 1000,
        points: 1000,
    };
    // The reader's first statement after a long ingest pays for catching up with the writer
    // (schema and WAL index), not for the query: time that apart.
    let started = Instant::now();
    store.device_summaries().unwrap();
    let catch_up = started.elapsed();
    let mut times: Vec<Duration> = Vec::new();
    let mut buckets = 0;
    for _ in 0..30 {
        let started = Instant::now();
        let h = store.history(&q).unwrap();
        times.push(started.elapsed());
        buckets = h.buckets.len();
        assert_eq!(
            h.buckets.iter().map(|b| b.count).sum::<u64>(),
            seconds as u64
        );
    }
    let first = times[0];
    let mut warm = times[1..].to_vec();
    warm.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: {seconds} readings stored in {fill_s:.1} s ({:.0}/s, {:.1} bytes/reading)",
        seconds as f64 / fill_s,
        store.file_bytes() as f64 / seconds as f64,
    );
    println!(
        "{name}: reader's first statement after the ingest {:.2} ms; query into {buckets} buckets: first {:.2} ms, then median {:.2} ms, max {:.2} ms over {} runs",
        ms(catch_up),
        ms(first),
        ms(warm[warm.len() / 2]),
        ms(warm[warm.len() - 1]),
        warm.len(),
    );
    let mut forecast_times: Vec<Duration> = Vec::new();
    let mut basis = String::new();
    for _ in 0..10 {
        let started = Instant::now();
        let h = store
            .history(&HistoryQuery {
                points: 720,
                ..q.clone()
            })
            .unwrap();
        let points: Vec<(i64, f64)> = h.buckets.iter().map(|b| (b.t, b.mean)).collect();
        let eta = telltale_forecast::time_to_threshold(
            &points,
            100.0,
            Some(telltale_forecast::Direction::Rising),
            q.to_ms,
            &telltale_forecast::TrendConfig::default(),
        );
        forecast_times.push(started.elapsed());
        basis = eta.basis().to_owned();
    }
    forecast_times.sort();
    println!(
        "{name}: forecast over the whole range (720 buckets + trend): median {:.2} ms, max {:.2} ms over {} runs ({basis})",
        ms(forecast_times[forecast_times.len() / 2]),
        ms(forecast_times[forecast_times.len() - 1]),
        forecast_times.len(),
    );
    drop(ingest);
    writer.close();
}
