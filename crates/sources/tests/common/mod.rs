//! What several of the sources' tests share. Each test binary uses part of it.
#![allow(dead_code)]

use telltale_model::DeviceId;
use telltale_store::{SeriesKey, Store};

/// Every stored temperature of the BLE device at `address`, raw, in time order.
pub fn temperatures(store: &Store, address: &str) -> Vec<f64> {
    let key = SeriesKey {
        device: DeviceId::new(format!("ble:{address}")),
        metric: "temperature".into(),
    };
    let mut out = Vec::new();
    let _ = store.export(&key, 0, i64::MAX, |s| {
        out.push(s.value);
        Ok(())
    });
    out
}
