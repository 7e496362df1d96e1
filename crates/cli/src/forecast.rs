//! `forecast rul` and `forecast eta`: forecasts from run-to-failure files and from
//! the store. The maths is `telltale-forecast`'s; this file reads, maps errors and prints.

use std::path::{Path, PathBuf};
use telltale_forecast::{parse_fleet, time_to_threshold, Eta, RulConfig, RulModel, TrendConfig};
use telltale_model::{DeviceId, HistoryQuery, MIN_TS_MS};
use telltale_store::StoreError;

#[derive(clap::Subcommand)]
pub enum ForecastCommand {
    /// Remaining useful life of running assets, learned from failed ones. Both files are
    /// whitespace-separated rows `asset cycle setting1 setting2 setting3 sensor1 … sensor21`
    /// (the C-MAPSS layout). Prints one JSON object per running asset, in asset order:
    /// {"asset", "rul", "low", "high"} in cycles, low–high an 80% interval; remaining lives are
    /// capped at 125 cycles ("125": 125 or more).
    Rul {
        /// Complete run-to-failure histories (each asset's last row is its failure).
        #[arg(long)]
        history: PathBuf,
        /// Histories of running assets, cut short.
        #[arg(long)]
        current: PathBuf,
    },
    /// When will a series cross a threshold? A robust trend over the hourly-ish means of the
    /// last 90 days; prints {"eta_ms", "low_ms", "high_ms", "basis", "points"}, the times null
    /// with the reason in "basis" when there is no trend to date.
    Eta {
        /// The SQLite database to read.
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        device: String,
        #[arg(long)]
        metric: String,
        #[arg(long, allow_negative_numbers = true)]
        threshold: f64,
        /// "Now", ms since the epoch (default: the wall clock).
        #[arg(long, allow_negative_numbers = true)]
        now: Option<i64>,
    },
}

pub fn run(action: ForecastCommand) -> Result<(), String> {
    match action {
        ForecastCommand::Rul { history, current } => rul(&history, &current),
        ForecastCommand::Eta {
            db,
            device,
            metric,
            threshold,
            now,
        } => eta(
            &db,
            &device,
            &metric,
            threshold,
            now.unwrap_or_else(telltale_sources::now_ms),
        ),
    }
}

fn read_fleet(path: &Path) -> Result<Vec<telltale_forecast::Unit>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_fleet(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn rul(history: &Path, current: &Path) -> Result<(), String> {
    let failed = read_fleet(history)?;
    let running = read_fleet(current)?;
    let model = RulModel::fit(&failed, &RulConfig::default())
        .map_err(|e| format!("{}: {e}", history.display()))?;
    // Tenths of a cycle; keys in the documented order.
    let tenth = |x: f64| serde_json::json!((x * 10.0).round() / 10.0);
    for unit in &running {
        let e = model.predict(unit);
        crate::print_line(format_args!(
            "{{\"asset\": {}, \"rul\": {}, \"low\": {}, \"high\": {}}}",
            unit.asset,
            tenth(e.rul),
            tenth(e.low),
            tenth(e.high)
        ))?;
    }
    Ok(())
}

/// How far back `eta` looks, and the point budget: about 2-hour means over 90 days.
const LOOKBACK_MS: i64 = 90 * 86_400_000;
const POINTS: u32 = 2000;

fn eta(db: &Path, device: &str, metric: &str, threshold: f64, now: i64) -> Result<(), String> {
    if !threshold.is_finite() {
        return Err(format!(
            "--threshold must be a finite number, got {threshold}"
        ));
    }
    let q = HistoryQuery {
        device: DeviceId::new(device),
        metric: metric.to_owned(),
        from_ms: now.saturating_sub(LOOKBACK_MS).max(MIN_TS_MS),
        to_ms: now.saturating_add(1),
        points: POINTS,
    };
    q.validate()
        .map_err(|e| format!("--now {now}: {}", e.message))?;
    if !db.is_file() {
        return Err(format!("no database at {}", db.display()));
    }
    let store = telltale_store::open_read_only(db).map_err(|e| e.to_string())?;
    let history = store.history(&q).map_err(|e| match e {
        StoreError::NotFound(what) => format!("{what} in {}", db.display()),
        e => e.to_string(),
    })?;
    // Each bucket's mean, placed at the bucket's middle (raw readings at their own time).
    let points: Vec<(i64, f64)> = history
        .buckets
        .iter()
        .filter(|b| b.count > 0 && b.mean.is_finite())
        .map(|b| ((b.t + history.bucket_ms / 2).min(now), b.mean))
        .collect();
    let eta = time_to_threshold(&points, threshold, None, now, &TrendConfig::default());
    let (times, basis) = match &eta {
        Eta::Forecast(f) => (Some((f.eta_ms, f.low_ms, f.high_ms)), f.basis.clone()),
        Eta::NoTrend {
            basis, points: 0, ..
        } => (None, format!("{basis} in the 90 days before {now}")),
        Eta::NoTrend { basis, .. } => (None, basis.clone()),
    };
    let ms = |pick: fn((i64, i64, i64)) -> i64| {
        times.map_or(serde_json::Value::Null, |t| pick(t).into())
    };
    // Keys in the documented order.
    crate::print_line(format_args!(
        "{{\"eta_ms\": {}, \"low_ms\": {}, \"high_ms\": {}, \"basis\": {}, \"points\": {}}}",
        ms(|t| t.0),
        ms(|t| t.1),
        ms(|t| t.2),
        serde_json::Value::from(basis),
        eta.points()
    ))
}
