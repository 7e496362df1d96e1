//! The application layer: the engine that wires sources to the store, behind both the app and
//! the headless collector.
//!
//! [`Engine`] owns the store's writer, the sources (BLE and MQTT adapters from
//! `telltale-sources`, and the demo fleet from `telltale-demo`), the alert runtime
//! ([`alerting`]), retention pruning, and the read side ([`Queries`]). Around it: threshold
//! forecasts ([`forecasts`]), service plans ([`upkeep`]), the link to the plant historian
//! ([`historian`]), the collector's TOML ([`CollectorConfig`]) and the keyring ([`secret`]).

pub mod alerting;
mod config;
mod engine;
mod error;
pub mod forecasts;
pub mod historian;
mod queries;
pub mod secret;
pub mod upkeep;

pub use config::{BleDeviceEntry, CollectorConfig, HistorianEntry};
pub use engine::{bindkey_name, Engine, BLUETOOTH_SOURCE};
pub use error::{EngineError, Result};
pub use queries::Queries;
