//! The engine's read side: a cheap `Clone` handle whose every call reads the store or fits a
//! trend, so that nobody holds the engine while SQLite works. Every call blocks: run it on a
//! blocking thread (`spawn_blocking`), not on an async worker. The store lends each call one of
//! a few read-only connections, so reads run beside each other and beside the writer.

use crate::alerting::Alerts;
use crate::error::Result;
use std::path::Path;
use std::sync::Arc;
use telltale_alerts::RuleSet;
use telltale_model::alert::{
    AlertHistoryQuery, AlertRecord, ChartForecast, Forecast, SeriesAlerts,
};
use telltale_model::upkeep::ServiceStatus;
use telltale_model::{
    Dashboard, Device, DeviceId, ExportRequest, ExportResult, History, HistoryQuery,
    RetentionSetting,
};
use telltale_sources::SourceBoard;
use telltale_store::{SeriesKey, Store};

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
