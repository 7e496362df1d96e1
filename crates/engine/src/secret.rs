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
/// `gnome-keyring-daemon` in the session), Keychain on macOS, Credential Manager on Windows; on
/// phones keyring 4's own stores: the Keystore-wrapped store on Android, the protected data
/// keychain on iOS.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeyring;

#[cfg(not(any(target_os = "android", target_os = "ios")))]
use keyring::{Entry, Error as KeyringError};
#[cfg(any(target_os = "android", target_os = "ios"))]
use keyring_core::{Entry, Error as KeyringError};

fn keyring_error(name: &str, e: KeyringError) -> EngineError {
    // The error text never contains the secret itself: keyring reports names and causes.
    EngineError::Secret(format!("keyring entry {name:?}: {e}"))
}

/// The entry `name` in the platform's store.
#[cfg(not(any(target_os = "android", target_os = "ios")))]
fn entry(name: &str) -> Result<Entry> {
    Entry::new(KEYRING_SERVICE, name).map_err(|e| keyring_error(name, e))
}

/// The entry `name` in the phone's store, which is made keyring-core's default at first use
/// (keyring's all-in-one `Entry` knows desktops only). On Android the store needs the app's
/// context through ndk-context, which Tauri's Android runtime sets before any command runs.
#[cfg(any(target_os = "android", target_os = "ios"))]
fn entry(name: &str) -> Result<Entry> {
    static READY: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    let ready = READY.get_or_init(|| {
        #[cfg(target_os = "android")]
        let store = android_native_keyring_store::Store::new();
        #[cfg(target_os = "ios")]
        let store = apple_native_keyring_store::protected::Store::new();
        store
            .map(|store| keyring_core::set_default_store(store))
            .map_err(|e| e.to_string())
    });
    if let Err(e) = ready {
        return Err(EngineError::Secret(format!(
            "this phone's credential store could not be opened: {e}"
        )));
    }
    Entry::new(KEYRING_SERVICE, name).map_err(|e| keyring_error(name, e))
}

impl SecretStore for OsKeyring {
    fn get(&self, name: &str) -> Result<Option<Secret>> {
        match entry(name)?.get_password() {
            Ok(secret) => Ok(Some(Secret::from(secret))),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(name, e)),
        }
    }

    fn set(&self, name: &str, secret: &str) -> Result<()> {
        entry(name)?
            .set_password(secret)
            .map_err(|e| keyring_error(name, e))
    }

    fn delete(&self, name: &str) -> Result<()> {
        match entry(name)?.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(name, e)),
        }
    }
}
