//! What several of the engine's tests share. Each test binary uses part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;
use telltale_engine::secret::{Secret, SecretStore};

/// Stands in for the OS keyring, which the collector's tests exercise for real: these tests are
/// about radios and settings.
#[derive(Default)]
pub struct MemoryKeyring(Mutex<HashMap<String, String>>);

impl SecretStore for MemoryKeyring {
    fn get(&self, name: &str) -> telltale_engine::Result<Option<Secret>> {
        Ok(self.0.lock().unwrap().get(name).cloned().map(Secret::from))
    }
    fn set(&self, name: &str, secret: &str) -> telltale_engine::Result<()> {
        self.0.lock().unwrap().insert(name.into(), secret.into());
        Ok(())
    }
    fn delete(&self, name: &str) -> telltale_engine::Result<()> {
        self.0.lock().unwrap().remove(name);
        Ok(())
    }
}
