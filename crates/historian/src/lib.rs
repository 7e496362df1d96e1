//! The plant historian: collectors ship their local history to one PostgreSQL database, and any
//! collector or tablet reads it back.
//!
//! What is shipped is what the local store keeps: each series' readings in hourly chunks, encoded
//! as the store encodes them ([`telltale_store::chunk`]), with the hour's minute and hour
//! aggregates beside them. A year of 1 Hz is 8,760 rows per series, not 31.5 million, and a
//! chart of it reads aggregates, never the readings.
//!
//! Every write is a merge keyed on (series, hour start): a reading is identified by (device,
//! metric, time) across sites, the first value stored for a time is kept, so shipping the same
//! readings twice, or resuming after a crash, changes nothing. What each database has shipped is
//! remembered in the historian (per chunk, its reading count and encoded length), so a later
//! shipment sends only chunks that changed since.
//!
//! Nothing here is specific to the CLI or the app: both call [`Historian::connect`], then
//! [`Historian::ship`] or the read side ([`Historian::history`], [`Historian::export`]).

mod connect;
mod error;
mod hour;
mod read;
mod schema;
mod ship;

pub use connect::{Target, TlsMode};
pub use error::{HistorianError, Result};
pub use read::Census;
pub use ship::Shipment;

/// A connection to the plant historian, its schema in place.
pub struct Historian {
    client: tokio_postgres::Client,
    /// Drives the connection; aborted when the historian is dropped.
    driver: tokio::task::JoinHandle<()>,
}

impl Drop for Historian {
    fn drop(&mut self) {
        self.driver.abort();
    }
}
