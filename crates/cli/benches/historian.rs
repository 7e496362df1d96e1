//! Plant historian benchmarks, printed as figures (not timed tests), against a private
//! PostgreSQL started for the run (see `tests/postgres/mod.rs`):
//!
//! 1. shipping: `telltale ship` of 1 M readings (20 series at 1 Hz) into an empty historian,
//!    against `psql \copy` of the same readings as CSV into a bare table
//!    `(device, metric, ts_ms, value, PRIMARY KEY (device, metric, ts_ms))`, interleaved, three
//!    rounds each, medians; and the historian's bytes per reading, all its tables with their
//!    indexes and TOAST;
//! 2. reading: `telltale query --historian` of 36.5 days of 1 Hz (3.15 M readings, one series)
//!    into 1000 buckets, the process's wall time and the same net of process start (the median
//!    of `telltale --version`), and the same query of the local store (`--db`) beside it.
//!
//! `TELLTALE_BENCH_ROWS` changes the shipping size.

#[path = "../tests/postgres/mod.rs"]
mod postgres;

use postgres::Postgres;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const T0: i64 = 1_767_225_600_000;

fn telltale() -> Command {
    Command::new(env!("CARGO_BIN_EXE_telltale"))
}

fn value(series: usize, t: i64) -> f64 {
    let noise = ((t as usize).wrapping_mul(2_654_435_761) ^ series.wrapping_mul(40_503)) % 1000;
    ((20.0 + 5.0 * (t as f64 / 900.0 + series as f64).sin() + noise as f64 / 1000.0) * 1000.0)
        .round()
        / 1000.0
}

fn write_csv(path: &Path, series: usize, per_series: i64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "device,metric,ts_ms,value").unwrap();
    for s in 0..series {
        for i in 0..per_series {
            writeln!(
                f,
                "mqtt:plant/line-{s:02},current,{},{}",
                T0 + i * 1000,
                value(s, i)
            )
            .unwrap();
        }
    }
}

fn check(out: std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn import(db: &Path, csv: &Path) {
    check(
        telltale()
            .arg("import")
            .arg("--db")
            .arg(db)
            .arg(csv)
            .output()
            .unwrap(),
        "import",
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn timed(mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn main() {
    let rows: i64 = std::env::var("TELLTALE_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let series = 20;
    let per_series = rows / series as i64;
    let rows = per_series * series as i64;
    // Durable, as a plant runs it: every commit reaches the disk.
    let pg = Postgres::start_with(&[("bench.conf", b"fsync = on")]);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("readings.csv");
    let db = dir.path().join("plant.db");
    write_csv(&csv, series, per_series);
    import(&db, &csv);
    println!(
        "== ship: {rows} readings over {series} series at 1 Hz ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    pg.sql("postgres", "postgres", "CREATE DATABASE bare OWNER plant");
    pg.sql("bare", "plant", "CREATE TABLE readings (device text, metric text, ts_ms int8, value float8, PRIMARY KEY (device, metric, ts_ms))");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut bytes = 0i64;
    for round in 0..3 {
        // Fresh targets each round, outside the timing.
        pg.sql("bare", "plant", "TRUNCATE readings");
        pg.sql("postgres", "postgres", "DROP DATABASE IF EXISTS hist");
        pg.sql("postgres", "postgres", "CREATE DATABASE hist OWNER plant");
        pg.sql("postgres", "postgres", "CHECKPOINT");
        theirs.push(timed(|| {
            let copy = format!(
                "\\copy readings FROM '{}' WITH (FORMAT csv, HEADER true)",
                csv.display()
            );
            check(
                Command::new("psql")
                    .args([
                        "-h",
                        "127.0.0.1",
                        "-p",
                        &pg.port.to_string(),
                        "-U",
                        "plant",
                        "-d",
                        "bare",
                        "-AtX",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-c",
                        &copy,
                    ])
                    .output()
                    .unwrap(),
                "psql \\copy",
            );
        }));
        let mut shipped = String::new();
        ours.push(timed(|| {
            shipped = check(
                telltale()
                    .args(["ship", "--to", &pg.url(), "--site", "bench", "--db"])
                    .arg(&db)
                    .output()
                    .unwrap(),
                "ship",
            );
        }));
        let v: serde_json::Value = serde_json::from_str(&shipped).unwrap();
        assert_eq!(v["readings"].as_i64(), Some(rows), "{shipped}");
        bytes = pg.hist(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
             WHERE c.relkind = 'r' AND c.relname LIKE 'telltale\\_%' AND c.relnamespace = 'public'::regnamespace",
        ).parse().unwrap();
        println!(
            "round {round}: psql \\copy {:.0} ms, telltale ship {:.0} ms",
            theirs[round].as_secs_f64() * 1e3,
            ours[round].as_secs_f64() * 1e3
        );
    }
    let (a, b) = (median(ours), median(theirs));
    let bare_bytes: i64 = pg
        .sql("bare", "plant", "SELECT pg_total_relation_size('readings')")
        .parse()
        .unwrap();
    println!(
        "telltale ship : {:>8.0} ms  {:>10.0} readings/s\npsql \\copy    : {:>8.0} ms  {:>10.0} readings/s\nratio (ship rate / \\copy rate): {:.2}x",
        a.as_secs_f64() * 1e3, rows as f64 / a.as_secs_f64(),
        b.as_secs_f64() * 1e3, rows as f64 / b.as_secs_f64(),
        b.as_secs_f64() / a.as_secs_f64()
    );
    println!(
        "historian bytes per reading (all tables, indexes, TOAST): {:.2}  (the bare table: {:.2})",
        bytes as f64 / rows as f64,
        bare_bytes as f64 / rows as f64
    );

    println!("== query --historian: 36.5 days of 1 Hz (3,153,600 readings) into 1000 buckets");
    let month = dir.path().join("month.db");
    let month_csv = dir.path().join("month.csv");
    let seconds = 3_153_600;
    write_csv(&month_csv, 1, seconds);
    import(&month, &month_csv);
    check(
        telltale()
            .args(["ship", "--to", &pg.url(), "--site", "bench", "--db"])
            .arg(&month)
            .output()
            .unwrap(),
        "ship",
    );
    let query = |source: &[&str]| {
        let mut c = telltale();
        c.arg("query").args(source).args([
            "--device",
            "mqtt:plant/line-00",
            "--metric",
            "current",
            "--from",
            &T0.to_string(),
            "--to",
            &(T0 + seconds * 1000 - 1).to_string(),
            "--points",
            "1000",
        ]);
        c
    };
    let url = pg.url();
    let month_path = month.to_str().unwrap().to_owned();
    let (mut remote, mut here, mut start) = (Vec::new(), Vec::new(), Vec::new());
    let mut answers = (String::new(), String::new());
    for _ in 0..15 {
        remote.push(timed(|| {
            answers.0 = check(
                query(&["--historian", &url]).output().unwrap(),
                "query --historian",
            )
        }));
        here.push(timed(|| {
            answers.1 = check(
                query(&["--db", &month_path]).output().unwrap(),
                "query --db",
            )
        }));
        start.push(timed(|| {
            check(telltale().arg("--version").output().unwrap(), "--version");
        }));
    }
    let buckets = |s: &str| {
        serde_json::from_str::<serde_json::Value>(s).unwrap()["buckets"]
            .as_array()
            .unwrap()
            .len()
    };
    let (r, l, s) = (median(remote), median(here), median(start));
    println!(
        "query --historian: {:.1} ms ({:.1} ms net of process start), {} buckets\nquery --db       : {:.1} ms ({:.1} ms net), {} buckets\nprocess start    : {:.1} ms",
        r.as_secs_f64() * 1e3, (r.saturating_sub(s)).as_secs_f64() * 1e3, buckets(&answers.0),
        l.as_secs_f64() * 1e3, (l.saturating_sub(s)).as_secs_f64() * 1e3, buckets(&answers.1),
        s.as_secs_f64() * 1e3
    );
}
