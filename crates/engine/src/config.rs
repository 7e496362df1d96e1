//! The headless collector's configuration file (TOML).

use crate::error::{EngineError, Result};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;
use telltale_model::ble::BleDeviceConfig;
use telltale_sources::mqtt::BrokerConfig;

/// What `telltale collect --config FILE.toml` runs.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CollectorConfig {
    #[serde(default)]
    pub mqtt: Vec<BrokerConfig>,
    /// Bluetooth LE devices to listen to (and connect to), with the first adapter. Their
    /// bindkeys are in the OS keyring (`telltale secret set --ble ADDRESS`), as in the app.
    #[serde(default)]
    pub ble: Vec<BleDeviceEntry>,
    /// Where the collector ships its history while it collects (a plant's PostgreSQL).
    #[serde(default)]
    pub historian: Option<HistorianEntry>,
}

/// The `[historian]` table: a plant historian the collector ships to every `interval_s`. Its
/// password, if it needs one, is in the OS keyring (`telltale secret set --historian URL`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HistorianEntry {
    /// `postgres://USER@HOST:PORT/DBNAME[?sslmode=…&sslrootcert=FILE]`, no password.
    pub url: String,
    /// Seconds between shipments (default 60): how stale the historian may be.
    #[serde(default = "HistorianEntry::default_interval")]
    pub interval_s: f64,
    /// The site label (default: the host's name).
    #[serde(default)]
    pub site: Option<String>,
}

impl HistorianEntry {
    fn default_interval() -> f64 {
        60.0
    }
}

/// One `[[ble]]` device of the collector's file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BleDeviceEntry {
    /// `AA:BB:CC:DD:EE:FF` (either case; `-` separators are accepted).
    pub address: String,
    pub name: String,
    /// What it is (`thermometer`, `heart_rate_strap`...), for alert rules aimed at a kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// Hold a GATT connection (Heart Rate, Health Thermometer, Environmental Sensing, Battery)
    /// instead of only listening to advertisements.
    #[serde(default)]
    pub connect: bool,
}

impl BleDeviceEntry {
    /// The device as the engine follows it, checked and normalised as the app's form is.
    pub fn device_config(&self) -> Result<BleDeviceConfig> {
        BleDeviceConfig {
            address: self.address.clone(),
            name: self.name.clone(),
            kind: self.kind.clone().unwrap_or_default(),
            connect: self.connect,
        }
        .normalized()
        .map_err(|e| EngineError::Config(format!("[[ble]] {:?}: {}", self.address, e.message)))
    }
}

impl CollectorConfig {
    pub fn parse(text: &str) -> Result<Self> {
        let config: CollectorConfig =
            toml::from_str(text).map_err(|e| EngineError::Config(describe(text, &e)))?;
        config.validate()?;
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| EngineError::Config(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| match e {
            EngineError::Config(m) => EngineError::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    pub fn validate(&self) -> Result<()> {
        if self.mqtt.is_empty() && self.ble.is_empty() {
            return Err(EngineError::Config(
                "nothing to collect: add at least one [[mqtt]] broker or [[ble]] device".into(),
            ));
        }
        let mut addresses = HashSet::new();
        for device in &self.ble {
            let config = device.device_config()?;
            if !addresses.insert(config.address.clone()) {
                return Err(EngineError::Config(format!(
                    "[[ble]] address {} is listed twice",
                    config.address
                )));
            }
        }
        if let Some(h) = &self.historian {
            if !(h.interval_s.is_finite() && (0.2..=86_400.0).contains(&h.interval_s)) {
                return Err(EngineError::Config(format!(
                    "[historian] interval_s must be between 0.2 and 86400 seconds, got {}",
                    h.interval_s
                )));
            }
        }
        let mut ids = HashSet::new();
        for broker in &self.mqtt {
            broker.validate().map_err(EngineError::Config)?;
            if !ids.insert(&broker.id) {
                return Err(EngineError::Config(format!(
                    "broker id {:?} is used twice",
                    broker.id
                )));
            }
        }
        Ok(())
    }
}

/// toml's messages quote the offending line over several lines; a log wants one.
/// A parse error as one line that names where and what, never the file's values: a config file
/// may hold a password someone put there by mistake, and errors end up in logs and terminals.
/// toml's own rendering quotes the offending line, and serde's messages quote values
/// (`invalid type: string "…"`, ``unknown variant `…` ``); keys and expectations are kept.
fn describe(text: &str, e: &toml::de::Error) -> String {
    let message = redact_values(e.message().lines().next().unwrap_or(""));
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

fn redact_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(['"', '`']) {
        let quote = &rest[i..i + 1];
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let Some(j) = after.find(quote) else {
            // An unclosed quote: drop the rest rather than risk echoing a value.
            out.push('…');
            return out;
        };
        let inner = &after[..j];
        // Backticks after "field" name keys (`unknown field `password``) or list what is
        // expected; after "variant" they hold the file's value.
        let is_value = quote == "\"" || out.trim_end().ends_with("variant");
        if is_value {
            out.push_str(quote);
            out.push('…');
            out.push_str(quote);
        } else {
            out.push_str(quote);
            out.push_str(inner);
            out.push_str(quote);
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[mqtt]]
id = "plant"
url = "mqtts://127.0.0.1:8883"
client_id = "telltale-plant"
persistent_session = true
protocol = "5"
username = "collector"
  [mqtt.tls]
  ca_file = "/etc/telltale/ca.pem"
  [[mqtt.topics]]
  filter = "factory/+/+"
  format = "number"
  device = "{1}"
  metric = "{2}"
"#;

    #[test]
    fn the_documented_shape_parses() {
        let c = CollectorConfig::parse(GOOD).unwrap();
        assert_eq!(c.mqtt.len(), 1);
        let b = &c.mqtt[0];
        assert_eq!(b.protocol, telltale_sources::mqtt::Protocol::V5);
        assert_eq!(b.username.as_deref(), Some("collector"));
        assert_eq!(b.topics[0].filter, "factory/+/+");
    }

    #[test]
    fn bluetooth_devices_alone_are_enough() {
        let c = CollectorConfig::parse(
            "[[ble]]\naddress = \"a4:c1:38:12:34:56\"\nname = \"Freezer\"\nkind = \"Thermometer\"\n\
             [[ble]]\naddress = \"E0:7D:EA:44:55:66\"\nname = \"Chest strap\"\nconnect = true\n",
        )
        .unwrap();
        let devices: Vec<BleDeviceConfig> =
            c.ble.iter().map(|d| d.device_config().unwrap()).collect();
        assert_eq!(devices[0].address, "A4:C1:38:12:34:56");
        assert_eq!(devices[0].kind, "thermometer");
        assert!(!devices[0].connect);
        assert_eq!(devices[1].kind, "sensor");
        assert!(devices[1].connect);
    }

    /// A value from the file never comes back in an error, whatever is wrong with it.
    #[test]
    fn parse_errors_never_echo_the_files_values() {
        let secret = "hunter2-correct-horse";
        let cases: Vec<(String, &str)> = vec![
            (
                GOOD.replace("username = \"collector\"", &format!("password = \"{secret}\"")),
                "unknown field `password`",
            ),
            (
                GOOD.replace("protocol = \"5\"", &format!("protocol = \"{secret}\"")),
                "unknown variant",
            ),
            (
                GOOD.replace("persistent_session = true", &format!("persistent_session = \"{secret}\"")),
                "invalid type",
            ),
            (
                format!("[[ble]]\naddress = \"A4:C1:38:12:34:56\"\nname = \"x\"\nbindkey = \"{secret}\"\n"),
                "unknown field `bindkey`",
            ),
            (format!("[[mqtt]]\nid = \"{secret}"), "line 2"),
            (
                GOOD.replace("url = \"mqtts://127.0.0.1:8883\"", &format!("url = \"mqtt://u:{secret}@h\"")),
                "OS keyring",
            ),
        ];
        for (text, fragment) in &cases {
            let err = CollectorConfig::parse(text).unwrap_err().to_string();
            assert!(!err.contains(secret), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
            assert!(err.contains(fragment), "{fragment}: {err}");
        }
        let located = CollectorConfig::parse(&cases[0].0).unwrap_err().to_string();
        assert!(located.contains("line "), "{located}");
    }

    #[test]
    fn bad_fields_are_explained_on_one_line() {
        let cases: &[(&str, &str)] = &[
            ("", "at least one [[mqtt]]"),
            ("[[mqtt]]\nid = 3\n", "invalid type"),
            (
                &GOOD.replace("protocol = \"5\"", "protocol = \"4\""),
                "unknown variant",
            ),
            (
                &GOOD.replace("format = \"number\"", "format = \"xml\""),
                "unknown variant",
            ),
            (&GOOD.replace("username", "password"), "unknown field"),
            (&GOOD.replace("mqtts://", "https://"), "mqtt://"),
            (&format!("{GOOD}\n{}", &GOOD), "used twice"),
            (
                "[[ble]]\naddress = \"A4:C1:38:12:34\"\nname = \"Freezer\"\n",
                "address",
            ),
            (
                "[[ble]]\naddress = \"A4:C1:38:12:34:56\"\nname = \" \"\n",
                "name",
            ),
            (
                "[[ble]]\naddress = \"A4:C1:38:12:34:56\"\nname = \"F\"\nconect = true\n",
                "unknown field",
            ),
            (
                "[[ble]]\naddress = \"A4:C1:38:12:34:56\"\nname = \"F\"\nbindkey = \"00\"\n",
                "unknown field",
            ),
            (
                "[[ble]]\naddress = \"a4:c1:38:12:34:56\"\nname = \"A\"\n\
                 [[ble]]\naddress = \"A4-C1-38-12-34-56\"\nname = \"B\"\n",
                "listed twice",
            ),
        ];
        for (text, fragment) in cases {
            let err = CollectorConfig::parse(text).unwrap_err().to_string();
            assert!(err.contains(fragment), "{fragment}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
