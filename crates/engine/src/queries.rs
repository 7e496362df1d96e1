//! The engine's read side: a cheap `Clone` handle whose every call reads the store or fits a
//! trend, so that nobody holds the engine while SQLite works. Every call blocks: run it on a
//! blocking thread (`spawn_blocking`), not on an async worker. The store lends each call one of
//! a few read-only connections, so reads run beside each other and beside the writer.

use crate::alerting::Alerts;
use crate::error::{EngineError, Result};
use std::path::Path;
use std::sync::Arc;
use telltale_alerts::{AlertKind, EventKind, Rule, RuleSet, Target};
use telltale_chart::export::{self, Picture};
use telltale_chart::ChartStyle;
use telltale_model::alert::{
    AlertHistoryQuery, AlertRecord, ChartForecast, Forecast, PreviewRaise, RulePreview,
    SeriesAlerts, PREVIEW_EXAMPLES,
};
use telltale_model::upkeep::ServiceStatus;
use telltale_model::view::{ChartExport, ChartFormat};
use telltale_model::{
    Dashboard, Device, DeviceId, ExportRequest, ExportResult, History, HistoryQuery,
    RetentionSetting, MAX_POINTS,
};
use telltale_sources::SourceBoard;
use telltale_store::{SeriesKey, Store, StoreError};

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
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!(
            "telltale-{}-{}-{}.csv",
            file_part(&req.device, &req.metric),
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

    /// Saves the chart of `req` — its series over its window — as a PNG or SVG picture in `dir`,
    /// drawn by the same code as the app's canvas, and says where. One series is drawn as its
    /// device page shows it, with its alert limits, active periods and the forecasts dated from
    /// `now_ms`; two to four are compared on one time axis. The data is asked for at one point
    /// per pixel column of the picture.
    ///
    /// `rows` in the answer is how many readings the picture covers: the sum of its buckets'
    /// counts over every series (an aggregated bucket counts every reading folded into it).
    ///
    /// A series with no readings in the window is drawn saying "no data in this range"; a
    /// series the store has never heard of is `NotFound`, as its history is: a picture of
    /// nothing from a typo is no answer. A request that breaks [`ChartExport::validate`] (no or
    /// too many series, a size out of bounds, an inverted window) is `Invalid` and writes nothing.
    pub fn export_chart(&self, req: &ChartExport, dir: &Path, now_ms: i64) -> Result<ExportResult> {
        req.validate()
            .map_err(|e| EngineError::Invalid(e.message))?;
        let points = req.width.min(MAX_POINTS);
        let histories = req
            .series
            .iter()
            .map(|s| self.history(&s.query(req.from_ms, req.to_ms, points)))
            .collect::<Result<Vec<History>>>()?;
        let style = ChartStyle {
            utc_offset_min: req.utc_offset_min,
            scale: export::scale_for(req.width),
            ..ChartStyle::default()
        };
        let (alerts, labels);
        let compared: Vec<telltale_chart::Compared>;
        let picture = if let [h] = histories.as_slice() {
            alerts = self.chart_alerts(h, now_ms)?;
            Picture::One {
                history: h,
                alerts: &alerts,
            }
        } else {
            labels = histories
                .iter()
                .map(|h| self.series_label(h))
                .collect::<Result<Vec<String>>>()?;
            compared = histories
                .iter()
                .zip(&labels)
                .map(|(history, label)| telltale_chart::Compared { label, history })
                .collect();
            Picture::Compared(&compared)
        };
        let size = (req.width, req.height);
        let drawn = match req.format {
            ChartFormat::Png => export::png(&picture, &style, size),
            ChartFormat::Svg => export::svg(&picture, &style, size).map(String::into_bytes),
        };
        let bytes = drawn.map_err(|e| EngineError::Internal(format!("drawing the chart: {e}")))?;
        let names: Vec<String> = req
            .series
            .iter()
            .map(|s| file_part(&s.device, &s.metric))
            .collect();
        let extension = match req.format {
            ChartFormat::Png => "png",
            ChartFormat::Svg => "svg",
        };
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!(
            "telltale-chart-{}-{}-{}.{extension}",
            names.join("+"),
            req.from_ms,
            req.to_ms
        ));
        std::fs::write(&path, bytes)?;
        Ok(ExportResult {
            path: path.display().to_string(),
            rows: histories
                .iter()
                .flat_map(|h| &h.buckets)
                .map(|b| b.count)
                .sum(),
        })
    }

    /// What a lone series' chart draws over its data, as the device page asks for it. A series
    /// with no device record (a historian's) has no alerts: it still draws.
    fn chart_alerts(&self, h: &History, now_ms: i64) -> Result<SeriesAlerts> {
        let alerts = self
            .series_alerts(&h.device, &h.metric, h.from_ms, h.to_ms)
            .and_then(|mut alerts| {
                alerts.forecasts = self.chart_forecasts(&h.device, &h.metric, now_ms)?;
                Ok(alerts)
            });
        match alerts {
            Err(EngineError::Store(StoreError::NotFound(_))) => Ok(SeriesAlerts::default()),
            other => other,
        }
    }

    /// A compared series' name on the chart: its device's name and the metric.
    fn series_label(&self, h: &History) -> Result<String> {
        let name = match self.store.device(&h.device) {
            Ok(d) => d.name,
            Err(StoreError::NotFound(_)) => h.device.as_str().to_owned(),
            Err(e) => return Err(e.into()),
        };
        Ok(format!("{name} · {}", h.metric))
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

/// A series in a file name: its device id and metric with every character but ASCII letters,
/// digits and '-' turned into '_', each cut to 40 characters so that four of them still make a
/// name every file system takes (255 bytes).
fn file_part(device: &DeviceId, metric: &str) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .take(40)
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}-{}", safe(device.as_str()), safe(metric))
}
