//! NAB's scoring rules (Numenta Anomaly Benchmark, `nab/sweeper.py` and `nab/scorer.py`),
//! restated for detections that are already decided (one per raised alert), so that the
//! `nab` example and the crate's tests judge the same way.
//!
//! Per file of `n` rows: the first `min(floor(0.15 n), 750)` rows are probationary and not
//! scored at all. A labelled window `[start, end]` (timestamps, inclusive) covers rows `L..=R`,
//! width `W = R - L + 1`; a detection at row `i` inside it scores `sigmoid(-(R - i + 1) / W)`,
//! divided by that of the window's left edge (NAB normalises a true positive by its best
//! possible value) and weighted by `A_TP`; only the best (earliest) detection of a window
//! counts, a window without one costs `A_FN`. A detection outside every window scores
//! `sigmoid(|R_prev - i| / (W_prev - 1))` against the previous window, or -1 before the first,
//! weighted by `A_FP` (the sigmoid is negative past a window, so it costs). The corpus score is
//! normalised so that no detections give 0 and a detection at each window's first row 100.

/// The weights of one NAB profile (`config/profiles.json`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
}

pub const PROFILES: [Profile; 3] = [
    Profile {
        name: "standard",
        tp: 1.0,
        fp: 0.11,
        fn_: 1.0,
    },
    Profile {
        name: "reward_low_FP_rate",
        tp: 1.0,
        fp: 0.22,
        fn_: 1.0,
    },
    Profile {
        name: "reward_low_FN_rate",
        tp: 1.0,
        fp: 0.11,
        fn_: 2.0,
    },
];

/// NAB's scaled sigmoid of a relative position: 0.987 at a window's left edge (-1), 0 at
/// its right edge, -1 from 3 window widths past it.
pub fn scaled_sigmoid(x: f64) -> f64 {
    if x >= 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * x).exp()) - 1.0
    }
}

/// How many leading rows of an `n`-row file are probationary.
pub fn probation(n: usize) -> usize {
    ((0.15 * n as f64).floor() as usize).min(750)
}

/// What one file scored under one profile.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FileScore {
    /// The raw (unnormalised) score.
    pub score: f64,
    /// The score of no detections (every scored window missed).
    pub null: f64,
    /// The score of one detection at each scored window's first row.
    pub perfect: f64,
    /// Detections after the probationary period.
    pub detections: usize,
    /// Windows with at least one detection.
    pub true_positives: usize,
    /// Detections outside every window.
    pub false_positives: usize,
    /// Windows without a detection.
    pub missed: usize,
}

impl FileScore {
    pub fn add(&mut self, other: &FileScore) {
        self.score += other.score;
        self.null += other.null;
        self.perfect += other.perfect;
        self.detections += other.detections;
        self.true_positives += other.true_positives;
        self.false_positives += other.false_positives;
        self.missed += other.missed;
    }

    /// 100 (S - S_null) / (S_perfect - S_null); 0 when there is nothing to find (a corpus of
    /// window-less files has no scale; NAB never normalises one alone).
    pub fn normalised(&self) -> f64 {
        if self.perfect > self.null {
            100.0 * (self.score - self.null) / (self.perfect - self.null)
        } else {
            0.0
        }
    }
}

/// Scores `detections` (row indices, any order, repeats allowed) on a file whose rows have
/// timestamps `ts` (ms), against `windows` (start, end timestamps, in time order).
pub fn score_file(
    ts: &[i64],
    windows: &[(i64, i64)],
    detections: &[usize],
    profile: &Profile,
) -> FileScore {
    let n = ts.len();
    let probationary = probation(n);
    // Rows of each window as NAB finds them: it enters at the row whose time equals the start
    // and leaves at the first row whose time equals the end (a repeated DST hour matches first).
    let mut limits: Vec<(usize, usize)> = Vec::new();
    for &(start, end) in windows {
        let (Some(l), Some(r)) = (
            ts.iter().position(|&t| t == start),
            ts.iter().position(|&t| t == end),
        ) else {
            panic!("window {start}..{end} does not start and end at rows of the file");
        };
        limits.push((l, r));
    }
    let max_tp = scaled_sigmoid(-1.0);
    // Per row: the window it is in (if any) and its weighted score as a detection.
    let row_score = |i: usize| -> (Option<usize>, f64) {
        if let Some(w) = limits.iter().position(|&(l, r)| l <= i && i <= r) {
            let (l, r) = limits[w];
            let width = (r - l + 1) as f64;
            let position = -((r as f64 - i as f64 + 1.0) / width);
            (Some(w), scaled_sigmoid(position) * profile.tp / max_tp)
        } else {
            let previous = limits.iter().rev().find(|&&(_, r)| r < i);
            let position = match previous {
                None => 3.0,
                Some(&(l, r)) => (i - r) as f64 / ((r - l + 1) as f64 - 1.0),
            };
            (None, scaled_sigmoid(position) * profile.fp)
        }
    };
    // A window counts only through its rows past probation.
    let scored: Vec<bool> = limits.iter().map(|&(_, r)| r >= probationary).collect();
    let windows_scored = scored.iter().filter(|&&s| s).count();
    let mut best: Vec<Option<f64>> = vec![None; limits.len()];
    let mut out = FileScore {
        null: -profile.fn_ * windows_scored as f64,
        ..FileScore::default()
    };
    for &i in detections {
        if i < probationary || i >= n {
            continue;
        }
        out.detections += 1;
        match row_score(i) {
            (Some(w), s) => best[w] = Some(best[w].map_or(s, |b: f64| b.max(s))),
            (None, s) => {
                out.false_positives += 1;
                out.score += s;
            }
        }
    }
    for (w, &(l, _)) in limits.iter().enumerate() {
        if !scored[w] {
            continue;
        }
        out.perfect += row_score(l.max(probationary)).1;
        match best[w] {
            Some(s) => {
                out.true_positives += 1;
                out.score += s;
            }
            None => {
                out.missed += 1;
                out.score -= profile.fn_;
            }
        }
    }
    out
}

/// Milliseconds since 1970-01-01 of a naive "YYYY-MM-DD HH:MM:SS[.ffffff]" timestamp, read as
/// UTC (NAB's timestamps carry no zone; only order and equality matter).
pub fn parse_ts(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = text.split_once([' ', 'T'])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next().unwrap_or(Some(0))?);
    let ms = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<3}")[..3].parse::<i64>().ok()?
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + min) * 60_000 + s * 1000 + ms)
}
