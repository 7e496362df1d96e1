//! Secrets (broker passwords, BLE bindkeys) live in the OS keyring and nowhere else: not in
//! SQLite, not in config files, not in logs, not in IPC answers.
//!
//! The keyring sits behind [`SecretStore`] like hardware sits behind traits: the engine asks for
//! a secret by name and does not care where it is kept.

use crate::error::{EngineError, Result};

/// A password or bindkey in memory (the adapters' own type: see [`telltale_sources::secret`]).
pub use telltale_sources::secret::{ExposeSecret, Secret};

/// The keyring "service" every Telltale secret is filed under.
pub const KEYRING_SERVICE: &str = "telltale";

pub trait SecretStore: Send + Sync {
    /// The secret stored under `name`, or None when there is none.
    fn get(&self, name: &str) -> Result<Option<Secret>>;
    fn set(&self, name: &str, secret: &str) -> Result<()>;
    /// Removes the secret; removing one that is not there is not an error.
    fn delete(&self, name: &str) -> Result<()>;
}

/// The platform's keyring: Secret Service on Linux (GNOME Keyring, KWallet; on a headless box
/// `gnome-keyring-daemon` in the session), Keychain on macOS and iOS, Credential Manager on Windows.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeyring;

fn keyring_error(name: &str, e: keyring::Error) -> EngineError {
    // The error text never contains the secret itself: keyring reports names and causes.
    EngineError::Secret(format!("keyring entry {name:?}: {e}"))
}

impl SecretStore for OsKeyring {
    fn get(&self, name: &str) -> Result<Option<Secret>> {
        let entry =
            keyring::Entry::new(KEYRING_SERVICE, name).map_err(|e| keyring_error(name, e))?;
        match entry.get_password() {
            Ok(secret) => Ok(Some(Secret::from(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(name, e)),
        }
    }

    fn set(&self, name: &str, secret: &str) -> Result<()> {
        keyring::Entry::new(KEYRING_SERVICE, name)
            .and_then(|entry| entry.set_password(secret))
            .map_err(|e| keyring_error(name, e))
    }

    fn delete(&self, name: &str) -> Result<()> {
        let entry =
            keyring::Entry::new(KEYRING_SERVICE, name).map_err(|e| keyring_error(name, e))?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(name, e)),
        }
    }
}
