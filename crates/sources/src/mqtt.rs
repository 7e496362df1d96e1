//! MQTT gateways: subscribe, map topics to series, store, and only then acknowledge.
//!
//! rumqttc makes progress only while its event loop is polled, so one task polls and never waits
//! on the store; a second task turns publishes into readings, waits until they are committed and
//! then acknowledges them in arrival order (QoS 1 with manual acks). A crash between receipt and
//! commit therefore leaves the message unacknowledged, and the broker delivers it again.

use crate::board::SourceBoard;
use crate::error::{Result, SourceError};
use crate::task::TaskHandle;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use telltale_model::{Device, DeviceId, Quality, Reading, SourceState, Transport};
use telltale_store::Ingest;
use tokio::sync::mpsc;

/// One broker connection, as written in a collector's TOML or the app's settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    pub id: String,
    pub url: String,
    pub client_id: String,
    #[serde(default = "yes")]
    pub persistent_session: bool,
    /// Where this gateway's machines live, for grouping on the dashboard.
    #[serde(default)]
    pub site: String,
    /// The kind given to devices found on this broker.
    #[serde(default = "machine")]
    pub device_kind: String,
    /// How often each device is expected to publish.
    #[serde(default = "a_minute")]
    pub expected_interval_ms: i64,
    pub topics: Vec<TopicMap>,
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
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopicMap {
    /// An MQTT filter with `+` and `#` wildcards.
    pub filter: String,
    pub format: PayloadFormat,
    /// Template for the device name: `{N}` is the N-th wildcard level (from 1).
    pub device: String,
    /// Template for the metric name.
    pub metric: String,
    /// `json`: dotted path to the value (default `value`).
    #[serde(default)]
    pub value_path: Option<String>,
    /// `json`: dotted path to a unit string in the payload.
    #[serde(default)]
    pub unit_path: Option<String>,
    /// A fixed unit, when the payload carries none.
    #[serde(default)]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PayloadFormat {
    Number,
    Json,
}

/// The wildcard levels of `topic` under `filter`, or None when it does not match.
/// `#` captures the rest of the topic as one string.
pub fn match_filter<'t>(filter: &str, topic: &'t str) -> Option<Vec<&'t str>> {
    let mut captures = Vec::new();
    let mut levels = topic.split('/');
    let mut rest_start = 0usize;
    for f in filter.split('/') {
        if f == "#" {
            captures.push(&topic[rest_start.min(topic.len())..]);
            return Some(captures);
        }
        let level = levels.next()?;
        rest_start += level.len() + 1;
        match f {
            "+" => captures.push(level),
            exact if exact == level => {}
            _ => return None,
        }
    }
    levels.next().is_none().then_some(captures)
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

/// What one message says: a value and perhaps a unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub value: f64,
    pub unit: Option<String>,
}

/// Parses a payload by its configured format. Never panics on any bytes.
pub fn parse_payload(map: &TopicMap, bytes: &[u8]) -> std::result::Result<Payload, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "payload is not UTF-8".to_owned())?;
    let value = match map.format {
        PayloadFormat::Number => {
            let v: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("payload {:?} is not a number", truncate(text)))?;
            return finite(v).map(|value| Payload {
                value,
                unit: map.unit.clone(),
            });
        }
        PayloadFormat::Json => serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| format!("payload is not JSON: {e}"))?,
    };
    let path = map.value_path.as_deref().unwrap_or("value");
    let v = lookup(&value, path)
        .and_then(|v| v.as_f64())
        .ok_or_else(|| format!("no number at {path:?}"))?;
    let unit = match &map.unit_path {
        Some(p) => lookup(&value, p)
            .and_then(|u| u.as_str())
            .map(str::to_owned),
        None => None,
    }
    .or_else(|| map.unit.clone());
    finite(v).map(|value| Payload { value, unit })
}

fn finite(v: f64) -> std::result::Result<f64, String> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("value {v} is not a finite number"))
    }
}

fn truncate(s: &str) -> &str {
    let end = s.char_indices().nth(40).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

fn lookup<'v>(value: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// `mqtt://host:port` → (host, port). TLS (`mqtts://`) comes with the gateway issue.
fn parse_url(url: &str) -> Result<(String, u16)> {
    let rest = url.strip_prefix("mqtt://").ok_or_else(|| {
        SourceError::Config(format!("broker url {url:?} must start with mqtt://"))
    })?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.trim_end_matches('/')
                .parse()
                .map_err(|_| SourceError::Config(format!("bad port in {url:?}")))?,
        ),
        None => (rest.trim_end_matches('/'), 1883),
    };
    if host.is_empty() {
        return Err(SourceError::Config(format!("no host in {url:?}")));
    }
    Ok((host.to_owned(), port))
}

impl BrokerConfig {
    pub fn validate(&self) -> Result<()> {
        parse_url(&self.url)?;
        if self.client_id.is_empty() || self.id.is_empty() {
            return Err(SourceError::Config(
                "id and client_id must not be empty".into(),
            ));
        }
        for t in &self.topics {
            let wildcards = t
                .filter
                .split('/')
                .filter(|l| *l == "+" || *l == "#")
                .count();
            let probe: Vec<&str> = vec!["x"; wildcards];
            expand(&t.device, &probe).map_err(SourceError::Config)?;
            expand(&t.metric, &probe).map_err(SourceError::Config)?;
        }
        Ok(())
    }
}

/// Connects to the broker and keeps connecting, forever, until the handle is dropped or stopped.
pub fn start(config: BrokerConfig, ingest: Ingest, board: SourceBoard) -> Result<TaskHandle> {
    config.validate()?;
    let (host, port) = parse_url(&config.url)?;
    let mut options = MqttOptions::new(&config.client_id, &host, port);
    options.set_keep_alive(Duration::from_secs(15));
    options.set_clean_session(!config.persistent_session);
    options.set_manual_acks(true);
    let (client, mut eventloop) = AsyncClient::new(options, 256);
    let id = config.id.clone();
    Ok(TaskHandle::spawn(
        format!("mqtt:{id}"),
        move |cancel| async move {
            let (publishes_tx, publishes) = mpsc::channel::<Publish>(1024);
            let store_task = tokio::spawn(store_and_ack(
                config.clone(),
                client.clone(),
                publishes,
                ingest,
                board.clone(),
            ));
            board.set(
                &id,
                Transport::Mqtt,
                SourceState::Starting,
                format!("connecting to {host}:{port}"),
            );
            let mut backoff = Backoff::default();
            loop {
                let event = tokio::select! {
                    _ = cancel.cancelled() => break,
                    e = eventloop.poll() => e,
                };
                match event {
                    Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                        backoff.reset();
                        board.set(
                            &id,
                            Transport::Mqtt,
                            SourceState::Connected,
                            format!("connected to {host}:{port}"),
                        );
                        if !ack.session_present {
                            for t in &config.topics {
                                if let Err(e) = client.try_subscribe(&t.filter, QoS::AtLeastOnce) {
                                    tracing::error!(filter = %t.filter, error = %e, "subscribe failed");
                                }
                            }
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if publishes_tx.send(p).await.is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let wait = backoff.next();
                        board.set(
                            &id,
                            Transport::Mqtt,
                            SourceState::Reconnecting,
                            format!(
                                "{host}:{port}: {e}; retrying in {:.1} s",
                                wait.as_secs_f64()
                            ),
                        );
                        tokio::select! {
                            _ = cancel.cancelled() => break,
                            _ = tokio::time::sleep(wait) => {}
                        }
                    }
                }
            }
            drop(publishes_tx);
            let _ = store_task.await;
            let _ = client.try_disconnect();
            board.set(&id, Transport::Mqtt, SourceState::Stopped, "stopped");
        },
    ))
}

async fn store_and_ack(
    config: BrokerConfig,
    client: AsyncClient,
    mut publishes: mpsc::Receiver<Publish>,
    ingest: Ingest,
    board: SourceBoard,
) {
    let mut registered: HashSet<DeviceId> = HashSet::new();
    let mut malformed: HashMap<String, u64> = HashMap::new();
    let mut last_ts: HashMap<(DeviceId, String), i64> = HashMap::new();
    while let Some(first) = publishes.recv().await {
        let mut batch = vec![first];
        while let Ok(p) = publishes.try_recv() {
            batch.push(p);
            if batch.len() >= 1024 {
                break;
            }
        }
        let now = crate::now_ms();
        let mut readings = Vec::with_capacity(batch.len());
        for p in &batch {
            match reading_of(&config, p, now) {
                Ok(mut r) => {
                    // Two messages of one series within one millisecond are two readings.
                    let key = (r.device.clone(), r.metric.clone());
                    if let Some(prev) = last_ts.get(&key) {
                        r.ts_ms = r.ts_ms.max(prev + 1);
                    }
                    last_ts.insert(key, r.ts_ms);
                    if registered.insert(r.device.clone()) {
                        let name = r.device.as_str().rsplit_once('/').map_or("", |(_, n)| n);
                        let device = Device {
                            id: r.device.clone(),
                            name: name.to_owned(),
                            kind: config.device_kind.clone(),
                            transport: Transport::Mqtt,
                            site: config.site.clone(),
                            expected_interval_ms: config.expected_interval_ms,
                        };
                        if let Err(e) = ingest.register(device).await {
                            tracing::error!(error = %e, "device registration failed");
                        }
                    }
                    readings.push(r);
                }
                Err(reason) => {
                    let n = malformed.entry(p.topic.clone()).or_default();
                    *n += 1;
                    tracing::warn!(topic = %p.topic, %reason, count = *n, "malformed MQTT message");
                }
            }
        }
        match ingest.write(readings).await {
            Ok(_) => {
                for p in &batch {
                    // Acking an undecodable message too: it will never decode, and redelivering
                    // it forever would stall the stream.
                    if let Err(e) = client.ack(p).await {
                        tracing::warn!(error = %e, "ack not sent; the broker will redeliver");
                    }
                }
            }
            Err(e) => {
                // Not acknowledged: the broker keeps the messages and redelivers them.
                board.set(
                    &config.id,
                    Transport::Mqtt,
                    SourceState::Failed,
                    format!("store: {e}"),
                );
            }
        }
    }
}

fn reading_of(
    config: &BrokerConfig,
    p: &Publish,
    now_ms: i64,
) -> std::result::Result<Reading, String> {
    for map in &config.topics {
        let Some(captures) = match_filter(&map.filter, &p.topic) else {
            continue;
        };
        let device = expand(&map.device, &captures)?;
        let metric = expand(&map.metric, &captures)?;
        if device.is_empty() || metric.is_empty() {
            return Err("empty device or metric name".into());
        }
        let payload = parse_payload(map, &p.payload)?;
        return Ok(Reading {
            device: DeviceId::new(format!("mqtt:{}/{device}", config.id)),
            metric,
            unit: payload.unit,
            ts_ms: now_ms,
            value: payload.value,
            quality: Quality::Good,
        });
    }
    Err("no topic mapping matches".into())
}

/// Exponential backoff from 0.5 s to 30 s with jitter, so a fleet of collectors does not
/// reconnect in lockstep after a broker restart.
#[derive(Default)]
struct Backoff {
    attempt: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let base_ms = (500u64 << self.attempt.min(6)).min(30_000);
        self.attempt = self.attempt.saturating_add(1);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() as u64);
        let jitter = nanos % (base_ms / 4 + 1);
        Duration::from_millis(base_ms - base_ms / 8 + jitter)
    }
    fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_capture_wildcard_levels() {
        let cases: &[(&str, &str, Option<&[&str]>)] = &[
            (
                "plant/+/+",
                "plant/press-01/vibration",
                Some(&["press-01", "vibration"]),
            ),
            ("plant/+/+", "plant/press-01", None),
            ("plant/+/+", "plant/a/b/c", None),
            ("plant/#", "plant/a/b/c", Some(&["a/b/c"])),
            ("plant/+/temp", "plant/a/temp", Some(&["a"])),
            ("plant/+/temp", "plant/a/pressure", None),
            ("a/b", "a/b", Some(&[])),
            ("+", "", Some(&[""])),
        ];
        for (filter, topic, want) in cases {
            assert_eq!(
                match_filter(filter, topic).as_deref(),
                *want,
                "{filter} ~ {topic}"
            );
        }
    }

    #[test]
    fn templates_expand_and_reject_missing_levels() {
        assert_eq!(expand("{1}", &["a", "b"]).unwrap(), "a");
        assert_eq!(expand("m-{2}-{1}", &["a", "b"]).unwrap(), "m-b-a");
        assert!(expand("{3}", &["a", "b"])
            .unwrap_err()
            .contains("wildcard 3"));
        assert!(expand("{0}", &["a"]).is_err());
        assert!(expand("{x}", &["a"]).is_err());
        assert!(expand("{1", &["a"]).is_err());
    }

    fn map(format: PayloadFormat) -> TopicMap {
        TopicMap {
            filter: "p/+/+".into(),
            format,
            device: "{1}".into(),
            metric: "{2}".into(),
            value_path: None,
            unit_path: Some("unit".into()),
            unit: None,
        }
    }

    #[test]
    fn payloads_parse_or_explain() {
        let number = map(PayloadFormat::Number);
        assert_eq!(parse_payload(&number, b" 4.25\n").unwrap().value, 4.25);
        let json = map(PayloadFormat::Json);
        let p = parse_payload(&json, br#"{"value": 3.5, "unit": "mm/s"}"#).unwrap();
        assert_eq!((p.value, p.unit.as_deref()), (3.5, Some("mm/s")));
        let bad: &[(&TopicMap, &[u8], &str)] = &[
            (&number, b"abc", "not a number"),
            (&number, b"NaN", "finite"),
            (&number, b"inf", "finite"),
            (&number, &[0xff, 0xfe], "UTF-8"),
            (&json, b"{", "not JSON"),
            (&json, br#"{"value": "3"}"#, "no number"),
            (&json, br#"[1,2]"#, "no number"),
        ];
        for (m, bytes, fragment) in bad {
            let err = parse_payload(m, bytes).unwrap_err();
            assert!(err.contains(fragment), "{bytes:?}: {err}");
        }
    }

    #[test]
    fn config_parses_and_validates() {
        let cfg: BrokerConfig = toml_like(
            r#"{"id":"plant","url":"mqtt://127.0.0.1:1883","client_id":"c",
                "topics":[{"filter":"factory/+/+","format":"number","device":"{1}","metric":"{2}"}]}"#,
        );
        assert!(cfg.persistent_session);
        cfg.validate().unwrap();
        let mut bad = cfg.clone();
        bad.url = "http://x".into();
        assert!(bad.validate().unwrap_err().to_string().contains("mqtt://"));
        let mut bad = cfg.clone();
        bad.topics[0].metric = "{3}".into();
        assert!(bad.validate().is_err());
        assert_eq!(parse_url("mqtt://h").unwrap(), ("h".into(), 1883));
        assert!(parse_url("mqtt://h:99999").is_err());
    }

    fn toml_like(json: &str) -> BrokerConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn backoff_grows_and_caps() {
        let mut b = Backoff::default();
        let waits: Vec<u128> = (0..10).map(|_| b.next().as_millis()).collect();
        assert!(waits[0] >= 437 && waits[0] <= 563, "{waits:?}");
        assert!(waits[9] <= 30_000 + 7_500, "{waits:?}");
        assert!(waits[9] >= 26_000, "{waits:?}");
    }
}
