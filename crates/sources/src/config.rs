//! The headless collector's configuration file (TOML).

use crate::error::{Result, SourceError};
use crate::mqtt::BrokerConfig;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;

/// What `telltale collect --config FILE.toml` runs.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CollectorConfig {
    #[serde(default)]
    pub mqtt: Vec<BrokerConfig>,
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
        if self.mqtt.is_empty() {
            return Err(SourceError::Config(
                "nothing to collect: add at least one [[mqtt]] broker".into(),
            ));
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
        ];
        for (text, fragment) in cases {
            let err = CollectorConfig::parse(text).unwrap_err().to_string();
            assert!(err.contains(fragment), "{fragment}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
