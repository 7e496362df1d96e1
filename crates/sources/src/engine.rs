//! The engine: the store, the sources feeding it, and the queries the UI and CLI ask.

use crate::board::SourceBoard;
use crate::demo::DemoFleet;
use crate::error::{Result, SourceError};
use crate::task::TaskHandle;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use telltale_model::{
    Dashboard, DeviceId, ExportRequest, ExportResult, History, HistoryQuery, Reading,
    RetentionSetting,
};
use telltale_store::{Ingest, Retention, SeriesKey, Store, Writer};
use tokio::sync::broadcast;

/// How often data past its retention is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Everything that runs behind the UI or the headless collector.
pub struct Engine {
    store: Arc<Store>,
    writer: Writer,
    board: SourceBoard,
    demo: Option<DemoFleet>,
    maintenance: Option<TaskHandle>,
}

impl Engine {
    /// Opens the database; starts nothing yet.
    pub fn open(db: &Path) -> Result<Self> {
        let (store, writer) = telltale_store::open(db)?;
        Ok(Self {
            store: Arc::new(store),
            writer,
            board: SourceBoard::default(),
            demo: None,
            maintenance: None,
        })
    }

    /// Starts the built-in demo fleet. Must be called inside a tokio runtime.
    pub fn start_demo(&mut self) {
        if self.demo.is_none() {
            self.demo = Some(DemoFleet::start(self.writer.ingest(), self.board.clone()));
        }
    }

    /// Starts background upkeep: pruning data past its retention, in small steps so ingest
    /// never waits. Must be called inside a tokio runtime.
    pub fn start_maintenance(&mut self) {
        if self.maintenance.is_some() {
            return;
        }
        let ingest = self.writer.ingest();
        self.maintenance = Some(TaskHandle::spawn(
            "store-maintenance",
            move |cancel| async move {
                let mut tick = tokio::time::interval(PRUNE_EVERY);
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tick.tick() => {}
                    }
                    let mut pruned = 0;
                    loop {
                        match ingest.prune_step(crate::now_ms()).await {
                            Ok(0) => break,
                            Ok(n) => pruned += n,
                            Err(e) => {
                                tracing::error!(error = %e, "pruning failed");
                                break;
                            }
                        }
                        // Let queued readings in between steps.
                        tokio::task::yield_now().await;
                    }
                    if pruned > 0 {
                        tracing::info!(pruned, "pruned data past its retention");
                    }
                }
            },
        ));
    }

    /// A handle for writing, for callers that await a commit without holding the engine.
    pub fn ingest(&self) -> Ingest {
        self.writer.ingest()
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

    /// Saves a series' raw readings as CSV in `dir` and says where.
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
        let rows = self
            .store
            .export_csv(&key, req.from_ms, req.to_ms, &mut file)?;
        Ok(ExportResult {
            path: path.display().to_string(),
            rows,
        })
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Readings as they are committed, for live views.
    pub fn committed(&self) -> broadcast::Receiver<Arc<[Reading]>> {
        self.writer.subscribe()
    }

    pub fn dashboard(&self, now_ms: i64) -> Result<Dashboard> {
        Ok(Dashboard::new(
            now_ms,
            self.store.device_summaries()?,
            self.board.snapshot(),
        ))
    }

    pub fn history(&self, q: &HistoryQuery) -> Result<History> {
        Ok(self.store.history(q)?)
    }

    /// Stops every source, commits what they handed over, and closes the store.
    pub async fn shutdown(self) {
        if let Some(demo) = self.demo {
            demo.stop().await;
        }
        if let Some(m) = self.maintenance {
            m.stop().await;
        }
        // The writer drains its queue on close; it blocks, so keep it off the async workers.
        let writer = self.writer;
        let _ = tokio::task::spawn_blocking(move || writer.close()).await;
    }
}

/// Applies a retention setting; free of the engine so callers need not hold it across the await.
pub async fn set_retention(
    ingest: &Ingest,
    device: DeviceId,
    metric: String,
    setting: RetentionSetting,
) -> Result<()> {
    setting
        .validate()
        .map_err(|e| SourceError::Config(e.message))?;
    ingest
        .set_retention(
            SeriesKey { device, metric },
            Retention {
                raw_ms: setting.raw_ms,
                minute_ms: setting.minute_ms,
            },
        )
        .await?;
    Ok(())
}
