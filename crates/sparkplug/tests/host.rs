//! The host state machine on messages built with `encode` (and decoded again, as a host
//! receives them): sequence gaps and the reorder timeout, wrap-around, sessions and bdSeq,
//! devices, rebirth requests and STATE.

mod common;

use common::{data, device_topic, nbirth, ndeath, node_topic, wire};
use telltale_sparkplug::{
    decode, rebirth_payload, state_payload, to_number, DataType, Host, HostConfig, HostEvent,
    Message, MessageType, Metric, MetricValue, NodeId, RebirthReason, Topic,
};

const T0: u64 = 1_700_000_000_000;

fn node() -> NodeId {
    NodeId::new("Plant1", "Edge01")
}

fn temperature(alias: u64, value: f64) -> Metric {
    Metric::aliased(alias, DataType::Double, MetricValue::Float(value))
}

/// A host that has seen an NBIRTH with `seq` declaring Temperature (alias 1, degC).
fn born(seq: u64) -> Host {
    let mut host = Host::new(HostConfig::default());
    let birth = nbirth(
        node_topic(MessageType::NBirth),
        seq,
        3,
        T0,
        &[
            Metric::new("Temperature", DataType::Double, MetricValue::Float(20.0))
                .with_alias(1)
                .with_unit("degC"),
        ],
    );
    let events = host.handle(T0, &wire(&birth));
    assert!(matches!(
        &events[0],
        HostEvent::NodeOnline {
            bd_seq: Some(3),
            at_ms: T0,
            ..
        }
    ));
    host
}

fn ndata(seq: u64, at: u64) -> Message {
    wire(&data(
        node_topic(MessageType::NData),
        seq,
        at,
        &[temperature(1, seq as f64)],
    ))
}

fn rebirths(events: &[HostEvent]) -> Vec<RebirthReason> {
    events
        .iter()
        .filter_map(|e| match e {
            HostEvent::Rebirth { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

fn readings(events: &[HostEvent]) -> Vec<&telltale_sparkplug::Reading> {
    events
        .iter()
        .filter_map(|e| match e {
            HostEvent::Readings { readings, .. } => Some(readings),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn birth_readings_resolve_names_units_and_skip_control_metrics() {
    let mut host = Host::new(HostConfig::default());
    let birth = nbirth(
        node_topic(MessageType::NBirth),
        0,
        0,
        T0,
        &[
            Metric::new("Temperature", DataType::Float, MetricValue::Float(21.5))
                .with_alias(1)
                .with_unit("degC"),
        ],
    );
    let events = host.handle(T0 + 5, &wire(&birth));
    let got = readings(&events);
    assert_eq!(
        got.len(),
        1,
        "bdSeq and Node Control/Rebirth are not readings: {got:?}"
    );
    assert_eq!(got[0].name, "Temperature");
    assert_eq!(got[0].unit.as_deref(), Some("degC"));
    assert_eq!(
        got[0].timestamp_ms, T0,
        "payload timestamp before arrival time"
    );
    assert_eq!(to_number(&got[0].value), Some(21.5));
}

#[test]
fn data_resolves_aliases_and_timestamps() {
    let mut host = born(0);
    let mut message = data(
        node_topic(MessageType::NData),
        1,
        T0 + 100,
        &[
            temperature(1, 21.0).with_timestamp(T0 + 50),
            temperature(1, 22.0),
        ],
    );
    let events = host.handle(T0 + 200, &wire(&message));
    let got = readings(&events);
    assert_eq!(
        got.iter()
            .map(|r| (r.name.as_str(), r.unit.as_deref(), r.timestamp_ms))
            .collect::<Vec<_>>(),
        [
            ("Temperature", Some("degC"), T0 + 50),
            ("Temperature", Some("degC"), T0 + 100)
        ]
    );
    message.seq = Some(2);
    message.timestamp = None;
    let events = host.handle(T0 + 300, &wire(&message));
    assert_eq!(
        readings(&events)[1].timestamp_ms,
        T0 + 300,
        "arrival time last"
    );
    assert!(rebirths(&events).is_empty());
}

#[test]
fn a_gap_asks_for_rebirth_when_the_reorder_timeout_elapses() {
    let mut host = born(0);
    let timeout = host.config().reorder_timeout_ms;
    assert!(host
        .handle(T0 + 10, &ndata(1, T0 + 10))
        .iter()
        .all(|e| matches!(e, HostEvent::Readings { .. })));
    let events = host.handle(T0 + 20, &ndata(3, T0 + 20));
    assert!(rebirths(&events).is_empty(), "not before the timeout");
    assert_eq!(readings(&events).len(), 1, "readings are not held back");
    assert_eq!(host.next_deadline(), Some(T0 + 20 + timeout));
    assert!(host.tick(T0 + 20 + timeout - 1).is_empty());
    let events = host.tick(T0 + 20 + timeout);
    assert_eq!(
        events,
        [HostEvent::Rebirth {
            node: node(),
            reason: RebirthReason::SequenceGap
        }]
    );
    assert_eq!(host.next_deadline(), None);
    assert!(host.tick(T0 + 20 + 10 * timeout).is_empty(), "asked once");
}

#[test]
fn a_gap_filled_in_time_cancels_the_timer() {
    let mut host = born(0);
    let timeout = host.config().reorder_timeout_ms;
    host.handle(T0 + 10, &ndata(1, T0 + 10));
    host.handle(T0 + 20, &ndata(4, T0 + 20));
    host.handle(T0 + 30, &ndata(3, T0 + 30));
    assert!(host.next_deadline().is_some(), "2 is still missing");
    host.handle(T0 + 40, &ndata(2, T0 + 40));
    assert_eq!(host.next_deadline(), None);
    let events = host.handle(T0 + 20 + timeout, &ndata(5, T0 + 20 + timeout));
    assert!(rebirths(&events).is_empty(), "{events:?}");
    assert!(host.tick(T0 + 100 * timeout).is_empty());
}

#[test]
fn a_timeout_fires_on_the_next_message_without_a_tick() {
    let mut host = born(0);
    let timeout = host.config().reorder_timeout_ms;
    host.handle(T0 + 10, &ndata(2, T0 + 10));
    let events = host.handle(T0 + 10 + timeout, &ndata(3, T0 + 10 + timeout));
    assert_eq!(rebirths(&events), [RebirthReason::SequenceGap]);
}

#[test]
fn seq_wraps_from_255_to_0_without_a_gap() {
    let mut host = born(254);
    for (i, seq) in [255, 0, 1, 2].into_iter().enumerate() {
        let at = T0 + i as u64;
        let events = host.handle(at, &ndata(seq, at));
        assert!(rebirths(&events).is_empty(), "{seq}: {events:?}");
    }
    assert_eq!(host.next_deadline(), None);
}

#[test]
fn nbirth_with_any_seq_starts_the_sequence() {
    let mut host = born(77);
    host.handle(T0 + 1, &ndata(78, T0 + 1));
    assert_eq!(host.next_deadline(), None);
    host.handle(T0 + 2, &ndata(80, T0 + 2));
    assert!(host.next_deadline().is_some());
}

#[test]
fn data_before_birth_asks_for_rebirth_at_a_limited_rate() {
    let mut host = Host::new(HostConfig::default());
    let interval = host.config().rebirth_interval_ms;
    let events = host.handle(T0, &ndata(5, T0));
    assert_eq!(
        events,
        [HostEvent::Rebirth {
            node: node(),
            reason: RebirthReason::DataBeforeBirth
        }],
        "and no readings: nothing to resolve them with"
    );
    assert!(host.handle(T0 + 1, &ndata(6, T0 + 1)).is_empty());
    let events = host.handle(T0 + interval, &ndata(7, T0 + interval));
    assert_eq!(rebirths(&events), [RebirthReason::DataBeforeBirth]);
    // DDATA from a device that never sent DBIRTH, on a node that did.
    let mut host = born(0);
    let ddata = data(
        device_topic(MessageType::DData, "PLC9"),
        1,
        T0 + 1,
        &[temperature(1, 1.0)],
    );
    let events = host.handle(T0 + 1, &wire(&ddata));
    assert_eq!(rebirths(&events), [RebirthReason::DataBeforeBirth]);
}

#[test]
fn unknown_alias_and_missing_seq_ask_for_rebirth() {
    let mut host = born(0);
    let message = data(
        node_topic(MessageType::NData),
        1,
        T0 + 1,
        &[temperature(999, 1.0), temperature(1, 2.0)],
    );
    let events = host.handle(T0 + 1, &wire(&message));
    assert_eq!(rebirths(&events), [RebirthReason::UnknownAlias(999)]);
    assert_eq!(readings(&events).len(), 1, "the known alias still reads");

    let mut host = born(0);
    let mut message = ndata(1, T0 + 1);
    message.seq = None;
    let events = host.handle(T0 + 1, &message);
    assert_eq!(rebirths(&events), [RebirthReason::BadSequence]);
    let mut message = ndata(1, T0 + 1);
    message.seq = Some(256);
    let mut host = born(0);
    assert_eq!(
        rebirths(&host.handle(T0 + 1, &message)),
        [RebirthReason::BadSequence]
    );
}

#[test]
fn data_without_datatype_takes_it_from_the_birth() {
    let mut host = Host::new(HostConfig::default());
    let birth = nbirth(
        node_topic(MessageType::NBirth),
        0,
        0,
        T0,
        &[Metric::new("Level", DataType::Int8, MetricValue::Int(0)).with_alias(7)],
    );
    host.handle(T0, &wire(&birth));
    // Int8 -1 as Tahu-Python writes it (int_value 255), with the datatype left out: decoded,
    // it is an untyped 255 until the BIRTH says Int8.
    let untyped = Metric {
        datatype: DataType::Unknown(0),
        ..Metric::aliased(7, DataType::Int8, MetricValue::UInt(255))
    };
    let message = data(node_topic(MessageType::NData), 1, T0 + 1, &[untyped]);
    let events = host.handle(T0 + 1, &message);
    let got = readings(&events);
    assert_eq!(got[0].datatype, DataType::Int8);
    assert_eq!(got[0].value, MetricValue::Int(-1));
}

#[test]
fn devices_come_and_go_with_dbirth_and_ddeath() {
    let mut host = born(0);
    let dbirth = data(
        device_topic(MessageType::DBirth, "PLC1"),
        1,
        T0 + 10,
        &[
            Metric::new("Pressure", DataType::Float, MetricValue::Float(1.5))
                .with_alias(100)
                .with_unit("bar"),
        ],
    );
    let events = host.handle(T0 + 11, &wire(&dbirth));
    assert!(events.contains(&HostEvent::DeviceOnline {
        node: node(),
        device_id: "PLC1".into(),
        at_ms: T0 + 11
    }));
    assert!(host.is_device_online(&node(), "PLC1"));
    let ddata = data(
        device_topic(MessageType::DData, "PLC1"),
        2,
        T0 + 20,
        &[Metric::aliased(
            100,
            DataType::Float,
            MetricValue::Float(1.75),
        )],
    );
    let events = host.handle(T0 + 21, &wire(&ddata));
    assert!(
        matches!(&events[0], HostEvent::Readings { device_id: Some(d), readings, .. }
        if d == "PLC1" && readings[0].name == "Pressure" && readings[0].unit.as_deref() == Some("bar"))
    );
    let ddeath = data(device_topic(MessageType::DDeath, "PLC1"), 3, T0 + 30, &[]);
    let events = host.handle(T0 + 99, &wire(&ddeath));
    assert_eq!(
        events,
        [HostEvent::DeviceOffline {
            node: node(),
            device_id: "PLC1".into(),
            at_ms: T0 + 30
        }],
        "the DDEATH's own timestamp"
    );
    assert!(!host.is_device_online(&node(), "PLC1"));
    assert!(host.is_node_online(&node()));
    let late = data(
        device_topic(MessageType::DData, "PLC1"),
        4,
        T0 + 40,
        &[Metric::aliased(
            100,
            DataType::Float,
            MetricValue::Float(2.0),
        )],
    );
    assert_eq!(
        rebirths(&host.handle(T0 + 40, &wire(&late))),
        [RebirthReason::DataBeforeBirth]
    );
}

#[test]
fn ndeath_ends_the_session_only_with_the_births_bd_seq() {
    let mut host = born(0);
    let dbirth = data(device_topic(MessageType::DBirth, "PLC1"), 1, T0, &[]);
    host.handle(T0, &wire(&dbirth));
    // A stale Will from the previous connection (bdSeq 2) arrives after NBIRTH bdSeq 3.
    assert!(host
        .handle(T0 + 1, &wire(&ndeath(node_topic(MessageType::NDeath), 2)))
        .is_empty());
    assert!(host.is_node_online(&node()));
    let events = host.handle(T0 + 2, &wire(&ndeath(node_topic(MessageType::NDeath), 3)));
    assert_eq!(
        events,
        [
            HostEvent::DeviceOffline {
                node: node(),
                device_id: "PLC1".into(),
                at_ms: T0 + 2
            },
            HostEvent::NodeOffline {
                node: node(),
                at_ms: T0 + 2
            }
        ]
    );
    assert!(!host.is_node_online(&node()) && !host.is_device_online(&node(), "PLC1"));
    // The broker's Will after the node's own NDEATH: ignored.
    assert!(host
        .handle(T0 + 3, &wire(&ndeath(node_topic(MessageType::NDeath), 3)))
        .is_empty());
}

#[test]
fn a_new_nbirth_retires_the_old_sessions_devices() {
    let mut host = born(0);
    host.handle(
        T0,
        &wire(&data(device_topic(MessageType::DBirth, "PLC1"), 1, T0, &[])),
    );
    let again = nbirth(node_topic(MessageType::NBirth), 0, 4, T0 + 5, &[]);
    let events = host.handle(T0 + 5, &wire(&again));
    assert_eq!(
        events[0],
        HostEvent::DeviceOffline {
            node: node(),
            device_id: "PLC1".into(),
            at_ms: T0 + 5
        }
    );
    assert!(matches!(
        events[1],
        HostEvent::NodeOnline {
            bd_seq: Some(4),
            ..
        }
    ));
}

#[test]
fn rebirth_request_payload() {
    assert_eq!(node().command_topic(), "spBv1.0/Plant1/NCMD/Edge01");
    let message = decode(&node().command_topic(), &rebirth_payload(T0)).unwrap();
    assert_eq!(message.topic.message_type, MessageType::NCmd);
    assert_eq!(message.seq, None, "NCMD carries no seq");
    assert_eq!(message.timestamp, Some(T0));
    assert_eq!(message.metrics.len(), 1);
    let metric = &message.metrics[0];
    assert_eq!(metric.name.as_deref(), Some("Node Control/Rebirth"));
    assert_eq!(metric.alias, None);
    assert_eq!(metric.datatype, DataType::Boolean);
    assert_eq!(metric.value, MetricValue::Boolean(true));
}

#[test]
fn state_payloads_and_the_hosts_own_state() {
    let birth = state_payload(true, T0);
    let death = state_payload(false, T0);
    let json: serde_json::Value = serde_json::from_slice(&birth).unwrap();
    assert_eq!(json, serde_json::json!({"online": true, "timestamp": T0}));
    let message = decode("spBv1.0/STATE/scada", &death).unwrap();
    assert_eq!(message.online, Some(false));
    assert_eq!(message.timestamp, Some(T0));
    assert_eq!(message.topic.host_id.as_deref(), Some("scada"));
    let view = serde_json::to_value(&message).unwrap();
    assert_eq!(view["message_type"], "STATE");
    assert_eq!(view["metrics"], serde_json::json!([]));
    assert_eq!(view["seq"], serde_json::Value::Null);

    let mut host = Host::new(HostConfig {
        host_id: Some("scada".into()),
        ..HostConfig::default()
    });
    assert_eq!(
        host.handle(T0, &message),
        [HostEvent::RepublishState {
            host_id: "scada".into()
        }]
    );
    let other = decode("spBv1.0/STATE/other", &death).unwrap();
    assert!(host.handle(T0, &other).is_empty());
    let online = decode("spBv1.0/STATE/scada", &birth).unwrap();
    assert!(host.handle(T0, &online).is_empty());
    for bad in [
        &b"ONLINE"[..],
        b"{\"online\":1,\"timestamp\":5}",
        b"{\"online\":true}",
    ] {
        assert!(decode("spBv1.0/STATE/scada", bad).is_err());
    }
    assert_eq!(
        Topic::state("scada").unwrap().to_string(),
        "spBv1.0/STATE/scada"
    );
}

/// Ids chosen by whoever publishes on the broker cannot grow the host without bound, nor make it
/// send one rebirth request per invented node: beyond the limits, messages are refused.
#[test]
fn invented_nodes_and_devices_beyond_the_limits_are_refused() {
    let mut host = Host::new(HostConfig {
        max_nodes: 3,
        max_devices_per_node: 2,
        ..HostConfig::default()
    });
    let mut refused = 0;
    let mut rebirth_requests = 0;
    for i in 0..100 {
        let topic = Topic::node(MessageType::NData, "Plant1", &format!("ghost-{i}")).unwrap();
        let events = host.handle(T0 + i, &wire(&data(topic, 0, T0, &[temperature(1, 1.0)])));
        refused += events
            .iter()
            .filter(
                |e| matches!(e, HostEvent::Refused { reason, .. } if reason.contains("max_nodes")),
            )
            .count();
        rebirth_requests += rebirths(&events).len();
    }
    assert_eq!((refused, rebirth_requests), (97, 3));
    // A known node goes on; its devices are capped too.
    let mut host = Host::new(HostConfig {
        max_devices_per_node: 2,
        ..HostConfig::default()
    });
    let birth = nbirth(node_topic(MessageType::NBirth), 0, 3, T0, &[]);
    host.handle(T0, &wire(&birth));
    for (seq, name) in ["a", "b", "c", "b"].iter().enumerate() {
        let birth = nbirth(
            device_topic(MessageType::DBirth, name),
            seq as u64 + 1,
            3,
            T0,
            &[Metric::new("t", DataType::Double, MetricValue::Float(1.0))],
        );
        let events = host.handle(T0, &wire(&birth));
        let is_refused = events
            .iter()
            .any(|e| matches!(e, HostEvent::Refused { reason, .. } if reason.contains("max_devices_per_node")));
        assert_eq!(is_refused, *name == "c", "{name}: {events:?}");
    }
}
