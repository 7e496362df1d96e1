//! What several of the engine's tests share. Each test binary uses part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use telltale_alerts::Notification;
use telltale_engine::alerting::Notifier;
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

/// Notifications as a test sees them.
#[derive(Default)]
pub struct Collected(pub Mutex<Vec<Notification>>);

impl Collected {
    pub fn bodies(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|n| n.body.clone())
            .collect()
    }
}

/// Hands notifications to the test.
pub struct Collector(pub Arc<Collected>);

impl Notifier for Collector {
    fn notify(&self, n: &Notification) {
        self.0 .0.lock().unwrap().push(n.clone());
    }
}
