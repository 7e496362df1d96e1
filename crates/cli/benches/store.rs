//! Store benchmarks, printed as figures (not timed tests):
//!
//! 1. bulk ingest: `telltale import` of 10 M readings over 1000 series (rollups included) against
//!    the `sqlite3` shell's `.import` of the same CSV into a bare
//!    `(series TEXT, ts INTEGER, value REAL, PRIMARY KEY(series, ts)) WITHOUT ROWID` table, side
//!    by side, in both orders a file comes in: grouped by series (each series' readings together,
//!    as `telltale export` and most historians write them) and interleaved (every series at each
//!    second, as a gateway's log does); and the database bytes per raw reading;
//! 2. a query of one series at 1 Hz into 1000 buckets: 36.5 days (3.15 M readings) and ten times
//!    the history (365 days, 31.5 M), each timed in process (median of 30 runs) and as
//!    `telltale query` net of process start (median of 15 runs minus the median of
//!    `telltale --version`), beside the goals: 36.5 days in at most 10 ms, ten times the history
//!    costing at most 1.2 times as much. `TELLTALE_BENCH_DECADE=1` adds 3650 days (315 M
//!    readings, ~3 GB, minutes);
//! 3. a time-to-threshold forecast over the 365 days, made as the Upkeep page and
//!    `telltale forecast eta` make one: the history into 720 buckets (from rollups), then the
//!    robust trend.
//!
//! `TELLTALE_BENCH_ROWS` shrinks the ingest part for a quick look.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use telltale_model::{DeviceId, HistoryQuery, Quality, Reading};

const SERIES: usize = 1000;
const DAY_S: i64 = 86_400;
/// The query goal for 36.5 days, and what ten times the history may cost beside it.
const GOAL_MS: f64 = 10.0;
const GOAL_RATIO: f64 = 1.2;

/// The order of a CSV's lines.
#[derive(Clone, Copy)]
enum Order {
    /// One series' readings after another's.
    Grouped,
    /// Each second's readings of every series together.
    Interleaved,
}

impl Order {
    fn name(self) -> &'static str {
        match self {
            Order::Grouped => "grouped by series",
            Order::Interleaved => "interleaved",
        }
    }
}

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
    for order in [Order::Grouped, Order::Interleaved] {
        ingest(dir.path(), rows, order);
    }
    println!("== range query: one series at 1 Hz into 1000 buckets");
    let month = query(dir.path(), "36.5 days", 365 * DAY_S / 10);
    let year = query(dir.path(), "365 days", 365 * DAY_S);
    println!(
        "36.5 days: {:.2} ms in process, {:.2} ms net of process start (goal <= {GOAL_MS} ms)",
        month.in_process_ms, month.net_ms
    );
    println!(
        "365 days:  {:.2} ms in process, {:.2} ms net of process start; ten times the history costs {:.2}x in process, {:.2}x net (goal <= {GOAL_RATIO}x)",
        year.in_process_ms,
        year.net_ms,
        year.in_process_ms / month.in_process_ms,
        year.net_ms / month.net_ms,
    );
    if std::env::var_os("TELLTALE_BENCH_DECADE").is_some() {
        let decade = query(dir.path(), "3650 days", 3650 * DAY_S);
        println!(
            "3650 days: {:.2} ms in process, {:.2} ms net of process start",
            decade.in_process_ms, decade.net_ms
        );
    } else {
        println!("(set TELLTALE_BENCH_DECADE=1 for 3650 days)");
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

fn ingest(dir: &Path, rows: usize, order: Order) {
    let ours = dir.join("ours.csv");
    let bare = dir.join("bare.csv");
    {
        let mut a = std::io::BufWriter::new(std::fs::File::create(&ours).unwrap());
        let mut b = std::io::BufWriter::new(std::fs::File::create(&bare).unwrap());
        writeln!(a, "device,metric,ts_ms,value").unwrap();
        writeln!(b, "series,ts,value").unwrap();
        let t0: i64 = 1_700_000_000_000;
        let per_series = rows.div_ceil(SERIES);
        for i in 0..rows {
            let (t, s) = match order {
                Order::Grouped => (i % per_series, i / per_series),
                Order::Interleaved => (i / SERIES, i % SERIES),
            };
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
    println!("-- {}", order.name());
    println!("sqlite3 .import (bare table):   {sqlite_s:>7.2} s  {:>10.0} readings/s  {:>6.1} bytes/reading", sqlite_rate, sqlite_bytes as f64 / rows as f64);
    println!("telltale import (with rollups): {ours_s:>7.2} s  {:>10.0} readings/s  {:>6.1} bytes/reading", ours_rate, bytes as f64 / rows as f64);
    println!(
        "ratio telltale/sqlite3 ({}): {:.2}x",
        order.name(),
        ours_rate / sqlite_rate
    );
    for path in [ours, bare, db, sqlite_db] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}

fn file_bytes(db: &Path) -> u64 {
    let wal = format!("{}-wal", db.display());
    [db.to_path_buf(), wal.into()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// What one range query cost: the median in process, and as `telltale query` net of process
/// start.
struct QueryCost {
    in_process_ms: f64,
    net_ms: f64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Fills one series with `seconds` of 1 Hz readings through the real ingest path, then times
/// a whole-range query into 1000 buckets, in process and through the CLI.
fn query(dir: &Path, name: &str, seconds: i64) -> QueryCost {
    let path = dir.join(format!("{}.db", name.replace(' ', "-")));
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
    let mut bucket_ms = 0;
    for _ in 0..30 {
        let started = Instant::now();
        let h = store.history(&q).unwrap();
        times.push(started.elapsed());
        buckets = h.buckets.len();
        bucket_ms = h.bucket_ms;
        assert_eq!(
            h.buckets.iter().map(|b| b.count).sum::<u64>(),
            seconds as u64
        );
    }
    let first = times[0];
    let warm = times[1..].to_vec();
    let max = warm.iter().max().copied().unwrap_or_default();
    let in_process = median(warm);
    println!(
        "{name}: {seconds} readings stored in {fill_s:.1} s ({:.0}/s, {:.1} bytes/reading)",
        seconds as f64 / fill_s,
        store.file_bytes() as f64 / seconds as f64,
    );
    println!(
        "{name}: reader's first statement after the ingest {:.2} ms; in process into {buckets} buckets of {:.1} min: first {:.2} ms, then median {:.2} ms, max {:.2} ms over 29 runs",
        ms(catch_up),
        bucket_ms as f64 / 60_000.0,
        ms(first),
        ms(in_process),
        ms(max),
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
    drop(store);
    let net = cli_query(&path, t0, t0 + seconds * 1000 - 1, name);
    QueryCost {
        in_process_ms: ms(in_process),
        net_ms: net,
    }
}

/// `telltale query` of `[from, to]` (inclusive, as the CLI takes it) into 1000 buckets: the
/// median wall time of 15 runs net of the median of `telltale --version`, in ms.
fn cli_query(db: &PathBuf, from: i64, to: i64, name: &str) -> f64 {
    let telltale = || Command::new(env!("CARGO_BIN_EXE_telltale"));
    let (mut query, mut start) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        let started = Instant::now();
        let out = telltale()
            .args(["query", "--db"])
            .arg(db)
            .args(["--device", "plant/pump-02", "--metric", "vibration"])
            .args(["--from", &from.to_string(), "--to", &to.to_string()])
            .args(["--points", "1000"])
            .output()
            .unwrap();
        query.push(started.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let started = Instant::now();
        let out = telltale().arg("--version").output().unwrap();
        start.push(started.elapsed());
        assert!(out.status.success());
    }
    let (q, s) = (median(query), median(start));
    println!(
        "{name}: telltale query {:.2} ms, process start {:.2} ms, net {:.2} ms (medians of 15)",
        ms(q),
        ms(s),
        ms(q.saturating_sub(s))
    );
    ms(q.saturating_sub(s))
}
