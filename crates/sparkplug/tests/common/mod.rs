//! Helpers shared by the integration tests.
#![allow(dead_code)]

use base64::Engine as _;
use serde_json::Value as Json;
use std::path::PathBuf;
use telltale_sparkplug::{encode, DataType, Message, MessageType, Metric, MetricValue, Topic};

/// The golden vectors live next to the workspace, in /work/shared/vectors.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vectors"
    ))
}

/// Loads one vector file. A missing file fails the test: golden tests must never pass by
/// finding nothing to check.
pub fn load(file: &str) -> Vec<Json> {
    let path = vectors_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "golden vectors missing: cannot read {} ({error}); the shared/ directory must sit \
             next to the workspace root",
            path.display()
        )
    });
    let json: Json = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid JSON: {error}", path.display()));
    json.as_array()
        .unwrap_or_else(|| panic!("{} is not a list of vectors", path.display()))
        .clone()
}

pub fn payload(vector: &Json) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(vector["payload_b64"].as_str().expect("payload_b64"))
        .expect("payload_b64 is base64")
}

pub fn topic(vector: &Json) -> &str {
    vector["topic"].as_str().expect("topic")
}

pub fn name(vector: &Json) -> &str {
    vector["name"].as_str().unwrap_or("?")
}

/// The vectors README: a vector with notes or disagreements is "either behaviour is
/// acceptable".
pub fn either_is_acceptable(vector: &Json) -> bool {
    let present = |key: &str| match &vector[key] {
        Json::Null => false,
        Json::String(text) => !text.is_empty(),
        Json::Array(items) => !items.is_empty(),
        _ => true,
    };
    present("notes") || present("disagreements")
}

/// A message built in a test, encoded and decoded again: what a host would receive.
pub fn wire(message: &Message) -> Message {
    let bytes = encode(message).expect("encode");
    telltale_sparkplug::decode(&message.topic.to_string(), &bytes).expect("decode own encoding")
}

pub fn node_topic(message_type: MessageType) -> Topic {
    Topic::node(message_type, "Plant1", "Edge01").unwrap()
}

pub fn device_topic(message_type: MessageType, device: &str) -> Topic {
    Topic::device(message_type, "Plant1", "Edge01", device).unwrap()
}

/// An NBIRTH as Tahu publishes it: bdSeq, Node Control/Rebirth (no alias) and `metrics`.
pub fn nbirth(topic: Topic, seq: u64, bd_seq: u64, timestamp: u64, metrics: &[Metric]) -> Message {
    let mut message = Message::new(topic);
    message.timestamp = Some(timestamp);
    message.seq = Some(seq);
    message.metrics = vec![
        Metric::new("bdSeq", DataType::Int64, MetricValue::Int(bd_seq as i64)),
        Metric::new(
            "Node Control/Rebirth",
            DataType::Boolean,
            MetricValue::Boolean(false),
        ),
    ];
    message.metrics.extend_from_slice(metrics);
    message
}

pub fn ndeath(topic: Topic, bd_seq: u64) -> Message {
    let mut message = Message::new(topic);
    message.metrics = vec![Metric::new(
        "bdSeq",
        DataType::Int64,
        MetricValue::Int(bd_seq as i64),
    )];
    message
}

/// A DATA message with a seq, a timestamp and metrics.
pub fn data(topic: Topic, seq: u64, timestamp: u64, metrics: &[Metric]) -> Message {
    let mut message = Message::new(topic);
    message.timestamp = Some(timestamp);
    message.seq = Some(seq);
    message.metrics = metrics.to_vec();
    message
}

/// Every strict prefix and every single-bit flip of `bytes`.
pub fn mutations(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let prefixes = (0..bytes.len()).map(move |len| bytes[..len].to_vec());
    let flips = (0..bytes.len() * 8).map(move |bit| {
        let mut flipped = bytes.to_vec();
        flipped[bit / 8] ^= 1 << (bit % 8);
        flipped
    });
    prefixes.chain(flips)
}
