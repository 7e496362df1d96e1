//! What several of the sources' tests share. Each test binary uses part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;
use telltale_model::DeviceId;
use telltale_sources::secret::{Secret, SecretStore};
use telltale_store::{SeriesKey, Store};

/// Stands in for the OS keyring, which the collector's tests exercise for real: these tests are
/// about radios and settings.
#[derive(Default)]
pub struct MemoryKeyring(Mutex<HashMap<String, String>>);

impl SecretStore for MemoryKeyring {
    fn get(&self, name: &str) -> telltale_sources::Result<Option<Secret>> {
        Ok(self.0.lock().unwrap().get(name).cloned().map(Secret::from))
    }
    fn set(&self, name: &str, secret: &str) -> telltale_sources::Result<()> {
        self.0.lock().unwrap().insert(name.into(), secret.into());
        Ok(())
    }
    fn delete(&self, name: &str) -> telltale_sources::Result<()> {
        self.0.lock().unwrap().remove(name);
        Ok(())
    }
}

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
