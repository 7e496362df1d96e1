//! Sparkplug B topic names: `spBv1.0/<group>/<TYPE>/<edge>[/<device>]` and `spBv1.0/STATE/<host>`.

use crate::{Result, SparkplugError};
use std::fmt;

/// The namespace every Sparkplug B 3.0 topic starts with.
pub const NAMESPACE: &str = "spBv1.0";

/// The verb of a Sparkplug message, from its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    NBirth,
    NDeath,
    NData,
    NCmd,
    DBirth,
    DDeath,
    DData,
    DCmd,
    /// A host application's online/offline JSON (`spBv1.0/STATE/<host_id>`).
    State,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::NBirth => "NBIRTH",
            MessageType::NDeath => "NDEATH",
            MessageType::NData => "NDATA",
            MessageType::NCmd => "NCMD",
            MessageType::DBirth => "DBIRTH",
            MessageType::DDeath => "DDEATH",
            MessageType::DData => "DDATA",
            MessageType::DCmd => "DCMD",
            MessageType::State => "STATE",
        }
    }

    fn from_topic_segment(segment: &str) -> Option<Self> {
        Some(match segment {
            "NBIRTH" => MessageType::NBirth,
            "NDEATH" => MessageType::NDeath,
            "NDATA" => MessageType::NData,
            "NCMD" => MessageType::NCmd,
            "DBIRTH" => MessageType::DBirth,
            "DDEATH" => MessageType::DDeath,
            "DDATA" => MessageType::DData,
            "DCMD" => MessageType::DCmd,
            "STATE" => MessageType::State,
            _ => return None,
        })
    }

    /// Whether the topic of this type names a device (tck-id-topic-structure-namespace-device-id-*).
    pub fn is_device(self) -> bool {
        matches!(
            self,
            MessageType::DBirth | MessageType::DDeath | MessageType::DData | MessageType::DCmd
        )
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed topic. For STATE topics `group_id` and `edge_node_id` are empty and `host_id` is
/// set; for every other type `host_id` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Topic {
    pub message_type: MessageType,
    pub group_id: String,
    pub edge_node_id: String,
    pub device_id: Option<String>,
    pub host_id: Option<String>,
}

impl Topic {
    /// A node-level topic (NBIRTH, NDEATH, NDATA, NCMD).
    pub fn node(message_type: MessageType, group_id: &str, edge_node_id: &str) -> Result<Self> {
        Self::parse(&format!(
            "{NAMESPACE}/{group_id}/{message_type}/{edge_node_id}"
        ))
    }

    /// A device-level topic (DBIRTH, DDEATH, DDATA, DCMD).
    pub fn device(
        message_type: MessageType,
        group_id: &str,
        edge_node_id: &str,
        device_id: &str,
    ) -> Result<Self> {
        Self::parse(&format!(
            "{NAMESPACE}/{group_id}/{message_type}/{edge_node_id}/{device_id}"
        ))
    }

    /// A host application's STATE topic.
    pub fn state(host_id: &str) -> Result<Self> {
        Self::parse(&format!("{NAMESPACE}/STATE/{host_id}"))
    }

    pub fn parse(topic: &str) -> Result<Self> {
        let fail = |reason: String| SparkplugError::Topic {
            topic: topic.to_owned(),
            reason,
        };
        let parts: Vec<&str> = topic.split('/').collect();
        if parts[0] != NAMESPACE {
            return Err(fail(format!("the namespace must be {NAMESPACE}")));
        }
        for part in &parts[1..] {
            if part.is_empty() {
                return Err(fail("an empty topic level".into()));
            }
            if part.contains(['+', '#']) {
                return Err(fail(
                    "wildcards (+, #) are not allowed in a topic name".into(),
                ));
            }
        }
        if parts.len() == 3 && parts[1] == "STATE" {
            return Ok(Topic {
                message_type: MessageType::State,
                group_id: String::new(),
                edge_node_id: String::new(),
                device_id: None,
                host_id: Some(parts[2].to_owned()),
            });
        }
        if !(4..=5).contains(&parts.len()) {
            return Err(fail(format!(
                "expected {NAMESPACE}/<group>/<TYPE>/<edge>[/<device>] or {NAMESPACE}/STATE/<host>, \
                 found {} levels",
                parts.len()
            )));
        }
        let message_type = MessageType::from_topic_segment(parts[2])
            .ok_or_else(|| fail(format!("unknown message type {:?}", parts[2])))?;
        if message_type == MessageType::State {
            return Err(fail(format!(
                "STATE topics are {NAMESPACE}/STATE/<host_id>"
            )));
        }
        let device_id = parts.get(4).map(|d| (*d).to_owned());
        match (message_type.is_device(), &device_id) {
            (true, None) => {
                return Err(fail(format!("{message_type} needs a device id")));
            }
            (false, Some(_)) => {
                return Err(fail(format!("{message_type} must not have a device id")));
            }
            _ => {}
        }
        Ok(Topic {
            message_type,
            group_id: parts[1].to_owned(),
            edge_node_id: parts[3].to_owned(),
            device_id,
            host_id: None,
        })
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(host) = &self.host_id {
            return write!(f, "{NAMESPACE}/STATE/{host}");
        }
        write!(
            f,
            "{NAMESPACE}/{}/{}/{}",
            self.group_id, self.message_type, self.edge_node_id
        )?;
        if let Some(device) = &self.device_id {
            write!(f, "/{device}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_device_and_state_topics() {
        let t = Topic::parse("spBv1.0/Plant1/NDATA/Edge01").unwrap();
        assert_eq!(t.message_type, MessageType::NData);
        assert_eq!(
            (t.group_id.as_str(), t.edge_node_id.as_str()),
            ("Plant1", "Edge01")
        );
        assert_eq!(t.device_id, None);
        let t = Topic::parse("spBv1.0/Plant1/DDATA/Edge01/PLC1").unwrap();
        assert_eq!(t.device_id.as_deref(), Some("PLC1"));
        assert_eq!(t.to_string(), "spBv1.0/Plant1/DDATA/Edge01/PLC1");
        let t = Topic::parse("spBv1.0/STATE/scada").unwrap();
        assert_eq!(t.message_type, MessageType::State);
        assert_eq!(t.host_id.as_deref(), Some("scada"));
        assert_eq!(t.to_string(), "spBv1.0/STATE/scada");
    }

    #[test]
    fn malformed_topics_are_explained() {
        for (topic, why) in [
            ("spAv1.0/G/NDATA/E", "namespace"),
            ("spBv1.0/G/NDATA/E/D", "must not have a device"),
            ("spBv1.0/G/DDATA/E", "needs a device"),
            ("spBv1.0/G/XDATA/E", "unknown message type"),
            ("spBv1.0/G/NDATA", "levels"),
            ("spBv1.0/G/DDATA/E/D/X", "levels"),
            ("spBv1.0//NDATA/E", "empty"),
            ("spBv1.0/G/NDATA/+", "wildcards"),
            ("spBv1.0/G/STATE/E", "STATE topics"),
            ("", "namespace"),
        ] {
            let error = Topic::parse(topic).unwrap_err().to_string();
            assert!(error.contains(why), "{topic}: {error}");
            assert!(!error.contains('\n'));
        }
    }
}
