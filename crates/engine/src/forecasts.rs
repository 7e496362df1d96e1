//! Maintenance forecasts: for every series an alert limit watches, when its trend will reach
//! that limit, with an interval, or an honest "not enough data" / "no trend".

use crate::error::Result;
use telltale_alerts::{AlertKind, RuleSet, Target};
use telltale_forecast::{time_to_threshold, Direction, Eta, TrendConfig};
use telltale_model::alert::{ChartForecast, Forecast};
use telltale_model::{DeviceId, HistoryQuery};
use telltale_store::Store;

/// The history a forecast rests on: 30 days, in about hourly buckets.
const WINDOW_MS: i64 = 30 * 86_400_000;
const POINTS: u32 = 720;

/// One forecast per (series, high/low limit rule), dated ones first, soonest first.
pub fn forecasts(store: &Store, rules: &RuleSet, now_ms: i64) -> Result<Vec<Forecast>> {
    let mut out = Vec::new();
    for summary in store.device_summaries()? {
        let device = &summary.device;
        for latest in &summary.latest {
            let target = Target {
                id: device.id.as_str(),
                device: &device.name,
                kind: Some(&device.kind),
                tags: &device.tags,
                metric: &latest.metric,
                unit: latest.unit.as_deref(),
            };
            for rule in rules.rules.iter().filter(|r| r.applies(&target)) {
                let Some(direction) = watched_direction(rule.kind) else {
                    continue;
                };
                let (eta, _) = series_eta(
                    store,
                    &device.id,
                    &latest.metric,
                    rule.limit,
                    direction,
                    now_ms,
                )?;
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
                out.push(Forecast {
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

/// Which crossing a limit rule waits for; None for rules that set no limit to forecast.
fn watched_direction(kind: AlertKind) -> Option<Direction> {
    match kind {
        AlertKind::High => Some(Direction::Rising),
        AlertKind::Low | AlertKind::BatteryLow => Some(Direction::Falling),
        _ => None,
    }
}

/// When one series' trend reaches `limit`, and the last point of the data it rests on.
fn series_eta(
    store: &Store,
    device: &DeviceId,
    metric: &str,
    limit: f64,
    direction: Direction,
    now_ms: i64,
) -> Result<(Eta, Option<(i64, f64)>)> {
    let history = store.history(&HistoryQuery {
        device: device.clone(),
        metric: metric.to_owned(),
        from_ms: (now_ms - WINDOW_MS).max(0),
        to_ms: now_ms.max(1),
        points: POINTS,
    })?;
    let points: Vec<(i64, f64)> = history.buckets.iter().map(|b| (b.t, b.mean)).collect();
    let eta = time_to_threshold(
        &points,
        limit,
        Some(direction),
        now_ms,
        &TrendConfig::default(),
    );
    Ok((eta, points.last().copied()))
}

/// The dated forecasts of one series, for its chart: from its newest reading to each
/// high/low limit its trend reaches. None when no trend is dated.
pub fn chart_forecasts(
    store: &Store,
    rules: &RuleSet,
    device: &DeviceId,
    metric: &str,
    now_ms: i64,
) -> Result<Vec<ChartForecast>> {
    let d = store.device(device)?;
    let target = crate::alerting::device_target(&d, metric);
    let newest = store
        .device_summaries()?
        .into_iter()
        .find(|s| &s.device.id == device)
        .and_then(|s| s.latest.into_iter().find(|l| l.metric == metric))
        .map(|l| l.ts_ms);
    let mut out = Vec::new();
    for rule in rules.rules.iter().filter(|r| r.applies(&target)) {
        let Some(direction) = watched_direction(rule.kind) else {
            continue;
        };
        let (eta, last) = series_eta(store, device, metric, rule.limit, direction, now_ms)?;
        if let (Eta::Forecast(f), Some((bucket_ms, from_value))) = (eta, last) {
            out.push(ChartForecast {
                rule: rule.id.clone(),
                threshold: rule.limit,
                // The trend's level now (the last hourly mean, steadier than one reading), from
                // the newest reading on, so the projection joins the line where it ends.
                from_ms: newest.unwrap_or(bucket_ms).max(bucket_ms),
                from_value,
                eta_ms: f.eta_ms,
                low_ms: f.low_ms,
                high_ms: f.high_ms,
            });
        }
    }
    Ok(out)
}
