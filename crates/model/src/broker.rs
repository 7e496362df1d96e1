//! MQTT broker settings, as a collector's TOML file and the app's settings page both write them.
//!
//! Plain data and pure validation, shared by the engine and the UI. A broker's settings never
//! hold its password: that lives in the OS keyring under [`secret_key`].

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

type Result<T> = std::result::Result<T, String>;

/// One broker connection, as written in a collector's TOML or the app's settings.
///
/// It holds no password: that lives in the OS keyring under [`BrokerConfig::secret_key`], so a
/// config file, a database row or an IPC answer never carries one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    pub id: String,
    /// `mqtt://host[:1883]` or `mqtts://host[:8883]`.
    pub url: String,
    pub client_id: String,
    /// Keep the session (and the broker's queue of QoS 1 messages) across disconnects.
    #[serde(default = "yes")]
    pub persistent_session: bool,
    #[serde(default)]
    pub protocol: Protocol,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub tls: Option<TlsSettings>,
    /// Where this gateway's machines live, for grouping on the dashboard.
    #[serde(default)]
    pub site: String,
    /// The kind given to devices found on this broker.
    #[serde(default = "machine")]
    pub device_kind: String,
    /// How often each device is expected to publish.
    #[serde(default = "a_minute")]
    pub expected_interval_ms: i64,
    /// Sparkplug B host settings, used when a topic map has `format = "sparkplug"`.
    #[serde(default)]
    pub sparkplug: Option<SparkplugSettings>,
    /// The largest message payload stored, in bytes (default 1 MiB). A larger message is
    /// acknowledged, counted as rejected and never stored; with MQTT 5 the broker is told the
    /// limit at CONNECT and holds such messages back itself.
    #[serde(default = "a_mebibyte")]
    pub max_message_bytes: usize,
    /// Bounds on what one broker connection tracks, so ids chosen by whoever publishes on the
    /// broker cannot grow the collector's memory: devices (MQTT devices, Sparkplug nodes and
    /// devices), series (device × metric), and messages received but not yet stored. Readings
    /// beyond them are refused and counted per topic; see the README for the defaults.
    #[serde(default = "ten_thousand")]
    pub max_devices: usize,
    #[serde(default = "a_hundred_thousand")]
    pub max_series: usize,
    #[serde(default = "a_hundred_thousand")]
    pub max_queued_messages: usize,
    pub topics: Vec<TopicMap>,
}

fn ten_thousand() -> usize {
    10_000
}
fn a_hundred_thousand() -> usize {
    100_000
}

/// The default and the bounds of [`BrokerConfig::max_message_bytes`]: a Sparkplug birth of a
/// few thousand metrics fits the default; MQTT itself stops at 256 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;
pub const MIN_MAX_MESSAGE_BYTES: usize = 1024;
pub const MAX_MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

fn a_mebibyte() -> usize {
    DEFAULT_MAX_MESSAGE_BYTES
}

impl TopicMap {
    /// A mapping with templates and no payload paths, units or availability words.
    pub fn new(filter: &str, format: PayloadFormat, device: &str, metric: &str) -> Self {
        Self {
            filter: filter.to_owned(),
            format,
            device: device.to_owned(),
            metric: metric.to_owned(),
            value_path: None,
            unit_path: None,
            ts_path: None,
            unit: None,
            online: None,
            offline: None,
        }
    }
}

/// How Telltale acts as a Sparkplug B host application on one broker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SparkplugSettings {
    /// The host id in `spBv1.0/STATE/<host_id>` (default: the client id).
    #[serde(default)]
    pub host_id: Option<String>,
    /// How long an out-of-order sequence number may wait for the missing message before a
    /// rebirth is requested.
    #[serde(default = "two_seconds")]
    pub reorder_timeout_ms: u64,
}

fn two_seconds() -> u64 {
    2_000
}

impl BrokerConfig {
    /// A broker with every optional setting at its default (as a TOML file that names only
    /// these would give): persistent session, MQTT 3.1.1, no credentials, no TLS.
    pub fn new(id: &str, url: &str, client_id: &str, topics: Vec<TopicMap>) -> Self {
        Self {
            id: id.to_owned(),
            url: url.to_owned(),
            client_id: client_id.to_owned(),
            persistent_session: yes(),
            protocol: Protocol::default(),
            username: None,
            tls: None,
            site: String::new(),
            device_kind: machine(),
            expected_interval_ms: a_minute(),
            sparkplug: None,
            max_message_bytes: a_mebibyte(),
            max_devices: ten_thousand(),
            max_series: a_hundred_thousand(),
            max_queued_messages: a_hundred_thousand(),
            topics,
        }
    }

    /// True when some topic is read as Sparkplug B: then this connection is a Sparkplug host
    /// application, with a STATE birth and will.
    pub fn is_sparkplug_host(&self) -> bool {
        self.topics
            .iter()
            .any(|t| t.format == PayloadFormat::Sparkplug)
    }

    /// The Sparkplug host id this connection announces.
    pub fn sparkplug_host_id(&self) -> &str {
        self.sparkplug
            .as_ref()
            .and_then(|s| s.host_id.as_deref())
            .unwrap_or(&self.client_id)
    }
}

fn yes() -> bool {
    true
}
fn machine() -> String {
    "machine".into()
}
fn a_minute() -> i64 {
    60_000
}

/// How a family of topics becomes series.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopicMap {
    /// An MQTT filter with `+` and `#` wildcards.
    pub filter: String,
    pub format: PayloadFormat,
    /// Template for the device name: `{N}` is the N-th wildcard level (from 1). Not used by
    /// `sparkplug`, whose births name devices and metrics.
    #[serde(default)]
    pub device: String,
    /// Template for the metric name.
    #[serde(default)]
    pub metric: String,
    /// `json`: dotted path to the value (default `value`).
    #[serde(default)]
    pub value_path: Option<String>,
    /// `json`: dotted path to a unit string in the payload.
    #[serde(default)]
    pub unit_path: Option<String>,
    /// `json`: dotted path to the reading's time in ms since the epoch (default: time of receipt).
    #[serde(default)]
    pub ts_path: Option<String>,
    /// A fixed unit, when the payload carries none.
    #[serde(default)]
    pub unit: Option<String>,
    /// `availability`: the payload that means the device is up (default `online`, any case).
    #[serde(default)]
    pub online: Option<String>,
    /// `availability`: the payload that means it is gone, as a last will says (default `offline`).
    #[serde(default)]
    pub offline: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PayloadFormat {
    Number,
    Json,
    /// Sparkplug B: device and metric come from the births, not from templates.
    Sparkplug,
    /// A device's up/down status, typically its MQTT last will (`tele/<device>/LWT`): marks
    /// the device offline or back online; stores no reading.
    Availability,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    #[default]
    #[serde(rename = "3.1.1")]
    V311,
    #[serde(rename = "5")]
    V5,
}

/// TLS settings of one broker; with none given, `mqtts://` trusts the system's roots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM file of the CA(s) that sign the broker's certificate (a plant's own CA, typically).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM certificate chain presented to brokers that require client certificates.
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the client certificate.
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
    /// Accept any server certificate. For bench setups only: anyone on the path can read and
    /// forge the plant's data.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// Fills `{N}` placeholders from the wildcard captures.
pub fn expand(template: &str, captures: &[&str]) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("unclosed '{{' in template {template:?}"))?;
        let n: usize = rest[open + 1..open + close]
            .parse()
            .map_err(|_| format!("bad placeholder in template {template:?}"))?;
        let level = n
            .checked_sub(1)
            .and_then(|i| captures.get(i))
            .ok_or_else(|| {
                format!(
                    "template {template:?} names wildcard {n}, the filter has {}",
                    captures.len()
                )
            })?;
        out.push_str(level);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `mqtt://host:port` / `mqtts://host:port` → (tls, host, port).
pub fn parse_url(url: &str) -> Result<(bool, String, u16)> {
    // Checked first, and the URL never echoed: it may carry a password.
    if url.contains('@') {
        return Err(
            "a broker url must not carry a user name or password (user:password@host): \
             give the user name as `username` and put the password in the OS keyring \
             (`telltale secret set --broker ID`, or the password field of the Sources page)"
                .to_owned(),
        );
    }
    let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("mqtt://") {
        (false, rest)
    } else {
        return Err(format!(
            "broker url {url:?} must start with mqtt:// or mqtts://"
        ));
    };
    let default_port = if tls { 8883 } else { 1883 };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.trim_end_matches('/')
                .parse()
                .map_err(|_| format!("bad port in {url:?}"))?,
        ),
        None => (rest.trim_end_matches('/'), default_port),
    };
    if host.is_empty() || host.contains('/') {
        return Err(format!("no host in {url:?}"));
    }
    Ok((tls, host.to_owned(), port))
}

impl BrokerConfig {
    pub fn validate(&self) -> Result<()> {
        let (tls, _, _) = parse_url(&self.url)?;
        let id_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !id_ok(&self.id) {
            return Err(format!(
                "broker id {:?} must be 1 to 64 letters, digits, '-', '_' or '.'",
                self.id
            ));
        }
        if self.client_id.is_empty() || self.client_id.len() > 128 {
            return Err("client_id must be 1 to 128 characters".to_owned());
        }
        if self.tls.is_some() && !tls {
            return Err(format!(
                "broker {}: tls settings need an mqtts:// url",
                self.id
            ));
        }
        if !(MIN_MAX_MESSAGE_BYTES..=MAX_MAX_MESSAGE_BYTES).contains(&self.max_message_bytes) {
            return Err(format!(
                "broker {}: max_message_bytes must be between {MIN_MAX_MESSAGE_BYTES} and \
                 {MAX_MAX_MESSAGE_BYTES}",
                self.id
            ));
        }
        for (name, value) in [
            ("max_devices", self.max_devices),
            ("max_series", self.max_series),
            ("max_queued_messages", self.max_queued_messages),
        ] {
            if !(1..=10_000_000).contains(&value) {
                return Err(format!(
                    "broker {}: {name} must be between 1 and 10000000",
                    self.id
                ));
            }
        }
        if self.topics.is_empty() {
            return Err(format!(
                "broker {}: no [[mqtt.topics]] to subscribe to",
                self.id
            ));
        }
        for t in &self.topics {
            validate_filter(&t.filter)?;
            let wildcards = t
                .filter
                .split('/')
                .filter(|l| *l == "+" || *l == "#")
                .count();
            if t.format == PayloadFormat::Sparkplug {
                continue;
            }
            if t.format == PayloadFormat::Availability {
                if t.device.is_empty() {
                    return Err(format!(
                        "topic filter {:?}: availability needs a device template",
                        t.filter
                    ));
                }
                let probe: Vec<&str> = vec!["x"; wildcards];
                expand(&t.device, &probe)?;
                continue;
            }
            if t.device.is_empty() || t.metric.is_empty() {
                return Err(format!(
                    "topic filter {:?}: device and metric templates are required",
                    t.filter
                ));
            }
            let probe: Vec<&str> = vec!["x"; wildcards];
            expand(&t.device, &probe)?;
            expand(&t.metric, &probe)?;
        }
        Ok(())
    }

    /// The keyring entry that holds this broker's password.
    pub fn secret_key(&self) -> String {
        secret_key(&self.id)
    }
}

/// The keyring entry name of a broker's password.
pub fn secret_key(broker_id: &str) -> String {
    format!("mqtt:{broker_id}")
}

/// MQTT's own rules for a subscription filter: wildcards fill whole levels, `#` only last.
fn validate_filter(filter: &str) -> Result<()> {
    let bad = |why: &str| Err(format!("topic filter {filter:?}: {why}"));
    if filter.is_empty() || filter.len() > 1024 {
        return bad("must be 1 to 1024 characters");
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return bad("'#' must be a whole level and the last one");
        }
        if level.contains('+') && *level != "+" {
            return bad("'+' must be a whole level");
        }
    }
    Ok(())
}

/// A configured broker as the settings page lists it: whether a password is stored, never the
/// password itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerEntry {
    pub config: BrokerConfig,
    pub has_password: bool,
}

/// The settings page's "save": new settings, and what to do with the stored password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveBroker {
    pub config: BrokerConfig,
    /// A new password for the keyring; None keeps the stored one.
    #[serde(default)]
    pub password: Option<crate::secret::SecretInput>,
    /// Remove the stored password.
    #[serde(default)]
    pub clear_password: bool,
}

/// What a broker sent in a few seconds, judged by settings not yet saved ("Test connection"):
/// nothing is stored, nothing is acknowledged for the saved connection's session.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BrokerCheck {
    /// How long it listened, once connected.
    pub seconds: f64,
    pub messages: u64,
    /// Distinct topics the messages came on.
    pub topics: u64,
    /// Readings the topic maps made of them.
    pub readings: u64,
    /// Sparkplug B messages (births, data, deaths) that decoded.
    pub sparkplug: u64,
    /// A few of the readings, as "device · metric = value unit".
    pub examples: Vec<String>,
    /// Messages the settings could not read, per topic with the last reason (at most 8 topics).
    pub rejected: Vec<crate::RejectedTopic>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_save_request_never_prints_its_password() {
        let request = SaveBroker {
            config: BrokerConfig {
                id: "plant".into(),
                url: "mqtt://127.0.0.1".into(),
                client_id: "c".into(),
                persistent_session: true,
                protocol: Protocol::V311,
                username: Some("u".into()),
                tls: None,
                site: String::new(),
                device_kind: "machine".into(),
                expected_interval_ms: 60_000,
                sparkplug: None,
                max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
                max_devices: 10_000,
                max_series: 100_000,
                max_queued_messages: 100_000,
                topics: vec![],
            },
            password: Some("hunter2-secret".into()),
            clear_password: false,
        };
        let printed = format!("{request:?} {request:#?}");
        assert!(!printed.contains("hunter2-secret"), "{printed}");
        assert!(printed.contains("<redacted>"));
    }
}
