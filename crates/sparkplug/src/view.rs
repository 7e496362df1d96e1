//! The JSON shape of a decoded message, as `telltale decode sparkplug` prints it:
//!
//! `{"message_type", "group_id", "edge_node_id", "device_id", "timestamp", "seq", "metrics":
//! [{"name", "alias", "timestamp", "datatype", "is_null", "value"}]}`, with `null` for what is
//! absent. Like the golden vectors, a metric adds `"complex": "DataSet" | "Template"` for those
//! types and `"is_historical"` / `"is_transient"` only when true. STATE messages have null
//! group/edge/device ids, `"host_id"` and `"online"`, and no metrics.

use crate::payload::{DataSet, Message, Metric, MetricValue, Parameter, Template};
use crate::topic::MessageType;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let topic = &self.topic;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("message_type", topic.message_type.as_str())?;
        if topic.message_type == MessageType::State {
            map.serialize_entry("group_id", &None::<&str>)?;
            map.serialize_entry("edge_node_id", &None::<&str>)?;
            map.serialize_entry("device_id", &None::<&str>)?;
            map.serialize_entry("host_id", &topic.host_id)?;
            map.serialize_entry("online", &self.online)?;
        } else {
            map.serialize_entry("group_id", &topic.group_id)?;
            map.serialize_entry("edge_node_id", &topic.edge_node_id)?;
            map.serialize_entry("device_id", &topic.device_id)?;
        }
        map.serialize_entry("timestamp", &self.timestamp)?;
        map.serialize_entry("seq", &self.seq)?;
        map.serialize_entry("metrics", &self.metrics)?;
        map.end()
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("alias", &self.alias)?;
        map.serialize_entry("timestamp", &self.timestamp)?;
        map.serialize_entry("datatype", self.datatype.name())?;
        map.serialize_entry("is_null", &self.is_null)?;
        map.serialize_entry("value", &self.value)?;
        if matches!(
            self.datatype,
            crate::DataType::DataSet | crate::DataType::Template
        ) {
            map.serialize_entry("complex", self.datatype.name())?;
        }
        if self.is_historical {
            map.serialize_entry("is_historical", &true)?;
        }
        if self.is_transient {
            map.serialize_entry("is_transient", &true)?;
        }
        map.end()
    }
}

impl Serialize for MetricValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MetricValue::Null => s.serialize_none(),
            MetricValue::Int(v) => s.serialize_i64(*v),
            MetricValue::UInt(v) => s.serialize_u64(*v),
            // JSON has no NaN or infinities: the vectors spell them as strings.
            MetricValue::Float(v) if v.is_nan() => s.serialize_str("nan"),
            MetricValue::Float(v) if v.is_infinite() => {
                s.serialize_str(if *v > 0.0 { "inf" } else { "-inf" })
            }
            MetricValue::Float(v) => s.serialize_f64(*v),
            MetricValue::Boolean(v) => s.serialize_bool(*v),
            MetricValue::String(v) => s.serialize_str(v),
            MetricValue::Bytes(v) => s.serialize_str(&hex(v)),
            MetricValue::DataSet(v) => v.serialize(s),
            MetricValue::Template(v) => v.serialize(s),
        }
    }
}

impl Serialize for DataSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("num_of_columns", &self.num_of_columns)?;
        map.serialize_entry("columns", &self.columns)?;
        let types: Vec<u32> = self.types.iter().map(|t| t.code()).collect();
        map.serialize_entry("types", &types)?;
        map.serialize_entry("rows", &self.rows)?;
        map.end()
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("version", &self.version)?;
        map.serialize_entry("template_ref", &self.template_ref)?;
        map.serialize_entry("is_definition", &self.is_definition)?;
        map.serialize_entry("parameters", &self.parameters)?;
        map.serialize_entry("metrics", &self.metrics)?;
        map.end()
    }
}

impl Serialize for Parameter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("type", self.datatype.name())?;
        map.serialize_entry("value", &self.value)?;
        map.end()
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}
