//! The engine's read side: a cheap `Clone` handle whose every call reads the store or fits a
//! trend, so that nobody holds the engine while SQLite works. Every call blocks: run it on a
//! blocking thread (`spawn_blocking`), not on an async worker. The store lends each call one of
//! a few read-only connections, so reads run beside each other and beside the writer.

use crate::alerting::Alerts;
use crate::error::Result;
use std::path::Path;
use std::sync::Arc;
use telltale_alerts::{AlertKind, EventKind, Rule, RuleSet, Target};
use telltale_model::alert::{
    AlertHistoryQuery, AlertRecord, ChartForecast, Forecast, PreviewRaise, RulePreview,
    SeriesAlerts, PREVIEW_EXAMPLES,
};
use telltale_model::upkeep::ServiceStatus;
use telltale_model::{
    Dashboard, Device, DeviceId, ExportRequest, ExportResult, History, HistoryQuery,
    RetentionSetting,
};
use telltale_sources::SourceBoard;
use telltale_store::{SeriesKey, Store};

/// How far back a rule's preview looks: a week.
pub const PREVIEW_SPAN_MS: i64 = 7 * 86_400_000;
/// The most readings one preview reads (a week of 1 Hz is 0.6 M per series): a second or two
/// of work; past it the preview says how much it judged.
pub const PREVIEW_READINGS: u64 = 5_000_000;

#[derive(Clone)]
pub struct Queries {
    store: Arc<Store>,
    board: SourceBoard,
    alerts: Option<Alerts>,
}

impl Queries {
    pub(crate) fn new(store: Arc<Store>, board: SourceBoard, alerts: Option<Alerts>) -> Self {
        Queries {
            store,
            board,
            alerts,
        }
    }

    /// The alert rules in force (none while the alert engine is not running).
    fn rules(&self) -> RuleSet {
        self.alerts.as_ref().map(Alerts::rules).unwrap_or_default()
    }

    pub fn dashboard(&self, now_ms: i64) -> Result<Dashboard> {
        let mut summaries = self.store.device_summaries()?;
        self.store.fill_sparklines(&mut summaries, now_ms)?;
        Ok(Dashboard::new(now_ms, summaries, self.board.snapshot()))
    }

    /// How `rule` would have done over the last [`PREVIEW_SPAN_MS`] of stored readings: the
    /// same state machines as live alerts and `telltale alerts replay`, on every series the rule
    /// matches (by device name or id, kind and tags), until [`PREVIEW_READINGS`] are read.
    pub fn preview_rule(&self, rule: &Rule, now_ms: i64) -> Result<RulePreview> {
        let from = now_ms - PREVIEW_SPAN_MS;
        let mut preview = RulePreview {
            from_ms: from,
            to_ms: now_ms,
            ..RulePreview::default()
        };
        if !rule.kind.judges_readings() {
            preview.note = Some(format!(
                "{} rules judge forecasts and service plans, not readings: the Upkeep page \
                 shows where those stand now",
                rule.kind
            ));
            return Ok(preview);
        }
        let mut raises = Vec::new();
        let mut unread = 0u32;
        for summary in self.store.device_summaries()? {
            let d = &summary.device;
            let name = if d.name.is_empty() {
                d.id.as_str()
            } else {
                &d.name
            };
            let applies = |metric: &str| {
                rule.applies(&Target {
                    id: d.id.as_str(),
                    device: name,
                    kind: Some(&d.kind),
                    tags: &d.tags,
                    metric,
                    unit: None,
                })
            };
            // A stale rule on every metric hears the device whichever metric speaks: one
            // stream of all of them. Every other rule judges each series on its own.
            let streams: Vec<(String, Vec<&telltale_model::LatestValue>)> =
                if rule.kind == AlertKind::Stale && rule.metric == "*" {
                    if summary.latest.is_empty() || !applies("*") {
                        continue;
                    }
                    vec![("*".to_owned(), summary.latest.iter().collect())]
                } else {
                    summary
                        .latest
                        .iter()
                        .filter(|v| applies(&v.metric))
                        .map(|v| (v.metric.clone(), vec![v]))
                        .collect()
                };
            for (metric, parts) in streams {
                if preview.readings >= PREVIEW_READINGS {
                    unread += 1;
                    continue;
                }
                let mut readings = Vec::new();
                for part in &parts {
                    let key = SeriesKey {
                        device: d.id.clone(),
                        metric: part.metric.clone(),
                    };
                    self.store.export(&key, from, now_ms, |s| {
                        readings.push((s.ts, s.value));
                        Ok(())
                    })?;
                }
                if parts.len() > 1 {
                    readings.sort_by_key(|(ts, _)| *ts);
                }
                preview.series += 1;
                preview.readings += readings.len() as u64;
                let unit = match parts.as_slice() {
                    [one] => one.unit.clone(),
                    _ => None,
                };
                let last = readings.last().copied();
                let mut raise = |ts_ms: i64, value: f64| {
                    preview.raised += 1;
                    raises.push(PreviewRaise {
                        ts_ms,
                        device_name: name.to_owned(),
                        metric: metric.clone(),
                        value,
                        unit: unit.clone(),
                    });
                };
                for e in telltale_alerts::replay_rules([rule], name, &metric, readings) {
                    if e.kind == EventKind::Raised {
                        raise(e.ts, e.value);
                    }
                }
                // A replay judges silences between readings; one still going on now counts
                // too, as it would have raised live.
                if let (AlertKind::Stale, Some((ts, value))) = (rule.kind, last) {
                    let due = ts.saturating_add((rule.stale_after_s * 1000.0).ceil() as i64);
                    if due <= now_ms {
                        raise(due, value);
                    }
                }
            }
        }
        raises.sort_by_key(|r| std::cmp::Reverse(r.ts_ms));
        raises.truncate(PREVIEW_EXAMPLES);
        preview.examples = raises;
        preview.note = if unread > 0 {
            Some(format!(
                "judged the first {} series ({} readings); {unread} more were not read",
                preview.series, preview.readings
            ))
        } else if preview.series == 0 {
            Some("no stored series matches this rule yet".to_owned())
        } else {
            None
        };
        Ok(preview)
    }

    pub fn history(&self, q: &HistoryQuery) -> Result<History> {
        Ok(self.store.history(q)?)
    }

    pub fn device(&self, id: &DeviceId) -> Result<Device> {
        Ok(self.store.device(id)?)
    }

    pub fn retention(&self, device: &DeviceId, metric: &str) -> Result<RetentionSetting> {
        let key = SeriesKey {
            device: device.clone(),
            metric: metric.to_owned(),
        };
        let r = self.store.retention(&key)?;
        Ok(RetentionSetting {
            raw_ms: r.raw_ms,
            minute_ms: r.minute_ms,
        })
    }

    /// Saves a series' raw readings as CSV in `dir` and says where. The file is for people: text
    /// cells a spreadsheet would run as a formula are neutralised (see [`CsvFor::Spreadsheet`]).
    ///
    /// [`CsvFor::Spreadsheet`]: telltale_store::CsvFor::Spreadsheet
    pub fn export_csv(&self, req: &ExportRequest, dir: &Path) -> Result<ExportResult> {
        let key = SeriesKey {
            device: req.device.clone(),
            metric: req.metric.clone(),
        };
        let safe = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!(
            "telltale-{}-{}-{}-{}.csv",
            safe(req.device.as_str()),
            safe(&req.metric),
            req.from_ms,
            req.to_ms
        ));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let rows = self.store.export_csv(
            &key,
            req.from_ms,
            req.to_ms,
            telltale_store::CsvFor::Spreadsheet,
            &mut file,
        )?;
        Ok(ExportResult {
            path: path.display().to_string(),
            rows,
        })
    }

    /// When each series watched by a high or low alert limit will reach it, by its trend.
    pub fn forecasts(&self, now_ms: i64) -> Result<Vec<Forecast>> {
        let rules = self.rules();
        crate::forecasts::forecasts(&self.store, &rules, now_ms)
    }

    /// A series' alert limits and active periods in [from, to], for its chart.
    pub fn series_alerts(
        &self,
        device: &DeviceId,
        metric: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<SeriesAlerts> {
        let rules = self.rules();
        crate::alerting::series_alerts(&self.store, &rules, device, metric, from_ms, to_ms)
    }

    /// A series' dated forecasts, projected from its last point to the limits in force.
    pub fn chart_forecasts(
        &self,
        device: &DeviceId,
        metric: &str,
        now_ms: i64,
    ) -> Result<Vec<ChartForecast>> {
        let rules = self.rules();
        crate::forecasts::chart_forecasts(&self.store, &rules, device, metric, now_ms)
    }

    /// Recorded alert transitions, newest first.
    pub fn alert_history(&self, q: &AlertHistoryQuery) -> Result<Vec<AlertRecord>> {
        crate::alerting::history(&self.store, q)
    }

    /// Where each service plan stands at `now_ms`.
    pub fn service_plans(&self, now_ms: i64) -> Result<Vec<ServiceStatus>> {
        crate::upkeep::service_statuses(&self.store, now_ms)
    }
}
