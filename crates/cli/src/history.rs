//! `import`, `query` and `export`: history in and out of a database, as files and JSON.
//!
//! The readings CSV is `device,metric,ts_ms,value` under that header, quoted as RFC 4180 says: a
//! field in double quotes may hold commas, line breaks and quotes (doubled). White space around
//! an unquoted field is dropped, as hand-written files need; a quoted field is kept exactly.
//! `export` writes what `import` reads back bit for bit ([`CsvFor::Import`]).
//!
//! Import reads bytes, one line at a time, never more than [`MAX_RECORD`] of one: a line that is
//! not UTF-8, too long, malformed or outside what the store keeps ([`Reading::check`]) is one bad
//! line, reported with its number on stderr and counted as `skipped`; the rest is imported.
//!
//! The CSV reader itself is in `csv_records.rs`.

pub use crate::csv_records::parse_line;
use crate::csv_records::{reading, shown, split_line, Records, Split};
use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use telltale_model::{DeviceId, HistoryQuery};
use telltale_store::{Committed, CsvFor, PendingCommit, SeriesKey, Store};

/// Readings per transaction: large enough that fsyncs are rare and each series' hourly chunk is
/// rewritten seldom (a bulk file interleaves a thousand series), small enough that a crash
/// loses little and memory stays flat (~20 MB).
const BATCH: usize = 200_000;

/// The longest line, or record whose quoted field runs over several lines, that import reads;
/// a longer one is skipped to its end without being held. A good row is under 1 KiB (a device
/// id is at most 256 bytes and a metric 128).
const MAX_RECORD: usize = 1 << 20;

const HEADER: [&str; 4] = ["device", "metric", "ts_ms", "value"];

pub fn import(db: &Path, file: &Path) -> Result<(), String> {
    let input = File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let total_bytes = input.metadata().map_or(0, |m| m.len());
    let mut records = Records::new(BufReader::with_capacity(1 << 20, input), MAX_RECORD);
    let (_store, writer) = telltale_store::open(db).map_err(|e| e.to_string())?;
    let ingest = writer.ingest();
    let progress = std::io::stderr().is_terminal();

    let mut good = 0u64;
    let mut skipped = 0u64;
    let mut totals = Committed::default();
    let mut batch = Vec::with_capacity(BATCH);
    // One batch commits while the next is parsed.
    let mut in_flight: Option<PendingCommit> = None;
    let settle = |pending: Option<PendingCommit>, totals: &mut Committed| -> Result<(), String> {
        if let Some(p) = pending {
            let c = p.wait().map_err(|e| e.to_string())?;
            totals.stored += c.stored;
            totals.duplicates += c.duplicates;
            totals.rejected += c.rejected;
        }
        Ok(())
    };
    loop {
        let next = records
            .next_record()
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let Some((number, fields)) = next else {
            break;
        };
        if number == 1 {
            if fields.is_ok_and(|f| is_header(&f)) {
                continue;
            }
            let line = records.line.trim_ascii_end();
            return Err(header_error(file, &shown(line)));
        }
        // Checked here rather than left to the store, so that the report names the line.
        match fields
            .and_then(reading)
            .and_then(|r| r.check(None).map(|()| r))
        {
            Ok(r) => {
                good += 1;
                batch.push(r);
            }
            Err(why) => {
                skipped += 1;
                eprintln!("line {number}: {why}");
            }
        }
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            let pending = ingest.blocking_submit(full).map_err(|e| e.to_string())?;
            settle(in_flight.replace(pending), &mut totals)?;
            if progress {
                eprint!(
                    "\rimporting… {} lines, {:.0}%",
                    records.lines,
                    100.0 * records.bytes as f64 / total_bytes.max(1) as f64
                );
            }
        }
    }
    if !batch.is_empty() {
        let pending = ingest.blocking_submit(batch).map_err(|e| e.to_string())?;
        settle(in_flight.replace(pending), &mut totals)?;
    }
    settle(in_flight.take(), &mut totals)?;
    if progress {
        eprintln!("\rimported {} lines.                ", records.lines);
    }
    drop(ingest);
    writer.close();
    crate::print_line(serde_json::json!({
            "rows": totals.stored,
            "duplicates": totals.duplicates,
            // Rows the store refused although they passed `Reading::check` (none expected).
            "rejected": totals.rejected,
            "skipped": skipped,
            "lines": records.lines.saturating_sub(1),
            "good_lines": good,
    }))
}

/// The readings CSV's first line must be its header (a byte-order mark, case and quotes are
/// forgiven).
pub fn check_header(file: &Path, line: &str) -> Result<(), String> {
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    match split_line(&mut Split::default(), line) {
        Ok(f) if is_header(&f) => Ok(()),
        _ => Err(header_error(file, &shown(line.as_bytes()))),
    }
}

fn is_header(fields: &[&[u8]; 4]) -> bool {
    fields
        .iter()
        .zip(HEADER)
        .all(|(f, name)| f.eq_ignore_ascii_case(name.as_bytes()))
}

fn header_error(file: &Path, found: &str) -> String {
    format!(
        "{}: the first line must be the header device,metric,ts_ms,value (found {found})",
        file.display()
    )
}

/// Opens an existing database for reading; a missing file is an error, not a new database.
pub(crate) fn open_existing(db: &Path) -> Result<Store, String> {
    if !db.is_file() {
        return Err(format!("no database at {}", db.display()));
    }
    // Read-only: a reader beside a live collector must never hold its write lock.
    telltale_store::open_read_only(db).map_err(|e| e.to_string())
}

/// One series over a time window, as `query` and `export` take it.
#[derive(clap::Args)]
pub struct SeriesRange {
    /// The SQLite database to read.
    #[arg(
        long,
        required_unless_present = "historian",
        conflicts_with = "historian"
    )]
    db: Option<PathBuf>,
    /// Read a plant historian instead (postgres://USER@HOST:PORT/DBNAME): the union of every
    /// site shipped into it. Its password, if it needs one, comes from the OS keyring.
    #[arg(long)]
    historian: Option<String>,
    /// The device: its id, or (when only one device answers to it) its name or its id without
    /// the transport or broker prefix (`dev1` for `mqtt:plant/dev1`).
    #[arg(long)]
    device: String,
    #[arg(long)]
    metric: String,
    /// Start, ms since the epoch, inclusive.
    #[arg(long)]
    from: i64,
    /// End, ms since the epoch, inclusive.
    #[arg(long)]
    to: i64,
}

impl SeriesRange {
    /// The CLI's bounds are inclusive, as people read "from … to …"; the store's end is exclusive.
    fn exclusive_end(&self) -> Result<i64, String> {
        if self.to < self.from {
            return Err(format!(
                "--to ({}) is before --from ({})",
                self.to, self.from
            ));
        }
        Ok(self.to.saturating_add(1))
    }

    /// The series, its device named as `--device` says (see `devices::resolve`).
    fn key(&self, store: &Store) -> Result<SeriesKey, String> {
        Ok(SeriesKey {
            device: crate::devices::resolve(store, &self.device, &self.metric)?,
            metric: self.metric.clone(),
        })
    }
}

pub fn query(range: &SeriesRange, points: u32) -> Result<(), String> {
    let mut q = HistoryQuery {
        device: DeviceId::new(range.device.clone()),
        metric: range.metric.clone(),
        from_ms: range.from,
        to_ms: range.exclusive_end()?,
        points,
    };
    q.validate().map_err(|e| e.message)?;
    let h = match (&range.db, &range.historian) {
        (Some(db), _) => {
            let store = open_existing(db)?;
            q.device = range.key(&store)?.device;
            store.history(&q).map_err(|e| e.to_string())?
        }
        (None, Some(url)) => crate::historian::run(url, |h| async move {
            let devices = h.devices().await.map_err(|e| e.to_string())?;
            q.device = crate::devices::resolve_among(&devices, &range.device, &range.metric)?;
            h.history(&q).await.map_err(|e| e.to_string())
        })?,
        (None, None) => return Err("name a --db or a --historian".into()),
    };
    let buckets: Vec<serde_json::Value> = h
        .buckets
        .iter()
        .map(|b| serde_json::json!({"t": b.t, "min": b.min, "max": b.max, "mean": b.mean, "count": b.count, "first": b.first, "last": b.last}))
        .collect();
    crate::print_line(
        serde_json::json!({ "buckets": buckets, "bucket_ms": h.bucket_ms, "unit": h.unit }),
    )
}

pub fn export(range: &SeriesRange) -> Result<(), String> {
    let to = range.exclusive_end()?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = match (&range.db, &range.historian) {
        (Some(db), _) => {
            let store = open_existing(db)?;
            let key = range.key(&store)?;
            store
                .export_csv(&key, range.from, to, CsvFor::Import, &mut out)
                .map_err(|e| e.to_string())
        }
        (None, Some(url)) => crate::historian::run(url, |h| async move {
            let devices = h.devices().await.map_err(|e| e.to_string())?;
            let key = SeriesKey {
                device: crate::devices::resolve_among(&devices, &range.device, &range.metric)?,
                metric: range.metric.clone(),
            };
            h.export_csv(&key, range.from, to, CsvFor::Import, &mut out)
                .await
                .map_err(|e| e.to_string())
        }),
        (None, None) => return Err("name a --db or a --historian".into()),
    };
    match written {
        Ok(_) => Ok(()),
        // A reader that stopped early (`| head`) is not an error worth a message.
        Err(e) if e.contains("Broken pipe") => Err(crate::OUTPUT_CLOSED.into()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn lines_parse_or_say_why() {
        let r = parse_line("ble:A,temperature,1700000000000,21.5").unwrap();
        assert_eq!(
            (r.device.as_str(), r.metric.as_str(), r.ts_ms, r.value),
            ("ble:A", "temperature", 1_700_000_000_000, 21.5)
        );
        assert_eq!(parse_line(" d , m , -5 , -0.25 ").unwrap().value, -0.25);
        let quoted = [
            (r#""a,b","say ""hi""",1,2"#, "a,b", r#"say "hi""#),
            (r#" " a " , "=1+1" ,1,2"#, " a ", "=1+1"),
            (r#""""",m,1,2"#, "\"", "m"),
            ("\u{e9}t\u{e9},\"\",1,2", "\u{e9}t\u{e9}", ""),
        ];
        for (line, device, metric) in quoted {
            match parse_line(line) {
                Ok(r) => assert_eq!((r.device.as_str(), r.metric.as_str()), (device, metric)),
                // An empty metric is still refused, quoted or not.
                Err(e) => assert!(metric.is_empty() && e.contains("empty"), "{line:?}: {e}"),
            }
        }
        let bad = [
            ("d,m,1", "field count"),
            ("d,m,1,2,3", "field count"),
            ("", "field count"),
            ("d,m,1.5,2", "not an integer"),
            ("d,m,x,2", "not an integer"),
            ("d,m,1,", "not a number"),
            ("d,m,1,abc", "not a number"),
            ("d,m,1,NaN", "finite"),
            ("d,m,1,inf", "finite"),
            ("d,m,1,-infinity", "finite"),
            (",m,1,2", "empty"),
            ("d,m,99999999999999999999,2", "not an integer"),
            (r#""d,m,1,2"#, "not closed"),
            (r#"d"x,m,1,2"#, "quote inside an unquoted field"),
            (r#""d"x,m,1,2"#, "after the closing quote"),
            (r#""d" "x",m,1,2"#, "after the closing quote"),
            (r#"d,m,"1"5,2"#, "after the closing quote"),
        ];
        for (line, why) in bad {
            let err = parse_line(line).unwrap_err();
            assert!(err.contains(why), "{line:?}: {err}");
        }
    }

    /// What `Records` made of a file: (line, fields or the error).
    type Read = Vec<(u64, Result<Vec<Vec<u8>>, String>)>;

    fn read_all(bytes: &[u8], cap: usize, buffer: usize) -> (Read, u64) {
        let mut records = Records::new(BufReader::with_capacity(buffer, bytes), cap);
        let mut out = Vec::new();
        while let Some((n, fields)) = records.next_record().unwrap() {
            out.push((n, fields.map(|f| f.iter().map(|f| f.to_vec()).collect())));
        }
        (out, records.lines)
    }

    #[test]
    fn records_span_lines_only_inside_quotes_and_a_bad_one_costs_its_first_line() {
        let file = concat!(
            "device,metric,ts_ms,value\r\n",
            "\"two\r\nlines\",m,1,2\n",
            "\"stray,m,3,4\n",
            "d,m,5,6\n",
            "d,m,6,7\n",
            "d,m,7,8\n",
            "d,\"m\n",
            "\n",
            "\",8,9\n",
            "long long long long long long long long,m,9,10\n",
            "d,m,11,12",
        );
        let (got, lines) = read_all(file.as_bytes(), 32, 8);
        let fields = |f: [&str; 4]| Ok(f.iter().map(|f| f.as_bytes().to_vec()).collect());
        let want: Read = vec![
            (1, fields(["device", "metric", "ts_ms", "value"])),
            (2, fields(["two\r\nlines", "m", "1", "2"])),
            // The stray quote reads ahead 32 bytes, then gives back all but its own line.
            (
                4,
                Err("a quoted field is not closed within 32 bytes".into()),
            ),
            (5, fields(["d", "m", "5", "6"])),
            (6, fields(["d", "m", "6", "7"])),
            (7, fields(["d", "m", "7", "8"])),
            (8, fields(["d", "m\n\n", "8", "9"])),
            (11, Err("longer than 32 bytes; skipped".into())),
            (12, fields(["d", "m", "11", "12"])),
        ];
        assert_eq!(got, want);
        assert_eq!(lines, 12);
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Bytes that matter to the reader, and some that do not.
    const ALPHABET: &[u8] = b"\"\",,\n\n\r \t=-ab1.\xff\xc3\xa9";

    /// Random bytes, from the alphabet above with runs of one byte now and then.
    fn noise(rng: &mut XorShift) -> Vec<u8> {
        let mut bytes = Vec::new();
        for _ in 0..rng.below(300) {
            let b = ALPHABET[rng.below(ALPHABET.len())];
            let run = if rng.below(20) == 0 {
                rng.below(100)
            } else {
                1
            };
            bytes.extend(std::iter::repeat_n(b, run));
        }
        bytes
    }

    /// Fields as `telltale export` writes them: the `csv` crate's quoting, and quotes for white
    /// space at either end (else trimmed on import).
    fn write_record(out: &mut Vec<u8>, fields: &[Vec<u8>], always: bool) {
        for (i, field) in fields.iter().enumerate() {
            let edge = field.first().is_some_and(u8::is_ascii_whitespace)
                || field.last().is_some_and(u8::is_ascii_whitespace);
            let style = if always || edge {
                csv::QuoteStyle::Always
            } else {
                csv::QuoteStyle::Necessary
            };
            let mut w = csv::WriterBuilder::new()
                .quote_style(style)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(&mut *out);
            // A record of one field: `write_field` leaves the closing quote for the next field.
            w.write_record([field]).unwrap();
            w.flush().unwrap();
            drop(w);
            if i + 1 < fields.len() {
                *out.last_mut().unwrap() = b',';
            }
        }
    }

    /// Never a panic, every line accounted for, record numbers rising, and every record read
    /// writes back (through the `csv` crate) to a record that reads the same.
    #[test]
    fn random_bytes_read_without_panic_and_what_reads_round_trips() {
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut runs = 0u64;
        while Instant::now() < deadline || runs < 100 {
            runs += 1;
            let seed = 0x9E37_79B9_7F4A_7C15 ^ runs;
            let mut rng = XorShift(seed);
            let bytes = noise(&mut rng);
            let cap = 1 + rng.below(80);
            let (read, lines) = read_all(&bytes, cap, 1 + rng.below(16));
            let want_lines = bytes.split(|&b| b == b'\n').count() as u64
                - u64::from(bytes.is_empty() || bytes.ends_with(b"\n"));
            assert_eq!(lines, want_lines, "seed {seed}");
            for pair in read.windows(2) {
                assert!(pair[0].0 < pair[1].0, "seed {seed}: {read:?}");
            }
            for (n, fields) in &read {
                assert!(*n >= 1 && *n <= lines, "seed {seed}");
                let Ok(fields) = fields else { continue };
                let mut again = Vec::new();
                write_record(&mut again, fields, rng.below(2) == 0);
                let (back, _) = read_all(&again, usize::MAX, 64);
                assert_eq!(back, vec![(1, Ok(fields.clone()))], "seed {seed}");
            }
            // The one-line reader the alert replay uses: never a panic.
            for line in String::from_utf8_lossy(&bytes).lines() {
                let _ = parse_line(line);
            }
        }
    }

    /// Records written by the `csv` crate, among lines of garbage without quotes: every record
    /// comes back exactly, on its line, as the `csv` crate's own reader reads it; every garbage
    /// line is one bad record.
    #[test]
    fn records_written_by_the_csv_crate_read_back_as_it_reads_them() {
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut runs = 0u64;
        while Instant::now() < deadline || runs < 100 {
            runs += 1;
            let seed = 0xD1B5_4A32_D192_ED03 ^ runs;
            let mut rng = XorShift(seed);
            let (mut file, mut clean) = (Vec::new(), Vec::new());
            let mut want: Read = Vec::new();
            let mut line = 1u64;
            for _ in 0..rng.below(12) {
                if rng.below(3) == 0 {
                    let garbage: Vec<u8> = noise(&mut rng)
                        .into_iter()
                        .filter(|b| !b"\",\n".contains(b))
                        .collect();
                    let fits = garbage.len() < 1000;
                    file.extend_from_slice(&garbage);
                    file.push(b'\n');
                    let why = if fits {
                        "wrong field count (1, expected 4)".to_owned()
                    } else {
                        "longer than 1000 bytes; skipped".to_owned()
                    };
                    want.push((line, Err(why)));
                    line += 1;
                } else {
                    let fields: Vec<Vec<u8>> = (0..4)
                        .map(|_| {
                            let mut f = noise(&mut rng);
                            f.truncate(30);
                            f
                        })
                        .collect();
                    let start = file.len();
                    write_record(&mut file, &fields, rng.below(4) == 0);
                    clean.extend_from_slice(&file[start..]);
                    want.push((line, Ok(fields)));
                    line += file[start..].iter().filter(|&&b| b == b'\n').count() as u64;
                }
            }
            // A good record is at most 4 × (2 × 30 + 2) + 4 bytes: it always fits.
            let (got, _) = read_all(&file, 1000, 1 + rng.below(64));
            assert_eq!(got, want, "seed {seed}");

            let mut reference = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(&clean[..]);
            let theirs: Vec<Vec<Vec<u8>>> = reference
                .byte_records()
                .map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect())
                .collect();
            let ours: Vec<Vec<Vec<u8>>> = want.into_iter().filter_map(|(_, f)| f.ok()).collect();
            assert_eq!(ours, theirs, "seed {seed}");
        }
    }
}
