//! The headless collector's configuration file (TOML).

use crate::error::{Result, SourceError};
use crate::mqtt::BrokerConfig;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;
use telltale_model::ble::BleDeviceConfig;

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
        .map_err(|e| SourceError::Config(format!("[[ble]] {:?}: {}", self.address, e.message)))
    }
}

impl CollectorConfig {
    pub fn parse(text: &str) -> Result<Self> {
        let config: CollectorConfig =
            toml::from_str(text).map_err(|e| SourceError::Config(one_line(&e.to_string())))?;
        config.validate()?;
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SourceError::Config(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| match e {
            SourceError::Config(m) => SourceError::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    pub fn validate(&self) -> Result<()> {
        if self.mqtt.is_empty() && self.ble.is_empty() {
            return Err(SourceError::Config(
                "nothing to collect: add at least one [[mqtt]] broker or [[ble]] device".into(),
            ));
        }
        let mut addresses = HashSet::new();
        for device in &self.ble {
            let config = device.device_config()?;
            if !addresses.insert(config.address.clone()) {
                return Err(SourceError::Config(format!(
                    "[[ble]] address {} is listed twice",
                    config.address
                )));
            }
        }
        let mut ids = HashSet::new();
        for broker in &self.mqtt {
            broker.validate().map_err(SourceError::Config)?;
            if !ids.insert(&broker.id) {
                return Err(SourceError::Config(format!(
                    "broker id {:?} is used twice",
                    broker.id
                )));
            }
        }
        Ok(())
    }
}

/// toml's messages quote the offending line over several lines; a log wants one.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.chars().all(|c| c == '^'))
        .collect::<Vec<_>>()
        .join("; ")
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
        assert_eq!(b.protocol, crate::mqtt::Protocol::V5);
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
