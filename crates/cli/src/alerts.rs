//! `alerts replay`: the live alert engine run over a CSV of history.

use crate::history::{check_header, parse_line};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use telltale_alerts::{replay as evaluate, RuleSet};

pub fn replay(rules: &Path, readings: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(rules).map_err(|e| format!("{}: {e}", rules.display()))?;
    let rules = toml::from_str::<RuleSet>(&text)
        .map_err(|e| format!("{}: {e}", rules.display()))?
        .validated()
        .map_err(|e| e.to_string())?;
    let file = std::fs::File::open(readings).map_err(|e| format!("{}: {e}", readings.display()))?;

    // Series in order of first appearance; each series' readings in file order.
    let mut order: Vec<(String, String)> = Vec::new();
    let mut series: HashMap<(String, String), Vec<(i64, f64)>> = HashMap::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let number = i + 1;
        let line = line.map_err(|e| format!("{}: line {number}: {e}", readings.display()))?;
        let line = line.trim_end_matches('\r');
        if number == 1 {
            check_header(readings, line)?;
            continue;
        }
        // A row that does not parse is absent: it neither satisfies nor breaks a condition.
        match parse_line(line) {
            Ok(r) => {
                let key = (r.device.0, r.metric);
                series
                    .entry(key.clone())
                    .or_insert_with(|| {
                        order.push(key);
                        Vec::new()
                    })
                    .push((r.ts_ms, r.value));
            }
            Err(why) => eprintln!("line {number}: skipped: {why}"),
        }
    }
    let mut events = Vec::new();
    for key in order {
        let mut points = series.remove(&key).unwrap_or_default();
        // Stable: equal timestamps keep file order.
        points.sort_by_key(|(ts, _)| *ts);
        events.extend(evaluate(&rules, &key.0, &key.1, points));
    }
    events.sort_by(|a, b| {
        (a.ts, &a.rule, &a.device, &a.metric).cmp(&(b.ts, &b.rule, &b.device, &b.metric))
    });
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for e in &events {
        let line = serde_json::to_string(e).map_err(|e| e.to_string())?;
        writeln!(out, "{line}").map_err(crate::output_error)?;
    }
    out.flush().map_err(crate::output_error)
}
