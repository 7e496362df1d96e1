//! The one type for a password or bindkey in memory. Where secrets are kept (the OS keyring) is
//! the engine's business (`telltale_engine::secret`); an adapter only receives one to hand on.

/// A password or bindkey in memory. `Debug` prints `[REDACTED]`, it has no `Serialize`, and its
/// bytes are zeroed when it is dropped. Read it with [`ExposeSecret::expose_secret`], at the one
/// place that hands it on (the MQTT client, the decryptor, the keyring).
pub use secrecy::{ExposeSecret, SecretString as Secret};
