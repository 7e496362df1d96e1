//! The engine: the store, the sources feeding it, and the queries the UI and CLI ask.

use crate::board::SourceBoard;
use crate::demo::DemoFleet;
use crate::error::Result;
use std::path::Path;
use std::sync::Arc;
use telltale_model::{Dashboard, History, HistoryQuery, Reading};
use telltale_store::{Store, Writer};
use tokio::sync::broadcast;

/// Everything that runs behind the UI or the headless collector.
pub struct Engine {
    store: Arc<Store>,
    writer: Writer,
    board: SourceBoard,
    demo: Option<DemoFleet>,
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
        })
    }

    /// Starts the built-in demo fleet. Must be called inside a tokio runtime.
    pub fn start_demo(&mut self) {
        if self.demo.is_none() {
            self.demo = Some(DemoFleet::start(self.writer.ingest(), self.board.clone()));
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Readings as they are committed, for live views.
    pub fn committed(&self) -> broadcast::Receiver<Arc<[Reading]>> {
        self.writer.subscribe()
    }

    pub fn dashboard(&self, now_ms: i64) -> Result<Dashboard> {
        Ok(Dashboard {
            now_ms,
            devices: self.store.device_summaries()?,
            sources: self.board.snapshot(),
        })
    }

    pub fn history(&self, q: &HistoryQuery) -> Result<History> {
        Ok(self.store.history(q)?)
    }

    /// Stops every source, commits what they handed over, and closes the store.
    pub async fn shutdown(self) {
        if let Some(demo) = self.demo {
            demo.stop().await;
        }
        // The writer drains its queue on close; it blocks, so keep it off the async workers.
        let writer = self.writer;
        let _ = tokio::task::spawn_blocking(move || writer.close()).await;
    }
}
