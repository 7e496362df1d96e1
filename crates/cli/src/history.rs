//! `import`, `query` and `export`: history in and out of a database, as files and JSON.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use telltale_model::{DeviceId, HistoryQuery, Quality, Reading};
use telltale_store::{Committed, PendingCommit, SeriesKey, Store};

/// Readings per transaction: large enough that fsyncs are rare and each series' hourly chunk is
/// rewritten seldom (a bulk file interleaves a thousand series), small enough that a crash
/// loses little and memory stays flat (~20 MB).
const BATCH: usize = 200_000;

pub fn import(db: &Path, file: &Path) -> Result<(), String> {
    let input = File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let total_bytes = input.metadata().map_or(0, |m| m.len());
    let mut lines = BufReader::with_capacity(1 << 20, input);
    let (_store, writer) = telltale_store::open(db).map_err(|e| e.to_string())?;
    let ingest = writer.ingest();
    let progress = std::io::stderr().is_terminal();

    let mut line = String::new();
    let mut number = 0u64;
    let mut read_bytes = 0u64;
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
        line.clear();
        let n = lines
            .read_line(&mut line)
            .map_err(|e| format!("{}: line {}: {e}", file.display(), number + 1))?;
        if n == 0 {
            break;
        }
        number += 1;
        read_bytes += n as u64;
        let text = line.trim_end_matches(['\n', '\r']);
        if number == 1 {
            check_header(file, text)?;
            continue;
        }
        match parse_line(text) {
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
                    number,
                    100.0 * read_bytes as f64 / total_bytes.max(1) as f64
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
        eprintln!("\rimported {number} lines.                ");
    }
    drop(ingest);
    writer.close();
    crate::print_line(serde_json::json!({
            "rows": totals.stored,
            "duplicates": totals.duplicates,
            "skipped": skipped,
            "lines": number.saturating_sub(1),
            "good_lines": good,
    }))
}

/// The readings CSV's first line must be its header (a byte-order mark and case are forgiven).
pub fn check_header(file: &Path, line: &str) -> Result<(), String> {
    let header = line.trim_start_matches('\u{feff}').trim();
    if header.eq_ignore_ascii_case("device,metric,ts_ms,value") {
        Ok(())
    } else {
        Err(format!(
            "{}: the first line must be the header device,metric,ts_ms,value (found {header:?})",
            file.display()
        ))
    }
}

/// `device,metric,ts_ms,value`. Never panics; says what is wrong.
pub fn parse_line(text: &str) -> Result<Reading, String> {
    let fields: Vec<&str> = text.split(',').collect();
    let [device, metric, ts, value] = fields[..] else {
        return Err(format!("wrong field count ({}, expected 4)", fields.len()));
    };
    let (device, metric) = (device.trim(), metric.trim());
    if device.is_empty() || metric.is_empty() {
        return Err("empty device or metric".into());
    }
    let ts_ms: i64 = ts
        .trim()
        .parse()
        .map_err(|_| format!("ts_ms {:?} is not an integer", ts.trim()))?;
    let value: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("value {:?} is not a number", value.trim()))?;
    if !value.is_finite() {
        return Err(format!("value {value} is not a finite number"));
    }
    Ok(Reading {
        device: DeviceId::new(device),
        metric: metric.to_owned(),
        unit: None,
        ts_ms,
        value,
        quality: Quality::Good,
    })
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
    #[arg(long)]
    db: PathBuf,
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
    let store = open_existing(&range.db)?;
    q.device = range.key(&store)?.device;
    let h = store.history(&q).map_err(|e| e.to_string())?;
    let buckets: Vec<serde_json::Value> = h
        .buckets
        .iter()
        .map(|b| serde_json::json!({"t": b.t, "min": b.min, "max": b.max, "mean": b.mean, "count": b.count}))
        .collect();
    crate::print_line(
        serde_json::json!({ "buckets": buckets, "bucket_ms": h.bucket_ms, "unit": h.unit }),
    )
}

pub fn export(range: &SeriesRange) -> Result<(), String> {
    let to = range.exclusive_end()?;
    let store = open_existing(&range.db)?;
    let key = range.key(&store)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match store.export_csv(&key, range.from, to, &mut out) {
        Ok(_) => Ok(()),
        // A reader that stopped early (`| head`) is not an error worth a message.
        Err(e) if e.to_string().contains("Broken pipe") => Err(crate::OUTPUT_CLOSED.into()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_or_say_why() {
        let r = parse_line("ble:A,temperature,1700000000000,21.5").unwrap();
        assert_eq!(
            (r.device.as_str(), r.metric.as_str(), r.ts_ms, r.value),
            ("ble:A", "temperature", 1_700_000_000_000, 21.5)
        );
        assert_eq!(parse_line(" d , m , -5 , -0.25 ").unwrap().value, -0.25);
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
        ];
        for (line, why) in bad {
            let err = parse_line(line).unwrap_err();
            assert!(err.contains(why), "{line:?}: {err}");
        }
    }
}
