//! Where readings come from: the BLE and MQTT adapters, wired to the store.
//!
//! Every source — a BLE radio, an MQTT gateway — turns what it hears into
//! [`telltale_model::Reading`]s and hands them to the store's single writer through an
//! [`telltale_store::Ingest`], and says how it is doing on the [`SourceBoard`]. The application
//! layer that starts, configures and queries them is `telltale-engine`; the demo fleet
//! (`telltale-demo`) is built from these same adapters: a [`ble::Radio`] and a real MQTT broker
//! that [`mqtt`] subscribes to exactly as it would to a gateway.

pub mod ble;
mod board;
mod error;
pub mod mqtt;
pub mod secret;
mod task;

pub use board::SourceBoard;
pub use error::{Result, SourceError};
pub use task::TaskHandle;

/// The wall clock in ms. Sources stamp what they receive with it; everything downstream takes
/// time as an argument so tests control it.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
