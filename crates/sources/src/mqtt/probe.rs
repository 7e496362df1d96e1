//! "Test connection": listen to a broker for a few seconds with settings not yet saved, and say
//! what they would make of what it sends. Nothing is stored; the probe connects under a client
//! id of its own with a clean session, so the saved connection's session (and what the broker
//! keeps for it) is never touched.

use super::link::{self, Incoming, LinkOptions};
use super::{reading_of, BrokerConfig, Parsed};
use crate::error::{Result, SourceError};
use crate::secret::{ExposeSecret, Secret};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use telltale_model::broker::BrokerCheck;
use telltale_model::RejectedTopic;

/// The longest a broker may take to accept the connection.
const CONNECT_LIMIT: Duration = Duration::from_secs(5);
/// Readings quoted as examples, and topics listed as not understood.
const EXAMPLES: usize = 5;
const REJECTED_TOPICS: usize = 8;

/// Connects with `config` (and `password`, when it has a user name), subscribes to its topic
/// filters, and listens for `listen` once connected. Fails when the broker cannot be reached,
/// refuses the connection, or does not answer within 5 s.
pub async fn probe(
    config: &BrokerConfig,
    password: Option<Secret>,
    listen: Duration,
) -> Result<BrokerCheck> {
    let (use_tls, host, port, tls_config) = super::address(config)?;
    let credentials = config
        .username
        .as_deref()
        .map(|u| (u, password.as_ref().map_or("", |p| p.expose_secret())));
    // A client id of its own: brokers disconnect the older of two clients with one id.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let client_id = format!(
        "{}-test-{:x}",
        config.client_id.chars().take(40).collect::<String>(),
        nonce ^ std::process::id()
    );
    let (client, mut events) = link::connect(
        LinkOptions {
            client_id: &client_id,
            host: &host,
            port,
            protocol: config.protocol,
            persistent_session: false,
            credentials,
            tls: tls_config,
            will: None,
            max_message_bytes: config.max_message_bytes,
        },
        1024,
    );
    drop(password);
    let endpoint = format!("{}://{host}:{port}", if use_tls { "mqtts" } else { "mqtt" });
    // Connected, or why not.
    let connected = tokio::time::timeout(CONNECT_LIMIT, async {
        loop {
            match events.poll().await {
                Ok(Incoming::Connected { .. }) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    match connected {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(SourceError::Config(format!("{endpoint}: {e}")));
        }
        Err(_) => {
            return Err(SourceError::Config(format!(
                "{endpoint}: no answer within {} s",
                CONNECT_LIMIT.as_secs()
            )));
        }
    }
    for map in &config.topics {
        client
            .try_subscribe(&map.filter)
            .map_err(|e| SourceError::Config(format!("subscribing to {}: {e}", map.filter)))?;
    }
    let mut check = BrokerCheck::default();
    let mut topics: HashSet<String> = HashSet::new();
    let mut rejected: BTreeMap<String, RejectedTopic> = BTreeMap::new();
    let started = tokio::time::Instant::now();
    let deadline = started + listen;
    loop {
        let event = tokio::select! {
            e = events.poll() => e,
            _ = tokio::time::sleep_until(deadline) => break,
        };
        let message = match event {
            Ok(Incoming::Message(m)) => m,
            Ok(_) => continue,
            Err(e) => {
                return Err(SourceError::Config(format!(
                    "{endpoint}: the connection dropped while listening: {e}"
                )))
            }
        };
        if message.needs_ack() {
            // Our own clean session: acknowledged so the broker keeps sending.
            let _ = client.ack(&message).await;
        }
        check.messages += 1;
        let topic = message.topic().into_owned();
        if topics.len() < 10_000 {
            topics.insert(topic.clone());
        }
        let outcome = judge(config, &topic, message.payload(), &mut check);
        if let Err(reason) = outcome {
            if rejected.len() < REJECTED_TOPICS || rejected.contains_key(&topic) {
                let entry = rejected.entry(topic.clone()).or_insert(RejectedTopic {
                    topic,
                    count: 0,
                    last_reason: String::new(),
                });
                entry.count += 1;
                entry.last_reason = reason;
            }
        }
    }
    client.try_disconnect();
    // Let the DISCONNECT leave (bounded: the broker may already be gone).
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while events.poll().await.is_ok() {}
    })
    .await;
    check.seconds = started.elapsed().as_secs_f64().min(listen.as_secs_f64());
    check.topics = topics.len() as u64;
    check.rejected = rejected.into_values().collect();
    Ok(check)
}

/// What the settings make of one message, counted into `check`; the reason when nothing.
fn judge(
    config: &BrokerConfig,
    topic: &str,
    payload: &[u8],
    check: &mut BrokerCheck,
) -> std::result::Result<(), String> {
    if payload.len() > config.max_message_bytes {
        return Err(format!(
            "{} bytes, over max_message_bytes ({})",
            payload.len(),
            config.max_message_bytes
        ));
    }
    if super::is_sparkplug_topic(config, topic) {
        let message = telltale_sparkplug::decode(topic, payload).map_err(|e| e.to_string())?;
        check.sparkplug += 1;
        check.readings += message.metrics.len() as u64;
        return Ok(());
    }
    match reading_of(config, topic, payload, crate::now_ms())? {
        Parsed::Reading(r, _) => {
            check.readings += 1;
            if check.examples.len() < EXAMPLES
                && !check.examples.iter().any(|e| {
                    e.starts_with(&format!(
                        "{} · {} ",
                        device_name(config, &r.device.0),
                        r.metric
                    ))
                })
            {
                let unit = r
                    .unit
                    .as_deref()
                    .map(|u| format!(" {u}"))
                    .unwrap_or_default();
                check.examples.push(format!(
                    "{} · {} = {}{unit}",
                    device_name(config, &r.device.0),
                    r.metric,
                    r.value
                ));
            }
            Ok(())
        }
        Parsed::Availability(device, up) => {
            if check.examples.len() < EXAMPLES {
                let state = if up { "online" } else { "offline" };
                check
                    .examples
                    .push(format!("{} · {state}", device_name(config, &device.0)));
            }
            Ok(())
        }
    }
}

/// A device as the topic map named it (its id without the source's `mqtt:<id>/` prefix).
fn device_name<'d>(config: &BrokerConfig, id: &'d str) -> &'d str {
    id.strip_prefix("mqtt:")
        .and_then(|rest| rest.strip_prefix(config.id.as_str()))
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(id)
}
