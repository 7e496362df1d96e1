//! MQTT gateways: subscribe, map topics to series, store, and only then acknowledge.
//!
//! rumqttc makes progress only while its event loop is polled, so one task polls and never waits
//! on the store; a second task turns publishes into readings, waits until they are committed and
//! then acknowledges them in arrival order (QoS 1 with manual acks). A crash between receipt and
//! commit therefore leaves the message unacknowledged, and the broker delivers it again.

mod link;
mod probe;
mod tls;

pub use telltale_model::broker::{
    expand, secret_key, BrokerConfig, PayloadFormat, Protocol, SparkplugSettings, TlsSettings,
    TopicMap,
};

use crate::board::SourceBoard;
use crate::error::{Result, SourceError};
use crate::task::TaskHandle;
pub use link::Publisher;
use link::{Client, Events, Incoming, LinkOptions, Message};
pub use probe::probe;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use telltale_model::broker::parse_url;
use telltale_model::{Device, DeviceId, Quality, Reading, SourceState, Transport};
use telltale_sparkplug::{Host, HostConfig, HostEvent, NodeId};
use telltale_store::{Ingest, SeriesKey};
use tokio::sync::mpsc;

/// The most messages stored (and then acknowledged) in one commit.
const MAX_BATCH: usize = 1024;

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

/// What one message says: a value, perhaps a unit and its own time.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub value: f64,
    pub unit: Option<String>,
    pub ts_ms: Option<i64>,
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
                ts_ms: None,
            });
        }
        PayloadFormat::Json => serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| format!("payload is not JSON: {e}"))?,
        // Sparkplug messages go to the host state machine, which needs more than one payload.
        PayloadFormat::Sparkplug => return Err("a Sparkplug payload is not a single value".into()),
        PayloadFormat::Availability => return Err("an availability payload is not a value".into()),
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
    let ts_ms = match &map.ts_path {
        Some(p) => {
            let ts = lookup(&value, p)
                .and_then(|t| t.as_i64())
                .ok_or_else(|| format!("no integer time in ms at {p:?}"))?;
            if !(telltale_model::MIN_TS_MS..=telltale_model::MAX_TS_MS).contains(&ts) {
                return Err(format!("time {ts} at {p:?} is not ms since 1970"));
            }
            Some(ts)
        }
        None => None,
    };
    finite(v).map(|value| Payload { value, unit, ts_ms })
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

/// Connects to the broker and keeps connecting, forever, until the handle is dropped or stopped.
/// `password` comes from the keyring; it is handed to the MQTT client and kept nowhere else.
pub fn start(
    config: BrokerConfig,
    password: Option<crate::secret::Secret>,
    ingest: Ingest,
    board: SourceBoard,
) -> Result<TaskHandle> {
    let (tls, host, port, tls_config) = address(&config)?;
    let insecure = config.tls.as_ref().is_some_and(|t| t.insecure_skip_verify);
    use crate::secret::ExposeSecret;
    let credentials = config
        .username
        .as_deref()
        .map(|u| (u, password.as_ref().map_or("", |p| p.expose_secret())));
    // A password over plain mqtt:// can be read by anyone on the path: said in the log and on
    // the Sources page, every time the connection starts.
    let plaintext_password = !tls
        && password
            .as_ref()
            .is_some_and(|p| !p.expose_secret().is_empty());
    // A Sparkplug host announces itself: a retained STATE birth after connecting, and the same
    // message with online=false and the same timestamp as its will.
    let state = config.is_sparkplug_host().then(|| {
        let t = crate::now_ms().max(0) as u64;
        (
            state_topic(&config),
            telltale_sparkplug::state_payload(false, t),
            telltale_sparkplug::state_payload(true, t),
        )
    });
    let will = state
        .as_ref()
        .map(|(topic, death, _)| (topic.clone(), death.clone()));
    let state_birth = state.map(|(topic, _, birth)| (topic, birth));
    let (client, events) = link::connect(
        LinkOptions {
            client_id: &config.client_id,
            host: &host,
            port,
            protocol: config.protocol,
            persistent_session: config.persistent_session,
            credentials,
            tls: tls_config,
            will: will.clone(),
            max_message_bytes: config.max_message_bytes,
        },
        // Room for every ack of a full batch plus the host's own publishes: the store task must
        // never wait on this queue while the event loop waits on the store task's.
        MAX_BATCH * 2 + 64,
    );
    drop(password);
    let scheme = if tls { "mqtts" } else { "mqtt" };
    let endpoint = if insecure {
        format!("{scheme}://{host}:{port} (TLS verification OFF)")
    } else if plaintext_password {
        format!("{scheme}://{host}:{port} (password sent unencrypted: use mqtts://)")
    } else {
        format!("{scheme}://{host}:{port}")
    };
    if plaintext_password {
        tracing::warn!(
            source = %config.id,
            "this broker's password travels unencrypted over mqtt://: anyone on the path can read it; use mqtts://"
        );
    }
    if insecure {
        tracing::warn!(
            source = %config.id,
            "TLS certificate verification is switched off for this broker"
        );
    }
    Ok(run(
        config,
        client,
        events,
        will,
        state_birth,
        endpoint,
        ingest,
        board,
    ))
}

/// Where and how `config` connects, validated: (TLS?, host, port, the TLS client config).
fn address(
    config: &BrokerConfig,
) -> Result<(bool, String, u16, Option<Arc<rustls::ClientConfig>>)> {
    config.validate().map_err(SourceError::Config)?;
    let (use_tls, host, port) = parse_url(&config.url).map_err(SourceError::Config)?;
    let tls_config = if use_tls {
        let settings = config.tls.clone().unwrap_or_default();
        Some(Arc::new(tls::client_config(&settings)?))
    } else {
        None
    };
    Ok((use_tls, host, port, tls_config))
}

/// Starts an MQTT source fed from inside the process by the returned [`Publisher`] instead of
/// a broker: where no broker can run (the demo plant on a phone). What it publishes takes the
/// broker's path from there on: the topic maps, payload parsing, Sparkplug, storing, the status
/// board. `config.url` is not dialled; the status board says "in process".
pub fn start_in_process(
    config: BrokerConfig,
    ingest: Ingest,
    board: SourceBoard,
) -> Result<(TaskHandle, Publisher)> {
    config.validate().map_err(SourceError::Config)?;
    let (client, events, publisher) = link::in_process(config.max_queued_messages);
    let task = run(
        config,
        client,
        events,
        None,
        None,
        "the in-process publisher".into(),
        ingest,
        board,
    );
    Ok((task, publisher))
}

/// The source's two tasks over one link: this one polls the link, the store task stores and
/// then acknowledges.
#[allow(clippy::too_many_arguments)]
fn run(
    config: BrokerConfig,
    client: Client,
    mut events: Events,
    will: Option<(String, Vec<u8>)>,
    state_birth: Option<(String, Vec<u8>)>,
    endpoint: String,
    ingest: Ingest,
    board: SourceBoard,
) -> TaskHandle {
    let id = config.id.clone();
    TaskHandle::spawn(format!("mqtt:{id}"), move |cancel| async move {
        // Unbounded on purpose: the event loop must never wait for the store task, or the
        // acknowledgements that task queues would never be sent and both would stall. What
        // bounds it is the broker's in-flight window (MQTT 5 receive maximum, mosquitto's
        // max_inflight_messages): unacknowledged messages are all it can hold.
        let (messages_tx, messages) = mpsc::unbounded_channel::<Delivery>();
        // Messages handed over and not yet taken by the store task.
        let queued = Arc::new(AtomicUsize::new(0));
        let mut store_task = tokio::spawn(store_and_ack(
            config.clone(),
            client.clone(),
            (messages, queued.clone()),
            ingest,
            board.clone(),
            state_birth.clone(),
            endpoint.clone(),
        ));
        board.set(
            &id,
            Transport::Mqtt,
            SourceState::Starting,
            format!("connecting to {endpoint}"),
        );
        let mut backoff = Backoff::default();
        let mut connected = false;
        // Dropped when stopping: the store task then finishes what it has and ends.
        let mut messages_tx = Some(messages_tx);
        let mut phase = Phase::Running;
        let mut store_done = false;
        loop {
            // One poll is never dropped half-way because of a stop (rumqttc would lose or
            // tear the packet it was writing, and the broker would drop the connection with
            // every ack still queued); the stop is noticed beside it instead.
            let event = {
                let poll = events.poll();
                tokio::pin!(poll);
                loop {
                    let deadline = phase.deadline();
                    tokio::select! {
                        e = &mut poll => break Some(e),
                        _ = cancel.cancelled(), if phase == Phase::Running => {
                            // Store what was received, acknowledge it, then say goodbye.
                            // Messages arriving from now on are neither stored nor
                            // acknowledged: the broker keeps them for the next session.
                            messages_tx = None;
                            phase = Phase::Draining(tokio::time::Instant::now() + DRAIN_LIMIT);
                        }
                        _ = &mut store_task, if !store_done => {
                            store_done = true;
                            messages_tx = None;
                            phase = leave(&client, &will, connected);
                        }
                        _ = sleep_until(deadline), if deadline.is_some() => {
                            if let Phase::Draining(_) = phase {
                                tracing::warn!(source = %id, "stopping before every received message was stored; the broker will deliver the rest again");
                                store_task.abort();
                                store_done = true;
                                phase = leave(&client, &will, connected);
                            } else {
                                break None;
                            }
                        }
                    }
                    if phase == Phase::Gone {
                        break None;
                    }
                }
            };
            let Some(event) = event else { break };
            match event {
                Ok(Incoming::Connected { session_present }) if phase == Phase::Running => {
                    backoff.reset();
                    connected = true;
                    board.set(
                        &id,
                        Transport::Mqtt,
                        SourceState::Connected,
                        format!("connected to {endpoint}"),
                    );
                    // A resumed session keeps its subscriptions; subscribing again would
                    // be harmless but makes a retained-message storm on some brokers.
                    let mut filters: Vec<String> = Vec::new();
                    if !session_present {
                        filters.extend(config.topics.iter().map(|t| t.filter.clone()));
                    }
                    if let Some((topic, _)) = &state_birth {
                        // Our own STATE, to answer a stale "offline" with a new birth.
                        filters.push(topic.clone());
                    }
                    for f in &filters {
                        if let Err(e) = client.try_subscribe(f) {
                            tracing::error!(filter = %f, error = %e, "subscribe failed");
                        }
                    }
                    if let Some((topic, birth)) = &state_birth {
                        // Never awaited here: this task is the one that drains the queue.
                        if let Err(e) = client.try_publish(topic, true, birth.clone()) {
                            tracing::error!(error = %e, "STATE birth not sent");
                        }
                    }
                }
                Ok(Incoming::Connected { .. }) => connected = true,
                Ok(Incoming::Message(m)) => {
                    if let Some(tx) = &messages_tx {
                        // QoS 1 is bounded by the broker's in-flight window; QoS 0 is not,
                        // so a flood could queue without end while the store is slow.
                        // Beyond the bound a message is dropped and counted (a QoS 1 one
                        // is not acknowledged either: the broker delivers it again).
                        if queued.load(Ordering::Relaxed) >= config.max_queued_messages {
                            let reason = format!(
                                    "more than {} messages waiting to be stored (max_queued_messages); dropped{}",
                                    config.max_queued_messages,
                                    if m.needs_ack() { ", to be delivered again" } else { "" }
                                );
                            if board
                                .count_rejected(&id, &m.topic(), &reason)
                                .is_power_of_two()
                            {
                                tracing::warn!(source = %id, %reason, "message dropped");
                            }
                        } else {
                            queued.fetch_add(1, Ordering::Relaxed);
                            if tx.send(Delivery::of(*m, config.max_message_bytes)).is_err() {
                                messages_tx = None;
                            }
                        }
                    }
                }
                // After our DISCONNECT, keep reading until the broker closes the connection:
                // closing first, with its messages unread in our socket, would send a TCP
                // reset that can discard our last acks and the DISCONNECT before the broker
                // reads them (it then fires the will and redelivers what we acknowledged).
                Ok(Incoming::Disconnected | Incoming::Other) => {}
                Err(e) => {
                    connected = false;
                    if phase != Phase::Running {
                        // Nothing more can be acknowledged on this connection: finish
                        // storing (what is committed now comes again, and is stored once)
                        // and go.
                        if !store_done {
                            let _ = tokio::time::timeout(DRAIN_LIMIT, &mut store_task).await;
                            store_task.abort();
                        }
                        break;
                    }
                    let wait = backoff.next();
                    board.set(
                        &id,
                        Transport::Mqtt,
                        SourceState::Reconnecting,
                        format!("{endpoint}: {e}; retrying in {:.1} s", wait.as_secs_f64()),
                    );
                    tokio::select! {
                        _ = cancel.cancelled() => {
                            drop(messages_tx.take());
                            if !store_done {
                                let _ = tokio::time::timeout(DRAIN_LIMIT, &mut store_task).await;
                                store_task.abort();
                            }
                            break;
                        }
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        board.set(&id, Transport::Mqtt, SourceState::Stopped, "stopped");
    })
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// Stopping: storing and acknowledging what was received, until the deadline.
    Draining(tokio::time::Instant),
    /// The STATE death and DISCONNECT are queued; waiting for them to leave, until the deadline.
    Leaving(tokio::time::Instant),
    /// Nothing left to say (the connection was down).
    Gone,
}

impl Phase {
    fn deadline(self) -> Option<tokio::time::Instant> {
        match self {
            Phase::Draining(t) | Phase::Leaving(t) => Some(t),
            Phase::Running | Phase::Gone => None,
        }
    }
}

/// Queues the goodbye once everything received is stored and acknowledged. Sparkplug 3.0: a
/// host that stops on purpose publishes its own death STATE (the will's payload, with the
/// birth's timestamp) before it disconnects; a clean DISCONNECT discards the will, so the
/// broker would not. The DISCONNECT leaves after every ack and the STATE queued before it.
fn leave(client: &Client, will: &Option<(String, Vec<u8>)>, connected: bool) -> Phase {
    if !connected {
        return Phase::Gone;
    }
    if let Some((topic, death)) = will {
        if let Err(e) = client.try_publish(topic, true, death.clone()) {
            tracing::warn!(error = %e, "STATE death not sent");
        }
    }
    client.try_disconnect();
    Phase::Leaving(tokio::time::Instant::now() + GOODBYE_LIMIT)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// How long a stopping source may take to store and acknowledge what it received.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);
/// How long it waits for its last packets (acks, STATE, DISCONNECT) to leave.
const GOODBYE_LIMIT: Duration = Duration::from_secs(2);

/// A message handed from the event loop to the store task. An oversize one has already lost
/// its payload (so a flood of them cannot hold memory) and is only acknowledged and counted.
struct Delivery {
    message: Message,
    oversize: Option<usize>,
}

impl Delivery {
    fn of(mut message: Message, limit: usize) -> Self {
        let size = message.payload().len();
        let oversize = (size > limit).then(|| {
            message.drop_payload();
            size
        });
        Self { message, oversize }
    }
}

/// The devices this connection has described to the store, and the last receipt time of each
/// series (for same-millisecond messages).
#[derive(Default)]
struct Seen {
    registered: HashSet<DeviceId>,
    last_ts: HashMap<(DeviceId, String), i64>,
    /// Every series this connection stored, by device, and how many: the `max_series` bound.
    series: HashMap<DeviceId, HashSet<String>>,
    series_count: usize,
}

impl Seen {
    /// Whether `device` may be described to the store: a known one always, a new one while
    /// this connection is under `max_devices`.
    fn admit_device(
        &self,
        config: &BrokerConfig,
        device: &DeviceId,
    ) -> std::result::Result<(), String> {
        if !self.registered.contains(device) && self.registered.len() >= config.max_devices {
            return Err(format!(
                "more than {} devices on this broker (max_devices); new ones are refused",
                config.max_devices
            ));
        }
        Ok(())
    }

    /// Whether a reading of `device`'s `metric` may be stored: a device or series already
    /// known always; a new one while this connection is under its broker's bounds.
    fn admit(
        &mut self,
        config: &BrokerConfig,
        device: &DeviceId,
        metric: &str,
    ) -> std::result::Result<(), String> {
        self.admit_device(config, device)?;
        if self.series.get(device).is_some_and(|m| m.contains(metric)) {
            return Ok(());
        }
        if self.series_count >= config.max_series {
            return Err(format!(
                "more than {} series on this broker (max_series); new ones are refused",
                config.max_series
            ));
        }
        self.series
            .entry(device.clone())
            .or_default()
            .insert(metric.to_owned());
        self.series_count += 1;
        Ok(())
    }
}

async fn store_and_ack(
    config: BrokerConfig,
    client: Client,
    (mut messages, queued): (mpsc::UnboundedReceiver<Delivery>, Arc<AtomicUsize>),
    ingest: Ingest,
    board: SourceBoard,
    state_birth: Option<(String, Vec<u8>)>,
    endpoint: String,
) {
    let mut seen = Seen::default();
    let mut host = config.is_sparkplug_host().then(|| {
        Host::new(HostConfig {
            reorder_timeout_ms: config
                .sparkplug
                .as_ref()
                .map_or(2_000, |s| s.reorder_timeout_ms),
            rebirth_interval_ms: config
                .sparkplug
                .as_ref()
                .map_or(2_000, |s| s.reorder_timeout_ms),
            host_id: Some(config.sparkplug_host_id().to_owned()),
            max_nodes: config.max_devices,
            max_devices_per_node: config.max_devices,
        })
    });
    let connected = format!("connected to {endpoint}");
    loop {
        // A Sparkplug sequence gap has a deadline: wake for it even when no message comes.
        let deadline = host.as_ref().and_then(Host::next_deadline);
        let first = tokio::select! {
            m = messages.recv() => match m {
                Some(m) => m,
                None => break,
            },
            _ = sleep_until_ms(deadline) => {
                if let Some(h) = host.as_mut() {
                    let now = crate::now_ms();
                    let events = h.tick(now.max(0) as u64);
                    let mut readings = Vec::new();
                    sparkplug_events(&config, &client, &board, &ingest, &mut seen, events, &mut readings, &state_birth, ("(held for reordering)", now)).await;
                    // Readings the reorder buffer released once their gap timed out.
                    store(&config, &ingest, &board, readings, &connected).await;
                }
                continue;
            }
        };
        let mut batch = vec![first];
        while let Ok(m) = messages.try_recv() {
            batch.push(m);
            if batch.len() >= MAX_BATCH {
                break;
            }
        }
        queued.fetch_sub(batch.len(), Ordering::Relaxed);
        let now = crate::now_ms();
        let mut readings = Vec::with_capacity(batch.len());
        for d in &batch {
            let m = &d.message;
            let topic = m.topic();
            if let Some(size) = d.oversize {
                let reason = format!(
                    "message of {size} bytes is over this broker's limit of {} bytes (max_message_bytes)",
                    config.max_message_bytes
                );
                let n = board.count_rejected(&config.id, &topic, &reason);
                tracing::warn!(source = %config.id, %topic, %reason, count = n, "oversize MQTT message acknowledged and dropped");
                continue;
            }
            if let Some(h) = host
                .as_mut()
                .filter(|_| is_sparkplug_topic(&config, &topic))
            {
                match telltale_sparkplug::decode(&topic, m.payload()) {
                    Ok(message) => {
                        let events = h.handle(now.max(0) as u64, &message);
                        sparkplug_events(
                            &config,
                            &client,
                            &board,
                            &ingest,
                            &mut seen,
                            events,
                            &mut readings,
                            &state_birth,
                            (&topic, now),
                        )
                        .await;
                    }
                    Err(e) => {
                        let reason = e.to_string();
                        let n = board.count_rejected(&config.id, &topic, &reason);
                        tracing::warn!(source = %config.id, %topic, %reason, count = n, "malformed Sparkplug message");
                    }
                }
                continue;
            }
            match reading_of(&config, &topic, m.payload(), now) {
                Ok(Parsed::Availability(device, up)) => {
                    let name = device
                        .as_str()
                        .rsplit_once('/')
                        .map_or("", |(_, n)| n)
                        .to_owned();
                    let site = config.site.clone();
                    let since = (!up).then_some(now);
                    declare(
                        &config,
                        &ingest,
                        &board,
                        &mut seen,
                        &device,
                        (name, site),
                        since,
                        now,
                    )
                    .await;
                }
                Ok(Parsed::Reading(mut r, stamped)) => {
                    // Two messages of one series received within one millisecond are two
                    // readings. A time the payload states is kept as is: the same stated time
                    // twice is the same reading delivered twice.
                    let key = (r.device.clone(), r.metric.clone());
                    if !stamped {
                        // A burst is stamped a little ahead of the clock; a restarted source
                        // must go on after the stored stamps, not collide with them.
                        if !seen.last_ts.contains_key(&key) {
                            let stored = ingest
                                .last_ts(SeriesKey {
                                    device: r.device.clone(),
                                    metric: r.metric.clone(),
                                })
                                .await;
                            match stored {
                                Ok(Some(t)) => {
                                    seen.last_ts.insert(key.clone(), t);
                                }
                                Ok(None) => {}
                                Err(e) => {
                                    tracing::error!(error = %e, "cannot read the series' last time");
                                }
                            }
                        }
                        if let Some(prev) = seen.last_ts.get(&key) {
                            r.ts_ms = r.ts_ms.max(prev + 1);
                        }
                        seen.last_ts.insert(key, r.ts_ms);
                    }
                    let name = r
                        .device
                        .as_str()
                        .rsplit_once('/')
                        .map_or("", |(_, n)| n)
                        .to_owned();
                    if let Err(reason) = r
                        .check(Some(now))
                        .and_then(|()| seen.admit(&config, &r.device, &r.metric))
                    {
                        let n = board.count_rejected(&config.id, &topic, &reason);
                        // A flood is in the counts; the log gets the 1st, 2nd, 4th, 8th… of a topic.
                        if n.is_power_of_two() {
                            tracing::warn!(source = %config.id, %topic, %reason, "reading refused");
                        }
                        continue;
                    }
                    register(
                        &config,
                        &ingest,
                        &mut seen,
                        &r.device,
                        name,
                        config.site.clone(),
                    )
                    .await;
                    readings.push(r);
                }
                Err(reason) => {
                    let n = board.count_rejected(&config.id, &topic, &reason);
                    tracing::warn!(source = %config.id, %topic, %reason, count = n, "malformed MQTT message");
                }
            }
        }
        tracing::debug!(source = %config.id, messages = batch.len(), "storing a batch");
        if !store(&config, &ingest, &board, readings, &connected).await {
            // The store is gone (the process is stopping): acknowledge nothing, so the broker
            // delivers these again to the next session.
            return;
        }
        tracing::debug!(source = %config.id, messages = batch.len(), "committed; acknowledging");
        for d in &batch {
            // Acking an undecodable or oversize message too: it will never be stored, and
            // redelivering it forever would stall the stream.
            if let Err(e) = client.ack(&d.message).await {
                tracing::warn!(error = %e, "ack not sent; the broker will redeliver");
            }
        }
    }
}

/// Commits readings, retrying with backoff while the store fails (the store itself already
/// retries a busy, locked or full database), so the acknowledgements that follow never
/// outrun what is durable and a passing fault loses nothing. Returns false only when the
/// store has stopped for good.
async fn store(
    config: &BrokerConfig,
    ingest: &Ingest,
    board: &SourceBoard,
    readings: Vec<Reading>,
    connected: &str,
) -> bool {
    if readings.is_empty() {
        return true;
    }
    let mut backoff = Backoff::default();
    loop {
        match ingest.write(readings.clone()).await {
            Ok(c) => {
                if c.rejected > 0 {
                    tracing::warn!(source = %config.id, rejected = c.rejected, "readings refused by the store");
                }
                board.recover(
                    &config.id,
                    Transport::Mqtt,
                    SourceState::Connected,
                    connected,
                );
                return true;
            }
            Err(telltale_store::StoreError::WriterStopped) => return false,
            Err(e) => {
                let wait = backoff.next();
                board.set(
                    &config.id,
                    Transport::Mqtt,
                    SourceState::Failed,
                    format!(
                        "store: {e}; retrying in {:.1} s (nothing is acknowledged meanwhile)",
                        wait.as_secs_f64()
                    ),
                );
                tokio::time::sleep(wait).await;
            }
        }
    }
}

async fn sleep_until_ms(deadline_ms: Option<u64>) {
    match deadline_ms {
        Some(at) => {
            let wait = at.saturating_sub(crate::now_ms().max(0) as u64);
            tokio::time::sleep(Duration::from_millis(wait)).await
        }
        None => std::future::pending().await,
    }
}

fn is_sparkplug_topic(config: &BrokerConfig, topic: &str) -> bool {
    config
        .topics
        .iter()
        .any(|t| t.format == PayloadFormat::Sparkplug && match_filter(&t.filter, topic).is_some())
        || topic == state_topic(config)
}

fn state_topic(config: &BrokerConfig) -> String {
    format!(
        "{}/STATE/{}",
        telltale_sparkplug::NAMESPACE,
        config.sparkplug_host_id()
    )
}

/// Describes a device to the store the first time this connection hears of it.
async fn register(
    config: &BrokerConfig,
    ingest: &Ingest,
    seen: &mut Seen,
    id: &DeviceId,
    name: String,
    site: String,
) {
    if !seen.registered.insert(id.clone()) {
        return;
    }
    let device = Device {
        id: id.clone(),
        name,
        kind: config.device_kind.clone(),
        transport: Transport::Mqtt,
        site,
        expected_interval_ms: config.expected_interval_ms,
        tags: vec![],
    };
    if let Err(e) = ingest.register(device).await {
        tracing::error!(error = %e, "device registration failed");
    }
}

/// `mqtt:<broker>/<group>/<edge node>[/<device>]`: a Sparkplug node and each of its devices
/// are devices of their own.
fn sparkplug_device(config: &BrokerConfig, node: &NodeId, device_id: Option<&str>) -> DeviceId {
    match device_id {
        Some(d) => DeviceId::new(format!(
            "mqtt:{}/{}/{}/{d}",
            config.id, node.group_id, node.edge_node_id
        )),
        None => DeviceId::new(format!(
            "mqtt:{}/{}/{}",
            config.id, node.group_id, node.edge_node_id
        )),
    }
}

/// Records what the source declared about a device (gone since `offline_since`, or back with
/// None): on the status board for this process, and through the store for every reader of the
/// database (`telltale devices`, the app after a restart). The device is described first, as
/// for its readings, so its row carries a name. A failed write is logged; the board still has it.
#[allow(clippy::too_many_arguments)]
async fn declare(
    config: &BrokerConfig,
    ingest: &Ingest,
    board: &SourceBoard,
    seen: &mut Seen,
    device: &DeviceId,
    (name, site): (String, String),
    offline_since: Option<i64>,
    at_ms: i64,
) {
    board.set_offline(&config.id, device, offline_since);
    register(config, ingest, seen, device, name, site).await;
    match ingest
        .set_offline(device.clone(), offline_since, at_ms)
        .await
    {
        Ok(()) | Err(telltale_store::StoreError::WriterStopped) => {}
        Err(e) => {
            tracing::error!(source = %config.id, %device, error = %e, "device presence not stored")
        }
    }
}

/// [`declare`] for a Sparkplug node (`device_id` None) or one of its devices, named and placed
/// as their readings are.
#[allow(clippy::too_many_arguments)]
async fn declare_sparkplug(
    config: &BrokerConfig,
    ingest: &Ingest,
    board: &SourceBoard,
    seen: &mut Seen,
    node: &NodeId,
    device_id: Option<&str>,
    offline_since: Option<i64>,
    at_ms: i64,
) {
    let id = sparkplug_device(config, node, device_id);
    let name = device_id.unwrap_or(&node.edge_node_id).to_owned();
    let site = if config.site.is_empty() {
        node.group_id.clone()
    } else {
        config.site.clone()
    };
    declare(
        config,
        ingest,
        board,
        seen,
        &id,
        (name, site),
        offline_since,
        at_ms,
    )
    .await;
}

/// Carries out what the Sparkplug host decided: readings into the batch, births and deaths onto
/// the status board, rebirth requests and STATE republishing onto the broker.
#[allow(clippy::too_many_arguments)]
async fn sparkplug_events(
    config: &BrokerConfig,
    client: &Client,
    board: &SourceBoard,
    ingest: &Ingest,
    seen: &mut Seen,
    events: Vec<HostEvent>,
    readings: &mut Vec<Reading>,
    state_birth: &Option<(String, Vec<u8>)>,
    (topic, now): (&str, i64),
) {
    for event in events {
        match event {
            HostEvent::Readings {
                node,
                device_id,
                readings: values,
            } => {
                let id = sparkplug_device(config, &node, device_id.as_deref());
                let name = device_id
                    .clone()
                    .unwrap_or_else(|| node.edge_node_id.clone());
                let site = if config.site.is_empty() {
                    node.group_id.clone()
                } else {
                    config.site.clone()
                };
                if let Err(reason) = seen.admit_device(config, &id) {
                    if board
                        .count_rejected(&config.id, topic, &reason)
                        .is_power_of_two()
                    {
                        tracing::warn!(source = %config.id, %topic, %reason, "Sparkplug device refused");
                    }
                    continue;
                }
                register(config, ingest, seen, &id, name, site).await;
                for v in values {
                    // Strings, bytes, datasets: kept out of the numeric store (not chartable).
                    let Some(value) = telltale_sparkplug::to_number(&v.value) else {
                        continue;
                    };
                    let reading = Reading {
                        device: id.clone(),
                        metric: v.name,
                        unit: v.unit,
                        ts_ms: i64::try_from(v.timestamp_ms).unwrap_or(i64::MAX),
                        value,
                        quality: Quality::Good,
                    };
                    // An edge node's clock or payload may be absurd: refuse that reading alone.
                    if let Err(reason) = reading
                        .check(Some(now))
                        .and_then(|()| seen.admit(config, &reading.device, &reading.metric))
                    {
                        let reason = format!("{}: {reason}", reading.metric);
                        let n = board.count_rejected(&config.id, topic, &reason);
                        tracing::warn!(source = %config.id, %topic, %reason, count = n, "Sparkplug reading refused");
                        continue;
                    }
                    readings.push(reading);
                }
            }
            HostEvent::NodeOnline { node, at_ms, .. } => {
                let at = at_ms as i64;
                declare_sparkplug(config, ingest, board, seen, &node, None, None, at).await
            }
            HostEvent::DeviceOnline {
                node,
                device_id,
                at_ms,
            } => {
                let at = at_ms as i64;
                let id = Some(device_id.as_str());
                declare_sparkplug(config, ingest, board, seen, &node, id, None, at).await
            }
            HostEvent::NodeOffline { node, at_ms } => {
                let at = at_ms as i64;
                declare_sparkplug(config, ingest, board, seen, &node, None, Some(at), at).await
            }
            HostEvent::DeviceOffline {
                node,
                device_id,
                at_ms,
            } => {
                let at = at_ms as i64;
                let id = Some(device_id.as_str());
                declare_sparkplug(config, ingest, board, seen, &node, id, Some(at), at).await
            }
            HostEvent::Rebirth { node, reason } => {
                tracing::info!(source = %config.id, group = %node.group_id, node = %node.edge_node_id, ?reason, "asking for a rebirth");
                let payload = telltale_sparkplug::rebirth_payload(crate::now_ms().max(0) as u64);
                if let Err(e) = client.publish(&node.command_topic(), false, payload).await {
                    tracing::warn!(error = %e, "rebirth request not sent");
                }
            }
            HostEvent::Refused { node, reason } => {
                let n = board.count_rejected(&config.id, topic, &reason);
                if n.is_power_of_two() {
                    tracing::warn!(source = %config.id, group = %node.group_id, node = %node.edge_node_id, %reason, "Sparkplug message refused");
                }
            }
            HostEvent::RepublishState { .. } => {
                if let Some((topic, payload)) = state_birth {
                    if let Err(e) = client.publish(topic, true, payload.clone()).await {
                        tracing::warn!(error = %e, "STATE not republished");
                    }
                }
            }
        }
    }
}

/// What one message is, by the first topic map whose filter matches it.
enum Parsed {
    /// A reading, and whether the payload stated its time.
    Reading(Reading, bool),
    /// A device declared up (`true`) or gone.
    Availability(DeviceId, bool),
}

fn reading_of(
    config: &BrokerConfig,
    topic: &str,
    payload: &[u8],
    now_ms: i64,
) -> std::result::Result<Parsed, String> {
    for map in &config.topics {
        let Some(captures) = match_filter(&map.filter, topic) else {
            continue;
        };
        if map.format == PayloadFormat::Availability {
            let device = expand(&map.device, &captures)?;
            if device.is_empty() || device.len() > 200 {
                return Err("device name empty or too long".into());
            }
            let text = std::str::from_utf8(payload)
                .map_err(|_| "payload is not UTF-8".to_owned())?
                .trim();
            let is = |wanted: &Option<String>, default: &str| {
                text.eq_ignore_ascii_case(wanted.as_deref().unwrap_or(default))
            };
            let up = if is(&map.online, "online") {
                true
            } else if is(&map.offline, "offline") {
                false
            } else {
                return Err(format!(
                    "availability payload {:?} is neither online nor offline",
                    truncate(text)
                ));
            };
            let id = DeviceId::new(format!("mqtt:{}/{device}", config.id));
            return Ok(Parsed::Availability(id, up));
        }
        let device = expand(&map.device, &captures)?;
        let metric = expand(&map.metric, &captures)?;
        if device.is_empty() || metric.is_empty() || device.len() > 200 || metric.len() > 128 {
            return Err("device or metric name empty or too long".into());
        }
        let payload = parse_payload(map, payload)?;
        let stamped = payload.ts_ms.is_some();
        let reading = Reading {
            device: DeviceId::new(format!("mqtt:{}/{device}", config.id)),
            metric,
            unit: payload.unit,
            ts_ms: payload.ts_ms.unwrap_or(now_ms),
            value: payload.value,
            quality: Quality::Good,
        };
        return Ok(Parsed::Reading(reading, stamped));
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
            unit_path: Some("unit".into()),
            ..TopicMap::new("p/+/+", format, "{1}", "{2}")
        }
    }

    #[test]
    fn payloads_parse_or_explain() {
        let number = map(PayloadFormat::Number);
        assert_eq!(parse_payload(&number, b" 4.25\n").unwrap().value, 4.25);
        let json = map(PayloadFormat::Json);
        let p = parse_payload(&json, br#"{"value": 3.5, "unit": "mm/s"}"#).unwrap();
        assert_eq!(
            (p.value, p.unit.as_deref(), p.ts_ms),
            (3.5, Some("mm/s"), None)
        );
        let stamped = TopicMap {
            ts_path: Some("at.ms".into()),
            ..map(PayloadFormat::Json)
        };
        let p = parse_payload(&stamped, br#"{"value": 1, "at": {"ms": 1700000000000}}"#).unwrap();
        assert_eq!(p.ts_ms, Some(1_700_000_000_000));
        let bad: &[(&TopicMap, &[u8], &str)] = &[
            (&number, b"abc", "not a number"),
            (&number, b"NaN", "finite"),
            (&number, b"inf", "finite"),
            (&number, &[0xff, 0xfe], "UTF-8"),
            (&json, b"{", "not JSON"),
            (&json, br#"{"value": "3"}"#, "no number"),
            (&json, br#"[1,2]"#, "no number"),
            (&stamped, br#"{"value": 1}"#, "no integer time"),
            (
                &stamped,
                br#"{"value": 1, "at": {"ms": -5}}"#,
                "not ms since 1970",
            ),
            (
                &stamped,
                br#"{"value": 1, "at": {"ms": 1.5}}"#,
                "no integer time",
            ),
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
        type Breaks = fn(&mut BrokerConfig);
        let broken: &[(&str, Breaks)] = &[
            ("wildcard 3", |c| c.topics[0].metric = "{3}".into()),
            ("'#' must be", |c| c.topics[0].filter = "a/#/b".into()),
            ("'+' must be", |c| c.topics[0].filter = "a/b+/c".into()),
            ("broker id", |c| c.id = "has space".into()),
            ("broker id", |c| c.id = String::new()),
            ("client_id", |c| c.client_id = String::new()),
            ("need an mqtts://", |c| c.tls = Some(TlsSettings::default())),
            ("no [[mqtt.topics]]", |c| c.topics.clear()),
            ("availability needs a device", |c| {
                c.topics[0].format = PayloadFormat::Availability;
                c.topics[0].device = String::new();
            }),
        ];
        for (fragment, breaks) in broken {
            let mut bad = cfg.clone();
            breaks(&mut bad);
            let err = bad.validate().unwrap_err().to_string();
            assert!(err.contains(fragment), "{fragment}: {err}");
        }
        assert_eq!(parse_url("mqtt://h").unwrap(), (false, "h".into(), 1883));
        assert_eq!(parse_url("mqtts://h").unwrap(), (true, "h".into(), 8883));
        assert_eq!(parse_url("mqtts://h:1").unwrap(), (true, "h".into(), 1));
        assert!(parse_url("mqtt://h:99999").is_err());
        assert!(parse_url("mqtt://").is_err());
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
