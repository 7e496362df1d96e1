//! Where readings come from, and the engine that wires sources to the store.
//!
//! Every source — a BLE radio, an MQTT gateway, the built-in demo fleet — turns what it hears into
//! [`telltale_model::Reading`]s and hands them to the store's single writer through an
//! [`telltale_store::Ingest`]. The demo is a source like the others: its home speaks BLE adverts
//! through the [`ble::Radio`] trait a real adapter implements, its plant publishes to a real MQTT
//! broker that [`mqtt`] subscribes to exactly as it would to a gateway.

pub mod alerting;
pub mod ble;
mod board;
mod config;
pub mod demo;
mod engine;
mod error;
pub mod historian;
pub mod maintenance;
pub mod mqtt;
mod queries;
pub mod secret;
mod task;
pub mod upkeep;

pub use board::SourceBoard;
pub use config::{BleDeviceEntry, CollectorConfig, HistorianEntry};
pub use engine::{
    bindkey_name, forget_broker, remove_ble_device, save_ble_device, save_broker, set_device_tags,
    set_retention, BindkeyChange, Engine, PasswordChange, BLUETOOTH_SOURCE,
};
pub use error::{Result, SourceError};
pub use queries::Queries;
pub use task::TaskHandle;

/// The wall clock in ms. Sources stamp what they receive with it; everything downstream takes
/// time as an argument so tests control it.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
