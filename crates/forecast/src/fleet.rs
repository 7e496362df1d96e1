//! Run-to-failure histories in the C-MAPSS layout: one row per asset and cycle, whitespace
//! separated, `asset cycle setting1 setting2 setting3 sensor1 … sensor21`.

use std::collections::BTreeMap;

/// Operating settings per row.
pub const SETTINGS: usize = 3;
/// Sensors per row.
pub const SENSORS: usize = 21;
/// Settings then sensors: the numbers of a row after `asset` and `cycle`.
pub const CHANNELS: usize = SETTINGS + SENSORS;
const COLUMNS: usize = 2 + CHANNELS;

/// One asset's history, in cycle order.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub asset: u32,
    /// Consecutive cycle numbers.
    pub cycles: Vec<u32>,
    /// One row per cycle: settings 1–3, then sensors 1–21.
    pub rows: Vec<[f64; CHANNELS]>,
}

impl Unit {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The first `cycles` rows, as a running unit cut short would report them.
    pub fn truncated(&self, cycles: usize) -> Unit {
        let n = cycles.min(self.len());
        Unit {
            asset: self.asset,
            cycles: self.cycles[..n].to_vec(),
            rows: self.rows[..n].to_vec(),
        }
    }

    /// Sensor `s` (1-based, as the C-MAPSS readme numbers them) over the history.
    pub fn sensor(&self, s: usize) -> impl Iterator<Item = f64> + '_ {
        self.rows.iter().map(move |r| r[SETTINGS + s - 1])
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
    #[error("asset {asset}: {why}")]
    Asset { asset: u32, why: String },
    #[error("no data rows")]
    Empty,
}

/// Parses a fleet file: units in asset order, each in cycle order. Blank lines are skipped; a
/// row with the wrong column count, a non-number, a non-finite value, a duplicated or missing
/// cycle is an error naming the line (or the asset). Never panics.
pub fn parse_fleet(text: &str) -> Result<Vec<Unit>, ParseError> {
    let mut by_asset: BTreeMap<u32, BTreeMap<u32, ([f64; CHANNELS], usize)>> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let bad = |why: String| ParseError::Line { line, why };
        let raw = raw.trim_start_matches('\u{feff}');
        if raw.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = raw.split_whitespace().collect();
        if fields.len() != COLUMNS {
            return Err(bad(format!(
                "expected {COLUMNS} columns (asset cycle setting1..3 sensor1..21), found {}",
                fields.len()
            )));
        }
        let asset = parse_count(fields[0]).map_err(|why| bad(format!("asset {why}")))?;
        let cycle = parse_count(fields[1]).map_err(|why| bad(format!("cycle {why}")))?;
        let mut row = [0.0; CHANNELS];
        for (c, (slot, text)) in row.iter_mut().zip(&fields[2..]).enumerate() {
            let name = if c < SETTINGS {
                format!("setting{}", c + 1)
            } else {
                format!("sensor{}", c - SETTINGS + 1)
            };
            let v: f64 = text
                .parse()
                .map_err(|_| bad(format!("{name} {text:?} is not a number")))?;
            if !v.is_finite() {
                return Err(bad(format!("{name} {text:?} is not a finite number")));
            }
            *slot = v;
        }
        let cycles = by_asset.entry(asset).or_default();
        if let Some((_, first)) = cycles.get(&cycle) {
            return Err(bad(format!(
                "asset {asset} cycle {cycle} again (first on line {first})"
            )));
        }
        cycles.insert(cycle, (row, line));
    }
    if by_asset.is_empty() {
        return Err(ParseError::Empty);
    }
    by_asset
        .into_iter()
        .map(|(asset, rows)| {
            let mut unit = Unit {
                asset,
                cycles: Vec::with_capacity(rows.len()),
                rows: Vec::with_capacity(rows.len()),
            };
            for (cycle, (row, line)) in rows {
                if let Some(&prev) = unit.cycles.last() {
                    if cycle != prev + 1 {
                        return Err(ParseError::Asset {
                            asset,
                            why: format!(
                                "cycles jump from {prev} to {cycle} (line {line}); cycles must be consecutive"
                            ),
                        });
                    }
                }
                unit.cycles.push(cycle);
                unit.rows.push(row);
            }
            Ok(unit)
        })
        .collect()
}

/// A positive integer, as C-MAPSS writes asset and cycle numbers.
fn parse_count(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(0) => Err("0 must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{text:?} is not a positive integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(asset: &str, cycle: &str) -> String {
        let mut s = format!("{asset} {cycle}");
        for c in 0..CHANNELS {
            s.push_str(&format!(" {}.5", c));
        }
        s
    }

    #[test]
    fn parses_units_in_asset_and_cycle_order() {
        let text = format!(
            "{}  \n\n{}\n{}\r\n{}\n",
            row("2", "1"),
            row("1", "2"),
            row("1", "1"),
            row("2", "2")
        );
        let units = parse_fleet(&text).unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!((units[0].asset, units[0].cycles.clone()), (1, vec![1, 2]));
        assert_eq!((units[1].asset, units[1].cycles.clone()), (2, vec![1, 2]));
        assert_eq!(units[0].rows[0][0], 0.5);
        assert_eq!(units[0].sensor(21).next(), Some(23.5));
        assert_eq!(units[1].truncated(1).len(), 1);
    }

    #[test]
    fn malformed_input_names_the_line() {
        let good = row("1", "1");
        let short = "1 2 3";
        let word = good.replacen(" 3.5", " x", 1);
        let nan = good.replacen(" 3.5", " NaN", 1);
        let cases: Vec<(String, &str)> = vec![
            (format!("{good}\n{short}"), "line 2: expected 26 columns"),
            (
                format!("{good}\n{} 7", row("1", "2")),
                "line 2: expected 26",
            ),
            (word.clone(), "line 1: sensor1 \"x\" is not a number"),
            (nan, "line 1: sensor1 \"NaN\" is not a finite number"),
            (row("0", "1"), "line 1: asset 0 must be at least 1"),
            (
                row("-1", "1"),
                "line 1: asset \"-1\" is not a positive integer",
            ),
            (
                row("1", "1.5"),
                "line 1: cycle \"1.5\" is not a positive integer",
            ),
            (
                format!("{good}\n{good}"),
                "line 2: asset 1 cycle 1 again (first on line 1)",
            ),
            (
                format!("{good}\n{}", row("1", "3")),
                "asset 1: cycles jump from 1 to 3",
            ),
            ("\n  \n".into(), "no data rows"),
            (String::new(), "no data rows"),
        ];
        for (text, want) in cases {
            let err = parse_fleet(&text).unwrap_err().to_string();
            assert!(err.starts_with(want), "{text:?}: {err}");
        }
    }
}
