//! Decoders that turn the bytes of BLE advertisements (BTHome v2 service data, RuuviTag
//! manufacturer data, Xiaomi custom-firmware and MiBeacon service data) and GATT
//! characteristic values into named readings with units. [`advertisement`] picks the decoder
//! an advertisement calls for.
//!
//! Every function here is pure: bytes in, [`Decoded`] or [`DecodeError`] out, with no I/O, no
//! clock, no async and no state kept between calls. That keeps decoding deterministic and
//! testable against golden vectors, lets the same code serve a BLE adapter, an MQTT bridge or a
//! replayed capture, and confines hostile or corrupted radio input to one outcome: an `Err`
//! with a one-line reason, never a panic.

mod advertisement;
mod bthome;
mod crypt;
mod decoded;
pub mod encode;
mod error;
mod gatt;
pub mod ieee11073;
mod ruuvi;
mod xiaomi;

pub use advertisement::{
    advertisement, parse_address, Advertisement, BTHOME_UUID, MIBEACON_UUID, RUUVI_COMPANY,
    XIAOMI_CUSTOM_UUID,
};
pub use bthome::{bthome_v2, bthome_v2_with_key, seal_bthome_v2};
pub use decoded::{Decoded, DecodedReading, Format, Value};
pub use error::{DecodeError, Result};
pub use gatt::{
    gatt, gatt_battery_level, gatt_heart_rate, gatt_humidity, gatt_pressure, gatt_temperature,
    gatt_temperature_measurement,
};
pub use ruuvi::ruuvi;
pub use xiaomi::{xiaomi_atc, xiaomi_mibeacon};
