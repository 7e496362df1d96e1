//! Maintenance forecasts: for every series an alert limit watches, when its trend will reach
//! that limit, with an interval, or an honest "not enough data" / "no trend".

use crate::error::Result;
use telltale_alerts::{Kind, RuleSet, Target};
use telltale_forecast::{time_to_threshold, Direction, Eta, TrendConfig};
use telltale_model::alert::MaintenanceForecast;
use telltale_model::HistoryQuery;
use telltale_store::Store;

/// The history a forecast rests on: 30 days, in about hourly buckets.
const WINDOW_MS: i64 = 30 * 86_400_000;
const POINTS: u32 = 720;

/// One forecast per (series, high/low limit rule), dated ones first, soonest first.
pub fn forecasts(store: &Store, rules: &RuleSet, now_ms: i64) -> Result<Vec<MaintenanceForecast>> {
    let mut out = Vec::new();
    for summary in store.device_summaries()? {
        let device = &summary.device;
        for latest in &summary.latest {
            let target = Target {
                device: &device.name,
                kind: Some(&device.kind),
                tags: &device.tags,
                metric: &latest.metric,
                unit: latest.unit.as_deref(),
            };
            for rule in rules.rules.iter().filter(|r| r.applies(&target)) {
                let direction = match rule.kind {
                    Kind::High => Direction::Rising,
                    Kind::Low | Kind::BatteryLow => Direction::Falling,
                    _ => continue,
                };
                let history = store.history(&HistoryQuery {
                    device: device.id.clone(),
                    metric: latest.metric.clone(),
                    from_ms: (now_ms - WINDOW_MS).max(0),
                    to_ms: now_ms.max(1),
                    points: POINTS,
                })?;
                let points: Vec<(i64, f64)> =
                    history.buckets.iter().map(|b| (b.t, b.mean)).collect();
                let eta = time_to_threshold(
                    &points,
                    rule.limit,
                    Some(direction),
                    now_ms,
                    &TrendConfig::default(),
                );
                let (eta_ms, low_ms, high_ms, basis, points) = match eta {
                    Eta::Forecast(f) => (
                        Some(f.eta_ms),
                        Some(f.low_ms),
                        Some(f.high_ms),
                        f.basis,
                        f.points,
                    ),
                    Eta::NoTrend { basis, points, .. } => (None, None, None, basis, points),
                };
                out.push(MaintenanceForecast {
                    device: device.id.clone(),
                    device_name: device.name.clone(),
                    metric: latest.metric.clone(),
                    unit: latest.unit.clone(),
                    rule: rule.id.clone(),
                    threshold: rule.limit,
                    eta_ms,
                    low_ms,
                    high_ms,
                    basis,
                    points,
                });
            }
        }
    }
    out.sort_by_key(|f| (f.eta_ms.is_none(), f.eta_ms, f.device_name.clone()));
    Ok(out)
}
