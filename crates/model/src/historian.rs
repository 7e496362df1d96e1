//! The plant historian as the app's settings page sees it: where it is, whether a password is
//! stored, and what a *Test connection* found. Plain data shared by the engine and the UI; the
//! password crosses IPC only inward, as a [`SecretInput`], and lives in the OS keyring.

use crate::secret::SecretInput;
use serde::{Deserialize, Serialize};

/// The historian the app reads (`postgres://USER@HOST:PORT/DBNAME[?sslmode=…]`), as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistorianSettings {
    pub url: String,
    /// Whether the keyring holds a password for it (never the password).
    pub has_password: bool,
}

/// Saving or testing a historian: its URL and, optionally, a new password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveHistorian {
    pub url: String,
    #[serde(default)]
    pub password: Option<SecretInput>,
    /// Forget the stored password.
    #[serde(default)]
    pub clear_password: bool,
}

/// What *Test connection* found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistorianCheck {
    /// `USER@HOST:PORT/DBNAME`, as reached.
    pub reached: String,
    /// Whether the connection is encrypted.
    pub tls: bool,
    pub devices: i64,
    pub series: i64,
    pub readings: i64,
    pub sites: i64,
}
