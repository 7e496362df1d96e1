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

/// Device ids and metric names that break a naive CSV, or that a spreadsheet would evaluate.
const AWKWARD: [&str; 15] = [
    "plain",
    "a,b",
    "say \"hi\"",
    "two\nlines",
    "crlf\r\nend",
    "=1+1",
    "+1",
    "-1",
    "@SUM(A1:A2)",
    "\tindented",
    " spaced ",
    "'quoted'",
    "\"",
    "température, \"°C\"",
    "=HYPERLINK(\"http://x\",\"y\")",
];

/// A text cell as RFC 4180 quotes it.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Every series in a database with its readings, read through the store itself.
fn stored(db: &Path) -> Series {
    let store = telltale_store::open_read_only(db).unwrap();
    let mut all = Series::new();
    for summary in store.device_summaries().unwrap() {
        for latest in summary.latest {
            let key = telltale_store::SeriesKey {
                device: summary.device.id.clone(),
                metric: latest.metric.clone(),
            };
            let series = all
                .entry((key.device.as_str().to_owned(), key.metric.clone()))
                .or_default();
            store
                .export(&key, 0, i64::MAX, |s| {
                    series.insert(s.ts, s.value);
                    Ok(())
                })
                .unwrap();
        }
    }
    all
}

fn assert_same(got: &Series, want: &Series) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (key, series) in want {
        let bits = |s: &BTreeMap<i64, f64>| -> Vec<(i64, u64)> {
            s.iter().map(|(t, v)| (*t, v.to_bits())).collect()
        };
        assert_eq!(bits(&got[key]), bits(series), "{key:?}");
    }
}

fn export_args(device: &str, metric: &str) -> Vec<String> {
    // `--device=…`: an id such as `-1` would otherwise read as an option.
    vec![
        "export".into(),
        format!("--device={device}"),
        format!("--metric={metric}"),
        "--from=0".into(),
        "--to=9999999999999".into(),
    ]
}

/// Names with commas, quotes, line breaks and formula characters: a file quoting them imports
/// exactly, `telltale export` writes them so that they import again exactly (and export again
/// to the same bytes), and the app's export for spreadsheets neutralises formula-leading text
/// cells while leaving numbers such as -5.25 alone.
#[test]
fn awkward_names_round_trip_exactly_and_the_spreadsheet_export_neutralises_them() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, db, again) = (
        dir.path().join("in.csv"),
        dir.path().join("a.db"),
        dir.path().join("b.db"),
    );
    let values = [-5.25, 0.1 + 0.2, 1e-300, 7.0];
    let mut truth = Series::new();
    // A byte-order mark, CRLF line ends and a quoted header, as a spreadsheet saves them.
    let mut text = String::from("\u{feff}\"device\",metric,\"TS_MS\",value\r\n");
    for (i, device) in AWKWARD.iter().enumerate() {
        let metric = AWKWARD[(i * 7 + 3) % AWKWARD.len()];
        for (j, value) in values.iter().enumerate() {
            let ts = 1_700_000_000_000 + j as i64 * 1000 + i as i64;
            truth
                .entry((device.to_string(), metric.to_string()))
                .or_default()
                .insert(ts, *value);
            text += &format!("{},{},{ts},{value}\r\n", quoted(device), quoted(metric));
        }
    }
    std::fs::write(&csv, text).unwrap();
    let summary = json(&run(&["import", csv.to_str().unwrap()], &db));
    assert_eq!(
        summary["rows"],
        (AWKWARD.len() * values.len()) as u64,
        "{summary}"
    );
    assert_eq!(summary["skipped"], 0, "{summary}");
    assert_same(&stored(&db), &truth);

    for (n, ((device, metric), series)) in truth.iter().enumerate() {
        let mut c = telltale();
        c.args(export_args(device, metric)).arg("--db").arg(&db);
        let exported = c.output().unwrap();
        assert!(
            exported.status.success(),
            "{}",
            String::from_utf8_lossy(&exported.stderr)
        );
        let file = dir.path().join(format!("export-{n}.csv"));
        std::fs::write(&file, &exported.stdout).unwrap();
        let summary = json(&run(&["import", file.to_str().unwrap()], &again));
        assert_eq!(
            summary["rows"],
            series.len() as u64,
            "{device:?} {metric:?}: {summary}"
        );
        assert_eq!(summary["skipped"], 0, "{device:?} {metric:?}: {summary}");

        let mut c = telltale();
        c.args(export_args(device, metric)).arg("--db").arg(&again);
        let twice = c.output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&twice.stdout),
            String::from_utf8_lossy(&exported.stdout),
            "an export of the re-import is the same file"
        );
    }
    assert_same(&stored(&again), &truth);

    // The app's "Export CSV", for people: read back as a spreadsheet reads CSV.
    let store = telltale_store::open_read_only(&db).unwrap();
    let formula = |s: &str| s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    for ((device, metric), series) in &truth {
        let key = telltale_store::SeriesKey {
            device: telltale_model::DeviceId::new(device.clone()),
            metric: metric.clone(),
        };
        let mut file = Vec::new();
        let rows = store
            .export_csv(
                &key,
                0,
                i64::MAX,
                telltale_store::CsvFor::Spreadsheet,
                &mut file,
            )
            .unwrap();
        assert_eq!(rows, series.len() as u64);
        let mut reader = csv::Reader::from_reader(&file[..]);
        assert_eq!(
            reader.headers().unwrap(),
            vec!["device", "metric", "ts_ms", "value"]
        );
        let mut back = BTreeMap::new();
        for row in reader.records() {
            let row = row.unwrap();
            for (cell, name) in [(&row[0], device), (&row[1], metric)] {
                let want = if formula(name) {
                    format!("'{name}")
                } else {
                    name.clone()
                };
                assert_eq!(cell, want, "{file:?}");
                assert!(!formula(cell), "{cell:?} would be evaluated");
            }
            back.insert(
                row[2].parse::<i64>().unwrap(),
                row[3].parse::<f64>().unwrap(),
            );
        }
        let bits = |s: &BTreeMap<i64, f64>| -> Vec<(i64, u64)> {
            s.iter().map(|(t, v)| (*t, v.to_bits())).collect()
        };
        assert_eq!(bits(&back), bits(series), "numbers are never prefixed");
    }
}

/// Lines that are not UTF-8, a 10 MB line, timestamps at i64's ends, values and times outside
/// what the store keeps, stray quotes: each is one bad line, reported by its number; the good
/// lines around them are stored, the exit status is 0, and a second import stores nothing new.
#[test]
fn each_bad_line_is_reported_once_and_the_good_ones_are_stored_twice_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, db) = (dir.path().join("in.csv"), dir.path().join("h.db"));
    let huge = format!("d,m,1700000000000,{}", "1".repeat(10 << 20));
    let bad: Vec<Vec<u8>> = vec![
        b"d\xff\xfe,m,1700000000000,1".to_vec(),
        b"d,m\xc3,1700000000000,1".to_vec(),
        huge.into_bytes(),
        format!("d,m,{},1", i64::MIN).into_bytes(),
        format!("d,m,{},1", i64::MAX).into_bytes(),
        b"d,m,-5,1".to_vec(),
        b"d,m,1700000000000,1e101".to_vec(),
        b"\"d,m,1700000000000,1".to_vec(),
        b"d\"x,m,1700000000000,1".to_vec(),
        b"d,m,1700000000000,1,extra".to_vec(),
    ];
    let mut file = b"device,metric,ts_ms,value\n".to_vec();
    let mut truth = Series::new();
    let (mut line, mut bad_lines) = (1, Vec::new());
    for k in 0..40i64 {
        let ts = 1_700_000_000_000 + k * 1000;
        let value = -0.25 * k as f64;
        truth
            .entry(("d".into(), "m".into()))
            .or_default()
            .insert(ts, value);
        file.extend_from_slice(format!("d,m,{ts},{value}\n").as_bytes());
        line += 1;
        if let Some(b) = bad.get(k as usize / 3).filter(|_| k % 3 == 1) {
            file.extend_from_slice(b);
            file.push(b'\n');
            line += 1;
            bad_lines.push(line);
        }
    }
    assert_eq!(bad_lines.len(), bad.len());
    std::fs::write(&csv, &file).unwrap();
    let good = truth[&("d".to_string(), "m".to_string())].len();

    for round in 0..2 {
        let out = run(&["import", csv.to_str().unwrap()], &db);
        let summary = json(&out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.len() < 4096,
            "bad lines are reported briefly: {} bytes",
            stderr.len()
        );
        assert_eq!(summary["skipped"], bad.len() as u64, "{summary}\n{stderr}");
        assert_eq!(summary["good_lines"], good as u64, "{summary}");
        assert_eq!(summary["lines"], line - 1, "{summary}");
        let (rows, duplicates) = if round == 0 { (good, 0) } else { (0, good) };
        assert_eq!(summary["rows"], rows as u64, "round {round}: {summary}");
        assert_eq!(
            summary["duplicates"], duplicates as u64,
            "round {round}: {summary}"
        );
        assert_eq!(summary["rejected"], 0, "{summary}");
        for n in &bad_lines {
            assert_eq!(
                stderr.matches(&format!("line {n}:")).count(),
                1,
                "line {n} reported once:\n{stderr}"
            );
        }
        assert_eq!(stderr.lines().count(), bad.len(), "{stderr}");
        assert_same(&stored(&db), &truth);
    }
}
