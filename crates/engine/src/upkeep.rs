//! Service plans counted from the data, and the upkeep measures the alert engine judges.
//!
//! A plan's runtime counter is recomputed from the stored readings whenever it is asked for
//! (`telltale_forecast::runtime` does the counting): nothing is accumulated that the data could
//! contradict, so a late reading, an import or a restart never leaves the counter wrong.

use crate::error::{EngineError, Result};
use std::collections::BTreeMap;
use telltale_alerts::AlertKind;
use telltale_forecast::runtime::{count_usage, max_gap_ms, project_due, Interval};
use telltale_model::alert::Forecast;
use telltale_model::upkeep::{FleetRul, FleetRulEstimate, ServiceStatus, MAX_FLEET_FILE_BYTES};
use telltale_model::{DeviceId, HistoryQuery, MAX_POINTS};
use telltale_store::{SeriesKey, Store, StoreError};

const HOUR_MS: i64 = 3_600_000;
/// The pace a due date is projected at: the last week's.
const RECENT_MS: i64 = 7 * 24 * HOUR_MS;
/// Past services shown with a plan.
const HISTORY_SHOWN: u32 = 5;

/// Remaining lives of a fleet's running assets (`running`), learnt from the run-to-failure
/// histories of its failed ones (`failed`): both in the C-MAPSS layout that `telltale forecast
/// rul` reads, and the same model. Soonest first. CPU-bound (a fit takes a fraction of a
/// second in a release build): call it off the async workers.
pub fn fleet_rul(failed: &str, running: &str) -> Result<FleetRul> {
    let parse = |text: &str, what: &str| {
        if text.len() > MAX_FLEET_FILE_BYTES {
            return Err(EngineError::Invalid(format!(
                "{what}: {} MB is more than the {} MB a fleet file may have",
                text.len() >> 20,
                MAX_FLEET_FILE_BYTES >> 20
            )));
        }
        telltale_forecast::parse_fleet(text)
            .map_err(|e| EngineError::Invalid(format!("{what}: {e}")))
    };
    let failed = parse(failed, "failed units' histories")?;
    let running = parse(running, "running units' histories")?;
    let config = telltale_forecast::RulConfig::default();
    let model = telltale_forecast::RulModel::fit(&failed, &config)
        .map_err(|e| EngineError::Invalid(format!("failed units' histories: {e}")))?;
    let mut estimates: Vec<FleetRulEstimate> = running
        .iter()
        .map(|unit| {
            let e = model.predict(unit);
            FleetRulEstimate {
                asset: unit.asset,
                cycles: unit.len(),
                rul: e.rul,
                low: e.low,
                high: e.high,
            }
        })
        .collect();
    estimates.sort_by(|a, b| a.rul.total_cmp(&b.rul).then(a.asset.cmp(&b.asset)));
    Ok(FleetRul {
        failed_units: failed.len(),
        cap: config.cap,
        sensors: model.sensors(),
        estimates,
    })
}

/// Where every plan stands at `now_ms`, by id.
pub fn service_statuses(store: &Store, now_ms: i64) -> Result<Vec<ServiceStatus>> {
    let mut out = Vec::new();
    for row in store.service_plans()? {
        let plan = row.plan;
        let history = store.services(&plan.id, HISTORY_SHOWN)?;
        let since = history.first().map_or(row.created_ms, |r| r.ts_ms);
        let recent_from = now_ms - RECENT_MS;
        let points = series_points(
            store,
            &plan.device,
            &plan.metric,
            since.min(recent_from),
            now_ms,
        )?;
        let gap = max_gap_ms(&points);
        let from = |t: i64| &points[points.partition_point(|p| p.0 < t)..];
        let used = count_usage(from(since), plan.on_above, gap, now_ms);
        let recent = count_usage(from(recent_from), plan.on_above, gap, now_ms);
        let interval = Interval {
            every_hours: plan.every_hours,
            every_cycles: plan.every_cycles,
        };
        let due = project_due(interval, &used, &recent, now_ms);
        let device_name = match store.device(&plan.device) {
            Ok(d) if !d.name.is_empty() => d.name,
            _ => plan.device.as_str().to_owned(),
        };
        out.push(ServiceStatus {
            device_name,
            since_ms: since,
            hours: used.hours(),
            cycles: used.starts,
            hours_left: due.hours_left,
            cycles_left: due.cycles_left,
            due_ms: due.due_ms,
            basis: due.basis,
            history,
            plan,
        });
    }
    Ok(out)
}

/// A series' values in [from, to], in time order: the raw readings where they are kept, and
/// before the oldest kept raw reading (retention pruned it) the means of the finest rollups that
/// fit a chart's budget (minutes or hours), so an old plan's count still covers its whole
/// stretch, at that resolution there.
fn series_points(
    store: &Store,
    device: &DeviceId,
    metric: &str,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, f64)>> {
    let key = SeriesKey {
        device: device.clone(),
        metric: metric.to_owned(),
    };
    let mut raw = Vec::new();
    match store.export(&key, from, to.saturating_add(1), |s| {
        raw.push((s.ts, s.value));
        Ok(())
    }) {
        Ok(()) => {}
        // A plan may name a series that has not reported yet: nothing counted.
        Err(StoreError::NotFound(_)) => return Ok(raw),
        Err(e) => return Err(e.into()),
    }
    let first_raw = raw.first().map_or(to, |p| p.0);
    if first_raw - from <= HOUR_MS {
        return Ok(raw);
    }
    let older = store.history(&HistoryQuery {
        device: device.clone(),
        metric: metric.to_owned(),
        from_ms: from,
        to_ms: first_raw - 1,
        points: MAX_POINTS,
    })?;
    let mut points: Vec<(i64, f64)> = older.buckets.iter().map(|b| (b.t, b.mean)).collect();
    points.extend(raw);
    Ok(points)
}

/// One series' upkeep measure for the alert engine: seconds until its earliest date
/// (negative when past), or infinity when it has none (which clears a raised alert).
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub device: DeviceId,
    pub metric: String,
    pub kind: AlertKind,
    pub seconds_left: f64,
}

/// The measures of every forecast (`AlertKind::Forecast`: its `eta_ms`) and every plan
/// (`AlertKind::ServiceDue`: its `due_ms`), the earliest per series and kind.
pub fn measures(forecasts: &[Forecast], plans: &[ServiceStatus], now_ms: i64) -> Vec<Measure> {
    let mut earliest: BTreeMap<(DeviceId, String, &'static str), (AlertKind, f64)> =
        BTreeMap::new();
    let left = |t: Option<i64>| t.map_or(f64::INFINITY, |t| (t - now_ms) as f64 / 1000.0);
    let dates = forecasts
        .iter()
        .map(|f| (&f.device, &f.metric, AlertKind::Forecast, left(f.eta_ms)))
        .chain(plans.iter().map(|p| {
            (
                &p.plan.device,
                &p.plan.metric,
                AlertKind::ServiceDue,
                left(p.due_ms),
            )
        }));
    for (device, metric, kind, seconds) in dates {
        let slot = earliest
            .entry((device.clone(), metric.clone(), kind.as_str()))
            .or_insert((kind, f64::INFINITY));
        slot.1 = slot.1.min(seconds);
    }
    earliest
        .into_iter()
        .map(|((device, metric, _), (kind, seconds_left))| Measure {
            device,
            metric,
            kind,
            seconds_left,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_alerts::{Evaluator, RuleSet, Target};
    use telltale_forecast::{time_to_threshold, Direction, Eta, TrendConfig};

    #[test]
    fn a_fleet_gets_estimates_soonest_first_and_bad_files_are_explained() {
        let failed: Vec<_> = (1..=20).map(|a| (a, 150 + 6 * a, 150 + 6 * a)).collect();
        let fleet = fleet_rul(
            &telltale_demo::wearing_fleet(&failed),
            &telltale_demo::wearing_fleet(&[(7, 220, 120), (3, 200, 170)]),
        )
        .unwrap();
        assert_eq!(fleet.failed_units, 20);
        let order: Vec<u32> = fleet.estimates.iter().map(|e| e.asset).collect();
        assert_eq!(order, [3, 7], "30 cycles left before 100");
        for e in &fleet.estimates {
            assert!(
                e.low <= e.rul && e.rul <= e.high && e.high <= fleet.cap,
                "{e:?}"
            );
        }
        let cases = [
            ("not a fleet", "", "failed units' histories: line 1"),
            (
                &telltale_demo::wearing_fleet(&failed)[..],
                "1 1 x",
                "running units' histories: line 1",
            ),
        ];
        for (failed, running, want) in cases {
            let err = fleet_rul(failed, running).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
        }
        let huge = " ".repeat(MAX_FLEET_FILE_BYTES + 1);
        let err = fleet_rul(&huge, "").unwrap_err().to_string();
        assert!(err.contains("MB"), "{err}");
    }

    const DAY_MS: i64 = 86_400_000;

    /// (what, hourly points, raises a upkeep alert).
    type Case = (&'static str, Vec<(i64, f64)>, bool);

    /// A forecast row for `metric` dated by the trend of `points` toward `limit`.
    fn forecast(metric: &str, points: &[(i64, f64)], limit: f64, now: i64) -> Forecast {
        let eta = time_to_threshold(
            points,
            limit,
            Some(Direction::Rising),
            now,
            &TrendConfig::default(),
        );
        let (eta_ms, low_ms, high_ms) = match &eta {
            Eta::Forecast(f) => (Some(f.eta_ms), Some(f.low_ms), Some(f.high_ms)),
            Eta::NoTrend { .. } => (None, None, None),
        };
        Forecast {
            device: DeviceId::new("mqtt:p/pump"),
            device_name: "pump".into(),
            metric: metric.into(),
            unit: None,
            rule: "limit".into(),
            threshold: limit,
            eta_ms,
            low_ms,
            high_ms,
            basis: eta.basis().to_owned(),
            points: eta.points(),
        }
    }

    /// Thirty days of hourly points ending at `now`.
    fn hourly(now: i64, f: impl Fn(f64) -> f64) -> Vec<(i64, f64)> {
        (0..720)
            .map(|h| (now - (720 - h) * 3_600_000, f(h as f64)))
            .collect()
    }

    #[test]
    fn only_a_trend_crossing_into_the_horizon_raises_an_upkeep_alert() {
        let now = 1_800_000_000_000;
        let rules = RuleSet::from_toml(
            "[[rule]]\nid = \"wear\"\ndevice = \"*\"\nkind = \"forecast\"\nhorizon_s = 604800\n",
        )
        .unwrap();
        // A deterministic wobble so no series is a perfect line.
        let wobble = |h: f64| ((h * 7919.0) % 13.0) / 100.0;
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            // 2.0 → 3.8 over 30 days, limit 4: about 3 days ahead.
            ("wears into the horizon", hourly(now, |h| 2.0 + 1.8 * h / 720.0 + wobble(h)), true),
            // 2.0 → 2.6 over 30 days, limit 4: about 70 days ahead.
            ("wears, but slowly", hourly(now, |h| 2.0 + 0.6 * h / 720.0 + wobble(h)), false),
            ("flat", hourly(now, |h| 2.0 + wobble(h)), false),
            // A daily swing of ±1.5 around 2.5 touches the limit region without any trend.
            ("seasonal", hourly(now, |h| 2.5 + 1.5 * (h * std::f64::consts::TAU / 24.0).sin()), false),
            ("noisy", hourly(now, |h| 2.5 + ((h * 104_729.0) % 97.0) / 97.0 * 1.4 - 0.7), false),
        ];
        for (what, points, raises) in cases {
            let f = forecast("vibration", &points, 4.0, now);
            let mut ev = Evaluator::new(rules.clone());
            let mut raised = false;
            for m in measures(std::slice::from_ref(&f), &[], now) {
                let target = Target::new("pump", &m.metric);
                raised |= !ev.judge(&target, m.kind, now, m.seconds_left).is_empty();
            }
            assert_eq!(raised, raises, "{what}: {}", f.basis);
            if raises {
                let left = f.eta_ms.unwrap() - now;
                assert!(left > 0 && left < 7 * DAY_MS, "{what}: {}", f.basis);
            }
        }
    }

    #[test]
    fn measures_take_the_earliest_date_per_series_and_kind() {
        let now = 1_000_000;
        let at = |metric: &str, eta: Option<i64>| Forecast {
            eta_ms: eta,
            ..forecast(metric, &[], 1.0, now)
        };
        let got = measures(
            &[
                at("a", Some(now + 50_000)),
                at("a", Some(now + 10_000)),
                at("b", None),
            ],
            &[],
            now,
        );
        let got: Vec<(String, f64)> = got
            .into_iter()
            .map(|m| (m.metric, m.seconds_left))
            .collect();
        assert_eq!(got, [("a".into(), 10.0), ("b".into(), f64::INFINITY)]);
    }
}
