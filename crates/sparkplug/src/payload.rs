//! Sparkplug B payloads: protobuf (and STATE JSON) to typed messages, and back for the few
//! messages a host sends or a test builds.

use crate::proto;
use crate::topic::{MessageType, Topic};
use crate::{Result, SparkplugError};
use prost::Message as _;

/// A metric's datatype (Sparkplug 3.0, `Payload` comment in sparkplug_b.proto).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float,
    Double,
    Boolean,
    String,
    DateTime,
    Text,
    Uuid,
    DataSet,
    Bytes,
    File,
    Template,
    Int8Array,
    Int16Array,
    Int32Array,
    Int64Array,
    UInt8Array,
    UInt16Array,
    UInt32Array,
    UInt64Array,
    FloatArray,
    DoubleArray,
    BooleanArray,
    StringArray,
    DateTimeArray,
    /// Absent, 0, a property-only type (PropertySet, PropertySetList) or a code this crate does
    /// not know; the code is kept for diagnostics.
    Unknown(u32),
}

/// Codes 1..=34 in order; 20 and 21 (PropertySet, PropertySetList) are property types only.
const CODES: [(u32, DataType); 32] = [
    (1, DataType::Int8),
    (2, DataType::Int16),
    (3, DataType::Int32),
    (4, DataType::Int64),
    (5, DataType::UInt8),
    (6, DataType::UInt16),
    (7, DataType::UInt32),
    (8, DataType::UInt64),
    (9, DataType::Float),
    (10, DataType::Double),
    (11, DataType::Boolean),
    (12, DataType::String),
    (13, DataType::DateTime),
    (14, DataType::Text),
    (15, DataType::Uuid),
    (16, DataType::DataSet),
    (17, DataType::Bytes),
    (18, DataType::File),
    (19, DataType::Template),
    (22, DataType::Int8Array),
    (23, DataType::Int16Array),
    (24, DataType::Int32Array),
    (25, DataType::Int64Array),
    (26, DataType::UInt8Array),
    (27, DataType::UInt16Array),
    (28, DataType::UInt32Array),
    (29, DataType::UInt64Array),
    (30, DataType::FloatArray),
    (31, DataType::DoubleArray),
    (32, DataType::BooleanArray),
    (33, DataType::StringArray),
    (34, DataType::DateTimeArray),
];

impl DataType {
    pub fn from_code(code: u32) -> Self {
        CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(DataType::Unknown(code), |(_, t)| *t)
    }

    pub fn code(self) -> u32 {
        match self {
            DataType::Unknown(code) => code,
            known => CODES
                .iter()
                .find(|(_, t)| *t == known)
                .map_or(0, |(c, _)| *c),
        }
    }

    /// The name the spec (and the vectors' `datatype_name`) uses.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Int8 => "Int8",
            DataType::Int16 => "Int16",
            DataType::Int32 => "Int32",
            DataType::Int64 => "Int64",
            DataType::UInt8 => "UInt8",
            DataType::UInt16 => "UInt16",
            DataType::UInt32 => "UInt32",
            DataType::UInt64 => "UInt64",
            DataType::Float => "Float",
            DataType::Double => "Double",
            DataType::Boolean => "Boolean",
            DataType::String => "String",
            DataType::DateTime => "DateTime",
            DataType::Text => "Text",
            DataType::Uuid => "UUID",
            DataType::DataSet => "DataSet",
            DataType::Bytes => "Bytes",
            DataType::File => "File",
            DataType::Template => "Template",
            DataType::Int8Array => "Int8Array",
            DataType::Int16Array => "Int16Array",
            DataType::Int32Array => "Int32Array",
            DataType::Int64Array => "Int64Array",
            DataType::UInt8Array => "UInt8Array",
            DataType::UInt16Array => "UInt16Array",
            DataType::UInt32Array => "UInt32Array",
            DataType::UInt64Array => "UInt64Array",
            DataType::FloatArray => "FloatArray",
            DataType::DoubleArray => "DoubleArray",
            DataType::BooleanArray => "BooleanArray",
            DataType::StringArray => "StringArray",
            DataType::DateTimeArray => "DateTimeArray",
            DataType::Unknown(_) => "Unknown",
        }
    }

    pub fn is_known(self) -> bool {
        !matches!(self, DataType::Unknown(_))
    }

    /// Sparkplug 3.0 arrays travel packed little-endian in `bytes_value`.
    fn is_array(self) -> bool {
        (22..=34).contains(&self.code()) && self.is_known()
    }
}

/// A decoded value, typed by its metric's datatype.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    /// `is_null`, or no value on the wire.
    Null,
    /// Int8/16/32 (the low bits of `int_value`, signed) and Int64.
    Int(i64),
    /// UInt8/16/32/64 and DateTime (ms since the epoch).
    UInt(u64),
    /// Double, or Float widened from f32 (exactly).
    Float(f64),
    Boolean(bool),
    /// String, Text, UUID.
    String(String),
    /// Bytes, File, and every array type (raw little-endian bytes, as on the wire).
    Bytes(Vec<u8>),
    DataSet(DataSet),
    Template(Template),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataSet {
    pub num_of_columns: u64,
    pub columns: Vec<String>,
    pub types: Vec<DataType>,
    /// Each cell typed by its column; `Null` where the cell has no value.
    pub rows: Vec<Vec<MetricValue>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub version: Option<String>,
    pub template_ref: Option<String>,
    pub is_definition: bool,
    pub parameters: Vec<Parameter>,
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: Option<String>,
    pub datatype: DataType,
    pub value: MetricValue,
}

/// Property keys that carry a metric's engineering unit (Ignition uses `engUnit`).
const UNIT_KEYS: [&str; 3] = ["engUnit", "engUnits", "unit"];

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: Option<String>,
    pub alias: Option<u64>,
    pub timestamp: Option<u64>,
    pub datatype: DataType,
    pub is_null: bool,
    pub is_historical: bool,
    pub is_transient: bool,
    /// From the `engUnit`/`engUnits`/`unit` string property.
    pub unit: Option<String>,
    pub value: MetricValue,
}

impl Metric {
    /// A named metric (what BIRTH messages carry). `MetricValue::Null` makes it `is_null`.
    pub fn new(name: &str, datatype: DataType, value: MetricValue) -> Self {
        Metric {
            name: Some(name.to_owned()),
            alias: None,
            timestamp: None,
            datatype,
            is_null: value == MetricValue::Null,
            is_historical: false,
            is_transient: false,
            unit: None,
            value,
        }
    }

    /// A metric known only by its alias (what DATA messages carry after an aliased BIRTH).
    pub fn aliased(alias: u64, datatype: DataType, value: MetricValue) -> Self {
        Metric {
            name: None,
            alias: Some(alias),
            ..Metric::new("", datatype, value)
        }
    }

    pub fn with_alias(mut self, alias: u64) -> Self {
        self.alias = Some(alias);
        self
    }

    pub fn with_timestamp(mut self, timestamp_ms: u64) -> Self {
        self.timestamp = Some(timestamp_ms);
        self
    }

    pub fn with_unit(mut self, unit: &str) -> Self {
        self.unit = Some(unit.to_owned());
        self
    }

    /// Types a metric whose datatype was missing or unknown with the datatype its BIRTH gave
    /// (Tahu does the same through its alias/name datatype map). A metric that already has a
    /// known datatype is returned unchanged. Errors when the value cannot be of that type.
    pub fn with_datatype(mut self, datatype: DataType) -> Result<Self> {
        if self.datatype.is_known() || !datatype.is_known() {
            return Ok(self);
        }
        // Undecided values hold the wire value in its natural form (see `natural`), so each
        // conversion here mirrors one accepted wire field in `typed`.
        let value = match (&self.value, datatype) {
            (MetricValue::Null, _) => Ok(MetricValue::Null),
            (MetricValue::UInt(u), _) if *u <= u64::from(u32::MAX) && int_type(datatype) => {
                typed(datatype, Wire::Int(*u as u32))
            }
            (MetricValue::UInt(u), _) => typed(datatype, Wire::Long(*u)),
            (MetricValue::Float(f), DataType::Float) => Ok(MetricValue::Float(*f)),
            (MetricValue::Float(f), DataType::Double) => Ok(MetricValue::Float(*f)),
            (other, _) if value_fits(other, datatype) => Ok(other.clone()),
            (other, _) => Err(format!(
                "the BIRTH datatype does not fit its {} value",
                kind_of(other)
            )),
        };
        self.value = value.map_err(|reason| self.error(datatype, reason))?;
        self.datatype = datatype;
        Ok(self)
    }

    fn label(&self) -> String {
        match (&self.name, self.alias) {
            (Some(name), _) => format!("{name:?}"),
            (None, Some(alias)) => format!("alias {alias}"),
            (None, None) => "without name or alias".into(),
        }
    }

    fn error(&self, datatype: DataType, reason: String) -> SparkplugError {
        SparkplugError::Metric {
            metric: self.label(),
            datatype: datatype.name(),
            reason,
        }
    }
}

fn int_type(datatype: DataType) -> bool {
    matches!(
        datatype,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
    )
}

fn value_fits(value: &MetricValue, datatype: DataType) -> bool {
    match value {
        MetricValue::Boolean(_) => datatype == DataType::Boolean,
        MetricValue::String(_) => {
            matches!(datatype, DataType::String | DataType::Text | DataType::Uuid)
        }
        MetricValue::Bytes(_) => {
            matches!(datatype, DataType::Bytes | DataType::File) || datatype.is_array()
        }
        MetricValue::DataSet(_) => datatype == DataType::DataSet,
        MetricValue::Template(_) => datatype == DataType::Template,
        _ => false,
    }
}

fn kind_of(value: &MetricValue) -> &'static str {
    match value {
        MetricValue::Null => "null",
        MetricValue::Int(_) | MetricValue::UInt(_) => "integer",
        MetricValue::Float(_) => "floating-point",
        MetricValue::Boolean(_) => "boolean",
        MetricValue::String(_) => "string",
        MetricValue::Bytes(_) => "bytes",
        MetricValue::DataSet(_) => "DataSet",
        MetricValue::Template(_) => "Template",
    }
}

/// One decoded MQTT message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub topic: Topic,
    /// Payload timestamp (ms); for STATE, the JSON `timestamp`.
    pub timestamp: Option<u64>,
    /// `None` when absent (NDEATH, NCMD, DCMD, STATE). Not range-checked here: the host does.
    pub seq: Option<u64>,
    pub uuid: Option<String>,
    pub body: Option<Vec<u8>>,
    pub metrics: Vec<Metric>,
    /// STATE only: the host application's `online` flag.
    pub online: Option<bool>,
}

impl Message {
    /// An empty message on `topic`, to fill in before `encode`.
    pub fn new(topic: Topic) -> Self {
        Message {
            topic,
            timestamp: None,
            seq: None,
            uuid: None,
            body: None,
            metrics: Vec::new(),
            online: None,
        }
    }

    /// The value of the `bdSeq` metric (NBIRTH and NDEATH carry it), when it is an integer.
    pub fn bd_seq(&self) -> Option<u64> {
        self.metrics
            .iter()
            .find(|m| m.name.as_deref() == Some("bdSeq"))
            .and_then(|m| match m.value {
                MetricValue::Int(i) => u64::try_from(i).ok(),
                MetricValue::UInt(u) => Some(u),
                _ => None,
            })
    }
}

/// Decodes one MQTT message: the topic tells how to read the bytes (STATE is JSON, every other
/// type Sparkplug B protobuf).
pub fn decode(topic: &str, bytes: &[u8]) -> Result<Message> {
    decode_payload(Topic::parse(topic)?, bytes)
}

/// Decodes the payload of an already parsed topic.
pub fn decode_payload(topic: Topic, bytes: &[u8]) -> Result<Message> {
    if topic.message_type == MessageType::State {
        return decode_state(topic, bytes);
    }
    let payload =
        proto::Payload::decode(bytes).map_err(|e| SparkplugError::Protobuf(e.to_string()))?;
    let metrics = payload
        .metrics
        .iter()
        .map(metric_from_wire)
        .collect::<Result<Vec<_>>>()?;
    Ok(Message {
        topic,
        timestamp: payload.timestamp,
        seq: payload.seq,
        uuid: payload.uuid,
        body: payload.body,
        metrics,
        online: None,
    })
}

fn decode_state(topic: Topic, bytes: &[u8]) -> Result<Message> {
    let fail = |reason: &str| SparkplugError::State(reason.to_owned());
    let json: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| SparkplugError::State(format!("not JSON: {e}")))?;
    let online = json
        .get("online")
        .and_then(serde_json::Value::as_bool)
        .ok_or_else(|| fail("needs a boolean \"online\""))?;
    let timestamp = json
        .get("timestamp")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| fail("needs a \"timestamp\" in ms since the epoch"))?;
    Ok(Message {
        timestamp: Some(timestamp),
        online: Some(online),
        ..Message::new(topic)
    })
}

/// A oneof value of any of the proto's value-carrying messages (metric, DataSet cell, template
/// parameter), so one set of typing rules serves all three.
enum Wire<'a> {
    Int(u32),
    Long(u64),
    Float(f32),
    Double(f64),
    Boolean(bool),
    String(&'a str),
    Bytes(&'a [u8]),
    DataSet(&'a proto::DataSet),
    Template(&'a proto::Template),
    Extension,
}

impl Wire<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Wire::Int(_) => "int_value",
            Wire::Long(_) => "long_value",
            Wire::Float(_) => "float_value",
            Wire::Double(_) => "double_value",
            Wire::Boolean(_) => "boolean_value",
            Wire::String(_) => "string_value",
            Wire::Bytes(_) => "bytes_value",
            Wire::DataSet(_) => "dataset_value",
            Wire::Template(_) => "template_value",
            Wire::Extension => "extension_value",
        }
    }
}

/// The value a wire field holds for a datatype, per Sparkplug 3.0 "Datatype Details": Int8/16/32
/// take the low bits of `int_value` as signed (Tahu-Python width-wraps, Tahu-JS writes 32-bit
/// two's complement; both read back right); UInt32 also from `long_value` (Tahu-JS writes it
/// there); every other pairing of datatype and field is an error.
fn typed(datatype: DataType, wire: Wire<'_>) -> std::result::Result<MetricValue, String> {
    use DataType as T;
    Ok(match (datatype, wire) {
        (T::Unknown(_), wire) => natural(wire)?,
        (T::Int8, Wire::Int(v)) => MetricValue::Int(i64::from(v as u8 as i8)),
        (T::Int16, Wire::Int(v)) => MetricValue::Int(i64::from(v as u16 as i16)),
        (T::Int32, Wire::Int(v)) => MetricValue::Int(i64::from(v as i32)),
        (T::Int64, Wire::Long(v)) => MetricValue::Int(v as i64),
        (T::UInt8 | T::UInt16 | T::UInt32, Wire::Int(v)) => MetricValue::UInt(u64::from(v)),
        (T::UInt32 | T::UInt64 | T::DateTime, Wire::Long(v)) => MetricValue::UInt(v),
        (T::Float, Wire::Float(v)) => MetricValue::Float(f64::from(v)),
        (T::Double, Wire::Double(v)) => MetricValue::Float(v),
        (T::Boolean, Wire::Boolean(v)) => MetricValue::Boolean(v),
        (T::String | T::Text | T::Uuid, Wire::String(v)) => MetricValue::String(v.to_owned()),
        (T::Bytes | T::File, Wire::Bytes(v)) => MetricValue::Bytes(v.to_vec()),
        (t, Wire::Bytes(v)) if t.is_array() => MetricValue::Bytes(v.to_vec()),
        (T::DataSet, Wire::DataSet(d)) => MetricValue::DataSet(data_set_from_wire(d)?),
        (T::Template, Wire::Template(t)) => MetricValue::Template(template_from_wire(t)?),
        (_, wire) => return Err(format!("the datatype does not match its {}", wire.kind())),
    })
}

/// A value whose datatype is unknown, held as the wire gave it; `Metric::with_datatype` types
/// it once a BIRTH tells the datatype.
fn natural(wire: Wire<'_>) -> std::result::Result<MetricValue, String> {
    Ok(match wire {
        Wire::Int(v) => MetricValue::UInt(u64::from(v)),
        Wire::Long(v) => MetricValue::UInt(v),
        Wire::Float(v) => MetricValue::Float(f64::from(v)),
        Wire::Double(v) => MetricValue::Float(v),
        Wire::Boolean(v) => MetricValue::Boolean(v),
        Wire::String(v) => MetricValue::String(v.to_owned()),
        Wire::Bytes(v) => MetricValue::Bytes(v.to_vec()),
        Wire::DataSet(d) => MetricValue::DataSet(data_set_from_wire(d)?),
        Wire::Template(t) => MetricValue::Template(template_from_wire(t)?),
        Wire::Extension => MetricValue::Null,
    })
}

fn metric_wire(value: &proto::metric::Value) -> Wire<'_> {
    use proto::metric::Value as V;
    match value {
        V::IntValue(v) => Wire::Int(*v),
        V::LongValue(v) => Wire::Long(*v),
        V::FloatValue(v) => Wire::Float(*v),
        V::DoubleValue(v) => Wire::Double(*v),
        V::BooleanValue(v) => Wire::Boolean(*v),
        V::StringValue(v) => Wire::String(v),
        V::BytesValue(v) => Wire::Bytes(v),
        V::DatasetValue(v) => Wire::DataSet(v),
        V::TemplateValue(v) => Wire::Template(v),
        V::ExtensionValue(_) => Wire::Extension,
    }
}

fn metric_from_wire(wire: &proto::Metric) -> Result<Metric> {
    let datatype = DataType::from_code(wire.datatype.unwrap_or(0));
    let mut metric = Metric {
        name: wire.name.clone(),
        alias: wire.alias,
        timestamp: wire.timestamp,
        datatype,
        is_null: wire.is_null.unwrap_or(false),
        is_historical: wire.is_historical.unwrap_or(false),
        is_transient: wire.is_transient.unwrap_or(false),
        unit: wire.properties.as_ref().and_then(unit_property),
        value: MetricValue::Null,
    };
    // is_null wins over any value (as in Tahu); a metric with neither is read as null too,
    // the way protobuf readers see an unset oneof.
    if !metric.is_null {
        if let Some(value) = &wire.value {
            metric.value =
                typed(datatype, metric_wire(value)).map_err(|r| metric.error(datatype, r))?;
        }
    }
    Ok(metric)
}

fn unit_property(properties: &proto::PropertySet) -> Option<String> {
    properties
        .keys
        .iter()
        .zip(&properties.values)
        .find(|(key, _)| UNIT_KEYS.contains(&key.as_str()))
        .and_then(|(_, value)| match &value.value {
            Some(proto::property_value::Value::StringValue(unit)) if !unit.is_empty() => {
                Some(unit.clone())
            }
            _ => None,
        })
}

fn data_set_from_wire(wire: &proto::DataSet) -> std::result::Result<DataSet, String> {
    use proto::data_set_value::Value as V;
    let types: Vec<DataType> = wire.types.iter().map(|t| DataType::from_code(*t)).collect();
    let mut rows = Vec::with_capacity(wire.rows.len());
    for (r, row) in wire.rows.iter().enumerate() {
        let mut cells = Vec::with_capacity(row.elements.len());
        for (c, element) in row.elements.iter().enumerate() {
            let column_type = *types
                .get(c)
                .ok_or_else(|| format!("row {r} has more cells than the DataSet has types"))?;
            let cell = match &element.value {
                None => MetricValue::Null,
                Some(value) => {
                    let wire = match value {
                        V::IntValue(v) => Wire::Int(*v),
                        V::LongValue(v) => Wire::Long(*v),
                        V::FloatValue(v) => Wire::Float(*v),
                        V::DoubleValue(v) => Wire::Double(*v),
                        V::BooleanValue(v) => Wire::Boolean(*v),
                        V::StringValue(v) => Wire::String(v),
                        V::ExtensionValue(_) => Wire::Extension,
                    };
                    typed(column_type, wire).map_err(|e| format!("row {r} column {c}: {e}"))?
                }
            };
            cells.push(cell);
        }
        rows.push(cells);
    }
    Ok(DataSet {
        num_of_columns: wire.num_of_columns.unwrap_or(wire.columns.len() as u64),
        columns: wire.columns.clone(),
        types,
        rows,
    })
}

fn template_from_wire(wire: &proto::Template) -> std::result::Result<Template, String> {
    use proto::parameter::Value as V;
    let mut parameters = Vec::with_capacity(wire.parameters.len());
    for parameter in &wire.parameters {
        let datatype = DataType::from_code(parameter.r#type.unwrap_or(0));
        let value = match &parameter.value {
            None => MetricValue::Null,
            Some(value) => {
                let wire = match value {
                    V::IntValue(v) => Wire::Int(*v),
                    V::LongValue(v) => Wire::Long(*v),
                    V::FloatValue(v) => Wire::Float(*v),
                    V::DoubleValue(v) => Wire::Double(*v),
                    V::BooleanValue(v) => Wire::Boolean(*v),
                    V::StringValue(v) => Wire::String(v),
                    V::ExtensionValue(_) => Wire::Extension,
                };
                typed(datatype, wire).map_err(|e| {
                    format!(
                        "parameter {:?}: {e}",
                        parameter.name.as_deref().unwrap_or("")
                    )
                })?
            }
        };
        parameters.push(Parameter {
            name: parameter.name.clone(),
            datatype,
            value,
        });
    }
    let metrics = wire
        .metrics
        .iter()
        .map(|m| metric_from_wire(m).map_err(|e| format!("template member {e}")))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Template {
        version: wire.version.clone(),
        template_ref: wire.template_ref.clone(),
        is_definition: wire.is_definition.unwrap_or(false),
        parameters,
        metrics,
    })
}

/// What a chart can plot: numbers (finite only: the store rejects NaN and infinities) and
/// booleans as 0/1.
pub fn to_number(value: &MetricValue) -> Option<f64> {
    match value {
        MetricValue::Int(i) => Some(*i as f64),
        MetricValue::UInt(u) => Some(*u as f64),
        MetricValue::Float(f) if f.is_finite() => Some(*f),
        MetricValue::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// Encodes a message's payload: protobuf, or the STATE JSON for STATE topics. Values must
/// match their datatype (an Int8 in -128..=127, a Float from `MetricValue::Float`, ...).
pub fn encode(message: &Message) -> Result<Vec<u8>> {
    if message.topic.message_type == MessageType::State {
        let online = message
            .online
            .ok_or_else(|| SparkplugError::State("a STATE message needs \"online\"".into()))?;
        return Ok(state_payload(online, message.timestamp.unwrap_or(0)));
    }
    let payload = proto::Payload {
        timestamp: message.timestamp,
        metrics: message
            .metrics
            .iter()
            .map(metric_to_wire)
            .collect::<Result<_>>()?,
        seq: message.seq,
        uuid: message.uuid.clone(),
        body: message.body.clone(),
    };
    Ok(payload.encode_to_vec())
}

/// The NCMD payload that asks an edge node to publish its BIRTH certificates again
/// (tck-id-operational-behavior-data-commands-ncmd-rebirth-*): one Boolean metric
/// `Node Control/Rebirth` = true, no seq (tck-id-payloads-ncmd-seq).
pub fn rebirth_payload(now_ms: u64) -> Vec<u8> {
    proto::Payload {
        timestamp: Some(now_ms),
        metrics: vec![proto::Metric {
            name: Some("Node Control/Rebirth".into()),
            timestamp: Some(now_ms),
            datatype: Some(DataType::Boolean.code()),
            value: Some(proto::metric::Value::BooleanValue(true)),
            ..Default::default()
        }],
        ..Default::default()
    }
    .encode_to_vec()
}

/// The host application's STATE birth (`online` true) or death (false) payload. The birth must
/// repeat the timestamp of the death registered as the MQTT Will.
pub fn state_payload(online: bool, timestamp_ms: u64) -> Vec<u8> {
    format!("{{\"online\":{online},\"timestamp\":{timestamp_ms}}}").into_bytes()
}

fn metric_to_wire(metric: &Metric) -> Result<proto::Metric> {
    let is_null = metric.is_null || metric.value == MetricValue::Null;
    let value = if is_null {
        None
    } else {
        Some(
            value_to_wire(metric.datatype, &metric.value)
                .map_err(|reason| metric.error(metric.datatype, reason))?,
        )
    };
    let properties = metric.unit.as_ref().map(|unit| proto::PropertySet {
        keys: vec!["engUnit".into()],
        values: vec![proto::PropertyValue {
            r#type: Some(DataType::String.code()),
            is_null: None,
            value: Some(proto::property_value::Value::StringValue(unit.clone())),
        }],
    });
    Ok(proto::Metric {
        name: metric.name.clone(),
        alias: metric.alias,
        timestamp: metric.timestamp,
        datatype: metric.datatype.is_known().then(|| metric.datatype.code()),
        is_historical: metric.is_historical.then_some(true),
        is_transient: metric.is_transient.then_some(true),
        is_null: is_null.then_some(true),
        metadata: None,
        properties,
        value,
    })
}

/// The oneof an encoder writes; the inverse of `typed`.
fn value_to_wire(
    datatype: DataType,
    value: &MetricValue,
) -> std::result::Result<proto::metric::Value, String> {
    use proto::metric::Value as V;
    use DataType as T;
    let range = |v: i64, lo: i64, hi: i64| {
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(format!("{v} is out of range for {}", datatype.name()))
        }
    };
    Ok(match (datatype, value) {
        (T::Int8, MetricValue::Int(v)) => V::IntValue(range(*v, -128, 127)? as i32 as u32),
        (T::Int16, MetricValue::Int(v)) => V::IntValue(range(*v, -32768, 32767)? as i32 as u32),
        (T::Int32, MetricValue::Int(v)) => {
            V::IntValue(range(*v, i64::from(i32::MIN), i64::from(i32::MAX))? as i32 as u32)
        }
        (T::Int64, MetricValue::Int(v)) => V::LongValue(*v as u64),
        (T::UInt8 | T::UInt16 | T::UInt32, MetricValue::UInt(v)) => {
            let max = match datatype {
                T::UInt8 => 0xff,
                T::UInt16 => 0xffff,
                _ => u64::from(u32::MAX),
            };
            if *v > max {
                return Err(format!("{v} is out of range for {}", datatype.name()));
            }
            V::IntValue(*v as u32)
        }
        (T::UInt64 | T::DateTime, MetricValue::UInt(v)) => V::LongValue(*v),
        (T::Float, MetricValue::Float(v)) => V::FloatValue(*v as f32),
        (T::Double, MetricValue::Float(v)) => V::DoubleValue(*v),
        (T::Boolean, MetricValue::Boolean(v)) => V::BooleanValue(*v),
        (T::String | T::Text | T::Uuid, MetricValue::String(v)) => V::StringValue(v.clone()),
        (t, MetricValue::Bytes(v)) if matches!(t, T::Bytes | T::File) || t.is_array() => {
            V::BytesValue(v.clone())
        }
        (T::DataSet, MetricValue::DataSet(d)) => V::DatasetValue(data_set_to_wire(d)?),
        (T::Template, MetricValue::Template(t)) => V::TemplateValue(template_to_wire(t)?),
        (_, v) => {
            return Err(format!(
                "the datatype does not match its {} value",
                kind_of(v)
            ))
        }
    })
}

fn data_set_to_wire(data_set: &DataSet) -> std::result::Result<proto::DataSet, String> {
    use proto::data_set_value::Value as C;
    use proto::metric::Value as V;
    let mut rows = Vec::with_capacity(data_set.rows.len());
    for row in &data_set.rows {
        let mut elements = Vec::with_capacity(row.len());
        for (c, cell) in row.iter().enumerate() {
            let column_type = *data_set
                .types
                .get(c)
                .ok_or("a row has more cells than the DataSet has types")?;
            let value = match cell {
                MetricValue::Null => None,
                cell => Some(match value_to_wire(column_type, cell)? {
                    V::IntValue(v) => C::IntValue(v),
                    V::LongValue(v) => C::LongValue(v),
                    V::FloatValue(v) => C::FloatValue(v),
                    V::DoubleValue(v) => C::DoubleValue(v),
                    V::BooleanValue(v) => C::BooleanValue(v),
                    V::StringValue(v) => C::StringValue(v),
                    _ => return Err(format!("a DataSet cannot hold {}", column_type.name())),
                }),
            };
            elements.push(proto::DataSetValue { value });
        }
        rows.push(proto::Row { elements });
    }
    Ok(proto::DataSet {
        num_of_columns: Some(data_set.num_of_columns),
        columns: data_set.columns.clone(),
        types: data_set.types.iter().map(|t| t.code()).collect(),
        rows,
    })
}

fn template_to_wire(template: &Template) -> std::result::Result<proto::Template, String> {
    use proto::metric::Value as V;
    use proto::parameter::Value as P;
    let mut parameters = Vec::with_capacity(template.parameters.len());
    for parameter in &template.parameters {
        let value = match &parameter.value {
            MetricValue::Null => None,
            value => Some(match value_to_wire(parameter.datatype, value)? {
                V::IntValue(v) => P::IntValue(v),
                V::LongValue(v) => P::LongValue(v),
                V::FloatValue(v) => P::FloatValue(v),
                V::DoubleValue(v) => P::DoubleValue(v),
                V::BooleanValue(v) => P::BooleanValue(v),
                V::StringValue(v) => P::StringValue(v),
                _ => {
                    return Err(format!(
                        "a template parameter cannot be {}",
                        parameter.datatype.name()
                    ))
                }
            }),
        };
        parameters.push(proto::Parameter {
            name: parameter.name.clone(),
            r#type: Some(parameter.datatype.code()),
            value,
        });
    }
    Ok(proto::Template {
        version: template.version.clone(),
        metrics: template
            .metrics
            .iter()
            .map(|m| metric_to_wire(m).map_err(|e| e.to_string()))
            .collect::<std::result::Result<_, _>>()?,
        parameters,
        template_ref: template.template_ref.clone(),
        is_definition: Some(template.is_definition),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic() -> Topic {
        Topic::parse("spBv1.0/G/NDATA/E").unwrap()
    }

    fn one(metric: proto::Metric) -> Vec<u8> {
        proto::Payload {
            seq: Some(1),
            metrics: vec![metric],
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn wire_metric(datatype: u32, value: proto::metric::Value) -> proto::Metric {
        proto::Metric {
            name: Some("m".into()),
            datatype: Some(datatype),
            value: Some(value),
            ..Default::default()
        }
    }

    fn value_of(datatype: u32, value: proto::metric::Value) -> Result<MetricValue> {
        let message = decode_payload(topic(), &one(wire_metric(datatype, value)))?;
        Ok(message.metrics[0].value.clone())
    }

    #[test]
    fn integers_follow_the_datatype_details() {
        use proto::metric::Value as V;
        // Tahu-Python's width-wrapped negatives and Tahu-JS's 32-bit two's complement alike.
        assert_eq!(value_of(1, V::IntValue(255)), Ok(MetricValue::Int(-1)));
        assert_eq!(
            value_of(1, V::IntValue(0xffff_ff9c)),
            Ok(MetricValue::Int(-100))
        );
        assert_eq!(value_of(2, V::IntValue(65534)), Ok(MetricValue::Int(-2)));
        assert_eq!(
            value_of(3, V::IntValue(4_294_967_293)),
            Ok(MetricValue::Int(-3))
        );
        assert_eq!(
            value_of(4, V::LongValue(u64::MAX - 3)),
            Ok(MetricValue::Int(-4))
        );
        assert_eq!(
            value_of(7, V::IntValue(u32::MAX)),
            Ok(MetricValue::UInt(4_294_967_295))
        );
        assert_eq!(value_of(7, V::LongValue(7)), Ok(MetricValue::UInt(7)));
        assert_eq!(
            value_of(8, V::LongValue(u64::MAX)),
            Ok(MetricValue::UInt(u64::MAX))
        );
        assert_eq!(
            value_of(13, V::LongValue(1_700_000_000_000)),
            Ok(MetricValue::UInt(1_700_000_000_000))
        );
        assert_eq!(
            value_of(9, V::FloatValue(0.1)),
            Ok(MetricValue::Float(f64::from(0.1f32)))
        );
    }

    #[test]
    fn a_value_that_does_not_match_its_datatype_is_an_error() {
        use proto::metric::Value as V;
        for (datatype, value) in [
            (3, V::StringValue("x".into())),
            (3, V::LongValue(1)),
            (4, V::IntValue(1)),
            (9, V::DoubleValue(1.0)),
            (11, V::IntValue(1)),
            (12, V::BytesValue(vec![1])),
            (16, V::StringValue("x".into())),
        ] {
            let error = value_of(datatype, value).unwrap_err().to_string();
            assert!(error.contains("\"m\"") && !error.contains('\n'), "{error}");
        }
        // Hand-written bytes: Metric{datatype: Int32, string_value: "x"}.
        assert!(decode_payload(topic(), &[0x12, 0x05, 0x20, 0x03, 0x7a, 0x01, b'x']).is_err());
        assert!(
            decode_payload(topic(), &[0x12, 0x05, 0x20]).is_err(),
            "truncated"
        );
    }

    #[test]
    fn null_unknown_and_unit() {
        use proto::metric::Value as V;
        let mut metric = wire_metric(10, V::DoubleValue(1.0));
        metric.is_null = Some(true);
        metric.properties = Some(proto::PropertySet {
            keys: vec!["engUnit".into()],
            values: vec![proto::PropertyValue {
                r#type: Some(12),
                is_null: None,
                value: Some(proto::property_value::Value::StringValue("bar".into())),
            }],
        });
        let message = decode_payload(topic(), &one(metric)).unwrap();
        assert_eq!(message.metrics[0].value, MetricValue::Null);
        assert_eq!(message.metrics[0].unit.as_deref(), Some("bar"));
        assert_eq!(value_of(0, V::IntValue(5)), Ok(MetricValue::UInt(5)));
        assert_eq!(
            value_of(99, V::StringValue("s".into())),
            Ok(MetricValue::String("s".into()))
        );
    }

    #[test]
    fn json_view_spells_non_finite_floats_and_bytes() {
        let metric = |value| Metric::new("m", DataType::Double, value);
        let mut message = Message::new(topic());
        message.metrics = vec![
            metric(MetricValue::Float(f64::NAN)),
            metric(MetricValue::Float(f64::INFINITY)),
            metric(MetricValue::Float(f64::NEG_INFINITY)),
            Metric::new("b", DataType::Bytes, MetricValue::Bytes(vec![0x0a, 0xff])),
        ];
        let json = serde_json::to_value(&message).unwrap();
        let values: Vec<_> = json["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].clone())
            .collect();
        assert_eq!(values, ["nan", "inf", "-inf", "0aff"]);
        assert_eq!(to_number(&MetricValue::Float(f64::NAN)), None);
        assert_eq!(to_number(&MetricValue::Boolean(true)), Some(1.0));
        assert_eq!(to_number(&MetricValue::Int(-3)), Some(-3.0));
        assert_eq!(to_number(&MetricValue::String("1".into())), None);
    }

    #[test]
    fn encode_round_trips_every_kind_of_value() {
        let data_set = DataSet {
            num_of_columns: 3,
            columns: vec!["id".into(), "label".into(), "level".into()],
            types: vec![DataType::Int8, DataType::String, DataType::Double],
            rows: vec![
                vec![
                    MetricValue::Int(-3),
                    MetricValue::String("c".into()),
                    MetricValue::Float(0.125),
                ],
                vec![MetricValue::Null, MetricValue::Null, MetricValue::Null],
            ],
        };
        let template = Template {
            version: Some("1".into()),
            template_ref: Some("Motor".into()),
            is_definition: false,
            parameters: vec![Parameter {
                name: Some("rated".into()),
                datatype: DataType::UInt16,
                value: MetricValue::UInt(400),
            }],
            metrics: vec![Metric::new(
                "rpm",
                DataType::Float,
                MetricValue::Float(1500.5),
            )],
        };
        let mut message = Message::new(Topic::parse("spBv1.0/G/DBIRTH/E/D").unwrap());
        message.timestamp = Some(5);
        message.seq = Some(255);
        message.metrics = vec![
            Metric::new("i8", DataType::Int8, MetricValue::Int(-128)).with_alias(1),
            Metric::new("i16", DataType::Int16, MetricValue::Int(-2)),
            Metric::new(
                "i32",
                DataType::Int32,
                MetricValue::Int(i64::from(i32::MIN)),
            ),
            Metric::new("i64", DataType::Int64, MetricValue::Int(i64::MIN)),
            Metric::new("u8", DataType::UInt8, MetricValue::UInt(255)),
            Metric::new(
                "u32",
                DataType::UInt32,
                MetricValue::UInt(u64::from(u32::MAX)),
            ),
            Metric::new("u64", DataType::UInt64, MetricValue::UInt(u64::MAX)),
            Metric::new(
                "t",
                DataType::DateTime,
                MetricValue::UInt(1_700_000_000_000),
            ),
            Metric::new("f", DataType::Float, MetricValue::Float(-40.25)).with_unit("degC"),
            Metric::new("d", DataType::Double, MetricValue::Float(f64::NAN)),
            Metric::new("b", DataType::Boolean, MetricValue::Boolean(true)),
            Metric::new("s", DataType::Text, MetricValue::String("ü".into())),
            Metric::new(
                "a",
                DataType::Int16Array,
                MetricValue::Bytes(vec![1, 0, 255, 255]),
            ),
            Metric::new("n", DataType::Double, MetricValue::Null).with_timestamp(9),
            Metric::new("ds", DataType::DataSet, MetricValue::DataSet(data_set)),
            Metric::new("tpl", DataType::Template, MetricValue::Template(template)),
        ];
        let back = decode(&message.topic.to_string(), &encode(&message).unwrap()).unwrap();
        // NaN is not equal to itself: compare the JSON views, which spell it "nan".
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&message).unwrap()
        );
        assert_eq!(back.metrics[8].unit.as_deref(), Some("degC"));
        for bad in [
            Metric::new("x", DataType::Int8, MetricValue::Int(128)),
            Metric::new("x", DataType::UInt16, MetricValue::UInt(65536)),
            Metric::new("x", DataType::Int32, MetricValue::UInt(1)),
            Metric::new("x", DataType::Boolean, MetricValue::String("true".into())),
        ] {
            message.metrics = vec![bad];
            assert!(encode(&message).is_err());
        }
    }
}
