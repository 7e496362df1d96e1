//! `import`, `query` and `export` as a user runs them, against real database files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn telltale() -> Command {
    Command::new(env!("CARGO_BIN_EXE_telltale"))
}

fn run(args: &[&str], db: &Path) -> Output {
    let mut c = telltale();
    c.arg(args[0]).arg("--db").arg(db).args(&args[1..]);
    c.output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

type Series = BTreeMap<(String, String), BTreeMap<i64, f64>>;

/// A shuffled CSV of several series with awkward values, plus malformed lines at known places.
fn write_csv(path: &Path, rng: &mut XorShift) -> (Series, Vec<usize>) {
    let mut truth: Series = BTreeMap::new();
    let mut rows = Vec::new();
    for device in ["freezer-1", "pump-2", "ble:A4:C1:38:00:00:01"] {
        for metric in ["temperature", "vibration"] {
            for i in 0..700i64 {
                let ts = 1_700_000_000_000 + i * 61_000 + (rng.next() % 1000) as i64;
                let value = match i % 7 {
                    0 => -((rng.next() % 100_000) as f64) / 1000.0,
                    1 => 0.1 + 0.2,
                    2 => 1e-300 * (i as f64),
                    3 => (rng.next() % 10) as f64,
                    _ => f64::from_bits(0x4030_0000_0000_0000 | (rng.next() >> 12)),
                };
                truth
                    .entry((device.into(), metric.into()))
                    .or_default()
                    .insert(ts, value);
                rows.push(format!("{device},{metric},{ts},{value}"));
            }
        }
    }
    for i in (1..rows.len()).rev() {
        rows.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    let bad = [
        "pump-2,temperature,1700000000000",
        "pump-2,temperature,17e11,3",
        "pump-2,temperature,1.5,3",
        "pump-2,temperature,1700000000000,",
        "pump-2,temperature,1700000000000,NaN",
        "pump-2,temperature,1700000000000,inf",
        "pump-2,temperature,1700000000000,warm",
        "a,b,c,d,e",
        "",
    ];
    let mut bad_lines = Vec::new();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "device,metric,ts_ms,value").unwrap();
    let mut line = 1;
    for (i, row) in rows.iter().enumerate() {
        if i % 500 == 17 {
            line += 1;
            writeln!(f, "{}", bad[(i / 500) % bad.len()]).unwrap();
            bad_lines.push(line);
        }
        line += 1;
        writeln!(f, "{row}").unwrap();
    }
    (truth, bad_lines)
}

#[test]
fn import_is_idempotent_and_export_and_query_give_back_what_was_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, db) = (dir.path().join("in.csv"), dir.path().join("h.db"));
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (truth, bad_lines) = write_csv(&csv, &mut rng);
    let good: usize = truth.values().map(BTreeMap::len).sum();

    let out = run(&["import", csv.to_str().unwrap()], &db);
    let summary = json(&out);
    assert_eq!(summary["rows"], good as u64, "{summary}");
    assert_eq!(summary["skipped"], bad_lines.len() as u64, "{summary}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for n in &bad_lines {
        assert!(
            stderr.contains(&format!("line {n}:")),
            "line {n} not reported:\n{stderr}"
        );
    }
    let again = json(&run(&["import", csv.to_str().unwrap()], &db));
    assert_eq!(
        again["rows"], 0,
        "importing the same rows again changes nothing: {again}"
    );
    assert_eq!(again["duplicates"], good as u64);

    for ((device, metric), series) in &truth {
        let (first, last) = (
            *series.keys().next().unwrap(),
            *series.keys().last().unwrap(),
        );
        let out = run(
            &[
                "export",
                "--device",
                device,
                "--metric",
                metric,
                "--from",
                &first.to_string(),
                "--to",
                &last.to_string(),
            ],
            &db,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("device,metric,ts_ms,value"));
        let back: Vec<(i64, f64)> = lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                assert_eq!((f[0], f[1]), (device.as_str(), metric.as_str()));
                (f[2].parse().unwrap(), f[3].parse().unwrap())
            })
            .collect();
        let want: Vec<(i64, f64)> = series.iter().map(|(t, v)| (*t, *v)).collect();
        assert_eq!(back.len(), want.len());
        for (b, w) in back.iter().zip(&want) {
            assert_eq!(
                (b.0, b.1.to_bits()),
                (w.0, w.1.to_bits()),
                "exact values, in time order"
            );
        }

        for points in [1u32, 10, 333, 5_000] {
            let q = json(&run(
                &[
                    "query",
                    "--device",
                    device,
                    "--metric",
                    metric,
                    "--from",
                    &first.to_string(),
                    "--to",
                    &last.to_string(),
                    "--points",
                    &points.to_string(),
                ],
                &db,
            ));
            let buckets = q["buckets"].as_array().unwrap();
            assert!(
                buckets.len() <= points as usize,
                "{} > {points}",
                buckets.len()
            );
            let count: u64 = buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum();
            assert_eq!(count, series.len() as u64);
            let min = buckets
                .iter()
                .map(|b| b["min"].as_f64().unwrap())
                .fold(f64::INFINITY, f64::min);
            let max = buckets
                .iter()
                .map(|b| b["max"].as_f64().unwrap())
                .fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(
                min.to_bits(),
                series
                    .values()
                    .copied()
                    .fold(f64::INFINITY, f64::min)
                    .to_bits()
            );
            assert_eq!(
                max.to_bits(),
                series
                    .values()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max)
                    .to_bits()
            );
            let sum: f64 = buckets
                .iter()
                .map(|b| b["mean"].as_f64().unwrap() * b["count"].as_f64().unwrap())
                .sum();
            let want_sum: f64 = series.values().sum();
            assert!(
                (sum - want_sum).abs() <= 1e-6 * want_sum.abs().max(1.0),
                "{sum} vs {want_sum}"
            );
            if points >= series.len() as u32 {
                // Everything fits: the buckets are the readings themselves.
                let raw: Vec<(i64, f64)> = buckets
                    .iter()
                    .map(|b| (b["t"].as_i64().unwrap(), b["mean"].as_f64().unwrap()))
                    .collect();
                assert_eq!(raw, want);
            }
        }
    }
}

#[test]
fn read_commands_explain_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("none.db");
    let out = run(
        &[
            "query", "--device", "d", "--metric", "m", "--from", "0", "--to", "10", "--points", "5",
        ],
        &db,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database"));
    assert!(!db.exists(), "a query never creates a database");
    let csv = dir.path().join("x.csv");
    std::fs::write(&csv, "ts,value\n1,2\n").unwrap();
    let out = run(&["import", csv.to_str().unwrap()], &db);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("header"));
    std::fs::write(&csv, "device,metric,ts_ms,value\nd,m,5,1.5\n").unwrap();
    json(&run(&["import", csv.to_str().unwrap()], &db));
    for (args, why) in [
        (
            vec![
                "query", "--device", "d", "--metric", "m", "--from", "10", "--to", "0", "--points",
                "5",
            ],
            "before",
        ),
        (
            vec![
                "query", "--device", "d", "--metric", "m", "--from", "0", "--to", "10", "--points",
                "0",
            ],
            "points",
        ),
        (
            vec![
                "query", "--device", "d", "--metric", "nope", "--from", "0", "--to", "10",
                "--points", "5",
            ],
            "no metric",
        ),
        (
            vec![
                "export", "--device", "zz", "--metric", "m", "--from", "0", "--to", "10",
            ],
            "no metric",
        ),
    ] {
        let out = run(&args, &db);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{args:?}: {err}");
    }
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn exported_rows(db: &Path, device: &str) -> usize {
    let out = run(
        &[
            "export",
            "--device",
            device,
            "--metric",
            "m",
            "--from",
            "0",
            "--to",
            "9999999999999",
        ],
        db,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().lines().count() - 1
}

/// Readings a concurrent reader sees as committed (0 before the database exists).
fn committed_readings(db: &Path) -> i64 {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    conn.query_row("SELECT coalesce(sum(n), 0) FROM chunks", [], |r| r.get(0))
        .unwrap_or(0)
}

/// `kill -9` in the middle of an import: the database stays intact and holds whole committed
/// batches only; importing again completes it without duplicates.
#[test]
fn kill_9_during_import_loses_at_most_the_uncommitted_batch() {
    const BATCH: usize = 200_000;
    let dir = tempfile::tempdir().unwrap();
    let (csv, db) = (dir.path().join("big.csv"), dir.path().join("k.db"));
    let total = 12 * BATCH;
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        writeln!(f, "device,metric,ts_ms,value").unwrap();
        for i in 0..total {
            writeln!(
                f,
                "dev-{},m,{},{}",
                i % 10,
                1_600_000_000_000i64 + (i / 10) as i64 * 1000,
                i as f64 * 0.5
            )
            .unwrap();
        }
    }
    let mut child = telltale()
        .args(["import", "--db"])
        .arg(&db)
        .arg(&csv)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until a batch is committed (a reader sees it), then kill without warning.
    let deadline = Instant::now() + Duration::from_secs(60);
    while committed_readings(&db) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import finished before it could be killed; make the file bigger"
        );
        assert!(Instant::now() < deadline, "the import made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    assert_eq!(integrity(&db), "ok");
    let stored: usize = (0..10)
        .map(|d| exported_rows(&db, &format!("dev-{d}")))
        .sum();
    assert!(
        stored > 0 && stored < total,
        "killed mid-way: {stored} of {total}"
    );
    assert_eq!(
        stored % BATCH,
        0,
        "only whole batches are committed: {stored}"
    );

    let resumed = json(&run(&["import", csv.to_str().unwrap()], &db));
    assert_eq!(resumed["rows"], (total - stored) as u64, "{resumed}");
    assert_eq!(resumed["duplicates"], stored as u64, "{resumed}");
    let all: usize = (0..10)
        .map(|d| exported_rows(&db, &format!("dev-{d}")))
        .sum();
    assert_eq!(all, total);
    assert_eq!(integrity(&db), "ok");
}
