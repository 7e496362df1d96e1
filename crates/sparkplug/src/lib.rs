//! Sparkplug B 3.0 (`spBv1.0`) for a host application: topic names, payloads (decoded to typed
//! metrics, encoded for the few messages a host sends) and the host's state machine (sessions,
//! bdSeq, aliases, sequence numbers and rebirth requests). Pure: no I/O, no clock; time comes
//! in as milliseconds since the epoch.

mod host;
mod payload;
mod proto;
mod topic;
mod view;

pub use host::{
    BirthMetrics, Host, HostConfig, HostEvent, MetricInfo, NodeId, Reading, RebirthReason,
};
pub use payload::{
    decode, decode_payload, encode, rebirth_payload, state_payload, to_number, DataSet, DataType,
    Message, Metric, MetricValue, Parameter, Template,
};
pub use topic::{MessageType, Topic, NAMESPACE};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SparkplugError {
    #[error("bad Sparkplug topic {topic:?}: {reason}")]
    Topic { topic: String, reason: String },
    #[error("not a Sparkplug B payload: {0}")]
    Protobuf(String),
    #[error("metric {metric} ({datatype}): {reason}")]
    Metric {
        metric: String,
        datatype: &'static str,
        reason: String,
    },
    #[error("bad STATE payload: {0}")]
    State(String),
}

pub type Result<T> = std::result::Result<T, SparkplugError>;
