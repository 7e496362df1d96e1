//! A Sparkplug host application's view of its edge nodes, as a pure state machine: fed decoded
//! messages with the time they arrived, it answers with what happened (readings, nodes and
//! devices going online or offline) and what the host must do (ask a node to rebirth). No
//! clock and no I/O: the caller publishes the rebirth NCMDs and calls `tick` when
//! `next_deadline` comes.
//!
//! Readings are handed out on arrival, even out of order: they carry their own timestamps and
//! the store keys them by time, so holding them back for reordering would only add latency.
//! The sequence numbers are still tracked to notice lost messages (Sparkplug 3.0, "Host
//! Application Message Ordering").

use crate::payload::{DataType, Message, Metric, MetricValue};
use crate::topic::{MessageType, Topic, NAMESPACE};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// How long a sequence gap may stay open before the node is asked to rebirth
    /// (tck-id-operational-behavior-host-reordering-param).
    pub reorder_timeout_ms: u64,
    /// At most one rebirth request per node in this interval, so a node that keeps sending
    /// unexpected messages is not flooded with NCMDs while its rebirth is on the way.
    pub rebirth_interval_ms: u64,
    /// This host's Sparkplug Host ID: a STATE message saying it is offline must be answered by
    /// republishing its online STATE (tck-id-message-flow-hid-sparkplug-state-message-delivered).
    pub host_id: Option<String>,
    /// The most edge nodes tracked at once, and devices per node: a broker (or anyone allowed
    /// to publish on it) choosing new ids must not grow the host's memory, nor make it send a
    /// rebirth request per invented node. Messages beyond are refused ([`HostEvent::Refused`]).
    pub max_nodes: usize,
    pub max_devices_per_node: usize,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            reorder_timeout_ms: 2_000,
            rebirth_interval_ms: 2_000,
            host_id: None,
            max_nodes: 1_000,
            max_devices_per_node: 1_000,
        }
    }
}

/// An edge node, named by its group and its own id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub group_id: String,
    pub edge_node_id: String,
}

impl NodeId {
    pub fn new(group_id: &str, edge_node_id: &str) -> Self {
        NodeId {
            group_id: group_id.to_owned(),
            edge_node_id: edge_node_id.to_owned(),
        }
    }

    fn of(topic: &Topic) -> Self {
        NodeId::new(&topic.group_id, &topic.edge_node_id)
    }

    /// Where a rebirth request for this node is published (`rebirth_payload` is its payload).
    pub fn command_topic(&self) -> String {
        format!("{NAMESPACE}/{}/NCMD/{}", self.group_id, self.edge_node_id)
    }
}

/// What a BIRTH declared about one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricInfo {
    pub name: String,
    pub datatype: DataType,
    pub unit: Option<String>,
}

/// The metrics of one BIRTH certificate, by alias and by name, to resolve later DATA messages
/// that carry only an alias and possibly no datatype.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BirthMetrics {
    by_alias: HashMap<u64, MetricInfo>,
    by_name: HashMap<String, MetricInfo>,
}

impl BirthMetrics {
    pub fn from_birth(metrics: &[Metric]) -> Self {
        let mut birth = BirthMetrics::default();
        birth.learn(metrics);
        birth
    }

    /// Adds the named metrics of a BIRTH (unnamed ones cannot be resolved, so they are left out).
    pub fn learn(&mut self, metrics: &[Metric]) {
        for metric in metrics {
            let Some(name) = &metric.name else { continue };
            let info = MetricInfo {
                name: name.clone(),
                datatype: metric.datatype,
                unit: metric.unit.clone(),
            };
            if let Some(alias) = metric.alias {
                self.by_alias.insert(alias, info.clone());
            }
            self.by_name.insert(name.clone(), info);
        }
    }

    /// The BIRTH's record of a metric: by alias when it has one, else by name.
    pub fn resolve(&self, metric: &Metric) -> Option<&MetricInfo> {
        match (metric.alias, &metric.name) {
            (Some(alias), _) => self.by_alias.get(&alias),
            (None, Some(name)) => self.by_name.get(name),
            (None, None) => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// One value of one metric, resolved through its BIRTH.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub name: String,
    pub alias: Option<u64>,
    pub datatype: DataType,
    pub unit: Option<String>,
    /// May be `Null`; `to_number` tells what a chart can plot.
    pub value: MetricValue,
    /// The metric's timestamp, else the payload's, else the arrival time.
    pub timestamp_ms: u64,
    pub is_historical: bool,
}

/// Why the host asks a node for a rebirth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebirthReason {
    /// A seq went missing and did not arrive within the reorder timeout.
    SequenceGap,
    /// A message that must carry a seq in 0..=255 did not.
    BadSequence,
    /// NDATA, DBIRTH, DDATA or DDEATH from a node (or DDATA from a device) with no BIRTH.
    DataBeforeBirth,
    /// A DATA metric whose alias no BIRTH declared.
    UnknownAlias(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum HostEvent {
    Readings {
        node: NodeId,
        device_id: Option<String>,
        readings: Vec<Reading>,
    },
    NodeOnline {
        node: NodeId,
        bd_seq: Option<u64>,
        at_ms: u64,
    },
    NodeOffline {
        node: NodeId,
        at_ms: u64,
    },
    DeviceOnline {
        node: NodeId,
        device_id: String,
        at_ms: u64,
    },
    DeviceOffline {
        node: NodeId,
        device_id: String,
        at_ms: u64,
    },
    /// Publish `rebirth_payload(now)` on `node.command_topic()`.
    Rebirth {
        node: NodeId,
        reason: RebirthReason,
    },
    /// Publish this host's online STATE again, with its Will's timestamp.
    RepublishState {
        host_id: String,
    },
    /// A message from a node or device beyond the configured limits, ignored.
    Refused {
        node: NodeId,
        reason: String,
    },
}

#[derive(Debug, Default)]
struct DeviceState {
    online: bool,
    birth: BirthMetrics,
}

#[derive(Debug, Default)]
struct NodeState {
    online: bool,
    bd_seq: Option<u64>,
    birth: BirthMetrics,
    devices: BTreeMap<String, DeviceState>,
    /// The seq the next message should carry; `None` until a seq starts the sequence.
    next_seq: Option<u8>,
    /// Seqs skipped over and not yet seen.
    missing: BTreeSet<u8>,
    /// When the open gap times out.
    reorder_deadline: Option<u64>,
    last_rebirth_ms: Option<u64>,
}

impl NodeState {
    /// Records one seq; `Err` when it is not a valid one.
    fn sequence(&mut self, seq: Option<u64>, now_ms: u64, timeout_ms: u64) -> Result<(), ()> {
        let seq = match seq {
            Some(s) if s <= 255 => s as u8,
            _ => return Err(()),
        };
        match self.next_seq {
            Some(next) if seq != next && !self.missing.remove(&seq) => {
                // Everything from the expected seq up to this one is now missing.
                let mut skipped = next;
                while skipped != seq {
                    self.missing.insert(skipped);
                    skipped = skipped.wrapping_add(1);
                }
                self.next_seq = Some(seq.wrapping_add(1));
                self.reorder_deadline
                    .get_or_insert(now_ms.saturating_add(timeout_ms));
            }
            Some(next) if seq != next => {} // a late arrival filled part of a gap
            _ => self.next_seq = Some(seq.wrapping_add(1)),
        }
        if self.missing.is_empty() {
            self.reorder_deadline = None;
        }
        Ok(())
    }

    fn rebirth(
        &mut self,
        node: &NodeId,
        now_ms: u64,
        interval_ms: u64,
        reason: RebirthReason,
    ) -> Option<HostEvent> {
        if self
            .last_rebirth_ms
            .is_some_and(|last| now_ms.saturating_sub(last) < interval_ms)
        {
            return None;
        }
        self.last_rebirth_ms = Some(now_ms);
        Some(HostEvent::Rebirth {
            node: node.clone(),
            reason,
        })
    }

    fn devices_offline(&mut self, node: &NodeId, at_ms: u64, events: &mut Vec<HostEvent>) {
        for (device_id, device) in &mut self.devices {
            if std::mem::take(&mut device.online) {
                events.push(HostEvent::DeviceOffline {
                    node: node.clone(),
                    device_id: device_id.clone(),
                    at_ms,
                });
            }
        }
    }
}

/// Metrics the spec defines for session control, not measurements.
fn is_control(name: &str) -> bool {
    name == "bdSeq" || name.starts_with("Node Control/") || name.starts_with("Device Control/")
}

/// Resolves a message's metrics through a BIRTH; returns the readings and the first alias
/// that could not be resolved.
fn readings(birth: &BirthMetrics, message: &Message, now_ms: u64) -> (Vec<Reading>, Option<u64>) {
    let mut readings = Vec::with_capacity(message.metrics.len());
    let mut unknown_alias = None;
    for metric in &message.metrics {
        let info = birth.resolve(metric);
        let Some(name) = metric.name.as_ref().or(info.map(|i| &i.name)) else {
            unknown_alias = unknown_alias.or(metric.alias);
            continue;
        };
        if is_control(name) {
            continue;
        }
        let metric = match info {
            Some(info) => match metric.clone().with_datatype(info.datatype) {
                Ok(typed) => typed,
                // The value contradicts the BIRTH: nothing trustworthy to store.
                Err(_) => continue,
            },
            None => metric.clone(),
        };
        if !metric.datatype.is_known() {
            continue;
        }
        readings.push(Reading {
            name: name.clone(),
            alias: metric.alias,
            datatype: metric.datatype,
            unit: metric
                .unit
                .clone()
                .or_else(|| info.and_then(|i| i.unit.clone())),
            timestamp_ms: metric.timestamp.or(message.timestamp).unwrap_or(now_ms),
            is_historical: metric.is_historical,
            value: metric.value,
        });
    }
    (readings, unknown_alias)
}

/// The host application's state: one entry per edge node it has heard from.
#[derive(Debug, Default)]
pub struct Host {
    config: HostConfig,
    nodes: BTreeMap<NodeId, NodeState>,
}

impl Host {
    pub fn new(config: HostConfig) -> Self {
        Host {
            config,
            nodes: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    pub fn is_node_online(&self, node: &NodeId) -> bool {
        self.nodes.get(node).is_some_and(|n| n.online)
    }

    pub fn is_device_online(&self, node: &NodeId, device_id: &str) -> bool {
        self.nodes
            .get(node)
            .and_then(|n| n.devices.get(device_id))
            .is_some_and(|d| d.online)
    }

    /// The earliest time `tick` has something to do, if any.
    pub fn next_deadline(&self) -> Option<u64> {
        self.nodes.values().filter_map(|n| n.reorder_deadline).min()
    }

    /// Asks for a rebirth from every node whose sequence gap outlived the reorder timeout
    /// (tck-id-operational-behavior-host-reordering-rebirth).
    pub fn tick(&mut self, now_ms: u64) -> Vec<HostEvent> {
        let interval = self.config.rebirth_interval_ms;
        let mut events = Vec::new();
        for (id, node) in &mut self.nodes {
            if node.reorder_deadline.is_some_and(|d| d <= now_ms) {
                node.reorder_deadline = None;
                node.missing.clear();
                events.extend(node.rebirth(id, now_ms, interval, RebirthReason::SequenceGap));
            }
        }
        events
    }

    /// Takes one message that arrived at `now_ms`. Timeouts due by then fire first.
    pub fn handle(&mut self, now_ms: u64, message: &Message) -> Vec<HostEvent> {
        let mut events = self.tick(now_ms);
        match message.topic.message_type {
            MessageType::State => {
                let own = self.config.host_id.as_ref();
                if own.is_some()
                    && own == message.topic.host_id.as_ref()
                    && message.online == Some(false)
                {
                    events.push(HostEvent::RepublishState {
                        host_id: own.cloned().unwrap_or_default(),
                    });
                }
            }
            // Commands are what hosts send; another host's are none of our business.
            MessageType::NCmd | MessageType::DCmd => {}
            MessageType::NBirth => self.node_birth(now_ms, message, &mut events),
            MessageType::NDeath => self.node_death(now_ms, message, &mut events),
            MessageType::NData | MessageType::DBirth | MessageType::DData | MessageType::DDeath => {
                self.sequenced(now_ms, message, &mut events)
            }
        }
        events
    }

    /// Whether a message of node `id` may be tracked: known nodes always, new ones while there
    /// is room.
    fn admits(&self, id: &NodeId, events: &mut Vec<HostEvent>) -> bool {
        if self.nodes.contains_key(id) || self.nodes.len() < self.config.max_nodes {
            return true;
        }
        events.push(HostEvent::Refused {
            node: id.clone(),
            reason: format!(
                "more than {} edge nodes on this broker (max_nodes)",
                self.config.max_nodes
            ),
        });
        false
    }

    fn node_birth(&mut self, now_ms: u64, message: &Message, events: &mut Vec<HostEvent>) {
        let id = NodeId::of(&message.topic);
        if !self.admits(&id, events) {
            return;
        }
        let interval = self.config.rebirth_interval_ms;
        let node = self.nodes.entry(id.clone()).or_default();
        // A new session: devices of the old one are gone until they send DBIRTH again.
        node.devices_offline(&id, now_ms, events);
        *node = NodeState {
            online: true,
            bd_seq: message.bd_seq(),
            birth: BirthMetrics::from_birth(&message.metrics),
            last_rebirth_ms: node.last_rebirth_ms,
            ..NodeState::default()
        };
        events.push(HostEvent::NodeOnline {
            node: id.clone(),
            bd_seq: node.bd_seq,
            at_ms: now_ms,
        });
        // Any seq in 0..=255 starts the sequence (the spec asks for 0 in one place and
        // 0..=255 in two others; tolerate both).
        let sequenced = node.sequence(message.seq, now_ms, self.config.reorder_timeout_ms);
        let (readings, _) = readings(&node.birth, message, now_ms);
        push_readings(events, &id, None, readings);
        if sequenced.is_err() {
            events.extend(node.rebirth(&id, now_ms, interval, RebirthReason::BadSequence));
        }
    }

    /// Only an NDEATH whose bdSeq matches the current NBIRTH's ends the session: a Will message
    /// can arrive after the node has already reconnected and sent a new NBIRTH.
    fn node_death(&mut self, now_ms: u64, message: &Message, events: &mut Vec<HostEvent>) {
        let id = NodeId::of(&message.topic);
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        let matches = match (node.bd_seq, message.bd_seq()) {
            (Some(birth), Some(death)) => birth == death,
            // A BIRTH without bdSeq cannot be told apart from a later one: trust the death.
            (None, _) => true,
            (Some(_), None) => false,
        };
        if !node.online || !matches {
            return;
        }
        node.online = false;
        node.reorder_deadline = None;
        node.missing.clear();
        node.devices_offline(&id, now_ms, events);
        events.push(HostEvent::NodeOffline {
            node: id,
            at_ms: now_ms,
        });
    }

    /// NDATA, DBIRTH, DDATA, DDEATH: the messages that carry the node's seq.
    fn sequenced(&mut self, now_ms: u64, message: &Message, events: &mut Vec<HostEvent>) {
        let id = NodeId::of(&message.topic);
        if !self.admits(&id, events) {
            return;
        }
        let interval = self.config.rebirth_interval_ms;
        let max_devices = self.config.max_devices_per_node;
        let node = self.nodes.entry(id.clone()).or_default();
        if !node.online {
            events.extend(node.rebirth(&id, now_ms, interval, RebirthReason::DataBeforeBirth));
            return;
        }
        if node
            .sequence(message.seq, now_ms, self.config.reorder_timeout_ms)
            .is_err()
        {
            events.extend(node.rebirth(&id, now_ms, interval, RebirthReason::BadSequence));
        }
        let device_id = message.topic.device_id.clone();
        let (readings, unknown_alias) = match (message.topic.message_type, &device_id) {
            (MessageType::NData, _) => readings(&node.birth, message, now_ms),
            (MessageType::DBirth, Some(device_id)) => {
                if !node.devices.contains_key(device_id) && node.devices.len() >= max_devices {
                    events.push(HostEvent::Refused {
                        node: id.clone(),
                        reason: format!(
                            "more than {max_devices} devices on this edge node (max_devices_per_node)"
                        ),
                    });
                    return;
                }
                let device = node.devices.entry(device_id.clone()).or_default();
                device.online = true;
                device.birth = BirthMetrics::from_birth(&message.metrics);
                events.push(HostEvent::DeviceOnline {
                    node: id.clone(),
                    device_id: device_id.clone(),
                    at_ms: now_ms,
                });
                readings(&device.birth, message, now_ms)
            }
            (MessageType::DData, Some(device_id)) => match node.devices.get(device_id) {
                Some(device) if device.online => readings(&device.birth, message, now_ms),
                _ => {
                    let reason = RebirthReason::DataBeforeBirth;
                    events.extend(node.rebirth(&id, now_ms, interval, reason));
                    return;
                }
            },
            (MessageType::DDeath, Some(device_id)) => {
                if let Some(device) = node.devices.get_mut(device_id) {
                    if std::mem::take(&mut device.online) {
                        // tck-id-operational-behavior-edge-node-termination-host-action-ddeath-
                        // devices-offline: the DDEATH payload's timestamp.
                        events.push(HostEvent::DeviceOffline {
                            node: id.clone(),
                            device_id: device_id.clone(),
                            at_ms: message.timestamp.unwrap_or(now_ms),
                        });
                    }
                }
                return;
            }
            _ => return,
        };
        push_readings(events, &id, device_id, readings);
        if let Some(alias) = unknown_alias {
            let reason = RebirthReason::UnknownAlias(alias);
            events.extend(node.rebirth(&id, now_ms, interval, reason));
        }
    }
}

fn push_readings(
    events: &mut Vec<HostEvent>,
    node: &NodeId,
    device_id: Option<String>,
    readings: Vec<Reading>,
) {
    if !readings.is_empty() {
        events.push(HostEvent::Readings {
            node: node.clone(),
            device_id,
            readings,
        });
    }
}
