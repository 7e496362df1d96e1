//! Bluetooth LE devices as the UI sees them: what the scanner hears nearby, and the devices the
//! user added. Bindkeys never appear here: they live in the OS keyring, and the UI only learns
//! whether one is set.

use crate::ApiError;
use serde::{Deserialize, Serialize};

/// Longest device name accepted; names are labels on a phone screen, not documents.
pub const MAX_NAME_CHARS: usize = 64;

/// A device the user added (or renamed), as saved in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BleDeviceConfig {
    /// `AA:BB:CC:DD:EE:FF`, upper case.
    pub address: String,
    pub name: String,
    /// What it is (`thermometer`, `heart_rate_strap`...), for rules aimed at a kind.
    pub kind: String,
    /// Connect over GATT (Heart Rate, Health Thermometer, Environmental Sensing, Battery)
    /// instead of only listening to advertisements.
    pub connect: bool,
}

impl BleDeviceConfig {
    /// Checks and normalises what a person (or a hostile IPC caller) typed.
    pub fn normalized(mut self) -> Result<Self, ApiError> {
        self.address = normalize_address(&self.address)?;
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() || self.name.chars().count() > MAX_NAME_CHARS {
            return Err(ApiError::invalid(format!(
                "name: 1 to {MAX_NAME_CHARS} characters"
            )));
        }
        if self.name.chars().any(char::is_control) {
            return Err(ApiError::invalid("name: no control characters"));
        }
        self.kind = self.kind.trim().to_lowercase();
        if self.kind.is_empty() {
            self.kind = "sensor".into();
        }
        if self.kind.len() > 32
            || !self
                .kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ApiError::invalid(
                "kind: up to 32 letters, digits, '_' or '-'",
            ));
        }
        Ok(self)
    }
}

/// `aa:bb:cc:dd:ee:ff` or `AA-BB-...` -> `AA:BB:CC:DD:EE:FF`; anything else is refused.
pub fn normalize_address(text: &str) -> Result<String, ApiError> {
    let parts: Vec<&str> = text.trim().split([':', '-']).collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    if !ok {
        return Err(ApiError::invalid(format!(
            "address {:?}: expected six hex pairs like AA:BB:CC:DD:EE:FF",
            text.chars().take(40).collect::<String>()
        )));
    }
    Ok(parts.join(":").to_ascii_uppercase())
}

/// A bindkey as the keyring keeps it: 32 lower-case hex digits.
pub fn bindkey_hex(key: &[u8; 16]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// A bindkey as typed: 32 hex digits (spaces and dashes allowed, as vendors print them).
pub fn parse_bindkey(text: &str) -> Result<[u8; 16], ApiError> {
    let hex: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let bad = || ApiError::invalid("bindkey: expected 32 hex digits (16 bytes)");
    if hex.len() != 32 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut key = [0u8; 16];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(key)
}

/// The UI's "save" on a BLE device: its settings and what to do with its bindkey. The key goes
/// straight to the keyring; `Debug` never shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveBleDevice {
    pub config: BleDeviceConfig,
    /// A new bindkey (32 hex digits), or None to keep the one saved.
    #[serde(default)]
    pub bindkey: Option<crate::secret::SecretInput>,
    /// Forget the saved bindkey.
    #[serde(default)]
    pub clear_bindkey: bool,
}

/// A device heard by the scanner, added or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearbyDevice {
    pub address: String,
    /// The advertised local name, when it sends one.
    pub name: Option<String>,
    pub rssi: Option<i16>,
    pub last_seen_ms: i64,
    /// The format its advertisements decode as (`bthome_v2`, `ruuvi_rawv2`...).
    pub format: Option<String>,
    /// The last decoded values, e.g. `temperature 21.52 °C`.
    pub preview: Vec<String>,
    /// Why its advertisements do not decode (encrypted without a bindkey, unknown format...).
    pub problem: Option<String>,
    /// GATT profiles it advertises that Telltale can read over a connection (`heart_rate`...).
    pub profiles: Vec<String>,
    /// Whether it is one of the user's devices.
    pub added: bool,
}

/// One of the user's BLE devices with its live health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BleDeviceStatus {
    pub config: BleDeviceConfig,
    /// Whether a bindkey is in the keyring for it (the key itself never leaves the engine).
    pub has_bindkey: bool,
    pub rssi: Option<i16>,
    pub last_seen_ms: Option<i64>,
    /// Its advertising (or notification) interval as learned from what was heard.
    pub learned_interval_ms: Option<i64>,
    /// GATT link: `connected`, `connecting`, `waiting 8 s to reconnect: ...`; None when the
    /// device is only listened to.
    pub link: Option<String>,
    /// Not heard for longer than its learned interval allows.
    pub stale: bool,
    /// Its newest battery level (%), when it reports one.
    #[serde(default)]
    pub battery_pct: Option<f64>,
    /// Its newest event ("button double press") and when (ms): events are not series.
    #[serde(default)]
    pub last_event: Option<(String, i64)>,
    /// One of the demo home's own devices: it comes back with the demo, so it can be renamed
    /// (which makes it the user's) but not removed.
    #[serde(default)]
    pub demo: bool,
    /// Why what it sent was refused, said so the user can act ("cannot decrypt: check the
    /// bindkey"); None once something from it is stored again.
    #[serde(default)]
    pub problem: Option<String>,
    /// How often its encrypted counter was accepted as restarted (a reboot: taken only after
    /// its count fell silent, see `ble/replay.rs` in the sources) since the engine started...
    #[serde(default)]
    pub restarts: u32,
    /// ...and when the last time was (ms).
    #[serde(default)]
    pub last_restart_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_keys_are_checked_and_normalised() {
        assert_eq!(
            normalize_address(" a4-c1-38-0a-0b-0c ").unwrap(),
            "A4:C1:38:0A:0B:0C"
        );
        for bad in [
            "",
            "A4:C1:38:0A:0B",
            "A4:C1:38:0A:0B:0C:0D",
            "zz:c1:38:0a:0b:0c",
            "A4C1380A0B0C",
        ] {
            assert!(normalize_address(bad).is_err(), "{bad}");
        }
        let key = parse_bindkey("231d39c1 d7cc1ab1-aee224cd096db932").unwrap();
        assert_eq!(key[0], 0x23);
        assert_eq!(key[15], 0x32);
        for bad in [
            "",
            "231d39c1d7cc1ab1aee224cd096db93",
            "231d39c1d7cc1ab1aee224cd096db93g",
            "é1d39c1d7cc1ab1aee224cd096db932",
        ] {
            assert!(parse_bindkey(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn device_settings_refuse_what_would_break_a_screen_or_a_rule() {
        let config = |name: &str, kind: &str| BleDeviceConfig {
            address: "a4:c1:38:00:00:01".into(),
            name: name.into(),
            kind: kind.into(),
            connect: false,
        };
        let ok = config(" Freezer ", "Thermometer").normalized().unwrap();
        assert_eq!(
            (ok.name.as_str(), ok.kind.as_str()),
            ("Freezer", "thermometer")
        );
        assert_eq!(config("x", "").normalized().unwrap().kind, "sensor");
        assert!(config("", "t").normalized().is_err());
        assert!(config(&"n".repeat(65), "t").normalized().is_err());
        assert!(config("a\u{7}b", "t").normalized().is_err());
        assert!(config("x", "a kind").normalized().is_err());
    }
}
